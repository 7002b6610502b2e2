//! `parse_datagram` behaviour, one rsip gap or RFC rule per test.

use super::*;
use rsip::headers::UntypedHeader;
use rsip::prelude::*;
use rsip::{Header, Method, Scheme, SipMessage, StatusCode};

const INVITE: &str = "INVITE sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@example.com>\r\n\
From: Alice <sip:alice@example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.example.com>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\r";

fn with(from: &str, to: &str) -> Vec<u8> {
    assert!(INVITE.contains(from), "{from}");
    INVITE.replacen(from, to, 1).into_bytes()
}

fn kind(bytes: &[u8]) -> ParseErrorKind {
    parse_datagram(bytes).unwrap_err().kind().clone()
}

fn request(bytes: &[u8]) -> rsip::Request {
    match parse_datagram(bytes) {
        Ok(SipMessage::Request(r)) => r,
        other => panic!("expected a request, got {other:?}"),
    }
}

#[test]
fn a_plain_invite_parses_with_its_body_framed_by_content_length() {
    let r = request(INVITE.as_bytes());
    assert_eq!(r.method, Method::Invite);
    assert_eq!(r.uri.user(), Some("bob"));
    assert_eq!(r.body, b"v=0\r");
    assert_eq!(r.headers.iter().count(), 9);
    // rsip's own typed parsers work on what we hand over.
    assert_eq!(
        r.via_header()
            .unwrap()
            .typed()
            .unwrap()
            .branch()
            .unwrap()
            .to_string(),
        "z9hG4bK776asdhds"
    );
    assert_eq!(r.cseq_header().unwrap().typed().unwrap().seq, 314159);
}

#[test]
fn extra_octets_after_content_length_are_discarded() {
    let mut bytes = INVITE.as_bytes().to_vec();
    bytes.extend_from_slice(b"\nINVITE garbage");
    assert_eq!(request(&bytes).body, b"v=0\r");
}

#[test]
fn without_content_length_the_body_is_the_rest_of_the_datagram() {
    assert_eq!(request(&with("Content-Length: 4\r\n", "")).body, b"v=0\r");
}

#[test]
fn a_body_starting_with_crlf_is_kept_whole() {
    let bytes = with(
        "Content-Length: 4\r\n\r\nv=0\r",
        "Content-Length: 4\r\n\r\n\r\nab",
    );
    assert_eq!(request(&bytes).body, b"\r\nab");
}

#[test]
fn content_length_beyond_the_datagram_negative_or_doubled_is_an_error() {
    assert_eq!(
        kind(&with("Content-Length: 4", "Content-Length: 9999")),
        ParseErrorKind::Truncated {
            declared: 9999,
            available: 4
        }
    );
    for bad in [
        "Content-Length: -4",
        "Content-Length: four",
        "Content-Length: 4\r\nl: 4",
    ] {
        let e = parse_datagram(&with("Content-Length: 4", bad)).unwrap_err();
        assert_eq!(e.kind(), &ParseErrorKind::ContentLength, "{bad}");
        assert_eq!(e.response_status(), Some(400));
    }
}

#[test]
fn other_sip_versions_get_505_and_garbage_versions_400() {
    let e = parse_datagram(&with(
        "sip:bob@example.com SIP/2.0",
        "sip:bob@example.com SIP/7.0",
    ))
    .unwrap_err();
    assert_eq!(
        e.kind(),
        &ParseErrorKind::VersionNotSupported("SIP/7.0".into())
    );
    assert_eq!(e.response_status(), Some(505));
    assert_eq!(
        kind(&with("com SIP/2.0", "com HTTP/1.1")),
        ParseErrorKind::StartLine
    );
}

#[test]
fn bare_lf_and_odd_spacing_in_the_start_line_are_refused() {
    assert_eq!(
        kind(&with("SIP/2.0\r\nVia", "SIP/2.0\nVia")),
        ParseErrorKind::BareLineEnding
    );
    assert_eq!(
        kind(&with("INVITE sip", "INVITE  sip")),
        ParseErrorKind::StartLine
    );
    assert_eq!(
        kind(&with("com SIP/2.0", "com SIP/2.0 ")),
        ParseErrorKind::StartLine
    );
    assert_eq!(
        kind(&with("sip:bob@example.com", "<sip:bob@example.com>")),
        ParseErrorKind::RequestUri
    );
}

