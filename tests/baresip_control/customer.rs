//! The customer: the test UA (`common::ua`) placing one call through sotto. It answers
//! the re-INVITEs sotto sends it (hold, resume: RFC 3264 §8.4 answers, direction
//! mirrored) and a BYE, sends speech as PCMU every 20 ms once answered (the fixture,
//! looped) and keeps what it hears with the time it arrived.

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crate::common::ua::Direction;
use crate::common::ua::{CallState, Sound, Ua, UaCall};
use rsip::Method;

/// A re-INVITE sotto sent the customer, as answered.
#[derive(Debug, Clone)]
pub struct Reinvite {
    pub at: Instant,
    pub direction: Direction,
    pub sdp: String,
}

/// One call from the customer to sotto.
pub struct Customer {
    ua: Ua,
    call: UaCall,
}

impl Customer {
    /// Calls `sip:user@server` and waits (up to `limit`) for the 200, which it ACKs.
    pub fn call(
        server: std::net::SocketAddr,
        user: &str,
        limit: Duration,
    ) -> Result<Customer, String> {
        let speech = std::fs::read(crate::common::fixtures().join("audio/speech_8k.ulaw"))
            .map_err(|e| format!("read fixtures/audio/speech_8k.ulaw: {e}"))?;
        let ua = Ua::builder("customer", server)
            .sounds(vec![Sound::Ulaw(Arc::new(speech))])
            .start();
        let call = ua.call(&format!("sip:{user}@{server}"));
        crate::common::poll_until(limit, || {
            call.read(|c| (!c.state().is_early()).then_some(()))
        });
        let (state, code) = call.read(|c| (c.state(), c.final_code()));
        if state != CallState::Confirmed {
            return Err(format!(
                "INVITE answered {code:?} ({state:?}):\n{}",
                ua.trace_tail(10)
            ));
        }
        Ok(Customer { ua, call })
    }

    /// When the 200 to the INVITE arrived.
    pub fn answered_at(&self) -> Instant {
        self.call.answered_at().expect("the call was answered")
    }

    /// The `n`th (from 0) re-INVITE from sotto, waiting for it up to `limit`.
    pub fn wait_reinvite(&self, n: usize, limit: Duration) -> Option<Reinvite> {
        crate::common::poll_until(limit, || {
            self.call.read(|c| {
                c.reoffers().get(n).map(|o| Reinvite {
                    at: o.at,
                    direction: o.direction,
                    sdp: String::from_utf8_lossy(&o.sdp.to_bytes()).into_owned(),
                })
            })
        })
    }

    /// Everything heard (decoded PCMU) from packets that arrived in `[from, to)`.
    pub fn heard_between(&self, from: Instant, to: Instant) -> Vec<i16> {
        self.call.media.samples_between(from, to)
    }

    /// Sends BYE and waits for its 200.
    pub fn hang_up(&self, limit: Duration) -> Result<(), String> {
        self.call
            .act(|p, h| p.hangup(h))
            .map_err(|e| format!("hang up: {e}"))?;
        crate::common::poll_until(limit, || {
            self.call
                .read(|c| (!c.codes_for(Method::Bye).is_empty()).then_some(()))
        });
        match self.call.read(|c| c.codes_for(Method::Bye)).as_slice() {
            [200] => Ok(()),
            [] => Err(format!(
                "no final response to BYE within {limit:?}:\n{}",
                self.ua.trace_tail(10)
            )),
            codes => Err(format!("BYE answered {codes:?}")),
        }
    }
}
