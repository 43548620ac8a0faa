//! The one secret the core hands out for the encrypted backup of the synced
//! metadata: `HKDF-SHA256(ikm = BIP-39 seed, salt = none, info =
//! "tandem/backup/v1")`, 32 bytes.
//!
//! HKDF is one-way: the secret gives nothing of the seed or of any account
//! key (those come from BIP-32 over the same seed, a different function).
//! Whoever holds the recovery phrase (and its passphrase) gets the same
//! secret on any device, which is what lets a new browser find and open the
//! backup. Everything else about the backup (its id on the relay, its
//! encryption and signing keys) is derived from this secret by the sync
//! side, under labels of its own (`tandem_sync::backup`).

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::Seed;

/// The HKDF `info` of the backup secret (its own label: no other key of
/// the wallet is derived with it).
pub const BACKUP_LABEL: &[u8] = b"tandem/backup/v1";

impl Seed {
    /// The backup secret of this seed (see the module documentation).
    pub fn backup_secret(&self) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(None, self.as_bytes())
            .expand(BACKUP_LABEL, &mut *out)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        out
    }
}
