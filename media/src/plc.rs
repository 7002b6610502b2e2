//! Packet loss concealment on decoded 8 kHz frames, after ITU-T G.711 Appendix I (09/99),
//! "A high quality low-complexity algorithm for packet loss concealment with G.711".
//!
//! When a frame is missing ([`crate::jitter::Playout::Missing`]), the speech is carried
//! on by repeating its last pitch period rather than the last 20 ms frame: a frame is not
//! a whole number of periods, so repeating it jumps phase at every seam (a click, then a
//! 50 Hz buzz). As in Appendix I:
//! - the pitch period is the lag of 40–120 samples (200–66 Hz) with the highest
//!   normalised cross-correlation between the last 20 ms and the signal before it;
//! - the first 10 ms play at full level, then the level falls linearly by 20% each
//!   10 ms, so the output is zero 60 ms (three frames) into a loss;
//! - the first good frame after a loss is cross-faded from the concealment's own
//!   continuation (5 ms), so speech resumes without a click.
//!
//! Where this differs from Appendix I: Appendix I delays the output by 3.75 ms so it can
//! overlap-add the start of the repeated period with the end of the good signal. Our
//! frames are already played when a loss is known, so instead the repeated period is
//! bent at its start by the mismatch between the last sample and its value one period
//! earlier (fading over a quarter period), which makes the seam, and every wrap of the
//! period, continue smoothly. Appendix I also lengthens the repeated segment to two and
//! three periods on longer losses; we repeat one period throughout (the fade hides it).
//! Samples never exceed the last good frame's peak.
//!
//! After the fade the output is digital silence, not comfort noise: the frame then goes
//! through the denoiser, the mixer and a G.711 encoder, where a −70 dBov noise sits at
//! the bottom one or two quantiser steps and would be removed again, and the level a
//! listener would accept is the far end's background, which the concealer cannot know.
//! Comfort noise belongs where that level is known (RFC 3389 CN from the peer).

use crate::codec::{Frame, FRAME_SAMPLES};

/// Frames into a loss after which the output is silence (60 ms, G.711 Appendix I).
pub const SILENT_AFTER_FRAMES: usize = 3;

/// Past signal kept for the pitch search: two frames.
const HISTORY: usize = 2 * FRAME_SAMPLES;
const MIN_PITCH: usize = 40;
const MAX_PITCH: usize = 120;
/// The correlation window: the last 20 ms.
const WINDOW: usize = FRAME_SAMPLES;
/// Samples at full level before the fade (10 ms).
const HOLD: usize = 80;
/// Samples over which the level falls to zero (50 ms).
const FADE: usize = SILENT_AFTER_FRAMES * FRAME_SAMPLES - HOLD;
/// Samples of a good frame cross-faded from the concealment (5 ms).
const CROSSFADE: usize = 40;

/// What [`Concealer::conceal`] produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concealment {
    /// The signal carried on from its last pitch period (level fading).
    Extrapolated,
    /// Silence: the loss is past 60 ms, or nothing was heard before it.
    Silence,
}

/// Conceals lost frames of one decoded stream. Call [`Concealer::on_good`] with every
/// frame that arrived, [`Concealer::conceal`] for every one that did not.
#[derive(Debug, Clone)]
pub struct Concealer {
    /// The last two frames played, oldest first.
    history: [i16; HISTORY],
    /// Peak magnitude of the last good frame: the concealment never exceeds it.
    peak: i16,
    /// The period being repeated, already bent to join smoothly.
    cycle: [i16; MAX_PITCH],
    period: usize,
    phase: usize,
    /// Samples concealed in the current loss; 0 when the last frame was good.
    erased: usize,
}

impl Default for Concealer {
    fn default() -> Self {
        Concealer::new()
    }
}

impl Concealer {
    /// A concealer that has heard nothing yet (it conceals with silence).
    pub const fn new() -> Concealer {
        Concealer {
            history: [0; HISTORY],
            peak: 0,
            cycle: [0; MAX_PITCH],
            period: 1,
            phase: 0,
            erased: 0,
        }
    }

    /// Forgets the stream: after a resync or a long silence nothing should be carried on.
    pub fn reset(&mut self) {
        *self = Concealer::new();
    }

    /// Whether the last frame was concealed.
    pub fn is_concealing(&self) -> bool {
        self.erased > 0
    }

