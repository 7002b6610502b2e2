//! The RTCP packets of RFC 3550 §6.4–6.6 on the wire: writing SR, RR, SDES CNAME and BYE
//! into a caller's buffer, and reading a compound datagram without copying.
//!
//! [`parse_compound`] walks the whole datagram once to check every length and count
//! before anything is handed out, so a datagram is used entirely or not at all, and the
//! [`Compound`] iterator then reads the checked bytes. Packet types other than SR, RR,
//! SDES and BYE (APP, XR, the feedback messages of RFC 4585) come out as
//! [`RtcpPacket::Other`] for the caller to skip.

use super::{NtpTime, RtcpError};
use crate::ids::{RtpTimestamp, Ssrc};

/// Sender report (RFC 3550 §6.4.1).
pub const PT_SR: u8 = 200;
/// Receiver report (§6.4.2).
pub const PT_RR: u8 = 201;
/// Source description (§6.5).
pub const PT_SDES: u8 = 202;
/// Goodbye (§6.6).
pub const PT_BYE: u8 = 203;
/// SDES item type of the canonical name (§6.5.1).
pub const SDES_CNAME: u8 = 1;

/// Common header: V, P, count, PT, length.
pub const HEADER_LEN: usize = 4;
/// Sender info in an SR: NTP timestamp, RTP timestamp, packet and octet counts.
pub const SENDER_INFO_LEN: usize = 20;
/// One reception report block.
pub const REPORT_BLOCK_LEN: usize = 24;

/// One reception report block (RFC 3550 §6.4.1): how a receiver hears one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock {
    /// The source reported on.
    pub ssrc: Ssrc,
    /// Packets lost since the previous report over packets expected, in 1/256.
    pub fraction_lost: u8,
    /// Packets expected less packets received since the start, 24-bit signed (late
    /// duplicates can make it negative).
    pub cumulative_lost: i32,
    /// Highest sequence number received, with the wrap count in the high 16 bits.
    pub extended_highest_seq: u32,
    /// Interarrival jitter, timestamp units (A.8).
    pub jitter: u32,
    /// LSR: middle 32 bits of the NTP timestamp of the source's latest SR; 0 if none.
    pub last_sr: u32,
    /// DLSR: time from receiving that SR to sending this report, 1/65536 s.
    pub delay_since_last_sr: u32,
}

/// The sender info of an SR (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderInfo {
    /// Wall clock when the report was sent.
    pub ntp: NtpTime,
    /// The same instant on the RTP media clock.
    pub rtp_timestamp: RtpTimestamp,
    /// RTP packets sent since the start (wraps).
    pub packet_count: u32,
    /// RTP payload octets sent since the start (wraps).
    pub octet_count: u32,
}

/// One packet of a compound datagram, borrowing from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpPacket<'a> {
    /// Sender report.
    SenderReport {
        /// The sender's SSRC.
        ssrc: Ssrc,
        /// Its sending statistics.
        info: SenderInfo,
        /// Its reception reports.
        reports: ReportBlocks<'a>,
    },
    /// Receiver report.
    ReceiverReport {
        /// The reporter's SSRC.
        ssrc: Ssrc,
        /// Its reception reports.
        reports: ReportBlocks<'a>,
    },
    /// Source description; the chunks are checked but not read (CNAME is only logged
    /// by peers, we do not need it to tie streams together).
    SourceDescription {
        /// Number of chunks.
        chunks: u8,
    },
    /// Goodbye from the listed sources.
    Bye {
        /// The sources leaving.
        sources: SsrcList<'a>,
        /// The reason text, if any (UTF-8 by §6.6, not checked).
        reason: Option<&'a [u8]>,
    },
    /// Any other RTCP packet type (APP, XR, feedback), skipped.
    Other {
        /// Its packet type.
        packet_type: u8,
    },
}

/// The report blocks of an SR or RR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlocks<'a>(&'a [u8]);

impl Iterator for ReportBlocks<'_> {
    type Item = ReportBlock;

    fn next(&mut self) -> Option<ReportBlock> {
        let (b, rest) = self.0.split_first_chunk::<REPORT_BLOCK_LEN>()?;
        self.0 = rest;
        let word = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        // Sign-extend the 24-bit cumulative count.
        let cumulative_lost = (word(4) << 8) as i32 >> 8;
        Some(ReportBlock {
            ssrc: Ssrc(word(0)),
            fraction_lost: b[4],
            cumulative_lost,
            extended_highest_seq: word(8),
            jitter: word(12),
            last_sr: word(16),
            delay_since_last_sr: word(20),
        })
    }
}

