//! The boundary's plain-Rust behaviour, natively: what JS gets back and which
//! error kinds it sees. The same API runs in a browser in `tests/web.rs`.

use serde_json::Value;
use tandem_wasm::{generate_mnemonic, validate_mnemonic, Keyring, Vault};

const ANVIL: &str = "test test test test test test test test test test test junk";
const FAST: &str = r#"{"memory_kib":8,"iterations":1,"parallelism":1}"#;

mod common;
use common::recover_personal;

#[test]
fn mnemonic_generation_and_validation() {
    let m = generate_mnemonic(12).unwrap();
    assert_eq!(m.split(' ').count(), 12);
    assert_eq!(generate_mnemonic(24).unwrap().split(' ').count(), 24);
    assert_eq!(generate_mnemonic(13).unwrap_err().kind, "WordCount");
    assert!(validate_mnemonic(&m).is_ok());
    assert_eq!(
        validate_mnemonic("test test").unwrap_err().kind,
        "WordCount"
    );
    assert_eq!(
        validate_mnemonic("test test test test test test test test test test test jank")
            .unwrap_err()
            .kind,
        "UnknownWord"
    );
    assert_eq!(
        validate_mnemonic("test test test test test test test test test test test test")
            .unwrap_err()
            .kind,
        "Checksum"
    );
}

