//! Durable state behind one trait: mailboxes, pairing-topic subscriptions,
//! the blob store, and each group's devices, tokens and revocation chain.
//!
//! Two backends: embedded SQLite in WAL mode (the default, no configuration)
//! and PostgreSQL (selected by a `postgres://` URL). Every write returns only
//! after it is committed, so an acknowledgement the relay sends after a store
//! call is never ahead of the disk.
//!
//! Identifiers (device ids, topics, group ids, mailbox keys) are opaque
//! bytes here; the server converts them from `tandem-pair` types. A
//! *mailbox* is named by an opaque key: the server uses `group ‖ device` for
//! a group member and the bare device id for a guest, so nothing one group
//! does can reach another group's mailboxes. Times are unix seconds passed
//! in by the caller so tests control the clock.
//!
//! Several relay processes (nodes) may share one PostgreSQL database. The
//! store then reports what the other nodes committed as [`Event`]s (from
//! PostgreSQL's `LISTEN/NOTIFY`), and [`Store::lock_group`] serialises a
//! group's membership changes across all of them.

use futures_util::future::BoxFuture;

use crate::Result;

pub mod postgres;
pub mod sqlite;

/// Version of the database layout both backends write. A database of
/// another version is refused at startup with instructions.
pub const SCHEMA_VERSION: i64 = 2;

/// Row id of a mailbox message; strictly increasing per relay database.
pub type MessageId = i64;

/// A message to store in mailboxes.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Routing topic (opaque).
    pub topic: Vec<u8>,
    /// Device id of the authenticated sender.
    pub sender: Vec<u8>,
    /// Mailbox key of the sender: never a recipient of its own message.
    pub sender_mailbox: Vec<u8>,
    /// Opaque envelope bytes; never inspected or logged.
    pub payload: Vec<u8>,
    /// Unix seconds when the relay accepted it.
    pub sent_at: u64,
    /// Unix seconds after which the message is dropped undelivered. For a
    /// topic message the store lowers it to the earliest end of the
    /// recipients' subscriptions.
    pub expires_at: u64,
    /// Explicit recipient mailboxes; `None` = every mailbox subscribed to
    /// `topic` (subscription not ended at `sent_at`) but the sender's.
    pub recipients: Option<Vec<Vec<u8>>>,
    /// When true, recipients whose mailbox is at its limit are skipped and
    /// listed in [`Published::full`]; when false, one full mailbox fails the
    /// whole publish with [`crate::Error::MailboxFull`].
    pub partial: bool,
}

/// What the store did with a [`NewMessage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Id under which the message is stored (and acknowledged).
    pub id: MessageId,
    /// Mailboxes that now hold it.
    pub recipients: Vec<Vec<u8>>,
    /// Mailboxes skipped because they were full (only with `partial`).
    pub full: Vec<Vec<u8>>,
}

/// A message waiting in a mailbox.
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

/// The query behind [`Store::mailbox_depths`] (the same SQL on both
/// backends; SUM is NUMERIC in PostgreSQL, hence the casts).
pub(crate) const DEPTHS: &str =
    "SELECT COUNT(*), CAST(COALESCE(SUM(n), 0) AS BIGINT), CAST(COALESCE(MAX(n), 0) AS BIGINT) \
     FROM (SELECT COUNT(*) AS n FROM inbox GROUP BY mailbox) AS m";

/// Mailboxes with messages waiting, and how many wait.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailboxDepths {
    /// Mailboxes holding at least one message.
    pub mailboxes: u64,
    /// Mailbox entries (a message for three devices counts three times).
    pub entries: u64,
    /// Entries in the fullest mailbox.
    pub deepest: u64,
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

impl MailboxLimits {
    /// No limit (revocation notices must never be dropped).
    pub const UNLIMITED: Self = Self {
        max_messages: u64::MAX,
        max_bytes: u64::MAX,
    };
}

/// A pairing topic is a conversation between two devices: the new one and
/// the one that answers its offer.
pub const TOPIC_PARTIES: usize = 2;

/// What [`Store::subscribe`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscribed {
    /// Subscribed (or the end moved).
    Yes,
    /// The mailbox holds too many other subscriptions.
    TooMany,
    /// Two other mailboxes already hold this topic.
    TopicFull,
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

/// A backup under a recovery phrase's keys (see `tandem_pair::backup`).
#[derive(Clone, PartialEq, Eq)]
pub struct BackupRow {
    /// The Ed25519 key registered by the first write.
    pub public_key: Vec<u8>,
    /// The counter of the last write or delete.
    pub counter: u64,
    /// The sealed contents; `None` once deleted (the key and counter stay,
    /// so a recorded write cannot bring it back).
    pub value: Option<Vec<u8>>,
    /// Unix seconds of the last write or delete.
    pub updated_at: u64,
}

