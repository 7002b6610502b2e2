//! The call core: the transaction user of `sotto serve`, sans-IO.
//!
//! Requests are routed by Request-URI user: the `echo` user answers and loops
//! the caller's audio back; a registered user is rung through sotto as a
//! B2BUA (two dialogs, media relayed through sotto, CANCEL and BYE carried
//! across) under the rules of the call model ([`crate::callmodel`]); anything
//! else gets 404. OPTIONS, REGISTER and the protocol's refusals (405, 416,
//! 420, 481, 503) are answered here too.
//!
//! The drive contract (`docs/ARCHITECTURE.md`): the runtime feeds SIP
//! endpoint events ([`CallCore::on_event`]), agents' commands
//! ([`CallCore::control`], [`CallCore::originate`]), media events
//! ([`CallCore::on_dtmf`], [`CallCore::on_bind_failed`]) and
//! [`CallCore::handle_timeout`], always with `now`; SIP goes out through the
//! sans-IO [`Endpoint`] it is handed; everything else is drained with
//! [`CallCore::poll_output`] and [`CallCore::poll_timeout`] says when to
//! call again. Nothing here awaits, locks, reads a clock or touches a socket.

mod auth;
mod b2bua;
mod call;
pub mod control;
mod invite;
pub mod output;
mod publish;
mod refer;
mod refer_out;
mod requests;
mod uas;

#[cfg(test)]
mod tests;

pub use call::{CallKey, LegIx};
pub use control::{ActionArgs, ControlError};
pub use output::{CallId, LegId, MediaOp, Output, PortPool};

use crate::registrar::{ExpiryPolicy, Registrar};
use call::Call;
use sotto_sip::endpoint::{ClientTxId, Endpoint, Event, ServerTxId};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Methods we implement, for Allow headers (RFC 3261 §20.5).
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE, REFER";

/// Settings call control needs, taken from the configuration.
#[derive(Debug, Clone)]
pub struct CallControlConfig {
    /// The address our Contact and SDP advertise.
    pub local: SocketAddr,
    /// Digest realm of our challenges.
    pub realm: String,
    /// Server / User-Agent header.
    pub user_agent: String,
    /// Beyond this many calls, INVITEs get 503.
    pub max_calls: usize,
    /// The echo route's Request-URI user, when the route is on.
    pub echo_user: Option<String>,
    /// name → password
    pub users: HashMap<String, String>,
    /// Request-URI user (or dialled number) → contact-centre entry point:
    /// such calls are answered and wait in a queue for an agent.
    pub entry_points: HashMap<String, String>,
    /// Registrar expiry policy.
    pub expiry: ExpiryPolicy,
    /// Secret for stateless digest nonces.
    pub nonce_secret: Vec<u8>,
    /// Where noise is removed on agents' calls.
    pub denoise: sotto_media::denoise::Denoise,
    /// The echo route: denoised unless `Off`.
    pub echo_denoise: sotto_media::denoise::Denoise,
    /// Challenge algorithms, most preferred first.
    pub auth_algorithms: Vec<sotto_sip::auth::Algorithm>,
    /// Milliseconds since the Unix epoch at `epoch_instant` (wall time for
    /// nonces and call records, without reading a clock in the core).
    pub epoch_unix_ms: u64,
    /// The instant `epoch_unix_ms` was read.
    pub epoch_instant: Instant,
    /// Request-URI template for dial numbers (`{number}`); empty: no trunk.
    pub trunk_uri: String,
    /// Transfers toward the trunk by REFER instead of bridging.
    pub trunk_refer: bool,
    /// Record answered agent calls.
    pub record: bool,
    /// How long a recording pause lasts when the agent names no duration.
    pub recording_auto_resume: Duration,
    /// The longest pause anyone may ask for (longer requests are cut to it).
    pub recording_pause_max: Duration,
}

