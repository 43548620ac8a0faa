#![allow(clippy::unwrap_used)]
//! The sync loop of several devices over an in-memory group and a blob
//! store with compare and swap (the relay's rules), in chosen schedules:
//! live changes, a device that was offline for a month catching up from
//! the snapshot alone and from the snapshot plus the changes sent after
//! it, two devices racing to write the snapshot, a category
//! turned off, a blob the reader cannot open. The real relay and device
//! engines are exercised in `crates/cli/tests/sync.rs`.

use std::collections::{BTreeMap, VecDeque};

use tandem_pair::DeviceId;
use tandem_sync::{blob_name, Category, Contact, Field, Out, Syncer, Value};

const T0: u64 = 1_800_000_000_000;

#[derive(Default)]
struct Net {
    blobs: BTreeMap<String, (Vec<u8>, u64)>,
    /// Per device: group messages not yet delivered.
    inbox: Vec<VecDeque<Vec<u8>>>,
    /// Per device: outputs not carried out yet.
    todo: Vec<VecDeque<Out>>,
    notices: Vec<Vec<tandem_sync::Notice>>,
    conflicts: usize,
}

struct World {
    net: Net,
    devs: Vec<Syncer>,
    now: u64,
}

impl World {
    fn new(n: u8) -> Self {
        let devs: Vec<Syncer> = (0..n).map(|i| Syncer::new(DeviceId([i + 1; 16]))).collect();
        let net = Net {
            inbox: vec![VecDeque::new(); n as usize],
            todo: vec![VecDeque::new(); n as usize],
            notices: vec![Vec::new(); n as usize],
            ..Net::default()
        };
        Self { net, devs, now: T0 }
    }

    fn queue(&mut self, d: usize, outs: Vec<Out>) {
        self.net.todo[d].extend(outs);
    }

    /// Carries out one output of device `d`; false if it had none.
    fn step(&mut self, d: usize) -> bool {
        let Some(out) = self.net.todo[d].pop_front() else {
            return false;
        };
        self.now += 1;
        let now = self.now;
        let more = match out {
            Out::Send(data) => {
                for (i, q) in self.net.inbox.iter_mut().enumerate() {
                    if i != d {
                        q.push_back(data.clone());
                    }
                }
                Vec::new()
            }
            Out::PutBlob {
                name,
                data,
                expected,
            } => {
                // The relay's limit: 128 KiB sealed (the seal adds 125 bytes).
                assert!(
                    data.len() + 125 <= 128 * 1024,
                    "{name} is {} bytes: over the relay's blob limit",
                    data.len()
                );
                let slot = self.net.blobs.entry(name.clone()).or_default();
                if slot.1 != expected {
                    self.net.conflicts += 1;
                    self.devs[d].blob_conflict(&name)
                } else {
                    *slot = (data, slot.1 + 1);
                    let v = slot.1;
                    self.devs[d].blob_stored(&name, v, now)
                }
            }
            Out::GetBlob { name } => {
                let (data, v) = match self.net.blobs.get(&name) {
                    Some((data, v)) => (Some(data.clone()), *v),
                    None => (None, 0),
                };
                self.devs[d].blob(&name, v, data.as_deref(), now).unwrap()
            }
            Out::Persist => Vec::new(),
            Out::Notice(n) => {
                self.net.notices[d].push(n);
                Vec::new()
            }
        };
        self.queue(d, more);
        true
    }

    /// Carries out `d`'s outputs up to its next page write (left queued).
    fn step_to_put(&mut self, d: usize) {
        while self.net.todo[d]
            .front()
            .is_some_and(|o| !matches!(o, Out::PutBlob { .. }))
        {
            self.step(d);
        }
    }

    /// Delivers every waiting group message to `d`.
    fn deliver(&mut self, d: usize) {
        while let Some(m) = self.net.inbox[d].pop_front() {
            let outs = self.devs[d].message(&m, self.now).unwrap().unwrap();
            self.queue(d, outs);
        }
    }

    fn run(&mut self, who: &[usize]) {
        loop {
            let mut any = false;
            for &d in who {
                self.deliver(d);
                while self.step(d) {
                    any = true;
                }
            }
            if !any {
                break;
            }
        }
    }

