//! The session description as the edge sees it (RFC 4566 §5).
//!
//! Only what offer/answer needs is typed: origin, connection, media lines, and the
//! `rtpmap`/`fmtp`/`ptime`/direction attributes. Everything else a peer sends is kept
//! as an [`Attribute`] or an [`OtherLine`] so that printing a parsed description loses
//! nothing a later reader might want, and nothing unknown can make us fail.

use std::fmt;
use std::net::IpAddr;

/// A whole SDP body: the session part and its media descriptions, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=` (RFC 4566 §5.2): who made this description and which version it is.
    pub origin: Origin,
    /// `s=` (RFC 4566 §5.3). Peers that leave it out get `-`.
    pub session_name: String,
    /// Session-level `c=` (RFC 4566 §5.7), the default for every media line.
    pub connection: Option<Connection>,
    /// Session-level direction attribute, the default for every media line (RFC 3264 §5.1).
    pub direction: Option<Direction>,
    /// Other session-level `a=` lines, in the order received.
    pub attributes: Vec<Attribute>,
    /// Other session-level lines (`i=`, `b=`, `t=`, `r=`, `z=`, `k=`, unknown letters).
    pub other_lines: Vec<OtherLine>,
    /// The `m=` sections, in order: their index is the stream's identity in offer/answer.
    pub media: Vec<MediaDescription>,
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`.
///
/// The numbers stay text: RFC 4566 allows any number of digits and some peers send
/// more than fit in 64 bits; we only ever compare a peer's numbers, never add to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The originator's user name, `-` when it has none.
    pub username: String,
    /// A number (as text) that, with the username and address, identifies the session.
    pub session_id: String,
    /// A number (as text) that grows with each new version of the description.
    pub session_version: String,
    /// The network type, `IN` for the Internet.
    pub net_type: String,
    /// The address type, `IP4` or `IP6`.
    pub addr_type: String,
    /// The originator's address, as written.
    pub address: String,
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 4566 §5.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The network type, `IN` for the Internet.
    pub net_type: String,
    /// The address type, `IP4` or `IP6`.
    pub addr_type: String,
    /// Where media is sent.
    pub address: ConnectionAddress,
    /// A multicast `/ttl[/count]` suffix, kept verbatim (without the first `/`).
    pub multicast_suffix: Option<String>,
}

/// The address of a `c=` line: almost always an IP literal; RFC 4566 also allows an FQDN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionAddress {
    /// An IPv4 or IPv6 literal.
    Ip(IpAddr),
    /// A fully qualified domain name, as written.
    Host(String),
}

/// One `m=` section (RFC 4566 §5.14) with its own lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// The kind of media, e.g. `audio`.
    pub media: MediaType,
    /// Port 0 means the stream is declined or disabled (RFC 3264 §5.1, §6).
    pub port: u16,
    /// The `/<number of ports>` suffix, if any.
    pub port_count: Option<u16>,
    /// Transport, e.g. `RTP/AVP`. Compared case-sensitively as RFC 4566 §5.14 says.
    pub proto: String,
    /// Format list: RTP payload type numbers for RTP, other tokens otherwise.
    pub formats: Vec<String>,
    /// Media-level `c=`, which takes precedence over the session-level one (RFC 4566
    /// §5.7).
    pub connection: Option<Connection>,
    /// The `a=rtpmap` lines, in order.
    pub rtpmaps: Vec<RtpMap>,
    /// The `a=fmtp` lines, in order.
    pub fmtps: Vec<Fmtp>,
    /// `a=ptime` in milliseconds (RFC 4566 §6).
    pub ptime: Option<u32>,
    /// Media-level direction; falls back to the session's, then to sendrecv.
    pub direction: Option<Direction>,
    /// Other media-level `a=` lines, in the order received.
    pub attributes: Vec<Attribute>,
    /// Other media-level lines (`i=`, `b=`, `k=`, unknown letters).
    pub other_lines: Vec<OtherLine>,
}

/// The `<media>` field of an `m=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaType {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// `text`.
    Text,
    /// `application`.
    Application,
    /// `message`.
    Message,
    /// `image` (RFC 6466, e.g. T.38 fax).
    Image,
    /// Any other token, as written.
    Other(String),
}

