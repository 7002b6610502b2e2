//! Sending telephone events through the leg's RTP sender.

use std::time::Duration;

use super::{Dtmf, EventPayload};
use crate::codec::{FRAME_DURATION, FRAME_SAMPLES};
use crate::error::Error;
use crate::ids::{PayloadType, RtpTimestamp};
use crate::rtp_sender::RtpSender;

/// Power level sent when none is set: −10 dBm0, a typical DTMF level.
pub const DEFAULT_VOLUME: u8 = 10;

/// Audio between two queued digits, so a gateway regenerating tones hears two presses
/// (ITU-T Q.24 asks for a pause of at least 40 ms).
pub const DEFAULT_INTER_DIGIT_GAP: Duration = Duration::from_millis(60);

/// Times the end packet is sent (RFC 4733 §2.5.1.4).
const END_PACKETS: u32 = 3;

/// Digits waiting behind the one being sent.
const QUEUE: usize = 32;

/// Timestamp units per packet: one per 20 ms tick, so the duration grows every packet.
const TICK: u32 = FRAME_SAMPLES as u32;

/// [`DtmfSender::send`] was given more digits than it queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("DTMF queue is full ({QUEUE} digits)")]
pub struct DtmfQueueFull;

#[derive(Debug, Clone, Copy)]
struct Sending {
    digit: Dtmf,
    /// The event's timestamp, fixed for all its packets (RFC 4733 §2.5.1.2).
    timestamp: RtpTimestamp,
    /// Total duration in timestamp units.
    samples: u16,
    /// Packets written so far.
    packets: u32,
}

/// Writes RFC 4733 events into the leg's RTP stream, one packet per 20 ms tick.
///
/// Call [`DtmfSender::produce_rtp`] every tick before encoding audio: `Some(n)` is a
/// telephone-event packet to send *instead of* this tick's audio; `None` means send the
/// audio. Packets go through the leg's [`RtpSender`] (our SSRC and sequence numbers) with
/// the telephone-event payload type swapped in for the one packet. Each event starts at
/// the stream's current timestamp, keeps it for every packet (written with zero
/// samples, so the sender's timestamp does not move), and when its last end packet is
/// out the sender's timestamp is moved on by the ticks the event took, which also marks
/// the next audio packet. No [`RtpSender`] change was needed.
#[derive(Debug, Clone)]
pub struct DtmfSender {
    payload_type: PayloadType,
    volume: u8,
    gap_ticks: u32,
    queue: [(Dtmf, u16); QUEUE],
    head: usize,
    queued: usize,
    sending: Option<Sending>,
    /// Ticks of audio still due before the next queued digit.
    gap_left: u32,
}

impl DtmfSender {
    /// A sender of events on the negotiated telephone-event payload type.
    pub fn new(payload_type: PayloadType) -> DtmfSender {
        DtmfSender {
            payload_type,
            volume: DEFAULT_VOLUME,
            gap_ticks: ticks(DEFAULT_INTER_DIGIT_GAP),
            queue: [(Dtmf::Zero, 0); QUEUE],
            head: 0,
            queued: 0,
            sending: None,
            gap_left: 0,
        }
    }

    /// Changes the payload type after a re-negotiation.
    pub fn set_payload_type(&mut self, payload_type: PayloadType) {
        self.payload_type = payload_type;
    }

    /// Sets the power level, in −dBm0 (0–63; larger values are taken as 63).
    pub fn set_volume(&mut self, volume: u8) {
        self.volume = volume.min(63);
    }

    /// Sets the pause between queued digits (rounded up to whole 20 ms ticks).
    pub fn set_inter_digit_gap(&mut self, gap: Duration) {
        self.gap_ticks = ticks(gap);
    }

    /// Queues a key press lasting `duration` (at least one 20 ms packet, at most the
    /// 16-bit duration field's 8.19 s at 8 kHz).
    pub fn send(&mut self, digit: Dtmf, duration: Duration) -> Result<(), DtmfQueueFull> {
        if self.queued == QUEUE {
            return Err(DtmfQueueFull);
        }
        let samples = (duration.as_micros() * 8 / 1000).clamp(u128::from(TICK), 0xFFFF) as u16;
        self.queue[(self.head + self.queued) % QUEUE] = (digit, samples);
        self.queued += 1;
        Ok(())
    }

    /// Whether an event is being sent or digits are queued.
    pub fn is_busy(&self) -> bool {
        self.sending.is_some() || self.queued > 0
    }

    /// This tick's telephone-event packet, if any, written through `sender` into `out`.
    /// On an error nothing moved: the same packet is attempted next tick.
    pub fn produce_rtp(
        &mut self,
        sender: &mut RtpSender,
        out: &mut [u8],
    ) -> Result<Option<usize>, Error> {
        let mut s = match self.sending {
            Some(s) => s,
            None => {
                if self.gap_left > 0 {
                    // Audio between two digits; the gap runs whether or not another
                    // digit is queued, so a digit queued later starts at once.
                    self.gap_left -= 1;
                    return Ok(None);
                }
                if self.queued == 0 {
                    return Ok(None);
                }
                let (digit, samples) = self.queue[self.head];
                Sending {
                    digit,
                    timestamp: sender.next_timestamp(),
                    samples,
                    packets: 0,
                }
            }
        };
        let elapsed = (s.packets + 1) * TICK;
        let end = elapsed >= u32::from(s.samples);
        let payload = EventPayload {
            event: s.digit.code(),
            end,
            volume: self.volume,
            duration: if end { s.samples } else { elapsed as u16 },
        };
        if s.packets == 0 {
            // The first packet of an event is marked (RFC 4733 §2.5.1.2).
            sender.mark_next();
        }
        let audio_pt = sender.payload_type();
        sender.set_payload_type(self.payload_type);
        let written = sender.packetize_samples(&payload.to_bytes(), 0, out);
        sender.set_payload_type(audio_pt);
        let n = written?;
        debug_assert_eq!(sender.next_timestamp(), s.timestamp);

        if s.packets == 0 {
            self.head = (self.head + 1) % QUEUE;
            self.queued -= 1;
        }
        s.packets += 1;
        let first_end = u32::from(s.samples).div_ceil(TICK);
        if s.packets == first_end + END_PACKETS - 1 {
            // The event took `packets` ticks of the stream: audio resumes after them.
            sender.skip(s.packets * TICK);
            self.sending = None;
            self.gap_left = self.gap_ticks;
        } else {
            self.sending = Some(s);
        }
        Ok(Some(n))
    }
}

fn ticks(d: Duration) -> u32 {
    d.as_nanos().div_ceil(FRAME_DURATION.as_nanos()) as u32
}
