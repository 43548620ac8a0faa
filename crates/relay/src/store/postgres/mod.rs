//! PostgreSQL backend, selected by a `postgres://` database URL. Any number
//! of relay processes (nodes) may share one database.
//!
//! - Publishes and acks go to one writer task per node that commits
//!   whatever is queued in one transaction ([`writer`]: group commit).
//!   `COMMIT` returning means PostgreSQL has made it durable
//!   (`synchronous_commit` on, the server default).
//! - Nothing the database decides is cached in the process: subscribers,
//!   mailbox room, devices and tokens are read from it, so what one node
//!   commits is what the next request on any node sees.
//! - Each committing transaction notifies the other nodes ([`notify`]), and
//!   the store turns their notifications into [`Event`]s for the relay.
//! - Rules that count before they write (a pairing topic's two parties, a
//!   device's subscriptions, a group's membership) hold across nodes under
//!   PostgreSQL advisory locks.
//! - A connection PostgreSQL closed (a restart, a network cut) is opened
//!   again on its next use.

mod notify;
mod writer;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use rand_core::{OsRng, RngCore};
use tokio::sync::{mpsc, oneshot, Mutex, OwnedMutexGuard};
use tokio_postgres::{Client, NoTls};

use super::{
    backup_allowed, BackupRow, Blob, ChainHead, DeviceRecord, Event, GroupGuard, MailboxDepths,
    MailboxLimits, MessageId, NewMessage, NewRevocation, Published, RevokedEntry, Store,
    StoredMessage, Subscribed, TargetKind, SCHEMA_VERSION, TOPIC_PARTIES,
};
use crate::{Error, Result};

/// Version 2 layout. `mailbox` columns hold the server's mailbox keys.
const SCHEMA: &str = "
CREATE TABLE relay_schema(version BIGINT NOT NULL);
CREATE TABLE messages(
    id BIGSERIAL PRIMARY KEY,
    topic BYTEA NOT NULL,
    sender BYTEA NOT NULL,
    payload BYTEA NOT NULL,
    sent_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL);
CREATE INDEX messages_expiry ON messages(expires_at);
CREATE TABLE inbox(
    mailbox BYTEA NOT NULL,
    msg_id BIGINT NOT NULL,
    PRIMARY KEY(mailbox, msg_id));
CREATE INDEX inbox_msg ON inbox(msg_id);
CREATE TABLE subscriptions(
    mailbox BYTEA NOT NULL,
    topic BYTEA NOT NULL,
    until BIGINT NOT NULL,
    PRIMARY KEY(mailbox, topic));
CREATE INDEX subscriptions_until ON subscriptions(until);
CREATE TABLE blobs(
    namespace BYTEA NOT NULL,
    key BYTEA NOT NULL,
    value BYTEA NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY(namespace, key));
CREATE TABLE devices(
    grp BYTEA NOT NULL,
    device BYTEA NOT NULL,
    public_key BYTEA NOT NULL,
    founder BOOLEAN NOT NULL,
    token BYTEA,
    revoked BIGINT,
    last_seen BIGINT,
    PRIMARY KEY(grp, device));
CREATE TABLE tokens(
    grp BYTEA NOT NULL,
    token_id BYTEA NOT NULL,
    device BYTEA NOT NULL,
    token BYTEA NOT NULL,
    PRIMARY KEY(grp, token_id));
CREATE TABLE revocations(
    grp BYTEA NOT NULL,
    seq BIGINT NOT NULL,
    kind BIGINT NOT NULL,
    target BYTEA NOT NULL,
    device BYTEA NOT NULL,
    record BYTEA NOT NULL,
    revoked_at BIGINT NOT NULL,
    PRIMARY KEY(grp, seq));
";

/// The subscribers of a batch's topics (the writer's statement; public
/// for the test that checks PostgreSQL finds them by index).
#[doc(hidden)]
pub const SUBSCRIBERS: &str =
    "SELECT topic, mailbox, until FROM subscriptions WHERE topic = ANY($1::bytea[])";

/// Connections for reads and the writes that do not batch.
const POOL: usize = 8;

/// Connections that wait for a group's membership lock another node holds.
const LOCKERS: usize = 2;

