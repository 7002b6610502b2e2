//! REGISTER with digest auth against a registrar stand-in the test owns (a [`Node`]
//! that is not a phone, as a system under test would be).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rsip::prelude::UntypedHeader;
use rsip::{Header, Method};
use sotto_sip::auth::{Account, Credentials, DigestServer, Secret, VerifyError};
use sotto_sip::endpoint::{make_response, Endpoint, EndpointConfig, Event};
use sotto_sip::transaction::Timers;

use super::addr;
use crate::{Net, Node, PhoneConfig, RegistrationState};

/// A registrar: challenges every REGISTER without good credentials (401), refuses a
/// wrong password (403), binds the Contact of the others (200).
struct Registrar {
    addr: SocketAddr,
    ep: Endpoint,
    digest: DigestServer,
    users: HashMap<String, String>,
    bindings: HashMap<String, String>,
    salt: u64,
    /// Pretend this many seconds passed since the nonces were minted.
    clock_secs: u64,
}

impl Registrar {
    fn new(addr: SocketAddr, users: &[(&str, &str)]) -> Self {
        let config = EndpointConfig {
            timers: Timers::default(),
            via_host: addr.to_string(),
            user_agent: Some("registrar".into()),
            allow: "REGISTER".into(),
        };
        Registrar {
            addr,
            ep: Endpoint::new(config, 7),
            digest: DigestServer::new("test", b"secret".to_vec()),
            users: users
                .iter()
                .map(|(u, p)| (u.to_string(), p.to_string()))
                .collect(),
            bindings: HashMap::new(),
            salt: 0,
            clock_secs: 1_000,
        }
    }
}

impl Node for Registrar {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn endpoint(&self) -> &Endpoint {
        &self.ep
    }

    fn endpoint_mut(&mut self) -> &mut Endpoint {
        &mut self.ep
    }

    fn on_event(&mut self, now: Instant, event: Event) {
        let Event::Request { tx, request, .. } = event else {
            return;
        };
        if request.method != Method::Register {
            let resp = make_response(&request, 405, Some("reg"));
            return self.ep.respond(now, tx, resp);
        }
        let creds = request.headers.iter().find_map(|h| match h {
            Header::Authorization(a) => Credentials::parse(a.value()).ok(),
            _ => None,
        });
        let verdict = creds.as_ref().map(|c| {
            let password = self.users.get(&c.username).cloned().unwrap_or_default();
            let account = Account {
                username: &c.username,
                secret: Secret::Password(&password),
            };
            let uri = request.uri.to_string();
            self.digest
                .verify(c, "REGISTER", &uri, account, self.clock_secs)
        });
        let mut resp = match verdict {
            Some(Ok(())) => {
                let contact = request.headers.iter().find_map(|h| match h {
                    Header::Contact(c) => Some(c.value().to_string()),
                    _ => None,
                });
                let mut ok = make_response(&request, 200, Some("reg"));
                if let (Some(c), Some(creds)) = (contact, creds) {
                    self.bindings.insert(creds.username, c.clone());
                    ok.headers.push(Header::Contact(c.into()));
                }
                ok
            }
            Some(Err(VerifyError::WrongResponse)) => make_response(&request, 403, Some("reg")),
            _ => {
                self.salt += 1;
                let challenge = self.digest.challenge(self.clock_secs, self.salt, false);
                let mut r = make_response(&request, 401, Some("reg"));
                r.headers
                    .push(Header::WwwAuthenticate(challenge.to_string().into()));
                r
            }
        };
        resp.headers.push(Header::Server("registrar".into()));
        self.ep.respond(now, tx, resp);
    }
}

#[test]
fn register_answers_the_digest_challenge() {
    let mut net = Net::new();
    let mut registrar = Registrar::new(addr(10), &[("alice", "s3cret")]);
    let alice = net.add_phone(PhoneConfig::new("alice", addr(1)).domain("example.com"));
    net[alice].register("alice", "s3cret", registrar.addr);
    net.settle_with(&mut [&mut registrar]);

    assert!(net[alice].is_registered());
    let reg = net[alice].registration().unwrap();
    assert_eq!(reg.codes(), [401, 200]);
    assert_eq!(
        registrar.bindings.get("alice").map(String::as_str),
        Some(format!("<{}>", net[alice].contact()).as_str())
    );
    // The second REGISTER continued the first: same Call-ID, next CSeq.
    let registers: Vec<String> = net
        .trace()
        .iter()
        .filter(|e| e.datagram.is_request("REGISTER"))
        .map(|e| e.datagram.text())
        .collect();
    assert_eq!(registers.len(), 2);
    assert!(registers[1].contains("CSeq: 2 REGISTER"));
    assert!(registers[1].contains("Authorization: Digest username=\"alice\""));

    net[alice].unregister();
    net.settle_with(&mut [&mut registrar]);
    let reg = net[alice].registration().unwrap();
    assert_eq!(reg.expires(), 0);
    assert_eq!(reg.codes(), [401, 200, 401, 200]);
}

#[test]
fn wrong_password_fails_registration() {
    let mut net = Net::new();
    let mut registrar = Registrar::new(addr(10), &[("alice", "s3cret")]);
    let alice = net.add_phone(PhoneConfig::new("alice", addr(1)));
    net[alice].register("alice", "guess", registrar.addr);
    net.settle_with(&mut [&mut registrar]);
    let reg = net[alice].registration().unwrap();
    assert_eq!(reg.state(), RegistrationState::Failed(403));
    assert_eq!(reg.codes(), [401, 403]);
}

#[test]
fn registrar_that_is_not_there_times_out() {
    let mut net = Net::new();
    let alice = net.add_phone(PhoneConfig::new("alice", addr(1)));
    net[alice].register("alice", "s3cret", addr(10));
    net.advance(Duration::from_secs(32));
    let reg = net[alice].registration().unwrap();
    assert_eq!(reg.state(), RegistrationState::Failed(408));
    // Timer E: 0, 0.5, 1.5, 3.5, 7.5, 11.5, …: every 4 s once T2 is reached.
    assert_eq!(net.take_for(addr(10)).len(), 11);
}
