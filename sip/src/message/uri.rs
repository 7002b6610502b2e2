//! Request-URI parsing into `rsip::Uri`, and printing it back.
//!
//! rsip 0.4's URI tokenizer stops at `%` escapes and `;` in the user part (RFC 4475
//! esc01, semiuri), only knows `scheme://` for other schemes and prints IPv6 hosts without
//! brackets. We parse the Request-URI ourselves (RFC 3261 §19.1.1, §25.1) and print it
//! with [`write_uri`].
//!
//! Representation choices, since `rsip::Uri` cannot hold everything:
//! - the user part and password are kept *escaped*, exactly as received, so printing
//!   round-trips; use [`percent_decode`](super::percent_decode) to compare them;
//! - a non-SIP URI (`tel:`, `soap.beep:`, an unknown scheme) becomes
//!   `scheme: Some(Scheme::Other(name))` with everything after the `:` kept verbatim as
//!   a `Host::Domain`; the edge answers such requests with 416 (RFC 3261 §8.2.2.1);
//! - URI headers (`?Route=...`) are refused in a Request-URI (RFC 4475 §3.1.2.11 allows
//!   rejecting them; `rsip::Uri` has nowhere to keep them).

use super::syntax::{escapes_well_formed, is_unreserved};
use rsip::common::uri::{param::OtherParam, Auth, Domain, Host, HostWithPort, Param, Scheme};
use rsip::Uri;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Parses a Request-URI. `Err(())` when it is not a valid URI of the RFC 3261 grammar.
pub(crate) fn parse_request_uri(s: &str) -> Result<Uri, ()> {
    let colon = s.find(':').ok_or(())?;
    let scheme = &s[..colon];
    if !is_scheme(scheme) {
        return Err(());
    }
    let rest = &s[colon + 1..];
    if scheme.eq_ignore_ascii_case("sip") {
        parse_sip_uri(Scheme::Sip, rest)
    } else if scheme.eq_ignore_ascii_case("sips") {
        parse_sip_uri(Scheme::Sips, rest)
    } else {
        // absoluteURI (RFC 3261 §25.1): opaque here, only checked for forbidden bytes.
        if rest.is_empty() || !rest.bytes().all(is_uric) {
            return Err(());
        }
        Ok(Uri {
            scheme: Some(Scheme::Other(scheme.to_owned())),
            host_with_port: Host::Domain(Domain::from(rest.to_owned())).into(),
            ..Default::default()
        })
    }
}

/// `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3261 §25.1).
pub(crate) fn is_scheme(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b[1..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

/// `uric` (RFC 2396 via RFC 3261 §25.1), plus `%` escapes: printable ASCII minus the
/// delimiters that can never appear unescaped in a URI.
fn is_uric(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"' | b'{' | b'}' | b'|' | b'\\' | b'^')
}

fn is_user_byte(b: u8) -> bool {
    is_unreserved(b)
        || matches!(
            b,
            b'%' | b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/'
        )
}

fn is_password_byte(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'%' | b'&' | b'=' | b'+' | b'$' | b',')
}

fn is_paramchar(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'%' | b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$')
}

fn parse_sip_uri(scheme: Scheme, rest: &str) -> Result<Uri, ()> {
    // '@' cannot appear unescaped after the userinfo (params and headers exclude it).
    let (auth, hostpart) = match rest.rfind('@') {
        Some(at) => (Some(parse_userinfo(&rest[..at])?), &rest[at + 1..]),
        None => (None, rest),
    };
    if hostpart.contains('?') {
        return Err(());
    }
    let (hostport, params_str) = match hostpart.find(';') {
        Some(i) => (&hostpart[..i], &hostpart[i..]),
        None => (hostpart, ""),
    };
    let host_with_port = parse_hostport(hostport)?;
    let mut params = Vec::new();
    if !params_str.is_empty() {
        for p in params_str[1..].split(';') {
            let (name, value) = match p.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (p, None),
            };
            let ok =
                |s: &str| !s.is_empty() && s.bytes().all(is_paramchar) && escapes_well_formed(s);
            if !ok(name) || !value.is_none_or(ok) {
                return Err(());
            }
            params.push(
                Param::try_from((name, value)).unwrap_or_else(|_| {
                    Param::Other(OtherParam::from(name), value.map(Into::into))
                }),
            );
        }
    }
    Ok(Uri {
        scheme: Some(scheme),
        auth,
        host_with_port,
        params,
        headers: Vec::new(),
    })
}

fn parse_userinfo(userinfo: &str) -> Result<Auth, ()> {
    let (user, password) = match userinfo.split_once(':') {
        Some((u, p)) => (u, Some(p)),
        None => (userinfo, None),
    };
    if user.is_empty() || !user.bytes().all(is_user_byte) || !escapes_well_formed(user) {
        return Err(());
    }
    if let Some(p) = password {
        if !p.bytes().all(is_password_byte) || !escapes_well_formed(p) {
            return Err(());
        }
    }
    Ok(Auth {
        user: user.to_owned(),
        password: password.map(str::to_owned),
    })
}

