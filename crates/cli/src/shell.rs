//! The tokio shell around the device engine (`tandem-device`): it owns the
//! sockets, the clock, the randomness and the disk, and carries out the
//! engine's outputs in order. Every decision is the engine's.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rand_core::OsRng;
use tandem_device::{Command, Device, Event, Input, LinkId, Output};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::state::{now, Home};
use crate::{Error, Result};

type Sink = futures_util::stream::SplitSink<tandem_connect::Socket, Message>;

/// What the shell hands to a command's loop.
#[derive(Debug)]
pub(crate) enum Happening {
    /// The engine reported something.
    Event(Event),
    /// The user typed a line.
    Line(String),
}

enum Raw {
    Text(LinkId, u64, String),
    Closed(LinkId, u64, String),
    /// The relay closed with the restart hint (1012): reconnect.
    Restart(LinkId, u64),
}

/// What the engine is told when the relay restarts; the shell reconnects
/// instead of reporting it as going offline.
const RESTARTING: &str = "the relay is restarting; reconnecting";

/// First wait before reconnecting to a restarting relay, doubled per
/// failed attempt up to [`RECONNECT_MAX`], plus up to as much again of
/// jitter (so a relay's devices do not all return at once).
const RECONNECT_FIRST: Duration = Duration::from_millis(200);
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// The engine, its sockets and its disk.
pub(crate) struct Shell {
    dev: Device,
    home: Option<Home>,
    sinks: HashMap<LinkId, (u64, Sink)>,
    generation: u64,
    raw_tx: mpsc::UnboundedSender<Raw>,
    raw_rx: mpsc::UnboundedReceiver<Raw>,
    lines: Option<mpsc::UnboundedReceiver<String>>,
    events: VecDeque<Event>,
    queued: VecDeque<Input>,
    /// Print every event on stderr (TANDEM_TRACE=1).
    trace: bool,
    /// Certificates trusted for a `wss://` relay.
    trust: tandem_connect::Trust,
    /// Reconnect to the restarting relay at this time.
    reconnect_at: Option<Instant>,
    /// Reconnection attempts since the relay said it restarts (0: none).
    restarts: u32,
}

impl Shell {
    /// A shell for `dev`, persisting to `home` (none: in memory, for the
    /// benchmark), trusting `trust` for a `wss://` relay.
    pub(crate) fn new(dev: Device, home: Option<Home>, trust: tandem_connect::Trust) -> Self {
        let (raw_tx, raw_rx) = mpsc::unbounded_channel();
        Self {
            dev,
            home,
            sinks: HashMap::new(),
            generation: 0,
            raw_tx,
            raw_rx,
            lines: None,
            events: VecDeque::new(),
            queued: VecDeque::new(),
            trace: std::env::var_os("TANDEM_TRACE").is_some(),
            trust,
            reconnect_at: None,
            restarts: 0,
        }
    }

    pub(crate) fn device(&self) -> &Device {
        &self.dev
    }

    /// This device's sync state (made on first use), for `f`.
    pub(crate) fn with_sync<R>(
        &mut self,
        f: impl FnOnce(&mut tandem_sync::Syncer) -> R,
    ) -> Result<R> {
        let id = self.dev.id();
        let home = self
            .home
            .as_mut()
            .ok_or_else(|| Error::State("this device has no home to keep its sync state".into()))?;
        Ok(f(home.sync.get_or_insert_with(|| fresh_sync(id))))
    }

    /// Records what happened in this device's audit log (signed; stored
    /// now, sent to the other devices with the next sync).
    pub(crate) fn record_audit(&mut self, happened: tandem_sync::audit::Happened) -> Result<()> {
        let id = self.dev.id();
        let home = self
            .home
            .as_mut()
            .ok_or_else(|| Error::State("this device has no home to keep its audit log".into()))?;
        home.sync.get_or_insert_with(|| fresh_sync(id)).record(
            self.dev.identity(),
            happened,
            crate::sync::now_ms(),
        );
        self.persist()
    }

