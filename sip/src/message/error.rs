//! Parse errors, and what the receiver should do about them.
//!
//! Every kind here is a peer's protocol violation (there is no local failure in
//! parsing). The error also carries the decision RFC 3261 leaves to the receiver: a
//! request whose Via, From, To, Call-ID and CSeq could be read is answered (400, or 505
//! for an unknown SIP version, or 501 for an unknown method); a response, an ACK
//! (never answered, RFC 3261 §17) or unreadable bytes are dropped silently.

/// What was wrong with the bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// Only CR/LF bytes (a keep-alive, RFC 5626 §4.4.1) or nothing at all.
    #[error("keep-alive or empty datagram")]
    KeepAlive,
    /// The start line is not `Method SP Request-URI SP SIP-Version CRLF` or
    /// `SIP-Version SP Status-Code SP Reason-Phrase CRLF` (RFC 3261 §7.1, §7.2).
    #[error("malformed start line")]
    StartLine,
    /// A `SIP/M.N` version other than 2.0 (→ 505, RFC 3261 §21.5.6).
    #[error("SIP version {0} not supported")]
    VersionNotSupported(String),
    /// A status code outside 100–699 (RFC 3261 §7.2, §21).
    #[error("status code outside 100-699")]
    StatusCode,
    /// A well-formed method token that is not one we implement (→ 501, RFC 3261
    /// §21.5.2; the caller adds `Allow`).
    /// Method names are case-sensitive: `invite` is such an unknown method.
    #[error("unknown method {0}")]
    UnknownMethod(String),
    /// The Request-URI is not a valid URI (RFC 3261 §25.1).
    #[error("malformed Request-URI")]
    RequestUri,
    /// A bare LF or bare CR where CRLF is required (RFC 3261 §7: CRLF terminates lines).
    #[error("bare LF or CR instead of CRLF")]
    BareLineEnding,
    /// No empty line ends the header block.
    #[error("header block not terminated by an empty line")]
    UnterminatedHeaders,
    /// A header line is not `name HCOLON value` (RFC 3261 §7.3).
    #[error("malformed header line")]
    HeaderLine,
    /// A header value is not UTF-8 (RFC 3261 §7.3.1: TEXT-UTF8).
    #[error("header value is not UTF-8")]
    NotUtf8,
    /// A mandatory header is missing (RFC 3261 §8.1.1: Via, From, To, Call-ID, CSeq).
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A header that takes a single value appears more than once (RFC 3261 §7.3.1).
    #[error("more than one {0} header")]
    DuplicateHeader(&'static str),
    /// A header value breaks its grammar (empty parameters, unterminated quotes, an
    /// overlarge number, ...).
    #[error("invalid {0} header")]
    InvalidHeader(&'static str),
    /// The CSeq method differs from the request method (RFC 3261 §8.1.1.5).
    #[error("CSeq method does not match the request method")]
    CSeqMethodMismatch,
    /// Content-Length is negative, not a number, or given twice (RFC 3261 §20.14,
    /// RFC 4475 §3.1.2.3, §3.3.9).
    #[error("invalid Content-Length")]
    ContentLength,
    /// Content-Length announces more octets than the datagram holds (RFC 3261 §18.3).
    #[error("Content-Length {declared} exceeds the {available} octets present")]
    Truncated {
        /// The Content-Length value, in octets.
        declared: u64,
        /// The octets of body the datagram holds.
        available: usize,
    },
    /// A stream message larger than the framer's limit.
    #[error("message larger than {0} octets")]
    TooLarge(usize),
}

impl ParseErrorKind {
    /// The status of the response a UAS sends for this fault, if it is a request.
    fn status(&self) -> u16 {
        match self {
            Self::VersionNotSupported(_) => 505,
            Self::UnknownMethod(_) => 501,
            _ => 400,
        }
    }
}

/// A message that could not be accepted, with the response it deserves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct ParseError {
    kind: ParseErrorKind,
    respond_with: Option<u16>,
}

impl ParseError {
    /// `answerable` says whether the bytes are a non-ACK request with the headers a
    /// response must copy (see [`bad_request_response`](super::bad_request_response)).
    pub(crate) fn new(kind: ParseErrorKind, answerable: bool) -> Self {
        let respond_with = answerable.then(|| kind.status());
        Self { kind, respond_with }
    }

    /// What is wrong with the message.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }

    /// The status to answer with (400, 501 or 505), or `None` when the message must be
    /// dropped silently: it is a response, an ACK, a keep-alive, or a request without
    /// the Via, From, To, Call-ID and CSeq a response has to copy.
    pub fn response_status(&self) -> Option<u16> {
        self.respond_with
    }

    /// Whether [`bad_request_response`](super::bad_request_response) can build an answer.
    pub fn can_respond(&self) -> bool {
        self.respond_with.is_some()
    }
}
