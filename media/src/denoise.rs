//! Noise removal with RNNoise (`nnnoiseless`), and which directions of a call get it.
//!
//! Noise is removed from the customer's audio toward agents by default; configuration
//! chooses `inbound`, `outbound`, `both` or `off` (`docs/media.md#noise-removal`).
//!
//! # What the denoiser does to time
//!
//! RNNoise analyses a 960-sample window (the previous 480-sample frame and the current
//! one) and rebuilds its output by overlap-add, so each output frame is the *previous*
//! input frame, cleaned: an algorithmic delay of exactly [`DENOISE_DELAY`] = 480 samples
//! at 48 kHz (10 ms), measured by cross-correlation in `media/tests/dsp_denoise.rs`. With
//! the default resampler (72 samples each way) the whole up → denoise → down chain delays
//! the audio by 624 samples at 48 kHz = 104 at 8 kHz = 13 ms.
//!
//! The very first output frame is therefore the silence before the stream began, with
//! the first frame leaking into it ~46 dB down (the pre-echo nnnoiseless's documentation
//! calls a fade-in and suggests discarding). [`Denoiser`] keeps the stream continuous
//! instead of dropping it (960 samples in, 960 out, every 20 ms) and writes that first
//! 10 ms as exact zeros; the frame after it comes out ~0.3 dB quieter while the network's
//! state warms up, then within 0.1 dB. A 20 ms [`WideFrame`] is two RNNoise frames, so
//! the second half of one packet comes out in the first half of the next.
//!
//! nnnoiseless expects 48 kHz samples on the 16-bit scale (±32768, not ±1.0: at unit
//! scale it sees silence and leaves the signal alone).
//!
//! # What it does to noise (measured through the 8 kHz chain, after 1 s)
//!
//! Pink noise at −40 and −30 dBFS drops by ~50 dB, white noise at −40 dBFS by ~35 dB, a
//! sustained vowel keeps its level (±0.1 dB), and noise between vowels drops ~25 dB.
//! One limit of the model: telephone-band *white* noise louder than about −33 dBFS
//! (rms ≳ 700) is left almost untouched (−1 dB at rms 800, −0.6 dB at rms 1000), whereas
//! pink noise at the same levels still drops > 40 dB.
//!
//! Cost: ~52 µs per 480-sample frame (`denoise/frame_480`), ~105 µs per 20 ms packet,
//! 98% of the DSP chain.

use std::fmt;
use std::str::FromStr;

use nnnoiseless::DenoiseState;

use crate::resample::{WideFrame, WIDE_FRAME_SAMPLES};

/// Samples in one RNNoise frame: 10 ms at 48 kHz.
pub const DENOISE_FRAME_SAMPLES: usize = DenoiseState::FRAME_SIZE;

/// The denoiser's algorithmic delay in 48 kHz samples (one RNNoise frame, 10 ms).
pub const DENOISE_DELAY: usize = DENOISE_FRAME_SAMPLES;

/// One leg's RNNoise state. The state (~tens of KiB) is boxed once in [`Denoiser::new`];
/// [`Denoiser::process`] allocates nothing. (The FFT under nnnoiseless keeps a scratch
/// buffer per thread, allocated on that thread's first frame and reused after.)
pub struct Denoiser {
    state: Box<DenoiseState<'static>>,
    /// nnnoiseless reads and writes different slices; the input is copied here first.
    input: [f32; DENOISE_FRAME_SAMPLES],
    /// No frame has been processed yet: the next output frame is the pre-roll.
    fresh: bool,
}

impl Denoiser {
    /// A denoiser with nnnoiseless's built-in model.
    pub fn new() -> Denoiser {
        Denoiser {
            state: DenoiseState::new(),
            input: [0.0; DENOISE_FRAME_SAMPLES],
            fresh: true,
        }
    }

