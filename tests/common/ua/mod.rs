//! The one SIP test phone of the integration tests: a sotto-testua [`Phone`] (all its
//! SIP: registration with digest auth, calls placed and answered, re-INVITEs, hold and
//! resume, BYE, CANCEL, REFER and Replaces) on a real UDP socket on 127.0.0.1, plus the
//! RTP of each call ([`media`]).
//!
//! A driver thread owns the socket: it feeds the phone's endpoint every datagram and
//! its timers with real `Instant`s, hands the endpoint's events to the phone and sends
//! what it transmits. A test acts on the phone through [`Ua::act`] (what the phone then
//! sends goes out at once) and reads it through [`Ua::read`]; the usual actions have
//! their own methods ([`Ua::register`], [`Ua::call`], [`UaCall::hang_up`], …). Every
//! datagram in and out is kept ([`Ua::trace`]) for failure reports and for tests that
//! must see a message itself; [`Ua::send_raw`] sends bytes the phone would never write.
//!
//! Each call gets its own RTP socket, bound before the phone puts its port in an SDP.
//! Once the call is answered it sends the UA's sound for it (the k-th call the k-th
//! of [`UaBuilder::sounds`], the last one repeating) and records all it receives.
//!
//! The UA stops its threads when dropped.

pub mod media;
pub mod raw;

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rsip::{Header, Method, SipMessage};
use sotto_sip::endpoint::Peer;
use sotto_sip::sdp::Codec;
pub use sotto_sip::sdp::Direction;
use sotto_sip::transaction::Transport;
pub use sotto_testua::{AnswerMode, Call, CallHandle, CallState, Phone, ReferMode};
use sotto_testua::{Node, PhoneConfig, RegistrationState};

pub use media::{tone_level, tone_levels, Media, Sound};

/// How many bound RTP sockets wait for the phone's next calls.
const SPARE_RTP: usize = 3;
/// The driver's longest sleep: the phone's timers are this late at most.
const TICK: Duration = Duration::from_millis(5);

/// A call is answered (and not over).
pub fn answered(c: &Call) -> bool {
    c.state() == CallState::Confirmed
}

/// The far end sent BYE on the call.
pub fn bye_received(c: &Call) -> bool {
    c.requests().contains(&Method::Bye)
}

/// One datagram the UA sent or received.
#[derive(Debug, Clone)]
pub struct Traced {
    pub at: Instant,
    /// We sent it (else we received it).
    pub sent: bool,
    /// Where it went or came from.
    pub peer: SocketAddr,
    pub bytes: Vec<u8>,
}

impl Traced {
    /// The message, read by sotto-sip.
    pub fn parse(&self) -> Option<SipMessage> {
        raw::parse(&self.bytes)
    }

    /// The start line.
    pub fn first_line(&self) -> String {
        let text = String::from_utf8_lossy(&self.bytes);
        text.lines().next().unwrap_or("").to_string()
    }
}

/// How to make a [`Ua`]; [`Ua::builder`].
pub struct UaBuilder {
    name: String,
    server: SocketAddr,
    port: u16,
    answer: AnswerMode,
    refer: ReferMode,
    sounds: Vec<Sound>,
    telephone_event: Option<u8>,
    manual_media: bool,
}

impl UaBuilder {
    /// The SIP port to bind (a trunk's address must be known before sotto starts); a
    /// free one by default.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// What to do with a new INVITE (default: 180, then 200 after 200 ms).
    pub fn answer(mut self, mode: AnswerMode) -> Self {
        self.answer = mode;
        self
    }

    /// What to do with a REFER (default: follow it).
    pub fn refer(mut self, mode: ReferMode) -> Self {
        self.refer = mode;
        self
    }

    /// The calls send `tones[k]` on the k-th call (the last tone repeats).
    pub fn tones(self, tones: &[f64]) -> Self {
        self.sounds(tones.iter().map(|&t| Sound::Tone(t)).collect())
    }

    /// The calls send `sounds[k]` on the k-th call (the last one repeats); silence
    /// without any.
    pub fn sounds(mut self, sounds: Vec<Sound>) -> Self {
        self.sounds = sounds;
        self
    }

    /// The SDP offers (and accepts) `telephone-event/8000` on payload type `pt`
    /// (RFC 4733 §7.1.1); without it the SDP has PCMU alone.
    pub fn telephone_event(mut self, pt: u8) -> Self {
        self.telephone_event = Some(pt);
        self
    }

    /// The UA sends and receives no RTP itself: each call's bound socket is the test's
    /// ([`Media::socket`]).
    pub fn manual_media(mut self) -> Self {
        self.manual_media = true;
        self
    }

