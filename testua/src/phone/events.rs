//! What the phone does with its endpoint's events and its own timers.

use rsip::headers::ToTypedHeader;
use rsip::{Header, Method, Request, Response};
use sotto_sip::dialog::{DialogId, RequestVerdict, ResponseOutcome};
use sotto_sip::endpoint::{make_response, unsent_via, ClientTxId, Event, Peer, ServerTxId};
use sotto_sip::headers::{ReferredBy, Replaces, TypedHeader, TypedHeaders};
use sotto_sip::message::{reason_phrase, to_tag};
use sotto_sip::refer::{ReferNotifier, ReferRequest, Sipfrag};

use super::call::{Call, CallHandle, CallState, Reoffer};
use super::{msg, AnswerMode, Phone, ReferMode, TxKind};

impl Phone {
    pub(super) fn handle_event(&mut self, event: Event) {
        match event {
            Event::Request { tx, request, peer } => self.on_request(tx, request, peer),
            Event::Ack { request, .. } => self.on_ack(request),
            Event::Cancelled { tx } => self.on_cancelled(tx),
            Event::Response { tx, response } => self.on_response(tx, response),
            Event::Timeout { tx } => self.on_client_timeout(tx),
            Event::AckTimeout { tx } => self.on_ack_timeout(tx),
        }
    }

    /// Due auto-answers and refusals, glare retries and REFER subscription expiries.
    pub(super) fn run_timers(&mut self) {
        let now = self.now;
        for i in 0..self.calls.len() {
            let h = CallHandle(i);
            if self.calls[i].answer_at.is_some_and(|t| t <= now) {
                self.calls[i].answer_at = None;
                let _ = self.answer(h);
            }
            if let Some((_, code)) = self.calls[i].refuse_at.filter(|(t, _)| *t <= now) {
                self.calls[i].refuse_at = None;
                let _ = self.reject(h, code);
            }
            let call = &mut self.calls[i];
            let retry = call
                .dialog
                .as_mut()
                .and_then(|d| d.handle_timeout(now))
                .is_some();
            if retry {
                if let Some(intent) = call.glare_retry.take() {
                    let _ = self.send_reinvite(h, intent);
                }
            }
            let call = &mut self.calls[i];
            let expired = match (call.notifier.as_mut(), call.dialog.as_mut()) {
                (Some(n), Some(d)) => n.handle_timeout(now, d, unsent_via()),
                _ => None,
            };
            match expired {
                Some(Ok(mut notify)) => {
                    self.common_headers(&mut notify.headers);
                    self.send(h, TxKind::Notify, notify);
                }
                // The dialog is gone, so no NOTIFY can end the subscription: end it
                // here, or its deadline would stay due for ever.
                Some(Err(_)) => {
                    if let Some(n) = self.calls[i].notifier.as_mut() {
                        n.on_timeout();
                    }
                }
                None => {}
            }
        }
    }

    /// The call whose dialog an incoming request belongs to.
    fn call_of_request(&self, request: &Request) -> Option<CallHandle> {
        let id = DialogId::from_request_as_uas(request)?;
        self.calls
            .iter()
            .rev()
            .find(|c| c.dialog.as_ref().is_some_and(|d| *d.id() == id))
            .map(|c| c.handle)
    }

    fn random_fn(&mut self) -> impl FnMut() -> u32 {
        let r = self.next_random();
        move || r
    }

    /// Answers a request outside the INVITE handling (a To tag is added if missing).
    fn reply(&mut self, tx: ServerTxId, request: &Request, code: u16, extra: Vec<Header>) {
        let tag = to_tag(request).is_none().then(|| self.token());
        let mut resp = make_response(request, code, tag.as_deref());
        self.common_headers(&mut resp.headers);
        resp.headers.extend(extra);
        self.ep.respond(self.now, tx, resp);
    }

