//! BIP-32 hierarchical derivation and the BIP-44 Ethereum path.

use core::fmt;

use zeroize::Zeroizing;

use crate::{account::PrivateKey, Error, Result};

/// The hardened prefix of every Ethereum account: `m/44'/60'/0'/0`.
pub const ETHEREUM_ACCOUNT_ROOT: &str = "m/44'/60'/0'/0";

/// The BIP-44 path of Ethereum account `index`: `m/44'/60'/0'/0/{index}`.
pub fn ethereum_path(index: u32) -> String {
    format!("{ETHEREUM_ACCOUNT_ROOT}/{index}")
}

/// An extended private key (key + chain code). Zeroized on drop.
#[derive(Clone)]
pub struct ExtendedKey(bip32::XPrv);

impl ExtendedKey {
    /// The master key of a seed (BIP-32 "m"). Seeds are 16 to 64 bytes.
    pub fn master(seed: &[u8]) -> Result<Self> {
        bip32::XPrv::new(seed)
            .map(Self)
            .map_err(|_| Error::Derivation)
    }

    /// Derives along `path` (e.g. `m/0'/1/2'`) from this key, which must be the master.
    pub fn derive_path(&self, path: &str) -> Result<Self> {
        let parsed: bip32::DerivationPath = path.parse().map_err(|_| Error::DerivationPath {
            path: path.to_owned(),
        })?;
        let mut key = self.0.clone();
        for child in parsed {
            key = key.derive_child(child).map_err(|_| Error::Derivation)?;
        }
        Ok(Self(key))
    }

    /// Normal (non-hardened) child `index`.
    pub fn child(&self, index: u32) -> Result<Self> {
        let n = bip32::ChildNumber::new(index, false).map_err(|_| Error::AccountIndex { index })?;
        self.0
            .derive_child(n)
            .map(Self)
            .map_err(|_| Error::Derivation)
    }

    /// The secp256k1 key at this node.
    pub fn private_key(&self) -> PrivateKey {
        PrivateKey::from_signing_key(self.0.private_key().clone())
    }

    /// Base58 `xprv…` serialization (mainnet prefix), as BIP-32's test vectors print.
    pub fn to_xprv(&self) -> Zeroizing<String> {
        self.0.to_string(bip32::Prefix::XPRV)
    }

    /// Base58 `xpub…` serialization (mainnet prefix).
    pub fn to_xpub(&self) -> String {
        self.0.public_key().to_string(bip32::Prefix::XPUB)
    }
}

impl fmt::Debug for ExtendedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExtendedKey(depth {})", self.0.attrs().depth)
    }
}
