//! Consult (`docs/call-control.md#consult`).

use super::*;

/// The invariant of `docs/call-control.md#hold`, checked after every step.
fn never_both_held(m: &CallModel) {
    let both = m.parties().filter(|p| p.held).count();
    assert!(both <= 1, "customer and consult leg both held: {m:?}");
}

#[test]
fn starting_a_consult_holds_the_customer_and_dials_the_target() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    let bob = m.consult(clock.tick(5), PRIMARY, agent("bob")).unwrap();
    assert_eq!(
        drain(&mut m),
        vec![
            Effect::Hold { party: CUSTOMER },
            Effect::Dial {
                party: bob,
                target: agent("bob")
            },
            Effect::Media
        ]
    );
    assert_eq!(m.state(), CallState::ConsultRequested);
    assert_eq!(m.party(bob).unwrap().role, Role::Consulted);
    assert!(hears(&m, CUSTOMER).is_empty());
}

#[test]
fn transfer_and_conference_wait_for_the_consulted_agent_to_accept_resume_does_not() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    let bob = m.consult(clock.tick(5), PRIMARY, agent("bob")).unwrap();
    let allowed = m.allowed(PRIMARY);
    assert!(allowed.contains(&Action::Resume));
    assert!(!allowed.contains(&Action::Transfer));
    assert!(!allowed.contains(&Action::Conference));
    let err = m.transfer(clock.tick(1), PRIMARY).unwrap_err();
    assert_eq!(err.rule, rule::CONSULT_NOT_ACCEPTED);
    assert_eq!(
        m.conference(clock.tick(1), PRIMARY).unwrap_err().rule,
        rule::CONSULT_NOT_ACCEPTED
    );
    drain(&mut m);
    m.on_answered(clock.tick(4), bob);
    assert!(events(&drain(&mut m)).contains(&CallEvent::ConsultAccepted { party: bob }));
    assert_eq!(m.state(), CallState::Consulting);
    let allowed = m.allowed(PRIMARY);
    assert!(allowed.contains(&Action::Transfer) && allowed.contains(&Action::Conference));
    assert_eq!(hears(&m, PRIMARY), vec![bob]);
    assert_eq!(hears(&m, bob), vec![PRIMARY]);
}

#[test]
fn dial_number_consult_enables_transfer_as_soon_as_it_answers() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    let ext = m
        .consult(clock.tick(5), PRIMARY, number("(201) 553-2447"))
        .unwrap();
    assert!(!m.allowed(PRIMARY).contains(&Action::Transfer));
    m.on_answered(clock.tick(3), ext);
    assert!(m.allowed(PRIMARY).contains(&Action::Transfer));
    assert!(m.allowed(ext).is_empty(), "a dial number has no controls");
}

#[test]
fn customer_and_consult_leg_are_never_both_held() {
    let mut clock = Clock::new();
    let (mut m, bob) = consulting(&mut clock, "bob");
    never_both_held(&m);
    m.toggle(clock.tick(1), PRIMARY).unwrap();
    never_both_held(&m);
    assert_eq!(m.state(), CallState::ConsultOnHold);
    let err = m.hold(clock.tick(1), PRIMARY).unwrap_err();
    assert_eq!(err.rule, rule::NEVER_BOTH_HELD);
    m.toggle(clock.tick(1), PRIMARY).unwrap();
    never_both_held(&m);
    m.resume(clock.tick(1), PRIMARY).unwrap();
    never_both_held(&m);
    assert!(held(&m, bob) && !held(&m, CUSTOMER));
}

#[test]
fn resume_during_consult_holds_the_consulted_party() {
    let mut clock = Clock::new();
    let (mut m, bob) = consulting(&mut clock, "bob");
    m.resume(clock.tick(1), PRIMARY).unwrap();
    assert_eq!(
        drain(&mut m),
        vec![
            Effect::Hold { party: bob },
            Effect::Unhold { party: CUSTOMER },
            Effect::Media
        ]
    );
    assert_eq!(m.state(), CallState::ConsultOnHold);
    assert_eq!(hears(&m, PRIMARY), vec![CUSTOMER]);
    assert!(hears(&m, bob).is_empty());
}

#[test]
fn resume_while_the_consult_rings_holds_it_once_it_answers() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    let bob = m.consult(clock.tick(5), PRIMARY, agent("bob")).unwrap();
    drain(&mut m);
    m.resume(clock.tick(1), PRIMARY).unwrap();
    assert_eq!(
        drain(&mut m),
        vec![Effect::Unhold { party: CUSTOMER }, Effect::Media],
        "a ringing leg cannot be re-INVITEd"
    );
    assert_eq!(m.state(), CallState::ConsultOnHold);
    m.on_answered(clock.tick(2), bob);
    let fx = drain(&mut m);
    assert_eq!(fx[0], Effect::Hold { party: bob });
    assert_eq!(m.state(), CallState::ConsultOnHold);
    assert_eq!(hears(&m, CUSTOMER), vec![PRIMARY]);
}

