//! `Referred-By` (RFC 3892 §3): who asked for the REFER, copied by the referee into
//! the triggered INVITE.
//!
//! `Referred-By = ("Referred-By" / "b") HCOLON referrer-uri
//!   *( SEMI (referredby-id-param / generic-param) )`,
//! `referredby-id-param = "cid" EQUAL sip-clean-msg-id` (points at an S/MIME body).

use super::{HeaderError, NameAddr, TypedHeader};
use crate::message::syntax::unquote;
use std::fmt;

const NAME: &str = "Referred-By";

/// A `Referred-By` header value (RFC 3892 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferredBy {
    /// Who asked for the transfer; the `cid` parameter, if any, is among its params.
    pub referrer: NameAddr,
}

impl ReferredBy {
    /// A `Referred-By` naming `uri`, without parameters.
    pub fn new(uri: impl Into<String>) -> Self {
        Self {
            referrer: NameAddr::new(uri),
        }
    }

    /// The `cid` parameter without its quotes (RFC 3892 §3).
    pub fn cid(&self) -> Option<String> {
        self.referrer
            .params
            .get("cid")
            .flatten()
            .map(|c| unquote(c).into_owned())
    }
}

impl TypedHeader for ReferredBy {
    const NAME: &'static str = NAME;
    const COMPACT: Option<&'static str> = Some("b");

    fn parse(value: &str) -> Result<Self, HeaderError> {
        Ok(Self {
            referrer: NameAddr::parse(value, NAME)?,
        })
    }
}

impl fmt::Display for ReferredBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.referrer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        // RFC 3892 §3 example.
        let r = ReferredBy::parse(
            "<sip:referrer@referrer.example>\r\n ;cid=\"20398823.2UWQFN309shb3@referrer.example\""
                .replace("\r\n", "")
                .as_str(),
        )
        .unwrap();
        assert_eq!(r.referrer.uri, "sip:referrer@referrer.example");
        assert_eq!(
            r.cid().as_deref(),
            Some("20398823.2UWQFN309shb3@referrer.example")
        );
        assert_eq!(
            r.to_string(),
            "<sip:referrer@referrer.example>;cid=\"20398823.2UWQFN309shb3@referrer.example\""
        );
        assert_eq!(ReferredBy::parse(&r.to_string()).unwrap(), r);
        let r = ReferredBy::parse("Alice <sip:alice@atlanta.example.com>").unwrap();
        assert_eq!(r.referrer.display_name.as_deref(), Some("Alice"));
        assert_eq!(r.to_string(), "\"Alice\" <sip:alice@atlanta.example.com>");
        assert_eq!(ReferredBy::new("sip:a@b").to_string(), "<sip:a@b>");
    }

    #[test]
    fn malformed_values_are_refused() {
        for bad in ["", "Alice, Bob <sip:a@b>", "<sip:a@b>;cid="] {
            assert!(ReferredBy::parse(bad).is_err(), "{bad}");
        }
    }
}
