//! The sans-IO SIP endpoint: the transaction layer's owner and the crate's
//! drive contract.
//!
//! ```text
//! endpoint.handle_datagram(now, peer, &bytes);   // or handle_timeout(now)
//! while let Some(t) = endpoint.poll_transmit() { socket.send_to(&t.bytes, t.peer.addr) }
//! while let Some(ev) = endpoint.poll_event()  { tu.on_sip_event(ev) }
//! sleep_until(endpoint.poll_timeout());
//! ```
//!
//! The endpoint matches requests to server transactions and responses to
//! client transactions (RFC 3261 §17.1.3, §17.2.3), answers what the
//! transaction layer must answer by itself (400 to a malformed request,
//! retransmissions, 100 Trying, 200 to a CANCEL and 481 to a CANCEL that
//! matches nothing), and hands everything else to the transaction user as an
//! [`Event`]. It never reads a clock and never touches a socket.

use crate::message::{bad_request_response, call_id, cseq, parse_datagram, to_tag, top_via_branch};
use crate::transaction::{
    self, ClientInvite, ClientKey, ClientNonInvite, Outputs, ServerInvite, ServerKey,
    ServerNonInvite, Timers, Transport, TxOutput,
};
use bytes::Bytes;
use rsip::prelude::UntypedHeader;
use rsip::{Header, Method, Request, Response, SipMessage};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

mod response;
#[cfg(test)]
mod tests;

pub use response::make_response;

/// A Via to hand to request builders (the dialog layer takes one): the
/// endpoint replaces every Via of a request it sends with its own, carrying
/// a fresh branch (§8.1.1.7), so this one never reaches the wire.
pub fn unsent_via() -> rsip::headers::Via {
    rsip::headers::Via::new("SIP/2.0/UDP invalid;branch=z9hG4bKunsent")
}

/// Where a message came from or goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// The remote address and port.
    pub addr: SocketAddr,
    /// The transport the message travels over (it decides retransmissions, §17).
    pub transport: Transport,
}

/// A datagram (or stream chunk) to put on the wire.
#[derive(Debug, Clone)]
pub struct Transmit {
    /// Where to send it.
    pub peer: Peer,
    /// The serialized message.
    pub bytes: Bytes,
}

/// A client transaction started by the TU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientTxId(u64);

/// A server transaction created by an incoming request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerTxId(u64);

/// What the transaction user must act on.
#[derive(Debug)]
pub enum Event {
    /// A new request (never an ACK); answer it with [`Endpoint::respond`].
    Request {
        /// The server transaction to answer through.
        tx: ServerTxId,
        /// The request as parsed.
        request: Request,
        /// Where it came from.
        peer: Peer,
    },
    /// An ACK that belongs to no server transaction: the ACK for a 2xx
    /// (§13.3.1.4), which the dialog layer consumes.
    Ack {
        /// The ACK as parsed.
        request: Request,
        /// Where it came from.
        peer: Peer,
    },
    /// A CANCEL matched a pending INVITE (§9.2). The endpoint answered the
    /// CANCEL with 200; the TU answers the INVITE with 487.
    Cancelled {
        /// The INVITE's server transaction.
        tx: ServerTxId,
    },
    /// A response to one of our requests (provisional, final, or a
    /// retransmitted 2xx for an INVITE).
    Response {
        /// The client transaction the response matched.
        tx: ClientTxId,
        /// The response as parsed.
        response: Response,
    },
    /// Timer B or F: no final response came (treat as 408, §8.1.3.1).
    Timeout {
        /// The client transaction that timed out.
        tx: ClientTxId,
    },
    /// Timer H or L: our final response to an INVITE was never ACKed. For a
    /// 2xx the TU should end the dialog with BYE (§13.3.1.4).
    AckTimeout {
        /// The INVITE's server transaction.
        tx: ServerTxId,
    },
}

/// Settings of one endpoint.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// The transaction timer base values (T1, T2, T4; RFC 3261 Table 4).
    pub timers: Timers,
    /// host:port this endpoint puts in its Via sent-by.
    pub via_host: String,
    /// Value of the Server/User-Agent header, if any.
    pub user_agent: Option<String>,
    /// The methods we implement, for the Allow header of a stateless 501
    /// (§8.2.1); the TU adds Allow to its own 405s.
    pub allow: String,
}

