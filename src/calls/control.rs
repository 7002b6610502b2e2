//! Call control's side of the call model (`docs/call-control.md`): agents'
//! actions from the API, the model's effects carried out over SIP and media.
//!
//! The model ([`crate::callmodel`]) decides; this file places and ends legs,
//! sends hold re-INVITEs, routes the room's audio by the model's topology and
//! tells the API what it refused and why.

use super::call::{Call, LegIx, Route};
use super::output::{CallId, LegId, MediaOp, Output};
use super::CallCore;
use crate::callmodel::{
    Action, CallEvent, CallEventView, CallModel, CallView, Effect, FailReason, PartyId, PartyKind,
    Refused, Target,
};
use crate::dial::DialNumber;
use crate::media_rt::{HoldAudio, LegOptions};
use rsip::Response;
use serde::{Deserialize, Serialize};
use sotto_sip::endpoint::{unsent_via, ClientTxId, Endpoint, Peer};
use sotto_sip::sdp::{LocalMedia, SessionDescription};
use std::time::{Duration, Instant};

/// The arguments an action may take (`POST /v1/calls/{id}/{action}`'s body).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionArgs {
    /// The agent acting (a user name); default: the call's primary agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// `consult`, `blind-transfer` (and `transfer`, which it makes blind):
    /// a user's name or a dial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// `send-dtmf`: digits 0-9, *, #, A-D.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digits: Option<String>,
    /// `pause-recording`: seconds until recording resumes by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u64>,
}

/// Why an agent's request was not carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlError {
    /// No such call, agent or user (404).
    NotFound(String),
    /// The request itself is wrong (400).
    BadRequest(String),
    /// A rule of the call model refused it; nothing changed (409).
    Refused(Refused),
    /// Not now: not registered, no trunk, at the call limit (503).
    Unavailable(String),
}

/// A call under control as the API shows it after an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ControlView {
    /// The call goes on.
    Live {
        /// The call's id.
        id: CallId,
        /// Its state, parties and what each may do now.
        control: CallView,
    },
    /// The action ended the call.
    Ended {
        /// Always true.
        ended: bool,
    },
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

