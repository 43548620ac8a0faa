//! Durable state behind one trait: the mailbox, topic subscriptions, the blob
//! store, device records and revocations.
//!
//! Two backends: embedded SQLite in WAL mode (the default, no configuration)
//! and PostgreSQL (selected by a `postgres://` URL). Every write returns only
//! after it is committed, so an acknowledgement the relay sends after a store
//! call is never ahead of the disk.
//!
//! Identifiers (device ids, topics, group ids) are opaque bytes here; the
//! server converts them from `tandem-pair` types. Times are unix seconds
//! passed in by the caller so tests control the clock.

use futures_util::future::BoxFuture;

use crate::Result;

pub mod postgres;
pub mod sqlite;

/// Row id of a mailbox message; strictly increasing per relay database.
pub type MessageId = i64;

/// A message to store for every current subscriber of its topic but the sender.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Routing topic (opaque).
    pub topic: Vec<u8>,
    /// Device id of the authenticated sender.
    pub sender: Vec<u8>,
    /// Opaque envelope bytes; never inspected or logged.
    pub payload: Vec<u8>,
    /// Unix seconds when the relay accepted it.
    pub sent_at: u64,
    /// Unix seconds after which the message is dropped undelivered.
    pub expires_at: u64,
    /// Explicit recipients; `None` = every subscriber of `topic` but the sender.
    pub recipients: Option<Vec<Vec<u8>>>,
}

/// What the store did with a [`NewMessage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Id under which the message is stored (and acknowledged).
    pub id: MessageId,
    /// Devices whose mailbox now holds it.
    pub recipients: Vec<Vec<u8>>,
}

/// A message waiting in a device's mailbox.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Message id, used to acknowledge it.
    pub id: MessageId,
    /// Topic it was published on.
    pub topic: Vec<u8>,
    /// Sender's device id.
    pub sender: Vec<u8>,
    /// Opaque envelope bytes.
    pub payload: Vec<u8>,
    /// Unix seconds when the relay accepted it.
    pub sent_at: u64,
    /// Unix seconds after which it expires.
    pub expires_at: u64,
}

impl core::fmt::Debug for StoredMessage {
    // Payloads never reach logs, not even in debug output.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StoredMessage")
            .field("id", &self.id)
            .field("topic", &hex::encode(&self.topic))
            .field("payload_len", &self.payload.len())
            .finish_non_exhaustive()
    }
}

/// Mailbox limits enforced by the store when a message is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxLimits {
    /// Most messages waiting for one device.
    pub max_messages: u64,
    /// Most payload bytes waiting for one device.
    pub max_bytes: u64,
}

