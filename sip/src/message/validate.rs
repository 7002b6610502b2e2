//! Grammar checks rsip does not make (it keeps header values as strings), limited to
//! the headers a UAS needs to trust before it answers: Via, From, To, Contact, Call-ID,
//! CSeq, Max-Forwards, Content-Length, Expires (RFC 3261 §8.2, §20, §25.1).
//!
//! Values arrive unfolded and LWS-normalised (see `head::normalise_lws`), so the checks
//! work on the plain form: `SIP/2.0/UDP host:port;branch=...`.

use super::syntax::{
    is_token, is_token_byte, is_word_byte, params, quoted_end, split_addr_params, trim_wsp,
};
use super::uri::{is_hostname, is_scheme};
use std::net::{Ipv4Addr, Ipv6Addr};

/// One Via value: `sent-protocol LWS sent-by *( SEMI via-params )` (RFC 3261 §20.42).
/// A branch equal to the bare magic cookie `z9hG4bK` is refused: it cannot identify a
/// transaction (RFC 4475 §3.2.1 allows 400; we take that option, see `tests/rfc4475.rs`).
pub(crate) fn check_via(v: &str) -> Result<(), ()> {
    let (protocol, rest) = v.split_once(' ').ok_or(())?;
    let mut parts = protocol.split('/');
    let (name, version, transport) = (parts.next(), parts.next(), parts.next());
    if parts.next().is_some()
        || ![name, version, transport]
            .iter()
            .all(|p| p.is_some_and(is_token))
    {
        return Err(());
    }
    let (sent_by, params_str) = match rest.find(';') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    check_sent_by(sent_by)?;
    for p in params(params_str) {
        let (name, value) = p?;
        if name.eq_ignore_ascii_case("branch") && value == Some("z9hG4bK") {
            return Err(());
        }
    }
    Ok(())
}

/// `sent-by = host [ COLON port ]`.
fn check_sent_by(s: &str) -> Result<(), ()> {
    let (host, port) = if let Some(inner) = s.strip_prefix('[') {
        let close = inner.find(']').ok_or(())?;
        inner[..close].parse::<Ipv6Addr>().map_err(|_| ())?;
        (None, inner[close + 1..].strip_prefix(':'))
    } else {
        let (h, p) = match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        };
        (Some(h), p)
    };
    if let Some(h) = host {
        if h.parse::<Ipv4Addr>().is_err() && !is_hostname(h) {
            return Err(());
        }
    }
    match port {
        Some(p) if p.parse::<u16>().is_err() || !p.bytes().all(|c| c.is_ascii_digit()) => Err(()),
        _ => Ok(()),
    }
}

/// One From/To/Contact/Refer-To value: `( name-addr / addr-spec ) *( SEMI generic-param )`
/// (RFC 3261 §20.10, §20.20, §20.39, §25.1).
///
/// Refused: an unterminated quoted string (RFC 4475 quotbal), a display name that is
/// neither tokens nor a quoted string (baddn), LWS inside `<...>` (badaspec), an
/// addr-spec with `?` or `,` outside `<...>` (regbadct), empty parameters (badinv01).
/// Any URI scheme is accepted (unksm2): the application judges the scheme.
pub(crate) fn check_name_addr(v: &str) -> Result<(), ()> {
    let (addr, params_str) = split_addr_params(v).ok_or(())?;
    let addr = trim_wsp(addr);
    let uri = if let Some(lt) = addr.find('<').filter(|_| addr.ends_with('>')) {
        check_display_name(trim_wsp(&addr[..lt]))?;
        &addr[lt + 1..addr.len() - 1]
    } else {
        if addr.contains(['?', ',', '<', '>', '"']) {
            return Err(());
        }
        addr
    };
    check_uri_shape(uri)?;
    for p in params(params_str) {
        p?;
    }
    Ok(())
}

/// `display-name = *(token LWS) / quoted-string`.
fn check_display_name(d: &str) -> Result<(), ()> {
    if d.starts_with('"') {
        return match quoted_end(d.as_bytes(), 0) {
            Some(end) if end == d.len() => Ok(()),
            _ => Err(()),
        };
    }
    if d.bytes()
        .all(|c| is_token_byte(c) || c == b' ' || c == b'\t')
    {
        Ok(())
    } else {
        Err(())
    }
}

/// `scheme ":" 1*uric`, no LWS or control bytes anywhere.
fn check_uri_shape(uri: &str) -> Result<(), ()> {
    let (scheme, rest) = uri.split_once(':').ok_or(())?;
    if !is_scheme(scheme) || rest.is_empty() || !rest.bytes().all(|c| c.is_ascii_graphic()) {
        return Err(());
    }
    Ok(())
}

/// `callid = word [ "@" word ]` (RFC 3261 §25.1).
pub(crate) fn check_call_id(v: &str) -> Result<(), ()> {
    let ok = |w: &str| !w.is_empty() && w.bytes().all(is_word_byte);
    match v.split_once('@') {
        Some((a, b)) if ok(a) && ok(b) => Ok(()),
        None if ok(v) => Ok(()),
        _ => Err(()),
    }
}

