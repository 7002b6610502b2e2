//! Requests that are not a new call: OPTIONS, REGISTER, BYE, re-INVITE, ACK,
//! and the refusals every UAS owes (§8.2).

use super::call::LegIx;
use super::output::CallId;
use super::CallCore;
use crate::registrar::RegisterOutcome;
use rsip::prelude::UntypedHeader;
use rsip::{Header, Method, Request};
use sotto_sip::dialog::RequestVerdict;
use sotto_sip::endpoint::{Endpoint, Peer, ServerTxId};
use sotto_sip::message::{call_id, to_tag};
use std::time::Instant;

impl CallCore {
    pub(super) fn on_request(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        request: Request,
        peer: Peer,
        ep: &mut Endpoint,
    ) {
        // §8.2.2.1: we only serve sip: and sips: URIs.
        if !matches!(
            request.uri.scheme,
            Some(rsip::Scheme::Sip) | Some(rsip::Scheme::Sips) | None
        ) {
            return self.reply(now, ep, tx, &request, 416, vec![]);
        }
        // §8.2.2.3: of the extensions, we support only `replaces` (RFC 3891),
        // so any other Require is refused.
        if let Some(req) = request.headers.iter().find_map(|h| match h {
            Header::Require(r) => Some(r.value().to_string()),
            _ => None,
        }) {
            let unsupported: Vec<&str> = req
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("replaces"))
                .collect();
            if request.method != Method::Cancel && !unsupported.is_empty() {
                let req = unsupported.join(", ");
                let extra = vec![Header::Unsupported(req.into())];
                return self.reply(now, ep, tx, &request, 420, extra);
            }
        }
        let in_dialog = to_tag(&request).is_some();
        match request.method {
            Method::Options => self.reply(
                now,
                ep,
                tx,
                &request,
                200,
                vec![Header::Accept("application/sdp".into())],
            ),
            Method::Register => self.on_register(now, tx, &request, peer, ep),
            Method::Invite if in_dialog => self.on_reinvite(now, tx, request, ep),
            Method::Invite => self.on_invite(now, tx, request, peer, ep),
            Method::Bye => self.on_bye(now, tx, request, ep),
            Method::Refer if in_dialog => self.on_refer(now, tx, request, ep),
            Method::Refer => self.reply(now, ep, tx, &request, 403, vec![]),
            Method::Info | Method::Update if in_dialog => match self.find_dialog(&request) {
                Some(_) => self.reply(now, ep, tx, &request, 200, vec![]),
                None => self.reply(now, ep, tx, &request, 481, vec![]),
            },
            Method::Notify if in_dialog => self.on_notify(now, tx, request, ep),
            Method::Info | Method::Update | Method::PRack | Method::Notify => {
                self.reply(now, ep, tx, &request, 481, vec![])
            }
            _ => self.reply(now, ep, tx, &request, 405, vec![]),
        }
    }

    /// The call and leg an in-dialog request belongs to.
    pub(super) fn find_dialog(&self, request: &Request) -> Option<(CallId, LegIx)> {
        let cid = call_id(request)?;
        let tag = to_tag(request)?;
        self.by_dialog
            .get(&(cid.to_string(), tag.to_string()))
            .copied()
    }

    fn on_register(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        request: &Request,
        peer: Peer,
        ep: &mut Endpoint,
    ) {
        // §10.2: the To header names the address-of-record, a SIP or SIPS URI.
        let to = request.headers.iter().find_map(|h| match h {
            Header::To(t) => rsip::typed::To::try_from(t.clone()).ok(),
            _ => None,
        });
        let to_is_sip = to.as_ref().is_some_and(|t| {
            matches!(
                t.uri.scheme,
                Some(rsip::Scheme::Sip) | Some(rsip::Scheme::Sips)
            )
        });
        if !to_is_sip {
            let extra = vec![Header::Warning("399 sotto \"To must be a SIP URI\"".into())];
            return self.reply(now, ep, tx, request, 400, extra);
        }
        let user = match self.authenticate(now, request) {
            Ok(user) => user,
            Err(challenges) if challenges.is_empty() => {
                return self.reply(now, ep, tx, request, 403, vec![]);
            }
            Err(challenges) => return self.reply(now, ep, tx, request, 401, challenges),
        };
        // §10.3 step 4-5: the AOR (To) must be the authenticated user's.
        let aor_user = to
            .and_then(|t| t.uri.auth.map(|a| a.user))
            .unwrap_or_default();
        if aor_user != user {
            return self.reply(now, ep, tx, request, 403, vec![]);
        }
        match self
            .registrar
            .register(now, &user, request, peer, self.cfg.expiry)
        {
            RegisterOutcome::Ok(contacts) => {
                let extra = contacts
                    .into_iter()
                    .map(|c| Header::Contact(c.into()))
                    .collect();
                self.publish_registrations(now);
                self.reply(now, ep, tx, request, 200, extra)
            }
            RegisterOutcome::IntervalTooBrief(min) => self.reply(
                now,
                ep,
                tx,
                request,
                423,
                vec![Header::MinExpires(min.into())],
            ),
            RegisterOutcome::Bad(why) => {
                tracing::debug!("REGISTER refused: {why}");
                self.reply(now, ep, tx, request, 400, vec![])
            }
        }
    }

    fn on_bye(&mut self, now: Instant, tx: ServerTxId, request: Request, ep: &mut Endpoint) {
        let Some((id, ix)) = self.find_dialog(&request) else {
            // Our BYE ended the call as theirs was on its way: the dialog is
            // over either way, so the answer is 200, not 481.
            let crossed = call_id(&request)
                .zip(to_tag(&request))
                .and_then(|(c, t)| self.ended_dialogs.get(&(c.to_string(), t.to_string())))
                .is_some_and(|until| *until > now);
            let code = if crossed { 200 } else { 481 };
            return self.reply(now, ep, tx, &request, code, vec![]);
        };
        let verdict = self
            .calls
            .get_mut(&id)
            .and_then(|call| call.legs.get_mut(ix))
            .and_then(|leg| {
                let mut rnd = || 0u32;
                leg.dialog.as_mut()?.on_request(&request, &mut rnd).ok()
            });
        // Both sides hung up at once (our BYE crossed theirs): the dialog is
        // over either way, so the answer is 200, not 481.
        let crossed = self
            .calls
            .get(&id)
            .and_then(|c| c.legs.get(ix))
            .is_some_and(|l| l.gone);
        match verdict {
            Some(RequestVerdict::Reject(_)) if crossed => {
                self.reply(now, ep, tx, &request, 200, vec![])
            }
            Some(RequestVerdict::Reject(r)) => {
                let code = r.status_code().code();
                self.reply(now, ep, tx, &request, code, vec![])
            }
            _ => {
                self.reply(now, ep, tx, &request, 200, vec![]);
                self.on_leg_gone(now, id, ix, ep);
            }
        }
    }

    /// A leg's peer hung up (BYE): the leg is gone; a two-party call ends.
    pub(super) fn on_leg_gone(&mut self, now: Instant, id: CallId, ix: LegIx, ep: &mut Endpoint) {
        let Some(leg) = self.calls.get_mut(&id).and_then(|c| c.legs.get_mut(ix)) else {
            return;
        };
        leg.gone = true;
        let party = leg.party;
        self.leave_room(id, ix);
        if let Some(model) = self.calls.get_mut(&id).and_then(|c| c.model.as_mut()) {
            if let Some(p) = party {
                model.on_hung_up(now, p);
            }
            return self.drive(now, id, ep);
        }
        let reason = if ix == 0 {
            "caller hung up"
        } else {
            "callee hung up"
        };
        self.hang_up(now, id, reason, ep);
    }

    pub(super) fn on_ack(&mut self, now: Instant, request: Request) {
        let Some((id, ix)) = self.find_dialog(&request) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(leg) = call.legs.get_mut(ix) else {
            return;
        };
        // The ACK to our 2xx: for the INVITE that made a leg we answered, or
        // for a re-INVITE on any leg — the dialog must see it, or it keeps
        // waiting and refuses the peer's next re-INVITE with 491.
        if let Some(d) = leg.dialog.as_mut() {
            let mut rnd = || 0u32;
            let _ = d.on_request(&request, &mut rnd);
        }
        let super::call::Origin::Uas(uas) = &mut leg.origin else {
            return;
        };
        leg.confirmed = true;
        // Late offer: the answer to the offer in our 200 comes in the ACK.
        if let (Some(our_offer), false) = (uas.our_offer.take(), request.body.is_empty()) {
            if let Ok(answer) = sotto_sip::sdp::SessionDescription::parse(&request.body) {
                if let Ok(neg) = leg.sdp.process_answer(&our_offer, &answer) {
                    super::b2bua::apply_negotiated(leg, &neg, &mut self.out);
                    call.codec = Some(neg.codec.encoding_name().to_string());
                }
            }
            self.publish(now, id);
        }
    }
}
