//! The subscriber of a REFER's implicit subscription (RFC 3515 §2.4.4–§2.4.7, RFC 6665
//! §4.1): we sent a REFER and follow the NOTIFYs that report what the referenced
//! request got.
//!
//! ```text
//! let refer = dialog.create_request(Method::Refer, via)?;  // + Refer-To, Referred-By
//! let mut sub = ReferSubscriber::new(&refer, first_refer_in_dialog)?;
//! sub.on_refer_response(202);                              // or 4xx-6xx: Failed
//! let answer = sub.on_notify(&notify);                     // after Dialog::on_request
//! respond(answer.status);                                  // 200, or 481/489/400
//! match answer.outcome { ReferOutcome::Succeeded(_) => hang_up_our_leg(), ... }
//! ```
//! A NOTIFY may arrive before the response to the REFER (RFC 3515 §2.4.4 lets the
//! notifier send it at once, RFC 6665 §4.1.2.4): it is accepted and counts as the
//! REFER being accepted.

use rsip::Request;

use super::notifier::REFER_EVENT;
use super::sipfrag::Sipfrag;
use super::ReferError;
use crate::headers::{Event, SubState, SubscriptionState, TypedHeaders};

/// Where the transfer stands, as the subscriber knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferOutcome {
    /// No final status yet.
    Pending,
    /// The referenced request got this 2xx: the transfer happened.
    Succeeded(u16),
    /// The REFER was refused with this status, or the referenced request failed
    /// with it, or the subscription ended with no final status (the last status seen,
    /// provisional, is given then): the transfer did not happen (as far as we know).
    Failed(u16),
}

/// The response to send to a NOTIFY, and the outcome after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct NotifyAnswer {
    /// 200; 481 for a NOTIFY of no subscription of ours (RFC 6665 §4.1.3); 489 for
    /// another event package (RFC 6665 §8.3.2); 400 for a malformed NOTIFY.
    pub status: u16,
    /// What is known of the transfer after this NOTIFY.
    pub outcome: ReferOutcome,
}

/// One REFER's implicit subscription, subscriber side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferSubscriber {
    refer_cseq: u32,
    first_in_dialog: bool,
    accepted: bool,
    terminated: bool,
    last_status: Option<u16>,
    outcome: ReferOutcome,
}

impl ReferSubscriber {
    /// The subscription the REFER we are sending will create. `first_in_dialog`: it is
    /// the first REFER in its dialog, so NOTIFYs without an Event `id` are its own
    /// (RFC 3515 §2.4.6).
    pub fn new(refer: &Request, first_in_dialog: bool) -> Result<Self, ReferError> {
        let (cseq, _) = crate::message::cseq(refer).ok_or(ReferError::BadCSeq)?;
        Ok(Self::from_cseq(cseq, first_in_dialog))
    }

    /// As [`ReferSubscriber::new`], from the REFER's CSeq number.
    pub fn from_cseq(refer_cseq: u32, first_in_dialog: bool) -> Self {
        Self {
            refer_cseq,
            first_in_dialog,
            accepted: false,
            terminated: false,
            last_status: None,
            outcome: ReferOutcome::Pending,
        }
    }

    /// What is known of the transfer so far.
    pub fn outcome(&self) -> ReferOutcome {
        self.outcome
    }

    /// The last status a NOTIFY reported.
    pub fn last_status(&self) -> Option<u16> {
        self.last_status
    }

    /// The REFER got a 2xx, or a NOTIFY already arrived.
    pub fn is_accepted(&self) -> bool {
        self.accepted
    }

    /// No NOTIFY will follow.
    pub fn is_terminated(&self) -> bool {
        self.terminated
    }

    /// The response to the REFER. 2xx (202 Accepted, RFC 3515 §2.4.2; some peers send
    /// 200) starts waiting for NOTIFYs; a final non-2xx means the transfer was refused.
    pub fn on_refer_response(&mut self, status: u16) -> ReferOutcome {
        match status {
            200..=299 => self.accepted = true,
            300.. if self.outcome == ReferOutcome::Pending => {
                self.terminated = true;
                self.outcome = ReferOutcome::Failed(status);
            }
            _ => {}
        }
        self.outcome
    }

    /// The REFER transaction timed out (no final response): the same as a 408.
    pub fn on_refer_timeout(&mut self) -> ReferOutcome {
        self.on_refer_response(408)
    }

    /// Whether `notify` belongs to this subscription: Event `refer` with `id` equal to
    /// the REFER's CSeq, or without `id` when this is the dialog's first REFER.
    pub fn matches(&self, notify: &Request) -> bool {
        match notify.typed_header::<Event>() {
            Some(Ok(event)) => self.matches_event(&event),
            _ => false,
        }
    }

    fn matches_event(&self, event: &Event) -> bool {
        event.package.eq_ignore_ascii_case(REFER_EVENT)
            && match &event.id {
                Some(id) => *id == self.refer_cseq.to_string(),
                None => self.first_in_dialog,
            }
    }

    /// A NOTIFY the dialog accepted ([`crate::dialog::Dialog::on_request`]).
    pub fn on_notify(&mut self, notify: &Request) -> NotifyAnswer {
        let status = self.read_notify(notify).err().unwrap_or(200);
        NotifyAnswer {
            status,
            outcome: self.outcome,
        }
    }

    fn read_notify(&mut self, notify: &Request) -> Result<(), u16> {
        let event = match notify.typed_header::<Event>() {
            Some(Ok(e)) => e,
            _ => return Err(400),
        };
        if !event.package.eq_ignore_ascii_case(REFER_EVENT) {
            return Err(489);
        }
        if !self.matches_event(&event) || self.terminated {
            return Err(481);
        }
        let state = match notify.typed_header::<SubscriptionState>() {
            Some(Ok(s)) => s,
            _ => return Err(400),
        };
        let (status, _reason) = Sipfrag::parse(&notify.body).map_err(|_| 400u16)?;
        self.accepted = true;
        self.last_status = Some(status);
        let terminated = state.state == SubState::Terminated;
        self.terminated |= terminated;
        self.outcome = match status {
            200..=299 => ReferOutcome::Succeeded(status),
            300.. => ReferOutcome::Failed(status),
            _ if terminated => ReferOutcome::Failed(status),
            _ => ReferOutcome::Pending,
        };
        Ok(())
    }
}
