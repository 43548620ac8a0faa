//! The one error type of this crate.

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Why a protocol message, record or frame was refused.
///
/// Messages never contain key material or payload bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes or text that do not parse as the named structure.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// Which structure (e.g. "pairing link", "session token").
        what: &'static str,
        /// What exactly is wrong, without quoting secrets.
        detail: String,
    },
    /// A plain `ws://` relay URL that is not on this machine: everything a
    /// device sends (tokens, sealed envelopes, timing) would cross the
    /// network without TLS.
    #[error("refusing the plain relay URL {url}: ws:// is only allowed to this machine (localhost, 127.0.0.0/8, [::1]); use {secure}")]
    PlainTextRelay {
        /// The refused URL.
        url: String,
        /// The same URL with `wss://`.
        secure: String,
    },
    /// Written by a newer (or unknown) protocol version.
    #[error("{what} uses protocol version {version}, this Tandem speaks version {supported}; update Tandem on both devices")]
    UnsupportedVersion {
        /// Which structure.
        what: &'static str,
        /// Version found.
        version: u8,
        /// Version supported.
        supported: u8,
    },
    /// More bytes than the protocol allows.
    #[error("{what} is too large: {len} bytes, at most {max} allowed")]
    TooLarge {
        /// Which structure.
        what: &'static str,
        /// Length found.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// The pairing offer's lifetime has passed.
    #[error("this pairing code expired {ago_secs} s ago; show a new QR code on the new device")]
    OfferExpired {
        /// Seconds since expiry.
        ago_secs: u64,
    },
    /// The pairing offer was already answered once.
    #[error("this pairing code was already used; pairing codes work once; show a new QR code on the new device")]
    OfferUsed,
    /// The comparison codes differ: someone may be in the middle.
    #[error("the 6-digit codes do not match: someone may be intercepting the pairing; pairing cancelled, nothing was shared")]
    CodeMismatch,
    /// A step of the handshake arrived out of order or twice.
    #[error("unexpected pairing message: {0}")]
    UnexpectedMessage(&'static str),
    /// The other device sent a commitment that does not match its reveal.
    #[error("the other device's pairing commitment does not match: pairing cancelled")]
    CommitmentMismatch,
    /// The approving device refused the pairing.
    #[error("the other device declined the pairing")]
    Declined,
    /// The other device's user said the codes differ.
    #[error("the other device reports that the 6-digit codes do not match: someone may be intercepting the pairing; pairing cancelled, nothing was shared")]
    MismatchReported,
    /// A welcome arrived before this device's user confirmed the code.
    #[error("the other device sent its answer before the code was confirmed on this device: pairing cancelled, nothing was installed")]
    NotConfirmed,
    /// An Ed25519 signature does not verify.
    #[error("the signature on this {0} is not valid; it was forged or modified")]
    BadSignature(&'static str),
    /// A session token's lifetime has passed.
    #[error("this session token expired {ago_secs} s ago; ask a paired device to refresh it")]
    TokenExpired {
        /// Seconds since expiry.
        ago_secs: u64,
    },
    /// Issued in the future (clock skew beyond tolerance).
    #[error("this {0} is dated in the future; check the device clock")]
    FromTheFuture(&'static str),
    /// A token or record presented by a device it does not belong to.
    #[error("this session token belongs to another device")]
    WrongSubject,
    /// A token, record or message from a different group.
    #[error("this {0} belongs to a different wallet group")]
    WrongGroup(&'static str),
    /// Authenticated decryption failed.
    #[error("a message failed authentication: it was modified in transit or is not meant for this device; it was dropped")]
    Tampered,
    /// A sequence number at or below one already accepted.
    #[error("a replayed or reordered message was dropped (sequence {seq}, already accepted up to {last})")]
    Replay {
        /// Sequence received.
        seq: u64,
        /// Highest sequence accepted before.
        last: u64,
    },
    /// The sender's sequence numbers are exhausted.
    #[error("message sequence numbers exhausted; pair again")]
    SequenceExhausted,
    /// The sender is not an active member of the group.
    #[error("message from device {0}, which is not an active member of this wallet group")]
    NotMember(String),
    /// The device or token was revoked.
    #[error("device {0} was revoked and can no longer take part in this wallet group")]
    Revoked(String),
    /// A group message under a key epoch this device does not hold.
    #[error("message encrypted under group key epoch {got}, this device holds epoch {have}")]
    WrongEpoch {
        /// Epoch in the message.
        got: u32,
        /// Epoch held.
        have: u32,
    },
    /// The device lacks the capability for what it tried.
    #[error("device {device} is not allowed to {action}")]
    NotAllowed {
        /// Device id (hex).
        device: String,
        /// What it tried.
        action: &'static str,
    },
    /// A new-device announcement for a device already in the group.
    #[error("device {0} is already in this wallet group; its token can only be refreshed")]
    AlreadyMember(String),
    /// The group key of the current epoch has not arrived yet.
    #[error("waiting for the new group key (epoch {epoch}) after a revocation; nothing is sent until it arrives")]
    AwaitingKey {
        /// The epoch waited for.
        epoch: u32,
    },
    /// Revocation records are missing before this one.
    #[error("revocation {got} arrived but this device holds only {have}: fetch the ones in between first")]
    ChainGap {
        /// Records held.
        have: u32,
        /// Position of the record that arrived.
        got: u32,
    },
    /// A different revocation already holds this position of the chain.
    #[error("conflicting revocation at position {seq}: another one was accepted first, this one is void")]
    ChainFork {
        /// Position.
        seq: u32,
    },
}

impl Error {
    pub(crate) fn malformed(what: &'static str, detail: impl Into<String>) -> Self {
        Self::Malformed {
            what,
            detail: detail.into(),
        }
    }

    /// A short stable name for the error kind (for logs, metrics and tests).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Malformed { .. } => "malformed",
            Self::PlainTextRelay { .. } => "plain_text_relay",
            Self::UnsupportedVersion { .. } => "unsupported_version",
            Self::TooLarge { .. } => "too_large",
            Self::OfferExpired { .. } => "offer_expired",
            Self::OfferUsed => "offer_used",
            Self::CodeMismatch => "code_mismatch",
            Self::UnexpectedMessage(_) => "unexpected_message",
            Self::CommitmentMismatch => "commitment_mismatch",
            Self::Declined => "declined",
            Self::MismatchReported => "mismatch_reported",
            Self::NotConfirmed => "not_confirmed",
            Self::BadSignature(_) => "bad_signature",
            Self::TokenExpired { .. } => "token_expired",
            Self::FromTheFuture(_) => "from_the_future",
            Self::WrongSubject => "wrong_subject",
            Self::WrongGroup(_) => "wrong_group",
            Self::Tampered => "tampered",
            Self::Replay { .. } => "replay",
            Self::SequenceExhausted => "sequence_exhausted",
            Self::NotMember(_) => "not_member",
            Self::Revoked(_) => "revoked",
            Self::WrongEpoch { .. } => "wrong_epoch",
            Self::NotAllowed { .. } => "not_allowed",
            Self::AlreadyMember(_) => "already_member",
            Self::AwaitingKey { .. } => "awaiting_key",
            Self::ChainGap { .. } => "chain_gap",
            Self::ChainFork { .. } => "chain_fork",
        }
    }
}
