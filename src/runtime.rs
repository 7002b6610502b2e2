//! The thin runtime around the call core: it feeds [`CallCore`] and carries
//! its outputs out — binds RTP ports, drives the media workers' rooms,
//! starts recordings, refreshes the views the API reads, writes the store.
//!
//! It runs inside the SIP driver's task ([`crate::sip_driver`]), as that
//! driver's transaction user: everything here happens on one task, in the
//! order the core asked. See `docs/ARCHITECTURE.md` ("Threads").

use crate::callmodel::{Action, CallEventView};
use crate::calls::control::ControlView;
use crate::calls::{ActionArgs, CallCore, CallId, ControlError, LegId, MediaOp, Output};
use crate::contact::{
    AgentId, Arrival, CcError, ContactCentre, ContactId, Customer, OfferId, OfferView, Requested,
    Revoked,
};
use crate::live::{LiveCalls, Registrations};
use crate::media_rt::{BoundLeg, LegCounters, LegKey, LegRemote, MediaEngine, MediaEvent, Room};
use crate::recording::{Recorder, RecorderHandle};
use crate::store::StoreHandle;
use sotto_sip::endpoint::{Endpoint, Event};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

/// How an agent's request is answered.
pub type ControlReply = oneshot::Sender<Result<ControlView, ControlError>>;

/// What other tasks (the API, the signal handler, the media event thread)
/// send the call core's task.
pub enum Command {
    /// Stop taking calls, hang up the live ones, finish.
    Shutdown,
    /// A call's media noticed something (a DTMF digit).
    Media(MediaEvent),
    /// An agent's action on a call.
    Control {
        /// The call.
        call: CallId,
        /// What to do.
        action: Action,
        /// With what.
        args: ActionArgs,
        /// Where the answer goes.
        reply: ControlReply,
    },
    /// An agent asks for a state (available, idle, logged out).
    AgentState {
        /// The agent.
        agent: AgentId,
        /// What they ask for.
        requested: Requested,
        /// Where the answer goes: the agent's view.
        reply: oneshot::Sender<Result<AgentView, CcError>>,
    },
    /// An agent gives the wrap-up of a contact.
    WrapUp {
        /// The agent.
        agent: AgentId,
        /// The contact.
        contact: ContactId,
        /// The reasons.
        reasons: Vec<String>,
        /// Where the answer goes: the agent's view.
        reply: oneshot::Sender<Result<AgentView, CcError>>,
    },
    /// The contact centre's figures (for `/metrics`).
    CentreStats {
        /// Where the answer goes.
        reply: oneshot::Sender<crate::contact::Stats>,
    },
    /// An agent's state and pending offers.
    Agent {
        /// The agent.
        agent: AgentId,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<AgentView, CcError>>,
    },
    /// An agent places a call.
    Originate {
        /// The agent (a user name), whose phone rings first.
        agent: String,
        /// A user's name or a dial number.
        target: String,
        /// Where the answer goes.
        reply: ControlReply,
    },
}

/// An agent as the API shows them: state, pending offers (in the order the
/// desktop lists them), what they owe a wrap-up for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AgentView {
    /// The agent.
    pub id: AgentId,
    /// Their state.
    pub state: crate::contact::AgentState,
    /// Offers ringing, e-mail first, calls last, earliest first within one.
    pub offers: Vec<OfferView>,
    /// How many offers are pending (a desktop shows "1–5 of N").
    pub offers_total: usize,
    /// Contacts whose wrap-up is owed.
    pub wrap_up_owed: Vec<ContactId>,
}

/// The contact centre as the runtime drives it beside the call core: which
/// contact is which call, and which offer rings on it.
struct Centre {
    cc: ContactCentre,
    /// Entry point id → the queue its contacts wait in.
    entry_queues: HashMap<String, crate::contact::QueueId>,
    call_of: HashMap<ContactId, CallId>,
    contact_of: HashMap<CallId, ContactId>,
    /// The offer ringing on a call, and to whom.
    offer_on: HashMap<CallId, (OfferId, AgentId)>,
    /// Agents whose phone is registered.
    registered: std::collections::HashSet<String>,
    /// The agents in each call under control, as its last view named them.
    agents_in: HashMap<String, Vec<String>>,
    /// How many calls each agent is in.
    engaged: HashMap<String, usize>,
    /// Distinguishes this process's contacts in the store.
    run_id: String,
}

