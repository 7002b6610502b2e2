//! The media hot path allocates nothing: a counting global allocator counts
//! what the media worker threads allocate while an echo call (denoise on)
//! runs at 50 packets a second, after a warm-up. Setup (a call added, its
//! pipeline built) may allocate; ticks may not.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::UdpSocket;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sotto::media_rt::{on_media_worker_thread, MediaEngine, PortAllocator};
use sotto_media::codec::Codec;

struct Counting;

static WORKER_ALLOCS: AtomicU64 = AtomicU64::new(0);

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

/// A 20 ms µ-law packet of a 440 Hz tone (so the denoiser has work to do).
fn packet(seq: u16, ts: u32, phase: &mut f32) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    for _ in 0..160 {
        *phase += 2.0 * std::f32::consts::PI * 440.0 / 8000.0;
        let s = (phase.sin() * 8000.0) as i16;
        p.push(sotto_media::g711::linear_to_ulaw(s));
    }
    p
}

#[test]
fn media_workers_allocate_nothing_per_tick() {
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
