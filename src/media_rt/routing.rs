//! A room as its worker holds it: up to eight legs ticked together, and who
//! hears whom.
//!
//! Each tick: every leg plays out one frame (its peer's decoded audio), the
//! record tap takes its pair of sums, then every leg sends the frame routed
//! to it. The routing is worked out when the topology changes, not per tick:
//!
//! - hears nobody → on hold: music on hold or silence, every tick, so the
//!   peer's stream never stops (its sequence numbers and timestamps stay one
//!   unbroken run, rustpbx #254);
//! - hears one leg → that leg's frame, copied (a two-party bridge, or echo
//!   when a leg hears itself): no mixing cost;
//! - hears everyone in the N−1 mix but itself → the [`Mixer`]'s output;
//! - any other set of two or more → a plain sum of those legs.
//!
//! A leg whose source is idle this tick (no packet, not yet started) sends
//! silence. Nothing here allocates after the room is built.

use super::leg::WorkerLeg;
use super::room::HoldAudio;
use super::worker::MediaEvent;
use ringbuf::traits::Producer;
use ringbuf::HeapProd;
use sotto_media::codec::{Frame, FRAME_SAMPLES, SILENT_FRAME};
use sotto_media::dtmf::Dtmf;
use sotto_media::mixer::{Mixer, Slot, MAX_PARTICIPANTS};
use sotto_media::moh::Moh;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Most legs in one room (a conference of eight, `docs/call-control.md`).
pub const MAX_LEGS: usize = MAX_PARTICIPANTS;

/// A set of legs, bit `i` for slot `i`.
pub(super) type LegSet = u8;

/// Where the record tap writes: each tick one (left, right) pair of 8 kHz
/// frames, each the sum of its side's legs.
pub(super) struct RecordTap {
    pub ring: HeapProd<(Frame, Frame)>,
    pub left: LegSet,
    pub right: LegSet,
}

/// A change to a running room, from its [`super::Room`] handle.
pub(super) enum RoomCommand {
    AddLeg(usize, Box<WorkerLeg>, HoldAudio),
    RemoveLeg(usize),
    /// What each slot hears, all at once.
    Topology([LegSet; MAX_LEGS]),
    HoldAudio(usize, HoldAudio),
    Dtmf(usize, Dtmf, Duration),
    Tap(Option<Box<RecordTap>>),
    /// Which legs the running tap puts left and right.
    TapSides(LegSet, LegSet),
}

/// What a leg is sent each tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Hold,
    Copy(usize),
    Mix,
    Sum(LegSet),
}

pub(super) struct WorkerRoom {
    pub id: u64,
    pub events: mpsc::SyncSender<MediaEvent>,
    pub next_tick: Instant,
    legs: [Option<Box<WorkerLeg>>; MAX_LEGS],
    hears: [LegSet; MAX_LEGS],
    hold: [HoldAudio; MAX_LEGS],
    routes: [Route; MAX_LEGS],
    /// Legs whose audio goes into the mixer (when any leg is routed `Mix`).
    mix_from: LegSet,
    mixing: bool,
    /// Some held leg hears music: the generator runs this tick.
    music: bool,
    /// This tick's playout of each leg; valid where `spoke` has its bit.
    inputs: [Frame; MAX_LEGS],
    spoke: LegSet,
    mixer: Mixer,
    moh: Moh,
    moh_frame: Frame,
    scratch: Frame,
    tap: Option<Box<RecordTap>>,
    tap_dropped: Arc<AtomicU64>,
}

const fn bit(i: usize) -> LegSet {
    1 << i
}

impl WorkerRoom {
    pub fn new(
        id: u64,
        events: mpsc::SyncSender<MediaEvent>,
        next_tick: Instant,
        tap_dropped: Arc<AtomicU64>,
    ) -> WorkerRoom {
        WorkerRoom {
            id,
            events,
            next_tick,
            legs: Default::default(),
            hears: [0; MAX_LEGS],
            hold: [HoldAudio::Silence; MAX_LEGS],
            routes: [Route::Hold; MAX_LEGS],
            mix_from: 0,
            mixing: false,
            music: false,
            inputs: [SILENT_FRAME; MAX_LEGS],
            spoke: 0,
            mixer: Mixer::new(),
            moh: Moh::new(),
            moh_frame: SILENT_FRAME,
            scratch: SILENT_FRAME,
            tap: None,
            tap_dropped,
        }
    }

    fn present(&self) -> LegSet {
        let mut set = 0;
        for (i, leg) in self.legs.iter().enumerate() {
            if leg.is_some() {
                set |= bit(i);
            }
        }
        set
    }

