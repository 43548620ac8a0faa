//! Onboarding: welcome, create (words, confirm, password), import, and the
//! unlock screen.

use super::{
    back_bar, button, el, error_box, form, input, password_fields, primary, secret_field, title,
    Action, El, Page, Ui, CREATE_PASSWORD_IDS, IMPORT_PASSWORD_IDS,
};

/// Onboarding after another device had this wallet erased: says who, when
/// and why, and points at restoring from the recovery phrase.
pub(super) fn erased_notice(ui: &Ui, e: &crate::model::Erased) -> El {
    el("p")
        .class("error")
        .attr("role", "alert")
        .tid("erased-notice")
        .text(format!(
            "Your wallet was erased from this browser by {} on {} (reported {}). Your funds \
             are safe: restore the wallet with \"I already have a wallet\" and your recovery \
             phrase.",
            e.by,
            crate::format::date_time(e.at, ui.utc_offset_min),
            crate::devices::reason_text(&e.reason)
        ))
}

pub(super) fn welcome(page: Page) -> El {
    el("div")
        .class("welcome stack")
        .tid("welcome")
        .child(
            el("div")
                .class("logo")
                .attr("aria-hidden", "true")
                .text("T"),
        )
        .child(title("Welcome to Tandem"))
        .child(el("p").class("muted center-text").text(
            "One wallet on your phone and your computer. Your keys never leave either device.",
        ))
        .child(
            button("Create a new wallet", "onboard-create", Action::StartCreate)
                .class("btn primary"),
        )
        .child(button(
            "I already have a wallet",
            "onboard-import",
            Action::StartImport,
        ))
        // A popup closes when focus leaves it: writing the words down is
        // calmer in a tab that stays open.
        .maybe((page == Page::Popup).then(|| {
            el("button")
                .attr("type", "button")
                .class("link")
                .tid("onboard-open-tab")
                .on(Action::OpenOnboardingTab)
                .text("Set up in a full tab instead")
        }))
}

pub(super) fn create_words(ui: &Ui) -> El {
    let words = ui.phrase.as_ref().map(|p| p.words()).unwrap_or_default();
    el("div")
        .class("stack")
        .tid("create-words")
        .child(back_bar("Your recovery phrase"))
        .child(el("p").class("muted").text("Write these words down, in order, and keep them offline. Anyone with them owns this wallet."))
        .child(el("ol").class("words").children(words.iter().enumerate().map(|(i, w)| {
            el("li").child(el("span").class("n").text(format!("{}", i + 1))).child(el("span").class("w").tid(format!("seed-word-{i}")).text(*w))
        })))
        .child(button("I wrote them down", "seed-words-continue", Action::WordsWritten).class("btn primary"))
}

pub(super) fn create_confirm(ui: &Ui) -> El {
    el("div")
        .class("stack")
        .tid("create-confirm")
        .child(back_bar("Confirm your phrase"))
        .child(
            form(Action::ConfirmWords, "confirm-form")
                .child(
                    el("p")
                        .class("muted")
                        .text("Type these words from your phrase."),
                )
                .children(ui.confirm_positions.iter().map(|p| {
                    el("label")
                        .class("field")
                        .child(el("span").class("label").text(format!("Word #{}", p + 1)))
                        .child(
                            el("input")
                                .attr("type", "text")
                                .attr("autocomplete", "off")
                                .attr("spellcheck", "false")
                                .tid(format!("confirm-word-{p}"))
                                .attr("data-index", p.to_string()),
                        )
                }))
                .maybe(error_box(ui))
                .child(primary("Confirm", "confirm-words-submit")),
        )
}

pub(super) fn create_password(ui: &Ui, pw: &str) -> El {
    el("div").class("stack").tid("create-password").child(back_bar("Set a password")).child(
        form(Action::CreateWallet, "password-form")
            .child(el("p").class("muted").text("The password unlocks Tandem on this computer. It cannot recover your wallet; the phrase can."))
            .children(password_fields(pw, CREATE_PASSWORD_IDS))
            .maybe(error_box(ui))
            .child(primary(if ui.busy { "Creating…" } else { "Create wallet" }, "password-submit")),
    )
}

pub(super) fn import(ui: &Ui, pw: &str) -> El {
    el("div")
        .class("stack")
        .tid("import")
        .child(back_bar("Import a wallet"))
        .child(
            form(Action::Import, "import-form")
                .child(secret_field("import-secret-input"))
                .child(input(
                    "import-passphrase-input",
                    "password",
                    "BIP-39 passphrase (optional)",
                ))
                .children(password_fields(pw, IMPORT_PASSWORD_IDS))
                .maybe(error_box(ui))
                .child(primary(
                    if ui.busy { "Importing…" } else { "Import" },
                    "import-submit",
                )),
        )
}

pub(super) fn unlock(ui: &Ui) -> El {
    el("div")
        .class("welcome stack")
        .tid("unlock")
        .child(
            el("div")
                .class("logo")
                .attr("aria-hidden", "true")
                .text("T"),
        )
        .child(title("Welcome back"))
        .child(
            form(Action::Unlock, "unlock-form")
                .child(input("unlock-password-input", "password", "Password"))
                .maybe(error_box(ui))
                .child(primary(
                    if ui.busy { "Unlocking…" } else { "Unlock" },
                    "unlock-submit",
                )),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::WalletState;
    use crate::view::fixtures::state;
    use crate::view::{view, Screen, SecretPhrase};

    #[test]
    fn onboarding_screens_carry_their_testids() {
        let mut ui = Ui::new(Page::Popup);
        ui.state = Some(WalletState::default());
        ui.route();
        let v = view(&ui, "");
        assert!(v.find("onboard-create").is_some() && v.find("onboard-import").is_some());
        assert!(v.find("onboard-open-tab").is_some());
        let mut tab = ui.clone();
        tab.page = Page::Onboarding;
        assert!(
            view(&tab, "").find("onboard-open-tab").is_none(),
            "no tab link inside the tab"
        );
        ui.screen = Screen::CreateWords;
        ui.phrase = Some(SecretPhrase::new("a b c d e f g h i j k l".into()));
        let v = view(&ui, "");
        assert_eq!(v.find("seed-word-11").unwrap().text_content(), "l");
        ui.screen = Screen::CreateConfirm;
        ui.confirm_positions = vec![1, 5, 9];
        let v = view(&ui, "");
        assert_eq!(v.find("confirm-word-5").unwrap().get("type"), Some("text"));
        assert_eq!(
            v.find("confirm-word-5").unwrap().get("data-index"),
            Some("5")
        );
        assert_eq!(
            v.find("confirm-form").unwrap().get("data-action"),
            Some("confirm-words")
        );
        ui.screen = Screen::CreatePassword;
        let v = view(&ui, "short");
        assert!(v
            .find("password-strength")
            .unwrap()
            .text_content()
            .starts_with("Weak"));
        assert!(format!("{ui:?}").contains("<redacted>"));
        assert!(
            !format!("{ui:?}").contains("a b c d"),
            "Debug leaks the phrase"
        );
        // Leaving onboarding drops the phrase.
        ui.state = Some(state());
        ui.route();
        assert!(ui.phrase.is_none());
    }
}
