//! Media worker threads: each owns a set of rooms (a call's media) and
//! moves every leg one 20 ms frame per tick. The loop only `try_pop`s rings and control messages,
//! sends with non-blocking sockets, and sleeps until the next tick is due.

use super::room::{LegOptions, Room};
use super::routing::{RoomCommand, WorkerRoom};
use super::{BoundLeg, LegCounters};
use sotto_media::codec::FRAME_DURATION;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Per-worker counters for `/metrics`.
#[derive(Debug, Default)]
pub struct WorkerMetrics {
    pub calls: AtomicUsize,
    pub ticks: AtomicU64,
    /// Frames a room skipped because its worker fell more than
    /// [`MAX_LAG`] behind.
    pub overruns: AtomicU64,
    /// Time spent working, in microseconds (vs. sleeping).
    pub busy_us: AtomicU64,
}

pub(super) enum Command {
    Add(Box<WorkerRoom>),
    Remove(u64),
    Room(u64, RoomCommand),
}

/// Something a call's media noticed that call control should know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaEvent {
    /// The [`Room`] (or [`MediaTask`]) it came from.
    pub task: u64,
    /// Which leg: its [`super::LegKey::index`] (for `bridge`, 0 = caller,
    /// 1 = callee).
    pub leg: usize,
    /// An RFC 4733 telephone event the leg's peer sent.
    pub digit: char,
    pub duration_ms: u32,
}

/// The media runtime: a fixed set of worker threads.
pub struct MediaEngine {
    workers: Vec<WorkerHandle>,
    next_id: AtomicU64,
    events: mpsc::SyncSender<MediaEvent>,
}

struct WorkerHandle {
    tx: mpsc::Sender<Command>,
    metrics: Arc<WorkerMetrics>,
    /// Receives for the worker's legs ([`super::net`]).
    io: super::net::NetThread,
}

/// A running echo or bridge call's media (a [`Room`] set up for it); stops
/// it when dropped.
pub struct MediaTask {
    room: Room,
    counters: Vec<Arc<LegCounters>>,
}

impl MediaTask {
    /// Identifies this call's media in [`MediaEvent`]s.
    pub fn id(&self) -> u64 {
        self.room.id()
    }

    pub fn stop(&mut self) {
        self.room.stop();
    }

    /// The legs' counters, in leg order (caller first).
    pub fn counters(&self) -> Vec<Arc<LegCounters>> {
        self.counters.clone()
    }

    /// The room underneath, for hold, DTMF and the rest.
    pub fn room(&self) -> &Room {
        &self.room
    }
}

impl MediaEngine {
    /// Starts `workers` threads (at least one). `events` receives what the
    /// calls' media noticed (a bounded channel: a worker never waits on it,
    /// and drops an event when it is full).
    pub fn start(
        workers: usize,
        events: mpsc::SyncSender<MediaEvent>,
    ) -> std::io::Result<MediaEngine> {
        let mut handles = Vec::new();
        // Workers tick on a grid from this instant; their network threads
        // collect just before each step of it.
        let epoch = Instant::now();
        for i in 0..workers.max(1) {
            let (tx, rx) = mpsc::channel();
            let metrics = Arc::new(WorkerMetrics::default());
            let m = metrics.clone();
            std::thread::Builder::new()
                .name(format!("sotto-media-{i}"))
                .spawn(move || run(rx, m, epoch))?;
            let io = super::net::NetThread::start(format!("sotto-rtp-{i}"), epoch, GRID)?;
            handles.push(WorkerHandle { tx, metrics, io });
        }
        Ok(MediaEngine {
            workers: handles,
            next_id: AtomicU64::new(1),
            events,
        })
    }

    pub fn metrics(&self) -> Vec<Arc<WorkerMetrics>> {
        self.workers.iter().map(|w| w.metrics.clone()).collect()
    }

    /// A new, empty room on the worker with the fewest calls. Its legs tick
    /// together every 20 ms from when they join.
    pub fn room(&self) -> Room {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let worker = self
            .workers
            .iter()
            .min_by_key(|w| w.metrics.calls.load(Ordering::Relaxed))
            .expect("at least one worker");
        worker.metrics.calls.fetch_add(1, Ordering::Relaxed);
        let tap_dropped = Arc::new(AtomicU64::new(0));
        let room = WorkerRoom::new(
            id,
            self.events.clone(),
            Instant::now() + FRAME_DURATION,
            tap_dropped.clone(),
        );
        let _ = worker.tx.send(Command::Add(Box::new(room)));
        Room::new(id, worker.tx.clone(), tap_dropped, worker.io.clone())
    }