/// PostgreSQL store handle.
pub struct PgStore {
    url: String,
    /// Used round-robin; one connection's frames stay ordered because the
    /// relay awaits each call.
    pool: Vec<Mutex<Client>>,
    next: std::sync::atomic::AtomicUsize,
    /// Holds the membership locks this node takes without waiting
    /// (session locks; shared, so any number are held at once).
    holder: Mutex<Arc<Client>>,
    lockers: Vec<Arc<Mutex<Client>>>,
    writer: mpsc::UnboundedSender<writer::Job>,
    /// The writer's batching figures.
    stats: Arc<super::WriterStats>,
    node: u64,
    events: std::sync::Mutex<Option<mpsc::Receiver<Event>>>,
}

impl core::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PgStore")
            .field("node", &format_args!("{:016x}", self.node))
            .finish_non_exhaustive()
    }
}

fn pg_err(e: tokio_postgres::Error) -> Error {
    Error::Storage(describe(&e))
}

/// The server's own words when it sent an error ("db error" alone says
/// nothing to an operator).
fn describe(e: &tokio_postgres::Error) -> String {
    match (e.as_db_error(), std::error::Error::source(e)) {
        (Some(db), _) => format!("PostgreSQL: {}", db.message()),
        // "error connecting to server" alone hides the reason (refused,
        // timed out, no such host).
        (None, Some(cause)) => format!("{e}: {cause}"),
        (None, None) => e.to_string(),
    }
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// How each kind of connection names itself to PostgreSQL
/// (`pg_stat_activity.application_name`).
const POOL_NAME: &str = "tandem-relay";
const WRITER_NAME: &str = "tandem-relay-write";
const LOCK_NAME: &str = "tandem-relay-lock";
const LISTEN_NAME: &str = "tandem-relay-listen";

/// Connects to `url` as `name`; the returned connection still has to be
/// driven.
async fn open(
    url: &str,
    name: &str,
) -> Result<(
    Client,
    tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>,
)> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| Error::Storage(format!("bad PostgreSQL URL: {e}")))?;
    config.application_name(name);
    config
        .connect(NoTls)
        .await
        .map_err(|e| Error::Storage(format!("cannot connect to PostgreSQL: {}", describe(&e))))
}

/// One connection named `name`, driven by its own task.
async fn connect_one(url: &str, name: &str) -> Result<Client> {
    let (client, conn) = open(url, name).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::warn!(error = %describe(&e), "PostgreSQL connection ended");
        }
    });
    Ok(client)
}

/// A stable advisory-lock key for `bytes` under a purpose tag (FNV-1a):
/// every node must derive the same key.
fn lock_key(tag: u8, bytes: &[u8]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in std::iter::once(&tag).chain(bytes) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

const GROUP_LOCK: u8 = b'g';
const MAILBOX_LOCK: u8 = b'm';
const TOPIC_LOCK: u8 = b't';
const SCHEMA_LOCK: u8 = b's';

/// Creates the schema in an empty database, or checks an existing one is
/// this relay's version.
async fn init_schema(client: &mut Client, url: &str) -> Result<()> {
    // The URL may carry a password: name only where it points.
    let location = url.rsplit('@').next().unwrap_or("the PostgreSQL database");
    let tx = client.transaction().await.map_err(pg_err)?;
    // Nodes starting together set the schema up one at a time.
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&lock_key(SCHEMA_LOCK, b"schema")],
    )
    .await
    .map_err(pg_err)?;
    let row = tx
        .query_one(
            "SELECT to_regclass('relay_schema') IS NOT NULL, to_regclass('messages') IS NOT NULL",
            &[],
        )
        .await
        .map_err(pg_err)?;
    let (versioned, has_tables): (bool, bool) = (row.get(0), row.get(1));
    if versioned {
        let found: Option<i64> = tx
            .query_opt("SELECT version FROM relay_schema", &[])
            .await
            .map_err(pg_err)?
            .map(|r| r.get(0));
        return match found {
            Some(v) if v == SCHEMA_VERSION => {
                tx.batch_execute(&additions()).await.map_err(pg_err)?;
                tx.commit().await.map_err(pg_err)
            }
            other => Err(super::wrong_schema(other.unwrap_or(0), location)),
        };
    }
    if has_tables {
        // Version 1 relays kept no version table.
        return Err(super::wrong_schema(1, location));
    }
    tx.batch_execute(SCHEMA).await.map_err(pg_err)?;
    tx.batch_execute(&additions()).await.map_err(pg_err)?;
    tx.execute(
        "INSERT INTO relay_schema(version) VALUES ($1)",
        &[&SCHEMA_VERSION],
    )
    .await
    .map_err(pg_err)?;
    tx.commit().await.map_err(pg_err)
}

