//! Embedded SQLite backend (WAL, `synchronous=FULL`).
//!
//! One writer thread owns the connection. Jobs queued while a transaction
//! commits are run together in the next transaction (group commit): one
//! fsync acknowledges many messages, which is what makes durable acks cheap.
//! Each job runs inside its own savepoint, so one failing job cannot leave a
//! half-written message behind; acks, which are most of the jobs (one per
//! recipient of every message) and leave nothing half-written whatever
//! fails, run without one, and the messages they free are dropped once per
//! batch. Replies are sent only after COMMIT returns.
//!
//! The writer never checkpoints the WAL itself: SQLite's automatic
//! checkpoint runs inside the COMMIT that crosses its threshold, copying
//! the WAL into the database file and fsyncing it there, so every message
//! of that batch, and every batch queued behind it, waited for it. A
//! thread of its own, on its own connection, runs passive checkpoints
//! (they never block the writer) at most every [`CHECKPOINT_EVERY`] while
//! commits come in.
//!
//! Passive checkpoints alone never let the WAL start over under sustained
//! load: SQLite restarts the WAL only in a write transaction that begins
//! with every frame already in the database file, and a checkpointer on
//! another thread never catches up with a writer committing a thousand
//! times a second. The WAL grew without bound (300 MB in one 25-second
//! benchmark run), and every commit extended the file, so its sync wrote
//! the inode and allocated blocks too. Once the checkpointer finds the
//! WAL past [`WAL_RESTART_FRAMES`], the writer, between two batches and
//! after replying to the first, runs a passive checkpoint itself: it copies
//! only the frames the checkpointer has not yet (a few ms), and its next
//! transaction starts the WAL over, writing over the old frames in place.
//! A file that no longer grows is what makes `fdatasync` (the build sets
//! `HAVE_FDATASYNC`, `.cargo/config.toml`) cheaper than `fsync`: it skips
//! the inode, whose only change is then its modification time.

use std::{
    collections::HashMap,
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc::{self, Receiver, Sender},
    },
};

use futures_util::future::BoxFuture;
use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::oneshot;

use super::{
    backup_allowed, split_full, BackupRow, Blob, ChainHead, DeviceRecord, MailboxDepths,
    MailboxLimits, MessageId, NewMessage, NewRevocation, Published, RevokedEntry, Store,
    StoredMessage, Subscribed, TargetKind, DEPTHS, SCHEMA_VERSION, TOPIC_PARTIES,
};
use crate::{Error, Result};

/// Most jobs folded into one transaction.
const MAX_BATCH: usize = 4096;

/// Least time between two background checkpoints while commits come in.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// WAL length, in frames (pages), past which the writer catches the
/// checkpoint up itself so that its next transaction starts the WAL over:
/// 32 MiB of 4 KiB pages, about 3 s of the 20,000 deliveries/s benchmark.
const WAL_RESTART_FRAMES: i64 = 8192;

/// Version 2 layout. `mailbox` columns hold the server's mailbox keys.
const SCHEMA: &str = "
CREATE TABLE messages(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic BLOB NOT NULL,
    sender BLOB NOT NULL,
    payload BLOB NOT NULL,
    sent_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL);
CREATE INDEX messages_expiry ON messages(expires_at);
CREATE TABLE inbox(
    mailbox BLOB NOT NULL,
    msg_id INTEGER NOT NULL,
    len INTEGER NOT NULL,
    PRIMARY KEY(mailbox, msg_id)) WITHOUT ROWID;
CREATE INDEX inbox_msg ON inbox(msg_id);
CREATE TABLE subscriptions(
    mailbox BLOB NOT NULL,
    topic BLOB NOT NULL,
    until INTEGER NOT NULL,
    PRIMARY KEY(mailbox, topic)) WITHOUT ROWID;
CREATE INDEX subscriptions_until ON subscriptions(until);
CREATE TABLE blobs(
    namespace BLOB NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY(namespace, key)) WITHOUT ROWID;
CREATE TABLE devices(
    grp BLOB NOT NULL,
    device BLOB NOT NULL,
    public_key BLOB NOT NULL,
    founder INTEGER NOT NULL,
    token BLOB,
    revoked INTEGER,
    last_seen INTEGER,
    PRIMARY KEY(grp, device)) WITHOUT ROWID;
CREATE TABLE tokens(
    grp BLOB NOT NULL,
    token_id BLOB NOT NULL,
    device BLOB NOT NULL,
    token BLOB NOT NULL,
    PRIMARY KEY(grp, token_id)) WITHOUT ROWID;
CREATE TABLE revocations(
    grp BLOB NOT NULL,
    seq INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    target BLOB NOT NULL,
    device BLOB NOT NULL,
    record BLOB NOT NULL,
    revoked_at INTEGER NOT NULL,
    PRIMARY KEY(grp, seq)) WITHOUT ROWID;
";

/// A subscriber of a topic and when its subscription ends.
type Subscriber = (Vec<u8>, u64);

/// State owned by the writer thread.
struct Inner {
    conn: Connection,
    /// topic -> subscribed mailboxes (mirror of the subscriptions table).
    subs: HashMap<Vec<u8>, Vec<Subscriber>>,
    /// mailbox -> (messages, payload bytes) waiting in it.
    usage: HashMap<Vec<u8>, (u64, u64)>,
    /// Messages acked in the running batch: dropped before its COMMIT
    /// when no mailbox holds them any more (once per message, not once per
    /// recipient's ack).
    acked: Vec<MessageId>,
}

type Completion = Box<dyn FnOnce(Option<&str>) + Send>;
/// A unit of work: returns whether it succeeded (else its savepoint is
/// rolled back) and how to reply once the batch's COMMIT is known.
struct Job {
    /// Whether it runs in a savepoint of its own.
    savepoint: bool,
    run: Work,
}

type Work = Box<dyn FnOnce(&mut Inner) -> (bool, Completion) + Send>;

type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// SQLite store handle; cheap to share behind an `Arc`.
pub struct SqliteStore {
    tx: std::sync::Mutex<Sender<Job>>,
    /// Reads run on their own connection (WAL lets readers proceed during
    /// a commit), so they never wait behind a group commit's fsync.
    reader: std::sync::Mutex<Sender<ReadJob>>,
    /// The writer thread's batching figures.
    stats: std::sync::Arc<super::WriterStats>,
}

impl core::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

fn db_err(e: rusqlite::Error) -> Error {
    Error::Storage(e.to_string())
}

/// The durability settings the writer connection runs with, as SQLite
/// reports them (see [`SqliteStore::durability`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durability {
    /// `PRAGMA journal_mode` (`wal`).
    pub journal_mode: String,
    /// `PRAGMA synchronous`: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA.
    pub synchronous: i64,
    /// `PRAGMA wal_autocheckpoint` (0: the writer's COMMIT never
    /// checkpoints; the checkpointer thread does).
    pub wal_autocheckpoint: i64,
}

