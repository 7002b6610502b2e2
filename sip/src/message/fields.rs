//! Fast, allocation-free access to the fields transaction and dialog matching read on
//! every message (RFC 3261 §17.1.3, §17.2.3, §12): Call-ID, CSeq, tags, top Via.
//!
//! They scan rsip's header strings and return slices of them. After
//! [`parse_datagram`](super::parse_datagram) the values are validated and in plain
//! LWS form, so these scans are short; on hand-built messages they simply return
//! `None` for what they cannot read.

use super::parse::method_from_token;
use super::syntax::{find_param, params, split_addr_params, trim_wsp};
use rsip::headers::UntypedHeader;
use rsip::message::HasHeaders;
use rsip::{Header, Method};

/// The Call-ID value.
pub fn call_id<M: HasHeaders>(msg: &M) -> Option<&str> {
    msg.headers().iter().find_map(|h| match h {
        Header::CallId(c) => Some(trim_wsp(c.value())),
        _ => None,
    })
}

/// CSeq number and method (method names are case-sensitive, RFC 3261 §7.1).
pub fn cseq<M: HasHeaders>(msg: &M) -> Option<(u32, Method)> {
    let v = msg.headers().iter().find_map(|h| match h {
        Header::CSeq(c) => Some(c.value()),
        _ => None,
    })?;
    let (num, method) = trim_wsp(v).split_once([' ', '\t'])?;
    Some((num.parse().ok()?, method_from_token(trim_wsp(method))?))
}

fn tag_of(value: &str) -> Option<&str> {
    let (_, p) = split_addr_params(value)?;
    find_param(p, "tag")?
}

/// The From tag.
pub fn from_tag<M: HasHeaders>(msg: &M) -> Option<&str> {
    msg.headers().iter().find_map(|h| match h {
        Header::From(f) => Some(tag_of(f.value())),
        _ => None,
    })?
}

/// The To tag (absent on a dialog-creating request).
pub fn to_tag<M: HasHeaders>(msg: &M) -> Option<&str> {
    msg.headers().iter().find_map(|h| match h {
        Header::To(t) => Some(tag_of(t.value())),
        _ => None,
    })?
}

/// The topmost Via value (first value of the first Via header).
fn top_via_value<M: HasHeaders>(msg: &M) -> Option<&str> {
    let v = msg.headers().iter().find_map(|h| match h {
        Header::Via(v) => Some(v.value()),
        _ => None,
    })?;
    // parse_datagram splits Via lists; hand-built messages may not have.
    super::syntax::split_top_level(v, b',').next()?.ok()
}

/// The branch of the top Via: the transaction key (RFC 3261 §17.2.3).
pub fn top_via_branch<M: HasHeaders>(msg: &M) -> Option<&str> {
    top_via(msg)?.branch
}

/// The parts of the top Via a server needs to match a transaction and to route its
/// responses (RFC 3261 §17.2.3, §18.2.2, RFC 3581 `rport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopVia<'a> {
    /// `UDP`, `TCP`, `TLS`... as written.
    pub transport: &'a str,
    /// sent-by host (IPv6 without brackets).
    pub host: &'a str,
    /// sent-by port, if written.
    pub port: Option<u16>,
    /// The `branch` parameter: the transaction ID when it has the magic cookie.
    pub branch: Option<&'a str>,
    /// The `received` parameter, if a previous hop added one (§18.2.1).
    pub received: Option<&'a str>,
    /// `None`: no rport; `Some(None)`: rport requested; `Some(Some(p))`: filled in.
    pub rport: Option<Option<u16>>,
}

impl<'a> TopVia<'a> {
    /// Whether the branch carries the RFC 3261 magic cookie (§8.1.1.7); without it,
    /// RFC 2543 matching applies (§17.2.3).
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch.is_some_and(|b| b.starts_with("z9hG4bK"))
    }
}

/// The top Via, parsed without allocating.
pub fn top_via<M: HasHeaders>(msg: &M) -> Option<TopVia<'_>> {
    let v = top_via_value(msg)?;
    let (protocol, rest) = v.split_once([' ', '\t'])?;
    let transport = protocol.rsplit('/').next().map(trim_wsp)?;
    let rest = trim_wsp(rest);
    let (sent_by, p) = match rest.find(';') {
        Some(i) => (trim_wsp(&rest[..i]), &rest[i..]),
        None => (rest, ""),
    };
    let (host, port) = if let Some(inner) = sent_by.strip_prefix('[') {
        let close = inner.find(']')?;
        let port = inner[close + 1..].strip_prefix(':');
        (&inner[..close], port)
    } else {
        match sent_by.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (sent_by, None),
        }
    };
    let mut via = TopVia {
        transport,
        host,
        port: port.and_then(|p| p.parse().ok()),
        branch: None,
        received: None,
        rport: None,
    };
    for (name, value) in params(p).map_while(Result::ok) {
        if name.eq_ignore_ascii_case("branch") {
            via.branch = value;
        } else if name.eq_ignore_ascii_case("received") {
            via.received = value;
        } else if name.eq_ignore_ascii_case("rport") {
            via.rport = Some(value.and_then(|v| v.parse().ok()));
        }
    }
    Some(via)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::parse_datagram;

    #[test]
    fn key_fields_come_out_of_tortuous_spellings() {
        let msg = parse_datagram(
            b"INVITE sip:u@example.com SIP/2.0\r\n\
TO :\r\n sip:u@example.com ;   tag    = 1918181833n\r\n\
from   : \"J R \\\\\\\"\"       <sip:j@example.com;tag=nope>\r\n  ;\r\n  tag = 98asjd8\r\n\
i: abc@h\r\ncseq: 0009\r\n  INVITE\r\n\
v:  SIP  / 2.0  / UDP     [2001:db8::1] : 5062  ;\r\n  branch  =   z9hG4bK9ikj8 ;rport, SIP/2.0/TCP other\r\n\
Content-Length: 0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(call_id(&msg), Some("abc@h"));
        assert_eq!(cseq(&msg), Some((9, Method::Invite)));
        assert_eq!(from_tag(&msg), Some("98asjd8"));
        assert_eq!(to_tag(&msg), Some("1918181833n"));
        assert_eq!(top_via_branch(&msg), Some("z9hG4bK9ikj8"));
        let via = top_via(&msg).unwrap();
        assert_eq!(
            via,
            TopVia {
                transport: "UDP",
                host: "2001:db8::1",
                port: Some(5062),
                branch: Some("z9hG4bK9ikj8"),
                received: None,
                rport: Some(None),
            }
        );
        assert!(via.has_rfc3261_branch());
    }

    #[test]
    fn absent_fields_are_none() {
        let msg = parse_datagram(
            b"OPTIONS sip:u@x SIP/2.0\r\nVia: SIP/2.0/UDP h:5060;received=192.0.2.9;rport=4000\r\n\
From: sip:a@x\r\nTo: <sip:u@x>\r\nCall-ID: c\r\nCSeq: 7 OPTIONS\r\n\r\n",
        )
        .unwrap();
        assert_eq!(from_tag(&msg), None);
        assert_eq!(to_tag(&msg), None);
        assert_eq!(top_via_branch(&msg), None);
        let via = top_via(&msg).unwrap();
        assert_eq!((via.host, via.port), ("h", Some(5060)));
        assert_eq!(via.received, Some("192.0.2.9"));
        assert_eq!(via.rport, Some(Some(4000)));
        assert!(!via.has_rfc3261_branch());
    }
}