enum ServerKind {
    Invite(ServerInvite),
    NonInvite(ServerNonInvite),
}

struct ServerEntry {
    key: ServerKey,
    peer: Peer,
    kind: ServerKind,
    /// Call-ID and CSeq number, for matching the ACK of a 2xx.
    ack_key: Option<(String, u32)>,
}

enum ClientKind {
    Invite(ClientInvite),
    NonInvite(ClientNonInvite),
}

struct ClientEntry {
    key: ClientKey,
    peer: Peer,
    kind: ClientKind,
    /// A CANCEL asked for before any provisional arrived (§9.1).
    cancel_pending: bool,
    /// Our ACK for the 2xx, re-sent when the 2xx is retransmitted.
    ack: Option<Transmit>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TxRef {
    Client(u64),
    Server(u64),
}

/// The transaction layer of one SIP endpoint (UDP and TCP).
pub struct Endpoint {
    config: EndpointConfig,
    rng: u64,
    next_id: u64,
    servers: HashMap<u64, ServerEntry>,
    server_keys: HashMap<ServerKey, u64>,
    clients: HashMap<u64, ClientEntry>,
    client_keys: HashMap<ClientKey, u64>,
    /// Server INVITE transactions that sent a 2xx, by (Call-ID, CSeq).
    awaiting_ack: HashMap<(String, u32), u64>,
    deadlines: BinaryHeap<Reverse<(Instant, TxRef)>>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    scratch: Outputs,
}

impl Endpoint {
    /// `seed` feeds the generator of branches and tags; the caller passes
    /// entropy (the endpoint reads no clock and no OS randomness).
    pub fn new(config: EndpointConfig, seed: u64) -> Self {
        Endpoint {
            config,
            rng: seed | 1,
            next_id: 1,
            servers: HashMap::new(),
            server_keys: HashMap::new(),
            clients: HashMap::new(),
            client_keys: HashMap::new(),
            awaiting_ack: HashMap::new(),
            deadlines: BinaryHeap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            scratch: Outputs::new(),
        }
    }

    /// The settings this endpoint was built with.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Live transactions (client, server), for metrics and tests.
    pub fn transaction_counts(&self) -> (usize, usize) {
        (self.clients.len(), self.servers.len())
    }

    /// Whether any request we sent still awaits its final response (used to
    /// let BYEs complete before a shutdown).
    pub fn has_pending_requests(&self) -> bool {
        self.clients.values().any(|e| match &e.kind {
            ClientKind::Invite(t) => matches!(
                t.state(),
                transaction::ClientInviteState::Calling
                    | transaction::ClientInviteState::Proceeding
            ),
            ClientKind::NonInvite(t) => matches!(
                t.state(),
                transaction::ClientNonInviteState::Trying
                    | transaction::ClientNonInviteState::Proceeding
            ),
        })
    }

    /// A random token (xorshift64*), for branches, tags and Call-IDs.
    pub fn random_token(&mut self) -> String {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        format!("{:016x}", x.wrapping_mul(0x2545_f491_4f6c_dd1d))
    }

    /// A new branch with the RFC 3261 magic cookie.
    pub fn new_branch(&mut self) -> String {
        format!("{}{}", transaction::BRANCH_COOKIE, self.random_token())
    }

    /// One UDP datagram (or one framed TCP message's bytes) arrived.
    pub fn handle_datagram(&mut self, now: Instant, peer: Peer, bytes: &[u8]) {
        match parse_datagram(bytes) {
            Ok(msg) => self.handle_message(now, peer, msg),
            Err(err) => {
                let tag = self.random_token();
                if let Some(mut resp) = bad_request_response(bytes, &err, &tag) {
                    if resp.status_code.code() == 501 {
                        resp.headers
                            .push(Header::Allow(self.config.allow.clone().into()));
                    }
                    if let Some(ua) = &self.config.user_agent {
                        resp.headers.push(Header::Server(ua.clone().into()));
                    }
                    self.send(peer, transaction::encode(&resp));
                }
            }
        }
    }

