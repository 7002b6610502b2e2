//! Transfers end to end (`docs/call-control.md#softphone-actions`, `#trunk-refer`),
//! with real SIPp phones and the test UA (`common::ua`) where a test must name a dialog
//! itself:
//!
//! - sotto receives REFER from an agent's softphone (blind transfer to another agent);
//! - sotto sends REFER to the trunk (blind transfer of a trunk customer, success and
//!   failure) and REFER with Replaces (consult transfer to a dial number);
//! - INVITE with Replaces takes an agent leg's place;
//! - REFER with Replaces from a softphone (its own attended transfer).
//!
//! Every peer is bounded in time; a SIPp phone's exit code says whether it saw what
//! its scenario (in `fixtures/sipp/`, each described in its header) expects.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::api;
use common::sipp::{RunningSipp, Sipp, SippOutcome};
use common::sotto::Sotto;
use common::ua::{raw, AnswerMode, CallState, ReferMode, Ua, UaCall};
use rsip::Method;
use serde_json::json;

/// The dial number the trunk tests transfer to.
const NUMBER: &str = "+12015550100";

/// A registered agent phone (SIPp): `uas_agent.xml` registering as `user`, handling
/// one call with `on_call` (plus `extra` arguments). Returns once it is registered.
fn agent(sotto: &Sotto, user: &str, on_call: &str, extra: &[&str]) -> RunningSipp {
    let ready = sotto.scratch().join(format!("{user}.ready"));
    let phone = Sipp::scenario("uas_agent.xml")
        .out_of_call(on_call)
        .service(user)
        .auth(user, user)
        .rtp_echo()
        .set("ready_file", &ready.to_string_lossy())
        .args(extra.iter().copied())
        .timeout(Duration::from_secs(45))
        .spawn(Some(&sotto.sip_target()));
    let registered = common::poll_until(Duration::from_secs(15), || {
        ready.metadata().ok().filter(|m| m.len() > 0)
    });
    if registered.is_none() {
        let outcome = phone.stop();
        panic!(
            "{user} (SIPp) did not register within 15 s\n---- screen ----\n{}\n---- errors ----\n{}",
            common::tail(&outcome.screen, 6_000),
            common::tail(&outcome.errors, 6_000)
        );
    }
    phone
}

/// Polls the API until a call has exactly these answered parties, or fails with what
/// the API and the peers showed.
fn wait_for_parties(
    sotto: &Sotto,
    want: &[&str],
    peers: Vec<RunningSipp>,
) -> (String, Vec<RunningSipp>) {
    let found = common::poll_until(Duration::from_secs(20), || {
        api::call_with_parties(sotto, want)
    });
    match found {
        Some(call) => (call["id"].as_str().expect("call id").to_string(), peers),
        None => {
            let calls = api::calls(sotto);
            let reports: Vec<String> = peers.into_iter().map(|p| report(&p.stop())).collect();
            panic!(
                "no call with parties {want:?} within 20 s; calls: {calls:#?}\n{}",
                reports.join("\n")
            );
        }
    }
}

/// Before ending a call from the API: lets the customer's hold and resume re-INVITEs
/// that follow a transfer complete. SIPp cannot take a BYE between a re-INVITE and its
/// own 200 (a person would not hang up within a millisecond either); what is asserted
/// never depends on this wait.
fn let_reinvites_settle() {
    std::thread::sleep(Duration::from_secs(1));
}

fn report(o: &SippOutcome) -> String {
    format!(
        "---- SIPp {} exit {:?} ----\n{}\n{}\n{}",
        o.name,
        o.exit_code,
        common::tail(&o.screen, 3_000),
        common::tail(&o.errors, 3_000),
        common::tail(&o.messages, 6_000)
    )
}

/// A config file with the trunk at `trunk` and transfers toward it by REFER.
fn trunk_config(dir: &Path, trunk: u16) -> PathBuf {
    let path = dir.join("trunk.toml");
    std::fs::write(
        &path,
        format!("[trunk]\nuri = \"sip:{{number}}@127.0.0.1:{trunk}\"\ntransfer = \"refer\"\n"),
    )
    .expect("write config");
    path
}

