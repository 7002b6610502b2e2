//! Our side of an SDP session: what we offer, and the `o=` line across re-offers.

use std::net::IpAddr;

use super::answer::{answer, Answer, OfferAnswerError};
use super::model::{
    Codec, Connection, Direction, Fmtp, MediaDescription, MediaType, Origin, PayloadType, RtpMap,
    SessionDescription, TELEPHONE_EVENT, TELEPHONE_EVENT_FMTP,
};

/// The session name we put in `s=` (RFC 4566 §5.3 requires one, any text will do).
pub const SESSION_NAME: &str = "sotto";

/// What we can and want to do on our one audio stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    /// Where we receive RTP; also our `o=` and `c=` address.
    pub address: IpAddr,
    /// The UDP port we receive RTP on: the port of our `m=` line.
    pub rtp_port: u16,
    /// The voice codecs we accept. In offers, listed in this order (our preference);
    /// in answers, the offerer's order decides among them.
    pub codecs: Vec<Codec>,
    /// Payload type for telephone-event in our offers; `None` neither offers nor
    /// accepts RFC 4733 events. In answers the offerer's number is kept.
    pub telephone_event: Option<PayloadType>,
    /// What we want, e.g. [`Direction::SendOnly`] while we hold the peer (RFC 6337 §5.3).
    pub direction: Direction,
    /// `a=ptime` we ask for, in milliseconds.
    pub ptime: Option<u32>,
}

impl LocalMedia {
    /// The usual edge setup: PCMU then PCMA, telephone-event on 101, sendrecv, 20 ms.
    pub fn new(address: IpAddr, rtp_port: u16) -> Self {
        Self {
            address,
            rtp_port,
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            telephone_event: Some(PayloadType(101)),
            direction: Direction::SendRecv,
            ptime: Some(20),
        }
    }

    /// Our audio `m=` section: `formats` are the payload types to list, in order.
    pub(crate) fn audio_media(
        &self,
        proto: &str,
        voice: &[(PayloadType, Codec)],
        telephone_event: Option<PayloadType>,
        direction: Direction,
    ) -> MediaDescription {
        let mut rtpmaps: Vec<RtpMap> = voice
            .iter()
            .map(|(pt, codec)| RtpMap {
                payload_type: *pt,
                encoding_name: codec.encoding_name().into(),
                clock_rate: codec.clock_rate(),
                encoding_params: None,
            })
            .collect();
        let mut fmtps = Vec::new();
        if let Some(pt) = telephone_event {
            rtpmaps.push(RtpMap {
                payload_type: pt,
                encoding_name: TELEPHONE_EVENT.into(),
                clock_rate: 8000,
                encoding_params: None,
            });
            fmtps.push(Fmtp {
                format: pt.0.to_string(),
                params: TELEPHONE_EVENT_FMTP.into(),
            });
        }
        MediaDescription {
            media: MediaType::Audio,
            port: self.rtp_port,
            port_count: None,
            proto: proto.into(),
            formats: rtpmaps
                .iter()
                .map(|m| m.payload_type.0.to_string())
                .collect(),
            connection: None,
            rtpmaps,
            fmtps,
            ptime: self.ptime,
            direction: Some(direction),
            attributes: Vec::new(),
            other_lines: Vec::new(),
        }
    }
}

impl Origin {
    /// Our own `o=- <id> <version> IN IP4|IP6 <address>`.
    pub fn local(session_id: u64, session_version: u64, address: IpAddr) -> Self {
        Self {
            username: "-".into(),
            session_id: session_id.to_string(),
            session_version: session_version.to_string(),
            net_type: "IN".into(),
            addr_type: if address.is_ipv4() { "IP4" } else { "IP6" }.into(),
            address: address.to_string(),
        }
    }
}

/// A description with our origin, session name and session-level `c=`, and `media`.
pub(crate) fn local_description(
    origin: Origin,
    address: IpAddr,
    media: Vec<MediaDescription>,
) -> SessionDescription {
    SessionDescription {
        origin,
        session_name: SESSION_NAME.into(),
        connection: Some(Connection::ip(address)),
        direction: None,
        attributes: Vec::new(),
        other_lines: Vec::new(),
        media,
    }
}

