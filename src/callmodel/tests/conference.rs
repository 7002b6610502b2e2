//! Conference (`docs/call-control.md#conference`).

use super::*;

#[test]
fn merge_into_conference_unholds_everybody_and_mixes_n_minus_one() {
    let mut clock = Clock::new();
    let (mut m, bob) = consulting(&mut clock, "bob");
    m.conference(clock.tick(1), PRIMARY).unwrap();
    let fx = drain(&mut m);
    assert!(fx.contains(&Effect::Unhold { party: CUSTOMER }));
    assert!(m.parties().all(|p| !p.held));
    assert_eq!(m.state(), CallState::Conference);
    assert_eq!(m.party(bob).unwrap().role, Role::Participant);
    assert_eq!(
        m.topology(),
        vec![
            (CUSTOMER, vec![PRIMARY, bob]),
            (PRIMARY, vec![CUSTOMER, bob]),
            (bob, vec![CUSTOMER, PRIMARY]),
        ]
    );
    assert_eq!(m.allowed(bob), vec![Action::LeaveConference]);
}

#[test]
fn at_most_eight_participants_the_ninth_is_refused() {
    let mut clock = Clock::new();
    // The customer, alice and six more: the eighth was consulted and merged at seven.
    let (mut m, _) = conference_with(&mut clock, &["b", "c", "d", "e", "f", "g"]);
    assert_eq!(m.parties().count(), 8);
    assert_eq!(m.state(), CallState::Conference);
    let err = m
        .consult(clock.tick(1), PRIMARY, agent("ninth"))
        .unwrap_err();
    assert_eq!(err.action, Action::Consult);
    assert_eq!(err.rule, rule::CONFERENCE_FULL);
    assert_eq!(
        err.to_string(),
        "consult refused: a call holds at most 8 participants, customer and primary agent included"
    );
    assert!(!m.allowed(PRIMARY).contains(&Action::Consult));
    assert!(drain(&mut m).is_empty());
    assert!(!held(&m, CUSTOMER));
}

#[test]
fn leave_conference_hands_control_to_the_agent_in_the_call_longest() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    // A dial number joins first: it has been in the call longest but never gets control.
    let ext = m
        .consult(clock.tick(1), PRIMARY, number("2015532447"))
        .unwrap();
    m.on_answered(clock.tick(1), ext);
    m.conference(clock.tick(1), PRIMARY).unwrap();
    let (bob, carol) = (PartyId(3), PartyId(4));
    for user in ["bob", "carol"] {
        let c = m.consult(clock.tick(1), PRIMARY, agent(user)).unwrap();
        m.on_answered(clock.tick(1), c);
        m.conference(clock.tick(1), PRIMARY).unwrap();
    }
    drain(&mut m);
    m.leave_conference(clock.tick(10), PRIMARY).unwrap();
    let fx = drain(&mut m);
    assert_eq!(hangups(&fx), vec![PRIMARY]);
    assert_eq!(wrap_ups(&fx), vec![PRIMARY]);
    assert!(events(&fx).contains(&CallEvent::ControlHandedTo { party: bob }));
    assert_eq!(m.party(bob).unwrap().role, Role::Primary);
    assert_eq!(m.party(carol).unwrap().role, Role::Participant);
    assert_eq!(
        m.state(),
        CallState::Conference,
        "the call goes on for the rest"
    );
    assert_eq!(hears(&m, CUSTOMER), vec![ext, bob, carol]);
}

#[test]
fn customer_leaving_a_conference_makes_it_post_call() {
    let mut clock = Clock::new();
    let (mut m, ids) = conference_with(&mut clock, &["bob"]);
    m.on_hung_up(clock.tick(5), CUSTOMER);
    let fx = drain(&mut m);
    assert!(events(&fx).contains(&CallEvent::PostCall));
    assert!(hangups(&fx).is_empty());
    assert_eq!(m.state(), CallState::PostCall);
    assert_eq!(hears(&m, PRIMARY), vec![ids[0]]);
    let err = m
        .consult(clock.tick(1), PRIMARY, agent("carol"))
        .unwrap_err();
    assert_eq!(err.rule, rule::POST_CALL);
    assert!(!m.allowed(PRIMARY).contains(&Action::Consult));
    assert!(!m.allowed(PRIMARY).contains(&Action::Conference));
}

#[test]
fn call_ends_when_one_participant_is_left() {
    let mut clock = Clock::new();
    let (mut m, ids) = conference_with(&mut clock, &["bob"]);
    m.on_hung_up(clock.tick(5), CUSTOMER);
    drain(&mut m);
    m.leave_conference(clock.tick(5), ids[0]).unwrap();
    let fx = drain(&mut m);
    assert_eq!(
        hangups(&fx),
        vec![PRIMARY, ids[0]],
        "the last one is hung up too"
    );
    assert_eq!(
        wrap_ups(&fx),
        vec![PRIMARY],
        "conference agents do not wrap up"
    );
    assert_eq!(
        events(&fx).last(),
        Some(&CallEvent::Ended {
            reason: EndReason::LastPartyLeft
        })
    );
    assert_eq!(m.state(), CallState::Ended);
}

