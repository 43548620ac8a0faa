//! Every secret-bearing type formats without its secret, and errors never
//! carry secret input.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

use tandem_keys::{bip32::ExtendedKey, Keyring, Mnemonic, PrivateKey};

const PHRASE: &str = "legal winner thank year wave sausage worth useful legal winner thank yellow";
const KEY: &str = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";

fn assert_clean(formatted: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(
            !formatted.to_lowercase().contains(&s.to_lowercase()),
            "{formatted:?} leaks {s:?}"
        );
    }
}

#[test]
fn debug_output_holds_no_secret() {
    let m = Mnemonic::parse(PHRASE).unwrap();
    let seed = m.to_seed("hunter2");
    let seed_hex = hex::encode(seed.as_bytes());
    let master = ExtendedKey::master(seed.as_bytes()).unwrap();
    let xprv = hex::encode(master.chain_code());
    let child = master.derive_path("m/44'/60'/0'/0/0").unwrap();
    let child_key_hex = hex::encode(child.private_key().to_bytes().as_slice());
    let key = PrivateKey::from_hex(KEY).unwrap();
    let mut ring = Keyring::from_mnemonic(m.clone(), "hunter2").unwrap();
    ring.import_private_key(key.clone()).unwrap();

    // Secrets: every word of the phrase (as a run), the passphrase, seed, xprv,
    // derived key, imported key.
    let secrets = [
        PHRASE,
        "legal winner",
        "hunter2",
        seed_hex.as_str(),
        &seed_hex[..16],
        xprv.as_str(),
        &xprv[4..20],
        child_key_hex.as_str(),
        &child_key_hex[..16],
        KEY,
        &KEY[..16],
    ];
    for formatted in [
        format!("{m:?}"),
        format!("{m:#?}"),
        format!("{seed:?}"),
        format!("{master:?}"),
        format!("{child:?}"),
        format!("{:?}", child.private_key()),
        format!("{key:?}"),
        format!("{key:#?}"),
        format!("{ring:?}"),
        format!("{ring:#?}"),
    ] {
        assert_clean(&formatted, &secrets);
    }
}

#[test]
fn errors_never_echo_secret_input() {
    let typo = "legal winner thank year wave sausage worth useful legal winnerr thank yellow";
    let e = Mnemonic::parse(typo).unwrap_err();
    assert_clean(&format!("{e} {e:?}"), &["winnerr", "legal winner"]);
    let bad_key = format!("{}zz", &KEY[..62]);
    let e = PrivateKey::from_hex(&bad_key).unwrap_err();
    assert_clean(&format!("{e} {e:?}"), &[&KEY[..16]]);
    let e = PrivateKey::from_hex(&KEY[..40]).unwrap_err();
    assert_clean(&format!("{e} {e:?}"), &[&KEY[..16]]);
}
