//! The evil relay as other crates use it: a real `tandem-relay` process
//! behind a real `tandem-evil-relay` process, devices speaking raw frames.
//!
//! Needs the relay binary: `cargo build -p tandem-relay --bin tandem-relay`.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use common::{delivered, envelope, now, pair_of_guests, Device, Stack, KEY};
use rand_core::OsRng;
use tandem_pair::envelope::HEADER_LEN;
use tandem_pair::{
    Approver, Capabilities, ClientFrame, Envelope, EnvelopeKind, ErrorCode, Group, IdentityKey,
    Joiner, Membership, PairingOffer, RelayFrame, RevocationReason, RevocationTarget, SessionToken,
    TokenRequest,
};

#[tokio::test]
async fn passes_frames_through_unchanged() {
    let mut s = Stack::start();
    // Auth through the proxy works: the relay checks signatures against its
    // public URL, the proxy's.
    let (mut a, mut b, topic) = pair_of_guests(&s).await;
    let payload = envelope(EnvelopeKind::PairJoin, topic, b.id, 0);
    let id = b.publish(topic, payload.clone()).await;
    let got = a.barrier().await;
    assert_eq!(delivered(&got), vec![(id, payload)]);
    let RelayFrame::Deliver { from, .. } = &got[0] else {
        panic!()
    };
    assert_eq!(*from, b.id);
    a.ack(id).await;

    // A frame the proxy cannot parse reaches the relay as it is.
    a.send_text("this is not a frame".into()).await;
    let answer = a.recv().await;
    assert!(
        matches!(answer, RelayFrame::Error { req: None, .. }),
        "{answer:?}"
    );
    assert!(a.barrier().await.is_empty());
    assert_eq!(s.reports(), Vec::<String>::new());
}

#[tokio::test]
async fn connections_wait_for_the_upstream_line() {
    let mut s = Stack::proxy_only();
    let key = IdentityKey::generate(&mut OsRng);
    // Connected before the proxy knows the relay: no challenge yet.
    let (ws, key) = Device::open(&s.url, key).await;
    s.start_relay();
    let mut d = Device::authenticate(&s.url, ws, key, tandem_pair::Membership::Guest).await;
    assert!(d.barrier().await.is_empty());
}

#[tokio::test]
async fn control_lines_are_answered_in_order() {
    let mut s = Stack::start();
    for bad in [
        "mode drop nothing",
        "mode explode",
        "mode tamper group x",
        "mode substitute-hello tandem:pair?v=1",
        "upstream http://127.0.0.1:1/",
        "clear now",
        "",
        "reboot",
    ] {
        let answer = s.control(bad);
        assert!(answer.starts_with("error: "), "{bad:?}: {answer}");
    }
    s.mode("drop group");
    s.mode("replay group");
    assert_eq!(s.control("clear"), "ok");
    // Cleared: a group envelope passes untouched.
    let (mut a, mut b, topic) = pair_of_guests(&s).await;
    let payload = envelope(EnvelopeKind::Group, topic, b.id, 0);
    let payload = [payload, vec![0; 64]].concat(); // room for the signature
    let id = b.publish(topic, payload.clone()).await;
    assert_eq!(delivered(&a.barrier().await), vec![(id, payload)]);
    assert_eq!(s.reports(), Vec::<String>::new());
}

#[tokio::test]
async fn drop_withholds_a_message_and_acks_it_upstream() {
    let mut s = Stack::start();
    s.mode("drop pair_confirm");
    let (a, mut b, topic) = pair_of_guests(&s).await;
    let a_key = a.key.clone();
    let mut a = a;
    let confirm = envelope(EnvelopeKind::PairConfirm, topic, b.id, 1);
    let dropped = b.publish(topic, confirm).await;
    let join = envelope(EnvelopeKind::PairJoin, topic, b.id, 0);
    let kept = b.publish(topic, join.clone()).await;
    assert_eq!(delivered(&a.barrier().await), vec![(kept, join.clone())]);
    assert_eq!(
        s.out.expect("evil: dropped deliver kind=pair_confirm"),
        format!("evil: dropped deliver kind=pair_confirm id={}", dropped.0)
    );
    // The device acks nothing. On its next connection the relay redelivers
    // what the device saw but never acked, and not the dropped message: the
    // proxy acked it, the device will never get it.
    a.close().await;
    assert_eq!(s.control("clear"), "ok");
    let mut a = Device::guest_as(&s.url, a_key).await;
    assert_eq!(delivered(&a.barrier().await), vec![(kept, join)]);
}

#[tokio::test]
async fn replay_delivers_the_same_message_twice() {
    let mut s = Stack::start();
    s.mode("replay pair_accept");
    let (mut a, mut b, topic) = pair_of_guests(&s).await;
    let accept = envelope(EnvelopeKind::PairAccept, topic, b.id, 0);
    let id = b.publish(topic, accept.clone()).await;
    let got = a.barrier().await;
    assert_eq!(
        delivered(&got),
        vec![(id, accept.clone()), (id, accept)],
        "{got:?}"
    );
    assert_eq!(got[0], got[1]);
    s.out.expect(&format!(
        "evil: replayed deliver kind=pair_accept id={}",
        id.0
    ));
}