/// Added to the version 2 layout since, without changing what older
/// relays read or write: made in a new database and in an existing one.
/// - `backups`: encrypted backups (older relays do not touch it).
/// - `subscriptions_topic`: a publish to a topic looks up its subscribers
///   by topic, which the primary key (mailbox first) does not serve; every
///   batch with a topic publish scanned the whole table.
fn additions() -> String {
    format!(
        "{};\nCREATE INDEX IF NOT EXISTS subscriptions_topic ON subscriptions(topic);",
        super::BACKUPS_TABLE.replace("BYTEA_OR_BLOB", "BYTEA")
    )
}

const DEVICE_COLUMNS: &str = "grp, device, public_key, founder, token, revoked, last_seen";

fn row_to_device(r: &tokio_postgres::Row) -> DeviceRecord {
    DeviceRecord {
        group: r.get(0),
        device: r.get(1),
        public_key: r.get(2),
        founder: r.get(3),
        token: r.get(4),
        revoked: r
            .get::<_, Option<i64>>(5)
            .and_then(|s| u32::try_from(s).ok()),
        last_seen: r.get::<_, Option<i64>>(6).map(|t| t as u64),
    }
}

impl PgStore {
    /// Connect to `url`, create the schema if needed (refusing a database of
    /// another schema version) and start listening for the other nodes.
    /// Must be called inside a tokio runtime.
    pub async fn connect(url: &str) -> Result<Self> {
        let mut pool = Vec::with_capacity(POOL);
        for _ in 0..POOL {
            pool.push(connect_one(url, POOL_NAME).await?);
        }
        init_schema(&mut pool[0], url).await?;
        let mut lockers = Vec::with_capacity(LOCKERS);
        for _ in 0..LOCKERS {
            lockers.push(Arc::new(Mutex::new(connect_one(url, LOCK_NAME).await?)));
        }
        let holder = Mutex::new(Arc::new(connect_one(url, LOCK_NAME).await?));
        let node = OsRng.next_u64();
        let events = notify::start(url.to_owned(), node).await?;
        let stats = Arc::new(super::WriterStats::default());
        let writer = writer::start(
            url.to_owned(),
            writer::Conn::open(url).await?,
            node,
            Arc::clone(&stats),
        );
        Ok(Self {
            url: url.to_owned(),
            pool: pool.into_iter().map(Mutex::new).collect(),
            next: std::sync::atomic::AtomicUsize::new(0),
            holder,
            lockers,
            writer,
            stats,
            node,
            events: std::sync::Mutex::new(Some(events)),
        })
    }

