//! Checks of the test harness itself and of the audio fixtures, so that a failing
//! integration test points at sotto and not at a parser or a silent fixture here.

mod common;

use std::time::{Duration, Instant};

use common::audio::{self, Rtp, Wav};
use common::ua::{answered, bye_received, raw, tone_level, Direction, Ua};
use rsip::Method;
use sotto_sip::sdp::SessionDescription;
use sotto_sip::transaction::Transport;

#[test]
fn speech_fixture_is_3_s_of_8_khz_mono_sound_and_matches_its_ulaw_twin() {
    let wav = Wav::read(&common::speech_wav());
    assert_eq!((wav.sample_rate, wav.channels.len()), (8_000, 1));
    assert!((wav.seconds() - 3.0).abs() < 0.01, "{} s", wav.seconds());
    assert!(wav.voiced_fraction() > 0.5, "{}", wav.voiced_fraction());

    let ulaw = std::fs::read(common::fixtures().join("audio/speech_8k.ulaw")).unwrap();
    assert_eq!(ulaw.len(), wav.channels[0].len(), "one µ-law byte a sample");
    // G.711 keeps a sample within its segment's step: at most 1/16 of the magnitude,
    // plus two of the smallest steps near zero (where encoders round differently).
    for (&u, &s) in ulaw.iter().zip(&wav.channels[0]) {
        let back = i32::from(audio::ulaw_to_linear(u));
        let s = i32::from(s);
        assert!(
            (back - s).abs() <= s.abs() / 16 + 16,
            "{s} came back as {back}"
        );
    }
}

#[test]
fn ulaw_decodes_the_g711_reference_points() {
    assert_eq!(audio::ulaw_to_linear(0xFF), 0);
    assert_eq!(audio::ulaw_to_linear(0x7F), 0);
    assert_eq!(audio::ulaw_to_linear(0x80), 32_124);
    assert_eq!(audio::ulaw_to_linear(0x00), -32_124);
}

#[test]
fn silence_is_not_voiced_and_a_tone_is() {
    assert_eq!(audio::voiced_fraction(&[0; 8_000], 8_000), 0.0);
    let tone: Vec<i16> = (0..8_000)
        .map(|i| (3_000.0 * (i as f64 * 440.0 * std::f64::consts::TAU / 8_000.0).sin()) as i16)
        .collect();
    assert_eq!(audio::voiced_fraction(&tone, 8_000), 1.0);
}

#[test]
fn rtp_round_trips_and_rtcp_is_not_taken_for_rtp() {
    let p = Rtp {
        payload_type: 0,
        seq: 7,
        timestamp: 1_120,
        ssrc: 42,
        payload: vec![0xFF; 160],
    };
    assert_eq!(Rtp::parse(&p.encode()), Some(p));
    let rtcp_rr = [0x80, 201, 0, 1, 0, 0, 0, 42];
    assert_eq!(Rtp::parse(&rtcp_rr), None);
}

#[test]
fn sip_response_reader_takes_status_branch_tag_contact_and_sdp() {
    let raw = b"SIP/2.0 200 OK\r\n\
        v: SIP/2.0/UDP 127.0.0.1:5000;branch=z9hG4bK-abc;rport=5000;received=127.0.0.1\r\n\
        From: <sip:test@127.0.0.1:5000>;tag=abc\r\n\
        To: <sip:echo@127.0.0.1>;tag=xyz\r\n\
        Call-ID: c1@127.0.0.1\r\n\
        CSeq: 1 INVITE\r\n\
        Contact: <sip:echo@127.0.0.1:5060;transport=udp>\r\n\
        Content-Type: application/sdp\r\n\
        Content-Length: 92\r\n\r\n\
        v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20002 RTP/AVP 0 101\r\n";
    let r = raw::parse_response(raw).unwrap();
    assert_eq!(raw::status(&r), 200);
    assert_eq!(sotto_sip::message::top_via_branch(&r), Some("z9hG4bK-abc"));
    assert_eq!(sotto_sip::message::to_tag(&r), Some("xyz"));
    assert_eq!(
        raw::header(&r.headers, "contact").as_deref(),
        Some("<sip:echo@127.0.0.1:5060;transport=udp>")
    );
    let sdp = SessionDescription::parse(&r.body).unwrap();
    let ip = sdp.connection_for(0).and_then(|c| c.ip_addr());
    assert_eq!(ip, Some([127, 0, 0, 1].into()));
    assert_eq!(sdp.media[0].port, 20002);
    assert_eq!(sdp.media[0].formats, ["0", "101"]);

    // A 400 echoes the faults of the request it answers (here no Call-ID, a CSeq that is
    // no number): it is still read, status and branch.
    let echo = b"SIP/2.0 400 Bad Request\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5000;branch=z9hG4bK-bad\r\n\
        From: <sip:test@127.0.0.1:5000>;tag=abc\r\n\
        To: <sip:echo@127.0.0.1>;tag=xyz\r\n\
        CSeq: one OPTIONS\r\n\
        Content-Length: 0\r\n\r\n";
    let r = raw::parse_response(echo).expect("the 400 is read");
    assert_eq!(raw::status(&r), 400);
    assert_eq!(sotto_sip::message::top_via_branch(&r), Some("z9hG4bK-bad"));
    assert!(raw::parse_response(b"OPTIONS sip:x SIP/2.0\r\n\r\n").is_none());
}

