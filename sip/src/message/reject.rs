//! The stateless answer to a request that failed to parse (RFC 3261 §8.2.6):
//! 400, 505 or 501, built from a raw scan of the bytes since rsip may have refused them.

use super::error::ParseError;
use super::raw;
use super::syntax::{find_param, split_addr_params};
use rsip::headers::{CSeq, CallId, ContentLength, From, To, UntypedHeader, Via};
use rsip::{Header, Response, StatusCode, Version};

/// Builds the response `err` calls for (see [`ParseError::response_status`]): status
/// 400, 505 or 501, with every Via and the first From, To, Call-ID and CSeq copied from
/// the raw bytes, `to_tag` added to To unless it has a tag (RFC 3261 §8.2.6.2), and
/// `Content-Length: 0`. The caller adds what only it knows: `Allow` on a 501
/// (RFC 3261 §8.2.1), `Server`, a `Warning`.
///
/// From, To and Call-ID are echoed when the request had them (RFC 4475 insuf has
/// none and still gets its 400).
///
/// `None` when no response may or can be built: a response, an ACK, a keep-alive, or a
/// request without a Via to route the answer or a CSeq to match it.
pub fn bad_request_response(bytes: &[u8], err: &ParseError, to_tag: &str) -> Option<Response> {
    let status = err.response_status()?;
    let echo = raw::echo(bytes)?;
    // `echo` only returns UTF-8 values.
    let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
    let mut headers = Vec::with_capacity(echo.vias.len() + 5);
    headers.extend(echo.vias.iter().map(|v| Header::Via(Via::new(text(v)))));
    if let Some(from) = echo.from.as_deref() {
        headers.push(Header::From(From::new(text(from))));
    }
    if let Some(to) = echo.to.as_deref() {
        let mut to = text(to);
        let has_tag = split_addr_params(&to).is_some_and(|(_, p)| find_param(p, "tag").is_some());
        if !has_tag {
            to.push_str(";tag=");
            to.push_str(to_tag);
        }
        headers.push(Header::To(To::new(to)));
    }
    if let Some(call_id) = echo.call_id.as_deref() {
        headers.push(Header::CallId(CallId::new(text(call_id))));
    }
    headers.push(Header::CSeq(CSeq::new(text(echo.cseq.as_deref()?))));
    headers.push(Header::ContentLength(ContentLength::new("0")));
    Some(Response {
        status_code: StatusCode::from(status),
        version: Version::V2,
        headers: headers.into(),
        body: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{parse_datagram, ParseErrorKind};
    use rsip::prelude::*;

    const BAD_CSEQ: &[u8] = b"OPTIONS sip:u@example.com SIP/2.0\r\n\
v: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n\
Via: SIP/2.0/UDP b.example.com;branch=z9hG4bK2\r\n\
f: <sip:a@example.com>;tag=99\r\n\
t: <sip:u@example.com>\r\n\
i: c1@a\r\n\
CSeq: 1 INVITE\r\n\
\r\n";

    #[test]
    fn a_400_copies_the_raw_headers_and_adds_a_to_tag() {
        let err = parse_datagram(BAD_CSEQ).unwrap_err();
        assert_eq!(err.kind(), &ParseErrorKind::CSeqMethodMismatch);
        assert_eq!(err.response_status(), Some(400));
        let r = bad_request_response(BAD_CSEQ, &err, "t0").unwrap();
        assert_eq!(r.status_code, StatusCode::BadRequest);
        let vias: Vec<_> = r
            .headers
            .iter()
            .filter_map(|h| match h {
                Header::Via(v) => Some(v.value().to_owned()),
                _ => None,
            })
            .collect();
        assert_eq!(
            vias,
            [
                "SIP/2.0/UDP a.example.com;branch=z9hG4bK1",
                "SIP/2.0/UDP b.example.com;branch=z9hG4bK2"
            ]
        );
        assert_eq!(r.to_header().unwrap().value(), "<sip:u@example.com>;tag=t0");
        assert_eq!(
            r.from_header().unwrap().value(),
            "<sip:a@example.com>;tag=99"
        );
        assert_eq!(r.call_id_header().unwrap().value(), "c1@a");
        assert_eq!(r.cseq_header().unwrap().value(), "1 INVITE");
    }

    #[test]
    fn an_existing_to_tag_is_kept() {
        let bytes = b"BYE sip:u@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\
From: <sip:a@x>;tag=1\r\nTo: <sip:u@x>;tag=2\r\nCall-ID: c\r\nCSeq: 2 BYE\r\n\
Content-Length: 10\r\n\r\nshort";
        let err = parse_datagram(bytes).unwrap_err();
        let r = bad_request_response(bytes, &err, "new").unwrap();
        assert_eq!(r.to_header().unwrap().value(), "<sip:u@x>;tag=2");
    }

    #[test]
    fn responses_acks_and_requests_without_via_or_cseq_get_nothing() {
        let ack = b"ACK sip:u@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@x>;tag=1\r\n\
To: <sip:u@x>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n";
        let err = parse_datagram(ack).unwrap_err();
        assert!(!err.can_respond());
        assert!(bad_request_response(ack, &err, "t").is_none());

        let no_call_id = b"OPTIONS sip:u@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\
From: <sip:a@x>;tag=1\r\nTo: <sip:u@x>\r\nCSeq: 1 OPTIONS\r\n\r\n";
        let err = parse_datagram(no_call_id).unwrap_err();
        assert_eq!(err.kind(), &ParseErrorKind::MissingHeader("Call-ID"));
        let r = bad_request_response(no_call_id, &err, "t").expect("Via and CSeq suffice");
        assert_eq!(r.status_code.code(), 400);

        let no_cseq = b"OPTIONS sip:u@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\
From: <sip:a@x>;tag=1\r\nTo: <sip:u@x>\r\nCall-ID: c\r\n\r\n";
        let err = parse_datagram(no_cseq).unwrap_err();
        assert!(bad_request_response(no_cseq, &err, "t").is_none());

        let no_via = b"OPTIONS sip:u@x SIP/2.0\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:u@x>\r\n\
Call-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n";
        let err = parse_datagram(no_via).unwrap_err();
        assert!(bad_request_response(no_via, &err, "t").is_none());

        let response =
            b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nCSeq: 1 INVITE\r\n\r\n";
        let err = parse_datagram(response).unwrap_err();
        assert_eq!(err.response_status(), None);
    }
}
