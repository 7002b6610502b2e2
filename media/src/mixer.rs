//! The N−1 conference mixer: every participant hears the sum of everyone else.
//!
//! Each 20 ms tick the caller hands in the frame each participant spoke
//! ([`Mixer::set_input`]) and calls [`Mixer::mix`]; participant `i`'s output is the sum
//! of all inputs but `i`'s, clamped to the 16-bit scale. A participant with no frame
//! this tick (packet lost, on hold, muted) counts as silence.
//!
//! The sum is taken once: `total = Σ inputs` in `i32`, then `out[i] = clamp(total −
//! input[i])`. Subtracting after a saturating `i16` sum would be wrong (once the total
//! clips, `clip(total) − own` is not what the others said), but eight `i16` samples
//! cannot overflow an `i32`, so clamping only at the end is exact. Everything lives in
//! fixed arrays inside the struct: no allocation, and the per-sample loops are plain
//! slice loops the compiler vectorises.

use crate::codec::{Frame, FRAME_SAMPLES, SILENT_FRAME};

/// Most participants one mixer takes.
pub const MAX_PARTICIPANTS: usize = 8;

/// A participant's place in a [`Mixer`], from [`Mixer::add`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slot(u8);

impl Slot {
    /// The slot for index `i`; `None` at or past [`MAX_PARTICIPANTS`].
    pub const fn new(i: usize) -> Option<Slot> {
        if i < MAX_PARTICIPANTS {
            Some(Slot(i as u8))
        } else {
            None
        }
    }

    /// The index into [`Mixer::mix`]'s outputs.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// What the caller asked of the mixer that it cannot do (a local error, never a peer's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MixerError {
    /// All [`MAX_PARTICIPANTS`] slots are taken.
    #[error("the mixer already has {MAX_PARTICIPANTS} participants")]
    Full,
    /// The slot is already taken ([`Mixer::add_at`]).
    #[error("mixer slot {0} is taken")]
    SlotTaken(usize),
    /// No participant is in the slot.
    #[error("no participant in mixer slot {0}")]
    NotAParticipant(usize),
}

/// Mixes up to [`MAX_PARTICIPANTS`] 8 kHz frames, N−1.
#[derive(Debug, Clone)]
pub struct Mixer {
    inputs: [Frame; MAX_PARTICIPANTS],
    outputs: [Frame; MAX_PARTICIPANTS],
    /// Bit `i`: slot `i` holds a participant.
    joined: u8,
    /// Bit `i`: slot `i` gave a frame this tick.
    spoke: u8,
    total: [i32; FRAME_SAMPLES],
}

impl Default for Mixer {
    fn default() -> Self {
        Mixer::new()
    }
}

impl Mixer {
    /// A mixer with nobody in it.
    pub fn new() -> Mixer {
        Mixer {
            inputs: [SILENT_FRAME; MAX_PARTICIPANTS],
            outputs: [SILENT_FRAME; MAX_PARTICIPANTS],
            joined: 0,
            spoke: 0,
            total: [0; FRAME_SAMPLES],
        }
    }

    /// Participants in the mix.
    pub fn len(&self) -> usize {
        self.joined.count_ones() as usize
    }

    /// Whether nobody is in the mix.
    pub fn is_empty(&self) -> bool {
        self.joined == 0
    }

    /// Whether `slot` holds a participant.
    pub fn contains(&self, slot: Slot) -> bool {
        self.joined & bit(slot) != 0
    }

    /// Adds a participant in the lowest free slot; the ninth is refused.
    pub fn add(&mut self) -> Result<Slot, MixerError> {
        let free = (!self.joined).trailing_zeros() as usize;
        let slot = Slot::new(free).ok_or(MixerError::Full)?;
        self.add_at(slot)?;
        Ok(slot)
    }

    /// Adds a participant in a chosen slot (e.g. the runtime's own numbering).
    pub fn add_at(&mut self, slot: Slot) -> Result<(), MixerError> {
        if self.contains(slot) {
            return Err(MixerError::SlotTaken(slot.index()));
        }
        self.joined |= bit(slot);
        self.spoke &= !bit(slot);
        self.outputs[slot.index()] = SILENT_FRAME;
        Ok(())
    }

    /// Takes a participant out: from the next [`Mixer::mix`] nobody hears it, and its
    /// slot is free again.
    pub fn remove(&mut self, slot: Slot) -> Result<(), MixerError> {
        if !self.contains(slot) {
            return Err(MixerError::NotAParticipant(slot.index()));
        }
        self.joined &= !bit(slot);
        self.spoke &= !bit(slot);
        self.outputs[slot.index()] = SILENT_FRAME;
        Ok(())
    }

    /// What `slot` said this tick. Setting it twice before [`Mixer::mix`] keeps the
    /// second frame.
    pub fn set_input(&mut self, slot: Slot, frame: &Frame) -> Result<(), MixerError> {
        if !self.contains(slot) {
            return Err(MixerError::NotAParticipant(slot.index()));
        }
        self.inputs[slot.index()] = *frame;
        self.spoke |= bit(slot);
        Ok(())
    }

    /// Mixes this tick's inputs: output `i` is every other participant's frame summed and
    /// clamped to `[-32768, 32767]`; slots without a participant output silence. The
    /// inputs are then spent: a participant that sets none next tick is silent.
    pub fn mix(&mut self) -> &[Frame; MAX_PARTICIPANTS] {
        self.mix_n_minus_one();
        self.spoke = 0;
        &self.outputs
    }

    /// The output [`Mixer::mix`] last produced for `slot`.
    pub fn output(&self, slot: Slot) -> &Frame {
        &self.outputs[slot.index()]
    }

    fn mix_n_minus_one(&mut self) {
        self.total = [0; FRAME_SAMPLES];
        let spoke = self.spoke & self.joined;
        for (i, input) in self.inputs.iter().enumerate() {
            if spoke & (1 << i) != 0 {
                for (t, &s) in self.total.iter_mut().zip(input) {
                    *t += i32::from(s);
                }
            }
        }
        for (i, (out, input)) in self.outputs.iter_mut().zip(&self.inputs).enumerate() {
            if self.joined & (1 << i) == 0 {
                continue;
            }
            if spoke & (1 << i) == 0 {
                // Silent this tick: it hears the whole total.
                for (o, &t) in out.iter_mut().zip(&self.total) {
                    *o = clamp(t);
                }
            } else {
                for ((o, &t), &s) in out.iter_mut().zip(&self.total).zip(input) {
                    *o = clamp(t - i32::from(s));
                }
            }
        }
    }
}

const fn bit(slot: Slot) -> u8 {
    1 << slot.0
}

#[inline(always)]
fn clamp(x: i32) -> i16 {
    x.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}
