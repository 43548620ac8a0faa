//! The two halves of the wallet's persisted state.
//!
//! [`State`] holds nothing secret and lives in `chrome.storage.local` so the
//! popup can render from it at once. [`Session`] holds the approval queue and
//! the auto-lock clock; it lives in `chrome.storage.session` (memory only, gone
//! when the browser closes) so both survive a service-worker restart.

use alloy_primitives::{Address, U256};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{lock, network, Approval, AutoLock, Error, Network, Result};

/// Version of the [`State`] JSON written by this crate.
pub const STATE_VERSION: u32 = 1;
/// Activity records kept (oldest dropped first).
pub const MAX_ACTIVITY: usize = 200;
/// Watched tokens kept.
pub const MAX_ASSETS: usize = 100;

/// An account as the UI shows it (the key stays in the keyring).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// Its address.
    pub address: Address,
    /// User-chosen name.
    pub name: String,
    /// Where the key comes from, as the keyring reports it.
    #[serde(default)]
    pub origin: Value,
}

/// A site the user connected: EIP-2255 `eth_accounts` permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Site {
    /// The browser-reported origin, e.g. `https://app.uniswap.org`.
    pub origin: String,
    /// Accounts the site may see.
    pub accounts: Vec<Address>,
    /// Milliseconds since the epoch.
    pub connected_at: u64,
}

/// User settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// Minutes of inactivity before the wallet locks.
    pub auto_lock_minutes: u32,
    /// Take `window.ethereum` even when another wallet already set it.
    pub own_window_ethereum: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            auto_lock_minutes: lock::DEFAULT_MINUTES,
            own_window_ethereum: false,
        }
    }
}

/// An ERC-20 token the user watches (EIP-747 `wallet_watchAsset`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    /// Chain it lives on.
    pub chain_id: u64,
    /// Token contract.
    pub address: Address,
    /// Ticker.
    pub symbol: String,
    /// Decimals.
    pub decimals: u8,
}

/// Status of a submitted transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TxStatus {
    /// Sent, no receipt yet.
    Pending,
    /// Mined with status 1.
    Confirmed,
    /// Mined with status 0, or dropped.
    Failed,
}

/// One of the user's own transactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    /// Transaction hash.
    pub hash: String,
    /// Chain it was sent on.
    pub chain_id: u64,
    /// Sender.
    pub from: Address,
    /// Recipient (None for contract creation).
    pub to: Option<Address>,
    /// Wei, `0x` hex.
    pub value: U256,
    /// Status.
    pub status: TxStatus,
    /// Site that asked for it (None when sent from the wallet itself).
    #[serde(default)]
    pub origin: Option<String>,
    /// Milliseconds since the epoch.
    pub submitted_at: u64,
    /// Block it was mined in.
    #[serde(default)]
    pub block_number: Option<u64>,
    /// What was wrong with the node's answer when it was sent
    /// ([`crate::rpc::sent_hash_warning`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// Non-secret wallet state, persisted in `chrome.storage.local`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// Format version.
    pub version: u32,
    /// Accounts, in keyring order.
    pub accounts: Vec<Account>,
    /// The active account.
    pub selected: Option<Address>,
    /// Known networks.
    pub networks: Vec<Network>,
    /// The active network.
    pub chain_id: u64,
    /// Connected sites.
    pub sites: Vec<Site>,
    /// Settings.
    pub settings: Settings,
    /// The user's transactions, newest last.
    pub activity: Vec<Activity>,
    /// Watched tokens.
    pub assets: Vec<Asset>,
    /// What the paired phone confirms before this wallet signs (set by the
    /// phone only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<serde_json::Value>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            version: STATE_VERSION,
            accounts: Vec::new(),
            selected: None,
            networks: network::defaults(),
            chain_id: 1,
            sites: Vec::new(),
            settings: Settings::default(),
            activity: Vec::new(),
            assets: Vec::new(),
            phone: None,
        }
    }
}

/// serde_json's error category by name (as its `Debug` says it; the core
/// module formats no `Debug`, see scripts/build).
fn category(c: serde_json::error::Category) -> &'static str {
    use serde_json::error::Category::{Data, Eof, Io, Syntax};
    match c {
        Io => "Io",
        Syntax => "Syntax",
        Data => "Data",
        Eof => "Eof",
    }
}

