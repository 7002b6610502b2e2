//! The recording writer thread: drains every active ring each [`TICK`] into its
//! buffered file, applies pause/resume/stop commands in between, patches each file's
//! header every [`CHECKPOINT`], and indexes recordings in the store.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::Instant;

use anyhow::Context;
use ringbuf::traits::Consumer;
use ringbuf::HeapCons;
use sotto_media::recorder::{Recording, StereoWavStream, STEREO_FRAME_BYTES};
use sotto_media::WavError;

use super::{file_stem, unix_ms, Command, FramePair, PauseSpan, Status, CHECKPOINT, TICK};
use crate::store::{RecordingRecord, StoreHandle};

/// Buffer per file: about a second of stereo audio, so a file sees roughly one write
/// a second (at its checkpoint) rather than one per tick.
const FILE_BUFFER: usize = 32 * 1024;

/// One recording in progress.
struct Active {
    row: RecordingRecord,
    consumer: HeapCons<FramePair>,
    timeline: Recording,
    wav: StereoWavStream<BufWriter<File>>,
    status: Arc<Status>,
}

impl Active {
    /// Writes every frame waiting in the ring.
    fn drain(&mut self, buf: &mut [u8; STEREO_FRAME_BYTES]) -> Result<(), WavError> {
        while let Some((left, right)) = self.consumer.try_pop() {
            self.timeline.push(&left, &right, buf);
            self.wav.write_frame(buf)?;
        }
        self.publish();
        Ok(())
    }

    fn publish(&self) {
        let s = &self.status;
        s.frames.store(self.timeline.frames(), Ordering::Release);
        s.paused.store(self.timeline.is_paused(), Ordering::Release);
    }
}

pub(super) struct Writer {
    dir: PathBuf,
    store: StoreHandle,
    active: HashMap<u64, Active>,
    buf: [u8; STEREO_FRAME_BYTES],
}

impl Writer {
    pub(super) fn new(dir: PathBuf, store: StoreHandle) -> Writer {
        Writer {
            dir,
            store,
            active: HashMap::new(),
            buf: [0; STEREO_FRAME_BYTES],
        }
    }

    /// Runs until the [`super::Recorder`] shuts down (or every sender is gone), then
    /// finishes what is still recording.
    pub(super) fn run(mut self, rx: &mpsc::Receiver<Command>) {
        let mut next_tick = Instant::now() + TICK;
        let mut next_checkpoint = Instant::now() + CHECKPOINT;
        loop {
            let now = Instant::now();
            if now >= next_tick {
                let checkpoint = now >= next_checkpoint;
                if checkpoint {
                    next_checkpoint = now + CHECKPOINT;
                }
                self.tick(now, checkpoint);
                next_tick = now + TICK;
            }
            match rx.recv_timeout(next_tick.saturating_duration_since(now)) {
                Ok(Command::Shutdown) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Ok(cmd) => self.handle(cmd),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
        let keys: Vec<u64> = self.active.keys().copied().collect();
        for key in keys {
            let _ = self.finish(key);
        }
    }

    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Start {
                key,
                call_id,
                consumer,
                status,
            } => match self.open(&call_id, consumer, status.clone()) {
                Ok(active) => {
                    let _ = status.id.set(active.row.id.clone());
                    tracing::info!(call_id, path = %active.row.path, "recording started");
                    self.store.record_recording_start(active.row.clone());
                    self.active.insert(key, active);
                }
                Err(e) => {
                    status.failed.store(true, Ordering::Release);
                    tracing::error!(call_id, error = %format!("{e:#}"), "recording not started");
                }
            },
            Command::Pause {
                key,
                at,
                auto_resume_after,
            } => self.with(key, |a| {
                a.timeline.pause(at, auto_resume_after);
            }),
            Command::Resume { key } => self.with(key, |a| {
                a.timeline.resume();
            }),
            Command::Stop { key, done } => {
                let result = self.finish(key);
                if let Some(done) = done {
                    let _ = done.send(result);
                }
            }
            Command::Shutdown => {}
        }
    }

