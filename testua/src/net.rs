//! The in-memory network: datagrams between endpoints, and a clock that moves only
//! when the test moves it.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::ops::{Index, IndexMut};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rsip::SipMessage;
use sotto_sip::endpoint::{Endpoint, Event, Peer, Transmit};
use sotto_sip::transaction::Transport;

use crate::phone::{Phone, PhoneConfig};

/// Rounds [`Net::settle`] allows before it declares a livelock.
const DEFAULT_ROUND_LIMIT: usize = 1_000;
/// Timer instants [`Net::advance`] visits before it declares a timer that never clears.
const DEFAULT_TIMER_LIMIT: usize = 100_000;
/// Trace lines shown when the network does not settle.
const TRACE_TAIL: usize = 30;

/// A party on the network the test owns itself, typically the system under test: its
/// endpoint and the transaction user driving it.
///
/// The network feeds the endpoint (`handle_datagram`, `handle_timeout`), takes what it
/// sends (`poll_transmit`) and hands its events to [`Node::on_event`]. The transaction
/// user's own timers, if it has any, come in through [`Node::poll_timeout`] and
/// [`Node::handle_timeout`].
///
/// ```
/// use std::net::SocketAddr;
/// use std::time::Instant;
/// use sotto_sip::endpoint::{Endpoint, Event};
/// use sotto_testua::Node;
///
/// /// A stand-in for a call-control core: it answers every request 200.
/// struct Sut {
///     addr: SocketAddr,
///     ep: Endpoint,
/// }
///
/// impl Node for Sut {
///     fn addr(&self) -> SocketAddr {
///         self.addr
///     }
///     fn endpoint(&self) -> &Endpoint {
///         &self.ep
///     }
///     fn endpoint_mut(&mut self) -> &mut Endpoint {
///         &mut self.ep
///     }
///     fn on_event(&mut self, now: Instant, event: Event) {
///         if let Event::Request { tx, request, .. } = event {
///             let ok = sotto_sip::endpoint::make_response(&request, 200, Some("sut"));
///             self.ep.respond(now, tx, ok);
///         }
///     }
/// }
/// ```
pub trait Node {
    /// The address the node sends from and receives on.
    fn addr(&self) -> SocketAddr;
    /// The node's endpoint, for its deadlines.
    fn endpoint(&self) -> &Endpoint;
    /// The node's endpoint, to feed it datagrams and timeouts and drain its output.
    fn endpoint_mut(&mut self) -> &mut Endpoint;
    /// An event of the endpoint, for the transaction user.
    fn on_event(&mut self, now: Instant, event: Event);
    /// The transaction user's timers that are due at `now` (the endpoint's own are
    /// driven by the network).
    fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
    }
    /// When [`Node::handle_timeout`] next has work (the endpoint's deadline is read from
    /// [`Node::endpoint`]).
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

/// One UDP datagram on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// Source address.
    pub from: SocketAddr,
    /// Destination address.
    pub to: SocketAddr,
    /// The bytes on the wire.
    pub bytes: Bytes,
}

impl Datagram {
    /// The start line (`INVITE sip:bob@… SIP/2.0`, `SIP/2.0 180 Ringing`).
    pub fn first_line(&self) -> String {
        let end = self
            .bytes
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(self.bytes.len());
        String::from_utf8_lossy(&self.bytes[..end]).into_owned()
    }

    /// The message, parsed by sotto-sip; `None` if it does not parse.
    pub fn parse(&self) -> Option<SipMessage> {
        sotto_sip::message::parse_datagram(&self.bytes).ok()
    }

    /// The whole datagram as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The sender as the receiving endpoint sees it.
    pub fn peer(&self) -> Peer {
        Peer {
            addr: self.from,
            transport: Transport::Udp,
        }
    }

    /// Whether this is a request with this method (`"INVITE"`, `"BYE"`, …).
    pub fn is_request(&self, method: &str) -> bool {
        self.first_line()
            .split_once(' ')
            .is_some_and(|(m, _)| m == method)
    }

    /// The status code, if this is a response.
    pub fn status(&self) -> Option<u16> {
        let line = self.first_line();
        let rest = line.strip_prefix("SIP/2.0 ")?;
        rest.get(..3)?.parse().ok()
    }
}

/// One datagram the network carried (or dropped), with the simulated time it was sent.
#[derive(Debug, Clone)]
pub struct TraceEntry {
    /// Simulated time since the network was made.
    pub at: Duration,
    /// What was sent.
    pub datagram: Datagram,
    /// A filter set by [`Net::drop_where`] dropped it.
    pub dropped: bool,
}

