//! Relay settings, with defaults that need no configuration.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use crate::{
    forwarded::{Cidr, Proxies},
    store::MailboxLimits,
    Error, Result,
};

/// Relay settings. [`Config::default`] is what `tandem-relay` runs with no flags.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (default 127.0.0.1:8787).
    pub listen: SocketAddr,
    /// SQLite file path, or a `postgres://` URL.
    pub database: String,
    /// The relay's public WebSocket URL; bound into every auth challenge so a
    /// signature made for one relay is useless at another. Default
    /// `ws://<listen>/v1/ws`.
    pub public_url: Option<String>,
    /// Largest accepted WebSocket frame, in bytes.
    pub max_frame_bytes: usize,
    /// Sustained frames per second allowed per device.
    pub rate_per_sec: u32,
    /// Burst of frames allowed per device above the sustained rate.
    pub rate_burst: u32,
    /// Most simultaneous connections from one IP address.
    pub max_conns_per_ip: usize,
    /// Per-device mailbox limits.
    pub mailbox: MailboxLimits,
    /// Default and maximum lifetime of a mailbox message.
    pub message_ttl: Duration,
    /// Largest single blob, in bytes.
    pub blob_max_bytes: usize,
    /// Most blob bytes stored per group.
    pub blob_quota_bytes: u64,
    /// Time a new connection has to authenticate.
    pub auth_timeout: Duration,
    /// A connection silent this long is closed; the relay pings it after a
    /// third of this time (browsers and tungstenite answer pings by
    /// themselves), so only dead peers hit the limit.
    pub idle_timeout: Duration,
    /// Most messages replayed from the mailbox per request.
    pub pending_batch: usize,
    /// Folder of the phone web app, served at `/app/` (`--app-dir`); no
    /// `/app/` without it.
    pub app_dir: Option<PathBuf>,
    /// Terminate TLS here: the certificate chain (PEM, the server's
    /// certificate first) and its private key (PEM), both read again on
    /// SIGHUP (`--tls-cert`, `--tls-key`). Without them the relay speaks
    /// plain HTTP, for loopback or behind a TLS proxy.
    pub tls: Option<TlsFiles>,
    /// The relay's own proxies, whose `X-Forwarded-For` (or `Forwarded`)
    /// names the client for the per-IP limit (`--trusted-proxy`,
    /// `--proxy-header`). None by default: every connection is its peer
    /// address, whatever it claims.
    pub proxies: Proxies,
    /// How much the binary logs (`--log`).
    pub log: LogLevel,
    /// Text or JSON log lines (`--log-format`).
    pub log_format: LogFormat,
    /// On SIGTERM, how long connections get to receive what is already
    /// queued for them before they are closed with a reconnect hint.
    pub shutdown_grace: Duration,
}

/// Where the relay's certificate chain and private key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, PEM, the server's certificate first.
    pub cert: PathBuf,
    /// Private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            database: "tandem-relay.db".into(),
            public_url: None,
            max_frame_bytes: 256 * 1024,
            rate_per_sec: 50,
            rate_burst: 200,
            max_conns_per_ip: 64,
            mailbox: MailboxLimits::default(),
            message_ttl: Duration::from_secs(7 * 24 * 3600),
            blob_max_bytes: 128 * 1024,
            blob_quota_bytes: 16 * 1024 * 1024,
            auth_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            pending_batch: 256,
            app_dir: None,
            tls: None,
            proxies: Proxies::default(),
            log: LogLevel::Info,
            log_format: LogFormat::Text,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// The command line: every setting has a flag and an environment variable
