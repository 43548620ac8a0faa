#![allow(clippy::unwrap_used)]
//! The backup under the recovery phrase's keys, driven through its
//! requests against a scripted relay that keeps the relay's rules (the key
//! a first write registers, counters that must grow, signatures checked
//! with `tandem_pair::backup`): a device writes after changes, a fresh
//! device with the same secret finds it, sees what it holds and restores
//! it; two devices of the same phrase in different groups merge instead of
//! overwriting; a delete leaves nothing to restore.

mod common;

use common::backup::*;
use common::sends;
use tandem_pair::backup::BackupKeys;
use tandem_pair::{DeviceId, IdentityKey, IdentityPublic};
use tandem_sync::audit::{Happened, Log, Verdict, BACKUP_PER_DEVICE};
use tandem_sync::backup::{Contents, Purpose, Request};
use tandem_sync::{Account, Category, Field, Out, Syncer, Value};

/// Device 1 syncs its address book with Alice in it, backed up.
fn alice_backed_up() -> (Relay, Syncer) {
    let mut relay = Relay::default();
    let mut a = Syncer::new(DeviceId([1; 16]));
    a.backup_mut().set_secret(&SECRET, 0);
    on(&mut a, Category::AddressBook, T0);
    contact(&mut a, &format!("0x{}", "ab".repeat(20)), "Alice", T0);
    write_due(&mut a, &mut relay, T0);
    (relay, a)
}

#[test]
fn a_fresh_device_with_the_same_secret_finds_and_restores_the_backup() {
    let mut relay = Relay::default();
    let mut a = Syncer::new(DeviceId([1; 16]));
    assert!(!a.backup_due(), "nothing without the key");
    a.backup_mut().set_secret(&SECRET, 0);
    assert!(!a.backup_due(), "nothing syncs: nothing to back up");
    a.backup_mut().set_secret(&SECRET, 0);
    on(&mut a, Category::Accounts, T0);
    on(&mut a, Category::AddressBook, T0);
    a.edit(
        Field::record(Category::Accounts, format!("0x{}", "11".repeat(20))),
        Some(Value::Account(Account {
            name: "Savings".into(),
            order: 0,
            hidden: false,
        })),
        T0 + 1,
    )
    .unwrap();
    contact(&mut a, &format!("0x{}", "ab".repeat(20)), "Alice", T0 + 2);
    write_due(&mut a, &mut relay, T0 + 3);
    assert_eq!(a.backup().view().saved_at, Some(T0 + 3));
    assert!(!a.backup_due());
    // The relay holds ciphertext only.
    let stored = relay.rows.values().next().unwrap().2.clone().unwrap();
    assert!(!relay
        .seen
        .iter()
        .any(|b| b.contains("Alice") || b.contains("Savings")));
    assert!(!stored.windows(5).any(|w| w == b"Alice"));

    // A new browser, same phrase: it finds the backup, says what it holds,
    // and restores it on the user's word.
    let mut b = Syncer::new(DeviceId([2; 16]));
    b.backup_mut().set_secret(&SECRET, 0);
    find(&mut b, &mut relay, T0 + 10);
    let found = b.backup().found().unwrap();
    assert_eq!(
        found.categories,
        vec![(Category::Accounts, 1), (Category::AddressBook, 1)]
    );
    assert!(b.backup().view().found.is_some());
    b.restore(&me(), T0 + 11).unwrap();
    assert!(b.backup().found().is_none());
    assert_eq!(names(&b), ["Alice"]);
    assert!(b.replica().enabled(Category::AddressBook));
    assert!(b.replica().enabled(Category::Accounts));
    assert!(!b.replica().enabled(Category::Networks));
    // Its snapshots go to its own group's relay blobs.
    assert!(b.status().unsaved > 0);
    assert!(b
        .flush()
        .iter()
        .any(|o| matches!(o, tandem_sync::Out::GetBlob { name } if name.starts_with("sync/address_book/"))));
}

#[test]
fn another_secret_finds_nothing_and_restoring_without_a_find_is_refused() {
    let (mut relay, _alice) = alice_backed_up();
    let mut m = Syncer::new(DeviceId([3; 16]));
    m.backup_mut().set_secret(&[0x43; 32], 0);
    find(&mut m, &mut relay, T0);
    assert!(m.backup().found().is_none());
    let e = m.restore(&me(), T0).unwrap_err().to_string();
    assert!(e.contains("no backup was found"), "{e}");
}

