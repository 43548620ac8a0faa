#![allow(clippy::unwrap_used)]
//! Cutting off the devices outside a group from the backup: the backup
//! moves to its next generation (a secret only the recovery phrase gives,
//! `tandem_keys::backup`) and leaves a sealed marker in the old one. A
//! device of the group follows it; a device outside it (one lost before a
//! restore, still holding the old generation's key) is cut off, says so,
//! and cannot read what is written after; a restore finds the newest
//! generation even when that device writes over the marker. Driven
//! against the relay's rules in memory (`common::backup`).

mod common;

use common::backup::*;
use tandem_pair::backup::{BackupKeys, StoredBackup};
use tandem_pair::DeviceId;
use tandem_sync::backup::{Contents, News, Probe, Purpose};
use tandem_sync::{Category, Syncer};

/// Generation 1's secret (the core derives it from the seed; any 32 bytes
/// other than [`SECRET`] stand for it here).
const SECRET1: [u8; 32] = [0x51; 32];
const HOME: &str = "aaaa";
const LOST: &str = "bbbb";
const ALICE: &str = "0xabababababababababababababababababababab";
const BOB: &str = "0xcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";
const MALLORY: &str = "0xefefefefefefefefefefefefefefefefefefefef";

fn device(n: u8, group: &str, secret: &[u8; 32], generation: u32) -> Syncer {
    let mut s = Syncer::new(DeviceId([n; 16]));
    let b = s.backup_mut();
    b.set_group(group);
    assert!(b.set_secret(secret, generation));
    s
}

/// What `secret`'s backup holds on the relay, opened.
fn stored(relay: &mut Relay, secret: &[u8; 32]) -> Option<Contents> {
    let keys = BackupKeys::derive(secret);
    let req = tandem_sync::backup::peek_request(secret, RELAY).unwrap();
    let (status, body) = relay.handle(&req);
    if status == 404 {
        return None;
    }
    let s: StoredBackup = serde_json::from_str(&body).unwrap();
    Some(Contents::parse(&keys.open(&s.data.unwrap().0).unwrap()).unwrap())
}

fn contacts(c: &Contents) -> usize {
    c.summary()
        .into_iter()
        .filter(|(cat, _)| *cat == Category::AddressBook)
        .map(|(_, n)| n)
        .sum()
}

/// The restored browser (group HOME), Alice in its backed-up address book.
fn home_backed_up() -> (Relay, Syncer) {
    let mut relay = Relay::default();
    let mut home = device(1, HOME, &SECRET, 0);
    on(&mut home, Category::AddressBook, T0);
    contact(&mut home, ALICE, "Alice", T0);
    write_due(&mut home, &mut relay, T0);
    (relay, home)
}

/// The restored browser (group HOME) and the lost one (group LOST) share
/// generation 0; then the restored one cuts the other off.
fn moved() -> (Relay, Syncer, Syncer) {
    let (mut relay, mut home) = home_backed_up();
    let mut lost = device(2, LOST, &SECRET, 0);
    on(&mut lost, Category::AddressBook, T0 + 1);
    write_due(&mut lost, &mut relay, T0 + 1);
    assert_eq!(contacts(&stored(&mut relay, &SECRET).unwrap()), 1);

    home.backup_mut().cut_off_others().unwrap();
    let v = home.backup().view();
    assert!(v.cutting && v.needs_unlock, "{v:?}");
    assert_eq!(home.backup().generation_wanted(), 1);
    // Until the wallet is unlocked, writes go on in generation 0.
    contact(&mut home, BOB, "Bob", T0 + 2);
    write_due(&mut home, &mut relay, T0 + 2);
    assert_eq!(contacts(&stored(&mut relay, &SECRET).unwrap()), 2);
    assert_eq!(home.backup_mut().take_news(), None);

    assert!(home.backup_mut().set_secret(&SECRET1, 1));
    write_due(&mut home, &mut relay, T0 + 3);
    (relay, home, lost)
}

#[test]
fn cutting_off_moves_the_backup_to_the_next_generation_and_marks_the_old_one() {
    let (mut relay, mut home, _) = moved();
    let new = stored(&mut relay, &SECRET1).unwrap();
    assert_eq!(contacts(&new), 2, "everything moved");
    assert!(new.retired.is_none());
    let old = stored(&mut relay, &SECRET).unwrap();
    let marker = old.retired.as_ref().expect("the old generation is marked");
    assert_eq!(marker.group, HOME);
    assert!(
        old.snapshots.is_empty() && old.audit.is_empty(),
        "nothing else is left there"
    );
    let v = home.backup().view();
    assert_eq!(v.generation, 1);
    assert!(
        !v.cutting && !v.needs_unlock && v.moved_at.is_some(),
        "{v:?}"
    );
    assert_eq!(
        home.backup_mut().take_news(),
        Some(News::Moved { generation: 1 })
    );
    assert_eq!(home.backup_mut().take_news(), None, "said once");
    assert!(!home.backup_due());
    // An older generation's secret handed over again changes nothing.
    assert!(!home.backup_mut().set_secret(&SECRET, 0));
    assert_eq!(home.backup().generation_wanted(), 1);
}

