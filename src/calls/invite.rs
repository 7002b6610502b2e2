//! A new INVITE: admission (draining, call limit), routing by Request-URI
//! user, the SDP offer, and the `echo` route.

use super::call::{Call, Leg, LegIx, Origin, Route, Uas};
use super::output::{CallId, MediaOp, Output};
use super::CallCore;
use crate::media_rt::{HoldAudio, LegOptions};
use rsip::prelude::UntypedHeader;
use rsip::{Header, Request};
use sotto_media::denoise::Denoise;
use sotto_sip::dialog::{Dialog, RequestVerdict, Tag};
use sotto_sip::endpoint::{Endpoint, Peer, ServerTxId};
use sotto_sip::sdp::{LocalMedia, LocalSession, SessionDescription};
use std::time::Instant;

impl CallCore {
    pub(super) fn on_invite(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        request: Request,
        peer: Peer,
        ep: &mut Endpoint,
    ) {
        if self.draining.is_some() || self.calls.len() >= self.cfg.max_calls {
            // §21.5.4: 503 with Retry-After toward trunks.
            let extra = vec![Header::RetryAfter("5".into())];
            return self.reply(now, ep, tx, &request, 503, extra);
        }
        // §8.2.3: we answer with SDP only.
        if let Some(accept) = request.headers.iter().find_map(|h| match h {
            Header::Accept(a) => Some(a.value().to_ascii_lowercase()),
            _ => None,
        }) {
            let ok = accept.trim().is_empty()
                || accept.split(',').any(|t| {
                    let t = t.split(';').next().unwrap_or("").trim();
                    t == "application/sdp" || t == "application/*" || t == "*/*"
                });
            if !ok {
                let extra = vec![Header::Warning(
                    "399 sotto \"only application/sdp is offered\"".into(),
                )];
                return self.reply(now, ep, tx, &request, 406, extra);
            }
        }
        let offer = if request.body.is_empty() {
            None
        } else {
            let content_type = request.headers.iter().find_map(|h| match h {
                Header::ContentType(c) => Some(c.value().to_ascii_lowercase()),
                _ => None,
            });
            if content_type.is_some_and(|c| !c.trim().starts_with("application/sdp")) {
                let extra = vec![Header::Accept("application/sdp".into())];
                return self.reply(now, ep, tx, &request, 415, extra);
            }
            match SessionDescription::parse(&request.body) {
                Ok(sdp) => Some(sdp),
                Err(e) => {
                    tracing::debug!("bad SDP offer: {e}");
                    let extra = vec![Header::Warning(
                        format!("399 sotto \"bad SDP: {e}\"").into(),
                    )];
                    return self.reply(now, ep, tx, &request, 400, extra);
                }
            }
        };
        // RFC 3891: a phone taking the place of a leg of a call in progress.
        if self.on_invite_replaces(now, tx, &request, peer, offer.as_ref(), ep) {
            return;
        }
        // §8.2.2.1: routing comes after the request itself is acceptable.
        let user = request
            .uri
            .auth
            .as_ref()
            .map(|a| a.user.clone())
            .unwrap_or_default();
        let route = if self.cfg.echo_user.as_deref() == Some(user.as_str()) {
            Route::Echo
        } else if let Some(entry) = self.cfg.entry_points.get(&user) {
            Route::EntryPoint(entry.clone())
        } else if self.cfg.users.contains_key(&user) {
            Route::Agent(user)
        } else {
            return self.reply(now, ep, tx, &request, 404, vec![]);
        };
        match route {
            Route::Echo => self.start_echo(now, tx, request, peer, offer, ep),
            Route::Agent(user) => self.start_b2bua(now, tx, request, peer, offer, user, ep),
            Route::EntryPoint(entry) => self.start_queued(now, tx, request, peer, offer, entry, ep),
        }
    }

