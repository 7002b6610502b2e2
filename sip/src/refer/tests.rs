//! Two dialogs driven against each other through REFER, NOTIFY and Replaces, every
//! message serialised and parsed again as it would cross the wire, on a simulated clock.

use std::time::{Duration, Instant};

use rsip::{Header, Method, Request, Response, SipMessage};

use super::*;
use crate::dialog::{Dialog, DialogState, RequestVerdict, ResponseOutcome, Tag};
use crate::endpoint::{make_response, unsent_via};
use crate::headers::{Event, ReferredBy, Replaces, SubscriptionState, TypedHeaders};
use crate::transaction::test_support::{invite, response_to};

/// The agent's softphone (UAC of the call) and sotto (UAS), with a confirmed dialog.
struct Pair {
    now: Instant,
    agent: Dialog,
    sotto: Dialog,
}

fn contact(uri: &str) -> rsip::typed::Contact {
    rsip::typed::Contact {
        display_name: None,
        uri: crate::message::parse_uri(uri).unwrap(),
        params: vec![],
    }
}

fn answered(code: u16) -> (Request, Response) {
    let invite = invite();
    let mut resp = response_to(&invite, code);
    resp.headers
        .push(contact("sip:sotto@127.0.0.1:5060").into());
    (invite, resp)
}

fn rnd() -> impl FnMut() -> u32 {
    || 7
}

/// Across the wire: serialised, then parsed as a datagram.
fn wire(msg: impl Into<SipMessage>) -> SipMessage {
    let msg: SipMessage = msg.into();
    let bytes = crate::transaction::encode(&msg);
    crate::message::parse_datagram(&bytes).expect("our own message parses")
}

fn wire_req(r: Request) -> Request {
    match wire(r) {
        SipMessage::Request(r) => r,
        SipMessage::Response(_) => unreachable!(),
    }
}

fn wire_resp(r: Response) -> Response {
    match wire(r) {
        SipMessage::Response(r) => r,
        SipMessage::Request(_) => unreachable!(),
    }
}

impl Pair {
    fn new() -> Self {
        let (invite, ok) = answered(200);
        let agent = Dialog::from_uac(&invite, &ok).unwrap();
        let mut sotto = Dialog::from_uas(
            &invite,
            Tag::new("callee"),
            contact("sip:sotto@127.0.0.1:5060"),
        )
        .unwrap();
        assert_eq!(sotto.on_response_sent(&ok), Ok(ResponseOutcome::Confirmed));
        Pair {
            now: Instant::now(),
            agent,
            sotto,
        }
    }

    /// The agent's REFER to `target`, as sotto receives it.
    fn agent_refers(&mut self, target: &str, replaces: Option<&Replaces>) -> (Request, Request) {
        let mut refer = self
            .agent
            .create_request(Method::Refer, unsent_via())
            .unwrap();
        let target = crate::message::parse_uri(target).unwrap();
        refer.headers.push(Header::Other(
            "Refer-To".into(),
            refer_to_value(&target, replaces),
        ));
        refer.push_typed_header(&ReferredBy::new("sip:agent@example.com"));
        let received = wire_req(refer.clone());
        (refer, received)
    }

    /// sotto answers `request` with `code`; the agent's dialog sees the response.
    fn sotto_answers(&mut self, request: &Request, code: u16) -> ResponseOutcome {
        let resp = wire_resp(make_response(request, code, None));
        assert_eq!(
            self.sotto.on_response_sent(&resp),
            Ok(ResponseOutcome::Unchanged)
        );
        self.agent.on_response(self.now, &resp, &mut rnd()).unwrap()
    }

    /// sotto's NOTIFY reaches the agent's dialog, which must accept it.
    fn deliver_notify(&mut self, notify: Request) -> Request {
        let notify = wire_req(notify);
        assert_eq!(
            self.agent.on_request(&notify, &mut rnd()),
            Ok(RequestVerdict::Accept {
                target_refreshed: false
            })
        );
        notify
    }

    /// The agent answers a NOTIFY; sotto's dialog and notifier see the response.
    fn agent_answers(&mut self, notify: &Request, code: u16, notifier: &mut ReferNotifier) {
        let resp = wire_resp(make_response(notify, code, None));
        assert_eq!(
            self.sotto.on_response(self.now, &resp, &mut rnd()),
            Ok(ResponseOutcome::Unchanged)
        );
        notifier.on_response(code);
    }
}

fn header_value(req: &Request, name: &str) -> Option<String> {
    req.to_string()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned))
}

