//! SDP bodies as real peers send them, and what the edge must make of them.

use std::net::{IpAddr, SocketAddr};

use super::*;

/// `sipp -sn uac` (its built-in scenario), with the keywords filled in.
const SIPP_UAC: &str = "v=0\r\n\
o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 6000 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n";

/// baresip with its default modules: opus, G.722, G.711, telephone-event.
const BARESIP: &str = "v=0\r\n\
o=- 1957429323 3012386117 IN IP4 192.168.1.20\r\n\
s=-\r\n\
c=IN IP4 192.168.1.20\r\n\
t=0 0\r\n\
m=audio 10176 RTP/AVP 96 9 0 8 101\r\n\
b=AS:128\r\n\
a=rtpmap:96 opus/48000/2\r\n\
a=fmtp:96 stereo=1;sprop-stereo=1\r\n\
a=rtpmap:9 G722/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=sendrecv\r\n\
a=label:1\r\n\
a=rtcp-rsize\r\n\
a=ssrc:1843254929 cname:9e1d1c2a-0b1f-4ab5-bb54-0d4b2e1a9c37\r\n";

/// Linphone-like: ICE at session level, several telephone-event rates, a video line,
/// payload type 96 reused across the two lines, and LF line ends.
const LINPHONE: &str = "v=0\n\
o=alice 2790 3468 IN IP4 10.0.0.21\n\
s=Talk\n\
c=IN IP4 10.0.0.21\n\
t=0 0\n\
a=ice-pwd:31ec21eb38b2ec6d36e8dc7b\n\
a=ice-ufrag:0ae3a0bb\n\
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\n\
m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100\n\
a=rtpmap:96 opus/48000/2\n\
a=fmtp:96 useinbandfec=1\n\
a=rtpmap:97 speex/16000\n\
a=fmtp:97 vbr=on\n\
a=rtpmap:98 speex/8000\n\
a=fmtp:98 vbr=on\n\
a=fmtp:18 annexb=yes\n\
a=rtpmap:101 telephone-event/48000\n\
a=rtpmap:99 telephone-event/16000\n\
a=rtpmap:100 telephone-event/8000\n\
a=rtcp:7079\n\
a=candidate:1 1 UDP 2130706431 10.0.0.21 7078 typ host\n\
m=video 9078 RTP/AVP 96 97\n\
a=rtpmap:96 VP8/90000\n\
a=rtpmap:97 H264/90000\n\
a=fmtp:97 profile-level-id=42801F\n\
a=rtcp-fb:* ccm tmmbr\n";

fn sdp(text: &str) -> SessionDescription {
    SessionDescription::parse(text.as_bytes()).expect("test SDP parses")
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn local() -> LocalMedia {
    LocalMedia::new(ip("198.51.100.7"), 30000)
}

fn answer_to(text: &str) -> Result<Answer, OfferAnswerError> {
    answer(
        &sdp(text),
        &local(),
        Origin::local(7, 7, ip("198.51.100.7")),
    )
}

/// A one-line audio offer with `extra` lines appended to the media section.
fn audio_offer(conn: &str, formats: &str, extra: &str) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 {conn}\r\nt=0 0\r\n\
         m=audio 4000 RTP/AVP {formats}\r\n{extra}"
    )
}

// ---- parsing -------------------------------------------------------------------------

#[test]
fn parses_the_sipp_offer() {
    let s = sdp(SIPP_UAC);
    assert_eq!(s.origin.session_id, "53655765");
    assert_eq!(s.origin.session_version, "2353687637");
    assert_eq!(
        s.connection.as_ref().unwrap().ip_addr(),
        Some(ip("127.0.0.1"))
    );
    assert_eq!(s.media.len(), 1);
    let m = &s.media[0];
    assert_eq!(
        (m.media.clone(), m.port, m.proto.as_str()),
        (MediaType::Audio, 6000, "RTP/AVP")
    );
    assert_eq!(m.codec_of(PayloadType(0)), Some(Codec::Pcmu));
    assert_eq!(s.direction_for(0), Direction::SendRecv);
}