    fn on_request(&mut self, tx: ServerTxId, request: Request, peer: Peer) {
        let method = request.method;
        self.requests.push(method);
        if to_tag(&request).is_none() {
            return match method {
                Method::Invite => self.on_new_invite(tx, request, peer),
                Method::Options => self.reply(tx, &request, 200, vec![]),
                Method::Bye
                | Method::Notify
                | Method::Info
                | Method::Update
                | Method::Refer
                | Method::PRack => self.reply(tx, &request, 481, vec![]),
                _ => self.reply(tx, &request, 405, vec![]),
            };
        }
        let Some(h) = self.call_of_request(&request) else {
            return self.reply(tx, &request, 481, vec![]);
        };
        self.calls[h.0].requests.push(method);
        let mut random = self.random_fn();
        let verdict = self.calls[h.0]
            .dialog
            .as_mut()
            .map(|d| d.on_request(&request, &mut random));
        match verdict {
            Some(Ok(RequestVerdict::Accept { .. })) => {}
            Some(Ok(RequestVerdict::Bye)) => {
                self.reply(tx, &request, 200, vec![]);
                if self.calls[h.0].final_code.is_none() && !self.calls[h.0].outgoing {
                    // A BYE in the early dialog of a call we had not answered.
                    let resp = self.invite_response(h, 487);
                    self.respond_invite(h, resp);
                    self.calls[h.0].final_code = Some(487);
                }
                self.calls[h.0].end(true);
                return;
            }
            Some(Ok(RequestVerdict::Reject(_)))
                if method == Method::Bye
                    && self.calls[h.0].state == (CallState::Terminated { by_peer: false }) =>
            {
                // Our BYE crossed theirs: the call is over either way.
                return self.reply(tx, &request, 200, vec![]);
            }
            Some(Ok(RequestVerdict::Reject(r))) => {
                let extra = r.retry_after().into_iter().collect();
                return self.reply(tx, &request, r.status_code().code(), extra);
            }
            Some(Ok(RequestVerdict::Absorb)) => return,
            Some(Err(_)) => return self.reply(tx, &request, 400, vec![]),
            None => return self.reply(tx, &request, 481, vec![]),
        }
        match method {
            Method::Invite | Method::Update => self.on_offer_in_dialog(h, tx, request),
            Method::Notify => self.on_notify(h, tx, request),
            Method::Refer => self.on_refer(h, tx, request),
            Method::Info | Method::Options | Method::Message => {
                self.reply(tx, &request, 200, vec![])
            }
            _ => self.reply(tx, &request, 405, vec![]),
        }
    }

    fn on_new_invite(&mut self, tx: ServerTxId, request: Request, peer: Peer) {
        let local_tag = self.token();
        let (session, media) = self.new_media();
        let remote_uri = request
            .headers
            .iter()
            .find_map(|h| match h {
                Header::From(f) => f.typed().ok().map(|t| t.uri.to_string()),
                _ => None,
            })
            .unwrap_or_default();
        let referred_by = request
            .headers
            .iter()
            .find_map(ReferredBy::value_of)
            .map(str::to_string);
        let h = CallHandle(self.calls.len());
        let mut call = Call::new(
            h,
            false,
            peer,
            self.now,
            request.clone(),
            local_tag,
            session,
            media,
            remote_uri,
        );
        call.invite_server_tx = Some(tx);
        call.requests.push(Method::Invite);
        call.referred_by = referred_by;
        self.calls.push(call);
        self.server_invites.insert(tx, h);

        if let Some(tags) = msg::unsupported_required(&request.headers) {
            return self.refuse_with(h, 420, vec![Header::Unsupported(tags.into())]);
        }
        match msg::sdp_of(&request.headers, &request.body) {
            Ok(Some(offer)) => {
                let call = &mut self.calls[h.0];
                call.saw_remote_sdp(&offer);
                call.remote_offer = Some(offer);
            }
            Ok(None) => {}
            Err(()) => return self.send_final_refusal(h, 488),
        }
        match request.typed_header::<Replaces>() {
            None => {}
            Some(Err(_)) => return self.send_final_refusal(h, 400),
            Some(Ok(replaces)) => return self.on_invite_replaces(h, replaces),
        }
        match self.cfg.answer {
            AnswerMode::Silent => {}
            AnswerMode::Ring => self.send_provisional(h, 180),
            AnswerMode::Progress => self.send_provisional(h, 183),
            AnswerMode::Answer => {
                self.send_provisional(h, 180);
                if self.calls[h.0].state == CallState::Ringing {
                    self.send_answer(h);
                }
            }
            AnswerMode::AnswerAfter(delay) => {
                self.send_provisional(h, 180);
                if self.calls[h.0].state == CallState::Ringing {
                    self.calls[h.0].answer_at = Some(self.now + delay);
                }
            }
            AnswerMode::Reject(code) => self.send_final_refusal(h, code),
            AnswerMode::RejectAfter(code, delay) => {
                self.send_provisional(h, 180);
                if self.calls[h.0].state == CallState::Ringing {
                    self.calls[h.0].refuse_at = Some((self.now + delay, code));
                }
            }
        }
    }

