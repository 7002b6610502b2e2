//! The INVITE client transaction (RFC 3261 §17.1.1, Figure 5, as amended by
//! RFC 6026 §7.2 with the Accepted state).

use super::{encode, Outputs, Timer, TimerTable, Timers, TxOutput};
use bytes::Bytes;
use rsip::prelude::UntypedHeader;
use rsip::{Header, Request, Response};
use std::time::{Duration, Instant};

/// States, named after what the transaction awaits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientInviteState {
    /// INVITE sent, nothing heard yet (retransmitting on Timer A).
    Calling,
    /// A provisional response arrived; waiting for a final one.
    Proceeding,
    /// A 3xx–6xx arrived and was ACKed; absorbing its retransmissions (Timer D).
    Completed,
    /// A 2xx arrived; passing retransmitted 2xx to the TU (Timer M).
    Accepted,
    /// Over: the owner may forget it.
    Terminated,
}

/// The INVITE client transaction: sends the INVITE, retransmits it over UDP, ACKs a
/// non-2xx final response itself (the TU ACKs a 2xx) and reports responses and timeouts.
#[derive(Debug)]
pub struct ClientInvite {
    state: ClientInviteState,
    request: Request,
    bytes: Bytes,
    ack: Option<Bytes>,
    reliable: bool,
    timers: Timers,
    table: TimerTable,
    interval_a: Duration,
}

impl ClientInvite {
    /// Starts the transaction: the INVITE goes out at once.
    pub fn start(
        now: Instant,
        request: Request,
        reliable: bool,
        timers: Timers,
        out: &mut Outputs,
    ) -> Self {
        let bytes = encode(&request);
        let mut tx = ClientInvite {
            state: ClientInviteState::Calling,
            request,
            bytes: bytes.clone(),
            ack: None,
            reliable,
            timers,
            table: TimerTable::default(),
            interval_a: timers.t1,
        };
        out.push_back(TxOutput::Send(bytes));
        if !reliable {
            tx.table.set(Timer::A, now + timers.t1);
        }
        tx.table.set(Timer::B, now + timers.timeout());
        tx
    }

    /// Where the transaction stands.
    pub fn state(&self) -> ClientInviteState {
        self.state
    }

