//! The customer: a small SIP user agent over UDP that places one call, answers the
//! re-INVITEs sotto sends it (hold, resume: RFC 3264 §8.4 answers, direction mirrored),
//! answers a BYE, sends speech as PCMU every 20 ms and keeps what it hears with the
//! time it arrived.
//!
//! Written by hand so the test sees exactly what sotto sends (SIPp cannot look at the
//! RTP or answer a re-INVITE it does not expect) and depends on nothing of ours.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::audio::{ulaw_to_linear, Rtp};
use crate::common::rawsip::{self, Request, Response};

/// The direction attribute of an SDP audio stream (RFC 3264 §5.1; sendrecv by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn of(sdp: &str) -> Direction {
        let mut found = Direction::SendRecv;
        for line in sdp.lines().map(str::trim) {
            found = match line {
                "a=sendonly" => Direction::SendOnly,
                "a=recvonly" => Direction::RecvOnly,
                "a=inactive" => Direction::Inactive,
                "a=sendrecv" => Direction::SendRecv,
                _ => continue,
            };
        }
        found
    }

    /// What an answerer says to this offer (RFC 3264 §6.1).
    fn answer(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "recvonly",
            Direction::RecvOnly => "sendonly",
            Direction::Inactive => "inactive",
        }
    }
}

/// A re-INVITE sotto sent the customer, as answered.
#[derive(Debug, Clone)]
pub struct Reinvite {
    pub at: Instant,
    pub direction: Direction,
    pub sdp: String,
}

#[derive(Default)]
struct Shared {
    reinvites: Mutex<Vec<Reinvite>>,
    /// Where sotto wants our RTP (its latest SDP).
    remote_rtp: Mutex<Option<SocketAddr>>,
    heard: Mutex<Vec<(Instant, Vec<i16>)>>,
    stop: AtomicBool,
}

/// One call from the customer to sotto.
pub struct Customer {
    sip: UdpSocket,
    server: SocketAddr,
    uri: String,
    call_id: String,
    from_tag: String,
    to: String,
    answered_at: Instant,
    shared: Arc<Shared>,
    responses: Receiver<Response>,
    threads: Vec<JoinHandle<()>>,
}

impl Customer {
    /// Calls `sip:user@server` and waits (up to `limit`) for the 200, which it ACKs.
    pub fn call(server: SocketAddr, user: &str, limit: Duration) -> Result<Customer, String> {
        let sip = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let rtp = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let rtp_local = rtp.local_addr().map_err(|e| e.to_string())?;
        let shared = Arc::new(Shared::default());
        let (tx, responses) = mpsc::channel();
        let mut threads = Vec::new();
        {
            let (sock, shared) = (
                sip.try_clone().map_err(|e| e.to_string())?,
                Arc::clone(&shared),
            );
            threads.push(std::thread::spawn(move || {
                serve_sip(sock, rtp_local, shared, tx)
            }));
        }
        {
            let (sock, shared) = (
                rtp.try_clone().map_err(|e| e.to_string())?,
                Arc::clone(&shared),
            );
            threads.push(std::thread::spawn(move || receive_rtp(sock, shared)));
        }
        {
            let shared = Arc::clone(&shared);
            threads.push(std::thread::spawn(move || send_speech(rtp, shared)));
        }
        let uri = format!("sip:{user}@{server}");
        let mut invite = Request::new("INVITE", &uri);
        invite.body = rawsip::sdp_offer_pcmu(rtp_local);
        let mut customer = Customer {
            sip,
            server,
            uri,
            call_id: invite.call_id.clone(),
            from_tag: invite.from_tag.clone(),
            to: String::new(),
            answered_at: Instant::now(),
            shared,
            responses,
            threads,
        };
        let ok = customer.transact(&invite, limit)?;
        if ok.status != 200 {
            return Err(format!(
                "INVITE answered {} {}:\n{}",
                ok.status,
                ok.reason,
                ok.text()
            ));
        }
        let remote = rawsip::sdp_audio(&ok.body).ok_or("200 OK without SDP audio")?;
        *customer.shared.remote_rtp.lock().unwrap() = Some(remote.addr);
        customer.answered_at = Instant::now();
        customer.to = format!(
            "<{}>;tag={}",
            customer.uri,
            ok.to_tag().ok_or("200 without To tag")?
        );
        let mut ack = customer.in_dialog("ACK", 1);
        ack.uri = ok.contact_uri().unwrap_or(&customer.uri).to_string();
        customer.send(&ack);
        Ok(customer)
    }

