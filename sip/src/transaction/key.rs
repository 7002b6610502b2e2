//! Matching messages to transactions (RFC 3261 §17.1.3 and §17.2.3).

use crate::message::{call_id, cseq, from_tag, top_via};
use rsip::{Method, Request, Response};

/// The magic cookie that marks an RFC 3261 branch (§8.1.1.7).
pub const BRANCH_COOKIE: &str = "z9hG4bK";

/// A client transaction is found by the branch it put in the top Via and the
/// CSeq method of the response (§17.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    /// The `branch` parameter of the top Via.
    pub branch: String,
    /// The CSeq method (a CANCEL's branch is its INVITE's, so the method tells them apart).
    pub method: MethodKey,
}

impl ClientKey {
    /// The key of the client transaction a response belongs to; `None` without a top
    /// Via branch or a CSeq.
    pub fn of_response(response: &Response) -> Option<ClientKey> {
        Some(ClientKey {
            branch: top_via(response)?.branch?.to_string(),
            method: MethodKey::of(&cseq(response)?.1),
        })
    }
}

/// A server transaction key (§17.2.3): branch, sent-by and method when the
/// branch carries the magic cookie; otherwise the RFC 2543 fallback built from
/// Request-URI, From tag, Call-ID, CSeq number and the top Via.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerKey {
    /// A request whose top Via branch starts with the magic cookie (§17.2.3).
    Rfc3261 {
        /// The top Via's `branch`.
        branch: String,
        /// The top Via's sent-by as `host:port`, host in lower case, port 0 when absent.
        sent_by: String,
        /// The transaction's method: the request's, with ACK counted as INVITE.
        method: MethodKey,
    },
    /// A request from an RFC 2543 peer, without the magic cookie (§17.2.3).
    Rfc2543 {
        /// The Request-URI as text.
        request_uri: String,
        /// The From tag, empty when absent.
        from_tag: String,
        /// The Call-ID.
        call_id: String,
        /// The CSeq number.
        cseq: u32,
        /// The top Via's transport, sent-by and branch, as text.
        via: String,
        /// The transaction's method: the request's, with ACK counted as INVITE.
        method: MethodKey,
    },
}

impl ServerKey {
    /// The key of the transaction a request belongs to. An ACK belongs to the
    /// INVITE transaction it acknowledges (for non-2xx responses; an ACK for a
    /// 2xx has a branch of its own and matches nothing).
    pub fn of_request(request: &Request) -> Option<ServerKey> {
        Self::with_method(request, transaction_method(&request.method))
    }

    /// The key of the INVITE transaction a CANCEL cancels (§9.2).
    pub fn invite_cancelled_by(cancel: &Request) -> Option<ServerKey> {
        Self::with_method(cancel, Method::Invite)
    }

    fn with_method(request: &Request, method: Method) -> Option<ServerKey> {
        let via = top_via(request)?;
        let sent_by = format!(
            "{}:{}",
            via.host.to_ascii_lowercase(),
            via.port.unwrap_or(0)
        );
        if let Some(branch) = via.branch.filter(|_| via.has_rfc3261_branch()) {
            return Some(ServerKey::Rfc3261 {
                branch: branch.to_string(),
                sent_by,
                method: MethodKey::of(&method),
            });
        }
        Some(ServerKey::Rfc2543 {
            request_uri: request.uri.to_string(),
            from_tag: from_tag(request).unwrap_or_default().to_string(),
            call_id: call_id(request)?.to_string(),
            cseq: cseq(request)?.0,
            via: format!(
                "{}/{sent_by};{}",
                via.transport,
                via.branch.unwrap_or_default()
            ),
            method: MethodKey::of(&method),
        })
    }
}

/// A hashable stand-in for `rsip::Method` (which does not implement `Hash`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MethodKey(u8);

impl MethodKey {
    /// The key of `method`, one per method rsip knows.
    pub fn of(method: &Method) -> MethodKey {
        MethodKey(match method {
            Method::Ack => 0,
            Method::Bye => 1,
            Method::Cancel => 2,
            Method::Info => 3,
            Method::Invite => 4,
            Method::Message => 5,
            Method::Notify => 6,
            Method::Options => 7,
            Method::PRack => 8,
            Method::Publish => 9,
            Method::Refer => 10,
            Method::Register => 11,
            Method::Subscribe => 12,
            Method::Update => 13,
        })
    }
}

fn transaction_method(method: &Method) -> Method {
    match method {
        Method::Ack => Method::Invite,
        other => *other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_matches_its_invite_and_cancel_does_not() {
        use crate::transaction::test_support::invite;
        let inv = invite();
        let mut ack = invite();
        ack.method = Method::Ack;
        assert_eq!(ServerKey::of_request(&inv), ServerKey::of_request(&ack));
        let mut cancel = invite();
        cancel.method = Method::Cancel;
        assert_ne!(ServerKey::of_request(&inv), ServerKey::of_request(&cancel));
        assert_eq!(
            ServerKey::invite_cancelled_by(&cancel),
            ServerKey::of_request(&inv)
        );
    }
}
