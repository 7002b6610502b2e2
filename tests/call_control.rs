//! Call control (`docs/call-control.md`) end to end: a real `sotto serve`, agents' actions
//! over the HTTP API, and test phones on 127.0.0.1 (`common::ua`, in the lab of
//! `common::lab`) that each send a tone of their own, so every check is what a party
//! hears: the held customer hears music on hold and no agent, the consulted agent hears
//! only the consulting one, a conference hears everybody but itself.
//!
//! Noise removal is off in these calls: RNNoise is free to treat a steady
//! tone as noise. The tests take turns (`serial`): eight media-heavy calls at
//! once on a small machine would test the machine.

mod common;

use std::time::Duration;

use common::http::HttpResponse;
use common::lab::{
    assert_hears, customer_calls_agent1, listen, serial, Lab, AGENT1, AGENT2, CUSTOMER, NOT_HEARD,
    WAIT,
};
use common::sipp::Sipp;
use common::ua::{answered, bye_received, tone_level, AnswerMode, CallState, Direction, UaCall};
use serde_json::{json, Value};

/// The trunk's calls, in the order they arrive (none near the music's notes
/// and partials: 440–880 Hz and their octaves).
const TRUNK: [f64; 6] = [1600.0, 2000.0, 2200.0, 2400.0, 2600.0, 2800.0];

