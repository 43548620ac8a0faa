//! The crate's errors.

/// What went wrong, said so a test author can fix the line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A bad `mode` line or `--mode` argument.
    #[error("{0}")]
    Mode(String),
    /// A bad control line.
    #[error("{0}")]
    Control(String),
    /// A bad command-line argument.
    #[error("{0}")]
    Usage(String),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
