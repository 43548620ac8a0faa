//! Confirm on phone: what this phone must approve before a computer of its
//! wallet group signs. Saved here and sent to the group; only this phone
//! changes it.

use super::{back_bar, button, messages};
use crate::model::Phone;
use tandem_ui::confirm::policy_form;
use tandem_ui::view::{el, El};

pub(super) fn view(p: &Phone) -> El {
    el("main")
        .class("stack screen policy")
        .tid("policy-screen")
        .child(back_bar("Confirm on phone"))
        .child(el("p").text(
            "Your computer waits for this phone before it does any of these. A site that \
             tricks you on the computer still needs this phone, in your hand.",
        ))
        .children(messages(p))
        .child(policy_form(&p.policy))
        .child(button("Save", "policy-save", "policy-save", "btn primary"))
}
