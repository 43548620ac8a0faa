#![doc = include_str!("../README.md")]

pub mod backup;
pub mod envelope;
mod error;
pub mod frame;
pub mod group;
pub mod handshake;
pub mod identity;
#[cfg(feature = "kat")]
pub mod kat;
pub mod map;
pub mod offer;
pub mod revocation;
pub mod tagged;
pub mod token;
pub mod wire;

pub use envelope::{Envelope, EnvelopeKind, Header, ReplayWindow, SequenceCounter};
pub use error::{Error, Result};
pub use frame::{
    auth_message, ClientFrame, ErrorCode, MemberInfo, Membership, MessageId, Nonce, Recipient,
    RelayFrame,
};
pub use group::{
    Applied, Group, GroupKey, GroupPayload, Learned, Member, OpenedBlob, Received, Revocation,
    MAX_MEMBERS,
};
pub use handshake::{Approver, CodeCheck, ComparisonCode, JoinRequest, Joiner, Welcome};
pub use identity::{
    DeviceId, EncryptionPublic, GroupId, IdentityKey, IdentityPublic, Signature, TokenId, Topic,
};
pub use offer::{PairingOffer, DEFAULT_OFFER_LIFETIME_SECS};
pub use revocation::{
    RevocationId, RevocationReason, RevocationRecord, RevocationRequest, RevocationTarget,
};
pub use token::{Capabilities, SessionToken, TokenRequest, DEFAULT_TOKEN_LIFETIME_SECS};
pub use wire::Bytes;

/// The protocol version this crate speaks (in offers, envelopes, tokens,
/// records and the relay challenge).
pub const PROTOCOL_VERSION: u8 = 2;

/// How far in the future a signed timestamp may be before it is refused.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;
