//! Who and what the contact centre routes between: agents, teams, queues,
//! entry points, contact-variable definitions (`docs/contact-centre.md`).
//! Plain data: the embedded configuration seeds it, the admin API edits it,
//! the store keeps it; the routing core reads it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

macro_rules! name_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> $name {
                $name(s.to_string())
            }
        }
    };
}

name_id!(
    /// An agent, by SIP user name (the same name their phone registers as).
    AgentId
);
name_id!(
    /// A team of agents (a department's group).
    TeamId
);
name_id!(
    /// A queue contacts wait in.
    QueueId
);
name_id!(
    /// An entry point: where contacts come in (a number, a Request-URI user).
    EntryPointId
);

/// How a contact reaches the centre. The order is the order pending offers
/// are listed in (`docs/contact-centre.md#offers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    /// E-mail.
    Email,
    /// Social media messages.
    Social,
    /// Web chat.
    Chat,
    /// A phone call.
    Voice,
}

impl Channel {
    /// Every channel, in offer-list order.
    pub const ALL: [Channel; 4] = [
        Channel::Email,
        Channel::Social,
        Channel::Chat,
        Channel::Voice,
    ];

    /// A small index for per-channel arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Digital channels can be accepted all at once; a call cannot.
    pub fn is_digital(self) -> bool {
        self != Channel::Voice
    }
}

/// How many contacts of each channel an agent handles at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    /// Calls (at most one is ever offered or connected).
    pub voice: u8,
    /// Chats at once.
    pub chat: u8,
    /// E-mails at once.
    pub email: u8,
    /// Social messages at once.
    pub social: u8,
}

impl Default for Capacity {
    fn default() -> Capacity {
        Capacity {
            voice: 1,
            chat: 3,
            email: 1,
            social: 1,
        }
    }
}

impl Capacity {
    /// The limit for `channel` (voice never more than one).
    pub fn of(&self, channel: Channel) -> u8 {
        match channel {
            Channel::Voice => self.voice.min(1),
            Channel::Chat => self.chat,
            Channel::Email => self.email,
            Channel::Social => self.social,
        }
    }
}

/// An agent of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    /// The agent's SIP user name.
    pub id: AgentId,
    /// Shown to colleagues (consult offers, target lists).
    pub display_name: String,
    /// The team whose queues the agent serves.
    pub team: TeamId,
    /// Contacts at once per channel.
    #[serde(default)]
    pub capacity: Capacity,
}

/// A team: the agents that serve a set of queues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Team {
    /// Its id.
    pub id: TeamId,
    /// Its name.
    pub name: String,
    /// The department it belongs to.
    pub department: String,
}

/// How a queue picks among the agents who may take a contact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// The available agent who has waited longest since their last contact
    /// (or since they became available).
    #[default]
    LongestIdle,
}

/// A queue: where contacts of one channel wait for an agent of one team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    /// Its id.
    pub id: QueueId,
    /// Its name, shown on offers.
    pub name: String,
    /// The team whose agents take its contacts.
    pub team: TeamId,
    /// The channel of its contacts.
    pub channel: Channel,
    /// How an agent is picked.
    #[serde(default)]
    pub strategy: Strategy,
    /// How long an offer may go unanswered before it is taken back (RONA),
    /// in seconds in the configuration.
    #[serde(with = "secs")]
    pub rona_timeout: Duration,
    /// Reasons an agent may give when wrapping up a contact of this queue.
    pub wrap_up_reasons: Vec<String>,
    /// After this long in wrap-up, `default_wrap_up` is applied for the agent.
    #[serde(with = "opt_secs", default)]
    pub wrap_up_timeout: Option<Duration>,
    /// The reason applied when the wrap-up times out.
    #[serde(default)]
    pub default_wrap_up: Option<String>,
}

/// What a queued caller hears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiting {
    /// Music on hold while queued.
    pub music: bool,
    /// An announcement repeated every so often, if any: (prompt name, period).
    #[serde(default)]
    pub announcement: Option<(String, u64)>,
}

/// An entry point: contacts that come in here wait in `queue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryPoint {
    /// Its id.
    pub id: EntryPointId,
    /// The Request-URI user or dialled number that reaches it.
    pub address: String,
    /// Where its contacts wait.
    pub queue: QueueId,
    /// What a queued caller hears.
    pub waiting: Waiting,
    /// SIP header → contact variable, for variables an entry point seeds from
    /// the caller's INVITE.
    #[serde(default)]
    pub seed_from_headers: BTreeMap<String, String>,
}

