#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns
//! The whole protocol in memory: pairing, man in the middle, replay,
//! tampering, expiry, group messages, revocation with key rotation.

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tandem_pair::*;

const RELAY: &str = "ws://127.0.0.1:9/ws";
const NOW: u64 = 1_764_000_000;

struct Pairing {
    phone: IdentityKey,
    desk: IdentityKey,
    phone_group: Group,
    desk_group: Group,
    code: ComparisonCode,
}

fn pair(rng: &mut ChaCha20Rng) -> Pairing {
    let phone = IdentityKey::generate(rng);
    let desk = IdentityKey::generate(rng);
    let mut phone_group = Group::found(&phone, "phone", NOW, rng).unwrap();
    let mut joiner = Joiner::new(RELAY, NOW, DEFAULT_OFFER_LIFETIME_SECS, rng).unwrap();
    let uri = joiner.offer().to_uri();
    let offer = PairingOffer::parse(&uri).unwrap();
    let (mut approver, hello) = Approver::start(&offer, &phone, NOW + 1, rng).unwrap();
    let (join, desk_code) = joiner.on_hello(&hello, &desk, "desktop", NOW + 2).unwrap();
    let req = approver.on_join(&join, NOW + 3).unwrap();
    assert_eq!(req.code, desk_code, "both screens show the same code");
    assert_eq!(req.name, "desktop");
    assert_eq!(req.identity, desk.public());
    let (accept, token) = approver
        .confirm(
            &ComparisonCode::parse(&desk_code.to_string()).unwrap(),
            &mut phone_group,
            &phone,
            Capabilities::ALL,
            DEFAULT_TOKEN_LIFETIME_SECS,
            NOW + 4,
            rng,
        )
        .unwrap();
    let desk_group = joiner.on_accept(&accept, &desk, NOW + 5).unwrap();
    assert_eq!(token.subject(), desk.public());
    assert_eq!(token.issuer(), phone.public());
    assert_eq!(token.expires_at(), NOW + 4 + 30 * 24 * 3600);
    Pairing {
        phone,
        desk,
        phone_group,
        desk_group,
        code: desk_code,
    }
}

fn app(data: &[u8]) -> GroupPayload {
    GroupPayload::App {
        data: Bytes(data.to_vec()),
    }
}

#[test]
fn two_devices_pair_and_talk() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut p = pair(&mut rng);
    assert_eq!(p.code.to_string().len(), 6);
    assert_eq!(p.desk_group.id(), p.phone_group.id());
    assert_eq!(p.desk_group.epoch(), 0);
    assert!(p.desk_group.is_active(&p.phone.device_id()));
    assert!(p.phone_group.is_active(&p.desk.device_id()));
    // Membership for relay auth.
    match p.desk_group.membership().unwrap() {
        Membership::Member { token } => token.check_for(&p.desk.public(), NOW + 10).unwrap(),
        other => panic!("{other:?}"),
    }
    p.phone_group
        .membership()
        .unwrap()
        .verify(&p.phone.public(), NOW)
        .unwrap();

    let m = p.desk_group.seal(&p.desk, &app(b"hi phone")).unwrap();
    let r = p.phone_group.open(&m, NOW + 20).unwrap();
    assert_eq!(r.from, p.desk.device_id());
    assert_eq!(r.payload, app(b"hi phone"));
    // Replay of the same message is refused.
    assert_eq!(
        p.phone_group.open(&m, NOW + 21).unwrap_err().kind(),
        "replay"
    );
    // Tampered: every byte flip is refused.
    let m2 = p.desk_group.seal(&p.desk, &app(b"second")).unwrap();
    for i in 0..m2.len() {
        let mut b = m2.clone();
        b[i] ^= 0x10;
        assert!(p.phone_group.open(&b, NOW + 22).is_err(), "byte {i}");
    }
    p.phone_group.open(&m2, NOW + 22).unwrap();
    // State survives a JSON round trip (the CLI stores it in its vault).
    let json = serde_json::to_string(&p.phone_group).unwrap();
    let mut back: Group = serde_json::from_str(&json).unwrap();
    assert_eq!(back.open(&m2, NOW + 23).unwrap_err().kind(), "replay");
}

