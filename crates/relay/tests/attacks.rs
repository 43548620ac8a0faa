//! Attacks on the relay over real WebSockets (in-process relay, SQLite in a
//! temp dir). Each test names its attacker, tries the attack the way a
//! malicious client would, and expects a refusal with a specific error code
//! while honest devices keep working. Every one of these attacks worked
//! against the protocol-1 relay.
//!
//! Attackers: a *stranger* (any key, may found its own group), a
//! *participant* (a paired device of the victim's group, possibly with few
//! capabilities), a *guest* (an unpaired connection, as used for pairing).
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

mod common;

use std::sync::atomic::Ordering;

use common::{
    admitted, at_head, code_of, expect_message, expect_nothing, founder, issue, loose, member,
    record, start_relay,
};
use rand_core::OsRng;
use tandem_pair::{
    frame::{MAX_SUBSCRIPTIONS, MAX_SUBSCRIPTION_SECS},
    Capabilities, IdentityKey, Membership, Recipient, RevocationId, RevocationTarget, Topic,
    MAX_MEMBERS,
};
use tandem_relay::{
    client::{Client, Incoming},
    store::MailboxLimits,
    Config, Error,
};

/// A founder and one admitted member with every capability, both online.
struct Victims {
    a_key: IdentityKey,
    a: Client,
    b_key: IdentityKey,
    b_m: Membership,
    b_token: tandem_pair::SessionToken,
    b: Client,
    group: tandem_pair::GroupId,
}

async fn victims(url: &str) -> Victims {
    let (a_key, a_m, group) = founder();
    let mut a = Client::connect(url, &a_key, a_m).await.unwrap();
    let (b_key, b_m, b_token) = admitted(&mut a, &a_key, group, Capabilities::ALL).await;
    let b = Client::connect(url, &b_key, b_m.clone()).await.unwrap();
    Victims {
        a_key,
        a,
        b_key,
        b_m,
        b_token,
        b,
        group,
    }
}

/// Attacker: a stranger who founds a throwaway group. Protocol 1 kept one
/// global revocation list, so such a group could revoke any device or token
/// id it learned and lock its owner out of its own wallet.
#[tokio::test]
async fn stranger_group_cannot_revoke_a_victims_device_or_token() {
    let relay = start_relay(loose()).await;
    let mut v = victims(&relay.url).await;
    // Something waits in B's mailbox while the attack runs.
    let (d_key, d_m, _) = admitted(&mut v.a, &v.a_key, v.group, Capabilities::ALL).await;
    common::register_offline(&relay.url, &d_key, d_m.clone()).await;
    v.a.publish(Recipient::Device(d_key.device_id()), b"waiting")
        .await
        .unwrap();

    let (x_key, x_m, x_group) = founder();
    let mut x = Client::connect(&relay.url, &x_key, x_m).await.unwrap();
    let me = Some(x_key.device_id());
    // Victim ids are not devices or tokens of the stranger's group.
    for target in [
        RevocationTarget::Device(v.b_key.device_id()),
        RevocationTarget::Token(v.b_token.id()),
        RevocationTarget::Device(v.a_key.device_id()),
    ] {
        let rec = at_head(&mut x, &x_key, x_group, target, me).await;
        let e = x.revoke(rec).await.unwrap_err();
        assert_eq!(code_of(&e), "not_found", "{target:?}: {e}");
    }
    // Nor can it sign records for the victims' group.
    let rec = record(
        &x_key,
        v.group,
        RevocationTarget::Device(v.b_key.device_id()),
        me,
        1,
        RevocationId::NONE,
    );
    assert_eq!(code_of(&x.revoke(rec).await.unwrap_err()), "forbidden");

    // It may admit the victims' keys into its own group (keys are not
    // secret) and revoke them there: that stays inside its group.
    for victim in [&v.b_key, &d_key] {
        x.admit(issue(&x_key, x_group, victim, Capabilities::ALL, 3600))
            .await
            .unwrap();
        let target = RevocationTarget::Device(victim.device_id());
        let rec = at_head(&mut x, &x_key, x_group, target, me).await;
        x.revoke(rec).await.unwrap();
    }
    // Messages to the victims' ids in the stranger's group reach nobody.
    assert_eq!(
        code_of(
            &x.publish(Recipient::Device(v.b_key.device_id()), b"spam")
                .await
                .unwrap_err()
        ),
        "forbidden"
    );

    // The victims are untouched: B stays connected and works, D gets its
    // waiting message, the group lists both as active.
    expect_nothing(&mut v.b).await;
    v.a.publish(Recipient::Device(v.b_key.device_id()), b"still here")
        .await
        .unwrap();
    assert_eq!(expect_message(&mut v.b).await.payload, b"still here");
    let mut b2 = Client::connect(&relay.url, &v.b_key, v.b_m.clone())
        .await
        .unwrap();
    assert_eq!(b2.chain_len_at_connect(), 0);
    let mut d = Client::connect(&relay.url, &d_key, d_m).await.unwrap();
    assert_eq!(expect_message(&mut d).await.payload, b"waiting");
    let members = v.a.members().await.unwrap();
    assert!(members.iter().all(|m| !m.revoked), "{members:?}");
    assert_eq!(v.a.revocations(0).await.unwrap(), (vec![], 0));
    b2.ping().await.unwrap();
}

