//! SPEC §2: no allocation per packet on the hot path. A counting allocator watches this
//! thread while echo and relay handle a stream that wraps, loses, reorders, repeats,
//! changes SSRC and carries DTMF.

use std::time::{Duration, Instant};

use bytes::Bytes;
use sotto_media::{
    Codec, Echo, LegConfig, MediaLeg, PayloadType, Relay, RtpSender, RtpTimestamp, SeqNo, Side,
    Ssrc, FRAME_SAMPLES,
};

mod common;

use common::allocations;

fn leg(codec: Codec, ssrc: u32) -> MediaLeg {
    MediaLeg::new(LegConfig {
        codec,
        telephone_event: PayloadType::new(101),
        ssrc: Ssrc(ssrc),
        first_seq: SeqNo(65000),
        first_timestamp: RtpTimestamp(0),
    })
}

/// A peer's datagrams, built before anything is measured.
fn stream(codec: Codec) -> Vec<Bytes> {
    let mut out = [0u8; 1500];
    let mut a = RtpSender::new(Ssrc(1), SeqNo(65500), RtpTimestamp(7), codec.payload_type());
    let mut b = RtpSender::new(Ssrc(2), SeqNo(3), RtpTimestamp(9), codec.payload_type());
    let payload = [0x55u8; FRAME_SAMPLES];
    let mut v = Vec::new();
    for i in 0..200u32 {
        let n = a.packetize(&payload, &mut out).unwrap();
        if i % 17 != 5 {
            v.push(Bytes::copy_from_slice(&out[..n])); // every 17th is lost
        }
        if i % 23 == 0 {
            v.push(Bytes::copy_from_slice(&out[..n])); // a duplicate
        }
    }
    v.swap(50, 51); // reordered
    let mut dtmf = RtpSender::new(
        Ssrc(2),
        SeqNo(1),
        RtpTimestamp(1),
        PayloadType::new(101).unwrap(),
    );
    let n = dtmf
        .packetize_samples(&[1, 0, 0, 160], 0, &mut out)
        .unwrap();
    v.push(Bytes::copy_from_slice(&out[..n]));
    for _ in 0..50 {
        let n = b.packetize(&payload, &mut out).unwrap();
        v.push(Bytes::copy_from_slice(&out[..n])); // the source changed
    }
    v.push(Bytes::from_static(b"not rtp"));
    v
}

#[test]
fn echo_and_relay_do_not_allocate_per_packet() {
    let start = Instant::now();
    // Separate copies: cloning a `Vec`-backed `Bytes` allocates its shared header once.
    let for_echo = stream(Codec::Pcmu);
    let pcmu = stream(Codec::Pcmu);
    let pcma = stream(Codec::Pcma);
    let mut echo = Echo::new(leg(Codec::Pcmu, 10));
    let mut relay = Relay::new(leg(Codec::Pcmu, 11), leg(Codec::Pcma, 12));
    let mut out = [0u8; 1500];

    let before = allocations();
    let mut sent = 0;
    for (i, ((e, u), a)) in for_echo.into_iter().zip(pcmu).zip(pcma).enumerate() {
        let now = start + Duration::from_millis(20 * i as u64);
        sent += echo.on_rtp(now, e, &mut out).ok().flatten().is_some() as u32;
        sent += relay
            .on_rtp(now, Side::A, u, &mut out)
            .ok()
            .flatten()
            .is_some() as u32;
        sent += relay
            .on_rtp(now, Side::B, a, &mut out)
            .ok()
            .flatten()
            .is_some() as u32;
    }
    let during = allocations() - before;

    assert!(sent > 600, "the stream was forwarded ({sent} packets)");
    assert_eq!(during, 0, "allocations while forwarding");
    let c = relay.leg(Side::A).counters();
    assert!(c.lost > 0 && c.duplicates > 0 && c.ssrc_changes == 1 && c.malformed == 1);
}