/// An RTP payload type number (RFC 3551 §6): 0–127.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PayloadType(pub u8);

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// The payload type number the mapping is for.
    pub payload_type: PayloadType,
    /// The encoding name, e.g. `PCMU` or `telephone-event`, as written.
    pub encoding_name: String,
    /// The RTP clock rate in Hz.
    pub clock_rate: u32,
    /// For audio, the channel count; absent means one.
    pub encoding_params: Option<String>,
}

/// `a=fmtp:<format> <format specific parameters>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fmtp {
    /// The format (payload type number, for RTP) the parameters apply to.
    pub format: String,
    /// The parameters, verbatim.
    pub params: String,
}

/// Any other `a=` line: `a=<name>` or `a=<name>:<value>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute name.
    pub name: String,
    /// The value after `:`, if any.
    pub value: Option<String>,
}

/// Any other `<letter>=<value>` line, kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherLine {
    /// The line's type letter.
    pub kind: char,
    /// What follows the `=`, verbatim.
    pub value: String,
}

/// Which way media flows on a stream (RFC 3264 §5.1), always from the point of view
/// of the party whose description carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Send and receive (the default).
    SendRecv,
    /// Send only.
    SendOnly,
    /// Receive only.
    RecvOnly,
    /// Neither send nor receive.
    Inactive,
}

impl Direction {
    /// Build from the two flags: does this party send, does it receive.
    pub fn from_flags(sends: bool, receives: bool) -> Self {
        match (sends, receives) {
            (true, true) => Self::SendRecv,
            (true, false) => Self::SendOnly,
            (false, true) => Self::RecvOnly,
            (false, false) => Self::Inactive,
        }
    }

    /// Whether this party sends media.
    pub fn sends(self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }

    /// Whether this party receives media.
    pub fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }

    /// The same flow seen from the other end: their sendonly is our recvonly.
    pub fn reversed(self) -> Self {
        Self::from_flags(self.receives(), self.sends())
    }

    /// Keep only the flows both allow: how RFC 3264 §6.1 limits an answer to what the
    /// offer permits and to what the answerer wants (for example, we hold: sendonly).
    pub fn restricted_to(self, other: Self) -> Self {
        Self::from_flags(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }

    /// The attribute name (`sendrecv`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    /// Recognise a direction attribute name; attribute names are case-sensitive
    /// (RFC 4566 §5.13) but lenient reading costs nothing here.
    pub fn from_attribute(name: &str) -> Option<Self> {
        [
            Self::SendRecv,
            Self::SendOnly,
            Self::RecvOnly,
            Self::Inactive,
        ]
        .into_iter()
        .find(|d| d.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The voice codecs the edge can encode and decode (G.711, RFC 3551 §4.5.14).
///
/// telephone-event (RFC 4733) is not a voice codec and travels beside the chosen
/// codec as its own payload type, see [`TELEPHONE_EVENT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// G.711 µ-law, static payload type 0.
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
}

/// The encoding name of RFC 4733 named telephone events.
pub const TELEPHONE_EVENT: &str = "telephone-event";

/// The events we can receive: DTMF 0–9, *, #, A–D, and flash (RFC 4733 §3.2).
pub const TELEPHONE_EVENT_FMTP: &str = "0-16";

impl Codec {
    /// The static payload type RFC 3551 Table 4 assigns.
    pub fn static_payload_type(self) -> PayloadType {
        match self {
            Self::Pcmu => PayloadType(0),
            Self::Pcma => PayloadType(8),
        }
    }

    /// The `rtpmap` encoding name, `PCMU` or `PCMA`.
    pub fn encoding_name(self) -> &'static str {
        match self {
            Self::Pcmu => "PCMU",
            Self::Pcma => "PCMA",
        }
    }

    /// The RTP clock rate in Hz: 8000 for both G.711 laws.
    pub fn clock_rate(self) -> u32 {
        8000
    }

    /// The codec an `rtpmap` names, if it is one of ours: the name is case-insensitive
    /// (RFC 4855 §3), the rate must be 8000 and the channel count one.
    pub fn from_rtpmap(map: &RtpMap) -> Option<Self> {
        let mono = match map.encoding_params.as_deref() {
            None => true,
            Some(p) => p.trim() == "1",
        };
        if map.clock_rate != 8000 || !mono {
            return None;
        }
        [Self::Pcmu, Self::Pcma]
            .into_iter()
            .find(|c| c.encoding_name().eq_ignore_ascii_case(&map.encoding_name))
    }

    /// The codec a static payload type means when no `rtpmap` overrides it.
    pub fn from_static_payload_type(pt: PayloadType) -> Option<Self> {
        match pt.0 {
            0 => Some(Self::Pcmu),
            8 => Some(Self::Pcma),
            _ => None,
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.encoding_name(), self.clock_rate())
    }
}

impl MediaType {
    /// The token as written in an `m=` line.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Text => "text",
            Self::Application => "application",
            Self::Message => "message",
            Self::Image => "image",
            Self::Other(s) => s,
        }
    }

    /// Reads the `<media>` token of an `m=` line; known names case-insensitively.
    pub fn from_token(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "audio" => Self::Audio,
            "video" => Self::Video,
            "text" => Self::Text,
            "application" => Self::Application,
            "message" => Self::Message,
            "image" => Self::Image,
            _ => Self::Other(s.to_owned()),
        }
    }
}