    /// The `echo` route: the caller hears itself, through the pipeline
    /// (denoised when `denoise`).
    pub fn echo(&self, leg: BoundLeg, denoise: bool, seed: u32) -> std::io::Result<MediaTask> {
        let counters = vec![leg.counters.clone()];
        let room = self.room();
        let opts = LegOptions {
            denoise,
            seed,
            ..LegOptions::default()
        };
        let key = room.add_leg(leg, opts)?;
        room.set_hears(key, &[key])?;
        Ok(MediaTask { room, counters })
    }

    /// The B2BUA bridge: each peer hears the other; `denoise_a` cleans what A
    /// sends (toward B), `denoise_b` what B sends.
    pub fn bridge(
        &self,
        a: BoundLeg,
        b: BoundLeg,
        denoise_a: bool,
        denoise_b: bool,
        seed: u32,
    ) -> std::io::Result<MediaTask> {
        let counters = vec![a.counters.clone(), b.counters.clone()];
        let room = self.room();
        let opts = |denoise, seed| LegOptions {
            denoise,
            seed,
            ..LegOptions::default()
        };
        let ka = room.add_leg(a, opts(denoise_a, seed))?;
        let kb = room.add_leg(b, opts(denoise_b, seed.rotate_left(16) ^ 0x5bd1_e995))?;
        room.set_topology(&[(ka, &[kb]), (kb, &[ka])])?;
        Ok(MediaTask { room, counters })
    }
}

thread_local! {
    static MEDIA_WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the calling thread is a media worker. Allocation-free, so a
/// counting global allocator (in the tests) can use it to count only what the
/// workers allocate.
pub fn on_media_worker_thread() -> bool {
    MEDIA_WORKER.with(|w| w.get())
}

/// Sleep granularity: calls are ticked on a 2 ms grid so a worker wakes at
/// most ten times per frame whatever its number of calls.
const GRID: Duration = Duration::from_millis(2);

/// How far a room may fall behind and still catch up, a tick per pass, with
/// every frame sent (on a shared machine a worker is preempted now and then
/// for a few milliseconds): three frames. Further behind, the worker is
/// overloaded and skips ahead, counting an overrun; the receiver conceals.
const MAX_LAG: Duration = Duration::from_millis(60);

fn run(rx: mpsc::Receiver<Command>, metrics: Arc<WorkerMetrics>, epoch: Instant) {
    MEDIA_WORKER.with(|w| w.set(true));
    let mut calls: Vec<Box<WorkerRoom>> = Vec::with_capacity(256);
    let mut out = [0u8; 1500];
    let on_grid = |t: Instant| {
        let since = t.saturating_duration_since(epoch).as_nanos();
        let grid = GRID.as_nanos();
        epoch + Duration::from_nanos((since.div_ceil(grid) * grid) as u64)
    };
    loop {
        loop {
            match rx.try_recv() {
                Ok(Command::Add(mut call)) => {
                    call.next_tick = on_grid(call.next_tick);
                    calls.push(call);
                }
                Ok(Command::Remove(id)) => {
                    if let Some(i) = calls.iter().position(|c| c.id == id) {
                        calls.swap_remove(i);
                        metrics.calls.fetch_sub(1, Ordering::Relaxed);
                    }
                }
                Ok(Command::Room(id, command)) => {
                    if let Some(room) = calls.iter_mut().find(|c| c.id == id) {
                        room.apply(command);
                    }
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => return,
            }
        }
        let start = Instant::now();
        let mut next = start + FRAME_DURATION;
        for call in calls.iter_mut() {
            if call.next_tick <= start + GRID / 2 {
                call.tick(start, &mut out);
                metrics.ticks.fetch_add(1, Ordering::Relaxed);
                call.next_tick += FRAME_DURATION;
                if call.next_tick + MAX_LAG < start {
                    // Further behind than we catch up on: count it and skip
                    // ahead rather than bursting.
                    metrics.overruns.fetch_add(1, Ordering::Relaxed);
                    call.next_tick = start + FRAME_DURATION;
                }
            }
            next = next.min(call.next_tick);
        }
        let end = Instant::now();
        metrics.busy_us.fetch_add(
            end.duration_since(start).as_micros() as u64,
            Ordering::Relaxed,
        );
        if next > end {
            std::thread::sleep((next - end).max(GRID / 4).min(FRAME_DURATION));
        }
    }
}
