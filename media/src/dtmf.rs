//! RFC 4733 telephone events: DTMF digits and flash carried as RTP payloads.
//!
//! An event is a run of packets that share one RTP timestamp (the event's start, §2.3)
//! and carry a growing duration; the first is marked (§2.5.1.2) and the last one, with
//! the E bit, is sent three times (§2.5.1.4). [`DtmfReceiver`] turns such runs back into
//! one [`DtmfEvent`] each, whatever was lost, repeated or reordered; [`DtmfSender`]
//! writes them through the leg's [`RtpSender`](crate::RtpSender), in its SSRC and
//! sequence space, one packet per 20 ms tick in place of audio.

mod receiver;
mod sender;
#[cfg(test)]
mod tests;

pub use receiver::{DtmfEvent, DtmfReceiver, DEFAULT_END_TIMEOUT};
pub use sender::{DtmfQueueFull, DtmfSender, DEFAULT_INTER_DIGIT_GAP, DEFAULT_VOLUME};

/// The events of RFC 4733 §3.2 that a contact centre acts on: the sixteen DTMF
/// keys and hook flash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Dtmf {
    /// Key 0 (event 0).
    Zero = 0,
    /// Key 1.
    One,
    /// Key 2.
    Two,
    /// Key 3.
    Three,
    /// Key 4.
    Four,
    /// Key 5.
    Five,
    /// Key 6.
    Six,
    /// Key 7.
    Seven,
    /// Key 8.
    Eight,
    /// Key 9.
    Nine,
    /// `*` (event 10).
    Star,
    /// `#` (event 11).
    Pound,
    /// Key A (event 12).
    A,
    /// Key B.
    B,
    /// Key C.
    C,
    /// Key D (event 15).
    D,
    /// Hook flash (event 16).
    Flash,
}

const ALL: [Dtmf; 17] = [
    Dtmf::Zero,
    Dtmf::One,
    Dtmf::Two,
    Dtmf::Three,
    Dtmf::Four,
    Dtmf::Five,
    Dtmf::Six,
    Dtmf::Seven,
    Dtmf::Eight,
    Dtmf::Nine,
    Dtmf::Star,
    Dtmf::Pound,
    Dtmf::A,
    Dtmf::B,
    Dtmf::C,
    Dtmf::D,
    Dtmf::Flash,
];

impl Dtmf {
    /// The event code on the wire (RFC 4733 §3.2).
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The event for a code; `None` for events other than DTMF and flash.
    pub const fn from_code(code: u8) -> Option<Dtmf> {
        if (code as usize) < ALL.len() {
            Some(ALL[code as usize])
        } else {
            None
        }
    }

    /// The key as written: `0`–`9`, `*`, `#`, `A`–`D`, and `!` for flash (the SIP INFO
    /// `application/dtmf-relay` and SIPp convention).
    pub const fn to_char(self) -> char {
        b"0123456789*#ABCD!"[self as usize] as char
    }

    /// The key for a character, as [`Dtmf::to_char`] writes it (`a`–`d` too).
    pub fn from_char(c: char) -> Option<Dtmf> {
        let c = c.to_ascii_uppercase();
        ALL.iter().copied().find(|d| d.to_char() == c)
    }
}

impl std::fmt::Display for Dtmf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_char())
    }
}

/// The four-octet payload of RFC 4733 §2.3: event, E bit, volume, duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPayload {
    /// Event code (§3.2 for DTMF).
    pub event: u8,
    /// E bit: this packet ends the event (§2.3).
    pub end: bool,
    /// Power level in −dBm0, 0–63 (§2.3).
    pub volume: u8,
    /// Duration so far, in timestamp units, from the event's timestamp (§2.3).
    pub duration: u16,
}

/// Octets of one event payload.
pub const EVENT_PAYLOAD_LEN: usize = 4;

/// A telephone-event payload shorter than its four octets: the peer's fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BadTelephoneEvent {
    /// Fewer than 4 octets (RFC 4733 §2.3).
    #[error("telephone-event payload of {len} octets, need 4")]
    Truncated {
        /// Payload length.
        len: usize,
    },
}

impl EventPayload {
    /// Reads the first event of a payload (the R bit is ignored, §2.3; further events
    /// in the same payload are not read).
    pub fn parse(payload: &[u8]) -> Result<EventPayload, BadTelephoneEvent> {
        let [event, flags, d0, d1, ..] = *payload else {
            return Err(BadTelephoneEvent::Truncated { len: payload.len() });
        };
        Ok(EventPayload {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3F,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    /// The four octets on the wire.
    pub fn to_bytes(self) -> [u8; EVENT_PAYLOAD_LEN] {
        let [d0, d1] = self.duration.to_be_bytes();
        let flags = (u8::from(self.end) << 7) | (self.volume & 0x3F);
        [self.event, flags, d0, d1]
    }
}
