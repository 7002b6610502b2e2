//! Agents' actions and the rules that refuse them.
//!
//! `CallModel::check` is the single place an action is judged: the action
//! methods call it before changing anything, and [`CallModel::allowed`] asks
//! it about every action, so the buttons a desktop shows cannot drift from
//! what the model does.

use super::{CallModel, Phase, Role, MAX_PARTICIPANTS};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An action an agent takes from the desktop (or the softphone: a
/// re-INVITE with `a=sendonly` is a [`Action::Hold`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Hold the customer.
    Hold,
    /// Take the customer off hold (during a consult: holds the consulted party).
    Resume,
    /// Start a consult: holds the customer and dials the target.
    Consult,
    /// Swap which of the customer and the consulted party is held.
    Toggle,
    /// End the consult (by the consulted agent: leave it).
    EndConsult,
    /// Hand the call to the consulted party; the primary agent leaves.
    Transfer,
    /// Hand the call to a target without talking to it first.
    BlindTransfer,
    /// Merge the consult into a conference.
    Conference,
    /// Leave a conference; the call goes on for the others.
    LeaveConference,
    /// End the call for everybody.
    End,
    SendDtmf,
    PauseRecording,
    ResumeRecording,
}

impl Action {
    pub const ALL: [Action; 13] = [
        Action::Hold,
        Action::Resume,
        Action::Consult,
        Action::Toggle,
        Action::EndConsult,
        Action::Transfer,
        Action::BlindTransfer,
        Action::Conference,
        Action::LeaveConference,
        Action::End,
        Action::SendDtmf,
        Action::PauseRecording,
        Action::ResumeRecording,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Hold => "hold",
            Action::Resume => "resume",
            Action::Consult => "consult",
            Action::Toggle => "toggle",
            Action::EndConsult => "end-consult",
            Action::Transfer => "transfer",
            Action::BlindTransfer => "blind-transfer",
            Action::Conference => "conference",
            Action::LeaveConference => "leave-conference",
            Action::End => "end",
            Action::SendDtmf => "send-dtmf",
            Action::PauseRecording => "pause-recording",
            Action::ResumeRecording => "resume-recording",
        }
    }
}

impl std::str::FromStr for Action {
    type Err = String;
    /// The API's name of an action (`end-consult`), as [`Action::as_str`] writes it.
    fn from_str(s: &str) -> Result<Action, String> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| format!("no action {s:?}"))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Stable ids of the rules that refuse actions (the API returns them).
pub mod rule {
    pub const CALL_ENDED: &str = "call-ended";
    pub const NO_CONTROLS: &str = "no-controls";
    pub const PRIMARY_ONLY: &str = "primary-only";
    pub const NOT_CONNECTED: &str = "not-connected";
    pub const HELD_CALL_CANNOT_END: &str = "held-call-cannot-end";
    pub const HELD_CALL_CANNOT_BE_LEFT: &str = "held-call-cannot-be-left";
    pub const ALREADY_HELD: &str = "already-held";
    pub const NOT_HELD: &str = "not-held";
    pub const NEVER_BOTH_HELD: &str = "never-both-held";
    pub const CONSULT_IN_PROGRESS: &str = "consult-in-progress";
    pub const NO_CONSULT: &str = "no-consult";
    pub const CONSULT_NOT_ACCEPTED: &str = "consult-not-accepted";
    pub const CONFERENCE_FULL: &str = "conference-full";
    pub const CONFERENCE_IN_PROGRESS: &str = "conference-in-progress";
    pub const NOT_IN_CONFERENCE: &str = "not-in-conference";
    pub const POST_CALL: &str = "post-call-no-new-parties";
    pub const NO_CUSTOMER: &str = "no-customer";
    pub const ALREADY_IN_CALL: &str = "already-in-call";
    pub const RECORDING_OFF: &str = "recording-off";
    pub const RECORDING_NOT_IN_CONSULT: &str = "recording-not-in-consult";
    pub const RECORDING_NOT_IN_CONFERENCE: &str = "recording-not-in-conference";
    pub const RECORDING_ALREADY_PAUSED: &str = "recording-already-paused";
    pub const RECORDING_NOT_PAUSED: &str = "recording-not-paused";
    pub const DTMF_NOBODY_LISTENING: &str = "dtmf-nobody-listening";
    pub const DTMF_DIGITS: &str = "dtmf-digits";
}

