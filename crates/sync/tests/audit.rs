#![allow(clippy::unwrap_used)]
//! The audit log under attack: entries altered, removed, reordered, forged
//! or cut off where they are stored (a device's storage, or the copies the
//! relay carries), each found and named on reading; compaction keeps the
//! chain checkable; the exports carry the signatures (JSON) and parse as
//! CSV.

mod common;

use common::{lookup, sends};
use rand_chacha::rand_core::SeedableRng;
use tandem_pair::IdentityKey;
use tandem_sync::audit::{export_csv, export_json, Happened, Log, Verdict};

const T0: u64 = 1_800_000_000_000;

fn keys(n: u64) -> Vec<IdentityKey> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(n);
    (0..3).map(|_| IdentityKey::generate(&mut rng)).collect()
}

fn sign(site: &str, approved: bool) -> Happened {
    Happened::Sign {
        site: site.into(),
        method: "eth_sendTransaction".into(),
        chain: 1,
        summary: "send 1 ETH to 0x1111…1111".into(),
        approved,
        approved_on: None,
    }
}

/// The desktop's log as the phone holds it: the desktop's five entries.
fn desktop_log(k: &[IdentityKey]) -> (Log, Log) {
    let mut desk = Log::default();
    for i in 0..5 {
        desk.append(
            &k[0],
            sign(&format!("https://app{i}.example"), i % 2 == 0),
            T0 + i,
        );
    }
    let mut phone = Log::default();
    phone.append(&k[1], Happened::Unlock { ok: true }, T0);
    for e in desk.entries() {
        phone.receive(e.clone());
    }
    (desk, phone)
}

fn verdicts(log: &Log, me: &IdentityKey, k: &[IdentityKey]) -> Vec<(u64, Verdict)> {
    log.verify(me.device_id(), lookup(k))
        .into_iter()
        .filter(|c| c.entry.device == k[0].device_id())
        .map(|c| (c.entry.seq, c.verdict))
        .collect()
}

/// The phone's copy of the log, as JSON, changed by `f` (what a relay or
/// someone with the storage could do), read back.
fn tampered(phone: &Log, f: impl FnOnce(&mut Vec<serde_json::Value>)) -> Log {
    let mut v = serde_json::to_value(phone).unwrap();
    let desk_chain = v["chains"]
        .as_object_mut()
        .unwrap()
        .values_mut()
        .find(|c| c.as_array().unwrap().len() == 5)
        .unwrap();
    f(desk_chain.as_array_mut().unwrap());
    serde_json::from_value(v).unwrap()
}

#[test]
fn an_untouched_log_reads_ok_on_every_device() {
    let k = keys(1);
    let (desk, phone) = desktop_log(&k);
    let all = phone.verify(k[1].device_id(), lookup(&k));
    assert_eq!(all.len(), 6);
    assert!(all.iter().all(|c| c.verdict == Verdict::Ok), "{all:?}");
    assert!(desk
        .verify(k[0].device_id(), lookup(&k))
        .iter()
        .all(|c| c.verdict == Verdict::Ok));
    // A copy received twice is stored once.
    let mut again = phone.clone();
    for e in desk.entries() {
        again.receive(e.clone());
    }
    assert_eq!(again, phone);
}

#[test]
fn altered_removed_reordered_and_forged_entries_are_named() {
    let k = keys(2);
    let (_, phone) = desktop_log(&k);
    let me = &k[1];

    // Altered: the summary of entry 3 says something else now.
    let log = tampered(&phone, |c| {
        c[2]["happened"]["summary"] = "send 0.001 ETH".into();
    });
    let v = verdicts(&log, me, &k);
    assert_eq!(v[2], (3, Verdict::Altered));
    assert_eq!(
        v[3],
        (4, Verdict::BrokenLink),
        "the next one no longer links"
    );
    assert_eq!(v[0].1, Verdict::Ok);

    // Removed: entry 2 is gone.
    let log = tampered(&phone, |c| {
        c.remove(1);
    });
    assert_eq!(verdicts(&log, me, &k)[1], (3, Verdict::Gap { missing: 1 }));

    // Reordered: entries 4 and 5 swapped.
    let log = tampered(&phone, |c| c.swap(3, 4));
    let v = verdicts(&log, me, &k);
    assert_eq!(v[3], (5, Verdict::Gap { missing: 1 }));
    assert_eq!(v[4], (4, Verdict::OutOfOrder));

    // Forged: an entry claiming to be the desktop's, signed by the laptop.
    let mut forged_log = Log::default();
    let mut forged = forged_log.append(&k[2], sign("https://evil.example", true), T0);
    forged.device = k[0].device_id();
    forged.seq = 6;
    let mut log = phone.clone();
    log.receive(forged);
    assert_eq!(verdicts(&log, me, &k)[5], (6, Verdict::Altered));

    // An entry from a device the wallet never had.
    let stranger = IdentityKey::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(9));
    let mut other = Log::default();
    let e = other.append(
        &stranger,
        Happened::Restored {
            entries: None,
            devices: None,
        },
        T0,
    );
    let mut log = phone.clone();
    log.receive(e);
    assert!(log
        .verify(me.device_id(), lookup(&k))
        .iter()
        .any(|c| c.verdict == Verdict::UnknownDevice));
}