#[test]
fn keeps_unknown_lines_and_attributes_through_a_round_trip() {
    for text in [SIPP_UAC, BARESIP, LINPHONE] {
        let parsed = sdp(text);
        let printed = parsed.to_string();
        assert!(printed.lines().all(|l| !l.is_empty()));
        assert_eq!(sdp(&printed), parsed, "round trip of\n{printed}");
    }
    let printed = sdp(BARESIP).to_string();
    for line in [
        "b=AS:128",
        "a=label:1",
        "a=rtcp-rsize",
        "a=fmtp:96 stereo=1;sprop-stereo=1",
    ] {
        assert!(printed.contains(line), "{line} lost from\n{printed}");
    }
    let linphone = sdp(LINPHONE);
    assert!(linphone.attributes.iter().any(|a| a.name == "ice-ufrag"));
    assert_eq!(linphone.media[1].media, MediaType::Video);
}

#[test]
fn prints_an_offer_in_rfc_4566_order() {
    let offer = build_offer(&local(), Origin::local(42, 43, ip("198.51.100.7")));
    assert_eq!(
        offer.to_string(),
        "v=0\r\n\
         o=- 42 43 IN IP4 198.51.100.7\r\n\
         s=sotto\r\n\
         c=IN IP4 198.51.100.7\r\n\
         t=0 0\r\n\
         m=audio 30000 RTP/AVP 0 8 101\r\n\
         a=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\n\
         a=fmtp:101 0-16\r\n\
         a=ptime:20\r\n\
         a=sendrecv\r\n"
    );
}

#[test]
fn a_malformed_rtpmap_is_kept_as_text_and_does_not_fail_the_body() {
    let s = sdp(&audio_offer(
        "192.0.2.1",
        "0 96",
        "a=rtpmap:96 brokencodec\r\na=ptime:abc\r\n",
    ));
    let m = &s.media[0];
    assert!(m.rtpmaps.is_empty());
    assert_eq!(m.ptime, None);
    assert_eq!(m.attributes.len(), 2);
}

#[test]
fn unusable_bodies_are_errors() {
    let cases: &[(&str, SdpError)] = &[
        ("", SdpError::Empty),
        ("\r\n\r\n", SdpError::Empty),
        ("hello world", SdpError::MissingVersion { line: 1 }),
        (
            "v=1\r\no=- 1 1 IN IP4 1.2.3.4\r\n",
            SdpError::MissingVersion { line: 1 },
        ),
        ("v=0\r\n", SdpError::MissingOrigin),
        ("v=0\r\no=- 1 1 IN IP4", SdpError::BadOrigin { line: 2 }),
        (
            "v=0\r\no=- one 1 IN IP4 1.2.3.4\r\n",
            SdpError::BadOrigin { line: 2 },
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4\r\n",
            SdpError::BadConnection { line: 3 },
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4:5\r\n",
            SdpError::BadConnection { line: 3 },
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 4000",
            SdpError::BadMedia { line: 3 },
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 99999 RTP/AVP 0",
            SdpError::BadMedia { line: 3 },
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio x RTP/AVP 0",
            SdpError::BadMedia { line: 3 },
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ngarbage\r\n",
            SdpError::MalformedLine { line: 3 },
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nab=c\r\n",
            SdpError::MalformedLine { line: 3 },
        ),
    ];
    for (text, want) in cases {
        assert_eq!(
            SessionDescription::parse(text.as_bytes()).as_ref(),
            Err(want),
            "{text:?}"
        );
    }
    let huge = vec![b'a'; MAX_SDP_LEN + 1];
    assert_eq!(SessionDescription::parse(&huge), Err(SdpError::TooLarge));
}

#[test]
fn bytes_that_are_not_utf8_do_not_stop_parsing() {
    let mut body = SIPP_UAC.replace("s=-", "s=\u{fffd}").into_bytes();
    let at = body.iter().position(|b| *b == 0xef).unwrap();
    body.splice(at..at + 3, [0xff, 0xfe]);
    let s = SessionDescription::parse(&body).unwrap();
    assert_eq!(s.media.len(), 1);
}

