//! REGISTER with digest authentication (RFC 3261 §10, §22).

use std::net::SocketAddr;

use rsip::prelude::UntypedHeader;
use rsip::{Header, Method, Request, Response};
use sotto_sip::auth::Challenge;
use sotto_sip::endpoint::{unsent_via, Peer};
use sotto_sip::transaction::Transport;

use super::{ClientTx, Phone, TxKind};

/// How long we ask a binding to last.
const EXPIRES: u32 = 300;

/// Where a registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationState {
    /// A REGISTER is on its way (or its challenge is being answered).
    Pending,
    /// The registrar answered 2xx (to a REGISTER with `Expires: 0` too: see
    /// [`Registration::expires`]).
    Registered,
    /// The registrar refused with this status, or challenged credentials it had just
    /// been given (401/407 again), or did not answer (408).
    Failed(u16),
}

/// One phone's registration with one registrar.
#[derive(Debug, Clone)]
pub struct Registration {
    user: String,
    password: String,
    registrar: SocketAddr,
    uri: rsip::Uri,
    call_id: String,
    from_tag: String,
    cseq: u32,
    expires: u32,
    /// The REGISTER in flight carries credentials.
    with_credentials: bool,
    state: RegistrationState,
    codes: Vec<u16>,
}

impl Registration {
    /// Where it stands.
    pub fn state(&self) -> RegistrationState {
        self.state
    }

    /// Every response code the REGISTERs got, in order (401 challenges included).
    pub fn codes(&self) -> &[u16] {
        &self.codes
    }

    /// The user registered (auth user and AOR user).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The registrar's address.
    pub fn registrar(&self) -> SocketAddr {
        self.registrar
    }

    /// The Expires of the last REGISTER (0 after [`Phone::unregister`]).
    pub fn expires(&self) -> u32 {
        self.expires
    }
}

impl Phone {
    /// REGISTERs `user` (AOR `sip:user@<domain>`, our Contact) with the registrar at
    /// `registrar`, answering a 401/407 digest challenge with `password`.
    /// [`Phone::registration`] follows it.
    pub fn register(&mut self, user: &str, password: &str, registrar: SocketAddr) {
        let uri = sotto_sip::message::parse_uri(&format!("sip:{registrar}"))
            .expect("a socket address makes a SIP URI");
        let call_id = format!("{}@{}", self.token(), self.cfg.addr.ip());
        let from_tag = self.token();
        self.registration = Some(Registration {
            user: user.into(),
            password: password.into(),
            registrar,
            uri,
            call_id,
            from_tag,
            cseq: 0,
            expires: EXPIRES,
            with_credentials: false,
            state: RegistrationState::Pending,
            codes: Vec::new(),
        });
        self.send_register(None);
    }

    /// Removes our binding (REGISTER with `Expires: 0`, same Call-ID). Panics without
    /// a [`Phone::register`] before.
    pub fn unregister(&mut self) {
        let reg = self
            .registration
            .as_mut()
            .expect("unregister needs a register first");
        reg.expires = 0;
        reg.state = RegistrationState::Pending;
        self.send_register(None);
    }

    fn send_register(&mut self, authorization: Option<Header>) {
        let domain = self.domain();
        let contact = self.contact_header();
        let Some(reg) = self.registration.as_mut() else {
            return;
        };
        reg.cseq += 1;
        reg.with_credentials = authorization.is_some();
        let aor = format!("<sip:{}@{domain}>", reg.user);
        let mut headers = rsip::Headers::default();
        headers.push(Header::Via(unsent_via()));
        headers.push(Header::MaxForwards(70.into()));
        headers.push(Header::From(format!("{aor};tag={}", reg.from_tag).into()));
        headers.push(Header::To(aor.into()));
        headers.push(Header::CallId(reg.call_id.clone().into()));
        headers.push(Header::CSeq(format!("{} REGISTER", reg.cseq).into()));
        headers.push(contact);
        headers.push(Header::Expires(reg.expires.into()));
        headers.extend(authorization.into_iter().collect());
        let request = Request {
            method: Method::Register,
            uri: reg.uri.clone(),
            version: rsip::Version::V2,
            headers,
            body: Vec::new(),
        };
        let peer = Peer {
            addr: reg.registrar,
            transport: Transport::Udp,
        };
        let tx = self.ep.send_request(self.now, request, peer);
        self.client_txs.insert(
            tx,
            ClientTx {
                call: None,
                kind: TxKind::Register,
            },
        );
    }

    pub(super) fn on_register_response(&mut self, response: &Response) {
        let code = response.status_code.code();
        let cnonce = self.token();
        let Some(reg) = self.registration.as_mut() else {
            return;
        };
        reg.codes.push(code);
        let authorization = match code {
            100..=199 => return,
            200..=299 => {
                reg.state = RegistrationState::Registered;
                return;
            }
            401 | 407 => {
                let challenge = response.headers.iter().find_map(|h| match h {
                    Header::WwwAuthenticate(v) if code == 401 => Challenge::parse(v.value()).ok(),
                    Header::ProxyAuthenticate(v) if code == 407 => Challenge::parse(v.value()).ok(),
                    _ => None,
                });
                // Challenged again right after our credentials: they are wrong, unless
                // the nonce was only stale.
                let usable = challenge.filter(|c| !reg.with_credentials || c.stale);
                let Some(challenge) = usable else {
                    reg.state = RegistrationState::Failed(code);
                    return;
                };
                let creds = challenge.respond(
                    &reg.user,
                    &reg.password,
                    "REGISTER",
                    &reg.uri.to_string(),
                    &cnonce,
                    1,
                );
                let Ok(creds) = creds else {
                    reg.state = RegistrationState::Failed(code);
                    return;
                };
                if code == 401 {
                    Header::Authorization(creds.to_string().into())
                } else {
                    Header::ProxyAuthorization(creds.to_string().into())
                }
            }
            _ => {
                reg.state = RegistrationState::Failed(code);
                return;
            }
        };
        self.send_register(Some(authorization));
    }

    pub(super) fn on_register_timeout(&mut self) {
        if let Some(reg) = self.registration.as_mut() {
            reg.state = RegistrationState::Failed(408);
        }
    }
}
