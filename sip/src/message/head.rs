//! The header block: line splitting, unfolding, compact names, LWS normalisation, and
//! the mapping onto rsip's `Header` variants.
//!
//! rsip 0.4 reads one header per CRLF-terminated line and knows neither folding
//! (RFC 3261 §7.3.1) nor compact names (§7.3.3), so we hand it finished values.

use super::error::ParseErrorKind;
use super::syntax::{is_token_byte, is_wsp, quoted_end, trim_wsp};
use rsip::headers::*;
use rsip::Header;
use std::borrow::Cow;

/// One logical header line: name as received (or the long form of a compact name) and
/// the unfolded value, trimmed.
pub(crate) struct Field<'a> {
    pub name: Cow<'a, str>,
    pub value: Cow<'a, str>,
}

/// Walks a strict header block (lines end in CRLF) starting at `pos`, unfolding
/// continuation lines. Returns the offset of the body (just past the empty line).
pub(crate) fn walk_headers<'a>(
    bytes: &'a [u8],
    mut pos: usize,
    mut on_field: impl FnMut(Field<'a>) -> Result<(), ParseErrorKind>,
) -> Result<usize, ParseErrorKind> {
    // The logical line being built: either one borrowed physical line or an unfolded copy.
    let mut current: Option<Cow<'a, [u8]>> = None;
    loop {
        let nl = memchr::memchr(b'\n', &bytes[pos..]).ok_or(ParseErrorKind::UnterminatedHeaders)?;
        let line_end = pos + nl;
        if nl == 0 || bytes[line_end - 1] != b'\r' {
            return Err(ParseErrorKind::BareLineEnding);
        }
        let line = &bytes[pos..line_end - 1];
        if memchr::memchr(b'\r', line).is_some() {
            return Err(ParseErrorKind::BareLineEnding);
        }
        pos = line_end + 1;
        if line.is_empty() {
            if let Some(logical) = current.take() {
                on_field(split_field(logical)?)?;
            }
            return Ok(pos);
        }
        if is_wsp(line[0]) {
            // Folding: LWS continuation joins the previous line with one SP (§7.3.1).
            let prev = current.as_mut().ok_or(ParseErrorKind::HeaderLine)?;
            let cont = trim_start_wsp(line);
            if !cont.is_empty() {
                let owned = prev.to_mut();
                while owned.last().is_some_and(|&b| is_wsp(b)) {
                    owned.pop();
                }
                owned.push(b' ');
                owned.extend_from_slice(cont);
            }
        } else {
            if let Some(logical) = current.take() {
                on_field(split_field(logical)?)?;
            }
            current = Some(Cow::Borrowed(line));
        }
    }
}

fn trim_start_wsp(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&c| is_wsp(c)).count();
    &b[n..]
}

/// `header = field-name HCOLON field-value` with HCOLON = *( SP / HTAB ) ":" SWS.
fn split_field(logical: Cow<'_, [u8]>) -> Result<Field<'_>, ParseErrorKind> {
    let name_len = logical.iter().take_while(|&&c| is_token_byte(c)).count();
    if name_len == 0 {
        return Err(ParseErrorKind::HeaderLine);
    }
    let mut i = name_len;
    while i < logical.len() && is_wsp(logical[i]) {
        i += 1;
    }
    if logical.get(i) != Some(&b':') {
        return Err(ParseErrorKind::HeaderLine);
    }
    let value_start = i + 1;
    // Token bytes are ASCII, so the name is valid UTF-8.
    match logical {
        Cow::Borrowed(b) => {
            let name =
                std::str::from_utf8(&b[..name_len]).map_err(|_| ParseErrorKind::HeaderLine)?;
            let value =
                std::str::from_utf8(&b[value_start..]).map_err(|_| ParseErrorKind::NotUtf8)?;
            Ok(Field {
                name: Cow::Borrowed(expand_compact(name)),
                value: Cow::Borrowed(trim_wsp(value)),
            })
        }
        Cow::Owned(mut b) => {
            // Only folded lines get here (rare): take the value out of the copy.
            let value =
                String::from_utf8(b.split_off(value_start)).map_err(|_| ParseErrorKind::NotUtf8)?;
            b.truncate(name_len);
            let name = String::from_utf8(b).map_err(|_| ParseErrorKind::HeaderLine)?;
            let name = match expand_compact(&name) {
                long if long.len() > 1 => Cow::Owned(long.to_owned()),
                _ => Cow::Owned(name),
            };
            Ok(Field {
                name,
                value: Cow::Owned(trim_wsp(&value).to_owned()),
            })
        }
    }
}

/// Long form of a compact header name: RFC 3261 §7.3.3 (`i f t v m l c k s e`),
/// RFC 6665 §8.4 (`o u`), RFC 3515 §7.1 (`r`), RFC 3892 §7 (`b`), RFC 4028 §4 (`x`).
pub(crate) fn expand_compact(name: &str) -> &str {
    if name.len() != 1 {
        return name;
    }
    match name.as_bytes()[0].to_ascii_lowercase() {
        b'i' => "Call-ID",
        b'f' => "From",
        b't' => "To",
        b'v' => "Via",
        b'm' => "Contact",
        b'l' => "Content-Length",
        b'c' => "Content-Type",
        b'k' => "Supported",
        b's' => "Subject",
        b'o' => "Event",
        b'e' => "Content-Encoding",
        b'u' => "Allow-Events",
        b'r' => "Refer-To",
        b'b' => "Referred-By",
        b'x' => "Session-Expires",
        _ => name,
    }
}

/// Lower-cases an ASCII header name into `buf` for matching; `None` when it is too long
/// to be one we know.
pub(crate) fn lower_name<'b>(name: &str, buf: &'b mut [u8; 24]) -> Option<&'b str> {
    let b = name.as_bytes();
    let dst = buf.get_mut(..b.len())?;
    for (d, s) in dst.iter_mut().zip(b) {
        *d = s.to_ascii_lowercase();
    }
    std::str::from_utf8(dst).ok()
}

