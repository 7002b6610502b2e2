//! The state a desktop shows, and who hears whom.

use super::{CallModel, Party, PartyId, Phase, Role};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// The call's state as agents see it (`docs/call-control.md` names: `consult-requested`,
/// `consulting`, `consult-on-hold`, `post-call`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallState {
    /// The customer waits in a queue (hearing music) for an agent to take
    /// the call; an offer to an agent may be ringing.
    Queued,
    /// Waiting for the legs that make the call (or a blind-transfer
    /// target) to answer.
    Dialing,
    Connected,
    /// The customer is on hold, no consult.
    Held,
    /// A consult leg rings; the customer is on hold.
    ConsultRequested,
    /// The primary agent talks with the consulted party; the customer is on hold.
    Consulting,
    /// The consulted party is on hold; the primary agent talks with the customer.
    ConsultOnHold,
    Conference,
    /// The customer left; the others may go on talking, nobody new joins.
    PostCall,
    Ended,
}

/// Whether the call's audio is being written (`docs/recording.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recording {
    /// Not recorded (not enabled for the queue or tenant).
    Off,
    On,
    /// Silence is written until the agent resumes or `auto_resume_at`.
    Paused {
        auto_resume_at: Instant,
    },
}

impl CallModel {
    /// Derived from the parties, so it cannot disagree with them. A
    /// consult that outlives the customer shows as post-call; a held
    /// customer in a conference shows as held.
    pub fn state(&self) -> CallState {
        match self.phase {
            Phase::Ended => return CallState::Ended,
            Phase::Dialing { queued: true, .. } => return CallState::Queued,
            Phase::Dialing { .. } => return CallState::Dialing,
            Phase::Live => {}
        }
        let Some(customer) = self.customer() else {
            return CallState::PostCall;
        };
        if let Some(c) = self.consulted() {
            return if c.held {
                CallState::ConsultOnHold
            } else if !c.answered {
                CallState::ConsultRequested
            } else {
                CallState::Consulting
            };
        }
        if customer.held {
            CallState::Held
        } else if self.conference {
            CallState::Conference
        } else {
            CallState::Connected
        }
    }

    /// Who hears whom, for every present party (sorted by id). A held or
    /// ringing party hears nothing and is not heard. While the primary
    /// agent talks with an answered, unheld consulted party the two hear
    /// only each other; everyone else who is up (the customer, the primary
    /// agent otherwise, conference participants) hears all the others
    /// but themselves (N−1 mixing).
    pub fn topology(&self) -> Vec<(PartyId, Vec<PartyId>)> {
        let mut all: Vec<(PartyId, Vec<PartyId>)> = self
            .parties
            .iter()
            .map(|p| (p.id, self.hears(p.id)))
            .collect();
        all.sort_by_key(|(id, _)| *id);
        all
    }

    /// The parties `id` hears, sorted by id.
    pub fn hears(&self, id: PartyId) -> Vec<PartyId> {
        let up = |p: &Party| p.answered && !p.held;
        let Some(me) = self.party(id).filter(|p| up(p)) else {
            return Vec::new();
        };
        let pair = match (self.primary(), self.consulted()) {
            (Some(p), Some(c)) if up(p) && up(c) => Some((p.id, c.id)),
            _ => None,
        };
        let mut heard: Vec<PartyId> = match pair {
            Some((p, c)) if me.id == p => vec![c],
            Some((p, c)) if me.id == c => vec![p],
            _ if me.role == Role::Consulted => Vec::new(),
            _ => self
                .parties
                .iter()
                .filter(|o| o.id != me.id && up(o) && o.role != Role::Consulted)
                .filter(|o| pair.is_none_or(|(p, _)| o.id != p))
                .map(|o| o.id)
                .collect(),
        };
        heard.sort();
        heard
    }
}
