//! The group's last known balances in the extension's worker (category
//! "Last known balances"; which reads become records is
//! `tandem_sync::balances`): the balances the worker read go in, and every
//! device's come out for the portfolio (`tandem-wasm-extra`'s `portfolio`,
//! which shows another device's when newer than this one's).

use serde::Deserialize;
use tandem_sync::{Balance, Category, Syncer};
use wasm_bindgen::prelude::*;

use crate::sync::{attached, with};
use crate::DeviceHost;

/// One balance as the extra module's `portfolioReads` gives it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Read {
    id: String,
    amount: String,
    as_of: u64,
}

#[wasm_bindgen]
impl DeviceHost {
    /// The balances this wallet just read (`[{id, amount, asOf}]`): the
    /// ones the group lacks, that changed, or whose group copy is an hour
    /// old are recorded for sync (none while the category is off).
    #[wasm_bindgen(js_name = syncBalancesRead)]
    pub fn sync_balances_read(&self, reads: &str) -> Result<(), JsError> {
        let reads: Vec<Read> = serde_json::from_str(reads)
            .map_err(|e| JsError::new(&format!("bad balance list: {e}")))?;
        if !attached(&self.host) {
            return Ok(());
        }
        let reads = reads.into_iter().map(|r| {
            let b = Balance {
                amount: r.amount,
                as_of: r.as_of,
            };
            (r.id, b)
        });
        let edits = with(&self.host, |s: &mut Syncer| {
            tandem_sync::balances::edits(s.replica(), reads)
        });
        let edits = edits.into_iter().map(|(f, v)| (f, Some(v))).collect();
        self.edit_records(edits)
    }

    /// Every device's last known balances (`[{id, amount, asOf}]`; `[]`
    /// before sync is attached or while the category is off).
    #[wasm_bindgen(js_name = syncBalances)]
    pub fn sync_balances(&self) -> String {
        if !attached(&self.host) {
            return "[]".into();
        }
        let list: Vec<serde_json::Value> = with(&self.host, |s: &mut Syncer| {
            let r = s.replica();
            if !r.enabled(Category::Balances) {
                return Vec::new();
            }
            r.records(Category::Balances)
                .filter_map(|(id, v, _)| match v {
                    tandem_sync::Value::Balance(b) => {
                        Some(serde_json::json!({ "id": id, "amount": b.amount, "asOf": b.as_of }))
                    }
                    _ => None,
                })
                .collect()
        });
        serde_json::Value::from(list).to_string()
    }
}
