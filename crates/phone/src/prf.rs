//! Unlock with the phone's fingerprint or face: the vault key, wrapped by a
//! key that only the phone's platform authenticator can produce (WebAuthn's
//! PRF extension, W3C WebAuthn Level 3 §10.1.4, CTAP2 `hmac-secret`).
//!
//! The authenticator turns this record's random `salt` into 32 bytes (the
//! PRF output) only after the user's fingerprint or face (user
//! verification). HKDF-SHA256 (RFC 5869) makes the wrapping key from them;
//! XChaCha20-Poly1305 seals the vault key (`tandem-vault`'s data key of
//! the vault as stored, `Vault::unlock_keeping`; the phone does not rewrite its vault
//! at each unlock, as the extension does) under it, with the credential id, the salt and a digest
//! of the vault JSON as associated data. So the record opens nothing
//! without the authenticator, a changed byte fails the tag, and a record
//! made for another vault (a new wallet, a new password) is refused.
//!
//! Pure: randomness comes in as a parameter; the page only carries bytes
//! to and from `navigator.credentials` (see `app.rs`). The PRF output and
//! the wrapping key are zeroized and never printed.

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    XChaCha20Poly1305, XNonce,
};
use core::fmt;
use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tandem_vault::VaultKey;
use zeroize::Zeroizing;

/// Where the record is kept (`localStorage`; it holds no secret in clear).
pub const RECORD_KEY: &str = "tandem.phone.biometric";
/// Length of the PRF input (`eval.first`) and of its output.
pub const PRF_LEN: usize = 32;
const NONCE_LEN: usize = 24;
/// Record format this version writes and reads.
const VERSION: u32 = 1;
const INFO: &[u8] = b"tandem/phone/prf-unlock/v1/wrap";
const AAD_TAG: &[u8] = b"tandem-prf-unlock";

/// Why a record could not be made, read or opened. Messages say what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The stored record is not readable.
    #[error(
        "the stored fingerprint unlock is damaged ({0}); unlock with your password, then turn \
         fingerprint or face unlock on again"
    )]
    Malformed(&'static str),
    /// A byte of the record changed, or the authenticator gave other bytes.
    #[error(
        "the key from your fingerprint or face did not open this wallet (the stored key was \
         changed or damaged); unlock with your password, then turn fingerprint or face unlock \
         on again"
    )]
    Tampered,
    /// The record was made for another vault (a new wallet or password).
    #[error(
        "fingerprint or face unlock was set up for another wallet on this phone; unlock with \
         your password, then turn it on again"
    )]
    OtherVault,
    /// The authenticator's answer has the wrong length.
    #[error(
        "this phone's authenticator answered with {0} bytes instead of 32; unlock stays with \
         your password"
    )]
    PrfLength(usize),
}

/// The authenticator's PRF output: a secret. Zeroized on drop; `Debug`
/// prints nothing of it.
pub struct PrfOutput(Zeroizing<[u8; PRF_LEN]>);

impl PrfOutput {
    /// The 32 bytes the authenticator returned (`results.first`).
    pub fn new(bytes: Zeroizing<[u8; PRF_LEN]>) -> PrfOutput {
        PrfOutput(bytes)
    }

    /// From a buffer of any length (the page's copy); refuses a wrong length.
    pub fn from_slice(bytes: &[u8]) -> Result<PrfOutput, Error> {
        let mut out = Zeroizing::new([0u8; PRF_LEN]);
        if bytes.len() != PRF_LEN {
            return Err(Error::PrfLength(bytes.len()));
        }
        out.copy_from_slice(bytes);
        Ok(PrfOutput(out))
    }

    /// The wrapping key for `salt` (HKDF-SHA256, the salt as HKDF salt).
    fn wrapping_key(&self, salt: &[u8; PRF_LEN]) -> Zeroizing<[u8; 32]> {
        let mut key = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(salt), self.0.as_slice())
            .expand(INFO, key.as_mut_slice())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        key
    }
}

impl fmt::Debug for PrfOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrfOutput(<redacted>)")
    }
}

/// The digest that ties a record to one vault (its JSON, as stored).
pub fn vault_digest(vault_json: &str) -> [u8; 32] {
    Sha256::digest(vault_json.as_bytes()).into()
}

