//! Device identity (Ed25519), the X25519 key derived from it, and the public
//! identifiers every other structure refers to.

use core::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::wire::{b64_id, hex_id};
use crate::{Error, Result};

const DEVICE_ID_DOMAIN: &[u8] = b"tandem/device-id/v1";
const GROUP_ID_DOMAIN: &[u8] = b"tandem/group-id/v1";
const TOPIC_GROUP_DOMAIN: &[u8] = b"tandem/topic/group/v1";
const TOPIC_DEVICE_DOMAIN: &[u8] = b"tandem/topic/device/v1";
const X25519_INFO: &[u8] = b"tandem/device-x25519/v1";
const APP_DOMAIN: &[u8] = b"tandem/app-signature/v1";

/// What [`IdentityKey::sign_app`] signs: its own domain, then the layer's.
fn app_message(domain: &str, msg: &[u8]) -> Vec<u8> {
    let mut w = crate::wire::Writer::with_domain(APP_DOMAIN);
    w.var(domain.as_bytes()).raw(msg);
    w.0
}

hex_id!(
    /// A device's public id: the first 16 bytes of
    /// SHA-256("tandem/device-id/v1" || Ed25519 public key).
    DeviceId,
    16,
    "device id"
);
hex_id!(
    /// One user's set of paired devices: derived from the founding device's
    /// identity key and a salt it chose ([`GroupId::founded`]).
    GroupId,
    16,
    "group id"
);
hex_id!(
    /// A session token's id (random), the target of a token revocation.
    TokenId,
    16,
    "token id"
);
b64_id!(
    /// A relay routing topic (32 bytes): random for a pairing offer, derived
    /// for a group or a device inbox.
    Topic,
    32,
    "topic"
);
b64_id!(
    /// A device's Ed25519 identity public key.
    IdentityPublic,
    32,
    "identity public key"
);
b64_id!(
    /// An Ed25519 signature.
    Signature,
    64,
    "signature"
);
b64_id!(
    /// A device's static X25519 public key (derived from its identity secret);
    /// group keys are sealed to it.
    EncryptionPublic,
    32,
    "encryption public key"
);

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

fn first16(h: [u8; 32]) -> [u8; 16] {
    h[..16].try_into().expect("32 > 16")
}

impl IdentityPublic {
    /// The device id derived from this key.
    pub fn device_id(&self) -> DeviceId {
        DeviceId(first16(sha256(&[DEVICE_ID_DOMAIN, &self.0])))
    }

    /// Verifies `sig` over `msg` (already domain-separated by the caller
    /// module). Uses strict verification: no malleable or small-order keys.
    pub(crate) fn verify(&self, what: &'static str, msg: &[u8], sig: &Signature) -> Result<()> {
        let key = VerifyingKey::from_bytes(&self.0).map_err(|_| Error::BadSignature(what))?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig.0);
        key.verify_strict(msg, &sig)
            .map_err(|_| Error::BadSignature(what))
    }

    /// Verifies a signature made by [`IdentityKey::sign_app`].
    pub fn verify_app(&self, domain: &str, msg: &[u8], sig: &Signature) -> Result<()> {
        self.verify("application signature", &app_message(domain, msg), sig)
    }

    /// Checks the bytes are a valid Ed25519 point (not all strings are).
    pub fn validate(&self) -> Result<()> {
        VerifyingKey::from_bytes(&self.0)
            .map(|_| ())
            .map_err(|_| Error::malformed("identity public key", "not a valid Ed25519 point"))
    }
}

impl GroupId {
    /// The id of the group founded by `founder` with `salt`. The relay checks
    /// a founder's claim by recomputing this, so no one else can claim it.
    pub fn founded(founder: &IdentityPublic, salt: &[u8; 16]) -> Self {
        Self(first16(sha256(&[GROUP_ID_DOMAIN, &founder.0, salt])))
    }
}

