//! Helpers for tests: test signals and how close a copy came to them.

use crate::codec::{Frame, FRAME_SAMPLES};

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
