//! Frames between a device and the relay: JSON text WebSocket messages,
//! one frame per message, `"type"` names the frame. Binary fields are
//! base64url, ids are hex (see `docs/protocol.md`).
//!
//! The relay sees only routing data: ids, topics, sizes, and opaque payloads
//! (envelopes from [`crate::envelope`]).

use serde::{Deserialize, Serialize};

use crate::identity::{GroupId, IdentityKey, IdentityPublic, Signature, Topic};
use crate::revocation::RevocationRecord;
use crate::token::SessionToken;
use crate::wire::{b64_id, Bytes, Writer};
use crate::{DeviceId, Error, Result, PROTOCOL_VERSION};

/// Largest frame (JSON text) a relay must accept.
pub const MAX_FRAME_BYTES: usize = 256 * 1024;
/// Largest publish payload (envelope bytes, before base64).
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// Largest blob value (bytes, before base64).
pub const MAX_BLOB_BYTES: usize = 128 * 1024;
/// Longest blob key (bytes of UTF-8).
pub const MAX_BLOB_KEY_BYTES: usize = 128;
/// Longest relay URL accepted in an auth transcript or offer.
pub const MAX_RELAY_URL_BYTES: usize = 512;
/// Longest a pairing-topic subscription lasts (seconds).
pub const MAX_SUBSCRIPTION_SECS: u64 = 600;
/// Most pairing-topic subscriptions one device may hold at once.
pub const MAX_SUBSCRIPTIONS: usize = 4;
/// Most revocation records in one [`RelayFrame::Revocations`] answer.
pub const MAX_REVOCATIONS_PER_FRAME: usize = 64;

const AUTH_DOMAIN: &[u8] = b"tandem/relay-auth/v1";

b64_id!(
    /// The relay's per-connection random challenge.
    Nonce,
    32,
    "challenge nonce"
);

/// Relay-assigned id of a stored message, echoed in [`ClientFrame::Ack`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(pub u64);

crate::internally_tagged! {
    any_order
    #[serde(tag = "kind")]
    #[serde(rename_all = "snake_case", deny_unknown_fields)]
    /// How a device claims its place when it authenticates.
    #[derive(Clone, PartialEq, Eq, Debug)]
    pub enum Membership {
        /// Not (yet) in a group: may only use pairing topics.
        Guest,
        /// The device that founded `group`: `group == GroupId::founded(identity, salt)`.
        Founder {
            /// The group.
            group: GroupId,
            /// Salt the founder chose (hex).
            #[serde(with = "hex16")]
            salt: [u8; 16],
        },
        /// A paired device with its session token.
        Member {
            /// Token issued to this device by an active member.
            token: SessionToken,
        },
    }
}

mod hex16 {
    use serde::{Deserialize, Deserializer, Serializer};
    pub(super) fn serialize<S: Serializer>(v: &[u8; 16], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 16], D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let mut out = [0u8; 16];
        hex::decode_to_slice(s.as_ref(), &mut out)
            .map_err(|_| serde::de::Error::custom("salt: expected 32 hex characters"))?;
        Ok(out)
    }
}

impl Membership {
    /// The group claimed, if any.
    pub fn group(&self) -> Option<GroupId> {
        match self {
            Self::Guest => None,
            Self::Founder { group, .. } => Some(*group),
            Self::Member { token } => Some(token.group()),
        }
    }

    /// The stateless part of the relay's check: a founder's group id derives
    /// from its key; a member's token is signed (checked at parse), unexpired
    /// at `now` and issued to `identity`. The relay must still check that the
    /// token is one it registered for the group (`admit`) and that neither
    /// the device nor the token is revoked there.
    pub fn verify(&self, identity: &IdentityPublic, now: u64) -> Result<()> {
        match self {
            Self::Guest => Ok(()),
            Self::Founder { group, salt } => {
                if GroupId::founded(identity, salt) == *group {
                    Ok(())
                } else {
                    Err(Error::WrongGroup("founder claim"))
                }
            }
            Self::Member { token } => token.check_for(identity, now),
        }
    }
}

