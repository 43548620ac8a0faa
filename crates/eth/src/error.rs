/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Why a request cannot be signed or a signature not checked. Messages name the
/// field and say what a valid value looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Typed data that is not valid EIP-712 JSON, or does not match its types.
    #[error("invalid EIP-712 typed data: {0}")]
    TypedData(String),
    /// A transaction field is missing or malformed.
    #[error("invalid transaction: {0}")]
    Transaction(String),
    /// Transaction type not supported for signing.
    #[error("transaction type {0} is not supported; use 0 (legacy), 1 (EIP-2930) or 2 (EIP-1559)")]
    UnsupportedTxType(u64),
    /// Raw bytes that do not decode as a signed transaction.
    #[error("cannot decode signed transaction: {0}")]
    Decode(String),
    /// A signature of the wrong length or with an invalid v, r or s.
    #[error("invalid signature: {0}")]
    Signature(String),
    /// Key error from the keyring.
    #[error(transparent)]
    Keys(#[from] tandem_keys::Error),
}

impl Error {
    /// A stable name for this kind of error, for callers that branch on it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TypedData { .. } => "TypedData",
            Self::Transaction { .. } => "Transaction",
            Self::UnsupportedTxType { .. } => "UnsupportedTxType",
            Self::Decode { .. } => "Decode",
            Self::Signature { .. } => "Signature",
            Self::Keys(e) => e.kind(),
        }
    }
}
