//! What the call core asks of its runtime, drained with
//! [`CallCore::poll_output`](super::CallCore::poll_output), and the ids it
//! names things by.
//!
//! The core never touches a socket, a thread or a lock: it decides, queues
//! an [`Output`], and the runtime (`src/runtime.rs`) carries it out — binds
//! the RTP port, tells a media worker, writes the store, refreshes the view
//! the API reads. SIP messages are the exception: they go through the sans-IO
//! SIP endpoint the core is handed, which queues them the same way.
//! See `docs/ARCHITECTURE.md` ("The drive contract").

use crate::callmodel::CallEventView;
use crate::media_rt::{LegOptions, LegRemote};
use crate::store::CallRecord;
use crate::view::{CallSummary, RegistrationView};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// A call of this process. Shown in the API, and serialised, as `c<n>` (`c7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct CallId(pub u64);

impl From<CallId> for String {
    fn from(id: CallId) -> String {
        id.to_string()
    }
}

impl TryFrom<String> for CallId {
    type Error = String;
    fn try_from(s: String) -> Result<CallId, String> {
        s.parse()
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}", self.0)
    }
}

impl std::str::FromStr for CallId {
    type Err = String;
    fn from_str(s: &str) -> Result<CallId, String> {
        s.strip_prefix('c')
            .and_then(|n| n.parse().ok())
            .map(CallId)
            .ok_or_else(|| format!("{s:?} is not a call id (c<number>)"))
    }
}

/// One leg's media (an RTP port and what flows through it) in this
/// process. A leg that moves to another call (attended transfer) gets a new
/// port and a new id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LegId(pub u64);

impl fmt::Display for LegId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "leg-{}", self.0)
    }
}

/// One thing the runtime must do, in order.
#[derive(Debug)]
pub enum Output {
    /// Media: ports, rooms, who hears whom, recording.
    Media(MediaOp),
    /// The call's view changed: replace it in what the API shows. `legs`
    /// names the media of `view.legs`, in the same order (the runtime reads
    /// their packet counters live).
    Publish {
        view: Box<CallSummary>,
        legs: Vec<LegId>,
    },
    /// The call is over: remove it from the API's view and write `record`.
    Ended { call: CallId, record: CallRecord },
    /// Something happened on a call under agent control (for desktops):
    /// the same serialisable event the call's view lists.
    Event { call: CallId, event: CallEventView },
    /// The registrar's bindings changed.
    Registrations(Vec<RegistrationView>),
    /// A call came in at a contact-centre entry point and waits (hearing
    /// music) to be offered to an agent ([`CallCore::offer_agent`](super::CallCore::offer_agent)).
    Queued {
        /// The call.
        call: CallId,
        /// The entry point's id.
        entry_point: String,
        /// The caller's number (the From user).
        number: String,
        /// The caller's display name, when given.
        name: Option<String>,
    },
}

/// Media work for the runtime. Ports are chosen by the core ([`PortPool`]);
/// everything else is keyed by [`CallId`] and [`LegId`].
#[derive(Debug, Clone, PartialEq)]
pub enum MediaOp {
    /// Bind `port` (RTP) and `port + 1` (RTCP) for `leg`. If it cannot, the
    /// runtime reports [`CallCore::on_bind_failed`](super::CallCore::on_bind_failed).
    Bind { leg: LegId, port: u16 },
    /// Where and how `leg` sends (after offer/answer, re-INVITE, hold).
    Remote { leg: LegId, remote: LegRemote },
    /// Start the call's room on a media worker.
    OpenRoom { call: CallId },
    /// Move `leg`'s bound sockets into the call's room.
    AddLeg {
        call: CallId,
        leg: LegId,
        opts: LegOptions,
    },
    /// Take `leg` out of the room (its sockets close).
    RemoveLeg { call: CallId, leg: LegId },
    /// Drop `leg`'s sockets if they never reached a room.
    Release { leg: LegId },
    /// Who hears whom: for each leg, the legs mixed into what it hears.
    Topology {
        call: CallId,
        hears: Vec<(LegId, Vec<LegId>)>,
    },
    /// RFC 4733 digits from sotto toward `leg`'s peer, 100 ms each.
    SendDtmf {
        call: CallId,
        leg: LegId,
        digits: String,
    },
    /// Start recording the call to `name` (customer left, agents right).
    StartRecording {
        call: CallId,
        name: String,
        left: Vec<LegId>,
        right: Vec<LegId>,
    },
    /// The recording's sides changed (someone joined or left).
    RecordSides {
        call: CallId,
        left: Vec<LegId>,
        right: Vec<LegId>,
    },
    /// Write silence for at most `for_at_most`.
    PauseRecording { call: CallId, for_at_most: Duration },
    /// Write audio again.
    ResumeRecording { call: CallId },
    /// The call is over: stop its room and its recording.
    CloseRoom { call: CallId },
}