    /// Denoises one 20 ms frame at 48 kHz in place (two RNNoise frames); samples on the
    /// 16-bit scale in and out. The output lags the input by [`DENOISE_DELAY`] samples.
    ///
    /// Returns the voice-activity probability in `0.0..=1.0`: the larger of the two
    /// 10 ms frames' estimates, so a packet counts as voiced when either half is (a
    /// talkspurt that starts or ends mid-packet is not missed). The estimate is about the
    /// input just given, not the delayed output.
    pub fn process(&mut self, frame: &mut WideFrame) -> f32 {
        let (first, second) = frame.split_at_mut(DENOISE_FRAME_SAMPLES);
        let a = self.process_frame(first.try_into().expect("half of a WideFrame"));
        let b = self.process_frame(second.try_into().expect("half of a WideFrame"));
        a.max(b)
    }

    /// Denoises one 10 ms RNNoise frame in place (a softphone's audio buffer may come in
    /// these); returns its voice-activity probability. The output lags the input by
    /// [`DENOISE_DELAY`] samples.
    pub fn process_frame(&mut self, frame: &mut [f32; DENOISE_FRAME_SAMPLES]) -> f32 {
        self.input.copy_from_slice(frame);
        let vad = self.state.process_frame(frame, &self.input);
        if self.fresh {
            // The first output is the 10 ms before the stream began: the window over
            // [silence | first frame] rebuilds silence, except that the gains' spread in
            // frequency leaks the first frame ~46 dB down into it (a pre-echo). Exact
            // zeros instead.
            frame.fill(0.0);
            self.fresh = false;
        }
        vad
    }
}

impl Default for Denoiser {
    fn default() -> Self {
        Denoiser::new()
    }
}

impl fmt::Debug for Denoiser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Denoiser")
            .field("fresh", &self.fresh)
            .finish_non_exhaustive()
    }
}

const _: () = assert!(WIDE_FRAME_SAMPLES == 2 * DENOISE_FRAME_SAMPLES);

/// Which directions of a call are denoised (`docs/media.md#noise-removal`). Inbound is
/// the customer's audio toward the agent; outbound is the agent's audio toward the
/// customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Denoise {
    /// Neither direction.
    Off,
    /// The customer's audio toward the agent: the default.
    #[default]
    Inbound,
    /// The agent's audio toward the customer.
    Outbound,
    /// Both directions.
    Both,
}

impl Denoise {
    /// Every mode, in configuration order.
    pub const ALL: [Denoise; 4] = [
        Denoise::Off,
        Denoise::Inbound,
        Denoise::Outbound,
        Denoise::Both,
    ];

    /// Whether the customer's audio toward the agent is denoised.
    pub const fn inbound(self) -> bool {
        matches!(self, Denoise::Inbound | Denoise::Both)
    }

    /// Whether the agent's audio toward the customer is denoised.
    pub const fn outbound(self) -> bool {
        matches!(self, Denoise::Outbound | Denoise::Both)
    }

    /// The configuration word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Denoise::Off => "off",
            Denoise::Inbound => "inbound",
            Denoise::Outbound => "outbound",
            Denoise::Both => "both",
        }
    }
}

impl fmt::Display for Denoise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A configuration value that is not one of `off`, `inbound`, `outbound`, `both`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("denoise mode {0:?} is not one of off, inbound, outbound, both")]
pub struct ParseDenoiseError(pub String);

impl FromStr for Denoise {
    type Err = ParseDenoiseError;

    /// Exact, lower-case words, as written in the configuration.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Denoise::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| ParseDenoiseError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_through_their_words() {
        for d in Denoise::ALL {
            assert_eq!(d.to_string().parse::<Denoise>(), Ok(d));
        }
        assert_eq!(
            "both"
                .parse::<Denoise>()
                .map(|d| (d.inbound(), d.outbound())),
            Ok((true, true))
        );
        assert!("Both".parse::<Denoise>().is_err());
        assert!("on".parse::<Denoise>().is_err());
        assert!("".parse::<Denoise>().is_err());
        assert_eq!(Denoise::default(), Denoise::Inbound);
    }
}
