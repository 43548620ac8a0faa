//! `eth_sendTransaction`: the call in words, recipient, amount, nonce,
//! calldata, and the fee fields the user may edit.

use super::{s, signer_line, warning_list};
use crate::format::{format_native, format_units, shorten_address};
use crate::model::Approval;
use crate::tx::{decode_call, describe, FeeForm, KnownCall};
use crate::view::{el, kv, El};
use serde_json::Value;

pub(super) fn tx_body(a: &Approval, tokens: &[crate::token::TokenFacts]) -> El {
    let tx = a.request.get("transaction").cloned().unwrap_or(Value::Null);
    let d = &a.display;
    let pick = |k: &str| -> String {
        let v = s(&tx, k);
        if v.is_empty() {
            s(d, k).to_owned()
        } else {
            v.to_owned()
        }
    };
    let to = pick("to");
    let data = pick("data");
    let value = pick("value");
    let value = if value.is_empty() {
        "0x0".to_owned()
    } else {
        value
    };
    // The currency of the chain the transaction is signed for, never the
    // selected network's: the user may have switched since.
    let (symbol, decimals) = a.chain().map_or((String::new(), 18), |c| {
        (c.symbol, u8::try_from(c.decimals).unwrap_or(18))
    });
    let call = decode_call((!to.is_empty()).then_some(to.as_str()), &data);
    // The call's warnings (an unlimited approval, a whole collection) are
    // the wallet's, from the decoder the phone's policy uses
    // (`tandem_wallet::decode`): the phone is shown the same ones.
    let warnings: Vec<(bool, String)> = d
        .get("warnings")
        .and_then(Value::as_array)
        .map(|ws| {
            ws.iter()
                .filter_map(Value::as_str)
                .map(|w| (true, w.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    // Token amounts in the units the token contract states, on the chain
    // the transaction is for (read by `token.info`; never the dapp's word).
    let facts = crate::token::chain_of(a).and_then(|c| crate::token::find(tokens, c, &to));
    let amount_text = |raw: &str| match facts {
        Some(f) => f.amount(raw),
        None => format!("{raw} raw units (reading the token contract…)"),
    };
    let call_detail = match &call {
        KnownCall::Transfer { to, amount } => Some(format!(
            "Send {} to {}",
            amount_text(amount),
            shorten_address(to)
        )),
        KnownCall::Approve {
            spender,
            amount,
            unlimited,
        } => Some(if *unlimited {
            format!(
                "Allow {} to spend {}",
                shorten_address(spender),
                facts.map_or_else(|| "an unlimited amount".into(), |f| f.allowance(amount))
            )
        } else {
            format!(
                "Allow {} to spend {}",
                shorten_address(spender),
                amount_text(amount)
            )
        }),
        KnownCall::TransferFrom { from, to, amount } => Some(format!(
            "Move {} from {} to {}",
            amount_text(amount),
            shorten_address(from),
            shorten_address(to)
        )),
        _ => None,
    };
    let fees = FeeForm::from_tx(&tx);
    let fee_field = |testid: &str, label: &str, value: &str| {
        el("label")
            .class("field compact")
            .child(el("span").class("label").text(label))
            .child(
                el("input")
                    .attr("type", "text")
                    .attr("inputmode", "decimal")
                    .tid(testid)
                    .attr("value", value)
                    .attr("data-change", "fees-typed"),
            )
    };
    let max_cost = fees
        .validate()
        .ok()
        .and_then(|f| f.max_cost(crate::format::to_u128(&value).unwrap_or(0)).ok())
        .map(|c| max_total(c, decimals, &symbol))
        .unwrap_or_else(|| "—".into());
    el("div")
        .class("stack")
        .maybe(warning_list(warnings, "tx"))
        .child(
            el("p")
                .class("call-title")
                .tid("tx-call")
                .text(describe(&call)),
        )
        .maybe(call_detail.map(|c| el("p").class("muted").tid("tx-call-detail").text(c)))
        .child(
            el("section")
                .class("card")
                .maybe(signer_line(a))
                .child(kv(
                    "To",
                    if to.is_empty() {
                        "New contract".into()
                    } else {
                        crate::format::checksum_address(&to)
                    },
                    "tx-to",
                ))
                .child(kv(
                    "Amount",
                    format_native(&value, decimals, &symbol),
                    "tx-value",
                ))
                .maybe(
                    crate::format::to_u128(&pick("nonce"))
                        .ok()
                        .map(|n| kv("Nonce", n.to_string(), "tx-nonce")),
                )
                .maybe((!data.is_empty() && data != "0x").then(|| {
                    kv(
                        "Data",
                        format!("{} bytes", (data.len().saturating_sub(2)) / 2),
                        "tx-data",
                    )
                })),
        )
        .maybe((!data.is_empty() && data != "0x").then(|| crate::reveal::raw_data(&data)))
        .child(if a.needs_fill {
            el("p")
                .class("muted")
                .tid("tx-fees-loading")
                .text("Fetching fees from the network…")
        } else {
            el("section")
                .class("card fees")
                .tid("tx-fees")
                .child(el("h2").text("Network fee"))
                .child(if fees.legacy {
                    // A type-0 transaction (no EIP-1559 on its chain, or the
                    // site set gasPrice): one price per gas.
                    el("div")
                        .class("fee-grid")
                        .child(fee_field("tx-gas-input", "Gas limit", &fees.gas))
                        .child(fee_field(
                            "tx-gasprice-input",
                            "Gas price (gwei)",
                            &fees.max_fee_gwei,
                        ))
                } else {
                    el("div")
                        .class("fee-grid")
                        .child(fee_field("tx-gas-input", "Gas limit", &fees.gas))
                        .child(fee_field(
                            "tx-maxfee-input",
                            "Max fee (gwei)",
                            &fees.max_fee_gwei,
                        ))
                        .child(fee_field(
                            "tx-priority-input",
                            "Priority fee (gwei)",
                            &fees.priority_gwei,
                        ))
                })
                .child(kv("Max total", max_cost, "tx-max-cost"))
        })
}

/// The fee-inclusive maximum with enough digits that the fee shows.
pub fn max_total(wei: u128, decimals: u8, symbol: &str) -> String {
    match format_units(&wei.to_string(), decimals, 6) {
        Ok(v) => format!("{v} {symbol}"),
        Err(_) => format!("? {symbol}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::fixtures::{approval_ui, state};
    use crate::view::{view, Page, Ui};
    use serde_json::json;

    #[test]
    fn transaction_approval_has_editable_fees() {
        let tx = json!({"from": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                        "value": "0xde0b6b3a7640000", "gas": "0x5208", "maxFeePerGas": "0x77359400", "maxPriorityFeePerGas": "0x3b9aca00"});
        let ui = approval_ui(
            "transaction",
            json!({"transaction": tx}),
            json!({"warnings": [], "chain": {"chainId": 31337, "name": "Localhost", "rpcUrl": "http://127.0.0.1:8545", "symbol": "ETH", "known": true}}),
        );
        let v = view(&ui, "");
        assert_eq!(v.find("tx-call").unwrap().text_content(), "Send");
        assert_eq!(v.find("tx-value").unwrap().text_content(), "1 ETH");
        assert_eq!(v.find("tx-gas-input").unwrap().get("value"), Some("21000"));
        assert_eq!(v.find("tx-maxfee-input").unwrap().get("value"), Some("2"));
        assert_eq!(
            v.find("tx-max-cost").unwrap().text_content(),
            "1.000042 ETH" // 1 ETH + 21000 gas * 2 gwei
        );
        assert!(v
            .find("approval-approve")
            .unwrap()
            .get("disabled")
            .is_none());
        let mut waiting = ui.clone();
        if let Some(a) = waiting.approval.as_mut() {
            a.core.needs_fill = true;
        }
        let v = view(&waiting, "");
        assert!(v.find("tx-fees-loading").is_some());
        assert!(v
            .find("approval-approve")
            .unwrap()
            .get("disabled")
            .is_some());
    }

    #[test]
    fn a_legacy_transaction_has_one_gas_price_field() {
        let tx = json!({"to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "value": "0x1",
                        "gas": "0x5208", "gasPrice": "0x4a817c800", "chainId": "0x7a69"});
        let v = view(
            &approval_ui("transaction", json!({"transaction": tx}), Value::Null),
            "",
        );
        let price = v.find("tx-gasprice-input").unwrap();
        assert_eq!(price.get("value"), Some("20"));
        assert!(v.find("tx-priority-input").is_none() && v.find("tx-maxfee-input").is_none());
    }

    #[test]
    fn token_amounts_use_known_decimals() {
        let data = format!(
            "0xa9059cbb{:0>64}{:0>64}",
            "70997970c51812dc3a010c7d01b50e0d17dc79c8",
            "16e360" // 1.5 * 10^6
        );
        let token = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
        let tx = json!({"to": token.to_lowercase(), "data": data, "chainId": "0x7a69", "gas": "0xea60", "maxFeePerGas": "0x1", "maxPriorityFeePerGas": "0x1"});
        let mut ui = approval_ui("transaction", json!({"transaction": tx}), Value::Null);
        let v = view(&ui, "");
        assert_eq!(
            v.find("tx-call-detail").unwrap().text_content(),
            "Send 1500000 raw units (reading the token contract…) to 0x7099…79C8"
        );
        assert_eq!(
            v.find("tx-to").unwrap().text_content(),
            token,
            "shown with its EIP-55 checksum"
        );
        // A watched-token list that says otherwise is not asked: the
        // contract's own answers are (issue 13, item 3).
        ui.portfolio = Some(serde_json::from_value(json!({"tokens": [{"address": token, "symbol": "TND", "decimals": 18, "balance": "0x0"}]})).unwrap());
        ui.tokens = vec![crate::token::TokenFacts::from_reply(
            31337,
            token,
            &json!({"symbol": "USDX", "decimals": 6}),
        )];
        let v = view(&ui, "");
        assert_eq!(
            v.find("tx-call-detail").unwrap().text_content(),
            "Send 1.5 USDX to 0x7099…79C8"
        );
        // A token whose calls failed: raw units, said to be unknown, by address.
        ui.tokens = vec![crate::token::TokenFacts::from_reply(
            31337,
            token,
            &json!({"symbol": null, "decimals": null}),
        )];
        let v = view(&ui, "");
        assert_eq!(
            v.find("tx-call-detail").unwrap().text_content(),
            format!("Send 1500000 raw units of an unknown token ({token}) to 0x7099…79C8")
        );
    }

    /// Issue 13, item 3: the approval the worker really queues for an
    /// unlimited ERC-20 approval warns once (it showed two copies, one per
    /// spelling of the spender's address).
    #[test]
    fn unlimited_approve_calldata_warns_once() {
        use tandem_wallet::{Edits, Fill, Outcome, Wallet};
        const A0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
        let mut w = Wallet::default();
        w.state.sync_accounts(&[(
            A0.parse().unwrap(),
            json!({"kind": "derived", "source": 0, "index": 0}),
        )]);
        w.state.select_network(31337).unwrap();
        let ask = |w: &mut Wallet, method: &str, params: Value| match w.request(
            "http://127.0.0.1:5173",
            &json!({"method": method, "params": params}),
            true,
            json!({"tabId": 1}),
            1,
        ) {
            Outcome::Approval { id, .. } => id,
            o => panic!("{o:?}"),
        };
        let id = ask(&mut w, "eth_requestAccounts", json!([]));
        w.resolve(id, true, &Edits::default(), true, 1, "", [0; 16])
            .unwrap();
        let spender = "70997970c51812dc3a010c7d01b50e0d17dc79c8";
        let data = format!("0x095ea7b3{spender:0>64}{}", "f".repeat(64));
        let to = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
        let id = ask(
            &mut w,
            "eth_sendTransaction",
            json!([{"from": A0, "to": to, "data": data}]),
        );
        let fill: Fill = serde_json::from_value(
            json!({"nonce": "0x0", "gasEstimate": "0xea60", "baseFee": "0x1", "priorityFee": "0x1"}),
        )
        .unwrap();
        w.fill_transaction(id, &fill).unwrap();
        let mut ui = Ui::new(Page::Approval);
        ui.state = Some(state());
        ui.approval = Some(serde_json::from_value(json!(w.session.approval(id).unwrap())).unwrap());
        ui.route();
        let v = view(&ui, "");
        assert_eq!(
            v.find("tx-call").unwrap().text_content(),
            "Unlimited token approval"
        );
        let warning = v.find("tx-warning-0").unwrap().text_content();
        assert!(
            warning
                .contains("unlimited token approval: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
            "{warning}"
        );
        assert!(v.find("tx-warning-1").is_none(), "one warning, not two");
        assert_eq!(v.find("tx-data").unwrap().text_content(), "68 bytes");
        // The nonce, and the calldata itself on demand.
        assert_eq!(v.find("tx-nonce").unwrap().text_content(), "0");
        assert_eq!(v.find("tx-data-hex").unwrap().text_content(), data);
    }
}