fn sotto_with_trunk(trunk: u16) -> (Sotto, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = trunk_config(dir.path(), trunk);
    let sotto = Sotto::start_with(&["--config", &config.to_string_lossy()]);
    (sotto, dir)
}

/// (1) An agent's softphone transfers its caller blind by REFER to agent2: 202, NOTIFY
/// "100 Trying", agent2 rings and answers, NOTIFY "200 OK" (terminated), BYE to the
/// transferor; the customer talks to agent2 (the API shows them), and the call ends
/// cleanly from the API.
#[test]
fn softphone_blind_refer_hands_the_customer_to_agent2() {
    require_peer!("sipp");
    let mut sotto = Sotto::start();
    let agent1 = agent(
        &sotto,
        "agent1",
        "uas_answer_refer.xml",
        &["-key", "refer_to", "agent2"],
    );
    let agent2 = agent(&sotto, "agent2", "uas_answer.xml", &[]);
    let customer = Sipp::scenario("uac_wait_bye.xml")
        .service("agent1")
        .timeout(Duration::from_secs(40))
        .spawn(Some(&sotto.sip_target()));
    let (id, peers) = wait_for_parties(
        &sotto,
        &["agent:agent2", "customer"],
        vec![customer, agent1, agent2],
    );
    let_reinvites_settle();
    let ended = api::act(&sotto, &id, "end", Some(&json!({"agent": "agent2"})));
    assert_eq!(ended.status, 200, "end: {}", ended.text());
    for p in peers {
        p.wait().assert_all_succeeded(1);
    }
    sotto.assert_running();
}

/// (1b) The same transfer to an agent who refuses (486): the transferor hears the
/// failure in the final NOTIFY, and the call is dropped
/// (`docs/call-control.md#blind-transfer`): BYE to the transferor and to the customer.
#[test]
fn softphone_blind_refer_to_an_agent_who_refuses_drops_the_call() {
    require_peer!("sipp");
    let mut sotto = Sotto::start();
    let agent1 = agent(
        &sotto,
        "agent1",
        "uas_answer_refer_fails.xml",
        &["-key", "refer_to", "agent2"],
    );
    let agent2 = agent(&sotto, "agent2", "uas_busy.xml", &[]);
    // The customer is the test UA: sotto holds it while agent2 rings and hangs up at
    // once when agent2 refuses, a BYE that may overtake SIPp's answer to the hold
    // re-INVITE (SIPp would abort on it; a phone answers both).
    let customer = Ua::new("customer", sotto.sip);
    let call = customer.call(&sotto.uri("agent1"));
    if let Err(s) = settled(&call, Duration::from_secs(10)) {
        fail_ua(&[&customer], vec![agent1, agent2], &format!("call got {s}"));
    }
    let bye = common::poll_until(Duration::from_secs(15), || {
        call.bye_received().then_some(())
    });
    if bye.is_none() {
        fail_ua(
            &[&customer],
            vec![agent1, agent2],
            "the customer got no BYE",
        );
    }
    for p in [agent1, agent2] {
        p.wait().assert_all_succeeded(1);
    }
    let gone = common::poll_until(Duration::from_secs(5), || {
        api::calls(&sotto).is_empty().then_some(())
    });
    assert!(gone.is_some(), "the call stayed: {:#?}", api::calls(&sotto));
    sotto.assert_running();
}

