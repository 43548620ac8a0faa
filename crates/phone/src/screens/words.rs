//! Creating a wallet: the new phrase, shown once, then three of its words
//! typed back.

use super::{button, messages, onboarding_bar};
use crate::model::Phone;
use tandem_ui::view::{el, El};

pub(super) fn view(p: &Phone) -> El {
    let words = p.draft.as_ref().map(|d| d.words()).unwrap_or_default();
    el("main")
        .class("stack screen words")
        .tid("words-screen")
        .child(onboarding_bar("Your recovery phrase", "welcome"))
        .child(el("p").text(
            "Write these 12 words down on paper, in order, and keep them offline. They are \
             the only way back into this wallet if you lose this phone; anyone who has them \
             owns it. Tandem shows them once.",
        ))
        .child(
            el("ol")
                .class("words")
                .tid("phrase-words")
                .children(words.iter().enumerate().map(|(i, w)| {
                    el("li")
                        .child(el("span").class("n").text(format!("{}", i + 1)))
                        .child(
                            el("span")
                                .class("w")
                                .tid(format!("phrase-word-{i}"))
                                .text(*w),
                        )
                })),
        )
        .child(button(
            "I wrote them down",
            "words-written",
            "words-written",
            "btn primary",
        ))
}

pub(super) fn confirm_view(p: &Phone) -> El {
    let positions = p
        .draft
        .as_ref()
        .map(|d| d.positions.clone())
        .unwrap_or_default();
    el("main")
        .class("stack screen confirm")
        .tid("confirm-screen")
        .child(onboarding_bar("Check your copy", "words"))
        .child(el("p").text("Type these words from the phrase you wrote down."))
        .child(
            el("form")
                .class("stack")
                .action("confirm-words")
                .children(positions.iter().map(|&i| {
                    let id = format!("confirm-word-{i}");
                    el("label")
                        .class("field")
                        .child(el("span").class("label").text(format!("Word #{}", i + 1)))
                        .child(
                            el("input")
                                .attr("type", "text")
                                .attr("autocomplete", "off")
                                .attr("autocapitalize", "none")
                                .attr("spellcheck", "false")
                                .tid(id),
                        )
                }))
                .children(messages(p))
                .child(
                    el("button")
                        .attr("type", "submit")
                        .class("btn primary")
                        .tid("confirm-submit")
                        .text("Continue"),
                ),
        )
}
