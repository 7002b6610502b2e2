//! The handle to a room: a call's media on one worker, with legs added and
//! removed while it runs and a "who hears whom" topology (hold, consult,
//! transfer, conference of up to eight, recording: `docs/call-control.md`).
//!
//! The handle keeps the authoritative state (which slots hold which leg,
//! what each hears) and sends every change to the worker on its command
//! channel; the worker applies it between ticks. Stale [`LegKey`]s (a leg
//! already removed, its slot perhaps reused) are refused here.

use super::leg::WorkerLeg;
use super::routing::{LegSet, RecordTap, RoomCommand, MAX_LEGS};
use super::worker::Command;
use super::{BoundLeg, LegCounters};
use ringbuf::HeapProd;
use sotto_media::codec::Frame;
use sotto_media::dtmf::Dtmf;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// A leg's place in a [`Room`]. Its [`LegKey::index`] is the `leg` of the
/// [`super::MediaEvent`]s it causes; a key outlives its leg only as a stale
/// key the room refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LegKey {
    slot: u8,
    generation: u32,
}

impl LegKey {
    /// The leg's slot, 0..8: the `leg` of its media events.
    pub fn index(self) -> usize {
        usize::from(self.slot)
    }
}

/// What a leg hears while it hears no other leg (on hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HoldAudio {
    /// The music-on-hold melody ([`sotto_media::moh::Moh`]).
    Music,
    /// Silence (still sent: the peer's stream never stops).
    #[default]
    Silence,
}

/// How a leg joins a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LegOptions {
    /// Remove noise from what this leg's peer sends (before anyone hears it).
    pub denoise: bool,
    /// Draws the leg's SSRC, first sequence number and timestamp; 0 = derive
    /// one from the room and slot.
    pub seed: u32,
    /// What the leg hears on hold. A leg joins hearing nobody, so it starts
    /// on hold until [`Room::set_hears`].
    pub hold_audio: HoldAudio,
}

struct LegEntry {
    key: LegKey,
    stop: Option<oneshot::Sender<()>>,
    counters: Arc<LegCounters>,
}

struct RoomState {
    legs: [Option<LegEntry>; MAX_LEGS],
    hears: [LegSet; MAX_LEGS],
    generation: u32,
    stopped: bool,
}

/// A running room; stops it (every leg's reception, the worker's state)
/// when dropped.
pub struct Room {
    id: u64,
    tx: mpsc::Sender<Command>,
    state: Mutex<RoomState>,
    tap_dropped: Arc<AtomicU64>,
    /// The worker's network thread, which reads the legs' sockets.
    io: super::net::NetThread,
}

fn stale(key: LegKey) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("leg {} is not in the room", key.index()),
    )
}

impl Room {
    pub(super) fn new(
        id: u64,
        tx: mpsc::Sender<Command>,
        tap_dropped: Arc<AtomicU64>,
        io: super::net::NetThread,
    ) -> Room {
        Room {
            id,
            tx,
            state: Mutex::new(RoomState {
                legs: Default::default(),
                hears: [0; MAX_LEGS],
                generation: 0,
                stopped: false,
            }),
            tap_dropped,
            io,
        }
    }

