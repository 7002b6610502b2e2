//! Two RTCP sessions against a simulated clock and network: A sends RTP and SRs, B only
//! listens and sends RRs. What each learns about the other must match what the
//! simulated network did to the packets.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sotto_media::rtcp::{parse_compound, RtcpPacket};
use sotto_media::{
    NtpTime, PayloadType, ReceiverConfig, RtcpConfig, RtcpSession, RtpReceiver, RtpSender,
    RtpTimestamp, SeqNo, Ssrc,
};

const A_SSRC: Ssrc = Ssrc(0xA000_0001);
const B_SSRC: Ssrc = Ssrc(0xB000_0002);
/// One-way delays of RTCP: the RTT both sides should see is their sum.
const A_TO_B: Duration = Duration::from_millis(37);
const B_TO_A: Duration = Duration::from_millis(52);
/// 1/65536 s, the resolution of DLSR.
const SHORT_UNIT: Duration = Duration::from_nanos(15_259);
/// e − 3/2 (RFC 3550 A.7).
const COMPENSATION: f64 = std::f64::consts::E - 1.5;

/// The wall clock both endpoints read: an arbitrary Unix time plus simulated time.
fn wall(t0: Instant, now: Instant) -> NtpTime {
    NtpTime::from_unix(Duration::from_secs(1_700_000_000) + (now - t0))
}

enum To {
    A,
    B,
}

enum Kind {
    Rtp,
    Rtcp,
}

struct Net {
    queue: VecDeque<(Instant, To, Kind, Vec<u8>)>,
}

impl Net {
    fn send(&mut self, at: Instant, to: To, kind: Kind, bytes: &[u8]) {
        self.queue.push_back((at, to, kind, bytes.to_vec()));
        self.queue.make_contiguous().sort_by_key(|(at, ..)| *at);
    }
}

struct Run {
    a_reports: Vec<(Instant, Vec<u8>)>,
    b_reports: Vec<(Instant, Vec<u8>)>,
    a: RtcpSession,
    b: RtcpSession,
    a_tx: RtpSender,
    b_rx: RtpReceiver,
    dropped: Vec<u16>,
    end: Instant,
}

/// A sends 20 ms RTP for `secs` (every 10th packet lost, every other one 10 ms late),
/// both sides report when due; at the end A says BYE.
fn run(secs: u64) -> Run {
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs(secs);
    let mut a = RtcpSession::new(RtcpConfig::new(A_SSRC, "a@sotto.test", 1), t0);
    let mut b = RtcpSession::new(RtcpConfig::new(B_SSRC, "b@sotto.test", 2), t0);
    let mut a_tx = RtpSender::new(
        A_SSRC,
        SeqNo(65_000),
        RtpTimestamp(4_000_000_000),
        PayloadType::PCMU,
    );
    let b_tx = RtpSender::new(B_SSRC, SeqNo(1), RtpTimestamp(1), PayloadType::PCMU);
    let mut a_rx = RtpReceiver::new(ReceiverConfig::default());
    let mut b_rx = RtpReceiver::new(ReceiverConfig::default());
    let mut net = Net {
        queue: VecDeque::new(),
    };
    let mut out = [0u8; 1500];
    let mut a_reports = Vec::new();
    let mut b_reports = Vec::new();
    let mut dropped = Vec::new();

    let mut now = t0;
    let mut i = 0u32;
    while now < end {
        if (now - t0).as_millis() % 20 == 0 {
            let ts = a_tx.next_timestamp();
            let seq = a_tx.next_sequence();
            let n = a_tx.packetize(&[0xFF; 160], &mut out).unwrap();
            a.on_rtp_sent(now, ts);
            if i % 10 == 9 {
                dropped.push(seq.0);
            } else {
                let late = if i % 2 == 1 {
                    Duration::from_millis(10)
                } else {
                    Duration::ZERO
                };
                net.send(now + A_TO_B + late, To::B, Kind::Rtp, &out[..n]);
            }
            i += 1;
        }
        if let Some(n) = a
            .poll_report(now, wall(t0, now), a_rx.stats(), a_tx.stats(), &mut out)
            .unwrap()
        {
            a_reports.push((now, out[..n].to_vec()));
            net.send(now + A_TO_B, To::B, Kind::Rtcp, &out[..n]);
        }
        if let Some(n) = b
            .poll_report(now, wall(t0, now), b_rx.stats(), b_tx.stats(), &mut out)
            .unwrap()
        {
            b_reports.push((now, out[..n].to_vec()));
            net.send(now + B_TO_A, To::A, Kind::Rtcp, &out[..n]);
        }
        while net.queue.front().is_some_and(|(at, ..)| *at <= now) {
            let (_, to, kind, bytes) = net.queue.pop_front().unwrap();
            match (to, kind) {
                (To::B, Kind::Rtp) => {
                    let got = b_rx.on_datagram(now, Bytes::from(bytes)).unwrap();
                    b.on_rtp_received(&got);
                }
                (To::B, Kind::Rtcp) => b.on_rtcp(now, &bytes).unwrap(),
                (To::A, Kind::Rtcp) => a.on_rtcp(now, &bytes).unwrap(),
                (To::A, Kind::Rtp) => {
                    let got = a_rx.on_datagram(now, Bytes::from(bytes)).unwrap();
                    a.on_rtp_received(&got);
                }
            }
        }
        now += Duration::from_millis(1);
    }
    let n = a
        .write_bye(now, wall(t0, now), a_rx.stats(), a_tx.stats(), &mut out)
        .unwrap();
    a_reports.push((now, out[..n].to_vec()));
    b.on_rtcp(now + A_TO_B, &out[..n]).unwrap();
    Run {
        a_reports,
        b_reports,
        a,
        b,
        a_tx,
        b_rx,
        dropped,
        end,
    }
}

