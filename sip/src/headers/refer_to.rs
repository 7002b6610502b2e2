//! `Refer-To` (RFC 3515 §2.1): the target a REFER asks the recipient to contact.
//!
//! `Refer-To = ("Refer-To" / "r") HCOLON ( name-addr / addr-spec ) *(SEMI refer-param)`.
//! For an attended (consult) transfer the target URI embeds the dialog to replace as a
//! `?Replaces=` header, escaped (RFC 3891 §7.1, RFC 5589 §7):
//! `<sip:bob@example.com?Replaces=12345%40h%3Bto-tag%3D1%3Bfrom-tag%3D2>`.

use super::name_addr::escape_hvalue;
use super::{HeaderError, NameAddr, Replaces, TypedHeader};
use std::fmt;

const NAME: &str = "Refer-To";

/// A `Refer-To` header value (RFC 3515 §2.1): where the referee is to send its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferTo {
    /// The target; its `uri` keeps any embedded headers, still escaped.
    pub target: NameAddr,
}

impl ReferTo {
    /// A plain (blind transfer) target.
    pub fn new(uri: impl Into<String>) -> Self {
        Self {
            target: NameAddr::new(uri),
        }
    }

    /// An attended-transfer target: `uri` (without `?headers`) with `replaces`
    /// embedded as an escaped `Replaces` URI header.
    pub fn with_replaces(uri: &str, replaces: &Replaces) -> Self {
        Self::new(format!(
            "{uri}?Replaces={}",
            escape_hvalue(&replaces.to_string())
        ))
    }

    /// The embedded `Replaces`, unescaped and parsed; `None` when absent.
    pub fn replaces(&self) -> Option<Result<Replaces, HeaderError>> {
        self.target
            .uri_header("Replaces")
            .map(|v| Replaces::parse(&v))
    }
}

impl TypedHeader for ReferTo {
    const NAME: &'static str = NAME;
    const COMPACT: Option<&'static str> = Some("r");

    fn parse(value: &str) -> Result<Self, HeaderError> {
        Ok(Self {
            target: NameAddr::parse(value, NAME)?,
        })
    }
}

impl fmt::Display for ReferTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blind_target_round_trips() {
        let r = ReferTo::parse("sip:carol@cleveland.example.org").unwrap();
        assert_eq!(r, ReferTo::new("sip:carol@cleveland.example.org"));
        assert_eq!(r.to_string(), "<sip:carol@cleveland.example.org>");
        assert_eq!(ReferTo::parse(&r.to_string()).unwrap(), r);
        assert!(r.replaces().is_none());
        let r = ReferTo::parse("\"Carol\" <sip:carol@x;transport=tcp>;method=INVITE").unwrap();
        assert_eq!(r.target.display_name.as_deref(), Some("Carol"));
        assert_eq!(r.target.params.get("method"), Some(Some("INVITE")));
        assert_eq!(ReferTo::parse(&r.to_string()).unwrap(), r);
    }

    #[test]
    fn embedded_replaces_is_escaped_and_recovered() {
        // RFC 3891 §7.1 / RFC 5589 style target.
        let r = ReferTo::parse(
            "<sips:bob@example.com?Replaces=12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994>",
        )
        .unwrap();
        let rep = r.replaces().unwrap().unwrap();
        assert_eq!(
            rep,
            Replaces::new("12345@192.168.118.3", "12345", "5FFE-3994")
        );

        let mut rep = Replaces::new("a84b4c76e66710@pc33.example.com", "314159", "1928301774");
        rep.early_only = true;
        let r = ReferTo::with_replaces("sip:bob@biloxi.example.com", &rep);
        let text = r.to_string();
        assert_eq!(
            text,
            "<sip:bob@biloxi.example.com?Replaces=a84b4c76e66710%40pc33.example.com%3Bto-tag%3D314159%3Bfrom-tag%3D1928301774%3Bearly-only>"
        );
        let back = ReferTo::parse(&text).unwrap();
        assert_eq!(back.replaces().unwrap().unwrap(), rep);
        assert_eq!(
            back.target.uri_without_headers(),
            "sip:bob@biloxi.example.com"
        );
    }

    #[test]
    fn malformed_targets_are_refused() {
        for bad in ["", "<sip:a@b", "sip:a@b?Replaces=x", "<sip:a@b>;;"] {
            assert!(ReferTo::parse(bad).is_err(), "{bad}");
        }
        let r = ReferTo::parse("<sip:a@b?Replaces=nonsense>").unwrap();
        assert!(r.replaces().unwrap().is_err());
    }
}
