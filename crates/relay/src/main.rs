//! `tandem-relay`: run the relay. No flags needed: 127.0.0.1:8787 and
//! ./tandem-relay.db (SQLite WAL). See `tandem-relay --help`.

use std::{net::SocketAddr, process::ExitCode, time::Duration};

use axum::serve::ListenerExt;
use tandem_relay::{app, store, AppState, Config};

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
    let store = store::open(&config.database).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| tandem_relay::Error::Io(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| tandem_relay::Error::Io(e.to_string()))?;
    let url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("ws://{addr}/v1/ws"));
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
        if url == format!("ws://{addr}/v1/ws") {
            println!("tandem-relay listening on {url} (storage: {backend})");
        } else {
            println!(
                "tandem-relay listening on ws://{addr}/v1/ws (public URL {url}, storage: {backend})"
            );
        }
        if let Some(dir) = app_dir {
            println!(
                "tandem-relay serves the phone app at http://{addr}/app/ from {}",
                dir.display()
            );
        }
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    // Frames are small and latency-sensitive: no Nagle delay.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await
    .map_err(|e| tandem_relay::Error::Io(e.to_string()))
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
