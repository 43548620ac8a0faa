//! Home's sites tab: connected sites, each with a disconnect button, then
//! the sites connected on the wallet's other devices (synced), which have
//! no permission here until the user connects them in this browser.

use crate::model::{SiteElsewhere, WalletState};
use crate::view::{button, el, Action, El};

fn accounts(n: usize) -> String {
    format!("{n} account{}", if n == 1 { "" } else { "s" })
}

pub(super) fn sites_panel(st: &WalletState) -> El {
    let here = if st.sites.is_empty() {
        el("ul")
            .class("list")
            .tid("site-list")
            .child(el("li").class("empty muted").text("No connected sites."))
    } else {
        el("ul")
            .class("list")
            .tid("site-list")
            .children(st.sites.iter().map(|s| {
                el("li")
                    .class("row")
                    .tid(format!("site-row-{}", s.origin))
                    .child(
                        el("div")
                            .class("col")
                            .child(el("span").class("origin").text(s.origin.clone()))
                            .child(
                                el("span")
                                    .class("muted small")
                                    .text(accounts(s.accounts.len())),
                            ),
                    )
                    .child(
                        button(
                            "Disconnect",
                            &format!("site-disconnect-{}", s.origin),
                            Action::Disconnect(s.origin.clone()),
                        )
                        .class("btn small danger"),
                    )
            }))
    };
    if st.sites_elsewhere.is_empty() {
        return here;
    }
    el("div").child(here).child(elsewhere(&st.sites_elsewhere))
}

/// The other devices' sites: where each is connected, and that this
/// browser gives it nothing.
fn elsewhere(list: &[SiteElsewhere]) -> El {
    el("section")
        .tid("sites-elsewhere")
        .child(el("h3").text("Connected on your other devices"))
        .child(el("p").class("muted small").text(
            "These sites cannot see your accounts in this browser. Connect a site here to use it here.",
        ))
        .child(
            el("ul")
                .class("list")
                .children(list.iter().map(|s| {
                    el("li")
                        .class("row")
                        .tid(format!("site-elsewhere-{}", s.origin))
                        .child(
                            el("div")
                                .class("col")
                                .child(el("span").class("origin").text(s.origin.clone()))
                                .child(el("span").class("muted small").text(format!(
                                    "connected on {}, {}",
                                    s.device_name,
                                    accounts(s.accounts.len())
                                ))),
                        )
                })),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Site;

    #[test]
    fn sites_of_other_devices_say_where_and_that_they_have_no_permission_here() {
        let mut st = WalletState {
            sites: vec![Site {
                origin: "https://here.example".into(),
                accounts: vec!["0x0000000000000000000000000000000000000001"
                    .parse()
                    .unwrap()],
                connected_at: 1,
            }],
            ..WalletState::default()
        };
        let v = sites_panel(&st);
        assert!(
            v.find("sites-elsewhere").is_none(),
            "nothing synced: no section"
        );
        st.sites_elsewhere = vec![SiteElsewhere {
            origin: "https://there.example".into(),
            device_name: "Pixel 8".into(),
            accounts: vec!["0x1".into(), "0x2".into()],
        }];
        let v = sites_panel(&st);
        assert!(v.find("site-row-https://here.example").is_some());
        let there = v.find("site-elsewhere-https://there.example").unwrap();
        assert!(
            there
                .text_content()
                .contains("connected on Pixel 8, 2 accounts"),
            "{}",
            there.text_content()
        );
        let section = v.find("sites-elsewhere").unwrap().text_content();
        assert!(section.contains("cannot see your accounts in this browser"));
        assert!(
            !v.testids()
                .contains(&"site-disconnect-https://there.example".to_owned()),
            "nothing to disconnect here"
        );
    }

    #[test]
    fn sites_and_settings_render_from_what_the_worker_sends() {
        // The core's own state, as extension/background.js `view()` passes
        // its `stateJson()` sites and settings on: the UI reads them as the
        // very types the core serializes (tandem_wallet::{Site, Settings}).
        let a0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
        let mut w = tandem_wallet::Wallet::default();
        let a = a0.parse().unwrap();
        w.state
            .sync_accounts(&[(a, serde_json::json!({"index": 0}))]);
        w.state
            .grant("https://app.example", vec![a], 1_700_000_000_000);
        w.state.set_settings(Some(30), Some(true)).unwrap();
        let s: serde_json::Value = serde_json::from_str(&w.state.to_json()).unwrap();
        let st: WalletState = serde_json::from_value(serde_json::json!({
            "initialized": true, "unlocked": true,
            "accounts": s["accounts"], "selected": s["selected"], "networks": s["networks"],
            "sites": s["sites"], "settings": s["settings"], "pendingApprovals": 0,
        }))
        .unwrap();
        assert_eq!(st.sites, w.state.sites);
        let row = sites_panel(&st);
        let row = row.find("site-row-https://app.example").unwrap();
        assert!(
            row.text_content().contains(&accounts(1)),
            "{}",
            row.text_content()
        );
        let mut ui = crate::view::Ui::new(crate::view::Page::Popup);
        ui.state = Some(st);
        let v = crate::view::settings::settings(&ui);
        let own = v.find("settings-own-ethereum").unwrap();
        assert_eq!(own.get("checked"), Some(""));
        let lock = v.find("settings-autolock-input").unwrap();
        assert_eq!(lock.get("value"), Some("30"));
        // Remove account counts the sites that see it (addresses compared
        // whatever their case).
        ui.secrets.removing = Some(a0.to_ascii_lowercase());
        let v = crate::secrets::remove_screen(&ui);
        assert_eq!(
            v.find("remove-account-sites").unwrap().text_content(),
            "1 connected site loses access to it."
        );
    }
}
