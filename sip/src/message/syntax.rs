//! Character classes and small scanners of the RFC 3261 §25.1 grammar.
//!
//! Shared by the message parser, the fast field accessors and the typed headers. All of
//! them work on `&str`/`&[u8]` slices and return sub-slices: nothing here allocates except
//! [`percent_decode`] and [`unquote`] when there is something to decode.

use std::borrow::Cow;

/// `token` (RFC 3261 §25.1): alphanum / `-.!%*_+` + backquote + `'~`.
pub(crate) const fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// `1*token-char`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// `word` characters (RFC 3261 §25.1), the alphabet of Call-ID.
pub(crate) const fn is_word_byte(b: u8) -> bool {
    is_token_byte(b)
        || matches!(
            b,
            b'(' | b')'
                | b'<'
                | b'>'
                | b':'
                | b'\\'
                | b'"'
                | b'/'
                | b'['
                | b']'
                | b'?'
                | b'{'
                | b'}'
        )
}

/// `unreserved` = alphanum / mark (RFC 3261 §25.1).
pub(crate) const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        )
}

/// Linear white space inside a (already unfolded) header value: SP or HTAB.
pub(crate) const fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Trims SP/HTAB on both sides.
pub(crate) fn trim_wsp(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t')
}

/// Index just past the closing quote of the quoted-string starting at `bytes[start]`
/// (which must be `"`), honouring quoted-pairs (RFC 3261 §25.1). `None` if unterminated.
pub(crate) fn quoted_end(bytes: &[u8], start: usize) -> Option<usize> {
    debug_assert_eq!(bytes.get(start), Some(&b'"'));
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Splits a header value on `sep` bytes that are outside quoted strings and `<...>`.
/// Pieces are trimmed of SP/HTAB and may be empty. An unterminated quote or `<` yields
/// an `Err(())` piece and ends the iteration.
pub(crate) struct TopLevelSplit<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

pub(crate) fn split_top_level(s: &str, sep: u8) -> TopLevelSplit<'_> {
    TopLevelSplit { rest: Some(s), sep }
}

impl<'a> Iterator for TopLevelSplit<'a> {
    type Item = Result<&'a str, ()>;

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.rest?;
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'"' => match quoted_end(b, i) {
                    Some(end) => i = end,
                    None => {
                        self.rest = None;
                        return Some(Err(()));
                    }
                },
                b'<' => match memchr::memchr(b'>', &b[i..]) {
                    Some(off) => i += off + 1,
                    None => {
                        self.rest = None;
                        return Some(Err(()));
                    }
                },
                c if c == self.sep => {
                    self.rest = Some(&s[i + 1..]);
                    return Some(Ok(trim_wsp(&s[..i])));
                }
                _ => i += 1,
            }
        }
        self.rest = None;
        Some(Ok(trim_wsp(s)))
    }
}

/// Splits one name-addr / addr-spec element (From, To, Contact, Refer-To...) into the
/// address part (display name and URI) and its header parameters (starting at `;`, or
/// empty). In addr-spec form every `;` after the URI starts a header parameter
/// (RFC 3261 §20.10). `None` on an unterminated quote or `<`.
pub(crate) fn split_addr_params(value: &str) -> Option<(&str, &str)> {
    let b = value.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => i = quoted_end(b, i)?,
            b'<' => {
                let end = i + memchr::memchr(b'>', &b[i..])? + 1;
                return Some((&value[..end], &value[end..]));
            }
            b';' => return Some((&value[..i], &value[i..])),
            _ => i += 1,
        }
    }
    Some((value, ""))
}

/// Iterator over `*( SEMI generic-param )` with LWS tolerated around `;` and `=`
/// (RFC 3261 §7.3.1, §25.1). Yields `(name, value)`; a quoted value keeps its quotes.
/// Yields `Err(())` (and stops) on an empty name, an empty value after `=`, or text that
/// is not a parameter.
pub(crate) struct Params<'a> {
    s: &'a str,
    pos: usize,
    done: bool,
}

pub(crate) fn params(s: &str) -> Params<'_> {
    Params {
        s,
        pos: 0,
        done: false,
    }
}

impl<'a> Params<'a> {
    fn skip_wsp(&mut self) {
        let b = self.s.as_bytes();
        while self.pos < b.len() && is_wsp(b[self.pos]) {
            self.pos += 1;
        }
    }

    fn fail(&mut self) -> Option<Result<(&'a str, Option<&'a str>), ()>> {
        self.done = true;
        Some(Err(()))
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = Result<(&'a str, Option<&'a str>), ()>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let b = self.s.as_bytes();
        self.skip_wsp();
        if self.pos >= b.len() {
            self.done = true;
            return None;
        }
        if b[self.pos] != b';' {
            return self.fail();
        }
        self.pos += 1;
        self.skip_wsp();
        let name_start = self.pos;
        while self.pos < b.len() && is_token_byte(b[self.pos]) {
            self.pos += 1;
        }
        let name = &self.s[name_start..self.pos];
        if name.is_empty() {
            return self.fail();
        }
        self.skip_wsp();
        if self.pos >= b.len() || b[self.pos] != b'=' {
            return Some(Ok((name, None)));
        }
        self.pos += 1;
        self.skip_wsp();
        let value_start = self.pos;
        if self.pos < b.len() && b[self.pos] == b'"' {
            match quoted_end(b, self.pos) {
                Some(end) => self.pos = end,
                None => return self.fail(),
            }
        } else {
            while self.pos < b.len()
                && !matches!(b[self.pos], b';' | b',' | b' ' | b'\t' | b'"')
                && !b[self.pos].is_ascii_control()
            {
                self.pos += 1;
            }
        }
        let value = &self.s[value_start..self.pos];
        if value.is_empty() {
            return self.fail();
        }
        Some(Ok((name, Some(value))))
    }
}

