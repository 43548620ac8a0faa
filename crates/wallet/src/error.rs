/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Why a request or a UI action was refused. Each provider-facing variant has
/// the EIP-1193 / JSON-RPC code a dapp expects ([`Error::code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The user rejected the request (4001).
    #[error("the user rejected the request")]
    Rejected,
    /// The origin has not been granted the account or method (4100).
    #[error("{0}")]
    Unauthorized(String),
    /// The wallet does not support this method (4200).
    #[error("the method `{0}` is not supported by Tandem")]
    Unsupported(String),
    /// A method Tandem refuses on purpose: why, and what to use instead (4200).
    #[error("{0}")]
    Refused(String),
    /// The provider is not connected to any chain (4900).
    #[error("the wallet is disconnected: {0}")]
    Disconnected(String),
    /// Not connected to the requested chain (4901).
    #[error("the wallet is not connected to chain {0}")]
    ChainDisconnected(String),
    /// Malformed parameters (-32602).
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// Not a JSON-RPC request at all (-32600).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A request of this kind from this origin already waits for the user (-32002).
    #[error("a {0} request from this site is already waiting for your approval; open Tandem to answer it")]
    AlreadyPending(String),
    /// `wallet_switchEthereumChain` to a chain Tandem does not know (4902).
    #[error("unrecognized chain id {0}; add it first with wallet_addEthereumChain")]
    UnknownChain(String),
    /// Too many approvals queued (-32005).
    #[error("too many requests are waiting for approval; answer or reject some first")]
    TooManyPending,
    /// The approval id is not (or no longer) in the queue.
    #[error("approval {0} is not pending; it was answered or the request was withdrawn")]
    NoSuchApproval(u64),
    /// A UI action with bad input (network, account name, settings).
    #[error("{0}")]
    Invalid(String),
    /// Stored state that cannot be read.
    #[error("stored wallet state is unreadable: {0}")]
    Corrupt(String),
}

impl Error {
    /// The EIP-1193 / JSON-RPC error code.
    pub fn code(&self) -> i64 {
        match self {
            Self::Rejected => 4001,
            Self::Unauthorized(_) => 4100,
            Self::Unsupported(_) | Self::Refused(_) => 4200,
            Self::Disconnected(_) => 4900,
            Self::ChainDisconnected(_) => 4901,
            Self::UnknownChain(_) => 4902,
            Self::InvalidParams(_) | Self::Invalid(_) | Self::NoSuchApproval(_) => -32602,
            Self::InvalidRequest(_) => -32600,
            Self::AlreadyPending(_) => -32002,
            Self::TooManyPending => -32005,
            Self::Corrupt(_) => -32603,
        }
    }

    /// A stable name for this kind of error, for callers that branch on it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Rejected => "Rejected",
            Self::Unauthorized(_) => "Unauthorized",
            Self::Unsupported(_) | Self::Refused(_) => "Unsupported",
            Self::Disconnected(_) => "Disconnected",
            Self::ChainDisconnected(_) => "ChainDisconnected",
            Self::UnknownChain(_) => "UnknownChain",
            Self::InvalidParams(_) => "InvalidParams",
            Self::InvalidRequest(_) => "InvalidRequest",
            Self::AlreadyPending(_) => "AlreadyPending",
            Self::TooManyPending => "TooManyPending",
            Self::NoSuchApproval(_) => "NoSuchApproval",
            Self::Invalid(_) => "InvalidInput",
            Self::Corrupt(_) => "Corrupt",
        }
    }

    /// The JSON-RPC error object `{ code, message }` a dapp receives.
    pub fn to_rpc(&self) -> serde_json::Value {
        serde_json::json!({ "code": self.code(), "message": self.to_string() })
    }

    pub(crate) fn params(msg: impl Into<String>) -> Self {
        Self::InvalidParams(msg.into())
    }
}
