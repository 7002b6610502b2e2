//! Call control's side of the call model (SPEC §1): agents' actions from the
//! HTTP API, the model's effects carried out over SIP and media.
//!
//! The model ([`crate::callmodel`]) decides; this file places and ends legs,
//! sends hold re-INVITEs, routes the room's audio by the model's topology and
//! tells the API what it refused and why.

use super::call::{Call, LegIx, Route};
use super::CallControl;
use crate::callmodel::{
    CallEvent, CallModel, Effect, FailReason, PartyId, PartyKind, Refused, Target,
};
use crate::dial::DialNumber;
use crate::media_rt::{HoldAudio, LegKey, LegOptions};
use rsip::Response;
use serde_json::{json, Value};
use sotto_sip::endpoint::{unsent_via, ClientTxId, Endpoint, Peer};
use sotto_sip::sdp::{LocalMedia, SessionDescription};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// An agent's action on a call, from the API.
#[derive(Debug, Clone)]
pub enum ControlOp {
    Hold,
    Resume,
    /// To a user's name or a dial number.
    Consult(String),
    Toggle,
    EndConsult,
    /// To the consulted party.
    Transfer,
    /// Blind, to a user's name or a dial number.
    BlindTransfer(String),
    Conference,
    LeaveConference,
    End,
    Dtmf(String),
    PauseRecording(Option<Duration>),
    ResumeRecording,
}

/// Why an API request was not carried out.
#[derive(Debug)]
pub enum ControlError {
    /// 404
    NotFound(String),
    /// 400
    BadRequest(String),
    /// 409: a rule of the call model refused it.
    Refused(Refused),
    /// 503
    Unavailable(String),
}

pub type ControlReply = oneshot::Sender<Result<Value, ControlError>>;

pub struct ControlRequest {
    /// The call's id in the API (`c7`).
    pub call: String,
    /// The agent acting; None = the call's primary agent.
    pub agent: Option<String>,
    pub op: ControlOp,
    pub reply: ControlReply,
}

pub struct OriginateRequest {
    pub agent: String,
    /// A user's name or a dial number.
    pub target: String,
    pub reply: ControlReply,
}

/// Parses an API target: a registered user's name, or a dial number.
pub fn parse_target(
    s: &str,
    users: &std::collections::HashMap<String, String>,
) -> Result<Target, String> {
    let s = s.trim();
    let user = s
        .strip_prefix("sip:")
        .map(|r| r.split('@').next().unwrap_or(r))
        .unwrap_or(s);
    if users.contains_key(user) {
        return Ok(Target::Agent(user.to_string()));
    }
    DialNumber::parse(s)
        .map(Target::DialNumber)
        .map_err(|e| format!("{s:?} is neither a user nor a dial number: {e}"))
}

impl CallControl {
    /// An API action on a live call.
    pub(super) fn on_control(&mut self, now: Instant, req: ControlRequest, ep: &mut Endpoint) {
        let result = self.control(now, &req.call, req.agent.as_deref(), req.op, ep);
        let _ = req.reply.send(result);
    }

