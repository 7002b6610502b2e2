//! More of call control (`docs/call-control.md`) end to end, in the lab `call_control.rs`
//! uses (`common::lab`): a real `sotto serve`, actions over the HTTP API, test phones
//! that each send a tone of their own. Here: the recording a paused call leaves behind,
//! DTMF both ways, leaving a conference, and a conference the customer left.
//!
//! Noise removal is off (RNNoise may treat a steady tone as noise) and the
//! tests take turns (`serial`): media timing on a small machine.

mod common;

use std::time::{Duration, Instant};

use common::lab::{
    assert_hears, customer_calls_agent1, listen, serial, Lab, AGENT1, AGENT2, CUSTOMER, HEARD,
    NOT_HEARD, WAIT,
};
use common::ua::{answered, bye_received, tone_level, tone_levels, Media};
use serde_json::{json, Value};

const AGENT3: f64 = 3000.0;
const TRUNK: [f64; 1] = [1600.0];

/// The payload type the test phones offer for telephone-event.
const TE: u8 = 101;

fn party(view: &Value, f: impl Fn(&Value) -> bool) -> &Value {
    let control = if view["control"].is_null() {
        view
    } else {
        &view["control"]
    };
    control["parties"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| f(p)))
        .unwrap_or_else(|| panic!("no such party in {view:#}"))
}

fn agent<'a>(view: &'a Value, user: &str) -> &'a Value {
    party(view, |p| p["user"] == user)
}