/// One leg's media as the runtime holds it.
struct RuntimeLeg {
    /// Bound, not yet in a room.
    pending: Option<BoundLeg>,
    /// Where the leg sends; read by its worker.
    remote: watch::Sender<LegRemote>,
    counters: Arc<LegCounters>,
    /// Its place in a room, once added.
    key: Option<(CallId, LegKey)>,
}

/// One call's room and recording.
struct CallMedia {
    room: Room,
    recording: Option<RecorderHandle>,
    /// Media events name a leg by its key's index.
    by_key: HashMap<usize, LegId>,
}

/// The runtime: the core and what carries its outputs out.
pub struct Runtime {
    core: CallCore,
    media: Arc<MediaEngine>,
    live: LiveCalls,
    registrations: Registrations,
    store: StoreHandle,
    recorder: Option<Recorder>,
    media_ip: IpAddr,
    legs: HashMap<LegId, RuntimeLeg>,
    calls: HashMap<CallId, CallMedia>,
    /// A room's id (in media events) → its call.
    rooms: HashMap<u64, CallId>,
    /// Ports the runtime could not bind, to report to the core.
    bind_failures: Vec<LegId>,
    centre: Centre,
}

impl Runtime {
    /// A runtime for `core`; RTP binds on `media_ip`.
    pub fn new(
        core: CallCore,
        media: Arc<MediaEngine>,
        live: LiveCalls,
        registrations: Registrations,
        store: StoreHandle,
        media_ip: IpAddr,
        cc: ContactCentre,
    ) -> Runtime {
        // The same run id as the call core's records: the epoch's wall time.
        let run_id = cc.epoch_unix_ms().to_string();
        let entry_queues = cc
            .directory()
            .entry_points
            .values()
            .map(|e| (e.id.0.clone(), e.queue.clone()))
            .collect();
        Runtime {
            core,
            media,
            live,
            registrations,
            store,
            recorder: None,
            media_ip,
            legs: HashMap::new(),
            calls: HashMap::new(),
            rooms: HashMap::new(),
            bind_failures: Vec::new(),
            centre: Centre {
                cc,
                entry_queues,
                call_of: HashMap::new(),
                contact_of: HashMap::new(),
                offer_on: HashMap::new(),
                registered: Default::default(),
                agents_in: HashMap::new(),
                engaged: HashMap::new(),
                run_id,
            },
        }
    }

