//! Calls between two phones: answer, refuse, cancel, hang up, hold, glare.

use std::net::SocketAddr;
use std::time::Duration;

use rsip::Method;
use sotto_sip::sdp::{Codec, Direction};

use super::{addr, alice_and_bob, uri};
use crate::{AnswerMode, CallState, PhoneError};

#[test]
fn call_is_answered_acked_and_hung_up() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Answer);
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();

    let theirs = net[bob].last_incoming().expect("bob got the call");
    assert_eq!(net[alice].get(call).state(), CallState::Confirmed);
    assert_eq!(net[bob].get(theirs).state(), CallState::Confirmed);
    assert_eq!(net[alice].get(call).invite_codes(), [180, 200]);
    assert_eq!(
        net[bob].get(theirs).requests(),
        [Method::Invite, Method::Ack]
    );
    assert_eq!(net[bob].get(theirs).remote_uri(), net[alice].uri());
    for (phone, h) in [(alice, call), (bob, theirs)] {
        let c = net[phone].get(h);
        assert_eq!(c.remote_direction(), Some(Direction::SendRecv));
        assert_eq!(c.local_direction(), Some(Direction::SendRecv));
    }
    assert_eq!(
        net.lines_between(alice, bob)
            .iter()
            .map(|l| l.split(' ').next().unwrap())
            .collect::<Vec<_>>(),
        ["INVITE", "ACK"]
    );

    net[alice].hangup(call).unwrap();
    net.settle();
    assert_eq!(
        net[alice].get(call).state(),
        CallState::Terminated { by_peer: false }
    );
    assert_eq!(
        net[bob].get(theirs).state(),
        CallState::Terminated { by_peer: true }
    );
    assert_eq!(net[alice].get(call).codes_for(Method::Bye), [200]);
    assert_eq!(net[bob].get(theirs).requests().last(), Some(&Method::Bye));
    // Nothing is left to happen, not even after the transactions' timers.
    net.advance(Duration::from_secs(40));
    assert_eq!(net[alice].transaction_counts(), (0, 0));
    assert_eq!(net[bob].transaction_counts(), (0, 0));
}

#[test]
fn callee_hangs_up() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Answer);
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    let theirs = net[bob].last_incoming().unwrap();
    net[bob].hangup(theirs).unwrap();
    net.settle();
    assert_eq!(
        net[alice].get(call).state(),
        CallState::Terminated { by_peer: true }
    );
    assert_eq!(net[bob].get(theirs).codes_for(Method::Bye), [200]);
}

#[test]
fn busy_callee_refuses_with_486() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Reject(486));
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    let c = net[alice].get(call);
    assert_eq!(c.invite_codes(), [486]);
    assert_eq!(c.final_code(), Some(486));
    assert_eq!(c.state(), CallState::Terminated { by_peer: true });
    let theirs = net[bob].last_incoming().unwrap();
    assert_eq!(
        net[bob].get(theirs).state(),
        CallState::Terminated { by_peer: false }
    );
    // The ACK for a refusal belongs to the INVITE transaction: the TU never sees it.
    assert_eq!(net[bob].get(theirs).requests(), [Method::Invite]);
    assert!(net.lines_between(alice, bob)[1].starts_with("ACK "));
}

#[test]
fn ringing_call_is_answered_or_refused_when_told() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Ring);
    let first = net[alice].call(&uri("bob", 2), true);
    let second = net[alice].call(&uri("bob", 2), true);
    net.settle();
    assert_eq!(net[alice].get(first).state(), CallState::Ringing);
    let [b1, b2] = net[bob].incoming_calls()[..] else {
        panic!("bob has two calls")
    };
    assert_eq!(net[bob].get(b1).state(), CallState::Ringing);
    net[bob].answer(b1).unwrap();
    net[bob].reject(b2, 603).unwrap();
    net.settle();
    assert_eq!(net[alice].get(first).state(), CallState::Confirmed);
    assert_eq!(net[alice].get(second).invite_codes(), [180, 603]);
    assert_eq!(
        net[bob].answer(b2),
        Err(PhoneError::WrongState {
            action: "answer",
            state: CallState::Terminated { by_peer: false }
        })
    );
    assert!(net[alice].answer(first).is_err(), "not an incoming call");
}

