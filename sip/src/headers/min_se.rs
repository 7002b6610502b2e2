//! `Min-SE` (RFC 4028 §5): the smallest session interval an element accepts.
//!
//! `Min-SE = "Min-SE" HCOLON delta-seconds *(SEMI generic-param)`. A 422 response
//! carries it (§6); it is never below 90 seconds in a compliant UA (§4).

use super::{delta_seconds, split_first_param, HeaderError, Params, TypedHeader};
use std::fmt;

const NAME: &str = "Min-SE";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinSe {
    pub delta_seconds: u32,
    pub params: Params,
}

impl MinSe {
    pub fn new(delta_seconds: u32) -> Self {
        Self {
            delta_seconds,
            params: Params::new(),
        }
    }
}

impl TypedHeader for MinSe {
    const NAME: &'static str = NAME;

    fn parse(value: &str) -> Result<Self, HeaderError> {
        let (delta, params) = split_first_param(value);
        Ok(Self {
            delta_seconds: delta_seconds(delta, NAME)?,
            params: Params::parse(params, NAME)?,
        })
    }
}

impl fmt::Display for MinSe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.delta_seconds, self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(MinSe::parse("90").unwrap(), MinSe::new(90));
        let m = MinSe::parse(" 3600 ;x").unwrap();
        assert_eq!(m.delta_seconds, 3600);
        assert_eq!(m.to_string(), "3600;x");
        assert_eq!(MinSe::parse(&m.to_string()).unwrap(), m);
        for bad in ["", "-90", "ninety", "90;;"] {
            assert!(MinSe::parse(bad).is_err(), "{bad}");
        }
    }
}