    /// Records calls with `recorder` (when `routes.record` is on).
    pub fn with_recorder(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Calls still in media (for the shutdown log).
    pub fn call_count(&self) -> usize {
        self.calls.len()
    }

    /// Carries out everything the call core and the contact centre asked,
    /// feeding each the other's news (and failed binds back to the core),
    /// until neither asks anything more.
    fn flush(&mut self, now: Instant, ep: &mut Endpoint) {
        for _ in 0..64 {
            let mut busy = false;
            while let Some(output) = self.core.poll_output() {
                busy = true;
                self.carry_out(now, output);
            }
            for leg in std::mem::take(&mut self.bind_failures) {
                busy = true;
                self.core.on_bind_failed(now, leg, ep);
            }
            while let Some(output) = self.centre.cc.poll_output() {
                busy = true;
                self.centre_output(now, output, ep);
            }
            if !busy {
                return;
            }
        }
    }

    /// What the contact centre asks: ring an agent for a queued call, stop
    /// the ringing, and what the desktops and records will be told.
    fn centre_output(&mut self, now: Instant, output: crate::contact::Output, ep: &mut Endpoint) {
        use crate::contact::Output as C;
        match output {
            C::Offer(offer) => {
                let Some(&call) = self.centre.call_of.get(&offer.contact) else {
                    // Its call is gone: the customer left, not the agent.
                    self.centre.cc.customer_left(now, offer.contact);
                    return;
                };
                tracing::info!(%call, agent = %offer.agent, offer = %offer.offer, "offer");
                self.centre
                    .offer_on
                    .insert(call, (offer.offer, offer.agent.clone()));
                match self.core.offer_agent(now, call, &offer.agent.0, ep) {
                    Ok(()) => {}
                    Err(ControlError::NotFound(_)) => {
                        self.centre.offer_on.remove(&call);
                        self.centre.cc.customer_left(now, offer.contact);
                    }
                    Err(e) => {
                        tracing::warn!(%call, "offer cannot ring: {e:?}");
                        self.centre.offer_on.remove(&call);
                        let _ = self.centre.cc.refuse(now, offer.offer);
                    }
                }
            }
            C::Revoke {
                offer,
                contact,
                agent,
                reason,
            } => {
                tracing::info!(%contact, %agent, %offer, ?reason, "offer taken back");
                let Some(&call) = self.centre.call_of.get(&contact) else {
                    return;
                };
                if self.centre.offer_on.get(&call).map(|o| o.0) == Some(offer) {
                    self.centre.offer_on.remove(&call);
                    if reason == Revoked::NoAnswer {
                        self.core.withdraw_offer(now, call, ep);
                    }
                }
            }
            C::Assigned { contact, agent, .. } => {
                tracing::info!(%contact, %agent, "contact assigned");
            }
            C::AgentState(change) => {
                tracing::info!(agent = %change.agent, state = ?change.state, "agent state");
                self.store.write(crate::store::Write::AgentState {
                    agent: change.agent.0.clone(),
                    at: change.at_unix_ms as i64,
                    state: serde_json::to_string(&change.state).unwrap_or_default(),
                });
            }
            C::Record(record) => {
                self.store
                    .write(crate::store::Write::InsertContact(Box::new(
                        crate::store::ContactRow {
                            id: format!("{}-{}", self.centre.run_id, record.id),
                            channel: to_json(&record.channel).trim_matches('"').to_string(),
                            queue: record.queue.0.clone(),
                            entry_point: record.entry_point.as_ref().map(|e| e.0.clone()),
                            arrived_at: record.arrived_at_unix_ms as i64,
                            agent: record.agent.as_ref().map(|a| a.0.clone()),
                            answered_at: record.answered_at_unix_ms.map(|t| t as i64),
                            ended_at: record.ended_at_unix_ms.map(|t| t as i64),
                            abandoned: record.abandoned,
                            wrap_up: to_json(&record.wrap_up),
                            wrap_up_ms: record.wrap_up_ms.map(|t| t as i64),
                            wrap_up_timed_out: record.wrap_up_timed_out,
                            offers: to_json(&record.offers),
                        },
                    )));
                tracing::info!(contact = %record.id, abandoned = record.abandoned, wrap_up = ?record.wrap_up, "contact finished");
                if let Some(call) = self.centre.call_of.remove(&record.id) {
                    self.centre.contact_of.remove(&call);
                    self.centre.offer_on.remove(&call);
                }
            }
        }
    }

    /// A call event of a queued call, for the contact centre.
    fn call_event_to_centre(&mut self, now: Instant, call: CallId, event: &CallEventView) {
        let Some(&contact) = self.centre.contact_of.get(&call) else {
            return;
        };
        match event {
            CallEventView::Connected => {
                if let Some((offer, _)) = self.centre.offer_on.remove(&call) {
                    if self.centre.cc.accept(now, offer).is_err() {
                        // Answered after RONA took the offer back: the call
                        // core still bridged it; the contact centre knows
                        // nothing of it, so it is left to the agent to end.
                        tracing::warn!(%call, %offer, "answered after the offer was taken back");
                    }
                }
            }
            // Only the offer ringing now: a withdrawn one's failure comes
            // back after the next agent's offer was made.
            CallEventView::OfferFailed { user, .. }
                if self
                    .centre
                    .offer_on
                    .get(&call)
                    .is_some_and(|o| o.1 .0 == *user) =>
            {
                if let Some((offer, _)) = self.centre.offer_on.remove(&call) {
                    let _ = self.centre.cc.refuse(now, offer);
                }
            }
            CallEventView::WrapUp { .. } => self.centre.cc.ended(now, contact),
            CallEventView::Ended { .. } => self.centre.cc.customer_left(now, contact),
            _ => {}
        }
    }

    /// Keeps the contact centre told which agents are in calls: a call
    /// `call` now has `agents` in it.
    fn engage(&mut self, now: Instant, call: &str, agents: Vec<String>) {
        let c = &mut self.centre;
        let before = if agents.is_empty() {
            c.agents_in.remove(call).unwrap_or_default()
        } else {
            c.agents_in
                .insert(call.to_string(), agents.clone())
                .unwrap_or_default()
        };
        if before == agents {
            return;
        }
        for a in &before {
            if let Some(n) = c.engaged.get_mut(a) {
                *n -= 1;
                if *n == 0 {
                    c.engaged.remove(a);
                    c.cc.set_engaged(now, &AgentId(a.clone()), false);
                }
            }
        }
        for a in agents {
            let n = c.engaged.entry(a.clone()).or_insert(0);
            *n += 1;
            if *n == 1 {
                c.cc.set_engaged(now, &AgentId(a), true);
            }
        }
    }

    fn agent_view(&self, agent: &AgentId) -> Result<AgentView, CcError> {
        let cc = &self.centre.cc;
        let state = cc
            .agent_state(agent)
            .ok_or_else(|| CcError::NotFound(format!("no agent {agent}")))?;
        let offers = cc.pending_offers(agent);
        Ok(AgentView {
            id: agent.clone(),
            state,
            offers_total: offers.len(),
            offers,
            wrap_up_owed: cc.wrap_up_owed(agent),
        })
    }

    fn carry_out(&mut self, now: Instant, output: Output) {
        match output {
            Output::Media(op) => self.media_op(op),
            Output::Publish { view, legs } => {
                let agents = agents_of(&view);
                self.engage(now, &view.id, agents);
                let counters = legs
                    .iter()
                    .map(|l| {
                        self.legs
                            .get(l)
                            .map(|m| m.counters.clone())
                            .unwrap_or_default()
                    })
                    .collect();
                self.live.insert_with_counters(*view, counters);
            }
            Output::Ended { call, record } => {
                self.engage(now, &call.to_string(), Vec::new());
                self.live.remove(&call.to_string());
                self.store.record_call_start(record);
            }
            Output::Event { call, event } => {
                tracing::debug!(%call, ?event, "call event");
                self.call_event_to_centre(now, call, &event);
            }
            Output::Registrations(views) => {
                let registered: std::collections::HashSet<String> = views
                    .iter()
                    .filter_map(|v| {
                        let user = v.aor.strip_prefix("sip:")?.split('@').next()?;
                        Some(user.to_string())
                    })
                    .collect();
                let agents: Vec<AgentId> =
                    self.centre.cc.directory().agents.keys().cloned().collect();
                for a in agents {
                    let now_reg = registered.contains(&a.0);
                    if now_reg != self.centre.registered.contains(&a.0) {
                        self.centre.cc.set_reachable(now, &a, now_reg);
                    }
                }
                self.centre.registered = registered;
                self.registrations.set(views);
            }
            Output::Queued {
                call,
                entry_point,
                number,
                name,
            } => {
                let Some(queue) = self.centre.entry_queues.get(&entry_point).cloned() else {
                    tracing::warn!(%call, entry_point, "entry point with no queue");
                    return;
                };
                let arrival = Arrival {
                    queue,
                    entry_point: Some(entry_point.as_str().into()),
                    customer: Customer {
                        number: Some(number),
                        name,
                        email: None,
                    },
                    variables: Default::default(),
                };
                match self.centre.cc.arrive(now, arrival) {
                    Ok(contact) => {
                        tracing::info!(%call, %contact, entry_point, "queued");
                        self.centre.call_of.insert(contact, call);
                        self.centre.contact_of.insert(call, contact);
                    }
                    Err(e) => tracing::warn!(%call, "cannot queue: {e:?}"),
                }
            }
        }
    }

    fn media_op(&mut self, op: MediaOp) {
        match op {
            MediaOp::Bind { leg, port } => {
                match BoundLeg::bind(self.media_ip, port, sotto_media::codec::Codec::Pcmu) {
                    Some(bound) => {
                        let media = RuntimeLeg {
                            remote: bound.remote(),
                            counters: bound.counters.clone(),
                            pending: Some(bound),
                            key: None,
                        };
                        self.legs.insert(leg, media);
                    }
                    None => self.bind_failures.push(leg),
                }
            }
            MediaOp::Remote { leg, remote } => {
                if let Some(m) = self.legs.get(&leg) {
                    m.remote.send_replace(remote);
                }
            }
            MediaOp::OpenRoom { call } => {
                let room = self.media.room();
                self.rooms.insert(room.id(), call);
                self.calls.insert(
                    call,
                    CallMedia {
                        room,
                        recording: None,
                        by_key: HashMap::new(),
                    },
                );
            }
            MediaOp::AddLeg { call, leg, opts } => {
                let (Some(c), Some(m)) = (self.calls.get_mut(&call), self.legs.get_mut(&leg))
                else {
                    return;
                };
                let Some(bound) = m.pending.take() else {
                    return;
                };
                match c.room.add_leg(bound, opts) {
                    Ok(key) => {
                        m.key = Some((call, key));
                        c.by_key.insert(key.index(), leg);
                    }
                    Err(e) => tracing::warn!(%call, %leg, "media: {e}"),
                }
            }
            MediaOp::RemoveLeg { call, leg } => self.take_out(call, leg),
            MediaOp::Release { leg } => {
                if let Some((call, _)) = self.legs.get(&leg).and_then(|m| m.key) {
                    self.take_out(call, leg);
                }
                self.legs.remove(&leg);
            }
            MediaOp::Topology { call, hears } => {
                let Some(c) = self.calls.get(&call) else {
                    return;
                };
                let keys: Vec<(LegKey, Vec<LegKey>)> = hears
                    .iter()
                    .filter_map(|(leg, heard)| {
                        let key = self.key_in(call, *leg)?;
                        let heard = heard.iter().filter_map(|h| self.key_in(call, *h));
                        Some((key, heard.collect()))
                    })
                    .collect();
                let topology: Vec<(LegKey, &[LegKey])> =
                    keys.iter().map(|(k, h)| (*k, h.as_slice())).collect();
                if let Err(e) = c.room.set_topology(&topology) {
                    tracing::debug!(%call, "topology: {e}");
                }
            }
            MediaOp::SendDtmf { call, leg, digits } => {
                let (Some(c), Some(key)) = (self.calls.get(&call), self.key_in(call, leg)) else {
                    return;
                };
                for d in digits.chars() {
                    if let Some(digit) = sotto_media::dtmf::Dtmf::from_char(d) {
                        let _ = c.room.send_dtmf(key, digit, Duration::from_millis(100));
                    }
                }
            }
            MediaOp::StartRecording {
                call,
                name,
                left,
                right,
            } => {
                let Some(recorder) = self.recorder.clone() else {
                    return;
                };
                let (left, right) = (self.keys_in(call, &left), self.keys_in(call, &right));
                let Some(c) = self.calls.get_mut(&call) else {
                    return;
                };
                let (prod, cons) = crate::recording::ring();
                if c.room.set_record_tap(Some(prod), &left, &right).is_ok() {
                    c.recording = Some(recorder.start(&name, cons));
                }
            }
            MediaOp::RecordSides { call, left, right } => {
                let (left, right) = (self.keys_in(call, &left), self.keys_in(call, &right));
                if let Some(c) = self.calls.get(&call) {
                    let _ = c.room.set_record_sides(&left, &right);
                }
            }
            MediaOp::PauseRecording { call, for_at_most } => {
                if let Some(r) = self.calls.get(&call).and_then(|c| c.recording.as_ref()) {
                    r.pause(for_at_most);
                }
            }
            MediaOp::ResumeRecording { call } => {
                if let Some(r) = self.calls.get(&call).and_then(|c| c.recording.as_ref()) {
                    r.resume();
                }
            }
            MediaOp::CloseRoom { call } => {
                if let Some(c) = self.calls.remove(&call) {
                    self.rooms.remove(&c.room.id());
                    c.room.stop();
                    // Dropping the recording's handle finalizes its file.
                }
            }
        }
    }

    /// `leg`'s key in `call`'s room, if it is there.
    fn key_in(&self, call: CallId, leg: LegId) -> Option<LegKey> {
        match self.legs.get(&leg)?.key {
            Some((c, key)) if c == call => Some(key),
            _ => None,
        }
    }

    fn keys_in(&self, call: CallId, legs: &[LegId]) -> Vec<LegKey> {
        legs.iter().filter_map(|l| self.key_in(call, *l)).collect()
    }

    fn take_out(&mut self, call: CallId, leg: LegId) {
        let Some(key) = self.key_in(call, leg) else {
            return;
        };
        if let Some(m) = self.legs.get_mut(&leg) {
            m.key = None;
        }
        if let Some(c) = self.calls.get_mut(&call) {
            c.by_key.remove(&key.index());
            let _ = c.room.remove_leg(key);
        }
    }

    fn on_media_event(&mut self, now: Instant, event: MediaEvent) {
        let Some(leg) = self
            .rooms
            .get(&event.task)
            .and_then(|call| self.calls.get(call))
            .and_then(|c| c.by_key.get(&event.leg))
            .copied()
        else {
            return;
        };
        self.core.on_dtmf(now, leg, event.digit, event.duration_ms);
    }
}

impl crate::sip_driver::TransactionUser for Runtime {
    type Command = Command;

