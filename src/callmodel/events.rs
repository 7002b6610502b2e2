//! What the runtime reports about legs: answered, failed, hung up. These are
//! facts, not requests: they are never refused, and reports about unknown
//! parties or an ended call (late SIP responses) are ignored.

use super::{CallEvent, CallModel, Effect, EndReason, FailReason, Party, PartyId, PartyKind};
use super::{Phase, Role};
use std::time::Instant;

impl CallModel {
    /// A leg answered. For an agent the runtime reports this when the agent
    /// accepts the offer (for a softphone, answering is accepting); for a
    /// dial number, when the number answers. Either way a consult becomes
    /// `consulting` and Transfer and Conference are enabled.
    pub fn on_answered(&mut self, now: Instant, id: PartyId) {
        if self.phase == Phase::Ended {
            return;
        }
        let Some(p) = self.party_mut(id) else { return };
        if p.answered {
            return;
        }
        p.answered = true;
        p.joined_at = now;
        let (held, role) = (p.held, p.role);
        if held {
            // Held while it rang (resume during consult-requested).
            self.push(Effect::Hold { party: id });
        }
        match self.phase.clone() {
            Phase::Dialing {
                then: Some(target),
                blind,
                queued,
            } => {
                let kind = PartyKind::from_target(&target);
                self.add_party(now, kind, Role::Customer, Some(target));
                self.phase = Phase::Dialing {
                    then: None,
                    blind,
                    queued,
                };
            }
            Phase::Dialing { then: None, .. } => {
                if self.parties.iter().all(|p| p.answered) {
                    self.phase = Phase::Live;
                    self.unhold_all();
                    self.event(CallEvent::Connected);
                }
            }
            Phase::Live if role == Role::Consulted => {
                self.event(CallEvent::ConsultAccepted { party: id });
            }
            Phase::Live | Phase::Ended => {}
        }
        self.push(Effect::Media);
    }

    /// A leg was not answered (no answer or RONA, busy, rejected). A failed
    /// consult is reported to the primary agent and the customer stays as
    /// they were; a failed leg of the call's own set-up ends the call, a
    /// failed blind transfer drops it.
    pub fn on_failed(&mut self, now: Instant, id: PartyId, reason: FailReason) {
        if self.phase == Phase::Ended {
            return;
        }
        match self.party(id) {
            None => return,
            Some(p) if p.answered => return self.on_hung_up(now, id),
            Some(_) => {}
        }
        let Some(p) = self.remove(id) else { return };
        match self.phase {
            Phase::Dialing { queued: true, .. } => {
                // The call waits for the next agent.
                let user = p.kind.agent_user().unwrap_or_default().to_string();
                self.event(CallEvent::OfferFailed {
                    party: id,
                    user,
                    reason,
                });
                self.push(Effect::Media);
            }
            Phase::Dialing { blind: true, .. } => {
                self.end_call(EndReason::TransferFailed { party: id, reason })
            }
            Phase::Dialing { blind: false, .. } => {
                self.end_call(EndReason::NotAnswered { party: id, reason })
            }
            Phase::Live => {
                if p.role == Role::Consulted {
                    self.event(CallEvent::ConsultFailed { party: id, reason });
                }
                self.push(Effect::Media);
                self.settle(now);
            }
            Phase::Ended => {}
        }
    }

    /// A leg hung up by itself (BYE, or the agent's softphone hung up).
    /// The customer leaving a call that others stay in makes it post-call;
    /// the primary agent leaving hands the call on (see `primary_departed`).
    pub fn on_hung_up(&mut self, now: Instant, id: PartyId) {
        if self.phase == Phase::Ended {
            return;
        }
        let Some(p) = self.remove(id) else { return };
        match p.role {
            Role::Primary => return self.primary_departed(now, p),
            Role::Customer if self.phase == Phase::Live && self.parties.len() >= 2 => {
                // The agents go on talking (`docs/call-control.md#consult`, "Conference"):
                // nobody may stay on hold with no customer to come back to.
                self.unhold_all();
                self.event(CallEvent::PostCall);
            }
            _ => {}
        }
        self.push(Effect::Media);
        self.settle(now);
    }

    /// The primary agent leaves by transfer or leave-conference (his leg is
    /// hung up here).
    pub(super) fn primary_leaves(&mut self, now: Instant, id: PartyId) {
        if let Some(p) = self.remove(id) {
            self.push(Effect::Hangup { party: id });
            self.primary_departed(now, p);
        }
    }

    /// The primary agent is gone. He gets his wrap-up. An answered consult
    /// leg takes the call over (a consulted agent becomes primary: the
    /// usual PBX behaviour when the consulting agent hangs up, and what
    /// Transfer does); a ringing one is cancelled. Otherwise control goes
    /// to the agent in the call longest. Anybody held is taken off hold:
    /// there is nobody left to take them off it.
    fn primary_departed(&mut self, now: Instant, p: Party) {
        self.wrap_up(&p);
        if self.phase == Phase::Live {
            if let Some(c) = self.consulted().cloned() {
                if c.answered {
                    let agent = c.kind.is_agent();
                    if let Some(cp) = self.party_mut(c.id) {
                        cp.role = if agent {
                            Role::Primary
                        } else {
                            Role::Participant
                        };
                    }
                    if self.customer().is_some() {
                        self.event(CallEvent::Transferred {
                            from: p.id,
                            to: c.id,
                        });
                    }
                    if agent {
                        self.event(CallEvent::ControlHandedTo { party: c.id });
                    }
                } else {
                    self.remove(c.id);
                    self.push(Effect::Hangup { party: c.id });
                }
            }
            self.unhold_all();
            if self.primary().is_none() {
                self.hand_control();
            }
        }
        self.push(Effect::Media);
        self.settle(now);
    }

    /// Control goes to the answered agent in the call longest (earliest
    /// answer; the lower id on a tie). Dial numbers and the customer's
    /// seat never get it.
    fn hand_control(&mut self) {
        let next = self
            .parties
            .iter()
            .filter(|p| p.kind.is_agent() && p.answered && p.role == Role::Participant)
            .min_by_key(|p| (p.joined_at, p.id))
            .map(|p| p.id);
        if let Some(id) = next {
            if let Some(p) = self.party_mut(id) {
                p.role = Role::Primary;
            }
            self.event(CallEvent::ControlHandedTo { party: id });
        }
    }

    /// After someone left: one party left ends the call; a conference down
    /// to the customer and one agent is a plain call again.
    pub(super) fn settle(&mut self, _now: Instant) {
        if self.phase == Phase::Ended {
            return;
        }
        if self.parties.len() <= 1 {
            self.end_call(EndReason::LastPartyLeft);
        } else if self.conference && self.parties.len() == 2 && self.customer().is_some() {
            self.conference = false;
        }
    }

    /// Hangs up every remaining leg, gives the primary agent his wrap-up,
    /// and reports the end.
    pub(super) fn end_call(&mut self, reason: EndReason) {
        let parties = std::mem::take(&mut self.parties);
        for p in &parties {
            self.push(Effect::Hangup { party: p.id });
        }
        for p in &parties {
            self.wrap_up(p);
        }
        self.phase = Phase::Ended;
        self.conference = false;
        self.event(CallEvent::Ended { reason });
    }

    /// Only the primary agent wraps up, and only if he took the call.
    pub(super) fn wrap_up(&mut self, p: &Party) {
        if let (Role::Primary, true, Some(user)) = (p.role, p.answered, p.kind.agent_user()) {
            self.event(CallEvent::WrapUp {
                party: p.id,
                user: user.to_string(),
            });
        }
    }
}
