//! Durability: `published` means committed.
//!
//! - The real `tandem-relay` binary, killed with SIGKILL while devices
//!   publish, then restarted on the same database: every message the relay
//!   acknowledged must still be delivered. Run against the default SQLite
//!   store and against a real PostgreSQL server started here (Debian
//!   `postgresql` package; `initdb` into a temp dir).
//! - SQLite commits with `synchronous=FULL` in WAL mode (fsync per commit).
//! - A store that holds a publish until the test lets it go: the relay says
//!   nothing before the commit, and `published` after it.
//! - Both backends pass the store conformance suite and refuse a database
//!   of an older schema.
//! - PostgreSQL commits concurrent publishes and acks together (group
//!   commit), counted by the server's own transaction counter.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

mod common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use common::{founder, member, RelayProc, TempDir};
use futures_util::{future::BoxFuture, FutureExt, SinkExt, StreamExt};
use tandem_pair::{Capabilities, ClientFrame, IdentityKey, Membership, Recipient, RelayFrame};
use tandem_relay::{
    client::{Client, Incoming},
    store::{self, sqlite::SqliteStore, Store},
};

const WRITERS: usize = 4;

/// Publishes from several connections until the relay dies; returns
/// every payload the relay acknowledged.
async fn publish_until_killed(
    proc_: RelayProc,
    a_key: &IdentityKey,
    a_m: &Membership,
    target: Recipient,
) -> Vec<Vec<u8>> {
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let mut c = Client::connect(&proc_.url, a_key, a_m.clone())
            .await
            .unwrap();
        let acked = Arc::clone(&acked);
        tasks.push(tokio::spawn(async move {
            for n in 0u32.. {
                let payload = format!("w{w}-m{n}").into_bytes();
                match c.publish(target, &payload).await {
                    Ok(_) => acked.lock().unwrap().push(payload),
                    Err(_) => return,
                }
            }
        }));
    }
    // Let a few hundred messages through, then pull the plug mid-stream.
    common::kill_after(|| acked.lock().unwrap().len(), 300, proc_, tasks).await;
    let v = acked.lock().unwrap().clone();
    v
}

/// Everything waiting in `c`'s mailbox. The relay replays the whole mailbox
/// before it answers any frame, so after a ping round trip it is all here.
async fn drain(c: &mut Client) -> Vec<(tandem_pair::MessageId, Vec<u8>)> {
    c.ping().await.unwrap();
    let mut got = Vec::new();
    while let Some(inc) = c.try_recv() {
        match inc {
            Incoming::Message(m) => got.push((m.id, m.payload)),
            other => panic!("unexpected {other:?}"),
        }
    }
    got
}

