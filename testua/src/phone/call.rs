//! One call of a phone: its SIP state and what the phone observed on it.

use std::net::SocketAddr;
use std::time::Instant;

use rsip::{Method, Request};
use sotto_sip::dialog::{Dialog, DialogState};
use sotto_sip::endpoint::{ClientTxId, Peer, ServerTxId};
use sotto_sip::headers::Replaces;
use sotto_sip::refer::{ReferNotifier, ReferOutcome, ReferRequest, ReferSubscriber};
use sotto_sip::sdp::{Direction, LocalMedia, LocalSession, Negotiated, SessionDescription};

/// Names a call of one [`crate::Phone`] (an index into [`crate::Phone::calls`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallHandle(pub(crate) usize);

impl CallHandle {
    /// The position of the call in [`crate::Phone::calls`] (calls are never removed).
    pub fn index(self) -> usize {
        self.0
    }
}

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallState {
    /// INVITE sent or received; no provisional response with a To tag yet (a 100
    /// Trying at most).
    Trying,
    /// 180 Ringing sent or received.
    Ringing,
    /// Another provisional (183 Session Progress, …) sent or received, no ringing.
    Early,
    /// The INVITE was answered 2xx.
    Confirmed,
    /// The call is over: `by_peer` when the other side ended it (BYE, CANCEL, a
    /// final refusal of our INVITE, a 481 to our request), not when we did (our BYE,
    /// CANCEL or refusal) or a transaction timed out.
    Terminated {
        /// The other side ended the call.
        by_peer: bool,
    },
}

impl CallState {
    /// Not yet answered nor ended.
    pub fn is_early(self) -> bool {
        matches!(self, Self::Trying | Self::Ringing | Self::Early)
    }

    /// Over.
    pub fn is_terminated(self) -> bool {
        matches!(self, Self::Terminated { .. })
    }
}

/// An offer the peer made inside the dialog (re-INVITE or UPDATE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reoffer {
    /// When it arrived (the phone's clock).
    pub at: Instant,
    /// The direction it offers for the audio stream: its attribute (media level, else
    /// session level), else inactive for the RFC 2543 hold address `c=0.0.0.0`, else
    /// sendrecv; inactive when it has no audio stream.
    pub direction: Direction,
    /// The offer itself.
    pub sdp: SessionDescription,
}

/// What a re-INVITE we send asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Intent {
    Hold,
    Resume,
    Refresh,
}

/// A re-INVITE of ours awaiting its final response.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingReInvite {
    pub(crate) tx: ClientTxId,
    pub(crate) intent: Intent,
    pub(crate) was_holding: bool,
}

