//! Approval views about networks: the chain a signature or transaction is
//! for (and a warning when the user has since selected another), and the
//! switch-network and add-network approvals. Data: `tandem_wallet`'s
//! `Network` and `display` types, the very ones the worker serializes.

use crate::model::NetworkExt as _;
use tandem_wallet::display::{self, AddChainView, SwitchChainView};
use tandem_wallet::Network;

use crate::model::{Approval, WalletState};
use crate::view::{el, kv, El};

impl Approval {
    /// The chain a signing approval is for (`display.chain`).
    pub fn chain(&self) -> Option<Network> {
        serde_json::from_value(self.display.get("chain")?.clone()).ok()
    }

    /// A `switch_chain` approval's networks.
    pub fn switch_chain(&self) -> Option<SwitchChainView> {
        serde_json::from_value(self.display.clone()).ok()
    }

    /// An `add_chain` approval's network and what it changes.
    pub fn add_chain(&self) -> Option<AddChainView> {
        serde_json::from_value(self.display.clone()).ok()
    }
}

/// `Localhost 8545 · chain 31337 · ETH`.
pub fn chain_text(c: &Network) -> String {
    if c.symbol.is_empty() {
        format!("{} · chain {}", display::label(c), c.chain_id)
    } else {
        format!(
            "{} · chain {} · {}",
            display::label(c),
            c.chain_id,
            c.symbol
        )
    }
}

/// The network a signature or transaction is for (`approval-chain`), and a
/// warning (`approval-chain-mismatch`) when the selected network differs.
pub fn signing_chain(a: &Approval, st: &WalletState) -> El {
    let Some(c) = a.chain() else {
        return el("p")
            .class("warn danger")
            .tid("approval-chain-unknown")
            .text("Tandem cannot tell which network this request is for: reject it.");
    };
    let selected = st.network.as_ref().map(|n| n.id()).unwrap_or(c.chain_id);
    let gone = (!display::known(&c)).then(|| {
        el("p")
            .class("warn danger")
            .tid("approval-chain-removed")
            .text(format!(
                "Tandem no longer has network {}: this request cannot be carried out.",
                c.chain_id
            ))
    });
    el("div")
        .class("stack")
        .child(kv("Network", chain_text(&c), "approval-chain"))
        .maybe(display::mismatch(&c, selected).map(|m| {
            el("p")
                .class("warn danger")
                .attr("role", "alert")
                .tid("approval-chain-mismatch")
                .text(m)
        }))
        .maybe(gone)
}

/// The network a request that signs nothing concerns (a token to watch,
/// a connection made on the selected network), as a `Network` row:
/// the wallet's network of `chain_id` (`None`: the selected one), or its
/// id alone if the wallet has no such network.
pub fn concerned_network(chain_id: Option<u64>, st: &WalletState) -> El {
    let selected = st.network.as_ref().map(crate::model::NetworkExt::id);
    let text = match chain_id.or(selected) {
        None => "unknown".to_owned(),
        Some(id) => st.networks.iter().find(|n| n.id() == id).map_or_else(
            || format!("chain {id} (not one of your networks)"),
            |n| {
                let symbol = if n.symbol.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", n.symbol)
                };
                format!("{} · chain {id}{symbol}", n.name)
            },
        ),
    };
    kv("Network", text, "approval-chain")
}

/// `switch_chain`: from which network to which.
pub fn switch_body(a: &Approval) -> El {
    let Some(v) = a.switch_chain() else {
        return unreadable();
    };
    el("div").class("stack").child(
        el("section")
            .class("card")
            .child(kv("Network", v.to.name.clone(), "chain-name"))
            .child(kv("Chain ID", v.to.chain_id.to_string(), "chain-id"))
            .child(kv("Currency", v.to.symbol.clone(), "chain-symbol"))
            .child(kv("Now on", chain_text(&v.from), "chain-from")),
    )
}