#[test]
fn sender_reports_and_receiver_reports_give_the_round_trip_time() {
    let r = run(40);
    assert!(
        r.a_reports.len() >= 6 && r.b_reports.len() >= 6,
        "{} / {}",
        r.a_reports.len(),
        r.b_reports.len()
    );

    // A sent RTP, so every report of A's is an SR; B never did, so B's are RRs.
    for (_, bytes) in &r.a_reports {
        let first = parse_compound(bytes).unwrap().next().unwrap();
        assert!(
            matches!(first, RtcpPacket::SenderReport { ssrc: A_SSRC, .. }),
            "{first:?}"
        );
    }
    for (_, bytes) in &r.b_reports {
        let first = parse_compound(bytes).unwrap().next().unwrap();
        assert!(
            matches!(first, RtcpPacket::ReceiverReport { ssrc: B_SSRC, .. }),
            "{first:?}"
        );
    }

    // RTT = A − LSR − DLSR: the two one-way delays, to DLSR's 1/65536 s.
    let rtt = r.a.stats().round_trip_time.expect("an RR echoed an SR");
    let want = A_TO_B + B_TO_A;
    assert!(
        rtt >= want && rtt - want < SHORT_UNIT,
        "rtt {rtt:?}, want {want:?}"
    );
    assert_eq!(r.a.stats().remote_ssrc, Some(B_SSRC));
    assert_eq!(r.b.stats().remote_ssrc, Some(A_SSRC));
    // A received no RTP, so its SRs carry no report block and B learns nothing of
    // its own (non-existent) stream.
    assert_eq!(r.b.stats().remote_report, None);
    assert_eq!(r.b.stats().round_trip_time, None);
}

#[test]
fn receiver_report_blocks_carry_lsr_and_dlsr_of_the_latest_sender_report() {
    let r = run(40);
    let sr_times: Vec<(Instant, u32)> = r
        .a_reports
        .iter()
        .map(
            |(at, bytes)| match parse_compound(bytes).unwrap().next().unwrap() {
                RtcpPacket::SenderReport { info, .. } => (*at, info.ntp.short()),
                other => panic!("{other:?}"),
            },
        )
        .collect();
    let mut echoed = 0;
    for (at, bytes) in &r.b_reports {
        let RtcpPacket::ReceiverReport { mut reports, .. } =
            parse_compound(bytes).unwrap().next().unwrap()
        else {
            unreachable!()
        };
        let block = reports
            .next()
            .expect("B heard A's RTP since its last report");
        assert_eq!(block.ssrc, A_SSRC);
        // The latest SR B had received when it reported.
        let latest = sr_times.iter().rfind(|(sent, _)| *sent + A_TO_B <= *at);
        match latest {
            None => assert_eq!((block.last_sr, block.delay_since_last_sr), (0, 0)),
            Some((sent, lsr)) => {
                echoed += 1;
                assert_eq!(block.last_sr, *lsr);
                let held = *at - (*sent + A_TO_B);
                let dlsr = u128::from(block.delay_since_last_sr);
                assert_eq!(
                    dlsr,
                    held.as_nanos() * 65_536 / 1_000_000_000,
                    "DLSR in 1/65536 s"
                );
            }
        }
    }
    assert!(echoed >= 5);
}

#[test]
fn the_sender_learns_how_its_stream_is_received() {
    let r = run(40);
    let remote = r.a.stats().remote_report.expect("B's RR reached A");
    // Every 10th packet lost: each interval's fraction is about 10% of 256.
    assert!(
        (23..=28).contains(&remote.fraction_lost),
        "fraction {}",
        remote.fraction_lost
    );
    // Cumulative loss: the dropped packets up to the highest sequence B reported.
    let highest = remote.extended_highest_seq;
    let first = 65_000u32;
    let lost_below = r
        .dropped
        .iter()
        .map(|&s| {
            if u32::from(s) >= first {
                u32::from(s)
            } else {
                u32::from(s) + 65_536
            }
        })
        .filter(|&ext| ext <= highest)
        .count();
    assert_eq!(remote.cumulative_lost, lost_below as i32);
    assert!(
        highest > 65_536,
        "the extended number counts the wrap: {highest}"
    );
    // B's RTP receiver has counted on since its last report.
    assert!(remote.cumulative_lost > 0);
    assert!(remote.cumulative_lost as u64 <= r.b_rx.stats().lost);
    // Packets alternate between on time and 10 ms late: |D| is 80 units, J tends to 80.
    assert!(
        (60..=80).contains(&remote.jitter),
        "jitter {}",
        remote.jitter
    );

    // B learns A's sending counts from the SR.
    let info = r.b.stats().remote_sender.expect("an SR reached B");
    assert!(u64::from(info.packet_count) <= r.a_tx.stats().packets);
    assert!(info.packet_count > 1000);
    assert_eq!(
        u64::from(info.octet_count),
        160 * u64::from(info.packet_count)
    );
}

