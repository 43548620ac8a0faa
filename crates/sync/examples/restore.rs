//! The restore benchmark's native half (scripts/bench-restore): a wallet's
//! backup of N address-book records and a realistic audit log (three
//! devices, E entries each: signed requests, unlocks, token refreshes),
//! made by tandem-sync's own backup code, then restored by a fresh device
//! R times: "decode" is the relay's answer parsed, opened (XChaCha20-Poly1305)
//! and read; "merge" is the restore itself (records merged, chains
//! imported, the restore entry signed); "verify" is the log read back with
//! every entry checked, as the audit screen does.
//! Prints one JSON line of timings (ms); with `--put FILE`, also writes the
//! backup's PUT (`{"id","body"}`) for the browser half to store on a relay.
//! Usage: cargo run --release -p tandem-sync --example restore --
//!        SECRET_HEX [N=1000] [E=400] [R=7] [--put FILE]
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::Instant;

use rand_chacha::rand_core::SeedableRng;
use tandem_pair::backup::{PutBackup, StoredBackup};
use tandem_pair::IdentityKey;
use tandem_sync::audit::Happened;
use tandem_sync::backup::Purpose;
use tandem_sync::{Category, Contact, Field, Out, Syncer, Value};

const RELAY: &str = "ws://127.0.0.1:9/v1/ws";

fn happened(i: u64, device: usize, t0: u64) -> Happened {
    match i % 10 {
        0 => Happened::Unlock { ok: i % 30 != 0 },
        1 => Happened::Token {
            device: format!("{device:032x}"),
            action: "refreshed".into(),
            expires_at: t0 / 1000 + i,
        },
        _ => Happened::Sign {
            site: format!("https://app{}.example.org", i % 7),
            method: "eth_sendTransaction".into(),
            chain: 1,
            summary: format!(
                "send 0.{i:04} ETH to 0x{:040x} (gas 21000, max fee 30 gwei)",
                i * 7919
            ),
            approved: i % 5 != 0,
            approved_on: (i % 5 != 0).then(|| format!("{device:032x}")),
        },
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let put_file = args
        .iter()
        .position(|a| a == "--put")
        .map(|i| args[i + 1].clone());
    let pos: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || args[i - 1] != "--put"))
        .map(|(_, a)| a)
        .collect();
    let mut secret = [0u8; 32];
    hex::decode_to_slice(pos[0], &mut secret).unwrap();
    let n: u64 = pos.get(1).map_or(1_000, |a| a.parse().unwrap());
    let e: u64 = pos.get(2).map_or(400, |a| a.parse().unwrap());
    let runs: usize = pos.get(3).map_or(7, |a| a.parse().unwrap());

    // Written over the last month (a restoring device holds back changes
    // stamped ahead of its clock).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let t0 = now - 30 * 24 * 3_600_000;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(12);
    let k: Vec<IdentityKey> = (0..4).map(|_| IdentityKey::generate(&mut rng)).collect();
    let mut desk = Syncer::new(k[0].device_id());
    desk.backup_mut().set_secret(&secret, 0);
    let on = Field::Enabled {
        category: Category::AddressBook,
    };
    desk.edit(on, Some(Value::Enabled(true)), t0).unwrap();
    for i in 0..n {
        let v = Value::Contact(Contact {
            name: format!("Contact {i}"),
            note: format!("restored contact number {i}"),
        });
        let field = Field::record(Category::AddressBook, format!("0x{:040x}", i + 1));
        desk.edit(field, Some(v), t0 + 1 + i).unwrap();
    }
    for (d, key) in k[..3].iter().enumerate() {
        let mut s = Syncer::new(key.device_id());
        for i in 0..e {
            s.record(key, happened(i, d, t0), t0 + i * 60_000);
        }
        for o in s.send_outbox() {
            if let Out::Send(bytes) = o {
                desk.message(&bytes, t0).unwrap().unwrap();
            }
        }
    }
    let known: Vec<_> = k[..3].iter().map(IdentityKey::public).collect();
    let read = desk.backup_next(RELAY).unwrap().unwrap();
    let write = desk
        .backup_answer(Purpose::Read, RELAY, 404, "{}", &known, now, [7; 24])
        .unwrap()
        .unwrap();
    let body = write.body.unwrap();
    let id = read.url.rsplit('/').next().unwrap().to_owned();
    if let Some(f) = put_file {
        std::fs::write(f, serde_json::json!({ "id": id, "body": body }).to_string()).unwrap();
    }
    let put: PutBackup = serde_json::from_str(&body).unwrap();
    let sealed = put.data.0.len();
    let answer = serde_json::to_string(&StoredBackup {
        counter: put.counter,
        data: Some(put.data),
        updated_at: t0 / 1000,
    })
    .unwrap();

    let (mut decode, mut merge, mut verify) = (Vec::new(), Vec::new(), Vec::new());
    let mut restored = (0, 0);
    for _ in 0..runs {
        let mut b = Syncer::new(k[3].device_id());
        b.backup_mut().set_secret(&secret, 0);
        let find = b.backup_mut().find(RELAY).unwrap().unwrap();
        let t = Instant::now();
        b.backup_answer(find.purpose, RELAY, 200, &answer, &[], now, [0; 24])
            .unwrap();
        decode.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        b.restore(&k[3], now).unwrap();
        merge.push(t.elapsed().as_secs_f64() * 1e3);
        let me = k[3].public();
        let t = Instant::now();
        let checked = b
            .audit()
            .verify(k[3].device_id(), |d| (*d == me.device_id()).then_some(me));
        verify.push(t.elapsed().as_secs_f64() * 1e3);
        let ok = checked
            .iter()
            .filter(|c| c.verdict == tandem_sync::audit::Verdict::Ok)
            .count();
        assert_eq!(ok, checked.len(), "every restored entry checks");
        restored = (b.replica().records(Category::AddressBook).count(), ok - 1);
    }
    assert_eq!(restored.0 as u64, n);
    println!(
        "{}",
        serde_json::json!({
            "records": restored.0, "entries": restored.1, "sealed_bytes": sealed,
            "decode": decode, "merge": merge, "verify": verify,
        })
    );
}
