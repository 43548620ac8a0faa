//! The group: one user's paired devices, their shared group key, group
//! messages, revocation and key rotation.
//!
//! Group messages are `Group` envelopes on the group topic, encrypted under a
//! per-sender key `HKDF-SHA256(salt = group id, ikm = group key,
//! info = "tandem/group/v2/sender" ‖ sender id ‖ epoch)` with a random nonce,
//! and signed by the sender.
//!
//! Revocations form one hash chain per group ([`RevocationRecord`]): record
//! `n` opens key epoch `n`, and names the one device (its `rotator`) that
//! makes that key and seals it to each remaining device in a `KeyUpdate`.
//! A device applies records only in chain order and accepts the key of epoch
//! `n` only from the rotator record `n` names, carried together with that
//! record; so epochs advance by exactly one per revocation, no member can
//! plant an epoch of its choosing, and two rotations never compete for one
//! epoch.
//!
//! Blobs (the group's versioned store on the relay, e.g. the sync
//! snapshot) are sealed by [`Group::seal_blob`] under
//! `HKDF-SHA256(salt = group id, ikm = group key, info = "tandem/blob/v1" ‖
//! epoch)`, with the group id, the blob's name and the epoch bound as
//! associated data: the relay can neither read one, nor serve one group's
//! or name's blob as another's, and a device revoked before epoch `n`
//! cannot read what was written under it.
//!
//! Capabilities ([`Capabilities`]) are enforced here for what receivers
//! see: who may announce or refresh devices, revoke, send, and ask for
//! signatures. A token never grants more than its issuer holds.

use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::envelope::{
    open_body, seal_body, Envelope, EnvelopeKind, Header, ReplayWindow, SequenceCounter,
};
use crate::frame::Membership;
use crate::identity::{EncryptionPublic, GroupId, IdentityKey, IdentityPublic, Signature, Topic};
use crate::map::VecMap;
use crate::revocation::{
    RevocationId, RevocationReason, RevocationRecord, RevocationRequest, RevocationTarget,
    REVOCATION_LEN,
};
use crate::token::{Capabilities, SessionToken};
use crate::wire::{Bytes, Reader, Writer};
use crate::{DeviceId, Error, Result};

const SENDER_INFO: &[u8] = b"tandem/group/v2/sender";
const SEAL_INFO: &[u8] = b"tandem/seal/v2";
const BLOB_INFO: &[u8] = b"tandem/blob/v1";
/// First byte of a sealed blob: its format.
const BLOB_FORMAT: u8 = 1;
/// format [1] | epoch [4] | writer [16] | nonce [24] | ciphertext and
/// tag [16 or more] | the writer's Ed25519 signature [64].
const BLOB_OVERHEAD: usize = 1 + 4 + 16 + 24 + 16 + 64;
/// Longest device name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// Most devices a group can ever hold (revoked ones included), so that a
/// welcome always fits in one payload.
pub const MAX_MEMBERS: usize = 64;
/// How many of the most recent key epochs a device keeps for reading
/// messages sent just before a rotation reached their sender.
pub const KEEP_EPOCHS: u32 = 4;

/// The symmetric group key of one epoch. Zeroized on drop; `Debug` shows
/// only the epoch.
#[derive(Clone, Serialize, Deserialize)]
pub struct GroupKey {
    epoch: u32,
    #[serde(with = "secret_b64")]
    key: Zeroizing<[u8; 32]>,
}

mod secret_b64 {
    use serde::{Deserialize, Deserializer, Serializer};
    use zeroize::Zeroizing;
    pub(super) fn serialize<S: Serializer>(
        v: &Zeroizing<[u8; 32]>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&Zeroizing::new(crate::wire::b64_encode(v.as_slice())))
    }
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Zeroizing<[u8; 32]>, D::Error> {
        let s = Zeroizing::new(String::deserialize(d)?);
        crate::wire::b64_array::<32>("group key", &s)
            .map(Zeroizing::new)
            .map_err(serde::de::Error::custom)
    }
}

impl core::fmt::Debug for GroupKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "GroupKey(epoch {})", self.epoch)
    }
}

impl PartialEq for GroupKey {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.epoch == other.epoch && bool::from(self.key.as_slice().ct_eq(other.key.as_slice()))
    }
}

impl GroupKey {
    /// A fresh random key for `epoch`.
    pub fn generate(epoch: u32, rng: &mut impl CryptoRngCore) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(key.as_mut_slice());
        Self { epoch, key }
    }

    /// Epoch number (0 at founding, `n` after the `n`th revocation).
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    fn sender_key(&self, group: &GroupId, sender: &DeviceId) -> Zeroizing<[u8; 32]> {
        let hk = Hkdf::<Sha256>::new(Some(&group.0), self.key.as_slice());
        let mut info = Vec::with_capacity(SENDER_INFO.len() + 20);
        info.extend_from_slice(SENDER_INFO);
        info.extend_from_slice(&sender.0);
        info.extend_from_slice(&self.epoch.to_be_bytes());
        let mut out = Zeroizing::new([0u8; 32]);
        hk.expand(&info, out.as_mut_slice())
            .expect("32 bytes is a valid HKDF length");
        out
    }
}

impl GroupKey {
    fn blob_key(&self, group: &GroupId) -> Zeroizing<[u8; 32]> {
        let hk = Hkdf::<Sha256>::new(Some(&group.0), self.key.as_slice());
        let mut info = Vec::with_capacity(BLOB_INFO.len() + 4);
        info.extend_from_slice(BLOB_INFO);
        info.extend_from_slice(&self.epoch.to_be_bytes());
        let mut out = Zeroizing::new([0u8; 32]);
        hk.expand(&info, out.as_mut_slice())
            .expect("32 bytes is a valid HKDF length");
        out
    }
}

