//! The B2BUA route: ring a registered user on a second dialog, relay
//! provisional and final responses back, and bridge the media through sotto.

use super::call::{BLeg, Call, Route, Side};
use super::CallControl;
use crate::media_rt::LegRemote;
use rsip::{Header, Method, Request, Response};
use sotto_sip::dialog::Dialog;
use sotto_sip::endpoint::{unsent_via, ClientTxId, Endpoint, Peer, ServerTxId};
use sotto_sip::sdp::{self, LocalMedia, LocalSession, Negotiated, SessionDescription};
use std::time::Instant;
use tokio::sync::watch;

/// Points a leg's sender at what offer/answer settled.
pub fn apply_negotiated(remote: &watch::Sender<LegRemote>, neg: &Negotiated) {
    let codec = match neg.codec {
        sdp::Codec::Pcma => sotto_media::codec::Codec::Pcma,
        _ => sotto_media::codec::Codec::Pcmu,
    };
    let addr = (!neg.remote_rtp.ip().is_unspecified() && neg.remote_rtp.port() != 0)
        .then_some(neg.remote_rtp);
    remote.send_modify(|r| {
        r.addr = addr;
        r.codec = codec;
        r.payload_type = neg.payload_type.0;
        r.telephone_event = neg.telephone_event.map(|p| p.0);
        r.send = neg.direction.sends();
    });
}