/// The bytes a device signs to authenticate: domain, the relay URL the device
/// connected to, the relay's nonce, and the device's key. Binding the URL and
/// the per-connection nonce stops a signature being replayed to another relay
/// or on another connection.
pub fn auth_message(relay_url: &str, nonce: &Nonce, identity: &IdentityPublic) -> Result<Vec<u8>> {
    if relay_url.len() > MAX_RELAY_URL_BYTES {
        return Err(Error::TooLarge {
            what: "relay URL",
            len: relay_url.len(),
            max: MAX_RELAY_URL_BYTES,
        });
    }
    let mut w = Writer::with_domain(AUTH_DOMAIN);
    w.u8(PROTOCOL_VERSION)
        .var(relay_url.as_bytes())
        .raw(&nonce.0)
        .raw(&identity.0);
    Ok(w.0)
}

impl IdentityKey {
    /// Signs the relay's challenge (see [`auth_message`]).
    pub fn sign_auth(&self, relay_url: &str, nonce: &Nonce) -> Result<Signature> {
        Ok(self.sign(&auth_message(relay_url, nonce, &self.public())?))
    }
}

impl IdentityPublic {
    /// Verifies a device's answer to the relay's challenge.
    pub fn verify_auth(&self, relay_url: &str, nonce: &Nonce, sig: &Signature) -> Result<()> {
        self.verify(
            "relay authentication",
            &auth_message(relay_url, nonce, self)?,
            sig,
        )
    }
}

/// Where a published payload goes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Recipient {
    /// A pairing topic (guests and members; short-lived).
    Topic(Topic),
    /// One device of the sender's group (its mailbox).
    Device(DeviceId),
    /// Every other active device of the sender's group.
    Group,
}

/// A device of the group as the relay knows it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberInfo {
    /// Device id.
    pub device: DeviceId,
    /// Identity key.
    pub identity: IdentityPublic,
    /// Whether it founded the group.
    pub founder: bool,
    /// Whether it was revoked.
    pub revoked: bool,
    /// Last time it was connected (Unix seconds), if ever.
    pub last_seen: Option<u64>,
}

crate::internally_tagged! {
    any_order
    #[serde(tag = "type")]
    #[serde(rename_all = "snake_case", deny_unknown_fields)]
    /// Frames a device sends to the relay.
    #[derive(Clone, PartialEq, Eq, Debug)]
    pub enum ClientFrame {
        /// Answer to [`RelayFrame::Challenge`]; must be the first frame.
        Auth {
            /// Identity key.
            identity: IdentityPublic,
            /// Claimed membership.
            membership: Membership,
            /// Signature over [`auth_message`].
            signature: Signature,
        },
        /// Receive payloads published to a pairing topic, until the pairing
        /// offer expires. The relay keeps a subscription at most
        /// [`MAX_SUBSCRIPTION_SECS`] and at most [`MAX_SUBSCRIPTIONS`] per device.
        Subscribe {
            /// Request id echoed in the reply.
            req: u64,
            /// Topic.
            topic: Topic,
            /// When the subscription may end (Unix seconds; the offer's expiry).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            until: Option<u64>,
        },
        /// Stop receiving a pairing topic.
        Unsubscribe {
            /// Request id.
            req: u64,
            /// Topic.
            topic: Topic,
        },
        /// Store and forward an opaque payload.
        Publish {
            /// Request id; the relay answers [`RelayFrame::Published`] once stored.
            req: u64,
            /// Destination.
            to: Recipient,
            /// The envelope (at most [`MAX_PAYLOAD_BYTES`]).
            payload: Bytes,
        },
        /// The device processed a delivered message; the relay may delete it.
        Ack {
            /// Message id from [`RelayFrame::Deliver`] or [`RelayFrame::Revoked`].
            id: MessageId,
        },
        /// Store an encrypted blob for the group under `key` (replaces).
        /// Answered by [`RelayFrame::BlobStored`] with the new version.
        BlobPut {
            /// Request id.
            req: u64,
            /// Key (UTF-8, at most [`MAX_BLOB_KEY_BYTES`]).
            key: String,
            /// Ciphertext (at most [`MAX_BLOB_BYTES`]).
            value: Bytes,
            /// Compare and swap: store only if the blob is still at this
            /// version (0: absent), else [`ErrorCode::Conflict`] and nothing
            /// changes. Without it the put replaces whatever is there.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            expected: Option<u64>,
        },
        /// Read a blob.
        BlobGet {
            /// Request id.
            req: u64,
            /// Key.
            key: String,
        },
        /// Revoke a device or token of the sender's group.
        Revoke {
            /// Request id.
            req: u64,
            /// Signed record; its issuer must be the sender, and it must extend
            /// the group's chain at its current head (else `conflict`).
            record: RevocationRecord,
        },
        /// Register a token the sender just issued to a new device (before the
        /// welcome is sent), so the relay knows the device is in the group.
        Admit {
            /// Request id.
            req: u64,
            /// The new device's token; its issuer must be the sender.
            token: SessionToken,
        },
        /// Fetch the group's revocation chain after position `after`.
        Revocations {
            /// Request id.
            req: u64,
            /// Number of records the device already holds.
            after: u32,
        },
        /// List the group's devices.
        Members {
            /// Request id.
            req: u64,
        },
        /// Liveness check.
        Ping {
            /// Request id.
            req: u64,
        },
    }
}

