//! Recording pause and resume (`docs/recording.md`).

use super::*;

const PAUSE: Duration = Duration::from_secs(120);

#[test]
fn paused_recording_resumes_by_itself_after_the_configured_duration() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    assert_eq!(m.poll_timeout(), None);
    let paused_at = clock.tick(10);
    m.pause_recording(paused_at, PRIMARY, PAUSE).unwrap();
    let at = paused_at + PAUSE;
    assert_eq!(
        events(&drain(&mut m)),
        vec![CallEvent::RecordingPaused { auto_resume_at: at }]
    );
    assert_eq!(m.poll_timeout(), Some(at));
    m.handle_timeout(clock.tick(119));
    assert!(drain(&mut m).is_empty(), "not yet");
    assert_eq!(m.recording(), Recording::Paused { auto_resume_at: at });
    m.handle_timeout(clock.tick(1));
    assert_eq!(
        events(&drain(&mut m)),
        vec![CallEvent::RecordingResumed { automatic: true }]
    );
    assert_eq!(m.recording(), Recording::On);
    assert_eq!(m.poll_timeout(), None);
}

#[test]
fn paused_recording_can_be_resumed_by_hand_before_the_timer() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    m.pause_recording(clock.tick(1), PRIMARY, PAUSE).unwrap();
    assert_eq!(
        m.pause_recording(clock.tick(1), PRIMARY, PAUSE)
            .unwrap_err()
            .rule,
        rule::RECORDING_ALREADY_PAUSED
    );
    drain(&mut m);
    m.resume_recording(clock.tick(30), PRIMARY).unwrap();
    assert_eq!(
        events(&drain(&mut m)),
        vec![CallEvent::RecordingResumed { automatic: false }]
    );
    assert_eq!(m.poll_timeout(), None);
    m.handle_timeout(clock.tick(600));
    assert!(
        drain(&mut m).is_empty(),
        "the cancelled timer does not fire"
    );
    assert_eq!(
        m.resume_recording(clock.tick(1), PRIMARY).unwrap_err().rule,
        rule::RECORDING_NOT_PAUSED
    );
}

#[test]
fn recording_pause_and_resume_are_refused_during_consult() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    let bob = m.consult(clock.tick(1), PRIMARY, agent("bob")).unwrap();
    let mut states = Vec::new();
    for step in 0..3 {
        match step {
            0 => {}
            1 => m.on_answered(clock.tick(1), bob),
            _ => m.toggle(clock.tick(1), PRIMARY).unwrap(),
        }
        states.push(m.state());
        let err = m
            .pause_recording(clock.tick(1), PRIMARY, PAUSE)
            .unwrap_err();
        assert_eq!(err.rule, rule::RECORDING_NOT_IN_CONSULT);
    }
    assert_eq!(
        states,
        [
            CallState::ConsultRequested,
            CallState::Consulting,
            CallState::ConsultOnHold
        ]
    );
}

#[test]
fn recording_resume_is_refused_during_consult_but_the_timer_still_resumes() {
    let mut clock = Clock::new();
    let mut m = connected(&mut clock);
    m.pause_recording(clock.tick(1), PRIMARY, PAUSE).unwrap();
    m.consult(clock.tick(1), PRIMARY, agent("bob")).unwrap();
    drain(&mut m);
    let err = m.resume_recording(clock.tick(1), PRIMARY).unwrap_err();
    assert_eq!(err.rule, rule::RECORDING_NOT_IN_CONSULT);
    m.handle_timeout(clock.tick(200));
    assert_eq!(m.recording(), Recording::On);
}

#[test]
fn recording_pause_and_resume_are_refused_during_conference() {
    let mut clock = Clock::new();
    let (mut m, _) = conference_with(&mut clock, &["bob"]);
    let err = m
        .pause_recording(clock.tick(1), PRIMARY, PAUSE)
        .unwrap_err();
    assert_eq!(err.rule, rule::RECORDING_NOT_IN_CONFERENCE);
    let err = m.resume_recording(clock.tick(1), PRIMARY).unwrap_err();
    assert_eq!(err.rule, rule::RECORDING_NOT_IN_CONFERENCE);
}

#[test]
fn recording_actions_are_refused_when_the_call_is_not_recorded() {
    let mut clock = Clock::new();
    let mut m = CallModel::inbound(clock.now(), PartyKind::Customer, "alice".into());
    m.on_answered(clock.tick(1), PRIMARY);
    let err = m
        .pause_recording(clock.tick(1), PRIMARY, PAUSE)
        .unwrap_err();
    assert_eq!(err.rule, rule::RECORDING_OFF);
    assert_eq!(m.poll_timeout(), None);
}
