//! A small SIP user agent over UDP, written by hand, for what a transfer test must
//! see from inside a dialog: the tags and Call-ID of its calls (to name them in a
//! Replaces), the REFERs and NOTIFYs sotto sends, and requests it writes itself
//! (REFER with Replaces, INVITE with Replaces).
//!
//! One socket, one server (sotto). While it waits for what a test asks for, it
//! answers what a phone answers without thinking (RFC 3261): a re-INVITE gets 200
//! with an SDP answer (RFC 6337 directions), BYE/NOTIFY/OPTIONS get 200, ACK nothing;
//! a retransmitted request gets the same response again. Every message seen is kept
//! in a log for failure reports.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use super::rawsip::{param, unique};

/// A SIP message, request or response.
#[derive(Debug, Clone)]
pub struct Msg {
    /// `INVITE sip:... SIP/2.0` or `SIP/2.0 200 OK`.
    pub start: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

fn long_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "i" => "call-id",
        "v" => "via",
        "f" => "from",
        "t" => "to",
        "m" => "contact",
        "l" => "content-length",
        "c" => "content-type",
        "e" => "content-encoding",
        "o" => "event",
        "r" => "refer-to",
        "b" => "referred-by",
        _ => return lower,
    }
    .to_string()
}

impl Msg {
    pub fn parse(raw: &[u8]) -> Option<Msg> {
        let text = std::str::from_utf8(raw).ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        let mut lines = head.split("\r\n");
        let start = lines.next()?.to_string();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (long_name(n.trim()), v.trim().to_string()))
            .collect();
        Some(Msg {
            start,
            headers,
            body: body.to_string(),
        })
    }

    /// The method of a request; None for a response.
    pub fn method(&self) -> Option<&str> {
        (!self.start.starts_with("SIP/2.0")).then(|| self.start.split(' ').next().unwrap_or(""))
    }

    /// The status of a response; None for a request.
    pub fn status(&self) -> Option<u16> {
        self.start
            .strip_prefix("SIP/2.0 ")
            .and_then(|r| r.get(..3))
            .and_then(|c| c.parse().ok())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        let name = long_name(name);
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        let name = long_name(name);
        self.headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn call_id(&self) -> &str {
        self.header("call-id").unwrap_or("")
    }

    pub fn cseq(&self) -> &str {
        self.header("cseq").unwrap_or("")
    }

    pub fn branch(&self) -> Option<&str> {
        param(self.header("via")?, "branch")
    }

    pub fn tag_of_from(&self) -> Option<&str> {
        param(self.header("from")?, "tag")
    }

    pub fn to_tag(&self) -> Option<&str> {
        param(self.header("to")?, "tag")
    }

    /// The URI inside `<...>` of a header (Contact, From, To, Refer-To).
    pub fn uri_of(&self, header: &str) -> Option<&str> {
        let v = self.header(header)?;
        match v.find('<') {
            Some(s) => v[s + 1..].split('>').next(),
            None => v.split(';').next(),
        }
    }
}

/// A dialog as this UA sees it.
#[derive(Debug, Clone)]
pub struct Dialog {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
    pub local_uri: String,
    pub remote_uri: String,
    /// The peer's Contact: the Request-URI of our requests.
    pub remote_target: String,
    pub cseq: u32,
}

/// A phone on one UDP socket, talking to sotto at `server`.
pub struct Ua {
    pub user: String,
    sock: UdpSocket,
    server: SocketAddr,
    /// Where our SDP points; bound so that sotto's RTP has somewhere to go.
    rtp: UdpSocket,
    /// The SDP origin's version: one more for each body (RFC 3264 §8).
    sdp_version: u32,
    /// Responses we sent, by (Call-ID, CSeq), for retransmitted requests.
    answered: HashMap<(String, String), Vec<u8>>,
    /// Everything seen and sent, for failure reports.
    pub log: String,
}

impl Ua {
    /// A phone on a fresh port.
    pub fn new(user: &str, server: SocketAddr) -> Ua {
        Self::bind(user, server, ([127, 0, 0, 1], 0).into())
    }

