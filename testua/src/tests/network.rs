//! The network itself: an endpoint the test drives by hand, an endpoint the test owns
//! as a [`Node`], and the bounds on loops that do not end.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rsip::{Header, Method};
use sotto_sip::dialog::{Dialog, Tag};
use sotto_sip::endpoint::{make_response, unsent_via, Endpoint, EndpointConfig, Event, Peer};
use sotto_sip::transaction::{Timers, Transport};

use super::{addr, alice_and_bob, uri};
use crate::{AnswerMode, CallState, Net, Node, PhoneConfig};

fn endpoint(at: SocketAddr) -> Endpoint {
    let config = EndpointConfig {
        timers: Timers::default(),
        via_host: at.to_string(),
        user_agent: Some("sut".into()),
        allow: "INVITE, ACK, BYE, CANCEL".into(),
    };
    Endpoint::new(config, 99)
}

/// A minimal system under test: answers an INVITE 200 with SDP, keeps the dialog,
/// answers BYE, and can hang up itself.
struct AutoAnswer {
    addr: SocketAddr,
    ep: Endpoint,
    dialog: Option<(Dialog, Peer)>,
    seen: Vec<Method>,
}

impl AutoAnswer {
    fn new(at: SocketAddr) -> Self {
        AutoAnswer {
            addr: at,
            ep: endpoint(at),
            dialog: None,
            seen: Vec::new(),
        }
    }

    fn hang_up(&mut self, now: Instant) {
        let (dialog, peer) = self.dialog.as_mut().expect("a call");
        let bye = dialog.create_request(Method::Bye, unsent_via()).unwrap();
        self.ep.send_request(now, bye, *peer);
    }
}

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.50\r\ns=-\r\nc=IN IP4 127.0.0.50\r\n\
    t=0 0\r\nm=audio 30000 RTP/AVP 0\r\na=sendrecv\r\n";

impl Node for AutoAnswer {
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
        match event {
            Event::Request { tx, request, peer } => {
                self.seen.push(request.method);
                let mut resp = make_response(&request, 200, Some("sut-tag"));
                if request.method == Method::Invite {
                    let contact = rsip::typed::Contact {
                        display_name: None,
                        uri: sotto_sip::message::parse_uri(&format!("sip:sut@{}", self.addr))
                            .unwrap(),
                        params: vec![],
                    };
                    resp.headers
                        .push(Header::Contact(contact.to_string().into()));
                    resp.headers
                        .push(Header::ContentType("application/sdp".into()));
                    resp.body = SDP.as_bytes().to_vec();
                    let mut d = Dialog::from_uas(&request, Tag::new("sut-tag"), contact).unwrap();
                    let _ = d.on_response_sent(&resp);
                    self.dialog = Some((d, peer));
                }
                self.ep.respond(now, tx, resp);
            }
            Event::Ack { request, .. } => {
                self.seen.push(request.method);
                if let Some((d, _)) = self.dialog.as_mut() {
                    let _ = d.on_request(&request, &mut || 0);
                }
            }
            _ => {}
        }
    }
}

#[test]
fn phone_calls_an_endpoint_the_test_owns() {
    let mut net = Net::new();
    let alice = net.add_phone(PhoneConfig::new("alice", addr(1)).proxy(addr(50)));
    let mut sut = AutoAnswer::new(addr(50));
    // The Request-URI names no address: the phone's proxy decides.
    let call = net[alice].call("sip:queue@example.com", true);
    net.settle_with(&mut [&mut sut]);
    assert_eq!(net[alice].get(call).state(), CallState::Confirmed);
    assert_eq!(sut.seen, [Method::Invite, Method::Ack]);

    sut.hang_up(net.now());
    net.settle_with(&mut [&mut sut]);
    assert_eq!(
        net[alice].get(call).state(),
        CallState::Terminated { by_peer: true }
    );
    assert_eq!(net[alice].get(call).requests(), [Method::Bye]);
}

#[test]
fn datagrams_wait_for_a_node_that_was_not_in_the_step() {
    let mut net = Net::new();
    let alice = net.add_phone(PhoneConfig::new("alice", addr(1)));
    let mut sut = AutoAnswer::new(addr(50));
    let call = net[alice].call(&uri("sut", 50), true);
    net.settle();
    assert_eq!(net.pending_for(sut.addr), 1);
    net.settle_with(&mut [&mut sut]);
    assert_eq!(net.pending_for(sut.addr), 0);
    assert_eq!(net[alice].get(call).state(), CallState::Confirmed);
}

