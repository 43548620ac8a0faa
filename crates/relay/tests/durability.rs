//! The real `tandem-relay` binary, killed with SIGKILL while devices publish,
//! then restarted on the same database: every message the relay
//! acknowledged (`published`) must still be delivered. Run against the
//! default SQLite store and against a real PostgreSQL server started here
//! (Debian `postgresql` package; `initdb` into a temp dir).
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

mod common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use common::{founder, member, RelayProc, TempDir};
use tandem_pair::{Capabilities, IdentityKey, Membership, Recipient};
use tandem_relay::{
    client::{Client, Incoming},
    Error,
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
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < 300 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "relay too slow to accept 300 messages"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    proc_.sigkill();
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(15), t)
            .await
            .expect("writer stuck")
            .unwrap();
    }
    let v = acked.lock().unwrap().clone();
    v
}

async fn drain(c: &mut Client) -> Vec<(tandem_pair::MessageId, Vec<u8>)> {
    let mut got = Vec::new();
    loop {
        match c.recv_timeout(Duration::from_millis(1500)).await {
            Ok(Incoming::Message(m)) => got.push((m.id, m.payload)),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(Error::Timeout(_)) => return got,
            Err(e) => panic!("{e}"),
        }
    }
}

async fn sigkill_loses_no_acked_message(db_args: &[&str]) {
    let (a_key, a_m, group) = founder();
    let (b_key, b_m, _) = member(&a_key, group, Capabilities::ALL, 3600);

    let relay = RelayProc::spawn(db_args);
    // Register both devices, then B goes offline.
    Client::connect(&relay.url, &a_key, a_m.clone())
        .await
        .unwrap();
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
    // The relay handles a connection's frames in order and each ack awaits
    // its commit, so the pong proves every ack above is on disk.
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
    sigkill_loses_no_acked_message(&["--database", &db, "--rate", "100000", "--burst", "100000"])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sigkill_restart_loses_no_acknowledged_message() {
    if common::postgres_skipped() {
        return;
    }
    let pg = common::start_postgres();
    sigkill_loses_no_acked_message(&[
        "--database-url",
        &pg.url,
        "--rate",
        "100000",
        "--burst",
        "100000",
    ])
    .await;
}

#[tokio::test]
async fn postgres_store_conformance() {
    if common::postgres_skipped() {
        return;
    }
    let pg = common::start_postgres();
    let store = tandem_relay::store::open(&pg.url).await.unwrap();
    tandem_relay::store::conformance::run(store.as_ref()).await;
    // Reopen: state reloads from PostgreSQL.
    drop(store);
    let store = tandem_relay::store::open(&pg.url).await.unwrap();
    assert_eq!(store.revoked().await.unwrap(), vec![b"D".to_vec()]);
}
