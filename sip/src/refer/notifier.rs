//! The notifier of a REFER's implicit subscription (RFC 3515 §2.4.4–§2.4.7, RFC 6665
//! §4.2.2): we accepted a REFER with 202 and report how the referenced request fares.
//!
//! ```text
//! let refer = ReferRequest::from_request(&req)?;            // 202 Accepted sent
//! let mut n = ReferNotifier::new(&refer, first_refer_in_dialog, now);
//! send(n.notify(now, &mut dialog, via, 100, "Trying")?);     // at once (§2.4.4)
//! send(n.notify(now, &mut dialog, via, 180, "Ringing")?);    // active;expires=...
//! send(n.notify(now, &mut dialog, via, 200, "OK")?);         // terminated;reason=noresource
//! ```
//! The NOTIFYs are in-dialog requests built by [`Dialog::create_request`]; each
//! response to them goes to [`ReferNotifier::on_response`]. If no final status arrives
//! before the subscription expires, [`ReferNotifier::handle_timeout`] yields the NOTIFY
//! that ends it with `reason=timeout` (RFC 6665 §4.2.2).

use std::time::{Duration, Instant};

use rsip::{Header, Method, Request};

use super::request::ReferRequest;
use super::sipfrag::{Sipfrag, SIPFRAG_CONTENT_TYPE};
use crate::dialog::{Dialog, DialogError};
use crate::headers::{Event, EventReason, SubscriptionState, TypedHeaders};

/// How long the implicit subscription lasts unless the caller chooses otherwise
/// (RFC 3515 leaves it to the notifier; 60 s is the common choice).
pub const DEFAULT_REFER_EXPIRES: Duration = Duration::from_secs(60);

/// The event package of REFER progress (RFC 3515 §2.4.4).
pub const REFER_EVENT: &str = "refer";

/// Why no NOTIFY could be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The subscription has ended (final status sent, expired, or the subscriber
    /// refused a NOTIFY): nothing more may be sent for it.
    #[error("the refer subscription has terminated")]
    Terminated,
    /// The dialog refused to build the request (e.g. it has ended).
    #[error(transparent)]
    Dialog(#[from] DialogError),
}

/// One REFER's implicit subscription, notifier side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferNotifier {
    refer_cseq: u32,
    with_id: bool,
    expires_at: Instant,
    /// The last status reported and its reason phrase.
    last: Option<(u16, String)>,
    terminated: bool,
}

impl ReferNotifier {
    /// The subscription a REFER we accepted (202) created at `now`. `first_in_dialog`:
    /// no other REFER came before it in this dialog, so its NOTIFYs may leave out the
    /// Event `id`; every later REFER's NOTIFYs carry `id=<REFER CSeq>` so the
    /// subscriber can tell the subscriptions apart (RFC 3515 §2.4.6).
    pub fn new(refer: &ReferRequest, first_in_dialog: bool, now: Instant) -> Self {
        Self::with_expires(refer.cseq, first_in_dialog, now, DEFAULT_REFER_EXPIRES)
    }

    /// As [`ReferNotifier::new`] from the REFER's CSeq number, with the subscription
    /// lasting `expires` (longer than the referenced INVITE may ring, e.g.).
    pub fn with_expires(
        refer_cseq: u32,
        first_in_dialog: bool,
        now: Instant,
        expires: Duration,
    ) -> Self {
        Self {
            refer_cseq,
            with_id: !first_in_dialog,
            expires_at: now + expires,
            last: None,
            terminated: false,
        }
    }

    /// The Event header of this subscription's NOTIFYs.
    pub fn event(&self) -> Event {
        let event = Event::new(REFER_EVENT);
        match self.with_id {
            true => event.with_id(self.refer_cseq.to_string()),
            false => event,
        }
    }

    /// Whether the subscription has ended: the last NOTIFY said `terminated`, or a NOTIFY
    /// was refused or timed out.
    pub fn is_terminated(&self) -> bool {
        self.terminated
    }

    /// The last status reported, if any.
    pub fn last_status(&self) -> Option<u16> {
        self.last.as_ref().map(|(status, _)| *status)
    }

    /// The NOTIFY reporting that the referenced request got `status` (RFC 3515 §2.4.5):
    /// body `SIP/2.0 <status> <reason>`, `Subscription-State: active;expires=<left>`
    /// for a provisional status, `terminated;reason=noresource` for a final one (which
    /// ends the subscription, RFC 3515 §2.4.7).
    pub fn notify(
        &mut self,
        now: Instant,
        dialog: &mut Dialog,
        via: rsip::headers::Via,
        status: u16,
        reason: &str,
    ) -> Result<Request, NotifyError> {
        if self.terminated {
            return Err(NotifyError::Terminated);
        }
        let left = self.seconds_left(now);
        let state = match (status, left) {
            (100..=199, Some(left)) => SubscriptionState::active(left),
            (100..=199, None) => SubscriptionState::terminated(EventReason::Timeout),
            _ => SubscriptionState::terminated(EventReason::Noresource),
        };
        self.build(dialog, via, state, status, reason)
    }

    /// When the subscription expires if no final status is reported before.
    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.terminated).then_some(self.expires_at)
    }

    /// At or after [`ReferNotifier::poll_timeout`]: the NOTIFY that ends the
    /// subscription with `terminated;reason=timeout`, its body the last status reported
    /// (RFC 6665 §4.2.2). `None` before the deadline or once terminated; the
    /// subscription is terminated afterwards even when the dialog could not build
    /// the NOTIFY (`Some(Err(..))`, once).
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        dialog: &mut Dialog,
        via: rsip::headers::Via,
    ) -> Option<Result<Request, NotifyError>> {
        if self.terminated || now < self.expires_at {
            return None;
        }
        let (status, reason) = self.last.clone().unwrap_or((100, "Trying".into()));
        let state = SubscriptionState::terminated(EventReason::Timeout);
        let notify = self.build(dialog, via, state, status, &reason);
        // Expired is over, whether or not the dialog could still carry the
        // NOTIFY that says so (it may have ended first).
        self.terminated = true;
        Some(notify)
    }

    /// The subscriber's response to one of our NOTIFYs. A final non-2xx (481 when it
    /// knows no such subscription) or a transaction timeout ([`Self::on_timeout`]) ends
    /// the subscription (RFC 6665 §4.2.2). A 481 to a NOTIFY ends this subscription
    /// only; whether the dialog it shares survives is the dialog's own business.
    pub fn on_response(&mut self, status: u16) {
        if status >= 300 {
            self.terminated = true;
        }
    }

    /// The NOTIFY's client transaction timed out.
    pub fn on_timeout(&mut self) {
        self.terminated = true;
    }

    fn seconds_left(&self, now: Instant) -> Option<u32> {
        let left = self.expires_at.checked_duration_since(now)?;
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        (secs > 0).then(|| u32::try_from(secs).unwrap_or(u32::MAX))
    }

    fn build(
        &mut self,
        dialog: &mut Dialog,
        via: rsip::headers::Via,
        state: SubscriptionState,
        status: u16,
        reason: &str,
    ) -> Result<Request, NotifyError> {
        let mut request = dialog.create_request(Method::Notify, via)?;
        request.set_typed_header(&self.event());
        request.set_typed_header(&state);
        request
            .headers
            .push(Header::ContentType(SIPFRAG_CONTENT_TYPE.into()));
        request.body = Sipfrag::status(status, reason);
        self.last = Some((status, reason.to_owned()));
        self.terminated = state.state == crate::headers::SubState::Terminated;
        Ok(request)
    }
}