type DropFilter = Box<dyn FnMut(&Datagram) -> bool>;

/// An in-memory network of SIP endpoints with a simulated clock.
///
/// It owns the [`Phone`]s added with [`Net::add_phone`] (reach them with `net[addr]`)
/// and carries datagrams to and from any other [`Node`] passed to the `*_with` methods
/// (the system under test). Delivery takes no time; only [`Net::advance`] moves the
/// clock, visiting every timer deadline on the way.
///
/// Datagrams for an address that is not present are kept until a node with that
/// address takes part in a step, or the test takes them with [`Net::take_for`].
///
/// Every loop is bounded: a network that does not settle, or a timer that never
/// clears, panics with the tail of the trace.
pub struct Net {
    start: Instant,
    now: Instant,
    phones: BTreeMap<SocketAddr, Phone>,
    /// Sent and not yet delivered, in sending order.
    queue: VecDeque<Datagram>,
    trace: Vec<TraceEntry>,
    drop_filter: Option<DropFilter>,
    round_limit: usize,
    timer_limit: usize,
}

impl Default for Net {
    fn default() -> Self {
        Self::new()
    }
}

impl Net {
    /// An empty network whose clock starts at `Instant::now()` (and stays there until
    /// [`Net::advance`]).
    pub fn new() -> Self {
        Self::starting_at(Instant::now())
    }

    /// An empty network whose clock starts at `start`.
    pub fn starting_at(start: Instant) -> Self {
        Net {
            start,
            now: start,
            phones: BTreeMap::new(),
            queue: VecDeque::new(),
            trace: Vec::new(),
            drop_filter: None,
            round_limit: DEFAULT_ROUND_LIMIT,
            timer_limit: DEFAULT_TIMER_LIMIT,
        }
    }

    /// The simulated time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Simulated time since the network was made.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// How many rounds [`Net::settle`] may take before it panics (default 1000).
    pub fn set_round_limit(&mut self, rounds: usize) {
        self.round_limit = rounds.max(1);
    }

    /// Adds a phone made from `config`; returns its address, the key to `net[addr]`.
    pub fn add_phone(&mut self, config: PhoneConfig) -> SocketAddr {
        let phone = Phone::new(config, self.now);
        self.insert_phone(phone)
    }

    /// Adds a phone made elsewhere (its clock is set to the network's).
    pub fn insert_phone(&mut self, mut phone: Phone) -> SocketAddr {
        let addr = phone.addr();
        assert!(
            !self.phones.contains_key(&addr),
            "a phone at {addr} is already on the network"
        );
        phone.set_now(self.now);
        self.phones.insert(addr, phone);
        addr
    }

    /// The phone at `addr`. Panics if there is none.
    pub fn phone(&self, addr: SocketAddr) -> &Phone {
        self.phones
            .get(&addr)
            .unwrap_or_else(|| panic!("no phone at {addr} on the network"))
    }

    /// The phone at `addr`, to act on it. Panics if there is none.
    pub fn phone_mut(&mut self, addr: SocketAddr) -> &mut Phone {
        self.phones
            .get_mut(&addr)
            .unwrap_or_else(|| panic!("no phone at {addr} on the network"))
    }

    /// The addresses of the phones, in order.
    pub fn phone_addrs(&self) -> Vec<SocketAddr> {
        self.phones.keys().copied().collect()
    }

    /// Puts what `from`'s endpoint sent on the network (for a test that drives an
    /// endpoint by hand instead of through [`Node`]).
    pub fn route(&mut self, from: SocketAddr, transmit: Transmit) {
        self.send_raw(from, transmit.peer.addr, transmit.bytes);
    }

    /// Puts any bytes on the network, from any address (malformed messages included).
    pub fn send_raw(&mut self, from: SocketAddr, to: SocketAddr, bytes: impl Into<Bytes>) {
        let datagram = Datagram {
            from,
            to,
            bytes: bytes.into(),
        };
        let dropped = self.drop_filter.as_mut().is_some_and(|f| f(&datagram));
        self.trace.push(TraceEntry {
            at: self.elapsed(),
            datagram: datagram.clone(),
            dropped,
        });
        if !dropped {
            self.queue.push_back(datagram);
        }
    }

    /// Takes every datagram waiting for `addr` (one that no phone or node present has
    /// taken), in sending order.
    pub fn take_for(&mut self, addr: SocketAddr) -> Vec<Datagram> {
        let (mine, rest): (VecDeque<_>, VecDeque<_>) =
            self.queue.drain(..).partition(|d| d.to == addr);
        self.queue = rest;
        mine.into()
    }

