//! The relay over real WebSockets on 127.0.0.1 (in-process server, SQLite
//! in a temp dir): auth rules, routing, mailbox, blobs, revocation, limits
//! and bad frames. "Nothing arrived" is always proven with a ping barrier
//! ([`common::expect_nothing`]), never with a wait.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

mod common;

use std::time::Duration;

use common::{
    admitted, at_head, code_of, expect_message, expect_nothing, founder, loose, member, now,
    start_relay,
};
use rand_core::OsRng;
use tandem_pair::{
    Capabilities, ErrorCode, IdentityKey, Membership, Recipient, RelayFrame, RevocationTarget,
    Topic,
};
use tandem_relay::{
    client::{Client, Incoming},
    store::MailboxLimits,
    Config, Error,
};

#[tokio::test]
async fn pairing_topic_group_and_device_routing() {
    let relay = start_relay(loose()).await;
    let (a_key, a_m, group) = founder();
    let mut a = Client::connect(&relay.url, &a_key, a_m).await.unwrap();
    assert_eq!(a.group(), Some(group));
    assert_eq!(a.device(), a_key.device_id());
    assert_eq!(a.chain_len_at_connect(), 0);

    // Guests meet on a pairing topic.
    let guest_key = IdentityKey::generate(&mut OsRng);
    let mut g = Client::connect(&relay.url, &guest_key, Membership::Guest)
        .await
        .unwrap();
    assert_eq!(g.group(), None);
    let topic = Topic([9; 32]);
    g.subscribe(topic).await.unwrap();
    let id = a
        .publish(Recipient::Topic(topic), b"offer-reply")
        .await
        .unwrap();
    let m = expect_message(&mut g).await;
    assert_eq!(
        (m.id, m.from, m.to, m.payload.as_slice()),
        (
            id,
            a_key.device_id(),
            Recipient::Topic(topic),
            &b"offer-reply"[..]
        )
    );
    assert!(m.sent_at >= now() - 5);
    // The sender does not get its own message back.
    expect_nothing(&mut a).await;

    // Guests may not use group features.
    let e = g.publish(Recipient::Group, b"x").await.unwrap_err();
    assert_eq!(code_of(&e), "forbidden");
    let e = g.blob_put("k", b"v", None).await.unwrap_err();
    assert_eq!(code_of(&e), "forbidden");
    assert_eq!(code_of(&g.blob_get("k").await.unwrap_err()), "forbidden");
    assert_eq!(code_of(&g.members().await.unwrap_err()), "forbidden");
    assert_eq!(code_of(&g.revocations(0).await.unwrap_err()), "forbidden");
    let rec = common::record(
        &guest_key,
        group,
        RevocationTarget::Device(a_key.device_id()),
        Some(guest_key.device_id()),
        1,
        tandem_pair::RevocationId::NONE,
    );
    assert_eq!(code_of(&g.revoke(rec).await.unwrap_err()), "forbidden");
    let (_, _, t) = member(&guest_key, group, Capabilities::ALL, 60);
    assert_eq!(code_of(&g.admit(t).await.unwrap_err()), "forbidden");
    assert_eq!(
        code_of(
            &g.publish(Recipient::Device(a_key.device_id()), b"x")
                .await
                .unwrap_err()
        ),
        "forbidden"
    );

    // Members: B and C paired (admitted) by A.
    let (b_key, b_m, _) = admitted(&mut a, &a_key, group, Capabilities::ALL).await;
    let (c_key, c_m, _) = admitted(&mut a, &a_key, group, Capabilities::ALL).await;
    let mut b = Client::connect(&relay.url, &b_key, b_m).await.unwrap();
    let mut c = Client::connect(&relay.url, &c_key, c_m).await.unwrap();
    assert_eq!(b.group(), Some(group));

    // Group broadcast reaches every other member.
    let p = a.publish_report(Recipient::Group, b"to-all").await.unwrap();
    assert!(p.full.is_empty());
    assert_eq!(expect_message(&mut b).await.payload, b"to-all");
    assert_eq!(expect_message(&mut c).await.payload, b"to-all");
    // One device only.
    b.publish(Recipient::Device(c_key.device_id()), b"just-c")
        .await
        .unwrap();
    let m = expect_message(&mut c).await;
    assert_eq!(
        (m.payload.as_slice(), m.from),
        (&b"just-c"[..], b_key.device_id())
    );
    expect_nothing(&mut a).await;

    // Another group's device cannot be addressed: it is unknown there.
    let (x_key, x_m, _) = founder();
    let mut x = Client::connect(&relay.url, &x_key, x_m).await.unwrap();
    let e = x
        .publish(Recipient::Device(b_key.device_id()), b"spam")
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "not_found");

    // Members list with last-seen.
    let members = a.members().await.unwrap();
    assert_eq!(members.len(), 3);
    assert!(members
        .iter()
        .any(|m| m.device == a_key.device_id() && m.founder && !m.revoked));
    assert!(members.iter().all(|m| m.last_seen.unwrap() >= now() - 5));
    a.ping().await.unwrap();
}

