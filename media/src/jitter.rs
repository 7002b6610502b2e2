//! An adaptive playout (jitter) buffer for G.711: packets go in as they arrive, one
//! 20 ms frame comes out per tick, in media order, after a delay that follows the
//! network's jitter.
//!
//! # Drive loop
//!
//! ```text
//! on each RTP audio packet:   jitter.push(now, &packet)
//! every 20 ms (the leg tick): match jitter.pop(now) {
//!     Playout::Frame { payload, codec, .. } => decode `payload` (no copy), play it
//!     Playout::Missing                      => conceal (plc::Concealer)
//!     Playout::Idle                         => play silence, nothing is flowing
//! }
//! ```
//! The payload is copied once, from the datagram into a fixed slot; `pop` lends the
//! slot, so the decoder reads it in place. Nothing allocates after [`JitterBuffer::new`].
//!
//! # Placement
//!
//! Playout is driven by the RTP timestamp, not the sequence number (RFC 3550 §5.1: the
//! timestamp is the sampling instant; with silence suppression the numbers run on while
//! time jumps, RFC 3551 §4.1). Each slot holds the 160 octets of one frame; a packet is
//! written at its sample position, so 10, 20, 30, 40 or 60 ms packets all become 20 ms
//! frames (a frame only partly covered plays with the codec's silence in the holes).
//! The sequence number is used for what it is good at, through [`SequenceTracker`]
//! (RFC 3550 A.1): duplicates, unconfirmed jumps, restarts.
//!
//! # Delay
//!
//! For every packet, its transit `arrival − timestamp` (in 8 kHz units) is compared with
//! the smallest transit of the last 1–2 s (the "floor": the fastest recent path). The
//! excess is the packet's *relative arrival delay*, as WebRTC NetEQ measures it
//! (`modules/audio_coding/neteq/delay_manager.cc`: relative to the fastest packet of a
//! 2 s history, pooled in a forgetting histogram, target = a high quantile). Here the
//! histogram has 10 ms buckets and forgets 0.5% a packet (a memory of about 4 s), and the
//! target delay is its 95th percentile, clamped to `[min_delay, max_delay]`
//! (20 ms and 200 ms by default). So the target rises within a few packets of jitter
//! appearing and decays over seconds once the network calms, as in Ramjee et al.,
//! "Adaptive playout mechanisms for packetized audio applications in wide-area
//! networks" (INFOCOM 1994): grow fast, shrink slowly.
//!
//! The *current* delay is measured at each `pop`: `now − timestamp(frame) − floor`, how
//! long the frame waited since a packet on the fastest path would have arrived. A packet
//! with excess `e` is on time exactly when `e ≤ current`. The buffer steers current
//! toward target one whole frame at a time, because G.711 frames are played as they are:
//! - too little delay: insert one frame (return `Missing` without moving on) before a
//!   frame that is here, never right after another `Missing`; a missing frame is
//!   concealed at once, never held for, so no loss ever becomes a 40 ms gap (a gap
//!   is at most one concealed frame, `docs/media.md#jitter-buffer`), at the price of a
//!   late packet the raised target has not yet made room for;
//! - too much (at least a frame and 2 ms over target): drop a frame, preferring an empty
//!   slot or a quiet one (peak under −42 dBov), else after 25 ticks over target anyway;
//! - at a talkspurt start (marker bit after playout ran dry) and after silence, playout
//!   restarts at exactly the target delay (Ramjee et al.: adapt between talkspurts);
//! - a caller that stopped ticking for longer than `max_delay` is caught up at once.
//!
//! RFC 3550 A.8's interarrival jitter is a mean deviation of transit differences: it
//! says how rough the path is, not how much delay covers it. A quantile of the relative
//! delay is that delay directly, which is why NetEQ (and this buffer) use it; the A.8
//! figure stays in the receiver's RTCP reports.
//!
//! # Resynchronisation
//!
//! A new SSRC, a sequence restart confirmed by RFC 3550 A.1, or an in-order packet whose
//! transit differs from the floor by more than `max_delay + 20 ms` (the timestamp jumped:
//! no jitter this buffer is built for explains it) starts a new timeline: the delay
//! floor is forgotten and the new stream is spliced right after the frames still
//! buffered from the old one, so neither loses audio (with nothing buffered, playout
//! restarts on the new packet after the target delay). Stragglers from the previous SSRC
//! are refused.