/// What is stored to unlock with the authenticator: the credential, the
/// PRF input, and the vault key sealed under the PRF-derived key. Nothing
/// in it is secret without the authenticator.
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    /// The WebAuthn credential id (`rawId`) to ask for.
    pub credential_id: Vec<u8>,
    /// The PRF input (`eval.first`), random per record.
    pub salt: [u8; PRF_LEN],
    vault: [u8; 32],
    nonce: [u8; NONCE_LEN],
    wrapped: Vec<u8>,
}

impl Record {
    /// Seals `key` (the key of the vault `vault_json`) under the key derived
    /// from `prf`, the authenticator's answer for `salt`.
    pub fn wrap(
        rng: &mut impl CryptoRngCore,
        credential_id: Vec<u8>,
        salt: [u8; PRF_LEN],
        prf: &PrfOutput,
        vault_json: &str,
        key: &VaultKey,
    ) -> Record {
        let mut r = Record {
            credential_id,
            salt,
            vault: vault_digest(vault_json),
            nonce: [0; NONCE_LEN],
            wrapped: Vec::new(),
        };
        rng.fill_bytes(&mut r.nonce);
        let wk = prf.wrapping_key(&r.salt);
        let plain = key.to_bytes();
        r.wrapped = XChaCha20Poly1305::new(wk.as_slice().into())
            .encrypt(
                &XNonce::from(r.nonce),
                Payload {
                    msg: plain.as_slice(),
                    aad: &r.aad(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        r
    }

    /// Whether this record was made for the vault `vault_json`.
    pub fn belongs_to(&self, vault_json: &str) -> bool {
        self.vault == vault_digest(vault_json)
    }

    /// The vault key, from the authenticator's answer `prf`.
    pub fn unwrap(&self, prf: &PrfOutput, vault_json: &str) -> Result<VaultKey, Error> {
        if !self.belongs_to(vault_json) {
            return Err(Error::OtherVault);
        }
        let wk = prf.wrapping_key(&self.salt);
        let plain = Zeroizing::new(
            XChaCha20Poly1305::new(wk.as_slice().into())
                .decrypt(
                    &XNonce::from(self.nonce),
                    Payload {
                        msg: &self.wrapped,
                        aad: &self.aad(),
                    },
                )
                .map_err(|_| Error::Tampered)?,
        );
        let bytes: &[u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| Error::Malformed("the sealed key is not 32 bytes"))?;
        Ok(VaultKey::from_bytes(bytes))
    }

    /// Every field but the sealed key, in a fixed layout: any edit fails the tag.
    fn aad(&self) -> Vec<u8> {
        let mut a = Vec::with_capacity(128 + self.credential_id.len());
        a.extend_from_slice(AAD_TAG);
        a.extend_from_slice(&VERSION.to_be_bytes());
        a.extend_from_slice(&(self.credential_id.len() as u32).to_be_bytes());
        a.extend_from_slice(&self.credential_id);
        a.extend_from_slice(&self.salt);
        a.extend_from_slice(&self.vault);
        a.extend_from_slice(&self.nonce);
        a
    }

    /// The JSON to store.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&Stored {
            v: VERSION,
            credential: B64.encode(&self.credential_id),
            salt: B64.encode(self.salt),
            vault: B64.encode(self.vault),
            nonce: B64.encode(self.nonce),
            wrapped: B64.encode(&self.wrapped),
        })
        .expect("serializing strings cannot fail")
    }

    /// Reads a stored record, checking every length.
    pub fn from_json(json: &str) -> Result<Record, Error> {
        let s: Stored = serde_json::from_str(json).map_err(|_| Error::Malformed("not a record"))?;
        if s.v != VERSION {
            return Err(Error::Malformed("unknown version"));
        }
        let bytes = |f: &str, what| B64.decode(f).map_err(|_| Error::Malformed(what));
        let credential_id = bytes(&s.credential, "credential id is not base64")?;
        if credential_id.is_empty() || credential_id.len() > 1023 {
            return Err(Error::Malformed("credential id length"));
        }
        let wrapped = bytes(&s.wrapped, "sealed key is not base64")?;
        if wrapped.len() != 32 + 16 {
            return Err(Error::Malformed("sealed key length"));
        }
        Ok(Record {
            credential_id,
            salt: array(bytes(&s.salt, "salt is not base64")?, "salt length")?,
            vault: array(
                bytes(&s.vault, "vault digest is not base64")?,
                "digest length",
            )?,
            nonce: array(bytes(&s.nonce, "nonce is not base64")?, "nonce length")?,
            wrapped,
        })
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("credential_id_len", &self.credential_id.len())
            .finish_non_exhaustive()
    }
}