/// Attacker: a participant with the REVOKE capability that races, replays
/// or bends revocation records. The relay accepts exactly what devices
/// accept: one linear chain, each record at the current head.
#[tokio::test]
async fn revocations_must_extend_the_chain_at_its_head() {
    let relay = start_relay(loose()).await;
    let mut v = victims(&relay.url).await;
    let (m_key, m_m, _) = admitted(&mut v.a, &v.a_key, v.group, Capabilities::ALL).await;
    let mut m = Client::connect(&relay.url, &m_key, m_m).await.unwrap();
    let (c_key, c_m, _) = admitted(&mut v.a, &v.a_key, v.group, Capabilities::ALL).await;
    let _c = Client::connect(&relay.url, &c_key, c_m).await.unwrap();
    let (e_key, _, _) = admitted(&mut v.a, &v.a_key, v.group, Capabilities::ALL).await;
    let me = Some(m_key.device_id());
    let dev = RevocationTarget::Device;

    // Two records for position 1, prepared concurrently: the first wins,
    // the second is a conflict telling the client to fetch the chain.
    let first = at_head(
        &mut v.a,
        &v.a_key,
        v.group,
        dev(c_key.device_id()),
        Some(v.a_key.device_id()),
    )
    .await;
    let racing = at_head(&mut m, &m_key, v.group, dev(e_key.device_id()), me).await;
    v.a.revoke(first.clone()).await.unwrap();
    let e = m.revoke(racing).await.unwrap_err();
    assert_eq!(code_of(&e), "conflict", "{e}");
    assert!(e.to_string().contains("fetch the chain"), "{e}");
    // Replaying the accepted record is a conflict too (its position is taken).
    assert_eq!(
        code_of(&m.revoke(first.clone()).await.unwrap_err()),
        "forbidden"
    );
    assert_eq!(
        code_of(&v.a.revoke(first.clone()).await.unwrap_err()),
        "conflict"
    );
    // Right position, wrong link; a gap.
    let bad_prev = record(
        &m_key,
        v.group,
        dev(e_key.device_id()),
        me,
        2,
        RevocationId([7; 16]),
    );
    assert_eq!(code_of(&m.revoke(bad_prev).await.unwrap_err()), "conflict");
    let gap = record(&m_key, v.group, dev(e_key.device_id()), me, 3, first.id());
    assert_eq!(code_of(&m.revoke(gap).await.unwrap_err()), "conflict");
    // At the head, but naming another rotator, or none.
    for rotator in [Some(v.a_key.device_id()), None] {
        let r = record(
            &m_key,
            v.group,
            dev(e_key.device_id()),
            rotator,
            2,
            first.id(),
        );
        let e = m.revoke(r).await.unwrap_err();
        assert_eq!(code_of(&e), "forbidden", "{e}");
        assert!(e.to_string().contains("rotator"), "{e}");
    }
    // At the head, but targeting a device already revoked.
    let r = record(&m_key, v.group, dev(c_key.device_id()), me, 2, first.id());
    assert_eq!(code_of(&m.revoke(r).await.unwrap_err()), "not_found");
    // Dated in the future.
    let future = tandem_pair::RevocationRecord::issue(
        &m_key,
        &tandem_pair::RevocationRequest {
            group: v.group,
            target: dev(e_key.device_id()),
            rotator: me,
            seq: 2,
            prev: first.id(),
            reason: tandem_pair::RevocationReason::Lost,
            erase: false,
        },
        common::now() + 3600,
    );
    assert_eq!(code_of(&m.revoke(future).await.unwrap_err()), "forbidden");
    // A leaving device must hand the rotation to a remaining device.
    let r = record(&m_key, v.group, dev(m_key.device_id()), None, 2, first.id());
    assert_eq!(code_of(&m.revoke(r).await.unwrap_err()), "forbidden");
    let r = record(
        &m_key,
        v.group,
        dev(m_key.device_id()),
        Some(c_key.device_id()),
        2,
        first.id(),
    );
    assert_eq!(code_of(&m.revoke(r).await.unwrap_err()), "forbidden");

    // After fetching the chain, the retried record is accepted.
    let (chain, total) = m.revocations(0).await.unwrap();
    assert_eq!((chain, total), (vec![first.clone()], 1));
    let retry = at_head(&mut m, &m_key, v.group, dev(e_key.device_id()), me).await;
    assert_eq!((retry.seq(), retry.prev()), (2, first.id()));
    m.revoke(retry.clone()).await.unwrap();
    let (records, total) = v.b.revocations(0).await.unwrap();
    assert_eq!((records, total), (vec![first.clone(), retry.clone()], 2));
    assert_eq!(v.b.revocations(1).await.unwrap(), (vec![retry.clone()], 2));
    assert_eq!(v.b.revocations(2).await.unwrap(), (vec![], 2));
    // Live members got both, in chain order.
    for want in [&first, &retry] {
        match v.b.recv().await.unwrap() {
            Incoming::Revoked {
                id: Some(_),
                record,
            } => assert_eq!(&record, want),
            other => panic!("{other:?}"),
        }
    }
    let again = Client::connect(&relay.url, &v.b_key, v.b_m).await.unwrap();
    assert_eq!(again.chain_len_at_connect(), 2);
}