#[tokio::test]
async fn tamper_flips_one_ciphertext_byte() {
    let mut s = Stack::start();
    s.mode("tamper pair_join");
    let (mut a, mut b, topic) = pair_of_guests(&s).await;
    let join = envelope(EnvelopeKind::PairJoin, topic, b.id, 0);
    let id = b.publish(topic, join.clone()).await;
    let got = delivered(&a.barrier().await);
    assert_eq!(got.len(), 1);
    let (got_id, tampered) = &got[0];
    assert_eq!(*got_id, id);
    let diff: Vec<usize> = (0..join.len())
        .filter(|&i| join[i] != tampered[i])
        .collect();
    // The first ciphertext byte: after the header and the 24-byte nonce.
    assert_eq!(diff, vec![HEADER_LEN + 24]);
    let env = Envelope::decode(tampered).unwrap();
    assert_eq!(env.open(&KEY).unwrap_err().kind(), "tampered");
    s.out.expect(&format!(
        "evil: tampered deliver kind=pair_join id={} byte={}",
        id.0,
        HEADER_LEN + 24
    ));

    // With an offset: a byte of the tag at the very end.
    assert_eq!(s.control("clear"), "ok");
    s.mode("tamper pair_join 100000");
    let id = b.publish(topic, join.clone()).await;
    let got = delivered(&a.barrier().await);
    let tampered = &got[0].1;
    assert_eq!(tampered[..join.len() - 1], join[..join.len() - 1]);
    assert_ne!(tampered.last(), join.last());
    s.out.expect(&format!(
        "evil: tampered deliver kind=pair_join id={} byte={}",
        id.0,
        join.len() - 1
    ));
}

#[tokio::test]
async fn reorder_swaps_two_messages() {
    let mut s = Stack::start();
    s.mode("reorder pair_confirm");
    let (mut a, mut b, topic) = pair_of_guests(&s).await;
    let first = envelope(EnvelopeKind::PairConfirm, topic, b.id, 1);
    let second = envelope(EnvelopeKind::PairAccept, topic, b.id, 2);
    let third = envelope(EnvelopeKind::PairConfirm, topic, b.id, 3);
    let id1 = b.publish(topic, first.clone()).await;
    // Held: nothing reaches the device yet.
    assert!(a.barrier().await.is_empty());
    s.out.expect(&format!(
        "evil: held deliver kind=pair_confirm id={}",
        id1.0
    ));
    let id2 = b.publish(topic, second.clone()).await;
    let id3 = b.publish(topic, third.clone()).await;
    // Swapped once per connection; the third passes in order.
    assert_eq!(
        delivered(&a.barrier().await),
        vec![(id2, second), (id1, first), (id3, third)]
    );
    s.out.expect(&format!(
        "evil: reordered deliver kind=pair_confirm id={} after id={}",
        id1.0, id2.0
    ));
}

/// The honest phone answers a QR whose link the relay also knows.
struct Pairing {
    joiner: Joiner,
    offer: PairingOffer,
    phone: Device,
    desk: Device,
    desk_key: IdentityKey,
    approver: Approver,
}

async fn start_pairing(s: &mut Stack, modes: &[&str]) -> Pairing {
    let joiner = Joiner::new(&s.url, now(), 120, &mut OsRng).unwrap();
    let link = joiner.offer().to_uri();
    let offer = PairingOffer::parse(&link).unwrap();
    s.mode(&format!("substitute-hello {link}"));
    for m in modes {
        s.mode(m);
    }
    let desk_key = IdentityKey::generate(&mut OsRng);
    let mut desk = Device::guest_as(&s.url, desk_key.clone()).await;
    let mut phone = Device::guest(&s.url).await;
    desk.subscribe(offer.topic).await;
    phone.subscribe(offer.topic).await;
    let phone_key = IdentityKey::generate(&mut OsRng);
    let (approver, hello) = Approver::start(&offer, &phone_key, now(), &mut OsRng).unwrap();
    phone.publish(offer.topic, hello.clone()).await;
    s.out
        .expect(&format!("evil: substituted hello on topic {}", offer.topic));
    Pairing {
        joiner,
        offer,
        phone,
        desk,
        desk_key,
        approver,
    }
}

#[tokio::test]
async fn substitute_hello_learns_the_joiners_code() {
    let mut s = Stack::start();
    let Pairing {
        mut joiner,
        offer,
        mut phone,
        mut desk,
        desk_key,
        mut approver,
    } = start_pairing(&mut s, &[]).await;

    // The new device gets the attacker's hello, not the phone's.
    let got = delivered(&desk.barrier().await);
    assert_eq!(got.len(), 1);
    let (join, code) = joiner
        .on_hello(&got[0].1, &desk_key, "desk", now(), &mut OsRng)
        .unwrap();
    let join_id = desk.publish(offer.topic, join.clone()).await;

    // The attacker reads the code the new device shows...
    assert_eq!(
        s.out.expect("evil: joiner code "),
        format!("evil: joiner code {code}")
    );
    // ... and the phone gets the original join, made for the attacker's
    // keys: it cannot open it, so the pairing stops there.
    assert_eq!(
        delivered(&phone.barrier().await),
        vec![(join_id, join.clone())]
    );
    assert_eq!(
        approver.on_join(&join, now()).unwrap_err().kind(),
        "tampered"
    );
    // Nothing else reached the new device.
    assert!(desk.barrier().await.is_empty());
    assert_eq!(s.reports(), Vec::<String>::new());
}

