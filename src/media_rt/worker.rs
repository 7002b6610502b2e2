//! Media worker threads: each owns a set of calls and moves every leg one
//! 20 ms frame per tick. The loop only `try_pop`s rings and control messages,
//! sends with non-blocking sockets, and sleeps until the next tick is due.

use super::net::{self, Slot, RING_SLOTS};
use super::{BoundLeg, LegCounters, LegRemote};
use ringbuf::traits::{Consumer, Split};
use ringbuf::{HeapCons, HeapRb};
use sotto_media::codec::{Frame, FRAME_DURATION};
use sotto_media::ids::{PayloadType, RtpTimestamp, SeqNo, Ssrc};
use sotto_media::pipeline::{LegPipeline, PipelineConfig};
use sotto_media::rtcp::NtpTime;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{oneshot, watch};

/// Per-worker counters for `/metrics`.
#[derive(Debug, Default)]
pub struct WorkerMetrics {
    pub calls: AtomicUsize,
    pub ticks: AtomicU64,
    /// Ticks that ran a whole frame late: the worker fell behind.
    pub overruns: AtomicU64,
    /// Time spent working, in microseconds (vs. sleeping).
    pub busy_us: AtomicU64,
}

enum Command {
    Add(Box<WorkerCall>),
    Remove(u64),
}

/// Something a call's media noticed that call control should know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaEvent {
    /// The [`MediaTask`] it came from.
    pub task: u64,
    /// Which leg (0 = caller, 1 = callee).
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
}

/// One leg as a worker holds it.
struct WorkerLeg {
    ring: HeapCons<Slot>,
    /// The leg's sockets, shared with its receive task: the worker sends
    /// through them directly (one descriptor each, no duplicate).
    socket: Arc<tokio::net::UdpSocket>,
    rtcp_socket: Arc<tokio::net::UdpSocket>,
    /// Where the peer's RTCP comes from (symmetric RTCP, RFC 4961).
    rtcp_latched: Option<SocketAddr>,
    pipeline: LegPipeline,
    remote: watch::Receiver<LegRemote>,
    current: LegRemote,
    latched: Option<SocketAddr>,
    counters: Arc<LegCounters>,
}

enum Shape {
    Echo(Box<WorkerLeg>),
    Bridge(Box<(WorkerLeg, WorkerLeg)>),
}

struct WorkerCall {
    id: u64,
    events: mpsc::SyncSender<MediaEvent>,
    shape: Shape,
    next_tick: Instant,
}

/// A running call's media; stops it when dropped.
pub struct MediaTask {
    id: u64,
    tx: mpsc::Sender<Command>,
    net_stops: Vec<oneshot::Sender<()>>,
    counters: Vec<Arc<LegCounters>>,
}

impl MediaTask {
    /// Identifies this call's media in [`MediaEvent`]s.
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn stop(&mut self) {
        if self.net_stops.is_empty() {
            return;
        }
        for s in self.net_stops.drain(..) {
            let _ = s.send(());
        }
        let _ = self.tx.send(Command::Remove(self.id));
    }

    /// The legs' counters, in leg order (caller first).
    pub fn counters(&self) -> Vec<Arc<LegCounters>> {
        self.counters.clone()
    }
}

