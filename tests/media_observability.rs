//! What an operator sees of a call's media: per-leg counters in
//! `GET /v1/calls/{id}`, Prometheus text at `GET /metrics`, and RFC 4733
//! digits the caller pressed surfaced on the call. An echo call with denoise
//! on (the default) and telephone-event negotiated, from the test UA (`common::ua`)
//! whose RTP socket is driven here.

mod common;

use std::time::{Duration, Instant};

use common::sotto::Sotto;
use common::ua::{answered, Ua};

fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt | if marker { 0x80 } else { 0 }];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&0x0101_0101u32.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

#[test]
fn counters_metrics_and_dtmf_of_an_echo_call() {
    let sotto = Sotto::start();
    // An offer of PCMU and telephone-event on 101.
    let ua = Ua::builder("caller", sotto.sip)
        .telephone_event(101)
        .manual_media()
        .start();
    let call = ua.call(&sotto.uri("echo"));
    call.wait(Duration::from_secs(5), "answered", answered);
    let negotiated = call.read(|c| c.negotiated().cloned()).expect("SDP");
    let remote = negotiated.remote_rtp;
    assert_eq!(
        negotiated.telephone_event.map(|pt| pt.0),
        Some(101),
        "the answer keeps telephone-event/8000:\n{}",
        ua.trace_tail(6)
    );
    let media = call.media.socket();

    // 1.5 s of a 300 Hz tone, then the digit 5 (RFC 4733: 4 packets, the
    // same timestamp, three end packets), then 0.5 s more audio.
    let start = Instant::now();
    let mut seq = 0u16;
    let mut sent = 0;
    for k in 0..100u32 {
        let due = start + Duration::from_millis(20 * u64::from(k));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let ts = k * 160;
        if (75..79).contains(&k) {
            let end = k >= 76;
            let duration = ((k - 74) * 160) as u16;
            let mut ev = vec![5, if end { 0x80 | 10 } else { 10 }];
            ev.extend_from_slice(&duration.to_be_bytes());
            media
                .send_to(&rtp(101, k == 75, seq, 75 * 160, &ev), remote)
                .unwrap();
        } else {
            let tone: Vec<u8> = (0..160)
                .map(|i| {
                    let t = (k * 160 + i) as f32 / 8000.0;
                    let s = (2.0 * std::f32::consts::PI * 300.0 * t).sin() * 6000.0;
                    sotto_media::g711::linear_to_ulaw(s as i16)
                })
                .collect();
            media
                .send_to(&rtp(0, false, seq, ts, &tone), remote)
                .unwrap();
            sent += 1;
        }
        seq = seq.wrapping_add(1);
    }
    std::thread::sleep(Duration::from_millis(300));

    let calls = sotto.get("/v1/calls").json();
    let id = calls[0]["id"].as_str().expect("a call id").to_string();
    let call = sotto.get(&format!("/v1/calls/{id}")).json();
    let leg = &call["legs"][0];
    assert!(leg["packets_in"].as_u64().unwrap() >= 90, "{call}");
    assert!(leg["packets_out"].as_u64().unwrap() >= sent / 2, "{call}");
    assert!(
        leg["media"]["denoised"].as_u64().unwrap() > 0,
        "denoise is on by default: {call}"
    );
    assert_eq!(leg["media"]["lost"].as_u64(), Some(0), "{call}");
    assert_eq!(
        call["dtmf"].as_str(),
        Some("5"),
        "the digit reached call control: {call}"
    );

    let metrics = sotto.get("/metrics").text();
    for line in [
        "sotto_calls_active 1",
        &format!("sotto_leg_frames_denoised_total{{call=\"{id}\""),
        "sotto_media_worker_tick_overruns_total{worker=\"0\"}",
        "# TYPE sotto_leg_packets_in_total counter",
    ] {
        assert!(
            metrics.contains(line),
            "/metrics lacks {line:?}:\n{metrics}"
        );
    }
}
