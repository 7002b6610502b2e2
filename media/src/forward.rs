//! Packet-driven forwarding for the edge's first routes: [`Echo`] (a leg hears itself)
//! and [`Relay`] (a B2BUA bridge between two legs, transcoding PCMU↔PCMA when the legs
//! negotiated different codecs).
//!
//! Both decode every packet and encode it again, even when the codecs match: the frame
//! between the two steps is where the denoiser will sit, and G.711 re-encodes its own
//! output exactly (µ-law's negative zero becomes positive zero, nothing else changes).
//! Outgoing streams are ours: each leg's sender keeps its SSRC, sequence and timestamp
//! whatever the source, following the source's timing through [`MediaLeg::follow`].

use std::time::Instant;

use bytes::Bytes;

use crate::error::Error;
use crate::leg::{LegInput, MediaLeg};

/// Plays a leg's audio back to it, re-packetised under our SSRC.
#[derive(Debug, Clone)]
pub struct Echo {
    leg: MediaLeg,
}

impl Echo {
    /// Echoes on `leg`.
    pub fn new(leg: MediaLeg) -> Echo {
        Echo { leg }
    }

    /// Takes a datagram from the peer; `Ok(Some(n))` means `out[..n]` goes back to it.
    pub fn on_rtp(
        &mut self,
        now: Instant,
        datagram: Bytes,
        out: &mut [u8],
    ) -> Result<Option<usize>, Error> {
        let LegInput::Frame(info) = self.leg.on_rtp(now, datagram)? else {
            return Ok(None);
        };
        self.leg.follow(&info);
        let frame = *self.leg.frame();
        Ok(Some(self.leg.produce_rtp(&frame, out)?))
    }

    /// The leg.
    pub fn leg(&self) -> &MediaLeg {
        &self.leg
    }

    /// Gives the leg back, e.g. to bridge it once an agent answers.
    pub fn into_leg(self) -> MediaLeg {
        self.leg
    }
}

/// One of the two legs of a [`Relay`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The first leg (by convention the caller).
    A,
    /// The second leg.
    B,
}

impl Side {
    /// The other leg.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

/// Bridges two legs: what one peer says, the other hears.
#[derive(Debug, Clone)]
pub struct Relay {
    a: MediaLeg,
    b: MediaLeg,
}

impl Relay {
    /// Bridges `a` and `b`.
    pub fn new(a: MediaLeg, b: MediaLeg) -> Relay {
        Relay { a, b }
    }

    /// A leg.
    pub fn leg(&self, side: Side) -> &MediaLeg {
        match side {
            Side::A => &self.a,
            Side::B => &self.b,
        }
    }

    /// Takes a datagram from the peer of leg `from`; `Ok(Some(n))` means `out[..n]` goes
    /// to the peer of the other leg, in that leg's codec.
    pub fn on_rtp(
        &mut self,
        now: Instant,
        from: Side,
        datagram: Bytes,
        out: &mut [u8],
    ) -> Result<Option<usize>, Error> {
        let (source, sink) = match from {
            Side::A => (&mut self.a, &mut self.b),
            Side::B => (&mut self.b, &mut self.a),
        };
        let LegInput::Frame(info) = source.on_rtp(now, datagram)? else {
            return Ok(None);
        };
        sink.follow(&info);
        Ok(Some(sink.produce_rtp(source.frame(), out)?))
    }

    /// Puts `leg` in place of `side`'s leg (a transfer) and returns the old one. The
    /// other peer's stream goes on unbroken: same SSRC, next sequence number, next
    /// timestamp, and a marker for the new talker.
    pub fn replace(&mut self, side: Side, leg: MediaLeg) -> MediaLeg {
        let slot = match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        };
        let old = std::mem::replace(slot, leg);
        match side.other() {
            Side::A => self.a.sender_mut().mark_next(),
            Side::B => self.b.sender_mut().mark_next(),
        }
        old
    }

