//! Offer/answer (RFC 3264 §6, §7) for one audio stream, with the direction rules
//! RFC 6337 §5 spells out.
//!
//! The edge carries one audio stream per call leg. Answering, we accept the first
//! audio `RTP/AVP` line that shares a codec with us and decline every other line with
//! port 0, keeping the count and order of `m=` lines (RFC 3264 §6). Processing an
//! answer to our offer, we read back what the peer accepted for our audio line.

use std::net::SocketAddr;

use super::model::{
    Codec, ConnectionAddress, Direction, MediaDescription, MediaType, Origin, PayloadType,
    SessionDescription,
};
use super::offer::{local_description, LocalMedia};

/// Why an offer or an answer cannot give us an audio stream.
///
/// Answering, every variant means the offer is refused with `488 Not Acceptable Here`
/// (RFC 3261 §13.3.1.1), see [`OfferAnswerError::status_code`]. Processing an answer
/// to our offer, the session is unusable and the edge ends it (RFC 3261 §13.2.2.4
/// for an answer in a 2xx: ACK, then BYE).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OfferAnswerError {
    /// No `m=audio` line with a non-zero port and the `RTP/AVP` profile.
    #[error("no active RTP/AVP audio stream")]
    NoAudio,
    /// Audio lines exist, but none lists a codec we support.
    #[error("no common audio codec")]
    NoCommonCodec,
    /// The audio line has no `c=`, neither its own nor the session's (RFC 4566 §5.7).
    #[error("media line {media_index} has no connection address")]
    NoConnection {
        /// The `m=` line, counted from 0.
        media_index: usize,
    },
    /// The audio line's `c=` is a host name; we do not resolve names in SDP.
    #[error("media line {media_index} has a host name as connection address")]
    HostConnection {
        /// The `m=` line, counted from 0.
        media_index: usize,
    },
    /// The answer's `m=` lines do not match the offer's one for one (RFC 3264 §6).
    #[error("answer has {answered} media lines for {offered} offered")]
    MediaCountMismatch {
        /// `m=` lines in our offer.
        offered: usize,
        /// `m=` lines in the answer.
        answered: usize,
    },
    /// The answerer declined our audio stream with port 0 (RFC 3264 §6).
    #[error("answerer rejected the audio stream")]
    AudioRejected,
}

impl OfferAnswerError {
    /// The SIP status to refuse an offer with: 488 (RFC 3261 §13.3.1.1, §21.4.26).
    pub fn status_code(&self) -> u16 {
        488
    }
}

/// What offer/answer settled for our audio stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Which `m=` line carries the audio.
    pub media_index: usize,
    /// The voice codec.
    pub codec: Codec,
    /// The RTP payload type number the codec travels under.
    pub payload_type: PayloadType,
    /// The payload type of RFC 4733 events, if both sides do them.
    pub telephone_event: Option<PayloadType>,
    /// Where to send RTP: media-level `c=` over session-level, and the `m=` port.
    /// An unspecified address (0.0.0.0, RFC 2543 hold) never comes with a sending
    /// [`direction`](Self::direction).
    pub remote_rtp: SocketAddr,
    /// Our direction: `sends()` means we send RTP to the peer.
    pub direction: Direction,
    /// The peer's `a=ptime` in milliseconds, if it asked for one.
    pub remote_ptime: Option<u32>,
}

/// Our answer: the description to send, and what it settles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The answer to send back.
    pub sdp: SessionDescription,
    /// What it settles for the audio stream.
    pub negotiated: Negotiated,
}

/// Answer `offer` (RFC 3264 §6): accept the first usable audio line with the first
/// codec in the offerer's order we support (plus telephone-event if offered at 8000 Hz,
/// under the offerer's number), decline all other lines with port 0.
pub fn answer(
    offer: &SessionDescription,
    local: &LocalMedia,
    origin: Origin,
) -> Result<Answer, OfferAnswerError> {
    let mut chosen: Option<Negotiated> = None;
    let mut refusal = OfferAnswerError::NoAudio;
    let mut media = Vec::with_capacity(offer.media.len());

    for (index, offered) in offer.media.iter().enumerate() {
        let accepted = if chosen.is_some() {
            None
        } else {
            match accept_audio(offer, index, local) {
                Ok(n) => Some(n),
                Err(e) => {
                    if specificity(&e) > specificity(&refusal) {
                        refusal = e;
                    }
                    None
                }
            }
        };
        match accepted {
            Some(n) => {
                let voice = [(n.payload_type, n.codec)];
                media.push(local.audio_media(
                    &offered.proto,
                    &voice,
                    n.telephone_event,
                    n.direction,
                ));
                chosen = Some(n);
            }
            None => media.push(declined(offered)),
        }
    }

    let negotiated = chosen.ok_or(refusal)?;
    Ok(Answer {
        sdp: local_description(origin, local.address, media),
        negotiated,
    })
}

