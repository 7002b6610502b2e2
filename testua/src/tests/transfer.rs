//! REFER (blind and attended) and INVITE with Replaces between phones.

use rsip::Method;
use sotto_sip::refer::ReferOutcome;

use super::{addr, alice_and_bob, uri};
use crate::{AnswerMode, CallState, PhoneConfig, ReferMode};

#[test]
fn blind_refer_is_followed_and_notified() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Answer);
    let carol = net.add_phone(PhoneConfig::new("carol", addr(3)));
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    let theirs = net[bob].last_incoming().unwrap();

    // Bob transfers alice to carol.
    net[bob].refer(theirs, &uri("carol", 3)).unwrap();
    net.settle();

    let b = net[bob].get(theirs);
    assert_eq!(b.codes_for(Method::Refer), [202]);
    assert_eq!(b.notify_statuses(), [100, 200]);
    assert_eq!(b.refer_outcome(), Some(ReferOutcome::Succeeded(200)));

    let placed = net[alice].last_call().unwrap();
    let p = net[alice].get(placed);
    assert_eq!(p.transfer_of(), Some(call));
    assert_eq!(p.state(), CallState::Confirmed);
    assert_eq!(net[alice].get(call).transfer_status(), Some(200));
    assert_eq!(net[alice].get(call).requests(), [Method::Refer]);

    let at_carol = net[carol].last_incoming().unwrap();
    let c = net[carol].get(at_carol);
    assert_eq!(c.state(), CallState::Confirmed);
    assert_eq!(
        c.referred_by(),
        Some(format!("<{}>", net[bob].uri()).as_str())
    );

    // The transferor leaves; the transferred call goes on.
    net[bob].hangup(theirs).unwrap();
    net.settle();
    assert_eq!(
        net[alice].get(call).state(),
        CallState::Terminated { by_peer: true }
    );
    assert_eq!(net[alice].get(placed).state(), CallState::Confirmed);
}

#[test]
fn refused_transfer_target_is_notified_as_failure() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Answer);
    net.add_phone(PhoneConfig::new("carol", addr(3)).answer(AnswerMode::Reject(486)));
    net[alice].call(&uri("bob", 2), true);
    net.settle();
    let theirs = net[bob].last_incoming().unwrap();
    net[bob].refer(theirs, &uri("carol", 3)).unwrap();
    net.settle();
    let b = net[bob].get(theirs);
    assert_eq!(b.notify_statuses(), [100, 486]);
    assert_eq!(b.refer_outcome(), Some(ReferOutcome::Failed(486)));
}

#[test]
fn refer_can_be_refused() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Answer);
    net[alice].set_refer_mode(ReferMode::Reject(603));
    net[alice].call(&uri("bob", 2), true);
    net.settle();
    let theirs = net[bob].last_incoming().unwrap();
    net[bob].refer(theirs, &uri("carol", 3)).unwrap();
    net.settle();
    let b = net[bob].get(theirs);
    assert_eq!(b.codes_for(Method::Refer), [603]);
    assert_eq!(b.refer_outcome(), Some(ReferOutcome::Failed(603)));
    assert_eq!(b.state(), CallState::Confirmed);
}

#[test]
fn attended_transfer_by_refer_with_replaces() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Answer);
    let carol = net.add_phone(PhoneConfig::new("carol", addr(3)));
    // Alice talks to bob, then consults carol.
    let to_bob = net[alice].call(&uri("bob", 2), true);
    net.settle();
    let to_carol = net[alice].call(&uri("carol", 3), true);
    net.settle();
    let carol_from_alice = net[carol].last_incoming().unwrap();

    // Alice tells bob to take her place in the call with carol.
    net[alice]
        .refer_replaces(to_bob, &uri("carol", 3), to_carol)
        .unwrap();
    net.settle();

    let bob_placed = net[bob].last_call().unwrap();
    let at_carol = net[carol].last_incoming().unwrap();
    assert_ne!(at_carol, carol_from_alice);
    let c = net[carol].get(at_carol);
    assert_eq!(c.state(), CallState::Confirmed);
    assert_eq!(c.replaced(), Some(carol_from_alice));
    let r = c
        .replaces_header()
        .expect("the INVITE named the consult call");
    assert_eq!(r.call_id, net[alice].get(to_carol).call_id());
    assert_eq!(net[bob].get(bob_placed).state(), CallState::Confirmed);
    // Carol ended the replaced call, alice learnt the transfer worked.
    assert_eq!(
        net[alice].get(to_carol).state(),
        CallState::Terminated { by_peer: true }
    );
    assert_eq!(net[alice].get(to_bob).notify_statuses(), [100, 200]);
}

