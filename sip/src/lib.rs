//! sotto-sip: sans-IO SIP (RFC 3261) for the sotto edge.
//!
//! No sockets, no clock reads, no async runtime: every entry point takes `now`
//! and the caller drains outputs. See [`endpoint`] for the drive contract.

#![forbid(unsafe_code)]

pub mod auth;
pub mod dialog;
pub mod endpoint;
pub mod headers;
pub mod message;
pub mod refer;
pub mod sdp;
pub mod transaction;
