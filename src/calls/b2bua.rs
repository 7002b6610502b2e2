//! The B2BUA route: ring a registered user on a second dialog, relay
//! provisional and final responses back, and bridge the media through sotto.

use super::call::{Call, Leg, LegIx, Origin, Route, Uac};
use super::output::CallId;
use super::output::{MediaOp, Output};
use super::{CallCore, ControlError};

use crate::callmodel::{CallModel, FailReason, PartyKind};
use crate::media_rt::LegRemote;
use rsip::{Header, Method, Request, Response};
use sotto_sip::dialog::Dialog;
use sotto_sip::endpoint::{unsent_via, ClientTxId, Endpoint, Peer, ServerTxId};
use sotto_sip::sdp::{self, LocalMedia, LocalSession, Negotiated, SessionDescription};
use std::collections::VecDeque;
use std::time::Instant;

/// Where and how a leg sends, as offer/answer settled it.
pub fn negotiated_remote(neg: &Negotiated) -> LegRemote {
    let codec = match neg.codec {
        sdp::Codec::Pcma => sotto_media::codec::Codec::Pcma,
        _ => sotto_media::codec::Codec::Pcmu,
    };
    let addr = (!neg.remote_rtp.ip().is_unspecified() && neg.remote_rtp.port() != 0)
        .then_some(neg.remote_rtp);
    LegRemote {
        addr,
        codec,
        payload_type: neg.payload_type.0,
        telephone_event: neg.telephone_event.map(|p| p.0),
        send: neg.direction.sends(),
    }
}

/// Points a leg's sender at what offer/answer settled (told to the runtime).
pub fn apply_negotiated(leg: &mut Leg, neg: &Negotiated, out: &mut VecDeque<Output>) {
    leg.set_remote(negotiated_remote(neg), out);
}

impl CallCore {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn start_b2bua(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        request: Request,
        peer: Peer,
        offer: Option<SessionDescription>,
        user: String,
        ep: &mut Endpoint,
    ) {
        if self.registrar.lookup(&user, now).is_empty() {
            // Known user, not registered: 480 Temporarily Unavailable.
            return self.reply(now, ep, tx, &request, 480, vec![]);
        }
        let Some(a) = self.prepare_a_leg(now, tx, &request, peer, offer, ep) else {
            return;
        };
        let id = self.new_call_id();
        let mut a = a;
        let model = CallModel::inbound(now, PartyKind::Customer, user.clone())
            .with_recording(self.cfg.record);
        a.party = model.parties().next().map(|p| p.id);
        let call = Call::new(id, Route::Agent(user), now, vec![a], Some(model));
        self.insert_call(now, call);
        // The model dials the agent.
        self.drive(now, id, ep);
        let placed = self.calls.get(&id).is_some_and(|c| c.legs.len() > 1);
        if !placed && self.calls.contains_key(&id) {
            let extra = vec![Header::RetryAfter("5".into())];
            self.reply(now, ep, tx, &request, 503, extra);
            self.end_call(now, id, "no RTP port");
        }
    }