fn array<const N: usize>(v: Vec<u8>, what: &'static str) -> Result<[u8; N], Error> {
    v.try_into().map_err(|_| Error::Malformed(what))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    v: u32,
    credential: String,
    salt: String,
    vault: String,
    nonce: String,
    wrapped: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    const VAULT: &str = r#"{"format":"tandem-vault","example":1}"#;

    fn made() -> (Record, PrfOutput, VaultKey) {
        let prf = PrfOutput::from_slice(&[7u8; 32]).expect("32 bytes");
        let key = VaultKey::from_bytes(&[42u8; 32]);
        let r = Record::wrap(&mut OsRng, vec![1, 2, 3, 4], [9u8; 32], &prf, VAULT, &key);
        (r, prf, key)
    }

    #[test]
    fn the_right_prf_output_gives_back_the_vault_key_through_the_stored_json() {
        let (r, prf, key) = made();
        let stored = Record::from_json(&r.to_json()).expect("reads back");
        assert_eq!(stored, r);
        let back = stored.unwrap(&prf, VAULT).expect("opens");
        assert_eq!(*back.to_bytes(), *key.to_bytes());
    }

    #[test]
    fn another_authenticator_answer_is_refused() {
        let (r, _, _) = made();
        let other = PrfOutput::from_slice(&[8u8; 32]).expect("32 bytes");
        assert_eq!(r.unwrap(&other, VAULT).err(), Some(Error::Tampered));
    }

    #[test]
    fn a_changed_byte_anywhere_in_the_stored_record_is_refused_clearly() {
        let (r, prf, _) = made();
        let json = r.to_json();
        let s: serde_json::Value = serde_json::from_str(&json).expect("json");
        for field in ["credential", "salt", "vault", "nonce", "wrapped"] {
            let mut bytes = B64
                .decode(s[field].as_str().expect("a string"))
                .expect("base64");
            for i in 0..bytes.len() {
                bytes[i] ^= 0x01;
                let mut t = s.clone();
                t[field] = B64.encode(&bytes).into();
                let tampered = Record::from_json(&t.to_string()).expect("still well-formed");
                let e = tampered.unwrap(&prf, VAULT).err();
                let expected = if field == "vault" {
                    Error::OtherVault
                } else {
                    Error::Tampered
                };
                assert_eq!(e, Some(expected.clone()), "{field} byte {i}");
                bytes[i] ^= 0x01;
            }
        }
        let msg = Error::Tampered.to_string();
        assert!(
            msg.contains("unlock with your password") && msg.contains("changed or damaged"),
            "{msg}"
        );
    }

    #[test]
    fn a_record_of_another_vault_is_refused() {
        let (r, prf, _) = made();
        assert!(r.belongs_to(VAULT));
        assert!(!r.belongs_to(r#"{"format":"tandem-vault","example":2}"#));
        assert_eq!(
            r.unwrap(&prf, "another vault").err(),
            Some(Error::OtherVault)
        );
    }

    #[test]
    fn unreadable_records_and_wrong_lengths_say_what_is_wrong() {
        let (r, _, _) = made();
        let mut s: serde_json::Value = serde_json::from_str(&r.to_json()).expect("json");
        assert!(matches!(
            Record::from_json("{}"),
            Err(Error::Malformed("not a record"))
        ));
        s["salt"] = B64.encode([0u8; 31]).into();
        assert_eq!(
            Record::from_json(&s.to_string()),
            Err(Error::Malformed("salt length"))
        );
        s["v"] = 2.into();
        assert_eq!(
            Record::from_json(&s.to_string()),
            Err(Error::Malformed("unknown version"))
        );
        assert_eq!(
            PrfOutput::from_slice(&[0u8; 16])
                .err()
                .map(|e| e.to_string()),
            Some(
                "this phone's authenticator answered with 16 bytes instead of 32; unlock stays \
                 with your password"
                    .into()
            )
        );
    }

    #[test]
    fn the_stored_json_and_debug_hold_no_secret() {
        let (r, prf, key) = made();
        let json = r.to_json();
        for secret in [[7u8; 32], *key.to_bytes(), *prf.wrapping_key(&r.salt)] {
            assert!(!json.contains(&B64.encode(secret)));
            assert!(!json.contains(&hex::encode(secret)));
        }
        let debug = format!("{prf:?} {r:?} {key:?}");
        assert!(
            !debug.contains("7, 7, 7") && !debug.contains("42, 42"),
            "{debug}"
        );
    }
}
