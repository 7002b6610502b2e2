//! Rooms, as the peers on their legs hear them: real UDP sockets on 127.0.0.1 act as
//! the phones, each sending its own tone (1900, 2500, 3100 Hz, well above the music on
//! hold's 440–1760 Hz) as 20 ms PCMU packets while the test changes who hears whom.
//! A tone's share of a signal's energy (one Goertzel bin, normalised) says who a peer
//! hears: about 1 for one party, about ½ each for two, about 0 for a party not heard.

use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ringbuf::traits::{Consumer, Split};
use ringbuf::HeapRb;
use sotto::media_rt::{HoldAudio, LegKey, LegOptions, MediaEngine, PortAllocator, Room};
use sotto_media::codec::{Codec, Frame};
use sotto_media::dtmf::Dtmf;
use sotto_media::g711::{linear_to_ulaw, ulaw_to_linear};

const TONES: [f64; 3] = [1900.0, 2500.0, 3100.0];
/// Packets skipped after each change: the jitter buffer's delay (up to 200 ms) and the
/// command's way to the worker.
const SETTLE: usize = 15;

/// One RTP packet a peer received from sotto.
struct Got {
    phase: usize,
    marker: bool,
    payload_type: u8,
    seq: u16,
    ts: u32,
    ssrc: u32,
    payload: Vec<u8>,
}

/// A phone on one leg: sends its tone every 20 ms (while `sending`), keeps all it gets.
struct Peer {
    sock: UdpSocket,
    to: SocketAddr,
    tone: f64,
    n: u64,
    seq: u16,
    sending: bool,
    got: Vec<Got>,
}

/// A media engine with one worker, a tokio runtime for the legs' receive tasks, and the
/// peers, moved forward 20 ms at a time.
struct Scene {
    engine: MediaEngine,
    events: mpsc::Receiver<sotto::media_rt::MediaEvent>,
    ports: PortAllocator,
    peers: Vec<Peer>,
    start: Instant,
    ticks: u64,
    rt: tokio::runtime::Runtime,
}

impl Scene {
    fn new(lo: u16, hi: u16) -> Scene {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (tx, events) = mpsc::sync_channel(64);
        Scene {
            engine: MediaEngine::start(1, tx).unwrap(),
            events,
            ports: PortAllocator::new("127.0.0.1".parse().unwrap(), lo, hi),
            peers: Vec::new(),
            start: Instant::now(),
            ticks: 0,
            rt,
        }
    }

    /// A new peer sending `tone`, on a new leg of `room`; returns the leg and the peer's
    /// index.
    fn join(&mut self, room: &Room, tone: f64, opts: LegOptions) -> (LegKey, usize) {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_nonblocking(true).unwrap();
        let leg = self.ports.bind(Codec::Pcmu).expect("an RTP port");
        let local = sock.local_addr().unwrap();
        leg.remote().send_modify(|r| {
            r.addr = Some(local);
            r.telephone_event = Some(101);
        });
        let to = SocketAddr::from(([127, 0, 0, 1], leg.port));
        let _enter = self.rt.enter();
        let key = room.add_leg(leg, opts).expect("add a leg");
        self.peers.push(Peer {
            sock,
            to,
            tone,
            n: 0,
            seq: 0,
            sending: true,
            got: Vec::new(),
        });
        (key, self.peers.len() - 1)
    }

    /// Runs `ms` of real time: every 20 ms each sending peer sends a packet, and every
    /// peer collects what arrived, tagged with `phase`.
    fn run(&mut self, phase: usize, ms: u64) {
        for _ in 0..ms / 20 {
            for p in self.peers.iter_mut().filter(|p| p.sending) {
                let mut packet = vec![0x80, 0];
                packet.extend_from_slice(&p.seq.to_be_bytes());
                packet.extend_from_slice(&((p.n * 160) as u32).to_be_bytes());
                packet.extend_from_slice(&(0x7000_0000 + p.tone as u32).to_be_bytes());
                for i in 0..160 {
                    let t = (p.n * 160 + i) as f64 / 8000.0;
                    let s = (2.0 * std::f64::consts::PI * p.tone * t).sin() * 6000.0;
                    packet.push(linear_to_ulaw(s as i16));
                }
                let _ = p.sock.send_to(&packet, p.to);
                p.n += 1;
                p.seq = p.seq.wrapping_add(1);
            }
            self.ticks += 1;
            let due = self.start + Duration::from_millis(20 * self.ticks);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            self.collect(phase);
        }
    }

