//! Issue 12 (portfolio) and issue 13 item 16: the calls the worker makes for
//! balances and fees are built here, sent as one JSON-RPC batch per node,
//! and every answer is checked by its id before it is used.
#![cfg(feature = "extra")]
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use tandem_wallet::rpc::{self, Batch};
use tandem_wallet::shown::PortfolioView;
use tandem_wallet::{fees, portfolio, Activity, Asset, Holdings, TxStatus, Wallet};

mod common;
use common::{wallet, A0, A1, NOW};

const URL: &str = "http://127.0.0.1:8545/key-0123456789";
const TOKEN: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

/// A node's response to request `id`.
fn ok(id: u64, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

/// The batch's body as the worker gets it.
fn body(responses: &[Value]) -> Value {
    Value::String(Value::Array(responses.to_vec()).to_string())
}

#[test]
fn a_batch_is_one_array_request_and_its_singles_the_same_calls() {
    let b = Batch {
        url: URL.into(),
        calls: vec![
            ("eth_getBalance", json!([A0, "latest"])),
            ("eth_gasPrice", json!([])),
        ],
    };
    let j = b.to_json();
    assert_eq!(j["url"], URL);
    // The worker sends them joined as one array, or one by one.
    let singles: Vec<Value> = j["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| serde_json::from_str(s.as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(singles[0]["params"], json!([A0, "latest"]));
    assert_eq!(
        singles[1],
        json!({"jsonrpc": "2.0", "id": 2, "method": "eth_gasPrice", "params": []})
    );
}

#[test]
fn batch_answers_are_matched_by_id_in_any_order() {
    let out = rpc::batch_answers(2, &body(&[ok(2, json!("0x2")), ok(1, json!("0x1"))]), URL);
    assert_eq!(out, Some(vec![Ok(json!("0x1")), Ok(json!("0x2"))]));
}

#[test]
fn an_answer_with_a_wrong_id_is_not_used_for_any_call() {
    // The node answers request 2 as if it were request 3.
    let out =
        rpc::batch_answers(2, &body(&[ok(1, json!("0x1")), ok(3, json!("0x99"))]), URL).unwrap();
    assert_eq!(out[0], Ok(json!("0x1")));
    let e = out[1].clone().unwrap_err();
    assert_eq!(e["code"], -32603);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("did not answer request 2"),
        "{e}"
    );
}

#[test]
fn a_missing_answer_fails_that_call_alone() {
    let out =
        rpc::batch_answers(3, &body(&[ok(1, json!("0x1")), ok(3, json!("0x3"))]), URL).unwrap();
    assert_eq!(out[0], Ok(json!("0x1")));
    assert!(out[1].is_err());
    assert_eq!(out[2], Ok(json!("0x3")));
}

#[test]
fn an_answer_given_twice_is_used_for_neither() {
    let out =
        rpc::batch_answers(1, &body(&[ok(1, json!("0x1")), ok(1, json!("0x2"))]), URL).unwrap();
    let e = out[0].clone().unwrap_err();
    assert!(e["message"].as_str().unwrap().contains("twice"), "{e}");
}

#[test]
fn an_error_answer_for_one_call_is_that_calls_error_without_the_url() {
    let err = json!({"jsonrpc": "2.0", "id": 2, "error": {"code": -32000, "message": format!("rate limited at {URL}")}});
    let out = rpc::batch_answers(2, &body(&[ok(1, json!("0x1")), err]), URL).unwrap();
    assert_eq!(out[0], Ok(json!("0x1")));
    let e = out[1].clone().unwrap_err();
    assert_eq!(e["code"], -32000);
    let m = e["message"].as_str().unwrap();
    assert!(
        !m.contains("key-0123456789") && m.contains("rate limited"),
        "{m}"
    );
}

#[test]
fn a_node_that_refuses_batches_gets_single_calls_checked_one_by_one() {
    // What nodes that refuse batches answer: one error object, not an array.
    let refusal = json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "batch requests are not supported"}});
    assert_eq!(
        rpc::batch_answers(2, &Value::String(refusal.to_string()), URL),
        None
    );
    assert_eq!(rpc::batch_answers(2, &json!("<html>405</html>"), URL), None);
    // The single answers: each must carry its own id.
    let singles = json!([
        ok(1, json!("0x1")).to_string(),
        ok(1, json!("0x2")).to_string(),
        null
    ]);
    let out = rpc::batch_answers(3, &singles, URL).unwrap();
    assert_eq!(out[0], Ok(json!("0x1")));
    assert!(out[1].clone().unwrap_err()["message"]
        .as_str()
        .unwrap()
        .contains("another request"));
    assert!(out[2].clone().unwrap_err()["message"]
        .as_str()
        .unwrap()
        .contains("could not reach"));
}