/// The sources of a BYE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SsrcList<'a>(&'a [u8]);

impl Iterator for SsrcList<'_> {
    type Item = Ssrc;

    fn next(&mut self) -> Option<Ssrc> {
        let (b, rest) = self.0.split_first_chunk::<4>()?;
        self.0 = rest;
        Some(Ssrc(u32::from_be_bytes(*b)))
    }
}

/// A checked compound datagram; iterate it for its packets.
#[derive(Debug, Clone, Copy)]
pub struct Compound<'a> {
    rest: &'a [u8],
}

/// Checks a compound RTCP datagram (RFC 3550 §6.1, A.2) and returns its packets.
///
/// Every packet must have version 2, an RTCP packet type (192–223), a length that fits
/// and a body that holds what its count says; otherwise the whole datagram is refused.
/// Unlike A.2, the first packet need not be an SR or RR (reduced-size RTCP, RFC 5506,
/// and peers that send a lone BYE), and padding is accepted on any packet.
pub fn parse_compound(datagram: &[u8]) -> Result<Compound<'_>, RtcpError> {
    if datagram.is_empty() {
        return Err(RtcpError::Truncated { len: 0 });
    }
    let mut rest = datagram;
    while !rest.is_empty() {
        rest = split_packet(rest)?.1;
    }
    Ok(Compound { rest: datagram })
}

impl<'a> Iterator for Compound<'a> {
    type Item = RtcpPacket<'a>;

    fn next(&mut self) -> Option<RtcpPacket<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        match split_packet(self.rest) {
            Ok((packet, rest)) => {
                self.rest = rest;
                Some(packet)
            }
            Err(_) => {
                // Checked by `parse_compound`; stop rather than panic if not.
                self.rest = &[];
                None
            }
        }
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(*b.get(at..)?.first_chunk::<4>()?))
}

/// The first packet of `buf` and what follows it.
fn split_packet(buf: &[u8]) -> Result<(RtcpPacket<'_>, &[u8]), RtcpError> {
    let [b0, pt, l0, l1, ..] = *buf else {
        return Err(RtcpError::Truncated { len: buf.len() });
    };
    let version = b0 >> 6;
    if version != 2 {
        return Err(RtcpError::BadVersion(version));
    }
    if !(192..=223).contains(&pt) {
        return Err(RtcpError::NotRtcp(pt));
    }
    let claimed = (usize::from(u16::from_be_bytes([l0, l1])) + 1) * 4;
    if claimed > buf.len() {
        return Err(RtcpError::BadLength {
            claimed,
            available: buf.len(),
        });
    }
    let (packet, rest) = buf.split_at(claimed);
    let mut body = &packet[HEADER_LEN..];
    if b0 & 0x20 != 0 {
        let count = packet[claimed - 1];
        if count == 0 || usize::from(count) > body.len() {
            return Err(RtcpError::BadPadding(count));
        }
        body = &body[..body.len() - usize::from(count)];
    }
    let count = usize::from(b0 & 0x1F);
    let bad = RtcpError::BadBody(pt);
    let parsed = match pt {
        PT_SR | PT_RR => {
            let fixed = 4 + if pt == PT_SR { SENDER_INFO_LEN } else { 0 };
            let blocks_end = fixed + count * REPORT_BLOCK_LEN;
            // Anything after the blocks is a profile-specific extension (§6.4.1).
            let blocks = body.get(fixed..blocks_end).ok_or(bad)?;
            let ssrc = Ssrc(be32(body, 0).ok_or(bad)?);
            let reports = ReportBlocks(blocks);
            if pt == PT_RR {
                RtcpPacket::ReceiverReport { ssrc, reports }
            } else {
                let w = |i: usize| be32(body, 4 + i).ok_or(bad);
                let info = SenderInfo {
                    ntp: NtpTime((u64::from(w(0)?) << 32) | u64::from(w(4)?)),
                    rtp_timestamp: RtpTimestamp(w(8)?),
                    packet_count: w(12)?,
                    octet_count: w(16)?,
                };
                RtcpPacket::SenderReport {
                    ssrc,
                    info,
                    reports,
                }
            }
        }
        PT_SDES => {
            check_sdes(body, count).ok_or(bad)?;
            RtcpPacket::SourceDescription {
                chunks: count as u8,
            }
        }
        PT_BYE => {
            let sources = SsrcList(body.get(..count * 4).ok_or(bad)?);
            // An optional reason: a length octet and that much text (§6.6).
            let reason = match body.get(count * 4..) {
                Some([len, text @ ..]) => Some(text.get(..usize::from(*len)).ok_or(bad)?),
                _ => None,
            };
            RtcpPacket::Bye { sources, reason }
        }
        packet_type => RtcpPacket::Other { packet_type },
    };
    Ok((parsed, rest))
}

