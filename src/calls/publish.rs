//! What call control tells the rest of the process: the live-calls view, the
//! call records in the store, and the registrations snapshot.

use super::call::{Call, Route};
use super::CallControl;
use crate::http::RegistrationView;
use crate::live::{CallState, CallSummary, LegRole, LegSummary};
use crate::store::CallRecord;
use rsip::prelude::UntypedHeader;
use rsip::Header;
use std::time::Instant;

fn header_text(headers: &rsip::Headers, pick: fn(&Header) -> Option<&str>) -> String {
    headers
        .iter()
        .find_map(pick)
        .unwrap_or_default()
        .to_string()
}

fn from_of(h: &Header) -> Option<&str> {
    match h {
        Header::From(f) => Some(f.value()),
        _ => None,
    }
}

fn to_of(h: &Header) -> Option<&str> {
    match h {
        Header::To(t) => Some(t.value()),
        _ => None,
    }
}

impl CallControl {
    /// Inserts or refreshes a call in the live view (call events only, never
    /// per packet: packet counters are read live by the view).
    pub(super) fn publish(&self, now: Instant, call: &Call) {
        let first = call.first();
        let state = if call.ending.is_some() {
            CallState::Ending
        } else if first.is_some_and(|f| f.answered && f.dialog.is_some()) {
            CallState::Connected
        } else {
            CallState::Ringing
        };
        let legs = call
            .legs
            .iter()
            .enumerate()
            .map(|(ix, leg)| LegSummary {
                id: leg_id(&call.name, ix),
                role: if leg.uas().is_some() {
                    LegRole::Caller
                } else {
                    LegRole::Callee
                },
                remote_sip: leg.peer.addr.to_string(),
                remote_rtp: leg.remote.borrow().addr.map(|a| a.to_string()),
                local_rtp_port: Some(leg.rtp_port),
                codec: Some(leg.remote.borrow().codec.encoding_name().to_string()),
                packets_in: 0,
                packets_out: 0,
                media: Default::default(),
            })
            .collect();
        let summary = CallSummary {
            id: call.name.clone(),
            state,
            route: call.route.name(),
            from: first
                .map(|f| header_text(&f.invite().headers, from_of))
                .unwrap_or_default(),
            to: first
                .map(|f| header_text(&f.invite().headers, to_of))
                .unwrap_or_default(),
            codec: call.codec.clone(),
            since: self.unix_ms(call.started),
            answered_at: (state == CallState::Connected).then(|| self.unix_ms(now)),
            legs,
            dtmf: String::new(),
            control: call
                .model
                .as_ref()
                .and_then(|m| serde_json::to_value(m.view(|t| self.unix_ms(t))).ok()),
            events: call.events.clone(),
        };
        let counters = match (&call.media, &call.room) {
            (Some(m), _) => m.counters(),
            // Leg order: each leg's counters where its media runs.
            (None, Some(room)) => {
                let by_key = room.counters();
                call.legs
                    .iter()
                    .map(|l| {
                        l.media_key
                            .and_then(|k| by_key.iter().find(|(kk, _)| *kk == k))
                            .map(|(_, c)| c.clone())
                            .unwrap_or_default()
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        self.live.insert_with_counters(summary, counters);
    }

    /// Removes a call from the live view and records how it ended.
    pub(super) fn unpublish(&self, now: Instant, call: &Call, reason: &str) {
        let summary = self.live.remove(&call.name);
        if let Some(store) = &self.store {
            let answered_at = summary
                .as_ref()
                .and_then(|s| s.answered_at)
                .map(|t| t as i64);
            store.record_call_start(CallRecord {
                id: format!("{}-{}", self.run_id, call.name),
                started_at: self.unix_ms(call.started) as i64,
                answered_at,
                ended_at: Some(self.unix_ms(now) as i64),
                from_uri: call
                    .first()
                    .map(|f| header_text(&f.invite().headers, from_of))
                    .unwrap_or_default(),
                to_uri: call
                    .first()
                    .map(|f| header_text(&f.invite().headers, to_of))
                    .unwrap_or_default(),
                route: match &call.route {
                    Route::Echo => "echo".into(),
                    Route::Agent(u) => format!("agent:{u}"),
                },
                end_reason: Some(reason.to_string()),
                codec: call.codec.clone(),
            });
        }
    }

    /// A DTMF digit from a call's media: logged and shown on the call.
    pub(super) fn on_media_event(&mut self, event: crate::media_rt::MediaEvent) {
        let Some(call) = self.calls.values().find(|c| {
            c.media.as_ref().is_some_and(|m| m.id() == event.task)
                || c.room.as_ref().is_some_and(|r| r.id() == event.task)
        }) else {
            return;
        };
        let side = if event.leg == 0 { "caller" } else { "callee" };
        tracing::info!(call = %call.name, side, digit = %event.digit, ms = event.duration_ms, "DTMF");
        self.live.update(&call.name, |s| {
            if s.dtmf.len() >= 64 {
                s.dtmf.remove(0);
            }
            s.dtmf.push(event.digit);
        });
    }

    /// Refreshes the registrations the API shows.
    pub(super) fn publish_registrations(&self, now: Instant) {
        let views: Vec<RegistrationView> = self
            .registrar
            .all(now)
            .into_iter()
            .map(|(aor, b)| RegistrationView {
                aor: format!("sip:{aor}@{}", self.cfg.realm),
                contact_uri: b.contact.to_string(),
                source_addr: b.peer.addr.to_string(),
                transport: b.peer.transport.via_token().to_string(),
                expires_at_unix: (self.unix_ms(b.expires_at) / 1000) as i64,
            })
            .collect();
        if let Ok(mut shared) = self.registrations.lock() {
            *shared = views;
        }
    }
}

/// A leg's name in the API: `c7-a` for the first, `c7-b` the second, …
fn leg_id(call: &str, ix: usize) -> String {
    let letter = (b'a' + (ix % 26) as u8) as char;
    format!("{call}-{letter}")
}
