//! Raw SIP over UDP and TCP, written by hand: for what SIPp cannot do (malformed
//! requests, looking at the RTP that comes back) and to depend on nothing of ours.
//!
//! Requests carry `;rport` (RFC 3581) and our real address in `Via`, so the server's
//! responses reach the test's socket.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicU32 = AtomicU32::new(1);

/// A fresh RFC 3261 branch (magic cookie first, 8.1.1.7), tag or Call-ID part.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}x{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn branch() -> String {
    unique("z9hG4bK-t")
}

/// A parsed SIP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub raw: Vec<u8>,
}

/// Compact header forms (RFC 3261 section 7.3.3) that a server may send.
fn long_name(name: &str) -> &str {
    match name.to_ascii_lowercase().as_str() {
        "i" => "call-id",
        "v" => "via",
        "f" => "from",
        "t" => "to",
        "m" => "contact",
        "l" => "content-length",
        "c" => "content-type",
        _ => name,
    }
}

impl Response {
    /// Parses one response; `None` if `raw` is not a SIP/2.0 response.
    pub fn parse(raw: &[u8]) -> Option<Response> {
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = std::str::from_utf8(&raw[..split]).ok()?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next()?;
        let rest = status_line.strip_prefix("SIP/2.0 ")?;
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let status = code.parse().ok()?;
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (long_name(n.trim()).to_string(), v.trim().to_string()))
            .collect();
        Some(Response {
            status,
            reason: reason.to_string(),
            headers,
            body: raw[split + 4..].to_vec(),
            raw: raw.to_vec(),
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(long_name(name)))
            .map(|(_, v)| v.as_str())
    }

    /// The branch of the top Via.
    pub fn branch(&self) -> Option<&str> {
        param(self.header("via")?, "branch")
    }

    /// The `tag` of `To`.
    pub fn to_tag(&self) -> Option<&str> {
        param(self.header("to")?, "tag")
    }

    /// The URI inside `Contact: <...>`.
    pub fn contact_uri(&self) -> Option<&str> {
        let c = self.header("contact")?;
        let start = c.find('<')? + 1;
        let end = c[start..].find('>')? + start;
        Some(&c[start..end])
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
}

/// `;name=value` from a header value (up to `;`, `,`, `>` or space).
pub fn param<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(";{name}=");
    let lower = header.to_ascii_lowercase();
    let start = lower.find(&key)? + key.len();
    let end = header[start..]
        .find([';', ',', '>', ' '])
        .map_or(header.len(), |e| e + start);
    Some(&header[start..end])
}

/// What an SDP body says about its first audio stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpAudio {
    pub addr: SocketAddr,
    pub payload_types: Vec<u8>,
}

/// The connection address and `m=audio` port and formats of an SDP body.
pub fn sdp_audio(body: &[u8]) -> Option<SdpAudio> {
    let text = std::str::from_utf8(body).ok()?;
    let mut session_ip = None;
    let mut media_ip = None;
    let mut audio: Option<(u16, Vec<u8>)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(c) = line.strip_prefix("c=IN IP4 ") {
            let ip = c.split('/').next()?.trim().parse().ok()?;
            if audio.is_some() {
                media_ip.get_or_insert(ip);
            } else {
                session_ip = Some(ip);
            }
        } else if let Some(m) = line.strip_prefix("m=") {
            if audio.is_some() {
                break;
            }
            let mut f = m.split_whitespace();
            if f.next()? == "audio" {
                let port = f.next()?.parse().ok()?;
                let _proto = f.next()?;
                audio = Some((port, f.filter_map(|p| p.parse().ok()).collect()));
            }
        }
    }
    let (port, payload_types) = audio?;
    let ip: std::net::Ipv4Addr = media_ip.or(session_ip)?;
    Some(SdpAudio {
        addr: (ip, port).into(),
        payload_types,
    })
}

/// An SDP offer of PCMU (and nothing else) at `rtp`.
pub fn sdp_offer_pcmu(rtp: SocketAddr) -> String {
    format!(
        "v=0\r\no=test 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n",
        ip = rtp.ip(),
        port = rtp.port()
    )
}

/// One request's parts; [`Request::encode`] writes it with a correct Content-Length.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub uri: String,
    pub branch: String,
    pub from_tag: String,
    pub to: String,
    pub call_id: String,
    pub cseq: u32,
    pub extra: Vec<String>,
    pub body: String,
}

impl Request {
    pub fn new(method: &str, uri: &str) -> Request {
        Request {
            method: method.to_string(),
            uri: uri.to_string(),
            branch: branch(),
            from_tag: unique("ft"),
            to: format!("<{uri}>"),
            call_id: unique("call-"),
            cseq: 1,
            extra: Vec::new(),
            body: String::new(),
        }
    }

