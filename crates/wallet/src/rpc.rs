//! What the wallet accepts from a network's JSON-RPC node. The node is
//! someone else's computer (a dapp may even name it): its answers are checked
//! before Tandem stores, shows or signs anything based on them.

use serde_json::Value;

/// Checks a node's answer to `eth_chainId` (`Value::Null`: no answer) against
/// the chain it is to serve. The error names both ids and never the URL (it
/// may carry an API key, and the message reaches the page).
pub fn check_chain_id(expected: u64, answer: &Value) -> Result<(), String> {
    let got = answer
        .as_str()
        .and_then(|s| s.strip_prefix("0x"))
        .and_then(|h| u64::from_str_radix(h, 16).ok());
    match got {
        Some(id) if id == expected => Ok(()),
        Some(id) => Err(format!(
            "the network's RPC serves chain {id} ({id:#x}), not chain {expected} \
             ({expected:#x}); nothing was saved"
        )),
        None => Err(format!(
            "the network's RPC did not answer eth_chainId for chain {expected} \
             ({expected:#x}); nothing was saved"
        )),
    }
}

const GWEI: u128 = 1_000_000_000;

/// Whole gwei of `wei`, as a `u64` (saturating): `u64` division and
/// `Display` are in the core module already, `u128`'s would add their own.
fn gwei(wei: u128) -> u64 {
    u64::try_from(wei).map_or(u64::MAX, |w| w / 1_000_000_000)
}

/// A `0x`-hex quantity (a fee, a nonce), or `None`.
pub(crate) fn quantity(v: &Value) -> Option<u128> {
    let h = v.as_str()?.strip_prefix("0x")?;
    u128::from_str_radix(h, 16).ok()
}

/// A fee per gas the node suggests above this (50,000 gwei) is refused: no
/// chain Tandem knows has come near it, and signing it could cost a fortune.
pub const FEE_CAP_WEI: u128 = 50_000 * GWEI;

/// A fee per gas above this (1,000 gwei) is warned about on the approval,
/// wherever it came from (node or site).
pub const HIGH_FEE_WEI: u128 = 1_000 * GWEI;

/// Checks a fee per gas the node suggested (`what`: `base fee`, ...).
pub fn check_fee(what: &str, wei: u128) -> crate::Result<()> {
    if wei > FEE_CAP_WEI {
        return Err(crate::Error::Invalid(format!(
            "the network's RPC reported a {what} of {} gwei per gas, above Tandem's limit of {} \
             gwei; nothing was signed",
            gwei(wei),
            gwei(FEE_CAP_WEI)
        )));
    }
    Ok(())
}

/// The approval's warning for a fee per gas above [`HIGH_FEE_WEI`].
pub fn high_fee_warning(per_gas: u128) -> Option<String> {
    (per_gas > HIGH_FEE_WEI).then(|| {
        format!(
            "unusually high network fee: up to {} gwei per gas; check the fee before confirming",
            gwei(per_gas)
        )
    })
}

/// `text` without the RPC `url` or the parts of it that may carry an API
/// key (its path segments, query values and userinfo of 8 characters or
/// more): a node's error may quote them, and errors reach pages.
pub fn redact(text: &str, url: &str) -> String {
    const CUT: &str = "<rpc url>";
    let bare = url.split_once("://").map_or(url, |(_, r)| r);
    let bare = bare.trim_end_matches('/');
    let mut t = text.replace(url, CUT);
    if !bare.is_empty() {
        t = t.replace(bare, CUT);
    }
    for p in bare
        .split(|c| "/?&=@#:".contains(c))
        .filter(|p| p.len() >= 8)
    {
        t = t.replace(p, CUT);
    }
    t
}

/// Why an answer of a batch is not used.
fn failure(m: String) -> Value {
    serde_json::json!({ "code": -32603, "message": m })
}

/// A JSON-RPC response `body` from the node at `url` to the request with id
/// `id`: `Ok(result)`, or `Err({ code, message, data? })`, the node's error
/// (with `url` and its key-like parts [`redact`]ed) or why its answer is not
/// used (not JSON, or the answer to another request).
pub fn answer(id: u64, body: &str, url: &str) -> Result<Value, Value> {
    let fail = |m: String| Err(serde_json::json!({ "code": -32603, "message": m }));
    let Ok(Value::Object(o)) = serde_json::from_str::<Value>(body) else {
        return fail("the network's RPC answered something that is not a JSON-RPC response".into());
    };
    let got = o.get("id").and_then(Value::as_u64);
    if got != Some(id) {
        let got = got.map_or_else(|| "not a number".into(), |g| g.to_string());
        return fail(format!(
            "the network's RPC answered another request (id {got}, not {id}); its answer was not used"
        ));
    }
    if let Some(e) = o.get("error") {
        // Passed on as the node sent it, if it is a JSON-RPC error object.
        return match (
            e.get("code").map(Value::is_i64),
            e.get("message").map(Value::is_string),
        ) {
            // Its JSON text redacted as a whole (message and data alike):
            // what replaces a part is plain text, so it stays JSON.
            (Some(true), Some(true)) => serde_json::from_str(&redact(&e.to_string(), url))
                .map_or_else(|_| fail("the network's RPC answered an error".into()), Err),
            _ => fail("the network's RPC answered a malformed error".into()),
        };
    }
    match o.get("result") {
        Some(r) => Ok(r.clone()),
        None => fail("the network's RPC answered neither a result nor an error".into()),
    }
}

