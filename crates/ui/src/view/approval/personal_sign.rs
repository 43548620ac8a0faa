//! `personal_sign`: the message as text (or raw bytes), with sign-in
//! (EIP-4361) checks and hidden characters revealed.

use super::{s, signer_line};
use crate::model::{personal_sign_message, Approval, SignText};
use crate::view::{el, El};

pub(super) fn personal_body(a: &Approval, now_ms: f64) -> El {
    let (label, text, cls) = match personal_sign_message(a) {
        SignText::Text(t) => ("Message", t, "message"),
        SignText::Hex(h) => ("Message (raw bytes)", h, "message mono"),
    };
    // A sign-in (EIP-4361) is checked against the origin the browser
    // reported; hidden characters are shown, never rendered.
    let signer = s(&a.request, "address");
    let chain = a.chain().map(|c| c.chain_id);
    let findings = crate::siwe::findings(&text, &a.origin, signer, chain, (now_ms / 1000.0) as i64);
    let siwe = crate::siwe::parse(&text).ok();
    let (shown, hidden) = crate::hidden::reveal(&text);
    el("div")
        .class("stack")
        .maybe(crate::siwe::warnings(&findings))
        .maybe(crate::hidden::warning(&text, hidden).map(|w| {
            el("p")
                .class("warn danger")
                .attr("role", "alert")
                .tid("sign-hidden-warning")
                .text(w)
        }))
        .maybe(signer_line(a))
        .maybe(siwe.as_ref().map(crate::siwe::card))
        .child(el("span").class("label").text(label))
        .child(el("pre").class(cls).tid("sign-message").text(shown))
}

#[cfg(test)]
mod tests {
    use crate::view::fixtures::approval_ui;
    use crate::view::view;
    use serde_json::{json, Value};

    #[test]
    fn personal_sign_shows_readable_bytes_as_text() {
        let ui = approval_ui(
            "personal_sign",
            json!({"address": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "message": "0x48656c6c6f"}),
            Value::Null,
        );
        assert_eq!(
            view(&ui, "").find("sign-message").unwrap().text_content(),
            "Hello"
        );
    }

    #[test]
    fn personal_sign_shows_other_bytes_as_hex() {
        let v = view(
            &approval_ui("personal_sign", json!({"message": "0x00ff"}), Value::Null),
            "",
        );
        assert_eq!(v.find("sign-message").unwrap().text_content(), "0x00ff");
        assert!(v
            .find("sign-message")
            .unwrap()
            .get("class")
            .unwrap()
            .contains("mono"));
    }
}
