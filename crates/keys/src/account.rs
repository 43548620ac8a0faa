//! A secp256k1 account key and its Ethereum address.

use core::fmt;

use alloy_primitives::Address;
use k256::ecdsa::{SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// A secp256k1 private key. Zeroized on drop (by `k256`); `Debug` shows the
/// address only.
#[derive(Clone)]
pub struct PrivateKey {
    key: SigningKey,
    address: Address,
}

impl PrivateKey {
    pub(crate) fn from_signing_key(key: SigningKey) -> Self {
        let address = Address::from_private_key(&key);
        Self { key, address }
    }

    /// A key from 32 big-endian bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self> {
        SigningKey::from_bytes(bytes.into())
            .map(Self::from_signing_key)
            .map_err(|_| Error::PrivateKeyRange)
    }

    /// Parses a key as users paste it: 64 hex digits, optional `0x`, surrounding
    /// whitespace ignored.
    pub fn from_hex(text: &str) -> Result<Self> {
        let t = text.trim();
        let t = t
            .strip_prefix("0x")
            .or_else(|| t.strip_prefix("0X"))
            .unwrap_or(t);
        if t.len() != 64 {
            return Err(Error::PrivateKeyLength {
                chars: t.chars().count(),
            });
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        alloy_primitives::hex::decode_to_slice(t, bytes.as_mut_slice())
            .map_err(|_| Error::PrivateKeyNotHex)?;
        Self::from_bytes(&bytes)
    }

    /// A fresh key from the CSPRNG (used for device-local keys in tests and tools).
    pub fn random(rng: &mut impl rand_core::CryptoRngCore) -> Self {
        Self::from_signing_key(SigningKey::random(rng))
    }

    /// The EIP-55-checksummable address (`Display` prints the checksummed form).
    pub fn address(&self) -> Address {
        self.address
    }

    /// The public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        self.key.verifying_key()
    }

    /// The signing key, for the signing crate.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The 32 secret bytes, for the vault's serialization only.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes().into())
    }
}

impl PartialEq for PrivateKey {
    fn eq(&self, other: &Self) -> bool {
        // Equal keys have equal addresses and vice versa (up to a hash collision);
        // comparing addresses avoids a variable-time comparison of secrets.
        self.address == other.address
    }
}

impl Eq for PrivateKey {}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({})", self.address)
    }
}
