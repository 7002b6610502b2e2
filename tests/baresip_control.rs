//! An agent controls a call from the softphone itself: baresip (agent1) is rung through
//! sotto by a customer written here (raw SIP and RTP over UDP), answers by itself, and
//! then its own commands, sent at run time over `ctrl_tcp`, put the customer on hold,
//! take them off, and blind-transfer them (REFER, RFC 3515) to agent2.
//!
//! Each agent's baresip sends a pure tone (agent1 1900 Hz, agent2 2500 Hz, well above
//! the music on hold's 440–1760 Hz), so the tone's share of what the customer hears says
//! whom the customer hears. The customer sends speech, which reaches the agents
//! denoised (sotto's default `denoise = "inbound"`), so it is checked as "voiced".

mod common;

use std::time::{Duration, Instant};

use common::audio::{self, Wav};
use common::baresip::{Account, Baresip};
use common::sotto::Sotto;

#[path = "baresip_control/customer.rs"]
mod customer;
use customer::{Customer, Direction};

const AGENT1_TONE: f64 = 1900.0;
const AGENT2_TONE: f64 = 2500.0;
/// After a change of who hears whom: the agent's and sotto's jitter buffers and the
/// re-INVITE's way through the media worker.
const SETTLE: Duration = Duration::from_millis(700);
/// How long each listening window lasts.
const LISTEN: Duration = Duration::from_millis(1500);

/// A baresip registered as `user`, sending a `tone` Hz sine for a minute.
fn agent(sotto: &Sotto, user: &str, tone: f64) -> Baresip {
    let source = sotto.scratch().join(format!("{user}_tone.wav"));
    let samples: Vec<i16> = (0..8_000 * 60)
        .map(|i| {
            ((2.0 * std::f64::consts::PI * tone * f64::from(i) / 8_000.0).sin() * 8_000.0) as i16
        })
        .collect();
    audio::write_wav(&source, 8_000, &samples);
    let account = Account {
        user: user.into(),
        password: user.into(),
        registrar: sotto.sip,
    };
    let phone = Baresip::start_with(&account, &source, true);
    assert!(
        phone.wait_registered(Duration::from_secs(15)),
        "baresip did not register as {user} within 15 s"
    );
    phone
}

/// The one call sotto lists, by id.
fn only_call_id(sotto: &Sotto) -> String {
    let calls = sotto.get("/v1/calls").json();
    calls[0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("GET /v1/calls lists no call: {calls}"))
        .to_string()
}

/// Polls `GET /v1/calls/{id}` until `control.state` is `state`; the last view if never.
fn wait_control_state(sotto: &Sotto, id: &str, state: &str, limit: Duration) -> Result<(), String> {
    let mut last = serde_json::Value::Null;
    common::poll_until(limit, || {
        last = sotto.get(&format!("/v1/calls/{id}")).json();
        (last["control"]["state"].as_str() == Some(state)).then_some(())
    })
    .ok_or_else(|| {
        format!("control.state never became {state:?} within {limit:?}; last view: {last}")
    })
}

/// The status lines of sotto's final answers to the re-INVITEs baresip sent it.
fn answers_to_reinvites(phone: &Baresip) -> Vec<String> {
    let trace = phone.sip_trace();
    let invites: Vec<&str> = trace
        .iter()
        .filter(|m| m.from == phone.sip && m.start_line().starts_with("INVITE "))
        .filter_map(|m| m.header("CSeq"))
        .collect();
    trace
        .iter()
        .filter(|m| m.to == phone.sip && m.start_line().starts_with("SIP/2.0 "))
        .filter(|m| m.header("CSeq").is_some_and(|c| invites.contains(&c)))
        .filter(|m| !m.start_line().starts_with("SIP/2.0 1"))
        .map(|m| m.start_line().to_string())
        .collect()
}

/// Listens for [`LISTEN`] starting [`SETTLE`] after `from` (waiting as needed) and
/// returns what the customer heard then.
fn listen_after(customer: &Customer, from: Instant) -> Vec<i16> {
    let start = from + SETTLE;
    let end = start + LISTEN;
    let now = Instant::now();
    if end > now {
        std::thread::sleep(end - now);
    }
    customer.heard_between(start, end)
}

