//! The denoiser as a listener would judge it, through the real chain (8 kHz → 48 kHz →
//! RNNoise → 8 kHz): steady noise is pushed far down, a voiced (vowel-like) signal keeps
//! its level, and the stream comes out exactly [`DENOISE_DELAY`] samples late.

use std::f64::consts::PI;

use sotto_media::denoise::{DENOISE_DELAY, DENOISE_FRAME_SAMPLES};
use sotto_media::{Denoiser, Downsampler, Frame, Upsampler, FRAME_SAMPLES, WIDE_FRAME_SAMPLES};

/// Frames (20 ms) the denoiser gets to learn the noise before anything is measured.
const WARM_UP: usize = 50;
/// Frames measured after the warm-up.
const MEASURE: usize = 100;

/// xorshift64: reproducible noise without a dependency.
struct Noise(u64);

impl Noise {
    /// Uniform in −1..1.
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

fn to_frames(samples: impl Iterator<Item = f64>, frames: usize) -> Vec<Frame> {
    let v: Vec<i16> = samples
        .take(frames * FRAME_SAMPLES)
        .map(|s| s.round().clamp(-32768.0, 32767.0) as i16)
        .collect();
    v.chunks_exact(FRAME_SAMPLES)
        .map(|c| c.try_into().unwrap())
        .collect()
}

fn white(rms: f64, frames: usize) -> Vec<Frame> {
    let mut n = Noise(0x9E37_79B9_7F4A_7C15);
    let k = rms * 3f64.sqrt(); // uniform −1..1 has rms 1/√3
    to_frames(std::iter::repeat_with(move || k * n.next()), frames)
}

/// Pink (−3 dB/octave) noise: Paul Kellett's economy filter over white noise.
fn pink(rms: f64, frames: usize) -> Vec<Frame> {
    let mut n = Noise(0xD1B5_4A32_D192_ED03);
    let (mut b0, mut b1, mut b2) = (0.0, 0.0, 0.0);
    let raw: Vec<f64> = (0..frames * FRAME_SAMPLES)
        .map(|_| {
            let w = n.next();
            b0 = 0.99765 * b0 + w * 0.0990460;
            b1 = 0.96300 * b1 + w * 0.2965164;
            b2 = 0.57000 * b2 + w * 1.0526913;
            b0 + b1 + b2 + w * 0.1848
        })
        .collect();
    let scale = rms / (raw.iter().map(|v| v * v).sum::<f64>() / raw.len() as f64).sqrt();
    to_frames(raw.into_iter().map(|v| v * scale), frames)
}

/// A sustained vowel (/a/): a 120 Hz fundamental with vibrato and jitter-free harmonics up
/// to 3.4 kHz, shaped by formants at 700, 1200 and 2600 Hz, with a 4 Hz syllabic swell.
fn vowel(peak: f64, frames: usize) -> Vec<Frame> {
    let formant = |f: f64, centre: f64, width: f64| 1.0 / (1.0 + ((f - centre) / width).powi(2));
    let mut phase = [0f64; 28];
    let samples = (0..).map(move |n: usize| {
        let t = n as f64 / 8000.0;
        let f0 = 120.0 * (1.0 + 0.03 * (2.0 * PI * 5.0 * t).sin());
        let mut s = 0.0;
        for (h, ph) in phase.iter_mut().enumerate() {
            let fh = f0 * (h + 1) as f64;
            *ph += 2.0 * PI * fh / 8000.0;
            if fh < 3400.0 {
                let amp = formant(fh, 700.0, 130.0)
                    + 0.6 * formant(fh, 1200.0, 150.0)
                    + 0.3 * formant(fh, 2600.0, 200.0);
                s += amp * ph.sin();
            }
        }
        let swell = 0.6 + 0.4 * (2.0 * PI * 4.0 * t).sin().abs();
        peak / 3.0 * swell * s
    });
    to_frames(samples, frames)
}

fn mix(a: &[Frame], b: &[Frame]) -> Vec<Frame> {
    a.iter()
        .zip(b)
        .map(|(x, y)| std::array::from_fn(|i| x[i].saturating_add(y[i])))
        .collect()
}

/// Runs frames through up → denoise → down, returning the output and the VAD estimates.
fn chain(input: &[Frame]) -> (Vec<i16>, Vec<f32>) {
    let (mut up, mut dn, mut down) = (Upsampler::new(), Denoiser::new(), Downsampler::new());
    let mut wide = [0f32; WIDE_FRAME_SAMPLES];
    let mut frame = [0i16; FRAME_SAMPLES];
    let (mut out, mut vad) = (Vec::new(), Vec::new());
    for f in input {
        up.up(f, &mut wide);
        vad.push(dn.process(&mut wide));
        down.down(&wide, &mut frame);
        out.extend_from_slice(&frame);
    }
    (out, vad)
}

fn energy(x: &[i16]) -> f64 {
    x.iter().map(|&v| f64::from(v).powi(2)).sum()
}

/// Output/input energy over the measured frames, in dB.
fn level_change_db(input: &[Frame], output: &[i16]) -> f64 {
    let input: Vec<i16> = input.iter().flatten().copied().collect();
    let range = WARM_UP * FRAME_SAMPLES..(WARM_UP + MEASURE) * FRAME_SAMPLES;
    10.0 * (energy(&output[range.clone()]) / energy(&input[range])).log10()
}

/// Steady background noise at −40 dBFS (rms 328), a loud room on a phone line.
const NOISE_RMS: f64 = 328.0;

#[test]
fn steady_white_noise_drops_by_15_db() {
    let input = white(NOISE_RMS, WARM_UP + MEASURE);
    let (out, _) = chain(&input);
    let change = level_change_db(&input, &out);
    assert!(change <= -15.0, "white noise changed by {change:.1} dB");
}

#[test]
fn pink_noise_drops_by_15_db_even_at_minus_30_dbfs() {
    for rms in [NOISE_RMS, 1036.0] {
        let input = pink(rms, WARM_UP + MEASURE);
        let (out, _) = chain(&input);
        let change = level_change_db(&input, &out);
        assert!(
            change <= -15.0,
            "pink noise (rms {rms}) changed by {change:.1} dB"
        );
    }
}

#[test]
fn a_vowel_keeps_its_level_and_is_told_apart_from_noise() {
    let frames = WARM_UP + MEASURE;
    let input = vowel(12_000.0, frames);
    let (out, vad) = chain(&input);
    let change = level_change_db(&input, &out);
    assert!(change.abs() <= 3.0, "the vowel changed by {change:.1} dB");
    let voiced = vad[WARM_UP..].iter().sum::<f32>() / MEASURE as f32;
    let (_, noise_vad) = chain(&pink(NOISE_RMS, frames));
    let noise = noise_vad[WARM_UP..].iter().sum::<f32>() / MEASURE as f32;
    assert!(
        voiced > 0.8 && noise < 0.2,
        "VAD: vowel {voiced:.2}, noise {noise:.2}"
    );
}

#[test]
fn noise_between_vowels_drops_while_the_vowels_stay() {
    // 400 ms of vowel, 400 ms of noise alone, over −40 dBFS pink noise, for 4 s.
    let frames = 200;
    let on = |f: usize| (f / 20) % 2 == 1;
    let vowel = vowel(12_000.0, frames);
    let noise = pink(NOISE_RMS, frames);
    let bursts: Vec<Frame> = (0..frames)
        .map(|f| if on(f) { vowel[f] } else { [0; FRAME_SAMPLES] })
        .collect();
    let input = mix(&bursts, &noise);
    let (out, _) = chain(&input);
    // The chain's delay in 8 kHz samples (resampler both ways + RNNoise).
    let delay = (2 * sotto_media::FirDesign::default().delay_48k() + DENOISE_DELAY) / 6;
    let (mut gap_in, mut gap_out, mut talk_in, mut talk_out) = (0.0, 0.0, 0.0, 0.0);
    // Skip the first second, and 3 frames (60 ms) at each edge of a burst.
    for (f, frame) in input.iter().enumerate().take(frames - 1).skip(50) {
        if on(f.saturating_sub(3)) != on(f) || on(f + 3) != on(f) {
            continue;
        }
        let at = f * FRAME_SAMPLES;
        let i = energy(frame);
        let o = energy(&out[at + delay..at + delay + FRAME_SAMPLES]);
        if on(f) {
            talk_in += i;
            talk_out += o;
        } else {
            gap_in += i;
            gap_out += o;
        }
    }
    let gap = 10.0 * (gap_out / gap_in).log10();
    let talk = 10.0 * (talk_out / talk_in).log10();
    assert!(
        gap <= -15.0,
        "noise between the vowels changed by {gap:.1} dB"
    );
    assert!(
        talk.abs() <= 3.0,
        "the vowels (with noise) changed by {talk:.1} dB"
    );
}

#[test]
fn the_stream_comes_out_one_rnnoise_frame_late_and_starts_silent() {
    let input = vowel(12_000.0, 25);
    let mut up = Upsampler::new();
    let mut dn = Denoiser::new();
    let (mut before, mut after) = (Vec::new(), Vec::new());
    let mut wide = [0f32; WIDE_FRAME_SAMPLES];
    for f in &input {
        up.up(f, &mut wide);
        before.extend_from_slice(&wide);
        dn.process(&mut wide);
        after.extend_from_slice(&wide);
    }
    assert!(
        after[..DENOISE_FRAME_SAMPLES].iter().all(|&s| s == 0.0),
        "the pre-roll before the first frame is silence"
    );
    assert!(after[DENOISE_FRAME_SAMPLES..]
        .iter()
        .any(|&s| s.abs() > 1000.0));
    let correlation = |lag: usize| -> f64 {
        (2000..20_000)
            .map(|n| f64::from(before[n]) * f64::from(after[n + lag]))
            .sum()
    };
    let lag = (0..1500)
        .max_by(|&a, &b| correlation(a).total_cmp(&correlation(b)))
        .unwrap();
    assert_eq!(lag, DENOISE_DELAY);
}
