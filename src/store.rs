//! The embedded SQLite store (`<data_dir>/sotto.db`): registrar bindings and call-detail
//! records, so `sotto serve` keeps state across restarts with no database to set up.
//!
//! The store is off the hot path but is fed from it: the registrar writes at REGISTER
//! rate, call control at every call start and end (5,000 calls/s at full load). So
//! writes never block the caller: [`StoreHandle`] queues them on a channel to one writer
//! thread, which commits everything queued so far in one transaction (a batch), since
//! in SQLite the commit, not the row, is what costs. Reads go to a second connection
//! (WAL mode lets it read while the writer writes), on a blocking thread when called
//! from async code.

use std::path::Path;

use anyhow::{bail, Context};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

mod handle;
pub use handle::{StoreHandle, StoreStats};

/// The database file inside `data_dir`.
pub const DB_FILE: &str = "sotto.db";

/// Most writes committed in one transaction: bounds the transaction's size and how
/// much one failed commit loses.
const MAX_BATCH: usize = 4096;

/// Schema migrations; `PRAGMA user_version` counts those applied. Append, never edit.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE registrations (
        aor TEXT NOT NULL,
        contact_uri TEXT NOT NULL,
        source_addr TEXT NOT NULL,
        transport TEXT NOT NULL,
        expires_at_unix INTEGER NOT NULL,
        call_id TEXT NOT NULL,
        cseq INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (aor, contact_uri)
    );
    CREATE INDEX registrations_expiry ON registrations (expires_at_unix);
    CREATE TABLE calls (
        id TEXT PRIMARY KEY,
        started_at INTEGER NOT NULL,
        answered_at INTEGER,
        ended_at INTEGER,
        from_uri TEXT NOT NULL,
        to_uri TEXT NOT NULL,
        route TEXT NOT NULL,
        end_reason TEXT,
        codec TEXT
    );
    CREATE INDEX calls_started ON calls (started_at);
",
    "
    CREATE TABLE recordings (
        id TEXT PRIMARY KEY,
        call_id TEXT NOT NULL,
        path TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        duration_ms INTEGER NOT NULL DEFAULT 0,
        pauses TEXT NOT NULL DEFAULT '[]',
        bytes INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX recordings_call ON recordings (call_id);
    CREATE INDEX recordings_started ON recordings (started_at);
",
    "
    CREATE TABLE contacts (
        id TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        queue TEXT NOT NULL,
        entry_point TEXT,
        arrived_at INTEGER NOT NULL,
        agent TEXT,
        answered_at INTEGER,
        ended_at INTEGER,
        abandoned INTEGER NOT NULL,
        wrap_up TEXT NOT NULL,
        wrap_up_ms INTEGER,
        wrap_up_timed_out INTEGER NOT NULL,
        offers TEXT NOT NULL
    );
    CREATE INDEX contacts_arrived ON contacts (arrived_at);
    CREATE TABLE agent_states (
        agent TEXT NOT NULL,
        at INTEGER NOT NULL,
        state TEXT NOT NULL
    );
    CREATE INDEX agent_states_agent ON agent_states (agent, at);
",
];

/// A registrar binding (RFC 3261 §10.3). Call-ID and CSeq are kept so a REGISTER
/// arriving out of order (same Call-ID, lower CSeq) can be refused (§10.3 step 7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub aor: String,
    pub contact_uri: String,
    pub source_addr: String,
    pub transport: String,
    pub expires_at_unix: i64,
    pub call_id: String,
    pub cseq: u32,
    pub updated_at: i64,
}

/// A call-detail record. Times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    pub id: String,
    pub started_at: i64,
    pub answered_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub from_uri: String,
    pub to_uri: String,
    pub route: String,
    pub end_reason: Option<String>,
    pub codec: Option<String>,
}

/// A call recording's index entry (`docs/recording.md`). Times are Unix milliseconds;
/// `pauses` is a JSON array of `{"start_ms", "end_ms"}` offsets into the file. A row
/// with no `ended_at` is a recording in progress (or cut short by a crash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingRecord {
    pub id: String,
    pub call_id: String,
    pub path: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub duration_ms: i64,
    pub pauses: String,
    /// The file's size, header included.
    pub bytes: i64,
}

