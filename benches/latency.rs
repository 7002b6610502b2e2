//! The edge's added one-way delay, measured on the wire through the `echo`
//! route: a voiced burst goes out in an RTP stream, and the time until its
//! onset comes back (to the sample) is what sotto added — loopback costs
//! microseconds. Run per denoise setting:
//!
//!     cargo bench --bench latency
//!
//! Prints the median and the spread over 12 bursts for `routes.denoise = off`
//! and `inbound`. A measurement, not a test: nothing here asserts a time.

#[path = "../tests/common/mod.rs"]
mod common;

use common::sotto::Sotto;
use common::ua::{answered, Ua};
use std::time::{Duration, Instant};

const BURSTS: usize = 12;
/// A burst every 25 packets (500 ms), after 1 s of lead-in.
const PERIOD: usize = 25;

/// A voiced 20 ms burst: harmonics of 150 Hz, as speech would have.
fn burst_frame() -> [i16; 160] {
    let mut f = [0i16; 160];
    for (i, s) in f.iter_mut().enumerate() {
        let t = i as f32 / 8000.0;
        let v: f32 = (1..=8)
            .map(|h| (2.0 * std::f32::consts::PI * 150.0 * h as f32 * t).sin() / h as f32)
            .sum();
        *s = (v * 6000.0) as i16;
    }
    f
}

fn rtp(seq: u16, frame: &[i16; 160]) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&0x0bad_cafeu32.to_be_bytes());
    p.extend(frame.iter().map(|&s| sotto_media::g711::linear_to_ulaw(s)));
    p
}

fn measure(denoise: &str) -> Vec<f64> {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sotto.toml");
    std::fs::write(&config, format!("[routes]\ndenoise = \"{denoise}\"\n")).unwrap();
    let sotto = Sotto::start_with(&["--config", config.to_str().unwrap()]);
    // The test UA places the call (PCMU offer, ACK); its RTP socket is driven here.
    let ua = Ua::builder("latency", sotto.sip).manual_media().start();
    let call = ua.call(&sotto.uri("echo"));
    call.wait(Duration::from_secs(5), "answered", answered);
    let remote = call
        .read(|c| c.negotiated().map(|n| n.remote_rtp))
        .expect("SDP answer");
    let media = call.media.socket();

    let receiver = media.try_clone().unwrap();
    let total = 50 + PERIOD * BURSTS + 25;
    let listen = std::thread::spawn(move || {
        // (arrival time of the onset sample, as an Instant)
        let mut onsets = Vec::new();
        let mut quiet_since: u32 = 0;
        let mut buf = [0u8; 1500];
        receiver
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let deadline = Instant::now() + Duration::from_millis(20 * total as u64 + 1000);
        while Instant::now() < deadline {
            let Ok((n, _)) = receiver.recv_from(&mut buf) else {
                continue;
            };
            let at = Instant::now();
            if n < 12 + 160 {
                continue;
            }
            for (i, &b) in buf[12..12 + 160].iter().enumerate() {
                let s = sotto_media::g711::ulaw_to_linear(b);
                if s.unsigned_abs() > 3000 {
                    if quiet_since > 2000 {
                        onsets.push(at + Duration::from_micros(i as u64 * 125));
                    }
                    quiet_since = 0;
                } else {
                    quiet_since += 1;
                }
            }
        }
        onsets
    });

    let silence = [0i16; 160];
    let burst = burst_frame();
    let start = Instant::now();
    let mut sent = Vec::new();
    for k in 0..total {
        let due = start + Duration::from_millis(20 * k as u64);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let is_burst = k >= 50 && (k - 50) % PERIOD == 0 && sent.len() < BURSTS;
        let frame = if is_burst { &burst } else { &silence };
        media.send_to(&rtp(k as u16, frame), remote).unwrap();
        if is_burst {
            // The burst's first sample is the first of this packet, which
            // left now.
            sent.push(Instant::now());
        }
    }
    let onsets = listen.join().unwrap();
    sent.iter()
        .zip(onsets.iter())
        .map(|(s, o)| o.saturating_duration_since(*s).as_secs_f64() * 1000.0)
        .collect()
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter we ignore.
    for mode in ["off", "inbound"] {
        let mut d = measure(mode);
        if d.is_empty() {
            println!("latency/echo denoise={mode}: no burst came back");
            continue;
        }
        d.sort_by(|a, b| a.total_cmp(b));
        let median = d[d.len() / 2];
        println!(
            "latency/echo denoise={mode}: one-way added delay median {median:.1} ms (min {:.1}, max {:.1}, n={})",
            d[0],
            d[d.len() - 1],
            d.len()
        );
    }
}
