//! Prints one JSON object `{ "op": microseconds_per_op, … }` for the native
//! build of each operation `scripts/bench` also runs in wasm and JavaScript.
//! The inputs and the timing loop mirror `scripts/bench.mjs`.

use std::{hint::black_box, time::Instant};

use alloy_primitives::{keccak256, B256};
use chacha20poly1305::{aead::Aead, KeyInit, XChaCha20Poly1305, XNonce};
use k256::{
    ecdsa::{signature::hazmat::PrehashVerifier, SigningKey},
    NonZeroScalar,
};
use rand_core::OsRng;
use tandem_eth::signature::{parse_rsv, recover_key, sign_prehash};
use tandem_keys::{bip32::ExtendedKey, Mnemonic};
use tandem_vault::{KdfParams, Vault};

/// Median over 5 batches of the per-op time, each batch running for at least
/// `min_ms` (after one warm-up batch).
fn time(min_ms: f64, mut f: impl FnMut()) -> f64 {
    let mut batch = |n: u32| {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    };
    let mut n = 1u32;
    loop {
        let us = batch(n);
        if us * f64::from(n) >= min_ms * 1000.0 || n >= 1 << 24 {
            break;
        }
        n = n.saturating_mul(2);
    }
    let mut v: Vec<f64> = (0..5).map(|_| batch(n)).collect();
    v.sort_by(f64::total_cmp);
    v[2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let ms = if quick { 20.0 } else { 150.0 };
    let sk = [7u8; 32];
    let hash = B256::from([9u8; 32]);
    let key = SigningKey::from_slice(&sk).expect("valid key");
    let scalar = NonZeroScalar::try_from(&sk[..]).expect("valid key");
    let (sig, recid) = key.sign_prehash_recoverable(hash.as_slice()).expect("sign");
    let mut rsv = sig.to_bytes().to_vec();
    rsv.push(recid.to_byte());
    let alloy_sig = parse_rsv(&rsv).expect("sig");
    let vk = *key.verifying_key();
    let phrase = "test test test test test test test test test test test junk";
    let mnemonic = Mnemonic::parse(phrase).expect("phrase");
    let seed = mnemonic.to_seed("");
    let aead = XChaCha20Poly1305::new(&[3u8; 32].into());
    let nonce = XNonce::from([4u8; 24]);
    let kib1 = vec![5u8; 1024];
    let kib64 = vec![5u8; 64 * 1024];
    let (vault, _) = Vault::seal(
        &mut OsRng,
        b"correct horse battery staple",
        b"{}",
        KdfParams::default(),
    )
    .expect("seal");

    let mut out = serde_json::Map::new();
    let mut put = |name: &str, us: f64| {
        out.insert(name.into(), serde_json::json!(us));
    };
    put(
        "getPublicKey",
        time(ms, || {
            let s = NonZeroScalar::try_from(black_box(&sk[..])).expect("key");
            black_box(k256::PublicKey::from_secret_scalar(&s).to_sec1_bytes());
        }),
    );
    put(
        "sign",
        time(ms, || {
            black_box(sign_prehash(&scalar, black_box(&hash)));
        }),
    );
    put(
        "verify",
        time(ms, || {
            black_box(vk.verify_prehash(black_box(hash.as_slice()), &sig).is_ok());
        }),
    );
    put(
        "recover",
        time(ms, || {
            black_box(recover_key(black_box(&hash), &alloy_sig).expect("recover"));
        }),
    );
    put(
        "keccak256 (32 B)",
        time(ms, || {
            black_box(keccak256(black_box(hash.as_slice())));
        }),
    );
    put(
        "keccak256 (1 KiB)",
        time(ms, || {
            black_box(keccak256(black_box(&kib1)));
        }),
    );
    put(
        "mnemonic to seed",
        time(ms, || {
            black_box(mnemonic.to_seed(black_box("")));
        }),
    );
    put(
        "BIP-32 derive m/44'/60'/0'/0/0",
        time(ms, || {
            let k = ExtendedKey::master(black_box(seed.as_bytes()))
                .and_then(|m| m.derive_path("m/44'/60'/0'/0/0"))
                .expect("derive");
            black_box(
                k.private_key()
                    .signing_key()
                    .verifying_key()
                    .to_encoded_point(true),
            );
        }),
    );
    put(
        "XChaCha20-Poly1305 seal 1 KiB",
        time(ms, || {
            black_box(
                aead.encrypt(&nonce, black_box(kib1.as_slice()))
                    .expect("seal"),
            );
        }),
    );
    put(
        "XChaCha20-Poly1305 seal 64 KiB",
        time(ms, || {
            black_box(
                aead.encrypt(&nonce, black_box(kib64.as_slice()))
                    .expect("seal"),
            );
        }),
    );
    put(
        "vault unlock (Argon2id 64 MiB, t=3)",
        time(if quick { 1.0 } else { 1500.0 }, || {
            black_box(
                vault
                    .unlock(&mut OsRng, b"correct horse battery staple")
                    .expect("unlock"),
            );
        }),
    );
    #[allow(clippy::print_stdout)]
    {
        println!("{}", serde_json::Value::Object(out));
    }
}
