//! The jitter buffer as the per-leg pipeline drives it: packets pushed as they arrive,
//! one pop per 20 ms tick, on a simulated clock.

use std::time::{Duration, Instant};

use bytes::Bytes;
use sotto_media::jitter::{
    JitterBuffer, JitterConfig, Playout, PushOutcome, Refused, MAX_PACKET_SAMPLES,
};
use sotto_media::{PayloadType, RtpPacket, RtpTimestamp, SeqNo, Ssrc};

const MS: Duration = Duration::from_millis(1);

/// A tiny deterministic generator (xorshift64), so loss and jitter are repeatable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A peer sending G.711 packets; the payload's first octet is a frame tag.
struct Peer {
    ssrc: u32,
    seq: u16,
    ts: u32,
    marker: bool,
    samples: usize,
    fill: u8,
}

impl Peer {
    fn new(ssrc: u32, seq: u16, ts: u32) -> Peer {
        Peer {
            ssrc,
            seq,
            ts,
            marker: true,
            samples: 160,
            fill: 0x00, // µ-law full scale: a loud frame, never "quiet"
        }
    }

    fn next(&mut self) -> RtpPacket {
        let mut payload = vec![self.fill; self.samples];
        payload[0] = (self.ts / 160) as u8;
        let p = RtpPacket {
            marker: std::mem::take(&mut self.marker),
            payload_type: PayloadType::PCMU,
            sequence: SeqNo(self.seq),
            timestamp: RtpTimestamp(self.ts),
            ssrc: Ssrc(self.ssrc),
            payload: Bytes::from(payload),
        };
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(self.samples as u32);
        p
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    Frame(u32),
    Missing,
    Idle,
}

/// Delivers `arrivals` (time since start, packet) and ticks every 20 ms from `phase` on;
/// at a tick, the packets that arrived by then are pushed first.
struct Sim {
    start: Instant,
    jb: JitterBuffer,
    outcomes: Vec<PushOutcome>,
}

impl Sim {
    fn new() -> Sim {
        Sim {
            start: Instant::now(),
            jb: JitterBuffer::new(JitterConfig::default()),
            outcomes: Vec::new(),
        }
    }