use std::time::{Duration, Instant};

use crate::codec::{Codec, FRAME_DURATION, FRAME_SAMPLES};
use crate::ids::{PayloadType, RtpTimestamp, Ssrc};
use crate::rtp_packet::{RtpHeader, RtpPacket};
use crate::sequence::{Arrival, SequenceTracker};

/// Frames the ring holds from the playout point on: 640 ms.
pub const CAPACITY_FRAMES: usize = 32;
/// The longest packet accepted, in samples (60 ms at 8 kHz).
pub const MAX_PACKET_SAMPLES: usize = 3 * FRAME_SAMPLES;
/// The smallest target delay: one frame.
pub const MIN_DELAY: Duration = FRAME_DURATION;
/// The largest target delay allowed (the ring must also hold the packets that run ahead).
pub const MAX_DELAY_LIMIT: Duration = Duration::from_millis(400);

const FRAME: i64 = FRAME_SAMPLES as i64;
/// Arrival times and transits are kept in RTP units of the 8 kHz G.711 clock.
const UNITS_PER_SECOND: u128 = 8000;
const UNITS_PER_MS: i64 = 8;
/// A transit minimum lives for one to two blocks of this length (1 s).
const FLOOR_BLOCK: i64 = 8000;
const BUCKET: i64 = 10 * UNITS_PER_MS;
const BUCKETS: usize = 48;
/// Forgetting factor 0.995 in Q15, applied to the histogram at every packet.
const FORGET_Q15: u64 = 32_604;
/// The weight a new observation brings, (1 − 0.995) in Q30.
const NEW_WEIGHT: u32 = 5_368_709;
/// The quantile the target covers, as a fraction of 1000.
const QUANTILE_PER_MILLE: u64 = 950;
/// Over target by at least a frame plus this before a frame is dropped.
const SKIP_HYSTERESIS: i64 = 2 * UNITS_PER_MS;
/// Ticks over target after which a frame is dropped even if it is not quiet.
const SKIP_PATIENCE: u32 = 25;
/// A frame whose peak stays at or under this (−42 dBov) may be dropped unheard.
const QUIET_PEAK: u16 = 256;

/// Delay limits of a [`JitterBuffer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// The delay the buffer starts at and never goes under; at least [`MIN_DELAY`].
    pub min_delay: Duration,
    /// The most delay it adds for jitter; at most [`MAX_DELAY_LIMIT`]. An underrun this
    /// long with nothing buffered ends the talkspurt ([`Playout::Idle`]).
    pub max_delay: Duration,
}

impl Default for JitterConfig {
    fn default() -> Self {
        JitterConfig {
            min_delay: MIN_DELAY,
            max_delay: Duration::from_millis(200),
        }
    }
}

/// What happened to a pushed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Stored for playout.
    Buffered,
    /// A new stream (SSRC change, sequence restart, timestamp jump): stored as the start
    /// of a new timeline, after whatever of the old stream is still buffered.
    Resynced,
    /// Already received (RFC 3550 A.1 window); dropped.
    Duplicate,
    /// Its playout time had passed; dropped.
    Late,
    /// Not stored, for the reason given.
    Refused(Refused),
}

/// Why a packet was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refused {
    /// Not G.711 audio: telephone events and comfort noise are the leg's business.
    NotAudio(PayloadType),
    /// Empty, or longer than [`MAX_PACKET_SAMPLES`].
    Length(usize),
    /// A sequence jump the next packet has not confirmed yet (RFC 3550 A.1).
    UnconfirmedJump,
    /// A straggler from the source the stream switched away from.
    StaleSource(Ssrc),
    /// So far ahead of playout that the ring has no slot for it.
    TooEarly,
}

/// What to play for this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Playout<'a> {
    /// The frame due: 160 octets of G.711, lent from the buffer's slot.
    Frame {
        /// The encoded frame, to decode in place.
        payload: &'a [u8; FRAME_SAMPLES],
        /// The G.711 law it arrived in (its payload type).
        codec: Codec,
        /// RTP timestamp of its first sample.
        timestamp: RtpTimestamp,
        /// The M bit of the packet that starts this frame (a talkspurt start).
        marker: bool,
        /// The first frame of a new timeline (first packet, talkspurt after silence,
        /// resync): it does not continue the frame played before it.
        discontinuity: bool,
    },
    /// The frame due never came (loss or lateness), or a frame inserted to grow the
    /// delay: conceal it.
    Missing,
    /// Nothing is flowing: not started, filling up to the target delay, or silence.
    Idle,
}

