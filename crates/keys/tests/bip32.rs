//! BIP-32 test vectors 1 and 2 and the BIP-44 Ethereum path.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

use tandem_keys::{bip32::ExtendedKey, Keyring, Mnemonic, PrivateKey};

/// (path, xpub, xprv) from BIP-32 "Test Vectors" (bitcoin/bips bip-0032.mediawiki).
const VECTOR_1_SEED: &str = "000102030405060708090a0b0c0d0e0f";
const VECTOR_1: &[(&str, &str, &str)] = &[
    ("m", "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8", "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"),
    ("m/0'", "xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw", "xprv9uHRZZhk6KAJC1avXpDAp4MDc3sQKNxDiPvvkX8Br5ngLNv1TxvUxt4cV1rGL5hj6KCesnDYUhd7oWgT11eZG7XnxHrnYeSvkzY7d2bhkJ7"),
    ("m/0'/1", "xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ", "xprv9wTYmMFdV23N2TdNG573QoEsfRrWKQgWeibmLntzniatZvR9BmLnvSxqu53Kw1UmYPxLgboyZQaXwTCg8MSY3H2EU4pWcQDnRnrVA1xe8fs"),
    ("m/0'/1/2'", "xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5", "xprv9z4pot5VBttmtdRTWfWQmoH1taj2axGVzFqSb8C9xaxKymcFzXBDptWmT7FwuEzG3ryjH4ktypQSAewRiNMjANTtpgP4mLTj34bhnZX7UiM"),
    ("m/0'/1/2'/2", "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV", "xprvA2JDeKCSNNZky6uBCviVfJSKyQ1mDYahRjijr5idH2WwLsEd4Hsb2Tyh8RfQMuPh7f7RtyzTtdrbdqqsunu5Mm3wDvUAKRHSC34sJ7in334"),
    ("m/0'/1/2'/2/1000000000", "xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy", "xprvA41z7zogVVwxVSgdKUHDy1SKmdb533PjDz7J6N6mV6uS3ze1ai8FHa8kmHScGpWmj4WggLyQjgPie1rFSruoUihUZREPSL39UNdE3BBDu76"),
];

const VECTOR_2_SEED: &str = "fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c999693908d8a8784817e7b7875726f6c696663605d5a5754514e4b484542";
const VECTOR_2: &[(&str, &str, &str)] = &[
    ("m", "xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB", "xprv9s21ZrQH143K31xYSDQpPDxsXRTUcvj2iNHm5NUtrGiGG5e2DtALGdso3pGz6ssrdK4PFmM8NSpSBHNqPqm55Qn3LqFtT2emdEXVYsCzC2U"),
    ("m/0", "xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH", "xprv9vHkqa6EV4sPZHYqZznhT2NPtPCjKuDKGY38FBWLvgaDx45zo9WQRUT3dKYnjwih2yJD9mkrocEZXo1ex8G81dwSM1fwqWpWkeS3v86pgKt"),
    ("m/0/2147483647'", "xpub6ASAVgeehLbnwdqV6UKMHVzgqAG8Gr6riv3Fxxpj8ksbH9ebxaEyBLZ85ySDhKiLDBrQSARLq1uNRts8RuJiHjaDMBU4Zn9h8LZNnBC5y4a", "xprv9wSp6B7kry3Vj9m1zSnLvN3xH8RdsPP1Mh7fAaR7aRLcQMKTR2vidYEeEg2mUCTAwCd6vnxVrcjfy2kRgVsFawNzmjuHc2YmYRmagcEPdU9"),
    ("m/0/2147483647'/1", "xpub6DF8uhdarytz3FWdA8TvFSvvAh8dP3283MY7p2V4SeE2wyWmG5mg5EwVvmdMVCQcoNJxGoWaU9DCWh89LojfZ537wTfunKau47EL2dhHKon", "xprv9zFnWC6h2cLgpmSA46vutJzBcfJ8yaJGg8cX1e5StJh45BBciYTRXSd25UEPVuesF9yog62tGAQtHjXajPPdbRCHuWS6T8XA2ECKADdw4Ef"),
    ("m/0/2147483647'/1/2147483646'", "xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL", "xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDPS3xz7iAxn8L39njGVyuoseXzU6rcxFLJ8HFsTjSyQbLYnMpCqE2VbFWc"),
    ("m/0/2147483647'/1/2147483646'/2", "xpub6FnCn6nSzZAw5Tw7cgR9bi15UV96gLZhjDstkXXxvCLsUXBGXPdSnLFbdpq8p9HmGsApME5hQTZ3emM2rnY5agb9rXpVGyy3bdW6EEgAtqt", "xprvA2nrNbFZABcdryreWet9Ea4LvTJcGsqrMzxHx98MMrotbir7yrKCEXw7nadnHM8Dq38EGfSh6dqA9QWTyefMLEcBYJUuekgW4BYPJcr9E7j"),
];