    fn control(
        &mut self,
        now: Instant,
        name: &str,
        agent: Option<&str>,
        op: ControlOp,
        ep: &mut Endpoint,
    ) -> Result<Value, ControlError> {
        let id = self
            .calls
            .values()
            .find(|c| c.name == name)
            .map(|c| c.id)
            .ok_or_else(|| ControlError::NotFound(format!("no call with id {name:?}")))?;
        let has_trunk = !self.cfg.trunk_uri.is_empty();
        let users = &self.cfg.users;
        let call = self.calls.get_mut(&id).expect("found above");
        let model = call.model.as_mut().ok_or_else(|| {
            ControlError::BadRequest(format!(
                "call {name} ({}) has no agent controls",
                call.route.name()
            ))
        })?;
        let by = match agent {
            Some(user) => model
                .parties()
                .find(|p| p.kind.agent_user() == Some(user))
                .map(|p| p.id)
                .ok_or_else(|| {
                    ControlError::NotFound(format!("agent {user:?} is not in call {name}"))
                })?,
            None => model
                .parties()
                .find(|p| p.role == crate::callmodel::Role::Primary)
                .map(|p| p.id)
                .ok_or_else(|| {
                    ControlError::BadRequest(format!("call {name} has no primary agent"))
                })?,
        };
        // Toward the trunk, a transfer may be the trunk's own (REFER).
        let blind = match &op {
            ControlOp::BlindTransfer(t) => {
                Some(parse_target(t, users).map_err(ControlError::BadRequest)?)
            }
            _ => None,
        };
        if matches!(op, ControlOp::Transfer | ControlOp::BlindTransfer(_)) {
            if let Some(result) = self.try_refer_transfer(now, id, by, blind.as_ref(), ep) {
                return result.map(|()| self.call_json(id));
            }
        }
        let users = &self.cfg.users;
        let Some(model) = self.calls.get_mut(&id).and_then(|c| c.model.as_mut()) else {
            return Err(ControlError::NotFound(format!("no call with id {name:?}")));
        };
        let needs_trunk = |t: &Target| matches!(t, Target::DialNumber(_)) && !has_trunk;
        let no_trunk = || {
            ControlError::Unavailable(
                "no outbound trunk is configured (trunk.uri) for dial numbers".into(),
            )
        };
        let result = match op {
            ControlOp::Hold => model.hold(now, by),
            ControlOp::Resume => model.resume(now, by),
            ControlOp::Consult(t) => {
                let t = parse_target(&t, users).map_err(ControlError::BadRequest)?;
                if needs_trunk(&t) {
                    return Err(no_trunk());
                }
                model.consult(now, by, t).map(|_| ())
            }
            ControlOp::Toggle => model.toggle(now, by),
            ControlOp::EndConsult => model.end_consult(now, by),
            ControlOp::Transfer => model.transfer(now, by),
            ControlOp::BlindTransfer(t) => {
                let t = parse_target(&t, users).map_err(ControlError::BadRequest)?;
                if needs_trunk(&t) {
                    return Err(no_trunk());
                }
                model.blind_transfer(now, by, t).map(|_| ())
            }
            ControlOp::Conference => model.conference(now, by),
            ControlOp::LeaveConference => model.leave_conference(now, by),
            ControlOp::End => model.end(now, by),
            ControlOp::Dtmf(d) => model.send_dtmf(now, by, &d),
            ControlOp::PauseRecording(d) => {
                let d = d
                    .unwrap_or(self.cfg.recording_auto_resume)
                    .min(self.cfg.recording_pause_max);
                model.pause_recording(now, by, d)
            }
            ControlOp::ResumeRecording => model.resume_recording(now, by),
        };
        result.map_err(ControlError::Refused)?;
        self.drive(now, id, ep);
        Ok(self.call_json(id))
    }

    /// What the API shows of a call under control.
    fn call_json(&self, id: u64) -> Value {
        match self
            .calls
            .get(&id)
            .and_then(|c| c.model.as_ref().map(|m| (c, m)))
        {
            Some((call, model)) => {
                let view = model.view(|t| self.unix_ms(t));
                json!({"id": call.name, "control": view})
            }
            None => json!({"ended": true}),
        }
    }

    /// An agent-originated call (API): the agent's phone rings first, then
    /// the target is dialled.
    pub(super) fn on_originate(&mut self, now: Instant, req: OriginateRequest, ep: &mut Endpoint) {
        if self.draining.is_some() || self.calls.len() >= self.cfg.max_calls {
            let _ = req
                .reply
                .send(Err(ControlError::Unavailable("at the call limit".into())));
            return;
        }
        let target = match parse_target(&req.target, &self.cfg.users) {
            Ok(t) => t,
            Err(e) => {
                let _ = req.reply.send(Err(ControlError::BadRequest(e)));
                return;
            }
        };
        if !self.cfg.users.contains_key(&req.agent) {
            let _ = req.reply.send(Err(ControlError::NotFound(format!(
                "no user {:?}",
                req.agent
            ))));
            return;
        }
        if self.registrar.lookup(&req.agent, now).is_empty() {
            let _ = req.reply.send(Err(ControlError::Unavailable(format!(
                "agent {:?} is not registered",
                req.agent
            ))));
            return;
        }
        if matches!(target, Target::DialNumber(_)) && self.cfg.trunk_uri.is_empty() {
            let _ = req.reply.send(Err(ControlError::Unavailable(
                "no outbound trunk is configured (trunk.uri) for dial numbers".into(),
            )));
            return;
        }
        let id = self.next_call;
        self.next_call += 1;
        let model =
            CallModel::originate(now, req.agent.clone(), target).with_recording(self.cfg.record);
        let room = self.media.room();
        let call = Call::controlled(id, Route::Agent(req.agent), now, Vec::new(), room, model);
        self.insert_call(now, call);
        self.drive(now, id, ep);
        let _ = req.reply.send(Ok(self.call_json(id)));
    }