    /// RFC 3891 §3: take the place of the dialog the header names (answer at once, then
    /// end the replaced call), or refuse as the header's match says.
    fn on_invite_replaces(&mut self, h: CallHandle, replaces: Replaces) {
        self.calls[h.0].replaces_header = Some(replaces.clone());
        let found = replaces
            .find_replaced(self.calls.iter().filter_map(|c| c.dialog.as_ref()))
            .map(|d| d.id().clone());
        let id = match found {
            Ok(id) => id,
            Err(e) => return self.send_final_refusal(h, e.status_code()),
        };
        let Some(old) = self
            .calls
            .iter()
            .find(|c| c.dialog.as_ref().is_some_and(|d| *d.id() == id))
            .map(|c| c.handle)
        else {
            return self.send_final_refusal(h, 481);
        };
        self.calls[h.0].replaced = Some(old);
        self.send_answer(h);
        if self.calls[h.0].state == CallState::Confirmed {
            let _ = self.hangup(old);
        }
    }

    /// A re-INVITE or UPDATE the dialog accepted: answer its offer, or make one when
    /// it has none (a re-INVITE's answer then comes in the ACK).
    fn on_offer_in_dialog(&mut self, h: CallHandle, tx: ServerTxId, request: Request) {
        let is_invite = request.method == Method::Invite;
        let call = &mut self.calls[h.0];
        let sdp = match msg::sdp_of(&request.headers, &request.body) {
            Ok(Some(offer)) => {
                call.saw_remote_sdp(&offer);
                call.reoffers.push(Reoffer {
                    at: self.now,
                    direction: msg::offered_direction(&offer),
                    sdp: offer.clone(),
                });
                match call.session.answer(&offer, &call.media) {
                    Ok(a) => {
                        call.negotiated = Some(a.negotiated);
                        Some(a.sdp)
                    }
                    Err(e) => return self.reply_in_dialog(h, tx, &request, e.status_code(), None),
                }
            }
            Ok(None) if is_invite => {
                let offer = call.session.offer(&call.media);
                call.our_offer = Some(offer.clone());
                call.offer_in_2xx = true;
                Some(offer)
            }
            Ok(None) => None,
            Err(()) => return self.reply_in_dialog(h, tx, &request, 488, None),
        };
        if is_invite {
            self.server_invites.insert(tx, h);
        }
        self.reply_in_dialog(h, tx, &request, 200, sdp.map(|s| s.to_bytes()));
    }

    /// Answers an in-dialog request and tells the dialog (a final answer to a
    /// re-INVITE ends its server side).
    fn reply_in_dialog(
        &mut self,
        h: CallHandle,
        tx: ServerTxId,
        request: &Request,
        code: u16,
        sdp: Option<Vec<u8>>,
    ) {
        let mut resp = make_response(request, code, None);
        if request.method == Method::Invite && code < 300 {
            resp.headers.push(self.contact_header());
        }
        self.common_headers(&mut resp.headers);
        if let Some(body) = sdp {
            msg::set_body(&mut resp.headers, &mut resp.body, msg::SDP, body);
        }
        if let Some(d) = self.calls[h.0].dialog.as_mut() {
            let _ = d.on_response_sent(&resp);
        }
        self.ep.respond(self.now, tx, resp);
    }

    fn on_notify(&mut self, h: CallHandle, tx: ServerTxId, request: Request) {
        let call = &mut self.calls[h.0];
        if let Ok((status, _)) = Sipfrag::parse(&request.body) {
            call.notify_statuses.push(status);
        }
        let status = call
            .subscribers
            .iter_mut()
            .rev()
            .find(|s| s.matches(&request))
            .map_or(200, |s| s.on_notify(&request).status);
        self.reply(tx, &request, status, vec![]);
    }