/// Attacker: a participant that was revoked (a stolen laptop). It is told
/// which record removed it, cut off at once, and refused from then on.
#[tokio::test]
async fn a_revoked_device_learns_the_record_and_is_refused() {
    let relay = start_relay(loose()).await;
    let mut v = victims(&relay.url).await;
    let target = RevocationTarget::Device(v.b_key.device_id());
    let rec = at_head(
        &mut v.a,
        &v.a_key,
        v.group,
        target,
        Some(v.a_key.device_id()),
    )
    .await;
    v.a.revoke(rec.clone()).await.unwrap();
    match v.b.recv().await.unwrap() {
        Incoming::Revoked { id: None, record } => assert_eq!(record, rec),
        other => panic!("{other:?}"),
    }
    assert_eq!(code_of(&v.b.recv().await.unwrap_err()), "revoked");
    match Client::connect(&relay.url, &v.b_key, v.b_m.clone())
        .await
        .unwrap_err()
    {
        Error::Revoked { record } => assert_eq!(*record, rec),
        other => panic!("{other:?}"),
    }
    // A token it still holds from an earlier approval does not help, nor
    // does a fresh one another member tries to register for it.
    let fresh = issue(&v.a_key, v.group, &v.b_key, Capabilities::ALL, 7200);
    assert_eq!(code_of(&v.a.admit(fresh).await.unwrap_err()), "forbidden");
    // It may still pair as a guest elsewhere (the relay only refuses it in
    // the group that removed it).
    Client::connect(&relay.url, &v.b_key, Membership::Guest)
        .await
        .unwrap();
}

