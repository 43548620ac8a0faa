//! Home's "every account, every network": the last known balance of each
//! account on each network, with the time it was read ("as of"). The rows
//! come from the worker's stored records (`portfolio`'s `all`), so they show
//! at once, before a refresh finishes; a refresh replaces a row only when
//! that network answered.

use crate::format::{format_native, relative_time};
use crate::model::NetworkExt as _;
use crate::model::{Portfolio, WalletState};
use crate::view::{el, El, Tab, Ui};

/// The section (on the Tokens tab), or nothing while no record exists.
pub(super) fn everywhere(ui: &Ui) -> Option<El> {
    let (st, p) = (ui.state.as_ref()?, ui.portfolio.as_ref()?);
    if ui.tab != Tab::Tokens || p.all.is_empty() {
        return None;
    }
    let mut list = el("ul").class("list").tid("everywhere-list");
    for r in &p.all {
        list = list.maybe(row(st, r, ui.now_ms));
    }
    Some(
        el("section")
            .class("everywhere")
            .tid("everywhere")
            .child(el("h3").text("Every account, every network"))
            .child(list),
    )
}

/// One record's row: `Account 1 · Ethereum`, the balance, "as of 2 min ago".
fn row(st: &WalletState, r: &Portfolio, now_ms: f64) -> Option<El> {
    let chain = r.chain_id;
    let net = st.networks.iter().find(|n| n.id() == chain)?;
    let account = st
        .accounts
        .iter()
        .find(|a| a.address.eq_ignore_ascii_case(&r.address))?;
    let id = format!("{chain}-{}", r.address.to_lowercase());
    Some(
        el("li")
            .class("row")
            .tid(format!("everywhere-{id}"))
            .child(
                el("span")
                    .class("grow")
                    .text(format!("{} · {}", account.name, net.name)),
            )
            .child(
                el("span")
                    .class("amt")
                    .tid(format!("everywhere-balance-{id}"))
                    .text(format_native(
                        &r.native.balance,
                        net.decimals(),
                        &net.symbol,
                    )),
            )
            .child(
                el("span")
                    .class("muted small")
                    .tid(format!("everywhere-asof-{id}"))
                    .text(format!(
                        "as of {}",
                        relative_time(r.updated_at as f64, now_ms)
                    )),
            ),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::view::Page;
    use serde_json::json;

    fn texts(e: &El, out: &mut Vec<String>) {
        for c in &e.children {
            match c {
                crate::view::Node::Text(t) => out.push(t.clone()),
                crate::view::Node::El(e) => texts(e, out),
            }
        }
    }

    #[test]
    fn each_record_shows_its_account_network_balance_and_time() {
        let mut ui = Ui::new(Page::Popup);
        ui.now_ms = 1_000_000.0;
        ui.state = Some(
            serde_json::from_value(json!({
                "accounts": [
                    {"address": "0x00000000000000000000000000000000000000a1", "name": "Main"},
                    {"address": "0x00000000000000000000000000000000000000a2", "name": "Savings"}
                ],
                "networks": [
                    {"chainId": 1, "name": "Ethereum", "rpcUrl": "https://x", "symbol": "ETH"},
                    {"chainId": 137, "name": "Polygon", "rpcUrl": "https://y", "symbol": "POL"}
                ]
            }))
            .unwrap(),
        );
        assert!(everywhere(&ui).is_none(), "no records, no section");
        ui.portfolio = Some(
            serde_json::from_value(json!({ "all": [
                {"address": "0x00000000000000000000000000000000000000A1", "chainId": 1,
                 "native": {"symbol": "ETH", "balance": "0xde0b6b3a7640000"}, "updatedAt": 1_000_000},
                {"address": "0x00000000000000000000000000000000000000a2", "chainId": 137,
                 "native": {"symbol": "POL", "balance": "0x1bc16d674ec80000"}, "updatedAt": 700_000},
                // a network the wallet no longer has: not shown
                {"address": "0x00000000000000000000000000000000000000a2", "chainId": 10,
                 "native": {"symbol": "ETH", "balance": "0x1"}, "updatedAt": 1}
            ]}))
            .unwrap(),
        );
        let mut out = Vec::new();
        texts(&everywhere(&ui).unwrap(), &mut out);
        assert_eq!(
            out,
            [
                "Every account, every network",
                "Main · Ethereum",
                "1 ETH",
                "as of just now",
                "Savings · Polygon",
                "2 POL",
                "as of 5 min ago",
            ]
        );
        ui.tab = Tab::Activity;
        assert!(everywhere(&ui).is_none(), "only on the Tokens tab");
    }
}
