//! Transaction request validation, message decoding, signature checks.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

use alloy_primitives::{Address, B256, U256};
use k256::ecdsa::{RecoveryId, Signature as KSig, VerifyingKey};
use proptest::prelude::*;
use tandem_eth::{eip191, eip712, signature, transaction, Error, TransactionRequest};
use tandem_keys::PrivateKey;

fn key() -> PrivateKey {
    PrivateKey::from_hex(&"42".repeat(32)).unwrap()
}

fn req(json: &str) -> TransactionRequest {
    TransactionRequest::from_json(json).unwrap()
}

const BASE_1559: &str = r#"{"to":"0x000000000000000000000000000000000000dEaD","value":"0x1","nonce":"0x0","gas":"0x5208","maxFeePerGas":"0x77359400","maxPriorityFeePerGas":"0x3b9aca00","chainId":"0x7a69"}"#;

#[test]
fn types_are_inferred_and_round_trip() {
    for (json, ty) in [
        (BASE_1559, 2u8),
        (
            r#"{"to":"0x000000000000000000000000000000000000dEaD","nonce":"0x1","gas":"0x5208","gasPrice":"0x1","chainId":"0x1"}"#,
            0,
        ),
        (
            r#"{"to":"0x000000000000000000000000000000000000dEaD","nonce":"0x1","gas":"0x5208","gasPrice":"0x1","chainId":"0x1","accessList":[{"address":"0x000000000000000000000000000000000000dEaD","storageKeys":["0x0000000000000000000000000000000000000000000000000000000000000001"]}]}"#,
            1,
        ),
        (
            r#"{"nonce":"0x2","gas":"0x100000","maxFeePerGas":"0x2","maxPriorityFeePerGas":"0x1","chainId":"0x1","data":"0x6080"}"#,
            2,
        ),
    ] {
        let r = req(json);
        assert_eq!(r.resolved_type().unwrap(), ty, "{json}");
        let signed = transaction::sign(&key(), &r).unwrap();
        assert_eq!(signed.tx_type, ty);
        let d = transaction::decode(&signed.raw).unwrap();
        assert_eq!(d.from, key().address());
        assert_eq!(d.hash, signed.hash);
        assert_eq!(d.to, r.to);
        assert_eq!(d.value, r.value.unwrap_or_default());
    }
}

