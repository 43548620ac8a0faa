//! Vault round trips, wrong password vs tampering, header checks, format stability.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use proptest::prelude::*;
use rand_core::OsRng;
use serde_json::Value;
use tandem_vault::{Error, KdfParams, Vault, VaultKey};

const FAST: KdfParams = KdfParams::INSECURE_TEST;
const SECRET: &[u8] = b"{\"format\":1,\"sources\":[\"the secret words\"]}";

fn sealed() -> (Vault, VaultKey) {
    Vault::seal(&mut OsRng, b"correct horse", SECRET, FAST).unwrap()
}

fn edit(vault: &Vault, f: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(&vault.to_json()).unwrap();
    f(&mut v);
    v.to_string()
}

fn flip_b64(v: &mut Value, byte: usize) {
    let mut bytes = B64.decode(v.as_str().unwrap()).unwrap();
    bytes[byte] ^= 0x01;
    *v = Value::String(B64.encode(bytes));
}

#[test]
fn round_trip_with_password_and_with_session_key() {
    let (vault, key) = sealed();
    let parsed = Vault::from_json(&vault.to_json()).unwrap();
    assert_eq!(parsed, vault);
    // A restarted service worker reopens with the 32-byte key, no KDF.
    let restored = VaultKey::from_bytes(&key.to_bytes());
    assert_eq!(parsed.open(&restored).unwrap().as_slice(), SECRET);
    let u = parsed.unlock(&mut OsRng, b"correct horse").unwrap();
    assert_eq!(u.plaintext.as_slice(), SECRET);
    assert_eq!(u.vault.open(&u.key).unwrap().as_slice(), SECRET);
    assert_eq!(parsed.read(b"correct horse").unwrap().as_slice(), SECRET);
}

/// Issue 13, item 11: the key kept while unlocked is not the key derived
/// from the password (which would open the vault for as long as the
/// password stays), and each unlock replaces it: an earlier session's key
/// opens nothing stored after it.
#[test]
fn the_session_key_is_not_the_password_key_and_each_unlock_replaces_it() {
    let (vault, sealed_key) = sealed();
    // The password's key, derived here from the stored salt and cost.
    let json: Value = serde_json::from_str(&vault.to_json()).unwrap();
    let salt = B64.decode(json["kdf"]["salt"].as_str().unwrap()).unwrap();
    let mut master = [0u8; 32];
    argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(FAST.memory_kib, FAST.iterations, FAST.parallelism, Some(32)).unwrap(),
    )
    .hash_password_into(b"correct horse", &salt, &mut master)
    .unwrap();
    let mut keys = vec![sealed_key];
    let mut current = vault;
    for _ in 0..3 {
        let u = current.unlock(&mut OsRng, b"correct horse").unwrap();
        keys.push(u.key);
        current = u.vault;
    }
    let bytes: Vec<[u8; 32]> = keys.iter().map(|k| *k.to_bytes()).collect();
    for (i, k) in bytes.iter().enumerate() {
        assert_ne!(*k, master, "key {i} is the password's key");
        for later in &bytes[i + 1..] {
            assert_ne!(k, later, "an unlock kept the key");
        }
    }
    let (last, earlier) = keys.split_last().unwrap();
    assert_eq!(current.open(last).unwrap().as_slice(), SECRET);
    for (i, k) in earlier.iter().enumerate() {
        assert_eq!(
            current.open(k).unwrap_err(),
            Error::KeyNotCurrent,
            "key {i}"
        );
        assert_eq!(
            current.reseal(&mut OsRng, k, b"planted").unwrap_err(),
            Error::KeyNotCurrent,
            "key {i}"
        );
    }
    assert_eq!(
        current.open(&VaultKey::from_bytes(&master)).unwrap_err(),
        Error::KeyNotCurrent
    );
    // The password still opens it, and nothing in the file is a key.
    assert_eq!(current.read(b"correct horse").unwrap().as_slice(), SECRET);
    let stored = current.to_json();
    for k in bytes.iter().chain([&master]) {
        assert!(!stored.contains(&B64.encode(k)));
        assert!(!stored.contains(&hex::encode(k)));
    }
}

#[test]
fn a_changed_data_key_is_tampering_and_a_version_1_vault_has_none() {
    let (vault, _) = sealed();
    for i in [0, 20, 47] {
        let j = edit(&vault, |v| flip_b64(&mut v["data_key"]["wrapped"], i));
        assert_eq!(
            Vault::from_json(&j)
                .unwrap()
                .unlock(&mut OsRng, b"correct horse")
                .unwrap_err(),
            Error::Tampered,
            "byte {i}"
        );
    }
    let j = edit(&vault, |v| flip_b64(&mut v["data_key"]["nonce"], 0));
    assert_eq!(
        Vault::from_json(&j)
            .unwrap()
            .read(b"correct horse")
            .unwrap_err(),
        Error::Tampered
    );
    let j = edit(&vault, |v| {
        v.as_object_mut().unwrap().remove("data_key");
    });
    assert!(
        matches!(Vault::from_json(&j), Err(Error::Malformed(m)) if m.contains("data key is missing"))
    );
    let j = edit(&vault, |v| v["version"] = 1.into());
    assert!(
        matches!(Vault::from_json(&j), Err(Error::Malformed(m)) if m.contains("version 1 vault has no data key"))
    );
}