#[test]
fn an_unreachable_node_fails_every_call() {
    let out = rpc::batch_answers(2, &Value::Null, URL).unwrap();
    assert!(out.iter().all(Result::is_err));
}

/// The wallet of the tests with TOKEN watched on chain 31337, and only two
/// networks (1 and 31337), 31337 selected.
fn with_token() -> Wallet {
    let mut w = wallet();
    w.state
        .networks
        .retain(|n| n.chain_id == 1 || n.chain_id == 31337);
    w.state.select_network(31337).unwrap();
    w.state.select(A0.parse().unwrap()).unwrap();
    w.state
        .watch(Asset {
            chain_id: 31337,
            address: TOKEN.parse().unwrap(),
            symbol: "TND".into(),
            decimals: 6,
        })
        .unwrap();
    w
}

/// The wallet's state as the worker hands it to the portfolio: its JSON.
fn held(w: &Wallet) -> Holdings {
    Holdings::from_json(&w.state.to_json()).unwrap()
}

fn requests(plan: &Value) -> Vec<Value> {
    let r = plan["requests"].as_array().unwrap().iter();
    r.map(|s| serde_json::from_str(s.as_str().unwrap()).unwrap())
        .collect()
}

#[test]
fn the_portfolio_asks_each_network_once_for_every_account_and_token() {
    let w = with_token();
    let plans = portfolio::plan(&held(&w));
    assert_eq!(plans.len(), 2, "one batch per network");
    assert_eq!(plans[0]["chainId"], 1);
    let mainnet = requests(&plans[0]);
    assert_eq!(mainnet.len(), 2, "two balances, no token on chain 1");
    assert_eq!(mainnet[0]["method"], "eth_getBalance");
    // Addresses go out in lower case (JSON-RPC takes either).
    assert_eq!(mainnet[1]["params"], json!([A1.to_lowercase(), "latest"]));
    let local = requests(&plans[1]);
    assert_eq!(local.len(), 4);
    assert_eq!(
        local[3]["params"],
        json!([{ "to": TOKEN.to_lowercase(), "data": format!("0x70a08231{:0>64}", A1[2..].to_lowercase()) }, "latest"])
    );
    assert_eq!(plans[1]["url"], "http://127.0.0.1:8545");
    // No accounts, no calls.
    assert!(portfolio::plan(&held(&Wallet::default())).is_empty());
}

fn word(n: u64) -> Value {
    json!(format!("0x{n:064x}"))
}

