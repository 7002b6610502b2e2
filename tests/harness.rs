//! Checks of the test harness itself and of the audio fixtures, so that a failing
//! integration test points at sotto and not at a parser or a silent fixture here.

mod common;

use common::audio::{self, Rtp, Wav};
use common::rawsip::{self, Response};

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
fn sip_response_parser_reads_status_branch_tag_contact_and_sdp() {
    let raw = b"SIP/2.0 200 OK\r\n\
        v: SIP/2.0/UDP 127.0.0.1:5000;branch=z9hG4bK-abc;rport=5000;received=127.0.0.1\r\n\
        To: <sip:echo@127.0.0.1>;tag=xyz\r\n\
        Contact: <sip:echo@127.0.0.1:5060;transport=udp>\r\n\
        Content-Length: 95\r\n\r\n\
        v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20002 RTP/AVP 0 101\r\n";
    let r = Response::parse(raw).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.branch(), Some("z9hG4bK-abc"));
    assert_eq!(r.to_tag(), Some("xyz"));
    assert_eq!(
        r.contact_uri(),
        Some("sip:echo@127.0.0.1:5060;transport=udp")
    );
    let sdp = rawsip::sdp_audio(&r.body).unwrap();
    assert_eq!(sdp.addr, ([127, 0, 0, 1], 20002).into());
    assert_eq!(sdp.payload_types, vec![0, 101]);
}

#[test]
fn request_encoding_has_a_matching_content_length() {
    let mut req = rawsip::Request::new("INVITE", "sip:echo@127.0.0.1:5060");
    req.body = rawsip::sdp_offer_pcmu(([127, 0, 0, 1], 4000).into());
    let bytes = req.encode(([127, 0, 0, 1], 5000).into(), "UDP");
    let text = String::from_utf8(bytes).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(
        head.contains(&format!("Content-Length: {}", body.len())),
        "{head}"
    );
    assert!(head.contains(";rport"), "{head}");
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
