//! The popup's home: network, account, balance, and the tokens, activity
//! and sites tabs.

mod activity;
mod everywhere;
mod sites;
mod tokens;

pub(super) use tokens::token_form;

use super::{el, error_box, notice_box, on_phone_tag, Action, El, Screen, Tab, Ui};
use crate::devices;
use crate::format::{format_native, relative_time, shorten_address};
use crate::model::NetworkExt as _;
use crate::model::{Network, WalletState};
use activity::activity_panel;
use everywhere::everywhere;
use sites::sites_panel;
use tokens::tokens_panel;

fn network_select(st: &WalletState) -> El {
    let cur = st.network.as_ref().map(Network::id).unwrap_or(0);
    el("select")
        .class("net-select")
        .tid("network-select")
        .attr("aria-label", "Network")
        .on_change(Action::SelectNetwork)
        .children(st.networks.iter().map(|n| {
            let o = el("option")
                .attr("value", n.id().to_string())
                .text(n.name.clone());
            if n.id() == cur {
                o.attr("selected", "")
            } else {
                o
            }
        }))
}

pub(super) fn home(ui: &Ui) -> El {
    let Some(st) = &ui.state else {
        return el("div");
    };
    let acct = st.current_account().cloned().unwrap_or_default();
    let net = st.current_network();
    let header = el("header")
        .class("bar")
        .child(network_select(st))
        .child(el("span").class("spacer"))
        .child(
            el("button")
                .attr("type", "button")
                .class("icon-btn")
                .tid("settings-button")
                .on(Action::Open(Screen::Settings))
                .attr("aria-label", "Settings")
                .child(el("span").class("i i-settings").attr("aria-hidden", "true")),
        )
        .child(
            el("button")
                .attr("type", "button")
                .class("icon-btn")
                .tid("lock-button")
                .on(Action::Lock)
                .attr("aria-label", "Lock")
                .child(el("span").class("i i-lock").attr("aria-hidden", "true")),
        );
    let account = el("section")
        .class("account")
        .child(
            el("button")
                .attr("type", "button")
                .class("account-btn")
                .tid("account-button")
                .on(Action::Open(Screen::Accounts))
                .child(
                    el("span").class("avatar").attr("aria-hidden", "true").text(
                        acct.name
                            .chars()
                            .next()
                            .map(String::from)
                            .unwrap_or_default(),
                    ),
                )
                .child(
                    el("span")
                        .class("account-name")
                        .tid("account-name")
                        .text(acct.name.clone()),
                )
                .maybe(on_phone_tag(&acct, "account-on-phone".into()))
                .child(el("span").class("chev").text("▾")),
        )
        .child(
            el("button")
                .attr("type", "button")
                .class("address")
                .tid("copy-address")
                .on(Action::CopyAddress)
                .attr("title", acct.address.clone())
                .child(
                    el("span")
                        .tid("account-address")
                        .text(shorten_address(&acct.address)),
                )
                .child(
                    el("span")
                        .class("i i-copy small")
                        .attr("aria-hidden", "true"),
                ),
        );
    let portfolio_matches = ui
        .portfolio
        .as_ref()
        .filter(|p| p.address.eq_ignore_ascii_case(&acct.address) && p.chain_id == net.id());
    let native = match portfolio_matches {
        Some(p) => format_native(
            &p.native.balance,
            net.decimals(),
            if p.native.symbol.is_empty() {
                &net.symbol
            } else {
                &p.native.symbol
            },
        ),
        None => format!("— {}", net.symbol),
    };
    let balance = el("section")
        .class("balance")
        .child(el("div").class("big").tid("native-balance").text(native))
        .child(
            el("div")
                .class("muted small")
                .tid("balance-status")
                .text(if ui.stale {
                    "Updating…".to_owned()
                } else {
                    match portfolio_matches {
                        Some(p) if p.updated_at > 0 => {
                            format!("Updated {}", relative_time(p.updated_at as f64, ui.now_ms))
                        }
                        _ => String::new(),
                    }
                }),
        );
    let pending = (st.pending_count() > 0).then(|| {
        el("button")
            .attr("type", "button")
            .class("banner")
            .tid("pending-approvals")
            .on(Action::OpenApproval(String::new()))
            .text(format!(
                "{} request{} waiting for you",
                st.pending_count(),
                if st.pending_count() == 1 { "" } else { "s" }
            ))
    });
    let tab_btn = |t: Tab, label: &str, id: &str| {
        let b = el("button")
            .attr("type", "button")
            .attr("role", "tab")
            .class("tab")
            .tid(format!("tab-{id}"))
            .on(Action::Tab(t))
            .text(label);
        if ui.tab == t {
            b.attr("aria-selected", "true").class("tab active")
        } else {
            b.attr("aria-selected", "false")
        }
    };
    let tabs = el("nav")
        .class("tabs")
        .attr("role", "tablist")
        .child(tab_btn(Tab::Tokens, "Tokens", "tokens"))
        .child(tab_btn(Tab::Activity, "Activity", "activity"))
        .child(tab_btn(Tab::Sites, "Sites", "sites"));
    let panel = match ui.tab {
        Tab::Tokens => tokens_panel(portfolio_matches, &net, &ui.hidden),
        Tab::Activity => activity_panel(ui, &net),
        Tab::Sites => sites_panel(st),
    };
    el("div").class("home").tid("home").child(header).child(
        el("main")
            .class("scroll")
            .child(account)
            .child(balance)
            .child(crate::send::home_actions())
            .child(devices::home_section(ui))
            .maybe(crate::sync::home_line(ui))
            .maybe(pending)
            .maybe(notice_box(ui))
            .maybe(error_box(ui))
            .child(tabs)
            .child(panel)
            .maybe(everywhere(ui)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::fixtures::home_ui;
    use crate::view::view;

    #[test]
    fn home_shows_balances_activity_and_sites() {
        let mut ui = home_ui();
        let v = view(&ui, "");
        assert_eq!(v.get("data-screen"), Some("home"));
        assert_eq!(
            v.find("native-balance").unwrap().text_content(),
            "10,000 ETH"
        );
        assert_eq!(v.find("account-name").unwrap().text_content(), "Account 1");
        assert_eq!(
            v.find("account-address").unwrap().text_content(),
            "0xf39F…2266"
        );
        assert_eq!(v.find("token-balance-TND").unwrap().text_content(), "1,000");
        assert!(v
            .find("pending-approvals")
            .unwrap()
            .text_content()
            .starts_with("1 request "));
        let sel = v.find("network-select").unwrap();
        assert_eq!(sel.find("network-select").unwrap().children.len(), 3);
        ui.tab = Tab::Activity;
        let v = view(&ui, "");
        let h = "0xabc1230000000000000000000000000000000000000000000000000000000001";
        assert_eq!(
            v.find(&format!("activity-status-{h}"))
                .unwrap()
                .text_content(),
            "confirmed"
        );
        assert!(v
            .find(&format!("activity-row-{h}"))
            .unwrap()
            .text_content()
            .contains("1 ETH"));
        ui.tab = Tab::Sites;
        let v = view(&ui, "");
        let b = v.find("site-disconnect-http://127.0.0.1:5173").unwrap();
        assert_eq!(b.get("data-action"), Some("disconnect"));
        assert_eq!(b.get("data-arg"), Some("http://127.0.0.1:5173"));
    }

    #[test]
    fn balance_of_another_account_is_not_shown() {
        let mut ui = home_ui();
        if let Some(st) = ui.state.as_mut() {
            st.selected = Some("0x70997970C51812dc3A010C7d01b50e0d17dc79C8".into());
        }
        let v = view(&ui, "");
        assert_eq!(v.find("native-balance").unwrap().text_content(), "— ETH");
    }
}
