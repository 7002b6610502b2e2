//! Transaction timers as a closed enum over a fixed table (no timer wheel
//! handles): each transaction knows its own deadlines and the endpoint keeps
//! only an index of them.

use std::time::{Duration, Instant};

/// T1, T2 and T4 of RFC 3261 §17.1.1.1 and Table 4; configurable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// RTT estimate, default 500 ms.
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE
    /// responses, default 4 s.
    pub t2: Duration,
    /// Maximum time a message stays in the network, default 5 s.
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl Timers {
    /// 64·T1: the transaction timeout of Timers B, F, H, J, L and M.
    pub fn timeout(&self) -> Duration {
        self.t1 * 64
    }
}

/// Every timer a transaction can arm (RFC 3261 Table 4; L and M from RFC 6026;
/// `Trying` is the 200 ms rule of §17.2.1 for sending 100 Trying;
/// `Retransmit2xx` is the UAS core's 2xx retransmission of §13.3.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// INVITE retransmission over UDP: first after T1, then doubling.
    A,
    /// INVITE transaction timeout, 64·T1.
    B,
    /// Absorbing final-response retransmissions after the ACK: 32 s over UDP, 0 over TCP.
    D,
    /// Non-INVITE retransmission over UDP: first after T1, doubling up to T2.
    E,
    /// Non-INVITE transaction timeout, 64·T1.
    F,
    /// Non-2xx final response retransmission over UDP: first after T1, doubling up to T2.
    G,
    /// Wait for the ACK of a non-2xx final response, 64·T1.
    H,
    /// Absorbing ACK retransmissions: T4 over UDP, 0 over TCP.
    I,
    /// Absorbing non-INVITE request retransmissions: 64·T1 over UDP, 0 over TCP.
    J,
    /// Absorbing final-response retransmissions (non-INVITE client): T4 over UDP, 0
    /// over TCP.
    K,
    /// How long an INVITE server transaction stays Accepted after its 2xx, 64·T1
    /// (RFC 6026 §7.1).
    L,
    /// How long an INVITE client transaction stays Accepted after a 2xx, passing on
    /// retransmitted 2xx, 64·T1 (RFC 6026 §7.2).
    M,
    /// 100 Trying, when the TU has not answered an INVITE within 200 ms (§17.2.1).
    Trying,
    /// 2xx retransmission by the UAS core until the ACK: T1, doubling up to T2
    /// (§13.3.1.4).
    Retransmit2xx,
}

const TIMER_COUNT: usize = 14;

impl Timer {
    fn index(self) -> usize {
        self as usize
    }

    const ALL: [Timer; TIMER_COUNT] = [
        Timer::A,
        Timer::B,
        Timer::D,
        Timer::E,
        Timer::F,
        Timer::G,
        Timer::H,
        Timer::I,
        Timer::J,
        Timer::K,
        Timer::L,
        Timer::M,
        Timer::Trying,
        Timer::Retransmit2xx,
    ];
}

/// Deadlines of one transaction, indexed by [`Timer`].
#[derive(Debug, Clone, Default)]
pub struct TimerTable {
    deadlines: [Option<Instant>; TIMER_COUNT],
}

impl TimerTable {
    /// Arms `timer` to fire at `at`, replacing any earlier deadline.
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer.index()] = Some(at);
    }

    /// Disarms `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.deadlines[timer.index()] = None;
    }

    /// Disarms every timer.
    pub fn stop_all(&mut self) {
        self.deadlines = [None; TIMER_COUNT];
    }

    /// When `timer` fires, if armed.
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer.index()]
    }

    /// The earliest armed deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Disarms and returns one timer whose deadline is at or before `now`,
    /// earliest first.
    pub fn pop_expired(&mut self, now: Instant) -> Option<Timer> {
        let (timer, _) = Timer::ALL
            .iter()
            .filter_map(|t| self.get(*t).map(|at| (*t, at)))
            .filter(|(_, at)| *at <= now)
            .min_by_key(|(_, at)| *at)?;
        self.stop(timer);
        Some(timer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_timers_pop_in_deadline_order() {
        let base = Instant::now();
        let mut table = TimerTable::default();
        table.set(Timer::B, base + Duration::from_secs(32));
        table.set(Timer::A, base + Duration::from_millis(500));
        assert_eq!(
            table.next_deadline(),
            Some(base + Duration::from_millis(500))
        );
        assert_eq!(table.pop_expired(base), None);
        let late = base + Duration::from_secs(40);
        assert_eq!(table.pop_expired(late), Some(Timer::A));
        assert_eq!(table.pop_expired(late), Some(Timer::B));
        assert_eq!(table.pop_expired(late), None);
        assert_eq!(table.next_deadline(), None);
    }
}
