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
//!
//! **Generations.** When a browser that restored the wallet cuts off the
//! devices from before the restore, the backup moves to the next
//! generation, whose secret is HKDF of the seed again under the label
//! `tandem/backup/v1/gen/` followed by the generation as 4 big-endian
//! bytes. A device that holds only an older generation's secret (a lost
//! browser keeps it in its sealed sync state, so backups can be written
//! while it is locked) cannot compute the next one without the phrase.
//! Generation 0 is the secret above (what every backup used first).

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::Seed;

/// The HKDF `info` of the backup secret (its own label: no other key of
/// the wallet is derived with it).
pub const BACKUP_LABEL: &[u8] = b"tandem/backup/v1";

/// The HKDF `info` prefix of the backup secrets of generations 1 and up.
pub const GENERATION_LABEL: &[u8] = b"tandem/backup/v1/gen/";

impl Seed {
    /// The backup secret of this seed (generation 0; see the module
    /// documentation).
    pub fn backup_secret(&self) -> Zeroizing<[u8; 32]> {
        self.backup_secret_of(0)
    }

    /// The backup secret of generation `generation` of this seed.
    pub fn backup_secret_of(&self, generation: u32) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        let hk = Hkdf::<Sha256>::new(None, self.as_bytes());
        if generation == 0 {
            hk.expand(BACKUP_LABEL, &mut *out)
        } else {
            hk.expand_multi_info(&[GENERATION_LABEL, &generation.to_be_bytes()], &mut *out)
        }
        .expect("32 bytes is a valid HKDF-SHA256 output length");
        out
    }
}
