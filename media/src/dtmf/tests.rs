//! Key presses as a peer sends and receives them: whole packet runs from our sender, and
//! runs with the first packet lost, the end lost, packets repeated and reordered.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::ids::{PayloadType, RtpTimestamp, SeqNo, Ssrc};
use crate::rtp_packet::RtpPacket;
use crate::rtp_sender::RtpSender;

const TE: u8 = 101;

/// What went on the wire in one 20 ms tick.
#[derive(Debug, Clone)]
struct Sent {
    at: Instant,
    packet: RtpPacket,
}

impl Sent {
    fn is_event(&self) -> bool {
        self.packet.payload_type.get() == TE
    }
    fn event(&self) -> EventPayload {
        EventPayload::parse(&self.packet.payload).unwrap()
    }
}

/// Runs `ticks` 20 ms ticks of a leg that sends audio unless the DTMF sender has a packet.
fn run(dtmf: &mut DtmfSender, rtp: &mut RtpSender, start: Instant, ticks: u32) -> Vec<Sent> {
    let mut out = [0u8; 200];
    (0..ticks)
        .map(|i| {
            let n = match dtmf.produce_rtp(rtp, &mut out).unwrap() {
                Some(n) => n,
                None => rtp.packetize(&[0xFF; 160], &mut out).unwrap(),
            };
            Sent {
                at: start + Duration::from_millis(20 * u64::from(i)),
                packet: RtpPacket::parse(Bytes::copy_from_slice(&out[..n])).unwrap(),
            }
        })
        .collect()
}

fn leg_sender() -> RtpSender {
    RtpSender::new(
        Ssrc(42),
        SeqNo(65533),
        RtpTimestamp(1000),
        PayloadType::PCMU,
    )
}

fn dtmf_sender() -> DtmfSender {
    DtmfSender::new(PayloadType::new(TE).unwrap())
}

/// Feeds the event packets to a receiver, collecting what it reports (timeouts polled
/// at each arrival and once at `drain_at`).
fn receive(rx: &mut DtmfReceiver, sent: &[Sent], drain_at: Instant) -> Vec<DtmfEvent> {
    let mut got = Vec::new();
    for s in sent.iter().filter(|s| s.is_event()) {
        while let Some(at) = rx.poll_timeout() {
            if at > s.at {
                break;
            }
            got.extend(rx.handle_timeout(at));
        }
        got.extend(rx.on_packet(s.at, &s.packet).unwrap());
    }
    while let Some(at) = rx.poll_timeout().filter(|&at| at <= drain_at) {
        got.extend(rx.handle_timeout(at));
    }
    got
}

#[test]
fn payload_and_keys_round_trip() {
    let p = EventPayload {
        event: 11,
        end: true,
        volume: 10,
        duration: 800,
    };
    assert_eq!(p.to_bytes(), [11, 0x8A, 0x03, 0x20]);
    assert_eq!(EventPayload::parse(&p.to_bytes()), Ok(p));
    assert_eq!(
        EventPayload::parse(&[1, 2, 3]),
        Err(BadTelephoneEvent::Truncated { len: 3 })
    );
    let keys: String = (0..=16)
        .map(|c| Dtmf::from_code(c).unwrap().to_char())
        .collect();
    assert_eq!(keys, "0123456789*#ABCD!");
    assert_eq!(Dtmf::from_code(17), None);
    assert_eq!(Dtmf::from_char('b'), Some(Dtmf::B));
    assert_eq!(Dtmf::from_char('#').map(Dtmf::code), Some(11));
    assert_eq!(Dtmf::from_char('x'), None);
}

#[test]
fn a_100ms_digit_is_seven_packets_on_one_timestamp() {
    let t0 = Instant::now();
    let mut rtp = leg_sender();
    let mut dtmf = dtmf_sender();
    dtmf.set_volume(7);
    run(&mut dtmf, &mut rtp, t0, 2); // two audio frames first
    dtmf.send(Dtmf::Five, Duration::from_millis(100)).unwrap();
    let sent = run(&mut dtmf, &mut rtp, t0, 9);

    let events: Vec<&Sent> = sent.iter().take_while(|s| s.is_event()).collect();
    assert_eq!(events.len(), 7);
    let ts0 = RtpTimestamp(1000 + 2 * 160);
    assert!(events.iter().all(|s| s.packet.timestamp == ts0));
    assert!(events.iter().all(|s| s.packet.ssrc == Ssrc(42)));
    let markers: Vec<bool> = events.iter().map(|s| s.packet.marker).collect();
    assert_eq!(markers, [true, false, false, false, false, false, false]);
    let seqs: Vec<u16> = events.iter().map(|s| s.packet.sequence.0).collect();
    assert_eq!(
        seqs,
        [65535, 0, 1, 2, 3, 4, 5],
        "one sequence space with audio"
    );
    let durations: Vec<u16> = events.iter().map(|s| s.event().duration).collect();
    assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
    let ends: Vec<bool> = events.iter().map(|s| s.event().end).collect();
    assert_eq!(ends, [false, false, false, false, true, true, true]);
    assert!(events
        .iter()
        .all(|s| s.event().event == 5 && s.event().volume == 7));

    // Audio resumes where the stream's clock is: seven ticks on, marked, in PCMU.
    let audio = &sent[7];
    assert_eq!(audio.packet.payload_type, PayloadType::PCMU);
    assert_eq!(audio.packet.timestamp, ts0.advanced(7 * 160));
    assert!(audio.packet.marker);
    assert!(!sent[8].packet.marker);
    assert!(!dtmf.is_busy());
}

