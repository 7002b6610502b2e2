//! The thin runtime around the call core: it feeds [`CallCore`] and carries
//! its outputs out — binds RTP ports, drives the media workers' rooms,
//! starts recordings, refreshes the views the API reads, writes the store.
//!
//! It runs inside the SIP driver's task ([`crate::sip_driver`]), as that
//! driver's transaction user: everything here happens on one task, in the
//! order the core asked. See `docs/ARCHITECTURE.md` ("Threads").

use crate::callmodel::Action;
use crate::calls::control::ControlView;
use crate::calls::{ActionArgs, CallCore, CallId, ControlError, LegId, MediaOp, Output};
use crate::live::{LiveCalls, Registrations};
use crate::media_rt::{BoundLeg, LegCounters, LegKey, LegRemote, MediaEngine, MediaEvent, Room};
use crate::recording::{Recorder, RecorderHandle};
use crate::store::StoreHandle;
use sotto_sip::endpoint::{Endpoint, Event};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

/// How an agent's request is answered.
pub type ControlReply = oneshot::Sender<Result<ControlView, ControlError>>;

/// What other tasks (the API, the signal handler, the media event thread)
/// send the call core's task.
pub enum Command {
    /// Stop taking calls, hang up the live ones, finish.
    Shutdown,
    /// A call's media noticed something (a DTMF digit).
    Media(MediaEvent),
    /// An agent's action on a call.
    Control {
        /// The call.
        call: CallId,
        /// What to do.
        action: Action,
        /// With what.
        args: ActionArgs,
        /// Where the answer goes.
        reply: ControlReply,
    },
    /// An agent places a call.
    Originate {
        /// The agent (a user name), whose phone rings first.
        agent: String,
        /// A user's name or a dial number.
        target: String,
        /// Where the answer goes.
        reply: ControlReply,
    },
}

/// One leg's media as the runtime holds it.
struct RuntimeLeg {
    /// Bound, not yet in a room.
    pending: Option<BoundLeg>,
    /// Where the leg sends; read by its worker.
    remote: watch::Sender<LegRemote>,
    counters: Arc<LegCounters>,
    /// Its place in a room, once added.
    key: Option<(CallId, LegKey)>,
}

/// One call's room and recording.
struct CallMedia {
    room: Room,
    recording: Option<RecorderHandle>,
    /// Media events name a leg by its key's index.
    by_key: HashMap<usize, LegId>,
}

/// The runtime: the core and what carries its outputs out.
pub struct Runtime {
    core: CallCore,
    media: Arc<MediaEngine>,
    live: LiveCalls,
    registrations: Registrations,
    store: StoreHandle,
    recorder: Option<Recorder>,
    media_ip: IpAddr,
    legs: HashMap<LegId, RuntimeLeg>,
    calls: HashMap<CallId, CallMedia>,
    /// A room's id (in media events) → its call.
    rooms: HashMap<u64, CallId>,
    /// Ports the runtime could not bind, to report to the core.
    bind_failures: Vec<LegId>,
}

impl Runtime {
    /// A runtime for `core`; RTP binds on `media_ip`.
    pub fn new(
        core: CallCore,
        media: Arc<MediaEngine>,
        live: LiveCalls,
        registrations: Registrations,
        store: StoreHandle,
        media_ip: IpAddr,
    ) -> Runtime {
        Runtime {
            core,
            media,
            live,
            registrations,
            store,
            recorder: None,
            media_ip,
            legs: HashMap::new(),
            calls: HashMap::new(),
            rooms: HashMap::new(),
            bind_failures: Vec::new(),
        }
    }

