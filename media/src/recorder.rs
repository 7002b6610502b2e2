//! Call recording, sans-IO: the timeline of one stereo recording (customer left, agents
//! right) with its pauses, and a streaming stereo WAV file around it.
//!
//! [`Recording`] turns each 20 ms `(left, right)` frame pair into the 640 bytes of
//! interleaved 16-bit little-endian samples the file stores, or into silence while
//! paused: paused audio is never written, and the silence keeps the file's timeline
//! equal to the call's (`docs/recording.md#pause`).
//!
//! # Which clock rules
//!
//! The **frame count** is authoritative: one pushed pair is 20 ms of file, so a pause
//! ends after exactly `ceil(auto_resume_after / 20 ms)` frames and its offsets in
//! [`Pause`] are exact in the file, whatever the scheduling jitter of whoever drains the
//! frames. The `now` passed to [`Recording::pause`] only arms a wall-clock safety net:
//! if frames stop arriving (the media stalled), [`Recording::handle_timeout`] ends the
//! pause once the wall clock is [`STALL_SLACK`] past its due time, so a recording never
//! stays paused forever for want of frames.
//!
//! [`StereoWavStream`] writes the canonical 44-byte header first (sizes zero), appends
//! frames, and patches the RIFF and data sizes at each [`StereoWavStream::checkpoint`]
//! and at [`StereoWavStream::finalize`], so a crash loses at most what followed the
//! last checkpoint and the file stays readable.

use std::io::{Seek, SeekFrom, Write};
use std::time::{Duration, Instant};

use crate::codec::{Frame, FRAME_DURATION, FRAME_SAMPLES};
use crate::wav::{WavError, WavSpec, WavWriter};

/// Bytes one stereo 20 ms frame takes in the file: 160 samples × 2 channels × 2 bytes.
pub const STEREO_FRAME_BYTES: usize = 4 * FRAME_SAMPLES;

/// The recording format: stereo, 8 kHz, 16-bit PCM.
pub const RECORDING_SPEC: WavSpec = WavSpec {
    channels: 2,
    sample_rate: 8000,
};

/// How far past a pause's due time the wall clock may run, without frames arriving to
/// end it by the frame count, before [`Recording::handle_timeout`] ends it anyway.
/// Longer than any drain lag (the edge's rings hold 2 s), so it never cuts a pause
/// short while frames flow.
pub const STALL_SLACK: Duration = Duration::from_secs(3);

/// One paused span, in milliseconds from the start of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    /// Where the silence starts.
    pub start_ms: u64,
    /// Where the audio resumes (the end of the file if the recording stopped paused).
    pub end_ms: u64,
}

#[derive(Debug, Clone, Copy)]
struct Paused {
    /// Frame offset the pause started at.
    since_frame: u64,
    /// Frame offset at which it ends by itself.
    resume_at_frame: u64,
    /// When it is due by the wall clock (the safety net only).
    due: Instant,
}

/// What a finished recording holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingSummary {
    /// Stereo frames in the file (20 ms each).
    pub frames: u64,
    /// The file's length in milliseconds.
    pub duration_ms: u64,
    /// The paused spans, in order.
    pub pauses: Vec<Pause>,
}

/// The timeline of one recording: frames pushed, pause state, pauses so far.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    frames: u64,
    paused: Option<Paused>,
    pauses: Vec<Pause>,
}

fn frames_in(d: Duration) -> u64 {
    let frame = FRAME_DURATION.as_nanos();
    u64::try_from(d.as_nanos().div_ceil(frame)).unwrap_or(u64::MAX)
}

fn ms_at(frames: u64) -> u64 {
    frames.saturating_mul(FRAME_DURATION.as_millis() as u64)
}

impl Recording {
    /// An empty recording, not paused.
    pub fn new() -> Recording {
        Recording::default()
    }

