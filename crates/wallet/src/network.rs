//! Networks: the defaults, user edits, and EIP-3085 `wallet_addEthereumChain`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, Result};

/// One EVM network the wallet can talk to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Display name.
    pub name: String,
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// Native currency symbol.
    pub symbol: String,
    /// Decimals of the native currency (EIP-3085 allows any non-negative
    /// integer, read as EIP-20's; 18 is left out of the stored form).
    /// (`u64`: the module's JSON code reads those already; at most 36.)
    #[serde(default = "eighteen", skip_serializing_if = "is_eighteen")]
    pub decimals: u64,
    /// Block explorer base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explorer: Option<String>,
    /// Shipped with Tandem (can be edited, not removed).
    #[serde(default)]
    pub builtin: bool,
}

const fn eighteen() -> u64 {
    18
}

// `allow`, not `expect`: on wasm32 a u64 is twice a pointer and the lint
// does not fire there.
#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if signature"
)]
fn is_eighteen(d: &u64) -> bool {
    *d == 18
}

impl Network {
    fn builtin(chain_id: u64, name: &str, rpc: &str, symbol: &str, explorer: Option<&str>) -> Self {
        Self {
            chain_id,
            name: name.into(),
            rpc_url: rpc.into(),
            symbol: symbol.into(),
            decimals: 18,
            explorer: explorer.map(Into::into),
            builtin: true,
        }
    }

    /// `0x`-hex chain id, as `eth_chainId` answers.
    pub fn chain_id_hex(&self) -> String {
        format!("{:#x}", self.chain_id)
    }

    /// Checks user- or dapp-supplied fields.
    pub fn validate(&self) -> Result<()> {
        if self.chain_id == 0 || self.chain_id > MAX_CHAIN_ID {
            return Err(Error::Invalid(format!(
                "chain id {} is out of range (1..={MAX_CHAIN_ID})",
                self.chain_id
            )));
        }
        check_text(&self.name, "network name", 64)?;
        check_text(&self.symbol, "currency symbol", 12)?;
        check_url(&self.rpc_url, "RPC URL")?;
        if let Some(e) = &self.explorer {
            check_url(e, "block explorer URL")?;
        }
        Ok(())
    }
}

/// Largest chain id accepted (EIP-2294's bound, so it fits JS numbers too).
pub const MAX_CHAIN_ID: u64 = 4_503_599_627_370_476;

/// The local development chain (anvil, hardhat).
pub const LOCAL_CHAIN_ID: u64 = 31337;

/// Ethereum, Sepolia, Base, Optimism, Arbitrum, Polygon and a local 31337 node.
pub fn defaults() -> Vec<Network> {
    vec![
        Network::builtin(
            1,
            "Ethereum",
            "https://ethereum-rpc.publicnode.com",
            "ETH",
            Some("https://etherscan.io"),
        ),
        Network::builtin(
            11_155_111,
            "Sepolia",
            "https://ethereum-sepolia-rpc.publicnode.com",
            "ETH",
            Some("https://sepolia.etherscan.io"),
        ),
        Network::builtin(
            8453,
            "Base",
            "https://mainnet.base.org",
            "ETH",
            Some("https://basescan.org"),
        ),
        Network::builtin(
            10,
            "Optimism",
            "https://mainnet.optimism.io",
            "ETH",
            Some("https://optimistic.etherscan.io"),
        ),
        Network::builtin(
            42161,
            "Arbitrum One",
            "https://arb1.arbitrum.io/rpc",
            "ETH",
            Some("https://arbiscan.io"),
        ),
        Network::builtin(
            137,
            "Polygon",
            "https://polygon-rpc.com",
            "POL",
            Some("https://polygonscan.com"),
        ),
        Network::builtin(
            LOCAL_CHAIN_ID,
            "Localhost 8545",
            "http://127.0.0.1:8545",
            "ETH",
            None,
        ),
    ]
}

fn check_text(s: &str, what: &str, max: usize) -> Result<()> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "{what} must be 1 to {max} printable characters"
        )));
    }
    Ok(())
}