    /// Carries out everything the call's model asks, until it asks nothing.
    pub(super) fn drive(&mut self, now: Instant, id: u64, ep: &mut Endpoint) {
        let mut topology_changed = false;
        while let Some(effect) = self
            .calls
            .get_mut(&id)
            .and_then(|c| c.model.as_mut())
            .and_then(|m| m.poll_effect())
        {
            tracing::debug!(call = id, ?effect, "call model");
            match effect {
                Effect::Dial { party, target } => self.dial(now, id, party, target, ep),
                Effect::Hangup { party } => {
                    if let Some(ix) = self.leg_of(id, party) {
                        if !self.defer_bye_for_refer(id, ix) {
                            self.bye_leg(now, id, ix, ep);
                            self.leave_room(id, ix);
                        }
                    }
                }
                Effect::Hold { party } => self.reinvite(now, id, party, true, ep),
                Effect::Unhold { party } => self.reinvite(now, id, party, false, ep),
                Effect::Media => topology_changed = true,
                Effect::SendDtmf { to, digits, .. } => self.send_dtmf(id, &to, &digits),
                Effect::Event(event) => {
                    if self.on_call_event(now, id, event, ep) {
                        return;
                    }
                }
            }
        }
        if topology_changed {
            self.apply_topology(id);
        }
        if let Some(at) = self
            .calls
            .get(&id)
            .and_then(|c| c.model.as_ref())
            .and_then(|m| m.poll_timeout())
        {
            self.model_deadlines.push(std::cmp::Reverse((at, id)));
        }
        if let Some(call) = self.calls.get(&id) {
            self.publish(now, call);
        }
    }

    /// True when the call is over (and forgotten).
    fn on_call_event(
        &mut self,
        now: Instant,
        id: u64,
        event: CallEvent,
        ep: &mut Endpoint,
    ) -> bool {
        if !self.calls.contains_key(&id) {
            return true;
        }
        self.note(id, format!("{event:?}"));
        let Some(call) = self.calls.get(&id) else {
            return true;
        };
        match event {
            CallEvent::Ended { .. } => {
                self.hang_up(now, id, "ended by call control", ep);
                return true;
            }
            CallEvent::Connected => self.start_recording(id),
            CallEvent::RecordingPaused { auto_resume_at } => {
                if let Some(r) = &call.recording {
                    r.pause(auto_resume_at.saturating_duration_since(now));
                }
            }
            CallEvent::RecordingResumed { .. } => {
                if let Some(r) = &call.recording {
                    r.resume();
                }
            }
            _ => {}
        }
        false
    }

    /// The model's timers (recording auto-resume).
    pub(super) fn model_timeouts(&mut self, now: Instant, ep: &mut Endpoint) {
        while let Some(std::cmp::Reverse((at, id))) = self.model_deadlines.peek().copied() {
            if at > now {
                break;
            }
            self.model_deadlines.pop();
            let Some(model) = self.calls.get_mut(&id).and_then(|c| c.model.as_mut()) else {
                continue;
            };
            if model.poll_timeout().is_some_and(|t| t <= now) {
                model.handle_timeout(now);
                self.drive(now, id, ep);
            }
        }
    }

    pub(super) fn leg_of(&self, id: u64, party: PartyId) -> Option<LegIx> {
        self.calls
            .get(&id)?
            .legs
            .iter()
            .position(|l| l.party == Some(party))
    }

    /// Places the leg for a party the model added.
    fn dial(&mut self, now: Instant, id: u64, party: PartyId, target: Target, ep: &mut Endpoint) {
        if let Some(adopt) = self.adopting.take() {
            if self.adopt_leg(now, id, party, adopt, ep) {
                return;
            }
        }
        let caller = self.caller_for(id);
        let placed = match &target {
            Target::Agent(user) => {
                let binding = self
                    .registrar
                    .lookup(user, now)
                    .first()
                    .map(|b| (*b).clone());
                binding.and_then(|b| self.place_leg(now, id, &b.contact, b.peer, user, &caller, ep))
            }
            Target::DialNumber(n) => {
                let uri = self.cfg.trunk_uri.replace("{number}", n.as_str());
                let target = sotto_sip::message::parse_uri(&uri);
                let peer = target.as_ref().and_then(uri_peer);
                match (target, peer) {
                    (Some(t), Some(p)) => self.place_leg(now, id, &t, p, n.as_str(), &caller, ep),
                    _ => None,
                }
            }
        };
        match placed {
            Some(ix) => {
                if let Some(leg) = self.calls.get_mut(&id).and_then(|c| c.legs.get_mut(ix)) {
                    leg.party = Some(party);
                }
            }
            None => {
                tracing::info!(
                    call = id,
                    ?target,
                    "cannot place a leg (not registered, no trunk or no port)"
                );
                if let Some(m) = self.calls.get_mut(&id).and_then(|c| c.model.as_mut()) {
                    m.on_failed(now, party, FailReason::Rejected);
                }
            }
        }
    }

