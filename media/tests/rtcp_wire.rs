//! RTCP on the wire: what we write, webrtc-rs `rtcp` reads as a valid compound packet;
//! what it writes (with packet types we skip), we read; and garbage is refused, never a
//! panic.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rtcp::extended_report::{ExtendedReport, ReceiverReferenceTimeReportBlock};
use rtcp::goodbye::Goodbye;
use rtcp::receiver_report::ReceiverReport;
use rtcp::reception_report::ReceptionReport;
use rtcp::sender_report::SenderReport;
use rtcp::source_description::{
    SdesType, SourceDescription, SourceDescriptionChunk, SourceDescriptionItem,
};
use sotto_media::rtcp::{parse_compound, RtcpPacket};
use sotto_media::{
    NtpTime, PayloadType, ReceiveStats, ReceiverConfig, RtcpConfig, RtcpError, RtcpSession,
    RtpReceiver, RtpSender, RtpTimestamp, SeqNo, Ssrc,
};
use webrtc_util::marshal::{Marshal, Unmarshal};

const OURS: Ssrc = Ssrc(0x0102_0304);
const PEER: Ssrc = Ssrc(0x0A0B_0C0D);

fn wall(t0: Instant, now: Instant) -> NtpTime {
    NtpTime::from_unix(Duration::from_secs(1_750_000_000) + (now - t0))
}

/// Our first compound report after we sent 41 packets (if `send`) and received the
/// peer's packets 100..=140 except 110 and 120.
fn our_report(send: bool) -> (Vec<u8>, RtpSender, ReceiveStats) {
    let t0 = Instant::now();
    let mut s = RtcpSession::new(RtcpConfig::new(OURS, "agent-7@sotto.example", 99), t0);
    let mut tx = RtpSender::new(OURS, SeqNo(1), RtpTimestamp(0), PayloadType::PCMA);
    let mut peer = RtpSender::new(PEER, SeqNo(100), RtpTimestamp(0), PayloadType::PCMA);
    let mut rx = RtpReceiver::new(ReceiverConfig::default());
    let mut out = [0u8; 1500];
    for i in 0..=40u64 {
        let now = t0 + Duration::from_millis(20 * i);
        let n = peer.packetize(&[0xD5; 160], &mut out).unwrap();
        if i != 10 && i != 20 {
            let got = rx
                .on_datagram(now, Bytes::copy_from_slice(&out[..n]))
                .unwrap();
            s.on_rtp_received(&got);
        }
        if send {
            let ts = tx.next_timestamp();
            tx.packetize(&[0xD5; 160], &mut out).unwrap();
            s.on_rtp_sent(now, ts);
        }
    }
    loop {
        let at = s.poll_timeout().unwrap();
        if let Some(n) = s
            .poll_report(at, wall(t0, at), rx.stats(), tx.stats(), &mut out)
            .unwrap()
        {
            return (out[..n].to_vec(), tx, *rx.stats());
        }
    }
}

#[test]
fn webrtc_rs_reads_our_sender_report_as_a_valid_compound() {
    let (bytes, tx, rx) = our_report(true);
    let mut buf = Bytes::from(bytes);
    let compound = rtcp::compound_packet::CompoundPacket::unmarshal(&mut buf)
        .expect("first SR/RR, then SDES with CNAME (RFC 3550 §6.1)");
    assert_eq!(compound.cname().unwrap(), "agent-7@sotto.example");
    let sr = compound.0[0]
        .as_any()
        .downcast_ref::<SenderReport>()
        .unwrap();
    assert_eq!(sr.ssrc, OURS.0);
    assert_eq!(u64::from(sr.packet_count), tx.stats().packets);
    assert_eq!(u64::from(sr.octet_count), tx.stats().bytes);
    // The first report goes out 1–3 s in (half the 5 s minimum, randomised).
    let secs = (sr.ntp_time >> 32) - (2_208_988_800 + 1_750_000_000);
    assert!((1..=3).contains(&secs), "{secs}");
    assert_eq!(sr.reports.len(), 1);
    let block = &sr.reports[0];
    assert_eq!(block.ssrc, PEER.0);
    // 41 expected (100..=140), 39 received.
    assert_eq!(block.total_lost, 2);
    assert_eq!(block.fraction_lost, (2 * 256 / 41) as u8);
    assert_eq!(block.last_sequence_number, 140);
    assert_eq!(block.jitter, rx.jitter);
    assert_eq!(
        (block.last_sender_report, block.delay),
        (0, 0),
        "no SR from the peer"
    );
}

