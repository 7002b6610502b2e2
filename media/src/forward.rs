//! Packet-driven forwarding for the edge's first routes: [`Echo`] (a leg hears itself)
//! and [`Relay`] (a B2BUA bridge between two legs, transcoding PCMU↔PCMA when the legs
//! negotiated different codecs).
//!
//! Both decode every packet and encode it again, even when the codecs match: the frame
//! between the two steps is where the denoiser will sit, and G.711 re-encodes its own
//! output exactly (µ-law's negative zero becomes positive zero, nothing else changes).
//! Outgoing streams are ours: each leg's sender keeps its SSRC, sequence and timestamp
//! whatever the source, following the source's timing through [`MediaLeg::follow`].

use std::time::Instant;

use bytes::Bytes;

use crate::error::Error;
use crate::leg::{LegInput, MediaLeg};

/// Plays a leg's audio back to it, re-packetised under our SSRC.
#[derive(Debug, Clone)]
pub struct Echo {
    leg: MediaLeg,
}

impl Echo {
    /// Echoes on `leg`.
    pub fn new(leg: MediaLeg) -> Echo {
        Echo { leg }
    }

    /// Takes a datagram from the peer; `Ok(Some(n))` means `out[..n]` goes back to it.
    pub fn on_rtp(&mut self, now: Instant, datagram: Bytes, out: &mut [u8]) -> Result<Option<usize>, Error> {
        let LegInput::Frame(info) = self.leg.on_rtp(now, datagram)? else {
            return Ok(None);
        };
        self.leg.follow(&info);
        let frame = *self.leg.frame();
        Ok(Some(self.leg.produce_rtp(&frame, out)?))
    }

    /// The leg.
    pub fn leg(&self) -> &MediaLeg {
        &self.leg
    }

    /// Gives the leg back, e.g. to bridge it once an agent answers.
    pub fn into_leg(self) -> MediaLeg {
        self.leg
    }
}

/// One of the two legs of a [`Relay`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The first leg (by convention the caller).
    A,
    /// The second leg.
    B,
}

impl Side {
    /// The other leg.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

/// Bridges two legs: what one peer says, the other hears.
#[derive(Debug, Clone)]
pub struct Relay {
    a: MediaLeg,
    b: MediaLeg,
}

impl Relay {
    /// Bridges `a` and `b`.
    pub fn new(a: MediaLeg, b: MediaLeg) -> Relay {
        Relay { a, b }
    }

    /// A leg.
    pub fn leg(&self, side: Side) -> &MediaLeg {
        match side {
            Side::A => &self.a,
            Side::B => &self.b,
        }
    }

    /// Takes a datagram from the peer of leg `from`; `Ok(Some(n))` means `out[..n]` goes
    /// to the peer of the other leg, in that leg's codec.
    pub fn on_rtp(
        &mut self,
        now: Instant,
        from: Side,
        datagram: Bytes,
        out: &mut [u8],
    ) -> Result<Option<usize>, Error> {
        let (source, sink) = match from {
            Side::A => (&mut self.a, &mut self.b),
            Side::B => (&mut self.b, &mut self.a),
        };
        let LegInput::Frame(info) = source.on_rtp(now, datagram)? else {
            return Ok(None);
        };
        sink.follow(&info);
        Ok(Some(sink.produce_rtp(source.frame(), out)?))
    }

    /// Puts `leg` in place of `side`'s leg (a transfer) and returns the old one. The
    /// other peer's stream goes on unbroken: same SSRC, next sequence number, next
    /// timestamp, and a marker for the new talker.
    pub fn replace(&mut self, side: Side, leg: MediaLeg) -> MediaLeg {
        let slot = match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        };
        let old = std::mem::replace(slot, leg);
        match side.other() {
            Side::A => self.a.sender_mut().mark_next(),
            Side::B => self.b.sender_mut().mark_next(),
        }
        old
    }

    /// Ends the bridge, giving both legs back.
    pub fn into_legs(self) -> (MediaLeg, MediaLeg) {
        (self.a, self.b)
    }
}
