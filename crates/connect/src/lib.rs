#![doc = include_str!("../README.md")]

use std::{
    path::Path,
    sync::{Arc, OnceLock},
};

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::{pem::PemObject, CertificateDer};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    tungstenite::{self, protocol::WebSocketConfig},
    Connector, MaybeTlsStream, WebSocketStream,
};

/// The socket a device talks to its relay on.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[cfg(feature = "test-ca")]
pub mod testing;

/// Environment variable naming an extra CA certificate file (PEM) that
/// devices trust for the relay, in addition to the built-in roots.
pub const CA_ENV: &str = "TANDEM_RELAY_CA";

/// WebSocket close code the relay sends when it shuts down or restarts
/// (RFC 6455 registry: 1012 "Service Restart"): nothing is wrong with the
/// device or its messages; reconnect after a short, jittered wait, and the
/// mailbox replays whatever was not yet acknowledged.
pub const RESTART_CLOSE_CODE: u16 = 1012;

/// The reason text sent with [`RESTART_CLOSE_CODE`].
pub const RESTART_CLOSE_REASON: &str = "relay restarting; reconnect";

/// Whether a close frame from the relay asks the device to reconnect (a
/// restart), rather than reporting a refusal (revoked, limit, bad auth).
pub fn close_asks_reconnect(frame: Option<&tungstenite::protocol::CloseFrame>) -> bool {
    frame.is_some_and(|f| u16::from(f.code) == RESTART_CLOSE_CODE)
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Why a relay socket could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not one a device may use (malformed, or plain `ws://` to
    /// another machine).
    #[error(transparent)]
    Url(#[from] tandem_pair::Error),
    /// The extra CA file could not be read or holds no certificate.
    #[error("cannot use the CA file {path}: {detail}")]
    CaFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The relay's certificate did not verify against the trusted roots.
    #[error(
        "the relay at {url} presented a certificate this device does not trust ({detail}); \
         if the relay's certificate comes from a private CA, set {CA_ENV} to that CA's PEM file"
    )]
    Untrusted {
        /// The relay URL.
        url: String,
        /// Why the certificate was refused.
        detail: String,
    },
    /// Any other network, TLS or WebSocket failure.
    #[error("cannot connect to {url}: {detail}")]
    Connect {
        /// The relay URL.
        url: String,
        /// What failed.
        detail: String,
    },
}

/// The certificates a device trusts for `wss://` relays: the Mozilla roots
/// of `webpki-roots`, plus any extra CA given. Cheap to clone.
#[derive(Clone)]
pub struct Trust {
    config: Arc<ClientConfig>,
    extra: Option<String>,
}

impl core::fmt::Debug for Trust {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Trust")
            .field("extra_ca", &self.extra)
            .finish_non_exhaustive()
    }
}

impl Default for Trust {
    fn default() -> Self {
        Self::webpki()
    }
}

fn webpki_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

fn client_config(roots: RootCertStore) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

impl Trust {
    /// The built-in roots only (built once per process; clones share it).
    pub fn webpki() -> Self {
        static BUILT_IN: OnceLock<Trust> = OnceLock::new();
        BUILT_IN
            .get_or_init(|| Self {
                config: client_config(webpki_roots()),
                extra: None,
            })
            .clone()
    }

    /// The built-in roots and every certificate in the PEM file at `path`.
    pub fn with_ca_file(path: &Path) -> Result<Self> {
        let err = |detail: String| Error::CaFile {
            path: path.display().to_string(),
            detail,
        };
        let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let mut roots = webpki_roots();
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| err(format!("not a PEM certificate file ({e})")))?;
            roots
                .add(cert)
                .map_err(|e| err(format!("a certificate in it is unusable ({e})")))?;
            added += 1;
        }
        if added == 0 {
            return Err(err(
                "no certificate in it (expected -----BEGIN CERTIFICATE-----)".into(),
            ));
        }
        Ok(Self {
            config: client_config(roots),
            extra: Some(path.display().to_string()),
        })
    }

    /// [`Self::with_ca_file`] with the file named by `TANDEM_RELAY_CA`
    /// ([`CA_ENV`]) when it is set and not empty, else [`Self::webpki`].
    pub fn from_env() -> Result<Self> {
        match std::env::var_os(CA_ENV) {
            Some(p) if !p.is_empty() => Self::with_ca_file(Path::new(&p)),
            _ => Ok(Self::webpki()),
        }
    }

    /// The extra CA file, if any.
    pub fn extra_ca(&self) -> Option<&str> {
        self.extra.as_deref()
    }
}