/// One call of a [`crate::Phone`]: what it is, where it stands, and everything the
/// phone saw on it.
#[derive(Debug)]
pub struct Call {
    pub(crate) handle: CallHandle,
    pub(crate) outgoing: bool,
    pub(crate) state: CallState,
    pub(crate) peer: Peer,
    pub(crate) created_at: Instant,
    /// The dialog-creating INVITE, as sent or received.
    pub(crate) invite: Request,
    pub(crate) invite_client_tx: Option<ClientTxId>,
    pub(crate) invite_server_tx: Option<ServerTxId>,
    pub(crate) local_tag: String,
    pub(crate) dialog: Option<Dialog>,
    pub(crate) session: LocalSession,
    pub(crate) media: LocalMedia,
    /// Our offer awaiting its answer: in our INVITE or re-INVITE, or in our 2xx to an
    /// INVITE that had none (the answer comes in the ACK).
    pub(crate) our_offer: Option<SessionDescription>,
    /// `our_offer` went out in our 2xx: the ACK brings the answer.
    pub(crate) offer_in_2xx: bool,
    /// The offer of an incoming INVITE, answered when we answer the call.
    pub(crate) remote_offer: Option<SessionDescription>,
    /// Our answer to that offer once sent in a 183: the 2xx repeats it.
    pub(crate) early_answer: Option<SessionDescription>,
    pub(crate) reinvite: Option<PendingReInvite>,
    /// A re-INVITE that met glare (491), sent again when the dialog's back-off ends.
    pub(crate) glare_retry: Option<Intent>,
    pub(crate) answer_at: Option<Instant>,
    /// When to refuse an incoming call, and with what ([`crate::AnswerMode::RejectAfter`]).
    pub(crate) refuse_at: Option<(Instant, u16)>,
    pub(crate) answered_at: Option<Instant>,
    /// We CANCELled our INVITE (a 2xx that crosses it gets ACK and BYE).
    pub(crate) cancel_sent: bool,
    /// The 2xx to our INVITE has been ACKed.
    pub(crate) acked: bool,
    pub(crate) subscribers: Vec<ReferSubscriber>,
    pub(crate) notifier: Option<ReferNotifier>,
    pub(crate) refers_received: u32,
    pub(crate) refers: Vec<ReferRequest>,
    pub(crate) transfer_of: Option<CallHandle>,
    pub(crate) replaced: Option<CallHandle>,
    pub(crate) replaces_header: Option<Replaces>,
    pub(crate) referred_by: Option<String>,
    pub(crate) final_code: Option<u16>,
    pub(crate) remote_uri: String,
    // Observations.
    pub(crate) responses: Vec<(Method, u16)>,
    /// The CSeq number of each of `responses`.
    pub(crate) response_seqs: Vec<Option<u32>>,
    pub(crate) requests: Vec<Method>,
    pub(crate) remote_directions: Vec<Direction>,
    pub(crate) reoffers: Vec<Reoffer>,
    pub(crate) negotiated: Option<Negotiated>,
    pub(crate) notify_statuses: Vec<u16>,
    pub(crate) timeouts: Vec<Method>,
}