/// Attacker: a participant without the REVOKE capability. It may leave the
/// group itself (naming who rotates), nothing more.
#[tokio::test]
async fn a_device_may_always_leave_but_not_revoke_others() {
    let relay = start_relay(loose()).await;
    let mut v = victims(&relay.url).await;
    let (m_key, m_m, _) = admitted(&mut v.a, &v.a_key, v.group, Capabilities::MESSAGE).await;
    let mut m = Client::connect(&relay.url, &m_key, m_m).await.unwrap();
    let me = Some(m_key.device_id());
    let r = at_head(
        &mut m,
        &m_key,
        v.group,
        RevocationTarget::Device(v.b_key.device_id()),
        me,
    )
    .await;
    let e = m.revoke(r).await.unwrap_err();
    assert_eq!(code_of(&e), "forbidden");
    assert!(e.to_string().contains("revok"), "{e}");
    let r = at_head(
        &mut m,
        &m_key,
        v.group,
        RevocationTarget::Token(v.b_token.id()),
        me,
    )
    .await;
    assert_eq!(code_of(&m.revoke(r).await.unwrap_err()), "forbidden");
    // Leaving: accepted, then this connection is closed as revoked.
    let leave = at_head(
        &mut m,
        &m_key,
        v.group,
        RevocationTarget::Device(m_key.device_id()),
        Some(v.a_key.device_id()),
    )
    .await;
    m.revoke(leave.clone()).await.unwrap();
    assert!(matches!(
        m.recv().await.unwrap(),
        Incoming::Revoked { id: None, .. }
    ));
    match v.b.recv().await.unwrap() {
        Incoming::Revoked { record, .. } => assert_eq!(record, leave),
        other => panic!("{other:?}"),
    }
}

/// Attacker: a participant trying to grow the group without bound (the
/// chain and every welcome are bounded by the group's size).
#[tokio::test]
async fn a_group_holds_at_most_max_members_devices() {
    let relay = start_relay(loose()).await;
    let (a_key, a_m, group) = founder();
    let mut a = Client::connect(&relay.url, &a_key, a_m).await.unwrap();
    for _ in 1..MAX_MEMBERS {
        admitted(&mut a, &a_key, group, Capabilities::MESSAGE).await;
    }
    let (_, _, extra) = member(&a_key, group, Capabilities::MESSAGE, 3600);
    let e = a.admit(extra).await.unwrap_err();
    assert_eq!(code_of(&e), "too_large", "{e}");
    assert!(e.to_string().contains(&MAX_MEMBERS.to_string()), "{e}");
}

