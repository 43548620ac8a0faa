//! The portfolio: the balances of every account on every network the
//! wallet has, read with one JSON-RPC batch per network (`eth_getBalance`
//! per account, ERC-20 `balanceOf` per account and watched token), kept as
//! records with the time they were read ("as of"), so the last known values
//! show at once while a refresh is under way.
//!
//! A record is `{ address, chainId, native: { symbol, balance }, tokens:
//! [{ address, symbol, decimals, balance? }], updatedAt }` (balances `0x`
//! hex; a token whose call failed has no balance). Only a read whose native
//! balance answered replaces a record: a failed one leaves the last known
//! values, with their older time.
//!
//! Every function takes the wallet's state as the worker has it (its JSON,
//! read as [`Holdings`]): the portfolio runs in the worker's third module,
//! not in the core that owns the state.

use alloy_primitives::{hex, Address, U256};
use serde_json::{json, Value};

use crate::rpc::Batch;
use crate::{Asset, Holdings, Network};

/// ERC-20 `balanceOf(address)`: `keccak256("balanceOf(address)")[..4]`.
const BALANCE_OF: &str = "0x70a08231";

/// What each call of network `n`'s batch reads, in order: every account's
/// native balance, then every account's balance of each watched token.
fn calls<'a>(state: &'a Holdings, n: &Network) -> Vec<(Address, Option<&'a Asset>)> {
    let accounts = || state.accounts.iter().map(|a| (a.address, None));
    let tokens = state.assets.iter().filter(|t| t.chain_id == n.chain_id);
    accounts()
        .chain(tokens.flat_map(|t| accounts().map(move |(a, _)| (a, Some(t)))))
        .collect()
}

fn batch(n: &Network, calls: &[(Address, Option<&Asset>)]) -> Batch {
    let calls = calls.iter().map(|(a, t)| match t {
        None => ("eth_getBalance", json!([a, "latest"])),
        Some(t) => {
            let data = format!("{BALANCE_OF}{:0>64}", hex::encode(a));
            (
                "eth_call",
                json!([{ "to": t.address, "data": data }, "latest"]),
            )
        }
    });
    Batch {
        url: n.rpc_url.clone(),
        calls: calls.collect(),
    }
}

/// The reads for every network: `{ chainId, url, requests }` per network
/// ([`Batch::to_json`]). Nothing without accounts.
pub fn plan(state: &Holdings) -> Vec<Value> {
    if state.accounts.is_empty() {
        return Vec::new();
    }
    (state.networks.iter())
        .map(|n| {
            let mut out = batch(n, &calls(state, n)).to_json();
            out["chainId"] = n.chain_id.into();
            out
        })
        .collect()
}

/// A `0x` quantity, or one ABI word (an `eth_call` result); `0x` (an
/// address without code answers that) reads as zero, as before.
fn amount(v: &Value) -> Option<U256> {
    let h = v.as_str()?.strip_prefix("0x")?;
    if h.is_empty() {
        return Some(U256::ZERO);
    }
    U256::from_str_radix(h, 16).ok()
}

/// A record's (chain, address), the address in lower case.
fn key(r: &Value) -> (Option<u64>, String) {
    let a = r["address"].as_str().unwrap_or_default();
    (r["chainId"].as_u64(), a.to_ascii_lowercase())
}

fn key_of(chain_id: u64, a: Address) -> (Option<u64>, String) {
    (Some(chain_id), format!("{a:#x}"))
}

/// What a refresh leaves: the `stored` records with every account whose
/// native balance answered replaced by what `plans` (from [`plan`], as
/// sent) read, `answers[i]` being the checked answers to `plans[i]`
/// ([`crate::rpc::batch_answers`]), as of `now` (ms). A plan that is not
/// what the wallet would ask now (an account or token came or went
/// meanwhile) is not used. Records of accounts or networks the wallet no
/// longer has are dropped. `{ stored, error }`: `error` is why the selected
/// account's balance on the selected network could not be read, if so.
pub fn read(
    state: &Holdings,
    plans: &[Value],
    answers: &[Vec<Result<Value, Value>>],
    stored: &[Value],
    now: u64,
) -> Value {
    let mut fresh: Vec<Value> = Vec::new();
    let mut error = Value::Null;
    for (p, answers) in plans.iter().zip(answers) {
        let Some(net) = p["chainId"].as_u64().and_then(|c| state.network_of(c)) else {
            continue;
        };
        let calls = calls(state, net);
        if p["requests"] != json!(batch(net, &calls).requests()) {
            continue;
        }
        let results = calls.iter().zip(answers);
        for (&(account, _), native) in results.clone().filter(|((_, t), _)| t.is_none()) {
            let Some(balance) = native.as_ref().ok().and_then(amount) else {
                if Some(account) == state.selected && net.chain_id == state.chain_id {
                    error = native.clone().err().map_or_else(
                        || "the network's RPC answered a balance that is not a number".into(),
                        |e| e["message"].clone(),
                    );
                }
                continue;
            };
            let tokens: Vec<Value> = (results.clone())
                .filter_map(|((a, t), r)| Some((a, (*t)?, r)))
                .filter(|(a, _, _)| **a == account)
                .map(|(_, t, r)| {
                    let mut out =
                        json!({ "address": t.address, "symbol": t.symbol, "decimals": t.decimals });
                    if let Some(b) = r.as_ref().ok().and_then(amount) {
                        out["balance"] = json!(b);
                    }
                    out
                })
                .collect();
            fresh.push(json!({
                "address": account,
                "chainId": net.chain_id,
                "native": { "symbol": net.symbol, "balance": balance },
                "tokens": tokens,
                "updatedAt": now,
            }));
        }
    }
    let mut all = Vec::new();
    for n in &state.networks {
        for a in &state.accounts {
            let k = key_of(n.chain_id, a.address);
            let found = |list: &[Value]| list.iter().find(|r| key(r) == k).cloned();
            all.extend(found(&fresh).or_else(|| found(stored)));
        }
    }
    json!({ "stored": all, "error": error })
}

