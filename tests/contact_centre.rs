//! The contact centre with real phones (`docs/contact-centre.md`): a call to an
//! entry point waits in its queue and is offered to the longest-idle available
//! agent whose phone is registered; an offer not answered in time (RONA) goes
//! to the next agent; the agent wraps up.

mod common;

use common::lab::{assert_hears, listen, serial, Lab, AGENT1, AGENT2, CUSTOMER, WAIT};
use common::ua::{answered, AnswerMode, Ua};
use serde_json::{json, Value};
use std::time::Duration;

/// A directory with one voice queue whose RONA timeout is 3 s.
const DIRECTORY: &str = r#"
[contact_centre]
masking = true
idle_reasons = ["lunch"]

[[contact_centre.teams]]
id = "support"
name = "Support"
department = "Customer care"

[[contact_centre.queues]]
id = "support"
name = "Support"
team = "support"
channel = "voice"
rona_timeout = 3
wrap_up_reasons = ["resolved", "other"]

[[contact_centre.entry_points]]
id = "support"
address = "support"
queue = "support"
waiting = { music = true }

[[contact_centre.agents]]
id = "agent1"
display_name = "Agent One"
team = "support"

[[contact_centre.agents]]
id = "agent2"
display_name = "Agent Two"
team = "support"
"#;

const RONA: Duration = Duration::from_secs(3);