/// (`--help` lists both); a flag wins over its variable.
#[derive(Debug, clap::Parser)]
#[command(
    name = "tandem-relay",
    about = "Tandem's relay server (WebSocket at /v1/ws, GET /health, GET /metrics, and with --app-dir the phone web app at GET /app/)",
    long_about = None,
    after_help = "With no options it listens on 127.0.0.1:8787 (plain HTTP: for this machine, or behind a TLS proxy) \
and stores its data in ./tandem-relay.db (SQLite, WAL).\n\
On start it prints one line `tandem-relay listening on ws://ADDR/v1/ws` (wss:// with TLS) to stdout \
(with --app-dir, a second one naming the app's URL). Logs go to stderr.\n\
SIGTERM or Ctrl-C: stop accepting, commit what is queued, close every socket with 1012 (service restart: reconnect)."
)]
struct Cli {
    /// Listen address (port 0 = any free port)
    #[arg(long, value_name = "ADDR", env = "TANDEM_RELAY_LISTEN", default_value = "127.0.0.1:8787", value_parser = parse_listen)]
    listen: SocketAddr,
    /// SQLite database file
    #[arg(
        long,
        value_name = "PATH",
        env = "TANDEM_RELAY_DATABASE",
        default_value = "tandem-relay.db"
    )]
    database: String,
    /// postgres://user@host/db selects PostgreSQL instead of --database; any number of relays may share one (docs/deploy.md)
    #[arg(long, value_name = "URL", env = "TANDEM_RELAY_DATABASE_URL", value_parser = parse_pg_url, hide_env_values = true)]
    database_url: Option<String>,
    /// URL devices use to reach this relay (default ws://ADDR/v1/ws, wss://ADDR/v1/ws with --tls-cert)
    #[arg(long, value_name = "URL", env = "TANDEM_RELAY_PUBLIC_URL")]
    public_url: Option<String>,
    /// Largest accepted frame, in bytes
    #[arg(long, value_name = "N", env = "TANDEM_RELAY_MAX_FRAME_BYTES", default_value_t = 256 * 1024)]
    max_frame_bytes: usize,
    /// Sustained frames/s per device and relay node
    #[arg(
        long,
        value_name = "N",
        env = "TANDEM_RELAY_RATE",
        default_value_t = 50
    )]
    rate: u32,
    /// Burst of frames per device and relay node above --rate
    #[arg(
        long,
        value_name = "N",
        env = "TANDEM_RELAY_BURST",
        default_value_t = 200
    )]
    burst: u32,
    /// Simultaneous connections per IP address and relay node
    #[arg(
        long,
        value_name = "N",
        env = "TANDEM_RELAY_MAX_CONNS_PER_IP",
        default_value_t = 64
    )]
    max_conns_per_ip: usize,
    /// Messages waiting per device
    #[arg(long, value_name = "N", env = "TANDEM_RELAY_MAILBOX_MAX_MESSAGES", default_value_t = MailboxLimits::default().max_messages)]
    mailbox_max_messages: u64,
    /// Bytes waiting per device
    #[arg(long, value_name = "N", env = "TANDEM_RELAY_MAILBOX_MAX_BYTES", default_value_t = MailboxLimits::default().max_bytes)]
    mailbox_max_bytes: u64,
    /// Mailbox message lifetime, in seconds
    #[arg(long, value_name = "N", env = "TANDEM_RELAY_TTL_SECS", default_value_t = 7 * 24 * 3600)]
    ttl_secs: u64,
    /// Largest blob, in bytes
    #[arg(long, value_name = "N", env = "TANDEM_RELAY_BLOB_MAX_BYTES", default_value_t = 128 * 1024)]
    blob_max_bytes: usize,
    /// Blob bytes stored per group
    #[arg(long, value_name = "N", env = "TANDEM_RELAY_BLOB_QUOTA_BYTES", default_value_t = 16 * 1024 * 1024)]
    blob_quota_bytes: u64,
    /// Close connections silent this long, in seconds (pinged at a third of it)
    #[arg(
        long,
        value_name = "N",
        env = "TANDEM_RELAY_IDLE_TIMEOUT_SECS",
        default_value_t = 300
    )]
    idle_timeout_secs: u64,
    /// Serve the phone web app from DIR at /app/ (static files, no listings; a phone's camera needs https)
    #[arg(long, value_name = "DIR", env = "TANDEM_RELAY_APP_DIR", value_parser = parse_app_dir)]
    app_dir: Option<PathBuf>,
    /// A proxy of this relay, an address or a block (repeat, or comma-separate): from it, the client is the rightmost forwarded address that is not a trusted proxy (for the per-IP limit); from anyone else forwarding headers are ignored (default: none)
    #[arg(
        long,
        value_name = "ADDR[/N]",
        env = "TANDEM_RELAY_TRUSTED_PROXY",
        value_delimiter = ','
    )]
    trusted_proxy: Vec<String>,
    /// The header those proxies write: x-forwarded-for, or forwarded (RFC 7239)
    #[arg(
        long,
        value_name = "NAME",
        env = "TANDEM_RELAY_PROXY_HEADER",
        default_value = "x-forwarded-for"
    )]
    proxy_header: String,
    /// Terminate TLS: certificate chain, PEM, the server's first (read again on SIGHUP; a bad file keeps the old one)
    #[arg(long, value_name = "FILE", env = "TANDEM_RELAY_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key, PEM (PKCS#8, PKCS#1 or SEC1); read again on SIGHUP
    #[arg(long, value_name = "FILE", env = "TANDEM_RELAY_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Log level: error, warn, info or debug (logs name devices, groups, sizes and timings; never payloads or keys)
    #[arg(
        long,
        value_name = "LEVEL",
        env = "TANDEM_RELAY_LOG",
        default_value = "info"
    )]
    log: LogLevel,
    /// Log format: text (one line an event, key=value) or json (one object a line)
    #[arg(
        long,
        value_name = "FORMAT",
        env = "TANDEM_RELAY_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: LogFormat,
    /// On SIGTERM, how long open connections get to receive what is already queued for them before they are closed, in seconds
    #[arg(
        long,
        value_name = "N",
        env = "TANDEM_RELAY_SHUTDOWN_GRACE_SECS",
        default_value_t = 5
    )]
    shutdown_grace_secs: u64,
}

