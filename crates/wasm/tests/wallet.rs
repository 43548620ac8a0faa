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
    // The fee fill: one batch to the chain's node, its answers checked by id.
    let plan: Value = serde_json::from_str(&w.fee_plan(id).unwrap()).unwrap();
    let n = plan["requests"].as_array().unwrap().len();
    assert_eq!(n, 5, "{plan}");
    let body: Value = ["0x0", "", "0x1", "0x1", "0x5208"]
        .iter()
        .zip(1..)
        .map(|(r, id)| {
            let result = if r.is_empty() {
                json!({"baseFeePerGas": "0x1"})
            } else {
                json!(r)
            };
            json!({"jsonrpc": "2.0", "id": id, "result": result})
        })
        .collect();
    let url = plan["url"].as_str().unwrap();
    assert_eq!(
        tandem_wasm::rpc_batch(url, n as f64, &json!(body.to_string()).to_string())
            .map(|a| a.len() > 2),
        Some(true)
    );
    assert_eq!(
        tandem_wasm::rpc_batch(url, n as f64, &json!(body[0].to_string()).to_string()),
        None,
        "not an array: refused"
    );
    let answers =
        tandem_wasm::rpc_batch(url, n as f64, &json!(body.to_string()).to_string()).unwrap();
    assert_eq!(w.fee_read(id, &answers).unwrap(), "null");
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
    let tx = json!({"chainId": "0x7a69", "to": A0, "value": "0x1"}).to_string();
    let answer = json!(hash.to_uppercase().replace("0X", "0x")).to_string();
    assert_eq!(
        w.record_sent(A0, &tx, ORIGIN, &hash, &answer, 1.0).unwrap(),
        None
    );
    assert!(w
        .record_sent("0x12", &tx, ORIGIN, &hash, &answer, 1.0)
        .is_err());
    assert_eq!(w.pending_hashes(), json!([[hash, 31337]]).to_string());
    let state: Value = serde_json::from_str(&w.state_json()).unwrap();
    assert_eq!(state["activity"][0]["origin"], ORIGIN);
    assert!(!w.receipt(&hash, "null"));
    assert!(w.receipt(&hash, r#"{"status":"0x1","blockNumber":"0x3"}"#));
    assert_eq!(w.pending_hashes(), "[]");
    let net: Value = serde_json::from_str(&w.network(Some(137.0)).unwrap()).unwrap();
    assert_eq!(net["symbol"], "POL");
    assert_eq!(w.network(Some(999.0)), None);
    assert!(w.network(None).is_some());
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
