//! [`StoreHandle`]: the store as the running edge uses it. Writes are queued to one
//! writer thread that commits whatever has piled up as one transaction; reads use a
//! second connection (WAL lets it read while the writer writes).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::Context;

use super::{CallRecord, RecordingRecord, Registration, Store, Write, MAX_BATCH};

enum Msg {
    Write(Write),
    /// Answered once every message queued before it is committed.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Counters of the writer thread, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Writes queued and not yet committed.
    pub queued: u64,
    /// Transactions committed.
    pub batches: u64,
    /// Writes committed.
    pub written: u64,
    /// Writes that failed (logged) or were lost with a failed commit.
    pub failed: u64,
}

#[derive(Default)]
struct Counters {
    queued: AtomicU64,
    batches: AtomicU64,
    written: AtomicU64,
    failed: AtomicU64,
}

/// Joins the writer when the last handle goes, so queued writes reach the disk.
struct WriterGuard(Option<JoinHandle<()>>);

impl Drop for WriterGuard {
    fn drop(&mut self) {
        if let Some(thread) = self.0.take() {
            let _ = thread.join();
        }
    }
}

/// The store as used by the running edge: writes queue without blocking, reads run
/// on their own connection. Cloning shares the writer. Dropping the last clone waits
/// for the queued writes to commit.
#[derive(Clone)]
pub struct StoreHandle {
    // Field order matters: the sender must drop before the guard joins the writer.
    tx: mpsc::Sender<Msg>,
    reader: Arc<Mutex<Store>>,
    counters: Arc<Counters>,
    _writer: Arc<WriterGuard>,
}

impl StoreHandle {
    /// Opens (creating if needed) `<data_dir>/sotto.db` and starts the writer thread.
    /// Blocking (file creation, migrations): call it at startup, before serving.
    pub fn open(data_dir: &Path) -> anyhow::Result<StoreHandle> {
        let mut writer = Store::open(data_dir)?;
        let reader = Store::open_reader(data_dir)?;
        let (tx, rx) = mpsc::channel();
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        let thread = std::thread::Builder::new()
            .name("sotto-store".into())
            .spawn(move || run_writer(&mut writer, &rx, &c))
            .context("starting the store writer thread")?;
        Ok(StoreHandle {
            tx,
            reader: Arc::new(Mutex::new(reader)),
            counters,
            _writer: Arc::new(WriterGuard(Some(thread))),
        })
    }

    /// Queues a write; never blocks. Errors are logged and counted, not returned:
    /// the caller (a SIP transaction) has nothing better to do with them.
    pub fn write(&self, write: Write) {
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(Msg::Write(write)).is_err() {
            self.counters.queued.fetch_sub(1, Ordering::Relaxed);
            self.counters.failed.fetch_add(1, Ordering::Relaxed);
            tracing::error!("store writer is gone; write dropped");
        }
    }

    pub fn upsert_registration(&self, r: Registration) {
        self.write(Write::UpsertRegistration(r));
    }

    pub fn record_call_start(&self, c: CallRecord) {
        self.write(Write::InsertCall(c));
    }

    pub fn record_call_end(&self, id: String, ended_at: i64, end_reason: String) {
        self.write(Write::CallEnded {
            id,
            ended_at,
            end_reason,
        });
    }

    /// Indexes a recording as it starts (no `ended_at` yet).
    pub fn record_recording_start(&self, r: RecordingRecord) {
        self.write(Write::InsertRecording(r));
    }

    /// Completes a recording's row once its file is finalized.
    pub fn record_recording_end(&self, r: &RecordingRecord) {
        self.write(Write::RecordingEnded {
            id: r.id.clone(),
            ended_at: r.ended_at.unwrap_or(r.started_at),
            duration_ms: r.duration_ms,
            pauses: r.pauses.clone(),
            bytes: r.bytes,
        });
    }

