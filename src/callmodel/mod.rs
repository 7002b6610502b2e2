//! The call model: the rules of one contact-centre call (`docs/call-control.md`: hold and
//! resume, consult, blind transfer, conference, recording pause, ending),
//! kept apart from SIP and media so every rule can be tested with a
//! simulated clock.
//!
//! It is sans-IO in the manner of quinn-proto: the runtime tells the model
//! what happened (an agent's action, a leg answering, failing or hanging up)
//! with the time passed in, then drains what must be done:
//!
//! ```ignore
//! model.consult(now, agent, Target::Agent("bob".into()))?;   // or on_answered(now, leg) …
//! while let Some(effect) = model.poll_effect() { runtime.apply(effect) }
//! if let Some(at) = model.poll_timeout() { sleep_until(at); model.handle_timeout(at) }
//! ```
//!
//! An action either succeeds (effects queued) or is [`Refused`] with a stable
//! rule id; a refused action changes nothing. [`CallModel::allowed`] lists,
//! for any party, exactly the actions that would succeed now: the desktops
//! enable their buttons from it, and a test checks it against the actions
//! themselves in every state reachable in a few steps.
//!
//! How the runtime carries an effect out is its choice: a consult transfer
//! can be a bridge inside sotto or a REFER with Replaces (RFC 3515, RFC 3891)
//! toward a SIP peer; the model only says who is in the call and who hears
//! whom ([`CallModel::topology`]).

mod actions;
mod effect;
mod events;
mod ops;
mod party;
mod state;
mod view;

#[cfg(test)]
mod tests;

pub use actions::{rule, Action, Refused};
pub use effect::{CallEvent, Effect, EndReason};
pub use party::{FailReason, Party, PartyId, PartyKind, Role, Target};
pub use state::{CallState, Recording};
pub use view::{CallEventView, CallView, PartyKindView, PartyView, RecordingView};

use std::collections::VecDeque;
use std::time::Instant;

/// At most this many parties in a call, customer and primary agent
/// included (`docs/call-control.md#conference`); a ringing consult leg counts.
pub const MAX_PARTICIPANTS: usize = 8;

/// One call: its parties, its state and the effects it still owes the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallModel {
    /// Present parties (ringing or answered), in the order they were added.
    parties: Vec<Party>,
    next_id: u32,
    phase: Phase,
    /// A consult was merged: the customer, the primary agent and the
    /// participants hear each other (N−1).
    conference: bool,
    recording: Recording,
    effects: VecDeque<Effect>,
}

/// Where the call is in its life; the finer [`CallState`] is derived.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Waiting for the legs that make the call to answer.
    Dialing {
        /// An outbound call dials its callee once the agent answered.
        then: Option<Target>,
        /// The ringing leg is a blind-transfer target: if it fails the
        /// call is dropped (`docs/call-control.md#blind-transfer`).
        blind: bool,
        /// A queued call: the customer waits (hearing music) for an agent;
        /// an offer that fails leaves the call queued for the next one.
        queued: bool,
    },
    Live,
    Ended,
}

impl CallModel {
    fn empty() -> CallModel {
        CallModel {
            parties: Vec::new(),
            next_id: 0,
            phase: Phase::Live,
            conference: false,
            recording: Recording::Off,
            effects: VecDeque::new(),
        }
    }

    /// An inbound call: `customer` (usually [`PartyKind::Customer`]) is on
    /// the line and routing picked `primary_agent_user`; the agent's leg is
    /// dialled now and the call is connected once it answers. The
    /// customer's leg counts as answered from the start: sotto holds its
    /// INVITE and answers it when the agent does.
    pub fn inbound(now: Instant, customer: PartyKind, primary_agent_user: String) -> CallModel {
        let mut m = CallModel::empty();
        m.add_party(now, customer, Role::Customer, None);
        m.parties[0].answered = true;
        let target = Target::Agent(primary_agent_user.clone());
        let agent = PartyKind::Agent {
            user: primary_agent_user,
        };
        m.add_party(now, agent, Role::Primary, Some(target));
        m.phase = Phase::Dialing {
            then: None,
            blind: false,
            queued: false,
        };
        m
    }

    /// A call waiting in a queue: the customer is answered and hears music
    /// until an agent takes the call ([`CallModel::offer`]); an agent who
    /// does not answer leaves it waiting for the next one
    /// (`docs/contact-centre.md#rona`).
    pub fn queued(now: Instant, customer: PartyKind) -> CallModel {
        let mut m = CallModel::empty();
        m.add_party(now, customer, Role::Customer, None);
        m.parties[0].answered = true;
        m.phase = Phase::Dialing {
            then: None,
            blind: false,
            queued: true,
        };
        m
    }