    /// Records a frame that arrived, after cross-fading its first 5 ms from the
    /// concealment if the frame before it was concealed (so it may modify `frame`).
    pub fn on_good(&mut self, frame: &mut Frame) {
        if self.erased > 0 {
            for (i, s) in frame[..CROSSFADE].iter_mut().enumerate() {
                let carried = f32::from(self.next_sample());
                let w = (i + 1) as f32 / (CROSSFADE + 1) as f32;
                *s = (w * f32::from(*s) + (1.0 - w) * carried).round() as i16;
            }
            self.erased = 0;
        }
        self.remember(frame);
        self.peak = frame.iter().map(|s| s.saturating_abs()).max().unwrap_or(0);
    }

    /// Writes a frame to play in place of a missing one.
    pub fn conceal(&mut self, out: &mut Frame) -> Concealment {
        if self.erased == 0 {
            self.start_loss();
        }
        let silent = self.erased >= HOLD + FADE || self.peak == 0;
        for s in out.iter_mut() {
            *s = self.next_sample();
        }
        self.remember(out);
        if silent {
            Concealment::Silence
        } else {
            Concealment::Extrapolated
        }
    }

    fn remember(&mut self, frame: &Frame) {
        self.history.copy_within(FRAME_SAMPLES.., 0);
        self.history[FRAME_SAMPLES..].copy_from_slice(frame);
    }

    /// Picks the pitch period and prepares the cycle to repeat.
    fn start_loss(&mut self) {
        let h = &self.history;
        let n = HISTORY;
        let p = self.pitch();
        self.cycle[..p].copy_from_slice(&h[n - p..]);
        // The seam: after h[n-1] comes cycle[0] = h[n-p], which followed h[n-p-1]. Bend
        // the cycle's start by their difference, fading over a quarter period, so the
        // step at the seam (and at every wrap) is an ordinary step of the signal.
        let delta = i32::from(h[n - 1]) - i32::from(h[n - p - 1]);
        let ramp = (p / 4).max(1) as i32;
        for (j, c) in self.cycle[..ramp as usize].iter_mut().enumerate() {
            let bend = delta * (ramp - j as i32) / (ramp + 1);
            *c = (i32::from(*c) + bend).clamp(i16::MIN.into(), i16::MAX.into()) as i16;
        }
        self.period = p;
        self.phase = 0;
    }

    /// The lag in `MIN_PITCH..=MAX_PITCH` whose past best matches the last 20 ms
    /// (normalised cross-correlation, G.711 Appendix I §I.2.2).
    fn pitch(&self) -> usize {
        let h = &self.history;
        let recent = &h[HISTORY - WINDOW..];
        let mut best = (MIN_PITCH, f64::MIN);
        for p in MIN_PITCH..=MAX_PITCH {
            let past = &h[HISTORY - WINDOW - p..HISTORY - p];
            let (mut corr, mut energy) = (0i64, 0i64);
            for (&a, &b) in recent.iter().zip(past) {
                corr += i64::from(a) * i64::from(b);
                energy += i64::from(b) * i64::from(b);
            }
            if energy == 0 {
                continue;
            }
            // corr / sqrt(energy), compared without the root and keeping the sign.
            let score = corr as f64 * (corr as f64).abs() / energy as f64;
            if score > best.1 {
                best = (p, score);
            }
        }
        best.0
    }