    pub fn start(self) -> Ua {
        let sock = UdpSocket::bind(("127.0.0.1", self.port))
            .unwrap_or_else(|e| panic!("UA {}: bind 127.0.0.1:{}: {e}", self.name, self.port));
        let local = sock.local_addr().expect("local address");
        let config = PhoneConfig::new(self.name.clone(), local)
            .proxy(self.server)
            .answer(self.answer)
            .refer(self.refer)
            .codecs(vec![Codec::Pcmu])
            .telephone_event(self.telephone_event);
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            name: self.name,
            local,
            server: self.server,
            sock,
            stop: stop.clone(),
            state: Mutex::new(State {
                phone: Phone::new(config, Instant::now()),
                media: Vec::new(),
                media_threads: Vec::new(),
                spare: Vec::new(),
                sounds: self.sounds,
                manual_media: self.manual_media,
                trace: Vec::new(),
                stop,
            }),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("ua-{}", shared.name))
            .spawn(move || drive(&s))
            .expect("spawn the UA's thread");
        Ua {
            shared,
            thread: Some(thread),
        }
    }
}

struct Shared {
    name: String,
    local: SocketAddr,
    server: SocketAddr,
    sock: UdpSocket,
    stop: Arc<AtomicBool>,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The tail of the trace (start lines), for failure messages.
    fn trace_tail(&self, lines: usize) -> String {
        let st = self.lock();
        let from = st.trace.len().saturating_sub(lines);
        st.trace[from..]
            .iter()
            .map(|t| {
                let dir = if t.sent { "->" } else { "<-" };
                format!("  {dir} {} {}\n", t.peer, t.first_line())
            })
            .collect()
    }
}

struct State {
    phone: Phone,
    /// The media of call k at index k.
    media: Vec<Arc<Media>>,
    media_threads: Vec<JoinHandle<()>>,
    /// Bound RTP sockets whose ports the phone has queued.
    spare: Vec<UdpSocket>,
    sounds: Vec<Sound>,
    manual_media: bool,
    trace: Vec<Traced>,
    stop: Arc<AtomicBool>,
}

impl State {
    /// Binds RTP sockets until the phone has enough ports queued for its next calls.
    fn top_up(&mut self) {
        while self.phone.rtp_ports_queued() < SPARE_RTP {
            let sock = UdpSocket::bind("127.0.0.1:0").expect("bind RTP");
            let port = sock.local_addr().expect("RTP address").port();
            self.phone.add_rtp_port(port);
            self.spare.push(sock);
        }
    }

    /// Hands the endpoint's events to the phone and sends what it transmits, until both
    /// run dry; then brings the calls' media up to date.
    fn flush(&mut self, sock: &UdpSocket) {
        let now = Instant::now();
        self.phone.set_now(now);
        for _ in 0..1000 {
            let mut any = false;
            while let Some(event) = self.phone.endpoint_mut().poll_event() {
                self.top_up();
                self.phone.on_event(now, event);
                any = true;
            }
            while let Some(t) = self.phone.endpoint_mut().poll_transmit() {
                let _ = sock.send_to(&t.bytes, t.peer.addr);
                self.trace.push(Traced {
                    at: Instant::now(),
                    sent: true,
                    peer: t.peer.addr,
                    bytes: t.bytes.to_vec(),
                });
                any = true;
            }
            if !any {
                break;
            }
        }
        self.sync_media();
    }

    /// Gives every new call its media and tells every call's media where it stands.
    fn sync_media(&mut self) {
        for (k, call) in self.phone.calls().iter().enumerate() {
            if k == self.media.len() {
                let port = call.rtp_addr().port();
                let at = self
                    .spare
                    .iter()
                    .position(|s| s.local_addr().is_ok_and(|a| a.port() == port))
                    .unwrap_or_else(|| panic!("call #{k}: RTP port {port} was not bound"));
                let sock = self.spare.swap_remove(at);
                let sound = self
                    .sounds
                    .get(k)
                    .or(self.sounds.last())
                    .cloned()
                    .unwrap_or(Sound::Silence);
                let (media, thread) =
                    Media::start(sock, sound, self.manual_media, self.stop.clone());
                self.media.push(media);
                self.media_threads.extend(thread);
            }
            let media = &self.media[k];
            if call.state().is_terminated() {
                media.end();
                continue;
            }
            let n = call.negotiated();
            media.set_control(media::Control {
                remote: n.map(|n| n.remote_rtp).filter(|a| !a.ip().is_unspecified()),
                sending: call.state() == CallState::Confirmed,
                telephone_event: n.and_then(|n| n.telephone_event).map(|pt| pt.0),
            });
        }
    }

