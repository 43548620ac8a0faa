//! The audit entry for a site's request the user answered: which site,
//! which method, on which chain, what it was (a one-line summary), and the
//! answer. Built from the approval as the wallet queued it
//! (`tandem_wallet::Approval`'s JSON form: `origin`, `kind`, `request`,
//! `display`), so every device's log says the same thing the approval
//! window showed.

use serde_json::Value;

use crate::audit::Happened;

/// The entry for `approval` answered `approved` on `approved_on` (a
/// device id in hex: the device that approved it, or the phone that
/// rejected it; `None` for a rejection here or a request withdrawn, its
/// window or tab closed). `None` for a request that signs and sends
/// nothing (connect, switch network, add a token): the log records what
/// could move funds or sign for the user.
pub fn sign_entry(
    approval: &Value,
    approved: bool,
    approved_on: Option<String>,
) -> Option<Happened> {
    let request = approval.get("request")?;
    let display = approval.get("display").unwrap_or(&Value::Null);
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let site = text(approval, "origin")?;
    let method = text(request, "method")?;
    let summary = match approval.get("kind").and_then(Value::as_str)? {
        "personal_sign" => message_summary(display),
        "typed_data" => typed_data_summary(request),
        "transaction" => transaction_summary(request, display),
        "calls" => calls_summary(request, display),
        _ => return None,
    };
    let chain = chain_of(request, display);
    Some(Happened::Sign {
        site,
        method,
        chain,
        summary,
        approved,
        approved_on,
    })
}

/// The chain the request is for: a transaction names it; a signature is
/// for the network shown with it.
fn chain_of(request: &Value, display: &Value) -> u64 {
    let from_tx = request
        .pointer("/transaction/chainId")
        .and_then(Value::as_str)
        .and_then(|c| u64::from_str_radix(c.strip_prefix("0x")?, 16).ok());
    from_tx
        .or_else(|| display.pointer("/chain/chainId").and_then(Value::as_u64))
        .unwrap_or(0)
}

fn message_summary(display: &Value) -> String {
    match display.get("text").and_then(Value::as_str) {
        // The first line, as the approval window showed it.
        Some(t) => format!("message: {}", t.lines().next().unwrap_or_default()),
        None => {
            let hex = display.get("hex").and_then(Value::as_str).unwrap_or("0x");
            format!("binary message ({} bytes)", hex.len().saturating_sub(2) / 2)
        }
    }
}

fn typed_data_summary(request: &Value) -> String {
    let data: Value = request
        .get("typedData")
        .and_then(Value::as_str)
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null);
    let primary = data
        .get("primaryType")
        .and_then(Value::as_str)
        .unwrap_or("?");
    match data.pointer("/domain/name").and_then(Value::as_str) {
        Some(name) => format!("typed data {primary} for {name}"),
        None => format!("typed data {primary}"),
    }
}

fn transaction_summary(request: &Value, display: &Value) -> String {
    let tx = request.get("transaction").unwrap_or(&Value::Null);
    let value = tx.get("value").and_then(Value::as_str).unwrap_or("0x0");
    let symbol = display
        .pointer("/chain/symbol")
        .and_then(Value::as_str)
        .unwrap_or("native units");
    let amount = format!("{} {symbol}", ether(value));
    let to = match tx.get("to").and_then(Value::as_str) {
        Some(to) => format!("to {to}"),
        None => "deploying a contract".to_owned(),
    };
    let call = match display.pointer("/call/function").and_then(Value::as_str) {
        Some(f) => format!(", calls {f}"),
        None if tx
            .get("data")
            .and_then(Value::as_str)
            .is_some_and(|d| d.len() > 2) =>
        {
            ", with contract data".to_owned()
        }
        None => String::new(),
    };
    format!("send {amount} {to}{call}")
}

/// An EIP-5792 bundle: each call as a transaction is said, in order (each
/// call's display names its chain, as a transaction's does).
fn calls_summary(request: &Value, display: &Value) -> String {
    let calls = request.get("calls").and_then(Value::as_array);
    let each: Vec<String> = calls
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, tx)| {
            let shown = display
                .pointer(&format!("/calls/{i}"))
                .unwrap_or(&Value::Null);
            transaction_summary(&serde_json::json!({ "transaction": tx }), shown)
        })
        .collect();
    format!("{} calls in one bundle: {}", each.len(), each.join("; "))
}

