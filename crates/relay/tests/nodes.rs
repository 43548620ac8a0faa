//! Several relay nodes on one PostgreSQL: a real PostgreSQL server (Debian
//! `postgresql`, `initdb` into a temp dir) and two or three real
//! `tandem-relay` processes on their own ports, with devices connected to
//! different nodes.
//!
//! - Delivery across nodes: device to device, group fan-out, pairing topics
//!   (whose two-party rule holds across nodes), tokens admitted on another
//!   node, per-sender order, and nothing redelivered after acks.
//! - A revocation accepted on one node cuts the device off on another
//!   within 1 s (the measured time is printed).
//! - Each node caches its groups' devices: a device revoked through one
//!   node gets nothing another node stores after the revocation, and a
//!   device admitted through one node gets the next publish from another
//!   (both fail when the nodes do not drop the cached view on the other's
//!   notification).
//! - A node whose notification connection was cut catches up when it is
//!   back, from the mailboxes.
//! - SIGKILL of one node under load: every message the relay answered
//!   `published` reaches every recipient, which reconnect to the surviving
//!   node, and nothing comes back after the acks.
//! - Store level, two nodes racing: conditional blob puts and pairing-topic
//!   subscriptions decide exactly one winner.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

mod common;

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::{
    admitted, at_head, code_of, expect_message, expect_next_and_direct, expect_nothing, founder,
    group_and_direct, next_and_direct, revoke_witnessed, RelayProc,
};
use tandem_pair::{Capabilities, IdentityKey, Membership, Recipient, RevocationTarget, Topic};
use tandem_relay::{
    client::{Client, Incoming},
    store::{self, Subscribed},
    Error,
};

/// A relay node on the shared database.
fn node(pg: &common::Postgres) -> RelayProc {
    RelayProc::spawn(&[&["--database-url", &pg.url][..], &common::LOOSE_RATE].concat())
}

/// PostgreSQL, nodes A and B, a founder F on A and a member M it admitted,
/// connected to B.
struct Across {
    pg: common::Postgres,
    a: RelayProc,
    b: RelayProc,
    f_key: IdentityKey,
    group: tandem_pair::GroupId,
    f: Client,
    m_key: IdentityKey,
    m_m: Membership,
    m: Client,
}

async fn member_across() -> Across {
    let pg = common::start_postgres();
    let (a, b) = (node(&pg), node(&pg));
    let (f_key, f_m, group) = founder();
    let mut f = Client::connect(&a.url, &f_key, f_m).await.unwrap();
    let (m_key, m_m, _) = admitted(&mut f, &f_key, group, Capabilities::ALL).await;
    let m = Client::connect(&b.url, &m_key, m_m.clone()).await.unwrap();
    Across {
        pg,
        a,
        b,
        f_key,
        group,
        f,
        m_key,
        m_m,
        m,
    }
}

