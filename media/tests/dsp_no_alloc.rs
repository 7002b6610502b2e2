//! No allocation per frame on the hot path (`docs/media.md#hot-path`). A counting
//! allocator watches this thread while 1000 frames go 8 kHz → 48 kHz → RNNoise → 8 kHz
//! after a short warm-up (nnnoiseless's FFT allocates its per-thread scratch on the
//! thread's first frame).

use sotto_media::{Denoiser, Downsampler, Frame, Upsampler, FRAME_SAMPLES, WIDE_FRAME_SAMPLES};

mod common;

use common::allocations;

/// A 440 Hz tone with a little noise, so the denoiser runs its network on every frame.
fn frame(n: usize) -> Frame {
    std::array::from_fn(|i| {
        let t = (n * FRAME_SAMPLES + i) as f32 / 8000.0;
        let noise = ((n * 7919 + i * 104_729) % 401) as f32 - 200.0;
        (8000.0 * (2.0 * std::f32::consts::PI * 440.0 * t).sin() + noise) as i16
    })
}

#[test]
fn up_denoise_down_does_not_allocate_per_frame() {
    let before_new = allocations();
    let mut up = Upsampler::new();
    let mut dn = Denoiser::new();
    let mut down = Downsampler::new();
    assert!(
        allocations() > before_new,
        "the counter sees the denoiser's boxed state"
    );

    let input: Vec<Frame> = (0..1010).map(frame).collect();
    let mut wide = [0f32; WIDE_FRAME_SAMPLES];
    let mut out = [0i16; FRAME_SAMPLES];
    let mut run = |f: &Frame| {
        up.up(f, &mut wide);
        let vad = dn.process(&mut wide);
        down.down(&wide, &mut out);
        (vad, out.iter().map(|&s| i64::from(s).abs()).sum::<i64>())
    };
    for f in &input[..10] {
        run(f);
    }

    let before = allocations();
    let mut level = 0;
    for f in &input[10..] {
        level += run(f).1;
    }
    let during = allocations() - before;

    assert!(level > 0, "the chain produced sound");
    assert_eq!(during, 0, "allocations over 1000 frames");
}