#[test]
fn answers_become_records_with_their_time_and_a_failed_read_keeps_the_last_known() {
    let w = with_token();
    let plans = portfolio::plan(&held(&w));
    // Chain 1: A0 answered, A1's call failed. Chain 31337: all answered but
    // A1's token call, which failed.
    let a1 = rpc::batch_answers(
        2,
        &body(&[
            ok(1, json!("0x10")),
            json!({"jsonrpc": "2.0", "id": 2, "error": {"code": -32000, "message": "header not found"}}),
        ]),
        URL,
    )
    .unwrap();
    let a2 = vec![
        Ok(json!("0x20")),
        Ok(json!("0x21")),
        Ok(word(5)),
        Err(json!({"code": -32000, "message": "reverted"})),
    ];
    // A1's balance on chain 1 read earlier: kept, with its older time.
    let earlier = json!({"address": A1, "chainId": 1, "native": {"symbol": "ETH", "balance": "0x7"}, "tokens": [], "updatedAt": 5});
    // A record of a network the wallet no longer has: dropped.
    let gone = json!({"address": A0, "chainId": 10, "native": {"symbol": "ETH", "balance": "0x7"}, "tokens": [], "updatedAt": 5});
    let out = portfolio::read(&held(&w), &plans, &[a1, a2], &[earlier.clone(), gone], NOW);
    assert_eq!(
        out["error"],
        Value::Null,
        "the selected account on 31337 was read"
    );
    let stored = out["stored"].as_array().unwrap();
    assert_eq!(stored.len(), 4);
    assert_eq!(
        stored[0]["native"],
        json!({"symbol": "ETH", "balance": "0x10"})
    );
    assert_eq!(stored[0]["updatedAt"], NOW);
    assert_eq!(stored[1], earlier);
    assert_eq!(stored[2]["chainId"], 31337);
    assert_eq!(
        stored[2]["tokens"],
        json!([{"address": TOKEN.to_lowercase(), "symbol": "TND", "decimals": 6, "balance": "0x5"}])
    );
    assert_eq!(stored[3]["native"]["balance"], "0x21");
    assert_eq!(
        stored[3]["tokens"],
        json!([{"address": TOKEN.to_lowercase(), "symbol": "TND", "decimals": 6}]),
        "no balance, not a made-up one"
    );

    // The popup: the selected record at the top, every record in `all`.
    let view = portfolio::view(&held(&w), stored, &[]);
    assert_eq!(view["chainId"], 31337);
    assert_eq!(view["native"]["balance"], "0x20");
    assert_eq!(view["all"].as_array().unwrap().len(), 4);
    // The very type the popup reads it into (unknown fields refused).
    let typed: PortfolioView = serde_json::from_value(view).unwrap();
    assert_eq!(
        (typed.chain_id, typed.native.balance.as_str()),
        (31337, "0x20")
    );
    assert_eq!(typed.all.len(), 4);
    let unread = typed
        .all
        .iter()
        .flat_map(|r| &r.tokens)
        .find(|t| t.balance.is_empty());
    assert_eq!(
        unread.map(|t| t.decimals),
        Some(6),
        "a token read failed: no balance"
    );
}

#[test]
fn the_selected_accounts_failure_is_reported_and_its_last_value_kept() {
    let w = with_token();
    let plans = portfolio::plan(&held(&w));
    let down = rpc::batch_answers(4, &Value::Null, URL).unwrap();
    let fine = vec![Ok(json!("0x1")), Ok(json!("0x2"))];
    let out = portfolio::read(&held(&w), &plans, &[fine, down], &[], NOW);
    assert!(
        out["error"].as_str().unwrap().contains("could not reach"),
        "{out}"
    );
    assert_eq!(out["stored"].as_array().unwrap().len(), 2, "chain 1 only");
    // Never read on the selected network: the popup has no record for it.
    let view = portfolio::view(&held(&w), out["stored"].as_array().unwrap(), &[]);
    assert_eq!(view.get("native"), None);
    let typed: PortfolioView = serde_json::from_value(view).unwrap();
    assert_eq!(
        (typed.updated_at, typed.all.len()),
        (0, 2),
        "never read here"
    );
    // A balance that is not a quantity is not stored either.
    let lie = vec![
        Ok(json!("lots")),
        Ok(json!("0x2")),
        Ok(word(1)),
        Ok(word(1)),
    ];
    let out = portfolio::read(&held(&w), &plans[1..], &[lie], &[], NOW);
    assert!(out["error"].as_str().unwrap().contains("not a number"));
}

