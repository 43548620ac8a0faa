//! `relay-load`: open-loop load generator for `tandem-relay`.
//!
//! Opens N authenticated WebSocket connections laid out as the paths paired
//! devices use: wallet groups where one device publishes to the group and
//! `--fanout` members receive it (`--topology group`), device-to-device
//! pairs inside a group (`device`), or guest pairs on a pairing topic
//! (`topic`). Every sender publishes on a fixed schedule (open loop: a
//! message is due at its slot whether or not earlier ones were answered),
//! and latency is measured from when each message was due to when each
//! recipient received it, on one clock (this process), so a relay or a
//! generator that falls behind shows up in the numbers instead of slowing
//! the schedule. Recipients acknowledge every delivery, as real devices
//! do, so the relay does the full work: parse, store durably, deliver, ack.
//!
//! Counts sent, acknowledged to the sender, delivered (per recipient),
//! dropped (due deliveries that never arrived) and errors; a run with drops
//! or errors exits 1. With `--relay-pid` it reads the relays' memory and
//! CPU time from /proc, and its own CPU time, for CPU per message.
//! Beside each second's p99 it records what the machine gave that second:
//! hypervisor steal, how long the relays' and its own threads waited for a
//! CPU, the longest stall of any core (a real-time probe thread per core),
//! and how late it sent a message after it was due.
//! Prints a human summary to stderr and one JSON object to stdout.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use rand_core::{OsRng, RngCore};
use tandem_pair::{
    Bytes, Capabilities, ClientFrame, GroupId, IdentityKey, Membership, Recipient, RelayFrame,
    SessionToken, TokenRequest, Topic,
};
use tandem_relay::client::{handshake, Client, Trust};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

type Socket = tandem_connect::Socket;

/// Drive running tandem-relay nodes and report throughput, latency, drops,
/// memory and CPU. A wss:// relay's certificate must chain to the built-in
/// roots or to the CA in the PEM file named by TANDEM_RELAY_CA.
#[derive(Debug, Parser)]
#[command(name = "relay-load")]
struct Args {
    /// A relay's WebSocket URL; repeat for several nodes (a group's devices
    /// are spread over them, so deliveries cross nodes)
    #[arg(long = "url", value_name = "URL", required = true)]
    urls: Vec<String>,
    /// Total connections (rounded down to whole groups)
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    connections: usize,
    /// group: one sender, --fanout members receive; device: one device
    /// sends to another in its group; topic: guest pairs on a pairing topic
    #[arg(long, value_enum, default_value_t = Topology::Group)]
    topology: Topology,
    /// Recipients per group message
    #[arg(long, value_name = "N", default_value_t = 3)]
    fanout: usize,
    /// Messages published per second, all senders together (deliveries are
    /// this times the fan-out)
    #[arg(long, value_name = "R", default_value_t = 7_000.0)]
    rate: f64,
    /// Measured seconds
    #[arg(long, value_name = "S", default_value_t = 10.0)]
    duration: f64,
    /// Unmeasured seconds of load first
    #[arg(long, value_name = "S", default_value_t = 2.0)]
    warmup: f64,
    /// After the last message was due, how long deliveries may still take
    /// before the missing ones count as dropped
    #[arg(long, value_name = "S", default_value_t = 10.0)]
    drain: f64,
    /// Payload bytes per message (>= 8)
    #[arg(long, value_name = "B", default_value_t = 128)]
    payload: usize,
    /// A relay process to read memory and CPU time of (repeat for nodes)
    #[arg(long = "relay-pid", value_name = "PID")]
    relay_pids: Vec<u32>,
    /// Handshakes in flight while connecting
    #[arg(long = "connect-parallel", value_name = "N", default_value_t = 256)]
    parallel: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Topology {
    Group,
    Device,
    Topic,
}

impl Args {
    /// Recipients of each message.
    fn fanout(&self) -> usize {
        match self.topology {
            Topology::Group => self.fanout.max(1),
            Topology::Device | Topology::Topic => 1,
        }
    }
}

fn proc_field(pid: &str, file: &str, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    s.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn rss_kib(pid: u32) -> Option<u64> {
    proc_field(&pid.to_string(), "status", "VmRSS:")
}

/// Nanoseconds a process's threads have run on a CPU and have waited,
/// runnable, for one (`[run, wait]`, summed over its threads:
/// `/proc/PID/schedstat` alone is the main thread's).
fn sched_ns(pid: &str) -> Option<[u64; 2]> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = [0, 0];
    for t in tasks.flatten() {
        let s = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
        for (sum, v) in total.iter_mut().zip(s.split_whitespace()) {
            *sum += v.parse::<u64>().unwrap_or(0);
        }
    }
    Some(total)
}

fn cpu_ns(pid: &str) -> Option<u64> {
    sched_ns(pid).map(|[run, _]| run)
}

fn relays_cpu_ns(pids: &[u32]) -> Option<u64> {
    pids.iter().map(|p| cpu_ns(&p.to_string())).sum()
}

/// Nanoseconds the relays' threads have waited, runnable, for a CPU.
fn relays_wait_ns(pids: &[u32]) -> Option<u64> {
    pids.iter()
        .map(|p| sched_ns(&p.to_string()).map(|[_, wait]| wait))
        .sum()
}

fn relays_rss(pids: &[u32]) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|p| rss_kib(*p)).sum()
}