    fn edit(&mut self, d: usize, field: Field, value: Option<Value>) {
        self.now += 1000;
        let outs = self.devs[d].edit(field, value, self.now).unwrap();
        self.queue(d, outs);
    }

    fn flush(&mut self, d: usize) {
        let outs = self.devs[d].flush();
        self.queue(d, outs);
    }

    /// What `d` asks for after a change or a message (the shells' call
    /// while online): the pages it reads.
    fn save(&mut self, d: usize) -> Vec<String> {
        let outs = self.devs[d].save();
        let reads = outs
            .iter()
            .filter_map(|o| match o {
                Out::GetBlob { name } => Some(name.clone()),
                _ => None,
            })
            .collect();
        self.queue(d, outs);
        reads
    }

    fn contacts(&self, d: usize) -> Vec<(String, Value)> {
        self.devs[d]
            .replica()
            .records(Category::AddressBook)
            .map(|(id, v, _)| (id.to_owned(), v.clone()))
            .collect()
    }

    /// The live address-book records over every page on the relay (each
    /// page holding only its own).
    fn blob_contacts(&self) -> usize {
        let mut n = 0;
        for p in 0..tandem_sync::PAGES {
            let Some((data, _)) = self.net.blobs.get(&blob_name(Category::AddressBook, p)) else {
                continue;
            };
            let snap: tandem_sync::Snapshot = serde_json::from_slice(data).unwrap();
            for o in &snap.ops {
                if let Field::Record { id, .. } = &o.field {
                    let page = sha2_page(id);
                    assert_eq!(page, p, "{id} in page {p}");
                    n += usize::from(o.value.is_some());
                }
            }
        }
        n
    }
}

fn sha2_page(id: &str) -> u8 {
    use sha2::Digest;
    sha2::Sha256::digest(id.as_bytes())[0] % tandem_sync::PAGES
}

fn addr(n: u8) -> String {
    format!("0x{}", hex(n).repeat(20))
}

fn hex(n: u8) -> String {
    format!("{n:02x}")
}

fn contact(name: &str) -> Option<Value> {
    Some(Value::Contact(Contact {
        name: name.into(),
        note: String::new(),
    }))
}

fn on(w: &mut World, d: usize, c: Category) {
    w.edit(
        d,
        Field::Enabled { category: c },
        Some(Value::Enabled(true)),
    );
}

#[test]
fn live_changes_reach_every_device_and_a_device_offline_for_a_month_catches_up_from_the_snapshot() {
    let mut w = World::new(4);
    let (a, b, c, late) = (0, 1, 2, 3);
    on(&mut w, a, Category::AddressBook);
    w.edit(
        a,
        Field::record(Category::AddressBook, addr(1)),
        contact("Alice"),
    );
    w.flush(a);
    w.run(&[a, b, c]);
    assert_eq!(w.contacts(b), w.contacts(a));
    assert_eq!(w.contacts(c), w.contacts(a));
    assert_eq!(w.contacts(a).len(), 1);
    // Announced on the others, naming the device it came from.
    assert_eq!(w.net.notices[b].len(), 1);
    assert_eq!(w.net.notices[b][0].from, DeviceId([1; 16]));
    assert!(w.net.notices[a].is_empty());
    // The snapshot holds it; every device that synced it knows it is current.
    assert_eq!(w.blob_contacts(), 1);
    assert!(w.devs[a].status().synced_at.is_some());
    assert_eq!(w.devs[a].status().unsaved, 0);

    // The late device missed every message (its mailbox expired): the
    // snapshot alone brings the switch and the record.
    w.net.inbox[late].clear();
    w.flush(late);
    w.run(&[late]);
    assert_eq!(w.contacts(late), w.contacts(a));
    assert!(w.devs[late].replica().enabled(Category::AddressBook));
}

