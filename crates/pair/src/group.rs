//! The group: one user's paired devices, their shared group key, group
//! messages, revocation and key rotation.
//!
//! Group messages are `Group` envelopes on the group topic, encrypted under a
//! per-sender key `HKDF-SHA256(salt = group id, ikm = group key,
//! info = "tandem/group/v1/sender" ‖ sender id ‖ epoch)` and signed by the
//! sender. A revocation rotates the key: the revoking device makes a fresh
//! key (epoch + 1) and seals it to each remaining device's X25519 key in a
//! `KeyUpdate` envelope; the revoked device never receives it.

use std::collections::BTreeMap;

use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::envelope::{Envelope, EnvelopeKind, Header, ReplayGuard, SequenceCounter};
use crate::frame::Membership;
use crate::identity::{EncryptionPublic, GroupId, IdentityKey, IdentityPublic, TokenId, Topic};
use crate::revocation::{RevocationId, RevocationReason, RevocationRecord, RevocationTarget};
use crate::token::SessionToken;
use crate::wire::{Bytes, Reader, Writer};
use crate::{DeviceId, Error, Result};

const SENDER_INFO: &[u8] = b"tandem/group/v1/sender";
const SEAL_INFO: &[u8] = b"tandem/seal/v1";
/// Longest device name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;

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

impl GroupKey {
    /// A fresh random key for `epoch`.
    pub fn generate(epoch: u32, rng: &mut impl CryptoRngCore) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(key.as_mut_slice());
        Self { epoch, key }
    }

    /// Epoch number (0 at founding, +1 per rotation).
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
    /// Set once revoked.
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
}

/// The application-level content of a group message.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[allow(clippy::large_enum_variant)] // short-lived, never stored in bulk
pub enum GroupPayload {
    /// An approving device announces a newly paired device to the others.
    MemberAdded {
        /// The new device's token (issued by the sender).
        token: SessionToken,
        /// Its name.
        name: String,
    },
    /// Application data (sync, requests); opaque to this crate.
    App {
        /// Bytes.
        data: Bytes,
    },
}

/// A group message that passed every check.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Received {
    /// Sender.
    pub from: DeviceId,
    /// Content.
    pub payload: GroupPayload,
}

/// Output of [`Group::revoke`].
#[derive(Clone, Debug)]
pub struct Revocation {
    /// The signed record to hand to the relay.
    pub record: RevocationRecord,
    /// One `KeyUpdate` envelope per remaining device, to publish to it.
    pub key_updates: Vec<(DeviceId, Vec<u8>)>,
}

/// This device's view of its group. Contains the group key: store it only
/// inside the vault.
#[derive(Clone, Serialize, Deserialize)]
pub struct Group {
    id: GroupId,
    me: DeviceId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    founder_salt: Option<String>,
    key: GroupKey,
    members: BTreeMap<DeviceId, Member>,
    revoked_tokens: Vec<TokenId>,
    send: SequenceCounter,
    recv: BTreeMap<DeviceId, (u32, ReplayGuard)>,
}

