//! A small SIP test phone on real UDP sockets on 127.0.0.1, for checking who
//! hears whom in call-control tests.
//!
//! It REGISTERs with digest auth (RFC 3261 §22, via `sotto_sip::auth`), places
//! INVITEs, answers INVITEs (180, then 200 with a PCMU offer's answer, or a
//! refusal), answers re-INVITEs with the RFC 6337 direction (sendonly →
//! recvonly, inactive → inactive, sendrecv → sendrecv) and remembers each
//! direction it was offered, answers BYE and CANCEL.
//!
//! Every call has its own RTP socket: once the call is answered it sends a
//! steady sine tone of its own frequency (µ-law, 20 ms packets) and records
//! every RTP packet it receives (header fields and decoded samples), so a test
//! can tell with [`tone_level`] whose tone is in what a party hears. The phone
//! keeps sending whatever direction it is offered: a held party's audio must
//! be gated by sotto itself.
//!
//! With [`Phone::offer_telephone_event`] its SDP also carries RFC 4733
//! `telephone-event/8000`: [`Phone::send_dtmf`] then sends digits as events
//! and [`Media::received_digits`] reads the events it was sent.

use std::collections::{HashMap, VecDeque};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::audio::ulaw_to_linear;
use super::rawsip::{sdp_audio, unique};
pub mod sip_msg;

pub use sip_msg::Dir;
use sip_msg::{sdp_direction, strip_tag, Msg};

/// Peak amplitude of a phone's tone (about −22 dBFS): eight of them summed
/// stay far from clipping.
pub const TONE_AMPLITUDE: f64 = 2500.0;

/// What a phone does with a new INVITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 180 at once, 200 after the delay.
    After(Duration),
    /// 180 at once, then this final status after the delay.
    Reject { code: u16, after: Duration },
    /// 180, and nothing more until cancelled.
    Never,
}

/// Where a call of the phone is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Ringing,
    Answered,
    Refused(u16),
    Cancelled,
    /// Ended by a BYE, from either side.
    Ended,
}

/// One RTP packet as received.
#[derive(Debug, Clone)]
pub struct RxPacket {
    pub at: Instant,
    pub seq: u16,
    pub ts: u32,
    pub ssrc: u32,
    pub marker: bool,
    pub pt: u8,
    /// Decoded µ-law (empty for other payload types).
    pub samples: Vec<i16>,
    /// The payload as received (after the header and any CSRCs).
    pub payload: Vec<u8>,
}

/// The signalling side of one call.
#[derive(Debug, Clone)]
pub struct CallInfo {
    pub call_id: String,
    pub outgoing: bool,
    /// The Request-URI's user of an incoming INVITE (a dial number on a trunk).
    pub request_user: String,
    pub local_tag: String,
    pub remote_tag: Option<String>,
    /// Header values without tags.
    pub local_uri: String,
    pub remote_uri: String,
    pub remote_target: String,
    pub cseq: u32,
    pub phase: Phase,
    pub created_at: Instant,
    pub answered_at: Option<Instant>,
    pub ended_at: Option<Instant>,
    /// A BYE came from the far end.
    pub bye_received: bool,
    /// Directions offered to us in re-INVITEs, in order.
    pub offers: Vec<(Instant, Dir)>,
    /// The incoming INVITE, until it has a final response.
    invite: Option<Msg>,
    /// Our 200 to an INVITE or re-INVITE, resent until the ACK (§13.3.1.4).
    unacked: Option<(Vec<u8>, Instant, Instant)>,
    sdp_version: u32,
}

/// One call: its signalling state and its media.
pub struct Call {
    pub info: Mutex<CallInfo>,
    pub media: Media,
}

impl Call {
    pub fn info(&self) -> CallInfo {
        self.info.lock().unwrap().clone()
    }

    pub fn phase(&self) -> Phase {
        self.info.lock().unwrap().phase
    }

    pub fn offers(&self) -> Vec<Dir> {
        self.info
            .lock()
            .unwrap()
            .offers
            .iter()
            .map(|o| o.1)
            .collect()
    }