    /// A REFER in call `h`: follow it (202, NOTIFY 100, INVITE the target) or refuse it.
    fn on_refer(&mut self, h: CallHandle, tx: ServerTxId, request: Request) {
        let first = self.calls[h.0].refers_received == 0;
        self.calls[h.0].refers_received += 1;
        if let ReferMode::Reject(code) = self.cfg.refer {
            return self.reply(tx, &request, code, vec![]);
        }
        let refer = match ReferRequest::from_request(&request) {
            Ok(r) => r,
            Err(e) => return self.reply(tx, &request, e.status_code(), vec![]),
        };
        self.calls[h.0].refers.push(refer.clone());
        let target = refer.target.clone();
        let accept_only = self.cfg.refer == ReferMode::Accept;
        if !accept_only && self.peer_for(&target).is_err() {
            return self.reply(tx, &request, 416, vec![]);
        }
        self.reply(tx, &request, 202, vec![]);
        let mut notifier = ReferNotifier::new(&refer, first, self.now);
        let now = self.now;
        let notify = self.calls[h.0]
            .dialog
            .as_mut()
            .map(|d| notifier.notify(now, d, unsent_via(), 100, "Trying"));
        self.calls[h.0].notifier = Some(notifier);
        if let Some(Ok(mut notify)) = notify {
            self.common_headers(&mut notify.headers);
            self.send(h, TxKind::Notify, notify);
        }
        if accept_only {
            return;
        }
        let mut extra = Vec::new();
        if let Some(r) = &refer.replaces {
            extra.push(r.to_header());
            extra.push(Header::Require(msg::SUPPORTED.into()));
        }
        if let Some(rb) = &refer.referred_by {
            extra.push(rb.to_header());
        }
        match self.place_call(target, true, extra) {
            Ok(new) => {
                self.calls[new.0].transfer_of = Some(h);
                self.calls[new.0].replaces_header = refer.replaces;
            }
            Err(_) => self.report_transfer(h, 503),
        }
    }

    /// Reports the final status of a call placed for a REFER to its transferor.
    fn report_transfer_of(&mut self, placed: CallHandle, code: u16) {
        if let Some(orig) = self.calls[placed.0].transfer_of {
            self.report_transfer(orig, code);
        }
    }

    pub(super) fn report_transfer(&mut self, orig: CallHandle, code: u16) {
        let now = self.now;
        let call = &mut self.calls[orig.0];
        let (Some(n), Some(d)) = (call.notifier.as_mut(), call.dialog.as_mut()) else {
            return;
        };
        if let Ok(mut notify) = n.notify(now, d, unsent_via(), code, reason_phrase(code)) {
            self.common_headers(&mut notify.headers);
            self.send(orig, TxKind::Notify, notify);
        }
    }

    fn on_ack(&mut self, request: Request) {
        self.requests.push(Method::Ack);
        let Some(h) = self.call_of_request(&request) else {
            return;
        };
        let mut random = self.random_fn();
        let call = &mut self.calls[h.0];
        call.requests.push(Method::Ack);
        let verdict = call
            .dialog
            .as_mut()
            .map(|d| d.on_request(&request, &mut random));
        if !matches!(verdict, Some(Ok(RequestVerdict::Accept { .. }))) || !call.offer_in_2xx {
            return;
        }
        call.offer_in_2xx = false;
        let offer = call.our_offer.take();
        if let (Some(offer), Ok(Some(answer))) =
            (offer, msg::sdp_of(&request.headers, &request.body))
        {
            call.saw_remote_sdp(&answer);
            if let Ok(n) = call.session.process_answer(&offer, &answer) {
                call.negotiated = Some(n);
            }
        }
    }

    fn on_cancelled(&mut self, tx: ServerTxId) {
        self.requests.push(Method::Cancel);
        let Some(&h) = self.server_invites.get(&tx) else {
            return;
        };
        self.calls[h.0].requests.push(Method::Cancel);
        if self.calls[h.0].final_code.is_none() {
            let resp = self.invite_response(h, 487);
            self.respond_invite(h, resp);
            self.calls[h.0].final_code = Some(487);
            self.calls[h.0].end(true);
        }
    }

    fn on_response(&mut self, tx: ClientTxId, response: Response) {
        let Some(ctx) = self.client_txs.get(&tx).copied() else {
            return;
        };
        let code = response.status_code.code();
        let is_invite = matches!(ctx.kind, TxKind::Invite | TxKind::ReInvite);
        if code >= 200 && !(is_invite && code < 300) {
            // Done; an INVITE's 2xx may come again and is ACKed by the endpoint.
            self.client_txs.remove(&tx);
        }
        if ctx.kind == TxKind::Register {
            return self.on_register_response(&response);
        }
        let Some(h) = ctx.call else {
            return;
        };
        self.calls[h.0].record_response(&response);
        match ctx.kind {
            TxKind::Invite => self.on_invite_response(h, tx, response),
            TxKind::ReInvite => self.on_reinvite_response(h, tx, response),
            TxKind::Refer(i) => {
                self.in_dialog_response(h, &response);
                if let Some(s) = self.calls[h.0].subscribers.get_mut(i) {
                    let _ = s.on_refer_response(code);
                }
            }
            TxKind::Notify => {
                if code >= 200 {
                    if let Some(n) = self.calls[h.0].notifier.as_mut() {
                        n.on_response(code);
                    }
                }
                self.in_dialog_response(h, &response);
            }
            TxKind::Bye | TxKind::Info => self.in_dialog_response(h, &response),
            TxKind::Register => {}
        }
    }

