//! First start: make a new wallet, or bring one with its recovery phrase.

use super::{button, messages};
use crate::model::Phone;
use tandem_ui::view::{el, El};

pub(super) fn view(p: &Phone) -> El {
    let mut create = button(
        if p.busy {
            "Creating…"
        } else {
            "Create a new wallet"
        },
        "wallet-create",
        "wallet-create",
        "btn primary big",
    );
    if p.busy {
        create = create.attr("disabled", "");
    }
    el("main")
        .class("stack screen welcome")
        .tid("welcome-screen")
        .child(el("h1").text("Tandem on this phone"))
        .child(el("p").text(
            "One wallet on your phone and your computer. This phone keeps its keys, \
             approves the computers you pair and can remove one at once if it is lost.",
        ))
        .children(messages(p))
        .child(create)
        .child(button(
            "I have a recovery phrase",
            "wallet-import",
            "wallet-import",
            "btn",
        ))
        .child(el("p").class("muted small").text(
            "No key or recovery phrase leaves a device. The relay only passes encrypted \
             messages between your devices.",
        ))
}
