//! Music on hold: a soft, repeating melody of sine tones, generated one 20 ms frame at
//! a time.
//!
//! A held party must keep hearing something (music or silence,
//! `docs/call-control.md#hold`), and its stream must keep flowing so its jitter buffer,
//! NAT binding and RTP timeouts see no gap. This generator needs no file and no allocation: a short
//! phrase of the A-major pentatonic scale (440–880 Hz, inside the telephone band),
//! each note a sine with a quieter octave partial, shaped by a gentle attack and a long
//! release so nothing clicks, the whole at about −20 dBFS while a note sounds. The
//! phrase repeats every [`Moh::PERIOD_SAMPLES`] samples.

use crate::codec::Frame;

/// One note of the phrase: its frequency (0 = a rest) and length in 20 ms frames.
#[derive(Clone, Copy)]
struct Note {
    hz: f32,
    frames: u32,
}

const fn note(hz: f32, frames: u32) -> Note {
    Note { hz, frames }
}

/// A4 C#5 E5 F#5 A5: the A-major pentatonic scale, which has no dissonant step.
const A4: f32 = 440.0;
const CS5: f32 = 554.37;
const E5: f32 = 659.26;
const FS5: f32 = 739.99;
const A5: f32 = 880.0;

/// The phrase: 20 ms frames per note (20 = 400 ms), ending on a rest before it repeats.
const PHRASE: [Note; 16] = [
    note(A4, 20),
    note(CS5, 20),
    note(E5, 20),
    note(A5, 40),
    note(FS5, 20),
    note(E5, 20),
    note(CS5, 40),
    note(0.0, 10),
    note(E5, 20),
    note(FS5, 20),
    note(E5, 20),
    note(CS5, 20),
    note(A4, 40),
    note(CS5, 20),
    note(A4, 60),
    note(0.0, 30),
];

const RATE: f32 = 8_000.0;
const FRAME: u32 = crate::codec::FRAME_SAMPLES as u32;
/// Peak of the fundamental: with the partial, a sounding note's RMS is about −20 dBFS.
const AMPLITUDE: f32 = 5_000.0;
/// The octave partial, relative to the fundamental: a rounder, less pure-sine timbre.
const PARTIAL: f32 = 0.18;
/// 30 ms rise, then a slow decay to the release.
const ATTACK: f32 = 240.0;
/// The last 120 ms of a note fade to zero.
const RELEASE: f32 = 960.0;

/// The music-on-hold generator. Cheap to make; holds only a position and a phase.
#[derive(Debug, Clone)]
pub struct Moh {
    note: usize,
    /// Samples into the current note.
    at: u32,
    /// Phase of the fundamental, in cycles (0..1).
    phase: f32,
}

impl Default for Moh {
    fn default() -> Self {
        Moh::new()
    }
}

impl Moh {
    /// Samples after which the phrase repeats.
    pub const PERIOD_SAMPLES: u32 = {
        let mut sum = 0;
        let mut i = 0;
        while i < PHRASE.len() {
            sum += PHRASE[i].frames * FRAME;
            i += 1;
        }
        sum
    };

    /// A generator at the start of the phrase.
    pub fn new() -> Moh {
        Moh {
            note: 0,
            at: 0,
            phase: 0.0,
        }
    }

    /// Writes the next 20 ms of the melody into `frame`.
    pub fn fill(&mut self, frame: &mut Frame) {
        for s in frame.iter_mut() {
            let n = PHRASE[self.note];
            let len = n.frames * FRAME;
            *s = if n.hz > 0.0 {
                let t = self.at as f32;
                let rise = (t / ATTACK).min(1.0);
                let fall = ((len as f32 - t) / RELEASE).min(1.0);
                // A gentle decay over the note: bell-like rather than organ-like.
                let decay = 1.0 - 0.35 * (t / len as f32);
                let env = rise * fall * decay;
                let w = core::f32::consts::TAU * self.phase;
                let v = w.sin() + PARTIAL * (2.0 * w).sin();
                self.phase += n.hz / RATE;
                self.phase -= self.phase.floor();
                (AMPLITUDE * env * v) as i16
            } else {
                0
            };
            self.at += 1;
            if self.at >= len {
                self.at = 0;
                self.phase = 0.0;
                self.note = (self.note + 1) % PHRASE.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::SILENT_FRAME;

    fn samples(moh: &mut Moh, frames: usize) -> Vec<i16> {
        let mut out = Vec::new();
        for _ in 0..frames {
            let mut f = SILENT_FRAME;
            moh.fill(&mut f);
            out.extend_from_slice(&f);
        }
        out
    }

    fn dbfs(s: &[i16]) -> f64 {
        let sum: f64 = s.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        20.0 * ((sum / s.len() as f64).sqrt() / 32768.0).log10()
    }

    #[test]
    fn a_sounding_note_is_about_minus_20_dbfs_and_the_whole_phrase_is_softer() {
        let mut moh = Moh::new();
        let all = samples(&mut moh, (Moh::PERIOD_SAMPLES / FRAME) as usize);
        // The second frame of the first note: past the attack, before the release.
        let level = dbfs(&all[160 * 5..160 * 10]);
        assert!(
            (-22.0..=-18.0).contains(&level),
            "note level {level:.1} dBFS"
        );
        let overall = dbfs(&all);
        assert!(
            (-28.0..=-19.0).contains(&overall),
            "phrase {overall:.1} dBFS"
        );
        assert!(all.iter().all(|&s| s.abs() < 8_000), "never loud");
    }

    #[test]
    fn every_note_fades_in_and_out_so_nothing_clicks() {
        // A click is a step at a note's start or end; the envelope is near zero there.
        let mut moh = Moh::new();
        let all = samples(&mut moh, (Moh::PERIOD_SAMPLES / FRAME) as usize);
        let mut at = 0usize;
        for n in PHRASE {
            let end = at + (n.frames * FRAME) as usize;
            for edge in [&all[at..at + 8], &all[end - 8..end]] {
                let peak = edge.iter().map(|s| s.abs()).max().unwrap();
                assert!(
                    peak < 300,
                    "a step of {peak} at a note edge near sample {at}"
                );
            }
            at = end;
        }
    }

    #[test]
    fn the_phrase_repeats_and_is_not_one_tone() {
        let mut moh = Moh::new();
        let period = (Moh::PERIOD_SAMPLES / FRAME) as usize;
        let first = samples(&mut moh, period);
        let second = samples(&mut moh, period);
        assert_eq!(first, second, "the same phrase again");
        // Zero crossings per 400 ms note differ: several pitches.
        let crossings = |s: &[i16]| s.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        let a = crossings(&first[..3200]);
        let e = crossings(&first[6400..9600]);
        assert!(e > a + 100, "A4 {a} vs E5 {e} crossings");
    }
}