/// The machine's CPU time from `/proc/stat` (all cores, in clock ticks):
/// `[idle (with iowait), steal, total]`. Steal is time this VM was ready to
/// run but its hypervisor ran something else: the cores it had were fewer
/// than `nproc` says.
fn machine_ticks() -> Option<[u64; 3]> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    // user nice system idle iowait irq softirq steal (guest time is
    // already in user and nice).
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    (v.len() == 8).then(|| [v[3] + v[4], v[7], v.iter().sum()])
}

/// Shares of the machine's CPU time between two [`machine_ticks`]:
/// `(idle, steal)`.
fn machine_shares(a: Option<[u64; 3]>, b: Option<[u64; 3]>) -> (Option<f64>, Option<f64>) {
    let (Some(a), Some(b)) = (a, b) else {
        return (None, None);
    };
    let total = b[2].saturating_sub(a[2]) as f64;
    if total <= 0.0 {
        return (None, None);
    }
    let share = |i: usize| Some(b[i].saturating_sub(a[i]) as f64 / total);
    (share(0), share(1))
}

/// A CPU stall probe: one thread pinned to each CPU, at real-time priority
/// when the process may have it, sleeping 1 ms at a time and recording by
/// how much each wake-up was late. At real-time priority it runs ahead of
/// the relay and the generator, so a wake-up late by more than a
/// millisecond or two means that CPU ran nothing of this machine's
/// scheduler: the hypervisor held the virtual CPU, or the guest kernel
/// held it with preemption off. Such a stall delays the relay's messages
/// as much as any of its own work, and `/proc/stat` steal may not show it.
struct StallProbe {
    /// Per second of the run, the longest lateness seen on any CPU (µs).
    worst_us: Vec<AtomicU64>,
    /// Whether the probe threads got real-time priority.
    realtime: AtomicBool,
    stop: AtomicBool,
}

impl StallProbe {
    fn start(start: Instant, seconds: u64) -> Arc<Self> {
        let probe = Arc::new(Self {
            worst_us: (0..=seconds).map(|_| AtomicU64::new(0)).collect(),
            realtime: AtomicBool::new(true),
            stop: AtomicBool::new(false),
        });
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        for cpu in 0..cpus {
            let p = Arc::clone(&probe);
            std::thread::spawn(move || {
                if !pin_realtime(cpu) {
                    p.realtime.store(false, Ordering::Relaxed);
                }
                let tick = Duration::from_millis(1);
                while !p.stop.load(Ordering::Relaxed) {
                    let t0 = Instant::now();
                    std::thread::sleep(tick);
                    let t1 = Instant::now();
                    let late = (t1 - t0).saturating_sub(tick).as_micros() as u64;
                    let sec = (t1 - start).as_secs() as usize;
                    if let Some(w) = p.worst_us.get(sec) {
                        w.fetch_max(late, Ordering::Relaxed);
                    }
                }
            });
        }
        probe
    }

    /// The longest lateness in second `sec`, in ms.
    fn worst_ms(&self, sec: u64) -> Option<f64> {
        let us = self.worst_us.get(sec as usize)?.load(Ordering::Relaxed);
        Some(us as f64 / 1000.0)
    }
}

/// Pins the calling thread to `cpu` and gives it the lowest real-time
/// (FIFO) priority; false when the process may not (not root, or no
/// CAP_SYS_NICE), and the probe then also measures run-queue waits.
#[allow(unsafe_code)]
fn pin_realtime(cpu: usize) -> bool {
    // SAFETY: both calls take a pointer to a local, fully initialized
    // value that outlives them, for the calling thread (pid 0).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        let pinned = libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) == 0;
        let param = libc::sched_param { sched_priority: 1 };
        pinned && libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) == 0
    }
}

fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    published: AtomicU64,
    delivered: AtomicU64,
    errors: AtomicU64,
    measured_delivered: AtomicU64,
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The end of the run, as seen by every task: the flag for a task that
/// looks before it waits, the `Notify` to wake the ones waiting.
#[derive(Default)]
struct Finish {
    flag: AtomicBool,
    notify: tokio::sync::Notify,
}

impl Finish {
    fn set(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }
}

/// The next text frame of `stream`, or None at its end or the run's.
/// (One registration with the `Notify` per task, made before the flag is
/// read, so the end is never missed; a timeout per frame cost the
/// generator a timer entry for every delivery.)
async fn next_text<S>(
    stream: &mut S,
    done: &mut std::pin::Pin<&mut tokio::sync::futures::Notified<'_>>,
    finish: &Finish,
) -> Option<tokio_tungstenite::tungstenite::Utf8Bytes>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        if finish.flag.load(Ordering::SeqCst) {
            return None;
        }
        tokio::select! {
            biased;
            () = done.as_mut() => return None,
            m = stream.next() => match m {
                Some(Ok(Message::Text(t))) => return Some(t),
                Some(Ok(_)) => {}
                _ => return None,
            },
        }
    }
}

/// One sender and the devices that receive what it publishes.
struct Unit {
    sender: Socket,
    receivers: Vec<Socket>,
    to: Recipient,
}

async fn connect(
    url: &str,
    trust: &Trust,
    key: &IdentityKey,
    m: Membership,
) -> Result<Socket, String> {
    let mut last = String::new();
    for _ in 0..3 {
        match handshake(url, trust, key, m.clone(), Duration::from_secs(30)).await {
            Ok(a) => return Ok(a.socket),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(last)
}

/// Waits for the answer to request 1 (`ok`), skipping anything else.
async fn expect_ok(ws: &mut Socket) -> Result<(), String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => match RelayFrame::decode(t.as_str()) {
                Ok(RelayFrame::Ok { .. }) => return Ok(()),
                Ok(RelayFrame::Error { message, .. }) => return Err(message),
                _ => {}
            },
            Some(Ok(_)) => {}
            _ => return Err("connection closed".into()),
        }
    }
}

/// Reads what the relay sent a device during set-up (the notices of the
/// group's later admissions), acks it, and returns once the relay has
/// answered two pings: the first follows every frame queued for the
/// device before it, the second the acks (a request waits for the acks
/// before it on the writer). Between them it waits for the rest of the
/// `expect` notices the device is owed, when some come later (from another
/// node). Returns how many notices were acked. Without
/// this, every device read and acked its notices in the first instant of
/// the load (three per group of four), and the measured run started with a
/// burst of set-up acks that is not the load.
async fn settle(ws: &mut Socket, expect: u64) -> Result<u64, String> {
    let mut acked = 0;
    ping(ws, u64::MAX - 1, &mut acked).await?;
    // With several nodes a notice from another node comes through that
    // node's commit events and may follow this node's pong: wait for the
    // rest of those the device is owed.
    if acked < expect {
        let wait = tokio::time::timeout(Duration::from_secs(30), async {
            while acked < expect {
                next_notice(ws, None, &mut acked).await?;
            }
            Ok::<_, String>(())
        });
        match wait.await {
            Ok(r) => r?,
            Err(_) => {
                return Err(format!(
                    "{acked} of {expect} set-up notices came within 30 s"
                ))
            }
        }
    }
    // The acks durable: a request waits for the acks before it.
    ping(ws, u64::MAX, &mut acked).await?;
    Ok(acked)
}

/// Pings, and acks every notice that comes before the pong.
async fn ping(ws: &mut Socket, req: u64, acked: &mut u64) -> Result<(), String> {
    ws.send(Message::Text(ClientFrame::Ping { req }.encode().into()))
        .await
        .map_err(|e| e.to_string())?;
    while !next_notice(ws, Some(req), acked).await? {}
    Ok(())
}