#[test]
fn two_devices_of_one_phrase_in_different_groups_merge_their_backups() {
    let mut relay = Relay::default();
    let mut a = Syncer::new(DeviceId([1; 16]));
    let mut b = Syncer::new(DeviceId([2; 16]));
    for s in [&mut a, &mut b] {
        s.backup_mut().set_secret(&SECRET, 0);
        on(s, Category::AddressBook, T0);
    }
    contact(&mut a, &format!("0x{}", "ab".repeat(20)), "Alice", T0 + 1);
    write_due(&mut a, &mut relay, T0 + 2);
    contact(&mut b, &format!("0x{}", "cd".repeat(20)), "Bob", T0 + 3);
    write_due(&mut b, &mut relay, T0 + 4);
    // A writes again after B: its write is read-merge-write too.
    contact(&mut a, &format!("0x{}", "ef".repeat(20)), "Carol", T0 + 5);
    write_due(&mut a, &mut relay, T0 + 6);
    let mut c = Syncer::new(DeviceId([3; 16]));
    c.backup_mut().set_secret(&SECRET, 0);
    find(&mut c, &mut relay, T0 + 7);
    c.restore(&me(), T0 + 7).unwrap();
    assert_eq!(names(&c), ["Alice", "Bob", "Carol"]);
}

#[test]
fn a_write_that_loses_a_race_reads_merges_and_writes_above_the_winner() {
    let mut relay = Relay::default();
    let mut a = Syncer::new(DeviceId([1; 16]));
    let mut b = Syncer::new(DeviceId([2; 16]));
    for s in [&mut a, &mut b] {
        s.backup_mut().set_secret(&SECRET, 0);
        on(s, Category::AddressBook, T0);
    }
    contact(&mut a, &format!("0x{}", "ab".repeat(20)), "Alice", T0);
    contact(&mut b, &format!("0x{}", "cd".repeat(20)), "Bob", T0);
    // Both read before either writes.
    let ra = a.backup_next(RELAY).unwrap().unwrap();
    let rb = b.backup_next(RELAY).unwrap().unwrap();
    let (sa, ba) = relay.handle(&ra);
    let (sb, bb) = relay.handle(&rb);
    // Same millisecond: same counter; B's write lands first.
    let wa = a
        .backup_answer(ra.purpose, RELAY, sa, &ba, &[], T0 + 1, [1; 24])
        .unwrap();
    let wb = b
        .backup_answer(rb.purpose, RELAY, sb, &bb, &[], T0 + 1, [2; 24])
        .unwrap();
    run(&mut b, &mut relay, wb, T0 + 1);
    run(&mut a, &mut relay, wa, T0 + 1);
    assert!(a.backup_due(), "the stale write is due again");
    write_due(&mut a, &mut relay, T0 + 1);
    let mut c = Syncer::new(DeviceId([3; 16]));
    c.backup_mut().set_secret(&SECRET, 0);
    find(&mut c, &mut relay, T0 + 2);
    c.restore(&me(), T0 + 2).unwrap();
    assert_eq!(names(&c), ["Alice", "Bob"]);
}

#[test]
fn after_a_delete_nothing_is_restored_and_nothing_is_written_until_turned_on() {
    let (mut relay, mut a) = alice_backed_up();
    a.backup_mut().delete();
    write_due(&mut a, &mut relay, T0 + 1);
    assert!(!a.backup().view().on);
    assert_eq!(a.backup().view().saved_at, None);
    contact(&mut a, &format!("0x{}", "cd".repeat(20)), "Bob", T0 + 2);
    assert!(!a.backup_due(), "off: a change writes nothing");
    let mut b = Syncer::new(DeviceId([2; 16]));
    b.backup_mut().set_secret(&SECRET, 0);
    find(&mut b, &mut relay, T0 + 3);
    assert!(b.backup().found().is_none());
    // A recorded write played again is refused (its counter is below the
    // delete's); the syncer that made it is not fooled either.
    let (status, _) = relay.handle(&Request {
        purpose: Purpose::Write,
        method: "PUT",
        url: format!(
            "http://127.0.0.1:9/v1/backup/{}",
            tandem_pair::backup::BackupKeys::derive(&SECRET).id()
        ),
        body: Some(relay.seen[0].clone()),
    });
    assert_eq!(status, 409);
    a.backup_mut().turn_on();
    write_due(&mut a, &mut relay, T0 + 4);
    find(&mut b, &mut relay, T0 + 5);
    b.restore(&me(), T0 + 5).unwrap();
    assert_eq!(names(&b), ["Alice", "Bob"]);
}

#[test]
fn a_relay_that_cannot_be_reached_leaves_the_write_due_with_the_reason() {
    let mut a = Syncer::new(DeviceId([1; 16]));
    a.backup_mut().set_secret(&SECRET, 0);
    on(&mut a, Category::AddressBook, T0);
    let r = a.backup_next(RELAY).unwrap().unwrap();
    let e = a
        .backup_answer(r.purpose, RELAY, 0, "", &[], T0, [0; 24])
        .unwrap_err()
        .to_string();
    assert!(e.contains("could not be reached"), "{e}");
    assert!(a.backup_due());
    assert_eq!(
        a.backup().view().error.as_deref(),
        Some("the relay could not be reached")
    );
    // The secret never shows in the stored state's Debug.
    assert!(!format!("{a:?}").contains("4242"));
}

