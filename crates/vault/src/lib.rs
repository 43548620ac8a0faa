#![doc = include_str!("../README.md")]

use core::fmt;

use argon2::{Algorithm, Argon2, Params, Version};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    XChaCha20Poly1305, XNonce,
};
use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Envelope format name written in every vault.
pub const FORMAT: &str = "tandem-vault";
/// Envelope version this crate writes and reads.
pub const VERSION: u32 = 1;

const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const CHECK_LEN: usize = 16;
const INFO_ENCRYPT: &[u8] = b"tandem/vault/v1/encrypt";
const INFO_CHECK: &[u8] = b"tandem/vault/v1/check";

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Why a vault could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The password does not match this vault.
    #[error("wrong password")]
    WrongPassword,
    /// The password was right but the encrypted data or header was changed.
    #[error(
        "the vault was modified or damaged after it was saved; restore the wallet from its recovery phrase"
    )]
    Tampered,
    /// Not a vault at all, or a field is missing or malformed.
    #[error("this is not a readable Tandem vault: {0}")]
    Malformed(String),
    /// Written by a newer version.
    #[error(
        "this vault was saved by a newer Tandem (vault version {0}); update Tandem to open it"
    )]
    UnsupportedVersion(u32),
    /// KDF name or cipher this version does not know.
    #[error("this vault uses {0}, which this version of Tandem does not support")]
    UnsupportedAlgorithm(String),
    /// KDF parameters outside what Tandem accepts.
    #[error(
        "key-derivation settings out of range: memory {memory_kib} KiB (8..=1048576), passes {iterations} (1..=64), lanes {parallelism} (1..=16)"
    )]
    KdfParams {
        /// Memory in KiB.
        memory_kib: u32,
        /// Passes.
        iterations: u32,
        /// Lanes.
        parallelism: u32,
    },
    /// An empty password was given for a new vault.
    #[error("choose a password; an empty one would leave the vault open to anyone with the file")]
    EmptyPassword,
}

impl Error {
    /// A stable name for this kind of error, for callers that branch on it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::WrongPassword { .. } => "WrongPassword",
            Self::Tampered { .. } => "Tampered",
            Self::Malformed { .. } => "Malformed",
            Self::UnsupportedVersion { .. } => "UnsupportedVersion",
            Self::UnsupportedAlgorithm { .. } => "UnsupportedAlgorithm",
            Self::KdfParams { .. } => "KdfParams",
            Self::EmptyPassword { .. } => "EmptyPassword",
        }
    }
}

/// Argon2id cost parameters, stored in the vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Number of lanes.
    pub parallelism: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        Self {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

impl KdfParams {
    /// Cheap parameters for tests only: 8 KiB, 1 pass. Never for real vaults.
    pub const INSECURE_TEST: Self = Self {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };

    fn validate(self) -> Result<Params> {
        let bad = || Error::KdfParams {
            memory_kib: self.memory_kib,
            iterations: self.iterations,
            parallelism: self.parallelism,
        };
        if !(1..=16).contains(&self.parallelism)
            || !(1..=64).contains(&self.iterations)
            || self.memory_kib > 1024 * 1024
            || self.memory_kib < 8 * self.parallelism
        {
            return Err(bad());
        }
        Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32)).map_err(|_| bad())
    }
}

/// The key derived from the password. Zeroized on drop; `Debug` prints nothing secret.
#[derive(Clone)]
pub struct VaultKey(Zeroizing<[u8; 32]>);

impl VaultKey {
    /// The raw key, to hold in memory-only session storage across worker restarts.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        self.0.clone()
    }

    /// A key from [`VaultKey::to_bytes`]. Wrong bytes fail later as [`Error::WrongPassword`].
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(Zeroizing::new(*bytes))
    }

    fn subkeys(&self) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; CHECK_LEN]>) {
        let hk = Hkdf::<Sha256>::new(None, self.0.as_slice());
        let mut enc = Zeroizing::new([0u8; 32]);
        let mut check = Zeroizing::new([0u8; CHECK_LEN]);
        hk.expand(INFO_ENCRYPT, enc.as_mut_slice())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        hk.expand(INFO_CHECK, check.as_mut_slice())
            .expect("16 bytes is a valid HKDF-SHA256 output length");
        (enc, check)
    }
}

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VaultKey(..)")
    }
}

