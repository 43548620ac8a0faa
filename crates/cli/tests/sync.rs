//! Sync between three command-line devices through the real relay binary
//! on 127.0.0.1 (SQLite): an edit on one reaches the others; with the relay
//! stopped, two devices edit, and after it restarts all three converge; a
//! revoked device reads nothing written after its revocation; the audit
//! log of every device (pairings, sync switches, the revocation) reaches
//! the others, each entry checked, exported as JSON and CSV; the relay's
//! database holds no record in clear.
//!
//! Needs the relay binary: `cargo build -p tandem-relay --bin tandem-relay`.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Child;

use common::{pair, spawn_relay, Dev, TempDir};
use serde_json::Value;

fn start_relay(listen: &str, db: &Path) -> (Child, String) {
    let (child, line) = spawn_relay(listen, db, &[]);
    (child, line.split_whitespace().next().unwrap().to_owned())
}

fn stop(mut relay: Child) {
    relay.kill().unwrap();
    relay.wait().unwrap();
}

fn contact(name: &str) -> String {
    format!(r#"{{"contact":{{"name":"{name}","note":""}}}}"#)
}

fn addr(n: u8) -> String {
    format!("0x{}", format!("{n:02x}").repeat(20))
}

/// The address-book names a device holds, sorted.
fn names(d: &Dev, offline: bool) -> Vec<String> {
    let mut args = vec!["sync", "show", "--json"];
    if offline {
        args.push("--offline");
    }
    let out = d.run_ok(&args);
    let v: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let mut n: Vec<String> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["category"] == "address_book")
        .map(|r| r["value"]["contact"]["name"].as_str().unwrap().to_owned())
        .collect();
    n.sort();
    n
}

#[test]
fn edits_converge_across_a_relay_outage_and_a_revoked_device_reads_nothing_new() {
    let dir = TempDir::new();
    let db = dir.0.join("relay.db");
    let (relay, url) = start_relay("127.0.0.1:0", &db);
    let phone = Dev::with_url(&dir, "phone", &url);
    let desk = Dev::with_url(&dir, "desk", &url);
    let laptop = Dev::with_url(&dir, "laptop", &url);
    pair(&phone, &desk);
    pair(&phone, &laptop);

    // Bad input: a clear error, nothing changed.
    let e = desk.run_err(&["sync", "on", "passwords"]);
    assert!(e.contains("not a sync category"), "{e}");
    let e = desk.run_err(&["sync", "set", "address_book", "0x12", &contact("X")]);
    assert!(e.contains("address"), "{e}");

    desk.run_ok(&["sync", "on", "address_book"]);
    desk.run_ok(&["sync", "set", "address_book", &addr(1), &contact("Alice")]);
    assert_eq!(names(&phone, false), ["Alice"]);
    assert_eq!(names(&laptop, false), ["Alice"]);

    // The relay is down: two devices edit; the edits stay on them.
    stop(relay);
    let out = desk.run_ok(&["sync", "set", "address_book", &addr(2), &contact("Bob")]);
    assert!(out.contains("waiting"), "{out}");
    laptop.run_ok(&["sync", "set", "address_book", &addr(3), &contact("Carol")]);
    assert_eq!(names(&desk, true), ["Alice", "Bob"]);

    // The same address and database, as an operator's restart.
    let listen = url.trim_start_matches("ws://").trim_end_matches("/v1/ws");
    let (relay, _) = start_relay(listen, &db);
    for d in [&desk, &laptop, &phone, &desk, &laptop] {
        names(d, false);
    }
    for d in [&phone, &desk, &laptop] {
        assert_eq!(
            names(d, true),
            ["Alice", "Bob", "Carol"],
            "{}",
            d.home.display()
        );
    }

    // The phone revokes the laptop (key rotation); what is written after
    // reaches the desk and not the laptop, neither live nor by snapshot.
    phone.run_ok(&["revoke", &laptop.id(), "--reason", "lost"]);
    desk.run_ok(&["recv"]);
    phone.run_ok(&["sync", "set", "address_book", &addr(4), &contact("Dave")]);
    assert_eq!(names(&desk, false), ["Alice", "Bob", "Carol", "Dave"]);
    let _ = laptop.run(&["sync", "show", "--json"]);
    assert_eq!(names(&laptop, true), ["Alice", "Bob", "Carol"]);

    // The audit log: the desk holds the phone's entries too (its
    // approvals, the revocation), every one signed and in order.
    let v: Value = serde_json::from_str(&desk.run_ok(&["audit", "--json"])).unwrap();
    let rows = v.as_array().unwrap();
    let kinds = |dev: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r["entry"]["device"] == dev)
            .map(|r| r["entry"]["happened"]["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    let (phone_id, desk_id) = (phone.id(), desk.id());
    assert_eq!(kinds(&phone_id), ["paired", "paired", "revoked"], "{v}");
    assert_eq!(kinds(&desk_id), ["paired", "sync_category"], "{v}");
    assert!(rows.iter().all(|r| r["verdict"]["status"] == "ok"), "{v}");
    let revoked = rows
        .iter()
        .find(|r| r["entry"]["happened"]["kind"] == "revoked")
        .unwrap();
    assert_eq!(revoked["entry"]["happened"]["device"], laptop.id());
    assert_eq!(revoked["entry"]["happened"]["reason"], "lost");
    let csv_text = desk.run_ok(&["audit", "--csv", "--offline"]);
    let mut lines = csv_text.lines();
    assert_eq!(lines.next(), Some("device,seq,at_ms,kind,details,finding"));
    assert_eq!(lines.filter(|l| l.ends_with(",ok")).count(), rows.len());
    let text = phone.run_ok(&["audit", "--offline"]);
    assert!(text.contains("all signed and in order"), "{text}");

    // The relay's database (and its write-ahead log): ciphertext only.
    stop(relay);
    let mut raw = Vec::new();
    for e in std::fs::read_dir(&dir.0).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("relay.db")
        {
            raw.extend(std::fs::read(&p).unwrap());
        }
    }
    assert!(raw.len() > 4096, "the database was read");
    for secret in ["Alice", "Bob", "Carol", "Dave", "contact", "sync_ops"] {
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} in the relay's database"
        );
    }
}