    fn run_timers(&mut self) {
        let now = Instant::now();
        let due = [
            self.phone.endpoint().poll_timeout(),
            Node::poll_timeout(&self.phone),
        ]
        .into_iter()
        .flatten()
        .min();
        if due.is_some_and(|t| t <= now) {
            self.top_up();
            self.phone.endpoint_mut().handle_timeout(now);
            Node::handle_timeout(&mut self.phone, now);
        }
    }
}

/// The driver: datagrams and timers in, events to the phone, transmits out.
fn drive(shared: &Shared) {
    let _ = shared.sock.set_read_timeout(Some(TICK));
    let mut buf = vec![0u8; 65_535];
    while !shared.stop.load(Ordering::Relaxed) {
        let got = shared.sock.recv_from(&mut buf);
        let mut st = shared.lock();
        if let Ok((n, from)) = got {
            let now = Instant::now();
            st.trace.push(Traced {
                at: now,
                sent: false,
                peer: from,
                bytes: buf[..n].to_vec(),
            });
            st.top_up();
            st.phone.set_now(now);
            let peer = Peer {
                addr: from,
                transport: Transport::Udp,
            };
            st.phone
                .endpoint_mut()
                .handle_datagram(now, peer, &buf[..n]);
        }
        st.run_timers();
        st.flush(&shared.sock);
    }
}

/// A test phone on 127.0.0.1 talking to sotto at `server`; see the module doc.
pub struct Ua {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Ua {
    /// A phone named `name` (its user and Contact user) on a free port, sending its
    /// requests to `server`: it answers calls after 200 ms, follows REFERs, sends
    /// silence.
    pub fn new(name: &str, server: SocketAddr) -> Ua {
        Ua::builder(name, server).start()
    }

    pub fn builder(name: &str, server: SocketAddr) -> UaBuilder {
        UaBuilder {
            name: name.to_string(),
            server,
            port: 0,
            answer: AnswerMode::AnswerAfter(Duration::from_millis(200)),
            refer: ReferMode::Follow,
            sounds: Vec::new(),
            telephone_event: None,
            manual_media: false,
        }
    }

    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The UA's SIP address.
    pub fn local(&self) -> SocketAddr {
        self.shared.local
    }

    /// Acts on the phone; what it sends goes out before this returns.
    pub fn act<R>(&self, f: impl FnOnce(&mut Phone) -> R) -> R {
        let mut st = self.shared.lock();
        st.top_up();
        st.phone.set_now(Instant::now());
        let r = f(&mut st.phone);
        st.flush(&self.shared.sock);
        r
    }

    /// Reads the phone.
    pub fn read<R>(&self, f: impl FnOnce(&Phone) -> R) -> R {
        f(&self.shared.lock().phone)
    }

    /// Waits until `f` holds for the phone; panics after `limit`.
    pub fn wait(&self, limit: Duration, what: &str, f: impl Fn(&Phone) -> bool) {
        let ok = super::poll_until(limit, || self.read(&f).then_some(()));
        if ok.is_none() {
            panic!(
                "UA {}: not {what} within {limit:?}; calls:\n{}last datagrams:\n{}",
                self.name(),
                self.read(|p| p.calls().iter().map(describe).collect::<String>()),
                self.shared.trace_tail(30)
            );
        }
    }

    /// REGISTERs `user` with sotto, answering its digest challenge with `password`;
    /// panics unless it gets a 200 within 5 s.
    pub fn register(&self, user: &str, password: &str) {
        let server = self.shared.server;
        self.act(|p| p.register(user, password, server));
        self.wait(
            Duration::from_secs(5),
            &format!("registered as {user}"),
            |p| {
                p.registration()
                    .is_some_and(|r| r.state() != RegistrationState::Pending)
            },
        );
        let (state, codes) = self.read(|p| {
            let r = p.registration().expect("a registration");
            (r.state(), r.codes().to_vec())
        });
        assert_eq!(
            state,
            RegistrationState::Registered,
            "REGISTER {user}: responses {codes:?}\n{}",
            self.shared.trace_tail(10)
        );
    }

    /// Places a call to `uri` (INVITE with a PCMU offer through sotto) and returns it at
    /// once; [`UaCall::wait`] for its answer.
    pub fn call(&self, uri: &str) -> UaCall {
        self.call_with_headers(uri, Vec::new())
    }

