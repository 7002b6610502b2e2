//! Transfers toward SIP peers by REFER (config `trunk.transfer = "refer"`,
//! `docs/call-control.md`): instead of bridging, sotto asks the trunk's side of the
//! customer's call to call the target itself — REFER (RFC 3515) for a blind
//! transfer, REFER with Replaces (RFC 3891) naming the consult leg's dialog
//! for a consult transfer — and follows the NOTIFYs. When the peer reports
//! success the call has left sotto and its legs are hung up; when it fails,
//! the call goes on as it was.

use super::call::LegIx;
use super::control::ControlError;
use super::output::CallId;
use super::CallCore;
use crate::callmodel::{CallEventView, PartyId, PartyKind, Role, Target};
use rsip::{Header, Method, Request};
use sotto_sip::endpoint::{unsent_via, ClientTxId, Endpoint, ServerTxId};
use sotto_sip::headers::Replaces;
use sotto_sip::refer::{refer_to_value, ReferOutcome, ReferSubscriber};
use std::net::SocketAddr;
use std::time::Instant;

impl CallCore {
    /// The trunk's address, when transfers toward it go by REFER.
    fn refer_trunk(&self) -> Option<SocketAddr> {
        if !self.cfg.trunk_refer {
            return None;
        }
        let probe = self.cfg.trunk_uri.replace("{number}", "0");
        let uri = sotto_sip::message::parse_uri(&probe)?;
        let ip = uri.host_with_port.host.to_string().parse().ok()?;
        let port = uri.host_with_port.port.map(|p| *p.value()).unwrap_or(5060);
        Some(SocketAddr::new(ip, port))
    }

    /// The customer's leg, when it comes from the trunk and transfers toward
    /// the trunk go by REFER.
    fn trunk_customer_leg(&self, id: CallId) -> Option<LegIx> {
        let trunk = self.refer_trunk()?;
        let call = self.calls.get(&id)?;
        let model = call.model.as_ref()?;
        let customer = model.parties().find(|p| p.role == Role::Customer)?.id;
        call.legs.iter().position(|l| {
            l.party == Some(customer) && l.peer.addr == trunk && l.confirmed && !l.gone
        })
    }

    /// A transfer the agent asked for, done by REFER when the customer is on
    /// the trunk and the trunk transfers by REFER. None: not such a call (the
    /// caller bridges as usual); Some(result): done here.
    pub(super) fn try_refer_transfer(
        &mut self,
        now: Instant,
        id: CallId,
        by: PartyId,
        blind_target: Option<&Target>,
        ep: &mut Endpoint,
    ) -> Option<Result<(), ControlError>> {
        let customer_ix = self.trunk_customer_leg(id)?;
        let call = self.calls.get(&id)?;
        let model = call.model.as_ref()?;
        // The model's rules still apply: ask a copy whether it would allow it.
        let mut probe = model.clone();
        let check = match blind_target {
            Some(t) => probe.blind_transfer(now, by, t.clone()).map(|_| ()),
            None => probe.transfer(now, by),
        };
        if let Err(refused) = check {
            return Some(Err(ControlError::Refused(refused)));
        }
        let refer_to = match blind_target {
            Some(t) => {
                let uri = self.target_uri(t)?;
                refer_to_value(&uri, None)
            }
            None => {
                // The consulted party's leg: the peer INVITEs its target with
                // Replaces naming that dialog, as the target sees it.
                let consulted = model
                    .parties()
                    .find(|p| p.role == Role::Consulted && p.answered)?;
                if !matches!(consulted.kind, PartyKind::DialNumber(_)) {
                    return None; // an agent of ours: bridge inside sotto
                }
                let leg = call.legs.iter().find(|l| l.party == Some(consulted.id))?;
                let dialog = leg.dialog.as_ref()?;
                let call_id = sotto_sip::message::call_id(leg.invite())?.to_string();
                let replaces = Replaces::new(
                    call_id,
                    dialog.remote_tag().as_str(),
                    dialog.local_tag().as_str(),
                );
                refer_to_value(dialog.remote_target(), Some(&replaces))
            }
        };
        let leg = self.calls.get_mut(&id)?.legs.get_mut(customer_ix)?;
        if leg.refer_out.is_some() {
            return Some(Err(ControlError::BadRequest(
                "a transfer by REFER is already in progress".into(),
            )));
        }
        let dialog = leg.dialog.as_mut()?;
        let mut refer = dialog.create_request(Method::Refer, unsent_via()).ok()?;
        refer
            .headers
            .push(Header::Other("Refer-To".into(), refer_to));
        refer.headers.push(Header::Other(
            "Referred-By".into(),
            format!("<{}>", dialog.local_uri()),
        ));
        let sub = ReferSubscriber::new(&refer, true).ok()?;
        let tx = ep.send_request(now, refer, leg.peer);
        leg.refer_out = Some(sub);
        self.refers_out.insert(tx, (id, customer_ix));
        self.note(id, CallEventView::TransferReferSent);
        Some(Ok(()))
    }

