//! The dialog state (§12.1) and how a dialog comes into being on each side.

use std::time::Instant;

use rsip::{typed, Request, Response, Uri};

use super::error::{DialogError, HeaderProblem, PeerMisbehaved};
use super::fields::{self, FieldError};
use super::id::{CallId, DialogId, Tag};
use super::reinvite::{ClientInvite, InviteTracker, ReInviteRetry, ServerInvite};
use super::route::RouteSet;

/// Which end of the dialog-creating request we were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We sent the INVITE (and generated its Call-ID).
    Uac,
    /// We received the INVITE.
    Uas,
}

/// §12: a dialog is early after a 1xx with a To tag, confirmed after a 2xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// Created by a provisional response with a To tag (§12.1); no 2xx yet.
    Early,
    /// A 2xx established it (§12.1).
    Confirmed,
    /// Ended (BYE, a 481 or 408 in the dialog, a non-2xx final answer to an early dialog,
    /// or [`Dialog::terminate`]): nothing more is sent in it.
    Terminated,
}

/// A display name and URI, as in From/To (§20.20, §20.39).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NameAddr {
    pub(crate) display_name: Option<String>,
    pub(crate) uri: Uri,
}

/// One SIP dialog (RFC 3261 §12), as kept by one of its two user agents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub(crate) id: DialogId,
    pub(crate) role: Role,
    pub(crate) state: DialogState,
    pub(crate) local: NameAddr,
    pub(crate) remote: NameAddr,
    /// Empty for the UAS until it sends its first request (§12.1.1).
    pub(crate) local_cseq: Option<u32>,
    /// Empty for the UAC until the peer sends its first request (§12.1.2).
    pub(crate) remote_cseq: Option<u32>,
    pub(crate) remote_target: Uri,
    pub(crate) route_set: RouteSet,
    pub(crate) secure: bool,
    pub(crate) local_contact: typed::Contact,
    pub(crate) invites: InviteTracker,
}

fn local(e: FieldError) -> DialogError {
    DialogError::BadLocalMessage {
        header: e.0,
        problem: e.1,
    }
}

fn peer(e: FieldError) -> DialogError {
    PeerMisbehaved::BadHeader {
        header: e.0,
        problem: e.1,
    }
    .into()
}

impl Dialog {
    /// The UAC's dialog (§12.1.2), from the request we sent and a response that creates a
    /// dialog: a 101–199 with a To tag (early) or a 2xx (confirmed).
    ///
    /// Route set: the response's Record-Route reversed. Remote target: its Contact.
    /// Local CSeq: the request's; remote CSeq: empty. Secure: the Request-URI is SIPS
    /// (the transport layer sends SIPS over TLS only).
    pub fn from_uac(request: &Request, response: &Response) -> Result<Self, DialogError> {
        let status = response.status_code.code();
        if !(101..300).contains(&status) {
            return Err(DialogError::NoDialog(status));
        }
        let from = fields::from(&request.headers).map_err(local)?;
        let local_tag = fields::tag_of(&from.params)
            .ok_or(("From", HeaderProblem::MissingTag))
            .map_err(local)?;
        let call_id = fields::call_id(&request.headers).map_err(local)?;
        let cseq = fields::cseq(&request.headers).map_err(local)?;
        let local_contact = fields::contact(&request.headers)
            .map_err(local)?
            .ok_or(("Contact", HeaderProblem::Missing))
            .map_err(local)?;

        let to = fields::to(&response.headers).map_err(peer)?;
        let Some(remote_tag) = fields::tag_of(&to.params) else {
            return Err(match status {
                200..=299 => peer(("To", HeaderProblem::MissingTag)),
                _ => DialogError::NoDialog(status),
            });
        };
        if fields::call_id(&response.headers).map_err(peer)? != call_id {
            return Err(DialogError::NotThisDialog);
        }
        let remote_target = match fields::contact(&response.headers).map_err(peer)? {
            Some(contact) => contact.uri,
            // A 2xx to INVITE must carry Contact (§13.3.1.4); a 1xx may omit it, and the
            // request's Request-URI is the best target until one arrives.
            None if status >= 200 => return Err(peer(("Contact", HeaderProblem::Missing))),
            None => request.uri.clone(),
        };
        let route_set = RouteSet::from_record_route_as_uac(
            fields::record_route(&response.headers).map_err(peer)?,
        );

        let state = if status >= 200 {
            DialogState::Confirmed
        } else {
            DialogState::Early
        };
        let mut invites = InviteTracker::new(true);
        if state == DialogState::Early && cseq.method == rsip::Method::Invite {
            invites.client = ClientInvite::ExpectFinalResponse { cseq: cseq.seq };
        }
        Ok(Self {
            id: DialogId {
                call_id: CallId::new(call_id),
                local_tag: Tag::new(local_tag),
                remote_tag: Tag::new(remote_tag),
            },
            role: Role::Uac,
            state,
            local: NameAddr {
                display_name: from.display_name,
                uri: from.uri,
            },
            remote: NameAddr {
                display_name: to.display_name,
                uri: to.uri,
            },
            local_cseq: Some(cseq.seq),
            remote_cseq: None,
            remote_target,
            route_set,
            secure: request.uri.is_sips().unwrap_or(false),
            local_contact,
            invites,
        })
    }