    /// A response to a non-INVITE request in the dialog: 481 and 408 end it.
    fn in_dialog_response(&mut self, h: CallHandle, response: &Response) {
        let now = self.now;
        let mut random = self.random_fn();
        let call = &mut self.calls[h.0];
        let outcome = call
            .dialog
            .as_mut()
            .map(|d| d.on_response(now, response, &mut random));
        if matches!(outcome, Some(Ok(ResponseOutcome::Terminated))) {
            call.end(true);
        }
    }

    /// Makes or updates the UAC dialog of call `h` from a response with a To tag.
    fn uac_dialog(&mut self, h: CallHandle, response: &Response) {
        let now = self.now;
        let mut random = self.random_fn();
        let call = &mut self.calls[h.0];
        let Some(tag) = to_tag(response) else {
            return;
        };
        match call.dialog.as_mut() {
            Some(d) if d.remote_tag().as_str() == tag => {
                let _ = d.on_response(now, response, &mut random);
            }
            // The first dialog, or a 2xx from another fork: that one wins.
            Some(_) if response.status_code.code() < 200 => {}
            _ => {
                if let Ok(d) = sotto_sip::dialog::Dialog::from_uac(&call.invite, response) {
                    call.dialog = Some(d);
                }
            }
        }
    }

    fn on_invite_response(&mut self, h: CallHandle, tx: ClientTxId, response: Response) {
        let code = response.status_code.code();
        match code {
            100 => {}
            101..=199 => {
                self.uac_dialog(h, &response);
                let call = &mut self.calls[h.0];
                if call.state.is_early() {
                    call.state = if code == 180 || call.state == CallState::Ringing {
                        CallState::Ringing
                    } else {
                        CallState::Early
                    };
                }
                if let Ok(Some(sdp)) = msg::sdp_of(&response.headers, &response.body) {
                    call.saw_remote_sdp(&sdp);
                    if let Some(offer) = call.our_offer.as_ref() {
                        if let Ok(n) = call.session.process_answer(offer, &sdp) {
                            call.negotiated = Some(n);
                        }
                    }
                }
            }
            200..=299 => self.on_invite_2xx(h, tx, response),
            _ => {
                let now = self.now;
                let mut random = self.random_fn();
                let call = &mut self.calls[h.0];
                if let Some(d) = call.dialog.as_mut() {
                    let _ = d.on_response(now, &response, &mut random);
                }
                call.final_code = Some(code);
                call.our_offer = None;
                let by_us = call.cancel_sent && code == 487;
                call.end(!by_us);
                self.report_transfer_of(h, code);
            }
        }
    }

    fn on_invite_2xx(&mut self, h: CallHandle, tx: ClientTxId, response: Response) {
        let code = response.status_code.code();
        if self.calls[h.0].acked {
            return; // a retransmission: the endpoint re-sent our ACK
        }
        self.uac_dialog(h, &response);
        let call = &mut self.calls[h.0];
        call.final_code = Some(code);
        let Some(dialog) = call.dialog.as_ref() else {
            // A 2xx that makes no dialog (no Contact, no To tag): nothing to ACK with.
            call.end(true);
            return self.report_transfer_of(h, 502);
        };
        let invite_cseq = sotto_sip::message::cseq(&call.invite).map_or(1, |c| c.0);
        let mut ack = dialog.create_ack(invite_cseq, unsent_via());
        if let Some(body) = complete_offer_answer(call, &response) {
            msg::set_body(&mut ack.headers, &mut ack.body, msg::SDP, body);
        }
        let peer = call.peer;
        self.ep.ack_2xx(tx, ack, peer);
        let call = &mut self.calls[h.0];
        call.acked = true;
        call.state = CallState::Confirmed;
        call.answered_at = Some(self.now);
        if call.cancel_sent {
            // Our CANCEL crossed the 2xx (§9.1): the call is up, so end it with BYE.
            let _ = self.send_bye(h);
        }
        self.report_transfer_of(h, code);
    }