#[test]
fn every_truncation_of_real_offers_parses_or_errors_and_never_panics() {
    for text in [SIPP_UAC, BARESIP, LINPHONE] {
        for end in 0..text.len() {
            if let Ok(s) = SessionDescription::parse(&text.as_bytes()[..end]) {
                let _ = answer(&s, &local(), Origin::local(1, 1, ip("198.51.100.7")));
                let _ = s.to_string();
            }
        }
    }
}

#[test]
fn random_mutations_never_panic() {
    // A small xorshift: deterministic, no global RNG.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"=:/ \r\n0123456789aemcov.-*\x00\xff";
    for text in [SIPP_UAC, BARESIP, LINPHONE] {
        for _ in 0..2000 {
            let mut b = text.as_bytes().to_vec();
            for _ in 0..(next() % 8 + 1) {
                let at = (next() as usize) % b.len();
                let c = alphabet[(next() as usize) % alphabet.len()];
                match next() % 3 {
                    0 => b[at] = c,
                    1 => b.insert(at, c),
                    _ => drop(b.remove(at)),
                }
            }
            if let Ok(s) = SessionDescription::parse(&b) {
                if let Ok(a) = answer(&s, &local(), Origin::local(1, 1, ip("198.51.100.7"))) {
                    let _ = process_answer(&s, &a.sdp);
                }
                let _ = process_answer(&s, &s);
            }
        }
    }
}

// ---- answering -----------------------------------------------------------------------