    /// Waits until `f` holds for the call's info.
    pub fn wait(&self, limit: Duration, what: &str, f: impl Fn(&CallInfo) -> bool) {
        let ok = super::poll_until(limit, || f(&self.info.lock().unwrap()).then_some(()));
        assert!(
            ok.is_some(),
            "call {}: not {what} within {limit:?}; {:?}",
            self.media.tone,
            self.info()
        );
    }

    /// Waits for the `n`th (1-based) re-INVITE offer and returns its direction.
    pub fn wait_offer(&self, n: usize, limit: Duration) -> Dir {
        self.wait(limit, &format!("offered re-INVITE #{n}"), |i| {
            i.offers.len() >= n
        });
        self.offers()[n - 1]
    }
}

/// A call's RTP: a tone out, everything in recorded.
pub struct Media {
    pub local: SocketAddr,
    pub tone: f64,
    /// The payload type of `telephone-event/8000` in our SDP, if offered.
    pub telephone_event: Option<u8>,
    /// Digits waiting to be sent as RFC 4733 events.
    dtmf_out: Mutex<VecDeque<char>>,
    remote: Mutex<Option<SocketAddr>>,
    sending: AtomicBool,
    stop: AtomicBool,
    rx: Mutex<Vec<RxPacket>>,
}

impl Media {
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

    /// The digits of the RFC 4733 events received on payload type `pt`, in
    /// order: one per event (an event is its packets with one timestamp,
    /// RFC 4733 §2.5.1.2).
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

struct Shared {
    name: String,
    local: SocketAddr,
    server: SocketAddr,
    answer: Mutex<Answer>,
    /// Tones for the calls, in order; the last one repeats.
    tones: Mutex<Vec<f64>>,
    /// `telephone-event/8000` payload type for new calls' SDP.
    telephone_event: Mutex<Option<u8>>,
    calls: Mutex<Vec<Arc<Call>>>,
    responses: Mutex<Vec<Msg>>,
    timers: Mutex<Vec<(Instant, String, Timer)>>,
    stop: Arc<AtomicBool>,
}

#[derive(Debug, Clone, Copy)]
enum Timer {
    Answer,
    Reject(u16),
}

/// A test phone; its threads stop when it is dropped.
pub struct Phone {
    shared: Arc<Shared>,
    sock: UdpSocket,
    threads: Vec<JoinHandle<()>>,
}

impl Phone {
    /// A phone named `name` (its Contact user) talking to sotto at `server`;
    /// its calls send `tones[k]` on the k-th call (the last tone repeats).
    pub fn new(name: &str, server: SocketAddr, tones: &[f64]) -> Phone {
        Phone::at(name, 0, server, tones)
    }

    /// As [`Phone::new`], on SIP port `port` (a trunk's address must be
    /// known before sotto starts).
    pub fn at(name: &str, port: u16, server: SocketAddr, tones: &[f64]) -> Phone {
        let sock = UdpSocket::bind(("127.0.0.1", port)).expect("bind SIP socket");
        let local = sock.local_addr().unwrap();
        let shared = Arc::new(Shared {
            name: name.to_string(),
            local,
            server,
            answer: Mutex::new(Answer::After(Duration::from_millis(200))),
            tones: Mutex::new(tones.to_vec()),
            telephone_event: Mutex::new(None),
            calls: Mutex::new(Vec::new()),
            responses: Mutex::new(Vec::new()),
            timers: Mutex::new(Vec::new()),
            stop: Arc::new(AtomicBool::new(false)),
        });
        let rx_sock = sock.try_clone().unwrap();
        let s = shared.clone();
        let t = std::thread::Builder::new()
            .name(format!("phone-{name}"))
            .spawn(move || sip_loop(s, rx_sock))
            .unwrap();
        Phone {
            shared,
            sock,
            threads: vec![t],
        }
    }

    pub fn local(&self) -> SocketAddr {
        self.shared.local
    }

    pub fn set_answer(&self, a: Answer) {
        *self.shared.answer.lock().unwrap() = a;
    }

    /// Calls made or received from now on offer (and answer with)
    /// `telephone-event/8000` on payload type `pt` (RFC 4733 §7.1.1).
    pub fn offer_telephone_event(&self, pt: u8) {
        *self.shared.telephone_event.lock().unwrap() = Some(pt);
    }