/// Stable error codes in [`RelayFrame::Error`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// Not valid JSON or not a known frame.
    BadFrame,
    /// Protocol version not supported.
    UnsupportedVersion,
    /// A frame other than `auth` before authenticating.
    NotAuthenticated,
    /// Bad signature, bad founder claim, or bad/expired token.
    AuthFailed,
    /// Authenticated but not allowed (e.g. guest publishing to a device).
    Forbidden,
    /// This device (or its token) is revoked; the connection closes.
    Revoked,
    /// Too many frames or connections.
    RateLimited,
    /// Frame, payload, key or value over the limit.
    TooLarge,
    /// The recipient's mailbox is full.
    MailboxFull,
    /// Unknown blob, device or topic.
    NotFound,
    /// A revocation that does not extend the group's chain at its current
    /// head: fetch the chain (`revocations`), apply it and decide again. A
    /// compare-and-swap blob put whose expected version is not the stored
    /// one: read the blob, merge and put again.
    Conflict,
    /// Something went wrong in the relay (details only in its logs).
    Internal,
}

crate::internally_tagged! {
    #[serde(tag = "type")]
    #[serde(rename_all = "snake_case", deny_unknown_fields)]
    /// Frames the relay sends to a device.
    #[derive(Clone, PartialEq, Eq, Debug)]
    pub enum RelayFrame {
        /// First frame on every connection.
        Challenge {
            /// Protocol version the relay speaks.
            version: u8,
            /// Fresh random nonce for this connection.
            nonce: Nonce,
        },
        /// Authentication accepted; stored messages follow as `deliver` frames,
        /// all of them before the answer to any frame the device sends next.
        AuthOk {
            /// The device's id.
            device: DeviceId,
            /// Its group, if not a guest.
            group: Option<GroupId>,
            /// Length of the group's revocation chain at the relay.
            #[serde(default)]
            revocations: u32,
        },
        /// A request succeeded (subscribe, unsubscribe, blob put, revoke).
        Ok {
            /// Request id.
            req: u64,
        },
        /// A publish was stored durably (acknowledged: survives a relay crash).
        Published {
            /// Request id.
            req: u64,
            /// Id of the stored message.
            id: MessageId,
            /// Group members whose mailbox was full: they did not get it.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            full: Vec<DeviceId>,
        },
        /// A payload for this device.
        Deliver {
            /// Id to acknowledge.
            id: MessageId,
            /// Sending device.
            from: DeviceId,
            /// How it was addressed.
            to: Recipient,
            /// The envelope.
            payload: Bytes,
            /// When the relay accepted it (Unix seconds).
            sent_at: u64,
        },
        /// A blob read.
        Blob {
            /// Request id.
            req: u64,
            /// Key.
            key: String,
            /// Value, or null if absent.
            value: Option<Bytes>,
            /// Its version (0 if absent): what a compare-and-swap put names.
            #[serde(default)]
            version: u64,
        },
        /// A blob put was stored durably.
        BlobStored {
            /// Request id.
            req: u64,
            /// The blob's version now.
            version: u64,
        },
        /// The group's devices.
        Members {
            /// Request id.
            req: u64,
            /// Devices.
            members: Vec<MemberInfo>,
        },
        /// A revocation in this device's group (also kept in the mailbox of
        /// offline devices until acknowledged). Also sent, without an id, to the
        /// revoked device itself just before the relay closes its connection.
        Revoked {
            /// Id to acknowledge (none for the notice to the revoked device).
            id: Option<MessageId>,
            /// The verified record.
            record: RevocationRecord,
        },
        /// A token an approving device registered (`admit`): a new device of
        /// this group, or a refreshed token. Stored in the mailbox like a
        /// revocation and delivered in the same order, so every device knows
        /// every member the relay knows before any record that names it.
        Admitted {
            /// Id to acknowledge.
            id: MessageId,
            /// The token (signed by the approving device).
            token: SessionToken,
        },
        /// Records of the group's revocation chain, in order.
        Revocations {
            /// Request id.
            req: u64,
            /// Records after the requested position (at most 64 per answer).
            records: Vec<RevocationRecord>,
            /// Length of the whole chain.
            total: u32,
        },
        /// Answer to ping.
        Pong {
            /// Request id.
            req: u64,
        },
        /// A request failed, or the connection is about to close.
        Error {
            /// The failing request, if any.
            req: Option<u64>,
            /// Stable code.
            code: ErrorCode,
            /// Human-readable explanation (never contains payloads).
            message: String,
        },
    }
}