/// The type of a contact variable's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VariableType {
    /// Any text up to 256 characters.
    Text,
    /// A whole number.
    Number,
    /// `true` or `false`.
    Boolean,
}

/// A contact variable's definition (CAD: call-attached data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDef {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: VariableType,
    /// Agents may change it on a contact.
    pub editable: bool,
    /// Never sent to a desktop.
    pub secure: bool,
    /// Shown on the offer (at most six are).
    pub on_offer: bool,
}

/// The directory as the configuration lists it (`[contact_centre]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    /// Show only the last four digits of customers' numbers.
    #[serde(default)]
    pub masking: bool,
    /// Reasons an agent may give for being idle.
    #[serde(default)]
    pub idle_reasons: Vec<String>,
    /// Teams.
    #[serde(default)]
    pub teams: Vec<Team>,
    /// Queues.
    #[serde(default)]
    pub queues: Vec<Queue>,
    /// Entry points.
    #[serde(default)]
    pub entry_points: Vec<EntryPoint>,
    /// Agents.
    #[serde(default)]
    pub agents: Vec<Agent>,
    /// Contact-variable definitions.
    #[serde(default)]
    pub variables: Vec<VariableDef>,
}

impl DirectoryConfig {
    /// The directory it describes, checked ([`Directory::check`]).
    pub fn directory(&self) -> Result<Directory, String> {
        let dir = Directory {
            agents: self
                .agents
                .iter()
                .map(|a| (a.id.clone(), a.clone()))
                .collect(),
            teams: self
                .teams
                .iter()
                .map(|t| (t.id.clone(), t.clone()))
                .collect(),
            queues: self
                .queues
                .iter()
                .map(|q| (q.id.clone(), q.clone()))
                .collect(),
            entry_points: self
                .entry_points
                .iter()
                .map(|e| (e.id.clone(), e.clone()))
                .collect(),
            variables: self.variables.clone(),
            idle_reasons: self.idle_reasons.clone(),
            masking: self.masking,
        };
        dir.check()?;
        Ok(dir)
    }
}

/// The whole directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    /// Agents by id.
    pub agents: BTreeMap<AgentId, Agent>,
    /// Teams by id.
    pub teams: BTreeMap<TeamId, Team>,
    /// Queues by id.
    pub queues: BTreeMap<QueueId, Queue>,
    /// Entry points by id.
    pub entry_points: BTreeMap<EntryPointId, EntryPoint>,
    /// Contact-variable definitions, in display order.
    pub variables: Vec<VariableDef>,
    /// Reasons an agent may give for being idle.
    pub idle_reasons: Vec<String>,
    /// Show only the last four digits of customers' numbers.
    pub masking: bool,
}

impl Directory {
    /// The entry point reached at `address` (a Request-URI user or number).
    pub fn entry_point_at(&self, address: &str) -> Option<&EntryPoint> {
        self.entry_points.values().find(|e| e.address == address)
    }

    /// Whether every reference resolves: agents' teams, queues' teams,
    /// entry points' queues, wrap-up defaults among the reasons.
    pub fn check(&self) -> Result<(), String> {
        for a in self.agents.values() {
            if !self.teams.contains_key(&a.team) {
                return Err(format!("agent {} names no team {}", a.id, a.team));
            }
        }
        for q in self.queues.values() {
            if !self.teams.contains_key(&q.team) {
                return Err(format!("queue {} names no team {}", q.id, q.team));
            }
            if let Some(d) = &q.default_wrap_up {
                if !q.wrap_up_reasons.contains(d) {
                    return Err(format!(
                        "queue {}: default wrap-up {d:?} is not a reason",
                        q.id
                    ));
                }
            }
            if q.rona_timeout.is_zero() {
                return Err(format!("queue {}: rona_timeout must be above 0", q.id));
            }
        }
        for e in self.entry_points.values() {
            if !self.queues.contains_key(&e.queue) {
                return Err(format!("entry point {} names no queue {}", e.id, e.queue));
            }
        }
        Ok(())
    }
}

mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

mod opt_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(d).map(|o| o.map(Duration::from_secs))
    }
}
