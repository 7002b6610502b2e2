//! Whole call flows between phones on the in-memory network, and with an endpoint the
//! test owns (a registrar stand-in).

mod calls;
mod network;
mod register;
mod transfer;

use std::net::SocketAddr;

use crate::{AnswerMode, Net, PhoneConfig};

/// `127.0.0.<n>:5060`.
pub(crate) fn addr(n: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, n], 5060))
}

/// `sip:<user>@127.0.0.<n>:5060`.
pub(crate) fn uri(user: &str, n: u8) -> String {
    format!("sip:{user}@{}", addr(n))
}

/// A network with alice (127.0.0.1) and bob (127.0.0.2), bob answering as `mode`.
pub(crate) fn alice_and_bob(mode: AnswerMode) -> (Net, SocketAddr, SocketAddr) {
    let mut net = Net::new();
    let alice = net.add_phone(PhoneConfig::new("alice", addr(1)));
    let bob = net.add_phone(PhoneConfig::new("bob", addr(2)).answer(mode));
    (net, alice, bob)
}