    /// When the 200 to the INVITE arrived.
    pub fn answered_at(&self) -> Instant {
        self.answered_at
    }

    /// The `n`th (from 0) re-INVITE from sotto, waiting for it up to `limit`.
    pub fn wait_reinvite(&self, n: usize, limit: Duration) -> Option<Reinvite> {
        crate::common::poll_until(limit, || {
            self.shared.reinvites.lock().unwrap().get(n).cloned()
        })
    }

    /// Everything heard (decoded PCMU) from packets that arrived in `[from, to)`.
    pub fn heard_between(&self, from: Instant, to: Instant) -> Vec<i16> {
        let heard = self.shared.heard.lock().unwrap();
        heard
            .iter()
            .filter(|(at, _)| *at >= from && *at < to)
            .flat_map(|(_, s)| s.iter().copied())
            .collect()
    }

    /// Sends BYE and waits for its 200.
    pub fn hang_up(&self, limit: Duration) -> Result<(), String> {
        let bye = self.in_dialog("BYE", 2);
        let r = self.transact(&bye, limit)?;
        (r.status == 200)
            .then_some(())
            .ok_or_else(|| format!("BYE answered {} {}", r.status, r.reason))
    }

    fn in_dialog(&self, method: &str, cseq: u32) -> Request {
        let mut r = Request::new(method, &self.uri);
        r.call_id = self.call_id.clone();
        r.from_tag = self.from_tag.clone();
        r.to = self.to.clone();
        r.cseq = cseq;
        r
    }

    fn send(&self, req: &Request) {
        let local = self.sip.local_addr().expect("local addr");
        let _ = self.sip.send_to(&req.encode(local, "UDP"), self.server);
    }

    /// The final response to `req`, resent every 500 ms until something comes back.
    fn transact(&self, req: &Request, limit: Duration) -> Result<Response, String> {
        let deadline = Instant::now() + limit;
        let mut provisional = false;
        while Instant::now() < deadline {
            if !provisional {
                self.send(req);
            }
            let wait = deadline
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(500));
            match self.responses.recv_timeout(wait) {
                Ok(r) if r.branch() != Some(req.branch.as_str()) => {}
                Ok(r) if r.status >= 200 => return Ok(r),
                Ok(_) => provisional = true,
                Err(_) => {}
            }
        }
        Err(format!(
            "no final response to {} within {limit:?}",
            req.method
        ))
    }
}

impl Drop for Customer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A request's first line and headers (names lower-case, compact forms as sent).
struct Incoming {
    method: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Incoming {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn parse_request(raw: &[u8]) -> Option<Incoming> {
    let text = std::str::from_utf8(raw).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let method = lines.next()?.split(' ').next()?.to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Incoming {
        method,
        headers,
        body: body.to_string(),
    })
}

/// A response to `req` echoing Via (all of them, in order), From, To, Call-ID and CSeq
/// (RFC 3261 §8.2.6.2).
fn response(req: &Incoming, status: &str, contact: SocketAddr, sdp: Option<&str>) -> Vec<u8> {
    let mut m = format!("SIP/2.0 {status}\r\n");
    for (name, value) in &req.headers {
        let long = match name.as_str() {
            "v" => "via",
            "f" => "from",
            "t" => "to",
            "i" => "call-id",
            other => other,
        };
        if matches!(long, "via" | "from" | "to" | "call-id" | "cseq") {
            m.push_str(&format!("{long}: {value}\r\n"));
        }
    }
    m.push_str(&format!("Contact: <sip:customer@{contact}>\r\n"));
    match sdp {
        Some(sdp) => m.push_str(&format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        )),
        None => m.push_str("Content-Length: 0\r\n\r\n"),
    }
    m.into_bytes()
}