async fn sigkill_loses_no_acked_message(db_args: &[&str]) {
    let (a_key, a_m, group) = founder();
    let (b_key, b_m, b_token) = member(&a_key, group, Capabilities::ALL, 3600);

    let relay = RelayProc::spawn(db_args);
    // A registers B's token, then B connects once and goes offline.
    let mut a = Client::connect(&relay.url, &a_key, a_m.clone())
        .await
        .unwrap();
    a.admit(b_token).await.unwrap();
    common::register_offline(&relay.url, &b_key, b_m.clone()).await;

    let acked =
        publish_until_killed(relay, &a_key, &a_m, Recipient::Device(b_key.device_id())).await;
    assert!(acked.len() >= 300);

    // Restart on the same database.
    let relay = RelayProc::spawn(db_args);
    let mut b = Client::connect(&relay.url, &b_key, b_m.clone())
        .await
        .unwrap();
    let got = drain(&mut b).await;
    let payloads: std::collections::HashSet<&Vec<u8>> = got.iter().map(|(_, p)| p).collect();
    let lost: Vec<_> = acked.iter().filter(|p| !payloads.contains(p)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged messages lost after SIGKILL",
        lost.len(),
        acked.len()
    );
    // At most the few in flight at the kill may appear without an ack.
    assert!(
        got.len() <= acked.len() + WRITERS,
        "{} delivered vs {} acked",
        got.len(),
        acked.len()
    );

    // Acks are durable too: ack everything, SIGKILL again, nothing comes back.
    for (id, _) in &got {
        b.ack(*id).await.unwrap();
    }
    // The relay handles a connection's frames in order and a request after
    // acks waits for a barrier behind them on the writer, so the pong
    // proves every ack above is on disk.
    b.ping().await.unwrap();
    relay.sigkill();
    let relay = RelayProc::spawn(db_args);
    let mut b = Client::connect(&relay.url, &b_key, b_m).await.unwrap();
    let again = drain(&mut b).await;
    assert!(
        again.is_empty(),
        "{} acked deliveries came back",
        again.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sigkill_restart_loses_no_acknowledged_message() {
    let dir = TempDir::new("kill");
    let db = dir.path().join("relay.db").to_string_lossy().into_owned();
    sigkill_loses_no_acked_message(&[&["--database", &db][..], &common::LOOSE_RATE].concat()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sigkill_restart_loses_no_acknowledged_message() {
    if common::postgres_skipped() {
        return;
    }
    let pg = common::start_postgres();
    sigkill_loses_no_acked_message(
        &[&["--database-url", &pg.url][..], &common::LOOSE_RATE].concat(),
    )
    .await;
}

#[tokio::test]
async fn postgres_store_conformance() {
    if common::postgres_skipped() {
        return;
    }
    let pg = common::start_postgres();
    let store = store::open(&pg.url).await.unwrap();
    store::conformance::run(store.as_ref()).await;
    // Reopen: state reloads from PostgreSQL.
    drop(store);
    let store = store::open(&pg.url).await.unwrap();
    assert_eq!(store.revoked().await.unwrap().len(), 3);
    assert_eq!(
        store
            .chain_head(b"G".to_vec())
            .await
            .unwrap()
            .map(|h| h.len),
        Some(2)
    );

    // Databases of another schema are refused with instructions.
    let (admin, conn) = tokio_postgres::connect(&pg.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    for (db, setup, found) in [
        // What a protocol-1 relay left: tables, no version table.
        (
            "old",
            "CREATE TABLE messages(id BIGSERIAL PRIMARY KEY)",
            "version 1",
        ),
        (
            "newer",
            "CREATE TABLE relay_schema(version BIGINT NOT NULL); INSERT INTO relay_schema VALUES (99)",
            "version 99",
        ),
    ] {
        admin
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .await
            .unwrap();
        let url = pg.url.replace("/postgres", &format!("/{db}"));
        let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        c.batch_execute(setup).await.unwrap();
        let e = store::open(&url).await.err().unwrap().to_string();
        assert!(e.contains(found) && e.contains("delete it"), "{e}");
        assert!(!e.contains("tandem@"), "the URL's user part is not echoed: {e}");
    }
}

#[tokio::test]
async fn postgres_commits_concurrent_publishes_together() {
    if common::postgres_skipped() {
        return;
    }
    let pg = common::start_postgres();
    let store = store::open(&pg.url).await.unwrap();
    let (admin, conn) = tokio_postgres::connect(&pg.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let commits = || async {
        // The statistics collector's view of this database, fresh.
        admin
            .batch_execute("SELECT pg_stat_clear_snapshot()")
            .await
            .unwrap();
        let r = admin
            .query_one(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
                &[],
            )
            .await
            .unwrap();
        r.get::<_, i64>(0)
    };
    let before = commits().await;
    const N: usize = 400;
    let publishes = (0..N).map(|i| {
        store.publish(
            store::NewMessage {
                topic: b"g".to_vec(),
                sender: b"S".to_vec(),
                sender_mailbox: b"S".to_vec(),
                payload: format!("m{i}").into_bytes(),
                sent_at: 1,
                expires_at: u64::MAX / 4,
                recipients: Some(vec![format!("R{}", i % 10).into_bytes()]),
                partial: false,
            },
            store::MailboxLimits::default(),
        )
    });
    let published = futures_util::future::join_all(publishes).await;
    let ids: std::collections::HashSet<_> =
        published.iter().map(|p| p.as_ref().unwrap().id).collect();
    assert_eq!(ids.len(), N, "every publish got its own id");
    // PostgreSQL reports its counters with a delay: wait until it shows
    // at least one commit, then compare.
    let mut after = commits().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while after == before && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        after = commits().await;
    }
    let transactions = (after - before) as usize;
    // (The counter includes every other transaction on the database, the
    // store's own reads too: an upper bound for the publishes' commits.)
    eprintln!("{N} concurrent publishes: the database counted {transactions} commits in all");
    assert!(
        (1..N / 4).contains(&transactions),
        "{transactions} transactions for {N} publishes"
    );
    assert_eq!(store.message_count().await.unwrap(), N as u64);
}

#[tokio::test]
async fn sqlite_commits_with_fsync_in_wal_mode() {
    let dir = TempDir::new("pragmas");
    let s = SqliteStore::open(dir.path().join("r.db")).unwrap();
    let d = s.durability().await.unwrap();
    assert_eq!(d.journal_mode, "wal");
    // 2 = FULL, 3 = EXTRA: the WAL is fsync'd at every commit.
    assert!(
        d.synchronous == 2 || d.synchronous == 3,
        "synchronous={}",
        d.synchronous
    );
}

/// A store whose next publish waits until the test releases it, after
/// telling the test it has been entered; it counts commits.
struct Gated {
    inner: Arc<dyn Store>,
    gate: Mutex<
        Option<(
            tokio::sync::oneshot::Sender<()>,
            tokio::sync::oneshot::Receiver<()>,
        )>,
    >,
    committed: std::sync::atomic::AtomicU64,
}

impl Store for Gated {
    fn publish(
        &self,
        msg: store::NewMessage,
        limits: store::MailboxLimits,
    ) -> BoxFuture<'_, tandem_relay::Result<store::Published>> {
        let gate = self.gate.lock().unwrap().take();
        Box::pin(async move {
            if let Some((entered, release)) = gate {
                entered.send(()).unwrap();
                release.await.unwrap();
            }
            let r = self.inner.publish(msg, limits).await;
            self.committed
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            r
        })
    }
    fn pending(
        &self,
        mailbox: Vec<u8>,
        after: store::MessageId,
        limit: usize,
        now: u64,
    ) -> BoxFuture<'_, tandem_relay::Result<Vec<store::StoredMessage>>> {
        self.inner.pending(mailbox, after, limit, now)
    }
    fn ack(
        &self,
        m: Vec<u8>,
        ids: Vec<store::MessageId>,
    ) -> BoxFuture<'_, tandem_relay::Result<()>> {
        self.inner.ack(m, ids)
    }
    fn ack_queued(&self, m: Vec<u8>, ids: Vec<store::MessageId>) {
        self.inner.ack_queued(m, ids)
    }
    fn barrier(&self) -> BoxFuture<'_, tandem_relay::Result<()>> {
        self.inner.barrier()
    }
    fn subscribe(
        &self,
        m: Vec<u8>,
        t: Vec<u8>,
        until: u64,
        now: u64,
        max: usize,
    ) -> BoxFuture<'_, tandem_relay::Result<tandem_relay::store::Subscribed>> {
        self.inner.subscribe(m, t, until, now, max)
    }
    fn unsubscribe(&self, m: Vec<u8>, t: Vec<u8>) -> BoxFuture<'_, tandem_relay::Result<()>> {
        self.inner.unsubscribe(m, t)
    }
    fn expire(&self, now: u64) -> BoxFuture<'_, tandem_relay::Result<u64>> {
        self.inner.expire(now)
    }
    fn blob_put(
        &self,
        ns: Vec<u8>,
        k: Vec<u8>,
        v: Vec<u8>,
        e: Option<u64>,
        now: u64,
    ) -> BoxFuture<'_, tandem_relay::Result<u64>> {
        self.inner.blob_put(ns, k, v, e, now)
    }
    fn blob_get(
        &self,
        ns: Vec<u8>,
        k: Vec<u8>,
    ) -> BoxFuture<'_, tandem_relay::Result<Option<store::Blob>>> {
        self.inner.blob_get(ns, k)
    }
    fn blob_usage(&self, ns: Vec<u8>) -> BoxFuture<'_, tandem_relay::Result<u64>> {
        self.inner.blob_usage(ns)
    }
    fn backup_put(
        &self,
        id: Vec<u8>,
        key: Vec<u8>,
        counter: u64,
        value: Option<Vec<u8>>,
        now: u64,
    ) -> BoxFuture<'_, tandem_relay::Result<bool>> {
        self.inner.backup_put(id, key, counter, value, now)
    }
    fn backup_get(
        &self,
        id: Vec<u8>,
    ) -> BoxFuture<'_, tandem_relay::Result<Option<store::BackupRow>>> {
        self.inner.backup_get(id)
    }
    fn put_device(
        &self,
        rec: store::DeviceRecord,
        token_id: Option<Vec<u8>>,
    ) -> BoxFuture<'_, tandem_relay::Result<()>> {
        self.inner.put_device(rec, token_id)
    }
    fn device(
        &self,
        g: Vec<u8>,
        d: Vec<u8>,
    ) -> BoxFuture<'_, tandem_relay::Result<Option<store::DeviceRecord>>> {
        self.inner.device(g, d)
    }
    fn group_devices(
        &self,
        g: Vec<u8>,
    ) -> BoxFuture<'_, tandem_relay::Result<Vec<store::DeviceRecord>>> {
        self.inner.group_devices(g)
    }
    fn token(
        &self,
        g: Vec<u8>,
        t: Vec<u8>,
    ) -> BoxFuture<'_, tandem_relay::Result<Option<Vec<u8>>>> {
        self.inner.token(g, t)
    }
    fn touch(&self, g: Vec<u8>, d: Vec<u8>, now: u64) -> BoxFuture<'_, tandem_relay::Result<()>> {
        self.inner.touch(g, d, now)
    }
    fn append_revocation(
        &self,
        rev: store::NewRevocation,
    ) -> BoxFuture<'_, tandem_relay::Result<bool>> {
        self.inner.append_revocation(rev)
    }
    fn revocations(
        &self,
        g: Vec<u8>,
        after: u32,
        limit: usize,
    ) -> BoxFuture<'_, tandem_relay::Result<Vec<Vec<u8>>>> {
        self.inner.revocations(g, after, limit)
    }
    fn chain_head(
        &self,
        g: Vec<u8>,
    ) -> BoxFuture<'_, tandem_relay::Result<Option<store::ChainHead>>> {
        self.inner.chain_head(g)
    }
    fn revoked(&self) -> BoxFuture<'_, tandem_relay::Result<Vec<store::RevokedEntry>>> {
        self.inner.revoked()
    }
    fn message_count(&self) -> BoxFuture<'_, tandem_relay::Result<u64>> {
        self.inner.message_count()
    }
    fn mailbox_depths(&self) -> BoxFuture<'_, tandem_relay::Result<store::MailboxDepths>> {
        self.inner.mailbox_depths()
    }
    fn forget_device(&self, m: Vec<u8>) -> BoxFuture<'_, tandem_relay::Result<u64>> {
        self.inner.forget_device(m)
    }
}

