//! The INVITE server transaction (RFC 3261 §17.2.1, Figure 7, with the
//! Accepted state of RFC 6026 §7.1).
//!
//! Two duties of the UAS core live here too because they are timers on the
//! same exchange: the 100 Trying sent when the TU has not answered within
//! 200 ms (§17.2.1), and the retransmission of a 2xx until its ACK arrives
//! (§13.3.1.4: T1, doubling up to T2, for 64·T1).

use super::{encode, Outputs, Timer, TimerTable, Timers, TxOutput};
use bytes::Bytes;
use rsip::Response;
use std::time::{Duration, Instant};

/// States of the INVITE server transaction (RFC 3261 Figure 7, RFC 6026 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerInviteState {
    /// Waiting for the TU's final response.
    Proceeding,
    /// A 3xx–6xx was sent; waiting for its ACK (Timers G, H).
    Completed,
    /// The ACK arrived; absorbing stray ACKs (Timer I).
    Confirmed,
    /// A 2xx was sent; retransmitting it until the ACK (Timer L ends it).
    Accepted,
    /// Over: the owner may forget it.
    Terminated,
}

/// The INVITE server transaction: sends the TU's responses, repeats the last one for a
/// retransmitted INVITE and until the ACK comes (a non-2xx over UDP only, §17.2.1; a
/// 2xx on any transport, §13.3.1.4), and sends 100 Trying for a slow TU.
#[derive(Debug)]
pub struct ServerInvite {
    state: ServerInviteState,
    last_response: Option<Bytes>,
    trying: Bytes,
    reliable: bool,
    timers: Timers,
    table: TimerTable,
    interval: Duration,
    acked: bool,
}

/// How long the TU has to answer before the transaction sends 100 Trying.
pub const TRYING_DELAY: Duration = Duration::from_millis(200);

impl ServerInvite {
    /// `trying` is the 100 Trying to send if the TU is slow.
    pub fn new(now: Instant, trying: &Response, reliable: bool, timers: Timers) -> Self {
        let mut table = TimerTable::default();
        table.set(Timer::Trying, now + TRYING_DELAY);
        ServerInvite {
            state: ServerInviteState::Proceeding,
            last_response: None,
            trying: encode(trying),
            reliable,
            timers,
            table,
            interval: timers.t1,
            acked: false,
        }
    }

    /// Where the transaction stands.
    pub fn state(&self) -> ServerInviteState {
        self.state
    }

