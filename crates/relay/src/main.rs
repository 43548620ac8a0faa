//! `tandem-relay`: run the relay. No flags needed: 127.0.0.1:8787 and
//! ./tandem-relay.db (SQLite WAL). See `tandem-relay --help`. With
//! `--tls-cert`/`--tls-key` it terminates TLS and reloads them on SIGHUP.
//! SIGTERM (or Ctrl-C) shuts it down gracefully: no new connections, every
//! open one gets what is queued for it and then close code 1012 (restart:
//! reconnect), acknowledged messages are all committed.

use std::{future::Future, net::SocketAddr, process::ExitCode, sync::Arc, time::Duration};

use axum::{
    extract::connect_info::Connected,
    serve::{IncomingStream, Listener, ListenerExt},
};
use tandem_relay::{
    app, store,
    tls::{CertFiles, TlsListener},
    AppState, Config, Invocation, LogFormat, LogLevel,
};

/// mimalloc: the system allocator's malloc/free were about 7% of the
/// relay's CPU under load (each delivery allocates its frame, queue entry
/// and writer job); see docs/benchmarks.md for the A/B.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_args(std::env::args().skip(1)) {
        Ok(Invocation::Run(c)) => *c,
        Ok(Invocation::Help(text)) => {
            eprint!("{text}");
            return ExitCode::SUCCESS;
        }
        Ok(_) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandem-relay: {e}");
            return ExitCode::from(2);
        }
    };
    init_logs(config.log, config.log_format);
    raise_open_file_limit();
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandem-relay: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Structured logs on stderr. The relay never passes a payload, key,
/// token or signature to a log call: events carry device and group ids,
/// sizes, counts and errors (a test reads a whole run's log for payload
/// bytes).
fn init_logs(level: LogLevel, format: LogFormat) {
    let level = match level {
        LogLevel::Error => tracing::Level::ERROR,
        LogLevel::Warn => tracing::Level::WARN,
        LogLevel::Info => tracing::Level::INFO,
        LogLevel::Debug => tracing::Level::DEBUG,
    };
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => logs.json().try_init(),
        LogFormat::Text => logs.try_init(),
    };
}

/// Every connection is a file descriptor, and many systems start a
/// process with a soft limit of 1,024 open files (systemd's default for
/// services), far below the connections one node serves: past it, accepts
/// fail and new devices wait. The hard limit is the operator's choice
/// (`LimitNOFILE=`, `ulimit -Hn`); take all of it, as Go's runtime and
/// nginx's `worker_rlimit_nofile` do, and say what it is.
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) if n < LOW_OPEN_FILE_LIMIT => tracing::warn!(
            open_files = n,
            "the open-file limit allows only about this many connections; raise the hard limit (LimitNOFILE= in the systemd unit, or ulimit -Hn) to serve more devices"
        ),
        Ok(n) => tracing::info!(open_files = n, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit"),
    }
}

/// Below this many open files a node is told to expect trouble.
const LOW_OPEN_FILE_LIMIT: u64 = 4096;

async fn run(config: Config) -> tandem_relay::Result<()> {
    // Certificate problems are startup errors, before anything listens. And
    // SIGHUP is taken over before the "listening" line: from then on it
    // must reload the certificate, not end the process.
    let tls = match &config.tls {
        Some(t) => Some((
            CertFiles::load(t.cert.clone(), t.key.clone())?,
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                .map_err(|e| tandem_relay::Error::Io(format!("cannot handle SIGHUP: {e}")))?,
        )),
        None => None,
    };
    // Likewise SIGTERM: from the "listening" line on it means "shut down
    // gracefully".
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| tandem_relay::Error::Io(format!("cannot handle SIGTERM: {e}")))?;
    let store = store::open(&config.database).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| tandem_relay::Error::Io(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| tandem_relay::Error::Io(e.to_string()))?;
    let (ws, http) = if tls.is_some() {
        ("wss", "https")
    } else {
        ("ws", "http")
    };
    let bound = format!("{ws}://{addr}/v1/ws");
    let url = config.public_url.clone().unwrap_or_else(|| bound.clone());
    let backend = if config.database.starts_with("postgres") {
        "postgresql"
    } else {
        "sqlite"
    };
    let app_dir = config.app_dir.clone();
    let grace = config.shutdown_grace;
    let state = AppState::new(config, store, url.clone()).await?;
    state.spawn_sweeper(Duration::from_secs(60));
    // Tests and scripts wait for this line; print it only once we accept.
    #[allow(clippy::print_stdout)]
    {
        // The first word after "on" is where the relay really listens; a
        // public URL (behind a proxy) is named after it.
        if url == bound {
            println!("tandem-relay listening on {url} (storage: {backend})");
        } else {
            println!("tandem-relay listening on {bound} (public URL {url}, storage: {backend})");
        }
        if let Some(dir) = app_dir {
            println!(
                "tandem-relay serves the phone app at {http}://{addr}/app/ from {}",
                dir.display()
            );
        }
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    tracing::info!(%addr, public_url = %url, storage = backend, "listening");
    let app = app(state.clone());
    let stopping = {
        let state = state.clone();
        async move {
            let why = shutdown_signal(term).await;
            tracing::info!(
                signal = why,
                "shutting down: no new connections; closing open ones with 1012 (restart)"
            );
            state.shut_down();
        }
    };
    match tls {
        Some((certs, hangup)) => {
            tokio::spawn(reload_on_sighup(hangup, Arc::clone(&certs)));
            let tls = TlsListener::new(listener, certs.server_config())
                .map_err(|e| tandem_relay::Error::Io(e.to_string()))?;
            // The TLS listener turns Nagle off itself, before the
            // handshake; the empty tap only gives it axum's
            // `ConnectInfo<SocketAddr>`, which axum provides for any
            // tapped listener whose address is a `SocketAddr`.
            serve(tls.tap_io(|_| {}), app, stopping).await?
        }
        None => {
            // Frames are small and latency-sensitive: no Nagle delay.
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            serve(listener, app, stopping).await?
        }
    }
    // The listener is closed. Every connection finishes the request it is
    // handling (a publish commits and is acknowledged), sends what is
    // queued, waits for its acks to commit, and closes.
    if state.drained(grace).await {
        tracing::info!("every connection closed; stopped");
    } else {
        tracing::warn!(
            open = state.metrics().connections_open.load(std::sync::atomic::Ordering::Relaxed),
            "connections still open after the grace period; stopping anyway (their devices replay their mailbox on reconnect)"
        );
    }
    Ok(())
}

async fn serve<L>(
    listener: L,
    app: axum::Router,
    stopping: impl Future<Output = ()> + Send + 'static,
) -> tandem_relay::Result<()>
where
    L: Listener<Addr = SocketAddr>,
    for<'a> SocketAddr: Connected<IncomingStream<'a, L>>,
{
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stopping)
    .await
    .map_err(|e| tandem_relay::Error::Io(e.to_string()))
}

/// Reads the certificate files again on every SIGHUP; a failed reload keeps
/// the certificate in use.
async fn reload_on_sighup(mut hangup: tokio::signal::unix::Signal, certs: Arc<CertFiles>) {
    while hangup.recv().await.is_some() {
        match certs.reload() {
            Ok(()) => tracing::info!(
                cert = %certs.cert_path().display(),
                "TLS certificate reloaded"
            ),
            Err(e) => tracing::warn!(
                error = %e,
                "TLS reload failed, still serving the previous certificate"
            ),
        }
    }
}

/// SIGTERM or Ctrl-C; names which.
async fn shutdown_signal(mut term: tokio::signal::unix::Signal) -> &'static str {
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}