#[test]
fn a_listener_sends_a_receiver_report() {
    let (bytes, _, _) = our_report(false);
    let mut buf = Bytes::from(bytes);
    let compound = rtcp::compound_packet::CompoundPacket::unmarshal(&mut buf).unwrap();
    let rr = compound.0[0]
        .as_any()
        .downcast_ref::<ReceiverReport>()
        .expect("no RTP sent: RR");
    assert_eq!(rr.ssrc, OURS.0);
    assert_eq!(rr.reports[0].ssrc, PEER.0);
}

/// A peer's compound as webrtc-rs writes it: SR with a block about us (negative
/// cumulative loss) and one about someone else, SDES with two chunks and several items,
/// an XR, an APP, and BYE with a reason.
fn peer_compound() -> Vec<u8> {
    let block = |ssrc: u32, total_lost: u32| ReceptionReport {
        ssrc,
        fraction_lost: 13,
        total_lost,
        last_sequence_number: 0x0002_0010,
        jitter: 42,
        last_sender_report: 0,
        delay: 0,
    };
    let sr = SenderReport {
        ssrc: PEER.0,
        ntp_time: 0xE000_0000_8000_0000,
        rtp_time: 12_345,
        packet_count: 500,
        octet_count: 80_000,
        reports: vec![block(0x5555_5555, 7), block(OURS.0, 0x00FF_FFFF)],
        profile_extensions: Bytes::new(),
    };
    let item = |sdes_type, text: &'static str| SourceDescriptionItem {
        sdes_type,
        text: Bytes::from_static(text.as_bytes()),
    };
    let sdes = SourceDescription {
        chunks: vec![
            SourceDescriptionChunk {
                source: PEER.0,
                items: vec![
                    item(SdesType::SdesCname, "peer@example.net"),
                    item(SdesType::SdesTool, "softphone 1.0"),
                ],
            },
            SourceDescriptionChunk {
                source: 0x7777_7777,
                items: vec![item(SdesType::SdesName, "x")],
            },
        ],
    };
    let xr = ExtendedReport {
        sender_ssrc: PEER.0,
        reports: vec![Box::new(ReceiverReferenceTimeReportBlock {
            ntp_timestamp: 0x1234,
        })],
    };
    let bye = Goodbye {
        sources: vec![PEER.0],
        reason: Bytes::from_static(b"hung up"),
    };
    let mut v = Vec::new();
    v.extend_from_slice(&sr.marshal().unwrap());
    v.extend_from_slice(&sdes.marshal().unwrap());
    v.extend_from_slice(&xr.marshal().unwrap());
    // APP (PT 204, subtype 0): SSRC, name "TEST", 4 octets of data.
    v.extend_from_slice(&[0x80, 204, 0, 3, 0x0A, 0x0B, 0x0C, 0x0D]);
    v.extend_from_slice(b"TEST\x00\x00\x00\x01");
    v.extend_from_slice(&bye.marshal().unwrap());
    v
}

