//! No allocation per packet or per frame (`docs/media.md#hot-path`). A counting
//! allocator watches this thread while an RTCP session reports and reads reports, DTMF
//! goes out and comes back, and the conference mixer runs, for a simulated minute.

use std::time::{Duration, Instant};

use bytes::Bytes;
use sotto_media::{
    Dtmf, DtmfReceiver, DtmfSender, Mixer, NtpTime, PayloadType, ReceiverConfig, RtcpConfig,
    RtcpSession, RtpReceiver, RtpSender, RtpTimestamp, SeqNo, Ssrc, FRAME_SAMPLES,
};

mod common;

use common::allocations;

#[test]
fn rtcp_dtmf_and_mixing_do_not_allocate() {
    let t0 = Instant::now();
    let wall = |now: Instant| NtpTime::from_unix(Duration::from_secs(1_700_000_000) + (now - t0));
    let ticks = 3000u32; // a minute of 20 ms ticks
    let te = PayloadType::new(101).unwrap();

    // A's RTP toward B, built before measuring; each datagram is consumed once.
    let mut a_tx = RtpSender::new(Ssrc(1), SeqNo(60_000), RtpTimestamp(0), PayloadType::PCMU);
    let mut a_dtmf = DtmfSender::new(te);
    for c in "0123456789*#ABCD!".chars() {
        a_dtmf
            .send(Dtmf::from_char(c).unwrap(), Duration::from_millis(100))
            .unwrap();
    }
    let mut datagrams = Vec::new();
    let mut out = [0u8; 1500];
    for _ in 0..ticks {
        let ts = a_tx.next_timestamp();
        let n = match a_dtmf.produce_rtp(&mut a_tx, &mut out).unwrap() {
            Some(n) => n,
            None => a_tx.packetize(&[0xFF; FRAME_SAMPLES], &mut out).unwrap(),
        };
        datagrams.push((ts, Bytes::copy_from_slice(&out[..n])));
    }

    let mut a = RtcpSession::new(RtcpConfig::new(Ssrc(1), "a@test", 1), t0);
    let mut b = RtcpSession::new(RtcpConfig::new(Ssrc(2), "b@test", 2), t0);
    let b_tx = RtpSender::new(Ssrc(2), SeqNo(1), RtpTimestamp(0), PayloadType::PCMU);
    let a_rx = RtpReceiver::new(ReceiverConfig::default());
    let mut b_rx = RtpReceiver::new(ReceiverConfig {
        telephone_event: Some(te),
        clock_rate: 8000,
    });
    let mut b_dtmf = DtmfReceiver::new(8000);
    let mut mixer = Mixer::new();
    let slots = [
        mixer.add().unwrap(),
        mixer.add().unwrap(),
        mixer.add().unwrap(),
    ];
    let frame = [1000i16; FRAME_SAMPLES];
    let mut rtcp_out = [0u8; 1500];
    let mut digits = 0;
    let mut reports = 0;

    let before = allocations();
    for (i, (ts, datagram)) in datagrams.into_iter().enumerate() {
        let now = t0 + Duration::from_millis(20 * i as u64);
        a.on_rtp_sent(now, ts);
        let got = b_rx.on_datagram(now, datagram).unwrap();
        b.on_rtp_received(&got);
        if got.packet.payload_type == te {
            digits += b_dtmf.on_packet(now, &got.packet).unwrap().is_some() as u32;
        }
        if b_dtmf.poll_timeout().is_some_and(|t| t <= now) {
            digits += b_dtmf.handle_timeout(now).is_some() as u32;
        }
        if let Some(n) = a
            .poll_report(now, wall(now), a_rx.stats(), a_tx.stats(), &mut rtcp_out)
            .unwrap()
        {
            b.on_rtcp(now, &rtcp_out[..n]).unwrap();
            reports += 1;
        }
        if let Some(n) = b
            .poll_report(now, wall(now), b_rx.stats(), b_tx.stats(), &mut rtcp_out)
            .unwrap()
        {
            a.on_rtcp(now, &rtcp_out[..n]).unwrap();
            reports += 1;
        }
        for s in &slots {
            mixer.set_input(*s, &frame).unwrap();
        }
        let _ = mixer.mix();
    }
    let during = allocations() - before;

    assert_eq!(digits, 17, "every key pressed came back");
    assert!(reports > 10, "{reports} reports");
    assert!(a.stats().round_trip_time.is_some());
    assert_eq!(during, 0, "allocations per packet or frame");
}
