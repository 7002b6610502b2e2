//! The receiving half of an RTP session: one remote source at a time, validated and
//! counted (RFC 3550 §6.4.1, Appendix A.1 and A.8).

use std::time::Instant;

use bytes::Bytes;

use crate::codec::Codec;
use crate::error::PeerMisbehaved;
use crate::ids::{ExtSeqNo, PayloadType, RtpTimestamp, Ssrc};
use crate::rtp_packet::{RtpHeader, RtpPacket};
use crate::sequence::{Arrival, SequenceTracker};

/// What the receiver needs from the session's SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// The dynamic payload type negotiated for `telephone-event` (RFC 4733 §7.1.1).
    pub telephone_event: Option<PayloadType>,
    /// RTP clock rate of the audio, for the jitter estimate (RFC 3550 A.8).
    pub clock_rate: u32,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            telephone_event: None,
            clock_rate: 8000,
        }
    }
}

/// What a packet's payload type says it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    /// Audio in a codec we decode (either G.711, whatever was negotiated: a peer that
    /// offered both may switch, and decoding it costs nothing).
    Audio(Codec),
    /// RFC 4733 named telephone events (DTMF) on the negotiated dynamic type.
    TelephoneEvent,
    /// RFC 3389 comfort noise.
    ComfortNoise,
    /// Anything else.
    Unknown,
}

/// A packet accepted by the receiver, with what it means for the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRtp {
    /// The packet; its payload shares the datagram's storage.
    pub packet: RtpPacket,
    /// What the payload type says it carries.
    pub kind: PayloadKind,
    /// Where it falls in the source's sequence.
    pub arrival: Arrival,
    /// Its extended sequence number.
    pub ext_seq: ExtSeqNo,
    /// The SSRC differs from the previous packet's: a new stream began (a transfer or
    /// re-INVITE upstream); sequence and timing start over.
    pub ssrc_changed: bool,
}

/// What [`RtpReceiver::on_header`] makes of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reception {
    /// What the payload type says it carries.
    pub kind: PayloadKind,
    /// Where it falls in the source's sequence.
    pub arrival: Arrival,
    /// Its extended sequence number.
    pub ext_seq: ExtSeqNo,
    /// A new SSRC: a new stream began.
    pub ssrc_changed: bool,
}

/// Receive-side counters (RFC 3550 §6.4.1 report block, plus what we drop).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiveStats {
    /// Well-formed packets received, duplicates included.
    pub packets: u64,
    /// Payload octets of those packets.
    pub bytes: u64,
    /// Packets missing from the sequence, less those that arrived late.
    pub lost: u64,
    /// Packets received more than once.
    pub duplicates: u64,
    /// Packets that arrived after a higher-numbered one.
    pub reordered: u64,
    /// Packets dropped as unconfirmed sequence jumps.
    pub jumps: u64,
    /// Confirmed sequence restarts within one SSRC.
    pub restarts: u64,
    /// Times the remote SSRC changed.
    pub ssrc_changes: u64,
    /// Datagrams that were not valid RTP.
    pub malformed: u64,
    /// Interarrival jitter in timestamp units (RFC 3550 A.8).
    pub jitter: u32,
    /// The remote SSRC of the latest packet.
    pub last_ssrc: Option<Ssrc>,
    /// When the latest well-formed packet arrived, for RTP inactivity timeouts.
    pub last_packet_at: Option<Instant>,
}

#[derive(Debug, Clone)]
struct Source {
    ssrc: Ssrc,
    sequence: SequenceTracker,
    /// Relative transit time of the previous audio packet (RFC 3550 A.8).
    transit: Option<u32>,
    /// Jitter scaled by 16, the A.8 integer form.
    jitter_q4: u32,
}

/// Receives the RTP of one leg. Feed it every datagram with [`RtpReceiver::on_datagram`].
#[derive(Debug, Clone)]
pub struct RtpReceiver {
    config: ReceiverConfig,
    source: Option<Source>,
    /// Arrival clock origin: transit times only matter relative to each other.
    epoch: Option<Instant>,
    stats: ReceiveStats,
}

