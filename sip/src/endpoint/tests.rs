//! Two endpoints driven against each other over a simulated network and a
//! simulated clock (no sockets): the shape of quinn's `Pair::drive`.

use super::*;
use crate::transaction::test_support::{invite, options};
use std::time::Duration;

const UAC: &str = "127.0.0.1:5061";
const UAS: &str = "127.0.0.1:5060";

struct Pair {
    now: Instant,
    uac: Endpoint,
    uas: Endpoint,
    /// Datagrams to drop, counted per direction: the next N from the UAC.
    drop_from_uac: usize,
    wire_log: Vec<String>,
}

fn peer(addr: &str) -> Peer {
    Peer {
        addr: addr.parse().unwrap(),
        transport: Transport::Udp,
    }
}

impl Pair {
    fn new() -> Pair {
        let cfg = |host: &str| EndpointConfig {
            timers: Timers::default(),
            via_host: host.to_string(),
            user_agent: None,
            allow: "INVITE, ACK, CANCEL, BYE, OPTIONS".into(),
        };
        Pair {
            now: Instant::now(),
            uac: Endpoint::new(cfg(UAC), 1),
            uas: Endpoint::new(cfg(UAS), 2),
            drop_from_uac: 0,
            wire_log: Vec::new(),
        }
    }

    /// Moves every pending datagram across, until both sides are quiet.
    fn deliver(&mut self) {
        loop {
            let mut moved = false;
            while let Some(t) = self.uac.poll_transmit() {
                moved = true;
                self.wire_log.push(first_line(&t.bytes, "uac"));
                if self.drop_from_uac > 0 {
                    self.drop_from_uac -= 1;
                    continue;
                }
                self.uas.handle_datagram(self.now, peer(UAC), &t.bytes);
            }
            while let Some(t) = self.uas.poll_transmit() {
                moved = true;
                self.wire_log.push(first_line(&t.bytes, "uas"));
                self.uac.handle_datagram(self.now, peer(UAS), &t.bytes);
            }
            if !moved {
                break;
            }
        }
    }

    /// Advances the clock to the next timer of either side (at most `limit`).
    fn advance(&mut self, limit: Duration) -> bool {
        let end = self.now + limit;
        let next = [self.uac.poll_timeout(), self.uas.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(t) if t <= end => {
                self.now = self.now.max(t);
                self.uac.handle_timeout(self.now);
                self.uas.handle_timeout(self.now);
                self.deliver();
                true
            }
            _ => {
                self.now = end;
                false
            }
        }
    }

    fn uas_request(&mut self) -> (ServerTxId, Request) {
        loop {
            match self.uas.poll_event() {
                Some(Event::Request { tx, request, .. }) => return (tx, request),
                Some(_) => continue,
                None => panic!("UAS got no request"),
            }
        }
    }

    fn uac_events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.uac.poll_event()).collect()
    }
}

fn first_line(bytes: &[u8], who: &str) -> String {
    let text = String::from_utf8_lossy(bytes);
    format!("{who}: {}", text.lines().next().unwrap_or(""))
}

fn codes(events: &[Event]) -> Vec<u16> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Response { response, .. } => Some(response.status_code.code()),
            _ => None,
        })
        .collect()
}

#[test]
fn invite_ok_ack_bye_through_both_endpoints() {
    let mut p = Pair::new();
    let inv_tx = p.uac.send_request(p.now, invite(), peer(UAS));
    p.deliver();
    let (stx, req) = p.uas_request();
    assert_eq!(req.method, Method::Invite);
    // The UAS is slow: 100 Trying after 200 ms, and only one.
    p.advance(Duration::from_millis(250));
    assert_eq!(codes(&p.uac_events()), vec![100]);
    p.uas
        .respond(p.now, stx, make_response(&req, 180, Some("uas1")));
    p.uas
        .respond(p.now, stx, make_response(&req, 200, Some("uas1")));
    p.deliver();
    assert_eq!(codes(&p.uac_events()), vec![180, 200]);
    // The UA core ACKs the 2xx.
    let mut ack = invite();
    ack.method = Method::Ack;
    ack.headers.retain(|h| !matches!(h, Header::CSeq(_)));
    ack.headers.push(Header::CSeq("1 ACK".into()));
    p.uac.ack_2xx(inv_tx, ack, peer(UAS));
    p.deliver();
    assert!(matches!(p.uas.poll_event(), Some(Event::Ack { .. })));
    // No 2xx retransmission after the ACK, and no ACK timeout.
    let before = p.wire_log.len();
    while p.advance(Duration::from_secs(60)) {}
    assert_eq!(p.wire_log.len(), before, "{:?}", &p.wire_log[before..]);
    assert!(p.uas.poll_event().is_none());
    assert_eq!(p.uac.transaction_counts(), (0, 0));
    assert_eq!(p.uas.transaction_counts(), (0, 0));
}

