//! First start: what this app is, and a name for this phone.

use super::messages;
use crate::model::Phone;
use tandem_ui::view::{el, El};

pub(super) fn view(p: &Phone) -> El {
    let mut start = el("button")
        .attr("type", "submit")
        .class("btn primary")
        .tid("setup-start")
        .text("Start");
    if p.busy {
        start = start.attr("disabled", "");
    }
    el("main")
        .class("stack screen setup")
        .tid("setup-screen")
        .child(el("h1").text("Tandem on this phone"))
        .child(el("p").text(
            "This phone becomes the trusted device of your wallet: it approves the computers \
             you pair, shows every device, and can remove one at once if it is lost.",
        ))
        .child(el("p").class("muted small").text(
            "No key or recovery phrase leaves a device. The relay only passes encrypted \
             messages between your devices.",
        ))
        .children(messages(p))
        .child(
            el("form")
                .class("stack")
                .action("setup")
                .child(
                    el("label")
                        .attr("for", "setup-name")
                        .class("label")
                        .text("Name of this phone (your other devices show it)"),
                )
                .child(
                    el("input")
                        .attr("id", "setup-name")
                        .attr("type", "text")
                        .attr("maxlength", "40")
                        .attr("autocomplete", "off")
                        .attr("value", "Phone")
                        .tid("setup-name"),
                )
                .child(start),
        )
}
