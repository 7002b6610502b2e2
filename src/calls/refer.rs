//! Transfers an agent's softphone starts by itself (`docs/call-control.md`): REFER (RFC 3515)
//! for a blind transfer, with NOTIFY `message/sipfrag` progress back, and
//! INVITE with Replaces (RFC 3891), which puts the new phone in the place of
//! the leg it names.

use super::call::{LegIx, Origin};
use super::output::CallId;
use super::CallCore;
use crate::callmodel::{PartyId, PartyKind, Target};
use crate::dial::DialNumber;
use rsip::{Header, Request};
use sotto_sip::dialog::RequestVerdict;
use sotto_sip::endpoint::{unsent_via, Endpoint, Peer, ServerTxId};
use sotto_sip::headers::{Replaces, TypedHeaders};
use sotto_sip::refer::{ReferNotifier, ReferRequest};
use sotto_sip::sdp::{LocalMedia, LocalSession, SessionDescription};
use std::time::Instant;

impl CallCore {
    /// A REFER inside a call: the agent's softphone transfers the customer.
    pub(super) fn on_refer(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        request: Request,
        ep: &mut Endpoint,
    ) {
        let Some((id, ix)) = self.find_dialog(&request) else {
            return self.reply(now, ep, tx, &request, 481, vec![]);
        };
        let verdict = self
            .calls
            .get_mut(&id)
            .and_then(|c| c.legs.get_mut(ix))
            .and_then(|l| l.dialog.as_mut())
            .map(|d| d.on_request(&request, &mut || 0u32));
        match verdict {
            Some(Ok(RequestVerdict::Accept { .. })) => {}
            Some(Ok(RequestVerdict::Reject(r))) => {
                let code = r.status_code().code();
                return self.reply(now, ep, tx, &request, code, vec![]);
            }
            _ => return self.reply(now, ep, tx, &request, 481, vec![]),
        }
        let refer = match ReferRequest::from_request(&request) {
            Ok(r) => r,
            Err(e) => {
                let warning = Header::Warning(format!("399 sotto \"{e}\"").into());
                return self.reply(now, ep, tx, &request, e.status_code(), vec![warning]);
            }
        };
        let forbid = |why: String| Header::Warning(format!("399 sotto \"{why}\"").into());
        if let Some(replaces) = refer.replaces.clone() {
            return self.on_attended_refer(now, tx, &request, id, ix, &refer, &replaces, ep);
        }
        let target = match self.refer_target(&refer.target) {
            Ok(t) => t,
            Err(why) => return self.reply(now, ep, tx, &request, 404, vec![forbid(why)]),
        };
        let has_trunk = !self.cfg.trunk_uri.is_empty();
        let Some(call) = self.calls.get_mut(&id) else {
            return self.reply(now, ep, tx, &request, 481, vec![]);
        };
        let party = call.legs[ix].party;
        let (Some(model), Some(party)) = (call.model.as_mut(), party) else {
            let w = forbid("this call cannot be transferred".into());
            return self.reply(now, ep, tx, &request, 403, vec![w]);
        };
        if matches!(target, Target::DialNumber(_)) && !has_trunk {
            let w = forbid("no outbound trunk is configured for dial numbers".into());
            return self.reply(now, ep, tx, &request, 403, vec![w]);
        }
        if let Err(refused) = model.blind_transfer(now, party, target) {
            let w = forbid(format!("{refused} ({})", refused.rule));
            return self.reply(now, ep, tx, &request, 403, vec![w]);
        }
        self.reply(now, ep, tx, &request, 202, vec![]);
        self.accept_refer(now, id, ix, &refer, ep);
        self.drive(now, id, ep);
    }

