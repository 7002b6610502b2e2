//! The agents' actions. Each one is judged by `CallModel::check` first; a
//! refused action changes nothing and queues no effect.
//!
//! Where a party is held and another taken off hold in one step, the Hold
//! is queued before the Unhold: for an instant the agent hears nobody,
//! rather than the customer and the consulted party hearing each other.

use super::actions::rule;
use super::{
    Action, CallEvent, CallModel, Effect, EndReason, PartyId, PartyKind, Phase, Recording, Refused,
    Role, Target,
};
use std::time::{Duration, Instant};

impl CallModel {
    /// Holds the customer (`docs/call-control.md#hold`).
    pub fn hold(&mut self, _now: Instant, by: PartyId) -> Result<(), Refused> {
        self.check(by, Action::Hold)?;
        let customer = self.customer().map(|c| c.id);
        if let Some(c) = customer {
            self.set_held(c, true);
        }
        self.push(Effect::Media);
        Ok(())
    }

    /// Takes the customer off hold; during a consult the consulted party is
    /// held instead (`consult-on-hold`), so the two are never both held.
    pub fn resume(&mut self, _now: Instant, by: PartyId) -> Result<(), Refused> {
        self.check(by, Action::Resume)?;
        if let Some(c) = self.consulted().map(|c| c.id) {
            self.set_held(c, true);
        }
        if let Some(c) = self.customer().map(|c| c.id) {
            self.set_held(c, false);
        }
        self.push(Effect::Media);
        Ok(())
    }

    /// Starts a consult to `target`: the customer is held and the target
    /// dialled (`consult-requested`). Returns the consulted party.
    pub fn consult(
        &mut self,
        now: Instant,
        by: PartyId,
        target: Target,
    ) -> Result<PartyId, Refused> {
        self.check(by, Action::Consult)?;
        self.check_not_in_call(Action::Consult, &target)?;
        if let Some(c) = self.customer().map(|c| c.id) {
            self.set_held(c, true);
        }
        let kind = PartyKind::from_target(&target);
        let id = self.add_party(now, kind, Role::Consulted, Some(target));
        self.push(Effect::Media);
        Ok(id)
    }

    /// Swaps which of the customer and the consulted party is held.
    pub fn toggle(&mut self, _now: Instant, by: PartyId) -> Result<(), Refused> {
        self.check(by, Action::Toggle)?;
        let (Some(consulted), Some(customer)) = (self.consulted(), self.customer()) else {
            return Ok(());
        };
        let (to_hold, to_unhold) = if consulted.held {
            (customer.id, consulted.id)
        } else {
            (consulted.id, customer.id)
        };
        self.set_held(to_hold, true);
        self.set_held(to_unhold, false);
        self.push(Effect::Media);
        Ok(())
    }

    /// Ends the consult: the consulted leg is hung up (by the consulted
    /// agent: he leaves it). The main call goes on as it was.
    pub fn end_consult(&mut self, now: Instant, by: PartyId) -> Result<(), Refused> {
        self.check(by, Action::EndConsult)?;
        if let Some(c) = self.consulted().map(|c| c.id) {
            self.remove(c);
            self.push(Effect::Hangup { party: c });
        }
        self.push(Effect::Media);
        self.settle(now);
        Ok(())
    }

    /// Transfers the call to the consulted party: the primary agent leaves
    /// (and gets a wrap-up), a consulted agent becomes primary, and the
    /// customer is taken off hold.
    pub fn transfer(&mut self, now: Instant, by: PartyId) -> Result<(), Refused> {
        self.check(by, Action::Transfer)?;
        self.primary_leaves(now, by);
        Ok(())
    }