/// Why an action was not taken. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{action} refused: {message}")]
pub struct Refused {
    pub action: Action,
    /// One of [`rule`]'s ids.
    pub rule: &'static str,
    pub message: String,
}

impl Refused {
    pub(super) fn new(action: Action, rule: &'static str) -> Refused {
        Refused {
            action,
            rule,
            message: explain(rule).to_string(),
        }
    }
}

fn explain(r: &'static str) -> &'static str {
    match r {
        rule::CALL_ENDED => "the call has ended",
        rule::NO_CONTROLS => "this party is not in the call or has no call controls",
        rule::PRIMARY_ONLY => "only the primary agent can do this",
        rule::NOT_CONNECTED => "the call is not connected yet",
        rule::HELD_CALL_CANNOT_END => "a held call cannot be ended; resume it first",
        rule::HELD_CALL_CANNOT_BE_LEFT => "resume the held party before leaving",
        rule::ALREADY_HELD => "the customer is already on hold",
        rule::NOT_HELD => "the customer is not on hold",
        rule::NEVER_BOTH_HELD => {
            "the customer and the consulted party cannot both be on hold; use toggle"
        }
        rule::CONSULT_IN_PROGRESS => "a consult is in progress; end it first",
        rule::NO_CONSULT => "there is no consult",
        rule::CONSULT_NOT_ACCEPTED => "the consulted party has not accepted yet",
        rule::CONFERENCE_FULL => {
            "a call holds at most 8 participants, customer and primary agent included"
        }
        rule::CONFERENCE_IN_PROGRESS => "not possible during a conference",
        rule::NOT_IN_CONFERENCE => "the call is not a conference",
        rule::POST_CALL => "the customer has left; nobody new can be added",
        rule::NO_CUSTOMER => "the customer has left the call",
        rule::ALREADY_IN_CALL => "that agent is already in the call",
        rule::RECORDING_OFF => "this call is not recorded",
        rule::RECORDING_NOT_IN_CONSULT => "recording cannot be paused or resumed during a consult",
        rule::RECORDING_NOT_IN_CONFERENCE => {
            "recording cannot be paused or resumed during a conference"
        }
        rule::RECORDING_ALREADY_PAUSED => "recording is already paused",
        rule::RECORDING_NOT_PAUSED => "recording is not paused",
        rule::DTMF_NOBODY_LISTENING => "nobody is connected to receive the digits",
        rule::DTMF_DIGITS => "DTMF digits are 0-9, *, # and A-D",
        _ => "refused",
    }
}

impl CallModel {
    /// Every action `by` could take now: exactly those `check`
    /// lets through. Empty for customers, dial numbers, ringing legs and
    /// parties not in the call.
    pub fn allowed(&self, by: super::PartyId) -> Vec<Action> {
        Action::ALL
            .into_iter()
            .filter(|&a| self.check(by, a).is_ok())
            .collect()
    }

    /// Judges `action` by `by` against the rules of `docs/call-control.md`. Target-specific
    /// rules (an agent already in the call, DTMF digits) are checked by the
    /// action methods on top of this.
    pub(super) fn check(&self, by: super::PartyId, action: Action) -> Result<(), Refused> {
        use Action as A;
        let no = |r| Err(Refused::new(action, r));
        if self.phase == Phase::Ended {
            return no(rule::CALL_ENDED);
        }
        let Some(me) = self.party(by) else {
            return no(rule::NO_CONTROLS);
        };
        if !me.has_controls() {
            return no(rule::NO_CONTROLS);
        }
        match (me.role, action) {
            (Role::Consulted, A::EndConsult) | (Role::Participant, A::LeaveConference) => {
                return Ok(())
            }
            (Role::Primary, _) => {}
            _ => return no(rule::PRIMARY_ONLY),
        }
        if matches!(self.phase, Phase::Dialing { .. }) && action != A::End {
            return no(rule::NOT_CONNECTED);
        }
        let customer = self.customer();
        let consult = self.consulted();
        let customer_held = customer.is_some_and(|c| c.held);
        match action {
            A::Hold => match (customer, consult) {
                (None, _) => no(rule::NO_CUSTOMER),
                (Some(c), _) if c.held => no(rule::ALREADY_HELD),
                (Some(_), Some(_)) => no(rule::NEVER_BOTH_HELD),
                (Some(_), None) => Ok(()),
            },
            A::Resume => match customer {
                None => no(rule::NO_CUSTOMER),
                Some(c) if !c.held => no(rule::NOT_HELD),
                Some(_) => Ok(()),
            },
            A::Consult => {
                if customer.is_none() {
                    no(rule::POST_CALL)
                } else if consult.is_some() {
                    no(rule::CONSULT_IN_PROGRESS)
                } else if self.parties.len() >= MAX_PARTICIPANTS {
                    no(rule::CONFERENCE_FULL)
                } else {
                    Ok(())
                }
            }
            A::Toggle => match (consult, customer) {
                (None, _) => no(rule::NO_CONSULT),
                (_, None) => no(rule::NO_CUSTOMER),
                _ => Ok(()),
            },
            A::EndConsult => match consult {
                None => no(rule::NO_CONSULT),
                Some(_) => Ok(()),
            },
            A::Transfer | A::Conference => match (consult, customer) {
                (None, _) => no(rule::NO_CONSULT),
                (_, None) if action == A::Conference => no(rule::POST_CALL),
                (_, None) => no(rule::NO_CUSTOMER),
                (Some(c), _) if !c.answered => no(rule::CONSULT_NOT_ACCEPTED),
                _ => Ok(()),
            },
            A::BlindTransfer => {
                if customer.is_none() {
                    no(rule::NO_CUSTOMER)
                } else if consult.is_some() {
                    no(rule::CONSULT_IN_PROGRESS)
                } else if self.conference {
                    no(rule::CONFERENCE_IN_PROGRESS)
                } else {
                    Ok(())
                }
            }
            A::LeaveConference => {
                if !self.conference {
                    no(rule::NOT_IN_CONFERENCE)
                } else if consult.is_some() {
                    no(rule::CONSULT_IN_PROGRESS)
                } else if customer_held {
                    no(rule::HELD_CALL_CANNOT_BE_LEFT)
                } else {
                    Ok(())
                }
            }
            A::End => {
                if self.parties.iter().any(|p| p.held) {
                    no(rule::HELD_CALL_CANNOT_END)
                } else {
                    Ok(())
                }
            }
            A::SendDtmf => {
                if self.hears(by).is_empty() {
                    no(rule::DTMF_NOBODY_LISTENING)
                } else {
                    Ok(())
                }
            }
            A::PauseRecording | A::ResumeRecording => self.check_recording(action),
        }
    }

    fn check_recording(&self, action: Action) -> Result<(), Refused> {
        use super::Recording as R;
        let no = |r| Err(Refused::new(action, r));
        match (self.recording, action) {
            (R::Off, _) => no(rule::RECORDING_OFF),
            _ if self.consulted().is_some() => no(rule::RECORDING_NOT_IN_CONSULT),
            _ if self.conference => no(rule::RECORDING_NOT_IN_CONFERENCE),
            (R::Paused { .. }, Action::PauseRecording) => no(rule::RECORDING_ALREADY_PAUSED),
            (R::On, Action::ResumeRecording) => no(rule::RECORDING_NOT_PAUSED),
            _ => Ok(()),
        }
    }
}