    /// Who the legs we place show in From: the customer, else sotto.
    fn caller_for(&self, id: u64) -> (Option<String>, String) {
        self.calls
            .get(&id)
            .and_then(|c| c.legs.iter().find_map(|l| l.uas()))
            .map(|u| super::b2bua::caller_of(&u.invite))
            .unwrap_or((None, "sotto".into()))
    }

    /// Hold (`sendonly`, or `inactive` when the peer holds us) or resume
    /// (`sendrecv`) toward a leg's peer by re-INVITE (RFC 3264 §8.4, RFC 6337).
    fn reinvite(&mut self, now: Instant, id: u64, party: PartyId, hold: bool, ep: &mut Endpoint) {
        let Some(ix) = self.leg_of(id, party) else {
            return;
        };
        let ip = self.ports.ip();
        let Some(leg) = self.calls.get_mut(&id).and_then(|c| c.legs.get_mut(ix)) else {
            return;
        };
        if !leg.confirmed || leg.gone || leg.reinvite.is_some() {
            // Not yet up, or a re-INVITE in flight: the media already follows
            // the model; the signalling catches up on the next change.
            leg.sdp.set_holding(hold);
            return;
        }
        let local = LocalMedia::new(ip, leg.rtp_port);
        let offer = if hold {
            leg.sdp.hold_offer(&local)
        } else {
            leg.sdp.resume_offer(&local)
        };
        match leg.send_reinvite(now, offer, ep) {
            Ok(tx) => {
                self.reinvites.insert(tx, (id, ix));
            }
            Err(e) => tracing::warn!(call = id, leg = ix, hold, "cannot send a re-INVITE: {e}"),
        }
    }

    /// The answer to one of our hold/resume re-INVITEs.
    pub(super) fn on_reinvite_response(
        &mut self,
        now: Instant,
        tx: ClientTxId,
        response: Response,
        ep: &mut Endpoint,
    ) {
        let code = response.status_code.code();
        if code < 200 {
            return;
        }
        let Some((id, ix)) = self.reinvites.remove(&tx) else {
            return;
        };
        let Some(leg) = self.calls.get_mut(&id).and_then(|c| c.legs.get_mut(ix)) else {
            return;
        };
        let Some((_, cseq, offer)) = leg.reinvite.take() else {
            return;
        };
        let adopted = leg.adopted_for.is_some();
        // The dialog must see the final response too: until it does, its
        // INVITE transaction is "in progress" (§14.1) and every later
        // re-INVITE on this leg (the resume after a hold) is refused.
        if let Some(d) = leg.dialog.as_mut() {
            let mut rnd = || 0u32;
            if let Err(e) = d.on_response(now, &response, &mut rnd) {
                tracing::warn!(call = id, leg = ix, "re-INVITE response: {e}");
            }
        }
        if (200..300).contains(&code) {
            if let Some(d) = leg.dialog.as_ref() {
                ep.ack_2xx(tx, d.create_ack(cseq, unsent_via()), leg.peer);
            }
            if let Ok(answer) = SessionDescription::parse(&response.body) {
                if let Ok(neg) = leg.sdp.process_answer(&offer, &answer) {
                    // We keep sending (music on hold) whatever the peer says.
                    let mut neg = neg;
                    neg.direction = sotto_sip::sdp::Direction::SendRecv;
                    super::b2bua::apply_negotiated(&leg.remote, &neg);
                }
            }
        } else {
            tracing::info!(call = id, leg = ix, code, "hold/resume re-INVITE refused");
        }
        if adopted {
            return self.adopted_leg_answered(now, id, ix, (200..300).contains(&code), ep);
        }
        // The model may have moved on while this one was in flight.
        let want_hold = leg.sdp.holding();
        let party = leg.party;
        let offered_hold = !offer.direction_for(0).receives();
        if want_hold != offered_hold {
            if let Some(p) = party {
                self.reinvite(now, id, p, want_hold, ep);
            }
        }
    }

