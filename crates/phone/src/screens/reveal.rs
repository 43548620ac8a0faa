//! The recovery phrase again, only after the password is typed again.

use super::{back_bar, messages, password_field};
use crate::model::Phone;
use tandem_ui::view::{el, El};

pub(super) fn view(p: &Phone) -> El {
    let screen = el("main")
        .class("stack screen reveal")
        .tid("reveal-screen")
        .child(back_bar("Recovery phrase"));
    let Some(phrase) = &p.revealed else {
        let submit = super::submit("reveal-submit", "Show the phrase", "Checking…", p.busy);
        return screen
            .child(el("p").text(
                "Anyone who sees these words owns your wallet. Make sure nobody is watching \
                 your screen, then type your password.",
            ))
            .child(
                el("form")
                    .class("stack")
                    .action("reveal-submit")
                    .child(password_field("reveal-password-input", "Password"))
                    .children(messages(p))
                    .child(submit),
            );
    };
    screen
        .child(el("p").class("warn").text(
            "Write them down on paper, in order. Never type them into a website or send them \
             to anyone: Tandem never asks for them.",
        ))
        .child(el("ol").class("words").tid("reveal-words").children(
            phrase.expose().split(' ').enumerate().map(|(i, w)| {
                el("li")
                    .child(el("span").class("n").text(format!("{}", i + 1)))
                    .child(
                        el("span")
                            .class("w")
                            .tid(format!("reveal-word-{i}"))
                            .text(w),
                    )
            }),
        ))
        .child(super::button("Hide", "reveal-hide", "home", "btn primary"))
}
