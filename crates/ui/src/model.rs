//! The worker's answers (extension/API.md) as typed Rust values. Parsing is
//! lenient about missing fields, so an older or newer worker still renders.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Reads a chain id given as a JSON number or a `0x`/decimal string.
pub fn chain_id_of(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => match s.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).ok(),
            None => s.parse().ok(),
        },
        _ => None,
    }
}

/// One account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Account {
    /// Checksummed address.
    pub address: String,
    /// User-given name.
    pub name: String,
    /// Where it came from (derivation index, imported key); shown as a hint.
    pub origin: Value,
}

impl Account {
    /// Whether its key is on the phone (it signs there).
    pub fn on_phone(&self) -> bool {
        self.origin.get("kind").and_then(Value::as_str) == Some("phone")
    }
}

/// One network.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Network {
    /// Chain id as the worker sent it.
    pub chain_id: Value,
    /// Display name.
    pub name: String,
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// Native currency symbol.
    pub symbol: String,
    /// Native currency decimals (the worker leaves out 18).
    pub decimals: Option<u8>,
    /// Block explorer base URL.
    pub explorer: Option<String>,
    /// Shipped with the wallet (cannot be removed).
    pub builtin: bool,
}

impl Network {
    /// The chain id as a number (0 if unreadable).
    pub fn id(&self) -> u64 {
        chain_id_of(&self.chain_id).unwrap_or(0)
    }

    /// Decimals of the native currency.
    pub fn decimals(&self) -> u8 {
        self.decimals.unwrap_or(18)
    }
}

/// A site with access to accounts, as the core stores it (the worker sends
/// its `stateJson()` sites, addresses checksummed): the very type, so that
/// a change there cannot silently break the view.
pub use tandem_wallet::Site;

/// A site connected on another device of the wallet (synced, category
/// "Connected sites"): it has no permission in this browser.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SiteElsewhere {
    /// Browser-reported origin, as that device's browser reported it.
    pub origin: String,
    /// That device's name.
    pub device_name: String,
    /// Accounts it may see there.
    pub accounts: Vec<String>,
}

/// User settings, as the core stores them (the worker sends its
/// `stateJson()` settings as they are).
pub use tandem_wallet::Settings;

/// Answer of the `state` method.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WalletState {
    /// A vault exists.
    pub initialized: bool,
    /// The keyring is open.
    pub unlocked: bool,
    /// Accounts, in order.
    pub accounts: Vec<Account>,
    /// Selected account address.
    pub selected: Option<String>,
    /// Current network.
    pub network: Option<Network>,
    /// All networks.
    pub networks: Vec<Network>,
    /// Connected sites.
    pub sites: Vec<Site>,
    /// Sites connected on the wallet's other devices (synced), not here.
    pub sites_elsewhere: Vec<SiteElsewhere>,
    /// Settings.
    pub settings: Settings,
    /// A count or a list, depending on the worker version.
    pub pending_approvals: Value,
    /// Set when another device of the wallet had this browser's wallet
    /// erased (it was revoked as lost or compromised).
    #[serde(default)]
    pub erased: Option<Erased>,
    /// What the paired phone confirms before this wallet signs.
    #[serde(default)]
    pub phone: Option<PhonePolicyView>,
}

/// The phone's confirmation policy as the worker keeps it (`phonePolicy()`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhonePolicyView {
    /// The rules.
    pub policy: tandem_confirm::Policy,
    /// The phone's device id (hex).
    pub owner: String,
}

/// Who had this browser's wallet erased, when and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Erased {
    /// The revoking device's name (or id).
    pub by: String,
    /// Unix seconds.
    pub at: u64,
    /// lost or compromised.
    pub reason: String,
}

impl WalletState {
    /// The selected account, or the first.
    pub fn current_account(&self) -> Option<&Account> {
        let sel = self.selected.as_deref().unwrap_or_default();
        self.accounts
            .iter()
            .find(|a| a.address.eq_ignore_ascii_case(sel))
            .or_else(|| self.accounts.first())
    }

    /// How many approvals wait.
    pub fn pending_count(&self) -> usize {
        match &self.pending_approvals {
            Value::Number(n) => n.as_u64().unwrap_or(0) as usize,
            Value::Array(a) => a.len(),
            _ => 0,
        }
    }
}

/// The native balance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NativeBalance {
    /// Symbol.
    pub symbol: String,
    /// Hex wei.
    pub balance: String,
}

/// An ERC-20 balance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TokenBalance {
    /// Token contract.
    pub address: String,
    /// Symbol.
    pub symbol: String,
    /// Decimals.
    pub decimals: u8,
    /// Raw balance (hex or decimal).
    pub balance: String,
}

/// Answer of `portfolio` / `portfolio.refresh`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Portfolio {
    /// Account.
    pub address: String,
    /// Chain.
    pub chain_id: Value,
    /// Native coin.
    pub native: NativeBalance,
    /// Tokens.
    pub tokens: Vec<TokenBalance>,
    /// Milliseconds since the epoch.
    pub updated_at: f64,
    /// Every stored record: each account on each network, with the time
    /// it was read (`crates/wallet/src/portfolio.rs`; empty in a record).
    pub all: Vec<Portfolio>,
}

/// One of the user's transactions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ActivityItem {
    /// Transaction hash.
    pub hash: String,
    /// Chain.
    pub chain_id: Value,
    /// Sender.
    pub from: String,
    /// Recipient (none for deployments).
    pub to: Option<String>,
    /// Hex wei.
    pub value: String,
    /// `pending`, `confirmed` or `failed`.
    pub status: String,
    /// Milliseconds since the epoch.
    pub submitted_at: f64,
    /// Block it was mined in.
    pub block_number: Option<u64>,
    /// What was wrong with the node's answer when it was sent.
    pub warning: Option<String>,
    /// The group's device that sent it (synced; none for this wallet's own).
    pub sent_from: Option<String>,
}