#[test]
fn refer_202_notify_trying_then_ok_between_two_dialogs() {
    let mut p = Pair::new();
    let (sent, refer) = p.agent_refers("sip:carol@example.com", None);
    assert_eq!(crate::message::cseq(&refer), Some((2, Method::Refer)));
    assert!(
        header_value(&refer, "Contact").is_some(),
        "REFER carries Contact"
    );
    let mut sub = ReferSubscriber::new(&sent, true).unwrap();

    // sotto: the dialog takes the REFER, then the REFER is read.
    assert_eq!(
        p.sotto.on_request(&refer, &mut rnd()),
        Ok(RequestVerdict::Accept {
            target_refreshed: false
        })
    );
    let asked = ReferRequest::from_request(&refer).unwrap();
    assert_eq!(asked.target.user(), Some("carol"));
    assert_eq!(asked.replaces, None);
    assert_eq!(
        asked.referred_by,
        Some(ReferredBy::new("sip:agent@example.com"))
    );
    assert_eq!(p.sotto_answers(&refer, 202), ResponseOutcome::Unchanged);
    assert_eq!(sub.on_refer_response(202), ReferOutcome::Pending);
    assert!(sub.is_accepted());

    // NOTIFY 100 Trying at once (RFC 3515 §2.4.4).
    let mut notifier = ReferNotifier::new(&asked, true, p.now);
    let n1 = notifier
        .notify(p.now, &mut p.sotto, unsent_via(), 100, "Trying")
        .unwrap();
    let n1 = p.deliver_notify(n1);
    assert_eq!(crate::message::cseq(&n1), Some((1, Method::Notify)));
    assert_eq!(header_value(&n1, "Event").as_deref(), Some("refer"));
    assert_eq!(
        header_value(&n1, "Subscription-State").as_deref(),
        Some("active;expires=60")
    );
    assert_eq!(
        header_value(&n1, "Content-Type").as_deref(),
        Some("message/sipfrag;version=2.0")
    );
    assert_eq!(n1.body, b"SIP/2.0 100 Trying\r\n");
    let answer = sub.on_notify(&n1);
    assert_eq!(
        (answer.status, answer.outcome),
        (200, ReferOutcome::Pending)
    );
    p.agent_answers(&n1, answer.status, &mut notifier);

    // Ringing 3 s later: the subscription has 57 s left.
    p.now += Duration::from_secs(3);
    let n2 = notifier
        .notify(p.now, &mut p.sotto, unsent_via(), 180, "Ringing")
        .unwrap();
    let n2 = p.deliver_notify(n2);
    assert_eq!(
        header_value(&n2, "Subscription-State").as_deref(),
        Some("active;expires=57")
    );
    assert_eq!(sub.on_notify(&n2).outcome, ReferOutcome::Pending);
    assert_eq!(sub.last_status(), Some(180));
    p.agent_answers(&n2, 200, &mut notifier);

    // The target answered: final NOTIFY, subscription over.
    let n3 = notifier
        .notify(p.now, &mut p.sotto, unsent_via(), 200, "OK")
        .unwrap();
    let n3 = p.deliver_notify(n3);
    assert_eq!(
        header_value(&n3, "Subscription-State").as_deref(),
        Some("terminated;reason=noresource")
    );
    assert_eq!(crate::message::cseq(&n3), Some((3, Method::Notify)));
    let answer = sub.on_notify(&n3);
    assert_eq!(
        (answer.status, answer.outcome),
        (200, ReferOutcome::Succeeded(200))
    );
    assert!(sub.is_terminated());
    p.agent_answers(&n3, 200, &mut notifier);
    assert!(notifier.is_terminated());
    assert_eq!(notifier.poll_timeout(), None);
    assert_eq!(
        notifier.notify(p.now, &mut p.sotto, unsent_via(), 200, "OK"),
        Err(NotifyError::Terminated)
    );

    // Both dialogs carry on; a replayed old NOTIFY is out of order (RFC 3261 §12.2.2).
    assert_eq!(p.agent.remote_cseq(), Some(3));
    assert_eq!(p.agent.state(), DialogState::Confirmed);
    assert_eq!(p.sotto.state(), DialogState::Confirmed);
    assert!(matches!(
        p.agent.on_request(&n1, &mut rnd()),
        Ok(RequestVerdict::Reject(
            crate::dialog::Rejection::OutOfOrder { .. }
        ))
    ));
    // The NOTIFY after the terminating one matches nothing any more: 481.
    assert_eq!(sub.on_notify(&n3).status, 481);
}