    /// Blind transfer to `target`: the primary agent leaves now, the
    /// customer waits on hold while the target rings, and if the target
    /// does not answer the call is dropped (`docs/call-control.md#blind-transfer`).
    /// An agent target becomes primary once it accepts.
    pub fn blind_transfer(
        &mut self,
        now: Instant,
        by: PartyId,
        target: Target,
    ) -> Result<PartyId, Refused> {
        self.check(by, Action::BlindTransfer)?;
        self.check_not_in_call(Action::BlindTransfer, &target)?;
        if let Some(p) = self.remove(by) {
            self.push(Effect::Hangup { party: by });
            self.wrap_up(&p);
        }
        let kind = PartyKind::from_target(&target);
        let role = if kind.is_agent() {
            Role::Primary
        } else {
            Role::Participant
        };
        let to = self.add_party(now, kind, role, Some(target));
        if let Some(c) = self.customer().map(|c| c.id) {
            self.set_held(c, true);
        }
        self.phase = Phase::Dialing {
            then: None,
            blind: true,
            queued: false,
        };
        self.event(CallEvent::Transferred { from: by, to });
        self.push(Effect::Media);
        Ok(to)
    }

    /// Merges the consult into a conference: everybody is taken off hold
    /// and hears everybody else (N−1).
    pub fn conference(&mut self, _now: Instant, by: PartyId) -> Result<(), Refused> {
        self.check(by, Action::Conference)?;
        if let Some(c) = self.consulted().map(|c| c.id) {
            if let Some(p) = self.party_mut(c) {
                p.role = Role::Participant;
            }
        }
        self.conference = true;
        self.unhold_all();
        self.push(Effect::Media);
        Ok(())
    }

    /// Leaves a conference. When the primary agent leaves, control goes to
    /// the agent in the call longest; the call goes on for the others.
    pub fn leave_conference(&mut self, now: Instant, by: PartyId) -> Result<(), Refused> {
        self.check(by, Action::LeaveConference)?;
        if self.party(by).is_some_and(|p| p.role == Role::Primary) {
            self.primary_leaves(now, by);
        } else {
            self.remove(by);
            self.push(Effect::Hangup { party: by });
            self.push(Effect::Media);
            self.settle(now);
        }
        Ok(())
    }

    /// Ends the call for everybody: every leg, the primary agent's own
    /// included, is hung up and the primary agent gets a wrap-up.
    pub fn end(&mut self, _now: Instant, by: PartyId) -> Result<(), Refused> {
        self.check(by, Action::End)?;
        self.end_call(EndReason::EndedBy { party: by });
        Ok(())
    }

    /// Sends DTMF digits (RFC 4733) to whoever the primary agent hears.
    pub fn send_dtmf(&mut self, _now: Instant, by: PartyId, digits: &str) -> Result<(), Refused> {
        self.check(by, Action::SendDtmf)?;
        let valid = |c: char| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D');
        if digits.is_empty() || !digits.chars().all(valid) {
            return Err(Refused::new(Action::SendDtmf, rule::DTMF_DIGITS));
        }
        let to = self.hears(by);
        self.push(Effect::SendDtmf {
            from: by,
            to,
            digits: digits.to_string(),
        });
        Ok(())
    }

    /// Pauses recording; it resumes by itself after `auto_resume_after`
    /// (the admin-set duration).
    pub fn pause_recording(
        &mut self,
        now: Instant,
        by: PartyId,
        auto_resume_after: Duration,
    ) -> Result<(), Refused> {
        self.check(by, Action::PauseRecording)?;
        let auto_resume_at = now + auto_resume_after;
        self.recording = Recording::Paused { auto_resume_at };
        self.event(CallEvent::RecordingPaused { auto_resume_at });
        Ok(())
    }

    /// Resumes a paused recording before its timer does.
    pub fn resume_recording(&mut self, _now: Instant, by: PartyId) -> Result<(), Refused> {
        self.check(by, Action::ResumeRecording)?;
        self.recording = Recording::On;
        self.event(CallEvent::RecordingResumed { automatic: false });
        Ok(())
    }

    fn check_not_in_call(&self, action: Action, target: &Target) -> Result<(), Refused> {
        if let Target::Agent(user) = target {
            if self
                .parties
                .iter()
                .any(|p| p.kind.agent_user() == Some(user))
            {
                return Err(Refused::new(action, rule::ALREADY_IN_CALL));
            }
        }
        Ok(())
    }
}
