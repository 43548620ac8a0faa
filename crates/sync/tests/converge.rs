//! Three devices edit, send and merge in random schedules (reordered,
//! duplicated, partitioned, clocks up to ten minutes apart, categories
//! turned on and off): once every op reached every device, all three hold
//! the same state, and it is the one the ops' stamps say it should be.
//!
//! The schedule generator's seed is printed; replay a failure with
//! `TANDEM_SEED=<hex> cargo test -p tandem-sync --test converge`.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use tandem_pair::DeviceId;
use tandem_sync::{
    Category, Contact, Field, Network, Op, Received, Replica, Snapshot, Token, Value, MAX_AHEAD_MS,
};

const DEVICES: [DeviceId; 3] = [
    DeviceId([0xa; 16]),
    DeviceId([0xb; 16]),
    DeviceId([0xc; 16]),
];
const T0: u64 = 1_800_000_000_000;

fn fields() -> Vec<Field> {
    vec![
        Field::record(Category::Tokens, format!("1:0x{}", "aa".repeat(20))),
        Field::record(Category::Tokens, format!("137:0x{}", "bb".repeat(20))),
        Field::record(Category::Networks, "10"),
        Field::record(Category::AddressBook, format!("0x{}", "cc".repeat(20))),
        Field::Enabled {
            category: Category::Tokens,
        },
        Field::Enabled {
            category: Category::Networks,
        },
        Field::Enabled {
            category: Category::AddressBook,
        },
    ]
}

/// A value for `field` chosen by `pick` (0: removed, for records).
fn value(field: &Field, pick: u8) -> Option<Value> {
    let n = pick % 4;
    match field {
        Field::Enabled { .. } => Some(Value::Enabled(n % 2 == 1)),
        Field::Record { .. } if n == 0 => None,
        Field::Record { category, .. } => Some(match category {
            Category::Tokens => Value::Token(Token {
                symbol: format!("T{n}"),
                name: "Token".into(),
                decimals: 6 + n,
                hidden: n == 3,
            }),
            Category::Networks => Value::Network(Network {
                name: "Optimism".into(),
                rpc: format!("https://rpc{n}.example"),
                currency: "ETH".into(),
                decimals: 18,
                explorer: None,
            }),
            _ => Value::Contact(Contact {
                name: format!("Friend {n}"),
                note: String::new(),
            }),
        }),
    }
}

#[derive(Clone, Debug)]
enum Step {
    /// Time passes, then a device changes a field.
    Edit {
        dev: usize,
        field: usize,
        pick: u8,
        wait_ms: u64,
    },
    /// A device hands what it queued to the relay.
    Flush { dev: usize },
    /// The relay delivers the `nth` op ever sent (any sender) to a device,
    /// again or out of order.
    Deliver { nth: usize, to: usize },
    /// A device merges another's snapshot of a category.
    Snapshot {
        from: usize,
        to: usize,
        field: usize,
    },
    /// A device checks for parked ops that are due.
    Tick { dev: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..3usize, 0..7usize, any::<u8>(), 0..120_000u64)
            .prop_map(|(dev, field, pick, wait_ms)| Step::Edit { dev, field, pick, wait_ms }),
        2 => (0..3usize).prop_map(|dev| Step::Flush { dev }),
        4 => (0..64usize, 0..3usize).prop_map(|(nth, to)| Step::Deliver { nth, to }),
        1 => (0..3usize, 0..3usize, 0..7usize)
            .prop_map(|(from, to, field)| Step::Snapshot { from, to, field }),
        1 => (0..3usize).prop_map(|dev| Step::Tick { dev }),
    ]
}

struct World {
    replicas: Vec<Replica>,
    skew: [i64; 3],
    now: u64,
    /// Every op any device handed to the relay, in order.
    wire: Vec<Op>,
    /// Every op any device made, for the oracle.
    made: Vec<Op>,
}

impl World {
    fn new(skew: [i64; 3]) -> Self {
        Self {
            replicas: DEVICES.iter().map(|d| Replica::new(*d)).collect(),
            skew,
            now: T0,
            wire: Vec::new(),
            made: Vec::new(),
        }
    }

