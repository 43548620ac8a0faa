//! TLS terminated by the relay binary itself, on 127.0.0.1: a certificate
//! authority and leaf certificates made here with rcgen, trusted by the
//! client only (nothing in the system's store changes). Real handshakes, a
//! real authenticated exchange over wss://, refusals of an untrusted
//! certificate, and certificate reloads on SIGHUP.
#![allow(clippy::unwrap_used)]

mod common;

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::{mpsc::Receiver, Arc},
    time::Duration,
};

use common::{RelayProc, TempDir};
use rand_core::OsRng;
use rcgen::KeyPair;
use rustls_pki_types::{CertificateDer, ServerName};
use tandem_connect::testing::{Leaf, TestCa};
use tandem_pair::{IdentityKey, Membership, Recipient, Topic};
use tandem_relay::{
    client::{Client, Incoming, Trust},
    Error,
};

fn install(dir: &TempDir, leaf: &Leaf) -> (PathBuf, PathBuf) {
    leaf.install(dir.path())
}

/// The relay binary terminating TLS with `leaf`.
fn tls_relay(dir: &TempDir, leaf: &Leaf) -> (RelayProc, Receiver<String>) {
    let (cert, key) = install(dir, leaf);
    let db = dir.path().join("relay.db");
    let (relay, stderr) = RelayProc::spawn_watching_stderr(&[
        "--database",
        db.to_str().unwrap(),
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(relay.url.starts_with("wss://127.0.0.1:"), "{}", relay.url);
    (relay, stderr)
}

fn authority(url: &str) -> &str {
    url.trim_start_matches("wss://").split('/').next().unwrap()
}

/// The certificate the relay serves to a new connection now (a bare TLS
/// handshake, trusting `ca`).
async fn served_certificate(url: &str, ca: &TestCa) -> CertificateDer<'static> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(authority(url))
        .await
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0].clone()
}

fn sighup(relay: &RelayProc) {
    let ok = Command::new("kill")
        .args(["-HUP", &relay.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -HUP failed");
}

/// The relay's next stderr line containing `needle` (at most 20 s).
fn wait_stderr(stderr: &Receiver<String>, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match stderr.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => {}
            Err(e) => panic!("the relay printed no line with {needle:?} within 20 s: {e}"),
        }
    }
}

/// Two guests exchange a message through the relay over wss://.
async fn exchange(url: &str, trust: &Trust) {
    let topic = Topic([9; 32]);
    let (a, b) = (
        IdentityKey::generate(&mut OsRng),
        IdentityKey::generate(&mut OsRng),
    );
    let mut rx = Client::connect_with(url, trust, &b, Membership::Guest)
        .await
        .unwrap();
    rx.subscribe(topic).await.unwrap();
    let mut tx = Client::connect_with(url, trust, &a, Membership::Guest)
        .await
        .unwrap();
    tx.publish(Recipient::Topic(topic), b"over tls")
        .await
        .unwrap();
    match rx.recv().await.unwrap() {
        Incoming::Message(m) => {
            assert_eq!(m.payload, b"over tls");
            rx.ack(m.id).await.unwrap();
        }
        other => panic!("expected the message, got {other:?}"),
    }
}

#[tokio::test]
async fn wss_with_a_test_ca_authenticates_and_delivers() {
    let dir = TempDir::new("tls-ok");
    let ca = TestCa::new("Tandem test CA");
    let leaf = ca.leaf(&["127.0.0.1", "localhost"]);
    let (relay, _stderr) = tls_relay(&dir, &leaf);
    exchange(&relay.url, &ca.trust(dir.path())).await;
    assert_eq!(served_certificate(&relay.url, &ca).await, leaf.der);

    // Health and metrics are behind the same TLS: plain HTTP gets nothing.
    let mut tcp = tokio::net::TcpStream::connect(authority(&relay.url))
        .await
        .unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tcp.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    assert!(
        !String::from_utf8_lossy(&answer).contains("\"status\""),
        "plain HTTP got an answer from a TLS relay"
    );
}

#[tokio::test]
async fn a_device_that_does_not_trust_the_certificate_is_refused_clearly() {
    let dir = TempDir::new("tls-untrusted");
    let ca = TestCa::new("Tandem test CA");
    let (relay, _stderr) = tls_relay(&dir, &ca.leaf(&["127.0.0.1"]));
    let key = IdentityKey::generate(&mut OsRng);

    // The built-in roots only: the test CA is unknown.
    let e = Client::connect(&relay.url, &key, Membership::Guest)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Connect(tandem_connect::Error::Untrusted { .. })),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(msg.contains(&relay.url), "{msg}");
    assert!(msg.contains("does not trust"), "{msg}");
    assert!(
        msg.contains("certificate authority it does not know"),
        "{msg}"
    );
    assert!(msg.contains("TANDEM_RELAY_CA"), "{msg}");

    // Another private CA is no better.
    let other = TestCa::new("Someone else's CA");
    let other_dir = TempDir::new("tls-other-ca");
    let e = Client::connect_with(
        &relay.url,
        &other.trust(other_dir.path()),
        &key,
        Membership::Guest,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("does not trust"), "{e}");
}

