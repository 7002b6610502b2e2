//! The media runtime: RTP sockets, media worker threads, and the rings
//! between them (`docs/ARCHITECTURE.md`, "Threads").
//!
//! ```text
//!  network thread (one per worker)     SPSC ring (fixed slots)     worker thread
//!  epoll, 300 µs before each 2 ms  ──▶ [Slot][Slot][Slot]… ──────▶ pipeline.receive
//!  grid step: recv_from every                                       every 20 ms: playout
//!  readable leg socket
//!  peer ◀───────────────────────────── socket.send_to (non-blocking) ◀─ pipeline.send
//! ```
//! A worker owns its calls' pipelines outright: no lock, no allocation and no
//! blocking per packet or frame. What cannot be done at once is dropped and
//! counted (a full ring, a send that would block). A call's media is a
//! [`Room`] on the least loaded worker: up to eight legs, added and removed
//! while it runs, ticked together, with a "who hears whom" topology (echo
//! is a room too: one leg that hears itself).

mod leg;
mod net;
mod room;
mod routing;
mod worker;

pub use room::{HoldAudio, LegKey, LegOptions, Room};
pub use routing::MAX_LEGS;
pub use worker::{on_media_worker_thread, MediaEngine, MediaEvent, MediaTask, WorkerMetrics};

use sotto_media::codec::Codec;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::watch;

/// Counters of one leg, shared with the API: written by its network thread
/// and its worker with relaxed stores, read whenever the API is asked.
#[derive(Debug, Default)]
pub struct LegCounters {
    pub packets_in: AtomicU64,
    pub packets_out: AtomicU64,
    pub bytes_in: AtomicU64,
    /// Packets the network thread could not hand over (ring full, oversize).
    pub dropped: AtomicU64,
    pub lost: AtomicU64,
    pub late: AtomicU64,
    pub duplicates: AtomicU64,
    pub concealed: AtomicU64,
    pub denoised: AtomicU64,
    /// Interarrival jitter (RFC 3550 A.8), in RTP timestamp units.
    pub jitter: AtomicU64,
    /// Packets not sent because the socket would have blocked.
    pub send_dropped: AtomicU64,
}

impl LegCounters {
    pub fn snapshot(&self) -> (u64, u64) {
        (
            self.packets_in.load(Ordering::Relaxed),
            self.packets_out.load(Ordering::Relaxed),
        )
    }
}

/// Where a leg sends, and with which codec; updated by signalling (answer,
/// re-INVITE) while the task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegRemote {
    pub addr: Option<SocketAddr>,
    pub codec: Codec,
    pub payload_type: u8,
    pub telephone_event: Option<u8>,
    /// False while the peer is on hold toward us (we must not send).
    pub send: bool,
}

impl LegRemote {
    /// Before offer/answer: nowhere to send yet, PCMU.
    pub fn initial() -> LegRemote {
        LegRemote {
            addr: None,
            codec: Codec::Pcmu,
            payload_type: Codec::Pcmu.payload_type().get(),
            telephone_event: None,
            send: true,
        }
    }
}

/// A bound RTP socket (and its RTCP socket, the next port up, RFC 3550
/// §11) not yet handed to a worker.
pub struct BoundLeg {
    pub port: u16,
    socket: std::net::UdpSocket,
    rtcp_socket: std::net::UdpSocket,
    pub counters: Arc<LegCounters>,
    remote_tx: watch::Sender<LegRemote>,
    remote_rx: watch::Receiver<LegRemote>,
}

impl BoundLeg {
    /// Binds `port` (RTP) and `port + 1` (RTCP, RFC 3550 §11) on `ip`,
    /// non-blocking; None when either is taken.
    pub fn bind(ip: IpAddr, port: u16, codec: Codec) -> Option<BoundLeg> {
        let bind = |p: u16| {
            let s = std::net::UdpSocket::bind(SocketAddr::new(ip, p)).ok()?;
            s.set_nonblocking(true).ok()?;
            Some(s)
        };
        let socket = bind(port)?;
        let rtcp_socket = bind(port.checked_add(1)?)?;
        let (remote_tx, remote_rx) = watch::channel(LegRemote {
            addr: None,
            codec,
            payload_type: codec.payload_type().get(),
            telephone_event: None,
            send: true,
        });
        Some(BoundLeg {
            port,
            socket,
            rtcp_socket,
            counters: Arc::new(LegCounters::default()),
            remote_tx,
            remote_rx,
        })
    }

    /// Updates where and how this leg sends (also after its task started).
    pub fn remote(&self) -> watch::Sender<LegRemote> {
        self.remote_tx.clone()
    }
}

/// Hands out RTP ports from the configured range, round robin, skipping ports
/// another process (or a leg still closing) holds.
pub struct PortAllocator {
    ip: IpAddr,
    lo: u16,
    hi: u16,
    next: u16,
}

impl PortAllocator {
    pub fn new(ip: IpAddr, lo: u16, hi: u16) -> Self {
        PortAllocator {
            ip,
            lo,
            hi,
            next: lo,
        }
    }

    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// Binds the next free even port and the odd one above it (RTCP); `None`
    /// when the range is exhausted.
    pub fn bind(&mut self, codec: Codec) -> Option<BoundLeg> {
        let slots = u32::from(self.hi - self.lo) / 2 + 1;
        for _ in 0..slots {
            let port = self.next;
            self.next = if port + 3 > self.hi {
                self.lo
            } else {
                port + 2
            };
            if let Some(leg) = BoundLeg::bind(self.ip, port, codec) {
                return Some(leg);
            }
        }
        None
    }
}