    fn collect(&mut self, phase: usize) {
        let mut buf = [0u8; 2048];
        for p in self.peers.iter_mut() {
            while let Ok((n, _)) = p.sock.recv_from(&mut buf) {
                let b = &buf[..n];
                assert!(n >= 12 && b[0] >> 6 == 2, "not RTP: {b:?}");
                p.got.push(Got {
                    phase,
                    marker: b[1] & 0x80 != 0,
                    payload_type: b[1] & 0x7f,
                    seq: u16::from_be_bytes([b[2], b[3]]),
                    ts: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                    ssrc: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
                    payload: b[12..].to_vec(),
                });
            }
        }
    }

    /// The audio peer `p` heard in `phase`, after the change settled.
    fn heard(&self, p: usize, phase: usize) -> Vec<i16> {
        let packets: Vec<&Got> = self.peers[p]
            .got
            .iter()
            .filter(|g| g.phase == phase && g.payload_type == 0)
            .collect();
        assert!(
            packets.len() > SETTLE + 30,
            "peer {p} got only {} packets in phase {phase}",
            packets.len()
        );
        packets[SETTLE..]
            .iter()
            .flat_map(|g| g.payload.iter().map(|&b| ulaw_to_linear(b)))
            .collect()
    }
}

/// The share of the signal's energy at `hz` (1.0 for a pure tone there).
fn share(samples: &[i16], hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / 8000.0;
    let (mut re, mut im, mut energy) = (0.0, 0.0, 0.0);
    for (n, &s) in samples.iter().enumerate() {
        let x = f64::from(s);
        re += x * (w * n as f64).cos();
        im -= x * (w * n as f64).sin();
        energy += x * x;
    }
    if energy == 0.0 {
        return 0.0;
    }
    2.0 * (re * re + im * im) / (samples.len() as f64 * energy)
}

fn rms(samples: &[i16]) -> f64 {
    let e: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (e / samples.len().max(1) as f64).sqrt()
}

/// Peer `p` hears exactly the tones of `from` (about evenly) and none of the others.
fn assert_hears(scene: &Scene, p: usize, phase: usize, from: &[usize]) {
    let heard = scene.heard(p, phase);
    for (q, peer) in scene.peers.iter().enumerate() {
        let s = share(&heard, peer.tone);
        if from.contains(&q) {
            let want = 0.8 / from.len() as f64;
            assert!(
                s > want,
                "phase {phase}: peer {p} should hear peer {q}'s {} Hz, share {s:.3}",
                peer.tone
            );
        } else {
            assert!(
                s < 0.02,
                "phase {phase}: peer {p} must not hear peer {q}'s {} Hz, share {s:.3}",
                peer.tone
            );
        }
    }
}

/// One stream per peer: one SSRC, sequence numbers +1 and timestamps +160 per packet,
/// the marker on the first packet only (rustpbx #254).
fn assert_continuous(scene: &Scene, p: usize) {
    let got = &scene.peers[p].got;
    assert!(!got.is_empty(), "peer {p} got nothing");
    assert!(
        got[0].marker,
        "peer {p}: the first packet starts a talkspurt"
    );
    for w in got.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let at = format!("peer {p}, phase {} → {}", a.phase, b.phase);
        assert_eq!(b.ssrc, a.ssrc, "{at}: SSRC changed");
        assert_eq!(b.seq, a.seq.wrapping_add(1), "{at}: sequence gap");
        assert_eq!(b.ts, a.ts.wrapping_add(160), "{at}: timestamp gap");
        assert!(!b.marker, "{at}: marker bit mid-stream (seq {})", b.seq);
    }
}

