//! The network side of the legs: one thread per media worker receives the RTP
//! and RTCP of that worker's legs and hands each datagram to the leg's worker
//! through an SPSC ring of fixed-size slots.
//!
//! The thread wakes on its worker's 2 ms grid, just before each step, not
//! per packet: it asks epoll which sockets are readable (without waiting),
//! drains each, and sleeps to the next step. Measured at 300 denoised calls, waking per packet (a tokio
//! task per leg) cost each network thread ~8,000 wake-ups a second and each
//! media worker ~6,000 preemptions a second; batching by time removes both.
//! A packet reaches its ring at the grid step after it arrived, which is
//! when the worker would have read it anyway.

use super::LegCounters;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use ringbuf::traits::Producer;
use ringbuf::HeapProd;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Room for one RTP datagram: 40 ms of G.711 with a header extension fits;
/// bigger datagrams are dropped and counted.
pub const SLOT_BYTES: usize = 492;

/// Ring capacity per leg: 16 slots = 320 ms of 20 ms packets, far more than a
/// worker that ticks every 20 ms ever leaves in it.
pub const RING_SLOTS: usize = 16;

/// How long before each step of its worker's grid a network thread collects
/// what arrived, so that a packet that came before the step is in its ring
/// when the worker ticks (collecting after the step would cost a whole frame).
const LEAD: Duration = Duration::from_micros(300);

/// One datagram in a ring.
pub struct Slot {
    /// It came to the RTCP socket.
    pub rtcp: bool,
    pub len: u16,
    pub from: SocketAddr,
    pub data: [u8; SLOT_BYTES],
}

/// A leg as its network thread holds it.
pub(super) struct NetLeg {
    pub rtp: Arc<UdpSocket>,
    pub rtcp: Arc<UdpSocket>,
    pub ring: HeapProd<Slot>,
    pub counters: Arc<LegCounters>,
    /// Fires (or is dropped) when the leg leaves: the thread lets go of it.
    pub stop: oneshot::Receiver<()>,
}

/// A handle to one network thread; cloning shares it.
#[derive(Clone)]
pub(super) struct NetThread {
    tx: mpsc::Sender<NetLeg>,
}

impl NetThread {
    /// `epoch` and `step`: the worker's tick grid.
    pub fn start(name: String, epoch: Instant, step: Duration) -> io::Result<NetThread> {
        let poll = Poll::new()?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name(name)
            .spawn(move || run(poll, rx, epoch, step))?;
        Ok(NetThread { tx })
    }

    /// Starts receiving for `leg` (from the thread's next step on).
    pub fn add(&self, leg: NetLeg) -> io::Result<()> {
        self.tx
            .send(leg)
            .map_err(|_| io::Error::other("network thread stopped"))
    }
}

fn run(mut poll: Poll, rx: mpsc::Receiver<NetLeg>, epoch: Instant, step: Duration) {
    let mut legs: Vec<Option<NetLeg>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut buf = [0u8; 2048];
    // The collection instants: each grid step less LEAD.
    let after = |t: Instant| {
        let since = (t + LEAD).saturating_duration_since(epoch).as_nanos();
        let n = since / step.as_nanos() + 1;
        (epoch + Duration::from_nanos((n * step.as_nanos()) as u64))
            .checked_sub(LEAD)
            .unwrap_or(t)
    };
    loop {
        loop {
            match rx.try_recv() {
                Ok(leg) => {
                    let i = free.pop().unwrap_or_else(|| {
                        legs.push(None);
                        legs.len() - 1
                    });
                    let registry = poll.registry();
                    let ok = registry
                        .register(
                            &mut SourceFd(&leg.rtp.as_raw_fd()),
                            Token(2 * i),
                            Interest::READABLE,
                        )
                        .and_then(|()| {
                            registry.register(
                                &mut SourceFd(&leg.rtcp.as_raw_fd()),
                                Token(2 * i + 1),
                                Interest::READABLE,
                            )
                        });
                    match ok {
                        Ok(()) => legs[i] = Some(leg),
                        Err(e) => {
                            tracing::warn!("RTP socket not watched: {e}");
                            free.push(i);
                        }
                    }
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => return,
            }
        }
        for (i, slot) in legs.iter_mut().enumerate() {
            let gone = slot.as_mut().is_some_and(|l| {
                !matches!(l.stop.try_recv(), Err(oneshot::error::TryRecvError::Empty))
            });
            if gone {
                if let Some(l) = slot.take() {
                    let registry = poll.registry();
                    let _ = registry.deregister(&mut SourceFd(&l.rtp.as_raw_fd()));
                    let _ = registry.deregister(&mut SourceFd(&l.rtcp.as_raw_fd()));
                }
                free.push(i);
            }
        }
        if poll.poll(&mut events, Some(Duration::ZERO)).is_ok() {
            for event in events.iter() {
                let (i, rtcp) = (event.token().0 / 2, event.token().0 % 2 == 1);
                if let Some(Some(leg)) = legs.get_mut(i) {
                    drain(leg, rtcp, &mut buf);
                }
            }
        }
        let now = Instant::now();
        let next = after(now);
        if next > now {
            std::thread::sleep(next - now);
        }
    }
}

/// Reads everything a socket holds (its readiness is edge-triggered).
fn drain(leg: &mut NetLeg, rtcp: bool, buf: &mut [u8; 2048]) {
    let socket = if rtcp { &leg.rtcp } else { &leg.rtp };
    let mut errors = 0;
    loop {
        let (n, from) = match socket.recv_from(buf) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            // ICMP port unreachable and the like, or a signal: skip, keep
            // reading (but never spin on an error that repeats).
            Err(_) => {
                errors += 1;
                if errors > 8 {
                    return;
                }
                continue;
            }
        };
        if !rtcp {
            leg.counters.packets_in.fetch_add(1, Ordering::Relaxed);
            leg.counters.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
        }
        if n > SLOT_BYTES {
            leg.counters.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let mut slot = Slot {
            rtcp,
            len: n as u16,
            from,
            data: [0; SLOT_BYTES],
        };
        slot.data[..n].copy_from_slice(&buf[..n]);
        if leg.ring.try_push(slot).is_err() {
            leg.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}
