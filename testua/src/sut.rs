//! A ready-made [`Node`] for a system under test: an endpoint and the transaction user
//! that drives it, joined by plain functions (no trait to implement, so it works from
//! any crate whatever owns the transaction user's type).

use std::fmt;
use std::net::SocketAddr;
use std::time::Instant;

use sotto_sip::endpoint::{Endpoint, Event};

use crate::net::Node;

/// Hands an event to the transaction user, with the endpoint to act on.
pub type OnEvent<T> = fn(&mut T, Instant, Event, &mut Endpoint);
/// Runs the transaction user's due timers.
pub type OnTimeout<T> = fn(&mut T, Instant, &mut Endpoint);
/// The transaction user's next deadline.
pub type PollTimeout<T> = fn(&T) -> Option<Instant>;

/// The system under test on a [`crate::Net`]: its [`Endpoint`] and its transaction
/// user `tu`, both public so the test can act on them between steps.
///
/// ```
/// use std::net::SocketAddr;
/// use std::time::Instant;
/// use sotto_sip::endpoint::{make_response, Endpoint, EndpointConfig, Event};
/// use sotto_testua::{Net, PhoneConfig, Sut};
///
/// /// The system under test: refuses every call, counting them.
/// #[derive(Default)]
/// struct Refuser {
///     refused: usize,
/// }
///
/// fn on_event(tu: &mut Refuser, now: Instant, event: Event, ep: &mut Endpoint) {
///     if let Event::Request { tx, request, .. } = event {
///         tu.refused += 1;
///         ep.respond(now, tx, make_response(&request, 480, Some("sut")));
///     }
/// }
///
/// let sut_addr: SocketAddr = "127.0.0.100:5060".parse().unwrap();
/// let config = EndpointConfig {
///     timers: Default::default(),
///     via_host: sut_addr.to_string(),
///     user_agent: None,
///     allow: "INVITE, ACK, CANCEL, BYE".into(),
/// };
/// let mut sut = Sut::new(sut_addr, Endpoint::new(config, 1), Refuser::default(), on_event);
///
/// let mut net = Net::new();
/// let alice = net.add_phone(PhoneConfig::new("alice", "127.0.0.1:5060".parse().unwrap()));
/// let call = net[alice].call("sip:agent@127.0.0.100:5060", true);
/// net.settle_with(&mut [&mut sut]);
/// assert_eq!(sut.tu.refused, 1);
/// assert_eq!(net[alice].get(call).final_code(), Some(480));
/// assert!(net[alice].get(call).state().is_terminated());
/// ```
///
/// For sotto's call control (`CallControl` implements `TransactionUser`):
///
/// ```text
/// let mut sut = Sut::new(addr, endpoint, call_control, |cc, now, ev, ep| cc.on_event(now, ev, ep))
///     .with_timers(|cc, now, ep| cc.handle_timeout(now, ep), |cc| cc.poll_timeout());
/// ```
pub struct Sut<T> {
    /// Where the system under test listens.
    pub addr: SocketAddr,
    /// Its endpoint.
    pub endpoint: Endpoint,
    /// Its transaction user.
    pub tu: T,
    on_event: OnEvent<T>,
    on_timeout: Option<OnTimeout<T>>,
    poll_timeout: Option<PollTimeout<T>>,
}

impl<T> Sut<T> {
    /// `tu` driving `endpoint` at `addr`; `on_event` hands it the endpoint's events.
    pub fn new(addr: SocketAddr, endpoint: Endpoint, tu: T, on_event: OnEvent<T>) -> Self {
        Sut {
            addr,
            endpoint,
            tu,
            on_event,
            on_timeout: None,
            poll_timeout: None,
        }
    }

    /// The transaction user's own timers: `handle` runs the due ones, `poll` says when
    /// the next is due.
    pub fn with_timers(mut self, handle: OnTimeout<T>, poll: PollTimeout<T>) -> Self {
        self.on_timeout = Some(handle);
        self.poll_timeout = Some(poll);
        self
    }

    /// Runs `f` on the transaction user with the endpoint, as a command from the test
    /// would (an API call of the system under test); the network carries what it sends
    /// at its next step.
    pub fn act<R>(&mut self, f: impl FnOnce(&mut T, &mut Endpoint) -> R) -> R {
        f(&mut self.tu, &mut self.endpoint)
    }
}

impl<T> fmt::Debug for Sut<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sut")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl<T> Node for Sut<T> {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn endpoint_mut(&mut self) -> &mut Endpoint {
        &mut self.endpoint
    }

    fn on_event(&mut self, now: Instant, event: Event) {
        (self.on_event)(&mut self.tu, now, event, &mut self.endpoint);
    }

    fn handle_timeout(&mut self, now: Instant) {
        if let Some(f) = self.on_timeout {
            f(&mut self.tu, now, &mut self.endpoint);
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.poll_timeout.and_then(|f| f(&self.tu))
    }
}
