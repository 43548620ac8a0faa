//! A transaction approval's fill: which calls the node of its chain is
//! asked (nonce, gas, fees, as one [`Batch`]) and how its answers become a
//! [`Fill`] or, when the node refuses what the transaction needs, the
//! request's refusal.

use serde_json::{json, Map, Value};

use alloy_primitives::{U128, U64};

use crate::rpc::{self, Batch};
use crate::{Error, Fill, Resolution, Result, Wallet};

impl Wallet {
    /// The calls that fill transaction approval `id`, to the node of the
    /// chain it is signed for (whichever network is selected now):
    /// `eth_getTransactionCount` (pending), the latest block (its base fee),
    /// `eth_maxPriorityFeePerGas`, `eth_gasPrice`, and `eth_estimateGas`
    /// when the site named no gas limit.
    pub fn fee_plan(&self, id: u64) -> Result<Batch> {
        let a = self.session.approval(id)?;
        let (from, tx) = (&a.request["address"], &a.request["transaction"]);
        let chain = rpc::quantity(&tx["chainId"]).and_then(|c| u64::try_from(c).ok());
        let net = chain
            .and_then(|c| self.state.network_of(c))
            .ok_or_else(|| {
                Error::UnknownChain(format!("the network of approval {id} was removed"))
            })?;
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
        Ok(Batch {
            url: net.rpc_url.clone(),
            calls,
        })
    }

    /// The node's checked answers to [`Wallet::fee_plan`]`(id)`, in its
    /// order. Fills the approval (`None`), or refuses the request (the
    /// resolution; the approval is gone) with the node's error when it
    /// refused the nonce, the block or the gas estimate (e.g. the call
    /// reverts), or with Tandem's when its fees are beyond the cap or its
    /// answers are not quantities, or when the transaction's network was
    /// removed meanwhile. The priority fee and gas price may fail:
    /// the fill falls back to 1 gwei and the base fee.
    pub fn fees_read(
        &mut self,
        id: u64,
        answers: &[Result<Value, Value>],
    ) -> Result<Option<Resolution>> {
        let needs_gas = self.session.approval(id)?.request["transaction"]
            .get("gas")
            .is_none();
        let at = |i: usize| {
            answers.get(i).cloned().unwrap_or_else(|| {
                Err(Error::Invalid("the node's answer is missing".into()).to_rpc())
            })
        };
        // The transaction's network was removed since: no node to ask.
        let gone = self.fee_plan(id).err().map(|e| e.to_rpc());
        let fill = gone.map_or_else(
            || {
                // Built here, not deserialized: the module has no
                // Fill-from-JSON-value code to carry.
                let bad = || {
                    Error::Invalid(
                        "the network's RPC answered a nonce, gas or fee that is not a number"
                            .into(),
                    )
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
            },
            Err,
        );
        let error = match fill.map(|f| self.fill_transaction(id, &f)) {
            Ok(Ok(())) => return Ok(None),
            Ok(Err(e)) => e.to_rpc(),
            Err(e) => e,
        };
        let a = self.session.take(id)?;
        Ok(Some(Resolution::Error {
            reply_to: a.reply_to,
            error,
        }))
    }
}
