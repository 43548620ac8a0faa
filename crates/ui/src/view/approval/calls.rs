//! The approval window's body for an EIP-5792 call bundle
//! (`wallet_sendCalls`): every call, in the order it is sent, decoded as a
//! transaction is (recipient, amount in the currency of the bundle's chain,
//! token transfers and approvals with the token's own symbol and decimals,
//! the wallet's warnings), and the total. One approval covers them all, so
//! the window hides none of them.

use serde_json::Value;

use crate::format::{checksum_address, format_native, shorten_address};
use crate::model::Approval;
use crate::token::TokenFacts;
use crate::tx::{decode_call, describe, KnownCall};
use crate::view::{el, kv, El};

fn text<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// The calls as the worker decoded them (each a transaction display).
fn calls(a: &Approval) -> &[Value] {
    a.display
        .get("calls")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn known(c: &Value) -> KnownCall {
    let to = text(c, "to");
    decode_call((!to.is_empty()).then_some(to), text(c, "data"))
}

/// The token contracts a bundle's calls move or approve (their facts are
/// read on the bundle's chain for the amounts).
pub(crate) fn tokens(a: &Approval) -> Vec<String> {
    calls(a)
        .iter()
        .filter(|c| {
            matches!(
                known(c),
                KnownCall::Transfer { .. }
                    | KnownCall::Approve { .. }
                    | KnownCall::TransferFrom { .. }
            )
        })
        .map(|c| text(c, "to").to_owned())
        .collect()
}

/// The body: how the bundle is sent, the account, the total, each call.
pub(super) fn calls_body(a: &Approval, tokens: &[TokenFacts]) -> El {
    let (symbol, decimals) = a.chain().map_or((String::new(), 18), |c| {
        (c.symbol, u8::try_from(c.decimals).unwrap_or(18))
    });
    let list = calls(a);
    let total = text(&a.display, "total");
    el("div")
        .class("stack")
        .child(el("p").class("muted").tid("calls-how").text(format!(
            "{} calls, sent one after another: each only once the one before it is mined. \
             If one fails, the rest are not sent. Each pays its own network fee, set when it is sent.",
            list.len()
        )))
        .child(
            el("section")
                .class("card")
                .child(kv(
                    "Account",
                    shorten_address(text(&a.display, "from")),
                    "calls-from",
                ))
                .child(kv(
                    "Total amount",
                    format_native(if total.is_empty() { "0x0" } else { total }, decimals, &symbol),
                    "calls-total",
                )),
        )
        .child(
            el("ol")
                .class("stack")
                .tid("calls-list")
                .children(list.iter().enumerate().map(|(i, c)| {
                    call(i, c, &symbol, decimals, a, tokens)
                })),
        )
}

fn call(
    i: usize,
    c: &Value,
    symbol: &str,
    decimals: u8,
    a: &Approval,
    tokens: &[TokenFacts],
) -> El {
    let to = text(c, "to");
    let data = text(c, "data");
    let value = match text(c, "value") {
        "" => "0x0",
        v => v,
    };
    let kind = known(c);
    let facts = crate::token::chain_of(a).and_then(|ch| crate::token::find(tokens, ch, to));
    let amount = |raw: &str| match facts {
        Some(f) => f.amount(raw),
        None => format!("{raw} raw units (reading the token contract…)"),
    };
    let detail = match &kind {
        KnownCall::Transfer { to, amount: n } => {
            Some(format!("Send {} to {}", amount(n), shorten_address(to)))
        }
        KnownCall::Approve {
            spender, amount: n, ..
        } => Some(format!(
            "Allow {} to spend {}",
            shorten_address(spender),
            facts.map_or_else(|| amount(n), |f| f.allowance(n))
        )),
        KnownCall::TransferFrom {
            from,
            to,
            amount: n,
        } => Some(format!(
            "Move {} from {} to {}",
            amount(n),
            shorten_address(from),
            shorten_address(to)
        )),
        // A whole collection: the wallet's warning below says it.
        _ => None,
    };
    let warnings = c
        .get("warnings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|w| {
            el("p")
                .class("warn danger")
                .attr("role", "alert")
                .text(w.to_owned())
        });
    el("li")
        .class("card stack")
        .tid(format!("calls-item-{i}"))
        .child(el("h2").tid(format!("calls-kind-{i}")).text(format!(
            "{}. {}",
            i + 1,
            describe(&kind)
        )))
        .children(warnings)
        .maybe(detail.map(|d| el("p").tid(format!("calls-detail-{i}")).text(d)))
        .child(kv(
            "To",
            if to.is_empty() {
                "New contract".into()
            } else {
                checksum_address(to)
            },
            &format!("calls-to-{i}"),
        ))
        .child(kv(
            "Amount",
            format_native(value, decimals, symbol),
            &format!("calls-value-{i}"),
        ))
        .maybe((data.len() > 2).then(|| {
            kv(
                "Data",
                format!("{} bytes", (data.len() - 2) / 2),
                &format!("calls-data-{i}"),
            )
        }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bundle() -> Approval {
        serde_json::from_value(json!({
            "id": 7, "origin": "http://127.0.0.1:5173", "kind": "calls",
            "request": {"method": "wallet_sendCalls", "id": "0x01", "chainId": 31337, "calls": []},
            "display": {
                "chain": {"chainId": 31337, "name": "Anvil", "rpcUrl": "http://127.0.0.1:8545", "symbol": "ETH"},
                "from": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                "total": "0xde0b6b3a7640000",
                "calls": [
                    {"to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "value": "0xde0b6b3a7640000", "data": "0x", "warnings": []},
                    {"to": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "value": "0x0",
                     "data": "0xa9059cbb00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c800000000000000000000000000000000000000000000000000000000000f4240",
                     "warnings": []},
                    {"to": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "value": "0x0",
                     "data": "0x095ea7b300000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c8ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                     "warnings": ["unlimited token approval: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 could move all of this token from your account"]}
                ]
            },
            "createdAt": 0, "replyTo": null, "needsFill": false, "queued": 0
        }))
        .unwrap()
    }

    fn text_of(v: &El, tid: &str) -> String {
        v.find(tid).map(|e| e.text_content()).unwrap_or_default()
    }

    #[test]
    fn every_call_is_listed_with_its_amount_tokens_and_warnings() {
        let a = bundle();
        let facts = TokenFacts {
            chain_id: 31337,
            address: "0x5fbdb2315678afecb367f032d93f642f64180aa3".into(),
            known: Some(("TUSD".into(), 6)),
        };
        let v = calls_body(&a, &[facts]);
        assert!(text_of(&v, "calls-how").starts_with("3 calls, sent one after another"));
        assert_eq!(text_of(&v, "calls-total"), "1 ETH");
        assert_eq!(text_of(&v, "calls-kind-0"), "1. Send");
        assert_eq!(text_of(&v, "calls-value-0"), "1 ETH");
        assert_eq!(text_of(&v, "calls-kind-1"), "2. Token transfer");
        assert_eq!(text_of(&v, "calls-detail-1"), "Send 1 TUSD to 0x7099…79C8");
        assert_eq!(text_of(&v, "calls-kind-2"), "3. Unlimited token approval");
        assert!(text_of(&v, "calls-detail-2").contains("an unlimited amount of TUSD"));
        assert!(text_of(&v, "calls-item-2").contains("unlimited token approval: 0x7099"));
        assert_eq!(tokens(&a).len(), 2);
    }

    #[test]
    fn amounts_wait_for_the_token_contract() {
        let v = calls_body(&bundle(), &[]);
        assert_eq!(
            text_of(&v, "calls-detail-1"),
            "Send 1000000 raw units (reading the token contract…) to 0x7099…79C8"
        );
    }
}
