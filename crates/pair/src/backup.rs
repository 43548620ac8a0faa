//! The encrypted backup on the relay: what restores a wallet's synced
//! metadata when every device is lost (see `docs/protocol.md`, "Backup").
//!
//! Everything comes from one 32-byte *backup secret*, which the core derives
//! from the recovery phrase's seed (`tandem_keys::backup`, HKDF with its own
//! label); each key below is HKDF-SHA256 of that secret under a label of its
//! own, so none of them says anything about the others or about the seed:
//!
//! - `encrypt` = HKDF(secret, info `tandem/backup/v1/encrypt`): the
//!   XChaCha20-Poly1305 key of the contents (random 24-byte nonce first,
//!   the backup id as associated data);
//! - `sign` = HKDF(secret, info `tandem/backup/v1/sign`): the seed of the
//!   Ed25519 key that signs every write and delete;
//! - the **id** = SHA-256 of `tandem/backup/v1/id` and the signing key's
//!   public half: the relay checks a first write's key against the id, so
//!   no one can claim an id before its owner, and keeps that key for every
//!   later write and delete.
//!
//! Writes and deletes carry a counter that must grow: the relay refuses one
//! at or below the counter it holds, so a recorded request cannot be played
//! again (not even after a delete, which keeps the key and the counter).
//! The relay sees the id, the public key, sizes and times; never the
//! contents.

use core::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::identity::Signature;
use crate::wire::{b64_id, hex_id, Bytes, Writer};
use crate::{Error, Result};

/// Largest backup (ciphertext bytes, before base64) a relay must accept.
pub const MAX_BACKUP_BYTES: usize = 1024 * 1024;

const ENCRYPT_INFO: &[u8] = b"tandem/backup/v1/encrypt";
const SIGN_INFO: &[u8] = b"tandem/backup/v1/sign";
const ID_DOMAIN: &[u8] = b"tandem/backup/v1/id";
const PUT_DOMAIN: &[u8] = b"tandem/backup/v1/put";
const DELETE_DOMAIN: &[u8] = b"tandem/backup/v1/delete";
const DATA_DOMAIN: &[u8] = b"tandem/backup/v1/data";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

hex_id!(
    /// Where a backup lives on the relay (see the module documentation).
    BackupId,
    32,
    "backup id"
);
b64_id!(
    /// The Ed25519 public key that signs a backup's writes and deletes.
    BackupPublic,
    32,
    "backup public key"
);

impl BackupPublic {
    /// The id this key may write: SHA-256(`tandem/backup/v1/id` ‖ key).
    pub fn id(&self) -> BackupId {
        let mut w = Writer::with_domain(ID_DOMAIN);
        w.raw(&self.0);
        BackupId(Sha256::digest(&w.0).into())
    }

    fn verify(&self, what: &'static str, msg: &[u8], sig: &Signature) -> Result<()> {
        let key = VerifyingKey::from_bytes(&self.0).map_err(|_| Error::BadSignature(what))?;
        key.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&sig.0))
            .map_err(|_| Error::BadSignature(what))
    }
}

fn put_message(id: &BackupId, counter: u64, data: &[u8]) -> Vec<u8> {
    let mut w = Writer::with_domain(PUT_DOMAIN);
    w.raw(&id.0).u64(counter).raw(&Sha256::digest(data));
    w.0
}

fn delete_message(id: &BackupId, counter: u64) -> Vec<u8> {
    let mut w = Writer::with_domain(DELETE_DOMAIN);
    w.raw(&id.0).u64(counter);
    w.0
}

/// The keys of one backup, derived from the backup secret. `Debug` shows
/// the id only; the secrets are zeroized on drop.
pub struct BackupKeys {
    encrypt: Zeroizing<[u8; 32]>,
    signing: SigningKey,
    id: BackupId,
}

impl fmt::Debug for BackupKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupKeys")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl BackupKeys {
    /// The keys of the backup of `secret` (the core's backup secret).
    pub fn derive(secret: &[u8; 32]) -> Self {
        let hk = Hkdf::<Sha256>::new(None, secret);
        let mut encrypt = Zeroizing::new([0u8; 32]);
        let mut sign = Zeroizing::new([0u8; 32]);
        hk.expand(ENCRYPT_INFO, &mut *encrypt)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        hk.expand(SIGN_INFO, &mut *sign)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        let signing = SigningKey::from_bytes(&sign);
        let public = BackupPublic(signing.verifying_key().to_bytes());
        Self {
            encrypt,
            signing,
            id: public.id(),
        }
    }

    /// The encryption key (known-answer tests only).
    #[cfg(feature = "kat")]
    pub fn encrypt_key(&self) -> [u8; 32] {
        *self.encrypt
    }

    /// The Ed25519 secret seed (known-answer tests only).
    #[cfg(feature = "kat")]
    pub fn signing_seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// Where the backup lives.
    pub fn id(&self) -> BackupId {
        self.id
    }

    /// The key the relay checks writes and deletes against.
    pub fn public(&self) -> BackupPublic {
        BackupPublic(self.signing.verifying_key().to_bytes())
    }

    fn aad(&self) -> Vec<u8> {
        let mut w = Writer::with_domain(DATA_DOMAIN);
        w.raw(&self.id.0);
        w.0
    }

    /// `nonce ‖ XChaCha20-Poly1305(encrypt, nonce, AAD = id, plain)`;
    /// `nonce` must be fresh random bytes (the caller's CSPRNG).
    pub fn seal(&self, plain: &[u8], nonce: [u8; NONCE_LEN]) -> Vec<u8> {
        let ct = XChaCha20Poly1305::new((&*self.encrypt).into())
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: &self.aad(),
                },
            )
            .expect("encryption of bounded input cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Opens what [`BackupKeys::seal`] made (with these keys).
    pub fn open(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(Error::Tampered);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("split at NONCE_LEN");
        XChaCha20Poly1305::new((&*self.encrypt).into())
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: &self.aad(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| Error::Tampered)
    }

    /// A signed write of `data` (already sealed) at `counter`.
    pub fn put(&self, counter: u64, data: Vec<u8>) -> PutBackup {
        let signature = Signature(
            self.signing
                .sign(&put_message(&self.id, counter, &data))
                .to_bytes(),
        );
        PutBackup {
            key: self.public(),
            counter,
            data: Bytes(data),
            signature,
        }
    }

    /// A signed delete at `counter`.
    pub fn delete(&self, counter: u64) -> DeleteBackup {
        let signature = Signature(
            self.signing
                .sign(&delete_message(&self.id, counter))
                .to_bytes(),
        );
        DeleteBackup { counter, signature }
    }
}

