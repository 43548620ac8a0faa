//! Session tokens: the approving device's signed statement that another
//! device belongs to the group.
//!
//! Binary layout (big-endian), signed with Ed25519 over
//! `u16 len || "tandem/session-token/v1" || body`:
//!
//! ```text
//! body = version u8 (=1) | token id [16] | group id [16] | issuer pk [32]
//!      | subject pk [32] | subject x25519 pk [32] | capabilities u32
//!      | issued_at u64 | expires_at u64
//! token = body | signature [64]
//! ```

use rand_core::CryptoRngCore;

use crate::identity::{EncryptionPublic, GroupId, IdentityKey, IdentityPublic, Signature, TokenId};
use crate::wire::{Reader, Writer};
use crate::{DeviceId, Error, Result, MAX_CLOCK_SKEW_SECS, PROTOCOL_VERSION};

const DOMAIN: &[u8] = b"tandem/session-token/v1";
const WHAT: &str = "session token";
/// Encoded length of a token.
pub const TOKEN_LEN: usize = 1 + 16 + 16 + 32 + 32 + 32 + 4 + 8 + 8 + 64;
/// Default lifetime: 30 days.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 30 * 24 * 3600;

/// What a paired device may do, as bit flags.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, Debug, Default, serde::Serialize, serde::Deserialize,
)]
pub struct Capabilities(pub u32);

impl core::ops::BitOr for Capabilities {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl Capabilities {
    /// Send and receive group messages (sync, requests).
    pub const MESSAGE: Self = Self(1);
    /// Ask other devices to sign.
    pub const REQUEST_SIGNATURE: Self = Self(1 << 1);
    /// Approve new devices.
    pub const APPROVE: Self = Self(1 << 2);
    /// Revoke devices and tokens.
    pub const REVOKE: Self = Self(1 << 3);
    /// Everything a full member may do.
    pub const ALL: Self = Self(0b1111);

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

/// A signed, verified session token. A value of this type always carries a
/// valid issuer signature (checked when decoded); expiry is checked with
/// [`SessionToken::check`] because it depends on the clock.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SessionToken {
    id: TokenId,
    group: GroupId,
    issuer: IdentityPublic,
    subject: IdentityPublic,
    subject_encryption: EncryptionPublic,
    capabilities: Capabilities,
    issued_at: u64,
    expires_at: u64,
    signature: Signature,
}

/// The fields of a token to be issued.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    /// Group the subject joins.
    pub group: GroupId,
    /// The new device's identity key.
    pub subject: IdentityPublic,
    /// The new device's X25519 key.
    pub subject_encryption: EncryptionPublic,
    /// What it may do.
    pub capabilities: Capabilities,
    /// Lifetime in seconds ([`DEFAULT_TOKEN_LIFETIME_SECS`] by default).
    pub lifetime_secs: u64,
}

impl SessionToken {
    /// Issues and signs a token with a fresh random id.
    pub fn issue(
        issuer: &IdentityKey,
        req: &TokenRequest,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Self {
        let mut t = Self {
            id: TokenId::random(rng),
            group: req.group,
            issuer: issuer.public(),
            subject: req.subject,
            subject_encryption: req.subject_encryption,
            capabilities: req.capabilities,
            issued_at: now,
            expires_at: now.saturating_add(req.lifetime_secs),
            signature: Signature([0; 64]),
        };
        t.signature = issuer.sign(&t.signed_message());
        t
    }

    /// A new token for the same device and capabilities, valid `lifetime_secs`
    /// from `now`, issued by `issuer` (any active member). It has a new id.
    pub fn refresh(
        &self,
        issuer: &IdentityKey,
        lifetime_secs: u64,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Self {
        Self::issue(
            issuer,
            &TokenRequest {
                group: self.group,
                subject: self.subject,
                subject_encryption: self.subject_encryption,
                capabilities: self.capabilities,
                lifetime_secs,
            },
            now,
            rng,
        )
    }

    fn body(&self) -> Writer {
        let mut w = Writer::default();
        w.u8(PROTOCOL_VERSION)
            .raw(&self.id.0)
            .raw(&self.group.0)
            .raw(&self.issuer.0)
            .raw(&self.subject.0)
            .raw(&self.subject_encryption.0)
            .u32(self.capabilities.0)
            .u64(self.issued_at)
            .u64(self.expires_at);
        w
    }

    fn signed_message(&self) -> Vec<u8> {
        let mut w = Writer::with_domain(DOMAIN);
        w.raw(&self.body().0);
        w.0
    }

    /// The canonical binary encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = self.body();
        w.raw(&self.signature.0);
        w.0
    }

    /// Parses and verifies the issuer's signature. Does not check expiry.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::versioned(WHAT, bytes, TOKEN_LEN)?;
        let t = Self {
            id: TokenId(r.array()?),
            group: GroupId(r.array()?),
            issuer: IdentityPublic(r.array()?),
            subject: IdentityPublic(r.array()?),
            subject_encryption: EncryptionPublic(r.array()?),
            capabilities: Capabilities(r.u32()?),
            issued_at: r.u64()?,
            expires_at: r.u64()?,
            signature: Signature(r.array()?),
        };
        r.finish()?;
        if t.expires_at < t.issued_at {
            return Err(Error::malformed(WHAT, "expires before it was issued"));
        }
        t.issuer.verify(WHAT, &t.signed_message(), &t.signature)?;
        Ok(t)
    }

