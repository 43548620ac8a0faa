//! EIP-5792 version 2.0.0: `wallet_getCapabilities`, `wallet_sendCalls`,
//! `wallet_getCallsStatus`, with sequential execution.
//!
//! Tandem is a key wallet: it cannot make calls atomic, and says so
//! (`atomic: { status: "unsupported" }` on each of its networks). A bundle
//! is one approval that lists every call; once approved, the worker sends
//! the calls in order, each as an ordinary transaction (nonce, gas and
//! fees from the node, as for `eth_sendTransaction`), the next only after
//! the one before is mined with success. A call that fails (the node
//! refuses it, or it reverts) stops the bundle: the rest are never sent.
//!
//! Only the approval lives in the core module's queue (kind `calls`, its
//! display computed here); everything else runs in the worker's extra
//! module (crates/wasm-extra), so the core stays within its size budget.
//! [`request`] answers the three methods from the core's state; a checked
//! bundle is queued in a copy of the core's session half, which the worker
//! loads the core from. Before the core resolves the user's Approve,
//! [`check_approval`] refuses a bundle the phone's policy now covers. An
//! approved bundle lives in [`Bundles`], which the worker stores as JSON in
//! `chrome.storage.session` (`tandem.bundles`) in the same write as the
//! session half the approval left. Each call moves through steps, each
//! stored before the next I/O:
//!
//! ```text
//! (tx) --filled--> filled --signed--> raw, hash --sent--> sent --receipt--> receipt
//!   \------------------ error (not sent: offchain failure) --/
//! ```
//!
//! A worker killed anywhere carries on from the stored step: a signed call
//! is only ever sent again as the same bytes, and a call is filled (given a
//! nonce) only while no signed bytes exist for it, so none is sent twice.
//! Only the origin that sent a bundle can read its status; to any other it
//! does not exist (5730).

use alloy_primitives::{hex, U256};
use serde_json::{json, Map, Value};

use serde::{Deserialize, Serialize};

use crate::approval::{fill_tx, transaction_display};
use crate::provider::normalize_tx;
use crate::{network, Approval, ApprovalKind, Error, Fill, Result, State, Wallet};

/// The EIP-5792 version Tandem speaks.
pub const VERSION: &str = "2.0.0";
/// Most calls in one bundle (more: 5740, bundle too large).
pub const MAX_CALLS: usize = 10;
/// Finished bundles kept at most (oldest dropped first).
pub const MAX_BUNDLES: usize = 50;
/// How long a finished bundle's status is kept (EIP-5792: 24 hours).
pub const KEEP_MS: u64 = 24 * 3_600_000;
/// Longest bundle id: 4096 bytes as `0x` hex (EIP-5792).
pub const MAX_ID_CHARS: usize = 2 + 2 * 4096;

const ALLOWED: [&str; 7] = [
    "version",
    "id",
    "from",
    "chainId",
    "atomicRequired",
    "calls",
    "capabilities",
];
const CALL_FIELDS: [&str; 4] = ["to", "data", "value", "capabilities"];

/// Why a bundle is refused when confirm on phone covers one of its calls.
fn phone_refusal() -> Error {
    Error::Refused(
        "your phone confirms one of these calls (a large amount, an unlimited approval, or an \
         account whose key is on the phone), and it confirms transactions one at a time: the \
         site should send them with eth_sendTransaction"
            .into(),
    )
}

/// Before the user's Approve of bundle approval `id` reaches the core: the
/// phone's policy may have tightened while it waited; then approving is
/// refused (4200) and the approval stays. The worker calls this with the
/// core's state as it is, and resolves only if it passes.
pub fn check_approval(w: &Wallet, id: u64) -> Result<()> {
    let a = w.session.approval(id)?;
    if a.kind != ApprovalKind::Calls {
        return Ok(());
    }
    w.check_phone(a)
}

