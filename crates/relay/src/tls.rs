//! TLS termination in the relay itself (rustls, `ring` provider): the
//! certificate chain and key come from PEM files and are read again on
//! SIGHUP. A reload that fails (a missing, half-written or mismatched file)
//! keeps the certificate in use and says why; new connections get the new
//! certificate as soon as a reload succeeds, open ones keep theirs.
//!
//! Handshakes run on their own tasks, so a client that stalls mid-handshake
//! holds up nobody else; one that has not finished within
//! [`HANDSHAKE_TIMEOUT`] is dropped.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::Duration,
};

use rustls::{
    crypto::CryptoProvider,
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
    ServerConfig,
};
use rustls_pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use tokio_rustls::{server::TlsStream, TlsAcceptor};

use crate::{Error, Result};

/// Time a client has to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Completed handshakes waiting for the HTTP server to take them.
const ACCEPTED_QUEUE: usize = 256;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificate chain and private key files (PEM), and what was last
/// loaded from them.
pub struct CertFiles {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl core::fmt::Debug for CertFiles {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Paths only: never the key.
        f.debug_struct("CertFiles")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

fn tls_err(what: impl core::fmt::Display) -> Error {
    Error::Config(format!("TLS: {what}"))
}

/// A PEM file that could not be read, or does not hold what it should.
/// The parser's own message could quote the file: only the expectation is
/// said, so no key material reaches a log.
fn pem_err(path: &Path, e: rustls_pki_types::pem::Error, expected: &str) -> Error {
    match e {
        rustls_pki_types::pem::Error::Io(e) => {
            tls_err(format_args!("cannot read {}: {e}", path.display()))
        }
        _ => tls_err(format_args!("{} is not {expected}", path.display())),
    }
}

/// Reads a chain (leaf first) and its private key, and checks they match.
fn load(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>> {
    const CHAIN: &str = "a PEM certificate chain (a section is cut off or damaged)";
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| pem_err(cert, e, CHAIN))?
        .collect::<core::result::Result<Vec<_>, _>>()
        .map_err(|e| pem_err(cert, e, CHAIN))?;
    if chain.is_empty() {
        return Err(tls_err(format_args!(
            "no certificate in {} (expected -----BEGIN CERTIFICATE-----, the server's first)",
            cert.display()
        )));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        pem_err(
            key,
            e,
            "a PEM private key (PKCS#8, PKCS#1 or SEC1; one key, nothing else)",
        )
    })?;
    let certified = CertifiedKey::from_der(chain, private, &provider()).map_err(|e| {
        let why = match e {
            rustls::Error::InconsistentKeys(_) => "it is the key of another certificate".into(),
            rustls::Error::General(_) => "not an RSA, ECDSA or Ed25519 key".into(),
            other => other.to_string(),
        };
        tls_err(format_args!(
            "the key in {} cannot serve the certificate in {} ({why})",
            key.display(),
            cert.display()
        ))
    })?;
    Ok(Arc::new(certified))
}

impl CertFiles {
    /// Loads the chain at `cert` and the key at `key`.
    pub fn load(cert: PathBuf, key: PathBuf) -> Result<Arc<Self>> {
        let current = RwLock::new(load(&cert, &key)?);
        Ok(Arc::new(Self { cert, key, current }))
    }

    /// Reads both files again. On success new handshakes use the new
    /// certificate; on failure the previous one stays in use and the error
    /// says why.
    pub fn reload(&self) -> Result<()> {
        let fresh = load(&self.cert, &self.key)?;
        let mut current = self
            .current
            .write()
            .map_err(|_| tls_err("certificate lock poisoned"))?;
        *current = fresh;
        Ok(())
    }

    /// The certificate chain file.
    pub fn cert_path(&self) -> &Path {
        &self.cert
    }

    /// A rustls server configuration that serves whatever was last loaded
    /// (HTTP/1.1, where WebSockets live).
    pub fn server_config(self: &Arc<Self>) -> Arc<ServerConfig> {
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default TLS versions")
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

impl ResolvesServerCert for CertFiles {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|c| Arc::clone(&c))
    }
}

/// A listener for `axum::serve` that hands over connections once their TLS
/// handshake is done.
pub struct TlsListener {
    local: SocketAddr,
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl core::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TlsListener")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl TlsListener {
    /// Accepts TCP connections on `tcp` and runs each TLS handshake with
    /// `config` on its own task.
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let (tx, accepted) = mpsc::channel(ACCEPTED_QUEUE);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = tokio::select! {
                    // The server stopped taking connections: stop accepting.
                    _ = tx.closed() => return,
                    r = tcp.accept() => match r {
                        Ok(c) => c,
                        Err(e) => {
                            // Out of file descriptors and the like: back off
                            // briefly rather than spin (as axum's listener does).
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    },
                };
                // Frames are small and latency-sensitive: no Nagle delay.
                let _ = stream.set_nodelay(true);
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    // Failed handshakes (scanners, clients that do not trust
                    // the certificate) are the client's business: not logged.
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        let _ = tx.send((tls, peer)).await;
                    }
                });
            }
        });
        Ok(Self { local, accepted })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(c) => c,
            // The accept task only ends once this receiver is gone.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
