//! A relay restart does not end a waiting command: the relay closes every
//! socket with 1012 (restart) on SIGTERM, `tandem recv` reconnects by
//! itself (jittered backoff) and gets what was sent after the restart.
//!
//! Needs the relay binary: `cargo build -p tandem-relay --bin tandem-relay`.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::{cmd, pair, spawn_relay, Dev, Interactive, TempDir};

/// The relay binary on `listen` with the SQLite file `db`; its URL.
fn start_relay(listen: &str, db: &Path) -> (Child, String) {
    let (child, line) = spawn_relay(listen, db, &[]);
    (child, line.split_whitespace().next().unwrap().to_owned())
}

/// One series of the relay's `/metrics`.
fn metric(url: &str, name: &str) -> u64 {
    let addr = url.trim_start_matches("ws://").trim_end_matches("/v1/ws");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} missing:\n{body}"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn recv_reconnects_when_the_relay_restarts() {
    let dir = TempDir::new();
    let db = dir.0.join("relay.db");
    let (mut relay, url) = start_relay("127.0.0.1:0", &db);
    let desk = Dev::with_url(&dir, "desk", &url);
    let laptop = Dev::with_url(&dir, "laptop", &url);
    let desk_id = desk.id();
    pair(&desk, &laptop);

    // Barrier: the pairing's connections are gone (their processes have
    // exited, the relay may not have noticed yet) ...
    let authenticated = || metric(&url, "tandem_relay_connections_authenticated");
    let deadline = Instant::now() + Duration::from_secs(30);
    while authenticated() > 0 {
        assert!(
            Instant::now() < deadline,
            "the pairing's connections linger"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let recv = Interactive::spawn(cmd(&laptop.home).args(["recv", "--idle", "8"]));
    // ... and the one authenticated now is the laptop's recv.
    while authenticated() < 1 {
        assert!(Instant::now() < deadline, "the laptop never connected");
        std::thread::sleep(Duration::from_millis(50));
    }

    let st = Command::new("kill")
        .args(["-TERM", &relay.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    assert!(relay.wait().unwrap().success(), "relay exit after SIGTERM");
    // The same address and database, as an operator's restart.
    let listen = url.trim_start_matches("ws://").trim_end_matches("/v1/ws");
    let (mut relay, _) = start_relay(listen, &db);

    desk.run_ok(&["send", "after the restart"]);
    let (ok, out, err) = recv.finish();
    let _ = relay.kill();
    let _ = relay.wait();
    assert!(ok, "recv failed:\n{out}\n{err}");
    assert!(
        err.contains("the relay is restarting; reconnecting"),
        "{out}\n{err}"
    );
    assert!(
        out.contains(&format!("message from {desk_id}: after the restart")),
        "{out}\n{err}"
    );
}