    /// The bytes, with `Via` naming `local` over `transport` ("UDP"/"TCP").
    pub fn encode(&self, local: SocketAddr, transport: &str) -> Vec<u8> {
        let mut m = format!(
            "{method} {uri} SIP/2.0\r\n\
             Via: SIP/2.0/{transport} {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:test@{local}>;tag={from_tag}\r\n\
             To: {to}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\n\
             Contact: <sip:test@{local};transport={lower}>\r\n",
            method = self.method,
            uri = self.uri,
            branch = self.branch,
            from_tag = self.from_tag,
            to = self.to,
            call_id = self.call_id,
            cseq = self.cseq,
            lower = transport.to_ascii_lowercase(),
        );
        for h in &self.extra {
            m.push_str(h);
            m.push_str("\r\n");
        }
        if !self.body.is_empty() {
            m.push_str("Content-Type: application/sdp\r\n");
        }
        m.push_str(&format!("Content-Length: {}\r\n\r\n", self.body.len()));
        m.push_str(&self.body);
        m.into_bytes()
    }
}

/// A UDP SIP endpoint talking to one server.
pub struct UdpSip {
    pub sock: UdpSocket,
    pub server: SocketAddr,
}

impl UdpSip {
    pub fn new(server: SocketAddr) -> UdpSip {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind UDP");
        UdpSip { sock, server }
    }

    pub fn local(&self) -> SocketAddr {
        self.sock.local_addr().expect("local addr")
    }

    pub fn send_raw(&self, bytes: &[u8]) {
        self.sock
            .send_to(bytes, self.server)
            .expect("send datagram");
    }

    pub fn send(&self, req: &Request) {
        self.send_raw(&req.encode(self.local(), "UDP"));
    }

    /// The next response whose top-Via branch is `branch` (others are skipped), within `limit`.
    pub fn response_for(&self, branch: &str, limit: Duration) -> Option<Response> {
        let deadline = Instant::now() + limit;
        let mut buf = vec![0u8; 65_535];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.sock.set_read_timeout(Some(left)).ok()?;
            let Ok((n, _)) = self.sock.recv_from(&mut buf) else {
                return None;
            };
            if let Some(r) = Response::parse(&buf[..n]) {
                if r.branch() == Some(branch) {
                    return Some(r);
                }
            }
        }
    }

    /// The final (non-1xx) response for `branch`, resending the request every 500 ms
    /// as RFC 3261 timer A/E would, within `limit`.
    pub fn transact(&self, req: &Request, limit: Duration) -> Option<Response> {
        let deadline = Instant::now() + limit;
        let mut provisional = false;
        while Instant::now() < deadline {
            if !provisional {
                self.send(req);
            }
            let wait = deadline
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(500));
            match self.response_for(&req.branch, wait) {
                Some(r) if r.status >= 200 => return Some(r),
                Some(_) => provisional = true,
                None => {}
            }
        }
        None
    }

    /// Any datagram at all within `limit` (to prove silence, or catch a stray reply).
    pub fn any_response(&self, limit: Duration) -> Option<Response> {
        let mut buf = vec![0u8; 65_535];
        self.sock.set_read_timeout(Some(limit)).ok()?;
        let (n, _) = self.sock.recv_from(&mut buf).ok()?;
        Response::parse(&buf[..n])
    }
}

/// Sends `req` on a fresh TCP connection (its Via naming that connection) and reads one
/// response within `limit`. `None` if the server closes or says nothing.
pub fn tcp_request(server: SocketAddr, req: &Request, limit: Duration) -> Option<Response> {
    let mut s = TcpStream::connect_timeout(&server, limit).ok()?;
    let local = s.local_addr().ok()?;
    exchange(&mut s, &req.encode(local, "TCP"), limit)
}

/// Sends raw bytes on a fresh TCP connection and reads one response within `limit`.
pub fn tcp_send_raw(server: SocketAddr, bytes: &[u8], limit: Duration) -> Option<Response> {
    let mut s = TcpStream::connect_timeout(&server, limit).ok()?;
    exchange(&mut s, bytes, limit)
}

/// Writes `bytes`, then reads until one message framed by Content-Length is complete.
fn exchange(s: &mut TcpStream, bytes: &[u8], limit: Duration) -> Option<Response> {
    s.set_read_timeout(Some(limit)).ok()?;
    s.write_all(bytes).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(split) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let r = Response::parse(&buf)?;
            let len: usize = r
                .header("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if buf.len() >= split + 4 + len {
                return Response::parse(&buf[..split + 4 + len]);
            }
        }
    }
    Response::parse(&buf)
}