impl State {
    /// Parses stored JSON; an empty string is a fresh wallet.
    pub fn from_json(json: &str) -> Result<Self> {
        if json.trim().is_empty() {
            return Ok(Self::default());
        }
        let s: Self = serde_json::from_str(json).map_err(|e| {
            Error::Corrupt(format!(
                "line {} column {}: {}",
                e.line(),
                e.column(),
                category(e.classify())
            ))
        })?;
        if s.version != STATE_VERSION {
            return Err(Error::Corrupt(format!("unknown version {}", s.version)));
        }
        s.check_stored()
            .map_err(|e| Error::Corrupt(format!("stored state refused: {e}")))?;
        Ok(s)
    }

    /// What was stored is held to the rules the wallet applies when it makes
    /// the change itself (stored state is not trusted: it is checked on every
    /// boot): networks as `upsert_network` checks them (each chain once),
    /// sites with http(s) origins and known accounts, a known selected account
    /// and network, tokens and settings in range.
    fn check_stored(&self) -> Result<()> {
        let mut seen = Vec::with_capacity(self.networks.len());
        for n in &self.networks {
            n.validate()?;
            if seen.contains(&n.chain_id) {
                return Err(Error::Invalid("a network is listed twice".into()));
            }
            seen.push(n.chain_id);
        }
        if !seen.contains(&self.chain_id) {
            return Err(Error::Invalid(
                "the selected network is not in the list".into(),
            ));
        }
        let known = |a: &Address| self.accounts.iter().any(|x| x.address == *a);
        if self.selected.as_ref().is_some_and(|a| !known(a)) {
            return Err(Error::Invalid("the selected account is unknown".into()));
        }
        for site in &self.sites {
            crate::provider::check_origin(&site.origin)?;
            if !site.accounts.iter().all(known) {
                return Err(Error::Invalid(
                    "a site is connected to an unknown account".into(),
                ));
            }
        }
        for a in &self.assets {
            a.validate()?;
        }
        lock::check_minutes(self.settings.auto_lock_minutes)?;
        Ok(())
    }

