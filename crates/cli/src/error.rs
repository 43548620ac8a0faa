//! The CLI's one error type.

/// Result with this crate's [`Error`].
pub(crate) type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything a command can fail with. Messages never contain secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum Error {
    /// No wallet in the home directory, or one already exists.
    #[error("{0}")]
    State(String),
    /// Reading or writing the home directory.
    #[error("{what}: {err}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        err: std::io::Error,
    },
    /// The vault refused (wrong password, damaged file).
    #[error(transparent)]
    Vault(#[from] tandem_vault::Error),
    /// Wallet keys.
    #[error(transparent)]
    Keys(#[from] tandem_keys::Error),
    /// The pairing protocol refused something.
    #[error(transparent)]
    Pair(#[from] tandem_pair::Error),
    /// The relay's URL or certificate is not one this device may use.
    #[error(transparent)]
    Connect(#[from] tandem_connect::Error),
    /// Waited too long for another device.
    #[error("{0}")]
    Timeout(String),
}

impl Error {
    pub(crate) fn io(what: impl Into<String>, err: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            err,
        }
    }
}