/// A finished contact (`contacts` table): the contact centre's record, with
/// its wrap-up reasons and offers as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRow {
    /// This process's run and the contact (`1764…-k7`).
    pub id: String,
    pub channel: String,
    pub queue: String,
    pub entry_point: Option<String>,
    pub arrived_at: i64,
    pub agent: Option<String>,
    pub answered_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub abandoned: bool,
    /// JSON array of reasons.
    pub wrap_up: String,
    pub wrap_up_ms: Option<i64>,
    pub wrap_up_timed_out: bool,
    /// JSON array of `{agent, at_unix_ms, outcome}`.
    pub offers: String,
}

/// One change to the store, as queued to the writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    UpsertRegistration(Registration),
    DeleteRegistration {
        aor: String,
        contact_uri: String,
    },
    PurgeExpired {
        now_unix: i64,
    },
    InsertCall(CallRecord),
    CallAnswered {
        id: String,
        answered_at: i64,
        codec: Option<String>,
    },
    CallEnded {
        id: String,
        ended_at: i64,
        end_reason: String,
    },
    InsertRecording(RecordingRecord),
    InsertContact(Box<ContactRow>),
    AgentState {
        agent: String,
        at: i64,
        /// JSON of the state (`{"state": "idle", "reason": "lunch"}`).
        state: String,
    },
    RecordingEnded {
        id: String,
        ended_at: i64,
        duration_ms: i64,
        pauses: String,
        bytes: i64,
    },
}

