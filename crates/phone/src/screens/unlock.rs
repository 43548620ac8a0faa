//! A returning start, or after a lock: the password, before anything else.

use super::{button, messages, password_field, submit};
use crate::model::Phone;
use tandem_ui::view::{el, El};

pub(super) fn view(p: &Phone) -> El {
    let submit = submit("unlock-submit", "Unlock", "Unlocking…", p.busy);
    // Fingerprint or face first when it is on; the password always stays.
    let biometric = (p.biometric.is_some() && p.webauthn).then(|| {
        let b = button(
            if p.busy {
                "Waiting for your fingerprint or face…"
            } else {
                "Unlock with fingerprint or face"
            },
            "unlock-biometric",
            "unlock-biometric",
            "btn primary big",
        );
        if p.busy {
            b.attr("disabled", "")
        } else {
            b
        }
    });
    el("main")
        .class("stack screen unlock")
        .tid("unlock-screen")
        .child(el("h1").text("Welcome back"))
        .maybe(biometric)
        .child(
            el("form")
                .class("stack")
                .action("unlock")
                .child(password_field("unlock-password-input", "Password"))
                .children(messages(p))
                .child(submit),
        )
        .child(el("p").class("muted small").text(
            "Forgot it? The password cannot be recovered. Erase this app's data in the \
             browser settings and import your recovery phrase again.",
        ))
}