/// The associated data of blob `name` of `group` under `epoch`.
fn blob_aad(group: &GroupId, name: &str, epoch: u32) -> Vec<u8> {
    let mut aad = Vec::with_capacity(BLOB_INFO.len() + 40 + name.len());
    aad.extend_from_slice(BLOB_INFO);
    aad.extend_from_slice(&group.0);
    aad.extend_from_slice(&(name.len() as u32).to_be_bytes());
    aad.extend_from_slice(name.as_bytes());
    aad.push(BLOB_FORMAT);
    aad.extend_from_slice(&epoch.to_be_bytes());
    aad
}

/// What the writer of blob `name` signs: a domain, the group, the name
/// and the blob up to the signature.
fn blob_signed(group: &GroupId, name: &str, body: &[u8]) -> Vec<u8> {
    let mut m = blob_aad(group, name, 0);
    m.extend_from_slice(body);
    m
}

/// A blob [`Group::open_blob`] accepted.
pub struct OpenedBlob {
    /// The active member that wrote it.
    pub writer: DeviceId,
    /// The key epoch it was written under.
    pub epoch: u32,
    /// Its contents (zeroized on drop).
    pub plaintext: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for OpenedBlob {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OpenedBlob")
            .field("writer", &self.writer)
            .field("epoch", &self.epoch)
            .field("len", &self.plaintext.len())
            .finish()
    }
}

/// One device of the group, as this device knows it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Member {
    /// Identity key.
    pub identity: IdentityPublic,
    /// X25519 key group keys are sealed to.
    pub encryption: EncryptionPublic,
    /// Name the device gave itself.
    pub name: String,
    /// Whether it founded the group.
    pub founder: bool,
    /// Its current session token (none for the founder).
    pub token: Option<SessionToken>,
    /// The record that revoked it, once revoked.
    pub revoked: Option<RevocationRecord>,
    /// Last time a message from it was accepted (Unix seconds).
    pub last_seen: Option<u64>,
}

impl Member {
    /// Device id.
    pub fn device(&self) -> DeviceId {
        self.identity.device_id()
    }
    /// Not revoked.
    pub fn is_active(&self) -> bool {
        self.revoked.is_none()
    }
    /// What it may do: everything for the founder, its token's grant otherwise.
    pub fn capabilities(&self) -> Capabilities {
        match (&self.token, self.founder) {
            (_, true) => Capabilities::ALL,
            (Some(t), false) => t.capabilities(),
            (None, false) => Capabilities(0),
        }
    }
    /// When it joined: founding time, or when its first known token was issued.
    pub fn paired_at(&self) -> Option<u64> {
        self.token.as_ref().map(SessionToken::issued_at)
    }
}

crate::internally_tagged! {
    #[serde(tag = "kind")]
    #[serde(rename_all = "snake_case", deny_unknown_fields)]
    /// The application-level content of a group message.
    #[derive(Clone, PartialEq, Eq, Debug)]
    #[allow(clippy::large_enum_variant)] // short-lived, never stored in bulk
    pub enum GroupPayload {
        /// An approving device announces a newly paired device to the others
        /// (needs [`Capabilities::APPROVE`]).
        MemberAdded {
            /// The new device's token (issued by the sender).
            token: SessionToken,
            /// Its name.
            name: String,
        },
        /// A fresh token for a device already in the group (needs
        /// [`Capabilities::APPROVE`]; same device, no new rights, later expiry).
        TokenRefreshed {
            /// The new token.
            token: SessionToken,
        },
        /// Application data: sync and answers (needs [`Capabilities::MESSAGE`]).
        App {
            /// Bytes.
            data: Bytes,
        },
        /// A request for another device to sign something (needs
        /// [`Capabilities::REQUEST_SIGNATURE`]); opaque to this crate.
        Request {
            /// Bytes.
            data: Bytes,
        },
        /// The sender's session token expires soon: the device that answers
        /// refresh requests ([`Group::refresh_responder`]) issues it a new one.
        RefreshMe,
    }
}

impl GroupPayload {
    /// The capability a sender needs for this payload.
    pub fn required_capability(&self) -> Capabilities {
        match self {
            Self::MemberAdded { .. } | Self::TokenRefreshed { .. } => Capabilities::APPROVE,
            Self::App { .. } | Self::RefreshMe => Capabilities::MESSAGE,
            Self::Request { .. } => Capabilities::REQUEST_SIGNATURE,
        }
    }
}

/// A group message that passed every check.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Received {
    /// Sender.
    pub from: DeviceId,
    /// Key epoch it was sent under.
    pub epoch: u32,
    /// Content.
    pub payload: GroupPayload,
}

/// Output of [`Group::revoke`]: the record for the relay and, when this
/// device is the rotator, the new key sealed to each remaining device.
#[derive(Clone, Debug)]
pub struct Revocation {
    /// The signed record to hand to the relay.
    pub record: RevocationRecord,
    /// One `KeyUpdate` envelope per remaining device, to publish to it.
    pub key_updates: Vec<(DeviceId, Vec<u8>)>,
}

/// What a relay `admitted` notice changed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Learned {
    /// A device this device did not know yet.
    Added,
    /// A newer token for a known device.
    Refreshed,
    /// Nothing new.
    Known,
}

/// What applying a revocation record did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Applied {
    /// The record extended the chain.
    New,
    /// The record was already in the chain (a fan-out copy or a replay).
    Known,
}

/// This device's view of its group. Contains the group keys: store it only
/// encrypted (a vault).
#[derive(Clone, Serialize, Deserialize)]
pub struct Group {
    id: GroupId,
    me: DeviceId,
    relay: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    founder_salt: Option<String>,
    /// Keys of the most recent epochs held, by epoch.
    keys: VecMap<u32, GroupKey>,
    members: VecMap<DeviceId, Member>,
    send: SequenceCounter,
    /// Replay windows per sender and epoch.
    recv: VecMap<DeviceId, VecMap<u32, ReplayWindow>>,
}

