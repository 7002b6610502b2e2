//! `sotto serve` on its own: the HTTP health and call list, and what it does with
//! malformed SIP (RFC 3261 section 21.4.1 400, 21.5.6 505; RFC 4475 cases of the same
//! kinds). Needs no peer tool, so it never skips.

mod common;

use std::time::Duration;

use common::sotto::Sotto;
use common::ua::{raw, Ua};
use rsip::Method;

const WAIT: Duration = Duration::from_secs(3);

#[test]
fn healthz_is_200_and_calls_is_an_empty_json_list_at_start() {
    let sotto = Sotto::start();
    assert_eq!(sotto.get("/healthz").status, 200);
    let calls = sotto.get("/v1/calls");
    assert_eq!(calls.status, 200, "GET /v1/calls: {}", calls.text());
    assert_eq!(calls.json(), serde_json::json!([]), "no calls yet");
}

/// One malformed request: a name for the report, the bytes (built for `ua`'s address),
/// the status it must get, and its branch to match the response by.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    branch: String,
    want: u16,
}

/// An OPTIONS made bad by `spoil`, which edits the encoded text (and must change it).
fn spoiled(
    ua: &Ua,
    sotto: &Sotto,
    name: &'static str,
    want: u16,
    spoil: impl Fn(String) -> String,
) -> Case {
    let req = ua.raw_request(Method::Options, &sotto.uri("echo"));
    let text = req.text();
    let bad = spoil(text.clone());
    assert_ne!(bad, text, "{name}: the spoiler left the request as it was");
    Case {
        name,
        bytes: bad.into_bytes(),
        branch: req.branch,
        want,
    }
}

#[test]
fn malformed_requests_get_400_or_505_and_the_server_keeps_serving() {
    let mut sotto = Sotto::start();
    let ua = Ua::new("test", sotto.sip);
    let cases = [
        // 18.3 / RFC 4475 3.1.2.2: a body shorter than Content-Length on a datagram.
        spoiled(
            &ua,
            &sotto,
            "Content-Length larger than the body",
            400,
            |t| {
                t.replace(
                    "Content-Length: 0\r\n\r\n",
                    "Content-Length: 5000\r\n\r\nv=0\r\n",
                )
            },
        ),
        // RFC 4475 3.1.2.3: negative Content-Length.
        spoiled(&ua, &sotto, "negative Content-Length", 400, |t| {
            t.replace("Content-Length: 0", "Content-Length: -999")
        }),
        // 8.1.1: Call-ID is mandatory (RFC 4475 3.3.1).
        spoiled(&ua, &sotto, "missing Call-ID", 400, |t| {
            t.lines()
                .filter(|l| !l.starts_with("Call-ID:"))
                .map(|l| format!("{l}\r\n"))
                .collect::<String>()
        }),
        // 20.16: CSeq is a number and a method.
        spoiled(&ua, &sotto, "non-numeric CSeq", 400, |t| {
            t.replace("CSeq: 1 OPTIONS", "CSeq: one OPTIONS")
        }),
        // 7.3.1: every header line is name ":" value.
        spoiled(&ua, &sotto, "header line without a colon", 400, |t| {
            t.replace(
                "Max-Forwards: 70\r\n",
                "Max-Forwards: 70\r\nthis is not a header\r\n",
            )
        }),
        // 21.5.6, RFC 4475 3.1.2.16: unknown SIP version.
        spoiled(&ua, &sotto, "SIP/3.0 request line", 505, |t| {
            t.replacen(" SIP/2.0\r\n", " SIP/3.0\r\n", 1)
        }),
    ];
    let mut wrong = Vec::new();
    for case in &cases {
        ua.send_raw(&case.bytes);
        match ua.response_to(&case.branch, WAIT) {
            Some(r) if raw::status(&r) == case.want => {}
            Some(r) => wrong.push(format!(
                "{}: got {} (wanted {})",
                case.name, r.status_code, case.want
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
    let mark = ua.trace_len();
    ua.send_raw(b"\x00\xffGARBAGE\r\n\r\n\x13\x37 not sip at all");
    ua.send_raw(&[0u8; 1200]);
    ua.send_raw(b"\r\n\r\n"); // a keep-alive (RFC 5626 section 4.4.1): ignored
    std::thread::sleep(Duration::from_millis(500));
    for r in ua
        .received_since(mark)
        .iter()
        .filter_map(|t| raw::parse_response(&t.bytes))
    {
        assert!(
            raw::status(&r) >= 400,
            "garbage got a non-error reply:\n{}",
            raw::text(&r)
        );
    }
    sotto.assert_running();

    // Still serving: OPTIONS gets 200 over UDP and over TCP.
    let options = ua.raw_request(Method::Options, &format!("sip:{}", sotto.sip));
    ua.send_raw(&options.bytes);
    let r = ua
        .response_to(&options.branch, WAIT)
        .expect("no answer to OPTIONS after the malformed ones");
    assert_eq!(
        raw::status(&r),
        200,
        "OPTIONS after malformed input:\n{}",
        raw::text(&r)
    );

    let junk = raw::tcp_send_raw(
        sotto.sip,
        b"HELLO THERE\r\n\r\n\x00\x01\x02",
        Duration::from_secs(1),
    );
    if let Some(r) = junk {
        assert!(
            raw::status(&r) >= 400,
            "TCP garbage got a non-error reply:\n{}",
            raw::text(&r)
        );
    }
    let r = raw::tcp_request(
        sotto.sip,
        Method::Options,
        &format!("sip:{}", sotto.sip),
        WAIT,
    )
    .expect("no answer to OPTIONS over TCP");
    assert_eq!(
        raw::status(&r),
        200,
        "OPTIONS over TCP after garbage:\n{}",
        raw::text(&r)
    );
    sotto.assert_running();
}
