//! The relay caches each group's devices for the publish path (one store
//! read per group, not per message). These tests warm that cache, change
//! the group, and check that the very next publish follows the change: a
//! revoked device's mailbox receives nothing published after its
//! revocation, and a newly admitted device receives the next group
//! publish and can be addressed directly. Each fails when the relay does
//! not drop the cached view on the change. (The same across two nodes on
//! PostgreSQL: `tests/nodes.rs`.)
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{
    admitted, code_of, expect_message, expect_next_and_direct, founder, group_and_direct,
    next_and_direct, revoke_witnessed, TempDir,
};
use tandem_pair::{Capabilities, GroupId, Recipient};
use tandem_relay::{
    client::Client,
    store::{self, Store},
};

/// An in-process relay on SQLite, and the store it writes (to look into
/// mailboxes the way only the relay can).
async fn relay() -> (common::Relay, Arc<dyn Store>) {
    let dir = TempDir::new("members");
    let mut config = common::loose();
    config.database = dir.path().join("relay.db").to_string_lossy().into_owned();
    let store = store::open(&config.database).await.unwrap();
    let relay = common::start_relay_on(config, Arc::clone(&store), dir, None).await;
    (relay, store)
}

/// A group member's mailbox key (`group ‖ device`, see `store`).
fn mailbox(group: GroupId, device: tandem_pair::DeviceId) -> Vec<u8> {
    [group.0.as_slice(), &device.0].concat()
}

/// Receives one group message and acks it.
async fn got(c: &mut Client, payload: &[u8]) {
    let m = expect_message(c).await;
    assert_eq!(m.payload, payload);
    c.ack(m.id).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_device_gets_nothing_published_after_its_revocation() {
    let (relay, store) = relay().await;
    let (f_key, f_m, group) = founder();
    let mut f = Client::connect(&relay.url, &f_key, f_m).await.unwrap();
    let (r_key, r_m, _) = admitted(&mut f, &f_key, group, Capabilities::ALL).await;
    let (o_key, o_m, _) = admitted(&mut f, &f_key, group, Capabilities::ALL).await;
    let mut r = Client::connect(&relay.url, &r_key, r_m).await.unwrap();
    let mut o = Client::connect(&relay.url, &o_key, o_m).await.unwrap();

    // The relay now knows the group with R in it (group and device paths).
    group_and_direct(&mut o, &mut r, &mut [&mut f]).await;
    revoke_witnessed(&mut f, &f_key, group, r_key.device_id(), &mut o).await;

    // Published after the revocation: the others get it, R's mailbox not.
    o.publish(Recipient::Group, b"after").await.unwrap();
    got(&mut f, b"after").await;
    let err = o
        .publish(Recipient::Device(r_key.device_id()), b"direct after")
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "forbidden", "{err}");
    let waiting = store
        .pending(mailbox(group, r_key.device_id()), 0, 100, common::now())
        .await
        .unwrap();
    assert!(
        waiting.is_empty(),
        "the revoked device's mailbox holds {} message(s) published after its revocation",
        waiting.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newly_admitted_device_gets_the_next_publish() {
    let (relay, _store) = relay().await;
    let (f_key, f_m, group) = founder();
    let mut f = Client::connect(&relay.url, &f_key, f_m).await.unwrap();
    let (m_key, m_m, _) = admitted(&mut f, &f_key, group, Capabilities::ALL).await;
    let mut m = Client::connect(&relay.url, &m_key, m_m).await.unwrap();

    // The relay now knows the group as {F, M}.
    m.publish(Recipient::Group, b"before").await.unwrap();
    got(&mut f, b"before").await;

    // F admits N; the next publishes reach it, offline or not.
    let (n_key, n_m, _) = admitted(&mut f, &f_key, group, Capabilities::ALL).await;
    let ids = next_and_direct(&mut m, n_key.device_id()).await;
    got(&mut f, b"next").await;
    let mut n = Client::connect(&relay.url, &n_key, n_m).await.unwrap();
    expect_next_and_direct(&mut n, ids).await;
    // And live, once connected.
    f.publish(Recipient::Group, b"live").await.unwrap();
    got(&mut n, b"live").await;
    got(&mut m, b"live").await;
}
