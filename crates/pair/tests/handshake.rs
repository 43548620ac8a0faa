#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns
//! The pairing handshake in memory: both screens confirm, men in the
//! middle, the QR answered first by someone else, replay, tampering, expiry.

mod common;

use common::*;
use tandem_pair::*;

#[test]
fn two_devices_pair_and_talk() {
    let mut rng = rng(1);
    let mut phone = founder("phone", &mut rng);
    let (mut desk, token, codes) = pair_new(&mut phone, "desktop", Capabilities::ALL, &mut rng);
    assert!(
        codes.joiner.matches(&codes.approver),
        "both screens show the same code"
    );
    assert_eq!(codes.joiner.to_string().len(), 6);
    assert_eq!(desk.group.id(), phone.group.id());
    assert_eq!(
        desk.group.relay(),
        RELAY,
        "the group's relay comes with the welcome"
    );
    assert_eq!((desk.group.epoch(), desk.group.chain_len()), (0, 0));
    assert!(desk.group.is_active(&phone.id()));
    assert!(phone.group.is_active(&desk.id()));
    assert_eq!(desk.group.member(&desk.id()).unwrap().name, "desktop");
    assert_eq!(token.subject(), desk.key.public());
    assert_eq!(token.issuer(), phone.key.public());
    assert_eq!(token.expires_at(), NOW + 4 + 30 * 24 * 3600);
    match desk.group.membership().unwrap() {
        Membership::Member { token } => token.check_for(&desk.key.public(), NOW + 10).unwrap(),
        other => panic!("{other:?}"),
    }
    phone
        .group
        .membership()
        .unwrap()
        .verify(&phone.key.public(), NOW)
        .unwrap();

    let m = desk.send(&app(b"hi phone"), &mut rng);
    let r = phone.group.open(&m, NOW + 20).unwrap();
    assert_eq!((r.from, r.payload), (desk.id(), app(b"hi phone")));
    assert_eq!(phone.group.open(&m, NOW + 21).unwrap_err().kind(), "replay");
    // Tampered: every byte flip is refused.
    let m2 = desk.send(&app(b"second"), &mut rng);
    for i in 0..m2.len() {
        let mut b = m2.clone();
        b[i] ^= 0x10;
        assert!(phone.group.open(&b, NOW + 22).is_err(), "byte {i}");
    }
    phone.group.open(&m2, NOW + 22).unwrap();
    // State survives a JSON round trip (devices store it in their vault).
    let json = serde_json::to_string(&phone.group).unwrap();
    let mut back: Group = serde_json::from_str(&json).unwrap();
    assert_eq!(back.open(&m2, NOW + 23).unwrap_err().kind(), "replay");
}

