//! Small helpers for reading and writing the messages a phone sends and receives.

use std::net::{IpAddr, SocketAddr};

use rsip::prelude::UntypedHeader;
use rsip::{Header, Headers};
use sotto_sip::sdp::{Direction, MediaType, SessionDescription};

/// The methods a phone answers, for Allow.
pub(crate) const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY";

/// The option tags a phone supports, for Supported.
pub(crate) const SUPPORTED: &str = "replaces";

pub(crate) const SDP: &str = "application/sdp";

/// Puts `body` in a message with its Content-Type (the encoder writes Content-Length).
pub(crate) fn set_body(
    headers: &mut Headers,
    body: &mut Vec<u8>,
    content_type: &str,
    bytes: Vec<u8>,
) {
    headers.retain(|h| !matches!(h, Header::ContentType(_) | Header::ContentLength(_)));
    headers.push(Header::ContentType(content_type.into()));
    *body = bytes;
}

/// The SDP body of a message: `Ok(None)` without a body, `Err` when the body is not
/// SDP or does not parse.
pub(crate) fn sdp_of(headers: &Headers, body: &[u8]) -> Result<Option<SessionDescription>, ()> {
    if body.is_empty() {
        return Ok(None);
    }
    let content_type = headers.iter().find_map(|h| match h {
        Header::ContentType(c) => Some(c.value().to_ascii_lowercase()),
        _ => None,
    });
    if content_type.is_some_and(|c| !c.trim().starts_with(SDP)) {
        return Err(());
    }
    SessionDescription::parse(body).map(Some).map_err(|_| ())
}

/// The direction the first audio line of `sdp` states (media level, else session
/// level, else sendrecv).
pub(crate) fn stated_direction(sdp: &SessionDescription) -> Option<Direction> {
    sdp.media
        .iter()
        .position(|m| m.media == MediaType::Audio)
        .map(|i| sdp.direction_for(i))
}

/// The direction an offer asks for on its first audio line: its attribute (media level,
/// else session level), else inactive for the RFC 2543 hold address `c=0.0.0.0`
/// (RFC 3264 §8.4), else sendrecv; inactive without an audio line.
pub(crate) fn offered_direction(sdp: &SessionDescription) -> Direction {
    let Some(i) = sdp.media.iter().position(|m| m.media == MediaType::Audio) else {
        return Direction::Inactive;
    };
    match sdp.media[i].direction.or(sdp.direction) {
        Some(d) => d,
        None if sdp.connection_for(i).is_some_and(|c| c.is_hold_address()) => Direction::Inactive,
        None => Direction::SendRecv,
    }
}

/// Where a request to `uri` goes when no proxy is configured: its host as an IP
/// literal and its port (5060 by default).
pub(crate) fn resolve(uri: &rsip::Uri) -> Option<SocketAddr> {
    let host = uri.host_with_port.host.to_string();
    let ip: IpAddr = host.trim_matches(['[', ']']).parse().ok()?;
    let port = uri.host_with_port.port.map(|p| *p.value()).unwrap_or(5060);
    Some(SocketAddr::new(ip, port))
}

/// Whether a request's Require lists a tag other than those we support.
pub(crate) fn unsupported_required(headers: &Headers) -> Option<String> {
    let required: Vec<String> = headers
        .iter()
        .filter_map(|h| match h {
            Header::Require(r) => Some(r.value().to_string()),
            _ => None,
        })
        .flat_map(|v| {
            v.split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .filter(|t| !t.is_empty() && t != SUPPORTED)
        .collect();
    (!required.is_empty()).then(|| required.join(", "))
}
