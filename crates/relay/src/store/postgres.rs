//! PostgreSQL backend, selected by a `postgres://` database URL.
//!
//! Every call runs in its own transaction on one connection (serialised by a
//! mutex); `COMMIT` returning means PostgreSQL has made it durable
//! (`synchronous_commit` on, the server default). Subscriptions and mailbox
//! usage are mirrored in memory like the SQLite backend, updated only after
//! a successful commit.

use std::collections::HashMap;

use futures_util::future::BoxFuture;
use tokio::sync::Mutex;
use tokio_postgres::{Client, NoTls};

use super::{
    Blob, DeviceRecord, MailboxLimits, MessageId, NewMessage, Published, Store, StoredMessage,
};
use crate::{Error, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS messages(
    id BIGSERIAL PRIMARY KEY,
    topic BYTEA NOT NULL,
    sender BYTEA NOT NULL,
    payload BYTEA NOT NULL,
    sent_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS messages_expiry ON messages(expires_at);
CREATE TABLE IF NOT EXISTS inbox(
    device BYTEA NOT NULL,
    msg_id BIGINT NOT NULL,
    PRIMARY KEY(device, msg_id));
CREATE INDEX IF NOT EXISTS inbox_msg ON inbox(msg_id);
CREATE TABLE IF NOT EXISTS subscriptions(
    device BYTEA NOT NULL,
    topic BYTEA NOT NULL,
    PRIMARY KEY(device, topic));
CREATE TABLE IF NOT EXISTS blobs(
    namespace BYTEA NOT NULL,
    key BYTEA NOT NULL,
    value BYTEA NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY(namespace, key));
CREATE TABLE IF NOT EXISTS revocations(
    target BYTEA PRIMARY KEY,
    record BYTEA NOT NULL,
    revoked_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS devices(
    device BYTEA PRIMARY KEY,
    grp BYTEA NOT NULL,
    public_key BYTEA NOT NULL,
    founder BOOLEAN NOT NULL,
    token_id BYTEA,
    last_seen BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS devices_group ON devices(grp);
";

#[derive(Default)]
struct Mirror {
    subs: HashMap<Vec<u8>, Vec<Vec<u8>>>,
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

/// PostgreSQL connections per relay.
const CONNECTIONS: usize = 8;

impl PgStore {
    fn pick(&self) -> &Mutex<Client> {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        &self.clients[i % self.clients.len()]
    }

    /// Connect to `url`, create the schema if needed and load the mirror.
    /// Must be called inside a tokio runtime.
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
        let client = &clients[0];
        client.batch_execute(SCHEMA).await.map_err(pg_err)?;
        let mut mirror = Mirror::default();
        for row in client
            .query("SELECT topic, device FROM subscriptions", &[])
            .await
            .map_err(pg_err)?
        {
            mirror
                .subs
                .entry(row.get::<_, Vec<u8>>(0))
                .or_default()
                .push(row.get(1));
        }
        for row in client
            .query(
                "SELECT i.device, COUNT(*), COALESCE(SUM(length(m.payload)), 0)::BIGINT FROM inbox i \
                 JOIN messages m ON m.id = i.msg_id GROUP BY i.device",
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
        let recipients: Vec<Vec<u8>> = {
            let mirror = self.mirror.lock().map_err(poisoned)?;
            let r: Vec<Vec<u8>> = match m.recipients.take() {
                Some(r) => r,
                None => mirror
                    .subs
                    .get(&m.topic)
                    .map(|v| v.iter().filter(|d| **d != m.sender).cloned().collect())
                    .unwrap_or_default(),
            };
            for d in &r {
                let (c, b) = mirror.usage.get(d).copied().unwrap_or((0, 0));
                if c + 1 > limits.max_messages || b + len > limits.max_bytes {
                    return Err(Error::MailboxFull {
                        device: hex::encode(d),
                    });
                }
            }
            r
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
                    &(m.sent_at as i64),
                    &(m.expires_at as i64),
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
                .prepare("INSERT INTO inbox(device, msg_id) VALUES ($1, $2)")
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
        Ok(Published { id, recipients })
    }

    async fn ack_inner(&self, device: Vec<u8>, ids: Vec<MessageId>) -> Result<()> {
        let mut client = self.pick().lock().await;
        let tx = client.transaction().await.map_err(pg_err)?;
        let mut freed = (0u64, 0u64);
        for id in ids {
            let rows = tx
                .query(
                    "WITH d AS (DELETE FROM inbox WHERE device = $1 AND msg_id = $2 RETURNING msg_id) \
                     SELECT length(m.payload)::BIGINT FROM messages m JOIN d ON d.msg_id = m.id",
                    &[&device, &id],
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
        if let Some(e) = mirror.usage.get_mut(&device) {
            e.0 = e.0.saturating_sub(freed.0);
            e.1 = e.1.saturating_sub(freed.1);
        }
        Ok(())
    }

    async fn expire_inner(&self, now: u64) -> Result<u64> {
        let now = now as i64;
        let mut client = self.pick().lock().await;
        let tx = client.transaction().await.map_err(pg_err)?;
        let freed = tx
            .query(
                "SELECT i.device, length(m.payload)::BIGINT FROM inbox i \
                 JOIN messages m ON m.id = i.msg_id WHERE m.expires_at <= $1",
                &[&now],
            )
            .await
            .map_err(pg_err)?;
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
        Ok(n)
    }
}

fn row_to_device(r: &tokio_postgres::Row) -> DeviceRecord {
    DeviceRecord {
        device: r.get(0),
        group: r.get(1),
        public_key: r.get(2),
        founder: r.get(3),
        token_id: r.get(4),
        last_seen: r.get::<_, i64>(5) as u64,
    }
}

impl Store for PgStore {
    fn publish(&self, msg: NewMessage, limits: MailboxLimits) -> BoxFuture<'_, Result<Published>> {
        Box::pin(self.publish_inner(msg, limits))
    }

    fn pending(
        &self,
        device: Vec<u8>,
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
                     WHERE i.device = $1 AND i.msg_id > $2 AND m.expires_at > $3 \
                     ORDER BY m.id LIMIT $4",
                    &[&device, &after, &(now as i64), &(limit as i64)],
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

    fn ack(&self, device: Vec<u8>, ids: Vec<MessageId>) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.ack_inner(device, ids))
    }

    fn subscribe(&self, device: Vec<u8>, topic: Vec<u8>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let client = self.pick().lock().await;
            client
                .execute(
                    "INSERT INTO subscriptions(device, topic) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[&device, &topic],
                )
                .await
                .map_err(pg_err)?;
            let mut mirror = self.mirror.lock().map_err(poisoned)?;
            let v = mirror.subs.entry(topic).or_default();
            if !v.contains(&device) {
                v.push(device);
            }
            Ok(())
        })
    }

    fn unsubscribe(&self, device: Vec<u8>, topic: Vec<u8>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let client = self.pick().lock().await;
            client
                .execute(
                    "DELETE FROM subscriptions WHERE device = $1 AND topic = $2",
                    &[&device, &topic],
                )
                .await
                .map_err(pg_err)?;
            let mut mirror = self.mirror.lock().map_err(poisoned)?;
            if let Some(v) = mirror.subs.get_mut(&topic) {
                v.retain(|d| *d != device);
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
                &[&namespace, &key, &value, &(version as i64), &(now as i64)],
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

    fn revoke(&self, target: Vec<u8>, record: Vec<u8>, at: u64) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            let client = self.pick().lock().await;
            let n = client
                .execute(
                    "INSERT INTO revocations(target, record, revoked_at) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                    &[&target, &record, &(at as i64)],
                )
                .await
                .map_err(pg_err)?;
            Ok(n == 1)
        })
    }

    fn revoked(&self) -> BoxFuture<'_, Result<Vec<Vec<u8>>>> {
        Box::pin(async move {
            let client = self.pick().lock().await;
            let rows = client
                .query("SELECT target FROM revocations", &[])
                .await
                .map_err(pg_err)?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    fn upsert_device(&self, rec: DeviceRecord) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let client = self.pick().lock().await;
            client
                .execute(
                    "INSERT INTO devices(device, grp, public_key, founder, token_id, last_seen) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT(device) DO UPDATE SET \
                     grp = excluded.grp, public_key = excluded.public_key, \
                     founder = excluded.founder, token_id = excluded.token_id, \
                     last_seen = excluded.last_seen",
                    &[
                        &rec.device,
                        &rec.group,
                        &rec.public_key,
                        &rec.founder,
                        &rec.token_id,
                        &(rec.last_seen as i64),
                    ],
                )
                .await
                .map_err(pg_err)?;
            Ok(())
        })
    }

    fn device(&self, device: Vec<u8>) -> BoxFuture<'_, Result<Option<DeviceRecord>>> {
        Box::pin(async move {
            let client = self.pick().lock().await;
            Ok(client
                .query_opt(
                    "SELECT device, grp, public_key, founder, token_id, last_seen FROM devices \
                     WHERE device = $1",
                    &[&device],
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
                    "SELECT device, grp, public_key, founder, token_id, last_seen FROM devices \
                     WHERE grp = $1",
                    &[&group],
                )
                .await
                .map_err(pg_err)?
                .iter()
                .map(row_to_device)
                .collect())
        })
    }

    fn touch(&self, device: Vec<u8>, now: u64) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let client = self.pick().lock().await;
            client
                .execute(
                    "UPDATE devices SET last_seen = $2 WHERE device = $1",
                    &[&device, &(now as i64)],
                )
                .await
                .map_err(pg_err)?;
            Ok(())
        })
    }

    fn forget_device(&self, device: Vec<u8>) -> BoxFuture<'_, Result<u64>> {
        Box::pin(async move {
            let ids: Vec<i64> = {
                let client = self.pick().lock().await;
                client
                    .execute("DELETE FROM subscriptions WHERE device = $1", &[&device])
                    .await
                    .map_err(pg_err)?;
                client
                    .query("SELECT msg_id FROM inbox WHERE device = $1", &[&device])
                    .await
                    .map_err(pg_err)?
                    .iter()
                    .map(|r| r.get(0))
                    .collect()
            };
            let n = ids.len() as u64;
            self.ack_inner(device.clone(), ids).await?;
            let mut mirror = self.mirror.lock().map_err(poisoned)?;
            for v in mirror.subs.values_mut() {
                v.retain(|d| *d != device);
            }
            mirror.subs.retain(|_, v| !v.is_empty());
            mirror.usage.remove(&device);
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