impl core::fmt::Debug for Group {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Group")
            .field("id", &self.id)
            .field("me", &self.me)
            .field("epochs", &self.keys.keys().collect::<Vec<_>>())
            .field("chain", &self.chain_len())
            .field("members", &self.members.len())
            .finish()
    }
}

pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.len() > MAX_NAME_BYTES {
        return Err(Error::TooLarge {
            what: "device name",
            len: name.len(),
            max: MAX_NAME_BYTES,
        });
    }
    if name.chars().any(char::is_control) {
        return Err(Error::malformed(
            "device name",
            "contains control characters",
        ));
    }
    Ok(())
}

impl Group {
    /// Founds a new group with this device as its only member; `relay` is
    /// the relay every member uses for group messages.
    pub fn found(
        me: &IdentityKey,
        name: &str,
        relay: &str,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Self> {
        check_name(name)?;
        crate::offer::validate_relay_url(relay)?;
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        let id = GroupId::founded(&me.public(), &salt);
        let mut members = VecMap::new();
        members.insert(
            me.device_id(),
            Member {
                identity: me.public(),
                encryption: me.encryption_public(),
                name: name.to_owned(),
                founder: true,
                token: None,
                revoked: None,
                last_seen: Some(now),
            },
        );
        Ok(Self {
            id,
            me: me.device_id(),
            relay: relay.to_owned(),
            founder_salt: Some(hex::encode(salt)),
            keys: VecMap::from([(0, GroupKey::generate(0, rng))]),
            members,
            send: SequenceCounter::default(),
            recv: VecMap::new(),
        })
    }

    /// Builds the joining device's view from a verified welcome. The member
    /// list must carry a consistent chain and the key of its current epoch.
    pub(crate) fn joined(
        me: DeviceId,
        id: GroupId,
        relay: String,
        key: GroupKey,
        members: Vec<Member>,
    ) -> Result<Self> {
        crate::offer::validate_relay_url(&relay)?;
        if members.len() > MAX_MEMBERS {
            return Err(Error::TooLarge {
                what: "member list",
                len: members.len(),
                max: MAX_MEMBERS,
            });
        }
        let g = Self {
            id,
            me,
            relay,
            founder_salt: None,
            keys: VecMap::from([(key.epoch, key)]),
            members: members.into_iter().map(|m| (m.device(), m)).collect(),
            send: SequenceCounter::default(),
            recv: VecMap::new(),
        };
        // The chain must be whole (positions 1..n, each linked to the one
        // before) and the key must be that of epoch n.
        let mut head = RevocationId::NONE;
        for (i, r) in g.chain().iter().enumerate() {
            if r.group() != id || r.seq() as usize != i + 1 || r.prev() != head {
                return Err(Error::malformed("welcome", "revocation chain is broken"));
            }
            head = r.id();
        }
        if g.current_key().map(GroupKey::epoch) != Some(g.chain_len()) {
            return Err(Error::malformed(
                "welcome",
                "group key is not the one of the current epoch",
            ));
        }
        Ok(g)
    }

    /// Group id.
    pub fn id(&self) -> GroupId {
        self.id
    }
    /// This device's id.
    pub fn me(&self) -> DeviceId {
        self.me
    }
    /// The relay this group's devices use.
    pub fn relay(&self) -> &str {
        &self.relay
    }
    /// Highest key epoch held.
    pub fn epoch(&self) -> u32 {
        self.keys.keys().next_back().copied().unwrap_or(0)
    }
    /// The key of the current epoch (= [`Self::chain_len`]), if held.
    pub(crate) fn current_key(&self) -> Option<&GroupKey> {
        self.keys.get(&self.chain_len())
    }
    /// All devices ever paired, including revoked ones and this one.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }
    /// One device.
    pub fn member(&self, device: &DeviceId) -> Option<&Member> {
        self.members.get(device)
    }
    /// Whether `device` is a member that was not revoked.
    pub fn is_active(&self, device: &DeviceId) -> bool {
        self.members.get(device).is_some_and(Member::is_active)
    }
    /// The topic group messages are published on.
    pub fn topic(&self) -> Topic {
        Topic::group(&self.id)
    }
    /// The revocation chain, in order.
    pub fn chain(&self) -> Vec<&RevocationRecord> {
        let mut c: Vec<&RevocationRecord> = self
            .members
            .values()
            .filter_map(|m| m.revoked.as_ref())
            .collect();
        c.sort_by_key(|r| r.seq());
        c
    }
    /// Number of records in the chain: the epoch messages must be sent in.
    pub fn chain_len(&self) -> u32 {
        self.members
            .values()
            .filter(|m| m.revoked.is_some())
            .count() as u32
    }
    /// Id of the last record ([`RevocationId::NONE`] before any).
    pub fn head(&self) -> RevocationId {
        self.chain().last().map_or(RevocationId::NONE, |r| r.id())
    }
    /// When the current epoch's key has not arrived yet: the epoch and the
    /// device expected to send it (none if nobody is left to).
    pub fn awaiting_key(&self) -> Option<(u32, Option<DeviceId>)> {
        if self.current_key().is_some() {
            return None;
        }
        let last = self.chain().last().map(|r| r.rotator());
        Some((self.chain_len(), last.flatten()))
    }

    /// What to present to the relay when authenticating.
    pub fn membership(&self) -> Result<Membership> {
        if let Some(salt) = &self.founder_salt {
            let mut s = [0u8; 16];
            hex::decode_to_slice(salt, &mut s)
                .map_err(|_| Error::malformed("group state", "bad founder salt"))?;
            return Ok(Membership::Founder {
                group: self.id,
                salt: s,
            });
        }
        let me = self
            .members
            .get(&self.me)
            .ok_or_else(|| Error::malformed("group state", "this device is not in its group"))?;
        match &me.token {
            Some(token) => Ok(Membership::Member {
                token: token.clone(),
            }),
            None => Err(Error::malformed("group state", "no session token")),
        }
    }

    fn active_member(&self, device: &DeviceId) -> Result<&Member> {
        match self.members.get(device) {
            None => Err(Error::NotMember(device.to_hex())),
            Some(m) if !m.is_active() => Err(Error::Revoked(device.to_hex())),
            Some(m) => Ok(m),
        }
    }

    fn require(&self, device: &DeviceId, cap: Capabilities, action: &'static str) -> Result<()> {
        if self.active_member(device)?.capabilities().contains(cap) {
            Ok(())
        } else {
            Err(Error::NotAllowed {
                device: device.to_hex(),
                action,
            })
        }
    }

    /// Checks a token issued by an active member of this group: signed
    /// (checked at parse), unexpired, issuer allowed to approve devices, and
    /// granting nothing its issuer does not hold.
    fn check_issued(&self, token: &SessionToken, now: u64) -> Result<()> {
        token.check(now)?;
        self.check_issuer(token)
    }

    /// [`Self::check_issued`] without the clock: for tokens the relay
    /// already registered, which may be read long after they were issued.
    fn check_issuer(&self, token: &SessionToken) -> Result<()> {
        if token.group() != self.id {
            return Err(Error::WrongGroup("session token"));
        }
        let issuer = token.issuer_device();
        let m = self.active_member(&issuer)?;
        if m.identity != token.issuer() {
            return Err(Error::NotMember(issuer.to_hex()));
        }
        self.require(&issuer, Capabilities::APPROVE, "approve devices")?;
        if !m.capabilities().contains(token.capabilities()) {
            return Err(Error::NotAllowed {
                device: issuer.to_hex(),
                action: "grant capabilities it does not hold",
            });
        }
        Ok(())
    }

    /// Adds a new device from a token issued by an active member that may
    /// approve devices (used by the approver itself and by devices receiving
    /// `MemberAdded`). A device already in the group is refused: its token
    /// only changes through [`Self::refresh_token`].
    pub fn add_member(&mut self, token: SessionToken, name: &str, now: u64) -> Result<DeviceId> {
        check_name(name)?;
        self.check_issued(&token, now)?;
        let device = token.subject_device();
        if let Some(m) = self.members.get(&device) {
            if !m.is_active() {
                return Err(Error::Revoked(device.to_hex()));
            }
            if m.token.as_ref() == Some(&token) {
                // Known already (from the relay's notice, or a repeat): the
                // announcement brings the name.
                if m.name.is_empty() {
                    if let Some(m) = self.members.get_mut(&device) {
                        name.clone_into(&mut m.name);
                    }
                }
                return Ok(device);
            }
            return Err(Error::AlreadyMember(device.to_hex()));
        }
        if self.members.len() >= MAX_MEMBERS {
            return Err(Error::TooLarge {
                what: "wallet group",
                len: self.members.len() + 1,
                max: MAX_MEMBERS,
            });
        }
        self.members.insert(
            device,
            Member {
                identity: token.subject(),
                encryption: token.subject_encryption(),
                name: name.to_owned(),
                founder: false,
                token: Some(token),
                revoked: None,
                last_seen: None,
            },
        );
        Ok(device)
    }

    /// Applies a token the relay registered for this group (an `admitted`
    /// notice, delivered in order with the revocation chain): a new device
    /// (its name arrives with its `member_added` announcement), or a
    /// refresh of a known one. Expiry is not checked: the relay registered
    /// it while it was valid, and the notice may be read much later.
    pub fn learn_admitted(&mut self, token: SessionToken) -> Result<Learned> {
        self.check_issuer(&token)?;
        let device = token.subject_device();
        match self.members.get(&device) {
            Some(m) if !m.is_active() => Err(Error::Revoked(device.to_hex())),
            Some(m) if m.token.as_ref() == Some(&token) => Ok(Learned::Known),
            Some(_) => {
                self.check_refresh(&token)?;
                if let Some(m) = self.members.get_mut(&device) {
                    m.token = Some(token);
                }
                Ok(Learned::Refreshed)
            }
            None => {
                if self.members.len() >= MAX_MEMBERS {
                    return Err(Error::TooLarge {
                        what: "wallet group",
                        len: self.members.len() + 1,
                        max: MAX_MEMBERS,
                    });
                }
                self.members.insert(
                    device,
                    Member {
                        identity: token.subject(),
                        encryption: token.subject_encryption(),
                        name: String::new(),
                        founder: false,
                        token: Some(token),
                        revoked: None,
                        last_seen: None,
                    },
                );
                Ok(Learned::Added)
            }
        }
    }

    /// Replaces an active device's token with a refreshed one: same device
    /// and encryption key, no capability it did not have, a later expiry,
    /// issued by a member that may approve devices.
    pub fn refresh_token(&mut self, token: SessionToken, now: u64) -> Result<DeviceId> {
        self.check_issued(&token, now)?;
        let device = token.subject_device();
        if self.active_member(&device)?.token.as_ref() == Some(&token) {
            return Ok(device);
        }
        self.check_refresh(&token)?;
        if let Some(m) = self.members.get_mut(&device) {
            m.token = Some(token);
        }
        Ok(device)
    }

    /// The refresh rules: same device and keys, no new capability, later expiry.
    fn check_refresh(&self, token: &SessionToken) -> Result<()> {
        let device = token.subject_device();
        let m = self.active_member(&device)?;
        let old = m.token.as_ref().ok_or(Error::NotAllowed {
            device: device.to_hex(),
            action: "hold a token (the founding device needs none)",
        })?;
        if m.identity != token.subject() || m.encryption != token.subject_encryption() {
            return Err(Error::WrongSubject);
        }
        if !old.capabilities().contains(token.capabilities()) {
            return Err(Error::NotAllowed {
                device: token.issuer_device().to_hex(),
                action: "widen a device's capabilities in a refresh",
            });
        }
        if token.expires_at() <= old.expires_at() {
            return Err(Error::malformed(
                "token refresh",
                "expires no later than the token it replaces",
            ));
        }
        Ok(())
    }

    /// Issues a refreshed token for an active device (valid `lifetime_secs`
    /// from `now`) without applying it: register it with the relay
    /// (`admit`), then apply it with [`Self::refresh_token`] and announce it
    /// with [`GroupPayload::TokenRefreshed`].
    pub fn prepare_refresh(
        &self,
        me: &IdentityKey,
        device: &DeviceId,
        lifetime_secs: u64,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<SessionToken> {
        self.check_me(me)?;
        let old = self
            .active_member(device)?
            .token
            .clone()
            .ok_or_else(|| Error::NotAllowed {
                device: device.to_hex(),
                action: "hold a token (the founding device needs none)",
            })?;
        let token = old.refresh(me, lifetime_secs, now, rng);
        self.clone().refresh_token(token.clone(), now)?;
        Ok(token)
    }

    /// [`Self::prepare_refresh`] and [`Self::refresh_token`] in one step.
    pub fn issue_refresh(
        &mut self,
        me: &IdentityKey,
        device: &DeviceId,
        lifetime_secs: u64,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<SessionToken> {
        let token = self.prepare_refresh(me, device, lifetime_secs, now, rng)?;
        self.refresh_token(token.clone(), now)?;
        Ok(token)
    }

    /// The device that answers `device`'s refresh requests: the active
    /// member with the lowest id that may approve devices, other than
    /// `device` itself. One device answers, so one new token is made.
    pub fn refresh_responder(&self, device: &DeviceId) -> Option<DeviceId> {
        self.members
            .values()
            .filter(|m| {
                m.is_active()
                    && m.device() != *device
                    && m.capabilities().contains(Capabilities::APPROVE)
            })
            .map(Member::device)
            .min()
    }

    fn check_me(&self, me: &IdentityKey) -> Result<()> {
        if me.device_id() != self.me {
            return Err(Error::WrongSubject);
        }
        self.active_member(&self.me).map(|_| ())
    }

    /// Encrypts and signs a group message for every other device, under the
    /// current epoch's key. Fails while that key has not arrived yet (after a
    /// revocation), so nothing is ever sent under a key a revoked device holds.
    pub fn seal(
        &mut self,
        me: &IdentityKey,
        payload: &GroupPayload,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<u8>> {
        self.check_me(me)?;
        self.require(&self.me, payload.required_capability(), "send this message")?;
        let epoch = self.chain_len();
        let key = self.keys.get(&epoch).ok_or(Error::AwaitingKey { epoch })?;
        let plain = Zeroizing::new(serde_json::to_vec(payload).expect("payload serializes"));
        let header = Header {
            kind: EnvelopeKind::Group,
            topic: self.topic(),
            sender: self.me,
            epoch,
            seq: self.send.take(now)?,
        };
        let sender_key = key.sender_key(&self.id, &self.me);
        Ok(Envelope::seal(&sender_key, header, &plain, rng)
            .sign(me)
            .encode())
    }

    /// Encrypts `plaintext` as the group's blob `name` under the current
    /// epoch's key and signs it as this device (see the module
    /// documentation). Fails on a device no longer in the group, and while
    /// the current key has not arrived.
    pub fn seal_blob(
        &self,
        me: &IdentityKey,
        name: &str,
        plaintext: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<u8>> {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        self.check_me(me)?;
        let epoch = self.chain_len();
        let key = self.keys.get(&epoch).ok_or(Error::AwaitingKey { epoch })?;
        let mut nonce = [0u8; 24];
        rng.fill_bytes(&mut nonce);
        let ct = chacha20poly1305::XChaCha20Poly1305::new(key.blob_key(&self.id).as_ref().into())
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plaintext,
                    aad: &blob_aad(&self.id, name, epoch),
                },
            )
            .map_err(|_| Error::malformed("blob", "too large to encrypt"))?;
        let mut out = Vec::with_capacity(BLOB_OVERHEAD + plaintext.len());
        out.push(BLOB_FORMAT);
        out.extend_from_slice(&epoch.to_be_bytes());
        out.extend_from_slice(&self.me.0);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        let sig = me.sign(&blob_signed(&self.id, name, &out));
        out.extend_from_slice(&sig.0);
        Ok(out)
    }

    /// Opens blob `name` of this group: its writer, the epoch it was
    /// written under and its plaintext. Refused: a writer that is not an
    /// active member now (a revoked device's blob, even one written before
    /// its revocation: whoever rotates the key writes the blob again), a
    /// bad signature, and a blob that is not this group's blob `name`
    /// ([`Error::Tampered`]: altered, or another group's or name's).
    /// [`Error::WrongEpoch`] when this device holds no key of its epoch
    /// (written before it joined and not rewritten since).
    pub fn open_blob(&self, name: &str, bytes: &[u8]) -> Result<OpenedBlob> {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        if bytes.len() < BLOB_OVERHEAD || bytes[0] != BLOB_FORMAT {
            return Err(Error::malformed(
                "blob",
                "not a sealed blob of this format (too short or another version)",
            ));
        }
        let (body, sig) = bytes.split_at(bytes.len() - Signature::LEN);
        let epoch = u32::from_be_bytes(body[1..5].try_into().expect("4 bytes"));
        let writer = DeviceId(body[5..21].try_into().expect("16 bytes"));
        let member = self.active_member(&writer)?;
        let sig = Signature(sig.try_into().expect("64 bytes"));
        member
            .identity
            .verify("blob", &blob_signed(&self.id, name, body), &sig)?;
        let key = self.keys.get(&epoch).ok_or(Error::WrongEpoch {
            got: epoch,
            have: self.epoch(),
        })?;
        let nonce: [u8; 24] = body[21..45].try_into().expect("24 bytes");
        chacha20poly1305::XChaCha20Poly1305::new(key.blob_key(&self.id).as_ref().into())
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: &body[45..],
                    aad: &blob_aad(&self.id, name, epoch),
                },
            )
            .map(|p| OpenedBlob {
                writer,
                epoch,
                plaintext: Zeroizing::new(p),
            })
            .map_err(|_| Error::Tampered)
    }

    /// Verifies, decrypts and replay-checks a group message, checks that the
    /// sender may send it, and applies `MemberAdded` / `TokenRefreshed`.
    /// A message under an epoch newer than any key held fails with
    /// [`Error::WrongEpoch`] and changes nothing: keep it and try again once
    /// the key arrived.
    pub fn open(&mut self, bytes: &[u8], now: u64) -> Result<Received> {
        let env = Envelope::decode(bytes)?;
        let h = env.header;
        if h.kind != EnvelopeKind::Group {
            return Err(Error::UnexpectedMessage("not a group message"));
        }
        if h.topic != self.topic() {
            return Err(Error::WrongGroup("message"));
        }
        if h.sender == self.me {
            // The relay never echoes a device's own messages; a copy is a replay.
            return Err(Error::UnexpectedMessage(
                "a copy of this device's own message",
            ));
        }
        let sender = self.active_member(&h.sender)?.identity;
        env.verify(&sender)?;
        let key = self.keys.get(&h.epoch).ok_or(Error::WrongEpoch {
            got: h.epoch,
            have: self.epoch(),
        })?;
        if let Some(w) = self.recv.get(&h.sender).and_then(|e| e.get(&h.epoch)) {
            w.check(h.seq)?;
        }
        let plain = env.open(&key.sender_key(&self.id, &h.sender))?;
        let payload: GroupPayload = crate::wire::json_from_bytes(&plain)
            .map_err(|e| Error::malformed("group message", e.to_string()))?;
        self.require(
            &h.sender,
            payload.required_capability(),
            "send this message",
        )?;
        // Authentic and allowed: from here on the message is consumed.
        self.recv
            .get_or_insert_with(h.sender, VecMap::new)
            .get_or_insert_with(h.epoch, ReplayWindow::default)
            .accept(h.seq)?;
        match &payload {
            GroupPayload::MemberAdded { token, name } => {
                if token.issuer_device() != h.sender {
                    return Err(Error::BadSignature("member announcement"));
                }
                self.add_member(token.clone(), name, now)?;
            }
            GroupPayload::TokenRefreshed { token } => {
                if token.issuer_device() != h.sender {
                    return Err(Error::BadSignature("token refresh"));
                }
                self.refresh_token(token.clone(), now)?;
            }
            GroupPayload::App { .. } | GroupPayload::Request { .. } | GroupPayload::RefreshMe => {}
        }
        self.touch(&h.sender, now);
        Ok(Received {
            from: h.sender,
            epoch: h.epoch,
            payload,
        })
    }

    /// Checks that `record` may extend the chain now: right position and
    /// link, an active issuer allowed to revoke (anyone may leave), an
    /// active target, and a rotator that is the issuer itself or, when the
    /// issuer leaves, a remaining active device.
    fn check_next(&self, record: &RevocationRecord) -> Result<DeviceId> {
        let issuer = record.issuer_device();
        let m = self.active_member(&issuer)?;
        if m.identity != record.issuer() {
            return Err(Error::NotMember(issuer.to_hex()));
        }
        let target = match record.target() {
            RevocationTarget::Device(d) => {
                self.active_member(&d)?;
                d
            }
            RevocationTarget::Token(t) => self
                .members
                .values()
                .find(|m| m.is_active() && m.token.as_ref().is_some_and(|tok| tok.id() == t))
                .map(Member::device)
                .ok_or(Error::NotMember(format!("token {t}")))?,
        };
        let leaves = target == issuer;
        if !leaves {
            self.require(&issuer, Capabilities::REVOKE, "revoke devices")?;
        }
        let remaining: Vec<DeviceId> = self
            .members
            .values()
            .filter(|m| m.is_active() && m.device() != target)
            .map(Member::device)
            .collect();
        let rotator_ok = match record.rotator() {
            None => remaining.is_empty(),
            Some(r) if !leaves => r == issuer,
            Some(r) => remaining.contains(&r),
        };
        if !rotator_ok {
            return Err(Error::malformed(
                "revocation record",
                "the rotator must be the issuer, or a remaining device when the issuer leaves",
            ));
        }
        Ok(target)
    }

    /// Applies a revocation record delivered by the relay (a `revoked` push or
    /// a `revocations` answer: the relay's chain is the order every device
    /// follows, so apply records from nowhere else). The chain decides: the record must be the next one (its `prev` is this
    /// device's head), or one already applied; anything else is refused
    /// without changing state ([`Error::ChainGap`]: fetch the records in
    /// between first; [`Error::ChainFork`]: a different record already holds
    /// that position, so this one is void).
    pub fn apply_revocation(&mut self, record: &RevocationRecord) -> Result<Applied> {
        if record.group() != self.id {
            return Err(Error::WrongGroup("revocation record"));
        }
        let len = self.chain_len();
        let seq = record.seq();
        if seq <= len {
            let chain = self.chain();
            return if chain[seq as usize - 1] == record {
                Ok(Applied::Known)
            } else {
                Err(Error::ChainFork { seq })
            };
        }
        if seq > len + 1 {
            return Err(Error::ChainGap {
                have: len,
                got: seq,
            });
        }
        if record.prev() != self.head() {
            return Err(Error::ChainFork { seq });
        }
        let target = self.check_next(record)?;
        if let Some(m) = self.members.get_mut(&target) {
            m.revoked = Some(record.clone());
        }
        if target == self.me {
            // Removed: nothing here may decrypt anything any more.
            self.keys.clear();
            self.recv.clear();
        }
        Ok(Applied::New)
    }

    /// Signs the record that revokes `target` at the chain's current head,
    /// without applying it: send it to the relay, and apply it (with
    /// [`Self::apply_revocation`], then [`Self::rotate`]) once the relay
    /// accepted it. When this device revokes itself it names the remaining
    /// active device with the lowest id as rotator.
    pub fn prepare_revocation(
        &self,
        me: &IdentityKey,
        target: RevocationTarget,
        reason: RevocationReason,
        now: u64,
    ) -> Result<RevocationRecord> {
        self.prepare_revocation_erasing(me, target, reason, false, now)
    }

    /// [`Self::prepare_revocation`], asking the revoked device to erase its
    /// wallet too when `erase` (a lost or compromised device only).
    pub fn prepare_revocation_erasing(
        &self,
        me: &IdentityKey,
        target: RevocationTarget,
        reason: RevocationReason,
        erase: bool,
        now: u64,
    ) -> Result<RevocationRecord> {
        if erase
            && !matches!(
                reason,
                RevocationReason::Lost | RevocationReason::Compromised
            )
        {
            return Err(Error::malformed(
                "revocation",
                "only a lost or compromised device is asked to erase its wallet",
            ));
        }
        self.check_me(me)?;
        let target_device = match target {
            RevocationTarget::Device(d) => Some(d),
            RevocationTarget::Token(t) => self
                .members
                .values()
                .find(|m| m.token.as_ref().is_some_and(|tok| tok.id() == t))
                .map(Member::device),
        };
        let rotator = if target_device == Some(self.me) {
            self.members
                .values()
                .filter(|m| m.is_active() && m.device() != self.me)
                .map(Member::device)
                .min()
        } else {
            Some(self.me)
        };
        let seq = self
            .chain_len()
            .checked_add(1)
            .ok_or(Error::SequenceExhausted)?;
        let record = RevocationRecord::issue(
            me,
            &RevocationRequest {
                group: self.id,
                target,
                rotator,
                seq,
                prev: self.head(),
                reason,
                erase,
            },
            now,
        );
        self.check_next(&record)?;
        Ok(record)
    }

    /// [`Self::prepare_revocation`], [`Self::apply_revocation`] and, when
    /// this device is the rotator, [`Self::rotate`] in one step (for a device
    /// that already knows the relay accepts the record, and for tests).
    pub fn revoke(
        &mut self,
        me: &IdentityKey,
        target: RevocationTarget,
        reason: RevocationReason,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Revocation> {
        let record = self.prepare_revocation(me, target, reason, now)?;
        self.apply_revocation(&record)?;
        let key_updates = if self.must_rotate() {
            self.rotate(me, now, rng)?
        } else {
            Vec::new()
        };
        Ok(Revocation {
            record,
            key_updates,
        })
    }

    /// Whether this device must now make the key of the current epoch: the
    /// last record names it as rotator and the key is not here yet.
    pub fn must_rotate(&self) -> bool {
        self.is_active(&self.me) && self.awaiting_key().is_some_and(|(_, r)| r == Some(self.me))
    }

    /// Makes the key of the current epoch (this device must be the rotator
    /// the last record names) and seals it, with that record, to every other
    /// active device. Keep the returned envelopes until each is published.
    pub fn rotate(
        &mut self,
        me: &IdentityKey,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<(DeviceId, Vec<u8>)>> {
        self.check_me(me)?;
        if !self.must_rotate() {
            return Err(Error::UnexpectedMessage(
                "this device is not the one to rotate the group key now",
            ));
        }
        let record = self
            .chain()
            .last()
            .map(|r| (*r).clone())
            .ok_or(Error::UnexpectedMessage("nothing to rotate for"))?;
        let epoch = record.seq();
        let new_key = GroupKey::generate(epoch, rng);
        let mut out = Vec::new();
        let recipients: Vec<(DeviceId, EncryptionPublic)> = self
            .members
            .values()
            .filter(|m| m.is_active() && m.device() != self.me)
            .map(|m| (m.device(), m.encryption))
            .collect();
        for (device, enc) in recipients {
            let mut w = Writer::default();
            w.raw(&self.id.0)
                .u32(epoch)
                .raw(new_key.key.as_slice())
                .raw(&record.encode());
            let plain = Zeroizing::new(w.0);
            let header = Header {
                kind: EnvelopeKind::KeyUpdate,
                topic: Topic::device(&device),
                sender: self.me,
                epoch,
                seq: self.send.take(now)?,
            };
            let eph = x25519_dalek::EphemeralSecret::random_from_rng(&mut *rng);
            let eph_pub = x25519_dalek::PublicKey::from(&eph);
            let shared = eph.diffie_hellman(&x25519_dalek::PublicKey::from(enc.0));
            let key = seal_key(shared.as_bytes(), eph_pub.as_bytes(), &enc.0);
            let mut body = eph_pub.as_bytes().to_vec();
            body.extend_from_slice(&seal_body(&key, &header, &plain, rng));
            let env = Envelope {
                header,
                body,
                signature: None,
            }
            .sign(me);
            out.push((device, env.encode()));
        }
        self.install_key(new_key);
        Ok(out)
    }

    fn install_key(&mut self, key: GroupKey) {
        let epoch = key.epoch;
        self.keys.insert(epoch, key);
        let newest = self.epoch();
        let oldest_kept = newest.saturating_sub(KEEP_EPOCHS - 1);
        self.keys.retain(|e, _| *e >= oldest_kept);
        for windows in self.recv.values_mut() {
            windows.retain(|e, _| *e >= oldest_kept);
        }
    }

    /// Opens a `KeyUpdate` addressed to this device. It carries the record
    /// that opened its epoch, which must already be in this device's chain
    /// ([`Error::ChainGap`] while it is not: keep the update and try again
    /// once the relay delivered the record; [`Error::ChainFork`] if another
    /// record holds that position: void), and the key is accepted only from
    /// the rotator that record names. Returns the epoch of the key.
    pub fn open_key_update(&mut self, me: &IdentityKey, bytes: &[u8]) -> Result<u32> {
        let env = Envelope::decode(bytes)?;
        let h = env.header;
        if h.kind != EnvelopeKind::KeyUpdate {
            return Err(Error::UnexpectedMessage("not a key update"));
        }
        if h.topic != Topic::device(&self.me) || me.device_id() != self.me {
            return Err(Error::UnexpectedMessage("key update for another device"));
        }
        if !self.is_active(&self.me) {
            return Err(Error::Revoked(self.me.to_hex()));
        }
        // The sender may have been revoked since it rotated; what matters is
        // that the record names it, which is checked below.
        let sender = self
            .members
            .get(&h.sender)
            .ok_or(Error::NotMember(h.sender.to_hex()))?
            .identity;
        env.verify(&sender)?;
        let (eph, sealed) = env.body.split_at(32);
        let eph: [u8; 32] = eph.try_into().expect("decode checked the length");
        let secret = me.encryption_secret();
        let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(eph));
        let key = seal_key(shared.as_bytes(), &eph, &me.encryption_public().0);
        let plain = open_body(&key, &h, sealed)?;
        let mut r = Reader::new("key update", &plain);
        let group = GroupId(r.array()?);
        let epoch = r.u32()?;
        let k: Zeroizing<[u8; 32]> = Zeroizing::new(r.array()?);
        let record = RevocationRecord::decode(r.take(REVOCATION_LEN)?)?;
        r.finish()?;
        if group != self.id {
            return Err(Error::WrongGroup("key update"));
        }
        if epoch != h.epoch || record.seq() != epoch {
            return Err(Error::Tampered);
        }
        if record.rotator() != Some(h.sender) {
            return Err(Error::NotAllowed {
                device: h.sender.to_hex(),
                action: "send the key of this epoch (the revocation names another device)",
            });
        }
        // The record must already be in the chain as the relay ordered it: a
        // record that only travels inside a key update could be one the relay
        // never accepted (a member trying to get ahead of the chain).
        let len = self.chain_len();
        if epoch > len {
            return Err(Error::ChainGap {
                have: len,
                got: epoch,
            });
        }
        if self.chain()[epoch as usize - 1] != &record {
            return Err(Error::ChainFork { seq: epoch });
        }
        let oldest_kept = self.epoch().saturating_sub(KEEP_EPOCHS - 1);
        match self.keys.get(&epoch) {
            Some(held) if held.key.as_slice() == k.as_slice() => {}
            Some(_) => {
                return Err(Error::UnexpectedMessage(
                    "a second, different key for an epoch already held",
                ))
            }
            None if epoch < oldest_kept => {}
            None => self.install_key(GroupKey { epoch, key: k }),
        }
        Ok(epoch)
    }

    /// Records that `device` was seen at `now` (e.g. from the relay's list).
    pub fn touch(&mut self, device: &DeviceId, now: u64) {
        if let Some(m) = self.members.get_mut(device) {
            m.last_seen = Some(m.last_seen.map_or(now, |t| t.max(now)));
        }
    }

    /// Replaces this device's own token (after a refresh it received).
    pub fn set_my_token(&mut self, token: SessionToken, now: u64) -> Result<()> {
        if token.subject_device() != self.me {
            return Err(Error::WrongSubject);
        }
        self.refresh_token(token, now).map(|_| ())
    }

    /// The members to hand a new device in its welcome (revoked ones without
    /// their old tokens, which it does not need).
    pub(crate) fn welcome_members(&self) -> Vec<Member> {
        self.members
            .values()
            .map(|m| Member {
                token: if m.is_active() { m.token.clone() } else { None },
                ..m.clone()
            })
            .collect()
    }
}

fn seal_key(shared: &[u8; 32], eph: &[u8; 32], recipient: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(eph);
    salt[32..].copy_from_slice(recipient);
    let hk = Hkdf::<Sha256>::new(Some(&salt), shared);
    let mut out = Zeroizing::new([0u8; 32]);
    hk.expand(SEAL_INFO, out.as_mut_slice())
        .expect("32 bytes is a valid HKDF length");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn debug_never_shows_the_group_key() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let me = IdentityKey::generate(&mut rng);
        let g = Group::found(&me, "phone", "ws://127.0.0.1:1/v1/ws", 1, &mut rng).unwrap();
        let key = g.current_key().unwrap();
        let secret = crate::wire::b64_encode(key.key.as_slice());
        let json = serde_json::to_string(&g).unwrap();
        assert!(
            json.contains(&secret),
            "the key is stored (inside the vault)"
        );
        for dbg in [format!("{g:?}"), format!("{key:?}"), format!("{me:?}")] {
            assert!(!dbg.contains(&secret), "{dbg}");
            assert!(!dbg.contains(&hex::encode(key.key.as_slice())), "{dbg}");
        }
        assert!(check_name("a\u{7}b").is_err());
        assert!(check_name(&"x".repeat(65)).is_err());
    }
}
