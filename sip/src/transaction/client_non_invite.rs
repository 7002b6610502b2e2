//! The non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6).

use super::{encode, Outputs, Timer, TimerTable, Timers, TxOutput};
use bytes::Bytes;
use rsip::{Request, Response};
use std::time::{Duration, Instant};

/// States of the non-INVITE client transaction (RFC 3261 Figure 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientNonInviteState {
    /// Request sent, nothing heard (Timer E retransmits, doubling up to T2).
    Trying,
    /// A provisional arrived (Timer E retransmits every T2).
    Proceeding,
    /// A final response arrived; absorbing its retransmissions (Timer K).
    Completed,
    /// Over: the owner may forget it.
    Terminated,
}

/// The non-INVITE client transaction: sends the request, retransmits it over UDP and
/// reports responses and timeouts.
#[derive(Debug)]
pub struct ClientNonInvite {
    state: ClientNonInviteState,
    request: Request,
    bytes: Bytes,
    reliable: bool,
    timers: Timers,
    table: TimerTable,
    interval_e: Duration,
}

impl ClientNonInvite {
    /// Starts the transaction: the request goes out at once.
    pub fn start(
        now: Instant,
        request: Request,
        reliable: bool,
        timers: Timers,
        out: &mut Outputs,
    ) -> Self {
        let bytes = encode(&request);
        let mut tx = ClientNonInvite {
            state: ClientNonInviteState::Trying,
            request,
            bytes: bytes.clone(),
            reliable,
            timers,
            table: TimerTable::default(),
            interval_e: timers.t1,
        };
        out.push_back(TxOutput::Send(bytes));
        if !reliable {
            tx.table.set(Timer::E, now + timers.t1);
        }
        tx.table.set(Timer::F, now + timers.timeout());
        tx
    }

    /// Where the transaction stands.
    pub fn state(&self) -> ClientNonInviteState {
        self.state
    }

    /// The request it sent.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// When [`ClientNonInvite::handle_timeout`] next has work; `None` when no timer runs.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.table.next_deadline()
    }

    /// A response matched to this transaction.
    pub fn on_response(&mut self, now: Instant, response: Response, out: &mut Outputs) {
        let code = response.status_code.code();
        match self.state {
            ClientNonInviteState::Trying | ClientNonInviteState::Proceeding if code < 200 => {
                self.state = ClientNonInviteState::Proceeding;
                out.push_back(TxOutput::Response(response));
            }
            ClientNonInviteState::Trying | ClientNonInviteState::Proceeding => {
                self.state = ClientNonInviteState::Completed;
                self.table.stop_all();
                let wait = if self.reliable {
                    Duration::ZERO
                } else {
                    self.timers.t4
                };
                self.table.set(Timer::K, now + wait);
                out.push_back(TxOutput::Response(response));
            }
            _ => {}
        }
    }

    /// Runs the timers due at `now` (E, F, K), writing what they ask for into `out`.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Outputs) {
        while let Some(timer) = self.table.pop_expired(now) {
            match (timer, self.state) {
                (Timer::E, ClientNonInviteState::Trying) => {
                    out.push_back(TxOutput::Send(self.bytes.clone()));
                    self.interval_e = (self.interval_e * 2).min(self.timers.t2);
                    self.table.set(Timer::E, now + self.interval_e);
                }
                (Timer::E, ClientNonInviteState::Proceeding) => {
                    out.push_back(TxOutput::Send(self.bytes.clone()));
                    self.table.set(Timer::E, now + self.timers.t2);
                }
                (Timer::F, ClientNonInviteState::Trying | ClientNonInviteState::Proceeding) => {
                    out.push_back(TxOutput::Timeout);
                    self.terminate(out);
                }
                (Timer::K, _) => self.terminate(out),
                _ => {}
            }
        }
    }

    fn terminate(&mut self, out: &mut Outputs) {
        self.state = ClientNonInviteState::Terminated;
        self.table.stop_all();
        out.push_back(TxOutput::Terminated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::test_support::*;

    fn run_until_terminated(tx: &mut ClientNonInvite, t0: Instant, out: &mut Outputs) -> Vec<u128> {
        let mut sends = Vec::new();
        while tx.state() != ClientNonInviteState::Terminated {
            let t = tx.next_deadline().expect("a timer is armed");
            tx.handle_timeout(t, out);
            while let Some(o) = out.pop_front() {
                if let TxOutput::Send(_) = o {
                    sends.push((t - t0).as_millis());
                }
            }
        }
        sends
    }

    #[test]
    fn timer_e_doubles_to_t2_and_f_times_out() {
        let t0 = Instant::now();
        let mut out = Outputs::new();
        let mut tx = ClientNonInvite::start(t0, options(), false, Timers::default(), &mut out);
        out.clear();
        let sends = run_until_terminated(&mut tx, t0, &mut out);
        // 0.5, 1.5, 3.5, 7.5 then every 4 s up to 32 s.
        assert_eq!(
            sends,
            vec![500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
        );
    }

    #[test]
    fn provisional_switches_to_t2_interval() {
        let t0 = Instant::now();
        let mut out = Outputs::new();
        let mut tx = ClientNonInvite::start(t0, options(), false, Timers::default(), &mut out);
        out.clear();
        tx.on_response(
            t0 + Duration::from_millis(100),
            response_to(&options(), 100),
            &mut out,
        );
        assert!(matches!(out.pop_front(), Some(TxOutput::Response(_))));
        // Timer E armed at 500 ms fires, then every T2.
        tx.handle_timeout(t0 + Duration::from_millis(500), &mut out);
        assert!(matches!(out.pop_front(), Some(TxOutput::Send(_))));
        assert_eq!(tx.next_deadline(), Some(t0 + Duration::from_millis(4500)));
    }

    #[test]
    fn final_response_delivered_once_then_k_terminates() {
        let t0 = Instant::now();
        let mut out = Outputs::new();
        let mut tx = ClientNonInvite::start(t0, options(), false, Timers::default(), &mut out);
        out.clear();
        let ok = response_to(&options(), 200);
        tx.on_response(t0, ok.clone(), &mut out);
        assert!(matches!(out.pop_front(), Some(TxOutput::Response(_))));
        tx.on_response(t0, ok, &mut out);
        assert!(out.is_empty(), "retransmitted final absorbed");
        tx.handle_timeout(t0 + Duration::from_secs(5), &mut out);
        assert_eq!(out.pop_front(), Some(TxOutput::Terminated));
    }

    #[test]
    fn reliable_final_terminates_immediately() {
        let t0 = Instant::now();
        let mut out = Outputs::new();
        let mut tx = ClientNonInvite::start(t0, options(), true, Timers::default(), &mut out);
        out.clear();
        tx.on_response(t0, response_to(&options(), 200), &mut out);
        tx.handle_timeout(t0, &mut out);
        assert_eq!(out.pop_back(), Some(TxOutput::Terminated));
    }
}
