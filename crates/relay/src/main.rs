//! `tandem-relay`: run the relay. No flags needed: 127.0.0.1:8787 and
//! ./tandem-relay.db (SQLite WAL). See `tandem-relay --help`. With
//! `--tls-cert`/`--tls-key` it terminates TLS and reloads them on SIGHUP.

use std::{net::SocketAddr, process::ExitCode, sync::Arc, time::Duration};

use axum::{
    extract::connect_info::Connected,
    serve::{IncomingStream, Listener, ListenerExt},
};
use tandem_relay::{
    app, store,
    tls::{CertFiles, TlsListener},
    AppState, Config,
};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_args(std::env::args().skip(1)) {
        Ok(Some(c)) => c,
        Ok(None) => {
            eprint!("{}", Config::usage());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("tandem-relay: {e}");
            return ExitCode::from(2);
        }
    };
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandem-relay: {e}");
            ExitCode::FAILURE
        }
    }
}

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
    let app = app(state);
    match tls {
        Some((certs, hangup)) => {
            tokio::spawn(reload_on_sighup(hangup, Arc::clone(&certs)));
            let tls = TlsListener::new(listener, certs.server_config())
                .map_err(|e| tandem_relay::Error::Io(e.to_string()))?;
            // The TLS listener turns Nagle off itself, before the
            // handshake; the empty tap only gives it axum's
            // `ConnectInfo<SocketAddr>`, which axum provides for any
            // tapped listener whose address is a `SocketAddr`.
            serve(tls.tap_io(|_| {}), app).await
        }
        None => {
            // Frames are small and latency-sensitive: no Nagle delay.
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            serve(listener, app).await
        }
    }
}

async fn serve<L>(listener: L, app: axum::Router) -> tandem_relay::Result<()>
where
    L: Listener<Addr = SocketAddr>,
    for<'a> SocketAddr: Connected<IncomingStream<'a, L>>,
{
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await
    .map_err(|e| tandem_relay::Error::Io(e.to_string()))
}

/// Reads the certificate files again on every SIGHUP; a failed reload keeps
/// the certificate in use.
async fn reload_on_sighup(mut hangup: tokio::signal::unix::Signal, certs: Arc<CertFiles>) {
    while hangup.recv().await.is_some() {
        match certs.reload() {
            Ok(()) => eprintln!(
                "tandem-relay: TLS certificate reloaded from {}",
                certs.cert_path().display()
            ),
            Err(e) => eprintln!(
                "tandem-relay: TLS reload failed, still serving the previous certificate: {e}"
            ),
        }
    }
}

async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