#[test]
fn man_in_the_middle_with_substituted_qr_gets_different_codes() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let phone = IdentityKey::generate(&mut rng);
    let desk = IdentityKey::generate(&mut rng);
    let mallory = IdentityKey::generate(&mut rng);
    let mut phone_group = Group::found(&phone, "phone", NOW, &mut rng).unwrap();

    // The desktop's real offer; Mallory reads it and shows the phone her own.
    let mut desk_joiner = Joiner::new(RELAY, NOW, 120, &mut rng).unwrap();
    let mut mallory_joiner = Joiner::new(RELAY, NOW, 120, &mut rng).unwrap();
    let real_offer = desk_joiner.offer().clone();

    // Mallory poses as the approver to the desktop...
    let (mut mallory_approver, hello_to_desk) =
        Approver::start(&real_offer, &mallory, NOW, &mut rng).unwrap();
    let (join_from_desk, desk_code) = desk_joiner
        .on_hello(&hello_to_desk, &desk, "desktop", NOW)
        .unwrap();
    let _ = mallory_approver.on_join(&join_from_desk, NOW).unwrap();
    // ...and as the new device to the phone, which scanned her QR.
    let (mut phone_approver, hello_to_mallory) =
        Approver::start(mallory_joiner.offer(), &phone, NOW, &mut rng).unwrap();
    let (join_to_phone, mallory_code) = mallory_joiner
        .on_hello(&hello_to_mallory, &mallory, "desktop", NOW)
        .unwrap();
    let req = phone_approver.on_join(&join_to_phone, NOW).unwrap();
    assert_eq!(req.code, mallory_code);
    assert_ne!(
        desk_code, req.code,
        "codes differ when someone is in the middle"
    );
    // The user types the code the real desktop shows: refused, and final.
    let e = phone_approver
        .confirm(
            &desk_code,
            &mut phone_group,
            &phone,
            Capabilities::ALL,
            100,
            NOW,
            &mut rng,
        )
        .unwrap_err();
    assert_eq!(e, Error::CodeMismatch);
    assert!(e.to_string().contains("do not match"));
    assert!(!phone_group.is_active(&mallory.device_id()));
    let again = phone_approver
        .confirm(
            &mallory_code,
            &mut phone_group,
            &phone,
            Capabilities::ALL,
            100,
            NOW,
            &mut rng,
        )
        .unwrap_err();
    assert_eq!(
        again.kind(),
        "unexpected_message",
        "no second try after a mismatch"
    );
    // The declined desktop learns it.
    let decline = phone_approver.decline();
    assert_eq!(
        mallory_joiner
            .on_accept(&decline, &mallory, NOW)
            .unwrap_err(),
        Error::Declined
    );
}

#[test]
fn relay_swapping_the_hello_key_breaks_the_handshake() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let phone = IdentityKey::generate(&mut rng);
    let desk = IdentityKey::generate(&mut rng);
    let mallory = IdentityKey::generate(&mut rng);
    let mut joiner = Joiner::new(RELAY, NOW, 120, &mut rng).unwrap();
    let offer = joiner.offer().clone();
    let (mut phone_approver, _real_hello) = Approver::start(&offer, &phone, NOW, &mut rng).unwrap();
    // The relay drops the phone's hello and injects its own.
    let (mut relay_approver, fake_hello) =
        Approver::start(&offer, &mallory, NOW, &mut rng).unwrap();
    let (join, desk_code) = joiner.on_hello(&fake_hello, &desk, "desktop", NOW).unwrap();
    let relay_view = relay_approver.on_join(&join, NOW).unwrap();
    assert_eq!(relay_view.code, desk_code);
    // The relay can't produce a join the phone accepts: it lacks the
    // desktop's ephemeral secret, and the desktop's join is under other keys.
    assert_eq!(
        phone_approver.on_join(&join, NOW).unwrap_err(),
        Error::Tampered
    );
}

#[test]
fn offers_are_one_time_and_expire() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let phone = IdentityKey::generate(&mut rng);
    let phone2 = IdentityKey::generate(&mut rng);
    let desk = IdentityKey::generate(&mut rng);
    let mut joiner = Joiner::new(RELAY, NOW, 120, &mut rng).unwrap();
    let offer = joiner.offer().clone();
    let (_, hello1) = Approver::start(&offer, &phone, NOW, &mut rng).unwrap();
    let (_, hello2) = Approver::start(&offer, &phone2, NOW, &mut rng).unwrap();
    joiner.on_hello(&hello1, &desk, "desk", NOW).unwrap();
    // Second scan of the same QR.
    assert_eq!(
        joiner.on_hello(&hello2, &desk, "desk", NOW).unwrap_err(),
        Error::OfferUsed
    );
    assert_eq!(
        joiner.on_hello(&hello1, &desk, "desk", NOW).unwrap_err(),
        Error::OfferUsed
    );

    // Expired offer: refused by the scanning device and by the new device.
    let e = Approver::start(&offer, &phone, NOW + 121, &mut rng).unwrap_err();
    assert_eq!(e, Error::OfferExpired { ago_secs: 1 });
    assert!(e.to_string().contains("expired"));
    let mut late = Joiner::new(RELAY, NOW, 120, &mut rng).unwrap();
    let (_, hello) = Approver::start(late.offer(), &phone, NOW + 100, &mut rng).unwrap();
    assert_eq!(
        late.on_hello(&hello, &desk, "d", NOW + 130)
            .unwrap_err()
            .kind(),
        "offer_expired"
    );
}

