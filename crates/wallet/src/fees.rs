//! A transaction approval's fill, outside the core: which calls the node of
//! its chain is asked (nonce, gas, fees, as one [`Batch`]) and how the
//! answers become the [`Fill`] the core's [`crate::Wallet::fill_transaction`]
//! takes, or the node's error that refuses the request.
//!
//! Both read the approval as the core hands it to the worker (its JSON,
//! `{ request: { address, transaction } }`) and the wallet's networks from
//! its state JSON ([`Holdings`]): they run in the worker's third module, and
//! the core keeps the approval queue.

use alloy_primitives::{U128, U64};
use serde_json::{json, Map, Value};

use crate::rpc::{self, Batch};
use crate::{Error, Fill, Holdings, Result};

/// The chain a transaction approval is signed for.
fn chain_of(approval: &Value) -> Option<u64> {
    rpc::quantity(&approval["request"]["transaction"]["chainId"])
        .and_then(|c| u64::try_from(c).ok())
}

/// The calls that fill transaction `approval`, to the node of the chain it
/// is signed for (whichever network is selected now):
/// `eth_getTransactionCount` (pending), the latest block (its base fee),
/// `eth_maxPriorityFeePerGas`, `eth_gasPrice`, and `eth_estimateGas` when
/// the site named no gas limit. An error when the wallet no longer has that
/// network: the request is refused rather than left waiting.
pub fn fee_plan(approval: &Value, wallet: &Holdings) -> Result<Batch> {
    let net = chain_of(approval)
        .and_then(|c| wallet.network_of(c))
        .ok_or_else(|| {
            Error::UnknownChain(format!(
                "the network of approval {} was removed",
                approval["id"]
            ))
        })?;
    Ok(fill_batch(
        &approval["request"]["address"],
        &approval["request"]["transaction"],
        &net.rpc_url,
    ))
}

/// The calls that fill transaction `tx` from `from`, to the node at `url`
/// ([`fee_plan`]'s; an EIP-5792 bundle's calls are filled with them too).
pub fn fill_batch(from: &Value, tx: &Value, url: &str) -> Batch {
    let mut calls = vec![
        ("eth_getTransactionCount", json!([from, "pending"])),
        ("eth_getBlockByNumber", json!(["latest", false])),
        ("eth_maxPriorityFeePerGas", json!([])),
        ("eth_gasPrice", json!([])),
    ];
    if tx.get("gas").is_none() {
        let mut call = Map::new();
        call.insert("from".into(), from.clone());
        for k in ["to", "value", "data"] {
            if let Some(v) = tx.get(k) {
                call.insert(k.into(), v.clone());
            }
        }
        calls.push(("eth_estimateGas", json!([call])));
    }
    Batch {
        url: url.to_owned(),
        calls,
    }
}

/// The node's checked answers to [`fee_plan`]`(approval)`, in its order
/// ([`rpc::batch_answers`]): the [`Fill`], or the error object
/// (`{ code, message, data? }`) that refuses the request: the node's when it
/// refused the nonce, the block or the gas estimate (e.g. the call
/// reverts), Tandem's when an answer is missing or not a quantity. The
/// priority fee and gas price may fail: the core then falls back to 1 gwei
/// and the base fee. (Fees beyond the cap are refused by the core when it
/// takes the fill.)
pub fn fee_fill(approval: &Value, answers: &[Result<Value, Value>]) -> Result<Fill, Value> {
    fill_of(&approval["request"]["transaction"], answers)
}

/// [`fee_fill`] for transaction `tx`: the answers to [`fill_batch`]`(_, tx, _)`.
pub fn fill_of(tx: &Value, answers: &[Result<Value, Value>]) -> Result<Fill, Value> {
    let needs_gas = tx.get("gas").is_none();
    let at = |i: usize| {
        answers.get(i).cloned().unwrap_or_else(|| {
            Err(Error::Invalid("the network's RPC did not answer every call".into()).to_rpc())
        })
    };
    let bad = || {
        Error::Invalid("the network's RPC answered a nonce, gas or fee that is not a number".into())
            .to_rpc()
    };
    let u64_of = |v: Value| {
        rpc::quantity(&v)
            .and_then(|q| u64::try_from(q).ok())
            .map(U64::from)
            .ok_or_else(bad)
    };
    // Absent (`null`) is allowed; anything else must be a quantity.
    let fee = |v: Option<&Value>| match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => rpc::quantity(v)
            .map(|q| Some(U128::from(q)))
            .ok_or_else(bad),
    };
    let block = at(1)?;
    Ok(Fill {
        nonce: u64_of(at(0)?)?,
        gas_estimate: if needs_gas {
            u64_of(at(4)?)?
        } else {
            U64::ZERO
        },
        base_fee: fee(block.get("baseFeePerGas"))?,
        priority_fee: fee(at(2).ok().as_ref())?,
        gas_price: fee(at(3).ok().as_ref())?,
    })
}
