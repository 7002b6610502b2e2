//! Whole call flows through the call core, in-process: the core drives its
//! own sans-IO SIP endpoint, phones and a trunk are `sotto-testua` phones on
//! an in-memory network, the clock is simulated, and a stand-in runtime
//! records what the core asks of media, the views and the store. No sockets;
//! each test runs in milliseconds.

use super::output::{CallId, LegId, MediaOp, Output};
use super::{ActionArgs, CallControlConfig, CallCore, ControlError, PortPool};
use crate::callmodel::{Action, CallEventView};
use crate::registrar::ExpiryPolicy;
use crate::store::CallRecord;
use crate::view::CallSummary;
use sotto_sip::endpoint::{Endpoint, EndpointConfig, Event};
use sotto_sip::sdp::Direction;
use sotto_sip::transaction::Timers;
use sotto_testua::{AnswerMode, CallHandle, CallState, Net, PhoneConfig, Sut};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const SOTTO: &str = "127.0.0.1:5060";
const TRUNK: &str = "127.0.0.50:5060";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// One room as the stand-in runtime keeps it.
#[derive(Debug, Default)]
struct Room {
    legs: BTreeSet<LegId>,
    hears: HashMap<LegId, Vec<LegId>>,
    recording: Option<String>,
    paused: bool,
}

/// The runtime's stand-in: carries nothing out, remembers everything.
#[derive(Debug, Default)]
struct Media {
    bound: HashMap<LegId, u16>,
    /// Ports "another process" holds: binding them fails.
    taken_elsewhere: HashSet<u16>,
    /// Legs whose port could not be bound: what is asked of them later in
    /// the same turn is ignored, as the runtime ignores it.
    unbound: HashSet<LegId>,
    rooms: HashMap<CallId, Room>,
    views: HashMap<String, (CallSummary, Vec<LegId>)>,
    ended: Vec<CallRecord>,
    events: Vec<(CallId, CallEventView)>,
    dtmf: Vec<(LegId, String)>,
    /// Calls that came in at an entry point: (call, entry point, number).
    queued: Vec<(CallId, String, String)>,
}

/// The system under test: the core and its stand-in runtime.
struct Edge {
    core: CallCore,
    media: Media,
}

impl Edge {
    fn drain(&mut self, now: Instant, ep: &mut Endpoint) {
        for _ in 0..16 {
            let mut failed = Vec::new();
            while let Some(out) = self.core.poll_output() {
                if let Some(leg) = self.media.apply(out) {
                    failed.push(leg);
                }
            }
            if failed.is_empty() {
                return;
            }
            for leg in failed {
                self.core.on_bind_failed(now, leg, ep);
            }
        }
        panic!("bind failures do not settle");
    }
}

impl Media {
    /// Applies one output; a leg whose port cannot be bound is returned.
    fn apply(&mut self, out: Output) -> Option<LegId> {
        match out {
            Output::Media(op) => return self.media(op),
            Output::Publish { view, legs } => {
                self.views.insert(view.id.clone(), (*view, legs));
            }
            Output::Ended { call, record } => {
                assert!(
                    self.views.remove(&call.to_string()).is_some(),
                    "{call} ended twice or was never shown"
                );
                self.ended.push(record);
            }
            Output::Event { call, event } => self.events.push((call, event)),
            Output::Registrations(_) => {}
            Output::Queued {
                call,
                entry_point,
                number,
                ..
            } => self.queued.push((call, entry_point, number)),
        }
        None
    }