/// `CSeq = 1*DIGIT LWS Method` (RFC 3261 §20.16) with the number at most 2^32−1
/// (§8.1.1.5; RFC 4475 scalar02). Returns the number and the method token.
pub(crate) fn parse_cseq(v: &str) -> Result<(u32, &str), ()> {
    let (num, method) = v.split_once(' ').ok_or(())?;
    let seq = parse_u32(num)?;
    let method = trim_wsp(method);
    if !is_token(method) {
        return Err(());
    }
    Ok((seq, method))
}

/// `1*DIGIT` that fits a u32 (leading zeros allowed, RFC 4475 wsinv).
pub(crate) fn parse_u32(s: &str) -> Result<u32, ()> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(());
    }
    s.parse::<u32>().map_err(|_| ())
}

/// `Max-Forwards = 1*DIGIT` (RFC 3261 §20.22). Values above its 0–255 range but within
/// 2^32−1 are tolerated: a UAS does not use the count (RFC 4475 §3.1.2.4 says 300 may be
/// treated as absent); beyond 2^32−1 it is an error like any overlarge scalar.
pub(crate) fn check_max_forwards(v: &str) -> Result<(), ()> {
    parse_u32(v).map(|_| ())
}

/// `Content-Length = 1*DIGIT` (RFC 3261 §20.14). Negative or non-numeric values are an
/// error, never a length (RFC 4475 ncl).
pub(crate) fn parse_content_length(v: &str) -> Result<u64, ()> {
    if v.is_empty() || v.len() > 19 || !v.bytes().all(|c| c.is_ascii_digit()) {
        return Err(());
    }
    v.parse::<u64>().map_err(|_| ())
}

/// `Expires = delta-seconds`: a number beyond 2^32−1 is refused (RFC 4475 scalar02);
/// a non-numeric value is left to the registrar, which treats it as its default.
pub(crate) fn check_expires(v: &str) -> Result<(), ()> {
    if !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit()) && parse_u32(v).is_err() {
        return Err(());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_grammar() {
        for ok in [
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport",
            "SIP/2.0/UDP [2001:db8::9]:5060;received=192.0.2.2",
            "SIP/2.0/UNKNOWN t5.example.com;branch=z9hG4bKunknown",
            "SIP/2.0/TCP spindle.example.com",
        ] {
            assert_eq!(check_via(ok), Ok(()), "{ok}");
        }
        for bad in [
            "SIP/2.0/UDP 192.0.2.15;;",
            ";",
            "",
            "SIP/2.0 host",
            "SIP/2.0/UDP",
            "SIP/2.0/UDP host:70000",
            "SIP/2.0/UDP host;branch=z9hG4bK",
            "SIP/2.0/UDP bad_host!",
        ] {
            assert_eq!(check_via(bad), Err(()), "{bad}");
        }
    }

    #[test]
    fn name_addr_grammar() {
        for ok in [
            r#""Joe" <sip:joe@example.org>;tag=1"#,
            "caller<sip:caller@example.com>;tag=323",
            "sip:+1-972-555-2222@gw1.wcom.com;user=phone",
            "<isbn:2983792873>",
            "<sip:user@example.com?Route=%3Csip:sip.example.com%3E>",
            "\"BEL:\\\x07 NUL:\\\0 DEL:\\\x7f\" <sip:x@y>",
            "Bob Smith <sip:bob@example.com>",
        ] {
            assert_eq!(check_name_addr(ok), Ok(()), "{ok}");
        }
        for bad in [
            r#""Joe" <sip:joe@example.org>;;;;"#,
            r#""Mr. J. User <sip:j.user@example.com>"#,
            "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            r#""Watson, Thomas" < sip:t.watson@example.org >"#,
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "<sip:user@example.com",
            "",
            "<>",
        ] {
            assert_eq!(check_name_addr(bad), Err(()), "{bad}");
        }
    }

    #[test]
    fn scalars() {
        assert_eq!(parse_cseq("0009 INVITE"), Ok((9, "INVITE")));
        assert_eq!(parse_cseq("4294967295 ACK"), Ok((u32::MAX, "ACK")));
        assert_eq!(parse_cseq("36893488147419103232 REGISTER"), Err(()));
        assert_eq!(parse_cseq("-1 INVITE"), Err(()));
        assert_eq!(parse_cseq("1"), Err(()));
        assert_eq!(check_max_forwards("0068"), Ok(()));
        assert_eq!(check_max_forwards("300"), Ok(()));
        assert_eq!(check_max_forwards("4294967296"), Err(()));
        assert_eq!(check_max_forwards("seventy"), Err(()));
        assert_eq!(parse_content_length("-999"), Err(()));
        assert_eq!(parse_content_length("abc"), Err(()));
        assert_eq!(parse_content_length("0150"), Ok(150));
        assert_eq!(check_expires("10000000000000"), Err(()));
        assert_eq!(check_expires("Thu, 01 Dec 1994 16:00:00 GMT"), Ok(()));
        assert_eq!(check_call_id("0ha0isndaksdj@192.0.2.1"), Ok(()));
        assert_eq!(check_call_id("a b"), Err(()));
        assert_eq!(check_call_id("a@b@c"), Err(()));
    }
}
