//! What the worker's features outside the core read of the wallet: the
//! state JSON the core hands the worker (`stateJson`), parsed on its own.
//!
//! The portfolio and the fee plan run in the worker's third module
//! (crates/wasm-extra), which does not hold the core's [`crate::State`]:
//! they take the state as JSON, as the worker has it, and read only the
//! accounts, the networks and the watched tokens from it. A field the state
//! gains later is ignored here.

use alloy_primitives::Address;
use serde::Deserialize;

use crate::{Asset, Error, Network, Result};

/// An account, as far as the portfolio cares: its address.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Holder {
    /// Its address.
    pub address: Address,
}

/// The accounts, networks and watched tokens of the wallet's state JSON.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Holdings {
    /// Accounts, in keyring order.
    pub accounts: Vec<Holder>,
    /// The active account.
    #[serde(default)]
    pub selected: Option<Address>,
    /// Known networks.
    pub networks: Vec<Network>,
    /// The active network.
    pub chain_id: u64,
    /// Watched tokens, of every network.
    #[serde(default)]
    pub assets: Vec<Asset>,
}

impl Holdings {
    /// Parses the state JSON the core gives the worker ([`crate::State::to_json`]).
    pub fn from_json(state: &str) -> Result<Self> {
        serde_json::from_str(state)
            .map_err(|e| Error::Invalid(format!("the wallet's state is not readable here: {e}")))
    }

    /// The network of `chain_id`, if the wallet has it.
    pub fn network_of(&self, chain_id: u64) -> Option<&Network> {
        self.networks.iter().find(|n| n.chain_id == chain_id)
    }
}
