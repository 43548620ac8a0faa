//! Unlock with fingerprint or face: on (after the password) or off, and
//! what it protects and what it does not.

use super::{back_bar, button, messages, password_field};
use crate::model::Phone;
use tandem_ui::view::{el, El};

pub(super) fn view(p: &Phone) -> El {
    let screen = el("main")
        .class("stack screen biometric")
        .tid("biometric-screen")
        .child(back_bar("Unlock with fingerprint or face"));
    let status = |text: &str| {
        el("p")
            .attr("role", "status")
            .tid("biometric-status")
            .text(text)
    };
    let body = if p.biometric.is_some() {
        el("div")
            .class("stack")
            .child(status(
                "On: this phone's fingerprint or face opens Tandem. Your password still works.",
            ))
            .children(messages(p))
            .child(button(
                "Turn off (erase its key)",
                "biometric-disable",
                "biometric-disable",
                "btn danger",
            ))
    } else if !p.webauthn {
        el("div")
            .class("stack")
            .child(status(
                "This browser has no WebAuthn, so unlock stays with your password.",
            ))
            .children(messages(p))
    } else {
        let submit = super::submit(
            "biometric-enable",
            "Turn on",
            "Waiting for your fingerprint or face…",
            p.busy,
        );
        el("div")
            .class("stack")
            .child(status("Off: Tandem opens with your password."))
            .child(
                el("form")
                    .class("stack")
                    .action("biometric-enable")
                    .child(password_field("biometric-password-input", "Your password"))
                    .children(messages(p))
                    .child(submit),
            )
    };
    screen.child(body).child(el("p").class("muted small").text(
        "Tandem keeps its key sealed under a key that only this phone's fingerprint or face \
         check can make. Anyone who can pass that check, or holds this phone unlocked, can \
         open Tandem too; your recovery phrase still needs the password.",
    ))
}