/// An error with one of EIP-5792's codes (5700 unsupported capability,
/// 5710 unknown chain, 5720 duplicate id, 5730 unknown bundle, 5740 bundle
/// too large, 5760 atomicity not supported), or any other of the wallet's:
/// the JSON-RPC error object. Kept out of [`Error`]: only the extra module
/// needs these codes, and a wider error type grows all of the core module.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal(pub Value);

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Self(e.to_rpc())
    }
}

fn refusal(code: i64, message: impl Into<String>) -> Refusal {
    Refusal(json!({ "code": code, "message": message.into() }))
}

type Checked<T> = core::result::Result<T, Refusal>;

const UNKNOWN_BUNDLE: &str =
    "no call bundle with this id was sent from this site in this browser session";

/// A bundle's `calls` field.
fn calls_of(b: &Value) -> &[Value] {
    b["calls"].as_array().map_or(&[], Vec::as_slice)
}

/// The call under way: the first without a receipt, while every one before
/// it succeeded and none failed. `None`: the bundle is finished.
pub fn next_index(calls: &[Value]) -> Option<usize> {
    for (i, c) in calls.iter().enumerate() {
        if c.get("error").is_some() {
            return None;
        }
        match c.get("receipt") {
            None => return Some(i),
            Some(r) if r["status"] != "0x1" => return None,
            Some(_) => {}
        }
    }
    None
}

/// The EIP-5792 status code of a bundle's calls: 100 under way, 200 every
/// call mined with success, 400 the first call was not sent (offchain
/// failure), 500 the first call reverted (nothing but its gas changed),
/// 600 a later call failed or reverted after earlier ones took effect.
pub fn status_code(calls: &[Value]) -> u16 {
    let ok = calls
        .iter()
        .filter(|c| c["receipt"]["status"] == "0x1")
        .count();
    let reverted = calls
        .iter()
        .any(|c| c.get("receipt").is_some_and(|r| r["status"] != "0x1"));
    let failed = calls.iter().any(|c| c.get("error").is_some());
    match (reverted || failed, ok) {
        (false, n) if n == calls.len() => 200,
        (false, _) => 100,
        (true, 0) if reverted => 500,
        (true, 0) => 400,
        (true, _) => 600,
    }
}

/// The fields of a receipt EIP-5792 returns (a subset of
/// `eth_getTransactionReceipt`'s).
fn receipt_subset(r: &Value) -> Result<Value> {
    let status = r["status"]
        .as_str()
        .filter(|s| *s == "0x1" || *s == "0x0")
        .ok_or_else(|| Error::Invalid("a receipt's status is 0x1 or 0x0".into()))?;
    let logs: Vec<Value> = r["logs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| json!({ "address": l["address"], "data": l["data"], "topics": l["topics"] }))
        .collect();
    Ok(json!({
        "logs": logs,
        "status": status,
        "blockHash": r["blockHash"],
        "blockNumber": r["blockNumber"],
        "gasUsed": r["gasUsed"],
        "transactionHash": r["transactionHash"],
    }))
}

/// Refuses capabilities the app did not mark optional (Tandem supports none
/// in a request). `at` names the call, for the message.
fn check_capabilities(v: Option<&Value>, at: &str) -> Checked<()> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let caps = v
        .as_object()
        .ok_or_else(|| Error::params(format!("{at}capabilities must be an object")))?;
    match caps
        .iter()
        .find(|(_, c)| c.get("optional") != Some(&Value::Bool(true)))
    {
        Some((name, _)) => Err(refusal(5700,
            format!(
                "{at}Tandem does not support the capability `{}`; mark it optional to go without it",
                name.chars().take(64).collect::<String>()
            ),
        )),
        None => Ok(()),
    }
}

fn unknown_field<'a>(o: &'a Map<String, Value>, allowed: &[&str]) -> Option<&'a str> {
    o.keys().map(String::as_str).find(|k| !allowed.contains(k))
}

