//! `wallet_watchAsset`: the token the site asks to add.

use super::s;
use crate::model::{Approval, WalletState};
use crate::view::{el, kv, El};

pub(super) fn asset_body(a: &Approval, st: &WalletState) -> El {
    let t = a
        .request
        .get("asset")
        .cloned()
        .unwrap_or_else(|| a.display.clone());
    let dec = t.get("decimals").map(|d| d.to_string()).unwrap_or_default();
    let chain = t.get("chainId").and_then(crate::model::chain_id_of);
    el("section")
        .class("card")
        .child(crate::chain::concerned_network(chain, st))
        .child(kv("Symbol", s(&t, "symbol"), "asset-symbol"))
        .child(kv("Contract", s(&t, "address"), "asset-address"))
        .child(kv("Decimals", dec, "asset-decimals"))
}

#[cfg(test)]
mod tests {
    use crate::view::fixtures::approval_ui;
    use crate::view::view;
    use serde_json::{json, Value};

    #[test]
    fn watch_asset_shows_the_token() {
        let asset = json!({"chainId": 31337, "address": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "symbol": "TND", "decimals": 6});
        let v = view(
            &approval_ui("watch_asset", json!({"asset": asset}), Value::Null),
            "",
        );
        assert_eq!(v.find("asset-symbol").unwrap().text_content(), "TND");
        assert_eq!(v.find("asset-decimals").unwrap().text_content(), "6");
        // The network it is on, by the wallet's name for it.
        let chain = v.find("approval-chain").unwrap().text_content();
        assert!(chain.contains("chain 31337"), "{chain}");
    }
}
