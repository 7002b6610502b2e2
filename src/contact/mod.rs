//! The contact-centre core: agents' states, queues, routing with RONA, offers,
//! wrap-up (`docs/contact-centre.md`). Sans-IO like the call core: no SIP, no
//! sockets, no wall clock. The runtime tells it what happened, with `now`
//! (a contact arrived, an agent asked for a state, an offer was accepted or
//! refused, a customer hung up, a contact ended, a wrap-up was given) and
//! drains what to do with [`ContactCentre::poll_output`]: offer a contact to
//! an agent (for a call: ring the agent's phone), take an offer back, tell a
//! desktop its agent's state, store a finished contact's record.
//! [`ContactCentre::poll_timeout`] says when RONA or a wrap-up timeout is due.
//!
//! It does not care which channel a contact came in on: a call, a chat, an
//! e-mail are contacts in queues; only capacity (one call at a time, several
//! chats) and RONA's aftermath differ by channel.

pub mod directory;
mod routing;
#[cfg(test)]
mod tests;

pub use directory::{
    Agent, AgentId, Capacity, Channel, Directory, DirectoryConfig, EntryPoint, EntryPointId, Queue,
    QueueId, Strategy, Team, TeamId, VariableDef, VariableType, Waiting,
};

use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::fmt;
use std::time::Instant;

/// A contact of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct ContactId(pub u64);

impl From<ContactId> for String {
    fn from(id: ContactId) -> String {
        id.to_string()
    }
}

impl TryFrom<String> for ContactId {
    type Error = String;
    fn try_from(s: String) -> Result<ContactId, String> {
        s.strip_prefix('k')
            .and_then(|n| n.parse().ok())
            .map(ContactId)
            .ok_or_else(|| format!("{s:?} is not a contact id (k<number>)"))
    }
}

impl fmt::Display for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "k{}", self.0)
    }
}

/// One offer of a contact to an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct OfferId(pub u64);

impl From<OfferId> for String {
    fn from(id: OfferId) -> String {
        id.to_string()
    }
}

impl TryFrom<String> for OfferId {
    type Error = String;
    fn try_from(s: String) -> Result<OfferId, String> {
        s.strip_prefix('o')
            .and_then(|n| n.parse().ok())
            .map(OfferId)
            .ok_or_else(|| format!("{s:?} is not an offer id (o<number>)"))
    }
}

impl fmt::Display for OfferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "o{}", self.0)
    }
}

/// An agent's state as the desktop shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum AgentState {
    /// Not working: gets nothing.
    LoggedOut,
    /// Waiting for contacts: the only state that gets offers.
    Available,
    /// Logged in, not taking contacts, for this reason.
    Idle {
        /// Why (from the directory's idle reasons, or RONA's).
        reason: String,
    },
    /// An offer rings.
    Reserved,
    /// On a contact.
    Busy,
    /// A contact ended; its wrap-up reason is owed.
    WrapUp,
    /// An offer went unanswered; nothing more until the agent is available again.
    Rona,
}

/// What an agent may ask to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Requested {
    /// Log out.
    LoggedOut,
    /// Take contacts.
    Available,
    /// Take no contacts, for this reason.
    Idle {
        /// One of the directory's idle reasons.
        reason: String,
    },
}

/// The idle reason an agent gets after a call it did not answer (RONA).
pub const RONA_REASON: &str = "rona";

/// Stable ids of the rules that refuse an agent's request (the API answers
/// 409 with them).
pub mod rule {
    /// Logging out while an offer rings.
    pub const OFFER_RINGING: &str = "offer-ringing";
    /// Logging out while a contact is connected.
    pub const CONTACT_IN_PROGRESS: &str = "contact-in-progress";
    /// Logging out or taking contacts before the wrap-up is given.
    pub const WRAP_UP_PENDING: &str = "wrap-up-pending";
    /// A wrap-up for a contact the agent does not owe one for.
    pub const NO_WRAP_UP_OWED: &str = "no-wrap-up-owed";
    /// An offer that is no longer pending (taken back, abandoned, accepted).
    pub const OFFER_GONE: &str = "offer-gone";
}

/// Why a request was not carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CcError {
    /// No such agent, queue, contact or offer (404).
    NotFound(String),
    /// The request itself is wrong: an unknown reason, a channel that does
    /// not fit (400).
    BadRequest(String),
    /// A rule refused it; nothing changed (409).
    Refused {
        /// The rule's stable id ([`rule`]).
        rule: &'static str,
        /// For a person.
        message: String,
    },
}

fn refused(rule: &'static str, message: impl Into<String>) -> CcError {
    CcError::Refused {
        rule,
        message: message.into(),
    }
}

/// Who the customer is, as far as the channel tells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// A phone number (the caller's).
    pub number: Option<String>,
    /// A display name.
    pub name: Option<String>,
    /// An e-mail address.
    pub email: Option<String>,
}