    /// Base64url text form (used in JSON frames and on disk).
    pub fn to_b64(&self) -> String {
        crate::wire::b64_encode(&self.encode())
    }

    /// Parses the base64url text form and verifies the signature.
    pub fn from_b64(text: &str) -> Result<Self> {
        Self::decode(&crate::wire::b64_decode(WHAT, text)?)
    }

    /// Fails if expired at `now` or issued more than the allowed clock skew in
    /// the future.
    pub fn check(&self, now: u64) -> Result<()> {
        if now >= self.expires_at {
            return Err(Error::TokenExpired {
                ago_secs: now - self.expires_at,
            });
        }
        if self.issued_at > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
            return Err(Error::FromTheFuture(WHAT));
        }
        Ok(())
    }

    /// [`Self::check`], and that the token was issued to `identity`.
    pub fn check_for(&self, identity: &IdentityPublic, now: u64) -> Result<()> {
        if &self.subject != identity {
            return Err(Error::WrongSubject);
        }
        self.check(now)
    }

    /// Token id.
    pub fn id(&self) -> TokenId {
        self.id
    }
    /// Group the subject belongs to.
    pub fn group(&self) -> GroupId {
        self.group
    }
    /// The approving device's identity key.
    pub fn issuer(&self) -> IdentityPublic {
        self.issuer
    }
    /// The approving device's id.
    pub fn issuer_device(&self) -> DeviceId {
        self.issuer.device_id()
    }
    /// The paired device's identity key.
    pub fn subject(&self) -> IdentityPublic {
        self.subject
    }
    /// The paired device's id.
    pub fn subject_device(&self) -> DeviceId {
        self.subject.device_id()
    }
    /// The paired device's X25519 key.
    pub fn subject_encryption(&self) -> EncryptionPublic {
        self.subject_encryption
    }
    /// Capabilities granted.
    pub fn capabilities(&self) -> Capabilities {
        self.capabilities
    }
    /// Issue time (Unix seconds).
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }
    /// Expiry time (Unix seconds).
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

impl serde::Serialize for SessionToken {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_b64())
    }
}

impl<'de> serde::Deserialize<'de> for SessionToken {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::from_b64(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn setup() -> (IdentityKey, IdentityKey, SessionToken) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let phone = IdentityKey::generate(&mut rng);
        let desk = IdentityKey::generate(&mut rng);
        let group = GroupId::founded(&phone.public(), &[1; 16]);
        let t = SessionToken::issue(
            &phone,
            &TokenRequest {
                group,
                subject: desk.public(),
                subject_encryption: desk.encryption_public(),
                capabilities: Capabilities::ALL,
                lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS,
            },
            1_000,
            &mut rng,
        );
        (phone, desk, t)
    }

    #[test]
    fn roundtrip_and_checks() {
        let (phone, desk, t) = setup();
        let back = SessionToken::decode(&t.encode()).unwrap();
        assert_eq!(back, t);
        assert_eq!(t.encode().len(), TOKEN_LEN);
        assert_eq!(TOKEN_LEN, 213, "docs/protocol.md §2");
        assert_eq!(SessionToken::from_b64(&t.to_b64()).unwrap(), t);
        assert_eq!(t.issuer_device(), phone.device_id());
        t.check_for(&desk.public(), 2_000).unwrap();
        assert_eq!(
            t.check_for(&phone.public(), 2_000),
            Err(Error::WrongSubject)
        );
        let exp = t.expires_at();
        assert_eq!(t.check(exp + 5), Err(Error::TokenExpired { ago_secs: 5 }));
        assert_eq!(t.check(0).unwrap_err().kind(), "from_the_future");
    }

    #[test]
    fn every_flipped_byte_is_rejected() {
        let (_, _, t) = setup();
        let bytes = t.encode();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            assert!(SessionToken::decode(&b).is_err(), "byte {i}");
        }
        assert!(SessionToken::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(SessionToken::decode(&long).unwrap_err().kind(), "too_large");
    }

    #[test]
    fn refresh_extends_with_new_id() {
        let (phone, _, t) = setup();
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
        let r = t.refresh(&phone, 100, 5_000, &mut rng);
        assert_ne!(r.id(), t.id());
        assert_eq!(r.subject(), t.subject());
        assert_eq!(r.expires_at(), 5_100);
    }
}
