//! The sending half of an RTP session: our SSRC, our sequence numbers, our timestamps.
//!
//! Whatever feeds the sender (a peer's stream being relayed, a second peer after a
//! transfer, a prompt, silence) the far end sees one stream: one SSRC, sequence numbers
//! that go up by one per packet, and timestamps that go up by the samples sent or
//! skipped. A change of source is signalled only by the marker bit, as a new talkspurt
//! (RFC 3551 §4.1), so the far end's jitter buffer resynchronises without seeing a new
//! stream (RFC 3550 §5.1: the SSRC and the random starting values are ours to keep).

use crate::error::Error;
use crate::ids::{PayloadType, RtpTimestamp, SeqNo, Ssrc};
use crate::rtp_packet::{write_packet, OutgoingHeader};

/// Send-side counters (the RFC 3550 §6.4.1 sender info, plus our SSRC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendStats {
    /// Packets written.
    pub packets: u64,
    /// Payload octets written.
    pub bytes: u64,
    /// Our SSRC.
    pub ssrc: Ssrc,
}

/// Builds outgoing packets into caller-owned buffers.
#[derive(Debug, Clone)]
pub struct RtpSender {
    ssrc: Ssrc,
    next_seq: SeqNo,
    timestamp: RtpTimestamp,
    payload_type: PayloadType,
    mark_next: bool,
    stats: SendStats,
}