/// `published` is sent only after the store returned from `publish`, which
/// returns only after COMMIT: while the store is held inside `publish`, the
/// sender has received nothing; once released, `published` arrives and the
/// message is stored (and delivered from the mailbox).
#[tokio::test]
async fn published_is_sent_only_after_the_commit() {
    let dir = TempDir::new("gated");
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("r.db")).unwrap());
    let gated = Arc::new(Gated {
        inner: Arc::clone(&sqlite),
        gate: Mutex::new(None),
        committed: Default::default(),
    });
    let relay = common::start_relay_on(common::loose(), gated.clone(), dir, None).await;
    let (a_key, a_m, group) = founder();
    let (b_key, b_m, b_token) = member(&a_key, group, Capabilities::ALL, 3600);
    let mut a = Client::connect(&relay.url, &a_key, a_m.clone())
        .await
        .unwrap();
    a.admit(b_token).await.unwrap();
    common::register_offline(&relay.url, &b_key, b_m.clone()).await;
    // (The admission notice the founder's `admit` stored is already there.)
    let stored_before = sqlite.message_count().await.unwrap();
    let committed_before = gated.committed.load(std::sync::atomic::Ordering::SeqCst);

    let (entered_tx, entered) = tokio::sync::oneshot::channel();
    let (release, release_rx) = tokio::sync::oneshot::channel();
    *gated.gate.lock().unwrap() = Some((entered_tx, release_rx));
    let mut ws = tandem_relay::client::handshake(
        &relay.url,
        &Default::default(),
        &a_key,
        a_m,
        Duration::from_secs(10),
    )
    .await
    .unwrap()
    .socket;
    let publish = ClientFrame::Publish {
        req: 7,
        to: Recipient::Device(b_key.device_id()),
        payload: tandem_pair::Bytes(b"durable".to_vec()),
    };
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        publish.encode().into(),
    ))
    .await
    .unwrap();
    // The relay is inside the store's publish, which has not committed.
    tokio::time::timeout(Duration::from_secs(10), entered)
        .await
        .expect("the relay never called publish")
        .unwrap();
    assert_eq!(
        gated.committed.load(std::sync::atomic::Ordering::SeqCst),
        committed_before
    );
    assert_eq!(sqlite.message_count().await.unwrap(), stored_before);
    // Anything the relay had sent would already be readable here (loopback
    // delivers a write before the sender's next step); nothing is.
    if let Some(early) = ws.next().now_or_never() {
        panic!("the relay answered before the commit: {early:?}");
    }
    release.send(()).unwrap();
    let reply = loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            break RelayFrame::decode(t.as_str()).unwrap();
        }
    };
    let RelayFrame::Published { req: 7, id, full } = reply else {
        panic!("expected published, got {reply:?}");
    };
    assert!(full.is_empty());
    assert_eq!(
        gated.committed.load(std::sync::atomic::Ordering::SeqCst),
        committed_before + 1
    );
    assert_eq!(sqlite.message_count().await.unwrap(), stored_before + 1);
    let mut b = Client::connect(&relay.url, &b_key, b_m).await.unwrap();
    let m = common::expect_message(&mut b).await;
    assert_eq!((m.id, m.payload.as_slice()), (id, &b"durable"[..]));
}
