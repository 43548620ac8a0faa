//! The primitives agree with each other and refuse bad input, natively.
#![allow(clippy::unwrap_used)]

use tandem_wasm_prims::{
    prim_get_public_key, prim_keccak256, prim_recover, prim_sign, prim_verify, prim_xchacha_open,
    prim_xchacha_seal,
};

#[test]
fn primitives_agree_with_each_other() {
    let sk = [7u8; 32];
    let h = prim_keccak256(b"abc");
    assert_eq!(
        hex::encode(&h),
        "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    );
    let pk = prim_get_public_key(&sk).unwrap();
    let sig = prim_sign(&sk, &h).unwrap();
    assert!(prim_verify(&sig, &h, &pk).unwrap());
    assert_eq!(prim_recover(&sig, &h).unwrap(), pk);
    let mut bad = sig.clone();
    bad[10] ^= 1;
    assert!(!prim_verify(&bad, &h, &pk).unwrap());
    assert!(prim_sign(&[0u8; 32], &h).is_err());
    let ct = prim_xchacha_seal(&[1; 32], &[2; 24], b"data").unwrap();
    assert_eq!(prim_xchacha_open(&[1; 32], &[2; 24], &ct).unwrap(), b"data");
    assert_eq!(
        prim_xchacha_open(&[9; 32], &[2; 24], &ct)
            .err()
            .map(|e| e.kind),
        Some("Tampered")
    );
}
