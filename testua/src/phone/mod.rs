//! The test phone: one sotto-sip [`Endpoint`] and the dialogs of its calls.

mod call;
mod events;
mod msg;
mod register;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rsip::{Header, Method, Request, Response};
use sotto_sip::dialog::{Dialog, DialogError, Tag};
use sotto_sip::endpoint::{
    make_response, unsent_via, ClientTxId, Endpoint, EndpointConfig, Event, Peer, ServerTxId,
};
use sotto_sip::headers::{ReferredBy, Replaces, TypedHeader};
use sotto_sip::refer::{refer_to_value, ReferSubscriber};
use sotto_sip::sdp::{Codec, LocalMedia, LocalSession, PayloadType};
use sotto_sip::transaction::{Timers, Transport};

pub use call::{Call, CallHandle, CallState, Reoffer};
pub use register::{Registration, RegistrationState};

use crate::net::Node;
use call::{Intent, PendingReInvite};

/// What a phone does by itself with a new INVITE (an INVITE with Replaces is always
/// answered at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerMode {
    /// Nothing: the endpoint's own 100 Trying after 200 ms, then silence until the
    /// test calls [`Phone::ring`], [`Phone::answer`] or [`Phone::reject`].
    Silent,
    /// 180 Ringing, and nothing more until told.
    Ring,
    /// 183 Session Progress with the SDP answer (early media), and nothing more until
    /// told.
    Progress,
    /// 180 Ringing, then 200 OK with SDP at once.
    Answer,
    /// 180 Ringing, then 200 OK with SDP after this long.
    AnswerAfter(Duration),
    /// This final status at once (486 Busy Here, 603 Decline, …).
    Reject(u16),
    /// 180 Ringing, then this final status after this long.
    RejectAfter(u16, Duration),
}

/// What a phone does with a REFER it receives in a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferMode {
    /// 202 Accepted, NOTIFY 100 Trying, INVITE the Refer-To target (with its Replaces
    /// and Referred-By), and NOTIFY the final status that INVITE gets.
    Follow,
    /// Refuse the REFER with this status.
    Reject(u16),
    /// 202 Accepted and NOTIFY 100 Trying, and nothing more: the test contacts the
    /// target itself (or not) and reports the outcome with [`Phone::notify_refer`].
    Accept,
}

/// How to make a [`Phone`]. Start from [`PhoneConfig::new`] and chain the setters.
#[derive(Debug, Clone)]
pub struct PhoneConfig {
    /// The user part of our URI and Contact.
    pub user: String,
    /// Where the phone sends from and listens.
    pub addr: SocketAddr,
    /// The host part of our From URI (the address's IP when `None`).
    pub domain: Option<String>,
    /// The display name in our From.
    pub display_name: Option<String>,
    /// Where requests outside a dialog go (an outbound proxy, the system under test);
    /// `None`: to the Request-URI's host and port, which must be an IP literal.
    pub proxy: Option<SocketAddr>,
    /// What to do with a new INVITE.
    pub answer: AnswerMode,
    /// What to do with a REFER.
    pub refer: ReferMode,
    /// The transaction timers.
    pub timers: Timers,
    /// Seed of the tags, branches and Call-IDs (derived from the address when `None`).
    pub seed: Option<u64>,
    /// The voice codecs our SDP offers and accepts, in our order of preference.
    pub codecs: Vec<Codec>,
    /// The payload type of `telephone-event/8000` (RFC 4733) in our offers; `None`
    /// neither offers nor accepts it.
    pub telephone_event: Option<PayloadType>,
}

impl PhoneConfig {
    /// A phone for `user` at `addr`: answers calls (180 then 200), follows REFERs,
    /// no proxy, default timers, PCMU and PCMA with telephone-event on 101.
    pub fn new(user: impl Into<String>, addr: SocketAddr) -> Self {
        let media = LocalMedia::new(addr.ip(), 0);
        PhoneConfig {
            user: user.into(),
            addr,
            domain: None,
            display_name: None,
            proxy: None,
            answer: AnswerMode::Answer,
            refer: ReferMode::Follow,
            timers: Timers::default(),
            seed: None,
            codecs: media.codecs,
            telephone_event: media.telephone_event,
        }
    }

