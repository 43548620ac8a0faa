#![allow(clippy::unwrap_used)]
//! The backup under the recovery phrase's keys, driven through its
//! requests against a scripted relay that keeps the relay's rules (the key
//! a first write registers, counters that must grow, signatures checked
//! with `tandem_pair::backup`): a device writes after changes, a fresh
//! device with the same secret finds it, sees what it holds and restores
//! it; two devices of the same phrase in different groups merge instead of
//! overwriting; a delete leaves nothing to restore.

use std::collections::HashMap;

use tandem_pair::backup::{BackupId, BackupPublic, DeleteBackup, PutBackup, StoredBackup};
use tandem_pair::DeviceId;
use tandem_sync::backup::{Purpose, Request};
use tandem_sync::{Account, Category, Contact, Field, Syncer, Value};

const RELAY: &str = "ws://127.0.0.1:9/v1/ws";
const SECRET: [u8; 32] = [0x42; 32];
const T0: u64 = 1_800_000_000_000;

/// The relay's backup rules, in memory.
#[derive(Default)]
struct Relay {
    rows: HashMap<BackupId, (BackupPublic, u64, Option<Vec<u8>>)>,
    /// Every write body seen (for the replay test).
    seen: Vec<String>,
}

impl Relay {
    fn handle(&mut self, r: &Request) -> (u16, String) {
        let id = BackupId::from_hex(r.url.rsplit('/').next().unwrap()).unwrap();
        assert_eq!(r.url, format!("http://127.0.0.1:9/v1/backup/{id}"));
        let refuse = |status: u16, counter: Option<u64>| {
            (
                status,
                serde_json::json!({"error": "x", "message": "refused", "counter": counter})
                    .to_string(),
            )
        };
        match r.method {
            "GET" => match self.rows.get(&id) {
                Some((_, counter, data)) => (
                    200,
                    serde_json::to_string(&StoredBackup {
                        counter: *counter,
                        data: data.clone().map(tandem_pair::Bytes),
                        updated_at: 5,
                    })
                    .unwrap(),
                ),
                None => refuse(404, None),
            },
            "PUT" => {
                let body = r.body.clone().unwrap();
                self.seen.push(body.clone());
                let put: PutBackup = serde_json::from_str(&body).unwrap();
                if put.verify(&id).is_err() {
                    return refuse(403, None);
                }
                if let Some((key, counter, _)) = self.rows.get(&id) {
                    if *key != put.key {
                        return refuse(403, None);
                    }
                    if put.counter <= *counter {
                        return refuse(409, Some(*counter));
                    }
                }
                self.rows
                    .insert(id, (put.key, put.counter, Some(put.data.0)));
                (
                    200,
                    format!(r#"{{"counter":{},"updated_at":6}}"#, put.counter),
                )
            }
            "DELETE" => {
                let del: DeleteBackup = serde_json::from_str(r.body.as_ref().unwrap()).unwrap();
                let Some((key, counter, data)) = self.rows.get_mut(&id) else {
                    return refuse(404, None);
                };
                if del.verify(&id, key).is_err() {
                    return refuse(403, None);
                }
                if del.counter <= *counter {
                    return refuse(409, Some(*counter));
                }
                *counter = del.counter;
                *data = None;
                (
                    200,
                    format!(r#"{{"counter":{},"updated_at":7}}"#, del.counter),
                )
            }
            m => panic!("unexpected method {m}"),
        }
    }
}

/// Runs what the syncer asks for until it asks for nothing.
fn run(s: &mut Syncer, relay: &mut Relay, first: Option<Request>, now: u64) {
    let mut req = first;
    let mut steps = 0;
    while let Some(r) = req {
        steps += 1;
        assert!(steps < 10, "the backup requests do not end");
        let (status, body) = relay.handle(&r);
        req = s
            .backup_answer(r.purpose, RELAY, status, &body, now, [steps as u8; 24])
            .unwrap();
    }
}

fn write_due(s: &mut Syncer, relay: &mut Relay, now: u64) {
    while s.backup_due() {
        let first = s.backup_next(RELAY).unwrap();
        run(s, relay, first, now);
    }
}

fn on(s: &mut Syncer, c: Category, now: u64) {
    s.edit(
        Field::Enabled { category: c },
        Some(Value::Enabled(true)),
        now,
    )
    .unwrap();
}

fn contact(s: &mut Syncer, addr: &str, name: &str, now: u64) {
    s.edit(
        Field::record(Category::AddressBook, addr),
        Some(Value::Contact(Contact {
            name: name.into(),
            note: String::new(),
        })),
        now,
    )
    .unwrap();
}

fn names(s: &Syncer) -> Vec<String> {
    let mut v: Vec<String> = s
        .replica()
        .records(Category::AddressBook)
        .map(|(_, v, _)| match v {
            Value::Contact(c) => c.name.clone(),
            _ => unreachable!(),
        })
        .collect();
    v.sort();
    v
}

fn find(s: &mut Syncer, relay: &mut Relay, now: u64) {
    let first = s.backup_mut().find(RELAY).unwrap();
    assert_eq!(first.as_ref().unwrap().purpose, Purpose::Find);
    run(s, relay, first, now);
}

/// Device 1 syncs its address book with Alice in it, backed up.
fn alice_backed_up() -> (Relay, Syncer) {
    let mut relay = Relay::default();
    let mut a = Syncer::new(DeviceId([1; 16]));
    a.backup_mut().set_secret(&SECRET);
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
    a.backup_mut().set_secret(&SECRET);
    assert!(!a.backup_due(), "nothing syncs: nothing to back up");
    a.backup_mut().set_secret(&SECRET);
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
    b.backup_mut().set_secret(&SECRET);
    find(&mut b, &mut relay, T0 + 10);
    let found = b.backup().found().unwrap();
    assert_eq!(
        found.categories,
        vec![(Category::Accounts, 1), (Category::AddressBook, 1)]
    );
    assert!(b.backup().view().found.is_some());
    b.restore(T0 + 11).unwrap();
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
    m.backup_mut().set_secret(&[0x43; 32]);
    find(&mut m, &mut relay, T0);
    assert!(m.backup().found().is_none());
    let e = m.restore(T0).unwrap_err().to_string();
    assert!(e.contains("no backup was found"), "{e}");
}

#[test]
fn two_devices_of_one_phrase_in_different_groups_merge_their_backups() {
    let mut relay = Relay::default();
    let mut a = Syncer::new(DeviceId([1; 16]));
    let mut b = Syncer::new(DeviceId([2; 16]));
    for s in [&mut a, &mut b] {
        s.backup_mut().set_secret(&SECRET);
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
    c.backup_mut().set_secret(&SECRET);
    find(&mut c, &mut relay, T0 + 7);
    c.restore(T0 + 7).unwrap();
    assert_eq!(names(&c), ["Alice", "Bob", "Carol"]);
}

#[test]
fn a_write_that_loses_a_race_reads_merges_and_writes_above_the_winner() {
    let mut relay = Relay::default();
    let mut a = Syncer::new(DeviceId([1; 16]));
    let mut b = Syncer::new(DeviceId([2; 16]));
    for s in [&mut a, &mut b] {
        s.backup_mut().set_secret(&SECRET);
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
        .backup_answer(ra.purpose, RELAY, sa, &ba, T0 + 1, [1; 24])
        .unwrap();
    let wb = b
        .backup_answer(rb.purpose, RELAY, sb, &bb, T0 + 1, [2; 24])
        .unwrap();
    run(&mut b, &mut relay, wb, T0 + 1);
    run(&mut a, &mut relay, wa, T0 + 1);
    assert!(a.backup_due(), "the stale write is due again");
    write_due(&mut a, &mut relay, T0 + 1);
    let mut c = Syncer::new(DeviceId([3; 16]));
    c.backup_mut().set_secret(&SECRET);
    find(&mut c, &mut relay, T0 + 2);
    c.restore(T0 + 2).unwrap();
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
    b.backup_mut().set_secret(&SECRET);
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
    b.restore(T0 + 5).unwrap();
    assert_eq!(names(&b), ["Alice", "Bob"]);
}

#[test]
fn a_relay_that_cannot_be_reached_leaves_the_write_due_with_the_reason() {
    let mut a = Syncer::new(DeviceId([1; 16]));
    a.backup_mut().set_secret(&SECRET);
    on(&mut a, Category::AddressBook, T0);
    let r = a.backup_next(RELAY).unwrap().unwrap();
    let e = a
        .backup_answer(r.purpose, RELAY, 0, "", T0, [0; 24])
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
