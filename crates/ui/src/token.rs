//! ERC-20 facts as the token contract itself states them (`symbol()` and
//! `decimals()`, read and decoded by the worker's `token.info` on the
//! request's chain, `tandem_wallet::token`),
//! and token amounts written with them. Never the dapp's word (a permit's
//! domain name, a `wallet_watchAsset` symbol) and never a guess: a token
//! whose calls fail is shown in raw units, named as unknown, by address.

use crate::format::{checksum_address, decimal_to_hex, format_units, is_unlimited};
use crate::model::{chain_id_of, Approval};
use crate::tx::KnownCall;
use crate::view::{el, kv, El};
use crate::{form_err, Result};
use serde_json::{json, Value};

/// What the contract said about itself, for one chain and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFacts {
    /// Chain the calls were made on.
    pub chain_id: u64,
    /// Contract address, lower case.
    pub address: String,
    /// `(symbol, decimals)` when both calls answered readably.
    pub known: Option<(String, u8)>,
}

impl TokenFacts {
    /// From a `token.info` answer: `{ symbol, decimals }` as the worker
    /// decoded them, null where a call failed or was unreadable.
    pub fn from_reply(chain_id: u64, address: &str, reply: &Value) -> Self {
        let symbol = reply
            .get("symbol")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let decimals =
            (reply.get("decimals").and_then(Value::as_u64)).and_then(|d| u8::try_from(d).ok());
        let known = symbol.zip(decimals);
        TokenFacts {
            chain_id,
            address: address.to_ascii_lowercase(),
            known,
        }
    }

    /// A raw amount (decimal or `0x` hex) in the token's units: `1.5 TUSD`,
    /// or `1500000 raw units of an unknown token (0xAbC…)`.
    pub fn amount(&self, raw: &str) -> String {
        match &self.known {
            Some((symbol, decimals)) => match format_units(raw, *decimals, *decimals as usize) {
                Ok(v) => format!("{v} {symbol}"),
                Err(_) => format!("{raw} (raw units of {symbol})"),
            },
            None => format!(
                "{} raw units of an unknown token ({})",
                crate::format::to_decimal(raw).unwrap_or_else(|_| raw.to_owned()),
                checksum_address(&self.address)
            ),
        }
    }

    /// An allowance: "an unlimited amount of TUSD" or [`Self::amount`].
    pub fn allowance(&self, raw: &str) -> String {
        if is_unlimited(raw) {
            match &self.known {
                Some((symbol, _)) => format!("an unlimited amount of {symbol}"),
                None => format!(
                    "an unlimited amount of an unknown token ({})",
                    checksum_address(&self.address)
                ),
            }
        } else {
            self.amount(raw)
        }
    }
}

/// The facts for `address` on `chain_id` among those loaded.
pub fn find<'a>(list: &'a [TokenFacts], chain_id: u64, address: &str) -> Option<&'a TokenFacts> {
    list.iter()
        .find(|t| t.chain_id == chain_id && t.address.eq_ignore_ascii_case(address))
}

/// The chain an approval is signed for: the one the worker put in its
/// display, else the transaction's or the typed data's own.
pub fn chain_of(a: &Approval) -> Option<u64> {
    a.chain()
        .map(|c| c.chain_id)
        .or_else(|| chain_id_of(a.request.get("transaction")?.get("chainId")?))
        .or_else(|| chain_id_of(typed(a)?.get("domain")?.get("chainId")?))
}

fn typed(a: &Approval) -> Option<Value> {
    match a.request.get("typedData")? {
        Value::String(s) => serde_json::from_str(s).ok(),
        v => Some(v.clone()),
    }
}

pub use tandem_wallet::decode::Permit;

/// The permit in a typed-data approval, if it is one, read by the wallet's
/// one reading of permits (`tandem_wallet::decode::permit_of`).
pub fn permit_of(a: &Approval) -> Option<Permit> {
    if a.kind_name() != "typed_data" {
        return None;
    }
    tandem_wallet::decode::permit_of(a.request.get("typedData")?)
}

