//! Reading SDP from a peer (RFC 4566 §5), leniently but never blindly.
//!
//! Leniency where real peers differ from the grammar: LF or CRLF line ends, trailing
//! blanks, a missing `s=` or `t=`, upper-case media and encoding names, attributes we do
//! not know (kept verbatim), malformed `rtpmap`/`fmtp`/`ptime` lines (kept as plain
//! attributes, so one odd codec cannot sink a call). Errors where the description is
//! unusable: no `v=0`, no or a broken `o=`, a broken `c=` or `m=`, a line that is not
//! `<letter>=<value>`, or a body larger than any SIP message should carry.

use std::net::IpAddr;

use super::model::{
    Attribute, Connection, ConnectionAddress, Direction, Fmtp, MediaDescription, MediaType, Origin,
    OtherLine, PayloadType, RtpMap, SessionDescription,
};

/// Largest body we read: a UDP datagram's worth, far above any real telephony SDP,
/// and a bound on the work a hostile peer can make us do.
pub const MAX_SDP_LEN: usize = 65_535;

/// Why a body is not a usable session description. Line numbers count from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    /// The body has no lines.
    #[error("empty session description")]
    Empty,
    /// The body is over [`MAX_SDP_LEN`] bytes.
    #[error("session description longer than {MAX_SDP_LEN} bytes")]
    TooLarge,
    /// The first line is not `v=0` (RFC 4566 §5.1).
    #[error("line {line}: a session description must start with v=0")]
    MissingVersion {
        /// The number of the offending line.
        line: usize,
    },
    /// A line is not a type letter, `=` and a value (RFC 4566 §5).
    #[error("line {line}: not a <type>=<value> line")]
    MalformedLine {
        /// The number of the offending line.
        line: usize,
    },
    /// The required `o=` line is absent (RFC 4566 §5.2).
    #[error("no o= line")]
    MissingOrigin,
    /// An `o=` line without its six fields or with non-numeric session id or version
    /// (RFC 4566 §5.2).
    #[error("line {line}: malformed o= line")]
    BadOrigin {
        /// The number of the offending line.
        line: usize,
    },
    /// A `c=` line that does not parse (RFC 4566 §5.7).
    #[error("line {line}: malformed c= line")]
    BadConnection {
        /// The number of the offending line.
        line: usize,
    },
    /// An `m=` line that does not parse (RFC 4566 §5.14).
    #[error("line {line}: malformed m= line")]
    BadMedia {
        /// The number of the offending line.
        line: usize,
    },
}

impl SessionDescription {
    /// Parse a body as received. Bytes that are not UTF-8 are replaced, not refused:
    /// they can only sit in free-text fields we do not interpret.
    pub fn parse(body: &[u8]) -> Result<Self, SdpError> {
        if body.len() > MAX_SDP_LEN {
            return Err(SdpError::TooLarge);
        }
        parse_text(&String::from_utf8_lossy(body))
    }
}

impl std::str::FromStr for SessionDescription {
    type Err = SdpError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s.as_bytes())
    }
}

fn parse_text(text: &str) -> Result<SessionDescription, SdpError> {
    let mut lines = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches(['\r', ' ', '\t'])))
        .filter(|(_, l)| !l.is_empty());

    let (first_no, first) = lines.next().ok_or(SdpError::Empty)?;
    match split_line(first) {
        Some(('v', v)) if v.trim() == "0" => {}
        _ => return Err(SdpError::MissingVersion { line: first_no }),
    }

    let mut origin = None;
    let mut session_name = None;
    let mut session = SessionParts::default();
    let mut media: Vec<MediaDescription> = Vec::new();

    for (no, line) in lines {
        let (kind, value) = split_line(line).ok_or(SdpError::MalformedLine { line: no })?;
        if let Some(m) = media.last_mut() {
            match kind {
                'm' => media.push(parse_media(value, no)?),
                'c' if m.connection.is_none() => m.connection = Some(parse_connection(value, no)?),
                'a' => add_media_attribute(value, m),
                _ => m.other_lines.push(other(kind, value)),
            }
            continue;
        }
        match kind {
            'o' if origin.is_none() => origin = Some(parse_origin(value, no)?),
            's' if session_name.is_none() => session_name = Some(value.to_owned()),
            'c' if session.connection.is_none() => {
                session.connection = Some(parse_connection(value, no)?)
            }
            'a' => add_session_attribute(value, &mut session),
            'm' => media.push(parse_media(value, no)?),
            _ => session.other_lines.push(other(kind, value)),
        }
    }

    Ok(SessionDescription {
        origin: origin.ok_or(SdpError::MissingOrigin)?,
        session_name: session_name.unwrap_or_else(|| "-".into()),
        connection: session.connection,
        direction: session.direction,
        attributes: session.attributes,
        other_lines: session.other_lines,
        media,
    })
}

#[derive(Default)]
struct SessionParts {
    connection: Option<Connection>,
    direction: Option<Direction>,
    attributes: Vec<Attribute>,
    other_lines: Vec<OtherLine>,
}

/// `<type>=<value>` where type is one letter (RFC 4566 §5).
fn split_line(line: &str) -> Option<(char, &str)> {
    let (kind, value) = line.split_once('=')?;
    let mut chars = kind.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_alphabetic() => Some((c.to_ascii_lowercase(), value)),
        _ => None,
    }
}

