//! BIP-39 known-answer tests and input errors.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

use rand_core::{CryptoRng, RngCore};
use tandem_keys::{Error, Mnemonic, WordCount};

/// Vectors: trezor/python-mnemonic `vectors.json`, English, passphrase "TREZOR"
/// (the reference implementation's test data, linked from BIP-39): entropy,
/// phrase, seed, and the BIP-32 master `xprv` of that seed.
const TREZOR: &str = include_str!("vectors/bip39-trezor.json");

fn vectors() -> Vec<(String, String, String, String)> {
    let v: serde_json::Value = serde_json::from_str(TREZOR).unwrap();
    v["english"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let s = |i: usize| row[i].as_str().unwrap().to_owned();
            (s(0), s(1), s(2), s(3))
        })
        .collect()
}

/// An "RNG" that returns fixed bytes, to drive `generate` with vector entropy.
struct Fixed(Vec<u8>);
impl RngCore for Fixed {
    fn next_u32(&mut self) -> u32 {
        unimplemented!()
    }
    fn next_u64(&mut self) -> u64 {
        unimplemented!()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.copy_from_slice(&self.0[..dest.len()]);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for Fixed {}

#[test]
fn trezor_vectors_phrase_and_seed() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 24);
    for (entropy, phrase, seed, xprv) in vectors {
        let m = Mnemonic::parse(&phrase).unwrap();
        assert_eq!(*m.phrase(), phrase);
        let s = m.to_seed("TREZOR");
        assert_eq!(hex::encode(s.as_bytes()), seed, "{phrase}");
        let master = tandem_keys::bip32::ExtendedKey::master(s.as_bytes()).unwrap();
        let want: bip32::XPrv = xprv.parse().unwrap();
        assert_eq!(
            &master.private_key().to_bytes()[..],
            &bip32::PrivateKey::to_bytes(want.private_key())[..],
            "{phrase}"
        );
        assert_eq!(master.chain_code(), &want.attrs().chain_code, "{phrase}");
        let entropy = hex::decode(entropy).unwrap();
        if let Ok(wc) = WordCount::from_words(m.word_count()) {
            let generated = Mnemonic::generate(&mut Fixed(entropy), wc);
            assert_eq!(*generated.phrase(), phrase);
        }
    }
}

#[test]
fn generated_phrases_have_the_requested_length_and_differ() {
    let mut rng = rand_core::OsRng;
    let a = Mnemonic::generate(&mut rng, WordCount::Twelve);
    let b = Mnemonic::generate(&mut rng, WordCount::Twelve);
    let c = Mnemonic::generate(&mut rng, WordCount::TwentyFour);
    assert_eq!(a.word_count(), 12);
    assert_eq!(c.word_count(), 24);
    assert_ne!(*a.phrase(), *b.phrase());
    assert_eq!(Mnemonic::parse(&a.phrase()).unwrap(), a);
}

#[test]
fn case_and_whitespace_are_forgiven() {
    let m = Mnemonic::parse("  Abandon abandon\tabandon abandon abandon abandon\nabandon abandon abandon abandon abandon ABOUT ").unwrap();
    assert_eq!(
        *m.phrase(),
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
    );
}

#[test]
fn wrong_word_count_is_reported_with_the_count() {
    let e = Mnemonic::parse("abandon abandon abandon").unwrap_err();
    assert_eq!(e, Error::WordCount { got: 3 });
    assert!(e.to_string().contains("this one has 3"));
    assert_eq!(
        Mnemonic::parse("").unwrap_err(),
        Error::WordCount { got: 0 }
    );
}

#[test]
fn unknown_word_is_reported_by_position_not_text() {
    let e = Mnemonic::parse("abandon abandon abandon abandon abandonn abandon abandon abandon abandon abandon abandon about").unwrap_err();
    assert_eq!(e, Error::UnknownWord { position: 5 });
    let msg = e.to_string();
    assert!(msg.contains("word 5"), "{msg}");
    assert!(
        !msg.contains("abandonn"),
        "the error must not echo the typed word: {msg}"
    );
    // Two unknown words and a checksum that cannot match: the first unknown
    // word wins over both.
    assert_eq!(
        Mnemonic::parse("abandon zzz abandon abandon abandon abandon abandon abandon abandon abandon abandon qqq").unwrap_err(),
        Error::UnknownWord { position: 2 }
    );
}

#[test]
fn bad_checksum_is_distinct() {
    // Last word changed from "about" to "abandon": valid words, wrong checksum.
    let e = Mnemonic::parse("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon").unwrap_err();
    assert_eq!(e, Error::Checksum);
}

#[test]
fn passphrase_changes_the_seed_and_is_nfkd_normalized() {
    let m = Mnemonic::parse("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about").unwrap();
    assert_ne!(m.to_seed("").as_bytes(), m.to_seed("TREZOR").as_bytes());
    // "é" precomposed (U+00E9) and decomposed (e + U+0301) are one passphrase.
    assert_eq!(
        m.to_seed("caf\u{e9}").as_bytes(),
        m.to_seed("cafe\u{301}").as_bytes()
    );
}

proptest::proptest! {
    /// Our checksum (sha2) against the `bip39` crate's own (bitcoin_hashes),
    /// which `Mnemonic` no longer calls: for random entropy of every BIP-39
    /// length, the crate's phrase parses here to the same words; with its last
    /// word swapped for any other word, both accept or both refuse; and a
    /// phrase generated here is one the crate accepts.
    #[test]
    fn checksum_agrees_with_the_bip39_crate(
        entropy in proptest::collection::vec(proptest::num::u8::ANY, 32),
        len in proptest::sample::select(vec![16usize, 20, 24, 28, 32]),
        swap in 0usize..2048,
    ) {
        let theirs = bip39::Mnemonic::from_entropy(&entropy[..len]).unwrap();
        let phrase = theirs.to_string();
        let ours = Mnemonic::parse(&phrase).unwrap();
        proptest::prop_assert_eq!(&*ours.phrase(), &phrase);

        let mut words: Vec<&str> = phrase.split(' ').collect();
        let list = bip39::Language::English.word_list();
        *words.last_mut().unwrap() = list[swap];
        let swapped = words.join(" ");
        let crate_ok = bip39::Mnemonic::parse_in_normalized(bip39::Language::English, &swapped).is_ok();
        match Mnemonic::parse(&swapped) {
            Ok(_) => proptest::prop_assert!(crate_ok, "we accept what the crate refuses: {swapped}"),
            Err(e) => {
                proptest::prop_assert_eq!(e, Error::Checksum);
                proptest::prop_assert!(!crate_ok, "we refuse what the crate accepts: {swapped}");
            }
        }

        if len == 16 || len == 32 {
            let wc = if len == 16 { WordCount::Twelve } else { WordCount::TwentyFour };
            let generated = Mnemonic::generate(&mut Fixed(entropy[..len].to_vec()), wc);
            proptest::prop_assert_eq!(&*generated.phrase(), &phrase);
        }
    }
}