#[test]
fn answers_sipp_with_pcmu_and_no_telephone_event() {
    let a = answer_to(SIPP_UAC).unwrap();
    let n = &a.negotiated;
    assert_eq!((n.codec, n.payload_type), (Codec::Pcmu, PayloadType(0)));
    assert_eq!(
        n.remote_rtp,
        "127.0.0.1:6000".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(n.telephone_event, None);
    assert_eq!(n.direction, Direction::SendRecv);
    let text = a.sdp.to_string();
    assert!(text.contains("m=audio 30000 RTP/AVP 0\r\n"), "{text}");
    assert!(text.contains("c=IN IP4 198.51.100.7\r\n"));
    assert!(!text.contains("telephone-event"));
}

#[test]
fn answers_baresip_with_the_first_offered_codec_we_support() {
    let a = answer_to(BARESIP).unwrap();
    let n = &a.negotiated;
    assert_eq!((n.codec, n.payload_type), (Codec::Pcmu, PayloadType(0)));
    assert_eq!(n.telephone_event, Some(PayloadType(101)));
    assert_eq!(
        n.remote_rtp,
        "192.168.1.20:10176".parse::<SocketAddr>().unwrap()
    );
    let m = &a.sdp.media[0];
    assert_eq!(m.formats, ["0", "101"]);
    assert_eq!(m.fmtp("101"), Some(TELEPHONE_EVENT_FMTP));
}

#[test]
fn the_offerers_order_wins_over_ours() {
    let a = answer_to(&audio_offer("192.0.2.1", "8 0", "")).unwrap();
    assert_eq!(a.negotiated.codec, Codec::Pcma);
    assert_eq!(a.sdp.media[0].formats, ["8"]);
}

#[test]
fn answers_linphone_declining_video_and_picking_the_8k_event_type() {
    let a = answer_to(LINPHONE).unwrap();
    assert_eq!(a.negotiated.codec, Codec::Pcmu);
    assert_eq!(a.negotiated.telephone_event, Some(PayloadType(100)));
    assert_eq!(a.sdp.media.len(), 2);
    assert_eq!(a.sdp.media[0].formats, ["0", "100"]);
    let video = &a.sdp.media[1];
    assert_eq!((video.media.clone(), video.port), (MediaType::Video, 0));
    assert_eq!(video.formats, ["96", "97"]);
    assert!(a.sdp.to_string().ends_with("m=video 0 RTP/AVP 96 97\r\n"));
}

#[test]
fn a_dynamic_payload_type_for_g711_keeps_the_offerers_number() {
    let a = answer_to(&audio_offer("192.0.2.1", "96", "a=rtpmap:96 pcma/8000\r\n")).unwrap();
    assert_eq!(
        (a.negotiated.codec, a.negotiated.payload_type),
        (Codec::Pcma, PayloadType(96))
    );
    assert!(a.sdp.to_string().contains("a=rtpmap:96 PCMA/8000\r\n"));
}

#[test]
fn telephone_event_at_another_rate_or_unwanted_is_left_out() {
    let at_48k = audio_offer(
        "192.0.2.1",
        "0 101",
        "a=rtpmap:101 telephone-event/48000\r\n",
    );
    assert_eq!(answer_to(&at_48k).unwrap().negotiated.telephone_event, None);

    let at_8k = audio_offer(
        "192.0.2.1",
        "0 101",
        "a=rtpmap:101 telephone-event/8000\r\n",
    );
    let mut no_dtmf = local();
    no_dtmf.telephone_event = None;
    let a = answer(
        &sdp(&at_8k),
        &no_dtmf,
        Origin::local(1, 1, ip("198.51.100.7")),
    )
    .unwrap();
    assert_eq!(a.negotiated.telephone_event, None);
    assert_eq!(a.sdp.media[0].formats, ["0"]);
}

#[test]
fn answer_direction_mirrors_the_offer_rfc_6337() {
    for (offered, answered) in [
        ("sendonly", Direction::RecvOnly),
        ("recvonly", Direction::SendOnly),
        ("inactive", Direction::Inactive),
        ("sendrecv", Direction::SendRecv),
    ] {
        let media_level = audio_offer("192.0.2.1", "0", &format!("a={offered}\r\n"));
        let a = answer_to(&media_level).unwrap();
        assert_eq!(a.negotiated.direction, answered, "offer {offered}");
        assert!(a.sdp.to_string().contains(&format!("a={answered}\r\n")));

        let session_level = audio_offer("192.0.2.1", "0", "")
            .replace("t=0 0\r\n", &format!("t=0 0\r\na={offered}\r\n"));
        assert_eq!(
            answer_to(&session_level).unwrap().negotiated.direction,
            answered
        );
    }
    let media_overrides = audio_offer("192.0.2.1", "0", "a=sendrecv\r\n")
        .replace("t=0 0\r\n", "t=0 0\r\na=inactive\r\n");
    assert_eq!(
        answer_to(&media_overrides).unwrap().negotiated.direction,
        Direction::SendRecv
    );
}

#[test]
fn our_hold_limits_the_answer() {
    let mut holding = local();
    holding.direction = Direction::SendOnly;
    let origin = || Origin::local(1, 1, ip("198.51.100.7"));
    let sendrecv = sdp(&audio_offer("192.0.2.1", "0", ""));
    let a = answer(&sendrecv, &holding, origin()).unwrap();
    assert_eq!(a.negotiated.direction, Direction::SendOnly);
    let sendonly = sdp(&audio_offer("192.0.2.1", "0", "a=sendonly\r\n"));
    let a = answer(&sendonly, &holding, origin()).unwrap();
    assert_eq!(a.negotiated.direction, Direction::Inactive);
}

#[test]
fn rfc_2543_hold_address_means_do_not_send() {
    let a = answer_to(&audio_offer("0.0.0.0", "0", "")).unwrap();
    assert_eq!(a.negotiated.direction, Direction::RecvOnly);
    assert_eq!(
        a.negotiated.remote_rtp,
        "0.0.0.0:4000".parse::<SocketAddr>().unwrap()
    );
    let a = answer_to(&audio_offer("0.0.0.0", "0", "a=recvonly\r\n")).unwrap();
    assert_eq!(a.negotiated.direction, Direction::Inactive);
}

#[test]
fn media_level_connection_overrides_the_session() {
    let text = audio_offer("192.0.2.1", "0", "c=IN IP4 203.0.113.9\r\n");
    let a = answer_to(&text).unwrap();
    assert_eq!(
        a.negotiated.remote_rtp,
        "203.0.113.9:4000".parse::<SocketAddr>().unwrap()
    );
}

#[test]
fn ipv6_offers_are_answered() {
    let text = audio_offer("192.0.2.1", "0", "c=IN IP6 2001:db8::1\r\n");
    let a = answer_to(&text).unwrap();
    assert_eq!(
        a.negotiated.remote_rtp,
        "[2001:db8::1]:4000".parse::<SocketAddr>().unwrap()
    );
}

#[test]
fn disabled_lines_stay_disabled_and_the_next_audio_line_is_used() {
    let text = audio_offer("192.0.2.1", "0", "").replace(
        "m=audio 4000 RTP/AVP 0\r\n",
        "m=audio 0 RTP/AVP 0\r\nm=audio 4002 RTP/SAVP 0\r\nm=audio 4004 RTP/AVP 8\r\nm=audio 4006 RTP/AVP 0\r\n",
    );
    let a = answer_to(&text).unwrap();
    assert_eq!(a.negotiated.media_index, 2);
    assert_eq!(a.negotiated.codec, Codec::Pcma);
    let ports: Vec<u16> = a.sdp.media.iter().map(|m| m.port).collect();
    assert_eq!(ports, [0, 0, 30000, 0], "one audio stream only");
    assert_eq!(a.sdp.media[1].proto, "RTP/SAVP");
}

#[test]
fn offers_we_cannot_take_are_refused_with_488() {
    let cases = [
        (
            audio_offer("192.0.2.1", "96 9", "a=rtpmap:96 opus/48000/2\r\n"),
            OfferAnswerError::NoCommonCodec,
        ),
        (
            audio_offer("192.0.2.1", "0", "").replace("m=audio", "m=video"),
            OfferAnswerError::NoAudio,
        ),
        (
            audio_offer("192.0.2.1", "0", "").replace("4000", "0"),
            OfferAnswerError::NoAudio,
        ),
        (
            audio_offer("192.0.2.1", "0", "").replace("RTP/AVP", "RTP/SAVP"),
            OfferAnswerError::NoAudio,
        ),
        (
            audio_offer("192.0.2.1", "0", "").replace("c=IN IP4 192.0.2.1\r\n", ""),
            OfferAnswerError::NoConnection { media_index: 0 },
        ),
        (
            audio_offer("media.example.com", "0", ""),
            OfferAnswerError::HostConnection { media_index: 0 },
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n".to_owned(),
            OfferAnswerError::NoAudio,
        ),
        (
            audio_offer("192.0.2.1", "", ""),
            OfferAnswerError::NoCommonCodec,
        ),
        (
            audio_offer("192.0.2.1", "0", "a=rtpmap:0 PCMU/16000\r\n"),
            OfferAnswerError::NoCommonCodec,
        ),
    ];
    for (text, want) in cases {
        let got = answer_to(&text).unwrap_err();
        assert_eq!(got, want, "{text}");
        assert_eq!(got.status_code(), 488);
    }
}

// ---- both sides ----------------------------------------------------------------------

#[test]
fn offerer_and_answerer_agree() {
    let mut alice = LocalSession::new(100, 100);
    let mut bob = LocalSession::new(200, 200);
    let alice_media = LocalMedia::new(ip("192.0.2.10"), 20000);
    let mut bob_media = LocalMedia::new(ip("192.0.2.20"), 30000);
    bob_media.codecs = vec![Codec::Pcma];

    let offer = sdp(&alice.offer(&alice_media).to_string());
    let answer = bob.answer(&offer, &bob_media).unwrap();
    let on_wire = sdp(&answer.sdp.to_string());
    let got = process_answer(&offer, &on_wire).unwrap();

    assert_eq!(got.codec, Codec::Pcma);
    assert_eq!(got.codec, answer.negotiated.codec);
    assert_eq!(got.telephone_event, Some(PayloadType(101)));
    assert_eq!(
        got.remote_rtp,
        "192.0.2.20:30000".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(
        answer.negotiated.remote_rtp,
        "192.0.2.10:20000".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(got.remote_ptime, Some(20));
    assert_eq!(got.direction, Direction::SendRecv);
}

#[test]
fn hold_and_resume_by_re_offer() {
    let mut alice = LocalSession::new(100, 100);
    let mut bob = LocalSession::new(200, 200);
    let mut alice_media = LocalMedia::new(ip("192.0.2.10"), 20000);
    let bob_media = LocalMedia::new(ip("192.0.2.20"), 30000);

    alice_media.direction = Direction::SendOnly;
    let hold = alice.offer(&alice_media);
    let a = bob.answer(&hold, &bob_media).unwrap();
    assert_eq!(a.negotiated.direction, Direction::RecvOnly, "bob is held");
    assert_eq!(
        process_answer(&hold, &a.sdp).unwrap().direction,
        Direction::SendOnly
    );

    alice_media.direction = Direction::SendRecv;
    let resume = alice.offer(&alice_media);
    let a = bob.answer(&resume, &bob_media).unwrap();
    assert_eq!(a.negotiated.direction, Direction::SendRecv);
    assert_eq!(
        process_answer(&resume, &a.sdp).unwrap().direction,
        Direction::SendRecv
    );
}

#[test]
fn a_recvonly_answer_stops_us_sending() {
    let offer = build_offer(&local(), Origin::local(1, 1, ip("198.51.100.7")));
    let reply = audio_offer("192.0.2.1", "0", "a=sendonly\r\n");
    assert_eq!(
        process_answer(&offer, &sdp(&reply)).unwrap().direction,
        Direction::RecvOnly
    );
    let reply = audio_offer("192.0.2.1", "0", "a=recvonly\r\n");
    assert_eq!(
        process_answer(&offer, &sdp(&reply)).unwrap().direction,
        Direction::SendOnly
    );
    let reply = audio_offer("0.0.0.0", "0", "");
    assert_eq!(
        process_answer(&offer, &sdp(&reply)).unwrap().direction,
        Direction::RecvOnly
    );
}

#[test]
fn bad_answers_to_our_offer_are_errors() {
    let offer = build_offer(&local(), Origin::local(1, 1, ip("198.51.100.7")));
    let two_lines = audio_offer("192.0.2.1", "0", "m=video 0 RTP/AVP 96\r\n");
    assert_eq!(
        process_answer(&offer, &sdp(&two_lines)),
        Err(OfferAnswerError::MediaCountMismatch {
            offered: 1,
            answered: 2
        })
    );
    let rejected = audio_offer("192.0.2.1", "0", "").replace("4000", "0");
    assert_eq!(
        process_answer(&offer, &sdp(&rejected)),
        Err(OfferAnswerError::AudioRejected)
    );
    let not_offered = audio_offer("192.0.2.1", "9 18", "");
    assert_eq!(
        process_answer(&offer, &sdp(&not_offered)),
        Err(OfferAnswerError::NoCommonCodec)
    );
}

#[test]
fn the_answer_picks_the_first_listed_codec_we_offered() {
    let mut mine = local();
    mine.codecs = vec![Codec::Pcma];
    let offer = build_offer(&mine, Origin::local(1, 1, ip("198.51.100.7")));
    let reply = audio_offer("192.0.2.1", "0 8", "");
    let got = process_answer(&offer, &sdp(&reply)).unwrap();
    assert_eq!(got.codec, Codec::Pcma, "PCMU was not offered");
    assert_eq!(got.telephone_event, None);
}

#[test]
fn origin_version_moves_only_when_the_description_changes() {
    let mut session = LocalSession::new(5000, 7);
    let mut media = local();
    let first = session.offer(&media);
    assert_eq!(
        (
            first.origin.session_id.as_str(),
            first.origin.session_version.as_str()
        ),
        ("5000", "7")
    );
    let refresh = session.offer(&media);
    assert_eq!(
        refresh.origin.session_version, "7",
        "unchanged body keeps its version"
    );
    assert_eq!(refresh, first);

    media.direction = Direction::SendOnly;
    let hold = session.offer(&media);
    assert_eq!(hold.origin.session_version, "8");
    assert_eq!(hold.origin.session_id, "5000");

    let peer_offer = sdp(&audio_offer("192.0.2.1", "8", ""));
    let a = session.answer(&peer_offer, &media).unwrap();
    assert_eq!(a.sdp.origin.session_version, "9");
    assert_eq!(session.version(), 9);

    assert!(session
        .answer(&sdp(&audio_offer("192.0.2.1", "9", "")), &media)
        .is_err());
    assert_eq!(session.version(), 9, "a refused offer sends nothing");
}
