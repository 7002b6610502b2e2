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
    keys: HashMap<AgentId, [Option<Instant>; 4]>,
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
        let now_in = self.keys.get(agent).and_then(|k| k[channel.index()]);
        if (ok && now_in == Some(since)) || (!ok && now_in.is_none()) {
            return;
        }
        let set = self.sets.entry((team.clone(), channel)).or_default();
        if let Some(old) = now_in {
            set.remove(&(old, agent.clone()));
        }
        if ok {
            set.insert((since, agent.clone()));
        }
        let slot = match self.keys.get_mut(agent) {
            Some(k) => k,
            None => self.keys.entry(agent.clone()).or_default(),
        };
        slot[channel.index()] = ok.then_some(since);
    }

    /// Whether `agent` may take a contact of `channel` now.
    pub(super) fn contains(&self, channel: Channel, agent: &AgentId) -> bool {
        self.keys
            .get(agent)
            .is_some_and(|k| k[channel.index()].is_some())
    }

    /// Whether `agent` may take anything now.
    pub(super) fn any(&self, agent: &AgentId) -> bool {
        self.keys
            .get(agent)
            .is_some_and(|k| k.iter().any(Option::is_some))
    }

    /// The agent of `team` free longest for `channel`.
    pub(super) fn best(&self, team: &TeamId, channel: Channel) -> Option<AgentId> {
        self.sets
            .get(&(team.clone(), channel))?
            .first()
            .map(|(_, a)| a.clone())
    }

    /// The queues `team` serves.
    pub(super) fn queues_of(&self, team: &TeamId) -> &[(QueueId, Channel)] {
        self.team_queues.get(team).map_or(&[], Vec::as_slice)
    }
}
