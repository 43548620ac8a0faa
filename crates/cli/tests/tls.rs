//! The command-line device and the relay's transport: wss:// through a
//! relay terminating TLS with a CA made in the test (trusted only when the
//! device is told to), and plain ws:// refused to anything but this machine.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use tandem_connect::testing::TestCa;

#[test]
fn plain_ws_to_another_machine_is_refused() {
    let dir = TempDir::new();
    for (url, secure) in [
        ("ws://relay.example/v1/ws", "wss://relay.example/v1/ws"),
        ("ws://10.0.0.2:8787/v1/ws", "wss://10.0.0.2:8787/v1/ws"),
        (
            "ws://localhost.evil.example/v1/ws",
            "wss://localhost.evil.example/v1/ws",
        ),
    ] {
        let home = dir.0.join("refused");
        let o = cmd(&home)
            .args(["init", "--name", "laptop", "--relay", url])
            .output()
            .unwrap();
        let (out, err) = text(&o);
        assert!(!o.status.success(), "{url}: {out}");
        assert!(err.contains(url), "{url}: {err}");
        assert!(err.contains(&format!("use {secure}")), "{url}: {err}");
        assert!(
            !home.join("vault.json").exists(),
            "{url}: a wallet was created"
        );
    }
    // This machine is fine over plain ws://; so is wss:// anywhere.
    for url in ["ws://localhost:9/v1/ws", "wss://relay.example/v1/ws"] {
        let home = dir.0.join(url.replace([':', '/'], "_"));
        let o = cmd(&home)
            .args(["init", "--name", "laptop", "--relay", url])
            .output()
            .unwrap();
        assert!(o.status.success(), "{url}: {:?}", text(&o));
    }
}

#[test]
fn a_wss_relay_is_trusted_through_its_ca_file_only() {
    let dir = TempDir::new();
    let ca = TestCa::new("Tandem test CA");
    let (cert, key) = ca.leaf(&["127.0.0.1"]).install(&dir.0);
    let relay = Relay::start_with(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(relay.url.starts_with("wss://127.0.0.1:"), "{}", relay.url);
    let laptop = Dev::new(&dir, "laptop", &relay);

    // Not told about the CA: a certificate error that says what to do.
    let err = laptop.run_err(&["devices"]);
    assert!(err.contains("does not trust"), "{err}");
    assert!(err.contains("TANDEM_RELAY_CA"), "{err}");

    // Told, by flag or by environment: it connects and authenticates.
    let ca_file = ca.write(&dir.0);
    let ca_file = ca_file.to_str().unwrap();
    let out = laptop.run_ok(&["--ca-file", ca_file, "devices"]);
    assert!(out.contains("laptop"), "{out}");
    let o = cmd(&laptop.home)
        .env("TANDEM_RELAY_CA", ca_file)
        .args(["devices"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));

    // A CA file that holds no certificate is named, not ignored.
    let err = laptop.run_err(&["--ca-file", key.to_str().unwrap(), "devices"]);
    assert!(err.contains("no certificate in it"), "{err}");
    assert!(!err.contains("PRIVATE KEY"), "{err}");
}