    /// Waits until every write queued before this call is committed.
    pub async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.tx.send(Msg::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// Runs `f` on the read connection, on a blocking thread so the runtime is not held.
    pub async fn read<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> anyhow::Result<T> + Send + 'static,
    {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || f(&reader.lock().unwrap_or_else(|p| p.into_inner())))
            .await
            .context("store read task")?
    }

    /// Runs `f` on the read connection on this thread: for synchronous callers only.
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&Store) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        f(&self.reader.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn stats(&self) -> StoreStats {
        let c = &self.counters;
        StoreStats {
            queued: c.queued.load(Ordering::Relaxed),
            batches: c.batches.load(Ordering::Relaxed),
            written: c.written.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
        }
    }
}

/// The writer: block for one message, take whatever else is already queued (up to
/// [`MAX_BATCH`]), commit it as one transaction, then answer the flushes in it.
fn run_writer(store: &mut Store, rx: &mpsc::Receiver<Msg>, counters: &Counters) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut flushes = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(msg) = next {
            match msg {
                Msg::Write(w) => batch.push(w),
                Msg::Flush(done) => flushes.push(done),
            }
            next = if batch.len() < MAX_BATCH {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        if !batch.is_empty() {
            let n = batch.len() as u64;
            let failed = store.apply_batch(&batch).unwrap_or_else(|e| {
                tracing::error!(error = %e, writes = n, "store batch commit failed");
                n
            });
            counters.batches.fetch_add(1, Ordering::Relaxed);
            counters.written.fetch_add(n - failed, Ordering::Relaxed);
            counters.failed.fetch_add(failed, Ordering::Relaxed);
            counters.queued.fetch_sub(n, Ordering::Relaxed);
            batch.clear();
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{binding, call};

    #[tokio::test]
    async fn state_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("nested/data");
        {
            let store = StoreHandle::open(&data).unwrap();
            store.upsert_registration(binding(
                "sip:agent1@127.0.0.1",
                "sip:agent1@10.0.0.5:5062",
                5000,
            ));
            store.record_call_start(call("c1", 1_000));
            store.write(Write::CallAnswered {
                id: "c1".into(),
                answered_at: 2_000,
                codec: Some("PCMU".into()),
            });
            store.record_call_end("c1".into(), 9_000, "caller_bye".into());
            // Dropping the last handle commits what is queued.
        }
        let store = Store::open(&data).unwrap();
        let mode: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let regs = store.list_registrations(4000).unwrap();
        assert_eq!(
            regs,
            [binding(
                "sip:agent1@127.0.0.1",
                "sip:agent1@10.0.0.5:5062",
                5000
            )]
        );
        let c1 = store.get_call("c1").unwrap().unwrap();
        assert_eq!((c1.answered_at, c1.ended_at), (Some(2_000), Some(9_000)));
        assert_eq!(
            (c1.codec.as_deref(), c1.end_reason.as_deref()),
            (Some("PCMU"), Some("caller_bye"))
        );
    }

    #[tokio::test]
    async fn ten_thousand_cdrs_commit_in_batches() {
        let dir = tempfile::tempdir().unwrap();
        let store = StoreHandle::open(dir.path()).unwrap();
        for i in 0..10_000i64 {
            store.record_call_start(call(&format!("call-{i:05}"), i));
            store.record_call_end(format!("call-{i:05}"), i + 60_000, "callee_bye".into());
        }
        store.flush().await;

        let stats = store.stats();
        assert_eq!((stats.written, stats.failed, stats.queued), (20_000, 0, 0));
        // Enqueueing is far cheaper than a commit, so writes pile up between commits;
        // one transaction per write would mean 20,000 batches.
        assert!(stats.batches < 20_000, "{stats:?}");

        let (count, recent) = store
            .read(|s| Ok((s.count_calls()?, s.list_recent_calls(3)?)))
            .await
            .unwrap();
        assert_eq!(count, 10_000);
        let ids: Vec<_> = recent.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["call-09999", "call-09998", "call-09997"]);
        assert_eq!(recent[0].ended_at, Some(9_999 + 60_000));
    }
}
