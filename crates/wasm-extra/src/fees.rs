//! A transaction's fill and its activity record, built outside the core:
//! the fee batch and its answers read into the `Fill` the core's
//! `fillTransaction` takes (`tandem_wallet::fees`); the record of a sent
//! transaction for the core's `recordSent`, and a receipt read for its
//! `updateStatus` (`tandem_wallet::activity`). The core keeps the approval
//! queue and the activity list; this module only builds what it is handed.

use serde_json::{json, Value};
use tandem_wallet::{fees, Activity, TxStatus};
use wasm_bindgen::prelude::*;

use crate::portfolio::{holdings, list, results, to_json};

/// The calls that fill `approval` (the core's `approval(id)` JSON) to the
/// node of its chain, from the networks of `state` (`stateJson()`): JSON
/// `{ url, requests }` (see `rpcBatch`), or `{ error }` (the network was
/// removed: the request is refused with it).
#[wasm_bindgen(js_name = feePlan)]
pub fn fee_plan(approval: &str, state: &str) -> Result<String, JsError> {
    let approval: Value = serde_json::from_str(approval).unwrap_or_default();
    Ok(to_json(
        &match fees::fee_plan(&approval, &holdings(state)?) {
            Ok(b) => b.to_json(),
            Err(e) => json!({ "error": e.to_rpc() }),
        },
    ))
}

/// `rpcBatch`'s answers to `feePlan(approval)`: JSON `{ fill }` (for the
/// core's `fillTransaction`), or `{ error }`, the error object the request
/// is refused with (the node's, e.g. a reverting call).
#[wasm_bindgen(js_name = feeFill)]
pub fn fee_fill(approval: &str, answers: &str) -> String {
    let approval: Value = serde_json::from_str(approval).unwrap_or_default();
    to_json(&match fees::fee_fill(&approval, &results(list(answers))) {
        Ok(fill) => json!({ "fill": fill }),
        Err(error) => json!({ "error": error }),
    })
}

/// The activity record (JSON, for the core's `recordSent`) of a transaction
/// `from` just sent: `transaction` as approved (JSON), `hash` the one
/// Tandem signed, `origin` who asked, at `now` (ms).
#[wasm_bindgen(js_name = sentActivity)]
pub fn sent_activity(
    from: &str,
    transaction: &str,
    origin: &str,
    hash: &str,
    now: f64,
) -> Result<String, JsError> {
    let from = from
        .parse()
        .map_err(|_| JsError::new("the sender is not an address"))?;
    let tx: Value = serde_json::from_str(transaction).unwrap_or_default();
    let a = Activity::sent(from, &tx, origin, hash, now as u64)
        .map_err(|e| JsError::new(&e.to_string()))?;
    Ok(to_json(&a))
}

/// A node's answer to `eth_getTransactionReceipt` (JSON): `{ status, block }`
/// for the core's `updateStatus`, or `undefined` while it is not mined.
#[wasm_bindgen(js_name = receiptStatus)]
pub fn receipt_status(receipt: &str) -> Option<String> {
    let r: Value = serde_json::from_str(receipt).unwrap_or_default();
    let (status, block) = TxStatus::of_receipt(&r)?;
    Some(to_json(&json!({ "status": status, "block": block })))
}
