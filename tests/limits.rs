//! Admission and shutdown, as a trunk sees them: calls over the configured limit are
//! refused with 503 and Retry-After, and SIGTERM hangs up live calls with BYE before
//! the process exits.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::rawsip::{self, Request, UdpSip};
use common::sotto::Sotto;

/// Places an echo call and ACKs its 200; returns the INVITE (for its Call-ID).
fn answered_echo_call(sotto: &Sotto, sip: &UdpSip) -> Request {
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut invite = Request::new("INVITE", &sotto.uri("echo"));
    invite.body = rawsip::sdp_offer_pcmu(rtp.local_addr().unwrap());
    let ok = sip
        .transact(&invite, Duration::from_secs(5))
        .expect("INVITE answered");
    assert_eq!(ok.status, 200, "{}", ok.text());
    let mut ack = Request::new("ACK", &sotto.uri("echo"));
    ack.call_id = invite.call_id.clone();
    ack.from_tag = invite.from_tag.clone();
    ack.to = format!("<{}>;tag={}", sotto.uri("echo"), ok.to_tag().unwrap());
    sip.send(&ack);
    invite
}

#[test]
fn calls_over_the_limit_get_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sotto.toml");
    std::fs::write(&config, "[sip]\nmax_concurrent_calls = 1\n").unwrap();
    let sotto = Sotto::start_with(&["--config", config.to_str().unwrap()]);
    let sip = UdpSip::new(sotto.sip);
    answered_echo_call(&sotto, &sip);

    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut second = Request::new("INVITE", &sotto.uri("echo"));
    second.body = rawsip::sdp_offer_pcmu(rtp.local_addr().unwrap());
    let refused = sip
        .transact(&second, Duration::from_secs(5))
        .expect("second INVITE answered");
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert!(
        refused.header("Retry-After").is_some(),
        "503 without Retry-After:\n{}",
        refused.text()
    );
}

#[test]
fn sigterm_hangs_up_live_calls_and_exits() {
    let mut sotto = Sotto::start();
    let sip = UdpSip::new(sotto.sip);
    let invite = answered_echo_call(&sotto, &sip);

    let status = std::process::Command::new("kill")
        .args(["-TERM", &sotto.pid().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());

    // sotto sends BYE for the live call; answer it so it can finish at once.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut got_bye = false;
    let mut buf = vec![0u8; 65_535];
    sip.sock
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    while Instant::now() < deadline && !got_bye {
        let Ok((n, from)) = sip.sock.recv_from(&mut buf) else {
            continue;
        };
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        if text.starts_with("BYE ") && text.contains(&invite.call_id) {
            got_bye = true;
            let ok = response_200(&text);
            sip.sock.send_to(ok.as_bytes(), from).unwrap();
        }
    }
    assert!(got_bye, "no BYE for the live call after SIGTERM");
    let exited = common::poll_until(Duration::from_secs(10), || sotto.exited());
    let status =
        exited.unwrap_or_else(|| panic!("still running 10 s after SIGTERM:\n{}", sotto.log()));
    assert!(status.success(), "exit status {status}:\n{}", sotto.log());
}

/// A 200 for a request: its Via, From, To, Call-ID and CSeq copied.
fn response_200(request: &str) -> String {
    let mut out = String::from("SIP/2.0 200 OK\r\n");
    for line in request.lines() {
        let name = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if ["via", "from", "to", "call-id", "cseq"].contains(&name.as_str()) {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}
