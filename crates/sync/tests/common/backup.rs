//! The relay's backup rules in memory, and the steps of driving a
//! syncer's backup requests against it (the backup and generation tests).

use std::collections::HashMap;

use rand_chacha::rand_core::SeedableRng;
use tandem_pair::backup::{BackupId, BackupPublic, DeleteBackup, PutBackup, StoredBackup};
use tandem_pair::{IdentityKey, IdentityPublic};
use tandem_sync::backup::{Purpose, Request};
use tandem_sync::{Category, Contact, Field, Syncer, Value};

pub const RELAY: &str = "ws://127.0.0.1:9/v1/ws";
pub const SECRET: [u8; 32] = [0x42; 32];
pub const T0: u64 = 1_800_000_000_000;

/// The relay's backup rules, in memory.
#[derive(Default)]
pub struct Relay {
    pub rows: HashMap<BackupId, (BackupPublic, u64, Option<Vec<u8>>)>,
    /// Every write body seen (for the replay test).
    pub seen: Vec<String>,
    /// The relay's clock (s) for `updated_at` (0: 5, an arbitrary time).
    pub now_s: u64,
}

impl Relay {
    pub fn handle(&mut self, r: &Request) -> (u16, String) {
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
                        updated_at: self.now_s.max(5),
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
pub fn run(s: &mut Syncer, relay: &mut Relay, first: Option<Request>, now: u64) {
    run_known(s, relay, first, now, &[]);
}

/// [`run`] for a device whose group holds `known`.
pub fn run_known(
    s: &mut Syncer,
    relay: &mut Relay,
    first: Option<Request>,
    now: u64,
    known: &[IdentityPublic],
) {
    let mut req = first;
    let mut steps = 0;
    while let Some(r) = req {
        steps += 1;
        assert!(steps < 10, "the backup requests do not end");
        let (status, body) = relay.handle(&r);
        req = s
            .backup_answer(
                r.purpose,
                RELAY,
                status,
                &body,
                known,
                now,
                [steps as u8; 24],
            )
            .unwrap();
    }
}

pub fn write_due(s: &mut Syncer, relay: &mut Relay, now: u64) {
    write_due_known(s, relay, now, &[]);
}

pub fn write_due_known(s: &mut Syncer, relay: &mut Relay, now: u64, known: &[IdentityPublic]) {
    while s.backup_due() {
        let first = s.backup_next(RELAY).unwrap();
        run_known(s, relay, first, now, known);
    }
}

/// Identity keys (seeded: the same in every run).
pub fn keys(n: u64) -> Vec<IdentityKey> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(n);
    (0..4).map(|_| IdentityKey::generate(&mut rng)).collect()
}

/// The identity of a device that restores.
pub fn me() -> IdentityKey {
    keys(99).remove(0)
}

pub fn on(s: &mut Syncer, c: Category, now: u64) {
    s.edit(
        Field::Enabled { category: c },
        Some(Value::Enabled(true)),
        now,
    )
    .unwrap();
}

pub fn contact(s: &mut Syncer, addr: &str, name: &str, now: u64) {
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

pub fn names(s: &Syncer) -> Vec<String> {
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

pub fn find(s: &mut Syncer, relay: &mut Relay, now: u64) {
    let first = s.backup_mut().find(RELAY).unwrap();
    assert_eq!(first.as_ref().unwrap().purpose, Purpose::Find);
    run(s, relay, first, now);
}
