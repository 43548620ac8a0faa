//! The wasm boundary in a real browser: headless Chromium, inside a service
//! worker like the extension's background. Run by `scripts/test` through
//! `wasm-bindgen-test-runner`.
#![cfg(target_arch = "wasm32")]

use tandem_wasm::{generate_mnemonic, validate_mnemonic, Keyring, Vault};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_service_worker);

mod common;
use common::recover_personal;

const ANVIL: &str = "test test test test test test test test test test test junk";

fn js_error_name(e: tandem_wasm::Error) -> String {
    let v: JsValue = e.into();
    let err: js_sys::Error = v.into();
    String::from(err.name())
}

#[wasm_bindgen_test]
fn randomness_comes_from_the_browser_and_differs() {
    let a = generate_mnemonic(24).unwrap();
    let b = generate_mnemonic(24).unwrap();
    assert_ne!(a, b);
    assert!(validate_mnemonic(&a).is_ok());
}

#[wasm_bindgen_test]
fn anvil_account_signs_and_recovers() {
    let k = Keyring::from_mnemonic(ANVIL, "").unwrap();
    let sig = k
        .sign_personal(
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
            "hello from a service worker",
        )
        .unwrap();
    assert_eq!(
        recover_personal("hello from a service worker", &sig),
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    );
}

#[wasm_bindgen_test]
fn errors_cross_as_named_js_errors() {
    let e = validate_mnemonic("test test test test test test test test test test test jank")
        .unwrap_err();
    assert_eq!(js_error_name(e), "UnknownWord");
    let k = Keyring::from_mnemonic(ANVIL, "").unwrap();
    let sealed = Vault::seal(
        &k,
        "pw",
        Some(r#"{"memory_kib":8,"iterations":1,"parallelism":1}"#.into()),
    )
    .unwrap();
    let e = Vault::unlock(&sealed.vault(), "wrong").unwrap_err();
    assert_eq!(js_error_name(e), "WrongPassword");
}

#[wasm_bindgen_test]
fn passphrases_are_nfkd_normalized_by_the_browser() {
    // BIP-39 salts with the NFKD passphrase: precomposed and decomposed "é"
    // must give one seed, so the same accounts (the seeds themselves are
    // checked against @scure/bip39 by the Node differential suite).
    let accounts = |pass: &str| Keyring::from_mnemonic(ANVIL, pass).unwrap().accounts();
    let a = accounts("caf\u{e9}");
    assert_eq!(a, accounts("cafe\u{301}"));
    assert_ne!(a, accounts("cafe"));
}

#[wasm_bindgen_test]
fn default_vault_seals_and_unlocks_in_the_browser() {
    // The real default cost (64 MiB Argon2id): it must allocate and finish in
    // a service worker. Its speed is measured in scripts/bench, not here.
    let k = Keyring::from_mnemonic(ANVIL, "").unwrap();
    let sealed = Vault::seal(&k, "correct horse", None).unwrap();
    let mut unlocked = Vault::unlock(&sealed.vault(), "correct horse").unwrap();
    assert_eq!(unlocked.take_keyring().unwrap().accounts(), k.accounts());
    let reopened = Vault::open(&unlocked.vault(), &unlocked.session_key()).unwrap();
    assert_eq!(reopened.accounts(), k.accounts());
}
