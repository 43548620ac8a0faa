//! Bringing a wallet: paste its recovery phrase.

use super::{messages, onboarding_bar};
use crate::model::Phone;
use tandem_ui::view::{el, El};

pub(super) fn view(p: &Phone) -> El {
    el("main")
        .class("stack screen import")
        .tid("import-screen")
        .child(onboarding_bar("Your recovery phrase", "welcome"))
        .child(el("p").text(
            "Type or paste the 12 or 24 words of your wallet, separated by spaces. They stay \
             on this phone, encrypted by the password you choose next.",
        ))
        .child(
            el("form")
                .class("stack")
                .action("import-submit")
                .child(
                    el("label")
                        .attr("for", "import-phrase")
                        .class("label")
                        .text("Recovery phrase"),
                )
                .child(
                    el("textarea")
                        .attr("id", "import-phrase")
                        .attr("rows", "4")
                        .attr("autocomplete", "off")
                        .attr("autocapitalize", "none")
                        .attr("spellcheck", "false")
                        .tid("import-phrase"),
                )
                .children(messages(p))
                .child(
                    el("button")
                        .attr("type", "submit")
                        .class("btn primary")
                        .tid("import-submit")
                        .text("Continue"),
                ),
        )
}
