//! sotto with a real softphone: baresip registers as agent1 (digest auth), `sotto call`
//! rings it through sotto's B2BUA, baresip answers by itself, and audio flows both ways:
//! `sotto call` records what baresip sends, baresip records what `sotto call` plays.

mod common;

use std::time::Duration;

use common::audio::{self, Wav};
use common::baresip::{Account, Baresip};
use common::sotto::{self, Sotto};

#[test]
fn call_to_registered_baresip_carries_audio_both_ways() {
    require_peer!("baresip");
    let sotto = Sotto::start();

    // baresip sends speech for longer than the call lasts (it hangs up at end of file).
    let source = sotto.scratch().join("agent_speech.wav");
    let speech = Wav::read(&common::speech_wav());
    let long: Vec<i16> = speech.channels[0]
        .iter()
        .copied()
        .cycle()
        .take(8_000 * 20)
        .collect();
    audio::write_wav(&source, 8_000, &long);

    let phone = Baresip::start(
        &Account {
            user: "agent1".into(),
            password: "agent1".into(),
            registrar: sotto.sip,
        },
        &source,
    );
    assert!(
        phone.wait_registered(Duration::from_secs(15)),
        "baresip did not register as agent1 within 15 s"
    );

    let record = sotto.scratch().join("heard.wav");
    let uri = sotto.uri("agent1");
    let speech_path = common::speech_wav();
    let call = sotto::run(
        &[
            "call",
            &uri,
            "--play",
            &speech_path.to_string_lossy(),
            "--record",
            &record.to_string_lossy(),
            "--duration",
            "3",
        ],
        sotto.scratch(),
        Duration::from_secs(30),
    );
    assert_eq!(
        call.status.and_then(|s| s.code()),
        Some(0),
        "`sotto call {uri}` did not succeed (None = killed after 30 s); output:\n{}",
        common::tail(&call.output, 10_000)
    );
    assert!(
        phone.wait_call_ended(Duration::from_secs(10)),
        "baresip did not see the call end within 10 s of `sotto call` returning"
    );

    // What `sotto call` heard: baresip's speech.
    assert!(record.is_file(), "`sotto call --record` wrote no file");
    let heard = Wav::read(&record);
    assert!(
        heard.seconds() >= 1.0,
        "recording is only {:.2} s long",
        heard.seconds()
    );
    assert!(
        heard.voiced_fraction() > 0.2,
        "`sotto call` recorded near silence ({:.0}% of frames voiced)",
        heard.voiced_fraction() * 100.0
    );

    // What baresip heard: the speech `sotto call` played.
    let received = phone
        .received_wav()
        .expect("baresip wrote no dump of received audio (sndfile *-dec.wav)");
    let got = Wav::read(&received);
    assert!(
        got.voiced_fraction() > 0.2,
        "baresip received near silence ({:.0}% of frames voiced, {:.2} s)",
        got.voiced_fraction() * 100.0,
        got.seconds()
    );
}