#[test]
fn a_device_offline_for_a_month_catches_up_from_the_snapshot_plus_the_operations_sent_after_it() {
    let mut w = World::new(3);
    let (a, b, c) = (0, 1, 2);
    let book = |n| Field::record(Category::AddressBook, addr(n));
    on(&mut w, a, Category::AddressBook);
    w.edit(a, book(1), contact("Alice"));
    w.flush(a);
    w.run(&[a, b, c]);
    assert_eq!(w.contacts(c), w.contacts(a));

    // C goes offline; A and B change records, and the snapshot is written.
    w.devs[c].offline();
    w.edit(a, book(2), contact("Bob"));
    w.edit(b, book(3), contact("Carol"));
    w.edit(b, book(1), contact("Alice Liddell"));
    w.edit(a, book(4), contact("Dan"));
    w.edit(a, book(4), None);
    w.save(a);
    w.save(b);
    w.run(&[a, b]);
    assert_eq!(w.contacts(b), w.contacts(a));
    assert_eq!(w.blob_contacts(), 3);
    let at_snapshot = w.contacts(a);
    // What was sent meanwhile never reaches C: its mailbox expired.
    w.net.inbox[c].clear();

    // A month later A changes more, sent live: the pages do not hold it.
    w.now += 30 * 86_400_000;
    let pages = w.net.blobs.clone();
    for (n, value) in [
        (5, contact("Eve")),
        (5, contact("Eve Online")),
        (2, None),
        (3, contact("Carol Danvers")),
    ] {
        w.edit(a, book(n), value);
        let outs = w.devs[a].send_outbox();
        w.queue(a, outs);
        while w.step(a) {}
    }
    assert_eq!(
        w.net.blobs, pages,
        "the later changes are not in the snapshot"
    );
    let live: Vec<Vec<u8>> = w.net.inbox[c].drain(..).collect();
    assert_eq!(live.len(), 4, "one message per change");

    // C comes back: the snapshot first, then the later operations, out of
    // order and some twice (the rename of Eve before her record).
    w.flush(c);
    while w.step(c) {}
    assert_eq!(w.contacts(c), at_snapshot, "C holds the snapshot");
    for i in [3, 1, 0, 1, 2, 3, 0, 2] {
        w.net.inbox[c].push_back(live[i].clone());
    }
    w.run(&[c]);
    w.run(&[a, b, c]);
    assert_eq!(
        w.contacts(c),
        [
            (addr(1), contact("Alice Liddell").unwrap()),
            (addr(3), contact("Carol Danvers").unwrap()),
            (addr(5), contact("Eve Online").unwrap()),
        ]
    );
    assert_eq!(w.contacts(a), w.contacts(c));
    assert_eq!(w.contacts(b), w.contacts(c));
    assert_eq!(w.devs[c].status().held, 0, "nothing held for a clock ahead");
}

#[test]
fn two_devices_racing_to_write_the_snapshot_both_land_after_a_conflict() {
    let mut w = World::new(3);
    let (a, b, c) = (0, 1, 2);
    on(&mut w, a, Category::AddressBook);
    w.flush(a);
    w.run(&[a, b, c]);
    // Partition: a and b edit without hearing of each other, then both
    // read the snapshot before either writes.
    // Two records kept in the same page, so both devices write that page.
    let same = (3..=255)
        .find(|n| sha2_page(&addr(*n)) == sha2_page(&addr(2)))
        .unwrap();
    w.edit(
        a,
        Field::record(Category::AddressBook, addr(2)),
        contact("Bob"),
    );
    w.edit(
        b,
        Field::record(Category::AddressBook, addr(same)),
        contact("Carol"),
    );
    w.net.inbox[a].clear();
    w.net.inbox[b].clear();
    w.flush(a);
    w.flush(b);
    // Both carry out everything up to their first write (the reads).
    for d in [a, b] {
        w.step_to_put(d);
    }
    w.net.inbox[a].clear();
    w.net.inbox[b].clear();
    // Both now write at the same version: one wins, one conflicts.
    w.run(&[a, b]);
    assert_eq!(w.net.conflicts, 1, "exactly one write lost the race");
    assert_eq!(w.blob_contacts(), 2, "and both edits are in the snapshot");
    // The third device catches up from the snapshot alone.
    w.net.inbox[c].clear();
    w.flush(c);
    w.run(&[c]);
    assert_eq!(w.contacts(c).len(), 2);
    w.flush(a);
    w.flush(b);
    w.run(&[a, b]);
    assert_eq!(w.contacts(a), w.contacts(c));
    assert_eq!(w.contacts(b), w.contacts(c));
}