/// `add_chain`: a new network, or what changes in a known one (old and
/// new side by side), or that nothing changes.
pub fn add_body(a: &Approval) -> El {
    let Some(v) = a.add_chain() else {
        return unreadable();
    };
    let n = &v.network;
    let card = el("section")
        .class("card")
        .child(kv("Network", n.name.clone(), "chain-name"))
        .child(kv("Chain ID", n.chain_id.to_string(), "chain-id"))
        .child(kv("RPC URL", n.rpc_url.clone(), "chain-rpc"))
        .child(kv("Currency", n.symbol.clone(), "chain-symbol"))
        .child(kv("Decimals", n.decimals.to_string(), "chain-decimals"));
    let changes = v.changes();
    let what = match &v.already_known {
        None => el("p").class("muted small").tid("chain-new").text(
            "A network's RPC can see your addresses and lie about balances. \
             Add networks only from sites you trust.",
        ),
        Some(old) if changes.is_empty() => {
            el("p").class("muted").tid("chain-unchanged").text(format!(
                "Tandem already has {} exactly as the site describes it: nothing \
                 changes; approving switches to it.",
                old.name
            ))
        }
        Some(old) => el("section")
            .class("card")
            .tid("chain-changes")
            .child(el("h2").text(format!(
                "Tandem already has chain {} as {}; approving changes:",
                old.chain_id, old.name
            )))
            .children(changes.iter().map(|c| {
                let shown = |s: &str| {
                    if s.is_empty() {
                        "(none)".to_owned()
                    } else {
                        s.to_owned()
                    }
                };
                kv(
                    c.label,
                    format!("{} → {}", shown(&c.old), shown(&c.new)),
                    &format!("chain-change-{}", c.field),
                )
            }))
            .child(el("p").class("warn").text(
                "The new RPC will see your addresses and can lie about balances: \
                 approve only if you trust this site.",
            )),
    };
    el("div")
        .class("stack")
        .child(card)
        .maybe(a.needs_fill.then(|| {
            el("p").class("muted").tid("chain-checking").text(format!(
                "Asking the RPC which chain it serves (it must be chain {})…",
                n.chain_id
            ))
        }))
        .child(what)
}

/// The heading of an `add_chain` approval: adding, or changing a known one.
pub fn add_heading(a: &Approval) -> &'static str {
    match a.add_chain() {
        Some(v) if v.already_known.is_some() && !v.changes().is_empty() => "Change a network?",
        _ => "Add a network?",
    }
}

/// The label of an `add_chain` approval's button: what approving does.
pub fn add_label(a: &Approval) -> &'static str {
    match a.add_chain() {
        Some(v) if v.already_known.is_some() && v.changes().is_empty() => "Switch",
        Some(v) if v.already_known.is_some() => "Update network",
        _ => "Add network",
    }
}

fn unreadable() -> El {
    el("p")
        .class("error")
        .tid("chain-unreadable")
        .text("Tandem cannot read this network request: reject it.")
}

#[cfg(test)]
pub(crate) mod tests {
    //! Views rendered from approvals as the worker really makes them: its
    //! controller (`tandem_wallet::Wallet`) takes the request and the
    //! approval goes through the same JSON the worker sends the page.
    use crate::view::{view, Page, Ui};
    use serde_json::{json, Value};
    use tandem_wallet::{Edits, Fill, Outcome, Wallet};

    pub(crate) const SITE: &str = "http://127.0.0.1:5173";
    // anvil account 0 and 1 of "test test ... junk" (Foundry docs).
    pub(crate) const A0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    pub(crate) const A1: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    pub(crate) fn ask(w: &mut Wallet, method: &str, params: Value) -> u64 {
        match w.request(
            SITE,
            &json!({"method": method, "params": params}),
            true,
            json!({"tabId": 1}),
            1,
        ) {
            Outcome::Approval { id, .. } => id,
            other => panic!("{method}: {other:?}"),
        }
    }

    /// A wallet on the local chain, connected to SITE.
    pub(crate) fn worker() -> Wallet {
        let mut w = Wallet::default();
        w.state.sync_accounts(&[(
            A0.parse::<alloy_primitives::Address>().unwrap(),
            json!({"kind": "derived", "source": 0, "index": 0}),
        )]);
        w.state.select_network(31337).unwrap();
        let id = ask(&mut w, "eth_requestAccounts", json!([]));
        w.resolve(id, true, &Edits::default(), true, 1, "", [0; 16])
            .unwrap();
        w
    }

    /// The approval page for approval `id`, with the worker's `state` as
    /// the page gets it (selected network included).
    pub(crate) fn page(w: &Wallet, id: u64) -> Ui {
        let mut ui = Ui::new(Page::Approval);
        let net = json!(w.state.network());
        ui.state = Some(
            serde_json::from_value(json!({
                "initialized": true, "unlocked": true,
                "accounts": [{"address": A0, "name": "Account 1"}],
                "selected": A0, "network": net, "networks": w.state.networks,
            }))
            .unwrap(),
        );
        // The worker's very answer to `approvals.get` (its queue count too).
        let mut a: Value = serde_json::from_str(&w.approval_json(id).unwrap()).unwrap();
        a["queued"] = json!(0);
        ui.approval = Some(serde_json::from_value(a).unwrap());
        ui.route();
        ui
    }

