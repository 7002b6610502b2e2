//! One call leg's media: its RTP receiver and sender, its negotiated codec, and the
//! fixed 20 ms frame that passes between them.
//!
//! The runtime hands a leg every datagram ([`MediaLeg::on_rtp`]); an audio packet is
//! decoded into the leg's own [`Frame`], read with [`MediaLeg::frame`]. Audio for the
//! peer goes out through [`MediaLeg::produce_rtp`], one frame at a time, into a buffer
//! the caller owns. Nothing here allocates. The stages still to come (jitter buffer,
//! resampling, RNNoise, mixing) sit between those two calls and work on the same frames.

use std::time::Instant;

use bytes::Bytes;

use crate::codec::{Codec, Frame, FRAME_SAMPLES, SILENT_FRAME};
use crate::error::{Error, PeerMisbehaved};
use crate::ids::{PayloadType, RtpTimestamp, SeqNo, Ssrc};
use crate::rtp_receiver::{PayloadKind, ReceivedRtp, ReceiverConfig, RtpReceiver};
use crate::rtp_sender::RtpSender;
use crate::sequence::Arrival;

/// A timestamp gap larger than this (10 s) is a discontinuity, not silence to mirror.
pub const MAX_MIRRORED_GAP: u32 = 10 * 8000;

/// What a leg is set up with, from the SDP answer and the caller's random generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegConfig {
    /// The codec we send, and expect to receive.
    pub codec: Codec,
    /// The peer's `telephone-event` payload type, if negotiated (RFC 4733).
    pub telephone_event: Option<PayloadType>,
    /// Our SSRC toward this peer (random, RFC 3550 §8).
    pub ssrc: Ssrc,
    /// Our first sequence number (random, RFC 3550 §5.1).
    pub first_seq: SeqNo,
    /// Our first timestamp (random, RFC 3550 §5.1).
    pub first_timestamp: RtpTimestamp,
}

/// How a decoded frame relates to the one before it, so whoever sends it on can keep
/// the outgoing timing true.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// The codec it arrived in.
    pub codec: Codec,
    /// Its RTP timestamp.
    pub timestamp: RtpTimestamp,
    /// Samples between the previous frame's end and this frame's start that never came
    /// (loss or suppressed silence, RFC 3551 §4.1).
    pub skipped_samples: u32,
    /// A talkspurt start or a new source: the outgoing packet should be marked.
    pub discontinuity: bool,
}

/// Why a well-formed packet produced no frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Already received.
    Duplicate,
    /// Arrived after a later packet was played (no jitter buffer yet).
    Late,
    /// An unconfirmed sequence jump (RFC 3550 A.1).
    SequenceJump,
    /// RFC 3389 comfort noise (not generated yet).
    ComfortNoise,
    /// A payload type this session does not carry.
    UnknownPayloadType(PayloadType),
    /// Audio that is not one 20 ms frame (only ptime 20 is handled yet).
    UnsupportedFrameSize(usize),
}

/// The outcome of one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegInput {
    /// A frame was decoded into [`MediaLeg::frame`].
    Frame(FrameInfo),
    /// An RFC 4733 telephone-event packet, for DTMF handling.
    TelephoneEvent(ReceivedRtp),
    /// Nothing to play.
    Ignored(Ignored),
}

/// Everything the leg has counted, for the API and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpCounters {
    /// Well-formed packets received.
    pub packets_in: u64,
    /// Payload octets received.
    pub bytes_in: u64,
    /// Packets sent.
    pub packets_out: u64,
    /// Payload octets sent.
    pub bytes_out: u64,
    /// Packets lost (missing and never arrived).
    pub lost: u64,
    /// Duplicate packets.
    pub duplicates: u64,
    /// Packets that arrived out of order.
    pub reordered: u64,
    /// Times the remote SSRC changed.
    pub ssrc_changes: u64,
    /// Datagrams that were not RTP.
    pub malformed: u64,
    /// Well-formed packets that produced no frame or event.
    pub ignored: u64,
    /// Interarrival jitter, timestamp units.
    pub jitter: u32,
    /// The peer's latest SSRC.
    pub remote_ssrc: Option<Ssrc>,
    /// Our SSRC.
    pub local_ssrc: Ssrc,
    /// When the last packet arrived.
    pub last_packet_at: Option<Instant>,
}