fn decode_frame<T: serde::de::DeserializeOwned>(what: &'static str, text: &str) -> Result<T> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(Error::TooLarge {
            what,
            len: text.len(),
            max: MAX_FRAME_BYTES,
        });
    }
    // serde_json's Display for data errors names the field and position but
    // can quote a few characters of input; frames carry no plaintext secrets.
    serde_json::from_str(text).map_err(|e| Error::malformed(what, e.to_string()))
}

impl ClientFrame {
    /// Parses a frame from a device, enforcing the frame size limit and the
    /// payload/blob limits.
    pub fn decode(text: &str) -> Result<Self> {
        let f: Self = decode_frame("client frame", text)?;
        f.check_limits()?;
        Ok(f)
    }

    fn check_limits(&self) -> Result<()> {
        let too_large = |what, len, max| {
            if len > max {
                Err(Error::TooLarge { what, len, max })
            } else {
                Ok(())
            }
        };
        match self {
            Self::Publish { payload, .. } => {
                too_large("payload", payload.0.len(), MAX_PAYLOAD_BYTES)
            }
            Self::BlobPut { key, value, .. } => {
                too_large("blob key", key.len(), MAX_BLOB_KEY_BYTES)?;
                too_large("blob value", value.0.len(), MAX_BLOB_BYTES)
            }
            Self::BlobGet { key, .. } => too_large("blob key", key.len(), MAX_BLOB_KEY_BYTES),
            _ => Ok(()),
        }
    }

    /// JSON text.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("frames always serialize")
    }
}

impl RelayFrame {
    /// Parses a frame from the relay.
    pub fn decode(text: &str) -> Result<Self> {
        decode_frame("relay frame", text)
    }