/// Answers sotto's requests; hands responses to the call's transactions.
fn serve_sip(
    sock: UdpSocket,
    rtp_local: SocketAddr,
    shared: Arc<Shared>,
    responses: mpsc::Sender<Response>,
) {
    let _ = sock.set_read_timeout(Some(Duration::from_millis(100)));
    let local = sock.local_addr().expect("local addr");
    let mut version = 1;
    // A retransmitted INVITE (same CSeq) gets the same answer and is not a new offer.
    let mut last_invite: Option<(String, Vec<u8>)> = None;
    let mut buf = vec![0u8; 65_535];
    while !shared.stop.load(Ordering::Relaxed) {
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let raw = &buf[..n];
        if raw.starts_with(b"SIP/2.0 ") {
            if let Some(r) = Response::parse(raw) {
                let _ = responses.send(r);
            }
            continue;
        }
        let Some(req) = parse_request(raw) else {
            continue;
        };
        let reply = match req.method.as_str() {
            "INVITE" => {
                let cseq = req.header("cseq").unwrap_or_default().to_string();
                if let Some((_, reply)) = last_invite.as_ref().filter(|(c, _)| *c == cseq) {
                    let _ = sock.send_to(reply, from);
                    continue;
                }
                let direction = Direction::of(&req.body);
                if let Some(audio) = rawsip::sdp_audio(req.body.as_bytes()) {
                    *shared.remote_rtp.lock().unwrap() = Some(audio.addr);
                }
                version += 1;
                let answer = format!(
                    "v=0\r\no=customer 1 {version} IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\n\
                     t=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n\
                     a=ptime:20\r\na={dir}\r\n",
                    ip = rtp_local.ip(),
                    port = rtp_local.port(),
                    dir = direction.answer(),
                );
                shared.reinvites.lock().unwrap().push(Reinvite {
                    at: Instant::now(),
                    direction,
                    sdp: req.body.clone(),
                });
                let reply = response(&req, "200 OK", local, Some(&answer));
                last_invite = Some((cseq, reply.clone()));
                reply
            }
            "ACK" => continue,
            _ => response(&req, "200 OK", local, None),
        };
        let _ = sock.send_to(&reply, from);
    }
}

/// Keeps every PCMU packet sotto sends, decoded, with its arrival time.
fn receive_rtp(sock: UdpSocket, shared: Arc<Shared>) {
    let _ = sock.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buf = vec![0u8; 2_048];
    while !shared.stop.load(Ordering::Relaxed) {
        let Ok(n) = sock.recv(&mut buf) else {
            continue;
        };
        if let Some(rtp) = Rtp::parse(&buf[..n]).filter(|r| r.payload_type == 0) {
            let samples = rtp.payload.iter().map(|&u| ulaw_to_linear(u)).collect();
            shared.heard.lock().unwrap().push((Instant::now(), samples));
        }
    }
}

/// Sends the speech clip, looped, as 20 ms PCMU packets once sotto's address is known.
fn send_speech(sock: UdpSocket, shared: Arc<Shared>) {
    let speech = std::fs::read(crate::common::fixtures().join("audio/speech_8k.ulaw"))
        .expect("read fixtures/audio/speech_8k.ulaw");
    let mut next = Instant::now();
    let (mut seq, mut at) = (0u16, 0usize);
    while !shared.stop.load(Ordering::Relaxed) {
        next += Duration::from_millis(20);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        let Some(remote) = *shared.remote_rtp.lock().unwrap() else {
            continue;
        };
        let payload: Vec<u8> = (0..160).map(|i| speech[(at + i) % speech.len()]).collect();
        let packet = Rtp {
            payload_type: 0,
            seq,
            timestamp: u32::from(seq).wrapping_mul(160),
            ssrc: 0x5157_0001,
            payload,
        };
        let _ = sock.send_to(&packet.encode(), remote);
        seq = seq.wrapping_add(1);
        at += 160;
    }
}