#[test]
fn an_endpoint_can_be_driven_by_hand() {
    let mut net = Net::new();
    let bob = net.add_phone(PhoneConfig::new("bob", addr(2)));
    let sut_addr = addr(50);
    let mut sut = AutoAnswer::new(sut_addr);
    // The loop a test writes without the Node trait.
    let invite = format!(
        "INVITE {} SIP/2.0\r\nVia: SIP/2.0/UDP {sut_addr};branch=z9hG4bKhand1\r\n\
         Max-Forwards: 70\r\nFrom: <sip:sut@{sut_addr}>;tag=h1\r\nTo: <{}>\r\n\
         Call-ID: hand-1\r\nCSeq: 1 INVITE\r\nContact: <sip:sut@{sut_addr}>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
        uri("bob", 2),
        uri("bob", 2),
        SDP.len()
    );
    let request = match sotto_sip::message::parse_datagram(invite.as_bytes()).unwrap() {
        rsip::SipMessage::Request(r) => r,
        _ => unreachable!(),
    };
    let peer = Peer {
        addr: addr(2),
        transport: Transport::Udp,
    };
    let tx = sut.ep.send_request(net.now(), request.clone(), peer);
    let mut ok = None;
    for round in 0.. {
        assert!(round < 100, "did not settle");
        let mut moved = net.step();
        while let Some(t) = sut.ep.poll_transmit() {
            net.route(sut_addr, t);
            moved = true;
        }
        for d in net.take_for(sut_addr) {
            sut.ep.handle_datagram(net.now(), d.peer(), &d.bytes);
            moved = true;
        }
        while let Some(event) = sut.ep.poll_event() {
            if let Event::Response { response, .. } = event {
                if response.status_code.code() == 200 && ok.is_none() {
                    let d = Dialog::from_uac(&request, &response).unwrap();
                    sut.ep.ack_2xx(tx, d.create_ack(1, unsent_via()), peer);
                    ok = Some(d);
                }
            }
            moved = true;
        }
        if !moved {
            break;
        }
    }
    assert!(ok.is_some());
    let at_bob = net[bob].last_incoming().unwrap();
    assert_eq!(net[bob].get(at_bob).state(), CallState::Confirmed);
    assert_eq!(
        net[bob].get(at_bob).requests(),
        [Method::Invite, Method::Ack]
    );
}

#[test]
fn malformed_datagrams_are_answered_by_the_endpoint() {
    let (mut net, alice, _bob) = alice_and_bob(AnswerMode::Answer);
    let stranger = addr(9);
    net.send_raw(
        stranger,
        alice,
        "OPTIONS sip:alice@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.9;branch=z9hG4bKx\r\n\
         From: <sip:x@y>;tag=1\r\nTo: <sip:alice@127.0.0.1>\r\nCall-ID: bad\r\n\
         CSeq: x OPTIONS\r\nMax-Forwards: 70\r\n\r\n",
    );
    net.settle();
    let answers = net.take_for(stranger);
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].status(), Some(400));
    assert!(net[alice].requests().is_empty());
}

/// Sends itself an OPTIONS for every OPTIONS it gets: never quiet.
struct Chatterbox {
    ep: Endpoint,
}

impl Node for Chatterbox {
    fn addr(&self) -> SocketAddr {
        addr(60)
    }

    fn endpoint(&self) -> &Endpoint {
        &self.ep
    }

    fn endpoint_mut(&mut self) -> &mut Endpoint {
        &mut self.ep
    }

    fn on_event(&mut self, now: Instant, event: Event) {
        if let Event::Request { tx, request, .. } = event {
            let ok = make_response(&request, 200, Some("c"));
            self.ep.respond(now, tx, ok);
            let mut again = request.clone();
            again.headers.retain(|h| !matches!(h, Header::CallId(_)));
            again
                .headers
                .push(Header::CallId(self.ep.random_token().into()));
            let me = Peer {
                addr: self.addr(),
                transport: Transport::Udp,
            };
            self.ep.send_request(now, again, me);
        }
    }
}

#[test]
#[should_panic(expected = "did not settle")]
fn a_network_that_never_settles_panics() {
    let mut net = Net::new();
    net.set_round_limit(50);
    let mut c = Chatterbox {
        ep: endpoint(addr(60)),
    };
    net.send_raw(
        addr(61),
        addr(60),
        "OPTIONS sip:c@127.0.0.60 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.60:5060;branch=z9hG4bKc\r\n\
         Max-Forwards: 70\r\nFrom: <sip:c@127.0.0.60>;tag=1\r\nTo: <sip:c@127.0.0.60>\r\n\
         Call-ID: c0\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
    );
    net.settle_with(&mut [&mut c]);
}

