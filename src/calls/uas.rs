//! Building our responses: the common headers every response of sotto carries.

use super::{CallCore, ALLOW};
use rsip::{Header, Request, Response};
use sotto_sip::endpoint::{make_response, Endpoint, ServerTxId};
use std::time::Instant;

impl CallCore {
    /// Our Contact URI (where in-dialog requests reach us).
    pub(super) fn contact_uri(&self) -> String {
        format!("sip:sotto@{}", self.cfg.local)
    }

    /// A response with Server, and for dialog-creating responses Contact and
    /// a copy of Record-Route (§12.1.1).
    pub(super) fn response(&self, request: &Request, code: u16, tag: Option<&str>) -> Response {
        let mut resp = make_response(request, code, tag);
        resp.headers
            .push(Header::Server(self.cfg.user_agent.clone().into()));
        if request.method == rsip::Method::Invite && (101..300).contains(&code) {
            for h in request.headers.iter() {
                if matches!(h, Header::RecordRoute(_)) {
                    resp.headers.push(h.clone());
                }
            }
            resp.headers
                .push(Header::Contact(format!("<{}>", self.contact_uri()).into()));
        }
        if code == 405 || code == 501 || (request.method == rsip::Method::Options && code == 200) {
            resp.headers.push(Header::Allow(ALLOW.into()));
        }
        resp
    }

    /// Sets an SDP body (Content-Type and Content-Length follow).
    pub(super) fn with_sdp(mut resp: Response, sdp: &str) -> Response {
        resp.headers
            .retain(|h| !matches!(h, Header::ContentLength(_)));
        resp.headers
            .push(Header::ContentType("application/sdp".into()));
        resp.headers
            .push(Header::ContentLength((sdp.len() as u32).into()));
        resp.body = sdp.as_bytes().to_vec();
        resp
    }

    /// Answers with a bare status (plus optional extra headers).
    pub(super) fn reply(
        &mut self,
        now: Instant,
        ep: &mut Endpoint,
        tx: ServerTxId,
        request: &Request,
        code: u16,
        extra: Vec<Header>,
    ) {
        let tag = if code > 100 { Some(self.token()) } else { None };
        let mut resp = self.response(request, code, tag.as_deref());
        for h in extra {
            resp.headers.push(h);
        }
        ep.respond(now, tx, resp);
    }
}