/// Attacker: a participant (or anyone holding a validly signed token) that
/// tries to get a device into the group without the relay having been told
/// by an approving device, or to register tokens it may not issue.
#[tokio::test]
async fn only_registered_tokens_let_a_device_in() {
    let (clock_t, clock) = common::manual_clock();
    let relay = common::start_relay_with_clock(loose(), Some(clock)).await;
    let mut v = victims(&relay.url).await;

    // Signed by an active member, never registered: refused.
    let (n_key, n_m, n_token) = member(&v.b_key, v.group, Capabilities::ALL, 3600);
    let e = Client::connect(&relay.url, &n_key, n_m.clone())
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "auth_failed");
    assert!(e.to_string().contains("must register it"), "{e}");
    // Only its issuer may register it.
    assert_eq!(
        code_of(&v.a.admit(n_token.clone()).await.unwrap_err()),
        "forbidden"
    );
    // Not for another group, not expired.
    let (x_key, x_m, x_group) = founder();
    let mut x = Client::connect(&relay.url, &x_key, x_m).await.unwrap();
    let t = issue(&x_key, x_group, &n_key, Capabilities::ALL, 3600);
    x.admit(t.clone()).await.unwrap();
    let e = Client::connect(&relay.url, &n_key, Membership::Member { token: t }).await;
    assert!(e.is_ok(), "a device may be in the stranger's own group");
    let t = issue(&v.b_key, x_group, &n_key, Capabilities::ALL, 3600);
    assert_eq!(code_of(&v.b.admit(t).await.unwrap_err()), "forbidden");
    let short = issue(&v.b_key, v.group, &n_key, Capabilities::ALL, 10);
    clock_t.fetch_add(11, Ordering::Relaxed);
    assert_eq!(code_of(&v.b.admit(short).await.unwrap_err()), "forbidden");
    clock_t.fetch_sub(11, Ordering::Relaxed);
    // The token admitted to the stranger's group does not open the victims'.
    let e = Client::connect(&relay.url, &n_key, n_m.clone())
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "auth_failed");

    // Registered by its issuer: accepted.
    v.b.admit(n_token.clone()).await.unwrap();
    let mut n = Client::connect(&relay.url, &n_key, n_m).await.unwrap();
    v.a.publish(Recipient::Device(n_key.device_id()), b"welcome")
        .await
        .unwrap();
    assert_eq!(expect_message(&mut n).await.payload, b"welcome");

    // Refreshes may not widen rights, keep the expiry, or change the key.
    let (w_key, w_m, w_token) = admitted(&mut v.a, &v.a_key, v.group, Capabilities::MESSAGE).await;
    let wider = issue(&v.a_key, v.group, &w_key, Capabilities::ALL, 7200);
    assert_eq!(code_of(&v.a.admit(wider).await.unwrap_err()), "forbidden");
    let same = issue(&v.a_key, v.group, &w_key, Capabilities::MESSAGE, 3600 - 5);
    assert_eq!(code_of(&v.a.admit(same).await.unwrap_err()), "forbidden");
    let later = issue(&v.a_key, v.group, &w_key, Capabilities::MESSAGE, 7200);
    v.a.admit(later.clone()).await.unwrap();
    Client::connect(&relay.url, &w_key, Membership::Member { token: later })
        .await
        .unwrap();
    // The token it replaced still connects (a device may not have the new
    // one yet), with no more than the current token allows.
    Client::connect(&relay.url, &w_key, w_m).await.unwrap();
    let _ = w_token;

    // The founder needs no token; nobody can register one for it.
    let t = issue(&v.b_key, v.group, &v.a_key, Capabilities::MESSAGE, 3600);
    assert_eq!(code_of(&v.b.admit(t).await.unwrap_err()), "forbidden");
}

/// The device-side rule the relay now follows: a device keeps working when
/// the device that approved it is revoked later (protocol 1 refused a token
/// whose issuer was no longer active, unless the relay had seen it before).
#[tokio::test]
async fn a_device_approved_by_a_revoked_phone_keeps_working() {
    let relay = start_relay(loose()).await;
    let mut v = victims(&relay.url).await;
    // B (the phone) approves L (the laptop), which has not connected yet.
    let (l_key, l_m, _) = admitted(&mut v.b, &v.b_key, v.group, Capabilities::MESSAGE).await;
    let target = RevocationTarget::Device(v.b_key.device_id());
    let rec = at_head(
        &mut v.a,
        &v.a_key,
        v.group,
        target,
        Some(v.a_key.device_id()),
    )
    .await;
    v.a.revoke(rec.clone()).await.unwrap();
    let mut l = Client::connect(&relay.url, &l_key, l_m).await.unwrap();
    assert_eq!(l.chain_len_at_connect(), 1);
    match l.recv().await.unwrap() {
        Incoming::Revoked {
            id: Some(_),
            record,
        } => assert_eq!(record, rec),
        other => panic!("{other:?}"),
    }
    l.publish(Recipient::Group, b"hello").await.unwrap();
}

