//! Dialogs (RFC 3261 §12) for a user agent or a B2BUA, sans-IO, on `rsip` types.
//!
//! A [`Dialog`] is the peer-to-peer state two user agents keep between an INVITE's
//! dialog-creating response and the BYE: the dialog ID, both CSeq spaces, the remote
//! target, the route set and the secure flag. It builds in-dialog requests
//! ([`Dialog::create_request`], [`Dialog::create_ack`]), judges in-dialog requests the peer
//! sends ([`Dialog::on_request`], which says which response to send when the request must
//! be refused) and follows the responses on both sides ([`Dialog::on_response`] for
//! responses we receive, [`Dialog::on_response_sent`] for responses we send).
//!
//! re-INVITE glare (§14) is a small timer-driven state machine inside each dialog:
//! ```text
//! dialog.on_response(now, &response_491, &mut rng);    // starts the §14.1 back-off
//! sleep_until(dialog.poll_timeout());
//! if let Some(ReInviteRetry) = dialog.handle_timeout(now) { /* send the re-INVITE again */ }
//! ```
//! Randomness (back-off, Retry-After) comes from a `FnMut() -> u32` the caller passes in.
//!
//! Via is the transaction layer's business (it owns the branch and the sent-by): the
//! request builders take the top `Via` header as a parameter and put it first.
//! Content-Length and bodies are left to the caller's encoder as well.

mod error;
mod fields;
mod id;
mod inbound;
mod reinvite;
mod request;
mod route;
mod state;

#[cfg(test)]
mod tests;

pub use error::{DialogError, HeaderProblem, PeerMisbehaved};
pub use id::{CallId, DialogId, Tag};
pub use inbound::{Rejection, RequestVerdict, ResponseOutcome};
pub use reinvite::{ClientInvite, ReInviteRetry, ServerInvite};
pub use request::create_cancel;
pub use route::RouteSet;
pub use state::{Dialog, DialogState, Role};

use rsip::Method;

/// Whether `method` is a target refresh request: its Contact replaces the remote target.
///
/// re-INVITE (RFC 3261 §12.2), UPDATE (RFC 3311 §5.1), SUBSCRIBE and NOTIFY
/// (RFC 6665 §4.1.2.1, §4.2.1.2).
pub fn is_target_refresh(method: Method) -> bool {
    matches!(
        method,
        Method::Invite | Method::Update | Method::Subscribe | Method::Notify
    )
}
