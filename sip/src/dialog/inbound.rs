//! What arrives in a dialog: the peer's requests (§12.2.2, §14.2), the responses to our
//! requests (§12.2.1.2, §13.2.2.4, §14.1), and the responses we send as UAS.

use std::time::Instant;

use rsip::headers::{RetryAfter, UntypedHeader};
use rsip::{Method, Request, Response};

use super::error::DialogError;
use super::fields::{self, FieldError};
use super::id::DialogId;
use super::is_target_refresh;
use super::route::RouteSet;
use super::state::{Dialog, DialogState};

/// What to do with an in-dialog request the peer sent, once the dialog has seen it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum RequestVerdict {
    /// Hand the request to the application. `target_refreshed`: its Contact changed the
    /// remote target.
    Accept {
        /// The request's Contact became the new remote target (a target refresh).
        target_refreshed: bool,
    },
    /// A BYE: the dialog is now terminated; answer 200 and end the session (§15.1.2).
    Bye,
    /// Answer with [`Rejection::status_code`] (plus [`Rejection::retry_after`]) and hand
    /// the request no further; the dialog is unchanged except its remote CSeq.
    Reject(Rejection),
    /// An ACK that acknowledges nothing pending (a retransmission): drop it silently.
    Absorb,
}

/// Why the dialog refuses a request, and so which response the caller must send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// §12.2.2: CSeq lower than the last one the peer used: 500.
    OutOfOrder {
        /// The request's CSeq number.
        cseq: u32,
        /// The highest CSeq number the peer had used before it.
        remote_cseq: u32,
    },
    /// §14.2: our own INVITE on this dialog is in progress (glare): 491.
    RequestPending,
    /// §14.2: an earlier INVITE still awaits our final response: 500 with Retry-After.
    InviteStillPending {
        /// The Retry-After value to send, in seconds (0–10, chosen at random).
        retry_after_secs: u32,
    },
    /// §12.2.2: the dialog no longer exists: 481.
    DialogGone,
}

impl Rejection {
    /// The status code of the response to send: 500, 491 or 481.
    pub fn status_code(&self) -> rsip::StatusCode {
        rsip::StatusCode::from(match self {
            Self::OutOfOrder { .. } | Self::InviteStillPending { .. } => 500,
            Self::RequestPending => 491,
            Self::DialogGone => 481,
        })
    }

    /// The Retry-After header the response must carry, if any (§14.2: 0–10 s).
    pub fn retry_after(&self) -> Option<rsip::Header> {
        match self {
            Self::InviteStillPending { retry_after_secs } => {
                Some(RetryAfter::new(retry_after_secs.to_string()).into())
            }
            _ => None,
        }
    }
}

/// What a response did to the dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum ResponseOutcome {
    /// Nothing the caller must act on changed.
    Unchanged,
    /// The response's Contact replaced the remote target (§12.2.1.2).
    TargetRefreshed,
    /// A 2xx confirmed the early dialog (route set recomputed, §13.2.2.4). As UAC, the
    /// caller now sends the ACK ([`Dialog::create_ack`]).
    Confirmed,
    /// Our re-INVITE met glare (491): it may be sent again at this instant (§14.1), as
    /// [`Dialog::poll_timeout`] / [`Dialog::handle_timeout`] also report.
    RetryReInviteAt(Instant),
    /// The dialog is terminated: a 481 or 408 to an in-dialog request (§12.2.1.2), or a
    /// non-2xx final response ending an early dialog.
    Terminated,
}

fn peer(e: FieldError) -> DialogError {
    super::error::PeerMisbehaved::BadHeader {
        header: e.0,
        problem: e.1,
    }
    .into()
}

impl Dialog {
    /// An in-dialog request from the peer (§12.2.2). `random` is drawn only for a
    /// §14.2 Retry-After.
    ///
    /// ACKs are matched against the 2xx we wait on and never rejected. Other requests:
    /// a terminated dialog answers 481; a CSeq lower than the remote CSeq answers 500;
    /// otherwise the remote CSeq advances. An INVITE then meets the §14.2 glare rules;
    /// an accepted target refresh request updates the remote target from its Contact;
    /// a BYE terminates the dialog.
    pub fn on_request(
        &mut self,
        request: &Request,
        random: &mut impl FnMut() -> u32,
    ) -> Result<RequestVerdict, DialogError> {
        if DialogId::from_request_as_uas(request).as_ref() != Some(&self.id) {
            return Err(DialogError::NotThisDialog);
        }
        let cseq = fields::cseq(&request.headers).map_err(peer)?.seq;
        // Parsed before any state changes, so a malformed request changes nothing.
        let contact = match is_target_refresh(request.method) {
            true => fields::contact(&request.headers).map_err(peer)?,
            false => None,
        };
        if request.method == Method::Ack {
            let acked = self.state != DialogState::Terminated && self.invites.on_ack_received(cseq);
            return Ok(if acked {
                RequestVerdict::Accept {
                    target_refreshed: false,
                }
            } else {
                RequestVerdict::Absorb
            });
        }
        if self.state == DialogState::Terminated {
            return Ok(RequestVerdict::Reject(Rejection::DialogGone));
        }
        match self.remote_cseq {
            Some(remote_cseq) if cseq < remote_cseq => {
                return Ok(RequestVerdict::Reject(Rejection::OutOfOrder {
                    cseq,
                    remote_cseq,
                }))
            }
            _ => self.remote_cseq = Some(cseq),
        }
        match request.method {
            Method::Bye => {
                self.state = DialogState::Terminated;
                return Ok(RequestVerdict::Bye);
            }
            Method::Invite => {
                if let Err(rejection) = self.invites.on_invite_received(cseq, random) {
                    return Ok(RequestVerdict::Reject(rejection));
                }
            }
            _ => {}
        }
        Ok(RequestVerdict::Accept {
            target_refreshed: self.refresh_target(contact),
        })
    }