/// The call core. One per process, owned by the SIP driver's task.
pub struct CallCore {
    cfg: CallControlConfig,
    registrar: Registrar,
    ports: PortPool,
    out: VecDeque<Output>,
    next_call: u64,
    next_leg: u64,
    calls: HashMap<CallId, Call>,
    /// INVITE server transactions of legs we answer.
    by_server_tx: HashMap<ServerTxId, (CallId, LegIx)>,
    /// INVITE client transactions of legs we place.
    by_client_tx: HashMap<ClientTxId, (CallId, LegIx)>,
    /// Dialogs by (Call-ID, our tag).
    by_dialog: HashMap<CallKey, (CallId, LegIx)>,
    /// Media of legs, by id: where each one is now.
    by_leg: HashMap<LegId, (CallId, LegIx)>,
    /// Dialogs of calls that ended, until when a BYE that crossed ours is
    /// still answered 200 rather than 481 (RFC 3261 §15.1.2).
    ended_dialogs: HashMap<CallKey, Instant>,
    draining: Option<Instant>,
    drain_check: Instant,
    /// When legs we place give up ringing, earliest first (stale entries skipped).
    ring_deadlines: std::collections::BinaryHeap<std::cmp::Reverse<(Instant, CallId, LegIx)>>,
    finished: bool,
    rng: u64,
    next_purge: Instant,
    digest: sotto_sip::auth::DigestServer,
    /// Distinguishes this process's call names in the store.
    run_id: String,
    /// Our hold/resume re-INVITEs in flight.
    reinvites: HashMap<ClientTxId, (CallId, LegIx)>,
    /// An attended transfer in progress: the next Dial adopts this leg
    /// (call, leg) instead of placing one, for this transferor.
    adopting: Option<(CallId, LegIx, crate::callmodel::PartyId)>,
    /// Our REFERs in flight (transfers toward SIP peers).
    refers_out: HashMap<ClientTxId, (CallId, LegIx)>,
    /// When REFER subscriptions we accepted expire, earliest first (stale
    /// entries skipped).
    refer_deadlines: std::collections::BinaryHeap<std::cmp::Reverse<(Instant, CallId, LegIx)>>,
    /// When call models want `handle_timeout`, earliest first (stale entries skipped).
    model_deadlines: std::collections::BinaryHeap<std::cmp::Reverse<(Instant, CallId)>>,
}

/// How long an ended call's dialogs are remembered, for BYEs that crossed
/// ours (64×T1, the life of a non-INVITE transaction, RFC 3261 §17.1.2.2).
const ENDED_DIALOG_MEMORY: Duration = Duration::from_secs(32);

/// How long shutdown waits for BYEs to be answered.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// How long a callee may ring before the caller gets 480 (a softphone that
/// neither answers nor refuses must not hold the caller forever).
pub const RING_TIMEOUT: Duration = Duration::from_secs(60);

impl CallCore {
    /// A core with no calls; `ports` hands out RTP ports, `seed` draws tags,
    /// Call-IDs and nonces' salt.
    pub fn new(cfg: CallControlConfig, ports: PortPool, seed: u64) -> Self {
        let next_purge = cfg.epoch_instant + Duration::from_secs(30);
        let digest =
            sotto_sip::auth::DigestServer::new(cfg.realm.clone(), cfg.nonce_secret.clone())
                .with_algorithms(&cfg.auth_algorithms);
        let run_id = format!("{}", cfg.epoch_unix_ms);
        CallCore {
            cfg,
            registrar: Registrar::default(),
            ports,
            out: VecDeque::new(),
            next_call: 1,
            next_leg: 1,
            calls: HashMap::new(),
            by_server_tx: HashMap::new(),
            by_client_tx: HashMap::new(),
            by_dialog: HashMap::new(),
            by_leg: HashMap::new(),
            ended_dialogs: HashMap::new(),
            draining: None,
            drain_check: next_purge,
            ring_deadlines: Default::default(),
            finished: false,
            rng: seed | 1,
            next_purge,
            digest,
            run_id,
            reinvites: HashMap::new(),
            refers_out: HashMap::new(),
            adopting: None,
            refer_deadlines: Default::default(),
            model_deadlines: Default::default(),
        }
    }