    fn media(&mut self, op: MediaOp) -> Option<LegId> {
        let leg_of = match &op {
            MediaOp::Remote { leg, .. } | MediaOp::AddLeg { leg, .. } => Some(*leg),
            MediaOp::RemoveLeg { leg, .. } | MediaOp::SendDtmf { leg, .. } => Some(*leg),
            _ => None,
        };
        if leg_of.is_some_and(|l| self.unbound.contains(&l)) {
            return None;
        }
        match op {
            MediaOp::Bind { leg, port } => {
                if self.taken_elsewhere.contains(&port) {
                    self.unbound.insert(leg);
                    return Some(leg);
                }
                assert!(
                    !self.bound.values().any(|p| *p == port),
                    "port {port} bound twice"
                );
                self.bound.insert(leg, port);
            }
            MediaOp::Release { leg } => {
                self.bound.remove(&leg);
                for room in self.rooms.values_mut() {
                    room.legs.remove(&leg);
                }
            }
            MediaOp::Remote { leg, .. } => {
                assert!(self.bound.contains_key(&leg), "{leg} not bound");
            }
            MediaOp::OpenRoom { call } => {
                assert!(self.rooms.insert(call, Room::default()).is_none());
            }
            MediaOp::CloseRoom { call } => {
                assert!(self.rooms.remove(&call).is_some(), "{call} had no room");
            }
            MediaOp::AddLeg { call, leg, .. } => {
                assert!(self.bound.contains_key(&leg), "{leg} added unbound");
                let room = self.rooms.get_mut(&call).expect("a room");
                assert!(room.legs.insert(leg), "{leg} added twice");
            }
            MediaOp::RemoveLeg { call, leg } => {
                if let Some(room) = self.rooms.get_mut(&call) {
                    room.legs.remove(&leg);
                    room.hears.remove(&leg);
                }
            }
            MediaOp::Topology { call, hears } => {
                let room = self.rooms.get_mut(&call).expect("a room");
                for (leg, heard) in hears {
                    room.hears.insert(leg, heard);
                }
            }
            MediaOp::SendDtmf { leg, digits, .. } => self.dtmf.push((leg, digits)),
            MediaOp::StartRecording { call, name, .. } => {
                self.rooms.get_mut(&call).expect("a room").recording = Some(name);
            }
            MediaOp::RecordSides { .. } => {}
            MediaOp::PauseRecording { call, .. } => {
                self.rooms.get_mut(&call).expect("a room").paused = true;
            }
            MediaOp::ResumeRecording { call } => {
                self.rooms.get_mut(&call).expect("a room").paused = false;
            }
        }
        None
    }
}

fn config(start: Instant) -> CallControlConfig {
    CallControlConfig {
        local: addr(SOTTO),
        realm: "127.0.0.1".into(),
        user_agent: "sotto-test".into(),
        max_calls: 100,
        echo_user: Some("echo".into()),
        users: ["agent1", "agent2", "agent3"]
            .into_iter()
            .map(|u| (u.to_string(), u.to_string()))
            .collect(),
        entry_points: [("support".to_string(), "support-ep".to_string())].into(),
        expiry: ExpiryPolicy {
            min: 60,
            max: 3600,
            default: 3600,
        },
        nonce_secret: b"a test secret".to_vec(),
        denoise: sotto_media::denoise::Denoise::Inbound,
        echo_denoise: sotto_media::denoise::Denoise::Inbound,
        auth_algorithms: vec![sotto_sip::auth::Algorithm::Md5],
        epoch_unix_ms: 1_700_000_000_000,
        epoch_instant: start,
        trunk_uri: format!("sip:{{number}}@{TRUNK}"),
        trunk_refer: false,
        record: true,
        recording_auto_resume: Duration::from_secs(30),
        recording_pause_max: Duration::from_secs(300),
    }
}

/// The core, phones on an in-memory network, and the simulated clock.
struct Lab {
    net: Net,
    sut: Sut<Edge>,
    customer: SocketAddr,
    trunk: SocketAddr,
}

impl Lab {
    fn new() -> Lab {
        Lab::with_config(|_| {})
    }

    fn with_config(change: impl FnOnce(&mut CallControlConfig)) -> Lab {
        let mut net = Net::new();
        let start = net.now();
        let mut cfg = config(start);
        change(&mut cfg);
        let ports = PortPool::new(addr(SOTTO).ip(), 20000, 20099);
        let core = CallCore::new(cfg, ports, 7);
        let endpoint = Endpoint::new(
            EndpointConfig {
                timers: Timers::default(),
                via_host: SOTTO.into(),
                user_agent: Some("sotto-test".into()),
                allow: super::ALLOW.into(),
            },
            11,
        );
        let edge = Edge {
            core,
            media: Media::default(),
        };
        let sut = Sut::new(addr(SOTTO), endpoint, edge, |e, now, ev: Event, ep| {
            e.core.on_event(now, ev, ep);
            e.drain(now, ep);
        })
        .with_timers(
            |e, now, ep| {
                e.core.handle_timeout(now, ep);
                e.drain(now, ep);
            },
            |e| e.core.poll_timeout(),
        );
        let customer =
            net.add_phone(PhoneConfig::new("customer", addr("127.0.0.10:5060")).proxy(addr(SOTTO)));
        let trunk = net.add_phone(PhoneConfig::new("trunk", addr(TRUNK)));
        Lab {
            net,
            sut,
            customer,
            trunk,
        }
    }

    /// An agent's phone, registered with sotto.
    fn agent(&mut self, user: &str, at: &str, answer: AnswerMode) -> SocketAddr {
        let a = self.net.add_phone(
            PhoneConfig::new(user, addr(at))
                .proxy(addr(SOTTO))
                .answer(answer),
        );
        self.net[a].register(user, user, addr(SOTTO));
        self.settle();
        assert!(self.net[a].is_registered(), "{user} registers");
        a
    }