/// Creates the schema in an empty database, or checks an existing one is
/// this relay's version.
fn init_schema(conn: &Connection, location: &str) -> Result<()> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db_err)?;
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    let tables: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    if version != 0 || tables != 0 {
        // Version 1 relays never set user_version: tables with version 0.
        return Err(super::wrong_schema(version, location));
    }
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
    ))
    .map_err(db_err)
}

impl SqliteStore {
    /// Open (creating if needed) the database file at `path`, in WAL mode.
    /// A database written by another schema version is refused.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, WAL_RESTART_FRAMES)
    }

    /// [`Self::open`], the WAL started over once it holds
    /// `wal_restart_frames` frames (tests use a small WAL).
    fn open_with(path: impl AsRef<Path>, wal_restart_frames: i64) -> Result<Self> {
        let location = path.as_ref().display().to_string();
        let conn = Connection::open(path.as_ref()).map_err(db_err)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(db_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Storage(format!(
                "SQLite refused WAL mode (got {mode})"
            )));
        }
        // FULL: the WAL is fsync'd at every commit, so a committed message
        // survives power loss, not just a process crash.
        // wal_autocheckpoint=0: checkpoints are the checkpointer thread's.
        conn.execute_batch(
            "PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000; PRAGMA wal_autocheckpoint=0;",
        )
        .map_err(db_err)?;
        init_schema(&conn, &location)?;
        conn.execute_batch(&super::BACKUPS_TABLE.replace("BYTEA_OR_BLOB", "BLOB"))
            .map_err(db_err)?;
        let inner = Inner::load(conn)?;
        let rconn = Connection::open(path.as_ref()).map_err(db_err)?;
        rconn
            .execute_batch("PRAGMA busy_timeout=5000; PRAGMA query_only=ON;")
            .map_err(db_err)?;
        let (rtx, rrx) = mpsc::channel::<ReadJob>();
        std::thread::Builder::new()
            .name("relay-sqlite-read".into())
            .spawn(move || {
                while let Ok(job) = rrx.recv() {
                    job(&rconn);
                }
            })
            .map_err(|e| Error::Storage(format!("cannot start the database thread: {e}")))?;
        let cconn = Connection::open(path.as_ref()).map_err(db_err)?;
        cconn
            .execute_batch("PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;")
            .map_err(db_err)?;
        // One token at most: commits while a checkpoint runs ask for one more.
        let (ctx, crx) = mpsc::sync_channel::<()>(1);
        let restart = std::sync::Arc::new(AtomicBool::new(false));
        let wanted = std::sync::Arc::clone(&restart);
        std::thread::Builder::new()
            .name("relay-sqlite-checkpoint".into())
            .spawn(move || checkpointer(&cconn, &crx, &wanted, wal_restart_frames))
            .map_err(|e| Error::Storage(format!("cannot start the database thread: {e}")))?;
        let (tx, rx) = mpsc::channel::<Job>();
        let stats = std::sync::Arc::new(super::WriterStats::default());
        let theirs = std::sync::Arc::clone(&stats);
        std::thread::Builder::new()
            .name("relay-sqlite".into())
            .spawn(move || {
                // Every publish waits for this thread: run it promptly
                // when it wakes (see `crate::sched`).
                if let Err(e) = crate::sched::request_slice(crate::sched::WRITER_SLICE_NS) {
                    tracing::debug!(error = %e, "the database writer keeps the default scheduler slice");
                }
                writer(inner, rx, &theirs, &ctx, &restart)
            })
            .map_err(|e| Error::Storage(format!("cannot start the database thread: {e}")))?;
        Ok(Self {
            tx: std::sync::Mutex::new(tx),
            reader: std::sync::Mutex::new(rtx),
            stats,
        })
    }

    /// Journal mode and `synchronous` level of the connection that commits
    /// (durability tests check them: acknowledged means fsync'd).
    pub async fn durability(&self) -> Result<Durability> {
        self.call(|i| {
            let journal_mode = i
                .conn
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .map_err(db_err)?;
            let synchronous = i
                .conn
                .query_row("PRAGMA synchronous", [], |r| r.get(0))
                .map_err(db_err)?;
            let wal_autocheckpoint = i
                .conn
                .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
                .map_err(db_err)?;
            Ok(Durability {
                journal_mode,
                synchronous,
                wal_autocheckpoint,
            })
        })
        .await
    }

    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Inner) -> Result<T> + Send + 'static,
    ) -> BoxFuture<'_, Result<T>> {
        self.call_in(true, f)
    }

    /// Runs `f` on the writer; `savepoint` false only for work that leaves
    /// nothing half-done when it fails part way.
    fn call_in<T: Send + 'static>(
        &self,
        savepoint: bool,
        f: impl FnOnce(&mut Inner) -> Result<T> + Send + 'static,
    ) -> BoxFuture<'_, Result<T>> {
        let (reply, rx) = oneshot::channel();
        let run: Work = Box::new(move |inner: &mut Inner| {
            let r = f(inner);
            let ok = r.is_ok();
            let completion: Completion = Box::new(move |commit_err: Option<&str>| {
                let r = match (commit_err, r) {
                    (Some(e), Ok(_)) => Err(Error::Storage(format!("commit failed: {e}"))),
                    (_, r) => r,
                };
                let _ = reply.send(r);
            });
            (ok, completion)
        });
        submit(&self.tx, Job { savepoint, run }, rx)
    }

    fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> BoxFuture<'_, Result<T>> {
        let (reply, rx) = oneshot::channel();
        let job: ReadJob = Box::new(move |c| {
            let _ = reply.send(f(c));
        });
        submit(&self.reader, job, rx)
    }
}

/// Hands `job` to a database thread and waits for its reply; a stopped thread
/// (closed channel or dropped reply) is one clear storage error.
fn submit<J, T: Send + 'static>(
    chan: &std::sync::Mutex<Sender<J>>,
    job: J,
    reply: oneshot::Receiver<Result<T>>,
) -> BoxFuture<'static, Result<T>> {
    let sent = chan.lock().map(|tx| tx.send(job).is_ok()).unwrap_or(false);
    Box::pin(async move {
        if !sent {
            return Err(Error::Storage("database thread stopped".into()));
        }
        reply
            .await
            .map_err(|_| Error::Storage("database thread stopped".into()))?
    })
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The writer's in-memory mirror of what is committed: subscribers by
/// topic, and each mailbox's (messages, payload bytes).
type Mirror = (
    HashMap<Vec<u8>, Vec<Subscriber>>,
    HashMap<Vec<u8>, (u64, u64)>,
);