impl RtpReceiver {
    /// A receiver with no source yet.
    pub fn new(config: ReceiverConfig) -> RtpReceiver {
        RtpReceiver {
            config,
            source: None,
            epoch: None,
            stats: ReceiveStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &ReceiveStats {
        &self.stats
    }

    /// Changes the telephone-event payload type after a re-negotiation.
    pub fn set_telephone_event(&mut self, pt: Option<PayloadType>) {
        self.config.telephone_event = pt;
    }

    /// What a payload type carries in this session.
    pub fn classify(&self, pt: PayloadType) -> PayloadKind {
        if Some(pt) == self.config.telephone_event {
            PayloadKind::TelephoneEvent
        } else if let Some(codec) = Codec::from_payload_type(pt) {
            PayloadKind::Audio(codec)
        } else if pt == PayloadType::CN {
            PayloadKind::ComfortNoise
        } else {
            PayloadKind::Unknown
        }
    }

    /// Takes one datagram from the peer.
    pub fn on_datagram(
        &mut self,
        now: Instant,
        datagram: Bytes,
    ) -> Result<ReceivedRtp, PeerMisbehaved> {
        let packet = match RtpPacket::parse(datagram) {
            Ok(p) => p,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e);
            }
        };
        let r = self.on_header(now, &packet.header(), packet.payload.len());
        Ok(ReceivedRtp {
            packet,
            kind: r.kind,
            arrival: r.arrival,
            ext_seq: r.ext_seq,
            ssrc_changed: r.ssrc_changed,
        })
    }

    /// Counts a malformed datagram the caller could not parse.
    pub fn on_malformed(&mut self) {
        self.stats.malformed += 1;
    }

    /// Takes one parsed packet (header and payload length): the allocation-free
    /// path of the media workers, which parse from fixed ring slots.
    pub fn on_header(&mut self, now: Instant, header: &RtpHeader, payload_len: usize) -> Reception {
        let kind = self.classify(header.payload_type);
        self.stats.packets += 1;
        self.stats.bytes += payload_len as u64;
        self.stats.last_packet_at = Some(now);
        self.stats.last_ssrc = Some(header.ssrc);

        let (arrival, ext_seq, ssrc_changed) = match &mut self.source {
            Some(source) if source.ssrc == header.ssrc => {
                let (arrival, ext) = source.sequence.update(header.sequence);
                (arrival, ext, false)
            }
            existing => {
                let changed = existing.is_some();
                if changed {
                    self.stats.ssrc_changes += 1;
                }
                let sequence = SequenceTracker::new(header.sequence);
                let ext = sequence.max();
                *existing = Some(Source {
                    ssrc: header.ssrc,
                    sequence,
                    transit: None,
                    jitter_q4: 0,
                });
                (Arrival::Probation, ext, changed)
            }
        };

        match arrival {
            Arrival::InOrder { missing } => self.stats.lost += u64::from(missing),
            Arrival::Reordered => {
                self.stats.reordered += 1;
                self.stats.lost = self.stats.lost.saturating_sub(1);
            }
            Arrival::Duplicate => self.stats.duplicates += 1,
            Arrival::Jump => self.stats.jumps += 1,
            Arrival::Restarted => self.stats.restarts += 1,
            Arrival::Probation => {}
        }

        let timed = matches!(kind, PayloadKind::Audio(_))
            && !matches!(arrival, Arrival::Duplicate | Arrival::Jump);
        if timed {
            self.update_jitter(now, header.timestamp, arrival);
        }
        Reception {
            kind,
            arrival,
            ext_seq,
            ssrc_changed,
        }
    }

