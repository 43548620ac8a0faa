//! Accounts whose key is on the phone, used from the desktop: the phone
//! shares its addresses, a dapp connects one, and every signature goes to
//! the phone with exactly what to sign; the desktop accepts the phone's
//! signature only if it recovers to that account over the hash it
//! recomputes from what it sent. The attacks: a phone (or anyone able to
//! answer) signing something else, another key signing, an answer to
//! another request or from another device. The phone's side is played with
//! `tandem-confirm` and `tandem-eth`, as the phone app does.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use serde_json::{json, Value};
use tandem_confirm::{digest, Answer, Message, Request, Rule, Sign, SignKind, VERSION};
use tandem_eth::{eip191, eip712, signature, transaction, Address, TransactionRequest};
use tandem_keys::PrivateKey;
use tandem_wallet::{Fill, Outcome, Resolution, Wallet};

mod common;
use common::{ask, to_phone, A0, A1, NOW, ORIGIN};

const PHONE: &str = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a";
const LAPTOP: &str = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";
const NONCE: [u8; 16] = [9; 16];
// anvil/hardhat accounts 2 and 3 of "test test ... junk" (Foundry docs):
// the phone's account, and a key the phone does not hold.
const PHONE_KEY: &str = "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const A2: &str = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const OTHER_KEY: &str = "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";

fn key(hex: &str) -> PrivateKey {
    PrivateKey::from_hex(hex).unwrap()
}

fn accounts(list: &[&str]) -> String {
    String::from_utf8(
        Message::Accounts {
            v: VERSION,
            accounts: list.iter().map(|a| a.to_string()).collect(),
            set_at: 1,
        }
        .encode(),
    )
    .unwrap()
}

/// anvil's accounts 0 and 1 here; the phone shares account 2; a site is
/// connected to it. No confirm-on-phone policy: the phone's key alone
/// sends signing requests there.
fn wallet() -> Wallet {
    let mut w = common::wallet();
    let out = w.phone_message(PHONE, &accounts(&[A2]), NOW).unwrap();
    assert!(out.notice.unwrap().contains("on your phone"));
    w.state.grant(ORIGIN, vec![A2.parse().unwrap()], NOW);
    w
}

/// The user approves in the approval window; the request goes to the phone.
fn approve_here(w: &mut Wallet, id: u64) -> (Vec<u8>, Request) {
    let summary = r#"{"action":"Sign"}"#;
    let r = w
        .resolve(id, true, &Default::default(), true, NOW, summary, NONCE)
        .unwrap();
    assert!(
        matches!(
            r,
            Resolution::AwaitPhone {
                rule: Rule::KeyOnPhone,
                ..
            }
        ),
        "{r:?}"
    );
    to_phone(w)
}

/// The phone's signature of `what`, as the phone app makes it.
fn phone_sign(k: &PrivateKey, what: &Sign) -> String {
    let sig = match what.kind {
        SignKind::Personal => eip191::sign(k, &eip191::message_bytes(&what.payload)),
        SignKind::TypedData => eip712::sign(k, &eip712::parse(&what.payload).unwrap()).unwrap(),
        SignKind::Transaction => signature::sign_hash(
            k,
            &TransactionRequest::from_json(&what.payload)
                .unwrap()
                .build()
                .unwrap()
                .signature_hash(),
        ),
    };
    format!("0x{}", alloy_hex(sig.as_bytes().as_slice()))
}

fn alloy_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn answer(bytes: &[u8], r: &Request, signature: Option<String>) -> String {
    String::from_utf8(
        Message::Answer {
            v: VERSION,
            answer: Answer {
                id: r.id.clone(),
                digest: digest(bytes),
                approve: true,
                signature,
            },
        }
        .encode(),
    )
    .unwrap()
}

/// The phone answers; the one resolution for the dapp.
fn resolved(w: &mut Wallet, from: &str, text: &str) -> Resolution {
    let mut out = w.phone_message(from, text, NOW + 1_000).unwrap();
    assert_eq!(out.resolutions.len(), 1, "{out:?}");
    out.resolutions.remove(0).then
}