impl core::fmt::Debug for Group {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Group")
            .field("id", &self.id)
            .field("me", &self.me)
            .field("key", &self.key)
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
    /// Founds a new group with this device as its only member.
    pub fn found(
        me: &IdentityKey,
        name: &str,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Self> {
        check_name(name)?;
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        let id = GroupId::founded(&me.public(), &salt);
        let mut members = BTreeMap::new();
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
            founder_salt: Some(hex::encode(salt)),
            key: GroupKey::generate(0, rng),
            members,
            revoked_tokens: Vec::new(),
            send: SequenceCounter::default(),
            recv: BTreeMap::new(),
        })
    }

    /// Builds the joining device's view from a verified welcome.
    pub(crate) fn joined(me: DeviceId, id: GroupId, key: GroupKey, members: Vec<Member>) -> Self {
        Self {
            id,
            me,
            founder_salt: None,
            key,
            members: members.into_iter().map(|m| (m.device(), m)).collect(),
            revoked_tokens: Vec::new(),
            send: SequenceCounter::default(),
            recv: BTreeMap::new(),
        }
    }

    /// Group id.
    pub fn id(&self) -> GroupId {
        self.id
    }
    /// This device's id.
    pub fn me(&self) -> DeviceId {
        self.me
    }
    /// Current key epoch.
    pub fn epoch(&self) -> u32 {
        self.key.epoch
    }
    /// The group key (for the handshake's welcome).
    pub(crate) fn key(&self) -> &GroupKey {
        &self.key
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

    /// Adds a device from a token issued by an active member (used by the
    /// approver itself and by devices receiving `MemberAdded`).
    pub fn add_member(&mut self, token: SessionToken, name: &str, now: u64) -> Result<DeviceId> {
        check_name(name)?;
        if token.group() != self.id {
            return Err(Error::WrongGroup("session token"));
        }
        token.check(now)?;
        self.active_member(&token.issuer_device())?;
        if self.revoked_tokens.contains(&token.id()) {
            return Err(Error::Revoked(token.subject_device().to_hex()));
        }
        let device = token.subject_device();
        if let Some(m) = self.members.get_mut(&device) {
            if !m.is_active() {
                return Err(Error::Revoked(device.to_hex()));
            }
            // A refreshed token for a known device.
            m.token = Some(token);
            return Ok(device);
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

    /// Encrypts and signs a group message for every other device.
    pub fn seal(&mut self, me: &IdentityKey, payload: &GroupPayload) -> Result<Vec<u8>> {
        if me.device_id() != self.me {
            return Err(Error::WrongSubject);
        }
        self.active_member(&self.me)?;
        let plain = Zeroizing::new(serde_json::to_vec(payload).expect("payload serializes"));
        let header = Header {
            kind: EnvelopeKind::Group,
            topic: self.topic(),
            sender: self.me,
            epoch: self.key.epoch,
            seq: self.send.take()?,
        };
        let key = self.key.sender_key(&self.id, &self.me);
        Ok(Envelope::seal(&key, header, &plain).sign(me).encode())
    }

    /// Verifies, decrypts and replay-checks a group message; applies
    /// `MemberAdded` to the member list.
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
        if h.epoch != self.key.epoch {
            return Err(Error::WrongEpoch {
                got: h.epoch,
                have: self.key.epoch,
            });
        }
        let plain = env.open(&self.key.sender_key(&self.id, &h.sender))?;
        let payload: GroupPayload = serde_json::from_slice(&plain)
            .map_err(|e| Error::malformed("group message", e.to_string()))?;
        let entry = self
            .recv
            .entry(h.sender)
            .or_insert((h.epoch, ReplayGuard::default()));
        if entry.0 != h.epoch {
            *entry = (h.epoch, ReplayGuard::default());
        }
        entry.1.accept(h.seq)?;
        if let GroupPayload::MemberAdded { token, name } = &payload {
            if token.issuer_device() != h.sender {
                return Err(Error::BadSignature("member announcement"));
            }
            self.add_member(token.clone(), name, now)?;
        }
        if let Some(m) = self.members.get_mut(&h.sender) {
            m.last_seen = Some(now);
        }
        Ok(Received {
            from: h.sender,
            payload,
        })
    }

    /// Applies a revocation record from anyone (relay fan-out or a peer):
    /// the issuer must be an active member of this group. Returns whether
    /// anything changed.
    pub fn apply_revocation(&mut self, record: &RevocationRecord, now: u64) -> Result<bool> {
        if record.group() != self.id {
            return Err(Error::WrongGroup("revocation record"));
        }
        record.check(now)?;
        let issuer = record.issuer_device();
        let issuer_member = self
            .members
            .get(&issuer)
            .ok_or(Error::NotMember(issuer.to_hex()))?;
        if issuer_member.identity != record.issuer() {
            return Err(Error::NotMember(issuer.to_hex()));
        }
        // A revoked device's later records are void; records it signed before
        // its own revocation (e.g. the one we are replaying) stay valid.
        if let Some(r) = &issuer_member.revoked {
            if record.issued_at() >= r.issued_at() && r != record {
                return Err(Error::Revoked(issuer.to_hex()));
            }
        }
        match record.target() {
            RevocationTarget::Device(d) => {
                let m = self
                    .members
                    .get_mut(&d)
                    .ok_or(Error::NotMember(d.to_hex()))?;
                if m.revoked.is_some() {
                    return Ok(false);
                }
                m.revoked = Some(record.clone());
                Ok(true)
            }
            RevocationTarget::Token(t) => {
                if self.revoked_tokens.contains(&t) {
                    return Ok(false);
                }
                self.revoked_tokens.push(t);
                let holder = self
                    .members
                    .values_mut()
                    .find(|m| m.token.as_ref().is_some_and(|tok| tok.id() == t));
                if let Some(m) = holder {
                    m.revoked = Some(record.clone());
                }
                Ok(true)
            }
        }
    }

    /// Revokes a device (or token), rotates the group key and seals the new
    /// key to every remaining device. Publish the record to the relay
    /// (`revoke` frame) and each key update to its device.
    pub fn revoke(
        &mut self,
        me: &IdentityKey,
        target: RevocationTarget,
        reason: RevocationReason,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Revocation> {
        if me.device_id() != self.me {
            return Err(Error::WrongSubject);
        }
        self.active_member(&self.me)?;
        let record = RevocationRecord::issue(me, self.id, target, reason, now);
        if !self.apply_revocation(&record, now)? {
            return Err(Error::Revoked(match target {
                RevocationTarget::Device(d) => d.to_hex(),
                RevocationTarget::Token(t) => t.to_hex(),
            }));
        }
        let key_updates = if self.is_active(&self.me) {
            self.rotate(me, record.id(), rng)?
        } else {
            // A device revoking itself leaves; the others rotate when they
            // see the record (see `needs_rotation`).
            Vec::new()
        };
        Ok(Revocation {
            record,
            key_updates,
        })
    }

    /// Whether this device must rotate the key after applying `record`: the
    /// revoking device revoked itself (so it did not rotate), and this device
    /// is the remaining active member with the lowest id (exactly one rotates).
    pub fn must_rotate_after(&self, record: &RevocationRecord) -> bool {
        let self_revoked = record.target() == RevocationTarget::Device(record.issuer_device());
        let lowest_active = self
            .members
            .values()
            .filter(|m| m.is_active())
            .map(Member::device)
            .min();
        self_revoked && lowest_active == Some(self.me)
    }

    /// Makes a new group key (epoch + 1) and seals it to every other active
    /// device. Also used by a remaining device after a self-revocation.
    pub fn rotate(
        &mut self,
        me: &IdentityKey,
        reason: RevocationId,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<(DeviceId, Vec<u8>)>> {
        let epoch = self
            .key
            .epoch
            .checked_add(1)
            .ok_or(Error::SequenceExhausted)?;
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
                .raw(&reason.0);
            let plain = Zeroizing::new(w.0);
            let header = Header {
                kind: EnvelopeKind::KeyUpdate,
                topic: Topic::device(&device),
                sender: self.me,
                epoch,
                seq: self.send.take()?,
            };
            let eph = x25519_dalek::EphemeralSecret::random_from_rng(&mut *rng);
            let eph_pub = x25519_dalek::PublicKey::from(&eph);
            let shared = eph.diffie_hellman(&x25519_dalek::PublicKey::from(enc.0));
            let key = seal_key(shared.as_bytes(), eph_pub.as_bytes(), &enc.0);
            let sealed = Envelope::seal(&key, header, &plain);
            let mut body = eph_pub.as_bytes().to_vec();
            body.extend_from_slice(&sealed.body);
            let env = Envelope {
                header,
                body,
                signature: None,
            }
            .sign(me);
            out.push((device, env.encode()));
        }
        self.key = new_key;
        self.recv.clear();
        Ok(out)
    }

    /// Opens a `KeyUpdate` addressed to this device; adopts the new key if
    /// it comes from an active member and is newer. Returns the new epoch.
    pub fn open_key_update(&mut self, me: &IdentityKey, bytes: &[u8]) -> Result<u32> {
        let env = Envelope::decode(bytes)?;
        let h = env.header;
        if h.kind != EnvelopeKind::KeyUpdate {
            return Err(Error::UnexpectedMessage("not a key update"));
        }
        if h.topic != Topic::device(&self.me) || me.device_id() != self.me {
            return Err(Error::UnexpectedMessage("key update for another device"));
        }
        let sender = self.active_member(&h.sender)?.identity;
        env.verify(&sender)?;
        if h.epoch <= self.key.epoch {
            return Err(Error::Replay {
                seq: u64::from(h.epoch),
                last: u64::from(self.key.epoch),
            });
        }
        if env.body.len() < 32 {
            return Err(Error::malformed("key update", "too short"));
        }
        let (eph, ct) = env.body.split_at(32);
        let eph: [u8; 32] = eph.try_into().expect("32 bytes");
        let secret = me.encryption_secret();
        let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(eph));
        let key = seal_key(shared.as_bytes(), &eph, &me.encryption_public().0);
        let inner = Envelope {
            header: h,
            body: ct.to_vec(),
            signature: None,
        };
        let plain = inner.open(&key)?;
        let mut r = Reader::new("key update", &plain);
        let group = GroupId(r.array()?);
        let epoch = r.u32()?;
        let k: Zeroizing<[u8; 32]> = Zeroizing::new(r.array()?);
        let _reason: [u8; 16] = r.array()?;
        r.finish()?;
        if group != self.id {
            return Err(Error::WrongGroup("key update"));
        }
        if epoch != h.epoch {
            return Err(Error::Tampered);
        }
        self.key = GroupKey { epoch, key: k };
        self.recv.clear();
        Ok(epoch)
    }

    /// Records that `device` was seen at `now` (e.g. from the relay's list).
    pub fn touch(&mut self, device: &DeviceId, now: u64) {
        if let Some(m) = self.members.get_mut(device) {
            m.last_seen = Some(m.last_seen.map_or(now, |t| t.max(now)));
        }
    }

    /// Replaces this device's own token (after a refresh).
    pub fn set_my_token(&mut self, token: SessionToken) -> Result<()> {
        let me = self
            .members
            .get_mut(&self.me)
            .ok_or_else(|| Error::malformed("group state", "this device is not in its group"))?;
        if token.subject() != me.identity || token.group() != self.id {
            return Err(Error::WrongSubject);
        }
        me.token = Some(token);
        Ok(())
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
        let g = Group::found(&me, "phone", 1, &mut rng).unwrap();
        let secret = crate::wire::b64_encode(g.key.key.as_slice());
        let json = serde_json::to_string(&g).unwrap();
        assert!(
            json.contains(&secret),
            "the key is stored (inside the vault)"
        );
        for dbg in [format!("{g:?}"), format!("{:?}", g.key), format!("{me:?}")] {
            assert!(!dbg.contains(&secret), "{dbg}");
            assert!(!dbg.contains(&hex::encode(g.key.key.as_slice())), "{dbg}");
        }
        assert!(check_name("a\u{7}b").is_err());
    }

    #[test]
    fn self_revocation_makes_exactly_one_remaining_device_rotate() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(10);
        let keys: Vec<IdentityKey> = (0..3).map(|_| IdentityKey::generate(&mut rng)).collect();
        let mut founder = Group::found(&keys[0], "a", 1, &mut rng).unwrap();
        for k in &keys[1..] {
            let t = SessionToken::issue(
                &keys[0],
                &crate::token::TokenRequest {
                    group: founder.id(),
                    subject: k.public(),
                    subject_encryption: k.encryption_public(),
                    capabilities: crate::Capabilities::ALL,
                    lifetime_secs: 1000,
                },
                1,
                &mut rng,
            );
            founder.add_member(t, "m", 1).unwrap();
        }
        // Every device's view, as if each had the same roster.
        let views: Vec<Group> = keys
            .iter()
            .map(|k| {
                let mut g = founder.clone();
                g.me = k.device_id();
                g
            })
            .collect();
        // Device 2 retires itself.
        let mut leaving = views[2].clone();
        let rev = leaving
            .revoke(
                &keys[2],
                RevocationTarget::Device(keys[2].device_id()),
                RevocationReason::Retired,
                5,
                &mut rng,
            )
            .unwrap();
        assert!(
            rev.key_updates.is_empty(),
            "a leaving device does not rotate"
        );
        let mut rotating = 0;
        for (i, v) in views.iter().enumerate().take(2) {
            let mut v = v.clone();
            assert_eq!(v.apply_revocation(&rev.record, 6), Ok(true));
            if v.must_rotate_after(&rev.record) {
                rotating += 1;
                let ups = v.rotate(&keys[i], rev.record.id(), &mut rng).unwrap();
                assert_eq!(ups.len(), 1, "only the other remaining device");
            }
        }
        assert_eq!(rotating, 1);
        // A revocation of someone else never triggers this.
        let other = RevocationRecord::issue(
            &keys[0],
            founder.id(),
            RevocationTarget::Device(keys[1].device_id()),
            RevocationReason::Lost,
            7,
        );
        assert!(!views[0].must_rotate_after(&other));
        assert!(check_name(&"x".repeat(65)).is_err());
    }
}