#[test]
fn sender_to_receiver_reports_each_press_once() {
    let t0 = Instant::now();
    let mut rtp = leg_sender();
    let mut dtmf = dtmf_sender();
    for c in "1#".chars() {
        dtmf.send(Dtmf::from_char(c).unwrap(), Duration::from_millis(120))
            .unwrap();
    }
    let sent = run(&mut dtmf, &mut rtp, t0, 30);
    // 6 ticks of duration + 2 more end packets, 3 ticks of audio between the digits.
    let first = sent[0].packet.timestamp;
    let second = sent.iter().filter(|s| s.is_event()).nth(8).unwrap();
    assert_eq!(second.packet.timestamp, first.advanced((8 + 3) * 160));
    assert!(second.packet.marker);

    let mut rx = DtmfReceiver::new(8000);
    let got = receive(&mut rx, &sent, t0 + Duration::from_secs(5));
    let keys: Vec<(char, u16, bool)> = got
        .iter()
        .map(|e| (e.digit.to_char(), e.samples, e.end_received))
        .collect();
    assert_eq!(keys, [('1', 960, true), ('#', 960, true)]);
    assert_eq!(got[0].duration, Duration::from_millis(120));
    assert_eq!(got[0].timestamp, first);
    assert_eq!(got[0].volume, DEFAULT_VOLUME);
    // The press is reported when its first end packet arrives, not three ticks later.
    assert_eq!(rx.poll_timeout(), None);
}

#[test]
fn losing_the_first_packet_still_reports_the_whole_press() {
    let t0 = Instant::now();
    let mut rtp = leg_sender();
    let mut dtmf = dtmf_sender();
    dtmf.send(Dtmf::Star, Duration::from_millis(100)).unwrap();
    let mut sent = run(&mut dtmf, &mut rtp, t0, 10);
    assert!(sent[0].packet.marker);
    sent.remove(0);
    let got = receive(
        &mut DtmfReceiver::new(8000),
        &sent,
        t0 + Duration::from_secs(1),
    );
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].digit, got[0].samples), (Dtmf::Star, 800));
}

#[test]
fn losing_every_end_packet_ends_the_press_on_timeout() {
    let t0 = Instant::now();
    let mut rtp = leg_sender();
    let mut dtmf = dtmf_sender();
    dtmf.send(Dtmf::Nine, Duration::from_millis(100)).unwrap();
    let sent: Vec<Sent> = run(&mut dtmf, &mut rtp, t0, 10)
        .into_iter()
        .filter(|s| !(s.is_event() && s.event().end))
        .collect();
    let mut rx = DtmfReceiver::new(8000);
    for s in sent.iter().filter(|s| s.is_event()) {
        assert_eq!(rx.on_packet(s.at, &s.packet).unwrap(), None);
    }
    let last = sent.iter().filter(|s| s.is_event()).last().unwrap().at;
    let due = rx.poll_timeout().unwrap();
    assert_eq!(due, last + DEFAULT_END_TIMEOUT);
    assert_eq!(rx.handle_timeout(due - Duration::from_millis(1)), None);
    let e = rx.handle_timeout(due).unwrap();
    assert_eq!(
        (e.digit, e.samples, e.end_received),
        (Dtmf::Nine, 640, false)
    );
    assert_eq!(rx.poll_timeout(), None);
    assert_eq!(rx.handle_timeout(due + Duration::from_secs(1)), None);

    // An end packet that straggles in after the timeout is not a second press.
    let end = EventPayload {
        event: 9,
        end: true,
        volume: 10,
        duration: 800,
    };
    let late = rx.on_payload(due, e.timestamp, &end.to_bytes()).unwrap();
    assert_eq!(late, None);
}

#[test]
fn a_new_press_ends_one_whose_end_was_lost() {
    let t0 = Instant::now();
    let mut rx = DtmfReceiver::new(8000);
    let ev = |event: u8, end: bool, duration: u16| {
        EventPayload {
            event,
            end,
            volume: 10,
            duration,
        }
        .to_bytes()
    };
    let ms = |m: u64| t0 + Duration::from_millis(m);
    assert_eq!(
        rx.on_payload(ms(0), RtpTimestamp(0), &ev(1, false, 160)),
        Ok(None)
    );
    assert_eq!(
        rx.on_payload(ms(20), RtpTimestamp(0), &ev(1, false, 320)),
        Ok(None)
    );
    let ended = rx
        .on_payload(ms(60), RtpTimestamp(800), &ev(2, false, 160))
        .unwrap()
        .unwrap();
    assert_eq!((ended.digit, ended.samples), (Dtmf::One, 320));
    assert!(!ended.end_received);

    // The next press is also cut short, and only its end packet gets through: the
    // packet ends two presses, the second handed out by the next timeout poll.
    let first = rx
        .on_payload(ms(200), RtpTimestamp(2400), &ev(3, true, 400))
        .unwrap()
        .unwrap();
    assert_eq!((first.digit, first.samples), (Dtmf::Two, 160));
    assert_eq!(rx.poll_timeout(), Some(ms(200)));
    let second = rx.handle_timeout(ms(200)).unwrap();
    assert_eq!((second.digit, second.samples), (Dtmf::Three, 400));
    assert!(second.end_received);
    assert_eq!(rx.poll_timeout(), None);
}