#[test]
fn toggle_swaps_which_leg_is_held() {
    let mut clock = Clock::new();
    let (mut m, bob) = consulting(&mut clock, "bob");
    m.toggle(clock.tick(1), PRIMARY).unwrap();
    assert_eq!(
        drain(&mut m),
        vec![
            Effect::Hold { party: bob },
            Effect::Unhold { party: CUSTOMER },
            Effect::Media
        ]
    );
    m.toggle(clock.tick(1), PRIMARY).unwrap();
    assert_eq!(
        drain(&mut m),
        vec![
            Effect::Hold { party: CUSTOMER },
            Effect::Unhold { party: bob },
            Effect::Media
        ]
    );
    assert_eq!(m.state(), CallState::Consulting);
}

#[test]
fn consulted_agent_not_answering_tells_the_primary_and_the_customer_stays_held() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    let bob = m.consult(clock.tick(5), PRIMARY, agent("bob")).unwrap();
    drain(&mut m);
    m.on_failed(clock.tick(20), bob, FailReason::NoAnswer);
    let fx = drain(&mut m);
    assert!(events(&fx).contains(&CallEvent::ConsultFailed {
        party: bob,
        reason: FailReason::NoAnswer
    }));
    assert!(hangups(&fx).is_empty());
    assert_eq!(m.state(), CallState::Held);
    assert!(held(&m, CUSTOMER));
    assert!(m.party(bob).is_none());
}

#[test]
fn consulted_agent_leaving_lets_the_main_call_go_on() {
    // Hung up from his softphone while the customer is held: back to held.
    let mut clock = Clock::new();
    let (mut m, bob) = consulting(&mut clock, "bob");
    m.on_hung_up(clock.tick(10), bob);
    let fx = drain(&mut m);
    assert!(hangups(&fx).is_empty() && wrap_ups(&fx).is_empty());
    assert_eq!(m.state(), CallState::Held);

    // Left from his desktop while on hold: the call was connected, stays so.
    let (mut m, bob) = consulting(&mut clock, "bob");
    m.toggle(clock.tick(1), PRIMARY).unwrap();
    assert_eq!(m.allowed(bob), vec![Action::EndConsult]);
    drain(&mut m);
    m.end_consult(clock.tick(1), bob).unwrap();
    let fx = drain(&mut m);
    assert_eq!(hangups(&fx), vec![bob]);
    assert!(wrap_ups(&fx).is_empty(), "consulted agents do not wrap up");
    assert_eq!(m.state(), CallState::Connected);
}

#[test]
fn end_consult_hangs_up_the_consulted_leg() {
    let mut clock = Clock::new();
    let (mut m, bob) = consulting(&mut clock, "bob");
    m.end_consult(clock.tick(10), PRIMARY).unwrap();
    assert_eq!(hangups(&drain(&mut m)), vec![bob]);
    assert_eq!(m.state(), CallState::Held);
    assert!(m.allowed(PRIMARY).contains(&Action::Resume));
}

#[test]
fn customer_hanging_up_during_a_consult_keeps_the_agents_talking() {
    let mut clock = Clock::new();
    let (mut m, bob) = consulting(&mut clock, "bob");
    m.toggle(clock.tick(1), PRIMARY).unwrap(); // bob held, customer with alice
    drain(&mut m);
    m.on_hung_up(clock.tick(5), CUSTOMER);
    let fx = drain(&mut m);
    assert!(hangups(&fx).is_empty());
    assert!(fx.contains(&Effect::Unhold { party: bob }));
    assert!(events(&fx).contains(&CallEvent::PostCall));
    assert_eq!(m.state(), CallState::PostCall);
    assert_eq!(hears(&m, PRIMARY), vec![bob]);
    assert!(m.parties().all(|p| p.role != Role::Customer));
    assert_eq!(
        m.consult(clock.tick(1), PRIMARY, agent("carol"))
            .unwrap_err()
            .rule,
        rule::POST_CALL
    );
    assert_eq!(
        m.transfer(clock.tick(1), PRIMARY).unwrap_err().rule,
        rule::NO_CUSTOMER
    );
    // The consulted agent leaving now leaves one party: the call ends.
    m.end_consult(clock.tick(30), bob).unwrap();
    let fx = drain(&mut m);
    assert_eq!(hangups(&fx), vec![PRIMARY, bob]);
    assert_eq!(wrap_ups(&fx), vec![PRIMARY]);
    assert_eq!(m.state(), CallState::Ended);
}

#[test]
fn consult_to_an_agent_already_in_the_call_is_refused() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    let err = m
        .consult(clock.tick(1), PRIMARY, agent("alice"))
        .unwrap_err();
    assert_eq!(err.rule, rule::ALREADY_IN_CALL);
    assert!(drain(&mut m).is_empty());
    assert_eq!(m.state(), CallState::Connected);
}

#[test]
fn a_second_consult_waits_for_the_first_to_end() {
    let mut clock = Clock::new();
    let (mut m, _bob) = consulting(&mut clock, "bob");
    let err = m
        .consult(clock.tick(1), PRIMARY, agent("carol"))
        .unwrap_err();
    assert_eq!(err.rule, rule::CONSULT_IN_PROGRESS);
}
