//! `Replaces` (RFC 3891 §6.1): names the dialog an INVITE replaces.
//!
//! `Replaces = "Replaces" HCOLON callid *(SEMI replaces-param)`,
//! `replaces-param = to-tag / from-tag / early-flag / generic-param`.
//! Both tags are required to identify the dialog (§6.1: "MUST contain exactly one
//! to-tag and exactly one from-tag").

use super::{split_first_param, HeaderError, Params, TypedHeader};
use crate::message::syntax::is_word_byte;
use std::fmt;

const NAME: &str = "Replaces";

/// A `Replaces` header value (RFC 3891 §6.1): the dialog a new INVITE takes the place of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaces {
    /// The Call-ID of the replaced dialog.
    pub call_id: String,
    /// The To tag of the replaced dialog *as seen by the sender* (§6.1).
    pub to_tag: String,
    /// The From tag of the replaced dialog *as seen by the sender* (§6.1).
    pub from_tag: String,
    /// `early-only`: replace only an early dialog (§3, §6.1).
    pub early_only: bool,
    /// Other parameters, kept in order.
    pub params: Params,
}

impl Replaces {
    /// Names the dialog by Call-ID and tags as the sender sees them, without `early-only`.
    pub fn new(
        call_id: impl Into<String>,
        to_tag: impl Into<String>,
        from_tag: impl Into<String>,
    ) -> Self {
        Self {
            call_id: call_id.into(),
            to_tag: to_tag.into(),
            from_tag: from_tag.into(),
            early_only: false,
            params: Params::new(),
        }
    }
}

impl TypedHeader for Replaces {
    const NAME: &'static str = NAME;

    fn parse(value: &str) -> Result<Self, HeaderError> {
        let (call_id, params) = split_first_param(value);
        let ok = |w: &str| !w.is_empty() && w.bytes().all(is_word_byte);
        let valid = match call_id.split_once('@') {
            Some((a, b)) => ok(a) && ok(b),
            None => ok(call_id),
        };
        if !valid {
            return Err(HeaderError::invalid(NAME, "bad call-id"));
        }
        let mut params = Params::parse(params, NAME)?;
        let mut tag = |name| match params.take(name) {
            Some(Some(t)) if crate::message::syntax::is_token(&t) => Ok(t),
            _ => Err(HeaderError::invalid(
                NAME,
                "to-tag and from-tag are required tokens",
            )),
        };
        let to_tag = tag("to-tag")?;
        let from_tag = tag("from-tag")?;
        let early_only = match params.take("early-only") {
            None => false,
            Some(None) => true,
            Some(Some(_)) => return Err(HeaderError::invalid(NAME, "early-only takes no value")),
        };
        Ok(Self {
            call_id: call_id.to_owned(),
            to_tag,
            from_tag,
            early_only,
            params,
        })
    }
}

impl fmt::Display for Replaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{};to-tag={};from-tag={}",
            self.call_id, self.to_tag, self.from_tag
        )?;
        if self.early_only {
            f.write_str(";early-only")?;
        }
        write!(f, "{}", self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc_examples_and_round_trips() {
        // RFC 3891 §6.1 example.
        let r = Replaces::parse(
            "98732@sip.example.com\r\n ;from-tag=r33th4x0r\r\n ;to-tag=ff87ff"
                .replace("\r\n", "")
                .as_str(),
        )
        .unwrap();
        assert_eq!(r.call_id, "98732@sip.example.com");
        assert_eq!(
            (r.to_tag.as_str(), r.from_tag.as_str()),
            ("ff87ff", "r33th4x0r")
        );
        assert!(!r.early_only);
        assert_eq!(
            r.to_string(),
            "98732@sip.example.com;to-tag=ff87ff;from-tag=r33th4x0r"
        );
        assert_eq!(Replaces::parse(&r.to_string()).unwrap(), r);

        let mut r = Replaces::new("12adf2f34456gs5;q3hh", "12345", "54321");
        r.call_id = "12adf2f34456gs5".into();
        r.early_only = true;
        r.params.set("x", Some("y"));
        let text = r.to_string();
        assert_eq!(
            text,
            "12adf2f34456gs5;to-tag=12345;from-tag=54321;early-only;x=y"
        );
        assert_eq!(Replaces::parse(&text).unwrap(), r);
        assert!(
            Replaces::parse(" a@b ; To-Tag = 1 ; FROM-TAG=2 ; EARLY-ONLY")
                .unwrap()
                .early_only
        );
    }

    #[test]
    fn missing_tags_or_bad_call_id_are_refused() {
        for bad in [
            "a@b;to-tag=1",
            "a@b;from-tag=2",
            "a@b;to-tag=;from-tag=2",
            "a b;to-tag=1;from-tag=2",
            ";to-tag=1;from-tag=2",
            "a@b;to-tag=1;from-tag=2;early-only=yes",
        ] {
            assert!(Replaces::parse(bad).is_err(), "{bad}");
        }
    }
}
