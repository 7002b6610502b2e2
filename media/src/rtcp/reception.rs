//! What our reports say about the peer's stream: RFC 3550 A.3 over the extended
//! sequence numbers the RTP receiver already computes.

use super::packet::ReportBlock;
use crate::ids::{ExtSeqNo, Ssrc};
use crate::sequence::Arrival;

/// Reception state of the source we report on (A.1's `base_seq`, `max_seq`, `received`,
/// and the `*_prior` values of A.3).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reception {
    pub ssrc: Ssrc,
    base: u64,
    max: u64,
    /// Packets received, late and duplicate ones included (A.3 counts them, so the
    /// cumulative loss can go negative).
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// An RTP packet arrived since our last report: the source gets a block (§6.4).
    pub heard_since_report: bool,
}

impl Reception {
    fn start(ssrc: Ssrc, ext: ExtSeqNo) -> Reception {
        Reception {
            ssrc,
            base: ext.0,
            max: ext.0,
            received: 1,
            expected_prior: 0,
            received_prior: 0,
            heard_since_report: true,
        }
    }

    /// Accounts for one packet the RTP receiver accepted. `None` is no source yet.
    pub fn update(this: &mut Option<Reception>, ssrc: Ssrc, arrival: Arrival, ext: ExtSeqNo) {
        if arrival == Arrival::Jump {
            // Not used by the receiver; A.1 does not count it either.
            return;
        }
        let Some(r) = this.as_mut() else {
            *this = Some(Reception::start(ssrc, ext));
            return;
        };
        // The receiver starts its numbering over for a new SSRC, a confirmed restart,
        // and a gap during probation: so do we (A.1 `init_seq`).
        let restarted = match arrival {
            Arrival::Restarted => true,
            Arrival::Probation => ext.0 != r.max + 1,
            _ => false,
        };
        if r.ssrc != ssrc || restarted {
            *r = Reception::start(ssrc, ext);
            return;
        }
        r.max = r.max.max(ext.0);
        r.received += 1;
        r.heard_since_report = true;
    }

    /// The report block about this source (A.3), moving the interval counters on.
    pub fn report_block(&mut self, jitter: u32, last_sr: u32, dlsr: u32) -> ReportBlock {
        let expected = self.max - self.base + 1;
        let lost = expected as i64 - self.received as i64;
        let expected_interval = expected - self.expected_prior;
        let received_interval = self.received - self.received_prior;
        self.expected_prior = expected;
        self.received_prior = self.received;
        self.heard_since_report = false;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: lost.clamp(-0x80_0000, 0x7F_FFFF) as i32,
            extended_highest_seq: self.max as u32,
            jitter,
            last_sr,
            delay_since_last_sr: dlsr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(r: &mut Option<Reception>, ssrc: u32, arrival: Arrival, ext: u64) {
        Reception::update(r, Ssrc(ssrc), arrival, ExtSeqNo(ext));
    }

    #[test]
    fn fraction_is_per_interval_and_cumulative_is_since_the_start() {
        let mut r = None;
        feed(&mut r, 1, Arrival::Probation, 65530);
        for ext in 65531..65540u64 {
            if ext % 4 != 0 {
                feed(&mut r, 1, Arrival::InOrder { missing: 0 }, ext);
            }
        }
        let r = r.as_mut().unwrap();
        let b = r.report_block(12, 0, 0);
        // 10 expected (65530..=65539), 65532 and 65536 lost.
        assert_eq!(b.cumulative_lost, 2);
        assert_eq!(b.fraction_lost, (2 * 256 / 10) as u8);
        assert_eq!(b.extended_highest_seq, 65539);
        assert_eq!((b.jitter, b.ssrc), (12, Ssrc(1)));
        assert!(!r.heard_since_report);

        // A late arrival of a lost packet and nothing else: no new loss this interval.
        let mut some = Some(*r);
        feed(&mut some, 1, Arrival::Reordered, 65536);
        let b = some.as_mut().unwrap().report_block(0, 0, 0);
        assert_eq!((b.fraction_lost, b.cumulative_lost), (0, 1));
    }

    #[test]
    fn a_new_source_or_restart_starts_the_counts_over() {
        let mut r = None;
        feed(&mut r, 1, Arrival::Probation, 10);
        feed(&mut r, 1, Arrival::InOrder { missing: 5 }, 16);
        feed(&mut r, 2, Arrival::Probation, 500);
        feed(&mut r, 2, Arrival::InOrder { missing: 0 }, 501);
        let b = r.as_mut().unwrap().report_block(0, 0, 0);
        assert_eq!(
            (b.ssrc, b.cumulative_lost, b.extended_highest_seq),
            (Ssrc(2), 0, 501)
        );
        feed(&mut r, 2, Arrival::Jump, 40_000);
        feed(&mut r, 2, Arrival::Restarted, 40_001);
        feed(&mut r, 2, Arrival::Duplicate, 40_001);
        let b = r.as_mut().unwrap().report_block(0, 0, 0);
        assert_eq!((b.cumulative_lost, b.extended_highest_seq), (-1, 40_001));
    }
}
