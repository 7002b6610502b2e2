//! RTP I/O for the edge: a UDP socket per leg from the configured port range,
//! and the tasks that move packets through `sotto-media`.
//!
//! Shape: each call's media is one task that owns its sockets and a
//! [`sotto_media`] leg state per socket. The task is the only owner of that
//! state (no locks); counters are relaxed atomics read by the HTTP API. The
//! media-pipeline issue replaces the per-call task with worker threads fed by
//! SPSC rings; the per-leg state stays the same.

use bytes::{Bytes, BytesMut};
use sotto_media::codec::Codec;
use sotto_media::leg::{MediaLeg, LegConfig};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::net::UdpSocket;
use tokio::sync::watch;

/// Packet counters of one leg, shared with the API.
#[derive(Debug, Default)]
pub struct LegCounters {
    pub packets_in: AtomicU64,
    pub packets_out: AtomicU64,
    pub bytes_in: AtomicU64,
    pub dropped: AtomicU64,
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

/// A bound RTP socket not yet handed to a task.
pub struct BoundLeg {
    pub port: u16,
    socket: std::net::UdpSocket,
    pub counters: Arc<LegCounters>,
    remote_tx: watch::Sender<LegRemote>,
    remote_rx: watch::Receiver<LegRemote>,
}

impl BoundLeg {
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
        PortAllocator { ip, lo, hi, next: lo }
    }

    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// Binds the next free even port; `None` when the range is exhausted.
    pub fn bind(&mut self, codec: Codec) -> Option<BoundLeg> {
        let slots = u32::from(self.hi - self.lo) / 2 + 1;
        for _ in 0..slots {
            let port = self.next;
            self.next = if port + 2 > self.hi { self.lo } else { port + 2 };
            if let Ok(socket) = std::net::UdpSocket::bind(SocketAddr::new(self.ip, port)) {
                if socket.set_nonblocking(true).is_err() {
                    continue;
                }
                let (remote_tx, remote_rx) = watch::channel(LegRemote {
                    addr: None,
                    codec,
                    payload_type: codec.payload_type().get(),
                    telephone_event: None,
                    send: true,
                });
                return Some(BoundLeg {
                    port,
                    socket,
                    counters: Arc::new(LegCounters::default()),
                    remote_tx,
                    remote_rx,
                });
            }
        }
        None
    }
}

/// Stops a media task when dropped or told to.
pub struct MediaTask {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl MediaTask {
    pub fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl Drop for MediaTask {
    fn drop(&mut self) {
        self.stop();
    }
}

const RTP_BUF: usize = 1500;

/// The `echo` route: what the caller sends comes back to it, decoded and
/// re-encoded through the leg (so the denoiser slots in between).
pub fn spawn_echo(leg: BoundLeg, seed: u32) -> std::io::Result<MediaTask> {
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel();
    let socket = UdpSocket::from_std(leg.socket)?;
    let counters = leg.counters;
    let mut remote_rx = leg.remote_rx;
    tokio::spawn(async move {
        let mut state = MediaLeg::new(LegConfig::new(remote_rx.borrow().codec, seed));
        let mut buf = BytesMut::with_capacity(RTP_BUF * 8);
        let mut out = [0u8; RTP_BUF];
        let mut latched: Option<SocketAddr> = None;
        loop {
            buf.reserve(RTP_BUF);
            tokio::select! {
                _ = &mut stop_rx => break,
                r = socket.recv_buf_from(&mut buf) => {
                    let Ok((_, from)) = r else { continue };
                    let datagram: Bytes = buf.split().freeze();
                    counters.packets_in.fetch_add(1, Ordering::Relaxed);
                    counters.bytes_in.fetch_add(datagram.len() as u64, Ordering::Relaxed);
                    let remote = *remote_rx.borrow_and_update();
                    // Symmetric RTP: answer where the packets come from.
                    latched.get_or_insert(from);
                    let Some(n) = state.echo(Instant::now(), datagram, &mut out) else {
                        counters.dropped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    if !remote.send {
                        continue;
                    }
                    let to = latched.or(remote.addr);
                    if let Some(to) = to {
                        if socket.try_send_to(&out[..n], to).is_ok() {
                            counters.packets_out.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        }
    });
    Ok(MediaTask {
        stop: Some(stop_tx),
    })
}