    /// Writes the next 20 ms into `out`: `left` and `right` interleaved as 16-bit
    /// little-endian samples, or silence while paused. A pause whose time is up (by the
    /// frame count) ends before this frame, so this frame is audio again.
    pub fn push(&mut self, left: &Frame, right: &Frame, out: &mut [u8; STEREO_FRAME_BYTES]) {
        if let Some(p) = self.paused {
            if self.frames >= p.resume_at_frame {
                self.end_pause();
            }
        }
        if self.paused.is_some() {
            out.fill(0);
        } else {
            for ((o, l), r) in out.chunks_exact_mut(4).zip(left).zip(right) {
                o[..2].copy_from_slice(&l.to_le_bytes());
                o[2..].copy_from_slice(&r.to_le_bytes());
            }
        }
        self.frames += 1;
    }

    /// Pauses from the next frame on; the pause ends by itself after
    /// `auto_resume_after` of file (rounded up to whole frames). Pausing while paused
    /// re-arms the end from now and keeps the pause's start. Returns `false` then.
    pub fn pause(&mut self, now: Instant, auto_resume_after: Duration) -> bool {
        let since_frame = self.paused.map_or(self.frames, |p| p.since_frame);
        let was_paused = self.paused.is_some();
        self.paused = Some(Paused {
            since_frame,
            resume_at_frame: self.frames.saturating_add(frames_in(auto_resume_after)),
            due: now.checked_add(auto_resume_after).unwrap_or(now),
        });
        !was_paused
    }

    /// Resumes from the next frame on (a manual resume before the pause's time is up).
    /// Returns `false` if it was not paused.
    pub fn resume(&mut self) -> bool {
        if self.paused.is_none() {
            return false;
        }
        self.end_pause();
        true
    }

    fn end_pause(&mut self) {
        if let Some(p) = self.paused.take() {
            self.pauses.push(Pause {
                start_ms: ms_at(p.since_frame),
                end_ms: ms_at(self.frames),
            });
        }
    }

    /// When [`Recording::handle_timeout`] would end a stalled pause; `None` when not
    /// paused. While frames flow the pause ends earlier, by the frame count.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.paused
            .map(|p| p.due.checked_add(STALL_SLACK).unwrap_or(p.due))
    }

    /// Ends the pause if frames stopped arriving and the wall clock is past
    /// [`Recording::poll_timeout`]. Returns whether it ended one.
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        match self.poll_timeout() {
            Some(t) if now >= t => self.resume(),
            _ => false,
        }
    }

    /// Whether the next frame would be written as silence (not counting a pause that
    /// that frame itself ends).
    pub fn is_paused(&self) -> bool {
        self.paused.is_some()
    }

    /// Frames pushed so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The pauses that have ended, in order.
    pub fn pauses(&self) -> &[Pause] {
        &self.pauses
    }

    /// Ends the recording: a pause still open closes at the end of the file.
    pub fn finish(mut self) -> RecordingSummary {
        self.end_pause();
        RecordingSummary {
            frames: self.frames,
            duration_ms: ms_at(self.frames),
            pauses: self.pauses,
        }
    }
}

/// Offsets of the RIFF size and the data size in the canonical header [`WavWriter`]
/// writes.
const RIFF_SIZE_AT: u64 = 4;
const DATA_SIZE_AT: u64 = 40;
/// Bytes of header before the samples.
pub const HEADER_BYTES: u64 = 44;

/// A stereo 8 kHz 16-bit WAV file written frame by frame, sizes patched in place.
#[derive(Debug)]
pub struct StereoWavStream<W: Write + Seek> {
    inner: W,
    data_bytes: u64,
}

impl<W: Write + Seek> StereoWavStream<W> {
    /// Writes the header with zero sizes ([`WavWriter`]'s header, closed at once).
    pub fn new(inner: W) -> Result<StereoWavStream<W>, WavError> {
        let inner = WavWriter::new(inner, RECORDING_SPEC)?.finish()?;
        Ok(StereoWavStream {
            inner,
            data_bytes: 0,
        })
    }

