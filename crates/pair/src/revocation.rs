//! Revocation records: an active member's signed statement that a device or
//! a token is no longer part of the group.
//!
//! The records of a group form one hash chain: each names its position
//! (`seq`, 1-based) and the id of the record before it (`prev`, all zero for
//! the first). Position `n` also names group key epoch `n`: the device in
//! `rotator` makes that key and seals it to every remaining device. Order is
//! therefore fixed by the chain (the relay accepts a record only at the
//! group's current head, devices apply records only in chain order), never
//! by `issued_at`, which the signer chooses and which is shown, not trusted.
//!
//! Binary layout (big-endian), signed with Ed25519 over
//! `u16 len || "tandem/revocation/v2" || body`:
//!
//! ```text
//! body = version u8 (=2) | group id [16] | issuer pk [32]
//!      | target kind u8 (1 = device, 2 = token) | target id [16]
//!      | rotator device id [16] (all zero: nobody is left to rotate)
//!      | seq u32 | prev record id [16] | issued_at u64
//!      | reason u8 (low 7 bits; the high bit asks the revoked device to
//!        erase its wallet too)
//! record = body | signature [64]                                   (175 bytes)
//! ```

use sha2::{Digest, Sha256};

use crate::identity::{GroupId, IdentityKey, IdentityPublic, Signature, TokenId};
use crate::wire::{hex_id, Reader, Writer};
use crate::{DeviceId, Error, Result, MAX_CLOCK_SKEW_SECS, PROTOCOL_VERSION};

const DOMAIN: &[u8] = b"tandem/revocation/v2";
const WHAT: &str = "revocation record";
/// High bit of the reason byte: erase the revoked device's wallet too.
const ERASE_BIT: u8 = 0x80;
/// Encoded length of a record.
pub const REVOCATION_LEN: usize = 1 + 16 + 32 + 1 + 16 + 16 + 4 + 16 + 8 + 1 + 64;

hex_id!(
    /// Content id of a revocation record (first 16 bytes of SHA-256 of its
    /// encoding): deduplicates fan-out copies and links the chain.
    RevocationId,
    16,
    "revocation id"
);

impl RevocationId {
    /// The `prev` of the first record of a chain.
    pub const NONE: Self = Self([0; 16]);
}

/// What is revoked.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationTarget {
    /// A device and every token it holds.
    Device(DeviceId),
    /// One session token.
    Token(TokenId),
}

/// Why (shown in device lists; not security-relevant).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RevocationReason {
    /// No reason given.
    Unspecified,
    /// The device was lost.
    Lost,
    /// The device was stolen or its keys may be known to someone else.
    Compromised,
    /// The device is no longer used.
    Retired,
}

impl RevocationReason {
    fn to_u8(self) -> u8 {
        match self {
            Self::Unspecified => 0,
            Self::Lost => 1,
            Self::Compromised => 2,
            Self::Retired => 3,
        }
    }
    fn from_u8(v: u8) -> Result<Self> {
        Ok(match v {
            0 => Self::Unspecified,
            1 => Self::Lost,
            2 => Self::Compromised,
            3 => Self::Retired,
            _ => return Err(Error::malformed(WHAT, format!("unknown reason {v}"))),
        })
    }
}

impl RevocationReason {
    /// The word for it (as `FromStr` reads it back).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Lost => "lost",
            Self::Compromised => "compromised",
            Self::Retired => "retired",
        }
    }
}

impl core::str::FromStr for RevocationReason {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "unspecified" => Self::Unspecified,
            "lost" => Self::Lost,
            "compromised" => Self::Compromised,
            "retired" => Self::Retired,
            _ => {
                return Err(Error::malformed(
                    "revocation reason",
                    "use one of: lost, compromised, retired, unspecified",
                ))
            }
        })
    }
}

/// A signed, verified revocation record. A value of this type always carries
/// a valid signature by `issuer`; whether the issuer is an active member of
/// the group is for the verifier (relay or device) to check.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RevocationRecord {
    group: GroupId,
    issuer: IdentityPublic,
    target: RevocationTarget,
    rotator: Option<DeviceId>,
    seq: u32,
    prev: RevocationId,
    issued_at: u64,
    reason: RevocationReason,
    erase: bool,
    signature: Signature,
}

/// The fields of a record to be issued (see [`RevocationRecord::issue`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RevocationRequest {
    /// Group.
    pub group: GroupId,
    /// What is revoked.
    pub target: RevocationTarget,
    /// The device that makes the next group key: the issuer itself, or, when
    /// the issuer revokes itself, a remaining member it names (`None` when
    /// nobody remains).
    pub rotator: Option<DeviceId>,
    /// Position in the group's chain (1 for the first record).
    pub seq: u32,
    /// Id of the record at `seq - 1` ([`RevocationId::NONE`] for the first).
    pub prev: RevocationId,
    /// Why.
    pub reason: RevocationReason,
    /// Ask the revoked device to erase its wallet too (for a lost or
    /// compromised device; only lost and compromised allow it).
    pub erase: bool,
}

