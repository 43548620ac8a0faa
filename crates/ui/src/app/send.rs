//! The popup's Send and the approval window's token facts: the `send.*` and
//! `token.info` calls of extension/API.md. What is sent, checked and shown
//! is decided in `crate::send` and `crate::token`; this file moves data.

use super::{busy, call, go, render, storage_set, to_js, with_ui};
use crate::model::NetworkExt as _;
use crate::send::{self, NATIVE};
use crate::token::TokenFacts;
use crate::view::{Action, Screen};
use crate::{dom, Result};
use serde_json::{json, Value};
use wasm_bindgen_futures::JsFuture;
use web_sys::Element;

/// Opens Send with the native coin chosen; the address book (the sync
/// module's) fills in when it answers, and without it Send still works.
pub(super) async fn open() {
    with_ui(|ui| ui.send.asset = NATIVE.into());
    go(Screen::Send);
    if let Ok(v) = call("sync.view", Value::Null).await {
        if let Ok(v) = serde_json::from_value::<tandem_sync::view::SyncView>(v) {
            with_ui(|ui| ui.send.contacts = send::contacts_of(&v));
            render();
        }
    }
}

pub(super) async fn run(action: Action, root: &Element) -> Result<()> {
    match action {
        Action::SendAsset(asset) => {
            with_ui(|ui| ui.send.asset = asset);
            render();
        }
        Action::SendPick(address) if !address.is_empty() => {
            dom::set_field(root, "send-to", &address);
        }
        Action::SendMax => {
            let (asset, chain) = with_ui(|ui| {
                let st = ui.state.clone().unwrap_or_default();
                let net = st.current_network();
                let all = send::assets(ui.portfolio.as_ref(), &net);
                (send::chosen(&all, &ui.send).cloned(), net.id())
            })
            .unwrap_or((None, 0));
            let Some(asset) = asset else { return Ok(()) };
            let price = if asset.token.is_none() {
                let v = call("send.gasPrice", json!({ "chainId": chain })).await?;
                v.as_str().and_then(|p| crate::format::to_u128(p).ok())
            } else {
                None
            };
            let amount = send::max_amount(&asset, price)?;
            dom::set_field(root, "send-amount", &amount);
        }
        Action::SendReview => {
            let (from, asset) = with_ui(|ui| {
                let st = ui.state.clone().unwrap_or_default();
                let net = st.current_network();
                let all = send::assets(ui.portfolio.as_ref(), &net);
                (
                    st.current_account().map(|a| a.address.clone()),
                    send::chosen(&all, &ui.send).cloned(),
                )
            })
            .unwrap_or((None, None));
            let (Some(from), Some(asset)) = (from, asset) else {
                return Ok(());
            };
            let tx = send::transaction(
                &from,
                &dom::field(root, "send-to"),
                &dom::field(root, "send-amount"),
                &asset,
            )?;
            busy(call("send.start", json!({ "transaction": tx }))).await?;
            with_ui(|ui| {
                ui.notice = Some(
                    "Review and confirm it in the approval window; it then shows in Activity."
                        .into(),
                )
            });
            render();
        }
        _ => {}
    }
    Ok(())
}

/// Reads, on the approval's chain, what each token contract it involves
/// says of itself (`symbol()`, `decimals()`), once per window.
pub(super) async fn load_token_facts() {
    let Some(wanted) = with_ui(|ui| ui.approval.as_ref().map(crate::token::needed)).flatten()
    else {
        return;
    };
    for (chain, address) in wanted {
        let have =
            with_ui(|ui| crate::token::find(&ui.tokens, chain, &address).is_some()).unwrap_or(true);
        if have {
            continue;
        }
        // A failed read is a fact too: the token is shown as unknown.
        let reply = call("token.info", crate::token::info_request(chain, &address))
            .await
            .unwrap_or(Value::Null);
        let facts = TokenFacts::from_reply(chain, &address, &reply);
        with_ui(|ui| ui.tokens.push(facts));
        render();
    }
}

/// Add a token: the symbol and decimals the user left empty are the
/// contract's own, decoded here (`crate::token`).
pub(super) async fn token_facts(chain: u64, address: &str) -> Option<(String, u8)> {
    let reply = call("token.info", crate::token::info_request(chain, address))
        .await
        .ok()?;
    TokenFacts::from_reply(chain, address, &reply).known
}

/// Hide, Unhide, and listing the hidden tokens; the list is stored for
/// this browser's pages (`crate::hide::HIDDEN_KEY`).
pub(super) async fn hide(action: Action) {
    let stored = with_ui(|ui| {
        let chain = ui
            .state
            .as_ref()
            .and_then(|s| s.network.as_ref())
            .map_or(0, |n| n.id());
        match &action {
            Action::HideToken(a) => ui.hidden.set(chain, a, true),
            Action::UnhideToken(a) => ui.hidden.set(chain, a, false),
            _ => {
                ui.hidden.show = !ui.hidden.show;
                return None;
            }
        }
        Some(ui.hidden.to_stored())
    })
    .flatten();
    render();
    if let Some(v) = stored {
        if let Ok(p) = storage_set(&to_js(&json!({ crate::hide::HIDDEN_KEY: v }))) {
            let _ = JsFuture::from(p).await;
        }
    }
}