impl Default for MailboxLimits {
    fn default() -> Self {
        Self {
            max_messages: 10_000,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// A stored encrypted blob.
#[derive(Clone, PartialEq, Eq)]
pub struct Blob {
    /// Opaque ciphertext.
    pub value: Vec<u8>,
    /// Version, starting at 1 and increased by every put.
    pub version: u64,
    /// Unix seconds of the last put.
    pub updated_at: u64,
}

impl core::fmt::Debug for Blob {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Blob")
            .field("len", &self.value.len())
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// A device the relay has authenticated at least once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Device id.
    pub device: Vec<u8>,
    /// Group the device belongs to.
    pub group: Vec<u8>,
    /// Ed25519 identity public key.
    pub public_key: Vec<u8>,
    /// Whether it founded the group (needs no session token).
    pub founder: bool,
    /// Session token id it last authenticated with, if any.
    pub token_id: Option<Vec<u8>>,
    /// Unix seconds of the last authentication or disconnect.
    pub last_seen: u64,
}

/// Storage backend. Every method returns after its writes are committed.
pub trait Store: Send + Sync + 'static {
    /// Store `msg` in the mailbox of its explicit recipients, or else of every
    /// subscriber of its topic except the sender. Fails with [`crate::Error::MailboxFull`] if any recipient's
    /// mailbox would exceed `limits`.
    fn publish(&self, msg: NewMessage, limits: MailboxLimits) -> BoxFuture<'_, Result<Published>>;
    /// Unexpired messages waiting for `device`, oldest first, at most `limit`,
    /// with id greater than `after`.
    fn pending(
        &self,
        device: Vec<u8>,
        after: MessageId,
        limit: usize,
        now: u64,
    ) -> BoxFuture<'_, Result<Vec<StoredMessage>>>;
    /// Remove acknowledged messages from `device`'s mailbox. Unknown ids are ignored.
    fn ack(&self, device: Vec<u8>, ids: Vec<MessageId>) -> BoxFuture<'_, Result<()>>;
    /// Subscribe `device` to `topic` durably (it keeps receiving into its
    /// mailbox while offline).
    fn subscribe(&self, device: Vec<u8>, topic: Vec<u8>) -> BoxFuture<'_, Result<()>>;
    /// Remove a subscription; its waiting messages stay until acked or expired.
    fn unsubscribe(&self, device: Vec<u8>, topic: Vec<u8>) -> BoxFuture<'_, Result<()>>;
    /// Delete expired messages; returns how many were deleted.
    fn expire(&self, now: u64) -> BoxFuture<'_, Result<u64>>;
    /// Store a blob under (`namespace`, `key`). With `expected_version`, the
    /// put only succeeds if the current version equals it (0 = absent).
    fn blob_put(
        &self,
        namespace: Vec<u8>,
        key: Vec<u8>,
        value: Vec<u8>,
        expected_version: Option<u64>,
        now: u64,
    ) -> BoxFuture<'_, Result<u64>>;
    /// Fetch a blob.
    fn blob_get(&self, namespace: Vec<u8>, key: Vec<u8>) -> BoxFuture<'_, Result<Option<Blob>>>;
    /// Total bytes stored under a namespace.
    fn blob_usage(&self, namespace: Vec<u8>) -> BoxFuture<'_, Result<u64>>;
    /// Record a revocation of `target` (a device id or token id). Returns
    /// false if it was already revoked.
    fn revoke(&self, target: Vec<u8>, record: Vec<u8>, at: u64) -> BoxFuture<'_, Result<bool>>;
    /// Every revoked target.
    fn revoked(&self) -> BoxFuture<'_, Result<Vec<Vec<u8>>>>;
    /// Insert or update a device record.
    fn upsert_device(&self, rec: DeviceRecord) -> BoxFuture<'_, Result<()>>;
    /// One device's record.
    fn device(&self, device: Vec<u8>) -> BoxFuture<'_, Result<Option<DeviceRecord>>>;
    /// Every device of a group.
    fn group_devices(&self, group: Vec<u8>) -> BoxFuture<'_, Result<Vec<DeviceRecord>>>;
    /// Set a device's last-seen time.
    fn touch(&self, device: Vec<u8>, now: u64) -> BoxFuture<'_, Result<()>>;
    /// Number of messages currently stored (for metrics).
    fn message_count(&self) -> BoxFuture<'_, Result<u64>>;
    /// Drops a (revoked) device's subscriptions and waiting messages.
    /// Returns how many mailbox entries were removed.
    fn forget_device(&self, device: Vec<u8>) -> BoxFuture<'_, Result<u64>>;
}

/// Open a store from a database location: `postgres://` or `postgresql://`
/// URLs select PostgreSQL; anything else is a SQLite file path.
pub async fn open(location: &str) -> Result<std::sync::Arc<dyn Store>> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(
            postgres::PgStore::connect(location).await?,
        ))
    } else {
        Ok(std::sync::Arc::new(sqlite::SqliteStore::open(location)?))
    }
}

/// Shared behaviour checks run against each backend (by the unit tests
/// and by the PostgreSQL integration test). Panics on the first mismatch.
#[doc(hidden)]
#[allow(clippy::unwrap_used, missing_docs)]
pub mod conformance {
    use super::*;

    fn msg(topic: &[u8], sender: &[u8], payload: &[u8], expires_at: u64) -> NewMessage {
        NewMessage {
            topic: topic.to_vec(),
            sender: sender.to_vec(),
            payload: payload.to_vec(),
            sent_at: 1,
            expires_at,
            recipients: None,
        }
    }