    /// The INVITE it sent.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// When [`ClientInvite::handle_timeout`] next has work; `None` when no timer runs.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.table.next_deadline()
    }

    /// A response matched to this transaction.
    pub fn on_response(&mut self, now: Instant, response: Response, out: &mut Outputs) {
        let code = response.status_code.code();
        match (self.state, code) {
            (ClientInviteState::Calling | ClientInviteState::Proceeding, 100..=199) => {
                self.state = ClientInviteState::Proceeding;
                self.table.stop(Timer::A);
                self.table.stop(Timer::B);
                out.push_back(TxOutput::Response(response));
            }
            (ClientInviteState::Calling | ClientInviteState::Proceeding, 200..=299) => {
                self.state = ClientInviteState::Accepted;
                self.table.stop_all();
                self.table.set(Timer::M, now + self.timers.timeout());
                out.push_back(TxOutput::Response(response));
            }
            (ClientInviteState::Calling | ClientInviteState::Proceeding, _) => {
                self.state = ClientInviteState::Completed;
                self.table.stop_all();
                let ack = encode(&self.ack_for(&response));
                out.push_back(TxOutput::Send(ack.clone()));
                self.ack = Some(ack);
                let wait = if self.reliable {
                    Duration::ZERO
                } else {
                    Duration::from_secs(32)
                };
                self.table.set(Timer::D, now + wait);
                out.push_back(TxOutput::Response(response));
            }
            (ClientInviteState::Completed, 300..=699) => {
                // A retransmitted final response: ACK again, tell nobody.
                if let Some(ack) = &self.ack {
                    out.push_back(TxOutput::Send(ack.clone()));
                }
            }
            (ClientInviteState::Accepted, 200..=299) => {
                // Retransmitted 2xx: the TU (dialog) re-sends its ACK.
                out.push_back(TxOutput::Response(response));
            }
            _ => {}
        }
    }

    /// Runs the timers due at `now` (A, B, D, M), writing what they ask for into `out`.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Outputs) {
        while let Some(timer) = self.table.pop_expired(now) {
            match timer {
                Timer::A if self.state == ClientInviteState::Calling => {
                    out.push_back(TxOutput::Send(self.bytes.clone()));
                    self.interval_a *= 2;
                    self.table.set(Timer::A, now + self.interval_a);
                }
                Timer::B if self.state == ClientInviteState::Calling => {
                    out.push_back(TxOutput::Timeout);
                    self.terminate(out);
                }
                Timer::D | Timer::M => self.terminate(out),
                _ => {}
            }
        }
    }

    fn terminate(&mut self, out: &mut Outputs) {
        self.state = ClientInviteState::Terminated;
        self.table.stop_all();
        out.push_back(TxOutput::Terminated);
    }

    /// The ACK for a non-2xx final response (§17.1.1.3): same Request-URI,
    /// Call-ID, From, CSeq number and top Via as the INVITE, the To of the
    /// response, and the INVITE's Route headers.
    fn ack_for(&self, response: &Response) -> Request {
        let mut headers = rsip::Headers::default();
        if let Some(via) = self
            .request
            .headers
            .iter()
            .find(|h| matches!(h, Header::Via(_)))
        {
            headers.push(via.clone());
        }
        for h in self.request.headers.iter() {
            match h {
                Header::From(_) | Header::CallId(_) | Header::Route(_) => headers.push(h.clone()),
                Header::CSeq(c) => {
                    let seq = c.value().split_whitespace().next().unwrap_or("1");
                    headers.push(Header::CSeq(format!("{seq} ACK").into()));
                }
                _ => {}
            }
        }
        if let Some(to) = response.headers.iter().find(|h| matches!(h, Header::To(_))) {
            headers.push(to.clone());
        }
        headers.push(Header::MaxForwards(70.into()));
        headers.push(Header::ContentLength(0.into()));
        Request {
            method: rsip::Method::Ack,
            uri: self.request.uri.clone(),
            version: rsip::Version::V2,
            headers,
            body: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::test_support::*;

    fn start(reliable: bool) -> (Instant, ClientInvite, Outputs) {
        let now = Instant::now();
        let mut out = Outputs::new();
        let tx = ClientInvite::start(now, invite(), reliable, Timers::default(), &mut out);
        assert!(matches!(out.pop_front(), Some(TxOutput::Send(_))));
        (now, tx, out)
    }

    #[test]
    fn retransmits_on_timer_a_doubling_then_times_out_at_b() {
        let (t0, mut tx, mut out) = start(false);
        let mut sends = Vec::new();
        let mut t = t0;
        while tx.state() != ClientInviteState::Terminated {
            t = tx.next_deadline().unwrap();
            tx.handle_timeout(t, &mut out);
            while let Some(o) = out.pop_front() {
                match o {
                    TxOutput::Send(_) => sends.push(t - t0),
                    TxOutput::Timeout => assert_eq!(t - t0, Duration::from_secs(32)),
                    _ => {}
                }
            }
        }
        let ms: Vec<u128> = sends.iter().map(|d| d.as_millis()).collect();
        assert_eq!(ms, vec![500, 1500, 3500, 7500, 15500, 31500]);
        assert_eq!(t - t0, Duration::from_secs(32));
    }

    #[test]
    fn reliable_transport_sends_once() {
        let (t0, mut tx, mut out) = start(true);
        tx.handle_timeout(t0 + Duration::from_secs(31), &mut out);
        assert!(out.is_empty());
        tx.handle_timeout(t0 + Duration::from_secs(32), &mut out);
        assert_eq!(out.pop_front(), Some(TxOutput::Timeout));
    }

    #[test]
    fn provisional_stops_retransmission_and_timeout() {
        let (t0, mut tx, mut out) = start(false);
        tx.on_response(t0, response_to(&invite(), 180), &mut out);
        assert!(
            matches!(out.pop_front(), Some(TxOutput::Response(r)) if r.status_code.code() == 180)
        );
        tx.handle_timeout(t0 + Duration::from_secs(100), &mut out);
        assert!(out.is_empty());
        assert_eq!(tx.state(), ClientInviteState::Proceeding);
    }

    #[test]
    fn non_2xx_is_acked_once_and_retransmissions_reack_silently() {
        let (t0, mut tx, mut out) = start(false);
        let busy = response_to(&invite(), 486);
        tx.on_response(t0, busy.clone(), &mut out);
        let ack = match out.pop_front() {
            Some(TxOutput::Send(b)) => String::from_utf8(b.to_vec()).unwrap(),
            other => panic!("expected ACK, got {other:?}"),
        };
        assert!(ack.starts_with("ACK sip:echo@127.0.0.1 SIP/2.0"));
        assert!(
            ack.contains("branch=z9hG4bKclient1"),
            "same branch as INVITE"
        );
        assert!(ack.contains("CSeq: 1 ACK"));
        assert!(ack.contains(";tag=callee"), "To of the response");
        assert!(matches!(out.pop_front(), Some(TxOutput::Response(_))));
        // The 486 again: ACK again, TU not bothered.
        tx.on_response(t0 + Duration::from_secs(1), busy, &mut out);
        assert!(matches!(out.pop_front(), Some(TxOutput::Send(_))));
        assert!(out.is_empty());
        tx.handle_timeout(t0 + Duration::from_secs(32), &mut out);
        assert_eq!(out.pop_front(), Some(TxOutput::Terminated));
    }

    #[test]
    fn accepted_passes_2xx_retransmissions_until_timer_m() {
        let (t0, mut tx, mut out) = start(false);
        let ok = response_to(&invite(), 200);
        tx.on_response(t0, ok.clone(), &mut out);
        assert!(matches!(out.pop_front(), Some(TxOutput::Response(_))));
        tx.on_response(t0 + Duration::from_secs(1), ok.clone(), &mut out);
        assert!(matches!(out.pop_front(), Some(TxOutput::Response(_))));
        // A late 1xx after the 2xx changes nothing.
        tx.on_response(t0, response_to(&invite(), 180), &mut out);
        assert!(out.is_empty());
        tx.handle_timeout(t0 + Duration::from_secs(32), &mut out);
        assert_eq!(out.pop_front(), Some(TxOutput::Terminated));
    }
}
