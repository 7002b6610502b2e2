//! Consult transfer and blind transfer (`docs/call-control.md`).

use super::*;

#[test]
fn transfer_to_the_consulted_agent_makes_him_primary_and_the_primary_wraps_up() {
    let mut clock = Clock::new();
    let (mut m, bob) = consulting(&mut clock, "bob");
    m.transfer(clock.tick(10), PRIMARY).unwrap();
    let fx = drain(&mut m);
    assert_eq!(hangups(&fx), vec![PRIMARY]);
    assert_eq!(wrap_ups(&fx), vec![PRIMARY]);
    assert!(fx.contains(&Effect::Unhold { party: CUSTOMER }));
    let ev = events(&fx);
    assert!(ev.contains(&CallEvent::Transferred {
        from: PRIMARY,
        to: bob
    }));
    assert!(ev.contains(&CallEvent::ControlHandedTo { party: bob }));
    assert_eq!(m.state(), CallState::Connected);
    assert_eq!(m.party(bob).unwrap().role, Role::Primary);
    assert_eq!(hears(&m, CUSTOMER), vec![bob]);
    assert!(m.allowed(bob).contains(&Action::Hold));
    // Bob now owns the contact: he wraps up when it ends.
    m.end(clock.tick(60), bob).unwrap();
    assert_eq!(wrap_ups(&drain(&mut m)), vec![bob]);
}

#[test]
fn transfer_to_a_dial_number_leaves_the_customer_with_it_and_nobody_in_control() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    let ext = m
        .consult(clock.tick(1), PRIMARY, number("+11234567890"))
        .unwrap();
    m.on_answered(clock.tick(5), ext);
    m.transfer(clock.tick(5), PRIMARY).unwrap();
    drain(&mut m);
    assert_eq!(m.state(), CallState::Connected);
    assert_eq!(hears(&m, CUSTOMER), vec![ext]);
    assert!(m.parties().all(|p| !p.has_controls()));
    m.on_hung_up(clock.tick(60), ext);
    let fx = drain(&mut m);
    assert_eq!(hangups(&fx), vec![CUSTOMER]);
    assert!(
        wrap_ups(&fx).is_empty(),
        "alice wrapped up when she transferred"
    );
}

#[test]
fn primary_hanging_up_during_an_accepted_consult_transfers_the_call() {
    let mut clock = Clock::new();
    let (mut m, bob) = consulting(&mut clock, "bob");
    m.on_hung_up(clock.tick(10), PRIMARY);
    let fx = drain(&mut m);
    assert!(hangups(&fx).is_empty());
    assert_eq!(wrap_ups(&fx), vec![PRIMARY]);
    assert_eq!(m.party(bob).unwrap().role, Role::Primary);
    assert_eq!(hears(&m, CUSTOMER), vec![bob]);
}

#[test]
fn primary_hanging_up_while_the_consult_rings_ends_the_call() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    let bob = m.consult(clock.tick(1), PRIMARY, agent("bob")).unwrap();
    drain(&mut m);
    m.on_hung_up(clock.tick(2), PRIMARY);
    let fx = drain(&mut m);
    assert_eq!(hangups(&fx), vec![CUSTOMER, bob]);
    assert_eq!(m.state(), CallState::Ended);
}

#[test]
fn blind_transfer_dials_the_target_while_the_customer_waits_on_hold() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    let bob = m
        .blind_transfer(clock.tick(10), PRIMARY, agent("bob"))
        .unwrap();
    let fx = drain(&mut m);
    assert_eq!(hangups(&fx), vec![PRIMARY]);
    assert_eq!(wrap_ups(&fx), vec![PRIMARY]);
    assert!(fx.contains(&Effect::Hold { party: CUSTOMER }));
    assert!(fx.contains(&Effect::Dial {
        party: bob,
        target: agent("bob")
    }));
    assert_eq!(m.state(), CallState::Dialing);
    assert!(held(&m, CUSTOMER));
    assert!(m.allowed(bob).is_empty(), "no controls before he accepts");
    m.on_answered(clock.tick(4), bob);
    let fx = drain(&mut m);
    assert!(fx.contains(&Effect::Unhold { party: CUSTOMER }));
    assert_eq!(m.state(), CallState::Connected);
    assert_eq!(m.party(bob).unwrap().role, Role::Primary);
    assert_eq!(hears(&m, bob), vec![CUSTOMER]);
}

#[test]
fn blind_transfer_not_accepted_drops_the_call() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    let bob = m
        .blind_transfer(clock.tick(10), PRIMARY, agent("bob"))
        .unwrap();
    drain(&mut m);
    m.on_failed(clock.tick(20), bob, FailReason::NoAnswer);
    let fx = drain(&mut m);
    assert_eq!(hangups(&fx), vec![CUSTOMER]);
    assert!(events(&fx).contains(&CallEvent::Ended {
        reason: EndReason::TransferFailed {
            party: bob,
            reason: FailReason::NoAnswer
        }
    }));
    assert_eq!(m.state(), CallState::Ended);
}

#[test]
fn blind_transfer_to_a_dial_number_from_a_held_call() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    m.hold(clock.tick(1), PRIMARY).unwrap();
    let ext = m
        .blind_transfer(clock.tick(1), PRIMARY, number("01161123456789"))
        .unwrap();
    m.on_answered(clock.tick(5), ext);
    drain(&mut m);
    assert_eq!(m.state(), CallState::Connected);
    assert!(!held(&m, CUSTOMER));
    assert_eq!(m.party(ext).unwrap().role, Role::Participant);
}

#[test]
fn blind_transfer_is_refused_during_consult_and_conference() {
    let mut clock = Clock::new();
    let (mut m, _) = consulting(&mut clock, "bob");
    let err = m
        .blind_transfer(clock.tick(1), PRIMARY, agent("carol"))
        .unwrap_err();
    assert_eq!(err.rule, rule::CONSULT_IN_PROGRESS);
    let (mut m, _) = conference_with(&mut clock, &["bob"]);
    let err = m
        .blind_transfer(clock.tick(1), PRIMARY, agent("carol"))
        .unwrap_err();
    assert_eq!(err.rule, rule::CONFERENCE_IN_PROGRESS);
}

#[test]
fn blind_transfer_to_oneself_is_refused() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    let err = m
        .blind_transfer(clock.tick(1), PRIMARY, agent("alice"))
        .unwrap_err();
    assert_eq!(err.rule, rule::ALREADY_IN_CALL);
    assert_eq!(m.state(), CallState::Connected);
}