/// Attacker: a participant with few capabilities, using relay features its
/// token does not grant. The relay checks them itself.
#[tokio::test]
async fn capabilities_are_enforced_by_the_relay() {
    let relay = start_relay(loose()).await;
    let mut v = victims(&relay.url).await;
    // S may only ask for signatures: no messages, no blobs.
    let (s_key, s_m, _) =
        admitted(&mut v.a, &v.a_key, v.group, Capabilities::REQUEST_SIGNATURE).await;
    let mut s = Client::connect(&relay.url, &s_key, s_m).await.unwrap();
    for e in [
        s.publish(Recipient::Group, b"x").await.unwrap_err(),
        s.publish(Recipient::Device(v.b_key.device_id()), b"x")
            .await
            .unwrap_err(),
        s.blob_put("names", b"x", None).await.unwrap_err(),
        s.blob_get("names").await.unwrap_err(),
    ] {
        assert_eq!(code_of(&e), "forbidden", "{e}");
    }
    expect_nothing(&mut v.b).await;

    // M may message but not approve: it can neither mint a full-capability
    // token (admit refused) nor use one (auth refused: unknown).
    let (m_key, m_m, _) = admitted(&mut v.a, &v.a_key, v.group, Capabilities::MESSAGE).await;
    let mut m = Client::connect(&relay.url, &m_key, m_m).await.unwrap();
    let (f_key, f_m, f_token) = member(&m_key, v.group, Capabilities::ALL, 3600);
    let e = m.admit(f_token).await.unwrap_err();
    assert_eq!(code_of(&e), "forbidden");
    assert!(e.to_string().contains("approv"), "{e}");
    let (_, _, small) = member(&m_key, v.group, Capabilities::MESSAGE, 3600);
    assert_eq!(code_of(&m.admit(small).await.unwrap_err()), "forbidden");
    assert_eq!(
        code_of(&Client::connect(&relay.url, &f_key, f_m).await.unwrap_err()),
        "auth_failed"
    );
    // An approver may not grant more than it holds.
    let (p_key, p_m, _) = admitted(
        &mut v.a,
        &v.a_key,
        v.group,
        Capabilities::MESSAGE | Capabilities::APPROVE,
    )
    .await;
    let mut p = Client::connect(&relay.url, &p_key, p_m).await.unwrap();
    let (_, _, too_much) = member(
        &p_key,
        v.group,
        Capabilities::MESSAGE | Capabilities::REVOKE,
        3600,
    );
    assert_eq!(code_of(&p.admit(too_much).await.unwrap_err()), "forbidden");
    let (q_key, q_m, ok) = member(&p_key, v.group, Capabilities::MESSAGE, 3600);
    p.admit(ok).await.unwrap();
    Client::connect(&relay.url, &q_key, q_m).await.unwrap();
    // M messages fine.
    m.publish(Recipient::Device(v.b_key.device_id()), b"allowed")
        .await
        .unwrap();
    assert_eq!(expect_message(&mut v.b).await.payload, b"allowed");
}

/// Attacker: a participant publishing to device ids nobody in its group
/// holds (protocol 1 stored such messages: unbounded storage).
#[tokio::test]
async fn publishing_to_unknown_devices_is_refused() {
    let relay = start_relay(loose()).await;
    let mut v = victims(&relay.url).await;
    let (x_key, x_m, _) = founder();
    let mut x = Client::connect(&relay.url, &x_key, x_m).await.unwrap();
    for _ in 0..3 {
        let nobody = IdentityKey::generate(&mut OsRng).device_id();
        let e =
            v.b.publish(Recipient::Device(nobody), b"junk")
                .await
                .unwrap_err();
        assert_eq!(code_of(&e), "not_found", "{e}");
    }
    // Another group's device is unknown in this one, in both directions.
    let e =
        v.b.publish(Recipient::Device(x_key.device_id()), b"junk")
            .await
            .unwrap_err();
    assert_eq!(code_of(&e), "not_found");
    let e = x
        .publish(Recipient::Device(v.a_key.device_id()), b"junk")
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "not_found");
    assert_eq!(relay.state.stored_messages().await.unwrap(), 0);
    // Known devices still work.
    v.b.publish(Recipient::Device(v.a_key.device_id()), b"real")
        .await
        .unwrap();
    assert_eq!(expect_message(&mut v.a).await.payload, b"real");
}

