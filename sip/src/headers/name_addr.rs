//! `( name-addr / addr-spec ) *( SEMI generic-param )` with the URI kept as text
//! (RFC 3261 §20.10, §25.1).
//!
//! Used by Refer-To and Referred-By, and usable for From/To/Contact when the URI must
//! survive untouched: `rsip::Uri` drops URI headers (`?Replaces=...`, RFC 4475 regescrt),
//! and rsip's typed From/To cannot tell header params from URI params in addr-spec form
//! (RFC 4475 cparam01).

use super::{HeaderError, Params};
use crate::message::syntax::{
    self, percent_decode, quote_into, split_addr_params, trim_wsp, unquote,
};
use std::fmt;

/// An address with optional display name and header parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name, unquoted.
    pub display_name: Option<String>,
    /// The URI exactly as written (escapes, URI parameters and `?headers` included).
    pub uri: String,
    /// Header parameters (after `>`; in addr-spec form, everything after the first `;`).
    pub params: Params,
}

impl NameAddr {
    /// An addr-spec `uri` with no display name or parameters.
    pub fn new(uri: impl Into<String>) -> Self {
        Self {
            display_name: None,
            uri: uri.into(),
            params: Params::new(),
        }
    }

    /// Parses one value; `header` names the header in errors.
    pub fn parse(value: &str, header: &'static str) -> Result<Self, HeaderError> {
        let value = trim_wsp(value);
        if crate::message::check_name_addr(&crate::message::normalise(value)).is_err() {
            return Err(HeaderError::invalid(header, "not a name-addr or addr-spec"));
        }
        let (addr, params) =
            split_addr_params(value).ok_or(HeaderError::invalid(header, "unterminated"))?;
        let addr = trim_wsp(addr);
        let (display_name, uri) = match addr.find('<').filter(|_| addr.ends_with('>')) {
            Some(lt) => {
                let d = trim_wsp(&addr[..lt]);
                let d = (!d.is_empty()).then(|| unquote(d).into_owned());
                (d, &addr[lt + 1..addr.len() - 1])
            }
            None => (None, addr),
        };
        Ok(Self {
            display_name,
            uri: uri.to_owned(),
            params: Params::parse(params, header)?,
        })
    }

    /// The URI without its `?headers` part.
    pub fn uri_without_headers(&self) -> &str {
        split_uri_headers(&self.uri).0
    }

    /// The URI's embedded headers (`?name=value&...`, RFC 3261 §19.1.1), name and
    /// value still escaped.
    pub fn uri_headers(&self) -> impl Iterator<Item = (&str, &str)> {
        split_uri_headers(&self.uri)
            .1
            .unwrap_or("")
            .split('&')
            .filter(|h| !h.is_empty())
            .map(|h| h.split_once('=').unwrap_or((h, "")))
    }

    /// The embedded header `name` (case-insensitive), unescaped.
    pub fn uri_header(&self, name: &str) -> Option<String> {
        self.uri_headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(&percent_decode(v)).into_owned())
    }

    /// The URI as an `rsip::Uri` (without its `?headers`, which rsip cannot hold), when
    /// it is a valid SIP/SIPS or other URI.
    pub fn rsip_uri(&self) -> Option<rsip::Uri> {
        crate::message::parse_uri(self.uri_without_headers())
    }
}

/// Splits `uri` at the `?` that starts its headers. A `?` in a SIP URI's user part
/// (allowed there, RFC 3261 §25.1 user-unreserved) comes before the `@`.
pub(crate) fn split_uri_headers(uri: &str) -> (&str, Option<&str>) {
    let from = uri.rfind('@').map_or(0, |at| at + 1);
    match uri[from..].find('?') {
        Some(q) => (&uri[..from + q], Some(&uri[from + q + 1..])),
        None => (uri, None),
    }
}

impl fmt::Display for NameAddr {
    /// Always the name-addr form: `<...>` is required whenever the URI has parameters
    /// or headers (RFC 3261 §20.10) and always allowed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display_name {
            let mut q = String::with_capacity(d.len() + 2);
            quote_into(&mut q, d);
            write!(f, "{q} ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// Escapes a header value for a URI's `?name=value` part (RFC 3261 §25.1 hvalue:
/// unreserved and `[ ] / ? : + $` stay, everything else becomes `%HH`).
pub(crate) fn escape_hvalue(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 16);
    syntax::percent_encode_into(&mut out, value.as_bytes(), |c| {
        syntax::is_unreserved(c) || matches!(c, b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$')
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_addr_and_addr_spec_forms() {
        let n = NameAddr::parse(
            r#""Bob \"B\"" <sip:bob@example.com;transport=tcp?Subject=hi%20there>;tag=x"#,
            "T",
        )
        .unwrap();
        assert_eq!(n.display_name.as_deref(), Some(r#"Bob "B""#));
        assert_eq!(
            n.uri,
            "sip:bob@example.com;transport=tcp?Subject=hi%20there"
        );
        assert_eq!(n.uri_without_headers(), "sip:bob@example.com;transport=tcp");
        assert_eq!(n.uri_header("subject").as_deref(), Some("hi there"));
        assert_eq!(n.params.get("tag"), Some(Some("x")));
        assert_eq!(
            n.to_string(),
            r#""Bob \"B\"" <sip:bob@example.com;transport=tcp?Subject=hi%20there>;tag=x"#
        );
        let uri = n.rsip_uri().unwrap();
        assert_eq!(uri.user(), Some("bob"));

        // addr-spec: ;unknownparam is a header parameter (RFC 4475 cparam01).
        let n =
            NameAddr::parse("sip:+19725552222@gw1.example.net;unknownparam", "Contact").unwrap();
        assert_eq!(n.uri, "sip:+19725552222@gw1.example.net");
        assert_eq!(n.params.get("unknownparam"), Some(None));
        // In brackets it belongs to the URI (cparam02).
        let n =
            NameAddr::parse("<sip:+19725552222@gw1.example.net;unknownparam>", "Contact").unwrap();
        assert_eq!(n.uri, "sip:+19725552222@gw1.example.net;unknownparam");
        assert!(n.params.is_empty());
    }

    #[test]
    fn question_mark_in_the_user_part_is_not_a_header() {
        assert_eq!(
            split_uri_headers("sip:a?b@h?X=1"),
            ("sip:a?b@h", Some("X=1"))
        );
        assert_eq!(split_uri_headers("sip:a?b@h"), ("sip:a?b@h", None));
    }

    #[test]
    fn malformed_values_are_refused() {
        for bad in [
            "",
            "<sip:a@b",
            "\"open <sip:a@b>",
            "sip:a@b;;",
            "< sip:a@b >",
        ] {
            assert!(NameAddr::parse(bad, "T").is_err(), "{bad}");
        }
    }
}
