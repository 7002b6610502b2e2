//! Matching messages to transactions (RFC 3261 §17.1.3 and §17.2.3).

use rsip::prelude::UntypedHeader;
use rsip::{Method, Request, Response};

/// The magic cookie that marks an RFC 3261 branch (§8.1.1.7).
pub const BRANCH_COOKIE: &str = "z9hG4bK";

/// The parts of the top Via a transaction layer looks at, borrowed from the
/// header text (no allocation, no full Via parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopVia<'a> {
    pub transport: &'a str,
    pub sent_by: &'a str,
    pub branch: Option<&'a str>,
    /// The whole first Via value, for the RFC 2543 fallback key.
    pub raw: &'a str,
}

impl<'a> TopVia<'a> {
    /// Reads the first Via value of the first Via header line.
    pub fn parse(value: &'a str) -> Option<TopVia<'a>> {
        let raw = value.split(',').next()?.trim();
        let mut parts = raw.splitn(2, ';');
        let head = parts.next()?.trim();
        let params = parts.next().unwrap_or("");
        // "SIP / 2.0 / UDP host:port" — LWS is allowed around the slashes.
        let slash = head.rfind('/')?;
        let rest = head[slash + 1..].trim_start();
        let split = rest.find(|c: char| c.is_ascii_whitespace())?;
        let transport = &rest[..split];
        let sent_by = rest[split..].trim();
        if transport.is_empty() || sent_by.is_empty() {
            return None;
        }
        let branch = params.split(';').find_map(|p| {
            let (name, val) = p.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("branch")
                .then_some(val.trim())
        });
        Some(TopVia {
            transport,
            sent_by,
            branch,
            raw,
        })
    }

    pub fn of_headers(headers: &rsip::Headers) -> Option<TopVia<'_>> {
        headers.iter().find_map(|h| match h {
            rsip::Header::Via(via) => TopVia::parse(via.value()),
            _ => None,
        })
    }

    fn rfc3261_branch(&self) -> Option<&'a str> {
        self.branch.filter(|b| b.starts_with(BRANCH_COOKIE))
    }
}

/// A client transaction is found by the branch it put in the top Via and the
/// CSeq method of the response (§17.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    pub branch: String,
    pub method: MethodKey,
}

impl ClientKey {
    pub fn of_response(response: &Response) -> Option<ClientKey> {
        let via = TopVia::of_headers(&response.headers)?;
        Some(ClientKey {
            branch: via.branch?.to_string(),
            method: MethodKey::of(&cseq_method(&response.headers)?),
        })
    }
}

/// A server transaction key (§17.2.3): branch, sent-by and method when the
/// branch carries the magic cookie; otherwise the RFC 2543 fallback built from
/// Request-URI, From tag, Call-ID, CSeq number and the top Via.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerKey {
    Rfc3261 {
        branch: String,
        sent_by: String,
        method: MethodKey,
    },
    Rfc2543 {
        request_uri: String,
        from_tag: String,
        call_id: String,
        cseq: u32,
        via: String,
        method: MethodKey,
    },
}

impl ServerKey {
    /// The key of the transaction a request belongs to. An ACK belongs to the
    /// INVITE transaction it acknowledges (for non-2xx responses; an ACK for a
    /// 2xx has a branch of its own and matches nothing).
    pub fn of_request(request: &Request) -> Option<ServerKey> {
        Self::with_method(request, transaction_method(&request.method))
    }

    /// The key of the INVITE transaction a CANCEL cancels (§9.2).
    pub fn invite_cancelled_by(cancel: &Request) -> Option<ServerKey> {
        Self::with_method(cancel, Method::Invite)
    }

    fn with_method(request: &Request, method: Method) -> Option<ServerKey> {
        let via = TopVia::of_headers(&request.headers)?;
        if let Some(branch) = via.rfc3261_branch() {
            return Some(ServerKey::Rfc3261 {
                branch: branch.to_string(),
                sent_by: via.sent_by.to_ascii_lowercase(),
                method: MethodKey::of(&method),
            });
        }
        let (cseq, _) = cseq(&request.headers)?;
        Some(ServerKey::Rfc2543 {
            request_uri: request.uri.to_string(),
            from_tag: from_tag(&request.headers).unwrap_or_default().to_string(),
            call_id: call_id(&request.headers)?.to_string(),
            cseq,
            via: via.raw.to_string(),
            method: MethodKey::of(&method),
        })
    }
}

/// A hashable stand-in for `rsip::Method` (which does not implement `Hash`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MethodKey(u8);

impl MethodKey {
    pub fn of(method: &Method) -> MethodKey {
        MethodKey(match method {
            Method::Ack => 0,
            Method::Bye => 1,
            Method::Cancel => 2,
            Method::Info => 3,
            Method::Invite => 4,
            Method::Message => 5,
            Method::Notify => 6,
            Method::Options => 7,
            Method::PRack => 8,
            Method::Publish => 9,
            Method::Refer => 10,
            Method::Register => 11,
            Method::Subscribe => 12,
            Method::Update => 13,
        })
    }
}

fn transaction_method(method: &Method) -> Method {
    match method {
        Method::Ack => Method::Invite,
        other => *other,
    }
}

/// CSeq number and method, read from the header text.
pub fn cseq(headers: &rsip::Headers) -> Option<(u32, Method)> {
    headers.iter().find_map(|h| match h {
        rsip::Header::CSeq(c) => {
            let mut it = c.value().split_whitespace();
            let seq = it.next()?.parse().ok()?;
            let method = it.next()?.parse().ok()?;
            Some((seq, method))
        }
        _ => None,
    })
}

fn cseq_method(headers: &rsip::Headers) -> Option<Method> {
    cseq(headers).map(|(_, m)| m)
}

pub fn call_id(headers: &rsip::Headers) -> Option<&str> {
    headers.iter().find_map(|h| match h {
        rsip::Header::CallId(c) => Some(c.value().trim()),
        _ => None,
    })
}

/// The `tag` parameter of a From or To header value.
pub fn tag_param(value: &str) -> Option<&str> {
    // Parameters follow the closing '>' of a name-addr, or the addr-spec.
    let params = match value.rfind('>') {
        Some(i) => &value[i + 1..],
        None => value,
    };
    params.split(';').skip(1).find_map(|p| {
        let (name, val) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("tag")
            .then_some(val.trim())
    })
}

pub fn from_tag(headers: &rsip::Headers) -> Option<&str> {
    headers.iter().find_map(|h| match h {
        rsip::Header::From(f) => tag_param(f.value()),
        _ => None,
    })
}

pub fn to_tag(headers: &rsip::Headers) -> Option<&str> {
    headers.iter().find_map(|h| match h {
        rsip::Header::To(t) => tag_param(t.value()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_via_reads_first_value_with_odd_spacing() {
        let v = TopVia::parse(
            "SIP / 2.0 / UDP host1.example.com:5060;branch=z9hG4bK776;received=1.2.3.4, SIP/2.0/TCP b",
        )
        .unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.sent_by, "host1.example.com:5060");
        assert_eq!(v.branch, Some("z9hG4bK776"));
        assert!(TopVia::parse("garbage").is_none());
    }

    #[test]
    fn tags_are_found_after_name_addr() {
        assert_eq!(
            tag_param("\"A;tag=no\" <sip:a@b;tag=nope>;tag=yes"),
            Some("yes")
        );
        assert_eq!(tag_param("sip:a@b;tag=t1"), Some("t1"));
        assert_eq!(tag_param("<sip:a@b>"), None);
    }
}