fn refused(r: &Resolution) -> String {
    match r {
        Resolution::Error { error, .. } => {
            assert_eq!(error["code"], 4100, "{error}");
            error["message"].as_str().unwrap().to_owned()
        }
        r => panic!("expected a refusal, got {r:?}"),
    }
}

const TYPED: &str = r#"{"types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"chainId","type":"uint256"}],"Mail":[{"name":"contents","type":"string"}]},"primaryType":"Mail","domain":{"name":"Tandem test","chainId":1},"message":{"contents":"Hello from the phone"}}"#;

#[test]
fn the_phone_s_accounts_are_listed_marked_and_connectable_and_keep_through_a_keyring_sync() {
    let mut w = common::wallet();
    // The phone also lists A0, which this browser's keyring holds: it stays
    // local (never routed to the phone).
    w.phone_message(PHONE, &accounts(&[A2, A0]), NOW).unwrap();
    let a2: Address = A2.parse().unwrap();
    assert_eq!(w.state.accounts.len(), 3);
    assert_eq!(w.state.key_device(a2).as_deref(), Some(PHONE));
    assert_eq!(w.state.key_device(A0.parse().unwrap()), None);
    assert_eq!(w.state.accounts[2].name, "Phone account 1");
    assert_eq!(
        w.state.accounts[2].origin,
        json!({"kind": "phone", "device": PHONE})
    );
    // Unlocking re-syncs the keyring's accounts: the phone's stay.
    let keyring = w.state.accounts[..2]
        .iter()
        .map(|a| (a.address, a.origin.clone()))
        .collect::<Vec<_>>();
    w.state.sync_accounts(&keyring);
    assert_eq!(w.state.key_device(a2).as_deref(), Some(PHONE));
    // Selectable and connectable like a local account.
    w.state.select(a2).unwrap();
    let id = ask(&mut w, "eth_requestAccounts", json!([]));
    let r = w
        .resolve(
            id,
            true,
            &serde_json::from_value(json!({"accounts": [A2]})).unwrap(),
            true,
            NOW,
            "",
            NONCE,
        )
        .unwrap();
    assert!(
        matches!(r, Resolution::Reply { ref result, .. } if result == &json!([a2])),
        "{r:?}"
    );
    // A list of bad addresses is refused as a whole; the list stays.
    assert!(w
        .phone_message(PHONE, &accounts(&["0x12"]).replace("0x12", "0xzz"), NOW)
        .is_err());
    assert_eq!(w.state.accounts.len(), 3);
    // An empty list stops the sharing: the account and its grant go.
    w.phone_message(PHONE, &accounts(&[]), NOW).unwrap();
    assert_eq!(w.state.accounts.len(), 2);
    assert!(w.state.permitted(ORIGIN).is_empty());
}

#[test]
fn personal_and_typed_signatures_are_made_on_the_phone_and_checked_here() {
    for (method, params, kind) in [
        (
            "personal_sign",
            json!(["0x68656c6c6f", A2]),
            SignKind::Personal,
        ),
        (
            "eth_signTypedData_v4",
            json!([A2, TYPED]),
            SignKind::TypedData,
        ),
    ] {
        let mut w = wallet();
        let id = ask(&mut w, method, params);
        let (bytes, r) = approve_here(&mut w, id);
        assert_eq!(r.to, PHONE);
        assert_eq!(r.rule, Rule::KeyOnPhone);
        let what = r.sign.clone().unwrap();
        assert_eq!(what.kind, kind);
        assert_eq!(what.account, A2.to_lowercase());
        let sig = phone_sign(&key(PHONE_KEY), &what);
        match resolved(&mut w, PHONE, &answer(&bytes, &r, Some(sig.clone()))) {
            Resolution::Reply { result, .. } => assert_eq!(result, json!(sig)),
            r => panic!("{r:?}"),
        }
        assert!(w.session.approvals.is_empty());
    }
}

