//! `Event` (RFC 6665 §8.2.1): the event package of a SUBSCRIBE/NOTIFY, and the `id`
//! that tells apart several subscriptions in one dialog (REFER uses the CSeq, RFC 3515
//! §2.4.6).
//!
//! `Event = ( "Event" / "o" ) HCOLON event-type *( SEMI event-param )`,
//! `event-type = event-package *( "." event-template )`,
//! `event-param = generic-param / ( "id" EQUAL token )`.
//! rsip parses it as its own `Header::Event` variant; [`TypedHeader::value_of`] reads
//! both that and `Header::Other`.

use super::{other_value, split_first_param, HeaderError, Params, TypedHeader};
use crate::message::syntax::is_token;
use rsip::headers::UntypedHeader;
use rsip::Header;
use std::fmt;

const NAME: &str = "Event";

/// An `Event` header value (RFC 6665 §8.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event-type: package and templates, e.g. `presence.winfo`, `refer`.
    pub package: String,
    /// The `id` parameter, which tells apart subscriptions to one package in one dialog.
    pub id: Option<String>,
    /// Other parameters, kept in order.
    pub params: Params,
}

impl Event {
    /// An `Event` for `package` without `id` or other parameters.
    pub fn new(package: impl Into<String>) -> Self {
        Self {
            package: package.into(),
            id: None,
            params: Params::new(),
        }
    }

    /// The same with the `id` parameter set (for REFER, the REFER's CSeq, RFC 3515
    /// §2.4.6).
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
}

impl TypedHeader for Event {
    const NAME: &'static str = NAME;
    const COMPACT: Option<&'static str> = Some("o");

    fn parse(value: &str) -> Result<Self, HeaderError> {
        let (package, params) = split_first_param(value);
        if !is_token(package) || package.split('.').any(str::is_empty) {
            return Err(HeaderError::invalid(NAME, "bad event-type"));
        }
        let mut params = Params::parse(params, NAME)?;
        let id = match params.take("id") {
            None => None,
            Some(Some(id)) if is_token(&id) => Some(id),
            Some(_) => return Err(HeaderError::invalid(NAME, "id must be a token")),
        };
        Ok(Self {
            package: package.to_owned(),
            id,
            params,
        })
    }

    fn value_of(header: &Header) -> Option<&str> {
        match header {
            Header::Event(e) => Some(e.value()),
            other => other_value::<Self>(other),
        }
    }

    fn to_header(&self) -> Header {
        Header::Event(rsip::headers::Event::new(self.to_string()))
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.package)?;
        if let Some(id) = &self.id {
            write!(f, ";id={id}")?;
        }
        write!(f, "{}", self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let e = Event::parse("refer;id=93809824").unwrap();
        assert_eq!(e, Event::new("refer").with_id("93809824"));
        assert_eq!(e.to_string(), "refer;id=93809824");
        let e = Event::parse(" presence.winfo ; ID = 7 ; vendor=x").unwrap();
        assert_eq!(
            (e.package.as_str(), e.id.as_deref()),
            ("presence.winfo", Some("7"))
        );
        assert_eq!(e.to_string(), "presence.winfo;id=7;vendor=x");
        assert_eq!(Event::parse(&e.to_string()).unwrap(), e);
        assert_eq!(Event::parse("dialog").unwrap().to_string(), "dialog");
    }

    #[test]
    fn malformed_values_are_refused() {
        for bad in [
            "",
            "a b",
            "presence.",
            ".x",
            "refer;id=",
            "refer;id=\"q\"",
            "refer;;",
        ] {
            assert!(Event::parse(bad).is_err(), "{bad}");
        }
    }
}