/// The balances in `stored` (this device's own reads) as the group's last
/// known balances (issue 12, sync category "Last known balances"):
/// `{id, amount, asOf}` per native balance and per token balance read,
/// `id` as tandem-sync names the record (`<chain>:<account>:<token
/// address or "native">`, lower case), `amount` in decimal.
pub fn balance_reads(stored: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for r in stored {
        let ((Some(chain), account), Some(at)) = (key(r), r["updatedAt"].as_u64()) else {
            continue;
        };
        let mut push = |token: &str, balance: &Value| {
            if let Some(b) = amount(balance) {
                out.push(json!({ "id": format!("{chain}:{account}:{token}"), "amount": b.to_string(), "asOf": at }));
            }
        };
        push("native", &r["native"]["balance"]);
        for t in r["tokens"].as_array().into_iter().flatten() {
            if let Some(a) = t["address"].as_str() {
                push(&a.to_ascii_lowercase(), &t["balance"]);
            }
        }
    }
    out
}

/// The wallet's records: `stored` (this device's reads) with the group's
/// newer last known balances (`synced`: `{id, amount, asOf}` as
/// tandem-sync keeps them, read on any device). A native or token balance
/// another device read after this one replaces it (the record then says
/// the native one's time); an account and network never read here gets a
/// record from them alone. Nothing of `synced` is stored: a refresh here
/// starts from this device's own reads.
fn with_synced(state: &Holdings, stored: &[Value], synced: &[Value]) -> Vec<Value> {
    let find = |id: &str, after: u64| {
        let s = synced.iter().find(|s| s["id"] == id)?;
        let at = s["asOf"].as_u64().filter(|t| *t > after)?;
        Some((U256::from_str_radix(s["amount"].as_str()?, 10).ok()?, at))
    };
    let mut out = Vec::new();
    for n in &state.networks {
        for a in &state.accounts {
            let k = key_of(n.chain_id, a.address);
            let id = |token: &str| format!("{}:{}:{token}", n.chain_id, k.1);
            let mine = stored.iter().find(|r| key(r) == k).cloned();
            let at = mine
                .as_ref()
                .map_or(0, |r| r["updatedAt"].as_u64().unwrap_or(0));
            let mut r = match (mine, find(&id("native"), at)) {
                (Some(mut r), Some((b, t))) => {
                    r["native"]["balance"] = json!(b);
                    r["updatedAt"] = t.into();
                    r
                }
                (Some(r), None) => r,
                (None, Some((b, t))) => {
                    let tokens: Vec<Value> = (state.assets.iter())
                        .filter(|t| t.chain_id == n.chain_id)
                        .map(|t| json!({ "address": t.address, "symbol": t.symbol, "decimals": t.decimals }))
                        .collect();
                    json!({
                        "address": a.address,
                        "chainId": n.chain_id,
                        "native": { "symbol": n.symbol, "balance": b },
                        "tokens": tokens,
                        "updatedAt": t,
                    })
                }
                (None, None) => continue,
            };
            for t in r["tokens"].as_array_mut().into_iter().flatten() {
                let token = t["address"].as_str().map(str::to_ascii_lowercase);
                if let Some((b, _)) = token.and_then(|x| find(&id(&x), at)) {
                    t["balance"] = json!(b);
                }
            }
            out.push(r);
        }
    }
    out
}

/// The popup's portfolio: the selected account's record on the selected
/// network (its fields at the top level, none if it was never read) and
/// `all`, every record of the wallet's accounts and networks, from this
/// device's reads (`stored`) and the group's newer ones (`synced`, see
/// [`with_synced`]); `null` without a selected account.
pub fn view(state: &Holdings, stored: &[Value], synced: &[Value]) -> Value {
    let Some(selected) = state.selected else {
        return Value::Null;
    };
    let all = with_synced(state, stored, synced);
    let k = key_of(state.chain_id, selected);
    let mut out = (all.iter().find(|r| key(r) == k).cloned()).unwrap_or_else(|| json!({}));
    out["all"] = all.into();
    out
}