#[test]
fn we_read_what_webrtc_rs_writes_and_skip_what_we_do_not_use() {
    let bytes = peer_compound();
    let packets: Vec<RtcpPacket> = parse_compound(&bytes).unwrap().collect();
    assert_eq!(packets.len(), 5);
    let RtcpPacket::SenderReport {
        ssrc,
        info,
        reports,
    } = packets[0]
    else {
        panic!("{:?}", packets[0]);
    };
    assert_eq!(ssrc, PEER);
    assert_eq!(info.ntp, NtpTime(0xE000_0000_8000_0000));
    assert_eq!(
        (info.rtp_timestamp, info.packet_count, info.octet_count),
        (RtpTimestamp(12_345), 500, 80_000)
    );
    let blocks: Vec<_> = reports.collect();
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[1].ssrc, OURS);
    assert_eq!(blocks[1].cumulative_lost, -1, "24-bit two's complement");
    assert_eq!(blocks[0].cumulative_lost, 7);
    assert_eq!(packets[1], RtcpPacket::SourceDescription { chunks: 2 });
    assert_eq!(packets[2], RtcpPacket::Other { packet_type: 207 });
    assert_eq!(packets[3], RtcpPacket::Other { packet_type: 204 });
    let RtcpPacket::Bye {
        mut sources,
        reason,
    } = packets[4]
    else {
        panic!()
    };
    assert_eq!((sources.next(), sources.next()), (Some(PEER), None));
    assert_eq!(reason, Some(&b"hung up"[..]));

    let t0 = Instant::now();
    let mut s = RtcpSession::new(RtcpConfig::new(OURS, "us", 1), t0);
    s.on_rtcp(t0, &bytes).unwrap();
    let st = s.stats();
    let about_us = st.remote_report.unwrap();
    assert_eq!(
        about_us.ssrc, OURS,
        "the block about someone else is not ours"
    );
    assert_eq!(
        (
            about_us.fraction_lost,
            about_us.jitter,
            about_us.cumulative_lost
        ),
        (13, 42, -1)
    );
    assert_eq!(st.remote_ssrc, Some(PEER));
    assert_eq!(st.remote_sender.map(|i| i.packet_count), Some(500));
    assert!(st.bye_received);
    assert_eq!(st.round_trip_time, None, "LSR 0: no SR of ours echoed");
    assert_eq!((st.compounds_received, st.malformed), (1, 0));
}

#[test]
fn every_truncation_is_refused_unless_it_ends_on_a_packet_boundary() {
    let bytes = peer_compound();
    let mut boundaries = vec![0];
    let mut at = 0;
    while at < bytes.len() {
        at += (usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]])) + 1) * 4;
        boundaries.push(at);
    }
    for cut in 0..bytes.len() {
        let got = parse_compound(&bytes[..cut]);
        if cut != 0 && boundaries.contains(&cut) {
            assert!(got.is_ok(), "a whole prefix of packets at {cut}");
        } else {
            assert!(got.is_err(), "cut at {cut} accepted");
        }
    }
}

#[test]
fn malformed_packets_name_what_is_wrong() {
    let rr = |b: &[u8]| parse_compound(b).err();
    assert_eq!(rr(&[]), Some(RtcpError::Truncated { len: 0 }));
    assert_eq!(rr(&[0x81, 201, 0]), Some(RtcpError::Truncated { len: 3 }));
    assert_eq!(
        rr(&[0x41, 201, 0, 1, 0, 0, 0, 1]),
        Some(RtcpError::BadVersion(1))
    );
    // An RTP packet (PT 0) on the RTCP port.
    assert_eq!(
        rr(&[0x80, 0, 0, 1, 0, 0, 0, 1]),
        Some(RtcpError::NotRtcp(0))
    );
    assert_eq!(
        rr(&[0x80, 201, 0, 9, 0, 0, 0, 1]),
        Some(RtcpError::BadLength {
            claimed: 40,
            available: 8
        })
    );
    // RR claiming two blocks with room for none.
    assert_eq!(
        rr(&[0x82, 201, 0, 1, 0, 0, 0, 1]),
        Some(RtcpError::BadBody(201))
    );
    // SR too short for its sender info.
    assert_eq!(
        rr(&[0x80, 200, 0, 1, 0, 0, 0, 1]),
        Some(RtcpError::BadBody(200))
    );
    // SDES whose CNAME item claims 200 octets.
    assert_eq!(
        rr(&[0x81, 202, 0, 2, 0, 0, 0, 1, 1, 200, b'a', 0]),
        Some(RtcpError::BadBody(202))
    );
    // SDES chunk without its terminating null octet.
    assert_eq!(
        rr(&[0x81, 202, 0, 2, 0, 0, 0, 1, 1, 2, b'a', b'b']),
        Some(RtcpError::BadBody(202))
    );
    // BYE whose reason runs past the packet.
    assert_eq!(
        rr(&[0x81, 203, 0, 2, 0, 0, 0, 1, 9, b'b', b'y', b'e']),
        Some(RtcpError::BadBody(203))
    );
    // BYE listing three sources in a one-word body.
    assert_eq!(
        rr(&[0x83, 203, 0, 1, 0, 0, 0, 1]),
        Some(RtcpError::BadBody(203))
    );
    // Padding bit with a zero count, and with a count longer than the packet.
    assert_eq!(
        rr(&[0xA0, 201, 0, 1, 0, 0, 0, 0]),
        Some(RtcpError::BadPadding(0))
    );
    assert_eq!(
        rr(&[0xA0, 201, 0, 1, 0, 0, 0, 9]),
        Some(RtcpError::BadPadding(9))
    );
    // A valid RR followed by garbage: the whole datagram is refused.
    assert!(rr(&[0x80, 201, 0, 1, 0, 0, 0, 1, 0xFF]).is_some());
    // Properly padded: an RR whose last 4 octets are padding.
    assert_eq!(rr(&[0xA0, 201, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4]), None);
}

