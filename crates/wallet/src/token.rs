//! What an ERC-20 contract says of itself (`symbol()`, `decimals()`) and
//! the gas price Send's Max keeps a fee for, read outside the core: the
//! calls the worker sends (one [`Batch`] to the node of the chain asked
//! about) and the answers decoded. The pages get decoded facts, never raw
//! ABI: this is the one decoder of a token's answers.

use serde::Serialize;
use serde_json::{json, Value};

use crate::rpc::{self, Batch};
use crate::{Error, Holdings, Result};

/// `symbol()`'s selector: keccak256("symbol()")[..4].
pub const SYMBOL: &str = "0x95d89b41";
/// `decimals()`'s selector: keccak256("decimals()")[..4].
pub const DECIMALS: &str = "0x313ce567";
/// Longest symbol shown; longer answers are treated as unreadable.
pub const MAX_SYMBOL_CHARS: usize = 32;
/// Most decimals a `uint256` amount can use (10^77 < 2^256 < 10^78).
pub const MAX_DECIMALS: u8 = 77;

/// A contract's facts as the pages get them (`token.info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Info {
    /// Chain the calls were made on.
    pub chain_id: u64,
    /// Contract address, lower case.
    pub address: String,
    /// `symbol()`, when it answered readable text ([`abi_string`]).
    pub symbol: Option<String>,
    /// `decimals()`, when it answered one small word ([`abi_decimals`]).
    pub decimals: Option<u8>,
}

/// The network of `chain_id` in `wallet`, or why there is none.
fn url_of(wallet: &Holdings, chain_id: u64) -> Result<String> {
    wallet
        .network_of(chain_id)
        .map(|n| n.rpc_url.clone())
        .ok_or_else(|| Error::UnknownChain(format!("the wallet has no network {chain_id}")))
}

/// The lower-case `0x` address of 40 hex digits `address` is, or the
/// error `token.info` is refused with.
pub fn address_of(address: &str) -> Result<String> {
    let a = address.to_ascii_lowercase();
    let ok = a.len() == 42 && a.starts_with("0x") && a[2..].bytes().all(|b| b.is_ascii_hexdigit());
    ok.then_some(a).ok_or_else(|| {
        Error::Invalid(
            "token.info takes { chainId, address } with a 0x address of 40 hex digits".into(),
        )
    })
}

/// The calls that read `address`'s `symbol()` and `decimals()` on
/// `chain_id` (`eth_call` at the latest block, in that order).
pub fn info_plan(wallet: &Holdings, chain_id: u64, address: &str) -> Result<Batch> {
    let address = address_of(address)?;
    let call = |data: &str| {
        (
            "eth_call",
            json!([{ "to": address, "data": data }, "latest"]),
        )
    };
    Ok(Batch {
        url: url_of(wallet, chain_id)?,
        calls: vec![call(SYMBOL), call(DECIMALS)],
    })
}

/// The answers to [`info_plan`] decoded, and whether they may be kept for
/// the worker's life: only when both calls answered at least one ABI word
/// (an address without code answers `0x`, and may get code later).
pub fn info_read(chain_id: u64, address: &str, answers: &[Result<Value, Value>]) -> (Info, bool) {
    let hex = |i: usize| match answers.get(i) {
        Some(Ok(Value::String(s))) => s.as_str(),
        _ => "",
    };
    let info = Info {
        chain_id,
        address: address.to_ascii_lowercase(),
        symbol: abi_string(hex(0)),
        decimals: abi_decimals(hex(1)),
    };
    (info, hex(0).len() >= 66 && hex(1).len() >= 66)
}

/// The call Send's Max reads the gas price of `chain_id` with.
pub fn gas_price_plan(wallet: &Holdings, chain_id: u64) -> Result<Batch> {
    Ok(Batch {
        url: url_of(wallet, chain_id)?,
        calls: vec![("eth_gasPrice", json!([]))],
    })
}

/// The answer to [`gas_price_plan`]: the gas price in wei, or the error
/// object (the node's, or Tandem's when it is not a quantity or above
/// [`rpc::FEE_CAP_WEI`]).
pub fn gas_price_read(answers: &[Result<Value, Value>]) -> Result<u128, Value> {
    let answer = answers.first().cloned().unwrap_or(Ok(Value::Null))?;
    let wei = rpc::quantity(&answer).ok_or_else(|| {
        Error::Invalid("the network's RPC answered a gas price that is not a number".into())
            .to_rpc()
    })?;
    rpc::check_fee("gas price", wei).map_err(|e| e.to_rpc())?;
    Ok(wei)
}