    /// Applies a change (commands are rare; this may do some work).
    pub fn apply(&mut self, command: RoomCommand) {
        match command {
            RoomCommand::AddLeg(i, leg, hold) => {
                if i < MAX_LEGS && self.legs[i].is_none() {
                    self.legs[i] = Some(leg);
                    self.hold[i] = hold;
                    self.hears[i] = 0;
                    if let Some(slot) = Slot::new(i) {
                        let _ = self.mixer.add_at(slot);
                    }
                }
            }
            RoomCommand::RemoveLeg(i) => {
                if i < MAX_LEGS {
                    // Dropping the leg closes its sockets (the network thread
                    // stopped reading them when the handle removed it).
                    self.legs[i] = None;
                    if let Some(slot) = Slot::new(i) {
                        let _ = self.mixer.remove(slot);
                    }
                    for h in self.hears.iter_mut() {
                        *h &= !bit(i);
                    }
                    self.hears[i] = 0;
                    if let Some(tap) = self.tap.as_mut() {
                        tap.left &= !bit(i);
                        tap.right &= !bit(i);
                    }
                }
            }
            RoomCommand::Topology(hears) => self.hears = hears,
            RoomCommand::HoldAudio(i, audio) => {
                if i < MAX_LEGS {
                    self.hold[i] = audio;
                }
            }
            RoomCommand::Dtmf(i, digit, duration) => {
                if let Some(leg) = self.legs.get_mut(i).and_then(|l| l.as_deref_mut()) {
                    let _ = leg.pipeline.send_dtmf(digit, duration);
                }
            }
            RoomCommand::Tap(tap) => self.tap = tap,
            RoomCommand::TapSides(left, right) => {
                if let Some(tap) = self.tap.as_mut() {
                    tap.left = left;
                    tap.right = right;
                }
            }
        }
        self.route();
    }

    /// Works out each leg's [`Route`] from who hears whom.
    fn route(&mut self) {
        let present = self.present();
        for (i, h) in self.hears.iter_mut().enumerate() {
            *h = if present & bit(i) != 0 {
                *h & present
            } else {
                0
            };
        }
        let plan = plan(&self.hears);
        self.routes = plan.routes;
        self.mix_from = plan.mix_from;
        self.mixing = plan.mix_from != 0;
        self.music = (0..MAX_LEGS).any(|i| {
            present & bit(i) != 0
                && self.routes[i] == Route::Hold
                && self.hold[i] == HoldAudio::Music
        });
    }

    /// One 20 ms frame for every leg of the room.
    pub fn tick(&mut self, now: Instant, out: &mut [u8]) {
        self.spoke = 0;
        for (i, slot) in self.legs.iter_mut().enumerate() {
            let Some(leg) = slot.as_deref_mut() else {
                continue;
            };
            leg.drain(now);
            if let Some(frame) = leg.pipeline.playout(now) {
                self.inputs[i] = *frame;
                self.spoke |= bit(i);
            }
        }
        if self.tap.is_some() {
            self.record();
        }
        if self.mixing {
            let from = self.mix_from & self.spoke;
            for (i, input) in self.inputs.iter().enumerate() {
                if let (true, Some(slot)) = (from & bit(i) != 0, Slot::new(i)) {
                    let _ = self.mixer.set_input(slot, input);
                }
            }
            self.mixer.mix();
        }
        if self.music {
            self.moh.fill(&mut self.moh_frame);
        }
        for (i, slot) in self.legs.iter_mut().enumerate() {
            let Some(leg) = slot.as_deref_mut() else {
                continue;
            };
            let frame: &Frame = match self.routes[i] {
                Route::Copy(j) if self.spoke & bit(j) != 0 => &self.inputs[j],
                Route::Copy(_) => &SILENT_FRAME,
                Route::Hold if self.hold[i] == HoldAudio::Music => &self.moh_frame,
                Route::Hold => &SILENT_FRAME,
                Route::Mix => match Slot::new(i) {
                    Some(s) => self.mixer.output(s),
                    None => &SILENT_FRAME,
                },
                Route::Sum(set) => {
                    sum(&self.inputs, set & self.spoke, &mut self.scratch);
                    &self.scratch
                }
            };
            leg.send(now, frame, out);
            leg.rtcp(now, out);
            leg.events(self.id, i, &self.events);
            leg.publish();
        }
    }