/// (2) A customer from the trunk, transferred blind from the API with
/// trunk.transfer = "refer": sotto sends the trunk REFER naming the dial number, the
/// trunk's NOTIFYs report success, and sotto hangs up its legs (customer and agent).
#[test]
fn api_blind_transfer_of_a_trunk_customer_goes_by_refer() {
    require_peer!("sipp");
    let trunk = common::ports::free_port();
    let (mut sotto, _config) = sotto_with_trunk(trunk);
    let agent1 = agent(&sotto, "agent1", "uas_answer.xml", &[]);
    let customer = Sipp::scenario("uac_trunk_referred.xml")
        .service("agent1")
        .args(["-p".to_string(), trunk.to_string()])
        .timeout(Duration::from_secs(40))
        .spawn(Some(&sotto.sip_target()));
    let (id, peers) = wait_for_parties(
        &sotto,
        &["agent:agent1", "customer"],
        vec![customer, agent1],
    );
    let sent = api::act(&sotto, &id, "transfer", Some(&json!({"target": NUMBER})));
    assert_eq!(sent.status, 200, "transfer: {}", sent.text());
    for p in peers {
        p.wait().assert_all_succeeded(1);
    }
    let left = common::poll_until(Duration::from_secs(5), || {
        api::calls(&sotto).is_empty().then_some(())
    });
    assert!(left.is_some(), "the call stayed: {:#?}", api::calls(&sotto));
    sotto.assert_running();
}

/// (2b) The trunk reports the REFER failed (NOTIFY "486 Busy Here"): the call goes on
/// with the customer and the agent (the API says why), until the customer hangs up
/// (3 s later: a BYE from sotto before then fails the customer's scenario).
#[test]
fn failed_refer_to_the_trunk_leaves_the_call_as_it_was() {
    require_peer!("sipp");
    let trunk = common::ports::free_port();
    let (mut sotto, _config) = sotto_with_trunk(trunk);
    let agent1 = agent(&sotto, "agent1", "uas_answer.xml", &[]);
    let customer = Sipp::scenario("uac_trunk_refer_fails.xml")
        .service("agent1")
        .args(["-p".to_string(), trunk.to_string()])
        .timeout(Duration::from_secs(40))
        .spawn(Some(&sotto.sip_target()));
    let (id, peers) = wait_for_parties(
        &sotto,
        &["agent:agent1", "customer"],
        vec![customer, agent1],
    );
    let sent = api::act(&sotto, &id, "transfer", Some(&json!({"target": NUMBER})));
    assert_eq!(sent.status, 200, "transfer: {}", sent.text());
    let failed = common::poll_until(Duration::from_secs(10), || {
        api::calls(&sotto).into_iter().find(|c| {
            c["id"] == id.as_str()
                && c["events"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(|t| t["event"] == "transfer-refer-failed"))
        })
    });
    let Some(call) = failed else {
        let calls = api::calls(&sotto);
        let reports: Vec<String> = peers.into_iter().map(|p| report(&p.stop())).collect();
        panic!(
            "no failed transfer in the API within 10 s: {calls:#?}\n{}",
            reports.join("\n")
        );
    };
    assert_eq!(api::answered_parties(&call), ["agent:agent1", "customer"]);
    for p in peers {
        p.wait().assert_all_succeeded(1);
    }
    sotto.assert_running();
}

