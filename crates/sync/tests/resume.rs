#![allow(clippy::unwrap_used)]
//! A phone's Activity log turned off and on again (issue 12), three
//! devices of a group: a copy it kept asks for what it missed while it was
//! off; a copy it deleted resumes its chain where the group holds it (the
//! others see one chain, not one restarting at 1), and no member can move
//! where it resumes with entries the phone did not sign.

mod common;

use common::{lookup, sends};
use rand_chacha::rand_core::SeedableRng;
use tandem_pair::{DeviceId, IdentityKey};
use tandem_sync::audit::{Happened, Verdict, RESUME_WAIT_MS};
use tandem_sync::{Out, Syncer};

const T0: u64 = 1_800_000_000_000;

/// The desktop, the phone, the laptop.
fn keys() -> Vec<IdentityKey> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(12);
    (0..3).map(|_| IdentityKey::generate(&mut rng)).collect()
}

/// Hands `messages` to each of `to`; returns what they sent in answer.
fn deliver(messages: &[Vec<u8>], to: &mut [&mut Syncer], now: u64) -> Vec<Vec<u8>> {
    let mut answers = Vec::new();
    for s in to.iter_mut() {
        for m in messages {
            answers.extend(sends(s.message(m, now).unwrap().unwrap()));
        }
    }
    answers
}

fn unlock() -> Happened {
    Happened::Unlock { ok: true }
}

/// `device`'s chain as `reader` (`me`) checks it: (seq, verdict).
fn chain_of(
    reader: &Syncer,
    me: &IdentityKey,
    device: DeviceId,
    k: &[IdentityKey],
) -> Vec<(u64, Verdict)> {
    reader
        .audit()
        .verify(me.device_id(), lookup(k))
        .into_iter()
        .filter(|c| c.entry.device == device)
        .map(|c| (c.entry.seq, c.verdict))
        .collect()
}

fn ok(seqs: core::ops::RangeInclusive<u64>) -> Vec<(u64, Verdict)> {
    seqs.map(|s| (s, Verdict::Ok)).collect()
}

/// The group after the phone wrote three entries and the desktop two,
/// every device holding all of them.
fn group(k: &[IdentityKey]) -> (Syncer, Syncer, Syncer) {
    let mut desk = Syncer::new(k[0].device_id());
    let mut phone = Syncer::new(k[1].device_id());
    let mut laptop = Syncer::new(k[2].device_id());
    for i in 0..3 {
        phone.record(&k[1], unlock(), T0 + i);
    }
    for i in 0..2 {
        desk.record(&k[0], unlock(), T0 + 10 + i);
    }
    let from_phone = sends(phone.send_outbox());
    let from_desk = sends(desk.send_outbox());
    assert!(deliver(&from_phone, &mut [&mut desk, &mut laptop], T0 + 20).is_empty());
    assert!(deliver(&from_desk, &mut [&mut phone, &mut laptop], T0 + 20).is_empty());
    (desk, phone, laptop)
}

#[test]
fn a_deleted_copy_turned_on_again_resumes_the_chain_where_the_group_holds_it() {
    let k = keys();
    let (mut desk, _deleted, mut laptop) = group(&k);
    let phone_id = k[1].device_id();

    // On again with no copy: it asks for the chains and where its own ends.
    let mut phone = Syncer::new(phone_id);
    phone.ask_logs();
    phone.resume_log(T0 + 100);
    // Its unlock shows here at once, but waits to go to the group.
    phone.record(&k[1], unlock(), T0 + 101);
    assert_eq!(phone.audit().waiting(), 1);
    let asked = sends(phone.flush());
    assert_eq!(
        asked.len(),
        2,
        "the request for the chains, and where its own ends"
    );
    assert!(asked
        .iter()
        .all(|m| !String::from_utf8_lossy(m).contains("audit_entries")));
    assert!(
        phone.rebase_log(&k[1], T0 + 102).is_empty(),
        "nothing answered yet"
    );

    // The desktop answers (its chain, the phone's, where the phone's ends);
    // the laptop answers too, later.
    let from_desk = deliver(&asked, &mut [&mut desk], T0 + 103);
    let from_laptop = deliver(&asked, &mut [&mut laptop], T0 + 103);
    deliver(&from_desk, &mut [&mut phone], T0 + 104);
    assert_eq!(phone.rebase_log(&k[1], T0 + 104), [Out::Persist]);
    let resumed = sends(phone.send_outbox());
    deliver(&from_laptop, &mut [&mut phone], T0 + 105);
    assert!(phone.rebase_log(&k[1], T0 + 105).is_empty(), "resumed once");
    deliver(&resumed, &mut [&mut desk, &mut laptop], T0 + 106);

    // One chain everywhere: the unlock is the phone's fourth entry.
    for (reader, me) in [(&desk, &k[0]), (&laptop, &k[2]), (&phone, &k[1])] {
        assert_eq!(chain_of(reader, me, phone_id, &k), ok(1..=4));
        assert_eq!(chain_of(reader, me, k[0].device_id(), &k), ok(1..=2));
    }
    assert_eq!(phone.audit().waiting(), 0);
    // It goes on from there.
    phone.record(&k[1], unlock(), T0 + 107);
    deliver(&sends(phone.send_outbox()), &mut [&mut desk], T0 + 108);
    assert_eq!(chain_of(&desk, &k[0], phone_id, &k), ok(1..=5));
}

