//! The wallet controller (`tandem-wallet`) for the service worker. JSON in,
//! JSON out; the worker persists `stateJson()` and `sessionJson()` after each
//! call that changes them.

use serde_json::Value;
use tandem_wallet::{Edits, Fill, Network, TxStatus, Wallet};
use wasm_bindgen::prelude::wasm_bindgen;

use crate::error::{address, Error, Result};

impl From<tandem_wallet::Error> for Error {
    fn from(e: tandem_wallet::Error) -> Self {
        Self {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| Error::invalid(format!("{what}: {e}")))
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serializing plain data cannot fail")
}

/// The controller, loaded from storage when the worker starts.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WalletController {
    inner: Wallet,
}

#[wasm_bindgen]
impl WalletController {
    /// Loads the stored halves (empty strings for a fresh install).
    #[wasm_bindgen(constructor)]
    pub fn new(state: &str, session: &str) -> Result<WalletController> {
        Ok(Self {
            inner: Wallet::load(state, session)?,
        })
    }

    /// Non-secret state for `chrome.storage.local`.
    #[wasm_bindgen(js_name = stateJson)]
    pub fn state_json(&self) -> String {
        self.inner.state.to_json()
    }

    /// Approvals and lock clock for `chrome.storage.session`.
    #[wasm_bindgen(js_name = sessionJson)]
    pub fn session_json(&self) -> String {
        self.inner.session.to_json()
    }

    /// One EIP-1193 request; returns the outcome JSON (never throws: bad input
    /// becomes an `{ type: "error" }` outcome with the EIP-1193 code).
    pub fn request(
        &mut self,
        origin: &str,
        request: &str,
        unlocked: bool,
        reply_to: &str,
        now: f64,
    ) -> String {
        let outcome = match (
            serde_json::from_str::<Value>(request),
            serde_json::from_str::<Value>(reply_to),
        ) {
            (Ok(r), Ok(to)) => self.inner.request(origin, &r, unlocked, to, now as u64),
            _ => tandem_wallet::Error::InvalidRequest("the request is not JSON".into()).into(),
        };
        to_json(&outcome)
    }

    /// Stores the node's nonce/gas/fees (`{ nonce, gasEstimate, baseFee?, priorityFee?, gasPrice? }`).
    #[wasm_bindgen(js_name = fillTransaction)]
    pub fn fill_transaction(&mut self, id: f64, fill: &str) -> Result<()> {
        let f: Fill = parse(fill, "transaction fill")?;
        Ok(self.inner.fill_transaction(id as u64, &f)?)
    }

    /// Answers an approval; returns the resolution JSON (what to sign/send/reply).
    /// `phone`: when the approval needs the phone (`needsPhone` in
    /// `approval()`), the request as the approval window showed it.
    pub fn resolve(
        &mut self,
        id: f64,
        approve: bool,
        edits: &str,
        unlocked: bool,
        now: f64,
        phone: Option<String>,
    ) -> Result<String> {
        let e: Edits = if edits.trim().is_empty() {
            Edits::default()
        } else {
            parse(edits, "approval edits")?
        };
        let mut nonce = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
        Ok(to_json(&self.inner.resolve(
            id as u64,
            approve,
            &e,
            unlocked,
            now as u64,
            phone.as_deref().unwrap_or_default(),
            nonce,
        )?))
    }

    /// A message from device `from` (hex) of the group: the phone's policy
    /// or its answer. Returns `{ resolutions: [{ id, then }], notice,
    /// approved }` JSON (the answered approvals as the worker records them;
    /// `approved`: the phone's answer, when it was one); throws for a
    /// message that is not one (or an answer that does not count).
    #[wasm_bindgen(js_name = phoneMessage)]
    pub fn phone_message(&mut self, from: &str, text: &str, now: f64) -> Result<String> {
        Ok(to_json(&self.inner.phone_message(from, text, now as u64)?))
    }

    /// Confirm on phone, after any change and at its deadline: rejects
    /// (4001) what the phone did not answer in time, hands over the messages
    /// for the phone, names the next deadline. JSON
    /// `{ resolutions, expired, outbox: [{ request, text }], deadline }`
    /// (`resolutions` and `expired` as `[{ id, then }]` records).
    #[wasm_bindgen(js_name = phoneWork)]
    pub fn phone_work(&mut self, now: f64) -> String {
        to_json(&self.inner.phone_work(now as u64))
    }

    /// Device `device` (hex) left the group: if it was the confirming phone,
    /// its policy goes and its waiting requests are rejected (`[{ id, then }]`).
    #[wasm_bindgen(js_name = phoneGone)]
    pub fn phone_gone(&mut self, device: &str) -> String {
        to_json(&self.inner.phone_gone(device))
    }

    /// What the phone confirms, for the popup: `{ policy, owner, setAt }`
    /// (`tandem_confirm::Policy`; the popup words it) or `null`.
    #[wasm_bindgen(js_name = phonePolicy)]
    pub fn phone_policy(&self) -> String {
        to_json(&self.inner.state.phone)
    }