    fn settle(&mut self) {
        self.net.settle_with(&mut [&mut self.sut]);
    }

    fn advance(&mut self, d: Duration) {
        self.net.advance_with(d, &mut [&mut self.sut]);
    }

    fn media(&self) -> &Media {
        &self.sut.tu.media
    }

    /// The one live call's id.
    fn call_id(&self) -> CallId {
        let ids: Vec<&String> = self.media().views.keys().collect();
        assert_eq!(ids.len(), 1, "one live call: {ids:?}");
        ids[0].parse().unwrap()
    }

    fn view(&self, call: CallId) -> &CallSummary {
        &self.media().views[&call.to_string()].0
    }

    /// The call model's state, as the API shows it.
    fn state(&self, call: CallId) -> String {
        self.view(call).control.as_ref().unwrap()["state"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The media of the call's legs, in the view's order.
    fn legs(&self, call: CallId) -> Vec<LegId> {
        self.media().views[&call.to_string()].1.clone()
    }

    /// What `leg` hears in `call`'s room.
    fn hears(&self, call: CallId, leg: LegId) -> Vec<LegId> {
        let room = &self.media().rooms[&call];
        assert!(room.legs.contains(&leg), "{leg} is not in {call}'s room");
        room.hears.get(&leg).cloned().unwrap_or_default()
    }

    fn act(&mut self, call: CallId, action: Action, args: ActionArgs) {
        let now = self.net.now();
        let result = self.sut.act(|e, ep| {
            let r = e.core.control(now, call, action, args, ep);
            e.drain(now, ep);
            r
        });
        if let Err(e) = result {
            panic!("{action} refused: {e:?}");
        }
        self.settle();
    }

    fn try_act(&mut self, call: CallId, action: Action, args: ActionArgs) -> ControlError {
        let now = self.net.now();
        let result = self.sut.act(|e, ep| {
            let r = e.core.control(now, call, action, args, ep);
            e.drain(now, ep);
            r
        });
        self.settle();
        result.expect_err("refused")
    }

    /// The customer calls `user` through sotto.
    fn customer_calls(&mut self, user: &str) -> CallHandle {
        let c = self.customer;
        let h = self.net[c].call(&format!("sip:{user}@127.0.0.1:5060"), true);
        self.settle();
        h
    }

    /// The customer calls agent1, whose phone answers: the call, the
    /// customer's call and the agent's.
    fn connected(&mut self, agent1: SocketAddr) -> (CallId, CallHandle, CallHandle) {
        let cust = self.customer_calls("agent1");
        let c = self.customer;
        assert_eq!(self.net[c].get(cust).state(), CallState::Confirmed);
        let theirs = self.net[agent1].last_incoming().expect("agent1 rang");
        let id = self.call_id();
        assert_eq!(self.state(id), "connected");
        (id, cust, theirs)
    }

    fn args() -> ActionArgs {
        ActionArgs::default()
    }

    fn target(t: &str) -> ActionArgs {
        ActionArgs {
            target: Some(t.into()),
            ..ActionArgs::default()
        }
    }
}

#[test]
fn an_inbound_call_rings_the_agent_relays_180_and_bridges_the_media() {
    let mut lab = Lab::new();
    let agent1 = lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Ring);
    let cust = lab.customer_calls("agent1");
    let c = lab.customer;
    // The agent's phone rings; the customer hears it (180), not yet answered.
    let theirs = lab.net[agent1].last_incoming().expect("agent1 rang");
    assert_eq!(lab.net[c].get(cust).invite_codes(), [180]);
    let id = lab.call_id();
    assert_eq!(lab.view(id).state, crate::view::SignallingState::Ringing);
    // Nothing is in the room before anybody answered.
    assert!(lab.media().rooms[&id].legs.is_empty());

    lab.net[agent1].answer(theirs).unwrap();
    lab.settle();
    assert_eq!(lab.net[c].get(cust).invite_codes(), [180, 200]);
    assert_eq!(lab.net[c].get(cust).state(), CallState::Confirmed);
    assert_eq!(lab.state(id), "connected");
    let legs = lab.legs(id);
    let (customer, agent) = (legs[0], legs[1]);
    assert_eq!(lab.hears(id, customer), [agent]);
    assert_eq!(lab.hears(id, agent), [customer]);
    // A connected, recorded call.
    assert!(lab.media().rooms[&id].recording.is_some());
    assert!(lab
        .media()
        .events
        .iter()
        .any(|(c, e)| *c == id && *e == CallEventView::Connected));

    // The customer hangs up: the BYE is carried to the agent, the call ends.
    lab.net[c].hangup(cust).unwrap();
    lab.settle();
    assert_eq!(
        lab.net[agent1].get(theirs).state(),
        CallState::Terminated { by_peer: true }
    );
    assert!(lab.media().views.is_empty());
    assert!(lab.media().rooms.is_empty(), "the room is closed");
    assert!(lab.media().bound.is_empty(), "every port is released");
    let record = &lab.media().ended[0];
    assert!(record.answered_at.is_some() && record.ended_at.is_some());
    assert_eq!(record.route, "agent:agent1");
}

#[test]
fn the_agent_hanging_up_ends_the_customer_leg() {
    let mut lab = Lab::new();
    let agent1 = lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Answer);
    let (_, cust, theirs) = lab.connected(agent1);
    lab.net[agent1].hangup(theirs).unwrap();
    lab.settle();
    let c = lab.customer;
    assert_eq!(
        lab.net[c].get(cust).state(),
        CallState::Terminated { by_peer: true }
    );
    assert_eq!(lab.media().ended.len(), 1);
}