    /// When [`ServerInvite::handle_timeout`] next has work; `None` when no timer runs.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.table.next_deadline()
    }

    /// Whether a final response has been sent (a CANCEL then changes nothing).
    pub fn is_answered(&self) -> bool {
        self.state != ServerInviteState::Proceeding
    }

    /// The INVITE arrived again: repeat the last response, if any.
    pub fn on_retransmission(&mut self, out: &mut Outputs) {
        match self.state {
            ServerInviteState::Proceeding | ServerInviteState::Completed => {
                if let Some(bytes) = &self.last_response {
                    out.push_back(TxOutput::Send(bytes.clone()));
                }
            }
            // RFC 6026: retransmitted INVITEs are absorbed once a 2xx is out;
            // the 2xx retransmission timer already repeats it.
            _ => {}
        }
    }

    /// The TU responds to the INVITE.
    pub fn respond(&mut self, now: Instant, response: &Response, out: &mut Outputs) {
        if self.state != ServerInviteState::Proceeding {
            return;
        }
        let bytes = encode(response);
        out.push_back(TxOutput::Send(bytes.clone()));
        self.last_response = Some(bytes);
        self.table.stop(Timer::Trying);
        let code = response.status_code.code();
        if code < 200 {
            return;
        }
        self.interval = self.timers.t1;
        if code < 300 {
            self.state = ServerInviteState::Accepted;
            self.table.set(Timer::Retransmit2xx, now + self.interval);
            self.table.set(Timer::L, now + self.timers.timeout());
        } else {
            self.state = ServerInviteState::Completed;
            if !self.reliable {
                self.table.set(Timer::G, now + self.interval);
            }
            self.table.set(Timer::H, now + self.timers.timeout());
        }
    }

    /// An ACK matched this transaction: for a non-2xx by its branch, for a
    /// 2xx by its dialog (the endpoint does that match).
    pub fn on_ack(&mut self, now: Instant, out: &mut Outputs) {
        match self.state {
            ServerInviteState::Completed => {
                self.state = ServerInviteState::Confirmed;
                self.table.stop_all();
                let wait = if self.reliable {
                    Duration::ZERO
                } else {
                    self.timers.t4
                };
                self.table.set(Timer::I, now + wait);
            }
            ServerInviteState::Accepted => {
                self.acked = true;
                self.table.stop(Timer::Retransmit2xx);
                // Nothing will be sent again: free the copies (at thousands of
                // calls a second, these add up over Timer L's 32 s).
                self.last_response = None;
                self.trying = Bytes::new();
            }
            _ => {}
        }
        let _ = out;
    }

    /// Runs the timers due at `now`, writing what they ask for into `out`.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Outputs) {
        while let Some(timer) = self.table.pop_expired(now) {
            match (timer, self.state) {
                (Timer::Trying, ServerInviteState::Proceeding) => {
                    out.push_back(TxOutput::Send(self.trying.clone()));
                    self.last_response = Some(self.trying.clone());
                }
                (Timer::G, ServerInviteState::Completed)
                | (Timer::Retransmit2xx, ServerInviteState::Accepted) => {
                    if let Some(bytes) = &self.last_response {
                        out.push_back(TxOutput::Send(bytes.clone()));
                    }
                    self.interval = (self.interval * 2).min(self.timers.t2);
                    self.table.set(timer, now + self.interval);
                }
                (Timer::H, ServerInviteState::Completed) => {
                    out.push_back(TxOutput::Timeout);
                    self.terminate(out);
                }
                (Timer::L, ServerInviteState::Accepted) => {
                    if !self.acked {
                        out.push_back(TxOutput::Timeout);
                    }
                    self.terminate(out);
                }
                (Timer::I, _) => self.terminate(out),
                _ => {}
            }
        }
    }

    fn terminate(&mut self, out: &mut Outputs) {
        self.state = ServerInviteState::Terminated;
        self.table.stop_all();
        out.push_back(TxOutput::Terminated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::test_support::*;

    fn new_tx(t0: Instant, reliable: bool) -> ServerInvite {
        ServerInvite::new(
            t0,
            &response_to(&invite(), 100),
            reliable,
            Timers::default(),
        )
    }

    fn sends_until(
        tx: &mut ServerInvite,
        t0: Instant,
        end: Duration,
    ) -> (Vec<u128>, Vec<TxOutput>) {
        let mut out = Outputs::new();
        let mut sends = Vec::new();
        let mut others = Vec::new();
        while let Some(t) = tx.next_deadline() {
            if t - t0 > end {
                break;
            }
            tx.handle_timeout(t, &mut out);
            for o in out.drain(..) {
                match o {
                    TxOutput::Send(_) => sends.push((t - t0).as_millis()),
                    o => others.push(o),
                }
            }
        }
        (sends, others)
    }

    #[test]
    fn sends_100_trying_only_when_tu_is_slow() {
        let t0 = Instant::now();
        let mut out = Outputs::new();
        let mut fast = new_tx(t0, false);
        fast.respond(
            t0 + Duration::from_millis(10),
            &response_to(&invite(), 180),
            &mut out,
        );
        out.clear();
        fast.handle_timeout(t0 + Duration::from_millis(300), &mut out);
        assert!(out.is_empty(), "no 100 after the TU answered");

        let mut slow = new_tx(t0, false);
        slow.handle_timeout(t0 + Duration::from_millis(200), &mut out);
        match out.pop_front() {
            Some(TxOutput::Send(b)) => assert!(b.starts_with(b"SIP/2.0 100 ")),
            other => panic!("{other:?}"),
        }
        // A retransmitted INVITE now gets the 100 again.
        slow.on_retransmission(&mut out);
        assert!(matches!(out.pop_front(), Some(TxOutput::Send(_))));
    }

    #[test]
    fn non_2xx_retransmitted_on_g_until_h_without_ack() {
        let t0 = Instant::now();
        let mut out = Outputs::new();
        let mut tx = new_tx(t0, false);
        tx.respond(t0, &response_to(&invite(), 486), &mut out);
        out.clear();
        let (sends, others) = sends_until(&mut tx, t0, Duration::from_secs(40));
        assert_eq!(
            sends,
            vec![500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
        );
        assert_eq!(others, vec![TxOutput::Timeout, TxOutput::Terminated]);
    }

    #[test]
    fn ack_confirms_then_timer_i_terminates() {
        let t0 = Instant::now();
        let mut out = Outputs::new();
        let mut tx = new_tx(t0, false);
        tx.respond(t0, &response_to(&invite(), 404), &mut out);
        tx.on_ack(t0 + Duration::from_millis(100), &mut out);
        assert_eq!(tx.state(), ServerInviteState::Confirmed);
        out.clear();
        let (sends, others) = sends_until(&mut tx, t0, Duration::from_secs(40));
        assert!(sends.is_empty(), "no retransmission after ACK");
        assert_eq!(others, vec![TxOutput::Terminated]);
        // Retransmitted INVITE after termination is the endpoint's concern.
    }

    #[test]
    fn accepted_retransmits_2xx_until_ack_and_absorbs_invites() {
        let t0 = Instant::now();
        let mut out = Outputs::new();
        let mut tx = new_tx(t0, false);
        tx.respond(t0, &response_to(&invite(), 200), &mut out);
        out.clear();
        tx.on_retransmission(&mut out);
        assert!(out.is_empty(), "RFC 6026: INVITE retransmission absorbed");
        tx.handle_timeout(t0 + Duration::from_millis(500), &mut out);
        tx.handle_timeout(t0 + Duration::from_millis(1500), &mut out);
        assert_eq!(out.len(), 2);
        out.clear();
        tx.on_ack(t0 + Duration::from_millis(1600), &mut out);
        let (sends, others) = sends_until(&mut tx, t0, Duration::from_secs(40));
        assert!(sends.is_empty());
        assert_eq!(others, vec![TxOutput::Terminated], "no timeout once ACKed");
    }

    #[test]
    fn unacked_2xx_reports_timeout_at_l() {
        let t0 = Instant::now();
        let mut out = Outputs::new();
        let mut tx = new_tx(t0, true);
        tx.respond(t0, &response_to(&invite(), 200), &mut out);
        out.clear();
        let (sends, others) = sends_until(&mut tx, t0, Duration::from_secs(40));
        assert_eq!(sends.len(), 10, "2xx retransmitted even on TCP (§13.3.1.4)");
        assert_eq!(others, vec![TxOutput::Timeout, TxOutput::Terminated]);
    }
}