/// Mallory shows the phone her own QR and answers the desktop's QR herself:
/// two handshakes, each with her. The codes differ; whichever screen the user
/// checks first says so, and nothing is installed on either side.
#[test]
fn man_in_the_middle_gets_different_codes_and_both_sides_abort() {
    let mut rng = rng(2);
    let phone = founder("phone", &mut rng);
    let desk = IdentityKey::generate(&mut rng);
    let mallory = IdentityKey::generate(&mut rng);
    let members_before = phone.group.members().count();

    let mut desk_joiner = Joiner::new(RELAY, NOW, 120, &mut rng).unwrap();
    let mut mallory_joiner = Joiner::new(RELAY, NOW, 120, &mut rng).unwrap();
    // Mallory answers the desktop's real QR as if she were the phone...
    let (mut mallory_approver, hello_to_desk) =
        Approver::start(desk_joiner.offer(), &mallory, NOW, &mut rng).unwrap();
    let (join_from_desk, desk_code) = desk_joiner
        .on_hello(&hello_to_desk, &desk, "desktop", NOW, &mut rng)
        .unwrap();
    mallory_approver.on_join(&join_from_desk, NOW).unwrap();
    // ...and the phone scans Mallory's QR.
    let (mut phone_approver, hello_to_mallory) =
        Approver::start(mallory_joiner.offer(), &phone.key, NOW, &mut rng).unwrap();
    let (join_to_phone, mallory_code) = mallory_joiner
        .on_hello(&hello_to_mallory, &mallory, "desktop", NOW, &mut rng)
        .unwrap();
    let req = phone_approver.on_join(&join_to_phone, NOW).unwrap();
    assert_eq!(req.code, mallory_code);
    assert!(
        !desk_code.matches(&req.code),
        "codes differ with someone in the middle"
    );

    // The desktop's user sees a code the phone does not show: "They differ".
    let desk_says = desk_joiner.confirm(false, &desk, &mut rng).unwrap();
    assert!(!desk_joiner.awaiting_user());
    // Whatever Mallory answers now, the desktop installs nothing.
    let declined = mallory_approver.decline(&mut rng);
    assert!(desk_joiner.on_accept(&declined, &desk, NOW).is_err());
    // The desktop's answer is sealed for Mallory's handshake: the phone's
    // approver cannot take it for its own.
    assert!(phone_approver.on_confirm(&desk_says).is_err());

    // The phone's user compares the phone's code with the desktop's screen:
    // they differ, and the pairing is over for good.
    let e = phone_approver
        .user_decision(CodeCheck::Typed(desk_code))
        .unwrap_err();
    assert_eq!(e, Error::CodeMismatch);
    assert!(e.to_string().contains("do not match"));
    assert_eq!(
        phone_approver
            .user_decision(CodeCheck::Typed(mallory_code))
            .unwrap_err()
            .kind(),
        "unexpected_message",
        "no second try after a mismatch"
    );
    assert!(phone_approver
        .issue_token(
            &phone.group,
            &phone.key,
            Capabilities::ALL,
            100,
            NOW,
            &mut rng
        )
        .is_err());
    assert_eq!(phone.group.members().count(), members_before);
    assert!(!phone.group.is_active(&mallory.device_id()));
    // Mallory, as the phone's "new device", learns that it was declined.
    let decline = phone_approver.decline(&mut rng);
    assert_eq!(
        mallory_joiner
            .on_accept(&decline, &mallory, NOW)
            .unwrap_err(),
        Error::Declined
    );
}

/// Whoever answers a QR first (someone who photographed it) cannot capture
/// the new device: a malicious approver that skips the rules, forges the
/// joiner's confirmation to itself and pushes a welcome at once, finds that
/// the new device installs nothing until its own user confirmed its own
/// code; that user sees that their phone shows no such code and says so.
#[test]
fn whoever_answers_the_qr_first_cannot_capture_the_new_device() {
    let mut rng = rng(3);
    let mut attacker = founder("attacker phone", &mut rng);
    let desk = IdentityKey::generate(&mut rng);
    let mut joiner = Joiner::new(RELAY, NOW, 120, &mut rng).unwrap();
    let (mut a, hello) = Approver::start(joiner.offer(), &attacker.key, NOW, &mut rng).unwrap();
    let (join, _) = joiner
        .on_hello(&hello, &desk, "desktop", NOW, &mut rng)
        .unwrap();
    a.on_join(&join, NOW).unwrap();
    // A compliant approver cannot issue anything before the joiner confirmed.
    a.user_decision(CodeCheck::Match).unwrap();
    assert!(a
        .issue_token(
            &attacker.group,
            &attacker.key,
            Capabilities::ALL,
            100,
            NOW,
            &mut rng
        )
        .is_err());
    // The attacker holds both session keys: it seals a "codes match" in the
    // joiner's name and feeds it to its own approver state.
    let forged = {
        let (k_ja, _) = a.kat_session_keys();
        let header = Header {
            kind: EnvelopeKind::PairConfirm,
            topic: joiner.offer().topic,
            sender: desk.device_id(),
            epoch: 0,
            seq: 1,
        };
        Envelope::seal(&k_ja, header, &[1], &mut rng).encode()
    };
    a.on_confirm(&forged).unwrap();
    let token = a
        .issue_token(
            &attacker.group,
            &attacker.key,
            Capabilities::ALL,
            100,
            NOW,
            &mut rng,
        )
        .unwrap();
    let welcome = a
        .welcome(&mut attacker.group, &attacker.key, &token, NOW, &mut rng)
        .unwrap();
    // The desktop's user has not decided: the welcome is refused, the
    // pairing ends, nothing is installed.
    assert!(joiner.awaiting_user());
    let e = joiner.on_accept(&welcome, &desk, NOW).unwrap_err();
    assert_eq!(e, Error::NotConfirmed);
    assert!(e.to_string().contains("nothing was installed"));
    assert!(!joiner.awaiting_user());
    assert!(
        joiner.confirm(true, &desk, &mut rng).is_err(),
        "the pairing is over"
    );
    assert!(joiner.on_accept(&welcome, &desk, NOW).is_err());
}

