//! Receiving telephone events: one [`DtmfEvent`] per key press, reported when it ends.

use std::time::{Duration, Instant};

use super::{BadTelephoneEvent, Dtmf, EventPayload};
use crate::ids::RtpTimestamp;
use crate::rtp_packet::RtpPacket;

/// How long after an event's latest packet it is taken as ended when no end packet came
/// (all three lost). RFC 4733 §2.5.2 leaves the value to the receiver; 200 ms is ten
/// missed 20 ms updates, well past the 50 ms update interval senders commonly use.
pub const DEFAULT_END_TIMEOUT: Duration = Duration::from_millis(200);

/// A key press, reported once when it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfEvent {
    /// Which key (or flash).
    pub digit: Dtmf,
    /// The event's RTP timestamp: when it began in the sender's media clock.
    pub timestamp: RtpTimestamp,
    /// The longest duration the sender reported, in timestamp units.
    pub samples: u16,
    /// The same, as time.
    pub duration: Duration,
    /// Power level in −dBm0 (0 is loudest).
    pub volume: u8,
    /// Whether an end packet (E bit) arrived; `false` when the event was ended by a
    /// timeout or by the next event's start.
    pub end_received: bool,
}

#[derive(Debug, Clone, Copy)]
struct Current {
    timestamp: RtpTimestamp,
    event: u8,
    volume: u8,
    samples: u16,
    last_packet_at: Instant,
    /// Reported already: later packets with this timestamp are repeats.
    reported: bool,
}

/// Turns the telephone-event packets of one stream into [`DtmfEvent`]s.
///
/// Feed it each packet with the negotiated telephone-event payload type
/// ([`DtmfReceiver::on_packet`]), and call [`DtmfReceiver::handle_timeout`] when
/// [`DtmfReceiver::poll_timeout`] is due. An event is reported once, when the first of
/// these happens: an end packet arrives (its repeats are dropped), a packet with a newer
/// timestamp starts the next event, or no packet came for the end timeout.
#[derive(Debug, Clone)]
pub struct DtmfReceiver {
    clock_rate: u32,
    end_timeout: Duration,
    current: Option<Current>,
    /// A second event finished by the packet that finished the first; handed out by the
    /// next `handle_timeout`.
    pending: Option<(Instant, DtmfEvent)>,
}

impl DtmfReceiver {
    /// A receiver for telephone events at `clock_rate` (8000 for `telephone-event/8000`).
    pub fn new(clock_rate: u32) -> DtmfReceiver {
        DtmfReceiver {
            clock_rate: clock_rate.max(1),
            end_timeout: DEFAULT_END_TIMEOUT,
            current: None,
            pending: None,
        }
    }

    /// Changes how long an event lasts past its latest packet when its end is lost.
    pub fn set_end_timeout(&mut self, timeout: Duration) {
        self.end_timeout = timeout;
    }

    /// Takes a telephone-event packet that arrived at `now`.
    pub fn on_packet(
        &mut self,
        now: Instant,
        packet: &RtpPacket,
    ) -> Result<Option<DtmfEvent>, BadTelephoneEvent> {
        self.on_payload(now, packet.timestamp, &packet.payload)
    }

    /// Takes a telephone-event payload and its packet's RTP timestamp. The marker is not
    /// needed: the first packet may be lost, and a new timestamp is what starts an event
    /// (RFC 4733 §2.5.2).
    pub fn on_payload(
        &mut self,
        now: Instant,
        timestamp: RtpTimestamp,
        payload: &[u8],
    ) -> Result<Option<DtmfEvent>, BadTelephoneEvent> {
        let p = EventPayload::parse(payload)?;
        if let Some(c) = self.current.as_mut() {
            if c.timestamp == timestamp && !(c.reported && c.event != p.event) {
                if c.reported {
                    // A repeated end packet, or a straggler of a finished event.
                    return Ok(None);
                }
                c.samples = c.samples.max(p.duration);
                c.volume = p.volume;
                c.last_packet_at = now;
                if p.end {
                    c.reported = true;
                    return Ok(self.report(true));
                }
                return Ok(None);
            }
            let behind = c.timestamp.since(timestamp);
            if behind != 0 && behind < 1 << 31 {
                // Older than the current event: a late packet of an earlier one.
                return Ok(None);
            }
        }
        // A new event. An unfinished one before it ends here, its end lost.
        let unfinished = match self.current {
            Some(c) if !c.reported => self.report(false),
            _ => None,
        };
        self.current = Some(Current {
            timestamp,
            event: p.event,
            volume: p.volume,
            samples: p.duration,
            last_packet_at: now,
            reported: p.end,
        });
        if !p.end {
            return Ok(unfinished);
        }
        // Only an end packet of this event came (its start was lost or it was short).
        let ended = self.report(true);
        if unfinished.is_some() {
            self.pending = ended.map(|e| (now, e));
            return Ok(unfinished);
        }
        Ok(ended)
    }

    /// When [`DtmfReceiver::handle_timeout`] next has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if let Some((at, _)) = self.pending {
            return Some(at);
        }
        match self.current {
            Some(c) if !c.reported => Some(c.last_packet_at + self.end_timeout),
            _ => None,
        }
    }

    /// Reports an event finished together with another, or one whose end never came.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<DtmfEvent> {
        if let Some((_, event)) = self.pending.take() {
            return Some(event);
        }
        let c = self.current.as_mut()?;
        if c.reported || now < c.last_packet_at + self.end_timeout {
            return None;
        }
        c.reported = true;
        self.report(false)
    }

    /// The current event as a [`DtmfEvent`]; `None` when it is not DTMF or flash (other
    /// RFC 4733 events are followed, so their packets are not mistaken for DTMF, but not
    /// reported).
    fn report(&self, end_received: bool) -> Option<DtmfEvent> {
        let c = self.current?;
        let digit = Dtmf::from_code(c.event)?;
        let nanos = u64::from(c.samples) * 1_000_000_000 / u64::from(self.clock_rate);
        Some(DtmfEvent {
            digit,
            timestamp: c.timestamp,
            samples: c.samples,
            duration: Duration::from_nanos(nanos),
            volume: c.volume,
            end_received,
        })
    }
}