    /// Appends one frame as [`Recording::push`] wrote it.
    pub fn write_frame(&mut self, frame: &[u8; STEREO_FRAME_BYTES]) -> Result<(), WavError> {
        let total = self.data_bytes + STEREO_FRAME_BYTES as u64;
        // The RIFF size counts 36 header bytes plus the data, in 32 bits.
        if total + 36 > u64::from(u32::MAX) {
            return Err(WavError::TooLong);
        }
        self.inner.write_all(frame)?;
        self.data_bytes = total;
        Ok(())
    }

    /// Sample bytes written so far.
    pub fn data_bytes(&self) -> u64 {
        self.data_bytes
    }

    /// The file's size: header and samples.
    pub fn file_bytes(&self) -> u64 {
        HEADER_BYTES + self.data_bytes
    }

    /// Writes the current sizes into the header and flushes, so the file read now
    /// holds everything written so far.
    pub fn checkpoint(&mut self) -> Result<(), WavError> {
        let data = self.data_bytes as u32;
        self.inner.seek(SeekFrom::Start(RIFF_SIZE_AT))?;
        self.inner.write_all(&(36 + data).to_le_bytes())?;
        self.inner.seek(SeekFrom::Start(DATA_SIZE_AT))?;
        self.inner.write_all(&data.to_le_bytes())?;
        self.inner.seek(SeekFrom::End(0))?;
        self.inner.flush()?;
        Ok(())
    }