    /// Stores the device and its sync state now.
    pub(crate) fn persist(&mut self) -> Result<()> {
        match &mut self.home {
            Some(h) => h.save(self.dev.state(), self.dev.identity()),
            None => Ok(()),
        }
    }

    /// Starts reading stdin lines (for prompts).
    pub(crate) fn read_stdin(&mut self) {
        if self.lines.is_some() {
            return;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            let mut line = String::new();
            loop {
                line.clear();
                match stdin.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if tx.send(line.trim().to_owned()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        self.lines = Some(rx);
    }

    /// Gives the engine a command and carries out what it says.
    pub(crate) async fn command(&mut self, c: Command) -> Result<()> {
        self.feed(Input::Command(c)).await
    }

    async fn feed(&mut self, input: Input) -> Result<()> {
        self.queued.push_back(input);
        while let Some(i) = self.queued.pop_front() {
            let outs = self.dev.handle(i, now(), &mut OsRng);
            for o in outs {
                self.carry_out(o).await?;
            }
        }
        Ok(())
    }

    async fn carry_out(&mut self, o: Output) -> Result<()> {
        match o {
            Output::Persist => {
                if let Some(h) = &mut self.home {
                    h.save(self.dev.state(), self.dev.identity())?;
                }
            }
            Output::Event(e) => {
                if self.trace {
                    eprintln!("tandem: event {e:?}");
                }
                if let Event::RemovedFromGroup { record } = &e {
                    if record.erase() {
                        // Revoked as lost or compromised, with the wallet to
                        // be erased: the home's vault (keys, phrase, group
                        // state) goes; nothing is stored after this.
                        if let Some(h) = self.home.take() {
                            h.erase()?;
                            eprintln!(
                                "tandem: another device removed this one as {} and asked for its wallet to be erased: the vault in this home is gone; restore it with `tandem init --import` and the recovery phrase",
                                record.reason().as_str()
                            );
                        }
                    }
                }
                self.events.push_back(e);
            }
            Output::Connect { link, url } => {
                self.sinks.remove(&link);
                self.generation += 1;
                let generation = self.generation;
                let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
                    .read_buffer_size(8 * 1024);
                let connect = tandem_connect::connect(url.as_str(), &self.trust, config);
                match tokio::time::timeout(Duration::from_secs(10), connect).await {
                    Ok(Ok(ws)) => {
                        let (sink, mut stream) = ws.split();
                        self.sinks.insert(link, (generation, sink));
                        let tx = self.raw_tx.clone();
                        tokio::spawn(async move {
                            while let Some(m) = stream.next().await {
                                match m {
                                    Ok(Message::Text(t)) => {
                                        let _ = tx.send(Raw::Text(link, generation, t.to_string()));
                                    }
                                    Ok(Message::Close(f))
                                        if tandem_connect::close_asks_reconnect(f.as_ref()) =>
                                    {
                                        let _ = tx.send(Raw::Restart(link, generation));
                                        return;
                                    }
                                    Ok(Message::Close(_)) | Err(_) => break,
                                    Ok(_) => {}
                                }
                            }
                            let _ =
                                tx.send(Raw::Closed(link, generation, "connection closed".into()));
                        });
                        self.queued.push_back(Input::Opened(link));
                        self.restarts = 0;
                    }
                    // Still restarting: try again later, quietly.
                    Ok(Err(_)) if self.restarts > 0 && link == LinkId::Main => {
                        self.schedule_reconnect();
                        self.queued
                            .push_back(Input::Closed(link, RESTARTING.into()));
                    }
                    Ok(Err(e)) => self.queued.push_back(Input::Closed(link, e.to_string())),
                    Err(_) => self.queued.push_back(Input::Closed(
                        link,
                        format!("connecting to {url} timed out"),
                    )),
                }
            }
            Output::Send { link, text } => {
                if let Some((_, sink)) = self.sinks.get_mut(&link) {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        self.sinks.remove(&link);
                        self.queued
                            .push_back(Input::Closed(link, "the connection broke".into()));
                    }
                }
            }
            Output::Close { link } => {
                if let Some((_, mut sink)) = self.sinks.remove(&link) {
                    let _ = sink.close().await;
                }
            }
        }
        Ok(())
    }

    /// Runs the engine until it reports something (or the user types a
    /// line), at most until `deadline`.
    pub(crate) async fn next(&mut self, deadline: Instant, waiting_for: &str) -> Result<Happening> {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if let Some(e) = self.events.pop_front() {
                if matches!(&e, Event::Offline { reason } if reason == RESTARTING) {
                    continue;
                }
                return Ok(Happening::Event(e));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Timeout(format!(
                    "timed out waiting for {waiting_for}"
                )));
            }
            let input = tokio::select! {
                raw = self.raw_rx.recv() => match raw {
                    Some(Raw::Text(link, g, text)) if self.current(link, g) => Some(Input::Text(link, text)),
                    Some(Raw::Closed(link, g, why)) if self.current(link, g) => {
                        self.sinks.remove(&link);
                        Some(Input::Closed(link, why))
                    }
                    Some(Raw::Restart(link, g)) if self.current(link, g) => {
                        self.sinks.remove(&link);
                        if link == LinkId::Main {
                            eprintln!("tandem: {RESTARTING}");
                            self.restarts = 0;
                            self.schedule_reconnect();
                            Some(Input::Closed(link, RESTARTING.into()))
                        } else {
                            Some(Input::Closed(link, "the relay restarted".into()))
                        }
                    }
                    _ => None,
                },
                line = recv_line(&mut self.lines) => return Ok(Happening::Line(line)),
                _ = tick.tick() => Some(Input::Tick),
                _ = sleep_until(self.reconnect_at), if self.reconnect_at.is_some() => {
                    self.reconnect_at = None;
                    Some(Input::Command(Command::Connect))
                }
                _ = tokio::time::sleep(left) => None,
            };
            if let Some(i) = input {
                self.feed(i).await?;
            }
        }
    }