#[test]
fn the_url_follows_the_relay() {
    let id = tandem_pair::backup::BackupKeys::derive(&SECRET).id();
    assert_eq!(
        tandem_sync::backup::url("wss://relay.example/v1/ws", &id).unwrap(),
        format!("https://relay.example/v1/backup/{id}")
    );
    assert!(tandem_sync::backup::url("http://x/v1/ws", &id).is_err());
}

fn sign(site: &str, at: u64) -> Happened {
    Happened::Sign {
        site: site.into(),
        method: "eth_sendTransaction".into(),
        chain: 1,
        summary: format!("send {at} wei to 0x1111…1111"),
        approved: true,
        approved_on: None,
    }
}

/// A desktop (keys[0]) with sync and the backup on: five signed requests
/// in its log, and its phone's (keys[1]) unlock received as synced.
fn desktop_with_history(k: &[IdentityKey]) -> (Relay, Syncer) {
    let mut relay = Relay::default();
    let mut desk = Syncer::new(k[0].device_id());
    desk.backup_mut().set_secret(&SECRET, 0);
    on(&mut desk, Category::AddressBook, T0);
    contact(&mut desk, &format!("0x{}", "ab".repeat(20)), "Alice", T0);
    for i in 0..5 {
        desk.record(&k[0], sign(&format!("https://app{i}.example"), i), T0 + i);
    }
    let mut phone = Syncer::new(k[1].device_id());
    phone.record(&k[1], Happened::Unlock { ok: true }, T0 + 1);
    for o in phone.send_outbox() {
        if let Out::Send(bytes) = o {
            desk.message(&bytes, T0 + 2).unwrap().unwrap();
        }
    }
    write_due_known(
        &mut desk,
        &mut relay,
        T0 + 10,
        &[k[0].public(), k[1].public()],
    );
    (relay, desk)
}

/// A new browser (`me`, alone in its new group) finds and restores the
/// backup of [`SECRET`].
fn restored(relay: &mut Relay, me: &IdentityKey, now: u64) -> Syncer {
    let mut s = Syncer::new(me.device_id());
    s.backup_mut().set_secret(&SECRET, 0);
    find(&mut s, relay, now);
    s.restore(me, now).unwrap();
    s
}

/// Verdicts of `device`'s entries as `me` reads its log (its new group
/// knows only itself).
fn verdicts(s: &Syncer, me: &IdentityKey, device: DeviceId) -> Vec<(u64, Verdict)> {
    let mine = me.public();
    s.audit()
        .verify(me.device_id(), |d| (*d == mine.device_id()).then_some(mine))
        .into_iter()
        .filter(|c| c.entry.device == device)
        .map(|c| (c.entry.seq, c.verdict))
        .collect()
}

/// Verdicts of `device`'s entries as `me` reads its log, the group's keys
/// looked up with `group`.
fn chain_of(
    s: &Syncer,
    me: DeviceId,
    group: impl Fn(&DeviceId) -> Option<IdentityPublic>,
    device: DeviceId,
) -> Vec<(u64, Verdict)> {
    s.audit()
        .verify(me, group)
        .into_iter()
        .filter(|c| c.entry.device == device)
        .map(|c| (c.entry.seq, c.verdict))
        .collect()
}

fn all_ok(n: u64) -> Vec<(u64, Verdict)> {
    (1..=n).map(|s| (s, Verdict::Ok)).collect()
}