impl Wallet {
    /// `wallet_getCapabilities([address, chainIds?])`: for an address this
    /// site is connected to, `atomic: unsupported` on each of Tandem's
    /// networks (of those asked; an unknown one is left out, as EIP-5792
    /// says). Nothing else: Tandem supports no other capability.
    fn capabilities(&self, origin: &str, params: &[Value]) -> Checked<Value> {
        let addr = params
            .first()
            .ok_or_else(|| Error::params("wallet_getCapabilities takes [address, chainIds?]"))?;
        self.authorized(origin, addr)?;
        let wanted = match params.get(1) {
            None | Some(Value::Null) => None,
            Some(Value::Array(l)) => Some(
                l.iter()
                    .map(network::parse_chain_id)
                    .collect::<Result<Vec<u64>>>()?,
            ),
            Some(_) => {
                return Err(Error::params("chainIds must be an array of hex chain ids").into())
            }
        };
        let mut out = Map::new();
        for n in &self.state.networks {
            if wanted.as_ref().is_none_or(|w| w.contains(&n.chain_id)) {
                out.insert(
                    n.chain_id_hex(),
                    json!({ "atomic": { "status": "unsupported" } }),
                );
            }
        }
        Ok(Value::Object(out))
    }

    /// Refuses bundle `a` (4200) if the phone's policy covers one of its
    /// calls, as it would cover that call sent alone (its amount, an
    /// unlimited approval, an account whose key is on the phone): the phone
    /// confirms transactions one at a time. Checked when the site asks and
    /// again when the user approves ([`check_approval`]); kept here, not in
    /// [`Wallet::needs_phone`], so that the core module does not carry it.
    fn check_phone(&self, a: &Approval) -> Result<()> {
        let calls = a.request["calls"].as_array().map_or(&[][..], Vec::as_slice);
        let covered = calls.iter().any(|tx| {
            let mut one = a.clone();
            one.kind = ApprovalKind::Transaction;
            one.request = json!({ "address": a.request["address"], "transaction": tx });
            self.needs_phone(&one).is_some()
        });
        if covered {
            return Err(phone_refusal());
        }
        Ok(())
    }