    /// RFC 3550 A.8: J += (|D| - J) / 16 over relative transit times.
    fn update_jitter(&mut self, now: Instant, timestamp: RtpTimestamp, arrival: Arrival) {
        let epoch = *self.epoch.get_or_insert(now);
        let Some(source) = self.source.as_mut() else {
            return;
        };
        let elapsed = now.saturating_duration_since(epoch);
        let arrival_units =
            (elapsed.as_nanos() * u128::from(self.config.clock_rate) / 1_000_000_000) as u32;
        let transit = arrival_units.wrapping_sub(timestamp.0);
        if arrival == Arrival::Restarted {
            source.transit = None;
        }
        if let Some(previous) = source.transit {
            let d = (transit.wrapping_sub(previous) as i32).unsigned_abs();
            source.jitter_q4 = source
                .jitter_q4
                .wrapping_add(d)
                .wrapping_sub((source.jitter_q4 + 8) >> 4);
        }
        source.transit = Some(transit);
        self.stats.jitter = source.jitter_q4 >> 4;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ids::{RtpTimestamp, SeqNo};
    use crate::rtp_packet::{write_packet, OutgoingHeader};

    const TE: u8 = 101;

    fn datagram(ssrc: u32, seq: u16, ts: u32, pt: u8) -> Bytes {
        let mut out = [0u8; 200];
        let header = OutgoingHeader {
            marker: false,
            payload_type: PayloadType::new(pt).unwrap(),
            sequence: SeqNo(seq),
            timestamp: RtpTimestamp(ts),
            ssrc: Ssrc(ssrc),
        };
        let n = write_packet(&header, &[0xFF; 160], &mut out).unwrap();
        Bytes::copy_from_slice(&out[..n])
    }

    fn receiver() -> RtpReceiver {
        RtpReceiver::new(ReceiverConfig {
            telephone_event: PayloadType::new(TE),
            clock_rate: 8000,
        })
    }

    struct Clock(Instant);
    impl Clock {
        fn at_ms(&self, ms: u64) -> Instant {
            self.0 + Duration::from_millis(ms)
        }
    }

    #[test]
    fn in_order_stream_across_the_wrap_loses_nothing() {
        let clock = Clock(Instant::now());
        let mut rx = receiver();
        let mut exts = Vec::new();
        for i in 0..6u16 {
            let seq = 65533u16.wrapping_add(i);
            let ts = 1000 + 160 * u32::from(i);
            let got = rx
                .on_datagram(clock.at_ms(20 * u64::from(i)), datagram(7, seq, ts, 0))
                .unwrap();
            assert_eq!(got.kind, PayloadKind::Audio(Codec::Pcmu));
            assert_eq!(got.packet.payload.len(), 160);
            exts.push(got.ext_seq.0);
        }
        assert_eq!(exts, vec![65533, 65534, 65535, 65536, 65537, 65538]);
        let s = rx.stats();
        assert_eq!((s.packets, s.bytes, s.lost, s.duplicates), (6, 960, 0, 0));
        assert_eq!(s.last_ssrc, Some(Ssrc(7)));
        assert_eq!(s.last_packet_at, Some(clock.at_ms(100)));
        assert_eq!(s.jitter, 0, "perfectly paced packets have no jitter");
    }

    #[test]
    fn loss_reorder_and_duplicates_are_counted() {
        let t = Instant::now();
        let mut rx = receiver();
        for seq in [10u16, 11, 14, 12, 12, 15] {
            rx.on_datagram(t, datagram(1, seq, u32::from(seq) * 160, 8))
                .unwrap();
        }
        let s = rx.stats();
        assert_eq!(s.lost, 1, "13 never came; 12 came late");
        assert_eq!(s.reordered, 1);
        assert_eq!(s.duplicates, 1);
        assert_eq!(s.packets, 6);
    }

    #[test]
    fn ssrc_change_is_reported_once_and_restarts_the_sequence() {
        let t = Instant::now();
        let mut rx = receiver();
        assert!(
            !rx.on_datagram(t, datagram(1, 100, 0, 0))
                .unwrap()
                .ssrc_changed
        );
        assert!(
            !rx.on_datagram(t, datagram(1, 101, 160, 0))
                .unwrap()
                .ssrc_changed
        );
        let changed = rx.on_datagram(t, datagram(2, 9000, 5, 0)).unwrap();
        assert!(changed.ssrc_changed);
        assert_eq!(changed.arrival, Arrival::Probation);
        let next = rx.on_datagram(t, datagram(2, 9001, 165, 0)).unwrap();
        assert!(!next.ssrc_changed);
        assert_eq!(next.arrival, Arrival::InOrder { missing: 0 });
        let s = rx.stats();
        assert_eq!(s.ssrc_changes, 1);
        assert_eq!(s.lost, 0, "a new source's numbering is not loss");
        assert_eq!(s.last_ssrc, Some(Ssrc(2)));
    }

    #[test]
    fn telephone_events_are_told_apart_from_audio() {
        let t = Instant::now();
        let mut rx = receiver();
        let audio = rx.on_datagram(t, datagram(1, 1, 0, 8)).unwrap();
        assert_eq!(audio.kind, PayloadKind::Audio(Codec::Pcma));
        let event = rx.on_datagram(t, datagram(1, 2, 160, TE)).unwrap();
        assert_eq!(event.kind, PayloadKind::TelephoneEvent);
        assert_eq!(
            event.arrival,
            Arrival::InOrder { missing: 0 },
            "one sequence space"
        );
        assert_eq!(
            rx.on_datagram(t, datagram(1, 3, 320, 13)).unwrap().kind,
            PayloadKind::ComfortNoise
        );
        assert_eq!(
            rx.on_datagram(t, datagram(1, 4, 480, 96)).unwrap().kind,
            PayloadKind::Unknown
        );
        rx.set_telephone_event(None);
        assert_eq!(
            rx.classify(PayloadType::new(TE).unwrap()),
            PayloadKind::Unknown
        );
    }

    #[test]
    fn malformed_datagrams_are_counted_and_rejected() {
        let t = Instant::now();
        let mut rx = receiver();
        let err = rx
            .on_datagram(t, Bytes::from_static(&[0x80, 0, 0]))
            .unwrap_err();
        assert_eq!(err, PeerMisbehaved::Truncated { len: 3 });
        let stun = Bytes::from_static(&[0x00, 0x01, 0, 0, 0x21, 0x12, 0xA4, 0x42, 0, 0, 0, 0]);
        assert_eq!(
            rx.on_datagram(t, stun).unwrap_err(),
            PeerMisbehaved::BadVersion(0)
        );
        assert_eq!(rx.stats().malformed, 2);
        assert_eq!(rx.stats().packets, 0);
    }

    #[test]
    fn uneven_arrival_shows_as_jitter() {
        let clock = Clock(Instant::now());
        let mut rx = receiver();
        for i in 0..50u32 {
            // Packets sent every 20 ms arrive alternately on time and 10 ms late.
            let late = if i % 2 == 1 { 10 } else { 0 };
            let at = clock.at_ms(u64::from(20 * i + late));
            rx.on_datagram(at, datagram(3, i as u16, 160 * i, 0))
                .unwrap();
        }
        // |D| is 80 units every packet, so J converges towards 80.
        let j = rx.stats().jitter;
        assert!((70..=80).contains(&j), "jitter {j}");
    }

    #[test]
    fn unconfirmed_jump_is_counted_as_dropped() {
        let t = Instant::now();
        let mut rx = receiver();
        rx.on_datagram(t, datagram(1, 1, 0, 0)).unwrap();
        rx.on_datagram(t, datagram(1, 2, 160, 0)).unwrap();
        assert_eq!(
            rx.on_datagram(t, datagram(1, 40000, 320, 0))
                .unwrap()
                .arrival,
            Arrival::Jump
        );
        assert_eq!(
            rx.on_datagram(t, datagram(1, 40001, 480, 0))
                .unwrap()
                .arrival,
            Arrival::Restarted
        );
        assert_eq!(rx.stats().jumps, 1);
        assert_eq!(rx.stats().restarts, 1);
        assert_eq!(rx.stats().lost, 0);
    }
}