fn other(kind: char, value: &str) -> OtherLine {
    OtherLine {
        kind,
        value: value.to_owned(),
    }
}

fn parse_origin(value: &str, line: usize) -> Result<Origin, SdpError> {
    let f: Vec<&str> = value.split_ascii_whitespace().collect();
    let [username, id, version, net_type, addr_type, address] = f[..] else {
        return Err(SdpError::BadOrigin { line });
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(id) || !digits(version) {
        return Err(SdpError::BadOrigin { line });
    }
    Ok(Origin {
        username: username.into(),
        session_id: id.into(),
        session_version: version.into(),
        net_type: net_type.into(),
        addr_type: addr_type.into(),
        address: address.into(),
    })
}

fn parse_connection(value: &str, line: usize) -> Result<Connection, SdpError> {
    let f: Vec<&str> = value.split_ascii_whitespace().collect();
    let [net_type, addr_type, full] = f[..] else {
        return Err(SdpError::BadConnection { line });
    };
    let (addr, suffix) = match full.split_once('/') {
        Some((a, s)) => (a, Some(s.to_owned())),
        None => (full, None),
    };
    let address = match addr.parse::<IpAddr>() {
        Ok(ip) => ConnectionAddress::Ip(ip),
        Err(_) if is_host_name(addr) => ConnectionAddress::Host(addr.to_owned()),
        Err(_) => return Err(SdpError::BadConnection { line }),
    };
    Ok(Connection {
        net_type: net_type.into(),
        addr_type: addr_type.into(),
        address,
        multicast_suffix: suffix,
    })
}

/// An FQDN as RFC 4566 §9 allows in `c=`: letters, digits, `-` and `.`.
fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn parse_media(value: &str, line: usize) -> Result<MediaDescription, SdpError> {
    let mut f = value.split_ascii_whitespace();
    let (Some(media), Some(port), Some(proto)) = (f.next(), f.next(), f.next()) else {
        return Err(SdpError::BadMedia { line });
    };
    let (port, port_count) = match port.split_once('/') {
        Some((p, n)) => (p, Some(n)),
        None => (port, None),
    };
    let port = port
        .parse::<u16>()
        .map_err(|_| SdpError::BadMedia { line })?;
    let port_count = port_count
        .map(|n| n.parse::<u16>().map_err(|_| SdpError::BadMedia { line }))
        .transpose()?;
    Ok(MediaDescription {
        media: MediaType::from_token(media),
        port,
        port_count,
        proto: proto.into(),
        formats: f.map(str::to_owned).collect(),
        connection: None,
        rtpmaps: Vec::new(),
        fmtps: Vec::new(),
        ptime: None,
        direction: None,
        attributes: Vec::new(),
        other_lines: Vec::new(),
    })
}

/// Split `a=<name>[:<value>]`.
fn split_attribute(value: &str) -> (&str, Option<&str>) {
    match value.split_once(':') {
        Some((n, v)) => (n, Some(v)),
        None => (value, None),
    }
}

/// A property attribute that names a direction (RFC 3264 §5.1). If a peer sends
/// several, the last one wins.
fn direction_attribute(name: &str, value: Option<&str>) -> Option<Direction> {
    value
        .is_none()
        .then(|| Direction::from_attribute(name))
        .flatten()
}

fn add_session_attribute(value: &str, session: &mut SessionParts) {
    let (name, val) = split_attribute(value);
    if let Some(d) = direction_attribute(name, val) {
        session.direction = Some(d);
        return;
    }
    session.attributes.push(attribute(name, val));
}

/// File a media-level `a=` line; a typed attribute that does not parse is kept as text.
fn add_media_attribute(value: &str, m: &mut MediaDescription) {
    let (name, val) = split_attribute(value);
    if let Some(d) = direction_attribute(name, val) {
        m.direction = Some(d);
        return;
    }
    let typed = val.and_then(|v| match name {
        "rtpmap" => parse_rtpmap(v).map(|r| m.rtpmaps.push(r)),
        "fmtp" => parse_fmtp(v).map(|f| m.fmtps.push(f)),
        "ptime" => v.trim().parse::<u32>().ok().map(|p| m.ptime = Some(p)),
        _ => None,
    });
    if typed.is_none() {
        m.attributes.push(attribute(name, val));
    }
}

fn attribute(name: &str, value: Option<&str>) -> Attribute {
    Attribute {
        name: name.to_owned(),
        value: value.map(str::to_owned),
    }
}

fn parse_rtpmap(v: &str) -> Option<RtpMap> {
    let (pt, rest) = v.trim().split_once(char::is_whitespace)?;
    let pt = pt.parse::<u8>().ok().filter(|pt| *pt <= 127)?;
    let mut parts = rest.trim().splitn(3, '/');
    let name = parts.next().filter(|n| !n.is_empty())?;
    let rate = parts.next()?.trim().parse::<u32>().ok()?;
    Some(RtpMap {
        payload_type: PayloadType(pt),
        encoding_name: name.to_owned(),
        clock_rate: rate,
        encoding_params: parts.next().map(str::to_owned),
    })
}

fn parse_fmtp(v: &str) -> Option<Fmtp> {
    let v = v.trim_start();
    let (format, params) = v.split_once(char::is_whitespace).unwrap_or((v, ""));
    if format.is_empty() {
        return None;
    }
    Some(Fmtp {
        format: format.to_owned(),
        params: params.trim().to_owned(),
    })
}