    /// Patches the sizes a last time and gives the writer back.
    pub fn finalize(mut self) -> Result<W, WavError> {
        self.checkpoint()?;
        Ok(self.inner)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::codec::SILENT_FRAME;

    const LEFT: Frame = [1000; FRAME_SAMPLES];
    const RIGHT: Frame = [-2000; FRAME_SAMPLES];

    fn sample(out: &[u8; STEREO_FRAME_BYTES], i: usize) -> (i16, i16) {
        let at = 4 * i;
        (
            i16::from_le_bytes([out[at], out[at + 1]]),
            i16::from_le_bytes([out[at + 2], out[at + 3]]),
        )
    }

    #[test]
    fn frames_are_interleaved_left_then_right() {
        let mut rec = Recording::new();
        let mut left = SILENT_FRAME;
        let mut right = SILENT_FRAME;
        for i in 0..FRAME_SAMPLES {
            left[i] = i as i16;
            right[i] = -(i as i16) - 1;
        }
        let mut out = [0xAA; STEREO_FRAME_BYTES];
        rec.push(&left, &right, &mut out);
        for i in 0..FRAME_SAMPLES {
            assert_eq!(sample(&out, i), (i as i16, -(i as i16) - 1));
        }
        assert_eq!(rec.frames(), 1);
    }

    #[test]
    fn a_pause_writes_silence_and_ends_by_the_frame_count() {
        let t0 = Instant::now();
        let mut rec = Recording::new();
        let mut out = [0; STEREO_FRAME_BYTES];
        let mut silent = Vec::new();
        for i in 0..20 {
            if i == 5 {
                // 50 ms rounds up to 3 frames.
                assert!(rec.pause(t0, Duration::from_millis(50)));
            }
            rec.push(&LEFT, &RIGHT, &mut out);
            silent.push(out.iter().all(|&b| b == 0));
        }
        let expect: Vec<bool> = (0..20).map(|i| (5..8).contains(&i)).collect();
        assert_eq!(silent, expect);
        assert!(!rec.is_paused());
        assert_eq!(
            rec.pauses(),
            [Pause {
                start_ms: 100,
                end_ms: 160
            }]
        );
        let summary = rec.finish();
        assert_eq!((summary.frames, summary.duration_ms), (20, 400));
    }

    #[test]
    fn manual_resume_ends_the_pause_early_and_repause_keeps_its_start() {
        let t0 = Instant::now();
        let mut rec = Recording::new();
        let mut out = [0; STEREO_FRAME_BYTES];
        assert!(!rec.resume(), "nothing to resume");
        rec.push(&LEFT, &RIGHT, &mut out);
        assert!(rec.pause(t0, Duration::from_secs(30)));
        rec.push(&LEFT, &RIGHT, &mut out);
        assert!(!rec.pause(t0, Duration::from_secs(30)), "already paused");
        rec.push(&LEFT, &RIGHT, &mut out);
        assert!(rec.resume());
        rec.push(&LEFT, &RIGHT, &mut out);
        assert_eq!(sample(&out, 0), (1000, -2000));
        assert_eq!(
            rec.pauses(),
            [Pause {
                start_ms: 20,
                end_ms: 60
            }]
        );
    }

    #[test]
    fn a_stalled_pause_ends_by_the_wall_clock_only_after_the_slack() {
        let t0 = Instant::now();
        let mut rec = Recording::new();
        assert_eq!(rec.poll_timeout(), None);
        rec.pause(t0, Duration::from_secs(1));
        let due = t0 + Duration::from_secs(1) + STALL_SLACK;
        assert_eq!(rec.poll_timeout(), Some(due));
        assert!(!rec.handle_timeout(due - Duration::from_millis(1)));
        assert!(rec.is_paused());
        assert!(rec.handle_timeout(due));
        assert!(!rec.is_paused());
        assert_eq!(rec.poll_timeout(), None);
    }

    #[test]
    fn stopping_while_paused_closes_the_pause_at_the_end() {
        let mut rec = Recording::new();
        let mut out = [0; STEREO_FRAME_BYTES];
        rec.push(&LEFT, &RIGHT, &mut out);
        rec.pause(Instant::now(), Duration::from_secs(30));
        rec.push(&LEFT, &RIGHT, &mut out);
        rec.push(&LEFT, &RIGHT, &mut out);
        let s = rec.finish();
        assert_eq!(
            s.pauses,
            [Pause {
                start_ms: 20,
                end_ms: 60
            }]
        );
    }

    #[test]
    fn hound_reads_the_stream_back_with_the_paused_span_silent() {
        let t0 = Instant::now();
        let mut rec = Recording::new();
        let mut wav = StereoWavStream::new(Cursor::new(Vec::new())).unwrap();
        let mut out = [0; STEREO_FRAME_BYTES];
        for i in 0..50 {
            if i == 10 {
                rec.pause(t0, Duration::from_millis(200));
            }
            rec.push(&LEFT, &RIGHT, &mut out);
            wav.write_frame(&out).unwrap();
            if i == 25 {
                // A checkpoint mid-way must leave a readable file and change nothing.
                wav.checkpoint().unwrap();
            }
        }
        assert_eq!(wav.data_bytes(), 50 * STEREO_FRAME_BYTES as u64);
        let bytes = wav.finalize().unwrap().into_inner();
        assert_eq!(bytes.len() as u64, HEADER_BYTES + 50 * 640);

        let reader = hound::WavReader::new(Cursor::new(bytes)).unwrap();
        let spec = reader.spec();
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (2, 8000, 16)
        );
        assert_eq!(spec.sample_format, hound::SampleFormat::Int);
        assert_eq!(reader.duration(), 50 * FRAME_SAMPLES as u32);
        let samples: Vec<i16> = reader.into_samples().map(Result::unwrap).collect();
        for (n, pair) in samples.chunks_exact(2).enumerate() {
            let frame = n / FRAME_SAMPLES;
            let expect = if (10..20).contains(&frame) {
                [0, 0]
            } else {
                [1000, -2000]
            };
            assert_eq!(pair, expect, "sample {n} (frame {frame})");
        }
        assert_eq!(
            rec.finish().pauses,
            [Pause {
                start_ms: 200,
                end_ms: 400
            }]
        );
    }
}