/// The new device's user says the codes differ: the approver learns it,
/// refuses to issue anything, and its group is unchanged.
#[test]
fn a_mismatch_on_the_new_device_stops_the_approver() {
    let mut rng = rng(5);
    let mut phone = founder("phone", &mut rng);
    let desk = IdentityKey::generate(&mut rng);
    let mut joiner = Joiner::new(RELAY, NOW, 120, &mut rng).unwrap();
    let (mut a, hello) = Approver::start(joiner.offer(), &phone.key, NOW, &mut rng).unwrap();
    let (join, code) = joiner
        .on_hello(&hello, &desk, "desktop", NOW, &mut rng)
        .unwrap();
    a.on_join(&join, NOW).unwrap();
    a.user_decision(CodeCheck::Typed(code)).unwrap();
    let differ = joiner.confirm(false, &desk, &mut rng).unwrap();
    let e = a.on_confirm(&differ).unwrap_err();
    assert_eq!(e, Error::MismatchReported);
    assert!(e.to_string().contains("do not match"));
    assert!(!a.is_confirmed());
    assert!(a
        .issue_token(
            &phone.group,
            &phone.key,
            Capabilities::ALL,
            100,
            NOW,
            &mut rng
        )
        .is_err());
    assert_eq!(phone.group.members().count(), 1);
    let _ = &mut phone;
}

/// Typing mode: the approver shows nothing and checks what its user typed.
#[test]
fn typing_mode_checks_the_typed_code() {
    let mut rng = rng(6);
    let phone = founder("phone", &mut rng);
    let desk = IdentityKey::generate(&mut rng);
    let mut joiner = Joiner::new(RELAY, NOW, 120, &mut rng).unwrap();
    let (mut a, hello) = Approver::start(joiner.offer(), &phone.key, NOW, &mut rng).unwrap();
    let (join, code) = joiner
        .on_hello(&hello, &desk, "desktop", NOW, &mut rng)
        .unwrap();
    a.on_join(&join, NOW).unwrap();
    let wrong = ComparisonCode::parse(&format!(
        "{:06}",
        (code.to_string().parse::<u32>().unwrap() + 1) % 1_000_000
    ))
    .unwrap();
    assert_eq!(
        a.user_decision(CodeCheck::Typed(wrong)).unwrap_err(),
        Error::CodeMismatch
    );
    let _ = phone;
}