#[test]
fn a_device_notices_its_own_newest_entries_cut_off() {
    let k = keys(3);
    let (desk, _) = desktop_log(&k);
    let mut v = serde_json::to_value(&desk).unwrap();
    let chain = v["chains"]
        .as_object_mut()
        .unwrap()
        .values_mut()
        .next()
        .unwrap();
    chain.as_array_mut().unwrap().truncate(3);
    let cut: Log = serde_json::from_value(v).unwrap();
    let found = cut.verify(k[0].device_id(), lookup(&k));
    assert_eq!(found.last().unwrap().verdict, Verdict::Gap { missing: 2 });
}

#[test]
fn compaction_keeps_the_chain_checkable_and_a_changed_checkpoint_shows() {
    let k = keys(4);
    let (mut desk, _) = desktop_log(&k);
    desk.compact(&k[0], 2, T0 + 100);
    let entries: Vec<_> = desk.entries().cloned().collect();
    assert_eq!(entries.len(), 3, "two kept and the checkpoint");
    assert!(matches!(
        entries[2].happened,
        Happened::Checkpoint { upto: 3, .. }
    ));
    // The phone receives only what is left.
    let mut phone = Log::default();
    for e in &entries {
        phone.receive(e.clone());
    }
    let all = phone.verify(k[1].device_id(), lookup(&k));
    assert!(all.iter().all(|c| c.verdict == Verdict::Ok), "{all:?}");
    // A checkpoint that names another hash is caught.
    let mut bad = entries.clone();
    if let Happened::Checkpoint { hash, .. } = &mut bad[2].happened {
        *hash = "00".repeat(32);
    }
    let mut phone = Log::default();
    for e in bad {
        phone.receive(e);
    }
    let v: Vec<Verdict> = phone
        .verify(k[1].device_id(), lookup(&k))
        .into_iter()
        .map(|c| c.verdict)
        .collect();
    assert_eq!(v[0], Verdict::Gap { missing: 3 });
    assert_eq!(v[2], Verdict::Altered);
}

#[test]
fn exports_carry_the_signatures_and_parse_as_csv() {
    let k = keys(5);
    let (_, mut phone) = desktop_log(&k);
    phone.append(
        &k[1],
        Happened::Sign {
            site: "=HYPERLINK(\"https://evil.example\")".into(),
            method: "personal_sign".into(),
            chain: 1,
            summary: "a, \"quoted\"\nmessage".into(),
            approved: false,
            approved_on: None,
        },
        T0,
    );
    let checked = phone.verify(k[1].device_id(), lookup(&k));
    let json: serde_json::Value = serde_json::from_str(&export_json(&checked)).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 7);
    // Anyone can check a signature again from the JSON alone.
    let first: tandem_sync::audit::Entry =
        serde_json::from_value(rows[0]["entry"].clone()).unwrap();
    let mut check = Log::default();
    check.receive(first);
    assert!(check
        .verify(k[2].device_id(), lookup(&k))
        .iter()
        .all(|c| c.verdict == Verdict::Ok));
    let csv_text = export_csv(&checked);
    let mut r = csv::Reader::from_reader(csv_text.as_bytes());
    assert_eq!(
        r.headers().unwrap(),
        vec!["device", "seq", "at_ms", "kind", "details", "finding"]
    );
    let recs: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(recs.len(), 7);
    assert!(recs.iter().all(|r| &r[5] == "ok"));
    let phone_row = recs
        .iter()
        .find(|r| r[0] == k[1].device_id().to_hex() && &r[3] == "sign")
        .unwrap();
    let details: serde_json::Value = serde_json::from_str(&phone_row[4]).unwrap();
    assert_eq!(details["summary"], "a, \"quoted\"\nmessage");
    assert!(!recs
        .iter()
        .any(|r| r.iter().any(|cell| cell.starts_with('='))));
}