#[test]
fn conference_hold_unhold_and_a_leaver_keep_every_stream_continuous() {
    let mut scene = Scene::new(42000, 42099);
    let room = scene.engine.room();
    let music = LegOptions {
        hold_audio: HoldAudio::Music,
        ..LegOptions::default()
    };
    let (a, pa) = scene.join(&room, TONES[0], music);
    let (b, pb) = scene.join(&room, TONES[1], LegOptions::default());
    let (c, pc) = scene.join(&room, TONES[2], LegOptions::default());

    // 0: a conference of three: each hears the other two, never itself.
    room.set_conference(&[a, b, c]).unwrap();
    scene.run(0, 1600);
    // 1: A on hold (music); B and C talk on.
    room.set_topology(&[(a, &[]), (b, &[c]), (c, &[b])])
        .unwrap();
    scene.run(1, 1600);
    // 2: A back in the conference.
    room.set_conference(&[a, b, c]).unwrap();
    scene.run(2, 1600);
    // 3: C leaves; A and B talk on.
    room.remove_leg(c).unwrap();
    scene.peers[pc].sending = false;
    scene.run(3, 1600);

    for phase in [0, 2] {
        assert_hears(&scene, pa, phase, &[pb, pc]);
        assert_hears(&scene, pb, phase, &[pa, pc]);
        assert_hears(&scene, pc, phase, &[pa, pb]);
    }
    // On hold, A hears music: not silence, and nobody's tone; B and C never hear it.
    let held = scene.heard(pa, 1);
    assert!(rms(&held) > 500.0, "A on hold hears near silence");
    assert_hears(&scene, pa, 1, &[]);
    assert_hears(&scene, pb, 1, &[pc]);
    assert_hears(&scene, pc, 1, &[pb]);
    let held_packets = scene.peers[pa].got.iter().filter(|g| g.phase == 1).count();
    assert!(
        held_packets >= 60,
        "A's stream stopped on hold: {held_packets} packets in 1.6 s"
    );
    // C gone: A and B hear each other only (C's leg no longer sends).
    assert_hears(&scene, pa, 3, &[pb]);
    assert_hears(&scene, pb, 3, &[pa]);
    let c_after = scene.peers[pc].got.iter().filter(|g| g.phase == 3).count();
    assert!(c_after <= 3, "C's leg still sends after removal: {c_after}");

    for p in [pa, pb, pc] {
        assert_continuous(&scene, p);
    }
    // The removed leg's sockets are closed: its port can be bound again.
    let port = scene.peers[pc].to.port();
    let rebound = (0..40).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        UdpSocket::bind(("127.0.0.1", port)).is_ok()
    });
    assert!(rebound, "the removed leg still holds port {port}");
    assert!(room.remove_leg(c).is_err(), "a removed leg's key is stale");
}

#[test]
fn a_ninth_leg_is_refused_and_a_freed_slot_is_reused() {
    let scene = Scene::new(42100, 42139);
    let mut ports = PortAllocator::new("127.0.0.1".parse().unwrap(), 42100, 42139);
    let room = scene.engine.room();
    let mut keys = Vec::new();
    for _ in 0..8 {
        let leg = ports.bind(Codec::Pcmu).unwrap();
        keys.push(room.add_leg(leg, LegOptions::default()).expect("legs 1–8"));
    }
    let ninth = room.add_leg(ports.bind(Codec::Pcmu).unwrap(), LegOptions::default());
    let err = ninth.expect_err("a ninth leg must be refused");
    assert_eq!(err.kind(), std::io::ErrorKind::QuotaExceeded, "{err}");
    room.remove_leg(keys[3]).unwrap();
    let again = room
        .add_leg(ports.bind(Codec::Pcmu).unwrap(), LegOptions::default())
        .expect("a freed slot takes a leg");
    assert_eq!(again.index(), 3);
    assert_ne!(again, keys[3], "a new leg in a reused slot has a new key");
    assert!(
        room.set_hears(keys[3], &[keys[0]]).is_err(),
        "the old key is stale"
    );
    assert_eq!(room.legs().len(), 8);
}

