//! Key management after setup: Settings → "Show recovery phrase" and
//! "Export private key" (a warning, the password again, then the secret,
//! dropped from the page when the screen is left), "Import account" (another
//! recovery phrase or a private key), and the account list's "Remove"
//! (a confirmation; the only account cannot go).
//!
//! The worker opens the stored vault with the password typed here (an
//! unlocked wallet left open is not enough) and answers only extension
//! pages; see extension/API.md (`secrets.export`, `accounts.import`,
//! `accounts.remove`).

use crate::model::{Account, WalletState};
use crate::view::{
    back_bar, el, error_box, form, input, notice_box, primary, secret_field, Action, El, Screen,
    SecretPhrase, Ui,
};

/// The secret on screen and the account about to be removed.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// The revealed phrase or key (zeroized on drop; `Debug` prints nothing).
    pub shown: Option<SecretPhrase>,
    /// The account (address) the Remove screen asks about.
    pub removing: Option<String>,
}

/// What the user can do on these screens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretsAction {
    /// Submit the password to see the phrase (`true`) or the private key.
    Reveal(bool),
    /// Submit the import form.
    Import,
    /// Open the Remove screen for an account (its address).
    AskRemove(String),
    /// Remove that account now.
    Remove(String),
}

/// Reads a `data-action` of these screens.
pub fn parse(action: &str, arg: &str) -> Option<SecretsAction> {
    Some(match action {
        "secrets-reveal" => SecretsAction::Reveal(arg == "phrase"),
        "account-import" => SecretsAction::Import,
        "account-remove" => SecretsAction::AskRemove(arg.to_owned()),
        "account-remove-confirm" => SecretsAction::Remove(arg.to_owned()),
        _ => return None,
    })
}

/// The `data-action`/`data-arg` that [`parse`] reads back as `a`.
pub fn encode(a: &SecretsAction) -> (&'static str, Option<String>) {
    match a {
        SecretsAction::Reveal(phrase) => (
            "secrets-reveal",
            Some(if *phrase { "phrase" } else { "key" }.into()),
        ),
        SecretsAction::Import => ("account-import", None),
        SecretsAction::AskRemove(x) => ("account-remove", Some(x.clone())),
        SecretsAction::Remove(x) => ("account-remove-confirm", Some(x.clone())),
    }
}

/// The screens of this module, for `open` and `data-screen`.
pub fn screen(arg: &str) -> Option<Screen> {
    Some(match arg {
        "reveal-phrase" => Screen::RevealPhrase,
        "export-key" => Screen::ExportKey,
        "import-account" => Screen::ImportAccount,
        _ => return None,
    })
}

/// Where Back leads from a screen of this module.
pub fn back(s: Screen) -> Option<Screen> {
    match s {
        Screen::RevealPhrase | Screen::ExportKey | Screen::ImportAccount => Some(Screen::Settings),
        Screen::RemoveAccount => Some(Screen::Accounts),
        _ => None,
    }
}

/// Called whenever the screen changes: a revealed secret lives only while
/// its screen is shown.
pub fn left_screen(ui: &mut Ui) {
    if !matches!(ui.screen, Screen::RevealPhrase | Screen::ExportKey) {
        ui.secrets.shown = None;
    }
    if ui.screen != Screen::RemoveAccount {
        ui.secrets.removing = None;
    }
}

/// Whether the keyring holds this account's key (not the phone's): only
/// those can be exported or removed here.
pub fn local(a: &Account) -> bool {
    matches!(
        a.origin.get("kind").and_then(serde_json::Value::as_str),
        Some("derived" | "imported")
    )
}

/// Whether `a` may be removed: a key of this browser, and not its only one.
pub fn removable(st: &WalletState, a: &Account) -> bool {
    local(a) && st.accounts.iter().filter(|x| local(x)).count() > 1
}

/// The test id of the password field of the reveal screens.
pub const PASSWORD_ID: &str = "secrets-password-input";