/// The body of `PUT /v1/backup/<id>`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutBackup {
    /// The backup's public key (the one registered at the first write).
    pub key: BackupPublic,
    /// Greater than the counter the relay holds.
    pub counter: u64,
    /// The sealed contents (at most [`MAX_BACKUP_BYTES`]).
    pub data: Bytes,
    /// Ed25519 by `key` over the domain, the id, the counter and
    /// SHA-256(data).
    pub signature: Signature,
}

impl PutBackup {
    /// The relay's stateless check for a write to `id`: size, the key is
    /// the one `id` names, the signature. (The relay then checks the key
    /// against the one it holds and the counter against its own.)
    pub fn verify(&self, id: &BackupId) -> Result<()> {
        if self.data.0.len() > MAX_BACKUP_BYTES {
            return Err(Error::TooLarge {
                what: "backup",
                len: self.data.0.len(),
                max: MAX_BACKUP_BYTES,
            });
        }
        if self.key.id() != *id {
            return Err(Error::BadSignature(
                "backup write (the key is not this id's)",
            ));
        }
        self.key.verify(
            "backup write",
            &put_message(id, self.counter, &self.data.0),
            &self.signature,
        )
    }
}

/// The body of `DELETE /v1/backup/<id>`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteBackup {
    /// Greater than the counter the relay holds.
    pub counter: u64,
    /// Ed25519 by the backup's key over the domain, the id and the counter.
    pub signature: Signature,
}

impl DeleteBackup {
    /// Checks the signature against `key`, the key the relay holds for `id`.
    pub fn verify(&self, id: &BackupId, key: &BackupPublic) -> Result<()> {
        key.verify(
            "backup delete",
            &delete_message(id, self.counter),
            &self.signature,
        )
    }
}

/// The relay's answer to `GET /v1/backup/<id>` (and, without `data`, to a
/// write or delete that it stored).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredBackup {
    /// The counter of the last write or delete.
    pub counter: u64,
    /// The sealed contents; `None` once deleted.
    #[serde(default)]
    pub data: Option<Bytes>,
    /// When the relay stored the last write or delete (Unix seconds).
    pub updated_at: u64,
}

/// The relay's refusal of a backup request.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupRefusal {
    /// Stable code: `not_found`, `bad_request`, `forbidden`, `stale`,
    /// `too_large`, `rate_limited`, `internal`.
    pub error: String,
    /// What went wrong, for a person.
    pub message: String,
    /// With `stale`: the counter the relay holds (write above it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_deletes_verify_only_as_signed() {
        let k = BackupKeys::derive(&[7; 32]);
        let id = k.id();
        let put = k.put(5, vec![1, 2, 3]);
        put.verify(&id).unwrap();
        let mut other = put.clone();
        other.counter = 6;
        assert_eq!(other.verify(&id).unwrap_err().kind(), "bad_signature");
        let mut other = put.clone();
        other.data = Bytes(vec![1, 2, 4]);
        assert_eq!(other.verify(&id).unwrap_err().kind(), "bad_signature");
        // Someone else's key, signing correctly, for this id.
        let mallory = BackupKeys::derive(&[8; 32]);
        let forged = mallory.put(9, vec![0]);
        assert!(forged.verify(&id).is_err());
        forged.verify(&mallory.id()).unwrap();
        let del = k.delete(6);
        del.verify(&id, &k.public()).unwrap();
        assert!(del.verify(&id, &mallory.public()).is_err());
        assert!(del.verify(&mallory.id(), &k.public()).is_err());
        let big = k.put(7, vec![0; MAX_BACKUP_BYTES + 1]);
        assert_eq!(big.verify(&id).unwrap_err().kind(), "too_large");
    }

    #[test]
    fn sealed_contents_open_only_with_the_same_keys_and_untouched() {
        let k = BackupKeys::derive(&[7; 32]);
        let sealed = k.seal(b"names", [3; 24]);
        assert_eq!(&**k.open(&sealed).unwrap(), b"names");
        assert!(BackupKeys::derive(&[8; 32]).open(&sealed).is_err());
        let mut bad = sealed.clone();
        bad[30] ^= 1;
        assert_eq!(k.open(&bad).unwrap_err(), Error::Tampered);
        assert_eq!(k.open(&sealed[..20]).unwrap_err(), Error::Tampered);
        assert!(!format!("{k:?}").contains("encrypt:"));
    }
}
