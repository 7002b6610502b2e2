//! One call: its legs (one SIP dialog and one RTP stream each) and its media.
//!
//! A leg is either one we answer (we are UAS: the caller's INVITE) or one we
//! place (we are UAC: an agent, a dial number through the trunk). A plain
//! B2BUA call is leg 0 (caller) and leg 1 (callee); call control adds legs for
//! consults and conferences. Legs are never removed from `legs` while the call
//! lives (their index is their identity in the indices); a leg that ended is
//! marked `gone`.

use super::output::CallId;
use super::output::LegId;
use crate::callmodel::{CallEventView, CallModel, PartyId};
use crate::media_rt::LegRemote;
use rsip::Request;
use sotto_sip::dialog::Dialog;
use sotto_sip::endpoint::{ClientTxId, Peer, ServerTxId};
use sotto_sip::sdp::{LocalSession, SessionDescription};
use std::time::Instant;

/// A leg's index in its call.
pub type LegIx = usize;

/// (Call-ID, our tag): how an in-dialog request finds its call.
pub type CallKey = (String, String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Echo,
    Agent(String),
    /// An entry point of the contact centre: the caller waits in a queue.
    EntryPoint(String),
}

impl Route {
    pub fn name(&self) -> String {
        match self {
            Route::Echo => "echo".into(),
            Route::Agent(user) => format!("agent:{user}"),
            Route::EntryPoint(id) => format!("entry:{id}"),
        }
    }
}

/// A leg we answer: the INVITE we received.
pub struct Uas {
    pub tx: ServerTxId,
    pub invite: Request,
    pub local_tag: String,
    /// Our offer in the 200 when the INVITE had none (answer comes in the ACK).
    pub our_offer: Option<SessionDescription>,
    /// Our answer to the INVITE's offer, sent when the call is answered.
    pub answer_sdp: Option<String>,
    /// A 180 went out.
    pub ringing: bool,
}

/// A leg we place: our INVITE.
pub struct Uac {
    pub tx: ClientTxId,
    pub invite: Request,
    pub offer: SessionDescription,
}

pub enum Origin {
    Uas(Uas),
    Uac(Uac),
}

pub struct Leg {
    pub origin: Origin,
    pub peer: Peer,
    pub dialog: Option<Dialog>,
    pub sdp: LocalSession,
    /// A final response was sent (UAS) or a 2xx received (UAC).
    pub answered: bool,
    /// The dialog is confirmed (the ACK arrived, or we sent it).
    pub confirmed: bool,
    /// This leg's media: its port's sockets are bound by the runtime under
    /// this id.
    pub media: LegId,
    pub rtp_port: u16,
    /// Where and how the leg sends, as offer/answer settled it.
    pub remote: LegRemote,
    /// Its media runs in the call's room (from answer until it leaves).
    pub in_room: bool,
    /// BYE or CANCEL sent or received.
    pub gone: bool,
    /// Who this leg is in the call model.
    pub party: Option<PartyId>,
    /// Our hold/resume re-INVITE in flight: its transaction, CSeq and offer.
    pub reinvite: Option<(ClientTxId, u32, SessionDescription)>,
    /// A REFER this leg's phone sent, whose outcome it still awaits (NOTIFY).
    pub refer: Option<sotto_sip::refer::ReferNotifier>,
    /// A REFER we sent on this leg (transfer toward a SIP peer), awaiting NOTIFYs.
    pub refer_out: Option<sotto_sip::refer::ReferSubscriber>,
    /// This leg moved here from another call (attended transfer by REFER
    /// with Replaces): the transferor to take out once its media is here.
    pub adopted_for: Option<PartyId>,
}

impl Leg {
    /// A leg that is starting: not answered yet, its port bound (media
    /// starts on answer).
    pub fn new(origin: Origin, peer: Peer, sdp: LocalSession, media: LegId, port: u16) -> Leg {
        Leg {
            origin,
            peer,
            dialog: None,
            sdp,
            answered: false,
            confirmed: false,
            media,
            rtp_port: port,
            remote: LegRemote::initial(),
            in_room: false,
            gone: false,
            party: None,
            reinvite: None,
            refer: None,
            refer_out: None,
            adopted_for: None,
        }
    }

