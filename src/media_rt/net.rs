//! The network side of a leg: a tokio task that receives RTP and hands each
//! datagram to the leg's worker through an SPSC ring of fixed-size slots.

use super::LegCounters;
use ringbuf::traits::Producer;
use ringbuf::HeapProd;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::sync::oneshot;

/// Room for one RTP datagram: 40 ms of G.711 with a header extension fits;
/// bigger datagrams are dropped and counted.
pub const SLOT_BYTES: usize = 492;

/// Ring capacity per leg: 16 slots = 320 ms of 20 ms packets, far more than a
/// worker that ticks every 20 ms ever leaves in it.
pub const RING_SLOTS: usize = 16;

/// One datagram in a ring.
pub struct Slot {
    /// It came to the RTCP socket.
    pub rtcp: bool,
    pub len: u16,
    pub from: SocketAddr,
    pub data: [u8; SLOT_BYTES],
}

/// Receives RTP and RTCP until `stop` fires (or its sender is dropped).
pub async fn receive(
    rtp: Arc<UdpSocket>,
    rtcp: Arc<UdpSocket>,
    mut ring: HeapProd<Slot>,
    counters: Arc<LegCounters>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut rtp_buf = [0u8; 2048];
    let mut rtcp_buf = [0u8; 2048];
    loop {
        let (r, is_rtcp) = tokio::select! {
            _ = &mut stop => break,
            r = rtp.recv_from(&mut rtp_buf) => (r, false),
            r = rtcp.recv_from(&mut rtcp_buf) => (r, true),
        };
        let Ok((n, from)) = r else { continue };
        let buf = if is_rtcp { &rtcp_buf } else { &rtp_buf };
        if !is_rtcp {
            counters.packets_in.fetch_add(1, Ordering::Relaxed);
            counters.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
        }
        if n > SLOT_BYTES {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let mut slot = Slot {
            rtcp: is_rtcp,
            len: n as u16,
            from,
            data: [0; SLOT_BYTES],
        };
        slot.data[..n].copy_from_slice(&buf[..n]);
        if ring.try_push(slot).is_err() {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}
