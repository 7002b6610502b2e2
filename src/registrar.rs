//! The registrar (RFC 3261 §10.3): agents' softphones REGISTER with digest
//! authentication; bindings expire, refresh, and can be removed one by one or
//! all at once (`Contact: *` with `Expires: 0`).

use rsip::prelude::UntypedHeader;
use rsip::{Header, Request};
use sotto_sip::endpoint::Peer;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// One contact bound to an address-of-record.
#[derive(Debug, Clone)]
pub struct Binding {
    /// The Contact URI as registered (e.g. `sip:agent1@127.0.0.1:5062`).
    pub contact: rsip::Uri,
    /// Where the REGISTER came from: requests to this binding go there (the
    /// softphone may sit behind a NAT its Contact does not know about).
    pub peer: Peer,
    pub expires_at: Instant,
    pub call_id: String,
    pub cseq: u32,
}

/// Limits from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ExpiryPolicy {
    pub min: u32,
    pub max: u32,
    pub default: u32,
}

/// Why a REGISTER was refused, as the response the registrar sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterOutcome {
    /// 200 OK with the current bindings (Contact values with expires).
    Ok(Vec<String>),
    /// 423 Interval Too Brief, with the Min-Expires to send.
    IntervalTooBrief(u32),
    /// 400 with a reason (bad Contact, `*` with other contacts, …).
    Bad(&'static str),
}

#[derive(Default)]
pub struct Registrar {
    bindings: HashMap<String, Vec<Binding>>,
}

impl Registrar {
    /// Live bindings of `user`, newest first.
    pub fn lookup(&self, user: &str, now: Instant) -> Vec<&Binding> {
        let mut v: Vec<&Binding> = self
            .bindings
            .get(user)
            .map(|b| b.iter().filter(|b| b.expires_at > now).collect())
            .unwrap_or_default();
        v.sort_by_key(|b| std::cmp::Reverse(b.expires_at));
        v
    }

