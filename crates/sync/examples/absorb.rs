//! Profiling aid for the merge that scripts/bench-sync times in wasm: a
//! new device absorbs the snapshot of N address-book records (the same
//! snapshot as crates/wasm-prims `primSyncSnapshot`), parsed from JSON.
//! Prints the wall time; run it under `valgrind --tool=callgrind` or
//! `perf stat` for instruction counts that a busy machine does not blur.
//! Usage: cargo run --release -p tandem-sync --example absorb [N]
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use tandem_pair::DeviceId;
use tandem_sync::{Category, Contact, Field, Replica, Snapshot, Value};

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(10_000, |a| a.parse().unwrap());
    let mut r = Replica::new(DeviceId([1; 16]));
    let on = Field::Enabled {
        category: Category::AddressBook,
    };
    r.edit(on, Some(Value::Enabled(true)), 1).unwrap();
    for i in 0..n {
        let v = Value::Contact(Contact {
            name: format!("Contact {i}"),
            note: String::new(),
        });
        let field = Field::record(Category::AddressBook, format!("0x{:040x}", i + 1));
        r.edit(field, Some(v), 2 + i).unwrap();
    }
    let json = serde_json::to_vec(&r.snapshot(Category::AddressBook)).unwrap();
    let t = std::time::Instant::now();
    let snap: Snapshot = serde_json::from_slice(&json).unwrap();
    let parsed = t.elapsed();
    let held = merge(snap);
    let all = t.elapsed();
    assert_eq!(held as u64, n);
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    println!(
        "absorbed {held} records ({} KiB of JSON) in {:.2} ms (parse {:.2}, merge {:.2})",
        json.len() / 1024,
        ms(all),
        ms(parsed),
        ms(all - parsed)
    );
}

/// The merge alone (not inlined: `valgrind --tool=callgrind
/// --toggle-collect='absorb::merge'` counts only it).
#[inline(never)]
fn merge(snap: Snapshot) -> usize {
    let mut fresh = Replica::new(DeviceId([2; 16]));
    fresh.absorb(snap, u64::MAX / 2).unwrap();
    fresh.records(Category::AddressBook).count()
}
