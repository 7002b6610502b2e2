//! `parse_datagram`: bytes of one message → a validated `rsip::SipMessage`.
//!
//! We do the framing and the line grammar ourselves and build rsip's types directly
//! rather than calling rsip's tokenizer: it rejects folded lines, `%` escapes and `;` in
//! a Request-URI user part, unknown schemes; it accepts any `SIP/M.N`, any 3 digits as a
//! status, bare LF, and frames the body by the blank line rather than Content-Length
//! (RFC 3261 §7 CRLF line ends, §7.1–§7.2 start lines, §7.3.1 folding, §25.1 escapes
//! and URI grammar, §18.3 framing; each case is tested here or in `tests/rfc4475.rs`).
//!
//! Cost: one pass over the header block, one `String` per header value (rsip owns
//! them), no copy of the datagram. Values are only rewritten when folded or written with
//! unusual LWS.

use super::error::{ParseError, ParseErrorKind};
use super::head::{lower_name, normalise_lws, rsip_header, walk_headers, Field};
use super::syntax::split_top_level;
use super::uri::parse_request_uri;
use super::validate::*;
use rsip::headers::{Contact, UntypedHeader, Via};
use rsip::{Header, Method, Request, Response, SipMessage, StatusCode, Uri, Version};

/// Parses one UDP datagram (RFC 3261 §18.3): the body is framed by Content-Length and
/// octets past it are discarded; without Content-Length the body is the rest of the
/// datagram. Leading CRLFs are skipped; a datagram of only CRLFs is
/// [`ParseErrorKind::KeepAlive`].
pub fn parse_datagram(bytes: &[u8]) -> Result<SipMessage, ParseError> {
    parse_message(bytes).map_err(|kind| {
        let answerable =
            !matches!(kind, ParseErrorKind::KeepAlive) && super::raw::answerable(bytes);
        ParseError::new(kind, answerable)
    })
}

/// The method tokens rsip can represent, matched case-sensitively (RFC 3261 §7.1).
pub(crate) fn method_from_token(t: &str) -> Option<Method> {
    Some(match t {
        "INVITE" => Method::Invite,
        "ACK" => Method::Ack,
        "BYE" => Method::Bye,
        "CANCEL" => Method::Cancel,
        "OPTIONS" => Method::Options,
        "REGISTER" => Method::Register,
        "PRACK" => Method::PRack,
        "SUBSCRIBE" => Method::Subscribe,
        "NOTIFY" => Method::Notify,
        "PUBLISH" => Method::Publish,
        "INFO" => Method::Info,
        "REFER" => Method::Refer,
        "MESSAGE" => Method::Message,
        "UPDATE" => Method::Update,
        _ => return None,
    })
}

enum Start<'a> {
    Request {
        method: Result<Method, &'a str>,
        uri: Uri,
    },
    Response {
        status: StatusCode,
    },
}

pub(crate) fn parse_message(bytes: &[u8]) -> Result<SipMessage, ParseErrorKind> {
    let skip = bytes
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    let bytes = &bytes[skip..];
    if bytes.is_empty() {
        return Err(ParseErrorKind::KeepAlive);
    }
    let nl = memchr::memchr(b'\n', bytes).ok_or(ParseErrorKind::StartLine)?;
    if nl == 0 || bytes[nl - 1] != b'\r' || memchr::memchr(b'\r', &bytes[..nl - 1]).is_some() {
        return Err(ParseErrorKind::BareLineEnding);
    }
    let start = parse_start_line(&bytes[..nl - 1])?;
    let request_method = match &start {
        Start::Request { method, .. } => Some(*method),
        Start::Response { .. } => None,
    };
    let mut acc = Accumulator::new(request_method);
    let body_start = walk_headers(bytes, nl + 1, |f| acc.field(f))?;
    acc.check_mandatory()?;

    let available = bytes.len() - body_start;
    let body_len = match acc.content_length {
        Some(declared) if declared > available as u64 => {
            return Err(ParseErrorKind::Truncated {
                declared,
                available,
            })
        }
        Some(declared) => declared as usize,
        None => available,
    };
    let body = bytes[body_start..body_start + body_len].to_vec();
    let headers = acc.headers.into();
    Ok(match start {
        Start::Request { method, uri } => {
            let method = method.map_err(|t| ParseErrorKind::UnknownMethod(t.to_owned()))?;
            SipMessage::Request(Request {
                method,
                uri,
                version: Version::V2,
                headers,
                body,
            })
        }
        Start::Response { status } => SipMessage::Response(Response {
            status_code: status,
            version: Version::V2,
            headers,
            body,
        }),
    })
}

