//! The portfolio (issue 12) and the JSON-RPC batch it is read with: every
//! account on every network, one batch per network, answers checked by id
//! (`tandem_wallet::portfolio`, `tandem_wallet::rpc::batch_answers`). The
//! wallet's state comes in as the JSON the core gives the worker.

use serde_json::{json, Value};
use tandem_wallet::{portfolio, rpc, Holdings};
use wasm_bindgen::prelude::*;

/// A result as JSON (`to_string` of plain data cannot fail).
pub(crate) fn to_json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A JSON array (anything else: empty).
pub(crate) fn list(json: &str) -> Vec<Value> {
    serde_json::from_str(json).unwrap_or_default()
}

/// `rpcBatch`'s answers back into results (anything else: an error).
pub(crate) fn results(list: Vec<Value>) -> Vec<Result<Value, Value>> {
    list.into_iter()
        .map(|mut r| match r.get_mut("error").map(Value::take) {
            Some(e) => Err(e),
            None => Ok(r.get_mut("result").map(Value::take).unwrap_or_default()),
        })
        .collect()
}

/// The wallet's state JSON, or the error JS throws.
pub(crate) fn holdings(state: &str) -> Result<Holdings, JsError> {
    Holdings::from_json(state).map_err(|e| JsError::new(&e.to_string()))
}

/// The checked answers to a batch of `n` calls to the node at `url`, as
/// JSON `[{ result } | { error }]`, one per call in order; `answers` (JSON)
/// is the batch's response body, `null` (the node could not be reached), or
/// the single calls' bodies. `undefined`: the node refused the batch; send
/// the single calls (`tandem_wallet::rpc::batch_answers`).
#[wasm_bindgen(js_name = rpcBatch)]
pub fn rpc_batch(url: &str, n: f64, answers: &str) -> Option<String> {
    let answers: Value = serde_json::from_str(answers).unwrap_or(Value::Null);
    let out = rpc::batch_answers(n as usize, &answers, url)?;
    let out = out.into_iter().map(|r| match r {
        Ok(result) => json!({ "result": result }),
        Err(error) => json!({ "error": error }),
    });
    Some(to_json(&out.collect::<Vec<_>>()))
}

/// The portfolio's reads of the wallet (`state`: the core's `stateJson()`),
/// one batch per network: JSON `[{ chainId, url, requests }]`.
#[wasm_bindgen(js_name = portfolioPlan)]
pub fn portfolio_plan(state: &str) -> Result<String, JsError> {
    Ok(to_json(&portfolio::plan(&holdings(state)?)))
}

/// The stored portfolio records (JSON array) after `plans` were read:
/// `answers[i]` is `rpcBatch`'s answer to `plans[i]`, read at `now` (ms).
/// JSON `{ stored, error }` (`tandem_wallet::portfolio::read`).
#[wasm_bindgen(js_name = portfolioRead)]
pub fn portfolio_read(
    state: &str,
    plans: &str,
    answers: &str,
    stored: &str,
    now: f64,
) -> Result<String, JsError> {
    let answers: Vec<_> = list(answers)
        .into_iter()
        .map(|a| results(a.as_array().cloned().unwrap_or_default()))
        .collect();
    Ok(to_json(&portfolio::read(
        &holdings(state)?,
        &list(plans),
        &answers,
        &list(stored),
        now as u64,
    )))
}

/// The network of `chain_id` in `state` (`stateJson()`) as JSON, or
/// `undefined` if the wallet no longer has it: the one lookup of a
/// transaction's or a receipt's chain.
#[wasm_bindgen]
pub fn network(state: &str, chain_id: f64) -> Result<Option<String>, JsError> {
    Ok(holdings(state)?.network_of(chain_id as u64).map(to_json))
}

/// What the popup shows of the stored records (JSON array) and the
/// group's last known balances (`synced`, the sync module's
/// `syncBalances()`, `[]` without sync): the selected account on the
/// selected network, and `all`.
#[wasm_bindgen]
pub fn portfolio(state: &str, stored: &str, synced: &str) -> Result<String, JsError> {
    Ok(to_json(&portfolio::view(
        &holdings(state)?,
        &list(stored),
        &list(synced),
    )))
}

/// The balances of the stored records as the sync module records them
/// (`syncBalancesRead`): `[{id, amount, asOf}]`.
#[wasm_bindgen(js_name = portfolioReads)]
pub fn portfolio_reads(stored: &str) -> String {
    to_json(&portfolio::balance_reads(&list(stored)))
}