/// A pending approval (`approvals.get`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Approval {
    /// Queue id (number or string).
    pub id: Value,
    /// Requesting origin (from the browser).
    pub origin: String,
    /// `connect`, `personal_sign`, `typed_data`, `transaction`, `add_chain`,
    /// `switch_chain`, `watch_asset`, `calls`.
    pub kind: String,
    /// The validated request.
    pub request: Value,
    /// The worker's decoded view.
    pub display: Value,
    /// Milliseconds since the epoch.
    pub created_at: f64,
    /// Transaction fees are still being fetched from the node.
    pub needs_fill: bool,
    /// Approved here, waiting for the phone (confirm on phone).
    pub phone: Option<crate::confirm::PhoneWait>,
    /// The rule of the phone's policy that covers it: approving here asks
    /// the phone.
    pub needs_phone: Option<tandem_confirm::Rule>,
    /// More requests from the same site waiting behind this one (in this
    /// window).
    pub queued: u32,
}

/// What the UI caches in `chrome.storage.local` to paint the popup at once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Cache {
    /// Last state seen.
    pub state: Option<WalletState>,
    /// Last portfolio seen.
    pub portfolio: Option<Portfolio>,
    /// Last activity seen.
    pub activity: Vec<ActivityItem>,
}

/// Answer of `devices.relay.get` / `devices.relay.set`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RelaySetting {
    /// The relay a new device group uses.
    pub relay: String,
    /// The build's default relay.
    pub default: String,
}

/// The message of a `personal_sign` request, decoded for reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignText {
    /// Valid UTF-8 without control characters (besides newlines and tabs).
    Text(String),
    /// Anything else, as hex.
    Hex(String),
}

/// The message of a `personal_sign` approval (the request's, else the
/// display's), decoded by [`personal_sign_text`]: what the approval window
/// shows, and what the phone is shown.
pub fn personal_sign_message(a: &Approval) -> SignText {
    personal_sign_text(
        a.request
            .get("message")
            .and_then(Value::as_str)
            .or_else(|| a.display.get("message").and_then(Value::as_str))
            .unwrap_or(""),
    )
}

/// Decodes a `personal_sign` message as the core does for its display and
/// the audit log (`tandem_eth::eip191`): the bytes signed are text when they
/// are readable UTF-8, else hex, whether the dapp sent them as `0x` hex or
/// as a string.
pub fn personal_sign_text(message: &str) -> SignText {
    use tandem_eth::eip191::{message_bytes, message_text};
    let bytes = message_bytes(message);
    match message_text(&bytes) {
        Some(t) => SignText::Text(t.to_owned()),
        None => SignText::Hex(format!(
            "0x{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_a_state_answer() {
        let s: WalletState = serde_json::from_value(json!({
            "initialized": true, "unlocked": true,
            "accounts": [{"address": "0xAa", "name": "Account 1", "origin": {"index": 0}},
                         {"address": "0xBb", "name": "Savings"}],
            "selected": "0xbb",
            "network": {"chainId": 31337, "name": "Local", "rpcUrl": "http://127.0.0.1:8545", "symbol": "ETH", "builtin": true},
            "networks": [],
            "sites": [{"origin": "https://app.example", "accounts": ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"], "connectedAt": 5}],
            "settings": {"autoLockMinutes": 5, "ownWindowEthereum": true},
            "pendingApprovals": 2,
            "somethingNew": 1
        }))
        .unwrap();
        assert_eq!(s.current_account().unwrap().name, "Savings");
        assert_eq!(s.network.as_ref().unwrap().id(), 31337);
        assert_eq!(s.pending_count(), 2);
        assert_eq!(s.settings.auto_lock_minutes, 5);
        let empty: WalletState = serde_json::from_value(json!({})).unwrap();
        assert!(!empty.initialized && empty.current_account().is_none());
        assert_eq!(chain_id_of(&json!("0x7a69")), Some(31337));
        assert_eq!(chain_id_of(&json!("10")), Some(10));
        assert_eq!(chain_id_of(&json!(null)), None);
    }

    #[test]
    fn decodes_personal_sign_messages() {
        // "Hello Tandem" in UTF-8 hex.
        assert_eq!(
            personal_sign_text("0x48656c6c6f2054616e64656d"),
            SignText::Text("Hello Tandem".into())
        );
        assert_eq!(
            personal_sign_text("0xdeadbeef"),
            SignText::Hex("0xdeadbeef".into())
        );
        assert_eq!(personal_sign_text("0x0001"), SignText::Hex("0x0001".into()));
        assert_eq!(
            personal_sign_text("plain words"),
            SignText::Text("plain words".into())
        );
        assert_eq!(personal_sign_text("0xabc"), SignText::Text("0xabc".into()));
    }

    #[test]
    fn the_same_signed_bytes_read_the_same_however_sent() {
        // A control character sent as a string was shown as text here while
        // the core's display (and so the audit log) called it binary: the
        // window now decides on the signed bytes, as the core does.
        assert_eq!(
            personal_sign_text("hi\u{7}"),
            SignText::Hex("0x686907".into())
        );
        assert_eq!(
            personal_sign_text("0x686907"),
            personal_sign_text("hi\u{7}")
        );
        assert_eq!(
            personal_sign_text("0xDEADBEEF"),
            SignText::Hex("0xdeadbeef".into())
        );
    }
}