/// Counters of a [`JitterBuffer`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JitterStats {
    /// Packets pushed.
    pub pushed: u64,
    /// Frames played (returned as [`Playout::Frame`]).
    pub played: u64,
    /// Duplicate packets dropped.
    pub duplicates: u64,
    /// Packets dropped because their playout time had passed.
    pub late: u64,
    /// Frames missing at their playout time in a running stream (the run of empty
    /// frames that ends a talkspurt is silence, not loss, and is taken back).
    pub lost: u64,
    /// [`Playout::Missing`] returned: frames the pipeline had to conceal.
    pub concealed: u64,
    /// Of those, frames inserted to grow the delay.
    pub stretched: u64,
    /// Frames dropped to shrink the delay.
    pub skipped: u64,
    /// Packets refused ([`Refused`]).
    pub refused: u64,
    /// Flushes for a new stream: SSRC change, sequence restart, timestamp jump.
    pub resyncs: u64,
    /// Times playout (re)started after idling: the first packet, and talkspurts.
    pub starts: u64,
    /// Delay measured at the last tick, in ms.
    pub current_delay_ms: u32,
    /// Target delay, in ms.
    pub target_delay_ms: u32,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Extended timestamp of the frame's first sample, on the buffer's timeline.
    frame: i64,
    /// The same instant as the sender's RTP timestamp.
    timestamp: RtpTimestamp,
    /// Samples written; 0 is a free slot.
    filled: u16,
    codec: Codec,
    marker: bool,
    payload: [u8; FRAME_SAMPLES],
}

const FREE: Slot = Slot {
    frame: 0,
    timestamp: RtpTimestamp(0),
    filled: 0,
    codec: Codec::Pcmu,
    marker: false,
    payload: [0; FRAME_SAMPLES],
};

#[derive(Debug, Clone)]
struct Source {
    ssrc: Ssrc,
    sequence: SequenceTracker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No playout: before the first packet, or after a talkspurt ended.
    Idle,
    /// Anchored on a packet, waiting for the target delay to pass.
    Priming,
    Playing,
}

/// The smallest transit of the last one to two blocks of [`FLOOR_BLOCK`].
#[derive(Debug, Clone, Copy)]
struct Floor {
    current: i64,
    previous: i64,
    block_start: i64,
    valid: bool,
}

impl Floor {
    const EMPTY: Floor = Floor {
        current: i64::MAX,
        previous: i64::MAX,
        block_start: 0,
        valid: false,
    };

    fn get(&self) -> i64 {
        self.current.min(self.previous)
    }

    fn observe(&mut self, arrival: i64, transit: i64) {
        if !self.valid {
            *self = Floor {
                current: transit,
                previous: i64::MAX,
                block_start: arrival,
                valid: true,
            };
        } else if arrival - self.block_start >= FLOOR_BLOCK {
            self.previous = self.current;
            self.current = transit;
            self.block_start = arrival;
        } else {
            self.current = self.current.min(transit);
        }
    }
}

/// Relative arrival delays in [`BUCKET`]s, with exponential forgetting (Q30 weights).
#[derive(Debug, Clone, Copy)]
struct DelayHistogram {
    weights: [u32; BUCKETS],
}

impl DelayHistogram {
    fn observe(&mut self, excess: i64) {
        for w in &mut self.weights {
            *w = ((u64::from(*w) * FORGET_Q15) >> 15) as u32;
        }
        let bucket = (excess.max(0) / BUCKET).min(BUCKETS as i64 - 1) as usize;
        self.weights[bucket] += NEW_WEIGHT;
    }

    /// The upper edge of the bucket holding the quantile, in 8 kHz units.
    fn quantile(&self) -> i64 {
        let total: u64 = self.weights.iter().map(|&w| u64::from(w)).sum();
        let wanted = total * QUANTILE_PER_MILLE / 1000;
        let mut sum = 0u64;
        for (i, &w) in self.weights.iter().enumerate() {
            sum += u64::from(w);
            if sum >= wanted {
                return (i as i64 + 1) * BUCKET;
            }
        }
        BUCKETS as i64 * BUCKET
    }
}

