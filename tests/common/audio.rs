//! Audio for the tests: G.711 µ-law (ITU-T G.711), RTP packets (RFC 3550 section 5.1),
//! WAV files, and the one measure the tests need: is there sound in it?

use std::path::Path;

/// µ-law byte to linear 16-bit sample (G.711; the same table every codec uses).
pub fn ulaw_to_linear(u: u8) -> i16 {
    let u = !u;
    let sign = u & 0x80;
    let exponent = (u >> 4) & 0x07;
    let mantissa = u & 0x0F;
    let magnitude = ((i32::from(mantissa) << 3) + 0x84) << exponent;
    let sample = magnitude - 0x84;
    (if sign != 0 { -sample } else { sample }) as i16
}

/// Root mean square of samples, on the i16 scale.
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / samples.len() as f64).sqrt()
}

/// Below this RMS (about −50 dBFS) a 20 ms frame counts as silence. G.711 idle noise and
/// comfort noise sit well under it; speech at a normal level sits far above.
pub const SILENCE_RMS: f64 = 100.0;

/// How much of a signal is sound: the share of 20 ms frames louder than [`SILENCE_RMS`].
pub fn voiced_fraction(samples: &[i16], sample_rate: u32) -> f64 {
    let frame = (sample_rate / 50).max(1) as usize;
    let frames: Vec<&[i16]> = samples.chunks(frame).filter(|c| c.len() == frame).collect();
    if frames.is_empty() {
        return 0.0;
    }
    let voiced = frames.iter().filter(|f| rms(f) > SILENCE_RMS).count();
    voiced as f64 / frames.len() as f64
}

/// A WAV file's samples, per channel, and its rate.
#[derive(Debug, Clone)]
pub struct Wav {
    pub sample_rate: u32,
    pub channels: Vec<Vec<i16>>,
}

impl Wav {
    /// Reads 16-bit integer or float WAV. Panics with the path on any error.
    pub fn read(path: &Path) -> Wav {
        let mut r = hound::WavReader::open(path)
            .unwrap_or_else(|e| panic!("open WAV {}: {e}", path.display()));
        let spec = r.spec();
        let n = usize::from(spec.channels.max(1));
        let interleaved: Vec<i16> = match spec.sample_format {
            hound::SampleFormat::Int if spec.bits_per_sample <= 16 => {
                r.samples::<i16>().map(|s| s.expect("WAV sample")).collect()
            }
            hound::SampleFormat::Int => {
                let shift = spec.bits_per_sample - 16;
                r.samples::<i32>()
                    .map(|s| (s.expect("WAV sample") >> shift) as i16)
                    .collect()
            }
            hound::SampleFormat::Float => r
                .samples::<f32>()
                .map(|s| (s.expect("WAV sample").clamp(-1.0, 1.0) * 32767.0) as i16)
                .collect(),
        };
        let mut channels = vec![Vec::with_capacity(interleaved.len() / n); n];
        for (i, s) in interleaved.into_iter().enumerate() {
            channels[i % n].push(s);
        }
        Wav {
            sample_rate: spec.sample_rate,
            channels,
        }
    }

    pub fn seconds(&self) -> f64 {
        self.channels.first().map_or(0, Vec::len) as f64 / f64::from(self.sample_rate)
    }

    /// The highest [`voiced_fraction`] over the channels.
    pub fn voiced_fraction(&self) -> f64 {
        self.channels
            .iter()
            .map(|c| voiced_fraction(c, self.sample_rate))
            .fold(0.0, f64::max)
    }
}

/// Writes mono 16-bit PCM.
pub fn write_wav(path: &Path, sample_rate: u32, samples: &[i16]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)
        .unwrap_or_else(|e| panic!("create WAV {}: {e}", path.display()));
    for &s in samples {
        w.write_sample(s).expect("write WAV sample");
    }
    w.finalize().expect("finalize WAV");
}

/// A minimal RTP packet: version 2, no padding, extension or CSRCs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtp {
    pub payload_type: u8,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload: Vec<u8>,
}

impl Rtp {
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(12 + self.payload.len());
        b.push(0x80);
        b.push(self.payload_type & 0x7F);
        b.extend_from_slice(&self.seq.to_be_bytes());
        b.extend_from_slice(&self.timestamp.to_be_bytes());
        b.extend_from_slice(&self.ssrc.to_be_bytes());
        b.extend_from_slice(&self.payload);
        b
    }

    /// Parses version-2 RTP, skipping CSRCs and a header extension; `None` otherwise
    /// (RTCP on the same port has payload types 200–204 with the marker bit: rejected).
    pub fn parse(b: &[u8]) -> Option<Rtp> {
        if b.len() < 12 || b[0] >> 6 != 2 {
            return None;
        }
        let pt = b[1] & 0x7F;
        if (72..=76).contains(&pt) {
            return None;
        }
        let csrc = usize::from(b[0] & 0x0F);
        let mut at = 12 + 4 * csrc;
        if b[0] & 0x10 != 0 {
            let ext = b.get(at + 2..at + 4)?;
            at += 4 + 4 * usize::from(u16::from_be_bytes([ext[0], ext[1]]));
        }
        let mut end = b.len();
        if b[0] & 0x20 != 0 {
            end = end.checked_sub(usize::from(*b.last()?))?;
        }
        Some(Rtp {
            payload_type: pt,
            seq: u16::from_be_bytes([b[2], b[3]]),
            timestamp: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            ssrc: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            payload: b.get(at..end)?.to_vec(),
        })
    }
}
