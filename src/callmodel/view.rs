//! What the HTTP API shows of a call (`docs/contact-centre.md#interfaces`): state, parties with their
//! roles, hold state and the actions each may take now.

use super::{Action, CallEvent, CallModel, CallState, EndReason, FailReason};
use super::{PartyId, PartyKind, Recording, Role};
use serde::{Deserialize, Serialize};
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

/// A call event as the API shows it (`events` of a call, newest last):
/// JSON objects tagged by `event`, instants as Unix milliseconds. Besides
/// the model's [`CallEvent`]s, call control adds what it did over SIP on the
/// call's behalf (a transfer handed to the trunk by REFER).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CallEventView {
    /// Everybody answered: the call is up.
    Connected,
    /// The agent a queued call was offered to did not take it.
    OfferFailed {
        party: PartyId,
        user: String,
        reason: FailReason,
    },
    /// The consulted party answered.
    ConsultAccepted { party: PartyId },
    /// The consulted party did not answer.
    ConsultFailed { party: PartyId, reason: FailReason },
    /// `party` now holds the primary role.
    ControlHandedTo { party: PartyId },
    /// The call went from `from` to `to`.
    Transferred { from: PartyId, to: PartyId },
    /// Recording writes silence until resumed, at the latest at this time.
    RecordingPaused { auto_resume_at_unix_ms: u64 },
    /// Recording writes audio again (by the timer when `automatic`).
    RecordingResumed { automatic: bool },
    /// The customer left; the others may go on talking.
    PostCall,
    /// The primary agent is done with the contact and owes a wrap-up.
    WrapUp { party: PartyId, user: String },
    /// The call is over.
    Ended { reason: EndReason },
    /// A transfer was handed to the trunk by REFER (RFC 3515).
    TransferReferSent,
    /// The trunk reports the transferred call answered: it left sotto.
    TransferReferSucceeded { status: u16 },
    /// The trunk reports the transfer failed; the call goes on.
    TransferReferFailed { status: u16 },
}

impl CallEventView {
    /// The API's form of a model event; `to_unix_ms` gives wall time.
    pub fn of(event: &CallEvent, to_unix_ms: impl Fn(Instant) -> u64) -> CallEventView {
        match event.clone() {
            CallEvent::Connected => CallEventView::Connected,
            CallEvent::OfferFailed {
                party,
                user,
                reason,
            } => CallEventView::OfferFailed {
                party,
                user,
                reason,
            },
            CallEvent::ConsultAccepted { party } => CallEventView::ConsultAccepted { party },
            CallEvent::ConsultFailed { party, reason } => {
                CallEventView::ConsultFailed { party, reason }
            }
            CallEvent::ControlHandedTo { party } => CallEventView::ControlHandedTo { party },
            CallEvent::Transferred { from, to } => CallEventView::Transferred { from, to },
            CallEvent::RecordingPaused { auto_resume_at } => CallEventView::RecordingPaused {
                auto_resume_at_unix_ms: to_unix_ms(auto_resume_at),
            },
            CallEvent::RecordingResumed { automatic } => {
                CallEventView::RecordingResumed { automatic }
            }
            CallEvent::PostCall => CallEventView::PostCall,
            CallEvent::WrapUp { party, user } => CallEventView::WrapUp { party, user },
            CallEvent::Ended { reason } => CallEventView::Ended { reason },
        }
    }
}