/// Reads [`Mirror`] from the database.
fn read_mirror(conn: &Connection) -> Result<Mirror> {
    let mut subs: HashMap<Vec<u8>, Vec<Subscriber>> = HashMap::new();
    {
        let mut st = conn
            .prepare("SELECT topic, mailbox, until FROM subscriptions")
            .map_err(db_err)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(db_err)?;
        for row in rows {
            let (t, d, until) = row.map_err(db_err)?;
            subs.entry(t).or_default().push((d, until as u64));
        }
    }
    let mut usage = HashMap::new();
    {
        let mut st = conn
            .prepare("SELECT mailbox, COUNT(*), SUM(len) FROM inbox GROUP BY mailbox")
            .map_err(db_err)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(db_err)?;
        for row in rows {
            let (d, c, b) = row.map_err(db_err)?;
            usage.insert(d, (c as u64, b as u64));
        }
    }
    Ok((subs, usage))
}

impl Inner {
    fn load(conn: Connection) -> Result<Self> {
        let (subs, usage) = read_mirror(&conn)?;
        Ok(Self {
            conn,
            subs,
            usage,
            acked: Vec::new(),
        })
    }

    fn publish(&mut self, mut m: NewMessage, limits: MailboxLimits) -> Result<Published> {
        let len = m.payload.len() as u64;
        let candidates: Vec<Vec<u8>> = match m.recipients.take() {
            Some(r) => r,
            None => {
                let subs = self.subs.get(&m.topic).map(Vec::as_slice).unwrap_or(&[]);
                let live: Vec<&Subscriber> = subs
                    .iter()
                    .filter(|(d, until)| *d != m.sender_mailbox && *until > m.sent_at)
                    .collect();
                // Nothing outlives the subscription that brought it.
                if let Some(end) = live.iter().map(|(_, until)| *until).min() {
                    m.expires_at = m.expires_at.min(end);
                }
                live.into_iter().map(|(d, _)| d.clone()).collect()
            }
        };
        let (recipients, full) = split_full(candidates, len, limits, m.partial, |r| {
            self.usage.get(r).copied().unwrap_or((0, 0))
        })?;
        let c = &self.conn;
        // Cached statements: `execute` parses its SQL on every call
        // (the parser showed in a profile of the publish path).
        c.prepare_cached(
            "INSERT INTO messages(topic, sender, payload, sent_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .and_then(|mut st| {
            st.execute(params![
                m.topic,
                m.sender,
                m.payload,
                to_i64(m.sent_at),
                to_i64(m.expires_at)
            ])
        })
        .map_err(db_err)?;
        let id = c.last_insert_rowid();
        if recipients.is_empty() {
            // Keep the id sequence (AUTOINCREMENT) but store nothing nobody will read.
            c.prepare_cached("DELETE FROM messages WHERE id = ?1")
                .and_then(|mut st| st.execute([id]))
                .map_err(db_err)?;
        } else {
            let mut st = c
                .prepare_cached("INSERT INTO inbox(mailbox, msg_id, len) VALUES (?1, ?2, ?3)")
                .map_err(db_err)?;
            for r in &recipients {
                st.execute(params![r, id, len as i64]).map_err(db_err)?;
            }
        }
        for r in &recipients {
            let e = self.usage.entry(r.clone()).or_insert((0, 0));
            e.0 += 1;
            e.1 += len;
        }
        Ok(Published {
            id,
            recipients,
            full,
        })
    }

    fn ack(&mut self, mailbox: &[u8], ids: &[MessageId]) -> Result<()> {
        let c = &self.conn;
        let mut del = c
            .prepare_cached("DELETE FROM inbox WHERE mailbox = ?1 AND msg_id = ?2 RETURNING len")
            .map_err(db_err)?;
        for &id in ids {
            let Some(len) = del
                .query_row(params![mailbox, id], |r| r.get::<_, i64>(0))
                .optional()
                .map_err(db_err)?
            else {
                continue;
            };
            if let Some(e) = self.usage.get_mut(mailbox) {
                e.0 = e.0.saturating_sub(1);
                e.1 = e.1.saturating_sub(len as u64);
            }
            self.acked.push(id);
        }
        Ok(())
    }

    /// Drops the messages acked in this batch that no mailbox holds any
    /// more. One that fails to go is no mailbox's and expires like any
    /// other; a failure that spoils the transaction fails its COMMIT.
    fn drop_acked(&mut self) {
        if self.acked.is_empty() {
            return;
        }
        let mut ids = std::mem::take(&mut self.acked);
        ids.sort_unstable();
        ids.dedup();
        let gc = self.conn.prepare_cached(
            "DELETE FROM messages WHERE id = ?1 AND NOT EXISTS \
             (SELECT 1 FROM inbox WHERE msg_id = ?1)",
        );
        let r = gc.and_then(|mut gc| ids.iter().try_for_each(|id| gc.execute([id]).map(|_| ())));
        if let Err(e) = r {
            tracing::warn!(error = %e, "dropping acknowledged messages failed; they expire instead");
        }
    }

    fn expire(&mut self, now: u64) -> Result<u64> {
        let c = &self.conn;
        let now = to_i64(now);
        let mut freed: Vec<(Vec<u8>, i64)> = Vec::new();
        {
            let mut st = c
                .prepare(
                    "SELECT i.mailbox, length(m.payload) FROM inbox i \
                     JOIN messages m ON m.id = i.msg_id WHERE m.expires_at <= ?1",
                )
                .map_err(db_err)?;
            let rows = st
                .query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db_err)?;
            for row in rows {
                freed.push(row.map_err(db_err)?);
            }
        }
        c.execute(
            "DELETE FROM inbox WHERE msg_id IN (SELECT id FROM messages WHERE expires_at <= ?1)",
            [now],
        )
        .map_err(db_err)?;
        let n = c
            .execute("DELETE FROM messages WHERE expires_at <= ?1", [now])
            .map_err(db_err)?;
        c.execute("DELETE FROM subscriptions WHERE until <= ?1", [now])
            .map_err(db_err)?;
        for (d, len) in freed {
            if let Some(e) = self.usage.get_mut(&d) {
                e.0 = e.0.saturating_sub(1);
                e.1 = e.1.saturating_sub(len as u64);
            }
        }
        let now = now as u64;
        for v in self.subs.values_mut() {
            v.retain(|(_, until)| *until > now);
        }
        self.subs.retain(|_, v| !v.is_empty());
        Ok(n as u64)
    }

    fn subscribe(
        &mut self,
        mailbox: Vec<u8>,
        topic: Vec<u8>,
        until: u64,
        now: u64,
        max: usize,
    ) -> Result<Subscribed> {
        let others: i64 = self
            .conn
            .prepare_cached(
                "SELECT COUNT(*) FROM subscriptions WHERE mailbox = ?1 AND topic <> ?2 AND until > ?3",
            )
            .and_then(|mut s| s.query_row(params![mailbox, topic, to_i64(now)], |r| r.get(0)))
            .map_err(db_err)?;
        if others as u64 >= max as u64 {
            return Ok(Subscribed::TooMany);
        }
        let parties: i64 = self
            .conn
            .prepare_cached(
                "SELECT COUNT(*) FROM subscriptions WHERE topic = ?1 AND mailbox <> ?2 AND until > ?3",
            )
            .and_then(|mut s| s.query_row(params![topic, mailbox, to_i64(now)], |r| r.get(0)))
            .map_err(db_err)?;
        if parties as u64 >= TOPIC_PARTIES as u64 {
            return Ok(Subscribed::TopicFull);
        }
        self.conn
            .prepare_cached(
                "INSERT INTO subscriptions(mailbox, topic, until) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(mailbox, topic) DO UPDATE SET until = excluded.until",
            )
            .and_then(|mut s| s.execute(params![mailbox, topic, to_i64(until)]))
            .map_err(db_err)?;
        let v = self.subs.entry(topic).or_default();
        match v.iter_mut().find(|(d, _)| *d == mailbox) {
            Some(s) => s.1 = until,
            None => v.push((mailbox, until)),
        }
        Ok(Subscribed::Yes)
    }

    fn append_revocation(&mut self, r: &NewRevocation) -> Result<bool> {
        let c = &self.conn;
        let len: i64 = c
            .query_row(
                "SELECT COALESCE(MAX(seq), 0) FROM revocations WHERE grp = ?1",
                [&r.group],
                |row| row.get(0),
            )
            .map_err(db_err)?;
        if len + 1 != i64::from(r.seq) {
            return Ok(false);
        }
        c.execute(
            "INSERT INTO revocations(grp, seq, kind, target, device, record, revoked_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                r.group,
                r.seq,
                r.kind.to_i64(),
                r.target,
                r.device,
                r.record,
                to_i64(r.at)
            ],
        )
        .map_err(db_err)?;
        c.execute(
            "UPDATE devices SET revoked = ?3 WHERE grp = ?1 AND device = ?2 AND revoked IS NULL",
            params![r.group, r.device, r.seq],
        )
        .map_err(db_err)?;
        Ok(true)
    }
}