/// Settings → Show recovery phrase (`phrase`) or Export private key, for
/// the selected account.
pub fn reveal_screen(ui: &Ui, phrase: bool) -> El {
    let (title, what, tid) = if phrase {
        ("Recovery phrase", "recovery phrase", "reveal-phrase-screen")
    } else {
        ("Export private key", "private key", "export-key-screen")
    };
    let account = ui.state.as_ref().and_then(WalletState::current_account);
    let name = account.map(|a| format!("{} · {}", a.name, a.address));
    let mut page = el("div")
        .class("stack screen")
        .tid(tid)
        .child(back_bar(title))
        .maybe(name.map(|n| {
            el("p")
                .class("muted small mono wrap")
                .tid("secrets-account")
                .text(n)
        }))
        .child(
            el("div")
                .class("warning")
                .attr("role", "note")
                .tid("secrets-warning")
                .child(el("strong").text(format!("Anyone with this {what} can take the funds")))
                .child(el("p").text(if phrase {
                    "The recovery phrase restores every account derived from it, on any \
                     device, without your password."
                } else {
                    "The private key signs for this account on any device, without your \
                     password."
                }))
                .child(el("p").text(
                    "Never type it into a website or share it: Tandem and no real \
                     support team will ever ask for it. Make sure nobody can see your screen.",
                )),
        );
    if let Some(secret) = &ui.secrets.shown {
        page = page
            .child(
                el("code")
                    .class("mono wrap secret")
                    .tid("secrets-value")
                    .attr("aria-label", format!("Your {what}"))
                    .text(secret.expose()),
            )
            .child(
                el("button")
                    .attr("type", "button")
                    .class("btn primary")
                    .tid("secrets-done")
                    .on(Action::Back)
                    .text("Done, hide it"),
            );
    } else {
        page = page.child(
            form(
                Action::Secrets(SecretsAction::Reveal(phrase)),
                "secrets-form",
            )
            .child(input(PASSWORD_ID, "password", "Password"))
            .maybe(error_box(ui))
            .child(primary(
                if ui.busy {
                    "Checking…"
                } else if phrase {
                    "Show recovery phrase"
                } else {
                    "Show private key"
                },
                "secrets-submit",
            )),
        );
    }
    page
}

/// Settings → Import account: another recovery phrase or a private key.
pub fn import_screen(ui: &Ui) -> El {
    el("div")
        .class("stack screen")
        .tid("import-account-screen")
        .child(back_bar("Import account"))
        .child(
            form(
                Action::Secrets(SecretsAction::Import),
                "account-import-form",
            )
            .child(el("p").class("muted").text(
                "Adds the first account of another recovery phrase, or the \
                     account of a private key, to this wallet. It is kept in the \
                     vault under your password.",
            ))
            .child(secret_field("account-import-secret"))
            .child(input(
                "account-import-passphrase",
                "password",
                "BIP-39 passphrase (optional)",
            ))
            .maybe(error_box(ui))
            .child(primary(
                if ui.busy { "Importing…" } else { "Import" },
                "account-import-submit",
            )),
        )
}

/// Accounts → Remove: which account, what removing means, confirm.
pub fn remove_screen(ui: &Ui) -> El {
    let st = ui.state.as_ref();
    let addr = ui.secrets.removing.clone().unwrap_or_default();
    let account = st.and_then(|s| {
        s.accounts
            .iter()
            .find(|a| a.address.eq_ignore_ascii_case(&addr))
    });
    let sites = st
        .map(|s| {
            s.sites
                .iter()
                .filter(|x| {
                    (x.accounts.iter()).any(|a| format!("{a:#x}").eq_ignore_ascii_case(&addr))
                })
                .count()
        })
        .unwrap_or(0);
    let mut page = el("div")
        .class("stack screen")
        .tid("remove-account-screen")
        .child(back_bar("Remove account"));
    let Some(a) = account else {
        return page.child(
            el("p")
                .class("error")
                .text("This account is no longer in the wallet."),
        );
    };
    page = page
        .child(
            el("p")
                .tid("remove-account-name")
                .text(format!("{} · {}", a.name, a.address)),
        )
        .child(el("p").class("warning").attr("role", "note").text(
            "Its key leaves this wallet. Funds stay on the account: to use it \
             again, import its recovery phrase or private key. Make sure you have one of them.",
        ))
        .maybe((sites > 0).then(|| {
            el("p").tid("remove-account-sites").text(if sites == 1 {
                "1 connected site loses access to it.".to_owned()
            } else {
                format!("{sites} connected sites lose access to it.")
            })
        }))
        .maybe(error_box(ui))
        .maybe(notice_box(ui));
    if st.is_some_and(|s| removable(s, a)) {
        page.child(
            el("button")
                .attr("type", "button")
                .class("btn danger")
                .tid("remove-account-confirm")
                .on(Action::Secrets(SecretsAction::Remove(a.address.clone())))
                .text(if ui.busy {
                    "Removing…"
                } else {
                    "Remove account"
                }),
        )
    } else {
        page.child(
            el("p")
                .class("muted")
                .tid("remove-account-last")
                .text("This is the wallet's only account; it cannot be removed."),
        )
    }
    .child(
        el("button")
            .attr("type", "button")
            .class("btn")
            .tid("remove-account-cancel")
            .on(Action::Back)
            .text("Cancel"),
    )
}