    /// The REFER on leg `ix` was accepted (202): its implicit subscription
    /// starts with NOTIFY "100 Trying" at once (RFC 3515 §2.4.4) and ends
    /// with the transfer's outcome or, failing that, when it expires.
    fn accept_refer(
        &mut self,
        now: Instant,
        id: CallId,
        ix: LegIx,
        refer: &ReferRequest,
        ep: &mut Endpoint,
    ) {
        let Some(leg) = self.calls.get_mut(&id).and_then(|c| c.legs.get_mut(ix)) else {
            return;
        };
        let mut notifier = ReferNotifier::new(refer, true, now);
        if let Some(dialog) = leg.dialog.as_mut() {
            if let Ok(notify) = notifier.notify(now, dialog, unsent_via(), 100, "Trying") {
                ep.send_request(now, notify, leg.peer);
            }
        }
        if let Some(at) = notifier.poll_timeout() {
            self.refer_deadlines.push(std::cmp::Reverse((at, id, ix)));
        }
        leg.refer = Some(notifier);
    }

    /// REFER subscriptions that expired before their transfer ended: the
    /// transferor hears `terminated;reason=timeout` (RFC 6665 §4.2.2), and a
    /// transferor whose leg only waited for the outcome is hung up.
    pub(super) fn refer_timeouts(&mut self, now: Instant, ep: &mut Endpoint) {
        while let Some(std::cmp::Reverse((at, id, ix))) = self.refer_deadlines.peek().copied() {
            if at > now {
                break;
            }
            self.refer_deadlines.pop();
            let Some(leg) = self.calls.get_mut(&id).and_then(|c| c.legs.get_mut(ix)) else {
                continue;
            };
            let Some(notifier) = leg.refer.as_mut() else {
                continue;
            };
            if notifier.poll_timeout().is_none_or(|t| t > now) {
                continue;
            }
            let notify = match leg.dialog.as_mut() {
                Some(dialog) => notifier.handle_timeout(now, dialog, unsent_via()),
                None => None,
            };
            if let Some(Ok(notify)) = notify {
                ep.send_request(now, notify, leg.peer);
            }
            leg.refer = None;
            let waiting = !leg.in_room && !leg.gone;
            tracing::info!(call = %id, leg = ix, "transfer subscription expired");
            if waiting {
                self.bye_leg(now, id, ix, ep);
            }
        }
    }

    /// Who a Refer-To names: a user of ours, or a dial number.
    fn refer_target(&self, uri: &rsip::Uri) -> Result<Target, String> {
        let user = uri
            .auth
            .as_ref()
            .map(|a| a.user.clone())
            .unwrap_or_default();
        if self.cfg.users.contains_key(&user) {
            return Ok(Target::Agent(user));
        }
        DialNumber::parse(&user)
            .map(Target::DialNumber)
            .map_err(|e| format!("{uri} is neither a user nor a dial number: {e}"))
    }

    /// Reports a REFER's outcome to the transferor (final NOTIFY), if one is
    /// pending on leg `ix`. True when there was one.
    pub(super) fn finish_refer(
        &mut self,
        now: Instant,
        id: CallId,
        ix: LegIx,
        status: u16,
        reason: &str,
        ep: &mut Endpoint,
    ) -> bool {
        let Some(leg) = self.calls.get_mut(&id).and_then(|c| c.legs.get_mut(ix)) else {
            return false;
        };
        let Some(mut notifier) = leg.refer.take() else {
            return false;
        };
        if let Some(dialog) = leg.dialog.as_mut() {
            if let Ok(notify) = notifier.notify(now, dialog, unsent_via(), status, reason) {
                ep.send_request(now, notify, leg.peer);
            }
        }
        true
    }

    /// A leg the model hung up that transferred by REFER: its media stops at
    /// once, its dialog waits for the transfer's outcome (final NOTIFY, then
    /// BYE). False when the leg has no REFER pending.
    pub(super) fn defer_bye_for_refer(&mut self, id: CallId, ix: LegIx) -> bool {
        let pending = self
            .calls
            .get(&id)
            .and_then(|c| c.legs.get(ix))
            .is_some_and(|l| l.refer.is_some() && !l.gone);
        if pending {
            self.leave_room(id, ix);
        }
        pending
    }