#[test]
fn keyring_accounts_are_checksummed_json() {
    let mut k = Keyring::from_mnemonic(ANVIL, "").unwrap();
    let next: Value = serde_json::from_str(&k.derive_next(0).unwrap()).unwrap();
    assert_eq!(
        next["address"],
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    );
    assert_eq!(next["origin"]["kind"], "derived");
    assert_eq!(next["origin"]["index"], 1);
    let all: Value = serde_json::from_str(&k.accounts()).unwrap();
    assert_eq!(
        all[0]["address"],
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    );
    assert_eq!(k.mnemonic_sources(), vec![0]);
    let e = k
        .import_private_key("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
        .unwrap_err();
    assert_eq!(e.kind, "DuplicateAccount");
    assert_eq!(
        k.import_private_key("0x12").unwrap_err().kind,
        "PrivateKeyLength"
    );
}

#[test]
fn signing_through_the_boundary_recovers() {
    let k = Keyring::from_mnemonic(ANVIL, "").unwrap();
    let a = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
    let sig = k.sign_personal(a, "hello").unwrap();
    assert_eq!(
        recover_personal("hello", &sig),
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    );
    assert_eq!(
        k.sign_personal("0x1234", "x").unwrap_err().kind,
        "InvalidInput"
    );
    assert_eq!(
        k.sign_personal("0x0000000000000000000000000000000000000001", "x")
            .unwrap_err()
            .kind,
        "UnknownAccount"
    );
    let tx = k
        .sign_transaction(a, r#"{"to":"0x000000000000000000000000000000000000dEaD","value":"0x1","nonce":"0x0","gas":"0x5208","maxFeePerGas":"0x77359400","maxPriorityFeePerGas":"0x1","chainId":"0x7a69"}"#)
        .unwrap();
    let tx: Value = serde_json::from_str(&tx).unwrap();
    assert_eq!(tx["type"], 2);
    let raw = hex::decode(tx["raw"].as_str().unwrap().trim_start_matches("0x")).unwrap();
    let d = tandem_eth::transaction::decode(&raw).unwrap();
    assert_eq!(
        d.from.to_checksum(None),
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    );
    assert_eq!(d.hash.to_string(), tx["hash"].as_str().unwrap());
    assert_eq!(d.chain_id, Some(31337));
    assert_eq!(k.sign_transaction(a, "{}").unwrap_err().kind, "Transaction");
    assert_eq!(k.sign_typed_data(a, "[]").unwrap_err().kind, "TypedData");
}

#[test]
fn vault_through_the_boundary() {
    let k = Keyring::from_mnemonic(ANVIL, "").unwrap();
    let sealed = Vault::seal(&k, "pw", Some(FAST.into())).unwrap();
    let vault = sealed.vault();
    assert!(!vault.contains("test test"));
    assert_eq!(
        Vault::unlock(&vault, "nope").unwrap_err().kind,
        "WrongPassword"
    );
    let mut unlocked = Vault::unlock(&vault, "pw").unwrap();
    // Each unlock seals the vault under a new session key: the one from
    // sealing opens the vault as it was, not the one to store now.
    assert_ne!(unlocked.session_key(), sealed.session_key());
    let vault_now = unlocked.vault();
    assert_eq!(
        Vault::open(&vault_now, &sealed.session_key())
            .unwrap_err()
            .kind,
        "KeyNotCurrent"
    );
    let mut ring = unlocked.take_keyring().unwrap();
    assert_eq!(unlocked.take_keyring().unwrap_err().kind, "InvalidInput");
    ring.derive_next(0).unwrap();
    let resealed = Vault::reseal(&vault_now, &unlocked.session_key(), &ring).unwrap();
    let reopened = Vault::open(&resealed, &unlocked.session_key()).unwrap();
    assert_eq!(reopened.accounts(), ring.accounts());
    assert_eq!(
        Vault::open(&resealed, &[0; 32]).unwrap_err().kind,
        "KeyNotCurrent"
    );
    assert_eq!(
        Vault::open(&resealed, &[0; 3]).unwrap_err().kind,
        "InvalidInput"
    );
    let tampered = resealed.replacen("\"ciphertext\":\"", "\"ciphertext\":\"AAAA", 1);
    assert_eq!(Vault::unlock(&tampered, "pw").unwrap_err().kind, "Tampered");
    assert_eq!(Vault::unlock("{}", "pw").unwrap_err().kind, "Malformed");
    let changed = Vault::change_password(&resealed, "pw", "new", Some(FAST.into())).unwrap();
    assert!(Vault::unlock(&changed.vault(), "new").is_ok());
    assert_eq!(
        Vault::unlock(&changed.vault(), "pw").unwrap_err().kind,
        "WrongPassword"
    );
    assert_eq!(
        Vault::seal(&k, "pw", Some("{".into())).unwrap_err().kind,
        "InvalidInput"
    );
}

#[test]
fn errors_hold_no_secret() {
    let e = validate_mnemonic("test test test test test test test test test test test jank")
        .unwrap_err();
    assert!(!e.message.contains("jank"));
    let e = Keyring::from_private_key(
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2fzz",
    )
    .unwrap_err();
    assert!(!e.message.contains("ac0974bec3"));
    let k = Keyring::from_mnemonic(ANVIL, "secret pass").unwrap();
    let dbg = format!("{k:?}");
    assert!(
        !dbg.contains("test test") && !dbg.contains("secret pass"),
        "{dbg}"
    );
}

/// Settings → "Show recovery phrase" / "Export private key" and the account
/// list's import and remove, through the boundary the worker calls. The key
/// is anvil's printed private key 1 (`anvil` with the test mnemonic).
#[test]
fn export_import_and_remove_through_the_boundary() {
    const KEY_1: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    const ACCOUNT_1: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    const ACCOUNT_0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    let mut k = Keyring::from_mnemonic(ANVIL, "").unwrap();
    let first = k.derive_next(0).unwrap();
    assert!(first.contains(ACCOUNT_1));
    let vault = Vault::seal(&k, "pw", Some(FAST.into())).unwrap().vault();
    assert_eq!(Vault::export(&vault, "pw", ACCOUNT_1, true).unwrap(), ANVIL);
    assert_eq!(
        Vault::export(&vault, "pw", ACCOUNT_1, false).unwrap(),
        KEY_1
    );
    // A wrong password: WrongPassword, and the message holds nothing of the secret.
    let e = Vault::export(&vault, "nope", ACCOUNT_1, true).unwrap_err();
    assert_eq!(e.kind, "WrongPassword");
    assert!(!e.message.contains("test") && !e.message.contains("59c699"));
    // An address that is not here is refused by name, not answered with another's key.
    let stranger = "0x0000000000000000000000000000000000000001";
    assert_eq!(
        Vault::export(&vault, "pw", stranger, false)
            .unwrap_err()
            .kind,
        "UnknownAccount"
    );

    // Import: a second phrase and a key, then remove down to one account.
    let other = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
    let added = k.add_mnemonic(other, "").unwrap();
    assert_eq!(
        k.add_mnemonic(other, "").unwrap_err().kind,
        "DuplicateSource"
    );
    let mut ring = Keyring::from_private_key(KEY_1).unwrap();
    assert_eq!(
        ring.remove_account(ACCOUNT_1).unwrap_err().kind,
        "LastAccount"
    );
    ring.import_private_key("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
        .unwrap();
    assert!(ring.remove_account(ACCOUNT_1).unwrap().contains(ACCOUNT_1));
    assert!(ring.accounts().contains(ACCOUNT_0) && !ring.accounts().contains(ACCOUNT_1));
    let sealed = Vault::seal(&k, "pw", Some(FAST.into())).unwrap().vault();
    let addr: serde_json::Value = serde_json::from_str(&added).unwrap();
    let addr = addr["address"].as_str().unwrap();
    assert_eq!(Vault::export(&sealed, "pw", addr, true).unwrap(), other);
    assert_eq!(
        Vault::export(
            &Vault::seal(&ring, "pw", Some(FAST.into())).unwrap().vault(),
            "pw",
            ACCOUNT_0,
            true
        )
        .unwrap_err()
        .kind,
        "NoPhrase"
    );
}