    /// Places a new leg of call `id`: binds its RTP sockets, sends our
    /// INVITE with an offer to `target` at `peer`, `caller` shown in From.
    /// None when no RTP port is free.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn place_leg(
        &mut self,
        now: Instant,
        id: CallId,
        target: &rsip::Uri,
        peer: Peer,
        user: &str,
        caller: &(Option<String>, String),
        ep: &mut Endpoint,
    ) -> Option<LegIx> {
        if !self.calls.contains_key(&id) {
            return None;
        }
        let (media, port) = self.bind_media(now)?;
        let local = LocalMedia::new(self.ports.ip(), port);
        let mut session = LocalSession::new(self.random() >> 12, self.random() >> 12);
        let offer = session.offer(&local);
        let invite = self.build_b_invite(caller, target, user, &offer.to_string());
        let tx = ep.send_request(now, invite.clone(), peer);
        let call = self.calls.get_mut(&id)?;
        let ix = call.legs.len();
        call.legs.push(Leg::new(
            Origin::Uac(Uac { tx, invite, offer }),
            peer,
            session,
            media,
            port,
        ));
        self.by_client_tx.insert(tx, (id, ix));
        self.by_leg.insert(media, (id, ix));
        self.ring_deadlines
            .push(std::cmp::Reverse((now + super::RING_TIMEOUT, id, ix)));
        Some(ix)
    }

    /// The INVITE toward a callee: a new dialog of ours, the caller shown
    /// in From (display name and user kept), our offer.
    fn build_b_invite(
        &mut self,
        caller: &(Option<String>, String),
        target: &rsip::Uri,
        user: &str,
        sdp: &str,
    ) -> Request {
        let (display, caller_user) = caller;
        let display = display
            .as_ref()
            .map(|d| format!("\"{}\" ", d.trim_matches('"')))
            .unwrap_or_default();
        let local = self.cfg.local;
        let from = format!("{display}<sip:{caller_user}@{local}>;tag={}", self.token());
        let to = format!("<sip:{user}@{}>", self.cfg.realm);
        let call_id = format!("{}@sotto", self.token());
        let mut headers = rsip::Headers::default();
        headers.push(Header::MaxForwards(70.into()));
        headers.push(Header::From(from.into()));
        headers.push(Header::To(to.into()));
        headers.push(Header::CallId(call_id.into()));
        headers.push(Header::CSeq("1 INVITE".into()));
        headers.push(Header::Contact(format!("<{}>", self.contact_uri()).into()));
        headers.push(Header::Allow(super::ALLOW.into()));
        headers.push(Header::UserAgent(self.cfg.user_agent.clone().into()));
        headers.push(Header::ContentType("application/sdp".into()));
        headers.push(Header::ContentLength((sdp.len() as u32).into()));
        Request {
            method: Method::Invite,
            uri: target.clone(),
            version: rsip::Version::V2,
            headers,
            body: sdp.as_bytes().to_vec(),
        }
    }

    /// A response on one of our client transactions (a placed leg's INVITE).
    pub(super) fn on_response(
        &mut self,
        now: Instant,
        tx: ClientTxId,
        response: Response,
        ep: &mut Endpoint,
    ) {
        if self.reinvites.contains_key(&tx) {
            return self.on_reinvite_response(now, tx, response, ep);
        }
        if self.refers_out.contains_key(&tx) {
            let code = response.status_code.code();
            return self.on_refer_response(now, tx, code, ep);
        }
        let Some(&(id, ix)) = self.by_client_tx.get(&tx) else {
            return; // responses to our BYEs need nothing more
        };
        let code = response.status_code.code();
        match code {
            100 => {}
            101..=199 => self.on_leg_ringing(now, id, ep),
            200..=299 => self.on_leg_answered(now, id, ix, tx, response, ep),
            _ => {
                self.by_client_tx.remove(&tx);
                self.on_leg_failed(now, id, ix, code, ep);
            }
        }
    }

    /// A placed leg rings: the caller hears it (180) unless already answered.
    fn on_leg_ringing(&mut self, now: Instant, id: CallId, ep: &mut Endpoint) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let first = &mut call.legs[0];
        if first.answered || call.ending.is_some() {
            return;
        }
        let Origin::Uas(uas) = &mut first.origin else {
            return;
        };
        if uas.ringing {
            return;
        }
        uas.ringing = true;
        let (tx, tag, invite) = (uas.tx, uas.local_tag.clone(), uas.invite.clone());
        let resp = self.response(&invite, 180, Some(&tag));
        ep.respond(now, tx, resp);
    }

    fn on_leg_answered(
        &mut self,
        now: Instant,
        id: CallId,
        ix: LegIx,
        tx: ClientTxId,
        response: Response,
        ep: &mut Endpoint,
    ) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let ending = call.ending.is_some();
        let leg = &mut call.legs[ix];
        let Origin::Uac(uac) = &leg.origin else {
            return;
        };
        if leg.answered {
            return; // a retransmitted 2xx: the endpoint re-sent our ACK
        }
        leg.answered = true;
        let dialog = match Dialog::from_uac(&uac.invite, &response) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!("callee's 2xx forms no dialog: {e}");
                self.by_client_tx.remove(&tx);
                return self.on_leg_failed(now, id, ix, 502, ep);
            }
        };
        let ack = dialog.create_ack(1, unsent_via());
        ep.ack_2xx(tx, ack, leg.peer);
        leg.confirmed = true;
        leg.dialog = Some(dialog);
        if let Some(key) = leg.key() {
            self.by_dialog.insert(key, (id, ix));
        }
        if ending || leg.gone {
            // Cancelled while the callee answered: end the callee.
            return self.bye_leg(now, id, ix, ep);
        }
        let negotiated = SessionDescription::parse(&response.body)
            .map_err(|e| e.to_string())
            .and_then(|ans| {
                leg.sdp
                    .process_answer(&uac.offer, &ans)
                    .map_err(|e| e.to_string())
            });
        match negotiated {
            Ok(neg) => apply_negotiated(leg, &neg, &mut self.out),
            Err(e) => {
                tracing::warn!("callee's SDP answer unusable: {e}");
                self.bye_leg(now, id, ix, ep);
                return self.on_leg_failed(now, id, ix, 488, ep);
            }
        }
        self.on_controlled_leg_answered(now, id, ix, ep);
    }

    /// A leg of a call under control answered: the caller's INVITE is
    /// answered when the first agent does, the leg joins the room, and the
    /// model decides the rest.
    fn on_controlled_leg_answered(
        &mut self,
        now: Instant,
        id: CallId,
        ix: LegIx,
        ep: &mut Endpoint,
    ) {
        let Some(mut call) = self.calls.remove(&id) else {
            return;
        };
        if call.legs[0].uas().is_some() && !call.legs[0].answered {
            let sdp = match &mut call.legs[0].origin {
                Origin::Uas(u) => u.answer_sdp.take().unwrap_or_default(),
                Origin::Uac(_) => String::new(),
            };
            if !self.answer_a_leg(now, &mut call.legs[0], &sdp, ep) {
                self.calls.insert(id, call);
                return self.hang_up(now, id, "caller's INVITE formed no dialog", ep);
            }
        }
        self.calls.insert(id, call);
        self.join_room(id, 0);
        self.join_room(id, ix);
        let party = self.calls.get(&id).and_then(|c| c.legs[ix].party);
        if let (Some(p), Some(m)) = (
            party,
            self.calls.get_mut(&id).and_then(|c| c.model.as_mut()),
        ) {
            m.on_answered(now, p);
        }
        self.drive(now, id, ep);
        self.refers_succeeded(now, id, ep);
    }

    /// A placed leg refused, timed out or had unusable SDP.
    fn on_leg_failed(&mut self, now: Instant, id: CallId, ix: LegIx, code: u16, ep: &mut Endpoint) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.legs[ix].gone = true;
        if let (Some(model), Some(party)) = (call.model.as_mut(), call.legs[ix].party) {
            let caller_waiting = call.legs[0].uas().is_some() && !call.legs[0].answered;
            let reason = match code {
                486 | 600 => FailReason::Busy,
                408 | 480 => FailReason::NoAnswer,
                _ => FailReason::Rejected,
            };
            model.on_failed(now, party, reason);
            if !caller_waiting {
                return self.drive(now, id, ep);
            }
        }
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let first = &mut call.legs[0];
        if let (false, Origin::Uas(uas)) = (first.answered, &first.origin) {
            first.answered = true;
            // Pass the callee's refusal back; what a caller cannot act on
            // becomes 480 (§21.4.18).
            let to_caller = match code {
                486 | 487 | 488 | 600 | 603 => code,
                404 | 408 | 410 | 480 => 480,
                300..=399 | 401 | 407 => 480,
                500..=599 => 480,
                c => c,
            };
            let (tx, invite, tag) = (uas.tx, uas.invite.clone(), uas.local_tag.clone());
            let resp = self.response(&invite, to_caller, Some(&tag));
            ep.respond(now, tx, resp);
        }
        self.hang_up(now, id, "callee refused", ep);
    }

    /// A placed leg rang too long: cancel it.
    pub(super) fn no_answer(&mut self, now: Instant, id: CallId, ix: LegIx, ep: &mut Endpoint) {
        if let Some(tx) = self
            .calls
            .get(&id)
            .and_then(|c| c.legs.get(ix))
            .and_then(|l| l.uac().map(|u| u.tx))
        {
            self.by_client_tx.remove(&tx);
            ep.cancel(now, tx);
        }
        self.on_leg_failed(now, id, ix, 480, ep);
    }

    pub(super) fn on_cancelled(&mut self, now: Instant, tx: ServerTxId, ep: &mut Endpoint) {
        let Some(&(id, ix)) = self.by_server_tx.get(&tx) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let leg = &mut call.legs[ix];
        let Origin::Uas(uas) = &leg.origin else {
            return;
        };
        if leg.answered {
            return;
        }
        leg.answered = true;
        leg.gone = true;
        call.ending = Some("caller cancelled");
        let (invite, tag) = (uas.invite.clone(), uas.local_tag.clone());
        let resp = self.response(&invite, 487, Some(&tag));
        ep.respond(now, tx, resp);
        self.hang_up(now, id, "caller cancelled", ep);
    }

    pub(super) fn on_client_timeout(&mut self, now: Instant, tx: ClientTxId, ep: &mut Endpoint) {
        if let Some((id, ix)) = self.by_client_tx.remove(&tx) {
            self.on_leg_failed(now, id, ix, 408, ep);
        }
    }

    pub(super) fn on_ack_timeout(&mut self, now: Instant, tx: ServerTxId, ep: &mut Endpoint) {
        if let Some(&(id, _)) = self.by_server_tx.get(&tx) {
            self.hang_up(now, id, "caller never ACKed", ep);
        }
    }

    /// Ends a call from our side: BYE to confirmed legs, CANCEL to ringing
    /// ones, a final response to an unanswered caller.
    pub(super) fn hang_up(
        &mut self,
        now: Instant,
        id: CallId,
        reason: &'static str,
        ep: &mut Endpoint,
    ) {
        let n = self.calls.get(&id).map_or(0, |c| c.legs.len());
        for ix in 0..n {
            self.bye_leg(now, id, ix, ep);
        }
        self.end_call(now, id, reason);
    }

    /// Ends one leg from our side (once): BYE when answered, CANCEL when
    /// ringing, a final response when it is an INVITE we have not answered.
    pub(super) fn bye_leg(&mut self, now: Instant, id: CallId, ix: LegIx, ep: &mut Endpoint) {
        // A transferor still waiting for its REFER's outcome hears it failed.
        self.finish_refer(now, id, ix, 480, "Temporarily Unavailable", ep);
        let draining = self.draining.is_some();
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(leg) = call.legs.get_mut(ix) else {
            return;
        };
        let was_gone = std::mem::replace(&mut leg.gone, true);
        match &leg.origin {
            Origin::Uas(uas) if !leg.answered => {
                leg.answered = true;
                let code = if draining { 503 } else { 480 };
                let (tx, invite, tag) = (uas.tx, uas.invite.clone(), uas.local_tag.clone());
                let resp = self.response(&invite, code, Some(&tag));
                ep.respond(now, tx, resp);
            }
            Origin::Uac(uac) if !leg.answered => {
                if !was_gone {
                    ep.cancel(now, uac.tx);
                }
            }
            _ if was_gone => {}
            _ => {
                let peer = leg.peer;
                if let Some(bye) = leg
                    .dialog
                    .as_mut()
                    .and_then(|d| d.create_request(Method::Bye, unsent_via()).ok())
                {
                    ep.send_request(now, bye, peer);
                }
            }
        }
    }

    /// Forgets a call: indices, media, live view; writes its record.
    pub(super) fn end_call(&mut self, now: Instant, id: CallId, reason: &'static str) {
        let Some(mut call) = self.calls.remove(&id) else {
            return;
        };
        call.ending.get_or_insert(reason);
        // Only entries that still point here: a leg that moved to another
        // call (attended transfer) keeps its indices.
        for leg in &call.legs {
            match &leg.origin {
                Origin::Uas(u) => {
                    if self.by_server_tx.get(&u.tx).is_some_and(|e| e.0 == id) {
                        self.by_server_tx.remove(&u.tx);
                    }
                }
                Origin::Uac(u) => {
                    if self.by_client_tx.get(&u.tx).is_some_and(|e| e.0 == id) {
                        self.by_client_tx.remove(&u.tx);
                    }
                }
            }
            if let Some(key) = leg.key() {
                if self.by_dialog.get(&key).is_some_and(|e| e.0 == id) {
                    self.by_dialog.remove(&key);
                    if leg.dialog.is_some() {
                        self.ended_dialogs
                            .insert(key, now + super::ENDED_DIALOG_MEMORY);
                    }
                }
            }
        }
        for leg in &call.legs {
            if self.by_leg.get(&leg.media).is_some_and(|e| e.0 == id) {
                self.by_leg.remove(&leg.media);
                self.release_media(leg.media, leg.rtp_port);
            }
        }
        self.out
            .push_back(Output::Media(MediaOp::CloseRoom { call: id }));
        self.unpublish(now, &call, reason);
    }
}