    /// Sets the voice codecs of our SDP, in our order of preference.
    pub fn codecs(mut self, codecs: Vec<Codec>) -> Self {
        self.codecs = codecs;
        self
    }

    /// Sets the payload type of `telephone-event/8000` in our offers (`None`: no
    /// RFC 4733 events).
    pub fn telephone_event(mut self, payload_type: Option<u8>) -> Self {
        self.telephone_event = payload_type.map(PayloadType);
        self
    }

    /// Sends requests outside a dialog to `proxy`.
    pub fn proxy(mut self, proxy: SocketAddr) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// Sets what the phone does with a new INVITE.
    pub fn answer(mut self, mode: AnswerMode) -> Self {
        self.answer = mode;
        self
    }

    /// Sets what the phone does with a REFER.
    pub fn refer(mut self, mode: ReferMode) -> Self {
        self.refer = mode;
        self
    }

    /// Sets the host part of our From URI.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Sets the display name of our From.
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// Sets the transaction timers.
    pub fn timers(mut self, timers: Timers) -> Self {
        self.timers = timers;
        self
    }

    /// Sets the seed of tags, branches and Call-IDs.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
}

/// Why a phone refused an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneError {
    /// No call has this handle.
    NoSuchCall(CallHandle),
    /// The action makes no sense for the call in its present state (answering an
    /// outgoing call, holding a call that is not confirmed, …).
    WrongState {
        /// What was asked.
        action: &'static str,
        /// Where the call stood.
        state: CallState,
    },
    /// The dialog refused to build the request (an INVITE in progress, a glare
    /// back-off running, …).
    Dialog(DialogError),
    /// A URI that does not parse, or that names no address to send to.
    BadUri(String),
}

impl fmt::Display for PhoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSuchCall(h) => write!(f, "no call {}", h.index()),
            Self::WrongState { action, state } => write!(f, "cannot {action} a call {state:?}"),
            Self::Dialog(e) => write!(f, "dialog: {e}"),
            Self::BadUri(u) => write!(f, "unusable URI {u:?}"),
        }
    }
}

impl std::error::Error for PhoneError {}

impl From<DialogError> for PhoneError {
    fn from(e: DialogError) -> Self {
        Self::Dialog(e)
    }
}

/// What one of our client transactions is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxKind {
    Invite,
    ReInvite,
    Bye,
    /// A REFER, and the index of its subscriber in the call.
    Refer(usize),
    Notify,
    Info,
    Register,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientTx {
    pub(crate) call: Option<CallHandle>,
    pub(crate) kind: TxKind,
}

/// A SIP user agent for tests: one sotto-sip [`Endpoint`] and the dialogs of its
/// calls, sans-IO. Put it on a [`crate::Net`] (or drive it yourself through [`Node`]).
///
/// Actions ([`Phone::call`], [`Phone::answer`], [`Phone::hold`], …) queue what they
/// send on the endpoint; the network carries it at its next step. Incoming requests are
/// answered by themselves: INVITE as the [`AnswerMode`] says, re-INVITE 200 with an
/// SDP answer (or 491/500 as the dialog's glare rules say), BYE/INFO/UPDATE/OPTIONS
/// 200, NOTIFY 200 (or what the REFER subscription says), REFER as the [`ReferMode`]
/// says, in-dialog requests of no dialog 481. The 2xx to our INVITEs are ACKed; a
/// re-INVITE that meets glare is sent again when the dialog's back-off ends.
pub struct Phone {
    cfg: PhoneConfig,
    ep: Endpoint,
    now: Instant,
    rng: u64,
    calls: Vec<Call>,
    client_txs: HashMap<ClientTxId, ClientTx>,
    server_invites: HashMap<ServerTxId, CallHandle>,
    registration: Option<Registration>,
    requests: Vec<Method>,
    /// RTP ports for the coming calls, first come first served.
    rtp_ports: VecDeque<u16>,
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Phone")
            .field("user", &self.cfg.user)
            .field("addr", &self.cfg.addr)
            .field("calls", &self.calls.len())
            .finish_non_exhaustive()
    }
}