/// Read the answer to our `offer` (RFC 3264 §7): the codec we send is the first one
/// the answer lists that we offered; our direction is what we offered limited by the
/// answerer's reversed.
pub fn process_answer(
    offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<Negotiated, OfferAnswerError> {
    if offer.media.len() != answer.media.len() {
        return Err(OfferAnswerError::MediaCountMismatch {
            offered: offer.media.len(),
            answered: answer.media.len(),
        });
    }
    let index = offer
        .media
        .iter()
        .position(is_active_audio)
        .ok_or(OfferAnswerError::NoAudio)?;
    let (ours, theirs) = (&offer.media[index], &answer.media[index]);
    if theirs.port == 0 {
        return Err(OfferAnswerError::AudioRejected);
    }
    let offered: Vec<Codec> = ours
        .payload_types()
        .filter_map(|pt| ours.codec_of(pt))
        .collect();
    let (payload_type, codec) = theirs
        .payload_types()
        .find_map(|pt| {
            theirs
                .codec_of(pt)
                .filter(|c| offered.contains(c))
                .map(|c| (pt, c))
        })
        .ok_or(OfferAnswerError::NoCommonCodec)?;
    let telephone_event = ours
        .telephone_event_8000()
        .and(theirs.telephone_event_8000());
    let (remote_rtp, held) = remote_address(answer, index, theirs.port)?;
    let mut theirs_dir = answer.direction_for(index);
    if held {
        theirs_dir = Direction::from_flags(theirs_dir.sends(), false);
    }
    Ok(Negotiated {
        media_index: index,
        codec,
        payload_type,
        telephone_event,
        remote_rtp,
        direction: offer
            .direction_for(index)
            .restricted_to(theirs_dir.reversed()),
        remote_ptime: theirs.ptime,
    })
}

/// An active audio line in a profile we speak.
fn is_active_audio(m: &MediaDescription) -> bool {
    m.media == MediaType::Audio && m.port != 0 && m.is_rtp_avp()
}

/// Try to accept offered line `index` as our audio stream.
fn accept_audio(
    offer: &SessionDescription,
    index: usize,
    local: &LocalMedia,
) -> Result<Negotiated, OfferAnswerError> {
    let m = &offer.media[index];
    if !is_active_audio(m) {
        return Err(OfferAnswerError::NoAudio);
    }
    let (payload_type, codec) = m
        .payload_types()
        .find_map(|pt| {
            m.codec_of(pt)
                .filter(|c| local.codecs.contains(c))
                .map(|c| (pt, c))
        })
        .ok_or(OfferAnswerError::NoCommonCodec)?;
    let (remote_rtp, held) = remote_address(offer, index, m.port)?;
    let mut offered = offer.direction_for(index);
    if held {
        // RFC 3264 §8.4 / RFC 2543: c=0.0.0.0 asks us not to send, whatever the
        // attribute says; the offerer may still send to us.
        offered = Direction::from_flags(offered.sends(), false);
    }
    Ok(Negotiated {
        media_index: index,
        codec,
        payload_type,
        telephone_event: local.telephone_event.and(m.telephone_event_8000()),
        remote_rtp,
        // RFC 3264 §6.1, RFC 6337 §5.1: sendonly → recvonly, recvonly → sendonly,
        // inactive → inactive, sendrecv → sendrecv; then what we want (hold) limits it.
        direction: offered.reversed().restricted_to(local.direction),
        remote_ptime: m.ptime,
    })
}

/// The address RTP goes to for line `index`, and whether it is the RFC 2543 hold
/// address.
fn remote_address(
    sdp: &SessionDescription,
    index: usize,
    port: u16,
) -> Result<(SocketAddr, bool), OfferAnswerError> {
    let conn = sdp
        .connection_for(index)
        .ok_or(OfferAnswerError::NoConnection { media_index: index })?;
    match conn.address {
        ConnectionAddress::Ip(ip) => Ok((SocketAddr::new(ip, port), ip.is_unspecified())),
        ConnectionAddress::Host(_) => Err(OfferAnswerError::HostConnection { media_index: index }),
    }
}

/// A declined line (RFC 3264 §6): same media, proto and formats, port 0, no attributes.
fn declined(offered: &MediaDescription) -> MediaDescription {
    MediaDescription {
        media: offered.media.clone(),
        port: 0,
        port_count: None,
        proto: offered.proto.clone(),
        formats: offered.formats.clone(),
        connection: None,
        rtpmaps: Vec::new(),
        fmtps: Vec::new(),
        ptime: None,
        direction: None,
        attributes: Vec::new(),
        other_lines: Vec::new(),
    }
}

/// When several lines fail for different reasons, report the one nearest to success.
fn specificity(e: &OfferAnswerError) -> u8 {
    match e {
        OfferAnswerError::NoAudio => 0,
        OfferAnswerError::NoCommonCodec => 1,
        _ => 2,
    }
}
