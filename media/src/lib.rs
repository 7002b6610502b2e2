//! sotto-media: sans-IO, per-frame media for one call leg at a time.
//!
//! No sockets, threads, clocks or randomness live here: the runtime passes in every
//! datagram with the `Instant` it arrived, the SSRC and random starting numbers of each
//! stream, and buffers to write packets into. Nothing on the packet path allocates:
//! payloads are slices of the datagram's `Bytes`, frames are fixed [`Frame`] arrays
//! (20 ms, 160 samples at 8 kHz), and packets are written into caller-owned buffers.
//!
//! # The per-leg contract
//!
//! A [`pipeline::LegPipeline`] is one peer's media: RTP in → jitter buffer → G.711
//! decode or concealment → 8→48 kHz → RNNoise → 48→8 kHz, and out: RFC 4733 events
//! or encode → RTP, with the leg's RTCP session.
//!
//! 1. For each datagram from the peer, call `receive(now, &datagram)` (RTCP, on its
//!    own port: `receive_rtcp`). An `Err` is the peer's malformed datagram: count it.
//! 2. Every 20 ms, `playout(now)` moves one frame: `Some(&frame)` to forward (to the
//!    other leg of a bridge, back for echo, or into a mixer), `None` while idle.
//! 3. `send(now, &frame, &mut buf)` writes our packet for the peer; `poll_rtcp` our
//!    reports when due; `poll_event` hands over the digits the peer pressed.
//!
//! The media workers drive a pipeline per leg; `sotto call` drives one for its single
//! leg. [`Mixer`] is the N−1 conference mixer.
//!
//! Files: [`wav`] reads and writes the WAV files `sotto call --play/--record` uses;
//! [`recorder`] is a call recording's timeline (pauses as silence) and its stereo WAV.

#![forbid(unsafe_code)]

pub mod codec;
pub mod denoise;
pub mod dtmf;
pub mod error;
pub mod g711;
pub mod ids;
pub mod jitter;
pub mod mixer;
pub mod moh;
pub mod pipeline;
pub mod plc;
pub mod recorder;
pub mod resample;
pub mod rtcp;
pub mod rtp_packet;
pub mod rtp_receiver;
pub mod rtp_sender;
pub mod sequence;
pub mod wav;

#[cfg(test)]
mod test_util;

pub use codec::{Codec, Frame, FRAME_DURATION, FRAME_SAMPLES, SILENT_FRAME};
pub use denoise::{Denoise, Denoiser, ParseDenoiseError};
pub use dtmf::{Dtmf, DtmfEvent, DtmfReceiver, DtmfSender};
pub use error::{Error, PeerMisbehaved};
pub use ids::{ExtSeqNo, PayloadType, RtpTimestamp, SeqNo, Ssrc};
pub use jitter::{JitterBuffer, JitterConfig, JitterStats, Playout, PushOutcome, Refused};
pub use mixer::{Mixer, MixerError, MAX_PARTICIPANTS};
pub use plc::{Concealer, Concealment};
pub use recorder::{Pause, Recording, RecordingSummary, StereoWavStream};
pub use resample::{Downsampler, FirDesign, Upsampler, WideFrame, WIDE_FRAME_SAMPLES};
pub use rtcp::{NtpTime, RtcpConfig, RtcpError, RtcpSession, RtcpStats};
pub use rtp_packet::{is_rtcp, parse_header, RtpHeader, RtpPacket};
pub use rtp_receiver::{
    PayloadKind, ReceiveStats, ReceivedRtp, ReceiverConfig, Reception, RtpReceiver,
};
pub use rtp_sender::{RtpSender, SendStats};
pub use sequence::Arrival;
pub use wav::{WavError, WavReader, WavSpec, WavWriter};
