//! Operating the relay binary: `/health` follows the real database, the
//! metrics carry latency histograms and rejections by reason, SIGTERM shuts
//! down gracefully (queued deliveries go out, every socket closes with the
//! restart hint, nothing acknowledged is lost), and the log of a whole run
//! holds no payload or key.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

mod common;

use std::{
    io::{Read, Write},
    sync::mpsc::Receiver,
    time::{Duration, Instant},
};

use common::{founder, RelayProc, TempDir};
use futures_util::StreamExt;
use tandem_pair::{Capabilities, Recipient};
use tandem_relay::client::Client;
use tokio_tungstenite::tungstenite::Message;

/// `GET path` over a plain socket: (status, body).
fn get(ws_url: &str, path: &str) -> (u16, String) {
    let addr = ws_url
        .trim_start_matches("ws://")
        .trim_end_matches("/v1/ws");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_owned());
    (status, body)
}

/// Polls `GET /health` until its status is `want` (at most `secs`).
fn health_becomes(url: &str, want: u16, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let (status, body) = get(url, "/health");
        if status == want {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/health still {status} after {secs} s (want {want}): {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The value of an unlabelled or labelled series in a metrics body.
fn series(body: &str, name: &str) -> u64 {
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} not in metrics:\n{body}"))
        .trim()
        .parse::<f64>()
        .unwrap() as u64
}

fn sigterm(relay: &RelayProc) {
    let st = std::process::Command::new("kill")
        .args(["-TERM", &relay.child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

/// Waits (at most 30 s) for the process to exit; its exit status.
fn exits(relay: &mut RelayProc) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(st) = relay.child.try_wait().unwrap() {
            return st;
        }
        assert!(
            Instant::now() < deadline,
            "relay did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads a socket until the relay's close frame: the text frames before it,
/// and the close.
async fn until_close(
    mut ws: tandem_connect::Socket,
) -> (
    Vec<String>,
    Option<tokio_tungstenite::tungstenite::protocol::CloseFrame>,
) {
    let mut texts = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("no close within 15 s")
        {
            Some(Ok(Message::Text(t))) => texts.push(t.to_string()),
            Some(Ok(Message::Close(f))) => return (texts, f),
            Some(Ok(_)) => {}
            other => panic!("socket ended without a close frame: {other:?}"),
        }
    }
}

fn assert_restart_hint(close: Option<tokio_tungstenite::tungstenite::protocol::CloseFrame>) {
    assert!(
        tandem_connect::close_asks_reconnect(close.as_ref()),
        "{close:?}"
    );
    let close = close.unwrap();
    assert_eq!(u16::from(close.code), 1012);
    assert_eq!(close.reason.as_str(), tandem_connect::RESTART_CLOSE_REASON);
}

fn drain(rx: &Receiver<String>) -> Vec<String> {
    rx.try_iter().collect()
}

#[test]
fn health_fails_while_postgres_is_down_and_recovers() {
    if common::postgres_skipped() {
        return;
    }
    let mut pg = common::start_postgres();
    let relay = RelayProc::spawn(&["--database-url", &pg.url]);
    let body = health_becomes(&relay.url, 200, 10);
    assert!(body.contains(r#""status":"ok""#), "{body}");

    pg.stop();
    let body = health_becomes(&relay.url, 503, 20);
    assert!(body.contains("database unavailable"), "{body}");

    pg.start_again();
    let body = health_becomes(&relay.url, 200, 30);
    assert!(body.contains(r#""status":"ok""#), "{body}");
}

#[tokio::test]
async fn metrics_time_publishes_and_count_rejections_by_reason() {
    let dir = TempDir::new("metrics");
    let db = dir.path().join("r.db").to_string_lossy().into_owned();
    let relay = RelayProc::spawn(&["--database", &db, "--max-frame-bytes", "4096"]);
    let (a_key, a_m, group) = founder();
    let mut a = Client::connect(&relay.url, &a_key, a_m).await.unwrap();
    let (b_key, b_m, _) = common::admitted(&mut a, &a_key, group, Capabilities::MESSAGE).await;
    let mut b = Client::connect(&relay.url, &b_key, b_m).await.unwrap();
    // An offline member: its mailbox keeps what the group sends.
    let (c_key, c_m, _) = common::admitted(&mut a, &a_key, group, Capabilities::MESSAGE).await;
    common::register_offline(&relay.url, &c_key, c_m).await;

    for i in 0..3u8 {
        a.publish(Recipient::Group, &[i; 16]).await.unwrap();
    }
    for _ in 0..3 {
        let m = common::expect_message(&mut b).await;
        b.ack(m.id).await.unwrap();
    }
    b.ping().await.unwrap();
    // Too large for this relay: refused as too_large.
    a.send_raw(format!(
        r#"{{"type":"ping","req":9,"pad":"{}"}}"#,
        "x".repeat(5000)
    ))
    .await
    .unwrap();
    let _ = a.next_raw().await.unwrap();

    let (status, m) = get(&relay.url, "/metrics");
    assert_eq!(status, 200);
    assert_eq!(
        series(&m, "tandem_relay_publish_durable_seconds_count"),
        3,
        "{m}"
    );
    assert_eq!(
        series(&m, "tandem_relay_publish_deliver_seconds_count"),
        3,
        "{m}"
    );
    assert_eq!(
        series(
            &m,
            r#"tandem_relay_publish_durable_seconds_bucket{le="+Inf"}"#
        ),
        3
    );
    // The writer's group commit: the 3 publishes (and the rest it wrote)
    // went through batches it timed, each holding at least one job.
    let jobs = series(&m, "tandem_relay_writer_jobs_total");
    let batches = series(&m, "tandem_relay_writer_batch_seconds_count");
    assert!(jobs >= 3, "{m}");
    assert!((1..=jobs).contains(&batches), "{m}");
    // (A batch's COMMIT is timed just before the batch: one may sit between.)
    let commits = series(&m, "tandem_relay_writer_commit_seconds_count");
    assert!((batches..=batches + 1).contains(&commits), "{m}");
    assert_eq!(series(&m, "tandem_relay_connections_authenticated"), 2);
    assert_eq!(series(&m, "tandem_relay_connections_open"), 2);
    assert_eq!(
        series(
            &m,
            r#"tandem_relay_frames_rejected_total{reason="too_large"}"#
        ),
        1
    );
    assert_eq!(
        series(
            &m,
            r#"tandem_relay_frames_rejected_total{reason="rate_limited"}"#
        ),
        0
    );
    // c's mailbox holds the three group messages (and its admitted notice
    // if any): it is the deepest, and the only one waiting besides a's.
    assert!(series(&m, "tandem_relay_mailbox_depth_max") >= 3, "{m}");
    assert!(series(&m, "tandem_relay_mailbox_entries") >= 3, "{m}");
    assert!(series(&m, "tandem_relay_mailboxes_waiting") >= 1, "{m}");
}

/// SIGTERM: the relay stops accepting, a delivery already queued reaches
/// its device before the close, every socket closes with 1012 and the
/// restart reason, the process exits 0, and a message acknowledged to its
/// sender just before the signal is in the recipient's mailbox after the
/// restart. The relay's log of the whole run (debug level, JSON lines)
/// holds neither the payload nor a device's public key in any encoding.
#[tokio::test]
async fn sigterm_closes_with_the_restart_hint_and_loses_nothing() {
    let dir = TempDir::new("sigterm");
    let db = dir.path().join("r.db").to_string_lossy().into_owned();
    let logs = ["--log", "debug", "--log-format", "json"];
    let (mut relay, stderr) =
        RelayProc::spawn_watching_stderr(&[&["--database", &db][..], &logs].concat());
    let (a_key, a_m, group) = founder();
    let mut a = Client::connect(&relay.url, &a_key, a_m).await.unwrap();
    let (b_key, b_m, _) = common::admitted(&mut a, &a_key, group, Capabilities::MESSAGE).await;
    let b = Client::connect(&relay.url, &b_key, b_m.clone())
        .await
        .unwrap();
    let payload = b"secret-envelope-bytes-0123456789".to_vec();
    let id = a
        .publish(Recipient::Device(b_key.device_id()), &payload)
        .await
        .unwrap();

    sigterm(&relay);
    // b reads its socket only now: the delivery comes first, then the close.
    let (texts, close) = until_close(b.into_socket()).await;
    assert!(
        texts.iter().any(|t| t.contains(r#""type":"deliver""#)),
        "the queued delivery did not precede the close: {texts:?}"
    );
    assert_restart_hint(close);
    // a, which had nothing queued, gets the same close.
    let (_, close) = until_close(a.into_socket()).await;
    assert_restart_hint(close);
    assert!(exits(&mut relay).success());
    let mut log = drain(&stderr);

    // Not acknowledged by b: it is still in b's mailbox after the restart.
    let (relay2, stderr2) =
        RelayProc::spawn_watching_stderr(&[&["--database", &db][..], &logs].concat());
    let mut b = Client::connect(&relay2.url, &b_key, b_m).await.unwrap();
    let m = common::expect_message(&mut b).await;
    assert_eq!((m.id, m.payload.as_slice()), (id, payload.as_slice()));
    b.ack(m.id).await.unwrap();
    b.ping().await.unwrap();
    drop(b);
    drop(relay2);
    std::thread::sleep(Duration::from_millis(100));
    log.extend(drain(&stderr2));

    // The log: one JSON object a line, with the shutdown in it ...
    assert!(log.len() >= 4, "{log:?}");
    for line in &log {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
    }
    assert!(log.iter().any(|l| l.contains("shutting down")), "{log:?}");
    assert!(log.iter().any(|l| l.contains("authenticated")), "{log:?}");
    // ... and no payload or key, raw, hex or base64 (as on the wire).
    let wire = |b: &[u8]| {
        serde_json::to_string(&tandem_pair::Bytes(b.to_vec()))
            .unwrap()
            .trim_matches('"')
            .to_owned()
    };
    let mut secrets = vec![
        String::from_utf8(payload.clone()).unwrap(),
        hex::encode(&payload),
        wire(&payload),
    ];
    for key in [&a_key, &b_key] {
        let public = key.public().0;
        secrets.push(hex::encode(public));
        secrets.push(wire(&public));
    }
    let all = log.join("\n");
    for s in &secrets {
        assert!(!all.contains(s.as_str()), "the log holds {s}:\n{all}");
    }
}

/// The soft and hard "Max open files" of a process, from /proc.
fn open_file_limits(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (v[0], v[1])
}

/// A relay started with a soft limit of 64 open files (systemd starts
/// services with 1,024) still takes every connection: it raises its soft
/// limit to the hard one at start. Without that, accepts fail with EMFILE
/// past about 50 connections and the rest wait (each connect below would
/// time out).
#[tokio::test]
async fn a_low_soft_open_file_limit_does_not_cap_connections() {
    const CONNECTIONS: usize = 200;
    let dir = TempDir::new("relay-nofile");
    let db = dir.path().join("relay.db");
    let relay = RelayProc::spawn_with_soft_open_files(
        64,
        &[
            "--database",
            db.to_str().unwrap(),
            "--max-conns-per-ip",
            "100000",
        ],
    );
    let (soft, hard) = open_file_limits(relay.child.id());
    assert!(
        hard > CONNECTIONS as u64 + 64,
        "this machine's hard open-file limit ({hard}) is too low for the test"
    );
    assert_eq!(
        soft, hard,
        "the relay did not raise its soft open-file limit"
    );

    // Every connection is answered with the relay's challenge while all
    // the earlier ones stay open.
    let mut open = Vec::with_capacity(CONNECTIONS);
    for i in 0..CONNECTIONS {
        let (mut ws, _) = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async(relay.url.as_str()),
        )
        .await
        .unwrap_or_else(|_| panic!("connection {i} not accepted within 10 s"))
        .unwrap();
        let first = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap_or_else(|_| panic!("connection {i}: no challenge within 10 s"));
        match first {
            Some(Ok(Message::Text(t))) => assert!(t.contains("challenge"), "{t}"),
            other => panic!("connection {i}: expected the challenge, got {other:?}"),
        }
        open.push(ws);
    }
    assert_eq!(open.len(), CONNECTIONS);
}
