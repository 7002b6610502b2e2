//! One leg's RTCP session: when to report, what to report, and what the peer reported.

use std::time::{Duration, Instant};

use super::interval::{rtcp_interval, IntervalInputs, SplitMix64, UDP_IP_OVERHEAD};
use super::packet::{
    self, parse_compound, report_len, sdes_cname_len, ReportBlock, RtcpPacket, SenderInfo, BYE_LEN,
};
use super::reception::Reception;
use super::{duration_to_short, short_to_duration, NtpTime, RtcpError};
use crate::error::Error;
use crate::ids::{ExtSeqNo, RtpTimestamp, Ssrc};
use crate::rtp_receiver::{ReceiveStats, ReceivedRtp};
use crate::rtp_sender::SendStats;
use crate::sequence::Arrival;

/// Session bandwidth assumed for G.711 at 20 ms: 50 packets/s of 160 octets plus RTP,
/// UDP and IPv4 headers, 80 kbit/s. RTCP gets 5% of it (§6.2).
pub const DEFAULT_SESSION_BANDWIDTH: u32 = 80_000;

/// SRs remembered to match the LSR the peer echoes, for the round-trip time.
const SENT_SR_MEMORY: usize = 8;

/// How a leg's RTCP session is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcpConfig {
    /// Our SSRC: the one our RTP carries ([`RtpSender::ssrc`](crate::RtpSender::ssrc)).
    pub ssrc: Ssrc,
    /// Our canonical name (§6.5.1), e.g. `sotto@host`; at most 255 bytes are sent.
    pub cname: String,
    /// RTP clock rate of our stream, for the SR's RTP timestamp.
    pub clock_rate: u32,
    /// Session bandwidth in bit/s (SDP `b=AS` or the codec's rate, §6.2).
    pub session_bandwidth: u32,
    /// Seed for the interval randomisation, from the caller's generator.
    pub seed: u64,
}

impl RtcpConfig {
    /// A G.711 session's settings.
    pub fn new(ssrc: Ssrc, cname: &str, seed: u64) -> RtcpConfig {
        RtcpConfig {
            ssrc,
            cname: cname.to_owned(),
            clock_rate: 8000,
            session_bandwidth: DEFAULT_SESSION_BANDWIDTH,
            seed,
        }
    }
}

/// What RTCP has told us about the leg, for the API and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RtcpStats {
    /// Compound reports we wrote (BYE included).
    pub reports_sent: u64,
    /// Well-formed compound datagrams received.
    pub compounds_received: u64,
    /// Datagrams refused as malformed.
    pub malformed: u64,
    /// The SSRC of the peer's latest SR or RR.
    pub remote_ssrc: Option<Ssrc>,
    /// The peer's latest report block about our stream: its view of our loss and jitter.
    pub remote_report: Option<ReportBlock>,
    /// When that block arrived.
    pub remote_report_at: Option<Instant>,
    /// Round-trip time from the latest block that echoed one of our SRs (§6.4.1).
    pub round_trip_time: Option<Duration>,
    /// The sender info of the peer's latest SR.
    pub remote_sender: Option<SenderInfo>,
    /// The peer sent BYE (§6.6).
    pub bye_received: bool,
    /// When the latest well-formed datagram arrived, for RTCP timeouts.
    pub last_received_at: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct SentSr {
    lsr: u32,
    at: Instant,
}

#[derive(Debug, Clone, Copy)]
struct RemoteSr {
    ssrc: Ssrc,
    lsr: u32,
    at: Instant,
}

/// The RTCP side of one leg (RFC 3550 §6). See the [module docs](super) for the loop.
#[derive(Debug, Clone)]
pub struct RtcpSession {
    ssrc: Ssrc,
    cname: Box<[u8]>,
    clock_rate: u32,
    rtcp_bandwidth: f64,
    rng: SplitMix64,
    /// `tp` of A.7: when we last sent a report (or started).
    last_report_at: Instant,
    /// `tn`; `None` once we said BYE.
    next_report_at: Option<Instant>,
    initial: bool,
    avg_rtcp_size: f64,
    reception: Option<Reception>,
    /// Our latest RTP packet: when, and its timestamp, to place the SR on the media clock.
    last_rtp_sent: Option<(Instant, RtpTimestamp)>,
    packets_at_last_report: u64,
    sent_srs: [Option<SentSr>; SENT_SR_MEMORY],
    next_sent_sr: usize,
    remote_sr: Option<RemoteSr>,
    stats: RtcpStats,
}

