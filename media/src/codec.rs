//! The audio codecs a leg can negotiate, and the fixed frame the pipeline moves.

use std::time::Duration;

use crate::g711;
use crate::ids::PayloadType;

/// Samples in one 20 ms frame at 8 kHz: the unit every stage of a leg works in
/// (RFC 3551 §4.5: G.711's default packetisation interval is 20 ms).
pub const FRAME_SAMPLES: usize = 160;

/// How long one [`Frame`] lasts.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);

/// One 20 ms frame of 8 kHz linear audio on the 16-bit scale.
pub type Frame = [i16; FRAME_SAMPLES];

/// A frame of digital silence.
pub const SILENT_FRAME: Frame = [0; FRAME_SAMPLES];

/// A negotiated audio codec (RFC 3551 §4.5.14, static payload types of table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law, payload type 0.
    Pcmu,
    /// G.711 A-law, payload type 8.
    Pcma,
}

impl Codec {
    /// The static payload type (RFC 3551 table 4).
    pub const fn payload_type(self) -> PayloadType {
        match self {
            Codec::Pcmu => PayloadType::PCMU,
            Codec::Pcma => PayloadType::PCMA,
        }
    }

    /// The codec a static payload type stands for, if we speak it.
    pub const fn from_payload_type(pt: PayloadType) -> Option<Codec> {
        match pt.get() {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }

    /// The encoding name as written in SDP `a=rtpmap` (RFC 3551 §6).
    pub const fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// RTP clock rate in Hz, the unit of the timestamp.
    pub const fn clock_rate(self) -> u32 {
        8000
    }

    /// Samples (and timestamp units) in one 20 ms frame.
    pub const fn samples_per_frame(self) -> usize {
        FRAME_SAMPLES
    }

    /// Encoded octets in one 20 ms frame: G.711 is one octet a sample.
    pub const fn frame_bytes(self) -> usize {
        FRAME_SAMPLES
    }

    /// Samples carried by `octets` of payload.
    pub const fn samples_in(self, octets: usize) -> usize {
        octets
    }

    /// The octet that decodes to silence, for filling gaps without a decode/encode.
    pub const fn silence_byte(self) -> u8 {
        match self {
            Codec::Pcmu => g711::ULAW_SILENCE,
            Codec::Pcma => g711::ALAW_SILENCE,
        }
    }

    /// Decodes a payload into linear samples; returns the samples written.
    pub fn decode(self, payload: &[u8], out: &mut [i16]) -> usize {
        match self {
            Codec::Pcmu => g711::decode_ulaw(payload, out),
            Codec::Pcma => g711::decode_alaw(payload, out),
        }
    }

    /// Encodes linear samples into a payload; returns the octets written.
    pub fn encode(self, pcm: &[i16], out: &mut [u8]) -> usize {
        match self {
            Codec::Pcmu => g711::encode_ulaw(pcm, out),
            Codec::Pcma => g711::encode_alaw(pcm, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_payload_types_round_trip() {
        for codec in [Codec::Pcmu, Codec::Pcma] {
            assert_eq!(Codec::from_payload_type(codec.payload_type()), Some(codec));
        }
        assert_eq!(Codec::Pcmu.payload_type().get(), 0);
        assert_eq!(Codec::Pcma.payload_type().get(), 8);
        assert_eq!(Codec::from_payload_type(PayloadType::CN), None);
    }

    #[test]
    fn a_frame_is_twenty_milliseconds_at_8k() {
        for codec in [Codec::Pcmu, Codec::Pcma] {
            assert_eq!(codec.clock_rate(), 8000);
            let per_frame = codec.samples_per_frame() as u128;
            assert_eq!(per_frame * 1000 / u128::from(codec.clock_rate()), 20);
            assert_eq!(FRAME_DURATION.as_millis(), 20);
            assert_eq!(codec.frame_bytes(), 160);
        }
    }

    #[test]
    fn silence_byte_decodes_to_silence() {
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let payload = [codec.silence_byte(); FRAME_SAMPLES];
            let mut frame = [1i16; FRAME_SAMPLES];
            assert_eq!(codec.decode(&payload, &mut frame), FRAME_SAMPLES);
            assert!(frame.iter().all(|s| s.abs() <= 8), "{codec:?}");
            let mut back = [0u8; FRAME_SAMPLES];
            codec.encode(&SILENT_FRAME, &mut back);
            assert_eq!(back, payload);
        }
    }
}