/// Attacker: a guest holding pairing-topic subscriptions open, or filling a
/// device's mailbox through an old pairing topic.
#[tokio::test]
async fn pairing_subscriptions_are_bounded_and_expire() {
    let (t, clock) = common::manual_clock();
    let relay = common::start_relay_with_clock(loose(), Some(clock)).await;
    let guest = IdentityKey::generate(&mut OsRng);
    let mut g = Client::connect(&relay.url, &guest, Membership::Guest)
        .await
        .unwrap();
    for i in 0..MAX_SUBSCRIPTIONS {
        g.subscribe(Topic([i as u8; 32])).await.unwrap();
    }
    // Renewing a held topic is fine; a new one is over the limit.
    g.subscribe(Topic([0; 32])).await.unwrap();
    let e = g.subscribe(Topic([0xee; 32])).await.unwrap_err();
    assert_eq!(code_of(&e), "rate_limited", "{e}");
    assert!(e.to_string().contains("unsubscribe"), "{e}");
    g.unsubscribe(Topic([1; 32])).await.unwrap();
    g.subscribe(Topic([0xee; 32])).await.unwrap();
    // An end in the past is refused; one too far ahead is cut short.
    let e = g
        .subscribe_until(Topic([0xdd; 32]), common::now() - 1)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "bad_frame");

    // The victim: a new device showing a QR, subscribed to its topic, then
    // offline (the offer was abandoned).
    let victim = IdentityKey::generate(&mut OsRng);
    let topic = Topic([0x42; 32]);
    let short = Topic([0x43; 32]);
    {
        let mut j = Client::connect(&relay.url, &victim, Membership::Guest)
            .await
            .unwrap();
        j.subscribe_until(topic, common::now() + 100_000)
            .await
            .unwrap();
        j.subscribe_until(short, common::now() + 30).await.unwrap();
        j.close().await.unwrap();
    }
    let attacker = IdentityKey::generate(&mut OsRng);
    let mut x = Client::connect(&relay.url, &attacker, Membership::Guest)
        .await
        .unwrap();
    x.publish(Recipient::Topic(topic), b"early").await.unwrap();
    x.publish(Recipient::Topic(short), b"short").await.unwrap();
    // 31 s later the short subscription has ended and its message expired.
    t.fetch_add(31, Ordering::Relaxed);
    x.publish(Recipient::Topic(short), b"late").await.unwrap();
    assert_eq!(relay.state.expire_now().await.unwrap(), 1);
    // After the longest a subscription lives, the topic reaches nobody.
    t.fetch_add(MAX_SUBSCRIPTION_SECS, Ordering::Relaxed);
    for _ in 0..50 {
        x.publish(Recipient::Topic(topic), b"flood").await.unwrap();
    }
    assert_eq!(
        relay.state.expire_now().await.unwrap(),
        1,
        "the early message"
    );
    assert_eq!(relay.state.stored_messages().await.unwrap(), 0);
    let mut j = Client::connect(&relay.url, &victim, Membership::Guest)
        .await
        .unwrap();
    expect_nothing(&mut j).await;
    // Its subscriptions are gone, so it may hold new ones.
    for i in 0..MAX_SUBSCRIPTIONS {
        j.subscribe(Topic([0x50 + i as u8; 32])).await.unwrap();
    }
}

