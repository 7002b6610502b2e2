//! Audio quality through the whole per-leg pipeline, in process and on a
//! simulated clock: noisy speech (5 dB SNR, `fixtures/audio`) goes in as RTP,
//! what `playout` gives back is measured against the clean speech and against
//! RNNoise run offline at 48 kHz. Packet loss and reordering must be concealed
//! frame for frame without a stall.

use std::time::{Duration, Instant};

use sotto_media::pipeline::{LegPipeline, PipelineConfig};
use sotto_media::{g711, Codec, Denoiser, Downsampler, FirDesign, Frame, Upsampler, WavReader};
use sotto_media::{RtpTimestamp, SeqNo, Ssrc, WIDE_FRAME_SAMPLES};

fn fixture(name: &str) -> String {
    format!("{}/../fixtures/audio/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn read_wav(name: &str) -> Vec<i16> {
    let f = std::fs::File::open(fixture(name)).expect("fixture");
    let mut r = WavReader::new(std::io::BufReader::new(f)).expect("WAV");
    let mut out = Vec::new();
    let mut buf = [0i16; 4096];
    loop {
        let n = r.read_mono(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// (is_speech, start_sample, end_sample) from `speech_segments.txt`.
fn segments() -> Vec<(bool, usize, usize)> {
    std::fs::read_to_string(fixture("speech_segments.txt"))
        .expect("labels")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let s = |x: &str| (x.parse::<f64>().unwrap() * 8000.0) as usize;
            (f[0] == "speech", s(f[1]), s(f[2]))
        })
        .collect()
}

fn pipeline(denoise: bool) -> LegPipeline {
    LegPipeline::new(
        PipelineConfig {
            codec: Codec::Pcmu,
            telephone_event: None,
            ssrc: Ssrc(1),
            first_seq: SeqNo(1),
            first_timestamp: RtpTimestamp(1),
            denoise,
            seed: 1,
        },
        Instant::now(),
    )
}

fn rtp(seq: u16, ts: u32, samples: &[i16]) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&0xfeed_f00du32.to_be_bytes());
    p.extend(samples.iter().map(|&s| g711::linear_to_ulaw(s)));
    p
}

/// What one tick of playout gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tick {
    Played,
    Concealed,
    Idle,
}

/// Runs `input` through a leg, one packet per 20 ms tick (`order` says which
/// packet arrives at each tick; `None` = lost). Returns the output samples
/// (silence while idle) and what each tick gave.
fn run(leg: &mut LegPipeline, input: &[i16], order: &[Option<usize>]) -> (Vec<i16>, Vec<Tick>) {
    let t0 = Instant::now();
    let frames = input.len() / 160;
    let mut out = Vec::with_capacity(input.len() + 1600);
    let mut produced = Vec::new();
    for tick in 0..frames + 10 {
        let now = t0 + Duration::from_millis(20 * tick as u64);
        if let Some(Some(k)) = order.get(tick) {
            let p = rtp(*k as u16, (*k * 160) as u32, &input[k * 160..k * 160 + 160]);
            leg.receive(now, &p).expect("valid RTP");
        }
        let concealed_before = leg.stats().frames.frames_concealed;
        let played = match leg.playout(now) {
            Some(f) => {
                out.extend_from_slice(f);
                true
            }
            None => {
                out.extend_from_slice(&[0; 160]);
                false
            }
        };
        produced.push(
            match (
                played,
                leg.stats().frames.frames_concealed > concealed_before,
            ) {
                (false, _) => Tick::Idle,
                (true, true) => Tick::Concealed,
                (true, false) => Tick::Played,
            },
        );
    }
    (out, produced)
}

/// The lag (in samples, output behind reference) that best lines them up.
fn best_lag(reference: &[i16], output: &[i16], max: usize) -> usize {
    let n = reference.len().min(output.len().saturating_sub(max));
    (0..max)
        .max_by_key(|&lag| {
            let c: f64 = (0..n)
                .step_by(2)
                .map(|i| f64::from(reference[i]) * f64::from(output[i + lag]))
                .sum();
            (c / 1e6) as i64
        })
        .unwrap()
}

fn rms_db(x: &[i16]) -> f64 {
    let p: f64 =
        x.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / x.len().max(1) as f64;
    10.0 * (p.max(1e-9)).log10() - 90.309 // dBFS (0 dB = full-scale square)
}

fn within(x: &[i16], a: usize, b: usize) -> &[i16] {
    &x[a.min(x.len())..b.min(x.len())]
}

/// RNNoise run offline at 48 kHz on the decoded µ-law input, with the
/// longest resampler the crate builds (32 taps a phase): the reference the
/// pipeline should match within its own resampler's error.
fn offline_reference(input: &[i16]) -> Vec<i16> {
    let design = FirDesign::new(32, 8.0);
    let mut up = Upsampler::with_design(design);
    let mut down = Downsampler::with_design(design);
    let mut denoiser = Denoiser::new();
    let mut out = Vec::with_capacity(input.len());
    for chunk in input.chunks_exact(160) {
        let mut frame: Frame = [0; 160];
        for (d, &s) in frame.iter_mut().zip(chunk) {
            *d = g711::ulaw_to_linear(g711::linear_to_ulaw(s));
        }
        let mut wide = [0f32; WIDE_FRAME_SAMPLES];
        up.up(&frame, &mut wide);
        denoiser.process(&mut wide);
        down.down(&wide, &mut frame);
        out.extend_from_slice(&frame);
    }
    out
}