#[test]
fn the_backup_carries_every_devices_audit_log_and_a_restore_shows_it_verified() {
    let k = keys(1);
    let (mut relay, _desk) = desktop_with_history(&k);
    let mut b = Syncer::new(k[2].device_id());
    b.backup_mut().set_secret(&SECRET, 0);
    find(&mut b, &mut relay, T0 + 20);
    let found = b.backup().found().unwrap();
    assert_eq!(
        (found.entries, found.devices),
        (6, 2),
        "told before restoring"
    );
    b.restore(&k[2], T0 + 21).unwrap();
    assert_eq!(names(&b), ["Alice"]);
    // The old devices' entries, checked with the keys the backup carried:
    // the new browser's group knows neither device.
    assert_eq!(verdicts(&b, &k[2], k[0].device_id()), all_ok(5));
    assert_eq!(verdicts(&b, &k[2], k[1].device_id()), all_ok(1));
    // Its own log records the restore, signed, with what came back.
    let own: Vec<_> = b
        .audit()
        .verify(k[2].device_id(), |d| {
            (*d == k[2].device_id()).then(|| k[2].public())
        })
        .into_iter()
        .filter(|c| c.entry.device == k[2].device_id())
        .map(|c| (c.entry.happened.clone(), c.verdict))
        .collect();
    assert_eq!(
        own,
        [(
            Happened::Restored {
                entries: Some(6),
                devices: Some(2)
            },
            Verdict::Ok
        )]
    );

    // Its own backup keeps the old devices' chains with their keys: a
    // second restore (this browser lost too) still verifies all three.
    write_due_known(&mut b, &mut relay, T0 + 30, &[k[2].public()]);
    let c = restored(&mut relay, &k[3], T0 + 40);
    assert_eq!(verdicts(&c, &k[3], k[0].device_id()), all_ok(5));
    assert_eq!(verdicts(&c, &k[3], k[1].device_id()), all_ok(1));
    assert_eq!(verdicts(&c, &k[3], k[2].device_id()), all_ok(1));
}

/// Rewrites the backup as a holder of the phrase can (opened, changed,
/// sealed and signed again).
fn rewrite(relay: &mut Relay, f: impl FnOnce(&mut Contents)) {
    let keys = BackupKeys::derive(&SECRET);
    let (_, counter, data) = relay.rows.get(&keys.id()).unwrap().clone();
    let mut c = Contents::parse(&keys.open(&data.unwrap()).unwrap()).unwrap();
    f(&mut c);
    let put = keys.put(
        counter + 1,
        keys.seal(&serde_json::to_vec(&c).unwrap(), [9; 24]),
    );
    let (status, _) = relay.handle(&Request {
        purpose: Purpose::Write,
        method: "PUT",
        url: format!("http://127.0.0.1:9/v1/backup/{}", keys.id()),
        body: Some(serde_json::to_string(&put).unwrap()),
    });
    assert_eq!(status, 200);
}

#[test]
fn tampered_entries_in_a_backup_are_flagged_after_restoring_not_hidden() {
    let k = keys(2);
    let (mut relay, _desk) = desktop_with_history(&k);
    let desk = k[0].device_id();
    rewrite(&mut relay, |c| {
        let chain = c.audit.iter_mut().find(|c| c.device == desk).unwrap();
        // Entry 2's summary changed, entry 4 removed.
        if let Happened::Sign { summary, .. } = &mut chain.entries[1].happened {
            *summary = "send 0 wei to 0x1111…1111".into();
        }
        chain.entries.remove(3);
    });
    let b = restored(&mut relay, &k[2], T0 + 20);
    assert_eq!(
        verdicts(&b, &k[2], desk),
        [
            (1, Verdict::Ok),
            (2, Verdict::Altered),
            (3, Verdict::BrokenLink),
            (5, Verdict::Gap { missing: 1 }),
        ]
    );
    assert_eq!(verdicts(&b, &k[2], k[1].device_id()), all_ok(1));

    // A key swapped for another device's (so forged entries would check):
    // a key is only taken for the id it derives, so they show as from a
    // device this wallet does not know.
    rewrite(&mut relay, |c| {
        let chain = c.audit.iter_mut().find(|c| c.device == desk).unwrap();
        chain.identity = Some(k[3].public());
    });
    let c = restored(&mut relay, &k[2], T0 + 30);
    assert!(verdicts(&c, &k[2], desk)
        .iter()
        .all(|(_, v)| *v == Verdict::UnknownDevice));
}

#[test]
fn a_relay_that_edits_or_swaps_the_backup_blob_gets_it_refused() {
    let k = keys(3);
    let (mut relay, _desk) = desktop_with_history(&k);
    let id = BackupKeys::derive(&SECRET).id();
    let good = relay.rows.get(&id).unwrap().2.clone().unwrap();
    let refused = |relay: &mut Relay| {
        let mut b = Syncer::new(k[2].device_id());
        b.backup_mut().set_secret(&SECRET, 0);
        let r = b.backup_mut().find(RELAY).unwrap().unwrap();
        let (status, body) = relay.handle(&r);
        let e = b
            .backup_answer(r.purpose, RELAY, status, &body, &[], T0, [0; 24])
            .unwrap_err()
            .to_string();
        assert!(e.contains("it was damaged"), "{e}");
        assert!(b.backup().found().is_none());
        let e = b.restore(&k[2], T0).unwrap_err().to_string();
        assert!(e.contains("no backup was found"), "{e}");
        assert!(b.audit().entries().next().is_none(), "nothing restored");
    };
    // One byte of the ciphertext flipped (an entry edited in place).
    for at in [30, good.len() / 2, good.len() - 1] {
        let mut bad = good.clone();
        bad[at] ^= 1;
        relay.rows.get_mut(&id).unwrap().2 = Some(bad);
        refused(&mut relay);
    }
    // Another phrase's backup served under this id.
    let mut other = Syncer::new(k[3].device_id());
    other.backup_mut().set_secret(&[0x43; 32], 0);
    on(&mut other, Category::AddressBook, T0);
    other.record(&k[3], Happened::Unlock { ok: true }, T0);
    write_due_known(&mut other, &mut relay, T0, &[k[3].public()]);
    let theirs = relay
        .rows
        .iter()
        .find(|(i, _)| **i != id)
        .unwrap()
        .1
         .2
        .clone();
    relay.rows.get_mut(&id).unwrap().2 = theirs;
    refused(&mut relay);
    // Put back, it restores.
    relay.rows.get_mut(&id).unwrap().2 = Some(good);
    let b = restored(&mut relay, &k[2], T0 + 20);
    assert_eq!(verdicts(&b, &k[2], k[0].device_id()), all_ok(5));
}