#[test]
fn a_cancel_while_the_agent_rings_is_carried_across() {
    let mut lab = Lab::new();
    let agent1 = lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Ring);
    let cust = lab.customer_calls("agent1");
    let c = lab.customer;
    lab.net[c].hangup(cust).unwrap();
    lab.settle();
    assert_eq!(lab.net[c].get(cust).final_code(), Some(487));
    let theirs = lab.net[agent1].last_incoming().unwrap();
    assert!(lab.net[agent1].get(theirs).state().is_terminated());
    assert!(lab.net[agent1]
        .get(theirs)
        .requests()
        .contains(&rsip::Method::Cancel));
    assert!(lab.media().views.is_empty() && lab.media().bound.is_empty());
}

#[test]
fn the_agents_486_is_passed_back() {
    let mut lab = Lab::new();
    lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Reject(486));
    let cust = lab.customer_calls("agent1");
    let c = lab.customer;
    assert_eq!(lab.net[c].get(cust).final_code(), Some(486));
    assert!(lab.media().views.is_empty());
    assert_eq!(
        lab.media().ended[0].end_reason.as_deref(),
        Some("callee refused")
    );
}

#[test]
fn a_ringing_agent_that_never_answers_is_cancelled_and_the_caller_gets_480() {
    let mut lab = Lab::new();
    let agent1 = lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Ring);
    let cust = lab.customer_calls("agent1");
    let c = lab.customer;
    lab.advance(super::RING_TIMEOUT - Duration::from_secs(1));
    assert_eq!(lab.net[c].get(cust).final_code(), None, "still ringing");
    lab.advance(Duration::from_secs(2));
    assert_eq!(lab.net[c].get(cust).final_code(), Some(480));
    let theirs = lab.net[agent1].last_incoming().unwrap();
    assert!(lab.net[agent1]
        .get(theirs)
        .requests()
        .contains(&rsip::Method::Cancel));
}

#[test]
fn unknown_and_unregistered_users() {
    let mut lab = Lab::new();
    let nobody = lab.customer_calls("nobody");
    let c = lab.customer;
    assert_eq!(lab.net[c].get(nobody).final_code(), Some(404));
    let agent2 = lab.customer_calls("agent2");
    assert_eq!(lab.net[c].get(agent2).final_code(), Some(480));
    assert!(lab.media().bound.is_empty());
}

#[test]
fn the_echo_route_answers_and_hears_itself() {
    let mut lab = Lab::new();
    let h = lab.customer_calls("echo");
    let c = lab.customer;
    assert_eq!(lab.net[c].get(h).state(), CallState::Confirmed);
    let id = lab.call_id();
    let leg = lab.legs(id)[0];
    assert_eq!(lab.hears(id, leg), [leg]);
    lab.net[c].hangup(h).unwrap();
    lab.settle();
    assert!(lab.media().rooms.is_empty() && lab.media().bound.is_empty());
}

#[test]
fn hold_and_resume_by_the_api_reinvite_the_customer() {
    let mut lab = Lab::new();
    let agent1 = lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Answer);
    let (id, cust, _) = lab.connected(agent1);
    let c = lab.customer;
    let legs = lab.legs(id);
    lab.act(id, Action::Hold, Lab::args());
    assert_eq!(lab.state(id), "held");
    assert_eq!(
        lab.net[c].get(cust).remote_direction(),
        Some(Direction::SendOnly)
    );
    assert!(
        lab.hears(id, legs[0]).is_empty(),
        "the held customer hears music"
    );
    assert!(lab.hears(id, legs[1]).is_empty());
    // A held call cannot be ended; nothing changes.
    match lab.try_act(id, Action::End, Lab::args()) {
        ControlError::Refused(r) => assert_eq!(r.rule, "held-call-cannot-end"),
        e => panic!("{e:?}"),
    }
    lab.act(id, Action::Resume, Lab::args());
    assert_eq!(lab.state(id), "connected");
    assert_eq!(
        lab.net[c].get(cust).remote_direction(),
        Some(Direction::SendRecv)
    );
    assert_eq!(lab.hears(id, legs[0]), [legs[1]]);
}