/// A contact coming in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    /// The queue it waits in.
    pub queue: QueueId,
    /// The entry point it came in at, if any.
    pub entry_point: Option<EntryPointId>,
    /// Who the customer is.
    pub customer: Customer,
    /// Contact variables set on arrival.
    pub variables: BTreeMap<String, String>,
}

/// An offer as the agent's desktop shows it (the popover).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferView {
    /// The offer.
    pub offer: OfferId,
    /// The contact offered.
    pub contact: ContactId,
    /// To whom.
    pub agent: AgentId,
    /// Its channel.
    pub channel: Channel,
    /// Its queue's id.
    pub queue: QueueId,
    /// Its queue's name.
    pub queue_name: String,
    /// The customer's number, name or id (only the last four digits of a
    /// number when masking is on).
    pub customer: String,
    /// The customer's e-mail, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// When the contact arrived (the desktop shows the time in queue).
    pub queued_since_unix_ms: u64,
    /// When the offer was made.
    pub offered_at_unix_ms: u64,
    /// The configured variables shown on offers (never secure ones; at most six).
    pub variables: Vec<(String, String)>,
}

/// Why an offer was taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Revoked {
    /// Not accepted in time (RONA).
    NoAnswer,
    /// The agent (or their phone: 486, 603) refused it.
    Refused,
    /// The customer left.
    Abandoned,
}

/// What happened to one offer, for the contact's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OfferOutcome {
    /// Still ringing.
    Pending,
    /// Accepted.
    Accepted,
    /// Taken back.
    Revoked(Revoked),
}

/// One offer in a contact's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferRecord {
    /// To whom.
    pub agent: AgentId,
    /// When.
    pub at_unix_ms: u64,
    /// How it ended.
    pub outcome: OfferOutcome,
}

/// A finished contact, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRecord {
    /// The contact.
    pub id: ContactId,
    /// Its channel.
    pub channel: Channel,
    /// Its queue.
    pub queue: QueueId,
    /// Its entry point.
    pub entry_point: Option<EntryPointId>,
    /// When it arrived.
    pub arrived_at_unix_ms: u64,
    /// Every offer made, in order.
    pub offers: Vec<OfferRecord>,
    /// Who took it.
    pub agent: Option<AgentId>,
    /// When it was accepted.
    pub answered_at_unix_ms: Option<u64>,
    /// When it ended (or was abandoned).
    pub ended_at_unix_ms: Option<u64>,
    /// The customer left before an agent took it.
    pub abandoned: bool,
    /// The wrap-up reasons given.
    pub wrap_up: Vec<String>,
    /// Time spent in wrap-up.
    pub wrap_up_ms: Option<u64>,
    /// The wrap-up was applied by its timeout, not by the agent.
    pub wrap_up_timed_out: bool,
}

/// One change of an agent's state, as kept in its history and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    /// Whose.
    pub agent: AgentId,
    /// The new state.
    pub state: AgentState,
    /// When.
    pub at_unix_ms: u64,
}

/// What the runtime must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Offer a contact to an agent: tell the desktop; for a call, ring the
    /// agent's phone (answering it is [`ContactCentre::accept`]).
    Offer(OfferView),
    /// Take an offer back: tell the desktop; for a call, stop the ringing.
    Revoke {
        /// The offer.
        offer: OfferId,
        /// Its contact.
        contact: ContactId,
        /// Its agent.
        agent: AgentId,
        /// Why.
        reason: Revoked,
    },
    /// The agent has the contact (for a call: bridge it).
    Assigned {
        /// The offer accepted.
        offer: OfferId,
        /// The contact.
        contact: ContactId,
        /// The agent.
        agent: AgentId,
    },
    /// An agent's state changed.
    AgentState(StateChange),
    /// A contact is finished: store its record.
    Record(ContactRecord),
}

/// Where a contact stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Queued,
    Offered(OfferId),
    Connected,
    WrapUp,
}

#[derive(Debug)]
struct Contact {
    channel: Channel,
    queue: QueueId,
    arrived: Instant,
    customer: Customer,
    variables: BTreeMap<String, String>,
    stage: Stage,
    agent: Option<AgentId>,
    wrap_up_since: Option<Instant>,
    record: ContactRecord,
}

#[derive(Debug)]
struct Offer {
    contact: ContactId,
    agent: AgentId,
    channel: Channel,
    at: Instant,
}

/// An agent's chosen presence (what they asked for, or RONA put them in).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Presence {
    LoggedOut,
    Available,
    Idle(String),
    Rona,
}