    fn local(&self, dev: usize) -> u64 {
        self.now.saturating_add_signed(self.skew[dev])
    }

    fn flush(&mut self, dev: usize) {
        let out = self.replicas[dev].outbox().to_vec();
        self.replicas[dev].sent(out.len());
        self.wire.extend(out);
    }

    fn run(&mut self, step: &Step) {
        let fields = fields();
        match *step {
            Step::Edit {
                dev,
                field,
                pick,
                wait_ms,
            } => {
                self.now += wait_ms;
                let f = fields[field].clone();
                let local = self.local(dev);
                let op = self.replicas[dev]
                    .edit(f.clone(), value(&f, pick), local)
                    .expect("generated edits are valid");
                self.made.push(op);
            }
            Step::Flush { dev } => self.flush(dev),
            Step::Deliver { nth, to } => {
                if let Some(op) = self.wire.get(nth).cloned() {
                    let local = self.local(to);
                    self.replicas[to].receive(op, local).expect("valid op");
                }
            }
            Step::Snapshot { from, to, field } => {
                let category = fields[field].category();
                let snap = self.replicas[from].snapshot(category);
                let local = self.local(to);
                self.replicas[to]
                    .absorb(snap, local)
                    .expect("valid snapshot");
            }
            Step::Tick { dev } => {
                let local = self.local(dev);
                self.replicas[dev].tick(local);
            }
        }
    }

    /// The partition heals and time passes: everything reaches everyone.
    fn settle(&mut self) {
        // Skews are within ±10 minutes: 40 minutes on, every clock is past
        // every stamp.
        self.now += 40 * 60 * 1000;
        let mut delivered = 0;
        loop {
            for dev in 0..3 {
                let local = self.local(dev);
                self.replicas[dev].tick(local);
                self.flush(dev);
            }
            if delivered == self.wire.len() {
                break;
            }
            let fresh = self.wire[delivered..].to_vec();
            delivered = self.wire.len();
            for dev in 0..3 {
                for op in &fresh {
                    let local = self.local(dev);
                    self.replicas[dev]
                        .receive(op.clone(), local)
                        .expect("valid op");
                }
            }
        }
    }
}

/// What a device holds of the categories that sync, and every switch.
fn synced(r: &Replica) -> Vec<Op> {
    r.ops()
        .filter(|op| matches!(op.field, Field::Enabled { .. }) || r.enabled(op.field.category()))
        .cloned()
        .collect()
}

fn check(skew: [i64; 3], steps: &[Step]) -> Result<(), TestCaseError> {
    let mut w = World::new(skew);
    for s in steps {
        w.run(s);
    }
    w.settle();
    let first = synced(&w.replicas[0]);
    for r in &w.replicas[1..] {
        prop_assert_eq!(&synced(r), &first);
        for c in Category::ALL {
            prop_assert_eq!(r.enabled(c), w.replicas[0].enabled(c));
        }
        prop_assert_eq!(r.status().held, 0);
        prop_assert_eq!(r.status().to_send, 0);
    }
    // The oracle: each synced field holds the op with the greatest stamp
    // among all ops ever made for it.
    let mut latest: BTreeMap<Field, Op> = BTreeMap::new();
    for op in &w.made {
        let keep = latest.get(&op.field).is_none_or(|o| op.stamp > o.stamp);
        if keep {
            latest.insert(op.field.clone(), op.clone());
        }
    }
    for op in &first {
        prop_assert_eq!(Some(op), latest.get(&op.field));
    }
    for (field, op) in &latest {
        let on = matches!(field, Field::Enabled { .. }) || w.replicas[0].enabled(field.category());
        if on {
            prop_assert!(first.contains(op), "{:?} missing", field);
        }
    }
    // A category's ops read by themselves (its range of the fields) are
    // those of the whole walk.
    for r in &w.replicas {
        for c in Category::ALL {
            let whole: Vec<&Op> = r.ops().filter(|op| op.field.category() == c).collect();
            let own: Vec<&Op> = r.category_ops(c).collect();
            prop_assert_eq!(own, whole);
        }
    }
    // And a device that stores and reloads its copy loses nothing.
    for r in &w.replicas {
        let text = serde_json::to_string(r).expect("serializes");
        let back: Replica = serde_json::from_str(&text).expect("reloads");
        prop_assert_eq!(&back, r);
    }
    Ok(())
}

