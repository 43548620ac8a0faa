//! A returning start, or after a lock: the password, before anything else.

use super::{messages, password_field};
use crate::model::Phone;
use tandem_ui::view::{el, El};

pub(super) fn view(p: &Phone) -> El {
    let mut submit = el("button")
        .attr("type", "submit")
        .class("btn primary")
        .tid("unlock-submit")
        .text(if p.busy { "Unlocking…" } else { "Unlock" });
    if p.busy {
        submit = submit.attr("disabled", "");
    }
    el("main")
        .class("stack screen unlock")
        .tid("unlock-screen")
        .child(el("h1").text("Welcome back"))
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
