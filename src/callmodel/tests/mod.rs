//! Call-model tests against a simulated clock (a base `Instant` plus
//! durations). Each rule of `docs/call-control.md` has a test named after it.

mod allowed;
mod conference;
mod consult;
mod hold_end;
mod recording;
mod transfer;

use super::*;
use crate::dial::DialNumber;
use std::time::Duration;

/// The inbound customer and primary agent ids (the order `inbound` adds them).
pub(super) const CUSTOMER: PartyId = PartyId(0);
pub(super) const PRIMARY: PartyId = PartyId(1);

/// A simulated clock: time only moves when a test says so.
pub(super) struct Clock {
    base: Instant,
    elapsed: Duration,
}

impl Clock {
    pub(super) fn new() -> Clock {
        Clock {
            base: Instant::now(),
            elapsed: Duration::ZERO,
        }
    }

    /// Moves time on by `secs` seconds and returns the new now.
    pub(super) fn tick(&mut self, secs: u64) -> Instant {
        self.elapsed += Duration::from_secs(secs);
        self.now()
    }

    pub(super) fn now(&self) -> Instant {
        self.base + self.elapsed
    }

    pub(super) fn unix_ms(&self) -> impl Fn(Instant) -> u64 + '_ {
        move |i| 1_700_000_000_000 + i.duration_since(self.base).as_millis() as u64
    }
}

pub(super) fn agent(user: &str) -> Target {
    Target::Agent(user.to_string())
}

pub(super) fn number(n: &str) -> Target {
    Target::DialNumber(DialNumber::parse(n).unwrap())
}

pub(super) fn drain(m: &mut CallModel) -> Vec<Effect> {
    std::iter::from_fn(|| m.poll_effect()).collect()
}

pub(super) fn events(effects: &[Effect]) -> Vec<CallEvent> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Event(ev) => Some(ev.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn hangups(effects: &[Effect]) -> Vec<PartyId> {
    let mut ids: Vec<PartyId> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Hangup { party } => Some(*party),
            _ => None,
        })
        .collect();
    ids.sort();
    ids
}

pub(super) fn wrap_ups(effects: &[Effect]) -> Vec<PartyId> {
    events(effects)
        .into_iter()
        .filter_map(|e| match e {
            CallEvent::WrapUp { party, .. } => Some(party),
            _ => None,
        })
        .collect()
}

pub(super) fn held(m: &CallModel, id: PartyId) -> bool {
    m.party(id).expect("party present").held
}

pub(super) fn hears(m: &CallModel, id: PartyId) -> Vec<PartyId> {
    m.topology()
        .into_iter()
        .find(|(p, _)| *p == id)
        .map(|(_, h)| h)
        .unwrap_or_default()
}

/// An inbound call from a customer answered by agent "alice", recorded;
/// effects drained.
pub(super) fn connected(clock: &mut Clock) -> CallModel {
    let mut m =
        CallModel::inbound(clock.now(), PartyKind::Customer, "alice".into()).with_recording(true);
    m.on_answered(clock.tick(2), PRIMARY);
    assert_eq!(m.state(), CallState::Connected);
    drain(&mut m);
    m
}

/// `connected`, then a consult to agent `user`, accepted; effects drained.
pub(super) fn consulting(clock: &mut Clock, user: &str) -> (CallModel, PartyId) {
    let mut m = connected(clock);
    let c = m.consult(clock.tick(5), PRIMARY, agent(user)).unwrap();
    m.on_answered(clock.tick(3), c);
    assert_eq!(m.state(), CallState::Consulting);
    drain(&mut m);
    (m, c)
}

/// A conference of the customer, alice (primary) and the given agents,
/// each consulted and merged in turn; returns their ids.
pub(super) fn conference_with(clock: &mut Clock, users: &[&str]) -> (CallModel, Vec<PartyId>) {
    let mut m = connected(clock);
    let mut ids = Vec::new();
    for user in users {
        let c = m.consult(clock.tick(1), PRIMARY, agent(user)).unwrap();
        m.on_answered(clock.tick(1), c);
        m.conference(clock.tick(1), PRIMARY).unwrap();
        ids.push(c);
    }
    drain(&mut m);
    (m, ids)
}