#[test]
fn replayed_and_tampered_pairing_messages_are_rejected() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let phone = IdentityKey::generate(&mut rng);
    let desk = IdentityKey::generate(&mut rng);
    let mut group = Group::found(&phone, "phone", NOW, &mut rng).unwrap();
    let mut joiner = Joiner::new(RELAY, NOW, 120, &mut rng).unwrap();
    let (mut approver, hello) = Approver::start(joiner.offer(), &phone, NOW, &mut rng).unwrap();
    let (join, code) = joiner.on_hello(&hello, &desk, "desk", NOW).unwrap();
    for i in 0..join.len() {
        let mut b = join.clone();
        b[i] ^= 0x01;
        assert!(approver.on_join(&b, NOW).is_err(), "byte {i}");
    }
    approver.on_join(&join, NOW).unwrap();
    assert_eq!(approver.on_join(&join, NOW).unwrap_err().kind(), "replay");
    let (accept, _) = approver
        .confirm(
            &code,
            &mut group,
            &phone,
            Capabilities::ALL,
            1000,
            NOW,
            &mut rng,
        )
        .unwrap();
    let mut bad = accept.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    assert_eq!(
        joiner.on_accept(&bad, &desk, NOW).unwrap_err(),
        Error::Tampered
    );
    joiner.on_accept(&accept, &desk, NOW).unwrap();
    assert!(joiner.on_accept(&accept, &desk, NOW).is_err());
}

#[test]
fn revoked_device_cannot_read_after_rotation_and_others_can() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let mut p = pair(&mut rng);
    // Third device (a laptop) paired by the phone too.
    let laptop = IdentityKey::generate(&mut rng);
    let mut j = Joiner::new(RELAY, NOW, 120, &mut rng).unwrap();
    let (mut a, hello) = Approver::start(j.offer(), &p.phone, NOW, &mut rng).unwrap();
    let (join, code) = j.on_hello(&hello, &laptop, "laptop", NOW).unwrap();
    a.on_join(&join, NOW).unwrap();
    let (accept, token) = a
        .confirm(
            &code,
            &mut p.phone_group,
            &p.phone,
            Capabilities::ALL,
            1000,
            NOW,
            &mut rng,
        )
        .unwrap();
    let mut laptop_group = j.on_accept(&accept, &laptop, NOW).unwrap();
    // The phone announces the laptop to the desktop.
    let ann = p
        .phone_group
        .seal(
            &p.phone,
            &GroupPayload::MemberAdded {
                token,
                name: "laptop".into(),
            },
        )
        .unwrap();
    p.desk_group.open(&ann, NOW).unwrap();
    assert!(p.desk_group.is_active(&laptop.device_id()));

    // The desktop is lost: the phone revokes it and rotates the key.
    let rev = p
        .phone_group
        .revoke(
            &p.phone,
            RevocationTarget::Device(p.desk.device_id()),
            RevocationReason::Lost,
            NOW + 50,
            &mut rng,
        )
        .unwrap();
    assert_eq!(p.phone_group.epoch(), 1);
    assert_eq!(rev.key_updates.len(), 1, "only the laptop gets the new key");
    assert_eq!(rev.key_updates[0].0, laptop.device_id());
    assert_eq!(
        laptop_group.apply_revocation(&rev.record, NOW + 51),
        Ok(true)
    );
    assert_eq!(
        laptop_group.open_key_update(&laptop, &rev.key_updates[0].1),
        Ok(1)
    );
    // Replayed key update is refused.
    assert!(laptop_group
        .open_key_update(&laptop, &rev.key_updates[0].1)
        .is_err());
    // The desktop can't open the laptop's key update either.
    assert!(p
        .desk_group
        .open_key_update(&p.desk, &rev.key_updates[0].1)
        .is_err());

    let secret = p
        .phone_group
        .seal(&p.phone, &app(b"after revocation"))
        .unwrap();
    assert_eq!(
        laptop_group.open(&secret, NOW + 60).unwrap().payload,
        app(b"after revocation")
    );
    assert_eq!(
        p.desk_group.open(&secret, NOW + 60).unwrap_err(),
        Error::WrongEpoch { got: 1, have: 0 }
    );
    // Messages the revoked desktop still sends are refused by everyone.
    let from_desk = p.desk_group.seal(&p.desk, &app(b"let me in")).unwrap();
    assert_eq!(
        laptop_group.open(&from_desk, NOW + 61).unwrap_err().kind(),
        "revoked"
    );
    assert_eq!(
        p.phone_group.open(&from_desk, NOW + 61).unwrap_err().kind(),
        "revoked"
    );
    // A revocation signed by the revoked device afterwards is void.
    let counter = RevocationRecord::issue(
        &p.desk,
        p.phone_group.id(),
        RevocationTarget::Device(p.phone.device_id()),
        RevocationReason::Compromised,
        NOW + 70,
    );
    assert_eq!(
        laptop_group
            .apply_revocation(&counter, NOW + 70)
            .unwrap_err()
            .kind(),
        "revoked"
    );
}

#[test]
fn comparison_code_parsing() {
    assert_eq!(
        ComparisonCode::parse("012 345").unwrap().to_string(),
        "012345"
    );
    assert_eq!(
        ComparisonCode::parse("012-345").unwrap().to_string(),
        "012345"
    );
    for bad in ["", "12345", "1234567", "abcdef", "12 34 5x"] {
        assert_eq!(ComparisonCode::parse(bad).unwrap_err().kind(), "malformed");
    }
}
