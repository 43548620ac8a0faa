//! A certificate authority made inside a test (feature `test-ca`, for
//! tests only): trusted by the test's clients alone, nothing in the
//! system's store changes.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::CertificateDer;

use crate::Trust;

/// A certificate authority that exists only in this test.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl core::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

/// A server certificate (followed by its CA, as operators install chains)
/// and its private key, in PEM.
pub struct Leaf {
    /// The chain: the server's certificate, then the CA's.
    pub cert_pem: String,
    /// The server's private key.
    pub key_pem: String,
    /// The server's certificate alone.
    pub der: CertificateDer<'static>,
}

impl core::fmt::Debug for Leaf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Leaf").finish_non_exhaustive()
    }
}

impl TestCa {
    /// A new CA named `name`.
    pub fn new(name: &str) -> Self {
        let mut params =
            CertificateParams::new(Vec::<String>::new()).expect("no names, nothing to refuse");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("the OS provides randomness");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("a CA signs itself");
        Self { issuer }
    }

    /// A server certificate for `hosts` (DNS names or IP addresses).
    pub fn leaf(&self, hosts: &[&str]) -> Leaf {
        let names = hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>();
        let params = CertificateParams::new(names).expect("valid host names");
        let key = KeyPair::generate().expect("the OS provides randomness");
        let cert = params.signed_by(&key, &self.issuer).expect("the CA signs");
        Leaf {
            cert_pem: format!("{}{}", cert.pem(), self.issuer.pem()),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
        }
    }

    /// The CA's certificate.
    pub fn der(&self) -> &CertificateDer<'static> {
        self.issuer.der()
    }

    /// Writes the CA's certificate (PEM) to `dir/ca.pem`, the file a device
    /// is told to trust, and returns its path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let p = dir.join("ca.pem");
        std::fs::write(&p, self.issuer.pem()).expect("the test's folder is writable");
        p
    }

    /// The built-in roots and this CA.
    pub fn trust(&self, dir: &Path) -> Trust {
        Trust::with_ca_file(&self.write(dir)).expect("a CA certificate just written")
    }
}

impl Leaf {
    /// Writes the chain to `dir/cert.pem` and the key to `dir/key.pem`
    /// (each through a temporary name and a rename, as certificate tools
    /// do, so a reader never sees half a file); returns both paths.
    pub fn install(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        for (path, text) in [(&cert, &self.cert_pem), (&key, &self.key_pem)] {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, text).expect("the test's folder is writable");
            std::fs::rename(&tmp, path).expect("the test's folder is writable");
        }
        (cert, key)
    }
}