#[test]
fn cancel_while_ringing_gets_487() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Ring);
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    assert_eq!(net[alice].get(call).state(), CallState::Ringing);
    net[alice].hangup(call).unwrap();
    net.settle();
    let c = net[alice].get(call);
    assert_eq!(c.invite_codes(), [180, 487]);
    assert_eq!(c.state(), CallState::Terminated { by_peer: false });
    let theirs = net[bob].last_incoming().unwrap();
    assert_eq!(
        net[bob].get(theirs).state(),
        CallState::Terminated { by_peer: true }
    );
    assert_eq!(
        net[bob].get(theirs).requests(),
        [Method::Invite, Method::Cancel]
    );
}

#[test]
fn cancel_before_any_provisional_waits_for_one() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Silent);
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    net[alice].hangup(call).unwrap();
    net.settle();
    assert_eq!(net[alice].get(call).state(), CallState::Trying);
    assert!(
        !net.trace_text().contains("CANCEL"),
        "§9.1: no CANCEL before a provisional"
    );
    // Bob's endpoint sends 100 Trying after 200 ms; the CANCEL follows at once.
    net.advance(Duration::from_millis(200));
    let c = net[alice].get(call);
    assert_eq!(c.responses()[0], (Method::Invite, 100));
    assert_eq!(c.final_code(), Some(487));
    let theirs = net[bob].last_incoming().unwrap();
    assert_eq!(
        net[bob].get(theirs).state(),
        CallState::Terminated { by_peer: true }
    );
}

#[test]
fn callee_hangup_before_answering_is_486() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Ring);
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    let theirs = net[bob].last_incoming().unwrap();
    net[bob].hangup(theirs).unwrap();
    net.settle();
    assert_eq!(net[alice].get(call).final_code(), Some(486));
}

#[test]
fn answer_after_a_delay_on_the_simulated_clock() {
    let (mut net, alice, _bob) = alice_and_bob(AnswerMode::AnswerAfter(Duration::from_secs(3)));
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    assert_eq!(net[alice].get(call).state(), CallState::Ringing);
    net.advance(Duration::from_millis(2999));
    assert_eq!(net[alice].get(call).state(), CallState::Ringing);
    net.advance(Duration::from_millis(1));
    assert_eq!(net[alice].get(call).state(), CallState::Confirmed);
    assert_eq!(net.elapsed(), Duration::from_secs(3));
}

#[test]
fn late_offer_is_answered_in_the_ack() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Answer);
    let call = net[alice].call(&uri("bob", 2), false);
    net.settle();
    let theirs = net[bob].last_incoming().unwrap();
    assert!(net[bob].get(theirs).invite().body.is_empty());
    for (phone, h) in [(alice, call), (bob, theirs)] {
        let c = net[phone].get(h);
        assert_eq!(c.state(), CallState::Confirmed);
        let n = c.negotiated().expect("offer/answer completed");
        assert_eq!(n.direction, Direction::SendRecv);
    }
    let ack = net
        .trace()
        .iter()
        .find(|e| e.datagram.is_request("ACK"))
        .unwrap();
    assert!(ack.datagram.text().contains("m=audio"), "answer in the ACK");
}

#[test]
fn hold_and_resume_by_reinvite() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Answer);
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    let theirs = net[bob].last_incoming().unwrap();

    net[alice].hold(call).unwrap();
    net.settle();
    let (a, b) = (net[alice].get(call), net[bob].get(theirs));
    assert_eq!(b.remote_direction(), Some(Direction::SendOnly));
    assert_eq!(b.local_direction(), Some(Direction::RecvOnly));
    assert!(b.held_by_peer());
    assert_eq!(a.remote_direction(), Some(Direction::RecvOnly));
    assert_eq!(a.local_direction(), Some(Direction::SendOnly));
    assert!(a.holding());

    net[alice].resume(call).unwrap();
    net.settle();
    let (a, b) = (net[alice].get(call), net[bob].get(theirs));
    assert_eq!(
        b.remote_directions(),
        [
            Direction::SendRecv,
            Direction::SendOnly,
            Direction::SendRecv
        ]
    );
    assert_eq!(a.remote_direction(), Some(Direction::SendRecv));
    assert!(!b.held_by_peer());
    assert_eq!(a.reinvite_codes(), [200, 200]);
    assert_eq!(
        b.requests(),
        [
            Method::Invite,
            Method::Ack,
            Method::Invite,
            Method::Ack,
            Method::Invite,
            Method::Ack
        ]
    );
    // The callee holds too.
    net[bob].hold(theirs).unwrap();
    net.settle();
    assert_eq!(
        net[alice].get(call).remote_direction(),
        Some(Direction::SendOnly)
    );
}