/// Issue 12, last known balances: this device's reads become the group's
/// records (id as tandem-sync names it, decimal amounts, the read's
/// time), and another device's newer ones show here before a refresh
/// does, while an older one never replaces what this device read later.
#[test]
fn balances_read_here_go_to_the_group_and_newer_ones_from_another_device_show() {
    let w = with_token();
    let token = TOKEN.to_lowercase();
    let a0 = A0.to_lowercase();
    let mine = vec![json!({
        "address": A0, "chainId": 31337,
        "native": {"symbol": "ETH", "balance": "0xde0b6b3a7640000"},
        "tokens": [{"address": TOKEN, "symbol": "TND", "decimals": 6, "balance": "0x5"}],
        "updatedAt": 100,
    })];
    assert_eq!(
        portfolio::balance_reads(&mine),
        vec![
            json!({"id": format!("31337:{a0}:native"), "amount": "1000000000000000000", "asOf": 100}),
            json!({"id": format!("31337:{a0}:{token}"), "amount": "5", "asOf": 100}),
        ]
    );
    // A token whose read failed has no balance: nothing is said of it.
    let mut failed = mine.clone();
    failed[0]["tokens"][0]
        .as_object_mut()
        .unwrap()
        .remove("balance");
    assert_eq!(portfolio::balance_reads(&failed).len(), 1);

    let view = |synced: &[Value]| portfolio::view(&held(&w), &mine, synced);
    let a1 = A1.to_lowercase();
    // Newer on another device: its native balance and time, and its token
    // balance; A1 (never read here) gets a record from the group alone.
    let newer = [
        json!({"id": format!("31337:{a0}:native"), "amount": "2", "asOf": 200, "device": "ab"}),
        json!({"id": format!("31337:{a0}:{token}"), "amount": "7", "asOf": 200}),
        json!({"id": format!("31337:{a1}:native"), "amount": "16", "asOf": 150}),
    ];
    let v = view(&newer);
    assert_eq!(v["native"]["balance"], "0x2");
    assert_eq!(v["updatedAt"], 200);
    assert_eq!(v["tokens"][0]["balance"], "0x7");
    let all = v["all"].as_array().unwrap();
    let other = all
        .iter()
        .find(|r| r["address"].as_str().unwrap().to_lowercase() == a1)
        .unwrap();
    assert_eq!(other["native"], json!({"symbol": "ETH", "balance": "0x10"}));
    assert_eq!(other["updatedAt"], 150);
    assert_eq!(
        other["tokens"],
        json!([{"address": token, "symbol": "TND", "decimals": 6}]),
        "the token is listed, its balance unknown"
    );
    // Older than this device's own read (or unreadable): this device's stays.
    let older = [
        json!({"id": format!("31337:{a0}:native"), "amount": "2", "asOf": 99}),
        json!({"id": format!("31337:{a0}:{token}"), "amount": "x", "asOf": 300}),
    ];
    let v = view(&older);
    assert_eq!(v["native"]["balance"], "0xde0b6b3a7640000");
    assert_eq!(v["tokens"][0]["balance"], "0x5");
    assert_eq!(v["updatedAt"], 100);
    assert_eq!(v["all"].as_array().unwrap().len(), 1);
    // With the group's balances, still the type the popup reads.
    let typed: PortfolioView = serde_json::from_value(view(&newer)).unwrap();
    assert_eq!((typed.updated_at, typed.all.len()), (200, 2));
}

/// A connected wallet on chain 31337 with a transfer waiting for its fill.
fn waiting(tx: Value) -> (Wallet, u64) {
    let mut w = wallet();
    w.state.select_network(31337).unwrap();
    let c = common::ask(&mut w, "eth_requestAccounts", json!([]));
    w.resolve(c, true, &Default::default(), true, NOW, "", [0; 16])
        .unwrap();
    let id = common::ask(&mut w, "eth_sendTransaction", json!([tx]));
    (w, id)
}

/// Approval `id` as the core hands it to the worker (its JSON).
fn approval(w: &Wallet, id: u64) -> Value {
    serde_json::to_value(w.session.approval(id).unwrap()).unwrap()
}

fn methods(b: &Batch) -> Vec<&str> {
    b.calls.iter().map(|(m, _)| *m).collect()
}