    /// The UAS's dialog (§12.1.1), made when we answer `request` with a 1xx or 2xx that
    /// carries `local_tag` in its To and `local_contact` as Contact.
    ///
    /// The dialog starts early; report each response we send with
    /// [`Dialog::on_response_sent`]: a 2xx confirms it, a non-2xx final ends it.
    /// Route set: the request's Record-Route as-is (the response must copy it back,
    /// §12.1.1). Remote target: the request's Contact. Remote CSeq: the request's; local
    /// CSeq: empty.
    pub fn from_uas(
        request: &Request,
        local_tag: Tag,
        local_contact: impl Into<typed::Contact>,
    ) -> Result<Self, DialogError> {
        let from = fields::from(&request.headers).map_err(peer)?;
        let remote_tag = fields::tag_of(&from.params)
            .ok_or(("From", HeaderProblem::MissingTag))
            .map_err(peer)?;
        let to = fields::to(&request.headers).map_err(peer)?;
        let call_id = fields::call_id(&request.headers).map_err(peer)?;
        let cseq = fields::cseq(&request.headers).map_err(peer)?;
        let remote_target = fields::contact(&request.headers)
            .map_err(peer)?
            .ok_or(("Contact", HeaderProblem::Missing))
            .map_err(peer)?
            .uri;
        let route_set = RouteSet::from_record_route_as_uas(
            fields::record_route(&request.headers).map_err(peer)?,
        );

        let mut invites = InviteTracker::new(false);
        if cseq.method == rsip::Method::Invite {
            invites.server = ServerInvite::ExpectFinalResponse { cseq: cseq.seq };
        }
        Ok(Self {
            id: DialogId {
                call_id: CallId::new(call_id),
                local_tag,
                remote_tag: Tag::new(remote_tag),
            },
            role: Role::Uas,
            state: DialogState::Early,
            local: NameAddr {
                display_name: to.display_name,
                uri: to.uri,
            },
            remote: NameAddr {
                display_name: from.display_name,
                uri: from.uri,
            },
            local_cseq: None,
            remote_cseq: Some(cseq.seq),
            remote_target,
            route_set,
            secure: request.uri.is_sips().unwrap_or(false),
            local_contact: local_contact.into(),
            invites,
        })
    }

    /// The dialog ID, as seen from our side.
    pub fn id(&self) -> &DialogId {
        &self.id
    }

    /// Whether we sent or received the INVITE that created the dialog.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Early, confirmed or terminated.
    pub fn state(&self) -> DialogState {
        self.state
    }

    /// From URI of our requests (§12.1).
    pub fn local_uri(&self) -> &Uri {
        &self.local.uri
    }

    /// To URI of our requests (§12.1).
    pub fn remote_uri(&self) -> &Uri {
        &self.remote.uri
    }

    /// Our tag (From on our requests, To on the peer's).
    pub fn local_tag(&self) -> &Tag {
        &self.id.local_tag
    }

    /// The peer's tag (To on our requests, From on the peer's).
    pub fn remote_tag(&self) -> &Tag {
        &self.id.remote_tag
    }

    /// CSeq number of the last request we sent in the dialog, if any.
    pub fn local_cseq(&self) -> Option<u32> {
        self.local_cseq
    }

    /// CSeq number of the last request the peer sent in the dialog, if any.
    pub fn remote_cseq(&self) -> Option<u32> {
        self.remote_cseq
    }

    /// Where our in-dialog requests go: the peer's latest Contact (§12.2).
    pub fn remote_target(&self) -> &Uri {
        &self.remote_target
    }

    /// The route set our in-dialog requests follow (§12.1.1, §12.1.2).
    pub fn route_set(&self) -> &RouteSet {
        &self.route_set
    }

    /// The URI to resolve for the next hop of our requests (§8.1.2, RFC 3263).
    pub fn next_hop(&self) -> &Uri {
        self.route_set.next_hop(&self.remote_target)
    }

    /// The dialog was created by a SIPS Request-URI: its requests must go over TLS.
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// We generated the Call-ID (§14.1): it decides the glare back-off window.
    pub fn owns_call_id(&self) -> bool {
        self.role == Role::Uac
    }

    /// Where our own INVITE transaction on this dialog stands (§14.1).
    pub fn client_invite(&self) -> ClientInvite {
        self.invites.client
    }

    /// Where the peer's INVITE transaction on this dialog stands (§14.2).
    pub fn server_invite(&self) -> ServerInvite {
        self.invites.server
    }

    /// §14.1: whether a re-INVITE may be sent now (confirmed dialog, no INVITE in
    /// progress either way, no glare back-off running).
    pub fn may_send_reinvite(&self) -> Result<(), DialogError> {
        match self.state {
            DialogState::Terminated => Err(DialogError::Terminated),
            DialogState::Early => Err(DialogError::MethodNotAllowed {
                method: rsip::Method::Invite,
                state: self.state,
            }),
            DialogState::Confirmed => self.invites.may_send_invite(),
        }
    }

    /// When [`Dialog::handle_timeout`] has something to do: the end of a §14.1 glare
    /// back-off. A past instant means "now".
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            DialogState::Terminated => None,
            _ => self.invites.poll_timeout(),
        }
    }

    /// Returns [`ReInviteRetry`] when the glare back-off is over: the re-INVITE may be
    /// sent again now.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<ReInviteRetry> {
        match self.state {
            DialogState::Terminated => None,
            _ => self.invites.handle_timeout(now),
        }
    }

    /// Give up a re-INVITE waiting out a glare back-off.
    pub fn abandon_reinvite_retry(&mut self) {
        self.invites.abandon_retry();
    }

    /// End the dialog locally (e.g. the ACK for our 2xx never came, §13.3.1.4, or the
    /// session timer expired).
    pub fn terminate(&mut self) {
        self.state = DialogState::Terminated;
    }
}
