//! Real processes for the attacker tests: the evil relay in front of the
//! real `tandem-relay`, and devices speaking raw WebSocket frames.
//!
//! Needs the relay binary: `cargo build -p tandem-relay --bin tandem-relay`
//! (found next to this test's target dir, or set `TANDEM_RELAY_BIN`).

#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)] // test support code

use std::collections::{HashSet, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rand_core::OsRng;
use tandem_pair::envelope::Header;
use tandem_pair::{
    Bytes, ClientFrame, DeviceId, Envelope, EnvelopeKind, IdentityKey, Membership, MessageId,
    Recipient, RelayFrame, Topic,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const EVIL: &str = env!("CARGO_BIN_EXE_tandem-evil-relay");
/// Longest any single wait may take; everything normally answers in ms.
pub const WAIT: Duration = Duration::from_secs(10);
static COUNTER: AtomicU32 = AtomicU32::new(0);

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub struct TempDir(pub PathBuf);
impl TempDir {
    pub fn new() -> Self {
        let p = std::env::temp_dir().join(format!(
            "tandem-evil-{}-{}-{}",
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
    // target/<profile>/deps/attacks-xxxx -> target/<profile>/tandem-relay
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().unwrap().parent().unwrap().join("tandem-relay");
    assert!(
        p.exists(),
        "relay binary not found at {}: run `cargo build -p tandem-relay --bin tandem-relay` first or set TANDEM_RELAY_BIN",
        p.display()
    );
    p
}

/// A child's stdout, line by line, read on a thread so waits can time out.
pub struct Lines {
    rx: Receiver<String>,
    /// Lines read but not yet matched by a wait.
    seen: VecDeque<String>,
}

impl Lines {
    pub fn of(child: &mut Child) -> Self {
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
        Self {
            rx,
            seen: VecDeque::new(),
        }
    }

    /// Takes the first line (already read or still to come) that `pred`
    /// accepts; lines it skips stay for later waits.
    pub fn wait(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        if let Some(i) = self.seen.iter().position(|l| pred(l)) {
            return self.seen.remove(i).unwrap();
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(l) if pred(&l) => return l,
                Ok(l) => self.seen.push_back(l),
                Err(e) => panic!(
                    "no line {what} within {WAIT:?} ({e}); unmatched lines: {:?}",
                    self.seen
                ),
            }
        }
    }

    /// The first line starting with `prefix`, whole.
    pub fn expect(&mut self, prefix: &str) -> String {
        self.wait(&format!("starting with {prefix:?}"), |l| {
            l.starts_with(prefix)
        })
    }

    /// Every line printed so far that was not matched yet (does not wait).
    pub fn unmatched(&mut self) -> Vec<String> {
        while let Ok(l) = self.rx.try_recv() {
            self.seen.push_back(l);
        }
        self.seen.iter().cloned().collect()
    }
}

/// The evil relay in front of a real relay whose public URL is the proxy's.
pub struct Stack {
    /// The URL devices dial (the proxy's).
    pub url: String,
    /// The real relay's own URL (devices never dial it).
    pub relay_url: String,
    pub out: Lines,
    stdin: ChildStdin,
    proxy: Child,
    relay: Option<Child>,
    dir: TempDir,
}

impl Stack {
    /// Starts the proxy only: connections wait until [`Self::start_relay`].
    pub fn proxy_only() -> Self {
        let mut proxy = Command::new(EVIL)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut out = Lines::of(&mut proxy);
        let prefix = "evil-relay listening on ";
        let url = out.expect(prefix)[prefix.len()..].trim().to_owned();
        assert!(
            url.starts_with("ws://127.0.0.1:") && url.ends_with("/v1/ws"),
            "{url}"
        );
        Self {
            url,
            relay_url: String::new(),
            out,
            stdin: proxy.stdin.take().unwrap(),
            proxy,
            relay: None,
            dir: TempDir::new(),
        }
    }

    /// Starts the real relay with the proxy's URL as its public URL and
    /// tells the proxy where it is.
    pub fn start_relay(&mut self) {
        let mut relay = Command::new(relay_bin())
            .args(["--listen", "127.0.0.1:0", "--database"])
            .arg(self.dir.0.join("relay.db"))
            .args(["--public-url", &self.url])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = Lines::of(&mut relay);
        // Printed once it accepts; it names the public URL (the proxy's).
        let line = lines.expect("tandem-relay listening on ");
        assert!(line.contains(&self.url), "{line}");
        let port = listening_port(relay.id());
        self.relay = Some(relay);
        self.relay_url = format!("ws://127.0.0.1:{port}/v1/ws");
        let upstream = format!("upstream {}", self.relay_url);
        assert_eq!(self.control(&upstream), "ok");
    }

    /// Proxy and relay, ready.
    pub fn start() -> Self {
        let mut s = Self::proxy_only();
        s.start_relay();
        s
    }

    /// Sends a control line; returns the proxy's answer (`ok` or `error: ...`).
    pub fn control(&mut self, line: &str) -> String {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
        self.out.wait(&format!("answering {line:?}"), |l| {
            l == "ok" || l.starts_with("error: ")
        })
    }

    /// Adds a mode, which must be accepted.
    pub fn mode(&mut self, mode: &str) {
        assert_eq!(self.control(&format!("mode {mode}")), "ok", "mode {mode}");
    }

    /// Report lines (`evil: ...`) printed so far and not yet matched.
    pub fn reports(&mut self) -> Vec<String> {
        self.out
            .unmatched()
            .into_iter()
            .filter(|l| l.starts_with("evil: "))
            .collect()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.proxy.kill();
        let _ = self.proxy.wait();
        if let Some(r) = &mut self.relay {
            let _ = r.kill();
            let _ = r.wait();
        }
    }
}

/// The TCP port a child process listens on, read from /proc: the relay
/// prints its public URL (here the proxy's), not the address it bound, and
/// binding port 0 is the only race-free way to get a port.
fn listening_port(pid: u32) -> u16 {
    let mut inodes = HashSet::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap() {
        let Ok(target) = std::fs::read_link(e.unwrap().path()) else {
            continue;
        };
        let target = target.to_string_lossy();
        if let Some(inode) = target
            .strip_prefix("socket:[")
            .and_then(|s| s.strip_suffix(']'))
        {
            inodes.insert(inode.to_owned());
        }
    }
    let mut ports = HashSet::new();
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        for row in text.lines().skip(1) {
            let f: Vec<&str> = row.split_whitespace().collect();
            // sl local_address rem_address st ... inode; st 0A = LISTEN
            if f.len() > 9 && f[3] == "0A" && inodes.contains(f[9]) {
                let port = f[1].rsplit(':').next().unwrap();
                ports.insert(u16::from_str_radix(port, 16).unwrap());
            }
        }
    }
    assert_eq!(ports.len(), 1, "relay (pid {pid}) listens on {ports:?}");
    ports.into_iter().next().unwrap()
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A device speaking raw frames through the proxy.
pub struct Device {
    pub key: IdentityKey,
    pub id: DeviceId,
    ws: Ws,
    next_req: u64,
    /// Frames that arrived while waiting for something else.
    inbox: VecDeque<RelayFrame>,
}

impl Device {
    /// Opens the WebSocket only (no frame read yet).
    pub async fn open(url: &str, key: IdentityKey) -> (Ws, IdentityKey) {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        (ws, key)
    }

    /// Answers the challenge on an open socket as `membership`.
    pub async fn authenticate(
        url: &str,
        mut ws: Ws,
        key: IdentityKey,
        membership: Membership,
    ) -> Self {
        let challenge = next_frame(&mut ws).await;
        let RelayFrame::Challenge { nonce, .. } = challenge else {
            panic!("expected a challenge, got {challenge:?}")
        };
        let auth = ClientFrame::Auth {
            identity: key.public(),
            membership,
            signature: key.sign_auth(url, &nonce).unwrap(),
        };
        ws.send(Message::text(auth.encode())).await.unwrap();
        let ok = next_frame(&mut ws).await;
        let RelayFrame::AuthOk { device, .. } = ok else {
            panic!("expected auth_ok, got {ok:?}")
        };
        assert_eq!(device, key.device_id());
        Self {
            id: key.device_id(),
            key,
            ws,
            next_req: 1,
            inbox: VecDeque::new(),
        }
    }

    /// A guest with a fresh key.
    pub async fn guest(url: &str) -> Self {
        Self::guest_as(url, IdentityKey::generate(&mut OsRng)).await
    }

    /// A guest with this key (reconnecting gives the same device id).
    pub async fn guest_as(url: &str, key: IdentityKey) -> Self {
        let (ws, key) = Self::open(url, key).await;
        Self::authenticate(url, ws, key, Membership::Guest).await
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    pub async fn send(&mut self, f: &ClientFrame) {
        self.send_text(f.encode()).await;
    }

    fn req(&mut self) -> u64 {
        self.next_req += 1;
        self.next_req
    }

    /// The next frame (from the inbox first).
    pub async fn recv(&mut self) -> RelayFrame {
        match self.inbox.pop_front() {
            Some(f) => f,
            None => next_frame(&mut self.ws).await,
        }
    }

    /// Waits for the answer to `req`, keeping other frames in the inbox.
    async fn answer(&mut self, req: u64) -> RelayFrame {
        let deadline = Instant::now() + WAIT;
        loop {
            assert!(Instant::now() < deadline, "no answer to request {req}");
            let f = next_frame(&mut self.ws).await;
            let r = match &f {
                RelayFrame::Ok { req }
                | RelayFrame::Published { req, .. }
                | RelayFrame::Pong { req }
                | RelayFrame::Revocations { req, .. }
                | RelayFrame::Members { req, .. }
                | RelayFrame::Blob { req, .. }
                | RelayFrame::BlobStored { req, .. } => Some(*req),
                RelayFrame::Error { req, .. } => *req,
                _ => None,
            };
            if r == Some(req) {
                return f;
            }
            self.inbox.push_back(f);
        }
    }

    /// Sends a request frame made with a fresh id and returns the answer.
    pub async fn request(&mut self, make: impl FnOnce(u64) -> ClientFrame) -> RelayFrame {
        let req = self.req();
        self.send(&make(req)).await;
        self.answer(req).await
    }

    pub async fn subscribe(&mut self, topic: Topic) {
        let until = Some(now() + 300);
        let a = self
            .request(|req| ClientFrame::Subscribe { req, topic, until })
            .await;
        assert!(matches!(a, RelayFrame::Ok { .. }), "subscribe: {a:?}");
    }

    /// Publishes to a pairing topic; returns the stored message's id once
    /// the relay has stored it and pushed it to the subscribers.
    pub async fn publish(&mut self, topic: Topic, payload: Vec<u8>) -> MessageId {
        let a = self
            .request(|req| ClientFrame::Publish {
                req,
                to: Recipient::Topic(topic),
                payload: Bytes(payload),
            })
            .await;
        match a {
            RelayFrame::Published { id, .. } => id,
            other => panic!("publish: {other:?}"),
        }
    }

    /// Pings and returns every frame that arrived before the pong: the
    /// relay answers in order, so this is everything it sent until now.
    pub async fn barrier(&mut self) -> Vec<RelayFrame> {
        let pong = self.request(|req| ClientFrame::Ping { req }).await;
        assert!(matches!(pong, RelayFrame::Pong { .. }), "{pong:?}");
        self.inbox.drain(..).collect()
    }

    pub async fn ack(&mut self, id: MessageId) {
        self.send(&ClientFrame::Ack { id }).await;
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// The next relay frame on a socket (text only; pings are answered by
/// tungstenite). Panics after [`WAIT`] or if the socket closes.
pub async fn next_frame(ws: &mut Ws) -> RelayFrame {
    loop {
        let m = tokio::time::timeout(WAIT, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no frame within {WAIT:?}"));
        match m {
            Some(Ok(Message::Text(t))) => {
                return RelayFrame::decode(t.as_str())
                    .unwrap_or_else(|e| panic!("bad frame {t}: {e}"))
            }
            Some(Ok(Message::Close(cf))) => panic!("socket closed: {cf:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("socket error: {e}"),
            None => panic!("socket closed"),
        }
    }
}

/// The payloads of the `deliver` frames among `frames`, with their ids.
pub fn delivered(frames: &[RelayFrame]) -> Vec<(MessageId, Vec<u8>)> {
    frames
        .iter()
        .filter_map(|f| match f {
            RelayFrame::Deliver { id, payload, .. } => Some((*id, payload.0.clone())),
            _ => None,
        })
        .collect()
}

/// A sealed envelope of `kind` on `topic` (key `[3; 32]`).
pub fn envelope(kind: EnvelopeKind, topic: Topic, sender: DeviceId, seq: u64) -> Vec<u8> {
    let header = Header {
        kind,
        topic,
        sender,
        epoch: 0,
        seq,
    };
    Envelope::seal(&KEY, header, b"attack at dawn", &mut OsRng).encode()
}

/// The key [`envelope`] seals with.
pub const KEY: [u8; 32] = [3; 32];

/// Two guests subscribed to a fresh pairing topic.
pub async fn pair_of_guests(s: &Stack) -> (Device, Device, Topic) {
    let topic = Topic::random(&mut OsRng);
    let mut a = Device::guest(&s.url).await;
    let mut b = Device::guest(&s.url).await;
    a.subscribe(topic).await;
    b.subscribe(topic).await;
    (a, b, topic)
}