/// Display name and user of a request's From, for the legs we place on its behalf.
pub(super) fn caller_of(request: &Request) -> (Option<String>, String) {
    let from = request.headers.iter().find_map(|h| match h {
        Header::From(f) => rsip::typed::From::try_from(f.clone()).ok(),
        _ => None,
    });
    from.map(|f| {
        (
            f.display_name.clone(),
            f.uri
                .auth
                .map(|a| a.user)
                .unwrap_or_else(|| "anonymous".into()),
        )
    })
    .unwrap_or((None, "anonymous".into()))
}

impl CallCore {
    /// A call to a contact-centre entry point: answered at once, the caller
    /// hears music in the call's room while it waits for an agent
    /// (`docs/contact-centre.md#routing`); the runtime hears of it
    /// ([`Output::Queued`]) and offers it to agents with [`Self::offer_agent`].
    #[allow(clippy::too_many_arguments)]
    pub(super) fn start_queued(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        request: Request,
        peer: Peer,
        offer: Option<SessionDescription>,
        entry_point: String,
        ep: &mut Endpoint,
    ) {
        let Some(mut a) = self.answer_at_once(now, tx, &request, peer, offer, ep) else {
            return;
        };
        let id = self.new_call_id();
        let model = CallModel::queued(now, PartyKind::Customer).with_recording(self.cfg.record);
        a.party = model.parties().next().map(|p| p.id);
        let (name, number) = caller_of(&request);
        let call = Call::new(
            id,
            Route::EntryPoint(entry_point.clone()),
            now,
            vec![a],
            Some(model),
        );
        self.insert_call(now, call);
        self.join_room(id, 0);
        self.out.push_back(Output::Queued {
            call: id,
            entry_point,
            number,
            name: name.map(|n| n.trim_matches('"').to_string()),
        });
        self.publish(now, id);
    }

