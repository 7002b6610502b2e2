//! `message/sipfrag` bodies (RFC 3420) as REFER progress reports use them: the NOTIFY
//! body is the status line of the response the referenced request got (RFC 3515 §2.4.5).
//!
//! `sipfrag = [ start-line ] *message-header [ CRLF [ message-body ] ]`; for REFER only
//! a `Status-Line` start is meaningful, so that is what [`Sipfrag::parse`] accepts.

use std::fmt;

/// The Content-Type of a REFER progress NOTIFY (RFC 3515 §2.4.5, RFC 3420 §2).
pub const SIPFRAG_CONTENT_TYPE: &str = "message/sipfrag;version=2.0";

/// A sipfrag body that does not start with a usable Status-Line: a peer violation,
/// answered 400 when it arrives in a NOTIFY.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SipfragError {
    /// The body is empty or its first line is blank.
    #[error("sipfrag body is empty")]
    Empty,
    /// The first line is not `SIP/2.0 <3 digits> [reason]`.
    #[error("sipfrag does not start with a SIP/2.0 status line")]
    NotAStatusLine,
    /// The status code is outside 100–699.
    #[error("sipfrag status code is not 100-699")]
    BadStatusCode,
}

/// The status-line fragment of a REFER progress report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sipfrag {
    /// The status code the referenced request got, 100–699.
    pub status: u16,
    /// The reason phrase, as written (may be empty).
    pub reason: String,
}

impl Sipfrag {
    /// The media type, `message/sipfrag;version=2.0`.
    pub const CONTENT_TYPE: &'static str = SIPFRAG_CONTENT_TYPE;

    /// The body `SIP/2.0 <code> <reason>\r\n` (RFC 3420 §2: a Status-Line ends in CRLF).
    pub fn status(code: u16, reason: &str) -> Vec<u8> {
        format!("SIP/2.0 {code} {reason}\r\n").into_bytes()
    }

    /// The status code and reason phrase of a sipfrag body. Headers after the
    /// Status-Line are allowed and ignored; a bare LF line end is tolerated.
    pub fn parse(body: &[u8]) -> Result<(u16, String), SipfragError> {
        let text = String::from_utf8_lossy(body);
        let line = text
            .split('\n')
            .next()
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .filter(|l| !l.trim().is_empty())
            .ok_or(SipfragError::Empty)?;
        let rest = line
            .strip_prefix("SIP/2.0 ")
            .ok_or(SipfragError::NotAStatusLine)?;
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        if code.len() != 3 || !code.bytes().all(|c| c.is_ascii_digit()) {
            return Err(SipfragError::NotAStatusLine);
        }
        let status: u16 = code.parse().map_err(|_| SipfragError::NotAStatusLine)?;
        if !(100..700).contains(&status) {
            return Err(SipfragError::BadStatusCode);
        }
        Ok((status, reason.to_owned()))
    }

    /// Parsed form of [`Sipfrag::parse`].
    pub fn from_body(body: &[u8]) -> Result<Self, SipfragError> {
        Self::parse(body).map(|(status, reason)| Self { status, reason })
    }

    /// This fragment as a body: `SIP/2.0 <status> <reason>` and CRLF.
    pub fn to_body(&self) -> Vec<u8> {
        Self::status(self.status, &self.reason)
    }
}

impl fmt::Display for Sipfrag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0 {} {}", self.status, self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_round_trip() {
        assert_eq!(Sipfrag::status(200, "OK"), b"SIP/2.0 200 OK\r\n");
        for (code, reason) in [(100, "Trying"), (180, "Ringing"), (486, "Busy Here")] {
            let body = Sipfrag::status(code, reason);
            assert_eq!(Sipfrag::parse(&body).unwrap(), (code, reason.to_owned()));
        }
        // RFC 3420 §4 style fragment with headers after the status line, LF ends.
        let body = b"SIP/2.0 603 Declined\nContent-Length: 0\n\n";
        assert_eq!(Sipfrag::parse(body).unwrap(), (603, "Declined".into()));
        assert_eq!(
            Sipfrag::from_body(b"SIP/2.0 503 \r\n").unwrap(),
            Sipfrag {
                status: 503,
                reason: String::new()
            }
        );
        assert_eq!(Sipfrag::CONTENT_TYPE, "message/sipfrag;version=2.0");
    }

    #[test]
    fn bodies_that_are_not_status_lines_are_refused() {
        assert_eq!(Sipfrag::parse(b""), Err(SipfragError::Empty));
        assert_eq!(Sipfrag::parse(b"\r\n"), Err(SipfragError::Empty));
        for bad in [
            &b"INVITE sip:a@b SIP/2.0\r\n"[..],
            b"SIP/1.0 200 OK\r\n",
            b"SIP/2.0 20 OK\r\n",
            b"SIP/2.0 2000 OK\r\n",
            b"SIP/2.0 abc OK\r\n",
        ] {
            assert_eq!(
                Sipfrag::parse(bad),
                Err(SipfragError::NotAStatusLine),
                "{bad:?}"
            );
        }
        assert_eq!(
            Sipfrag::parse(b"SIP/2.0 099 Odd\r\n"),
            Err(SipfragError::BadStatusCode)
        );
        assert_eq!(
            Sipfrag::parse(b"SIP/2.0 700 Odd\r\n"),
            Err(SipfragError::BadStatusCode)
        );
    }
}
