//! The backup's keys and id: known answers from an independent
//! implementation.

#![allow(clippy::unwrap_used)]

use tandem_pair::backup::{BackupId, BackupKeys};

/// Computed with Python 3's `cryptography` package (OpenSSL), not with this
/// crate: `HKDF(SHA256(), length=32, salt=None, info=b"tandem/backup/v1/encrypt")`
/// and `…/sign` of the secret, `Ed25519PrivateKey.from_private_bytes(sign)`'s
/// raw public key, and `hashlib.sha256(len(domain).to_bytes(2, "big") +
/// b"tandem/backup/v1/id" + public key)`. The first secret is the backup
/// secret of the anvil test phrase (crates/keys/tests/backup.rs).
const VECTORS: [[&str; 5]; 2] = [
    [
        "1fb13ceb985785221cfcc7b620bb81e0f44ae4f78ee294449ebbcbb15a07e59b",
        "0e965c61333e97a62747a5829e362e8e3ca3d15d35a8e094655c99d00efee60f",
        "dc0560e263c7b455d539437d348fa4afe84c3b225980d0d6b06ca9dc6651b717",
        "829a9719482a371d838bca2db63c9726021fd73eae156199b376013ec729c443",
        "84a3a637ad48b0d4358eec4b424da7962508bac73d110eccaee61fff21198c53",
    ],
    [
        "0707070707070707070707070707070707070707070707070707070707070707",
        "25bfba7585899611d0a5c9f5c6079b973b17f2a13b4be13b40b42ebc2decad90",
        "9d8822c4156368ec039f299eaf84fabc8fe12c38a479a9128a3a8997c9c78c40",
        "7a1b6ec5dbbb609eaa7f357bd1f2557de18606adf1489db5c2f84cddae342e21",
        "923b1dc1b5a40fe4e48cc45473c81f85683b30a3bb758ff8f98254af242f01e0",
    ],
];

#[test]
fn backup_keys_match_an_independent_implementation() {
    for [secret, encrypt, sign, public, id] in VECTORS {
        let mut s = [0u8; 32];
        hex::decode_to_slice(secret, &mut s).unwrap();
        let k = BackupKeys::derive(&s);
        assert_eq!(hex::encode(k.encrypt_key()), encrypt);
        assert_eq!(hex::encode(k.signing_seed()), sign);
        assert_eq!(hex::encode(k.public().0), public);
        assert_eq!(k.id(), BackupId::from_hex(id).unwrap());
        assert_eq!(k.public().id(), k.id());
    }
}