    /// Pending approvals as JSON.
    pub fn approvals(&self) -> String {
        to_json(&self.inner.session.approvals)
    }

    /// One approval as JSON.
    /// With `needsPhone`: the rule of the phone's policy that covers it
    /// (`connect`, `value`, `approval`, `permit`, `add_network`) or `null`.
    pub fn approval(&self, id: f64) -> Result<String> {
        Ok(self.inner.approval_json(id as u64)?)
    }

    /// Rejects all pending approvals (on lock); returns their `[{ id, then }]` records.
    #[wasm_bindgen(js_name = rejectAll)]
    pub fn reject_all(&mut self) -> String {
        to_json(&self.inner.session.reject_all())
    }

    /// Rejects an approval nobody answered (its window or tab closed); unlike
    /// `resolve(id, false)` it does not put off auto-lock. The resolution JSON.
    pub fn withdraw(&mut self, id: f64) -> Result<String> {
        Ok(to_json(&self.inner.withdraw(id as u64)?))
    }

    /// Replaces the account list with the keyring's `accounts()` JSON.
    #[wasm_bindgen(js_name = syncAccounts)]
    pub fn sync_accounts(&mut self, keyring_accounts: &str) -> Result<()> {
        let list: Vec<Value> = parse(keyring_accounts, "accounts")?;
        let mut out = Vec::with_capacity(list.len());
        for a in list {
            let addr = address(a.get("address").and_then(Value::as_str).unwrap_or(""))?;
            out.push((addr, a.get("origin").cloned().unwrap_or(Value::Null)));
        }
        self.inner.state.sync_accounts(&out);
        Ok(())
    }

    /// Renames an account.
    pub fn rename(&mut self, addr: &str, name: &str) -> Result<()> {
        Ok(self.inner.state.rename(address(addr)?, name)?)
    }

    /// Selects the active account.
    #[wasm_bindgen(js_name = selectAccount)]
    pub fn select_account(&mut self, addr: &str) -> Result<()> {
        Ok(self.inner.state.select(address(addr)?)?)
    }

    /// A network as JSON: the selected one (no `chain_id`), or the one with
    /// that chain id (`undefined` if there is none). The worker's only way
    /// to look one up: which network is selected (and the fallback when it
    /// was removed) is decided here.
    pub fn network(&self, chain_id: Option<f64>) -> Option<String> {
        let s = &self.inner.state;
        match chain_id {
            None => Some(to_json(s.network())),
            Some(id) => s
                .networks
                .iter()
                .find(|n| n.chain_id == id as u64)
                .map(to_json),
        }
    }

    /// Selects the active network.
    #[wasm_bindgen(js_name = selectNetwork)]
    pub fn select_network(&mut self, chain_id: f64) -> Result<()> {
        Ok(self.inner.state.select_network(chain_id as u64)?)
    }

    /// Adds or edits a network (`{ chainId, name, rpcUrl, symbol, explorer? }`),
    /// in two calls. Without `chain_id_answer`: checks the fields and returns
    /// the RPC URL to ask `eth_chainId` (never one that failed the checks);
    /// nothing is saved. With it (the answer as JSON; `null` if none): saves
    /// the network if its RPC serves its chain id, and returns `undefined`.
    #[wasm_bindgen(js_name = upsertNetwork)]
    pub fn upsert_network(
        &mut self,
        network: &str,
        chain_id_answer: Option<String>,
    ) -> Result<Option<String>> {
        let n: Network = parse(network, "network")?;
        let Some(answer) = chain_id_answer else {
            n.validate()?;
            return Ok(Some(n.rpc_url));
        };
        let answer: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
        tandem_wallet::rpc::check_chain_id(n.chain_id, &answer).map_err(Error::invalid)?;
        self.inner.state.upsert_network(n)?;
        Ok(None)
    }

    /// A network a site asks to add answered `eth_chainId` with `answer`
    /// (JSON; `null` if none). Returns `null` when it serves the chain the
    /// site named (the approval can now be approved), else the resolution
    /// JSON refusing the request (nothing is saved).
    #[wasm_bindgen(js_name = chainChecked)]
    pub fn chain_checked(&mut self, id: f64, answer: &str) -> Result<String> {
        let answer: Value = serde_json::from_str(answer).unwrap_or(Value::Null);
        Ok(to_json(&self.inner.chain_checked(id as u64, &answer)?))
    }

    /// Removes a custom network.
    #[wasm_bindgen(js_name = removeNetwork)]
    pub fn remove_network(&mut self, chain_id: f64) -> Result<()> {
        Ok(self.inner.state.remove_network(chain_id as u64)?)
    }