    /// A phone on a given address (a trunk's, say).
    pub fn bind(user: &str, server: SocketAddr, at: SocketAddr) -> Ua {
        let sock = UdpSocket::bind(at).unwrap_or_else(|e| panic!("bind {at}: {e}"));
        let rtp = UdpSocket::bind("127.0.0.1:0").expect("bind RTP");
        Ua {
            user: user.to_string(),
            sock,
            server,
            rtp,
            sdp_version: 0,
            answered: HashMap::new(),
            log: String::new(),
        }
    }

    pub fn local(&self) -> SocketAddr {
        self.sock.local_addr().expect("local addr")
    }

    pub fn contact(&self) -> String {
        format!("sip:{}@{}", self.user, self.local())
    }

    fn send_bytes(&mut self, bytes: &[u8]) {
        let _ = writeln!(self.log, ">>> sent\n{}", String::from_utf8_lossy(bytes));
        self.sock.send_to(bytes, self.server).expect("send");
    }

    /// An SDP body: PCMU at our RTP port, `direction` given.
    pub fn sdp(&mut self, direction: &str) -> String {
        let rtp = self.rtp.local_addr().expect("rtp addr");
        self.sdp_version += 1;
        format!(
            "v=0\r\no={u} 1 {v} IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
             m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na={direction}\r\n",
            u = self.user,
            v = self.sdp_version,
            ip = rtp.ip(),
            port = rtp.port()
        )
    }

