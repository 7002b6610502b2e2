//! The call-control lab (`tests/call_control.rs`, `tests/call_control_more.rs`): a real
//! `sotto serve` with noise removal off, agents' actions over the HTTP API, and test
//! phones ([`super::ua`]) that each send a tone of their own, so every check is what a
//! party hears.
//!
//! Noise removal is off: RNNoise is free to treat a steady tone as noise. The tests of
//! a binary take turns ([`serial`]): eight media-heavy calls at once on a small machine
//! would test the machine.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::http::{self, HttpResponse};
use super::sotto::Sotto;
use super::ua::{answered, tone_level, tone_levels, Ua, UaCall};

static SERIAL: Mutex<()> = Mutex::new(());

/// One test at a time (media timing on a small machine).
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

pub const CUSTOMER: f64 = 1000.0;
pub const AGENT1: f64 = 1200.0;
pub const AGENT2: f64 = 1400.0;

/// A tone this loud is heard; one this faint is not (a phone sends 2500).
pub const HEARD: f64 = 700.0;
pub const NOT_HEARD: f64 = 200.0;

pub const WAIT: Duration = Duration::from_secs(5);
/// Jitter buffers and routing settle after a change before we listen.
pub const SETTLE: Duration = Duration::from_millis(400);
pub const LISTEN: Duration = Duration::from_millis(1200);

/// A sotto with noise removal off and, with trunk tones, a trunk phone that answers
/// every dial number (a fresh RTP socket and the next tone per call).
pub struct Lab {
    pub sotto: Sotto,
    trunk: Option<Ua>,
    _dir: tempfile::TempDir,
}

impl Lab {
    /// `config` is added to the configuration after `[routes]` (so a line there is a
    /// route setting); with `trunk_tones` not empty, a trunk phone sends them, one per
    /// call in order of arrival (the last repeating).
    pub fn start(trunk_tones: &[f64], config: &str) -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let port = super::ports::free_port();
        let mut cfg = format!("[routes]\ndenoise = \"off\"\n{config}\n");
        if !trunk_tones.is_empty() {
            cfg.push_str(&format!(
                "[trunk]\nuri = \"sip:{{number}}@127.0.0.1:{port}\"\n"
            ));
        }
        let path = dir.path().join("sotto.toml");
        std::fs::write(&path, cfg).unwrap();
        let sotto = Sotto::start_with(&["--config", path.to_str().unwrap()]);
        let trunk = (!trunk_tones.is_empty()).then(|| {
            Ua::builder("trunk", sotto.sip)
                .port(port)
                .tones(trunk_tones)
                .start()
        });
        Lab {
            sotto,
            trunk,
            _dir: dir,
        }
    }

    pub fn trunk(&self) -> &Ua {
        self.trunk.as_ref().expect("a trunk")
    }

    /// A registered agent phone sending `tone`.
    pub fn agent(&self, user: &str, tone: f64) -> Ua {
        let p = Ua::builder(user, self.sotto.sip).tones(&[tone]).start();
        p.register(user, user);
        p
    }

    pub fn customer(&self) -> Ua {
        Ua::builder("customer", self.sotto.sip)
            .tones(&[CUSTOMER])
            .start()
    }

    pub fn post(&self, path: &str, body: Option<Value>) -> HttpResponse {
        http::post(self.sotto.http, path, body.as_ref(), WAIT)
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// `POST /v1/calls/{id}/{action}`.
    pub fn act(&self, id: &str, action: &str, body: Value) -> HttpResponse {
        let body = (body != Value::Null).then_some(body);
        self.post(&format!("/v1/calls/{id}/{action}"), body)
    }

    /// An action that must succeed; returns the answer's `control` view.
    pub fn act_ok(&self, id: &str, action: &str, body: Value) -> Value {
        let r = self.act(id, action, body);
        assert_eq!(r.status, 200, "{action}: {}", r.text());
        r.json()["control"].clone()
    }

    /// An action the call model must refuse with `rule`.
    pub fn act_refused(&self, id: &str, action: &str, body: Value, rule: &str) {
        let r = self.act(id, action, body);
        assert_eq!(r.status, 409, "{action} should be refused: {}", r.text());
        let j = r.json();
        assert_eq!(j["rule"], rule, "{action}: {j}");
        assert_eq!(j["action"], action, "{action}: {j}");
        assert!(j["error"].as_str().is_some_and(|e| !e.is_empty()), "{j}");
    }

    pub fn view(&self, id: &str) -> Value {
        let r = self.sotto.get(&format!("/v1/calls/{id}"));
        assert_eq!(r.status, 200, "GET call {id}: {}", r.text());
        r.json()
    }

    /// Polls `GET /v1/calls/{id}` until `f` holds.
    pub fn wait_view(&self, id: &str, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        let got = super::poll_until(WAIT, || {
            last = self.view(id);
            f(&last).then(|| last.clone())
        });
        got.unwrap_or_else(|| panic!("call {id}: not {what} within {WAIT:?}; last view: {last:#}"))
    }

    pub fn wait_state(&self, id: &str, state: &str) -> Value {
        self.wait_view(id, &format!("in state {state}"), |v| {
            v["control"]["state"] == state
        })
    }

    /// The id of the one live call under control.
    pub fn call_id(&self) -> String {
        let got = super::poll_until(WAIT, || {
            let list = self.sotto.get("/v1/calls").json();
            list.as_array()?
                .iter()
                .rev()
                .find(|c| !c["control"].is_null())
                .and_then(|c| c["id"].as_str().map(str::to_string))
        });
        got.expect("a call under control in GET /v1/calls")
    }

    /// Consults `target` (an agent's name with its phone, or a dial number answered by
    /// the trunk), waits for the answer, and merges it.
    pub fn conference_in(&self, id: &str, target: &str, phone: &Ua) -> UaCall {
        let n = phone.calls().len();
        self.act_ok(id, "consult", json!({"target": target}));
        let leg = phone.wait_call(n + 1, WAIT);
        leg.wait(WAIT, "answered", answered);
        self.wait_state(id, "consulting");
        let v = self.act_ok(id, "conference", json!({}));
        assert_eq!(v["state"], "conference", "merging {target}: {v:#}");
        leg
    }
}

