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
//! A [`MediaLeg`] is one peer's RTP session: a receiver (RFC 3550 A.1 sequence
//! validation, loss/duplicate/reorder counts, A.8 jitter) and a sender (our SSRC, our
//! sequence and timestamp, the marker on talkspurt starts).
//!
//! 1. For each datagram from the peer (after RTCP is demultiplexed, [`is_rtcp`]), call
//!    [`MediaLeg::on_rtp`]`(now, bytes)`. [`LegInput::Frame`] means a frame was decoded
//!    into [`MediaLeg::frame`]; [`LegInput::TelephoneEvent`] carries RFC 4733 DTMF;
//!    [`LegInput::Ignored`] says why a packet is not played. An `Err` is the peer's
//!    malformed datagram: count it and carry on.
//! 2. To send a frame to the peer, call [`MediaLeg::produce_rtp`]`(&frame, &mut buf)` and
//!    send `buf[..n]`. Before it, [`MediaLeg::follow`] carries the source frame's timing
//!    (skipped samples, discontinuities) onto our stream, so the peer sees one continuous
//!    stream even when the source changes.
//!
//! Today's routes are packet-driven: [`Echo`] and [`Relay`] decode each packet and
//! re-encode it (transcoding PCMU↔PCMA across a relay). The full pipeline (jitter buffer
//! → decode → resample 8→48 kHz → RNNoise → resample → encode) becomes a `tick(now)`
//! every 20 ms that pulls a frame from the jitter buffer, runs its stages on fixed
//! buffers between `on_rtp` and `produce_rtp`, and always produces a frame (concealment
//! or silence when nothing arrived).
//!
//! Files: [`wav`] reads and writes the WAV files `sotto call --play/--record` uses.

#![warn(missing_docs)]

pub mod codec;
pub mod denoise;
pub mod dtmf;
pub mod error;
pub mod forward;
pub mod g711;
pub mod ids;
pub mod jitter;
pub mod leg;
pub mod mixer;
pub mod pipeline;
pub mod plc;
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
pub use forward::{Echo, Relay, Side};
pub use ids::{ExtSeqNo, PayloadType, RtpTimestamp, SeqNo, Ssrc};
pub use jitter::{JitterBuffer, JitterConfig, JitterStats, Playout, PushOutcome, Refused};
pub use leg::{FrameInfo, Ignored, LegConfig, LegInput, MediaLeg, RtpCounters};
pub use mixer::{Mixer, MixerError, MAX_PARTICIPANTS};
pub use plc::{Concealer, Concealment};
pub use resample::{Downsampler, FirDesign, Upsampler, WideFrame, WIDE_FRAME_SAMPLES};
pub use rtcp::{NtpTime, RtcpConfig, RtcpError, RtcpSession, RtcpStats};
pub use rtp_packet::{is_rtcp, parse_header, RtpHeader, RtpPacket};
pub use rtp_receiver::{
    PayloadKind, ReceiveStats, ReceivedRtp, ReceiverConfig, Reception, RtpReceiver,
};
pub use rtp_sender::{RtpSender, SendStats};
pub use sequence::Arrival;
pub use wav::{WavError, WavReader, WavSpec, WavWriter};
