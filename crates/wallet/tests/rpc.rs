//! Issue 13, item 5: what the wallet does with a node that lies (fees, the
//! answer's id, the sent hash) and where it asks for receipts.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use tandem_wallet::rpc::{self, FEE_CAP_WEI, HIGH_FEE_WEI};
use tandem_wallet::{Activity, Edits, Fill, TxStatus, Wallet};

mod common;
use common::{wallet, A0, A1, NOW, ORIGIN};

/// A wallet on chain 31337 connected to ORIGIN.
fn connected() -> Wallet {
    let mut w = wallet();
    w.state.select_network(31337).unwrap();
    let id = common::ask(&mut w, "eth_requestAccounts", json!([]));
    w.resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap();
    w
}

/// A connected wallet on chain 31337 with a 1 wei transfer waiting for its fill.
fn waiting_transfer() -> (Wallet, u64) {
    let mut w = connected();
    let id = common::ask(
        &mut w,
        "eth_sendTransaction",
        json!([{"from": A0, "to": A1, "value": "0x1"}]),
    );
    (w, id)
}

fn fill(v: Value) -> Fill {
    serde_json::from_value(v).unwrap()
}

fn gwei(n: u128) -> String {
    format!("{:#x}", n * 1_000_000_000)
}

#[test]
fn absurd_fees_from_the_node_are_refused_and_nothing_is_approvable() {
    for f in [
        json!({"nonce": "0x0", "gasEstimate": "0x5208", "baseFee": gwei(1_000_000)}),
        json!({"nonce": "0x0", "gasEstimate": "0x5208", "baseFee": "0x7", "priorityFee": gwei(60_000)}),
        json!({"nonce": "0x0", "gasEstimate": "0x5208", "gasPrice": gwei(50_001)}),
    ] {
        let (mut w, id) = waiting_transfer();
        let e = w.fill_transaction(id, &fill(f.clone())).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("above Tandem's limit of 50000 gwei"),
            "{f}: {msg}"
        );
        let a = w.session.approval(id).unwrap();
        assert!(
            a.needs_fill,
            "{f}: still unfilled, so it cannot be approved"
        );
        assert!(a.request["transaction"].get("maxFeePerGas").is_none());
        assert!(a.request["transaction"].get("gasPrice").is_none());
        assert!(w
            .resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
            .is_err());
    }
    // At the cap exactly: accepted (a bound, not a guess).
    let (mut w, id) = waiting_transfer();
    let at_cap = fill(
        json!({"nonce": "0x0", "gasEstimate": "0x5208", "gasPrice": format!("{FEE_CAP_WEI:#x}")}),
    );
    w.fill_transaction(id, &at_cap).unwrap();
}

#[test]
fn unusually_high_fees_are_warned_about_once_and_normal_ones_are_not() {
    let warnings = |w: &Wallet, id: u64| -> Vec<String> {
        serde_json::from_value(w.session.approval(id).unwrap().display["warnings"].clone()).unwrap()
    };
    // 600 gwei base fee: max fee 1200 gwei + tip, above the 1000 gwei mark.
    let (mut w, id) = waiting_transfer();
    w.fill_transaction(
        id,
        &fill(json!({"nonce": "0x0", "gasEstimate": "0x5208", "baseFee": gwei(600), "priorityFee": gwei(2)})),
    )
    .unwrap();
    let ws = warnings(&w, id);
    assert_eq!(ws.len(), 1, "{ws:?}");
    assert!(
        ws[0].contains("unusually high network fee: up to 1202 gwei"),
        "{ws:?}"
    );
    // 30 gwei: nothing to say.
    let (mut w, id) = waiting_transfer();
    w.fill_transaction(
        id,
        &fill(json!({"nonce": "0x0", "gasEstimate": "0x5208", "baseFee": gwei(15), "priorityFee": gwei(1)})),
    )
    .unwrap();
    assert!(warnings(&w, id).is_empty());
    // A site's own high gas price is warned about too.
    let mut w = connected();
    let id = common::ask(
        &mut w,
        "eth_sendTransaction",
        json!([{"from": A0, "to": A1, "value": "0x1", "gasPrice": format!("{:#x}", HIGH_FEE_WEI + 1)}]),
    );
    w.fill_transaction(id, &fill(json!({"nonce": "0x0", "gasEstimate": "0x5208"})))
        .unwrap();
    assert_eq!(warnings(&w, id).len(), 1);
}