/// Calls to one node (`method` a constant, no quoting needed), sent as one JSON-RPC batch (a JSON array, ids 1, 2,
/// ... in order) or, to a node that refuses batches, one request per call.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The node's JSON-RPC endpoint.
    pub url: String,
    /// `(method, params)`, in order.
    pub calls: Vec<(&'static str, Value)>,
}

impl Batch {
    /// Each call's request body, in order (ids 1, 2, ...): the worker
    /// sends them joined as one JSON array, or one by one.
    pub fn requests(&self) -> Vec<String> {
        // Written out, not built as `Value`s: the module is smaller.
        (self.calls.iter().zip(1u64..))
            .map(|((method, params), id)| {
                format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#)
            })
            .collect()
    }

    /// What the worker sends: `{ url, requests }` ([`Batch::requests`]).
    pub fn to_json(&self) -> Value {
        serde_json::json!({ "url": self.url, "requests": self.requests() })
    }
}

/// The error code of a call whose node could not be reached (EIP-1193
/// 4901, disconnected): tried again later where that is safe.
pub const UNREACHABLE: i64 = 4901;

/// The checked answers to a [`Batch`] of `n` calls to the node at `url`,
/// one per call in order, each as [`answer`] checks a single one. `answers`
/// is what the worker got: the batch's response body (a string), or `null`
/// when the node could not be reached, or (after a refused batch) an array
/// with each single call's response body (or `null`). An answer is used
/// only for the request its id names: one missing, or given twice, is an
/// error for that call alone. `None`: the node answered the batch with
/// something that is not a JSON array (it refuses batches): send the
/// single calls.
pub fn batch_answers(n: usize, answers: &Value, url: &str) -> Option<Vec<Result<Value, Value>>> {
    // EIP-1193's "disconnected", as the worker's single calls say it.
    let unreachable = || {
        Err(
            serde_json::json!({ "code": UNREACHABLE, "message": "could not reach the network's RPC" }),
        )
    };
    let ids = 1..=n as u64;
    Some(match answers {
        Value::String(body) => {
            let Ok(Value::Array(all)) = serde_json::from_str::<Value>(body) else {
                return None;
            };
            ids.map(|id| {
                let mut of = all
                    .iter()
                    .filter(|r| r.get("id").and_then(Value::as_u64) == Some(id));
                match (of.next(), of.next()) {
                    // Checked as a single answer is (written out again: the
                    // core's `answer` stays as it is, and the core lean).
                    (Some(r), None) => answer(id, &r.to_string(), url),
                    (None, _) => Err(failure(format!(
                        "the network's RPC did not answer request {id} of the batch"
                    ))),
                    (Some(_), Some(_)) => Err(failure(format!(
                        "the network's RPC answered request {id} of the batch twice; neither answer was used"
                    ))),
                }
            })
            .collect()
        }
        Value::Array(bodies) => ids
            .zip(
                bodies
                    .iter()
                    .map(Value::as_str)
                    .chain(core::iter::repeat(None)),
            )
            .map(|(id, body)| body.map_or_else(unreachable, |b| answer(id, b, url)))
            .collect(),
        _ => ids.map(|_| unreachable()).collect(),
    })
}

/// What is wrong when the node's answer to `eth_sendRawTransaction` is not
/// `signed`, the hash of the transaction Tandem signed (the site is given
/// `signed` either way).
pub fn sent_hash_warning(signed: &str, answer: &Value) -> Option<String> {
    match answer.as_str() {
        Some(h) if h.eq_ignore_ascii_case(signed) => None,
        h => Some(format!(
            "the network's RPC answered {} instead of {signed}, the hash of the \
             transaction Tandem signed: it may not have sent it",
            h.unwrap_or("no hash")
        )),
    }
}

impl crate::State {
    /// Records a transaction just sent: `answer` is the node's reply to
    /// `eth_sendRawTransaction`, checked against `a.hash` (the signed one);
    /// returns the warning it gets when they differ.
    pub fn record_sent(&mut self, mut a: crate::Activity, answer: &Value) -> Option<String> {
        a.warning = sent_hash_warning(&a.hash, answer);
        let w = a.warning.clone();
        self.record(a);
        w
    }
}