/// `SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT` (RFC 3261 §7.1); only 2.0 is
/// accepted, any other well-formed version is reported for a 505 (§21.5.6).
fn check_version(v: &[u8]) -> Result<(), ParseErrorKind> {
    if v.eq_ignore_ascii_case(b"SIP/2.0") {
        return Ok(());
    }
    let well_formed = v.len() > 4
        && v[..4].eq_ignore_ascii_case(b"SIP/")
        && matches!(v[4..].split(|&c| c == b'.').collect::<Vec<_>>()[..],
            [major, minor] if !major.is_empty() && !minor.is_empty()
                && major.iter().chain(minor).all(u8::is_ascii_digit));
    if well_formed {
        Err(ParseErrorKind::VersionNotSupported(
            String::from_utf8_lossy(v).into_owned(),
        ))
    } else {
        Err(ParseErrorKind::StartLine)
    }
}

/// Request-Line = Method SP Request-URI SP SIP-Version (exactly one SP each: RFC 4475
/// lwsstart and trws take the "reject" option), or
/// Status-Line = SIP-Version SP Status-Code SP Reason-Phrase.
fn parse_start_line(line: &[u8]) -> Result<Start<'_>, ParseErrorKind> {
    if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"SIP/") {
        let sp = memchr::memchr(b' ', line).ok_or(ParseErrorKind::StartLine)?;
        check_version(&line[..sp])?;
        let rest = &line[sp + 1..];
        let (code, reason) = match memchr::memchr(b' ', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &b""[..]),
        };
        if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
            return Err(ParseErrorKind::StatusCode);
        }
        let code = code.iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
        if !(100..=699).contains(&code) {
            return Err(ParseErrorKind::StatusCode);
        }
        let status = match StatusCode::from(code) {
            StatusCode::Other(code, _) => {
                StatusCode::Other(code, String::from_utf8_lossy(reason).into_owned())
            }
            known => known,
        };
        return Ok(Start::Response { status });
    }
    let mut parts = line.split(|&c| c == b' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        // A well-formed but unsupported version still deserves its 505.
        if let Some(last) = line.rsplit(|&c| c == b' ').next() {
            if last.len() > 4 && last[..4].eq_ignore_ascii_case(b"SIP/") {
                check_version(last)?;
            }
        }
        return Err(ParseErrorKind::StartLine);
    };
    check_version(version)?;
    let method = std::str::from_utf8(method).map_err(|_| ParseErrorKind::StartLine)?;
    if !super::syntax::is_token(method) {
        return Err(ParseErrorKind::StartLine);
    }
    let uri = std::str::from_utf8(uri).map_err(|_| ParseErrorKind::RequestUri)?;
    let uri = parse_request_uri(uri).map_err(|()| ParseErrorKind::RequestUri)?;
    Ok(Start::Request {
        method: method_from_token(method).ok_or(method),
        uri,
    })
}

/// Collects headers and the facts the checks need while walking the header block.
struct Accumulator<'m> {
    method: Option<Result<Method, &'m str>>,
    headers: Vec<Header>,
    vias: usize,
    from: u8,
    to: u8,
    call_id: u8,
    cseq: u8,
    max_forwards: u8,
    content_type: u8,
    content_length: Option<u64>,
    contact_star: bool,
    contacts: usize,
}

impl<'m> Accumulator<'m> {
    fn new(method: Option<Result<Method, &'m str>>) -> Self {
        Self {
            method,
            headers: Vec::with_capacity(16),
            vias: 0,
            from: 0,
            to: 0,
            call_id: 0,
            cseq: 0,
            max_forwards: 0,
            content_type: 0,
            content_length: None,
            contact_star: false,
            contacts: 0,
        }
    }