    fn run(&mut self, mut arrivals: Vec<(Duration, RtpPacket)>, phase: Duration) -> Vec<Out> {
        arrivals.sort_by_key(|(t, _)| *t);
        let last = arrivals.last().map_or(Duration::ZERO, |(t, _)| *t);
        let ticks = (last.as_millis() / 20) as usize + 30;
        let mut next = 0;
        let mut out = Vec::with_capacity(ticks);
        for k in 0..ticks {
            let now = phase + 20 * MS * k as u32;
            while next < arrivals.len() && arrivals[next].0 <= now {
                let o = self
                    .jb
                    .push(self.start + arrivals[next].0, &arrivals[next].1);
                self.outcomes.push(o);
                next += 1;
            }
            out.push(match self.jb.pop(self.start + now) {
                Playout::Frame { timestamp, .. } => Out::Frame(timestamp.0),
                Playout::Missing => Out::Missing,
                Playout::Idle => Out::Idle,
            });
        }
        out
    }
}

/// `n` packets sent every 20 ms from t = 0.
fn steady(peer: &mut Peer, n: usize) -> Vec<(Duration, RtpPacket)> {
    (0..n).map(|i| (20 * MS * i as u32, peer.next())).collect()
}

/// The outputs from the first frame to the last: the stream as played, without the
/// idle start and the underrun after the sender stopped.
fn playing(out: &[Out]) -> &[Out] {
    let first = out.iter().position(|o| matches!(o, Out::Frame(_))).unwrap();
    let last = out
        .iter()
        .rposition(|o| matches!(o, Out::Frame(_)))
        .unwrap();
    &out[first..=last]
}

fn frames(out: &[Out]) -> Vec<u32> {
    out.iter()
        .filter_map(|o| match o {
            Out::Frame(ts) => Some(*ts),
            _ => None,
        })
        .collect()
}

fn consecutive(ts: &[u32]) -> bool {
    ts.windows(2).all(|w| w[1] == w[0].wrapping_add(160))
}

#[test]
fn in_order_stream_plays_every_packet_one_frame_late() {
    let mut sim = Sim::new();
    let mut peer = Peer::new(1, 100, 1000);
    let out = sim.run(steady(&mut peer, 500), 5 * MS);
    // Packet 0 arrives at 0 ms; the tick at 5 ms is too early, the one at 25 ms plays it.
    assert_eq!(out[0], Out::Idle);
    assert_eq!(out[1], Out::Frame(1000));
    let played = playing(&out);
    assert_eq!(played.len(), 500, "one frame per tick, none missing");
    assert!(consecutive(&frames(played)));
    let s = sim.jb.stats();
    // After the sender stops, max_delay (200 ms) of underrun is concealed, then idle:
    // that end is not loss.
    assert_eq!((s.played, s.lost, s.late, s.concealed), (500, 0, 0, 9));
    assert_eq!(
        out.iter()
            .rev()
            .take(10)
            .filter(|o| **o == Out::Idle)
            .count(),
        10
    );
    assert_eq!(s.target_delay_ms, 20);
    assert_eq!(s.current_delay_ms, 25);
    assert!(sim.outcomes.iter().all(|o| *o == PushOutcome::Buffered));
}

#[test]
fn reordering_within_the_delay_plays_in_order() {
    let mut sim = Sim::new();
    let mut peer = Peer::new(1, 0, 0);
    let mut arrivals = steady(&mut peer, 300);
    for i in (10..300).step_by(50) {
        arrivals[i].0 += 30 * MS; // arrives after the next two
    }
    // Ticks 15 ms after each arrival: 35 ms of delay covers the 30 ms.
    let out = sim.run(arrivals, 15 * MS);
    let played = frames(playing(&out));
    // Every frame comes out in order, none late or lost. (The first reorder
    // raises the target: the buffer inserts a frame before a frame that is
    // here, never by holding a missing one, and may later drop a frame to
    // come back down.)
    assert!(played.windows(2).all(|w| w[1] > w[0]), "out of order");
    let s = sim.jb.stats();
    assert_eq!((s.late, s.lost), (0, 0));
    assert!(played.len() + s.skipped as usize == 300, "{s:?}");
}

#[test]
fn a_reordered_start_is_still_played_from_the_first_packet() {
    let mut sim = Sim::new();
    let mut peer = Peer::new(1, 0, 0);
    let mut arrivals = steady(&mut peer, 20);
    arrivals[0].0 = 5 * MS; // packet 0 comes late
    arrivals[1].0 = 2 * MS; // and packet 1 first, so playout was anchored on it
    let out = sim.run(arrivals, 10 * MS);
    let played = playing(&out);
    assert_eq!(frames(played)[0], 0, "the start moved back for packet 0");
    assert_eq!(played.len(), 20);
    assert!(consecutive(&frames(played)));
}

#[test]
fn duplicates_are_counted_and_played_once() {
    let mut sim = Sim::new();
    let mut peer = Peer::new(1, 0, 0);
    let mut arrivals = steady(&mut peer, 200);
    let copies: Vec<_> = arrivals
        .iter()
        .step_by(7)
        .map(|(t, p)| (*t + 3 * MS, p.clone()))
        .collect();
    arrivals.extend(copies.iter().cloned());
    let out = sim.run(arrivals, 5 * MS);
    let played = playing(&out);
    assert_eq!(played.len(), 200);
    assert!(consecutive(&frames(played)));
    let s = sim.jb.stats();
    assert_eq!(s.duplicates, copies.len() as u64);
    assert_eq!(s.pushed, 200 + copies.len() as u64);
}

#[test]
fn a_packet_after_its_playout_time_is_late_and_not_played() {
    let mut sim = Sim::new();
    let mut peer = Peer::new(1, 0, 0);
    let mut arrivals = steady(&mut peer, 100);
    arrivals[30].0 += 150 * MS;
    let out = sim.run(arrivals, 5 * MS);
    let played = playing(&out);
    assert_eq!(played[30], Out::Missing);
    assert_eq!(played.len(), 100);
    let f = frames(played);
    assert_eq!(f.len(), 99);
    assert!(!f.contains(&(30 * 160)));
    let s = sim.jb.stats();
    assert_eq!((s.late, s.lost, s.concealed), (1, 1, 1 + 9));
    assert!(sim.outcomes.contains(&PushOutcome::Late));
}

#[test]
fn random_loss_is_missing_exactly_where_packets_were_lost() {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut sim = Sim::new();
    let mut peer = Peer::new(9, 65000, 4_000_000_000);
    let n = 10_000;
    let mut lost = vec![false; n];
    let mut arrivals = Vec::new();
    for (i, gone) in lost.iter_mut().enumerate() {
        let p = peer.next();
        // 5% loss, never the first or last packet (those bound the stream).
        *gone = i > 0 && i < n - 1 && rng.below(100) < 5;
        if !*gone {
            arrivals.push((20 * MS * i as u32, p));
        }
    }
    let expected = lost.iter().filter(|&&l| l).count();
    assert!((400..600).contains(&expected), "{expected} lost");
    let out = sim.run(arrivals, 7 * MS);
    let played = playing(&out);
    assert_eq!(
        played.len(),
        n,
        "one frame per tick: the output never stalls"
    );
    for (i, o) in played.iter().enumerate() {
        let want = if lost[i] {
            Out::Missing
        } else {
            Out::Frame(4_000_000_000u32.wrapping_add(160 * i as u32))
        };
        assert_eq!(*o, want, "tick {i}");
    }
    let s = sim.jb.stats();
    assert_eq!(s.lost, expected as u64);
    assert_eq!(
        s.concealed,
        expected as u64 + 9,
        "the losses and the final underrun"
    );
    assert_eq!(s.played, (n - expected) as u64);
}

#[test]
fn jitter_grows_the_delay_and_calm_shrinks_it_back() {
    let mut rng = Rng(42);
    let start = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::default());
    let mut peer = Peer::new(3, 0, 0);
    let (calm1, jittery, calm2) = (500u32, 1500u32, 2500u32);
    let total = calm1 + jittery + calm2;
    let mut arrivals = Vec::new();
    for i in 0..total {
        let nominal = 1000 + 20 * i as i64; // ms; leaves room for early arrivals
        let dev = if (calm1..calm1 + jittery).contains(&i) {
            rng.below(61) as i64 - 30
        } else {
            0
        };
        arrivals.push((Duration::from_millis((nominal + dev) as u64), peer.next()));
    }
    arrivals.sort_by_key(|(t, _)| *t);
    let mut next = 0;
    let (mut peak_target, mut late_in_jitter, mut idle_after_start) = (0, 0, 0);
    let mut started = false;
    for k in 0..(total as usize + 60) {
        let now = Duration::from_millis(1003 + 20 * k as u64);
        while next < arrivals.len() && arrivals[next].0 <= now {
            let i = arrivals[next].1.sequence.0 as u32;
            if jb.push(start + arrivals[next].0, &arrivals[next].1) == PushOutcome::Late
                && (calm1..calm1 + jittery).contains(&i)
            {
                late_in_jitter += 1;
            }
            next += 1;
        }
        let idle = matches!(jb.pop(start + now), Playout::Idle);
        started |= !idle;
        if started && idle && next < arrivals.len() {
            idle_after_start += 1;
        }
        peak_target = peak_target.max(jb.stats().target_delay_ms);
        if k == (calm1 + jittery) as usize {
            let s = jb.stats();
            assert!(s.target_delay_ms >= 50, "target after jitter: {s:?}");
            assert!(s.current_delay_ms >= 50, "delay follows the target: {s:?}");
        }
    }
    let s = jb.stats();
    assert_eq!(idle_after_start, 0, "playout never stalled");
    assert!(
        peak_target <= 80,
        "±30 ms needs about 60 ms, not {peak_target}"
    );
    assert!(
        late_in_jitter < jittery / 20,
        "{late_in_jitter} late of {jittery}"
    );
    assert_eq!(s.target_delay_ms, 20, "calm again: {s:?}");
    assert!(s.current_delay_ms < 45, "delay shrank back: {s:?}");
    assert!(s.stretched > 0 && s.skipped > 0, "{s:?}");
}