    /// How many datagrams wait for `addr`.
    pub fn pending_for(&self, addr: SocketAddr) -> usize {
        self.queue.iter().filter(|d| d.to == addr).count()
    }

    /// Drops every datagram from now on for which `filter` is true (a lossy link, a
    /// peer that never answers). Dropped datagrams stay in the trace, marked.
    pub fn drop_where(&mut self, filter: impl FnMut(&Datagram) -> bool + 'static) {
        self.drop_filter = Some(Box::new(filter));
    }

    /// Ends [`Net::drop_where`].
    pub fn stop_dropping(&mut self) {
        self.drop_filter = None;
    }

    /// Every datagram sent so far, in order.
    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }

    /// Forgets the trace.
    pub fn clear_trace(&mut self) {
        self.trace.clear();
    }

    /// The trace as lines `+12.500s 127.0.0.1:5061 -> 127.0.0.2:5062 INVITE sip:… SIP/2.0`.
    pub fn trace_text(&self) -> String {
        trace_lines(&self.trace)
    }

    /// The start lines of the datagrams sent from `from` to `to`, in order.
    pub fn lines_between(&self, from: SocketAddr, to: SocketAddr) -> Vec<String> {
        self.trace
            .iter()
            .filter(|e| e.datagram.from == from && e.datagram.to == to)
            .map(|e| e.datagram.first_line())
            .collect()
    }

    /// One round among the phones: see [`Net::step_with`].
    pub fn step(&mut self) -> bool {
        self.step_with(&mut [])
    }

    /// One round among the phones and `nodes`: due timers fire, every party's events
    /// go to its transaction user and its output onto the network, then every datagram
    /// whose destination is present is delivered. True if anything happened.
    pub fn step_with(&mut self, nodes: &mut [&mut dyn Node]) -> bool {
        self.check_addresses(nodes);
        // Timers that fire count as movement only through what they make the nodes do.
        self.fire_due_timers(nodes);
        let now = self.now;
        let mut moved = false;
        for phone in self.phones.values_mut() {
            phone.set_now(now);
        }
        let mut out = Vec::new();
        for phone in self.phones.values_mut() {
            moved |= pump(now, phone, &mut out);
        }
        for node in nodes.iter_mut() {
            moved |= pump(now, &mut **node, &mut out);
        }
        for (from, transmit) in out {
            self.route(from, transmit);
        }
        let queue = std::mem::take(&mut self.queue);
        for datagram in queue {
            let peer = datagram.peer();
            if let Some(phone) = self.phones.get_mut(&datagram.to) {
                phone
                    .endpoint_mut()
                    .handle_datagram(now, peer, &datagram.bytes);
                moved = true;
            } else if let Some(node) = nodes.iter_mut().find(|n| n.addr() == datagram.to) {
                node.endpoint_mut()
                    .handle_datagram(now, peer, &datagram.bytes);
                moved = true;
            } else {
                self.queue.push_back(datagram);
            }
        }
        moved
    }

    /// Runs rounds among the phones until nothing moves: see [`Net::settle_with`].
    pub fn settle(&mut self) -> usize {
        self.settle_with(&mut [])
    }

    /// Runs rounds among the phones and `nodes` until nothing moves, without moving
    /// the clock; returns how many rounds moved something. Panics (with the trace) if
    /// the network is still busy after the round limit.
    pub fn settle_with(&mut self, nodes: &mut [&mut dyn Node]) -> usize {
        for round in 0..self.round_limit {
            if !self.step_with(nodes) {
                return round;
            }
        }
        panic!(
            "the network did not settle after {} rounds at +{:?}; last datagrams:\n{}",
            self.round_limit,
            self.elapsed(),
            self.trace_tail()
        );
    }

    /// Moves the clock by `d` among the phones: see [`Net::advance_with`].
    pub fn advance(&mut self, d: Duration) {
        self.advance_with(d, &mut [])
    }

    /// Moves the clock by `d`, stopping at every timer deadline of the phones and
    /// `nodes` on the way (retransmissions, transaction timeouts, ring timers, glare
    /// back-offs) and settling the network at each. Panics if a deadline stays due
    /// after its timers ran (a timer that never clears).
    pub fn advance_with(&mut self, d: Duration, nodes: &mut [&mut dyn Node]) {
        let target = self.now + d;
        self.settle_with(nodes);
        let mut visits = 0;
        while let Some(next) = self.next_deadline(nodes).filter(|&t| t <= target) {
            visits += 1;
            if visits > self.timer_limit {
                panic!(
                    "a timer does not clear: still due at {:?} (+{:?}) after {} visits; \
                     last datagrams:\n{}",
                    next,
                    self.elapsed(),
                    self.timer_limit,
                    self.trace_tail()
                );
            }
            self.now = self.now.max(next);
            self.settle_with(nodes);
        }
        self.now = target;
        self.settle_with(nodes);
    }

    /// Advances among the phones in steps of `tick` until `done(net)` holds, for at
    /// most `limit`; returns whether it held.
    pub fn advance_until(
        &mut self,
        limit: Duration,
        tick: Duration,
        mut done: impl FnMut(&Net) -> bool,
    ) -> bool {
        let tick = tick.max(Duration::from_millis(1));
        let end = self.now + limit;
        self.settle();
        while !done(self) {
            if self.now >= end {
                return false;
            }
            let step = tick.min(end - self.now);
            self.advance(step);
        }
        true
    }

    /// The earliest deadline of any phone or node.
    pub fn next_deadline(&self, nodes: &[&mut dyn Node]) -> Option<Instant> {
        let phones = self.phones.values().filter_map(deadline);
        let others = nodes.iter().filter_map(|n| deadline(&**n));
        phones.chain(others).min()
    }

    /// Runs the timers due at the current time.
    fn fire_due_timers(&mut self, nodes: &mut [&mut dyn Node]) {
        let now = self.now;
        if self.next_deadline(nodes).is_none_or(|t| t > now) {
            return;
        }
        for phone in self.phones.values_mut() {
            if deadline(phone).is_some_and(|t| t <= now) {
                fire(now, phone);
            }
        }
        for node in nodes.iter_mut() {
            if deadline(&**node).is_some_and(|t| t <= now) {
                fire(now, &mut **node);
            }
        }
    }

    fn check_addresses(&self, nodes: &[&mut dyn Node]) {
        for (i, node) in nodes.iter().enumerate() {
            let addr = node.addr();
            assert!(
                !self.phones.contains_key(&addr),
                "node {i} has the address of a phone ({addr})"
            );
            assert!(
                !nodes[..i].iter().any(|n| n.addr() == addr),
                "two nodes have the address {addr}"
            );
        }
    }

    fn trace_tail(&self) -> String {
        let from = self.trace.len().saturating_sub(TRACE_TAIL);
        trace_lines(&self.trace[from..])
    }
}

