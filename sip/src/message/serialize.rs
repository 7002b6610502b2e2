//! Writing a message into a caller-owned buffer.
//!
//! rsip's `Display` is not wire-safe: it prints the body through
//! `String::from_utf8_lossy` (binary bodies are corrupted), reason phrases as Rust
//! identifiers (`400 BadRequest`), other URI schemes as `scheme://`, IPv6 hosts without
//! brackets, and trusts a stale Content-Length. We write the start line and framing
//! ourselves and let rsip print the header lines.

use super::uri::write_uri;
use rsip::{Header, Request, Response, SipMessage, StatusCode};
use std::io::Write;

/// Appends `msg` to `out` as it goes on the wire: start line, headers in order with any
/// Content-Length replaced by the body's real length (added if absent, RFC 3261 §20.14;
/// it is mandatory on streams, §18.3), an empty line, then the body bytes unchanged.
pub fn serialize_into(msg: &SipMessage, out: &mut Vec<u8>) {
    match msg {
        SipMessage::Request(r) => serialize_request_into(r, out),
        SipMessage::Response(r) => serialize_response_into(r, out),
    }
}

/// [`serialize_into`] for a request, without wrapping it in a `SipMessage`.
pub fn serialize_request_into(r: &Request, out: &mut Vec<u8>) {
    let _ = write!(out, "{} ", r.method);
    write_uri(out, &r.uri);
    out.extend_from_slice(b" SIP/2.0\r\n");
    write_headers_and_body(&r.headers, &r.body, out);
}

/// [`serialize_into`] for a response, without wrapping it in a `SipMessage`.
pub fn serialize_response_into(r: &Response, out: &mut Vec<u8>) {
    let code = r.status_code.code();
    let _ = write!(out, "SIP/2.0 {code} ");
    match &r.status_code {
        StatusCode::Other(_, reason) if reason != "Other" => {
            out.extend_from_slice(reason.as_bytes())
        }
        _ => out.extend_from_slice(reason_phrase(code).as_bytes()),
    }
    out.extend_from_slice(b"\r\n");
    write_headers_and_body(&r.headers, &r.body, out);
}

fn write_headers_and_body(headers: &rsip::Headers, body: &[u8], out: &mut Vec<u8>) {
    out.reserve(headers.iter().count() * 48 + body.len() + 24);
    for h in headers.iter() {
        if matches!(h, Header::ContentLength(_)) {
            continue;
        }
        let _ = write!(out, "{h}\r\n");
    }
    let _ = write!(out, "Content-Length: {}\r\n\r\n", body.len());
    out.extend_from_slice(body);
}

/// The RFC reason phrase for `code` (RFC 3261 §21 and the RFCs that added codes);
/// `""` for codes without one (the phrase is optional, §7.2).
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        199 => "Early Dialog Terminated",
        200 => "OK",
        202 => "Accepted",
        204 => "No Notification",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        412 => "Conditional Request Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        417 => "Unknown Resource-Priority",
        420 => "Bad Extension",
        421 => "Extension Required",
        422 => "Session Interval Too Small",
        423 => "Interval Too Brief",
        428 => "Use Identity Header",
        429 => "Provide Referrer Identity",
        433 => "Anonymity Disallowed",
        436 => "Bad Identity-Info",
        437 => "Unsupported Certificate",
        438 => "Invalid Identity Header",
        439 => "First Hop Lacks Outbound Support",
        440 => "Max-Breadth Exceeded",
        469 => "Bad Info Package",
        470 => "Consent Needed",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        491 => "Request Pending",
        493 => "Undecipherable",
        494 => "Security Agreement Required",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        580 => "Precondition Failure",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        607 => "Unwanted",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::parse_datagram;
    use rsip::headers::{ContentLength, UntypedHeader};

    #[test]
    fn binary_body_and_content_length_survive_a_round_trip() {
        let mut wire = b"MESSAGE sip:u@[2001:db8::1]:5070;transport=TCP SIP/2.0\r\n\
Via: SIP/2.0/TCP h;branch=z9hG4bKx\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:u@x>\r\n\
Call-ID: c\r\nCSeq: 1 MESSAGE\r\nContent-Type: application/octet-stream\r\n\
Content-Length: 6\r\n\r\n"
            .to_vec();
        wire.extend_from_slice(b"\r\n\0\xff\r\n");
        let msg = parse_datagram(&wire).unwrap();
        let mut out = Vec::new();
        serialize_into(&msg, &mut out);
        assert_eq!(out, wire);
        assert_eq!(parse_datagram(&out).unwrap(), msg);
    }

    #[test]
    fn stale_content_length_is_corrected_and_missing_one_added() {
        let mut msg = parse_datagram(
            b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@x>;tag=1\r\n\
To: <sip:u@x>;tag=2\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n",
        )
        .unwrap();
        msg.body_mut().extend_from_slice(b"hello");
        let mut out = Vec::new();
        serialize_into(&msg, &mut out);
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with("SIP/2.0 200 OK\r\n"));
        assert!(text.ends_with("Content-Length: 5\r\n\r\nhello"));

        if let SipMessage::Response(r) = &mut msg {
            r.headers
                .push(Header::ContentLength(ContentLength::new("99")));
        }
        out.clear();
        serialize_into(&msg, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("Content-Length").count(), 1);
        assert!(text.ends_with("Content-Length: 5\r\n\r\nhello"));
    }

    #[test]
    fn reason_phrases_are_words_and_unknown_codes_keep_theirs() {
        let msg = parse_datagram(
            b"SIP/2.0 499 Something Odd\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@x>;tag=1\r\n\
To: <sip:u@x>;tag=2\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n",
        )
        .unwrap();
        let mut out = Vec::new();
        serialize_into(&msg, &mut out);
        assert!(out.starts_with(b"SIP/2.0 499 Something Odd\r\n"));
        let bad = rsip::Response {
            status_code: StatusCode::BadRequest,
            ..Default::default()
        };
        out.clear();
        serialize_into(&bad.into(), &mut out);
        assert!(out.starts_with(b"SIP/2.0 400 Bad Request\r\n"));
    }
}
