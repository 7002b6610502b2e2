//! Any SIP message (request or response) as text: start line, headers in
//! order (compact forms expanded, RFC 3261 §7.3.3), body. Enough for the
//! test phone ([`super::phone`]).

/// SDP direction attributes (RFC 4566 §6, RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Dir {
    pub fn as_str(self) -> &'static str {
        match self {
            Dir::SendRecv => "sendrecv",
            Dir::SendOnly => "sendonly",
            Dir::RecvOnly => "recvonly",
            Dir::Inactive => "inactive",
        }
    }
}

/// The audio stream's direction: media-level attribute, else session-level,
/// else sendrecv (RFC 3264 §5.1). A hold may also be `c=0.0.0.0` (RFC 2543):
/// reported as inactive.
pub fn sdp_direction(body: &[u8]) -> Dir {
    let text = String::from_utf8_lossy(body);
    let (mut session, mut media, mut in_media) = (None, None, false);
    let mut zero_addr = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with("m=") {
            in_media = true;
        }
        if line.starts_with("c=IN IP4 0.0.0.0") {
            zero_addr = true;
        }
        let dir = match line {
            "a=sendrecv" => Some(Dir::SendRecv),
            "a=sendonly" => Some(Dir::SendOnly),
            "a=recvonly" => Some(Dir::RecvOnly),
            "a=inactive" => Some(Dir::Inactive),
            _ => None,
        };
        if let Some(d) = dir {
            if in_media {
                media = Some(d);
            } else {
                session = Some(d);
            }
        }
    }
    match media.or(session) {
        Some(d) => d,
        None if zero_addr => Dir::Inactive,
        None => Dir::SendRecv,
    }
}

/// A header value without its `;tag=…` parameter.
pub fn strip_tag(v: &str) -> String {
    let lower = v.to_ascii_lowercase();
    match lower.find(";tag=") {
        Some(i) => {
            let rest = &v[i + 5..];
            let end = rest.find(';').map_or(v.len(), |e| i + 5 + e);
            format!("{}{}", &v[..i], &v[end..])
        }
        None => v.to_string(),
    }
}

fn long_name(name: &str) -> String {
    let n = name.trim().to_ascii_lowercase();
    match n.as_str() {
        "i" => "call-id".into(),
        "v" => "via".into(),
        "f" => "from".into(),
        "t" => "to".into(),
        "m" => "contact".into(),
        "l" => "content-length".into(),
        "c" => "content-type".into(),
        _ => n,
    }
}

#[derive(Debug, Clone)]
pub struct Msg {
    pub start: String,
    /// Lower-case long names, values trimmed.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Msg {
    pub fn parse(raw: &[u8]) -> Option<Msg> {
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = std::str::from_utf8(&raw[..split]).ok()?;
        let mut lines = head.split("\r\n");
        let start = lines.next()?.to_string();
        let mut headers: Vec<(String, String)> = Vec::new();
        for l in lines {
            if l.starts_with([' ', '\t']) {
                if let Some(last) = headers.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(l.trim());
                }
                continue;
            }
            let Some((n, v)) = l.split_once(':') else {
                continue;
            };
            let name = long_name(n);
            // Via and other list headers may carry several values on one line.
            if name == "via" {
                for part in v.split(',') {
                    headers.push((name.clone(), part.trim().to_string()));
                }
            } else {
                headers.push((name, v.trim().to_string()));
            }
        }
        let len = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(raw.len() - split - 4);
        let body = raw[split + 4..]
            .get(..len)
            .unwrap_or(&raw[split + 4..])
            .to_vec();
        Some(Msg {
            start,
            headers,
            body,
        })
    }

    pub fn is_request(&self) -> bool {
        !self.start.starts_with("SIP/2.0 ")
    }

    pub fn status(&self) -> Option<u16> {
        self.start.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok()
    }

    /// A request's method.
    pub fn method(&self) -> Option<&str> {
        if self.is_request() {
            self.start.split(' ').next()
        } else {
            None
        }
    }

    pub fn request_uri(&self) -> Option<&str> {
        if self.is_request() {
            self.start.split(' ').nth(1)
        } else {
            None
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        let name = long_name(name);
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        let name = long_name(name);
        self.headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn param<'a>(v: &'a str, name: &str) -> Option<&'a str> {
        let key = format!(";{name}=");
        let lower = v.to_ascii_lowercase();
        let start = lower.find(&key)? + key.len();
        let end = v[start..]
            .find([';', ',', '>', ' '])
            .map_or(v.len(), |e| e + start);
        Some(&v[start..end])
    }

    /// The `tag` of `From` or `To`.
    pub fn tag(&self, header: &str) -> Option<&str> {
        Self::param(self.header(header)?, "tag")
    }

    /// The top Via's branch.
    pub fn branch(&self) -> Option<&str> {
        Self::param(self.header("via")?, "branch")
    }

    pub fn cseq_number(&self) -> Option<u32> {
        self.header("cseq")?.split_whitespace().next()?.parse().ok()
    }

    pub fn cseq_method(&self) -> Option<&str> {
        self.header("cseq")?.split_whitespace().nth(1)
    }

    /// The URI in `Contact`, with or without angle brackets.
    pub fn contact_uri(&self) -> Option<String> {
        let c = self.header("contact")?;
        match (c.find('<'), c.find('>')) {
            (Some(s), Some(e)) if e > s => Some(c[s + 1..e].to_string()),
            _ => Some(c.split(';').next()?.trim().to_string()),
        }
    }

    pub fn text(&self) -> String {
        format!(
            "{}\r\n{}\r\n\r\n{}",
            self.start,
            self.headers
                .iter()
                .map(|(n, v)| format!("{n}: {v}"))
                .collect::<Vec<_>>()
                .join("\r\n"),
            String::from_utf8_lossy(&self.body)
        )
    }
}