/// The adaptive jitter buffer of one receiving stream. See the module docs.
#[derive(Debug, Clone)]
pub struct JitterBuffer {
    min_delay: i64,
    max_delay: i64,
    /// Empty frames in a row, with nothing buffered, that end a talkspurt.
    idle_after: u32,
    slots: [Slot; CAPACITY_FRAMES],
    /// Slot of the frame due next.
    head: usize,
    /// Extended timestamp of the frame due next.
    play: i64,
    /// Occupied slots.
    buffered: usize,
    /// The last pop returned `Missing`: the delay is not grown next to it.
    concealing: bool,
    /// Added to a wire timestamp to place it on the timeline (non-zero after a splice).
    ts_offset: u32,
    state: State,
    source: Option<Source>,
    previous: Option<Source>,
    epoch: Option<Instant>,
    floor: Floor,
    histogram: DelayHistogram,
    target: i64,
    current: i64,
    empty_run: u32,
    over_target: u32,
    /// The frame (timeline timestamp) from which a new timeline starts.
    discontinuity_at: Option<i64>,
    stats: JitterStats,
}

impl Default for JitterBuffer {
    fn default() -> Self {
        JitterBuffer::new(JitterConfig::default())
    }
}

impl JitterBuffer {
    /// An empty buffer. Delays outside `[MIN_DELAY, MAX_DELAY_LIMIT]` are clamped.
    pub fn new(config: JitterConfig) -> JitterBuffer {
        let units = |d: Duration| (d.as_micros() as i64) * UNITS_PER_MS / 1000;
        let max = config.max_delay.clamp(MIN_DELAY, MAX_DELAY_LIMIT);
        let min = config.min_delay.clamp(MIN_DELAY, max);
        let (min_delay, max_delay) = (units(min), units(max));
        JitterBuffer {
            min_delay,
            max_delay,
            idle_after: ((max_delay + FRAME - 1) / FRAME).max(3) as u32,
            slots: [FREE; CAPACITY_FRAMES],
            head: 0,
            play: 0,
            buffered: 0,
            concealing: false,
            ts_offset: 0,
            state: State::Idle,
            source: None,
            previous: None,
            epoch: None,
            floor: Floor::EMPTY,
            histogram: DelayHistogram {
                weights: [0; BUCKETS],
            },
            target: min_delay,
            current: 0,
            empty_run: 0,
            over_target: 0,
            discontinuity_at: None,
            stats: JitterStats::default(),
        }
    }

    /// Counters, with the current and target delays.
    pub fn stats(&self) -> JitterStats {
        JitterStats {
            current_delay_ms: (self.current.max(0) / UNITS_PER_MS) as u32,
            target_delay_ms: (self.target / UNITS_PER_MS) as u32,
            ..self.stats
        }
    }

    /// The delay the buffer steers toward.
    pub fn target_delay(&self) -> Duration {
        Duration::from_micros((self.target * 1000 / UNITS_PER_MS) as u64)
    }

    /// Frames held (partly or wholly received).
    pub fn buffered_frames(&self) -> usize {
        self.buffered
    }

    /// Whether playout is stopped (before the first packet, or in silence).
    pub fn is_idle(&self) -> bool {
        self.state == State::Idle
    }

    /// Forgets the stream (a re-INVITE to new media): the delay statistics stay.
    pub fn reset(&mut self) {
        self.flush();
        self.state = State::Idle;
        self.source = None;
        self.previous = None;
        self.floor = Floor::EMPTY;
        self.ts_offset = 0;
        self.discontinuity_at = None;
    }

    fn arrival(&mut self, now: Instant) -> i64 {
        let epoch = *self.epoch.get_or_insert(now);
        let nanos = now.saturating_duration_since(epoch).as_nanos();
        (nanos * UNITS_PER_SECOND / 1_000_000_000) as i64
    }

    /// `ts` placed on the 64-bit timeline, unwrapped around the playout point.
    fn extend(&self, ts: RtpTimestamp) -> i64 {
        let ts = ts.0.wrapping_add(self.ts_offset);
        if self.floor.valid {
            self.play + i64::from(ts.wrapping_sub(self.play as u32) as i32)
        } else {
            i64::from(ts)
        }
    }

    fn refuse(&mut self, why: Refused) -> PushOutcome {
        self.stats.refused += 1;
        PushOutcome::Refused(why)
    }

