//! The building blocks every screen uses: buttons, fields, forms, the
//! back bar, the error and notice boxes.

use super::{el, Action, El, Ui};
use crate::model::Account;
use crate::validate::{password_strength, Strength};

pub(super) fn button(label: &str, testid: &str, action: Action) -> El {
    el("button")
        .attr("type", "button")
        .class("btn")
        .tid(testid)
        .on(action)
        .text(label)
}

pub(crate) fn primary(label: &str, testid: &str) -> El {
    el("button")
        .attr("type", "submit")
        .class("btn primary")
        .tid(testid)
        .text(label)
}

pub(crate) fn input(testid: &str, kind: &str, label: &str) -> El {
    el("label")
        .class("field")
        .child(el("span").class("label").text(label))
        .child(
            el("input")
                .attr("type", kind)
                .attr("autocomplete", "off")
                .attr("spellcheck", "false")
                .tid(testid),
        )
}

/// The "Recovery phrase or private key" box of the import forms.
pub(crate) fn secret_field(testid: &str) -> El {
    el("label")
        .class("field")
        .child(
            el("span")
                .class("label")
                .text("Recovery phrase or private key"),
        )
        .child(
            el("textarea")
                .attr("rows", "3")
                .attr("autocomplete", "off")
                .attr("spellcheck", "false")
                .tid(testid),
        )
}

pub(crate) fn error_box(ui: &Ui) -> Option<El> {
    ui.error.as_ref().map(|e| {
        el("p")
            .class("error")
            .attr("role", "alert")
            .tid("form-error")
            .text(e.clone())
    })
}

pub(crate) fn notice_box(ui: &Ui) -> Option<El> {
    ui.notice.as_ref().map(|n| {
        el("p")
            .class("notice")
            .attr("role", "status")
            .tid("notice")
            .text(n.clone())
    })
}

pub(crate) fn form(action: Action, testid: &str) -> El {
    el("form")
        .class("stack")
        .on(action)
        .tid(testid)
        .attr("novalidate", "")
}

pub(super) fn title(t: &str) -> El {
    el("h1").class("title").text(t)
}

pub(crate) fn back_bar(label: &str) -> El {
    el("header")
        .class("bar")
        .child(
            el("button")
                .attr("type", "button")
                .class("icon-btn")
                .tid("back-button")
                .on(Action::Back)
                .attr("aria-label", "Back")
                .child(el("span").class("i i-back").attr("aria-hidden", "true")),
        )
        .child(el("h1").class("bar-title").text(label))
}

/// The strength hint for a password.
pub fn strength_hint(pw: &str) -> El {
    let s = password_strength(pw);
    let cls = match s {
        Strength::Weak => "strength weak",
        Strength::Fair => "strength fair",
        Strength::Strong => "strength strong",
    };
    el("p")
        .class(cls)
        .tid("password-strength")
        .attr("aria-live", "polite")
        .text(if pw.is_empty() {
            "Use at least 8 characters".into()
        } else {
            s.label().to_owned()
        })
}

pub(crate) fn password_fields(pw: &str, ids: (&str, &str)) -> Vec<El> {
    vec![
        input(ids.0, "password", "New password"),
        strength_hint(pw),
        input(ids.1, "password", "Confirm password"),
    ]
}

/// Test ids of the password pair on the create screen.
pub const CREATE_PASSWORD_IDS: (&str, &str) = ("password-input", "password-confirm-input");

/// Test ids of the password pair on the import screen.
pub const IMPORT_PASSWORD_IDS: (&str, &str) = ("import-password", "import-password-confirm");

pub(crate) fn kv(label: &str, value: impl Into<String>, testid: &str) -> El {
    el("div")
        .class("kv")
        .child(el("span").class("k").text(label))
        .child(el("span").class("v mono").tid(testid).text(value))
}

pub(super) fn prefilled(testid: &str, label: &str, value: &str, readonly: bool) -> El {
    let mut i = el("input")
        .attr("type", "text")
        .attr("autocomplete", "off")
        .attr("spellcheck", "false")
        .tid(testid)
        .attr("value", value);
    if readonly {
        i = i.attr("readonly", "");
    }
    el("label")
        .class("field")
        .child(el("span").class("label").text(label))
        .child(i)
}

/// "on your phone": the tag of an account whose key is on the phone.
pub(super) fn on_phone_tag(a: &Account, tid: String) -> Option<El> {
    a.on_phone()
        .then(|| el("span").class("tag").tid(tid).text("on your phone"))
}
