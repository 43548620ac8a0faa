//! The `tandem-relay` binary's command line: defaults need no
//! configuration, bad flags fail clearly.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

mod common;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

const BIN: &str = env!("CARGO_BIN_EXE_tandem-relay");

#[test]
fn bad_flags_fail_with_a_clear_message() {
    let out = Command::new(BIN).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown option `--bogus`"), "{err}");

    let out = Command::new(BIN)
        .args(["--database-url", "sqlite://x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("postgres://"));

    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stderr);
    for flag in [
        "--database-url",
        "--tls-cert",
        "--tls-key",
        "--trusted-proxy",
    ] {
        assert!(help.contains(flag), "--help does not mention {flag}");
    }

    let out = Command::new(BIN)
        .args(["--tls-cert", "chain.pem"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"));
}

#[test]
fn unreachable_postgres_is_a_clear_startup_error() {
    // The "server" holds its port (no other process can take it while the
    // test runs) and drops every connection.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in dead.incoming() {
            drop(conn);
        }
    });
    let out = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--database-url"])
        .arg(format!("postgres://nobody@127.0.0.1:{port}/none"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot connect to PostgreSQL"), "{err}");
}

#[tokio::test]
async fn default_storage_is_sqlite_wal_in_the_working_directory() {
    let dir = common::TempDir::new("defaults");
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(l)) = lines.next() {
            let _ = tx.send(l);
        }
        for _ in lines {}
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("relay did not start");
    assert!(line.contains("storage: sqlite"), "{line}");
    let http = line
        .split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .unwrap()
        .replace("ws://", "http://")
        .replace("/v1/ws", "/health");
    // /health over a real socket, with a plain HTTP/1.1 request.
    let addr = http
        .trim_start_matches("http://")
        .trim_end_matches("/health")
        .to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    s.write_all(
        format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains(r#""status":"ok""#), "{resp}");
    let db = dir.path().join("tandem-relay.db");
    assert!(db.exists());
    assert!(
        dir.path().join("tandem-relay.db-wal").exists(),
        "WAL file missing"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// The load generator end to end against the real binary, for each
/// topology: every message it sends is acknowledged and delivered to each
/// recipient, with no drops or error frames, and it reads the relay's CPU
/// and memory.
#[test]
fn load_generator_reports_consistent_counts() {
    let dir = common::TempDir::new("load");
    let db = dir.path().join("r.db").to_string_lossy().into_owned();
    let relay = common::RelayProc::spawn(&["--database", &db, "--max-conns-per-ip", "1000"]);
    for (topology, fanout) in [("group", 3), ("device", 1), ("topic", 1)] {
        let out = Command::new(env!("CARGO_BIN_EXE_relay-load"))
            .args(["--url", &relay.url, "--connections", "40", "--rate", "100"])
            .args(["--topology", topology])
            .args(["--duration", "1", "--warmup", "0.5", "--payload", "64"])
            .args(["--relay-pid", &relay.child.id().to_string()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{topology}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["topology"], topology);
        assert_eq!(r["fanout"], fanout);
        assert_eq!(r["connections"], 40 / (fanout + 1) * (fanout + 1), "{r}");
        assert_eq!(r["errors"], 0, "{r}");
        assert_eq!(r["dropped"], 0, "{r}");
        assert_eq!(r["ok"], true, "{r}");
        let sent = r["sent"].as_u64().unwrap();
        assert!(sent > 0);
        assert_eq!(r["published_acks"].as_u64().unwrap(), sent, "{r}");
        assert_eq!(r["delivered"].as_u64().unwrap(), sent * fanout, "{r}");
        // Read from /proc (the values depend on the machine).
        assert!(r["relay_kib_per_connection"].is_number(), "{r}");
        assert!(r["relay_cpu_us_per_delivery"].is_number(), "{r}");
        assert!(r["generator_cpu_share"].is_number(), "{r}");
        // Shares of the machine's time over the window: idle and stolen
        // by the hypervisor, with the busy rest, add up to at most all of it.
        let idle = r["machine_idle_share"].as_f64().unwrap();
        let steal = r["machine_steal_share"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&idle), "{r}");
        assert!(
            (0.0..=1.0).contains(&steal) && idle + steal <= 1.0 + 1e-3,
            "{r}"
        );
        // The stall probe woke on every core and timed its wake-ups (no
        // wake-up is on time to the microsecond), and every send was timed
        // against its due time; both are in each second's entry too.
        assert!(r["cpu_stall_probe_realtime"].is_boolean(), "{r}");
        assert!(r["cpu_stall_longest_ms"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["send_late_max_ms"].as_f64().unwrap() >= 0.0, "{r}");
        let seconds = r["latency_p99_by_second_due"].as_array().unwrap();
        assert!(
            seconds
                .iter()
                .all(|s| s["cpu_stall_ms"].is_number() && s["send_late_max_ms"].is_number()),
            "{r}"
        );
    }
}

/// A run in which deliveries go missing is a failed run: a relay that
/// refuses most publishes (a per-device rate of 5 frames/s against 100)
/// never delivers them; the generator counts them as dropped, the refusals
/// as errors, and exits 1.
#[test]
fn load_generator_fails_a_run_with_drops() {
    let dir = common::TempDir::new("load-drops");
    let db = dir.path().join("r.db").to_string_lossy().into_owned();
    let relay = common::RelayProc::spawn(&[
        "--database",
        &db,
        "--max-conns-per-ip",
        "1000",
        "--rate",
        "5",
        "--burst",
        "5",
    ]);
    let out = Command::new(env!("CARGO_BIN_EXE_relay-load"))
        .args(["--url", &relay.url, "--connections", "8", "--rate", "200"])
        .args(["--topology", "group", "--duration", "1", "--warmup", "0"])
        .args(["--drain", "2"])
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{r}");
    assert_eq!(r["ok"], false, "{r}");
    assert!(r["dropped"].as_u64().unwrap() > 0, "{r}");
    assert!(r["errors"].as_u64().unwrap() > 0, "{r}");
}