/// An RPC or explorer URL: `https://`, or `http://` only to this machine
/// (plain HTTP to anywhere else would let the network rewrite balances).
pub fn check_url(url: &str, what: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::Invalid(format!("{what} {why}")));
    if url.len() > 2048 || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return bad("must be a single URL without spaces");
    }
    let (scheme, rest) = match url.split_once("://") {
        Some(p) => p,
        None => return bad("must start with https://"),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let hostname = if host.starts_with('[') {
        host.split(']').next().map(|h| &h[1..]).unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    if hostname.is_empty() {
        return bad("has no host");
    }
    if authority.contains('@') {
        return bad("must not contain a user name or password");
    }
    match scheme {
        "https" => Ok(()),
        "http" if matches!(hostname, "localhost" | "127.0.0.1" | "::1") => Ok(()),
        "http" => bad("must use https:// (plain http:// is allowed only for localhost)"),
        _ => bad("must start with https://"),
    }
}

/// Parses a `0x`-hex chain id as EIP-3085/3326 require.
pub fn parse_chain_id(v: &Value) -> Result<u64> {
    let s = v
        .as_str()
        .ok_or_else(|| Error::params("chainId must be a 0x-prefixed hex string"))?;
    let h = s
        .strip_prefix("0x")
        .ok_or_else(|| Error::params("chainId must be a 0x-prefixed hex string"))?;
    if h.is_empty() || h.len() > 16 || h.starts_with('0') {
        return Err(Error::params(
            "chainId must be hex without leading zeros, e.g. 0x1",
        ));
    }
    let id = u64::from_str_radix(h, 16)
        .map_err(|_| Error::params("chainId must be a 0x-prefixed hex string"))?;
    if id == 0 || id > MAX_CHAIN_ID {
        return Err(Error::params(format!("chainId {s} is out of range")));
    }
    Ok(id)
}

/// EIP-3085 `AddEthereumChainParameter` into a [`Network`].
pub fn from_eip3085(p: &Value) -> Result<Network> {
    let obj = p
        .as_object()
        .ok_or_else(|| Error::params("wallet_addEthereumChain takes one object parameter"))?;
    const KNOWN: [&str; 6] = [
        "chainId",
        "chainName",
        "rpcUrls",
        "nativeCurrency",
        "blockExplorerUrls",
        "iconUrls",
    ];
    if let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(Error::params(format!("unknown field `{k}`")));
    }
    let chain_id = parse_chain_id(obj.get("chainId").unwrap_or(&Value::Null))?;
    let name = obj
        .get("chainName")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::params("chainName is required"))?;
    let rpc_url = obj
        .get("rpcUrls")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .find(|u| check_url(u, "").is_ok())
        })
        .ok_or_else(|| Error::params("rpcUrls must hold at least one https:// URL"))?;
    let cur = obj
        .get("nativeCurrency")
        .ok_or_else(|| Error::params("nativeCurrency is required"))?;
    let symbol = cur
        .get("symbol")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::params("nativeCurrency.symbol is required"))?;
    // EIP-3085: "decimals is a non-negative integer, interpreted as in
    // EIP-20"; 36 bounds it as wallet_watchAsset's token decimals.
    let decimals = cur
        .get("decimals")
        .and_then(Value::as_u64)
        .filter(|d| *d <= 36)
        .ok_or_else(|| Error::params("nativeCurrency.decimals must be 0..=36"))?;
    let explorer = match obj.get("blockExplorerUrls") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => a.first().and_then(Value::as_str).map(str::to_owned),
        Some(_) => return Err(Error::params("blockExplorerUrls must be an array")),
    };
    let n = Network {
        chain_id,
        name: name.trim().to_owned(),
        rpc_url: rpc_url.to_owned(),
        symbol: symbol.trim().to_owned(),
        decimals,
        explorer,
        builtin: false,
    };
    n.validate().map_err(|e| Error::params(e.to_string()))?;
    Ok(n)
}
