//! Shared helpers for the command-line device's end-to-end tests: the real
//! `tandem` binary, the real `tandem-relay` binary on 127.0.0.1, temp homes.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub, missing_docs)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

const TANDEM: &str = env!("CARGO_BIN_EXE_tandem");
static COUNTER: AtomicU32 = AtomicU32::new(0);

pub struct TempDir(pub PathBuf);
impl TempDir {
    pub fn new() -> Self {
        let p = std::env::temp_dir().join(format!(
            "tandem-e2e-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn relay_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("TANDEM_RELAY_BIN") {
        return p.into();
    }
    // target/<profile>/deps/e2e-xxxx -> target/<profile>/tandem-relay
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().unwrap().parent().unwrap().join("tandem-relay");
    assert!(
        p.exists(),
        "relay binary not found at {}: run `cargo build -p tandem-relay --bin tandem-relay` first or set TANDEM_RELAY_BIN",
        p.display()
    );
    p
}

/// Reads a child's stdout lines on a thread so waits can time out.
pub fn lines(child: &mut Child) -> Receiver<String> {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

pub fn wait_line(rx: &Receiver<String>, prefix: &str, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if l.starts_with(prefix) => return l[prefix.len()..].trim().to_owned(),
            Ok(_) => {}
            Err(e) => panic!("no line starting with {prefix:?} within {secs} s: {e}"),
        }
    }
}

pub struct Relay {
    child: Child,
    /// The URL devices use (its public URL when one was given).
    pub url: String,
    /// Where it really listens.
    pub bound: String,
    _dir: TempDir,
}

impl Relay {
    /// `host:port` of its URL: the host of the app links it carries.
    #[allow(dead_code)] // not every test binary uses it
    pub fn authority(&self) -> &str {
        let rest = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, r)| r);
        rest.split('/').next().unwrap_or(rest)
    }

    pub fn start() -> Self {
        Self::start_with(&[])
    }
    /// Starts the relay with extra flags (e.g. `--public-url`).
    pub fn start_with(extra: &[&str]) -> Self {
        let dir = TempDir::new();
        let (child, line) = spawn_relay("127.0.0.1:0", &dir.0.join("relay.db"), extra);
        let bound = line.split_whitespace().next().unwrap().to_owned();
        let url = line
            .split("public URL ")
            .nth(1)
            .and_then(|r| r.split([',', ')']).next())
            .map_or_else(|| bound.clone(), str::to_owned);
        Self {
            child,
            url,
            bound,
            _dir: dir,
        }
    }
}

/// The relay binary listening on `listen` with the SQLite file `db`, and
/// its "listening on" line (without that prefix):
/// "ws://BOUND/v1/ws (public URL ..., storage: ...)".
pub fn spawn_relay(listen: &str, db: &Path, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(relay_bin())
        .args(["--listen", listen, "--database"])
        .arg(db)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = lines(&mut child);
    let line = wait_line(&rx, "tandem-relay listening on ", 30);
    (child, line)
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Dev {
    pub home: PathBuf,
}

pub fn cmd(home: &Path) -> Command {
    let mut c = Command::new(TANDEM);
    c.arg("--home")
        .arg(home)
        .env("TANDEM_PASSWORD", "correct horse")
        .env("TANDEM_INSECURE_TEST_KDF", "1")
        .stdin(Stdio::null());
    c
}

pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

impl Dev {
    pub fn new(dir: &TempDir, name: &str, relay: &Relay) -> Self {
        Self::with_url(dir, name, &relay.url)
    }
    /// A device whose wallet uses the relay at `url`.
    pub fn with_url(dir: &TempDir, name: &str, url: &str) -> Self {
        let home = dir.0.join(name);
        let d = Self { home };
        let o = d.run_ok(&["init", "--name", name, "--relay", url]);
        assert!(o.contains("device: "), "{o}");
        d
    }
    pub fn id(&self) -> String {
        let o = self.run_ok(&["whoami"]);
        o.lines()
            .find_map(|l| l.strip_prefix("device: "))
            .unwrap()
            .to_owned()
    }
    pub fn run(&self, args: &[&str]) -> Output {
        cmd(&self.home).args(args).output().unwrap()
    }
    pub fn run_ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        let (out, err) = text(&o);
        assert!(o.status.success(), "tandem {args:?} failed:\n{out}\n{err}");
        out
    }
    pub fn run_err(&self, args: &[&str]) -> String {
        let o = self.run(args);
        let (out, err) = text(&o);
        assert!(
            !o.status.success(),
            "tandem {args:?} should fail:\n{out}\n{err}"
        );
        err
    }
    /// Starts `pair show`; returns the running process once it printed its link.
    pub fn show(&self, extra: &[&str]) -> (Interactive, String) {
        let mut p = Interactive::spawn(
            cmd(&self.home)
                .args(["pair", "show", "--no-qr"])
                .args(extra),
        );
        let link = p.wait("link: ", 30);
        (p, link)
    }
    /// Starts `pair accept LINK`.
    pub fn accept(&self, link: &str, extra: &[&str]) -> Interactive {
        Interactive::spawn(cmd(&self.home).args(["pair", "accept", link]).args(extra))
    }
}