    /// A parsed message arrived (TCP callers frame and parse themselves).
    pub fn handle_message(&mut self, now: Instant, peer: Peer, msg: SipMessage) {
        match msg {
            SipMessage::Request(request) => self.on_request(now, peer, request),
            SipMessage::Response(response) => self.on_response(now, response),
        }
    }

    fn on_request(&mut self, now: Instant, peer: Peer, mut request: Request) {
        let Some(key) = ServerKey::of_request(&request) else {
            // No usable Via: no response can be routed back (§18.2.1).
            return;
        };
        mark_received(&mut request, peer);
        if request.method == Method::Ack {
            return self.on_ack(now, peer, key, request);
        }
        if let Some(&id) = self.server_keys.get(&key) {
            // A retransmission of a request we already have.
            let entry = self.servers.get_mut(&id).expect("key index in sync");
            match &mut entry.kind {
                ServerKind::Invite(tx) => tx.on_retransmission(&mut self.scratch),
                ServerKind::NonInvite(tx) => tx.on_retransmission(&mut self.scratch),
            }
            return self.drain_server(id);
        }
        if request.method == Method::Cancel {
            return self.on_cancel(now, peer, key, request);
        }
        let id = self.alloc_id();
        let reliable = peer.transport.is_reliable();
        let kind = if request.method == Method::Invite {
            let trying = make_response(&request, 100, None);
            ServerKind::Invite(ServerInvite::new(
                now,
                &trying,
                reliable,
                self.config.timers,
            ))
        } else {
            ServerKind::NonInvite(ServerNonInvite::new(reliable, self.config.timers))
        };
        let ack_key = (request.method == Method::Invite)
            .then(|| Some((call_id(&request)?.to_string(), cseq(&request)?.0)))
            .flatten();
        self.server_keys.insert(key.clone(), id);
        self.servers.insert(
            id,
            ServerEntry {
                key,
                peer,
                kind,
                ack_key,
            },
        );
        self.schedule(TxRef::Server(id));
        self.events.push_back(Event::Request {
            tx: ServerTxId(id),
            request,
            peer,
        });
    }

    fn on_ack(&mut self, now: Instant, peer: Peer, key: ServerKey, request: Request) {
        // ACK for a non-2xx: same branch as the INVITE (§17.2.3).
        if let Some(&id) = self.server_keys.get(&key) {
            if let Some(ServerEntry {
                kind: ServerKind::Invite(tx),
                ..
            }) = self.servers.get_mut(&id)
            {
                if tx.state() == transaction::ServerInviteState::Completed {
                    tx.on_ack(now, &mut self.scratch);
                    self.drain_server(id);
                    return;
                }
            }
        }
        // ACK for a 2xx: a transaction of its own, matched by dialog.
        if let (Some(cid), Some((seq, _))) = (call_id(&request), cseq(&request)) {
            if let Some(id) = self.awaiting_ack.remove(&(cid.to_string(), seq)) {
                if let Some(ServerEntry {
                    kind: ServerKind::Invite(tx),
                    ..
                }) = self.servers.get_mut(&id)
                {
                    tx.on_ack(now, &mut self.scratch);
                    self.drain_server(id);
                }
            }
        }
        self.events.push_back(Event::Ack { request, peer });
    }

    fn on_cancel(&mut self, now: Instant, peer: Peer, key: ServerKey, cancel: Request) {
        let invite = ServerKey::invite_cancelled_by(&cancel)
            .and_then(|k| self.server_keys.get(&k).copied())
            .filter(|id| {
                matches!(
                    self.servers.get(id),
                    Some(ServerEntry { kind: ServerKind::Invite(tx), .. }) if !tx.is_answered()
                )
            });
        let code = if invite.is_some() { 200 } else { 481 };
        let tag = to_tag(&cancel).map(str::to_string);
        let response = make_response(
            &cancel,
            code,
            tag.or_else(|| Some(self.random_token())).as_deref(),
        );
        let id = self.alloc_id();
        let mut tx = ServerNonInvite::new(peer.transport.is_reliable(), self.config.timers);
        tx.respond(now, &response, &mut self.scratch);
        self.server_keys.insert(key.clone(), id);
        self.servers.insert(
            id,
            ServerEntry {
                key,
                peer,
                kind: ServerKind::NonInvite(tx),
                ack_key: None,
            },
        );
        self.drain_server(id);
        if let Some(invite) = invite {
            self.events.push_back(Event::Cancelled {
                tx: ServerTxId(invite),
            });
        }
    }