#[test]
fn ciphertext_is_not_the_plaintext_and_salts_differ() {
    let (a, _) = sealed();
    let (b, _) = sealed();
    let json = a.to_json();
    assert!(!json.contains("the secret words"));
    assert_ne!(a.to_json(), b.to_json());
}

#[test]
fn wrong_password_is_its_own_error() {
    let (vault, _) = sealed();
    assert_eq!(
        vault.unlock(&mut OsRng, b"correct horsf").unwrap_err(),
        Error::WrongPassword
    );
    assert_eq!(vault.read(b"").unwrap_err(), Error::WrongPassword);
    assert_eq!(
        vault.open(&VaultKey::from_bytes(&[7; 32])).unwrap_err(),
        Error::KeyNotCurrent
    );
    assert_eq!(Error::WrongPassword.to_string(), "wrong password");
}

#[test]
fn every_ciphertext_byte_flip_is_tampering() {
    let (vault, _) = sealed();
    let len = B64
        .decode(
            serde_json::from_str::<Value>(&vault.to_json()).unwrap()["ciphertext"]
                .as_str()
                .unwrap(),
        )
        .unwrap()
        .len();
    for i in 0..len {
        let json = edit(&vault, |v| flip_b64(&mut v["ciphertext"], i));
        let e = Vault::from_json(&json)
            .unwrap()
            .read(b"correct horse")
            .unwrap_err();
        assert_eq!(e, Error::Tampered, "byte {i}");
    }
}

#[test]
fn header_edits_are_detected() {
    let (vault, _) = sealed();
    // Nonce: password right, AEAD fails.
    let j = edit(&vault, |v| flip_b64(&mut v["cipher"]["nonce"], 3));
    assert_eq!(
        Vault::from_json(&j)
            .unwrap()
            .read(b"correct horse")
            .unwrap_err(),
        Error::Tampered
    );
    // Salt or KDF cost: a different key, reported as a wrong password (an
    // attacker who can edit the file can also replace it wholesale).
    let j = edit(&vault, |v| flip_b64(&mut v["kdf"]["salt"], 0));
    assert_eq!(
        Vault::from_json(&j)
            .unwrap()
            .read(b"correct horse")
            .unwrap_err(),
        Error::WrongPassword
    );
    let j = edit(&vault, |v| v["kdf"]["iterations"] = 2.into());
    assert_eq!(
        Vault::from_json(&j)
            .unwrap()
            .read(b"correct horse")
            .unwrap_err(),
        Error::WrongPassword
    );
    // Check value.
    let j = edit(&vault, |v| flip_b64(&mut v["check"], 0));
    assert_eq!(
        Vault::from_json(&j)
            .unwrap()
            .read(b"correct horse")
            .unwrap_err(),
        Error::WrongPassword
    );
}

#[test]
fn malformed_and_future_vaults_are_explained() {
    let (vault, _) = sealed();
    assert!(matches!(Vault::from_json("{"), Err(Error::Malformed(_))));
    assert!(matches!(Vault::from_json("[]"), Err(Error::Malformed(_))));
    let j = edit(&vault, |v| v["format"] = "metamask".into());
    assert!(
        matches!(Vault::from_json(&j), Err(Error::Malformed(m)) if m.contains("not a Tandem vault"))
    );
    let j = edit(&vault, |v| v["version"] = 3.into());
    let e = Vault::from_json(&j).unwrap_err();
    assert_eq!(e, Error::UnsupportedVersion(3));
    assert!(e.to_string().contains("update Tandem"));
    let j = edit(&vault, |v| v["kdf"]["algorithm"] = "pbkdf2".into());
    assert!(matches!(
        Vault::from_json(&j),
        Err(Error::UnsupportedAlgorithm(_))
    ));
    let j = edit(&vault, |v| v["cipher"]["nonce"] = "AAAA".into());
    assert!(
        matches!(Vault::from_json(&j), Err(Error::Malformed(m)) if m.contains("nonce must be 24 bytes"))
    );
    let j = edit(&vault, |v| v["ciphertext"] = "!!".into());
    assert!(
        matches!(Vault::from_json(&j), Err(Error::Malformed(m)) if m.contains("ciphertext is not base64"))
    );
    let j = edit(&vault, |v| v["extra"] = 1.into());
    assert!(matches!(Vault::from_json(&j), Err(Error::Malformed(_))));
}

