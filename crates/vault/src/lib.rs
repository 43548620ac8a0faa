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
/// Envelope version this crate writes (it reads 1 and 2).
pub const VERSION: u32 = 2;

const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const CHECK_LEN: usize = 16;
const INFO_ENCRYPT: &[u8] = b"tandem/vault/v1/encrypt";
const INFO_CHECK: &[u8] = b"tandem/vault/v1/check";
/// A data key sealed under the password's key: 32 bytes and the tag.
const WRAPPED_LEN: usize = 32 + 16;

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
    /// A session key that does not open the vault as stored: another
    /// unlock or a password change replaced it (or the vault was changed).
    #[error("this session key no longer opens the vault; unlock with the password")]
    KeyNotCurrent,
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
            Self::KeyNotCurrent => "KeyNotCurrent",
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

/// The key that opens a vault's contents without the password: the random
/// data key of a version 2 vault, which the next unlock replaces (the key
/// derived from the password only for a version 1 vault, until its first
/// unlock writes it again as version 2). Zeroized on drop; `Debug` prints
/// nothing secret.
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
    /// 1: the contents sealed under the password's key itself; 2: under a
    /// random data key, itself sealed under the password's key.
    version: u32,
    kdf: KdfParams,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
    check: [u8; CHECK_LEN],
    /// Version 2: the data key's nonce and the key sealed under the
    /// password's key.
    data_key: Option<([u8; NONCE_LEN], [u8; WRAPPED_LEN])>,
    ciphertext: Vec<u8>,
}

