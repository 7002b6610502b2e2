//! Call recording (`docs/recording.md`): one stereo WAV per call, customer left and
//! agents right, in `<data_dir>/recordings/`, indexed in the store and served by
//! the API (`/v1/recordings`).
//!
//! The media worker never blocks and never touches a file: each recorded call's room
//! pushes one `(left, right)` [`FramePair`] every 20 ms into a [`ring`] (`try_push`,
//! counting what it drops). Everything else happens on one writer thread shared by all
//! recordings, started by [`Recorder::spawn`]: every [`TICK`] it drains each active
//! ring into a buffered file through [`sotto_media::recorder::Recording`] (which writes
//! silence while paused), so 400 concurrent calls cost one thread and about 4,000
//! small buffered writes a second, not 400 threads.
//!
//! Control goes through a [`RecorderHandle`] (pause, resume, stop) as commands to the
//! writer. A command first drains its recording's ring, so frames the room produced
//! before the command are written under the old state. The frame count, not the
//! writer's clock, decides where a pause ends in the file (see the media crate's
//! `recorder` docs), so the file's pauses are exact to the frame.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use ringbuf::traits::Split;
use ringbuf::{HeapCons, HeapProd, HeapRb};
use sotto_media::codec::Frame;

use crate::config::RecordingConfig;
use crate::store::{RecordingRecord, StoreHandle};

mod writer;

#[cfg(test)]
mod tests;

/// One 20 ms of a call: the customer (left channel) and the agents (right channel).
pub type FramePair = (Frame, Frame);

/// Frames a recording's ring holds: 2 s, twenty times the writer's [`TICK`], so a
/// writer held up by a slow disk for up to 2 s loses nothing.
pub const RING_FRAMES: usize = 100;

/// How often the writer drains every ring.
pub const TICK: Duration = Duration::from_millis(100);

/// How often each file's header sizes are patched and its buffer flushed: a crash
/// loses at most this much of a recording.
pub const CHECKPOINT: Duration = Duration::from_secs(1);

/// The directory recordings go to, inside the data directory.
pub const RECORDINGS_DIR: &str = "recordings";

/// A recording's ring: the producer goes to the media worker, the consumer to
/// [`Recorder::start`].
pub fn ring() -> (HeapProd<FramePair>, HeapCons<FramePair>) {
    HeapRb::<FramePair>::new(RING_FRAMES).split()
}

pub use crate::view::PauseSpan;

/// What the writer reports back about one recording, read by its handle.
#[derive(Debug, Default)]
struct Status {
    /// The recording's id, once its file is open.
    id: OnceLock<String>,
    frames: AtomicU64,
    paused: AtomicBool,
    /// The file could not be opened or written: the recording has ended.
    failed: AtomicBool,
}

/// The result of [`RecorderHandle::stop`]: the store row as written.
pub type Stopped = tokio::sync::oneshot::Receiver<anyhow::Result<RecordingRecord>>;

enum Command {
    Start {
        key: u64,
        call_id: String,
        consumer: HeapCons<FramePair>,
        status: Arc<Status>,
    },
    Pause {
        key: u64,
        at: Instant,
        auto_resume_after: Duration,
    },
    Resume {
        key: u64,
    },
    Stop {
        key: u64,
        done: Option<tokio::sync::oneshot::Sender<anyhow::Result<RecordingRecord>>>,
    },
    /// The [`Recorder`] is gone: finish every recording and exit.
    Shutdown,
}