    /// [`Ua::call`] with more headers in the INVITE.
    pub fn call_with_headers(&self, uri: &str, headers: Vec<Header>) -> UaCall {
        let h = self.act(|p| p.call_with_headers(uri, true, headers));
        let h = h.unwrap_or_else(|e| panic!("UA {}: call {uri}: {e}", self.name()));
        self.call_of(h)
    }

    /// Places a call to `uri` that replaces the dialog `naming` names (RFC 3891), see
    /// [`sotto_testua::Phone::invite_replaces`].
    pub fn invite_replaces(&self, uri: &str, naming: (String, String, String)) -> UaCall {
        let h = self.act(|p| p.invite_replaces(uri, naming));
        self.call_of(h)
    }

    /// The call `h`.
    pub fn call_of(&self, h: CallHandle) -> UaCall {
        let media = self.shared.lock().media[h.index()].clone();
        UaCall {
            shared: self.shared.clone(),
            handle: h,
            media,
        }
    }

    /// Every call, placed or received, in order.
    pub fn calls(&self) -> Vec<UaCall> {
        let n = self.read(|p| p.calls().len());
        (0..n)
            .map(|k| self.call_of(self.read(|p| p.calls()[k].handle())))
            .collect()
    }

    /// Waits for the `n`th call (1-based), placed or received.
    pub fn wait_call(&self, n: usize, limit: Duration) -> UaCall {
        self.wait(limit, &format!("given call #{n}"), |p| p.calls().len() >= n);
        let h = self.read(|p| p.calls()[n - 1].handle());
        self.call_of(h)
    }

    /// What the phone does with a new INVITE from now on.
    pub fn set_answer(&self, mode: AnswerMode) {
        self.act(|p| p.set_answer_mode(mode));
    }

    /// Calls made or received from now on offer (and accept) `telephone-event/8000` on
    /// payload type `pt` (RFC 4733 §7.1.1).
    pub fn offer_telephone_event(&self, pt: u8) {
        self.act(|p| p.set_telephone_event(Some(pt)));
    }

    /// Every datagram sent and received so far.
    pub fn trace(&self) -> Vec<Traced> {
        self.shared.lock().trace.clone()
    }

    /// The requests received with `method`, read by sotto-sip, in order.
    pub fn requests_received(&self, method: Method) -> Vec<rsip::Request> {
        self.shared
            .lock()
            .trace
            .iter()
            .filter(|t| !t.sent)
            .filter_map(Traced::parse)
            .filter_map(|m| match m {
                SipMessage::Request(r) if r.method == method => Some(r),
                _ => None,
            })
            .collect()
    }

    /// The last datagrams in and out as start lines, for failure messages.
    pub fn trace_tail(&self, lines: usize) -> String {
        self.shared.trace_tail(lines)
    }

    /// An out-of-dialog request from this UA's address to `uri`, as bytes to spoil
    /// and send with [`Ua::send_raw`].
    pub fn raw_request(&self, method: Method, uri: &str) -> raw::RawRequest {
        raw::request(method, uri, self.local(), Transport::Udp)
    }

    /// Sends `bytes` to sotto from the UA's socket, as they are. What comes back is in
    /// the trace ([`Ua::response_to`]); the phone ignores it.
    pub fn send_raw(&self, bytes: &[u8]) {
        let mut st = self.shared.lock();
        self.shared
            .sock
            .send_to(bytes, self.shared.server)
            .expect("send datagram");
        st.trace.push(Traced {
            at: Instant::now(),
            sent: true,
            peer: self.shared.server,
            bytes: bytes.to_vec(),
        });
    }

    /// The first response received whose top Via has `branch`, waiting up to `limit`.
    pub fn response_to(&self, branch: &str, limit: Duration) -> Option<rsip::Response> {
        super::poll_until(limit, || {
            self.received_since(0)
                .into_iter()
                .filter_map(|t| raw::parse_response(&t.bytes))
                .find(|r| sotto_sip::message::top_via_branch(r) == Some(branch))
        })
    }

    /// How many datagrams the trace holds (a mark for [`Ua::received_since`]).
    pub fn trace_len(&self) -> usize {
        self.shared.lock().trace.len()
    }

    /// The datagrams received after the first `mark` of the trace.
    pub fn received_since(&self, mark: usize) -> Vec<Traced> {
        let st = self.shared.lock();
        st.trace
            .get(mark..)
            .unwrap_or_default()
            .iter()
            .filter(|t| !t.sent)
            .cloned()
            .collect()
    }
}

impl Drop for Ua {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let threads = std::mem::take(&mut self.shared.lock().media_threads);
        for t in threads {
            let _ = t.join();
        }
    }
}