    /// The next sample of the concealment: the cycle at the current level.
    fn next_sample(&mut self) -> i16 {
        let t = self.erased;
        self.erased = (t + 1).min(HOLD + FADE);
        let gain = if t < HOLD {
            1.0
        } else if t < HOLD + FADE {
            (HOLD + FADE - t) as f32 / FADE as f32
        } else {
            return 0;
        };
        let s = f32::from(self.cycle[self.phase]) * gain;
        self.phase = (self.phase + 1) % self.period;
        (s.round() as i16).clamp(-self.peak, self.peak)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::SILENT_FRAME;
    use crate::test_util::{sine_frames, snr_db};

    fn peak(f: &[i16]) -> i16 {
        f.iter().map(|s| s.saturating_abs()).max().unwrap()
    }

    fn max_step(f: &[i16]) -> i32 {
        f.windows(2)
            .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
            .max()
            .unwrap()
    }

    /// A voiced-speech stand-in: 125 Hz with two harmonics (period 64 samples).
    fn voiced(n: usize, amplitude: f64) -> Vec<Frame> {
        let a = sine_frames(125.0, amplitude, n);
        let b = sine_frames(250.0, amplitude * 0.5, n);
        let c = sine_frames(375.0, amplitude * 0.25, n);
        (0..n)
            .map(|f| std::array::from_fn(|i| a[f][i] / 2 + b[f][i] / 2 + c[f][i] / 2))
            .collect()
    }

    fn primed(frames: &[Frame]) -> Concealer {
        let mut c = Concealer::new();
        for f in frames {
            c.on_good(&mut f.clone());
        }
        c
    }

    #[test]
    fn carries_a_voiced_signal_on_for_the_first_ten_ms() {
        let frames = voiced(4, 12000.0);
        let mut c = primed(&frames[..3]);
        let mut out = SILENT_FRAME;
        assert_eq!(c.conceal(&mut out), Concealment::Extrapolated);
        let truth = &frames[3];
        assert!(
            snr_db(&truth[..HOLD], &out[..HOLD]) > 20.0,
            "the period repeated is the signal's own"
        );
    }

    #[test]
    fn fades_monotonically_and_is_silent_after_three_frames() {
        for signal in [voiced(3, 12000.0), sine_frames(440.0, 9000.0, 3)] {
            let mut c = primed(&signal);
            let last_peak = peak(&signal[2]);
            let mut peaks = Vec::new();
            let mut kinds = Vec::new();
            for _ in 0..8 {
                let mut out = [7i16; FRAME_SAMPLES];
                kinds.push(c.conceal(&mut out));
                peaks.push(peak(&out));
            }
            assert!(
                peaks[0] > last_peak * 3 / 4,
                "the first frame is loud: {peaks:?}"
            );
            assert!(peaks.windows(2).all(|w| w[1] <= w[0]), "{peaks:?}");
            assert!(peaks[2] < last_peak / 2, "{peaks:?}");
            assert!(peaks[SILENT_AFTER_FRAMES..].iter().all(|&p| p == 0));
            assert_eq!(kinds[2], Concealment::Extrapolated);
            assert!(kinds[SILENT_AFTER_FRAMES..]
                .iter()
                .all(|&k| k == Concealment::Silence));
        }
    }

    #[test]
    fn never_exceeds_the_last_good_frames_peak() {
        // Loud, then a quiet last frame; and noise, where the bend at the seam is large.
        let mut loud_then_quiet = voiced(3, 20000.0);
        loud_then_quiet[2] = voiced(3, 3000.0)[2];
        let mut seed = 0x1234_5678u32;
        let noise: Vec<Frame> = (0..3)
            .map(|_| {
                std::array::from_fn(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    (seed >> 16) as i16 / 2
                })
            })
            .collect();
        for signal in [loud_then_quiet, noise] {
            let mut c = primed(&signal);
            let limit = peak(&signal[2]);
            for _ in 0..4 {
                let mut out = SILENT_FRAME;
                c.conceal(&mut out);
                assert!(peak(&out) <= limit, "{} > {limit}", peak(&out));
            }
        }
    }

    #[test]
    fn no_click_where_the_loss_begins_or_ends() {
        for signal in [voiced(5, 12000.0), sine_frames(440.0, 9000.0, 5)] {
            let mut c = primed(&signal[..3]);
            let natural = max_step(&signal[2]);
            let bound = natural + natural / 4;

            let mut lost = SILENT_FRAME;
            c.conceal(&mut lost);
            let into = (i32::from(lost[0]) - i32::from(signal[2][FRAME_SAMPLES - 1])).abs();
            assert!(into <= bound, "step into the loss {into} > {bound}");
            assert!(max_step(&lost) <= bound, "steps within the concealment");

            // The real signal resumes (frame 4, one frame later than the concealed one).
            let mut back = signal[4];
            c.on_good(&mut back);
            let out = (i32::from(back[0]) - i32::from(lost[FRAME_SAMPLES - 1])).abs();
            assert!(out <= bound, "step out of the loss {out} > {bound}");
            assert!(max_step(&back) <= 2 * bound, "the cross-fade is smooth");
            assert_eq!(back[CROSSFADE..], signal[4][CROSSFADE..], "then untouched");
            assert!(!c.is_concealing());
        }
    }

    #[test]
    fn speech_after_silence_fades_in() {
        let signal = voiced(3, 12000.0);
        let mut c = primed(&signal[..2]);
        let mut out = SILENT_FRAME;
        for _ in 0..5 {
            c.conceal(&mut out);
        }
        let mut back = signal[2];
        c.on_good(&mut back);
        assert!(i32::from(back[0]).abs() <= i32::from(peak(&signal[2])) / 30);
        assert!(max_step(&back) <= max_step(&signal[2]) * 2);
    }

    #[test]
    fn nothing_heard_conceals_with_silence() {
        let mut c = Concealer::new();
        let mut out = [5i16; FRAME_SAMPLES];
        assert_eq!(c.conceal(&mut out), Concealment::Silence);
        assert_eq!(out, SILENT_FRAME);
        let mut c = primed(&voiced(2, 9000.0));
        c.reset();
        c.conceal(&mut out);
        assert_eq!(out, SILENT_FRAME);
    }
}