#[test]
fn relay_swapping_the_hello_key_breaks_the_handshake() {
    let mut rng = rng(7);
    let phone = IdentityKey::generate(&mut rng);
    let desk = IdentityKey::generate(&mut rng);
    let mallory = IdentityKey::generate(&mut rng);
    let mut joiner = Joiner::new(RELAY, NOW, 120, &mut rng).unwrap();
    let offer = joiner.offer().clone();
    let (mut phone_approver, _real_hello) = Approver::start(&offer, &phone, NOW, &mut rng).unwrap();
    // The relay drops the phone's hello and injects its own.
    let (mut relay_approver, fake_hello) =
        Approver::start(&offer, &mallory, NOW, &mut rng).unwrap();
    let (join, desk_code) = joiner
        .on_hello(&fake_hello, &desk, "desktop", NOW, &mut rng)
        .unwrap();
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
    let mut rng = rng(8);
    let phone = IdentityKey::generate(&mut rng);
    let phone2 = IdentityKey::generate(&mut rng);
    let desk = IdentityKey::generate(&mut rng);
    let mut joiner = Joiner::new(RELAY, NOW, 120, &mut rng).unwrap();
    let offer = joiner.offer().clone();
    let (_, hello1) = Approver::start(&offer, &phone, NOW, &mut rng).unwrap();
    let (_, hello2) = Approver::start(&offer, &phone2, NOW, &mut rng).unwrap();
    joiner
        .on_hello(&hello1, &desk, "desk", NOW, &mut rng)
        .unwrap();
    // Second scan of the same QR.
    assert_eq!(
        joiner
            .on_hello(&hello2, &desk, "desk", NOW, &mut rng)
            .unwrap_err(),
        Error::OfferUsed
    );
    assert_eq!(
        joiner
            .on_hello(&hello1, &desk, "desk", NOW, &mut rng)
            .unwrap_err(),
        Error::OfferUsed
    );
    // Expired offer: refused by the scanning device and by the new device.
    let e = Approver::start(&offer, &phone, NOW + 121, &mut rng).unwrap_err();
    assert_eq!(e, Error::OfferExpired { ago_secs: 1 });
    assert!(e.to_string().contains("expired"));
    let mut late = Joiner::new(RELAY, NOW, 120, &mut rng).unwrap();
    let (_, hello) = Approver::start(late.offer(), &phone, NOW + 100, &mut rng).unwrap();
    assert_eq!(
        late.on_hello(&hello, &desk, "d", NOW + 130, &mut rng)
            .unwrap_err()
            .kind(),
        "offer_expired"
    );
}

#[test]
fn replayed_and_tampered_pairing_messages_are_rejected() {
    let mut rng = rng(9);
    let mut phone = founder("phone", &mut rng);
    let desk = IdentityKey::generate(&mut rng);
    let mut joiner = Joiner::new(RELAY, NOW, 120, &mut rng).unwrap();
    let (mut approver, hello) = Approver::start(joiner.offer(), &phone.key, NOW, &mut rng).unwrap();
    let (join, _) = joiner
        .on_hello(&hello, &desk, "desk", NOW, &mut rng)
        .unwrap();
    for i in 0..join.len() {
        let mut b = join.clone();
        b[i] ^= 0x01;
        assert!(approver.on_join(&b, NOW).is_err(), "byte {i}");
    }
    approver.on_join(&join, NOW).unwrap();
    assert_eq!(
        approver.on_join(&join, NOW).unwrap_err().kind(),
        "unexpected_message",
        "a join replayed after it was taken"
    );
    let confirm = joiner.confirm(true, &desk, &mut rng).unwrap();
    for i in 0..confirm.len() {
        let mut b = confirm.clone();
        b[i] ^= 0x01;
        assert!(approver.on_confirm(&b).is_err(), "byte {i}");
    }
    approver.on_confirm(&confirm).unwrap();
    approver.user_decision(CodeCheck::Match).unwrap();
    let token = approver
        .issue_token(
            &phone.group,
            &phone.key,
            Capabilities::ALL,
            1000,
            NOW,
            &mut rng,
        )
        .unwrap();
    let accept = approver
        .welcome(&mut phone.group, &phone.key, &token, NOW, &mut rng)
        .unwrap();
    let mut bad = accept.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    assert_eq!(
        joiner.on_accept(&bad, &desk, NOW).unwrap_err(),
        Error::Tampered
    );
    // A tampered copy does not spend the pairing; the real one works once.
    joiner.on_accept(&accept, &desk, NOW).unwrap();
    assert!(joiner.on_accept(&accept, &desk, NOW).is_err());
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
