//! The activity record of a sent transaction and the reading of its
//! receipt, built from the approved transaction and the node's answers.
//! Pure: the worker's third module builds them, and the core stores them
//! ([`crate::State::record_sent`], [`crate::State::update_status`]).

use alloy_primitives::{Address, U256};
use serde_json::Value;

use crate::rpc::quantity;
use crate::{Activity, Error, Result, TxStatus};

impl Activity {
    /// The record of a transaction `from` just sent: `tx` as approved (its
    /// chain, recipient and value), `hash` the one Tandem signed, `origin`
    /// who asked, pending since `now` (ms).
    pub fn sent(from: Address, tx: &Value, origin: &str, hash: &str, now: u64) -> Result<Self> {
        let chain_id = quantity(&tx["chainId"])
            .and_then(|c| u64::try_from(c).ok())
            .ok_or_else(|| Error::Invalid("the sent transaction names no chain".into()))?;
        let value = match tx.get("value").and_then(Value::as_str) {
            None => U256::ZERO,
            Some(v) => v
                .strip_prefix("0x")
                .and_then(|h| U256::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    Error::Invalid("the sent transaction's value is not a number".into())
                })?,
        };
        let to = match tx.get("to").and_then(Value::as_str) {
            None => None,
            Some(t) => Some(t.parse().map_err(|_| {
                Error::Invalid("the sent transaction's recipient is not an address".into())
            })?),
        };
        Ok(Self {
            hash: hash.to_owned(),
            chain_id,
            from,
            to,
            value,
            status: TxStatus::Pending,
            origin: Some(origin.to_owned()),
            submitted_at: now,
            block_number: None,
            warning: None,
        })
    }
}

impl TxStatus {
    /// A node's answer to `eth_getTransactionReceipt` (`null`: not mined
    /// yet, `None`): status 1 is confirmed, anything else failed; with the
    /// block it was mined in.
    pub fn of_receipt(receipt: &Value) -> Option<(Self, Option<u64>)> {
        if !receipt.is_object() {
            return None;
        }
        let status = if receipt["status"] == "0x1" {
            Self::Confirmed
        } else {
            Self::Failed
        };
        let block = quantity(&receipt["blockNumber"]).and_then(|b| u64::try_from(b).ok());
        Some((status, block))
    }
}
