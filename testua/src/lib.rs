//! sotto-testua: a sans-IO SIP test phone on sotto-sip, and an in-memory network with a
//! simulated clock, for running whole SIP call flows inside a unit test.
//!
//! - [`Net`] carries datagrams (as bytes, so every message is printed and parsed again)
//!   between [`Phone`]s it owns and any other [`Node`] the test owns, such as the
//!   system under test: an [`Endpoint`](sotto_sip::endpoint::Endpoint) plus the
//!   transaction user that drives it. Time only moves when the test says so
//!   ([`Net::advance`]); everything else happens at once ([`Net::settle`]).
//! - [`Phone`] is a user agent: it registers, calls, answers (by itself, as its
//!   [`AnswerMode`] says, or when told), rejects, hangs up, holds and resumes by
//!   re-INVITE, transfers by REFER (blind or with Replaces), follows REFERs it gets,
//!   takes INVITEs with Replaces, and records what it saw on each [`Call`].
//! - [`Sut`] makes a [`Node`] of an endpoint and the transaction user driving it, from
//!   plain functions, for the system under test.
//!
//! ```
//! use sotto_testua::{AnswerMode, CallState, Net, PhoneConfig};
//!
//! let mut net = Net::new();
//! let alice = net.add_phone(PhoneConfig::new("alice", "127.0.0.1:5061".parse().unwrap()));
//! let bob = net.add_phone(
//!     PhoneConfig::new("bob", "127.0.0.2:5062".parse().unwrap()).answer(AnswerMode::Answer),
//! );
//! let call = net[alice].call("sip:bob@127.0.0.2:5062", true);
//! net.settle();
//! assert_eq!(net[alice].get(call).state(), CallState::Confirmed);
//! assert_eq!(net[alice].get(call).invite_codes(), [180, 200]);
//! net[alice].hangup(call).unwrap();
//! net.settle();
//! let theirs = net[bob].last_call().unwrap();
//! assert_eq!(net[bob].get(theirs).state(), CallState::Terminated { by_peer: true });
//! ```
//!
//! Media (RTP, DTMF) is out of scope: the SDP is negotiated, nothing is sent. A driver
//! that puts a phone on a real network binds the RTP ports itself and queues them
//! ([`Phone::add_rtp_port`]) before the phone writes them in an SDP, as the integration
//! tests' UA does.

#![warn(missing_docs)]

mod net;
mod phone;
mod sut;

#[cfg(test)]
mod tests;

pub use net::{Datagram, Net, Node, TraceEntry};
pub use phone::{
    AnswerMode, Call, CallHandle, CallState, Phone, PhoneConfig, PhoneError, ReferMode,
    Registration, RegistrationState, Reoffer,
};
pub use sut::{OnEvent, OnTimeout, PollTimeout, Sut};
