//! What call control tells the rest of the process: the live-calls view, the
//! call records in the store, and the registrations snapshot.

use super::call::Call;
use super::output::{CallId, LegId, Output};
use super::CallCore;
use crate::store::CallRecord;
use crate::view::{CallSummary, LegRole, LegSummary, RegistrationView, SignallingState};
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

impl CallCore {
    /// Publishes a call's view (on call events only, never per packet: the
    /// runtime reads packet counters live).
    pub(super) fn publish(&mut self, now: Instant, id: CallId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let connected = call
            .first()
            .is_some_and(|f| f.answered && f.dialog.is_some());
        if connected && call.answered_at.is_none() {
            call.answered_at = Some(now);
        }
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let (view, legs) = self.summary(call);
        self.out.push_back(Output::Publish {
            view: Box::new(view),
            legs,
        });
    }

    /// The call as the API shows it, and the media of its legs in order.
    fn summary(&self, call: &Call) -> (CallSummary, Vec<LegId>) {
        let first = call.first();
        let state = if call.ending.is_some() {
            SignallingState::Ending
        } else if call.answered_at.is_some() {
            SignallingState::Connected
        } else {
            SignallingState::Ringing
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
                remote_rtp: leg.remote.addr.map(|a| a.to_string()),
                local_rtp_port: Some(leg.rtp_port),
                codec: Some(leg.remote.codec.encoding_name().to_string()),
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
            answered_at: call.answered_at.map(|t| self.unix_ms(t)),
            legs,
            dtmf: call.dtmf.clone(),
            control: call
                .model
                .as_ref()
                .and_then(|m| serde_json::to_value(m.view(|t| self.unix_ms(t))).ok()),
            events: call.events.clone(),
        };
        // Legs that moved to another call (tombstones) show no counters.
        let media = call
            .legs
            .iter()
            .map(|l| {
                if self.by_leg.get(&l.media).is_some_and(|e| e.0 == call.id) {
                    l.media
                } else {
                    LegId(0)
                }
            })
            .collect();
        (summary, media)
    }

    /// Tells the runtime the call is over: off the API's view, into the store.
    pub(super) fn unpublish(&mut self, now: Instant, call: &Call, reason: &str) {
        let record = CallRecord {
            id: format!("{}-{}", self.run_id, call.name),
            started_at: self.unix_ms(call.started) as i64,
            answered_at: call.answered_at.map(|t| self.unix_ms(t) as i64),
            ended_at: Some(self.unix_ms(now) as i64),
            from_uri: call
                .first()
                .map(|f| header_text(&f.invite().headers, from_of))
                .unwrap_or_default(),
            to_uri: call
                .first()
                .map(|f| header_text(&f.invite().headers, to_of))
                .unwrap_or_default(),
            route: call.route.name(),
            end_reason: Some(reason.to_string()),
            codec: call.codec.clone(),
        };
        self.out.push_back(Output::Ended {
            call: call.id,
            record,
        });
    }

    /// A DTMF digit from a call's media (RFC 4733): logged and shown on the
    /// call (the last 64).
    pub fn on_dtmf(&mut self, now: Instant, media: LegId, digit: char, duration_ms: u32) {
        let Some(&(id, ix)) = self.by_leg.get(&media) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let side = if ix == 0 { "caller" } else { "callee" };
        tracing::info!(call = %call.name, side, %digit, ms = duration_ms, "DTMF");
        if call.dtmf.len() >= 64 {
            call.dtmf.remove(0);
        }
        call.dtmf.push(digit);
        self.publish(now, id);
    }

    /// Tells the runtime the registrar's bindings.
    pub(super) fn publish_registrations(&mut self, now: Instant) {
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
        self.out.push_back(Output::Registrations(views));
    }
}

/// A leg's name in the API: `c7-a` for the first, `c7-b` the second, …
fn leg_id(call: &str, ix: usize) -> String {
    let letter = (b'a' + (ix % 26) as u8) as char;
    format!("{call}-{letter}")
}
