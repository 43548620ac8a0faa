//! A pairing this phone approves: the extension's steps (code in large
//! digits, "Codes match" / "They differ", the result).

use super::{back_bar, messages};
use crate::model::Phone;
use tandem_ui::pairing::step_view;
use tandem_ui::view::{el, El};

pub(super) fn view(p: &Phone) -> El {
    let warning = p.flow.as_ref().and_then(|f| f.warning.clone()).map(|w| {
        el("p")
            .class("warn")
            .attr("role", "status")
            .tid("pair-warning")
            .text(w)
    });
    let body = match &p.flow {
        Some(f) => step_view(p.busy, p.now_ms, f),
        None => vec![el("p")
            .class("muted center-text")
            .tid("pair-status")
            .text("No pairing is running.")],
    };
    el("main")
        .class("stack screen pair")
        .tid("pair-screen")
        .child(back_bar("Add a device"))
        .maybe(warning)
        .children(messages(p))
        .children(body)
}
