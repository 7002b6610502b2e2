//! A lenient scan of raw header lines, for when the strict parser has given up or has not
//! run yet: building the 400 for a broken request, and finding Content-Length for stream
//! framing. It accepts LF or CRLF line ends, unfolds continuation lines, expands compact
//! names, and skips lines it cannot read.

use super::head::expand_compact;
use super::syntax::{is_token_byte, is_wsp};
use std::borrow::Cow;

/// One unfolded header line from [`raw_fields`].
pub(crate) struct RawField<'a> {
    pub name: &'a str,
    pub value: Cow<'a, [u8]>,
}

/// Iterator over the header lines after the start line, stopping at the first empty
/// line or the end of `bytes`.
pub(crate) struct RawFields<'a> {
    bytes: &'a [u8],
    pos: usize,
}

/// Starts after the first line of `bytes` (leading CR/LF skipped). Returns the first
/// line too.
pub(crate) fn raw_fields(bytes: &[u8]) -> (&[u8], RawFields<'_>) {
    let skip = bytes
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    let mut it = RawFields { bytes, pos: skip };
    let first = it.line().unwrap_or_default();
    (first, it)
}

impl<'a> RawFields<'a> {
    /// Next physical line without its LF/CRLF; `None` at the end of the bytes.
    fn line(&mut self) -> Option<&'a [u8]> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        let rest = &self.bytes[self.pos..];
        let (line, adv) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        self.pos += adv;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }
}

impl<'a> Iterator for RawFields<'a> {
    type Item = RawField<'a>;

    fn next(&mut self) -> Option<RawField<'a>> {
        loop {
            let line = self.line()?;
            if line.is_empty() {
                // Nothing after the blank line is a header.
                self.pos = self.bytes.len();
                return None;
            }
            let mut logical = Cow::Borrowed(line);
            // Unfold continuation lines (RFC 3261 §7.3.1).
            while self.bytes.get(self.pos).is_some_and(|&b| is_wsp(b)) {
                let cont = self.line().unwrap_or_default();
                let owned = logical.to_mut();
                owned.push(b' ');
                owned.extend(cont.iter().skip_while(|&&b| is_wsp(b)));
            }
            if let Some(f) = split(logical) {
                return Some(f);
            }
        }
    }
}

fn split(logical: Cow<'_, [u8]>) -> Option<RawField<'_>> {
    let n = logical.iter().take_while(|&&c| is_token_byte(c)).count();
    let mut i = n;
    while i < logical.len() && is_wsp(logical[i]) {
        i += 1;
    }
    if n == 0 || logical.get(i) != Some(&b':') {
        return None;
    }
    let trim = |v: &[u8]| -> (usize, usize) {
        let s = v.iter().take_while(|&&c| is_wsp(c)).count();
        let e = v.len() - v.iter().rev().take_while(|&&c| is_wsp(c)).count();
        (s, e.max(s))
    };
    let name = expand_compact_static(std::str::from_utf8(&logical[..n]).ok()?);
    if name.is_empty() {
        return None;
    }
    let (s, e) = trim(&logical[i + 1..]);
    let (s, e) = (i + 1 + s, i + 1 + e);
    Some(RawField {
        name,
        value: match logical {
            Cow::Borrowed(b) => Cow::Borrowed(&b[s..e]),
            Cow::Owned(b) => Cow::Owned(b[s..e].to_vec()),
        },
    })
}

/// Names the raw scan's callers look for, in their long form.
const INTERESTING: [&str; 6] = ["Via", "From", "To", "Call-ID", "CSeq", "Content-Length"];

/// The long form of `name` if it is one of [`INTERESTING`], else `""` (skipped).
fn expand_compact_static(name: &str) -> &'static str {
    let long = expand_compact(name);
    INTERESTING
        .iter()
        .find(|n| n.eq_ignore_ascii_case(long))
        .copied()
        .unwrap_or("")
}

/// What a response to a broken request must copy (RFC 3261 §8.2.6.2).
#[derive(Default)]
pub(crate) struct Echo<'a> {
    pub vias: Vec<Cow<'a, [u8]>>,
    pub from: Option<Cow<'a, [u8]>>,
    pub to: Option<Cow<'a, [u8]>>,
    pub call_id: Option<Cow<'a, [u8]>>,
    pub cseq: Option<Cow<'a, [u8]>>,
}

/// The headers to echo, if `bytes` look like a request other than ACK and all of Via,
/// From, To, Call-ID and CSeq can be found (the first of each; every Via).
pub(crate) fn echo(bytes: &[u8]) -> Option<Echo<'_>> {
    let (first, fields) = raw_fields(bytes);
    let method_len = first.iter().take_while(|&&c| is_token_byte(c)).count();
    if method_len == 0
        || first.get(method_len) != Some(&b' ')
        || first.len() >= 4 && first[..4].eq_ignore_ascii_case(b"SIP/")
        || &first[..method_len] == b"ACK"
    {
        return None;
    }
    let mut echo = Echo::default();
    for f in fields {
        let slot = match f.name {
            "Via" => {
                echo.vias.push(f.value);
                continue;
            }
            "From" => &mut echo.from,
            "To" => &mut echo.to,
            "Call-ID" => &mut echo.call_id,
            "CSeq" => &mut echo.cseq,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(f.value);
        }
    }
    let all_utf8 = echo
        .vias
        .iter()
        .chain(
            [&echo.from, &echo.to, &echo.call_id, &echo.cseq]
                .into_iter()
                .flatten(),
        )
        .all(|v| !v.is_empty() && std::str::from_utf8(v).is_ok());
    // Via routes the answer back and Via + CSeq let the client match it to its
    // transaction (§17.1.3); From, To and Call-ID are echoed when present (a 400
    // without them still tells the sender it was heard, RFC 4475 §3.3.1).
    let complete = !echo.vias.is_empty() && echo.cseq.is_some();
    (complete && all_utf8).then_some(echo)
}

/// Whether a response can be built for these bytes (see [`echo`]).
pub(crate) fn answerable(bytes: &[u8]) -> bool {
    echo(bytes).is_some()
}

/// Stream framing: the length of the head (start line through the empty line) and the
/// Content-Length, if `buf` holds a complete head. `Err` when Content-Length is
/// unusable (RFC 3261 §18.3: the stream cannot be re-synchronised) or a bare LF ends
/// the head.
pub(crate) fn frame_head(buf: &[u8]) -> Result<Option<(usize, u64)>, ()> {
    let Some(end) = memchr::memmem::find(buf, b"\r\n\r\n") else {
        return if memchr::memmem::find(buf, b"\n\n").is_some() {
            Err(())
        } else {
            Ok(None)
        };
    };
    let head = &buf[..end + 4];
    if memchr::memmem::find(&head[..end + 2], b"\n\n").is_some() {
        return Err(());
    }
    let (_, mut fields) = raw_fields(head);
    let mut length = None;
    for f in fields.by_ref() {
        if f.name == "Content-Length" {
            let v = std::str::from_utf8(&f.value).map_err(|_| ())?;
            let n = super::validate::parse_content_length(v)?;
            if length.replace(n).is_some() {
                return Err(());
            }
        }
    }
    Ok(Some((head.len(), length.unwrap_or(0))))
}