/// A running `tandem` that asks questions on stdout and reads answers.
pub struct Interactive {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<String>,
    /// Every stdout line read so far.
    pub seen: Vec<String>,
}

impl Interactive {
    pub fn spawn(c: &mut Command) -> Self {
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let rx = lines(&mut child);
        Self {
            child,
            stdin,
            rx,
            seen: Vec::new(),
        }
    }
    /// Waits for a stdout line starting with `prefix`; returns the rest.
    pub fn wait(&mut self, prefix: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if let Some(rest) = l.strip_prefix(prefix) {
                        return rest.trim().to_owned();
                    }
                }
                Err(e) => panic!(
                    "no line starting with {prefix:?} within {secs} s ({e}); saw:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
    /// Types a line.
    pub fn answer(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }
    /// Waits for the exit: success, the rest of stdout, stderr.
    pub fn finish(mut self) -> (bool, String, String) {
        drop(self.stdin.take());
        let o = self.child.wait_with_output().unwrap();
        let mut out = self.seen.join("\n");
        while let Ok(l) = self.rx.recv_timeout(Duration::from_secs(5)) {
            out.push('\n');
            out.push_str(&l);
        }
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        (o.status.success(), out, err)
    }
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Pairs `new` into `trusted`'s group, both users comparing the codes
/// (compare mode); returns the code both showed.
pub fn pair(trusted: &Dev, new: &Dev) -> String {
    let (mut show, link) = new.show(&[]);
    let mut accept = trusted.accept(&link, &["--compare", "--timeout", "60"]);
    let a = accept.wait("code: ", 30);
    let j = show.wait("code: ", 30);
    assert_eq!(a, j, "both screens show the same code");
    show.answer("y");
    accept.answer("y");
    accept.wait("approved: ", 30);
    let group = show.wait("paired: group ", 30);
    assert!(group.len() > 32, "{group}");
    let (ok, out, err) = accept.finish();
    assert!(ok, "accept failed:\n{out}\n{err}");
    let (ok, out, err) = show.finish();
    assert!(ok, "pair show failed:\n{out}\n{err}");
    a
}

pub fn finish(child: Child) -> (bool, String, String) {
    let o = child.wait_with_output().unwrap();
    let (out, err) = text(&o);
    (o.status.success(), out, err)
}

/// The malicious relay (`tandem-evil-relay`, crates/evil-relay) in front of
/// a real relay: devices dial the proxy; the relay checks auth against the
/// proxy's URL. Build it with `cargo build -p tandem-evil-relay`.
pub struct EvilRelay {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<String>,
    /// The URL devices use.
    pub url: String,
    /// The real relay behind it.
    pub relay: Relay,
}

pub fn evil_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("TANDEM_EVIL_RELAY_BIN") {
        return p.into();
    }
    let exe = std::env::current_exe().unwrap();
    let p = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("tandem-evil-relay");
    assert!(
        p.exists(),
        "malicious relay binary not found at {}: run `cargo build -p tandem-evil-relay` first or set TANDEM_EVIL_RELAY_BIN",
        p.display()
    );
    p
}

impl EvilRelay {
    pub fn start() -> Self {
        let mut child = Command::new(evil_bin())
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let rx = lines(&mut child);
        let url = wait_line(&rx, "evil-relay listening on ", 30);
        let relay = Relay::start_with(&["--public-url", &url]);
        let mut evil = Self {
            child,
            stdin,
            rx,
            url,
            relay,
        };
        let up = evil.relay.bound.clone();
        evil.control(&format!("upstream {up}"));
        evil
    }
    /// Sends a control line and waits for its `ok`.
    pub fn control(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(l) if l == "ok" => return,
                Ok(l) if l.starts_with("error") => panic!("evil relay refused {line:?}: {l}"),
                Ok(_) => {}
                Err(e) => panic!("evil relay did not answer {line:?}: {e}"),
            }
        }
    }
    /// Waits for a report line starting with `prefix`; returns the rest.
    pub fn report(&self, prefix: &str, secs: u64) -> String {
        wait_line(&self.rx, prefix, secs)
    }
}

impl Drop for EvilRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