/// (3) Consult transfer to a dial number with trunk.transfer = "refer": the trunk (a
/// hand-written UA on the trunk's port: it is both the customer's side and the
/// consulted number's) gets REFER in the customer's dialog whose Refer-To carries a
/// Replaces naming the consult leg's dialog as the trunk sees it (its Call-ID, to-tag
/// = the trunk's tag, from-tag = sotto's); on NOTIFY "200 OK" sotto hangs up every leg.
#[test]
fn consult_transfer_to_a_dial_number_sends_refer_with_replaces() {
    require_peer!("sipp");
    let trunk_port = common::ports::free_port();
    let (mut sotto, _config) = sotto_with_trunk(trunk_port);
    let agent1 = agent(&sotto, "agent1", "uas_answer.xml", &[]);
    // The trunk answers the consult leg by itself, takes the REFER (202, NOTIFY 100)
    // and reports its outcome when told.
    let trunk = Ua::builder("trunk", sotto.sip)
        .port(trunk_port)
        .answer(AnswerMode::Answer)
        .refer(ReferMode::Accept)
        .start();
    let fail = |trunk: &Ua, agent1: RunningSipp, what: &str| -> ! {
        panic!(
            "{what}\n---- trunk UA ----\n{}\n{}",
            trunk.trace_tail(60),
            report(&agent1.stop())
        )
    };
    let customer = trunk.call(&sotto.uri("agent1"));
    if let Err(s) = settled(&customer, Duration::from_secs(10)) {
        fail(
            &trunk,
            agent1,
            &format!("the customer's call was not answered: {s}"),
        );
    }
    let consult = api::act(&sotto, "c1", "consult", Some(&json!({"target": NUMBER})));
    assert_eq!(consult.status, 200, "consult: {}", consult.text());
    // The consult leg arrives at the trunk (the customer's hold re-INVITE is answered
    // on the way).
    let Some(consult_leg) = acked_call(&trunk, 2, Duration::from_secs(10)) else {
        fail(&trunk, agent1, "no consult INVITE reached the trunk");
    };
    let ready = common::poll_until(Duration::from_secs(10), || {
        let calls = api::calls(&sotto);
        let c = calls.first()?;
        let allowed = c["control"]["parties"]
            .as_array()?
            .iter()
            .find(|p| p["user"] == "agent1")?["allowed"]
            .as_array()?
            .iter()
            .any(|a| a == "transfer");
        allowed.then_some(())
    });
    if ready.is_none() {
        fail(
            &trunk,
            agent1,
            &format!("transfer never allowed: {:#?}", api::calls(&sotto)),
        );
    }
    std::thread::sleep(Duration::from_millis(200));
    let sent = api::act(&sotto, "c1", "transfer", None);
    assert_eq!(sent.status, 200, "transfer: {}", sent.text());
    let refer = common::poll_until(Duration::from_secs(10), || {
        customer.read(|c| c.refers().first().cloned())
    });
    let Some(refer) = refer else {
        fail(&trunk, agent1, "no REFER in the customer's dialog");
    };
    let named = refer
        .replaces
        .as_ref()
        .map(|r| (r.call_id.clone(), r.to_tag.clone(), r.from_tag.clone()));
    let want = consult_leg.read(|c| {
        (
            c.call_id().to_string(),
            c.local_tag().to_string(),
            c.remote_tag().unwrap_or_default().to_string(),
        )
    });
    if named.as_ref() != Some(&want) {
        fail(
            &trunk,
            agent1,
            &format!(
                "Refer-To {:?} names {named:?}, not the consult dialog {want:?}",
                refer.refer_to
            ),
        );
    }
    // The trunk answered 202 and sent NOTIFY "100 Trying" (active;expires=60); now the
    // final "200 OK" (terminated;reason=noresource). sotto answers both 200.
    if let Err(e) = customer.act(|p, h| p.notify_refer(h, 200)) {
        fail(&trunk, agent1, &format!("NOTIFY 200: {e}"));
    }
    let notified = common::poll_until(Duration::from_secs(5), || {
        customer.read(|c| (c.codes_for(Method::Notify).len() >= 2).then_some(()))
    });
    let codes = customer.read(|c| c.codes_for(Method::Notify));
    if notified.is_none() || codes != [200, 200] {
        fail(&trunk, agent1, &format!("NOTIFYs answered {codes:?}"));
    }
    // sotto leaves: BYE on the customer's leg and on the consult leg.
    let byes = common::poll_until(Duration::from_secs(5), || {
        (customer.bye_received() && consult_leg.bye_received()).then_some(())
    });
    let bye_ids = byes_to(&trunk);
    if byes.is_none() {
        fail(&trunk, agent1, &format!("BYEs seen: {bye_ids:?}"));
    }
    let want_byes: BTreeSet<String> = [&customer, &consult_leg]
        .iter()
        .map(|c| c.read(|c| c.call_id().to_string()))
        .collect();
    assert_eq!(bye_ids, want_byes);
    agent1.wait().assert_all_succeeded(1);
    sotto.assert_running();
}

/// Waits for `call` to be answered or refused: `Err` (the final status) unless answered.
fn settled(call: &UaCall, limit: Duration) -> Result<(), String> {
    common::poll_until(limit, || {
        call.read(|c| (!c.state().is_early()).then_some(()))
    });
    match call.read(|c| (c.state(), c.final_code())) {
        (CallState::Confirmed, _) => Ok(()),
        (state, code) => Err(format!("{code:?} ({state:?})")),
    }
}