    fn on_reinvite_response(&mut self, h: CallHandle, tx: ClientTxId, response: Response) {
        let code = response.status_code.code();
        let now = self.now;
        let mut random = self.random_fn();
        let call = &mut self.calls[h.0];
        let outcome = call
            .dialog
            .as_mut()
            .map(|d| d.on_response(now, &response, &mut random));
        if code < 200 {
            return;
        }
        let pending = call.reinvite.filter(|p| p.tx == tx);
        if (200..300).contains(&code) {
            if pending.is_none() {
                return; // a retransmission: the endpoint re-sent our ACK
            }
            call.reinvite = None;
            let Some(dialog) = call.dialog.as_ref() else {
                return;
            };
            let cseq = sotto_sip::message::cseq(&response).map_or(1, |c| c.0);
            let mut ack = dialog.create_ack(cseq, unsent_via());
            if let Some(body) = complete_offer_answer(call, &response) {
                msg::set_body(&mut ack.headers, &mut ack.body, msg::SDP, body);
            }
            let peer = call.peer;
            self.ep.ack_2xx(tx, ack, peer);
            return;
        }
        call.reinvite = None;
        call.our_offer = None;
        if let Some(p) = pending {
            // §14.1: a failed re-INVITE leaves the session as it was.
            call.session.set_holding(p.was_holding);
            if matches!(outcome, Some(Ok(ResponseOutcome::RetryReInviteAt(_)))) {
                call.glare_retry = Some(p.intent);
            }
        }
        if matches!(outcome, Some(Ok(ResponseOutcome::Terminated))) {
            call.end(true);
        }
    }

    fn on_client_timeout(&mut self, tx: ClientTxId) {
        let Some(ctx) = self.client_txs.remove(&tx) else {
            return;
        };
        let Some(h) = ctx.call else {
            return self.on_register_timeout();
        };
        let call = &mut self.calls[h.0];
        let method = match ctx.kind {
            TxKind::Invite | TxKind::ReInvite => Method::Invite,
            TxKind::Bye => Method::Bye,
            TxKind::Refer(_) => Method::Refer,
            TxKind::Notify => Method::Notify,
            TxKind::Info => Method::Info,
            TxKind::Register => Method::Register,
        };
        call.timeouts.push(method);
        match ctx.kind {
            TxKind::Invite => {
                call.final_code = Some(408);
                call.end(false);
                self.report_transfer_of(h, 408);
            }
            TxKind::ReInvite => {
                if let Some(p) = call.reinvite.take() {
                    call.session.set_holding(p.was_holding);
                }
                call.our_offer = None;
                // §12.2.1.2: a 408 to an in-dialog request ends the dialog.
                call.end(false);
            }
            TxKind::Refer(i) => {
                if let Some(s) = call.subscribers.get_mut(i) {
                    let _ = s.on_refer_timeout();
                }
            }
            TxKind::Notify => {
                if let Some(n) = call.notifier.as_mut() {
                    n.on_timeout();
                }
            }
            TxKind::Bye | TxKind::Info | TxKind::Register => {}
        }
    }

    /// Our 2xx was never ACKed (§13.3.1.4): end the call with BYE.
    fn on_ack_timeout(&mut self, tx: ServerTxId) {
        let Some(&h) = self.server_invites.get(&tx) else {
            return;
        };
        self.calls[h.0].timeouts.push(Method::Ack);
        if self.calls[h.0].state == CallState::Confirmed {
            let _ = self.send_bye(h);
        }
    }
}

/// Completes the offer/answer of an INVITE or re-INVITE with its 2xx: reads the answer
/// to our offer, or answers the offer the 2xx carries (the answer goes in the ACK, and
/// is returned).
fn complete_offer_answer(call: &mut Call, response: &Response) -> Option<Vec<u8>> {
    let sdp = msg::sdp_of(&response.headers, &response.body)
        .ok()
        .flatten();
    match (call.our_offer.take(), sdp) {
        (Some(offer), Some(answer)) => {
            call.saw_remote_sdp(&answer);
            if let Ok(n) = call.session.process_answer(&offer, &answer) {
                call.negotiated = Some(n);
            }
            None
        }
        (None, Some(offer)) => {
            call.saw_remote_sdp(&offer);
            let a = call.session.answer(&offer, &call.media).ok()?;
            call.negotiated = Some(a.negotiated);
            Some(a.sdp.to_bytes())
        }
        _ => None,
    }
}
