//! Hold and resume by re-offer (RFC 3264 §8.4, RFC 6337 §5.3), kept per leg in its
//! [`LocalSession`].
//!
//! Each end's hold is its own: we hold the peer by offering not to receive (sendonly),
//! the peer holds us by offering or answering not to receive from us (sendonly,
//! inactive, or the RFC 2543 address `c=0.0.0.0`). Our offers combine both
//! (RFC 6337 §5.3):
//!
//! | we hold | peer holds us | we offer |
//! |---|---|---|
//! | no  | no  | sendrecv |
//! | yes | no  | sendonly |
//! | yes | yes | inactive |
//! | no  | yes | recvonly |
//!
//! The state lives in the leg's session, not in [`LocalMedia`], so an offer built for a
//! new leg (a transfer target) never inherits another leg's hold.

use super::answer::{process_answer, Negotiated, OfferAnswerError};
use super::model::{Direction, SessionDescription};
use super::offer::{LocalMedia, LocalSession};

impl LocalSession {
    /// We are holding the peer.
    pub fn holding(&self) -> bool {
        self.holding
    }

    /// The peer's last offer or answer asked us not to send: it holds us.
    pub fn held_by_peer(&self) -> bool {
        self.held_by_peer
    }

    /// The direction our next offer states, from both holds (see the module table).
    pub fn offer_direction(&self) -> Direction {
        Direction::from_flags(!self.held_by_peer, !self.holding)
    }

    /// What our own hold allows in any offer or answer: no receiving while we hold.
    pub(super) fn hold_limit(&self) -> Direction {
        Direction::from_flags(true, !self.holding)
    }

    /// Set our hold without offering, e.g. to undo [`LocalSession::hold_offer`] when
    /// the re-INVITE carrying it failed (RFC 3261 §14.1: the session is unchanged).
    pub fn set_holding(&mut self, holding: bool) {
        self.holding = holding;
    }

    /// The re-offer that holds the peer: sendonly, or inactive if the peer already
    /// holds us (RFC 6337 §5.3). The `o=` version goes up by one if the offer differs
    /// from what we sent last (RFC 3264 §8).
    pub fn hold_offer(&mut self, local: &LocalMedia) -> SessionDescription {
        self.holding = true;
        self.offer(local)
    }

    /// The re-offer that ends our hold: sendrecv, or recvonly if the peer still holds
    /// us (RFC 6337 §5.3).
    pub fn resume_offer(&mut self, local: &LocalMedia) -> SessionDescription {
        self.holding = false;
        self.offer(local)
    }

    /// [`process_answer`], also recording whether the answer holds us: when our offer
    /// let the peer receive, an answer that does not (sendonly, inactive, `c=0.0.0.0`)
    /// means the peer holds us. When our offer did not send, the answer says nothing new.
    pub fn process_answer(
        &mut self,
        offer: &SessionDescription,
        answer: &SessionDescription,
    ) -> Result<Negotiated, OfferAnswerError> {
        let negotiated = process_answer(offer, answer)?;
        if offer.direction_for(negotiated.media_index).sends() {
            self.held_by_peer = !stated_direction(answer, negotiated.media_index).receives();
        }
        Ok(negotiated)
    }
}