    /// Identifies this room in [`super::MediaEvent::task`].
    pub fn id(&self) -> u64 {
        self.id
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RoomState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(&self, command: RoomCommand) {
        let _ = self.tx.send(Command::Room(self.id, command));
    }

    /// Adds a leg (the worker's network thread starts reading its sockets). It
    /// hears nobody until [`Room::set_hears`]: it is on hold, and hears
    /// [`LegOptions::hold_audio`]. A ninth leg is refused.
    pub fn add_leg(&self, leg: BoundLeg, opts: LegOptions) -> io::Result<LegKey> {
        let mut state = self.lock();
        if state.stopped {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "room stopped"));
        }
        let Some(slot) = state.legs.iter().position(Option::is_none) else {
            return Err(io::Error::new(
                io::ErrorKind::QuotaExceeded,
                format!("the room already has {MAX_LEGS} legs"),
            ));
        };
        state.generation = state.generation.wrapping_add(1);
        let key = LegKey {
            slot: slot as u8,
            generation: state.generation,
        };
        let seed = match opts.seed {
            0 => splitmix(self.id << 40 ^ u64::from(key.generation) << 8 ^ slot as u64) as u32,
            s => s,
        };
        let counters = leg.counters.clone();
        let (worker_leg, stop) = WorkerLeg::start(leg, opts.denoise, seed, &self.io)?;
        state.legs[slot] = Some(LegEntry {
            key,
            stop: Some(stop),
            counters,
        });
        state.hears[slot] = 0;
        self.send(RoomCommand::AddLeg(
            slot,
            Box::new(worker_leg),
            opts.hold_audio,
        ));
        Ok(key)
    }

    /// Takes a leg out: the network thread stops reading it and, once the worker lets go
    /// of it, its sockets close. Whoever heard only it is then on hold.
    pub fn remove_leg(&self, leg: LegKey) -> io::Result<()> {
        let mut state = self.lock();
        let entry = state.legs[leg.index()]
            .take_if(|e| e.key == leg)
            .ok_or_else(|| stale(leg))?;
        if let Some(stop) = entry.stop {
            let _ = stop.send(());
        }
        for h in state.hears.iter_mut() {
            *h &= !(1 << leg.slot);
        }
        self.send(RoomCommand::RemoveLeg(leg.index()));
        Ok(())
    }

    fn set_of(state: &RoomState, legs: &[LegKey]) -> io::Result<LegSet> {
        let mut set = 0;
        for &k in legs {
            if !state.legs[k.index()].as_ref().is_some_and(|e| e.key == k) {
                return Err(stale(k));
            }
            set |= 1 << k.slot;
        }
        Ok(set)
    }

    /// What `leg` hears: the sum of these legs' audio (itself included, it
    /// hears its own echo). Empty = on hold.
    pub fn set_hears(&self, leg: LegKey, hears: &[LegKey]) -> io::Result<()> {
        self.set_topology(&[(leg, hears)])
    }

    /// Several legs' [`Room::set_hears`] at once: the worker applies them
    /// between two ticks, so no tick sees half of the change. Legs not
    /// listed keep what they hear.
    pub fn set_topology(&self, topology: &[(LegKey, &[LegKey])]) -> io::Result<()> {
        let mut state = self.lock();
        let mut hears = state.hears;
        for &(leg, heard) in topology {
            Self::set_of(&state, &[leg])?;
            hears[leg.index()] = Self::set_of(&state, heard)?;
        }
        state.hears = hears;
        self.send(RoomCommand::Topology(hears));
        Ok(())
    }

    /// A conference of `legs`: each hears all the others, never itself (the
    /// N−1 mix). Legs not listed keep what they hear.
    pub fn set_conference(&self, legs: &[LegKey]) -> io::Result<()> {
        let others: Vec<Vec<LegKey>> = legs
            .iter()
            .map(|me| legs.iter().copied().filter(|k| k != me).collect())
            .collect();
        let topology: Vec<(LegKey, &[LegKey])> = legs
            .iter()
            .zip(&others)
            .map(|(&k, o)| (k, o.as_slice()))
            .collect();
        self.set_topology(&topology)
    }

    /// What `leg` hears now.
    pub fn hears(&self, leg: LegKey) -> io::Result<Vec<LegKey>> {
        let state = self.lock();
        Self::set_of(&state, &[leg])?;
        let set = state.hears[leg.index()];
        Ok(state
            .legs
            .iter()
            .flatten()
            .filter(|e| set & (1 << e.key.slot) != 0)
            .map(|e| e.key)
            .collect())
    }

    /// The legs in the room, by slot.
    pub fn legs(&self) -> Vec<LegKey> {
        self.lock().legs.iter().flatten().map(|e| e.key).collect()
    }

    /// What `leg` hears while it hears nobody.
    pub fn set_on_hold_audio(&self, leg: LegKey, audio: HoldAudio) -> io::Result<()> {
        let state = self.lock();
        Self::set_of(&state, &[leg])?;
        self.send(RoomCommand::HoldAudio(leg.index(), audio));
        Ok(())
    }

    /// Sends `digit` to `leg`'s peer as RFC 4733 telephone events (they
    /// replace the leg's audio while they last; dropped if the leg's digit
    /// queue is full).
    pub fn send_dtmf(&self, leg: LegKey, digit: Dtmf, duration: Duration) -> io::Result<()> {
        let state = self.lock();
        Self::set_of(&state, &[leg])?;
        self.send(RoomCommand::Dtmf(leg.index(), digit, duration));
        Ok(())
    }

    /// The legs' counters, by slot.
    pub fn counters(&self) -> Vec<(LegKey, Arc<LegCounters>)> {
        self.lock()
            .legs
            .iter()
            .flatten()
            .map(|e| (e.key, e.counters.clone()))
            .collect()
    }

    /// Starts (or with `None`, stops) the record tap: every tick the room
    /// pushes one (left, right) pair of 8 kHz frames, each the clamped sum of
    /// its side's legs' decoded (and denoised, where set) audio. A full ring
    /// drops the pair ([`Room::tap_dropped`]); the worker never waits.
    pub fn set_record_tap(
        &self,
        tap: Option<HeapProd<(Frame, Frame)>>,
        left: &[LegKey],
        right: &[LegKey],
    ) -> io::Result<()> {
        let state = self.lock();
        let left = Self::set_of(&state, left)?;
        let right = Self::set_of(&state, right)?;
        let tap = tap.map(|ring| Box::new(RecordTap { ring, left, right }));
        self.send(RoomCommand::Tap(tap));
        Ok(())
    }

    /// Changes which legs the running record tap puts on each side (legs
    /// joined or left); no tap running: nothing happens.
    pub fn set_record_sides(&self, left: &[LegKey], right: &[LegKey]) -> io::Result<()> {
        let state = self.lock();
        let left = Self::set_of(&state, left)?;
        let right = Self::set_of(&state, right)?;
        self.send(RoomCommand::TapSides(left, right));
        Ok(())
    }

    /// Record-tap pairs dropped because the ring was full.
    pub fn tap_dropped(&self) -> u64 {
        self.tap_dropped.load(Ordering::Relaxed)
    }

    /// Stops every leg and takes the room off its worker (idempotent).
    pub fn stop(&self) {
        let mut state = self.lock();
        if state.stopped {
            return;
        }
        state.stopped = true;
        for entry in state.legs.iter_mut().flatten() {
            if let Some(stop) = entry.stop.take() {
                let _ = stop.send(());
            }
        }
        let _ = self.tx.send(Command::Remove(self.id));
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        self.stop();
    }
}

/// SplitMix64 (a mixing function, not a source of randomness): spreads a
/// room and slot number over a leg's seed.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
