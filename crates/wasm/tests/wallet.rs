//! The `WalletController` boundary natively: the JSON shapes
//! `extension/background.js` reads (outcome and resolution tags, field names)
//! are a contract; these tests pin them.
#![allow(clippy::unwrap_used)]

mod common;

use serde_json::{json, Value};
use tandem_wasm::{Keyring, WalletController};

// Foundry's default test mnemonic; account 0 is anvil's first funded account.
const ANVIL: &str = "test test test test test test test test test test test junk";
const A0: &str = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
const ORIGIN: &str = "https://dapp.example";
const NOW: f64 = 1.7e12;

fn controller() -> (WalletController, Keyring) {
    let k = Keyring::from_mnemonic(ANVIL, "").unwrap();
    let mut w = WalletController::new("", "").unwrap();
    w.sync_accounts(&k.accounts()).unwrap();
    w.select_network(31337.0).unwrap();
    (w, k)
}

fn request(w: &mut WalletController, method: &str, params: Value) -> Value {
    let r = json!({ "method": method, "params": params }).to_string();
    let to = json!({ "tabId": 7, "frameId": 0, "id": "a-1" }).to_string();
    serde_json::from_str(&w.request(ORIGIN, &r, true, &to, NOW)).unwrap()
}

fn resolve(w: &mut WalletController, id: &Value, approve: bool) -> Value {
    serde_json::from_str(
        &w.resolve(id.as_f64().unwrap(), approve, "", true, NOW, None)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn outcome_and_resolution_shapes_the_worker_reads() {
    let (mut w, k) = controller();
    assert_eq!(
        request(&mut w, "eth_chainId", json!([])),
        json!({"type": "result", "result": "0x7a69", "changed": false})
    );
    let rpc = request(&mut w, "eth_blockNumber", Value::Null);
    assert_eq!(rpc["type"], "rpc");
    assert_eq!(rpc["url"], "http://127.0.0.1:8545");
    let bad = request(&mut w, "eth_sign", json!([A0, "0x00"]));
    assert_eq!(bad["type"], "error");
    assert_eq!(bad["error"]["code"], 4200);

    let c = request(&mut w, "eth_requestAccounts", json!([]));
    assert_eq!(c["type"], "approval");
    assert_eq!(c["kind"], "connect");
    let approvals: Value = serde_json::from_str(&w.approvals()).unwrap();
    assert_eq!(
        approvals[0]["replyTo"],
        json!({"tabId": 7, "frameId": 0, "id": "a-1"})
    );
    let r = resolve(&mut w, &c["id"], true);
    assert_eq!(r["type"], "reply");
    assert_eq!(r["reply_to"]["tabId"], 7);
    assert_eq!(r["result"], json!([A0]));
    assert_eq!(r["changed"], true);

    // personal_sign resolves into a signing step that the keyring completes.
    let s = request(&mut w, "personal_sign", json!(["0x68656c6c6f", A0]));
    let r = resolve(&mut w, &s["id"], true);
    assert_eq!(r["type"], "sign_personal");
    let sig = k
        .sign_personal(
            r["address"].as_str().unwrap(),
            r["message"].as_str().unwrap(),
        )
        .unwrap();
    assert_eq!(common::recover_personal("hello", &sig).to_lowercase(), A0);

    let t = request(
        &mut w,
        "eth_sendTransaction",
        json!([{ "from": A0, "to": A0, "value": "0x1" }]),
    );
    assert_eq!(t["fill"]["from"], A0);
    assert_eq!(t["fill"]["needGas"], true);
    let id = t["id"].as_f64().unwrap();
    w.fill_transaction(id, r#"{"nonce":"0x0","gasEstimate":"0x5208","baseFee":"0x1","priorityFee":"0x1","gasPrice":null}"#)
        .unwrap();
    let r = resolve(&mut w, &t["id"], true);
    assert_eq!(r["type"], "send_transaction");
    assert_eq!(r["origin"], ORIGIN);
    let signed: Value = serde_json::from_str(
        &k.sign_transaction(
            r["address"].as_str().unwrap(),
            &r["transaction"].to_string(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(signed["type"], 2);
    let raw = hex::decode(signed["raw"].as_str().unwrap().trim_start_matches("0x")).unwrap();
    let decoded = tandem_eth::transaction::decode(&raw).unwrap();
    assert_eq!(decoded.chain_id, Some(31337));
    assert_eq!(decoded.from.to_string().to_lowercase(), A0);
}

#[test]
fn state_and_session_survive_a_reload() {
    let (mut w, _) = controller();
    let s = request(&mut w, "eth_requestAccounts", json!([]));
    let (state, session) = (w.state_json(), w.session_json());
    let mut w2 = WalletController::new(&state, &session).unwrap();
    let r = resolve(&mut w2, &s["id"], false);
    assert_eq!(r["type"], "error");
    assert_eq!(r["error"]["code"], 4001);
    assert!(WalletController::new("{", "").is_err());
}

#[test]
fn activity_and_settings() {
    let (mut w, _) = controller();
    let hash = format!("0x{}", "ab".repeat(32));
    let sent = |w: &mut WalletController, hash: &str, answer: &str| {
        w.record_sent(
            &json!({"hash": hash, "chainId": 31337, "from": A0, "to": A0, "value": "0x1",
            "status": "pending", "origin": ORIGIN, "submittedAt": 1, "blockNumber": null})
            .to_string(),
            answer,
        )
        .unwrap()
    };
    assert_eq!(
        sent(
            &mut w,
            &hash,
            &json!(hash.to_uppercase().replace("0X", "0x")).to_string()
        ),
        None
    );
    assert_eq!(w.pending_hashes(), json!([[hash, 31337]]).to_string());
    assert!(w.update_status(&hash, "confirmed", Some(3.0)).unwrap());
    assert!(w.update_status(&hash, "sideways", None).is_err());
    assert_eq!(w.pending_hashes(), "[]");
    assert!(w.set_settings(r#"{"autoLockMinutes":5}"#).is_ok());
    assert!(w.set_settings(r#"{"autoLockMinutes":0}"#).is_err());
    assert!(w.set_settings(r#"{"unknown":1}"#).is_err());
    w.touch(NOW);
    assert!(!w.lock_expired(NOW + 60_000.0));
    assert!(w.lock_expired(NOW + 5.0 * 60_000.0));
    assert_eq!(
        tandem_wasm::checksum_address(A0).unwrap(),
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    );
}

/// `network()` is the worker's only lookup of a network: the selected one
/// (the core's fallback when it was removed), or one by chain id.
#[test]
fn the_worker_looks_networks_up_through_the_core() {
    let (mut w, _) = controller();
    let net = |w: &WalletController, id: Option<f64>| -> Option<Value> {
        w.network(id).map(|j| serde_json::from_str(&j).unwrap())
    };
    assert_eq!(net(&w, None).unwrap()["chainId"], 31337);
    assert_eq!(net(&w, Some(1.0)).unwrap()["chainId"], 1);
    assert_eq!(net(&w, Some(424_242.0)), None);
    // The selected network removed: the core falls back, and says so.
    let added = json!({"chainId": 1338, "name": "Second", "rpcUrl": "http://127.0.0.1:9545", "symbol": "ETH"}).to_string();
    w.upsert_network(&added, None).unwrap();
    w.upsert_network(&added, Some(json!("0x53a").to_string()))
        .unwrap();
    w.select_network(1338.0).unwrap();
    assert_eq!(net(&w, None).unwrap()["name"], "Second");
    w.remove_network(1338.0).unwrap();
    let state: Value = serde_json::from_str(&w.state_json()).unwrap();
    assert_eq!(net(&w, None).unwrap(), state["networks"][0]);
    assert_eq!(net(&w, Some(1338.0)), None);
}