#[test]
fn hold_and_resume_from_the_agents_phone_hold_the_customer() {
    let mut lab = Lab::new();
    let agent1 = lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Answer);
    let (id, cust, theirs) = lab.connected(agent1);
    let c = lab.customer;
    lab.net[agent1].hold(theirs).unwrap();
    lab.settle();
    assert_eq!(lab.net[agent1].get(theirs).reinvite_codes(), [200]);
    assert_eq!(lab.state(id), "held");
    assert_eq!(
        lab.net[c].get(cust).remote_direction(),
        Some(Direction::SendOnly)
    );
    lab.net[agent1].resume(theirs).unwrap();
    lab.settle();
    assert_eq!(lab.state(id), "connected");
    assert_eq!(
        lab.net[c].get(cust).remote_direction(),
        Some(Direction::SendRecv)
    );
}

#[test]
fn consult_then_transfer_hands_the_customer_to_the_consulted_agent() {
    let mut lab = Lab::new();
    let agent1 = lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Answer);
    let agent2 = lab.agent("agent2", "127.0.0.12:5060", AnswerMode::Answer);
    let (id, cust, mine) = lab.connected(agent1);
    lab.act(id, Action::Consult, Lab::target("agent2"));
    assert_eq!(lab.state(id), "consulting");
    let legs = lab.legs(id);
    let (customer, a1, a2) = (legs[0], legs[1], legs[2]);
    assert!(lab.hears(id, customer).is_empty(), "the customer is held");
    assert_eq!(lab.hears(id, a1), [a2]);

    lab.act(id, Action::Transfer, Lab::args());
    assert!(
        lab.net[agent1].get(mine).state().is_terminated(),
        "agent1 left"
    );
    assert_eq!(lab.state(id), "connected");
    assert_eq!(lab.hears(id, customer), [a2]);
    assert_eq!(lab.hears(id, a2), [customer]);
    let c = lab.customer;
    assert_eq!(
        lab.net[c].get(cust).remote_direction(),
        Some(Direction::SendRecv)
    );
    assert!(lab
        .media()
        .events
        .iter()
        .any(|(_, e)| matches!(e, CallEventView::Transferred { .. })));
    let _ = agent2;
}

#[test]
fn a_consult_to_a_dial_number_goes_out_through_the_trunk() {
    let mut lab = Lab::new();
    let agent1 = lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Answer);
    let (id, _, _) = lab.connected(agent1);
    lab.act(id, Action::Consult, Lab::target("+1 201 555 0147"));
    assert_eq!(lab.state(id), "consulting");
    let t = lab.trunk;
    let far = lab.net[t].last_incoming().expect("the trunk was called");
    assert!(lab.net[t].get(far).request_uri().contains("+12015550147"));
}

#[test]
fn a_blind_refer_from_the_agents_phone_transfers_and_reports_by_notify() {
    let mut lab = Lab::new();
    let agent1 = lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Answer);
    let agent2 = lab.agent("agent2", "127.0.0.12:5060", AnswerMode::Answer);
    let (id, _, mine) = lab.connected(agent1);
    lab.net[agent1]
        .refer(mine, "sip:agent2@127.0.0.1:5060")
        .unwrap();
    lab.settle();
    let call = lab.net[agent1].get(mine);
    assert_eq!(call.codes_for(rsip::Method::Refer), [202]);
    assert_eq!(call.notify_statuses().first(), Some(&100));
    assert_eq!(call.notify_statuses().last(), Some(&200));
    assert!(call.state().is_terminated(), "the transferor gets BYE");
    assert!(lab.net[agent2].last_incoming().is_some());
    let legs = lab.legs(id);
    let live: Vec<LegId> = lab.media().rooms[&id].legs.iter().copied().collect();
    assert_eq!(live, [legs[0], legs[2]], "the customer and agent2");
    assert_eq!(lab.hears(id, legs[0]), [legs[2]]);
}

