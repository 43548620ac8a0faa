//! What the worker hands the popup, typed: the very types the popup reads
//! (`tandem-ui`) and its producers' tests read their output into, so that
//! a change on either side fails a test instead of rendering blanks.

use serde::{Deserialize, Serialize};

/// The worker's `portfolio` answer ([`crate::portfolio::view`]): the
/// selected account's record on the selected network at the top level
/// (its fields empty when it was never read), and `all`, every record of
/// the wallet's accounts and networks (empty in a record itself).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortfolioView {
    /// The account (as the core writes addresses).
    #[serde(default)]
    pub address: String,
    /// The network.
    #[serde(default)]
    pub chain_id: u64,
    /// The native coin.
    #[serde(default)]
    pub native: NativeBalance,
    /// The network's tokens of the wallet.
    #[serde(default)]
    pub tokens: Vec<TokenBalance>,
    /// When it was read (ms since the Unix epoch; 0: never).
    #[serde(default)]
    pub updated_at: u64,
    /// Every record (in the answer only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub all: Vec<PortfolioView>,
}

/// A native balance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeBalance {
    /// The currency's symbol.
    pub symbol: String,
    /// Wei, `0x` hex.
    pub balance: String,
}

/// A token's balance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBalance {
    /// The token contract.
    pub address: String,
    /// Its symbol.
    pub symbol: String,
    /// Its decimals.
    pub decimals: u8,
    /// Raw balance, `0x` hex; empty when the node did not answer it.
    #[serde(default)]
    pub balance: String,
}
