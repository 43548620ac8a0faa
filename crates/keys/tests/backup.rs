//! The backup secret: known answers from an independent implementation,
//! and what it must not be.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

use tandem_keys::{Keyring, Mnemonic, PrivateKey};

const PHRASE: &str = "test test test test test test test test test test test junk";

/// Computed with Python 3's `hashlib.pbkdf2_hmac` (the BIP-39 seed) and the
/// `cryptography` package's `HKDF(SHA256(), length=32, salt=None,
/// info=b"tandem/backup/v1")` (OpenSSL's HKDF), not with this crate:
///
/// ```python
/// seed = hashlib.pbkdf2_hmac('sha512', phrase.encode(), ('mnemonic' + pp).encode(), 2048)
/// HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"tandem/backup/v1").derive(seed).hex()
/// ```
const VECTORS: [(&str, &str); 2] = [
    (
        "",
        "1fb13ceb985785221cfcc7b620bb81e0f44ae4f78ee294449ebbcbb15a07e59b",
    ),
    (
        "TREZOR",
        "d7d3d9cf30f3a4e8c50567d99d36601c7aa2ce352867d53a5db66f9e70df9adf",
    ),
];

#[test]
fn the_backup_secret_matches_an_independent_hkdf() {
    for (passphrase, want) in VECTORS {
        let m = Mnemonic::parse(PHRASE).unwrap();
        assert_eq!(
            hex::encode(*m.to_seed(passphrase).backup_secret()),
            want,
            "passphrase {passphrase:?}"
        );
        let k = Keyring::from_mnemonic(m, passphrase).unwrap();
        assert_eq!(hex::encode(*k.backup_secret().unwrap()), want);
    }
}

#[test]
fn the_backup_secret_is_neither_the_seed_nor_an_account_key() {
    let m = Mnemonic::parse(PHRASE).unwrap();
    let seed = m.to_seed("");
    let secret = seed.backup_secret();
    assert!(!seed.as_bytes().windows(32).any(|w| w == &secret[..]));
    let k = Keyring::from_mnemonic(m, "").unwrap();
    for a in k.accounts() {
        assert_ne!(k.key(a.address).unwrap().to_bytes().as_slice(), &secret[..]);
    }
}

#[test]
fn the_first_phrase_gives_the_secret_and_imported_keys_give_none() {
    let key = PrivateKey::from_hex(&"11".repeat(32)).unwrap();
    let mut k = Keyring::new();
    k.import_private_key(key).unwrap();
    assert!(k.backup_secret().is_none(), "no phrase, no backup");
    k.add_mnemonic(Mnemonic::parse(PHRASE).unwrap(), "")
        .unwrap();
    assert_eq!(hex::encode(*k.backup_secret().unwrap()), VECTORS[0].1);
    // A second phrase added later does not move the backup.
    let other = Mnemonic::parse(
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
    )
    .unwrap();
    k.add_mnemonic(other, "").unwrap();
    assert_eq!(hex::encode(*k.backup_secret().unwrap()), VECTORS[0].1);
    // And it survives the vault's round trip.
    let again = Keyring::from_bytes(&k.to_bytes()).unwrap();
    assert_eq!(hex::encode(*again.backup_secret().unwrap()), VECTORS[0].1);
}

/// Generations 1 and up, computed as [`VECTORS`] (Python's `cryptography`
/// HKDF, not this crate) with `info=b"tandem/backup/v1/gen/" +
/// g.to_bytes(4, "big")`, passphrase "".
const GENERATIONS: [(u32, &str); 3] = [
    (
        1,
        "2a1de024530e989593133cd991c98a557a5fc682bea9c13a4e1be548ea3989f6",
    ),
    (
        2,
        "57958f2fb3dbd4a9eab2346da03df02c8a1f7aa01e419c9b8bf82121eb1ed9e8",
    ),
    (
        0xffff_fffe,
        "687023c34597ba1cc62a26de10cc875324fa6381a07b9678278d8cd8c311b6f6",
    ),
];

#[test]
fn each_generation_has_its_own_secret_from_an_independent_hkdf() {
    let m = Mnemonic::parse(PHRASE).unwrap();
    let seed = m.to_seed("");
    assert_eq!(hex::encode(*seed.backup_secret_of(0)), VECTORS[0].1);
    let k = Keyring::from_mnemonic(m, "").unwrap();
    for (g, want) in GENERATIONS {
        assert_eq!(
            hex::encode(*seed.backup_secret_of(g)),
            want,
            "generation {g}"
        );
        assert_eq!(hex::encode(*k.backup_secret_of(g).unwrap()), want);
    }
}