#[test]
fn invite_with_replaces_takes_over_a_call() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Answer);
    let dave = net.add_phone(PhoneConfig::new("dave", addr(4)));
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    let theirs = net[bob].last_incoming().unwrap();

    // Dave replaces alice in her call with bob.
    let naming = net[alice].get(call).replaces_naming().unwrap();
    let new = net[dave].invite_replaces(&uri("bob", 2), naming);
    net.settle();
    assert_eq!(net[dave].get(new).state(), CallState::Confirmed);
    let at_bob = net[bob].last_incoming().unwrap();
    assert_eq!(net[bob].get(at_bob).replaced(), Some(theirs));
    assert_eq!(
        net[alice].get(call).state(),
        CallState::Terminated { by_peer: true }
    );

    // A Replaces that names nothing is refused 481 (RFC 3891 §3).
    let stale = net[dave].invite_replaces(&uri("bob", 2), ("nope@x", "a", "b"));
    net.settle();
    assert_eq!(net[dave].get(stale).final_code(), Some(481));
}

#[test]
fn refer_subscription_of_an_ended_call_expires_quietly() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Answer);
    let carol = net.add_phone(PhoneConfig::new("carol", addr(3)).answer(AnswerMode::Ring));
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    let theirs = net[bob].last_incoming().unwrap();
    net[bob].refer(theirs, &uri("carol", 3)).unwrap();
    net.settle();
    assert_eq!(net[bob].get(theirs).notify_statuses(), [100]);
    // The transferor leaves while the target still rings.
    net[bob].hangup(theirs).unwrap();
    net.settle();
    // The subscription expires after 60 s with no dialog to NOTIFY in.
    net.advance(std::time::Duration::from_secs(120));
    assert!(net[alice].get(call).state().is_terminated());
    let placed = net[alice].last_call().unwrap();
    assert_eq!(net[alice].get(placed).state(), CallState::Ringing);
    let at_carol = net[carol].last_incoming().unwrap();
    assert_eq!(net[carol].get(at_carol).state(), CallState::Ringing);
}

#[test]
fn accepted_refer_waits_for_the_test_to_report() {
    let (mut net, alice, bob) = alice_and_bob(AnswerMode::Answer);
    net[alice].set_refer_mode(ReferMode::Accept);
    let call = net[alice].call(&uri("bob", 2), true);
    net.settle();
    let theirs = net[bob].last_incoming().unwrap();
    assert!(
        net[alice].notify_refer(call, 200).is_err(),
        "no REFER to report on"
    );
    net[bob].refer(theirs, &uri("carol", 3)).unwrap();
    net.settle();
    assert_eq!(net[bob].get(theirs).codes_for(Method::Refer), [202]);
    assert_eq!(net[bob].get(theirs).notify_statuses(), [100]);
    assert_eq!(net[alice].calls().len(), 1, "the target is not called");
    let refers = net[alice].get(call).refers();
    assert_eq!(refers.len(), 1);
    assert_eq!(refers[0].target.to_string(), uri("carol", 3));

    net[alice].notify_refer(call, 200).unwrap();
    net.settle();
    let b = net[bob].get(theirs);
    assert_eq!(b.notify_statuses(), [100, 200]);
    assert_eq!(b.refer_outcome(), Some(ReferOutcome::Succeeded(200)));
    assert_eq!(net[alice].get(call).codes_for(Method::Notify), [200, 200]);
    assert!(
        net[alice].notify_refer(call, 200).is_err(),
        "the subscription has ended"
    );
}