    /// Offers a queued call to the agent `user`: their leg is dialled and,
    /// once it answers, they are the call's primary agent. None when the
    /// call is not waiting or an offer already rings.
    pub fn offer(&mut self, now: Instant, user: String) -> Option<PartyId> {
        let waiting = matches!(self.phase, Phase::Dialing { queued: true, .. });
        if !waiting || self.primary().is_some() {
            return None;
        }
        let target = Target::Agent(user.clone());
        let id = self.add_party(now, PartyKind::Agent { user }, Role::Primary, Some(target));
        Some(id)
    }

    /// An agent-originated call: the agent's own leg is dialled first, then
    /// `target` once the agent answered; the far party takes the customer's
    /// role (even when it is another agent: it gets no controls).
    pub fn originate(now: Instant, agent: String, target: Target) -> CallModel {
        let mut m = CallModel::empty();
        let dial = Target::Agent(agent.clone());
        m.add_party(
            now,
            PartyKind::Agent { user: agent },
            Role::Primary,
            Some(dial),
        );
        m.phase = Phase::Dialing {
            then: Some(target),
            blind: false,
            queued: false,
        };
        m
    }

    /// Recording enabled for this call's queue or tenant (`docs/recording.md`).
    pub fn with_recording(mut self, enabled: bool) -> CallModel {
        self.recording = if enabled {
            Recording::On
        } else {
            Recording::Off
        };
        self
    }

    /// Present parties, in the order they joined the model.
    pub fn parties(&self) -> impl Iterator<Item = &Party> {
        self.parties.iter()
    }

    pub fn party(&self, id: PartyId) -> Option<&Party> {
        self.parties.iter().find(|p| p.id == id)
    }

    pub fn recording(&self) -> Recording {
        self.recording
    }

    /// The next thing the runtime must do.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called:
    /// only a paused recording's automatic resume is timed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.recording, &self.phase) {
            (_, Phase::Ended) => None,
            (Recording::Paused { auto_resume_at }, _) => Some(auto_resume_at),
            _ => None,
        }
    }

    /// A paused recording whose time is up resumes by itself, whatever the
    /// call is doing (the refusal during consult and conference is for the
    /// agent's manual action only).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.phase == Phase::Ended {
            return;
        }
        if let Recording::Paused { auto_resume_at } = self.recording {
            if now >= auto_resume_at {
                self.recording = Recording::On;
                self.event(CallEvent::RecordingResumed { automatic: true });
            }
        }
    }

    // ---- small helpers shared by the other files ----

    fn party_mut(&mut self, id: PartyId) -> Option<&mut Party> {
        self.parties.iter_mut().find(|p| p.id == id)
    }

    fn with_role(&self, role: Role) -> Option<&Party> {
        self.parties.iter().find(|p| p.role == role)
    }

    fn customer(&self) -> Option<&Party> {
        self.with_role(Role::Customer)
    }

    fn primary(&self) -> Option<&Party> {
        self.with_role(Role::Primary)
    }

    fn consulted(&self) -> Option<&Party> {
        self.with_role(Role::Consulted)
    }

    fn push(&mut self, effect: Effect) {
        self.effects.push_back(effect);
    }

    fn event(&mut self, event: CallEvent) {
        self.push(Effect::Event(event));
    }

    /// Adds a party; with a target, queues the Dial that places its leg.
    fn add_party(
        &mut self,
        now: Instant,
        kind: PartyKind,
        role: Role,
        dial: Option<Target>,
    ) -> PartyId {
        let id = PartyId(self.next_id);
        self.next_id += 1;
        self.parties.push(Party {
            id,
            kind,
            role,
            joined_at: now,
            held: false,
            answered: false,
        });
        if let Some(target) = dial {
            self.push(Effect::Dial { party: id, target });
        }
        id
    }

    fn remove(&mut self, id: PartyId) -> Option<Party> {
        let at = self.parties.iter().position(|p| p.id == id)?;
        Some(self.parties.remove(at))
    }

    /// Marks a party held or not; signals it only for an answered leg (a
    /// ringing leg cannot be re-INVITEd: its hold is signalled on answer).
    fn set_held(&mut self, id: PartyId, held: bool) {
        let Some(p) = self.party_mut(id) else { return };
        if p.held == held {
            return;
        }
        p.held = held;
        if p.answered {
            self.push(if held {
                Effect::Hold { party: id }
            } else {
                Effect::Unhold { party: id }
            });
        }
    }

    fn unhold_all(&mut self) {
        let held: Vec<PartyId> = self
            .parties
            .iter()
            .filter(|p| p.held)
            .map(|p| p.id)
            .collect();
        for id in held {
            self.set_held(id, false);
        }
    }
}