    fn field(&mut self, f: Field<'_>) -> Result<(), ParseErrorKind> {
        use ParseErrorKind::{DuplicateHeader, InvalidHeader};
        let mut buf = [0u8; 24];
        let lower = lower_name(&f.name, &mut buf);
        let once = |n: &mut u8, name: &'static str| {
            *n += 1;
            if *n > 1 {
                Err(DuplicateHeader(name))
            } else {
                Ok(())
            }
        };
        let value = match lower {
            Some("via") => {
                // Split a comma list into one Via header each so rsip's `via_header()`
                // is the top Via and its typed parser sees a single value.
                let norm = normalise_lws(&f.value, true);
                for piece in split_top_level(&norm, b',') {
                    let piece = piece.map_err(|()| InvalidHeader("Via"))?;
                    check_via(piece).map_err(|()| InvalidHeader("Via"))?;
                    self.vias += 1;
                    self.headers.push(Header::Via(Via::new(piece)));
                }
                return Ok(());
            }
            Some("contact") => {
                let norm = normalise_lws(&f.value, false);
                if norm == "*" {
                    // RFC 3261 §10.2.2: "*" stands alone (REGISTER removal of all bindings).
                    self.contact_star = true;
                    self.contacts += 1;
                } else {
                    for piece in split_top_level(&norm, b',') {
                        let piece = piece.map_err(|()| InvalidHeader("Contact"))?;
                        check_name_addr(piece).map_err(|()| InvalidHeader("Contact"))?;
                        self.contacts += 1;
                        self.headers.push(Header::Contact(Contact::new(piece)));
                    }
                }
                if self.contact_star && self.contacts > 1 {
                    return Err(InvalidHeader("Contact"));
                }
                if norm != "*" {
                    return Ok(());
                }
                norm.into_owned()
            }
            Some("from") | Some("to") => {
                let (n, name) = if lower == Some("from") {
                    (&mut self.from, "From")
                } else {
                    (&mut self.to, "To")
                };
                once(n, name)?;
                let norm = normalise_lws(&f.value, false);
                check_name_addr(&norm).map_err(|()| InvalidHeader(name))?;
                norm.into_owned()
            }
            Some("call-id") => {
                once(&mut self.call_id, "Call-ID")?;
                check_call_id(&f.value).map_err(|()| InvalidHeader("Call-ID"))?;
                f.value.into_owned()
            }
            Some("cseq") => {
                once(&mut self.cseq, "CSeq")?;
                let norm = normalise_lws(&f.value, false);
                let (_, cseq_method) = parse_cseq(&norm).map_err(|()| InvalidHeader("CSeq"))?;
                // An unknown request method is reported as such (501) instead
                // (RFC 4475 mismatch02 prefers 501).
                if let Some(Ok(m)) = self.method {
                    if method_from_token(cseq_method) != Some(m) {
                        return Err(ParseErrorKind::CSeqMethodMismatch);
                    }
                }
                norm.into_owned()
            }
            Some("max-forwards") => {
                once(&mut self.max_forwards, "Max-Forwards")?;
                check_max_forwards(&f.value).map_err(|()| InvalidHeader("Max-Forwards"))?;
                f.value.into_owned()
            }
            Some("content-length") => {
                if self.content_length.is_some() {
                    return Err(ParseErrorKind::ContentLength);
                }
                let n =
                    parse_content_length(&f.value).map_err(|()| ParseErrorKind::ContentLength)?;
                self.content_length = Some(n);
                f.value.into_owned()
            }
            Some("content-type") => {
                once(&mut self.content_type, "Content-Type")?;
                f.value.into_owned()
            }
            Some("expires") => {
                check_expires(&f.value).map_err(|()| InvalidHeader("Expires"))?;
                f.value.into_owned()
            }
            Some("route") | Some("record-route") => normalise_lws(&f.value, false).into_owned(),
            _ => f.value.into_owned(),
        };
        self.headers.push(rsip_header(lower, f.name, value));
        Ok(())
    }

    /// RFC 3261 §8.1.1: Via, From, To, Call-ID and CSeq are mandatory (Max-Forwards too
    /// for a UAC, but a UAS tolerates its absence: RFC 4475 inv2543).
    fn check_mandatory(&self) -> Result<(), ParseErrorKind> {
        use ParseErrorKind::MissingHeader;
        if self.vias == 0 {
            return Err(MissingHeader("Via"));
        }
        for (n, name) in [
            (self.from, "From"),
            (self.to, "To"),
            (self.call_id, "Call-ID"),
            (self.cseq, "CSeq"),
        ] {
            if n == 0 {
                return Err(MissingHeader(name));
            }
        }
        Ok(())
    }
}