impl core::fmt::Debug for BackupRow {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BackupRow")
            .field("counter", &self.counter)
            .field("len", &self.value.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

/// The backups table, the same on both backends (created where missing:
/// a database made before backups existed gets it when opened).
pub(crate) const BACKUPS_TABLE: &str = "CREATE TABLE IF NOT EXISTS backups(
    id BYTEA_OR_BLOB NOT NULL PRIMARY KEY,
    public_key BYTEA_OR_BLOB NOT NULL,
    counter BIGINT NOT NULL,
    value BYTEA_OR_BLOB,
    updated_at BIGINT NOT NULL)";

/// What a backup write or delete may do to the row it finds: the key must
/// be the registered one and the counter must grow.
pub(crate) fn backup_allowed(
    found: Option<(&[u8], u64)>,
    public_key: &[u8],
    counter: u64,
) -> Result<()> {
    match found {
        Some((key, _)) if key != public_key => Err(crate::Error::BackupKey),
        Some((_, current)) if counter <= current => Err(crate::Error::BackupStale { current }),
        _ => Ok(()),
    }
}

/// A device of a group as the relay knows it: the founder (recorded when it
/// first authenticates) or a device another member admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Group.
    pub group: Vec<u8>,
    /// Device id.
    pub device: Vec<u8>,
    /// Ed25519 identity public key.
    pub public_key: Vec<u8>,
    /// Whether it founded the group (needs no session token).
    pub founder: bool,
    /// Its current session token (encoded); `None` for the founder.
    pub token: Option<Vec<u8>>,
    /// Position in the group's revocation chain of the record that removed
    /// it; set only by [`Store::append_revocation`].
    pub revoked: Option<u32>,
    /// Unix seconds it was last connected; `None` until it first connects.
    pub last_seen: Option<u64>,
}

/// What a revocation record names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    /// A device id.
    Device,
    /// A session token id.
    Token,
}

impl TargetKind {
    /// Stored form (the record's own encoding: 1 device, 2 token).
    pub fn to_i64(self) -> i64 {
        match self {
            Self::Device => 1,
            Self::Token => 2,
        }
    }

    /// Parses the stored form.
    pub fn from_i64(v: i64) -> Option<Self> {
        match v {
            1 => Some(Self::Device),
            2 => Some(Self::Token),
            _ => None,
        }
    }
}

/// A revocation record accepted into a group's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRevocation {
    /// Group.
    pub group: Vec<u8>,
    /// Position in the chain (1-based).
    pub seq: u32,
    /// What the record names.
    pub kind: TargetKind,
    /// The device or token id it names.
    pub target: Vec<u8>,
    /// The device it removes: the target device, or the holder of the
    /// target token.
    pub device: Vec<u8>,
    /// The encoded, signed record.
    pub record: Vec<u8>,
    /// Unix seconds when the relay accepted it.
    pub at: u64,
}

/// The end of a group's revocation chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// Number of records in the chain.
    pub len: u32,
    /// The last record (encoded).
    pub last: Vec<u8>,
}

/// Recipients with room, and those whose mailbox is full.
pub(crate) type Split = (Vec<Vec<u8>>, Vec<Vec<u8>>);

/// One revoked target, as loaded at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    /// Group.
    pub group: Vec<u8>,
    /// Chain position of the record.
    pub seq: u32,
    /// What the record names.
    pub kind: TargetKind,
    /// The device or token id it names.
    pub target: Vec<u8>,
    /// The device it removed.
    pub device: Vec<u8>,
}

/// Something another relay node committed to a shared database.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A message was stored in these mailboxes (fetch it with
    /// [`Store::messages`] to deliver it to devices connected here).
    Stored {
        /// The message.
        id: MessageId,
        /// Mailboxes that hold it.
        mailboxes: Vec<Vec<u8>>,
    },
    /// A revocation was accepted into a group's chain.
    Revoked(RevokedEntry),
    /// A group gained a device, or a device's record changed (forget what
    /// is cached of its members).
    Members {
        /// The group.
        group: Vec<u8>,
    },
    /// Events may have been missed (the listening connection was lost and
    /// is back): re-read the revoked set and the mailboxes of every device
    /// connected here.
    Resync,
}

/// Holds a group's cross-node membership lock until dropped (see
/// [`Store::lock_group`]).
pub struct GroupGuard(#[allow(dead_code)] Option<Box<dyn Send + Sync>>);

impl GroupGuard {
    /// A guard that holds nothing: one process owns the database.
    pub fn local() -> Self {
        Self(None)
    }

    /// A guard that releases its lock when `held` is dropped.
    pub fn holding(held: Box<dyn Send + Sync>) -> Self {
        Self(Some(held))
    }
}

impl core::fmt::Debug for GroupGuard {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GroupGuard").finish_non_exhaustive()
    }
}