impl Phone {
    /// A phone made from `config`, its clock at `now`.
    pub fn new(config: PhoneConfig, now: Instant) -> Phone {
        let seed = config.seed.unwrap_or_else(|| seed_of(config.addr));
        let ep = Endpoint::new(
            EndpointConfig {
                timers: config.timers,
                via_host: config.addr.to_string(),
                user_agent: Some(format!("sotto-testua {}", config.user)),
                allow: msg::ALLOW.into(),
            },
            seed,
        );
        Phone {
            cfg: config,
            ep,
            now,
            rng: seed.rotate_left(17) | 1,
            calls: Vec::new(),
            client_txs: HashMap::new(),
            server_invites: HashMap::new(),
            registration: None,
            requests: Vec::new(),
            rtp_ports: VecDeque::new(),
        }
    }

    /// The phone's settings.
    pub fn config(&self) -> &PhoneConfig {
        &self.cfg
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.cfg.user
    }

    /// Our address of record, `sip:user@domain`.
    pub fn uri(&self) -> String {
        format!("sip:{}@{}", self.cfg.user, self.domain())
    }

    /// Our Contact URI, `sip:user@ip:port`.
    pub fn contact(&self) -> String {
        format!("sip:{}@{}", self.cfg.user, self.cfg.addr)
    }