#[test]
fn missing_and_contradictory_fields_are_named() {
    let e = |json: &str| {
        transaction::sign(&key(), &req(json))
            .unwrap_err()
            .to_string()
    };
    assert!(e(r#"{"nonce":"0x0","gas":"0x1","gasPrice":"0x1"}"#).contains("chainId is missing"));
    assert!(e(r#"{"chainId":"0x1","gas":"0x1","gasPrice":"0x1"}"#).contains("nonce is missing"));
    assert!(e(r#"{"chainId":"0x1","nonce":"0x1","gasPrice":"0x1"}"#).contains("gas is missing"));
    assert!(
        e(r#"{"chainId":"0x1","nonce":"0x1","gas":"0x1","maxFeePerGas":"0x1"}"#)
            .contains("maxPriorityFeePerGas is missing")
    );
    assert!(e(r#"{"chainId":"0x1","nonce":"0x1","gas":"0x1","type":"0x2","gasPrice":"0x1","maxFeePerGas":"0x1","maxPriorityFeePerGas":"0x1"}"#).contains("cannot have gasPrice"));
    assert!(e(r#"{"chainId":"0x1","nonce":"0x1","gas":"0x1","type":"0x0","gasPrice":"0x1","maxFeePerGas":"0x1"}"#).contains("cannot have maxFeePerGas"));
    assert!(e(r#"{"chainId":"0x1","nonce":"0x1","gas":"0x1","maxFeePerGas":"0x1","maxPriorityFeePerGas":"0x2"}"#).contains("higher than maxFeePerGas"));
    assert!(e(r#"{"chainId":"0x1","nonce":"0x1","gas":"0x1","gasPrice":"0x1","data":"0x01","input":"0x02"}"#).contains("differ"));
    assert!(
        e(r#"{"chainId":"0x1","nonce":"0x1","gas":"0x1","gasPrice":"0x1","type":"0x3"}"#)
            .contains("type 3")
    );
    let other = Address::repeat_byte(1);
    let mut r = req(BASE_1559);
    r.from = Some(other);
    assert!(transaction::sign(&key(), &r)
        .unwrap_err()
        .to_string()
        .contains("from is"));
    r.from = Some(key().address());
    assert!(transaction::sign(&key(), &r).is_ok());
}

#[test]
fn malformed_json_is_rejected() {
    assert!(matches!(
        TransactionRequest::from_json("{"),
        Err(Error::Transaction(_))
    ));
    assert!(matches!(
        TransactionRequest::from_json(r#"{"nonce":"zz"}"#),
        Err(Error::Transaction(_))
    ));
    assert!(matches!(
        TransactionRequest::from_json(r#"{"surprise":1}"#),
        Err(Error::Transaction(_))
    ));
    assert!(matches!(
        TransactionRequest::from_json(
            r#"{"value":"0x1ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"}"#
        ),
        Err(Error::Transaction(_))
    ));
}

#[test]
fn decode_rejects_garbage_and_trailing_bytes() {
    assert!(transaction::decode(&[]).is_err());
    assert!(transaction::decode(&[0x02, 0xc0]).is_err());
    // Blob (EIP-4844) and set-code (EIP-7702) transactions are never signed by
    // the wallet: refused by type, before any decoding.
    for ty in [3u8, 4, 0x7f] {
        assert!(matches!(
            transaction::decode(&[ty, 0xc0]),
            Err(Error::UnsupportedTxType(t)) if t == u64::from(ty)
        ));
    }
    assert!(transaction::decode(&[0x80])
        .unwrap_err()
        .to_string()
        .contains("neither a transaction type nor an RLP list"));
    let signed = transaction::sign(&key(), &req(BASE_1559)).unwrap();
    let mut longer = signed.raw.to_vec();
    longer.push(0);
    assert!(transaction::decode(&longer)
        .unwrap_err()
        .to_string()
        .contains("trailing"));
    let mut flipped = signed.raw.to_vec();
    let n = flipped.len();
    flipped[n - 5] ^= 1; // inside s: recovers someone else or fails
    if let Ok(d) = transaction::decode(&flipped) {
        assert_ne!(d.from, key().address());
    }
}

#[test]
fn personal_message_bytes_follow_metamask() {
    assert_eq!(eip191::message_bytes("0x68656c6c6f"), b"hello");
    assert_eq!(eip191::message_bytes("hello"), b"hello");
    // Odd-length or non-hex after 0x is text.
    assert_eq!(eip191::message_bytes("0x123"), b"0x123");
    assert_eq!(eip191::message_bytes("0xzz"), b"0xzz");
    assert_eq!(eip191::message_bytes("0x"), b"");
}

#[test]
fn typed_data_errors_are_specific() {
    let e = eip712::parse("{}").unwrap_err();
    assert!(matches!(e, Error::TypedData(_)));
    let e = eip712::parse(
        r#"{"types":{"EIP712Domain":[]},"primaryType":"Nope","domain":{},"message":{}}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("Nope"), "{e}");
    // Message does not match its declared types.
    let bad = r#"{"types":{"EIP712Domain":[{"name":"name","type":"string"}],"M":[{"name":"x","type":"uint8"}]},"primaryType":"M","domain":{"name":"d"},"message":{"x":"300"}}"#;
    let d = eip712::parse(bad).unwrap();
    assert!(eip712::signing_hash(&d).is_err());
    // A value of another type: both types are named (said by tandem-eth,
    // not through alloy's `Debug`, which the core module formats as
    // nothing).
    let mismatch = r#"{"types":{"EIP712Domain":[{"name":"name","type":"string"}],"M":[{"name":"x","type":"uint256"}]},"primaryType":"M","domain":{"name":"d"},"message":{"x":[1]}}"#;
    let e = eip712::signing_hash(&eip712::parse(mismatch).unwrap()).unwrap_err();
    assert!(e.to_string().contains("expected type `uint256`"), "{e}");
}

#[test]
fn verify_rejects_high_s_and_wrong_signer() {
    let k = key();
    let h = B256::repeat_byte(3);
    let sig = signature::sign_hash(&k, &h);
    assert!(signature::verify(k.address(), &h, &sig));
    assert!(!signature::verify(Address::ZERO, &h, &sig));
    // The same signature with s' = n - s and flipped parity recovers the same
    // key, but Ethereum rejects high s.
    let n = U256::from_str_radix(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",
        16,
    )
    .unwrap();
    let high = alloy_primitives::Signature::new(sig.r(), n - sig.s(), !sig.v());
    assert_eq!(signature::recover(&h, &high).unwrap(), k.address());
    assert!(!signature::verify(k.address(), &h, &high));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Our recovery agrees with `ecdsa`'s (which re-verifies) on random keys and hashes.
    #[test]
    fn recover_matches_ecdsa_crate(sk in any::<[u8; 32]>(), h in any::<[u8; 32]>()) {
        let Ok(k) = PrivateKey::from_bytes(&sk) else { return Ok(()) };
        let hash = B256::from(h);
        let sig = signature::sign_hash(&k, &hash);
        let ours = signature::recover_key(&hash, &sig).unwrap();
        let theirs = VerifyingKey::recover_from_prehash(
            &h,
            &KSig::from_scalars(sig.r().to_be_bytes::<32>(), sig.s().to_be_bytes::<32>()).unwrap(),
            RecoveryId::new(sig.v(), false),
        ).unwrap();
        prop_assert_eq!(ours, theirs);
        prop_assert_eq!(signature::recover(&hash, &sig).unwrap(), k.address());
    }

    /// The blinded-inversion signer is byte-identical to the `ecdsa` crate's
    /// `SigningKey` (constant-time inversion) on random keys and hashes: same
    /// RFC 6979 nonce, same low-s normalisation, same recovery id. Two runs with
    /// different random masks give the same bytes.
    #[test]
    fn blinded_signer_matches_ecdsa_crate(sk in any::<[u8; 32]>(), h in any::<[u8; 32]>()) {
        let Ok(theirs_key) = k256::ecdsa::SigningKey::from_slice(&sk) else { return Ok(()) };
        let (theirs, theirs_id) = theirs_key.sign_prehash_recoverable(&h).unwrap();
        let d = theirs_key.as_nonzero_scalar();
        let (ours, ours_id) = signature::sign_prehash(d, &B256::from(h));
        prop_assert_eq!(ours, theirs);
        prop_assert_eq!(ours_id, theirs_id);
        prop_assert_eq!(signature::sign_prehash(d, &B256::from(h)).0, theirs);
    }

    /// Arbitrary r, s, v never panic; where `ecdsa` fails, so do we (and when
    /// both succeed they agree). `ecdsa` re-verifies, and k256 verification
    /// refuses high s, so it is given the equivalent low-s form (s' = n - s,
    /// parity flipped), which recovers the same key.
    #[test]
    fn recover_on_arbitrary_signatures(r in any::<[u8; 32]>(), s in any::<[u8; 32]>(), v in any::<bool>(), h in any::<[u8; 32]>()) {
        let sig = alloy_primitives::Signature::new(U256::from_be_bytes(r), U256::from_be_bytes(s), v);
        let ours = signature::recover_key(&B256::from(h), &sig);
        let theirs = KSig::from_scalars(r, s).ok().and_then(|ks| {
            let (ks, v) = match ks.normalize_s() { Some(low) => (low, !v), None => (ks, v) };
            VerifyingKey::recover_from_prehash(&h, &ks, RecoveryId::new(v, false)).ok()
        });
        match (ours, theirs) {
            (Ok(a), Some(b)) => prop_assert_eq!(a, b),
            (Err(_), None) => {}
            (a, b) => prop_assert!(false, "disagree: ours {:?} theirs {:?}", a.is_ok(), b.is_some()),
        }
    }

    /// Signed transactions decode back to the signer with the same hash.
    #[test]
    fn transactions_round_trip(nonce in any::<u64>(), gas in 21_000u64..30_000_000, value in any::<u128>(), fee in 1u64..1_000_000_000_000, tip in 0u64..1_000_000, data in proptest::collection::vec(any::<u8>(), 0..200), chain in 1u64..100_000, ty in 0u8..3) {
        let tip = tip.min(fee);
        let mut r = TransactionRequest {
            to: Some(Address::repeat_byte(0x11)),
            value: Some(U256::from(value)),
            data: Some(data.into()),
            nonce: Some(alloy_primitives::U64::from(nonce)),
            gas: Some(alloy_primitives::U64::from(gas)),
            chain_id: Some(alloy_primitives::U64::from(chain)),
            tx_type: Some(alloy_primitives::U8::from(ty)),
            ..Default::default()
        };
        if ty == 2 {
            r.max_fee_per_gas = Some(alloy_primitives::U128::from(fee));
            r.max_priority_fee_per_gas = Some(alloy_primitives::U128::from(tip));
        } else {
            r.gas_price = Some(alloy_primitives::U128::from(fee));
        }
        let s = transaction::sign(&key(), &r).unwrap();
        let d = transaction::decode(&s.raw).unwrap();
        prop_assert_eq!(d.from, key().address());
        prop_assert_eq!(d.nonce, nonce);
        prop_assert_eq!(d.chain_id, Some(chain));
        prop_assert_eq!(d.hash, s.hash);
    }
}