    /// The next pool connection, opened again if PostgreSQL closed it.
    async fn conn(&self) -> Result<tokio::sync::MutexGuard<'_, Client>> {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut c = self.pool[i % self.pool.len()].lock().await;
        if c.is_closed() {
            *c = connect_one(&self.url, POOL_NAME).await?;
        }
        Ok(c)
    }

    async fn queue<T>(&self, job: writer::Job, rx: oneshot::Receiver<Result<T>>) -> Result<T> {
        let stopped = || Error::Storage("the PostgreSQL writer stopped".into());
        self.writer.send(job).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    async fn subscribe_inner(
        &self,
        mailbox: Vec<u8>,
        topic: Vec<u8>,
        until: u64,
        now: u64,
        max: usize,
    ) -> Result<Subscribed> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        // Count-then-insert of one mailbox and of one topic runs alone on
        // every node (locks taken in key order, so two never wait on each
        // other).
        let mut keys = [
            lock_key(MAILBOX_LOCK, &mailbox),
            lock_key(TOPIC_LOCK, &topic),
        ];
        keys.sort_unstable();
        for k in keys {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&k])
                .await
                .map_err(pg_err)?;
        }
        let others: i64 = tx
            .query_one(
                "SELECT COUNT(*) FROM subscriptions WHERE mailbox = $1 AND topic <> $2 AND until > $3",
                &[&mailbox, &topic, &to_i64(now)],
            )
            .await
            .map_err(pg_err)?
            .get(0);
        if others as u64 >= max as u64 {
            return Ok(Subscribed::TooMany);
        }
        let parties: i64 = tx
            .query_one(
                "SELECT COUNT(*) FROM subscriptions WHERE topic = $1 AND mailbox <> $2 AND until > $3",
                &[&topic, &mailbox, &to_i64(now)],
            )
            .await
            .map_err(pg_err)?
            .get(0);
        if parties as u64 >= TOPIC_PARTIES as u64 {
            return Ok(Subscribed::TopicFull);
        }
        tx.execute(
            "INSERT INTO subscriptions(mailbox, topic, until) VALUES ($1, $2, $3) \
             ON CONFLICT(mailbox, topic) DO UPDATE SET until = excluded.until",
            &[&mailbox, &topic, &to_i64(until)],
        )
        .await
        .map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(Subscribed::Yes)
    }

    async fn append_revocation_inner(&self, r: NewRevocation) -> Result<bool> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let len: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(seq), 0)::BIGINT FROM revocations WHERE grp = $1",
                &[&r.group],
            )
            .await
            .map_err(pg_err)?
            .get(0);
        let seq = i64::from(r.seq);
        if len + 1 != seq {
            return Ok(false);
        }
        // A concurrent writer of the same position loses on the primary key.
        let n = tx
            .execute(
                "INSERT INTO revocations(grp, seq, kind, target, device, record, revoked_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                &[
                    &r.group,
                    &seq,
                    &r.kind.to_i64(),
                    &r.target,
                    &r.device,
                    &r.record,
                    &to_i64(r.at),
                ],
            )
            .await
            .map_err(pg_err)?;
        if n != 1 {
            return Ok(false);
        }
        tx.execute(
            "UPDATE devices SET revoked = $3 WHERE grp = $1 AND device = $2 AND revoked IS NULL",
            &[&r.group, &r.device, &seq],
        )
        .await
        .map_err(pg_err)?;
        // Nodes where the removed device is connected cut it off.
        let line = notify::revoked_line(&RevokedEntry {
            group: r.group.clone(),
            seq: r.seq,
            kind: r.kind,
            target: r.target.clone(),
            device: r.device.clone(),
        });
        notify::notify(&tx, self.node, &[line]).await?;
        tx.commit().await.map_err(pg_err)?;
        Ok(true)
    }

    async fn blob_put_inner(
        &self,
        namespace: Vec<u8>,
        key: Vec<u8>,
        value: Vec<u8>,
        expected_version: Option<u64>,
        now: u64,
    ) -> Result<u64> {
        let client = self.conn().await?;
        let (ns, k, v, t) = (&namespace, &key, &value, &to_i64(now));
        // One statement each, so the version check and the write are one
        // step for PostgreSQL's row locks, whichever node runs them.
        let row = match expected_version {
            None => {
                client
                    .query_opt(
                        "INSERT INTO blobs(namespace, key, value, version, updated_at) \
                         VALUES ($1, $2, $3, 1, $4) ON CONFLICT(namespace, key) DO UPDATE SET \
                         value = excluded.value, version = blobs.version + 1, \
                         updated_at = excluded.updated_at RETURNING version",
                        &[ns, k, v, t],
                    )
                    .await
            }
            Some(0) => {
                client
                    .query_opt(
                        "INSERT INTO blobs(namespace, key, value, version, updated_at) \
                         VALUES ($1, $2, $3, 1, $4) ON CONFLICT DO NOTHING RETURNING version",
                        &[ns, k, v, t],
                    )
                    .await
            }
            Some(exp) => {
                client
                    .query_opt(
                        "UPDATE blobs SET value = $3, version = version + 1, updated_at = $4 \
                         WHERE namespace = $1 AND key = $2 AND version = $5 RETURNING version",
                        &[ns, k, v, t, &to_i64(exp)],
                    )
                    .await
            }
        }
        .map_err(pg_err)?;
        if let Some(r) = row {
            return Ok(r.get::<_, i64>(0) as u64);
        }
        let current = client
            .query_opt(
                "SELECT version FROM blobs WHERE namespace = $1 AND key = $2",
                &[ns, k],
            )
            .await
            .map_err(pg_err)?
            .map_or(0, |r| r.get::<_, i64>(0) as u64);
        Err(Error::BlobVersionConflict { current })
    }

    async fn backup_put_inner(
        &self,
        id: Vec<u8>,
        public_key: Vec<u8>,
        counter: u64,
        value: Option<Vec<u8>>,
        now: u64,
    ) -> Result<bool> {
        let (c, t) = (to_i64(counter), to_i64(now));
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        if value.is_some() {
            // A first write registers its key (one statement: two nodes
            // racing on a new id cannot both register).
            let inserted = tx
                .query_opt(
                    "INSERT INTO backups(id, public_key, counter, value, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING RETURNING counter",
                    &[&id, &public_key, &c, &value, &t],
                )
                .await
                .map_err(pg_err)?;
            if inserted.is_some() {
                tx.commit().await.map_err(pg_err)?;
                return Ok(true);
            }
        }
        let Some(row) = tx
            .query_opt(
                "SELECT public_key, counter FROM backups WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await
            .map_err(pg_err)?
        else {
            return Ok(false);
        };
        let key: Vec<u8> = row.get(0);
        backup_allowed(
            Some((key.as_slice(), row.get::<_, i64>(1) as u64)),
            &public_key,
            counter,
        )?;
        tx.execute(
            "UPDATE backups SET counter = $2, value = $3, updated_at = $4 WHERE id = $1",
            &[&id, &c, &value, &t],
        )
        .await
        .map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(true)
    }

    /// A group's membership lock across nodes. Usually no other node holds
    /// it (this node's own holders queue in the relay), so it is tried
    /// first on the shared holder connection, a round trip with no
    /// connection set aside; only when another node holds it does one of
    /// the waiting connections block on it.
    async fn lock_group_inner(&self, group: Vec<u8>) -> Result<GroupGuard> {
        let key = lock_key(GROUP_LOCK, &group);
        let holder = {
            let mut h = self.holder.lock().await;
            if h.is_closed() {
                *h = Arc::new(connect_one(&self.url, LOCK_NAME).await?);
            }
            Arc::clone(&h)
        };
        let got: bool = holder
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .await
            .map_err(pg_err)?
            .get(0);
        if got {
            return Ok(GroupGuard::holding(Box::new(HeldLock::Session(Some((
                holder, key,
            ))))));
        }
        let slot = (key as u64 % self.lockers.len() as u64) as usize;
        let mut c = Arc::clone(&self.lockers[slot]).lock_owned().await;
        if c.is_closed() {
            *c = connect_one(&self.url, LOCK_NAME).await?;
        }
        // A transaction-scoped lock: if this node dies, PostgreSQL ends the
        // transaction and the lock with its connection.
        c.batch_execute("BEGIN").await.map_err(pg_err)?;
        if let Err(e) = c.execute("SELECT pg_advisory_xact_lock($1)", &[&key]).await {
            let _ = c.batch_execute("ROLLBACK").await;
            return Err(pg_err(e));
        }
        Ok(GroupGuard::holding(Box::new(HeldLock::Waited(Some(c)))))
    }

    async fn forget_device_inner(&self, mailbox: Vec<u8>) -> Result<u64> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        tx.execute("DELETE FROM subscriptions WHERE mailbox = $1", &[&mailbox])
            .await
            .map_err(pg_err)?;
        let ids: Vec<i64> = tx
            .query(
                "DELETE FROM inbox WHERE mailbox = $1 RETURNING msg_id",
                &[&mailbox],
            )
            .await
            .map_err(pg_err)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        drop_unreferenced(&tx, &ids).await?;
        tx.commit().await.map_err(pg_err)?;
        Ok(ids.len() as u64)
    }

    async fn expire_inner(&self, now: u64) -> Result<u64> {
        let now = to_i64(now);
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        tx.execute(
            "DELETE FROM inbox WHERE msg_id IN (SELECT id FROM messages WHERE expires_at <= $1)",
            &[&now],
        )
        .await
        .map_err(pg_err)?;
        let n = tx
            .execute("DELETE FROM messages WHERE expires_at <= $1", &[&now])
            .await
            .map_err(pg_err)?;
        tx.execute("DELETE FROM subscriptions WHERE until <= $1", &[&now])
            .await
            .map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(n)
    }
}