    /// Every live binding, for the API.
    pub fn all(&self, now: Instant) -> Vec<(String, Binding)> {
        let mut out: Vec<(String, Binding)> = self
            .bindings
            .iter()
            .flat_map(|(aor, bs)| {
                bs.iter()
                    .filter(|b| b.expires_at > now)
                    .map(move |b| (aor.clone(), b.clone()))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Drops expired bindings.
    pub fn purge(&mut self, now: Instant) {
        self.bindings.retain(|_, bs| {
            bs.retain(|b| b.expires_at > now);
            !bs.is_empty()
        });
    }

    /// Applies an authenticated REGISTER for `user` (§10.3 steps 6–8).
    pub fn register(
        &mut self,
        now: Instant,
        user: &str,
        request: &Request,
        peer: Peer,
        policy: ExpiryPolicy,
    ) -> RegisterOutcome {
        let call_id = sotto_sip::message::call_id(request)
            .unwrap_or_default()
            .to_string();
        let cseq = sotto_sip::message::cseq(request).map_or(0, |c| c.0);
        let header_expires = request.headers.iter().find_map(|h| match h {
            Header::Expires(e) => e.value().trim().parse::<u32>().ok(),
            _ => None,
        });
        let contacts: Vec<&str> = request
            .headers
            .iter()
            .filter_map(|h| match h {
                Header::Contact(c) => Some(c.value()),
                _ => None,
            })
            .flat_map(split_contacts)
            .collect();

        if contacts.iter().any(|c| c.trim() == "*") {
            // §10.3 step 6: `*` only alone and only with Expires: 0.
            if contacts.len() != 1 || header_expires != Some(0) {
                return RegisterOutcome::Bad("Contact: * needs Expires: 0 and no other contact");
            }
            self.bindings.remove(user);
            return RegisterOutcome::Ok(Vec::new());
        }

        let mut parsed = Vec::with_capacity(contacts.len());
        for c in &contacts {
            let Some((uri, expires_param)) = parse_contact(c) else {
                return RegisterOutcome::Bad("unparseable Contact");
            };
            let expires = expires_param.or(header_expires).unwrap_or(policy.default);
            if expires != 0 && expires < policy.min {
                return RegisterOutcome::IntervalTooBrief(policy.min);
            }
            parsed.push((uri, expires.min(policy.max)));
        }

        let entry = self.bindings.entry(user.to_string()).or_default();
        for (uri, expires) in parsed {
            let existing = entry.iter().position(|b| same_contact(&b.contact, &uri));
            if let Some(i) = existing {
                // §10.3 step 7: an older request for the same Call-ID is ignored.
                if entry[i].call_id == call_id && entry[i].cseq > cseq {
                    continue;
                }
                if expires == 0 {
                    entry.remove(i);
                    continue;
                }
                entry[i] = Binding {
                    contact: uri,
                    peer,
                    expires_at: now + Duration::from_secs(expires.into()),
                    call_id: call_id.clone(),
                    cseq,
                };
            } else if expires > 0 {
                entry.push(Binding {
                    contact: uri,
                    peer,
                    expires_at: now + Duration::from_secs(expires.into()),
                    call_id: call_id.clone(),
                    cseq,
                });
            }
        }
        let current: Vec<String> = entry
            .iter()
            .filter(|b| b.expires_at > now)
            .map(|b| {
                let left = b.expires_at.saturating_duration_since(now).as_secs();
                format!("<{}>;expires={left}", b.contact)
            })
            .collect();
        if entry.is_empty() {
            self.bindings.remove(user);
        }
        RegisterOutcome::Ok(current)
    }
}

/// Splits a Contact header value on commas outside quotes and angle brackets.
fn split_contacts(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    let bytes = value.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' if i == 0 || bytes[i - 1] != b'\\' => quoted = !quoted,
            b'<' if !quoted => depth += 1,
            b'>' if !quoted => depth -= 1,
            b',' if !quoted && depth == 0 => {
                out.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(value[start..].trim());
    out.retain(|s| !s.is_empty());
    out
}

/// The URI and `expires` parameter of one Contact value.
fn parse_contact(value: &str) -> Option<(rsip::Uri, Option<u32>)> {
    let (uri_text, params) = match (value.find('<'), value.rfind('>')) {
        (Some(l), Some(r)) if l < r => (&value[l + 1..r], &value[r + 1..]),
        _ => match value.find(';') {
            Some(i) => (&value[..i], &value[i..]),
            None => (value, ""),
        },
    };
    let uri = rsip::Uri::try_from(uri_text.trim()).ok()?;
    let expires = params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("expires")
            .then(|| v.trim().trim_matches('"').parse().ok())
            .flatten()
    });
    Some((uri, expires))
}

/// §10.3 step 7 compares contact URIs by URI equality; scheme, user, host and
/// port are what matter for softphones.
fn same_contact(a: &rsip::Uri, b: &rsip::Uri) -> bool {
    a.scheme == b.scheme && a.auth == b.auth && a.host_with_port == b.host_with_port
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register(contact: &str, expires: Option<&str>, cseq: u32) -> Request {
        let mut text = format!(
            "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKr{cseq}\r\n\
From: <sip:agent1@127.0.0.1>;tag=a\r\nTo: <sip:agent1@127.0.0.1>\r\nCall-ID: reg-1\r\n\
CSeq: {cseq} REGISTER\r\nContact: {contact}\r\n"
        );
        if let Some(e) = expires {
            text.push_str(&format!("Expires: {e}\r\n"));
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        Request::try_from(text.as_str()).unwrap()
    }

    fn peer() -> Peer {
        Peer {
            addr: "127.0.0.1:5062".parse().unwrap(),
            transport: sotto_sip::transaction::Transport::Udp,
        }
    }

    const POLICY: ExpiryPolicy = ExpiryPolicy {
        min: 60,
        max: 3600,
        default: 3600,
    };

    #[test]
    fn bindings_expire_refresh_and_unregister() {
        let t0 = Instant::now();
        let mut r = Registrar::default();
        let out = r.register(
            t0,
            "agent1",
            &register("<sip:agent1@127.0.0.1:5062>", Some("120"), 1),
            peer(),
            POLICY,
        );
        assert_eq!(
            out,
            RegisterOutcome::Ok(vec!["<sip:agent1@127.0.0.1:5062>;expires=120".into()])
        );
        assert_eq!(r.lookup("agent1", t0 + Duration::from_secs(119)).len(), 1);
        assert!(r.lookup("agent1", t0 + Duration::from_secs(121)).is_empty());
        // Refresh pushes expiry out; a second contact adds a binding.
        r.register(
            t0 + Duration::from_secs(100),
            "agent1",
            &register("<sip:agent1@127.0.0.1:5062>", Some("120"), 2),
            peer(),
            POLICY,
        );
        r.register(
            t0 + Duration::from_secs(100),
            "agent1",
            &register("<sip:agent1@127.0.0.1:5070>;expires=300", None, 3),
            peer(),
            POLICY,
        );
        assert_eq!(r.lookup("agent1", t0 + Duration::from_secs(200)).len(), 2);
        // Expires: 0 on one contact removes just that one.
        r.register(
            t0 + Duration::from_secs(200),
            "agent1",
            &register("<sip:agent1@127.0.0.1:5062>", Some("0"), 4),
            peer(),
            POLICY,
        );
        assert_eq!(r.lookup("agent1", t0 + Duration::from_secs(200)).len(), 1);
        // `*` removes all.
        r.register(
            t0 + Duration::from_secs(200),
            "agent1",
            &register("*", Some("0"), 5),
            peer(),
            POLICY,
        );
        assert!(r.lookup("agent1", t0 + Duration::from_secs(200)).is_empty());
    }

    #[test]
    fn too_brief_and_star_misuse_are_refused() {
        let t0 = Instant::now();
        let mut r = Registrar::default();
        let out = r.register(
            t0,
            "agent1",
            &register("<sip:agent1@127.0.0.1:5062>", Some("10"), 1),
            peer(),
            POLICY,
        );
        assert_eq!(out, RegisterOutcome::IntervalTooBrief(60));
        let out = r.register(t0, "agent1", &register("*", Some("60"), 2), peer(), POLICY);
        assert!(matches!(out, RegisterOutcome::Bad(_)));
        assert!(r.lookup("agent1", t0).is_empty());
    }

    #[test]
    fn long_expiry_is_capped() {
        let t0 = Instant::now();
        let mut r = Registrar::default();
        r.register(
            t0,
            "agent1",
            &register("<sip:agent1@127.0.0.1:5062>", Some("99999"), 1),
            peer(),
            POLICY,
        );
        assert!(r
            .lookup("agent1", t0 + Duration::from_secs(3601))
            .is_empty());
    }
}
