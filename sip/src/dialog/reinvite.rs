//! INVITE transactions in progress on one dialog, both directions, and re-INVITE glare
//! (RFC 3261 §14).
//!
//! Only one INVITE transaction may be in progress on a dialog at a time (§14.1). When
//! both ends send a re-INVITE at once, each answers the other's with 491 and retries
//! after a random back-off whose window depends on who generated the Call-ID, so the two
//! retries do not meet again.

use std::time::{Duration, Instant};

use super::error::DialogError;
use super::inbound::Rejection;

/// Our side of the dialog's INVITE activity (the client INVITE transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientInvite {
    /// No INVITE of ours is in progress.
    Idle,
    /// An INVITE we sent (initial or re-INVITE) awaits its final response.
    ExpectFinalResponse {
        /// The CSeq number of that INVITE.
        cseq: u32,
    },
    /// Our re-INVITE got 491: we may send it again from `retry_at` (§14.1).
    GlareBackoff {
        /// When the back-off ends.
        retry_at: Instant,
    },
}

/// The peer's side of the dialog's INVITE activity (the server INVITE transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerInvite {
    /// No INVITE from the peer is in progress.
    Idle,
    /// An INVITE we received awaits the final response we are to send.
    ExpectFinalResponse {
        /// The CSeq number of that INVITE.
        cseq: u32,
    },
    /// We sent a 2xx to the INVITE and await the ACK (which may carry the SDP answer).
    ExpectAck {
        /// The CSeq number of the INVITE (and so of the ACK).
        cseq: u32,
    },
}

/// Returned by [`super::Dialog::handle_timeout`]: the §14.1 back-off is over and the
/// re-INVITE that met glare may be sent again now (the caller rebuilds it with
/// `create_request`, since its offer may need revising after the peer's re-INVITE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReInviteRetry;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InviteTracker {
    pub(crate) client: ClientInvite,
    pub(crate) server: ServerInvite,
    /// We generated the Call-ID (§14.1): the back-off window is 2.1–4 s, not 0–2 s.
    call_id_owner: bool,
}

impl InviteTracker {
    pub(crate) fn new(call_id_owner: bool) -> Self {
        Self {
            client: ClientInvite::Idle,
            server: ServerInvite::Idle,
            call_id_owner,
        }
    }

    /// §14.1: a new INVITE may start only when no INVITE transaction is in progress in
    /// either direction and no glare back-off is running.
    pub(crate) fn may_send_invite(&self) -> Result<(), DialogError> {
        match (self.client, self.server) {
            (ClientInvite::GlareBackoff { retry_at }, _) => {
                Err(DialogError::GlareBackoff { retry_at })
            }
            (ClientInvite::Idle, ServerInvite::Idle) => Ok(()),
            _ => Err(DialogError::InviteInProgress),
        }
    }

    pub(crate) fn on_invite_sent(&mut self, cseq: u32) {
        self.client = ClientInvite::ExpectFinalResponse { cseq };
    }

    /// A response to an INVITE we sent. Returns the retry instant when it starts a
    /// glare back-off.
    pub(crate) fn on_invite_response(
        &mut self,
        now: Instant,
        status: u16,
        cseq: u32,
        random: &mut impl FnMut() -> u32,
    ) -> Option<Instant> {
        let ClientInvite::ExpectFinalResponse { cseq: pending } = self.client else {
            return None;
        };
        if pending != cseq || status < 200 {
            return None;
        }
        if status == 491 {
            let retry_at = now + self.glare_backoff(random());
            self.client = ClientInvite::GlareBackoff { retry_at };
            return Some(retry_at);
        }
        self.client = ClientInvite::Idle;
        None
    }

    /// An INVITE the peer sent on this dialog (§14.2). On success the server side is busy
    /// until we send the final response.
    pub(crate) fn on_invite_received(
        &mut self,
        cseq: u32,
        random: &mut impl FnMut() -> u32,
    ) -> Result<(), Rejection> {
        match (self.server, self.client) {
            // §14.2: an earlier INVITE still awaits our final response.
            (ServerInvite::ExpectFinalResponse { .. }, _) => Err(Rejection::InviteStillPending {
                retry_after_secs: random() % 11,
            }),
            // §14.2: our own INVITE is in progress: glare.
            (_, ClientInvite::ExpectFinalResponse { .. }) => Err(Rejection::RequestPending),
            // Our 2xx is not yet ACKed, so the offer/answer of the previous INVITE may be
            // incomplete (the ACK can carry the answer): treat as pending, as RFC 3311
            // §5.2 does for UPDATE.
            (ServerInvite::ExpectAck { .. }, _) => Err(Rejection::RequestPending),
            // During our back-off the peer's retry wins; ours waits for it to finish.
            (ServerInvite::Idle, ClientInvite::Idle | ClientInvite::GlareBackoff { .. }) => {
                self.server = ServerInvite::ExpectFinalResponse { cseq };
                Ok(())
            }
        }
    }

