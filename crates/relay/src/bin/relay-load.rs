//! `relay-load`: load generator for `tandem-relay`.
//!
//! Opens N authenticated WebSocket connections (guests, in sender/receiver
//! pairs sharing a topic), then has every sender publish at a fixed total
//! rate for a while. Receivers acknowledge every delivery, as real devices
//! do, so the relay does the full work: parse, store durably, deliver, ack.
//! Latency is publish-sent -> deliver-received, on one clock (this process).
//! Prints a human summary to stderr and one JSON object to stdout.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use rand_core::{OsRng, RngCore};
use tandem_pair::{Bytes, ClientFrame, IdentityKey, Membership, Recipient, RelayFrame, Topic};
use tandem_relay::client::{handshake, Trust};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

const USAGE: &str = "\
relay-load: drive a running tandem-relay and report throughput, latency and memory

USAGE: relay-load --url ws://127.0.0.1:PORT/v1/ws [OPTIONS]

  --connections N   total connections, half senders half receivers (default 10000)
  --rate R          total messages per second across all senders (default 20000)
  --duration S      measured seconds (default 10)
  --warmup S        unmeasured seconds of load first (default 2)
  --payload B       payload bytes per message, >= 8 (default 128)
  --relay-pid PID   read the relay's resident memory from /proc/PID/status
  --connect-parallel N  handshakes in flight while connecting (default 256)

A wss:// relay's certificate must chain to the built-in roots or to the CA
in the PEM file named by TANDEM_RELAY_CA.
";