    /// Offers a queued call to the agent `user`: their phone rings; when it
    /// answers they are bridged to the caller (`CallEvent::Connected`), when
    /// it cannot ring, refuses or is withdrawn the call waits on
    /// (`CallEvent::OfferFailed`).
    pub fn offer_agent(
        &mut self,
        now: Instant,
        call: CallId,
        user: &str,
        ep: &mut Endpoint,
    ) -> Result<(), ControlError> {
        let model = self
            .calls
            .get_mut(&call)
            .and_then(|c| c.model.as_mut())
            .ok_or_else(|| ControlError::NotFound(format!("no call {call}")))?;
        if model.offer(now, user.to_string()).is_none() {
            return Err(ControlError::BadRequest(format!(
                "call {call} is not waiting for an agent"
            )));
        }
        self.drive(now, call, ep);
        Ok(())
    }

    /// Takes back the offer of a queued call (RONA): the agent's ringing is
    /// cancelled and the call waits on.
    pub fn withdraw_offer(&mut self, now: Instant, call: CallId, ep: &mut Endpoint) {
        let ringing = self.calls.get(&call).and_then(|c| {
            let model = c.model.as_ref()?;
            if model.state() != crate::callmodel::CallState::Queued {
                return None;
            }
            let primary = model
                .parties()
                .find(|p| p.role == crate::callmodel::Role::Primary && !p.answered)?;
            c.legs
                .iter()
                .position(|l| l.party == Some(primary.id) && !l.answered && !l.gone)
        });
        if let Some(ix) = ringing {
            self.no_answer(now, call, ix, ep);
        }
    }
}
