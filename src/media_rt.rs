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
use sotto_media::forward::{Echo, Relay, Side};
use sotto_media::ids::{PayloadType, RtpTimestamp, SeqNo, Ssrc};
use sotto_media::leg::{LegConfig, MediaLeg};
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

    /// Binds the next free even port; `None` when the range is exhausted.
    pub fn bind(&mut self, codec: Codec) -> Option<BoundLeg> {
        let slots = u32::from(self.hi - self.lo) / 2 + 1;
        for _ in 0..slots {
            let port = self.next;
            self.next = if port + 2 > self.hi {
                self.lo
            } else {
                port + 2
            };
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
    counters: Vec<Arc<LegCounters>>,
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

impl MediaTask {
    fn spawn(
        counters: Vec<Arc<LegCounters>>,
        run: impl FnOnce(tokio::sync::oneshot::Receiver<()>) -> tokio::task::JoinHandle<()>,
    ) -> MediaTask {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        run(stop_rx);
        MediaTask {
            stop: Some(stop_tx),
            counters,
        }
    }

    /// The legs' counters, in leg order (caller first).
    pub fn counters(&self) -> Vec<Arc<LegCounters>> {
        self.counters.clone()
    }
}

fn leg_state(remote: &LegRemote, seed: u32) -> MediaLeg {
    let mut x = seed | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    MediaLeg::new(LegConfig {
        codec: remote.codec,
        telephone_event: remote.telephone_event.and_then(PayloadType::new),
        ssrc: Ssrc(next()),
        first_seq: SeqNo(next() as u16),
        first_timestamp: RtpTimestamp(next()),
    })
}

/// One leg's socket with where it sends (symmetric RTP: once the peer's
/// packets arrive, we answer where they come from, RFC 4961).
struct LegIo {
    socket: UdpSocket,
    counters: Arc<LegCounters>,
    remote_rx: watch::Receiver<LegRemote>,
    latched: Option<SocketAddr>,
}

impl LegIo {
    fn new(leg: BoundLeg) -> std::io::Result<LegIo> {
        Ok(LegIo {
            socket: UdpSocket::from_std(leg.socket)?,
            counters: leg.counters,
            remote_rx: leg.remote_rx,
            latched: None,
        })
    }

    fn on_received(&mut self, from: SocketAddr, len: usize) {
        self.counters.packets_in.fetch_add(1, Ordering::Relaxed);
        self.counters
            .bytes_in
            .fetch_add(len as u64, Ordering::Relaxed);
        self.latched = Some(from);
    }

    fn send(&self, packet: &[u8]) {
        let remote = *self.remote_rx.borrow();
        if !remote.send {
            return;
        }
        if let Some(to) = self.latched.or(remote.addr) {
            if self.socket.try_send_to(packet, to).is_ok() {
                self.counters.packets_out.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A codec change from a re-INVITE, if any.
    fn codec_change(&mut self) -> Option<Codec> {
        if self.remote_rx.has_changed().unwrap_or(false) {
            Some(self.remote_rx.borrow_and_update().codec)
        } else {
            None
        }
    }
}

/// The `echo` route: what the caller sends comes back to it, decoded and
/// re-encoded through the leg (so the denoiser slots in between).
pub fn spawn_echo(leg: BoundLeg, seed: u32) -> std::io::Result<MediaTask> {
    let mut io = LegIo::new(leg)?;
    let counters = vec![io.counters.clone()];
    Ok(MediaTask::spawn(counters, move |mut stop| {
        tokio::spawn(async move {
            let mut echo = Echo::new(leg_state(&io.remote_rx.borrow_and_update(), seed));
            let mut buf = BytesMut::with_capacity(RTP_BUF * 2);
            let mut out = [0u8; RTP_BUF];
            loop {
                buf.reserve(RTP_BUF);
                tokio::select! {
                    _ = &mut stop => break,
                    r = io.socket.recv_buf_from(&mut buf) => {
                        let Ok((n, from)) = r else { continue };
                        let datagram: Bytes = buf.split().freeze();
                        io.on_received(from, n);
                        if let Some(codec) = io.codec_change() {
                            let mut leg = echo.into_leg();
                            leg.set_codec(codec);
                            echo = Echo::new(leg);
                        }
                        match echo.on_rtp(Instant::now(), datagram, &mut out) {
                            Ok(Some(len)) => io.send(&out[..len]),
                            _ => {
                                io.counters.dropped.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
            }
        })
    }))
}

/// The B2BUA bridge: each peer hears the other, transcoded when the legs
/// negotiated different codecs.
pub fn spawn_relay(a: BoundLeg, b: BoundLeg, seed: u32) -> std::io::Result<MediaTask> {
    let mut a = LegIo::new(a)?;
    let mut b = LegIo::new(b)?;
    let counters = vec![a.counters.clone(), b.counters.clone()];
    Ok(MediaTask::spawn(counters, move |mut stop| {
        tokio::spawn(async move {
            let leg_a = leg_state(&a.remote_rx.borrow_and_update(), seed);
            let leg_b = leg_state(&b.remote_rx.borrow_and_update(), seed.rotate_left(16));
            let mut relay = Relay::new(leg_a, leg_b);
            let mut buf_a = BytesMut::with_capacity(RTP_BUF * 2);
            let mut buf_b = BytesMut::with_capacity(RTP_BUF * 2);
            let mut out = [0u8; RTP_BUF];
            loop {
                buf_a.reserve(RTP_BUF);
                buf_b.reserve(RTP_BUF);
                let (side, datagram) = tokio::select! {
                    _ = &mut stop => break,
                    r = a.socket.recv_buf_from(&mut buf_a) => {
                        let Ok((n, from)) = r else { continue };
                        a.on_received(from, n);
                        (Side::A, buf_a.split().freeze())
                    }
                    r = b.socket.recv_buf_from(&mut buf_b) => {
                        let Ok((n, from)) = r else { continue };
                        b.on_received(from, n);
                        (Side::B, buf_b.split().freeze())
                    }
                };
                let (ca, cb) = (a.codec_change(), b.codec_change());
                if ca.is_some() || cb.is_some() {
                    let (mut la, mut lb) = relay.into_legs();
                    if let Some(c) = ca {
                        la.set_codec(c);
                    }
                    if let Some(c) = cb {
                        lb.set_codec(c);
                    }
                    relay = Relay::new(la, lb);
                }
                let (src, sink) = match side {
                    Side::A => (&a, &b),
                    Side::B => (&b, &a),
                };
                match relay.on_rtp(Instant::now(), side, datagram, &mut out) {
                    Ok(Some(len)) => sink.send(&out[..len]),
                    _ => {
                        src.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    }))
}