#[test]
fn the_record_tap_hears_each_side_and_drops_rather_than_waits() {
    let mut scene = Scene::new(42200, 42239);
    let room = scene.engine.room();
    let (a, pa) = scene.join(&room, TONES[0], LegOptions::default());
    let (b, pb) = scene.join(&room, TONES[1], LegOptions::default());
    room.set_topology(&[(a, &[b]), (b, &[a])]).unwrap();
    let (prod, mut cons) = HeapRb::<(Frame, Frame)>::new(200).split();
    room.set_record_tap(Some(prod), &[a], &[b]).unwrap();
    scene.run(0, 2000);
    let pairs: Vec<(Frame, Frame)> = cons.pop_iter().collect();
    assert!(pairs.len() >= 70, "only {} tap pairs in 2 s", pairs.len());
    let left: Vec<i16> = pairs[SETTLE..].iter().flat_map(|p| p.0).collect();
    let right: Vec<i16> = pairs[SETTLE..].iter().flat_map(|p| p.1).collect();
    assert!(share(&left, TONES[0]) > 0.8, "left is A");
    assert!(share(&left, TONES[1]) < 0.02, "left is not B");
    assert!(share(&right, TONES[1]) > 0.8, "right is B");
    assert!(share(&right, TONES[0]) < 0.02, "right is not A");

    // A ring nobody reads fills; the room drops pairs and the call goes on.
    let (small, _kept) = HeapRb::<(Frame, Frame)>::new(4).split();
    room.set_record_tap(Some(small), &[a, b], &[]).unwrap();
    scene.run(1, 1000);
    assert!(
        room.tap_dropped() >= 25,
        "dropped {} pairs",
        room.tap_dropped()
    );
    assert_hears(&scene, pa, 1, &[pb]);
    assert_hears(&scene, pb, 1, &[pa]);
    assert_continuous(&scene, pa);
}

#[test]
fn digits_name_their_leg_and_the_room_sends_digits() {
    let mut scene = Scene::new(42300, 42339);
    let room = scene.engine.room();
    let (a, pa) = scene.join(&room, TONES[0], LegOptions::default());
    let (b, pb) = scene.join(&room, TONES[1], LegOptions::default());
    room.set_topology(&[(a, &[b]), (b, &[a])]).unwrap();
    scene.run(0, 200);
    // B's phone presses 7 (RFC 4733: the event, then three end packets).
    let p = &mut scene.peers[pb];
    let ts = (p.n * 160) as u32;
    for k in 0..4u16 {
        let mut packet = vec![0x80, 101 | if k == 0 { 0x80 } else { 0 }];
        packet.extend_from_slice(&p.seq.to_be_bytes());
        packet.extend_from_slice(&ts.to_be_bytes());
        packet.extend_from_slice(&0x7000_0001u32.to_be_bytes());
        let end = if k >= 1 { 0x80 } else { 0 };
        packet.extend_from_slice(&[7, end | 10]);
        packet.extend_from_slice(&(160 * (k + 1)).to_be_bytes());
        p.sock.send_to(&packet, p.to).unwrap();
        p.seq = p.seq.wrapping_add(1);
    }
    room.send_dtmf(a, Dtmf::Five, Duration::from_millis(100))
        .unwrap();
    scene.run(1, 600);
    let event = scene
        .events
        .try_iter()
        .find(|e| e.digit == '7')
        .expect("B's digit reached call control");
    assert_eq!(event.task, room.id());
    assert_eq!(event.leg, b.index(), "the digit names B's leg");
    let digits: Vec<&Got> = scene.peers[pa]
        .got
        .iter()
        .filter(|g| g.payload_type == 101)
        .collect();
    assert!(
        digits.iter().any(|g| g.payload.first() == Some(&5)),
        "A's phone got no telephone-event for 5"
    );
}