const DROP_UNREFERENCED: &str = "DELETE FROM messages m WHERE m.id = ANY($1::int8[]) \
     AND NOT EXISTS (SELECT 1 FROM inbox WHERE msg_id = m.id)";

/// Deletes those of `ids` that no mailbox holds any more. A message another
/// node's mailbox still holds (committed or not yet) stays: when the last
/// two acks of a message commit at the same moment on two nodes, each
/// leaves it to the other, and it stays, unreachable, until it expires.
async fn drop_unreferenced(tx: &tokio_postgres::Transaction<'_>, ids: &[i64]) -> Result<()> {
    tx.execute(DROP_UNREFERENCED, &[&ids])
        .await
        .map_err(pg_err)?;
    Ok(())
}

/// A held membership lock, released (in the background: `Drop` cannot
/// wait) when dropped. Either way a node that dies releases it with its
/// connection.
enum HeldLock {
    /// A session lock on the shared holder connection.
    Session(Option<(Arc<Client>, i64)>),
    /// A waiting connection inside its locking transaction; it serves the
    /// next wait once the transaction ends.
    Waited(Option<OwnedMutexGuard<Client>>),
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        match self {
            Self::Session(held) => {
                if let Some((c, key)) = held.take() {
                    rt.spawn(async move {
                        let _ = c.execute("SELECT pg_advisory_unlock($1)", &[&key]).await;
                    });
                }
            }
            Self::Waited(held) => {
                if let Some(c) = held.take() {
                    rt.spawn(async move {
                        let _ = c.batch_execute("COMMIT").await;
                    });
                }
            }
        }
    }
}

