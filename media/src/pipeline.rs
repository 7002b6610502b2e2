//! The per-leg media pipeline: one leg's receive side (RTP in → jitter buffer
//! → decode or conceal → 8 → 48 kHz → RNNoise → 48 → 8 kHz) and its send side
//! (RFC 4733 events or encode → packetise), moved one 20 ms frame per
//! [`LegPipeline::playout`], plus the leg's RTCP session.
//!
//! ```text
//! receive(now, datagram)            whenever a packet arrives (from a ring slot)
//! playout(now) -> Option<&Frame>    once per 20 ms tick; None while the stream is idle
//! send(now, &frame, out) -> len     our RTP packet for the peer (a DTMF packet may replace the audio)
//! receive_rtcp / poll_rtcp          RTCP on the leg's RTCP socket
//! poll_event() -> Option<DtmfEvent> telephone-events the peer sent, for call control
//! ```
//! Everything is allocated in [`LegPipeline::new`] (the denoiser's state
//! included, even when it starts off): nothing allocates per packet or frame.

use std::time::Instant;

use crate::codec::{Codec, Frame, SILENT_FRAME};
use crate::denoise::Denoiser;
use crate::dtmf::{Dtmf, DtmfEvent, DtmfReceiver, DtmfSender};
use crate::error::{Error, PeerMisbehaved};
use crate::ids::{PayloadType, RtpTimestamp, SeqNo, Ssrc};
use crate::jitter::{JitterBuffer, JitterConfig, JitterStats, Playout};
use crate::plc::Concealer;
use crate::resample::{Downsampler, Upsampler, WideFrame, WIDE_FRAME_SAMPLES};
use crate::rtcp::{NtpTime, RtcpConfig, RtcpError, RtcpSession, RtcpStats};
use crate::rtp_packet::parse_header;
use crate::rtp_receiver::{PayloadKind, ReceiveStats, ReceiverConfig, RtpReceiver};
use crate::rtp_sender::{RtpSender, SendStats};

/// How a leg is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineConfig {
    /// The negotiated codec (we send it and expect it).
    pub codec: Codec,
    /// The telephone-event payload type (RFC 4733), if negotiated.
    pub telephone_event: Option<PayloadType>,
    /// Our SSRC toward this peer.
    pub ssrc: Ssrc,
    /// Our first sequence number.
    pub first_seq: SeqNo,
    /// Our first timestamp.
    pub first_timestamp: RtpTimestamp,
    /// Remove noise from what this leg receives.
    pub denoise: bool,
    /// Seeds the RTCP interval randomisation.
    pub seed: u64,
}

/// Counters of one leg's pipeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PipelineStats {
    /// Receive side as RTP sees it (packets, RFC 3550 loss and jitter).
    pub received: ReceiveStats,
    /// The jitter buffer (late, lost at playout, delay).
    pub jitter: JitterStats,
    /// Send side.
    pub sent: SendStats,
    /// Playout.
    pub frames: FrameStats,
    /// RTCP: what the peer reports of our stream, round-trip time.
    pub rtcp: RtcpStats,
}

/// What playout did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FrameStats {
    /// Frames played out from real packets.
    pub frames_played: u64,
    /// Frames concealed (the packet was missing at its playout time).
    pub frames_concealed: u64,
    /// Frames that went through the denoiser.
    pub frames_denoised: u64,
    /// Voice-activity probability of the last denoised frame (0..1).
    pub last_vad: f32,
    /// Telephone events received.
    pub dtmf_received: u64,
}

/// The 48 kHz stage around RNNoise (allocated once, ~90 KB with its state).
struct DenoiseStage {
    up: Upsampler,
    denoiser: Denoiser,
    down: Downsampler,
    wide: WideFrame,
}

const EVENTS: usize = 8;

/// One leg's media state.
pub struct LegPipeline {
    codec: Codec,
    receiver: RtpReceiver,
    jitter: JitterBuffer,
    concealer: Concealer,
    stage: Box<DenoiseStage>,
    denoise: bool,
    sender: RtpSender,
    rtcp: RtcpSession,
    dtmf_in: DtmfReceiver,
    dtmf_out: DtmfSender,
    events: [Option<DtmfEvent>; EVENTS],
    frame: Frame,
    payload: [u8; 160],
    stats: FrameStats,
}

impl LegPipeline {
    /// Allocates everything the leg will ever need.
    pub fn new(config: PipelineConfig, now: Instant) -> LegPipeline {
        let te = config.telephone_event;
        LegPipeline {
            codec: config.codec,
            receiver: RtpReceiver::new(ReceiverConfig {
                telephone_event: te,
                clock_rate: config.codec.clock_rate(),
            }),
            jitter: JitterBuffer::new(JitterConfig::default()),
            concealer: Concealer::new(),
            stage: Box::new(DenoiseStage {
                up: Upsampler::new(),
                denoiser: Denoiser::new(),
                down: Downsampler::new(),
                wide: [0.0; WIDE_FRAME_SAMPLES],
            }),
            denoise: config.denoise,
            sender: RtpSender::new(
                config.ssrc,
                config.first_seq,
                config.first_timestamp,
                config.codec.payload_type(),
            ),
            rtcp: RtcpSession::new(RtcpConfig::new(config.ssrc, "sotto", config.seed), now),
            dtmf_in: DtmfReceiver::new(config.codec.clock_rate()),
            dtmf_out: DtmfSender::new(te.unwrap_or(PayloadType::new(101).expect("101 is dynamic"))),
            events: [None; EVENTS],
            frame: SILENT_FRAME,
            payload: [0; 160],
            stats: FrameStats::default(),
        }
    }