/// Reads one frame: acks a notice (counted in `acked`); true for the pong
/// to `pong`.
async fn next_notice(ws: &mut Socket, pong: Option<u64>, acked: &mut u64) -> Result<bool, String> {
    let t = loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => break t,
            Some(Ok(_)) => continue,
            _ => return Err("connection closed while settling".into()),
        }
    };
    let id = match RelayFrame::decode(t.as_str()) {
        Ok(RelayFrame::Pong { req }) => return Ok(Some(req) == pong),
        Ok(RelayFrame::Admitted { id, .. } | RelayFrame::Deliver { id, .. }) => id,
        Ok(RelayFrame::Revoked { id: Some(id), .. }) => id,
        Ok(RelayFrame::Error { message, .. }) => return Err(message),
        _ => return Ok(false),
    };
    ws.send(Message::Text(ClientFrame::Ack { id }.encode().into()))
        .await
        .map_err(|e| e.to_string())?;
    *acked += 1;
    Ok(false)
}

/// Connects one unit: a group (founder sends, members receive), a pair in
/// a group, or two guests on a topic. Its devices are spread over `urls`
/// starting at node `first`.
async fn setup(
    urls: &[String],
    first: usize,
    trust: &Trust,
    topology: Topology,
    members: usize,
) -> Result<Unit, String> {
    let url = |j: usize| urls[(first + j) % urls.len()].as_str();
    if topology == Topology::Topic {
        let sender = connect(
            url(0),
            trust,
            &IdentityKey::generate(&mut OsRng),
            Membership::Guest,
        )
        .await?;
        let mut rx = connect(
            url(1),
            trust,
            &IdentityKey::generate(&mut OsRng),
            Membership::Guest,
        )
        .await?;
        let mut t = [0u8; 32];
        OsRng.fill_bytes(&mut t);
        let topic = Topic(t);
        let sub = ClientFrame::Subscribe {
            req: 1,
            topic,
            until: None,
        };
        rx.send(Message::Text(sub.encode().into()))
            .await
            .map_err(|e| e.to_string())?;
        expect_ok(&mut rx).await?;
        return Ok(Unit {
            sender,
            receivers: vec![rx],
            to: Recipient::Topic(topic),
        });
    }
    let founder = IdentityKey::generate(&mut OsRng);
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    let group = GroupId::founded(&founder.public(), &salt);
    let mut client =
        Client::connect_with(url(0), trust, &founder, Membership::Founder { group, salt })
            .await
            .map_err(|e| e.to_string())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut receivers = Vec::with_capacity(members);
    let mut last = None;
    for j in 0..members {
        let key = IdentityKey::generate(&mut OsRng);
        let token = SessionToken::issue(
            &founder,
            &TokenRequest {
                group,
                subject: key.public(),
                subject_encryption: key.encryption_public(),
                capabilities: Capabilities::MESSAGE,
                lifetime_secs: 86_400,
            },
            now,
            &mut OsRng,
        );
        client
            .admit(token.clone())
            .await
            .map_err(|e| e.to_string())?;
        receivers.push(connect(url(j + 1), trust, &key, Membership::Member { token }).await?);
        last = Some(key.device_id());
    }
    let to = match (topology, last) {
        (Topology::Device, Some(d)) => Recipient::Device(d),
        _ => Recipient::Group,
    };
    Ok(Unit {
        sender: client.into_socket(),
        receivers,
        to,
    })
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if args.payload < 8 || args.rate <= 0.0 || args.connections < 2 {
        eprintln!("relay-load: need --payload >= 8, --rate > 0, --connections >= 2");
        std::process::exit(2);
    }
    let trust = match Trust::from_env() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("relay-load: {e}");
            std::process::exit(2);
        }
    };
    let fanout = args.fanout();
    let unit_size = 1 + fanout;
    let units = args.connections / unit_size;
    let rss_before = relays_rss(&args.relay_pids);

    // Connect everything first.
    let t0 = Instant::now();
    let sem = Arc::new(Semaphore::new(args.parallel.max(1)));
    let urls = Arc::new(args.urls.clone());
    let mut handles = Vec::with_capacity(units);
    for i in 0..units {
        let (sem, urls, trust) = (Arc::clone(&sem), Arc::clone(&urls), trust.clone());
        let topology = args.topology;
        handles.push(tokio::spawn(async move {
            let _permit = sem.acquire().await.ok()?;
            match setup(&urls, i, &trust, topology, fanout).await {
                Ok(u) => Some(u),
                Err(e) => {
                    eprintln!("relay-load: unit {i} failed to connect: {e}");
                    None
                }
            }
        }));
    }
    let mut ready = Vec::with_capacity(units);
    for h in handles {
        if let Ok(Some(u)) = h.await {
            ready.push(u);
        }
    }
    let connect_secs = t0.elapsed().as_secs_f64();
    let connected = ready.len() * unit_size;
    eprintln!(
        "relay-load: {connected} of {} connections up in {connect_secs:.1} s ({} {:?} units of {unit_size})",
        units * unit_size,
        ready.len(),
        args.topology
    );
    if ready.len() < units {
        eprintln!("relay-load: not every connection came up: failed run");
        std::process::exit(1);
    }
    // Set-up's notices read and acked, and the acks durable, before the
    // load: the run measures messaging, not the tail of set-up.
    let t1 = Instant::now();
    let mut settling = Vec::with_capacity(ready.len());
    for mut u in ready {
        let sem = Arc::clone(&sem);
        settling.push(tokio::spawn(async move {
            let _permit = sem.acquire().await.ok();
            // Each admission notifies the members admitted before it:
            // the j-th of n receivers is owed n - 1 - j notices.
            let n = u.receivers.len() as u64;
            let mut acked = settle(&mut u.sender, 0).await?;
            for (j, rx) in (0u64..).zip(&mut u.receivers) {
                let owed = if matches!(u.to, Recipient::Topic(_)) {
                    0
                } else {
                    n - 1 - j
                };
                acked += settle(rx, owed).await?;
            }
            Ok::<_, String>((u, acked))
        }));
    }
    let mut ready = Vec::with_capacity(settling.len());
    let mut notices = 0;
    for h in settling {
        match h.await {
            Ok(Ok((u, n))) => {
                ready.push(u);
                notices += n;
            }
            Ok(Err(e)) => {
                eprintln!("relay-load: a device failed to settle: {e}: failed run");
                std::process::exit(1);
            }
            Err(e) => {
                eprintln!("relay-load: {e}: failed run");
                std::process::exit(1);
            }
        }
    }
    eprintln!(
        "relay-load: set-up's {notices} notices read and acked in {:.1} s",
        t1.elapsed().as_secs_f64()
    );
    // Idle and authenticated: memory per connection.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected = relays_rss(&args.relay_pids);

    let counters = Arc::new(Counters::default());
    // (when the message was due, latency from due), in µs, of every
    // delivery: the window's percentiles and the per-second profile.
    let latencies: Arc<Mutex<Vec<(u64, u64)>>> = Arc::new(Mutex::new(Vec::new()));
    let finished = Arc::new(Finish::default());
    let start = Instant::now();
    let warm_end = args.warmup;
    let measure_end = args.warmup + args.duration;
    // The machine's CPU time at each whole second of the load: how much
    // the hypervisor stole in each second, beside that second's p99.
    // And how long the relay's and the generator's threads waited for a
    // CPU in each second (run-queue time): a slow second with long waits
    // was short of cores, one without them was held up elsewhere.
    let seconds = measure_end.ceil() as u64;
    let pids = args.relay_pids.clone();
    let probe = StallProbe::start(start, seconds);
    // Per second of due time, how late this process sent a message (µs):
    // a slow second with late sends was held up here, in the generator.
    let send_late: Arc<Vec<AtomicU64>> =
        Arc::new((0..=seconds).map(|_| AtomicU64::new(0)).collect());
    let ticks_by_second = tokio::spawn(async move {
        let mut ticks = Vec::with_capacity(seconds as usize + 1);
        for k in 0..=seconds {
            tokio::time::sleep_until((start + Duration::from_secs(k)).into()).await;
            let waits = (
                relays_wait_ns(&pids),
                sched_ns("self").map(|[_, wait]| wait),
            );
            ticks.push((machine_ticks(), waits));
        }
        ticks
    });
    let mut tasks = Vec::new();
    let mut senders = Vec::new();
    for u in ready {
        for rx in u.receivers {
            let (c, lat, finished) = (
                Arc::clone(&counters),
                Arc::clone(&latencies),
                Arc::clone(&finished),
            );
            tasks.push(tokio::spawn(async move {
                // One task reads and acks (no split: its lock was paid
                // for on every frame).
                let mut ws = rx;
                let done = finished.notify.notified();
                tokio::pin!(done);
                done.as_mut().enable();
                let mut local = Vec::new();
                while let Some(t) = next_text(&mut ws, &mut done, &finished).await {
                    let id = match RelayFrame::decode(t.as_str()) {
                        Ok(RelayFrame::Deliver { id, payload, .. }) => {
                            let now = start.elapsed().as_micros() as u64;
                            let due =
                                u64::from_le_bytes(payload.0[..8].try_into().unwrap_or([0; 8]));
                            c.delivered.fetch_add(1, Ordering::Relaxed);
                            let now_s = now as f64 / 1e6;
                            if now_s >= warm_end && now_s < measure_end {
                                c.measured_delivered.fetch_add(1, Ordering::Relaxed);
                            }
                            local.push((due, now.saturating_sub(due)));
                            id
                        }
                        // Membership notices: acknowledged, not counted.
                        Ok(RelayFrame::Admitted { id, .. }) => id,
                        Ok(RelayFrame::Revoked { id: Some(id), .. }) => id,
                        Ok(RelayFrame::Error { .. }) | Err(_) => {
                            c.errors.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        _ => continue,
                    };
                    let ack = ClientFrame::Ack { id }.encode();
                    if ws.send(Message::Text(ack.into())).await.is_err() {
                        break;
                    }
                }
                if let Ok(mut l) = lat.lock() {
                    l.extend(local);
                }
            }));
        }
        senders.push((u.sender, u.to));
    }
    let n_senders = senders.len();
    // Second 0 of the per-second figures, for lining them up with other
    // logs (the database's).
    let start_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() - start.elapsed().as_secs_f64());
    eprintln!(
        "relay-load: {n_senders} senders publishing {} msg/s in all (x{fanout} deliveries) for {}+{} s from unix time {start_unix:.3}",
        args.rate,
        args.warmup,
        args.duration,
    );

    // Open loop: message k of a sender is due at phase + k * period from
    // `start`, and carries that due time; a late send is still timed from
    // when it was due.
    let period = Duration::from_secs_f64(n_senders as f64 / args.rate);
    let payload_len = args.payload;
    let mut send_tasks = Vec::new();
    for (ws, to) in senders {
        let (c, finished) = (Arc::clone(&counters), Arc::clone(&finished));
        let send_late = Arc::clone(&send_late);
        send_tasks.push(tokio::spawn(async move {
            let (mut sink, mut stream) = ws.split();
            let c2 = Arc::clone(&c);
            let reader = tokio::spawn(async move {
                let done = finished.notify.notified();
                tokio::pin!(done);
                done.as_mut().enable();
                while let Some(t) = next_text(&mut stream, &mut done, &finished).await {
                    match RelayFrame::decode(t.as_str()) {
                        Ok(RelayFrame::Published { .. }) => {
                            c2.published.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(RelayFrame::Error { .. }) | Err(_) => {
                            c2.errors.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {}
                    }
                }
            });
            let phase = period.mul_f64(f64::from(OsRng.next_u32()) / f64::from(u32::MAX));
            let mut payload = vec![0u8; payload_len];
            let mut req = 0u64;
            loop {
                let due = phase + period.mul_f64(req as f64);
                if due.as_secs_f64() >= measure_end {
                    break;
                }
                tokio::time::sleep_until((start + due).into()).await;
                req += 1;
                payload[..8].copy_from_slice(&(due.as_micros() as u64).to_le_bytes());
                let f = ClientFrame::Publish {
                    req,
                    to,
                    payload: Bytes(payload.clone()),
                };
                if sink.send(Message::Text(f.encode().into())).await.is_err() {
                    c.errors.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                c.sent.fetch_add(1, Ordering::Relaxed);
                let late = start.elapsed().saturating_sub(due).as_micros() as u64;
                if let Some(w) = send_late.get(due.as_secs() as usize) {
                    w.fetch_max(late, Ordering::Relaxed);
                }
            }
            let _ = reader.await;
            let _ = sink.close().await;
        }));
    }

    // CPU time of this process and the relays over the measured window,
    // and their memory under load.
    tokio::time::sleep_until((start + Duration::from_secs_f64(warm_end)).into()).await;
    let (gen0, relay0) = (cpu_ns("self"), relays_cpu_ns(&args.relay_pids));
    let machine0 = machine_ticks();
    let delivered0 = counters.delivered.load(Ordering::Relaxed);
    let mut rss_peak = rss_connected;
    while start.elapsed().as_secs_f64() < measure_end {
        tokio::time::sleep(Duration::from_millis(500)).await;
        rss_peak = rss_peak.max(relays_rss(&args.relay_pids));
    }
    let (gen1, relay1) = (cpu_ns("self"), relays_cpu_ns(&args.relay_pids));
    let (idle_share, steal_share) = machine_shares(machine0, machine_ticks());
    let delivered1 = counters.delivered.load(Ordering::Relaxed);
    let window_deliveries = delivered1.saturating_sub(delivered0);
    let load = loadavg();

    // Wait for the stragglers: every due delivery, or the drain limit.
    let drain_until = Instant::now() + Duration::from_secs_f64(args.drain);
    loop {
        let sent = counters.sent.load(Ordering::Relaxed);
        let all_sent = send_tasks.iter().all(|t| t.is_finished());
        if all_sent && counters.delivered.load(Ordering::Relaxed) >= sent * fanout as u64 {
            break;
        }
        if Instant::now() >= drain_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    finished.set();
    for t in send_tasks.into_iter().chain(tasks) {
        let _ = t.await;
    }

    let all = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    // The window's deliveries: due inside [warm_end, measure_end).
    let mut lat: Vec<u64> = all
        .iter()
        .filter(|&&(due, _)| {
            let due_s = due as f64 / 1e6;
            due_s >= warm_end && due_s < measure_end
        })
        .map(|&(_, l)| l)
        .collect();
    lat.sort_unstable();
    // p99 per second of due time, warm-up included: where a backlog
    // started and whether it drained.
    let mut by_sec: std::collections::BTreeMap<u64, Vec<u64>> = Default::default();
    for &(due, l) in &all {
        by_sec.entry(due / 1_000_000).or_default().push(l);
    }
    let ticks = ticks_by_second.await.unwrap_or_default();
    let steal_in = |sec: u64| {
        let (a, b) = (ticks.get(sec as usize)?, ticks.get(sec as usize + 1)?);
        machine_shares(a.0, b.0).1
    };
    // Milliseconds (relay, generator) waited for a CPU in that second.
    let waits_in = |sec: u64| {
        let (a, b) = (ticks.get(sec as usize)?, ticks.get(sec as usize + 1)?);
        let ms = |x: Option<u64>, y: Option<u64>| Some(y?.saturating_sub(x?) as f64 / 1e6);
        Some((ms(a.1 .0, b.1 .0), ms(a.1 .1, b.1 .1)))
    };
    let per_second: Vec<serde_json::Value> = by_sec
        .into_iter()
        .map(|(sec, mut v)| {
            v.sort_unstable();
            serde_json::json!({
                "second": sec,
                "deliveries": v.len(),
                "p99_ms": percentile(&v, 0.99) as f64 / 1000.0,
                "machine_steal_share": steal_in(sec).map(|s| (s * 1000.0).round() / 1000.0),
                "relay_cpu_wait_ms": waits_in(sec).and_then(|w| w.0).map(|m| m.round()),
                "generator_cpu_wait_ms": waits_in(sec).and_then(|w| w.1).map(|m| m.round()),
                "cpu_stall_ms": probe.worst_ms(sec),
                "send_late_max_ms": send_late.get(sec as usize).map(|w| w.load(Ordering::Relaxed) as f64 / 1000.0),
            })
        })
        .collect();
    // One line per measure: "LABEL: 0s <value>, 1s <value>, ..." ("-"
    // where a second has no value).
    let by_second = |label: &str, cell: &dyn Fn(&serde_json::Value) -> Option<String>| {
        let cells = per_second
            .iter()
            .map(|v| format!("{}s {}", v["second"], cell(v).as_deref().unwrap_or("-")))
            .collect::<Vec<_>>()
            .join(", ");
        eprintln!("relay-load: {label}: {cells}");
    };
    by_second("p99 by second due", &|v| Some(v["p99_ms"].to_string()));
    by_second("hypervisor steal by second", &|v| {
        v["machine_steal_share"]
            .as_f64()
            .map(|s| format!("{:.0}%", s * 100.0))
    });
    by_second("ms waited for a CPU by second (relay/generator)", &|v| {
        let (r, g) = (
            v["relay_cpu_wait_ms"].as_f64()?,
            v["generator_cpu_wait_ms"].as_f64()?,
        );
        Some(format!("{r:.0}/{g:.0}"))
    });
    probe.stop.store(true, Ordering::Relaxed);
    let probe_kind = if probe.realtime.load(Ordering::Relaxed) {
        "real-time"
    } else {
        "NOT real-time"
    };
    by_second(
        &format!("longest CPU stall by second ({probe_kind} probe)"),
        &|v| v["cpu_stall_ms"].as_f64().map(|s| format!("{s:.1}")),
    );
    by_second("latest send after due by second (ms)", &|v| {
        v["send_late_max_ms"].as_f64().map(|s| format!("{s:.1}"))
    });
    // The largest per-second value of a field over the measured window.
    let window_max = |field: &str| {
        per_second
            .iter()
            .filter(|v| {
                let sec = v["second"].as_f64().unwrap_or(-1.0);
                sec >= warm_end.floor() && sec < measure_end
            })
            .filter_map(|v| v[field].as_f64())
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
    };
    let ms = |us: u64| us as f64 / 1000.0;
    let sent = counters.sent.load(Ordering::Relaxed);
    let delivered = counters.delivered.load(Ordering::Relaxed);
    let expected = sent * fanout as u64;
    let dropped = expected.saturating_sub(delivered);
    let errors = counters.errors.load(Ordering::Relaxed);
    let measured = counters.measured_delivered.load(Ordering::Relaxed);
    let throughput = measured as f64 / args.duration;
    let per_conn_kib = match (rss_before, rss_connected) {
        (Some(b), Some(a)) if connected > 0 => Some(a.saturating_sub(b) as f64 / connected as f64),
        _ => None,
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let secs = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / 1e9),
        _ => None,
    };
    let gen_cpu = secs(gen0, gen1);
    let relay_cpu = secs(relay0, relay1);
    let round = |v: f64, d: f64| (v * d).round() / d;
    let ok = dropped == 0 && errors == 0;
    let report = serde_json::json!({
        "ok": ok,
        "topology": format!("{:?}", args.topology).to_lowercase(),
        "fanout": fanout,
        "nodes": args.urls.len(),
        "connections": connected,
        "connect_seconds": round(connect_secs, 10.0),
        "target_rate": args.rate,
        "target_deliveries_s": args.rate * fanout as f64,
        "duration_s": args.duration,
        "payload_bytes": args.payload,
        "sent": sent,
        "published_acks": counters.published.load(Ordering::Relaxed),
        "delivered": delivered,
        "expected_deliveries": expected,
        "dropped": dropped,
        "errors": errors,
        "measured_delivered": measured,
        "throughput_deliveries_s": throughput.round(),
        "latency_from_due_ms": {
            "p50": ms(percentile(&lat, 0.50)),
            "p90": ms(percentile(&lat, 0.90)),
            "p99": ms(percentile(&lat, 0.99)),
            "max": ms(lat.last().copied().unwrap_or(0)),
        },
        "latency_p99_by_second_due": per_second,
        "second_zero_unix": round(start_unix, 1000.0),
        "warmup_s": args.warmup,
        "relay_rss_kib": { "before": rss_before, "connected": rss_connected, "peak": rss_peak },
        "relay_kib_per_connection": per_conn_kib.map(|v| round(v, 10.0)),
        "generator_cpu_share": gen_cpu.map(|s| round(s / args.duration / cores, 1000.0)),
        "relay_cpu_share": relay_cpu.map(|s| round(s / args.duration / cores, 1000.0)),
        "relay_cpu_us_per_delivery": relay_cpu
            .filter(|_| window_deliveries > 0)
            .map(|s| round(s * 1e6 / window_deliveries as f64, 10.0)),
        "cores": cores,
        "machine_loadavg_1m": load,
        "machine_idle_share": idle_share.map(|s| round(s, 1000.0)),
        "machine_steal_share": steal_share.map(|s| round(s, 1000.0)),
        "cpu_stall_probe_realtime": probe.realtime.load(Ordering::Relaxed),
        "cpu_stall_longest_ms": window_max("cpu_stall_ms"),
        "send_late_max_ms": window_max("send_late_max_ms"),
    });
    eprintln!(
        "relay-load: {} {connected} conns: {throughput:.0} deliveries/s (target {}), from due p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; sent {sent}, delivered {delivered}/{expected}, dropped {dropped}, errors {errors}; generator CPU {}, relay CPU {} of {cores} cores; machine idle {}, steal {}, longest CPU stall {} ms; load {:?}",
        report["topology"],
        args.rate * fanout as f64,
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.99)),
        ms(lat.last().copied().unwrap_or(0)),
        report["generator_cpu_share"],
        report["relay_cpu_share"],
        report["machine_idle_share"],
        report["machine_steal_share"],
        report["cpu_stall_longest_ms"],
        load,
    );
    #[allow(clippy::print_stdout)]
    {
        println!("{report}");
    }
    if !ok {
        eprintln!("relay-load: FAILED RUN: {dropped} dropped, {errors} errors");
        std::process::exit(1);
    }
}