#[test]
fn turning_a_category_off_deletes_its_remote_copy_and_nothing_else_is_sent() {
    let mut w = World::new(2);
    let (a, b) = (0, 1);
    on(&mut w, a, Category::AddressBook);
    w.edit(
        a,
        Field::record(Category::AddressBook, addr(4)),
        contact("Dan"),
    );
    w.flush(a);
    w.run(&[a, b]);
    assert_eq!(w.blob_contacts(), 1);
    w.edit(
        b,
        Field::Enabled {
            category: Category::AddressBook,
        },
        Some(Value::Enabled(false)),
    );
    w.flush(b);
    w.run(&[a, b]);
    assert!(!w.devs[a].replica().enabled(Category::AddressBook));
    assert_eq!(w.blob_contacts(), 0, "the relay keeps only the switch");
    // An edit while off stays on the device.
    w.edit(
        a,
        Field::record(Category::AddressBook, addr(5)),
        contact("Eve"),
    );
    w.flush(a);
    w.run(&[a, b]);
    assert_eq!(w.contacts(b).len(), 1);
    assert_eq!(w.contacts(a).len(), 2);
    assert_eq!(w.blob_contacts(), 0);
}

#[test]
fn an_unreadable_blob_is_replaced_at_its_version_and_junk_is_refused() {
    let mut w = World::new(2);
    let (a, b) = (0, 1);
    on(&mut w, a, Category::Networks);
    w.flush(a);
    w.run(&[a]);
    let name = blob_name(Category::Networks, 0);
    let v = w.net.blobs[&name].1;
    // What the device engine reports for a blob under an epoch this device
    // never held, or from a revoked writer.
    let outs = w.devs[b].blob_unreadable(&name, v);
    assert!(
        matches!(&outs[..], [Out::PutBlob { expected, .. }] if *expected == v),
        "{outs:?}"
    );
    // Junk that opened (a member's bug) is an error, not a merge.
    assert!(w.devs[b].blob(&name, v, Some(b"{\"x\":1}"), T0).is_err());
    let other = tandem_sync::Snapshot {
        category: Category::Tokens,
        ops: Vec::new(),
    };
    let e = w.devs[b]
        .blob(&name, v, Some(&serde_json::to_vec(&other).unwrap()), T0)
        .unwrap_err();
    assert!(e.to_string().contains("holds"), "{e}");
    // A message that is not sync's is left alone; a broken one is refused.
    assert!(w.devs[b].message(b"hello phone", T0).is_none());
    assert!(w.devs[b]
        .message(br#"{"type":"sync_ops","ops":[{"x":1}]}"#, T0)
        .unwrap()
        .is_err());
}

/// Thousands of changes made while a category syncs (a command-line
/// import) go out in messages that each fit a group message (the device
/// engine refuses larger ones), and the others end with every record.
#[test]
fn many_changes_go_out_in_messages_that_fit() {
    let mut w = World::new(2);
    let (a, b) = (0, 1);
    on(&mut w, a, Category::AddressBook);
    w.flush(a);
    w.run(&[a, b]);
    for i in 0..2_000u32 {
        let id = format!("0x{:040x}", i + 1);
        w.edit(
            a,
            Field::record(Category::AddressBook, id),
            contact(&format!("Contact {i}")),
        );
    }
    let outs = w.devs[a].send_outbox();
    let sizes: Vec<usize> = outs
        .iter()
        .filter_map(|o| match o {
            Out::Send(d) => Some(d.len()),
            _ => None,
        })
        .collect();
    assert!(sizes.len() > 1, "{sizes:?}");
    assert!(
        sizes.iter().all(|s| *s <= tandem_sync::MAX_MESSAGE_BYTES),
        "{sizes:?}"
    );
    w.queue(a, outs);
    w.run(&[a, b]);
    assert_eq!(w.contacts(b).len(), 2_000);
}

/// The stored snapshot form reads back as written (several devices'
/// changes, a tombstone, the switch), and a damaged one is refused with its
/// reason rather than misread.
#[test]
fn snapshots_read_back_as_written_and_damaged_ones_are_refused() {
    let mut w = World::new(3);
    on(&mut w, 0, Category::AddressBook);
    w.edit(
        0,
        Field::record(Category::AddressBook, addr(1)),
        contact("Ann"),
    );
    w.flush(0);
    w.run(&[0, 1, 2]);
    w.edit(
        1,
        Field::record(Category::AddressBook, addr(2)),
        contact("Ben"),
    );
    w.edit(2, Field::record(Category::AddressBook, addr(1)), None);
    for d in [1, 2, 0] {
        w.flush(d);
        w.run(&[0, 1, 2]);
    }
    let snap = w.devs[0].replica().snapshot(Category::AddressBook);
    assert_eq!(snap.ops.len(), 3, "switch, a record and a tombstone");
    let text = serde_json::to_string(&snap).unwrap();
    assert_eq!(
        serde_json::from_str::<tandem_sync::Snapshot>(&text).unwrap(),
        snap
    );
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["devices"].as_array().unwrap().len(),
        3,
        "each device once"
    );
    v["ops"][0][4] = 7.into();
    let e = serde_json::from_value::<tandem_sync::Snapshot>(v.clone()).unwrap_err();
    assert!(e.to_string().contains("names device 7 of 3"), "{e}");
    v["v"] = 2.into();
    let e = serde_json::from_value::<tandem_sync::Snapshot>(v).unwrap_err();
    assert!(e.to_string().contains("format 2"), "{e}");
}

