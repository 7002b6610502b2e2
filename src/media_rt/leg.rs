//! One leg as a worker holds it: the leg's pipeline, the ring its receive
//! task fills, and the sockets the worker sends through.

use super::net::{NetLeg, NetThread, Slot, RING_SLOTS};
use super::{BoundLeg, LegCounters, LegRemote};
use ringbuf::traits::{Consumer, Split};
use ringbuf::{HeapCons, HeapRb};
use sotto_media::codec::Frame;
use sotto_media::ids::{PayloadType, RtpTimestamp, SeqNo, Ssrc};
use sotto_media::pipeline::{LegPipeline, PipelineConfig};
use sotto_media::rtcp::NtpTime;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{oneshot, watch};

use super::worker::MediaEvent;

/// One leg as a worker holds it.
pub(super) struct WorkerLeg {
    ring: HeapCons<Slot>,
    /// The leg's sockets, shared with the network thread that reads them: the worker sends
    /// through them directly (one descriptor each, no duplicate).
    socket: Arc<std::net::UdpSocket>,
    rtcp_socket: Arc<std::net::UdpSocket>,
    /// Where the peer's RTCP comes from (symmetric RTCP, RFC 4961).
    rtcp_latched: Option<SocketAddr>,
    pub(super) pipeline: LegPipeline,
    remote: watch::Receiver<LegRemote>,
    current: LegRemote,
    latched: Option<SocketAddr>,
    counters: Arc<LegCounters>,
}

impl WorkerLeg {
    /// Starts receiving for the leg on its worker's network thread `io` and
    /// builds its pipeline; the returned sender stops the receiving. `seed`
    /// draws our SSRC and first sequence number and timestamp (RFC 3550 §5.1).
    pub(super) fn start(
        leg: BoundLeg,
        denoise: bool,
        seed: u32,
        io: &NetThread,
    ) -> std::io::Result<(WorkerLeg, oneshot::Sender<()>)> {
        leg.socket.set_nonblocking(true)?;
        leg.rtcp_socket.set_nonblocking(true)?;
        let rtp = Arc::new(leg.socket);
        let rtcp = Arc::new(leg.rtcp_socket);
        let (send_socket, rtcp_send) = (rtp.clone(), rtcp.clone());
        let (prod, cons) = HeapRb::<Slot>::new(RING_SLOTS).split();
        let (stop_tx, stop_rx) = oneshot::channel();
        io.add(NetLeg {
            rtp,
            rtcp,
            ring: prod,
            counters: leg.counters.clone(),
            stop: stop_rx,
        })?;
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
        let leg = WorkerLeg {
            ring: cons,
            socket: send_socket,
            rtcp_socket: rtcp_send,
            rtcp_latched: None,
            pipeline,
            remote,
            current,
            latched: None,
            counters: leg.counters,
        };
        Ok((leg, stop_tx))
    }

    /// Hands everything the ring holds to the pipeline.
    pub(super) fn drain(&mut self, now: Instant) {
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

    /// Encodes and sends one frame to the peer (unless it holds us). Called
    /// every tick once the peer's address is known, so our stream is one
    /// unbroken run of sequence numbers and timestamps.
    pub(super) fn send(&mut self, now: Instant, frame: &Frame, out: &mut [u8]) {
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
    pub(super) fn rtcp(&mut self, now: Instant, out: &mut [u8]) {
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
    pub(super) fn events(&mut self, task: u64, leg: usize, tx: &mpsc::SyncSender<MediaEvent>) {
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
    pub(super) fn publish(&self) {
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

/// A non-blocking `sendto` on a socket the runtime also polls: straight to
/// the system call (the worker thread is not a tokio thread, and a send never
/// needs tokio's readiness tracking). Fails rather than waits.
fn send_now(socket: &std::net::UdpSocket, packet: &[u8], to: SocketAddr) -> std::io::Result<usize> {
    socket.send_to(packet, to)
}
