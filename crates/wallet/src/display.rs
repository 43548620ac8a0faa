//! What an approval window is shown about networks. The worker puts
//! [`Network`] entries into [`crate::Approval::display`] (`chain` of a
//! signature or transaction, `from`/`to` of a switch, `network`/`alreadyKnown`
//! of an add) and the approval page (`tandem-ui`) reads them back with these
//! types, so the two cannot drift apart. The core module serializes only
//! [`Network`], whose code it has anyway (the wallet state holds networks):
//! nothing here grows it but [`unknown`] and [`merge`].

use serde::{Deserialize, Serialize};

use crate::Network;

/// Decimals of every chain's native currency in Tandem: it takes only 18
/// (`wallet_addEthereumChain` refuses others), as every chain it ships does.
pub const NATIVE_DECIMALS: u8 = 18;

/// The entry for a chain Tandem no longer has (removed since the request
/// came): its id only, an empty name and RPC; never the selected network.
pub fn unknown(chain_id: u64) -> Network {
    Network {
        chain_id,
        name: String::new(),
        rpc_url: String::new(),
        symbol: String::new(),
        decimals: 18,
        explorer: None,
        builtin: false,
    }
}

/// Whether Tandem has the network (see [`unknown`]).
pub fn known(n: &Network) -> bool {
    !n.rpc_url.is_empty()
}

/// Its name, or `chain N` when Tandem no longer has it.
pub fn label(n: &Network) -> String {
    if n.name.is_empty() {
        format!("chain {}", n.chain_id)
    } else {
        n.name.clone()
    }
}

/// What the approval window warns when the user has since selected another
/// network (`selected`) than the one `n` a request is for: it is still
/// signed for `n`.
pub fn mismatch(n: &Network, selected: u64) -> Option<String> {
    (selected != n.chain_id).then(|| {
        let name = label(n);
        format!(
            "this request is for {name} (chain {}), not the network Tandem now uses: \
             it is signed for {name}",
            n.chain_id
        )
    })
}

/// `wallet_switchEthereumChain`: from the selected network to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchChainView {
    /// The network selected when the site asked.
    pub from: Network,
    /// The network the site asks for.
    pub to: Network,
}

/// `wallet_addEthereumChain`: a new network, or changes to a known one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddChainView {
    /// The network as it will be after approving ([`merge`]).
    pub network: Network,
    /// The entry Tandem has for this chain id now, if any.
    pub already_known: Option<Network>,
}

/// One field of a known network that approving `wallet_addEthereumChain`
/// changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkChange {
    /// Its label for people: `Name`, `RPC URL`, `Currency`, `Block explorer`.
    pub label: &'static str,
    /// `name`, `rpcUrl`, `symbol` or `explorer`.
    pub field: &'static str,
    /// The value Tandem has now (empty: none).
    pub old: String,
    /// The value after approving (empty: none).
    pub new: String,
}

/// The entry approving `proposed` leaves. A known entry takes the site's
/// name, RPC and currency; it stays built-in, and keeps its explorer when
/// the site names none (leaving it out is not asking to drop it).
pub fn merge(existing: Option<&Network>, proposed: &Network) -> Network {
    let mut after = proposed.clone();
    if let Some(old) = existing {
        after.builtin = old.builtin;
        if after.explorer.is_none() {
            after.explorer.clone_from(&old.explorer);
        }
    }
    after
}

impl AddChainView {
    /// What approving changes in the known entry: empty when the chain is
    /// new, or known exactly as the site describes it (approving then only
    /// switches to it).
    pub fn changes(&self) -> Vec<NetworkChange> {
        let Some(old) = &self.already_known else {
            return Vec::new();
        };
        let new = &self.network;
        let opt = |o: &Option<String>| o.clone().unwrap_or_default();
        [
            ("Name", "name", old.name.clone(), new.name.clone()),
            (
                "RPC URL",
                "rpcUrl",
                old.rpc_url.clone(),
                new.rpc_url.clone(),
            ),
            ("Currency", "symbol", old.symbol.clone(), new.symbol.clone()),
            (
                "Decimals",
                "decimals",
                old.decimals.to_string(),
                new.decimals.to_string(),
            ),
            (
                "Block explorer",
                "explorer",
                opt(&old.explorer),
                opt(&new.explorer),
            ),
        ]
        .into_iter()
        .filter(|(_, _, o, n)| o != n)
        .map(|(label, field, old, new)| NetworkChange {
            label,
            field,
            old,
            new,
        })
        .collect()
    }
}