#[test]
fn notify_before_the_202_is_accepted() {
    let mut p = Pair::new();
    let (sent, refer) = p.agent_refers("sip:carol@example.com", None);
    let mut sub = ReferSubscriber::new(&sent, true).unwrap();
    let _ = p.sotto.on_request(&refer, &mut rnd()).unwrap();
    let asked = ReferRequest::from_request(&refer).unwrap();
    let mut notifier = ReferNotifier::new(&asked, true, p.now);
    let n1 = notifier
        .notify(p.now, &mut p.sotto, unsent_via(), 100, "Trying")
        .unwrap();
    // The NOTIFY overtakes the 202 (RFC 3515 §2.4.4).
    let n1 = p.deliver_notify(n1);
    assert!(!sub.is_accepted());
    assert_eq!(sub.on_notify(&n1).status, 200);
    assert!(sub.is_accepted());
    let n2 = notifier
        .notify(p.now, &mut p.sotto, unsent_via(), 486, "Busy Here")
        .unwrap();
    let n2 = p.deliver_notify(n2);
    assert_eq!(sub.on_notify(&n2).outcome, ReferOutcome::Failed(486));
    // The late 202 changes nothing.
    let _ = p.sotto_answers(&refer, 202);
    assert_eq!(sub.on_refer_response(202), ReferOutcome::Failed(486));
}

#[test]
fn refused_or_lost_refer_fails_the_transfer() {
    let mut sub = ReferSubscriber::from_cseq(4, true);
    assert_eq!(sub.on_refer_response(100), ReferOutcome::Pending);
    assert_eq!(sub.on_refer_response(603), ReferOutcome::Failed(603));
    assert!(sub.is_terminated());
    let mut sub = ReferSubscriber::from_cseq(4, true);
    assert_eq!(sub.on_refer_timeout(), ReferOutcome::Failed(408));

    // A 400 from sotto for a REFER without Refer-To.
    let mut p = Pair::new();
    let refer = wire_req(p.agent.create_request(Method::Refer, unsent_via()).unwrap());
    let _ = p.sotto.on_request(&refer, &mut rnd()).unwrap();
    let err = ReferRequest::from_request(&refer).unwrap_err();
    assert_eq!(err, ReferError::MissingReferTo);
    assert_eq!(
        p.sotto_answers(&refer, err.status_code()),
        ResponseOutcome::Unchanged
    );
    assert_eq!(
        p.agent.state(),
        DialogState::Confirmed,
        "a 400 to REFER keeps the call"
    );
}

#[test]
fn a_second_refer_in_the_dialog_is_told_apart_by_event_id() {
    let mut p = Pair::new();
    let (sent1, refer1) = p.agent_refers("sip:carol@example.com", None);
    let (sent2, refer2) = p.agent_refers("sip:dave@example.com", None);
    let mut first = ReferSubscriber::new(&sent1, true).unwrap();
    let mut second = ReferSubscriber::new(&sent2, false).unwrap();
    for r in [&refer1, &refer2] {
        let _ = p.sotto.on_request(r, &mut rnd()).unwrap();
    }
    let mut n_first =
        ReferNotifier::new(&ReferRequest::from_request(&refer1).unwrap(), true, p.now);
    let mut n_second =
        ReferNotifier::new(&ReferRequest::from_request(&refer2).unwrap(), false, p.now);
    assert_eq!(n_first.event(), Event::new("refer"));
    assert_eq!(n_second.event(), Event::new("refer").with_id("3"));

    let a = n_second
        .notify(p.now, &mut p.sotto, unsent_via(), 180, "Ringing")
        .unwrap();
    let a = p.deliver_notify(a);
    assert_eq!(header_value(&a, "Event").as_deref(), Some("refer;id=3"));
    assert!(second.matches(&a));
    assert!(!first.matches(&a));
    assert_eq!(first.on_notify(&a).status, 481);
    assert_eq!(
        first.last_status(),
        None,
        "a refused NOTIFY changes nothing"
    );
    assert_eq!(second.on_notify(&a).status, 200);

    let b = n_first
        .notify(
            p.now,
            &mut p.sotto,
            unsent_via(),
            503,
            "Service Unavailable",
        )
        .unwrap();
    let b = p.deliver_notify(b);
    assert!(first.matches(&b) && !second.matches(&b));
    assert_eq!(first.on_notify(&b).outcome, ReferOutcome::Failed(503));
    assert_eq!(second.outcome(), ReferOutcome::Pending);

    // An unknown id: 481; another package: 489; no Subscription-State or body: 400.
    let mut bogus = b.clone();
    bogus.set_typed_header(&Event::new("refer").with_id("99"));
    assert_eq!(second.on_notify(&bogus).status, 481);
    bogus.set_typed_header(&Event::new("dialog"));
    assert_eq!(second.on_notify(&bogus).status, 489);
    let mut bogus = a.clone();
    bogus.remove_typed_header::<SubscriptionState>();
    assert_eq!(second.on_notify(&bogus).status, 400);
    let mut bogus = a.clone();
    bogus.body = b"hello".to_vec();
    assert_eq!(second.on_notify(&bogus).status, 400);
    assert_eq!(second.outcome(), ReferOutcome::Pending);
}