/// How much the relay logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogLevel {
    /// Failures only.
    Error,
    /// Failures and refusals worth an operator's look.
    Warn,
    /// Start, stop, connections' ends and the above.
    Info,
    /// Every connection and request kind (never contents).
    Debug,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `time level message key=value ...`
    Text,
    /// One JSON object a line.
    Json,
}

fn parse_listen(v: &str) -> core::result::Result<SocketAddr, String> {
    v.parse()
        .map_err(|_| format!("`{v}` is not an address like 127.0.0.1:8787"))
}

fn parse_pg_url(v: &str) -> core::result::Result<String, String> {
    if v.starts_with("postgres://") || v.starts_with("postgresql://") {
        Ok(v.to_owned())
    } else {
        Err("it must start with postgres:// (use --database for a SQLite file)".into())
    }
}

fn parse_app_dir(v: &str) -> core::result::Result<PathBuf, String> {
    std::fs::canonicalize(v)
        .ok()
        .filter(|p| p.is_dir())
        .ok_or_else(|| format!("`{v}` is not an existing folder"))
}

/// What the command line asks for.
#[derive(Debug)]
#[non_exhaustive]
pub enum Invocation {
    /// Run with these settings.
    Run(Box<Config>),
    /// Print this help text and exit successfully.
    Help(String),
}

impl Config {
    /// Parses command-line arguments (without the program name), with the
    /// `TANDEM_RELAY_*` environment variables for flags not given.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Invocation> {
        use clap::Parser;
        let argv = std::iter::once("tandem-relay".to_owned()).chain(args);
        let cli = match Cli::try_parse_from(argv) {
            Ok(c) => c,
            Err(e) => return clap_outcome(&e).map(Invocation::Help),
        };
        let mut proxies = Proxies::default();
        for block in cli.trusted_proxy.iter().filter(|b| !b.trim().is_empty()) {
            let cidr = block
                .trim()
                .parse::<Cidr>()
                .map_err(|e| Error::Config(format!("--trusted-proxy: {e}")))?;
            proxies.trusted.push(cidr);
        }
        proxies.header = cli
            .proxy_header
            .parse()
            .map_err(|e| Error::Config(format!("--proxy-header: {e}")))?;
        let tls = match (cli.tls_cert, cli.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => {
                return Err(Error::Config(
                    "--tls-cert and --tls-key go together (the certificate chain and its key)"
                        .into(),
                ))
            }
        };
        Ok(Invocation::Run(Box::new(Self {
            listen: cli.listen,
            database: cli.database_url.unwrap_or(cli.database),
            public_url: cli.public_url,
            max_frame_bytes: cli.max_frame_bytes,
            rate_per_sec: cli.rate,
            rate_burst: cli.burst,
            max_conns_per_ip: cli.max_conns_per_ip,
            mailbox: MailboxLimits {
                max_messages: cli.mailbox_max_messages,
                max_bytes: cli.mailbox_max_bytes,
            },
            message_ttl: Duration::from_secs(cli.ttl_secs),
            blob_max_bytes: cli.blob_max_bytes,
            blob_quota_bytes: cli.blob_quota_bytes,
            auth_timeout: Config::default().auth_timeout,
            idle_timeout: Duration::from_secs(cli.idle_timeout_secs.max(1)),
            pending_batch: Config::default().pending_batch,
            app_dir: cli.app_dir,
            tls,
            proxies,
            log: cli.log,
            log_format: cli.log_format,
            shutdown_grace: Duration::from_secs(cli.shutdown_grace_secs),
        })))
    }

    /// Help text for the binary: every flag with its environment variable.
    pub fn usage() -> String {
        use clap::CommandFactory;
        Cli::command().render_help().to_string()
    }
}