    /// Changes settings (`{ autoLockMinutes?, ownWindowEthereum?,
    /// accountOrder? }`; `accountOrder`: addresses, the accounts in that
    /// order, the others after them as they were: Move up / Move down, or
    /// another device's order). One binding for all of them: each new
    /// export costs the core module ~0.6 KB.
    #[wasm_bindgen(js_name = setSettings)]
    pub fn set_settings(&mut self, settings: &str) -> Result<()> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        struct S {
            auto_lock_minutes: Option<u32>,
            own_window_ethereum: Option<bool>,
            account_order: Option<Vec<alloy_primitives::Address>>,
        }
        let s: S = parse(settings, "settings")?;
        if let Some(order) = s.account_order {
            self.inner.state.order_accounts(&order);
        }
        Ok(self
            .inner
            .state
            .set_settings(s.auto_lock_minutes, s.own_window_ethereum)?)
    }

    /// Watches a token (`{ chainId, address, symbol, decimals }`).
    #[wasm_bindgen(js_name = watchAsset)]
    pub fn watch_asset(&mut self, asset: &str) -> Result<()> {
        let a: tandem_wallet::Asset = parse(asset, "token")?;
        Ok(self.inner.state.watch(a)?)
    }

    /// Stops watching a token; returns whether it was watched.
    #[wasm_bindgen(js_name = unwatchAsset)]
    pub fn unwatch_asset(&mut self, chain_id: f64, addr: &str) -> Result<bool> {
        Ok(self.inner.state.unwatch(chain_id as u64, address(addr)?))
    }

    /// Disconnects a site; returns whether it was connected.
    pub fn disconnect(&mut self, origin: &str) -> bool {
        self.inner.state.revoke(origin)
    }

    /// Records a transaction just sent (`Activity` JSON, with the hash Tandem
    /// signed); `answer`: the node's reply to `eth_sendRawTransaction` (JSON).
    /// Returns the warning when the node answered another hash.
    #[wasm_bindgen(js_name = recordSent)]
    pub fn record_sent(&mut self, activity: &str, answer: &str) -> Result<Option<String>> {
        let a: tandem_wallet::Activity = parse(activity, "activity")?;
        let answer: Value = serde_json::from_str(answer).unwrap_or(Value::Null);
        Ok(self.inner.state.record_sent(a, &answer))
    }

    /// Updates a transaction's status (`pending` | `confirmed` | `failed`).
    #[wasm_bindgen(js_name = updateStatus)]
    pub fn update_status(&mut self, hash: &str, status: &str, block: Option<f64>) -> Result<bool> {
        let s: TxStatus = parse(&Value::from(status).to_string(), "status")?;
        Ok(self
            .inner
            .state
            .update_status(hash, s, block.map(|b| b as u64)))
    }

    /// Pending transactions as JSON `[[hash, chainId], ...]`.
    #[wasm_bindgen(js_name = pendingHashes)]
    pub fn pending_hashes(&self) -> String {
        let list = self.inner.state.pending_hashes().into_iter();
        to_json(&Value::Array(
            list.map(|(h, c)| Value::Array(vec![h.into(), c.into()]))
                .collect(),
        ))
    }

    /// Records user or dapp activity for auto-lock.
    pub fn touch(&mut self, now: f64) {
        self.inner.session.lock.touch(now as u64);
    }

    /// Whether the auto-lock window has passed.
    #[wasm_bindgen(js_name = lockExpired)]
    pub fn lock_expired(&self, now: f64) -> bool {
        self.inner.lock_expired(now as u64)
    }

    /// When the wallet locks if idle (ms since the epoch).
    #[wasm_bindgen(js_name = lockDeadline)]
    pub fn lock_deadline(&self) -> f64 {
        self.inner
            .session
            .lock
            .deadline(self.inner.state.settings.auto_lock_minutes) as f64
    }
}

/// The response `body` of the node at `url` to request `id`: JSON
/// `{ result }`, or `{ error: { code, message, data? } }` (its error, never
/// quoting `url`, or why its answer is not used: not JSON, or another
/// request's answer).
#[wasm_bindgen(js_name = rpcAnswer)]
pub fn rpc_answer(id: f64, body: &str, url: &str) -> String {
    match tandem_wallet::rpc::answer(id as u64, body, url) {
        Ok(result) => to_json(&serde_json::json!({ "result": result })),
        Err(error) => to_json(&serde_json::json!({ "error": error })),
    }
}

/// An answered approval after the worker's step: `{ then, step }` JSON
/// (`then`: its resolution; `step`: `{ signed: { raw, hash } }`, `{ result }`
/// or `{ error }`); the resolution JSON to store (`tandem_wallet::answer_step`).
#[wasm_bindgen(js_name = answerStep)]
pub fn answer_step(json: &str) -> Result<String> {
    // Not JSON: null, which the core refuses as a step, saying what one is.
    let v: Value = serde_json::from_str(json).unwrap_or_default();
    Ok(to_json(&tandem_wallet::answer_step(
        &v["then"], &v["step"],
    )?))
}

/// The EIP-55 checksummed spelling of an address (for display).
#[wasm_bindgen(js_name = checksumAddress)]
pub fn checksum_address(addr: &str) -> Result<String> {
    Ok(address(addr)?.to_checksum(None))
}