/// The share of a signal's energy in one frequency (Goertzel over 20 ms frames,
/// normalised so a pure tone at `freq` gives about 1 and anything else about 0).
fn tone_share(samples: &[i16], freq: f64) -> f64 {
    let n = 160;
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * freq / 8_000.0).cos();
    let (mut tone, mut total) = (0.0, 0.0);
    for frame in samples.chunks_exact(n) {
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &x in frame {
            let s0 = f64::from(x) + coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
        tone += 2.0 * power / n as f64;
        total += frame.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>();
    }
    if total == 0.0 {
        0.0
    } else {
        tone / total
    }
}

/// Asserts the customer hears `tone` (an agent) and not much else.
fn assert_hears_tone(heard: &[i16], tone: f64, what: &str) {
    assert!(
        heard.len() >= 8_000,
        "{what}: the customer got only {} samples in {LISTEN:?}",
        heard.len()
    );
    let share = tone_share(heard, tone);
    assert!(
        audio::rms(heard) > 1_000.0 && share > 0.6,
        "{what}: the customer does not hear the {tone} Hz agent (rms {:.0}, tone share {share:.2})",
        audio::rms(heard)
    );
}

#[test]
fn baresip_hold_and_resume_put_the_customer_on_music_and_back() {
    require_peer!("baresip");
    let sotto = Sotto::start();
    let agent1 = agent(&sotto, "agent1", AGENT1_TONE);
    let customer = Customer::call(sotto.sip, "agent1", Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("customer's call to agent1: {e}\n{}", agent1.output()));
    let id = only_call_id(&sotto);
    wait_control_state(&sotto, &id, "connected", Duration::from_secs(5)).unwrap();
    let heard = listen_after(&customer, customer.answered_at());
    assert_hears_tone(&heard, AGENT1_TONE, "connected");

    // baresip's own `hold`: a re-INVITE a=sendonly to sotto, which holds the customer.
    agent1.command_ok("hold", "", Duration::from_secs(10));
    let held = customer
        .wait_reinvite(0, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no re-INVITE reached the customer after baresip's `hold`"));
    assert!(
        matches!(held.direction, Direction::SendOnly | Direction::Inactive),
        "sotto's hold re-INVITE offers {:?}, not sendonly/inactive:\n{}",
        held.direction,
        held.sdp
    );
    wait_control_state(&sotto, &id, "held", Duration::from_secs(5)).unwrap();
    let heard = listen_after(&customer, held.at);
    assert!(
        heard.len() >= 8_000,
        "on hold the customer got only {} samples in {LISTEN:?}: no music on hold",
        heard.len()
    );
    assert!(
        audio::voiced_fraction(&heard, 8_000) > 0.8 && audio::rms(&heard) > 300.0,
        "on hold the customer hears near silence (rms {:.0}), not music",
        audio::rms(&heard)
    );
    let share = tone_share(&heard, AGENT1_TONE);
    assert!(
        share < 0.1,
        "on hold the customer still hears the agent (tone share {share:.2})"
    );

    // baresip's own `resume`: a=sendrecv, and sotto takes the customer off hold.
    agent1.command_ok("resume", "", Duration::from_secs(10));
    let resumed = customer
        .wait_reinvite(1, Duration::from_secs(10))
        .unwrap_or_else(|| {
            panic!(
                "no re-INVITE reached the customer after baresip's `resume`; sotto's answers to \
                 baresip's re-INVITEs: {:?}",
                answers_to_reinvites(&agent1)
            )
        });
    assert_eq!(
        resumed.direction,
        Direction::SendRecv,
        "sotto's resume re-INVITE:\n{}",
        resumed.sdp
    );
    wait_control_state(&sotto, &id, "connected", Duration::from_secs(5)).unwrap();
    let heard = listen_after(&customer, resumed.at);
    assert_hears_tone(&heard, AGENT1_TONE, "resumed");

    customer.hang_up(Duration::from_secs(5)).unwrap();
    assert!(
        agent1.wait_call_ended(Duration::from_secs(10)),
        "baresip did not see the call end after the customer's BYE"
    );
}

#[test]
fn baresip_blind_transfer_connects_the_customer_to_agent2() {
    require_peer!("baresip");
    let sotto = Sotto::start();
    let agent1 = agent(&sotto, "agent1", AGENT1_TONE);
    let agent2 = agent(&sotto, "agent2", AGENT2_TONE);
    let customer = Customer::call(sotto.sip, "agent1", Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("customer's call to agent1: {e}\n{}", agent1.output()));
    let id = only_call_id(&sotto);
    wait_control_state(&sotto, &id, "connected", Duration::from_secs(5)).unwrap();
    let heard = listen_after(&customer, customer.answered_at());
    assert_hears_tone(&heard, AGENT1_TONE, "before the transfer");

    // baresip's own blind transfer: REFER Refer-To agent2 (RFC 3515), to sotto.
    let target = sotto.uri("agent2");
    agent1.command_ok("transfer", &target, Duration::from_secs(10));
    assert!(
        agent2.wait_for_line(Duration::from_secs(15), |l| l.contains("Call established")),
        "agent2 never answered the transferred call"
    );
    let connected_to_agent2 = Instant::now();
    assert!(
        agent1.wait_call_ended(Duration::from_secs(10)),
        "agent1's call did not end after the transfer"
    );
    let output = agent1.output();
    assert!(
        !output.contains("transfer failure"),
        "baresip reports the transfer failed:\n{}",
        common::tail(&output, 5_000)
    );
    // RFC 3515 §2.4.2: 202 to the REFER; §2.4.5: NOTIFY message/sipfrag with the
    // INVITE's progress, ending in a final response. baresip 1.0 logs none of this
    // outside its SIP trace.
    let trace = agent1.sip_trace();
    let refer = trace
        .iter()
        .find(|m| m.from == agent1.sip && m.start_line().starts_with("REFER "))
        .unwrap_or_else(|| panic!("agent1 sent no REFER:\n{}", common::tail(&output, 5_000)));
    assert!(
        refer
            .header("Refer-To")
            .is_some_and(|r| r.contains(&target)),
        "agent1's REFER does not name {target}:\n{}",
        refer.message
    );
    let refer_cseq = refer.header("CSeq").unwrap_or_default();
    let answer = trace
        .iter()
        .find(|m| {
            m.to == agent1.sip
                && m.start_line().starts_with("SIP/2.0 ")
                && m.header("CSeq") == Some(refer_cseq)
        })
        .map(|m| m.start_line().to_string());
    assert_eq!(
        answer.as_deref(),
        Some("SIP/2.0 202 Accepted"),
        "sotto's answer to the REFER"
    );
    let notifies: Vec<_> = trace
        .iter()
        .filter(|m| m.to == agent1.sip && m.start_line().starts_with("NOTIFY "))
        .collect();
    assert!(
        !notifies.is_empty(),
        "sotto sent agent1 no NOTIFY after the REFER"
    );
    for n in &notifies {
        assert_eq!(n.header("Event"), Some("refer"), "{}", n.message);
        assert!(
            n.header("Content-Type")
                .is_some_and(|c| c.starts_with("message/sipfrag")),
            "{}",
            n.message
        );
    }
    let last = notifies.last().expect("a NOTIFY");
    assert!(
        last.body().trim_start().starts_with("SIP/2.0 200"),
        "the last NOTIFY's sipfrag is not the transfer target's 200:\n{}",
        last.message
    );
    assert!(
        last.header("Subscription-State")
            .is_some_and(|s| s.starts_with("terminated")),
        "the final NOTIFY does not end the subscription:\n{}",
        last.message
    );

    let heard = listen_after(&customer, connected_to_agent2);
    assert_hears_tone(&heard, AGENT2_TONE, "after the transfer");
    let share = tone_share(&heard, AGENT1_TONE);
    assert!(
        share < 0.1,
        "after the transfer the customer still hears agent1 ({share:.2})"
    );

    let view = sotto.get(&format!("/v1/calls/{id}")).json();
    let control = &view["control"];
    assert_eq!(control["state"].as_str(), Some("connected"), "{view}");
    let users: Vec<&str> = control["parties"]
        .as_array()
        .map(|ps| ps.iter().filter_map(|p| p["user"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        users,
        ["agent2"],
        "the call's agents after the transfer: {view}"
    );

    customer.hang_up(Duration::from_secs(5)).unwrap();
    assert!(
        agent2.wait_call_ended(Duration::from_secs(10)),
        "agent2 did not see the call end after the customer's BYE"
    );
    let received = agent2
        .received_wav()
        .expect("agent2's baresip wrote no dump of received audio");
    let got = Wav::read(&received);
    assert!(
        got.voiced_fraction() > 0.2,
        "agent2 received near silence from the customer ({:.0}% voiced, {:.2} s)",
        got.voiced_fraction() * 100.0,
        got.seconds()
    );
}