/// Help for `--help`, else a usage error that names the flag, in the
/// relay's words where clap's would be vaguer.
fn clap_outcome(e: &clap::Error) -> Result<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let arg = || match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.split_whitespace().next().unwrap_or("").to_owned(),
        _ => String::new(),
    };
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Ok(e.render().to_string()),
        ErrorKind::UnknownArgument => Err(Error::Config(format!(
            "unknown option `{}`; run tandem-relay --help",
            arg()
        ))),
        ErrorKind::InvalidValue
            if match e.get(ContextKind::InvalidValue) {
                None => true,
                Some(ContextValue::String(v)) => v.is_empty(),
                Some(_) => false,
            } =>
        {
            Err(Error::Config(format!("{} needs a value", arg())))
        }
        _ => {
            // clap's own first line, without its "error: " prefix.
            let text = e.render().to_string();
            let line = text
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ");
            Err(Error::Config(line.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    impl Invocation {
        fn unwrap(self) -> Config {
            match self {
                Invocation::Run(c) => *c,
                Invocation::Help(h) => panic!("help instead of settings: {h}"),
            }
        }
    }

    #[test]
    fn parses_flags_and_rejects_bad_ones() {
        let c = Config::from_args(args(&["--listen", "127.0.0.1:0", "--rate", "7"]))
            .unwrap()
            .unwrap();
        assert_eq!(c.listen.port(), 0);
        assert_eq!(c.rate_per_sec, 7);
        let help = match Config::from_args(args(&["--help"])).unwrap() {
            Invocation::Help(h) => h,
            Invocation::Run(_) => panic!("--help ran the relay"),
        };
        // Every setting names its flag and its environment variable.
        for (flag, var) in [
            ("--listen", "TANDEM_RELAY_LISTEN"),
            ("--database-url", "TANDEM_RELAY_DATABASE_URL"),
            ("--trusted-proxy", "TANDEM_RELAY_TRUSTED_PROXY"),
            ("--log-format", "TANDEM_RELAY_LOG_FORMAT"),
        ] {
            assert!(
                help.contains(flag) && help.contains(var),
                "{flag} {var}: {help}"
            );
        }
        let e = Config::from_args(args(&["--rate", "fast"])).unwrap_err();
        assert!(e.to_string().contains("--rate"), "{e}");
        let e = Config::from_args(args(&["--bogus"])).unwrap_err();
        assert!(e.to_string().contains("unknown option"), "{e}");
        let e = Config::from_args(args(&["--database-url", "mysql://x"])).unwrap_err();
        assert!(e.to_string().contains("postgres://"), "{e}");
        let e = Config::from_args(args(&["--listen"])).unwrap_err();
        assert!(e.to_string().contains("needs a value"), "{e}");
    }

    #[test]
    fn trusted_proxies_are_addresses_or_blocks() {
        assert!(Config::default().proxies.trusted.is_empty());
        let c = Config::from_args(args(&[
            "--trusted-proxy",
            "127.0.0.1",
            "--trusted-proxy",
            "10.0.0.0/8, fd00::/8",
            "--proxy-header",
            "forwarded",
        ]))
        .unwrap()
        .unwrap();
        let blocks: Vec<String> = c.proxies.trusted.iter().map(|c| c.to_string()).collect();
        assert_eq!(blocks, ["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"]);
        assert_eq!(c.proxies.header, crate::forwarded::ProxyHeader::Forwarded);
        let e = Config::from_args(args(&["--trusted-proxy", "proxy.example"])).unwrap_err();
        assert!(e.to_string().contains("--trusted-proxy"), "{e}");
        assert!(e.to_string().contains("proxy.example"), "{e}");
        let e = Config::from_args(args(&["--proxy-header", "x-real-ip"])).unwrap_err();
        assert!(
            e.to_string().contains("x-forwarded-for or forwarded"),
            "{e}"
        );
    }

    #[test]
    fn tls_needs_both_files() {
        assert_eq!(Config::default().tls, None);
        let c = Config::from_args(args(&["--tls-cert", "c.pem", "--tls-key", "k.pem"]))
            .unwrap()
            .unwrap();
        let tls = c.tls.unwrap();
        assert_eq!(
            (tls.cert.to_str(), tls.key.to_str()),
            (Some("c.pem"), Some("k.pem"))
        );
        for half in [["--tls-cert", "c.pem"], ["--tls-key", "k.pem"]] {
            let e = Config::from_args(args(&half)).unwrap_err();
            assert!(e.to_string().contains("go together"), "{e}");
        }
    }

    #[test]
    fn app_dir_must_be_an_existing_folder() {
        assert_eq!(Config::default().app_dir, None);
        let here = env!("CARGO_MANIFEST_DIR");
        let c = Config::from_args(args(&["--app-dir", here]))
            .unwrap()
            .unwrap();
        assert_eq!(c.app_dir, Some(std::fs::canonicalize(here).unwrap()));
        let missing = format!("{here}/no-such-folder");
        let e = Config::from_args(args(&["--app-dir", &missing])).unwrap_err();
        assert!(e.to_string().contains("--app-dir"), "{e}");
        assert!(e.to_string().contains("no-such-folder"), "{e}");
        let file = format!("{here}/Cargo.toml");
        let e = Config::from_args(args(&["--app-dir", &file])).unwrap_err();
        assert!(e.to_string().contains("not an existing folder"), "{e}");
    }
}