#[test]
fn a_log_past_the_relays_limit_keeps_what_follows_each_checkpoint_then_the_newest() {
    let k = keys(4);
    // The desktop compacted: its own log starts after a checkpoint, and
    // the phone still holds the entries compacted away.
    let mut desk = Log::default();
    for i in 0..30 {
        desk.append(&k[0], sign("https://a.example", i), T0 + i);
    }
    desk.compact(&k[0], 10, T0 + 30);
    let mut phone = Log::default();
    for i in 0..30 {
        phone.append(&k[1], sign("https://b.example", i), T0 + 100 + i);
    }
    for e in desk.entries() {
        phone.receive(e.clone());
    }
    let lookup = |d: &DeviceId| {
        k.iter()
            .find(|x| x.device_id() == *d)
            .map(IdentityKey::public)
    };
    // Room for everything: the desktop's chain is what it kept itself.
    let all = phone.backed_up(lookup, usize::MAX);
    let seqs = |chains: &[tandem_sync::audit::Chain], d: DeviceId| -> Vec<u64> {
        chains
            .iter()
            .filter(|c| c.device == d)
            .flat_map(|c| c.entries.iter().map(|e| e.seq))
            .collect()
    };
    assert_eq!(seqs(&all, k[0].device_id()), (21..=31).collect::<Vec<_>>());
    assert_eq!(seqs(&all, k[1].device_id()).len(), 30);
    let mut back = Log::default();
    back.import(all);
    assert!(back
        .verify(k[2].device_id(), |_| None)
        .iter()
        .all(|c| c.verdict == Verdict::Ok));

    // Room for about 12 entries: the newest across devices (the phone's
    // are newer) are kept, and the cut shows as missing entries.
    let one = serde_json::to_vec(desk.entries().next().unwrap())
        .unwrap()
        .len();
    let some = phone.backed_up(lookup, 12 * (one + 1) + 2 * 200);
    assert!(seqs(&some, k[0].device_id()).is_empty());
    let kept = seqs(&some, k[1].device_id());
    assert!((8..=12).contains(&kept.len()), "{kept:?}");
    assert_eq!(*kept.last().unwrap(), 30);
    let mut back = Log::default();
    back.import(some);
    let v: Vec<Verdict> = back
        .verify(k[2].device_id(), |_| None)
        .into_iter()
        .map(|c| c.verdict)
        .collect();
    assert_eq!(
        v[0],
        Verdict::Gap {
            missing: kept[0] - 1
        }
    );
    assert!(v[1..].iter().all(|v| *v == Verdict::Ok));
}

