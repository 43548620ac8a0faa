//! The approval window: the request's heading, its body (one module per
//! kind), and the approve/reject buttons.
//!
//! A new kind gets its own module (here or at the crate's root) and one
//! line in [`approval`]'s dispatch on `a.kind`.

mod asset;
mod calls;
mod connect;
mod personal_sign;
mod transaction;
mod typed;

pub(crate) use calls::tokens as call_tokens;
pub use transaction::max_total;
pub use typed::typed_tree;

use super::{el, error_box, kv, Action, El, Ui};
use crate::format::shorten_address;
use crate::model::Approval;
use asset::asset_body;
use calls::calls_body;
use connect::connect_body;
use personal_sign::personal_body;
use serde_json::Value;
use transaction::tx_body;
use typed::typed_body;

pub(super) fn approval(ui: &Ui) -> El {
    let Some(a) = &ui.approval else {
        return el("div")
            .class("center muted")
            .tid("approval-missing")
            .text(
                ui.error
                    .clone()
                    .unwrap_or_else(|| "Loading request…".into()),
            );
    };
    if let Some(w) = &a.phone_wait() {
        return crate::confirm::waiting(w, ui.now_ms).maybe(error_box(ui));
    }
    let st = ui.state.clone().unwrap_or_default();
    // Signatures and transactions name the network they are for.
    let signed = |body: El| {
        el("div")
            .class("stack")
            .child(crate::chain::signing_chain(a, &st))
            .child(body)
    };
    let (heading, body) = match a.kind_name() {
        "connect" => ("Connect to this site?", connect_body(&st)),
        "personal_sign" => ("Signature request", signed(personal_body(a, ui.now_ms))),
        "typed_data" => (
            "Signature request",
            signed(typed_body(a, &st).maybe(crate::token::permit_line(a, &ui.tokens))),
        ),
        "transaction" => ("Transaction", signed(tx_body(a, &ui.tokens))),
        "add_chain" => (crate::chain::add_heading(a), crate::chain::add_body(a)),
        "switch_chain" => ("Switch network?", crate::chain::switch_body(a)),
        "watch_asset" => ("Add a token?", asset_body(a, &st)),
        "calls" => ("Call bundle", signed(calls_body(a, &ui.tokens))),
        _ => (
            "Unknown request",
            el("p").text(format!("Tandem cannot show a `{}` request.", a.kind_name())),
        ),
    };
    let approve_label = match a.kind_name() {
        "connect" => "Connect",
        "personal_sign" | "typed_data" => "Sign",
        "transaction" => "Confirm",
        "add_chain" => crate::chain::add_label(a),
        "switch_chain" => "Switch",
        "watch_asset" => "Add token",
        "calls" => "Confirm all",
        _ => "Approve",
    };
    let mut approve_btn = el("button")
        .attr("type", "button")
        .class("btn primary")
        .tid("approval-approve")
        .on(Action::Approve)
        .text(approve_label);
    // (A kind the core does not have never gets here: it is not read.)
    if ui.busy || !crate::queue::armed(ui) || a.needs_fill {
        approve_btn = approve_btn.attr("disabled", "");
    }
    el("div")
        .class("approval stack")
        .tid("approval-screen")
        .attr("data-kind", a.kind_name())
        .child(
            el("header")
                .class("approval-head")
                .child(el("h1").class("title").tid("approval-kind").text(heading))
                .child(
                    el("p")
                        .class("origin")
                        .tid("approval-origin")
                        .text(crate::send::origin_label(&a.origin)),
                ),
        )
        .child(
            el("main")
                .class("scroll stack")
                .child(body)
                .maybe(a.needs_phone.map(|r| {
                    el("p")
                        .class("notice")
                        .tid("approval-needs-phone")
                        .text(format!(
                            "{} After you approve here, approve on your phone too.",
                            r.reason()
                        ))
                }))
                .maybe(crate::queue::waiting(ui))
                .maybe(error_box(ui)),
        )
        .child(
            el("footer")
                .class("actions")
                .child(
                    el("button")
                        .attr("type", "button")
                        .class("btn")
                        .tid("approval-reject")
                        .on(Action::Reject)
                        .text("Reject"),
                )
                .child(approve_btn),
        )
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn warning_list(ws: impl IntoIterator<Item = (bool, String)>, prefix: &str) -> Option<El> {
    // The same warning never twice, whatever the spelling of its addresses.
    let mut seen: Vec<String> = Vec::new();
    let items: Vec<El> = ws
        .into_iter()
        .filter(|(_, m)| {
            let key = m.to_ascii_lowercase();
            let new = !seen.contains(&key);
            seen.push(key);
            new
        })
        .enumerate()
        .map(|(i, (danger, m))| {
            el("li")
                .class(if danger { "warn danger" } else { "warn" })
                .tid(format!("{prefix}-warning-{i}"))
                .text(m)
        })
        .collect();
    (!items.is_empty()).then(|| {
        el("ul")
            .class("warnings")
            .attr("role", "alert")
            .children(items)
    })
}

fn signer_line(a: &Approval) -> Option<El> {
    let addr = s(&a.request, "address");
    (!addr.is_empty()).then(|| kv("Account", shorten_address(addr), "approval-signer"))
}

#[cfg(test)]
mod tests {
    use crate::view::fixtures::approval_ui;
    use crate::view::view;
    use serde_json::{json, Value};

    // Add and switch network: crate::chain's tests, from the worker's own approvals.

    #[test]
    fn unknown_kinds_cannot_be_approved() {
        // A kind the core does not have is not read at all: the window
        // says the request cannot be read (crate::app), and has nothing to
        // approve.
        let e = serde_json::from_value::<crate::model::Approval>(json!({
            "id": 1, "origin": "http://127.0.0.1:5173", "kind": "something_new",
            "request": {}, "display": null, "createdAt": 0, "replyTo": null
        }))
        .unwrap_err();
        assert!(
            e.to_string().contains("unknown variant `something_new`"),
            "{e}"
        );
        // Every kind the core has is one the window knows how to show.
        for kind in [
            "connect",
            "personal_sign",
            "typed_data",
            "transaction",
            "add_chain",
            "switch_chain",
            "watch_asset",
            "calls",
        ] {
            let v = view(&approval_ui(kind, json!({}), Value::Null), "");
            assert_eq!(
                v.find("approval-screen").unwrap().get("data-kind"),
                Some(kind)
            );
        }
    }
}