/// Finds the parameter `name` (case-insensitive, RFC 3261 §7.3.1) in a parameter list.
/// `Some(None)` for a flag parameter without value.
pub(crate) fn find_param<'a>(params_str: &'a str, name: &str) -> Option<Option<&'a str>> {
    params(params_str)
        .map_while(Result::ok)
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Decodes `%HH` escapes (RFC 3261 §19.1.2, RFC 3986 §2.1). Malformed escapes are kept
/// literally. Borrows when there is nothing to decode. The result is bytes: an escaped
/// NUL (`%00`, RFC 4475 §3.1.1.4) must survive.
pub fn percent_decode(s: &str) -> Cow<'_, [u8]> {
    let b = s.as_bytes();
    if memchr::memchr(b'%', b).is_none() {
        return Cow::Borrowed(b);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(out)
}

/// Escapes every byte of `s` that `keep` rejects as `%HH` (upper-case hex).
pub(crate) fn percent_encode_into(out: &mut String, s: &[u8], keep: impl Fn(u8) -> bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &c in s {
        if keep(c) {
            out.push(c as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(c >> 4)] as char);
            out.push(HEX[usize::from(c & 0xf)] as char);
        }
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// True when every `%` in `s` starts a well-formed `%HH` escape.
pub(crate) fn escapes_well_formed(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'%', &b[i..]) {
        let p = i + off;
        if p + 2 >= b.len() {
            return false;
        }
        if hex(b[p + 1]).is_none() || hex(b[p + 2]).is_none() {
            return false;
        }
        i = p + 3;
    }
    true
}

/// The content of a quoted-string with quoted-pairs resolved; other text is returned
/// trimmed and unchanged.
pub(crate) fn unquote(s: &str) -> Cow<'_, str> {
    let s = trim_wsp(s);
    let b = s.as_bytes();
    if b.len() < 2 || b[0] != b'"' || b[b.len() - 1] != b'"' {
        return Cow::Borrowed(s);
    }
    let inner = &s[1..s.len() - 1];
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Writes `s` as a quoted-string, escaping `"` and `\` (RFC 3261 §25.1).
pub(crate) fn quote_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_split_ignores_commas_in_quotes_and_brackets() {
        let parts: Vec<_> = split_top_level(r#""a, b" <sip:x?h=1,2>;q=1 , <sip:y>"#, b',')
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(parts, vec![r#""a, b" <sip:x?h=1,2>;q=1"#, "<sip:y>"]);
        assert!(split_top_level(r#""open, <sip:x>"#, b',').any(|p| p.is_err()));
    }

    #[test]
    fn params_tolerate_lws_and_reject_empty_names() {
        let p: Vec<_> = params(" ;  tag    = 1918 ; lr;x=\"a;b\"")
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            p,
            vec![("tag", Some("1918")), ("lr", None), ("x", Some("\"a;b\""))]
        );
        assert!(params(";;").any(|p| p.is_err()));
        assert!(params(";a=").any(|p| p.is_err()));
        assert!(params("junk").any(|p| p.is_err()));
    }

    #[test]
    fn addr_params_split_name_addr_and_addr_spec() {
        assert_eq!(
            split_addr_params(r#""x;y" <sip:a;lr>;tag=1"#),
            Some((r#""x;y" <sip:a;lr>"#, ";tag=1"))
        );
        assert_eq!(
            split_addr_params("sip:a@b;user=phone"),
            Some(("sip:a@b", ";user=phone"))
        );
        assert_eq!(split_addr_params(r#""unterminated <sip:a>"#), None);
    }

    #[test]
    fn percent_decoding_keeps_nul_and_bad_escapes() {
        assert_eq!(&*percent_decode("null-%00-null"), b"null-\0-null");
        assert_eq!(&*percent_decode("%Z%45"), b"%ZE");
        assert_eq!(&*percent_decode("a%4"), b"a%4");
        assert!(matches!(percent_decode("plain"), Cow::Borrowed(_)));
        assert!(escapes_well_formed("a%41%00"));
        assert!(!escapes_well_formed("a%4"));
        assert!(!escapes_well_formed("a%G1"));
    }

    #[test]
    fn unquote_resolves_quoted_pairs() {
        assert_eq!(unquote(r#""J Rosenberg \\\"""#), r#"J Rosenberg \""#);
        assert_eq!(unquote("token"), "token");
        let mut s = String::new();
        quote_into(&mut s, r#"a"b\c"#);
        assert_eq!(s, r#""a\"b\\c""#);
        assert_eq!(unquote(&s), r#"a"b\c"#);
    }
}
