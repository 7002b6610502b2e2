//! `Session-Expires` (RFC 4028 §4): the session refresh interval and who refreshes.
//!
//! `Session-Expires = ("Session-Expires" / "x") HCOLON delta-seconds *(SEMI se-params)`,
//! `se-params = refresher-param / generic-param`,
//! `refresher-param = "refresher" EQUAL ("uas" / "uac")`.

use super::{delta_seconds, split_first_param, HeaderError, Params, TypedHeader};
use std::fmt;

const NAME: &str = "Session-Expires";

/// Which side sends the session refresh (RFC 4028 §7, §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    Uac,
    Uas,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionExpires {
    pub delta_seconds: u32,
    pub refresher: Option<Refresher>,
    /// Other parameters, kept in order.
    pub params: Params,
}

impl SessionExpires {
    pub fn new(delta_seconds: u32, refresher: Option<Refresher>) -> Self {
        Self {
            delta_seconds,
            refresher,
            params: Params::new(),
        }
    }
}

impl TypedHeader for SessionExpires {
    const NAME: &'static str = NAME;
    const COMPACT: Option<&'static str> = Some("x");

    fn parse(value: &str) -> Result<Self, HeaderError> {
        let (delta, params) = split_first_param(value);
        let delta_seconds = delta_seconds(delta, NAME)?;
        let mut params = Params::parse(params, NAME)?;
        let refresher = match params.take("refresher") {
            None => None,
            Some(Some(r)) if r.eq_ignore_ascii_case("uac") => Some(Refresher::Uac),
            Some(Some(r)) if r.eq_ignore_ascii_case("uas") => Some(Refresher::Uas),
            Some(_) => return Err(HeaderError::invalid(NAME, "refresher must be uac or uas")),
        };
        Ok(Self {
            delta_seconds,
            refresher,
            params,
        })
    }
}

impl fmt::Display for SessionExpires {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.delta_seconds)?;
        match self.refresher {
            Some(Refresher::Uac) => f.write_str(";refresher=uac")?,
            Some(Refresher::Uas) => f.write_str(";refresher=uas")?,
            None => {}
        }
        write!(f, "{}", self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let se = SessionExpires::parse("4000;refresher=uac").unwrap();
        assert_eq!(se, SessionExpires::new(4000, Some(Refresher::Uac)));
        assert_eq!(se.to_string(), "4000;refresher=uac");
        let se = SessionExpires::parse(" 1800 ; REFRESHER = UAS ; x=1").unwrap();
        assert_eq!(se.refresher, Some(Refresher::Uas));
        assert_eq!(se.to_string(), "1800;refresher=uas;x=1");
        assert_eq!(SessionExpires::parse(&se.to_string()).unwrap(), se);
        assert_eq!(
            SessionExpires::parse("90").unwrap(),
            SessionExpires::new(90, None)
        );
    }

    #[test]
    fn malformed_values_are_refused() {
        for bad in [
            "",
            "abc",
            "1800;refresher=proxy",
            "1800;refresher",
            "4294967296",
            "1800;;",
        ] {
            assert!(SessionExpires::parse(bad).is_err(), "{bad}");
        }
    }
}