#[test]
fn a_full_wallet_fits_the_relays_limit_with_the_newest_history() {
    // 1,000 address-book entries and three devices at their log's bound.
    let k = keys(5);
    let mut relay = Relay::default();
    let mut desk = Syncer::new(k[0].device_id());
    desk.backup_mut().set_secret(&SECRET, 0);
    on(&mut desk, Category::AddressBook, T0);
    for i in 0..1_000u64 {
        contact(
            &mut desk,
            &format!("0x{i:040x}"),
            &format!("Contact {i}"),
            T0 + i,
        );
    }
    for (n, key) in k[..3].iter().enumerate() {
        let mut s = Syncer::new(key.device_id());
        for i in 0..BACKUP_PER_DEVICE as u64 {
            s.record(key, sign(&format!("https://site{n}.example"), i), T0 + i);
        }
        for o in s.send_outbox() {
            if let Out::Send(bytes) = o {
                desk.message(&bytes, T0).unwrap().unwrap();
            }
        }
    }
    let known: Vec<_> = k[..3].iter().map(IdentityKey::public).collect();
    write_due_known(&mut desk, &mut relay, T0 + 10_000, &known);
    let stored = relay.rows.values().next().unwrap().2.clone().unwrap();
    assert!(stored.len() <= tandem_pair::backup::MAX_BACKUP_BYTES);
    let b = restored(&mut relay, &k[3], T0 + 20_000);
    assert_eq!(names(&b).len(), 1_000);
    let checked = b.audit().verify(k[3].device_id(), |_| None);
    let restored_entries = checked.len() - 1;
    assert!(restored_entries > 1_000, "{restored_entries}");
    eprintln!(
        "1,000 records and {restored_entries} of {} entries in {} bytes",
        desk.audit().entries().count(),
        stored.len()
    );
    // Each device's newest entry is there; what was cut is shown missing.
    for key in &k[..3] {
        let v = verdicts(&b, &k[3], key.device_id());
        let newest = desk
            .audit()
            .entries()
            .filter(|e| e.device == key.device_id())
            .map(|e| e.seq)
            .max();
        assert_eq!(Some(v.last().unwrap().0), newest);
        assert!(matches!(v[0].1, Verdict::Gap { .. } | Verdict::Ok));
        assert!(v[1..].iter().all(|(_, v)| *v == Verdict::Ok));
    }
}

const DAY: u64 = 24 * 60 * 60 * 1000;

fn contact_at(s: &Syncer, addr: &str) -> tandem_sync::Op {
    s.replica()
        .ops()
        .find(|op| op.field == Field::record(Category::AddressBook, addr))
        .unwrap()
        .clone()
}

/// Issue 12: a backup written on a clock days ahead restored nothing (its
/// changes waited for the clock, silently). Now the summary says so and
/// the restore takes them as made now: shown at once, this browser's clock
/// stays on time, its group applies them without waiting, and an edit made
/// after the restore is not lost in the next backup to the older change
/// dated ahead.
#[test]
fn a_backup_written_on_a_clock_days_ahead_restores_at_once_and_says_so() {
    let alice = format!("0x{}", "ab".repeat(20));
    let mut relay = Relay {
        now_s: T0 / 1000,
        ..Relay::default()
    };
    // The old browser's clock ran three days ahead.
    let ahead = T0 + 3 * DAY;
    let mut a = Syncer::new(DeviceId([1; 16]));
    a.backup_mut().set_secret(&SECRET, 0);
    on(&mut a, Category::AddressBook, ahead);
    contact(&mut a, &alice, "Alice", ahead + 1);
    write_due(&mut a, &mut relay, ahead + 2);

    let mut b = Syncer::new(DeviceId([2; 16]));
    b.backup_mut().set_secret(&SECRET, 0);
    find(&mut b, &mut relay, T0 + 10);
    let found = b.backup().found().unwrap();
    assert_eq!(found.categories, vec![(Category::AddressBook, 1)]);
    assert_eq!((found.ahead, found.ahead_ms), (2, 3 * DAY + 1));
    b.restore(&me(), T0 + 11).unwrap();
    assert_eq!(names(&b), ["Alice"], "shown at once");
    assert!(b.replica().enabled(Category::AddressBook));
    assert_eq!(b.status().held, 0, "nothing waits for the clock");
    let op = contact_at(&b, &alice);
    assert_eq!((op.stamp.ms, op.stamp.device), (T0 + 11, DeviceId([2; 16])));

    // Its group (a device paired later) applies them without waiting.
    let mut c = Syncer::new(DeviceId([3; 16]));
    for o in b.flush() {
        if let Out::Send(bytes) = o {
            c.message(&bytes, T0 + 12).unwrap().unwrap();
        }
    }
    assert_eq!((names(&c), c.status().held), (vec!["Alice".into()], 0));

    // An edit here wins in the backup over the change dated ahead.
    contact(&mut b, &alice, "Alicia", T0 + 20);
    write_due(&mut b, &mut relay, T0 + 21);
    let d = restored(&mut relay, &keys(98)[0], T0 + 30);
    assert_eq!(names(&d), ["Alicia"]);
}