#[derive(Debug)]
struct AgentRt {
    presence: Presence,
    /// What the agent asked for during a contact: applies after its wrap-up.
    after_wrap_up: Option<Presence>,
    /// The agent's phone is registered (voice offers need it).
    reachable: bool,
    /// The agent is in a call the contact centre did not offer (a direct
    /// call, a consult): no call is offered on top of it.
    engaged: bool,
    offered: [u8; 4],
    active: [u8; 4],
    offers: Vec<OfferId>,
    wrap_ups: Vec<ContactId>,
    /// Since when the agent has been free: longest-idle routing orders by it.
    free_since: Instant,
    shown: AgentState,
    history: VecDeque<StateChange>,
}

/// One queue's figures, for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    /// The queue.
    pub queue: String,
    /// Contacts waiting now (an offer ringing counts as waiting).
    pub waiting: u64,
    /// How long the oldest of them has waited, in milliseconds.
    pub oldest_wait_ms: u64,
    /// Offers made.
    pub offered: u64,
    /// Offers accepted.
    pub answered: u64,
    /// Contacts whose customer left before an agent took them.
    pub abandoned: u64,
    /// Offers not taken in time or refused.
    pub rona: u64,
}

/// The contact centre's figures, for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Per queue, by id.
    pub queues: Vec<QueueStats>,
    /// How many agents are in each state (`available`, `idle`, …).
    pub agents: BTreeMap<String, u64>,
}

/// At most this many state changes are kept per agent in memory (the store
/// keeps them all).
const HISTORY: usize = 100;

/// Timers, earliest first; stale entries are skipped when they fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Rona(OfferId),
    WrapUp(ContactId),
}

/// The contact-centre core.
pub struct ContactCentre {
    dir: Directory,
    epoch: (Instant, u64),
    agents: HashMap<AgentId, AgentRt>,
    contacts: HashMap<ContactId, Contact>,
    offers: HashMap<OfferId, Offer>,
    waiting: HashMap<QueueId, VecDeque<ContactId>>,
    ready: routing::Ready,
    timers: BinaryHeap<Reverse<(Instant, Timer)>>,
    out: VecDeque<Output>,
    /// Per queue: offered, answered, abandoned, RONA.
    counts: HashMap<QueueId, [u64; 4]>,
    next_contact: u64,
    next_offer: u64,
}

impl ContactCentre {
    /// A centre for `dir`; `epoch` is an instant and the Unix milliseconds it
    /// stands for (wall time for records, without reading a clock). Every
    /// agent starts logged out.
    pub fn new(dir: Directory, epoch: (Instant, u64)) -> Result<ContactCentre, String> {
        dir.check()?;
        let start = epoch.0;
        let agents = dir
            .agents
            .keys()
            .map(|id| {
                let rt = AgentRt {
                    presence: Presence::LoggedOut,
                    after_wrap_up: None,
                    reachable: false,
                    engaged: false,
                    offered: [0; 4],
                    active: [0; 4],
                    offers: Vec::new(),
                    wrap_ups: Vec::new(),
                    free_since: start,
                    shown: AgentState::LoggedOut,
                    history: VecDeque::new(),
                };
                (id.clone(), rt)
            })
            .collect();
        let ready = routing::Ready::new(&dir);
        Ok(ContactCentre {
            dir,
            epoch,
            agents,
            contacts: HashMap::new(),
            offers: HashMap::new(),
            waiting: HashMap::new(),
            ready,
            timers: BinaryHeap::new(),
            out: VecDeque::new(),
            counts: HashMap::new(),
            next_contact: 1,
            next_offer: 1,
        })
    }

    /// The Unix milliseconds its epoch instant stands for.
    pub fn epoch_unix_ms(&self) -> u64 {
        self.epoch.1
    }

    /// The directory it routes with.
    pub fn directory(&self) -> &Directory {
        &self.dir
    }