#[tokio::test]
async fn offline_mailbox_replays_until_acked() {
    let relay = start_relay(loose()).await;
    let (a_key, a_m, group) = founder();
    let mut a = Client::connect(&relay.url, &a_key, a_m).await.unwrap();
    let (b_key, b_m, _) = admitted(&mut a, &a_key, group, Capabilities::ALL).await;
    // Admitted but never connected: listed, never seen.
    let members = a.members().await.unwrap();
    let b_info = members
        .iter()
        .find(|m| m.device == b_key.device_id())
        .unwrap();
    assert_eq!((b_info.founder, b_info.last_seen), (false, None));
    // B registers once, then goes offline.
    common::register_offline(&relay.url, &b_key, b_m.clone()).await;

    let mut ids = Vec::new();
    for i in 0..5u8 {
        ids.push(
            a.publish(Recipient::Device(b_key.device_id()), &[i])
                .await
                .unwrap(),
        );
    }
    let mut b = Client::connect(&relay.url, &b_key, b_m.clone())
        .await
        .unwrap();
    for (i, id) in ids.iter().enumerate() {
        let m = expect_message(&mut b).await;
        assert_eq!((m.id, m.payload.clone()), (*id, vec![i as u8]));
    }
    // Ack the first three; the last two come again on the next connection.
    for id in &ids[..3] {
        b.ack(*id).await.unwrap();
    }
    b.ping().await.unwrap(); // acks are processed in order before the pong
    b.close().await.unwrap();
    let mut b = Client::connect(&relay.url, &b_key, b_m).await.unwrap();
    assert_eq!(expect_message(&mut b).await.id, ids[3]);
    assert_eq!(expect_message(&mut b).await.id, ids[4]);
    expect_nothing(&mut b).await;
}

#[tokio::test]
async fn auth_failures_are_specific() {
    let (t, clock) = common::manual_clock();
    let relay = common::start_relay_with_clock(loose(), Some(clock)).await;
    let (a_key, a_m, group) = founder();

    // Claiming someone else's group as founder.
    let thief = IdentityKey::generate(&mut OsRng);
    let e = Client::connect(&relay.url, &thief, a_m.clone())
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "auth_failed", "{e}");

    // A token the approving device never registered.
    let (b_key, b_m, b_token) = member(&a_key, group, Capabilities::ALL, 3600);
    let e = Client::connect(&relay.url, &b_key, b_m.clone())
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "auth_failed");
    assert!(e.to_string().contains("must register it"), "{e}");

    // Once the founder registered it, the token is accepted.
    let mut a = Client::connect(&relay.url, &a_key, a_m).await.unwrap();
    a.admit(b_token).await.unwrap();
    Client::connect(&relay.url, &b_key, b_m).await.unwrap();

    // Someone presenting another device's (registered) token with their own key.
    let (_, b2_m, b2_token) = member(&a_key, group, Capabilities::ALL, 3600);
    a.admit(b2_token).await.unwrap();
    let e = Client::connect(&relay.url, &thief, b2_m).await.unwrap_err();
    assert_eq!(code_of(&e), "auth_failed");

    // A registered token that has since expired.
    let (c_key, c_m, c_token) = member(&a_key, group, Capabilities::ALL, 60);
    a.admit(c_token).await.unwrap();
    t.fetch_add(61, std::sync::atomic::Ordering::Relaxed);
    let e = Client::connect(&relay.url, &c_key, c_m).await.unwrap_err();
    assert_eq!(code_of(&e), "auth_failed");
    assert!(e.to_string().contains("expire"), "{e}");

    // A signature made for another relay URL.
    let mut raw = raw_connect(&relay.url).await;
    let Some(RelayFrame::Challenge { nonce, .. }) = raw.next_raw().await else {
        panic!()
    };
    let k = IdentityKey::generate(&mut OsRng);
    let sig = k.sign_auth("ws://evil.example/v1/ws", &nonce).unwrap();
    let auth = tandem_pair::ClientFrame::Auth {
        identity: k.public(),
        membership: Membership::Guest,
        signature: sig,
    };
    raw.send_raw(auth.encode()).await.unwrap();
    match raw.next_raw().await.unwrap() {
        RelayFrame::Error {
            code: ErrorCode::AuthFailed,
            message,
            ..
        } => assert!(message.contains("signature"), "{message}"),
        other => panic!("{other:?}"),
    }
}