impl CallCore {
    /// An agent's action on a live call (the API). `call` is the API's id.
    pub fn control(
        &mut self,
        now: Instant,
        call: CallId,
        action: Action,
        args: ActionArgs,
        ep: &mut Endpoint,
    ) -> Result<ControlView, ControlError> {
        let id = call;
        let name = call.to_string();
        // A transfer with a target is blind: the same as blind-transfer.
        let action = match (action, &args.target) {
            (Action::Transfer, Some(_)) => Action::BlindTransfer,
            (a, _) => a,
        };
        let need = |what: &Option<String>, field: &str| {
            what.clone().ok_or_else(|| {
                ControlError::BadRequest(format!("{action} needs \"{field}\" in the body"))
            })
        };
        let target = match action {
            Action::Consult | Action::BlindTransfer => {
                let t = need(&args.target, "target")?;
                Some(parse_target(&t, &self.cfg.users).map_err(ControlError::BadRequest)?)
            }
            _ => None,
        };
        let digits = match action {
            Action::SendDtmf => Some(need(&args.digits, "digits")?),
            _ => None,
        };
        let has_trunk = !self.cfg.trunk_uri.is_empty();
        let call = self
            .calls
            .get_mut(&id)
            .ok_or_else(|| ControlError::NotFound(format!("no call with id {name:?}")))?;
        let model = call.model.as_mut().ok_or_else(|| {
            ControlError::BadRequest(format!(
                "call {name} ({}) has no agent controls",
                call.route.name()
            ))
        })?;
        let by = match args.agent.as_deref() {
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
        if target
            .as_ref()
            .is_some_and(|t| matches!(t, Target::DialNumber(_)))
            && !has_trunk
        {
            return Err(ControlError::Unavailable(
                "no outbound trunk is configured (trunk.uri) for dial numbers".into(),
            ));
        }
        // Toward the trunk, a transfer may be the trunk's own (REFER).
        if matches!(action, Action::Transfer | Action::BlindTransfer) {
            let blind = target.as_ref().filter(|_| action == Action::BlindTransfer);
            if let Some(result) = self.try_refer_transfer(now, id, by, blind, ep) {
                return result.map(|()| self.control_view(id));
            }
        }
        let (auto_resume, pause_max) =
            (self.cfg.recording_auto_resume, self.cfg.recording_pause_max);
        let Some(model) = self.calls.get_mut(&id).and_then(|c| c.model.as_mut()) else {
            return Err(ControlError::NotFound(format!("no call with id {name:?}")));
        };
        let result = match (action, target) {
            (Action::Hold, _) => model.hold(now, by),
            (Action::Resume, _) => model.resume(now, by),
            (Action::Consult, Some(t)) => model.consult(now, by, t).map(|_| ()),
            (Action::Toggle, _) => model.toggle(now, by),
            (Action::EndConsult, _) => model.end_consult(now, by),
            (Action::Transfer, _) => model.transfer(now, by),
            (Action::BlindTransfer, Some(t)) => model.blind_transfer(now, by, t).map(|_| ()),
            (Action::Conference, _) => model.conference(now, by),
            (Action::LeaveConference, _) => model.leave_conference(now, by),
            (Action::End, _) => model.end(now, by),
            (Action::SendDtmf, _) => model.send_dtmf(now, by, digits.as_deref().unwrap_or("")),
            (Action::PauseRecording, _) => {
                let d = args
                    .seconds
                    .map(Duration::from_secs)
                    .unwrap_or(auto_resume)
                    .min(pause_max);
                model.pause_recording(now, by, d)
            }
            (Action::ResumeRecording, _) => model.resume_recording(now, by),
            (Action::Consult | Action::BlindTransfer, None) => {
                unreachable!("a target was required above")
            }
        };
        result.map_err(ControlError::Refused)?;
        self.drive(now, id, ep);
        Ok(self.control_view(id))
    }

    /// What the API shows of a call under control.
    fn control_view(&self, id: CallId) -> ControlView {
        match self
            .calls
            .get(&id)
            .and_then(|c| c.model.as_ref().map(|m| (c, m)))
        {
            Some((call, model)) => ControlView::Live {
                id: call.id,
                control: model.view(|t| self.unix_ms(t)),
            },
            None => ControlView::Ended { ended: true },
        }
    }

    /// An agent-originated call (the API): the agent's phone rings first,
    /// then the target is dialled.
    pub fn originate(
        &mut self,
        now: Instant,
        agent: &str,
        target: &str,
        ep: &mut Endpoint,
    ) -> Result<ControlView, ControlError> {
        if self.draining.is_some() || self.calls.len() >= self.cfg.max_calls {
            return Err(ControlError::Unavailable("at the call limit".into()));
        }
        let target = parse_target(target, &self.cfg.users).map_err(ControlError::BadRequest)?;
        if !self.cfg.users.contains_key(agent) {
            return Err(ControlError::NotFound(format!("no user {agent:?}")));
        }
        if self.registrar.lookup(agent, now).is_empty() {
            return Err(ControlError::Unavailable(format!(
                "agent {agent:?} is not registered"
            )));
        }
        if matches!(target, Target::DialNumber(_)) && self.cfg.trunk_uri.is_empty() {
            return Err(ControlError::Unavailable(
                "no outbound trunk is configured (trunk.uri) for dial numbers".into(),
            ));
        }
        let id = self.new_call_id();
        let model =
            CallModel::originate(now, agent.to_string(), target).with_recording(self.cfg.record);
        let call = Call::new(
            id,
            Route::Agent(agent.to_string()),
            now,
            Vec::new(),
            Some(model),
        );
        self.insert_call(now, call);
        self.drive(now, id, ep);
        Ok(self.control_view(id))
    }

    /// Carries out everything the call's model asks, until it asks nothing.
    pub(super) fn drive(&mut self, now: Instant, id: CallId, ep: &mut Endpoint) {
        let mut topology_changed = false;
        while let Some(effect) = self
            .calls
            .get_mut(&id)
            .and_then(|c| c.model.as_mut())
            .and_then(|m| m.poll_effect())
        {
            tracing::debug!(call = %id, ?effect, "call model");
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
        self.publish(now, id);
    }

    /// True when the call is over (and forgotten).
    fn on_call_event(
        &mut self,
        now: Instant,
        id: CallId,
        event: CallEvent,
        ep: &mut Endpoint,
    ) -> bool {
        if !self.calls.contains_key(&id) {
            return true;
        }
        let view = CallEventView::of(&event, |t| self.unix_ms(t));
        self.note(id, view);
        let recording = self.calls.get(&id).is_some_and(|c| c.recording);
        match event {
            CallEvent::Ended { .. } => {
                self.hang_up(now, id, "ended by call control", ep);
                return true;
            }
            CallEvent::Connected => self.start_recording(id),
            CallEvent::RecordingPaused { auto_resume_at } if recording => {
                self.out.push_back(Output::Media(MediaOp::PauseRecording {
                    call: id,
                    for_at_most: auto_resume_at.saturating_duration_since(now),
                }));
            }
            CallEvent::RecordingResumed { .. } if recording => {
                self.out
                    .push_back(Output::Media(MediaOp::ResumeRecording { call: id }));
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

    pub(super) fn leg_of(&self, id: CallId, party: PartyId) -> Option<LegIx> {
        self.calls
            .get(&id)?
            .legs
            .iter()
            .position(|l| l.party == Some(party))
    }

    /// Places the leg for a party the model added.
    fn dial(
        &mut self,
        now: Instant,
        id: CallId,
        party: PartyId,
        target: Target,
        ep: &mut Endpoint,
    ) {
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
                    call = %id,
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
    fn caller_for(&self, id: CallId) -> (Option<String>, String) {
        self.calls
            .get(&id)
            .and_then(|c| c.legs.iter().find_map(|l| l.uas()))
            .map(|u| super::b2bua::caller_of(&u.invite))
            .unwrap_or((None, "sotto".into()))
    }

    /// Hold (`sendonly`, or `inactive` when the peer holds us) or resume
    /// (`sendrecv`) toward a leg's peer by re-INVITE (RFC 3264 §8.4, RFC 6337).
    fn reinvite(
        &mut self,
        now: Instant,
        id: CallId,
        party: PartyId,
        hold: bool,
        ep: &mut Endpoint,
    ) {
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
            Err(e) => tracing::warn!(call = %id, leg = ix, hold, "cannot send a re-INVITE: {e}"),
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
                tracing::warn!(call = %id, leg = ix, "re-INVITE response: {e}");
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
                    super::b2bua::apply_negotiated(leg, &neg, &mut self.out);
                }
            }
        } else {
            tracing::info!(call = %id, leg = ix, code, "hold/resume re-INVITE refused");
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

    /// Starts a leg's media in the call's room once it answered. Noise is
    /// removed from the customer's side toward agents (inbound) and from
    /// agents toward the customer (outbound).
    pub(super) fn join_room(&mut self, id: CallId, ix: LegIx) {
        let denoise = self.cfg.denoise;
        let seed = self.random() as u32;
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let Some(leg) = call.legs.get(ix) else {
            return;
        };
        let is_agent = leg.party.is_some_and(|p| {
            call.model
                .as_ref()
                .and_then(|m| m.party(p))
                .is_some_and(|p| matches!(p.kind, PartyKind::Agent { .. }))
        });
        let opts = LegOptions {
            denoise: if is_agent {
                denoise.outbound()
            } else {
                denoise.inbound()
            },
            seed,
            hold_audio: HoldAudio::Music,
        };
        if self.join_room_with(id, ix, opts) {
            self.apply_topology(id);
        }
    }

    /// Adds a leg's media to the call's room with `opts`; false when it was
    /// in already (or is gone).
    pub(super) fn join_room_with(&mut self, id: CallId, ix: LegIx, opts: LegOptions) -> bool {
        let Some(call) = self.calls.get_mut(&id) else {
            return false;
        };
        let Some(leg) = call.legs.get_mut(ix) else {
            return false;
        };
        if leg.in_room || leg.gone {
            return false;
        }
        leg.in_room = true;
        let media = leg.media;
        if call.codec.is_none() {
            call.codec = Some(leg.remote.codec.encoding_name().to_string());
        }
        self.out.push_back(Output::Media(MediaOp::AddLeg {
            call: id,
            leg: media,
            opts,
        }));
        true
    }

    /// Takes a leg's media out of the room (its sockets close, its port is
    /// free again).
    pub(super) fn leave_room(&mut self, id: CallId, ix: LegIx) {
        let Some(leg) = self.calls.get_mut(&id).and_then(|c| c.legs.get_mut(ix)) else {
            return;
        };
        let (media, port, gone) = (leg.media, leg.rtp_port, leg.gone);
        if std::mem::replace(&mut leg.in_room, false) {
            self.out.push_back(Output::Media(MediaOp::RemoveLeg {
                call: id,
                leg: media,
            }));
        }
        if gone && self.by_leg.get(&media) == Some(&(id, ix)) {
            self.by_leg.remove(&media);
            self.release_media(media, port);
        }
    }

    /// Routes the room's audio as the model says who hears whom.
    fn apply_topology(&mut self, id: CallId) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let Some(model) = call.model.as_ref() else {
            return;
        };
        let media_of = |p: PartyId| -> Option<LegId> {
            call.legs
                .iter()
                .find(|l| l.party == Some(p) && l.in_room)
                .map(|l| l.media)
        };
        let hears = model
            .topology()
            .into_iter()
            .filter_map(|(party, hears)| {
                let leg = media_of(party)?;
                Some((leg, hears.into_iter().filter_map(media_of).collect()))
            })
            .collect();
        self.out
            .push_back(Output::Media(MediaOp::Topology { call: id, hears }));
        if call.recording {
            if let Some((left, right)) = self.record_sides(id) {
                self.out.push_back(Output::Media(MediaOp::RecordSides {
                    call: id,
                    left,
                    right,
                }));
            }
        }
    }

    fn send_dtmf(&mut self, id: CallId, to: &[PartyId], digits: &str) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        for party in to {
            if let Some(leg) = call
                .legs
                .iter()
                .find(|l| l.party == Some(*party) && l.in_room)
            {
                self.out.push_back(Output::Media(MediaOp::SendDtmf {
                    call: id,
                    leg: leg.media,
                    digits: digits.to_string(),
                }));
            }
        }
    }

    /// The record tap's sides: the customer (and dial numbers) left, agents right.
    fn record_sides(&self, id: CallId) -> Option<(Vec<LegId>, Vec<LegId>)> {
        let call = self.calls.get(&id)?;
        let model = call.model.as_ref()?;
        let mut left = Vec::new();
        let mut right = Vec::new();
        for leg in call.legs.iter().filter(|l| l.in_room) {
            let Some(p) = leg.party else { continue };
            match model.party(p).map(|p| &p.kind) {
                Some(PartyKind::Agent { .. }) => right.push(leg.media),
                Some(_) => left.push(leg.media),
                None => {}
            }
        }
        Some((left, right))
    }

    /// Recording (when the route records): one file per call, the customer
    /// left, agents right.
    fn start_recording(&mut self, id: CallId) {
        if !self.cfg.record || self.calls.get(&id).is_none_or(|c| c.recording) {
            return;
        }
        let Some((left, right)) = self.record_sides(id) else {
            return;
        };
        let name = format!("{}-{}", self.run_id, id);
        if let Some(call) = self.calls.get_mut(&id) {
            call.recording = true;
        }
        self.out.push_back(Output::Media(MediaOp::StartRecording {
            call: id,
            name,
            left,
            right,
        }));
    }

    /// Allocates a media id for a port taken from the pool and asks the
    /// runtime to bind it.
    pub(super) fn bind_port(&mut self, port: u16) -> LegId {
        let media = LegId(self.next_leg);
        self.next_leg += 1;
        self.out
            .push_back(Output::Media(MediaOp::Bind { leg: media, port }));
        media
    }

    /// A port from the pool, bound for a new leg's media; None when the
    /// range is exhausted.
    pub(super) fn bind_media(&mut self, now: Instant) -> Option<(LegId, u16)> {
        let port = self.ports.take(now)?;
        Some((self.bind_port(port), port))
    }

    /// A leg's media is finished: its sockets go, its port is free.
    pub(super) fn release_media(&mut self, media: LegId, port: u16) {
        self.out
            .push_back(Output::Media(MediaOp::Release { leg: media }));
        self.ports.give_back(port);
    }

    /// The runtime could not bind a leg's port (another process holds it):
    /// the port is left alone for a while and the leg ends as if its peer
    /// had refused.
    pub fn on_bind_failed(&mut self, now: Instant, media: LegId, ep: &mut Endpoint) {
        let Some(&(id, ix)) = self.by_leg.get(&media) else {
            return;
        };
        let Some(leg) = self.calls.get(&id).and_then(|c| c.legs.get(ix)) else {
            return;
        };
        tracing::warn!(
            call = %id,
            port = leg.rtp_port,
            "RTP port held by another process"
        );
        let (port, party, answered) = (leg.rtp_port, leg.party, leg.answered);
        self.ports.busy_elsewhere(now, port);
        let in_model = party.is_some()
            && self
                .calls
                .get(&id)
                .is_some_and(|c| c.model.is_some() && ix > 0);
        if !in_model {
            return self.hang_up(now, id, "no RTP port", ep);
        }
        self.bye_leg(now, id, ix, ep);
        self.leave_room(id, ix);
        if let (Some(model), Some(p)) = (
            self.calls.get_mut(&id).and_then(|c| c.model.as_mut()),
            party,
        ) {
            if answered {
                model.on_hung_up(now, p);
            } else {
                model.on_failed(now, p, FailReason::Rejected);
            }
        }
        self.drive(now, id, ep);
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