    /// The phone's idea of the time (the network sets it).
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Sets the phone's clock (the network does this at every step).
    pub fn set_now(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    /// What the phone does with a new INVITE from now on.
    pub fn set_answer_mode(&mut self, mode: AnswerMode) {
        self.cfg.answer = mode;
    }

    /// What the phone does with a REFER from now on.
    pub fn set_refer_mode(&mut self, mode: ReferMode) {
        self.cfg.refer = mode;
    }

    /// The payload type of `telephone-event/8000` in the SDP of calls placed or
    /// received from now on (`None`: no RFC 4733 events).
    pub fn set_telephone_event(&mut self, payload_type: Option<u8>) {
        self.cfg.telephone_event = payload_type.map(PayloadType);
    }

    /// Queues `port` for the RTP of a coming call: each new call (placed or received)
    /// takes the first port queued, or `40000 + 2n` for the phone's `n`th call when none
    /// is. A phone on a real network queues ports it has bound, so that RTP sent to its
    /// SDP reaches it.
    pub fn add_rtp_port(&mut self, port: u16) {
        self.rtp_ports.push_back(port);
    }

    /// How many ports [`Phone::add_rtp_port`] queued are still unused.
    pub fn rtp_ports_queued(&self) -> usize {
        self.rtp_ports.len()
    }

    /// Every call, in the order placed or received.
    pub fn calls(&self) -> &[Call] {
        &self.calls
    }

    /// The call `h`. Panics if there is none.
    pub fn get(&self, h: CallHandle) -> &Call {
        self.calls
            .get(h.0)
            .unwrap_or_else(|| panic!("{} has no call {}", self.cfg.user, h.0))
    }

    /// The newest call, placed or received.
    pub fn last_call(&self) -> Option<CallHandle> {
        self.calls.last().map(|c| c.handle)
    }

    /// The calls we received, in order.
    pub fn incoming_calls(&self) -> Vec<CallHandle> {
        self.calls
            .iter()
            .filter(|c| !c.outgoing)
            .map(|c| c.handle)
            .collect()
    }

    /// The newest call we received.
    pub fn last_incoming(&self) -> Option<CallHandle> {
        self.calls
            .iter()
            .rev()
            .find(|c| !c.outgoing)
            .map(|c| c.handle)
    }

    /// The call with this Call-ID (the newest, if several).
    pub fn find_call(&self, call_id: &str) -> Option<CallHandle> {
        self.calls
            .iter()
            .rev()
            .find(|c| c.call_id() == call_id)
            .map(|c| c.handle)
    }

    /// The state of call `h`. Panics if there is none.
    pub fn state(&self, h: CallHandle) -> CallState {
        self.get(h).state
    }

    /// The endpoint's live transactions (client, server).
    pub fn transaction_counts(&self) -> (usize, usize) {
        self.ep.transaction_counts()
    }

    /// Every request the phone received, in order (ACK and CANCEL included).
    pub fn requests(&self) -> &[Method] {
        &self.requests
    }

    /// The registration, once [`Phone::register`] was called.
    pub fn registration(&self) -> Option<&Registration> {
        self.registration.as_ref()
    }

    /// Whether the last REGISTER got a 2xx.
    pub fn is_registered(&self) -> bool {
        self.registration
            .as_ref()
            .is_some_and(|r| r.state() == RegistrationState::Registered)
    }

    /// Places a call to `uri`: an INVITE with an SDP offer, or without one
    /// (`with_sdp: false`, the offer then comes in the 2xx and our answer in the ACK).
    /// Panics if `uri` does not parse or names no address while no proxy is set.
    pub fn call(&mut self, uri: &str, with_sdp: bool) -> CallHandle {
        self.call_with_headers(uri, with_sdp, Vec::new())
            .unwrap_or_else(|e| panic!("{}: call {uri}: {e}", self.cfg.user))
    }

    /// [`Phone::call`] with more headers in the INVITE.
    pub fn call_with_headers(
        &mut self,
        uri: &str,
        with_sdp: bool,
        headers: Vec<Header>,
    ) -> Result<CallHandle, PhoneError> {
        let target =
            sotto_sip::message::parse_uri(uri).ok_or_else(|| PhoneError::BadUri(uri.into()))?;
        self.place_call(target, with_sdp, headers)
    }

    /// Places a call to `uri` that replaces the dialog `replaces` names
    /// (`(call_id, to_tag, from_tag)`, RFC 3891, as the recipient's dialog is seen by
    /// the party it replaces: see [`Call::replaces_naming`]), with `Require: replaces`.
    pub fn invite_replaces(
        &mut self,
        uri: &str,
        replaces: (impl Into<String>, impl Into<String>, impl Into<String>),
    ) -> CallHandle {
        let r = Replaces::new(replaces.0, replaces.1, replaces.2);
        let headers = vec![r.to_header(), Header::Require(msg::SUPPORTED.into())];
        let h = self
            .call_with_headers(uri, true, headers)
            .unwrap_or_else(|e| panic!("{}: call {uri}: {e}", self.cfg.user));
        self.calls[h.0].replaces_header = Some(r);
        h
    }

    /// Sends 180 Ringing on an incoming call not yet ringing.
    pub fn ring(&mut self, h: CallHandle) -> Result<(), PhoneError> {
        let call = self.call_ref(h)?;
        if call.outgoing || !matches!(call.state, CallState::Trying | CallState::Early) {
            return Err(wrong("ring", call.state));
        }
        self.send_provisional(h, 180);
        Ok(())
    }

    /// Sends 183 Session Progress on an incoming call not yet answered, with the SDP
    /// answer to the INVITE's offer (early media; the 200 repeats that answer).
    pub fn progress(&mut self, h: CallHandle) -> Result<(), PhoneError> {
        let call = self.call_ref(h)?;
        if call.outgoing || !call.state.is_early() || call.final_code.is_some() {
            return Err(wrong("send progress on", call.state));
        }
        self.send_provisional(h, 183);
        Ok(())
    }

    /// Answers an incoming call: 200 OK with the SDP answer to its offer (or our offer
    /// when the INVITE had none).
    pub fn answer(&mut self, h: CallHandle) -> Result<(), PhoneError> {
        let call = self.call_ref(h)?;
        if call.outgoing || !call.state.is_early() || call.final_code.is_some() {
            return Err(wrong("answer", call.state));
        }
        self.send_answer(h);
        Ok(())
    }

    /// Refuses an incoming call with `code` (3xx–6xx).
    pub fn reject(&mut self, h: CallHandle, code: u16) -> Result<(), PhoneError> {
        let call = self.call_ref(h)?;
        if call.outgoing || !call.state.is_early() || call.final_code.is_some() {
            return Err(wrong("reject", call.state));
        }
        self.send_final_refusal(h, code);
        Ok(())
    }

    /// Ends a call as its state requires: BYE when confirmed; CANCEL for our INVITE not
    /// yet answered (the CANCEL waits for a provisional response, RFC 3261 §9.1);
    /// 486 Busy Here for an incoming call not yet answered.
    pub fn hangup(&mut self, h: CallHandle) -> Result<(), PhoneError> {
        let call = self.call_ref(h)?;
        match (call.state, call.outgoing) {
            (CallState::Confirmed, _) => self.send_bye(h),
            (s, true) if s.is_early() => {
                let Some(tx) = call.invite_client_tx else {
                    return Err(wrong("hang up", s));
                };
                if !call.cancel_sent {
                    self.calls[h.0].cancel_sent = true;
                    self.ep.cancel(self.now, tx);
                }
                Ok(())
            }
            (s, false) if s.is_early() => self.reject(h, 486),
            (s, _) => Err(wrong("hang up", s)),
        }
    }

    /// Holds the peer: a re-INVITE offering sendonly (inactive if the peer holds us,
    /// RFC 6337 §5.3).
    pub fn hold(&mut self, h: CallHandle) -> Result<(), PhoneError> {
        self.start_reinvite(h, Intent::Hold, "hold")
    }

    /// Ends our hold: a re-INVITE offering sendrecv (recvonly if the peer holds us).
    pub fn resume(&mut self, h: CallHandle) -> Result<(), PhoneError> {
        self.start_reinvite(h, Intent::Resume, "resume")
    }

    /// A re-INVITE that changes nothing (a session refresh): the same offer again.
    pub fn reinvite(&mut self, h: CallHandle) -> Result<(), PhoneError> {
        self.start_reinvite(h, Intent::Refresh, "re-INVITE")
    }

    /// A blind transfer: REFER to `target_uri` in the call, with Referred-By; its
    /// NOTIFYs are followed ([`Call::notify_statuses`], [`Call::refer_outcome`]).
    pub fn refer(&mut self, h: CallHandle, target_uri: &str) -> Result<(), PhoneError> {
        let target = sotto_sip::message::parse_uri(target_uri)
            .ok_or_else(|| PhoneError::BadUri(target_uri.into()))?;
        self.send_refer(h, refer_to_value(&target, None))
    }

    /// An attended transfer: REFER to `target_uri` in call `h` with a Refer-To whose
    /// `?Replaces=` names our call `other` as its peer sees it (RFC 3891 §7.1).
    pub fn refer_replaces(
        &mut self,
        h: CallHandle,
        target_uri: &str,
        other: CallHandle,
    ) -> Result<(), PhoneError> {
        let target = sotto_sip::message::parse_uri(target_uri)
            .ok_or_else(|| PhoneError::BadUri(target_uri.into()))?;
        let other_call = self.call_ref(other)?;
        let (call_id, to_tag, from_tag) = other_call
            .replaces_naming()
            .ok_or(wrong("name in Replaces", other_call.state))?;
        let replaces = Replaces::new(call_id, to_tag, from_tag);
        self.send_refer(h, refer_to_value(&target, Some(&replaces)))
    }

    /// Reports on call `h` the status the request a REFER asked for got (a NOTIFY with
    /// that sipfrag; a final status ends the subscription, RFC 3515 §2.4.5): for a
    /// REFER taken with [`ReferMode::Accept`].
    pub fn notify_refer(&mut self, h: CallHandle, status: u16) -> Result<(), PhoneError> {
        let call = self.call_ref(h)?;
        match &call.notifier {
            Some(n) if !n.is_terminated() => {}
            _ => return Err(wrong("report a transfer in", call.state)),
        }
        self.report_transfer(h, status);
        Ok(())
    }

    /// Sends INFO in the call with this body (e.g. `application/dtmf-relay`).
    pub fn info(
        &mut self,
        h: CallHandle,
        content_type: &str,
        body: &str,
    ) -> Result<(), PhoneError> {
        let call = self.call_ref(h)?;
        if call.state != CallState::Confirmed {
            return Err(wrong("send INFO in", call.state));
        }
        let mut req = self.in_dialog_request(h, Method::Info)?;
        if !body.is_empty() {
            msg::set_body(
                &mut req.headers,
                &mut req.body,
                content_type,
                body.as_bytes().to_vec(),
            );
        }
        self.send(h, TxKind::Info, req);
        Ok(())
    }

    // ----- internals shared with the event handlers -----

    fn call_ref(&self, h: CallHandle) -> Result<&Call, PhoneError> {
        self.calls.get(h.0).ok_or(PhoneError::NoSuchCall(h))
    }

    fn domain(&self) -> String {
        self.cfg
            .domain
            .clone()
            .unwrap_or_else(|| self.cfg.addr.ip().to_string())
    }

    pub(crate) fn token(&mut self) -> String {
        self.ep.random_token()
    }

    /// A random number for the dialogs' glare back-off.
    pub(crate) fn next_random(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x >> 32) as u32
    }