/// `hostport = host [ ":" port ]`, host = hostname / IPv4address / IPv6reference.
pub(crate) fn parse_hostport(s: &str) -> Result<HostWithPort, ()> {
    let (host, port) = if let Some(inner) = s.strip_prefix('[') {
        let close = inner.find(']').ok_or(())?;
        let ip: Ipv6Addr = inner[..close].parse().map_err(|_| ())?;
        let after = &inner[close + 1..];
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(())?),
        };
        (Host::IpAddr(IpAddr::V6(ip)), port)
    } else {
        let (h, port) = match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        };
        let host = if let Ok(v4) = h.parse::<Ipv4Addr>() {
            Host::IpAddr(IpAddr::V4(v4))
        } else if is_hostname(h) {
            Host::Domain(Domain::from(h.to_owned()))
        } else {
            return Err(());
        };
        (host, port)
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()) => {
            Some(p.parse::<u16>().map_err(|_| ())?.into())
        }
        Some(_) => return Err(()),
    };
    Ok(HostWithPort { host, port })
}

/// `hostname = *( domainlabel "." ) toplabel [ "." ]`, checked loosely: labels of
/// alphanumerics and `-`, not empty.
pub(crate) fn is_hostname(h: &str) -> bool {
    let h = h.strip_suffix('.').unwrap_or(h);
    !h.is_empty()
        && h.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Writes `uri` in RFC 3261 form: `sip:` (not rsip's `sip://` for other schemes),
/// IPv6 hosts in brackets, user and params as stored.
pub fn write_uri(out: &mut Vec<u8>, uri: &Uri) {
    use std::io::Write;
    match &uri.scheme {
        Some(Scheme::Sip) | None => out.extend_from_slice(b"sip:"),
        Some(Scheme::Sips) => out.extend_from_slice(b"sips:"),
        Some(Scheme::Other(s)) => {
            out.extend_from_slice(s.as_bytes());
            out.push(b':');
        }
    }
    if let Some(auth) = &uri.auth {
        out.extend_from_slice(auth.user.as_bytes());
        if let Some(p) = &auth.password {
            out.push(b':');
            out.extend_from_slice(p.as_bytes());
        }
        out.push(b'@');
    }
    match &uri.host_with_port.host {
        Host::Domain(d) => {
            let _ = write!(out, "{d}");
        }
        Host::IpAddr(IpAddr::V6(ip)) => {
            let _ = write!(out, "[{ip}]");
        }
        Host::IpAddr(ip) => {
            let _ = write!(out, "{ip}");
        }
    }
    if let Some(port) = &uri.host_with_port.port {
        let _ = write!(out, ":{port}");
    }
    for p in &uri.params {
        let _ = write!(out, "{p}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(s: &str) -> String {
        let uri = parse_request_uri(s).unwrap_or_else(|_| panic!("{s} should parse"));
        let mut out = Vec::new();
        write_uri(&mut out, &uri);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escaped_and_semicolon_users_parse_and_round_trip() {
        // Known params are typed by rsip, which prints `transport=tcp` as `TCP`
        // (parameter values are case-insensitive, RFC 3261 §19.1.4).
        assert_eq!(round_trip("sip:a@b;transport=tcp"), "sip:a@b;transport=TCP");
        for s in [
            "sip:sips%3Auser%40example.com@example.net",
            "sip:user;par=u%40example.net@example.com",
            "sip:vivekg@chair-dnrc.example.com;unknownparam",
            "sip:user:pass@[2001:db8::10]:5070;transport=TCP;lr",
            "sip:example.com",
            "sips:alice@192.0.2.4:5061",
            "tel:+1-201-555-0123;phone-context=example.com",
            "nobodyknowsthisscheme:totallyopaquecontent",
            "soap.beep://192.0.2.103:3002",
        ] {
            assert_eq!(round_trip(s), s);
        }
        let uri = parse_request_uri("sip:user;par=u%40example.net@example.com").unwrap();
        assert_eq!(uri.user(), Some("user;par=u%40example.net"));
        assert_eq!(uri.host().to_string(), "example.com");
    }

    #[test]
    fn unusual_but_legal_userinfo_parses() {
        let s = "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com";
        let uri = parse_request_uri(s).unwrap();
        assert_eq!(
            uri.user(),
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        assert_eq!(round_trip(s), s);
    }

    #[test]
    fn malformed_request_uris_are_refused() {
        for s in [
            "<sip:user@example.com>",
            "sip:user@example.com?Route=%3Csip:example.com%3E",
            "sip:user@exa mple.com",
            "sip:user@",
            "sip:us%zzer@example.com",
            "sip:user@example.com:99999",
            "sip:user@example.com;;lr",
            "sip:user@[::1",
            "1sip:user@example.com",
            "nocolon",
            "x:",
        ] {
            assert!(parse_request_uri(s).is_err(), "{s} should be refused");
        }
    }
}