#[test]
fn set_many_saves_all_or_nothing_and_sends_them_together() {
    let dir = TempDir::new();
    let (relay, url) = start_relay("127.0.0.1:0", &dir.0.join("relay.db"));
    let phone = Dev::with_url(&dir, "phone", &url);
    let desk = Dev::with_url(&dir, "desk", &url);
    pair(&phone, &desk);
    desk.run_ok(&["sync", "on", "address_book"]);
    let file = dir.0.join("import.json");
    let item = |n: u8, name: &str| {
        format!(
            r#"{{"category":"address_book","id":"{}","value":{}}}"#,
            addr(n),
            contact(name)
        )
    };

    // The second record's id is not an address: a clear error naming it,
    // and the first is not saved either.
    let bad = format!(
        r#"[{},{{"category":"address_book","id":"0x12","value":{}}}]"#,
        item(1, "Alice"),
        contact("X")
    );
    std::fs::write(&file, bad).unwrap();
    let e = desk.run_err(&["sync", "set-many", file.to_str().unwrap()]);
    assert!(e.contains("record 2"), "{e}");
    assert_eq!(names(&desk, true), Vec::<String>::new());
    std::fs::write(&file, "{}").unwrap();
    let e = desk.run_err(&["sync", "set-many", file.to_str().unwrap()]);
    assert!(e.contains("not a JSON array"), "{e}");

    let good = format!(
        "[{},{},{}]",
        item(1, "Alice"),
        item(2, "Bob"),
        item(3, "Carol")
    );
    std::fs::write(&file, good).unwrap();
    let out = desk.run_ok(&["sync", "set-many", file.to_str().unwrap()]);
    assert!(out.contains("3 records saved"), "{out}");
    assert_eq!(names(&phone, false), ["Alice", "Bob", "Carol"]);
    stop(relay);
}