#[test]
fn ssrc_change_resyncs_and_old_stragglers_are_refused() {
    let mut sim = Sim::new();
    let mut a = Peer::new(0xA, 500, 10_000);
    let mut b = Peer::new(0xB, 9, 77_777);
    let mut arrivals = steady(&mut a, 100);
    let straggler = arrivals.remove(98);
    for i in 0..100u32 {
        arrivals.push((20 * MS * (100 + i), b.next()));
    }
    arrivals.push((straggler.0 + 70 * MS, straggler.1)); // after B began
    let out = sim.run(arrivals, 5 * MS);
    let f = frames(playing(&out));
    let switch = f.iter().position(|&ts| ts == 77_777).expect("B is played");
    assert!(consecutive(&f[switch..]) && f.len() - switch == 100);
    assert!(f[..switch].iter().all(|&ts| ts < 77_777));
    let s = sim.jb.stats();
    assert_eq!(s.resyncs, 1);
    assert!(sim.outcomes.contains(&PushOutcome::Resynced));
    assert!(sim
        .outcomes
        .contains(&PushOutcome::Refused(Refused::StaleSource(Ssrc(0xA)))));
}

#[test]
fn sequence_and_timestamp_wrap_around_without_a_hitch() {
    let mut sim = Sim::new();
    let mut peer = Peer::new(1, 65_530, u32::MAX - 5 * 160 + 1);
    let out = sim.run(steady(&mut peer, 100), 5 * MS);
    let played = playing(&out);
    assert_eq!(played.len(), 100);
    assert!(consecutive(&frames(played)));
    let s = sim.jb.stats();
    assert_eq!((s.lost, s.duplicates, s.resyncs, s.late), (0, 0, 0, 0));
}