    fn peer_for(&self, uri: &rsip::Uri) -> Result<Peer, PhoneError> {
        let addr = match self.cfg.proxy {
            Some(p) => p,
            None => msg::resolve(uri).ok_or_else(|| PhoneError::BadUri(uri.to_string()))?,
        };
        Ok(Peer {
            addr,
            transport: Transport::Udp,
        })
    }

    fn contact_header(&self) -> Header {
        Header::Contact(format!("<{}>", self.contact()).into())
    }

    fn typed_contact(&self) -> rsip::typed::Contact {
        rsip::typed::Contact {
            display_name: None,
            uri: sotto_sip::message::parse_uri(&self.contact()).expect("our contact parses"),
            params: vec![],
        }
    }

    fn our_from(&self, tag: &str) -> String {
        let display = self
            .cfg
            .display_name
            .as_ref()
            .map(|d| format!("\"{d}\" "))
            .unwrap_or_default();
        format!("{display}<{}>;tag={tag}", self.uri())
    }

    /// The headers every request and response of ours carries besides the dialog's.
    fn common_headers(&self, headers: &mut rsip::Headers) {
        headers.push(Header::Allow(msg::ALLOW.into()));
        headers.push(Header::Supported(msg::SUPPORTED.into()));
        headers.push(Header::UserAgent(
            format!("sotto-testua {}", self.cfg.user).into(),
        ));
    }

