//! The echo service, from the test UA (`common::ua`, its RTP socket driven here): what
//! we send over RTP comes back to us, and the call shows up in `GET /v1/calls` while it
//! lasts. SIPp cannot look at the RTP it receives, hence this test; it needs no peer
//! tool, so it never skips.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::audio::{self, Rtp};
use common::sotto::Sotto;
use common::ua::Ua;
use rsip::Method;
use sotto_sip::sdp::Codec;

const PCMU: u8 = 0;
/// 2 s of 20 ms packets.
const PACKETS: usize = 100;

#[test]
fn echo_service_sends_our_audio_back_and_lists_the_call() {
    let sotto = Sotto::start();
    let ua = Ua::builder("caller", sotto.sip).manual_media().start();

    // INVITE with a PCMU offer; expect 200 with an answer that keeps PCMU. The UA ACKs
    // it (a 2xx ACK is its own transaction, 13.2.2.4).
    let call = ua.call(&sotto.uri("echo"));
    common::poll_until(Duration::from_secs(5), || {
        call.read(|c| (!c.state().is_early()).then_some(()))
    });
    let (final_code, to_tag, negotiated) = call.read(|c| {
        (
            c.final_code(),
            c.remote_tag().map(str::to_string),
            c.negotiated().cloned(),
        )
    });
    let offer_answer = || ua.trace_tail(10);
    assert_eq!(
        final_code,
        Some(200),
        "INVITE sip:echo answered:\n{}",
        offer_answer()
    );
    assert!(to_tag.is_some(), "200 without a To tag");
    let answer =
        negotiated.unwrap_or_else(|| panic!("200 has no usable SDP audio:\n{}", offer_answer()));
    assert!(
        answer.codec == Codec::Pcmu && answer.payload_type.0 == PCMU,
        "answer does not keep PCMU: {answer:?}"
    );
    assert!(
        (sotto.rtp.0..=sotto.rtp.1).contains(&answer.remote_rtp.port()),
        "answer's media port {} is outside --rtp-ports {:?}",
        answer.remote_rtp.port(),
        sotto.rtp
    );

    let rtp = call.media.socket();
    let (echoed, calls_during) = stream_and_listen(&rtp, answer.remote_rtp, &sotto);

    // BYE ends it: 200, and the call leaves the list.
    call.act(|p, h| p.hangup(h)).expect("BYE sent");
    call.wait(Duration::from_secs(5), "answered its BYE", |c| {
        !c.codes_for(Method::Bye).is_empty()
    });
    let bye = call.read(|c| c.codes_for(Method::Bye));
    assert_eq!(bye, [200], "BYE answered:\n{}", ua.trace_tail(4));

    // What came back: most packets, PCMU, from where the answer said, with sound in it.
    assert!(
        echoed.len() >= PACKETS / 2,
        "only {} of {PACKETS} RTP packets came back",
        echoed.len()
    );
    for (from, p) in &echoed {
        assert_eq!(
            *from, answer.remote_rtp,
            "RTP came from {from}, not the answer's address"
        );
        assert_eq!(p.payload_type, PCMU, "echoed payload type");
    }
    let samples: Vec<i16> = echoed
        .iter()
        .flat_map(|(_, p)| p.payload.iter().map(|&b| audio::ulaw_to_linear(b)))
        .collect();
    let voiced = audio::voiced_fraction(&samples, 8_000);
    assert!(
        voiced > 0.3,
        "echoed audio is mostly silence ({:.0}% of frames voiced)",
        voiced * 100.0
    );

    assert!(
        calls_during >= 1,
        "GET /v1/calls never listed the call while it was up"
    );
    let emptied = common::poll_until(Duration::from_secs(5), || {
        (calls_listed(&sotto) == 0).then_some(())
    });
    assert!(
        emptied.is_some(),
        "the call is still listed 5 s after BYE: {}",
        sotto.get("/v1/calls").text()
    );
}

/// Sends the speech fixture as 20 ms PCMU packets to `to` while collecting what arrives
/// (until 1 s after the last packet), and polls `GET /v1/calls` meanwhile. Returns the
/// packets received with their source, and the most calls listed at once.
fn stream_and_listen(
    rtp: &UdpSocket,
    to: SocketAddr,
    sotto: &Sotto,
) -> (Vec<(SocketAddr, Rtp)>, usize) {
    let speech = std::fs::read(common::fixtures().join("audio/speech_8k.ulaw"))
        .expect("read fixtures/audio/speech_8k.ulaw");
    let done = AtomicBool::new(false);
    rtp.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    std::thread::scope(|s| {
        let receiver = s.spawn(|| {
            let mut got = Vec::new();
            let mut buf = [0u8; 2048];
            let mut quiet_since: Option<Instant> = None;
            loop {
                if let Ok((n, from)) = rtp.recv_from(&mut buf) {
                    if let Some(p) = Rtp::parse(&buf[..n]) {
                        got.push((from, p));
                    }
                }
                if done.load(Ordering::Relaxed) {
                    let since = *quiet_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > Duration::from_secs(1) {
                        return got;
                    }
                }
            }
        });
        let mut most_calls = 0;
        let start = Instant::now();
        for (i, chunk) in speech.chunks(160).cycle().take(PACKETS).enumerate() {
            let packet = Rtp {
                payload_type: PCMU,
                seq: 1000 + i as u16,
                timestamp: 160 * i as u32,
                ssrc: 0x5077_0001,
                payload: chunk.to_vec(),
            };
            rtp.send_to(&packet.encode(), to).expect("send RTP");
            if i % 25 == 10 {
                most_calls = most_calls.max(calls_listed(sotto));
            }
            let next = start + Duration::from_millis(20 * (i as u64 + 1));
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        done.store(true, Ordering::Relaxed);
        (receiver.join().expect("receiver thread"), most_calls)
    })
}

/// How many calls `GET /v1/calls` lists; it must answer 200 with a JSON array.
fn calls_listed(sotto: &Sotto) -> usize {
    let r = sotto.get("/v1/calls");
    assert_eq!(r.status, 200, "GET /v1/calls: {}", r.text());
    match r.json() {
        serde_json::Value::Array(calls) => calls.len(),
        other => panic!("GET /v1/calls is not a JSON list: {other}"),
    }
}