impl RtcpSession {
    /// A session starting at `now`; the first report is due after half the usual
    /// interval (§6.3.1).
    pub fn new(config: RtcpConfig, now: Instant) -> RtcpSession {
        let mut cname = config.cname.into_bytes();
        cname.truncate(255);
        let first_size = report_len(true, 1) + sdes_cname_len(cname.len()) + UDP_IP_OVERHEAD;
        let mut s = RtcpSession {
            ssrc: config.ssrc,
            cname: cname.into_boxed_slice(),
            clock_rate: config.clock_rate,
            rtcp_bandwidth: f64::from(config.session_bandwidth) * 0.05 / 8.0,
            rng: SplitMix64::new(config.seed),
            last_report_at: now,
            next_report_at: None,
            initial: true,
            avg_rtcp_size: first_size as f64,
            reception: None,
            last_rtp_sent: None,
            packets_at_last_report: 0,
            sent_srs: [None; SENT_SR_MEMORY],
            next_sent_sr: 0,
            remote_sr: None,
            stats: RtcpStats::default(),
        };
        s.next_report_at = Some(now + s.interval(false, false));
        s
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    /// What the peer's RTCP said, and our own counts.
    pub fn stats(&self) -> &RtcpStats {
        &self.stats
    }

    /// When the next report is due ([`RtcpSession::poll_report`]); `None` after BYE.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_report_at
    }

    /// Notes an RTP packet the leg's receiver accepted, for our report block about the
    /// peer's stream (A.3).
    pub fn on_rtp_received(&mut self, received: &ReceivedRtp) {
        self.on_reception(received.packet.ssrc, received.arrival, received.ext_seq);
    }

    /// [`RtcpSession::on_rtp_received`] from the parts (the allocation-free
    /// path: the receiver's [`crate::rtp_receiver::Reception`] and the SSRC).
    pub fn on_reception(&mut self, ssrc: Ssrc, arrival: Arrival, ext_seq: ExtSeqNo) {
        Reception::update(&mut self.reception, ssrc, arrival, ext_seq);
    }

    /// Notes that we sent an RTP packet carrying `timestamp` at `now`: our next report
    /// is an SR, and its RTP timestamp is extrapolated from this one (§6.4.1).
    pub fn on_rtp_sent(&mut self, now: Instant, timestamp: RtpTimestamp) {
        self.last_rtp_sent = Some((now, timestamp));
    }

    /// Writes our compound report into `out` if one is due at `now` (after §6.3.6 timer
    /// reconsideration); `Ok(None)` if not. `wall` is the wall clock now, `rx` and `tx`
    /// the leg's RTP counters (jitter, and the SR's packet and octet counts).
    pub fn poll_report(
        &mut self,
        now: Instant,
        wall: NtpTime,
        rx: &ReceiveStats,
        tx: &SendStats,
        out: &mut [u8],
    ) -> Result<Option<usize>, Error> {
        let Some(due) = self.next_report_at else {
            return Ok(None);
        };
        if now < due {
            return Ok(None);
        }
        // Reconsideration (§6.3.6): the interval drawn now may end later than the one
        // drawn at the last report.
        // Who sent since the last report, taken before this report resets it.
        let we_sent = self.we_sent(tx);
        let they_sent = self.they_sent();
        let reconsidered = self.last_report_at + self.interval(we_sent, they_sent);
        if reconsidered > now {
            self.next_report_at = Some(reconsidered);
            return Ok(None);
        }
        let n = self.write_compound(now, wall, rx, tx, false, out)?;
        self.next_report_at = Some(now + self.interval(we_sent, they_sent));
        Ok(Some(n))
    }

    /// Writes our last compound, ending with BYE (§6.6), for when the leg hangs up; no
    /// report is due after it.
    pub fn write_bye(
        &mut self,
        now: Instant,
        wall: NtpTime,
        rx: &ReceiveStats,
        tx: &SendStats,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let n = self.write_compound(now, wall, rx, tx, true, out)?;
        self.next_report_at = None;
        Ok(n)
    }