/// Long texts (a site's summary) are cut, so a batch of entries always fits
/// a group message; a batch read back gives the same entries.
#[test]
fn long_texts_are_cut_and_batches_fit_a_message() {
    let k = keys(6);
    let mut log = Log::default();
    for i in 0..40 {
        log.append(
            &k[0],
            Happened::Sign {
                site: "https://".to_owned() + &"a".repeat(5_000),
                method: "personal_sign".into(),
                chain: 1,
                summary: "x".repeat(100_000),
                approved: i % 2 == 0,
                approved_on: Some("b".repeat(1_000)),
            },
            T0 + i,
        );
    }
    let msgs = log.take_outbox();
    assert_eq!(msgs.len(), 3);
    assert!(
        msgs.iter()
            .all(|m| m.len() <= tandem_sync::MAX_MESSAGE_BYTES),
        "{:?}",
        msgs.iter().map(Vec::len).collect::<Vec<_>>()
    );
    assert!(log.take_outbox().is_empty());
    let mut other = Log::default();
    for m in &msgs {
        assert!(other.message(m).unwrap().unwrap() > 0);
    }
    let all = other.verify(k[1].device_id(), lookup(&k));
    assert_eq!(all.len(), 40);
    assert!(all.iter().all(|c| c.verdict == Verdict::Ok));
    assert!(other.message(b"hello").is_none());
}

#[test]
fn a_busy_device_log_stays_bounded_and_checkable() {
    use tandem_sync::{OWN_KEPT, OWN_SLACK};
    let k = keys(7);
    let mut s = tandem_sync::Syncer::new(k[0].device_id());
    let n = OWN_KEPT + OWN_SLACK + 10;
    for i in 0..n as u64 {
        s.record(&k[0], Happened::Unlock { ok: i % 3 != 0 }, T0 + i);
    }
    let own = s.audit().own_len(k[0].device_id());
    assert!(own <= OWN_KEPT + OWN_SLACK, "{own} entries kept");
    assert!(own >= OWN_KEPT, "{own} entries kept");
    let checked = s.audit().verify(k[0].device_id(), lookup(&k));
    assert!(checked.iter().all(|c| c.verdict == Verdict::Ok));
    // The newest entry is the last one recorded (nothing after it lost).
    let last = checked.last().unwrap().entry;
    assert_eq!(last.seq, n as u64 + 1, "n entries and one checkpoint");
}

