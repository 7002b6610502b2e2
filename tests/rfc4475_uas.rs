//! The 49 RFC 4475 torture messages sent to a real `sotto serve` over UDP on
//! 127.0.0.1: each gets the response `fixtures/rfc4475/INDEX.md` gives for a
//! UAS with a registrar (or none, where it says drop), and the server still
//! answers OPTIONS afterwards. Where the RFC allows two outcomes, the one we
//! chose is listed first and the reason is in the comment.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

/// (file, acceptable first status codes; empty = no response at all)
const EXPECTED: &[(&str, &[u16])] = &[
    // §3.1.1 valid messages
    ("wsinv.sip", &[481]), // To tag for a dialog we never had (§12.2.2)
    ("intmeth.sip", &[501]),
    ("esc01.sip", &[404]), // INVITE processed: the user is not ours
    ("escnull.sip", &[401]),
    ("esc02.sip", &[501]),
    ("lwsdisp.sip", &[200]),
    ("longreq.sip", &[404, 481]),
    ("dblreq.sip", &[401]),
    ("semiuri.sip", &[200]),
    ("transports.sip", &[200]),
    ("mpart01.sip", &[405]), // MESSAGE is known, not offered here
    ("unreason.sip", &[]),
    ("noreason.sip", &[]),
    // §3.1.2 invalid messages
    ("badinv01.sip", &[400]),
    ("clerr.sip", &[400]),
    ("ncl.sip", &[400]),
    ("scalar02.sip", &[400]),
    ("scalarlg.sip", &[]),
    ("quotbal.sip", &[400]),
    ("ltgtruri.sip", &[400]),
    ("lwsruri.sip", &[400]),      // we reject rather than guess
    ("lwsstart.sip", &[400]),     // reject (RFC allows tolerating)
    ("trws.sip", &[400]),         // reject (RFC allows tolerating)
    ("escruri.sip", &[400]),      // reject: headers in a Request-URI
    ("baddate.sip", &[404, 481]), // accepted: the date is not ours to judge
    ("regbadct.sip", &[400, 401]),
    ("badaspec.sip", &[400]),
    ("baddn.sip", &[400]),
    ("badvers.sip", &[505]),
    ("mismatch01.sip", &[400]),
    ("mismatch02.sip", &[501]),
    ("bigcode.sip", &[]),
    ("badbranch.sip", &[400]),
    ("insuf.sip", &[400]), // no From/To/Call-ID to echo; Via and CSeq suffice
    ("unkscm.sip", &[416]),
    ("novelsc.sip", &[416]),
    ("unksm2.sip", &[400]),
    ("bext01.sip", &[420]),
    ("invut.sip", &[415]),
    ("regaut01.sip", &[401]),
    ("multi01.sip", &[400]),
    ("mcl01.sip", &[400]),
    ("bcast.sip", &[]),
    ("zeromf.sip", &[200]),
    ("cparam01.sip", &[401]),
    ("cparam02.sip", &[401]),
    ("regescrt.sip", &[401]),
    ("sdp01.sip", &[406]),
    ("inv2543.sip", &[404, 481]),
];

fn status_of(datagram: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(datagram).ok()?;
    let line = text.lines().next()?;
    line.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok()
}

/// Several messages share a branch, sent-by and method: to the transaction
/// layer they are retransmissions of one another (§17.2.3). The RFC means
/// them as separate tests, so each group of colliding messages goes to its
/// own server.
fn transaction_key(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let method = text.split_whitespace().next().unwrap_or("").to_string();
    let branch = text
        .split("branch=")
        .nth(1)
        .map(|b| b.split([';', ',', '\r', '\n', ' ']).next().unwrap_or(""))
        .unwrap_or("");
    format!("{method} {branch}")
}

#[test]
fn every_torture_message_gets_the_uas_answer_and_the_server_keeps_serving() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/rfc4475");
    let mut failures = Vec::new();
    assert_eq!(EXPECTED.len(), 49, "the RFC has 49 messages");
    let mut servers: Vec<(common::sotto::Sotto, std::collections::HashSet<String>)> = Vec::new();
    for (file, allowed) in EXPECTED {
        let bytes = std::fs::read(format!("{dir}/{file}")).expect("fixture");
        let key = transaction_key(&bytes);
        let slot = match servers.iter().position(|(_, keys)| !keys.contains(&key)) {
            Some(i) => i,
            None => {
                servers.push((common::sotto::Sotto::start(), Default::default()));
                servers.len() - 1
            }
        };
        servers[slot].1.insert(key);
        let server = &servers[slot].0;
        // A fresh socket per message: responses go to our source address.
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(if allowed.is_empty() {
            300
        } else {
            2000
        })))
        .unwrap();
        sock.send_to(&bytes, server.sip).unwrap();
        let mut buf = [0u8; 65535];
        let got = match sock.recv_from(&mut buf) {
            Ok((n, _)) => status_of(&buf[..n]),
            Err(_) => None,
        };
        let ok = match (got, allowed.is_empty()) {
            (None, true) => true,
            (Some(code), false) => allowed.contains(&code),
            _ => false,
        };
        if !ok {
            failures.push(format!("{file}: got {got:?}, expected {allowed:?}"));
        }
    }
    let server = &servers[0].0;
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let port = sock.local_addr().unwrap().port();
    let options = format!(
        "OPTIONS sip:echo@{sip} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKafter\r\n\
         From: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:echo@{sip}>\r\nCall-ID: after-torture\r\n\
         CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        sip = server.sip
    );
    sock.send_to(options.as_bytes(), server.sip).unwrap();
    let mut buf = [0u8; 65535];
    let (n, _) = sock
        .recv_from(&mut buf)
        .expect("OPTIONS answered after the torture set");
    assert_eq!(status_of(&buf[..n]), Some(200));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