/// Attacker: a participant that keeps one member's mailbox full (or a
/// member that stays offline) to block group traffic. Protocol 1 failed the
/// whole group publish when one mailbox was full.
#[tokio::test]
async fn a_full_mailbox_does_not_silence_the_group() {
    let relay = start_relay(Config {
        mailbox: MailboxLimits {
            max_messages: 2,
            max_bytes: 1 << 20,
        },
        ..loose()
    })
    .await;
    let mut v = victims(&relay.url).await;
    let (o_key, o_m, _) = admitted(&mut v.a, &v.a_key, v.group, Capabilities::ALL).await;
    common::register_offline(&relay.url, &o_key, o_m).await;
    for i in 0..4u8 {
        let p = v.a.publish_report(Recipient::Group, &[i]).await.unwrap();
        let want = if i < 2 {
            vec![]
        } else {
            vec![o_key.device_id()]
        };
        assert_eq!(p.full, want, "publish {i}");
        let m = expect_message(&mut v.b).await;
        assert_eq!(m.payload, vec![i]);
        v.b.ack(m.id).await.unwrap();
        // The pong proves the ack is committed: B's mailbox has room again.
        v.b.ping().await.unwrap();
    }
    // A message to that one device still fails, clearly.
    let e =
        v.a.publish(Recipient::Device(o_key.device_id()), b"x")
            .await
            .unwrap_err();
    assert_eq!(code_of(&e), "mailbox_full");
}

/// Attacker: someone who photographed a QR and answers it after the new
/// device and the user's phone are already talking on its topic. A pairing
/// topic takes two devices: the third is refused at once, with the reason.
#[tokio::test]
async fn a_pairing_topic_takes_two_devices() {
    let relay = start_relay(loose()).await;
    let topic = Topic::random(&mut OsRng);
    let mut parties = Vec::new();
    for _ in 0..2 {
        let key = IdentityKey::generate(&mut OsRng);
        let mut c = Client::connect(&relay.url, &key, Membership::Guest)
            .await
            .unwrap();
        c.subscribe(topic).await.unwrap();
        parties.push(c);
    }
    let late = IdentityKey::generate(&mut OsRng);
    let mut c = Client::connect(&relay.url, &late, Membership::Guest)
        .await
        .unwrap();
    let err = c.subscribe(topic).await.unwrap_err();
    assert_eq!(code_of(&err), "forbidden");
    assert!(err.to_string().contains("two devices"), "{err}");
    // A party renewing its own subscription is not a third device.
    parties[0].subscribe(topic).await.unwrap();
}

/// Devices learn every device the relay admitted from the relay itself, in
/// the order the relay took admissions and revocations, so a record never
/// names a device a member has not heard of (whatever happened to the
/// approver's own announcement).
#[tokio::test]
async fn admissions_reach_the_other_members_in_chain_order() {
    let relay = start_relay(loose()).await;
    let (a_key, a_m, group) = founder();
    let mut a = Client::connect(&relay.url, &a_key, a_m).await.unwrap();
    let (b_key, b_m, _) = admitted(&mut a, &a_key, group, Capabilities::ALL).await;
    common::register_offline(&relay.url, &b_key, b_m.clone()).await;
    let (c_key, _, c_token) = admitted(&mut a, &a_key, group, Capabilities::ALL).await;
    let rec = at_head(
        &mut a,
        &a_key,
        group,
        RevocationTarget::Device(c_key.device_id()),
        Some(a_key.device_id()),
    )
    .await;
    a.revoke(rec.clone()).await.unwrap();
    let mut b = Client::connect(&relay.url, &b_key, b_m)
        .await
        .unwrap()
        .with_admitted_notices();
    match b.recv().await.unwrap() {
        Incoming::Admitted { id, token } => {
            assert_eq!(*token, c_token);
            b.ack(id).await.unwrap();
        }
        other => panic!("expected the admission first, got {other:?}"),
    }
    match b.recv().await.unwrap() {
        Incoming::Revoked { record, .. } => assert_eq!(record, rec),
        other => panic!("expected the revocation next, got {other:?}"),
    }
}
