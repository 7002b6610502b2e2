//! Helpers for tests: a simulated peer that sends a sine wave as RTP.

use bytes::Bytes;

use crate::codec::{Codec, Frame, FRAME_SAMPLES};
use crate::ids::{PayloadType, RtpTimestamp, SeqNo, Ssrc};
use crate::rtp_packet::{write_packet, OutgoingHeader, RtpPacket};

/// `n` frames of a sine at `hz` and `amplitude`, sampled at 8 kHz.
pub fn sine_frames(hz: f64, amplitude: f64, n: usize) -> Vec<Frame> {
    (0..n)
        .map(|f| {
            let mut frame = [0i16; FRAME_SAMPLES];
            for (i, s) in frame.iter_mut().enumerate() {
                let t = (f * FRAME_SAMPLES + i) as f64 / 8000.0;
                *s = (amplitude * (2.0 * std::f64::consts::PI * hz * t).sin()).round() as i16;
            }
            frame
        })
        .collect()
}

/// Signal-to-noise ratio of `got` against `want`, in dB.
pub fn snr_db(want: &[i16], got: &[i16]) -> f64 {
    assert_eq!(want.len(), got.len());
    let (mut signal, mut noise) = (0f64, 0f64);
    for (&w, &g) in want.iter().zip(got) {
        signal += f64::from(w).powi(2);
        noise += (f64::from(w) - f64::from(g)).powi(2);
    }
    10.0 * (signal / noise.max(1e-9)).log10()
}

/// A remote endpoint sending one stream.
pub struct Peer {
    pub codec: Codec,
    pub ssrc: Ssrc,
    pub seq: SeqNo,
    pub ts: RtpTimestamp,
    pub marker: bool,
}

impl Peer {
    pub fn new(codec: Codec, ssrc: u32, seq: u16, ts: u32) -> Peer {
        Peer {
            codec,
            ssrc: Ssrc(ssrc),
            seq: SeqNo(seq),
            ts: RtpTimestamp(ts),
            marker: true,
        }
    }

    /// The next audio packet carrying `frame`.
    pub fn audio(&mut self, frame: &Frame) -> Bytes {
        let mut payload = [0u8; FRAME_SAMPLES];
        self.codec.encode(frame, &mut payload);
        self.packet(self.codec.payload_type(), &payload, FRAME_SAMPLES as u32)
    }

    /// The next packet with any payload type and payload, moving the timestamp on by
    /// `samples`.
    pub fn packet(&mut self, pt: PayloadType, payload: &[u8], samples: u32) -> Bytes {
        let header = OutgoingHeader {
            marker: std::mem::take(&mut self.marker),
            payload_type: pt,
            sequence: self.seq,
            timestamp: self.ts,
            ssrc: self.ssrc,
        };
        let mut out = vec![0u8; 12 + payload.len()];
        write_packet(&header, payload, &mut out).unwrap();
        self.seq = self.seq.next();
        self.ts = self.ts.advanced(samples);
        Bytes::from(out)
    }

    /// Skips `packets` (lost in the network): numbers and time move on unsent.
    pub fn lose(&mut self, packets: u16) {
        self.seq = SeqNo(self.seq.0.wrapping_add(packets));
        self.ts = self.ts.advanced(u32::from(packets) * FRAME_SAMPLES as u32);
    }
}

/// Parses what we sent.
pub fn parse(out: &[u8]) -> RtpPacket {
    RtpPacket::parse(Bytes::copy_from_slice(out)).unwrap()
}