/// Builds the rsip variant for a header (`lower` is the lower-cased name, if short
/// enough to be known). Unknown names become `Header::Other` with the name as received.
pub(crate) fn rsip_header(lower: Option<&str>, name: Cow<'_, str>, value: String) -> Header {
    let Some(lower) = lower else {
        return Header::Other(name.into_owned(), value);
    };
    match lower {
        "accept" => Header::Accept(Accept::new(value)),
        "accept-encoding" => Header::AcceptEncoding(AcceptEncoding::new(value)),
        "accept-language" => Header::AcceptLanguage(AcceptLanguage::new(value)),
        "alert-info" => Header::AlertInfo(AlertInfo::new(value)),
        "allow" => Header::Allow(Allow::new(value)),
        "authentication-info" => Header::AuthenticationInfo(AuthenticationInfo::new(value)),
        "authorization" => Header::Authorization(Authorization::new(value)),
        "cseq" => Header::CSeq(CSeq::new(value)),
        "call-id" => Header::CallId(CallId::new(value)),
        "call-info" => Header::CallInfo(CallInfo::new(value)),
        "contact" => Header::Contact(Contact::new(value)),
        "content-disposition" => Header::ContentDisposition(ContentDisposition::new(value)),
        "content-encoding" => Header::ContentEncoding(ContentEncoding::new(value)),
        "content-language" => Header::ContentLanguage(ContentLanguage::new(value)),
        "content-length" => Header::ContentLength(ContentLength::new(value)),
        "content-type" => Header::ContentType(ContentType::new(value)),
        "date" => Header::Date(Date::new(value)),
        "error-info" => Header::ErrorInfo(ErrorInfo::new(value)),
        "event" => Header::Event(Event::new(value)),
        "expires" => Header::Expires(Expires::new(value)),
        "from" => Header::From(From::new(value)),
        "in-reply-to" => Header::InReplyTo(InReplyTo::new(value)),
        "max-forwards" => Header::MaxForwards(MaxForwards::new(value)),
        "mime-version" => Header::MimeVersion(MimeVersion::new(value)),
        "min-expires" => Header::MinExpires(MinExpires::new(value)),
        "organization" => Header::Organization(Organization::new(value)),
        "priority" => Header::Priority(Priority::new(value)),
        "proxy-authenticate" => Header::ProxyAuthenticate(ProxyAuthenticate::new(value)),
        "proxy-authorization" => Header::ProxyAuthorization(ProxyAuthorization::new(value)),
        "proxy-require" => Header::ProxyRequire(ProxyRequire::new(value)),
        "record-route" => Header::RecordRoute(RecordRoute::new(value)),
        "reply-to" => Header::ReplyTo(ReplyTo::new(value)),
        "require" => Header::Require(Require::new(value)),
        "retry-after" => Header::RetryAfter(RetryAfter::new(value)),
        "route" => Header::Route(Route::new(value)),
        "server" => Header::Server(Server::new(value)),
        "subject" => Header::Subject(Subject::new(value)),
        "subscription-state" => Header::SubscriptionState(SubscriptionState::new(value)),
        "supported" => Header::Supported(Supported::new(value)),
        "timestamp" => Header::Timestamp(Timestamp::new(value)),
        "to" => Header::To(To::new(value)),
        "unsupported" => Header::Unsupported(Unsupported::new(value)),
        "user-agent" => Header::UserAgent(UserAgent::new(value)),
        "via" => Header::Via(Via::new(value)),
        "warning" => Header::Warning(Warning::new(value)),
        "www-authenticate" => Header::WwwAuthenticate(WwwAuthenticate::new(value)),
        _ => Header::Other(name.into_owned(), value),
    }
}