/// The customer calls agent1, who answers: the call id and both ends.
pub fn customer_calls_agent1(lab: &Lab, customer: &Ua, agent1: &Ua) -> (String, UaCall, UaCall) {
    let before = agent1.calls().len();
    let cust = customer.call(&lab.sotto.uri("agent1"));
    cust.wait(WAIT, "answered", answered);
    let agent = agent1.wait_call(before + 1, WAIT);
    agent.wait(WAIT, "answered", answered);
    let id = lab.call_id();
    lab.wait_state(&id, "connected");
    (id, cust, agent)
}

/// Lets routing settle, listens, and returns what each call heard.
pub fn listen(calls: &[&UaCall]) -> Vec<Vec<i16>> {
    std::thread::sleep(SETTLE);
    let from = Instant::now();
    std::thread::sleep(LISTEN);
    let to = Instant::now();
    calls
        .iter()
        .map(|c| c.media.samples_between(from, to))
        .collect()
}

/// `who` heard every tone of `heard` and none of `not_heard`.
pub fn assert_hears(who: &str, samples: &[i16], heard: &[f64], not_heard: &[f64]) {
    let all: Vec<f64> = heard.iter().chain(not_heard).copied().collect();
    let levels = tone_levels(samples, &all);
    assert!(
        samples.len() >= 4000,
        "{who} received only {} samples in {LISTEN:?}",
        samples.len()
    );
    for &t in heard {
        assert!(
            tone_level(samples, t) > HEARD,
            "{who} should hear the {t} Hz tone; levels {levels:?}"
        );
    }
    for &t in not_heard {
        assert!(
            tone_level(samples, t) < NOT_HEARD,
            "{who} should not hear the {t} Hz tone; levels {levels:?}"
        );
    }
}
