//! Media path benchmarks, one function per criterion group: G.711, the 8 ↔ 48 kHz
//! resampler (the default design and the alternatives it was chosen over), RNNoise, and
//! the per-frame DSP chain a leg runs every 20 ms.
//!
//! `cargo bench --bench media` (add `-- resample/` etc. to run one group).

use std::f32::consts::PI;
use std::hint::black_box;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use sotto_media::denoise::DENOISE_FRAME_SAMPLES;
use sotto_media::pipeline::{LegPipeline, PipelineConfig};
use sotto_media::{
    g711, Denoiser, Downsampler, FirDesign, Frame, Upsampler, WideFrame, FRAME_SAMPLES,
    WIDE_FRAME_SAMPLES,
};
use sotto_media::{
    Codec, JitterBuffer, JitterConfig, Mixer, Playout, RtpPacket, RtpTimestamp, SeqNo, Ssrc,
};

/// One second of a noisy voice-like 8 kHz signal (a 150 Hz buzz with harmonics and
/// pseudo-random noise), so RNNoise runs its network rather than its silence shortcut.
fn signal_8k() -> Vec<Frame> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    (0..50)
        .map(|f| {
            std::array::from_fn(|i| {
                let t = (f * FRAME_SAMPLES + i) as f32 / 8000.0;
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let noise = ((x >> 54) as f32) - 512.0;
                let voice: f32 = (1..20)
                    .map(|h| (2.0 * PI * 150.0 * h as f32 * t).sin() / h as f32)
                    .sum();
                (4000.0 * voice + noise) as i16
            })
        })
        .collect()
}

fn signal_48k() -> Vec<WideFrame> {
    let mut up = Upsampler::new();
    signal_8k()
        .iter()
        .map(|f| {
            let mut w = [0f32; WIDE_FRAME_SAMPLES];
            up.up(f, &mut w);
            w
        })
        .collect()
}

fn g711(c: &mut Criterion) {
    let pcm = signal_8k()[10];
    let mut ulaw = [0u8; FRAME_SAMPLES];
    let mut alaw = [0u8; FRAME_SAMPLES];
    g711::encode_ulaw(&pcm, &mut ulaw);
    g711::encode_alaw(&pcm, &mut alaw);
    let mut frame = [0i16; FRAME_SAMPLES];
    let mut bytes = [0u8; FRAME_SAMPLES];
    let mut g = c.benchmark_group("g711");
    g.bench_function("decode_ulaw_160", |b| {
        b.iter(|| g711::decode_ulaw(black_box(&ulaw), black_box(&mut frame)))
    });
    g.bench_function("encode_ulaw_160", |b| {
        b.iter(|| g711::encode_ulaw(black_box(&pcm), black_box(&mut bytes)))
    });
    g.bench_function("decode_alaw_160", |b| {
        b.iter(|| g711::decode_alaw(black_box(&alaw), black_box(&mut frame)))
    });
    g.bench_function("encode_alaw_160", |b| {
        b.iter(|| g711::encode_alaw(black_box(&pcm), black_box(&mut bytes)))
    });
    g.finish();
}

fn resample(c: &mut Criterion) {
    let narrow = signal_8k()[10];
    let wide = signal_48k()[10];
    let designs = [
        ("", FirDesign::default()),
        ("_short49", FirDesign::SHORT),
        ("_97", FirDesign::new(16, 3.5)),
        ("_193", FirDesign::new(32, 7.5)),
    ];
    let mut g = c.benchmark_group("resample");
    for (suffix, design) in designs {
        let mut up = Upsampler::with_design(design);
        let mut out = [0f32; WIDE_FRAME_SAMPLES];
        g.bench_function(format!("up_8k_48k_20ms{suffix}"), |b| {
            b.iter(|| up.up(black_box(&narrow), black_box(&mut out)))
        });
        let mut down = Downsampler::with_design(design);
        let mut out = [0i16; FRAME_SAMPLES];
        g.bench_function(format!("down_48k_8k_20ms{suffix}"), |b| {
            b.iter(|| down.down(black_box(&wide), black_box(&mut out)))
        });
    }
    g.finish();
}

fn denoise(c: &mut Criterion) {
    let frames = signal_48k();
    let mut dn = Denoiser::new();
    let mut g = c.benchmark_group("denoise");
    let mut n = 0;
    // nnnoiseless on one 480-sample frame (plus the 480-sample copy `Denoiser` makes).
    g.bench_function("frame_480", |b| {
        b.iter(|| {
            let src = &frames[n % frames.len()];
            n += 1;
            let mut half: [f32; DENOISE_FRAME_SAMPLES] =
                src[..DENOISE_FRAME_SAMPLES].try_into().unwrap();
            dn.process_frame(black_box(&mut half))
        })
    });
    g.finish();
}

/// The DSP stages of one leg for one 20 ms packet, without RTP or jitter buffering.
struct Chain {
    up: Upsampler,
    denoiser: Denoiser,
    down: Downsampler,
    frame: Frame,
    wide: WideFrame,
}

/// decode → upsample → denoise (two RNNoise frames) → downsample → encode.
fn dsp_chain_20ms(
    chain: &mut Chain,
    payload: &[u8; FRAME_SAMPLES],
    out: &mut [u8; FRAME_SAMPLES],
) -> f32 {
    g711::decode_ulaw(payload, &mut chain.frame);
    chain.up.up(&chain.frame, &mut chain.wide);
    let vad = chain.denoiser.process(&mut chain.wide);
    chain.down.down(&chain.wide, &mut chain.frame);
    g711::encode_ulaw(&chain.frame, out);
    vad
}