    /// Sends an in-dialog re-INVITE with `offer` (our answer-to-be comes in
    /// its 2xx) and remembers it; None when the dialog cannot send one now.
    pub fn send_reinvite(
        &mut self,
        now: Instant,
        offer: SessionDescription,
        ep: &mut sotto_sip::endpoint::Endpoint,
    ) -> Result<ClientTxId, String> {
        use rsip::Header;
        let dialog = self.dialog.as_mut().ok_or("no dialog")?;
        let mut req = dialog
            .create_request(rsip::Method::Invite, sotto_sip::endpoint::unsent_via())
            .map_err(|e| e.to_string())?;
        let body = offer.to_string();
        req.headers
            .retain(|h| !matches!(h, Header::ContentLength(_)));
        req.headers
            .push(Header::ContentType("application/sdp".into()));
        req.headers
            .push(Header::ContentLength((body.len() as u32).into()));
        req.body = body.into_bytes();
        let cseq = sotto_sip::message::cseq(&req).map_or(1, |c| c.0);
        let tx = ep.send_request(now, req, self.peer);
        self.reinvite = Some((tx, cseq, offer));
        Ok(tx)
    }

    /// Points the leg's sender somewhere new (told to the runtime).
    pub fn set_remote(
        &mut self,
        remote: LegRemote,
        out: &mut std::collections::VecDeque<super::Output>,
    ) {
        self.remote = remote;
        out.push_back(super::Output::Media(super::MediaOp::Remote {
            leg: self.media,
            remote,
        }));
    }

    pub fn uas(&self) -> Option<&Uas> {
        match &self.origin {
            Origin::Uas(u) => Some(u),
            Origin::Uac(_) => None,
        }
    }

    pub fn uac(&self) -> Option<&Uac> {
        match &self.origin {
            Origin::Uac(u) => Some(u),
            Origin::Uas(_) => None,
        }
    }

    /// The INVITE that made this leg (ours or the peer's).
    pub fn invite(&self) -> &Request {
        match &self.origin {
            Origin::Uas(u) => &u.invite,
            Origin::Uac(u) => &u.invite,
        }
    }

    /// Our tag in this leg's dialog, once known.
    pub fn local_tag(&self) -> Option<String> {
        match &self.origin {
            Origin::Uas(u) => Some(u.local_tag.clone()),
            Origin::Uac(_) => self
                .dialog
                .as_ref()
                .map(|d| d.local_tag().as_str().to_string()),
        }
    }

    /// What stays in a call's list when its leg moved to another call: gone,
    /// no dialog, no media.
    pub fn tombstone(&self) -> Leg {
        Leg {
            origin: match &self.origin {
                Origin::Uas(u) => Origin::Uas(Uas {
                    tx: u.tx,
                    invite: u.invite.clone(),
                    local_tag: u.local_tag.clone(),
                    our_offer: None,
                    answer_sdp: None,
                    ringing: u.ringing,
                }),
                Origin::Uac(u) => Origin::Uac(Uac {
                    tx: u.tx,
                    invite: u.invite.clone(),
                    offer: u.offer.clone(),
                }),
            },
            peer: self.peer,
            dialog: None,
            sdp: LocalSession::new(0, 0),
            answered: true,
            confirmed: true,
            media: self.media,
            rtp_port: self.rtp_port,
            remote: self.remote,
            in_room: false,
            gone: true,
            party: None,
            reinvite: None,
            refer: None,
            refer_out: None,
            adopted_for: None,
        }
    }

    /// How in-dialog requests find this leg.
    pub fn key(&self) -> Option<CallKey> {
        let cid = sotto_sip::message::call_id(self.invite())?;
        Some((cid.to_string(), self.local_tag()?))
    }
}

pub struct Call {
    pub id: CallId,
    pub name: String,
    pub route: Route,
    pub started: Instant,
    pub legs: Vec<Leg>,
    /// The rules of the call (agents' calls; not the echo route).
    pub model: Option<CallModel>,
    /// A recording was started (one file per call).
    pub recording: bool,
    /// What happened (the model's events), newest last, for the API.
    pub events: Vec<CallEventView>,
    /// RFC 4733 digits received on the call, oldest first (the last 64).
    pub dtmf: String,
    /// When the caller's leg was answered (the call connected).
    pub answered_at: Option<Instant>,
    /// Hang-up in progress: what ended it.
    pub ending: Option<&'static str>,
    pub codec: Option<String>,
}

impl Call {
    /// A new call; its legs share one media room. `model` rules an agent's
    /// call (None: the echo route).
    pub fn new(
        id: CallId,
        route: Route,
        started: Instant,
        legs: Vec<Leg>,
        model: Option<CallModel>,
    ) -> Call {
        Call {
            id,
            name: id.to_string(),
            route,
            started,
            legs,
            model,
            recording: false,
            events: Vec::new(),
            dtmf: String::new(),
            answered_at: None,
            ending: None,
            codec: None,
        }
    }

    /// The leg that started the call (the caller's, for inbound calls).
    pub fn first(&self) -> Option<&Leg> {
        self.legs.first()
    }
}