#[test]
fn inbound_call_dials_the_agent_and_connects_when_he_answers() {
    let mut clock = Clock::new();
    let mut m = CallModel::inbound(clock.now(), PartyKind::Customer, "alice".into());
    assert_eq!(m.state(), CallState::Dialing);
    assert_eq!(
        drain(&mut m),
        vec![Effect::Dial {
            party: PRIMARY,
            target: agent("alice")
        }]
    );
    assert!(
        m.allowed(PRIMARY).is_empty(),
        "a ringing agent has no controls"
    );
    m.on_answered(clock.tick(4), PRIMARY);
    assert_eq!(m.state(), CallState::Connected);
    assert!(events(&drain(&mut m)).contains(&CallEvent::Connected));
    assert_eq!(hears(&m, CUSTOMER), vec![PRIMARY]);
    assert_eq!(hears(&m, PRIMARY), vec![CUSTOMER]);
}

#[test]
fn originated_call_dials_the_agent_then_the_number() {
    let mut clock = Clock::new();
    let mut m = CallModel::originate(clock.now(), "alice".into(), number("+12015532447"));
    let agent_leg = PartyId(0);
    assert_eq!(
        drain(&mut m),
        vec![Effect::Dial {
            party: agent_leg,
            target: agent("alice")
        }]
    );
    m.on_answered(clock.tick(2), agent_leg);
    let far = PartyId(1);
    assert_eq!(
        drain(&mut m),
        vec![
            Effect::Dial {
                party: far,
                target: number("+12015532447")
            },
            Effect::Media
        ]
    );
    assert_eq!(m.state(), CallState::Dialing);
    assert_eq!(
        m.allowed(agent_leg),
        vec![Action::End],
        "the agent may cancel"
    );
    m.on_answered(clock.tick(6), far);
    assert_eq!(m.state(), CallState::Connected);
    assert_eq!(m.party(far).unwrap().role, Role::Customer);
    assert!(m.allowed(far).is_empty());
}

#[test]
fn originated_call_not_answered_ends_with_a_wrap_up_for_the_agent() {
    let mut clock = Clock::new();
    let mut m = CallModel::originate(clock.now(), "alice".into(), agent("bob"));
    m.on_answered(clock.tick(1), PartyId(0));
    drain(&mut m);
    m.on_failed(clock.tick(20), PartyId(1), FailReason::NoAnswer);
    let fx = drain(&mut m);
    assert_eq!(m.state(), CallState::Ended);
    assert_eq!(hangups(&fx), vec![PartyId(0)]);
    assert_eq!(wrap_ups(&fx), vec![PartyId(0)]);
    assert!(events(&fx).contains(&CallEvent::Ended {
        reason: EndReason::NotAnswered {
            party: PartyId(1),
            reason: FailReason::NoAnswer
        }
    }));
}

#[test]
fn late_reports_about_unknown_parties_are_ignored() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    m.on_answered(clock.tick(1), PartyId(42));
    m.on_hung_up(clock.tick(1), PartyId(42));
    m.on_failed(clock.tick(1), PartyId(42), FailReason::Busy);
    assert!(drain(&mut m).is_empty());
    assert_eq!(m.state(), CallState::Connected);
}

#[test]
fn view_shows_state_parties_and_allowed_actions_in_api_words() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    let ext = m
        .consult(clock.tick(3), PRIMARY, number("+1 (201) 553-2447"))
        .unwrap();
    let view = m.view(clock.unix_ms());
    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(json["state"], "consult-requested");
    assert_eq!(json["recording"], serde_json::json!({ "state": "on" }));
    let parties = json["parties"].as_array().unwrap();
    assert_eq!(parties.len(), 3);
    assert_eq!(parties[0]["kind"], "customer");
    assert_eq!(parties[0]["held"], true);
    assert_eq!(parties[0]["joined_at_unix_ms"], 1_700_000_000_000u64);
    assert_eq!(parties[1]["user"], "alice");
    assert_eq!(parties[1]["role"], "primary");
    assert_eq!(parties[1]["joined_at_unix_ms"], 1_700_000_002_000u64);
    assert_eq!(parties[1]["has_controls"], true);
    assert_eq!(
        parties[1]["allowed"],
        serde_json::json!(["resume", "toggle", "end-consult"])
    );
    assert_eq!(parties[2]["id"], ext.0);
    assert_eq!(parties[2]["kind"], "dial-number");
    assert_eq!(parties[2]["number"], "+12015532447");
    assert_eq!(parties[2]["answered"], false);
    assert_eq!(parties[2]["allowed"], serde_json::json!([]));
}

#[test]
fn view_shows_when_a_paused_recording_resumes() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    m.pause_recording(clock.tick(8), PRIMARY, Duration::from_secs(60))
        .unwrap();
    let json = serde_json::to_value(m.view(clock.unix_ms())).unwrap();
    assert_eq!(
        json["recording"],
        serde_json::json!({ "state": "paused", "auto_resume_at_unix_ms": 1_700_000_070_000u64 })
    );
}
