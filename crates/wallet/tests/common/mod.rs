//! What the controller's tests share.
#![allow(clippy::unwrap_used, dead_code)] // test helpers; each test file uses some

use serde_json::json;
use tandem_wallet::Wallet;

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