#[test]
fn a_transaction_is_signed_on_the_phone_and_broadcast_from_here_as_sent() {
    let mut w = wallet();
    let tx = json!({"from": A2, "to": A1, "value": "0x1", "gas": "0x5208",
        "maxFeePerGas": "0x3b9aca00", "maxPriorityFeePerGas": "0x1"});
    let id = ask(&mut w, "eth_sendTransaction", json!([tx]));
    let fill: Fill =
        serde_json::from_value(json!({"nonce": "0x7", "gasEstimate": "0x5208"})).unwrap();
    w.fill_transaction(id, &fill).unwrap();
    let (bytes, r) = approve_here(&mut w, id);
    let what = r.sign.clone().unwrap();
    assert_eq!(what.kind, SignKind::Transaction);
    // The phone is given the transaction exactly as this desktop fills it.
    let payload: Value = serde_json::from_str(&what.payload).unwrap();
    assert_eq!(payload["nonce"], "0x7");
    let sig = phone_sign(&key(PHONE_KEY), &what);
    match resolved(&mut w, PHONE, &answer(&bytes, &r, Some(sig))) {
        Resolution::SendSigned {
            raw, hash, address, ..
        } => {
            let raw = alloy_primitives::hex::decode(raw).unwrap();
            let decoded = transaction::decode(&raw).unwrap();
            assert_eq!(decoded.from, A2.parse::<Address>().unwrap());
            assert_eq!(address, decoded.from);
            assert_eq!(hash, format!("{:#x}", alloy_primitives::keccak256(&raw)));
        }
        r => panic!("{r:?}"),
    }
}

#[test]
fn a_signature_of_anything_else_or_by_another_key_is_refused_and_nothing_is_sent() {
    let tx = json!({"from": A2, "to": A1, "value": "0x1", "gas": "0x5208", "nonce": "0x0",
        "maxFeePerGas": "0x3b9aca00", "maxPriorityFeePerGas": "0x1"});
    let setups: [(&str, Value); 3] = [
        ("personal_sign", json!(["0x68656c6c6f", A2])),
        ("eth_signTypedData_v4", json!([A2, TYPED])),
        ("eth_sendTransaction", json!([tx])),
    ];
    for (method, params) in setups {
        let case = |w: &mut Wallet| {
            let id = ask(w, method, params.clone());
            if method == "eth_sendTransaction" {
                let fill: Fill =
                    serde_json::from_value(json!({"nonce": "0x0", "gasEstimate": "0x5208"}))
                        .unwrap();
                w.fill_transaction(id, &fill).unwrap();
            }
            approve_here(w, id)
        };
        // The phone signs something else than what was sent (another
        // message, other typed data, a transaction to another recipient).
        let mut w = wallet();
        let (bytes, r) = case(&mut w);
        let mut other = r.sign.clone().unwrap();
        other.payload = match other.kind {
            SignKind::Personal => "0x676f6f64627965".into(),
            SignKind::TypedData => TYPED.replace("Hello", "Goodbye"),
            SignKind::Transaction => other.payload.replace(A1, A0),
        };
        assert_ne!(other.payload, r.sign.as_ref().unwrap().payload);
        let sig = phone_sign(&key(PHONE_KEY), &other);
        let why = refused(&resolved(&mut w, PHONE, &answer(&bytes, &r, Some(sig))));
        assert!(why.contains("refused") && why.contains("not"), "{why}");
        assert!(
            w.session.approvals.is_empty(),
            "{method}: the request is over"
        );

        // Another key signs exactly what was sent.
        let mut w = wallet();
        let (bytes, r) = case(&mut w);
        let sig = phone_sign(&key(OTHER_KEY), r.sign.as_ref().unwrap());
        let why = refused(&resolved(&mut w, PHONE, &answer(&bytes, &r, Some(sig))));
        assert!(why.contains(A2), "{why}");

        // Approved with no signature, or with bytes that are not one.
        for bad in [None, Some("0x1234".to_owned()), Some("zz".to_owned())] {
            let mut w = wallet();
            let (bytes, r) = case(&mut w);
            refused(&resolved(&mut w, PHONE, &answer(&bytes, &r, bad)));
        }
    }
}