    fn new_media(&mut self) -> (LocalSession, LocalMedia) {
        let n = self.calls.len() as u16;
        let port = self
            .rtp_ports
            .pop_front()
            .unwrap_or_else(|| 40000u16.wrapping_add(n.wrapping_mul(2)));
        let id = u64::from(self.next_random() >> 1);
        let mut media = LocalMedia::new(self.cfg.addr.ip(), port);
        media.codecs = self.cfg.codecs.clone();
        media.telephone_event = self.cfg.telephone_event;
        (LocalSession::new(id, id), media)
    }

    fn place_call(
        &mut self,
        target: rsip::Uri,
        with_sdp: bool,
        extra: Vec<Header>,
    ) -> Result<CallHandle, PhoneError> {
        let peer = self.peer_for(&target)?;
        let local_tag = self.token();
        let call_id = format!("{}@{}", self.token(), self.cfg.addr.ip());
        let (mut session, media) = self.new_media();
        let mut headers = rsip::Headers::default();
        headers.push(Header::Via(unsent_via()));
        headers.push(Header::MaxForwards(70.into()));
        headers.push(Header::From(self.our_from(&local_tag).into()));
        headers.push(Header::To(format!("<{target}>").into()));
        headers.push(Header::CallId(call_id.into()));
        headers.push(Header::CSeq("1 INVITE".into()));
        headers.push(self.contact_header());
        self.common_headers(&mut headers);
        let referred_by = extra
            .iter()
            .find_map(ReferredBy::value_of)
            .map(str::to_string);
        headers.extend(extra);
        let mut invite = Request {
            method: Method::Invite,
            uri: target.clone(),
            version: rsip::Version::V2,
            headers,
            body: Vec::new(),
        };
        let offer = with_sdp.then(|| session.offer(&media));
        if let Some(o) = &offer {
            msg::set_body(
                &mut invite.headers,
                &mut invite.body,
                msg::SDP,
                o.to_bytes(),
            );
        }
        let h = CallHandle(self.calls.len());
        let mut call = Call::new(
            h,
            true,
            peer,
            self.now,
            invite.clone(),
            local_tag,
            session,
            media,
            target.to_string(),
        );
        call.our_offer = offer;
        call.referred_by = referred_by;
        self.calls.push(call);
        let tx = self.ep.send_request(self.now, invite, peer);
        self.calls[h.0].invite_client_tx = Some(tx);
        self.client_txs.insert(
            tx,
            ClientTx {
                call: Some(h),
                kind: TxKind::Invite,
            },
        );
        Ok(h)
    }