/// A socket that has seen nothing yet (not authenticated), wrapped in the
/// client for its raw send/receive helpers.
async fn raw_connect(url: &str) -> RawSocket {
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    RawSocket(ws)
}

struct RawSocket(tandem_relay::client::Socket);

impl RawSocket {
    async fn send_raw(&mut self, text: String) -> Result<(), ()> {
        use futures_util::SinkExt;
        self.0
            .send(tokio_tungstenite::tungstenite::Message::Text(text.into()))
            .await
            .map_err(|_| ())
    }
    async fn send_binary(&mut self, b: Vec<u8>) {
        use futures_util::SinkExt;
        self.0
            .send(tokio_tungstenite::tungstenite::Message::Binary(b.into()))
            .await
            .unwrap()
    }
    async fn next_raw(&mut self) -> Option<RelayFrame> {
        use futures_util::StreamExt;
        loop {
            let m = tokio::time::timeout(Duration::from_secs(10), self.0.next())
                .await
                .ok()??
                .ok()?;
            match m {
                tokio_tungstenite::tungstenite::Message::Text(t) => {
                    return Some(RelayFrame::decode(t.as_str()).unwrap())
                }
                tokio_tungstenite::tungstenite::Message::Close(_) => return None,
                _ => {}
            }
        }
    }
}