async fn guest(url: &str) -> Client {
    let key = IdentityKey::generate(&mut rand_core::OsRng);
    Client::connect(url, &key, Membership::Guest).await.unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Sends `n` messages from `from` to device `to` (connected anywhere) one
/// after another; returns the publish -> deliver times.
async fn round_trips(from: &mut Client, to: &mut Client, n: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        let payload = format!("rt-{i}");
        let id = from
            .publish(Recipient::Device(to.device()), payload.as_bytes())
            .await
            .unwrap();
        let m = expect_message(to).await;
        times.push(t.elapsed());
        assert_eq!((m.id, m.payload.as_slice()), (id, payload.as_bytes()));
        to.ack(m.id).await.unwrap();
    }
    times
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_on_different_nodes_reach_each_other() {
    if common::postgres_skipped() {
        return;
    }
    let pg = common::start_postgres();
    let (a, b, c) = (node(&pg), node(&pg), node(&pg));

    // The founder is on A and admits two devices there; they connect to B
    // and C, which accept tokens they never saw admitted.
    let (f_key, f_m, group) = founder();
    let mut f = Client::connect(&a.url, &f_key, f_m).await.unwrap();
    let (m1_key, m1_m, _) = admitted(&mut f, &f_key, group, Capabilities::ALL).await;
    let (m2_key, m2_m, _) = admitted(&mut f, &f_key, group, Capabilities::ALL).await;

    // Device to device, A -> B, against the same path on one node first.
    let mut m1_on_a = Client::connect(&a.url, &m1_key, m1_m.clone())
        .await
        .unwrap();
    let same = median(round_trips(&mut f, &mut m1_on_a, 30).await);
    m1_on_a.ping().await.unwrap(); // its acks are durable
    m1_on_a.close().await.unwrap();
    let mut m1 = Client::connect(&b.url, &m1_key, m1_m.clone())
        .await
        .unwrap();
    let mut m2 = Client::connect(&c.url, &m2_key, m2_m).await.unwrap();
    let across = median(round_trips(&mut f, &mut m1, 30).await);
    eprintln!("publish -> deliver, median of 30: same node {same:?}, across nodes {across:?}");
    // A correctness bound, far above the budget: live, not from a poll.
    assert!(across < Duration::from_millis(500), "{across:?}");

    // Group fan-out from B reaches A and C.
    let id = m1.publish(Recipient::Group, b"to all").await.unwrap();
    for dev in [&mut f, &mut m2] {
        let m = expect_message(dev).await;
        assert_eq!(
            (m.id, m.from, m.payload.as_slice()),
            (id, m1_key.device_id(), &b"to all"[..])
        );
        dev.ack(m.id).await.unwrap();
    }

    // One sender's messages arrive in the order it sent them.
    for i in 0..40u32 {
        m2.publish(Recipient::Device(m1_key.device_id()), &i.to_be_bytes())
            .await
            .unwrap();
    }
    let mut last = None;
    for i in 0..40u32 {
        let m = expect_message(&mut m1).await;
        assert_eq!(m.payload, i.to_be_bytes(), "out of order");
        assert!(last < Some(m.id));
        last = Some(m.id);
        m1.ack(m.id).await.unwrap();
    }
    // Acked on B: a connection to C finds nothing (the ping before it made
    // the acks durable).
    m1.ping().await.unwrap();
    let mut m1_on_c = Client::connect(&c.url, &m1_key, m1_m).await.unwrap();
    expect_nothing(&mut m1_on_c).await;

    // Pairing topics: two guests on A and B meet; a third party on C is
    // refused, as on one node.
    let topic = Topic([7; 32]);
    let (mut g1, mut g2, mut g3) = (
        guest(&a.url).await,
        guest(&b.url).await,
        guest(&c.url).await,
    );
    g1.subscribe(topic).await.unwrap();
    g2.subscribe(topic).await.unwrap();
    assert_eq!(
        code_of(&g3.subscribe(topic).await.unwrap_err()),
        "forbidden"
    );
    let id = g2.publish(Recipient::Topic(topic), b"offer").await.unwrap();
    let m = expect_message(&mut g1).await;
    assert_eq!((m.id, m.payload.as_slice()), (id, &b"offer"[..]));
    expect_nothing(&mut g3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_one_node_cuts_the_device_off_on_another() {
    if common::postgres_skipped() {
        return;
    }
    // (Fields left unbound would be dropped here: the servers with them.)
    let Across {
        pg: _pg,
        a,
        b,
        f_key,
        group,
        mut f,
        m_key,
        m_m,
        mut m,
    } = member_across().await;
    let (o_key, o_m, _) = admitted(&mut f, &f_key, group, Capabilities::ALL).await;
    let mut other = Client::connect(&b.url, &o_key, o_m).await.unwrap();
    m.ping().await.unwrap();

    let rec = at_head(
        &mut f,
        &f_key,
        group,
        RevocationTarget::Device(m_key.device_id()),
        Some(f_key.device_id()),
    )
    .await;
    let t = Instant::now();
    f.revoke(rec.clone()).await.unwrap();
    // B tells the device which record removed it, then closes.
    match m.recv().await.unwrap() {
        Incoming::Revoked { id: None, record } => assert_eq!(record, rec),
        got => panic!("expected the revocation notice, got {got:?}"),
    }
    let err = m.recv().await.unwrap_err();
    let took = t.elapsed();
    assert_eq!(code_of(&err), "revoked", "{err}");
    eprintln!("revoke on node A -> device on node B cut off: {took:?}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    // The remaining member on B gets the record from its mailbox, live.
    match other.recv().await.unwrap() {
        Incoming::Revoked {
            id: Some(_),
            record,
        } => assert_eq!(record, rec),
        got => panic!("{got:?}"),
    }
    // Neither node lets it back.
    for url in [&b.url, &a.url] {
        match Client::connect(url, &m_key, m_m.clone()).await.unwrap_err() {
            Error::Revoked { record } => assert_eq!(*record, rec),
            e => panic!("{e:?}"),
        }
    }
}

/// Messages waiting in a group member's mailbox (`group ‖ device`), as
/// the shared database holds them.
/// `member_across` with a third member O, connected to B, through which B
/// has cached the group with M in it (group and device paths).
async fn warm_on_b() -> (Across, Client) {
    let mut x = member_across().await;
    let (o_key, o_m, _) = admitted(&mut x.f, &x.f_key, x.group, Capabilities::ALL).await;
    let mut o = Client::connect(&x.b.url, &o_key, o_m).await.unwrap();
    group_and_direct(&mut o, &mut x.m, &mut [&mut x.f]).await;
    (x, o)
}

/// A connection to the relays' database.
async fn relay_db(pg: &common::Postgres) -> tokio_postgres::Client {
    let (c, conn) = tokio_postgres::connect(&pg.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    c
}

async fn waiting_in(
    pg: &common::Postgres,
    group: tandem_pair::GroupId,
    device: tandem_pair::DeviceId,
) -> i64 {
    let c = relay_db(pg).await;
    let mailbox = [group.0.as_slice(), &device.0].concat();
    c.query_one("SELECT COUNT(*) FROM inbox WHERE mailbox = $1", &[&mailbox])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_revoked_on_one_node_gets_nothing_published_after_on_another() {
    if common::postgres_skipped() {
        return;
    }
    let (
        Across {
            pg,
            a: _a,
            b: _b,
            f_key,
            group,
            mut f,
            m_key,
            m: _m,
            ..
        },
        mut o,
    ) = warm_on_b().await;

    // Revoked through A. O (on B) hears of it from B, which has then
    // processed the revocation: O's next publishes come after it.
    revoke_witnessed(&mut f, &f_key, group, m_key.device_id(), &mut o).await;
    o.publish(Recipient::Group, b"after").await.unwrap();
    let got = expect_message(&mut f).await;
    assert_eq!(got.payload, b"after");
    let err = o
        .publish(Recipient::Device(m_key.device_id()), b"direct after")
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "forbidden", "{err}");
    assert_eq!(
        waiting_in(&pg, group, m_key.device_id()).await,
        0,
        "the revoked device's mailbox holds messages published on B after its revocation on A"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_a_node_has_not_heard_of_yet_still_stops_what_it_stores_after() {
    if common::postgres_skipped() {
        return;
    }
    let (
        Across {
            pg,
            a: _a,
            b: _b,
            group,
            mut f,
            m_key,
            mut m,
            ..
        },
        mut o,
    ) = warm_on_b().await;
    // M's row is marked revoked in the database with no notification: node
    // B has not heard of it (the window between another node's commit and
    // its notification, held open).
    relay_db(&pg)
        .await
        .execute(
            "UPDATE devices SET revoked = 1 WHERE grp = $1 AND device = $2",
            &[&group.0.as_slice(), &m_key.device_id().0.as_slice()],
        )
        .await
        .unwrap();
    o.publish(Recipient::Group, b"after").await.unwrap();
    // Barrier: F (on A) has it, so B stored and pushed it.
    assert_eq!(expect_message(&mut f).await.payload, b"after");
    assert_eq!(
        waiting_in(&pg, group, m_key.device_id()).await,
        0,
        "stored for a device revoked before the write"
    );
    expect_nothing(&mut m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_admitted_on_one_node_gets_the_next_publish_from_another() {
    if common::postgres_skipped() {
        return;
    }
    let Across {
        pg: _pg,
        a,
        b,
        f_key,
        group,
        mut f,
        m_key,
        m_m,
        m,
    } = member_across().await;
    // M on B hears `admitted` notices, as a device learns of a new member.
    m.close().await.unwrap();
    let mut m = Client::connect(&b.url, &m_key, m_m)
        .await
        .unwrap()
        .with_admitted_notices();

    // B knows the group as {F, M}.
    m.publish(Recipient::Group, b"before").await.unwrap();
    let got = expect_message(&mut f).await;
    assert_eq!(got.payload, b"before");
    f.ack(got.id).await.unwrap();

    // F admits N through A; M learns it from B, then publishes from B.
    let (n_key, n_m, n_token) = admitted(&mut f, &f_key, group, Capabilities::ALL).await;
    match m.recv().await.unwrap() {
        Incoming::Admitted { id, token } => {
            assert_eq!(*token, n_token);
            m.ack(id).await.unwrap();
        }
        other => panic!("expected the admitted notice, got {other:?}"),
    }
    let ids = next_and_direct(&mut m, n_key.device_id()).await;
    // N, connecting to A, finds both in its mailbox.
    let mut n = Client::connect(&a.url, &n_key, n_m).await.unwrap();
    expect_next_and_direct(&mut n, ids).await;
}

/// Connection to the test's PostgreSQL as its superuser, to another
/// database than the relays' (which it changes).
async fn admin(pg: &common::Postgres) -> tokio_postgres::Client {
    let url = pg.url.replace("/postgres", "/template1");
    let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_missed_notifications_catches_up() {
    if common::postgres_skipped() {
        return;
    }
    let Across {
        pg,
        a: _a,
        b: _b,
        mut f,
        m_key,
        mut m,
        ..
    } = member_across().await;
    round_trips(&mut f, &mut m, 1).await;

    // Cut every node's notification connection and keep them from coming
    // back; the nodes' other connections stay up.
    let pg_admin = admin(&pg).await;
    pg_admin
        .batch_execute("ALTER DATABASE postgres ALLOW_CONNECTIONS false")
        .await
        .unwrap();
    let cut = pg_admin
        .query(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity \
             WHERE application_name = 'tandem-relay-listen'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(cut.len(), 2, "one listening connection per node");

    // Stored on A while B cannot hear about it: B pushes nothing.
    let id = f
        .publish(Recipient::Device(m_key.device_id()), b"while deaf")
        .await
        .unwrap();
    expect_nothing(&mut m).await;

    // Back: B re-reads its devices' mailboxes.
    let t = Instant::now();
    pg_admin
        .batch_execute("ALTER DATABASE postgres ALLOW_CONNECTIONS true")
        .await
        .unwrap();
    let got = expect_message(&mut m).await;
    eprintln!(
        "missed message delivered {:?} after the database took connections again",
        t.elapsed()
    );
    assert_eq!((got.id, got.payload.as_slice()), (id, &b"while deaf"[..]));
    m.ack(got.id).await.unwrap();
    // And live delivery works again.
    round_trips(&mut f, &mut m, 1).await;
}

/// What a sender was told `published` for: payload and intended recipients.
type Acked = Vec<(Vec<u8>, Vec<usize>)>;

/// Per receiver slot: how often each payload arrived.
type Received = Vec<HashMap<Vec<u8>, u32>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_a_node_under_load_loses_no_acknowledged_message() {
    if common::postgres_skipped() {
        return;
    }
    let pg = common::start_postgres();
    let (a, b) = (node(&pg), node(&pg));
    // Founder F (offline during the load), sender S on A, receivers R0 on
    // A and R1 on B. S alternates device messages to R0 and group messages
    // (to F, R0, R1).
    let (f_key, f_m, group) = founder();
    let mut f = Client::connect(&b.url, &f_key, f_m.clone()).await.unwrap();
    let (s_key, s_m, _) = admitted(&mut f, &f_key, group, Capabilities::ALL).await;
    let (r0_key, r0_m, _) = admitted(&mut f, &f_key, group, Capabilities::ALL).await;
    let (r1_key, r1_m, _) = admitted(&mut f, &f_key, group, Capabilities::ALL).await;
    f.close().await.unwrap();
    let keys: [(IdentityKey, Membership); 3] = [(f_key, f_m), (r0_key, r0_m), (r1_key, r1_m)];
    let r0 = keys[1].0.device_id();

    // Receivers: record and ack everything, reconnecting to B when their
    // node goes away.
    let received: Arc<Mutex<Received>> = Arc::new(Mutex::new(vec![HashMap::new(); 3]));
    let mut readers = Vec::new();
    for (slot, url) in [(1, &a.url), (2, &b.url)] {
        let (key, m) = keys[slot].clone();
        let (url, fallback) = (url.clone(), b.url.clone());
        let received = Arc::clone(&received);
        readers.push(tokio::spawn(async move {
            let mut c = Client::connect(&url, &key, m.clone()).await.unwrap();
            loop {
                match c.recv_timeout(Duration::from_secs(3600)).await {
                    Ok(Incoming::Message(d)) => {
                        *received.lock().unwrap()[slot].entry(d.payload).or_default() += 1;
                        let _ = c.ack(d.id).await;
                    }
                    Ok(other) => panic!("unexpected {other:?}"),
                    Err(_) => c = Client::connect(&fallback, &key, m.clone()).await.unwrap(),
                }
            }
        }));
    }

    let acked: Arc<Mutex<Acked>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..4 {
        let mut c = Client::connect(&a.url, &s_key, s_m.clone()).await.unwrap();
        let acked = Arc::clone(&acked);
        writers.push(tokio::spawn(async move {
            for n in 0u32.. {
                let payload = format!("w{w}-m{n}").into_bytes();
                let (to, who) = if n % 2 == 0 {
                    (Recipient::Device(r0), vec![1])
                } else {
                    (Recipient::Group, vec![0, 1, 2])
                };
                match c.publish(to, &payload).await {
                    Ok(_) => acked.lock().unwrap().push((payload, who)),
                    Err(_) => return,
                }
            }
        }));
    }
    common::kill_after(|| acked.lock().unwrap().len(), 400, a, writers).await;
    let acked = acked.lock().unwrap().clone();
    eprintln!(
        "{} messages published before node A was killed",
        acked.len()
    );

    // Every acknowledged message reaches each of its recipients through B.
    let complete = |got: &[HashMap<Vec<u8>, u32>]| {
        acked
            .iter()
            .all(|(p, who)| who.iter().all(|&s| s == 0 || got[s].contains_key(p)))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !complete(&received.lock().unwrap()) {
        if Instant::now() > deadline {
            let got = received.lock().unwrap();
            let lost = acked
                .iter()
                .filter(|(p, who)| who.iter().any(|&s| s != 0 && !got[s].contains_key(p)))
                .count();
            panic!(
                "{lost} of {} acknowledged messages not delivered",
                acked.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for r in readers {
        r.abort();
        // A reader that panicked failed the test; an aborted one is done.
        if let Err(e) = r.await {
            assert!(e.is_cancelled(), "{e}");
        }
    }
    // The offline founder finds every group message in its mailbox.
    let mut f = Client::connect(&b.url, &keys[0].0, keys[0].1.clone())
        .await
        .unwrap();
    f.ping().await.unwrap();
    let mut founder_got = HashSet::new();
    while let Some(inc) = f.try_recv() {
        if let Incoming::Message(d) = inc {
            founder_got.insert(d.payload);
        }
    }
    let group_msgs: Vec<_> = acked.iter().filter(|(_, who)| who.len() == 3).collect();
    assert!(group_msgs.iter().all(|(p, _)| founder_got.contains(p)));

    // Exactly once visible: duplicates only of messages whose ack the dead
    // node may not have committed, and after acks confirmed on B nothing
    // comes back.
    let dups: u32 = received
        .lock()
        .unwrap()
        .iter()
        .flat_map(|m| m.values())
        .map(|n| n - 1)
        .sum();
    eprintln!(
        "{dups} deliveries repeated after the reconnect (acks the killed node had not committed)"
    );
    for slot in [1, 2] {
        let (key, m) = &keys[slot];
        let mut c = Client::connect(&b.url, key, m.clone()).await.unwrap();
        // Anything replayed now was never acked: ack it and look again.
        c.ping().await.unwrap();
        while let Some(inc) = c.try_recv() {
            if let Some(id) = inc.id() {
                c.ack(id).await.unwrap();
            }
        }
        c.ping().await.unwrap();
        c.close().await.unwrap();
        let mut c = Client::connect(&b.url, key, m.clone()).await.unwrap();
        expect_nothing(&mut c).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_racing_decide_one_winner() {
    if common::postgres_skipped() {
        return;
    }
    let pg = common::start_postgres();
    let n1 = store::open(&pg.url).await.unwrap();
    let n2 = store::open(&pg.url).await.unwrap();
    for round in 0..20u8 {
        // Creating a blob that must not exist yet: one wins.
        let key = vec![round];
        let (r1, r2) = tokio::join!(
            n1.blob_put(b"g".to_vec(), key.clone(), b"one".to_vec(), Some(0), 1),
            n2.blob_put(b"g".to_vec(), key.clone(), b"two".to_vec(), Some(0), 1),
        );
        assert_eq!(
            [&r1, &r2].iter().filter(|r| r.is_ok()).count(),
            1,
            "{r1:?} {r2:?}"
        );
        // Replacing a given version: one wins, the other sees version 2.
        let (r1, r2) = tokio::join!(
            n1.blob_put(b"g".to_vec(), key.clone(), b"1b".to_vec(), Some(1), 2),
            n2.blob_put(b"g".to_vec(), key.clone(), b"2b".to_vec(), Some(1), 2),
        );
        let mut got = [r1, r2];
        got.sort_by_key(|r| r.is_err());
        assert_eq!(got[0], Ok(2));
        assert_eq!(got[1], Err(Error::BlobVersionConflict { current: 2 }));
        // A pairing topic takes two parties, also when three subscribe at
        // once through two nodes.
        let topic = [b"t".as_slice(), &[round]].concat();
        let party = |p: &[u8]| [p, &[round]].concat();
        let (x, y, z) = tokio::join!(
            n1.subscribe(party(b"P1"), topic.clone(), 500, 1, 4),
            n2.subscribe(party(b"P2"), topic.clone(), 500, 1, 4),
            n1.subscribe(party(b"P3"), topic.clone(), 500, 1, 4),
        );
        let outcomes = [x.unwrap(), y.unwrap(), z.unwrap()];
        assert_eq!(
            outcomes.iter().filter(|o| **o == Subscribed::Yes).count(),
            2,
            "{outcomes:?}"
        );
    }
    // A message one node stores is announced to the other.
    let mut events = n2.events().unwrap();
    let p = n1
        .publish(
            store::NewMessage {
                topic: b"g".to_vec(),
                sender: b"S".to_vec(),
                sender_mailbox: b"S".to_vec(),
                payload: b"hi".to_vec(),
                sent_at: 1,
                expires_at: u64::MAX / 4,
                recipients: Some(vec![b"R".to_vec()]),
                partial: false,
            },
            store::MailboxLimits::default(),
        )
        .await
        .unwrap();
    let e = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        e,
        store::Event::Stored {
            id: p.id,
            mailboxes: vec![b"R".to_vec()]
        }
    );
    let m = n2.messages(vec![p.id]).await.unwrap();
    assert_eq!(m[0].payload, b"hi");
}

/// Advisory locks of the relays' database, (granted, waiting).
async fn advisory_locks(db: &tokio_postgres::Client) -> (i64, i64) {
    let r = db
        .query_one(
            "SELECT COUNT(*) FILTER (WHERE granted), COUNT(*) FILTER (WHERE NOT granted) \
             FROM pg_locks WHERE locktype = 'advisory'",
            &[],
        )
        .await
        .unwrap();
    (r.get(0), r.get(1))
}

/// Waits until PostgreSQL shows `waiting` advisory locks waited for (the
/// barrier: the other node asked and PostgreSQL made it wait).
async fn until_waiting(db: &tokio_postgres::Client, waiting: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while advisory_locks(db).await.1 != waiting {
        assert!(Instant::now() < deadline, "no node waited for the lock");
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_lock_held_on_one_node_makes_the_other_wait() {
    if common::postgres_skipped() {
        return;
    }
    let pg = common::start_postgres();
    let db = relay_db(&pg).await;
    let n1 = store::open(&pg.url).await.unwrap();
    let n2 = store::open(&pg.url).await.unwrap();

    // One node holds many groups' locks at once, none waiting.
    let groups: Vec<Vec<u8>> = (0..50u8).map(|i| vec![b'G', i]).collect();
    let held = futures_util::future::join_all(groups.iter().map(|g| n1.lock_group(g.clone())))
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    assert_eq!(advisory_locks(&db).await, (50, 0));

    // The other node waits for one of them until it is released...
    let n2c = Arc::clone(&n2);
    let g = groups[7].clone();
    let (got_tx, mut got_rx) = tokio::sync::oneshot::channel();
    let waiter = tokio::spawn(async move {
        let guard = n2c.lock_group(g).await.unwrap();
        let _ = got_tx.send(());
        guard
    });
    until_waiting(&db, 1).await;
    assert!(got_rx.try_recv().is_err(), "took a lock another node holds");
    drop(held);
    let on_n2 = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("the released lock never reached the waiting node")
        .unwrap();
    // ...and then holds it against the first node in turn (its waiting
    // connection, inside a transaction).
    let n1c = Arc::clone(&n1);
    let g = groups[7].clone();
    let back = tokio::spawn(async move { n1c.lock_group(g).await.unwrap() });
    until_waiting(&db, 1).await;
    assert!(!back.is_finished());
    drop(on_n2);
    let again = tokio::time::timeout(Duration::from_secs(10), back)
        .await
        .expect("the lock never came back to the first node")
        .unwrap();
    drop(again);

    // Membership changes from many groups at once: all stored, one
    // notification per group for the other node, in fewer commits than
    // changes.
    let mut events = n2.events().unwrap();
    let before = n1.writer_stats().unwrap().batch.count();
    let puts = (0..200u16).map(|i| {
        let group = vec![b'M', (i % 40) as u8];
        n1.put_device(
            store::DeviceRecord {
                group,
                device: i.to_be_bytes().to_vec(),
                public_key: vec![7; 32],
                founder: i < 40,
                token: (i >= 40).then(|| vec![b'T', (i >> 8) as u8, i as u8]),
                revoked: None,
                last_seen: None,
            },
            (i >= 40).then(|| vec![b'I', (i >> 8) as u8, i as u8]),
        )
    });
    for r in futures_util::future::join_all(puts).await {
        r.unwrap();
    }
    let batches = n1.writer_stats().unwrap().batch.count() - before;
    println!("200 membership changes in {batches} commits");
    assert!(batches < 200, "{batches} commits for 200 changes");
    let mut changed = HashSet::new();
    while changed.len() < 40 {
        let e = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("the other node did not hear of every group")
            .unwrap();
        if let store::Event::Members { group } = e {
            changed.insert(group);
        }
    }
    for g in 0..40u8 {
        let devices = n2.group_devices(vec![b'M', g]).await.unwrap();
        assert_eq!(devices.len(), 5, "group {g}");
        assert_eq!(devices.iter().filter(|d| d.founder).count(), 1);
        for d in devices.iter().filter(|d| !d.founder) {
            let id = [b"I".as_slice(), &d.device].concat();
            let token = n2.token(vec![b'M', g], id).await.unwrap();
            assert_eq!(token, d.token, "group {g}");
        }
    }
}

/// A publish to a topic finds the topic's subscribers by index, not by
/// reading every subscription: with 20,000 subscriptions (analysed),
/// PostgreSQL's plan for the writer's own statement names the index. A
/// database made before the index existed gets it when a node starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_of_a_topic_are_found_by_index() {
    if common::postgres_skipped() {
        return;
    }
    let pg = common::start_postgres();
    let store = store::open(&pg.url).await.unwrap();
    let db = relay_db(&pg).await;
    db.batch_execute("DROP INDEX subscriptions_topic")
        .await
        .unwrap();
    drop(store);
    let _store = store::open(&pg.url).await.unwrap();
    db.batch_execute(
        "INSERT INTO subscriptions(mailbox, topic, until) \
         SELECT ('m' || g)::bytea, ('t' || g)::bytea, 100 FROM generate_series(1, 20000) g; \
         ANALYZE subscriptions",
    )
    .await
    .unwrap();
    let topics = vec![b"t17".to_vec(), b"t4242".to_vec()];
    let plan: Vec<String> = db
        .query(
            &format!("EXPLAIN {}", store::postgres::SUBSCRIBERS),
            &[&topics],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("subscriptions_topic"), "{plan}");
    assert!(!plan.contains("Seq Scan"), "{plan}");
    let found = db
        .query(store::postgres::SUBSCRIBERS, &[&topics])
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
}