/// The `n`th call of `ua` (1-based) once it is answered and its 200 ACKed, within
/// `limit`.
fn acked_call(ua: &Ua, n: usize, limit: Duration) -> Option<UaCall> {
    common::poll_until(limit, || {
        ua.read(|p| {
            p.calls()
                .get(n - 1)
                .filter(|c| {
                    c.state() == CallState::Confirmed && c.requests().contains(&Method::Ack)
                })
                .map(|c| c.handle())
        })
    })
    .map(|h| ua.call_of(h))
}

/// The Call-IDs of the BYEs `ua` received.
fn byes_to(ua: &Ua) -> BTreeSet<String> {
    ua.requests_received(Method::Bye)
        .iter()
        .filter_map(|r| sotto_sip::message::call_id(r).map(str::to_string))
        .collect()
}

/// An agent's phone as the test UA, registered, answering at once.
fn ua_agent(sotto: &Sotto, user: &str) -> Ua {
    let ua = Ua::builder(user, sotto.sip)
        .answer(AnswerMode::Answer)
        .start();
    ua.register(user, user);
    ua
}

fn fail_ua(uas: &[&Ua], peers: Vec<RunningSipp>, what: &str) -> ! {
    let mut text = String::new();
    for ua in uas {
        text.push_str(&format!(
            "---- UA {} ----\n{}\n",
            ua.name(),
            ua.trace_tail(60)
        ));
    }
    for p in peers {
        text.push_str(&report(&p.stop()));
    }
    panic!("{what}\n{text}");
}

/// (4) INVITE with Replaces (RFC 3891) naming the agent leg's dialog: the new phone is
/// answered and takes the agent's place; the old phone gets BYE; the customer stays
/// and is hung up when the new phone hangs up.
#[test]
fn invite_with_replaces_takes_the_agent_legs_place() {
    require_peer!("sipp");
    let mut sotto = Sotto::start();
    let old = ua_agent(&sotto, "agent1");
    let customer = Sipp::scenario("uac_wait_bye.xml")
        .service("agent1")
        .timeout(Duration::from_secs(40))
        .spawn(Some(&sotto.sip_target()));
    let Some(leg) = acked_call(&old, 1, Duration::from_secs(10)) else {
        fail_ua(&[&old], vec![customer], "agent1 was never called");
    };
    // To-tag: the tag of the recipient (sotto) in that dialog; from-tag: the old phone's.
    let naming = leg
        .read(|c| c.replaces_naming())
        .expect("the answered leg has a dialog");
    let new = Ua::new("agent1", sotto.sip);
    let taken = new.invite_replaces(&sotto.uri("agent1"), naming);
    if let Err(s) = settled(&taken, Duration::from_secs(10)) {
        fail_ua(
            &[&old, &new],
            vec![customer],
            &format!("INVITE with Replaces got {s}"),
        );
    }
    let bye = common::poll_until(Duration::from_secs(5), || leg.bye_received().then_some(()));
    if bye.is_none() {
        fail_ua(
            &[&old, &new],
            vec![customer],
            "the replaced phone got no BYE",
        );
    }
    let (id, peers) = wait_for_parties(&sotto, &["agent:agent1", "customer"], vec![customer]);
    let call = api::calls(&sotto)
        .into_iter()
        .find(|c| c["id"] == id.as_str())
        .expect("call");
    let live_legs = call["legs"].as_array().map_or(0, |l| l.len());
    assert!(live_legs >= 2, "legs: {call:#?}");
    taken.hang_up();
    for p in peers {
        p.wait().assert_all_succeeded(1);
    }
    sotto.assert_running();
}