    pub async fn run(store: &dyn Store) {
        let lim = MailboxLimits::default();
        // Nobody subscribed: stored for nobody.
        let p = store
            .publish(msg(b"t1", b"A", b"x", 100), lim)
            .await
            .unwrap();
        assert!(p.recipients.is_empty());

        store
            .subscribe(b"A".to_vec(), b"t1".to_vec())
            .await
            .unwrap();
        store
            .subscribe(b"B".to_vec(), b"t1".to_vec())
            .await
            .unwrap();
        store
            .subscribe(b"B".to_vec(), b"t1".to_vec())
            .await
            .unwrap(); // idempotent
        let p1 = store
            .publish(msg(b"t1", b"A", b"hello", 100), lim)
            .await
            .unwrap();
        assert_eq!(p1.recipients, vec![b"B".to_vec()]);
        let p2 = store
            .publish(msg(b"t1", b"B", b"back", 100), lim)
            .await
            .unwrap();
        assert_eq!(p2.recipients, vec![b"A".to_vec()]);
        assert!(p2.id > p1.id);

        let b = store.pending(b"B".to_vec(), 0, 10, 50).await.unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].payload, b"hello");
        assert_eq!(b[0].sender, b"A");
        assert_eq!(b[0].id, p1.id);
        assert_eq!(b[0].sent_at, 1);
        // after cursor
        assert!(store
            .pending(b"B".to_vec(), p1.id, 10, 50)
            .await
            .unwrap()
            .is_empty());
        // expired messages are not delivered
        assert!(store
            .pending(b"B".to_vec(), 0, 10, 100)
            .await
            .unwrap()
            .is_empty());

        store
            .ack(b"B".to_vec(), vec![p1.id, 999_999])
            .await
            .unwrap();
        assert!(store
            .pending(b"B".to_vec(), 0, 10, 50)
            .await
            .unwrap()
            .is_empty());
        // A's copy unaffected by B's ack
        assert_eq!(
            store.pending(b"A".to_vec(), 0, 10, 50).await.unwrap().len(),
            1
        );

        // Unsubscribed devices stop receiving.
        store
            .unsubscribe(b"A".to_vec(), b"t1".to_vec())
            .await
            .unwrap();
        let p3 = store
            .publish(msg(b"t1", b"B", b"again", 100), lim)
            .await
            .unwrap();
        assert!(p3.recipients.is_empty());

        // Limits: C's mailbox holds at most 2 messages / 10 bytes.
        store
            .subscribe(b"C".to_vec(), b"t2".to_vec())
            .await
            .unwrap();
        let small = MailboxLimits {
            max_messages: 2,
            max_bytes: 10,
        };
        store
            .publish(msg(b"t2", b"A", b"1234", 100), small)
            .await
            .unwrap();
        let err = store
            .publish(msg(b"t2", b"A", b"1234567", 100), small)
            .await
            .unwrap_err();
        assert!(matches!(err, crate::Error::MailboxFull { .. }), "{err:?}");
        store
            .publish(msg(b"t2", b"A", b"12", 100), small)
            .await
            .unwrap();
        let err = store
            .publish(msg(b"t2", b"A", b"1", 100), small)
            .await
            .unwrap_err();
        assert!(matches!(err, crate::Error::MailboxFull { .. }), "{err:?}");
        let c = store.pending(b"C".to_vec(), 0, 10, 0).await.unwrap();
        assert_eq!(c.len(), 2);
        store.ack(b"C".to_vec(), vec![c[0].id]).await.unwrap();
        store
            .publish(msg(b"t2", b"A", b"1", 100), small)
            .await
            .unwrap();

        // Explicit recipients ignore subscriptions.
        let mut m = msg(b"t9", b"A", b"direct", 100);
        m.recipients = Some(vec![b"E".to_vec(), b"F".to_vec()]);
        let p4 = store.publish(m, lim).await.unwrap();
        assert_eq!(p4.recipients.len(), 2);
        assert_eq!(
            store.pending(b"F".to_vec(), 0, 10, 0).await.unwrap()[0].payload,
            b"direct"
        );

        // Expiry deletes and frees quota.
        let n = store.expire(100).await.unwrap();
        assert!(n >= 4, "expired {n}");
        assert!(store
            .pending(b"C".to_vec(), 0, 10, 0)
            .await
            .unwrap()
            .is_empty());
        store
            .publish(msg(b"t2", b"A", b"123456789", 200), small)
            .await
            .unwrap();

        // Blobs with versions and compare-and-swap.
        assert_eq!(
            store.blob_get(b"g".to_vec(), b"k".to_vec()).await.unwrap(),
            None
        );
        let v1 = store
            .blob_put(b"g".to_vec(), b"k".to_vec(), b"v1".to_vec(), Some(0), 5)
            .await
            .unwrap();
        assert_eq!(v1, 1);
        let err = store
            .blob_put(b"g".to_vec(), b"k".to_vec(), b"v2".to_vec(), Some(0), 6)
            .await
            .unwrap_err();
        assert!(
            matches!(err, crate::Error::BlobVersionConflict { current: 1 }),
            "{err:?}"
        );
        let v2 = store
            .blob_put(b"g".to_vec(), b"k".to_vec(), b"v2!".to_vec(), None, 7)
            .await
            .unwrap();
        assert_eq!(v2, 2);
        let blob = store
            .blob_get(b"g".to_vec(), b"k".to_vec())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (blob.value.as_slice(), blob.version, blob.updated_at),
            (&b"v2!"[..], 2, 7)
        );
        assert_eq!(
            store
                .blob_get(b"other".to_vec(), b"k".to_vec())
                .await
                .unwrap(),
            None
        );
        assert_eq!(store.blob_usage(b"g".to_vec()).await.unwrap(), 3);

        // Revocations.
        assert!(store
            .revoke(b"D".to_vec(), b"rec".to_vec(), 9)
            .await
            .unwrap());
        assert!(!store
            .revoke(b"D".to_vec(), b"rec".to_vec(), 10)
            .await
            .unwrap());
        assert_eq!(store.revoked().await.unwrap(), vec![b"D".to_vec()]);

        // Devices.
        let rec = DeviceRecord {
            device: b"A".to_vec(),
            group: b"G".to_vec(),
            public_key: vec![7; 32],
            founder: true,
            token_id: None,
            last_seen: 1,
        };
        store.upsert_device(rec.clone()).await.unwrap();
        let rec_b = DeviceRecord {
            device: b"B".to_vec(),
            founder: false,
            token_id: Some(b"tok".to_vec()),
            ..rec.clone()
        };
        store.upsert_device(rec_b.clone()).await.unwrap();
        store.touch(b"A".to_vec(), 42).await.unwrap();
        assert_eq!(
            store
                .device(b"A".to_vec())
                .await
                .unwrap()
                .unwrap()
                .last_seen,
            42
        );
        assert_eq!(store.device(b"Z".to_vec()).await.unwrap(), None);
        let mut g = store.group_devices(b"G".to_vec()).await.unwrap();
        g.sort_by(|a, b| a.device.cmp(&b.device));
        assert_eq!(g.len(), 2);
        assert_eq!(g[1], rec_b);
        assert!(store.message_count().await.unwrap() >= 1);

        // Forgetting a device drops its mailbox and subscriptions.
        store
            .subscribe(b"R".to_vec(), b"t7".to_vec())
            .await
            .unwrap();
        store
            .publish(msg(b"t7", b"A", b"for-r", 1000), lim)
            .await
            .unwrap();
        assert_eq!(store.forget_device(b"R".to_vec()).await.unwrap(), 1);
        assert!(store
            .pending(b"R".to_vec(), 0, 10, 0)
            .await
            .unwrap()
            .is_empty());
        let p = store
            .publish(msg(b"t7", b"A", b"again", 1000), lim)
            .await
            .unwrap();
        assert!(p.recipients.is_empty());
    }
}
