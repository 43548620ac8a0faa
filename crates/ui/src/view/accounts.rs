//! The account list: select, rename, add, remove.

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

pub(super) fn accounts(ui: &Ui) -> El {
    let Some(st) = &ui.state else {
        return el("div");
    };
    let sel = st
        .current_account()
        .map(|a| a.address.to_lowercase())
        .unwrap_or_default();
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