    /// Records calls with `recorder` (when `routes.record` is on).
    pub fn with_recorder(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Calls still in media (for the shutdown log).
    pub fn call_count(&self) -> usize {
        self.calls.len()
    }

    /// Carries out everything the core asked, then reports failed binds
    /// back (which may ask for more).
    fn flush(&mut self, now: Instant, ep: &mut Endpoint) {
        for _ in 0..64 {
            while let Some(output) = self.core.poll_output() {
                self.carry_out(output);
            }
            if self.bind_failures.is_empty() {
                return;
            }
            for leg in std::mem::take(&mut self.bind_failures) {
                self.core.on_bind_failed(now, leg, ep);
            }
        }
    }

    fn carry_out(&mut self, output: Output) {
        match output {
            Output::Media(op) => self.media_op(op),
            Output::Publish { view, legs } => {
                let counters = legs
                    .iter()
                    .map(|l| {
                        self.legs
                            .get(l)
                            .map(|m| m.counters.clone())
                            .unwrap_or_default()
                    })
                    .collect();
                self.live.insert_with_counters(*view, counters);
            }
            Output::Ended { call, record } => {
                self.live.remove(&call.to_string());
                self.store.record_call_start(record);
            }
            Output::Event { call, event } => {
                tracing::debug!(%call, ?event, "call event");
            }
            Output::Registrations(views) => self.registrations.set(views),
            Output::Queued {
                call, entry_point, ..
            } => {
                // No contact-centre directory is configured yet, so no
                // entry point routes here (docs/contact-centre.md).
                tracing::warn!(%call, entry_point, "queued call with no contact centre");
            }
        }
    }

    fn media_op(&mut self, op: MediaOp) {
        match op {
            MediaOp::Bind { leg, port } => {
                match BoundLeg::bind(self.media_ip, port, sotto_media::codec::Codec::Pcmu) {
                    Some(bound) => {
                        let media = RuntimeLeg {
                            remote: bound.remote(),
                            counters: bound.counters.clone(),
                            pending: Some(bound),
                            key: None,
                        };
                        self.legs.insert(leg, media);
                    }
                    None => self.bind_failures.push(leg),
                }
            }
            MediaOp::Remote { leg, remote } => {
                if let Some(m) = self.legs.get(&leg) {
                    m.remote.send_replace(remote);
                }
            }
            MediaOp::OpenRoom { call } => {
                let room = self.media.room();
                self.rooms.insert(room.id(), call);
                self.calls.insert(
                    call,
                    CallMedia {
                        room,
                        recording: None,
                        by_key: HashMap::new(),
                    },
                );
            }
            MediaOp::AddLeg { call, leg, opts } => {
                let (Some(c), Some(m)) = (self.calls.get_mut(&call), self.legs.get_mut(&leg))
                else {
                    return;
                };
                let Some(bound) = m.pending.take() else {
                    return;
                };
                match c.room.add_leg(bound, opts) {
                    Ok(key) => {
                        m.key = Some((call, key));
                        c.by_key.insert(key.index(), leg);
                    }
                    Err(e) => tracing::warn!(%call, %leg, "media: {e}"),
                }
            }
            MediaOp::RemoveLeg { call, leg } => self.take_out(call, leg),
            MediaOp::Release { leg } => {
                if let Some((call, _)) = self.legs.get(&leg).and_then(|m| m.key) {
                    self.take_out(call, leg);
                }
                self.legs.remove(&leg);
            }
            MediaOp::Topology { call, hears } => {
                let Some(c) = self.calls.get(&call) else {
                    return;
                };
                let keys: Vec<(LegKey, Vec<LegKey>)> = hears
                    .iter()
                    .filter_map(|(leg, heard)| {
                        let key = self.key_in(call, *leg)?;
                        let heard = heard.iter().filter_map(|h| self.key_in(call, *h));
                        Some((key, heard.collect()))
                    })
                    .collect();
                let topology: Vec<(LegKey, &[LegKey])> =
                    keys.iter().map(|(k, h)| (*k, h.as_slice())).collect();
                if let Err(e) = c.room.set_topology(&topology) {
                    tracing::debug!(%call, "topology: {e}");
                }
            }
            MediaOp::SendDtmf { call, leg, digits } => {
                let (Some(c), Some(key)) = (self.calls.get(&call), self.key_in(call, leg)) else {
                    return;
                };
                for d in digits.chars() {
                    if let Some(digit) = sotto_media::dtmf::Dtmf::from_char(d) {
                        let _ = c.room.send_dtmf(key, digit, Duration::from_millis(100));
                    }
                }
            }
            MediaOp::StartRecording {
                call,
                name,
                left,
                right,
            } => {
                let Some(recorder) = self.recorder.clone() else {
                    return;
                };
                let (left, right) = (self.keys_in(call, &left), self.keys_in(call, &right));
                let Some(c) = self.calls.get_mut(&call) else {
                    return;
                };
                let (prod, cons) = crate::recording::ring();
                if c.room.set_record_tap(Some(prod), &left, &right).is_ok() {
                    c.recording = Some(recorder.start(&name, cons));
                }
            }
            MediaOp::RecordSides { call, left, right } => {
                let (left, right) = (self.keys_in(call, &left), self.keys_in(call, &right));
                if let Some(c) = self.calls.get(&call) {
                    let _ = c.room.set_record_sides(&left, &right);
                }
            }
            MediaOp::PauseRecording { call, for_at_most } => {
                if let Some(r) = self.calls.get(&call).and_then(|c| c.recording.as_ref()) {
                    r.pause(for_at_most);
                }
            }
            MediaOp::ResumeRecording { call } => {
                if let Some(r) = self.calls.get(&call).and_then(|c| c.recording.as_ref()) {
                    r.resume();
                }
            }
            MediaOp::CloseRoom { call } => {
                if let Some(c) = self.calls.remove(&call) {
                    self.rooms.remove(&c.room.id());
                    c.room.stop();
                    // Dropping the recording's handle finalizes its file.
                }
            }
        }
    }

    /// `leg`'s key in `call`'s room, if it is there.
    fn key_in(&self, call: CallId, leg: LegId) -> Option<LegKey> {
        match self.legs.get(&leg)?.key {
            Some((c, key)) if c == call => Some(key),
            _ => None,
        }
    }

    fn keys_in(&self, call: CallId, legs: &[LegId]) -> Vec<LegKey> {
        legs.iter().filter_map(|l| self.key_in(call, *l)).collect()
    }

    fn take_out(&mut self, call: CallId, leg: LegId) {
        let Some(key) = self.key_in(call, leg) else {
            return;
        };
        if let Some(m) = self.legs.get_mut(&leg) {
            m.key = None;
        }
        if let Some(c) = self.calls.get_mut(&call) {
            c.by_key.remove(&key.index());
            let _ = c.room.remove_leg(key);
        }
    }

    fn on_media_event(&mut self, now: Instant, event: MediaEvent) {
        let Some(leg) = self
            .rooms
            .get(&event.task)
            .and_then(|call| self.calls.get(call))
            .and_then(|c| c.by_key.get(&event.leg))
            .copied()
        else {
            return;
        };
        self.core.on_dtmf(now, leg, event.digit, event.duration_ms);
    }
}

impl crate::sip_driver::TransactionUser for Runtime {
    type Command = Command;

    fn on_event(&mut self, now: Instant, event: Event, ep: &mut Endpoint) {
        self.core.on_event(now, event, ep);
        self.flush(now, ep);
    }

    fn on_command(&mut self, now: Instant, command: Command, ep: &mut Endpoint) {
        match command {
            Command::Shutdown => self.core.shutdown(now, ep),
            Command::Media(event) => self.on_media_event(now, event),
            Command::Control {
                call,
                action,
                args,
                reply,
            } => {
                let result = self.core.control(now, call, action, args, ep);
                self.flush(now, ep);
                let _ = reply.send(result);
                return;
            }
            Command::Originate {
                agent,
                target,
                reply,
            } => {
                let result = self.core.originate(now, &agent, &target, ep);
                self.flush(now, ep);
                let _ = reply.send(result);
                return;
            }
        }
        self.flush(now, ep);
    }

    fn handle_timeout(&mut self, now: Instant, ep: &mut Endpoint) {
        self.core.handle_timeout(now, ep);
        self.flush(now, ep);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.core.poll_timeout()
    }

    fn is_finished(&self) -> bool {
        self.core.is_finished()
    }
}
