//! The per-leg media pipeline: one leg's receive side (RTP in → jitter buffer
//! → decode / conceal → optional denoise) and send side (encode → packetise),
//! moved one 20 ms frame per [`LegPipeline::playout`].
//!
//! ```text
//! receive(now, datagram)          any time a packet arrives (from a ring slot)
//! playout(now) -> Option<&Frame>  once per 20 ms tick; None while the stream is idle
//! send(&frame, out) -> len        encode in our codec and write the RTP packet
//! ```
//! Everything is fixed-size and allocated in [`LegPipeline::new`]: no
//! allocation per packet or frame.

use std::time::Instant;

use crate::codec::{Codec, Frame, SILENT_FRAME};
use crate::error::{Error, PeerMisbehaved};
use crate::ids::{PayloadType, RtpTimestamp, SeqNo, Ssrc};
use crate::rtp_packet::parse_header;
use crate::rtp_receiver::{PayloadKind, ReceiveStats, ReceiverConfig, RtpReceiver};
use crate::rtp_sender::{RtpSender, SendStats};

/// How a leg is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineConfig {
    /// The negotiated codec (we send it and expect it).
    pub codec: Codec,
    /// The peer's telephone-event payload type (RFC 4733), if negotiated.
    pub telephone_event: Option<PayloadType>,
    /// Our SSRC toward this peer.
    pub ssrc: Ssrc,
    /// Our first sequence number.
    pub first_seq: SeqNo,
    /// Our first timestamp.
    pub first_timestamp: RtpTimestamp,
    /// Remove noise from what this leg receives.
    pub denoise: bool,
}

/// Counters of one leg's pipeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PipelineStats {
    /// Receive side (packets, loss, jitter...).
    pub received: ReceiveStats,
    /// Send side.
    pub sent: SendStats,
    /// Playout.
    pub frames: FrameStats,
}

/// What playout did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FrameStats {
    /// Frames played out from real packets.
    pub frames_played: u64,
    /// Frames concealed (a packet was missing at its playout time).
    pub frames_concealed: u64,
    /// Frames that went through the denoiser.
    pub frames_denoised: u64,
    /// Voice-activity probability of the last denoised frame (0..1).
    pub last_vad: f32,
}

/// One leg's media state.
pub struct LegPipeline {
    codec: Codec,
    receiver: RtpReceiver,
    sender: RtpSender,
    /// The newest received frame, waiting for its playout.
    pending: Option<[u8; 160]>,
    frame: Frame,
    payload: [u8; 160],
    denoise: bool,
    started: bool,
    stats: FrameStats,
}

impl LegPipeline {
    /// Allocates everything the leg will ever need.
    pub fn new(config: PipelineConfig) -> LegPipeline {
        LegPipeline {
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
            pending: None,
            frame: SILENT_FRAME,
            payload: [0; 160],
            denoise: config.denoise,
            started: false,
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

    /// Takes one datagram from the peer.
    pub fn receive(&mut self, now: Instant, datagram: &[u8]) -> Result<(), PeerMisbehaved> {
        let (header, payload) = match parse_header(datagram) {
            Ok(p) => p,
            Err(e) => {
                self.receiver.on_malformed();
                return Err(e);
            }
        };
        let payload = &datagram[payload];
        let r = self.receiver.on_header(now, &header, payload.len());
        if let PayloadKind::Audio(codec) = r.kind {
            if codec == self.codec && payload.len() == 160 {
                let mut slot = [0u8; 160];
                slot.copy_from_slice(payload);
                self.pending = Some(slot);
                self.started = true;
            }
        }
        Ok(())
    }

    /// One 20 ms frame for the other side (or for this leg's own echo);
    /// `None` while nothing has been received yet.
    pub fn playout(&mut self, _now: Instant) -> Option<&Frame> {
        if !self.started {
            return None;
        }
        match self.pending.take() {
            Some(payload) => {
                self.codec.decode(&payload, &mut self.frame);
                self.stats.frames_played += 1;
            }
            None => {
                self.frame = SILENT_FRAME;
                self.stats.frames_concealed += 1;
            }
        }
        Some(&self.frame)
    }

    /// Encodes `frame` in our codec and writes the RTP packet into `out`.
    pub fn send(&mut self, frame: &Frame, out: &mut [u8]) -> Result<usize, Error> {
        let n = self.codec.encode(frame, &mut self.payload);
        self.sender.packetize(&self.payload[..n], out)
    }

    /// Counters.
    pub fn stats(&self) -> PipelineStats {
        PipelineStats {
            received: *self.receiver.stats(),
            sent: *self.sender.stats(),
            frames: self.stats,
        }
    }
}