    /// `wallet_sendCalls`, checked: the approval's request and display.
    fn send_calls(
        &self,
        bundles: &Bundles,
        origin: &str,
        params: &[Value],
        entropy: Option<[u8; 32]>,
    ) -> Checked<(Value, Value)> {
        let p = params.first().and_then(Value::as_object).ok_or_else(|| {
            Error::params(
                "wallet_sendCalls takes [{ version, chainId, from, atomicRequired, calls }]",
            )
        })?;
        if let Some(k) = unknown_field(p, &ALLOWED) {
            return Err(Error::params(format!("wallet_sendCalls has no field `{k}`")).into());
        }
        if p.get("version").and_then(Value::as_str) != Some(VERSION) {
            return Err(Error::params("version must be \"2.0.0\" (EIP-5792)").into());
        }
        let chain_id = network::parse_chain_id(p.get("chainId").unwrap_or(&Value::Null))?;
        let net = self
            .state
            .networks
            .iter()
            .find(|n| n.chain_id == chain_id)
            .ok_or_else(|| {
                refusal(
                    5710,
                    format!("Tandem has no network with chain id {chain_id:#x}; add it first"),
                )
            })?;
        let from = match p.get("from").filter(|f| !f.is_null()) {
            Some(f) => self.authorized(origin, f)?,
            None => *self.state.permitted(origin).first().ok_or_else(|| {
                Error::Unauthorized(
                    "connect an account to this site first (eth_requestAccounts)".into(),
                )
            })?,
        };
        match p.get("atomicRequired") {
            Some(Value::Bool(false)) => {}
            Some(Value::Bool(true)) => {
                return Err(refusal(
                    5760,
                    "atomic execution not supported: Tandem sends calls one after another \
                     (its atomic capability is \"unsupported\")",
                ))
            }
            _ => return Err(Error::params("atomicRequired must be true or false").into()),
        }
        check_capabilities(p.get("capabilities"), "")?;
        let calls = p
            .get("calls")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::params("calls must be an array of { to, data, value }"))?;
        if calls.is_empty() {
            return Err(Error::params("calls must hold at least one call").into());
        }
        if calls.len() > MAX_CALLS {
            return Err(refusal(
                5740,
                format!(
                    "a bundle holds at most {MAX_CALLS} calls; this one has {}",
                    calls.len()
                ),
            ));
        }
        let mut txs = Vec::with_capacity(calls.len());
        for (i, c) in calls.iter().enumerate() {
            let at = format!("call {}: ", i + 1);
            let c = c.as_object().ok_or_else(|| {
                Error::params(format!("{at}a call is an object {{ to, data, value }}"))
            })?;
            if let Some(k) = unknown_field(c, &CALL_FIELDS) {
                return Err(Error::params(format!("{at}a call has no field `{k}`")).into());
            }
            check_capabilities(c.get("capabilities"), &at)?;
            let mut m = Map::new();
            for k in ["to", "data", "value"] {
                if let Some(v) = c.get(k).filter(|v| !v.is_null()) {
                    m.insert(k.into(), v.clone());
                }
            }
            if m.get("value")
                .is_some_and(|v| !v.as_str().is_some_and(|s| s.starts_with("0x")))
            {
                return Err(
                    Error::params(format!("{at}value must be a 0x-prefixed hex quantity")).into(),
                );
            }
            if m.get("to").is_none() && m.get("data").is_none() {
                return Err(Error::params(format!("{at}a call needs `to` or `data`")).into());
            }
            let tx = normalize_tx(&m, from, chain_id).map_err(|e| match e {
                Error::InvalidParams(why) => Error::params(format!("{at}{why}")),
                other => other,
            })?;
            txs.push(Value::Object(tx));
        }
        let id = match p.get("id").filter(|v| !v.is_null()) {
            Some(v) => v
                .as_str()
                .filter(|s| {
                    s.len() > 2
                        && s.len() <= MAX_ID_CHARS
                        && s.starts_with("0x")
                        && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
                })
                .ok_or_else(|| Error::params("id must be 0x-prefixed hex of at most 4096 bytes"))?
                .to_owned(),
            None => format!(
                "0x{}",
                hex::encode(entropy.ok_or_else(|| {
                    Error::Invalid("no randomness was given to name this bundle".into())
                })?)
            ),
        };
        let taken = bundles
            .0
            .iter()
            .any(|b| b["origin"] == origin && b["id"] == id.as_str())
            || self.session.approvals.iter().any(|a| {
                a.kind == ApprovalKind::Calls
                    && a.origin == origin
                    && a.request["id"] == id.as_str()
            });
        if taken {
            return Err(refusal(
                5720,
                "this site already sent a bundle with this id",
            ));
        }
        let total = txs.iter().fold(U256::ZERO, |sum, t| {
            let v = t["value"].as_str().and_then(|v| v.strip_prefix("0x"));
            sum.saturating_add(
                v.and_then(|v| U256::from_str_radix(v, 16).ok())
                    .unwrap_or_default(),
            )
        });
        let display = json!({
            "chain": net,
            "from": from,
            "calls": txs.iter().map(|t| transaction_display(&self.state, t)).collect::<Vec<_>>(),
            "total": total,
        });
        let request = json!({
            "method": "wallet_sendCalls",
            "id": id,
            "address": from,
            "chainId": chain_id,
            "calls": txs,
            "reply": { "id": id },
        });
        // The phone confirms transactions one at a time: a bundle holding
        // one it must confirm is refused (a site's library then falls back
        // to eth_sendTransaction, 4200). Checked again at approval.
        let shown = Approval {
            id: 0,
            origin: origin.to_owned(),
            kind: ApprovalKind::Calls,
            request,
            display,
            created_at: 0,
            reply_to: Value::Null,
            needs_fill: false,
            phone: None,
        };
        self.check_phone(&shown)?;
        Ok((shown.request, shown.display))
    }
}

/// The bundles approved in this browser session, as the worker stores them
/// (`tandem.bundles` in `chrome.storage.session`; JSON made and read only
/// here): each `{ id, origin, chainId, from, createdAt, calls }`, each call
/// `{ tx, filled?, raw?, hash?, sent?, receipt?, error? }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Bundles(pub Vec<Value>);