    /// Pushes this tick's (left, right) pair to the record tap; a full ring
    /// drops the pair and counts it, never waits.
    fn record(&mut self) {
        let Some(tap) = self.tap.as_deref_mut() else {
            return;
        };
        let mut left = SILENT_FRAME;
        let mut right = SILENT_FRAME;
        sum(&self.inputs, tap.left & self.spoke, &mut left);
        sum(&self.inputs, tap.right & self.spoke, &mut right);
        if tap.ring.try_push((left, right)).is_err() {
            self.tap_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// `out` = the sum of the frames in `set`, clamped to 16 bits (exact: eight
/// 16-bit samples cannot overflow an `i32`).
fn sum(inputs: &[Frame; MAX_LEGS], set: LegSet, out: &mut Frame) {
    match set.count_ones() {
        0 => *out = SILENT_FRAME,
        1 => *out = inputs[set.trailing_zeros() as usize],
        _ => {
            let mut acc = [0i32; FRAME_SAMPLES];
            for (i, input) in inputs.iter().enumerate() {
                if set & bit(i) != 0 {
                    for (a, &s) in acc.iter_mut().zip(input) {
                        *a += i32::from(s);
                    }
                }
            }
            for (o, a) in out.iter_mut().zip(acc) {
                *o = a.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
            }
        }
    }
}

/// The routes for a topology, and whose audio the mixer takes.
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    routes: [Route; MAX_LEGS],
    mix_from: LegSet,
}

/// Legs that hear two or more start as mixer candidates; one whose set is
/// not "everyone the mixer takes, but me" is summed apart instead, which may
/// shrink the mixer's set: repeat until it settles (at most eight rounds).
fn plan(hears: &[LegSet; MAX_LEGS]) -> Plan {
    let union = |mixed: LegSet| {
        (0..MAX_LEGS)
            .filter(|&i| mixed & bit(i) != 0)
            .fold(0, |acc, i| acc | hears[i])
    };
    let mut mixed: LegSet = (0..MAX_LEGS)
        .filter(|&i| hears[i].count_ones() >= 2)
        .fold(0, |acc, i| acc | bit(i));
    loop {
        let from = union(mixed);
        let keep = (0..MAX_LEGS)
            .filter(|&i| mixed & bit(i) != 0 && hears[i] == from & !bit(i))
            .fold(0, |acc, i| acc | bit(i));
        if keep == mixed {
            break;
        }
        mixed = keep;
    }
    let mut routes = [Route::Hold; MAX_LEGS];
    for (i, r) in routes.iter_mut().enumerate() {
        let h = hears[i];
        *r = match h.count_ones() {
            0 => Route::Hold,
            1 => Route::Copy(h.trailing_zeros() as usize),
            _ if mixed & bit(i) != 0 => Route::Mix,
            _ => Route::Sum(h),
        };
    }
    Plan {
        routes,
        mix_from: union(mixed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hears(sets: &[LegSet]) -> [LegSet; MAX_LEGS] {
        let mut h = [0; MAX_LEGS];
        h[..sets.len()].copy_from_slice(sets);
        h
    }

    #[test]
    fn a_bridge_and_echo_are_copies_without_the_mixer() {
        let p = plan(&hears(&[0b10, 0b01]));
        assert_eq!(&p.routes[..2], &[Route::Copy(1), Route::Copy(0)]);
        assert_eq!(p.mix_from, 0);
        let p = plan(&hears(&[0b1]));
        assert_eq!(p.routes[0], Route::Copy(0));
    }

    #[test]
    fn a_conference_is_mixed_n_minus_one() {
        let p = plan(&hears(&[0b110, 0b101, 0b011]));
        assert_eq!(&p.routes[..3], &[Route::Mix; 3]);
        assert_eq!(p.mix_from, 0b111);
    }

    #[test]
    fn a_held_party_hears_hold_and_is_left_out_of_the_mix() {
        // Leg 0 on hold; 1, 2, 3 in conference among themselves.
        let p = plan(&hears(&[0, 0b1100, 0b1010, 0b0110]));
        assert_eq!(p.routes[0], Route::Hold);
        assert_eq!(&p.routes[1..4], &[Route::Mix; 3]);
        assert_eq!(p.mix_from, 0b1110);
    }

    #[test]
    fn an_odd_set_is_summed_apart_and_the_rest_still_mix() {
        // 0, 1, 2 conference; 3 (a supervisor) hears 0 and 1 only.
        let p = plan(&hears(&[0b0110, 0b0101, 0b0011, 0b0011]));
        assert_eq!(&p.routes[..3], &[Route::Mix; 3]);
        assert_eq!(p.routes[3], Route::Sum(0b0011));
        assert_eq!(p.mix_from, 0b0111);
        // A leg hearing itself among others is never the N−1 output.
        let p = plan(&hears(&[0b011, 0b011]));
        assert_eq!(&p.routes[..2], &[Route::Sum(0b011); 2]);
        assert_eq!(p.mix_from, 0);
    }

    #[test]
    fn sums_clamp_to_sixteen_bits() {
        let mut inputs = [SILENT_FRAME; MAX_LEGS];
        inputs[0] = [30_000; FRAME_SAMPLES];
        inputs[1] = [10_000; FRAME_SAMPLES];
        inputs[2] = [-1_000; FRAME_SAMPLES];
        let mut out = SILENT_FRAME;
        sum(&inputs, 0b011, &mut out);
        assert_eq!(out[0], i16::MAX);
        sum(&inputs, 0b111, &mut out);
        assert_eq!(out[0], i16::MAX);
        sum(&inputs, 0b110, &mut out);
        assert_eq!(out[0], 9_000);
        sum(&inputs, 0b100, &mut out);
        assert_eq!(out[0], -1_000);
    }
}
