//! Admission and shutdown, as a trunk sees them: calls over the configured limit are
//! refused with 503 and Retry-After, and SIGTERM hangs up live calls with BYE before
//! the process exits.

mod common;

use std::time::Duration;

use common::sotto::Sotto;
use common::ua::{answered, bye_received, raw, Ua, UaCall};
use rsip::Method;

/// Places an echo call and waits for its 200 (which the UA ACKs).
fn answered_echo_call(sotto: &Sotto, ua: &Ua) -> UaCall {
    let call = ua.call(&sotto.uri("echo"));
    call.wait(Duration::from_secs(5), "answered", answered);
    call
}

/// The final response to `call`'s INVITE, read from the UA's trace.
fn final_response(ua: &Ua, call: &UaCall) -> Option<rsip::Response> {
    let call_id = call.read(|c| c.call_id().to_string());
    ua.trace()
        .iter()
        .filter(|t| !t.sent)
        .filter_map(|t| raw::parse_response(&t.bytes))
        .filter(|r| sotto_sip::message::call_id(r) == Some(call_id.as_str()))
        .filter(|r| sotto_sip::message::cseq(r).is_some_and(|c| c.1 == Method::Invite))
        .find(|r| raw::status(r) >= 200)
}

#[test]
fn calls_over_the_limit_get_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sotto.toml");
    std::fs::write(&config, "[sip]\nmax_concurrent_calls = 1\n").unwrap();
    let sotto = Sotto::start_with(&["--config", config.to_str().unwrap()]);
    let ua = Ua::new("trunk", sotto.sip);
    answered_echo_call(&sotto, &ua);

    let second = ua.call(&sotto.uri("echo"));
    second.wait(Duration::from_secs(5), "answered or refused", |c| {
        c.final_code().is_some()
    });
    let refused = final_response(&ua, &second).expect("the final response in the trace");
    assert_eq!(raw::status(&refused), 503, "{}", raw::text(&refused));
    assert!(
        raw::header(&refused.headers, "Retry-After").is_some(),
        "503 without Retry-After:\n{}",
        raw::text(&refused)
    );
}

#[test]
fn sigterm_hangs_up_live_calls_and_exits() {
    let mut sotto = Sotto::start();
    let ua = Ua::new("trunk", sotto.sip);
    let call = answered_echo_call(&sotto, &ua);

    let status = std::process::Command::new("kill")
        .args(["-TERM", &sotto.pid().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());

    // sotto sends BYE for the live call; the UA answers it so it can finish at once.
    let got_bye = common::poll_until(Duration::from_secs(5), || {
        call.read(bye_received).then_some(())
    });
    assert!(
        got_bye.is_some(),
        "no BYE for the live call after SIGTERM:\n{}",
        ua.trace_tail(10)
    );
    let exited = common::poll_until(Duration::from_secs(10), || sotto.exited());
    let status =
        exited.unwrap_or_else(|| panic!("still running 10 s after SIGTERM:\n{}", sotto.log()));
    assert!(status.success(), "exit status {status}:\n{}", sotto.log());
}
