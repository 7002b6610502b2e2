//! Writing SDP (RFC 4566 §5): CRLF line ends and the field order the grammar fixes.
//!
//! Lines kept from a parsed description are put back in their grammar position
//! (`i= u= e= p=` before `c=`, then `b=`, the timing group `t= r= z=`, `k=`, `a=`),
//! keeping their received order within a position.

use std::fmt::{self, Display, Formatter, Write};

use super::model::{
    Attribute, Connection, ConnectionAddress, MediaDescription, Origin, OtherLine, RtpMap,
    SessionDescription,
};

impl SessionDescription {
    /// The body as bytes, ready for a SIP message with `Content-Type: application/sdp`.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl Display for SessionDescription {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("v=0\r\n")?;
        writeln_crlf(f, 'o', &self.origin)?;
        writeln_crlf(f, 's', &self.session_name)?;
        write_other(f, &self.other_lines, |k| k < Slot::Connection)?;
        if let Some(c) = &self.connection {
            writeln_crlf(f, 'c', c)?;
        }
        write_other(f, &self.other_lines, |k| {
            matches!(k, Slot::Connection | Slot::Bandwidth)
        })?;
        if !self.other_lines.iter().any(|l| l.kind == 't') {
            // RFC 4566 §5.9: t= is mandatory; "0 0" is an unbounded session.
            f.write_str("t=0 0\r\n")?;
        }
        write_other(f, &self.other_lines, |k| k > Slot::Bandwidth)?;
        if let Some(d) = self.direction {
            writeln_crlf(f, 'a', d)?;
        }
        for a in &self.attributes {
            writeln_crlf(f, 'a', a)?;
        }
        for m in &self.media {
            Display::fmt(m, f)?;
        }
        Ok(())
    }
}

impl Display for MediaDescription {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.media.as_str(), self.port)?;
        if let Some(n) = self.port_count {
            write!(f, "/{n}")?;
        }
        write!(f, " {}", self.proto)?;
        for fmt in &self.formats {
            write!(f, " {fmt}")?;
        }
        f.write_str("\r\n")?;
        write_other(f, &self.other_lines, |k| k < Slot::Connection)?;
        if let Some(c) = &self.connection {
            writeln_crlf(f, 'c', c)?;
        }
        write_other(f, &self.other_lines, |k| k >= Slot::Connection)?;
        // Each rtpmap followed by its fmtp, then any fmtp without an rtpmap.
        for map in &self.rtpmaps {
            writeln_crlf(f, 'a', map)?;
            let format = map.payload_type.0.to_string();
            for fmtp in self.fmtps.iter().filter(|p| p.format == format) {
                write_fmtp(f, &fmtp.format, &fmtp.params)?;
            }
        }
        for fmtp in &self.fmtps {
            let mapped = self
                .rtpmaps
                .iter()
                .any(|m| m.payload_type.0.to_string() == fmtp.format);
            if !mapped {
                write_fmtp(f, &fmtp.format, &fmtp.params)?;
            }
        }
        if let Some(p) = self.ptime {
            write!(f, "a=ptime:{p}\r\n")?;
        }
        for a in &self.attributes {
            writeln_crlf(f, 'a', a)?;
        }
        if let Some(d) = self.direction {
            writeln_crlf(f, 'a', d)?;
        }
        Ok(())
    }
}

/// Where a kept line goes, in RFC 4566 §5 order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Info,
    Connection,
    Bandwidth,
    Timing,
    Key,
    Unknown,
}

fn slot(kind: char) -> Slot {
    match kind {
        'i' | 'u' | 'e' | 'p' => Slot::Info,
        'c' => Slot::Connection,
        'b' => Slot::Bandwidth,
        't' | 'r' | 'z' => Slot::Timing,
        'k' => Slot::Key,
        _ => Slot::Unknown,
    }
}

fn write_other(
    f: &mut Formatter<'_>,
    lines: &[OtherLine],
    keep: impl Fn(Slot) -> bool,
) -> fmt::Result {
    let mut slots: Vec<(Slot, &OtherLine)> = lines
        .iter()
        .map(|l| (slot(l.kind), l))
        .filter(|(s, _)| keep(*s))
        .collect();
    slots.sort_by_key(|(s, _)| *s); // stable: received order within a slot
    for (_, l) in slots {
        writeln_crlf(f, l.kind, &l.value)?;
    }
    Ok(())
}

fn writeln_crlf(f: &mut Formatter<'_>, kind: char, value: impl Display) -> fmt::Result {
    f.write_char(kind)?;
    f.write_char('=')?;
    write!(f, "{value}")?;
    f.write_str("\r\n")
}

fn write_fmtp(f: &mut Formatter<'_>, format: &str, params: &str) -> fmt::Result {
    if params.is_empty() {
        write!(f, "a=fmtp:{format}\r\n")
    } else {
        write!(f, "a=fmtp:{format} {params}\r\n")
    }
}

impl Display for Origin {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {}",
            self.username,
            self.session_id,
            self.session_version,
            self.net_type,
            self.addr_type,
            self.address
        )
    }
}

impl Display for Connection {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.net_type, self.addr_type, self.address)?;
        if let Some(s) = &self.multicast_suffix {
            write!(f, "/{s}")?;
        }
        Ok(())
    }
}

impl Display for ConnectionAddress {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(ip) => write!(f, "{ip}"),
            Self::Host(h) => f.write_str(h),
        }
    }
}

impl Display for RtpMap {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rtpmap:{} {}/{}",
            self.payload_type.0, self.encoding_name, self.clock_rate
        )?;
        if let Some(p) = &self.encoding_params {
            write!(f, "/{p}")?;
        }
        Ok(())
    }
}

impl Display for Attribute {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}:{v}", self.name),
            None => f.write_str(&self.name),
        }
    }
}
