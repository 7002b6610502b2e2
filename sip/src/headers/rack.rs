//! `RAck` (RFC 3262 §7.2): which reliable provisional response a PRACK acknowledges.
//!
//! `RAck = "RAck" HCOLON response-num LWS CSeq-num LWS Method`. It matches the response
//! whose RSeq is `rseq` and whose CSeq is `cseq method` (§3).

use super::{HeaderError, TypedHeader};
use crate::message::{method_from_token, syntax::trim_wsp};
use rsip::Method;
use std::fmt;

const NAME: &str = "RAck";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RAck {
    pub rseq: u32,
    pub cseq: u32,
    pub method: Method,
}

impl TypedHeader for RAck {
    const NAME: &'static str = NAME;

    fn parse(value: &str) -> Result<Self, HeaderError> {
        let mut parts = trim_wsp(value).split([' ', '\t']).filter(|p| !p.is_empty());
        let (Some(rseq), Some(cseq), Some(method), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(HeaderError::invalid(
                NAME,
                "expected response-num CSeq-num Method",
            ));
        };
        let num = |s: &str| super::delta_seconds(s, NAME);
        Ok(Self {
            rseq: num(rseq)?,
            cseq: num(cseq)?,
            method: method_from_token(method)
                .ok_or(HeaderError::invalid(NAME, "unknown method"))?,
        })
    }
}

impl fmt::Display for RAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.rseq, self.cseq, self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        // RFC 3262 §7.2 example.
        let r = RAck::parse("776656 1 INVITE").unwrap();
        assert_eq!(
            r,
            RAck {
                rseq: 776656,
                cseq: 1,
                method: Method::Invite
            }
        );
        assert_eq!(r.to_string(), "776656 1 INVITE");
        assert_eq!(RAck::parse(&r.to_string()).unwrap(), r);
        assert_eq!(
            RAck::parse("  1\t  2   UPDATE ").unwrap().method,
            Method::Update
        );
    }

    #[test]
    fn malformed_values_are_refused() {
        for bad in [
            "776656 1",
            "1 2 invite",
            "1 2 INVITE extra",
            "x 1 INVITE",
            "4294967296 1 INVITE",
            "",
        ] {
            assert!(RAck::parse(bad).is_err(), "{bad}");
        }
    }
}