    /// The JSON to store.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("serializing plain data cannot fail")
    }

    /// The active network (falls back to the first if the id was removed).
    pub fn network(&self) -> &Network {
        self.networks
            .iter()
            .find(|n| n.chain_id == self.chain_id)
            .or_else(|| self.networks.first())
            .expect("the networks list is never empty: built-in networks cannot be removed")
    }

    /// Replaces the account list with the keyring's, keeping names, adding
    /// `Account N` for new ones, dropping vanished accounts from sites.
    pub fn sync_accounts(&mut self, keyring_accounts: &[(Address, Value)]) {
        let old: Vec<Address> = self.accounts.iter().map(|a| a.address).collect();
        let mut next: Vec<Account> = Vec::with_capacity(keyring_accounts.len());
        for (i, (addr, origin)) in keyring_accounts.iter().enumerate() {
            // A new account is `Account N`, N its place in the list or the
            // next number no account is called (after a removal, the place
            // may be a kept account's name).
            let taken = |n: &String| {
                self.accounts.iter().any(|a| a.name == *n) || next.iter().any(|a| a.name == *n)
            };
            let name = match self.accounts.iter().find(|a| a.address == *addr) {
                Some(a) => a.name.clone(),
                None => (i + 1..)
                    .map(|n| format!("Account {n}"))
                    .find(|n| !taken(n))
                    .expect("some number is free"),
            };
            next.push(Account {
                address: *addr,
                name,
                origin: origin.clone(),
            });
        }
        // The phone's accounts stay (their keys are not in the keyring),
        // unless the keyring now holds the key itself.
        let remote: Vec<Account> = core::mem::take(&mut self.accounts)
            .into_iter()
            .filter(|a| {
                crate::remote::device_of(a).is_some()
                    && !next.iter().any(|x| x.address == a.address)
            })
            .collect();
        next.extend(remote);
        // The user's order stays (Accounts, Move up/down, or another
        // device's, synced): known accounts keep their places, new ones
        // come last, in the keyring's order.
        self.accounts = next;
        self.order_accounts(&old);
        self.forget_missing();
    }

    /// Puts the accounts in the order of `order` (addresses): those it
    /// lists first, in its order, then the others as they were. Addresses
    /// of no account here are passed over. Whether anything moved.
    #[inline(never)] // one copy in the wasm module, not one per caller
    pub fn order_accounts(&mut self, order: &[Address]) -> bool {
        // In place, no sort: a list of a few accounts, and a sort's code
        // for this type cost the core module 8 KB.
        let mut placed = 0;
        let mut moved = false;
        for addr in order {
            let found = self.accounts[placed..]
                .iter()
                .position(|a| a.address == *addr);
            if let Some(i) = found {
                moved |= i != 0;
                // Swaps (slice rotation's generic code is larger).
                for j in (placed..placed + i).rev() {
                    self.accounts.swap(j, j + 1);
                }
                placed += 1;
            }
        }
        moved
    }

    fn has_account(&self, a: Option<Address>) -> bool {
        a.is_some_and(|a| self.accounts.iter().any(|x| x.address == a))
    }

    /// Renames an account.
    pub fn rename(&mut self, address: Address, name: &str) -> Result<()> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 40 || name.chars().any(char::is_control) {
            return Err(Error::Invalid(
                "an account name is 1 to 40 printable characters".into(),
            ));
        }
        let acc = self
            .accounts
            .iter_mut()
            .find(|a| a.address == address)
            .ok_or_else(|| Error::Invalid(format!("no account {address} in this wallet")))?;
        acc.name = name.to_owned();
        Ok(())
    }

    /// Makes `address` the active account.
    pub fn select(&mut self, address: Address) -> Result<()> {
        if !self.has_account(Some(address)) {
            return Err(Error::Invalid(format!(
                "no account {address} in this wallet"
            )));
        }
        self.selected = Some(address);
        Ok(())
    }

    /// Switches network.
    pub fn select_network(&mut self, chain_id: u64) -> Result<()> {
        if !self.networks.iter().any(|n| n.chain_id == chain_id) {
            return Err(Error::UnknownChain(format!("{chain_id:#x}")));
        }
        self.chain_id = chain_id;
        Ok(())
    }

    /// Adds or edits a network (a built-in stays built-in).
    pub fn upsert_network(&mut self, mut n: Network) -> Result<()> {
        n.validate()?;
        n.name = n.name.trim().to_owned();
        n.symbol = n.symbol.trim().to_owned();
        match self.networks.iter_mut().find(|x| x.chain_id == n.chain_id) {
            Some(existing) => {
                n.builtin = existing.builtin;
                *existing = n;
            }
            None => {
                n.builtin = false;
                self.networks.push(n);
            }
        }
        Ok(())
    }

    /// Removes a custom network.
    pub fn remove_network(&mut self, chain_id: u64) -> Result<()> {
        let i = self
            .networks
            .iter()
            .position(|n| n.chain_id == chain_id)
            .ok_or_else(|| Error::UnknownChain(format!("{chain_id:#x}")))?;
        if self.networks[i].builtin {
            return Err(Error::Invalid(
                "built-in networks can be edited but not removed".into(),
            ));
        }
        self.networks.remove(i);
        if self.chain_id == chain_id {
            self.chain_id = self.networks[0].chain_id;
        }
        Ok(())
    }

    /// Changes settings; `None` leaves a field as it is.
    pub fn set_settings(&mut self, auto_lock: Option<u32>, own_eth: Option<bool>) -> Result<()> {
        if let Some(m) = auto_lock {
            self.settings.auto_lock_minutes = lock::check_minutes(m)?;
        }
        if let Some(b) = own_eth {
            self.settings.own_window_ethereum = b;
        }
        Ok(())
    }

    /// Accounts `origin` may see, the active account first. Empty if none.
    pub fn permitted(&self, origin: &str) -> Vec<Address> {
        let Some(site) = self.sites.iter().find(|s| s.origin == origin) else {
            return Vec::new();
        };
        let mut out: Vec<Address> = site
            .accounts
            .iter()
            .copied()
            .filter(|a| self.has_account(Some(*a)))
            .collect();
        if let Some(sel) = self.selected {
            if let Some(i) = out.iter().position(|a| *a == sel) {
                out[..=i].rotate_right(1);
            }
        }
        out
    }

    /// Grants `origin` the accounts (replacing an earlier grant).
    pub fn grant(&mut self, origin: &str, accounts: Vec<Address>, now: u64) {
        self.sites.retain(|s| s.origin != origin);
        self.sites.push(Site {
            origin: origin.to_owned(),
            accounts,
            connected_at: now,
        });
    }

    /// Disconnects `origin`. Returns whether it was connected.
    pub fn revoke(&mut self, origin: &str) -> bool {
        let before = self.sites.len();
        self.sites.retain(|s| s.origin != origin);
        before != self.sites.len()
    }

    /// EIP-2255 permissions of `origin`.
    pub fn permissions(&self, origin: &str) -> Value {
        let Some(site) = self.sites.iter().find(|s| s.origin == origin) else {
            return Value::Array(Vec::new());
        };
        serde_json::json!([{
            "invoker": origin,
            "parentCapability": "eth_accounts",
            "caveats": [{ "type": "restrictReturnedAccounts", "value": self.permitted(origin) }],
            "date": site.connected_at,
        }])
    }

    /// Records a submitted transaction.
    pub fn record(&mut self, a: Activity) {
        if self.activity.iter().any(|x| x.hash == a.hash) {
            return;
        }
        self.activity.push(a);
        if self.activity.len() > MAX_ACTIVITY {
            let drop = self.activity.len() - MAX_ACTIVITY;
            self.activity.drain(..drop);
        }
    }

    /// Updates a transaction's status from its receipt. Returns whether it changed.
    pub fn update_status(&mut self, hash: &str, status: TxStatus, block: Option<u64>) -> bool {
        match self.activity.iter_mut().find(|a| a.hash == hash) {
            Some(a) if a.status != status || a.block_number != block => {
                a.status = status;
                a.block_number = block;
                true
            }
            _ => false,
        }
    }

    /// Pending transactions, each with the chain it was sent on (the receipt
    /// poller asks that chain's node, whichever network is selected now).
    pub fn pending_hashes(&self) -> Vec<(String, u64)> {
        self.activity
            .iter()
            .filter(|a| a.status == TxStatus::Pending)
            .map(|a| (a.hash.clone(), a.chain_id))
            .collect()
    }

    /// Adds a watched token (idempotent).
    pub fn watch(&mut self, asset: Asset) -> Result<()> {
        asset.validate()?;
        if self
            .assets
            .iter()
            .any(|a| a.chain_id == asset.chain_id && a.address == asset.address)
        {
            return Ok(());
        }
        if self.assets.len() >= MAX_ASSETS {
            return Err(Error::Invalid(format!(
                "at most {MAX_ASSETS} tokens can be watched; remove one first"
            )));
        }
        self.assets.push(asset);
        Ok(())
    }

    /// Stops watching a token. Returns whether it was watched.
    pub fn unwatch(&mut self, chain_id: u64, address: Address) -> bool {
        let before = self.assets.len();
        self.assets
            .retain(|a| !(a.chain_id == chain_id && a.address == address));
        before != self.assets.len()
    }
}

