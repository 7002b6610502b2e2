//! A call's RTP on a real socket: once the call is answered, a sound of its own goes
//! out every 20 ms (µ-law, payload type 0) to where the peer's SDP says, and every RTP
//! packet that comes in is kept (header fields, decoded samples, when and whence it
//! came), so a test can tell with [`tone_level`] whose tone a party hears.
//!
//! The sound keeps going whatever direction the call was last given: a held party's
//! audio must be gated by sotto itself. Digits queued with [`Media::send_dtmf`] go out as
//! RFC 4733 events in place of the sound, on the payload type the SDP settled.
//!
//! A UA built with `manual_media` starts no thread: the test takes the bound socket
//! ([`Media::socket`]) and sends and receives what it wants on it.

use std::collections::{HashMap, VecDeque};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::audio::{ulaw_to_linear, Rtp};

/// Peak amplitude of a phone's tone (about −22 dBFS): eight of them summed stay far
/// from clipping.
pub const TONE_AMPLITUDE: f64 = 2500.0;

/// What a call sends once answered.
#[derive(Debug, Clone)]
pub enum Sound {
    /// Nothing (RFC 4733 events still go out).
    Silence,
    /// A steady sine of this frequency, [`TONE_AMPLITUDE`] peak.
    Tone(f64),
    /// These µ-law bytes, 160 a packet, looped.
    Ulaw(Arc<Vec<u8>>),
}

/// One RTP packet as received.
#[derive(Debug, Clone)]
pub struct RxPacket {
    pub at: Instant,
    pub from: SocketAddr,
    pub seq: u16,
    pub ts: u32,
    pub ssrc: u32,
    pub marker: bool,
    pub pt: u8,
    /// Decoded µ-law (empty for other payload types).
    pub samples: Vec<i16>,
    /// The payload as received (after the header, CSRCs and any extension).
    pub payload: Vec<u8>,
}

/// What the call's signalling says the media should do (set by the UA's driver).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Control {
    /// Where the peer wants our RTP.
    pub remote: Option<SocketAddr>,
    /// The call is answered.
    pub sending: bool,
    /// The payload type of telephone-event both sides settled on.
    pub telephone_event: Option<u8>,
}

/// A call's RTP: its sound out, everything in recorded.
pub struct Media {
    /// Where we receive (the port of our SDP).
    pub local: SocketAddr,
    pub sound: Sound,
    control: Mutex<Control>,
    /// Digits waiting to be sent as RFC 4733 events.
    dtmf_out: Mutex<VecDeque<char>>,
    /// The call ended: the thread stops and the socket closes.
    stop: AtomicBool,
    rx: Mutex<Vec<RxPacket>>,
    /// Sound packets sent (RFC 4733 events not counted).
    sent: AtomicUsize,
    /// With manual media: the socket, for the test.
    manual: Option<UdpSocket>,
}

impl Media {
    /// The media of a call on `sock`; its thread (unless `manual`) runs until the call
    /// ends or `all_stop` is set.
    pub(super) fn start(
        sock: UdpSocket,
        sound: Sound,
        manual: bool,
        all_stop: Arc<AtomicBool>,
    ) -> (Arc<Media>, Option<JoinHandle<()>>) {
        let local = sock.local_addr().expect("RTP socket address");
        let media = Arc::new(Media {
            local,
            sound,
            control: Mutex::new(Control::default()),
            dtmf_out: Mutex::new(VecDeque::new()),
            stop: AtomicBool::new(false),
            rx: Mutex::new(Vec::new()),
            sent: AtomicUsize::new(0),
            manual: manual.then_some(sock.try_clone().expect("clone RTP socket")),
        });
        if manual {
            return (media, None);
        }
        let m = media.clone();
        let thread = std::thread::Builder::new()
            .name("ua-rtp".into())
            .spawn(move || rtp_loop(&m, &sock, &all_stop))
            .expect("spawn the RTP thread");
        (media, Some(thread))
    }

    pub(super) fn set_control(&self, c: Control) {
        *self.control.lock().unwrap() = c;
    }

