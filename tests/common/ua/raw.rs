//! Raw bytes, for what a phone never sends: a malformed request (a test spoils the text
//! of a well-formed one, then sends it from a UA with [`super::Ua::send_raw`]) and a
//! request over TCP. Requests are built as rsip messages and written by sotto-sip's
//! serializer; what comes back is read by sotto-sip's parser (and TCP framer).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rsip::{Header, Method, SipMessage};
use sotto_sip::message::{parse_datagram, serialize_request_into, StreamFramer};
use sotto_sip::transaction::Transport;

static COUNTER: AtomicU32 = AtomicU32::new(1);

/// A token no other request of this test process carries (branch, tag, Call-ID).
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}x{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A request as bytes, and the branch of its Via (to match its responses by).
#[derive(Debug, Clone)]
pub struct RawRequest {
    pub bytes: Vec<u8>,
    pub branch: String,
}

impl RawRequest {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// An out-of-dialog request to `uri` from `local` over `transport`: Via naming `local`
/// with `;rport` (RFC 3581, so responses reach the sending socket), Max-Forwards 70,
/// From `sip:test@local` with a tag, To `<uri>`, a fresh Call-ID, CSeq 1, Contact, and
/// Content-Length.
pub fn request(method: Method, uri: &str, local: SocketAddr, transport: Transport) -> RawRequest {
    let branch = unique("z9hG4bK-raw");
    let lower = transport.via_token().to_ascii_lowercase();
    let mut headers = rsip::Headers::default();
    headers.push(Header::Via(
        format!(
            "SIP/2.0/{} {local};branch={branch};rport",
            transport.via_token()
        )
        .into(),
    ));
    headers.push(Header::MaxForwards(70.into()));
    headers.push(Header::From(
        format!("<sip:test@{local}>;tag={}", unique("rt")).into(),
    ));
    headers.push(Header::To(format!("<{uri}>").into()));
    headers.push(Header::CallId(unique("raw-").into()));
    headers.push(Header::CSeq(format!("1 {method}").into()));
    headers.push(Header::Contact(
        format!("<sip:test@{local};transport={lower}>").into(),
    ));
    let request = rsip::Request {
        method,
        uri: sotto_sip::message::parse_uri(uri).unwrap_or_else(|| panic!("bad URI {uri}")),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    };
    let mut bytes = Vec::new();
    serialize_request_into(&request, &mut bytes);
    RawRequest { bytes, branch }
}

/// A datagram read by sotto-sip; `None` if it does not parse.
pub fn parse(bytes: &[u8]) -> Option<SipMessage> {
    parse_datagram(bytes).ok()
}

/// A response read by sotto-sip; `None` for a request or what does not parse. A
/// response sotto-sip's checks refuse is read by rsip (on which sotto-sip builds)
/// alone: the 400 to a malformed request echoes its faults (no Call-ID, a CSeq that is
/// no number).
pub fn parse_response(bytes: &[u8]) -> Option<rsip::Response> {
    match parse(bytes) {
        Some(SipMessage::Response(r)) => Some(r),
        Some(SipMessage::Request(_)) => None,
        None => rsip::Response::try_from(bytes).ok(),
    }
}

/// A response's status code.
pub fn status(r: &rsip::Response) -> u16 {
    r.status_code.code()
}

/// The value of the first header named `name` (any case) of a message, as sent.
pub fn header(headers: &rsip::Headers, name: &str) -> Option<String> {
    headers.iter().find_map(|h| {
        let line = h.to_string();
        let (n, v) = line.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// A response as text, for failure messages.
pub fn text(r: &rsip::Response) -> String {
    let mut out = Vec::new();
    sotto_sip::message::serialize_response_into(r, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// `method` to `uri` on a fresh TCP connection to `server` (its Via naming that
/// connection); the response, within `limit`.
pub fn tcp_request(
    server: SocketAddr,
    method: Method,
    uri: &str,
    limit: Duration,
) -> Option<rsip::Response> {
    let mut s = TcpStream::connect_timeout(&server, limit).ok()?;
    let local = s.local_addr().ok()?;
    let req = request(method, uri, local, Transport::Tcp);
    exchange(&mut s, &req.bytes, limit)
}

/// Raw bytes on a fresh TCP connection to `server`; the response, if one comes within
/// `limit` before the server closes.
pub fn tcp_send_raw(server: SocketAddr, bytes: &[u8], limit: Duration) -> Option<rsip::Response> {
    let mut s = TcpStream::connect_timeout(&server, limit).ok()?;
    exchange(&mut s, bytes, limit)
}

/// Writes `bytes`, then reads until sotto-sip's framer has one message (a response its
/// checks refuse is read as [`parse_response`] does).
fn exchange(s: &mut TcpStream, bytes: &[u8], limit: Duration) -> Option<rsip::Response> {
    s.set_read_timeout(Some(limit)).ok()?;
    s.write_all(bytes).ok()?;
    let mut framer = StreamFramer::new();
    let mut all = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        all.extend_from_slice(&chunk[..n]);
        framer.push(&chunk[..n]);
        match framer.next_message() {
            Ok(Some(SipMessage::Response(r))) => return Some(r),
            Ok(Some(SipMessage::Request(_))) => return None,
            Err(_) => return parse_response(&all),
            Ok(None) => {}
        }
    }
    parse_response(&all)
}