impl Asset {
    /// Checks the symbol (1 to 11 letters, digits, `.`, `-`, `_`: it is shown
    /// next to amounts, so no spaces or look-alike punctuation) and decimals.
    pub fn validate(&self) -> Result<()> {
        let n = self.symbol.chars().count();
        if !(1..=11).contains(&n)
            || !self
                .symbol
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
        {
            return Err(Error::Invalid(
                "a token symbol is 1 to 11 letters or digits".into(),
            ));
        }
        if self.decimals > 36 {
            return Err(Error::Invalid("token decimals must be 0..=36".into()));
        }
        Ok(())
    }
}

/// Session half: survives a worker restart, not a browser restart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// Requests waiting for the user, oldest first.
    pub approvals: Vec<Approval>,
    /// Next approval id.
    pub next_id: u64,
    /// Auto-lock clock.
    pub lock: AutoLock,
    /// Messages for the phone (confirm on phone) the worker has not taken yet.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub phone_outbox: serde_json::Value,
}

impl Session {
    /// Parses stored JSON; an empty string is a fresh session.
    pub fn from_json(json: &str) -> Result<Self> {
        if json.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str(json)
            .map_err(|e| Error::Corrupt(format!("session line {} column {}", e.line(), e.column())))
    }

    /// The JSON to store.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("serializing plain data cannot fail")
    }
}
