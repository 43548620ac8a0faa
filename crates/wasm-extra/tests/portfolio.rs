//! The extra module's exports as the worker calls them (natively): JSON in,
//! JSON out, from the core's own state and approval JSON.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use tandem_wallet::{Outcome, Wallet};
use tandem_wasm_extra::{fees, portfolio, token};

// anvil accounts 0 and 1 of "test test ... junk" (Foundry docs).
const A0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const A1: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

fn wallet() -> Wallet {
    let mut w = Wallet::default();
    w.state.sync_accounts(&[
        (A0.parse().unwrap(), json!({})),
        (A1.parse().unwrap(), json!({})),
    ]);
    w.state.networks.retain(|n| n.chain_id == 31337);
    w.state.select_network(31337).unwrap();
    w.state.select(A0.parse().unwrap()).unwrap();
    w
}

fn parse(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

/// What a node answers to the batch `requests` (each balance: its id).
fn node(requests: &Value) -> String {
    let answers: Vec<Value> = (requests.as_array().unwrap().iter())
        .map(|r| {
            let id = parse(r.as_str().unwrap())["id"].as_u64().unwrap();
            json!({"jsonrpc": "2.0", "id": id, "result": format!("{id:#x}")})
        })
        .collect();
    json!(answers).to_string()
}

#[test]
fn a_refresh_round_trip_from_the_cores_state_json() {
    let w = wallet();
    let state = w.state.to_json();
    let plans = parse(&portfolio::portfolio_plan(&state).unwrap());
    let plan = &plans[0];
    assert_eq!(plan["chainId"], 31337);
    let n = plan["requests"].as_array().unwrap().len();
    assert_eq!(n, 2);
    let url = plan["url"].as_str().unwrap();
    let body = json!(node(&plan["requests"])).to_string();
    let answers = portfolio::rpc_batch(url, n as f64, &body).unwrap();
    // A node that refuses batches answers one object: send singles.
    let refused = json!(
        json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "no"}})
            .to_string()
    );
    assert_eq!(
        portfolio::rpc_batch(url, n as f64, &refused.to_string()),
        None
    );
    let out = parse(
        &portfolio::portfolio_read(
            &state,
            &plans.to_string(),
            &format!("[{answers}]"),
            "[]",
            5.0,
        )
        .unwrap(),
    );
    assert_eq!(out["error"], Value::Null);
    let stored = out["stored"].to_string();
    let view = parse(&portfolio::portfolio(&state, &stored, "[]").unwrap());
    assert_eq!(view["native"]["balance"], "0x1");
    assert_eq!(view["updatedAt"], 5);
    assert_eq!(view["all"][1]["native"]["balance"], "0x2");
    // What the sync module records of it, and another device's newer read.
    let reads = parse(&portfolio::portfolio_reads(&stored));
    assert_eq!(reads[0]["amount"], "1");
    assert_eq!(reads[0]["asOf"], 5);
    let id = reads[0]["id"].as_str().unwrap();
    let synced = json!([{ "id": id, "amount": "3", "asOf": 6 }]).to_string();
    let view = parse(&portfolio::portfolio(&state, &stored, &synced).unwrap());
    assert_eq!(view["native"]["balance"], "0x3");
    assert_eq!(view["updatedAt"], 6);
    let net = parse(&portfolio::network(&state, 31337.0).unwrap().unwrap());
    assert_eq!(net["rpcUrl"], url);
    assert_eq!(portfolio::network(&state, 1.0).unwrap(), None, "removed");
}

