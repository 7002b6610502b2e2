//! Transfers end to end (`docs/call-control.md#softphone-actions`, `#trunk-refer`),
//! with real SIPp phones and a hand-written UA where a test must name a dialog itself:
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

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::api;
use common::rawua::{Dialog, Ua};
use common::sipp::{RunningSipp, Sipp, SippOutcome};
use common::sotto::Sotto;
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
    // The customer is a hand-written UA: sotto holds it while agent2 rings and hangs
    // up at once when agent2 refuses, a BYE that may overtake SIPp's answer to the
    // hold re-INVITE (SIPp would abort on it; a phone answers both).
    let mut customer = Ua::new("customer", sotto.sip);
    let call = match customer.invite(&sotto.uri("agent1"), &[]) {
        Ok(d) => d,
        Err(s) => fail_ua(
            &[&customer],
            vec![agent1, agent2],
            &format!("call got {s:?}"),
        ),
    };
    let cid = call.call_id.clone();
    let bye = customer.wait_for(Duration::from_secs(15), |m| {
        m.method() == Some("BYE") && m.call_id() == cid
    });
    let Some(bye) = bye else {
        fail_ua(
            &[&customer],
            vec![agent1, agent2],
            "the customer got no BYE",
        );
    };
    customer.respond(&bye, 200, "OK", &[], None);
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