    /// The codec we send (and expect).
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// A re-INVITE changed the codec.
    pub fn set_codec(&mut self, codec: Codec) {
        self.codec = codec;
        self.sender.set_payload_type(codec.payload_type());
    }

    /// Turns the denoiser on or off for what this leg receives.
    pub fn set_denoise(&mut self, on: bool) {
        self.denoise = on;
    }

    /// Takes one RTP datagram from the peer.
    pub fn receive(&mut self, now: Instant, datagram: &[u8]) -> Result<(), PeerMisbehaved> {
        let (header, range) = match parse_header(datagram) {
            Ok(p) => p,
            Err(e) => {
                self.receiver.on_malformed();
                return Err(e);
            }
        };
        let payload = &datagram[range];
        let r = self.receiver.on_header(now, &header, payload.len());
        self.rtcp.on_reception(header.ssrc, r.arrival, r.ext_seq);
        match r.kind {
            PayloadKind::Audio(_) => {
                self.jitter.push_parts(now, &header, payload);
            }
            PayloadKind::TelephoneEvent => {
                if let Ok(Some(event)) = self.dtmf_in.on_payload(now, header.timestamp, payload) {
                    self.queue_event(event);
                }
            }
            PayloadKind::ComfortNoise | PayloadKind::Unknown => {}
        }
        Ok(())
    }

    fn queue_event(&mut self, event: DtmfEvent) {
        self.stats.dtmf_received += 1;
        if let Some(slot) = self.events.iter_mut().find(|e| e.is_none()) {
            *slot = Some(event);
        }
    }

    /// A telephone event the peer finished sending (RFC 4733), oldest first.
    pub fn poll_event(&mut self) -> Option<DtmfEvent> {
        // Called every tick; the queue is almost always empty.
        let first = self.events[0].take()?;
        self.events.rotate_left(1);
        Some(first)
    }

    /// Queues a digit to send to the peer (it replaces audio while it lasts).
    pub fn send_dtmf(&mut self, digit: Dtmf, duration: std::time::Duration) -> bool {
        self.dtmf_out.send(digit, duration).is_ok()
    }

    /// One 20 ms frame from this leg's peer; `None` while nothing flows.
    pub fn playout(&mut self, now: Instant) -> Option<&Frame> {
        if self.dtmf_in.poll_timeout().is_some_and(|t| t <= now) {
            if let Some(event) = self.dtmf_in.handle_timeout(now) {
                self.queue_event(event);
            }
        }
        match self.jitter.pop(now) {
            Playout::Frame { payload, codec, .. } => {
                codec.decode(payload, &mut self.frame);
                self.concealer.on_good(&mut self.frame);
                self.stats.frames_played += 1;
            }
            Playout::Missing => {
                self.concealer.conceal(&mut self.frame);
                self.stats.frames_concealed += 1;
            }
            Playout::Idle => {
                self.concealer.reset();
                return None;
            }
        }
        if self.denoise {
            let stage = &mut *self.stage;
            stage.up.up(&self.frame, &mut stage.wide);
            self.stats.last_vad = stage.denoiser.process(&mut stage.wide);
            stage.down.down(&stage.wide, &mut self.frame);
            self.stats.frames_denoised += 1;
        }
        Some(&self.frame)
    }

    /// Our packet for the peer this tick: a telephone-event packet while one
    /// is being sent, else `frame` encoded in our codec.
    pub fn send(&mut self, now: Instant, frame: &Frame, out: &mut [u8]) -> Result<usize, Error> {
        if let Some(n) = self.dtmf_out.produce_rtp(&mut self.sender, out)? {
            return Ok(n);
        }
        let timestamp = self.sender.next_timestamp();
        let n = self.codec.encode(frame, &mut self.payload);
        let len = self.sender.packetize(&self.payload[..n], out)?;
        self.rtcp.on_rtp_sent(now, timestamp);
        Ok(len)
    }

    /// An RTCP datagram from the peer.
    pub fn receive_rtcp(&mut self, now: Instant, datagram: &[u8]) -> Result<(), RtcpError> {
        self.rtcp.on_rtcp(now, datagram)
    }

    /// When the next RTCP report is due.
    pub fn rtcp_due(&self) -> Option<Instant> {
        self.rtcp.poll_timeout()
    }

    /// Our RTCP compound report, if one is due at `now` (`wall`: the wall
    /// clock for the SR's NTP timestamp).
    pub fn poll_rtcp(&mut self, now: Instant, wall: NtpTime, out: &mut [u8]) -> Option<usize> {
        let rx = *self.receiver.stats();
        let tx = *self.sender.stats();
        self.rtcp
            .poll_report(now, wall, &rx, &tx, out)
            .ok()
            .flatten()
    }

    /// Counters.
    pub fn stats(&self) -> PipelineStats {
        PipelineStats {
            received: *self.receiver.stats(),
            jitter: self.jitter.stats(),
            sent: *self.sender.stats(),
            frames: self.stats,
            rtcp: *self.rtcp.stats(),
        }
    }
}