#[test]
fn a_fill_and_an_activity_record_the_core_takes() {
    let mut w = wallet();
    let ask = |w: &mut Wallet, method: &str, params: Value| match w.request(
        "https://dapp.example",
        &json!({"method": method, "params": params}),
        true,
        json!({"tab": 1}),
        1,
    ) {
        Outcome::Approval { id, .. } => id,
        o => panic!("{o:?}"),
    };
    let c = ask(&mut w, "eth_requestAccounts", json!([]));
    w.resolve(c, true, &Default::default(), true, 1, "", [0; 16])
        .unwrap();
    let id = ask(
        &mut w,
        "eth_sendTransaction",
        json!([{"from": A0, "to": A1, "value": "0x1"}]),
    );
    let approval = serde_json::to_string(w.session.approval(id).unwrap()).unwrap();
    let plan = parse(&fees::fee_plan(&approval, &w.state.to_json()).unwrap());
    assert_eq!(plan["requests"].as_array().unwrap().len(), 5);
    let answers = json!([{"result": "0x3"}, {"result": {"baseFeePerGas": "0x1"}}, {"result": "0x1"}, {"result": "0x1"}, {"result": "0x5208"}]);
    let out = parse(&fees::fee_fill(&approval, &answers.to_string()));
    let fill = serde_json::from_value(out["fill"].clone()).unwrap();
    w.fill_transaction(id, &fill).unwrap();
    assert_eq!(
        w.session.approval(id).unwrap().request["transaction"]["nonce"],
        "0x3"
    );
    let reverted = json!([{"result": "0x3"}, {"result": {}}, {"result": "0x1"}, {"result": "0x1"}, {"error": {"code": 3, "message": "execution reverted"}}]);
    let out = parse(&fees::fee_fill(&approval, &reverted.to_string()));
    assert_eq!(out["error"]["code"], 3);
    // Its network removed: the plan is the refusal.
    let mut gone = w.clone();
    gone.state.networks = tandem_wallet::network::defaults();
    gone.state.networks.retain(|n| n.chain_id != 31337);
    gone.state.chain_id = 1;
    let plan = parse(&fees::fee_plan(&approval, &gone.state.to_json()).unwrap());
    assert_eq!(plan["error"]["code"], 4902);

    let hash = format!("0x{}", "ab".repeat(32));
    let tx = json!({"chainId": "0x7a69", "to": A1, "value": "0x1"}).to_string();
    let a = fees::sent_activity(A0, &tx, "https://dapp.example", &hash, 7.0).unwrap();
    assert_eq!(
        w.state
            .record_sent(serde_json::from_str(&a).unwrap(), &json!(hash)),
        None
    );
    assert_eq!(w.state.pending_hashes(), [(hash.clone(), 31337)]);
    assert_eq!(fees::receipt_status("null"), None);
    let r = parse(&fees::receipt_status(r#"{"status":"0x1","blockNumber":"0x3"}"#).unwrap());
    assert_eq!(r, json!({"status": "confirmed", "block": 3}));
}

/// What a node answers to `requests` when each is answered by `answer`.
fn node_with(requests: &Value, answer: impl Fn(&Value) -> Value) -> String {
    let answers: Vec<Value> = (requests.as_array().unwrap().iter())
        .map(|r| {
            let r = parse(r.as_str().unwrap());
            json!({"jsonrpc": "2.0", "id": r["id"], "result": answer(&r)})
        })
        .collect();
    json!(json!(answers).to_string()).to_string()
}

#[test]
fn token_facts_and_the_gas_price_round_trip_decoded() {
    let state = wallet().state.to_json();
    let token_at = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    let plan = parse(&token::token_plan(&state, 31337.0, token_at).unwrap());
    let lower = token_at.to_ascii_lowercase();
    assert_eq!(plan["key"], format!("31337:{lower}"));
    let reqs = &plan["requests"];
    // The node's answers: "TUSD" as an ABI string, 6 decimals.
    let body = node_with(reqs, |r| match r["params"][0]["data"].as_str().unwrap() {
        "0x95d89b41" => json!(format!("0x{:064x}{:064x}{:0<64}", 32, 4, "54555344")),
        "0x313ce567" => json!(format!("0x{:064x}", 6)),
        d => panic!("unexpected call {d}"),
    });
    let url = plan["url"].as_str().unwrap();
    let answers = portfolio::rpc_batch(url, 2.0, &body).unwrap();
    let out = parse(&token::token_read(31337.0, &lower, &answers));
    assert_eq!(
        out,
        json!({"info": {"chainId": 31337, "address": lower, "symbol": "TUSD", "decimals": 6}, "keep": true})
    );
    // Not an address, or a chain the wallet does not have: refused, named.
    let bad = parse(&token::token_plan(&state, 31337.0, "0x2000").unwrap());
    assert_eq!(bad["error"]["name"], "InvalidInput");
    let gone = parse(&token::token_plan(&state, 5.0, token_at).unwrap());
    assert_eq!(gone["error"]["name"], "UnknownChain");

    let plan = parse(&token::gas_price_plan(&state, 31337.0).unwrap());
    let body = node_with(&plan["requests"], |_| json!("0x3b9aca00"));
    let answers = portfolio::rpc_batch(plan["url"].as_str().unwrap(), 1.0, &body).unwrap();
    assert_eq!(
        parse(&token::gas_price_read(&answers)),
        json!({"gasPrice": "0x3b9aca00"})
    );
    // The node down: its error, not a price.
    let down = portfolio::rpc_batch(plan["url"].as_str().unwrap(), 1.0, "null").unwrap();
    assert!(parse(&token::gas_price_read(&down))["error"]["code"].is_i64());
}