    /// Where a target is reached, as a URI a peer can call.
    fn target_uri(&self, target: &Target) -> Option<rsip::Uri> {
        let text = match target {
            Target::DialNumber(n) => self.cfg.trunk_uri.replace("{number}", n.as_str()),
            Target::Agent(user) => format!("sip:{user}@{}", self.cfg.local),
        };
        sotto_sip::message::parse_uri(&text)
    }

    /// The answer to a REFER we sent.
    pub(super) fn on_refer_response(
        &mut self,
        now: Instant,
        tx: ClientTxId,
        code: u16,
        ep: &mut Endpoint,
    ) {
        if code < 200 {
            return;
        }
        let Some((id, ix)) = self.refers_out.remove(&tx) else {
            return;
        };
        let Some(sub) = self
            .calls
            .get_mut(&id)
            .and_then(|c| c.legs.get_mut(ix))
            .and_then(|l| l.refer_out.as_mut())
        else {
            return;
        };
        let outcome = sub.on_refer_response(code);
        self.on_refer_outcome(now, id, ix, outcome, ep);
    }

    /// A NOTIFY in a dialog: our REFER's progress, or no subscription (481).
    pub(super) fn on_notify(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        request: Request,
        ep: &mut Endpoint,
    ) {
        let Some((id, ix)) = self.find_dialog(&request) else {
            return self.reply(now, ep, tx, &request, 481, vec![]);
        };
        let answer = self
            .calls
            .get_mut(&id)
            .and_then(|c| c.legs.get_mut(ix))
            .and_then(|l| {
                if let Some(d) = l.dialog.as_mut() {
                    let _ = d.on_request(&request, &mut || 0u32);
                }
                l.refer_out.as_mut()
            })
            .map(|sub| sub.on_notify(&request));
        let Some(answer) = answer else {
            return self.reply(now, ep, tx, &request, 481, vec![]);
        };
        self.reply(now, ep, tx, &request, answer.status, vec![]);
        self.on_refer_outcome(now, id, ix, answer.outcome, ep);
    }

    fn on_refer_outcome(
        &mut self,
        now: Instant,
        id: CallId,
        ix: LegIx,
        outcome: ReferOutcome,
        ep: &mut Endpoint,
    ) {
        match outcome {
            ReferOutcome::Pending => {}
            ReferOutcome::Succeeded(code) => {
                self.note(id, CallEventView::TransferReferSucceeded { status: code });
                self.hang_up(now, id, "transferred by REFER", ep);
            }
            ReferOutcome::Failed(code) => {
                if let Some(leg) = self.calls.get_mut(&id).and_then(|c| c.legs.get_mut(ix)) {
                    leg.refer_out = None;
                }
                self.note(id, CallEventView::TransferReferFailed { status: code });
                self.publish(now, id);
            }
        }
    }

    /// An event of the call: added to what the API shows of it (the last
    /// 64) and told to the runtime.
    pub(super) fn note(&mut self, id: CallId, event: CallEventView) {
        if let Some(call) = self.calls.get_mut(&id) {
            tracing::info!(call = %call.name, ?event, "call event");
            if call.events.len() >= 64 {
                call.events.remove(0);
            }
            call.events.push(event.clone());
            self.out.push_back(super::Output::Event { call: id, event });
        }
    }
}