#[test]
fn a_restore_entry_without_counts_keeps_the_bytes_it_was_signed_over() {
    // Entries written before backups held the log say only "restored":
    // they read, and verify, as they were signed.
    let k = keys(7);
    let mut log = Log::default();
    let e = log.append(
        &k[0],
        Happened::Restored {
            entries: None,
            devices: None,
        },
        T0,
    );
    let json = serde_json::to_string(&e.happened).unwrap();
    assert_eq!(json, r#"{"kind":"restored"}"#);
    let back: Happened = serde_json::from_str(&json).unwrap();
    assert_eq!(back, e.happened);
    let counted: Happened =
        serde_json::from_str(r#"{"kind":"restored","entries":6,"devices":2}"#).unwrap();
    assert_eq!(
        counted,
        Happened::Restored {
            entries: Some(6),
            devices: Some(2)
        }
    );
    assert!(log
        .verify(k[0].device_id(), lookup(&k))
        .iter()
        .all(|c| c.verdict == Verdict::Ok));
}

#[test]
fn a_device_that_starts_its_log_late_asks_for_the_chains_and_sees_no_gap() {
    use tandem_sync::Syncer;
    let k = keys(11);
    // The desktop wrote three entries and sent them before the phone listened.
    let mut desk = Syncer::new(k[0].device_id());
    for i in 0..3 {
        desk.record(&k[0], sign("https://app.example", true), T0 + i);
    }
    assert_eq!(sends(desk.send_outbox()).len(), 1);
    // The phone turns its log on: its first send asks for the chains.
    let mut phone = Syncer::new(k[1].device_id());
    phone.ask_logs();
    phone.record(&k[1], Happened::Unlock { ok: true }, T0 + 10);
    let asked = sends(phone.flush());
    assert_eq!(asked.len(), 2, "the request, then the phone's entry");
    let mut answer = Vec::new();
    for m in &asked {
        answer.extend(sends(desk.message(m, T0 + 11).unwrap().unwrap()));
    }
    assert_eq!(answer.len(), 1, "the desktop's chain, sent again");
    for m in &answer {
        phone.message(m, T0 + 12).unwrap().unwrap();
    }
    let desk_id = k[0].device_id();
    let seen: Vec<(u64, Verdict)> = phone
        .audit()
        .verify(k[1].device_id(), lookup(&k))
        .into_iter()
        .filter(|c| c.entry.device == desk_id)
        .map(|c| (c.entry.seq, c.verdict))
        .collect();
    assert_eq!(seen, [(1, Verdict::Ok), (2, Verdict::Ok), (3, Verdict::Ok)]);
    // Asked once: a later send does not ask again, and a copy changes nothing.
    assert!(sends(phone.send_outbox()).is_empty());
    for m in &answer {
        phone.message(m, T0 + 13).unwrap().unwrap();
    }
    assert_eq!(phone.audit().own_len(desk_id), 3);
}

/// A long chain read as the log screen reads it (a hash per entry, a
/// signature per run of linked entries): one entry altered in the middle
/// is still named, and only it; an attacker who also rewrites every later
/// link (so that each names the hash before it) makes the newest
/// signature fail, and every rewritten entry is named.
#[test]
fn one_altered_entry_in_a_long_chain_is_named_and_only_it() {
    let k = keys(12);
    let mut desk = Log::default();
    for i in 0..60 {
        desk.append(&k[0], sign("https://app.example", i % 2 == 0), T0 + i);
    }
    let mut phone = Log::default();
    for e in desk.entries() {
        phone.receive(e.clone());
    }
    let me = &k[1];
    assert!(verdicts(&phone, me, &k)
        .iter()
        .all(|(_, v)| *v == Verdict::Ok));
    let entries: Vec<tandem_sync::audit::Entry> = desk.entries().cloned().collect();
    let rebuilt = |list: Vec<tandem_sync::audit::Entry>| {
        let mut log = Log::default();
        for e in list {
            log.receive(e);
        }
        verdicts(&log, me, &k)
    };

    // Entry 30 altered, nothing else touched.
    let mut list = entries.clone();
    list[29].at_ms += 1;
    let v = rebuilt(list.clone());
    for (i, (seq, verdict)) in v.iter().enumerate() {
        let want = match i {
            29 => Verdict::Altered,
            30 => Verdict::BrokenLink,
            _ => Verdict::Ok,
        };
        assert_eq!((*seq, verdict), (i as u64 + 1, &want), "entry {seq}");
    }

    // Every later entry's link rewritten to hide the change: the links
    // hold, the signatures of 30..60 do not.
    for i in 30..list.len() {
        list[i].prev = list[i - 1].hash();
    }
    let v = rebuilt(list.clone());
    for (i, (seq, verdict)) in v.iter().enumerate() {
        let want = if i >= 29 {
            Verdict::Altered
        } else {
            Verdict::Ok
        };
        assert_eq!((*seq, verdict), (i as u64 + 1, &want), "entry {seq}");
    }

    // Only the newest entry's signature replaced: it alone is altered.
    let mut list = entries.clone();
    list[59].sig = list[58].sig;
    let v = rebuilt(list);
    assert_eq!(v[59], (60, Verdict::Altered));
    assert!(v[..59].iter().all(|(_, v)| *v == Verdict::Ok), "{v:?}");
}

/// What reading a chain by its newest signature means: an entry the
/// device itself linked to and then signed after reads as signed, even if
/// its own signature is bad (only the device's key can do this; anyone
/// else breaks a link or a signature). Pinned here, as docs/protocol.md
/// says it.
#[test]
fn a_later_signature_of_the_device_covers_the_entries_it_links_to() {
    let k = keys(13);
    let mut desk = Log::default();
    for i in 0..3 {
        desk.append(&k[0], sign("https://app.example", true), T0 + i);
    }
    // The device's own copy of entry 3 loses its signature, and the
    // device signs entry 4 after it (linking to that copy).
    let json = serde_json::to_value(&desk).unwrap();
    let mut json_bad = json.clone();
    let chain = json_bad["chains"]
        .as_object_mut()
        .unwrap()
        .values_mut()
        .next()
        .unwrap();
    let other_sig = chain[1]["sig"].clone();
    chain[2]["sig"] = other_sig;
    let mut bad: Log = serde_json::from_value(json_bad).unwrap();
    let alone = verdicts(&bad, &k[0], &k);
    assert_eq!(alone[2], (3, Verdict::Altered), "the newest: checked alone");
    bad.append(&k[0], sign("https://app.example", true), T0 + 3);
    let covered = verdicts(&bad, &k[0], &k);
    assert!(
        covered.iter().all(|(_, v)| *v == Verdict::Ok),
        "{covered:?}"
    );
}