/// A transaction user whose timer is always due.
struct StuckTimer {
    ep: Endpoint,
    due: Instant,
}

impl Node for StuckTimer {
    fn addr(&self) -> SocketAddr {
        addr(70)
    }

    fn endpoint(&self) -> &Endpoint {
        &self.ep
    }

    fn endpoint_mut(&mut self) -> &mut Endpoint {
        &mut self.ep
    }

    fn on_event(&mut self, _now: Instant, _event: Event) {}

    fn poll_timeout(&self) -> Option<Instant> {
        Some(self.due)
    }
}

#[test]
#[should_panic(expected = "a timer does not clear")]
fn a_timer_that_never_clears_panics() {
    let mut net = Net::new();
    let mut stuck = StuckTimer {
        ep: endpoint(addr(70)),
        due: net.now() + Duration::from_secs(1),
    };
    net.advance_with(Duration::from_secs(2), &mut [&mut stuck]);
}

#[test]
fn advance_until_stops_when_the_condition_holds() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::AnswerAfter(Duration::from_millis(1500)));
    let call = net[alice].call(&uri("bob", 2), true);
    let answered = net.advance_until(Duration::from_secs(10), Duration::from_millis(100), |n| {
        n[alice].get(call).state() == CallState::Confirmed
    });
    assert!(answered);
    assert_eq!(net.elapsed(), Duration::from_millis(1500));
    assert!(net[bob].last_incoming().is_some());
}

/// A transaction user with a timer of its own: calls `target` at `at` and ACKs the 2xx.
struct Dialer {
    at: Option<Instant>,
    target: String,
    peer: Peer,
    invite: Option<(sotto_sip::endpoint::ClientTxId, rsip::Request)>,
    codes: Vec<u16>,
}

fn dialer_event(d: &mut Dialer, _now: Instant, event: Event, ep: &mut Endpoint) {
    let Event::Response { tx, response } = event else {
        return;
    };
    let code = response.status_code.code();
    d.codes.push(code);
    if let (200..=299, Some((_, invite))) = (code, d.invite.as_ref()) {
        let dialog = Dialog::from_uac(invite, &response).unwrap();
        ep.ack_2xx(tx, dialog.create_ack(1, unsent_via()), d.peer);
    }
}

fn dialer_timeout(d: &mut Dialer, now: Instant, ep: &mut Endpoint) {
    if d.at.is_none_or(|t| t > now) {
        return;
    }
    d.at = None;
    let text = format!(
        "INVITE {t} SIP/2.0\r\nVia: SIP/2.0/UDP x;branch=z9hG4bKd\r\nMax-Forwards: 70\r\n\
         From: <sip:dialer@127.0.0.50>;tag=d1\r\nTo: <{t}>\r\nCall-ID: dial-1\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:dialer@127.0.0.50:5060>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
        SDP.len(),
        t = d.target
    );
    let rsip::SipMessage::Request(invite) =
        sotto_sip::message::parse_datagram(text.as_bytes()).unwrap()
    else {
        unreachable!()
    };
    let tx = ep.send_request(now, invite.clone(), d.peer);
    d.invite = Some((tx, invite));
}

#[test]
fn sut_adapter_drives_a_transaction_user_and_its_timers() {
    let mut net = Net::new();
    let bob = net.add_phone(PhoneConfig::new("bob", addr(2)));
    let dialer = Dialer {
        at: Some(net.now() + Duration::from_secs(5)),
        target: uri("bob", 2),
        peer: Peer {
            addr: addr(2),
            transport: Transport::Udp,
        },
        invite: None,
        codes: Vec::new(),
    };
    let mut sut = crate::Sut::new(addr(50), endpoint(addr(50)), dialer, dialer_event)
        .with_timers(dialer_timeout, |d| d.at);
    net.advance_with(Duration::from_secs(4), &mut [&mut sut]);
    assert!(net[bob].calls().is_empty());
    net.advance_with(Duration::from_secs(1), &mut [&mut sut]);
    assert_eq!(sut.tu.codes, [180, 200]);
    let at_bob = net[bob].last_incoming().unwrap();
    assert_eq!(net[bob].get(at_bob).state(), CallState::Confirmed);
    assert_eq!(
        net[bob].get(at_bob).requests(),
        [Method::Invite, Method::Ack]
    );
    // The test acts on the system under test between steps.
    let pending = sut.act(|_, ep| ep.has_pending_requests());
    assert!(!pending);
}
