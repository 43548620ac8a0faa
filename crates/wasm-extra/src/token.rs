//! A token contract's `symbol()` and `decimals()`, and the gas price Send's
//! Max keeps a fee for: the calls the worker sends and their answers read
//! (`tandem_wallet::token`). The worker sends the batches and keeps the
//! answers it is told to keep; it builds and decodes nothing.

use serde_json::{json, Value};
use tandem_wallet::{token, Error};
use wasm_bindgen::prelude::*;

use crate::portfolio::{holdings, list, results, to_json};

/// `{ error: { name, message } }`: what the page's call is refused with.
fn refused(e: &Error) -> Value {
    json!({ "error": { "name": e.kind(), "message": e.to_string() } })
}

/// A chain id from the page: a whole number above 0.
fn chain(chain_id: f64) -> Result<u64, Error> {
    let ok = chain_id.fract() == 0.0 && (1.0..=9_007_199_254_740_991.0).contains(&chain_id);
    ok.then_some(chain_id as u64)
        .ok_or_else(|| Error::Invalid("the chainId is not a whole number above 0".into()))
}

/// The calls reading the `symbol()` and `decimals()` of contract `address`
/// on `chain_id`, a network of `state` (`stateJson()`): JSON `{ url,
/// requests, chainId, address, key }` (`key`: what the answer is kept
/// under), or `{ error: { name, message } }` (not an address, or no such
/// network).
#[wasm_bindgen(js_name = tokenPlan)]
pub fn token_plan(state: &str, chain_id: f64, address: &str) -> Result<String, JsError> {
    let wallet = holdings(state)?;
    let chain = match chain(chain_id) {
        Ok(c) => c,
        Err(e) => return Ok(to_json(&refused(&e))),
    };
    Ok(to_json(&match token::info_plan(&wallet, chain, address) {
        Ok(b) => {
            let mut v = b.to_json();
            let a = address.to_ascii_lowercase();
            v["key"] = json!(format!("{chain}:{a}"));
            v["chainId"] = json!(chain);
            v["address"] = json!(a);
            v
        }
        Err(e) => refused(&e),
    }))
}

/// `rpcBatch`'s answers to `tokenPlan(_, chain_id, address)`: JSON `{ info:
/// { chainId, address, symbol, decimals }, keep }`, symbol and decimals
/// decoded (`null` where a call failed or answered something unreadable);
/// `keep`: whether the worker may keep the answer for its life.
#[wasm_bindgen(js_name = tokenRead)]
pub fn token_read(chain_id: f64, address: &str, answers: &str) -> String {
    let (info, keep) = token::info_read(chain_id as u64, address, &results(list(answers)));
    to_json(&json!({ "info": info, "keep": keep }))
}

/// The call reading the gas price of `chain_id`, a network of `state`:
/// JSON `{ url, requests }`, or `{ error: { name, message } }`.
#[wasm_bindgen(js_name = gasPricePlan)]
pub fn gas_price_plan(state: &str, chain_id: f64) -> Result<String, JsError> {
    let wallet = holdings(state)?;
    Ok(to_json(
        &match chain(chain_id).and_then(|c| token::gas_price_plan(&wallet, c)) {
            Ok(b) => b.to_json(),
            Err(e) => refused(&e),
        },
    ))
}

/// `rpcBatch`'s answers to `gasPricePlan`: JSON `{ gasPrice }` (a `0x`
/// quantity, checked) or `{ error: { code, message } }` (the node's or why
/// its answer is not used).
#[wasm_bindgen(js_name = gasPriceRead)]
pub fn gas_price_read(answers: &str) -> String {
    to_json(&match token::gas_price_read(&results(list(answers))) {
        Ok(wei) => json!({ "gasPrice": format!("{wei:#x}") }),
        Err(error) => json!({ "error": error }),
    })
}