#[tokio::test]
async fn a_certificate_for_another_host_is_refused() {
    let dir = TempDir::new("tls-name");
    let ca = TestCa::new("Tandem test CA");
    let (relay, _stderr) = tls_relay(&dir, &ca.leaf(&["relay.example"]));
    let key = IdentityKey::generate(&mut OsRng);
    let e = Client::connect_with(&relay.url, &ca.trust(dir.path()), &key, Membership::Guest)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("not valid for this host name"),
        "{e}"
    );
}

#[tokio::test]
async fn sighup_serves_a_new_certificate_and_a_broken_one_keeps_the_old() {
    let dir = TempDir::new("tls-reload");
    let ca = TestCa::new("Tandem test CA");
    let trust = ca.trust(dir.path());
    let first = ca.leaf(&["127.0.0.1"]);
    let (relay, stderr) = tls_relay(&dir, &first);
    assert_eq!(served_certificate(&relay.url, &ca).await, first.der);
    let key = IdentityKey::generate(&mut OsRng);
    let mut open = Client::connect_with(&relay.url, &trust, &key, Membership::Guest)
        .await
        .unwrap();

    // A renewed certificate: new connections get it, open ones carry on.
    let second = ca.leaf(&["127.0.0.1"]);
    install(&dir, &second);
    sighup(&relay);
    let line = wait_stderr(&stderr, "TLS");
    assert!(line.contains("reloaded"), "{line}");
    assert_eq!(served_certificate(&relay.url, &ca).await, second.der);
    open.ping().await.unwrap();
    exchange(&relay.url, &trust).await;

    // A key that does not belong to the certificate, then a truncated
    // chain: each reload fails, says why, and the second certificate stays.
    let stray = KeyPair::generate().unwrap().serialize_pem();
    let third = ca.leaf(&["127.0.0.1"]);
    let cases: [(&str, String, String); 2] = [
        (
            "cannot serve the certificate",
            third.cert_pem.clone(),
            stray.clone(),
        ),
        (
            "is not a PEM certificate chain",
            third.cert_pem[..third.cert_pem.len() / 2].to_owned(),
            third.key_pem.clone(),
        ),
    ];
    for (why, cert_pem, key_pem) in cases {
        install(
            &dir,
            &Leaf {
                cert_pem,
                key_pem: key_pem.clone(),
                der: third.der.clone(),
            },
        );
        sighup(&relay);
        let line = wait_stderr(&stderr, "TLS");
        assert!(line.contains("reload failed"), "{line}");
        assert!(
            line.contains("still serving the previous certificate"),
            "{line}"
        );
        assert!(line.contains(why), "{line}");
        assert!(!line.contains("PRIVATE KEY"), "{line}");
        let key_body = key_pem.lines().nth(1).unwrap();
        assert!(!line.contains(key_body), "key material in the log: {line}");
        assert_eq!(served_certificate(&relay.url, &ca).await, second.der);
    }
    exchange(&relay.url, &trust).await;
    open.ping().await.unwrap();
}

#[test]
fn certificate_problems_stop_the_relay_at_startup() {
    let dir = TempDir::new("tls-startup");
    let ca = TestCa::new("Tandem test CA");
    let leaf = ca.leaf(&["127.0.0.1"]);
    let (cert, key) = install(&dir, &leaf);
    let other_key = dir.path().join("other.pem");
    std::fs::write(&other_key, KeyPair::generate().unwrap().serialize_pem()).unwrap();
    let missing = dir.path().join("missing.pem");
    let run = |cert: &Path, key: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_tandem-relay"))
            .args(["--listen", "127.0.0.1:0", "--database"])
            .arg(dir.path().join("relay.db"))
            .arg("--tls-cert")
            .arg(cert)
            .arg("--tls-key")
            .arg(key)
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = run(&missing, &key);
    assert!(err.contains("missing.pem"), "{err}");
    let err = run(&cert, &other_key);
    assert!(err.contains("cannot serve the certificate"), "{err}");
    let err = run(&key, &key);
    assert!(err.contains("no certificate in"), "{err}");
    assert!(!err.contains("PRIVATE KEY"), "{err}");
}