/// What a party may do, from a view (`control` or a whole call).
fn allowed(view: &Value, user: &str) -> Vec<String> {
    let control = if view["control"].is_null() {
        view
    } else {
        &view["control"]
    };
    control["parties"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["user"] == user)
        .map(|p| {
            p["allowed"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The call's events by name (`consult-accepted`, `post-call`, …).
fn events(view: &Value) -> Vec<String> {
    view["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["event"].as_str().map(str::to_string))
        .collect()
}

/// Music on hold: sound most of the time (the phrase has short rests).
fn assert_music(who: &str, samples: &[i16]) {
    let voiced = common::audio::voiced_fraction(samples, 8000);
    assert!(
        voiced > 0.5,
        "{who} should hear music on hold, got {:.0}% non-silent frames",
        voiced * 100.0
    );
}

fn is_hold(d: Direction) -> bool {
    matches!(d, Direction::SendOnly | Direction::Inactive)
}

/// The RTP a party received is one stream: one SSRC, sequence +1 and
/// timestamp +160 per packet (rustpbx #254: a new stream after hold).
fn assert_continuous(who: &str, call: &UaCall) {
    let pkts: Vec<_> = call
        .media
        .packets()
        .into_iter()
        .filter(|p| p.pt == 0)
        .collect();
    assert!(pkts.len() > 100, "{who}: only {} packets", pkts.len());
    let ssrcs: std::collections::BTreeSet<u32> = pkts.iter().map(|p| p.ssrc).collect();
    assert_eq!(ssrcs.len(), 1, "{who} received several SSRCs: {ssrcs:x?}");
    let breaks: Vec<String> = pkts
        .windows(2)
        .filter(|w| w[1].seq != w[0].seq.wrapping_add(1) || w[1].ts != w[0].ts.wrapping_add(160))
        .map(|w| format!("seq {}→{} ts {}→{}", w[0].seq, w[1].seq, w[0].ts, w[1].ts))
        .collect();
    assert!(
        breaks.is_empty(),
        "{who}: RTP not continuous over {} packets: {breaks:?}",
        pkts.len()
    );
}

/// 1. Hold and resume from the API.
#[test]
fn hold_plays_music_to_the_customer_and_resume_offers_sendrecv() {
    let _turn = serial();
    let lab = Lab::start(&[], "");
    let agent1 = lab.agent("agent1", AGENT1);
    let customer = lab.customer();
    let (id, cust, agent) = customer_calls_agent1(&lab, &customer, &agent1);

    let heard = listen(&[&cust, &agent]);
    assert_hears("customer (connected)", &heard[0], &[AGENT1], &[]);
    assert_hears("agent1 (connected)", &heard[1], &[CUSTOMER], &[]);

    let v = lab.act_ok(&id, "hold", json!({}));
    assert_eq!(v["state"], "held", "{v:#}");
    let offered = cust.wait_offer(1, WAIT);
    assert!(is_hold(offered), "hold re-INVITE offered {offered:?}");
    let heard = listen(&[&cust, &agent]);
    assert_music("customer (held)", &heard[0]);
    assert_hears("customer (held)", &heard[0], &[], &[AGENT1]);
    assert_hears_nothing_of("agent1 (customer held)", &heard[1], CUSTOMER);

    lab.act_refused(&id, "end", json!({}), "held-call-cannot-end");
    assert_eq!(
        cust.state(),
        CallState::Confirmed,
        "a refused end ends nothing"
    );

    let v = lab.act_ok(&id, "resume", json!({}));
    assert_eq!(v["state"], "connected", "{v:#}");
    // FreeSWITCH #1144: the unhold offer must be sendrecv, never recvonly.
    assert_eq!(cust.wait_offer(2, WAIT), Direction::SendRecv);
    let heard = listen(&[&cust, &agent]);
    assert_hears("customer (resumed)", &heard[0], &[AGENT1], &[]);
    assert_hears("agent1 (resumed)", &heard[1], &[CUSTOMER], &[]);
    assert_continuous("customer", &cust);

    lab.act_ok(&id, "end", json!({}));
    cust.wait(WAIT, "hung up by sotto", bye_received);
    agent.wait(WAIT, "hung up by sotto", bye_received);
}

fn assert_hears_nothing_of(who: &str, samples: &[i16], tone: f64) {
    let level = tone_level(samples, tone);
    assert!(
        level < NOT_HEARD,
        "{who} should not hear the {tone} Hz tone, level {level:.0}"
    );
}

/// 2. Consult agent2, then transfer to agent2.
#[test]
fn consult_then_transfer_hands_the_customer_to_agent2() {
    let _turn = serial();
    let lab = Lab::start(&[], "");
    let agent1 = lab.agent("agent1", AGENT1);
    let agent2 = lab.agent("agent2", AGENT2);
    agent2.set_answer(AnswerMode::AnswerAfter(Duration::from_millis(1500)));
    let customer = lab.customer();
    let (id, cust, a1) = customer_calls_agent1(&lab, &customer, &agent1);

    let v = lab.act_ok(&id, "consult", json!({"target": "agent2"}));
    assert_eq!(v["state"], "consult-requested", "{v:#}");
    let mine = allowed(&v, "agent1");
    assert!(
        !mine.contains(&"transfer".into()) && !mine.contains(&"conference".into()),
        "transfer and conference wait for agent2 to answer; allowed {mine:?}"
    );
    let ringing = lab.view(&id);
    let mine = allowed(&ringing, "agent1");
    assert!(
        !mine.contains(&"transfer".into()) && !mine.contains(&"conference".into()),
        "GET while agent2 rings: allowed {mine:?}"
    );
    lab.act_refused(&id, "transfer", json!({}), "consult-not-accepted");
    assert!(
        is_hold(cust.wait_offer(1, WAIT)),
        "customer held during consult"
    );

    let a2 = agent2.wait_call(1, WAIT);
    a2.wait(WAIT, "answered", answered);
    let v = lab.wait_view(&id, "consulting with transfer allowed", |v| {
        let a = allowed(v, "agent1");
        v["control"]["state"] == "consulting"
            && a.contains(&"transfer".into())
            && a.contains(&"conference".into())
    });
    assert!(events(&v).iter().any(|e| e == "consult-accepted"), "{v:#}");
    let heard = listen(&[&cust, &a1, &a2]);
    assert_music("customer (consult)", &heard[0]);
    assert_hears("customer (consult)", &heard[0], &[], &[AGENT1, AGENT2]);
    assert_hears("agent1 (consult)", &heard[1], &[AGENT2], &[CUSTOMER]);
    assert_hears("agent2 (consult)", &heard[2], &[AGENT1], &[CUSTOMER]);

    let v = lab.act_ok(&id, "transfer", json!({}));
    a1.wait(WAIT, "hung up after the transfer", bye_received);
    // FreeSWITCH #2230: the customer is taken off hold with a sendrecv offer.
    assert_eq!(cust.wait_offer(2, WAIT), Direction::SendRecv);
    assert_eq!(v["state"], "connected", "{v:#}");
    let heard = listen(&[&cust, &a2]);
    assert_hears("customer (transferred)", &heard[0], &[AGENT2], &[AGENT1]);
    assert_hears("agent2 (transferred)", &heard[1], &[CUSTOMER], &[AGENT1]);
    let v = lab.view(&id);
    assert!(
        allowed(&v, "agent2").contains(&"end".into()),
        "agent2 now has the call: {v:#}"
    );

    lab.act_ok(&id, "end", json!({"agent": "agent2"}));
    cust.wait(WAIT, "hung up", bye_received);
    a2.wait(WAIT, "hung up", bye_received);
}

/// 3. A consult that is refused (busy) or cannot ring (not registered).
#[test]
fn failed_consult_leaves_the_customer_held_and_resume_works() {
    let _turn = serial();
    let lab = Lab::start(&[], "");
    let agent1 = lab.agent("agent1", AGENT1);
    let agent2 = lab.agent("agent2", AGENT2);
    agent2.set_answer(AnswerMode::RejectAfter(486, Duration::from_millis(500)));
    let customer = lab.customer();
    let (id, cust, a1) = customer_calls_agent1(&lab, &customer, &agent1);

    lab.act_ok(&id, "consult", json!({"target": "agent2"}));
    let a2 = agent2.wait_call(1, WAIT);
    a2.wait(WAIT, "refused", |c| {
        c.final_code() == Some(486) && c.state().is_terminated()
    });
    let v = lab.wait_view(&id, "told the consult failed", |v| {
        events(v).iter().any(|e| e == "consult-failed")
    });
    assert_eq!(v["control"]["state"], "held", "{v:#}");
    assert!(is_hold(cust.wait_offer(1, WAIT)));

    // agent3 is a user but not registered: the consult fails at once.
    lab.act(&id, "consult", json!({"target": "agent3"}));
    let v = lab.wait_view(&id, "told the second consult failed", |v| {
        events(v).iter().filter(|e| *e == "consult-failed").count() == 2
    });
    assert_eq!(v["control"]["state"], "held", "{v:#}");
    assert_eq!(cust.state(), CallState::Confirmed);
    assert_eq!(cust.offers().len(), 1, "no other re-INVITE to the customer");
    let heard = listen(&[&cust]);
    assert_music("customer (still held)", &heard[0]);

    lab.act_ok(&id, "resume", json!({}));
    assert_eq!(cust.wait_offer(2, WAIT), Direction::SendRecv);
    let heard = listen(&[&cust, &a1]);
    assert_hears("customer (resumed)", &heard[0], &[AGENT1], &[]);
    assert_hears("agent1 (resumed)", &heard[1], &[CUSTOMER], &[]);
    lab.act_ok(&id, "end", json!({}));
}

/// 4. Conference of eight: the customer, agent1 and six dial numbers.
#[test]
fn conference_of_eight_everybody_hears_everybody_else() {
    let _turn = serial();
    let lab = Lab::start(&TRUNK, "");
    let agent1 = lab.agent("agent1", AGENT1);
    let customer = lab.customer();
    let (id, cust, a1) = customer_calls_agent1(&lab, &customer, &agent1);

    for k in 0..TRUNK.len() {
        let number = format!("+1201555010{k}");
        let v = lab.act_ok(&id, "consult", json!({"target": number}));
        assert_eq!(v["state"], "consult-requested", "consult #{k}: {v:#}");
        let leg = lab.trunk().wait_call(k + 1, WAIT);
        leg.wait(WAIT, "answered", answered);
        lab.wait_state(&id, "consulting");
        let v = lab.act_ok(&id, "conference", json!({}));
        assert_eq!(v["state"], "conference", "conference #{k}: {v:#}");
    }
    let v = lab.view(&id);
    let parties = v["control"]["parties"].as_array().unwrap();
    assert_eq!(parties.len(), 8, "{v:#}");
    assert!(
        !allowed(&v, "agent1").contains(&"consult".into()),
        "a full conference offers no consult: {v:#}"
    );
    lab.act_refused(
        &id,
        "consult",
        json!({"target": "+12015550199"}),
        "conference-full",
    );
    assert_eq!(
        lab.trunk().calls().len(),
        TRUNK.len(),
        "no ninth leg placed"
    );
    // Each consult held the customer and each merge took the hold off again.
    let offers = cust.offers();
    assert_eq!(
        offers.len(),
        2 * TRUNK.len(),
        "customer's re-INVITEs: {offers:?}"
    );
    assert!(
        offers
            .chunks(2)
            .all(|p| is_hold(p[0]) && p[1] == Direction::SendRecv),
        "hold then sendrecv per consult: {offers:?}"
    );

    let trunk_calls = lab.trunk().calls();
    let mut who: Vec<(String, &UaCall)> = vec![("customer".into(), &cust), ("agent1".into(), &a1)];
    for (k, c) in trunk_calls.iter().enumerate() {
        who.push((format!("dial number #{k}"), c));
    }
    let calls: Vec<&UaCall> = who.iter().map(|(_, c)| *c).collect();
    let heard = listen(&calls);
    let tones: Vec<f64> = who.iter().map(|(_, c)| c.media.tone()).collect();
    for (i, (name, _)) in who.iter().enumerate() {
        let others: Vec<f64> = tones
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, t)| *t)
            .collect();
        assert_hears(name, &heard[i], &others, &[tones[i]]);
    }
    lab.act_ok(&id, "end", json!({}));
    for (name, c) in &who {
        c.wait(WAIT, &format!("{name} hung up"), bye_received);
    }
}

/// 5. Blind transfer to an agent and to a dial number.
#[test]
fn blind_transfer_to_agent_and_to_dial_number() {
    let _turn = serial();
    let lab = Lab::start(&TRUNK, "");
    let agent1 = lab.agent("agent1", AGENT1);
    let agent2 = lab.agent("agent2", AGENT2);
    let customer = lab.customer();

    let (id, cust, a1) = customer_calls_agent1(&lab, &customer, &agent1);
    lab.act_ok(&id, "blind-transfer", json!({"target": "agent2"}));
    a1.wait(WAIT, "hung up by the transfer", bye_received);
    let a2 = agent2.wait_call(1, WAIT);
    a2.wait(WAIT, "answered", answered);
    lab.wait_state(&id, "connected");
    let heard = listen(&[&cust, &a2]);
    assert_hears(
        "customer (blind to agent2)",
        &heard[0],
        &[AGENT2],
        &[AGENT1],
    );
    assert_hears("agent2 (blind)", &heard[1], &[CUSTOMER], &[]);
    assert_eq!(
        cust.offers().last().copied(),
        Some(Direction::SendRecv),
        "the customer is not left held: {:?}",
        cust.offers()
    );
    lab.act_ok(&id, "end", json!({"agent": "agent2"}));
    cust.wait(WAIT, "hung up", bye_received);

    // "transfer" with a target is a blind transfer too.
    let (id, cust, a1) = customer_calls_agent1(&lab, &customer, &agent1);
    lab.act_ok(&id, "transfer", json!({"target": "+12015550123"}));
    a1.wait(WAIT, "hung up by the transfer", bye_received);
    let far = lab.trunk().wait_call(1, WAIT);
    far.wait(WAIT, "answered", answered);
    assert!(
        far.request_user().contains("12015550123"),
        "the trunk was asked for {:?}",
        far.request_user()
    );
    lab.wait_state(&id, "connected");
    let heard = listen(&[&cust, &far]);
    assert_hears(
        "customer (blind to number)",
        &heard[0],
        &[TRUNK[0]],
        &[AGENT1],
    );
    assert_hears("dial number (blind)", &heard[1], &[CUSTOMER], &[]);
    // Nobody with controls is left: the customer hangs up.
    cust.hang_up();
    far.wait(WAIT, "hung up", bye_received);
}

/// 6. The customer hangs up during a consult: the agents stay.
#[test]
fn customer_hanging_up_during_consult_leaves_the_agents_talking() {
    let _turn = serial();
    let lab = Lab::start(&[], "");
    let agent1 = lab.agent("agent1", AGENT1);
    let agent2 = lab.agent("agent2", AGENT2);
    let customer = lab.customer();
    let (id, cust, a1) = customer_calls_agent1(&lab, &customer, &agent1);
    lab.act_ok(&id, "consult", json!({"target": "agent2"}));
    let a2 = agent2.wait_call(1, WAIT);
    a2.wait(WAIT, "answered", answered);
    lab.wait_state(&id, "consulting");

    cust.hang_up();
    let v = lab.wait_state(&id, "post-call");
    assert!(events(&v).iter().any(|e| e == "post-call"), "{v:#}");
    let heard = listen(&[&a1, &a2]);
    assert!(
        !a1.bye_received() && !a2.bye_received(),
        "the agents' legs stay up"
    );
    assert_hears("agent1 (post-call)", &heard[0], &[AGENT2], &[CUSTOMER]);
    assert_hears("agent2 (post-call)", &heard[1], &[AGENT1], &[CUSTOMER]);
    lab.act_refused(
        &id,
        "consult",
        json!({"target": "agent3"}),
        "post-call-no-new-parties",
    );
    a2.hang_up();
    a1.wait(WAIT, "hung up once alone", bye_received);
}

/// 7. An agent calls a dial number: the agent's phone rings first.
#[test]
fn originate_rings_the_agent_first_then_the_trunk() {
    let _turn = serial();
    let lab = Lab::start(&TRUNK, "");
    let agent1 = lab.agent("agent1", AGENT1);
    agent1.set_answer(AnswerMode::AnswerAfter(Duration::from_millis(1000)));
    let r = lab.post(
        "/v1/calls",
        Some(json!({"agent": "agent1", "target": "+12015532447"})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().expect("an id").to_string();
    let mine = agent1.wait_call(1, WAIT);
    assert_eq!(mine.state(), CallState::Ringing);
    assert!(
        lab.trunk().calls().is_empty(),
        "the trunk waits for the agent"
    );
    mine.wait(WAIT, "answered", answered);
    let far = lab.trunk().wait_call(1, WAIT);
    let (agent_answered, trunk_rang) = (mine.answered_at().unwrap(), far.created_at());
    assert!(
        trunk_rang >= agent_answered,
        "the trunk rang before the agent answered"
    );
    assert!(
        far.request_user().contains("12015532447"),
        "{:?}",
        far.request_user()
    );
    far.wait(WAIT, "answered", answered);
    lab.wait_state(&id, "connected");
    let heard = listen(&[&mine, &far]);
    assert_hears("agent1 (outbound)", &heard[0], &[TRUNK[0]], &[]);
    assert_hears("dial number (outbound)", &heard[1], &[AGENT1], &[]);
    lab.act_ok(&id, "end", json!({}));
    far.wait(WAIT, "hung up", bye_received);
    mine.wait(WAIT, "hung up", bye_received);
}

/// 8. Bad requests get JSON errors, and change nothing.
#[test]
fn bad_requests_get_json_errors() {
    let _turn = serial();
    let lab = Lab::start(&[], "");
    let agent1 = lab.agent("agent1", AGENT1);
    let customer = lab.customer();
    let (id, cust, _a1) = customer_calls_agent1(&lab, &customer, &agent1);
    let error = |r: &HttpResponse, status: u16, what: &str| {
        assert_eq!(r.status, status, "{what}: {}", r.text());
        let j = r.json();
        assert!(
            j["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: no error message: {j}"
        );
        j["error"].as_str().unwrap().to_string()
    };
    error(&lab.act("c999", "hold", json!({})), 404, "unknown call");
    error(&lab.act(&id, "dance", json!({})), 404, "unknown action");
    let m = error(
        &lab.act(&id, "consult", json!({})),
        400,
        "consult without target",
    );
    assert!(m.contains("target"), "{m}");
    let m = error(
        &lab.act(&id, "consult", json!({"target": "12"})),
        400,
        "dial number 12",
    );
    assert!(m.contains("12"), "the message names the bad number: {m}");
    let m = error(
        &lab.act(&id, "consult", json!({"target": "+12015550100"})),
        503,
        "dial number with no trunk",
    );
    assert!(m.contains("trunk"), "{m}");
    error(
        &lab.post(
            "/v1/calls",
            Some(json!({"agent": "agent1", "target": "12"})),
        ),
        400,
        "originate to 12",
    );
    error(
        &lab.post(
            "/v1/calls",
            Some(json!({"agent": "agent1", "target": "+12015550100"})),
        ),
        503,
        "originate with no trunk",
    );
    let v = lab.view(&id);
    assert_eq!(v["control"]["state"], "connected", "nothing changed: {v:#}");
    assert!(cust.offers().is_empty(), "no re-INVITE to the customer");
    lab.act_ok(&id, "end", json!({}));
}

/// SIPp as the customer (fixtures/sipp/uac_customer_hold.xml): sotto's hold
/// re-INVITE offers sendonly or inactive, answered recvonly; the resume
/// offers sendrecv. `then` drives the call through the API.
fn sipp_customer(lab: &Lab, then: impl FnOnce(&str)) {
    let sipp = Sipp::scenario("uac_customer_hold.xml")
        .service("agent1")
        .timeout(Duration::from_secs(20))
        .spawn(Some(&lab.sotto.sip_target()));
    let id = lab.call_id();
    lab.wait_state(&id, "connected");
    then(&id);
    sipp.wait().assert_all_succeeded(1);
}

#[test]
fn sipp_customer_is_held_and_resumed() {
    require_peer!("sipp");
    let _turn = serial();
    let lab = Lab::start(&[], "");
    let _agent1 = lab.agent("agent1", AGENT1);
    sipp_customer(&lab, |id| {
        lab.act_ok(id, "hold", json!({}));
        std::thread::sleep(Duration::from_millis(500));
        lab.act_ok(id, "resume", json!({}));
    });
}

#[test]
fn sipp_customer_is_resumed_by_a_consult_transfer() {
    require_peer!("sipp");
    let _turn = serial();
    let lab = Lab::start(&[], "");
    let agent1 = lab.agent("agent1", AGENT1);
    let agent2 = lab.agent("agent2", AGENT2);
    sipp_customer(&lab, |id| {
        lab.act_ok(id, "consult", json!({"target": "agent2"}));
        agent2.wait_call(1, WAIT).wait(WAIT, "answered", answered);
        lab.wait_state(id, "consulting");
        lab.act_ok(id, "transfer", json!({}));
        agent1
            .wait_call(1, WAIT)
            .wait(WAIT, "hung up", bye_received);
    });
}

/// The agent's softphone holds and resumes (re-INVITE sendonly, then
/// sendrecv): the customer is held and resumed as by the API.
#[test]
fn softphone_hold_and_resume_hold_and_resume_the_customer() {
    let _turn = serial();
    let lab = Lab::start(&[], "");
    let agent1 = lab.agent("agent1", AGENT1);
    let customer = lab.customer();
    let (id, cust, a1) = customer_calls_agent1(&lab, &customer, &agent1);

    let code = a1.hold();
    let answer = a1.read(|c| c.remote_direction());
    assert_eq!(code, 200, "softphone hold: answered {answer:?}");
    assert_eq!(
        answer,
        Some(Direction::RecvOnly),
        "RFC 6337 answer to sendonly"
    );
    lab.wait_state(&id, "held");
    assert!(is_hold(cust.wait_offer(1, WAIT)));
    let heard = listen(&[&cust]);
    assert_music("customer (softphone hold)", &heard[0]);

    let code = a1.resume();
    let answer = a1.read(|c| c.remote_direction());
    assert_eq!(code, 200, "softphone resume: answered {answer:?}");
    assert_eq!(answer, Some(Direction::SendRecv));
    lab.wait_state(&id, "connected");
    assert_eq!(cust.wait_offer(2, WAIT), Direction::SendRecv);
    let heard = listen(&[&cust, &a1]);
    assert_hears("customer (softphone resumed)", &heard[0], &[AGENT1], &[]);
    assert_hears("agent1 (softphone resumed)", &heard[1], &[CUSTOMER], &[]);
    lab.act_ok(&id, "end", json!({}));
}

/// During a consult, resume puts the consulted agent on hold and toggle
/// swaps back: whoever is held hears music, the others talk.
#[test]
fn toggle_swaps_who_is_held_during_a_consult() {
    let _turn = serial();
    let lab = Lab::start(&[], "");
    let agent1 = lab.agent("agent1", AGENT1);
    let agent2 = lab.agent("agent2", AGENT2);
    let customer = lab.customer();
    let (id, cust, a1) = customer_calls_agent1(&lab, &customer, &agent1);
    lab.act_ok(&id, "consult", json!({"target": "agent2"}));
    let a2 = agent2.wait_call(1, WAIT);
    a2.wait(WAIT, "answered", answered);
    lab.wait_state(&id, "consulting");

    let v = lab.act_ok(&id, "resume", json!({}));
    assert_eq!(v["state"], "consult-on-hold", "{v:#}");
    assert!(is_hold(a2.wait_offer(1, WAIT)), "agent2 held");
    assert_eq!(
        cust.wait_offer(2, WAIT),
        Direction::SendRecv,
        "customer resumed"
    );
    let heard = listen(&[&cust, &a1, &a2]);
    assert_hears(
        "customer (consult on hold)",
        &heard[0],
        &[AGENT1],
        &[AGENT2],
    );
    assert_hears(
        "agent1 (consult on hold)",
        &heard[1],
        &[CUSTOMER],
        &[AGENT2],
    );
    assert_music("agent2 (held)", &heard[2]);
    assert_hears("agent2 (held)", &heard[2], &[], &[AGENT1, CUSTOMER]);

    let v = lab.act_ok(&id, "toggle", json!({}));
    assert_eq!(v["state"], "consulting", "{v:#}");
    assert!(is_hold(cust.wait_offer(3, WAIT)), "customer held again");
    assert_eq!(
        a2.wait_offer(2, WAIT),
        Direction::SendRecv,
        "agent2 resumed"
    );
    let heard = listen(&[&cust, &a1, &a2]);
    assert_music("customer (toggled)", &heard[0]);
    assert_hears("customer (toggled)", &heard[0], &[], &[AGENT1, AGENT2]);
    assert_hears("agent1 (toggled)", &heard[1], &[AGENT2], &[CUSTOMER]);
    assert_hears("agent2 (toggled)", &heard[2], &[AGENT1], &[CUSTOMER]);

    lab.act_ok(&id, "end-consult", json!({}));
    a2.wait(WAIT, "hung up", bye_received);
    let v = lab.wait_state(&id, "held");
    lab.act_refused(&id, "end", json!({}), "held-call-cannot-end");
    assert_eq!(v["control"]["parties"].as_array().map(Vec::len), Some(2));
    lab.act_ok(&id, "resume", json!({}));
    assert_eq!(cust.wait_offer(4, WAIT), Direction::SendRecv);
    lab.act_ok(&id, "end", json!({}));
}