#[test]
fn an_answer_to_another_request_is_not_used() {
    let ok = r#"{"jsonrpc":"2.0","id":7,"result":"0x7a69"}"#;
    assert_eq!(rpc::answer(7, ok, NODE), Ok(json!("0x7a69")));
    let null = r#"{"jsonrpc":"2.0","id":7,"result":null}"#;
    assert_eq!(rpc::answer(7, null, NODE), Ok(Value::Null));
    for (body, why) in [
        (
            r#"{"jsonrpc":"2.0","id":8,"result":"0x7a69"}"#,
            "another request (id 8, not 7)",
        ),
        (
            r#"{"jsonrpc":"2.0","id":"7","result":"0x7a69"}"#,
            "another request (id not a number, not 7)",
        ),
        (
            r#"{"jsonrpc":"2.0","result":"0x7a69"}"#,
            "another request (id not a number, not 7)",
        ),
        (
            r#"[{"jsonrpc":"2.0","id":7,"result":"0x1"}]"#,
            "not a JSON-RPC response",
        ),
        ("<html>", "not a JSON-RPC response"),
        (
            r#"{"jsonrpc":"2.0","id":7}"#,
            "neither a result nor an error",
        ),
    ] {
        let e = rpc::answer(7, body, NODE).unwrap_err();
        assert_eq!(e["code"], -32603, "{body}");
        assert!(e["message"].as_str().unwrap().contains(why), "{body}: {e}");
    }
    // The node's own error passes through, code and data included.
    let err = r#"{"jsonrpc":"2.0","id":7,"error":{"code":3,"message":"execution reverted","data":"0x08c379a0"}}"#;
    assert_eq!(
        rpc::answer(7, err, NODE),
        Err(json!({"code": 3, "message": "execution reverted", "data": "0x08c379a0"}))
    );
    let bad = r#"{"jsonrpc":"2.0","id":7,"error":{"code":"3","message":"x"}}"#;
    assert!(rpc::answer(7, bad, NODE).unwrap_err()["message"]
        .as_str()
        .unwrap()
        .contains("malformed error"));
}

/// An RPC URL with an API key in its path (the form Infura and Alchemy use).
const NODE: &str = "https://eth-mainnet.example.io/v2/Xy7KpQ2mN9vR4tL8";

#[test]
fn a_node_error_that_quotes_the_rpc_url_reaches_the_page_without_it() {
    // Node software quotes the URL it was reached at in rate-limit and auth
    // errors; the page gets the error with the URL and its key cut out.
    let body = json!({"jsonrpc": "2.0", "id": 7, "error": {
        "code": -32005,
        "message": format!("daily limit reached for {NODE}; upgrade at https://example.io/key/Xy7KpQ2mN9vR4tL8"),
        "data": {"endpoint": "eth-mainnet.example.io/v2/Xy7KpQ2mN9vR4tL8/", "see": ["key Xy7KpQ2mN9vR4tL8"]}
    }})
    .to_string();
    let e = rpc::answer(7, &body, NODE).unwrap_err();
    let shown = e.to_string();
    assert!(!shown.contains("Xy7KpQ2mN9vR4tL8"), "{shown}");
    assert!(!shown.contains("eth-mainnet.example.io"), "{shown}");
    assert_eq!(e["code"], -32005);
    assert_eq!(
        e["message"],
        "daily limit reached for <rpc url>; upgrade at https://example.io/key/<rpc url>"
    );
    // With the key in the query or the userinfo, the same.
    for url in [
        "https://rpc.example.io/?apikey=Qm3kdF9xLp2Zr7Tw",
        "https://user:Qm3kdF9xLp2Zr7Tw@rpc.example.io",
    ] {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":7,"error":{{"code":-32000,"message":"bad key Qm3kdF9xLp2Zr7Tw at {url}"}}}}"#
        );
        let m = rpc::answer(7, &body, url).unwrap_err()["message"].to_string();
        assert!(!m.contains("Qm3kdF9xLp2Zr7Tw"), "{m}");
    }
}

