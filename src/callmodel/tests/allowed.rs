//! `allowed()` agrees with the actions in every reachable state.
//!
//! Breadth-first over what agents and legs can do (every action by every
//! party, every leg answering, failing, hanging up, the recording timer),
//! from an inbound call, an outbound call and a full conference. In each
//! state reached, each action by each party (and by a stranger) is tried
//! on a clone: it must succeed exactly when `allowed` lists it. The same
//! walk checks the invariants every state must keep.

use super::*;
use std::collections::HashSet;

const DEPTH: usize = 10;

/// Tries `action` by `by` with arguments that only the rules can refuse.
fn attempt(m: &mut CallModel, now: Instant, by: PartyId, action: Action) -> Result<(), Refused> {
    let fresh = agent(&format!("agent-{}", m.next_id));
    match action {
        Action::Hold => m.hold(now, by),
        Action::Resume => m.resume(now, by),
        Action::Consult => m.consult(now, by, fresh).map(|_| ()),
        Action::Toggle => m.toggle(now, by),
        Action::EndConsult => m.end_consult(now, by),
        Action::Transfer => m.transfer(now, by),
        Action::BlindTransfer => m.blind_transfer(now, by, fresh).map(|_| ()),
        Action::Conference => m.conference(now, by),
        Action::LeaveConference => m.leave_conference(now, by),
        Action::End => m.end(now, by),
        Action::SendDtmf => m.send_dtmf(now, by, "5"),
        Action::PauseRecording => m.pause_recording(now, by, Duration::from_secs(60)),
        Action::ResumeRecording => m.resume_recording(now, by),
    }
}

/// Everything that can happen next, each on its own clone.
fn successors(m: &CallModel, now: Instant) -> Vec<CallModel> {
    let mut next = Vec::new();
    let ids: Vec<PartyId> = m.parties().map(|p| p.id).collect();
    for &id in &ids {
        for action in Action::ALL {
            let mut n = m.clone();
            if attempt(&mut n, now, id, action).is_ok() {
                next.push(n);
            }
        }
        let mut n = m.clone();
        if n.consult(now, id, number("+12015532447")).is_ok() {
            next.push(n);
        }
        let mut n = m.clone();
        n.on_answered(now, id);
        next.push(n);
        let mut n = m.clone();
        n.on_failed(now, id, FailReason::Busy);
        next.push(n);
        let mut n = m.clone();
        n.on_hung_up(now, id);
        next.push(n);
    }
    if let Some(at) = m.poll_timeout() {
        let mut n = m.clone();
        n.handle_timeout(at);
        next.push(n);
    }
    next
}

/// What makes two models the same state for the rules (not ids or times).
fn key(m: &CallModel) -> String {
    let parties: Vec<String> = m
        .parties()
        .map(|p| {
            let kind = match p.kind {
                PartyKind::Customer => "c",
                PartyKind::Agent { .. } => "a",
                PartyKind::DialNumber(_) => "n",
            };
            format!("{kind}{:?}{}{}", p.role, p.held, p.answered)
        })
        .collect();
    let rec = match m.recording() {
        Recording::Paused { .. } => "paused",
        Recording::On => "on",
        Recording::Off => "off",
    };
    format!(
        "{:?} {:?} {} {rec} {parties:?}",
        m.state(),
        m.phase,
        m.conference
    )
}

fn check_allowed_matches_actions(m: &CallModel, now: Instant) {
    let stranger = PartyId(999);
    let ids = m.parties().map(|p| p.id).chain([stranger]);
    for by in ids {
        let allowed = m.allowed(by);
        for action in Action::ALL {
            let mut n = m.clone();
            let outcome = attempt(&mut n, now, by, action);
            assert_eq!(
                outcome.is_ok(),
                allowed.contains(&action),
                "{action} by {by} in {:?}: allowed says {}, the action says {outcome:?}\n{m:?}",
                m.state(),
                allowed.contains(&action),
            );
            if outcome.is_err() {
                assert!(n == *m, "a refused {action} by {by} changed the call");
            }
        }
    }
}

fn check_invariants(m: &CallModel) {
    let customer_held = m.customer().is_some_and(|c| c.held);
    let consult_held = m.consulted().is_some_and(|c| c.held);
    assert!(!(customer_held && consult_held), "both held: {m:?}");
    assert!(m.parties().count() <= MAX_PARTICIPANTS);
    for (id, heard) in m.topology() {
        assert!(!heard.contains(&id), "{id} hears himself");
        let p = m.party(id).unwrap();
        if p.held || !p.answered {
            assert!(heard.is_empty(), "held or ringing {id} hears {heard:?}");
        }
        for other in heard {
            assert!(
                hears(m, other).contains(&id),
                "{id} hears {other} but not back"
            );
        }
    }
    for p in m.parties() {
        if !p.kind.is_agent() {
            assert!(m.allowed(p.id).is_empty(), "non-agent {} has actions", p.id);
        }
    }
    if m.state() == CallState::Ended {
        assert_eq!(m.parties().count(), 0);
    }
}

fn explore(start: CallModel, base: Instant) -> usize {
    let mut seen = HashSet::new();
    let mut frontier = vec![start];
    for depth in 0..DEPTH {
        let now = base + Duration::from_secs(100 + depth as u64);
        let mut next = Vec::new();
        for m in frontier {
            if !seen.insert(key(&m)) {
                continue;
            }
            check_invariants(&m);
            check_allowed_matches_actions(&m, now);
            next.extend(successors(&m, now));
        }
        frontier = next;
    }
    seen.len()
}

#[test]
fn allowed_matches_the_actions_in_every_state_reached_from_an_inbound_call() {
    let clock = Clock::new();
    let m =
        CallModel::inbound(clock.now(), PartyKind::Customer, "alice".into()).with_recording(true);
    let states = explore(m, clock.now());
    assert!(states > 150, "the walk covered only {states} states");
}

#[test]
fn allowed_matches_the_actions_in_every_state_reached_from_an_outbound_call() {
    let clock = Clock::new();
    let m = CallModel::originate(clock.now(), "alice".into(), number("+11234567890"));
    let states = explore(m, clock.now());
    assert!(states > 80, "the walk covered only {states} states");
}

#[test]
fn allowed_matches_the_actions_around_a_full_conference() {
    let mut clock = Clock::new();
    let (m, _) = conference_with(&mut clock, &["b", "c", "d", "e", "f", "g"]);
    let states = explore(m, clock.now());
    assert!(states > 200, "the walk covered only {states} states");
}

#[test]
fn every_action_is_reachable_as_allowed() {
    // Guards the walk itself: an action never allowed anywhere would make
    // the agreement above vacuous for it.
    let clock = Clock::new();
    let start =
        CallModel::inbound(clock.now(), PartyKind::Customer, "alice".into()).with_recording(true);
    let mut seen_allowed = HashSet::new();
    let mut frontier = vec![start];
    let now = clock.now() + Duration::from_secs(100);
    let mut seen = HashSet::new();
    for _ in 0..DEPTH {
        let mut next = Vec::new();
        for m in frontier {
            if !seen.insert(key(&m)) {
                continue;
            }
            for p in m.parties() {
                seen_allowed.extend(m.allowed(p.id));
            }
            next.extend(successors(&m, now));
        }
        frontier = next;
    }
    for action in Action::ALL {
        assert!(seen_allowed.contains(&action), "{action} never allowed");
    }
}
