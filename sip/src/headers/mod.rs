//! Typed extension headers rsip 0.4 leaves untyped, one per file, each with `parse`
//! (from the header value), `Display` (the value, without `Name: `) and round-trip tests.
//!
//! | Header | RFC | Type |
//! |---|---|---|
//! | Refer-To (`r`) | 3515 §2.1 | [`ReferTo`] (with embedded `Replaces`, RFC 3891 §7.1) |
//! | Referred-By (`b`) | 3892 §3 | [`ReferredBy`] |
//! | Replaces | 3891 §6.1 | [`Replaces`] |
//! | Event (`o`) | 6665 §8.2.1 | [`Event`] |
//! | Subscription-State | 6665 §8.2.3 | [`SubscriptionState`] |
//!
//! [`TypedHeaders`] reads and writes them on any rsip `Request`, `Response` or
//! `SipMessage`: they arrive as `Header::Other(name, value)` (or rsip's own `Event` and
//! `SubscriptionState` variants), under the long or the compact name.

mod event;
mod name_addr;
mod params;
mod refer_to;
mod referred_by;
mod replaces;
mod subscription_state;

pub use event::Event;
pub use name_addr::NameAddr;
pub use params::Params;
pub use refer_to::ReferTo;
pub use referred_by::ReferredBy;
pub use replaces::Replaces;
pub use subscription_state::{EventReason, SubState, SubscriptionState};

use rsip::message::HasHeaders;
use rsip::Header;
use std::fmt;

/// A header value that does not follow its grammar: a peer's protocol violation
/// (answer 400 when it matters to the request, e.g. a bad Refer-To in REFER).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The value of header `header` does not parse; `reason` says why.
    #[error("invalid {header} header: {reason}")]
    Invalid {
        /// The header's long name, e.g. `"Refer-To"`.
        header: &'static str,
        /// What is wrong, in a few words.
        reason: &'static str,
    },
}

impl HeaderError {
    pub(crate) fn invalid(header: &'static str, reason: &'static str) -> Self {
        Self::Invalid { header, reason }
    }
}

/// A header with a typed form. `Display` prints the value only.
pub trait TypedHeader: Sized + fmt::Display {
    /// The RFC spelling of the name.
    const NAME: &'static str;
    /// The compact form, if the RFC defines one.
    const COMPACT: Option<&'static str> = None;

    /// Parses the header value (what follows `Name:`, unfolded).
    fn parse(value: &str) -> Result<Self, HeaderError>;

    /// The value of `header` if it is an instance of this header.
    fn value_of(header: &Header) -> Option<&str> {
        other_value::<Self>(header)
    }

    /// The rsip header carrying this value.
    fn to_header(&self) -> Header {
        Header::Other(Self::NAME.to_owned(), self.to_string())
    }
}

/// `Header::Other(name, value)` under `H`'s long or compact name.
fn other_value<H: TypedHeader>(header: &Header) -> Option<&str> {
    match header {
        Header::Other(name, value)
            if name.eq_ignore_ascii_case(H::NAME)
                || H::COMPACT.is_some_and(|c| name.eq_ignore_ascii_case(c)) =>
        {
            Some(value)
        }
        _ => None,
    }
}

/// Typed access to the headers of an rsip `Request`, `Response` or `SipMessage`.
pub trait TypedHeaders: HasHeaders {
    /// The first `H` header, parsed; `None` when absent.
    fn typed_header<H: TypedHeader>(&self) -> Option<Result<H, HeaderError>> {
        self.headers().iter().find_map(H::value_of).map(H::parse)
    }

    /// Every `H` header, parsed, in order.
    fn typed_headers<H: TypedHeader>(&self) -> Vec<Result<H, HeaderError>> {
        self.headers()
            .iter()
            .filter_map(H::value_of)
            .map(H::parse)
            .collect()
    }

    /// Whether at least one `H` header is present (parsed or not).
    fn has_typed_header<H: TypedHeader>(&self) -> bool {
        self.headers().iter().any(|h| H::value_of(h).is_some())
    }