fn sent(hash: &str, chain_id: u64) -> Activity {
    serde_json::from_value(json!({
        "hash": hash, "chainId": chain_id, "from": A0, "to": A1, "value": "0x1",
        "status": "pending", "origin": ORIGIN, "submittedAt": NOW, "blockNumber": null
    }))
    .unwrap()
}

#[test]
fn a_node_answering_another_hash_is_reported_and_the_signed_hash_kept() {
    let signed = format!("0x{}", "ab".repeat(32));
    let lie = format!("0x{}", "cd".repeat(32));
    let mut w = wallet();
    let warning = w
        .state
        .record_sent(sent(&signed, 31337), &json!(lie))
        .unwrap();
    assert!(
        warning.contains(&lie) && warning.contains(&signed),
        "{warning}"
    );
    let a = &w.state.activity[0];
    assert_eq!(
        (a.hash.as_str(), a.warning.as_ref()),
        (signed.as_str(), Some(&warning))
    );
    // No answer is reported too; the same hash (any case) is not.
    assert!(rpc::sent_hash_warning(&signed, &Value::Null).is_some());
    assert_eq!(
        rpc::sent_hash_warning(
            &signed,
            &json!(signed.to_uppercase().replacen("0X", "0x", 1))
        ),
        None
    );
    let other = format!("0x{}", "ef".repeat(32));
    assert_eq!(
        w.state.record_sent(sent(&other, 31337), &json!(other)),
        None
    );
    assert_eq!(w.state.activity[1].warning, None);
}

#[test]
fn receipts_are_asked_of_the_chain_each_transaction_was_sent_on() {
    let mut w = wallet();
    w.state.select_network(31337).unwrap();
    w.state.record(sent("0x01", 31337));
    w.state.record(sent("0x02", 137));
    w.state.select_network(1).unwrap();
    assert_eq!(
        w.state.pending_hashes(),
        [("0x01".to_owned(), 31337), ("0x02".to_owned(), 137)]
    );
    assert!(w.state.update_status("0x01", TxStatus::Confirmed, Some(1)));
    assert_eq!(w.state.pending_hashes(), [("0x02".to_owned(), 137)]);
}

/// Issue 13, item 3: a nonce the site chose is compared with the account's
/// next one (the node's pending count).
#[test]
fn a_site_chosen_nonce_below_the_next_is_flagged_as_a_replacement() {
    let ask = |nonce: Option<&str>| {
        let mut w = connected();
        let mut tx = json!({"from": A0, "to": A1, "value": "0x1"});
        if let Some(n) = nonce {
            tx["nonce"] = json!(n);
        }
        let id = common::ask(&mut w, "eth_sendTransaction", json!([tx]));
        w.fill_transaction(
            id,
            &fill(json!({"nonce": "0x5", "gasEstimate": "0x5208", "baseFee": "0x1"})),
        )
        .unwrap();
        let d = w.session.approval(id).unwrap().display.clone();
        let ws: Vec<String> = serde_json::from_value(d["warnings"].clone()).unwrap();
        (d["nonce"].clone(), ws)
    };
    let (nonce, ws) = ask(Some("0x3"));
    assert_eq!(nonce, "0x3", "the site's nonce is kept");
    assert_eq!(ws.len(), 1, "{ws:?}");
    assert!(
        ws[0].starts_with("replaces a pending transaction: the site chose nonce 3"),
        "{ws:?}"
    );
    assert!(ws[0].contains("its next is 5"), "{ws:?}");
    let (_, ws) = ask(Some("0x9"));
    assert!(
        ws[0].contains("nonce 9, ahead of this account's next (5)"),
        "{ws:?}"
    );
    assert_eq!(ask(Some("0x5")), (json!("0x5"), vec![]));
    assert_eq!(ask(None), (json!("0x5"), vec![]));
}
