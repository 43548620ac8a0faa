//! Settings -> Change password: the current password, then the new one twice.
//! The worker checks the current password, seals the vault again under the
//! new one (new salt, so the old password and the key derived from it open
//! nothing), and keeps the wallet unlocked.

use crate::view::{
    back_bar, el, error_box, form, input, notice_box, password_fields, primary, Action, El, Ui,
};

/// Test ids of the current password and the new pair.
pub const CURRENT_ID: &str = "password-current-input";
/// Test ids of the new password and its confirmation.
pub const NEW_IDS: (&str, &str) = ("password-new-input", "password-new-confirm");

/// The screen.
pub fn change_password(ui: &Ui, pw: &str) -> El {
    el("div")
        .class("stack screen")
        .tid("change-password-screen")
        .child(back_bar("Change password"))
        .child(
            form(Action::ChangePassword, "change-password-form")
                .child(el("p").class("muted").text(
                    "The password unlocks Tandem on this computer. Changing it \
                     does not change your recovery phrase or your accounts; \
                     other devices keep their own passwords.",
                ))
                .child(input(CURRENT_ID, "password", "Current password"))
                .children(password_fields(pw, NEW_IDS))
                .maybe(error_box(ui))
                .maybe(notice_box(ui))
                .child(primary(
                    if ui.busy {
                        "Changing…"
                    } else {
                        "Change password"
                    },
                    "password-change-submit",
                )),
        )
}
