//! Building requests within a dialog (§12.2.1.1), the ACK for a 2xx (§13.2.2.4) and
//! CANCEL (§9.1).

use rsip::headers::{CallId, MaxForwards, UntypedHeader};
use rsip::{typed, Header, Headers, Method, Param, Request, Version};

use super::error::{DialogError, HeaderProblem};
use super::is_target_refresh;
use super::state::{Dialog, DialogState, Role};

/// §8.1.1.6.
const MAX_FORWARDS: u32 = 70;

impl Dialog {
    /// A new request in the dialog (§12.2.1.1), with `via` as its only Via.
    ///
    /// Request-URI and Route come from the remote target and route set (strict routing
    /// handled); From/To carry the local/remote URIs and tags; the local CSeq is
    /// incremented (starting at 1 for a UAS that has sent nothing yet, §8.1.1.5);
    /// Max-Forwards is 70; Contact is our local contact on target refresh requests
    /// (re-INVITE, UPDATE, SUBSCRIBE, NOTIFY) and on REFER, which must carry one
    /// (RFC 3515 §2: REFER may create a dialog) though it refreshes nothing.
    /// The caller adds the body, Content-Type and Content-Length, and the method's own
    /// headers (Refer-To, Event, Subscription-State: see [`crate::refer`]).
    ///
    /// A re-INVITE is refused while an INVITE is in progress or a glare back-off runs
    /// (§14.1), and records itself as the pending client INVITE. A BYE terminates the
    /// dialog (§15.1.1). ACK and CANCEL are not built here: see [`Dialog::create_ack`]
    /// and [`super::create_cancel`].
    pub fn create_request(
        &mut self,
        method: Method,
        via: rsip::headers::Via,
    ) -> Result<Request, DialogError> {
        let not_allowed = DialogError::MethodNotAllowed {
            method,
            state: self.state,
        };
        match (method, self.state, self.role) {
            (_, DialogState::Terminated, _) => return Err(DialogError::Terminated),
            (Method::Ack | Method::Cancel, _, _) => return Err(not_allowed),
            (Method::Invite, _, _) => self.may_send_reinvite()?,
            // §15: the callee must not send BYE in an early dialog.
            (Method::Bye, DialogState::Early, Role::Uas) => return Err(not_allowed),
            _ => {}
        }
        let cseq = self.local_cseq.map_or(1, |n| n.wrapping_add(1));
        self.local_cseq = Some(cseq);
        if method == Method::Invite {
            self.invites.on_invite_sent(cseq);
        }
        if method == Method::Bye {
            self.state = DialogState::Terminated;
        }
        Ok(self.build(method, cseq, via))
    }

    /// The ACK for a 2xx to the INVITE whose CSeq number was `invite_cseq` (§13.2.2.4):
    /// built like any in-dialog request, but with the INVITE's CSeq number and method
    /// ACK, and a `via` with a branch of its own (the ACK is its own transaction).
    /// It does not consume a CSeq number.
    pub fn create_ack(&self, invite_cseq: u32, via: rsip::headers::Via) -> Request {
        self.build(Method::Ack, invite_cseq, via)
    }

    fn build(&self, method: Method, cseq: u32, via: rsip::headers::Via) -> Request {
        let (uri, routes) = self.route_set.request_target(&self.remote_target);
        let mut headers = Headers::default();
        headers.push(via.into());
        headers.push(MaxForwards::from(MAX_FORWARDS).into());
        headers.extend(routes);
        let from = typed::From {
            display_name: self.local.display_name.clone(),
            uri: self.local.uri.clone(),
            params: vec![Param::Tag(rsip::param::Tag::new(
                self.id.local_tag.as_str(),
            ))],
        };
        let to = typed::To {
            display_name: self.remote.display_name.clone(),
            uri: self.remote.uri.clone(),
            params: vec![Param::Tag(rsip::param::Tag::new(
                self.id.remote_tag.as_str(),
            ))],
        };
        headers.push(from.into());
        headers.push(to.into());
        headers.push(CallId::new(self.id.call_id.as_str()).into());
        headers.push(typed::CSeq { seq: cseq, method }.into());
        if is_target_refresh(method) || method == Method::Refer {
            headers.push(self.local_contact.clone().into());
        }
        Request {
            method,
            uri,
            version: Version::V2,
            headers,
            body: Vec::new(),
        }
    }
}

/// CANCEL for a request we sent (§9.1): same Request-URI, Call-ID, From, To, Route and
/// CSeq number as `request`, method CANCEL, and only the request's top Via (so it
/// matches the same server transaction hop by hop).
pub fn create_cancel(request: &Request) -> Result<Request, DialogError> {
    let bad = |header| DialogError::BadLocalMessage {
        header,
        problem: HeaderProblem::Missing,
    };
    let seq = super::fields::cseq(&request.headers)
        .map_err(|(header, problem)| DialogError::BadLocalMessage { header, problem })?
        .seq;
    let mut via = None;
    let mut kept = Vec::new();
    for header in request.headers.iter() {
        match header {
            Header::Via(v) if via.is_none() => via = Some(Header::Via(v.clone())),
            Header::From(_) | Header::To(_) | Header::CallId(_) | Header::Route(_) => {
                kept.push(header.clone())
            }
            Header::Other(name, _)
                if ["f", "t", "i"]
                    .iter()
                    .any(|c| name.trim().eq_ignore_ascii_case(c)) =>
            {
                kept.push(header.clone())
            }
            _ => {}
        }
    }
    let mut headers = Headers::default();
    headers.push(via.ok_or_else(|| bad("Via"))?);
    headers.push(MaxForwards::from(MAX_FORWARDS).into());
    headers.extend(kept);
    headers.push(
        typed::CSeq {
            seq,
            method: Method::Cancel,
        }
        .into(),
    );
    Ok(Request {
        method: Method::Cancel,
        uri: request.uri.clone(),
        version: Version::V2,
        headers,
        body: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsip::prelude::*;

    #[test]
    fn cancel_copies_what_matches_the_invite_transaction() {
        let invite = Request::try_from(
            "INVITE sip:bob@biloxi.example SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKinv1\r\n\
             Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKbelow\r\n\
             Max-Forwards: 69\r\n\
             Route: <sip:p1.example;lr>\r\n\
             From: Alice <sip:alice@atlanta.example>;tag=a1\r\n\
             To: Bob <sip:bob@biloxi.example>\r\n\
             Call-ID: c9@atlanta.example\r\n\
             CSeq: 314 INVITE\r\n\
             Contact: <sip:alice@192.0.2.1>\r\n\
             Content-Length: 0\r\n\r\n",
        )
        .unwrap();
        let cancel = create_cancel(&invite).unwrap();
        let wire = cancel.to_string();
        let cancel = Request::try_from(wire.as_str()).unwrap();
        assert_eq!(cancel.method, Method::Cancel);
        assert_eq!(cancel.uri, invite.uri);
        assert_eq!(cancel.via_header().unwrap(), invite.via_header().unwrap());
        assert_eq!(
            cancel
                .headers
                .iter()
                .filter(|h| matches!(h, Header::Via(_)))
                .count(),
            1
        );
        assert_eq!(cancel.cseq_header().unwrap().value(), "314 CANCEL");
        assert_eq!(cancel.route_header(), invite.route_header());
        assert_eq!(cancel.from_header().unwrap(), invite.from_header().unwrap());
        assert_eq!(cancel.to_header().unwrap(), invite.to_header().unwrap());
        assert!(cancel.contact_headers().is_empty());
    }
}