#[test]
fn a_device_outside_the_group_is_cut_off_says_so_and_cannot_read_what_follows() {
    let (mut relay, mut home, mut lost) = moved();
    contact(&mut lost, MALLORY, "Mallory", T0 + 4);
    assert!(lost.backup_due());
    write_due(&mut lost, &mut relay, T0 + 4);
    let v = lost.backup().view();
    assert_eq!(v.cut_off, Some(T0 + 3), "{v:?}");
    assert!(!v.on && !v.needs_unlock, "it stops writing: {v:?}");
    assert_eq!(
        lost.backup_mut().take_news(),
        Some(News::CutOff { generation: 0 })
    );
    assert!(!lost.backup_due());
    // The marker stays; nothing of the lost device reached the backup.
    assert!(stored(&mut relay, &SECRET).unwrap().retired.is_some());
    assert_eq!(contacts(&stored(&mut relay, &SECRET1).unwrap()), 2);
    // What the restored browser writes from now on does not open with the
    // key the lost device holds, wherever it looks.
    contact(&mut home, MALLORY, "Carol", T0 + 5);
    write_due(&mut home, &mut relay, T0 + 5);
    let old_keys = BackupKeys::derive(&SECRET);
    for (_, (_, _, data)) in relay.rows.iter() {
        let data = data.as_ref().unwrap();
        if let Ok(plain) = old_keys.open(data) {
            assert!(Contents::parse(&plain).unwrap().retired.is_some());
        }
    }
    assert_ne!(old_keys.id(), BackupKeys::derive(&SECRET1).id());
}

#[test]
fn a_device_of_the_group_follows_the_move_at_its_next_unlock_without_a_warning() {
    let (mut relay, _, _) = moved();
    let mut phone = device(3, HOME, &SECRET, 0);
    on(&mut phone, Category::AddressBook, T0 + 4);
    contact(&mut phone, MALLORY, "Dave", T0 + 4);
    write_due(&mut phone, &mut relay, T0 + 4);
    let v = phone.backup().view();
    assert_eq!(v.cut_off, None);
    assert!(v.needs_unlock && !v.cutting, "{v:?}");
    assert_eq!(phone.backup().generation_wanted(), 1);
    assert_eq!(phone.backup_mut().take_news(), None);
    assert!(
        !phone.backup_due(),
        "nothing more goes to the old generation"
    );
    assert!(phone.backup_mut().set_secret(&SECRET1, 1));
    write_due(&mut phone, &mut relay, T0 + 5);
    assert_eq!(contacts(&stored(&mut relay, &SECRET1).unwrap()), 3);
    assert!(stored(&mut relay, &SECRET).unwrap().retired.is_some());
    assert_eq!(phone.backup().view().generation, 1);
}

#[test]
fn a_cut_off_device_turned_on_again_follows_at_the_next_unlock() {
    let (mut relay, _, mut lost) = moved();
    contact(&mut lost, MALLORY, "Erin", T0 + 4);
    write_due(&mut lost, &mut relay, T0 + 4);
    assert!(lost.backup().view().cut_off.is_some());
    lost.backup_mut().turn_on();
    let v = lost.backup().view();
    assert!(v.cut_off.is_none() && v.needs_unlock && v.on, "{v:?}");
    assert_eq!(lost.backup().generation_wanted(), 1);
    assert!(lost.backup_mut().set_secret(&SECRET1, 1));
    write_due(&mut lost, &mut relay, T0 + 5);
    assert_eq!(contacts(&stored(&mut relay, &SECRET1).unwrap()), 3);
}

fn probe(relay: &mut Relay, secrets: &[[u8; 32]]) -> Probe {
    let mut p = Probe::new();
    while let Some(g) = p.generation() {
        let secret = secrets
            .get(g as usize)
            .copied()
            .unwrap_or([0x60 + g as u8; 32]);
        let req = p.request(&secret, RELAY).unwrap();
        assert_eq!(req.purpose, Purpose::Find);
        let (status, body) = relay.handle(&req);
        p.answer(&secret, status, &body).unwrap();
    }
    p
}