/// Rewrites the LWS of a structured header value (Via, From, To, Contact, CSeq...) to
/// the plain form rsip's typed parsers expect: runs of SP/HTAB become one SP, and
/// disappear next to `;` `=` `/` `,` (and `:` when `colon` is set, for Via's sent-by).
/// Quoted strings and `<...>` are copied untouched. RFC 3261 §7.3.1 makes both forms
/// equivalent (SEMI, EQUAL, SLASH, COMMA, COLON all allow SWS around them).
///
/// Borrows (no copy) when the value is already in plain form, which is the usual case.
pub(crate) fn normalise_lws(value: &str, colon: bool) -> Cow<'_, str> {
    let is_sep = |c: u8| matches!(c, b';' | b'=' | b'/' | b',') || (colon && c == b':');
    let b = value.as_bytes();
    // Detection pass: is there any run to rewrite?
    let mut needs = false;
    let mut i = 0;
    while i < b.len() && !needs {
        match b[i] {
            b'"' => i = quoted_end(b, i).unwrap_or(b.len()),
            b'<' => i += memchr::memchr(b'>', &b[i..]).map_or(b.len(), |o| o + 1),
            c if is_wsp(c) => {
                let run_end = i + b[i..].iter().take_while(|&&c| is_wsp(c)).count();
                let prev = if i > 0 { b[i - 1] } else { b';' };
                let next = b.get(run_end).copied().unwrap_or(b';');
                needs = c == b'\t' || run_end - i > 1 || is_sep(prev) || is_sep(next);
                i = run_end;
            }
            _ => i += 1,
        }
    }
    if !needs {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'<' => {
                let end = if b[i] == b'"' {
                    quoted_end(b, i).unwrap_or(b.len())
                } else {
                    i + memchr::memchr(b'>', &b[i..]).map_or(b.len() - i, |o| o + 1)
                };
                out.push_str(&value[i..end]);
                i = end;
            }
            c if is_wsp(c) => {
                let run_end = i + b[i..].iter().take_while(|&&c| is_wsp(c)).count();
                let prev = out.as_bytes().last().copied().unwrap_or(b';');
                let next = b.get(run_end).copied().unwrap_or(b';');
                if !is_sep(prev) && !is_sep(next) {
                    out.push(' ');
                }
                i = run_end;
            }
            _ => {
                // Copy up to the next byte of interest in one go (UTF-8 safe: all the
                // delimiters are ASCII).
                let end = i + b[i..]
                    .iter()
                    .position(|&c| c == b'"' || c == b'<' || is_wsp(c))
                    .unwrap_or(b.len() - i);
                out.push_str(&value[i..end]);
                i = end;
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(block: &[u8]) -> Result<Vec<(String, String)>, ParseErrorKind> {
        let mut v = Vec::new();
        walk_headers(block, 0, |f| {
            v.push((f.name.into_owned(), f.value.into_owned()));
            Ok(())
        })?;
        Ok(v)
    }

    #[test]
    fn folded_lines_are_joined_with_one_space() {
        let got = fields(b"Subject: a\r\n  b \r\n\tc\r\nCall-ID\r\n : x@y\r\n\r\n").unwrap();
        assert_eq!(
            got,
            vec![
                ("Subject".into(), "a b c".into()),
                ("Call-ID".into(), "x@y".into())
            ]
        );
    }

    #[test]
    fn compact_names_expand_case_insensitively() {
        let got = fields(b"v: a\r\nI: b\r\nX: 90\r\nr: <sip:x>\r\nZ: z\r\n\r\n").unwrap();
        let names: Vec<_> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["Via", "Call-ID", "Session-Expires", "Refer-To", "Z"]
        );
    }

    #[test]
    fn bare_lf_missing_colon_and_missing_blank_line_are_errors() {
        assert_eq!(
            fields(b"A: b\nC: d\r\n\r\n"),
            Err(ParseErrorKind::BareLineEnding)
        );
        assert_eq!(
            fields(b"A: b\r\r\n\r\n"),
            Err(ParseErrorKind::BareLineEnding)
        );
        assert_eq!(fields(b"A b\r\n\r\n"), Err(ParseErrorKind::HeaderLine));
        assert_eq!(fields(b" A: b\r\n\r\n"), Err(ParseErrorKind::HeaderLine));
        assert_eq!(
            fields(b"A: b\r\n"),
            Err(ParseErrorKind::UnterminatedHeaders)
        );
        assert_eq!(fields(b"A: \xff\r\n\r\n"), Err(ParseErrorKind::NotUtf8));
    }

    #[test]
    fn lws_normalisation_plain_values_are_borrowed() {
        let plain = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport";
        assert!(matches!(normalise_lws(plain, true), Cow::Borrowed(_)));
        assert_eq!(
            normalise_lws(
                "SIP  /   2.0 /UDP   spindle.example.com   ; branch  =   z9 , SIP/2.0/TCP h",
                true
            ),
            "SIP/2.0/UDP spindle.example.com;branch=z9,SIP/2.0/TCP h"
        );
        assert_eq!(
            normalise_lws(
                r#""J  Rosenberg \\\"" <sip:jdrosen@example.com> ; tag = 98asjd8"#,
                false
            ),
            r#""J  Rosenberg \\\"" <sip:jdrosen@example.com>;tag=98asjd8"#
        );
        assert_eq!(normalise_lws("0009  INVITE", false), "0009 INVITE");
    }
}
