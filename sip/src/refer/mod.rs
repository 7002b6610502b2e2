//! Call transfer with REFER (RFC 3515), its implicit subscription (RFC 6665) and
//! `message/sipfrag` progress (RFC 3420), and dialog replacement (RFC 3891).
//!
//! - Receiving a REFER: [`ReferRequest::from_request`] (errors carry the response code),
//!   answer 202, then report progress with a [`ReferNotifier`].
//! - Sending a REFER: put [`refer_to_value`] in its Refer-To (with an escaped
//!   `?Replaces=` for an attended transfer), follow it with a [`ReferSubscriber`].
//! - Receiving an INVITE with Replaces: [`crate::headers::Replaces::find_replaced`]
//!   picks the dialog or says which error to answer.
//!
//! REFER and NOTIFY travel in the dialog of the call being transferred:
//! [`crate::dialog::Dialog::create_request`] builds them and
//! [`crate::dialog::Dialog::on_request`] checks their CSeq. NOTIFY is a target refresh
//! request (RFC 6665 §4.2.1.2 / §4.1.2.1), REFER is not (RFC 3515 defines none), though
//! it carries our Contact.

mod notifier;
mod replaces;
mod request;
mod sipfrag;
mod subscriber;

#[cfg(test)]
mod tests;

pub use notifier::{NotifyError, ReferNotifier, DEFAULT_REFER_EXPIRES, REFER_EVENT};
pub use replaces::{lists_option_tag, ReplacesError, REPLACES_OPTION_TAG};
pub use request::{refer_to_value, ReferRequest};
pub use sipfrag::{Sipfrag, SipfragError, SIPFRAG_CONTENT_TYPE};
pub use subscriber::{NotifyAnswer, ReferOutcome, ReferSubscriber};

use crate::headers::HeaderError;

/// Why a REFER we received cannot be acted on: a peer violation answered with
/// [`ReferError::status_code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReferError {
    /// RFC 3515 §2.4.1: a REFER carries exactly one Refer-To value.
    #[error("REFER without Refer-To")]
    MissingReferTo,
    /// More than one Refer-To header, or one with several comma-separated values
    /// (RFC 3515 §2.4.1).
    #[error("REFER with more than one Refer-To value")]
    MultipleReferTo,
    /// The Refer-To value does not follow its grammar (RFC 3515 §2.1).
    #[error(transparent)]
    BadReferTo(HeaderError),
    /// The Refer-To URI is not one we can parse.
    #[error("Refer-To target is not a usable URI")]
    BadTarget,
    /// The `?Replaces=` embedded in Refer-To does not parse (RFC 3891 §6.1).
    #[error("bad Replaces in Refer-To: {0}")]
    BadReplaces(HeaderError),
    /// The Referred-By value does not follow its grammar (RFC 3892 §3).
    #[error(transparent)]
    BadReferredBy(HeaderError),
    /// The REFER's CSeq, which the NOTIFYs' Event `id` repeats, is absent or unreadable.
    #[error("missing or malformed CSeq")]
    BadCSeq,
    /// Not a REFER at all: a local mistake, not the peer's.
    #[error("not a REFER request")]
    NotRefer,
}

impl ReferError {
    /// The response to the REFER: 400 for every peer violation (RFC 3515 §2.4.1,
    /// RFC 3261 §8.2.3 for the rest); 500 for [`ReferError::NotRefer`].
    pub fn status_code(&self) -> u16 {
        match self {
            Self::NotRefer => 500,
            _ => 400,
        }
    }
}