#[test]
fn status_codes_must_be_three_digits_in_100_to_699() {
    let response = |line: &str| {
        format!(
            "{line}\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@x>;tag=1\r\n\
To: <sip:b@x>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n"
        )
    };
    for line in [
        "SIP/2.0 099 Low",
        "SIP/2.0 700 High",
        "SIP/2.0 4294967301 Big",
        "SIP/2.0 20 Short",
    ] {
        let e = parse_datagram(response(line).as_bytes()).unwrap_err();
        assert_eq!(e.kind(), &ParseErrorKind::StatusCode, "{line}");
        assert!(!e.can_respond(), "responses are never answered");
    }
    let ok = parse_datagram(response("SIP/2.0 183 ").as_bytes()).unwrap();
    let SipMessage::Response(r) = ok else {
        panic!()
    };
    assert_eq!(r.status_code, StatusCode::SessionProgress);
    let SipMessage::Response(r) = parse_datagram(response("SIP/2.0 299 Fine").as_bytes()).unwrap()
    else {
        panic!()
    };
    assert_eq!(r.status_code, StatusCode::Other(299, "Fine".into()));
}

#[test]
fn overlarge_scalars_are_refused() {
    assert_eq!(
        kind(&with("CSeq: 314159", "CSeq: 4294967296")),
        ParseErrorKind::InvalidHeader("CSeq")
    );
    assert_eq!(
        request(&with("CSeq: 314159", "CSeq: 4294967295"))
            .cseq_header()
            .unwrap()
            .value(),
        "4294967295 INVITE"
    );
    assert_eq!(
        kind(&with("Max-Forwards: 70", "Max-Forwards: 4294967296")),
        ParseErrorKind::InvalidHeader("Max-Forwards")
    );
    assert_eq!(
        kind(&with(
            "Max-Forwards: 70",
            "Max-Forwards: 70\r\nExpires: 4294967296"
        )),
        ParseErrorKind::InvalidHeader("Expires")
    );
}

#[test]
fn mandatory_headers_must_be_present_once() {
    for (line, name) in [
        (
            "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds\r\n",
            "Via",
        ),
        (
            "From: Alice <sip:alice@example.com>;tag=1928301774\r\n",
            "From",
        ),
        ("To: Bob <sip:bob@example.com>\r\n", "To"),
        ("Call-ID: a84b4c76e66710@pc33.example.com\r\n", "Call-ID"),
        ("CSeq: 314159 INVITE\r\n", "CSeq"),
    ] {
        assert_eq!(kind(&with(line, "")), ParseErrorKind::MissingHeader(name));
        let doubled = format!("{line}{line}");
        if name != "Via" {
            assert_eq!(
                kind(&with(line, &doubled)),
                ParseErrorKind::DuplicateHeader(name)
            );
        }
    }
    // Max-Forwards may be absent at a UAS (RFC 2543 peers, RFC 4475 inv2543).
    assert!(parse_datagram(&with("Max-Forwards: 70\r\n", "")).is_ok());
}

#[test]
fn cseq_method_must_be_the_request_method() {
    let e = parse_datagram(&with("CSeq: 314159 INVITE", "CSeq: 314159 OPTIONS")).unwrap_err();
    assert_eq!(e.kind(), &ParseErrorKind::CSeqMethodMismatch);
    assert_eq!(e.response_status(), Some(400));
}

#[test]
fn unknown_and_wrong_case_methods_get_501() {
    for method in ["NEWMETHOD", "invite"] {
        let bytes = with("INVITE sip", &format!("{method} sip"))
            .into_iter()
            .collect::<Vec<_>>();
        let bytes = String::from_utf8(bytes)
            .unwrap()
            .replace("314159 INVITE", &format!("314159 {method}"));
        let e = parse_datagram(bytes.as_bytes()).unwrap_err();
        assert_eq!(e.kind(), &ParseErrorKind::UnknownMethod(method.into()));
        assert_eq!(e.response_status(), Some(501));
    }
}