    fn on_event(&mut self, now: Instant, event: Event, ep: &mut Endpoint) {
        self.core.on_event(now, event, ep);
        self.flush(now, ep);
    }

    fn on_command(&mut self, now: Instant, command: Command, ep: &mut Endpoint) {
        match command {
            Command::Shutdown => self.core.shutdown(now, ep),
            Command::Media(event) => self.on_media_event(now, event),
            Command::Control {
                call,
                action,
                args,
                reply,
            } => {
                let result = self.core.control(now, call, action, args, ep);
                self.flush(now, ep);
                let _ = reply.send(result);
                return;
            }
            Command::AgentState {
                agent,
                requested,
                reply,
            } => {
                let result = self
                    .centre
                    .cc
                    .set_state(now, &agent, requested)
                    .and_then(|()| self.agent_view(&agent));
                self.flush(now, ep);
                let _ = reply.send(result);
                return;
            }
            Command::WrapUp {
                agent,
                contact,
                reasons,
                reply,
            } => {
                let result = self
                    .centre
                    .cc
                    .wrap_up(now, &agent, contact, reasons)
                    .and_then(|()| self.agent_view(&agent));
                self.flush(now, ep);
                let _ = reply.send(result);
                return;
            }
            Command::CentreStats { reply } => {
                let _ = reply.send(self.centre.cc.stats(now));
                return;
            }
            Command::Agent { agent, reply } => {
                let _ = reply.send(self.agent_view(&agent));
                return;
            }
            Command::Originate {
                agent,
                target,
                reply,
            } => {
                let result = self.core.originate(now, &agent, &target, ep);
                self.flush(now, ep);
                let _ = reply.send(result);
                return;
            }
        }
        self.flush(now, ep);
    }

    fn handle_timeout(&mut self, now: Instant, ep: &mut Endpoint) {
        self.core.handle_timeout(now, ep);
        self.centre.cc.handle_timeout(now);
        self.flush(now, ep);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        [self.core.poll_timeout(), self.centre.cc.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    fn is_finished(&self) -> bool {
        self.core.is_finished()
    }
}

/// A record's part as JSON, for the store.
fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The agents a call's view names (its control's parties of kind agent).
fn agents_of(view: &crate::view::CallSummary) -> Vec<String> {
    let Some(parties) = view
        .control
        .as_ref()
        .and_then(|c| c.get("parties"))
        .and_then(|p| p.as_array())
    else {
        return Vec::new();
    };
    let mut agents: Vec<String> = parties
        .iter()
        .filter(|p| p["kind"] == "agent")
        .filter_map(|p| p["user"].as_str().map(str::to_string))
        .collect();
    agents.sort();
    agents.dedup();
    agents
}
