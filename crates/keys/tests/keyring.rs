//! Keyring behaviour, serialization, tamper detection, private-key import.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

use proptest::prelude::*;
use tandem_keys::{AccountOrigin, Error, Keyring, Mnemonic, PrivateKey, SourceId};

const PHRASE: &str = "test test test test test test test test test test test junk";
const ANVIL_KEY_1: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

fn anvil() -> Keyring {
    Keyring::from_mnemonic(Mnemonic::parse(PHRASE).unwrap(), "").unwrap()
}

#[test]
fn private_key_import_errors_are_specific() {
    assert_eq!(
        PrivateKey::from_hex("0x1234").unwrap_err(),
        Error::PrivateKeyLength { chars: 4 }
    );
    assert_eq!(
        PrivateKey::from_hex(&"zz".repeat(32)).unwrap_err(),
        Error::PrivateKeyNotHex
    );
    assert_eq!(
        PrivateKey::from_hex(&"00".repeat(32)).unwrap_err(),
        Error::PrivateKeyRange
    );
    // The group order n itself is out of range.
    assert_eq!(
        PrivateKey::from_hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141")
            .unwrap_err(),
        Error::PrivateKeyRange
    );
    // Whitespace and 0X are tolerated.
    let k = PrivateKey::from_hex(&format!("  0X{ANVIL_KEY_1}\n")).unwrap();
    assert_eq!(
        k.address().to_checksum(None),
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    );
}

#[test]
fn derive_import_remove_and_duplicates() {
    let mut k = anvil();
    let src = SourceId(0);
    let a1 = k.derive_next(src).unwrap();
    assert_eq!(
        a1.origin,
        AccountOrigin::Derived {
            source: src,
            index: 1
        }
    );
    // Importing account 1's key again is a duplicate.
    let dup = k
        .import_private_key(PrivateKey::from_hex(ANVIL_KEY_1).unwrap())
        .unwrap_err();
    assert_eq!(dup, Error::DuplicateAccount(a1.address));
    // Adding the same phrase again is refused; with a passphrase it is a new wallet.
    assert_eq!(
        k.add_mnemonic(Mnemonic::parse(PHRASE).unwrap(), "")
            .unwrap_err(),
        Error::DuplicateSource
    );
    let other = k
        .add_mnemonic(Mnemonic::parse(PHRASE).unwrap(), "extra words")
        .unwrap();
    assert_eq!(other.origin.source(), SourceId(1));
    let imported = k
        .import_private_key(PrivateKey::random(&mut rand_core::OsRng))
        .unwrap();
    assert_eq!(k.accounts().len(), 4);
    // Removing an imported account removes its key entirely.
    k.remove_account(imported.address).unwrap();
    assert!(k.key(imported.address).is_err());
    assert_eq!(
        k.remove_account(imported.address).unwrap_err(),
        Error::UnknownAccount(imported.address)
    );
    // Removing a derived account and deriving again picks the next free index.
    k.remove_account(a1.address).unwrap();
    let again = k.derive_next(src).unwrap();
    assert_eq!(
        again.origin,
        AccountOrigin::Derived {
            source: src,
            index: 1
        }
    );
    assert_eq!(again.address, a1.address);
}

/// Anvil's well-known accounts (`anvil --help`, the mnemonic above): the
/// exported key of account 1 is anvil's printed private key 1.
#[test]
fn export_phrase_and_key_per_account() {
    let mut k = anvil();
    let a0 = k.accounts().next().unwrap().address;
    let a1 = k.derive_next(SourceId(0)).unwrap().address;
    assert_eq!(k.export(a0, true).unwrap().as_str(), PHRASE);
    assert_eq!(k.export(a1, true).unwrap().as_str(), PHRASE);
    assert_eq!(
        k.export(a1, false).unwrap().as_str(),
        format!("0x{ANVIL_KEY_1}")
    );
    // The exported key is the account's own: it imports back to the same address.
    let again = PrivateKey::from_hex(&k.export(a0, false).unwrap()).unwrap();
    assert_eq!(again.address(), a0);
    // A second phrase reveals itself, not the first one.
    let other = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
    let b = k.add_mnemonic(Mnemonic::parse(other).unwrap(), "").unwrap();
    assert_eq!(k.export(b.address, true).unwrap().as_str(), other);
    // An imported key has no phrase: a clear error, not another account's phrase.
    let imp = k
        .import_private_key(PrivateKey::random(&mut rand_core::OsRng))
        .unwrap();
    assert_eq!(k.export(imp.address, true).unwrap_err(), Error::NoPhrase);
    assert!(k.export(imp.address, false).is_ok());
    let stranger = PrivateKey::random(&mut rand_core::OsRng).address();
    assert_eq!(
        k.export(stranger, false).unwrap_err(),
        Error::UnknownAccount(stranger)
    );
    // The error messages name no secret.
    for e in [Error::NoPhrase, Error::UnknownAccount(stranger)] {
        assert!(!e.to_string().contains("test test"));
    }
}