struct Args {
    url: String,
    connections: usize,
    rate: f64,
    duration: f64,
    warmup: f64,
    payload: usize,
    relay_pid: Option<u32>,
    parallel: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        url: String::new(),
        connections: 10_000,
        rate: 20_000.0,
        duration: 10.0,
        warmup: 2.0,
        payload: 128,
        relay_pid: None,
        parallel: 256,
    };
    let mut it = std::env::args().skip(1);
    while let Some(f) = it.next() {
        if f == "-h" || f == "--help" {
            return Err(String::new());
        }
        let v = it.next().ok_or_else(|| format!("{f} needs a value"))?;
        let bad = format!("{f}: `{v}` is not a valid number");
        match f.as_str() {
            "--url" => a.url = v,
            "--connections" => a.connections = v.parse().map_err(|_| bad.clone())?,
            "--rate" => a.rate = v.parse().map_err(|_| bad.clone())?,
            "--duration" => a.duration = v.parse().map_err(|_| bad.clone())?,
            "--warmup" => a.warmup = v.parse().map_err(|_| bad.clone())?,
            "--payload" => a.payload = v.parse().map_err(|_| bad.clone())?,
            "--relay-pid" => a.relay_pid = Some(v.parse().map_err(|_| bad.clone())?),
            "--connect-parallel" => a.parallel = v.parse().map_err(|_| bad.clone())?,
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    if a.url.is_empty() {
        return Err("--url is required".into());
    }
    if a.connections < 2 || a.payload < 8 || a.rate <= 0.0 {
        return Err("need --connections >= 2, --payload >= 8, --rate > 0".into());
    }
    Ok(a)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    published: AtomicU64,
    delivered: AtomicU64,
    errors: AtomicU64,
    measured_sent: AtomicU64,
    measured_delivered: AtomicU64,
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("relay-load: {e}");
            }
            eprint!("{USAGE}");
            std::process::exit(if e.is_empty() { 0 } else { 2 });
        }
    };
    let trust = match Trust::from_env() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("relay-load: {e}");
            std::process::exit(2);
        }
    };
    let pairs = args.connections / 2;
    let rss_before = args.relay_pid.and_then(rss_kib);

    // Connect everything first.
    let t0 = Instant::now();
    let sem = Arc::new(Semaphore::new(args.parallel));
    let mut handles = Vec::with_capacity(pairs * 2);
    for i in 0..pairs * 2 {
        let sem = Arc::clone(&sem);
        let url = args.url.clone();
        let trust = trust.clone();
        handles.push(tokio::spawn(async move {
            let _permit = sem.acquire().await.ok()?;
            let key = IdentityKey::generate(&mut OsRng);
            for attempt in 0..3 {
                match handshake(
                    &url,
                    &trust,
                    &key,
                    Membership::Guest,
                    Duration::from_secs(30),
                )
                .await
                {
                    Ok(a) => return Some(a.socket),
                    Err(e) if attempt == 2 => {
                        eprintln!("relay-load: connection {i} failed: {e}");
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
            None
        }));
    }
    let mut sockets = Vec::with_capacity(handles.len());
    for h in handles {
        if let Ok(Some(ws)) = h.await {
            sockets.push(ws);
        }
    }
    let connect_secs = t0.elapsed().as_secs_f64();
    let connected = sockets.len();
    eprintln!(
        "relay-load: {connected} of {} connections up in {connect_secs:.1} s",
        pairs * 2
    );
    if connected < 2 {
        std::process::exit(1);
    }

    // Receivers subscribe to their pair topic (concurrently, each awaited).
    let mut subs = Vec::new();
    let mut it = sockets.into_iter();
    while let (Some(tx_ws), Some(mut rx_ws)) = (it.next(), it.next()) {
        let sem = Arc::clone(&sem);
        subs.push(tokio::spawn(async move {
            let _permit = sem.acquire().await.ok()?;
            let mut t = [0u8; 32];
            OsRng.fill_bytes(&mut t);
            let topic = Topic(t);
            rx_ws
                .send(Message::Text(
                    ClientFrame::Subscribe {
                        req: 1,
                        topic,
                        until: None,
                    }
                    .encode()
                    .into(),
                ))
                .await
                .ok()?;
            loop {
                match rx_ws.next().await {
                    Some(Ok(Message::Text(t))) => match RelayFrame::decode(t.as_str()) {
                        Ok(RelayFrame::Ok { .. }) => return Some((tx_ws, rx_ws, topic)),
                        Ok(RelayFrame::Error { message, .. }) => {
                            eprintln!("relay-load: subscribe failed: {message}");
                            return None;
                        }
                        _ => {}
                    },
                    Some(Ok(_)) => {}
                    _ => return None,
                }
            }
        }));
    }
    let mut pairs_ready = Vec::new();
    for h in subs {
        if let Ok(Some(p)) = h.await {
            pairs_ready.push(p);
        }
    }
    let active_pairs = pairs_ready.len();
    if active_pairs == 0 {
        eprintln!("relay-load: no pair could subscribe");
        std::process::exit(1);
    }

    let counters = Arc::new(Counters::default());
    let latencies: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let warm_end = args.warmup;
    let measure_end = args.warmup + args.duration;
    // Readers stop once traffic has ended and the stream is quiet.
    let done = move || start.elapsed().as_secs_f64() > measure_end + 3.0;
    let mut tasks = Vec::new();
    let mut senders = Vec::new();
    for (tx_ws, rx_ws, topic) in pairs_ready {
        // Receiver task: record latency, ack.
        let c = Arc::clone(&counters);
        let lat = Arc::clone(&latencies);
        tasks.push(tokio::spawn(async move {
            let (mut sink, mut stream) = rx_ws.split();
            let mut local = Vec::new();
            loop {
                let msg = match tokio::time::timeout(Duration::from_secs(1), stream.next()).await {
                    Ok(Some(Ok(m))) => m,
                    Ok(_) => break,
                    Err(_) if done() => break,
                    Err(_) => continue,
                };
                let Message::Text(t) = msg else { continue };
                match RelayFrame::decode(t.as_str()) {
                    Ok(RelayFrame::Deliver { id, payload, .. }) => {
                        let now = start.elapsed().as_micros() as u64;
                        let sent = u64::from_le_bytes(payload.0[..8].try_into().unwrap_or([0; 8]));
                        c.delivered.fetch_add(1, Ordering::Relaxed);
                        // Throughput counts arrivals inside the window;
                        // latency covers messages sent inside it.
                        let now_s = now as f64 / 1e6;
                        if now_s >= warm_end && now_s < measure_end {
                            c.measured_delivered.fetch_add(1, Ordering::Relaxed);
                        }
                        let sent_s = sent as f64 / 1e6;
                        if sent_s >= warm_end && sent_s < measure_end {
                            local.push(now.saturating_sub(sent));
                        }
                        if sink
                            .send(Message::Text(ClientFrame::Ack { id }.encode().into()))
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                    Ok(RelayFrame::Error { .. }) | Err(_) => {
                        c.errors.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
            if let Ok(mut l) = lat.lock() {
                l.extend(local);
            }
        }));
        senders.push((tx_ws, topic));
    }
    let rss_connected = args.relay_pid.and_then(rss_kib);
    eprintln!(
        "relay-load: {active_pairs} pairs subscribed; sending {} msg/s for {}+{} s",
        args.rate, args.warmup, args.duration
    );

    // Senders: each publishes at rate/active_pairs with a random phase.
    let per_sender = args.rate / active_pairs as f64;
    let period = Duration::from_secs_f64(1.0 / per_sender);
    let stop_at = measure_end;
    let payload_len = args.payload;
    for (ws, topic) in senders {
        let c = Arc::clone(&counters);
        tasks.push(tokio::spawn(async move {
            let (mut sink, mut stream) = ws.split();
            let c2 = Arc::clone(&c);
            let reader = tokio::spawn(async move {
                loop {
                    let msg =
                        match tokio::time::timeout(Duration::from_secs(1), stream.next()).await {
                            Ok(Some(Ok(m))) => m,
                            Ok(_) => break,
                            Err(_) if done() => break,
                            Err(_) => continue,
                        };
                    let Message::Text(t) = msg else { continue };
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
            let phase = Duration::from_secs_f64(
                period.as_secs_f64() * (OsRng.next_u32() as f64 / u32::MAX as f64),
            );
            tokio::time::sleep(phase).await;
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut req = 0u64;
            let mut payload = vec![0u8; payload_len];
            loop {
                tick.tick().await;
                let now = start.elapsed();
                if now.as_secs_f64() >= stop_at {
                    break;
                }
                req += 1;
                payload[..8].copy_from_slice(&(now.as_micros() as u64).to_le_bytes());
                let f = ClientFrame::Publish {
                    req,
                    to: Recipient::Topic(topic),
                    payload: Bytes(payload.clone()),
                };
                if sink.send(Message::Text(f.encode().into())).await.is_err() {
                    c.errors.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                c.sent.fetch_add(1, Ordering::Relaxed);
                let s = now.as_secs_f64();
                if s >= warm_end && s < stop_at {
                    c.measured_sent.fetch_add(1, Ordering::Relaxed);
                }
            }
            let _ = reader.await;
            let _ = sink.close().await;
        }));
    }

    // Sample the relay's memory under load.
    let mut rss_peak = rss_connected;
    while start.elapsed().as_secs_f64() < measure_end {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Some(pid) = args.relay_pid {
            rss_peak = rss_peak.max(rss_kib(pid));
        }
    }
    // Other processes compete for the same cores; record how busy it was.
    let loadavg: Option<f64> = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()));
    for t in tasks {
        let _ = t.await;
    }

    let mut lat = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    lat.sort_unstable();
    let ms = |us: u64| us as f64 / 1000.0;
    let measured = counters.measured_delivered.load(Ordering::Relaxed);
    let throughput = measured as f64 / args.duration;
    let per_conn_kib = match (rss_before, rss_connected) {
        (Some(b), Some(a)) if connected > 0 => {
            Some((a.saturating_sub(b)) as f64 / connected as f64)
        }
        _ => None,
    };
    let report = serde_json::json!({
        "connections": connected,
        "connect_seconds": (connect_secs * 10.0).round() / 10.0,
        "target_rate": args.rate,
        "duration_s": args.duration,
        "payload_bytes": args.payload,
        "sent": counters.sent.load(Ordering::Relaxed),
        "published_acks": counters.published.load(Ordering::Relaxed),
        "delivered": counters.delivered.load(Ordering::Relaxed),
        "errors": counters.errors.load(Ordering::Relaxed),
        "measured_sent": counters.measured_sent.load(Ordering::Relaxed),
        "measured_delivered": measured,
        "throughput_msg_s": throughput.round(),
        "latency_ms": {
            "p50": ms(percentile(&lat, 0.50)),
            "p90": ms(percentile(&lat, 0.90)),
            "p99": ms(percentile(&lat, 0.99)),
            "max": ms(lat.last().copied().unwrap_or(0)),
        },
        "relay_rss_kib": { "before": rss_before, "connected": rss_connected, "peak": rss_peak },
        "relay_kib_per_connection": per_conn_kib.map(|v| (v * 10.0).round() / 10.0),
        "machine_loadavg_1m": loadavg,
    });
    eprintln!(
        "relay-load: {connected} conns, {throughput:.0} msg/s delivered (target {}), p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, errors {}",
        args.rate,
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.99)),
        ms(lat.last().copied().unwrap_or(0)),
        counters.errors.load(Ordering::Relaxed)
    );
    #[allow(clippy::print_stdout)]
    {
        println!("{report}");
    }
}
