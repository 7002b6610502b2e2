//! Reading and writing RTP packets (RFC 3550 §5.1).
//!
//! Reading is our own: `rtp` 0.17.2's `Packet::unmarshal` allocates a `Vec` per packet
//! when a CSRC list or header extension is present (WebRTC gateways put RFC 8285
//! extensions on every packet), and it panics on an RFC 8285 element that runs past the
//! datagram, which a peer can send. We only need the fixed header and the payload, so
//! [`RtpPacket::parse`] skips the CSRCs and the extension block by their declared lengths,
//! checks every length against the datagram, and slices the payload out of the `Bytes`
//! it was given without copying. Writing goes through `rtp`'s header marshalling.

use bytes::{Buf, Bytes};
use webrtc_util::marshal::Marshal;

use crate::error::{Error, PeerMisbehaved};
use crate::ids::{PayloadType, RtpTimestamp, SeqNo, Ssrc};
use std::ops::Range;

/// Fixed header length (RFC 3550 §5.1).
pub const FIXED_HEADER_LEN: usize = 12;

/// A received RTP packet: the fixed-header fields and the payload, which shares the
/// datagram's storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket {
    /// M bit: for audio, the first packet of a talkspurt (RFC 3551 §4.1).
    pub marker: bool,
    /// PT field.
    pub payload_type: PayloadType,
    /// Sequence number as on the wire.
    pub sequence: SeqNo,
    /// Sampling instant of the first octet of the payload.
    pub timestamp: RtpTimestamp,
    /// Synchronisation source.
    pub ssrc: Ssrc,
    /// The payload, without CSRCs, extension or padding.
    pub payload: Bytes,
}

/// Whether a datagram on a multiplexed port is RTCP rather than RTP (RFC 5761 §4: the
/// second octet of RTCP is a packet type 192–223, which RTP's M+PT never uses).
pub fn is_rtcp(datagram: &[u8]) -> bool {
    datagram.len() >= 2 && (192..=223).contains(&datagram[1])
}

/// The fixed-header fields of a received packet, without its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// M bit.
    pub marker: bool,
    /// PT field.
    pub payload_type: PayloadType,
    /// Sequence number as on the wire.
    pub sequence: SeqNo,
    /// Sampling instant of the first octet of the payload.
    pub timestamp: RtpTimestamp,
    /// Synchronisation source.
    pub ssrc: Ssrc,
}

/// Parses a datagram in place: the header, and where the payload lies (without
/// CSRCs, extension and padding). Never panics and never allocates; the media
/// workers parse from their fixed ring slots with it.
pub fn parse_header(datagram: &[u8]) -> Result<(RtpHeader, Range<usize>), PeerMisbehaved> {
    let len = datagram.len();
    let truncated = PeerMisbehaved::Truncated { len };
    if len < FIXED_HEADER_LEN {
        return Err(truncated);
    }
    let b0 = datagram[0];
    let version = b0 >> 6;
    if version != 2 {
        return Err(PeerMisbehaved::BadVersion(version));
    }
    if is_rtcp(datagram) {
        return Err(PeerMisbehaved::Rtcp(datagram[1]));
    }
    let has_padding = b0 & 0x20 != 0;
    let has_extension = b0 & 0x10 != 0;
    let csrc_count = usize::from(b0 & 0x0F);
    let b1 = datagram[1];

    let mut header_len = FIXED_HEADER_LEN + 4 * csrc_count;
    if has_extension {
        // RFC 3550 §5.3.1: 16-bit profile, 16-bit length in 32-bit words.
        if len < header_len + 4 {
            return Err(truncated);
        }
        let words = u16::from_be_bytes([datagram[header_len + 2], datagram[header_len + 3]]);
        header_len += 4 + 4 * usize::from(words);
    }
    if len < header_len {
        return Err(truncated);
    }
    let padding = if has_padding {
        let count = datagram[len - 1];
        let available = len - header_len;
        if count == 0 || usize::from(count) > available {
            return Err(PeerMisbehaved::BadPadding { count, available });
        }
        usize::from(count)
    } else {
        0
    };
    let word = |i: usize| {
        [
            datagram[i],
            datagram[i + 1],
            datagram[i + 2],
            datagram[i + 3],
        ]
    };
    let header = RtpHeader {
        marker: b1 & 0x80 != 0,
        payload_type: PayloadType::from_wire(b1),
        sequence: SeqNo(u16::from_be_bytes([datagram[2], datagram[3]])),
        timestamp: RtpTimestamp(u32::from_be_bytes(word(4))),
        ssrc: Ssrc(u32::from_be_bytes(word(8))),
    };
    Ok((header, header_len..len - padding))
}

