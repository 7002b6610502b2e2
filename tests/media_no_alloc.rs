//! The media hot path allocates nothing: a counting global allocator counts
//! what the media worker threads allocate while an echo call (denoise on),
//! then a four-party conference with a record tap, runs at 50 packets a
//! second per leg, after a warm-up. Setup (a call added, its pipeline built,
//! legs joining and leaving) may allocate; ticks may not. The two tests take
//! turns: the counter sees every engine's workers.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::UdpSocket;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ringbuf::traits::{Consumer, Split};
use ringbuf::HeapRb;
use sotto::media_rt::{on_media_worker_thread, HoldAudio, LegOptions, MediaEngine, PortAllocator};
use sotto_media::codec::Codec;
use sotto_media::codec::Frame;

struct Counting;

static WORKER_ALLOCS: AtomicU64 = AtomicU64::new(0);

#[allow(unsafe_code)] // the counting allocator is the one place unsafe is allowed
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if on_media_worker_thread() {
            WORKER_ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if on_media_worker_thread() {
            WORKER_ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// One test at a time: both count into [`WORKER_ALLOCS`].
static TURN: Mutex<()> = Mutex::new(());

/// A 20 ms µ-law packet of a 440 Hz tone (so the denoiser has work to do).
fn packet(seq: u16, ts: u32, phase: &mut f32) -> Vec<u8> {
    tone_packet(seq, ts, phase, 440.0)
}

fn tone_packet(seq: u16, ts: u32, phase: &mut f32, hz: f32) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    for _ in 0..160 {
        *phase += 2.0 * std::f32::consts::PI * hz / 8000.0;
        let s = (phase.sin() * 8000.0) as i16;
        p.push(sotto_media::g711::linear_to_ulaw(s));
    }
    p
}

#[test]
fn media_workers_allocate_nothing_per_tick() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (events, _events_rx) = std::sync::mpsc::sync_channel(16);
        let engine = MediaEngine::start(1, events).unwrap();
        let mut ports = PortAllocator::new("127.0.0.1".parse().unwrap(), 41000, 41100);
        let leg = ports.bind(Codec::Pcmu).expect("an RTP port");
        let port = leg.port;
        let metrics = engine.metrics();
        let _task = engine.echo(leg, true, 7).unwrap();

        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        peer.set_read_timeout(Some(Duration::from_millis(5)))
            .unwrap();
        let target = ("127.0.0.1", port);
        let mut phase = 0.0f32;
        let mut received = 0u32;
        let mut buf = [0u8; 1500];
        let start = Instant::now();
        let mut counted_from = None;
        for i in 0..200u32 {
            // 1 s of warm-up, then 3 s counted.
            if i == 50 {
                tokio::time::sleep(Duration::from_millis(40)).await;
                counted_from = Some((
                    WORKER_ALLOCS.load(Ordering::Relaxed),
                    metrics[0].ticks.load(Ordering::Relaxed),
                ));
            }
            peer.send_to(&packet(i as u16, i * 160, &mut phase), target)
                .unwrap();
            while peer.recv_from(&mut buf).is_ok() {
                received += 1;
            }
            let due = start + Duration::from_millis(20 * u64::from(i + 1));
            tokio::time::sleep(due.saturating_duration_since(Instant::now())).await;
        }
        let (allocs_before, ticks_before) = counted_from.unwrap();
        let allocs = WORKER_ALLOCS.load(Ordering::Relaxed) - allocs_before;
        let ticks = metrics[0].ticks.load(Ordering::Relaxed) - ticks_before;
        assert!(ticks >= 100, "the worker ticked only {ticks} times in 3 s");
        assert!(received >= 100, "only {received} packets echoed");
        assert_eq!(
            allocs, 0,
            "the media worker allocated {allocs} times over {ticks} ticks"
        );
    });
}

