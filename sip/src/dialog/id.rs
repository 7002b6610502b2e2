//! Dialog identifiers (RFC 3261 §12): Call-ID, local tag, remote tag.

use super::fields;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Wraps a header value as is.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The value as it appears on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.into())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }
    };
}

string_id!(
    /// The Call-ID header value, compared byte for byte (§20.8).
    CallId
);
string_id!(
    /// A From or To `tag` (§19.3): one half of a dialog's identity.
    Tag
);

/// The dialog ID (§12): Call-ID plus the local and remote tags, as seen from our side.
///
/// The same dialog has mirrored IDs at its two ends: the UAC's local tag is the UAS's
/// remote tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId {
    /// The Call-ID both ends share.
    pub call_id: CallId,
    /// Our tag: in From on requests we send, in To on requests we receive.
    pub local_tag: Tag,
    /// The peer's tag.
    pub remote_tag: Tag,
}

impl DialogId {
    /// The ID of the dialog an incoming request belongs to (§12.2.2): we are the UAS of
    /// this request, so our tag is in To and the peer's in From.
    ///
    /// `None` when the request carries no complete dialog ID (no To tag: it is not an
    /// in-dialog request) or the headers do not parse.
    pub fn from_request_as_uas(request: &rsip::Request) -> Option<Self> {
        Self::read(&request.headers, Side::ToIsLocal)
    }

    /// The ID of the dialog an incoming response belongs to (§12.1.2): we sent the request,
    /// so our tag is in From and the peer's in To.
    ///
    /// `None` when the response carries no complete dialog ID (e.g. a 100 without To tag).
    pub fn from_response_as_uac(response: &rsip::Response) -> Option<Self> {
        Self::read(&response.headers, Side::FromIsLocal)
    }

    /// The ID a request we send carries, from our side (From tag local, To tag remote).
    pub fn from_request_as_uac(request: &rsip::Request) -> Option<Self> {
        Self::read(&request.headers, Side::FromIsLocal)
    }

    /// The same dialog seen from the other end.
    pub fn mirrored(&self) -> Self {
        Self {
            call_id: self.call_id.clone(),
            local_tag: self.remote_tag.clone(),
            remote_tag: self.local_tag.clone(),
        }
    }

    fn read(headers: &rsip::Headers, side: Side) -> Option<Self> {
        let call_id = CallId::new(fields::call_id(headers).ok()?);
        let from = fields::from(headers).ok()?;
        let to = fields::to(headers).ok()?;
        let from_tag = Tag::new(fields::tag_of(&from.params)?);
        let to_tag = Tag::new(fields::tag_of(&to.params)?);
        let (local_tag, remote_tag) = match side {
            Side::FromIsLocal => (from_tag, to_tag),
            Side::ToIsLocal => (to_tag, from_tag),
        };
        Some(Self {
            call_id,
            local_tag,
            remote_tag,
        })
    }
}

impl std::fmt::Display for DialogId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{};local={};remote={}",
            self.call_id, self.local_tag, self.remote_tag
        )
    }
}

enum Side {
    FromIsLocal,
    ToIsLocal,
}

#[cfg(test)]
mod tests {
    use super::*;

    const BYE: &str = "BYE sip:alice@192.0.2.1 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKb1\r\n\
        From: <sip:bob@biloxi.example>;tag=bob-1\r\n\
        To: <sip:alice@atlanta.example>;tag=alice-1\r\n\
        Call-ID: c1@atlanta.example\r\n\
        CSeq: 1 BYE\r\n\r\n";

    #[test]
    fn request_and_response_ids_are_mirrors() {
        let bye = rsip::Request::try_from(BYE).unwrap();
        let as_uas = DialogId::from_request_as_uas(&bye).unwrap();
        assert_eq!(as_uas.local_tag.as_str(), "alice-1");
        assert_eq!(as_uas.remote_tag.as_str(), "bob-1");
        assert_eq!(as_uas.call_id.as_str(), "c1@atlanta.example");
        assert_eq!(
            DialogId::from_request_as_uac(&bye).unwrap(),
            as_uas.mirrored()
        );
    }

    #[test]
    fn request_without_to_tag_has_no_dialog() {
        let initial = BYE.replace(";tag=alice-1", "");
        let req = rsip::Request::try_from(initial.as_str()).unwrap();
        assert_eq!(DialogId::from_request_as_uas(&req), None);
    }

    #[test]
    fn trying_without_to_tag_has_no_dialog() {
        let resp = rsip::Response::try_from(
            "SIP/2.0 100 Trying\r\n\
             Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa\r\n\
             From: <sip:alice@atlanta.example>;tag=alice-1\r\n\
             To: <sip:bob@biloxi.example>\r\n\
             Call-ID: c1@atlanta.example\r\n\
             CSeq: 1 INVITE\r\n\r\n",
        )
        .unwrap();
        assert_eq!(DialogId::from_response_as_uac(&resp), None);
    }
}