    pub(super) fn end(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// The frequency of the call's tone. Panics if it sends no tone.
    pub fn tone(&self) -> f64 {
        match self.sound {
            Sound::Tone(hz) => hz,
            ref other => panic!("this call sends {other:?}, not a tone"),
        }
    }

    /// Where the peer's SDP wants our RTP (none before an answer).
    pub fn remote(&self) -> Option<SocketAddr> {
        self.control.lock().unwrap().remote
    }

    /// The socket of a UA built with `manual_media`, to send and receive on.
    pub fn socket(&self) -> UdpSocket {
        self.manual
            .as_ref()
            .expect("the UA runs this call's media itself (not manual_media)")
            .try_clone()
            .expect("clone RTP socket")
    }

    /// Queues `digits` to be sent as RFC 4733 events (100 ms each, three end packets,
    /// 100 ms of sound between digits) in place of the sound. Panics unless the SDP
    /// settled on telephone-event.
    pub fn send_dtmf(&self, digits: &str) {
        assert!(
            self.control.lock().unwrap().telephone_event.is_some(),
            "send_dtmf on a call without telephone-event"
        );
        self.dtmf_out.lock().unwrap().extend(digits.chars());
    }

    /// Sound packets sent so far.
    pub fn sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }

    pub fn packets(&self) -> Vec<RxPacket> {
        self.rx.lock().unwrap().clone()
    }

    /// Samples of the packets that arrived in `[from, to)`, in arrival order.
    pub fn samples_between(&self, from: Instant, to: Instant) -> Vec<i16> {
        self.rx
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.at >= from && p.at < to)
            .flat_map(|p| p.samples.iter().copied())
            .collect()
    }

    /// The digits of the RFC 4733 events received on payload type `pt`, in order: one
    /// per event (an event is its packets with one timestamp, RFC 4733 §2.5.1.2).
    pub fn received_digits(&self, pt: u8) -> String {
        let mut digits = String::new();
        let mut last_ts = None;
        for p in self.rx.lock().unwrap().iter().filter(|p| p.pt == pt) {
            if p.payload.len() < 4 || last_ts == Some(p.ts) {
                continue;
            }
            last_ts = Some(p.ts);
            digits.push(event_digit(p.payload[0]).unwrap_or('?'));
        }
        digits
    }
}

/// RFC 4733 §3.2: events 0-9, * (10), # (11), A-D (12-15).
fn digit_event(d: char) -> Option<u8> {
    match d {
        '0'..='9' => Some(d as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(d as u8 - b'A' + 12),
        _ => None,
    }
}

fn event_digit(e: u8) -> Option<char> {
    b"0123456789*#ABCD".get(usize::from(e)).map(|&c| c as char)
}

/// Sends the call's sound every 20 ms once answered and records what comes in.
fn rtp_loop(media: &Media, sock: &UdpSocket, all_stop: &AtomicBool) {
    sock.set_read_timeout(Some(Duration::from_millis(2)))
        .unwrap();
    let ssrc: u32 = 0x5107_0000 ^ u32::from(media.local.port());
    let (mut seq, mut ts) = (1000u16, 160_000u32);
    let mut phase = 0.0f64;
    let mut at = 0usize;
    // The event being sent: its code, timestamp, and packets sent so far.
    let mut event: Option<(u8, u32, u32)> = None;
    let mut next = Instant::now();
    let mut buf = [0u8; 2048];
    while !all_stop.load(Ordering::Relaxed) && !media.stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= next {
            next += Duration::from_millis(20);
            if now > next + Duration::from_millis(100) {
                next = now + Duration::from_millis(20);
            }
            let control = *media.control.lock().unwrap();
            if let (true, Some(to)) = (control.sending, control.remote) {
                if event.is_none() {
                    let next_digit = media.dtmf_out.lock().unwrap().pop_front();
                    event = next_digit.and_then(digit_event).map(|code| (code, ts, 0));
                }
                let mut pkt = Vec::with_capacity(172);
                let mut sound = false;
                let mut is_event = false;
                match (event, control.telephone_event) {
                    // RFC 4733 §2.5: 5 packets of growing duration (100 ms), the end
                    // packet sent 3 times, then 5 packets of sound.
                    (Some((code, start, n)), Some(pt)) if n < 8 => {
                        let marker = if n == 0 { 0x80 } else { 0 };
                        pkt.extend_from_slice(&[0x80, marker | pt]);
                        pkt.extend_from_slice(&seq.to_be_bytes());
                        pkt.extend_from_slice(&start.to_be_bytes());
                        pkt.extend_from_slice(&ssrc.to_be_bytes());
                        let end = if n >= 4 { 0x80 } else { 0 };
                        let duration = (160 * (n.min(4) + 1)) as u16;
                        pkt.extend_from_slice(&[code, end | 10]);
                        pkt.extend_from_slice(&duration.to_be_bytes());
                        is_event = true;
                    }
                    _ => {
                        pkt.extend_from_slice(&[0x80, 0]);
                        pkt.extend_from_slice(&seq.to_be_bytes());
                        pkt.extend_from_slice(&ts.to_be_bytes());
                        pkt.extend_from_slice(&ssrc.to_be_bytes());
                        sound = frame(&media.sound, &mut phase, &mut at, &mut pkt);
                    }
                }
                event = event
                    .map(|(code, start, n)| (code, start, n + 1))
                    .filter(|e| e.2 < 13);
                // Silence sends nothing: the timestamp goes on, the sequence waits
                // (RFC 3550 §5.1).
                if sound || is_event {
                    let _ = sock.send_to(&pkt, to);
                    seq = seq.wrapping_add(1);
                }
                if sound {
                    media.sent.fetch_add(1, Ordering::Relaxed);
                }
                ts = ts.wrapping_add(160);
            }
        }
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            record(media, &buf[..n], from);
        }
    }
}