#[test]
fn a_refer_with_replaces_joins_the_agents_second_call_to_the_customer() {
    let mut lab = Lab::new();
    let agent1 = lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Answer);
    let agent2 = lab.agent("agent2", "127.0.0.12:5060", AnswerMode::Answer);
    let (first, cust, mine) = lab.connected(agent1);
    // agent1 holds the customer and calls agent2 through sotto.
    lab.net[agent1].hold(mine).unwrap();
    lab.settle();
    let second_call = lab.net[agent1].call("sip:agent2@127.0.0.1:5060", true);
    lab.settle();
    assert_eq!(
        lab.net[agent1].get(second_call).state(),
        CallState::Confirmed
    );
    lab.net[agent1]
        .refer_replaces(mine, "sip:agent2@127.0.0.1:5060", second_call)
        .unwrap();
    lab.settle();
    // agent1 is out of both calls; agent2's leg moved into the customer's call.
    assert!(lab.net[agent1].get(mine).state().is_terminated());
    assert!(lab.net[agent1].get(second_call).state().is_terminated());
    assert_eq!(
        lab.net[agent1].get(mine).notify_statuses().last(),
        Some(&200)
    );
    let theirs = lab.net[agent2].last_incoming().unwrap();
    assert_eq!(lab.net[agent2].get(theirs).state(), CallState::Confirmed);
    assert_eq!(lab.media().views.len(), 1, "the second call is gone");
    assert_eq!(lab.state(first), "connected");
    let c = lab.customer;
    assert_eq!(lab.net[c].get(cust).state(), CallState::Confirmed);
    let room: Vec<LegId> = lab.media().rooms[&first].legs.iter().copied().collect();
    assert_eq!(room.len(), 2, "the customer and agent2: {room:?}");
    assert_eq!(lab.hears(first, room[0]), [room[1]]);
}

#[test]
fn an_invite_with_replaces_takes_over_the_agents_leg() {
    let mut lab = Lab::new();
    let agent1 = lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Answer);
    let (id, cust, mine) = lab.connected(agent1);
    // The agent's desk phone picks up the call its softphone holds.
    let desk = lab
        .net
        .add_phone(PhoneConfig::new("agent1", addr("127.0.0.21:5060")).proxy(addr(SOTTO)));
    let naming = lab.net[agent1].get(mine).replaces_naming().unwrap();
    let taken = lab.net[desk].invite_replaces("sip:agent1@127.0.0.1:5060", naming);
    lab.settle();
    assert_eq!(lab.net[desk].get(taken).state(), CallState::Confirmed);
    assert!(lab.net[agent1].get(mine).state().is_terminated());
    let c = lab.customer;
    assert_eq!(lab.net[c].get(cust).state(), CallState::Confirmed);
    let room: Vec<LegId> = lab.media().rooms[&id].legs.iter().copied().collect();
    assert_eq!(room.len(), 2);
    assert_eq!(lab.hears(id, room[0]), [room[1]]);
    // A Replaces naming no dialog of ours is 481.
    let stray = lab.net[desk].invite_replaces("sip:agent1@127.0.0.1:5060", ("nope@x", "a", "b"));
    lab.settle();
    assert_eq!(lab.net[desk].get(stray).final_code(), Some(481));
}

#[test]
fn a_conference_mixes_n_minus_one_and_a_participant_can_leave() {
    let mut lab = Lab::new();
    let agent1 = lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Answer);
    let agent2 = lab.agent("agent2", "127.0.0.12:5060", AnswerMode::Answer);
    let (id, _, _) = lab.connected(agent1);
    lab.act(id, Action::Consult, Lab::target("agent2"));
    lab.act(id, Action::Conference, Lab::args());
    assert_eq!(lab.state(id), "conference");
    let legs = lab.legs(id);
    let (customer, a1, a2) = (legs[0], legs[1], legs[2]);
    let set = |v: Vec<LegId>| v.into_iter().collect::<BTreeSet<_>>();
    assert_eq!(set(lab.hears(id, customer)), set(vec![a1, a2]));
    assert_eq!(set(lab.hears(id, a1)), set(vec![customer, a2]));
    assert_eq!(set(lab.hears(id, a2)), set(vec![customer, a1]));

    lab.act(
        id,
        Action::LeaveConference,
        ActionArgs {
            agent: Some("agent2".into()),
            ..ActionArgs::default()
        },
    );
    let theirs = lab.net[agent2].last_incoming().unwrap();
    assert!(lab.net[agent2].get(theirs).state().is_terminated());
    assert_eq!(lab.state(id), "connected");
    assert_eq!(lab.hears(id, customer), [a1]);
}

