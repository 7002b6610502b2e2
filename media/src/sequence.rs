//! Per-source sequence tracking after RFC 3550 Appendix A.1, with a window that tells a
//! duplicate from a late (reordered) packet.
//!
//! A.1 extends the 16-bit number across wrap-arounds, puts a new source on probation
//! until `MIN_SEQUENTIAL` packets arrive in order, and treats a jump of more than
//! `MAX_DROPOUT` ahead (or `MAX_MISORDER` behind) as a restart only when the packet
//! after it confirms it. A.1 counts duplicates as received; we keep a 128-packet bitmap
//! behind the highest number so they are counted apart and loss stays truthful. Unlike
//! A.1, a late or repeated packet during probation does not restart it.

use crate::ids::{ExtSeqNo, SeqNo};

/// Packets in order before a source is valid (RFC 3550 A.1).
pub const MIN_SEQUENTIAL: u16 = 2;
/// Largest forward jump taken as loss rather than a restart (RFC 3550 A.1).
pub const MAX_DROPOUT: u16 = 3000;
/// Backward distance from which a packet is a restart, not reordering (RFC 3550 A.1).
pub const MAX_MISORDER: u16 = 100;

const SEQ_MOD: u64 = 1 << 16;
/// Packets remembered behind the highest number; must exceed `MAX_MISORDER`.
const WINDOW: u64 = 128;

/// Where a packet falls in its source's sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The source is new and not yet validated (RFC 3550 A.1 probation); the packet is
    /// still delivered, because dropping the start of a call is worse than trusting it.
    Probation,
    /// The highest number so far; `missing` packets between the previous highest and
    /// this one have not (yet) arrived.
    InOrder {
        /// Gap before this packet.
        missing: u16,
    },
    /// A jump confirmed by the next packet: the sender restarted its numbering
    /// (RFC 3550 A.1 `bad_seq`). A discontinuity.
    Restarted,
    /// Behind the highest number and not seen before: it arrived late.
    Reordered,
    /// Seen before.
    Duplicate,
    /// A jump beyond `MAX_DROPOUT` not yet confirmed; the packet is not used.
    Jump,
}

/// Sequence state of one source.
#[derive(Debug, Clone)]
pub struct SequenceTracker {
    /// Highest extended number seen (`cycles | max_seq` of A.1).
    max: u64,
    /// Packets still needed in order before the source is valid.
    probation: u16,
    /// The number that would confirm a jump (A.1 `bad_seq`); outside u16 when unset.
    bad_seq: u32,
    /// Bit `i` set: `max - i` has been received.
    seen: u128,
}

impl SequenceTracker {
    /// Starts tracking a source whose first packet carries `seq` (A.1: the source is
    /// placed on probation and this packet is its first).
    pub fn new(seq: SeqNo) -> SequenceTracker {
        SequenceTracker {
            max: u64::from(seq.0),
            probation: MIN_SEQUENTIAL - 1,
            bad_seq: u32::MAX,
            seen: 1,
        }
    }

    /// Highest extended sequence number seen.
    pub fn max(&self) -> ExtSeqNo {
        ExtSeqNo(self.max)
    }

    /// Whether the source has passed probation.
    pub fn is_valid(&self) -> bool {
        self.probation == 0
    }

    fn restart(&mut self, seq: SeqNo) {
        self.max = u64::from(seq.0);
        self.bad_seq = u32::MAX;
        self.seen = 1;
    }

    /// Accounts for the next packet of this source; returns where it falls and its
    /// extended sequence number.
    pub fn update(&mut self, seq: SeqNo) -> (Arrival, ExtSeqNo) {
        let max_seq = self.max as u16;
        let udelta = seq.0.wrapping_sub(max_seq);
        let behind = u32::from(udelta) > SEQ_MOD as u32 - u32::from(MAX_MISORDER);

        if udelta == 0 {
            return (Arrival::Duplicate, ExtSeqNo(self.max));
        }
        if behind {
            // Fewer than MAX_MISORDER behind the highest number: late or repeated.
            // (A.1 restarts probation here; a late packet says nothing against the
            // source, so we only refuse to play it.)
            return self.late(max_seq.wrapping_sub(seq.0));
        }

        if self.probation > 0 {
            if udelta == 1 {
                self.probation -= 1;
                self.advance(1);
                if self.probation == 0 {
                    return (Arrival::InOrder { missing: 0 }, ExtSeqNo(self.max));
                }
            } else {
                // A gap during probation: start over from this packet (A.1).
                self.probation = MIN_SEQUENTIAL - 1;
                self.restart(seq);
            }
            return (Arrival::Probation, ExtSeqNo(self.max));
        }

        if udelta < MAX_DROPOUT {
            // In order, with a permissible gap; a wrap is handled by `advance`.
            self.advance(u64::from(udelta));
            return (
                Arrival::InOrder {
                    missing: udelta - 1,
                },
                ExtSeqNo(self.max),
            );
        }
        // A very large jump: believe it only if the next packet follows it.
        if u32::from(seq.0) == self.bad_seq {
            self.restart(seq);
            return (Arrival::Restarted, ExtSeqNo(self.max));
        }
        self.bad_seq = u32::from(seq.0.wrapping_add(1));
        (Arrival::Jump, ExtSeqNo(self.max))
    }

