//! Who may take what, indexed for routing: per team and channel, the agents
//! who may be offered a contact now, ordered by how long they have been free
//! (longest-idle first, `docs/contact-centre.md#routing`). Picking an agent is
//! the first element of an ordered set; keeping it current costs one removal
//! and one insertion when an agent's state changes.

use super::directory::{AgentId, Channel, Directory, QueueId, TeamId};
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

#[derive(Debug, Default)]
pub(super) struct Ready {
    sets: HashMap<(TeamId, Channel), BTreeSet<(Instant, AgentId)>>,
    /// Where each agent is in `sets`, per channel.
    keys: HashMap<(AgentId, Channel), Instant>,
    /// The queues each team serves, with their channel.
    team_queues: HashMap<TeamId, Vec<(QueueId, Channel)>>,
}

impl Ready {
    pub(super) fn new(dir: &Directory) -> Ready {
        let mut team_queues: HashMap<TeamId, Vec<(QueueId, Channel)>> = HashMap::new();
        for q in dir.queues.values() {
            team_queues
                .entry(q.team.clone())
                .or_default()
                .push((q.id.clone(), q.channel));
        }
        Ready {
            team_queues,
            ..Ready::default()
        }
    }

    /// Indexes `agent` (free since `since`) for `channel` when `ok`, or takes
    /// it out.
    pub(super) fn set(
        &mut self,
        team: &TeamId,
        channel: Channel,
        agent: &AgentId,
        since: Instant,
        ok: bool,
    ) {
        let key = (agent.clone(), channel);
        let now_in = self.keys.get(&key).copied();
        if ok && now_in == Some(since) {
            return;
        }
        let set = self.sets.entry((team.clone(), channel)).or_default();
        if let Some(old) = now_in {
            set.remove(&(old, agent.clone()));
            self.keys.remove(&key);
        }
        if ok {
            set.insert((since, agent.clone()));
            self.keys.insert(key, since);
        }
    }

    /// The agent of `team` free longest for `channel`.
    pub(super) fn best(&self, team: &TeamId, channel: Channel) -> Option<AgentId> {
        self.sets
            .get(&(team.clone(), channel))?
            .first()
            .map(|(_, a)| a.clone())
    }

    pub(super) fn contains(&self, _team: &TeamId, channel: Channel, agent: &AgentId) -> bool {
        self.keys.contains_key(&(agent.clone(), channel))
    }

    /// The queues `team` serves.
    pub(super) fn queues_of(&self, team: &TeamId) -> Vec<(QueueId, Channel)> {
        self.team_queues.get(team).cloned().unwrap_or_default()
    }
}