#[test]
fn fees_are_asked_of_the_transactions_chain_in_one_batch() {
    let (mut w, id) = waiting(json!({"from": A0, "to": A1, "value": "0x1", "data": "0x"}));
    // The user switched networks since: the transaction's chain is asked.
    w.state.select_network(1).unwrap();
    let plan = fees::fee_plan(&approval(&w, id), &held(&w)).unwrap();
    assert_eq!(plan.url, "http://127.0.0.1:8545");
    assert_eq!(
        methods(&plan),
        [
            "eth_getTransactionCount",
            "eth_getBlockByNumber",
            "eth_maxPriorityFeePerGas",
            "eth_gasPrice",
            "eth_estimateGas"
        ]
    );
    assert_eq!(
        plan.calls[0].1[0].as_str().map(str::to_lowercase),
        Some(A0.to_lowercase())
    );
    assert_eq!(plan.calls[0].1[1], "pending");
    let call = &plan.calls[4].1[0];
    assert_eq!(
        (call["to"].as_str().map(str::to_lowercase), &call["value"]),
        (Some(A1.to_lowercase()), &json!("0x1"))
    );
    // A gas limit the site chose is not estimated.
    let (w2, id2) = waiting(json!({"from": A0, "to": A1, "value": "0x1", "gas": "0x5208"}));
    let plan = fees::fee_plan(&approval(&w2, id2), &held(&w2)).unwrap();
    assert_eq!(methods(&plan).len(), 4);
}

#[test]
fn fee_answers_become_the_fill_the_core_takes() {
    let (mut w, id) = waiting(json!({"from": A0, "to": A1, "value": "0x1"}));
    let answers = [
        Ok(json!("0x7")),
        Ok(json!({"number": "0x1", "baseFeePerGas": "0x3b9aca00"})),
        Err(json!({"code": -32601, "message": "method not found"})),
        Ok(json!("0x3b9aca00")),
        Ok(json!("0x5208")),
    ];
    let fill = fees::fee_fill(&approval(&w, id), &answers).unwrap();
    // Handed to the core as JSON, as the worker does.
    let fill: tandem_wallet::Fill =
        serde_json::from_str(&serde_json::to_string(&fill).unwrap()).unwrap();
    w.fill_transaction(id, &fill).unwrap();
    let a = w.session.approval(id).unwrap();
    assert!(!a.needs_fill);
    let tx = &a.request["transaction"];
    assert_eq!(
        (&tx["nonce"], &tx["gas"]),
        (&json!("0x7"), &json!("0x5208"))
    );
    // No priority fee from the node: 1 gwei, on top of twice the base fee.
    assert_eq!(tx["maxPriorityFeePerGas"], "0x3b9aca00");
    assert_eq!(tx["maxFeePerGas"], format!("{:#x}", 3_000_000_000u64));
}

#[test]
fn a_node_refusing_the_gas_estimate_gives_its_error_and_no_fill() {
    let (w, id) = waiting(json!({"from": A0, "to": A1, "value": "0x1"}));
    let a = approval(&w, id);
    let answers = [
        Ok(json!("0x7")),
        Ok(json!({"baseFeePerGas": "0x1"})),
        Ok(json!("0x1")),
        Ok(json!("0x1")),
        Err(json!({"code": 3, "message": "execution reverted"})),
    ];
    assert_eq!(
        fees::fee_fill(&a, &answers),
        Err(json!({"code": 3, "message": "execution reverted"}))
    );
    // A missing answer (a batch the node cut short) refuses it too.
    assert!(fees::fee_fill(&a, &[Ok(json!("0x7"))]).is_err());
    // A nonce that is not a quantity: Tandem's own error.
    let mut lie = answers.clone();
    lie[0] = Ok(json!("seven"));
    lie[4] = Ok(json!("0x5208"));
    let e = fees::fee_fill(&a, &lie).unwrap_err();
    assert!(
        e["message"].as_str().unwrap().contains("not a number"),
        "{e}"
    );
}

