//! Embedded SQLite backend (WAL, `synchronous=FULL`).
//!
//! One writer thread owns the connection. Jobs queued while a transaction
//! commits are run together in the next transaction (group commit): one
//! fsync acknowledges many messages, which is what makes durable acks cheap.
//! Each job runs inside its own savepoint, so one failing job cannot leave a
//! half-written message behind. Replies are sent only after COMMIT returns.

use std::{
    collections::HashMap,
    path::Path,
    sync::mpsc::{self, Receiver, Sender},
};

use futures_util::future::BoxFuture;
use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::oneshot;

use super::{
    Blob, DeviceRecord, MailboxLimits, MessageId, NewMessage, Published, Store, StoredMessage,
};
use crate::{Error, Result};

/// Most jobs folded into one transaction.
const MAX_BATCH: usize = 4096;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS messages(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic BLOB NOT NULL,
    sender BLOB NOT NULL,
    payload BLOB NOT NULL,
    sent_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS messages_expiry ON messages(expires_at);
CREATE TABLE IF NOT EXISTS inbox(
    device BLOB NOT NULL,
    msg_id INTEGER NOT NULL,
    len INTEGER NOT NULL,
    PRIMARY KEY(device, msg_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS inbox_msg ON inbox(msg_id);
CREATE TABLE IF NOT EXISTS subscriptions(
    device BLOB NOT NULL,
    topic BLOB NOT NULL,
    PRIMARY KEY(device, topic)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blobs(
    namespace BLOB NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY(namespace, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS revocations(
    target BLOB PRIMARY KEY,
    record BLOB NOT NULL,
    revoked_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices(
    device BLOB PRIMARY KEY,
    grp BLOB NOT NULL,
    public_key BLOB NOT NULL,
    founder INTEGER NOT NULL,
    token_id BLOB,
    last_seen INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS devices_group ON devices(grp);
";

/// State owned by the writer thread.
struct Inner {
    conn: Connection,
    /// topic -> subscribed devices (mirror of the subscriptions table).
    subs: HashMap<Vec<u8>, Vec<Vec<u8>>>,
    /// device -> (messages, payload bytes) waiting in its mailbox.
    usage: HashMap<Vec<u8>, (u64, u64)>,
}

type Completion = Box<dyn FnOnce(Option<&str>) + Send>;
/// A unit of work: returns whether it succeeded (else its savepoint is
/// rolled back) and how to reply once the batch's COMMIT is known.
type Job = Box<dyn FnOnce(&mut Inner) -> (bool, Completion) + Send>;

type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// SQLite store handle; cheap to share behind an `Arc`.
pub struct SqliteStore {
    tx: std::sync::Mutex<Sender<Job>>,
    /// Reads run on their own connection (WAL lets readers proceed during
    /// a commit), so they never wait behind a group commit's fsync.
    reader: std::sync::Mutex<Sender<ReadJob>>,
}

impl core::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

fn db_err(e: rusqlite::Error) -> Error {
    Error::Storage(e.to_string())
}

impl SqliteStore {
    /// Open (creating if needed) the database file at `path`, in WAL mode.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
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
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;")
            .map_err(db_err)?;
        conn.execute_batch(SCHEMA).map_err(db_err)?;
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
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("relay-sqlite".into())
            .spawn(move || writer(inner, rx))
            .map_err(|e| Error::Storage(format!("cannot start the database thread: {e}")))?;
        Ok(Self {
            tx: std::sync::Mutex::new(tx),
            reader: std::sync::Mutex::new(rtx),
        })
    }

    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Inner) -> Result<T> + Send + 'static,
    ) -> BoxFuture<'_, Result<T>> {
        let (reply, rx) = oneshot::channel();
        let job: Job = Box::new(move |inner| {
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
        submit(&self.tx, job, rx)
    }
}

impl SqliteStore {
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

impl Inner {
    fn load(conn: Connection) -> Result<Self> {
        let mut subs: HashMap<Vec<u8>, Vec<Vec<u8>>> = HashMap::new();
        {
            let mut st = conn
                .prepare("SELECT topic, device FROM subscriptions")
                .map_err(db_err)?;
            let rows = st
                .query_map([], |r| {
                    Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
                })
                .map_err(db_err)?;
            for row in rows {
                let (t, d) = row.map_err(db_err)?;
                subs.entry(t).or_default().push(d);
            }
        }
        let mut usage = HashMap::new();
        {
            let mut st = conn
                .prepare("SELECT device, COUNT(*), SUM(len) FROM inbox GROUP BY device")
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
        Ok(Self { conn, subs, usage })
    }

    fn publish(&mut self, mut m: NewMessage, limits: MailboxLimits) -> Result<Published> {
        let len = m.payload.len() as u64;
        let recipients: Vec<Vec<u8>> = match m.recipients.take() {
            Some(r) => r,
            None => self
                .subs
                .get(&m.topic)
                .map(|v| v.iter().filter(|d| **d != m.sender).cloned().collect())
                .unwrap_or_default(),
        };
        for r in &recipients {
            let (c, b) = self.usage.get(r).copied().unwrap_or((0, 0));
            if c + 1 > limits.max_messages || b + len > limits.max_bytes {
                return Err(Error::MailboxFull {
                    device: hex::encode(r),
                });
            }
        }
        let c = &self.conn;
        c.execute(
            "INSERT INTO messages(topic, sender, payload, sent_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                m.topic,
                m.sender,
                m.payload,
                m.sent_at as i64,
                m.expires_at as i64
            ],
        )
        .map_err(db_err)?;
        let id = c.last_insert_rowid();
        if recipients.is_empty() {
            // Keep the id sequence (AUTOINCREMENT) but store nothing nobody will read.
            c.execute("DELETE FROM messages WHERE id = ?1", [id])
                .map_err(db_err)?;
        } else {
            let mut st = c
                .prepare_cached("INSERT INTO inbox(device, msg_id, len) VALUES (?1, ?2, ?3)")
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
        Ok(Published { id, recipients })
    }

    fn ack(&mut self, device: &[u8], ids: &[MessageId]) -> Result<()> {
        let c = &self.conn;
        let mut del = c
            .prepare_cached("DELETE FROM inbox WHERE device = ?1 AND msg_id = ?2 RETURNING len")
            .map_err(db_err)?;
        let mut gc = c
            .prepare_cached(
                "DELETE FROM messages WHERE id = ?1 AND NOT EXISTS \
                 (SELECT 1 FROM inbox WHERE msg_id = ?1)",
            )
            .map_err(db_err)?;
        for &id in ids {
            let Some(len) = del
                .query_row(params![device, id], |r| r.get::<_, i64>(0))
                .optional()
                .map_err(db_err)?
            else {
                continue;
            };
            gc.execute([id]).map_err(db_err)?;
            if let Some(e) = self.usage.get_mut(device) {
                e.0 = e.0.saturating_sub(1);
                e.1 = e.1.saturating_sub(len as u64);
            }
        }
        Ok(())
    }

    fn expire(&mut self, now: u64) -> Result<u64> {
        let c = &self.conn;
        let now = now as i64;
        let mut freed: Vec<(Vec<u8>, i64)> = Vec::new();
        {
            let mut st = c
                .prepare(
                    "SELECT i.device, length(m.payload) FROM inbox i \
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
        for (d, len) in freed {
            if let Some(e) = self.usage.get_mut(&d) {
                e.0 = e.0.saturating_sub(1);
                e.1 = e.1.saturating_sub(len as u64);
            }
        }
        Ok(n as u64)
    }
}

/// Runs a savepoint statement from the statement cache (parsing it for
/// every job cost measurable throughput).
fn savepoint(c: &Connection, sql: &str) -> bool {
    c.prepare_cached(sql)
        .and_then(|mut st| st.execute([]))
        .is_ok()
}

fn writer(mut inner: Inner, rx: Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        if let Err(e) = inner.conn.execute_batch("BEGIN IMMEDIATE") {
            // Dropping the jobs drops their reply channels: callers get a
            // storage error and nothing is acknowledged.
            eprintln!("tandem-relay: database BEGIN failed: {e}");
            continue;
        }
        let mut done: Vec<Completion> = Vec::with_capacity(jobs.len());
        for job in jobs {
            let sp = savepoint(&inner.conn, "SAVEPOINT job");
            let (ok, completion) = job(&mut inner);
            if sp {
                if !ok {
                    savepoint(&inner.conn, "ROLLBACK TO job");
                }
                savepoint(&inner.conn, "RELEASE job");
            }
            done.push(completion);
        }
        let commit = inner
            .conn
            .execute_batch("COMMIT")
            .err()
            .map(|e| e.to_string());
        if commit.is_some() {
            let _ = inner.conn.execute_batch("ROLLBACK");
        }
        for d in done {
            d(commit.as_deref());
        }
    }
}

impl Store for SqliteStore {
    fn publish(&self, msg: NewMessage, limits: MailboxLimits) -> BoxFuture<'_, Result<Published>> {
        self.call(move |i| i.publish(msg, limits))
    }

    fn pending(
        &self,
        device: Vec<u8>,
        after: MessageId,
        limit: usize,
        now: u64,
    ) -> BoxFuture<'_, Result<Vec<StoredMessage>>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT m.id, m.topic, m.sender, m.payload, m.expires_at, m.sent_at FROM inbox i \
                     JOIN messages m ON m.id = i.msg_id \
                     WHERE i.device = ?1 AND i.msg_id > ?2 AND m.expires_at > ?3 \
                     ORDER BY m.id LIMIT ?4",
                )
                .map_err(db_err)?;
            let rows = st
                .query_map(params![device, after, now as i64, limit as i64], |r| {
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

    fn ack(&self, device: Vec<u8>, ids: Vec<MessageId>) -> BoxFuture<'_, Result<()>> {
        self.call(move |i| i.ack(&device, &ids))
    }

    fn subscribe(&self, device: Vec<u8>, topic: Vec<u8>) -> BoxFuture<'_, Result<()>> {
        self.call(move |i| {
            i.conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO subscriptions(device, topic) VALUES (?1, ?2)",
                )
                .and_then(|mut s| s.execute(params![device, topic]))
                .map_err(db_err)?;
            let v = i.subs.entry(topic).or_default();
            if !v.contains(&device) {
                v.push(device);
            }
            Ok(())
        })
    }

    fn unsubscribe(&self, device: Vec<u8>, topic: Vec<u8>) -> BoxFuture<'_, Result<()>> {
        self.call(move |i| {
            i.conn
                .execute(
                    "DELETE FROM subscriptions WHERE device = ?1 AND topic = ?2",
                    params![device, topic],
                )
                .map_err(db_err)?;
            if let Some(v) = i.subs.get_mut(&topic) {
                v.retain(|d| *d != device);
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
                    params![namespace, key, value, version as i64, now as i64],
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

    fn revoke(&self, target: Vec<u8>, record: Vec<u8>, at: u64) -> BoxFuture<'_, Result<bool>> {
        self.call(move |i| {
            let n = i
                .conn
                .execute(
                    "INSERT OR IGNORE INTO revocations(target, record, revoked_at) VALUES (?1, ?2, ?3)",
                    params![target, record, at as i64],
                )
                .map_err(db_err)?;
            Ok(n == 1)
        })
    }

    fn revoked(&self) -> BoxFuture<'_, Result<Vec<Vec<u8>>>> {
        self.read(|c| {
            let mut st = c
                .prepare("SELECT target FROM revocations")
                .map_err(db_err)?;
            let rows = st.query_map([], |r| r.get(0)).map_err(db_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
        })
    }

    fn upsert_device(&self, rec: DeviceRecord) -> BoxFuture<'_, Result<()>> {
        self.call(move |i| {
            i.conn
                .execute(
                    "INSERT INTO devices(device, grp, public_key, founder, token_id, last_seen) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(device) DO UPDATE SET \
                     grp = excluded.grp, public_key = excluded.public_key, \
                     founder = excluded.founder, token_id = excluded.token_id, \
                     last_seen = excluded.last_seen",
                    params![
                        rec.device,
                        rec.group,
                        rec.public_key,
                        rec.founder,
                        rec.token_id,
                        rec.last_seen as i64
                    ],
                )
                .map_err(db_err)?;
            Ok(())
        })
    }

    fn device(&self, device: Vec<u8>) -> BoxFuture<'_, Result<Option<DeviceRecord>>> {
        self.read(move |c| {
            c.query_row(
                "SELECT device, grp, public_key, founder, token_id, last_seen FROM devices \
                     WHERE device = ?1",
                [device],
                row_to_device,
            )
            .optional()
            .map_err(db_err)
        })
    }

    fn group_devices(&self, group: Vec<u8>) -> BoxFuture<'_, Result<Vec<DeviceRecord>>> {
        self.read(move |c| {
            let mut st = c
                .prepare(
                    "SELECT device, grp, public_key, founder, token_id, last_seen FROM devices \
                     WHERE grp = ?1",
                )
                .map_err(db_err)?;
            let rows = st.query_map([group], row_to_device).map_err(db_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
        })
    }

    fn touch(&self, device: Vec<u8>, now: u64) -> BoxFuture<'_, Result<()>> {
        self.call(move |i| {
            i.conn
                .execute(
                    "UPDATE devices SET last_seen = ?2 WHERE device = ?1",
                    params![device, now as i64],
                )
                .map_err(db_err)?;
            Ok(())
        })
    }

    fn forget_device(&self, device: Vec<u8>) -> BoxFuture<'_, Result<u64>> {
        self.call(move |i| {
            let c = &i.conn;
            c.execute("DELETE FROM subscriptions WHERE device = ?1", [&device])
                .map_err(db_err)?;
            let ids: Vec<i64> = {
                let mut st = c
                    .prepare("SELECT msg_id FROM inbox WHERE device = ?1")
                    .map_err(db_err)?;
                let rows = st.query_map([&device], |r| r.get(0)).map_err(db_err)?;
                rows.collect::<rusqlite::Result<_>>().map_err(db_err)?
            };
            i.ack(&device, &ids)?;
            for v in i.subs.values_mut() {
                v.retain(|d| *d != device);
            }
            i.subs.retain(|_, v| !v.is_empty());
            i.usage.remove(&device);
            Ok(ids.len() as u64)
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

fn row_to_device(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRecord> {
    Ok(DeviceRecord {
        device: r.get(0)?,
        group: r.get(1)?,
        public_key: r.get(2)?,
        founder: r.get(3)?,
        token_id: r.get(4)?,
        last_seen: r.get::<_, i64>(5)? as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn conformance() {
        let dir = std::env::temp_dir().join(format!("tandem-relay-sqlite-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("relay.db");
        let _ = std::fs::remove_file(&path);
        let store = SqliteStore::open(&path).unwrap();
        super::super::conformance::run(&store).await;
        drop(store);
        // Reopen: subscriptions and usage reload from disk.
        let store = SqliteStore::open(&path).unwrap();
        let err = store
            .publish(
                NewMessage {
                    topic: b"t2".to_vec(),
                    sender: b"A".to_vec(),
                    payload: b"12".to_vec(),
                    sent_at: 1,
                    expires_at: 300,
                    recipients: None,
                },
                MailboxLimits {
                    max_messages: 2,
                    max_bytes: 10,
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::MailboxFull { .. }), "{err:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