/// How the store's writer folds jobs into transactions (group commit),
/// shown at `/metrics`: where a publish's time to durable goes under load.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// A batch: its jobs taken from the queue -> its COMMIT returned.
    pub batch: crate::metrics::Histogram,
    /// Of which the last step: writing the rows and the COMMIT (SQLite:
    /// the COMMIT and its fsync; PostgreSQL: the pipelined inserts,
    /// notification and COMMIT, one round trip).
    pub commit: crate::metrics::Histogram,
    /// SQLite: the writer's own checkpoints that caught the WAL up so its
    /// next transaction started it over (the WAL stays bounded under load).
    pub wal_catch_up: crate::metrics::Histogram,
    /// Jobs (publishes, acks and the other writes) in those batches.
    pub jobs: std::sync::atomic::AtomicU64,
    /// Queued acks ([`Store::ack_queued`]) whose batch failed.
    pub acks_failed: std::sync::atomic::AtomicU64,
}

impl WriterStats {
    /// Appends the writer's series in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        self.batch.render(
            out,
            "writer_batch_seconds",
            "Time of one group-commit batch, from taking its jobs to COMMIT returned.",
        );
        self.commit.render(
            out,
            "writer_commit_seconds",
            "Of a batch, the time writing its rows and committing.",
        );
        self.wal_catch_up.render(
            out,
            "writer_wal_catch_up_seconds",
            "SQLite: the writer's checkpoints that let it start the WAL over (the writer waits for them).",
        );
        let jobs = self.jobs.load(std::sync::atomic::Ordering::Relaxed);
        out.push_str(&format!(
            "# HELP tandem_relay_writer_jobs_total Jobs folded into group-commit batches (jobs per batch: this over writer_batch_seconds_count).\n\
             # TYPE tandem_relay_writer_jobs_total counter\ntandem_relay_writer_jobs_total {jobs}\n"
        ));
        let failed = self.acks_failed.load(std::sync::atomic::Ordering::Relaxed);
        out.push_str(&format!(
            "# HELP tandem_relay_writer_acks_failed_total Acks whose batch failed (their messages stay in the mailbox and are delivered again).\n\
             # TYPE tandem_relay_writer_acks_failed_total counter\ntandem_relay_writer_acks_failed_total {failed}\n"
        ));
    }
}