#[test]
fn denoised_speech_keeps_its_level_while_the_noise_floor_drops() {
    let noisy = read_wav("noisy_speech_8k.wav");
    let clean = read_wav("speech_clean_8k.wav");
    let order: Vec<Option<usize>> = (0..noisy.len() / 160).map(Some).collect();
    let (out, _) = run(&mut pipeline(true), &noisy, &order);
    let lag = best_lag(&clean, &out, 800);
    let aligned = &out[lag..];
    // RNNoise adapts over its first second; measure from 1 s on, 80 ms in
    // from each boundary.
    let margin = 640;
    let mut report = Vec::new();
    let (mut pause_in, mut pause_out, mut speech_clean, mut speech_out) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (speech, a, b) in segments() {
        let (a, b) = ((a + margin).max(8000), b.saturating_sub(margin));
        if a >= b {
            continue;
        }
        if speech {
            speech_clean.extend_from_slice(within(&clean, a, b));
            speech_out.extend_from_slice(within(aligned, a, b));
        } else {
            pause_in.extend_from_slice(within(&noisy, a, b));
            pause_out.extend_from_slice(within(aligned, a, b));
        }
    }
    let floor_drop = rms_db(&pause_in) - rms_db(&pause_out);
    let speech_change = rms_db(&speech_out) - rms_db(&speech_clean);
    report.push(format!(
        "lag {lag} samples; noise floor in pauses {:.1} → {:.1} dBFS ({floor_drop:.1} dB down); \
         speech {:.1} dBFS clean vs {:.1} dBFS out ({speech_change:+.1} dB)",
        rms_db(&pause_in),
        rms_db(&pause_out),
        rms_db(&speech_clean),
        rms_db(&speech_out)
    ));
    eprintln!("{}", report.join("\n"));
    assert!(
        floor_drop >= 15.0,
        "noise floor only {floor_drop:.1} dB lower: {report:?}"
    );
    assert!(
        speech_change.abs() <= 3.0,
        "speech level moved {speech_change:+.1} dB: {report:?}"
    );
}

#[test]
fn pipeline_matches_offline_rnnoise_within_the_resampler_error() {
    let noisy = read_wav("noisy_speech_8k.wav");
    let order: Vec<Option<usize>> = (0..noisy.len() / 160).map(Some).collect();
    let (out, _) = run(&mut pipeline(true), &noisy, &order);
    let reference = offline_reference(&noisy);
    let lag = best_lag(&reference, &out, 800);
    // From 1 s on (both denoisers adapted), over the whole rest.
    let (a, b) = (8000, reference.len().min(out.len() - lag));
    let (mut signal, mut error) = (0f64, 0f64);
    for i in a..b {
        let r = f64::from(reference[i]);
        let d = f64::from(out[i + lag]) - r;
        signal += r * r;
        error += d * d;
    }
    let snr = 10.0 * (signal / error.max(1e-9)).log10();
    eprintln!("pipeline vs offline RNNoise at 48 kHz: SNR {snr:.1} dB (lag {lag} samples)");
    // Measured 2026-11-26: see BENCHMARKS.md. The two differ only by the
    // resampler (24 vs 32 taps a phase) and by where RNNoise's frames fall.
    assert!(
        snr >= 20.0,
        "pipeline differs from offline RNNoise: SNR {snr:.1} dB"
    );
}

#[test]
fn loss_and_reordering_are_concealed_frame_for_frame_without_a_stall() {
    let noisy = read_wav("noisy_speech_8k.wav");
    let n = noisy.len() / 160;
    // Fixed seed: 5% of packets lost, 5% swapped with their successor (one
    // tick late). Events are kept 3 packets apart: each loss then costs one
    // concealed frame, and so does a reorder the buffer's delay has not yet
    // grown to absorb (it grows at once; the first one shows it). A loss
    // right beside a reorder costs two (measured; noted on the issue).
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % 1000
    };
    let mut order: Vec<Option<usize>> = (0..n).map(Some).collect();
    let mut lost = 0;
    let mut k = 5;
    while k + 2 < n {
        match rand() {
            0..=49 => {
                order[k] = None;
                lost += 1;
                k += 3;
            }
            50..=99 => {
                order.swap(k, k + 1);
                k += 4;
            }
            _ => k += 1,
        }
    }
    let mut leg = pipeline(true);
    let (_, ticks) = run(&mut leg, &noisy, &order);
    let first = ticks
        .iter()
        .position(|&t| t != Tick::Idle)
        .expect("playout started");
    // After the last packet the buffer conceals until it goes idle: the end
    // of the stream, not a gap in it.
    let last = ticks.iter().rposition(|&t| t == Tick::Played).unwrap();
    let running = &ticks[first..=last];
    let stalls = running.iter().filter(|&&t| t == Tick::Idle).count();
    let longest_gap = running
        .split(|&t| t != Tick::Concealed)
        .map(<[Tick]>::len)
        .max()
        .unwrap_or(0);
    for (i, w) in running.windows(2).enumerate() {
        if w[0] == Tick::Concealed {
            let t = first + i;
            eprintln!(
                "DEBUG concealed at tick {t}{} order {:?}",
                if w[1] == Tick::Concealed {
                    " (+next)"
                } else {
                    ""
                },
                &order[t.saturating_sub(4)..(t + 2).min(n)]
            );
        }
    }
    let stats = leg.stats();
    eprintln!(
        "{lost} of {n} packets lost; {} frames concealed, longest run {longest_gap}; \
         jitter buffer {:?}",
        stats.frames.frames_concealed, stats.jitter
    );
    assert_eq!(stalls, 0, "playout stalled {stalls} times once started");
    assert!(longest_gap <= 1, "a gap of {longest_gap} concealed frames");
    assert_eq!(
        stats.jitter.played, stats.jitter.pushed,
        "every packet that came was played"
    );
    assert!(
        stats.frames.frames_concealed >= lost,
        "every lost packet concealed"
    );
}