/// The extra module's answer to an EIP-5792 request: answer the page now
/// (`result` or `error`), or `queue` the checked bundle for the user
/// ([`Wallet::queue_calls`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Answer {
    /// The JSON-RPC result.
    Result {
        /// `result`.
        result: Value,
    },
    /// The approval to queue (kind `calls`).
    Queue {
        /// Its request (what is sent once approved).
        request: Value,
        /// What the approval window shows.
        display: Value,
    },
    /// The JSON-RPC error `{ code, message }`.
    Error {
        /// `error`.
        error: Value,
    },
}

/// Answers `wallet_getCapabilities`, `wallet_sendCalls` or
/// `wallet_getCallsStatus` (`request`: `{ method, params }` as the page sent
/// it) from `origin`, with the wallet as the core holds it and this
/// session's bundles. `entropy` (32 bytes from the CSPRNG) names a bundle
/// the site did not name (without it, such a bundle is refused).
pub fn request(
    w: &Wallet,
    bundles: &Bundles,
    origin: &str,
    request: &Value,
    entropy: Option<[u8; 32]>,
) -> Answer {
    let params = match request.get("params") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(p)) => p.as_slice(),
        Some(_) => {
            return Answer::Error {
                error: Error::params("params must be an array").to_rpc(),
            }
        }
    };
    let out = match request["method"].as_str().unwrap_or_default() {
        "wallet_getCapabilities" => w.capabilities(origin, params),
        "wallet_getCallsStatus" => bundles.status(origin, params),
        "wallet_sendCalls" => match w.send_calls(bundles, origin, params, entropy) {
            Ok((request, display)) => return Answer::Queue { request, display },
            Err(e) => Err(e),
        },
        other => Err(Error::Unsupported(other.to_owned()).into()),
    };
    match out {
        Ok(result) => Answer::Result { result },
        Err(e) => Answer::Error { error: e.0 },
    }
}

impl Bundles {
    /// Reads the stored JSON (empty: none).
    pub fn from_json(json: &str) -> Result<Self> {
        if json.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str(json).map_err(|e| Error::Corrupt(format!("bundles: {e}")))
    }