impl RevocationRecord {
    /// Creates and signs a record. Whether it fits the group's chain is for
    /// the group ([`crate::Group::revoke`] fills the request) and the relay.
    pub fn issue(issuer: &IdentityKey, req: &RevocationRequest, now: u64) -> Self {
        let mut r = Self {
            group: req.group,
            issuer: issuer.public(),
            target: req.target,
            rotator: req.rotator,
            seq: req.seq,
            prev: req.prev,
            issued_at: now,
            reason: req.reason,
            erase: req.erase,
            signature: Signature([0; 64]),
        };
        r.signature = issuer.sign(&r.signed_message());
        r
    }

    fn body(&self) -> Writer {
        let (kind, id) = match self.target {
            RevocationTarget::Device(d) => (1u8, d.0),
            RevocationTarget::Token(t) => (2u8, t.0),
        };
        let mut w = Writer::default();
        w.u8(PROTOCOL_VERSION)
            .raw(&self.group.0)
            .raw(&self.issuer.0)
            .u8(kind)
            .raw(&id)
            .raw(&self.rotator.map_or([0; 16], |d| d.0))
            .u32(self.seq)
            .raw(&self.prev.0)
            .u64(self.issued_at)
            .u8(self.reason.to_u8() | if self.erase { ERASE_BIT } else { 0 });
        w
    }

    fn signed_message(&self) -> Vec<u8> {
        let mut w = Writer::with_domain(DOMAIN);
        w.raw(&self.body().0);
        w.0
    }

    /// Canonical binary encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = self.body();
        w.raw(&self.signature.0);
        w.0
    }

    /// Parses and verifies the signature.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::versioned(WHAT, bytes, REVOCATION_LEN)?;
        let group = GroupId(r.array()?);
        let issuer = IdentityPublic(r.array()?);
        let kind = r.u8()?;
        let id: [u8; 16] = r.array()?;
        let target = match kind {
            1 => RevocationTarget::Device(DeviceId(id)),
            2 => RevocationTarget::Token(TokenId(id)),
            k => return Err(Error::malformed(WHAT, format!("unknown target kind {k}"))),
        };
        let rotator: [u8; 16] = r.array()?;
        let rotator = (rotator != [0; 16]).then_some(DeviceId(rotator));
        let seq = r.u32()?;
        let prev = RevocationId(r.array()?);
        if seq == 0 {
            return Err(Error::malformed(
                WHAT,
                "chain position 0 (the first record is 1)",
            ));
        }
        if (seq == 1) != (prev == RevocationId::NONE) {
            return Err(Error::malformed(
                WHAT,
                "only the first record of a chain has no previous record",
            ));
        }
        let issued_at = r.u64()?;
        let reason_byte = r.u8()?;
        let reason = RevocationReason::from_u8(reason_byte & !ERASE_BIT)?;
        let erase = reason_byte & ERASE_BIT != 0;
        if erase
            && !matches!(
                reason,
                RevocationReason::Lost | RevocationReason::Compromised
            )
        {
            return Err(Error::malformed(
                WHAT,
                "only a lost or compromised device is asked to erase its wallet",
            ));
        }
        let rec = Self {
            group,
            issuer,
            target,
            rotator,
            seq,
            prev,
            issued_at,
            reason,
            erase,
            signature: Signature(r.array()?),
        };
        r.finish()?;
        rec.issuer
            .verify(WHAT, &rec.signed_message(), &rec.signature)?;
        Ok(rec)
    }

    /// Base64url text form.
    pub fn to_b64(&self) -> String {
        crate::wire::b64_encode(&self.encode())
    }

    /// Parses the base64url text form and verifies the signature.
    pub fn from_b64(text: &str) -> Result<Self> {
        Self::decode(&crate::wire::b64_decode(WHAT, text)?)
    }

    /// Rejects records dated beyond the allowed clock skew in the future.
    /// (Revocations never expire; `issued_at` is for display only.)
    pub fn check(&self, now: u64) -> Result<()> {
        if self.issued_at > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
            return Err(Error::FromTheFuture(WHAT));
        }
        Ok(())
    }

    /// Content id.
    pub fn id(&self) -> RevocationId {
        let h: [u8; 32] = Sha256::digest(self.encode()).into();
        RevocationId(h[..16].try_into().expect("32 > 16"))
    }
    /// Group.
    pub fn group(&self) -> GroupId {
        self.group
    }
    /// Who signed it.
    pub fn issuer(&self) -> IdentityPublic {
        self.issuer
    }
    /// The signer's device id.
    pub fn issuer_device(&self) -> DeviceId {
        self.issuer.device_id()
    }
    /// What is revoked.
    pub fn target(&self) -> RevocationTarget {
        self.target
    }
    /// Whether the issuer revokes its own device (leaves the group). A
    /// record revoking the issuer's own current *token* also makes it leave;
    /// only the group (which knows whose token that is) can tell.
    pub fn is_self_revocation(&self) -> bool {
        self.target == RevocationTarget::Device(self.issuer_device())
    }
    /// The device that makes group key epoch [`Self::seq`].
    pub fn rotator(&self) -> Option<DeviceId> {
        self.rotator
    }
    /// Position in the group's chain (1-based); also the key epoch it opens.
    pub fn seq(&self) -> u32 {
        self.seq
    }
    /// Id of the record before it in the chain.
    pub fn prev(&self) -> RevocationId {
        self.prev
    }
    /// When, by the issuer's clock (Unix seconds). Shown, never used to order.
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }
    /// Why.
    pub fn reason(&self) -> RevocationReason {
        self.reason
    }
    /// Whether the revoked device is asked to erase its wallet too.
    pub fn erase(&self) -> bool {
        self.erase
    }
}

