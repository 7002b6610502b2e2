//! Wire messages shared by the transaction tests.

use rsip::prelude::UntypedHeader;
use rsip::{Request, Response, SipMessage};

pub fn parse_request(text: &str) -> Request {
    match SipMessage::try_from(text.replace('\n', "\r\n").as_str()).expect("test request parses") {
        SipMessage::Request(r) => r,
        SipMessage::Response(_) => panic!("not a request"),
    }
}

pub fn invite() -> Request {
    parse_request(
        "INVITE sip:echo@127.0.0.1 SIP/2.0\n\
Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bKclient1\n\
Max-Forwards: 70\n\
From: <sip:alice@127.0.0.1>;tag=caller\n\
To: <sip:echo@127.0.0.1>\n\
Call-ID: call-1@127.0.0.1\n\
CSeq: 1 INVITE\n\
Contact: <sip:alice@127.0.0.1:5061>\n\
Content-Length: 0\n\n",
    )
}

pub fn options() -> Request {
    parse_request(
        "OPTIONS sip:echo@127.0.0.1 SIP/2.0\n\
Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bKopt1\n\
Max-Forwards: 70\n\
From: <sip:alice@127.0.0.1>;tag=caller\n\
To: <sip:echo@127.0.0.1>\n\
Call-ID: opt-1@127.0.0.1\n\
CSeq: 7 OPTIONS\n\
Content-Length: 0\n\n",
    )
}

/// A response to `request` with a To tag `callee` on everything but 100.
pub fn response_to(request: &Request, code: u16) -> Response {
    let mut headers = rsip::Headers::default();
    for h in request.headers.iter() {
        match h {
            rsip::Header::Via(_)
            | rsip::Header::From(_)
            | rsip::Header::CallId(_)
            | rsip::Header::CSeq(_) => headers.push(h.clone()),
            rsip::Header::To(to) if code > 100 => headers.push(rsip::Header::To(
                format!("{};tag=callee", to.value()).into(),
            )),
            rsip::Header::To(_) => headers.push(h.clone()),
            _ => {}
        }
    }
    headers.push(rsip::Header::ContentLength(0.into()));
    Response {
        status_code: code.into(),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}
