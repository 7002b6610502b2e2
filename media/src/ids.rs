//! Newtypes for the identifiers and counters RTP puts on the wire (RFC 3550 §5.1), so a
//! sequence number cannot be passed where a timestamp is expected.

use std::fmt;

/// Synchronisation source identifier (RFC 3550 §5.1, §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ssrc(pub u32);

/// The 16-bit sequence number as carried in the header (RFC 3550 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeqNo(pub u16);

/// Sequence number extended with the count of wrap-arounds (RFC 3550 §6.4.1, A.1):
/// `cycles << 16 | seq`. It only grows while one source keeps sending in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExtSeqNo(pub u64);

/// Media timestamp in clock-rate units (RFC 3550 §5.1); wraps at 2^32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RtpTimestamp(pub u32);

/// A 7-bit RTP payload type (RFC 3550 §5.1, RFC 3551 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PayloadType(u8);

impl SeqNo {
    /// The number that follows this one, wrapping 65535 → 0.
    pub const fn next(self) -> SeqNo {
        SeqNo(self.0.wrapping_add(1))
    }
}

impl ExtSeqNo {
    /// The 16-bit value as it appears on the wire.
    pub const fn seq(self) -> SeqNo {
        SeqNo(self.0 as u16)
    }

    /// How many times the 16-bit number has wrapped.
    pub const fn cycles(self) -> u64 {
        self.0 >> 16
    }
}

impl RtpTimestamp {
    /// This timestamp moved on by `samples`, wrapping at 2^32.
    pub const fn advanced(self, samples: u32) -> RtpTimestamp {
        RtpTimestamp(self.0.wrapping_add(samples))
    }

    /// Samples from `earlier` to `self`, modulo 2^32.
    pub const fn since(self, earlier: RtpTimestamp) -> u32 {
        self.0.wrapping_sub(earlier.0)
    }
}

impl PayloadType {
    /// PCMU, RFC 3551 table 4.
    pub const PCMU: PayloadType = PayloadType(0);
    /// PCMA, RFC 3551 table 4.
    pub const PCMA: PayloadType = PayloadType(8);
    /// Comfort noise, RFC 3389 §4.
    pub const CN: PayloadType = PayloadType(13);

    /// A payload type; `None` above 127, which does not fit the 7-bit field.
    pub const fn new(pt: u8) -> Option<PayloadType> {
        if pt <= 0x7F {
            Some(PayloadType(pt))
        } else {
            None
        }
    }

    /// The 7-bit value.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// Payload types 96–127 are assigned per session by SDP (RFC 3551 §3).
    pub const fn is_dynamic(self) -> bool {
        self.0 >= 96
    }

    /// Only the crate's own parser builds one from a masked header byte.
    pub(crate) const fn from_wire(b: u8) -> PayloadType {
        PayloadType(b & 0x7F)
    }
}

macro_rules! display_inner {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    )*};
}
display_inner!(SeqNo, ExtSeqNo, RtpTimestamp, PayloadType);

impl fmt::Display for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_number_wraps_to_zero() {
        assert_eq!(SeqNo(65535).next(), SeqNo(0));
    }

    #[test]
    fn timestamp_distance_survives_wrap() {
        let before = RtpTimestamp(u32::MAX - 79);
        let after = before.advanced(160);
        assert_eq!(after, RtpTimestamp(80));
        assert_eq!(after.since(before), 160);
    }

    #[test]
    fn payload_type_is_seven_bits() {
        assert_eq!(PayloadType::new(127).map(PayloadType::get), Some(127));
        assert_eq!(PayloadType::new(128), None);
        assert!(PayloadType::new(101).unwrap().is_dynamic());
        assert!(!PayloadType::PCMA.is_dynamic());
    }

    #[test]
    fn extended_sequence_splits_into_cycles_and_seq() {
        let e = ExtSeqNo((3 << 16) | 7);
        assert_eq!(e.cycles(), 3);
        assert_eq!(e.seq(), SeqNo(7));
        assert_eq!(Ssrc(0xdead).to_string(), "0x0000dead");
    }
}
