use alloy_primitives::Address;

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// What can go wrong turning user input into keys.
///
/// No variant carries secret input: an unknown word is reported by its position,
/// a malformed key by its length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The phrase has a word count BIP-39 does not allow.
    #[error("a recovery phrase has 12, 15, 18, 21 or 24 words; this one has {got}")]
    WordCount {
        /// Number of words found.
        got: usize,
    },
    /// A word is not in the English BIP-39 list.
    #[error("word {position} is not in the BIP-39 English word list; check its spelling")]
    UnknownWord {
        /// 1-based position of the word in the phrase.
        position: usize,
    },
    /// All words are valid but the checksum does not match.
    #[error(
        "this recovery phrase's checksum does not match: a word is wrong or two words are swapped"
    )]
    Checksum,
    /// A private key string is not 32 bytes of hex.
    #[error(
        "a private key is 64 hex characters (32 bytes), optionally prefixed by 0x; this one has {chars} characters"
    )]
    PrivateKeyLength {
        /// Number of characters after an optional 0x prefix.
        chars: usize,
    },
    /// A private key string has a non-hex character.
    #[error("a private key may contain only the hex characters 0-9 and a-f")]
    PrivateKeyNotHex,
    /// The 32 bytes are zero or not below the secp256k1 group order.
    #[error(
        "this value is not a valid secp256k1 private key (it is zero or not below the curve order)"
    )]
    PrivateKeyRange,
    /// Account index at or above 2^31 (those are hardened indices in BIP-32).
    #[error("account index {index} is too large; indices go up to 2147483647")]
    AccountIndex {
        /// The rejected index.
        index: u32,
    },
    /// A BIP-32 path that cannot be parsed.
    #[error("`{path}` is not a BIP-32 derivation path like m/44'/60'/0'/0/0")]
    DerivationPath {
        /// The rejected path (paths are not secret).
        path: String,
    },
    /// BIP-32 derivation failed; with valid input this happens with probability ~2^-127.
    #[error("key derivation failed at this path; try the next account index")]
    Derivation,
    /// The account is already in the keyring.
    #[error("account {0} is already in this wallet")]
    DuplicateAccount(Address),
    /// The same phrase (with the same passphrase) is already in the keyring.
    #[error("this recovery phrase is already in this wallet")]
    DuplicateSource,
    /// No account with this address.
    #[error("account {0} is not in this wallet")]
    UnknownAccount(Address),
    /// The keyring's only account cannot be removed (the wallet would hold no key).
    #[error("this is the wallet's only account; import or add another before removing it")]
    LastAccount,
    /// A recovery phrase was asked of an account that has none.
    #[error("this account was imported from a private key and has no recovery phrase; export its private key instead")]
    NoPhrase,
    /// No key source with this id.
    #[error("key source {0} is not in this wallet")]
    UnknownSource(u32),
    /// Decrypted keyring bytes do not parse or do not match their recorded accounts.
    #[error("the wallet's stored keys are damaged ({0}); restore from your recovery phrase")]
    Corrupt(&'static str),
    /// The stored keyring was written by a newer version.
    #[error(
        "this wallet was saved by a newer Tandem (keyring format {0}); update Tandem to open it"
    )]
    UnsupportedFormat(u32),
}

impl Error {
    /// A stable name for this kind of error, for callers that branch on it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::WordCount { .. } => "WordCount",
            Self::UnknownWord { .. } => "UnknownWord",
            Self::Checksum { .. } => "Checksum",
            Self::PrivateKeyLength { .. } => "PrivateKeyLength",
            Self::PrivateKeyNotHex { .. } => "PrivateKeyNotHex",
            Self::PrivateKeyRange { .. } => "PrivateKeyRange",
            Self::AccountIndex { .. } => "AccountIndex",
            Self::DerivationPath { .. } => "DerivationPath",
            Self::Derivation { .. } => "Derivation",
            Self::DuplicateAccount { .. } => "DuplicateAccount",
            Self::DuplicateSource { .. } => "DuplicateSource",
            Self::UnknownAccount { .. } => "UnknownAccount",
            Self::LastAccount => "LastAccount",
            Self::NoPhrase => "NoPhrase",
            Self::UnknownSource { .. } => "UnknownSource",
            Self::Corrupt { .. } => "Corrupt",
            Self::UnsupportedFormat { .. } => "UnsupportedFormat",
        }
    }
}