/// A 0x quantity of wei in whole units (18 decimals), trailing zeros cut;
/// the hex itself when it is not a quantity.
fn ether(hex: &str) -> String {
    let Some(wei) = hex
        .strip_prefix("0x")
        .and_then(|h| u128::from_str_radix(h, 16).ok())
    else {
        return hex.to_owned();
    };
    const ONE: u128 = 1_000_000_000_000_000_000;
    let frac = format!("{:018}", wei % ONE);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{}", wei / ONE)
    } else {
        format!("{}.{frac}", wei / ONE)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    // The approvals below are in the form `tandem_wallet` queues them
    // (crates/wallet/src/provider.rs: `request` and `display` of each kind).
    fn tx(value: &str, data: Option<&str>, call: Value) -> Value {
        let mut t = json!({"from": "0x1", "to": "0xabc", "value": value, "chainId": "0x7a69"});
        if let Some(d) = data {
            t["data"] = json!(d);
        }
        json!({
            "origin": "https://dapp.example", "kind": "transaction",
            "request": {"method": "eth_sendTransaction", "address": "0x1", "transaction": t},
            "display": {"chain": {"chainId": 1, "symbol": "ETH"}, "call": call},
        })
    }

    #[test]
    fn a_transaction_names_its_own_chain_amount_and_call() {
        let e = sign_entry(&tx("0x1bc16d674ec80000", None, Value::Null), true, None).unwrap();
        assert_eq!(
            e,
            Happened::Sign {
                site: "https://dapp.example".into(),
                method: "eth_sendTransaction".into(),
                // 0x7a69 from the transaction, not the display's chain 1.
                chain: 31337,
                summary: "send 2 ETH to 0xabc".into(),
                approved: true,
                approved_on: None,
            }
        );
        let call = json!({"function": "transfer"});
        let e = sign_entry(
            &tx("0x2386f26fc10000", Some("0xa9059cbb00"), call),
            false,
            Some("ab".into()),
        );
        let Some(Happened::Sign {
            summary,
            approved_on,
            ..
        }) = e
        else {
            panic!()
        };
        assert_eq!(summary, "send 0.01 ETH to 0xabc, calls transfer");
        assert_eq!(
            approved_on.as_deref(),
            Some("ab"),
            "a phone's rejection names the phone"
        );
        let Some(Happened::Sign { summary, .. }) =
            sign_entry(&tx("0x0", Some("0x1234"), Value::Null), true, None)
        else {
            panic!()
        };
        assert_eq!(summary, "send 0 ETH to 0xabc, with contract data");
    }

    #[test]
    fn messages_and_typed_data_say_what_was_signed() {
        let sign = |display: Value| {
            json!({"origin": "https://a.example", "kind": "personal_sign",
                   "request": {"method": "personal_sign", "address": "0x1", "message": "x"},
                   "display": display})
        };
        let Some(Happened::Sign { summary, chain, .. }) = sign_entry(
            &sign(json!({"text": "Sign in\nNonce: 1", "hex": "0x00", "chain": {"chainId": 10}})),
            true,
            Some("cd".into()),
        ) else {
            panic!()
        };
        assert_eq!((summary.as_str(), chain), ("message: Sign in", 10));
        let Some(Happened::Sign { summary, .. }) =
            sign_entry(&sign(json!({"text": null, "hex": "0x00ff01"})), true, None)
        else {
            panic!()
        };
        assert_eq!(summary, "binary message (3 bytes)");
        let typed = json!({"origin": "https://a.example", "kind": "typed_data",
            "request": {"method": "eth_signTypedData_v4", "address": "0x1",
                        "typedData": "{\"primaryType\":\"Permit\",\"domain\":{\"name\":\"USD Coin\"}}"},
            "display": {}});
        let Some(Happened::Sign { summary, .. }) = sign_entry(&typed, false, None) else {
            panic!()
        };
        assert_eq!(summary, "typed data Permit for USD Coin");
    }

    #[test]
    fn a_call_bundle_lists_each_call_in_order() {
        let call = |value: &str, f: Value| {
            (
                json!({"from": "0x1", "to": "0xabc", "value": value, "chainId": "0x7a69"}),
                json!({"chain": {"chainId": 31337, "symbol": "ETH"}, "call": {"function": f}}),
            )
        };
        let (t0, d0) = call("0xde0b6b3a7640000", Value::Null);
        let (t1, d1) = call("0x0", json!("transfer"));
        let approval = json!({
            "origin": "https://dapp.example", "kind": "calls",
            "request": {"method": "wallet_sendCalls", "calls": [t0, t1], "chainId": 31337},
            "display": {"chain": {"chainId": 31337, "symbol": "ETH"}, "calls": [d0, d1]},
        });
        match sign_entry(&approval, true, None).unwrap() {
            Happened::Sign {
                method,
                chain,
                summary,
                ..
            } => {
                assert_eq!(method, "wallet_sendCalls");
                assert_eq!(chain, 31337);
                assert_eq!(
                    summary,
                    "2 calls in one bundle: send 1 ETH to 0xabc; send 0 ETH to 0xabc, calls transfer"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn requests_that_sign_nothing_are_not_sign_entries() {
        for kind in ["connect", "switch_chain", "add_chain", "watch_asset"] {
            let a =
                json!({"origin": "https://a.example", "kind": kind, "request": {"method": "m"}});
            assert_eq!(sign_entry(&a, true, None), None, "{kind}");
        }
        assert_eq!(
            sign_entry(&json!({"kind": "transaction"}), true, None),
            None
        );
    }
}