#[test]
fn subscription_without_final_status_ends_by_timeout() {
    let mut p = Pair::new();
    let (sent, refer) = p.agent_refers("sip:carol@example.com", None);
    let mut sub = ReferSubscriber::new(&sent, true).unwrap();
    let _ = p.sotto.on_request(&refer, &mut rnd()).unwrap();
    let start = p.now;
    let mut notifier = ReferNotifier::with_expires(
        ReferRequest::from_request(&refer).unwrap().cseq,
        true,
        start,
        Duration::from_secs(30),
    );
    let n = notifier
        .notify(start, &mut p.sotto, unsent_via(), 180, "Ringing")
        .unwrap();
    let n = p.deliver_notify(n);
    assert_eq!(sub.on_notify(&n).outcome, ReferOutcome::Pending);
    assert_eq!(
        notifier.poll_timeout(),
        Some(start + Duration::from_secs(30))
    );
    let early = start + Duration::from_millis(29_500);
    assert!(notifier
        .handle_timeout(early, &mut p.sotto, unsent_via())
        .is_none());
    // Half a second before the end the remaining time rounds up, never to 0.
    let last = notifier
        .notify(early, &mut p.sotto, unsent_via(), 183, "Session Progress")
        .unwrap();
    assert_eq!(
        header_value(&last, "Subscription-State").as_deref(),
        Some("active;expires=1")
    );
    let _ = p.deliver_notify(last);

    let end = start + Duration::from_secs(30);
    let t = notifier
        .handle_timeout(end, &mut p.sotto, unsent_via())
        .unwrap()
        .unwrap();
    let t = p.deliver_notify(t);
    assert_eq!(
        header_value(&t, "Subscription-State").as_deref(),
        Some("terminated;reason=timeout")
    );
    assert_eq!(t.body, b"SIP/2.0 183 Session Progress\r\n");
    assert!(notifier.is_terminated());
    assert_eq!(notifier.poll_timeout(), None);
    let answer = sub.on_notify(&t);
    assert_eq!(
        (answer.status, answer.outcome),
        (200, ReferOutcome::Failed(183))
    );
    assert!(sub.is_terminated());
}

#[test]
fn a_refused_notify_ends_the_notifiers_subscription() {
    let mut p = Pair::new();
    let (_, refer) = p.agent_refers("sip:carol@example.com", None);
    let _ = p.sotto.on_request(&refer, &mut rnd()).unwrap();
    let mut notifier =
        ReferNotifier::new(&ReferRequest::from_request(&refer).unwrap(), true, p.now);
    let n = notifier
        .notify(p.now, &mut p.sotto, unsent_via(), 100, "Trying")
        .unwrap();
    let n = p.deliver_notify(n);
    notifier.on_response(481);
    assert!(notifier.is_terminated());
    assert_eq!(
        notifier.notify(p.now, &mut p.sotto, unsent_via(), 200, "OK"),
        Err(NotifyError::Terminated)
    );
    let _ = n;
    // The dialog refuses NOTIFY once it has ended.
    let mut gone = ReferNotifier::new(&ReferRequest::from_request(&refer).unwrap(), true, p.now);
    p.sotto.terminate();
    assert!(matches!(
        gone.notify(p.now, &mut p.sotto, unsent_via(), 100, "Trying"),
        Err(NotifyError::Dialog(_))
    ));
}

#[test]
fn attended_refer_carries_the_replaces_of_the_consult_dialog() {
    let mut p = Pair::new();
    let consult = Replaces::new("consult-7@example.com", "t-far", "f-near");
    let (_, refer) = p.agent_refers("sip:bob@example.com", Some(&consult));
    let asked = ReferRequest::from_request(&refer).unwrap();
    assert_eq!(asked.replaces, Some(consult));
    assert_eq!(asked.target.user(), Some("bob"));
}