#[test]
fn a_timestamp_jump_resyncs_playout() {
    for jump in [80_000u32, 0u32.wrapping_sub(80_000)] {
        let mut sim = Sim::new();
        let mut peer = Peer::new(1, 0, 1_000_000);
        let mut arrivals = steady(&mut peer, 50);
        peer.ts = peer.ts.wrapping_add(jump); // same source, numbers run on, time jumps
        let after = peer.ts;
        for i in 50..100u32 {
            arrivals.push((20 * MS * i, peer.next()));
        }
        let out = sim.run(arrivals, 5 * MS);
        let f = frames(playing(&out));
        assert_eq!(f.len(), 100, "jump {jump}: every frame played");
        assert_eq!(f[50], after);
        assert!(consecutive(&f[..50]) && consecutive(&f[50..]));
        assert_eq!(sim.jb.stats().resyncs, 1);
        assert_eq!(sim.outcomes[50], PushOutcome::Resynced);
    }
}

#[test]
fn silence_between_talkspurts_idles_then_restarts_at_the_target() {
    let mut sim = Sim::new();
    let mut peer = Peer::new(1, 0, 0);
    let mut arrivals = steady(&mut peer, 50);
    // RFC 3551 §4.1: two seconds not sent; time moves, numbers do not; M marks the spurt.
    peer.ts += 2 * 8000;
    peer.marker = true;
    for i in 0..50u32 {
        arrivals.push((20 * MS * (150 + i), peer.next()));
    }
    let out = sim.run(arrivals, 5 * MS);
    let played = playing(&out);
    let missing = played.iter().filter(|o| **o == Out::Missing).count();
    let idle = played.iter().filter(|o| **o == Out::Idle).count();
    assert_eq!(missing, 9, "max_delay of underrun before idling");
    assert!(idle > 80);
    assert_eq!(frames(played).len(), 100);
    let s = sim.jb.stats();
    assert_eq!((s.lost, s.starts, s.resyncs), (0, 2, 0));
    assert_eq!(s.current_delay_ms, 25);
}