impl Call {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        handle: CallHandle,
        outgoing: bool,
        peer: Peer,
        now: Instant,
        invite: Request,
        local_tag: String,
        session: LocalSession,
        media: LocalMedia,
        remote_uri: String,
    ) -> Self {
        Call {
            handle,
            outgoing,
            state: CallState::Trying,
            peer,
            created_at: now,
            invite,
            invite_client_tx: None,
            invite_server_tx: None,
            local_tag,
            dialog: None,
            session,
            media,
            our_offer: None,
            offer_in_2xx: false,
            remote_offer: None,
            early_answer: None,
            reinvite: None,
            glare_retry: None,
            answer_at: None,
            refuse_at: None,
            answered_at: None,
            cancel_sent: false,
            acked: false,
            subscribers: Vec::new(),
            notifier: None,
            refers_received: 0,
            refers: Vec::new(),
            transfer_of: None,
            replaced: None,
            replaces_header: None,
            referred_by: None,
            final_code: None,
            remote_uri,
            responses: Vec::new(),
            response_seqs: Vec::new(),
            requests: Vec::new(),
            remote_directions: Vec::new(),
            reoffers: Vec::new(),
            negotiated: None,
            notify_statuses: Vec::new(),
            timeouts: Vec::new(),
        }
    }

    pub(crate) fn end(&mut self, by_peer: bool) {
        if !self.state.is_terminated() {
            self.state = CallState::Terminated { by_peer };
        }
        self.answer_at = None;
        self.refuse_at = None;
        self.glare_retry = None;
        if let Some(d) = self.dialog.as_mut() {
            d.terminate();
        }
    }

    pub(crate) fn record_response(&mut self, response: &rsip::Response) {
        let cseq = sotto_sip::message::cseq(response);
        let method = cseq.as_ref().map_or(Method::Invite, |c| c.1);
        self.responses.push((method, response.status_code.code()));
        self.response_seqs.push(cseq.map(|c| c.0));
    }

    /// Our answer to the incoming INVITE's offer, made once (`Ok(None)` when the
    /// INVITE had no offer); `Err` with the status to refuse an unusable offer with.
    pub(crate) fn answer_to_invite(&mut self) -> Result<Option<SessionDescription>, u16> {
        if let Some(a) = &self.early_answer {
            return Ok(Some(a.clone()));
        }
        let Some(offer) = self.remote_offer.take() else {
            return Ok(None);
        };
        let a = self
            .session
            .answer(&offer, &self.media)
            .map_err(|e| e.status_code())?;
        self.negotiated = Some(a.negotiated);
        self.early_answer = Some(a.sdp.clone());
        Ok(Some(a.sdp))
    }

    pub(crate) fn saw_remote_sdp(&mut self, sdp: &SessionDescription) {
        if let Some(d) = super::msg::stated_direction(sdp) {
            self.remote_directions.push(d);
        }
    }

    /// The handle of this call.
    pub fn handle(&self) -> CallHandle {
        self.handle
    }

    /// We placed the call (rather than received it).
    pub fn is_outgoing(&self) -> bool {
        self.outgoing
    }

    /// Where the call stands.
    pub fn state(&self) -> CallState {
        self.state
    }

    /// When the call was placed or arrived (simulated time).
    pub fn created_at(&self) -> Instant {
        self.created_at
    }

    /// When the call was answered: our 2xx sent, or the peer's 2xx received (the
    /// phone's clock).
    pub fn answered_at(&self) -> Option<Instant> {
        self.answered_at
    }

    /// Where we receive this call's RTP: the address and port of our SDP.
    pub fn rtp_addr(&self) -> SocketAddr {
        SocketAddr::new(self.media.address, self.media.rtp_port)
    }

    /// The call's Call-ID.
    pub fn call_id(&self) -> &str {
        sotto_sip::message::call_id(&self.invite).unwrap_or_default()
    }

    /// Our tag in the dialog.
    pub fn local_tag(&self) -> &str {
        &self.local_tag
    }

    /// The peer's tag, once a dialog exists.
    pub fn remote_tag(&self) -> Option<&str> {
        self.dialog.as_ref().map(|d| d.remote_tag().as_str())
    }

    /// The dialog, once a response with a To tag was sent or received.
    pub fn dialog(&self) -> Option<&Dialog> {
        self.dialog.as_ref()
    }

    /// The dialog's state, if there is one.
    pub fn dialog_state(&self) -> Option<DialogState> {
        self.dialog.as_ref().map(Dialog::state)
    }

    /// The Replaces a third party puts in an INVITE to this call's *peer* to take this
    /// phone's place (RFC 3891: `to-tag` is the peer's tag, `from-tag` ours):
    /// `(call_id, to_tag, from_tag)`, for [`crate::Phone::invite_replaces`].
    pub fn replaces_naming(&self) -> Option<(String, String, String)> {
        let d = self.dialog.as_ref()?;
        Some((
            d.id().call_id.to_string(),
            d.remote_tag().to_string(),
            d.local_tag().to_string(),
        ))
    }

    /// The peer: the To URI of an outgoing call, the From URI of an incoming one.
    pub fn remote_uri(&self) -> &str {
        &self.remote_uri
    }

    /// The Request-URI of the dialog-creating INVITE.
    pub fn request_uri(&self) -> String {
        self.invite.uri.to_string()
    }

    /// The dialog-creating INVITE, as sent or received.
    pub fn invite(&self) -> &Request {
        &self.invite
    }

    /// Where the phone sends this call's requests (and whence they came).
    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// Every response received on the call, with the method it answered, in order
    /// (100 Trying and retransmitted 2xx included).
    pub fn responses(&self) -> &[(Method, u16)] {
        &self.responses
    }

    /// The responses to the dialog-creating INVITE we sent, in order, without 100
    /// Trying (empty for an incoming call).
    pub fn invite_codes(&self) -> Vec<u16> {
        self.invite_responses(true).filter(|&c| c != 100).collect()
    }

    /// The final responses to our re-INVITEs, in order (491 included).
    pub fn reinvite_codes(&self) -> Vec<u16> {
        self.invite_responses(false).filter(|&c| c >= 200).collect()
    }

    /// Codes of the INVITE responses received: to the dialog-creating INVITE
    /// (`initial`), or to our re-INVITEs. Only an outgoing call has the former; they
    /// carry its CSeq number (a UAS numbers its own requests from 1 as well).
    fn invite_responses(&self, initial: bool) -> impl Iterator<Item = u16> + '_ {
        let seq = sotto_sip::message::cseq(&self.invite).map(|c| c.0);
        let outgoing = self.outgoing;
        self.responses
            .iter()
            .zip(&self.response_seqs)
            .filter(move |((m, _), cseq)| {
                *m == Method::Invite && initial == (outgoing && **cseq == seq)
            })
            .map(|((_, code), _)| *code)
    }

    /// The codes of the responses to requests with `method`, in order.
    pub fn codes_for(&self, method: Method) -> Vec<u16> {
        self.responses
            .iter()
            .filter(|(m, _)| *m == method)
            .map(|(_, c)| *c)
            .collect()
    }

    /// The final status of the dialog-creating INVITE, sent or received (408 when our
    /// INVITE timed out).
    pub fn final_code(&self) -> Option<u16> {
        self.final_code
    }

    /// Every request received on the call, in order (the INVITE, ACK, CANCEL, BYE,
    /// re-INVITE, REFER, NOTIFY, INFO, …).
    pub fn requests(&self) -> &[Method] {
        &self.requests
    }

    /// Requests of ours that got no final response (transaction timeout).
    pub fn timeouts(&self) -> &[Method] {
        &self.timeouts
    }

    /// The direction the peer's SDP stated last (offer or answer).
    pub fn remote_direction(&self) -> Option<Direction> {
        self.remote_directions.last().copied()
    }

    /// Every direction the peer's SDP stated, in order.
    pub fn remote_directions(&self) -> &[Direction] {
        &self.remote_directions
    }

    /// The offers the peer made inside the dialog (re-INVITEs and UPDATEs with SDP), in
    /// order: a hold offers sendonly or inactive, a resume sendrecv.
    pub fn reoffers(&self) -> &[Reoffer] {
        &self.reoffers
    }

    /// What the last completed offer/answer settled (our direction, codec, where RTP
    /// would go).
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// Our own direction, as the last completed offer/answer settled it.
    pub fn local_direction(&self) -> Option<Direction> {
        self.negotiated.as_ref().map(|n| n.direction)
    }

    /// We hold the peer (our last hold was not undone by a resume).
    pub fn holding(&self) -> bool {
        self.session.holding()
    }

    /// The peer's last offer or answer holds us.
    pub fn held_by_peer(&self) -> bool {
        self.session.held_by_peer()
    }

    /// The sipfrag statuses of the NOTIFYs received on the call, in order.
    pub fn notify_statuses(&self) -> &[u16] {
        &self.notify_statuses
    }

    /// The outcome of the last REFER we sent on the call.
    pub fn refer_outcome(&self) -> Option<ReferOutcome> {
        self.subscribers.last().map(ReferSubscriber::outcome)
    }

    /// The last status our NOTIFYs reported, when we follow a REFER received on this
    /// call.
    pub fn transfer_status(&self) -> Option<u16> {
        self.notifier.as_ref().and_then(ReferNotifier::last_status)
    }

    /// The REFERs received on the call that could be read, in order (their target,
    /// Replaces and Referred-By).
    pub fn refers(&self) -> &[ReferRequest] {
        &self.refers
    }

    /// For a call placed to follow a REFER (as transferee): the call the REFER came
    /// in on.
    pub fn transfer_of(&self) -> Option<CallHandle> {
        self.transfer_of
    }

    /// The call this incoming INVITE with Replaces took the place of.
    pub fn replaced(&self) -> Option<CallHandle> {
        self.replaced
    }

    /// The Replaces header the INVITE carried, sent or received.
    pub fn replaces_header(&self) -> Option<&Replaces> {
        self.replaces_header.as_ref()
    }

    /// The Referred-By value the INVITE carried, sent or received.
    pub fn referred_by(&self) -> Option<&str> {
        self.referred_by.as_deref()
    }
}
