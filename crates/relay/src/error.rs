//! The crate's one error type.

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong in the relay or its client.
///
/// Messages never contain payloads or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database failed or is unreachable.
    #[error("relay storage error: {0}")]
    Storage(String),
    /// A recipient's mailbox is at its message-count or byte limit.
    #[error("the mailbox of device {device} is full; it must come online and acknowledge messages first")]
    MailboxFull {
        /// Hex device id of the recipient.
        device: String,
    },
    /// A conditional blob put lost a race with another writer.
    #[error(
        "blob was changed by another device (now at version {current}); fetch it, merge and retry"
    )]
    BlobVersionConflict {
        /// The version currently stored.
        current: u64,
    },
    /// A backup write or delete at or below the counter the relay holds (a
    /// replayed or stale request).
    #[error("the backup is at counter {current}; a write or delete must carry a greater one")]
    BackupStale {
        /// The counter stored.
        current: u64,
    },
    /// A backup write or delete signed by another key than the one the
    /// backup was first written with.
    #[error("this backup belongs to another key")]
    BackupKey,
    /// Invalid command-line or configuration value.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Network or WebSocket failure.
    #[error("connection error: {0}")]
    Io(String),
    /// The relay could not be reached, or its URL or certificate is not one
    /// a device may use.
    #[error(transparent)]
    Connect(#[from] tandem_connect::Error),
    /// The relay sent an error frame.
    #[error("relay refused: {code}: {message}")]
    Relay {
        /// Machine-readable error code from the frame.
        code: String,
        /// Human-readable explanation from the relay.
        message: String,
    },
    /// This device was revoked in its group: the relay sent the record that
    /// removed it and closed the connection.
    #[error(
        "this device was removed from its wallet group by device {} (reason: {:?}); pair it again to use it",
        .record.issuer_device(),
        .record.reason()
    )]
    Revoked {
        /// The record that revoked this device (signature verified).
        record: Box<tandem_pair::RevocationRecord>,
    },
    /// The relay sent something the client did not expect.
    #[error("unexpected reply from the relay: {0}")]
    Protocol(String),
    /// Waiting for the relay took too long.
    #[error("timed out waiting for the relay ({0})")]
    Timeout(&'static str),
    /// A frame or record failed to parse or verify.
    #[error(transparent)]
    Pair(#[from] tandem_pair::Error),
}

impl Error {
    /// The relay's error code, for errors the relay reported (an `error`
    /// frame, or a revocation notice).
    pub fn code(&self) -> Option<tandem_pair::ErrorCode> {
        match self {
            Self::Relay { code, .. } => {
                serde_json::from_value(serde_json::Value::String(code.clone())).ok()
            }
            Self::Revoked { .. } => Some(tandem_pair::ErrorCode::Revoked),
            _ => None,
        }
    }
}
