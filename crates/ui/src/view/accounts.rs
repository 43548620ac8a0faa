//! The account list: select, rename, move up or down, add, remove.

use super::{back_bar, button, el, error_box, form, on_phone_tag, primary, Action, El, Ui};
use crate::format::shorten_address;
use crate::model::Account;
use serde_json::Value;

fn account_origin(a: &Account) -> String {
    match &a.origin {
        Value::Object(o) if o.contains_key("index") => format!(
            "Derived #{}",
            o.get("index").map(|v| v.to_string()).unwrap_or_default()
        ),
        Value::Object(o) if o.get("kind").and_then(Value::as_str) == Some("imported") => {
            "Imported key".into()
        }
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

/// The addresses of `accounts` with `address` moved one place up (or
/// down); the same order when it is already first (or last) or unknown.
#[cfg(any(feature = "pages", test))]
pub(crate) fn moved(accounts: &[Account], address: &str, up: bool) -> Vec<String> {
    let mut order: Vec<String> = accounts.iter().map(|a| a.address.clone()).collect();
    if let Some(i) = order.iter().position(|a| a.eq_ignore_ascii_case(address)) {
        let j = if up { i.checked_sub(1) } else { Some(i + 1) };
        if let Some(j) = j.filter(|&j| j < order.len()) {
            order.swap(i, j);
        }
    }
    order
}

/// "↑" / "↓" on row `i`, named for screen readers.
fn move_button((arrow, way): (&str, &str), name: &str, i: usize, action: Action) -> El {
    button(arrow, &format!("account-{way}-{i}"), action)
        .class("btn small")
        .attr("aria-label", format!("Move {name} {way}"))
}

pub(super) fn accounts(ui: &Ui) -> El {
    let Some(st) = &ui.state else {
        return el("div");
    };
    let sel = st
        .current_account()
        .map(|a| a.address.to_lowercase())
        .unwrap_or_default();
    let last = st.accounts.len().saturating_sub(1);
    let rows = st.accounts.iter().enumerate().map(|(i, a)| {
        let selected = a.address.to_lowercase() == sel;
        if ui
            .renaming
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case(&a.address))
        {
            return el("li").class("row").tid(format!("account-row-{i}")).child(
                form(Action::SaveAccountName(a.address.clone()), "rename-form")
                    .class("inline")
                    .child(
                        el("input")
                            .attr("type", "text")
                            .attr("value", a.name.clone())
                            .attr("aria-label", "Account name")
                            .tid("account-name-input"),
                    )
                    .child(primary("Save", "account-name-save")),
            );
        }
        el("li")
            .class(if selected {
                "row selectable selected"
            } else {
                "row selectable"
            })
            .tid(format!("account-row-{i}"))
            .attr("aria-current", if selected { "true" } else { "false" })
            .child(
                el("button")
                    .attr("type", "button")
                    .class("row-main")
                    .tid(format!("account-select-{i}"))
                    .on(Action::SelectAccount(a.address.clone()))
                    .child(
                        el("span")
                            .class("avatar")
                            .text(a.name.chars().next().map(String::from).unwrap_or_default()),
                    )
                    .child(
                        el("span")
                            .class("col")
                            .child(
                                el("span")
                                    .tid(format!("account-label-{i}"))
                                    .text(a.name.clone()),
                            )
                            .child(el("span").class("muted small").text(format!(
                                "{} {}",
                                shorten_address(&a.address),
                                account_origin(a)
                            )))
                            .maybe(on_phone_tag(a, format!("account-on-phone-{i}"))),
                    ),
            )
            .child(
                button(
                    "Rename",
                    &format!("account-rename-{i}"),
                    Action::RenameAccount(a.address.clone()),
                )
                .class("btn small"),
            )
            .maybe((i > 0).then(|| {
                let up = Action::MoveAccountUp(a.address.clone());
                move_button(("↑", "up"), &a.name, i, up)
            }))
            .maybe((i < last).then(|| {
                let down = Action::MoveAccountDown(a.address.clone());
                move_button(("↓", "down"), &a.name, i, down)
            }))
            .maybe(crate::secrets::remove_button(st, a, i))
    });
    el("div")
        .class("stack screen")
        .tid("accounts-screen")
        .child(back_bar("Accounts"))
        .maybe(error_box(ui))
        .child(el("ul").class("list").children(rows))
        .child(button("Add account", "account-add", Action::AddAccount).class("btn primary"))
}

#[cfg(test)]
mod tests {
    use crate::view::fixtures::home_ui;
    use crate::view::{view, Screen};

    #[test]
    fn move_up_and_down_swap_neighbours_and_stop_at_the_ends() {
        let mut ui = home_ui();
        let accounts = &ui.state.clone().unwrap().accounts;
        let order = |v: Vec<String>| -> Vec<usize> {
            v.iter()
                .map(|a| accounts.iter().position(|x| x.address == *a).unwrap())
                .collect()
        };
        assert!(accounts.len() >= 2);
        let second = accounts[1].address.to_lowercase();
        assert_eq!(order(super::moved(accounts, &second, true))[..2], [1, 0]);
        assert_eq!(
            order(super::moved(accounts, &accounts[0].address, true))[..2],
            [0, 1]
        );
        let last = &accounts[accounts.len() - 1].address;
        let n = accounts.len();
        assert_eq!(order(super::moved(accounts, last, false))[n - 1], n - 1);
        assert_eq!(
            order(super::moved(accounts, "0xnobody", false))[..2],
            [0, 1]
        );
        // The first row has no up, the last no down.
        ui.screen = Screen::Accounts;
        let v = view(&ui, "");
        assert!(v.find("account-up-0").is_none());
        assert_eq!(
            v.find("account-up-1").unwrap().get("data-arg"),
            Some(accounts[1].address.as_str())
        );
        assert!(v.find(&format!("account-down-{}", n - 1)).is_none());
        assert!(v.find("account-down-0").is_some());
    }

    #[test]
    fn accounts_screen() {
        let mut ui = home_ui();
        ui.screen = Screen::Accounts;
        let v = view(&ui, "");
        assert_eq!(
            v.find("account-row-0").unwrap().get("aria-current"),
            Some("true")
        );
        assert_eq!(
            v.find("account-select-1").unwrap().get("data-arg"),
            Some("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
        );
        assert!(v.find("account-add").is_some());
        ui.renaming = Some("0x70997970c51812dc3a010c7d01b50e0d17dc79c8".into());
        let v = view(&ui, "");
        assert_eq!(
            v.find("account-name-input").unwrap().get("value"),
            Some("Savings")
        );
    }
}