/// 10,000 address-book records fit the relay's blobs (spread over the
/// pages), and a device that missed every message gets all of them from the
/// pages alone.
#[test]
fn ten_thousand_records_fit_the_pages_and_come_back_from_them() {
    let mut w = World::new(2);
    let (a, late) = (0, 1);
    on(&mut w, a, Category::AddressBook);
    for i in 0..10_000u32 {
        let id = format!("0x{:040x}", i + 1);
        w.edit(
            a,
            Field::record(Category::AddressBook, id),
            contact(&format!("Contact number {i}")),
        );
    }
    w.flush(a);
    w.run(&[a]);
    assert_eq!(w.blob_contacts(), 10_000);
    assert_eq!(w.devs[a].status().unsaved, 0);
    w.net.inbox[late].clear();
    w.flush(late);
    w.run(&[late]);
    assert_eq!(w.contacts(late).len(), 10_000);
}

#[test]
fn online_a_change_or_a_message_saves_only_the_pages_it_touched() {
    let mut w = World::new(3);
    let (a, b, late) = (0, 1, 2);
    for d in [a, b] {
        w.flush(d);
        w.run(&[d]);
    }
    let book = |p: u8| blob_name(Category::AddressBook, p);
    let mut every: Vec<String> = (0..tandem_sync::PAGES).map(book).collect();
    every.sort(); // read in name order
                  // A switch: every page of its category (filled, or emptied when off).
    on(&mut w, a, Category::AddressBook);
    assert_eq!(w.save(a), every);
    w.run(&[a]);
    // One record: its page only, not every page of every category.
    w.edit(
        a,
        Field::record(Category::AddressBook, addr(1)),
        contact("Alice"),
    );
    assert_eq!(w.save(a), vec![book(sha2_page(&addr(1)))]);
    w.run(&[a]);
    // The other device had the address book off: the switch came as a
    // message, so it reads that category's pages (records written before
    // the switch live there only), and nothing else.
    w.deliver(b);
    assert_eq!(w.save(b), every);
    w.run(&[b]);
    assert_eq!(w.contacts(b), w.contacts(a));
    // A record from the group: its page only.
    w.edit(
        a,
        Field::record(Category::AddressBook, addr(2)),
        contact("Bob"),
    );
    w.save(a);
    w.run(&[a]);
    w.deliver(b);
    assert_eq!(w.save(b), vec![book(sha2_page(&addr(2)))]);
    w.run(&[b]);
    assert_eq!(w.contacts(b), w.contacts(a));
    assert_eq!(w.contacts(a).len(), 2);
    // Saved that way, the snapshot holds everything: a device that missed
    // every message catches up from it alone.
    assert_eq!(w.blob_contacts(), 2);
    assert_eq!(w.devs[a].status().unsaved, 0);
    assert_eq!(w.devs[b].status().unsaved, 0);
    w.net.inbox[late].clear();
    w.flush(late);
    w.run(&[late]);
    assert_eq!(w.contacts(late), w.contacts(a));
}