    pub(crate) fn text(ui: &Ui, testid: &str) -> String {
        view(ui, "")
            .find(testid)
            .unwrap_or_else(|| panic!("no {testid}"))
            .text_content()
    }

    #[test]
    fn a_transaction_shows_its_own_chain_and_currency_after_a_switch() {
        let mut w = worker();
        // 100 ETH on the local chain.
        let id = ask(
            &mut w,
            "eth_sendTransaction",
            json!([{"from": A0, "to": A1, "value": "0x56bc75e2d63100000"}]),
        );
        let fill: Fill = serde_json::from_value(
            json!({"nonce": "0x0", "gasEstimate": "0x5208", "baseFee": "0x3b9aca00", "priorityFee": "0x1"}),
        )
        .unwrap();
        w.fill_transaction(id, &fill).unwrap();
        let before = page(&w, id);
        assert_eq!(text(&before, "tx-value"), "100 ETH");
        assert_eq!(
            text(&before, "approval-chain"),
            "Localhost 8545 · chain 31337 · ETH"
        );
        assert!(view(&before, "").find("approval-chain-mismatch").is_none());
        // The site then switches the wallet to Polygon, whose currency is POL.
        let sw = ask(
            &mut w,
            "wallet_switchEthereumChain",
            json!([{"chainId": "0x89"}]),
        );
        w.resolve(sw, true, &Edits::default(), true, 2, "", [0; 16])
            .unwrap();
        let after = page(&w, id);
        assert_eq!(text(&after, "tx-value"), "100 ETH");
        assert!(text(&after, "tx-max-cost").ends_with(" ETH"));
        assert_eq!(
            text(&after, "approval-chain"),
            "Localhost 8545 · chain 31337 · ETH"
        );
        let warn = text(&after, "approval-chain-mismatch");
        assert!(warn.contains("Localhost 8545 (chain 31337)"), "{warn}");
        assert!(!view(&after, "").text_content().contains("POL"));
    }

    #[test]
    fn signatures_name_the_chain_they_were_asked_on() {
        let mut w = worker();
        let msg = ask(&mut w, "personal_sign", json!(["0x48656c6c6f", A0]));
        let td = json!({
            "types": {"EIP712Domain": [{"name": "chainId", "type": "uint256"}], "M": [{"name": "x", "type": "uint256"}]},
            "primaryType": "M", "domain": {"chainId": 31337}, "message": {"x": 1}
        });
        let typed = ask(&mut w, "eth_signTypedData_v4", json!([A0, td]));
        w.state.select_network(137).unwrap();
        for id in [msg, typed] {
            let ui = page(&w, id);
            assert_eq!(
                text(&ui, "approval-chain"),
                "Localhost 8545 · chain 31337 · ETH"
            );
            assert!(text(&ui, "approval-chain-mismatch").contains("chain 31337"));
        }
        // Typed data's own chain check does not repeat the warning.
        let all = view(&page(&w, typed), "").text_content();
        // The network row, one warning, and the domain's own chain row.
        assert_eq!(all.matches("chain 31337").count(), 3, "{all}");
        assert_eq!(
            all.matches("not the network Tandem now uses").count(),
            1,
            "{all}"
        );
    }

    #[test]
    fn switch_network_shows_the_target_network() {
        let mut w = worker();
        let id = ask(
            &mut w,
            "wallet_switchEthereumChain",
            json!([{"chainId": "0x89"}]),
        );
        let ui = page(&w, id);
        assert_eq!(text(&ui, "chain-name"), "Polygon");
        assert_eq!(text(&ui, "chain-id"), "137");
        assert_eq!(text(&ui, "chain-symbol"), "POL");
        assert_eq!(
            text(&ui, "chain-from"),
            "Localhost 8545 · chain 31337 · ETH"
        );
        assert_eq!(text(&ui, "approval-approve"), "Switch");
    }

