//! Helpers shared by the relay's integration tests: temp dirs, an
//! in-process relay on 127.0.0.1, the real binary as a child process, and
//! device identities.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)] // test support code

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use rand_core::OsRng;
use tandem_pair::{
    Capabilities, DeviceId, GroupId, IdentityKey, Membership, RevocationId, RevocationReason,
    RevocationRecord, RevocationRequest, RevocationTarget, SessionToken, TokenRequest,
};
use tandem_relay::{
    app,
    client::{Client, Incoming},
    store, AppState, Config, Error,
};

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let p = std::env::temp_dir().join(format!(
            "tandem-relay-{tag}-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An in-process relay serving on a free 127.0.0.1 port.
pub struct Relay {
    pub url: String,
    pub http: String,
    pub state: AppState,
    task: tokio::task::JoinHandle<()>,
    _dir: TempDir,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn start_relay(config: Config) -> Relay {
    start_relay_with_clock(config, None).await
}

/// Like [`start_relay`], with the relay's clock replaced.
pub async fn start_relay_with_clock(
    config: Config,
    clock: Option<tandem_relay::server::Clock>,
) -> Relay {
    let dir = TempDir::new("inproc");
    let db = dir.path().join("relay.db");
    start_relay_in(config, dir, &db, clock).await
}

/// A relay on the SQLite database at `db` (kept across relays), owning `dir`.
pub async fn start_relay_in(
    mut config: Config,
    dir: TempDir,
    db: &Path,
    clock: Option<tandem_relay::server::Clock>,
) -> Relay {
    config.database = db.to_string_lossy().into_owned();
    let store = store::open(&config.database).await.unwrap();
    start_relay_on(config, store, dir, clock).await
}

/// A relay serving `store` (tests wrap stores to observe them).
pub async fn start_relay_on(
    config: Config,
    store: std::sync::Arc<dyn store::Store>,
    dir: TempDir,
    clock: Option<tandem_relay::server::Clock>,
) -> Relay {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let url = format!("ws://{addr}/v1/ws");
    let mut state = AppState::new(config, store, url.clone()).await.unwrap();
    if let Some(clock) = clock {
        state = state.with_clock(clock);
    }
    let router = app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Relay {
        url,
        http: format!("http://{addr}"),
        state,
        task,
        _dir: dir,
    }
}

/// A clock the test moves by hand, starting at the real time.
pub fn manual_clock() -> (
    std::sync::Arc<std::sync::atomic::AtomicU64>,
    tandem_relay::server::Clock,
) {
    let t = std::sync::Arc::new(AtomicU64::new(now()));
    let c = std::sync::Arc::clone(&t);
    (t, std::sync::Arc::new(move || c.load(Ordering::Relaxed)))
}

/// A config with limits loose enough not to interfere with functional tests.
pub fn loose() -> Config {
    Config {
        rate_per_sec: 10_000,
        rate_burst: 10_000,
        ..Config::default()
    }
}

/// Connects `key` once so the relay knows the device, then closes: the device
/// is registered and offline (its mailbox fills from here on).
pub async fn register_offline(url: &str, key: &IdentityKey, membership: Membership) {
    Client::connect(url, key, membership)
        .await
        .unwrap()
        .close()
        .await
        .unwrap();
}

/// A founding device: key, membership claim, group.
pub fn founder() -> (IdentityKey, Membership, GroupId) {
    let key = IdentityKey::generate(&mut OsRng);
    let mut salt = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut salt);
    let group = GroupId::founded(&key.public(), &salt);
    (key, Membership::Founder { group, salt }, group)
}

/// A token `issuer` signs for a new device in `group` (not yet registered
/// at the relay: see [`admitted`]).
pub fn member(
    issuer: &IdentityKey,
    group: GroupId,
    caps: Capabilities,
    lifetime: u64,
) -> (IdentityKey, Membership, SessionToken) {
    let key = IdentityKey::generate(&mut OsRng);
    let token = issue(issuer, group, &key, caps, lifetime);
    (
        key,
        Membership::Member {
            token: token.clone(),
        },
        token,
    )
}

/// A token from `issuer` for `subject`.
pub fn issue(
    issuer: &IdentityKey,
    group: GroupId,
    subject: &IdentityKey,
    caps: Capabilities,
    lifetime: u64,
) -> SessionToken {
    SessionToken::issue(
        issuer,
        &TokenRequest {
            group,
            subject: subject.public(),
            subject_encryption: subject.encryption_public(),
            capabilities: caps,
            lifetime_secs: lifetime,
        },
        now(),
        &mut OsRng,
    )
}

/// A device paired into `group` by the device connected as `issuer`, which
/// registers the token at the relay first (as the approving device does).
pub async fn admitted(
    issuer: &mut Client,
    issuer_key: &IdentityKey,
    group: GroupId,
    caps: Capabilities,
) -> (IdentityKey, Membership, SessionToken) {
    let (key, m, token) = member(issuer_key, group, caps, 3600);
    issuer.admit(token.clone()).await.unwrap();
    (key, m, token)
}

/// A revocation record by `issuer` at the head of its group's chain as the
/// relay reports it to `c` (the issuer's own connection, usually).
pub async fn at_head(
    c: &mut Client,
    issuer: &IdentityKey,
    group: GroupId,
    target: RevocationTarget,
    rotator: Option<DeviceId>,
) -> RevocationRecord {
    let chain = c.revocation_chain(0).await.unwrap();
    let seq = chain.len() as u32 + 1;
    let prev = chain
        .last()
        .map_or(RevocationId::NONE, RevocationRecord::id);
    record(issuer, group, target, rotator, seq, prev)
}

/// A revocation record with every chain field chosen by the caller.
pub fn record(
    issuer: &IdentityKey,
    group: GroupId,
    target: RevocationTarget,
    rotator: Option<DeviceId>,
    seq: u32,
    prev: RevocationId,
) -> RevocationRecord {
    RevocationRecord::issue(
        issuer,
        &RevocationRequest {
            group,
            target,
            rotator,
            seq,
            prev,
            reason: RevocationReason::Lost,
            erase: false,
        },
        now(),
    )
}

/// `sender` publishes "before" to its group, then "direct" to `target`;
/// `target` and each of `others` receive and ack them, and `target`'s acks
/// are durable when this returns (the relay knows the group as it is now).
pub async fn group_and_direct(
    sender: &mut Client,
    target: &mut Client,
    others: &mut [&mut Client],
) {
    sender
        .publish(tandem_pair::Recipient::Group, b"before")
        .await
        .unwrap();
    for dev in others.iter_mut().map(|d| &mut **d).chain([&mut *target]) {
        let got = expect_message(dev).await;
        assert_eq!(got.payload, b"before");
        dev.ack(got.id).await.unwrap();
    }
    sender
        .publish(tandem_pair::Recipient::Device(target.device()), b"direct")
        .await
        .unwrap();
    let got = expect_message(target).await;
    assert_eq!(got.payload, b"direct");
    target.ack(got.id).await.unwrap();
    target.ping().await.unwrap();
}

/// `sender` publishes "next" to its group and "direct" to the device
/// `to`; returns the two ids (the device receives them in this order).
pub async fn next_and_direct(sender: &mut Client, to: DeviceId) -> [tandem_pair::MessageId; 2] {
    let group = sender
        .publish(tandem_pair::Recipient::Group, b"next")
        .await
        .unwrap();
    let direct = sender
        .publish(tandem_pair::Recipient::Device(to), b"direct")
        .await
        .unwrap();
    [group, direct]
}

/// Receives what [`next_and_direct`] sent, in order, and acks it.
pub async fn expect_next_and_direct(c: &mut Client, ids: [tandem_pair::MessageId; 2]) {
    for (id, payload) in ids.into_iter().zip([&b"next"[..], b"direct"]) {
        let m = expect_message(c).await;
        assert_eq!((m.id, m.payload.as_slice()), (id, payload));
        c.ack(m.id).await.unwrap();
    }
}

/// `issuer` revokes `device` at the head of the chain; returns once
/// `witness`, another member, got the revocation notice (and acked it).
pub async fn revoke_witnessed(
    issuer: &mut Client,
    issuer_key: &IdentityKey,
    group: GroupId,
    device: DeviceId,
    witness: &mut Client,
) {
    let rec = at_head(
        issuer,
        issuer_key,
        group,
        RevocationTarget::Device(device),
        Some(issuer_key.device_id()),
    )
    .await;
    issuer.revoke(rec).await.unwrap();
    match witness.recv().await.unwrap() {
        Incoming::Revoked { id: Some(id), .. } => witness.ack(id).await.unwrap(),
        other => panic!("expected the revocation notice, got {other:?}"),
    }
}

/// The relay's error code for a refusal (panics on other errors).
pub fn code_of(e: &Error) -> String {
    match e.code() {
        Some(c) => serde_json::to_value(c)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned(),
        None => panic!("expected a relay refusal, got {e:?}"),
    }
}

/// Barrier: nothing was delivered to `c` before a ping round trip (the
/// relay sends what it pushed to a device before answering its next frame).
pub async fn expect_nothing(c: &mut Client) {
    c.ping().await.unwrap();
    if let Some(got) = c.try_recv() {
        panic!("expected nothing, got {got:?}");
    }
}

/// The next pushed message, which must be a delivery.
pub async fn expect_message(c: &mut Client) -> tandem_relay::client::Delivery {
    match c.recv().await.unwrap() {
        Incoming::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// The real `tandem-relay` binary as a child process.
pub struct RelayProc {
    pub child: Child,
    pub url: String,
}

impl RelayProc {
    /// Starts the binary with `args` plus `--listen 127.0.0.1:0`, and waits
    /// (at most 30 s) for its "listening on" line.
    pub fn spawn(args: &[&str]) -> Self {
        Self::start(args, Stdio::inherit())
    }

    /// [`Self::spawn`], with the relay's stderr lines sent to the returned
    /// channel (and still printed, for the test's log).
    pub fn spawn_watching_stderr(args: &[&str]) -> (Self, std::sync::mpsc::Receiver<String>) {
        let mut relay = Self::start(args, Stdio::piped());
        let stderr = relay.child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("{line}");
                let _ = tx.send(line);
            }
        });
        (relay, rx)
    }

    /// [`Self::spawn`] with the soft open-file limit lowered to `limit`
    /// (the hard limit as it was), as a service manager may start it.
    pub fn spawn_with_soft_open_files(limit: u64, args: &[&str]) -> Self {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            r#"ulimit -S -n "$1" && shift && exec "$@""#,
            "sh",
            &limit.to_string(),
            env!("CARGO_BIN_EXE_tandem-relay"),
        ]);
        Self::start_command(cmd, args, Stdio::inherit())
    }

    fn start(args: &[&str], stderr: Stdio) -> Self {
        Self::start_command(
            Command::new(env!("CARGO_BIN_EXE_tandem-relay")),
            args,
            stderr,
        )
    }

    fn start_command(mut cmd: Command, args: &[&str], stderr: Stdio) -> Self {
        let mut child = cmd
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start tandem-relay");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep draining so the child never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!("tandem-relay did not report listening within 30 s");
            }
        };
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("ws://") || w.starts_with("wss://"))
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_string();
        Self { child, url }
    }

    /// SIGKILL (std's `Child::kill` sends SIGKILL on Unix): no shutdown code runs.
    pub fn sigkill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for RelayProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Rate-limit flags for the binary loose enough for load from one device.
