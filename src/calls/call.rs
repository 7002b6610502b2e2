//! One call: the caller's leg (A, where sotto is UAS) and, for the B2BUA, the
//! callee's leg (B, where sotto is UAC).

use crate::media_rt::{BoundLeg, LegRemote, MediaTask};
use rsip::Request;
use sotto_sip::dialog::Dialog;
use sotto_sip::endpoint::{ClientTxId, Peer, ServerTxId};
use sotto_sip::sdp::{LocalSession, SessionDescription};
use std::time::Instant;
use tokio::sync::watch;

/// Which leg of a call a dialog belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    A,
    B,
}

/// (Call-ID, our tag): how an in-dialog request finds its call.
pub type CallKey = (String, String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Echo,
    Agent(String),
}

impl Route {
    pub fn name(&self) -> String {
        match self {
            Route::Echo => "echo".into(),
            Route::Agent(user) => format!("agent:{user}"),
        }
    }
}

/// The leg toward the caller.
pub struct ALeg {
    pub tx: ServerTxId,
    pub invite: Request,
    pub peer: Peer,
    pub local_tag: String,
    pub dialog: Option<Dialog>,
    pub sdp: LocalSession,
    /// Our offer in the 200 when the INVITE had none (answer comes in the ACK).
    pub our_offer: Option<SessionDescription>,
    pub answered: bool,
    /// A 180 went out.
    pub ringing: bool,
    pub confirmed: bool,
    pub rtp_port: u16,
    pub remote: watch::Sender<LegRemote>,
}

/// The leg toward the callee.
pub struct BLeg {
    pub tx: ClientTxId,
    pub invite: Request,
    pub peer: Peer,
    pub dialog: Option<Dialog>,
    pub offer: SessionDescription,
    pub sdp: LocalSession,
    pub answered: bool,
    pub rtp_port: u16,
    pub remote: watch::Sender<LegRemote>,
}

pub struct Call {
    pub id: u64,
    pub name: String,
    pub route: Route,
    pub started: Instant,
    pub a: ALeg,
    pub b: Option<BLeg>,
    /// Sockets bound but not yet running (B2BUA before answer).
    pub pending_media: Vec<BoundLeg>,
    pub media: Option<MediaTask>,
    /// Our answer to the caller's offer, sent when the callee answers.
    pub a_sdp: Option<String>,
    /// Hang-up in progress: what ended it.
    pub ending: Option<&'static str>,
    pub codec: Option<String>,
}
