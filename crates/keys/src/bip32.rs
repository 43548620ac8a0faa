//! BIP-32 hierarchical derivation (private parent → private child) and the
//! BIP-44 Ethereum path.
//!
//! Written here on RustCrypto's HMAC-SHA512 and k256 rather than taken from
//! the `bip32` crate: a wallet only ever derives private keys along a path,
//! and that crate also computes every node's parent fingerprint (a
//! public-key multiplication and RIPEMD-160 per step) and links base58 and
//! RIPEMD-160 into the extension's core module (~12 KB before wasm-opt,
//! measured with twiggy). BIP-32's test vectors 1 and 2 are checked against
//! the `bip32` crate's reading of their xprv/xpub strings in
//! `tests/bip32.rs`.

use core::fmt;

use hmac::{Hmac, Mac};
use k256::elliptic_curve::{sec1::ToEncodedPoint, PrimeField};
use k256::{FieldBytes, NonZeroScalar, Scalar, SecretKey};
use sha2::Sha512;
use zeroize::Zeroizing;

use crate::{account::PrivateKey, Error, Result};

/// The hardened prefix of every Ethereum account: `m/44'/60'/0'/0`.
pub const ETHEREUM_ACCOUNT_ROOT: &str = "m/44'/60'/0'/0";

const HARDENED: u32 = 1 << 31;

/// The BIP-44 path of Ethereum account `index`: `m/44'/60'/0'/0/{index}`.
pub fn ethereum_path(index: u32) -> String {
    format!("{ETHEREUM_ACCOUNT_ROOT}/{index}")
}

/// An extended private key (key + chain code). Zeroized on drop.
#[derive(Clone)]
pub struct ExtendedKey {
    key: SecretKey,
    chain_code: Zeroizing<[u8; 32]>,
    depth: u8,
}

/// HMAC-SHA512 of `parts` under `key`, split into (IL, IR).
fn hmac512(key: &[u8], parts: &[&[u8]]) -> Zeroizing<[u8; 64]> {
    let mut mac = Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        mac.update(p);
    }
    let mut out = Zeroizing::new([0u8; 64]);
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

impl ExtendedKey {
    /// The master key of a seed (BIP-32 "m"). Seeds are 16 to 64 bytes.
    pub fn master(seed: &[u8]) -> Result<Self> {
        if !(16..=64).contains(&seed.len()) {
            return Err(Error::Derivation);
        }
        let i = hmac512(b"Bitcoin seed", &[seed]);
        Self::from_halves(&i, 0)
    }

    /// IL as the key (refused if zero or not below the group order), IR as
    /// the chain code.
    fn from_halves(i: &[u8; 64], depth: u8) -> Result<Self> {
        let key = SecretKey::from_slice(&i[..32]).map_err(|_| Error::Derivation)?;
        let mut chain_code = Zeroizing::new([0u8; 32]);
        chain_code.copy_from_slice(&i[32..]);
        Ok(Self {
            key,
            chain_code,
            depth,
        })
    }

    /// Derives along `path` (e.g. `m/0'/1/2'`) from this key, which must be the master.
    pub fn derive_path(&self, path: &str) -> Result<Self> {
        let bad = || Error::DerivationPath {
            path: path.to_owned(),
        };
        let mut parts = path.split('/');
        if parts.next() != Some("m") {
            return Err(bad());
        }
        let mut key = self.clone();
        for part in parts {
            let (digits, hardened) = match part.strip_suffix(['\'', 'h']) {
                Some(d) => (d, true),
                None => (part, false),
            };
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let n: u32 = digits.parse().map_err(|_| bad())?;
            if n >= HARDENED {
                return Err(bad());
            }
            key = key.derive(if hardened { n | HARDENED } else { n })?;
        }
        Ok(key)
    }

    /// Normal (non-hardened) child `index`.
    pub fn child(&self, index: u32) -> Result<Self> {
        if index >= HARDENED {
            return Err(Error::AccountIndex { index });
        }
        self.derive(index)
    }

    /// CKDpriv: child `n` (hardened when `n >= 2^31`).
    fn derive(&self, n: u32) -> Result<Self> {
        let i = if n >= HARDENED {
            let k = Zeroizing::new(self.key.to_bytes());
            hmac512(&*self.chain_code, &[&[0], &k[..], &n.to_be_bytes()])
        } else {
            let point = self.key.public_key().to_encoded_point(true);
            hmac512(&*self.chain_code, &[point.as_bytes(), &n.to_be_bytes()])
        };
        // IL must be below the group order, and IL + k must not be zero
        // (BIP-32: "proceed with the next value for i"; here an error, with
        // probability ~2^-127).
        let mut il = FieldBytes::default();
        il.copy_from_slice(&i[..32]);
        let il: Option<Scalar> = Scalar::from_repr(il).into();
        let il = il.ok_or(Error::Derivation)?;
        let sum = il + self.key.to_nonzero_scalar().as_ref();
        let key: Option<NonZeroScalar> = NonZeroScalar::new(sum).into();
        let mut chain_code = Zeroizing::new([0u8; 32]);
        chain_code.copy_from_slice(&i[32..]);
        Ok(Self {
            key: SecretKey::from(key.ok_or(Error::Derivation)?),
            chain_code,
            depth: self.depth.saturating_add(1),
        })
    }

    /// The secp256k1 key at this node.
    pub fn private_key(&self) -> PrivateKey {
        PrivateKey::from_signing_key(self.key.clone().into())
    }

    /// The chain code (BIP-32's `c`), for comparing with published vectors.
    pub fn chain_code(&self) -> &[u8; 32] {
        &self.chain_code
    }
}

impl fmt::Debug for ExtendedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExtendedKey(depth {})", self.depth)
    }
}