    /// The answer's direction to an offer's (RFC 6337 §5.1).
    fn answer_direction(offer: &str) -> &'static str {
        if offer.contains("a=sendonly") {
            "recvonly"
        } else if offer.contains("a=inactive") || offer.contains("a=recvonly") {
            "inactive"
        } else {
            "sendrecv"
        }
    }

    /// Answers a request: status, our tag on To when it has none, extra headers, an
    /// SDP or other body (`content_type`).
    pub fn respond(
        &mut self,
        req: &Msg,
        status: u16,
        reason: &str,
        extra: &[String],
        body: Option<(&str, &str)>,
    ) {
        self.respond_tagged(req, status, reason, None, extra, body);
    }

    fn respond_tagged(
        &mut self,
        req: &Msg,
        status: u16,
        reason: &str,
        tag: Option<&str>,
        extra: &[String],
        body: Option<(&str, &str)>,
    ) {
        let mut m = format!("SIP/2.0 {status} {reason}\r\n");
        for via in req.all("via") {
            let _ = write!(m, "Via: {via}\r\n");
        }
        let to = req.header("to").unwrap_or("");
        let to = match (req.to_tag(), tag) {
            (None, Some(t)) => format!("{to};tag={t}"),
            (None, None) if status > 100 => format!("{to};tag={}", unique("ua")),
            _ => to.to_string(),
        };
        let _ = write!(
            m,
            "From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\nContact: <{}>\r\n",
            req.header("from").unwrap_or(""),
            req.call_id(),
            req.cseq(),
            self.contact()
        );
        for h in extra {
            let _ = write!(m, "{h}\r\n");
        }
        let (ct, body) = body.unwrap_or(("", ""));
        if !body.is_empty() {
            let _ = write!(m, "Content-Type: {ct}\r\n");
        }
        let _ = write!(m, "Content-Length: {}\r\n\r\n{body}", body.len());
        let bytes = m.into_bytes();
        self.answered.insert(
            (req.call_id().to_string(), req.cseq().to_string()),
            bytes.clone(),
        );
        self.send_bytes(&bytes);
    }

    fn recv(&mut self, limit: Duration) -> Option<Msg> {
        let mut buf = vec![0u8; 65_535];
        self.sock
            .set_read_timeout(Some(limit.max(Duration::from_millis(1))))
            .ok()?;
        let (n, _) = self.sock.recv_from(&mut buf).ok()?;
        let _ = writeln!(
            self.log,
            "<<< received\n{}",
            String::from_utf8_lossy(&buf[..n])
        );
        Msg::parse(&buf[..n])
    }

    /// The next message `want` accepts, within `limit`; requests it does not accept
    /// are answered as a phone would (see the module doc), responses it does not
    /// accept are dropped.
    pub fn wait_for(&mut self, limit: Duration, mut want: impl FnMut(&Msg) -> bool) -> Option<Msg> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let Some(msg) = self.recv(left) else {
                continue;
            };
            let key = (msg.call_id().to_string(), msg.cseq().to_string());
            if msg.method().is_some() && msg.method() != Some("ACK") {
                if let Some(again) = self.answered.get(&key).cloned() {
                    self.send_bytes(&again);
                    continue;
                }
            }
            if want(&msg) {
                return Some(msg);
            }
            self.answer_by_default(&msg);
        }
    }

    /// The next request with `method`, within `limit`.
    pub fn request(&mut self, method: &str, limit: Duration) -> Option<Msg> {
        self.wait_for(limit, |m| m.method() == Some(method))
    }

    /// Keeps answering whatever comes for `time`.
    pub fn serve(&mut self, time: Duration) {
        self.wait_for(time, |_| false);
    }

    fn answer_by_default(&mut self, msg: &Msg) {
        match msg.method() {
            None | Some("ACK") => {}
            Some("INVITE") if msg.to_tag().is_some() => {
                let sdp = self.sdp(Self::answer_direction(&msg.body));
                self.respond(msg, 200, "OK", &[], Some(("application/sdp", &sdp)));
            }
            Some("INVITE") => self.respond(msg, 486, "Busy Here", &[], None),
            Some(_) => self.respond(msg, 200, "OK", &[], None),
        }
    }

    /// Sends `req` (full text without Content-Length handling: the caller wrote it)
    /// every 500 ms until a response with its branch comes; returns the final one.
    fn transact(&mut self, bytes: &[u8], branch: &str, limit: Duration) -> Option<Msg> {
        let deadline = Instant::now() + limit;
        let mut provisional = false;
        while Instant::now() < deadline {
            if !provisional {
                self.send_bytes(bytes);
            }
            let wait = deadline
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(500));
            let got = self.wait_for(wait, |m| m.status().is_some() && m.branch() == Some(branch));
            match got {
                Some(r) if r.status() >= Some(200) => return Some(r),
                Some(_) => provisional = true,
                None => {}
            }
        }
        None
    }

    #[allow(clippy::too_many_arguments)]
    fn request_text(
        &self,
        method: &str,
        uri: &str,
        branch: &str,
        from: &str,
        to: &str,
        call_id: &str,
        cseq: u32,
        extra: &[String],
        body: Option<(&str, &str)>,
    ) -> Vec<u8> {
        let mut m = format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\nContact: <{contact}>\r\n",
            local = self.local(),
            contact = self.contact(),
        );
        for h in extra {
            let _ = write!(m, "{h}\r\n");
        }
        let (ct, body) = body.unwrap_or(("", ""));
        if !body.is_empty() {
            let _ = write!(m, "Content-Type: {ct}\r\n");
        }
        let _ = write!(m, "Content-Length: {}\r\n\r\n{body}", body.len());
        m.into_bytes()
    }

    /// REGISTER as `user` with `password` (digest, RFC 3261 §22); true on 200.
    pub fn register(&mut self, password: &str) -> bool {
        let uri = format!("sip:{}", self.server);
        let aor = format!("<sip:{}@{}>", self.user, self.server.ip());
        let call_id = unique("reg-");
        let from = format!("{aor};tag={}", unique("rt"));
        let mut auth = Vec::new();
        for cseq in 1..=2 {
            let mut extra = vec!["Expires: 300".to_string()];
            extra.extend(auth.clone());
            let branch = super::rawsip::branch();
            let bytes = self.request_text(
                "REGISTER", &uri, &branch, &from, &aor, &call_id, cseq, &extra, None,
            );
            let Some(r) = self.transact(&bytes, &branch, Duration::from_secs(5)) else {
                return false;
            };
            match r.status() {
                Some(200) => return true,
                Some(401) => {
                    let challenge = r
                        .header("www-authenticate")
                        .and_then(|c| sotto_sip::auth::Challenge::parse(c).ok());
                    let Some(challenge) = challenge else {
                        return false;
                    };
                    let Ok(creds) =
                        challenge.respond(&self.user, password, "REGISTER", &uri, "0a4f113b", 1)
                    else {
                        return false;
                    };
                    auth = vec![format!("Authorization: {creds}")];
                }
                _ => return false,
            }
        }
        false
    }

    /// Places a call to `uri` (SDP offer, `extra` headers such as Replaces); on 2xx
    /// sends the ACK and returns the dialog, else the final response's status.
    pub fn invite(&mut self, uri: &str, extra: &[String]) -> Result<Dialog, Option<u16>> {
        let call_id = unique("ua-call-");
        let local_tag = unique("ut");
        let local_uri = self.contact();
        let from = format!("<{local_uri}>;tag={local_tag}");
        let to = format!("<{uri}>");
        let branch = super::rawsip::branch();
        let sdp = self.sdp("sendrecv");
        let bytes = self.request_text(
            "INVITE",
            uri,
            &branch,
            &from,
            &to,
            &call_id,
            1,
            extra,
            Some(("application/sdp", &sdp)),
        );
        let r = self
            .transact(&bytes, &branch, Duration::from_secs(10))
            .ok_or(None)?;
        let status = r.status().unwrap_or(0);
        if !(200..300).contains(&status) {
            // The transaction layer ACKs a failure; sotto stops retransmitting.
            let ack = self.request_text(
                "ACK",
                uri,
                &branch,
                &from,
                r.header("to").unwrap_or(&to),
                &call_id,
                1,
                &[],
                None,
            );
            self.send_bytes(&ack);
            return Err(Some(status));
        }
        let dialog = Dialog {
            call_id,
            local_tag,
            remote_tag: r.to_tag().unwrap_or("").to_string(),
            local_uri,
            remote_uri: uri.to_string(),
            remote_target: r.uri_of("contact").unwrap_or(uri).to_string(),
            cseq: 1,
        };
        self.ack(&dialog);
        Ok(dialog)
    }

    fn ack(&mut self, d: &Dialog) {
        let (from, to) = self.addresses(d);
        let branch = super::rawsip::branch();
        let bytes = self.request_text(
            "ACK",
            &d.remote_target,
            &branch,
            &from,
            &to,
            &d.call_id,
            d.cseq,
            &[],
            None,
        );
        self.send_bytes(&bytes);
    }

    fn addresses(&self, d: &Dialog) -> (String, String) {
        (
            format!("<{}>;tag={}", d.local_uri, d.local_tag),
            format!("<{}>;tag={}", d.remote_uri, d.remote_tag),
        )
    }

    /// Waits for an INVITE (a new call) and answers it 200 with SDP; waits for the ACK.
    pub fn answer(&mut self, limit: Duration) -> Option<Dialog> {
        let invite = self.wait_for(limit, |m| {
            m.method() == Some("INVITE") && m.to_tag().is_none()
        })?;
        let local_tag = unique("ut");
        let sdp = self.sdp(Self::answer_direction(&invite.body));
        self.respond_tagged(
            &invite,
            200,
            "OK",
            Some(&local_tag),
            &[],
            Some(("application/sdp", &sdp)),
        );
        let call_id = invite.call_id().to_string();
        let acked = self.wait_for(Duration::from_secs(5), |m| {
            m.method() == Some("ACK") && m.call_id() == call_id
        });
        acked?;
        Some(Dialog {
            call_id,
            local_tag,
            remote_tag: invite.tag_of_from().unwrap_or("").to_string(),
            local_uri: invite.uri_of("to").unwrap_or("").to_string(),
            remote_uri: invite.uri_of("from").unwrap_or("").to_string(),
            remote_target: invite.uri_of("contact").unwrap_or("").to_string(),
            cseq: 0,
        })
    }

    /// A non-INVITE request in a dialog (REFER, BYE, NOTIFY…); its final response.
    pub fn in_dialog(
        &mut self,
        d: &mut Dialog,
        method: &str,
        extra: &[String],
        body: Option<(&str, &str)>,
    ) -> Option<Msg> {
        d.cseq += 1;
        let (from, to) = self.addresses(d);
        let branch = super::rawsip::branch();
        let bytes = self.request_text(
            method,
            &d.remote_target,
            &branch,
            &from,
            &to,
            &d.call_id,
            d.cseq,
            extra,
            body,
        );
        self.transact(&bytes, &branch, Duration::from_secs(10))
    }
}