#[test]
fn ten_and_thirty_ms_packets_become_twenty_ms_frames() {
    for samples in [80usize, 240, 480] {
        let mut sim = Sim::new();
        let mut peer = Peer::new(1, 0, 0);
        peer.samples = samples;
        let step = samples as u32 / 8; // ms
        let arrivals: Vec<_> = (0..60u32)
            .map(|i| (MS * step * i + MS * step, peer.next()))
            .collect();
        let out = sim.run(arrivals, 5 * MS);
        let f = frames(playing(&out));
        assert_eq!(f.len(), 60 * samples / 160, "{samples}-sample packets");
        assert!(consecutive(&f));
        assert_eq!(sim.jb.stats().lost, 0);
    }
}

#[test]
fn frames_are_lent_with_their_payload_and_marker() {
    let start = Instant::now();
    let mut jb = JitterBuffer::default();
    let mut peer = Peer::new(1, 0, 0);
    peer.samples = 80;
    let (a, b) = (peer.next(), peer.next());
    assert_eq!(jb.push(start, &a), PushOutcome::Buffered);
    assert_eq!(jb.push(start, &b), PushOutcome::Buffered);
    match jb.pop(start + 20 * MS) {
        Playout::Frame {
            payload,
            marker,
            discontinuity,
            ..
        } => {
            assert_eq!(&payload[..80], &a.payload[..]);
            assert_eq!(&payload[80..], &b.payload[..]);
            assert!(marker && discontinuity);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn what_is_not_g711_audio_is_refused() {
    let start = Instant::now();
    let mut jb = JitterBuffer::default();
    let mut p = Peer::new(1, 0, 0).next();
    p.payload_type = PayloadType::CN;
    assert_eq!(
        jb.push(start, &p),
        PushOutcome::Refused(Refused::NotAudio(PayloadType::CN))
    );
    p.payload_type = PayloadType::PCMA;
    p.payload = Bytes::new();
    assert_eq!(jb.push(start, &p), PushOutcome::Refused(Refused::Length(0)));
    p.payload = Bytes::from(vec![0xD5; MAX_PACKET_SAMPLES + 1]);
    assert!(matches!(
        jb.push(start, &p),
        PushOutcome::Refused(Refused::Length(_))
    ));
    assert_eq!(jb.stats().refused, 3);
    assert!(jb.is_idle());
    assert_eq!(jb.pop(start), Playout::Idle);
}

#[test]
fn a_sender_marking_every_packet_is_not_restarted_at_each_loss() {
    let mut sim = Sim::new();
    let mut peer = Peer::new(1, 0, 0);
    let arrivals: Vec<_> = (0..200u32)
        .map(|i| {
            peer.marker = true;
            (20 * MS * i, peer.next())
        })
        .filter(|(_, p)| ![50, 120].contains(&p.sequence.0))
        .collect();
    let out = sim.run(arrivals, 5 * MS);
    let played = playing(&out);
    assert_eq!(played.len(), 200);
    assert_eq!((played[50], played[120]), (Out::Missing, Out::Missing));
    assert_eq!(frames(played).len(), 198);
    let s = sim.jb.stats();
    assert_eq!((s.starts, s.lost), (1, 2));
}

#[test]
fn a_caller_that_stopped_ticking_is_caught_up_at_once() {
    let start = Instant::now();
    let mut jb = JitterBuffer::default();
    let mut peer = Peer::new(1, 0, 0);
    let mut played = Vec::new();
    for k in 0..200u32 {
        let now = start + 20 * MS * k;
        jb.push(now, &peer.next());
        // The media worker stalls from tick 50 to 100 (a second), packets keep coming.
        if !(50..100).contains(&k) {
            if let Playout::Frame { timestamp, .. } = jb.pop(now + 5 * MS) {
                played.push(timestamp.0);
            }
        }
    }
    let s = jb.stats();
    assert_eq!(s.current_delay_ms, 25, "back to the target: {s:?}");
    assert!(s.skipped >= 49, "{s:?}");
    assert!(consecutive(&played[60..]), "playing on after the catch-up");
}
