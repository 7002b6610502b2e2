//! sotto against SIPp, the SIP traffic generator: calls to the echo service, load,
//! registration with digest auth, refusals, B2BUA calls to a registered agent, CANCEL.
//!
//! The scenarios are in `fixtures/sipp/`; `scripts/sipp-selftest.sh` checks each of them
//! against SIPp stand-ins, so a failure here is sotto's.

mod common;

use std::path::Path;
use std::time::Duration;

use common::sipp::{RunningSipp, Sipp};
use common::sotto::Sotto;

/// The echo service answers every call and the calls end cleanly: INVITE with a PCMU
/// offer, 200 with an answer SDP, ACK, 3 s of speech over RTP, BYE, 200.
#[test]
fn echo_calls_with_rtp_all_succeed() {
    require_peer!("sipp");
    let mut sotto = Sotto::start();
    Sipp::scenario("uac_echo.xml")
        .service("echo")
        .calls(20)
        .rate(10)
        .limit(10)
        .timeout(Duration::from_secs(60))
        .run(Some(&sotto.sip_target()))
        .assert_all_succeeded(20);
    sotto.assert_running();
}

/// Zero-length calls at 100 calls/s, 50 at once: none may fail.
#[test]
fn load_of_short_calls_over_udp_has_no_failures() {
    require_peer!("sipp");
    let mut sotto = Sotto::start();
    Sipp::scenario("uac_load.xml")
        .service("echo")
        .calls(200)
        .rate(100)
        .limit(50)
        .timeout(Duration::from_secs(60))
        .run(Some(&sotto.sip_target()))
        .assert_all_succeeded(200);
    sotto.assert_running();
}

/// The same calls over one TCP connection (sotto listens on UDP and TCP).
#[test]
fn short_calls_over_tcp_succeed() {
    require_peer!("sipp");
    let mut sotto = Sotto::start();
    Sipp::scenario("uac_load.xml")
        .service("echo")
        .tcp()
        .calls(20)
        .rate(20)
        .limit(10)
        .run(Some(&sotto.sip_target()))
        .assert_all_succeeded(20);
    sotto.assert_running();
}

#[test]
fn options_is_answered_200_over_udp_and_tcp() {
    require_peer!("sipp");
    let sotto = Sotto::start();
    Sipp::scenario("options.xml")
        .run(Some(&sotto.sip_target()))
        .assert_all_succeeded(1);
    Sipp::scenario("options.xml")
        .tcp()
        .run(Some(&sotto.sip_target()))
        .assert_all_succeeded(1);
}

#[test]
fn unknown_user_is_refused_with_404() {
    require_peer!("sipp");
    let sotto = Sotto::start();
    Sipp::scenario("uac_404.xml")
        .service("nobody-by-this-name")
        .run(Some(&sotto.sip_target()))
        .assert_all_succeeded(1);
}

#[test]
fn agent_who_is_not_registered_is_refused_with_480() {
    require_peer!("sipp");
    let sotto = Sotto::start();
    Sipp::scenario("uac_480.xml")
        .service("agent2")
        .run(Some(&sotto.sip_target()))
        .assert_all_succeeded(1);
}

/// REGISTER is challenged (401, realm taken from the challenge), accepted with the right
/// password (200 listing the binding); un-REGISTER is challenged and accepted too, after
/// which the agent is unreachable again (480).
#[test]
fn register_with_digest_auth_then_unregister() {
    require_peer!("sipp");
    let sotto = Sotto::start();
    Sipp::scenario("register_auth.xml")
        .service("agent1")
        .auth("agent1", "agent1")
        .run(Some(&sotto.sip_target()))
        .assert_all_succeeded(1);
    Sipp::scenario("uac_480.xml")
        .service("agent1")
        .run(Some(&sotto.sip_target()))
        .assert_all_succeeded(1);
}

/// A wrong password gets 401 or 403, never 200, and leaves no binding behind.
#[test]
fn register_with_wrong_password_is_never_accepted() {
    require_peer!("sipp");
    let sotto = Sotto::start();
    Sipp::scenario("register_badpass.xml")
        .service("agent1")
        .run(Some(&sotto.sip_target()))
        .assert_all_succeeded(1);
    Sipp::scenario("uac_480.xml")
        .service("agent1")
        .run(Some(&sotto.sip_target()))
        .assert_all_succeeded(1);
}

/// A call to a registered agent is bridged: the caller's INVITE reaches the agent's
/// phone (a second SIPp, registered as agent1, echoing RTP), both legs are answered and
/// torn down, and the agent unregisters cleanly afterwards.
#[test]
fn call_to_registered_agent_is_bridged_b2bua() {
    require_peer!("sipp");
    let sotto = Sotto::start();
    let ready = sotto.scratch().join("agent1.ready");
    let agent = start_agent(&sotto, "uas_answer.xml", &ready);
    wait_until_registered(agent, &ready, |agent| {
        Sipp::scenario("uac_echo.xml")
            .service("agent1")
            .timeout(Duration::from_secs(30))
            .run(Some(&sotto.sip_target()))
            .assert_all_succeeded(1);
        agent.wait().assert_all_succeeded(1);
    });
}

/// CANCEL before answer (RFC 3261 section 9): the caller gets 200 for the CANCEL and 487
/// for the INVITE; the ringing agent's leg is cancelled too (the agent's scenario
/// requires the CANCEL, answers 487 and gets its ACK).
#[test]
fn cancel_before_answer_reaches_ringing_agent() {
    require_peer!("sipp");
    let sotto = Sotto::start();
    let ready = sotto.scratch().join("agent1.ready");
    let agent = start_agent(&sotto, "uas_ring_noanswer.xml", &ready);
    wait_until_registered(agent, &ready, |agent| {
        Sipp::scenario("uac_cancel.xml")
            .service("agent1")
            .timeout(Duration::from_secs(30))
            .run(Some(&sotto.sip_target()))
            .assert_all_succeeded(1);
        agent.wait().assert_all_succeeded(1);
    });
}

/// agent1's phone: registers to sotto, handles one call with `on_call`, unregisters.
fn start_agent(sotto: &Sotto, on_call: &str, ready: &Path) -> RunningSipp {
    Sipp::scenario("uas_agent.xml")
        .out_of_call(on_call)
        .service("agent1")
        .auth("agent1", "agent1")
        .rtp_echo()
        .set("ready_file", &ready.to_string_lossy())
        .timeout(Duration::from_secs(45))
        .spawn(Some(&sotto.sip_target()))
}

/// Runs `then` once the agent has written its ready file (it is registered), or fails
/// with the agent's own report.
fn wait_until_registered(agent: RunningSipp, ready: &Path, then: impl FnOnce(RunningSipp)) {
    let registered = common::poll_until(Duration::from_secs(15), || {
        ready.metadata().ok().filter(|m| m.len() > 0)
    });
    if registered.is_none() {
        let outcome = agent.stop();
        panic!(
            "agent1 (SIPp) did not register within 15 s\n---- screen ----\n{}\n---- errors ----\n{}",
            common::tail(&outcome.screen, 6_000),
            common::tail(&outcome.errors, 6_000)
        );
    }
    then(agent);
}