#[test]
fn compact_and_folded_headers_reach_rsip_in_long_form() {
    let bytes = "INVITE sip:bob@example.com SIP/2.0\r\n\
v: SIP/2.0/UDP a.example.com;branch=z9hG4bK1 ,\r\n SIP/2.0/TCP b.example.com;branch=z9hG4bK2\r\n\
f: <sip:alice@example.com>;tag=1\r\nt: <sip:bob@example.com>\r\ni: c@h\r\n\
CSEQ: 1\r\n INVITE\r\nm: <sip:alice@h>, \"Al\" <sip:al@h2>;q=0.5\r\nr: <sip:carol@example.com>\r\n\
X: 1800;refresher=uac\r\nc: text/plain\r\nl: 2\r\n\r\nhi";
    let r = request(bytes.as_bytes());
    let names: Vec<String> = r
        .headers
        .iter()
        .map(|h| h.to_string().split(':').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "Via",
            "Via",
            "From",
            "To",
            "Call-ID",
            "CSeq",
            "Contact",
            "Contact",
            "Refer-To",
            "Session-Expires",
            "Content-Type",
            "Content-Length"
        ]
    );
    assert_eq!(r.cseq_header().unwrap().value(), "1 INVITE");
    assert_eq!(r.contact_headers().len(), 2);
    assert_eq!(r.body, b"hi");
}

#[test]
fn contact_star_stands_alone() {
    let reg = |contact: &str| {
        format!(
            "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\
From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: c\r\nCSeq: 2 REGISTER\r\n\
{contact}Expires: 0\r\nContent-Length: 0\r\n\r\n"
        )
    };
    let r = request(reg("Contact: *\r\n").as_bytes());
    assert!(
        matches!(r.headers.iter().find(|h| matches!(h, Header::Contact(_))), Some(Header::Contact(c)) if c.value() == "*")
    );
    for bad in [
        "Contact: *, <sip:a@h>\r\n",
        "Contact: <sip:a@h>\r\nContact: *\r\n",
    ] {
        assert_eq!(
            kind(reg(bad).as_bytes()),
            ParseErrorKind::InvalidHeader("Contact"),
            "{bad}"
        );
    }
}

#[test]
fn non_sip_request_uris_parse_for_the_ua_to_answer_416() {
    let r = request(&with(
        "INVITE sip:bob@example.com SIP",
        "INVITE tel:+1-201-555-0123 SIP",
    ));
    assert_eq!(r.uri.scheme, Some(Scheme::Other("tel".into())));
    let mut out = Vec::new();
    serialize_into(&r.into(), &mut out);
    assert!(out.starts_with(b"INVITE tel:+1-201-555-0123 SIP/2.0\r\n"));
}

#[test]
fn keep_alives_and_leading_crlf() {
    assert_eq!(kind(b"\r\n\r\n"), ParseErrorKind::KeepAlive);
    assert_eq!(kind(b""), ParseErrorKind::KeepAlive);
    assert!(!parse_datagram(b"\r\n").unwrap_err().can_respond());
    let mut bytes = b"\r\n".to_vec();
    bytes.extend_from_slice(INVITE.as_bytes());
    assert_eq!(request(&bytes).method, Method::Invite);
}

#[test]
fn garbage_is_dropped_not_answered() {
    for bytes in [
        &b"\x00\x01\x02\x03 stun-ish"[..],
        b"hello",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let e = parse_datagram(bytes).unwrap_err();
        assert!(!e.can_respond(), "{e}");
    }
}

#[test]
fn every_prefix_of_a_message_fails_cleanly() {
    // Truncated datagrams (and fuzz-like inputs) never panic.
    let bytes = INVITE.as_bytes();
    for n in 0..bytes.len() - 4 {
        assert!(parse_datagram(&bytes[..n]).is_err(), "prefix {n}");
    }
}