#[test]
fn absurd_kdf_parameters_are_refused_before_allocating() {
    let (vault, _) = sealed();
    let j = edit(&vault, |v| v["kdf"]["memory_kib"] = (u32::MAX).into());
    assert!(matches!(Vault::from_json(&j), Err(Error::KdfParams { .. })));
    let j = edit(&vault, |v| v["kdf"]["parallelism"] = 0.into());
    assert!(matches!(Vault::from_json(&j), Err(Error::KdfParams { .. })));
    let e = Vault::seal(
        &mut OsRng,
        b"pw",
        b"x",
        KdfParams {
            memory_kib: 1,
            iterations: 1,
            parallelism: 1,
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("memory 1 KiB"), "{e}");
}

#[test]
fn empty_password_refused_for_new_vaults() {
    assert_eq!(
        Vault::seal(&mut OsRng, b"", SECRET, FAST).unwrap_err(),
        Error::EmptyPassword
    );
}

#[test]
fn reseal_keeps_the_password_and_refuses_foreign_keys() {
    let (vault, key) = sealed();
    let next = vault.reseal(&mut OsRng, &key, b"new contents").unwrap();
    assert_eq!(
        next.read(b"correct horse").unwrap().as_slice(),
        b"new contents"
    );
    assert_eq!(next.open(&key).unwrap().as_slice(), b"new contents");
    assert_ne!(next.to_json(), vault.to_json());
    let (_, other_key) = sealed();
    assert_eq!(
        vault.reseal(&mut OsRng, &other_key, b"x").unwrap_err(),
        Error::KeyNotCurrent
    );
}

#[test]
fn change_password() {
    let (vault, old_key) = sealed();
    assert_eq!(
        vault
            .change_password(&mut OsRng, b"nope", b"new pw", FAST)
            .unwrap_err(),
        Error::WrongPassword
    );
    let (changed, key) = vault
        .change_password(&mut OsRng, b"correct horse", b"new pw", FAST)
        .unwrap();
    assert_eq!(
        changed.read(b"correct horse").unwrap_err(),
        Error::WrongPassword
    );
    assert_eq!(changed.read(b"new pw").unwrap().as_slice(), SECRET);
    assert_eq!(changed.open(&key).unwrap().as_slice(), SECRET);
    assert_eq!(changed.open(&old_key).unwrap_err(), Error::KeyNotCurrent);
}

#[test]
fn default_kdf_is_memory_hard() {
    let d = KdfParams::default();
    assert!(d.memory_kib >= 64 * 1024);
    assert!(d.iterations >= 3);
}

#[test]
fn debug_prints_no_key() {
    let (vault, key) = sealed();
    let raw = hex::encode(key.to_bytes().as_slice());
    let dbg = format!("{key:?} {key:#?} {vault:?}");
    assert!(!dbg.contains(&raw[..16]));
    assert_eq!(format!("{key:?}"), "VaultKey(..)");
}

/// A vault written by format version 1 must open forever. The fixture was
/// written once by this crate (`INSECURE_TEST` cost, password "tandem fixture").
#[test]
fn version_1_fixture_still_opens() {
    let fixture = include_str!("vectors/vault-v1.json");
    let v = Vault::from_json(fixture).unwrap();
    assert_eq!(
        v.read(b"tandem fixture").unwrap().as_slice(),
        b"fixture secret: version 1"
    );
    // Its first unlock writes it again as version 2, under a data key.
    let u = v.unlock(&mut OsRng, b"tandem fixture").unwrap();
    assert_eq!(u.plaintext.as_slice(), b"fixture secret: version 1");
    let json: Value = serde_json::from_str(&u.vault.to_json()).unwrap();
    assert_eq!(json["version"], 2);
    let again = Vault::from_json(&u.vault.to_json()).unwrap();
    assert_eq!(
        again.open(&u.key).unwrap().as_slice(),
        b"fixture secret: version 1"
    );
    assert_eq!(
        again.read(b"tandem fixture").unwrap().as_slice(),
        b"fixture secret: version 1"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn any_plaintext_round_trips(plain in proptest::collection::vec(any::<u8>(), 0..2048), pw in "[ -~]{1,40}") {
        let (vault, _) = Vault::seal(&mut OsRng, pw.as_bytes(), &plain, FAST).unwrap();
        let back = Vault::from_json(&vault.to_json()).unwrap();
        let u = back.unlock(&mut OsRng, pw.as_bytes()).unwrap();
        prop_assert_eq!(u.plaintext.as_slice(), plain.as_slice());
        let reopened = u.vault.open(&u.key).unwrap();
        prop_assert_eq!(reopened.as_slice(), plain.as_slice());
    }
}