/// A vault opened with its password ([`Vault::unlock`]).
#[derive(Debug)]
pub struct Unlocked {
    /// The contents.
    pub plaintext: Zeroizing<Vec<u8>>,
    /// The same contents under a new data key: store it in place of the
    /// vault that was opened.
    pub vault: Vault,
    /// The new data key, which opens `vault` without the password until the
    /// next unlock replaces it.
    pub key: VaultKey,
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
        let master = derive(password, &salt, kdf)?;
        let (_, check) = master.subkeys();
        let (vault, key) = Self {
            version: VERSION,
            kdf,
            salt,
            nonce: [0; NONCE_LEN],
            check: *check,
            data_key: None,
            ciphertext: Vec::new(),
        }
        .with_new_data_key(rng, &master);
        Ok((vault.encrypt(rng, &key, plaintext), key))
    }

    /// Derives the password's key and decrypts; the contents come back with
    /// the vault sealed again under a new data key (a version 1 vault
    /// becomes version 2), to store in its place. The data key of the
    /// previous unlock opens nothing once it is stored, so a session key
    /// that leaked is good for one session, never for the vault's lifetime.
    pub fn unlock(&self, rng: &mut impl CryptoRngCore, password: &[u8]) -> Result<Unlocked> {
        let master = derive(password, &self.salt, self.kdf)?;
        let plaintext = self.decrypt(&self.data_key_from(&master)?, Error::Tampered)?;
        let (vault, key) = self.clone().with_new_data_key(rng, &master);
        let vault = vault.encrypt(rng, &key, &plaintext);
        Ok(Unlocked {
            plaintext,
            vault,
            key,
        })
    }

    /// Derives the password's key and decrypts, changing nothing (to show
    /// a secret after the password was typed again).
    pub fn read(&self, password: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        self.unlock_keeping(password).map(|(plain, _)| plain)
    }

    /// Derives the password's key and decrypts, changing nothing: the
    /// contents and the key that opens this vault as stored (its data key;
    /// for version 1 the password's key). For a store that outlives a
    /// session and is bound to this very vault (the phone's fingerprint
    /// record, `tandem-phone`'s `prf`) and for a vault file other processes
    /// hold the key of (the command-line device).
    pub fn unlock_keeping(&self, password: &[u8]) -> Result<(Zeroizing<Vec<u8>>, VaultKey)> {
        let master = derive(password, &self.salt, self.kdf)?;
        let key = self.data_key_from(&master)?;
        Ok((self.decrypt(&key, Error::Tampered)?, key))
    }

    /// Decrypts with the key of the unlock that wrote this vault (no KDF
    /// cost); [`Error::KeyNotCurrent`] for any other key.
    pub fn open(&self, key: &VaultKey) -> Result<Zeroizing<Vec<u8>>> {
        if self.version == 1 {
            let (_, check) = key.subkeys();
            if !bool::from(check.as_slice().ct_eq(&self.check)) {
                return Err(Error::KeyNotCurrent);
            }
            return self.decrypt(key, Error::Tampered);
        }
        self.decrypt(key, Error::KeyNotCurrent)
    }

    /// The key the contents are sealed under, from the password's key:
    /// unsealed from the vault (version 2) or that key itself (version 1).
    fn data_key_from(&self, master: &VaultKey) -> Result<VaultKey> {
        let (enc, check) = master.subkeys();
        if !bool::from(check.as_slice().ct_eq(&self.check)) {
            return Err(Error::WrongPassword);
        }
        let Some((nonce, wrapped)) = &self.data_key else {
            return Ok(master.clone());
        };
        let bytes = aead_open(&enc, nonce, &self.data_key_aad(), wrapped).ok_or(Error::Tampered)?;
        let arr: &[u8; 32] = bytes.as_slice().try_into().map_err(|_| Error::Tampered)?;
        Ok(VaultKey::from_bytes(arr))
    }

    /// A new random data key sealed under the password's key, as version 2
    /// (the contents must be encrypted again under the key returned).
    fn with_new_data_key(
        mut self,
        rng: &mut impl CryptoRngCore,
        master: &VaultKey,
    ) -> (Self, VaultKey) {
        self.version = VERSION;
        let mut key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(key.as_mut_slice());
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let (enc, _) = master.subkeys();
        let sealed = aead_seal(&enc, &nonce, &self.data_key_aad(), key.as_slice());
        let mut wrapped = [0u8; WRAPPED_LEN];
        wrapped.copy_from_slice(&sealed);
        self.data_key = Some((nonce, wrapped));
        (self, VaultKey(key))
    }

    /// The contents' cipher key: the data key itself (version 2), or the
    /// encryption subkey of the password's key (version 1).
    fn content_key(&self, key: &VaultKey) -> Zeroizing<[u8; 32]> {
        if self.version == 1 {
            key.subkeys().0
        } else {
            key.0.clone()
        }
    }

    fn decrypt(&self, key: &VaultKey, failed: Error) -> Result<Zeroizing<Vec<u8>>> {
        aead_open(
            &self.content_key(key),
            &self.nonce,
            &self.aad(),
            &self.ciphertext,
        )
        .ok_or(failed)
    }

    /// Re-encrypts new contents under the same password and data key (same
    /// salt and KDF, fresh nonce), e.g. after adding an account, without
    /// asking for the password.
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
        let plaintext = self.read(old)?;
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
            version: self.version,
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
            data_key: self.data_key.map(|(nonce, wrapped)| DataKeyField {
                nonce: B64.encode(nonce),
                wrapped: B64.encode(wrapped),
            }),
            ciphertext: B64.encode(&self.ciphertext),
        };
        serde_json::to_string(&e).expect("vault serialization cannot fail")
    }

    /// Parses a JSON envelope, checking format, version, algorithms and lengths.
    pub fn from_json(json: &str) -> Result<Self> {
        let e: Envelope = serde_json::from_str(json).map_err(|err| {
            // serde_json's message may quote input; keep only its position and category.
            Error::Malformed(format!(
                "{} error at line {} column {}",
                match err.classify() {
                    serde_json::error::Category::Io => "Io",
                    serde_json::error::Category::Syntax => "Syntax",
                    serde_json::error::Category::Data => "Data",
                    serde_json::error::Category::Eof => "Eof",
                },
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
        if e.version == 0 {
            return Err(Error::Malformed("unknown version 0".into()));
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
        let data_key = match (e.version, e.data_key) {
            (1, None) => None,
            (1, Some(_)) => {
                return Err(Error::Malformed("a version 1 vault has no data key".into()))
            }
            (_, None) => return Err(Error::Malformed("the data key is missing".into())),
            (_, Some(d)) => Some((
                b64_array(&d.nonce, "data key nonce")?,
                b64_array(&d.wrapped, "data key")?,
            )),
        };
        Ok(Self {
            version: e.version,
            kdf,
            salt: b64_array(&e.kdf.salt, "salt")?,
            nonce: b64_array(&e.cipher.nonce, "nonce")?,
            check: b64_array(&e.check, "check")?,
            data_key,
            ciphertext,
        })
    }

    fn encrypt(mut self, rng: &mut impl CryptoRngCore, key: &VaultKey, plaintext: &[u8]) -> Self {
        rng.fill_bytes(&mut self.nonce);
        self.ciphertext = aead_seal(&self.content_key(key), &self.nonce, &self.aad(), plaintext);
        self
    }

    /// Every header field, in a fixed binary layout, so any edit fails the tag.
    fn aad(&self) -> Vec<u8> {
        let mut a = self.header();
        a.extend_from_slice(b"xchacha20-poly1305");
        a.extend_from_slice(&self.nonce);
        a.extend_from_slice(&self.check);
        if let Some((nonce, wrapped)) = &self.data_key {
            a.extend_from_slice(nonce);
            a.extend_from_slice(wrapped);
        }
        a
    }

    /// What the sealed data key is bound to: its own label and the header
    /// fields the password's key comes from.
    fn data_key_aad(&self) -> Vec<u8> {
        let mut a = b"tandem/vault/data-key".to_vec();
        a.extend_from_slice(&self.header());
        a.extend_from_slice(&self.check);
        a
    }

    /// Format, version and the KDF's name, cost and salt.
    fn header(&self) -> Vec<u8> {
        let mut a = Vec::with_capacity(160);
        a.extend_from_slice(FORMAT.as_bytes());
        a.extend_from_slice(&self.version.to_be_bytes());
        a.extend_from_slice(b"argon2id");
        a.extend_from_slice(&0x13u32.to_be_bytes());
        a.extend_from_slice(&self.kdf.memory_kib.to_be_bytes());
        a.extend_from_slice(&self.kdf.iterations.to_be_bytes());
        a.extend_from_slice(&self.kdf.parallelism.to_be_bytes());
        a.extend_from_slice(&self.salt);
        a
    }
}

/// XChaCha20-Poly1305 sealing, in one place (each inlined copy costs the
/// extension's core module bytes).
#[inline(never)]
fn aead_seal(key: &[u8; 32], nonce: &[u8; NONCE_LEN], aad: &[u8], msg: &[u8]) -> Vec<u8> {
    XChaCha20Poly1305::new(key.into())
        .encrypt(&XNonce::from(*nonce), Payload { msg, aad })
        .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail")
}

/// XChaCha20-Poly1305 opening; `None` when the tag does not verify.
#[inline(never)]
fn aead_open(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    msg: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    XChaCha20Poly1305::new(key.into())
        .decrypt(&XNonce::from(*nonce), Payload { msg, aad })
        .ok()
        .map(Zeroizing::new)
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data_key: Option<DataKeyField>,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DataKeyField {
    nonce: String,
    wrapped: String,
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