/// One connection to `sotto.db`, used synchronously.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Creates `data_dir` and the database if missing, and brings the schema up to date.
    pub fn open(data_dir: &Path) -> anyhow::Result<Store> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data dir {}", data_dir.display()))?;
        let path = data_dir.join(DB_FILE);
        let mut conn =
            Connection::open(&path).with_context(|| format!("opening store {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // In WAL mode NORMAL survives a process crash; only an OS crash can lose the
        // last commits, which for CDRs and re-registering bindings is acceptable.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn).with_context(|| format!("migrating store {}", path.display()))?;
        Ok(Store { conn })
    }

    fn open_reader(data_dir: &Path) -> anyhow::Result<Store> {
        let path = data_dir.join(DB_FILE);
        let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("opening store {} for reading", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Store { conn })
    }

    /// Applies one change now; returns the number of rows it touched.
    pub fn apply(&mut self, write: &Write) -> anyhow::Result<usize> {
        Ok(execute(&self.conn, write)?)
    }

    /// Applies `writes` in one transaction. A write that fails (say, a duplicate call
    /// id) is logged and skipped, not allowed to lose the rest of the batch.
    /// Returns how many failed.
    pub fn apply_batch<'a>(
        &mut self,
        writes: impl IntoIterator<Item = &'a Write>,
    ) -> anyhow::Result<u64> {
        let tx = self.conn.transaction()?;
        let mut failed = 0;
        for w in writes {
            if let Err(e) = execute(&tx, w) {
                tracing::warn!(error = %e, write = ?w, "store write failed");
                failed += 1;
            }
        }
        tx.commit()?;
        Ok(failed)
    }

    /// Bindings not yet expired at `now_unix`, by AOR.
    pub fn list_registrations(&self, now_unix: i64) -> anyhow::Result<Vec<Registration>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT aor, contact_uri, source_addr, transport, expires_at_unix, call_id, cseq, updated_at
             FROM registrations WHERE expires_at_unix > ?1 ORDER BY aor, contact_uri",
        )?;
        let rows = stmt.query_map([now_unix], |r| {
            Ok(Registration {
                aor: r.get(0)?,
                contact_uri: r.get(1)?,
                source_addr: r.get(2)?,
                transport: r.get(3)?,
                expires_at_unix: r.get(4)?,
                call_id: r.get(5)?,
                cseq: r.get(6)?,
                updated_at: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The `limit` most recently started calls, newest first.
    pub fn list_recent_calls(&self, limit: usize) -> anyhow::Result<Vec<CallRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, started_at, answered_at, ended_at, from_uri, to_uri, route, end_reason, codec
             FROM calls ORDER BY started_at DESC, id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], call_record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn get_call(&self, id: &str) -> anyhow::Result<Option<CallRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, started_at, answered_at, ended_at, from_uri, to_uri, route, end_reason, codec
             FROM calls WHERE id = ?1",
        )?;
        Ok(stmt.query_row([id], call_record).optional()?)
    }

    /// The `limit` most recently started recordings, newest first, of one call or all.
    pub fn list_recordings(
        &self,
        call_id: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Vec<RecordingRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, call_id, path, started_at, ended_at, duration_ms, pauses, bytes
             FROM recordings WHERE ?1 IS NULL OR call_id = ?1
             ORDER BY started_at DESC, id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![call_id, limit as i64], recording_record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn get_recording(&self, id: &str) -> anyhow::Result<Option<RecordingRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, call_id, path, started_at, ended_at, duration_ms, pauses, bytes
             FROM recordings WHERE id = ?1",
        )?;
        Ok(stmt.query_row([id], recording_record).optional()?)
    }

    /// Finished contacts, newest first.
    pub fn list_contacts(&self, limit: usize) -> anyhow::Result<Vec<ContactRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, channel, queue, entry_point, arrived_at, agent, answered_at, ended_at,
                    abandoned, wrap_up, wrap_up_ms, wrap_up_timed_out, offers
             FROM contacts ORDER BY arrived_at DESC, id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(ContactRow {
                id: r.get(0)?,
                channel: r.get(1)?,
                queue: r.get(2)?,
                entry_point: r.get(3)?,
                arrived_at: r.get(4)?,
                agent: r.get(5)?,
                answered_at: r.get(6)?,
                ended_at: r.get(7)?,
                abandoned: r.get(8)?,
                wrap_up: r.get(9)?,
                wrap_up_ms: r.get(10)?,
                wrap_up_timed_out: r.get(11)?,
                offers: r.get(12)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// An agent's state changes, oldest first: (Unix ms, state as JSON).
    pub fn agent_states(&self, agent: &str) -> anyhow::Result<Vec<(i64, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT at, state FROM agent_states WHERE agent = ?1 ORDER BY at, rowid",
        )?;
        let rows = stmt.query_map([agent], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn count_calls(&self) -> anyhow::Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM calls", [], |r| r.get(0))?)
    }
}

fn call_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<CallRecord> {
    Ok(CallRecord {
        id: r.get(0)?,
        started_at: r.get(1)?,
        answered_at: r.get(2)?,
        ended_at: r.get(3)?,
        from_uri: r.get(4)?,
        to_uri: r.get(5)?,
        route: r.get(6)?,
        end_reason: r.get(7)?,
        codec: r.get(8)?,
    })
}

fn recording_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<RecordingRecord> {
    Ok(RecordingRecord {
        id: r.get(0)?,
        call_id: r.get(1)?,
        path: r.get(2)?,
        started_at: r.get(3)?,
        ended_at: r.get(4)?,
        duration_ms: r.get(5)?,
        pauses: r.get(6)?,
        bytes: r.get(7)?,
    })
}

fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > MIGRATIONS.len() {
        bail!(
            "schema version {version} is newer than this sotto knows ({}); refusing to touch it",
            MIGRATIONS.len()
        );
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

fn execute(conn: &Connection, write: &Write) -> rusqlite::Result<usize> {
    match write {
        Write::UpsertRegistration(r) => conn
            .prepare_cached(
                "INSERT INTO registrations VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (aor, contact_uri) DO UPDATE SET source_addr = excluded.source_addr,
                   transport = excluded.transport, expires_at_unix = excluded.expires_at_unix,
                   call_id = excluded.call_id, cseq = excluded.cseq, updated_at = excluded.updated_at",
            )?
            .execute(params![
                r.aor, r.contact_uri, r.source_addr, r.transport, r.expires_at_unix, r.call_id, r.cseq,
                r.updated_at
            ]),
        Write::DeleteRegistration { aor, contact_uri } => conn
            .prepare_cached("DELETE FROM registrations WHERE aor = ?1 AND contact_uri = ?2")?
            .execute([aor, contact_uri]),
        Write::PurgeExpired { now_unix } => conn
            .prepare_cached("DELETE FROM registrations WHERE expires_at_unix <= ?1")?
            .execute([now_unix]),
        Write::InsertCall(c) => conn
            .prepare_cached("INSERT INTO calls VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?
            .execute(params![
                c.id, c.started_at, c.answered_at, c.ended_at, c.from_uri, c.to_uri, c.route,
                c.end_reason, c.codec
            ]),
        Write::CallAnswered { id, answered_at, codec } => conn
            .prepare_cached("UPDATE calls SET answered_at = ?2, codec = COALESCE(?3, codec) WHERE id = ?1")?
            .execute(params![id, answered_at, codec]),
        Write::CallEnded { id, ended_at, end_reason } => conn
            .prepare_cached("UPDATE calls SET ended_at = ?2, end_reason = ?3 WHERE id = ?1")?
            .execute(params![id, ended_at, end_reason]),
        Write::InsertRecording(r) => conn
            .prepare_cached("INSERT INTO recordings VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?
            .execute(params![
                r.id, r.call_id, r.path, r.started_at, r.ended_at, r.duration_ms, r.pauses, r.bytes
            ]),
        Write::InsertContact(c) => conn
            .prepare_cached(
                "INSERT INTO contacts VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?
            .execute(params![
                c.id, c.channel, c.queue, c.entry_point, c.arrived_at, c.agent, c.answered_at,
                c.ended_at, c.abandoned, c.wrap_up, c.wrap_up_ms, c.wrap_up_timed_out, c.offers
            ]),
        Write::AgentState { agent, at, state } => conn
            .prepare_cached("INSERT INTO agent_states VALUES (?1, ?2, ?3)")?
            .execute(params![agent, at, state]),
        Write::RecordingEnded { id, ended_at, duration_ms, pauses, bytes } => conn
            .prepare_cached(
                "UPDATE recordings SET ended_at = ?2, duration_ms = ?3, pauses = ?4, bytes = ?5
                 WHERE id = ?1",
            )?
            .execute(params![id, ended_at, duration_ms, pauses, bytes]),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(super) fn binding(aor: &str, contact: &str, expires_at_unix: i64) -> Registration {
        Registration {
            aor: aor.into(),
            contact_uri: contact.into(),
            source_addr: "127.0.0.1:5062".into(),
            transport: "udp".into(),
            expires_at_unix,
            call_id: "reg-1".into(),
            cseq: 1,
            updated_at: expires_at_unix - 3600,
        }
    }

    pub(super) fn call(id: &str, started_at: i64) -> CallRecord {
        CallRecord {
            id: id.into(),
            started_at,
            answered_at: None,
            ended_at: None,
            from_uri: "sip:customer@example.com".into(),
            to_uri: "sip:echo@127.0.0.1".into(),
            route: "echo".into(),
            end_reason: None,
            codec: None,
        }
    }

    #[test]
    fn registrations_expire_and_upsert_replaces_a_binding() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let aor = "sip:agent1@127.0.0.1";
        store
            .apply(&Write::UpsertRegistration(binding(
                aor,
                "sip:a@10.0.0.5",
                1_000,
            )))
            .unwrap();
        store
            .apply(&Write::UpsertRegistration(binding(
                aor,
                "sip:a@10.0.0.6",
                2_000,
            )))
            .unwrap();
        let mut refreshed = binding(aor, "sip:a@10.0.0.5", 1_500);
        refreshed.cseq = 2;
        store
            .apply(&Write::UpsertRegistration(refreshed.clone()))
            .unwrap();

        let listed = store.list_registrations(999).unwrap();
        assert_eq!(listed.len(), 2, "one row per (aor, contact)");
        assert_eq!(listed[0], refreshed);
        // A binding is gone at its expiry second (RFC 3261 §10.3: expires counts down to 0).
        assert_eq!(store.list_registrations(1_500).unwrap().len(), 1);
        assert_eq!(
            store
                .apply(&Write::PurgeExpired { now_unix: 1_500 })
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .apply(&Write::PurgeExpired { now_unix: 1_500 })
                .unwrap(),
            0
        );

        let delete = Write::DeleteRegistration {
            aor: aor.into(),
            contact_uri: "sip:a@10.0.0.6".into(),
        };
        assert_eq!(store.apply(&delete).unwrap(), 1);
        assert!(store.list_registrations(0).unwrap().is_empty());
    }

    #[test]
    fn a_failed_write_does_not_lose_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let batch = [
            Write::InsertCall(call("dup", 1)),
            Write::InsertCall(call("dup", 2)),
            Write::InsertCall(call("other", 3)),
        ];
        assert_eq!(store.apply_batch(&batch).unwrap(), 1);
        assert_eq!(store.count_calls().unwrap(), 2);
        assert_eq!(store.get_call("dup").unwrap().unwrap().started_at, 1);
    }

    #[test]
    fn recordings_list_newest_first_filter_by_call_and_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let rec = |id: &str, call_id: &str, started_at| RecordingRecord {
            id: id.into(),
            call_id: call_id.into(),
            path: format!("/data/recordings/{id}.wav"),
            started_at,
            ended_at: None,
            duration_ms: 0,
            pauses: "[]".into(),
            bytes: 44,
        };
        for r in [
            rec("r1", "c1", 10),
            rec("r2", "c2", 20),
            rec("r3", "c1", 30),
        ] {
            store.apply(&Write::InsertRecording(r)).unwrap();
        }
        let ended = Write::RecordingEnded {
            id: "r1".into(),
            ended_at: 70,
            duration_ms: 60,
            pauses: r#"[{"start_ms":20,"end_ms":40}]"#.into(),
            bytes: 44 + 1920,
        };
        assert_eq!(store.apply(&ended).unwrap(), 1);

        let ids = |v: Vec<RecordingRecord>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.list_recordings(None, 10).unwrap()),
            ["r3", "r2", "r1"]
        );
        assert_eq!(
            ids(store.list_recordings(Some("c1"), 10).unwrap()),
            ["r3", "r1"]
        );
        assert_eq!(ids(store.list_recordings(None, 1).unwrap()), ["r3"]);
        let r1 = store.get_recording("r1").unwrap().unwrap();
        assert_eq!(
            (r1.ended_at, r1.duration_ms, r1.bytes),
            (Some(70), 60, 1964)
        );
        assert!(r1.pauses.contains("start_ms"));
        assert!(store.get_recording("nope").unwrap().is_none());
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.conn.pragma_update(None, "user_version", 99).unwrap();
        drop(store);
        let err = Store::open(dir.path()).err().unwrap();
        assert!(format!("{err:#}").contains("schema version 99"), "{err:#}");
    }

    #[test]
    fn contacts_and_agent_states_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let row = ContactRow {
            id: "1-k1".into(),
            channel: "voice".into(),
            queue: "support".into(),
            entry_point: Some("support".into()),
            arrived_at: 1_000,
            agent: Some("agent1".into()),
            answered_at: Some(2_000),
            ended_at: Some(9_000),
            abandoned: false,
            wrap_up: r#"["resolved"]"#.into(),
            wrap_up_ms: Some(4_000),
            wrap_up_timed_out: false,
            offers: "[]".into(),
        };
        store
            .apply(&Write::InsertContact(Box::new(row.clone())))
            .unwrap();
        for (at, state) in [(1_500, "reserved"), (2_000, "busy")] {
            let w = Write::AgentState {
                agent: "agent1".into(),
                at,
                state: format!(r#"{{"state":"{state}"}}"#),
            };
            store.apply(&w).unwrap();
        }
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.list_contacts(10).unwrap(), [row]);
        let states = store.agent_states("agent1").unwrap();
        assert_eq!(states.len(), 2);
        assert_eq!(states[1], (2_000, r#"{"state":"busy"}"#.to_string()));
    }
}