#[test]
fn a_forged_chain_end_does_not_move_where_a_deleted_copy_resumes() {
    let k = keys();
    let (mut desk, _deleted, _laptop) = group(&k);
    let phone_id = k[1].device_id();
    let mut phone = Syncer::new(phone_id);
    phone.ask_logs();
    phone.resume_log(T0 + 100);
    phone.record(&k[1], unlock(), T0 + 101);
    let asked = sends(phone.flush());

    // A member (it holds the group key) says the phone's chain ends at 100,
    // with an entry in the phone's name signed by another key; and sends an
    // entry at 50 in the phone's name.
    let mallory = IdentityKey::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(666));
    let forged = |seq: u64| {
        let mut v = serde_json::json!({
            "device": phone_id, "seq": seq, "prev": "00".repeat(32), "at_ms": T0,
            "happened": {"kind": "unlock", "ok": true}, "sig": "00".repeat(64),
        });
        let unsigned = serde_json::to_vec(&serde_json::json!({
            "device": phone_id, "seq": seq, "prev": "00".repeat(32), "at_ms": T0,
            "happened": {"kind": "unlock", "ok": true},
        }))
        .unwrap();
        let sig = mallory.sign_app(tandem_sync::audit::AUDIT_DOMAIN, &unsigned);
        v["sig"] = serde_json::to_value(sig).unwrap();
        v
    };
    let end = serde_json::json!(["audit_end", phone_id, [forged(100)]]);
    phone
        .message(&serde_json::to_vec(&end).unwrap(), T0 + 102)
        .unwrap()
        .unwrap();
    let entries = serde_json::json!({"type": "audit_entries", "entries": [forged(50)]});
    phone
        .message(&serde_json::to_vec(&entries).unwrap(), T0 + 102)
        .unwrap()
        .unwrap();
    // Refused: the phone still waits, and sends nothing of its own.
    assert!(phone.rebase_log(&k[1], T0 + 103).is_empty());
    assert!(phone.audit().resuming());
    assert!(sends(phone.send_outbox()).is_empty());

    // The honest answer: it follows its own third entry, not the forged ones.
    let from_desk = deliver(&asked, &mut [&mut desk], T0 + 104);
    deliver(&from_desk, &mut [&mut phone], T0 + 105);
    assert_eq!(phone.rebase_log(&k[1], T0 + 105), [Out::Persist]);
    deliver(&sends(phone.send_outbox()), &mut [&mut desk], T0 + 106);
    assert_eq!(chain_of(&desk, &k[0], phone_id, &k), ok(1..=4));
    // Not its own, the forged entry is gone from its copy.
    assert_eq!(chain_of(&phone, &k[1], phone_id, &k), ok(1..=4));
}

#[test]
fn a_resume_nobody_answers_starts_a_new_chain_after_a_day() {
    let k = keys();
    let mut phone = Syncer::new(k[1].device_id());
    phone.ask_logs();
    phone.resume_log(T0);
    phone.record(&k[1], unlock(), T0 + 1);
    sends(phone.flush());
    assert!(phone.rebase_log(&k[1], T0 + RESUME_WAIT_MS - 1).is_empty());
    assert_eq!(phone.rebase_log(&k[1], T0 + RESUME_WAIT_MS), [Out::Persist]);
    let out = sends(phone.send_outbox());
    assert_eq!(out.len(), 1);
    let mut desk = Syncer::new(k[0].device_id());
    deliver(&out, &mut [&mut desk], T0 + RESUME_WAIT_MS);
    assert_eq!(chain_of(&desk, &k[0], k[1].device_id(), &k), ok(1..=1));
}

#[test]
fn a_kept_copy_back_from_being_off_asks_for_what_it_missed() {
    let k = keys();
    let (mut desk, mut phone, mut laptop) = group(&k);
    let desk_id = k[0].device_id();
    // Off: the desktop's next three entries reach the laptop, not the phone.
    for i in 0..3 {
        desk.record(&k[0], unlock(), T0 + 200 + i);
    }
    let missed = sends(desk.send_outbox());
    deliver(&missed, &mut [&mut laptop], T0 + 210);
    // On again: nothing to ask for until an entry shows the gap.
    assert!(sends(phone.send_outbox()).is_empty());
    desk.record(&k[0], unlock(), T0 + 300);
    let next = sends(desk.send_outbox());
    assert!(deliver(&next, &mut [&mut laptop], T0 + 301).is_empty());
    // The phone sees the gap, and at once asks the group for the chains
    // again.
    let asked = deliver(&next, &mut [&mut phone], T0 + 301);
    assert_eq!(
        chain_of(&phone, &k[1], desk_id, &k)[2],
        (6, Verdict::Gap { missing: 3 })
    );
    assert_eq!(asked.len(), 1);
    assert!(String::from_utf8_lossy(&asked[0]).contains("audit_want"));
    // Each device sends its chain again (the laptop has none of its own:
    // it sends nothing).
    let answers = deliver(&asked, &mut [&mut desk, &mut laptop], T0 + 302);
    assert_eq!(answers.len(), 1, "the desktop's chain");
    assert!(deliver(&answers, &mut [&mut phone], T0 + 303).is_empty());
    assert_eq!(chain_of(&phone, &k[1], desk_id, &k), ok(1..=6));
    // Asked once.
    assert!(sends(phone.send_outbox()).is_empty());
}