/// Walks `count` SDES chunks (§6.5): an SSRC, items of type, length and text, a null
/// item, and null octets to the next 32-bit boundary.
fn check_sdes(body: &[u8], count: usize) -> Option<()> {
    let mut at = 0;
    for _ in 0..count {
        at += 4; // SSRC/CSRC
        loop {
            match *body.get(at)? {
                0 => {
                    at = (at + 4) & !3;
                    if at > body.len() {
                        return None;
                    }
                    break;
                }
                _ => {
                    let len = usize::from(*body.get(at + 1)?);
                    at += 2 + len;
                }
            }
        }
    }
    Some(())
}

/// Writes the common header at `out[0..4]` for a packet of `len` bytes.
fn put_header(out: &mut [u8], count: u8, pt: u8, len: usize) {
    debug_assert!(len % 4 == 0 && count < 32);
    out[0] = 0x80 | count;
    out[1] = pt;
    out[2..4].copy_from_slice(&((len / 4 - 1) as u16).to_be_bytes());
}

fn put_u32(out: &mut [u8], at: usize, v: u32) {
    out[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

/// Bytes of an SR (with `info`) or RR carrying `blocks` report blocks.
pub const fn report_len(sender: bool, blocks: usize) -> usize {
    HEADER_LEN + 4 + if sender { SENDER_INFO_LEN } else { 0 } + blocks * REPORT_BLOCK_LEN
}

/// Writes an SR (when `info` is given) or RR into `out`, which must hold
/// [`report_len`] bytes; returns the bytes written.
pub(crate) fn write_report(
    out: &mut [u8],
    ssrc: Ssrc,
    info: Option<&SenderInfo>,
    blocks: &[ReportBlock],
) -> usize {
    let len = report_len(info.is_some(), blocks.len());
    let pt = if info.is_some() { PT_SR } else { PT_RR };
    put_header(out, blocks.len() as u8, pt, len);
    put_u32(out, 4, ssrc.0);
    let mut at = 8;
    if let Some(i) = info {
        put_u32(out, at, (i.ntp.0 >> 32) as u32);
        put_u32(out, at + 4, i.ntp.0 as u32);
        put_u32(out, at + 8, i.rtp_timestamp.0);
        put_u32(out, at + 12, i.packet_count);
        put_u32(out, at + 16, i.octet_count);
        at += SENDER_INFO_LEN;
    }
    for b in blocks {
        put_u32(out, at, b.ssrc.0);
        let lost = (b.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32) & 0x00FF_FFFF;
        put_u32(out, at + 4, (u32::from(b.fraction_lost) << 24) | lost);
        put_u32(out, at + 8, b.extended_highest_seq);
        put_u32(out, at + 12, b.jitter);
        put_u32(out, at + 16, b.last_sr);
        put_u32(out, at + 20, b.delay_since_last_sr);
        at += REPORT_BLOCK_LEN;
    }
    len
}

/// Bytes of an SDES packet with one chunk holding a CNAME of `cname_len` bytes.
pub const fn sdes_cname_len(cname_len: usize) -> usize {
    // SSRC, type, length, text, then at least one null octet, padded to 32 bits.
    HEADER_LEN + ((4 + 2 + cname_len + 1 + 3) & !3)
}

/// Writes an SDES packet with our CNAME (§6.5.1) into `out`, which must hold
/// [`sdes_cname_len`] bytes; `cname` is at most 255 bytes.
pub(crate) fn write_sdes_cname(out: &mut [u8], ssrc: Ssrc, cname: &[u8]) -> usize {
    let len = sdes_cname_len(cname.len());
    put_header(out, 1, PT_SDES, len);
    put_u32(out, 4, ssrc.0);
    out[8] = SDES_CNAME;
    out[9] = cname.len() as u8;
    out[10..10 + cname.len()].copy_from_slice(cname);
    out[10 + cname.len()..len].fill(0);
    len
}

/// Bytes of a BYE for one source, without a reason.
pub const BYE_LEN: usize = HEADER_LEN + 4;

/// Writes a BYE for `ssrc` (§6.6) into `out[..BYE_LEN]`.
pub(crate) fn write_bye(out: &mut [u8], ssrc: Ssrc) -> usize {
    put_header(out, 1, PT_BYE, BYE_LEN);
    put_u32(out, 4, ssrc.0);
    BYE_LEN
}
