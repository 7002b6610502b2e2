//! A recording end to end: a real ring, the real writer thread, a real SQLite store,
//! the WAV read back with hound, and the index served by the HTTP API.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ringbuf::traits::Producer;
use ringbuf::HeapProd;
use serde_json::Value;
use sotto_media::codec::{Frame, FRAME_SAMPLES};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::config::Config;

/// Sample `n` of the customer's tone (400 Hz, left) or the agent's (1 kHz, right).
fn tone(n: usize, hz: f64, amplitude: f64) -> i16 {
    (amplitude * (2.0 * std::f64::consts::PI * hz * n as f64 / 8000.0).sin()).round() as i16
}

fn left(n: usize) -> i16 {
    tone(n, 400.0, 8000.0)
}

fn right(n: usize) -> i16 {
    tone(n, 1000.0, 4000.0) + 1 // never 0, so silence cannot pass for it
}

fn push_frames(prod: &mut HeapProd<FramePair>, frames: std::ops::Range<usize>) {
    for f in frames {
        let mut l: Frame = [0; FRAME_SAMPLES];
        let mut r: Frame = [0; FRAME_SAMPLES];
        for i in 0..FRAME_SAMPLES {
            l[i] = left(f * FRAME_SAMPLES + i);
            r[i] = right(f * FRAME_SAMPLES + i);
        }
        assert!(prod.try_push((l, r)).is_ok(), "ring full at frame {f}");
    }
}

/// Waits for the writer thread to catch up (it runs on its own clock); the timeout
/// only turns a hang into a failure.
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < give_up, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// One HTTP/1.1 GET over a raw socket: (status, lower-cased head, body bytes).
async fn get(addr: SocketAddr, path: &str) -> (u16, String, Vec<u8>) {
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).await.unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), raw[split + 4..].to_vec())
}