/// The published xprv/xpub strings are read with the `bip32` crate (a
/// dev-dependency); the key, chain code and public key derived here must
/// equal theirs.
fn check(seed_hex: &str, vectors: &[(&str, &str, &str)]) {
    let seed = hex::decode(seed_hex).unwrap();
    let master = ExtendedKey::master(&seed).unwrap();
    for (path, xpub, xprv) in vectors {
        let k = master.derive_path(path).unwrap();
        let want: bip32::XPrv = xprv.parse().unwrap();
        assert_eq!(
            &k.private_key().to_bytes()[..],
            &bip32::PrivateKey::to_bytes(want.private_key())[..],
            "{path}"
        );
        assert_eq!(k.chain_code(), &want.attrs().chain_code, "{path}");
        let want_pub: bip32::XPub = xpub.parse().unwrap();
        let point = k.private_key().verifying_key().to_encoded_point(true);
        assert_eq!(point.as_bytes(), want_pub.to_bytes().as_slice(), "{path}");
    }
}

#[test]
fn hardened_and_malformed_components() {
    let master = ExtendedKey::master(&hex::decode(VECTOR_1_SEED).unwrap()).unwrap();
    // "h" is BIP-32's other spelling of a hardened step.
    let a = master.derive_path("m/0h/1").unwrap();
    let b = master.derive_path("m/0'/1").unwrap();
    assert_eq!(a.chain_code(), b.chain_code());
    for bad in [
        "",
        "0/1",
        "m/",
        "m/-1",
        "m/2147483648",
        "m/1''",
        "m/+1",
        "m/ 1",
    ] {
        assert!(master.derive_path(bad).is_err(), "{bad:?}");
    }
    assert!(ExtendedKey::master(&[0u8; 15]).is_err());
    assert!(ExtendedKey::master(&[0u8; 65]).is_err());
    assert!(master.child(1 << 31).is_err());
}

#[test]
fn bip32_test_vector_1() {
    check(VECTOR_1_SEED, VECTOR_1);
}

#[test]
fn bip32_test_vector_2() {
    check(VECTOR_2_SEED, VECTOR_2);
}

#[test]
fn malformed_path_is_rejected_by_name() {
    let master = ExtendedKey::master(&[1u8; 32]).unwrap();
    let e = master.derive_path("m/44'/x").unwrap_err();
    assert!(e.to_string().contains("m/44'/x"));
}

/// Anvil's (and Hardhat's) default mnemonic and its 10 accounts, as printed by
/// `anvil` at start-up (Foundry book, "anvil" reference). The Node test suite
/// also checks these against a running anvil's `eth_accounts`.
pub const ANVIL_MNEMONIC: &str = "test test test test test test test test test test test junk";
const ANVIL_ACCOUNTS: [&str; 10] = [
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
    "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
    "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
    "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
    "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
];

#[test]
fn anvil_default_accounts_checksummed() {
    let mut k = Keyring::from_mnemonic(Mnemonic::parse(ANVIL_MNEMONIC).unwrap(), "").unwrap();
    let src = k.mnemonic_sources().next().unwrap();
    for _ in 1..10 {
        k.derive_next(src).unwrap();
    }
    let got: Vec<String> = k.accounts().map(|a| a.address.to_checksum(None)).collect();
    assert_eq!(got, ANVIL_ACCOUNTS);
}

#[test]
fn anvil_account_0_private_key_imports_to_the_same_address() {
    // Anvil prints this private key for account 0.
    let k =
        PrivateKey::from_hex("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
            .unwrap();
    assert_eq!(k.address().to_checksum(None), ANVIL_ACCOUNTS[0]);
}