#[tokio::test]
async fn forged_welcome_is_refused_by_a_joiner_whose_user_did_not_confirm() {
    let mut s = Stack::start();
    let Pairing {
        mut joiner,
        offer,
        mut phone,
        mut desk,
        desk_key,
        ..
    } = start_pairing(&mut s, &["forge-welcome"]).await;
    let got = delivered(&desk.barrier().await);
    let (join, _code) = joiner
        .on_hello(&got[0].1, &desk_key, "desk", now(), &mut OsRng)
        .unwrap();
    desk.publish(offer.topic, join).await;
    s.out.expect("evil: joiner code ");
    s.out.expect("evil: forged welcome sent");
    s.out.expect("evil: forged message stored id=");
    // The phone's connection carried the forged publish; the relay's answer
    // to it never reached the phone, only the join did.
    let at_phone = phone.barrier().await;
    assert_eq!(delivered(&at_phone).len(), 1, "{at_phone:?}");
    assert_eq!(at_phone.len(), 1, "{at_phone:?}");

    // The welcome arrives before this device's user compared any code.
    let got = delivered(&desk.barrier().await);
    assert_eq!(got.len(), 1);
    assert!(joiner.awaiting_user());
    assert_eq!(
        joiner
            .on_accept(&got[0].1, &desk_key, now())
            .unwrap_err()
            .kind(),
        "not_confirmed"
    );
}

#[tokio::test]
async fn drop_revoked_hides_a_revocation_from_the_other_devices() {
    let mut s = Stack::start();
    s.mode("drop revoked");
    let founder = IdentityKey::generate(&mut OsRng);
    let mut group = Group::found(&founder, "phone", &s.url, now(), &mut OsRng).unwrap();
    let (ws, k) = Device::open(&s.url, founder.clone()).await;
    let mut phone = Device::authenticate(&s.url, ws, k, group.membership().unwrap()).await;
    let mut members = Vec::new();
    for name in ["laptop", "tablet"] {
        let key = IdentityKey::generate(&mut OsRng);
        let token = SessionToken::issue(
            &founder,
            &TokenRequest {
                group: group.id(),
                subject: key.public(),
                subject_encryption: key.encryption_public(),
                capabilities: Capabilities::ALL,
                lifetime_secs: 3600,
            },
            now(),
            &mut OsRng,
        );
        let t = token.clone();
        let ok = phone
            .request(|req| ClientFrame::Admit { req, token: t })
            .await;
        assert!(matches!(ok, RelayFrame::Ok { .. }), "admit: {ok:?}");
        group.add_member(token.clone(), name, now()).unwrap();
        let (ws, k) = Device::open(&s.url, key.clone()).await;
        members.push((
            key,
            Device::authenticate(&s.url, ws, k, Membership::Member { token }).await,
        ));
    }
    let (laptop_key, mut laptop) = members.remove(0);
    let (_, mut tablet) = members.remove(0);

    let record = group
        .prepare_revocation(
            &founder,
            RevocationTarget::Device(tablet.id),
            RevocationReason::Lost,
            now(),
        )
        .unwrap();
    let ok = phone
        .request(|req| ClientFrame::Revoke { req, record })
        .await;
    assert!(matches!(ok, RelayFrame::Ok { .. }), "revoke: {ok:?}");

    // The laptop never hears of it...
    let at_laptop = laptop.barrier().await;
    assert!(
        !at_laptop
            .iter()
            .any(|f| matches!(f, RelayFrame::Revoked { .. })),
        "{at_laptop:?}"
    );
    let line = s.out.expect("evil: dropped revoked id=");
    // ... the revoked tablet loses the notice naming the record, and still
    // gets the relay's refusal ...
    s.out.expect("evil: dropped revoked notice");
    let f = tablet.recv().await;
    assert!(
        matches!(
            f,
            RelayFrame::Error {
                code: ErrorCode::Revoked,
                ..
            }
        ),
        "{f:?}"
    );
    // ... and the relay got an ack in the laptop's name: it does not
    // deliver the revocation on the laptop's next connection either.
    laptop.close().await;
    assert_eq!(s.control("clear"), "ok");
    let token = group
        .member(&laptop_key.device_id())
        .and_then(|m| m.token.clone())
        .unwrap();
    let (ws, k) = Device::open(&s.url, laptop_key).await;
    let mut laptop = Device::authenticate(&s.url, ws, k, Membership::Member { token }).await;
    let again = laptop.barrier().await;
    assert!(
        !again
            .iter()
            .any(|f| matches!(f, RelayFrame::Revoked { .. })),
        "{line}: {again:?}"
    );
}
