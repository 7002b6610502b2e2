//! The non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8).

use super::{encode, Outputs, Timer, TimerTable, Timers, TxOutput};
use bytes::Bytes;
use rsip::Response;
use std::time::{Duration, Instant};

/// States of the non-INVITE server transaction (RFC 3261 Figure 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerNonInviteState {
    /// Request passed to the TU; no response yet. Retransmissions absorbed.
    Trying,
    /// A provisional was sent; request retransmissions get it again.
    Proceeding,
    /// A final response was sent; retransmissions get it again (Timer J).
    Completed,
    /// Over: the owner may forget it.
    Terminated,
}

/// The non-INVITE server transaction: sends the TU's responses and repeats the last
/// one for a retransmitted request.
#[derive(Debug)]
pub struct ServerNonInvite {
    state: ServerNonInviteState,
    last_response: Option<Bytes>,
    reliable: bool,
    timers: Timers,
    table: TimerTable,
}

impl ServerNonInvite {
    /// A transaction for a request just received; `reliable` for a stream transport.
    pub fn new(reliable: bool, timers: Timers) -> Self {
        ServerNonInvite {
            state: ServerNonInviteState::Trying,
            last_response: None,
            reliable,
            timers,
            table: TimerTable::default(),
        }
    }

    /// Where the transaction stands.
    pub fn state(&self) -> ServerNonInviteState {
        self.state
    }

    /// When [`ServerNonInvite::handle_timeout`] next has work; `None` when no timer runs.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.table.next_deadline()
    }

    /// The same request arrived again.
    pub fn on_retransmission(&mut self, out: &mut Outputs) {
        if let Some(bytes) = &self.last_response {
            out.push_back(TxOutput::Send(bytes.clone()));
        }
    }

    /// The TU responds.
    pub fn respond(&mut self, now: Instant, response: &Response, out: &mut Outputs) {
        if matches!(
            self.state,
            ServerNonInviteState::Completed | ServerNonInviteState::Terminated
        ) {
            return;
        }
        let bytes = encode(response);
        out.push_back(TxOutput::Send(bytes.clone()));
        self.last_response = Some(bytes);
        if response.status_code.code() < 200 {
            self.state = ServerNonInviteState::Proceeding;
        } else {
            self.state = ServerNonInviteState::Completed;
            let wait = if self.reliable {
                Duration::ZERO
            } else {
                self.timers.timeout()
            };
            self.table.set(Timer::J, now + wait);
        }
    }

    /// Runs the timers due at `now` (J), writing what they ask for into `out`.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Outputs) {
        while let Some(timer) = self.table.pop_expired(now) {
            if timer == Timer::J {
                self.state = ServerNonInviteState::Terminated;
                self.table.stop_all();
                out.push_back(TxOutput::Terminated);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::test_support::*;

    #[test]
    fn retransmissions_absorbed_until_answered_then_repeated() {
        let t0 = Instant::now();
        let mut out = Outputs::new();
        let mut tx = ServerNonInvite::new(false, Timers::default());
        tx.on_retransmission(&mut out);
        assert!(out.is_empty(), "nothing to repeat before the TU answers");
        tx.respond(t0, &response_to(&options(), 200), &mut out);
        assert!(matches!(out.pop_front(), Some(TxOutput::Send(_))));
        tx.on_retransmission(&mut out);
        assert!(matches!(out.pop_front(), Some(TxOutput::Send(_))));
        // A second final from the TU is ignored.
        tx.respond(t0, &response_to(&options(), 500), &mut out);
        assert!(out.is_empty());
        tx.handle_timeout(t0 + Duration::from_millis(31_999), &mut out);
        assert!(out.is_empty());
        tx.handle_timeout(t0 + Duration::from_secs(32), &mut out);
        assert_eq!(out.pop_front(), Some(TxOutput::Terminated));
        assert_eq!(tx.state(), ServerNonInviteState::Terminated);
    }

    #[test]
    fn provisional_is_repeated_for_retransmissions() {
        let t0 = Instant::now();
        let mut out = Outputs::new();
        let mut tx = ServerNonInvite::new(false, Timers::default());
        tx.respond(t0, &response_to(&options(), 100), &mut out);
        out.clear();
        tx.on_retransmission(&mut out);
        match out.pop_front() {
            Some(TxOutput::Send(b)) => assert!(b.starts_with(b"SIP/2.0 100")),
            other => panic!("{other:?}"),
        }
        assert_eq!(tx.state(), ServerNonInviteState::Proceeding);
    }
}