pub const LOOSE_RATE: [&str; 4] = ["--rate", "100000", "--burst", "100000"];

/// Waits (at most 60 s) until `acked()` reaches `n`, SIGKILLs `relay` and
/// waits for the `writers`, which must stop on their own once their
/// connections fail.
pub async fn kill_after(
    acked: impl Fn() -> usize,
    n: usize,
    relay: RelayProc,
    writers: Vec<tokio::task::JoinHandle<()>>,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while acked() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "relay too slow to accept {n} messages"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    relay.sigkill();
    for t in writers {
        tokio::time::timeout(Duration::from_secs(15), t)
            .await
            .expect("writer stuck")
            .unwrap();
    }
}

/// A throwaway PostgreSQL server (Debian `postgresql` package) in a temp dir.
pub struct Postgres {
    child: Child,
    pub url: String,
    bin: PathBuf,
    port: u16,
    _dir: TempDir,
}

impl Postgres {
    /// Stops the server at once (`pg_ctl stop -m immediate`: like a crash,
    /// nothing is flushed beyond what was committed).
    pub fn stop(&mut self) {
        let st = as_postgres_user(&self.bin, "pg_ctl")
            .arg("stop")
            .arg("-D")
            .arg(self._dir.path().join("data"))
            .args(["-m", "immediate", "-w"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "pg_ctl stop failed");
        let _ = self.child.wait();
    }

    /// Starts the stopped server again on the same port and data.
    pub fn start_again(&mut self) {
        self.child = spawn_postgres(&self.bin, self._dir.path(), self.port);
        assert!(
            wait_ready(&self.bin, self.port, &mut self.child),
            "PostgreSQL could not take its port {} again",
            self.port
        );
    }
}

fn spawn_postgres(bin: &Path, dir: &Path, port: u16) -> Child {
    as_postgres_user(bin, "postgres")
        .arg("-D")
        .arg(dir.join("data"))
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-k"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits (at most 30 s) until the server on `port` accepts connections;
/// false when `child` exited first (its port was taken: see `start_postgres`).
/// On a timeout the server is killed and the test panics.
fn wait_ready(bin: &Path, port: u16, child: &mut Child) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if child.try_wait().ok().flatten().is_some() {
            return false;
        }
        let ready = Command::new(bin.join("pg_isready"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "tandem",
                "-d",
                "postgres",
            ])
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        // Ready, and still ours: a server that lost the port to another one
        // has exited by now (it exits at once when it cannot bind).
        if ready && child.try_wait().ok().flatten().is_none() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("PostgreSQL did not start within 30 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pg_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("postgres").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

fn as_postgres_user(bin: &Path, name: &str) -> Command {
    // PostgreSQL refuses to run as root; drop to the `postgres` user then.
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(name));
        c
    } else {
        Command::new(bin.join(name))
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A port that was free a moment ago: only for servers that cannot bind port 0
/// and report it (PostgreSQL), whose start retries when it was taken.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether the PostgreSQL tests were explicitly switched off with
/// `TANDEM_RELAY_SKIP_POSTGRES=1` (says so loudly; never silent).
pub fn postgres_skipped() -> bool {
    let skip = std::env::var("TANDEM_RELAY_SKIP_POSTGRES").is_ok_and(|v| v == "1");
    if skip {
        eprintln!("SKIPPED: PostgreSQL test (TANDEM_RELAY_SKIP_POSTGRES=1)");
    }
    skip
}

/// Starts PostgreSQL, or panics with what to install.
pub fn start_postgres() -> Postgres {
    let bin = pg_bin().expect(
        "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; \
         install them with `apt-get install -y postgresql`",
    );
    let dir = TempDir::new("pg");
    let data = dir.path().join("data");
    if is_root() {
        let st = Command::new("chown")
            .args(["-R", "postgres:"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(st.success(), "chown of the PostgreSQL temp dir failed");
    }
    let out = as_postgres_user(&bin, "initdb")
        .args(["-D"])
        .arg(&data)
        .args([
            "-U",
            "tandem",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-instructions",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // PostgreSQL cannot be given port 0 and report it, so a free port is
    // picked; should another process take it before the server binds, the
    // server exits and another port is tried (no race decides the outcome).
    for _ in 0..5 {
        let port = free_port();
        let mut child = spawn_postgres(&bin, dir.path(), port);
        if wait_ready(&bin, port, &mut child) {
            return Postgres {
                child,
                url: format!("postgres://tandem@127.0.0.1:{port}/postgres"),
                bin,
                port,
                _dir: dir,
            };
        }
        eprintln!("PostgreSQL lost port {port} to another process; trying another");
    }
    panic!("PostgreSQL could not bind a port in 5 tries")
}