    fn on_response(&mut self, now: Instant, response: Response) {
        let Some(key) = ClientKey::of_response(&response) else {
            return;
        };
        let Some(&id) = self.client_keys.get(&key) else {
            return; // stray response (§18.1.2): discard
        };
        let entry = self.clients.get_mut(&id).expect("key index in sync");
        let code = response.status_code.code();
        match &mut entry.kind {
            ClientKind::Invite(tx) => {
                let accepted_before = tx.state() == transaction::ClientInviteState::Accepted;
                tx.on_response(now, response, &mut self.scratch);
                if accepted_before && (200..300).contains(&code) {
                    if let Some(ack) = &entry.ack {
                        self.transmits.push_back(ack.clone());
                    }
                }
            }
            ClientKind::NonInvite(tx) => tx.on_response(now, response, &mut self.scratch),
        }
        let send_cancel = entry.cancel_pending && (100..200).contains(&code);
        if send_cancel {
            entry.cancel_pending = false;
        }
        self.drain_client(id);
        if send_cancel {
            self.start_cancel(now, id);
        }
    }

    /// Starts a client transaction for `request`. A top Via with a fresh branch
    /// is added (the TU never writes Via).
    pub fn send_request(&mut self, now: Instant, mut request: Request, peer: Peer) -> ClientTxId {
        let branch = self.new_branch();
        let via = format!(
            "SIP/2.0/{} {};branch={};rport",
            peer.transport.via_token(),
            self.config.via_host,
            branch
        );
        set_only_via(&mut request.headers, via);
        self.start_client(now, request, peer)
    }

    fn start_client(&mut self, now: Instant, request: Request, peer: Peer) -> ClientTxId {
        let id = self.alloc_id();
        let key = ClientKey {
            branch: top_via_branch(&request).unwrap_or_default().to_string(),
            method: transaction::MethodKey::of(&request.method),
        };
        let reliable = peer.transport.is_reliable();
        let timers = self.config.timers;
        let kind = if request.method == Method::Invite {
            ClientKind::Invite(ClientInvite::start(
                now,
                request,
                reliable,
                timers,
                &mut self.scratch,
            ))
        } else {
            ClientKind::NonInvite(ClientNonInvite::start(
                now,
                request,
                reliable,
                timers,
                &mut self.scratch,
            ))
        };
        self.client_keys.insert(key.clone(), id);
        self.clients.insert(
            id,
            ClientEntry {
                key,
                peer,
                kind,
                cancel_pending: false,
                ack: None,
            },
        );
        self.drain_client(id);
        self.schedule(TxRef::Client(id));
        ClientTxId(id)
    }

    /// Cancels a pending INVITE (§9.1). Before a provisional response the
    /// CANCEL waits for one; after a final response it is not sent.
    pub fn cancel(&mut self, now: Instant, invite: ClientTxId) {
        let Some(entry) = self.clients.get_mut(&invite.0) else {
            return;
        };
        let ClientKind::Invite(tx) = &entry.kind else {
            return;
        };
        match tx.state() {
            transaction::ClientInviteState::Calling => entry.cancel_pending = true,
            transaction::ClientInviteState::Proceeding => self.start_cancel(now, invite.0),
            _ => {}
        }
    }

