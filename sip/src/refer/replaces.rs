//! Which dialog an INVITE with `Replaces` takes over (RFC 3891 §3), and the option tag
//! that announces support for it (RFC 3891 §6.2).
//!
//! The Replaces header names the dialog as the *sender* of the INVITE sees the far end:
//! its `to-tag` is the recipient's local tag and its `from-tag` the recipient's remote
//! tag, whichever side sent the dialog's INVITE.

use rsip::{Header, Request};

use crate::dialog::{Dialog, DialogState, Role};
use crate::headers::Replaces;

/// The option tag of RFC 3891 §6.2: a UA that accepts INVITE-with-Replaces lists it in
/// `Supported` (so a transferor knows a consult transfer can work); one sending such an
/// INVITE (§4) may put it in `Require` so a peer that does not know Replaces refuses
/// (420) instead of starting an unrelated second call.
pub const REPLACES_OPTION_TAG: &str = "replaces";

/// Why an INVITE with Replaces is refused (RFC 3891 §3); [`ReplacesError::status_code`]
/// is the response to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplacesError {
    /// No dialog matches, or it matches an early dialog we did not initiate: 481.
    #[error("no dialog to replace")]
    NoMatch,
    /// `early-only` names a dialog that is already confirmed: 486.
    #[error("early-only Replaces for a confirmed dialog")]
    EarlyOnlyConfirmed,
    /// The dialog has already ended: 603.
    #[error("the dialog to replace has ended")]
    Terminated,
}

impl ReplacesError {
    /// The status of the response to send: 481, 486 or 603.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::NoMatch => 481,
            Self::EarlyOnlyConfirmed => 486,
            Self::Terminated => 603,
        }
    }
}

impl Replaces {
    /// RFC 3891 §3: the header names the recipient's dialog `call_id` with `to-tag`
    /// equal to the recipient's `local_tag` and `from-tag` equal to its `remote_tag`.
    /// Call-ID and tags compare byte for byte.
    pub fn matches(&self, call_id: &str, local_tag: &str, remote_tag: &str) -> bool {
        self.call_id == call_id && self.to_tag == local_tag && self.from_tag == remote_tag
    }

    /// Whether this header names `dialog` (seen from our side).
    pub fn matches_dialog(&self, dialog: &Dialog) -> bool {
        let id = dialog.id();
        self.matches(
            id.call_id.as_str(),
            id.local_tag.as_str(),
            id.remote_tag.as_str(),
        )
    }

    /// The dialog among `dialogs` this header names, if it may be replaced
    /// (RFC 3891 §3): a confirmed dialog (unless `early-only`), or an early dialog we
    /// initiated. An early dialog where we are the UAS is not ours to replace (481).
    pub fn find_replaced<'a>(
        &self,
        dialogs: impl IntoIterator<Item = &'a Dialog>,
    ) -> Result<&'a Dialog, ReplacesError> {
        let dialog = dialogs
            .into_iter()
            .find(|d| self.matches_dialog(d))
            .ok_or(ReplacesError::NoMatch)?;
        match (dialog.state(), dialog.role()) {
            (DialogState::Terminated, _) => Err(ReplacesError::Terminated),
            (DialogState::Confirmed, _) if self.early_only => {
                Err(ReplacesError::EarlyOnlyConfirmed)
            }
            (DialogState::Early, Role::Uas) => Err(ReplacesError::NoMatch),
            _ => Ok(dialog),
        }
    }
}

/// Whether `request` lists `tag` in a `Supported` or `Require` header (compact `k`
/// included), compared case-insensitively (RFC 3261 §19.2).
pub fn lists_option_tag(request: &Request, tag: &str) -> bool {
    request.headers.iter().any(|h| {
        let value = match h {
            Header::Supported(s) => rsip::headers::UntypedHeader::value(s),
            Header::Require(r) => rsip::headers::UntypedHeader::value(r),
            Header::Other(name, value)
                if ["supported", "require", "k"]
                    .iter()
                    .any(|n| name.trim().eq_ignore_ascii_case(n)) =>
            {
                value.as_str()
            }
            _ => return false,
        };
        value.split(',').any(|t| t.trim().eq_ignore_ascii_case(tag))
    })
}