impl serde::Serialize for RevocationRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_b64())
    }
}

impl<'de> serde::Deserialize<'de> for RevocationRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::from_b64(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn roundtrip_tamper_and_future() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let phone = IdentityKey::generate(&mut rng);
        let lost = IdentityKey::generate(&mut rng);
        let g = GroupId::founded(&phone.public(), &[2; 16]);
        let req = RevocationRequest {
            group: g,
            target: RevocationTarget::Device(lost.device_id()),
            rotator: Some(phone.device_id()),
            seq: 1,
            prev: RevocationId::NONE,
            reason: RevocationReason::Lost,
            erase: false,
        };
        let rec = RevocationRecord::issue(&phone, &req, 10_000);
        let bytes = rec.encode();
        assert_eq!(bytes.len(), REVOCATION_LEN);
        assert_eq!(REVOCATION_LEN, 175, "docs/protocol.md §3");
        assert_eq!(
            (rec.seq(), rec.prev(), rec.rotator()),
            (1, RevocationId::NONE, Some(phone.device_id()))
        );
        // Chain positions must be consistent with `prev`.
        for (seq, prev) in [
            (0, RevocationId::NONE),
            (2, RevocationId::NONE),
            (1, RevocationId([1; 16])),
        ] {
            let bad =
                RevocationRecord::issue(&phone, &RevocationRequest { seq, prev, ..req }, 10_000);
            assert_eq!(
                RevocationRecord::decode(&bad.encode()).unwrap_err().kind(),
                "malformed",
                "{seq}"
            );
        }
        let leaving = RevocationRecord::issue(
            &lost,
            &RevocationRequest {
                target: RevocationTarget::Device(lost.device_id()),
                rotator: None,
                seq: 2,
                prev: rec.id(),
                ..req
            },
            10_001,
        );
        // The erase request rides in the reason byte's high bit, signed.
        let erasing =
            RevocationRecord::issue(&phone, &RevocationRequest { erase: true, ..req }, 10_000);
        let back = RevocationRecord::decode(&erasing.encode()).unwrap();
        assert!(back.erase() && back.reason() == RevocationReason::Lost);
        assert!(!rec.erase());
        let retired = RevocationRecord::issue(
            &phone,
            &RevocationRequest {
                erase: true,
                reason: RevocationReason::Retired,
                ..req
            },
            10_000,
        );
        assert_eq!(
            RevocationRecord::decode(&retired.encode())
                .unwrap_err()
                .kind(),
            "malformed"
        );
        let back = RevocationRecord::decode(&leaving.encode()).unwrap();
        assert!(back.is_self_revocation() && back.rotator().is_none() && back.prev() == rec.id());
        assert_eq!(RevocationRecord::decode(&bytes).unwrap(), rec);
        assert_eq!(
            RevocationRecord::from_b64(&rec.to_b64()).unwrap().id(),
            rec.id()
        );
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x80;
            assert!(RevocationRecord::decode(&b).is_err(), "byte {i}");
        }
        rec.check(10_000).unwrap();
        assert_eq!(rec.check(1).unwrap_err().kind(), "from_the_future");
        let json = serde_json::to_string(&rec).unwrap();
        assert_eq!(
            serde_json::from_str::<RevocationRecord>(&json).unwrap(),
            rec
        );
    }
}