    fn late(&mut self, behind: u16) -> (Arrival, ExtSeqNo) {
        let behind = u64::from(behind);
        let ext = ExtSeqNo(self.max.wrapping_sub(behind));
        if behind > self.max {
            // Before the first packet we ever saw (no earlier cycle to belong to).
            return (Arrival::Reordered, ext);
        }
        let bit = 1u128 << behind;
        if self.seen & bit != 0 {
            return (Arrival::Duplicate, ext);
        }
        self.seen |= bit;
        (Arrival::Reordered, ext)
    }

    fn advance(&mut self, by: u64) {
        self.max += by;
        self.seen = if by >= WINDOW { 0 } else { self.seen << by };
        self.seen |= 1;
        debug_assert!(self.max / SEQ_MOD < u64::from(u32::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validated(start: u16) -> SequenceTracker {
        let mut t = SequenceTracker::new(SeqNo(start));
        assert_eq!(
            t.update(SeqNo(start.wrapping_add(1))).0,
            Arrival::InOrder { missing: 0 }
        );
        assert!(t.is_valid());
        t
    }

    #[test]
    fn first_packet_is_on_probation_until_the_next_in_order() {
        let mut t = SequenceTracker::new(SeqNo(10));
        assert!(!t.is_valid());
        assert_eq!(t.update(SeqNo(50)).0, Arrival::Probation);
        assert_eq!(t.update(SeqNo(51)).0, Arrival::InOrder { missing: 0 });
        assert!(t.is_valid());
    }

    #[test]
    fn wraps_from_65535_to_0_and_counts_a_cycle() {
        let mut t = validated(65534);
        let (a, ext) = t.update(SeqNo(0));
        assert_eq!(a, Arrival::InOrder { missing: 0 });
        assert_eq!(ext, ExtSeqNo(65536));
        assert_eq!(ext.cycles(), 1);
        assert_eq!(ext.seq(), SeqNo(0));
        // A late 65535 after the wrap belongs to the previous cycle.
        let mut t = validated(65533);
        assert_eq!(t.update(SeqNo(1)).0, Arrival::InOrder { missing: 2 });
        assert_eq!(
            t.update(SeqNo(65535)),
            (Arrival::Reordered, ExtSeqNo(65535))
        );
        assert_eq!(t.update(SeqNo(65535)).0, Arrival::Duplicate);
    }

    #[test]
    fn gap_then_late_arrival_then_duplicate() {
        let mut t = validated(100);
        assert_eq!(t.update(SeqNo(104)).0, Arrival::InOrder { missing: 2 });
        assert_eq!(t.update(SeqNo(102)).0, Arrival::Reordered);
        assert_eq!(t.update(SeqNo(102)).0, Arrival::Duplicate);
        assert_eq!(t.update(SeqNo(104)).0, Arrival::Duplicate);
        assert_eq!(t.update(SeqNo(101)).0, Arrival::Duplicate);
        assert_eq!(t.max(), ExtSeqNo(104));
    }

    #[test]
    fn late_packet_during_probation_is_late_not_a_new_start() {
        let mut t = SequenceTracker::new(SeqNo(11));
        assert_eq!(t.update(SeqNo(10)).0, Arrival::Reordered);
        assert_eq!(t.update(SeqNo(11)).0, Arrival::Duplicate);
        assert_eq!(t.update(SeqNo(12)).0, Arrival::InOrder { missing: 0 });
        let mut t = SequenceTracker::new(SeqNo(11));
        assert_eq!(
            t.update(SeqNo(13)).0,
            Arrival::Probation,
            "a gap restarts probation"
        );
        assert_eq!(t.update(SeqNo(14)).0, Arrival::InOrder { missing: 0 });
    }

    #[test]
    fn large_jump_needs_confirmation() {
        let mut t = validated(1000);
        assert_eq!(t.update(SeqNo(30000)).0, Arrival::Jump);
        assert_eq!(t.update(SeqNo(1002)).0, Arrival::InOrder { missing: 0 });
        assert_eq!(t.update(SeqNo(30000)).0, Arrival::Jump);
        assert_eq!(t.update(SeqNo(30001)).0, Arrival::Restarted);
        assert_eq!(t.update(SeqNo(30002)).0, Arrival::InOrder { missing: 0 });
    }

    #[test]
    fn far_behind_is_a_jump_not_a_reorder() {
        let mut t = validated(5000);
        // The highest is 5001: 99 behind is reordering, 100 behind is a jump (A.1).
        assert_eq!(t.update(SeqNo(5002 - MAX_MISORDER)).0, Arrival::Reordered);
        assert_eq!(t.update(SeqNo(5001 - MAX_MISORDER)).0, Arrival::Jump);
    }

    #[test]
    fn long_gap_clears_the_window() {
        let mut t = validated(0);
        assert_eq!(t.update(SeqNo(2000)).0, Arrival::InOrder { missing: 1998 });
        assert_eq!(t.update(SeqNo(1999)).0, Arrival::Reordered);
    }
}
