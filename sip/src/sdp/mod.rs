//! SDP (RFC 4566) and the offer/answer model (RFC 3264, RFC 6337) for the edge's
//! audio streams.
//!
//! - [`SessionDescription::parse`] reads whatever a peer sends without panicking:
//!   unknown lines and attributes are kept, unusable bodies give an [`SdpError`].
//! - [`LocalSession`] makes our offers and answers and keeps the `o=` version rule of
//!   RFC 3264 §8; [`build_offer`] and [`answer`] are the stateless steps underneath.
//! - [`process_answer`] reads the answer to one of our offers
//!   ([`LocalSession::process_answer`] also records whether the peer holds us).
//! - Hold and resume (RFC 3264 §8.4, RFC 6337 §5.3) are session state:
//!   [`LocalSession::hold_offer`], [`LocalSession::resume_offer`]; a new leg's
//!   [`LocalSession`] starts sendrecv whatever other legs do.
//! - [`Codec`] and [`Direction`] are what the edge maps onto the media pipeline.
//!
//! ```
//! use sotto_sip::sdp::{Direction, LocalMedia, LocalSession, SessionDescription};
//!
//! let offer = SessionDescription::parse(
//!     b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
//!       m=audio 4000 RTP/AVP 8 0\r\na=sendonly\r\n",
//! )
//! .unwrap();
//! let mut session = LocalSession::new(42, 42);
//! let local = LocalMedia::new("198.51.100.7".parse().unwrap(), 30000);
//! let answer = session.answer(&offer, &local).unwrap();
//! assert_eq!(answer.negotiated.direction, Direction::RecvOnly);
//! assert!(answer.sdp.to_string().contains("m=audio 30000 RTP/AVP 8"));
//! ```

mod answer;
mod hold;
mod model;
mod offer;
mod parse;
mod print;

#[cfg(test)]
mod tests;

pub use answer::{answer, process_answer, Answer, Negotiated, OfferAnswerError};
pub use model::{
    Attribute, Codec, Connection, ConnectionAddress, Direction, Fmtp, MediaDescription, MediaType,
    Origin, OtherLine, PayloadType, RtpMap, SessionDescription, TELEPHONE_EVENT,
    TELEPHONE_EVENT_FMTP,
};
pub use offer::{build_offer, LocalMedia, LocalSession, SESSION_NAME};
pub use parse::{SdpError, MAX_SDP_LEN};