/// One leg's media state.
#[derive(Debug, Clone)]
pub struct MediaLeg {
    codec: Codec,
    receiver: RtpReceiver,
    sender: RtpSender,
    /// The latest decoded frame.
    frame: Frame,
    /// Timestamp of the latest decoded frame of the current source.
    last_audio: Option<RtpTimestamp>,
    /// Encoded payload scratch for `produce_rtp`.
    payload: [u8; FRAME_SAMPLES],
    ignored: u64,
}

impl MediaLeg {
    /// A leg with nothing received or sent yet.
    pub fn new(config: LegConfig) -> MediaLeg {
        MediaLeg {
            codec: config.codec,
            receiver: RtpReceiver::new(ReceiverConfig {
                telephone_event: config.telephone_event,
                clock_rate: config.codec.clock_rate(),
            }),
            sender: RtpSender::new(
                config.ssrc,
                config.first_seq,
                config.first_timestamp,
                config.codec.payload_type(),
            ),
            frame: SILENT_FRAME,
            last_audio: None,
            payload: [0; FRAME_SAMPLES],
            ignored: 0,
        }
    }

    /// The codec we send.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Switches the codec we send after a re-negotiation.
    pub fn set_codec(&mut self, codec: Codec) {
        self.codec = codec;
        self.sender.set_payload_type(codec.payload_type());
    }

    /// The latest frame decoded by [`MediaLeg::on_rtp`].
    pub fn frame(&self) -> &Frame {
        &self.frame
    }

    /// The receiving half.
    pub fn receiver(&self) -> &RtpReceiver {
        &self.receiver
    }

    /// The sending half, to mark or skip.
    pub fn sender_mut(&mut self) -> &mut RtpSender {
        &mut self.sender
    }

    /// Takes one datagram from the peer. An audio packet is decoded into
    /// [`MediaLeg::frame`]; a malformed one is the peer's error (and counted).
    pub fn on_rtp(&mut self, now: Instant, datagram: Bytes) -> Result<LegInput, PeerMisbehaved> {
        let received = self.receiver.on_datagram(now, datagram)?;
        let input = self.accept(received);
        if matches!(input, LegInput::Ignored(_)) {
            self.ignored += 1;
        }
        Ok(input)
    }

    fn accept(&mut self, received: ReceivedRtp) -> LegInput {
        let new_source = match received.arrival {
            Arrival::Duplicate => return LegInput::Ignored(Ignored::Duplicate),
            Arrival::Jump => return LegInput::Ignored(Ignored::SequenceJump),
            Arrival::Reordered => return LegInput::Ignored(Ignored::Late),
            Arrival::Probation | Arrival::Restarted => true,
            Arrival::InOrder { .. } => received.ssrc_changed,
        };
        if new_source {
            self.last_audio = None;
        }
        let codec = match received.kind {
            PayloadKind::Audio(codec) => codec,
            PayloadKind::TelephoneEvent => return LegInput::TelephoneEvent(received),
            PayloadKind::ComfortNoise => return LegInput::Ignored(Ignored::ComfortNoise),
            PayloadKind::Unknown => {
                let pt = received.packet.payload_type;
                return LegInput::Ignored(Ignored::UnknownPayloadType(pt));
            }
        };
        let payload = &received.packet.payload;
        if payload.len() != codec.frame_bytes() {
            return LegInput::Ignored(Ignored::UnsupportedFrameSize(payload.len()));
        }
        codec.decode(payload, &mut self.frame);

        let timestamp = received.packet.timestamp;
        let (skipped_samples, jumped) = match self.last_audio {
            None => (0, true),
            Some(last) => {
                let step = timestamp.since(last);
                let frame = FRAME_SAMPLES as u32;
                if (frame..=frame + MAX_MIRRORED_GAP).contains(&step) {
                    (step - frame, false)
                } else {
                    // Timestamps that stand still, run backwards or leap: start afresh.
                    (0, true)
                }
            }
        };
        self.last_audio = Some(timestamp);
        LegInput::Frame(FrameInfo {
            codec,
            timestamp,
            skipped_samples,
            discontinuity: jumped || received.packet.marker,
        })
    }

    /// Lines our outgoing stream up with an incoming frame's timing: silence the source
    /// skipped is skipped here too, and a discontinuity marks the next packet.
    pub fn follow(&mut self, info: &FrameInfo) {
        self.sender.skip(info.skipped_samples);
        if info.discontinuity {
            self.sender.mark_next();
        }
    }