    /// Replaces every `H` header by `value` (appended at the end).
    fn set_typed_header<H: TypedHeader>(&mut self, value: &H) {
        self.remove_typed_header::<H>();
        self.headers_mut().push(value.to_header());
    }

    /// Appends `value` as one more `H` header.
    fn push_typed_header<H: TypedHeader>(&mut self, value: &H) {
        self.headers_mut().push(value.to_header());
    }

    /// Removes every `H` header, under its long or compact name.
    fn remove_typed_header<H: TypedHeader>(&mut self) {
        self.headers_mut().retain(|h| H::value_of(h).is_none());
    }
}

impl<T: HasHeaders + ?Sized> TypedHeaders for T {}

/// `delta-seconds = 1*DIGIT`, at most 2^32−1 (RFC 3261 §25.1).
pub(crate) fn delta_seconds(s: &str, header: &'static str) -> Result<u32, HeaderError> {
    let s = crate::message::syntax::trim_wsp(s);
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(HeaderError::invalid(header, "not a number"));
    }
    s.parse()
        .map_err(|_| HeaderError::invalid(header, "number above 2^32-1"))
}

/// Splits `value` at its first `;` (outside quotes): the leading item and the params.
pub(crate) fn split_first_param(value: &str) -> (&str, &str) {
    let trimmed = crate::message::syntax::trim_wsp(value);
    match trimmed.find(';') {
        Some(i) => (
            crate::message::syntax::trim_wsp(&trimmed[..i]),
            &trimmed[i..],
        ),
        None => (trimmed, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::parse_datagram;
    use rsip::SipMessage;

    fn notify() -> SipMessage {
        parse_datagram(
            b"NOTIFY sip:a@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKn\r\nFrom: <sip:b@x>;tag=1\r\n\
To: <sip:a@x>;tag=2\r\nCall-ID: c\r\nCSeq: 3 NOTIFY\r\no: refer;id=93809824\r\n\
Subscription-State: active;expires=60\r\nb: <sip:d@x>\r\nr: <sip:c@x>\r\n\r\n",
        )
        .unwrap()
    }

    #[test]
    fn typed_headers_are_found_under_rsip_variants_and_compact_names() {
        let msg = notify();
        let event: Event = msg.typed_header().unwrap().unwrap();
        assert_eq!(
            (event.package.as_str(), event.id.as_deref()),
            ("refer", Some("93809824"))
        );
        let state: SubscriptionState = msg.typed_header().unwrap().unwrap();
        assert_eq!((state.state, state.expires), (SubState::Active, Some(60)));
        let referred_by: ReferredBy = msg.typed_header().unwrap().unwrap();
        assert_eq!(referred_by, ReferredBy::new("sip:d@x"));
        let refer_to: ReferTo = msg.typed_header().unwrap().unwrap();
        assert_eq!(refer_to.target.uri, "sip:c@x");
        assert!(msg.typed_header::<Replaces>().is_none());

        // Hand-built messages may carry the compact name in `Header::Other`.
        let mut msg = msg;
        msg.headers_mut()
            .push(Header::Other("k-not-this".into(), "1".into()));
        msg.headers_mut()
            .push(Header::Other("R".into(), "<sip:e@x>".into()));
        assert_eq!(msg.typed_headers::<ReferTo>().len(), 2);
    }

    #[test]
    fn set_replaces_and_push_appends() {
        let mut msg = notify();
        msg.set_typed_header(&SubscriptionState::terminated(EventReason::Noresource));
        let all = msg.typed_headers::<SubscriptionState>();
        assert_eq!(all.len(), 1);
        assert_eq!(
            all[0].as_ref().unwrap().to_string(),
            "terminated;reason=noresource"
        );
        msg.push_typed_header(&ReferredBy::new("sip:e@x"));
        msg.push_typed_header(&ReferredBy::new("sip:f@x"));
        assert_eq!(msg.typed_headers::<ReferredBy>().len(), 3);
        msg.remove_typed_header::<ReferredBy>();
        assert!(!msg.has_typed_header::<ReferredBy>());
        // Event goes back as rsip's own variant.
        msg.set_typed_header(&Event::new("dialog"));
        assert!(msg.headers().iter().any(|h| matches!(h, Header::Event(_))));
    }
}
