//! Building a response to a request (RFC 3261 §8.2.6.2).

use rsip::prelude::UntypedHeader;
use rsip::{Header, Request, Response};

/// A response to `request`: Via (all values, in order), From, Call-ID and
/// CSeq copied; To copied with `to_tag` added when it has none (never for
/// 100 Trying, §8.2.6.2). No body; Content-Length 0.
pub fn make_response(request: &Request, code: u16, to_tag: Option<&str>) -> Response {
    let mut headers = rsip::Headers::default();
    for h in request.headers.iter() {
        match h {
            Header::Via(_) | Header::From(_) | Header::CallId(_) | Header::CSeq(_) => {
                headers.push(h.clone())
            }
            Header::To(to) => {
                let value = to.value();
                let has_tag = crate::message::to_tag(request).is_some();
                match to_tag {
                    Some(tag) if !has_tag && code > 100 => {
                        headers.push(Header::To(format!("{value};tag={tag}").into()))
                    }
                    _ => headers.push(h.clone()),
                }
            }
            _ => {}
        }
    }
    headers.push(Header::ContentLength(0.into()));
    Response {
        status_code: code.into(),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}
