//! PostgreSQL backend, selected by a `postgres://` database URL.
//!
//! Every call runs in its own transaction on one of a few connections;
//! `COMMIT` returning means PostgreSQL has made it durable
//! (`synchronous_commit` on, the server default). Subscriptions and mailbox
//! usage are mirrored in memory like the SQLite backend, updated only after
//! a successful commit.

use std::collections::HashMap;

use futures_util::future::BoxFuture;
use tokio::sync::Mutex;
use tokio_postgres::{Client, NoTls};

use super::{
    split_full, Blob, ChainHead, DeviceRecord, MailboxLimits, MessageId, NewMessage, NewRevocation,
    Published, RevokedEntry, Store, StoredMessage, Subscribed, TargetKind, SCHEMA_VERSION,
    TOPIC_PARTIES,
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

/// A subscriber of a topic and when its subscription ends.
type Subscriber = (Vec<u8>, u64);

#[derive(Default)]
struct Mirror {
    subs: HashMap<Vec<u8>, Vec<Subscriber>>,
    usage: HashMap<Vec<u8>, (u64, u64)>,
}

/// PostgreSQL store handle.
pub struct PgStore {
    /// A few connections used round-robin: independent operations commit
    /// concurrently and PostgreSQL shares WAL flushes between them. One
    /// connection's frames stay ordered because the relay awaits each call.
    clients: Vec<Mutex<Client>>,
    next: std::sync::atomic::AtomicUsize,
    mirror: std::sync::Mutex<Mirror>,
}

impl core::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

fn pg_err(e: tokio_postgres::Error) -> Error {
    Error::Storage(e.to_string())
}

fn poisoned<T>(_: T) -> Error {
    Error::Storage("internal state lock poisoned".into())
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// PostgreSQL connections per relay.
const CONNECTIONS: usize = 8;

/// Creates the schema in an empty database, or checks an existing one is
/// this relay's version.
async fn init_schema(client: &mut Client, url: &str) -> Result<()> {
    // The URL may carry a password: name only where it points.
    let location = url.rsplit('@').next().unwrap_or("the PostgreSQL database");
    let tx = client.transaction().await.map_err(pg_err)?;
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
            Some(v) if v == SCHEMA_VERSION => Ok(()),
            other => Err(super::wrong_schema(other.unwrap_or(0), location)),
        };
    }
    if has_tables {
        // Version 1 relays kept no version table.
        return Err(super::wrong_schema(1, location));
    }
    tx.batch_execute(SCHEMA).await.map_err(pg_err)?;
    tx.execute(
        "INSERT INTO relay_schema(version) VALUES ($1)",
        &[&SCHEMA_VERSION],
    )
    .await
    .map_err(pg_err)?;
    tx.commit().await.map_err(pg_err)
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
    fn pick(&self) -> &Mutex<Client> {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        &self.clients[i % self.clients.len()]
    }

    /// Connect to `url`, create the schema if needed (refusing a database of
    /// another schema version) and load the mirror. Must be called inside a
    /// tokio runtime.
    pub async fn connect(url: &str) -> Result<Self> {
        let mut clients = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            let (client, conn) = tokio_postgres::connect(url, NoTls)
                .await
                .map_err(|e| Error::Storage(format!("cannot connect to PostgreSQL: {e}")))?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    eprintln!("tandem-relay: PostgreSQL connection ended: {e}");
                }
            });
            clients.push(client);
        }
        init_schema(&mut clients[0], url).await?;
        let client = &clients[0];
        let mut mirror = Mirror::default();
        for row in client
            .query("SELECT topic, mailbox, until FROM subscriptions", &[])
            .await
            .map_err(pg_err)?
        {
            let until: i64 = row.get(2);
            mirror
                .subs
                .entry(row.get::<_, Vec<u8>>(0))
                .or_default()
                .push((row.get(1), until as u64));
        }
        for row in client
            .query(
                "SELECT i.mailbox, COUNT(*), COALESCE(SUM(length(m.payload)), 0)::BIGINT FROM inbox i \
                 JOIN messages m ON m.id = i.msg_id GROUP BY i.mailbox",
                &[],
            )
            .await
            .map_err(pg_err)?
        {
            let (c, b): (i64, i64) = (row.get(1), row.get(2));
            mirror.usage.insert(row.get(0), (c as u64, b as u64));
        }
        Ok(Self {
            clients: clients.into_iter().map(Mutex::new).collect(),
            next: std::sync::atomic::AtomicUsize::new(0),
            mirror: std::sync::Mutex::new(mirror),
        })
    }

    async fn publish_inner(&self, mut m: NewMessage, limits: MailboxLimits) -> Result<Published> {
        let len = m.payload.len() as u64;
        let mut client = self.pick().lock().await;
        let (recipients, full) = {
            let mirror = self.mirror.lock().map_err(poisoned)?;
            let candidates: Vec<Vec<u8>> = match m.recipients.take() {
                Some(r) => r,
                None => {
                    let subs = mirror.subs.get(&m.topic).map(Vec::as_slice).unwrap_or(&[]);
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
            split_full(candidates, len, limits, m.partial, |r| {
                mirror.usage.get(r).copied().unwrap_or((0, 0))
            })?
        };
        let tx = client.transaction().await.map_err(pg_err)?;
        let row = tx
            .query_one(
                "INSERT INTO messages(topic, sender, payload, sent_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[
                    &m.topic,
                    &m.sender,
                    &m.payload,
                    &to_i64(m.sent_at),
                    &to_i64(m.expires_at),
                ],
            )
            .await
            .map_err(pg_err)?;
        let id: i64 = row.get(0);
        if recipients.is_empty() {
            tx.execute("DELETE FROM messages WHERE id = $1", &[&id])
                .await
                .map_err(pg_err)?;
        } else {
            let st = tx
                .prepare("INSERT INTO inbox(mailbox, msg_id) VALUES ($1, $2)")
                .await
                .map_err(pg_err)?;
            for r in &recipients {
                tx.execute(&st, &[r, &id]).await.map_err(pg_err)?;
            }
        }
        tx.commit().await.map_err(pg_err)?;
        let mut mirror = self.mirror.lock().map_err(poisoned)?;
        for r in &recipients {
            let e = mirror.usage.entry(r.clone()).or_insert((0, 0));
            e.0 += 1;
            e.1 += len;
        }
        Ok(Published {
            id,
            recipients,
            full,
        })
    }

    async fn ack_inner(&self, mailbox: Vec<u8>, ids: Vec<MessageId>) -> Result<()> {
        let mut client = self.pick().lock().await;
        let tx = client.transaction().await.map_err(pg_err)?;
        let mut freed = (0u64, 0u64);
        for id in ids {
            let rows = tx
                .query(
                    "WITH d AS (DELETE FROM inbox WHERE mailbox = $1 AND msg_id = $2 RETURNING msg_id) \
                     SELECT length(m.payload)::BIGINT FROM messages m JOIN d ON d.msg_id = m.id",
                    &[&mailbox, &id],
                )
                .await
                .map_err(pg_err)?;
            if let Some(row) = rows.first() {
                freed.0 += 1;
                freed.1 += row.get::<_, i64>(0) as u64;
                tx.execute(
                    "DELETE FROM messages WHERE id = $1 AND NOT EXISTS \
                     (SELECT 1 FROM inbox WHERE msg_id = $1)",
                    &[&id],
                )
                .await
                .map_err(pg_err)?;
            }
        }
        tx.commit().await.map_err(pg_err)?;
        let mut mirror = self.mirror.lock().map_err(poisoned)?;
        if let Some(e) = mirror.usage.get_mut(&mailbox) {
            e.0 = e.0.saturating_sub(freed.0);
            e.1 = e.1.saturating_sub(freed.1);
        }
        Ok(())
    }

    async fn expire_inner(&self, now: u64) -> Result<u64> {
        let now_i = to_i64(now);
        let mut client = self.pick().lock().await;
        let tx = client.transaction().await.map_err(pg_err)?;
        let freed = tx
            .query(
                "SELECT i.mailbox, length(m.payload)::BIGINT FROM inbox i \
                 JOIN messages m ON m.id = i.msg_id WHERE m.expires_at <= $1",
                &[&now_i],
            )
            .await
            .map_err(pg_err)?;
        tx.execute(
            "DELETE FROM inbox WHERE msg_id IN (SELECT id FROM messages WHERE expires_at <= $1)",
            &[&now_i],
        )
        .await
        .map_err(pg_err)?;
        let n = tx
            .execute("DELETE FROM messages WHERE expires_at <= $1", &[&now_i])
            .await
            .map_err(pg_err)?;
        tx.execute("DELETE FROM subscriptions WHERE until <= $1", &[&now_i])
            .await
            .map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)?;
        let mut mirror = self.mirror.lock().map_err(poisoned)?;
        for row in freed {
            let d: Vec<u8> = row.get(0);
            let len: i64 = row.get(1);
            if let Some(e) = mirror.usage.get_mut(&d) {
                e.0 = e.0.saturating_sub(1);
                e.1 = e.1.saturating_sub(len as u64);
            }
        }
        for v in mirror.subs.values_mut() {
            v.retain(|(_, until)| *until > now);
        }
        mirror.subs.retain(|_, v| !v.is_empty());
        Ok(n)
    }

    async fn subscribe_inner(
        &self,
        mailbox: Vec<u8>,
        topic: Vec<u8>,
        until: u64,
        now: u64,
        max: usize,
    ) -> Result<Subscribed> {
        let mut client = self.pick().lock().await;
        let tx = client.transaction().await.map_err(pg_err)?;
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
        let mut mirror = self.mirror.lock().map_err(poisoned)?;
        let v = mirror.subs.entry(topic).or_default();
        match v.iter_mut().find(|(d, _)| *d == mailbox) {
            Some(s) => s.1 = until,
            None => v.push((mailbox, until)),
        }
        Ok(Subscribed::Yes)
    }

    async fn append_revocation_inner(&self, r: NewRevocation) -> Result<bool> {
        let mut client = self.pick().lock().await;
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
        tx.commit().await.map_err(pg_err)?;
        Ok(true)
    }
}

