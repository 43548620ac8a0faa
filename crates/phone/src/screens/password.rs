//! The password that encrypts the wallet on this phone (the extension's
//! rules: 8 characters at least, typed twice).

use super::{messages, onboarding_bar, password_field};
use crate::model::Phone;
use tandem_ui::view::{el, strength_hint, El};

pub(super) fn view(p: &Phone) -> El {
    let created = p.draft.as_ref().is_some_and(|d| d.created());
    let submit = super::submit("password-submit", "Save the wallet", "Encrypting…", p.busy);
    el("main")
        .class("stack screen password")
        .tid("password-screen")
        .child(onboarding_bar(
            "Choose a password",
            if created { "words" } else { "welcome" },
        ))
        .child(el("p").text(
            "The password unlocks Tandem on this phone. It cannot recover your wallet; \
             the recovery phrase can.",
        ))
        .child(
            el("form")
                .class("stack")
                .action("password-submit")
                .child(password_field("password-input", "New password"))
                .child(strength_hint(""))
                .child(password_field("password-confirm-input", "Confirm password"))
                .children(messages(p))
                .child(submit),
        )
}