/// One line about a call, for failure messages.
fn describe(c: &Call) -> String {
    format!(
        "  #{} {} {:?}: responses {:?}, requests {:?}, final {:?}\n",
        c.handle().index(),
        c.call_id(),
        c.state(),
        c.responses(),
        c.requests(),
        c.final_code()
    )
}

/// One call of a [`Ua`]: its SIP state (in the phone) and its media.
#[derive(Clone)]
pub struct UaCall {
    shared: Arc<Shared>,
    pub handle: CallHandle,
    pub media: Arc<Media>,
}

impl UaCall {
    /// Reads the call.
    pub fn read<R>(&self, f: impl FnOnce(&Call) -> R) -> R {
        f(self.shared.lock().phone.get(self.handle))
    }

    /// Acts on the UA's phone about this call; what it sends goes out at once.
    pub fn act<R>(&self, f: impl FnOnce(&mut Phone, CallHandle) -> R) -> R {
        let mut st = self.shared.lock();
        st.top_up();
        st.phone.set_now(Instant::now());
        let r = f(&mut st.phone, self.handle);
        st.flush(&self.shared.sock);
        r
    }

    pub fn state(&self) -> CallState {
        self.read(Call::state)
    }

    /// Waits until `f` holds for the call; panics after `limit`.
    pub fn wait(&self, limit: Duration, what: &str, f: impl Fn(&Call) -> bool) {
        let ok = super::poll_until(limit, || self.read(&f).then_some(()));
        if ok.is_none() {
            panic!(
                "UA {} call #{}: not {what} within {limit:?}:\n{}last datagrams:\n{}",
                self.shared.name,
                self.handle.index(),
                self.read(describe),
                self.shared.trace_tail(30)
            );
        }
    }

    /// The far end sent BYE on the call.
    pub fn bye_received(&self) -> bool {
        self.read(bye_received)
    }

    /// The directions sotto offered in re-INVITEs, in order.
    pub fn offers(&self) -> Vec<Direction> {
        self.read(|c| c.reoffers().iter().map(|o| o.direction).collect())
    }

    /// Waits for the `n`th (1-based) re-INVITE offer and returns its direction.
    pub fn wait_offer(&self, n: usize, limit: Duration) -> Direction {
        self.wait(limit, &format!("offered re-INVITE #{n}"), |c| {
            c.reoffers().len() >= n
        });
        self.offers()[n - 1]
    }

    /// When the call was answered.
    pub fn answered_at(&self) -> Option<Instant> {
        self.read(Call::answered_at)
    }

    /// When the call was placed or arrived.
    pub fn created_at(&self) -> Instant {
        self.read(Call::created_at)
    }

    /// The user part of the Request-URI of the call's INVITE (a dial number on a trunk).
    pub fn request_user(&self) -> String {
        self.read(|c| {
            c.invite()
                .uri
                .user()
                .map(str::to_string)
                .unwrap_or_default()
        })
    }

    /// Sends BYE on the answered call and waits for its 200.
    pub fn hang_up(&self) {
        self.act(|p, h| p.hangup(h))
            .unwrap_or_else(|e| panic!("UA {}: hang up: {e}", self.shared.name));
        self.wait(Duration::from_secs(5), "hung up (BYE answered)", |c| {
            !c.codes_for(Method::Bye).is_empty()
        });
        let codes = self.read(|c| c.codes_for(Method::Bye));
        assert_eq!(
            codes,
            [200],
            "UA {}: BYE answered {codes:?}",
            self.shared.name
        );
    }

    /// A re-INVITE offering sendonly (a softphone's hold); returns its final status.
    pub fn hold(&self) -> u16 {
        self.reinvite(|p, h| p.hold(h), "hold")
    }

    /// A re-INVITE offering sendrecv (a softphone's resume); returns its final status.
    pub fn resume(&self) -> u16 {
        self.reinvite(|p, h| p.resume(h), "resume")
    }

    fn reinvite(
        &self,
        f: impl FnOnce(&mut Phone, CallHandle) -> Result<(), sotto_testua::PhoneError>,
        what: &str,
    ) -> u16 {
        let before = self.read(|c| c.reinvite_codes().len());
        self.act(f)
            .unwrap_or_else(|e| panic!("UA {}: {what}: {e}", self.shared.name));
        self.wait(Duration::from_secs(5), &format!("{what} answered"), |c| {
            c.reinvite_codes().len() > before
        });
        self.read(|c| c.reinvite_codes()[before])
    }

    /// Queues `digits` as RFC 4733 events on the call's RTP.
    pub fn send_dtmf(&self, digits: &str) {
        self.media.send_dtmf(digits);
    }
}