fn seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    match std::env::var("TANDEM_SEED") {
        Ok(hex) => {
            for (i, b) in seed.iter_mut().enumerate() {
                *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2).expect("64 hex digits"), 16)
                    .expect("hex");
            }
        }
        Err(_) => {
            use std::hash::{BuildHasher, Hasher};
            for chunk in seed.chunks_mut(8) {
                let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                h.write_u64(T0);
                chunk.copy_from_slice(&h.finish().to_le_bytes());
            }
        }
    }
    let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    eprintln!("converge: seed {hex} (replay with TANDEM_SEED={hex})");
    seed
}

#[test]
fn three_devices_converge_whatever_the_schedule() {
    let mut runner = TestRunner::new_with_rng(
        Config::with_cases(300),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed()),
    );
    let skew = -600_000i64..=600_000;
    runner
        .run(
            &(
                [skew.clone(), skew.clone(), skew],
                prop::collection::vec(step(), 0..80),
            ),
            |(skew, steps)| check(skew, &steps),
        )
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn merging_is_commutative_associative_and_idempotent() {
    // Ops from three devices, including two with the same stamp and
    // different values (a misbehaving device): any order, any number of
    // copies, ends in the same state.
    let mut runner = TestRunner::new_with_rng(
        Config::with_cases(200),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed()),
    );
    let op = (0..4usize, any::<u8>(), 0..3usize, 0..5u64, 0..2u32).prop_map(
        |(field, pick, dev, ms, n)| {
            let f = fields()[field].clone();
            Op {
                value: value(&f, pick),
                field: f,
                stamp: tandem_sync::Stamp {
                    ms: T0 + ms,
                    n,
                    device: DEVICES[dev],
                },
            }
        },
    );
    runner
        .run(
            &prop::collection::vec(op, 1..30).prop_flat_map(|ops| {
                let n = ops.len();
                (
                    Just(ops),
                    prop::collection::vec(0..n, 0..2 * n),
                    Just(()).prop_perturb(move |(), mut rng| {
                        let mut order: Vec<usize> = (0..n).collect();
                        for i in (1..n).rev() {
                            order.swap(i, rng.random_range(0..=i));
                        }
                        order
                    }),
                )
            }),
            |(ops, dups, order)| {
                let mut a = Replica::new(DeviceId([0xd; 16]));
                let mut b = Replica::new(DeviceId([0xe; 16]));
                for op in &ops {
                    a.receive(op.clone(), T0).expect("valid");
                }
                for i in order.iter().chain(&dups) {
                    prop_assert_ne!(
                        b.receive(ops[*i].clone(), T0).expect("valid"),
                        Received::Parked
                    );
                }
                let a_ops: Vec<&Op> = a.ops().collect();
                let b_ops: Vec<&Op> = b.ops().collect();
                prop_assert_eq!(a_ops, b_ops);
                Ok(())
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_clock_far_ahead_waits_and_loses_nothing() {
    let mut phone = Replica::new(DEVICES[0]);
    let mut laptop = Replica::new(DEVICES[1]);
    let field = fields()[2].clone();
    // The laptop's clock is an hour ahead.
    let ahead = laptop
        .edit(field.clone(), value(&field, 1), T0 + 3_600_000)
        .expect("valid");
    assert_eq!(
        phone.receive(ahead.clone(), T0).expect("valid"),
        Received::Parked
    );
    assert_eq!(phone.get(&field), None);
    assert_eq!(phone.status().held, 1);
    // A copy does not park twice.
    assert_eq!(phone.receive(ahead, T0).expect("valid"), Received::Parked);
    assert_eq!(phone.status().held, 1);
    // Still too early.
    assert!(phone.tick(T0 + 3_600_000 - MAX_AHEAD_MS - 1).is_empty());
    let notices = phone.tick(T0 + 3_600_000 - MAX_AHEAD_MS);
    assert_eq!(
        notices.len(),
        1,
        "the network added on the laptop is announced"
    );
    assert_eq!(notices[0].from, DEVICES[1]);
    assert_eq!(phone.get(&field), value(&field, 1).as_ref());
    assert_eq!(phone.status().held, 0);
}

#[test]
fn only_categories_that_are_on_are_sent() {
    let mut r = Replica::new(DEVICES[0]);
    let token = fields()[0].clone();
    let switch = Field::Enabled {
        category: Category::Tokens,
    };
    r.edit(token.clone(), value(&token, 1), T0).expect("valid");
    assert!(r.outbox().is_empty(), "off by default: nothing leaves");
    r.edit(switch.clone(), Some(Value::Enabled(true)), T0 + 1)
        .expect("valid");
    let sent: Vec<&Field> = r.outbox().iter().map(|o| &o.field).collect();
    assert_eq!(sent, [&switch, &token], "turning it on sends what was kept");
    r.sent(2);
    r.edit(token.clone(), value(&token, 2), T0 + 2)
        .expect("valid");
    r.edit(switch.clone(), Some(Value::Enabled(false)), T0 + 3)
        .expect("valid");
    let sent: Vec<&Field> = r.outbox().iter().map(|o| &o.field).collect();
    assert_eq!(sent, [&switch], "turning it off drops what was waiting");
    r.edit(token.clone(), None, T0 + 4).expect("valid");
    assert_eq!(r.outbox().len(), 1);
}

#[test]
fn announced_changes_name_the_device() {
    let mut phone = Replica::new(DEVICES[0]);
    let mut laptop = Replica::new(DEVICES[1]);
    let net = fields()[2].clone();
    let token = fields()[0].clone();
    let op = laptop.edit(net.clone(), value(&net, 1), T0).expect("valid");
    let Received::Applied(Some(n)) = phone.receive(op, T0).expect("valid") else {
        panic!("a network added elsewhere is announced");
    };
    assert_eq!((n.from, n.change), (DEVICES[1], tandem_sync::Change::Added));
    let op = laptop
        .edit(net.clone(), value(&net, 2), T0 + 1)
        .expect("valid");
    assert!(matches!(
        phone.receive(op, T0).expect("valid"),
        Received::Applied(Some(tandem_sync::Notice {
            change: tandem_sync::Change::Changed,
            ..
        }))
    ));
    let op = laptop
        .edit(token.clone(), value(&token, 1), T0 + 2)
        .expect("valid");
    assert_eq!(
        phone.receive(op, T0).expect("valid"),
        Received::Applied(None),
        "a token list change is not announced"
    );
    // The phone's own change is not announced to itself.
    let mine = phone.edit(net.clone(), None, T0 + 5).expect("valid");
    let mut again = phone.clone();
    assert_eq!(again.receive(mine, T0 + 5).expect("valid"), Received::Older);
}

#[test]
fn a_snapshot_of_one_category_cannot_carry_another() {
    let mut r = Replica::new(DEVICES[0]);
    let mut other = Replica::new(DEVICES[1]);
    let net = fields()[2].clone();
    let op = other.edit(net.clone(), value(&net, 1), T0).expect("valid");
    let forged = Snapshot {
        category: Category::Tokens,
        ops: vec![op],
    };
    let e = r.absorb(forged, T0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "a snapshot of Token lists holds a change to Networks"
    );
    assert_eq!(r.get(&net), None);
}

#[test]
fn bad_ops_are_refused_with_their_reason() {
    let mut r = Replica::new(DEVICES[0]);
    let op = Op {
        field: Field::record(Category::Networks, "10"),
        value: Some(Value::Network(Network {
            name: "Evil".into(),
            rpc: "file:///etc/passwd".into(),
            currency: "ETH".into(),
            decimals: 18,
            explorer: None,
        })),
        stamp: tandem_sync::Stamp {
            ms: T0,
            n: 0,
            device: DEVICES[1],
        },
    };
    let e = r.receive(op, T0).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("the RPC URL `file:///etc/passwd` is not an http(s) URL"));
    assert_eq!(r.ops().count(), 0);
}
