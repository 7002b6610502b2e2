//! SIP handling benchmarks: parsing an INVITE, and one whole call
//! (INVITE → 200 → ACK → BYE → 200) through two sans-IO endpoints.
//!
//! `cargo bench --bench sip`

use criterion::{criterion_group, criterion_main, Criterion};
use rsip::{Header, Method, Request};
use sotto_sip::endpoint::{make_response, Endpoint, EndpointConfig, Event, Peer};
use sotto_sip::message::parse_datagram;
use sotto_sip::transaction::{Timers, Transport};
use std::hint::black_box;
use std::time::Instant;

const INVITE: &[u8] = b"INVITE sip:echo@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK-8142-1-0\r\n\
From: sipp <sip:sipp@127.0.0.1:5090>;tag=8142SIPpTag001\r\n\
To: echo <sip:echo@127.0.0.1:5060>\r\n\
Call-ID: 1-8142@127.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Contact: sip:sipp@127.0.0.1:5090\r\n\
Max-Forwards: 70\r\n\
Subject: Performance Test\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 129\r\n\
\r\n\
v=0\r\n\
o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 6012 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n";

fn parse_invite(c: &mut Criterion) {
    c.bench_function("sip/parse_invite", |b| {
        b.iter(|| parse_datagram(black_box(INVITE)).unwrap())
    });
}

fn endpoint(host: &str, seed: u64) -> Endpoint {
    Endpoint::new(
        EndpointConfig {
            timers: Timers::default(),
            via_host: host.into(),
            user_agent: None,
            allow: "INVITE, ACK, BYE, CANCEL, OPTIONS".into(),
        },
        seed,
    )
}

fn peer(addr: &str) -> Peer {
    Peer {
        addr: addr.parse().unwrap(),
        transport: Transport::Udp,
    }
}

/// Moves datagrams both ways until both endpoints are quiet; returns the
/// events each side produced.
fn exchange(
    now: Instant,
    uac: &mut Endpoint,
    uas: &mut Endpoint,
    uas_events: &mut Vec<Event>,
    uac_events: &mut Vec<Event>,
) {
    loop {
        let mut moved = false;
        while let Some(t) = uac.poll_transmit() {
            moved = true;
            uas.handle_datagram(now, peer("127.0.0.1:5090"), &t.bytes);
        }
        while let Some(t) = uas.poll_transmit() {
            moved = true;
            uac.handle_datagram(now, peer("127.0.0.1:5060"), &t.bytes);
        }
        uas_events.extend(std::iter::from_fn(|| uas.poll_event()));
        uac_events.extend(std::iter::from_fn(|| uac.poll_event()));
        if !moved {
            break;
        }
    }
}

fn request_of(bytes: &[u8]) -> Request {
    match parse_datagram(bytes).unwrap() {
        rsip::SipMessage::Request(r) => r,
        _ => unreachable!(),
    }
}

fn full_call(c: &mut Criterion) {
    let invite = request_of(INVITE);
    c.bench_function("sip/call_invite_200_ack_bye", |b| {
        let mut uac = endpoint("127.0.0.1:5090", 1);
        let mut uas = endpoint("127.0.0.1:5060", 2);
        let (mut uas_ev, mut uac_ev) = (Vec::new(), Vec::new());
        let now = Instant::now();
        b.iter(|| {
            uas_ev.clear();
            uac_ev.clear();
            let mut inv = invite.clone();
            let cid = uac.random_token();
            inv.headers.retain(|h| !matches!(h, Header::CallId(_)));
            inv.headers.push(Header::CallId(cid.into()));
            let tx = uac.send_request(now, inv, peer("127.0.0.1:5060"));
            exchange(now, &mut uac, &mut uas, &mut uas_ev, &mut uac_ev);
            let Some(Event::Request {
                tx: stx, request, ..
            }) = uas_ev.pop()
            else {
                panic!()
            };
            let ok = make_response(&request, 200, Some("uas"));
            uas.respond(now, stx, ok);
            exchange(now, &mut uac, &mut uas, &mut uas_ev, &mut uac_ev);
            let mut ack = request.clone();
            ack.method = Method::Ack;
            ack.body.clear();
            ack.headers
                .retain(|h| !matches!(h, Header::CSeq(_) | Header::To(_)));
            ack.headers.push(Header::CSeq("1 ACK".into()));
            ack.headers
                .push(Header::To("<sip:echo@127.0.0.1:5060>;tag=uas".into()));
            uac.ack_2xx(tx, ack.clone(), peer("127.0.0.1:5060"));
            let mut bye = ack;
            bye.method = Method::Bye;
            bye.headers.retain(|h| !matches!(h, Header::CSeq(_)));
            bye.headers.push(Header::CSeq("2 BYE".into()));
            uac.send_request(now, bye, peer("127.0.0.1:5060"));
            exchange(now, &mut uac, &mut uas, &mut uas_ev, &mut uac_ev);
            if let Some(Event::Request {
                tx: btx, request, ..
            }) = uas_ev.pop()
            {
                uas.respond(now, btx, make_response(&request, 200, None));
            }
            exchange(now, &mut uac, &mut uas, &mut uas_ev, &mut uac_ev);
            // Let the transactions end so state does not pile up.
            let later = now + std::time::Duration::from_secs(64);
            uac.handle_timeout(later);
            uas.handle_timeout(later);
            black_box(uac_ev.len())
        })
    });
}

criterion_group!(benches, parse_invite, full_call);
criterion_main!(benches);
