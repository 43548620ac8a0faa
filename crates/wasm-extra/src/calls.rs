//! EIP-5792 call bundles for the worker (`tandem_wallet::calls` decides;
//! this only parses, calls and encodes). The worker keeps this session's
//! bundles as the JSON array these functions hand back (`bundles`) and
//! stores it in `chrome.storage.session` before the next step's I/O
//! (extension/calls.js).

use serde_json::{json, Value};
use tandem_wallet::calls::{self, Answer, Bundles};
use tandem_wallet::{Approval, Outcome, Wallet};
use wasm_bindgen::prelude::*;

fn js(e: impl core::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

fn bundles(json: &str) -> Result<Bundles, JsError> {
    Bundles::from_json(json).map_err(js)
}

/// 32 bytes from the browser's CSPRNG, to name a bundle the site did not name.
fn entropy() -> Option<[u8; 32]> {
    #[cfg(target_arch = "wasm32")]
    {
        let mut b = [0u8; 32];
        getrandom::getrandom(&mut b).ok()?;
        Some(b)
    }
    #[cfg(not(target_arch = "wasm32"))]
    None
}

/// `wallet_getCapabilities`, `wallet_sendCalls` or `wallet_getCallsStatus`
/// from `origin` (`request`: the page's `{ method, params }`), with the
/// core's `stateJson()` / `sessionJson()` and the stored bundles. Returns
/// an outcome as the core's `request` does: `result`, `error`, or
/// `approval` (a checked bundle queued for the user) with `session`, the
/// core's session half with that approval in its queue, which the worker
/// loads the core from (the core module carries no code for this).
#[wasm_bindgen(js_name = callsRequest)]
pub fn calls_request(
    state: &str,
    session: &str,
    stored: &str,
    origin: &str,
    request: &str,
    reply_to: &str,
    now: f64,
) -> Result<String, JsError> {
    let mut w = Wallet::load(state, session).map_err(js)?;
    let request: Value = serde_json::from_str(request).map_err(js)?;
    let out = match calls::request(&w, &bundles(stored)?, origin, &request, entropy()) {
        Answer::Queue { request, display } => {
            let reply_to: Value = serde_json::from_str(reply_to).map_err(js)?;
            let o = w.queue_calls(origin, request, display, reply_to, now as u64);
            let mut v = serde_json::to_value(&o).map_err(js)?;
            if matches!(o, Outcome::Approval { .. }) {
                v["session"] = json!(w.session.to_json());
            }
            v
        }
        other => serde_json::to_value(&other).map_err(js)?,
    };
    Ok(out.to_string())
}

/// Before the core resolves the user's Approve of approval `id`: throws
/// (4200's message) when the phone's policy, as it is now in `state`,
/// covers one of a bundle's calls; the approval then stays pending.
#[wasm_bindgen(js_name = callsApprovable)]
pub fn calls_approvable(state: &str, session: &str, id: f64) -> Result<(), JsError> {
    let w = Wallet::load(state, session).map_err(js)?;
    calls::check_approval(&w, id as u64).map_err(js)
}

/// The user approved `approval` (the core's JSON of it, taken before it
/// was resolved): its bundle starts. Returns the bundles to store, in the
/// same write as the answer.
#[wasm_bindgen(js_name = callsStart)]
pub fn calls_start(stored: &str, approval: &str, now: f64) -> Result<String, JsError> {
    let mut b = bundles(stored)?;
    let a: Approval = serde_json::from_str(approval).map_err(js)?;
    b.start(&a, now as u64).map_err(js)?;
    Ok(b.to_json())
}

/// What the worker does next (`Bundles::work`): `{ work, changed, bundles }`
/// (`changed`: store `bundles`).
#[wasm_bindgen(js_name = callsWork)]
pub fn calls_work(stored: &str, state: &str, unlocked: bool) -> Result<String, JsError> {
    let mut b = bundles(stored)?;
    let state = tandem_wallet::State::from_json(state).map_err(js)?;
    let mut out = b.work(&state, unlocked);
    out["bundles"] = json!(b);
    Ok(out.to_string())
}

/// Records a step, `{ origin, id, index, step }` (`Bundles::step`); returns
/// `{ answer, bundles }` (`answer`: after `{ answers }` (the node's to a
/// fill's batch) the transaction to sign, `null` when the node refused it
/// (the bundle stopped) or `false` when the node was not reached (nothing
/// changed); after `{ filled }` the transaction to sign; else `null`).
/// Throws for a step that may not happen.
#[wasm_bindgen(js_name = callsStep)]
pub fn calls_step(stored: &str, step: &str) -> Result<String, JsError> {
    let mut b = bundles(stored)?;
    let v: Value = serde_json::from_str(step).map_err(js)?;
    let text = |k: &str| v[k].as_str().unwrap_or_default();
    let index = v["index"]
        .as_u64()
        .and_then(|i| usize::try_from(i).ok())
        .unwrap_or(usize::MAX);
    let answer = b
        .step(text("origin"), text("id"), index, &v["step"])
        .map_err(js)?;
    Ok(json!({ "answer": answer, "bundles": b }).to_string())
}