/// The RTP port range, handed out by the core: round robin over the even
/// ports (RTP on even, RTCP on the next odd port, RFC 3550 §11), skipping
/// the ports of live legs and, for a while, ports the runtime could not bind
/// (another process holds them).
#[derive(Debug, Clone)]
pub struct PortPool {
    ip: IpAddr,
    lo: u16,
    hi: u16,
    next: u16,
    in_use: HashSet<u16>,
    /// Ports another process held, and until when we leave them alone.
    busy_until: HashMap<u16, Instant>,
}

/// How long a port the runtime could not bind is left alone.
const BUSY_PORT_BACKOFF: Duration = Duration::from_secs(30);

impl PortPool {
    /// Ports `lo..=hi` (lo even) on `ip`, the address our SDP advertises.
    pub fn new(ip: IpAddr, lo: u16, hi: u16) -> PortPool {
        PortPool {
            ip,
            lo,
            hi,
            next: lo,
            in_use: HashSet::new(),
            busy_until: HashMap::new(),
        }
    }

    /// The address our SDP advertises for media.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// The next free even port, or None when every one is taken.
    pub fn take(&mut self, now: Instant) -> Option<u16> {
        let slots = u32::from(self.hi.saturating_sub(self.lo)) / 2 + 1;
        for _ in 0..slots {
            let port = self.next;
            self.next = if u32::from(port) + 3 > u32::from(self.hi) {
                self.lo
            } else {
                port + 2
            };
            if self.in_use.contains(&port) {
                continue;
            }
            match self.busy_until.get(&port) {
                Some(&until) if until > now => continue,
                Some(_) => {
                    self.busy_until.remove(&port);
                }
                None => {}
            }
            self.in_use.insert(port);
            return Some(port);
        }
        None
    }

    /// `port` is free again.
    pub fn give_back(&mut self, port: u16) {
        self.in_use.remove(&port);
    }

    /// The runtime could not bind `port`: leave it alone for a while.
    pub fn busy_elsewhere(&mut self, now: Instant, port: u16) {
        self.in_use.remove(&port);
        self.busy_until.insert(port, now + BUSY_PORT_BACKOFF);
    }

    /// Ports handed out and not given back.
    pub fn in_use(&self) -> usize {
        self.in_use.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_go_round_and_skip_taken_and_busy_ones() {
        let now = Instant::now();
        let mut pool = PortPool::new([127, 0, 0, 1].into(), 20000, 20007);
        assert_eq!(pool.take(now), Some(20000));
        assert_eq!(pool.take(now), Some(20002));
        pool.busy_elsewhere(now, 20002);
        assert_eq!(pool.take(now), Some(20004));
        assert_eq!(pool.take(now), Some(20006));
        // 20000 is still taken, 20002 is busy elsewhere for a while.
        assert_eq!(pool.take(now), None);
        pool.give_back(20000);
        assert_eq!(pool.take(now), Some(20000));
        assert_eq!(pool.take(now + BUSY_PORT_BACKOFF), Some(20002));
        assert_eq!(pool.in_use(), 4);
    }

    #[test]
    fn call_ids_read_back_as_written() {
        assert_eq!(CallId(7).to_string(), "c7");
        assert_eq!("c7".parse::<CallId>(), Ok(CallId(7)));
        assert!("7".parse::<CallId>().is_err());
        assert!("cx".parse::<CallId>().is_err());
        assert_eq!(serde_json::to_value(CallId(7)).unwrap(), "c7");
    }
}
