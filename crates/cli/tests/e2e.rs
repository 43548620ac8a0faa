//! Devices running the real `tandem` binary pair through a real
//! `tandem-relay` process on 127.0.0.1.
//!
//! Needs the relay binary: `cargo build -p tandem-relay --bin tandem-relay`
//! (found next to this test's target dir, or set `TANDEM_RELAY_BIN`).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use rand_core::OsRng;
use tandem_pair::{Approver, Joiner, Membership, PairingOffer, Recipient, Topic};
use tandem_relay::client::{Client, Incoming};

const TANDEM: &str = env!("CARGO_BIN_EXE_tandem");
static COUNTER: AtomicU32 = AtomicU32::new(0);

struct TempDir(PathBuf);
impl TempDir {
    fn new() -> Self {
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

fn relay_bin() -> PathBuf {
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
fn lines(child: &mut Child) -> Receiver<String> {
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

fn wait_line(rx: &Receiver<String>, prefix: &str, secs: u64) -> String {
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

struct Relay {
    child: Child,
    url: String,
    _dir: TempDir,
}

impl Relay {
    fn start() -> Self {
        let dir = TempDir::new();
        let mut child = Command::new(relay_bin())
            .args(["--listen", "127.0.0.1:0", "--database"])
            .arg(dir.0.join("relay.db"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let rx = lines(&mut child);
        let line = wait_line(&rx, "tandem-relay listening on ", 30);
        let url = line.split_whitespace().next().unwrap().to_owned();
        Self {
            child,
            url,
            _dir: dir,
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Dev {
    home: PathBuf,
}

fn cmd(home: &Path) -> Command {
    let mut c = Command::new(TANDEM);
    c.arg("--home")
        .arg(home)
        .env("TANDEM_PASSWORD", "correct horse")
        .env("TANDEM_INSECURE_TEST_KDF", "1")
        .stdin(Stdio::null());
    c
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

impl Dev {
    fn new(dir: &TempDir, name: &str, relay: &Relay) -> Self {
        let home = dir.0.join(name);
        let d = Self { home };
        let o = d.run_ok(&["init", "--name", name, "--relay", &relay.url]);
        assert!(o.contains("device: "), "{o}");
        d
    }
    fn id(&self) -> String {
        let o = self.run_ok(&["whoami"]);
        o.lines()
            .find_map(|l| l.strip_prefix("device: "))
            .unwrap()
            .to_owned()
    }
    fn run(&self, args: &[&str]) -> Output {
        cmd(&self.home).args(args).output().unwrap()
    }
    fn run_ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        let (out, err) = text(&o);
        assert!(o.status.success(), "tandem {args:?} failed:\n{out}\n{err}");
        out
    }
    fn run_err(&self, args: &[&str]) -> String {
        let o = self.run(args);
        let (out, err) = text(&o);
        assert!(
            !o.status.success(),
            "tandem {args:?} should fail:\n{out}\n{err}"
        );
        err
    }
    /// Starts `pair show`; returns the child, its line reader and the link.
    fn show(&self, extra: &[&str]) -> (Child, Receiver<String>, String) {
        let mut child = cmd(&self.home)
            .args(["pair", "show", "--no-qr"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let rx = lines(&mut child);
        let link = wait_line(&rx, "link: ", 30);
        (child, rx, link)
    }
}

fn finish(child: Child) -> (bool, String, String) {
    let o = child.wait_with_output().unwrap();
    let (out, err) = text(&o);
    (o.status.success(), out, err)
}

/// Pairs `new` into `trusted`'s group; returns the code both showed.
fn pair(trusted: &Dev, new: &Dev) -> String {
    let (child, rx, link) = new.show(&[]);
    // The approver prints the code; a person compares it with the new
    // device's screen. Here: run accept in the background, read the new
    // device's code, and type that.
    let mut accept = cmd(&trusted.home)
        .args(["pair", "accept", &link, "--timeout", "30"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let shown = wait_line(&rx, "code: ", 30);
    {
        use std::io::Write;
        let mut stdin = accept.stdin.take().unwrap();
        writeln!(stdin, "{shown}").unwrap();
    }
    let o = accept.wait_with_output().unwrap();
    let (aout, aerr) = text(&o);
    assert!(o.status.success(), "accept failed:\n{aout}\n{aerr}");
    assert!(
        aout.contains(&format!("code: {shown}")),
        "approver showed a different code:\n{aout}"
    );
    let group = wait_line(&rx, "paired: group ", 30);
    assert_eq!(group.len(), 32);
    let (ok, _, err) = finish(child);
    assert!(ok, "pair show failed:\n{err}");
    shown
}

#[test]
fn pair_message_replay_tamper_revoke() {
    let relay = Relay::start();
    let dir = TempDir::new();
    let phone = Dev::new(&dir, "phone", &relay);
    let desk = Dev::new(&dir, "desk", &relay);
    let laptop = Dev::new(&dir, "laptop", &relay);
    let (phone_id, desk_id, laptop_id) = (phone.id(), desk.id(), laptop.id());

    let code = pair(&phone, &desk);
    assert_eq!(code.len(), 6);
    pair(&phone, &laptop);

    // Everyone lists everyone, via the relay.
    let list = desk.run_ok(&["devices"]);
    for id in [&phone_id, &desk_id, &laptop_id] {
        assert!(list.contains(id.as_str()), "{list}");
    }
    assert!(list.contains("this device"), "{list}");
    let whoami_phone = phone.run_ok(&["whoami"]);
    let group = whoami_phone
        .lines()
        .find(|l| l.starts_with("group: "))
        .unwrap();
    assert!(desk.run_ok(&["whoami"]).contains(group));

    // A group message reaches the others, end to end.
    phone.run_ok(&["send", "hello from the phone"]);
    let raw = dir.0.join("raw-desk");
    std::fs::create_dir_all(&raw).unwrap();
    let out = desk.run_ok(&["recv", "--idle", "2", "--save-raw", raw.to_str().unwrap()]);
    assert!(
        out.contains(&format!("message from {phone_id}: hello from the phone")),
        "{out}"
    );
    let out = laptop.run_ok(&["recv", "--idle", "2"]);
    assert!(out.contains("hello from the phone"), "{out}");
    // The laptop learned about the desk through the phone's announcement
    // or the welcome; either way it is listed.
    assert!(laptop.run_ok(&["devices", "--offline"]).contains(&desk_id));

    // Replay: the desk republishes the phone's message; the laptop refuses it.
    let saved: Vec<PathBuf> = std::fs::read_dir(&raw)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let msg = saved
        .iter()
        .find(|p| {
            let o = desk.run(&["open", p.to_str().unwrap()]);
            // Already accepted by the desk, so it reports a replay.
            String::from_utf8_lossy(&o.stderr).contains("replayed")
        })
        .expect("the saved message")
        .clone();
    desk.run_ok(&["inject", msg.to_str().unwrap()]);
    let out = laptop.run_ok(&["recv", "--idle", "2"]);
    assert!(
        out.contains("rejected message") && out.contains("replayed"),
        "{out}"
    );
    // Tamper: flip a ciphertext byte; refused as modified.
    desk.run_ok(&["inject", msg.to_str().unwrap(), "--flip", "70"]);
    let out = laptop.run_ok(&["recv", "--idle", "2"]);
    assert!(
        out.contains("rejected message") && out.contains("modified"),
        "{out}"
    );
    // Flip the signature's last byte.
    let len = tandem_pair::wire::b64_decode("t", std::fs::read_to_string(&msg).unwrap().trim())
        .unwrap()
        .len();
    desk.run_ok(&[
        "inject",
        msg.to_str().unwrap(),
        "--flip",
        &(len - 1).to_string(),
    ]);
    let out = laptop.run_ok(&["recv", "--idle", "2"]);
    assert!(
        out.contains("rejected message") && out.contains("signature"),
        "{out}"
    );

    // Token refresh travels through the group and the laptop adopts it.
    let expiry = |d: &Dev| -> u64 {
        d.run_ok(&["whoami"])
            .lines()
            .find_map(|l| l.strip_prefix("token_expires: "))
            .unwrap()
            .parse()
            .unwrap()
    };
    let before = expiry(&laptop);
    phone.run_ok(&["refresh", &laptop_id, "--days", "60"]);
    let out = laptop.run_ok(&["recv", "--idle", "2"]);
    assert!(out.contains(&format!("device token: {laptop_id}")), "{out}");
    let after = expiry(&laptop);
    assert!(after >= before + 29 * 86_400, "{before} -> {after}");
    // The relay accepts the refreshed token (recv authenticates with it).
    laptop.run_ok(&["recv", "--idle", "1"]);

    // Revoke the desk from the phone: key rotates, desk is shut out.
    let out = phone.run_ok(&["revoke", &desk_id, "--reason", "lost"]);
    assert!(out.contains(&format!("revoked: {desk_id}")), "{out}");
    assert!(out.contains("epoch 1 and sent to 1 device"), "{out}");
    // Revoking again is idempotent: the record is re-sent, the key rotated again.
    let out = phone.run_ok(&["revoke", &desk_id]);
    assert!(out.contains("already revoked here"), "{out}");
    assert!(out.contains("epoch 2 and sent to 1 device"), "{out}");
    let err = desk.run_err(&["send", "still here?"]);
    assert!(err.contains("revoked"), "{err}");
    let err = desk.run_err(&["recv", "--idle", "1"]);
    assert!(err.contains("revoked"), "{err}");
    let out = laptop.run_ok(&["recv", "--idle", "2"]);
    assert!(out.contains(&format!("revoked: {desk_id}")), "{out}");
    assert!(out.contains("group key rotated to epoch 1"), "{out}");
    assert!(out.contains("group key rotated to epoch 2"), "{out}");

    phone.run_ok(&["send", "after the revocation"]);
    let raw2 = dir.0.join("raw-laptop");
    std::fs::create_dir_all(&raw2).unwrap();
    let out = laptop.run_ok(&["recv", "--idle", "2", "--save-raw", raw2.to_str().unwrap()]);
    assert!(out.contains("after the revocation"), "{out}");
    // Even holding the ciphertext, the revoked desk cannot decrypt it.
    for e in std::fs::read_dir(&raw2).unwrap() {
        let p = e.unwrap().path();
        let err = desk.run_err(&["open", p.to_str().unwrap()]);
        assert!(err.contains("epoch") || err.contains("revoked"), "{err}");
    }
    let list = laptop.run_ok(&["devices", "--offline"]);
    let desk_line = list.lines().find(|l| l.contains(&desk_id)).unwrap();
    assert!(desk_line.contains("revoked"), "{list}");
}

#[test]
fn wrong_code_expired_and_second_use_are_refused() {
    let relay = Relay::start();
    let dir = TempDir::new();
    let phone = Dev::new(&dir, "phone", &relay);
    let desk = Dev::new(&dir, "desk", &relay);
    let other = Dev::new(&dir, "other", &relay);

    // Wrong code: the approver refuses, the new device is told.
    let (child, rx, link) = desk.show(&[]);
    let accept = cmd(&phone.home)
        .args([
            "pair",
            "accept",
            &link,
            "--code",
            "000000",
            "--timeout",
            "30",
        ])
        .output()
        .unwrap();
    let shown = wait_line(&rx, "code: ", 30);
    let (aout, aerr) = text(&accept);
    if shown != "000000" {
        assert!(!accept.status.success(), "{aout}{aerr}");
        assert!(aerr.contains("do not match"), "{aerr}");
        let (ok, _, err) = finish(child);
        assert!(!ok);
        assert!(err.contains("declined"), "{err}");
        assert!(!phone.run_ok(&["devices", "--offline"]).contains(&desk.id()));
    } else {
        let _ = finish(child); // one chance in a million
    }
    // The same link again on the same phone: one-time.
    let err = phone.run_err(&["pair", "accept", &link, "--code", &shown]);
    assert!(err.contains("already used"), "{err}");
    // On another device: nobody answers any more.
    let err = other.run_err(&["pair", "accept", &link, "--code", &shown, "--timeout", "3"]);
    assert!(
        err.contains("used already") || err.contains("expired"),
        "{err}"
    );

    // Expired link.
    let (mut child, _rx, link) = desk.show(&["--lifetime", "1", "--timeout", "4"]);
    std::thread::sleep(Duration::from_millis(2100));
    let err = phone.run_err(&["pair", "accept", &link, "--code", "123456"]);
    assert!(err.contains("expired"), "{err}");
    let _ = child.kill();
    let _ = child.wait();

    // Garbage links.
    for bad in [
        "",
        "tandem:pair?v=9",
        "https://evil.example/pair",
        "tandem:pair?v=1&relay=ws://x",
    ] {
        let err = phone.run_err(&["pair", "accept", bad, "--code", "123456"]);
        assert!(
            err.contains("pairing link") || err.contains("version"),
            "{bad}: {err}"
        );
    }
}

/// Mallory shows the phone her own QR and answers the desktop's real one.
#[test]
fn man_in_the_middle_yields_different_codes_and_fails() {
    let relay = Relay::start();
    let dir = TempDir::new();
    let phone = Dev::new(&dir, "phone", &relay);
    let desk = Dev::new(&dir, "desk", &relay);
    let (desk_child, desk_rx, real_link) = desk.show(&["--timeout", "20"]);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let now = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        };
        let mallory = tandem_pair::IdentityKey::generate(&mut OsRng);
        let mut mc = Client::connect(&relay.url, &mallory, Membership::Guest)
            .await
            .unwrap();
        async fn on_topic(c: &mut Client, t: Topic) -> Vec<u8> {
            loop {
                let i = c.recv_timeout(Duration::from_secs(20)).await.unwrap();
                c.ack(i.id()).await.unwrap();
                if let Incoming::Message(m) = i {
                    if m.to == Recipient::Topic(t) {
                        return m.payload;
                    }
                }
            }
        }
        // Mallory answers the desktop's real offer as if she were the phone.
        let real = PairingOffer::parse(&real_link).unwrap();
        let (mut m_app, hello) = Approver::start(&real, &mallory, now(), &mut OsRng).unwrap();
        mc.subscribe(real.topic).await.unwrap();
        mc.publish(Recipient::Topic(real.topic), &hello)
            .await
            .unwrap();
        let join = on_topic(&mut mc, real.topic).await;
        let desk_view = m_app.on_join(&join, now()).unwrap();
        let desk_code = wait_line(&desk_rx, "code: ", 20);
        assert_eq!(desk_view.code.to_string(), desk_code);
        // A replayed hello (or a second scan) is refused by the desktop.
        mc.publish(Recipient::Topic(real.topic), &hello)
            .await
            .unwrap();

        // Her own offer, which the phone scans instead.
        let mut m_join = Joiner::new(&relay.url, now(), 120, &mut OsRng).unwrap();
        let mtopic = m_join.offer().topic;
        mc.subscribe(mtopic).await.unwrap();
        let fake_link = m_join.offer().to_uri();
        // The user types the code the real desktop shows.
        let phone_proc = cmd(&phone.home)
            .args([
                "pair",
                "accept",
                &fake_link,
                "--code",
                &desk_code,
                "--timeout",
                "20",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let hello = on_topic(&mut mc, mtopic).await;
        let (join, mallory_code) = m_join.on_hello(&hello, &mallory, "desk", now()).unwrap();
        mc.publish(Recipient::Topic(mtopic), &join).await.unwrap();
        let o = tokio::task::spawn_blocking(move || phone_proc.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        let (pout, perr) = text(&o);
        let phone_code = pout
            .lines()
            .find_map(|l| l.strip_prefix("code: "))
            .unwrap()
            .to_owned();
        assert_eq!(phone_code, mallory_code.to_string());
        assert_ne!(
            phone_code, desk_code,
            "codes must differ with someone in the middle"
        );
        assert!(!o.status.success());
        assert!(perr.contains("do not match"), "{perr}");
        // Mallory is told no, and nothing about the group leaked to her.
        let answer = on_topic(&mut mc, mtopic).await;
        assert_eq!(
            m_join.on_accept(&answer, &mallory, now()).unwrap_err(),
            tandem_pair::Error::Declined
        );
        let _ = mc.close().await;
    });
    let list = phone.run_ok(&["devices", "--offline"]);
    assert_eq!(list.lines().count(), 1, "phone paired with nobody:\n{list}");
    let (ok, _, err) = finish(desk_child);
    assert!(!ok, "the real desktop never got an approval");
    assert!(
        err.contains("second answer") && err.contains("already used"),
        "{err}"
    );
}

#[test]
fn import_known_phrase() {
    // BIP-39/BIP-44 well-known vector: "abandon" x11 + "about", no passphrase,
    // m/44'/60'/0'/0/0 (the address MetaMask, ethers and viem derive).
    let dir = TempDir::new();
    let home = dir.0.join("imported");
    let mut child = cmd(&home)
        .args(["init", "--import", "--relay", "ws://127.0.0.1:9/v1/ws"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about").unwrap();
    }
    let (ok, out, err) = finish(child);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("address: 0x9858EfFD232B4033E47d90003D41EC34EcaEda94"),
        "{out}"
    );
    // A second init into the same home is refused; so is a wrong password.
    let o = cmd(&home).args(["init"]).output().unwrap();
    assert!(!o.status.success());
    assert!(text(&o).1.contains("already holds"), "{:?}", text(&o));
    let o = cmd(&home)
        .env("TANDEM_PASSWORD", "wrong")
        .args(["whoami"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(text(&o).1.contains("wrong password"), "{:?}", text(&o));
}
