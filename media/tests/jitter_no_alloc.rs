//! No allocation per packet or per frame (`docs/media.md#hot-path`). A counting
//! allocator watches this thread while the jitter buffer and the concealer run a stream
//! with jitter, loss, reordering, duplicates, an SSRC change and a timestamp jump, tick
//! after tick.

use std::time::{Duration, Instant};

use bytes::Bytes;
use sotto_media::jitter::{JitterBuffer, JitterConfig, Playout};
use sotto_media::plc::Concealer;
use sotto_media::{PayloadType, RtpPacket, RtpTimestamp, SeqNo, Ssrc, FRAME_SAMPLES};

mod common;

use common::allocations;

/// Packets and their arrival times (ms), built before anything is measured.
fn stream(n: u32) -> Vec<(u64, RtpPacket)> {
    let mut seed = 0x00C0_FFEE_u64;
    let mut rand = move |m: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % m
    };
    let mut v = Vec::new();
    let (mut seq, mut ts, mut ssrc) = (65_000u16, 0u32, 1u32);
    for i in 0..n {
        if i == n / 2 {
            ssrc = 2; // a new source
            seq = 7;
        }
        if i == 3 * n / 4 {
            ts = ts.wrapping_add(800_000); // a timestamp jump
        }
        let packet = RtpPacket {
            marker: i == 0,
            payload_type: if i % 2 == 0 {
                PayloadType::PCMU
            } else {
                PayloadType::PCMA
            },
            sequence: SeqNo(seq),
            timestamp: RtpTimestamp(ts),
            ssrc: Ssrc(ssrc),
            payload: Bytes::from(vec![(i % 251) as u8; FRAME_SAMPLES]),
        };
        seq = seq.wrapping_add(1);
        ts = ts.wrapping_add(FRAME_SAMPLES as u32);
        let arrival = 1000 + 20 * u64::from(i) + rand(40); // 0–40 ms of jitter
        if rand(100) < 3 {
            continue; // lost
        }
        if rand(100) < 2 {
            v.push((arrival + 5, packet.clone())); // duplicated
        }
        v.push((arrival, packet));
    }
    v.sort_by_key(|(t, _)| *t);
    v
}

#[test]
fn jitter_buffer_and_concealment_do_not_allocate_per_packet_or_frame() {
    let start = Instant::now();
    let packets = stream(6000);
    let mut jb = JitterBuffer::new(JitterConfig::default());
    let mut plc = Concealer::new();
    let mut frame = [0i16; FRAME_SAMPLES];
    let (mut next, mut measured_from) = (0, None);
    let (mut played, mut missing) = (0u32, 0u32);

    for tick in 0..6100u64 {
        if tick == 200 {
            measured_from = Some(allocations()); // after warm-up
        }
        let now_ms = 1000 + 20 * tick;
        while next < packets.len() && packets[next].0 <= now_ms {
            let (at, packet) = &packets[next];
            jb.push(start + Duration::from_millis(*at), packet);
            next += 1;
        }
        match jb.pop(start + Duration::from_millis(now_ms)) {
            Playout::Frame { payload, codec, .. } => {
                codec.decode(payload, &mut frame);
                plc.on_good(&mut frame);
                played += 1;
            }
            Playout::Missing => {
                plc.conceal(&mut frame);
                missing += 1;
            }
            Playout::Idle => plc.reset(),
        }
    }
    let during = allocations() - measured_from.unwrap();

    let s = jb.stats();
    assert!(
        played > 5500 && missing > 100,
        "{played} played, {missing} missing"
    );
    assert!(s.duplicates > 0 && s.resyncs == 2 && s.lost > 0, "{s:?}");
    assert_eq!(during, 0, "allocations while playing");
}
