//! Approve: a desktop's request, decoded (site, chain, recipient, amount,
//! token, spender), with Approve and Reject. The oldest waiting request is
//! shown; the others follow it.

use super::{back_bar, messages};
use crate::model::Phone;
use tandem_ui::confirm::{rows, seconds_left};
use tandem_ui::view::{el, El};

pub(super) fn view(p: &Phone) -> El {
    let screen = el("main")
        .class("stack screen approve")
        .tid("approve-screen")
        .child(back_bar("Confirm"));
    let Some(c) = p.confirms.first() else {
        return screen.children(messages(p)).child(
            el("p")
                .class("muted")
                .tid("approve-none")
                .text("Nothing waits for this phone."),
        );
    };
    let left = seconds_left(c.request.expires_at, p.now_ms);
    let more = p.confirms.len() - 1;
    let button = |label: &str, testid: &str, action: &str, class: &str| {
        el("button")
            .attr("type", "button")
            .class(class)
            .tid(testid)
            .action_arg(action, c.request.id.clone())
            .text(label)
    };
    screen
        .children(messages(p))
        .child(el("p").class("lead").tid("approve-from").text(format!(
            "{} asks this phone to confirm:",
            p.device_name(&c.from)
        )))
        .child(
            el("p")
                .class("muted")
                .tid("approve-reason")
                .text(c.request.rule.reason()),
        )
        .child(rows(&c.request, &p.device_name(&c.from)))
        .child(
            el("p")
                .class("muted small")
                .tid("approve-left")
                .text(format!(
                    "Answer within {left} s. Approve only if you started this on your computer; \
             if you did not, reject it and revoke that computer."
                )),
        )
        .child(
            el("div")
                .class("actions")
                .child(button(
                    "Reject",
                    "confirm-reject",
                    "confirm-reject",
                    "btn danger",
                ))
                .child(button(
                    "Approve",
                    "confirm-approve",
                    "confirm-approve",
                    "btn primary",
                )),
        )
        .maybe((more > 0).then(|| {
            el("p")
                .class("muted small")
                .tid("approve-more")
                .text(format!("{more} more waiting after this one."))
        }))
}