    /// A party answered: transferors waiting on REFER hear "200 OK" and leave.
    pub(super) fn refers_succeeded(&mut self, now: Instant, id: CallId, ep: &mut Endpoint) {
        let waiting: Vec<LegIx> = self
            .calls
            .get(&id)
            .map(|c| {
                c.legs
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.refer.is_some() && !l.in_room)
                    .map(|(ix, _)| ix)
                    .collect()
            })
            .unwrap_or_default();
        for ix in waiting {
            self.finish_refer(now, id, ix, 200, "OK", ep);
            self.bye_leg(now, id, ix, ep);
        }
    }

    /// An INVITE with Replaces (RFC 3891): the new phone takes the place of
    /// the leg whose dialog it names; that leg gets BYE. False when the
    /// INVITE has no Replaces (an ordinary new call).
    pub(super) fn on_invite_replaces(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        request: &Request,
        peer: Peer,
        offer: Option<&SessionDescription>,
        ep: &mut Endpoint,
    ) -> bool {
        let replaces = match request.typed_header::<Replaces>() {
            None => return false,
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                let w = Header::Warning(format!("399 sotto \"bad Replaces: {e}\"").into());
                self.reply(now, ep, tx, request, 400, vec![w]);
                return true;
            }
        };
        // §3: the To tag names our side of the dialog, the From tag the peer's.
        let key = (replaces.call_id.clone(), replaces.to_tag.clone());
        let Some(&(id, ix)) = self.by_dialog.get(&key) else {
            self.reply(now, ep, tx, request, 481, vec![]);
            return true;
        };
        let Some(leg) = self.calls.get(&id).and_then(|c| c.legs.get(ix)) else {
            self.reply(now, ep, tx, request, 481, vec![]);
            return true;
        };
        let matches = leg
            .dialog
            .as_ref()
            .is_some_and(|d| replaces.matches_dialog(d));
        if !matches || leg.gone {
            self.reply(now, ep, tx, request, 481, vec![]);
            return true;
        }
        if replaces.early_only && leg.confirmed {
            self.reply(now, ep, tx, request, 486, vec![]);
            return true;
        }
        let party = leg.party;
        let Some(port) = self.ports.take(now) else {
            self.reply(
                now,
                ep,
                tx,
                request,
                503,
                vec![Header::RetryAfter("5".into())],
            );
            return true;
        };
        let local = LocalMedia::new(self.ports.ip(), port);
        let mut session = LocalSession::new(self.random() >> 12, self.random() >> 12);
        let (sdp, remote) = match offer {
            Some(o) => match session.answer(o, &local) {
                Ok(ans) => (
                    ans.sdp.to_string(),
                    Some(super::b2bua::negotiated_remote(&ans.negotiated)),
                ),
                Err(e) => {
                    self.ports.give_back(port);
                    let w = Header::Warning(format!("304 sotto \"{e}\"").into());
                    self.reply(now, ep, tx, request, 488, vec![w]);
                    return true;
                }
            },
            None => (session.offer(&local).to_string(), None),
        };
        let media = self.bind_port(port);
        let uas = super::call::Uas {
            tx,
            invite: request.clone(),
            local_tag: self.token(),
            our_offer: None,
            answer_sdp: None,
            ringing: false,
        };
        let mut new_leg = super::call::Leg::new(Origin::Uas(uas), peer, session, media, port);
        if let Some(remote) = remote {
            new_leg.set_remote(remote, &mut self.out);
        }
        new_leg.party = party;
        if !self.answer_a_leg(now, &mut new_leg, &sdp, ep) {
            self.release_media(media, port);
            return true;
        }
        // The old phone leaves; the new one takes its party (and its place in
        // the media).
        if let Some(old) = self.calls.get_mut(&id).and_then(|c| c.legs.get_mut(ix)) {
            old.party = None;
        }
        self.leave_room(id, ix);
        self.bye_leg(now, id, ix, ep);
        let Some(call) = self.calls.get_mut(&id) else {
            return true;
        };
        let new_ix = call.legs.len();
        call.legs.push(new_leg);
        let leg = &call.legs[new_ix];
        let (key_tx, key) = (leg.uas().map(|u| u.tx), leg.key());
        if let Some(t) = key_tx {
            self.by_server_tx.insert(t, (id, new_ix));
        }
        if let Some(k) = key {
            self.by_dialog.insert(k, (id, new_ix));
        }
        self.by_leg.insert(media, (id, new_ix));
        self.join_room(id, new_ix);
        self.publish(now, id);
        true
    }

    /// REFER with Replaces from an agent's softphone (its own attended
    /// transfer): the agent talks to the customer on this call and to someone
    /// else on a second call through sotto; the far end of that second call
    /// joins this one in the agent's place (RFC 3891 semantics, done inside
    /// the B2BUA): its leg moves here, a re-INVITE points its media at this
    /// call's room, and the agent's two legs end.
    #[allow(clippy::too_many_arguments)]
    fn on_attended_refer(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        request: &Request,
        id: CallId,
        ix: LegIx,
        refer: &ReferRequest,
        replaces: &Replaces,
        ep: &mut Endpoint,
    ) {
        let warn = |why: &str| Header::Warning(format!("399 sotto \"{why}\"").into());
        // The Replaces names sotto's side of the second call as the target sees
        // it: To tag = our tag there.
        let key = (replaces.call_id.clone(), replaces.to_tag.clone());
        let Some(&(id2, j)) = self.by_dialog.get(&key) else {
            let w = warn("Replaces names no call of ours");
            return self.reply(now, ep, tx, request, 481, vec![w]);
        };
        let far = self.calls.get(&id2).and_then(|c| {
            let live: Vec<LegIx> = (0..c.legs.len())
                .filter(|&k| k != j && !c.legs[k].gone && c.legs[k].confirmed)
                .collect();
            match live.as_slice() {
                [k] => Some(*k),
                _ => None,
            }
        });
        let Some(k) = far.filter(|_| id2 != id) else {
            let w = warn("the replaced call must be a second two-party call");
            return self.reply(now, ep, tx, request, 501, vec![w]);
        };
        // Who the far end is, as a target of this call's model.
        let target = self.calls.get(&id2).and_then(|c| {
            let p = c.legs[k].party?;
            match &c.model.as_ref()?.party(p)?.kind {
                PartyKind::Agent { user } => Some(Target::Agent(user.clone())),
                PartyKind::DialNumber(n) => Some(Target::DialNumber(n.clone())),
                PartyKind::Customer => None,
            }
        });
        let target = match target {
            Some(t) => t,
            None => match self.refer_target(&refer.target) {
                Ok(t) => t,
                Err(why) => return self.reply(now, ep, tx, request, 404, vec![warn(&why)]),
            },
        };
        let Some(party) = self.calls.get(&id).and_then(|c| c.legs[ix].party) else {
            return self.reply(now, ep, tx, request, 403, vec![warn("not an agent's leg")]);
        };
        {
            let Some(model) = self.calls.get_mut(&id).and_then(|c| c.model.as_mut()) else {
                return self.reply(now, ep, tx, request, 403, vec![warn("no call control")]);
            };
            if let Err(refused) = model.consult(now, party, target) {
                let w = warn(&format!("{refused} ({})", refused.rule));
                return self.reply(now, ep, tx, request, 403, vec![w]);
            }
        }
        self.reply(now, ep, tx, request, 202, vec![]);
        self.accept_refer(now, id, ix, refer, ep);
        // The model's Dial for the consulted party adopts the far leg.
        self.adopting = Some((id2, k, party));
        self.drive(now, id, ep);
        if self.adopting.take().is_some() {
            // The model did not dial (it should have): give up cleanly.
            self.finish_refer(now, id, ix, 500, "Server Internal Error", ep);
            return;
        }
        // The agent's leg of the second call ends; its other leg moved here.
        self.hang_up(now, id2, "joined to another call (attended transfer)", ep);
    }

    /// Moves leg `k` of call `id2` into call `id` as `party`, and points its
    /// media at this call's room with a re-INVITE. The transfer completes
    /// when that re-INVITE is answered ([`Self::adopted_leg_answered`]).
    pub(super) fn adopt_leg(
        &mut self,
        now: Instant,
        id: CallId,
        party: PartyId,
        (id2, k, transferor): (CallId, LegIx, PartyId),
        ep: &mut Endpoint,
    ) -> bool {
        if self.calls.get(&id2).and_then(|c| c.legs.get(k)).is_none() {
            return false;
        }
        let Some((media, port)) = self.bind_media(now) else {
            return false;
        };
        let ip = self.ports.ip();
        // The far leg's media leaves the other call's room: its old port goes.
        self.leave_room(id2, k);
        let Some(old) = self.calls.get_mut(&id2).and_then(|c| c.legs.get_mut(k)) else {
            return false;
        };
        let tombstone = old.tombstone();
        let mut leg = std::mem::replace(old, tombstone);
        if self.by_leg.get(&leg.media) == Some(&(id2, k)) {
            self.by_leg.remove(&leg.media);
            self.release_media(leg.media, leg.rtp_port);
        }
        let key = leg.key();
        let origin_tx = match &leg.origin {
            Origin::Uas(u) => Err(u.tx),
            Origin::Uac(u) => Ok(u.tx),
        };
        leg.party = Some(party);
        leg.media = media;
        leg.rtp_port = port;
        leg.in_room = false;
        // Until the re-INVITE's answer: where it sent before, from the new port.
        let remote = leg.remote;
        leg.set_remote(remote, &mut self.out);
        leg.adopted_for = Some(transferor);
        let local = LocalMedia::new(ip, leg.rtp_port);
        let offer = leg.sdp.resume_offer(&local);
        let Some(call) = self.calls.get_mut(&id) else {
            return false;
        };
        let new_ix = call.legs.len();
        call.legs.push(leg);
        if let Some(k) = key {
            self.by_dialog.insert(k, (id, new_ix));
        }
        match origin_tx {
            Err(t) => {
                self.by_server_tx.insert(t, (id, new_ix));
            }
            Ok(t) => {
                self.by_client_tx.insert(t, (id, new_ix));
            }
        }
        self.by_leg.insert(media, (id, new_ix));
        let leg = &mut self.calls.get_mut(&id).expect("call above").legs[new_ix];
        let Ok(tx) = leg.send_reinvite(now, offer, ep) else {
            return false;
        };
        self.reinvites.insert(tx, (id, new_ix));
        true
    }

    /// The moved leg's re-INVITE was answered: it joins the room, the model
    /// hears it answered, and the transferor leaves (NOTIFY 200, BYE).
    pub(super) fn adopted_leg_answered(
        &mut self,
        now: Instant,
        id: CallId,
        ix: LegIx,
        ok: bool,
        ep: &mut Endpoint,
    ) {
        let Some(leg) = self.calls.get_mut(&id).and_then(|c| c.legs.get_mut(ix)) else {
            return;
        };
        let (Some(transferor), Some(party)) = (leg.adopted_for.take(), leg.party) else {
            return;
        };
        let Some(model) = self.calls.get_mut(&id).and_then(|c| c.model.as_mut()) else {
            return;
        };
        if !ok {
            model.on_failed(now, party, crate::callmodel::FailReason::Rejected);
            self.drive(now, id, ep);
            if let Some(t) = self.leg_of(id, transferor) {
                self.finish_refer(now, id, t, 488, "Not Acceptable Here", ep);
            }
            return;
        }
        model.on_answered(now, party);
        let transferred = model.transfer(now, transferor);
        self.join_room(id, ix);
        self.drive(now, id, ep);
        if let Err(refused) = transferred {
            tracing::info!(call = %id, %refused, "attended transfer not completed");
        }
        self.refers_succeeded(now, id, ep);
    }
}