#[test]
fn sender_report_places_wall_clock_and_media_clock_together() {
    let r = run(20);
    // A's RTP clock started at 4e9 and runs at 8 kHz from its first packet, so at the
    // moment of each SR it reads 4e9 + 8 × elapsed ms, wrapped.
    let t0 = r.end - Duration::from_secs(20);
    for (at, bytes) in &r.a_reports {
        let RtcpPacket::SenderReport { info, .. } = parse_compound(bytes).unwrap().next().unwrap()
        else {
            unreachable!()
        };
        let elapsed = (*at - t0).as_millis() as u32;
        assert_eq!(
            info.rtp_timestamp,
            RtpTimestamp(4_000_000_000u32.wrapping_add(8 * elapsed))
        );
        assert_eq!(info.ntp, wall(t0, *at));
    }
}

#[test]
fn bye_ends_reporting_and_is_seen_by_the_peer() {
    let r = run(10);
    let (_, bye) = r.a_reports.last().unwrap();
    let kinds: Vec<&str> = parse_compound(bye)
        .unwrap()
        .map(|p| match p {
            RtcpPacket::SenderReport { .. } => "SR",
            RtcpPacket::ReceiverReport { .. } => "RR",
            RtcpPacket::SourceDescription { .. } => "SDES",
            RtcpPacket::Bye { .. } => "BYE",
            RtcpPacket::Other { .. } => "other",
        })
        .collect();
    assert_eq!(kinds, ["SR", "SDES", "BYE"]);
    assert!(r.b.stats().bye_received);
    assert!(!r.a.stats().bye_received);
    let mut a = r.a;
    assert_eq!(a.poll_timeout(), None);
    let later = r.end + Duration::from_secs(60);
    let mut out = [0u8; 1500];
    let stats = sotto_media::ReceiveStats::default();
    let n = a
        .poll_report(later, wall(r.end, later), &stats, r.a_tx.stats(), &mut out)
        .unwrap();
    assert_eq!(n, None, "nothing after BYE");
}

/// Drives a silent session to each due report and returns when reports went out.
fn report_times(seed: u64, reports: usize) -> (Instant, Vec<Instant>) {
    let t0 = Instant::now();
    let mut s = RtcpSession::new(RtcpConfig::new(Ssrc(seed as u32), "x", seed), t0);
    let rx = sotto_media::ReceiveStats::default();
    let tx = *RtpSender::new(Ssrc(1), SeqNo(1), RtpTimestamp(1), PayloadType::PCMU).stats();
    let mut out = [0u8; 200];
    let mut sent = Vec::new();
    while sent.len() < reports {
        let at = s.poll_timeout().unwrap();
        if s.poll_report(at, wall(t0, at), &rx, &tx, &mut out)
            .unwrap()
            .is_some()
        {
            sent.push(at);
        }
    }
    (t0, sent)
}

#[test]
fn report_intervals_stay_within_the_randomised_bounds() {
    let (t0, sent) = report_times(7, 2000);
    let secs = |d: Duration| d.as_secs_f64();
    // The first comes after half the minimum, randomised: 2.5 s × [0.5, 1.5] / (e − 3/2).
    let first = secs(sent[0] - t0);
    assert!(
        (2.5 * 0.5 / COMPENSATION..=2.5 * 1.5 / COMPENSATION).contains(&first),
        "first {first}"
    );
    let gaps: Vec<f64> = sent.windows(2).map(|w| secs(w[1] - w[0])).collect();
    let (lo, hi) = (5.0 * 0.5 / COMPENSATION, 5.0 * 1.5 / COMPENSATION);
    assert!(
        gaps.iter().all(|g| (lo..=hi).contains(g)),
        "a gap outside [{lo}, {hi}]"
    );
    // Randomised over the whole range, not fixed: draws near both ends.
    let min = gaps.iter().cloned().fold(f64::MAX, f64::min);
    let max = gaps.iter().cloned().fold(0.0, f64::max);
    assert!(min < lo + 0.2 && max > hi - 0.2, "min {min} max {max}");
    // Reconsideration only ever postpones: the mean is above the plain draw's 5/(e−1.5).
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    assert!(mean > 5.0 / COMPENSATION && mean < 5.5, "mean {mean}");

    // Another seed, another schedule: two legs do not report in lockstep.
    let (t1, other) = report_times(8, 10);
    let offsets = |t: Instant, v: &[Instant]| v.iter().map(|x| *x - t).collect::<Vec<_>>();
    assert_ne!(offsets(t0, &sent[..10]), offsets(t1, &other));
}