#[test]
fn an_answer_to_another_request_or_from_another_device_signs_nothing() {
    let mut w = wallet();
    let id = ask(&mut w, "personal_sign", json!(["0x68656c6c6f", A2]));
    let (bytes, r) = approve_here(&mut w, id);
    let good = phone_sign(&key(PHONE_KEY), r.sign.as_ref().unwrap());
    // From another member of the group (it saw the request): not the phone asked.
    let e = w
        .phone_message(LAPTOP, &answer(&bytes, &r, Some(good.clone())), NOW + 1_000)
        .unwrap_err();
    assert!(e.to_string().contains("not sent to"), "{e}");
    // A valid signature, answering a request with other contents (digest).
    let mut other = r.clone();
    other.action = "Something else".into();
    let other_bytes = Message::Request {
        v: VERSION,
        request: other.clone(),
    }
    .encode();
    let e = w
        .phone_message(
            PHONE,
            &answer(&other_bytes, &r, Some(good.clone())),
            NOW + 1_000,
        )
        .unwrap_err();
    assert!(e.to_string().contains("other contents"), "{e}");
    // An answer naming another request: nothing waits for it.
    let mut elsewhere = r.clone();
    elsewhere.id = "ff".repeat(16);
    let out = w
        .phone_message(
            PHONE,
            &answer(&bytes, &elsewhere, Some(good.clone())),
            NOW + 1_000,
        )
        .unwrap();
    assert!(out.resolutions.is_empty());
    assert_eq!(w.session.approvals.len(), 1, "still waiting for the phone");
    // The real answer still counts.
    assert!(matches!(
        resolved(&mut w, PHONE, &answer(&bytes, &r, Some(good))),
        Resolution::Reply { .. }
    ));
}

#[test]
fn a_rejection_on_the_phone_is_4001_and_a_revoked_phone_takes_its_accounts_away() {
    let mut w = wallet();
    let id = ask(&mut w, "personal_sign", json!(["0x68656c6c6f", A2]));
    let (bytes, r) = approve_here(&mut w, id);
    let no = String::from_utf8(
        Message::Answer {
            v: VERSION,
            answer: Answer {
                id: r.id.clone(),
                digest: digest(&bytes),
                approve: false,
                signature: None,
            },
        }
        .encode(),
    )
    .unwrap();
    match resolved(&mut w, PHONE, &no) {
        Resolution::Error { error, .. } => assert_eq!(error["code"], 4001),
        r => panic!("{r:?}"),
    }

    // A request waits when the phone is revoked: rejected (4001), and the
    // phone's accounts leave the list and the site.
    let id = ask(&mut w, "personal_sign", json!(["0x68656c6c6f", A2]));
    approve_here(&mut w, id);
    // Another device leaving changes nothing.
    assert!(w.phone_gone(LAPTOP).is_empty());
    assert_eq!(w.state.accounts.len(), 3);
    let gone = w.phone_gone(PHONE);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].id, id);
    match &gone[0].then {
        Resolution::Error { error, .. } => {
            assert_eq!(error["code"], 4001);
            assert!(error["message"]
                .as_str()
                .unwrap()
                .contains("left the wallet group"));
        }
        r => panic!("{r:?}"),
    }
    assert_eq!(w.state.accounts.len(), 2);
    assert_eq!(w.state.key_device(A2.parse().unwrap()), None);
    assert!(w.state.permitted(ORIGIN).is_empty());
    let e = w.request(
        ORIGIN,
        &json!({"method": "personal_sign", "params": ["0x68", A2]}),
        true,
        json!({}),
        NOW,
    );
    assert!(!matches!(e, Outcome::Approval { .. }), "{e:?}");
}