    /// Encodes `frame` in our codec and writes the RTP packet for the peer into `out`;
    /// returns its length.
    pub fn produce_rtp(&mut self, frame: &Frame, out: &mut [u8]) -> Result<usize, Error> {
        let n = self.codec.encode(frame, &mut self.payload);
        self.sender.packetize(&self.payload[..n], out)
    }

    /// Counters of both halves.
    pub fn counters(&self) -> RtpCounters {
        let rx = self.receiver.stats();
        let tx = self.sender.stats();
        RtpCounters {
            packets_in: rx.packets,
            bytes_in: rx.bytes,
            packets_out: tx.packets,
            bytes_out: tx.bytes,
            lost: rx.lost,
            duplicates: rx.duplicates,
            reordered: rx.reordered,
            ssrc_changes: rx.ssrc_changes,
            malformed: rx.malformed,
            ignored: self.ignored,
            jitter: rx.jitter,
            remote_ssrc: rx.last_ssrc,
            local_ssrc: tx.ssrc,
            last_packet_at: rx.last_packet_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{parse, sine_frames, Peer};

    const TE: u8 = 101;

    fn leg(codec: Codec) -> MediaLeg {
        MediaLeg::new(LegConfig {
            codec,
            telephone_event: PayloadType::new(TE),
            ssrc: Ssrc(0xABCD),
            first_seq: SeqNo(1000),
            first_timestamp: RtpTimestamp(77),
        })
    }

    fn frame_info(input: LegInput) -> FrameInfo {
        match input {
            LegInput::Frame(info) => info,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    #[test]
    fn audio_is_decoded_into_the_leg_frame() {
        let now = Instant::now();
        let mut leg = leg(Codec::Pcmu);
        let mut peer = Peer::new(Codec::Pcmu, 1, 10, 0);
        let sine = sine_frames(440.0, 8000.0, 2);
        let first = frame_info(leg.on_rtp(now, peer.audio(&sine[0])).unwrap());
        assert!(first.discontinuity, "the first frame starts the stream");
        assert_eq!(first.skipped_samples, 0);
        let mut expected = [0i16; FRAME_SAMPLES];
        let mut bytes = [0u8; FRAME_SAMPLES];
        Codec::Pcmu.encode(&sine[0], &mut bytes);
        Codec::Pcmu.decode(&bytes, &mut expected);
        assert_eq!(leg.frame(), &expected);

        let second = frame_info(leg.on_rtp(now, peer.audio(&sine[1])).unwrap());
        assert!(!second.discontinuity);
        assert_eq!(second.skipped_samples, 0);
        assert_eq!(second.timestamp, RtpTimestamp(160));
    }

    #[test]
    fn lost_packets_become_skipped_samples() {
        let now = Instant::now();
        let mut leg = leg(Codec::Pcma);
        let mut peer = Peer::new(Codec::Pcma, 1, 65534, 0);
        let sine = sine_frames(440.0, 8000.0, 1);
        leg.on_rtp(now, peer.audio(&sine[0])).unwrap();
        leg.on_rtp(now, peer.audio(&sine[0])).unwrap();
        peer.lose(2);
        let info = frame_info(leg.on_rtp(now, peer.audio(&sine[0])).unwrap());
        assert_eq!(info.skipped_samples, 320);
        assert!(!info.discontinuity);
        assert_eq!(leg.counters().lost, 2);
    }

    #[test]
    fn talkspurt_after_suppressed_silence_is_marked_and_timed() {
        let now = Instant::now();
        let mut leg = leg(Codec::Pcmu);
        let mut peer = Peer::new(Codec::Pcmu, 1, 0, 0);
        let f = SILENT_FRAME;
        leg.on_rtp(now, peer.audio(&f)).unwrap();
        // One second of silence not sent (RFC 3551 §4.1): time moves, numbers do not.
        peer.ts = peer.ts.advanced(8000);
        peer.marker = true;
        let info = frame_info(leg.on_rtp(now, peer.audio(&f)).unwrap());
        assert_eq!(info.skipped_samples, 8000);
        assert!(info.discontinuity);
    }

    #[test]
    fn new_source_is_a_discontinuity_without_skipping() {
        let now = Instant::now();
        let mut leg = leg(Codec::Pcmu);
        let mut first = Peer::new(Codec::Pcmu, 1, 0, 0);
        let mut second = Peer::new(Codec::Pcmu, 2, 5000, 123_456);
        second.marker = false;
        leg.on_rtp(now, first.audio(&SILENT_FRAME)).unwrap();
        leg.on_rtp(now, first.audio(&SILENT_FRAME)).unwrap();
        let info = frame_info(leg.on_rtp(now, second.audio(&SILENT_FRAME)).unwrap());
        assert!(info.discontinuity);
        assert_eq!(info.skipped_samples, 0);
        let c = leg.counters();
        assert_eq!((c.ssrc_changes, c.remote_ssrc), (1, Some(Ssrc(2))));
    }

    #[test]
    fn unplayable_packets_are_ignored_and_counted() {
        let now = Instant::now();
        let mut leg = leg(Codec::Pcmu);
        let mut peer = Peer::new(Codec::Pcmu, 1, 0, 0);
        let p0 = peer.audio(&SILENT_FRAME);
        let p1 = peer.audio(&SILENT_FRAME);
        let p2 = peer.audio(&SILENT_FRAME);
        leg.on_rtp(now, p0).unwrap();
        leg.on_rtp(now, p2.clone()).unwrap();
        let ignored = |i: LegInput| match i {
            LegInput::Ignored(why) => why,
            other => panic!("expected ignored, got {other:?}"),
        };
        assert_eq!(ignored(leg.on_rtp(now, p1).unwrap()), Ignored::Late);
        assert_eq!(ignored(leg.on_rtp(now, p2).unwrap()), Ignored::Duplicate);
        let short = peer.packet(PayloadType::PCMU, &[0xFF; 80], 80);
        assert_eq!(
            ignored(leg.on_rtp(now, short).unwrap()),
            Ignored::UnsupportedFrameSize(80)
        );
        let cn = peer.packet(PayloadType::CN, &[40], 0);
        assert_eq!(ignored(leg.on_rtp(now, cn).unwrap()), Ignored::ComfortNoise);
        let pt96 = PayloadType::new(96).unwrap();
        let unknown = peer.packet(pt96, &[0; 10], 160);
        assert_eq!(
            ignored(leg.on_rtp(now, unknown).unwrap()),
            Ignored::UnknownPayloadType(pt96)
        );
        assert_eq!(leg.counters().ignored, 5);
    }

    #[test]
    fn telephone_events_are_surfaced_with_their_payload() {
        let now = Instant::now();
        let mut leg = leg(Codec::Pcmu);
        let mut peer = Peer::new(Codec::Pcmu, 1, 0, 0);
        leg.on_rtp(now, peer.audio(&SILENT_FRAME)).unwrap();
        // RFC 4733 §2.3: event 5, end bit clear, volume 10, duration 160.
        let event = [5u8, 10, 0, 160];
        let pkt = peer.packet(PayloadType::new(TE).unwrap(), &event, 0);
        match leg.on_rtp(now, pkt).unwrap() {
            LegInput::TelephoneEvent(rx) => assert_eq!(&rx.packet.payload[..], &event),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    #[test]
    fn the_other_g711_law_is_decoded_too() {
        let now = Instant::now();
        let mut leg = leg(Codec::Pcmu);
        let mut peer = Peer::new(Codec::Pcma, 1, 0, 0);
        let info = frame_info(leg.on_rtp(now, peer.audio(&SILENT_FRAME)).unwrap());
        assert_eq!(info.codec, Codec::Pcma);
        assert!(leg.frame().iter().all(|s| s.abs() <= 8));
    }

    #[test]
    fn produced_packets_carry_our_stream_and_codec() {
        let mut leg = leg(Codec::Pcma);
        let mut out = [0u8; 1500];
        let n = leg.produce_rtp(&SILENT_FRAME, &mut out).unwrap();
        let p = parse(&out[..n]);
        assert_eq!(
            (p.ssrc, p.sequence, p.timestamp),
            (Ssrc(0xABCD), SeqNo(1000), RtpTimestamp(77))
        );
        assert_eq!(p.payload_type, PayloadType::PCMA);
        assert!(p.marker);
        assert!(p.payload.iter().all(|&b| b == Codec::Pcma.silence_byte()));
        leg.set_codec(Codec::Pcmu);
        let n = leg.produce_rtp(&SILENT_FRAME, &mut out).unwrap();
        let p = parse(&out[..n]);
        assert_eq!(p.payload_type, PayloadType::PCMU);
        assert_eq!((p.sequence, p.timestamp), (SeqNo(1001), RtpTimestamp(237)));
        let c = leg.counters();
        assert_eq!(
            (c.packets_out, c.bytes_out, c.local_ssrc),
            (2, 320, Ssrc(0xABCD))
        );
        assert_eq!(c.packets_in, 0);
    }
}