/// The account row's Remove button (only where `removable`).
pub fn remove_button(st: &WalletState, a: &Account, i: usize) -> Option<El> {
    removable(st, a).then(|| {
        el("button")
            .attr("type", "button")
            .class("btn small danger")
            .tid(format!("account-remove-{i}"))
            .on(Action::Secrets(SecretsAction::AskRemove(a.address.clone())))
            .text("Remove")
    })
}

/// Settings' buttons into these screens.
pub fn settings_buttons() -> Vec<El> {
    [
        (
            "Show recovery phrase",
            "open-reveal-phrase",
            Screen::RevealPhrase,
        ),
        ("Export private key", "open-export-key", Screen::ExportKey),
        (
            "Import account",
            "open-import-account",
            Screen::ImportAccount,
        ),
    ]
    .into_iter()
    .map(|(label, tid, screen)| {
        el("button")
            .attr("type", "button")
            .class("btn")
            .tid(tid)
            .on(Action::Open(screen))
            .text(label)
    })
    .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::view::Page;
    use serde_json::json;

    fn state(accounts: serde_json::Value) -> WalletState {
        serde_json::from_value(json!({
            "initialized": true, "unlocked": true,
            "accounts": accounts,
            "selected": "0x00000000000000000000000000000000000000aa",
            "sites": [{"origin": "https://dapp.example", "accounts": ["0x00000000000000000000000000000000000000AA"], "connectedAt": 0}],
        }))
        .unwrap()
    }

    fn derived(addr: &str, i: u32) -> serde_json::Value {
        json!({"address": addr, "name": format!("Account {}", i + 1), "origin": {"kind": "derived", "source": 0, "index": i}})
    }

    #[test]
    fn the_only_local_account_offers_no_remove() {
        let one = state(json!([
            derived("0x00000000000000000000000000000000000000aa", 0),
            {"address": "0x00000000000000000000000000000000000000bb", "name": "Phone", "origin": {"kind": "phone", "device": "ab"}},
        ]));
        assert!(!removable(&one, &one.accounts[0]));
        // The phone's account is not this browser's to remove.
        assert!(!removable(&one, &one.accounts[1]));
        assert!(remove_button(&one, &one.accounts[0], 0).is_none());
        let two = state(json!([
            derived("0x00000000000000000000000000000000000000aa", 0),
            {"address": "0x00000000000000000000000000000000000000cc", "name": "Key", "origin": {"kind": "imported", "source": 1}},
        ]));
        assert!(removable(&two, &two.accounts[0]) && removable(&two, &two.accounts[1]));
        assert!(remove_button(&two, &two.accounts[1], 1).is_some());
    }

    #[test]
    fn remove_screen_names_the_account_and_its_sites() {
        let mut ui = Ui::new(Page::Popup);
        ui.state = Some(state(json!([
            derived("0x00000000000000000000000000000000000000aa", 0),
            derived("0x00000000000000000000000000000000000000dd", 1),
        ])));
        ui.screen = Screen::RemoveAccount;
        ui.secrets.removing = Some("0x00000000000000000000000000000000000000AA".into());
        let page = remove_screen(&ui);
        assert!(page.find("remove-account-confirm").is_some());
        assert_eq!(
            page.find("remove-account-sites").unwrap().text_content(),
            "1 connected site loses access to it."
        );
    }

    #[test]
    fn a_revealed_secret_goes_when_the_screen_changes() {
        let mut ui = Ui::new(Page::Popup);
        ui.screen = Screen::RevealPhrase;
        ui.secrets.shown = Some(SecretPhrase::new("test test junk".into()));
        assert!(reveal_screen(&ui, true).find("secrets-value").is_some());
        assert!(reveal_screen(&ui, true).find("secrets-form").is_none());
        left_screen(&mut ui);
        assert!(ui.secrets.shown.is_some(), "still on its screen");
        ui.screen = Screen::Settings;
        left_screen(&mut ui);
        assert!(ui.secrets.shown.is_none());
        ui.screen = Screen::RevealPhrase;
        let page = reveal_screen(&ui, true);
        assert!(page.find("secrets-value").is_none());
        assert!(page.find("secrets-warning").is_some());
        assert!(page.find(PASSWORD_ID).is_some());
    }

    #[test]
    fn actions_parse() {
        assert_eq!(
            parse("secrets-reveal", "phrase"),
            Some(SecretsAction::Reveal(true))
        );
        assert_eq!(
            parse("secrets-reveal", "key"),
            Some(SecretsAction::Reveal(false))
        );
        assert_eq!(
            parse("account-remove-confirm", "0xab"),
            Some(SecretsAction::Remove("0xab".into()))
        );
        assert_eq!(parse("nope", ""), None);
        assert_eq!(screen("export-key"), Some(Screen::ExportKey));
        assert_eq!(back(Screen::RemoveAccount), Some(Screen::Accounts));
    }
}
