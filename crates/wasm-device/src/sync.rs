//! Sync in the extension's worker (feature `sync`, the module
//! `tandem_wasm_device_sync`): `tandem_sync::Syncer` driven by this device
//! engine, as the command-line device drives it (`crates/cli/src/sync.rs`).
//! The syncer decides; this file feeds it the engine's events and carries
//! out its outputs through the engine (group messages, sealed blobs), and
//! stores it sealed under the device key (its own associated data, so the
//! device state and the sync state cannot be swapped).
//!
//! The worker calls [`DeviceHost::attach_sync`] once after opening the
//! device; its `persist(sealed)` stores the sealed sync state
//! (`tandem.sync` in `chrome.storage.local`). Events this adds for the
//! worker: `{"kind":"sync"}` (records changed here from another device: the
//! worker re-reads what it mirrors, such as account names),
//! `{"kind":"sync_status"}` (only the status line may have changed) and
//! `{"kind":"sync_notice","notice":…}` (a safety-relevant change, with the
//! browser notification naming the device).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use tandem_device::{Command, Event, Input};
use tandem_sync::view::{NoticeView, MAX_NOTICES};
use tandem_sync::{Account, Category, Field, Out, Syncer, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use zeroize::Zeroizing;

use crate::{events, input, seal, DeviceHost, Host};

mod activity;
mod tokens;

/// What is stored (sealed): the syncer and the notices not dismissed.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Stored {
    pub(crate) syncer: Syncer,
    #[serde(default)]
    notices: Vec<NoticeView>,
}

/// The sync half of the host: empty until the worker attaches it.
#[derive(Default)]
pub(crate) struct Slot {
    pub(crate) stored: RefCell<Option<Stored>>,
    persist: RefCell<Option<js_sys::Function>>,
    persisting: Cell<bool>,
    dirty: Cell<bool>,
    /// Snapshot pages changed the state while more pages were on their
    /// way: stored once the last one is answered (or something else is
    /// stored first).
    deferred: Cell<bool>,
    /// The highest inbox id applied (ids only grow; the worker clears the
    /// inbox on its own schedule).
    applied: Cell<u64>,
}

/// A change the popup asks for.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    field: Field,
    value: Option<Value>,
}

/// An account as the wallet holds it.
#[derive(Deserialize)]
struct WalletAccount {
    address: String,
    name: String,
}

/// The wallet's account list as the worker passes it.
fn wallet_accounts(json: &str) -> Result<Vec<WalletAccount>, JsError> {
    serde_json::from_str(json).map_err(|e| JsError::new(&format!("bad account list: {e}")))
}

/// A network as the wallet holds it (`tandem_wallet::Network`'s form).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WalletNetwork {
    chain_id: u64,
    name: String,
    rpc_url: String,
    symbol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    explorer: Option<String>,
}

impl WalletNetwork {
    /// As it syncs (the wallet's networks all count in 18 decimals).
    fn synced(&self) -> Value {
        Value::Network(tandem_sync::Network {
            name: self.name.clone(),
            rpc: self.rpc_url.clone(),
            currency: self.symbol.clone(),
            decimals: 18,
            explorer: self.explorer.clone(),
        })
    }
}

pub(crate) fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