#[test]
fn replaces_names_the_dialog_from_the_recipients_side_both_orientations() {
    let p = Pair::new();
    // agent: UAC, local tag "caller", remote "callee". sotto: the mirror image.
    let for_agent = Replaces::new("call-1@127.0.0.1", "caller", "callee");
    let for_sotto = Replaces::new("call-1@127.0.0.1", "callee", "caller");
    assert!(for_agent.matches("call-1@127.0.0.1", "caller", "callee"));
    assert!(for_agent.matches_dialog(&p.agent));
    assert!(!for_agent.matches_dialog(&p.sotto));
    assert!(for_sotto.matches_dialog(&p.sotto));
    assert!(!for_sotto.matches_dialog(&p.agent));
    assert!(!Replaces::new("call-2@127.0.0.1", "callee", "caller").matches_dialog(&p.sotto));

    let dialogs = [p.agent.clone(), p.sotto.clone()];
    assert_eq!(
        for_sotto.find_replaced(&dialogs).unwrap().id(),
        p.sotto.id()
    );
    assert_eq!(
        for_agent.find_replaced(&dialogs).unwrap().id(),
        p.agent.id()
    );
    let stranger = Replaces::new("nope", "a", "b");
    let err = stranger.find_replaced(&dialogs).unwrap_err();
    assert_eq!((err, err.status_code()), (ReplacesError::NoMatch, 481));

    // early-only on a confirmed dialog: 486.
    let mut early_only = for_sotto.clone();
    early_only.early_only = true;
    let err = early_only.find_replaced(&dialogs).unwrap_err();
    assert_eq!(
        (err, err.status_code()),
        (ReplacesError::EarlyOnlyConfirmed, 486)
    );

    // An ended dialog: 603.
    let mut ended = p.sotto.clone();
    ended.terminate();
    let err = for_sotto.find_replaced([&ended]).unwrap_err();
    assert_eq!((err, err.status_code()), (ReplacesError::Terminated, 603));
}

#[test]
fn only_early_dialogs_we_initiated_may_be_replaced() {
    let (invite, ringing) = answered(180);
    let ours = Dialog::from_uac(&invite, &ringing).unwrap();
    assert_eq!(ours.state(), DialogState::Early);
    let mut early_only = Replaces::new("call-1@127.0.0.1", "caller", "callee");
    early_only.early_only = true;
    assert!(early_only.find_replaced([&ours]).is_ok());

    let theirs = Dialog::from_uas(&invite, Tag::new("callee"), contact("sip:s@127.0.0.1")).unwrap();
    let r = Replaces::new("call-1@127.0.0.1", "callee", "caller");
    assert_eq!(r.find_replaced([&theirs]).unwrap_err().status_code(), 481);
}

#[test]
fn replaces_option_tag_is_found_in_supported_or_require() {
    let mut req = invite();
    assert!(!lists_option_tag(&req, REPLACES_OPTION_TAG));
    req.headers
        .push(Header::Supported("timer, Replaces".into()));
    assert!(lists_option_tag(&req, REPLACES_OPTION_TAG));
    let mut req = wire_req(invite());
    req.headers.push(Header::Other("k".into(), "100rel".into()));
    assert!(!lists_option_tag(&req, REPLACES_OPTION_TAG));
    req.headers.push(Header::Require("replaces".into()));
    assert!(lists_option_tag(&req, REPLACES_OPTION_TAG));
}

#[test]
fn a_subscription_whose_dialog_ended_expires_once_and_quietly() {
    let mut p = Pair::new();
    let (_, refer) = p.agent_refers("sip:carol@example.com", None);
    let _ = p.sotto.on_request(&refer, &mut rnd()).unwrap();
    let start = p.now;
    let mut notifier =
        ReferNotifier::new(&ReferRequest::from_request(&refer).unwrap(), true, start);
    // The transferor hangs up before the transfer ends: the dialog is gone.
    let bye = p.agent.create_request(Method::Bye, unsent_via()).unwrap();
    let _ = p.sotto.on_request(&bye, &mut rnd()).unwrap();
    let end = start + DEFAULT_REFER_EXPIRES;
    assert!(matches!(
        notifier.handle_timeout(end, &mut p.sotto, unsent_via()),
        Some(Err(_))
    ));
    assert!(notifier.is_terminated());
    assert_eq!(notifier.poll_timeout(), None, "no deadline left to spin on");
    assert!(notifier
        .handle_timeout(end, &mut p.sotto, unsent_via())
        .is_none());
}
