//! The secrets one device holds and the accounts they give.
//!
//! A keyring has *sources* (a recovery phrase with its passphrase, or one
//! imported private key) and *accounts* (an address, where it came from, and its
//! key, derived once and kept in memory while unlocked). [`Keyring::to_bytes`] is
//! what the vault encrypts; [`Keyring::from_bytes`] re-derives every key and checks
//! it against the recorded address, so a damaged vault is caught at unlock.

use core::fmt;

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{
    bip32::ExtendedKey, bip32::ETHEREUM_ACCOUNT_ROOT, Error, Mnemonic, PrivateKey, Result,
};

/// Current serialization format of [`Keyring::to_bytes`].
const FORMAT: u32 = 1;

/// Stable identifier of a key source within one keyring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SourceId(pub u32);

/// Where an account's key comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccountOrigin {
    /// `m/44'/60'/0'/0/{index}` of a recovery phrase.
    Derived {
        /// The phrase.
        source: SourceId,
        /// The BIP-44 address index.
        index: u32,
    },
    /// An imported private key.
    Imported {
        /// The key.
        source: SourceId,
    },
}

impl AccountOrigin {
    /// The source this account belongs to.
    pub fn source(&self) -> SourceId {
        match *self {
            Self::Derived { source, .. } | Self::Imported { source } => source,
        }
    }
}

/// A public description of an account (no secret).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// The account's address.
    pub address: Address,
    /// Where its key comes from.
    pub origin: AccountOrigin,
}

enum Source {
    Mnemonic {
        mnemonic: Mnemonic,
        passphrase: Zeroizing<String>,
        /// `m/44'/60'/0'/0`, kept so each new account costs one derivation.
        root: ExtendedKey,
    },
    Imported(PrivateKey),
}