#[test]
fn conference_down_to_customer_and_primary_is_a_plain_call_again() {
    let mut clock = Clock::new();
    let (mut m, ids) = conference_with(&mut clock, &["bob"]);
    m.on_hung_up(clock.tick(5), ids[0]);
    let fx = drain(&mut m);
    assert!(wrap_ups(&fx).is_empty());
    assert_eq!(m.state(), CallState::Connected);
    assert!(m.allowed(PRIMARY).contains(&Action::PauseRecording));
}

#[test]
fn dial_number_participants_have_no_controls() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    let ext = m
        .consult(clock.tick(1), PRIMARY, number("*67 201 553 2447"))
        .unwrap();
    m.on_answered(clock.tick(1), ext);
    m.conference(clock.tick(1), PRIMARY).unwrap();
    drain(&mut m);
    assert!(!m.party(ext).unwrap().has_controls());
    assert!(m.allowed(ext).is_empty());
    let now = clock.tick(1);
    let attempts = [
        m.clone().hold(now, ext),
        m.clone().leave_conference(now, ext),
        m.clone().end(now, ext),
        m.clone().consult(now, ext, agent("x")).map(|_| ()),
        m.clone().send_dtmf(now, ext, "1"),
    ];
    for r in attempts {
        assert_eq!(r.unwrap_err().rule, rule::NO_CONTROLS);
    }
}

#[test]
fn consult_from_a_conference_holds_the_customer_while_the_others_talk_on() {
    let mut clock = Clock::new();
    let (mut m, ids) = conference_with(&mut clock, &["bob", "carol"]);
    let dave = m.consult(clock.tick(1), PRIMARY, agent("dave")).unwrap();
    m.on_answered(clock.tick(1), dave);
    assert_eq!(m.state(), CallState::Consulting);
    assert!(hears(&m, CUSTOMER).is_empty());
    assert_eq!(hears(&m, ids[0]), vec![ids[1]]);
    assert_eq!(hears(&m, PRIMARY), vec![dave]);
    m.conference(clock.tick(1), PRIMARY).unwrap();
    assert_eq!(m.state(), CallState::Conference);
    assert_eq!(hears(&m, CUSTOMER), vec![PRIMARY, ids[0], ids[1], dave]);
}

#[test]
fn participants_cannot_hold_consult_or_end() {
    let mut clock = Clock::new();
    let (m, ids) = conference_with(&mut clock, &["bob"]);
    let now = clock.tick(1);
    assert_eq!(
        m.clone().hold(now, ids[0]).unwrap_err().rule,
        rule::PRIMARY_ONLY
    );
    assert_eq!(
        m.clone().end(now, ids[0]).unwrap_err().rule,
        rule::PRIMARY_ONLY
    );
}

#[test]
fn consulted_and_conference_agents_get_no_wrap_up_the_primary_does() {
    let mut clock = Clock::new();
    let (mut m, ids) = conference_with(&mut clock, &["bob", "carol"]);
    m.leave_conference(clock.tick(5), ids[0]).unwrap();
    let dave = m.consult(clock.tick(5), PRIMARY, agent("dave")).unwrap();
    m.on_answered(clock.tick(1), dave);
    m.end_consult(clock.tick(5), dave).unwrap();
    m.resume(clock.tick(1), PRIMARY).unwrap();
    let fx = drain(&mut m);
    assert!(wrap_ups(&fx).is_empty());
    assert_eq!(m.state(), CallState::Conference);
    m.end(clock.tick(60), PRIMARY).unwrap();
    let fx = drain(&mut m);
    assert_eq!(hangups(&fx), vec![CUSTOMER, PRIMARY, ids[1]]);
    assert_eq!(wrap_ups(&fx), vec![PRIMARY]);
}

#[test]
fn primary_leaving_with_only_dial_numbers_left_leaves_nobody_in_control() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    let ext = m
        .consult(clock.tick(1), PRIMARY, number("2015532447"))
        .unwrap();
    m.on_answered(clock.tick(1), ext);
    m.conference(clock.tick(1), PRIMARY).unwrap();
    drain(&mut m);
    m.leave_conference(clock.tick(5), PRIMARY).unwrap();
    let fx = drain(&mut m);
    assert!(!events(&fx)
        .iter()
        .any(|e| matches!(e, CallEvent::ControlHandedTo { .. })));
    assert_eq!(m.state(), CallState::Connected);
    assert_eq!(hears(&m, CUSTOMER), vec![ext]);
    assert!(m.parties().all(|p| m.allowed(p.id).is_empty()));
}