/// Runs a savepoint statement from the statement cache (parsing it for
/// every job cost measurable throughput).
fn savepoint(c: &Connection, sql: &str) -> bool {
    c.prepare_cached(sql)
        .and_then(|mut st| st.execute([]))
        .is_ok()
}

/// Copies the WAL into the database file (a passive checkpoint: it takes
/// no lock the writer waits for, and stops at frames a reader still
/// needs) once per token from the writer, at most every
/// [`CHECKPOINT_EVERY`]; ends with the writer. Asks the writer to start
/// the WAL over (`restart`) while it holds `frames` frames or more.
fn checkpointer(conn: &Connection, due: &Receiver<()>, restart: &AtomicBool, frames: i64) {
    while due.recv().is_ok() {
        match passive_checkpoint(conn) {
            Ok(Some((log, _))) => restart.store(log >= frames, Ordering::Relaxed),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
        std::thread::sleep(CHECKPOINT_EVERY);
    }
}

/// `PRAGMA wal_checkpoint(PASSIVE)`: the WAL's frames and how many of
/// them are now in the database file, or None when another checkpoint
/// was running.
fn passive_checkpoint(conn: &Connection) -> rusqlite::Result<Option<(i64, i64)>> {
    let (busy, log, done): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    Ok((busy == 0 && log >= 0).then_some((log, done)))
}

fn writer(
    mut inner: Inner,
    rx: Receiver<Job>,
    stats: &super::WriterStats,
    checkpoint: &mpsc::SyncSender<()>,
    restart: &AtomicBool,
) {
    let mut caught_up = std::time::Instant::now()
        .checked_sub(CHECKPOINT_EVERY)
        .unwrap_or_else(std::time::Instant::now);
    while let Ok(first) = rx.recv() {
        let started = std::time::Instant::now();
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        stats
            .jobs
            .fetch_add(jobs.len() as u64, std::sync::atomic::Ordering::Relaxed);
        if let Err(e) = inner.conn.execute_batch("BEGIN IMMEDIATE") {
            // Dropping the jobs drops their reply channels: callers get a
            // storage error and nothing is acknowledged.
            tracing::error!(error = %e, "database BEGIN failed");
            continue;
        }
        let mut done: Vec<Completion> = Vec::with_capacity(jobs.len());
        for job in jobs {
            let sp = job.savepoint && savepoint(&inner.conn, "SAVEPOINT job");
            let (ok, completion) = (job.run)(&mut inner);
            if sp {
                if !ok {
                    savepoint(&inner.conn, "ROLLBACK TO job");
                }
                savepoint(&inner.conn, "RELEASE job");
            }
            done.push(completion);
        }
        inner.drop_acked();
        let committing = std::time::Instant::now();
        let commit = inner
            .conn
            .execute_batch("COMMIT")
            .err()
            .map(|e| e.to_string());
        stats.commit.observe(committing.elapsed());
        stats.batch.observe(started.elapsed());
        if commit.is_some() {
            let _ = inner.conn.execute_batch("ROLLBACK");
            // The batch's jobs counted their messages into mailboxes and
            // their subscriptions into topics as they ran: read back what
            // is committed, or a mailbox would stay counted fuller (or
            // emptier) than it is until a restart.
            match read_mirror(&inner.conn) {
                Ok((subs, usage)) => {
                    inner.subs = subs;
                    inner.usage = usage;
                }
                Err(e) => tracing::error!(error = %e, "re-reading mailboxes after a failed commit"),
            }
        } else {
            // Full: a checkpoint is already asked for.
            let _ = checkpoint.try_send(());
        }
        for d in done {
            d(commit.as_deref());
        }
        // The WAL is long: copy what the checkpointer has not, so that the
        // next transaction starts the WAL over (it does not when a reader
        // still needs old frames; the checkpointer then asks again).
        // A checkpoint the checkpointer was running (busy) is tried again
        // after the next batch; one that copied, at most every
        // CHECKPOINT_EVERY.
        if restart.load(Ordering::Relaxed) && caught_up.elapsed() >= CHECKPOINT_EVERY {
            let t = std::time::Instant::now();
            match passive_checkpoint(&inner.conn) {
                Ok(Some((log, done))) => {
                    caught_up = t;
                    if log == done {
                        restart.store(false, Ordering::Relaxed);
                        stats.wal_catch_up.observe(t.elapsed());
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    caught_up = t;
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
        }
    }
}

const DEVICE_COLUMNS: &str = "grp, device, public_key, founder, token, revoked, last_seen";

fn row_to_device(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRecord> {
    Ok(DeviceRecord {
        group: r.get(0)?,
        device: r.get(1)?,
        public_key: r.get(2)?,
        founder: r.get(3)?,
        token: r.get(4)?,
        revoked: r.get(5)?,
        last_seen: r.get::<_, Option<i64>>(6)?.map(|t| t as u64),
    })
}

impl Store for SqliteStore {
    fn writer_stats(&self) -> Option<&super::WriterStats> {
        Some(&self.stats)
    }

    fn publish(&self, msg: NewMessage, limits: MailboxLimits) -> BoxFuture<'_, Result<Published>> {
        self.call(move |i| i.publish(msg, limits))
    }

    fn pending(
        &self,
        mailbox: Vec<u8>,
        after: MessageId,
        limit: usize,
        now: u64,
    ) -> BoxFuture<'_, Result<Vec<StoredMessage>>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT m.id, m.topic, m.sender, m.payload, m.expires_at, m.sent_at FROM inbox i \
                     JOIN messages m ON m.id = i.msg_id \
                     WHERE i.mailbox = ?1 AND i.msg_id > ?2 AND m.expires_at > ?3 \
                     ORDER BY m.id LIMIT ?4",
                )
                .map_err(db_err)?;
            let rows = st
                .query_map(params![mailbox, after, to_i64(now), limit as i64], |r| {
                    Ok(StoredMessage {
                        id: r.get(0)?,
                        topic: r.get(1)?,
                        sender: r.get(2)?,
                        payload: r.get(3)?,
                        expires_at: r.get::<_, i64>(4)? as u64,
                        sent_at: r.get::<_, i64>(5)? as u64,
                    })
                })
                .map_err(db_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
        })
    }

    fn ack(&self, mailbox: Vec<u8>, ids: Vec<MessageId>) -> BoxFuture<'_, Result<()>> {
        // Each id's removal is one statement, and removing an id twice is
        // a no-op: an ack that fails part way is retried as a whole (a
        // savepoint per ack was a sixth of the writer's statements). The
        // message itself goes at the end of the batch.
        self.call_in(false, move |i| i.ack(&mailbox, &ids))
    }

    fn ack_queued(&self, mailbox: Vec<u8>, ids: Vec<MessageId>) {
        // No reply channel and no waiting task: an ack per delivery woke
        // the connection's task a second time only to say "committed".
        let stats = std::sync::Arc::clone(&self.stats);
        let run: Work = Box::new(move |inner: &mut Inner| {
            let r = inner.ack(&mailbox, &ids);
            let ok = r.is_ok();
            let completion: Completion = Box::new(move |commit_err: Option<&str>| {
                let failed = match (&r, commit_err) {
                    (Err(e), _) => Some(e.to_string()),
                    (Ok(()), Some(e)) => Some(format!("commit failed: {e}")),
                    (Ok(()), None) => None,
                };
                if let Some(e) = failed {
                    stats
                        .acks_failed
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::error!(error = %e, "queued ack failed");
                }
            });
            (ok, completion)
        });
        let sent = self
            .tx
            .lock()
            .map(|tx| {
                tx.send(Job {
                    savepoint: false,
                    run,
                })
                .is_ok()
            })
            .unwrap_or(false);
        if !sent {
            self.stats
                .acks_failed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::error!("queued ack failed: database thread stopped");
        }
    }

    fn barrier(&self) -> BoxFuture<'_, Result<()>> {
        self.call_in(false, |_| Ok(()))
    }

    fn subscribe(
        &self,
        mailbox: Vec<u8>,
        topic: Vec<u8>,
        until: u64,
        now: u64,
        max: usize,
    ) -> BoxFuture<'_, Result<Subscribed>> {
        self.call(move |i| i.subscribe(mailbox, topic, until, now, max))
    }

    fn unsubscribe(&self, mailbox: Vec<u8>, topic: Vec<u8>) -> BoxFuture<'_, Result<()>> {
        self.call(move |i| {
            i.conn
                .execute(
                    "DELETE FROM subscriptions WHERE mailbox = ?1 AND topic = ?2",
                    params![mailbox, topic],
                )
                .map_err(db_err)?;
            if let Some(v) = i.subs.get_mut(&topic) {
                v.retain(|(d, _)| *d != mailbox);
                if v.is_empty() {
                    i.subs.remove(&topic);
                }
            }
            Ok(())
        })
    }

    fn expire(&self, now: u64) -> BoxFuture<'_, Result<u64>> {
        self.call(move |i| i.expire(now))
    }

    fn blob_put(
        &self,
        namespace: Vec<u8>,
        key: Vec<u8>,
        value: Vec<u8>,
        expected_version: Option<u64>,
        now: u64,
    ) -> BoxFuture<'_, Result<u64>> {
        self.call(move |i| {
            let current: u64 = i
                .conn
                .query_row(
                    "SELECT version FROM blobs WHERE namespace = ?1 AND key = ?2",
                    params![namespace, key],
                    |r| r.get::<_, i64>(0),
                )
                .optional()
                .map_err(db_err)?
                .unwrap_or(0) as u64;
            if let Some(exp) = expected_version {
                if exp != current {
                    return Err(Error::BlobVersionConflict { current });
                }
            }
            let version = current + 1;
            i.conn
                .execute(
                    "INSERT INTO blobs(namespace, key, value, version, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(namespace, key) DO UPDATE SET \
                     value = excluded.value, version = excluded.version, \
                     updated_at = excluded.updated_at",
                    params![namespace, key, value, to_i64(version), to_i64(now)],
                )
                .map_err(db_err)?;
            Ok(version)
        })
    }

    fn blob_get(&self, namespace: Vec<u8>, key: Vec<u8>) -> BoxFuture<'_, Result<Option<Blob>>> {
        self.read(move |c| {
            c.query_row(
                "SELECT value, version, updated_at FROM blobs WHERE namespace = ?1 AND key = ?2",
                params![namespace, key],
                |r| {
                    Ok(Blob {
                        value: r.get(0)?,
                        version: r.get::<_, i64>(1)? as u64,
                        updated_at: r.get::<_, i64>(2)? as u64,
                    })
                },
            )
            .optional()
            .map_err(db_err)
        })
    }

    fn blob_usage(&self, namespace: Vec<u8>) -> BoxFuture<'_, Result<u64>> {
        self.read(move |c| {
            c.query_row(
                "SELECT COALESCE(SUM(length(value)), 0) FROM blobs WHERE namespace = ?1",
                [namespace],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(db_err)
        })
    }

    fn backup_put(
        &self,
        id: Vec<u8>,
        public_key: Vec<u8>,
        counter: u64,
        value: Option<Vec<u8>>,
        now: u64,
    ) -> BoxFuture<'_, Result<bool>> {
        self.call(move |i| {
            let found: Option<(Vec<u8>, i64)> = i
                .conn
                .query_row(
                    "SELECT public_key, counter FROM backups WHERE id = ?1",
                    [&id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(db_err)?;
            if found.is_none() && value.is_none() {
                return Ok(false);
            }
            backup_allowed(
                found.as_ref().map(|(k, c)| (k.as_slice(), *c as u64)),
                &public_key,
                counter,
            )?;
            i.conn
                .execute(
                    "INSERT INTO backups(id, public_key, counter, value, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(id) DO UPDATE SET \
                     counter = excluded.counter, value = excluded.value, \
                     updated_at = excluded.updated_at",
                    params![id, public_key, to_i64(counter), value, to_i64(now)],
                )
                .map_err(db_err)?;
            Ok(true)
        })
    }

    fn backup_get(&self, id: Vec<u8>) -> BoxFuture<'_, Result<Option<BackupRow>>> {
        self.read(move |c| {
            c.query_row(
                "SELECT public_key, counter, value, updated_at FROM backups WHERE id = ?1",
                [id],
                |r| {
                    Ok(BackupRow {
                        public_key: r.get(0)?,
                        counter: r.get::<_, i64>(1)? as u64,
                        value: r.get(2)?,
                        updated_at: r.get::<_, i64>(3)? as u64,
                    })
                },
            )
            .optional()
            .map_err(db_err)
        })
    }

    fn put_device(
        &self,
        rec: DeviceRecord,
        token_id: Option<Vec<u8>>,
    ) -> BoxFuture<'_, Result<()>> {
        self.call(move |i| {
            i.conn
                .execute(
                    "INSERT INTO devices(grp, device, public_key, founder, token, revoked, last_seen) \
                     VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6) ON CONFLICT(grp, device) DO UPDATE SET \
                     public_key = excluded.public_key, founder = excluded.founder, \
                     token = excluded.token, \
                     last_seen = COALESCE(excluded.last_seen, devices.last_seen)",
                    params![
                        rec.group,
                        rec.device,
                        rec.public_key,
                        rec.founder,
                        rec.token,
                        rec.last_seen.map(to_i64)
                    ],
                )
                .map_err(db_err)?;
            if let (Some(id), Some(token)) = (token_id, &rec.token) {
                i.conn
                    .execute(
                        "INSERT OR IGNORE INTO tokens(grp, token_id, device, token) \
                         VALUES (?1, ?2, ?3, ?4)",
                        params![rec.group, id, rec.device, token],
                    )
                    .map_err(db_err)?;
            }
            Ok(())
        })
    }

    fn device(
        &self,
        group: Vec<u8>,
        device: Vec<u8>,
    ) -> BoxFuture<'_, Result<Option<DeviceRecord>>> {
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {DEVICE_COLUMNS} FROM devices WHERE grp = ?1 AND device = ?2"
            ))
            .and_then(|mut st| {
                st.query_row(params![group, device], row_to_device)
                    .optional()
            })
            .map_err(db_err)
        })
    }

    fn group_devices(&self, group: Vec<u8>) -> BoxFuture<'_, Result<Vec<DeviceRecord>>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached(&format!(
                    "SELECT {DEVICE_COLUMNS} FROM devices WHERE grp = ?1 ORDER BY device"
                ))
                .map_err(db_err)?;
            let rows = st.query_map([group], row_to_device).map_err(db_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
        })
    }

    fn token(&self, group: Vec<u8>, token_id: Vec<u8>) -> BoxFuture<'_, Result<Option<Vec<u8>>>> {
        self.read(move |c| {
            c.query_row(
                "SELECT token FROM tokens WHERE grp = ?1 AND token_id = ?2",
                params![group, token_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)
        })
    }

    fn touch(&self, group: Vec<u8>, device: Vec<u8>, now: u64) -> BoxFuture<'_, Result<()>> {
        self.call(move |i| {
            i.conn
                .prepare_cached("UPDATE devices SET last_seen = ?3 WHERE grp = ?1 AND device = ?2")
                .and_then(|mut s| s.execute(params![group, device, to_i64(now)]))
                .map_err(db_err)?;
            Ok(())
        })
    }

    fn append_revocation(&self, rev: NewRevocation) -> BoxFuture<'_, Result<bool>> {
        self.call(move |i| i.append_revocation(&rev))
    }

    fn revocations(
        &self,
        group: Vec<u8>,
        after: u32,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Vec<u8>>>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT record FROM revocations WHERE grp = ?1 AND seq > ?2 \
                     ORDER BY seq LIMIT ?3",
                )
                .map_err(db_err)?;
            let rows = st
                .query_map(params![group, after, limit as i64], |r| r.get(0))
                .map_err(db_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
        })
    }

    fn chain_head(&self, group: Vec<u8>) -> BoxFuture<'_, Result<Option<ChainHead>>> {
        self.read(move |c| {
            c.query_row(
                "SELECT seq, record FROM revocations WHERE grp = ?1 ORDER BY seq DESC LIMIT 1",
                [group],
                |r| {
                    Ok(ChainHead {
                        len: r.get(0)?,
                        last: r.get(1)?,
                    })
                },
            )
            .optional()
            .map_err(db_err)
        })
    }

    fn revoked(&self) -> BoxFuture<'_, Result<Vec<RevokedEntry>>> {
        self.read(|c| {
            let mut st = c
                .prepare("SELECT grp, seq, kind, target, device FROM revocations")
                .map_err(db_err)?;
            let rows = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, u32>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                        r.get::<_, Vec<u8>>(4)?,
                    ))
                })
                .map_err(db_err)?;
            let mut out = Vec::new();
            for row in rows {
                let (group, seq, kind, target, device) = row.map_err(db_err)?;
                let kind = TargetKind::from_i64(kind).ok_or_else(|| {
                    Error::Storage(format!("revocation with unknown target kind {kind}"))
                })?;
                out.push(RevokedEntry {
                    group,
                    seq,
                    kind,
                    target,
                    device,
                });
            }
            Ok(out)
        })
    }

    fn forget_device(&self, mailbox: Vec<u8>) -> BoxFuture<'_, Result<u64>> {
        self.call(move |i| {
            let c = &i.conn;
            c.execute("DELETE FROM subscriptions WHERE mailbox = ?1", [&mailbox])
                .map_err(db_err)?;
            let ids: Vec<i64> = {
                let mut st = c
                    .prepare("SELECT msg_id FROM inbox WHERE mailbox = ?1")
                    .map_err(db_err)?;
                let rows = st.query_map([&mailbox], |r| r.get(0)).map_err(db_err)?;
                rows.collect::<rusqlite::Result<_>>().map_err(db_err)?
            };
            let counted = (i.usage.get(&mailbox).copied(), i.acked.len());
            if let Err(e) = i.ack(&mailbox, &ids) {
                // The job's savepoint puts back the rows deleted before the
                // failure: put back what they were counted as, too.
                if let Some(u) = counted.0 {
                    i.usage.insert(mailbox, u);
                }
                i.acked.truncate(counted.1);
                return Err(e);
            }
            for v in i.subs.values_mut() {
                v.retain(|(d, _)| *d != mailbox);
            }
            i.subs.retain(|_, v| !v.is_empty());
            i.usage.remove(&mailbox);
            Ok(ids.len() as u64)
        })
    }

    fn mailbox_depths(&self) -> BoxFuture<'_, Result<MailboxDepths>> {
        self.read(|c| {
            c.query_row(DEPTHS, [], |r| {
                Ok(MailboxDepths {
                    mailboxes: r.get::<_, i64>(0)? as u64,
                    entries: r.get::<_, i64>(1)? as u64,
                    deepest: r.get::<_, i64>(2)? as u64,
                })
            })
            .map_err(db_err)
        })
    }

    fn message_count(&self) -> BoxFuture<'_, Result<u64>> {
        self.read(|c| {
            c.query_row("SELECT COUNT(*) FROM messages", [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(db_err)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db(tag: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("tandem-relay-sqlite-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("relay.db");
        (dir, path)
    }

    /// A 2-byte message from device A, sent at 600, to `recipients` or
    /// (None) the subscribers of `topic`.
    fn msg(topic: &[u8], recipients: Option<Vec<Vec<u8>>>) -> NewMessage {
        NewMessage {
            topic: topic.to_vec(),
            sender: b"A".to_vec(),
            sender_mailbox: b"A".to_vec(),
            payload: b"12".to_vec(),
            sent_at: 600,
            expires_at: 3000,
            recipients,
            partial: false,
        }
    }

    /// A mailbox that holds one message.
    const ONE: MailboxLimits = MailboxLimits {
        max_messages: 1,
        max_bytes: 1000,
    };

    #[tokio::test]
    async fn conformance() {
        let (dir, path) = temp_db("conf");
        let store = SqliteStore::open(&path).unwrap();
        let d = store.durability().await.unwrap();
        assert_eq!(d.journal_mode, "wal");
        assert!(d.synchronous >= 2, "synchronous={}", d.synchronous);
        super::super::conformance::run(&store).await;
        drop(store);
        // Reopen: subscriptions, usage and chains reload from disk.
        let store = SqliteStore::open(&path).unwrap();
        let err = store
            .publish(msg(b"g", Some(vec![b"PA".to_vec()])), ONE)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::MailboxFull { .. }), "{err:?}");
        let p = store
            .publish(msg(b"s5", None), MailboxLimits::default())
            .await
            .unwrap();
        assert_eq!(p.recipients, vec![b"S".to_vec()]);
        assert_eq!(store.revoked().await.unwrap().len(), 3);
        assert_eq!(
            store.chain_head(b"G".to_vec()).await.unwrap().unwrap().len,
            2
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A COMMIT that fails leaves the writer's in-memory counts as the
    /// database has them. SQLite's commit hook turns the next COMMIT into a
    /// rollback (a real failed COMMIT, `SQLITE_CONSTRAINT_COMMITHOOK`).
    /// Before the fix, the mailbox the failed publish had counted into was
    /// then full for its one-message limit, and the rolled-back subscriber
    /// was still a recipient of its topic.
    #[tokio::test]
    async fn a_failed_commit_leaves_mailboxes_and_subscriptions_as_committed() {
        let (dir, path) = temp_db("failed-commit");
        let store = SqliteStore::open(&path).unwrap();
        let sub = |mailbox: &[u8]| store.subscribe(mailbox.to_vec(), b"t".to_vec(), 3000, 600, 8);
        assert!(matches!(sub(b"PA").await.unwrap(), Subscribed::Yes));
        let fail = std::sync::Arc::new(AtomicBool::new(false));
        let hook = std::sync::Arc::clone(&fail);
        store
            .call_in(false, move |i| {
                i.conn
                    .commit_hook(Some(move || hook.swap(false, Ordering::SeqCst)));
                Ok(())
            })
            .await
            .unwrap();

        fail.store(true, Ordering::SeqCst);
        let err = store
            .publish(msg(b"g", Some(vec![b"PB".to_vec()])), ONE)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("commit failed"), "{err}");
        fail.store(true, Ordering::SeqCst);
        let err = sub(b"PC").await.unwrap_err();
        assert!(err.to_string().contains("commit failed"), "{err}");
        assert!(
            !fail.load(Ordering::SeqCst),
            "both commits reached the hook"
        );

        let p = store
            .publish(msg(b"g", Some(vec![b"PB".to_vec()])), ONE)
            .await
            .unwrap();
        assert_eq!(p.recipients, vec![b"PB".to_vec()]);
        let waiting = store.pending(b"PB".to_vec(), 0, 10, 600).await.unwrap();
        assert_eq!(waiting.len(), 1, "only the committed message waits");
        assert_eq!(waiting[0].id, p.id);
        let p = store
            .publish(msg(b"t", None), MailboxLimits::default())
            .await
            .unwrap();
        assert_eq!(p.recipients, vec![b"PA".to_vec()]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A device forgotten part way (a delete fails after another went
    /// through) keeps its mailbox as it was: the job's savepoint puts the
    /// rows back, and the writer counts them again. A trigger refuses the
    /// delete that would leave the mailbox with one message. Before the
    /// fix, the mailbox was counted one message emptier than it was, so it
    /// took a third message over its limit of two.
    #[tokio::test]
    async fn a_device_forgotten_part_way_keeps_its_mailbox_counted() {
        let (dir, path) = temp_db("forget-part-way");
        let store = SqliteStore::open(&path).unwrap();
        let two = MailboxLimits {
            max_messages: 2,
            ..ONE
        };
        let to_d = || msg(b"g", Some(vec![b"PD".to_vec()]));
        for _ in 0..2 {
            store.publish(to_d(), two).await.unwrap();
        }
        let trigger = |sql: &'static str| {
            store.call_in(false, move |i| i.conn.execute_batch(sql).map_err(db_err))
        };
        trigger(
            "CREATE TRIGGER refuse_last BEFORE DELETE ON inbox \
             WHEN (SELECT COUNT(*) FROM inbox WHERE mailbox = old.mailbox) < 2 \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
        )
        .await
        .unwrap();
        let err = store.forget_device(b"PD".to_vec()).await.unwrap_err();
        assert!(err.to_string().contains("refused by the test"), "{err}");
        trigger("DROP TRIGGER refuse_last;").await.unwrap();

        let waiting = store.pending(b"PD".to_vec(), 0, 10, 600).await.unwrap();
        assert_eq!(waiting.len(), 2, "both messages are still in the mailbox");
        let err = store.publish(to_d(), two).await.unwrap_err();
        assert!(matches!(err, Error::MailboxFull { .. }), "{err:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Under sustained writes the WAL starts over instead of growing: the
    /// file stops lengthening while payloads keep going through it, its
    /// header counts the restarts, and every message is still there when
    /// the database is opened again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_starts_over_under_sustained_writes_and_loses_nothing() {
        use std::sync::atomic::AtomicUsize;
        let (dir, path) = temp_db("wal-restart");
        let store = std::sync::Arc::new(SqliteStore::open_with(&path, 64).unwrap());
        let wal = dir.join("relay.db-wal");
        const PAYLOAD: usize = 2048;
        // Bytes 12..16 of the WAL header: SQLite's checkpoint sequence
        // number, one more at every restart (sqlite.org/fileformat2.html).
        let restarts = || {
            use std::io::Read;
            let mut h = [0u8; 16];
            std::fs::File::open(&wal)
                .and_then(|mut f| f.read_exact(&mut h))
                .map_or(0, |()| u32::from_be_bytes(h[12..16].try_into().unwrap()))
        };
        let first = restarts();
        // Four producers with 32 publishes each always in flight, so the
        // writer never waits for work (a pause would let the checkpointer
        // catch up on its own and the WAL start over without the writer).
        let sent = std::sync::Arc::new(AtomicUsize::new(0));
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let producers: Vec<_> = (0..4)
            .map(|_| {
                let (store, sent, stop) = (store.clone(), sent.clone(), stop.clone());
                tokio::spawn(async move {
                    use futures_util::StreamExt;
                    let limits = MailboxLimits {
                        max_messages: u64::MAX,
                        max_bytes: u64::MAX,
                    };
                    let mut in_flight = futures_util::stream::FuturesUnordered::new();
                    loop {
                        while !stop.load(Ordering::Relaxed) && in_flight.len() < 32 {
                            in_flight.push(store.publish(
                                NewMessage {
                                    topic: b"t".to_vec(),
                                    sender: b"A".to_vec(),
                                    sender_mailbox: b"A".to_vec(),
                                    payload: vec![9u8; PAYLOAD],
                                    sent_at: 600,
                                    expires_at: u64::MAX >> 2,
                                    recipients: Some(vec![b"B".to_vec()]),
                                    partial: false,
                                },
                                limits,
                            ));
                        }
                        let Some(r) = in_flight.next().await else {
                            break;
                        };
                        r.unwrap();
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        // Polls from a blocking section: both workers stay the producers'.
        let wait_for = |restarted: u32, messages: usize| {
            while restarts() < first + restarted || sent.load(Ordering::Relaxed) < messages {
                assert!(
                    std::time::Instant::now() < deadline,
                    "after {} messages the WAL restarted {} times ({} catch-ups)",
                    sent.load(Ordering::Relaxed),
                    restarts() - first,
                    store.stats.wal_catch_up.count()
                );
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        };
        // The first restarts come once the checkpointer has run; the file
        // keeps the length the WAL reached by then (its longest stretch
        // between two restarts so far).
        tokio::task::block_in_place(|| wait_for(2, 0));
        let (early, at) = (
            std::fs::metadata(&wal).unwrap().len() as usize,
            sent.load(Ordering::Relaxed),
        );
        // Then three times that in payloads, over four restarts or more:
        // were the frames appended, the file would be four times as long.
        tokio::task::block_in_place(|| wait_for(6, at + 3 * early / PAYLOAD));
        let wal_len = std::fs::metadata(&wal).unwrap().len() as usize;
        stop.store(true, Ordering::Relaxed);
        for p in producers {
            p.await.unwrap();
        }
        assert!(
            wal_len < early + 3 * early / 2,
            "the WAL went from {early} B to {wal_len} B while {} B of payloads went in",
            3 * early
        );
        assert!(store.stats.wal_catch_up.count() >= 6);
        let sent = sent.load(Ordering::Relaxed);
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        let mut after = 0;
        let mut found = 0;
        loop {
            let page = store
                .pending(b"B".to_vec(), after, 1000, 700)
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            after = last.id;
            found += page.len();
            assert!(page.iter().all(|m| m.payload == [9u8; PAYLOAD]));
        }
        assert_eq!(found, sent);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The writer's COMMIT never checkpoints (a checkpoint there held up
    /// every message of its batch and the batches behind it): the WAL
    /// reaches the database file through the checkpointer thread alone.
    #[tokio::test]
    async fn the_wal_reaches_the_database_file_off_the_writer_thread() {
        let (dir, path) = temp_db("checkpoint");
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.durability().await.unwrap().wal_autocheckpoint, 0);
        let before = std::fs::metadata(&path).unwrap().len();
        let payload = vec![7u8; 1024];
        let limits = MailboxLimits {
            max_messages: 10_000,
            max_bytes: 10 << 20,
        };
        let sends = (0..2_000).map(|n| {
            store.publish(
                NewMessage {
                    topic: format!("t{}", n % 50).into_bytes(),
                    sender: b"A".to_vec(),
                    sender_mailbox: b"A".to_vec(),
                    payload: payload.clone(),
                    sent_at: 600,
                    expires_at: u64::MAX >> 2,
                    recipients: Some(vec![b"B".to_vec()]),
                    partial: false,
                },
                limits,
            )
        });
        for r in futures_util::future::join_all(sends).await {
            r.unwrap();
        }
        // 2 MB of messages are committed (in the WAL); the database file
        // holds them once a checkpoint ran. Checkpoints come at most every
        // CHECKPOINT_EVERY, so this waits for the file, with a deadline.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut size = before;
        while size < 2_000 * 1024 {
            assert!(
                std::time::Instant::now() < deadline,
                "the database file stayed at {size} B (was {before} B): no checkpoint ran"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            size = std::fs::metadata(&path).unwrap().len();
        }
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_old_database_is_refused_with_instructions() {
        let (dir, path) = temp_db("old");
        {
            // What a protocol-1 relay left behind: tables, user_version 0.
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE revocations(target BLOB PRIMARY KEY, record BLOB NOT NULL, \
                 revoked_at INTEGER NOT NULL) WITHOUT ROWID;",
            )
            .unwrap();
        }
        let err = SqliteStore::open(&path).unwrap_err().to_string();
        assert!(err.contains("schema version 0"), "{err}");
        assert!(err.contains("delete it"), "{err}");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch("PRAGMA user_version = 7;").unwrap();
        }
        let err = SqliteStore::open(&path).unwrap_err().to_string();
        assert!(err.contains("schema version 7"), "{err}");
        // A fresh file gets the current version, and opens again.
        std::fs::remove_file(&path).unwrap();
        drop(SqliteStore::open(&path).unwrap());
        let c = Connection::open(&path).unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        drop(c);
        drop(SqliteStore::open(&path).unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