#[test]
fn raw_requests_have_a_matching_content_length_and_rport() {
    let local = ([127, 0, 0, 1], 5000).into();
    let req = raw::request(
        Method::Invite,
        "sip:echo@127.0.0.1:5060",
        local,
        Transport::Udp,
    );
    let text = req.text();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(
        head.contains(&format!("Content-Length: {}", body.len())),
        "{head}"
    );
    assert!(head.contains(";rport"), "{head}");
    // Well formed: sotto-sip reads it back, with the branch the request says.
    let msg = raw::parse(&req.bytes).expect("a well-formed request");
    assert_eq!(
        sotto_sip::message::top_via_branch(&msg),
        Some(req.branch.as_str())
    );
    let other = raw::request(
        Method::Invite,
        "sip:echo@127.0.0.1:5060",
        local,
        Transport::Udp,
    );
    assert_ne!(other.branch, req.branch, "each request its own branch");
}

/// The test UA against itself, no sotto: a call is answered, each side hears the
/// other's tone and not its own, digits go across as RFC 4733 events, a hold re-INVITE
/// offers sendonly, and a BYE ends it on both sides.
#[test]
fn two_test_phones_call_hear_each_other_and_hang_up() {
    let wait = Duration::from_secs(5);
    let bob = Ua::builder("bob", ([127, 0, 0, 1], 9).into())
        .tones(&[1500.0])
        .telephone_event(101)
        .start();
    let alice = Ua::builder("alice", bob.local())
        .tones(&[1000.0])
        .telephone_event(101)
        .start();
    let call = alice.call(&format!("sip:bob@{}", bob.local()));
    call.wait(wait, "answered", answered);
    let theirs = bob.wait_call(1, wait);
    theirs.wait(wait, "answered", answered);
    assert_eq!(theirs.request_user(), "bob");

    std::thread::sleep(Duration::from_millis(300));
    let from = Instant::now();
    std::thread::sleep(Duration::from_millis(800));
    let to = Instant::now();
    let (a, b) = (
        call.media.samples_between(from, to),
        theirs.media.samples_between(from, to),
    );
    assert!(
        a.len() >= 4000 && b.len() >= 4000,
        "{} {}",
        a.len(),
        b.len()
    );
    assert!(tone_level(&a, 1500.0) > 1500.0, "alice hears bob");
    assert!(
        tone_level(&a, 1000.0) < 200.0,
        "alice does not hear herself"
    );
    assert!(tone_level(&b, 1000.0) > 1500.0, "bob hears alice");
    assert!(tone_level(&b, 1500.0) < 200.0, "bob does not hear himself");

    call.send_dtmf("1#");
    let got = common::poll_until(wait, || {
        (theirs.media.received_digits(101) == "1#").then_some(())
    });
    assert!(got.is_some(), "{:?}", theirs.media.received_digits(101));

    assert_eq!(call.hold(), 200);
    assert_eq!(theirs.wait_offer(1, wait), Direction::SendOnly);
    call.hang_up();
    theirs.wait(wait, "hung up", bye_received);
    assert!(theirs.state().is_terminated());
}

#[test]
fn http_parser_handles_length_and_chunked_bodies() {
    let r = common::http::parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]").unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"[]"[..]));
    let r = common::http::parse(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\n[\r\n1\r\n]\r\n0\r\n\r\n",
    )
    .unwrap();
    assert_eq!(r.body, b"[]");
}

#[test]
fn free_ports_are_distinct_and_ranges_do_not_overlap() {
    let a = common::ports::free_port();
    let b = common::ports::free_port();
    assert_ne!(a, b);
    let r1 = common::ports::free_range(100);
    let r2 = common::ports::free_range(100);
    assert!(r1.1 < r2.0 || r2.1 < r1.0, "{r1:?} overlaps {r2:?}");
    assert_eq!(r1.0 % 2, 0, "RTP ranges start even");
}