/// The direction `sdp` states for line `index`, with the RFC 2543 hold address read as
/// "do not send to me" (RFC 3264 §8.4).
pub(super) fn stated_direction(sdp: &SessionDescription, index: usize) -> Direction {
    let stated = sdp.direction_for(index);
    match sdp.connection_for(index) {
        Some(c) if c.is_hold_address() => Direction::from_flags(stated.sends(), false),
        _ => stated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn sdp(text: &str) -> SessionDescription {
        SessionDescription::parse(text.as_bytes()).expect("test SDP parses")
    }

    /// What a softphone sends: one audio line, `direction` stated, from `conn`.
    fn phone_sdp(conn: &str, version: u32, direction: &str) -> SessionDescription {
        sdp(&format!(
            "v=0\r\no=phone 1 {version} IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 {conn}\r\n\
             t=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n{direction}"
        ))
    }

    fn media() -> LocalMedia {
        LocalMedia::new(ip("198.51.100.7"), 30000)
    }

    fn version(sdp: &SessionDescription) -> u64 {
        sdp.origin.session_version.parse().unwrap()
    }

    fn direction(sdp: &SessionDescription) -> Option<Direction> {
        sdp.media[0].direction
    }

    #[test]
    fn answers_follow_the_rfc_6337_table_on_re_offers() {
        let mut s = LocalSession::new(1, 1);
        for (offered, answered) in [
            ("a=sendonly\r\n", Direction::RecvOnly),
            ("a=inactive\r\n", Direction::Inactive),
            ("a=recvonly\r\n", Direction::SendOnly),
            ("a=sendrecv\r\n", Direction::SendRecv),
            ("a=sendonly\r\n", Direction::RecvOnly),
            ("", Direction::SendRecv),
        ] {
            let a = s
                .answer(&phone_sdp("192.0.2.1", 1, offered), &media())
                .unwrap();
            assert_eq!(a.negotiated.direction, answered, "{offered}");
            assert_eq!(direction(&a.sdp), Some(answered), "{offered}");
            assert_eq!(s.held_by_peer(), !answered.sends(), "{offered}");
        }
    }

    #[test]
    fn unhold_is_answered_sendrecv_never_recvonly() {
        // FreeSWITCH #1144: the agent's phone holds (sendonly), we answer recvonly; its
        // unhold re-offer (sendrecv) must be answered sendrecv, not recvonly again.
        let mut s = LocalSession::new(1, 1);
        let a = s.answer(&phone_sdp("192.0.2.1", 1, ""), &media()).unwrap();
        assert_eq!(a.negotiated.direction, Direction::SendRecv);
        let a = s
            .answer(&phone_sdp("192.0.2.1", 2, "a=sendonly\r\n"), &media())
            .unwrap();
        assert_eq!(direction(&a.sdp), Some(Direction::RecvOnly));
        assert!(s.held_by_peer());
        let a = s
            .answer(&phone_sdp("192.0.2.1", 3, "a=sendrecv\r\n"), &media())
            .unwrap();
        assert_eq!(a.negotiated.direction, Direction::SendRecv);
        assert_eq!(direction(&a.sdp), Some(Direction::SendRecv));
        assert!(a.sdp.to_string().contains("a=sendrecv\r\n"));
        assert!(!s.held_by_peer());
        // Our own next offer is sendrecv again too.
        assert_eq!(direction(&s.offer(&media())), Some(Direction::SendRecv));
    }

    #[test]
    fn offer_after_transferring_a_held_call_is_sendrecv() {
        // FreeSWITCH #2230: the customer leg is held (we hold it, and its phone put us
        // on hold too); the transfer target's new leg gets a fresh sendrecv offer built
        // from the same local media, not the customer leg's hold direction.
        let local = media();
        let mut customer = LocalSession::new(10, 10);
        let _ = customer
            .answer(&phone_sdp("192.0.2.1", 1, ""), &local)
            .unwrap();
        let hold = customer.hold_offer(&local);
        assert_eq!(direction(&hold), Some(Direction::SendOnly));
        let _ = customer
            .answer(&phone_sdp("192.0.2.1", 2, "a=sendonly\r\n"), &local)
            .unwrap();
        assert_eq!(
            direction(&customer.offer(&local)),
            Some(Direction::Inactive)
        );

        let mut target = LocalSession::new(20, 20);
        let fresh = target.offer(&local);
        assert_eq!(direction(&fresh), Some(Direction::SendRecv));
        assert!(fresh.to_string().contains("a=sendrecv\r\n"));
        // And the target's answer to a plain offer is sendrecv as well.
        let mut answering = LocalSession::new(30, 30);
        let a = answering
            .answer(&phone_sdp("192.0.2.9", 1, ""), &local)
            .unwrap();
        assert_eq!(a.negotiated.direction, Direction::SendRecv);
    }

    #[test]
    fn hold_address_0000_is_treated_as_hold() {
        // RFC 2543 hold: c=0.0.0.0 with no direction attribute.
        let mut s = LocalSession::new(1, 1);
        let a = s.answer(&phone_sdp("0.0.0.0", 2, ""), &media()).unwrap();
        assert!(
            !a.negotiated.direction.sends(),
            "nothing is sent to 0.0.0.0"
        );
        assert!(s.held_by_peer());
        // Holding the peer now means inactive (RFC 6337 §5.3).
        assert_eq!(
            direction(&s.hold_offer(&media())),
            Some(Direction::Inactive)
        );
        // The same in an answer to our offer.
        let mut s = LocalSession::new(1, 1);
        let offer = s.offer(&media());
        let n = s
            .process_answer(&offer, &phone_sdp("0.0.0.0", 1, ""))
            .unwrap();
        assert_eq!(n.direction, Direction::RecvOnly);
        assert!(s.held_by_peer());
    }

    #[test]
    fn hold_and_resume_offers_combine_both_holds() {
        let mut s = LocalSession::new(1, 1);
        assert_eq!(s.offer_direction(), Direction::SendRecv);
        assert_eq!(
            direction(&s.hold_offer(&media())),
            Some(Direction::SendOnly)
        );
        assert!(s.holding());
        // While we hold, a peer's sendrecv re-offer (a refresh) is answered sendonly.
        let a = s.answer(&phone_sdp("192.0.2.1", 2, ""), &media()).unwrap();
        assert_eq!(a.negotiated.direction, Direction::SendOnly);
        // The peer holds us as well: inactive both ways.
        let a = s
            .answer(&phone_sdp("192.0.2.1", 3, "a=sendonly\r\n"), &media())
            .unwrap();
        assert_eq!(a.negotiated.direction, Direction::Inactive);
        // We resume while the peer still holds us: recvonly.
        assert_eq!(
            direction(&s.resume_offer(&media())),
            Some(Direction::RecvOnly)
        );
        // A peer answering our sendrecv offer with recvonly does not hold us; with
        // sendonly it does.
        let mut s = LocalSession::new(1, 1);
        let offer = s.offer(&media());
        let _ = s
            .process_answer(&offer, &phone_sdp("192.0.2.1", 1, "a=recvonly\r\n"))
            .unwrap();
        assert!(!s.held_by_peer());
        let _ = s
            .process_answer(&offer, &phone_sdp("192.0.2.1", 2, "a=sendonly\r\n"))
            .unwrap();
        assert!(s.held_by_peer());
        // A failed hold re-INVITE is undone without an offer.
        s.set_holding(true);
        s.set_holding(false);
        assert!(!s.holding());
    }

    #[test]
    fn origin_version_is_monotonic_across_hold_resume_hold() {
        let mut s = LocalSession::new(77, 100);
        let local = media();
        let initial = s.offer(&local);
        let refresh = s.offer(&local);
        let hold = s.hold_offer(&local);
        let hold_refresh = s.offer(&local);
        let resume = s.resume_offer(&local);
        let resume_again = s.resume_offer(&local);
        let hold_again = s.hold_offer(&local);
        let versions: Vec<u64> = [
            &initial,
            &refresh,
            &hold,
            &hold_refresh,
            &resume,
            &resume_again,
            &hold_again,
        ]
        .iter()
        .map(|d| version(d))
        .collect();
        assert_eq!(versions, [100, 100, 101, 101, 102, 102, 103]);
        assert_eq!(direction(&hold_refresh), Some(Direction::SendOnly));
        assert!(hold_again.origin.session_id == "77");
        assert_eq!(s.version(), 103);
    }
}