    /// Reads a compound RTCP datagram that arrived at `now`. A malformed one is counted
    /// and refused whole.
    pub fn on_rtcp(&mut self, now: Instant, datagram: &[u8]) -> Result<(), RtcpError> {
        let compound = match parse_compound(datagram) {
            Ok(c) => c,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e);
            }
        };
        self.stats.compounds_received += 1;
        self.stats.last_received_at = Some(now);
        self.update_avg_size(datagram.len());
        for packet in compound {
            match packet {
                RtcpPacket::SenderReport {
                    ssrc,
                    info,
                    reports,
                } => {
                    self.stats.remote_ssrc = Some(ssrc);
                    self.stats.remote_sender = Some(info);
                    self.remote_sr = Some(RemoteSr {
                        ssrc,
                        lsr: info.ntp.short(),
                        at: now,
                    });
                    reports.for_each(|b| self.on_report_block(now, b));
                }
                RtcpPacket::ReceiverReport { ssrc, reports } => {
                    self.stats.remote_ssrc = Some(ssrc);
                    reports.for_each(|b| self.on_report_block(now, b));
                }
                RtcpPacket::Bye { mut sources, .. } => {
                    if sources.any(|s| s != self.ssrc) {
                        self.stats.bye_received = true;
                    }
                }
                RtcpPacket::SourceDescription { .. } | RtcpPacket::Other { .. } => {}
            }
        }
        Ok(())
    }

    fn on_report_block(&mut self, now: Instant, block: ReportBlock) {
        if block.ssrc != self.ssrc {
            return;
        }
        self.stats.remote_report = Some(block);
        self.stats.remote_report_at = Some(now);
        if let Some(rtt) = self.round_trip(now, block.last_sr, block.delay_since_last_sr) {
            self.stats.round_trip_time = Some(rtt);
        }
    }

    /// §6.4.1: RTT = A − LSR − DLSR, where A − LSR is the time since we sent the SR the
    /// peer echoes. We take that from the `Instant` we sent it at rather than from a
    /// second wall-clock reading, so a wall-clock step in between does not skew it; an
    /// LSR we do not remember (or 0, no SR received yet) gives nothing.
    fn round_trip(&self, now: Instant, lsr: u32, dlsr: u32) -> Option<Duration> {
        if lsr == 0 {
            return None;
        }
        let sent = self.sent_srs.iter().flatten().find(|s| s.lsr == lsr)?;
        now.checked_duration_since(sent.at)?
            .checked_sub(short_to_duration(dlsr))
    }

    fn we_sent(&self, tx: &SendStats) -> bool {
        self.last_rtp_sent.is_some() && tx.packets > self.packets_at_last_report
    }

    fn they_sent(&self) -> bool {
        self.reception.is_some_and(|r| r.heard_since_report)
    }

    fn interval(&mut self, we_sent: bool, they_sent: bool) -> Duration {
        let heard = self.reception.is_some() || self.stats.remote_ssrc.is_some();
        let inputs = IntervalInputs {
            members: 1 + u32::from(heard),
            senders: u32::from(we_sent) + u32::from(they_sent),
            rtcp_bandwidth: self.rtcp_bandwidth,
            we_sent,
            avg_rtcp_size: self.avg_rtcp_size,
            initial: self.initial,
        };
        rtcp_interval(&inputs, self.rng.next_unit())
    }

    /// §6.3.3: the average compound size, lower layers included, smoothed by 1/16.
    fn update_avg_size(&mut self, len: usize) {
        let size = (len + UDP_IP_OVERHEAD) as f64;
        self.avg_rtcp_size += (size - self.avg_rtcp_size) / 16.0;
    }

    fn write_compound(
        &mut self,
        now: Instant,
        wall: NtpTime,
        rx: &ReceiveStats,
        tx: &SendStats,
        bye: bool,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let sender = self.we_sent(tx);
        let block_due = self.they_sent();
        let need = report_len(sender, usize::from(block_due))
            + sdes_cname_len(self.cname.len())
            + if bye { BYE_LEN } else { 0 };
        if out.len() < need {
            return Err(Error::BufferTooSmall {
                need,
                have: out.len(),
            });
        }

        let info = self.last_rtp_sent.filter(|_| sender).map(|(at, ts)| {
            let elapsed = now.saturating_duration_since(at);
            let units = elapsed.as_nanos() * u128::from(self.clock_rate) / 1_000_000_000;
            SenderInfo {
                ntp: wall,
                rtp_timestamp: ts.advanced(units as u32),
                packet_count: tx.packets as u32,
                octet_count: tx.bytes as u32,
            }
        });
        let mut block = [None; 1];
        if block_due {
            let (lsr, dlsr) = match self.remote_sr {
                Some(sr) if self.reception.is_some_and(|r| r.ssrc == sr.ssrc) => (
                    sr.lsr,
                    duration_to_short(now.saturating_duration_since(sr.at)),
                ),
                _ => (0, 0),
            };
            block[0] = self
                .reception
                .as_mut()
                .map(|r| r.report_block(rx.jitter, lsr, dlsr));
        }
        let blocks: &[ReportBlock] = match &block {
            [Some(b)] => std::slice::from_ref(b),
            _ => &[],
        };

        let mut n = packet::write_report(out, self.ssrc, info.as_ref(), blocks);
        n += packet::write_sdes_cname(&mut out[n..], self.ssrc, &self.cname);
        if bye {
            n += packet::write_bye(&mut out[n..], self.ssrc);
        }
        debug_assert_eq!(n, need);

        if info.is_some() {
            self.sent_srs[self.next_sent_sr] = Some(SentSr {
                lsr: wall.short(),
                at: now,
            });
            self.next_sent_sr = (self.next_sent_sr + 1) % SENT_SR_MEMORY;
        }
        self.packets_at_last_report = tx.packets;
        self.last_report_at = now;
        self.initial = false;
        self.stats.reports_sent += 1;
        self.update_avg_size(n);
        Ok(n)
    }
}