#[test]
fn a_restore_finds_the_newest_generation_even_over_a_marker_written_over() {
    let (mut relay, _, _) = moved();
    let p = probe(&mut relay, &[SECRET, SECRET1]);
    let (g, found) = p.chosen().unwrap();
    assert_eq!(g, 1);
    assert!(!found.moved);
    assert!(found.categories.contains(&(Category::AddressBook, 2)));

    // The lost device's holder writes records of their own over the
    // marker with the old key (the relay takes it: the key is right).
    let mut thief = device(9, LOST, &SECRET, 0);
    on(&mut thief, Category::AddressBook, T0 + 10);
    contact(&mut thief, MALLORY, "Pay me", T0 + 10);
    let keys = BackupKeys::derive(&SECRET);
    let fake = Contents::new(
        vec![thief.replica().snapshot(Category::AddressBook)],
        Vec::new(),
    );
    let put = keys.put(
        T0 + 10,
        keys.seal(&serde_json::to_vec(&fake).unwrap(), [3; 24]),
    );
    let req = tandem_sync::backup::Request {
        purpose: Purpose::Write,
        method: "PUT",
        url: tandem_sync::backup::url(RELAY, &keys.id()).unwrap(),
        body: Some(serde_json::to_string(&put).unwrap()),
    };
    assert_eq!(relay.handle(&req).0, 200);
    let p = probe(&mut relay, &[SECRET, SECRET1]);
    assert_eq!(
        p.chosen().unwrap().0,
        1,
        "the newest generation, not the thief's"
    );
    // Or deletes it (the relay keeps the key and counter): read past too.
    let del = keys.delete(T0 + 20);
    let req = tandem_sync::backup::Request {
        purpose: Purpose::Delete,
        method: "DELETE",
        url: tandem_sync::backup::url(RELAY, &keys.id()).unwrap(),
        body: Some(serde_json::to_string(&del).unwrap()),
    };
    assert_eq!(relay.handle(&req).0, 200);
    let p = probe(&mut relay, &[SECRET, SECRET1]);
    assert_eq!(p.chosen().unwrap().0, 1, "past the deleted generation 0");

    // A fresh browser restores it through its syncer: read again, or
    // taken from the probe as it was read (not for another generation).
    let mut fresh = device(4, "cccc", &SECRET1, 1);
    let first = fresh.backup_mut().find(RELAY).unwrap();
    run(&mut fresh, &mut relay, first, T0 + 11);
    let read = fresh.backup().found().unwrap();
    assert!(read.categories.contains(&(Category::AddressBook, 2)));
    let mut p = probe(&mut relay, &[SECRET, SECRET1]);
    let mut wrong = device(5, "cccc", &SECRET, 0);
    assert!(!wrong.backup_mut().found_by(&mut p));
    assert!(wrong.backup().found().is_none());
    let mut taken = device(6, "cccc", &SECRET1, 1);
    assert!(taken.backup_mut().found_by(&mut p));
    assert_eq!(taken.backup().found().unwrap(), read);
    taken.restore(&me(), T0 + 12).unwrap();
    assert_eq!(names(&taken), vec!["Alice", "Bob"]);
}

#[test]
fn a_restore_that_reads_a_marker_asks_for_the_next_generation() {
    let (mut relay, _, _) = moved();
    let mut fresh = device(4, "cccc", &SECRET, 0);
    find(&mut fresh, &mut relay, T0 + 11);
    assert!(fresh.backup().found().is_none());
    assert_eq!(fresh.backup().generation_wanted(), 1);
    assert!(fresh.backup_mut().set_secret(&SECRET1, 1));
    find(&mut fresh, &mut relay, T0 + 11);
    assert!(fresh.backup().found().is_some());
    // Nothing at all: a probe finds nothing.
    let mut empty = Relay::default();
    assert!(probe(&mut empty, &[SECRET]).chosen().is_none());
}

/// The restored browser cuts off the others: generation 1 is written, and
/// the request that leads to generation 0's marker is returned unsent.
fn moved_up_to_the_marker() -> (Relay, Syncer, tandem_sync::backup::Request) {
    let (mut relay, mut home) = home_backed_up();
    home.backup_mut().cut_off_others().unwrap();
    assert!(home.backup_mut().set_secret(&SECRET1, 1));
    let read = home.backup_next(RELAY).unwrap().unwrap();
    let (st, body) = relay.handle(&read);
    let write = home
        .backup_answer(read.purpose, RELAY, st, &body, &[], T0 + 1, [1; 24])
        .unwrap()
        .unwrap();
    let (st, body) = relay.handle(&write);
    let leave = home
        .backup_answer(write.purpose, RELAY, st, &body, &[], T0 + 1, [2; 24])
        .unwrap()
        .unwrap();
    (relay, home, leave)
}

