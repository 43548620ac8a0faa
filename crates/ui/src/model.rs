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

/// One network, as the core stores and sends it (`wallet.network()`, the
/// state's `networks`): the very type, so that a change there cannot
/// silently break the view (issue 13, items 2 and 16).
pub use tandem_wallet::Network;

/// A network nobody named: chain 0, no name or RPC (the new-network form
/// starts from it too; the core's own "unknown" entry).
pub fn unknown_network() -> Network {
    tandem_wallet::display::unknown(0)
}

/// What the views read of a [`Network`].
pub trait NetworkExt {
    /// The chain id.
    fn id(&self) -> u64;
    /// Decimals of the native currency (EIP-3085 allows more than a `u8`
    /// holds; no real currency has more than 36).
    fn decimals(&self) -> u8;
}

impl NetworkExt for Network {
    fn id(&self) -> u64 {
        self.chain_id
    }

    fn decimals(&self) -> u8 {
        u8::try_from(self.decimals).unwrap_or(u8::MAX)
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
    /// The selected network; before the worker named one (never, from a
    /// working worker), one that says so.
    pub fn current_network(&self) -> Network {
        self.network.clone().unwrap_or_else(unknown_network)
    }

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

/// The worker's `portfolio` answer and its parts: the very types its
/// producer's tests read its output into (`tandem_wallet::shown`).
pub use tandem_wallet::shown::{NativeBalance, PortfolioView as Portfolio, TokenBalance};

/// One of the user's transactions, as the worker's `activity` answer
/// lists it: the one type its producers (the core's own transactions, the
/// sync module's for the group's other devices) are checked against.
pub use tandem_sync::view::ShownActivity as ActivityItem;

/// A pending approval as the worker answers `approvals.get`: the core's
/// approval (its very type: `wallet.approval(id)`), with what the core and
/// the worker's queue add to it. Reads of the core's fields go through
/// `Deref`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    /// The approval as the core keeps it.
    #[serde(flatten)]
    pub core: tandem_wallet::Approval,
    /// The rule of the phone's policy that covers it: approving here asks
    /// the phone (`needsPhone`, the core's `Wallet::needs_phone`).
    #[serde(default)]
    pub needs_phone: Option<tandem_confirm::Rule>,
    /// More requests from the same site waiting behind this one (in this
    /// window; the worker's queue).
    #[serde(default)]
    pub queued: u32,
}

impl core::ops::Deref for Approval {
    type Target = tandem_wallet::Approval;

    fn deref(&self) -> &Self::Target {
        &self.core
    }
}

impl Approval {
    /// The kind's name as the core serializes it (`personal_sign`,
    /// `typed_data`, `transaction`, ...).
    pub fn kind_name(&self) -> &'static str {
        use tandem_wallet::approval::ApprovalKind as K;
        match self.core.kind {
            K::Connect => "connect",
            K::PersonalSign => "personal_sign",
            K::TypedData => "typed_data",
            K::Transaction => "transaction",
            K::AddChain => "add_chain",
            K::SwitchChain => "switch_chain",
            K::WatchAsset => "watch_asset",
            K::Calls => "calls",
        }
    }

    /// An approval of `kind` (as the core names it) from `origin`, as the
    /// worker sends one (id 1, nothing queued): for tests and previews.
    /// Panics on a kind the core does not have.
    pub fn example(kind: &str, origin: &str, request: Value, display: Value) -> Self {
        serde_json::from_value(serde_json::json!({
            "id": 1, "origin": origin, "kind": kind, "request": request,
            "display": display, "createdAt": 0, "replyTo": null
        }))
        .expect("a kind the core has")
    }

    /// Approved here, waiting for the phone (confirm on phone): the part of
    /// the core's stored wait the window shows.
    pub fn phone_wait(&self) -> Option<crate::confirm::PhoneWait> {
        serde_json::from_value(self.core.phone.clone()?).ok()
    }
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

    /// What the worker sends, made by the producers' own code: the core's
    /// networks and transactions as they serialize (the worker passes them
    /// through), read into the types the views use (issue 13, items 2, 16).
    #[test]
    fn reads_what_the_core_sends() {
        let networks = serde_json::to_value(tandem_wallet::network::defaults()).unwrap();
        let read: Vec<Network> = serde_json::from_value(networks).unwrap();
        assert_eq!(read, tandem_wallet::network::defaults());
        assert!(read.iter().any(|n| n.id() == 1 && n.decimals() == 18));

        let own = tandem_wallet::Activity {
            hash: format!("0x{}", "ab".repeat(32)),
            chain_id: 31337,
            from: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
                .parse()
                .unwrap(),
            to: None,
            value: "0xde0b6b3a7640000".parse().unwrap(),
            status: tandem_wallet::TxStatus::Confirmed,
            origin: Some("https://app.example".into()),
            submitted_at: 1_700_000_000_000,
            block_number: Some(7),
            warning: None,
        };
        // The worker's list is the core's, newest first.
        let list = serde_json::to_value(vec![&own]).unwrap();
        let read: Vec<ActivityItem> = serde_json::from_value(list).unwrap();
        let a = &read[0];
        assert_eq!(
            (a.chain_id, a.status, a.submitted_at, a.block_number),
            (
                31337,
                tandem_sync::ActivityStatus::Confirmed,
                1_700_000_000_000,
                Some(7)
            )
        );
        assert_eq!(
            a.from.to_lowercase(),
            "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
        );
        assert_eq!(a.value, "0xde0b6b3a7640000");
        assert_eq!((a.to.as_deref(), a.sent_from.as_deref()), (None, None));
        assert_eq!(a.origin.as_deref(), Some("https://app.example"));
        // Every status the core has reads as the same one.
        for (core, shown) in [
            (
                tandem_wallet::TxStatus::Pending,
                tandem_sync::ActivityStatus::Pending,
            ),
            (
                tandem_wallet::TxStatus::Failed,
                tandem_sync::ActivityStatus::Failed,
            ),
        ] {
            let v = serde_json::to_value(tandem_wallet::Activity {
                status: core,
                ..own.clone()
            })
            .unwrap();
            assert_eq!(
                serde_json::from_value::<ActivityItem>(v).unwrap().status,
                shown
            );
        }
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