#[wasm_bindgen]
impl DeviceHost {
    /// Opens the stored sync state (`sealed`, as last passed to `persist`)
    /// or starts one with every category off; `persist(sealed)` stores it
    /// and resolves when written. Online, it catches up at once.
    #[wasm_bindgen(js_name = attachSync)]
    pub fn attach_sync(
        &self,
        sealed: Option<String>,
        persist: js_sys::Function,
    ) -> js_sys::Promise {
        let host = Rc::clone(&self.host);
        wasm_bindgen_futures::future_to_promise(async move {
            let stored = match sealed {
                Some(s) => {
                    let plain = seal::decrypt::<true>(&host.key, &s).await?;
                    tandem_pair::wire::json_from_bytes::<Stored>(&plain).map_err(|e| {
                        JsError::new(&format!("the stored sync state is unreadable: {e}"))
                    })?
                }
                None => {
                    // A log that starts here: the group's devices may have
                    // written theirs already (sent before this one listened).
                    let dev = host.dev.borrow();
                    let mut syncer = Syncer::new(dev.id());
                    syncer.ask_logs();
                    // A device with others in its group may have written
                    // its chain before (a phone that deleted its copy):
                    // its entries follow where the group says it ends.
                    let me = dev.id();
                    if dev
                        .state()
                        .group
                        .members()
                        .any(|m| m.identity.device_id() != me && m.revoked.is_none())
                    {
                        syncer.resume_log(now_ms());
                    }
                    drop(dev);
                    Stored {
                        syncer,
                        notices: Vec::new(),
                    }
                }
            };
            *host.sync.stored.borrow_mut() = Some(stored);
            *host.sync.persist.borrow_mut() = Some(persist);
            apply_inbox(&host);
            if host.dev.borrow().is_online() {
                let outs = with(&host, Syncer::flush);
                carry_out(&host, outs);
            }
            store(&host).await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// What the sync screen shows, as JSON (`tandem_sync::view::SyncView`):
    /// of each category's records the first `limit` (a whole number;
    /// `undefined` or `null`: all of them; 0: counts only, Home's line).
    #[wasm_bindgen(js_name = syncView)]
    pub fn sync_view_js(&self, limit: JsValue) -> Result<String, JsError> {
        let limit = if limit.is_undefined() || limit.is_null() {
            None
        } else {
            match limit.as_f64() {
                Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX) => {
                    Some(n as usize)
                }
                _ => {
                    return Err(JsError::new(
                        "bad sync view limit: a whole number of records, at least 0",
                    ))
                }
            }
        };
        self.sync_view(limit)
    }

    /// A change made here, as JSON `{"field":…,"value":…}` (the forms of
    /// `tandem_sync::Field` and `Value`; `value` `null` removes the record).
    /// Checked, stored and, online, sent.
    #[wasm_bindgen(js_name = syncEdit)]
    pub fn sync_edit(&self, json: &str) -> Result<(), JsError> {
        let e: Edit = serde_json::from_str(json)
            .map_err(|e| JsError::new(&format!("bad sync change: {e}")))?;
        self.edit(e.field, e.value)
    }

    /// An account was renamed in this wallet (`order`: its place in the
    /// list): recorded for sync unless the synced name is already this one.
    #[wasm_bindgen(js_name = syncAccountNamed)]
    pub fn sync_account_named(&self, address: &str, name: &str, order: u32) -> Result<(), JsError> {
        let field = Field::record(Category::Accounts, address.to_ascii_lowercase());
        let value = Value::Account(Account {
            name: name.to_owned(),
            order,
            hidden: false,
        });
        let same = with(
            &self.host,
            |s| matches!(s.replica().get(&field), Some(Value::Account(a)) if a.name == name),
        );
        if same {
            return Ok(());
        }
        self.edit(field, Some(value))
    }

    /// The renames the wallet needs to match the synced account names:
    /// given its accounts as JSON `[{"address","name"}]`, the ones whose
    /// synced name differs, as `[{"address","name"}]`.
    #[wasm_bindgen(js_name = syncAccountRenames)]
    pub fn sync_account_renames(&self, accounts: &str) -> Result<String, JsError> {
        let accounts = wallet_accounts(accounts)?;
        let renames: Vec<serde_json::Value> = with(&self.host, |s| {
            accounts
                .iter()
                .filter_map(|a| {
                    let field = Field::record(Category::Accounts, a.address.to_ascii_lowercase());
                    match s.replica().get(&field) {
                        Some(Value::Account(r)) if r.name != a.name && !r.name.is_empty() => {
                            Some(serde_json::json!({ "address": a.address, "name": r.name }))
                        }
                        _ => None,
                    }
                })
                .collect()
        });
        Ok(serde_json::Value::from(renames).to_string())
    }

    /// The user reordered the account list here (`accounts`: the wallet's
    /// list in its new order, JSON `[{"address","name"}]`): each account
    /// whose synced place is not its place now is recorded
    /// (`tandem_sync::accounts::reordered`).
    #[wasm_bindgen(js_name = syncAccountsOrdered)]
    pub fn sync_accounts_ordered(&self, accounts: &str) -> Result<(), JsError> {
        let list: Vec<(String, String)> = wallet_accounts(accounts)?
            .into_iter()
            .map(|a| (a.address.to_ascii_lowercase(), a.name))
            .collect();
        let writes: Vec<(Field, Value)> = with(&self.host, |s| {
            tandem_sync::accounts::reordered(&list, |id| {
                match s
                    .replica()
                    .get(&Field::record(Category::Accounts, id.clone()))
                {
                    Some(Value::Account(a)) => Some(a.clone()),
                    _ => None,
                }
            })
            .into_iter()
            .map(|(id, a)| {
                (
                    Field::record(Category::Accounts, id.clone()),
                    Value::Account(a),
                )
            })
            .collect()
        });
        for (field, value) in writes {
            self.edit(field, Some(value))?;
        }
        Ok(())
    }

    /// The order the synced places give this wallet's accounts (`accounts`:
    /// its list, JSON `[{"address","name"}]`), as a JSON array of
    /// addresses, or `null` when the list is already in it
    /// (`tandem_sync::accounts::synced_order`).
    #[wasm_bindgen(js_name = syncAccountOrder)]
    pub fn sync_account_order(&self, accounts: &str) -> Result<Option<String>, JsError> {
        let here: Vec<String> = wallet_accounts(accounts)?
            .into_iter()
            .map(|a| a.address)
            .collect();
        let order = with(&self.host, |s| {
            tandem_sync::accounts::synced_order(&here, |a| {
                let field = Field::record(Category::Accounts, a.to_ascii_lowercase());
                match s.replica().get(&field) {
                    Some(Value::Account(r)) => Some(r.order),
                    _ => None,
                }
            })
        });
        Ok((order != here).then(|| serde_json::Value::from(order).to_string()))
    }

    /// A network was added or changed in this wallet (its entry as the
    /// wallet holds it, JSON `{chainId,name,rpcUrl,symbol,explorer?}`):
    /// recorded for sync unless the synced one is already the same.
    #[wasm_bindgen(js_name = syncNetworkSaved)]
    pub fn sync_network_saved(&self, network: &str) -> Result<(), JsError> {
        let n: WalletNetwork = serde_json::from_str(network)
            .map_err(|e| JsError::new(&format!("bad network: {e}")))?;
        let field = Field::record(Category::Networks, n.chain_id.to_string());
        let value = n.synced();
        let same = with(&self.host, |s| s.replica().get(&field) == Some(&value));
        if same {
            return Ok(());
        }
        self.edit(field, Some(value))
    }

    /// A network was removed from this wallet: removed for sync too.
    #[wasm_bindgen(js_name = syncNetworkRemoved)]
    pub fn sync_network_removed(&self, chain_id: u64) -> Result<(), JsError> {
        let field = Field::record(Category::Networks, chain_id.to_string());
        if with(&self.host, |s| s.replica().get(&field).is_none()) {
            return Ok(());
        }
        self.edit(field, None)
    }

    /// The networks the wallet needs added or changed to hold the synced
    /// ones: given its networks as JSON, the entries to upsert, in the
    /// wallet's form (`[{chainId,name,rpcUrl,symbol,explorer?}]`).
    #[wasm_bindgen(js_name = syncNetworkUpserts)]
    pub fn sync_network_upserts(&self, networks: &str) -> Result<String, JsError> {
        let have: Vec<WalletNetwork> = serde_json::from_str(networks)
            .map_err(|e| JsError::new(&format!("bad network list: {e}")))?;
        let upserts: Vec<WalletNetwork> = with(&self.host, |s| {
            s.replica()
                .records(Category::Networks)
                .filter_map(|(id, v, _)| match v {
                    Value::Network(n) => Some((id.parse::<u64>().ok()?, n)),
                    _ => None,
                })
                .map(|(chain_id, n)| WalletNetwork {
                    chain_id,
                    name: n.name.clone(),
                    rpc_url: n.rpc.clone(),
                    symbol: n.currency.clone(),
                    explorer: n.explorer.clone(),
                })
                .filter(|n| {
                    !have
                        .iter()
                        .any(|h| h.synced() == n.synced() && h.chain_id == n.chain_id)
                })
                .collect()
        });
        serde_json::to_string(&upserts).map_err(|e| JsError::new(&e.to_string()))
    }

    /// The wallet's watched tokens changed here (its lists before and after,
    /// JSON `[{chainId,address,symbol,decimals}]`): a token added is
    /// recorded for sync as shown, one removed as hidden, unless the synced
    /// record already says so.
    #[wasm_bindgen(js_name = syncTokensChanged)]
    pub fn sync_tokens_changed(&self, before: &str, after: &str) -> Result<(), JsError> {
        let (before, after) = (token_list(before)?, token_list(after)?);
        let edits = with_attached(&self.host, |s| {
            let r = s.replica();
            tokens::edits(&before, &after, |f| r.get(f))
        })?;
        for (field, value) in edits {
            self.edit(field, Some(value))?;
        }
        Ok(())
    }

    /// What the wallet changes to hold the synced token lists: given its
    /// watched tokens as JSON, `{"unwatch":[…],"watch":[…]}` in the same
    /// form (unwatch first).
    #[wasm_bindgen(js_name = syncTokenChanges)]
    pub fn sync_token_changes(&self, assets: &str) -> Result<String, JsError> {
        let have = token_list(assets)?;
        let changes = with_attached(&self.host, |s| {
            tokens::changes(
                &have,
                s.replica()
                    .records(Category::Tokens)
                    .map(|(id, v, _)| (id, v)),
            )
        })?;
        serde_json::to_string(&changes).map_err(|e| JsError::new(&e.to_string()))
    }

    /// This wallet's transactions (its `activity` list and its networks, as
    /// JSON in the wallet's form), after one was sent or changed status and
    /// when the category may have been switched on: the synced records are
    /// brought to match ([`activity::changes`]), in one save.
    #[wasm_bindgen(js_name = syncActivitySaved)]
    pub fn sync_activity_saved(&self, activity: &str, networks: &str) -> Result<(), JsError> {
        let own = activity::list(activity, "activity").map_err(|e| JsError::new(&e))?;
        let networks = activity::list(networks, "network").map_err(|e| JsError::new(&e))?;
        let me = self.host.dev.borrow().id();
        let edits = with_attached(&self.host, |s| {
            activity::changes(s.replica(), me, &own, &networks)
        })?;
        self.edit_records(edits)
    }

    /// The Activity tab's list: given the wallet's (JSON, oldest first),
    /// it with the transactions the group's other devices sent, newest
    /// first, each of those naming its device (`sentFrom`); the wallet's
    /// alone, newest first, while Activity does not sync.
    #[wasm_bindgen(js_name = syncActivityShown)]
    pub fn sync_activity_shown(&self, own: &str) -> Result<String, JsError> {
        let own = activity::list(own, "activity").map_err(|e| JsError::new(&e))?;
        let dev = self.host.dev.borrow();
        let others = with_attached(&self.host, |s| {
            activity::elsewhere(s.replica(), dev.id(), |d| events::name_of(&dev, d))
        })?;
        Ok(serde_json::Value::Array(activity::merged(own, others)).to_string())
    }

    /// The user read the notices: they are cleared.
    #[wasm_bindgen(js_name = syncDismiss)]
    pub fn sync_dismiss(&self) {
        if let Some(s) = self.host.sync.stored.borrow_mut().as_mut() {
            s.notices.clear();
        }
        spawn_store(&self.host);
    }

    /// Records changed or removed here in one go (no category switch among
    /// them):
    /// one save to the relay and one store for all of them.
    pub(crate) fn edit_records(&self, edits: Vec<(Field, Option<Value>)>) -> Result<(), JsError> {
        if edits.is_empty() {
            return Ok(());
        }
        let host = &self.host;
        let outs = {
            let mut stored = host.sync.stored.borrow_mut();
            let s = stored
                .as_mut()
                .ok_or_else(|| JsError::new("sync is not open"))?;
            let mut outs = Vec::new();
            for (field, value) in edits {
                outs.extend(
                    (s.syncer)
                        .edit(field, value, now_ms())
                        .map_err(|e| JsError::new(&e.to_string()))?,
                );
            }
            outs
        };
        carry_out(host, outs);
        if host.dev.borrow().is_online() {
            let outs = with(host, Syncer::save);
            carry_out(host, outs);
        }
        spawn_store(host);
        Ok(())
    }

    fn edit(&self, field: Field, value: Option<Value>) -> Result<(), JsError> {
        let host = &self.host;
        let outs = {
            let dev = host.dev.borrow();
            let mut stored = host.sync.stored.borrow_mut();
            let s = stored
                .as_mut()
                .ok_or_else(|| JsError::new("sync is not open"))?;
            edited(&mut s.syncer, dev.identity(), field, value, now_ms())
                .map_err(|e| JsError::new(&e.to_string()))?
        };
        carry_out(host, outs);
        // Online, the save sends the audit entry of a switch with the change.
        if host.dev.borrow().is_online() {
            let outs = with(host, Syncer::save);
            carry_out(host, outs);
        }
        spawn_store(host);
        Ok(())
    }
}

impl DeviceHost {
    /// [`Self::sync_view_js`] from Rust (the phone app's shell).
    pub fn sync_view(&self, limit: Option<usize>) -> Result<String, JsError> {
        let dev = self.host.dev.borrow();
        let stored = self.host.sync.stored.borrow();
        let s = stored
            .as_ref()
            .ok_or_else(|| JsError::new("sync is not open"))?;
        let view = s
            .syncer
            .view(dev.is_online(), |d| shown_name(&dev, d), &s.notices, limit);
        serde_json::to_string(&view).map_err(|e| JsError::new(&e.to_string()))
    }
}

impl DeviceHost {
    /// Every record of `categories` (in that order), each naming the
    /// device that last changed it as [`Self::sync_view`] does: the phone
    /// app's Wallet screen (balances and tokens, which the sync view does
    /// not list). From Rust only: no export, so the worker's module links
    /// none of it.
    pub fn sync_records(
        &self,
        categories: &[Category],
    ) -> Result<Vec<tandem_sync::view::RecordView>, JsError> {
        let dev = self.host.dev.borrow();
        let stored = self.host.sync.stored.borrow();
        let s = stored
            .as_ref()
            .ok_or_else(|| JsError::new("sync is not open"))?;
        Ok(categories
            .iter()
            .flat_map(|c| s.syncer.records_view(*c, |d| shown_name(&dev, d)))
            .collect())
    }
}

/// How the Sync and Wallet screens name the device of a record: "this
/// device", or its name in the group.
fn shown_name(dev: &tandem_device::Device, d: &tandem_pair::DeviceId) -> String {
    if *d == dev.id() {
        "this device".into()
    } else {
        events::name_of(dev, d)
    }
}

/// A change made here, on the syncer (every `DeviceHost::edit`): a
/// category switched on or off is also recorded in the audit log, signed
/// by `me`.
fn edited(
    s: &mut Syncer,
    me: &tandem_pair::IdentityKey,
    field: Field,
    value: Option<Value>,
    now: u64,
) -> tandem_sync::Result<Vec<Out>> {
    let switched = match (&field, &value) {
        (Field::Enabled { category }, Some(Value::Enabled(on))) => Some((*category, *on)),
        _ => None,
    };
    let mut outs = s.edit(field, value, now)?;
    if let Some((category, on)) = switched {
        outs.extend(s.record(
            me,
            tandem_sync::audit::Happened::SyncCategory { category, on },
            now,
        ));
    }
    Ok(outs)
}

fn token_list(json: &str) -> Result<Vec<tokens::WalletToken>, JsError> {
    serde_json::from_str(json).map_err(|e| JsError::new(&format!("bad token list: {e}")))
}

/// Appends a signed audit entry (sent to the group with the next flush
/// online); `false` when sync is not attached.
pub(crate) fn record(host: &Rc<Host>, h: tandem_sync::audit::Happened, at_ms: u64) -> bool {
    if !attached(host) {
        return false;
    }
    let mut outs = {
        let dev = host.dev.borrow();
        with(host, |s| s.record(dev.identity(), h, at_ms))
    };
    if host.dev.borrow().is_online() {
        outs.extend(with(host, Syncer::send_outbox));
    }
    carry_out(host, outs);
    true
}

/// Runs `f` on the syncer (which must be attached: every caller checks or
/// is only reached once it is).
pub(crate) fn with<T>(host: &Host, f: impl FnOnce(&mut Syncer) -> T) -> T {
    let mut stored = host.sync.stored.borrow_mut();
    let s = stored.as_mut().expect("sync attached");
    f(&mut s.syncer)
}

/// Runs `f` on the syncer, or says sync is not open.
pub(crate) fn with_attached<T>(
    host: &Host,
    f: impl FnOnce(&mut Syncer) -> T,
) -> Result<T, JsError> {
    let mut stored = host.sync.stored.borrow_mut();
    let s = stored
        .as_mut()
        .ok_or_else(|| JsError::new("sync is not open"))?;
    Ok(f(&mut s.syncer))
}

/// A backup was restored: its records go to the group's snapshots, the
/// state is stored, and the worker mirrors names and networks.
pub(crate) fn after_restore(host: &Rc<Host>, outs: Vec<Out>) {
    carry_out(host, outs);
    if host.dev.borrow().is_online() {
        let outs = with(host, Syncer::flush);
        carry_out(host, outs);
    }
    spawn_store(host);
    crate::emit(host, r#"{"kind":"sync"}"#);
}

pub(crate) fn attached(host: &Host) -> bool {
    host.sync.stored.borrow().is_some()
}

/// An engine event, before the worker hears of it: what sync makes of it,
/// stored before the worker may act on it (the worker clears the inbox).
pub(crate) async fn on_event(host: &Rc<Host>, e: &Event) {
    if !attached(host) {
        return;
    }
    let now = now_ms();
    let mut changed = crate::audit::from_event(host, e);
    let outs = match e {
        Event::Online => with(host, Syncer::flush),
        Event::Offline { .. } => {
            with(host, Syncer::offline);
            // The pages on their way will not be answered: what the
            // answered ones changed is stored now.
            if host.sync.deferred.get() {
                host.sync.dirty.set(true);
            }
            Vec::new()
        }
        Event::Message { .. } | Event::Request { .. } => {
            changed = apply_inbox(host);
            Vec::new()
        }
        Event::KeyRotated { .. } => with(host, Syncer::key_rotated),
        // Removed from the group: this browser writes the backup no more
        // (and follows no move of it); the group's devices carry it on.
        Event::RemovedFromGroup { .. } => {
            with(host, |s| s.backup_mut().stop());
            vec![Out::Persist]
        }
        // The new device gets this one's chain and the restored ones now.
        Event::Pairing(tandem_device::PairingPhase::Paired { .. }) => {
            with(host, Syncer::member_joined);
            if host.dev.borrow().is_online() {
                with(host, Syncer::send_outbox)
            } else {
                Vec::new()
            }
        }
        Event::Blob {
            name,
            version,
            data,
        } => {
            // Mirrored in the wallet (names, networks, tokens) only if the
            // page held something new: turning 10,000 records on reads 16
            // pages this browser is about to write, and looking again at
            // each was a quarter of its time (scripts/bench-snapshot).
            match with(host, |s| s.blob(name, *version, data.as_deref(), now)) {
                Ok(outs) => {
                    changed = with(host, |s| s.page_changed());
                    outs
                }
                Err(err) => {
                    crate::emit(
                        host,
                        &events::failure(&format!("reading the synced {name}"), &err.to_string()),
                    );
                    Vec::new()
                }
            }
        }
        Event::BlobUnreadable { name, version, .. } => {
            with(host, |s| s.blob_unreadable(name, *version))
        }
        Event::BlobStored { name, version } => with(host, |s| s.blob_stored(name, *version, now)),
        Event::BlobConflict { name } => with(host, |s| s.blob_conflict(name)),
        // A page's write may have failed: what pages changed is stored now.
        Event::Failed { .. } if host.sync.deferred.get() => {
            host.sync.dirty.set(true);
            Vec::new()
        }
        _ if changed => Vec::new(),
        _ => return,
    };
    let page = matches!(
        e,
        Event::Blob { .. }
            | Event::BlobStored { .. }
            | Event::BlobConflict { .. }
            | Event::BlobUnreadable { .. }
    );
    // A snapshot page read or stored while more are on their way: the
    // state is stored once, after the last (Out::Persist held back here).
    // Each of them started a full write of the sync state (after a
    // restore of 1,000 records and 1,200 audit entries: about 1 MB
    // serialized, encrypted and handed to chrome.storage on the worker's
    // one thread, which the next pages' answers wait behind): 4-6 writes
    // from Restore to "Synced" before, 2-5 now, the rest being the backup's
    // (scripts/bench-restore). Nothing is lost if the worker stops first:
    // the pages are on the relay, and the next flush reads (and writes)
    // them again.
    let held = page && with(host, |s| s.pages_pending());
    let outs = if held {
        host.sync.deferred.set(true);
        outs.into_iter()
            .filter(|o| !matches!(o, Out::Persist))
            .collect()
    } else {
        outs
    };
    carry_out(host, outs);
    if !page {
        store(host).await;
    } else if !held {
        // The last page answered: the state is stored in the background
        // (one write at a time, the latest state each), not before the
        // device's next output. Awaiting it here held every page of a
        // restore (16 per category) behind a full write of the sync state
        // each: ~10 s for 1,000 records.
        spawn_store(host);
    }
    crate::emit(
        host,
        if changed {
            r#"{"kind":"sync"}"#
        } else {
            r#"{"kind":"sync_status"}"#
        },
    );
}

/// Time passed: changes parked for a clock that was ahead may apply.
pub(crate) fn tick(host: &Rc<Host>) {
    if attached(host) {
        let outs = with(host, |s| s.tick(now_ms()));
        if !outs.is_empty() {
            carry_out(host, outs);
            spawn_store(host);
        }
    }
}

/// After every engine input, before anything else runs: the sync messages
/// that just entered the inbox are applied at once (the worker may clear
/// the inbox as soon as it hears of any message, before this module's turn
/// to handle that message's event comes).
pub(crate) fn after_input(host: &Rc<Host>) {
    if attached(host) && apply_inbox(host) {
        // What arrived is not in the relay's snapshot pages yet (the
        // sender may be gone before it writes them): read, merge, write
        // those pages.
        if host.dev.borrow().is_online() {
            let outs = with(host, Syncer::save);
            carry_out(host, outs);
        }
        spawn_store(host);
        crate::emit(host, r#"{"kind":"sync"}"#);
    }
}

/// Applies the sync messages in the inbox not applied yet (applying one
/// twice would change nothing). Whether any applied.
fn apply_inbox(host: &Rc<Host>) -> bool {
    let after = host.sync.applied.get();
    let messages: Vec<(Vec<u8>, tandem_pair::DeviceId)> = {
        let dev = host.dev.borrow();
        let inbox = dev.state().inbox();
        if let Some(last) = inbox.iter().map(|m| m.id).max() {
            host.sync.applied.set(last.max(after));
        }
        inbox
            .iter()
            .filter(|m| !m.request && m.id > after)
            .map(|m| (m.data.0.clone(), m.from))
            .collect()
    };
    let mut any = false;
    // Carried out together: the messages waiting after a while offline
    // give one notification, not one each.
    let mut all = Vec::new();
    for (data, from) in messages {
        match with(host, |s| s.message(&data, now_ms())) {
            None => {}
            Some(Ok(outs)) => {
                any = true;
                all.extend(outs);
            }
            Some(Err(e)) => crate::emit(
                host,
                &events::failure(
                    &format!("a sync message from {}", from.to_hex()),
                    &e.to_string(),
                ),
            ),
        }
    }
    // The entries written while this device learned where its chain ends
    // follow that end once an answer came (a day without one: the next
    // entry it records sends them).
    let rebased = any && {
        let dev = host.dev.borrow();
        !with(host, |s| s.rebase_log(dev.identity(), now_ms())).is_empty()
    };
    if rebased {
        all.push(Out::Persist);
        all.extend(with(host, Syncer::send_outbox));
    }
    carry_out(host, all);
    any
}

/// Carries out the syncer's outputs through the engine (queued behind what
/// the engine is doing); `Persist` marks the state to be stored.
fn carry_out(host: &Rc<Host>, outs: Vec<Out>) {
    // A snapshot read after a month offline can change hundreds of records:
    // they are listed on the Sync screen, and the browser shows one
    // notification for all of them, not one each.
    let notices = outs.iter().filter(|o| matches!(o, Out::Notice(_))).count();
    if notices > 1 {
        let mut first = None;
        for o in &outs {
            if let Out::Notice(n) = o {
                let shown = record_notice(host, n);
                first.get_or_insert(shown);
            }
        }
        announce(host, first.as_ref(), notices);
    }
    for o in outs {
        match o {
            Out::Send(data) => input(host, Input::Command(Command::Send(data))),
            Out::PutBlob {
                name,
                data,
                expected,
            } => input(
                host,
                Input::Command(Command::PutBlob {
                    name,
                    data,
                    expected: Some(expected),
                }),
            ),
            Out::GetBlob { name } => input(host, Input::Command(Command::GetBlob { name })),
            Out::Persist => host.sync.dirty.set(true),
            Out::Notice(n) if notices == 1 => {
                let shown = record_notice(host, &n);
                announce(host, Some(&shown), 1);
            }
            Out::Notice(_) => {}
        }
    }
}

/// Keeps a notice for the Sync screen (newest first, at most
/// [`MAX_NOTICES`]); returns it as shown.
fn record_notice(host: &Host, n: &tandem_sync::Notice) -> NoticeView {
    let from = events::name_of(&host.dev.borrow(), &n.from);
    let shown = NoticeView::new(n, from, now_ms());
    if let Some(s) = host.sync.stored.borrow_mut().as_mut() {
        s.notices.insert(0, shown.clone());
        s.notices.truncate(MAX_NOTICES);
    }
    host.sync.dirty.set(true);
    shown
}

/// Tells the worker (and the browser's notifications) of `count` safety
/// notices, `first` the first of them: one notification either way.
fn announce(host: &Host, first: Option<&NoticeView>, count: usize) {
    let Some(first) = first else { return };
    let note = if count == 1 {
        events::note(
            &format!("Changed on {}", first.from),
            &format!(
                "{} If this was not you, check it in Settings, Sync.",
                first.sentence()
            ),
        )
    } else {
        events::note(
            &format!("{count} changes from your other devices"),
            &format!(
                "{} and {} more. If this was not you, check them in Settings, Sync.",
                first.sentence().trim_end_matches('.'),
                count - 1
            ),
        )
    };
    let json =
        serde_json::json!({ "kind": "sync_notice", "notice": first, "count": count }).to_string();
    let _ = host.emit.call2(
        &JsValue::NULL,
        &JsValue::from_str(&json),
        &JsValue::from_str(&note),
    );
}

pub(crate) fn spawn_store(host: &Rc<Host>) {
    host.sync.dirty.set(true);
    let h = Rc::clone(host);
    wasm_bindgen_futures::spawn_local(async move { store(&h).await });
}

/// Stores the sync state if it changed: one write at a time, each of the
/// state as it is when the write starts, again while it changed meanwhile.
pub(crate) async fn store(host: &Rc<Host>) {
    if host.sync.persisting.replace(true) {
        return;
    }
    while host.sync.dirty.replace(false) {
        // This write holds what the pages changed too.
        host.sync.deferred.set(false);
        let plain = {
            let stored = host.sync.stored.borrow();
            let Some(s) = stored.as_ref() else { break };
            Zeroizing::new(serde_json::to_vec(s).expect("sync state serializes"))
        };
        let result = async {
            let sealed = seal::encrypt::<true>(&host.key, plain).await?;
            let f = host.sync.persist.borrow().clone();
            let Some(f) = f else { return Ok(()) };
            let p = f
                .call1(&JsValue::NULL, &JsValue::from_str(&sealed))
                .map_err(|e| crate::js_error_text(&e))?;
            if let Ok(p) = p.dyn_into::<js_sys::Promise>() {
                wasm_bindgen_futures::JsFuture::from(p)
                    .await
                    .map_err(|e| crate::js_error_text(&e))?;
            }
            Ok::<(), String>(())
        }
        .await;
        if let Err(e) = result {
            crate::emit(host, &events::failure("storing the sync state", &e));
            break;
        }
    }
    host.sync.persisting.set(false);
    // Something to back up (stored first: the worker may stop meanwhile,
    // and the next start writes it).
    // Or a move of the backup that waits for the next generation's key.
    if with_attached(host, |s| s.backup_due() || s.backup().wants_key()).unwrap_or(false) {
        crate::emit(host, r#"{"kind":"backup"}"#);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_pair::IdentityKey;
    use tandem_sync::audit::{Happened, Verdict};
    use tandem_sync::Contact;

    const T0: u64 = 1_800_000_000_000;

    #[test]
    fn a_category_turned_on_and_off_here_is_recorded_each_time_and_a_record_is_not() {
        let me = IdentityKey::from_seed(&[5; 32]);
        let mut s = Syncer::new(me.device_id());
        let switch = |s: &mut Syncer, on: bool, now: u64| {
            let field = Field::Enabled {
                category: Category::AddressBook,
            };
            edited(s, &me, field, Some(Value::Enabled(on)), now).unwrap()
        };
        switch(&mut s, true, T0);
        let contact = Value::Contact(Contact {
            name: "Alice".into(),
            note: String::new(),
        });
        let field = Field::record(Category::AddressBook, format!("0x{}", "11".repeat(20)));
        edited(&mut s, &me, field, Some(contact), T0 + 1_000).unwrap();
        switch(&mut s, false, T0 + 2_000);

        let checked = s.audit().verify(me.device_id(), |d| {
            (*d == me.device_id()).then(|| me.public())
        });
        let entries: Vec<_> = checked
            .iter()
            .map(|c| {
                (
                    c.entry.device,
                    c.entry.seq,
                    c.entry.at_ms,
                    c.entry.happened.clone(),
                    c.verdict.clone(),
                )
            })
            .collect();
        let switched = |on| Happened::SyncCategory {
            category: Category::AddressBook,
            on,
        };
        assert_eq!(
            entries,
            [
                (me.device_id(), 1, T0, switched(true), Verdict::Ok),
                (me.device_id(), 2, T0 + 2_000, switched(false), Verdict::Ok),
            ]
        );
        // Both go to the group with the next send.
        let sent: Vec<String> = s
            .send_outbox()
            .into_iter()
            .filter_map(|o| match o {
                Out::Send(m) => Some(String::from_utf8(m).unwrap()),
                _ => None,
            })
            .filter(|m| m.contains(r#""type":"audit_entries""#))
            .collect();
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(sent[0].matches(r#""kind":"sync_category""#).count(), 2);
    }
}