fn allowed(p: &Value) -> Vec<String> {
    p["allowed"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}

fn recording_state(v: &Value) -> String {
    let control = if v["control"].is_null() {
        v
    } else {
        &v["control"]
    };
    control["recording"]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The one finished recording sotto lists.
fn finished_recording(lab: &Lab) -> Value {
    let mut last = Value::Null;
    common::poll_until(WAIT, || {
        let r = lab.sotto.get("/v1/recordings");
        assert_eq!(r.status, 200, "GET /v1/recordings: {}", r.text());
        last = r.json();
        let list = last.as_array()?;
        (list.len() == 1 && !list[0]["ended_at"].is_null()).then(|| list[0].clone())
    })
    .unwrap_or_else(|| panic!("no finished recording within {WAIT:?}: {last:#}"))
}

/// Milliseconds between two instants, as the recording's offsets count.
fn ms(d: Duration) -> i64 {
    d.as_millis() as i64
}

/// 1. A recorded call with two pauses: one that ends by itself after
///    `recording.auto_resume_seconds`, one (with `seconds`) ended by hand.
///    The WAV has the customer left, the agent right, silence in the pauses.
#[test]
fn recording_keeps_both_sides_apart_and_is_silent_while_paused() {
    let _turn = serial();
    let lab = Lab::start(&[], "record = true\n[recording]\nauto_resume_seconds = 1\n");
    let agent1 = lab.agent("agent1", AGENT1);
    let customer = lab.customer();
    let (id, cust, a1) = customer_calls_agent1(&lab, &customer, &agent1);
    let connected = a1.answered_at().expect("answered");
    assert_eq!(recording_state(&lab.view(&id)), "on");

    std::thread::sleep(Duration::from_millis(1000));
    let paused1 = Instant::now();
    let v = lab.act_ok(&id, "pause-recording", json!({}));
    assert_eq!(recording_state(&v), "paused", "{v:#}");
    lab.act_refused(
        &id,
        "pause-recording",
        json!({}),
        "recording-already-paused",
    );
    lab.wait_view(&id, "recording again by itself", |v| {
        recording_state(v) == "on"
    });
    let auto = paused1.elapsed();
    assert!(
        auto >= Duration::from_millis(800) && auto < Duration::from_millis(2500),
        "the pause should end by itself after 1 s, took {auto:?}"
    );

    std::thread::sleep(Duration::from_millis(1000));
    let paused2 = Instant::now();
    let v = lab.act_ok(&id, "pause-recording", json!({"seconds": 20}));
    assert_eq!(recording_state(&v), "paused", "{v:#}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        recording_state(&lab.view(&id)),
        "paused",
        "a 20 s pause outlasts the 1 s default"
    );
    let v = lab.act_ok(&id, "resume-recording", json!({}));
    let manual = paused2.elapsed();
    assert_eq!(recording_state(&v), "on", "{v:#}");
    lab.act_refused(&id, "resume-recording", json!({}), "recording-not-paused");

    std::thread::sleep(Duration::from_millis(1000));
    lab.act_ok(&id, "end", json!({}));
    let ended = Instant::now();
    cust.wait(WAIT, "hung up", bye_received);
    let call_ms = ms(ended - connected);

    let rec = finished_recording(&lab);
    let call_id = rec["call_id"].as_str().unwrap_or_default().to_string();
    assert!(
        call_id.ends_with(&format!("-{id}")),
        "the recording names call {id}: {rec:#}"
    );
    let by_call = lab
        .sotto
        .get(&format!("/v1/recordings?call_id={call_id}"))
        .json();
    assert_eq!(
        by_call.as_array().map(Vec::len),
        Some(1),
        "?call_id= finds it: {by_call:#}"
    );
    assert_eq!(by_call[0]["id"], rec["id"]);
    let duration_ms = rec["duration_ms"].as_i64().unwrap();
    assert!(
        (duration_ms - call_ms).abs() < 400,
        "recording {duration_ms} ms, call {call_ms} ms: {rec:#}"
    );
    let pauses: Vec<(i64, i64)> = rec["pauses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["start_ms"].as_i64().unwrap(),
                p["end_ms"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(pauses.len(), 2, "{rec:#}");
    let first = pauses[0].1 - pauses[0].0;
    assert!(
        (first - 1000).abs() <= 150,
        "auto pause {first} ms: {rec:#}"
    );
    let second = pauses[1].1 - pauses[1].0;
    assert!(
        (second - ms(manual)).abs() <= 300,
        "manual pause {second} ms, asked for {manual:?}: {rec:#}"
    );
    let into_call = |at: Instant| ms(at - connected);
    for (k, (start, at)) in [(pauses[0].0, paused1), (pauses[1].0, paused2)]
        .into_iter()
        .enumerate()
    {
        assert!(
            (start - into_call(at)).abs() <= 400,
            "pause #{k} starts at {start} ms, asked at {} ms",
            into_call(at)
        );
    }

    let audio = lab
        .sotto
        .get(rec["audio_url"].as_str().expect("an audio_url"));
    assert_eq!(audio.status, 200);
    assert_eq!(audio.header("content-type"), Some("audio/wav"));
    let wav = hound::WavReader::new(std::io::Cursor::new(audio.body)).expect("a WAV");
    let spec = wav.spec();
    assert_eq!((spec.channels, spec.sample_rate), (2, 8000), "{spec:?}");
    assert_eq!(spec.bits_per_sample, 16);
    let all: Vec<i16> = wav.into_samples::<i16>().map(Result::unwrap).collect();
    let left: Vec<i16> = all.iter().step_by(2).copied().collect();
    let right: Vec<i16> = all.iter().skip(1).step_by(2).copied().collect();
    let wav_ms = left.len() as i64 / 8;
    assert!(
        (wav_ms - duration_ms).abs() <= 40,
        "the WAV holds {wav_ms} ms, the listing says {duration_ms}"
    );
    let span = |from: i64, to: i64| (from as usize * 8)..(to as usize * 8).min(left.len());

    // Silence in the pauses (a frame of slack at each edge).
    for &(start, end) in &pauses {
        let r = span(start + 40, end - 40);
        let loudest = left[r.clone()]
            .iter()
            .chain(&right[r])
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap_or(0);
        assert!(
            loudest < 50,
            "the pause {start}–{end} ms holds sound (peak {loudest})"
        );
    }
    // Elsewhere: the customer left, the agent right, never mixed. 200 ms
    // windows, clear of the pauses' edges, the start and the end.
    let mut checked = 0;
    let mut at = 300;
    while at + 200 < wav_ms - 200 {
        let w = (at, at + 200);
        at += 200;
        if pauses.iter().any(|&(s, e)| w.0 < e + 100 && w.1 > s - 100) {
            continue;
        }
        let (l, r) = (&left[span(w.0, w.1)], &right[span(w.0, w.1)]);
        let levels = (
            tone_levels(l, &[CUSTOMER, AGENT1]),
            tone_levels(r, &[CUSTOMER, AGENT1]),
        );
        assert!(
            tone_level(l, CUSTOMER) > HEARD && tone_level(l, AGENT1) < NOT_HEARD,
            "left at {w:?} ms should be the customer alone: {levels:?}"
        );
        assert!(
            tone_level(r, AGENT1) > HEARD && tone_level(r, CUSTOMER) < NOT_HEARD,
            "right at {w:?} ms should be the agent alone: {levels:?}"
        );
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} windows outside the pauses");
}

/// 1b. Recording cannot be paused during a consult: 409, and it goes on.
#[test]
fn recording_cannot_be_paused_during_a_consult() {
    let _turn = serial();
    let lab = Lab::start(&[], "record = true\n");
    let agent1 = lab.agent("agent1", AGENT1);
    let agent2 = lab.agent("agent2", AGENT2);
    let customer = lab.customer();
    let (id, _cust, a1) = customer_calls_agent1(&lab, &customer, &agent1);
    lab.act_ok(&id, "consult", json!({"target": "agent2"}));
    let a2 = agent2.wait_call(1, WAIT);
    a2.wait(WAIT, "answered", answered);
    let v = lab.wait_state(&id, "consulting");
    assert!(
        !allowed(agent(&v, "agent1")).contains(&"pause-recording".into()),
        "no pause button during a consult: {v:#}"
    );
    lab.act_refused(
        &id,
        "pause-recording",
        json!({"seconds": 5}),
        "recording-not-in-consult",
    );
    let v = lab.view(&id);
    assert_eq!(recording_state(&v), "on", "still recording: {v:#}");
    assert_eq!(v["control"]["state"], "consulting", "{v:#}");

    lab.act_ok(&id, "end-consult", json!({}));
    a2.wait(WAIT, "hung up", bye_received);
    lab.wait_state(&id, "held");
    lab.act_ok(&id, "resume", json!({}));
    let v = lab.act_ok(&id, "pause-recording", json!({}));
    assert_eq!(recording_state(&v), "paused", "allowed again: {v:#}");
    lab.act_ok(&id, "end", json!({}));
    a1.wait(WAIT, "hung up", bye_received);
    let rec = finished_recording(&lab);
    assert_eq!(
        rec["pauses"].as_array().map(Vec::len),
        Some(1),
        "only the pause after the consult: {rec:#}"
    );
}

/// 2. DTMF: the agent's digits reach the customer's phone as RFC 4733
///    events, in order; the customer's digits show on the call.
#[test]
fn dtmf_goes_to_the_customer_and_comes_back_on_the_call() {
    let _turn = serial();
    let lab = Lab::start(&[], "");
    let agent1 = lab.agent("agent1", AGENT1);
    let customer = lab.customer();
    customer.offer_telephone_event(TE);
    let (id, cust, _a1) = customer_calls_agent1(&lab, &customer, &agent1);

    lab.act_refused(&id, "send-dtmf", json!({"digits": "12x"}), "dtmf-digits");
    lab.act_ok(&id, "send-dtmf", json!({"digits": "12#"}));
    // Each event ends (RFC 4733 §2.5.1.4: the E bit) before the next.
    let ended = |media: &Media| {
        let packets = media.packets();
        let events: Vec<_> = packets.iter().filter(|p| p.pt == TE).collect();
        let mut starts: Vec<u32> = events.iter().map(|p| p.ts).collect();
        starts.dedup();
        starts
            .iter()
            .filter(|&&ts| {
                events
                    .iter()
                    .any(|p| p.ts == ts && p.payload.len() >= 4 && p.payload[1] & 0x80 != 0)
            })
            .count()
    };
    let got = common::poll_until(WAIT, || (ended(&cust.media) >= 3).then_some(()));
    assert!(
        got.is_some(),
        "the customer's phone got {:?} ({} ended)",
        cust.media.received_digits(TE),
        ended(&cust.media)
    );
    assert_eq!(cust.media.received_digits(TE), "12#");

    cust.send_dtmf("4*");
    let v = lab.wait_view(&id, "showing the customer's digits", |v| {
        v["dtmf"].as_str().is_some_and(|d| d.len() >= 2)
    });
    assert_eq!(v["dtmf"], "4*", "{v:#}");
    lab.act_ok(&id, "end", json!({}));
    cust.wait(WAIT, "hung up", bye_received);
}

/// 3. Leaving a conference: control goes to the agent in the call longest;
///    the one who left hears BYE; the others still hear each other; a dial
///    number never gets control. (Recorded: a conference's recording cannot
///    be paused.)
#[test]
fn leaving_a_conference_hands_control_to_the_longest_agent() {
    let _turn = serial();
    let lab = Lab::start(&TRUNK, "record = true\n");
    let agent1 = lab.agent("agent1", AGENT1);
    let agent2 = lab.agent("agent2", AGENT2);
    let agent3 = lab.agent("agent3", AGENT3);
    let customer = lab.customer();
    let (id, cust, a1) = customer_calls_agent1(&lab, &customer, &agent1);
    let a2 = lab.conference_in(&id, "agent2", &agent2);
    let far = lab.conference_in(&id, "+12015550100", lab.trunk());
    let a3 = lab.conference_in(&id, "agent3", &agent3);

    let v = lab.view(&id);
    let number = party(&v, |p| p["kind"] == "dial-number");
    assert!(
        allowed(number).is_empty() && number["has_controls"] == false,
        "{v:#}"
    );
    assert_eq!(agent(&v, "agent2")["role"], "participant", "{v:#}");
    assert_eq!(
        allowed(agent(&v, "agent2")),
        vec!["leave-conference".to_string()],
        "a participant may only leave: {v:#}"
    );

    lab.act_refused(
        &id,
        "pause-recording",
        json!({}),
        "recording-not-in-conference",
    );
    assert_eq!(recording_state(&lab.view(&id)), "on");

    let v = lab.act_ok(&id, "leave-conference", json!({"agent": "agent1"}));
    a1.wait(WAIT, "hung up after leaving", bye_received);
    assert_eq!(v["state"], "conference", "{v:#}");
    assert_eq!(agent(&v, "agent2")["role"], "primary", "{v:#}");
    assert_eq!(agent(&v, "agent3")["role"], "participant", "{v:#}");
    assert!(
        v["parties"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["user"] != "agent1"),
        "agent1 is gone: {v:#}"
    );
    let number = party(&v, |p| p["kind"] == "dial-number");
    assert!(allowed(number).is_empty(), "{v:#}");
    assert!(
        allowed(agent(&v, "agent2")).contains(&"end".into()),
        "agent2 has the call: {v:#}"
    );
    let heard = listen(&[&cust, &a2, &a3, &far]);
    let names = ["customer", "agent2", "agent3", "dial number"];
    let tones = [CUSTOMER, AGENT2, AGENT3, TRUNK[0]];
    for (i, name) in names.iter().enumerate() {
        let others: Vec<f64> = (0..4).filter(|&j| j != i).map(|j| tones[j]).collect();
        assert_hears(name, &heard[i], &others, &[tones[i], AGENT1]);
    }
    assert!(!cust.bye_received() && !far.bye_received());

    // A participant leaves: the call goes on without him.
    lab.act_ok(&id, "leave-conference", json!({"agent": "agent3"}));
    a3.wait(WAIT, "hung up after leaving", bye_received);
    let heard = listen(&[&cust, &a2]);
    assert_hears("customer", &heard[0], &[AGENT2, TRUNK[0]], &[AGENT3]);
    assert_hears("agent2", &heard[1], &[CUSTOMER, TRUNK[0]], &[AGENT3]);

    lab.act_ok(&id, "end", json!({"agent": "agent2"}));
    for (name, c) in [("customer", &cust), ("agent2", &a2), ("dial number", &far)] {
        c.wait(WAIT, &format!("{name} hung up"), bye_received);
    }
}

/// 4. The customer leaves a conference: post-call, nobody new, and the call
///    ends when one participant is left.
#[test]
fn customer_leaving_a_conference_is_post_call_until_one_is_left() {
    let _turn = serial();
    let lab = Lab::start(&[], "");
    let agent1 = lab.agent("agent1", AGENT1);
    let agent2 = lab.agent("agent2", AGENT2);
    let customer = lab.customer();
    let (id, cust, a1) = customer_calls_agent1(&lab, &customer, &agent1);
    let a2 = lab.conference_in(&id, "agent2", &agent2);

    cust.hang_up();
    let v = lab.wait_state(&id, "post-call");
    assert_eq!(v["control"]["parties"].as_array().map(Vec::len), Some(2));
    lab.act_refused(
        &id,
        "consult",
        json!({"target": "agent3"}),
        "post-call-no-new-parties",
    );
    let heard = listen(&[&a1, &a2]);
    assert_hears("agent1 (post-call)", &heard[0], &[AGENT2], &[CUSTOMER]);
    assert_hears("agent2 (post-call)", &heard[1], &[AGENT1], &[CUSTOMER]);

    a2.hang_up();
    a1.wait(WAIT, "hung up once alone", bye_received);
    let gone = common::poll_until(WAIT, || {
        (lab.sotto.get(&format!("/v1/calls/{id}")).status == 404).then_some(())
    });
    assert!(gone.is_some(), "call {id} still listed after it ended");
}
