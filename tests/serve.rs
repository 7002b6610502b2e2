//! `sotto serve` on its own: the HTTP health and call list, and what it does with
//! malformed SIP (RFC 3261 section 21.4.1 400, 21.5.6 505; RFC 4475 cases of the same
//! kinds). Needs no peer tool, so it never skips.

mod common;

use std::time::Duration;

use common::rawsip::{self, Request, UdpSip};
use common::sotto::Sotto;

const WAIT: Duration = Duration::from_secs(3);

#[test]
fn healthz_is_200_and_calls_is_an_empty_json_list_at_start() {
    let sotto = Sotto::start();
    assert_eq!(sotto.get("/healthz").status, 200);
    let calls = sotto.get("/v1/calls");
    assert_eq!(calls.status, 200, "GET /v1/calls: {}", calls.text());
    assert_eq!(calls.json(), serde_json::json!([]), "no calls yet");
}

/// One malformed request: a name for the report, the bytes (built for `sip`'s address),
/// the status it must get, and its branch to match the response by.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    branch: String,
    want: u16,
}

/// An OPTIONS made bad by `spoil`, which edits the encoded text.
fn spoiled(sip: &UdpSip, name: &'static str, want: u16, spoil: impl Fn(String) -> String) -> Case {
    let req = Request::new("OPTIONS", &format!("sip:echo@{}", sip.server));
    let text = String::from_utf8(req.encode(sip.local(), "UDP")).unwrap();
    Case {
        name,
        bytes: spoil(text).into_bytes(),
        branch: req.branch,
        want,
    }
}

#[test]
fn malformed_requests_get_400_or_505_and_the_server_keeps_serving() {
    let mut sotto = Sotto::start();
    let sip = UdpSip::new(sotto.sip);
    let cases = [
        // 18.3 / RFC 4475 3.1.2.2: a body shorter than Content-Length on a datagram.
        spoiled(&sip, "Content-Length larger than the body", 400, |t| {
            t.replace(
                "Content-Length: 0\r\n\r\n",
                "Content-Length: 5000\r\n\r\nv=0\r\n",
            )
        }),
        // RFC 4475 3.1.2.3: negative Content-Length.
        spoiled(&sip, "negative Content-Length", 400, |t| {
            t.replace("Content-Length: 0", "Content-Length: -999")
        }),
        // 8.1.1: Call-ID is mandatory (RFC 4475 3.3.1).
        spoiled(&sip, "missing Call-ID", 400, |t| {
            t.lines()
                .filter(|l| !l.starts_with("Call-ID:"))
                .map(|l| format!("{l}\r\n"))
                .collect::<String>()
        }),
        // 20.16: CSeq is a number and a method.
        spoiled(&sip, "non-numeric CSeq", 400, |t| {
            t.replace("CSeq: 1 OPTIONS", "CSeq: one OPTIONS")
        }),
        // 7.3.1: every header line is name ":" value.
        spoiled(&sip, "header line without a colon", 400, |t| {
            t.replace(
                "Max-Forwards: 70\r\n",
                "Max-Forwards: 70\r\nthis is not a header\r\n",
            )
        }),
        // 21.5.6, RFC 4475 3.1.2.16: unknown SIP version.
        spoiled(&sip, "SIP/3.0 request line", 505, |t| {
            t.replacen(" SIP/2.0\r\n", " SIP/3.0\r\n", 1)
        }),
    ];
    let mut wrong = Vec::new();
    for case in &cases {
        sip.send_raw(&case.bytes);
        match sip.response_for(&case.branch, WAIT) {
            Some(r) if r.status == case.want => {}
            Some(r) => wrong.push(format!(
                "{}: got {} {} (wanted {})",
                case.name, r.status, r.reason, case.want
            )),
            None => wrong.push(format!(
                "{}: no response within {WAIT:?} (wanted {})",
                case.name, case.want
            )),
        }
        sotto.assert_running();
    }
    assert!(
        wrong.is_empty(),
        "malformed requests mishandled:\n  {}",
        wrong.join("\n  ")
    );

    // Bytes with no SIP in them: nothing can be answered, but nothing may break either.
    sip.send_raw(b"\x00\xffGARBAGE\r\n\r\n\x13\x37 not sip at all");
    sip.send_raw(&[0u8; 1200]);
    sip.send_raw(b"\r\n\r\n"); // a keep-alive (RFC 5626 section 4.4.1): ignored
    if let Some(r) = sip.any_response(Duration::from_millis(500)) {
        assert!(
            r.status >= 400,
            "garbage got a non-error reply:\n{}",
            r.text()
        );
    }
    sotto.assert_running();

    // Still serving: OPTIONS gets 200 over UDP and over TCP.
    let options = Request::new("OPTIONS", &format!("sip:{}", sotto.sip));
    let r = sip
        .transact(&options, WAIT)
        .expect("no answer to OPTIONS after the malformed ones");
    assert_eq!(
        r.status,
        200,
        "OPTIONS after malformed input:\n{}",
        r.text()
    );

    let junk = rawsip::tcp_send_raw(
        sotto.sip,
        b"HELLO THERE\r\n\r\n\x00\x01\x02",
        Duration::from_secs(1),
    );
    if let Some(r) = junk {
        assert!(
            r.status >= 400,
            "TCP garbage got a non-error reply:\n{}",
            r.text()
        );
    }
    let options = Request::new("OPTIONS", &format!("sip:{}", sotto.sip));
    let r = rawsip::tcp_request(sotto.sip, &options, WAIT).expect("no answer to OPTIONS over TCP");
    assert_eq!(
        r.status,
        200,
        "OPTIONS over TCP after garbage:\n{}",
        r.text()
    );
    sotto.assert_running();
}