/// Opens a WebSocket to the relay at `url` (Nagle off, `config` for
/// buffers). `wss://` verifies the relay's certificate against `trust`;
/// `ws://` is refused unless the host is this machine.
pub async fn connect(url: &str, trust: &Trust, config: WebSocketConfig) -> Result<Socket> {
    tandem_pair::offer::check_transport(url)?;
    let connector = Connector::Rustls(Arc::clone(&trust.config));
    match tokio_tungstenite::connect_async_tls_with_config(url, Some(config), true, Some(connector))
        .await
    {
        Ok((ws, _)) => Ok(ws),
        Err(e) => Err(match certificate_problem(&e) {
            Some(detail) => Error::Untrusted {
                url: url.to_owned(),
                detail,
            },
            None => Error::Connect {
                url: url.to_owned(),
                detail: e.to_string(),
            },
        }),
    }
}

/// What was wrong with the relay's certificate, when that is why the
/// connection failed.
fn certificate_problem(e: &tungstenite::Error) -> Option<String> {
    use rustls::CertificateError as C;
    let tungstenite::Error::Io(io) = e else {
        return None;
    };
    let rustls::Error::InvalidCertificate(c) = io.get_ref()?.downcast_ref::<rustls::Error>()?
    else {
        return None;
    };
    Some(match c {
        C::UnknownIssuer => "issued by a certificate authority it does not know".into(),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "not valid for this host name".into()
        }
        C::Expired | C::ExpiredContext { .. } => "expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => "not valid yet".into(),
        C::Revoked => "revoked".into(),
        other => format!("{other:?}"),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn temp_file(name: &str, contents: &[u8]) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("tandem-connect-{}-{name}", std::process::id()));
        std::fs::write(&p, contents).unwrap();
        p
    }

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        let missing = Path::new("/nonexistent/tandem-ca.pem");
        let e = Trust::with_ca_file(missing).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/tandem-ca.pem"), "{e}");

        // A private key is not a CA; it is named as such and never echoed.
        let key = rcgen::KeyPair::generate().unwrap();
        let p = temp_file("key.pem", key.serialize_pem().as_bytes());
        let e = Trust::with_ca_file(&p).unwrap_err().to_string();
        std::fs::remove_file(&p).unwrap();
        assert!(e.contains("no certificate in it"), "{e}");
        assert!(!e.contains("PRIVATE KEY"), "{e}");

        let p = temp_file("junk.pem", b"-----BEGIN CERTIFICATE-----\n!!!\n");
        let e = Trust::with_ca_file(&p).unwrap_err().to_string();
        std::fs::remove_file(&p).unwrap();
        assert!(e.contains("cannot use the CA file"), "{e}");
    }

    #[test]
    fn a_ca_file_adds_to_the_built_in_roots() {
        let key = rcgen::KeyPair::generate().unwrap();
        let ca = rcgen::CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let p = temp_file("ca.pem", ca.pem().as_bytes());
        let t = Trust::with_ca_file(&p).unwrap();
        std::fs::remove_file(&p).unwrap();
        assert_eq!(t.extra_ca(), p.to_str());
        assert!(format!("{t:?}").contains("ca.pem"));
        assert_eq!(Trust::webpki().extra_ca(), None);
    }

    #[tokio::test]
    async fn plain_ws_to_another_machine_is_refused_before_any_connection() {
        // 192.0.2.1 is TEST-NET-1: never routed, so nothing could answer.
        let url = "ws://192.0.2.1:8787/v1/ws";
        let e = connect(url, &Trust::webpki(), WebSocketConfig::default())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Url(_)), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains(url), "{msg}");
        assert!(msg.contains("use wss://192.0.2.1:8787/v1/ws"), "{msg}");
    }
}