    /// We sent a final response to the peer's INVITE.
    pub(crate) fn on_final_response_sent(&mut self, status: u16, cseq: u32) {
        if self.server != (ServerInvite::ExpectFinalResponse { cseq }) {
            return;
        }
        self.server = if (200..300).contains(&status) {
            ServerInvite::ExpectAck { cseq }
        } else {
            // The transaction layer absorbs the ACK to a non-2xx answer.
            ServerInvite::Idle
        };
    }

    /// An ACK arrived; true when it acknowledges the 2xx we are waiting on.
    pub(crate) fn on_ack_received(&mut self, cseq: u32) -> bool {
        if self.server == (ServerInvite::ExpectAck { cseq }) {
            self.server = ServerInvite::Idle;
            true
        } else {
            false
        }
    }

    /// When the back-off retry is due. While the peer's INVITE is in progress we must
    /// wait for it (§14.1 rule 2), so no timer is offered; once it completes a past
    /// instant comes back and the caller handles it at once.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        match (self.client, self.server) {
            (ClientInvite::GlareBackoff { retry_at }, ServerInvite::Idle) => Some(retry_at),
            _ => None,
        }
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) -> Option<ReInviteRetry> {
        let deadline = self.poll_timeout()?;
        if now < deadline {
            return None;
        }
        self.client = ClientInvite::Idle;
        Some(ReInviteRetry)
    }

    /// Drop a pending glare retry (the application no longer wants the change).
    pub(crate) fn abandon_retry(&mut self) {
        if matches!(self.client, ClientInvite::GlareBackoff { .. }) {
            self.client = ClientInvite::Idle;
        }
    }

    /// §14.1: in units of 10 ms, 2.1–4 s for the Call-ID owner, 0–2 s otherwise.
    fn glare_backoff(&self, random: u32) -> Duration {
        let tens_of_ms = if self.call_id_owner {
            210 + random % 191
        } else {
            random % 201
        };
        Duration::from_millis(u64::from(tens_of_ms) * 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glare(owner: bool, random: u32) -> Duration {
        let base = Instant::now();
        let mut t = InviteTracker::new(owner);
        t.on_invite_sent(2);
        let at = t.on_invite_response(base, 491, 2, &mut || random).unwrap();
        at - base
    }

    #[test]
    fn backoff_windows_span_the_rfc_ranges() {
        for r in [0, 1, 190, 191, 200, 201, u32::MAX] {
            let owner = glare(true, r);
            assert!(owner >= Duration::from_millis(2100) && owner <= Duration::from_secs(4));
            let other = glare(false, r);
            assert!(other <= Duration::from_secs(2));
            assert_eq!(other.as_millis() % 10, 0);
        }
        assert_eq!(glare(true, 0), Duration::from_millis(2100));
        assert_eq!(glare(true, 190), Duration::from_secs(4));
        assert_eq!(glare(false, 0), Duration::ZERO);
        assert_eq!(glare(false, 200), Duration::from_secs(2));
    }

    #[test]
    fn retry_waits_for_the_peers_invite_to_finish() {
        let base = Instant::now();
        let mut t = InviteTracker::new(true);
        t.on_invite_sent(5);
        let at = t.on_invite_response(base, 491, 5, &mut || 0).unwrap();
        // The peer's retry (non-owner, shorter window) arrives during our back-off.
        assert_eq!(t.on_invite_received(9, &mut || 0), Ok(()));
        assert_eq!(t.poll_timeout(), None);
        assert_eq!(t.handle_timeout(at + Duration::from_secs(1)), None);
        t.on_final_response_sent(200, 9);
        assert_eq!(t.poll_timeout(), None, "2xx sent, ACK outstanding");
        assert!(t.on_ack_received(9));
        assert_eq!(t.poll_timeout(), Some(at));
        assert_eq!(
            t.handle_timeout(at + Duration::from_secs(2)),
            Some(ReInviteRetry)
        );
        assert_eq!(t.may_send_invite(), Ok(()));
    }
}