impl Connection {
    /// `c=IN IP4 <addr>` or `c=IN IP6 <addr>` for a unicast IP.
    pub fn ip(addr: IpAddr) -> Self {
        Self {
            net_type: "IN".into(),
            addr_type: if addr.is_ipv4() { "IP4" } else { "IP6" }.into(),
            address: ConnectionAddress::Ip(addr),
            multicast_suffix: None,
        }
    }

    /// The IP address, if the line carries a literal rather than a host name.
    pub fn ip_addr(&self) -> Option<IpAddr> {
        match self.address {
            ConnectionAddress::Ip(ip) => Some(ip),
            ConnectionAddress::Host(_) => None,
        }
    }

    /// RFC 2543 hold: a connection address of 0.0.0.0 means "do not send to me"
    /// (still sent by older UAs, RFC 3264 §8.4).
    pub fn is_hold_address(&self) -> bool {
        self.ip_addr().is_some_and(|ip| ip.is_unspecified())
    }
}

impl MediaDescription {
    /// The description's `rtpmap` for a payload type, if present.
    pub fn rtpmap(&self, pt: PayloadType) -> Option<&RtpMap> {
        self.rtpmaps.iter().find(|m| m.payload_type == pt)
    }

    /// The `fmtp` parameters for a format, if present.
    pub fn fmtp(&self, format: &str) -> Option<&str> {
        self.fmtps
            .iter()
            .find(|f| f.format == format)
            .map(|f| f.params.as_str())
    }

    /// The formats that are RTP payload type numbers, in offered order; others skipped.
    pub fn payload_types(&self) -> impl Iterator<Item = PayloadType> + '_ {
        self.formats
            .iter()
            .filter_map(|f| f.parse::<u8>().ok())
            .filter(|pt| *pt <= 127)
            .map(PayloadType)
    }

    /// The voice codec a payload type means in this description: its `rtpmap` if it
    /// has one, else the static assignment (RFC 3551 §6).
    pub fn codec_of(&self, pt: PayloadType) -> Option<Codec> {
        match self.rtpmap(pt) {
            Some(map) => Codec::from_rtpmap(map),
            None => Codec::from_static_payload_type(pt),
        }
    }

    /// The payload type of telephone-event at 8000 Hz, the rate our codecs run at
    /// (RFC 4733 §7.1.1: the event clock must match the voice clock).
    pub fn telephone_event_8000(&self) -> Option<PayloadType> {
        self.payload_types().find(|pt| {
            self.rtpmap(*pt).is_some_and(|m| {
                m.encoding_name.eq_ignore_ascii_case(TELEPHONE_EVENT) && m.clock_rate == 8000
            })
        })
    }

    /// `RTP/AVP`, the only profile the edge speaks (no SRTP, no AVPF feedback).
    pub fn is_rtp_avp(&self) -> bool {
        self.proto.eq_ignore_ascii_case("RTP/AVP")
    }
}

impl SessionDescription {
    /// The connection that applies to media line `index`: its own, else the session's
    /// (RFC 4566 §5.7).
    pub fn connection_for(&self, index: usize) -> Option<&Connection> {
        self.media
            .get(index)
            .and_then(|m| m.connection.as_ref())
            .or(self.connection.as_ref())
    }

    /// The direction that applies to media line `index`: media-level, else session-level,
    /// else sendrecv (RFC 3264 §5.1).
    pub fn direction_for(&self, index: usize) -> Direction {
        self.media
            .get(index)
            .and_then(|m| m.direction)
            .or(self.direction)
            .unwrap_or(Direction::SendRecv)
    }
}
