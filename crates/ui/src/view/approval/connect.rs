//! `eth_requestAccounts`: which accounts the site may see.

use crate::format::shorten_address;
use crate::model::WalletState;
use crate::view::{el, on_phone_tag, El};

pub(super) fn connect_body(st: &WalletState) -> El {
    let sel = st
        .current_account()
        .map(|x| x.address.to_lowercase())
        .unwrap_or_default();
    el("div")
        .class("stack")
        // The network the site starts on (it may ask to switch, with its own approval).
        .child(crate::chain::concerned_network(None, st))
        .child(el("p").class("muted").text("The site will see the addresses you choose and can ask for signatures and transactions. It cannot move funds without your approval."))
        .child(el("ul").class("list").tid("approval-accounts").children(st.accounts.iter().enumerate().map(|(i, acc)| {
            let mut cb = el("input").attr("type", "checkbox").tid(format!("approval-account-{i}")).attr("data-address", acc.address.clone());
            if acc.address.to_lowercase() == sel {
                cb = cb.attr("checked", "");
            }
            el("li").class("row").child(
                el("label")
                    .class("check")
                    .child(cb)
                    .child(el("span").class("col").child(el("span").text(acc.name.clone())).child(el("span").class("muted small mono").text(shorten_address(&acc.address))).maybe(on_phone_tag(acc, format!("approval-account-on-phone-{i}")))),
            )
        })))
}

#[cfg(test)]
mod tests {
    use crate::view::fixtures::approval_ui;
    use crate::view::view;
    use serde_json::{json, Value};

    #[test]
    fn connect_shows_the_site_and_preselects_the_current_account() {
        let ui = approval_ui(
            "connect",
            json!({"method": "eth_requestAccounts"}),
            Value::Null,
        );
        let v = view(&ui, "");
        assert_eq!(
            v.find("approval-origin").unwrap().text_content(),
            "http://127.0.0.1:5173"
        );
        assert!(v
            .find("approval-account-0")
            .unwrap()
            .get("checked")
            .is_some());
        assert!(v
            .find("approval-account-1")
            .unwrap()
            .get("checked")
            .is_none());
        // The network the site will see first.
        assert!(v.find("approval-chain").is_some());
    }
}