    /// The next thing the runtime must do, in order.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// True once shutdown finished: every call gone and our BYEs answered
    /// (or the grace period over).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Calls in progress.
    pub fn call_count(&self) -> usize {
        self.calls.len()
    }

    fn random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn token(&mut self) -> String {
        format!("{:x}", self.random())
    }

    fn unix_ms(&self, now: Instant) -> u64 {
        self.cfg.epoch_unix_ms
            + now
                .saturating_duration_since(self.cfg.epoch_instant)
                .as_millis() as u64
    }
}

impl CallCore {
    /// An event of the SIP endpoint.
    pub fn on_event(&mut self, now: Instant, event: Event, ep: &mut Endpoint) {
        match event {
            Event::Request { tx, request, peer } => self.on_request(now, tx, request, peer, ep),
            Event::Ack { request, .. } => self.on_ack(now, request),
            Event::Cancelled { tx } => self.on_cancelled(now, tx, ep),
            Event::Response { tx, response } => self.on_response(now, tx, response, ep),
            Event::Timeout { tx } => self.on_client_timeout(now, tx, ep),
            Event::AckTimeout { tx } => self.on_ack_timeout(now, tx, ep),
        }
    }

    /// Stop taking calls (new INVITEs get 503) and hang up the live ones.
    pub fn shutdown(&mut self, now: Instant, ep: &mut Endpoint) {
        if self.draining.is_none() {
            tracing::info!(calls = self.calls.len(), "draining: hanging up live calls");
            self.draining = Some(now + DRAIN_GRACE);
            let mut ids: Vec<CallId> = self.calls.keys().copied().collect();
            ids.sort_unstable();
            for id in ids {
                self.hang_up(now, id, "shutdown", ep);
            }
        }
    }

    /// Timers: ring timeouts, the models' timers, registration expiry, drain.
    pub fn handle_timeout(&mut self, now: Instant, ep: &mut Endpoint) {
        while let Some(std::cmp::Reverse((at, id, ix))) = self.ring_deadlines.peek().copied() {
            if at > now {
                break;
            }
            self.ring_deadlines.pop();
            let ringing = self
                .calls
                .get(&id)
                .and_then(|c| c.legs.get(ix))
                .is_some_and(|l| !l.answered && !l.gone);
            if ringing {
                tracing::info!(call = %id, leg = ix, "no answer within {RING_TIMEOUT:?}");
                self.no_answer(now, id, ix, ep);
            }
        }
        self.model_timeouts(now, ep);
        self.refer_timeouts(now, ep);
        if now >= self.next_purge {
            self.ended_dialogs.retain(|_, until| *until > now);
            self.registrar.purge(now);
            self.publish_registrations(now);
            self.next_purge = now + Duration::from_secs(30);
        }
        if let Some(deadline) = self.draining {
            // Done when every call is gone and our BYEs were answered.
            if (self.calls.is_empty() && !ep.has_pending_requests()) || now >= deadline {
                self.finished = true;
            }
            self.drain_check = now + Duration::from_millis(50);
        }
    }

    /// When [`Self::handle_timeout`] wants to run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        // While draining, look again soon: the BYEs' answers end the wait.
        let next = match self.draining {
            Some(d) => d.min(self.next_purge).min(self.drain_check),
            None => self.next_purge,
        };
        let ring = self.ring_deadlines.peek().map(|r| r.0 .0);
        let model = self.model_deadlines.peek().map(|r| r.0 .0);
        let refer = self.refer_deadlines.peek().map(|r| r.0 .0);
        let next = ring.map_or(next, |r| r.min(next));
        let next = refer.map_or(next, |r| r.min(next));
        Some(model.map_or(next, |m| m.min(next)))
    }
}