/// An offer with one audio stream: our codecs in preference order with their static
/// payload types, telephone-event if configured, and our direction stated explicitly.
///
/// With an empty codec list the `m=` line carries telephone-event alone (or nothing),
/// which no peer will accept: configuration must list a codec.
pub fn build_offer(local: &LocalMedia, origin: Origin) -> SessionDescription {
    let voice: Vec<(PayloadType, Codec)> = local
        .codecs
        .iter()
        .map(|c| (c.static_payload_type(), *c))
        .collect();
    let audio = local.audio_media("RTP/AVP", &voice, local.telephone_event, local.direction);
    local_description(origin, local.address, vec![audio])
}

/// Our `o=` across the life of a dialog: the session id never changes, and the version
/// goes up by one whenever what we send differs from what we sent last, and only then
/// (RFC 3264 §8: an unchanged version promises an identical description, as in a
/// session-timer refresh).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSession {
    session_id: u64,
    version: u64,
    last_sent: Option<SessionDescription>,
    /// We hold the peer (RFC 6337 §5.3): see `sdp/hold.rs`.
    pub(super) holding: bool,
    /// The peer's last offer or answer asked us not to send (it holds us).
    pub(super) held_by_peer: bool,
}

impl LocalSession {
    /// RFC 4566 §5.2 suggests an NTP timestamp for both numbers; any caller-chosen
    /// values work as long as the id is unique enough.
    pub fn new(session_id: u64, session_version: u64) -> Self {
        Self {
            session_id,
            version: session_version,
            last_sent: None,
            holding: false,
            held_by_peer: false,
        }
    }

    /// The `sess-id` of our `o=` line, fixed for the dialog.
    pub fn session_id(&self) -> u64 {
        self.session_id
    }

    /// The version of the last description handed out (or the initial one).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// An offer, initial or a re-offer (refresh), with the right version. Its direction
    /// is `local.direction` limited by the session's hold state
    /// ([`LocalSession::offer_direction`]), so a refresh while held stays held.
    pub fn offer(&mut self, local: &LocalMedia) -> SessionDescription {
        let direction = local.direction.restricted_to(self.offer_direction());
        self.offer_with_direction(local, direction)
    }

    /// An offer stating exactly `direction`, with the right version.
    pub fn offer_with_direction(
        &mut self,
        local: &LocalMedia,
        direction: Direction,
    ) -> SessionDescription {
        let local = LocalMedia {
            direction,
            ..local.clone()
        };
        let sdp = build_offer(&local, self.origin(local.address));
        self.seal(sdp, local.address)
    }

    /// An answer to `offer`, with the right version. On error nothing is recorded.
    ///
    /// The direction follows RFC 6337 §5.1 (sendonly → recvonly, recvonly → sendonly,
    /// inactive → inactive, sendrecv → sendrecv, whatever we answered before), limited
    /// by `local.direction` and by our own hold (sendonly). An offer that does not
    /// want our media (sendonly, inactive, or `c=0.0.0.0`) means the peer holds us.
    pub fn answer(
        &mut self,
        offer: &SessionDescription,
        local: &LocalMedia,
    ) -> Result<Answer, OfferAnswerError> {
        let local = LocalMedia {
            direction: local.direction.restricted_to(self.hold_limit()),
            ..local.clone()
        };
        let mut a = answer(offer, &local, self.origin(local.address))?;
        a.sdp = self.seal(a.sdp, local.address);
        self.held_by_peer =
            !super::hold::stated_direction(offer, a.negotiated.media_index).receives();
        Ok(a)
    }

    fn origin(&self, address: IpAddr) -> Origin {
        Origin::local(self.session_id, self.version, address)
    }

    /// Stamp `sdp` with our origin, bumping the version if its content changed.
    fn seal(&mut self, mut sdp: SessionDescription, address: IpAddr) -> SessionDescription {
        sdp.origin = self.origin(address);
        if self.last_sent.as_ref().is_some_and(|last| *last != sdp) {
            self.version = self.version.wrapping_add(1);
            sdp.origin = self.origin(address);
        }
        self.last_sent = Some(sdp.clone());
        sdp
    }
}
