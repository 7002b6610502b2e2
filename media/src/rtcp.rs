//! RTCP for one leg (RFC 3550 §6): sender and receiver reports, CNAME, BYE.
//!
//! An [`RtcpSession`] schedules our compound reports on the RFC's randomised interval
//! (§6.2, §6.3, A.7), writes them into a caller-owned buffer (SR when we sent RTP since
//! the last report, else RR, then SDES CNAME, §6.1), and reads the peer's compound
//! packets into [`RtcpStats`]: how the peer hears our stream (fraction and cumulative
//! loss, jitter), the round-trip time (§6.4.1) and whether it said BYE.
//!
//! The runtime drives it like the rest of the crate: `now` is passed in, and so is the
//! wall clock for the SR's NTP timestamp ([`NtpTime::from_unix`]); the random interval
//! draws come from a seed in [`RtcpConfig`]. RTCP arrives on RTP port + 1 or multiplexed
//! on the RTP port (RFC 5761, [`is_rtcp`](crate::is_rtcp)); the runtime decides and hands
//! the datagram to [`RtcpSession::on_rtcp`].
//!
//! The wire format is ours ([`packet`]): webrtc-rs `rtcp` 0.17 unmarshals a compound
//! packet into a `Vec<Box<dyn Packet>>` and its report types hold `Vec`s, an allocation
//! per packet; an SR/RR/SDES/BYE writer and a bounds-checked, zero-copy reader are a few
//! hundred lines. `rtcp` is kept as a test-only oracle that reads what we write.

use std::time::Duration;

mod interval;
pub mod packet;
mod reception;
mod session;

pub use packet::{parse_compound, Compound, ReportBlock, RtcpPacket, SenderInfo};
pub use session::{RtcpConfig, RtcpSession, RtcpStats, DEFAULT_SESSION_BANDWIDTH};

/// A wall-clock time in NTP format (RFC 3550 §4): seconds since 1900 in the high 32 bits,
/// the fraction of a second in the low 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NtpTime(pub u64);

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
pub const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

impl NtpTime {
    /// The NTP time of a moment given as time since the Unix epoch (what the runtime
    /// reads from `SystemTime::now().duration_since(UNIX_EPOCH)`).
    pub fn from_unix(since_unix_epoch: Duration) -> NtpTime {
        NtpTime(duration_to_ntp(since_unix_epoch).wrapping_add(NTP_UNIX_OFFSET_SECS << 32))
    }

    /// The middle 32 bits, the "short" form LSR and DLSR use (RFC 3550 §4, §6.4.1):
    /// 16 bits of seconds, 16 of fraction.
    pub const fn short(self) -> u32 {
        (self.0 >> 16) as u32
    }

    /// This time moved on by `d` (wrapping with the NTP era).
    pub fn advanced(self, d: Duration) -> NtpTime {
        NtpTime(self.0.wrapping_add(duration_to_ntp(d)))
    }
}

/// Whole NTP units (2^-32 s) in `d`, truncated.
fn duration_to_ntp(d: Duration) -> u64 {
    (d.as_secs() << 32).wrapping_add((u64::from(d.subsec_nanos()) << 32) / 1_000_000_000)
}

/// `d` in 1/65536 s, truncated and saturated (DLSR, §6.4.1).
fn duration_to_short(d: Duration) -> u32 {
    let units = d.as_nanos() * 65_536 / 1_000_000_000;
    u32::try_from(units).unwrap_or(u32::MAX)
}

/// A short-format interval as a duration (to the nanosecond below).
fn short_to_duration(units: u32) -> Duration {
    Duration::from_nanos(u64::from(units) * 1_000_000_000 / 65_536)
}

/// An RTCP datagram we cannot read (RFC 3550 §6.4, A.2): the peer's fault. The datagram
/// is dropped and counted; nothing in it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtcpError {
    /// Fewer bytes than a packet header, or a zero-length datagram.
    #[error("RTCP packet of {len} bytes is shorter than its header")]
    Truncated {
        /// Bytes left where a packet was expected.
        len: usize,
    },
    /// The version field is not 2.
    #[error("RTCP version {0}, expected 2")]
    BadVersion(u8),
    /// The packet type is outside the RTCP range 192–223 (RFC 5761 §4).
    #[error("packet type {0} is not RTCP")]
    NotRtcp(u8),
    /// The length field runs past the datagram.
    #[error("RTCP length field claims {claimed} bytes, {available} left")]
    BadLength {
        /// Bytes the length field claims (header included).
        claimed: usize,
        /// Bytes left in the datagram.
        available: usize,
    },
    /// The padding count is zero or longer than the packet.
    #[error("RTCP padding count {0} does not fit its packet")]
    BadPadding(u8),
    /// The body does not hold what the header's count says (report blocks, SDES
    /// chunks, BYE sources and reason).
    #[error("RTCP packet type {0} is shorter than its count says")]
    BadBody(u8),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_epoch_is_1970_in_ntp() {
        let t = NtpTime::from_unix(Duration::from_millis(1500));
        assert_eq!(t.0 >> 32, NTP_UNIX_OFFSET_SECS + 1);
        assert_eq!(t.0 as u32, 1 << 31, "half a second is half the fraction");
        assert_eq!(
            t.short(),
            (((NTP_UNIX_OFFSET_SECS + 1) as u32) << 16) | 0x8000
        );
        assert_eq!(
            t.advanced(Duration::from_millis(500)).0 >> 32,
            NTP_UNIX_OFFSET_SECS + 2
        );
    }

    #[test]
    fn short_format_round_trips_within_a_unit() {
        for ms in [0u64, 1, 20, 999, 1000, 65_535_000] {
            let d = Duration::from_millis(ms);
            let back = short_to_duration(duration_to_short(d));
            assert!(
                back <= d && d - back < Duration::from_nanos(15_259),
                "{ms} ms"
            );
        }
        assert_eq!(duration_to_short(Duration::from_secs(70_000)), u32::MAX);
    }
}