#[test]
fn fees_beyond_the_cap_are_refused_by_the_core() {
    let (mut w, id) = waiting(json!({"from": A0, "to": A1, "value": "0x1"}));
    let huge = format!("{:#x}", rpc::FEE_CAP_WEI + 1);
    let answers = [
        Ok(json!("0x7")),
        Ok(json!({"baseFeePerGas": huge})),
        Ok(json!("0x1")),
        Ok(json!("0x1")),
        Ok(json!("0x5208")),
    ];
    let fill = fees::fee_fill(&approval(&w, id), &answers).unwrap();
    let e = w.fill_transaction(id, &fill).unwrap_err();
    assert!(e.to_string().contains("limit"), "{e}");
}

#[test]
fn a_transaction_whose_network_was_removed_gets_no_plan() {
    let (mut w, id) = waiting(json!({"from": A0, "to": A1, "value": "0x1"}));
    w.state.networks.retain(|n| n.chain_id != 31337);
    w.state.chain_id = 1;
    let e = fees::fee_plan(&approval(&w, id), &held(&w)).unwrap_err();
    assert!(e.to_string().contains("removed"), "{e}");
    assert_eq!(e.code(), 4902);
}

#[test]
fn sent_transactions_and_receipts_become_activity() {
    let mut w = wallet();
    let hash = format!("0x{}", "ab".repeat(32));
    let tx = json!({"chainId": "0x7a69", "to": A1, "value": "0x5", "nonce": "0x0"});
    let a = Activity::sent(A0.parse().unwrap(), &tx, "https://dapp.example", &hash, NOW).unwrap();
    assert_eq!(
        (a.chain_id, a.submitted_at, a.value, a.status),
        (
            31337,
            NOW,
            alloy_primitives::U256::from(5),
            TxStatus::Pending
        )
    );
    // The core takes it as JSON, as the worker hands it over.
    let a: Activity = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
    assert_eq!(w.state.record_sent(a, &json!(hash)), None);
    assert_eq!(w.state.pending_hashes(), [(hash.clone(), 31337)]);
    assert_eq!(TxStatus::of_receipt(&Value::Null), None, "not mined yet");
    let r = json!({"status": "0x0", "blockNumber": "0x9"});
    assert_eq!(TxStatus::of_receipt(&r), Some((TxStatus::Failed, Some(9))));
    let ok = json!({"status": "0x1", "blockNumber": "0xa"});
    assert_eq!(
        TxStatus::of_receipt(&ok),
        Some((TxStatus::Confirmed, Some(10)))
    );
    let h2 = format!("0x{}", "cd".repeat(32));
    // A transaction without a chain id, or with a recipient or value that
    // is not one, cannot be recorded.
    let from = A0.parse().unwrap();
    assert!(Activity::sent(from, &json!({}), "x", &h2, NOW).is_err());
    let bad_to = json!({"chainId": "0x1", "to": "0x12"});
    assert!(Activity::sent(from, &bad_to, "x", &h2, NOW).is_err());
    let bad_value = json!({"chainId": "0x1", "value": "lots"});
    assert!(Activity::sent(from, &bad_value, "x", &h2, NOW).is_err());
}

#[test]
fn the_state_json_is_read_for_its_networks_and_accounts() {
    let w = with_token();
    let h = held(&w);
    assert_eq!(
        h.network_of(31337).unwrap().rpc_url,
        "http://127.0.0.1:8545"
    );
    assert!(h.network_of(137).is_none());
    assert_eq!(h.accounts.len(), 2);
    assert_eq!(h.assets.len(), 1);
    assert!(Holdings::from_json("{}").is_err());
}

#[test]
fn a_plan_made_before_the_accounts_changed_is_not_used() {
    let mut w = with_token();
    let plans = portfolio::plan(&held(&w));
    let answers = vec![vec![Ok(json!("0x1")), Ok(json!("0x2"))]];
    // Account 2 leaves while the batch is under way: its answers would be
    // read against another list of calls.
    w.state.sync_accounts(&[(A0.parse().unwrap(), json!({}))]);
    let out = portfolio::read(&held(&w), &plans[..1], &answers, &[], NOW);
    assert_eq!(out["stored"], json!([]));
}