    /// Ends the bridge, giving both legs back.
    pub fn into_legs(self) -> (MediaLeg, MediaLeg) {
        (self.a, self.b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Codec, Frame, FRAME_SAMPLES, SILENT_FRAME};
    use crate::error::PeerMisbehaved;
    use crate::ids::{PayloadType, RtpTimestamp, SeqNo, Ssrc};
    use crate::leg::LegConfig;
    use crate::test_util::{decode, parse, sine_frames, snr_db, Peer};

    fn leg(codec: Codec, ssrc: u32, seq: u16, ts: u32) -> MediaLeg {
        MediaLeg::new(LegConfig {
            codec,
            telephone_event: PayloadType::new(101),
            ssrc: Ssrc(ssrc),
            first_seq: SeqNo(seq),
            first_timestamp: RtpTimestamp(ts),
        })
    }

    #[test]
    fn echo_returns_the_same_audio_under_our_stream() {
        let now = Instant::now();
        let mut echo = Echo::new(leg(Codec::Pcmu, 0xEC40, 65534, 1000));
        let mut peer = Peer::new(Codec::Pcmu, 0x1234, 500, 90_000);
        let sine = sine_frames(1000.0, 12000.0, 4);
        let mut out = [0u8; 1500];
        let mut sent = Vec::new();
        for frame in &sine {
            let pkt = peer.audio(frame);
            let expected_payload = parse(&pkt).payload;
            let n = echo.on_rtp(now, pkt, &mut out).unwrap().expect("echoed");
            let p = parse(&out[..n]);
            assert_eq!(
                &p.payload[..],
                &expected_payload[..],
                "µ-law comes back bit-exact"
            );
            sent.push(p);
        }
        assert!(sent.iter().all(|p| p.ssrc == Ssrc(0xEC40)));
        let seqs: Vec<u16> = sent.iter().map(|p| p.sequence.0).collect();
        assert_eq!(seqs, vec![65534, 65535, 0, 1]);
        let tss: Vec<u32> = sent.iter().map(|p| p.timestamp.0).collect();
        assert_eq!(tss, vec![1000, 1160, 1320, 1480]);
        let marks: Vec<bool> = sent.iter().map(|p| p.marker).collect();
        assert_eq!(marks, vec![true, false, false, false]);
        let c = echo.leg().counters();
        assert_eq!((c.packets_in, c.packets_out), (4, 4));
    }

    #[test]
    fn echo_mirrors_loss_as_a_timestamp_gap() {
        let now = Instant::now();
        let mut echo = Echo::new(leg(Codec::Pcma, 9, 10, 0));
        let mut peer = Peer::new(Codec::Pcma, 1, 0, 0);
        let mut out = [0u8; 1500];
        echo.on_rtp(now, peer.audio(&SILENT_FRAME), &mut out)
            .unwrap();
        echo.on_rtp(now, peer.audio(&SILENT_FRAME), &mut out)
            .unwrap();
        peer.lose(3);
        let n = echo
            .on_rtp(now, peer.audio(&SILENT_FRAME), &mut out)
            .unwrap()
            .unwrap();
        let p = parse(&out[..n]);
        assert_eq!(p.sequence, SeqNo(12), "our numbering has no hole");
        assert_eq!(p.timestamp, RtpTimestamp(5 * 160), "but time moved on");
        assert!(p.marker);
    }

    #[test]
    fn echo_sends_nothing_for_events_and_reports_garbage() {
        let now = Instant::now();
        let mut echo = Echo::new(leg(Codec::Pcmu, 9, 10, 0));
        let mut peer = Peer::new(Codec::Pcmu, 1, 0, 0);
        let mut out = [0u8; 1500];
        let event = peer.packet(PayloadType::new(101).unwrap(), &[1, 0, 0, 160], 0);
        assert_eq!(echo.on_rtp(now, event, &mut out), Ok(None));
        let garbage = Bytes::from_static(b"hello");
        assert_eq!(
            echo.on_rtp(now, garbage, &mut out),
            Err(Error::Peer(PeerMisbehaved::Truncated { len: 5 }))
        );
        let mut tiny = [0u8; 16];
        assert!(matches!(
            echo.on_rtp(now, peer.audio(&SILENT_FRAME), &mut tiny),
            Err(Error::BufferTooSmall { .. })
        ));
    }

    fn relay_through(
        relay: &mut Relay,
        from: Side,
        peer: &mut Peer,
        frames: &[Frame],
        to: Codec,
    ) -> Vec<i16> {
        let now = Instant::now();
        let mut out = [0u8; 1500];
        let mut heard = Vec::new();
        for frame in frames {
            let n = relay
                .on_rtp(now, from, peer.audio(frame), &mut out)
                .unwrap()
                .unwrap();
            let p = parse(&out[..n]);
            assert_eq!(p.payload_type, to.payload_type());
            heard.extend_from_slice(&decode(to, &p));
        }
        heard
    }

    #[test]
    fn relay_transcodes_both_ways_and_keeps_a_sine_recognisable() {
        let mut relay = Relay::new(leg(Codec::Pcmu, 0xA, 1, 0), leg(Codec::Pcma, 0xB, 1, 0));
        // 1004 Hz, the ITU test tone: not a submultiple of 8 kHz, so the quantisation
        // errors do not line up on a few repeated phases.
        let sine = sine_frames(1004.0, 8000.0, 25);
        let said: Vec<i16> = sine.iter().flatten().copied().collect();

        let mut caller = Peer::new(Codec::Pcmu, 0x100, 0, 0);
        let agent_hears = relay_through(&mut relay, Side::A, &mut caller, &sine, Codec::Pcma);
        let snr = snr_db(&said, &agent_hears);
        assert!(snr > 30.0, "µ-law → A-law SNR {snr:.1} dB");

        let mut agent = Peer::new(Codec::Pcma, 0x200, 0, 0);
        let caller_hears = relay_through(&mut relay, Side::B, &mut agent, &sine, Codec::Pcmu);
        let snr = snr_db(&said, &caller_hears);
        assert!(snr > 30.0, "A-law → µ-law SNR {snr:.1} dB");

        // And it is still the same tone: 1004 Hz crosses zero 1004 times in 500 ms.
        let crossings = caller_hears
            .windows(2)
            .filter(|w| (w[0] < 0) != (w[1] < 0))
            .count();
        assert!((1001..=1006).contains(&crossings), "{crossings} crossings");

        assert_eq!(relay.leg(Side::A).counters().packets_in, 25);
        assert_eq!(relay.leg(Side::B).counters().packets_out, 25);
        assert_eq!(relay.leg(Side::A).counters().packets_out, 25);
    }

    #[test]
    fn same_codec_relay_is_bit_exact() {
        let mut relay = Relay::new(leg(Codec::Pcma, 0xA, 1, 0), leg(Codec::Pcma, 0xB, 1, 0));
        let sine = sine_frames(300.0, 20000.0, 5);
        let mut caller = Peer::new(Codec::Pcma, 0x100, 0, 0);
        let heard = relay_through(&mut relay, Side::A, &mut caller, &sine, Codec::Pcma);
        let mut direct = Vec::new();
        for frame in &sine {
            let mut bytes = [0u8; FRAME_SAMPLES];
            let mut back = [0i16; FRAME_SAMPLES];
            Codec::Pcma.encode(frame, &mut bytes);
            Codec::Pcma.decode(&bytes, &mut back);
            direct.extend_from_slice(&back);
        }
        assert_eq!(heard, direct);
    }

    #[test]
    fn source_change_keeps_the_outgoing_stream_continuous() {
        let now = Instant::now();
        let mut relay = Relay::new(
            leg(Codec::Pcmu, 0xA, 100, 8000),
            leg(Codec::Pcmu, 0xB, 7, 0),
        );
        let mut out = [0u8; 1500];
        let mut first = Peer::new(Codec::Pcmu, 0x111, 40, 3_000_000);
        let mut second = Peer::new(Codec::Pcmu, 0x222, 60_000, 17);
        second.marker = false;
        let mut to_a = |relay: &mut Relay, pkt: Bytes| {
            let n = relay.on_rtp(now, Side::B, pkt, &mut out).unwrap().unwrap();
            parse(&out[..n])
        };
        let a = to_a(&mut relay, first.audio(&SILENT_FRAME));
        let b = to_a(&mut relay, first.audio(&SILENT_FRAME));
        let c = to_a(&mut relay, second.audio(&SILENT_FRAME));
        let d = to_a(&mut relay, second.audio(&SILENT_FRAME));
        let got: Vec<(u32, u16, u32, bool)> = [a, b, c, d]
            .iter()
            .map(|p| (p.ssrc.0, p.sequence.0, p.timestamp.0, p.marker))
            .collect();
        assert_eq!(
            got,
            vec![
                (0xA, 100, 8000, true),
                (0xA, 101, 8160, false),
                (0xA, 102, 8320, true),
                (0xA, 103, 8480, false),
            ]
        );
    }

    #[test]
    fn transfer_replaces_a_leg_without_breaking_the_other_stream() {
        let now = Instant::now();
        let mut relay = Relay::new(leg(Codec::Pcmu, 0xA, 0, 0), leg(Codec::Pcmu, 0xB, 0, 0));
        let mut out = [0u8; 1500];
        let mut agent1 = Peer::new(Codec::Pcmu, 1, 0, 0);
        relay
            .on_rtp(now, Side::B, agent1.audio(&SILENT_FRAME), &mut out)
            .unwrap();
        relay
            .on_rtp(now, Side::B, agent1.audio(&SILENT_FRAME), &mut out)
            .unwrap();

        let old = relay.replace(Side::B, leg(Codec::Pcma, 0xC, 500, 500));
        assert_eq!(old.counters().packets_in, 2);
        let mut agent2 = Peer::new(Codec::Pcma, 2, 9, 9);
        let sine = sine_frames(500.0, 8000.0, 1);
        let n = relay
            .on_rtp(now, Side::B, agent2.audio(&sine[0]), &mut out)
            .unwrap()
            .unwrap();
        let p = parse(&out[..n]);
        assert_eq!(
            (p.ssrc, p.sequence, p.timestamp),
            (Ssrc(0xA), SeqNo(2), RtpTimestamp(320))
        );
        assert!(p.marker, "the new talker starts a talkspurt");
        assert_eq!(
            p.payload_type,
            PayloadType::PCMU,
            "the caller keeps its codec"
        );
        assert!(snr_db(&sine[0], &decode(Codec::Pcmu, &p)) > 30.0);

        let (a, b) = relay.into_legs();
        assert_eq!(a.counters().local_ssrc, Ssrc(0xA));
        assert_eq!(b.counters().local_ssrc, Ssrc(0xC));
    }
}
