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

use std::sync::{atomic::Ordering, Arc};

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

/// A founder F and a member M it admitted, both connected, after a group
/// publish of M's reached F: the relay knows the group as {F, M}.
async fn founder_and_member(
    relay: &common::Relay,
) -> (tandem_pair::IdentityKey, Client, Client, GroupId) {
    let (f_key, f_m, group) = founder();
    let mut f = Client::connect(&relay.url, &f_key, f_m).await.unwrap();
    let (m_key, m_m, _) = admitted(&mut f, &f_key, group, Capabilities::ALL).await;
    let mut m = Client::connect(&relay.url, &m_key, m_m).await.unwrap();
    m.publish(Recipient::Group, b"before").await.unwrap();
    got(&mut f, b"before").await;
    (f_key, f, m, group)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newly_admitted_device_gets_the_next_publish() {
    let (relay, _store) = relay().await;
    let (f_key, mut f, mut m, group) = founder_and_member(&relay).await;

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

/// After a change to a group's devices the relay reads the group again
/// before it answers the change, so the publish that follows finds it in
/// the cache: the publish path does not wait for the database
/// (`member_loads` stays put across it). With a bare invalidation, each
/// of these publishes would read the group itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_group_is_read_again_before_its_next_publish() {
    let (relay, _store) = relay().await;
    let loads = || relay.state.metrics().member_loads.load(Ordering::Relaxed);
    let (f_key, mut f, mut m, group) = founder_and_member(&relay).await;

    // An admission: M's next publish reaches N.
    let (n_key, n_m, _) = admitted(&mut f, &f_key, group, Capabilities::ALL).await;
    publish_from_cache(&mut m, &loads, b"after admit", "the admission").await;
    got(&mut f, b"after admit").await;
    let mut n = Client::connect(&relay.url, &n_key, n_m).await.unwrap();
    got(&mut n, b"after admit").await;

    // A revocation: the same, and N gets nothing more.
    revoke_witnessed(&mut f, &f_key, group, n_key.device_id(), &mut m).await;
    publish_from_cache(&mut m, &loads, b"after revoke", "the revocation").await;
    got(&mut f, b"after revoke").await;
}

/// Publishes `payload` to the group and checks the relay did not read
/// the group's devices from the database for it.
async fn publish_from_cache(m: &mut Client, loads: &dyn Fn() -> u64, payload: &[u8], after: &str) {
    let before = loads();
    m.publish(Recipient::Group, payload).await.unwrap();
    assert_eq!(
        loads(),
        before,
        "the publish after {after} read the group's devices from the database"
    );
}