/// The contracts whose facts an approval needs, on its chain.
pub fn needed(a: &Approval) -> Vec<(u64, String)> {
    let Some(chain) = chain_of(a) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(p) = permit_of(a) {
        out.push((chain, p.token));
    }
    if a.kind_name() == "transaction" {
        let tx = a.request.get("transaction");
        let field = |k: &str| {
            tx.and_then(|t| t.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
        };
        let to = field("to");
        if matches!(
            crate::tx::decode_call(Some(to), field("data")),
            KnownCall::Transfer { .. } | KnownCall::Approve { .. } | KnownCall::TransferFrom { .. }
        ) {
            out.push((chain, to.to_owned()));
        }
    }
    if a.kind_name() == "calls" {
        out.extend(crate::view::call_tokens(a).into_iter().map(|t| (chain, t)));
    }
    out
}

/// A permit's allowance in words, with the token as its contract names it
/// (the dapp's domain `name` is its own claim and is not used for it).
pub fn permit_line(a: &Approval, tokens: &[TokenFacts]) -> Option<El> {
    let p = permit_of(a)?;
    let facts = chain_of(a).and_then(|c| find(tokens, c, &p.token));
    let what = match facts {
        Some(f) => f.allowance(&p.amount),
        None => format!("{} raw units (reading the token contract…)", p.amount),
    };
    let token = match facts.and_then(|f| f.known.as_ref()) {
        Some((symbol, decimals)) => format!(
            "{symbol} ({decimals} decimals, as the contract {} states)",
            checksum_address(&p.token)
        ),
        None => format!("unknown token {}", checksum_address(&p.token)),
    };
    Some(
        el("section")
            .class("card")
            .tid("permit-summary")
            .child(el("h2").text("Token allowance"))
            .child(kv(
                "Allows",
                format!(
                    "{} to spend {what}",
                    crate::format::shorten_address(&p.spender)
                ),
                "permit-amount",
            ))
            .child(kv("Token", token, "permit-token")),
    )
}

/// The `token.info` request for a contract on a chain.
pub fn info_request(chain_id: u64, address: &str) -> Value {
    json!({ "chainId": chain_id, "address": address })
}

/// ERC-20 `transfer(address,uint256)` calldata for `amount` (decimal base units).
pub fn transfer_data(to: &str, amount: &str) -> Result<String> {
    let to = to.trim();
    let to = to.strip_prefix("0x").unwrap_or(to);
    if to.len() != 40 || !to.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(form_err("the recipient is not an address"));
    }
    let hex = decimal_to_hex(amount)?;
    let hex = hex.trim_start_matches("0x");
    if hex.len() > 64 {
        return Err(form_err("the amount does not fit in a token transfer"));
    }
    Ok(format!(
        "0xa9059cbb{:0>64}{:0>64}",
        to.to_ascii_lowercase(),
        hex
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A `token.info` answer as the worker sends it (decoded, `null` where
    /// unknown; `tandem_wallet::token::info_read`).
    fn facts(symbol: Value, decimals: Value) -> TokenFacts {
        TokenFacts::from_reply(
            1,
            "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
            &json!({"symbol": symbol, "decimals": decimals}),
        )
    }

    #[test]
    fn amounts_use_the_contracts_facts_or_say_unknown() {
        let usdc = facts(json!("USDC"), json!(6));
        assert_eq!(usdc.amount("1500000"), "1.5 USDC");
        assert_eq!(usdc.amount("0x16e360"), "1.5 USDC");
        assert_eq!(usdc.amount("1"), "0.000001 USDC");
        assert_eq!(
            usdc.allowance(&format!("0x{}", "f".repeat(64))),
            "an unlimited amount of USDC"
        );
        let unknown = facts(Value::Null, Value::Null);
        assert_eq!(
            unknown.amount("1500000"),
            "1500000 raw units of an unknown token (0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48)"
        );
        // One call failing is enough to be unknown: no guessed decimals.
        assert_eq!(facts(json!("USDC"), Value::Null).known, None);
        assert!(find(
            std::slice::from_ref(&usdc),
            1,
            "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
        )
        .is_some());
        assert!(find(&[usdc], 137, "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48").is_none());
    }

    #[test]
    fn a_permit_shows_the_contracts_symbol_not_the_domain_name() {
        // EIP-2612's Permit, with a domain name that claims another token.
        let a = Approval::example(
            "typed_data",
            "https://dapp.example",
            json!({"typedData": {
                "domain": {"name": "USD Coin", "version": "1", "chainId": 31337,
                           "verifyingContract": "0x5fbdb2315678afecb367f032d93f642f64180aa3"},
                "types": {}, "primaryType": "Permit",
                "message": {"owner": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                            "spender": "0x000000000000000000000000000000000000dEaD",
                            "value": "2500000", "nonce": "0", "deadline": "1"}}}),
            serde_json::Value::Null,
        );
        assert_eq!(
            needed(&a),
            vec![(
                31337,
                "0x5fbdb2315678afecb367f032d93f642f64180aa3".to_owned()
            )]
        );
        let f = TokenFacts::from_reply(
            31337,
            "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            &json!({"symbol": "TUSD", "decimals": 6}),
        );
        let v = permit_line(&a, &[f]).unwrap();
        assert_eq!(
            v.find("permit-amount").unwrap().text_content(),
            "0x0000…dEaD to spend 2.5 TUSD"
        );
        assert!(v
            .find("permit-token")
            .unwrap()
            .text_content()
            .contains("TUSD (6 decimals"));
        assert!(!v.text_content().contains("USD Coin"));
        // Facts of the same address on another chain are not used.
        let other = TokenFacts::from_reply(
            1,
            "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            &json!({"symbol": "USDC", "decimals": 18}),
        );
        let v = permit_line(&a, &[other]).unwrap();
        assert!(v
            .find("permit-amount")
            .unwrap()
            .text_content()
            .contains("2500000 raw units"));
    }

    #[test]
    fn a_permit2_single_names_the_token_in_its_details() {
        // Uniswap Permit2's PermitSingle (github.com/Uniswap/permit2,
        // src/interfaces/IAllowanceTransfer.sol): the token is in `details`,
        // the domain's verifying contract is Permit2 itself.
        let a = Approval::example(
            "typed_data",
            "https://dapp.example",
            json!({"typedData": serde_json::to_string(&json!({
                "domain": {"name": "Permit2", "chainId": 1,
                           "verifyingContract": "0x000000000022D473030F116dDEE9F6B43aC78BA3"},
                "types": {}, "primaryType": "PermitSingle",
                "message": {"details": {"token": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
                                        "amount": "1461501637330902918203684832716283019655932542975",
                                        "expiration": "1", "nonce": "0"},
                            "spender": "0x000000000000000000000000000000000000dEaD",
                            "sigDeadline": "1"}})).unwrap()}),
            serde_json::Value::Null,
        );
        assert_eq!(
            needed(&a),
            vec![(1, "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48".to_owned())]
        );
        let f = facts(json!("USDC"), json!(6));
        let v = permit_line(&a, &[f]).unwrap();
        // 2^160 - 1, Permit2's "unlimited".
        assert_eq!(
            v.find("permit-amount").unwrap().text_content(),
            "0x0000…dEaD to spend an unlimited amount of USDC"
        );
    }

    #[test]
    fn transfer_calldata_matches_the_abi() {
        // transfer(0x7099…79C8, 1500000): selector a9059cbb = keccak256("transfer(address,uint256)")[..4].
        assert_eq!(
            transfer_data("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "1500000").unwrap(),
            "0xa9059cbb00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c8000000000000000000000000000000000000000000000000000000000016e360"
        );
        assert!(transfer_data("0x1234", "1").is_err());
        // And the window's decoder reads back what Send encoded.
        let data = transfer_data("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "42").unwrap();
        assert_eq!(
            crate::tx::decode_call(Some("0x5FbDB2315678afecb367f032d93F642f64180aa3"), &data),
            crate::tx::KnownCall::Transfer {
                to: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".into(),
                amount: "42".into()
            }
        );
    }
}