impl Index<SocketAddr> for Net {
    type Output = Phone;

    fn index(&self, addr: SocketAddr) -> &Phone {
        self.phone(addr)
    }
}

impl IndexMut<SocketAddr> for Net {
    fn index_mut(&mut self, addr: SocketAddr) -> &mut Phone {
        self.phone_mut(addr)
    }
}

fn deadline(node: &(impl Node + ?Sized)) -> Option<Instant> {
    match (node.endpoint().poll_timeout(), node.poll_timeout()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn fire(now: Instant, node: &mut (impl Node + ?Sized)) {
    node.endpoint_mut().handle_timeout(now);
    node.handle_timeout(now);
}

/// Hands `node`'s events to it and collects its transmits until both run dry; true if
/// there was any.
fn pump(
    now: Instant,
    node: &mut (impl Node + ?Sized),
    out: &mut Vec<(SocketAddr, Transmit)>,
) -> bool {
    let from = node.addr();
    let mut moved = false;
    // Each event may cause transmits and further events; the bound catches a
    // transaction user that keeps feeding itself.
    for _ in 0..DEFAULT_ROUND_LIMIT {
        let mut any = false;
        while let Some(event) = node.endpoint_mut().poll_event() {
            node.on_event(now, event);
            any = true;
        }
        while let Some(t) = node.endpoint_mut().poll_transmit() {
            out.push((from, t));
            any = true;
        }
        if !any {
            return moved;
        }
        moved = true;
    }
    panic!("{from} keeps producing events: its transaction user feeds itself");
}

fn trace_lines(entries: &[TraceEntry]) -> String {
    let mut s = String::new();
    for e in entries {
        let _ = writeln!(
            s,
            "+{:>8.3}s {} -> {} {}{}",
            e.at.as_secs_f64(),
            e.datagram.from,
            e.datagram.to,
            e.datagram.first_line(),
            if e.dropped { "  [dropped]" } else { "" }
        );
    }
    s
}