impl CallControl {
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
        let Some(binding) = self
            .registrar
            .lookup(&user, now)
            .first()
            .map(|b| (*b).clone())
        else {
            // Known user, not registered: 480 Temporarily Unavailable.
            return self.reply(now, ep, tx, &request, 480, vec![]);
        };
        let Some((a, a_leg, a_sdp)) = self.prepare_a_leg(now, tx, &request, peer, offer, ep) else {
            return;
        };
        let Some(b_leg) = self.ports.bind(sotto_media::codec::Codec::Pcmu) else {
            let extra = vec![Header::RetryAfter("5".into())];
            return self.reply(now, ep, tx, &request, 503, extra);
        };
        let local = LocalMedia::new(self.ports.ip(), b_leg.port);
        let mut b_session = LocalSession::new(self.random() >> 12, self.random() >> 12);
        let b_offer = b_session.offer(&local);
        let b_invite = self.build_b_invite(&request, &binding.contact, &user, &b_offer.to_string());
        let btx = ep.send_request(now, b_invite.clone(), binding.peer);
        let id = self.next_call;
        self.next_call += 1;
        let b = BLeg {
            tx: btx,
            invite: b_invite,
            peer: binding.peer,
            dialog: None,
            offer: b_offer,
            sdp: b_session,
            answered: false,
            rtp_port: b_leg.port,
            remote: b_leg.remote(),
        };
        let call = Call {
            id,
            name: format!("c{id}"),
            route: Route::Agent(user),
            started: now,
            a,
            b: Some(b),
            pending_media: vec![a_leg, b_leg],
            media: None,
            a_sdp: Some(a_sdp),
            ending: None,
            codec: None,
        };
        self.by_client_tx.insert(btx, id);
        self.ring_deadlines
            .push(std::cmp::Reverse((now + super::RING_TIMEOUT, id)));
        self.insert_call(now, call);
    }

    /// The INVITE toward the callee: a new dialog of ours, the caller shown
    /// in From (display name and user kept), our offer.
    fn build_b_invite(
        &mut self,
        a_invite: &Request,
        target: &rsip::Uri,
        user: &str,
        sdp: &str,
    ) -> Request {
        let caller = a_invite.headers.iter().find_map(|h| match h {
            Header::From(f) => rsip::typed::From::try_from(f.clone()).ok(),
            _ => None,
        });
        let (display, caller_user) = caller
            .map(|f| {
                (
                    f.display_name.clone(),
                    f.uri
                        .auth
                        .map(|a| a.user)
                        .unwrap_or_else(|| "anonymous".into()),
                )
            })
            .unwrap_or((None, "anonymous".into()));
        let display = display
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

    /// A response on one of our client transactions (the B leg's INVITE).
    pub(super) fn on_response(
        &mut self,
        now: Instant,
        tx: ClientTxId,
        response: Response,
        ep: &mut Endpoint,
    ) {
        let Some(&id) = self.by_client_tx.get(&tx) else {
            return; // responses to our BYEs need nothing more
        };
        let code = response.status_code.code();
        match code {
            100 => {}
            101..=199 => self.on_b_ringing(now, id, ep),
            200..=299 => self.on_b_answered(now, id, tx, response, ep),
            _ => {
                self.by_client_tx.remove(&tx);
                self.on_b_failed(now, id, code, ep);
            }
        }
    }

    fn on_b_ringing(&mut self, now: Instant, id: u64, ep: &mut Endpoint) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.a.answered || call.a.ringing || call.ending.is_some() {
            return;
        }
        call.a.ringing = true;
        let (tx, tag) = (call.a.tx, call.a.local_tag.clone());
        let invite = call.a.invite.clone();
        let resp = self.response(&invite, 180, Some(&tag));
        ep.respond(now, tx, resp);
    }

    fn on_b_answered(
        &mut self,
        now: Instant,
        id: u64,
        tx: ClientTxId,
        response: Response,
        ep: &mut Endpoint,
    ) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(b) = call.b.as_mut() else { return };
        if b.answered {
            return; // a retransmitted 2xx: the endpoint re-sent our ACK
        }
        b.answered = true;
        let dialog = match Dialog::from_uac(&b.invite, &response) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!("callee's 2xx forms no dialog: {e}");
                self.by_client_tx.remove(&tx);
                return self.on_b_failed(now, id, 502, ep);
            }
        };
        let ack = dialog.create_ack(1, unsent_via());
        ep.ack_2xx(tx, ack, b.peer);
        if let Some(cid) = sotto_sip::message::call_id(&b.invite) {
            let key = (cid.to_string(), dialog.local_tag().as_str().to_string());
            self.by_dialog.insert(key, (id, Side::B));
        }
        b.dialog = Some(dialog);
        if call.ending.is_some() {
            // The caller cancelled while the callee answered: end the callee.
            return self.hang_up(now, id, "cancelled", ep);
        }
        let negotiated = SessionDescription::parse(&response.body)
            .map_err(|e| e.to_string())
            .and_then(|ans| sdp::process_answer(&b.offer, &ans).map_err(|e| e.to_string()));
        match negotiated {
            Ok(neg) => apply_negotiated(&b.remote, &neg),
            Err(e) => {
                tracing::warn!("callee's SDP answer unusable: {e}");
                let (a_tx, invite, tag) =
                    (call.a.tx, call.a.invite.clone(), call.a.local_tag.clone());
                call.a.answered = true;
                let resp = self.response(&invite, 488, Some(&tag));
                ep.respond(now, a_tx, resp);
                return self.hang_up(now, id, "no common media with callee", ep);
            }
        }
        // Answer the caller and start relaying.
        let Some(mut call) = self.calls.remove(&id) else {
            return;
        };
        let sdp = call.a_sdp.take().unwrap_or_default();
        if !self.answer_a_leg(now, &mut call.a, &sdp, ep) {
            self.calls.insert(id, call);
            return self.hang_up(now, id, "caller's INVITE formed no dialog", ep);
        }
        let legs = std::mem::take(&mut call.pending_media);
        if let Ok([a_leg, b_leg]) = <[_; 2]>::try_from(legs) {
            call.codec = Some(format!(
                "{}/{}",
                a_leg.remote().borrow().codec.encoding_name(),
                b_leg.remote().borrow().codec.encoding_name()
            ));
            let seed = self.random() as u32;
            let mode = self.cfg.denoise;
            let (denoise_a, denoise_b) = (mode.inbound(), mode.outbound());
            call.media = self
                .media
                .bridge(a_leg, b_leg, denoise_a, denoise_b, seed)
                .ok();
        }
        self.calls.insert(id, call);
        if let Some(call) = self.calls.get(&id) {
            self.publish(now, call);
        }
    }

    fn on_b_failed(&mut self, now: Instant, id: u64, code: u16, ep: &mut Endpoint) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if !call.a.answered {
            call.a.answered = true;
            // Pass the callee's refusal back; what a caller cannot act on
            // becomes 480 (§21.4.18).
            let to_caller = match code {
                486 | 487 | 488 | 600 | 603 => code,
                404 | 408 | 410 | 480 => 480,
                300..=399 | 401 | 407 => 480,
                500..=599 => 480,
                c => c,
            };
            let (tx, invite, tag) = (call.a.tx, call.a.invite.clone(), call.a.local_tag.clone());
            let resp = self.response(&invite, to_caller, Some(&tag));
            ep.respond(now, tx, resp);
        }
        self.end_call(now, id, "callee refused");
    }

    pub(super) fn on_cancelled(&mut self, now: Instant, tx: ServerTxId, ep: &mut Endpoint) {
        let Some(&id) = self.by_server_tx.get(&tx) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.a.answered {
            return;
        }
        call.a.answered = true;
        call.ending = Some("caller cancelled");
        let (invite, tag) = (call.a.invite.clone(), call.a.local_tag.clone());
        let b = call.b.as_ref().map(|b| (b.tx, b.answered));
        let resp = self.response(&invite, 487, Some(&tag));
        ep.respond(now, tx, resp);
        match b {
            // The callee's 487 (or 200, then BYE) ends the call.
            Some((btx, false)) => ep.cancel(now, btx),
            _ => self.end_call(now, id, "caller cancelled"),
        }
    }

    pub(super) fn on_client_timeout(&mut self, now: Instant, tx: ClientTxId, ep: &mut Endpoint) {
        if let Some(id) = self.by_client_tx.remove(&tx) {
            self.on_b_failed(now, id, 408, ep);
        }
    }

    pub(super) fn on_ack_timeout(&mut self, now: Instant, tx: ServerTxId, ep: &mut Endpoint) {
        if let Some(&id) = self.by_server_tx.get(&tx) {
            self.hang_up(now, id, "caller never ACKed", ep);
        }
    }

    /// Ends a call from our side: BYE to confirmed legs, CANCEL to a ringing
    /// callee, a final response to an unanswered caller.
    pub(super) fn hang_up(
        &mut self,
        now: Instant,
        id: u64,
        reason: &'static str,
        ep: &mut Endpoint,
    ) {
        self.bye_leg(now, id, Side::A, ep);
        self.bye_leg(now, id, Side::B, ep);
        self.end_call(now, id, reason);
    }

    /// One side hung up: end the other side and the call.
    pub(super) fn hang_up_except(
        &mut self,
        now: Instant,
        id: u64,
        gone: Side,
        reason: &'static str,
        ep: &mut Endpoint,
    ) {
        let other = match gone {
            Side::A => Side::B,
            Side::B => Side::A,
        };
        self.bye_leg(now, id, other, ep);
        self.end_call(now, id, reason);
    }

    fn bye_leg(&mut self, now: Instant, id: u64, side: Side, ep: &mut Endpoint) {
        let draining = self.draining.is_some();
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        match side {
            Side::A if !call.a.answered => {
                call.a.answered = true;
                let code = if draining { 503 } else { 480 };
                let (tx, invite, tag) =
                    (call.a.tx, call.a.invite.clone(), call.a.local_tag.clone());
                let resp = self.response(&invite, code, Some(&tag));
                ep.respond(now, tx, resp);
            }
            Side::A => {
                let peer = call.a.peer;
                if let Some(bye) = call
                    .a
                    .dialog
                    .as_mut()
                    .and_then(|d| d.create_request(Method::Bye, unsent_via()).ok())
                {
                    ep.send_request(now, bye, peer);
                }
            }
            Side::B => {
                let Some(b) = call.b.as_mut() else { return };
                if !b.answered {
                    ep.cancel(now, b.tx);
                } else if let Some(bye) = b
                    .dialog
                    .as_mut()
                    .and_then(|d| d.create_request(Method::Bye, unsent_via()).ok())
                {
                    ep.send_request(now, bye, b.peer);
                }
            }
        }
    }

    /// Forgets a call: indices, media, live view; writes its record.
    pub(super) fn end_call(&mut self, now: Instant, id: u64, reason: &'static str) {
        let Some(mut call) = self.calls.remove(&id) else {
            return;
        };
        call.ending.get_or_insert(reason);
        self.by_server_tx.remove(&call.a.tx);
        if let Some(cid) = sotto_sip::message::call_id(&call.a.invite) {
            self.by_dialog
                .remove(&(cid.to_string(), call.a.local_tag.clone()));
        }
        if let Some(b) = &call.b {
            self.by_client_tx.remove(&b.tx);
            if let (Some(cid), Some(d)) = (sotto_sip::message::call_id(&b.invite), &b.dialog) {
                self.by_dialog
                    .remove(&(cid.to_string(), d.local_tag().as_str().to_string()));
            }
        }
        if let Some(m) = call.media.as_mut() {
            m.stop();
        }
        self.unpublish(now, &call, reason);
    }
}