#[test]
fn hold_needs_a_confirmed_call_and_no_invite_in_progress() {
    let (mut net, alice, _bob) = alice_and_bob(AnswerMode::Ring);
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    assert!(matches!(
        net[alice].hold(call),
        Err(PhoneError::WrongState { .. })
    ));
    let (mut net, alice, _bob) = alice_and_bob(AnswerMode::Answer);
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    net[alice].hold(call).unwrap();
    assert!(matches!(
        net[alice].resume(call),
        Err(PhoneError::Dialog(_))
    ));
}

#[test]
fn reinvite_glare_is_resolved_by_the_back_off() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Answer);
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    let theirs = net[bob].last_incoming().unwrap();

    // Both hold at the same instant: each answers the other's re-INVITE 491.
    net[alice].hold(call).unwrap();
    net[bob].hold(theirs).unwrap();
    net.settle();
    assert_eq!(net[alice].get(call).reinvite_codes(), [491]);
    assert_eq!(net[bob].get(theirs).reinvite_codes(), [491]);

    // §14.1: bob (not the Call-ID owner) retries within 2 s, alice within 2.1–4 s.
    net.advance(Duration::from_secs(4));
    let (a, b) = (net[alice].get(call), net[bob].get(theirs));
    assert_eq!(a.reinvite_codes(), [491, 200]);
    assert_eq!(b.reinvite_codes(), [491, 200]);
    assert!(a.holding() && b.holding());
    assert!(a.held_by_peer() && b.held_by_peer());
    // Bob's hold came first (sendonly), alice's then found herself held: inactive.
    assert_eq!(b.remote_direction(), Some(Direction::Inactive));
    assert_eq!(a.local_direction(), Some(Direction::Inactive));
}

#[test]
fn info_and_options_in_a_call_are_answered_200() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Answer);
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    net[alice]
        .info(
            call,
            "application/dtmf-relay",
            "Signal=5\r\nDuration=160\r\n",
        )
        .unwrap();
    net.settle();
    assert_eq!(net[alice].get(call).codes_for(Method::Info), [200]);
    let theirs = net[bob].last_incoming().unwrap();
    assert_eq!(net[bob].get(theirs).requests().last(), Some(&Method::Info));
}

#[test]
fn ack_never_arriving_ends_the_call_with_bye() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Answer);
    net.drop_where(|d| d.is_request("ACK"));
    let call = net[alice].call(&uri("bob", 2), true);
    net.advance(Duration::from_secs(33));
    let theirs = net[bob].last_incoming().unwrap();
    let b = net[bob].get(theirs);
    assert_eq!(b.timeouts(), [Method::Ack]);
    assert_eq!(b.state(), CallState::Terminated { by_peer: false });
    assert_eq!(
        net[alice].get(call).state(),
        CallState::Terminated { by_peer: true }
    );
    // Bob's 2xx was retransmitted while no ACK came; alice ignored the copies.
    let oks = net
        .trace()
        .iter()
        .filter(|e| e.datagram.from == bob && e.datagram.status() == Some(200))
        .count();
    assert!(oks > 5, "{oks} copies of the 200");
}

#[test]
fn lost_200_is_retransmitted_and_acked() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Answer);
    let mut dropped = false;
    net.drop_where(move |d| {
        let first_ok = !dropped && d.status() == Some(200);
        dropped |= first_ok;
        first_ok
    });
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    assert_eq!(net[alice].get(call).state(), CallState::Ringing);
    net.advance(Duration::from_millis(500));
    assert_eq!(net[alice].get(call).state(), CallState::Confirmed);
    assert_eq!(net[alice].get(call).invite_codes(), [180, 200]);
    let theirs = net[bob].last_incoming().unwrap();
    assert_eq!(
        net[bob].get(theirs).requests(),
        [Method::Invite, Method::Ack]
    );
}