impl Store for PgStore {
    fn publish(&self, msg: NewMessage, limits: MailboxLimits) -> BoxFuture<'_, Result<Published>> {
        Box::pin(self.publish_inner(msg, limits))
    }

    fn pending(
        &self,
        mailbox: Vec<u8>,
        after: MessageId,
        limit: usize,
        now: u64,
    ) -> BoxFuture<'_, Result<Vec<StoredMessage>>> {
        Box::pin(async move {
            let client = self.pick().lock().await;
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
            Ok(rows
                .iter()
                .map(|r| StoredMessage {
                    id: r.get(0),
                    topic: r.get(1),
                    sender: r.get(2),
                    payload: r.get(3),
                    expires_at: r.get::<_, i64>(4) as u64,
                    sent_at: r.get::<_, i64>(5) as u64,
                })
                .collect())
        })
    }

    fn ack(&self, mailbox: Vec<u8>, ids: Vec<MessageId>) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.ack_inner(mailbox, ids))
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
            let client = self.pick().lock().await;
            client
                .execute(
                    "DELETE FROM subscriptions WHERE mailbox = $1 AND topic = $2",
                    &[&mailbox, &topic],
                )
                .await
                .map_err(pg_err)?;
            let mut mirror = self.mirror.lock().map_err(poisoned)?;
            if let Some(v) = mirror.subs.get_mut(&topic) {
                v.retain(|(d, _)| *d != mailbox);
                if v.is_empty() {
                    mirror.subs.remove(&topic);
                }
            }
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
        Box::pin(async move {
            let mut client = self.pick().lock().await;
            let tx = client.transaction().await.map_err(pg_err)?;
            let current = tx
                .query_opt(
                    "SELECT version FROM blobs WHERE namespace = $1 AND key = $2 FOR UPDATE",
                    &[&namespace, &key],
                )
                .await
                .map_err(pg_err)?
                .map(|r| r.get::<_, i64>(0) as u64)
                .unwrap_or(0);
            if let Some(exp) = expected_version {
                if exp != current {
                    return Err(Error::BlobVersionConflict { current });
                }
            }
            let version = current + 1;
            tx.execute(
                "INSERT INTO blobs(namespace, key, value, version, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT(namespace, key) DO UPDATE SET \
                 value = excluded.value, version = excluded.version, updated_at = excluded.updated_at",
                &[&namespace, &key, &value, &to_i64(version), &to_i64(now)],
            )
            .await
            .map_err(pg_err)?;
            tx.commit().await.map_err(pg_err)?;
            Ok(version)
        })
    }

    fn blob_get(&self, namespace: Vec<u8>, key: Vec<u8>) -> BoxFuture<'_, Result<Option<Blob>>> {
        Box::pin(async move {
            let client = self.pick().lock().await;
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
            let client = self.pick().lock().await;
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

    fn put_device(
        &self,
        rec: DeviceRecord,
        token_id: Option<Vec<u8>>,
    ) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let mut client = self.pick().lock().await;
            let tx = client.transaction().await.map_err(pg_err)?;
            tx.execute(
                "INSERT INTO devices(grp, device, public_key, founder, token, revoked, last_seen) \
                 VALUES ($1, $2, $3, $4, $5, NULL, $6) ON CONFLICT(grp, device) DO UPDATE SET \
                 public_key = excluded.public_key, founder = excluded.founder, \
                 token = excluded.token, \
                 last_seen = COALESCE(excluded.last_seen, devices.last_seen)",
                &[
                    &rec.group,
                    &rec.device,
                    &rec.public_key,
                    &rec.founder,
                    &rec.token,
                    &rec.last_seen.map(to_i64),
                ],
            )
            .await
            .map_err(pg_err)?;
            if let (Some(id), Some(token)) = (token_id, &rec.token) {
                tx.execute(
                    "INSERT INTO tokens(grp, token_id, device, token) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT DO NOTHING",
                    &[&rec.group, &id, &rec.device, token],
                )
                .await
                .map_err(pg_err)?;
            }
            tx.commit().await.map_err(pg_err)
        })
    }

    fn device(
        &self,
        group: Vec<u8>,
        device: Vec<u8>,
    ) -> BoxFuture<'_, Result<Option<DeviceRecord>>> {
        Box::pin(async move {
            let client = self.pick().lock().await;
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
            let client = self.pick().lock().await;
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
            let client = self.pick().lock().await;
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
            let client = self.pick().lock().await;
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
            let client = self.pick().lock().await;
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
            let client = self.pick().lock().await;
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
            let client = self.pick().lock().await;
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

    fn forget_device(&self, mailbox: Vec<u8>) -> BoxFuture<'_, Result<u64>> {
        Box::pin(async move {
            let ids: Vec<i64> = {
                let client = self.pick().lock().await;
                client
                    .execute("DELETE FROM subscriptions WHERE mailbox = $1", &[&mailbox])
                    .await
                    .map_err(pg_err)?;
                client
                    .query("SELECT msg_id FROM inbox WHERE mailbox = $1", &[&mailbox])
                    .await
                    .map_err(pg_err)?
                    .iter()
                    .map(|r| r.get(0))
                    .collect()
            };
            let n = ids.len() as u64;
            self.ack_inner(mailbox.clone(), ids).await?;
            let mut mirror = self.mirror.lock().map_err(poisoned)?;
            for v in mirror.subs.values_mut() {
                v.retain(|(d, _)| *d != mailbox);
            }
            mirror.subs.retain(|_, v| !v.is_empty());
            mirror.usage.remove(&mailbox);
            Ok(n)
        })
    }

    fn message_count(&self) -> BoxFuture<'_, Result<u64>> {
        Box::pin(async move {
            let client = self.pick().lock().await;
            let row = client
                .query_one("SELECT COUNT(*) FROM messages", &[])
                .await
                .map_err(pg_err)?;
            Ok(row.get::<_, i64>(0) as u64)
        })
    }
}
