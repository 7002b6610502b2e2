//! Hold, resume, ending, and who may act at all.

use super::*;

#[test]
fn held_call_cannot_be_ended() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    m.hold(clock.tick(1), PRIMARY).unwrap();
    assert_eq!(m.state(), CallState::Held);
    drain(&mut m);
    let err = m.end(clock.tick(1), PRIMARY).unwrap_err();
    assert_eq!(err.rule, rule::HELD_CALL_CANNOT_END);
    assert_eq!(
        err.to_string(),
        "end refused: a held call cannot be ended; resume it first"
    );
    assert!(!m.allowed(PRIMARY).contains(&Action::End));
    assert!(drain(&mut m).is_empty(), "a refused action changes nothing");
    assert_eq!(m.state(), CallState::Held);
    m.resume(clock.tick(1), PRIMARY).unwrap();
    m.end(clock.tick(1), PRIMARY).unwrap();
    assert_eq!(m.state(), CallState::Ended);
}

#[test]
fn hold_puts_the_customer_on_music_and_resume_brings_him_back() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    m.hold(clock.tick(1), PRIMARY).unwrap();
    assert_eq!(
        drain(&mut m),
        vec![Effect::Hold { party: CUSTOMER }, Effect::Media]
    );
    assert!(
        hears(&m, CUSTOMER).is_empty(),
        "a held customer hears only MOH"
    );
    assert!(hears(&m, PRIMARY).is_empty(), "and is not heard");
    assert_eq!(
        m.hold(clock.tick(1), PRIMARY).unwrap_err().rule,
        rule::ALREADY_HELD
    );
    m.resume(clock.tick(1), PRIMARY).unwrap();
    assert_eq!(
        drain(&mut m),
        vec![Effect::Unhold { party: CUSTOMER }, Effect::Media]
    );
    assert_eq!(hears(&m, CUSTOMER), vec![PRIMARY]);
    assert_eq!(
        m.resume(clock.tick(1), PRIMARY).unwrap_err().rule,
        rule::NOT_HELD
    );
}

#[test]
fn end_by_primary_hangs_up_everyone_and_wraps_up_the_primary() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    m.end(clock.tick(30), PRIMARY).unwrap();
    let fx = drain(&mut m);
    assert_eq!(hangups(&fx), vec![CUSTOMER, PRIMARY]);
    assert_eq!(wrap_ups(&fx), vec![PRIMARY]);
    assert_eq!(
        events(&fx).last(),
        Some(&CallEvent::Ended {
            reason: EndReason::EndedBy { party: PRIMARY }
        })
    );
    assert_eq!(m.state(), CallState::Ended);
    assert_eq!(m.parties().count(), 0);
    assert_eq!(
        m.hold(clock.tick(1), PRIMARY).unwrap_err().rule,
        rule::CALL_ENDED
    );
}

#[test]
fn customer_hanging_up_ends_the_call_and_the_primary_wraps_up() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    m.on_hung_up(clock.tick(30), CUSTOMER);
    let fx = drain(&mut m);
    assert_eq!(
        hangups(&fx),
        vec![PRIMARY],
        "the customer is not hung up twice"
    );
    assert_eq!(wrap_ups(&fx), vec![PRIMARY]);
    assert_eq!(m.state(), CallState::Ended);
}

#[test]
fn primary_hanging_up_a_held_call_still_ends_it() {
    // "Cannot end a held call" is a button rule; a softphone's BYE is a fact.
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    m.hold(clock.tick(1), PRIMARY).unwrap();
    drain(&mut m);
    m.on_hung_up(clock.tick(1), PRIMARY);
    let fx = drain(&mut m);
    assert_eq!(hangups(&fx), vec![CUSTOMER]);
    assert_eq!(wrap_ups(&fx), vec![PRIMARY]);
    assert_eq!(m.state(), CallState::Ended);
}

#[test]
fn customer_hanging_up_before_the_agent_answers_cancels_the_agent_leg() {
    let mut clock = Clock::new();
    let mut m = CallModel::inbound(clock.now(), PartyKind::Customer, "alice".into());
    drain(&mut m);
    m.on_hung_up(clock.tick(3), CUSTOMER);
    let fx = drain(&mut m);
    assert_eq!(hangups(&fx), vec![PRIMARY]);
    assert!(
        wrap_ups(&fx).is_empty(),
        "an agent who never took the call has no wrap-up"
    );
}

#[test]
fn no_controls_for_parties_not_in_the_call_or_without_controls() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    for by in [CUSTOMER, PartyId(99)] {
        assert!(m.allowed(by).is_empty());
        let err = m.hold(clock.tick(1), by).unwrap_err();
        assert_eq!(err.rule, rule::NO_CONTROLS);
        assert_eq!(err.action, Action::Hold);
        assert_eq!(
            m.end(clock.tick(1), by).unwrap_err().rule,
            rule::NO_CONTROLS
        );
    }
    assert!(drain(&mut m).is_empty());
}

#[test]
fn dtmf_goes_to_whoever_the_primary_hears() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    m.send_dtmf(clock.tick(1), PRIMARY, "12#").unwrap();
    assert_eq!(
        drain(&mut m),
        vec![Effect::SendDtmf {
            from: PRIMARY,
            to: vec![CUSTOMER],
            digits: "12#".into()
        }]
    );
    assert_eq!(
        m.send_dtmf(clock.tick(1), PRIMARY, "1x").unwrap_err().rule,
        rule::DTMF_DIGITS
    );
    m.hold(clock.tick(1), PRIMARY).unwrap();
    assert_eq!(
        m.send_dtmf(clock.tick(1), PRIMARY, "1").unwrap_err().rule,
        rule::DTMF_NOBODY_LISTENING
    );
}