struct Inner {
    tx: mpsc::Sender<Command>,
    config: RecordingConfig,
    next_key: AtomicU64,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.tx.send(Command::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The recording service: one writer thread for every recording. Cloning shares it;
/// dropping the last clone finishes the recordings in progress and joins the thread.
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

impl Recorder {
    /// Creates `<data_dir>/recordings` and starts the writer thread. Blocking: call it
    /// at startup.
    pub fn spawn(
        data_dir: &Path,
        store: StoreHandle,
        config: RecordingConfig,
    ) -> anyhow::Result<Recorder> {
        let dir: PathBuf = data_dir.join(RECORDINGS_DIR);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating recordings dir {}", dir.display()))?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sotto-recorder".into())
            .spawn(move || writer::Writer::new(dir, store).run(&rx))
            .context("starting the recording writer thread")?;
        Ok(Recorder {
            inner: Arc::new(Inner {
                tx,
                config,
                next_key: AtomicU64::new(1),
                thread: Some(thread),
            }),
        })
    }

    /// Starts recording `call_id` from the frames `consumer` receives. Never blocks:
    /// the file is opened on the writer thread (a failure is logged and shows in
    /// [`RecorderHandle::failed`]).
    pub fn start(&self, call_id: &str, consumer: HeapCons<FramePair>) -> RecorderHandle {
        let key = self.inner.next_key.fetch_add(1, Ordering::Relaxed);
        let status = Arc::new(Status::default());
        let sent = self.inner.tx.send(Command::Start {
            key,
            call_id: call_id.to_owned(),
            consumer,
            status: status.clone(),
        });
        if sent.is_err() {
            status.failed.store(true, Ordering::Relaxed);
        }
        RecorderHandle {
            key,
            tx: self.inner.tx.clone(),
            status,
            config: self.inner.config.clone(),
            stopped: false,
        }
    }

    /// The pause rules this recorder applies.
    pub fn config(&self) -> &RecordingConfig {
        &self.inner.config
    }
}

/// Controls one recording. Dropping it without [`RecorderHandle::stop`] stops the
/// recording all the same (the file is finalized and indexed).
pub struct RecorderHandle {
    key: u64,
    tx: mpsc::Sender<Command>,
    status: Arc<Status>,
    config: RecordingConfig,
    stopped: bool,
}

impl RecorderHandle {
    /// Pauses: silence is written from the next frame until `auto_resume_after` of
    /// call has passed (capped at `recording.pause_max_seconds`) or [`Self::resume`].
    pub fn pause(&self, auto_resume_after: Duration) {
        let auto_resume_after = self.config.pause_duration(Some(auto_resume_after));
        let _ = self.tx.send(Command::Pause {
            key: self.key,
            at: Instant::now(),
            auto_resume_after,
        });
    }

    /// Pauses for the configured `recording.auto_resume_seconds`.
    pub fn pause_default(&self) {
        self.pause(self.config.pause_duration(None));
    }

    /// Resumes before the pause's time is up.
    pub fn resume(&self) {
        let _ = self.tx.send(Command::Resume { key: self.key });
    }

    /// Stops: the ring is drained, the file finalized and the store row completed.
    /// The receiver gets that row (or why it failed); dropping it is fine.
    pub fn stop(mut self) -> Stopped {
        self.stopped = true;
        let (done, stopped) = tokio::sync::oneshot::channel();
        let sent = self.tx.send(Command::Stop {
            key: self.key,
            done: Some(done),
        });
        if let Err(mpsc::SendError(Command::Stop {
            done: Some(done), ..
        })) = sent
        {
            let _ = done.send(Err(anyhow::anyhow!("the recorder has shut down")));
        }
        stopped
    }

    /// The recording's id (its file name without `.wav`), once the file is open.
    pub fn id(&self) -> Option<&str> {
        self.status.id.get().map(String::as_str)
    }

    /// Frames written to the file so far (20 ms each), as of the writer's last drain.
    pub fn frames_written(&self) -> u64 {
        self.status.frames.load(Ordering::Acquire)
    }

    /// Whether the recording is paused, as of the writer's last drain.
    pub fn is_paused(&self) -> bool {
        self.status.paused.load(Ordering::Acquire)
    }

    /// Whether the file could not be opened or written (the recording has ended).
    pub fn failed(&self) -> bool {
        self.status.failed.load(Ordering::Acquire)
    }
}

impl Drop for RecorderHandle {
    fn drop(&mut self) {
        if !self.stopped {
            let _ = self.tx.send(Command::Stop {
                key: self.key,
                done: None,
            });
        }
    }
}

/// Milliseconds since the Unix epoch, as the store keeps times.
fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A file name stem from a call id: Call-IDs may hold `/`, `\` or `..` (RFC 3261
/// §25.1 `word`), which must never reach a path. Keeps `[A-Za-z0-9._@-]`, replaces the
/// rest with `_`, never starts with `.`, and stays short.
fn file_stem(call_id: &str) -> String {
    let mut stem: String = call_id
        .chars()
        .take(96)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.starts_with('.') {
        stem.replace_range(0..1, "_");
    }
    if stem.is_empty() {
        stem.push_str("call");
    }
    stem
}