    /// Starts a leg's media in the call's room once it answered.
    pub(super) fn join_room(&mut self, id: u64, ix: LegIx) {
        let denoise = self.cfg.denoise;
        let seed = self.random() as u32;
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let (Some(room), Some(leg)) = (call.room.as_ref(), call.legs.get_mut(ix)) else {
            return;
        };
        let Some(bound) = leg.pending_media.take() else {
            return;
        };
        let is_agent = leg.party.is_some_and(|p| {
            call.model
                .as_ref()
                .and_then(|m| m.party(p))
                .is_some_and(|p| matches!(p.kind, PartyKind::Agent { .. }))
        });
        // Noise is removed from the customer's side toward agents (inbound)
        // and from agents toward the customer (outbound).
        let opts = LegOptions {
            denoise: if is_agent {
                denoise.outbound()
            } else {
                denoise.inbound()
            },
            seed,
            hold_audio: HoldAudio::Music,
        };
        match room.add_leg(bound, opts) {
            Ok(key) => leg.media_key = Some(key),
            Err(e) => tracing::warn!(call = id, leg = ix, "media: {e}"),
        }
        if call.codec.is_none() {
            call.codec = Some(leg.remote.borrow().codec.encoding_name().to_string());
        }
        self.apply_topology(id);
    }

    pub(super) fn leave_room(&mut self, id: u64, ix: LegIx) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if let (Some(room), Some(key)) = (
            call.room.as_ref(),
            call.legs.get_mut(ix).and_then(|l| l.media_key.take()),
        ) {
            let _ = room.remove_leg(key);
        }
    }

    /// Routes the room's audio as the model says who hears whom.
    fn apply_topology(&mut self, id: u64) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let (Some(room), Some(model)) = (call.room.as_ref(), call.model.as_ref()) else {
            return;
        };
        let key_of = |p: PartyId| -> Option<LegKey> {
            call.legs
                .iter()
                .find(|l| l.party == Some(p))
                .and_then(|l| l.media_key)
        };
        for (party, hears) in model.topology() {
            let Some(key) = key_of(party) else { continue };
            let hears: Vec<LegKey> = hears.into_iter().filter_map(key_of).collect();
            let _ = room.set_hears(key, &hears);
        }
        if call.recording.is_some() {
            if let Some((left, right)) = self.record_sides(id) {
                if let Some(room) = self.calls.get(&id).and_then(|c| c.room.as_ref()) {
                    let _ = room.set_record_sides(&left, &right);
                }
            }
        }
    }

    fn send_dtmf(&mut self, id: u64, to: &[PartyId], digits: &str) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let Some(room) = call.room.as_ref() else {
            return;
        };
        for party in to {
            let Some(key) = call
                .legs
                .iter()
                .find(|l| l.party == Some(*party))
                .and_then(|l| l.media_key)
            else {
                continue;
            };
            for d in digits.chars() {
                if let Some(digit) = sotto_media::dtmf::Dtmf::from_char(d) {
                    let _ = room.send_dtmf(key, digit, Duration::from_millis(100));
                }
            }
        }
    }

    /// The record tap's sides: the customer (and dial numbers) left, agents right.
    fn record_sides(&self, id: u64) -> Option<(Vec<LegKey>, Vec<LegKey>)> {
        let call = self.calls.get(&id)?;
        let model = call.model.as_ref()?;
        let mut left = Vec::new();
        let mut right = Vec::new();
        for leg in &call.legs {
            let (Some(p), Some(key)) = (leg.party, leg.media_key) else {
                continue;
            };
            match model.party(p).map(|p| &p.kind) {
                Some(PartyKind::Agent { .. }) => right.push(key),
                Some(_) => left.push(key),
                None => {}
            }
        }
        Some((left, right))
    }

    /// Recording (when the route records): the customer left, agents right.
    fn start_recording(&mut self, id: u64) {
        let Some(recorder) = self.recorder.clone() else {
            return;
        };
        if self.calls.get(&id).is_none_or(|c| c.recording.is_some()) {
            return; // one file per call
        }
        if !self.cfg.record {
            return;
        }
        let Some((left, right)) = self.record_sides(id) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(room) = call.room.as_ref() else {
            return;
        };
        let (prod, cons) = crate::recording::ring();
        if room.set_record_tap(Some(prod), &left, &right).is_ok() {
            call.recording = Some(recorder.start(&format!("{}-{}", self.run_id, call.name), cons));
        }
    }
}

/// The UDP peer a trunk URI names (host must be an IP address).
fn uri_peer(uri: &rsip::Uri) -> Option<Peer> {
    let ip: std::net::IpAddr = uri.host_with_port.host.to_string().parse().ok()?;
    let port = uri.host_with_port.port.map(|p| *p.value()).unwrap_or(5060);
    Some(Peer {
        addr: std::net::SocketAddr::new(ip, port),
        transport: sotto_sip::transaction::Transport::Udp,
    })
}