    /// The next thing the runtime must do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`Self::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    fn unix_ms(&self, t: Instant) -> u64 {
        unix_ms(self.epoch, t)
    }

    fn agent_mut(&mut self, id: &AgentId) -> Result<&mut AgentRt, CcError> {
        self.agents
            .get_mut(id)
            .ok_or_else(|| CcError::NotFound(format!("no agent {id}")))
    }

    /// An agent's state now.
    pub fn agent_state(&self, id: &AgentId) -> Option<AgentState> {
        self.agents.get(id).map(|a| a.shown.clone())
    }

    /// An agent's recent state changes, oldest first.
    pub fn history(&self, id: &AgentId) -> Vec<StateChange> {
        self.agents
            .get(id)
            .map(|a| a.history.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The contacts an agent owes a wrap-up for.
    pub fn wrap_up_owed(&self, id: &AgentId) -> Vec<ContactId> {
        self.agents
            .get(id)
            .map(|a| a.wrap_ups.clone())
            .unwrap_or_default()
    }

    /// Contacts waiting in `queue`, next first.
    pub fn waiting(&self, queue: &QueueId) -> Vec<ContactId> {
        self.waiting
            .get(queue)
            .map(|w| w.iter().copied().collect())
            .unwrap_or_default()
    }

    /// An agent's pending offers, ordered as the desktop lists them: by
    /// channel (e-mail, social, chat, voice), earliest first within one.
    pub fn pending_offers(&self, id: &AgentId) -> Vec<OfferView> {
        let Some(agent) = self.agents.get(id) else {
            return Vec::new();
        };
        let mut offers: Vec<(Channel, Instant, OfferId)> = agent
            .offers
            .iter()
            .filter_map(|o| self.offers.get(o).map(|x| (x.channel, x.at, *o)))
            .collect();
        offers.sort();
        offers
            .into_iter()
            .filter_map(|(_, _, o)| self.offer_view(o))
            .collect()
    }

    /// The figures `/metrics` shows, as of `now`.
    pub fn stats(&self, now: Instant) -> Stats {
        let mut waiting: HashMap<&QueueId, (u64, Option<Instant>)> = HashMap::new();
        for c in self.contacts.values() {
            if matches!(c.stage, Stage::Queued | Stage::Offered(_)) {
                let w = waiting.entry(&c.queue).or_default();
                w.0 += 1;
                w.1 = Some(w.1.map_or(c.arrived, |t| t.min(c.arrived)));
            }
        }
        let queues = self
            .dir
            .queues
            .keys()
            .map(|q| {
                let (n, oldest) = waiting.get(q).copied().unwrap_or_default();
                let [offered, answered, abandoned, rona] =
                    self.counts.get(q).copied().unwrap_or_default();
                QueueStats {
                    queue: q.0.clone(),
                    waiting: n,
                    oldest_wait_ms: oldest
                        .map_or(0, |t| now.saturating_duration_since(t).as_millis() as u64),
                    offered,
                    answered,
                    abandoned,
                    rona,
                }
            })
            .collect();
        let mut agents = BTreeMap::new();
        for a in self.agents.values() {
            let name = match &a.shown {
                AgentState::LoggedOut => "logged-out",
                AgentState::Available => "available",
                AgentState::Idle { .. } => "idle",
                AgentState::Reserved => "reserved",
                AgentState::Busy => "busy",
                AgentState::WrapUp => "wrap-up",
                AgentState::Rona => "rona",
            };
            *agents.entry(name.to_string()).or_insert(0) += 1;
        }
        Stats { queues, agents }
    }

    fn count(&mut self, queue: &QueueId, what: usize) {
        self.counts.entry(queue.clone()).or_default()[what] += 1;
    }

    // --- inputs -------------------------------------------------------------

    /// A contact arrives: it waits in its queue and is offered as soon as an
    /// agent may take it.
    pub fn arrive(&mut self, now: Instant, arrival: Arrival) -> Result<ContactId, CcError> {
        let queue = self
            .dir
            .queues
            .get(&arrival.queue)
            .ok_or_else(|| CcError::NotFound(format!("no queue {}", arrival.queue)))?;
        let channel = queue.channel;
        let id = ContactId(self.next_contact);
        self.next_contact += 1;
        let record = ContactRecord {
            id,
            channel,
            queue: arrival.queue.clone(),
            entry_point: arrival.entry_point.clone(),
            arrived_at_unix_ms: self.unix_ms(now),
            offers: Vec::new(),
            agent: None,
            answered_at_unix_ms: None,
            ended_at_unix_ms: None,
            abandoned: false,
            wrap_up: Vec::new(),
            wrap_up_ms: None,
            wrap_up_timed_out: false,
        };
        self.contacts.insert(
            id,
            Contact {
                channel,
                queue: arrival.queue.clone(),
                arrived: now,
                customer: arrival.customer,
                variables: arrival.variables,
                stage: Stage::Queued,
                agent: None,
                wrap_up_since: None,
                record,
            },
        );
        self.enqueue(id, false);
        self.route_queue(now, &arrival.queue);
        Ok(id)
    }

    /// An agent asks for a state. Logging out is refused while an offer
    /// rings, a contact is connected or a wrap-up is owed; what is asked
    /// during a contact applies once its wrap-up is given.
    pub fn set_state(
        &mut self,
        now: Instant,
        id: &AgentId,
        requested: Requested,
    ) -> Result<(), CcError> {
        if let Requested::Idle { reason } = &requested {
            if !self.dir.idle_reasons.contains(reason) {
                return Err(CcError::BadRequest(format!(
                    "{reason:?} is not an idle reason ({})",
                    self.dir.idle_reasons.join(", ")
                )));
            }
        }
        let agent = self.agent_mut(id)?;
        let engaged = agent.active.iter().any(|n| *n > 0);
        let presence = match requested {
            Requested::LoggedOut => {
                if !agent.offers.is_empty() {
                    return Err(refused(rule::OFFER_RINGING, "an offer is ringing"));
                }
                if engaged {
                    return Err(refused(rule::CONTACT_IN_PROGRESS, "a contact is connected"));
                }
                if !agent.wrap_ups.is_empty() {
                    return Err(refused(rule::WRAP_UP_PENDING, "a wrap-up is owed"));
                }
                Presence::LoggedOut
            }
            Requested::Available => Presence::Available,
            Requested::Idle { reason } => Presence::Idle(reason),
        };
        if engaged || !agent.wrap_ups.is_empty() {
            agent.after_wrap_up = Some(presence);
        } else {
            if presence == Presence::Available && agent.presence != Presence::Available {
                agent.free_since = now;
            }
            agent.presence = presence;
        }
        self.changed(now, id);
        Ok(())
    }

    /// Whether an agent's phone is registered: voice offers go only to
    /// agents whose phone can ring.
    pub fn set_reachable(&mut self, now: Instant, id: &AgentId, reachable: bool) {
        if let Some(a) = self.agents.get_mut(id) {
            if a.reachable != reachable {
                a.reachable = reachable;
                self.changed(now, id);
            }
        }
    }

    /// Whether an agent is in a call the contact centre did not offer them
    /// (dialled directly, consulted, placing a call): they get no call
    /// offer meanwhile, and count as free only from its end.
    pub fn set_engaged(&mut self, now: Instant, id: &AgentId, engaged: bool) {
        if let Some(a) = self.agents.get_mut(id) {
            if a.engaged != engaged {
                a.engaged = engaged;
                if !engaged {
                    a.free_since = now;
                }
                self.changed(now, id);
            }
        }
    }

    /// The agent accepted an offer (for a call: the phone answered).
    /// `Err(offer-gone)` when it is no longer pending: the runtime ends what
    /// it set up for it (a late answer after RONA or abandon).
    pub fn accept(&mut self, now: Instant, offer: OfferId) -> Result<ContactId, CcError> {
        let Some(o) = self.offers.remove(&offer) else {
            return Err(refused(
                rule::OFFER_GONE,
                format!("offer {offer} is not pending"),
            ));
        };
        let at = self.unix_ms(now);
        if let Some(a) = self.agents.get_mut(&o.agent) {
            a.offers.retain(|x| *x != offer);
            a.offered[o.channel.index()] -= 1;
            a.active[o.channel.index()] += 1;
        }
        if let Some(q) = self.contacts.get(&o.contact).map(|c| c.queue.clone()) {
            self.count(&q, 1);
        }
        if let Some(c) = self.contacts.get_mut(&o.contact) {
            c.stage = Stage::Connected;
            c.agent = Some(o.agent.clone());
            c.record.agent = Some(o.agent.clone());
            c.record.answered_at_unix_ms = Some(at);
            set_outcome(&mut c.record, OfferOutcome::Accepted);
        }
        self.out.push_back(Output::Assigned {
            offer,
            contact: o.contact,
            agent: o.agent.clone(),
        });
        self.changed(now, &o.agent);
        Ok(o.contact)
    }

    /// Every pending digital offer of an agent accepted at once (calls are
    /// never accepted this way).
    pub fn accept_all_digital(&mut self, now: Instant, id: &AgentId) -> Vec<ContactId> {
        let digital: Vec<OfferId> = self
            .pending_offers(id)
            .into_iter()
            .filter(|o| o.channel.is_digital())
            .map(|o| o.offer)
            .collect();
        digital
            .into_iter()
            .filter_map(|o| self.accept(now, o).ok())
            .collect()
    }

    /// The agent (or their phone: 486, 603) refused an offer: handled as
    /// RONA (`docs/contact-centre.md#rona`).
    pub fn refuse(&mut self, now: Instant, offer: OfferId) -> Result<(), CcError> {
        if !self.offers.contains_key(&offer) {
            return Err(refused(
                rule::OFFER_GONE,
                format!("offer {offer} is not pending"),
            ));
        }
        self.rona(now, offer, Revoked::Refused);
        Ok(())
    }

    /// The customer left (hung up, closed the chat). Waiting or offered: the
    /// contact is abandoned and nothing stays reserved. Connected: it ends.
    pub fn customer_left(&mut self, now: Instant, contact: ContactId) {
        let Some(stage) = self.contacts.get(&contact).map(|c| c.stage) else {
            return;
        };
        match stage {
            Stage::Queued => {
                let queue = self.contacts[&contact].queue.clone();
                if let Some(w) = self.waiting.get_mut(&queue) {
                    w.retain(|c| *c != contact);
                }
                self.abandoned(now, contact);
            }
            Stage::Offered(offer) => {
                if let Some(o) = self.offers.remove(&offer) {
                    self.release_offer(&o, offer);
                    self.out.push_back(Output::Revoke {
                        offer,
                        contact,
                        agent: o.agent.clone(),
                        reason: Revoked::Abandoned,
                    });
                    if let Some(c) = self.contacts.get_mut(&contact) {
                        set_outcome(&mut c.record, OfferOutcome::Revoked(Revoked::Abandoned));
                    }
                    self.abandoned(now, contact);
                    self.changed(now, &o.agent);
                }
            }
            Stage::Connected => self.ended(now, contact),
            Stage::WrapUp => {}
        }
    }

    /// A connected contact ended (either side hung up): its agent owes a
    /// wrap-up and is in `WrapUp` until it is given or times out.
    pub fn ended(&mut self, now: Instant, contact: ContactId) {
        let at = self.unix_ms(now);
        let Some(c) = self.contacts.get_mut(&contact) else {
            return;
        };
        if c.stage != Stage::Connected {
            return;
        }
        let Some(agent) = c.agent.clone() else {
            return;
        };
        c.stage = Stage::WrapUp;
        c.wrap_up_since = Some(now);
        c.record.ended_at_unix_ms = Some(at);
        let (channel, queue) = (c.channel, c.queue.clone());
        if let Some(a) = self.agents.get_mut(&agent) {
            a.active[channel.index()] -= 1;
            a.wrap_ups.push(contact);
        }
        if let Some(t) = self.dir.queues.get(&queue).and_then(|q| q.wrap_up_timeout) {
            self.timers.push(Reverse((now + t, Timer::WrapUp(contact))));
        }
        self.changed(now, &agent);
    }

    /// The agent's wrap-up for a contact: reasons from its queue's list (a
    /// call takes exactly one). The contact's record is complete; the agent
    /// is free again (or in the state it asked for during the contact).
    pub fn wrap_up(
        &mut self,
        now: Instant,
        agent: &AgentId,
        contact: ContactId,
        reasons: Vec<String>,
    ) -> Result<(), CcError> {
        let owed = self
            .agents
            .get(agent)
            .ok_or_else(|| CcError::NotFound(format!("no agent {agent}")))?
            .wrap_ups
            .contains(&contact);
        if !owed {
            return Err(refused(
                rule::NO_WRAP_UP_OWED,
                format!("{agent} owes no wrap-up for {contact}"),
            ));
        }
        let c = &self.contacts[&contact];
        let queue = &self.dir.queues[&c.queue];
        if reasons.is_empty() || (c.channel == Channel::Voice && reasons.len() != 1) {
            return Err(CcError::BadRequest(match c.channel {
                Channel::Voice => "a call's wrap-up takes exactly one reason".into(),
                _ => "a wrap-up takes at least one reason".into(),
            }));
        }
        if let Some(r) = reasons.iter().find(|r| !queue.wrap_up_reasons.contains(r)) {
            return Err(CcError::BadRequest(format!(
                "{r:?} is not a wrap-up reason of queue {}",
                queue.id
            )));
        }
        self.finish_wrap_up(now, agent, contact, reasons, false);
        Ok(())
    }

    /// Due timers: RONA for offers not accepted in time, wrap-ups that
    /// timed out.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse((at, timer))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            match timer {
                Timer::Rona(offer) => {
                    if self.offers.contains_key(&offer) {
                        self.rona(now, offer, Revoked::NoAnswer);
                    }
                }
                Timer::WrapUp(contact) => {
                    let Some(c) = self.contacts.get(&contact) else {
                        continue;
                    };
                    let (Some(agent), Stage::WrapUp) = (c.agent.clone(), c.stage) else {
                        continue;
                    };
                    let default = self.dir.queues[&c.queue].default_wrap_up.clone();
                    self.finish_wrap_up(now, &agent, contact, default.into_iter().collect(), true);
                }
            }
        }
    }

    // --- inside ---------------------------------------------------------------

    fn finish_wrap_up(
        &mut self,
        now: Instant,
        agent: &AgentId,
        contact: ContactId,
        reasons: Vec<String>,
        timed_out: bool,
    ) {
        let Some(mut c) = self.contacts.remove(&contact) else {
            return;
        };
        c.record.wrap_up = reasons;
        c.record.wrap_up_timed_out = timed_out;
        c.record.wrap_up_ms = c
            .wrap_up_since
            .map(|t| now.saturating_duration_since(t).as_millis() as u64);
        self.out.push_back(Output::Record(c.record));
        if let Some(a) = self.agents.get_mut(agent) {
            a.wrap_ups.retain(|x| *x != contact);
            if a.wrap_ups.is_empty() && a.active.iter().all(|n| *n == 0) {
                if let Some(p) = a.after_wrap_up.take() {
                    a.presence = p;
                }
                a.free_since = now;
            }
        }
        self.changed(now, agent);
    }

    /// An offer not taken: back to the front of its queue keeping its age;
    /// the agent to `Rona` (a call's agent then `Idle` with the RONA reason),
    /// no more offers until they are available again.
    fn rona(&mut self, now: Instant, offer: OfferId, reason: Revoked) {
        let Some(o) = self.offers.remove(&offer) else {
            return;
        };
        self.release_offer(&o, offer);
        if let Some(q) = self.contacts.get(&o.contact).map(|c| c.queue.clone()) {
            self.count(&q, 3);
        }
        self.out.push_back(Output::Revoke {
            offer,
            contact: o.contact,
            agent: o.agent.clone(),
            reason,
        });
        if let Some(a) = self.agents.get_mut(&o.agent) {
            if a.presence == Presence::Available {
                a.presence = Presence::Rona;
            }
        }
        self.changed(now, &o.agent);
        if o.channel == Channel::Voice {
            if let Some(a) = self.agents.get_mut(&o.agent) {
                if a.presence == Presence::Rona {
                    a.presence = Presence::Idle(RONA_REASON.into());
                }
            }
            self.changed(now, &o.agent);
        }
        let queue = self.contacts.get_mut(&o.contact).map(|c| {
            c.stage = Stage::Queued;
            set_outcome(&mut c.record, OfferOutcome::Revoked(reason));
            c.queue.clone()
        });
        if let Some(queue) = queue {
            self.enqueue(o.contact, true);
            self.route_queue(now, &queue);
        }
    }

    fn release_offer(&mut self, o: &Offer, offer: OfferId) {
        if let Some(a) = self.agents.get_mut(&o.agent) {
            a.offers.retain(|x| *x != offer);
            a.offered[o.channel.index()] -= 1;
        }
    }

    fn abandoned(&mut self, now: Instant, contact: ContactId) {
        if let Some(mut c) = self.contacts.remove(&contact) {
            self.count(&c.queue, 2);
            c.record.abandoned = true;
            c.record.ended_at_unix_ms = Some(self.unix_ms(now));
            self.out.push_back(Output::Record(c.record));
        }
    }

    /// Puts a contact in its queue: at the back when it arrives, at the
    /// front (by age among the others taken back) when an offer failed.
    fn enqueue(&mut self, contact: ContactId, front: bool) {
        let Some(c) = self.contacts.get(&contact) else {
            return;
        };
        let arrived = c.arrived;
        let w = self.waiting.entry(c.queue.clone()).or_default();
        if front {
            let at = w
                .iter()
                .position(|x| self.contacts.get(x).is_none_or(|o| o.arrived > arrived))
                .unwrap_or(w.len());
            w.insert(at, contact);
        } else {
            w.push_back(contact);
        }
    }

    /// An agent's state may have changed: re-index them for routing, tell
    /// the desktop, and give them work if they can take some.
    fn changed(&mut self, now: Instant, id: &AgentId) {
        let Some(a) = self.agents.get_mut(id) else {
            return;
        };
        let state = shown(a);
        if state != a.shown {
            a.shown = state.clone();
            let change = StateChange {
                agent: id.clone(),
                state,
                at_unix_ms: unix_ms(self.epoch, now),
            };
            if a.history.len() >= HISTORY {
                a.history.pop_front();
            }
            a.history.push_back(change.clone());
            self.out.push_back(Output::AgentState(change));
        }
        let agent = &self.dir.agents[id];
        let a = &self.agents[id];
        for ch in Channel::ALL {
            let ok = eligible(a, agent.capacity, ch);
            self.ready.set(&agent.team, ch, id, a.free_since, ok);
        }
        self.route_agent(now, id);
    }

    /// Offers the oldest waiting contacts of `queue` to the agents who may
    /// take them.
    fn route_queue(&mut self, now: Instant, queue: &QueueId) {
        let Some(q) = self.dir.queues.get(queue) else {
            return;
        };
        let (team, channel) = (q.team.clone(), q.channel);
        loop {
            let Some(&contact) = self.waiting.get(queue).and_then(|w| w.front()) else {
                return;
            };
            let Some(agent) = self.ready.best(&team, channel) else {
                return;
            };
            self.offer(now, contact, agent);
        }
    }

    /// Gives a newly free agent the oldest contact waiting in the queues
    /// they serve, while they can take more.
    fn route_agent(&mut self, now: Instant, id: &AgentId) {
        for _ in 0..64 {
            if !self.ready.any(id) {
                return;
            }
            let team = &self.dir.agents[id].team;
            let mut best: Option<(Instant, ContactId)> = None;
            for (queue, channel) in self.ready.queues_of(team) {
                if !self.ready.contains(*channel, id) {
                    continue;
                }
                let head = self
                    .waiting
                    .get(queue)
                    .and_then(|w| w.front())
                    .and_then(|c| self.contacts.get(c).map(|x| (x.arrived, *c)));
                if let Some(h) = head {
                    if best.is_none_or(|b| h.0 < b.0) {
                        best = Some(h);
                    }
                }
            }
            let Some((_, contact)) = best else {
                return;
            };
            // The agent is free now but may not be the longest idle one.
            let channel = self.contacts[&contact].channel;
            let agent = self.ready.best(team, channel).unwrap_or_else(|| id.clone());
            self.offer(now, contact, agent);
        }
    }

    fn offer(&mut self, now: Instant, contact: ContactId, agent: AgentId) {
        let Some(c) = self.contacts.get_mut(&contact) else {
            return;
        };
        if let Some(w) = self.waiting.get_mut(&c.queue) {
            w.retain(|x| *x != contact);
        }
        let offer = OfferId(self.next_offer);
        self.next_offer += 1;
        c.stage = Stage::Offered(offer);
        let at_unix_ms = unix_ms(self.epoch, now);
        c.record.offers.push(OfferRecord {
            agent: agent.clone(),
            at_unix_ms,
            outcome: OfferOutcome::Pending,
        });
        let (channel, queue) = (c.channel, c.queue.clone());
        self.offers.insert(
            offer,
            Offer {
                contact,
                agent: agent.clone(),
                channel,
                at: now,
            },
        );
        if let Some(a) = self.agents.get_mut(&agent) {
            a.offers.push(offer);
            a.offered[channel.index()] += 1;
            // Work just given: no longer the longest idle for what else waits.
            a.free_since = now;
        }
        self.count(&queue, 0);
        let rona = self.dir.queues[&queue].rona_timeout;
        self.timers.push(Reverse((now + rona, Timer::Rona(offer))));
        if let Some(view) = self.offer_view(offer) {
            self.out.push_back(Output::Offer(view));
        }
        self.changed(now, &agent);
    }

    fn offer_view(&self, offer: OfferId) -> Option<OfferView> {
        let o = self.offers.get(&offer)?;
        let c = self.contacts.get(&o.contact)?;
        let q = self.dir.queues.get(&c.queue)?;
        let variables = self
            .dir
            .variables
            .iter()
            .filter(|d| d.on_offer && !d.secure)
            .filter_map(|d| {
                c.variables
                    .get(&d.name)
                    .map(|v| (d.name.clone(), v.clone()))
            })
            .take(6)
            .collect();
        Some(OfferView {
            offer,
            contact: o.contact,
            agent: o.agent.clone(),
            channel: c.channel,
            queue: q.id.clone(),
            queue_name: q.name.clone(),
            customer: customer_label(&c.customer, self.dir.masking),
            email: c.customer.email.clone(),
            queued_since_unix_ms: self.unix_ms(c.arrived),
            offered_at_unix_ms: self.unix_ms(o.at),
            variables,
        })
    }
}