/// Storage backend. Every method returns after its writes are committed.
pub trait Store: Send + Sync + 'static {
    /// Store `msg` in the mailbox of its explicit recipients, or else of
    /// every current subscriber of its topic except the sender. Mailbox
    /// limits apply as [`NewMessage::partial`] says.
    fn publish(&self, msg: NewMessage, limits: MailboxLimits) -> BoxFuture<'_, Result<Published>>;
    /// Unexpired messages waiting in `mailbox`, oldest first, at most
    /// `limit`, with id greater than `after`.
    fn pending(
        &self,
        mailbox: Vec<u8>,
        after: MessageId,
        limit: usize,
        now: u64,
    ) -> BoxFuture<'_, Result<Vec<StoredMessage>>>;
    /// Remove acknowledged messages from a mailbox. Unknown ids are ignored.
    fn ack(&self, mailbox: Vec<u8>, ids: Vec<MessageId>) -> BoxFuture<'_, Result<()>>;
    /// [`Store::ack`] without waiting: the removal is queued on the writer,
    /// in order with everything queued after it, so a later
    /// [`Store::barrier`] returns only once it is committed. A failure is
    /// logged and counted ([`WriterStats::acks_failed`]); the message then
    /// stays in its mailbox and is delivered again (at-least-once).
    fn ack_queued(&self, mailbox: Vec<u8>, ids: Vec<MessageId>);
    /// Returns once every write queued before it has committed (Ok) or
    /// failed (the batch's storage error).
    fn barrier(&self) -> BoxFuture<'_, Result<()>>;
    /// Subscribe `mailbox` to `topic` until `until` (durable: it keeps
    /// receiving while offline). Subscribing again to the same topic moves
    /// its end. Changes nothing and says why when the mailbox already holds
    /// `max` other subscriptions that have not ended at `now`, or when
    /// [`TOPIC_PARTIES`] other mailboxes hold this topic.
    fn subscribe(
        &self,
        mailbox: Vec<u8>,
        topic: Vec<u8>,
        until: u64,
        now: u64,
        max: usize,
    ) -> BoxFuture<'_, Result<Subscribed>>;
    /// Remove a subscription; its waiting messages stay until acked or expired.
    fn unsubscribe(&self, mailbox: Vec<u8>, topic: Vec<u8>) -> BoxFuture<'_, Result<()>>;
    /// Delete expired messages and ended subscriptions; returns how many
    /// messages were deleted.
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
    /// Writes backup `id` (`value` `None`: deletes its contents) in one
    /// step with the checks: the first write registers `public_key`; later
    /// ones must come with the same key ([`crate::Error::BackupKey`]) and
    /// a counter above the stored one ([`crate::Error::BackupStale`]). A
    /// delete of a backup never written is `Ok(false)`, changing nothing.
    fn backup_put(
        &self,
        id: Vec<u8>,
        public_key: Vec<u8>,
        counter: u64,
        value: Option<Vec<u8>>,
        now: u64,
    ) -> BoxFuture<'_, Result<bool>>;
    /// Reads backup `id`.
    fn backup_get(&self, id: Vec<u8>) -> BoxFuture<'_, Result<Option<BackupRow>>>;
    /// Insert a device into its group, or update an existing one's key,
    /// founder flag, current token and (if given) last-seen time. Its revoked
    /// state is never changed here. With `token_id`, the token also becomes
    /// known to the group under that id (an id already known keeps its token).
    fn put_device(&self, rec: DeviceRecord, token_id: Option<Vec<u8>>)
        -> BoxFuture<'_, Result<()>>;
    /// One device of a group.
    fn device(
        &self,
        group: Vec<u8>,
        device: Vec<u8>,
    ) -> BoxFuture<'_, Result<Option<DeviceRecord>>>;
    /// Every device of a group (revoked ones included).
    fn group_devices(&self, group: Vec<u8>) -> BoxFuture<'_, Result<Vec<DeviceRecord>>>;
    /// A token known to a group (admitted), by id: its encoding.
    fn token(&self, group: Vec<u8>, token_id: Vec<u8>) -> BoxFuture<'_, Result<Option<Vec<u8>>>>;
    /// Set a device's last-seen time.
    fn touch(&self, group: Vec<u8>, device: Vec<u8>, now: u64) -> BoxFuture<'_, Result<()>>;
    /// Append a record to its group's chain and mark the device it removes
    /// as revoked, in one transaction. Returns false, changing nothing, if
    /// `seq` is not the chain's length + 1.
    fn append_revocation(&self, rev: NewRevocation) -> BoxFuture<'_, Result<bool>>;
    /// Encoded records of a group's chain after position `after`, in chain
    /// order, at most `limit`.
    fn revocations(
        &self,
        group: Vec<u8>,
        after: u32,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Vec<u8>>>>;
    /// Length of a group's chain and its last record.
    fn chain_head(&self, group: Vec<u8>) -> BoxFuture<'_, Result<Option<ChainHead>>>;
    /// Every revoked target of every group.
    fn revoked(&self) -> BoxFuture<'_, Result<Vec<RevokedEntry>>>;
    /// Number of messages currently stored (for metrics).
    fn message_count(&self) -> BoxFuture<'_, Result<u64>>;
    /// How deep the mailboxes are (for metrics).
    fn mailbox_depths(&self) -> BoxFuture<'_, Result<MailboxDepths>>;
    /// Drops a (revoked) mailbox's subscriptions and waiting messages.
    /// Returns how many mailbox entries were removed.
    fn forget_device(&self, mailbox: Vec<u8>) -> BoxFuture<'_, Result<u64>>;
    /// The writer's batching figures, where the store batches writes.
    fn writer_stats(&self) -> Option<&WriterStats> {
        None
    }
    /// What other nodes sharing this database commit, once per store (the
    /// second call gets `None`). `None` for a database one process owns.
    fn events(&self) -> Option<tokio::sync::mpsc::Receiver<Event>> {
        None
    }
    /// Messages by id (those still stored), oldest first: what an
    /// [`Event::Stored`] names.
    fn messages(&self, ids: Vec<MessageId>) -> BoxFuture<'_, Result<Vec<StoredMessage>>> {
        let _ = ids;
        Box::pin(async {
            Err(crate::Error::Storage(
                "this store has no other nodes to fetch messages for".into(),
            ))
        })
    }
    /// Waits until no other node changes `group`'s membership, and keeps it
    /// so until the guard is dropped. Within one process the relay already
    /// serialises them, so a store one process owns returns at once.
    fn lock_group(&self, group: Vec<u8>) -> BoxFuture<'_, Result<GroupGuard>> {
        let _ = group;
        Box::pin(async { Ok(GroupGuard::local()) })
    }
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

/// The refusal for a database written by another relay version.
pub(crate) fn wrong_schema(found: i64, location: &str) -> crate::Error {
    crate::Error::Storage(format!(
        "the database {location} has schema version {found}, but this relay needs version \
         {SCHEMA_VERSION} (protocol 2 changed how devices, tokens and revocations are stored); \
         nothing in it is needed after the upgrade: delete it and start the relay again"
    ))
}