#[tokio::test]
async fn bad_frames_get_clear_errors() {
    let relay = start_relay(loose()).await;
    let mut raw = raw_connect(&relay.url).await;
    assert!(matches!(
        raw.next_raw().await,
        Some(RelayFrame::Challenge { .. })
    ));
    // Before auth.
    raw.send_raw(r#"{"type":"ping","req":1}"#.into())
        .await
        .unwrap();
    assert!(matches!(
        raw.next_raw().await,
        Some(RelayFrame::Error {
            code: ErrorCode::NotAuthenticated,
            ..
        })
    ));
    raw.send_raw("not json".into()).await.unwrap();
    match raw.next_raw().await {
        Some(RelayFrame::Error {
            code: ErrorCode::BadFrame,
            message,
            ..
        }) => assert!(!message.is_empty()),
        other => panic!("{other:?}"),
    }

    let (k, m, _) = founder();
    let mut c = Client::connect(&relay.url, &k, m).await.unwrap();
    for (text, want, req) in [
        ("{", ErrorCode::BadFrame, None),
        (
            r#"{"type":"teleport","req":4}"#,
            ErrorCode::BadFrame,
            Some(4),
        ),
        (
            r#"{"type":"publish","req":5,"to":"group","payload":"@@"}"#,
            ErrorCode::BadFrame,
            Some(5),
        ),
        (
            r#"{"type":"publish","req":6,"to":"group"}"#,
            ErrorCode::BadFrame,
            Some(6),
        ),
        (r#"{"type":"ack","id":"x"}"#, ErrorCode::BadFrame, None),
    ] {
        c.send_raw(text.into()).await.unwrap();
        match c.next_raw().await.unwrap() {
            RelayFrame::Error {
                code,
                req: r,
                message,
            } => {
                assert_eq!((code, r), (want, req), "{text}: {message}");
                assert!(!message.is_empty());
            }
            other => panic!("{text}: {other:?}"),
        }
    }
    // A second auth is refused; the connection still works afterwards.
    c.send_raw(r#"{"type":"auth","identity":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","membership":{"kind":"guest"},"signature":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#.into()).await.unwrap();
    assert!(matches!(
        c.next_raw().await.unwrap(),
        RelayFrame::Error {
            code: ErrorCode::BadFrame,
            ..
        }
    ));
    c.ping().await.unwrap();

    // Binary frames are refused with an explanation.
    let mut raw = raw_connect(&relay.url).await;
    raw.next_raw().await.unwrap();
    raw.send_binary(vec![1, 2, 3]).await;
    match raw.next_raw().await {
        Some(RelayFrame::Error {
            code: ErrorCode::BadFrame,
            message,
            ..
        }) => assert!(message.contains("text"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn auth_timeout_closes_with_error() {
    let relay = start_relay(Config {
        auth_timeout: Duration::from_millis(200),
        ..loose()
    })
    .await;
    let mut raw = raw_connect(&relay.url).await;
    raw.next_raw().await.unwrap();
    match raw.next_raw().await {
        Some(RelayFrame::Error {
            code: ErrorCode::NotAuthenticated,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(raw.next_raw().await.is_none(), "connection should close");
}

#[tokio::test]
async fn limits_produce_error_frames() {
    let config = Config {
        max_frame_bytes: 2000,
        // No refill, so the test does not depend on timing: 5 frames, then refusals.
        rate_per_sec: 0,
        rate_burst: 5,
        max_conns_per_ip: 3,
        mailbox: MailboxLimits {
            max_messages: 2,
            max_bytes: 1 << 20,
        },
        ..Config::default()
    };
    let relay = start_relay(config).await;
    let (a_key, a_m, group) = founder();
    let mut a = Client::connect(&relay.url, &a_key, a_m).await.unwrap();

    // Frame size: clear error, connection stays up.
    let e = a.publish(Recipient::Group, &[0u8; 3000]).await.unwrap_err();
    assert_eq!(code_of(&e), "too_large");
    assert!(e.to_string().contains("2000"), "{e}");

    // Mailbox full: B is offline with two messages waiting.
    let (b_key, b_m, _) = admitted(&mut a, &a_key, group, Capabilities::ALL).await;
    common::register_offline(&relay.url, &b_key, b_m).await;
    a.publish(Recipient::Device(b_key.device_id()), b"1")
        .await
        .unwrap();
    a.publish(Recipient::Device(b_key.device_id()), b"2")
        .await
        .unwrap();
    let e = a
        .publish(Recipient::Device(b_key.device_id()), b"3")
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "mailbox_full");
    assert!(e.to_string().contains(&b_key.device_id().to_hex()), "{e}");

    // Rate: the burst of 5 is used up (oversize, admit, 3 publishes above).
    let e = a.ping().await.unwrap_err();
    assert_eq!(code_of(&e), "rate_limited", "{e}");
    assert!(relay
        .state
        .metrics()
        .render()
        .contains("tandem_relay_rate_limited 1"));

    // Per-IP connections: 3 allowed (A plus two more).
    let _c2 = Client::connect(
        &relay.url,
        &IdentityKey::generate(&mut OsRng),
        Membership::Guest,
    )
    .await
    .unwrap();
    let _c3 = Client::connect(
        &relay.url,
        &IdentityKey::generate(&mut OsRng),
        Membership::Guest,
    )
    .await
    .unwrap();
    let e = Client::connect(
        &relay.url,
        &IdentityKey::generate(&mut OsRng),
        Membership::Guest,
    )
    .await
    .unwrap_err();
    assert_eq!(code_of(&e), "rate_limited");
    assert!(e.to_string().contains("too many connections"), "{e}");
}

#[tokio::test]
async fn blobs_are_per_group() {
    let relay = start_relay(Config {
        blob_max_bytes: 100,
        blob_quota_bytes: 150,
        ..loose()
    })
    .await;
    let (a_key, a_m, group) = founder();
    let mut a = Client::connect(&relay.url, &a_key, a_m).await.unwrap();
    let (b_key, b_m, _) = admitted(&mut a, &a_key, group, Capabilities::ALL).await;
    let mut b = Client::connect(&relay.url, &b_key, b_m).await.unwrap();
    assert_eq!(a.blob_get("names").await.unwrap(), None);
    assert_eq!(a.blob_put("names", b"ciphertext-1", None).await.unwrap(), 1);
    assert_eq!(
        b.blob_get("names").await.unwrap(),
        Some((b"ciphertext-1".to_vec(), 1))
    );
    assert_eq!(b.blob_put("names", b"ciphertext-2", None).await.unwrap(), 2);
    assert_eq!(
        a.blob_get("names").await.unwrap(),
        Some((b"ciphertext-2".to_vec(), 2))
    );
    // Another group sees nothing.
    let (x_key, x_m, _) = founder();
    let mut x = Client::connect(&relay.url, &x_key, x_m).await.unwrap();
    assert_eq!(x.blob_get("names").await.unwrap(), None);
    // Size and quota.
    assert_eq!(
        code_of(&a.blob_put("big", &[0; 101], None).await.unwrap_err()),
        "too_large"
    );
    a.blob_put("b1", &[0; 100], None).await.unwrap();
    let e = a.blob_put("b2", &[0; 100], None).await.unwrap_err();
    assert!(e.to_string().contains("quota"), "{e}");
}

#[tokio::test]
async fn revoked_device_is_disconnected_refused_and_cut_off() {
    let relay = start_relay(loose()).await;
    let (a_key, a_m, group) = founder();
    let mut a = Client::connect(&relay.url, &a_key, a_m).await.unwrap();
    let (b_key, b_m, _) = admitted(&mut a, &a_key, group, Capabilities::ALL).await;
    let (c_key, c_m, _) = admitted(&mut a, &a_key, group, Capabilities::ALL).await;
    let (d_key, d_m, _) = admitted(&mut a, &a_key, group, Capabilities::ALL).await;
    let mut b = Client::connect(&relay.url, &b_key, b_m.clone())
        .await
        .unwrap();
    let mut c = Client::connect(&relay.url, &c_key, c_m).await.unwrap();
    // D is paired but offline when the revocation happens.
    common::register_offline(&relay.url, &d_key, d_m.clone()).await;

    // A member without the REVOKE capability cannot revoke another.
    let (e_key, e_m, _) = admitted(&mut a, &a_key, group, Capabilities::MESSAGE).await;
    let mut e = Client::connect(&relay.url, &e_key, e_m).await.unwrap();
    let target = RevocationTarget::Device(b_key.device_id());
    let rec = at_head(&mut e, &e_key, group, target, Some(e_key.device_id())).await;
    assert_eq!(code_of(&e.revoke(rec).await.unwrap_err()), "forbidden");
    // A record signed by someone else cannot be relayed by C.
    let rec = at_head(&mut a, &a_key, group, target, Some(a_key.device_id())).await;
    assert_eq!(
        code_of(&c.revoke(rec.clone()).await.unwrap_err()),
        "forbidden"
    );

    // A revokes B: B is told which record removed it and disconnected.
    a.revoke(rec.clone()).await.unwrap();
    match b.recv().await.unwrap() {
        Incoming::Revoked { id: None, record } => assert_eq!(record, rec),
        other => panic!("{other:?}"),
    }
    let err = b.recv().await.unwrap_err();
    assert_eq!(code_of(&err), "revoked", "{err}");
    // C is told live; D finds it in its mailbox.
    match c.recv().await.unwrap() {
        Incoming::Revoked {
            id: Some(_),
            record,
        } => assert_eq!(record, rec),
        other => panic!("{other:?}"),
    }
    let mut d = Client::connect(&relay.url, &d_key, d_m).await.unwrap();
    assert_eq!(d.chain_len_at_connect(), 1);
    match d.recv().await.unwrap() {
        Incoming::Revoked {
            id: Some(id),
            record,
        } => {
            assert_eq!(record, rec);
            d.ack(id).await.unwrap();
        }
        other => panic!("{other:?}"),
    }

    // B is refused afterwards, with the record.
    match Client::connect(&relay.url, &b_key, b_m).await.unwrap_err() {
        Error::Revoked { record } => assert_eq!(*record, rec),
        other => panic!("{other:?}"),
    }
    // Nobody can address B any more, and group traffic skips it.
    assert_eq!(
        code_of(
            &a.publish(Recipient::Device(b_key.device_id()), b"x")
                .await
                .unwrap_err()
        ),
        "forbidden"
    );
    a.publish(Recipient::Group, b"after").await.unwrap();
    assert_eq!(expect_message(&mut c).await.payload, b"after");
    let members = a.members().await.unwrap();
    assert!(members
        .iter()
        .any(|m| m.device == b_key.device_id() && m.revoked));
    assert!(relay
        .state
        .metrics()
        .render()
        .contains("tandem_relay_revocations 1"));
}

#[tokio::test]
async fn revoking_a_token_removes_the_device_holding_it() {
    let relay = start_relay(loose()).await;
    let (a_key, a_m, group) = founder();
    let mut a = Client::connect(&relay.url, &a_key, a_m).await.unwrap();
    let (b_key, b_m, b_token) = admitted(&mut a, &a_key, group, Capabilities::ALL).await;
    let mut b = Client::connect(&relay.url, &b_key, b_m.clone())
        .await
        .unwrap();
    // C was approved by B before B is revoked.
    let (c_key, c_m, _) = admitted(&mut b, &b_key, group, Capabilities::ALL).await;
    let target = RevocationTarget::Token(b_token.id());
    let rec = at_head(&mut a, &a_key, group, target, Some(a_key.device_id())).await;
    a.revoke(rec.clone()).await.unwrap();
    assert!(matches!(
        b.recv().await.unwrap(),
        Incoming::Revoked { id: None, .. }
    ));
    assert_eq!(code_of(&b.recv().await.unwrap_err()), "revoked");
    assert_eq!(
        code_of(&Client::connect(&relay.url, &b_key, b_m).await.unwrap_err()),
        "revoked"
    );
    // Devices treat a token revocation as removing its holder: so does the
    // relay, which will not take B back with a fresh token.
    let fresh = common::issue(&a_key, group, &b_key, Capabilities::ALL, 3600);
    assert_eq!(
        code_of(&a.admit(fresh.clone()).await.unwrap_err()),
        "forbidden"
    );
    assert_eq!(
        code_of(
            &Client::connect(&relay.url, &b_key, Membership::Member { token: fresh })
                .await
                .unwrap_err()
        ),
        "revoked"
    );
    // A device B approved while active keeps working.
    Client::connect(&relay.url, &c_key, c_m).await.unwrap();
}

#[tokio::test]
async fn revocations_survive_a_relay_restart() {
    let dir = common::TempDir::new("revreload");
    let db = dir.path().join("r.db");
    let (a_key, a_m, group) = founder();
    let (b_key, b_m, rec) = {
        let relay =
            common::start_relay_in(loose(), common::TempDir::new("unused"), &db, None).await;
        let mut a = Client::connect(&relay.url, &a_key, a_m.clone())
            .await
            .unwrap();
        let (b_key, b_m, _) = admitted(&mut a, &a_key, group, Capabilities::ALL).await;
        let target = RevocationTarget::Device(b_key.device_id());
        let rec = at_head(&mut a, &a_key, group, target, Some(a_key.device_id())).await;
        a.revoke(rec.clone()).await.unwrap();
        (b_key, b_m, rec)
    };
    // A new relay state on the same database reloads the revocations.
    let relay = common::start_relay_in(loose(), dir, &db, None).await;
    match Client::connect(&relay.url, &b_key, b_m).await.unwrap_err() {
        Error::Revoked { record } => assert_eq!(*record, rec),
        other => panic!("{other:?}"),
    }
    let mut a = Client::connect(&relay.url, &a_key, a_m).await.unwrap();
    assert_eq!(a.chain_len_at_connect(), 1);
    assert_eq!(a.revocations(0).await.unwrap(), (vec![rec], 1));
}

#[tokio::test]
async fn mailbox_messages_expire_after_their_ttl() {
    use std::sync::atomic::Ordering;
    let (t, clock) = common::manual_clock();
    let config = Config {
        message_ttl: Duration::from_secs(60),
        ..loose()
    };
    let relay = common::start_relay_with_clock(config, Some(clock)).await;
    let (a_key, a_m, group) = founder();
    let mut a = Client::connect(&relay.url, &a_key, a_m).await.unwrap();
    let (b_key, b_m, _) = admitted(&mut a, &a_key, group, Capabilities::ALL).await;
    common::register_offline(&relay.url, &b_key, b_m.clone()).await;
    a.publish(Recipient::Device(b_key.device_id()), b"old")
        .await
        .unwrap();
    t.fetch_add(61, Ordering::Relaxed);
    a.publish(Recipient::Device(b_key.device_id()), b"new")
        .await
        .unwrap();
    // Not delivered once expired, even before the sweeper runs ...
    let mut b = Client::connect(&relay.url, &b_key, b_m.clone())
        .await
        .unwrap();
    assert_eq!(expect_message(&mut b).await.payload, b"new");
    expect_nothing(&mut b).await;
    b.close().await.unwrap();
    // ... and the sweep deletes it.
    assert_eq!(relay.state.expire_now().await.unwrap(), 1);
    assert!(relay
        .state
        .metrics()
        .render()
        .contains("tandem_relay_messages_expired 1"));
}

#[tokio::test]
async fn dead_peers_are_closed_but_ping_answering_ones_stay() {
    let relay = start_relay(Config {
        idle_timeout: Duration::from_millis(600),
        ..loose()
    })
    .await;
    // A client that reads (tungstenite answers pings while reading) stays
    // past the idle limit; what this waits for is time, not silence.
    let (k, m, _) = founder();
    let mut live = Client::connect(&relay.url, &k, m).await.unwrap();
    keep_reading_for(&mut live, Duration::from_millis(1500)).await;
    expect_nothing(&mut live).await;

    // A peer that never reads never answers pings: closed with an error.
    let mut raw = raw_connect(&relay.url).await;
    let Some(RelayFrame::Challenge { nonce, .. }) = raw.next_raw().await else {
        panic!()
    };
    let key = IdentityKey::generate(&mut OsRng);
    let auth = tandem_pair::ClientFrame::Auth {
        identity: key.public(),
        membership: Membership::Guest,
        signature: key.sign_auth(&relay.url, &nonce).unwrap(),
    };
    raw.send_raw(auth.encode()).await.unwrap();
    // The relay closes it (bounded wait; only the live client stays open).
    let open = || {
        relay
            .state
            .metrics()
            .connections_open
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while open() != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "idle peer not closed ({} open)",
            open()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(raw);
    live.ping().await.unwrap();
}

/// Reads (so the client answers the relay's pings) until `d` has passed.
async fn keep_reading_for(c: &mut Client, d: Duration) {
    match c.recv_timeout(d).await {
        Err(Error::Timeout(_)) => {}
        other => panic!("expected only pings while reading, got {other:?}"),
    }
}

/// Two devices that both read version 1 and write back: the relay stores
/// the first write and refuses the stale one with `conflict`, changing
/// nothing; the loser reads, merges and writes at the version it read.
/// Creating with `expected: 0` refuses a blob that already exists.
#[tokio::test]
async fn a_stale_compare_and_swap_blob_write_is_refused_and_changes_nothing() {
    let relay = start_relay(loose()).await;
    let (a_key, a_m, group) = founder();
    let mut a = Client::connect(&relay.url, &a_key, a_m).await.unwrap();
    let (b_key, b_m, _) = admitted(&mut a, &a_key, group, Capabilities::ALL).await;
    let mut b = Client::connect(&relay.url, &b_key, b_m).await.unwrap();
    assert_eq!(a.blob_put("sync", b"v1", Some(0)).await.unwrap(), 1);
    let e = b
        .blob_put("sync", b"also first", Some(0))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "conflict", "{e}");
    let (_, seen_a) = a.blob_get("sync").await.unwrap().unwrap();
    let (_, seen_b) = b.blob_get("sync").await.unwrap().unwrap();
    assert_eq!(
        a.blob_put("sync", b"a's v2", Some(seen_a)).await.unwrap(),
        2
    );
    let e = b
        .blob_put("sync", b"b's v2", Some(seen_b))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "conflict", "{e}");
    assert!(e.to_string().contains("version 2"), "{e}");
    assert_eq!(
        b.blob_get("sync").await.unwrap(),
        Some((b"a's v2".to_vec(), 2))
    );
    assert_eq!(b.blob_put("sync", b"merged", Some(2)).await.unwrap(), 3);
    assert_eq!(
        a.blob_get("sync").await.unwrap(),
        Some((b"merged".to_vec(), 3))
    );
}