fn pipeline(c: &mut Criterion) {
    let payloads: Vec<[u8; FRAME_SAMPLES]> = signal_8k()
        .iter()
        .map(|f| {
            let mut p = [0u8; FRAME_SAMPLES];
            g711::encode_ulaw(f, &mut p);
            p
        })
        .collect();
    let mut chain = Chain {
        up: Upsampler::new(),
        denoiser: Denoiser::new(),
        down: Downsampler::new(),
        frame: [0; FRAME_SAMPLES],
        wide: [0.0; WIDE_FRAME_SAMPLES],
    };
    let mut out = [0u8; FRAME_SAMPLES];
    let mut n = 0;
    let mut g = c.benchmark_group("pipeline");
    g.bench_function("dsp_only_20ms", |b| {
        b.iter(|| {
            let p = &payloads[n % payloads.len()];
            n += 1;
            dsp_chain_20ms(&mut chain, black_box(p), black_box(&mut out))
        })
    });
    g.finish();
}

/// RTP packets of the benchmark signal, as a peer would send them.
fn rtp_stream(ssrc: u32) -> Vec<Vec<u8>> {
    signal_8k()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut p = vec![0x80, 0x00];
            p.extend_from_slice(&(i as u16).to_be_bytes());
            p.extend_from_slice(&(i as u32 * 160).to_be_bytes());
            p.extend_from_slice(&ssrc.to_be_bytes());
            let mut payload = [0u8; FRAME_SAMPLES];
            g711::encode_ulaw(f, &mut payload);
            p.extend_from_slice(&payload);
            p
        })
        .collect()
}

fn leg(seed: u32, now: Instant) -> LegPipeline {
    LegPipeline::new(
        PipelineConfig {
            codec: Codec::Pcmu,
            telephone_event: None,
            ssrc: Ssrc(seed),
            first_seq: SeqNo(seed as u16),
            first_timestamp: RtpTimestamp(seed),
            denoise: true,
            seed: u64::from(seed),
        },
        now,
    )
}

/// A leg's whole path for one 20 ms packet, as a worker runs it: RTP parse →
/// jitter buffer → decode → 8→48 kHz → RNNoise (2 frames) → 48→8 kHz →
/// encode → RTP marshal. The simulated clock advances 20 ms a packet.
struct LegRun {
    leg: LegPipeline,
    packets: Vec<Vec<u8>>,
    /// Sequence and timestamp keep running past the 50 stored packets.
    n: u32,
    now: Instant,
    out: [u8; 1500],
}

impl LegRun {
    fn new(seed: u32, start: Instant) -> LegRun {
        LegRun {
            leg: leg(seed, start),
            packets: rtp_stream(seed),
            n: 0,
            now: start,
            out: [0; 1500],
        }
    }

    fn step(&mut self) -> usize {
        let i = self.n as usize % self.packets.len();
        let p = &mut self.packets[i];
        p[2..4].copy_from_slice(&(self.n as u16).to_be_bytes());
        p[4..8].copy_from_slice(&(self.n * 160).to_be_bytes());
        self.n += 1;
        self.now += Duration::from_millis(20);
        let _ = self.leg.receive(self.now, p);
        let frame = match self.leg.playout(self.now) {
            Some(f) => *f,
            None => return 0,
        };
        self.leg.send(self.now, &frame, &mut self.out).unwrap_or(0)
    }
}

fn pipeline_leg(c: &mut Criterion) {
    let start = Instant::now();
    let mut g = c.benchmark_group("pipeline");
    let mut one = LegRun::new(7, start);
    for _ in 0..100 {
        one.step(); // fill the jitter buffer, warm RNNoise
    }
    g.bench_function("leg_20ms", |b| b.iter(|| black_box(one.step())));
    // 64 legs interleaved: each iteration moves every leg one packet; the
    // reported time is per leg (cache effects of many legs included).
    let mut many: Vec<LegRun> = (0..64).map(|i| LegRun::new(100 + i, start)).collect();
    for _ in 0..100 {
        for l in many.iter_mut() {
            l.step();
        }
    }
    g.throughput(criterion::Throughput::Elements(64));
    g.bench_function("leg_20ms_x64", |b| {
        b.iter(|| {
            let mut total = 0;
            for l in many.iter_mut() {
                total += l.step();
            }
            black_box(total)
        })
    });
    g.finish();
}

fn mixer(c: &mut Criterion) {
    let frames = signal_8k();
    let mut mixer = Mixer::new();
    let slots: Vec<_> = (0..8).map(|_| mixer.add().expect("room for 8")).collect();
    let mut g = c.benchmark_group("mixer");
    g.bench_function("n_minus_one_8x160", |b| {
        b.iter(|| {
            for (i, s) in slots.iter().enumerate() {
                mixer.set_input(*s, &frames[i]).expect("a participant");
            }
            black_box(mixer.mix()[3][80])
        })
    });
    g.finish();
}

fn jitter(c: &mut Criterion) {
    let packets: Vec<RtpPacket> = rtp_stream(9)
        .into_iter()
        .map(|p| RtpPacket::parse(p.into()).expect("valid RTP"))
        .collect();
    let mut jb = JitterBuffer::new(JitterConfig::default());
    let start = Instant::now();
    let mut n: u32 = 0;
    let mut g = c.benchmark_group("jitter");
    g.bench_function("push_pop", |b| {
        b.iter(|| {
            let mut p = packets[n as usize % packets.len()].clone();
            p.sequence = SeqNo(n as u16);
            p.timestamp = RtpTimestamp(n * 160);
            let now = start + Duration::from_millis(20 * u64::from(n));
            n += 1;
            black_box(jb.push(now, &p));
            matches!(jb.pop(now), Playout::Frame { .. })
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    g711,
    resample,
    denoise,
    pipeline,
    pipeline_leg,
    mixer,
    jitter
);
criterion_main!(benches);