/// Splits candidate recipients into those whose mailbox has room and those
/// that are full; without `partial`, a full one is an error.
pub(crate) fn split_full(
    candidates: Vec<Vec<u8>>,
    len: u64,
    limits: MailboxLimits,
    partial: bool,
    usage: impl Fn(&[u8]) -> (u64, u64),
) -> Result<Split> {
    let mut ok = Vec::with_capacity(candidates.len());
    let mut full = Vec::new();
    for r in candidates {
        let (c, b) = usage(&r);
        let fits =
            c.saturating_add(1) <= limits.max_messages && b.saturating_add(len) <= limits.max_bytes;
        if fits {
            ok.push(r);
        } else if partial {
            full.push(r);
        } else {
            return Err(crate::Error::MailboxFull {
                device: hex::encode(r.get(r.len().saturating_sub(16)..).unwrap_or(&r)),
            });
        }
    }
    Ok((ok, full))
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
            sender_mailbox: sender.to_vec(),
            payload: payload.to_vec(),
            sent_at: 1,
            expires_at,
            recipients: None,
            partial: false,
        }
    }

    fn to(recipients: &[&[u8]], payload: &[u8], partial: bool) -> NewMessage {
        NewMessage {
            recipients: Some(recipients.iter().map(|r| r.to_vec()).collect()),
            partial,
            ..msg(b"g", b"A", payload, 1000)
        }
    }

    /// Subscribes until far in the future (the subscription rules have
    /// their own section).
    async fn sub(store: &dyn Store, mailbox: &[u8], topic: &[u8]) {
        assert_eq!(
            store
                .subscribe(mailbox.to_vec(), topic.to_vec(), 1_000_000, 0, 100)
                .await
                .unwrap(),
            Subscribed::Yes
        );
    }

    pub async fn run(store: &dyn Store) {
        acked_messages_go(store).await;
        queued_acks_land_by_the_next_barrier(store).await;
        mailboxes(store).await;
        subscriptions(store).await;
        partial_publish(store).await;
        blobs(store).await;
        backups(store).await;
        devices_and_tokens(store).await;
        revocation_chain(store).await;
    }

    /// A message stays stored until its last recipient acks it, then goes
    /// (acks one at a time, several in one call, and twice).
    async fn acked_messages_go(store: &dyn Store) {
        let lim = MailboxLimits::default();
        let before = store.message_count().await.unwrap();
        let one = store
            .publish(to(&[b"K1", b"K2", b"K3"], b"for three", false), lim)
            .await
            .unwrap()
            .id;
        let two = store
            .publish(to(&[b"K1", b"K3"], b"for two", false), lim)
            .await
            .unwrap()
            .id;
        assert_eq!(store.message_count().await.unwrap(), before + 2);
        store.ack(b"K1".to_vec(), vec![one, two]).await.unwrap();
        store.ack(b"K2".to_vec(), vec![one]).await.unwrap();
        store.ack(b"K2".to_vec(), vec![one]).await.unwrap();
        assert_eq!(
            store.message_count().await.unwrap(),
            before + 2,
            "gone before K3 acked"
        );
        let waiting = store.pending(b"K3".to_vec(), 0, 10, 0).await.unwrap();
        assert_eq!(
            waiting.iter().map(|m| m.id).collect::<Vec<_>>(),
            vec![one, two]
        );
        store.ack(b"K3".to_vec(), vec![one]).await.unwrap();
        assert_eq!(store.message_count().await.unwrap(), before + 1);
        store.ack(b"K3".to_vec(), vec![two, two]).await.unwrap();
        assert_eq!(
            store.message_count().await.unwrap(),
            before,
            "still stored after every recipient acked it"
        );
    }

    /// Acks queued without waiting are committed, in order, by the time a
    /// barrier queued after them returns (the relay's promise that a reply
    /// follows the acks sent before its request).
    async fn queued_acks_land_by_the_next_barrier(store: &dyn Store) {
        let lim = MailboxLimits::default();
        let before = store.message_count().await.unwrap();
        let mut ids = Vec::new();
        for i in 0..300u32 {
            let p = store
                .publish(to(&[b"Q1"], &i.to_le_bytes(), false), lim)
                .await
                .unwrap();
            ids.push(p.id);
        }
        assert_eq!(store.message_count().await.unwrap(), before + 300);
        for &id in &ids {
            store.ack_queued(b"Q1".to_vec(), vec![id]);
        }
        store.barrier().await.unwrap();
        assert_eq!(
            store
                .pending(b"Q1".to_vec(), 0, 1000, 0)
                .await
                .unwrap()
                .len(),
            0,
            "acks queued before the barrier were not all committed by it"
        );
        assert_eq!(store.message_count().await.unwrap(), before);
        let stats = store.writer_stats().expect("a writer");
        assert_eq!(
            stats.acks_failed.load(std::sync::atomic::Ordering::Relaxed),
            0
        );
    }

    async fn mailboxes(store: &dyn Store) {
        let lim = MailboxLimits::default();
        // Nobody subscribed: stored for nobody.
        let p = store
            .publish(msg(b"t1", b"A", b"x", 100), lim)
            .await
            .unwrap();
        assert!(p.recipients.is_empty());

        sub(store, b"A", b"t1").await;
        sub(store, b"B", b"t1").await;
        sub(store, b"B", b"t1").await; // idempotent
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
        sub(store, b"C", b"t2").await;
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
        assert!(store.message_count().await.unwrap() >= 1);

        // Forgetting a mailbox drops its messages and subscriptions.
        sub(store, b"R", b"t7").await;
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

    async fn subscriptions(store: &dyn Store) {
        let lim = MailboxLimits::default();
        // At most `max` live subscriptions per mailbox; renewing one is free.
        for t in [b"s1", b"s2", b"s3"] {
            assert_eq!(
                store
                    .subscribe(b"S".to_vec(), t.to_vec(), 500, 100, 3)
                    .await
                    .unwrap(),
                Subscribed::Yes
            );
        }
        assert_eq!(
            store
                .subscribe(b"S".to_vec(), b"s4".to_vec(), 500, 100, 3)
                .await
                .unwrap(),
            Subscribed::TooMany
        );
        assert_eq!(
            store
                .subscribe(b"S".to_vec(), b"s3".to_vec(), 400, 100, 3)
                .await
                .unwrap(),
            Subscribed::Yes
        );
        // A topic takes two parties; a third is refused until one ends.
        assert_eq!(
            store
                .subscribe(b"P1".to_vec(), b"duo".to_vec(), 200, 100, 3)
                .await
                .unwrap(),
            Subscribed::Yes
        );
        assert_eq!(
            store
                .subscribe(b"P2".to_vec(), b"duo".to_vec(), 500, 100, 3)
                .await
                .unwrap(),
            Subscribed::Yes
        );
        assert_eq!(
            store
                .subscribe(b"P3".to_vec(), b"duo".to_vec(), 500, 100, 3)
                .await
                .unwrap(),
            Subscribed::TopicFull
        );
        assert_eq!(
            store
                .subscribe(b"P2".to_vec(), b"duo".to_vec(), 600, 100, 3)
                .await
                .unwrap(),
            Subscribed::Yes,
            "a party renews"
        );
        assert_eq!(
            store
                .subscribe(b"P3".to_vec(), b"duo".to_vec(), 500, 200, 3)
                .await
                .unwrap(),
            Subscribed::Yes,
            "P1's ended"
        );
        // Another mailbox has its own allowance.
        assert_eq!(
            store
                .subscribe(b"S2".to_vec(), b"s4".to_vec(), 300, 100, 3)
                .await
                .unwrap(),
            Subscribed::Yes
        );
        // A topic message expires no later than the subscription it reached
        // (the earliest one when it reached several).
        let mut m = msg(b"s3", b"P", b"pair", 10_000);
        m.sent_at = 150;
        let p = store.publish(m, lim).await.unwrap();
        assert_eq!(p.recipients, vec![b"S".to_vec()]);
        let got = store.pending(b"S".to_vec(), 0, 10, 150).await.unwrap();
        assert_eq!(got[0].expires_at, 400);
        assert!(store
            .pending(b"S".to_vec(), 0, 10, 400)
            .await
            .unwrap()
            .is_empty());
        let mut m = msg(b"s4", b"P", b"pair", 10_000);
        m.sent_at = 150;
        store.publish(m, lim).await.unwrap();
        let got = store.pending(b"S2".to_vec(), 0, 10, 150).await.unwrap();
        assert_eq!(got[0].expires_at, 300);
        // Ended subscriptions receive nothing, even before the sweep ...
        let mut m = msg(b"s4", b"P", b"late", 10_000);
        m.sent_at = 300;
        assert!(store.publish(m, lim).await.unwrap().recipients.is_empty());
        // ... and no longer count against the limit.
        assert_eq!(
            store
                .subscribe(b"S".to_vec(), b"s5".to_vec(), 900, 500, 3)
                .await
                .unwrap(),
            Subscribed::Yes
        );
        // The sweep removes them and the messages they held.
        assert!(store.expire(500).await.unwrap() >= 2);
        let mut m = msg(b"s1", b"P", b"gone", 10_000);
        m.sent_at = 10;
        assert!(
            store.publish(m, lim).await.unwrap().recipients.is_empty(),
            "a swept subscription still receives"
        );
        let mut m = msg(b"s5", b"P", b"live", 10_000);
        m.sent_at = 600;
        assert_eq!(
            store.publish(m, lim).await.unwrap().recipients,
            vec![b"S".to_vec()]
        );
    }

    async fn partial_publish(store: &dyn Store) {
        let small = MailboxLimits {
            max_messages: 1,
            max_bytes: 1000,
        };
        store
            .publish(to(&[b"PA"], b"first", false), small)
            .await
            .unwrap();
        // Not partial: one full mailbox fails it for everyone.
        let err = store
            .publish(to(&[b"PA", b"PB"], b"x", false), small)
            .await
            .unwrap_err();
        assert!(matches!(err, crate::Error::MailboxFull { .. }), "{err:?}");
        assert!(store
            .pending(b"PB".to_vec(), 0, 10, 0)
            .await
            .unwrap()
            .is_empty());
        // Partial: the others get it, the full one is reported.
        let p = store
            .publish(to(&[b"PA", b"PB"], b"y", true), small)
            .await
            .unwrap();
        assert_eq!(p.recipients, vec![b"PB".to_vec()]);
        assert_eq!(p.full, vec![b"PA".to_vec()]);
        assert_eq!(
            store.pending(b"PB".to_vec(), 0, 10, 0).await.unwrap()[0].payload,
            b"y"
        );
        assert_eq!(
            store.pending(b"PA".to_vec(), 0, 10, 0).await.unwrap().len(),
            1
        );
        // Everyone full: stored for nobody, all reported.
        let p = store
            .publish(to(&[b"PA", b"PB"], b"z", true), small)
            .await
            .unwrap();
        assert!(p.recipients.is_empty());
        assert_eq!(p.full.len(), 2);
        // Unlimited never refuses.
        store
            .publish(to(&[b"PA"], b"notice", false), MailboxLimits::UNLIMITED)
            .await
            .unwrap();
    }

    async fn blobs(store: &dyn Store) {
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
    }

    /// Backups: the first write registers its key; later writes and
    /// deletes need that key and a greater counter; a delete keeps the key
    /// and the counter, so an old write cannot come back.
    async fn backups(store: &dyn Store) {
        let (id, k, other) = (b"backup-id".to_vec(), b"key-A".to_vec(), b"key-B".to_vec());
        assert_eq!(store.backup_get(id.clone()).await.unwrap(), None);
        assert!(!store
            .backup_put(id.clone(), k.clone(), 1, None, 3)
            .await
            .unwrap());
        assert_eq!(store.backup_get(id.clone()).await.unwrap(), None);
        assert!(store
            .backup_put(id.clone(), k.clone(), 10, Some(b"v1".to_vec()), 4)
            .await
            .unwrap());
        let err = store
            .backup_put(id.clone(), other.clone(), 11, Some(b"evil".to_vec()), 5)
            .await
            .unwrap_err();
        assert_eq!(err, crate::Error::BackupKey);
        for stale in [10, 9] {
            let err = store
                .backup_put(id.clone(), k.clone(), stale, Some(b"old".to_vec()), 5)
                .await
                .unwrap_err();
            assert_eq!(err, crate::Error::BackupStale { current: 10 });
        }
        assert!(store
            .backup_put(id.clone(), k.clone(), 12, Some(b"v2".to_vec()), 6)
            .await
            .unwrap());
        assert_eq!(
            store.backup_get(id.clone()).await.unwrap(),
            Some(BackupRow {
                public_key: k.clone(),
                counter: 12,
                value: Some(b"v2".to_vec()),
                updated_at: 6,
            })
        );
        // Deleted: the contents go, the key and counter stay.
        assert!(store
            .backup_put(id.clone(), k.clone(), 13, None, 7)
            .await
            .unwrap());
        let row = store.backup_get(id.clone()).await.unwrap().unwrap();
        assert_eq!((row.value, row.counter), (None, 13));
        let err = store
            .backup_put(id.clone(), k.clone(), 12, Some(b"v2".to_vec()), 8)
            .await
            .unwrap_err();
        assert_eq!(err, crate::Error::BackupStale { current: 13 });
        assert!(store
            .backup_put(id.clone(), k.clone(), 14, Some(b"v3".to_vec()), 9)
            .await
            .unwrap());
        assert_eq!(
            store.backup_get(b"other".to_vec()).await.unwrap(),
            None,
            "ids do not mix"
        );
    }

    fn device(group: &[u8], device: &[u8]) -> DeviceRecord {
        DeviceRecord {
            group: group.to_vec(),
            device: device.to_vec(),
            public_key: vec![7; 32],
            founder: false,
            token: None,
            revoked: None,
            last_seen: None,
        }
    }

    async fn devices_and_tokens(store: &dyn Store) {
        let founder = DeviceRecord {
            founder: true,
            last_seen: Some(1),
            ..device(b"G", b"A")
        };
        store.put_device(founder.clone(), None).await.unwrap();
        let b = DeviceRecord {
            token: Some(b"token-b1".to_vec()),
            ..device(b"G", b"B")
        };
        store
            .put_device(b.clone(), Some(b"tb1".to_vec()))
            .await
            .unwrap();
        // The same device id in another group is another record.
        let other = DeviceRecord {
            token: Some(b"token-x".to_vec()),
            public_key: vec![9; 32],
            ..device(b"H", b"B")
        };
        store
            .put_device(other.clone(), Some(b"tx".to_vec()))
            .await
            .unwrap();
        assert_eq!(
            store.device(b"G".to_vec(), b"B".to_vec()).await.unwrap(),
            Some(b.clone())
        );
        assert_eq!(
            store.device(b"H".to_vec(), b"B".to_vec()).await.unwrap(),
            Some(other)
        );
        assert_eq!(
            store.device(b"G".to_vec(), b"Z".to_vec()).await.unwrap(),
            None
        );
        // Tokens are known per group.
        assert_eq!(
            store.token(b"G".to_vec(), b"tb1".to_vec()).await.unwrap(),
            Some(b"token-b1".to_vec())
        );
        assert_eq!(
            store.token(b"H".to_vec(), b"tb1".to_vec()).await.unwrap(),
            None
        );
        // A refresh replaces the current token; the old one stays known;
        // last-seen is kept when the update carries none.
        store.touch(b"G".to_vec(), b"B".to_vec(), 42).await.unwrap();
        let b2 = DeviceRecord {
            token: Some(b"token-b2".to_vec()),
            ..b.clone()
        };
        store
            .put_device(b2.clone(), Some(b"tb2".to_vec()))
            .await
            .unwrap();
        let got = store
            .device(b"G".to_vec(), b"B".to_vec())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (got.token.as_deref(), got.last_seen),
            (Some(&b"token-b2"[..]), Some(42))
        );
        assert!(store
            .token(b"G".to_vec(), b"tb1".to_vec())
            .await
            .unwrap()
            .is_some());
        // An id already known keeps its token.
        store
            .put_device(b2.clone(), Some(b"tb1".to_vec()))
            .await
            .unwrap();
        assert_eq!(
            store.token(b"G".to_vec(), b"tb1".to_vec()).await.unwrap(),
            Some(b"token-b1".to_vec())
        );
        let mut g = store.group_devices(b"G".to_vec()).await.unwrap();
        g.sort_by(|x, y| x.device.cmp(&y.device));
        assert_eq!(g.len(), 2);
        assert_eq!(g[0], founder);
        assert_eq!(store.group_devices(b"H".to_vec()).await.unwrap().len(), 1);
    }

    async fn revocation_chain(store: &dyn Store) {
        let rev = |seq: u32, kind: TargetKind, target: &[u8], device: &[u8]| NewRevocation {
            group: b"G".to_vec(),
            seq,
            kind,
            target: target.to_vec(),
            device: device.to_vec(),
            record: format!("record-{seq}").into_bytes(),
            at: 9,
        };
        assert_eq!(store.chain_head(b"G".to_vec()).await.unwrap(), None);
        // Only the next position is accepted.
        assert!(!store
            .append_revocation(rev(2, TargetKind::Device, b"B", b"B"))
            .await
            .unwrap());
        assert!(store
            .append_revocation(rev(1, TargetKind::Token, b"tb2", b"B"))
            .await
            .unwrap());
        assert!(!store
            .append_revocation(rev(1, TargetKind::Device, b"A", b"A"))
            .await
            .unwrap());
        assert_eq!(
            store.chain_head(b"G".to_vec()).await.unwrap(),
            Some(ChainHead {
                len: 1,
                last: b"record-1".to_vec()
            })
        );
        // The removed device is marked, in its group only.
        assert_eq!(
            store
                .device(b"G".to_vec(), b"B".to_vec())
                .await
                .unwrap()
                .unwrap()
                .revoked,
            Some(1)
        );
        assert_eq!(
            store
                .device(b"H".to_vec(), b"B".to_vec())
                .await
                .unwrap()
                .unwrap()
                .revoked,
            None
        );
        // put_device never clears it.
        store.put_device(device(b"G", b"B"), None).await.unwrap();
        assert_eq!(
            store
                .device(b"G".to_vec(), b"B".to_vec())
                .await
                .unwrap()
                .unwrap()
                .revoked,
            Some(1)
        );
        assert!(store
            .append_revocation(rev(2, TargetKind::Device, b"A", b"A"))
            .await
            .unwrap());
        // Chains are per group.
        assert!(store
            .append_revocation(NewRevocation {
                group: b"H".to_vec(),
                ..rev(1, TargetKind::Device, b"B", b"B")
            })
            .await
            .unwrap());
        assert_eq!(
            store.revocations(b"G".to_vec(), 0, 10).await.unwrap(),
            vec![b"record-1".to_vec(), b"record-2".to_vec()]
        );
        assert_eq!(
            store.revocations(b"G".to_vec(), 1, 10).await.unwrap(),
            vec![b"record-2".to_vec()]
        );
        assert_eq!(
            store.revocations(b"G".to_vec(), 0, 1).await.unwrap(),
            vec![b"record-1".to_vec()]
        );
        assert!(store
            .revocations(b"G".to_vec(), 2, 10)
            .await
            .unwrap()
            .is_empty());
        let mut all = store.revoked().await.unwrap();
        all.sort_by(|x, y| (&x.group, x.seq).cmp(&(&y.group, y.seq)));
        assert_eq!(
            all,
            vec![
                RevokedEntry {
                    group: b"G".to_vec(),
                    seq: 1,
                    kind: TargetKind::Token,
                    target: b"tb2".to_vec(),
                    device: b"B".to_vec(),
                },
                RevokedEntry {
                    group: b"G".to_vec(),
                    seq: 2,
                    kind: TargetKind::Device,
                    target: b"A".to_vec(),
                    device: b"A".to_vec(),
                },
                RevokedEntry {
                    group: b"H".to_vec(),
                    seq: 1,
                    kind: TargetKind::Device,
                    target: b"B".to_vec(),
                    device: b"B".to_vec(),
                },
            ]
        );
    }
}
