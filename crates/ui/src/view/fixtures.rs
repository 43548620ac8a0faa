//! The wallet state and models the view tests share.

use super::{Page, Ui};
use crate::model::{Approval, WalletState};
use serde_json::{json, Value};

pub(crate) fn state() -> WalletState {
    serde_json::from_value(json!({
        "initialized": true, "unlocked": true,
        "accounts": [
            {"address": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "name": "Account 1", "origin": {"index": 0}},
            {"address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "name": "Savings", "origin": {"index": 1}}
        ],
        "selected": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "network": {"chainId": 31337, "name": "Localhost", "rpcUrl": "http://127.0.0.1:8545", "symbol": "ETH", "builtin": true},
        "networks": [
            {"chainId": 1, "name": "Ethereum", "rpcUrl": "https://x", "symbol": "ETH", "builtin": true},
            {"chainId": 31337, "name": "Localhost", "rpcUrl": "http://127.0.0.1:8545", "symbol": "ETH", "builtin": true},
            {"chainId": 999, "name": "Mine", "rpcUrl": "https://y", "symbol": "MYC"}
        ],
        "sites": [{"origin": "http://127.0.0.1:5173", "accounts": ["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"], "connectedAt": 0}],
        "settings": {"autoLockMinutes": 15, "ownWindowEthereum": false},
        "pendingApprovals": 1
    }))
    .unwrap()
}

pub(crate) fn home_ui() -> Ui {
    let mut ui = Ui::new(Page::Popup);
    ui.state = Some(state());
    ui.route();
    ui.portfolio = Some(serde_json::from_value(json!({
        "address": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", "chainId": 31337,
        "native": {"symbol": "ETH", "balance": "0x21e19e0c9bab2400000"},
        "tokens": [{"address": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "symbol": "TND", "decimals": 6, "balance": "0x3b9aca00"}],
        "updatedAt": 1000
    })).unwrap());
    ui.activity = vec![serde_json::from_value(json!({
        "hash": "0xabc1230000000000000000000000000000000000000000000000000000000001", "chainId": 31337,
        "from": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "value": "0xde0b6b3a7640000", "status": "confirmed", "submittedAt": 0
    })).unwrap()];
    ui.now_ms = 61_000.0;
    ui
}

pub(crate) fn approval_ui(kind: &str, request: Value, display: Value) -> Ui {
    let mut ui = Ui::new(Page::Approval);
    ui.state = Some(state());
    ui.approval = Some(Approval::example(
        kind,
        "http://127.0.0.1:5173",
        request,
        display,
    ));
    ui.route();
    // Visible and focused long enough (crate::queue).
    ui.approve_armed = true;
    ui
}