    /// Waits for the first event `pick` accepts; other events go to
    /// `other` (e.g. printed). Stdin lines are ignored.
    pub(crate) async fn wait_for<T>(
        &mut self,
        deadline: Instant,
        waiting_for: &str,
        mut pick: impl FnMut(&Event) -> Option<Result<T>>,
        mut other: impl FnMut(&Event),
    ) -> Result<T> {
        loop {
            if let Happening::Event(e) = self.next(deadline, waiting_for).await? {
                match pick(&e) {
                    Some(r) => return r,
                    None => other(&e),
                }
            }
        }
    }

    fn current(&self, link: LinkId, generation: u64) -> bool {
        self.sinks.get(&link).is_some_and(|(g, _)| *g == generation)
    }

    /// Reconnects after a growing, jittered wait.
    fn schedule_reconnect(&mut self) {
        use rand_core::RngCore;
        let base = RECONNECT_FIRST
            .saturating_mul(1 << self.restarts.min(5))
            .min(RECONNECT_MAX);
        let jitter = base.mul_f64(f64::from(OsRng.next_u32()) / f64::from(u32::MAX));
        self.restarts += 1;
        self.reconnect_at = Some(Instant::now() + base + jitter);
    }

    /// Closes every socket.
    pub(crate) async fn close(&mut self) {
        let _ = self.command(Command::Disconnect).await;
        for (_, (_, mut s)) in self.sinks.drain() {
            let _ = s.close().await;
        }
    }
}

async fn recv_line(lines: &mut Option<mpsc::UnboundedReceiver<String>>) -> String {
    match lines {
        Some(rx) => match rx.recv().await {
            Some(l) => l,
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

/// A sync state that starts on this device: it asks the group for the
/// audit chains they keep (the group's devices wrote before this one
/// listened, and a restored member holds the old devices' chains), as the
/// extension's and the phone's do (crates/wasm-device, attach).
fn fresh_sync(id: tandem_pair::DeviceId) -> tandem_sync::Syncer {
    let mut s = tandem_sync::Syncer::new(id);
    s.ask_logs();
    s
}