    /// Stores one RTP audio packet that arrived at `now`.
    pub fn push(&mut self, now: Instant, packet: &RtpPacket) -> PushOutcome {
        self.push_parts(now, &packet.header(), &packet.payload)
    }

    /// [`JitterBuffer::push`] from a parsed header and its payload (the
    /// media workers parse in place from their ring slots).
    pub fn push_parts(&mut self, now: Instant, packet: &RtpHeader, payload: &[u8]) -> PushOutcome {
        self.stats.pushed += 1;
        let Some(codec) = Codec::from_payload_type(packet.payload_type) else {
            return self.refuse(Refused::NotAudio(packet.payload_type));
        };
        let len = payload.len();
        if len == 0 || len > MAX_PACKET_SAMPLES {
            return self.refuse(Refused::Length(len));
        }
        let arrival = self.arrival(now);

        let (sequence, mut resync) = match self.switch_source(packet) {
            Ok(found) => found,
            Err(why) => return self.refuse(why),
        };
        match sequence {
            Arrival::Duplicate => {
                self.stats.duplicates += 1;
                return PushOutcome::Duplicate;
            }
            Arrival::Jump => return self.refuse(Refused::UnconfirmedJump),
            Arrival::Restarted => resync = true,
            Arrival::Probation | Arrival::InOrder { .. } | Arrival::Reordered => {}
        }
        let in_order = sequence != Arrival::Reordered;
        if self.state == State::Idle && !in_order && !resync {
            self.stats.late += 1;
            return PushOutcome::Late;
        }

        let mut ext = self.extend(packet.timestamp);
        if self.floor.valid && in_order && !resync {
            let excess = arrival - ext - self.floor.get();
            resync = excess.abs() > self.max_delay + FRAME;
        }

        if resync {
            self.stats.resyncs += 1;
            self.floor = Floor::EMPTY;
            match self.furthest() {
                Some(j) if self.state != State::Idle => {
                    // Splice: the new stream's timeline starts where the old one's
                    // buffered frames end.
                    ext = self.play + (j as i64 + 1) * FRAME;
                    self.ts_offset = (ext as u32).wrapping_sub(packet.timestamp.0);
                    self.discontinuity_at = Some(ext);
                }
                _ => self.anchor(ext),
            }
        } else if self.state == State::Idle || (packet.marker && in_order && self.underrun()) {
            self.stats.starts += 1;
            self.anchor(ext);
        }
        let transit = arrival - ext;
        self.floor.observe(arrival, transit);
        self.histogram.observe(transit - self.floor.get());
        self.target = self
            .histogram
            .quantile()
            .clamp(self.min_delay, self.max_delay);

        match self.store(ext, codec, packet.marker, payload) {
            PushOutcome::Buffered if resync => PushOutcome::Resynced,
            outcome => outcome,
        }
    }

    /// Finds the packet's source and where it falls in its sequence; a new source (or
    /// the previous one coming back) means a resync.
    fn switch_source(&mut self, packet: &RtpHeader) -> Result<(Arrival, bool), Refused> {
        if let Some(current) = self.source.as_mut().filter(|s| s.ssrc == packet.ssrc) {
            return Ok((current.sequence.update(packet.sequence).0, false));
        }
        if let Some(previous) = self.previous.as_mut().filter(|s| s.ssrc == packet.ssrc) {
            match previous.sequence.update(packet.sequence).0 {
                Arrival::Reordered | Arrival::Duplicate | Arrival::Jump => {
                    return Err(Refused::StaleSource(packet.ssrc));
                }
                _ => {
                    // The old source resumed (say, after a hold): switch back.
                    std::mem::swap(&mut self.source, &mut self.previous);
                    return Ok((Arrival::Probation, true));
                }
            }
        }
        let had_source = self.source.is_some();
        self.previous = self.source.replace(Source {
            ssrc: packet.ssrc,
            sequence: SequenceTracker::new(packet.sequence),
        });
        Ok((Arrival::Probation, had_source))
    }

    fn flush(&mut self) {
        for slot in &mut self.slots {
            slot.filled = 0;
        }
        self.buffered = 0;
        self.head = 0;
    }

    /// Restarts playout at the packet with extended timestamp `ext`.
    fn anchor(&mut self, ext: i64) {
        self.flush();
        self.play = ext;
        self.state = State::Priming;
        self.discontinuity_at = Some(ext);
        self.empty_run = 0;
        self.over_target = 0;
    }