/// Appends the next 20 ms of `sound` to `pkt`; false for silence (nothing to send).
fn frame(sound: &Sound, phase: &mut f64, at: &mut usize, pkt: &mut Vec<u8>) -> bool {
    match sound {
        Sound::Silence => false,
        Sound::Tone(hz) => {
            let step = 2.0 * std::f64::consts::PI * hz / 8000.0;
            for _ in 0..160 {
                let s = (TONE_AMPLITUDE * phase.sin()) as i16;
                *phase = (*phase + step) % (2.0 * std::f64::consts::PI);
                pkt.push(linear_to_ulaw(s));
            }
            true
        }
        Sound::Ulaw(bytes) => {
            if bytes.is_empty() {
                return false;
            }
            pkt.extend((0..160).map(|i| bytes[(*at + i) % bytes.len()]));
            *at += 160;
            true
        }
    }
}

fn record(media: &Media, b: &[u8], from: SocketAddr) {
    let Some(rtp) = Rtp::parse(b) else {
        return;
    };
    let samples = if rtp.payload_type == 0 {
        rtp.payload.iter().map(|&u| ulaw_to_linear(u)).collect()
    } else {
        Vec::new()
    };
    media.rx.lock().unwrap().push(RxPacket {
        at: Instant::now(),
        from,
        seq: rtp.seq,
        ts: rtp.timestamp,
        ssrc: rtp.ssrc,
        marker: b[1] & 0x80 != 0,
        pt: rtp.payload_type,
        samples,
        payload: rtp.payload,
    });
}

/// Linear 16-bit to G.711 µ-law (bias 0x84, clip 32635).
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    let s = s.min(32_635) + 0x84;
    let exponent = (31 - ((s >> 7) as u32).leading_zeros()).min(7) as i32;
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// The amplitude of a `hz` sine in `samples` (8 kHz), by a Hann-windowed Goertzel
/// filter: about [`TONE_AMPLITUDE`] for a phone's tone heard alone.
pub fn tone_level(samples: &[i16], hz: f64) -> f64 {
    let n = samples.len();
    if n < 2 {
        return 0.0;
    }
    let w = 2.0 * std::f64::consts::PI * hz / 8000.0;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2, mut wsum) = (0.0f64, 0.0f64, 0.0f64);
    for (i, &x) in samples.iter().enumerate() {
        let win = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64).cos();
        wsum += win;
        let s = f64::from(x) * win + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0);
    2.0 * power.sqrt() / wsum
}

/// Levels of several tones at once, for failure messages.
pub fn tone_levels(samples: &[i16], tones: &[f64]) -> HashMap<u32, f64> {
    tones
        .iter()
        .map(|&t| (t as u32, tone_level(samples, t).round()))
        .collect()
}
