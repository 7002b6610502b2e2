//! `RSeq` (RFC 3262 §7.1): sequence number of a reliable provisional response.
//!
//! `RSeq = "RSeq" HCOLON response-num`, `response-num = 1*DIGIT`, 1 to 2^32−1 (§3:
//! the first value is below 2^31 and each next one adds 1).

use super::{delta_seconds, HeaderError, TypedHeader};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RSeq(pub u32);

impl TypedHeader for RSeq {
    const NAME: &'static str = "RSeq";

    fn parse(value: &str) -> Result<Self, HeaderError> {
        match delta_seconds(value, Self::NAME)? {
            0 => Err(HeaderError::invalid(
                Self::NAME,
                "response-num is at least 1",
            )),
            n => Ok(Self(n)),
        }
    }
}

impl fmt::Display for RSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_limits() {
        assert_eq!(RSeq::parse(" 988789 ").unwrap(), RSeq(988789));
        assert_eq!(RSeq(988789).to_string(), "988789");
        assert_eq!(
            RSeq::parse(&RSeq(u32::MAX).to_string()).unwrap(),
            RSeq(u32::MAX)
        );
        for bad in ["0", "4294967296", "-1", "1 2", ""] {
            assert!(RSeq::parse(bad).is_err(), "{bad}");
        }
    }
}