    /// Whether playout has run dry: frames went missing and nothing is buffered, as
    /// after a talkspurt (so a marked packet is the next talkspurt, not noise on a
    /// sender that marks every packet).
    fn underrun(&self) -> bool {
        self.state == State::Playing && self.buffered == 0 && self.empty_run > 0
    }

    /// Offset, in frames from the head, of the furthest occupied slot.
    fn furthest(&self) -> Option<usize> {
        (0..CAPACITY_FRAMES)
            .rev()
            .find(|&j| self.slots[(self.head + j) % CAPACITY_FRAMES].filled > 0)
    }

    fn store(&mut self, ext: i64, codec: Codec, marker: bool, payload: &[u8]) -> PushOutcome {
        let end = ext + payload.len() as i64;
        if ext < self.play && self.state == State::Priming {
            // Nothing has played yet: an earlier packet moves the start back if it fits.
            let back = ((self.play - ext + FRAME - 1) / FRAME) as usize;
            let span = back + self.furthest().map_or(0, |j| j + 1);
            if span <= CAPACITY_FRAMES {
                if self.discontinuity_at == Some(self.play) {
                    self.discontinuity_at = Some(self.play - back as i64 * FRAME);
                }
                self.play -= back as i64 * FRAME;
                self.head = (self.head + CAPACITY_FRAMES - back) % CAPACITY_FRAMES;
            }
        }
        if end <= self.play {
            self.stats.late += 1;
            return PushOutcome::Late;
        }
        if (end - 1 - self.play) / FRAME >= CAPACITY_FRAMES as i64 {
            return self.refuse(Refused::TooEarly);
        }
        // Samples already played are dropped; the rest still counts.
        let skip = (self.play - ext).max(0) as usize;
        let mut pos = ext + skip as i64;
        let mut i = skip;
        while i < payload.len() {
            let rel = pos - self.play;
            let (j, off) = ((rel / FRAME) as usize, (rel % FRAME) as usize);
            let n = (FRAME_SAMPLES - off).min(payload.len() - i);
            let frame = self.play + j as i64 * FRAME;
            let timestamp = RtpTimestamp((frame as u32).wrapping_sub(self.ts_offset));
            let slot = &mut self.slots[(self.head + j) % CAPACITY_FRAMES];
            if slot.filled == 0 || slot.frame != frame {
                if slot.filled == 0 {
                    self.buffered += 1;
                }
                slot.frame = frame;
                slot.timestamp = timestamp;
                slot.filled = 0;
                slot.codec = codec;
                slot.marker = false;
                if n < FRAME_SAMPLES {
                    slot.payload = [codec.silence_byte(); FRAME_SAMPLES];
                }
            }
            slot.payload[off..off + n].copy_from_slice(&payload[i..i + n]);
            slot.filled = (usize::from(slot.filled) + n).min(FRAME_SAMPLES) as u16;
            if off == 0 && i == 0 {
                slot.marker |= marker;
            }
            pos += n as i64;
            i += n;
        }
        PushOutcome::Buffered
    }

    /// How long the frame due has waited since a packet on the fastest path would have
    /// brought it (8 kHz units).
    fn delay_at(&mut self, now: Instant) -> i64 {
        self.arrival(now) - self.play - self.floor.get()
    }

    fn head_slot(&self) -> Option<&Slot> {
        let slot = &self.slots[self.head];
        (slot.filled > 0 && slot.frame == self.play).then_some(slot)
    }

    fn advance(&mut self) {
        let slot = &mut self.slots[self.head];
        if slot.filled > 0 {
            slot.filled = 0;
            self.buffered -= 1;
        }
        self.head = (self.head + 1) % CAPACITY_FRAMES;
        self.play += FRAME;
    }

    /// Drops `frames` frames at once.
    fn fast_forward(&mut self, frames: i64) {
        self.stats.skipped += frames as u64;
        if frames >= CAPACITY_FRAMES as i64 {
            self.flush();
            self.play += frames * FRAME;
        } else {
            for _ in 0..frames {
                self.advance();
            }
        }
    }