fn bytes(hex: &str) -> Option<Vec<u8>> {
    let h = hex.strip_prefix("0x")?;
    if h.len() % 2 != 0 || !h.is_ascii() {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).ok())
        .collect()
}

/// `decimals()`'s answer: one ABI word holding at most [`MAX_DECIMALS`].
pub fn abi_decimals(hex: &str) -> Option<u8> {
    let b = bytes(hex)?;
    let w = b.get(..32)?;
    if w[..31].iter().any(|&x| x != 0) || w[31] > MAX_DECIMALS {
        return None;
    }
    Some(w[31])
}

/// `symbol()`'s answer: an ABI `string`, or a `bytes32` as some early tokens
/// (MKR) return. Text with control, bidirectional or invisible characters,
/// or longer than [`MAX_SYMBOL_CHARS`], is unreadable: a symbol is shown
/// next to amounts and must not be able to rearrange or hide them.
pub fn abi_string(hex: &str) -> Option<String> {
    let b = bytes(hex)?;
    let data: &[u8] = if b.len() == 32 {
        let end = b.iter().position(|&x| x == 0).unwrap_or(32);
        &b[..end]
    } else {
        let word = |at: usize| -> Option<usize> {
            let w = b.get(at..at.checked_add(32)?)?;
            if w[..24].iter().any(|&x| x != 0) {
                return None;
            }
            let mut n = [0u8; 8];
            n.copy_from_slice(&w[24..]);
            usize::try_from(u64::from_be_bytes(n)).ok()
        };
        let offset = word(0)?;
        let len = word(offset)?;
        let start = offset.checked_add(32)?;
        b.get(start..start.checked_add(len)?)?
    };
    let s = std::str::from_utf8(data).ok()?.trim();
    let readable = !s.is_empty()
        && s.chars().count() <= MAX_SYMBOL_CHARS
        && !s.chars().any(|c| c.is_control() || hidden(c));
    readable.then(|| s.to_owned())
}

