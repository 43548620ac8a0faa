//! Pure views: the UI model in, a small virtual DOM out. `dom` turns a
//! [`Node`] into real elements; tests inspect it directly.
//!
//! Interaction is declarative: a view attaches an [`Action`] to an element
//! (`El::on`: a click, or a form's submit) or to a field (`El::on_change`).
//! `Action::encode` spells it as `data-action`/`data-arg` (`data-change`),
//! and the app reads it back with `Action::parse` when the event comes.
//!
//! One module per screen; [`view`] picks the screen's. The approval window's
//! kinds are in `approval`, one module each. Screens that live at the
//! crate's root (devices, pairing, sync, send, ...) use the same parts.

pub(crate) mod accounts;
mod action;
mod approval;
#[cfg(test)]
mod fixtures;
mod home;
mod networks;
mod onboarding;
mod parts;
mod settings;
mod ui;
mod vdom;

pub use action::Action;
pub(crate) use approval::call_tokens;
pub use approval::{max_total, typed_tree};
pub use parts::{strength_hint, CREATE_PASSWORD_IDS, IMPORT_PASSWORD_IDS};
pub use ui::{Page, Screen, SecretPhrase, Tab, Ui};
pub use vdom::{el, El, Node};

pub(crate) use parts::{
    back_bar, error_box, form, input, kv, notice_box, password_fields, primary, secret_field,
};

use crate::{devices, pairing};
use accounts::accounts;
use approval::approval;
use home::{home, token_form};
use networks::{network_form, networks};
use onboarding::{
    create_confirm, create_password, create_words, erased_notice, import, unlock, welcome,
};
use parts::{button, on_phone_tag, prefilled, title};
use settings::settings;

/// The whole page for the model; `pw` is the password field's current value
/// (for the strength hint).
pub fn view(ui: &Ui, pw: &str) -> El {
    let body = match ui.screen {
        Screen::Loading => el("div")
            .class("center muted")
            .tid("loading")
            .text("Loading…"),
        Screen::Welcome => welcome(ui.page).maybe(
            ui.state
                .as_ref()
                .and_then(|s| s.erased.as_ref())
                .map(|e| erased_notice(ui, e)),
        ),
        Screen::CreateWords => create_words(ui),
        Screen::CreateConfirm => create_confirm(ui),
        Screen::CreatePassword => create_password(ui, pw),
        Screen::Import => import(ui, pw),
        Screen::Unlock => unlock(ui),
        Screen::Home => home(ui),
        Screen::Accounts => accounts(ui),
        Screen::Networks => networks(ui),
        Screen::NetworkForm => network_form(ui),
        Screen::Settings => settings(ui),
        Screen::ChangePassword => crate::password::change_password(ui, pw),
        Screen::AddToken => token_form(ui),
        Screen::Approval => approval(ui),
        Screen::ApprovalDone => el("div")
            .class("center")
            .tid("approval-done")
            .child(el("p").text(ui.notice.clone().unwrap_or_else(|| "Done.".into()))),
        Screen::Devices => devices::devices_screen(ui),
        Screen::Pair => pairing::pair_screen(ui),
        Screen::AddDevice => pairing::add_device_screen(ui),
        Screen::Sync => crate::sync::sync_screen(ui),
        Screen::Audit => crate::audit::audit_screen(ui, crate::devices::Here::Browser),
        Screen::Help => crate::help::help_screen(),
        Screen::RevealPhrase => crate::secrets::reveal_screen(ui, true),
        Screen::ExportKey => crate::secrets::reveal_screen(ui, false),
        Screen::ImportAccount => crate::secrets::import_screen(ui),
        Screen::RemoveAccount => crate::secrets::remove_screen(ui),
        Screen::Send => crate::send::send_screen(ui),
        Screen::Receive => crate::receive::receive_screen(ui),
    };
    let page = match ui.page {
        Page::Popup => "popup",
        Page::Onboarding => "onboarding",
        Page::Approval => "approval",
    };
    el("div")
        .class(&format!("app page-{page}"))
        .attr("data-screen", ui.screen.name())
        .attr("aria-busy", if ui.busy { "true" } else { "false" })
        .child(body)
}

#[cfg(test)]
mod tests {
    use super::fixtures::{approval_ui, home_ui};
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn every_interactive_element_has_a_testid() {
        fn check(e: &El) {
            let interactive = matches!(e.tag, "button" | "input" | "select" | "textarea" | "form");
            assert!(
                !interactive || e.get("data-testid").is_some(),
                "<{}> without data-testid: {:?}",
                e.tag,
                e.attrs
            );
            for c in &e.children {
                if let Node::El(x) = c {
                    check(x);
                }
            }
        }
        let mut ui = home_ui();
        for screen in [
            Screen::AddToken,
            Screen::Home,
            Screen::Accounts,
            Screen::Networks,
            Screen::NetworkForm,
            Screen::Settings,
            Screen::ChangePassword,
            Screen::Help,
            Screen::Unlock,
            Screen::Welcome,
            Screen::Import,
            Screen::CreatePassword,
        ] {
            ui.screen = screen;
            for tab in [Tab::Tokens, Tab::Activity, Tab::Sites] {
                ui.tab = tab;
                check(&view(&ui, ""));
            }
        }
        let tx = json!({"to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "gas": "0x5208", "maxFeePerGas": "0x1", "maxPriorityFeePerGas": "0x1"});
        check(&view(
            &approval_ui("transaction", json!({"transaction": tx}), Value::Null),
            "",
        ));
        check(&view(&approval_ui("connect", json!({}), Value::Null), ""));
    }
}