#[test]
fn call_to_nobody_times_out_after_timer_b() {
    let (mut net, alice, _bob) = alice_and_bob(AnswerMode::Answer);
    let nobody = addr(9);
    let call = net[alice].call(&uri("carol", 9), true);
    net.settle();
    assert_eq!(net.pending_for(nobody), 1);
    net.advance(Duration::from_secs(31));
    assert!(net[alice].get(call).state().is_early());
    net.advance(Duration::from_secs(1));
    let c = net[alice].get(call);
    assert_eq!(c.final_code(), Some(408));
    assert_eq!(c.timeouts(), [Method::Invite]);
    assert_eq!(c.state(), CallState::Terminated { by_peer: false });
    // Timer A: the INVITE went out 7 times (0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s).
    let invites = net.take_for(nobody);
    assert_eq!(invites.len(), 7);
    assert!(invites.iter().all(|d| d.is_request("INVITE")));
}

#[test]
fn cancel_crossing_the_200_ends_the_call_with_bye() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Ring);
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    let theirs = net[bob].last_incoming().unwrap();
    // Alice gives up as bob answers: the CANCEL and the 200 cross.
    net[alice].hangup(call).unwrap();
    net[bob].answer(theirs).unwrap();
    net.settle();
    let c = net[alice].get(call);
    assert_eq!(c.invite_codes(), [180, 200]);
    assert_eq!(c.state(), CallState::Terminated { by_peer: false });
    assert_eq!(c.codes_for(Method::Bye), [200]);
    assert_eq!(
        c.codes_for(Method::Cancel),
        [] as [u16; 0],
        "not seen by the TU"
    );
    let b = net[bob].get(theirs);
    assert_eq!(b.requests(), [Method::Invite, Method::Ack, Method::Bye]);
    assert_eq!(b.state(), CallState::Terminated { by_peer: true });
    // The CANCEL found the INVITE answered: 481 from bob's endpoint (§9.2).
    let cancel_answer = net
        .trace()
        .iter()
        .find(|e| e.datagram.from == bob && e.datagram.text().contains("CANCEL\r\n"))
        .map(|e| e.datagram.status());
    assert_eq!(cancel_answer, Some(Some(481)));
}

#[test]
fn crossing_byes_are_both_answered_200() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Answer);
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    let theirs = net[bob].last_incoming().unwrap();
    net[alice].hangup(call).unwrap();
    net[bob].hangup(theirs).unwrap();
    net.settle();
    assert_eq!(net[alice].get(call).codes_for(Method::Bye), [200]);
    assert_eq!(net[bob].get(theirs).codes_for(Method::Bye), [200]);
    for (p, h) in [(alice, call), (bob, theirs)] {
        assert_eq!(
            net[p].get(h).state(),
            CallState::Terminated { by_peer: false }
        );
    }
}

#[test]
fn early_media_in_183_then_answer() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Progress);
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    let c = net[alice].get(call);
    assert_eq!(c.state(), CallState::Early);
    assert_eq!(c.invite_codes(), [183]);
    assert_eq!(c.remote_direction(), Some(Direction::SendRecv));
    assert!(c.negotiated().is_some(), "early media negotiated");
    let theirs = net[bob].last_incoming().unwrap();
    net[bob].ring(theirs).unwrap();
    net[bob].answer(theirs).unwrap();
    net.settle();
    let c = net[alice].get(call);
    assert_eq!(c.invite_codes(), [183, 180, 200]);
    assert_eq!(c.state(), CallState::Confirmed);
    // The 200 repeats the 183's answer: same o= version.
    let answers: Vec<String> = net
        .trace()
        .iter()
        .filter(|e| e.datagram.from == bob && e.datagram.text().contains("m=audio"))
        .map(|e| {
            let t = e.datagram.text();
            t.lines().find(|l| l.starts_with("o=")).unwrap().to_string()
        })
        .collect();
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0], answers[1]);
}

