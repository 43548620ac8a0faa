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
        }
    }
}

pub(crate) const USAGE: &str = "\
tandem-relay: Tandem's relay server (WebSocket at /v1/ws, GET /health, GET /metrics,
and with --app-dir the phone web app at GET /app/)

USAGE: tandem-relay [OPTIONS]

With no options it listens on 127.0.0.1:8787 (plain HTTP: for this machine,
or behind a TLS proxy) and stores its data in ./tandem-relay.db (SQLite, WAL).

OPTIONS:
  --listen ADDR             listen address (default 127.0.0.1:8787; port 0 = any free port)
  --database PATH           SQLite database file (default ./tandem-relay.db)
  --database-url URL        postgres://user@host/db selects PostgreSQL instead; any number
                            of relays may share one (docs/deploy.md)
  --public-url URL          URL devices use to reach this relay (default ws://ADDR/v1/ws,
                            wss://ADDR/v1/ws with --tls-cert)
  --max-frame-bytes N       largest accepted frame (default 262144)
  --rate N                  sustained frames/s per device and relay node (default 50)
  --burst N                 burst frames per device and relay node (default 200)
  --max-conns-per-ip N      simultaneous connections per IP and relay node (default 64)
  --mailbox-max-messages N  messages waiting per device (default 10000)
  --mailbox-max-bytes N     bytes waiting per device (default 67108864)
  --ttl-secs N              mailbox message lifetime (default 604800)
  --blob-max-bytes N        largest blob (default 131072)
  --blob-quota-bytes N      blob bytes per group (default 16777216)
  --idle-timeout-secs N     close connections silent this long (default 300; pinged at N/3)
  --app-dir DIR             serve the phone web app from DIR at /app/ (static files,
                            no listings; a phone's camera needs https)
  --trusted-proxy ADDR[/N]  a proxy of this relay (repeat, or comma-separate): from it,
                            the client is the rightmost X-Forwarded-For address that
                            is not a trusted proxy (for the per-IP limit); from anyone
                            else forwarding headers are ignored (default: none)
  --proxy-header NAME       the header those proxies write: x-forwarded-for (default)
                            or forwarded (RFC 7239)
  --tls-cert FILE           terminate TLS: certificate chain, PEM, server's first
  --tls-key FILE            its private key, PEM (PKCS#8, PKCS#1 or SEC1); both files
                            are read again on SIGHUP (a bad file keeps the old ones)
  -h, --help                this help

On start it prints one line `tandem-relay listening on ws://ADDR/v1/ws` (wss:// with
TLS) to stdout (with --app-dir, a second one naming the app's URL).
";

impl Config {
    /// Parses command-line arguments (without the program name). Returns
    /// `Ok(None)` when help was requested.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Option<Self>> {
        let mut c = Self::default();
        let (mut tls_cert, mut tls_key) = (None, None);
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            if flag == "-h" || flag == "--help" {
                return Ok(None);
            }
            let mut value = || {
                it.next()
                    .ok_or_else(|| Error::Config(format!("{flag} needs a value")))
            };
            match flag.as_str() {
                "--listen" => {
                    let v = value()?;
                    c.listen = v.parse().map_err(|_| {
                        Error::Config(format!(
                            "--listen: `{v}` is not an address like 127.0.0.1:8787"
                        ))
                    })?;
                }
                "--database" => c.database = value()?,
                "--database-url" => {
                    let v = value()?;
                    if !(v.starts_with("postgres://") || v.starts_with("postgresql://")) {
                        return Err(Error::Config(
                            "--database-url must start with postgres:// (use --database for a SQLite file)".into(),
                        ));
                    }
                    c.database = v;
                }
                "--public-url" => c.public_url = Some(value()?),
                "--app-dir" => {
                    let v = value()?;
                    c.app_dir = Some(
                        std::fs::canonicalize(&v)
                            .ok()
                            .filter(|p| p.is_dir())
                            .ok_or_else(|| {
                                Error::Config(format!("--app-dir: `{v}` is not an existing folder"))
                            })?,
                    );
                }
                "--trusted-proxy" => {
                    for block in value()?.split(',').filter(|b| !b.trim().is_empty()) {
                        let cidr = block
                            .trim()
                            .parse::<Cidr>()
                            .map_err(|e| Error::Config(format!("--trusted-proxy: {e}")))?;
                        c.proxies.trusted.push(cidr);
                    }
                }
                "--proxy-header" => {
                    c.proxies.header = value()?
                        .parse()
                        .map_err(|e| Error::Config(format!("--proxy-header: {e}")))?;
                }
                "--tls-cert" => tls_cert = Some(PathBuf::from(value()?)),
                "--tls-key" => tls_key = Some(PathBuf::from(value()?)),
                "--max-frame-bytes" => c.max_frame_bytes = num(&flag, &value()?)?,
                "--rate" => c.rate_per_sec = num(&flag, &value()?)?,
                "--burst" => c.rate_burst = num(&flag, &value()?)?,
                "--max-conns-per-ip" => c.max_conns_per_ip = num(&flag, &value()?)?,
                "--mailbox-max-messages" => c.mailbox.max_messages = num(&flag, &value()?)?,
                "--mailbox-max-bytes" => c.mailbox.max_bytes = num(&flag, &value()?)?,
                "--ttl-secs" => c.message_ttl = Duration::from_secs(num(&flag, &value()?)?),
                "--blob-max-bytes" => c.blob_max_bytes = num(&flag, &value()?)?,
                "--blob-quota-bytes" => c.blob_quota_bytes = num(&flag, &value()?)?,
                "--idle-timeout-secs" => {
                    c.idle_timeout = Duration::from_secs(num::<u64>(&flag, &value()?)?.max(1))
                }
                other => {
                    return Err(Error::Config(format!(
                        "unknown option `{other}`; run tandem-relay --help"
                    )))
                }
            }
        }
        c.tls = match (tls_cert, tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => {
                return Err(Error::Config(
                    "--tls-cert and --tls-key go together (the certificate chain and its key)"
                        .into(),
                ))
            }
        };
        Ok(Some(c))
    }

    /// Help text for the binary.
    pub fn usage() -> &'static str {
        USAGE
    }
}

fn num<T: core::str::FromStr>(flag: &str, v: &str) -> Result<T> {
    v.parse()
        .map_err(|_| Error::Config(format!("{flag}: `{v}` is not a valid number")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_flags_and_rejects_bad_ones() {
        let c = Config::from_args(args(&["--listen", "127.0.0.1:0", "--rate", "7"]))
            .unwrap()
            .unwrap();
        assert_eq!(c.listen.port(), 0);
        assert_eq!(c.rate_per_sec, 7);
        assert!(Config::from_args(args(&["--help"])).unwrap().is_none());
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