impl Drop for MediaTask {
    fn drop(&mut self) {
        self.stop();
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
        for i in 0..workers.max(1) {
            let (tx, rx) = mpsc::channel();
            let metrics = Arc::new(WorkerMetrics::default());
            let m = metrics.clone();
            std::thread::Builder::new()
                .name(format!("sotto-media-{i}"))
                .spawn(move || run(rx, m))?;
            handles.push(WorkerHandle { tx, metrics });
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

    /// The `echo` route: the caller hears itself, through the pipeline
    /// (denoised when `denoise`).
    pub fn echo(&self, leg: BoundLeg, denoise: bool, seed: u32) -> std::io::Result<MediaTask> {
        let mut stops = Vec::new();
        let counters = vec![leg.counters.clone()];
        let leg = self.worker_leg(leg, denoise, seed, &mut stops)?;
        Ok(self.place(Shape::Echo(Box::new(leg)), stops, counters))
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
        let mut stops = Vec::new();
        let counters = vec![a.counters.clone(), b.counters.clone()];
        let a = self.worker_leg(a, denoise_a, seed, &mut stops)?;
        let b = self.worker_leg(b, denoise_b, seed.rotate_left(16) ^ 0x5bd1_e995, &mut stops)?;
        Ok(self.place(Shape::Bridge(Box::new((a, b))), stops, counters))
    }

    fn worker_leg(
        &self,
        leg: BoundLeg,
        denoise: bool,
        seed: u32,
        stops: &mut Vec<oneshot::Sender<()>>,
    ) -> std::io::Result<WorkerLeg> {
        let rtp = Arc::new(tokio::net::UdpSocket::from_std(leg.socket)?);
        let rtcp = Arc::new(tokio::net::UdpSocket::from_std(leg.rtcp_socket)?);
        let (send_socket, rtcp_send) = (rtp.clone(), rtcp.clone());
        let (prod, cons) = HeapRb::<Slot>::new(RING_SLOTS).split();
        let (stop_tx, stop_rx) = oneshot::channel();
        stops.push(stop_tx);
        tokio::spawn(net::receive(rtp, rtcp, prod, leg.counters.clone(), stop_rx));
        let mut remote = leg.remote_rx;
        let current = *remote.borrow_and_update();
        let mut x = seed | 1;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        let pipeline = LegPipeline::new(
            PipelineConfig {
                codec: current.codec,
                telephone_event: current.telephone_event.and_then(PayloadType::new),
                ssrc: Ssrc(next()),
                first_seq: SeqNo(next() as u16),
                first_timestamp: RtpTimestamp(next()),
                denoise,
                seed: u64::from(next()) << 32 | u64::from(next()),
            },
            Instant::now(),
        );
        Ok(WorkerLeg {
            ring: cons,
            socket: send_socket,
            rtcp_socket: rtcp_send,
            rtcp_latched: None,
            pipeline,
            remote,
            current,
            latched: None,
            counters: leg.counters,
        })
    }

    /// Puts a call on the worker with the fewest calls.
    fn place(
        &self,
        shape: Shape,
        net_stops: Vec<oneshot::Sender<()>>,
        counters: Vec<Arc<LegCounters>>,
    ) -> MediaTask {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let worker = self
            .workers
            .iter()
            .min_by_key(|w| w.metrics.calls.load(Ordering::Relaxed))
            .expect("at least one worker");
        worker.metrics.calls.fetch_add(1, Ordering::Relaxed);
        let call = WorkerCall {
            id,
            events: self.events.clone(),
            shape,
            next_tick: Instant::now() + FRAME_DURATION,
        };
        let _ = worker.tx.send(Command::Add(Box::new(call)));
        MediaTask {
            id,
            tx: worker.tx.clone(),
            net_stops,
            counters,
        }
    }
}

impl WorkerLeg {
    /// Hands everything the ring holds to the pipeline.
    fn drain(&mut self, now: Instant) {
        while let Some(slot) = self.ring.try_pop() {
            let datagram = &slot.data[..usize::from(slot.len)];
            if slot.rtcp {
                self.rtcp_latched = Some(slot.from);
                let _ = self.pipeline.receive_rtcp(now, datagram);
            } else {
                self.latched = Some(slot.from);
                let _ = self.pipeline.receive(now, datagram);
            }
        }
        if self.remote.has_changed().unwrap_or(false) {
            // A re-INVITE changed the far end (rare; the only read of shared state).
            self.current = *self.remote.borrow_and_update();
            if self.current.codec != self.pipeline.codec() {
                self.pipeline.set_codec(self.current.codec);
            }
        }
    }

    /// Encodes and sends one frame to the peer (unless it holds us).
    fn send(&mut self, now: Instant, frame: &Frame, out: &mut [u8]) {
        if !self.current.send {
            return;
        }
        let Some(to) = self.latched.or(self.current.addr) else {
            return;
        };
        let Ok(n) = self.pipeline.send(now, frame, out) else {
            return;
        };
        match send_now(&self.socket, &out[..n], to) {
            Ok(_) => {
                self.counters.packets_out.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.counters.send_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Sends our RTCP report when one is due.
    fn rtcp(&mut self, now: Instant, out: &mut [u8]) {
        if self.pipeline.rtcp_due().is_none_or(|t| t > now) {
            return;
        }
        // The wall clock, for the SR's NTP timestamp: read once per report.
        let wall = NtpTime::from_unix(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
        );
        let Some(n) = self.pipeline.poll_rtcp(now, wall, out) else {
            return;
        };
        let rtp_peer = self.latched.or(self.current.addr);
        let to = self
            .rtcp_latched
            .or_else(|| rtp_peer.map(|a| SocketAddr::new(a.ip(), a.port().wrapping_add(1))));
        if let Some(to) = to {
            let _ = send_now(&self.rtcp_socket, &out[..n], to);
        }
    }

    /// Hands telephone events to call control (never waits).
    fn events(&mut self, task: u64, leg: usize, tx: &mpsc::SyncSender<MediaEvent>) {
        while let Some(e) = self.pipeline.poll_event() {
            let _ = tx.try_send(MediaEvent {
                task,
                leg,
                digit: e.digit.to_char(),
                duration_ms: e.duration.as_millis() as u32,
            });
        }
    }

    /// Copies the pipeline's counters out for the API.
    fn publish(&self) {
        let s = self.pipeline.stats();
        let c = &self.counters;
        c.lost.store(s.received.lost, Ordering::Relaxed);
        c.late.store(s.jitter.late, Ordering::Relaxed);
        c.duplicates.store(s.received.duplicates, Ordering::Relaxed);
        c.jitter
            .store(u64::from(s.received.jitter), Ordering::Relaxed);
        c.concealed
            .store(s.frames.frames_concealed, Ordering::Relaxed);
        c.denoised
            .store(s.frames.frames_denoised, Ordering::Relaxed);
    }
}

impl WorkerCall {
    /// One 20 ms frame for every leg of the call.
    fn tick(&mut self, now: Instant, out: &mut [u8]) {
        match &mut self.shape {
            Shape::Echo(leg) => {
                leg.drain(now);
                if let Some(frame) = leg.pipeline.playout(now).copied() {
                    leg.send(now, &frame, out);
                }
                leg.rtcp(now, out);
                leg.events(self.id, 0, &self.events);
                leg.publish();
            }
            Shape::Bridge(pair) => {
                let (a, b) = &mut **pair;
                a.drain(now);
                b.drain(now);
                let from_a = a.pipeline.playout(now).copied();
                let from_b = b.pipeline.playout(now).copied();
                if let Some(f) = from_a {
                    b.send(now, &f, out);
                }
                if let Some(f) = from_b {
                    a.send(now, &f, out);
                }
                a.rtcp(now, out);
                b.rtcp(now, out);
                a.events(self.id, 0, &self.events);
                b.events(self.id, 1, &self.events);
                a.publish();
                b.publish();
            }
        }
    }
}

/// A non-blocking `sendto` on a socket the runtime also polls: straight to
/// the system call (the worker thread is not a tokio thread, and a send never
/// needs tokio's readiness tracking). Fails rather than waits.
fn send_now(
    socket: &tokio::net::UdpSocket,
    packet: &[u8],
    to: SocketAddr,
) -> std::io::Result<usize> {
    socket2::SockRef::from(socket).send_to(packet, &to.into())
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

fn run(rx: mpsc::Receiver<Command>, metrics: Arc<WorkerMetrics>) {
    MEDIA_WORKER.with(|w| w.set(true));
    let mut calls: Vec<WorkerCall> = Vec::with_capacity(256);
    let mut out = [0u8; 1500];
    let epoch = Instant::now();
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
                    calls.push(*call);
                }
                Ok(Command::Remove(id)) => {
                    if let Some(i) = calls.iter().position(|c| c.id == id) {
                        calls.swap_remove(i);
                        metrics.calls.fetch_sub(1, Ordering::Relaxed);
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
                if call.next_tick + FRAME_DURATION < start {
                    // More than a frame behind: count it and skip ahead
                    // rather than bursting.
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
