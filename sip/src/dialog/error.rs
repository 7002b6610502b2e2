//! Dialog errors: what the peer got wrong is kept apart from what we asked wrongly.

use std::time::Instant;

use rsip::Method;

use super::state::DialogState;

/// What is wrong with one header of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderProblem {
    /// The header is absent.
    Missing,
    /// The header is present but does not parse.
    Malformed,
    /// A From or To header without the `tag` the dialog needs (§12.1).
    MissingTag,
}

impl std::fmt::Display for HeaderProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Missing => "missing",
            Self::Malformed => "malformed",
            Self::MissingTag => "without a tag",
        })
    }
}

/// The peer sent a message a dialog cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerMisbehaved {
    /// A header the dialog needs is missing or malformed.
    #[error("{header} header {problem}")]
    BadHeader {
        /// The header's name, e.g. `"To"`.
        header: &'static str,
        /// What is wrong with it.
        problem: HeaderProblem,
    },
}

/// Why a dialog operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialogError {
    /// The peer's message is unusable; the dialog state is unchanged.
    #[error("peer message unusable: {0}")]
    Peer(#[from] PeerMisbehaved),
    /// The request we sent (passed to [`super::Dialog::from_uac`]) is unusable.
    #[error("our own message unusable: {header} header {problem}")]
    BadLocalMessage {
        /// The header's name, e.g. `"Contact"`.
        header: &'static str,
        /// What is wrong with it.
        problem: HeaderProblem,
    },
    /// The response creates no dialog: a 100, a response without a To tag, or a
    /// non-2xx final response (§12.1).
    #[error("response {0} does not create a dialog")]
    NoDialog(u16),
    /// The message carries another dialog's ID; route it elsewhere.
    #[error("message belongs to another dialog")]
    NotThisDialog,
    /// The dialog is terminated; nothing more can be sent in it.
    #[error("dialog is terminated")]
    Terminated,
    /// §14.1: an INVITE transaction is in progress in one direction or the other.
    #[error("an INVITE transaction is in progress on this dialog")]
    InviteInProgress,
    /// §14.1: our re-INVITE met glare; it may be sent again only at `retry_at`.
    #[error("re-INVITE glare back-off in progress")]
    GlareBackoff {
        /// When the back-off ends.
        retry_at: Instant,
    },
    /// The method cannot be sent in the dialog's present state (e.g. BYE by the callee
    /// in an early dialog, §15), or is not built by `create_request` (ACK, CANCEL).
    #[error("{method} cannot be sent in a {state:?} dialog")]
    MethodNotAllowed {
        /// The method that was asked for.
        method: Method,
        /// The dialog's state at the time.
        state: DialogState,
    },
}