    fn start_cancel(&mut self, now: Instant, invite_id: u64) {
        let Some(entry) = self.clients.get(&invite_id) else {
            return;
        };
        let ClientKind::Invite(tx) = &entry.kind else {
            return;
        };
        let invite = tx.request();
        let mut headers = rsip::Headers::default();
        for h in invite.headers.iter() {
            match h {
                Header::Via(_) if !headers.iter().any(|h| matches!(h, Header::Via(_))) => {
                    headers.push(h.clone())
                }
                Header::From(_) | Header::To(_) | Header::CallId(_) | Header::Route(_) => {
                    headers.push(h.clone())
                }
                Header::CSeq(c) => {
                    let seq = c.value().split_whitespace().next().unwrap_or("1");
                    headers.push(Header::CSeq(format!("{seq} CANCEL").into()));
                }
                _ => {}
            }
        }
        headers.push(Header::MaxForwards(70.into()));
        headers.push(Header::ContentLength(0.into()));
        let cancel = Request {
            method: Method::Cancel,
            uri: invite.uri.clone(),
            version: rsip::Version::V2,
            headers,
            body: Vec::new(),
        };
        let peer = entry.peer;
        self.start_client(now, cancel, peer);
    }

    /// Sends the ACK for a 2xx to an INVITE we sent (§13.2.2.4). The ACK is a
    /// transaction of its own (new branch); the endpoint keeps it to answer
    /// retransmissions of the 2xx.
    pub fn ack_2xx(&mut self, invite: ClientTxId, mut ack: Request, peer: Peer) {
        let branch = self.new_branch();
        let via = format!(
            "SIP/2.0/{} {};branch={};rport",
            peer.transport.via_token(),
            self.config.via_host,
            branch
        );
        set_only_via(&mut ack.headers, via);
        let transmit = Transmit {
            peer,
            bytes: transaction::encode(&ack),
        };
        self.transmits.push_back(transmit.clone());
        if let Some(entry) = self.clients.get_mut(&invite.0) {
            entry.ack = Some(transmit);
        }
    }

    /// Sends a message outside any transaction (e.g. a stateless reply).
    pub fn send_stateless(&mut self, peer: Peer, msg: &SipMessage) {
        self.send(peer, transaction::encode(msg));
    }

    /// The TU answers a request. Responses to unknown or finished
    /// transactions are dropped.
    pub fn respond(&mut self, now: Instant, tx: ServerTxId, response: Response) {
        let Some(entry) = self.servers.get_mut(&tx.0) else {
            return;
        };
        match &mut entry.kind {
            ServerKind::Invite(inv) => {
                inv.respond(now, &response, &mut self.scratch);
                if (200..300).contains(&response.status_code.code()) {
                    if let Some(key) = entry.ack_key.clone() {
                        self.awaiting_ack.insert(key, tx.0);
                    }
                }
            }
            ServerKind::NonInvite(non) => non.respond(now, &response, &mut self.scratch),
        }
        self.drain_server(tx.0);
        self.schedule(TxRef::Server(tx.0));
    }