impl Topic {
    /// The broadcast topic of a group.
    pub fn group(group: &GroupId) -> Self {
        Self(sha256(&[TOPIC_GROUP_DOMAIN, &group.0]))
    }

    /// The inbox topic of one device.
    pub fn device(device: &DeviceId) -> Self {
        Self(sha256(&[TOPIC_DEVICE_DOMAIN, &device.0]))
    }
}

/// A device's long-term identity: an Ed25519 secret key, kept in the vault.
///
/// Zeroized on drop; `Debug` shows only the public device id.
pub struct IdentityKey {
    signing: SigningKey,
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityKey({})", self.device_id())
    }
}

impl Clone for IdentityKey {
    fn clone(&self) -> Self {
        Self::from_seed(&self.to_seed())
    }
}

impl IdentityKey {
    /// A fresh identity from the CSPRNG.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        Self {
            signing: SigningKey::generate(rng),
        }
    }

    /// Restores from the 32-byte seed stored in the vault.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            signing: SigningKey::from_bytes(seed),
        }
    }

    /// The 32-byte seed, for the vault only.
    pub fn to_seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    /// The public key.
    pub fn public(&self) -> IdentityPublic {
        IdentityPublic(self.signing.verifying_key().to_bytes())
    }

    /// This device's id.
    pub fn device_id(&self) -> DeviceId {
        self.public().device_id()
    }

    /// The static X25519 secret, derived from the identity seed with HKDF so a
    /// single secret is stored; kept separate from the signing scalar.
    pub(crate) fn encryption_secret(&self) -> x25519_dalek::StaticSecret {
        let seed = self.to_seed();
        let hk = Hkdf::<Sha256>::new(None, seed.as_slice());
        let mut out = Zeroizing::new([0u8; 32]);
        hk.expand(X25519_INFO, out.as_mut_slice())
            .expect("32 bytes is a valid HKDF length");
        x25519_dalek::StaticSecret::from(*out)
    }

    /// The public half of [`Self::encryption_secret`].
    pub fn encryption_public(&self) -> EncryptionPublic {
        EncryptionPublic(x25519_dalek::PublicKey::from(&self.encryption_secret()).to_bytes())
    }

    /// Signs `msg` for a layer above the protocol (the audit log) under
    /// that layer's `domain`: never valid as any signature of this crate's
    /// own formats, nor of another layer's domain.
    pub fn sign_app(&self, domain: &str, msg: &[u8]) -> Signature {
        self.sign(&app_message(domain, msg))
    }

    /// Signs an already domain-separated message.
    pub(crate) fn sign(&self, msg: &[u8]) -> Signature {
        Signature(self.signing.sign(msg).to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn device_id_is_stable_and_distinct() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let a = IdentityKey::generate(&mut rng);
        let b = IdentityKey::generate(&mut rng);
        assert_eq!(a.device_id(), a.public().device_id());
        assert_ne!(a.device_id(), b.device_id());
        let restored = IdentityKey::from_seed(&a.to_seed());
        assert_eq!(restored.device_id(), a.device_id());
        assert_eq!(restored.encryption_public(), a.encryption_public());
        assert!(!format!("{a:?}").contains(&hex::encode(*a.to_seed())));
    }

    #[test]
    fn rfc8032_test_vector_1_public_key() {
        // RFC 8032 §7.1, TEST 1.
        let seed: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let k = IdentityKey::from_seed(&seed);
        assert_eq!(
            hex::encode(k.public().0),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let sig = k.sign(b"");
        assert_eq!(hex::encode(sig.0), "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    }

    #[test]
    fn ids_parse_back_and_reject_garbage() {
        let d = DeviceId([7; 16]);
        assert_eq!(DeviceId::from_hex(&d.to_hex()).unwrap(), d);
        assert_eq!(DeviceId::from_hex("zz").unwrap_err().kind(), "malformed");
        let t = Topic([9; 32]);
        assert_eq!(Topic::from_b64(&t.to_b64()).unwrap(), t);
        assert!(Topic::from_b64("AAAA").is_err());
    }
}