impl RtpSender {
    /// A sender whose first packet carries `first_seq` and `first_timestamp`. The caller
    /// draws all three at random (RFC 3550 §5.1, §8) from its own generator.
    pub fn new(
        ssrc: Ssrc,
        first_seq: SeqNo,
        first_timestamp: RtpTimestamp,
        payload_type: PayloadType,
    ) -> RtpSender {
        RtpSender {
            ssrc,
            next_seq: first_seq,
            timestamp: first_timestamp,
            payload_type,
            // The first packet starts a talkspurt (RFC 3551 §4.1).
            mark_next: true,
            stats: SendStats {
                packets: 0,
                bytes: 0,
                ssrc,
            },
        }
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    /// The sequence number the next packet will carry.
    pub fn next_sequence(&self) -> SeqNo {
        self.next_seq
    }

    /// The timestamp the next packet will carry.
    pub fn next_timestamp(&self) -> RtpTimestamp {
        self.timestamp
    }

    /// The payload type packets carry.
    pub fn payload_type(&self) -> PayloadType {
        self.payload_type
    }

    /// Changes the payload type, after a re-negotiation changed the codec.
    pub fn set_payload_type(&mut self, pt: PayloadType) {
        self.payload_type = pt;
    }

    /// Counters so far.
    pub fn stats(&self) -> &SendStats {
        &self.stats
    }

    /// Sets the marker on the next packet: what follows is a discontinuity (a new
    /// source, a resumed hold, the end of a silence), RFC 3551 §4.1.
    pub fn mark_next(&mut self) {
        self.mark_next = true;
    }

    /// Moves the timestamp on by `samples` that will not be sent (silence suppressed,
    /// loss passed through), so the far end plays the next packet at the right time;
    /// the next packet begins a talkspurt and is marked.
    pub fn skip(&mut self, samples: u32) {
        if samples > 0 {
            self.timestamp = self.timestamp.advanced(samples);
            self.mark_next = true;
        }
    }

    /// Writes a packet carrying `payload`, `samples` long, into `out`; returns its
    /// length. Sequence number and timestamp move on only when the packet was written.
    pub fn packetize_samples(
        &mut self,
        payload: &[u8],
        samples: u32,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let header = OutgoingHeader {
            marker: self.mark_next,
            payload_type: self.payload_type,
            sequence: self.next_seq,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
        };
        let n = write_packet(&header, payload, out)?;
        self.mark_next = false;
        self.next_seq = self.next_seq.next();
        self.timestamp = self.timestamp.advanced(samples);
        self.stats.packets += 1;
        self.stats.bytes += payload.len() as u64;
        Ok(n)
    }

    /// Writes a G.711 packet (one octet a sample: a 160-octet payload is 20 ms and moves
    /// the timestamp on by 160).
    pub fn packetize(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.packetize_samples(payload, payload.len() as u32, out)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::rtp_packet::RtpPacket;

    fn sent(out: &[u8]) -> RtpPacket {
        RtpPacket::parse(Bytes::copy_from_slice(out)).unwrap()
    }

    fn sender(seq: u16, ts: u32) -> RtpSender {
        RtpSender::new(
            Ssrc(0x5077_0001),
            SeqNo(seq),
            RtpTimestamp(ts),
            PayloadType::PCMU,
        )
    }

    #[test]
    fn first_packet_is_marked_and_the_rest_are_not() {
        let mut tx = sender(100, 5000);
        let mut out = [0u8; 200];
        let payload = [0xFFu8; 160];
        let mut got = Vec::new();
        for _ in 0..3 {
            let n = tx.packetize(&payload, &mut out).unwrap();
            assert_eq!(n, 172);
            got.push(sent(&out[..n]));
        }
        assert!(got[0].marker);
        assert!(!got[1].marker && !got[2].marker);
        let seqs: Vec<u16> = got.iter().map(|p| p.sequence.0).collect();
        let tss: Vec<u32> = got.iter().map(|p| p.timestamp.0).collect();
        assert_eq!(seqs, vec![100, 101, 102]);
        assert_eq!(tss, vec![5000, 5160, 5320]);
        assert!(got.iter().all(|p| p.ssrc == Ssrc(0x5077_0001)));
        assert!(got.iter().all(|p| p.payload_type == PayloadType::PCMU));
        assert_eq!(tx.stats().packets, 3);
        assert_eq!(tx.stats().bytes, 480);
    }

    #[test]
    fn sequence_and_timestamp_wrap() {
        let mut tx = sender(65535, u32::MAX - 100);
        let mut out = [0u8; 200];
        let n = tx.packetize(&[0xFF; 160], &mut out).unwrap();
        assert_eq!(sent(&out[..n]).sequence, SeqNo(65535));
        let n = tx.packetize(&[0xFF; 160], &mut out).unwrap();
        let p = sent(&out[..n]);
        assert_eq!(p.sequence, SeqNo(0));
        assert_eq!(p.timestamp, RtpTimestamp(59));
    }

    #[test]
    fn discontinuity_marks_only_the_next_packet() {
        let mut tx = sender(1, 0);
        let mut out = [0u8; 200];
        tx.packetize(&[0xFF; 160], &mut out).unwrap();
        tx.mark_next();
        let n = tx.packetize(&[0xFF; 160], &mut out).unwrap();
        assert!(sent(&out[..n]).marker);
        let n = tx.packetize(&[0xFF; 160], &mut out).unwrap();
        assert!(!sent(&out[..n]).marker);
    }

    #[test]
    fn skipped_silence_moves_the_timestamp_but_not_the_sequence() {
        let mut tx = sender(10, 0);
        let mut out = [0u8; 200];
        tx.packetize(&[0xFF; 160], &mut out).unwrap();
        tx.skip(3 * 160);
        let n = tx.packetize(&[0xFF; 160], &mut out).unwrap();
        let p = sent(&out[..n]);
        assert_eq!(p.sequence, SeqNo(11));
        assert_eq!(p.timestamp, RtpTimestamp(4 * 160));
        assert!(p.marker, "a talkspurt after silence is marked");
    }

    #[test]
    fn failed_write_does_not_consume_a_sequence_number() {
        let mut tx = sender(7, 0);
        let mut small = [0u8; 20];
        assert!(matches!(
            tx.packetize(&[0xFF; 160], &mut small),
            Err(Error::BufferTooSmall {
                need: 172,
                have: 20
            })
        ));
        let mut out = [0u8; 200];
        let n = tx.packetize(&[0xFF; 160], &mut out).unwrap();
        let p = sent(&out[..n]);
        assert_eq!(p.sequence, SeqNo(7));
        assert!(p.marker);
        assert_eq!(tx.stats().packets, 1);
    }

    #[test]
    fn payload_type_change_keeps_the_stream() {
        let mut tx = sender(1, 0);
        let mut out = [0u8; 200];
        tx.packetize(&[0xFF; 160], &mut out).unwrap();
        tx.set_payload_type(PayloadType::PCMA);
        let n = tx.packetize(&[0xD5; 160], &mut out).unwrap();
        let p = sent(&out[..n]);
        assert_eq!(p.payload_type, PayloadType::PCMA);
        assert_eq!((p.sequence, p.timestamp), (SeqNo(2), RtpTimestamp(160)));
    }
}