#[test]
fn refusal_after_a_delay_rings_first() {
    let (mut net, alice, bob) =
        alice_and_bob(AnswerMode::RejectAfter(486, Duration::from_millis(500)));
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    assert_eq!(net[alice].get(call).state(), CallState::Ringing);
    net.advance(Duration::from_millis(499));
    assert_eq!(net[alice].get(call).invite_codes(), [180]);
    net.advance(Duration::from_millis(1));
    assert_eq!(net[alice].get(call).invite_codes(), [180, 486]);
    let theirs = net[bob].last_incoming().unwrap();
    assert_eq!(net[bob].get(theirs).final_code(), Some(486));
    assert_eq!(
        net[bob].get(theirs).state(),
        CallState::Terminated { by_peer: false }
    );
    assert_eq!(net[bob].get(theirs).answered_at(), None);
}

#[test]
fn both_ends_know_when_the_call_was_answered() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::AnswerAfter(Duration::from_secs(2)));
    let start = net.now();
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    assert_eq!(net[alice].get(call).answered_at(), None);
    net.advance(Duration::from_secs(3));
    let theirs = net[bob].last_incoming().unwrap();
    let answered = start + Duration::from_secs(2);
    assert_eq!(net[alice].get(call).answered_at(), Some(answered));
    assert_eq!(net[bob].get(theirs).answered_at(), Some(answered));
    assert_eq!(net[alice].get(call).created_at(), start);
}

#[test]
fn reoffers_keep_each_direction_the_peer_offered_and_when() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Answer);
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    let theirs = net[bob].last_incoming().unwrap();
    assert!(net[bob].get(theirs).reoffers().is_empty(), "not the INVITE");
    let start = net.now();
    net[alice].hold(call).unwrap();
    net.settle();
    net.advance(Duration::from_secs(1));
    net[alice].resume(call).unwrap();
    net.settle();
    let offers = net[bob].get(theirs).reoffers();
    let got: Vec<_> = offers.iter().map(|o| (o.at - start, o.direction)).collect();
    assert_eq!(
        got,
        [
            (Duration::ZERO, Direction::SendOnly),
            (Duration::from_secs(1), Direction::SendRecv)
        ]
    );
    assert_eq!(offers[0].sdp.direction_for(0), Direction::SendOnly);
    assert!(net[alice].get(call).reoffers().is_empty());
}

#[test]
fn queued_rtp_ports_and_codecs_make_the_sdp() {
    let mut net = crate::Net::new();
    let alice = net.add_phone(
        crate::PhoneConfig::new("alice", addr(1))
            .codecs(vec![Codec::Pcmu])
            .telephone_event(None),
    );
    let bob = net.add_phone(crate::PhoneConfig::new("bob", addr(2)));
    net[alice].add_rtp_port(30_000);
    assert_eq!(net[alice].rtp_ports_queued(), 1);
    let first = net[alice].call(&uri("bob", 2), true);
    let second = net[alice].call(&uri("bob", 2), true);
    net.settle();
    assert_eq!(net[alice].rtp_ports_queued(), 0);
    assert_eq!(
        net[alice].get(first).rtp_addr(),
        SocketAddr::new(addr(1).ip(), 30_000)
    );
    // None queued: 40000 + 2n.
    assert_eq!(
        net[alice].get(second).rtp_addr(),
        SocketAddr::new(addr(1).ip(), 40_002)
    );
    let theirs = net[bob].incoming_calls()[0];
    let n = net[bob].get(theirs).negotiated().unwrap().clone();
    assert_eq!(n.remote_rtp, SocketAddr::new(addr(1).ip(), 30_000));
    assert_eq!(n.codec, Codec::Pcmu);
    assert_eq!(n.telephone_event, None, "alice offers no RFC 4733 events");
    let offer = String::from_utf8_lossy(&net[bob].get(theirs).invite().body).into_owned();
    assert!(offer.contains("RTP/AVP 0\r\n"), "{offer}");

    // From now on alice offers telephone-event.
    net[alice].set_telephone_event(Some(96));
    let third = net[alice].call(&uri("bob", 2), true);
    net.settle();
    let n = net[alice].get(third).negotiated().unwrap();
    assert_eq!(n.telephone_event, Some(sotto_sip::sdp::PayloadType(96)));
}