    /// JSON text.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("frames always serialize")
    }

    /// An error frame.
    pub fn error(req: Option<u64>, code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Error {
            req,
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{Capabilities, TokenRequest};
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn auth_binds_url_nonce_and_key() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
        let k = IdentityKey::generate(&mut rng);
        let other = IdentityKey::generate(&mut rng);
        let n = Nonce::random(&mut rng);
        let sig = k.sign_auth("ws://127.0.0.1:1/ws", &n).unwrap();
        k.public()
            .verify_auth("ws://127.0.0.1:1/ws", &n, &sig)
            .unwrap();
        assert!(k
            .public()
            .verify_auth("ws://127.0.0.1:2/ws", &n, &sig)
            .is_err());
        assert!(k
            .public()
            .verify_auth("ws://127.0.0.1:1/ws", &Nonce([0; 32]), &sig)
            .is_err());
        assert!(other
            .public()
            .verify_auth("ws://127.0.0.1:1/ws", &n, &sig)
            .is_err());
    }

    #[test]
    fn frames_roundtrip_as_documented_json() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(12);
        let phone = IdentityKey::generate(&mut rng);
        let desk = IdentityKey::generate(&mut rng);
        let salt = [5u8; 16];
        let group = GroupId::founded(&phone.public(), &salt);
        let token = SessionToken::issue(
            &phone,
            &TokenRequest {
                group,
                subject: desk.public(),
                subject_encryption: desk.encryption_public(),
                capabilities: Capabilities::ALL,
                lifetime_secs: 100,
            },
            50,
            &mut rng,
        );
        let frames = vec![
            ClientFrame::Auth {
                identity: phone.public(),
                membership: Membership::Founder { group, salt },
                signature: Signature([1; 64]),
            },
            ClientFrame::Auth {
                identity: desk.public(),
                membership: Membership::Member {
                    token: token.clone(),
                },
                signature: Signature([1; 64]),
            },
            ClientFrame::Subscribe {
                req: 1,
                topic: Topic([3; 32]),
                until: None,
            },
            ClientFrame::Subscribe {
                req: 1,
                topic: Topic([3; 32]),
                until: Some(77),
            },
            ClientFrame::Admit {
                req: 6,
                token: token.clone(),
            },
            ClientFrame::Revocations { req: 7, after: 3 },
            ClientFrame::Publish {
                req: 2,
                to: Recipient::Group,
                payload: Bytes(vec![1, 2, 3]),
            },
            ClientFrame::Publish {
                req: 3,
                to: Recipient::Device(desk.device_id()),
                payload: Bytes(vec![]),
            },
            ClientFrame::Ack { id: MessageId(9) },
            ClientFrame::BlobPut {
                req: 4,
                key: "names".into(),
                value: Bytes(vec![0; 10]),
                expected: None,
            },
            ClientFrame::BlobPut {
                req: 6,
                key: "sync".into(),
                value: Bytes(vec![1; 3]),
                expected: Some(0),
            },
            ClientFrame::Members { req: 5 },
        ];
        for f in frames {
            let text = f.encode();
            assert_eq!(ClientFrame::decode(&text).unwrap(), f, "{text}");
        }
        Membership::Founder { group, salt }
            .verify(&phone.public(), 60)
            .unwrap();
        assert!(Membership::Founder { group, salt }
            .verify(&desk.public(), 60)
            .is_err());
        Membership::Member {
            token: token.clone(),
        }
        .verify(&desk.public(), 60)
        .unwrap();
        assert_eq!(
            Membership::Member { token }
                .verify(&desk.public(), 151)
                .unwrap_err()
                .kind(),
            "token_expired"
        );

        let text = r#"{"type":"publish","req":7,"to":"group","payload":"AQID"}"#;
        assert_eq!(
            ClientFrame::decode(text).unwrap(),
            ClientFrame::Publish {
                req: 7,
                to: Recipient::Group,
                payload: Bytes(vec![1, 2, 3])
            }
        );
        let r = RelayFrame::error(Some(3), ErrorCode::RateLimited, "slow down");
        assert_eq!(
            r.encode(),
            r#"{"type":"error","req":3,"code":"rate_limited","message":"slow down"}"#
        );
        assert_eq!(RelayFrame::decode(&r.encode()).unwrap(), r);
    }

    #[test]
    fn bad_frames_give_clear_errors() {
        for bad in [
            "",
            "{}",
            "[]",
            r#"{"type":"nope"}"#,
            r#"{"type":"ping"}"#,
            r#"{"type":"ping","req":1,"extra":2}"#,
            r#"{"type":"publish","req":1,"to":"group","payload":"!!"}"#,
            r#"{"type":"auth","identity":"AA","membership":{"kind":"guest"},"signature":"AA"}"#,
            r#"{"type":"ack","id":-1}"#,
        ] {
            let e = ClientFrame::decode(bad).unwrap_err();
            assert_eq!(e.kind(), "malformed", "{bad}: {e}");
        }
        let big = format!(
            r#"{{"type":"publish","req":1,"to":"group","payload":"{}"}}"#,
            crate::wire::b64_encode(&vec![0u8; MAX_PAYLOAD_BYTES + 1])
        );
        assert_eq!(ClientFrame::decode(&big).unwrap_err().kind(), "too_large");
        let huge = "x".repeat(MAX_FRAME_BYTES + 1);
        assert_eq!(ClientFrame::decode(&huge).unwrap_err().kind(), "too_large");
    }
}
