//! SIP transactions (RFC 3261 §17, with the Accepted states of RFC 6026).
//!
//! Four state machines, one per file: [`ClientInvite`], [`ClientNonInvite`],
//! [`ServerInvite`] and [`ServerNonInvite`]. Each is a pure function of its
//! inputs: a message from the wire, a message from the transaction user (TU),
//! or `handle_timeout(now)`. Each owns a fixed [`TimerTable`] keyed by the
//! closed [`Timer`] enum and writes what it wants done into a caller-owned
//! queue of [`TxOutput`]. The [`crate::endpoint::Endpoint`] owns the
//! transactions, matches messages to them (§17.1.3, §17.2.3) and turns their
//! outputs into datagrams and events.

mod client_invite;
mod client_non_invite;
mod key;
mod server_invite;
mod server_non_invite;
mod timer;

pub use client_invite::{ClientInvite, ClientInviteState};
pub use client_non_invite::{ClientNonInvite, ClientNonInviteState};
pub use key::{ClientKey, MethodKey, ServerKey, BRANCH_COOKIE};
pub use server_invite::{ServerInvite, ServerInviteState, TRYING_DELAY};
pub use server_non_invite::{ServerNonInvite, ServerNonInviteState};
pub use timer::{Timer, TimerTable, Timers};

use bytes::Bytes;
use std::collections::VecDeque;

/// The transport a message travelled on. Reliable transports switch off the
/// retransmission timers and zero the wait timers (§17.1.1.2, §17.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP: unreliable, so the transactions retransmit.
    Udp,
    /// TCP: reliable, no retransmissions.
    Tcp,
}

impl Transport {
    /// Whether the transport delivers reliably (TCP), which turns retransmissions off.
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp)
    }

    /// The token used in a Via header's sent-protocol.
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

/// What a transaction asks its owner to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxOutput {
    /// Put these bytes on the wire toward the transaction's peer.
    Send(Bytes),
    /// Client transactions: a response for the TU.
    Response(rsip::Response),
    /// Client: Timer B or F fired without a final response (the TU treats it
    /// as a 408). Server INVITE: Timer H fired (no ACK for a non-2xx) or
    /// Timer L fired with the 2xx never acknowledged.
    Timeout,
    /// The transaction is over; its owner may forget it.
    Terminated,
}

/// The queue transactions write into; owned by the caller so nothing allocates
/// per call once it has grown.
pub type Outputs = VecDeque<TxOutput>;

/// Serialises a message once; retransmissions reuse the same bytes.
pub fn encode(msg: impl Encode) -> Bytes {
    let mut out = Vec::with_capacity(512);
    msg.encode_into(&mut out);
    Bytes::from(out)
}

/// What can be put on the wire.
pub trait Encode {
    /// Appends the message's wire form to `out`.
    fn encode_into(&self, out: &mut Vec<u8>);
}

impl Encode for &rsip::Request {
    fn encode_into(&self, out: &mut Vec<u8>) {
        crate::message::serialize_request_into(self, out)
    }
}

impl Encode for &rsip::Response {
    fn encode_into(&self, out: &mut Vec<u8>) {
        crate::message::serialize_response_into(self, out)
    }
}

impl Encode for &rsip::SipMessage {
    fn encode_into(&self, out: &mut Vec<u8>) {
        crate::message::serialize_into(self, out)
    }
}

#[cfg(test)]
pub(crate) mod test_support;