#[test]
fn repeats_and_reordering_are_reported_once() {
    let t0 = Instant::now();
    let mut rtp = leg_sender();
    let mut dtmf = dtmf_sender();
    dtmf.send(Dtmf::D, Duration::from_millis(80)).unwrap();
    dtmf.send(Dtmf::Flash, Duration::from_millis(80)).unwrap();
    let sent = run(&mut dtmf, &mut rtp, t0, 20);
    let mut events: Vec<Sent> = sent.into_iter().filter(Sent::is_event).collect();
    events.swap(1, 2); // an update overtaken by the next one
    let mut doubled = Vec::new();
    for s in &events {
        doubled.push(s.clone());
        doubled.push(s.clone()); // every packet twice
    }
    // A straggler of the first press arrives during the second.
    let straggler = events[1].clone();
    doubled.insert(doubled.len() - 4, straggler);

    let got = receive(
        &mut DtmfReceiver::new(8000),
        &doubled,
        t0 + Duration::from_secs(5),
    );
    let keys: Vec<(Dtmf, u16, bool)> = got
        .iter()
        .map(|e| (e.digit, e.samples, e.end_received))
        .collect();
    assert_eq!(keys, [(Dtmf::D, 640, true), (Dtmf::Flash, 640, true)]);
}

#[test]
fn events_other_than_dtmf_are_not_reported_but_end_a_press() {
    let t0 = Instant::now();
    let mut rx = DtmfReceiver::new(8000);
    let tone = |event: u8, end: bool| {
        EventPayload {
            event,
            end,
            volume: 0,
            duration: 160,
        }
        .to_bytes()
    };
    assert_eq!(
        rx.on_payload(t0, RtpTimestamp(0), &tone(4, false)),
        Ok(None)
    );
    // Event 32 (ANS, RFC 4734) starts: the press of 4 is over.
    let ended = rx.on_payload(t0, RtpTimestamp(160), &tone(32, false));
    assert_eq!(ended.unwrap().map(|e| e.digit), Some(Dtmf::Four));
    assert_eq!(
        rx.on_payload(t0, RtpTimestamp(160), &tone(32, true)),
        Ok(None)
    );
    assert_eq!(rx.handle_timeout(t0 + Duration::from_secs(9)), None);
    assert_eq!(
        rx.on_payload(t0, RtpTimestamp(320), &[1, 2]),
        Err(BadTelephoneEvent::Truncated { len: 2 })
    );
}

#[test]
fn queue_is_bounded_and_durations_are_clamped() {
    let t0 = Instant::now();
    let mut dtmf = dtmf_sender();
    for _ in 0..32 {
        dtmf.send(Dtmf::Zero, Duration::ZERO).unwrap();
    }
    assert_eq!(dtmf.send(Dtmf::Zero, Duration::ZERO), Err(DtmfQueueFull));

    // A zero-length press still goes out as one packet's worth, ended three times; a
    // very long one stops at the 16-bit duration field.
    let mut dtmf = dtmf_sender();
    let mut rtp = leg_sender();
    dtmf.send(Dtmf::Zero, Duration::ZERO).unwrap();
    let sent = run(&mut dtmf, &mut rtp, t0, 3);
    let d: Vec<(u16, bool)> = sent
        .iter()
        .map(|s| (s.event().duration, s.event().end))
        .collect();
    assert_eq!(d, [(160, true), (160, true), (160, true)]);

    let mut dtmf = dtmf_sender();
    dtmf.send(Dtmf::Zero, Duration::from_secs(60)).unwrap();
    let sent = run(&mut dtmf, &mut rtp, t0, 420);
    let last = sent.iter().filter(|s| s.is_event()).last().unwrap().event();
    assert_eq!((last.duration, last.end), (0xFFFF, true));
}

#[test]
fn a_failed_write_sends_the_same_packet_next_tick() {
    let mut dtmf = dtmf_sender();
    let mut rtp = leg_sender();
    dtmf.send(Dtmf::Two, Duration::from_millis(40)).unwrap();
    let mut small = [0u8; 10];
    assert!(dtmf.produce_rtp(&mut rtp, &mut small).is_err());
    assert_eq!(rtp.payload_type(), PayloadType::PCMU, "audio type restored");
    let sent = run(&mut dtmf, &mut rtp, Instant::now(), 1);
    assert!(sent[0].packet.marker);
    assert_eq!(sent[0].event().duration, 160);
    assert_eq!(sent[0].packet.sequence, SeqNo(65533));
}
