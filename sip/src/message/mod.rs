//! The SIP message layer: bytes ⇄ `rsip::SipMessage`.
//!
//! - [`parse_datagram`] reads one UDP datagram (RFC 3261 §18.3) into a validated
//!   message: compact names expanded, folded lines joined, the body framed by
//!   Content-Length, and the faults RFC 3261 forbids but rsip 0.4 lets through refused
//!   (other SIP versions, bare LF, status codes outside 100–699, overlarge CSeq,
//!   missing mandatory headers, a CSeq method that is not the request's...).
//! - A [`ParseError`] says whether to answer (400/501/505) or drop;
//!   [`bad_request_response`] builds that answer from the raw bytes.
//! - [`StreamFramer`] cuts a TCP byte stream into messages.
//! - [`serialize_into`] writes a message into a caller-owned buffer.
//! - [`call_id`], [`cseq`], [`from_tag`], [`to_tag`], [`top_via`], [`top_via_branch`]
//!   read the matching keys without allocating.
//!
//! What a parsed message guarantees: exactly one From, To, Call-ID, CSeq (number ≤
//! 2^32−1, method equal to the request method), at most one Max-Forwards (≤ 2^32−1) and
//! Content-Length; at least one Via, each rsip `Via` header holding one value; each
//! `Contact` header one value (or a lone `*`); LWS in Via, From, To, Contact, Route,
//! Record-Route and CSeq rewritten to the plain form rsip's typed parsers read.
//! The Request-URI user part stays percent-escaped (see [`percent_decode`]); a
//! non-SIP Request-URI is kept as `Scheme::Other` (the UA answers 416).

mod error;
mod fields;
mod framer;
mod head;
mod parse;
mod raw;
mod reject;
mod serialize;
pub(crate) mod syntax;
mod uri;
mod validate;

pub use error::{ParseError, ParseErrorKind};
pub use fields::{call_id, cseq, from_tag, to_tag, top_via, top_via_branch, TopVia};
pub use framer::{StreamFramer, DEFAULT_MAX_MESSAGE_SIZE};
pub use parse::parse_datagram;
pub use reject::bad_request_response;
pub use serialize::{
    reason_phrase, serialize_into, serialize_request_into, serialize_response_into,
};
pub use syntax::percent_decode;
pub use uri::write_uri;

pub(crate) use validate::check_name_addr;

/// Parses a URI (SIP, SIPS, or any other scheme kept opaque) into an `rsip::Uri`,
/// with the representation described in this module's docs. `?headers` are refused:
/// strip them first (see `headers::NameAddr::uri_without_headers`).
pub fn parse_uri(s: &str) -> Option<rsip::Uri> {
    uri::parse_request_uri(s).ok()
}

/// LWS in a structured header value rewritten to its plain form.
pub(crate) fn normalise(value: &str) -> std::borrow::Cow<'_, str> {
    head::normalise_lws(value, false)
}

#[cfg(test)]
mod tests;
