//! What the model asks of the runtime, drained with
//! [`CallModel::poll_effect`](super::CallModel::poll_effect).

use super::party::{FailReason, PartyId, Target};
use std::time::Instant;

/// One thing the runtime must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Effect {
    /// Place a leg toward `target` (an INVITE, or an offer to an agent).
    /// The runtime later reports `on_answered`, `on_failed` or `on_hung_up`.
    Dial { party: PartyId, target: Target },
    /// Tear a leg down: BYE when answered, CANCEL while ringing.
    /// Never emitted for a party that hung up or failed by itself.
    Hangup { party: PartyId },
    /// Put an answered leg on hold: re-INVITE with `a=sendonly` toward the
    /// peer (RFC 3264 §8.4) and music on hold (or silence) in its media.
    Hold { party: PartyId },
    /// Take a leg off hold: re-INVITE with `a=sendrecv`.
    Unhold { party: PartyId },
    /// Who hears whom changed: re-read [`CallModel::topology`](super::CallModel::topology).
    Media,
    /// Send RFC 4733 telephone-events from `from` toward the parties it hears.
    SendDtmf {
        from: PartyId,
        to: Vec<PartyId>,
        digits: String,
    },
    /// Tell the agents' desktops (and the contact record) something happened.
    Event(CallEvent),
}

/// What the desktops and the contact record are told.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallEvent {
    /// Everybody answered: the call is up.
    Connected,
    /// The consulted agent accepted (or the dial number answered):
    /// Transfer and Conference are now enabled.
    ConsultAccepted { party: PartyId },
    /// The agent a queued call was offered to did not take it; the call
    /// waits for the next one.
    OfferFailed {
        party: PartyId,
        user: String,
        reason: FailReason,
    },
    /// The consulted party did not answer; told to the primary agent.
    ConsultFailed { party: PartyId, reason: FailReason },
    /// `party` now holds the Primary role.
    ControlHandedTo { party: PartyId },
    /// The call went from `from` to `to` (consult or blind transfer).
    Transferred { from: PartyId, to: PartyId },
    /// Recording stopped writing audio; it resumes by itself at `auto_resume_at`.
    RecordingPaused { auto_resume_at: Instant },
    /// Recording writes audio again (by the timer when `automatic`).
    RecordingResumed { automatic: bool },
    /// The customer left while others stay: nobody new can be added.
    PostCall,
    /// `party` (the primary agent) is done with the contact and owes a
    /// wrap-up reason (`docs/contact-centre.md#wrap-up`). Consulted and conference agents
    /// never get one.
    WrapUp { party: PartyId, user: String },
    /// The call is over; every leg has been (or is being) hung up.
    Ended { reason: EndReason },
}

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "why", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum EndReason {
    /// The primary agent ended it.
    EndedBy { party: PartyId },
    /// Only one party was left (`docs/call-control.md#conference`).
    LastPartyLeft,
    /// A leg needed to set the call up was not answered
    /// (the inbound call's agent, the outbound call's agent or callee).
    NotAnswered { party: PartyId, reason: FailReason },
    /// The blind-transfer target did not accept: the call is dropped
    /// (`docs/call-control.md#blind-transfer`).
    TransferFailed { party: PartyId, reason: FailReason },
}