    /// A response to a request we sent in this dialog (or to the INVITE that created it).
    /// `random` is drawn only for a §14.1 glare back-off.
    pub fn on_response(
        &mut self,
        now: Instant,
        response: &Response,
        random: &mut impl FnMut() -> u32,
    ) -> Result<ResponseOutcome, DialogError> {
        let status = response.status_code.code();
        let cseq = fields::cseq(&response.headers).map_err(peer)?;
        let from = fields::from(&response.headers).map_err(peer)?;
        let to = fields::to(&response.headers).map_err(peer)?;
        if fields::call_id(&response.headers).map_err(peer)? != self.id.call_id.as_str()
            || fields::tag_of(&from.params) != Some(self.id.local_tag.as_str())
        {
            return Err(DialogError::NotThisDialog);
        }
        let contact = fields::contact(&response.headers).map_err(peer)?;
        let record_route = fields::record_route(&response.headers).map_err(peer)?;
        let to_tag = fields::tag_of(&to.params);
        // A non-2xx final answer ends the whole transaction, whatever its To tag (§13.2.2.3).
        if to_tag != Some(self.id.remote_tag.as_str()) && status < 300 {
            return match (to_tag, status) {
                (None, 100..=199) => Ok(ResponseOutcome::Unchanged),
                _ => Err(DialogError::NotThisDialog),
            };
        }
        if self.state == DialogState::Terminated {
            return Ok(ResponseOutcome::Unchanged);
        }
        if status == 481 || status == 408 {
            self.invites
                .on_invite_response(now, status, cseq.seq, random);
            self.state = DialogState::Terminated;
            return Ok(ResponseOutcome::Terminated);
        }
        if cseq.method != Method::Invite {
            let refreshed = (200..300).contains(&status)
                && is_target_refresh(cseq.method)
                && self.refresh_target(contact);
            return Ok(refreshed_or_unchanged(refreshed));
        }
        if let Some(retry_at) = self
            .invites
            .on_invite_response(now, status, cseq.seq, random)
        {
            return Ok(ResponseOutcome::RetryReInviteAt(retry_at));
        }
        match (status, self.state) {
            (101..=199, _) => Ok(refreshed_or_unchanged(self.refresh_target(contact))),
            (200..=299, DialogState::Early) => {
                self.route_set = RouteSet::from_record_route_as_uac(record_route);
                self.refresh_target(contact);
                self.state = DialogState::Confirmed;
                Ok(ResponseOutcome::Confirmed)
            }
            (200..=299, _) => Ok(refreshed_or_unchanged(self.refresh_target(contact))),
            // §13.2.2.3: the INVITE failed, so its early dialogs end.
            (_, DialogState::Early) => {
                self.state = DialogState::Terminated;
                Ok(ResponseOutcome::Terminated)
            }
            // §14.1: a failed re-INVITE leaves the session as it was.
            _ => Ok(ResponseOutcome::Unchanged),
        }
    }

    /// A response we (as UAS) send to the peer's request in this dialog. A final answer
    /// to an INVITE ends the server side of §14 glare tracking; a 2xx confirms an early
    /// dialog, a non-2xx final to the dialog-creating INVITE terminates it.
    pub fn on_response_sent(
        &mut self,
        response: &Response,
    ) -> Result<ResponseOutcome, DialogError> {
        let status = response.status_code.code();
        let cseq = fields::cseq(&response.headers)
            .map_err(|(header, problem)| DialogError::BadLocalMessage { header, problem })?;
        if cseq.method != Method::Invite || status < 200 || self.state == DialogState::Terminated {
            return Ok(ResponseOutcome::Unchanged);
        }
        self.invites.on_final_response_sent(status, cseq.seq);
        Ok(match (status, self.state) {
            (200..=299, DialogState::Early) => {
                self.state = DialogState::Confirmed;
                ResponseOutcome::Confirmed
            }
            (300.., DialogState::Early) => {
                self.state = DialogState::Terminated;
                ResponseOutcome::Terminated
            }
            _ => ResponseOutcome::Unchanged,
        })
    }

    /// Replace the remote target with the message's Contact, if it has one. True when
    /// the target changed.
    fn refresh_target(&mut self, contact: Option<rsip::typed::Contact>) -> bool {
        match contact {
            Some(contact) if contact.uri != self.remote_target => {
                self.remote_target = contact.uri;
                true
            }
            _ => false,
        }
    }
}

fn refreshed_or_unchanged(refreshed: bool) -> ResponseOutcome {
    if refreshed {
        ResponseOutcome::TargetRefreshed
    } else {
        ResponseOutcome::Unchanged
    }
}