/// The device's secrets and accounts. `Debug` lists addresses only.
#[derive(Default)]
pub struct Keyring {
    sources: Vec<(SourceId, Source)>,
    accounts: Vec<(AccountInfo, PrivateKey)>,
    next_source: u32,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Self::default()
    }

    /// A keyring holding `mnemonic` with its first account.
    pub fn from_mnemonic(mnemonic: Mnemonic, passphrase: &str) -> Result<Self> {
        let mut k = Self::new();
        k.add_mnemonic(mnemonic, passphrase)?;
        Ok(k)
    }

    /// Adds a recovery phrase and derives its first account.
    pub fn add_mnemonic(&mut self, mnemonic: Mnemonic, passphrase: &str) -> Result<AccountInfo> {
        let seed = mnemonic.to_seed(passphrase);
        let root = ExtendedKey::master(seed.as_bytes())?.derive_path(ETHEREUM_ACCOUNT_ROOT)?;
        let first = root.child(0)?.private_key();
        let duplicate = self.accounts.iter().any(|(info, _)| {
            info.address == first.address()
                && matches!(info.origin, AccountOrigin::Derived { index: 0, .. })
        });
        if duplicate {
            return Err(Error::DuplicateSource);
        }
        let id = self.push_source(Source::Mnemonic {
            mnemonic,
            passphrase: crate::bip39::normalize_passphrase(passphrase),
            root,
        });
        self.push_account(
            AccountOrigin::Derived {
                source: id,
                index: 0,
            },
            first,
        )
    }

    /// Imports a single private key as its own account.
    pub fn import_private_key(&mut self, key: PrivateKey) -> Result<AccountInfo> {
        if self.contains(key.address()) {
            return Err(Error::DuplicateAccount(key.address()));
        }
        let id = self.push_source(Source::Imported(key.clone()));
        self.push_account(AccountOrigin::Imported { source: id }, key)
    }

    /// Derives the phrase's next account (one past the highest index in use).
    pub fn derive_next(&mut self, source: SourceId) -> Result<AccountInfo> {
        let next = self
            .accounts
            .iter()
            .filter_map(|(info, _)| match info.origin {
                AccountOrigin::Derived { source: s, index } if s == source => Some(index + 1),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        self.derive_index(source, next)
    }

    /// Derives account `index` of a phrase (no-op error if already present).
    pub fn derive_index(&mut self, source: SourceId, index: u32) -> Result<AccountInfo> {
        let key = self.derive_key(source, index)?;
        if self.contains(key.address()) {
            return Err(Error::DuplicateAccount(key.address()));
        }
        self.push_account(AccountOrigin::Derived { source, index }, key)
    }

    /// Removes an account. An imported key's source goes with it; a phrase stays
    /// (its accounts can be derived again). The only account cannot go.
    pub fn remove_account(&mut self, address: Address) -> Result<AccountInfo> {
        let pos = self
            .accounts
            .iter()
            .position(|(info, _)| info.address == address)
            .ok_or(Error::UnknownAccount(address))?;
        if self.accounts.len() == 1 {
            return Err(Error::LastAccount);
        }
        let (info, _) = self.accounts.remove(pos);
        if let AccountOrigin::Imported { source } = info.origin {
            self.sources.retain(|(id, _)| *id != source);
        }
        Ok(info)
    }

    /// All accounts, in the order they were added.
    pub fn accounts(&self) -> impl ExactSizeIterator<Item = AccountInfo> + '_ {
        self.accounts.iter().map(|(info, _)| *info)
    }

    /// The sources that are recovery phrases.
    pub fn mnemonic_sources(&self) -> impl Iterator<Item = SourceId> + '_ {
        self.sources.iter().filter_map(|(id, s)| match s {
            Source::Mnemonic { .. } => Some(*id),
            Source::Imported(_) => None,
        })
    }

    /// The backup secret ([`crate::backup`]) of the wallet's first recovery
    /// phrase (with its passphrase), or `None` when it holds only imported
    /// keys. Recomputed from the phrase at each call (one PBKDF2), so it is
    /// not kept in memory beside the keys.
    pub fn backup_secret(&self) -> Option<Zeroizing<[u8; 32]>> {
        self.backup_secret_of(0)
    }

    /// The backup secret of generation `generation` ([`crate::backup`]) of
    /// the wallet's first recovery phrase, as [`Keyring::backup_secret`].
    pub fn backup_secret_of(&self, generation: u32) -> Option<Zeroizing<[u8; 32]>> {
        self.sources.iter().find_map(|(_, s)| match s {
            Source::Mnemonic {
                mnemonic,
                passphrase,
                ..
            } => Some(mnemonic.to_seed(passphrase).backup_secret_of(generation)),
            Source::Imported(_) => None,
        })
    }

    /// Whether `address` is an account here.
    pub fn contains(&self, address: Address) -> bool {
        self.accounts
            .iter()
            .any(|(info, _)| info.address == address)
    }

    /// The key that signs for `address`.
    pub fn key(&self, address: Address) -> Result<&PrivateKey> {
        self.accounts
            .iter()
            .find(|(info, _)| info.address == address)
            .map(|(_, key)| key)
            .ok_or(Error::UnknownAccount(address))
    }

    /// The recovery phrase of a source, for an explicit "show recovery phrase".
    pub fn mnemonic(&self, source: SourceId) -> Result<&Mnemonic> {
        match self.source(source)? {
            Source::Mnemonic { mnemonic, .. } => Ok(mnemonic),
            Source::Imported(_) => Err(Error::UnknownSource(source.0)),
        }
    }

    /// What "Show recovery phrase" (`phrase`) or "Export private key" hands
    /// the user for `address`: the phrase its key was derived from, or its
    /// private key as `0x` hex. Callers ask for the password first.
    pub fn export(&self, address: Address, phrase: bool) -> Result<Zeroizing<String>> {
        let (info, key) = self
            .accounts
            .iter()
            .find(|(info, _)| info.address == address)
            .ok_or(Error::UnknownAccount(address))?;
        if !phrase {
            let mut out = Zeroizing::new(String::with_capacity(66));
            out.push_str("0x");
            out.push_str(&Zeroizing::new(alloy_primitives::hex::encode(
                key.to_bytes().as_slice(),
            )));
            return Ok(out);
        }
        match info.origin {
            AccountOrigin::Derived { source, .. } => Ok(self.mnemonic(source)?.phrase()),
            AccountOrigin::Imported { .. } => Err(Error::NoPhrase),
        }
    }

    /// Serializes every secret for the vault.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let stored = Stored {
            format: FORMAT,
            next_source: self.next_source,
            sources: self
                .sources
                .iter()
                .map(|(id, s)| match s {
                    Source::Mnemonic {
                        mnemonic,
                        passphrase,
                        ..
                    } => StoredSource::Mnemonic {
                        id: *id,
                        phrase: mnemonic.phrase(),
                        passphrase: passphrase.clone(),
                    },
                    Source::Imported(key) => StoredSource::PrivateKey {
                        id: *id,
                        key: Zeroizing::new(alloy_primitives::hex::encode(
                            key.to_bytes().as_slice(),
                        )),
                    },
                })
                .collect(),
            accounts: self.accounts().collect(),
        };
        Zeroizing::new(serde_json::to_vec(&stored).expect("keyring serialization cannot fail"))
    }

    /// Rebuilds a keyring from [`Keyring::to_bytes`], re-deriving and checking every key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        #[derive(Deserialize)]
        struct Version {
            format: u32,
        }
        // Parsed as text: the wasm module then links one instance of the JSON
        // reader (from_str) for every stored document, not a second for bytes.
        let text = std::str::from_utf8(bytes).map_err(|_| Error::Corrupt("unreadable keyring"))?;
        let v: Version =
            serde_json::from_str(text).map_err(|_| Error::Corrupt("unreadable keyring"))?;
        if v.format > FORMAT {
            return Err(Error::UnsupportedFormat(v.format));
        }
        let stored: ReadStored =
            serde_json::from_str(text).map_err(|_| Error::Corrupt("unreadable keyring"))?;
        let mut k = Self {
            next_source: stored.next_source,
            ..Self::default()
        };
        for s in stored.sources {
            let id = s.id;
            let source = match (s.kind, s.phrase, s.passphrase, s.key) {
                (Kind::Mnemonic, Some(phrase), Some(passphrase), None) => {
                    let mnemonic = Mnemonic::parse(&phrase)
                        .map_err(|_| Error::Corrupt("stored phrase is invalid"))?;
                    let seed = mnemonic.to_seed(&passphrase);
                    let root =
                        ExtendedKey::master(seed.as_bytes())?.derive_path(ETHEREUM_ACCOUNT_ROOT)?;
                    Source::Mnemonic {
                        mnemonic,
                        passphrase,
                        root,
                    }
                }
                (Kind::PrivateKey, None, None, Some(key)) => Source::Imported(
                    PrivateKey::from_hex(&key)
                        .map_err(|_| Error::Corrupt("stored key is invalid"))?,
                ),
                _ => return Err(Error::Corrupt("stored source")),
            };
            if id.0 >= k.next_source || k.sources.iter().any(|(i, _)| *i == id) {
                return Err(Error::Corrupt("duplicate source id"));
            }
            k.sources.push((id, source));
        }
        for a in stored.accounts {
            let (source, o) = (a.origin.source, a.origin);
            let origin = match (o.kind, o.index) {
                (Kind::Derived, Some(index)) => AccountOrigin::Derived { source, index },
                (Kind::Imported, None) => AccountOrigin::Imported { source },
                _ => return Err(Error::Corrupt("account origin")),
            };
            let info = AccountInfo {
                address: a.address,
                origin,
            };
            let key = match info.origin {
                AccountOrigin::Derived { source, index } => k.derive_key(source, index)?,
                AccountOrigin::Imported { source } => match k.source(source)? {
                    Source::Imported(key) => key.clone(),
                    Source::Mnemonic { .. } => return Err(Error::Corrupt("account origin")),
                },
            };
            if key.address() != info.address || k.contains(info.address) {
                return Err(Error::Corrupt("account does not match its key"));
            }
            k.accounts.push((info, key));
        }
        Ok(k)
    }

    fn source(&self, id: SourceId) -> Result<&Source> {
        self.sources
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, s)| s)
            .ok_or(Error::UnknownSource(id.0))
    }

    fn derive_key(&self, source: SourceId, index: u32) -> Result<PrivateKey> {
        match self.source(source)? {
            Source::Mnemonic { root, .. } => Ok(root.child(index)?.private_key()),
            Source::Imported(_) => Err(Error::UnknownSource(source.0)),
        }
    }

    fn push_source(&mut self, s: Source) -> SourceId {
        let id = SourceId(self.next_source);
        self.next_source += 1;
        self.sources.push((id, s));
        id
    }

    fn push_account(&mut self, origin: AccountOrigin, key: PrivateKey) -> Result<AccountInfo> {
        let info = AccountInfo {
            address: key.address(),
            origin,
        };
        self.accounts.push((info, key));
        Ok(info)
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("sources", &self.sources.len())
            .field(
                "accounts",
                &self
                    .accounts
                    .iter()
                    .map(|(i, _)| i.address)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[derive(Serialize)]
struct Stored {
    format: u32,
    next_source: u32,
    sources: Vec<StoredSource>,
    accounts: Vec<AccountInfo>,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum StoredSource {
    Mnemonic {
        id: SourceId,
        phrase: Zeroizing<String>,
        passphrase: Zeroizing<String>,
    },
    PrivateKey {
        id: SourceId,
        key: Zeroizing<String>,
    },
}

// The stored keyring is read through flat structs, not the tagged enums it
// is written from: serde reads an internally tagged enum by first buffering
// every field into its `Content` tree, and those readers (for the sources
// and the account origins) were ~23 KB of the wasm core before wasm-opt
// (twiggy). Same JSON; a field missing or extra for its kind is refused
// after the read, above.
#[derive(Deserialize)]
struct ReadStored {
    next_source: u32,
    sources: Vec<ReadSource>,
    accounts: Vec<ReadAccount>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Mnemonic,
    PrivateKey,
    Derived,
    Imported,
}

#[derive(Deserialize)]
struct ReadSource {
    kind: Kind,
    id: SourceId,
    phrase: Option<Zeroizing<String>>,
    passphrase: Option<Zeroizing<String>>,
    key: Option<Zeroizing<String>>,
}

#[derive(Deserialize)]
struct ReadAccount {
    address: Address,
    origin: ReadOrigin,
}

#[derive(Deserialize, Clone, Copy)]
struct ReadOrigin {
    kind: Kind,
    source: SourceId,
    index: Option<u32>,
}