    /// A request in call `h`'s dialog, with our common headers.
    fn in_dialog_request(&mut self, h: CallHandle, method: Method) -> Result<Request, PhoneError> {
        let state = self.calls[h.0].state;
        let dialog = self.calls[h.0]
            .dialog
            .as_mut()
            .ok_or(wrong("send a request in", state))?;
        let mut req = dialog.create_request(method, unsent_via())?;
        self.common_headers(&mut req.headers);
        Ok(req)
    }

    /// Sends a request of call `h` to its peer.
    fn send(&mut self, h: CallHandle, kind: TxKind, request: Request) -> ClientTxId {
        let peer = self.calls[h.0].peer;
        let tx = self.ep.send_request(self.now, request, peer);
        self.client_txs.insert(
            tx,
            ClientTx {
                call: Some(h),
                kind,
            },
        );
        tx
    }

    fn send_bye(&mut self, h: CallHandle) -> Result<(), PhoneError> {
        let req = self.in_dialog_request(h, Method::Bye)?;
        self.send(h, TxKind::Bye, req);
        self.calls[h.0].end(false);
        Ok(())
    }

    fn start_reinvite(
        &mut self,
        h: CallHandle,
        intent: Intent,
        action: &'static str,
    ) -> Result<(), PhoneError> {
        let call = self.call_ref(h)?;
        if call.state != CallState::Confirmed {
            return Err(wrong(action, call.state));
        }
        if let Some(d) = call.dialog.as_ref() {
            d.may_send_reinvite()?;
        }
        self.send_reinvite(h, intent)
    }

    fn send_reinvite(&mut self, h: CallHandle, intent: Intent) -> Result<(), PhoneError> {
        let mut req = self.in_dialog_request(h, Method::Invite)?;
        let call = &mut self.calls[h.0];
        let was_holding = call.session.holding();
        let offer = match intent {
            Intent::Hold => call.session.hold_offer(&call.media),
            Intent::Resume => call.session.resume_offer(&call.media),
            Intent::Refresh => call.session.offer(&call.media),
        };
        msg::set_body(&mut req.headers, &mut req.body, msg::SDP, offer.to_bytes());
        call.our_offer = Some(offer);
        let tx = self.send(h, TxKind::ReInvite, req);
        self.calls[h.0].reinvite = Some(PendingReInvite {
            tx,
            intent,
            was_holding,
        });
        Ok(())
    }

    fn send_refer(&mut self, h: CallHandle, refer_to: String) -> Result<(), PhoneError> {
        let call = self.call_ref(h)?;
        if call.state != CallState::Confirmed {
            return Err(wrong("transfer", call.state));
        }
        let first = call.subscribers.is_empty();
        let mut req = self.in_dialog_request(h, Method::Refer)?;
        req.headers.push(Header::Other("Refer-To".into(), refer_to));
        req.headers.push(ReferredBy::new(self.uri()).to_header());
        let cseq = sotto_sip::message::cseq(&req).map_or(1, |c| c.0);
        let call = &mut self.calls[h.0];
        call.subscribers
            .push(ReferSubscriber::from_cseq(cseq, first));
        let index = call.subscribers.len() - 1;
        self.send(h, TxKind::Refer(index), req);
        Ok(())
    }

    /// Our response to the dialog-creating INVITE of incoming call `h`, with Contact.
    fn invite_response(&self, h: CallHandle, code: u16) -> Response {
        let call = &self.calls[h.0];
        let mut resp = make_response(&call.invite, code, Some(&call.local_tag));
        if code < 300 {
            resp.headers.push(self.contact_header());
        }
        self.common_headers(&mut resp.headers);
        resp
    }