    /// The frame for this 20 ms tick. Call it once per tick; it never blocks and always
    /// answers, so the output never stalls.
    pub fn pop(&mut self, now: Instant) -> Playout<'_> {
        match self.state {
            State::Idle => return Playout::Idle,
            State::Priming => {
                self.current = self.delay_at(now);
                if self.current < self.target {
                    return Playout::Idle;
                }
                self.state = State::Playing;
            }
            State::Playing => {}
        }
        let mut delay = self.delay_at(now);
        if delay >= self.target + self.max_delay {
            // Far behind: the caller stopped ticking for a while. Catch up at once.
            let behind = (delay - self.target) / FRAME;
            self.fast_forward(behind);
            delay -= behind * FRAME;
        }
        if delay >= self.target + FRAME + SKIP_HYSTERESIS {
            self.over_target += 1;
            let droppable = match self.head_slot() {
                None => true,
                Some(slot) => self.over_target >= SKIP_PATIENCE || is_quiet(slot),
            };
            if droppable {
                self.advance();
                self.stats.skipped += 1;
                self.over_target = 0;
                delay -= FRAME;
            }
        } else {
            self.over_target = 0;
        }
        self.current = delay;

        if self.head_slot().is_some() {
            if delay < self.target && !self.concealing {
                // Grow the delay by a frame before this one (RFC 3550
                // playout adjustment), never beside a concealed frame: a
                // loss next to an inserted frame would make a 40 ms gap.
                self.stats.stretched += 1;
                self.stats.concealed += 1;
                self.concealing = true;
                return Playout::Missing;
            }
            self.concealing = false;
            let index = self.head;
            self.advance();
            self.stats.played += 1;
            self.empty_run = 0;
            let slot = &self.slots[index];
            let discontinuity = self.discontinuity_at.is_some_and(|at| at <= slot.frame);
            if discontinuity {
                self.discontinuity_at = None;
            }
            return Playout::Frame {
                payload: &slot.payload,
                codec: slot.codec,
                timestamp: slot.timestamp,
                marker: slot.marker,
                discontinuity,
            };
        }
        // The frame due is missing: conceal it now. Holding its place to grow
        // the delay would make a 40 ms gap if it never comes; the delay grows
        // before a frame that is here instead (above).
        self.concealing = true;
        self.advance();
        if self.buffered == 0 {
            self.empty_run += 1;
            if self.empty_run >= self.idle_after {
                // Nothing came for max_delay: the talkspurt ended (or the peer went
                // quiet); the empty frames were its silence, not loss.
                self.stats.lost = self
                    .stats
                    .lost
                    .saturating_sub(u64::from(self.empty_run - 1));
                self.state = State::Idle;
                return Playout::Idle;
            }
        } else {
            self.empty_run = 0;
        }
        self.stats.lost += 1;
        self.stats.concealed += 1;
        Playout::Missing
    }
}

/// Whether a buffered frame is quiet enough to drop unheard.
fn is_quiet(slot: &Slot) -> bool {
    let mut pcm = [0i16; FRAME_SAMPLES];
    slot.codec.decode(&slot.payload, &mut pcm);
    pcm.iter().all(|s| s.unsigned_abs() <= QUIET_PEAK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantile_follows_the_tail_then_forgets_it() {
        let mut h = DelayHistogram {
            weights: [0; BUCKETS],
        };
        for _ in 0..100 {
            h.observe(0);
        }
        assert_eq!(h.quantile(), BUCKET, "no jitter: the first bucket");
        for i in 0..200 {
            h.observe((i % 7) * 10 * UNITS_PER_MS); // 0..60 ms
        }
        assert_eq!(h.quantile(), 7 * BUCKET, "the 60 ms tail is covered");
        for _ in 0..1500 {
            h.observe(0);
        }
        assert_eq!(h.quantile(), BUCKET, "calm again");
    }

    #[test]
    fn floor_forgets_an_old_minimum_after_two_blocks() {
        let mut f = Floor::EMPTY;
        f.observe(0, -500);
        f.observe(100, 0);
        assert_eq!(f.get(), -500);
        f.observe(FLOOR_BLOCK, 0);
        assert_eq!(f.get(), -500, "still in the previous block");
        f.observe(2 * FLOOR_BLOCK, 0);
        assert_eq!(f.get(), 0);
    }

    #[test]
    fn config_is_clamped_to_one_frame_and_the_ring() {
        let jb = JitterBuffer::new(JitterConfig {
            min_delay: Duration::ZERO,
            max_delay: Duration::from_secs(5),
        });
        assert_eq!(jb.target_delay(), MIN_DELAY);
        assert_eq!(jb.max_delay, 400 * UNITS_PER_MS);
    }
}