#[test]
fn reinvites_that_cross_are_refused_491_and_the_call_goes_on() {
    let mut lab = Lab::new();
    let agent1 = lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Answer);
    let (id, cust, _) = lab.connected(agent1);
    let c = lab.customer;
    // sotto holds the customer while the customer's phone re-INVITEs too.
    lab.net[c].reinvite(cust).unwrap();
    let now = lab.net.now();
    lab.sut.act(|e, ep| {
        e.core
            .control(now, id, Action::Hold, ActionArgs::default(), ep)
            .unwrap();
        e.drain(now, ep);
    });
    lab.settle();
    assert!(
        lab.net[c].get(cust).reinvite_codes().contains(&491),
        "the customer's re-INVITE crossed ours: {:?}",
        lab.net[c].get(cust).reinvite_codes()
    );
    // Both back off and retry (RFC 3261 §14.1): the hold gets through.
    lab.advance(Duration::from_secs(5));
    assert_eq!(lab.state(id), "held");
    assert_eq!(
        lab.net[c].get(cust).remote_direction(),
        Some(Direction::SendOnly)
    );
    assert_eq!(lab.net[c].get(cust).state(), CallState::Confirmed);
}

#[test]
fn a_bye_that_crosses_ours_ends_the_call_once() {
    let mut lab = Lab::new();
    let agent1 = lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Answer);
    let (id, cust, _) = lab.connected(agent1);
    let c = lab.customer;
    // The agent ends the call while the customer hangs up.
    lab.net[c].hangup(cust).unwrap();
    let now = lab.net.now();
    lab.sut.act(|e, ep| {
        e.core
            .control(now, id, Action::End, ActionArgs::default(), ep)
            .unwrap();
        e.drain(now, ep);
    });
    lab.settle();
    assert_eq!(lab.net[c].get(cust).codes_for(rsip::Method::Bye), [200]);
    assert!(lab.net[c].get(cust).state().is_terminated());
    assert_eq!(lab.media().ended.len(), 1);
    assert!(lab.media().rooms.is_empty() && lab.media().bound.is_empty());
}

#[test]
fn a_port_another_process_holds_is_skipped_after_the_call_it_failed() {
    let mut lab = Lab::new();
    lab.sut.tu.media.taken_elsewhere.insert(20000);
    let h = lab.customer_calls("echo");
    let c = lab.customer;
    // The core wrote its answer before the runtime found the port taken: the
    // call is ended at once, with a BYE.
    assert!(lab.net[c].get(h).state().is_terminated());
    assert!(lab.media().bound.is_empty());
    let again = lab.customer_calls("echo");
    assert_eq!(lab.net[c].get(again).state(), CallState::Confirmed);
    assert_eq!(
        lab.media().bound.values().copied().collect::<Vec<_>>(),
        [20002]
    );
}

#[test]
fn recording_pauses_and_resumes_by_itself() {
    let mut lab = Lab::new();
    let agent1 = lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Answer);
    let (id, _, _) = lab.connected(agent1);
    lab.act(
        id,
        Action::PauseRecording,
        ActionArgs {
            seconds: Some(10),
            ..ActionArgs::default()
        },
    );
    assert!(lab.media().rooms[&id].paused);
    lab.advance(Duration::from_secs(11));
    assert!(!lab.media().rooms[&id].paused, "resumed by the timer");
    assert!(lab
        .media()
        .events
        .iter()
        .any(|(_, e)| *e == CallEventView::RecordingResumed { automatic: true }));
}

#[test]
fn dtmf_from_the_api_goes_to_whom_the_agent_hears() {
    let mut lab = Lab::new();
    let agent1 = lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Answer);
    let (id, _, _) = lab.connected(agent1);
    lab.act(
        id,
        Action::SendDtmf,
        ActionArgs {
            digits: Some("12#".into()),
            ..ActionArgs::default()
        },
    );
    let customer = lab.legs(id)[0];
    assert_eq!(lab.media().dtmf, [(customer, "12#".to_string())]);
}

#[test]
fn a_blind_refer_whose_target_rings_out_reports_failure_and_drops_the_call() {
    let mut lab = Lab::new();
    let agent1 = lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Answer);
    lab.agent("agent2", "127.0.0.12:5060", AnswerMode::Ring);
    let (_, cust, mine) = lab.connected(agent1);
    lab.net[agent1]
        .refer(mine, "sip:agent2@127.0.0.1:5060")
        .unwrap();
    lab.settle();
    assert_eq!(lab.net[agent1].get(mine).notify_statuses(), [100]);
    lab.advance(super::RING_TIMEOUT + Duration::from_secs(1));
    let statuses = lab.net[agent1].get(mine).notify_statuses().to_vec();
    assert!(
        statuses.last().is_some_and(|s| *s >= 300),
        "the transferor hears the transfer failed: {statuses:?}"
    );
    let c = lab.customer;
    assert!(lab.net[c].get(cust).state().is_terminated(), "dropped");
    assert!(lab.media().views.is_empty() && lab.media().bound.is_empty());
    // Nothing is left to time out (no subscription deadline spinning).
    lab.advance(Duration::from_secs(120));
    assert_eq!(lab.media().ended.len(), 1);
}