/// `t` as Unix milliseconds, `epoch` being an instant and its wall time.
fn unix_ms(epoch: (Instant, u64), t: Instant) -> u64 {
    epoch.1 + t.saturating_duration_since(epoch.0).as_millis() as u64
}

fn set_outcome(record: &mut ContactRecord, outcome: OfferOutcome) {
    if let Some(last) = record.offers.last_mut() {
        last.outcome = outcome;
    }
}

/// Whether an agent may be offered a contact of `channel` now.
fn eligible(a: &AgentRt, cap: Capacity, ch: Channel) -> bool {
    let i = ch.index();
    a.presence == Presence::Available
        && a.wrap_ups.is_empty()
        && (ch != Channel::Voice || (a.reachable && !a.engaged))
        && u16::from(a.offered[i]) + u16::from(a.active[i]) < u16::from(cap.of(ch))
}

/// The state a desktop shows, from what the agent chose and what they hold.
fn shown(a: &AgentRt) -> AgentState {
    if a.presence == Presence::LoggedOut {
        return AgentState::LoggedOut;
    }
    if !a.offers.is_empty() {
        return AgentState::Reserved;
    }
    if a.active.iter().any(|n| *n > 0) || a.engaged {
        return AgentState::Busy;
    }
    if !a.wrap_ups.is_empty() {
        return AgentState::WrapUp;
    }
    match &a.presence {
        Presence::LoggedOut => AgentState::LoggedOut,
        Presence::Available => AgentState::Available,
        Presence::Idle(reason) => AgentState::Idle {
            reason: reason.clone(),
        },
        Presence::Rona => AgentState::Rona,
    }
}

/// How an offer names the customer: the number (only its last four digits
/// when masking), else the name (masked too when it is a number), else the
/// e-mail.
pub fn customer_label(c: &Customer, masking: bool) -> String {
    let mask = |s: &str| -> String {
        let digits: Vec<char> = s.chars().filter(|c| c.is_ascii_digit()).collect();
        let is_number = digits.len() >= 5
            && s.chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if masking && is_number {
            let last: String = digits[digits.len() - 4..].iter().collect();
            format!("…{last}")
        } else {
            s.to_string()
        }
    };
    match (&c.number, &c.name, &c.email) {
        (Some(n), _, _) => mask(n),
        (None, Some(name), _) => mask(name),
        (None, None, Some(e)) => e.clone(),
        _ => "unknown".into(),
    }
}
