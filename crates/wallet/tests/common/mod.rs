//! What the controller's tests share.
#![allow(clippy::unwrap_used, dead_code)] // test helpers; each test file uses some

use serde_json::{json, Value};
use tandem_confirm::{Message, Request};
use tandem_wallet::{Outcome, Wallet};

/// The requesting site of the tests.
pub(crate) const ORIGIN: &str = "https://dapp.example";
// anvil/hardhat account 0 and 1 of "test test ... junk" (Foundry docs).
pub(crate) const A0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
pub(crate) const A1: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
pub(crate) const NOW: u64 = 1_700_000_000_000;

/// A wallet holding anvil's accounts 0 and 1.
pub(crate) fn wallet() -> Wallet {
    let mut w = Wallet::default();
    w.state.sync_accounts(&[
        (
            A0.parse().unwrap(),
            json!({"kind": "derived", "source": 0, "index": 0}),
        ),
        (
            A1.parse().unwrap(),
            json!({"kind": "derived", "source": 0, "index": 1}),
        ),
    ]);
    w
}

/// ORIGIN asks `method`; the approval it queues.
pub(crate) fn ask(w: &mut Wallet, method: &str, params: Value) -> u64 {
    match w.request(
        ORIGIN,
        &json!({"method": method, "params": params}),
        true,
        json!({"tab": 1}),
        NOW,
    ) {
        Outcome::Approval { id, .. } => id,
        o => panic!("expected an approval, got {o:?}"),
    }
}

/// The RPC of the network that approval `id` adds answers `eth_chainId`
/// with the chain the site named: the approval can then be approved.
pub(crate) fn rpc_agrees(w: &mut Wallet, id: u64) {
    let chain = w.session.approval(id).unwrap().request["network"]["chainId"]
        .as_u64()
        .unwrap();
    assert_eq!(
        w.chain_checked(id, &json!(format!("{chain:#x}"))).unwrap(),
        None
    );
}

/// What the phone received: the request message, decoded.
pub(crate) fn to_phone(w: &mut Wallet) -> (Vec<u8>, Request) {
    let out = w.take_phone_outbox();
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(out[0].request);
    let bytes = out[0].text.clone().into_bytes();
    match Message::decode(&bytes).unwrap() {
        Message::Request { request, .. } => (bytes, request),
        m => panic!("{m:?}"),
    }
}