impl Lab {
    fn offer(&mut self, call: CallId, user: &str) -> Result<(), ControlError> {
        let now = self.net.now();
        let r = self.sut.act(|e, ep| {
            let r = e.core.offer_agent(now, call, user, ep);
            e.drain(now, ep);
            r
        });
        self.settle();
        r
    }

    fn withdraw(&mut self, call: CallId) {
        let now = self.net.now();
        self.sut.act(|e, ep| {
            e.core.withdraw_offer(now, call, ep);
            e.drain(now, ep);
        });
        self.settle();
    }

    fn offer_failures(&self, call: CallId) -> usize {
        self.media()
            .events
            .iter()
            .filter(|(c, e)| *c == call && matches!(e, CallEventView::OfferFailed { .. }))
            .count()
    }
}

#[test]
fn a_call_to_an_entry_point_waits_with_music_until_an_agent_takes_it() {
    let mut lab = Lab::new();
    let agent1 = lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Answer);
    let cust = lab.customer_calls("support");
    let c = lab.customer;
    // Answered at once; the caller waits in the room hearing nobody (music).
    assert_eq!(lab.net[c].get(cust).state(), CallState::Confirmed);
    let id = lab.call_id();
    assert_eq!(lab.state(id), "queued");
    assert_eq!(lab.view(id).route, "entry:support-ep");
    let customer = lab.legs(id)[0];
    assert!(lab.hears(id, customer).is_empty());
    assert_eq!(lab.media().queued.len(), 1);
    assert_eq!(lab.media().queued[0].1, "support-ep");
    assert!(
        lab.net[agent1].last_incoming().is_none(),
        "nobody rings yet"
    );

    lab.offer(id, "agent1").unwrap();
    assert_eq!(lab.state(id), "connected");
    let agent = lab.legs(id)[1];
    assert_eq!(lab.hears(id, customer), [agent]);
    assert_eq!(lab.hears(id, agent), [customer]);
    assert!(lab
        .media()
        .events
        .iter()
        .any(|(k, e)| *k == id && *e == CallEventView::Connected));
}

#[test]
fn an_offer_withdrawn_refused_or_unreachable_leaves_the_call_waiting() {
    let mut lab = Lab::new();
    let agent1 = lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Ring);
    lab.agent("agent2", "127.0.0.12:5060", AnswerMode::Reject(486));
    lab.customer_calls("support");
    let id = lab.call_id();

    // RONA: the runtime withdraws the offer; the ringing is cancelled.
    lab.offer(id, "agent1").unwrap();
    let rang = lab.net[agent1].last_incoming().expect("agent1 rings");
    assert!(
        matches!(lab.offer(id, "agent2"), Err(ControlError::BadRequest(_))),
        "one offer at a time"
    );
    lab.withdraw(id);
    assert!(lab.net[agent1]
        .get(rang)
        .requests()
        .contains(&rsip::Method::Cancel));
    assert_eq!(lab.state(id), "queued");
    assert_eq!(lab.offer_failures(id), 1);

    // A phone that refuses (486) is the same.
    lab.offer(id, "agent2").unwrap();
    assert_eq!(lab.state(id), "queued");
    assert_eq!(lab.offer_failures(id), 2);

    // An agent whose phone is not registered cannot be rung.
    lab.offer(id, "agent3").unwrap();
    assert_eq!(lab.offer_failures(id), 3);

    // The caller still waits, in the room, and the next agent takes it.
    let agent3 = lab.agent("agent3", "127.0.0.13:5060", AnswerMode::Answer);
    lab.offer(id, "agent3").unwrap();
    assert_eq!(lab.state(id), "connected");
    assert!(lab.net[agent3].last_incoming().is_some());
}

#[test]
fn a_caller_who_hangs_up_while_offered_stops_the_ringing() {
    let mut lab = Lab::new();
    let agent1 = lab.agent("agent1", "127.0.0.11:5060", AnswerMode::Ring);
    let cust = lab.customer_calls("support");
    let id = lab.call_id();
    lab.offer(id, "agent1").unwrap();
    let c = lab.customer;
    lab.net[c].hangup(cust).unwrap();
    lab.settle();
    let rang = lab.net[agent1].last_incoming().unwrap();
    assert!(lab.net[agent1]
        .get(rang)
        .requests()
        .contains(&rsip::Method::Cancel));
    assert!(lab.media().views.is_empty() && lab.media().bound.is_empty());
    assert_eq!(lab.media().ended[0].route, "entry:support-ep");
}