/// Decodes `%XX` escapes (a header in a URI, RFC 3261 §19.1.1).
fn unescape(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The Replaces named in a Refer-To value: (call-id, to-tag, from-tag).
fn replaces_in(refer_to: &str) -> Option<(String, String, String)> {
    let raw = refer_to.split("Replaces=").nth(1)?;
    let raw = raw.split(['>', '&']).next()?;
    let text = unescape(raw);
    let mut parts = text.split(';');
    let call_id = parts.next()?.trim().to_string();
    let (mut to, mut from) = (None, None);
    for p in parts {
        match p.trim().split_once('=') {
            Some(("to-tag", v)) => to = Some(v.to_string()),
            Some(("from-tag", v)) => from = Some(v.to_string()),
            _ => {}
        }
    }
    Some((call_id, to?, from?))
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
    let mut trunk = Ua::bind("trunk", sotto.sip, ([127, 0, 0, 1], trunk_port).into());
    let fail = |trunk: &Ua, agent1: RunningSipp, what: &str| -> ! {
        panic!(
            "{what}\n---- trunk UA ----\n{}\n{}",
            common::tail(&trunk.log, 12_000),
            report(&agent1.stop())
        )
    };
    let mut customer = match trunk.invite(&sotto.uri("agent1"), &[]) {
        Ok(d) => d,
        Err(s) => fail(
            &trunk,
            agent1,
            &format!("the customer's call was not answered: {s:?}"),
        ),
    };
    let consult = api::act(&sotto, "c1", "consult", Some(&json!({"target": NUMBER})));
    assert_eq!(consult.status, 200, "consult: {}", consult.text());
    // The consult leg arrives at the trunk (the customer's hold re-INVITE is answered
    // on the way).
    let Some(consult_leg) = trunk.answer(Duration::from_secs(10)) else {
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
        trunk.serve(Duration::from_millis(200));
        fail(
            &trunk,
            agent1,
            &format!("transfer never allowed: {:#?}", api::calls(&sotto)),
        );
    }
    trunk.serve(Duration::from_millis(200));
    let sent = api::act(&sotto, "c1", "transfer", None);
    assert_eq!(sent.status, 200, "transfer: {}", sent.text());
    let cid = customer.call_id.clone();
    let Some(refer) = trunk.wait_for(Duration::from_secs(10), |m| {
        m.method() == Some("REFER") && m.call_id() == cid
    }) else {
        fail(&trunk, agent1, "no REFER in the customer's dialog");
    };
    let refer_to = refer.header("refer-to").unwrap_or("").to_string();
    let named = replaces_in(&refer_to);
    let want = (
        consult_leg.call_id.clone(),
        consult_leg.local_tag.clone(),
        consult_leg.remote_tag.clone(),
    );
    if named.as_ref() != Some(&want) {
        fail(
            &trunk,
            agent1,
            &format!("Refer-To {refer_to:?} names {named:?}, not the consult dialog {want:?}"),
        );
    }
    trunk.respond(&refer, 202, "Accepted", &[], None);
    for (frag, state) in [
        ("SIP/2.0 100 Trying\r\n", "active;expires=60"),
        ("SIP/2.0 200 OK\r\n", "terminated;reason=noresource"),
    ] {
        let r = trunk.in_dialog(
            &mut customer,
            "NOTIFY",
            &[
                "Event: refer".into(),
                format!("Subscription-State: {state}"),
            ],
            Some(("message/sipfrag;version=2.0", frag)),
        );
        if r.as_ref().and_then(|r| r.status()) != Some(200) {
            fail(
                &trunk,
                agent1,
                &format!("NOTIFY {frag:?} answered {:?}", r.map(|r| r.start)),
            );
        }
    }
    // sotto leaves: BYE on the customer's leg and on the consult leg.
    let mut byes = Vec::new();
    for _ in 0..2 {
        match trunk.request("BYE", Duration::from_secs(5)) {
            Some(bye) => {
                trunk.respond(&bye, 200, "OK", &[], None);
                byes.push(bye.call_id().to_string());
            }
            None => fail(&trunk, agent1, &format!("BYEs seen: {byes:?}")),
        }
    }
    byes.sort();
    let mut want_byes = vec![customer.call_id.clone(), consult_leg.call_id.clone()];
    want_byes.sort();
    assert_eq!(byes, want_byes);
    agent1.wait().assert_all_succeeded(1);
    sotto.assert_running();
}

/// An agent's phone as a hand-written UA, registered.
fn ua_agent(sotto: &Sotto, user: &str) -> Ua {
    let mut ua = Ua::new(user, sotto.sip);
    assert!(ua.register(user), "{user} could not register:\n{}", ua.log);
    ua
}

fn fail_ua(uas: &[&Ua], peers: Vec<RunningSipp>, what: &str) -> ! {
    let mut text = String::new();
    for ua in uas {
        text.push_str(&format!(
            "---- UA {} ----\n{}\n",
            ua.user,
            common::tail(&ua.log, 10_000)
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
    let mut old = ua_agent(&sotto, "agent1");
    let customer = Sipp::scenario("uac_wait_bye.xml")
        .service("agent1")
        .timeout(Duration::from_secs(40))
        .spawn(Some(&sotto.sip_target()));
    let Some(leg) = old.answer(Duration::from_secs(10)) else {
        fail_ua(&[&old], vec![customer], "agent1 was never called");
    };
    // To-tag: the tag of the recipient (sotto) in that dialog; from-tag: the old phone's.
    let replaces = format!(
        "Replaces: {};to-tag={};from-tag={}",
        leg.call_id, leg.remote_tag, leg.local_tag
    );
    let mut new = Ua::new("agent1", sotto.sip);
    let mut taken: Dialog = match new.invite(
        &sotto.uri("agent1"),
        &[replaces, "Require: replaces".into()],
    ) {
        Ok(d) => d,
        Err(s) => fail_ua(
            &[&old, &new],
            vec![customer],
            &format!("INVITE with Replaces got {s:?}"),
        ),
    };
    let lc = leg.call_id.clone();
    let Some(bye) = old.wait_for(Duration::from_secs(5), |m| {
        m.method() == Some("BYE") && m.call_id() == lc
    }) else {
        fail_ua(
            &[&old, &new],
            vec![customer],
            "the replaced phone got no BYE",
        );
    };
    old.respond(&bye, 200, "OK", &[], None);
    let (id, peers) = wait_for_parties(&sotto, &["agent:agent1", "customer"], vec![customer]);
    let call = api::calls(&sotto)
        .into_iter()
        .find(|c| c["id"] == id.as_str())
        .expect("call");
    let live_legs = call["legs"].as_array().map_or(0, |l| l.len());
    assert!(live_legs >= 2, "legs: {call:#?}");
    let bye = new.in_dialog(&mut taken, "BYE", &[], None);
    assert_eq!(bye.and_then(|r| r.status()), Some(200), "{}", new.log);
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
    let mut a1 = ua_agent(&sotto, "agent1");
    let agent2 = agent(&sotto, "agent2", "uas_answer_reinvite.xml", &[]);
    let customer = Sipp::scenario("uac_wait_bye.xml")
        .service("agent1")
        .timeout(Duration::from_secs(40))
        .spawn(Some(&sotto.sip_target()));
    let peers = vec![customer, agent2];
    let Some(mut call1) = a1.answer(Duration::from_secs(10)) else {
        fail_ua(&[&a1], peers, "agent1 was never called");
    };
    let call2 = match a1.invite(&sotto.uri("agent2"), &[]) {
        Ok(d) => d,
        Err(s) => fail_ua(&[&a1], peers, &format!("agent1's call to agent2 got {s:?}")),
    };
    // Call 2 as agent2's side sees it through sotto: sotto's tag is the to-tag.
    let replaces = format!(
        "{}%3Bto-tag%3D{}%3Bfrom-tag%3D{}",
        call2.call_id.replace('@', "%40"),
        call2.remote_tag,
        call2.local_tag
    );
    let refer_to = format!("Refer-To: <{}?Replaces={replaces}>", sotto.uri("agent2"));
    let answer = a1.in_dialog(
        &mut call1,
        "REFER",
        &[refer_to, format!("Referred-By: <{}>", sotto.uri("agent1"))],
        None,
    );
    if answer.as_ref().and_then(|r| r.status()) != Some(202) {
        fail_ua(
            &[&a1],
            peers,
            &format!("REFER answered {:?}", answer.map(|r| r.start)),
        );
    }
    // NOTIFY 100, NOTIFY 200 (terminated), BYE on call 1 and on call 2, in any order
    // but NOTIFYs in theirs.
    let (c1, c2) = (call1.call_id.clone(), call2.call_id.clone());
    let mut frags = Vec::new();
    let mut byes = Vec::new();
    while frags.len() < 2 || byes.len() < 2 {
        let Some(m) = a1.wait_for(Duration::from_secs(10), |m| {
            matches!(m.method(), Some("NOTIFY") | Some("BYE"))
        }) else {
            fail_ua(
                &[&a1],
                peers,
                &format!("agent1 saw NOTIFYs {frags:?}, BYEs {byes:?}"),
            );
        };
        a1.respond(&m, 200, "OK", &[], None);
        if m.method() == Some("NOTIFY") {
            assert_eq!(m.call_id(), c1, "NOTIFY outside the REFER's dialog");
            frags.push(m.body.lines().next().unwrap_or("").to_string());
            if frags.len() == 2 {
                let state = m.header("subscription-state").unwrap_or("");
                assert!(state.starts_with("terminated"), "final NOTIFY: {state}");
            }
        } else {
            byes.push(m.call_id().to_string());
        }
    }
    assert!(
        frags[0].starts_with("SIP/2.0 100"),
        "first NOTIFY {:?}",
        frags[0]
    );
    assert!(
        frags[1].starts_with("SIP/2.0 200"),
        "final NOTIFY {:?}",
        frags[1]
    );
    byes.sort();
    let mut want = vec![c1, c2];
    want.sort();
    assert_eq!(byes, want, "BYEs to agent1");
    let (id, peers) = wait_for_parties(&sotto, &["agent:agent2", "customer"], peers);
    let_reinvites_settle();
    let ended = api::act(&sotto, &id, "end", Some(&json!({"agent": "agent2"})));
    assert_eq!(ended.status, 200, "end: {}", ended.text());
    for p in peers {
        p.wait().assert_all_succeeded(1);
    }
    sotto.assert_running();
}