#[test]
fn a_move_cut_short_before_the_marker_writes_it_next_time() {
    let (mut relay, mut home, leave) = moved_up_to_the_marker();
    assert_eq!(leave.purpose, Purpose::Leave);
    // The relay cannot be reached: the move is not done, and says why.
    assert!(home
        .backup_answer(leave.purpose, RELAY, 0, "", &[], T0 + 1, [3; 24])
        .is_err());
    assert!(stored(&mut relay, &SECRET).unwrap().retired.is_none());
    assert!(home.backup().view().moved_at.is_none());
    // Stored and loaded again (a worker restart), it finishes.
    let json = serde_json::to_string(&home).unwrap();
    let mut home: Syncer = serde_json::from_str(&json).unwrap();
    assert!(home.backup_due());
    write_due(&mut home, &mut relay, T0 + 2);
    assert!(stored(&mut relay, &SECRET).unwrap().retired.is_some());
    assert_eq!(
        home.backup_mut().take_news(),
        Some(News::Moved { generation: 1 })
    );
}

#[test]
fn cutting_off_needs_the_key_the_backup_on_and_a_group() {
    let mut s = Syncer::new(DeviceId([5; 16]));
    assert!(s.backup_mut().cut_off_others().is_err());
    s.backup_mut().set_secret(&SECRET, 0);
    assert!(s
        .backup_mut()
        .cut_off_others()
        .unwrap_err()
        .to_string()
        .contains("group"));
    s.backup_mut().set_group(HOME);
    s.backup_mut().delete();
    assert!(s
        .backup_mut()
        .cut_off_others()
        .unwrap_err()
        .to_string()
        .contains("off"));
}

#[test]
fn a_key_rotation_moves_the_backup_so_a_revoked_device_reads_nothing_new() {
    let (mut relay, mut home) = home_backed_up();
    // A device of the same group, revoked now: it keeps generation 0's key.
    let mut revoked = device(2, HOME, &SECRET, 0);
    on(&mut revoked, Category::AddressBook, T0);
    home.key_rotated();
    assert!(home.backup().wants_key());
    assert_eq!(home.backup().generation_wanted(), 1);
    // Once the wallet is unlocked here, the backup moves.
    assert!(home.backup_mut().set_secret(&SECRET1, 1));
    contact(&mut home, BOB, "Written after the revocation", T0 + 1);
    write_due(&mut home, &mut relay, T0 + 1);
    assert_eq!(
        home.backup_mut().take_news(),
        Some(News::Moved { generation: 1 })
    );
    assert!(!home.backup().wants_key());
    // The revoked device reads the marker of its own (old) group: it would
    // follow at an unlock, which takes the phrase it cannot reach without
    // the password; until then it reads nothing of generation 1.
    contact(&mut revoked, MALLORY, "Eve", T0 + 2);
    write_due(&mut revoked, &mut relay, T0 + 2);
    assert!(revoked.backup().wants_key());
    assert!(!revoked.backup_due());
    assert_eq!(contacts(&stored(&mut relay, &SECRET1).unwrap()), 2);
    assert!(stored(&mut relay, &SECRET).unwrap().retired.is_some());
    // Told it was removed, it stops: no write, no move to follow.
    revoked.backup_mut().stop();
    assert!(!revoked.backup().wants_key() && !revoked.backup_due());
    assert!(!revoked.backup().view().on);
    // A second rotation before the move is done asks for nothing more.
    let mut again = device(3, HOME, &SECRET, 0);
    again.key_rotated();
    again.key_rotated();
    assert_eq!(again.backup().generation_wanted(), 1);
    // Without the backup's key, a rotation asks for nothing.
    let mut bare = Syncer::new(DeviceId([7; 16]));
    bare.key_rotated();
    assert!(!bare.backup().wants_key());
}

#[test]
fn a_second_move_before_the_first_marker_leaves_both_markers() {
    // Generation 1 written; the marker of 0 cannot go (relay away).
    let (mut relay, mut home, leave) = moved_up_to_the_marker();
    assert!(home
        .backup_answer(leave.purpose, RELAY, 0, "", &[], T0 + 1, [3; 24])
        .is_err());
    // A revocation meanwhile moves it again.
    home.key_rotated();
    assert_eq!(home.backup().generation_wanted(), 2);
    const SECRET2: [u8; 32] = [0x52; 32];
    assert!(home.backup_mut().set_secret(&SECRET2, 2));
    write_due(&mut home, &mut relay, T0 + 2);
    assert!(stored(&mut relay, &SECRET).unwrap().retired.is_some());
    assert!(stored(&mut relay, &SECRET1).unwrap().retired.is_some());
    assert_eq!(contacts(&stored(&mut relay, &SECRET2).unwrap()), 1);
    assert_eq!(
        home.backup_mut().take_news(),
        Some(News::Moved { generation: 2 })
    );
    assert!(!home.backup().leaving());
    let p = probe(&mut relay, &[SECRET, SECRET1, SECRET2]);
    assert_eq!(p.chosen().unwrap().0, 2);
}
