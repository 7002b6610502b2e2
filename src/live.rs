//! The live-calls view: what call control knows about calls in progress, shared with
//! the HTTP API (`GET /v1/calls`).
//!
//! Call control updates it once per call event (INVITE, 180/183, 200, BYE), never per
//! packet, so a plain `Mutex<HashMap>` is enough: the lock is held for a map operation
//! or a clone, and the HTTP side takes a snapshot rather than holding it while it
//! serialises. Packet counters are copied in by call control at its own pace.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

pub use crate::view::{CallSummary, LegMedia, LegRole, LegSummary, SignallingState};

use crate::media_rt::LegCounters;

/// Reads a leg's live counters.
pub fn read_media(c: &LegCounters) -> LegMedia {
    let get = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    LegMedia {
        lost: get(&c.lost),
        late: get(&c.late),
        duplicates: get(&c.duplicates),
        concealed: get(&c.concealed),
        denoised: get(&c.denoised),
        jitter_ms: get(&c.jitter) / 8,
        dropped: get(&c.dropped) + get(&c.send_dropped),
    }
}

/// Calls in progress, keyed by call id. Cloning shares the same view.
#[derive(Debug, Clone, Default)]
pub struct LiveCalls {
    calls: Arc<Mutex<HashMap<String, Entry>>>,
}

/// A summary and the live packet counters of its legs (same order as
/// `legs`), read when the view is asked, so call control never copies them.
#[derive(Debug, Clone)]
struct Entry {
    summary: CallSummary,
    counters: Vec<Arc<LegCounters>>,
}

impl Entry {
    fn current(&self) -> CallSummary {
        let mut s = self.summary.clone();
        for (leg, c) in s.legs.iter_mut().zip(&self.counters) {
            (leg.packets_in, leg.packets_out) = c.snapshot();
            leg.media = read_media(c);
        }
        s
    }
}

impl LiveCalls {
    pub fn new() -> Self {
        Self::default()
    }

    /// A poisoned lock only means another thread panicked mid-update of a summary;
    /// the map itself is still sound, so the view keeps serving.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a call; returns the summary it replaced, if the id was already present.
    pub fn insert(&self, call: CallSummary) -> Option<CallSummary> {
        self.insert_with_counters(call, Vec::new())
    }

    /// Adds a call whose legs' packet counters are read live.
    pub fn insert_with_counters(
        &self,
        call: CallSummary,
        counters: Vec<Arc<LegCounters>>,
    ) -> Option<CallSummary> {
        let entry = Entry {
            summary: call,
            counters,
        };
        self.lock()
            .insert(entry.summary.id.clone(), entry)
            .map(|e| e.summary)
    }

    /// Changes a call in place; returns `false` if there is no call with that id.
    pub fn update(&self, id: &str, f: impl FnOnce(&mut CallSummary)) -> bool {
        match self.lock().get_mut(id) {
            Some(entry) => {
                f(&mut entry.summary);
                true
            }
            None => false,
        }
    }

    pub fn remove(&self, id: &str) -> Option<CallSummary> {
        self.lock().remove(id).map(|e| e.current())
    }

    pub fn get(&self, id: &str) -> Option<CallSummary> {
        self.lock().get(id).map(Entry::current)
    }

    /// All calls, oldest first (ties by id), so a listing is stable between polls.
    pub fn snapshot(&self) -> Vec<CallSummary> {
        let mut calls: Vec<CallSummary> = self.lock().values().map(Entry::current).collect();
        calls.sort_by(|a, b| a.since.cmp(&b.since).then_with(|| a.id.cmp(&b.id)));
        calls
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A ringing call with one caller leg, for tests here and in `http`.
    pub(crate) fn ringing(id: &str, since: u64) -> CallSummary {
        CallSummary {
            id: id.to_owned(),
            state: SignallingState::Ringing,
            route: "echo".to_owned(),
            from: "sip:agent1@127.0.0.1".to_owned(),
            to: "sip:echo@127.0.0.1".to_owned(),
            codec: None,
            since,
            answered_at: None,
            legs: vec![LegSummary {
                id: format!("{id}-a"),
                role: LegRole::Caller,
                remote_sip: "127.0.0.1:5062".to_owned(),
                remote_rtp: None,
                local_rtp_port: None,
                codec: None,
                packets_in: 0,
                packets_out: 0,
                media: LegMedia::default(),
            }],
            dtmf: String::new(),
            control: None,
            events: Vec::new(),
        }
    }

    #[test]
    fn call_lifecycle_is_visible_through_a_shared_view() {
        let live = LiveCalls::new();
        let http_side = live.clone();
        assert!(live.insert(ringing("c1", 1_000)).is_none());
        assert_eq!(http_side.len(), 1);

        assert!(live.update("c1", |c| {
            c.state = SignallingState::Connected;
            c.answered_at = Some(2_000);
            c.codec = Some("PCMU".into());
            c.legs[0].packets_in = 50;
        }));
        let seen = http_side.get("c1").unwrap();
        assert_eq!(seen.state, SignallingState::Connected);
        assert_eq!(seen.legs[0].packets_in, 50);

        assert!(!live.update("nope", |_| panic!("must not run for a missing call")));
        assert_eq!(live.remove("c1").unwrap().id, "c1");
        assert!(http_side.is_empty());
        assert!(http_side.get("c1").is_none());
    }

    #[test]
    fn snapshot_is_oldest_first() {
        let live = LiveCalls::new();
        live.insert(ringing("b", 300));
        live.insert(ringing("z", 100));
        live.insert(ringing("a", 300));
        let ids: Vec<_> = live.snapshot().into_iter().map(|c| c.id).collect();
        assert_eq!(ids, ["z", "a", "b"]);
    }

    #[test]
    fn summary_serialises_as_snake_case_json() {
        let mut call = ringing("c1", 1_000);
        call.state = SignallingState::Early;
        call.legs[0].role = LegRole::Callee;
        let json = serde_json::to_value(&call).unwrap();
        assert_eq!(json["state"], "early");
        assert_eq!(json["since"], 1_000);
        assert_eq!(json["answered_at"], serde_json::Value::Null);
        assert_eq!(json["legs"][0]["role"], "callee");
        assert_eq!(json["legs"][0]["remote_sip"], "127.0.0.1:5062");
        assert_eq!(json["legs"][0]["packets_out"], 0);
        let back: CallSummary = serde_json::from_value(json).unwrap();
        assert_eq!(back, call);
    }
}

/// The registrar's bindings as the call core last published them, shared
/// with the API. Cloning shares the same list.
#[derive(Debug, Clone, Default)]
pub struct Registrations {
    list: Arc<Mutex<Vec<crate::view::RegistrationView>>>,
}

impl Registrations {
    /// Replaces the list.
    pub fn set(&self, list: Vec<crate::view::RegistrationView>) {
        *self.list.lock().unwrap_or_else(|p| p.into_inner()) = list;
    }

    /// A copy of the list.
    pub fn get(&self) -> Vec<crate::view::RegistrationView> {
        self.list.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
