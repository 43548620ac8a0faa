//! Known-answer tests from the EIPs themselves.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

use alloy_primitives::{keccak256, B256};
use tandem_eth::{eip191, eip712, signature, transaction, TransactionRequest};
use tandem_keys::PrivateKey;

/// EIP-155, "Example": nonce 9, gas price 20 gwei, gas 21000, to 0x35…35,
/// value 1 ether, chain id 1, key 0x46…46.
#[test]
fn eip155_example() {
    let key = PrivateKey::from_hex(&"46".repeat(32)).unwrap();
    let req = TransactionRequest::from_json(
        r#"{"nonce":"0x9","gasPrice":"0x4a817c800","gas":"0x5208",
            "to":"0x3535353535353535353535353535353535353535",
            "value":"0xde0b6b3a7640000","chainId":"0x1","type":"0x0"}"#,
    )
    .unwrap();
    let unsigned = req.build().unwrap();
    assert_eq!(
        unsigned.signature_hash(),
        "0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53"
            .parse::<B256>()
            .unwrap()
    );
    let signed = transaction::sign(&key, &req).unwrap();
    assert_eq!(
        signed.raw.to_string(),
        "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
    );
    assert_eq!(signed.hash, keccak256(&signed.raw));
    let decoded = transaction::decode(&signed.raw).unwrap();
    assert_eq!(decoded.from, key.address());
    assert_eq!(decoded.chain_id, Some(1));
    assert_eq!(decoded.nonce, 9);
}

/// EIP-712 "Example" (assets/eip-712/Example.js): the Mail message signed by
/// keccak256("cow"); intermediate hashes as printed by that script.
const MAIL: &str = r#"{
  "types": {
    "EIP712Domain": [
      {"name":"name","type":"string"},{"name":"version","type":"string"},
      {"name":"chainId","type":"uint256"},{"name":"verifyingContract","type":"address"}],
    "Person": [{"name":"name","type":"string"},{"name":"wallet","type":"address"}],
    "Mail": [{"name":"from","type":"Person"},{"name":"to","type":"Person"},{"name":"contents","type":"string"}]
  },
  "primaryType": "Mail",
  "domain": {"name":"Ether Mail","version":"1","chainId":1,
             "verifyingContract":"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},
  "message": {
    "from": {"name":"Cow","wallet":"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
    "to": {"name":"Bob","wallet":"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},
    "contents": "Hello, Bob!"
  }
}"#;

#[test]
fn eip712_mail_example() {
    let cow = PrivateKey::from_bytes(&keccak256("cow").0).unwrap();
    assert_eq!(
        cow.address().to_checksum(None),
        "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"
    );
    let data = eip712::parse(MAIL).unwrap();
    assert_eq!(
        eip712::domain_separator(&data).unwrap().to_string(),
        "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f"
    );
    assert_eq!(
        data.hash_struct().unwrap().to_string(),
        "0xc52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e"
    );
    assert_eq!(
        eip712::signing_hash(&data).unwrap().to_string(),
        "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"
    );
    let sig = eip712::sign(&cow, &data).unwrap();
    assert_eq!(
        format!("0x{}", hex::encode(sig.as_bytes())),
        "0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b915621c"
    );
    // A JSON string holding the JSON (what some dapps send) is the same data.
    let as_string = serde_json::to_string(MAIL).unwrap();
    assert_eq!(
        eip712::signing_hash(&eip712::parse(&as_string).unwrap()).unwrap(),
        eip712::signing_hash(&data).unwrap()
    );
}

/// ethers v5 `Wallet.signMessage("hello world")` with key 0x0123…0123, as
/// recorded in wallets' test suites; the Node suite re-derives it with ethers 6.
#[test]
fn personal_sign_hello_world() {
    let key =
        PrivateKey::from_hex("0x0123456789012345678901234567890123456789012345678901234567890123")
            .unwrap();
    let sig = eip191::sign(&key, &eip191::message_bytes("hello world"));
    assert_eq!(
        format!("0x{}", hex::encode(sig.as_bytes())),
        "0xddd0a7290af9526056b4e35a077b9a11b513aa0028ec6c9880948544508f3c63265e99e47ad31bb2cab9646c504576b3abc6939a1710afc08cbf3034d73214b81c"
    );
    let hash = eip191::hash(b"hello world");
    assert_eq!(signature::recover(&hash, &sig).unwrap(), key.address());
    assert!(signature::verify(key.address(), &hash, &sig));
}