/// (5) The softphone's own attended transfer: agent1 talks to the customer (call 1),
/// calls agent2 through sotto (call 2), then sends REFER in call 1 with Replaces naming
/// call 2. agent2's phone gets a re-INVITE (its media now in call 1), the customer and
/// agent2 are in one call, and agent1 gets NOTIFY 100/200 and BYE on both calls.
#[test]
fn softphone_attended_refer_with_replaces_joins_customer_and_agent2() {
    require_peer!("sipp");
    let mut sotto = Sotto::start();
    let a1 = ua_agent(&sotto, "agent1");
    let agent2 = agent(&sotto, "agent2", "uas_answer_reinvite.xml", &[]);
    let customer = Sipp::scenario("uac_wait_bye.xml")
        .service("agent1")
        .timeout(Duration::from_secs(40))
        .spawn(Some(&sotto.sip_target()));
    let peers = vec![customer, agent2];
    let Some(call1) = acked_call(&a1, 1, Duration::from_secs(10)) else {
        fail_ua(&[&a1], peers, "agent1 was never called");
    };
    let call2 = a1.call(&sotto.uri("agent2"));
    if let Err(s) = settled(&call2, Duration::from_secs(10)) {
        fail_ua(&[&a1], peers, &format!("agent1's call to agent2 got {s}"));
    }
    // REFER in call 1 whose Refer-To names call 2 as agent2's side sees it through
    // sotto: sotto's tag is the to-tag (RFC 3891 §7.1), with Referred-By.
    let target = sotto.uri("agent2");
    if let Err(e) = a1.act(|p| p.refer_replaces(call1.handle, &target, call2.handle)) {
        fail_ua(&[&a1], peers, &format!("REFER not sent: {e}"));
    }
    let answered = common::poll_until(Duration::from_secs(10), || {
        call1.read(|c| c.codes_for(Method::Refer).first().copied())
    });
    if answered != Some(202) {
        fail_ua(&[&a1], peers, &format!("REFER answered {answered:?}"));
    }
    // NOTIFY 100, NOTIFY 200 (terminated), BYE on call 1 and on call 2, in any order
    // but NOTIFYs in theirs.
    let (c1, c2) = (
        call1.read(|c| c.call_id().to_string()),
        call2.read(|c| c.call_id().to_string()),
    );
    let done = common::poll_until(Duration::from_secs(20), || {
        let notified = call1.read(|c| c.notify_statuses().len() >= 2);
        (notified && call1.bye_received() && call2.bye_received()).then_some(())
    });
    // Each NOTIFY once (by CSeq), in the order they came.
    let mut notifies = a1.requests_received(Method::Notify);
    let mut seen = BTreeSet::new();
    notifies.retain(|n| seen.insert(sotto_sip::message::cseq(n).map(|c| c.0)));
    if done.is_none() {
        fail_ua(
            &[&a1],
            peers,
            &format!(
                "agent1 saw NOTIFYs {:?}, BYEs {:?}",
                call1.read(|c| c.notify_statuses().to_vec()),
                byes_to(&a1)
            ),
        );
    }
    for n in &notifies {
        assert_eq!(
            sotto_sip::message::call_id(n),
            Some(c1.as_str()),
            "NOTIFY outside the REFER's dialog"
        );
    }
    let frags = call1.read(|c| c.notify_statuses().to_vec());
    assert_eq!(frags.first(), Some(&100), "first NOTIFY {frags:?}");
    assert_eq!(frags.get(1), Some(&200), "final NOTIFY {frags:?}");
    let state = raw::header(&notifies[1].headers, "subscription-state").unwrap_or_default();
    assert!(state.starts_with("terminated"), "final NOTIFY: {state}");
    let want: BTreeSet<String> = [c1, c2].into_iter().collect();
    assert_eq!(byes_to(&a1), want, "BYEs to agent1");
    let (id, peers) = wait_for_parties(&sotto, &["agent:agent2", "customer"], peers);
    let_reinvites_settle();
    let ended = api::act(&sotto, &id, "end", Some(&json!({"agent": "agent2"})));
    assert_eq!(ended.status, 200, "end: {}", ended.text());
    for p in peers {
        p.wait().assert_all_succeeded(1);
    }
    sotto.assert_running();
}