/// An encrypted vault. Holds no plaintext, so `Debug` and serialization are safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vault {
    kdf: KdfParams,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
    check: [u8; CHECK_LEN],
    ciphertext: Vec<u8>,
}

impl Vault {
    /// Encrypts `plaintext` under `password` with fresh salt and nonce.
    pub fn seal(
        rng: &mut impl CryptoRngCore,
        password: &[u8],
        plaintext: &[u8],
        kdf: KdfParams,
    ) -> Result<(Self, VaultKey)> {
        if password.is_empty() {
            return Err(Error::EmptyPassword);
        }
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        let key = derive(password, &salt, kdf)?;
        let (_, check) = key.subkeys();
        let vault = Self {
            kdf,
            salt,
            nonce: [0; NONCE_LEN],
            check: *check,
            ciphertext: Vec::new(),
        }
        .encrypt(rng, &key, plaintext);
        Ok((vault, key))
    }

    /// Derives the key from `password` and decrypts.
    pub fn unlock(&self, password: &[u8]) -> Result<(Zeroizing<Vec<u8>>, VaultKey)> {
        let key = derive(password, &self.salt, self.kdf)?;
        let plaintext = self.open(&key)?;
        Ok((plaintext, key))
    }

    /// Decrypts with a key kept from an earlier unlock (no KDF cost).
    pub fn open(&self, key: &VaultKey) -> Result<Zeroizing<Vec<u8>>> {
        let (enc, check) = key.subkeys();
        if !bool::from(check.as_slice().ct_eq(&self.check)) {
            return Err(Error::WrongPassword);
        }
        let cipher = XChaCha20Poly1305::new(enc.as_slice().into());
        cipher
            .decrypt(
                &XNonce::from(self.nonce),
                Payload {
                    msg: &self.ciphertext,
                    aad: &self.aad(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| Error::Tampered)
    }

    /// Re-encrypts new contents under the same password (same salt and KDF,
    /// fresh nonce), e.g. after adding an account, without asking for the password.
    pub fn reseal(
        &self,
        rng: &mut impl CryptoRngCore,
        key: &VaultKey,
        plaintext: &[u8],
    ) -> Result<Self> {
        // Refuse a key that does not belong to this vault rather than silently
        // locking the user out with a vault no password opens.
        self.open(key)?;
        Ok(self.clone().encrypt(rng, key, plaintext))
    }

    /// Verifies `old`, then encrypts the same contents under `new` with a new salt.
    pub fn change_password(
        &self,
        rng: &mut impl CryptoRngCore,
        old: &[u8],
        new: &[u8],
        kdf: KdfParams,
    ) -> Result<(Self, VaultKey)> {
        let (plaintext, _) = self.unlock(old)?;
        Self::seal(rng, new, &plaintext, kdf)
    }

    /// The KDF cost this vault was sealed with.
    pub fn kdf(&self) -> KdfParams {
        self.kdf
    }

    /// The JSON envelope.
    pub fn to_json(&self) -> String {
        let e = Envelope {
            format: FORMAT.into(),
            version: VERSION,
            kdf: KdfField {
                algorithm: "argon2id".into(),
                argon2_version: 0x13,
                memory_kib: self.kdf.memory_kib,
                iterations: self.kdf.iterations,
                parallelism: self.kdf.parallelism,
                salt: B64.encode(self.salt),
            },
            cipher: CipherField {
                algorithm: "xchacha20-poly1305".into(),
                nonce: B64.encode(self.nonce),
            },
            check: B64.encode(self.check),
            ciphertext: B64.encode(&self.ciphertext),
        };
        serde_json::to_string(&e).expect("vault serialization cannot fail")
    }

    /// Parses a JSON envelope, checking format, version, algorithms and lengths.
    pub fn from_json(json: &str) -> Result<Self> {
        let e: Envelope = serde_json::from_str(json).map_err(|err| {
            // serde_json's message may quote input; keep only its position and category.
            Error::Malformed(format!(
                "{:?} error at line {} column {}",
                err.classify(),
                err.line(),
                err.column()
            ))
        })?;
        if e.format != FORMAT {
            return Err(Error::Malformed("not a Tandem vault".into()));
        }
        if e.version > VERSION {
            return Err(Error::UnsupportedVersion(e.version));
        }
        if e.version != VERSION {
            return Err(Error::Malformed(format!("unknown version {}", e.version)));
        }
        if e.kdf.algorithm != "argon2id" || e.kdf.argon2_version != 0x13 {
            return Err(Error::UnsupportedAlgorithm(format!(
                "{} version {}",
                e.kdf.algorithm, e.kdf.argon2_version
            )));
        }
        if e.cipher.algorithm != "xchacha20-poly1305" {
            return Err(Error::UnsupportedAlgorithm(e.cipher.algorithm));
        }
        let kdf = KdfParams {
            memory_kib: e.kdf.memory_kib,
            iterations: e.kdf.iterations,
            parallelism: e.kdf.parallelism,
        };
        kdf.validate()?;
        let ciphertext = b64(&e.ciphertext, "ciphertext")?;
        if ciphertext.len() < 16 {
            return Err(Error::Malformed("ciphertext shorter than its tag".into()));
        }
        Ok(Self {
            kdf,
            salt: b64_array(&e.kdf.salt, "salt")?,
            nonce: b64_array(&e.cipher.nonce, "nonce")?,
            check: b64_array(&e.check, "check")?,
            ciphertext,
        })
    }

    fn encrypt(mut self, rng: &mut impl CryptoRngCore, key: &VaultKey, plaintext: &[u8]) -> Self {
        rng.fill_bytes(&mut self.nonce);
        let (enc, _) = key.subkeys();
        let cipher = XChaCha20Poly1305::new(enc.as_slice().into());
        self.ciphertext = cipher
            .encrypt(
                &XNonce::from(self.nonce),
                Payload {
                    msg: plaintext,
                    aad: &self.aad(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        self
    }

    /// Every header field, in a fixed binary layout, so any edit fails the tag.
    fn aad(&self) -> Vec<u8> {
        let mut a = Vec::with_capacity(96);
        a.extend_from_slice(FORMAT.as_bytes());
        a.extend_from_slice(&VERSION.to_be_bytes());
        a.extend_from_slice(b"argon2id");
        a.extend_from_slice(&0x13u32.to_be_bytes());
        a.extend_from_slice(&self.kdf.memory_kib.to_be_bytes());
        a.extend_from_slice(&self.kdf.iterations.to_be_bytes());
        a.extend_from_slice(&self.kdf.parallelism.to_be_bytes());
        a.extend_from_slice(&self.salt);
        a.extend_from_slice(b"xchacha20-poly1305");
        a.extend_from_slice(&self.nonce);
        a.extend_from_slice(&self.check);
        a
    }
}

fn derive(password: &[u8], salt: &[u8], kdf: KdfParams) -> Result<VaultKey> {
    let params = kdf.validate()?;
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password, salt, out.as_mut_slice())
        .map_err(|_| Error::KdfParams {
            memory_kib: kdf.memory_kib,
            iterations: kdf.iterations,
            parallelism: kdf.parallelism,
        })?;
    Ok(VaultKey(out))
}

fn b64(s: &str, field: &str) -> Result<Vec<u8>> {
    B64.decode(s)
        .map_err(|_| Error::Malformed(format!("{field} is not base64")))
}

fn b64_array<const N: usize>(s: &str, field: &str) -> Result<[u8; N]> {
    b64(s, field)?
        .try_into()
        .map_err(|_| Error::Malformed(format!("{field} must be {N} bytes")))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    format: String,
    version: u32,
    kdf: KdfField,
    cipher: CipherField,
    check: String,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfField {
    algorithm: String,
    argon2_version: u32,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    salt: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CipherField {
    algorithm: String,
    nonce: String,
}