/// A small generator so the fuzzing below is the same every run.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn garbage_and_mutated_reports_are_errors_not_panics() {
    let t0 = Instant::now();
    let mut s = RtcpSession::new(RtcpConfig::new(OURS, "us", 1), t0);
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let valid = peer_compound();
    let mut refused = 0u64;
    for round in 0..20_000u32 {
        let datagram: Vec<u8> = if round % 2 == 0 {
            let len = (rng.next() % 120) as usize;
            (0..len).map(|_| rng.next() as u8).collect()
        } else {
            // A valid compound with a few octets flipped: lengths and counts go wrong
            // in ways random bytes rarely reach.
            let mut v = valid.clone();
            for _ in 0..(1 + rng.next() % 3) {
                let i = (rng.next() as usize) % v.len();
                v[i] ^= rng.next() as u8 | 1;
            }
            v
        };
        if s.on_rtcp(t0, &datagram).is_err() {
            refused += 1;
        }
    }
    assert_eq!(s.stats().malformed, refused);
    assert!(refused > 10_000, "most garbage is refused ({refused})");
    assert!(
        s.stats().compounds_received > 0,
        "mutations of data fields are still valid RTCP"
    );
}

#[test]
fn webrtc_rs_reads_our_bye() {
    let t0 = Instant::now();
    let mut s = RtcpSession::new(RtcpConfig::new(OURS, "c", 3), t0);
    let tx = RtpSender::new(OURS, SeqNo(1), RtpTimestamp(0), PayloadType::PCMU);
    let mut out = [0u8; 100];
    let n = s
        .write_bye(
            t0,
            wall(t0, t0),
            &ReceiveStats::default(),
            tx.stats(),
            &mut out,
        )
        .unwrap();
    let packets = rtcp::packet::unmarshal(&mut Bytes::copy_from_slice(&out[..n])).unwrap();
    assert_eq!(packets.len(), 3);
    let bye = packets[2].as_any().downcast_ref::<Goodbye>().unwrap();
    assert_eq!(bye.sources, vec![OURS.0]);
    assert!(packets[0]
        .as_any()
        .downcast_ref::<ReceiverReport>()
        .is_some());
    // A buffer one octet short is our bug, not the peer's, and writes nothing.
    let mut short = [0u8; 100];
    let err = s
        .write_bye(
            t0,
            wall(t0, t0),
            &ReceiveStats::default(),
            tx.stats(),
            &mut short[..n - 1],
        )
        .unwrap_err();
    assert_eq!(
        err,
        sotto_media::Error::BufferTooSmall {
            need: n,
            have: n - 1
        }
    );
}