    /// Queues `digits` to be sent on `call` as RFC 4733 events (100 ms each,
    /// three end packets, 100 ms of tone between digits) in place of audio.
    /// The call must have been set up with [`Phone::offer_telephone_event`].
    pub fn send_dtmf(&self, call: &Call, digits: &str) {
        assert!(
            call.media.telephone_event.is_some(),
            "send_dtmf on a call without telephone-event"
        );
        call.media.dtmf_out.lock().unwrap().extend(digits.chars());
    }

    pub fn calls(&self) -> Vec<Arc<Call>> {
        self.shared.calls.lock().unwrap().clone()
    }

    /// Waits for the phone's `n`th call (1-based), placed or received.
    pub fn wait_call(&self, n: usize, limit: Duration) -> Arc<Call> {
        super::poll_until(limit, || self.calls().get(n - 1).cloned())
            .unwrap_or_else(|| panic!("phone {}: no call #{n} within {limit:?}", self.shared.name))
    }

    fn send(&self, bytes: &[u8], to: SocketAddr) {
        self.sock.send_to(bytes, to).expect("send SIP");
    }

    /// Sends `req` (resending every 500 ms until a response) and returns the
    /// final response.
    fn transact(&self, req: &str, branch: &str, limit: Duration) -> Option<Msg> {
        let deadline = Instant::now() + limit;
        let mut provisional = false;
        let mut next_send = Instant::now();
        while Instant::now() < deadline {
            if !provisional && Instant::now() >= next_send {
                self.send(req.as_bytes(), self.shared.server);
                next_send = Instant::now() + Duration::from_millis(500);
            }
            {
                let mut r = self.shared.responses.lock().unwrap();
                if let Some(i) = r.iter().position(|m| m.branch() == Some(branch)) {
                    let m = r.remove(i);
                    if m.status().unwrap_or(0) >= 200 {
                        return Some(m);
                    }
                    provisional = true;
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// REGISTERs `user` with `password` (answering the digest challenge).
    pub fn register(&self, user: &str, password: &str) {
        let server = self.shared.server;
        let uri = format!("sip:{}", server);
        let call_id = unique("reg-");
        let tag = unique("rt");
        let mut auth = String::new();
        for cseq in 1..=2 {
            let branch = unique("z9hG4bK-p");
            let req = format!(
                "REGISTER {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch};rport\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:{user}@{ip}>;tag={tag}\r\nTo: <sip:{user}@{ip}>\r\n\
                 Call-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:{user}@{local}>\r\n\
                 Expires: 300\r\n{auth}Content-Length: 0\r\n\r\n",
                local = self.shared.local,
                ip = server.ip(),
            );
            let resp = self
                .transact(&req, &branch, Duration::from_secs(5))
                .unwrap_or_else(|| panic!("REGISTER {user}: no response"));
            match resp.status() {
                Some(200) => return,
                Some(401) if cseq == 1 => {
                    let challenge = resp
                        .headers_named("www-authenticate")
                        .into_iter()
                        .find_map(|v| sotto_sip::auth::Challenge::parse(v).ok())
                        .expect("a digest challenge we can answer");
                    let creds = challenge
                        .respond(user, password, "REGISTER", &uri, &unique("cn"), 1)
                        .expect("answer the challenge");
                    auth = format!("Authorization: {creds}\r\n");
                }
                s => panic!("REGISTER {user}: got {s:?}:\n{}", resp.text()),
            }
        }
        panic!("REGISTER {user}: still challenged");
    }

    /// Places a call to `uri` (INVITE with a PCMU offer) and returns it at
    /// once; [`Call::wait`] for its answer.
    pub fn invite(&self, uri: &str) -> Arc<Call> {
        let call = new_call(&self.shared, true, uri, &unique("call-"));
        let (req, _) = {
            let mut info = call.info.lock().unwrap();
            info.remote_uri = format!("<{uri}>");
            info.remote_target = uri.to_string();
            info.local_uri = format!("<sip:{}@{}>", self.shared.name, self.shared.local);
            let sdp = sdp(&call.media, info.sdp_version, Dir::SendRecv);
            info.sdp_version += 1;
            let branch = unique("z9hG4bK-p");
            (
                request(
                    &self.shared,
                    &info,
                    "INVITE",
                    uri,
                    &branch,
                    1,
                    None,
                    Some(&sdp),
                ),
                branch,
            )
        };
        // The SIP thread ACKs the final response; INVITE over loopback is not
        // resent here (sotto answers with 100 at once).
        self.send(req.as_bytes(), self.shared.server);
        call
    }

    /// Sends BYE on an answered call and waits for its 200.
    pub fn hang_up(&self, call: &Call) {
        let (req, branch) = {
            let mut info = call.info.lock().unwrap();
            info.cseq += 1;
            let branch = unique("z9hG4bK-p");
            let target = info.remote_target.clone();
            (
                request(
                    &self.shared,
                    &info,
                    "BYE",
                    &target,
                    &branch,
                    info.cseq,
                    info.remote_tag.as_deref(),
                    None,
                ),
                branch,
            )
        };
        call.media.stop.store(true, Ordering::Relaxed);
        let resp = self.transact(&req, &branch, Duration::from_secs(5));
        assert_eq!(
            resp.as_ref().and_then(Msg::status),
            Some(200),
            "BYE answered {:?}",
            resp.map(|r| r.text())
        );
        let mut info = call.info.lock().unwrap();
        info.phase = Phase::Ended;
        info.ended_at = Some(Instant::now());
    }

    /// Sends a re-INVITE offering `dir` on an answered call (a softphone's
    /// hold or resume), ACKs the answer and returns its status and body.
    pub fn reinvite(&self, call: &Call, dir: Dir) -> (u16, String) {
        let (req, branch, cseq, target, to_tag) = {
            let mut info = call.info.lock().unwrap();
            info.cseq += 1;
            let branch = unique("z9hG4bK-p");
            let body = sdp(&call.media, info.sdp_version, dir);
            info.sdp_version += 1;
            let target = info.remote_target.clone();
            let req = request(
                &self.shared,
                &info,
                "INVITE",
                &target,
                &branch,
                info.cseq,
                info.remote_tag.as_deref(),
                Some(&body),
            );
            (req, branch, info.cseq, target, info.remote_tag.clone())
        };
        let resp = self
            .transact(&req, &branch, Duration::from_secs(5))
            .unwrap_or_else(|| panic!("re-INVITE ({}): no final response", dir.as_str()));
        let code = resp.status().unwrap_or(0);
        // §13.2.2.4: a 2xx is ACKed in a new transaction; a refusal in the INVITE's.
        let ack_branch = if (200..300).contains(&code) {
            unique("z9hG4bK-p")
        } else {
            branch
        };
        let ack = {
            let info = call.info.lock().unwrap();
            request(
                &self.shared,
                &info,
                "ACK",
                &target,
                &ack_branch,
                cseq,
                to_tag.as_deref(),
                None,
            )
        };
        self.send(ack.as_bytes(), self.shared.server);
        (code, String::from_utf8_lossy(&resp.body).into_owned())
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn new_call(shared: &Arc<Shared>, outgoing: bool, request_user: &str, call_id: &str) -> Arc<Call> {
    let rtp = UdpSocket::bind("127.0.0.1:0").expect("bind RTP");
    let local = rtp.local_addr().unwrap();
    let tone = {
        let tones = shared.tones.lock().unwrap();
        let n = shared.calls.lock().unwrap().len();
        tones.get(n).or(tones.last()).copied().unwrap_or(1000.0)
    };
    let call = Arc::new(Call {
        info: Mutex::new(CallInfo {
            call_id: call_id.to_string(),
            outgoing,
            request_user: request_user.to_string(),
            local_tag: unique("lt"),
            remote_tag: None,
            local_uri: String::new(),
            remote_uri: String::new(),
            remote_target: String::new(),
            cseq: 1,
            phase: Phase::Ringing,
            created_at: Instant::now(),
            answered_at: None,
            ended_at: None,
            bye_received: false,
            offers: Vec::new(),
            invite: None,
            unacked: None,
            sdp_version: 1,
        }),
        media: Media {
            local,
            tone,
            telephone_event: *shared.telephone_event.lock().unwrap(),
            dtmf_out: Mutex::new(VecDeque::new()),
            remote: Mutex::new(None),
            sending: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            rx: Mutex::new(Vec::new()),
        },
    });
    shared.calls.lock().unwrap().push(call.clone());
    let c = call.clone();
    let stop = shared.stop.clone();
    std::thread::Builder::new()
        .name("phone-rtp".into())
        .spawn(move || rtp_loop(c, rtp, stop))
        .unwrap();
    call
}

/// An SDP body: PCMU (and telephone-event if the call has it) at the
/// call's RTP address with direction `dir`.
fn sdp(media: &Media, version: u32, dir: Dir) -> String {
    let rtp = media.local;
    let (pts, te) = match media.telephone_event {
        Some(pt) => (
            format!("0 {pt}"),
            format!("a=rtpmap:{pt} telephone-event/8000\r\na=fmtp:{pt} 0-15\r\n"),
        ),
        None => ("0".to_string(), String::new()),
    };
    format!(
        "v=0\r\no=phone 1 {version} IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP {pts}\r\na=rtpmap:0 PCMU/8000\r\n{te}a=ptime:20\r\na={dir}\r\n",
        ip = rtp.ip(),
        port = rtp.port(),
        dir = dir.as_str()
    )
}

/// A request within (or starting) a call's dialog.
#[allow(clippy::too_many_arguments)]
fn request(
    shared: &Shared,
    info: &CallInfo,
    method: &str,
    uri: &str,
    branch: &str,
    cseq: u32,
    to_tag: Option<&str>,
    body: Option<&str>,
) -> String {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    let mut m = format!(
        "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch};rport\r\n\
         Max-Forwards: 70\r\nFrom: {from};tag={ltag}\r\nTo: {to}{to_tag}\r\nCall-ID: {cid}\r\n\
         CSeq: {cseq} {method}\r\nContact: <sip:{name}@{local}>\r\n",
        local = shared.local,
        from = info.local_uri,
        ltag = info.local_tag,
        to = info.remote_uri,
        cid = info.call_id,
        name = shared.name,
    );
    if let Some(b) = body {
        m.push_str("Content-Type: application/sdp\r\n");
        m.push_str(&format!("Content-Length: {}\r\n\r\n{b}", b.len()));
    } else {
        m.push_str("Content-Length: 0\r\n\r\n");
    }
    m
}

/// A response to `req`: its Vias, From, To (with our tag), Call-ID and CSeq.
fn response(
    shared: &Shared,
    req: &Msg,
    code: u16,
    reason: &str,
    tag: &str,
    body: Option<&str>,
) -> Vec<u8> {
    let mut m = format!("SIP/2.0 {code} {reason}\r\n");
    for v in req.headers_named("via") {
        m.push_str(&format!("Via: {v}\r\n"));
    }
    let to = req.header("to").unwrap_or_default();
    let to = if to.to_ascii_lowercase().contains(";tag=") || tag.is_empty() {
        to.to_string()
    } else {
        format!("{to};tag={tag}")
    };
    m.push_str(&format!(
        "From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\n",
        req.header("from").unwrap_or_default(),
        req.header("call-id").unwrap_or_default(),
        req.header("cseq").unwrap_or_default(),
    ));
    if req.method() == Some("INVITE") && (100..300).contains(&code) {
        m.push_str(&format!(
            "Contact: <sip:{}@{}>\r\n",
            shared.name, shared.local
        ));
    }
    match body {
        Some(b) => m.push_str(&format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        )),
        None => m.push_str("Content-Length: 0\r\n\r\n"),
    }
    m.into_bytes()
}

fn find_call(shared: &Shared, call_id: &str) -> Option<Arc<Call>> {
    shared
        .calls
        .lock()
        .unwrap()
        .iter()
        .find(|c| c.info.lock().unwrap().call_id == call_id)
        .cloned()
}

fn sip_loop(shared: Arc<Shared>, sock: UdpSocket) {
    sock.set_read_timeout(Some(Duration::from_millis(10)))
        .unwrap();
    let mut buf = vec![0u8; 65_535];
    while !shared.stop.load(Ordering::Relaxed) {
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            if let Some(msg) = Msg::parse(&buf[..n]) {
                if msg.is_request() {
                    on_request(&shared, &sock, msg, from);
                } else {
                    on_response(&shared, &sock, msg);
                }
            }
        }
        run_timers(&shared, &sock);
    }
}

fn run_timers(shared: &Arc<Shared>, sock: &UdpSocket) {
    let now = Instant::now();
    let due: Vec<(String, Timer)> = {
        let mut t = shared.timers.lock().unwrap();
        let (due, keep): (Vec<_>, Vec<_>) = t.drain(..).partition(|(at, _, _)| *at <= now);
        *t = keep;
        due.into_iter().map(|(_, c, k)| (c, k)).collect()
    };
    for (call_id, timer) in due {
        let Some(call) = find_call(shared, &call_id) else {
            continue;
        };
        let mut info = call.info.lock().unwrap();
        let Some(invite) = info.invite.take() else {
            continue;
        };
        if info.phase != Phase::Ringing {
            continue;
        }
        match timer {
            Timer::Answer => {
                let body = sdp(&call.media, info.sdp_version, Dir::SendRecv);
                info.sdp_version += 1;
                let resp = response(shared, &invite, 200, "OK", &info.local_tag, Some(&body));
                let _ = sock.send_to(&resp, shared.server);
                info.unacked = Some((resp, now, now));
                info.phase = Phase::Answered;
                info.answered_at = Some(now);
                call.media.sending.store(true, Ordering::Relaxed);
            }
            Timer::Reject(code) => {
                let resp = response(shared, &invite, code, "Refused", &info.local_tag, None);
                let _ = sock.send_to(&resp, shared.server);
                info.phase = Phase::Refused(code);
                info.ended_at = Some(now);
                call.media.stop.store(true, Ordering::Relaxed);
            }
        }
    }
    // Our 200s are resent until ACKed (T1 = 500 ms, up to 8 s).
    for call in shared.calls.lock().unwrap().iter() {
        let mut info = call.info.lock().unwrap();
        if let Some((bytes, first, last)) = info.unacked.clone() {
            if now.duration_since(first) > Duration::from_secs(8) {
                info.unacked = None;
            } else if now.duration_since(last) >= Duration::from_millis(500) {
                let _ = sock.send_to(&bytes, shared.server);
                info.unacked = Some((bytes, first, now));
            }
        }
    }
}

fn on_request(shared: &Arc<Shared>, sock: &UdpSocket, req: Msg, from: SocketAddr) {
    let reply = |bytes: Vec<u8>| {
        let _ = sock.send_to(&bytes, from);
    };
    let call_id = req.header("call-id").unwrap_or_default().to_string();
    let existing = find_call(shared, &call_id);
    match (req.method().unwrap_or(""), existing) {
        ("INVITE", None) => {
            let user = req
                .request_uri()
                .and_then(|u| u.strip_prefix("sip:"))
                .and_then(|u| u.split('@').next())
                .unwrap_or("")
                .to_string();
            let call = new_call(shared, false, &user, &call_id);
            let mut info = call.info.lock().unwrap();
            info.remote_tag = req.tag("from").map(str::to_string);
            info.remote_uri = strip_tag(req.header("from").unwrap_or_default());
            info.local_uri = strip_tag(req.header("to").unwrap_or_default());
            info.remote_target = req.contact_uri().unwrap_or_default();
            if let Some(a) = sdp_audio(&req.body) {
                *call.media.remote.lock().unwrap() = Some(a.addr);
            }
            reply(response(
                shared,
                &req,
                180,
                "Ringing",
                &info.local_tag,
                None,
            ));
            let answer = *shared.answer.lock().unwrap();
            let timer = match answer {
                Answer::After(d) => Some((d, Timer::Answer)),
                Answer::Reject { code, after } => Some((after, Timer::Reject(code))),
                Answer::Never => None,
            };
            info.invite = Some(req);
            if let Some((d, t)) = timer {
                shared
                    .timers
                    .lock()
                    .unwrap()
                    .push((Instant::now() + d, call_id.clone(), t));
            }
        }
        ("INVITE", Some(call)) => {
            let mut info = call.info.lock().unwrap();
            if req.tag("to").is_none() {
                // A retransmitted initial INVITE: it is still ringing (or answered;
                // the 200 is being resent anyway).
                if info.phase == Phase::Ringing {
                    reply(response(
                        shared,
                        &req,
                        180,
                        "Ringing",
                        &info.local_tag,
                        None,
                    ));
                }
                return;
            }
            let offered = sdp_direction(&req.body);
            info.offers.push((Instant::now(), offered));
            if let Some(a) = sdp_audio(&req.body) {
                *call.media.remote.lock().unwrap() = Some(a.addr);
            }
            // RFC 6337 §5.3: the answer mirrors the offer.
            let answer_dir = match offered {
                Dir::SendOnly => Dir::RecvOnly,
                Dir::RecvOnly => Dir::SendOnly,
                d => d,
            };
            let body = sdp(&call.media, info.sdp_version, answer_dir);
            info.sdp_version += 1;
            let resp = response(shared, &req, 200, "OK", &info.local_tag, Some(&body));
            let now = Instant::now();
            info.unacked = Some((resp.clone(), now, now));
            reply(resp);
        }
        ("ACK", Some(call)) => {
            call.info.lock().unwrap().unacked = None;
        }
        ("BYE", Some(call)) => {
            let mut info = call.info.lock().unwrap();
            reply(response(shared, &req, 200, "OK", &info.local_tag, None));
            info.bye_received = true;
            info.phase = Phase::Ended;
            info.ended_at.get_or_insert(Instant::now());
            call.media.stop.store(true, Ordering::Relaxed);
        }
        ("CANCEL", Some(call)) => {
            let mut info = call.info.lock().unwrap();
            reply(response(shared, &req, 200, "OK", "", None));
            if let (Phase::Ringing, Some(invite)) = (info.phase, info.invite.take()) {
                reply(response(
                    shared,
                    &invite,
                    487,
                    "Request Terminated",
                    &info.local_tag,
                    None,
                ));
                info.phase = Phase::Cancelled;
                info.ended_at = Some(Instant::now());
                call.media.stop.store(true, Ordering::Relaxed);
            }
        }
        ("ACK", None) => {}
        (_, None) if req.tag("to").is_some() => reply(response(
            shared,
            &req,
            481,
            "Call/Transaction Does Not Exist",
            "",
            None,
        )),
        _ => reply(response(shared, &req, 200, "OK", "", None)),
    }
}

fn on_response(shared: &Arc<Shared>, sock: &UdpSocket, resp: Msg) {
    let call = resp.header("call-id").and_then(|c| find_call(shared, c));
    let is_invite = resp.cseq_method() == Some("INVITE");
    let Some(call) = call.filter(|c| is_invite && c.info.lock().unwrap().outgoing) else {
        shared.responses.lock().unwrap().push(resp);
        return;
    };
    let code = resp.status().unwrap_or(0);
    let mut info = call.info.lock().unwrap();
    if code < 200 {
        return;
    }
    let to_tag = resp.tag("to").map(str::to_string);
    let cseq = resp.cseq_number().unwrap_or(1);
    if (200..300).contains(&code) {
        if info.phase == Phase::Ringing {
            info.remote_tag = to_tag.clone();
            if let Some(t) = resp.contact_uri() {
                info.remote_target = t;
            }
            if let Some(a) = sdp_audio(&resp.body) {
                *call.media.remote.lock().unwrap() = Some(a.addr);
            }
            info.phase = Phase::Answered;
            info.answered_at = Some(Instant::now());
            call.media.sending.store(true, Ordering::Relaxed);
        }
        // §13.2.2.4: ACK every 2xx, as a new transaction.
        let target = info.remote_target.clone();
        let ack = request(
            shared,
            &info,
            "ACK",
            &target,
            &unique("z9hG4bK-p"),
            cseq,
            to_tag.as_deref(),
            None,
        );
        let _ = sock.send_to(ack.as_bytes(), shared.server);
    } else {
        // §17.1.1.3: the ACK of a refusal is part of the INVITE transaction.
        if info.phase == Phase::Ringing {
            info.phase = Phase::Refused(code);
            info.ended_at = Some(Instant::now());
            call.media.stop.store(true, Ordering::Relaxed);
        }
        let ack = request(
            shared,
            &info,
            "ACK",
            &info.remote_target,
            resp.branch().unwrap_or(""),
            cseq,
            to_tag.as_deref(),
            None,
        );
        let _ = sock.send_to(ack.as_bytes(), shared.server);
    }
}

/// Sends the call's tone every 20 ms once answered and records what comes in.
fn rtp_loop(call: Arc<Call>, sock: UdpSocket, stop_all: Arc<AtomicBool>) {
    sock.set_read_timeout(Some(Duration::from_millis(2)))
        .unwrap();
    let media = &call.media;
    let ssrc: u32 = 0x5107_0000 ^ u32::from(media.local.port());
    let (mut seq, mut ts) = (1000u16, 160_000u32);
    let step = 2.0 * std::f64::consts::PI * media.tone / 8000.0;
    let mut phase = 0.0f64;
    // The event being sent: its code, timestamp, and packets sent so far.
    let mut event: Option<(u8, u32, u32)> = None;
    let mut next = Instant::now();
    let mut buf = [0u8; 2048];
    while !stop_all.load(Ordering::Relaxed) && !media.stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= next {
            next += Duration::from_millis(20);
            if now > next + Duration::from_millis(100) {
                next = now + Duration::from_millis(20);
            }
            let remote = *media.remote.lock().unwrap();
            if let (true, Some(to)) = (media.sending.load(Ordering::Relaxed), remote) {
                if event.is_none() {
                    let next_digit = media.dtmf_out.lock().unwrap().pop_front();
                    event = next_digit.and_then(digit_event).map(|code| (code, ts, 0));
                }
                let mut pkt = Vec::with_capacity(172);
                match (event, media.telephone_event) {
                    // RFC 4733 §2.5: 5 packets of growing duration (100 ms),
                    // the end packet sent 3 times, then 5 packets of tone.
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
                    }
                    _ => {
                        pkt.extend_from_slice(&[0x80, 0]);
                        pkt.extend_from_slice(&seq.to_be_bytes());
                        pkt.extend_from_slice(&ts.to_be_bytes());
                        pkt.extend_from_slice(&ssrc.to_be_bytes());
                        for _ in 0..160 {
                            let s = (TONE_AMPLITUDE * phase.sin()) as i16;
                            phase = (phase + step) % (2.0 * std::f64::consts::PI);
                            pkt.push(linear_to_ulaw(s));
                        }
                    }
                }
                event = event
                    .map(|(code, start, n)| (code, start, n + 1))
                    .filter(|e| e.2 < 13);
                let _ = sock.send_to(&pkt, to);
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(160);
            }
        }
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            let b = &buf[..n];
            if n >= 12 && b[0] >> 6 == 2 && !(72..=76).contains(&(b[1] & 0x7F)) {
                let pt = b[1] & 0x7F;
                let start = 12 + 4 * usize::from(b[0] & 0x0F);
                let payload = b.get(start..).unwrap_or(&[]).to_vec();
                let samples = if pt == 0 {
                    b.get(start..)
                        .unwrap_or(&[])
                        .iter()
                        .map(|&u| ulaw_to_linear(u))
                        .collect()
                } else {
                    Vec::new()
                };
                media.rx.lock().unwrap().push(RxPacket {
                    at: Instant::now(),
                    seq: u16::from_be_bytes([b[2], b[3]]),
                    ts: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                    ssrc: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
                    marker: b[1] & 0x80 != 0,
                    pt,
                    samples,
                    payload,
                });
            }
        }
    }
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

/// The amplitude of a `hz` sine in `samples` (8 kHz), by a Hann-windowed
/// Goertzel filter: about [`TONE_AMPLITUDE`] for a phone's tone heard alone.
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