    /// Drives timers that are due.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse((at, tx))) = self.deadlines.peek().copied() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            match tx {
                TxRef::Client(id) => {
                    let Some(entry) = self.clients.get_mut(&id) else {
                        continue;
                    };
                    match &mut entry.kind {
                        ClientKind::Invite(t) => t.handle_timeout(now, &mut self.scratch),
                        ClientKind::NonInvite(t) => t.handle_timeout(now, &mut self.scratch),
                    }
                    self.drain_client(id);
                }
                TxRef::Server(id) => {
                    let Some(entry) = self.servers.get_mut(&id) else {
                        continue;
                    };
                    match &mut entry.kind {
                        ServerKind::Invite(t) => t.handle_timeout(now, &mut self.scratch),
                        ServerKind::NonInvite(t) => t.handle_timeout(now, &mut self.scratch),
                    }
                    self.drain_server(id);
                }
            }
            self.schedule(tx);
        }
    }

    /// The next message to send, oldest first; `None` when there is none left.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the transaction user, oldest first; `None` when there is none
    /// left.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Endpoint::handle_timeout`] next has work (may be early, never late).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.peek().map(|Reverse((at, _))| *at)
    }

    fn alloc_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn send(&mut self, peer: Peer, bytes: Bytes) {
        self.transmits.push_back(Transmit { peer, bytes });
    }

    /// Re-indexes a transaction's next deadline.
    fn schedule(&mut self, tx: TxRef) {
        let next = match tx {
            TxRef::Client(id) => self.clients.get(&id).and_then(|e| match &e.kind {
                ClientKind::Invite(t) => t.next_deadline(),
                ClientKind::NonInvite(t) => t.next_deadline(),
            }),
            TxRef::Server(id) => self.servers.get(&id).and_then(|e| match &e.kind {
                ServerKind::Invite(t) => t.next_deadline(),
                ServerKind::NonInvite(t) => t.next_deadline(),
            }),
        };
        if let Some(at) = next {
            self.deadlines.push(Reverse((at, tx)));
        }
    }

    fn drain_client(&mut self, id: u64) {
        let Some(entry) = self.clients.get(&id) else {
            self.scratch.clear();
            return;
        };
        let peer = entry.peer;
        let mut terminated = false;
        while let Some(out) = self.scratch.pop_front() {
            match out {
                TxOutput::Send(bytes) => self.transmits.push_back(Transmit { peer, bytes }),
                TxOutput::Response(response) => self.events.push_back(Event::Response {
                    tx: ClientTxId(id),
                    response,
                }),
                TxOutput::Timeout => self.events.push_back(Event::Timeout { tx: ClientTxId(id) }),
                TxOutput::Terminated => terminated = true,
            }
        }
        if terminated {
            if let Some(entry) = self.clients.remove(&id) {
                self.client_keys.remove(&entry.key);
            }
        }
    }

    fn drain_server(&mut self, id: u64) {
        let Some(entry) = self.servers.get(&id) else {
            self.scratch.clear();
            return;
        };
        let peer = entry.peer;
        let mut terminated = false;
        while let Some(out) = self.scratch.pop_front() {
            match out {
                TxOutput::Send(bytes) => self.transmits.push_back(Transmit { peer, bytes }),
                TxOutput::Timeout => self
                    .events
                    .push_back(Event::AckTimeout { tx: ServerTxId(id) }),
                TxOutput::Response(_) => {}
                TxOutput::Terminated => terminated = true,
            }
        }
        if terminated {
            if let Some(entry) = self.servers.remove(&id) {
                self.server_keys.remove(&entry.key);
                if let Some(k) = entry.ack_key {
                    if self.awaiting_ack.get(&k) == Some(&id) {
                        self.awaiting_ack.remove(&k);
                    }
                }
            }
        }
    }
}

/// Replaces every Via with ours, as the first header line (a UAC's request
/// carries exactly one Via, §8.1.1.7).
fn set_only_via(headers: &mut rsip::Headers, via: String) {
    let mut all: Vec<Header> = Vec::with_capacity(headers.iter().count() + 1);
    all.push(Header::Via(via.into()));
    all.extend(
        std::mem::take(headers)
            .into_iter()
            .filter(|h| !matches!(h, Header::Via(_))),
    );
    *headers = all.into();
}

/// Records the source address in the top Via (`received`, and `rport` when
/// the client asked for it, RFC 3581), so responses say where the request
/// really came from.
fn mark_received(request: &mut Request, peer: Peer) {
    let Some(Header::Via(via)) = request
        .headers
        .iter_mut()
        .find(|h| matches!(h, Header::Via(_)))
    else {
        return;
    };
    let value = via.value();
    let first_end = value.find(',').unwrap_or(value.len());
    let (first, rest) = value.split_at(first_end);
    let wants_rport = first
        .split(';')
        .skip(1)
        .any(|p| p.trim().eq_ignore_ascii_case("rport"));
    if !wants_rport {
        return;
    }
    let mut new_first = String::with_capacity(first.len() + 40);
    for (i, part) in first.split(';').enumerate() {
        if i > 0 {
            new_first.push(';');
        }
        if i > 0 && part.trim().eq_ignore_ascii_case("rport") {
            new_first.push_str(&format!(
                "received={};rport={}",
                peer.addr.ip(),
                peer.addr.port()
            ));
        } else {
            new_first.push_str(part);
        }
    }
    new_first.push_str(rest);
    *via = new_first.into();
}