/// A clock years ahead (or a stamp at the end of time) is restored the
/// same way: nothing is bounded by how far ahead it was, since every
/// change is dated again at the restore; the summary says how far.
#[test]
fn a_backup_dated_years_ahead_or_at_the_end_of_time_restores_as_made_now() {
    let (alice, bob) = (
        format!("0x{}", "ab".repeat(20)),
        format!("0x{}", "cd".repeat(20)),
    );
    let mut relay = Relay {
        now_s: T0 / 1000,
        ..Relay::default()
    };
    let years = T0 + 40 * 365 * DAY;
    let mut a = Syncer::new(DeviceId([1; 16]));
    a.backup_mut().set_secret(&SECRET, 0);
    on(&mut a, Category::AddressBook, years);
    contact(&mut a, &alice, "Alice", years);
    contact(&mut a, &bob, "Bob", years);
    write_due(&mut a, &mut relay, years);
    rewrite(&mut relay, |c| {
        let op = c.snapshots[0]
            .ops
            .iter_mut()
            .find(|op| op.field == Field::record(Category::AddressBook, &bob))
            .unwrap();
        op.stamp.ms = u64::MAX;
        op.stamp.n = u32::MAX;
    });

    let mut b = Syncer::new(DeviceId([2; 16]));
    b.backup_mut().set_secret(&SECRET, 0);
    find(&mut b, &mut relay, T0);
    let found = b.backup().found().unwrap();
    assert_eq!((found.ahead, found.ahead_ms), (3, u64::MAX - T0));
    b.restore(&me(), T0).unwrap();
    assert_eq!(names(&b), ["Alice", "Bob"]);
    assert_eq!(b.status().held, 0);
    assert!(b.replica().ops().all(|op| op.stamp.ms == T0));
    // This browser's clock was not dragged along: its next change is dated
    // now, and it wins over the restored one.
    contact(&mut b, &bob, "Robert", T0 + 1);
    assert_eq!(contact_at(&b, &bob).stamp.ms, T0 + 1);
    assert_eq!(names(&b), ["Alice", "Robert"]);
}

/// Issue 12: a device paired after a restore asked for the chains and got
/// only those of the group's devices; the old devices' chains, restored
/// from the backup, stayed on the browser that restored them. Now that
/// browser sends them with its signed list of their keys, and the new
/// device checks them as any chain; a group member cannot slip a forged
/// old chain or a forged list in.
#[test]
fn a_device_paired_after_a_restore_gets_the_old_chains_and_refuses_forged_ones() {
    use tandem_sync::audit::VOUCH_DOMAIN;
    let k = keys(5);
    let (mut relay, _desk) = desktop_with_history(&k);
    // k[2] restores (its new group: itself); k[3] pairs later; `mallory`
    // is a member of the new group too.
    let mut r = restored(&mut relay, &k[2], T0 + 20);
    let mallory = keys(6).remove(0);
    let group = [k[2].public(), k[3].public(), mallory.public()];
    let lookup = |d: &DeviceId| group.iter().find(|p| p.device_id() == *d).copied();
    let mut p = Syncer::new(k[3].device_id());
    p.ask_logs();
    p.record(&k[3], Happened::Unlock { ok: true }, T0 + 30);
    let mut answer = Vec::new();
    for m in sends(p.flush()) {
        answer.extend(sends(r.message(&m, T0 + 31).unwrap().unwrap()));
    }
    for m in &answer {
        p.message(m, T0 + 32).unwrap().unwrap();
    }
    let seen = |p: &Syncer, d: DeviceId| chain_of(p, k[3].device_id(), lookup, d);
    assert_eq!(seen(&p, k[0].device_id()), all_ok(5));
    assert_eq!(seen(&p, k[1].device_id()), all_ok(1));
    assert_eq!(seen(&p, k[2].device_id()), all_ok(1), "the restore entry");

    // Mallory alters an old entry and sends it as the next one.
    let mut forged = p
        .audit()
        .entries()
        .find(|e| e.device == k[0].device_id() && e.seq == 5)
        .unwrap()
        .clone();
    forged.seq = 6;
    forged.prev = forged.hash();
    forged.happened = sign("https://evil.example", 6);
    let entries = |e: Vec<tandem_sync::audit::Entry>| {
        serde_json::to_vec(&serde_json::json!({"type": "audit_entries", "entries": e})).unwrap()
    };
    p.message(&entries(vec![forged]), T0 + 40).unwrap().unwrap();
    let mut want = all_ok(5);
    want.push((6, Verdict::Altered));
    assert_eq!(seen(&p, k[0].device_id()), want);

    // An invented old device: its chain, and its key in a list said to be
    // the restoring browser's (signed by Mallory), or signed by itself
    // (not a member: as a relay would, if it could send at all).
    let fake = keys(7).remove(0);
    let mut fake_log = Log::default();
    let fake_entry = fake_log.append(&fake, sign("https://fake.example", 1), T0);
    p.message(&entries(vec![fake_entry]), T0 + 41)
        .unwrap()
        .unwrap();
    for (by, signer) in [(k[2].device_id(), &mallory), (fake.device_id(), &fake)] {
        let signed =
            serde_json::to_vec(&serde_json::json!(["audit_keys", by, [fake.public()]])).unwrap();
        let sig = signer.sign_app(VOUCH_DOMAIN, &signed);
        let vouch = serde_json::json!(["audit_keys", by, [fake.public()], sig]);
        p.message(&serde_json::to_vec(&vouch).unwrap(), T0 + 42)
            .unwrap()
            .unwrap();
    }
    assert_eq!(
        seen(&p, fake.device_id()),
        [(1, Verdict::UnknownDevice)],
        "no member vouched for it"
    );
    assert_eq!(seen(&p, k[0].device_id()).len(), 6, "the old chain stays");

    // What an export lists for checking elsewhere: the old devices' keys
    // and where they come from, never the invented one (its vouches do not
    // verify), never a member's (the group's key).
    let outside = |s: &Syncer| {
        let mut v: Vec<(DeviceId, &str)> = s
            .audit()
            .outside_keys(&lookup)
            .into_iter()
            .map(|(d, key, how)| {
                assert_eq!(key.device_id(), d);
                (d, how)
            })
            .collect();
        v.sort();
        v
    };
    let mut old = [k[0].device_id(), k[1].device_id()];
    old.sort();
    assert_eq!(
        outside(&p),
        old.iter().map(|d| (*d, "vouched")).collect::<Vec<_>>()
    );
    assert_eq!(
        outside(&r),
        old.iter().map(|d| (*d, "restored")).collect::<Vec<_>>()
    );
}