/// Characters that reorder or hide text: bidirectional controls and
/// zero-width or invisible characters.
fn hidden(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}' | '\u{061c}' | '\u{00ad}')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    // ABI encodings from the Solidity ABI spec's rules (docs.soliditylang.org,
    // "Formal Specification of the Encoding"): a dynamic `string` is an
    // offset word, a length word, then the bytes padded to 32.
    const USDC_SYMBOL: &str = "0x0000000000000000000000000000000000000000000000000000000000000020\
                               0000000000000000000000000000000000000000000000000000000000000004\
                               5553444300000000000000000000000000000000000000000000000000000000";
    // MKR's symbol() answers bytes32 "MKR" (etherscan, token 0x9f8F72aA…).
    const MKR_SYMBOL: &str = "0x4d4b520000000000000000000000000000000000000000000000000000000000";
    const TOKEN: &str = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48";

    fn wallet() -> Holdings {
        Holdings::from_json(
            r#"{"accounts":[],"chainId":1,"networks":[{"chainId":1,"name":"Ethereum",
                "rpcUrl":"https://rpc.example/key12345678","symbol":"ETH"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn selectors_are_the_functions_keccak() {
        for (sel, sig) in [(SYMBOL, "symbol()"), (DECIMALS, "decimals()")] {
            let h = alloy_primitives::keccak256(sig.as_bytes());
            assert_eq!(sel, format!("0x{}", alloy_primitives::hex::encode(&h[..4])));
        }
    }

    #[test]
    fn the_plan_calls_symbol_then_decimals_on_the_chains_node() {
        let b = info_plan(&wallet(), 1, TOKEN).unwrap();
        assert_eq!(b.url, "https://rpc.example/key12345678");
        let to = TOKEN.to_ascii_lowercase();
        assert_eq!(
            b.calls,
            vec![
                (
                    "eth_call",
                    json!([{"to": to, "data": "0x95d89b41"}, "latest"])
                ),
                (
                    "eth_call",
                    json!([{"to": to, "data": "0x313ce567"}, "latest"])
                ),
            ]
        );
        let e = info_plan(&wallet(), 1, "0x2000").unwrap_err();
        assert!(e.to_string().contains("40 hex digits"), "{e}");
        assert_eq!(e.kind(), "InvalidInput");
        assert!(info_plan(&wallet(), 1, &format!("0x{}", "g".repeat(40))).is_err());
        assert_eq!(
            info_plan(&wallet(), 5, TOKEN).unwrap_err().kind(),
            "UnknownChain"
        );
    }

    #[test]
    fn answers_are_decoded_and_kept_only_when_complete() {
        let six = format!("0x{:064x}", 6);
        let (info, keep) = info_read(1, TOKEN, &[Ok(json!(USDC_SYMBOL)), Ok(json!(six))]);
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            json!({"chainId": 1, "address": TOKEN.to_ascii_lowercase(), "symbol": "USDC", "decimals": 6})
        );
        assert!(keep);
        // No code yet ("0x"), a failed call, a missing answer: not kept.
        let (info, keep) = info_read(1, TOKEN, &[Ok(json!("0x")), Err(json!({"code": 3}))]);
        assert_eq!((info.symbol, info.decimals, keep), (None, None, false));
        assert!(!info_read(1, TOKEN, &[Ok(json!(USDC_SYMBOL))]).1);
    }

    #[test]
    fn the_gas_price_is_a_checked_quantity() {
        let b = gas_price_plan(&wallet(), 1).unwrap();
        assert_eq!(b.calls, vec![("eth_gasPrice", json!([]))]);
        assert!(gas_price_plan(&wallet(), 5).is_err());
        assert_eq!(
            gas_price_read(&[Ok(json!("0x3b9aca00"))]),
            Ok(1_000_000_000)
        );
        assert!(gas_price_read(&[Ok(json!(12))]).is_err());
        assert!(gas_price_read(&[]).is_err());
        let node = json!({"code": -32000, "message": "down"});
        assert_eq!(gas_price_read(&[Err(node.clone())]), Err(node));
        // Above the fee cap (50,000 gwei): refused, not used for Max.
        let over = format!("{:#x}", rpc::FEE_CAP_WEI + 1);
        assert!(gas_price_read(&[Ok(json!(over))]).is_err());
    }

    #[test]
    fn symbols_decode_from_string_and_bytes32_answers() {
        assert_eq!(abi_string(USDC_SYMBOL).as_deref(), Some("USDC"));
        assert_eq!(abi_string(MKR_SYMBOL).as_deref(), Some("MKR"));
        assert_eq!(abi_string("0x"), None);
        assert_eq!(abi_string("0x12"), None);
        // A length that runs past the answer.
        let long = USDC_SYMBOL.replace(
            "0000000000000000000000000000000000000000000000000000000000000004",
            "00000000000000000000000000000000000000000000000000000000000000ff",
        );
        assert_eq!(abi_string(&long), None);
        // An offset that points outside.
        let off = USDC_SYMBOL.replacen(
            "0000000000000000000000000000000000000000000000000000000000000020",
            "0000000000000000000000000000000000000000000000000000000000000400",
            1,
        );
        assert_eq!(abi_string(&off), None);
    }

    #[test]
    fn symbols_that_could_disguise_an_amount_are_unreadable() {
        let enc = |s: &str| {
            let b = s.as_bytes();
            let mut out = format!("0x{:064x}{:064x}", 32, b.len());
            for x in b {
                out.push_str(&format!("{x:02x}"));
            }
            while (out.len() - 2) % 64 != 0 {
                out.push('0');
            }
            out
        };
        assert_eq!(abi_string(&enc("TUSD")).as_deref(), Some("TUSD"));
        // Right-to-left override, zero-width space, newline, runaway length.
        assert_eq!(abi_string(&enc("USD\u{202e}C")), None);
        assert_eq!(abi_string(&enc("US\u{200b}DC")), None);
        assert_eq!(abi_string(&enc("USDC\n1000")), None);
        assert_eq!(abi_string(&enc(&"X".repeat(33))), None);
    }

    #[test]
    fn decimals_are_one_small_word() {
        assert_eq!(abi_decimals(&format!("0x{:064x}", 6)), Some(6));
        assert_eq!(abi_decimals(&format!("0x{:064x}", 18)), Some(18));
        assert_eq!(abi_decimals(&format!("0x{:064x}", 78)), None);
        assert_eq!(abi_decimals(&format!("0x{:064x}", 256)), None);
        assert_eq!(abi_decimals("0x06"), None);
        assert_eq!(abi_decimals("0x"), None);
        assert_eq!(abi_decimals("not hex"), None);
    }
}