/// The plain device module (crates/wasm-device, which does not link this
/// crate) tells the sync's messages by how they start, and loads the sync
/// module when one arrives: every sync message starts so.
#[test]
fn sync_messages_start_as_the_plain_module_recognizes_them() {
    let mut s = Syncer::new(DeviceId([1; 16]));
    let on = Field::Enabled {
        category: Category::AddressBook,
    };
    s.edit(on, Some(Value::Enabled(true)), T0).unwrap();
    s.edit(
        Field::record(Category::AddressBook, addr(1)),
        contact("Alice"),
        T0 + 1,
    )
    .unwrap();
    // Its switch goes once its pages are stored (none on the relay yet).
    let mut sent = Vec::new();
    let mut todo: VecDeque<Out> = s.flush().into();
    while let Some(o) = todo.pop_front() {
        match o {
            Out::Send(m) => sent.push(m),
            Out::GetBlob { name } => todo.extend(s.blob(&name, 0, None, T0 + 2).unwrap()),
            Out::PutBlob { name, .. } => todo.extend(s.blob_stored(&name, 1, T0 + 3)),
            _ => {}
        }
    }
    assert!(!sent.is_empty());
    for m in sent {
        assert!(
            m.starts_with(br#"{"type":"sync_ops""#),
            "{}",
            String::from_utf8_lossy(&m)
        );
    }
}

/// After a revocation the group key moves to a new epoch, and a revoked
/// device still holds the old one: every page on the relay is written
/// again (the device engine seals each write under the current epoch), not
/// only the pages that changed, while an ordinary flush writes none of
/// the unchanged ones.
#[test]
fn a_key_rotation_writes_every_page_again() {
    let mut w = World::new(2);
    let (a, b) = (0, 1);
    on(&mut w, a, Category::AddressBook);
    for i in 0..20 {
        w.edit(
            a,
            Field::record(Category::AddressBook, addr(i)),
            contact(&format!("c{i}")),
        );
    }
    w.flush(a);
    w.run(&[a, b]);
    w.flush(b);
    w.run(&[a, b]);
    let versions = |w: &World| -> BTreeMap<String, u64> {
        w.net
            .blobs
            .iter()
            .map(|(n, (_, v))| (n.clone(), *v))
            .collect()
    };
    let before = versions(&w);
    assert!(
        before.len() >= 10,
        "the pages the records fell in: {before:?}"
    );
    // Nothing changed: a flush reads every page and writes none.
    w.flush(a);
    w.run(&[a, b]);
    assert_eq!(versions(&w), before);
    // The rotation: every page written once more.
    let outs = w.devs[a].key_rotated();
    w.queue(a, outs);
    w.run(&[a, b]);
    let after = versions(&w);
    for (name, v) in &before {
        assert!(
            after[name] > *v,
            "{name} not written again ({v} -> {})",
            after[name]
        );
    }
    assert_eq!(w.blob_contacts(), 20, "and nothing lost");
}

#[test]
fn pages_are_pending_from_the_first_read_to_the_last_page_stored() {
    // What a shell waits for before storing its state once for a burst of
    // pages (the extension's worker: crates/wasm-device/src/sync.rs).
    let mut w = World::new(1);
    assert!(!w.devs[0].pages_pending(), "nothing asked yet");
    on(&mut w, 0, Category::AddressBook);
    for i in 1..=40 {
        w.edit(
            0,
            Field::record(Category::AddressBook, addr(i)),
            contact(&format!("Contact {i}")),
        );
    }
    assert!(w.devs[0].pages_pending(), "pages that lack the edits");
    w.flush(0);
    // One output at a time, as the relay answers: pending until the last
    // page's write is confirmed, whichever order the answers come in.
    let mut answered = 0;
    while w.step(0) {
        answered += 1;
        let on_the_way = w.net.todo[0]
            .iter()
            .any(|o| matches!(o, Out::GetBlob { .. } | Out::PutBlob { .. }));
        assert_eq!(
            w.devs[0].pages_pending(),
            on_the_way,
            "after {answered} answers"
        );
    }
    assert!(answered > usize::from(tandem_sync::PAGES));
    assert!(!w.devs[0].pages_pending());
    assert_eq!(w.blob_contacts(), 40);
    assert_eq!(w.devs[0].status().unsaved, 0);
    // A read that found the page current: nothing pending either.
    w.flush(0);
    assert!(w.devs[0].pages_pending());
    w.run(&[0]);
    assert!(!w.devs[0].pages_pending());
    // Offline with pages asked for: the reads are forgotten, the pages
    // that lack a change stay pending (saved once online).
    w.edit(
        0,
        Field::record(Category::AddressBook, addr(41)),
        contact("Late"),
    );
    w.flush(0);
    w.devs[0].offline();
    assert!(w.devs[0].pages_pending());
}

/// Address-book ops in the group messages `d` sent (the others' inboxes).
fn contacts_sent_by(w: &World, to: usize) -> usize {
    w.net.inbox[to]
        .iter()
        .filter_map(|m| serde_json::from_slice::<serde_json::Value>(m).ok())
        .filter_map(|v| v.get("ops").and_then(|o| o.as_array()).cloned())
        .flatten()
        .filter(|op| op.to_string().contains("\"record\""))
        .count()
}

#[test]
fn a_device_that_learns_from_the_pages_that_a_category_syncs_sends_only_its_own_records_and_at_once(
) {
    // Page 0 lists the records that hash to it before the switch (the
    // fields' order): a reader took the switch, saw the category turn on
    // and queued every record it then held, the writer's included, to send
    // back; and nothing sent them until the next change, so the Sync
    // screen said "108 changes waiting" for good (scripts/bench-snapshot,
    // 2,000 records from the CLI).
    let mut w = World::new(2);
    let (a, b) = (0, 1);
    on(&mut w, a, Category::AddressBook);
    let mut in_page0 = 0;
    for i in 1..=200u8 {
        let id = addr(i);
        in_page0 += usize::from(sha2_page(&id) == 0);
        w.edit(a, Field::record(Category::AddressBook, id), contact("A"));
    }
    assert!(in_page0 > 0, "some records share page 0 with the switch");
    w.flush(a);
    w.run(&[a]);
    w.net.inbox[b].clear();
    // b kept an entry of its own while the address book did not sync here.
    let own = format!("0x{}", "ee".repeat(20));
    w.edit(
        b,
        Field::record(Category::AddressBook, own.clone()),
        contact("Mine"),
    );
    w.net.inbox[a].clear();
    w.flush(b);
    // b reads the pages, with no message from a and no change after.
    while w.step(b) {}
    assert_eq!(w.contacts(b).len(), 201);
    assert_eq!(w.devs[b].status().to_send, 0, "nothing left waiting");
    assert_eq!(
        contacts_sent_by(&w, a),
        1,
        "b sent its own entry, not a's back to it"
    );
    w.run(&[a, b]);
    assert!(w.contacts(a).iter().any(|(id, _)| *id == own));
    assert_eq!(w.contacts(a), w.contacts(b));
}

/// A device that turns a category on sends what it holds in the pages (16
/// blobs), not again as messages: 2,000 records once, not twice. Its
/// switch goes only after every page is stored, so a device that gets the
/// switch and reads the pages then finds every record.
#[test]
fn a_category_turned_on_here_goes_out_in_its_pages_and_its_switch_after_them() {
    let mut w = World::new(2);
    let (a, b) = (0, 1);
    for i in 0..2_000u32 {
        w.edit(
            a,
            Field::record(Category::AddressBook, format!("0x{:040x}", i + 1)),
            contact(&format!("Contact {i}")),
        );
    }
    on(&mut w, a, Category::AddressBook);
    assert_eq!(w.devs[a].status().to_send, 1, "the switch alone waits");
    w.flush(a);
    // Up to its first write a reads the pages and sends nothing.
    w.step_to_put(a);
    assert!(w.net.inbox[b].is_empty(), "nothing before the pages");
    // Every page but the last stored: still nothing.
    let puts = w.net.todo[a]
        .iter()
        .filter(|o| matches!(o, Out::PutBlob { .. }))
        .count();
    assert_eq!(puts, usize::from(tandem_sync::PAGES));
    for _ in 1..puts {
        w.step_to_put(a);
        w.step(a);
    }
    assert!(w.net.inbox[b].is_empty(), "nothing before the last page");
    w.run(&[a]);
    assert_eq!(w.blob_contacts(), 2_000);
    let sent: usize = w.net.inbox[b].iter().map(Vec::len).sum();
    assert_eq!(w.net.inbox[b].len(), 1, "one message: the switch");
    assert!(sent < 1_000, "{sent} bytes");
    assert_eq!(w.devs[a].status().to_send, 0);
    // b gets the switch and reads the pages.
    w.deliver(b);
    let reads = w.save(b);
    assert_eq!(reads.len(), usize::from(tandem_sync::PAGES));
    w.run(&[b]);
    assert_eq!(w.contacts(b).len(), 2_000);
    assert_eq!(w.contacts(b), w.contacts(a));
}

/// Two devices that turn the same category on apart (neither heard of the
/// other) each end with the other's records from the pages, at once, not
/// at their next reconnect: a switch from another device makes a device
/// read the pages even when the category was on here already, and even
/// when that switch is older than its own.
#[test]
fn two_devices_turning_a_category_on_apart_each_read_the_others_records() {
    let mut w = World::new(2);
    let (a, b) = (0, 1);
    w.edit(
        a,
        Field::record(Category::AddressBook, addr(1)),
        contact("Alice"),
    );
    w.edit(
        b,
        Field::record(Category::AddressBook, addr(2)),
        contact("Bob"),
    );
    on(&mut w, a, Category::AddressBook);
    on(&mut w, b, Category::AddressBook);
    w.flush(a);
    w.run(&[a]);
    w.flush(b);
    // b only: a's switch waits in b's inbox until b wrote its pages.
    while w.step(b) {}
    assert_eq!(w.blob_contacts(), 2);
    assert_eq!(w.contacts(b).len(), 2, "b read a's pages");
    assert_eq!(w.contacts(a).len(), 1);
    // Each gets the other's switch and reads the pages.
    for d in [a, b] {
        w.deliver(d);
        w.save(d);
    }
    w.run(&[a, b]);
    assert_eq!(w.contacts(a).len(), 2, "a read b's pages");
    assert_eq!(w.contacts(a), w.contacts(b));
}

/// A page that holds nothing new for the reader says so (the browser then
/// does not look again at what it mirrors: names, networks, tokens); one
/// with another device's record says it changed something.
#[test]
fn a_page_says_whether_it_changed_anything_here() {
    let mut w = World::new(2);
    let (a, b) = (0, 1);
    on(&mut w, a, Category::AddressBook);
    w.edit(
        a,
        Field::record(Category::AddressBook, addr(1)),
        contact("Alice"),
    );
    w.flush(a);
    w.run(&[a]);
    let name = blob_name(Category::AddressBook, sha2_page(&addr(1)));
    let (data, v) = w.net.blobs[&name].clone();
    w.devs[a].blob(&name, v, Some(&data), T0).unwrap();
    assert!(!w.devs[a].page_changed(), "a wrote it: nothing new");
    w.devs[b].blob(&name, v, Some(&data), T0).unwrap();
    assert!(w.devs[b].page_changed(), "Alice is new to b");
    w.devs[b].blob(&name, v, Some(&data), T0).unwrap();
    assert!(!w.devs[b].page_changed(), "read again: nothing new");
    w.devs[b].blob(&name, v, None, T0).unwrap();
    assert!(!w.devs[b].page_changed(), "no page");
}
