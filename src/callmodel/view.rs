//! What the HTTP API shows of a call (SPEC §6): state, parties with their
//! roles, hold state and the actions each may take now.

use super::{Action, CallModel, CallState, PartyId, PartyKind, Recording, Role};
use serde::Serialize;
use std::time::Instant;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallView {
    pub state: CallState,
    pub recording: RecordingView,
    pub parties: Vec<PartyView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyView {
    pub id: PartyId,
    pub kind: PartyKindView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    pub role: Role,
    pub joined_at_unix_ms: u64,
    pub held: bool,
    pub answered: bool,
    pub has_controls: bool,
    pub allowed: Vec<Action>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartyKindView {
    Customer,
    Agent,
    DialNumber,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum RecordingView {
    Off,
    On,
    Paused { auto_resume_at_unix_ms: u64 },
}

impl CallModel {
    /// The call as the API shows it. `to_unix_ms` turns the model's
    /// instants into wall time (the runtime knows the epoch; the model
    /// never reads a clock).
    pub fn view(&self, to_unix_ms: impl Fn(Instant) -> u64) -> CallView {
        let parties = self
            .parties()
            .map(|p| {
                let (kind, user, number) = match &p.kind {
                    PartyKind::Customer => (PartyKindView::Customer, None, None),
                    PartyKind::Agent { user } => (PartyKindView::Agent, Some(user.clone()), None),
                    PartyKind::DialNumber(n) => {
                        (PartyKindView::DialNumber, None, Some(n.to_string()))
                    }
                };
                PartyView {
                    id: p.id,
                    kind,
                    user,
                    number,
                    role: p.role,
                    joined_at_unix_ms: to_unix_ms(p.joined_at),
                    held: p.held,
                    answered: p.answered,
                    has_controls: p.has_controls(),
                    allowed: self.allowed(p.id),
                }
            })
            .collect();
        let recording = match self.recording {
            Recording::Off => RecordingView::Off,
            Recording::On => RecordingView::On,
            Recording::Paused { auto_resume_at } => RecordingView::Paused {
                auto_resume_at_unix_ms: to_unix_ms(auto_resume_at),
            },
        };
        CallView {
            state: self.state(),
            recording,
            parties,
        }
    }
}