/// The new device's request for the chains can go out before it is a
/// member (and be dropped, as the e2e restore test found with a CLI
/// device): the device that approved it sends its own chain and the
/// restored ones when the pairing completes, unasked.
#[test]
fn the_device_that_approves_a_new_one_sends_it_the_restored_chains_unasked() {
    let k = keys(4);
    let (mut relay, _desk) = desktop_with_history(&k);
    let mut r = restored(&mut relay, &k[2], T0 + 20);
    let group = [k[2].public(), k[3].public()];
    let lookup = |d: &DeviceId| group.iter().find(|p| p.device_id() == *d).copied();
    // Its request lost: the new device never asks here.
    let mut p = Syncer::new(k[3].device_id());
    // What the restore queued went out already (to a group of one).
    sends(r.send_outbox());
    assert!(
        sends(r.send_outbox()).is_empty(),
        "nothing more goes unasked"
    );
    r.member_joined();
    let sent = sends(r.send_outbox());
    assert!(!sent.is_empty());
    for m in &sent {
        p.message(m, T0 + 32).unwrap().unwrap();
    }
    let seen = |d: DeviceId| chain_of(&p, k[3].device_id(), lookup, d);
    assert_eq!(seen(k[0].device_id()), all_ok(5));
    assert_eq!(seen(k[1].device_id()), all_ok(1));
    assert_eq!(seen(k[2].device_id()), all_ok(1), "the restore entry");
}

/// `n` contacts with long notes, from address 1 on.
fn contacts(s: &mut Syncer, n: u32, now: u64) {
    let note = "n".repeat(250);
    for i in 1..=n {
        s.edit(
            Field::record(Category::AddressBook, format!("0x{i:040x}")),
            Some(Value::Contact(tandem_sync::Contact {
                name: format!("Contact {i}"),
                note: note.clone(),
            })),
            now,
        )
        .unwrap();
    }
}

#[test]
fn a_backup_larger_than_the_relay_takes_is_not_sent_and_says_what_to_do() {
    let mut relay = Relay::default();
    let mut a = Syncer::new(DeviceId([1; 16]));
    a.backup_mut().set_secret(&SECRET, 0);
    on(&mut a, Category::AddressBook, T0);
    on(&mut a, Category::Networks, T0);
    contacts(&mut a, 3_500, T0);
    let read = a.backup_next(RELAY).unwrap().unwrap();
    assert_eq!(read.purpose, Purpose::Read);
    let (status, body) = relay.handle(&read);
    let e = a
        .backup_answer(read.purpose, RELAY, status, &body, &[], T0, [1; 24])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Not backed up: your synced data takes")
            && e.contains("more than the 1024 KiB a backup can hold")
            && e.contains("The largest part is address book"),
        "{e}"
    );
    // Nothing was sent: the relay still has no backup; the Sync screen
    // says why; no retry (each would read the backup again) until a change.
    assert_eq!(relay.handle(&read).0, 404);
    assert!(!a.backup_due());
    let shown = a.backup().view().error.unwrap();
    assert!(e.contains(&shown), "{shown} / {e}");
    // The user stops syncing the address book: the rest is backed up.
    a.edit(
        Field::Enabled {
            category: Category::AddressBook,
        },
        Some(Value::Enabled(false)),
        T0 + 1,
    )
    .unwrap();
    assert!(a.backup_due());
    write_due(&mut a, &mut relay, T0 + 1);
    assert_eq!(a.backup().view().error, None);
    assert_eq!(relay.handle(&read).0, 200);
}
