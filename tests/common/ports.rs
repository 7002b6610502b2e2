//! Free ports on 127.0.0.1 for the processes a test starts.
//!
//! Tests in one binary run in parallel threads, so every port handed out is remembered
//! for the life of the process and never handed out twice; the OS is asked (by binding)
//! whether a port is free at that moment. Another process can still take a port between
//! the check and its use: a rare failure, visible as "address in use" in a log.

use std::collections::HashSet;
use std::net::{TcpListener, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

static TAKEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
static NEXT_BLOCK: AtomicU32 = AtomicU32::new(0);

/// Ranges for media are taken below Linux's ephemeral range (32768–60999), where
/// `bind(0)` never lands, so they do not race with the single ports.
const RANGE_REGION: (u16, u16) = (20_000, 32_000);

fn claim(ports: impl IntoIterator<Item = u16> + Clone) -> bool {
    let mut taken = TAKEN.lock().unwrap_or_else(|e| e.into_inner());
    let set = taken.get_or_insert_with(HashSet::new);
    if ports.clone().into_iter().any(|p| set.contains(&p)) {
        return false;
    }
    set.extend(ports);
    true
}

fn udp_free(port: u16) -> bool {
    UdpSocket::bind(("127.0.0.1", port)).is_ok()
}

fn tcp_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A port free for both UDP and TCP (SIP listens on both).
pub fn free_port() -> u16 {
    for _ in 0..200 {
        let port = UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("bind an ephemeral UDP port")
            .port();
        if tcp_free(port) && claim([port]) {
            return port;
        }
    }
    panic!("no free UDP+TCP port on 127.0.0.1 after 200 tries");
}

/// `len` consecutive ports (starting even, as RTP wants), each free for UDP and TCP.
/// Returns `(first, last)`, inclusive.
pub fn free_range(len: u16) -> (u16, u16) {
    assert!((2..=1000).contains(&len), "range length {len}");
    let (lo, hi) = RANGE_REGION;
    let blocks = u32::from((hi - lo) / len);
    // Start where another test process (another binary, or another checkout) is less
    // likely to be looking.
    let seed = std::process::id().wrapping_mul(2_654_435_761);
    for _ in 0..blocks {
        let n = NEXT_BLOCK.fetch_add(1, Ordering::Relaxed);
        let block = (seed.wrapping_add(n)) % blocks;
        let first = lo + (block as u16) * len;
        let first = first + (first % 2);
        let last = first + len - 1;
        if last >= hi {
            continue;
        }
        if (first..=last).all(|p| udp_free(p) && tcp_free(p)) && claim(first..=last) {
            return (first, last);
        }
    }
    panic!("no free block of {len} ports in {lo}..{hi}");
}