/// A four-leg conference (two legs denoised, one holding to music) with a
/// record tap. Before the warm-up ends its topology goes through every route
/// (mix, hold, copy, sum) and a leg leaves and another joins; while counted
/// it keeps mixing, recording, and holding and resuming a leg.
#[test]
fn a_conference_with_a_record_tap_allocates_nothing_per_tick() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (events, _events_rx) = std::sync::mpsc::sync_channel(16);
        let engine = MediaEngine::start(1, events).unwrap();
        let metrics = engine.metrics();
        let mut ports = PortAllocator::new("127.0.0.1".parse().unwrap(), 41200, 41300);
        let room = engine.room();
        let mut peers = Vec::new();
        let mut keys = Vec::new();
        let mut join = |peers: &mut Vec<(UdpSocket, u16)>, i: usize| {
            let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
            peer.set_nonblocking(true).unwrap();
            let leg = ports.bind(Codec::Pcmu).expect("an RTP port");
            let local = peer.local_addr().unwrap();
            leg.remote().send_modify(|r| r.addr = Some(local));
            let port = leg.port;
            let opts = LegOptions {
                denoise: i < 2,
                hold_audio: if i == 3 {
                    HoldAudio::Music
                } else {
                    HoldAudio::Silence
                },
                ..LegOptions::default()
            };
            let key = room.add_leg(leg, opts).unwrap();
            if i < peers.len() {
                peers[i] = (peer, port);
            } else {
                peers.push((peer, port));
            }
            key
        };
        for i in 0..4 {
            keys.push(join(&mut peers, i));
        }
        room.set_conference(&keys).unwrap();
        let (tap, mut recorded) = HeapRb::<(Frame, Frame)>::new(64).split();
        room.set_record_tap(Some(tap), &keys[..1], &keys[1..])
            .unwrap();

        let mut phases = [0.0f32; 4];
        let mut received = [0u32; 4];
        let mut pairs = 0u32;
        let mut buf = [0u8; 1500];
        let start = Instant::now();
        let mut counted_from = None;
        for i in 0..200u32 {
            match i {
                // Warm-up: every route, a leaver and a newcomer.
                10 => room
                    .set_topology(&[
                        (keys[3], &[]),
                        (keys[0], &[keys[1], keys[2]]),
                        (keys[1], &[keys[0], keys[2]]),
                        (keys[2], &[keys[0], keys[1]]),
                    ])
                    .unwrap(),
                15 => room
                    .set_topology(&[(keys[0], &[keys[1]]), (keys[1], &[keys[0], keys[3]])])
                    .unwrap(),
                20 => room.remove_leg(keys[2]).unwrap(),
                25 => {
                    keys[2] = join(&mut peers, 2);
                    room.set_conference(&keys).unwrap();
                    room.set_record_tap(None, &[], &[]).unwrap();
                    let (tap, cons) = HeapRb::<(Frame, Frame)>::new(64).split();
                    recorded = cons;
                    room.set_record_tap(Some(tap), &keys[..1], &keys[1..])
                        .unwrap();
                }
                50 => {
                    tokio::time::sleep(Duration::from_millis(40)).await;
                    counted_from = Some((
                        WORKER_ALLOCS.load(Ordering::Relaxed),
                        metrics[0].ticks.load(Ordering::Relaxed),
                    ));
                    received = [0; 4];
                    pairs = 0;
                }
                // Counted: hold and resume a leg (a topology change is no allocation).
                100 => room.set_hears(keys[3], &[]).unwrap(),
                130 => room.set_conference(&keys).unwrap(),
                _ => {}
            }
            for (k, (peer, port)) in peers.iter().enumerate() {
                let hz = 300.0 + 150.0 * k as f32;
                let p = tone_packet(i as u16, i * 160, &mut phases[k], hz);
                peer.send_to(&p, ("127.0.0.1", *port)).unwrap();
            }
            let due = start + Duration::from_millis(20 * u64::from(i + 1));
            tokio::time::sleep(due.saturating_duration_since(Instant::now())).await;
            for (k, (peer, _)) in peers.iter().enumerate() {
                while peer.recv_from(&mut buf).is_ok() {
                    received[k] += 1;
                }
            }
            pairs += recorded.pop_iter().count() as u32;
        }
        let (allocs_before, ticks_before) = counted_from.unwrap();
        let allocs = WORKER_ALLOCS.load(Ordering::Relaxed) - allocs_before;
        let ticks = metrics[0].ticks.load(Ordering::Relaxed) - ticks_before;
        assert!(ticks >= 100, "the worker ticked only {ticks} times in 3 s");
        for (k, n) in received.iter().enumerate() {
            assert!(*n >= 100, "peer {k} got only {n} packets in 3 s");
        }
        assert!(
            pairs >= 100,
            "the record tap gave only {pairs} pairs in 3 s"
        );
        assert_eq!(
            allocs, 0,
            "the media worker allocated {allocs} times over {ticks} conference ticks"
        );
    });
}