async fn get_json(addr: SocketAddr, path: &str) -> (u16, Value) {
    let (status, head, body) = get(addr, path).await;
    assert!(head.contains("content-type: application/json"), "{head}");
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_call_is_recorded_with_silence_indexed_and_served() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreHandle::open(dir.path()).unwrap();
    let recorder = Recorder::spawn(dir.path(), store.clone(), Config::default().recording).unwrap();
    let (mut prod, cons) = ring();
    let call = "c1/../x@edge"; // a Call-ID that must not become a path
    let handle = recorder.start(call, cons);

    // 0.0–0.5 s audio; 0.5–1.5 s paused (ended by hand after 1 s); 1.5–2.0 s audio;
    // 2.0–2.5 s paused (ends by itself after 0.5 s); 2.5–3.0 s audio.
    push_frames(&mut prod, 0..25);
    wait_until("25 frames", || handle.frames_written() == 25);
    handle.pause(Duration::from_secs(30));
    wait_until("the pause", || handle.is_paused());
    push_frames(&mut prod, 25..75);
    wait_until("75 frames", || handle.frames_written() == 75);
    assert!(handle.is_paused(), "30 s have not passed in the file");
    handle.resume();
    wait_until("the resume", || !handle.is_paused());
    push_frames(&mut prod, 75..100);
    wait_until("100 frames", || handle.frames_written() == 100);
    handle.pause(Duration::from_millis(500));
    wait_until("the second pause", || handle.is_paused());
    push_frames(&mut prod, 100..150);
    let id = handle.id().unwrap().to_owned();
    let row = handle.stop().await.unwrap().unwrap();

    assert_eq!(id, "c1_.._x@edge");
    assert_eq!(row.id, id);
    let path = dir.path().join("recordings").join(format!("{id}.wav"));
    assert_eq!(row.path, path.display().to_string());
    assert_eq!(row.duration_ms, 3000);
    assert_eq!(row.bytes, 44 + 150 * 640);
    let pauses: Vec<PauseSpan> = serde_json::from_str(&row.pauses).unwrap();
    let expect_pauses = [
        PauseSpan {
            start_ms: 500,
            end_ms: 1500,
        },
        PauseSpan {
            start_ms: 2000,
            end_ms: 2500,
        },
    ];
    assert_eq!(pauses, expect_pauses);

    let reader = hound::WavReader::open(&path).unwrap();
    let spec = reader.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, 8000, 16)
    );
    assert_eq!(reader.duration() as usize, 150 * FRAME_SAMPLES);
    let samples: Vec<i16> = reader.into_samples().map(Result::unwrap).collect();
    for (n, pair) in samples.chunks_exact(2).enumerate() {
        let ms = n / 8;
        let paused = (500..1500).contains(&ms) || (2000..2500).contains(&ms);
        let expect = if paused { [0, 0] } else { [left(n), right(n)] };
        assert_eq!(pair, expect, "sample {n} ({ms} ms)");
    }

    // The index, through the edge's own HTTP router.
    store.flush().await;
    let state = crate::api::AppState::new(
        crate::live::LiveCalls::new(),
        crate::live::Registrations::default(),
        Vec::new(),
        store.clone(),
        crate::sip_driver::DriverHandle::detached(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(crate::api::serve(listener, state, std::future::pending()));

    let (status, list) = get_json(addr, "/v1/recordings").await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let view = &list[0];
    assert_eq!(view["id"], id.as_str());
    assert_eq!(view["call_id"], call);
    assert_eq!(view["duration_ms"], 3000);
    assert_eq!(view["pauses"], serde_json::to_value(expect_pauses).unwrap());
    assert!(view["ended_at"].as_i64().unwrap() >= view["started_at"].as_i64().unwrap());
    assert!(view.get("path").is_none(), "the server path is not shown");

    let (_, other) = get_json(addr, "/v1/recordings?call_id=someone-else").await;
    assert_eq!(other, serde_json::json!([]));
    let (_, mine) = get_json(addr, "/v1/recordings?call_id=c1%2F..%2Fx%40edge").await;
    assert_eq!(mine.as_array().unwrap().len(), 1);

    let (status, one) = get_json(addr, &format!("/v1/recordings/{id}")).await;
    assert_eq!((status, &one), (200, view));

    let (status, head, wav) = get(addr, view["audio_url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert!(head.contains("content-type: audio/wav"), "{head}");
    assert_eq!(wav, std::fs::read(&path).unwrap());

    let (status, err) = get_json(addr, "/v1/recordings/nope/audio").await;
    assert_eq!(status, 404);
    assert!(err["error"].as_str().unwrap().contains("nope"), "{err}");
    std::fs::remove_file(&path).unwrap();
    let (status, err) = get_json(addr, &format!("/v1/recordings/{id}/audio")).await;
    assert_eq!(status, 404);
    assert!(err["error"].as_str().unwrap().contains("missing"), "{err}");
    let (status, _) = get_json(addr, "/v1/recordings").await;
    assert_eq!(status, 200, "the rest of the API still answers");
    let (status, _) = get_json(addr, "/healthz").await;
    assert_eq!(status, 200);
    let (status, _) = get_json(addr, "/v1/nothing").await;
    assert_eq!(status, 404);
    server.abort();
}

#[tokio::test]
async fn a_dropped_handle_still_finalizes_and_a_second_recording_of_a_call_gets_its_own_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreHandle::open(dir.path()).unwrap();
    let recorder = Recorder::spawn(dir.path(), store.clone(), Config::default().recording).unwrap();

    let (mut prod, cons) = ring();
    let first = recorder.start("call-7", cons);
    push_frames(&mut prod, 0..10);
    wait_until("the file", || first.id().is_some());
    drop(first);

    let (_prod2, cons2) = ring();
    let second = recorder.start("call-7", cons2);
    wait_until("the second file", || second.id().is_some());
    assert_eq!(second.id(), Some("call-7-2"));
    // Dropping the recorder finishes what is still recording.
    drop(second);
    drop(recorder);
    store.flush().await;

    let rows = store
        .read(|s| s.list_recordings(Some("call-7"), 10))
        .await
        .unwrap();
    let mut ids: Vec<_> = rows
        .iter()
        .map(|r| (r.id.as_str(), r.duration_ms))
        .collect();
    ids.sort();
    assert_eq!(ids, [("call-7", 200), ("call-7-2", 0)]);
    assert!(rows.iter().all(|r| r.ended_at.is_some()));
    let reader = hound::WavReader::open(dir.path().join("recordings/call-7.wav")).unwrap();
    assert_eq!(reader.duration() as usize, 10 * FRAME_SAMPLES);
}

#[test]
fn call_ids_become_safe_file_names() {
    assert_eq!(file_stem("abc-1@host"), "abc-1@host");
    assert_eq!(file_stem("../../etc/passwd"), "_._.._etc_passwd");
    assert_eq!(file_stem(".hidden"), "_hidden");
    assert_eq!(file_stem(""), "call");
    assert_eq!(file_stem("a b\\c\"d"), "a_b_c_d");
    assert_eq!(file_stem(&"x".repeat(500)).len(), 96);
}

#[test]
fn pauses_are_capped_at_the_configured_maximum() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreHandle::open(dir.path()).unwrap();
    let config = crate::config::RecordingConfig {
        auto_resume_seconds: 1,
        pause_max_seconds: 1,
    };
    let recorder = Recorder::spawn(dir.path(), store, config).unwrap();
    let (mut prod, cons) = ring();
    let handle = recorder.start("capped", cons);
    handle.pause(Duration::from_secs(3600));
    wait_until("the pause", || handle.is_paused());
    push_frames(&mut prod, 0..50);
    wait_until("50 frames", || handle.frames_written() == 50);
    assert!(handle.is_paused(), "1 s of file is 50 frames: still paused");
    push_frames(&mut prod, 50..51);
    wait_until("51 frames", || handle.frames_written() == 51);
    assert!(
        !handle.is_paused(),
        "the cap ended the hour-long pause after 1 s"
    );
}