    /// The JSON to store.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("serializing plain data cannot fail")
    }

    /// What the worker does next for the bundles under way: JSON
    /// `{ work: [...], changed }`, one item per bundle, each
    /// `{ type, id, origin, index, from, url, ... }` with `type`:
    /// - `fill`: send `batch` (`{ url, requests }`, nonce, gas and fees of
    ///   `transaction`, [`crate::fees::fill_batch`]) and pass its checked
    ///   answers to [`Bundles::step`] (`{ answers }`), which answers the
    ///   complete transaction to sign (then `{ signed: { raw, hash } }`);
    /// - `send`: send `raw` (again: the node may have it), then `{ sent: true }`;
    /// - `receipt`: look for the receipt of `hash`, then `{ receipt }`.
    ///
    /// A call that cannot be signed any more (the wallet locked, its network
    /// was removed) fails here, unsent, and stops its bundle (`changed`:
    /// store the session).
    pub fn work(&mut self, state: &State, unlocked: bool) -> Value {
        let mut changed = false;
        let mut work = Vec::new();
        let networks = &state.networks;
        for b in &mut self.0 {
            let Some(i) = next_index(calls_of(b)) else {
                continue;
            };
            let chain = b["chainId"].as_u64().unwrap_or_default();
            let url = networks
                .iter()
                .find(|n| n.chain_id == chain)
                .map(|n| n.rpc_url.clone());
            let head = json!({
                "id": b["id"], "origin": b["origin"], "index": i, "from": b["from"], "url": url,
            });
            let c = &mut b["calls"][i];
            let (kind, error) = if c.get("sent").is_some() {
                // Sent: only its receipt decides (kept pending while the
                // network is gone).
                if url.is_none() {
                    continue;
                }
                ("receipt", None)
            } else if url.is_none() {
                (
                    "",
                    Some("Tandem no longer has this bundle's network; the call was not sent"),
                )
            } else if c.get("raw").is_some() {
                ("send", None)
            } else if !unlocked {
                (
                    "",
                    Some("Tandem was locked before this call was signed; it was not sent"),
                )
            } else {
                ("fill", None)
            };
            if let Some(e) = error {
                c["error"] = json!(e);
                changed = true;
                continue;
            }
            let mut w = head;
            w["type"] = json!(kind);
            match kind {
                "fill" => {
                    w["transaction"] = c["tx"].clone();
                    #[cfg(feature = "extra")]
                    if let Some(url) = &url {
                        let batch = crate::fees::fill_batch(&w["from"], &c["tx"], url);
                        w["batch"] = batch.to_json();
                    }
                }
                "send" => {
                    w["transaction"] = c["filled"].clone();
                    w["raw"] = c["raw"].clone();
                    w["hash"] = c["hash"].clone();
                }
                _ => w["hash"] = c["hash"].clone(),
            }
            work.push(w);
        }
        json!({ "work": work, "changed": changed })
    }

    /// Records step `step` of call `index` of bundle `id` (of `origin`):
    /// `{ answers }` (the node's to the work's `batch`, as `rpcBatch` gives
    /// them: the complete transaction to sign, or `null` when the node
    /// refused and the bundle stopped, or `false` when it could not be
    /// reached and nothing changed), `{ filled: Fill }` (the same from a
    /// fill: answers the complete transaction to sign),
    /// `{ signed: { raw, hash } }`, `{ sent: true }`, `{ receipt }`, or
    /// `{ error }` (the call was not sent: the bundle stops). Only the call
    /// under way moves, and only forward: a signed call is never filled
    /// again (that would give it a second transaction).
    pub fn step(&mut self, origin: &str, id: &str, index: usize, step: &Value) -> Result<Value> {
        let b = self
            .0
            .iter_mut()
            .find(|b| b["origin"] == origin && b["id"] == id)
            .ok_or_else(|| Error::Invalid(UNKNOWN_BUNDLE.into()))?;
        if next_index(calls_of(b)) != Some(index) {
            return Err(Error::Invalid(format!(
                "call {} of this bundle is not the one under way",
                index + 1
            )));
        }
        let c = &mut b["calls"][index];
        let refuse = |why: &str| Err(Error::Invalid(format!("call {}: {why}", index + 1)));
        // The node's answers to the work's `batch`: filled as `{ filled }`
        // is; a node that refused (e.g. the call reverts) stops the bundle,
        // the call unsent (`null`); one that could not be reached changes
        // nothing (`false`: asked again later).
        #[cfg(feature = "extra")]
        let fill = match step.get("answers") {
            Some(_) if c.get("raw").is_some() => {
                return refuse("it is signed: only those bytes are sent");
            }
            Some(a) => {
                let answers: Vec<_> = a
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .map(|r| match r.get("error") {
                        Some(e) => Err(e.clone()),
                        None => Ok(r.get("result").cloned().unwrap_or_default()),
                    })
                    .collect();
                match crate::fees::fill_of(&c["tx"], &answers) {
                    Ok(fill) => Some(fill),
                    Err(e) if e["code"] == crate::rpc::UNREACHABLE => {
                        return Ok(Value::Bool(false))
                    }
                    Err(e) => {
                        let why = e["message"]
                            .as_str()
                            .unwrap_or("the network's RPC refused it");
                        c["error"] = json!(why.chars().take(300).collect::<String>());
                        return Ok(Value::Null);
                    }
                }
            }
            None => None,
        };
        #[cfg(not(feature = "extra"))]
        let fill: Option<Fill> = None;
        if let Some(fill) = fill {
            let mut tx = c["tx"].as_object().cloned().unwrap_or_default();
            fill_tx(&mut tx, &fill)?;
            c["filled"] = Value::Object(tx);
            return Ok(c["filled"].clone());
        }
        if let Some(f) = step.get("filled") {
            if c.get("raw").is_some() {
                return refuse("it is signed: only those bytes are sent");
            }
            // Read from text, as `fill_transaction`'s is: one reader in the module.
            let fill: Fill = serde_json::from_str(&f.to_string())
                .map_err(|e| Error::Invalid(format!("fill: {e}")))?;
            let mut tx = c["tx"].as_object().cloned().unwrap_or_default();
            fill_tx(&mut tx, &fill)?;
            c["filled"] = Value::Object(tx);
            return Ok(c["filled"].clone());
        }
        if let Some(s) = step.get("signed") {
            if c.get("filled").is_none() || c.get("raw").is_some() || !s["raw"].is_string() {
                return refuse("only a filled, unsigned call is signed, as { raw, hash }");
            }
            c["raw"] = s["raw"].clone();
            c["hash"] = s["hash"].clone();
        } else if step.get("sent") == Some(&Value::Bool(true)) {
            if c.get("raw").is_none() {
                return refuse("it is not signed");
            }
            c["sent"] = Value::Bool(true);
        } else if let Some(r) = step.get("receipt") {
            let same = |v: &Value| v.as_str().map(str::to_ascii_lowercase);
            if c.get("sent").is_none() || same(&r["transactionHash"]) != same(&c["hash"]) {
                return refuse("a receipt is for the call's own sent transaction");
            }
            c["receipt"] = receipt_subset(r)?;
        } else if let Some(e) = step.get("error").and_then(Value::as_str) {
            if c.get("sent").is_some() {
                return refuse("it was sent: its receipt decides");
            }
            c["error"] = json!(e.chars().take(300).collect::<String>());
        } else {
            return Err(Error::Invalid(
                "a step is { answers }, { filled }, { signed }, { sent: true }, { receipt } or { error }".into(),
            ));
        }
        Ok(Value::Null)
    }

    /// `wallet_getCallsStatus([id])` for `origin`: a bundle another site
    /// sent is unknown to it (5730), as is one this session never had.
    fn status(&self, origin: &str, params: &[Value]) -> Checked<Value> {
        let id = params
            .first()
            .and_then(Value::as_str)
            .ok_or_else(|| Error::params("wallet_getCallsStatus takes [id]"))?;
        let b = self
            .0
            .iter()
            .find(|b| b["origin"] == origin && b["id"] == id)
            .ok_or_else(|| refusal(5730, UNKNOWN_BUNDLE))?;
        let calls = calls_of(b);
        Ok(json!({
            "version": VERSION,
            "id": id,
            "chainId": format!("{:#x}", b["chainId"].as_u64().unwrap_or_default()),
            "status": status_code(calls),
            "atomic": false,
            "receipts": calls.iter().filter_map(|c| c.get("receipt")).collect::<Vec<_>>(),
        }))
    }

    /// The bundle of approval `a` starts: the user approved it (the worker
    /// stores this with the approval's answer, the page's `{ id }`).
    /// Finished bundles are kept a day, at most [`MAX_BUNDLES`] of them.
    pub fn start(&mut self, a: &Approval, now: u64) -> Result<()> {
        if a.kind != ApprovalKind::Calls {
            return Err(Error::Invalid(format!(
                "approval {} is not a call bundle",
                a.id
            )));
        }
        let r = &a.request;
        let calls: Vec<Value> = calls_of(r).iter().map(|tx| json!({ "tx": tx })).collect();
        let done = |b: &Value| next_index(calls_of(b)).is_none();
        self.0.retain(|b| {
            !done(b) || now.saturating_sub(b["createdAt"].as_u64().unwrap_or(0)) < KEEP_MS
        });
        while self.0.len() >= MAX_BUNDLES {
            match self.0.iter().position(done) {
                Some(i) => self.0.remove(i),
                None => break,
            };
        }
        self.0.push(json!({
            "id": r["id"], "origin": a.origin, "chainId": r["chainId"], "from": r["address"],
            "createdAt": now, "calls": calls,
        }));
        Ok(())
    }
}
