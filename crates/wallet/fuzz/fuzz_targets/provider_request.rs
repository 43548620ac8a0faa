//! Any bytes a page can send as an EIP-1193 request: the controller answers
//! with an outcome and never panics; approvals it queues resolve cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use tandem_wallet::{Edits, Wallet};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(request) = serde_json::from_str::<Value>(text) else { return };
    let mut w = Wallet::default();
    w.state.sync_accounts(&[(
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".parse().expect("valid address"),
        Value::Null,
    )]);
    w.state.grant(
        "https://dapp.example",
        vec!["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".parse().expect("valid address")],
        0,
    );
    let _ = w.request("https://dapp.example", &request, true, json!({}), 1);
    // The same value as a bare params array of each approval-bearing method.
    for m in ["personal_sign", "eth_signTypedData_v4", "eth_sendTransaction", "wallet_addEthereumChain", "wallet_switchEthereumChain", "wallet_watchAsset"] {
        let _ = w.request("https://dapp.example", &json!({"method": m, "params": request}), true, json!({}), 1);
    }
    let ids: Vec<u64> = w.session.approvals.iter().map(|a| a.id).collect();
    for id in ids {
        let edits: Edits = serde_json::from_value(request.clone()).unwrap_or_default();
        let _ = w.resolve(id, true, &edits, true, 2, "", [0; 16]);
    }
    let _ = Wallet::load(&w.state.to_json(), &w.session.to_json()).expect("own output reloads");
});