    /// Binds an RTP socket and answers (or makes) the caller's SDP. On failure
    /// the INVITE has been answered with the error.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn prepare_a_leg(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        request: &Request,
        peer: Peer,
        offer: Option<SessionDescription>,
        ep: &mut Endpoint,
    ) -> Option<Leg> {
        let (sid, sver) = (self.random() >> 12, self.random() >> 12);
        let mut session = LocalSession::new(sid, sver);
        let port_ip = self.ports.ip();
        let Some(port) = self.ports.take(now) else {
            tracing::warn!("RTP port range exhausted");
            let extra = vec![Header::RetryAfter("5".into())];
            self.reply(now, ep, tx, request, 503, extra);
            return None;
        };
        let local = LocalMedia::new(port_ip, port);
        let (sdp, our_offer, remote) = match &offer {
            Some(o) => match session.answer(o, &local) {
                Ok(ans) => (
                    ans.sdp.to_string(),
                    None,
                    Some(super::b2bua::negotiated_remote(&ans.negotiated)),
                ),
                Err(e) => {
                    self.ports.give_back(port);
                    let extra = vec![Header::Warning(format!("304 sotto \"{e}\"").into())];
                    self.reply(now, ep, tx, request, 488, extra);
                    return None;
                }
            },
            None => {
                let o = session.offer(&local);
                (o.to_string(), Some(o), None)
            }
        };
        let media = self.bind_port(port);
        let uas = Uas {
            tx,
            invite: request.clone(),
            local_tag: self.token(),
            our_offer,
            answer_sdp: Some(sdp),
            ringing: false,
        };
        let mut leg = Leg::new(Origin::Uas(uas), peer, session, media, port);
        if let Some(remote) = remote {
            leg.set_remote(remote, &mut self.out);
        }
        Some(leg)
    }

    /// A leg for the caller's INVITE, answered 200 now (echo, queued
    /// calls). None when it could not be: the INVITE has been answered with
    /// the error and nothing stays bound.
    pub(super) fn answer_at_once(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        request: &Request,
        peer: Peer,
        offer: Option<SessionDescription>,
        ep: &mut Endpoint,
    ) -> Option<Leg> {
        let mut a = self.prepare_a_leg(now, tx, request, peer, offer, ep)?;
        let sdp = match &mut a.origin {
            Origin::Uas(u) => u.answer_sdp.take().unwrap_or_default(),
            Origin::Uac(_) => String::new(),
        };
        if !self.answer_a_leg(now, &mut a, &sdp, ep) {
            self.release_media(a.media, a.rtp_port);
            return None;
        }
        Some(a)
    }

    /// The next call's id.
    pub(super) fn new_call_id(&mut self) -> CallId {
        let id = CallId(self.next_call);
        self.next_call += 1;
        id
    }

    fn start_echo(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        request: Request,
        peer: Peer,
        offer: Option<SessionDescription>,
        ep: &mut Endpoint,
    ) {
        let Some(a) = self.answer_at_once(now, tx, &request, peer, offer, ep) else {
            return;
        };
        let id = self.new_call_id();
        let mut call = Call::new(id, Route::Echo, now, vec![a], None);
        call.codec = Some(call.legs[0].remote.codec.encoding_name().to_string());
        call.answered_at = Some(now);
        self.insert_call(now, call);
        // The caller hears itself, through the pipeline (denoised unless off).
        let opts = LegOptions {
            denoise: self.cfg.echo_denoise != Denoise::Off,
            seed: self.random() as u32,
            hold_audio: HoldAudio::Silence,
        };
        self.join_room_with(id, 0, opts);
        let leg = self.calls[&id].legs[0].media;
        self.out.push_back(Output::Media(MediaOp::Topology {
            call: id,
            hears: vec![(leg, vec![leg])],
        }));
    }

    /// Sends the 200 with `sdp` on a leg we answer and creates its dialog.
    /// False when the INVITE could not form a dialog (answered 400 instead).
    pub(super) fn answer_a_leg(
        &mut self,
        now: Instant,
        a: &mut Leg,
        sdp: &str,
        ep: &mut Endpoint,
    ) -> bool {
        let Origin::Uas(uas) = &a.origin else {
            return false;
        };
        let (tx, invite, tag) = (uas.tx, uas.invite.clone(), uas.local_tag.clone());
        let resp = Self::with_sdp(self.response(&invite, 200, Some(&tag)), sdp);
        let contact = rsip::typed::Contact {
            display_name: None,
            uri: rsip::Uri::try_from(self.contact_uri().as_str()).expect("our contact parses"),
            params: vec![],
        };
        a.answered = true;
        match Dialog::from_uas(&invite, Tag::new(tag.clone()), contact) {
            Ok(mut d) => {
                let _ = d.on_response_sent(&resp);
                a.dialog = Some(d);
            }
            Err(e) => {
                tracing::debug!("INVITE cannot form a dialog: {e}");
                let resp = self.response(&invite, 400, Some(&tag));
                ep.respond(now, tx, resp);
                return false;
            }
        }
        ep.respond(now, tx, resp);
        true
    }

    /// A re-INVITE: answered from our current media (hold and resume only
    /// change directions; the media follows).
    pub(super) fn on_reinvite(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        request: Request,
        ep: &mut Endpoint,
    ) {
        let Some((id, ix)) = self.find_dialog(&request) else {
            return self.reply(now, ep, tx, &request, 481, vec![]);
        };
        let ip = self.ports.ip();
        let Some(leg) = self.calls.get_mut(&id).and_then(|c| c.legs.get_mut(ix)) else {
            return self.reply(now, ep, tx, &request, 481, vec![]);
        };
        let (dialog, port, session) = (leg.dialog.as_mut(), leg.rtp_port, &mut leg.sdp);
        let Some(dialog) = dialog else {
            return self.reply(now, ep, tx, &request, 481, vec![]);
        };
        let mut rnd = || 3u32;
        match dialog.on_request(&request, &mut rnd) {
            Ok(RequestVerdict::Accept { .. }) => {}
            Ok(RequestVerdict::Reject(r)) => {
                let code = r.status_code().code();
                let extra: Vec<Header> = r.retry_after().into_iter().collect();
                return self.reply(now, ep, tx, &request, code, extra);
            }
            _ => return self.reply(now, ep, tx, &request, 481, vec![]),
        }
        let local = LocalMedia::new(ip, port);
        let was_held = session.held_by_peer();
        let tag = dialog.local_tag().as_str().to_string();
        let sdp = if request.body.is_empty() {
            session.offer(&local).to_string()
        } else {
            let answer = SessionDescription::parse(&request.body)
                .map_err(|e| e.to_string())
                .and_then(|o| session.answer(&o, &local).map_err(|e| e.to_string()));
            match answer {
                Ok(ans) => {
                    leg.set_remote(
                        super::b2bua::negotiated_remote(&ans.negotiated),
                        &mut self.out,
                    );
                    ans.sdp.to_string()
                }
                Err(e) => {
                    let extra = vec![Header::Warning(format!("304 sotto \"{e}\"").into())];
                    return self.reply(now, ep, tx, &request, 488, extra);
                }
            }
        };
        let resp = Self::with_sdp(self.response(&request, 200, Some(&tag)), &sdp);
        if let Some(d) = self
            .calls
            .get_mut(&id)
            .and_then(|c| c.legs.get_mut(ix))
            .and_then(|l| l.dialog.as_mut())
        {
            let _ = d.on_response_sent(&resp);
        }
        ep.respond(now, tx, resp);
        self.softphone_hold(now, id, ix, was_held, ep);
    }

    /// An agent's softphone put the call on hold (offer `sendonly`/`inactive`)
    /// or took it off (`sendrecv`): the same as the Hold/Resume buttons.
    fn softphone_hold(
        &mut self,
        now: Instant,
        id: CallId,
        ix: LegIx,
        was_held: bool,
        ep: &mut Endpoint,
    ) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let (Some(model), Some(leg)) = (call.model.as_mut(), call.legs.get(ix)) else {
            return;
        };
        let Some(party) = leg.party else {
            return;
        };
        // Only a change counts: a session refresh repeats the direction.
        if !model.party(party).is_some_and(|p| p.has_controls())
            || leg.sdp.held_by_peer() == was_held
        {
            return;
        }
        let result = if leg.sdp.held_by_peer() {
            model.hold(now, party)
        } else {
            model.resume(now, party)
        };
        match result {
            Ok(()) => self.drive(now, id, ep),
            Err(refused) => tracing::debug!(call = %id, %refused, "softphone hold/resume ignored"),
        }
    }

    pub(super) fn insert_call(&mut self, now: Instant, call: Call) {
        let id = call.id;
        for (ix, leg) in call.legs.iter().enumerate() {
            self.index_leg(id, ix, leg);
        }
        self.out
            .push_back(Output::Media(MediaOp::OpenRoom { call: id }));
        self.calls.insert(id, call);
        self.publish(now, id);
    }

    /// Makes a leg findable by its transaction and dialog.
    pub(super) fn index_leg(&mut self, id: CallId, ix: LegIx, leg: &Leg) {
        match &leg.origin {
            Origin::Uas(u) => {
                self.by_server_tx.insert(u.tx, (id, ix));
            }
            Origin::Uac(u) => {
                self.by_client_tx.insert(u.tx, (id, ix));
            }
        }
        if let Some(key) = leg.key() {
            self.by_dialog.insert(key, (id, ix));
        }
        self.by_leg.insert(leg.media, (id, ix));
    }
}