#[test]
fn the_only_account_cannot_be_removed() {
    let mut k = anvil();
    let a0 = k.accounts().next().unwrap().address;
    assert_eq!(k.remove_account(a0).unwrap_err(), Error::LastAccount);
    assert_eq!(k.accounts().len(), 1);
    let imp = k
        .import_private_key(PrivateKey::from_hex(ANVIL_KEY_1).unwrap())
        .unwrap();
    // With two, either can go; then the other is the last.
    k.remove_account(a0).unwrap();
    assert_eq!(
        k.remove_account(imp.address).unwrap_err(),
        Error::LastAccount
    );
    assert!(k.key(imp.address).is_ok());
}

#[test]
fn index_limits() {
    let mut k = anvil();
    assert_eq!(
        k.derive_index(SourceId(0), 1 << 31).unwrap_err(),
        Error::AccountIndex { index: 1 << 31 }
    );
    assert_eq!(
        k.derive_next(SourceId(9)).unwrap_err(),
        Error::UnknownSource(9)
    );
}

#[test]
fn serialization_round_trip_rederives_every_key() {
    let mut k = anvil();
    k.derive_next(SourceId(0)).unwrap();
    k.derive_index(SourceId(0), 7).unwrap();
    k.add_mnemonic(Mnemonic::parse(PHRASE).unwrap(), "pässphrase")
        .unwrap();
    k.import_private_key(PrivateKey::from_hex(&"11".repeat(32)).unwrap())
        .unwrap();
    let bytes = k.to_bytes();
    let back = Keyring::from_bytes(&bytes).unwrap();
    assert_eq!(
        back.accounts().collect::<Vec<_>>(),
        k.accounts().collect::<Vec<_>>()
    );
    for a in k.accounts() {
        assert_eq!(back.key(a.address).unwrap(), k.key(a.address).unwrap());
    }
    // Source ids keep counting after a reload.
    let mut back = back;
    let next = back
        .import_private_key(PrivateKey::from_hex(&"22".repeat(32)).unwrap())
        .unwrap();
    assert_eq!(next.origin.source(), SourceId(3));
}

#[test]
fn damaged_keyring_bytes_are_detected() {
    let k = anvil();
    let text = String::from_utf8(k.to_bytes().to_vec()).unwrap();
    // An account whose recorded address does not match its key.
    let addr = k.accounts().next().unwrap().address;
    let wrong = text.replace(
        &format!("{addr:#x}").to_lowercase(),
        "0x0000000000000000000000000000000000000001",
    );
    assert_ne!(wrong, text, "fixture must contain the lowercase address");
    assert!(matches!(
        Keyring::from_bytes(wrong.as_bytes()),
        Err(Error::Corrupt(_))
    ));
    assert!(matches!(
        Keyring::from_bytes(b"not json"),
        Err(Error::Corrupt(_))
    ));
    let future = text.replace("\"format\":1", "\"format\":99");
    assert_eq!(
        Keyring::from_bytes(future.as_bytes()).unwrap_err(),
        Error::UnsupportedFormat(99)
    );
}

#[test]
fn reveal_returns_the_phrase_only_for_phrase_sources() {
    let mut k = anvil();
    assert_eq!(*k.mnemonic(SourceId(0)).unwrap().phrase(), PHRASE);
    let imp = k
        .import_private_key(PrivateKey::from_hex(&"33".repeat(32)).unwrap())
        .unwrap();
    assert!(k.mnemonic(imp.origin.source()).is_err());
}

#[derive(Debug, Clone)]
enum Op {
    Derive,
    Import([u8; 32]),
    Remove(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Derive),
        any::<[u8; 32]>().prop_map(Op::Import),
        any::<usize>().prop_map(Op::Remove),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any sequence of operations serializes and reloads to the same accounts
    /// and keys, and the address list never holds duplicates.
    #[test]
    fn any_history_round_trips(ops in proptest::collection::vec(op(), 0..12)) {
        let mut k = anvil();
        for o in ops {
            match o {
                Op::Derive => { k.derive_next(SourceId(0)).unwrap(); }
                Op::Import(b) => {
                    if let Ok(key) = PrivateKey::from_bytes(&b) { let _ = k.import_private_key(key); }
                }
                Op::Remove(i) => {
                    let n = k.accounts().len();
                    if n > 1 {
                        let a = k.accounts().nth(i % n).unwrap().address;
                        k.remove_account(a).unwrap();
                    }
                }
            }
        }
        let back = Keyring::from_bytes(&k.to_bytes()).unwrap();
        let before: Vec<_> = k.accounts().collect();
        prop_assert_eq!(back.accounts().collect::<Vec<_>>(), before.clone());
        let mut addrs: Vec<_> = before.iter().map(|a| a.address).collect();
        addrs.sort();
        addrs.dedup();
        prop_assert_eq!(addrs.len(), before.len());
    }

    /// Generated phrases always parse back to themselves.
    #[test]
    fn generate_parse_round_trip(seed in any::<[u8; 32]>(), long in any::<bool>()) {
        use rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
        let wc = if long { tandem_keys::WordCount::TwentyFour } else { tandem_keys::WordCount::Twelve };
        let m = Mnemonic::generate(&mut rng, wc);
        prop_assert_eq!(Mnemonic::parse(&m.phrase()).unwrap(), m);
    }
}