    #[test]
    fn add_network_says_what_changes_in_a_known_one() {
        let mut w = worker();
        w.state.select_network(1).unwrap();
        let add = |name: &str, rpc: &str| {
            json!([{
                "chainId": "0x7a69", "chainName": name, "rpcUrls": [rpc],
                "nativeCurrency": {"name": "Ether", "symbol": "ETH", "decimals": 18}
            }])
        };
        let same = ask(
            &mut w,
            "wallet_addEthereumChain",
            add("Localhost 8545", "http://127.0.0.1:8545"),
        );
        let ui = page(&w, same);
        assert!(text(&ui, "chain-unchanged").contains("nothing changes"));
        assert!(view(&ui, "").find("chain-changes").is_none());
        assert_eq!(text(&ui, "approval-approve"), "Switch");
        w.session.reject_all();

        let id = ask(
            &mut w,
            "wallet_addEthereumChain",
            add("Dev node", "http://127.0.0.1:9999"),
        );
        let ui = page(&w, id);
        // Until its RPC says which chain it serves, Approve is disabled.
        assert!(text(&ui, "chain-checking").contains("chain 31337"));
        let v = view(&ui, "");
        assert!(v
            .find("approval-approve")
            .unwrap()
            .get("disabled")
            .is_some());
        assert_eq!(w.chain_checked(id, &json!("0x7a69")).unwrap(), None);
        let ui = page(&w, id);
        assert!(view(&ui, "").find("chain-checking").is_none());
        assert_eq!(text(&ui, "chain-name"), "Dev node");
        assert_eq!(text(&ui, "chain-change-name"), "Localhost 8545 → Dev node");
        assert_eq!(
            text(&ui, "chain-change-rpcUrl"),
            "http://127.0.0.1:8545 → http://127.0.0.1:9999"
        );
        assert!(view(&ui, "").find("chain-change-symbol").is_none());
        assert_eq!(text(&ui, "approval-approve"), "Update network");
        assert_eq!(text(&ui, "approval-kind"), "Change a network?");
        // And approving does what the window says.
        w.resolve(id, true, &Edits::default(), true, 2, "", [0; 16])
            .unwrap();
        assert_eq!(w.state.network().name, "Dev node");
        assert_eq!(w.state.network().rpc_url, "http://127.0.0.1:9999");

        let new = ask(
            &mut w,
            "wallet_addEthereumChain",
            json!([{"chainId": "0x539", "chainName": "Fresh", "rpcUrls": ["http://127.0.0.1:9545"],
                    "nativeCurrency": {"name": "Dev", "symbol": "DEV", "decimals": 18}}]),
        );
        let ui = page(&w, new);
        assert!(view(&ui, "").find("chain-new").is_some());
        assert_eq!(text(&ui, "chain-symbol"), "DEV");
        assert_eq!(text(&ui, "approval-approve"), "Add network");
        assert_eq!(text(&ui, "approval-kind"), "Add a network?");
    }

    #[test]
    fn a_native_currency_of_6_decimals_is_added_and_shown_in_them() {
        // EIP-3085: decimals is any non-negative integer (as EIP-20's).
        let mut w = worker();
        let id = ask(
            &mut w,
            "wallet_addEthereumChain",
            json!([{"chainId": "0x539", "chainName": "Six", "rpcUrls": ["http://127.0.0.1:9545"],
                    "nativeCurrency": {"name": "Six", "symbol": "SIX", "decimals": 6}}]),
        );
        assert_eq!(w.chain_checked(id, &json!("0x539")).unwrap(), None);
        assert_eq!(text(&page(&w, id), "chain-decimals"), "6");
        w.resolve(id, true, &Edits::default(), true, 1, "", [0; 16])
            .unwrap();
        // 2.5 SIX (2,500,000 base units) on that chain.
        let tx = ask(
            &mut w,
            "eth_sendTransaction",
            json!([{"from": A0, "to": A1, "value": "0x2625a0"}]),
        );
        let fill: Fill = serde_json::from_value(
            json!({"nonce": "0x0", "gasEstimate": "0x5208", "gasPrice": "0x3b9aca00"}),
        )
        .unwrap();
        w.fill_transaction(tx, &fill).unwrap();
        let ui = page(&w, tx);
        assert_eq!(text(&ui, "tx-value"), "2.5 SIX");
        // 21000 gas at 1 gwei = 21,000,000,000,000 base units, plus the value.
        assert_eq!(text(&ui, "tx-max-cost"), "21,000,002.5 SIX");
    }
}