#[test]
fn lost_invite_is_retransmitted_and_answered_once() {
    let mut p = Pair::new();
    p.drop_from_uac = 1;
    p.uac.send_request(p.now, invite(), peer(UAS));
    p.deliver();
    assert!(p.uas.poll_event().is_none());
    p.advance(Duration::from_millis(500));
    let (stx, req) = p.uas_request();
    p.uas
        .respond(p.now, stx, make_response(&req, 486, Some("busy")));
    p.deliver();
    assert_eq!(codes(&p.uac_events()), vec![486]);
    // The 486 was ACKed by the client transaction; the server absorbed it.
    assert!(p.wire_log.iter().any(|l| l.starts_with("uac: ACK ")));
    while p.advance(Duration::from_secs(60)) {}
    assert!(
        p.uas.poll_event().is_none(),
        "no ACK timeout: the ACK arrived"
    );
}

#[test]
fn cancel_before_answer_gets_200_and_the_invite_487() {
    let mut p = Pair::new();
    let inv_tx = p.uac.send_request(p.now, invite(), peer(UAS));
    // CANCEL asked before any provisional: held back (§9.1).
    p.uac.cancel(p.now, inv_tx);
    p.deliver();
    assert!(!p.wire_log.iter().any(|l| l.contains("CANCEL")));
    let (stx, req) = p.uas_request();
    p.uas
        .respond(p.now, stx, make_response(&req, 180, Some("r1")));
    p.deliver();
    assert!(p.wire_log.iter().any(|l| l.starts_with("uac: CANCEL ")));
    match p.uas.poll_event() {
        Some(Event::Cancelled { tx }) => assert_eq!(tx, stx),
        other => panic!("{other:?}"),
    }
    p.uas
        .respond(p.now, stx, make_response(&req, 487, Some("r1")));
    p.deliver();
    let mut got = codes(&p.uac_events());
    got.sort();
    assert_eq!(got, vec![180, 200, 487]);
}

#[test]
fn cancel_for_unknown_invite_gets_481() {
    let mut p = Pair::new();
    let text = String::from_utf8(transaction::encode(&invite()).to_vec())
        .unwrap()
        .replace("INVITE sip:", "CANCEL sip:")
        .replace("1 INVITE", "1 CANCEL");
    p.uas.handle_datagram(p.now, peer(UAC), text.as_bytes());
    let t = p.uas.poll_transmit().expect("a response");
    assert!(t.bytes.starts_with(b"SIP/2.0 481 "));
    assert!(p.uas.poll_event().is_none());
}

#[test]
fn options_retransmission_gets_the_same_response_without_new_event() {
    let mut p = Pair::new();
    let bytes = transaction::encode(&options());
    p.uas.handle_datagram(p.now, peer(UAC), &bytes);
    let (stx, req) = p.uas_request();
    p.uas
        .respond(p.now, stx, make_response(&req, 200, Some("o1")));
    let first = p.uas.poll_transmit().unwrap().bytes;
    p.uas
        .handle_datagram(p.now + Duration::from_millis(500), peer(UAC), &bytes);
    assert!(p.uas.poll_event().is_none());
    assert_eq!(p.uas.poll_transmit().unwrap().bytes, first);
}

#[test]
fn unanswered_request_times_out_for_the_tu() {
    let mut p = Pair::new();
    let tx = p.uac.send_request(p.now, options(), peer(UAS));
    p.drop_from_uac = usize::MAX;
    p.uac.poll_transmit();
    while p.advance(Duration::from_secs(60)) {}
    let events = p.uac_events();
    assert!(matches!(events.as_slice(), [Event::Timeout { tx: t }] if *t == tx));
}

#[test]
fn unacked_2xx_is_retransmitted_then_reported() {
    let mut p = Pair::new();
    p.uac.send_request(p.now, invite(), peer(UAS));
    p.deliver();
    let (stx, req) = p.uas_request();
    p.uas
        .respond(p.now, stx, make_response(&req, 200, Some("x")));
    p.deliver();
    // The UAC's TU never ACKs.
    while p.advance(Duration::from_secs(60)) {}
    let oks = p
        .wire_log
        .iter()
        .filter(|l| l.starts_with("uas: SIP/2.0 200"))
        .count();
    assert_eq!(oks, 11, "first send and 10 retransmissions in 32 s");
    assert!(matches!(p.uas.poll_event(), Some(Event::AckTimeout { tx }) if tx == stx));
}

#[test]
fn received_and_rport_are_recorded_in_the_top_via() {
    let mut p = Pair::new();
    p.uac.send_request(p.now, options(), peer(UAS));
    p.deliver();
    let (_, req) = p.uas_request();
    let via = req.headers.iter().find_map(|h| match h {
        Header::Via(v) => Some(v.value().to_string()),
        _ => None,
    });
    assert!(via.unwrap().contains("received=127.0.0.1;rport=5061"));
}