    /// Makes the UAS dialog of incoming call `h` if it has none. False (and 400 sent)
    /// when the INVITE cannot make one.
    fn ensure_uas_dialog(&mut self, h: CallHandle) -> bool {
        if self.calls[h.0].dialog.is_some() {
            return true;
        }
        let contact = self.typed_contact();
        let call = &self.calls[h.0];
        match Dialog::from_uas(&call.invite, Tag::new(call.local_tag.clone()), contact) {
            Ok(d) => {
                self.calls[h.0].dialog = Some(d);
                true
            }
            Err(_) => {
                self.send_final_refusal(h, 400);
                false
            }
        }
    }

    fn respond_invite(&mut self, h: CallHandle, resp: Response) {
        let call = &mut self.calls[h.0];
        if let Some(d) = call.dialog.as_mut() {
            let _ = d.on_response_sent(&resp);
        }
        if let Some(tx) = call.invite_server_tx {
            self.ep.respond(self.now, tx, resp);
        }
    }

    fn send_provisional(&mut self, h: CallHandle, code: u16) {
        if !self.ensure_uas_dialog(h) {
            return;
        }
        let mut resp = self.invite_response(h, code);
        if code == 183 {
            // Early media: the answer goes in the 183, the 2xx repeats it. Without an
            // offer in the INVITE the 183 carries no SDP (an offer may not go in an
            // unreliable provisional, RFC 3261 §13.2.1).
            match self.calls[h.0].answer_to_invite() {
                Ok(Some(answer)) => msg::set_body(
                    &mut resp.headers,
                    &mut resp.body,
                    msg::SDP,
                    answer.to_bytes(),
                ),
                Ok(None) => {}
                Err(code) => return self.send_final_refusal(h, code),
            }
        }
        self.respond_invite(h, resp);
        let call = &mut self.calls[h.0];
        call.state = match (code, call.state) {
            (180, _) | (_, CallState::Ringing) => CallState::Ringing,
            _ => CallState::Early,
        };
    }

    fn send_answer(&mut self, h: CallHandle) {
        if !self.ensure_uas_dialog(h) {
            return;
        }
        let call = &mut self.calls[h.0];
        let sdp = match call.answer_to_invite() {
            Ok(Some(answer)) => answer,
            Ok(None) => {
                let offer = call.session.offer(&call.media);
                call.our_offer = Some(offer.clone());
                call.offer_in_2xx = true;
                offer
            }
            Err(code) => return self.send_final_refusal(h, code),
        };
        let mut resp = self.invite_response(h, 200);
        msg::set_body(&mut resp.headers, &mut resp.body, msg::SDP, sdp.to_bytes());
        self.respond_invite(h, resp);
        let call = &mut self.calls[h.0];
        call.state = CallState::Confirmed;
        call.final_code = Some(200);
        call.answered_at = Some(self.now);
        call.answer_at = None;
        call.refuse_at = None;
    }

    fn send_final_refusal(&mut self, h: CallHandle, code: u16) {
        self.refuse_with(h, code, Vec::new());
    }

    fn refuse_with(&mut self, h: CallHandle, code: u16, extra: Vec<Header>) {
        let mut resp = self.invite_response(h, code);
        resp.headers.extend(extra);
        self.respond_invite(h, resp);
        let call = &mut self.calls[h.0];
        call.final_code = Some(code);
        call.end(false);
    }
}

impl Node for Phone {
    fn addr(&self) -> SocketAddr {
        self.cfg.addr
    }

    fn endpoint(&self) -> &Endpoint {
        &self.ep
    }

    fn endpoint_mut(&mut self) -> &mut Endpoint {
        &mut self.ep
    }

    fn on_event(&mut self, now: Instant, event: Event) {
        self.set_now(now);
        self.handle_event(event);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.set_now(now);
        self.run_timers();
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.calls
            .iter()
            .flat_map(|c| {
                [
                    c.answer_at,
                    c.refuse_at.map(|(t, _)| t),
                    c.dialog.as_ref().and_then(Dialog::poll_timeout),
                    c.notifier.as_ref().and_then(|n| n.poll_timeout()),
                ]
            })
            .flatten()
            .min()
    }
}

fn wrong(action: &'static str, state: CallState) -> PhoneError {
    PhoneError::WrongState { action, state }
}

/// A seed that differs between phones at different addresses.
fn seed_of(addr: SocketAddr) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in addr.to_string().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