impl RtpPacket {
    /// Parses a datagram. Never panics and never allocates.
    pub fn parse(mut datagram: Bytes) -> Result<RtpPacket, PeerMisbehaved> {
        let (h, payload) = parse_header(&datagram)?;
        // In place (advance/truncate): `slice` would promote a Vec-backed
        // `Bytes` to a shared one, which allocates.
        datagram.truncate(payload.end);
        datagram.advance(payload.start);
        Ok(RtpPacket {
            marker: h.marker,
            payload_type: h.payload_type,
            sequence: h.sequence,
            timestamp: h.timestamp,
            ssrc: h.ssrc,
            payload: datagram,
        })
    }

    /// The fixed-header fields.
    pub fn header(&self) -> RtpHeader {
        RtpHeader {
            marker: self.marker,
            payload_type: self.payload_type,
            sequence: self.sequence,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
        }
    }
}

/// The header fields a sender chooses for one outgoing packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutgoingHeader {
    /// M bit.
    pub marker: bool,
    /// PT field.
    pub payload_type: PayloadType,
    /// Sequence number.
    pub sequence: SeqNo,
    /// Timestamp.
    pub timestamp: RtpTimestamp,
    /// Our SSRC.
    pub ssrc: Ssrc,
}

/// Writes a packet (fixed header, no CSRCs, no extension, no padding) followed by
/// `payload` into `out`; returns its length. Allocation-free: the `rtp` header's CSRC
/// and extension `Vec`s stay empty.
pub fn write_packet(
    header: &OutgoingHeader,
    payload: &[u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    let need = FIXED_HEADER_LEN + payload.len();
    if out.len() < need {
        return Err(Error::BufferTooSmall {
            need,
            have: out.len(),
        });
    }
    let h = rtp::header::Header {
        version: 2,
        marker: header.marker,
        payload_type: header.payload_type.get(),
        sequence_number: header.sequence.0,
        timestamp: header.timestamp.0,
        ssrc: header.ssrc.0,
        ..Default::default()
    };
    let n = h
        .marshal_to(&mut out[..FIXED_HEADER_LEN])
        .map_err(|_| Error::BufferTooSmall {
            need,
            have: out.len(),
        })?;
    debug_assert_eq!(n, FIXED_HEADER_LEN);
    out[n..need].copy_from_slice(payload);
    Ok(need)
}

#[cfg(test)]
mod tests {
    use super::*;
    use webrtc_util::marshal::Unmarshal;

    fn header(seq: u16) -> OutgoingHeader {
        OutgoingHeader {
            marker: true,
            payload_type: PayloadType::PCMA,
            sequence: SeqNo(seq),
            timestamp: RtpTimestamp(0xDEAD_BEEF),
            ssrc: Ssrc(0x0102_0304),
        }
    }

    #[test]
    fn written_packet_parses_back_with_rtp_and_with_us() {
        let payload = [0xD5u8; 160];
        let mut out = [0u8; 1500];
        let n = write_packet(&header(65535), &payload, &mut out).unwrap();
        assert_eq!(n, 172);

        let mut raw = Bytes::copy_from_slice(&out[..n]);
        let oracle = rtp::packet::Packet::unmarshal(&mut raw).unwrap();
        assert_eq!(oracle.header.version, 2);
        assert!(oracle.header.marker);
        assert_eq!(oracle.header.payload_type, 8);
        assert_eq!(oracle.header.sequence_number, 65535);
        assert_eq!(oracle.header.timestamp, 0xDEAD_BEEF);
        assert_eq!(oracle.header.ssrc, 0x0102_0304);
        assert_eq!(&oracle.payload[..], &payload[..]);

        let ours = RtpPacket::parse(Bytes::copy_from_slice(&out[..n])).unwrap();
        assert!(ours.marker);
        assert_eq!(ours.payload_type, PayloadType::PCMA);
        assert_eq!(ours.sequence, SeqNo(65535));
        assert_eq!(ours.timestamp, RtpTimestamp(0xDEAD_BEEF));
        assert_eq!(ours.ssrc, Ssrc(0x0102_0304));
        assert_eq!(&ours.payload[..], &payload[..]);
    }

    #[test]
    fn short_output_buffer_is_a_local_error() {
        let mut out = [0u8; 100];
        let err = write_packet(&header(1), &[0; 160], &mut out).unwrap_err();
        assert_eq!(
            err,
            Error::BufferTooSmall {
                need: 172,
                have: 100
            }
        );
    }

    /// A packet with two CSRCs, an RFC 8285 one-byte extension and padding, which `rtp`
    /// also parses: both must find the same payload.
    #[test]
    fn skips_csrcs_extension_and_padding_like_rtp_does() {
        let mut raw = vec![0xA2, 0x00, 0x00, 0x07, 0, 0, 0, 160, 0, 0, 0, 9];
        raw.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]); // CSRCs
        raw.extend_from_slice(&[0xBE, 0xDE, 0x00, 0x01, 0x10, 0xAA, 0x00, 0x00]); // ext
        raw.extend_from_slice(&[1, 2, 3, 4, 5]); // payload
        raw.extend_from_slice(&[0, 0, 3]); // padding, count includes itself
        raw[0] |= 0x10; // X bit

        let mut b = Bytes::from(raw.clone());
        let oracle = rtp::packet::Packet::unmarshal(&mut b).unwrap();
        let ours = RtpPacket::parse(Bytes::from(raw)).unwrap();
        assert_eq!(&ours.payload[..], &[1, 2, 3, 4, 5]);
        assert_eq!(ours.payload, oracle.payload);
        assert_eq!(ours.sequence, SeqNo(7));
        assert_eq!(ours.ssrc, Ssrc(9));
    }

    /// `rtp` 0.17.2 panics on this one (an extension element longer than the datagram).
    #[test]
    fn overlong_extension_element_is_accepted_without_reading_it() {
        let raw = vec![
            0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 0x1F, 0, 0, 0,
        ];
        let p = RtpPacket::parse(Bytes::from(raw)).unwrap();
        assert!(p.payload.is_empty());
    }

    #[test]
    fn malformed_datagrams_are_peer_errors() {
        let ok = {
            let mut out = [0u8; 64];
            let n = write_packet(&header(1), &[1, 2, 3], &mut out).unwrap();
            out[..n].to_vec()
        };
        let parse = |v: Vec<u8>| RtpPacket::parse(Bytes::from(v));

        assert_eq!(
            parse(ok[..11].to_vec()),
            Err(PeerMisbehaved::Truncated { len: 11 })
        );

        let mut v1 = ok.clone();
        v1[0] = (v1[0] & 0x3F) | 0x40;
        assert_eq!(parse(v1), Err(PeerMisbehaved::BadVersion(1)));

        let mut csrcs = ok.clone();
        csrcs[0] |= 0x02; // claims two CSRCs but only 3 bytes follow
        assert_eq!(parse(csrcs), Err(PeerMisbehaved::Truncated { len: 15 }));

        let mut ext = ok.clone();
        ext[0] |= 0x10; // X bit with no room for the extension header
        assert_eq!(parse(ext), Err(PeerMisbehaved::Truncated { len: 15 }));

        let mut pad = ok.clone();
        pad[0] |= 0x20;
        *pad.last_mut().unwrap() = 9; // 9 bytes of padding in a 3-byte payload
        assert_eq!(
            parse(pad),
            Err(PeerMisbehaved::BadPadding {
                count: 9,
                available: 3
            })
        );

        let mut zero_pad = ok.clone();
        zero_pad[0] |= 0x20;
        *zero_pad.last_mut().unwrap() = 0;
        assert!(matches!(
            parse(zero_pad),
            Err(PeerMisbehaved::BadPadding { .. })
        ));

        let rtcp_rr = vec![0x81, 201, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0];
        assert!(is_rtcp(&rtcp_rr));
        assert_eq!(parse(rtcp_rr), Err(PeerMisbehaved::Rtcp(201)));
        assert!(!is_rtcp(&ok));
    }
}