fn stored_message(r: &tokio_postgres::Row) -> StoredMessage {
    StoredMessage {
        id: r.get(0),
        topic: r.get(1),
        sender: r.get(2),
        payload: r.get(3),
        expires_at: r.get::<_, i64>(4) as u64,
        sent_at: r.get::<_, i64>(5) as u64,
    }
}

impl Store for PgStore {
    fn writer_stats(&self) -> Option<&super::WriterStats> {
        Some(&self.stats)
    }

    fn publish(&self, msg: NewMessage, limits: MailboxLimits) -> BoxFuture<'_, Result<Published>> {
        let (reply, rx) = oneshot::channel();
        Box::pin(self.queue(writer::Job::Publish { msg, limits, reply }, rx))
    }

    fn pending(
        &self,
        mailbox: Vec<u8>,
        after: MessageId,
        limit: usize,
        now: u64,
    ) -> BoxFuture<'_, Result<Vec<StoredMessage>>> {
        Box::pin(async move {
            let client = self.conn().await?;
            let rows = client
                .query(
                    "SELECT m.id, m.topic, m.sender, m.payload, m.expires_at, m.sent_at FROM inbox i \
                     JOIN messages m ON m.id = i.msg_id \
                     WHERE i.mailbox = $1 AND i.msg_id > $2 AND m.expires_at > $3 \
                     ORDER BY m.id LIMIT $4",
                    &[&mailbox, &after, &to_i64(now), &(limit as i64)],
                )
                .await
                .map_err(pg_err)?;
            Ok(rows.iter().map(stored_message).collect())
        })
    }

    fn messages(&self, ids: Vec<MessageId>) -> BoxFuture<'_, Result<Vec<StoredMessage>>> {
        Box::pin(async move {
            let client = self.conn().await?;
            let rows = client
                .query(
                    "SELECT id, topic, sender, payload, expires_at, sent_at FROM messages \
                     WHERE id = ANY($1) ORDER BY id",
                    &[&ids],
                )
                .await
                .map_err(pg_err)?;
            Ok(rows.iter().map(stored_message).collect())
        })
    }

    fn ack(&self, mailbox: Vec<u8>, ids: Vec<MessageId>) -> BoxFuture<'_, Result<()>> {
        let (reply, rx) = oneshot::channel();
        Box::pin(self.queue(
            writer::Job::Ack {
                mailbox,
                ids,
                reply: Some(reply),
            },
            rx,
        ))
    }

    fn ack_queued(&self, mailbox: Vec<u8>, ids: Vec<MessageId>) {
        let job = writer::Job::Ack {
            mailbox,
            ids,
            reply: None,
        };
        if self.writer.send(job).is_err() {
            self.stats
                .acks_failed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::error!("queued ack failed: the PostgreSQL writer stopped");
        }
    }

    fn barrier(&self) -> BoxFuture<'_, Result<()>> {
        let (reply, rx) = oneshot::channel();
        Box::pin(self.queue(
            writer::Job::Ack {
                mailbox: Vec::new(),
                ids: Vec::new(),
                reply: Some(reply),
            },
            rx,
        ))
    }

    fn subscribe(
        &self,
        mailbox: Vec<u8>,
        topic: Vec<u8>,
        until: u64,
        now: u64,
        max: usize,
    ) -> BoxFuture<'_, Result<Subscribed>> {
        Box::pin(self.subscribe_inner(mailbox, topic, until, now, max))
    }

    fn unsubscribe(&self, mailbox: Vec<u8>, topic: Vec<u8>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.conn()
                .await?
                .execute(
                    "DELETE FROM subscriptions WHERE mailbox = $1 AND topic = $2",
                    &[&mailbox, &topic],
                )
                .await
                .map_err(pg_err)?;
            Ok(())
        })
    }

    fn expire(&self, now: u64) -> BoxFuture<'_, Result<u64>> {
        Box::pin(self.expire_inner(now))
    }

    fn blob_put(
        &self,
        namespace: Vec<u8>,
        key: Vec<u8>,
        value: Vec<u8>,
        expected_version: Option<u64>,
        now: u64,
    ) -> BoxFuture<'_, Result<u64>> {
        Box::pin(self.blob_put_inner(namespace, key, value, expected_version, now))
    }

    fn blob_get(&self, namespace: Vec<u8>, key: Vec<u8>) -> BoxFuture<'_, Result<Option<Blob>>> {
        Box::pin(async move {
            let client = self.conn().await?;
            Ok(client
                .query_opt(
                    "SELECT value, version, updated_at FROM blobs WHERE namespace = $1 AND key = $2",
                    &[&namespace, &key],
                )
                .await
                .map_err(pg_err)?
                .map(|r| Blob {
                    value: r.get(0),
                    version: r.get::<_, i64>(1) as u64,
                    updated_at: r.get::<_, i64>(2) as u64,
                }))
        })
    }

    fn blob_usage(&self, namespace: Vec<u8>) -> BoxFuture<'_, Result<u64>> {
        Box::pin(async move {
            let client = self.conn().await?;
            let row = client
                .query_one(
                    "SELECT COALESCE(SUM(length(value)), 0)::BIGINT FROM blobs WHERE namespace = $1",
                    &[&namespace],
                )
                .await
                .map_err(pg_err)?;
            Ok(row.get::<_, i64>(0) as u64)
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
        Box::pin(self.backup_put_inner(id, public_key, counter, value, now))
    }

    fn backup_get(&self, id: Vec<u8>) -> BoxFuture<'_, Result<Option<BackupRow>>> {
        Box::pin(async move {
            let client = self.conn().await?;
            Ok(client
                .query_opt(
                    "SELECT public_key, counter, value, updated_at FROM backups WHERE id = $1",
                    &[&id],
                )
                .await
                .map_err(pg_err)?
                .map(|r| BackupRow {
                    public_key: r.get(0),
                    counter: r.get::<_, i64>(1) as u64,
                    value: r.get(2),
                    updated_at: r.get::<_, i64>(3) as u64,
                }))
        })
    }

    fn put_device(
        &self,
        rec: DeviceRecord,
        token_id: Option<Vec<u8>>,
    ) -> BoxFuture<'_, Result<()>> {
        let (reply, rx) = oneshot::channel();
        // Committed with whatever else is queued; the other nodes drop
        // their cached view of the group's members when it commits.
        Box::pin(self.queue(
            writer::Job::Device {
                rec,
                token_id,
                reply,
            },
            rx,
        ))
    }

    fn device(
        &self,
        group: Vec<u8>,
        device: Vec<u8>,
    ) -> BoxFuture<'_, Result<Option<DeviceRecord>>> {
        Box::pin(async move {
            let client = self.conn().await?;
            Ok(client
                .query_opt(
                    &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE grp = $1 AND device = $2"),
                    &[&group, &device],
                )
                .await
                .map_err(pg_err)?
                .as_ref()
                .map(row_to_device))
        })
    }

    fn group_devices(&self, group: Vec<u8>) -> BoxFuture<'_, Result<Vec<DeviceRecord>>> {
        Box::pin(async move {
            let client = self.conn().await?;
            Ok(client
                .query(
                    &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE grp = $1 ORDER BY device"),
                    &[&group],
                )
                .await
                .map_err(pg_err)?
                .iter()
                .map(row_to_device)
                .collect())
        })
    }

    fn token(&self, group: Vec<u8>, token_id: Vec<u8>) -> BoxFuture<'_, Result<Option<Vec<u8>>>> {
        Box::pin(async move {
            let client = self.conn().await?;
            Ok(client
                .query_opt(
                    "SELECT token FROM tokens WHERE grp = $1 AND token_id = $2",
                    &[&group, &token_id],
                )
                .await
                .map_err(pg_err)?
                .map(|r| r.get(0)))
        })
    }

    fn touch(&self, group: Vec<u8>, device: Vec<u8>, now: u64) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let client = self.conn().await?;
            client
                .execute(
                    "UPDATE devices SET last_seen = $3 WHERE grp = $1 AND device = $2",
                    &[&group, &device, &to_i64(now)],
                )
                .await
                .map_err(pg_err)?;
            Ok(())
        })
    }

    fn append_revocation(&self, rev: NewRevocation) -> BoxFuture<'_, Result<bool>> {
        Box::pin(self.append_revocation_inner(rev))
    }

    fn revocations(
        &self,
        group: Vec<u8>,
        after: u32,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Vec<u8>>>> {
        Box::pin(async move {
            let client = self.conn().await?;
            Ok(client
                .query(
                    "SELECT record FROM revocations WHERE grp = $1 AND seq > $2 \
                     ORDER BY seq LIMIT $3",
                    &[&group, &i64::from(after), &(limit as i64)],
                )
                .await
                .map_err(pg_err)?
                .iter()
                .map(|r| r.get(0))
                .collect())
        })
    }

    fn chain_head(&self, group: Vec<u8>) -> BoxFuture<'_, Result<Option<ChainHead>>> {
        Box::pin(async move {
            let client = self.conn().await?;
            let row = client
                .query_opt(
                    "SELECT seq, record FROM revocations WHERE grp = $1 ORDER BY seq DESC LIMIT 1",
                    &[&group],
                )
                .await
                .map_err(pg_err)?;
            row.map(|r| {
                let seq = u32::try_from(r.get::<_, i64>(0))
                    .map_err(|_| Error::Storage("revocation position out of range".into()))?;
                Ok(ChainHead {
                    len: seq,
                    last: r.get(1),
                })
            })
            .transpose()
        })
    }

    fn revoked(&self) -> BoxFuture<'_, Result<Vec<RevokedEntry>>> {
        Box::pin(async move {
            let client = self.conn().await?;
            let rows = client
                .query(
                    "SELECT grp, seq, kind, target, device FROM revocations",
                    &[],
                )
                .await
                .map_err(pg_err)?;
            rows.iter()
                .map(|r| {
                    let kind: i64 = r.get(2);
                    Ok(RevokedEntry {
                        group: r.get(0),
                        seq: u32::try_from(r.get::<_, i64>(1)).map_err(|_| {
                            Error::Storage("revocation position out of range".into())
                        })?,
                        kind: TargetKind::from_i64(kind).ok_or_else(|| {
                            Error::Storage(format!("revocation with unknown target kind {kind}"))
                        })?,
                        target: r.get(3),
                        device: r.get(4),
                    })
                })
                .collect()
        })
    }

    fn mailbox_depths(&self) -> BoxFuture<'_, Result<MailboxDepths>> {
        Box::pin(async move {
            let client = self.conn().await?;
            let row = client.query_one(super::DEPTHS, &[]).await.map_err(pg_err)?;
            Ok(MailboxDepths {
                mailboxes: row.get::<_, i64>(0) as u64,
                entries: row.get::<_, i64>(1) as u64,
                deepest: row.get::<_, i64>(2) as u64,
            })
        })
    }

    fn message_count(&self) -> BoxFuture<'_, Result<u64>> {
        Box::pin(async move {
            let client = self.conn().await?;
            let row = client
                .query_one("SELECT COUNT(*) FROM messages", &[])
                .await
                .map_err(pg_err)?;
            Ok(row.get::<_, i64>(0) as u64)
        })
    }

    fn forget_device(&self, mailbox: Vec<u8>) -> BoxFuture<'_, Result<u64>> {
        Box::pin(self.forget_device_inner(mailbox))
    }

    fn events(&self) -> Option<mpsc::Receiver<Event>> {
        self.events.lock().ok()?.take()
    }

    fn lock_group(&self, group: Vec<u8>) -> BoxFuture<'_, Result<GroupGuard>> {
        Box::pin(self.lock_group_inner(group))
    }
}