    /// Drains `key`'s ring (frames from before the command keep the old state), then
    /// applies `f`.
    fn with(&mut self, key: u64, f: impl FnOnce(&mut Active)) {
        let Some(a) = self.active.get_mut(&key) else {
            return;
        };
        if let Err(e) = a.drain(&mut self.buf) {
            self.fail(key, &e);
            return;
        }
        f(a);
        a.publish();
    }

    fn tick(&mut self, now: Instant, checkpoint: bool) {
        let mut failed = Vec::new();
        for (&key, a) in &mut self.active {
            let mut result = a.drain(&mut self.buf);
            if result.is_ok() {
                if a.timeline.handle_timeout(now) {
                    tracing::warn!(id = a.row.id, "no frames: pause ended by the wall clock");
                    a.publish();
                }
                if checkpoint {
                    result = a.wav.checkpoint();
                }
            }
            if let Err(e) = result {
                failed.push((key, e));
            }
        }
        for (key, e) in failed {
            self.fail(key, &e);
        }
    }

    fn fail(&mut self, key: u64, e: &WavError) {
        if let Some(a) = self.active.get(&key) {
            tracing::error!(id = a.row.id, error = %e, "recording failed; ending it");
            a.status.failed.store(true, Ordering::Release);
        }
        let _ = self.finish(key);
    }

    /// Creates `<dir>/<stem>.wav` (or `<stem>-2.wav`, ... if taken: one file per call,
    /// never overwritten) with its header.
    fn open(
        &self,
        call_id: &str,
        consumer: HeapCons<FramePair>,
        status: Arc<Status>,
    ) -> anyhow::Result<Active> {
        let stem = file_stem(call_id);
        let mut n = 1;
        let (id, path, file) = loop {
            let id = if n == 1 {
                stem.clone()
            } else {
                format!("{stem}-{n}")
            };
            let path = self.dir.join(format!("{id}.wav"));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => break (id, path, file),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
        };
        let wav = StereoWavStream::new(BufWriter::with_capacity(FILE_BUFFER, file))
            .with_context(|| format!("writing the header of {}", path.display()))?;
        Ok(Active {
            row: RecordingRecord {
                id,
                call_id: call_id.to_owned(),
                path: path.display().to_string(),
                started_at: unix_ms(),
                ended_at: None,
                duration_ms: 0,
                pauses: "[]".into(),
                bytes: wav.file_bytes() as i64,
            },
            consumer,
            timeline: Recording::new(),
            wav,
            status,
        })
    }

    /// Drains, finalizes the file and completes the store row (even if the file
    /// failed: the row then says how much was written).
    fn finish(&mut self, key: u64) -> anyhow::Result<RecordingRecord> {
        let mut a = self
            .active
            .remove(&key)
            .context("no such recording (already stopped, or never started)")?;
        let drained = a.drain(&mut self.buf);
        a.publish();
        let bytes = a.wav.file_bytes();
        let finalized = a
            .wav
            .finalize()
            .map_err(anyhow::Error::from)
            .and_then(|w| w.into_inner().map_err(|e| e.into_error().into()));
        let summary = a.timeline.finish();
        let pauses: Vec<PauseSpan> = summary
            .pauses
            .iter()
            .map(|p| PauseSpan {
                start_ms: p.start_ms,
                end_ms: p.end_ms,
            })
            .collect();
        let mut row = a.row;
        row.ended_at = Some(unix_ms());
        row.duration_ms = summary.duration_ms as i64;
        row.pauses = serde_json::to_string(&pauses).unwrap_or_else(|_| "[]".into());
        row.bytes = bytes as i64;
        self.store.record_recording_end(&row);
        tracing::info!(
            id = row.id,
            duration_ms = row.duration_ms,
            pauses = pauses.len(),
            "recording stopped"
        );
        drained.context("writing the last frames")?;
        finalized.with_context(|| format!("finalizing {}", row.path))?;
        Ok(row)
    }
}