fn agent(lab: &Lab, id: &str) -> Value {
    let r = lab.sotto.get(&format!("/v1/agents/{id}"));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn set_state(lab: &Lab, id: &str, body: Value) -> common::http::HttpResponse {
    lab.post(&format!("/v1/agents/{id}/state"), Some(body))
}

fn wait_agent(lab: &Lab, id: &str, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    let got = common::poll_until(WAIT, || Some(agent(lab, id)).filter(|v| f(v)));
    got.unwrap_or_else(|| panic!("{id}: {what}; now {:#}", agent(lab, id)))
}

#[test]
fn an_entry_point_call_goes_to_the_longest_idle_agent_and_rona_passes_it_on() {
    let _turn = serial();
    let lab = Lab::start(&[], DIRECTORY);
    let agent1 = lab.agent("agent1", AGENT1);
    let agent2 = lab.agent("agent2", AGENT2);
    agent1.set_answer(AnswerMode::Ring); // rings, never answers
    assert_eq!(agent(&lab, "agent1")["state"]["state"], "logged-out");

    // agent1 becomes available first: it has been idle longest.
    let r = set_state(&lab, "agent1", json!({"state": "available"}));
    assert_eq!(r.status, 200, "{}", r.text());
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        set_state(&lab, "agent2", json!({"state": "available"})).status,
        200
    );

    // The caller's number is the From user: offers show its last 4 digits.
    let customer = Ua::builder("12015550147", lab.sotto.sip)
        .tones(&[CUSTOMER])
        .start();
    let cust = customer.call(&lab.sotto.uri("support"));
    cust.wait(WAIT, "answered at once by the queue", answered);
    let rang = agent1.wait_call(1, WAIT);
    assert!(
        agent2.calls().is_empty(),
        "only the longest-idle agent rings"
    );
    let a1 = wait_agent(&lab, "agent1", "reserved", |v| {
        v["state"]["state"] == "reserved"
    });
    assert_eq!(a1["offers_total"], 1);
    let offer = &a1["offers"][0];
    assert_eq!(offer["channel"], "voice");
    assert_eq!(offer["queue_name"], "Support");
    assert_eq!(offer["customer"], "…0147", "the number is masked");

    // No answer within the RONA timeout: agent2 rings, within RONA + 1 s.
    let a2 = agent2.wait_call(1, RONA + Duration::from_secs(2));
    let waited = a2.created_at().duration_since(rang.created_at());
    assert!(
        waited >= RONA - Duration::from_millis(200) && waited <= RONA + Duration::from_secs(1),
        "agent2 rang {waited:?} after agent1"
    );
    rang.wait(WAIT, "agent1's ringing stopped", |c| {
        c.state().is_terminated()
    });
    let a1 = agent(&lab, "agent1");
    assert_eq!(a1["state"], json!({"state": "idle", "reason": "rona"}));
    a2.wait(WAIT, "agent2 answered", answered);
    wait_agent(&lab, "agent2", "busy", |v| v["state"]["state"] == "busy");

    // The customer and agent2 hear each other; agent1 is not in the call.
    let heard = listen(&[&cust, &a2]);
    assert_hears("the customer", &heard[0], &[AGENT2], &[AGENT1]);
    assert_hears("agent2", &heard[1], &[CUSTOMER], &[AGENT1]);
    assert_eq!(
        agent1.calls().len(),
        1,
        "no loop of offers to the RONA agent"
    );

    // The customer hangs up: agent2 owes a wrap-up and cannot log out.
    cust.hang_up();
    let a2v = wait_agent(&lab, "agent2", "in wrap-up", |v| {
        v["state"]["state"] == "wrap-up"
    });
    let contact = a2v["wrap_up_owed"][0].as_str().unwrap().to_string();
    let r = set_state(&lab, "agent2", json!({"state": "logged-out"}));
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.json()["rule"], "wrap-up-pending");
    let r = lab.post(
        "/v1/agents/agent2/wrap-up",
        Some(json!({"contact": contact, "reasons": ["nope"]})),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let r = lab.post(
        "/v1/agents/agent2/wrap-up",
        Some(json!({"contact": contact, "reasons": ["resolved"]})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["state"]["state"], "available");
    assert_eq!(
        set_state(&lab, "agent2", json!({"state": "logged-out"})).status,
        200
    );
    // agent1 stays idle (RONA) until it sets itself available.
    assert_eq!(agent(&lab, "agent1")["state"]["reason"], "rona");
    assert_eq!(lab.sotto.get("/v1/agents/nobody").status, 404);

    // Queue metrics: two offers, one RONA, one answered, nobody waiting.
    let metrics = lab.sotto.get("/metrics").text();
    for line in [
        "sotto_queue_offered_total{queue=\"support\"} 2",
        "sotto_queue_rona_total{queue=\"support\"} 1",
        "sotto_queue_answered_total{queue=\"support\"} 1",
        "sotto_queue_waiting{queue=\"support\"} 0",
        "sotto_agents{state=\"idle\"} 1",
    ] {
        assert!(metrics.contains(line), "no {line} in\n{metrics}");
    }

    // The contact's record and the agents' state changes are in the store.
    let db = lab.sotto.data_dir().join("sotto.db");
    let row = common::poll_until(WAIT, || {
        let conn = rusqlite::Connection::open(&db).ok()?;
        conn.query_row(
            "SELECT agent, abandoned, wrap_up, offers FROM contacts",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            },
        )
        .ok()
    });
    let (who, abandoned, wrap_up, offers) = row.expect("the contact's record is stored");
    assert_eq!((who.as_str(), abandoned), ("agent2", false));
    assert_eq!(wrap_up, r#"["resolved"]"#);
    let offers: Value = serde_json::from_str(&offers).unwrap();
    assert_eq!(offers[0]["agent"], "agent1");
    assert_eq!(offers[0]["outcome"], json!({"revoked": "no-answer"}));
    assert_eq!(offers[1]["outcome"], "accepted");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let rona: i64 = conn
        .query_row(
            "SELECT count(*) FROM agent_states WHERE agent = 'agent1' AND state LIKE '%rona%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(rona >= 1, "agent1's RONA is in its state history");
}

#[test]
fn a_caller_who_hangs_up_while_the_offer_rings_stops_the_ringing() {
    let _turn = serial();
    let lab = Lab::start(&[], DIRECTORY);
    let agent1 = lab.agent("agent1", AGENT1);
    agent1.set_answer(AnswerMode::Ring);
    set_state(&lab, "agent1", json!({"state": "available"}));
    let customer = lab.customer();
    let cust = customer.call(&lab.sotto.uri("support"));
    cust.wait(WAIT, "answered by the queue", answered);
    let rang = agent1.wait_call(1, WAIT);
    cust.hang_up();
    rang.wait(WAIT, "the ringing stopped", |c| c.state().is_terminated());
    // Nothing stays reserved: agent1 is available again, not RONA.
    wait_agent(&lab, "agent1", "available", |v| {
        v["state"]["state"] == "available"
    });
}

#[test]
fn an_agent_on_a_direct_call_is_not_offered_a_queued_one() {
    let _turn = serial();
    let lab = Lab::start(&[], DIRECTORY);
    let agent1 = lab.agent("agent1", AGENT1);
    let agent2 = lab.agent("agent2", AGENT2);
    set_state(&lab, "agent1", json!({"state": "available"}));
    std::thread::sleep(Duration::from_millis(50));
    set_state(&lab, "agent2", json!({"state": "available"}));
    // Someone dials agent1 directly: agent1, the longest idle, is now busy.
    // (The caller's phone must live as long as its call.)
    let caller = lab.customer();
    let direct = caller.call(&lab.sotto.uri("agent1"));
    direct.wait(WAIT, "agent1 answered the direct call", answered);
    wait_agent(&lab, "agent1", "busy on the direct call", |v| {
        v["state"]["state"] == "busy"
    });
    let customer = lab.customer();
    let cust = customer.call(&lab.sotto.uri("support"));
    cust.wait(WAIT, "answered by the queue", answered);
    let theirs = agent2.wait_call(1, WAIT);
    theirs.wait(WAIT, "agent2 answered", answered);
    assert_eq!(agent1.calls().len(), 1, "agent1 only has the direct call");
    // The direct call ends: agent1 is available again.
    direct.hang_up();
    wait_agent(&lab, "agent1", "available again", |v| {
        v["state"]["state"] == "available"
    });
}
