//! Who is in a call: parties, what they are, and the part they play.

use crate::dial::DialNumber;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Instant;

/// One leg of a call, numbered in the order the model created it.
/// Ids are never reused within a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PartyId(pub u32);

impl fmt::Display for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "party-{}", self.0)
    }
}

/// Where a consult, a blind transfer or an outbound call is placed.
/// Queues and entry points come with routing (`docs/contact-centre.md#routing`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Target {
    /// A logged-in agent, by user name.
    Agent(String),
    /// An outside number (`docs/call-control.md#dial-numbers`).
    DialNumber(DialNumber),
}

/// What is at the far end of a leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartyKind {
    /// The contact-centre customer of an inbound call.
    Customer,
    /// An agent of this contact centre.
    Agent { user: String },
    /// An outside number; it never gets controls (`docs/call-control.md#conference`).
    DialNumber(DialNumber),
}

impl PartyKind {
    pub(crate) fn from_target(target: &Target) -> PartyKind {
        match target {
            Target::Agent(user) => PartyKind::Agent { user: user.clone() },
            Target::DialNumber(n) => PartyKind::DialNumber(n.clone()),
        }
    }

    /// Only agents can hold controls, whatever their role.
    pub fn is_agent(&self) -> bool {
        matches!(self, PartyKind::Agent { .. })
    }

    pub fn agent_user(&self) -> Option<&str> {
        match self {
            PartyKind::Agent { user } => Some(user),
            _ => None,
        }
    }
}

/// The part a party plays in the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The far party the contact is about: the inbound caller, or whoever an
    /// agent called out to (an outbound call's callee takes this role).
    Customer,
    /// The agent in control: the only one with the full set of actions,
    /// and the one who gets a wrap-up (`docs/call-control.md#ending`).
    Primary,
    /// The party of an ongoing consult.
    Consulted,
    /// A conference member other than the customer and the primary agent.
    Participant,
}

/// Why a leg was not answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FailReason {
    /// Rang out, or the agent's offer was not accepted in time (RONA).
    NoAnswer,
    Busy,
    /// Declined by the callee or the network (4xx/5xx/6xx).
    Rejected,
}

/// A party present in the call (ringing or answered). Parties that left
/// are removed from the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub id: PartyId,
    pub kind: PartyKind,
    pub role: Role,
    /// When the leg was dialled, then when it answered: "in the call
    /// longest" (`docs/call-control.md#conference`) compares answer times.
    pub joined_at: Instant,
    /// On hold: hears music on hold (or silence) and is not heard.
    pub held: bool,
    /// The leg answered. For an agent the runtime reports this when the
    /// agent accepts the offer; for a dial number when the number answers.
    pub answered: bool,
}

impl Party {
    /// Agents who answered and do not sit in the customer's seat have
    /// controls; customers and dial numbers never do.
    pub fn has_controls(&self) -> bool {
        self.kind.is_agent() && self.answered && self.role != Role::Customer
    }
}
