//! Confirm on phone, on screen: the request's lines (the phone's Confirm
//! screen and the desktop's waiting panel show the same ones), the
//! desktop's "Confirm on your phone" panel, and the phone's policy form.
//! Data: `tandem_confirm` types, as the worker and the phone hold them.

use crate::format::format_units;
use crate::model::NetworkExt as _;
use crate::model::{personal_sign_message, Approval, SignText, WalletState};
use crate::token::TokenFacts;
use crate::tx::{decode_call, KnownCall};
use crate::view::{el, Action, El};
use serde_json::Value;
use tandem_confirm::{Chain, Policy, Request, Row, Rule};

/// What the desktop's approval carries while it waits for the phone: the
/// core's own type, in the form it stores (`Approval::phone`).
pub use tandem_wallet::PhoneWait;

/// Whether `r` is the wallet's own Send (the popup's, not a site's).
pub fn own_send(r: &Request) -> bool {
    r.site == tandem_wallet::provider::WALLET_ORIGIN
}

/// The request's lines (`Request::rows`), the wallet's own Send said as
/// such instead of a site: `device` names the computer it was sent from.
pub fn lines<'a>(r: &'a Request, device: &str) -> Vec<(&'a str, String)> {
    let mut lines = r.rows();
    if own_send(r) {
        if let Some(site) = lines.iter_mut().find(|(label, _)| *label == "Site") {
            *site = ("From", format!("Send from Tandem on {device}"));
        }
    }
    lines
}

/// The request's lines as a definition list (`confirm-rows`, one
/// `confirm-row-<label>` per line) and its warnings; `device` names the
/// computer that asks ([`lines`]).
pub fn rows(r: &Request, device: &str) -> El {
    let list = el("dl").class("confirm-rows").tid("confirm-rows").children(
        lines(r, device).into_iter().flat_map(|(label, value)| {
            let id = format!(
                "confirm-row-{}",
                label.to_ascii_lowercase().replace(' ', "-")
            );
            [
                el("dt").text(label),
                el("dd").class("mono wrap").tid(id).text(value),
            ]
        }),
    );
    let warnings = (!r.warnings.is_empty()).then(|| {
        el("ul").class("warnings").tid("confirm-warnings").children(
            r.warnings
                .iter()
                .map(|w| el("li").class("warn").text(w.clone())),
        )
    });
    el("div").class("stack").child(list).maybe(warnings)
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A wei quantity (hex or decimal) in the chain's currency, six decimals.
fn native(wei: &str, symbol: &str) -> String {
    format!(
        "{} {symbol}",
        format_units(wei, 18, 6).unwrap_or_else(|_| wei.to_owned())
    )
}

/// A permit's amount for the phone, its token's facts not read: "unlimited" from the very threshold
/// the approval window, the worker's warning and the phone's policy use
/// (2^128, `tandem_wallet::approval::UNLIMITED_FROM`; Permit2's 2^160 - 1
/// is above it).
fn token_amount(decimal: &str) -> String {
    if crate::format::is_unlimited(decimal) {
        "unlimited".into()
    } else {
        format!("{decimal} (token units)")
    }
}

/// What the phone is shown for approval `a`, which the phone's policy
/// covers under `rule`: what this page showed, decoded (site, network,
/// account, recipient, amount, token, spender). `edits` are the ones sent
/// with the approval (the accounts a connection shares). The worker sets
/// the id, the phone it goes to, the times and the site.
pub fn summary(
    a: &Approval,
    st: &WalletState,
    rule: Rule,
    edits: &Value,
    tokens: &[TokenFacts],
) -> Request {
    let d = &a.display;
    let r = &a.request;
    let net = st.current_network();
    let chain_of = |id: u64, name: &str, symbol: &str| Chain {
        id,
        name: name.to_owned(),
        symbol: symbol.to_owned(),
    };
    let mut q = Request {
        id: String::new(),
        to: String::new(),
        created_at: 0,
        expires_at: 0,
        rule,
        site: a.origin.clone(),
        action: String::new(),
        chain: None,
        account: text(r.get("address")),
        recipient: None,
        amount: None,
        token: None,
        spender: None,
        details: Vec::new(),
        warnings: d
            .get("warnings")
            .and_then(Value::as_array)
            .map(|w| w.iter().filter_map(|x| text(Some(x))).take(8).collect())
            .unwrap_or_default(),
        sign: None,
    };
    match a.kind_name() {
        "connect" => {
            q.action = "Connect to this site (it will see your address)".into();
            let chosen: Vec<String> = match edits.get("accounts").and_then(Value::as_array) {
                Some(l) => l.iter().filter_map(|x| text(Some(x))).collect(),
                None => st.selected.iter().cloned().collect(),
            };
            q.account = Some(chosen.join(", "));
            q.chain = Some(chain_of(net.id(), &net.name, &net.symbol));
        }
        "transaction" => {
            // The chain the transaction is signed for, from the request.
            let c = a
                .chain()
                .unwrap_or_else(|| tandem_wallet::display::unknown(0));
            let symbol = c.symbol.as_str();
            q.chain = Some(chain_of(c.chain_id, &c.name, symbol));
            let tx = r.get("transaction");
            let to = text(tx.and_then(|t| t.get("to")));
            let value = text(tx.and_then(|t| t.get("value"))).unwrap_or_else(|| "0x0".into());
            let data = text(tx.and_then(|t| t.get("data"))).unwrap_or_default();
            // The call as the approval window decodes it, from the request
            // itself: one decoder for the page and the phone.
            match (rule, decode_call(to.as_deref(), &data)) {
                (Rule::Approval, call) => {
                    q.action = "Let a spender move your tokens".into();
                    q.token = to;
                    q.spender = match call {
                        KnownCall::Approve { spender, .. } => Some(spender),
                        KnownCall::SetApprovalForAll { operator, .. } => Some(operator),
                        _ => None,
                    };
                    q.amount = Some("unlimited".into());
                }
                (
                    _,
                    KnownCall::Transfer {
                        to: recipient,
                        amount,
                    },
                ) => {
                    q.action = "Send tokens".into();
                    // In the token's own units where its contract said
                    // them (as the window shows it), else raw.
                    q.amount = Some(
                        match to
                            .as_deref()
                            .and_then(|t| crate::token::find(tokens, c.chain_id, t))
                        {
                            Some(f) => f.amount(&amount),
                            None => format!("{amount} (token units)"),
                        },
                    );
                    q.token = to;
                    q.recipient = Some(recipient);
                }
                _ => {
                    q.action = "Send a transaction".into();
                    q.recipient = to.or_else(|| Some("a new contract".into()));
                    q.amount = Some(native(&value, symbol));
                }
            }
            let shown = native(&value, symbol);
            if q.amount.as_deref() != Some(&shown)
                && format_units(&value, 18, 18).is_ok_and(|v| v != "0")
            {
                q.details.push(Row {
                    label: "Value".into(),
                    value: shown,
                });
            }
            if let Some(n) = text(tx.and_then(|t| t.get("nonce"))) {
                q.details.push(Row {
                    label: "Nonce".into(),
                    value: format_units(&n, 0, 0).unwrap_or(n),
                });
            }
            if data.len() > 2 {
                q.details.push(Row {
                    label: "Data".into(),
                    value: if data.len() > 74 {
                        format!("{}… ({} bytes)", &data[..74], (data.len() - 2) / 2)
                    } else {
                        data
                    },
                });
            }
        }
        "typed_data" => {
            q.action = "Sign a permit (lets a spender move your tokens)".into();
            let msg = d.get("message").filter(|m| m.is_object());
            let domain = d.get("domain");
            // A permit as the approval window reads it (the wallet's one reading,
            // `tandem_wallet::decode::permit_of`):
            // Permit2's token is in the message, not the domain.
            let permit = crate::token::permit_of(a);
            let contract = domain.and_then(|x| text(x.get("verifyingContract")));
            q.token = match &permit {
                Some(p) if contract.as_deref() != Some(p.token.as_str()) => Some(p.token.clone()),
                _ => contract.map(|c| match domain.and_then(|x| text(x.get("name"))) {
                    Some(n) => format!("{c} ({n})"),
                    None => c,
                }),
            };
            if let Some(id) = domain.and_then(|x| text(x.get("chainId"))) {
                let id = id.parse().unwrap_or(net.id());
                let n = st.networks.iter().find(|n| n.id() == id);
                q.chain = Some(chain_of(
                    id,
                    n.map_or("unknown network", |n| &n.name),
                    n.map_or("", |n| &n.symbol),
                ));
            }
            q.spender = match &permit {
                Some(p) => Some(p.spender.clone()),
                None => msg.and_then(|m| text(m.get("spender"))),
            };
            let facts = crate::token::chain_of(a).zip(permit.as_ref().map(|p| p.token.clone()));
            let facts = facts.and_then(|(c, t)| crate::token::find(tokens, c, &t));
            // Until when the signature can be used (EIP-2612's `deadline`,
            // Permit2's `sigDeadline`) and, for Permit2, until when the
            // allowance it grants lasts (`details.expiration`).
            let deadline = match &permit {
                Some(p) => p.deadline.clone(),
                None => msg.and_then(|m| text(m.get("deadline"))),
            };
            let expiration =
                msg.and_then(|m| text(m.get("details").and_then(|d| d.get("expiration"))));
            let amount = match permit {
                Some(p) => Some(p.amount),
                None => text(msg.and_then(|m| m.get("value").or_else(|| m.get("amount")))),
            };
            q.amount = amount.map(|v| match facts {
                Some(f) => f.allowance(&v),
                None => token_amount(&v),
            });
            // A Unix time as a date, the number after it (as the approval
            // window shows it on demand).
            let date = |raw: String| match crate::reveal::utc(&raw) {
                Some(d) => format!("{d} ({raw})"),
                None => raw,
            };
            if let Some(d) = deadline {
                q.details.push(Row {
                    label: "Signature valid until".into(),
                    value: date(d),
                });
            }
            if let Some(e) = expiration {
                q.details.push(Row {
                    label: "Allowance expires".into(),
                    value: date(e),
                });
            }
            if rule == Rule::KeyOnPhone && q.spender.is_none() {
                // Not a permit: the phone signs it with its key and shows
                // what is signed, field by field.
                let primary = text(d.get("primaryType")).unwrap_or_default();
                q.action = format!("Sign typed data ({primary})");
                q.amount = None;
                q.details = msg
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .take(12)
                    .map(|(k, v)| Row {
                        label: k.chars().take(40).collect(),
                        value: short(&text(Some(v)).unwrap_or_else(|| v.to_string())),
                    })
                    .collect();
            }
        }
        "personal_sign" => {
            q.action = "Sign a message".into();
            // The message as the approval window shows it.
            let (SignText::Text(shown) | SignText::Hex(shown)) = personal_sign_message(a);
            q.details.push(Row {
                label: "Message".into(),
                value: short(&shown),
            });
        }
        "add_chain" => {
            q.action = "Add a network".into();
            let n = d.get("network");
            let field = |k| n.and_then(|n| text(n.get(k))).unwrap_or_default();
            q.chain = Some(chain_of(
                n.and_then(|n| n.get("chainId"))
                    .and_then(Value::as_u64)
                    .unwrap_or_default(),
                &field("name"),
                &field("symbol"),
            ));
            q.details.push(Row {
                label: "RPC URL".into(),
                value: field("rpcUrl"),
            });
            let explorer = field("explorer");
            if !explorer.is_empty() {
                q.details.push(Row {
                    label: "Explorer".into(),
                    value: explorer,
                });
            }
        }
        other => q.action = other.replace('_', " "),
    }
    q
}

/// At most 400 characters (a request's fields are at most 512).
fn short(s: &str) -> String {
    if s.chars().count() > 400 {
        format!("{}…", s.chars().take(400).collect::<String>())
    } else {
        s.to_owned()
    }
}

/// Seconds left until `expires_at` (Unix seconds) at `now_ms`.
pub fn seconds_left(expires_at: u64, now_ms: f64) -> u64 {
    (expires_at as f64 - now_ms / 1000.0).max(0.0).ceil() as u64
}

/// The desktop's panel while the phone decides: why, what, how long, and
/// a Cancel (`approval-phone-cancel`, action `reject`).
pub fn waiting(w: &PhoneWait, now_ms: f64) -> El {
    let request = w.request();
    let left = request
        .as_ref()
        .map(|r| format!("after {} s", seconds_left(r.expires_at, now_ms)))
        .unwrap_or_else(|| "if it does not answer in time".into());
    el("div")
        .class("approval stack")
        .tid("approval-phone-wait")
        .child(
            el("header")
                .class("approval-head")
                .child(el("h1").class("title").text("Confirm on your phone"))
                .maybe(request.as_ref().map(|r| {
                    el("p")
                        .class("origin")
                        .text(crate::send::origin_label(&r.site))
                })),
        )
        .child(
            el("main")
                .class("scroll stack")
                .child(el("p").tid("approval-phone-reason").text(w.rule.reason()))
                .child(
                    el("p")
                        .class("muted")
                        .tid("approval-phone-left")
                        .text(format!(
                    "Open Tandem on your phone and approve or reject this request. Nothing is \
                     signed until it does; {left} this request is cancelled."
                )),
                )
                .maybe(request.as_ref().map(|r| rows(r, "this computer"))),
        )
        .child(
            el("footer").class("actions").child(
                el("button")
                    .attr("type", "button")
                    .class("btn")
                    .tid("approval-phone-cancel")
                    .on(Action::Reject)
                    .text("Cancel"),
            ),
        )
}

/// The phone's policy form: a checkbox per rule (`policy-connect`,
/// `policy-value`, `policy-approvals`, `policy-add-network`), the amount
/// (`policy-value-input`) and the wait (`policy-timeout-input`, seconds).
pub fn policy_form(p: &Policy) -> El {
    let check = |name: &str, label: &str, on: bool| {
        let mut input = el("input")
            .attr("type", "checkbox")
            .attr("name", name.to_owned())
            .tid(name.to_owned());
        if on {
            input = input.attr("checked", "");
        }
        el("label")
            .class("check")
            .child(input)
            .child(el("span").text(label))
    };
    let value = p
        .value_above_milli
        .map(tandem_confirm::milli_text)
        .unwrap_or_else(|| tandem_confirm::milli_text(tandem_confirm::DEFAULT_VALUE_ABOVE_MILLI));
    el("div")
        .class("stack")
        .tid("policy-form")
        .child(check("policy-connect", "Connecting a new site", p.connect))
        .child(check(
            "policy-value",
            "Sending more than this amount (ETH, POL, …):",
            p.value_above_milli.is_some(),
        ))
        .child(
            el("input")
                .attr("type", "text")
                .attr("inputmode", "decimal")
                .attr("autocomplete", "off")
                .attr("aria-label", "Amount")
                .attr("value", value)
                .tid("policy-value-input"),
        )
        .child(check(
            "policy-approvals",
            "Unlimited token approvals and signed permits",
            p.approvals,
        ))
        .child(check(
            "policy-add-network",
            "Adding a network",
            p.add_network,
        ))
        .child(
            el("label")
                .attr("for", "policy-timeout")
                .text("Wait for this phone (seconds, 30–600)"),
        )
        .child(
            el("input")
                .attr("type", "number")
                .attr("id", "policy-timeout")
                .attr("min", "30")
                .attr("max", "600")
                .attr("value", p.timeout_secs.to_string())
                .tid("policy-timeout-input"),
        )
}

/// Reads the policy form: `checked` by name, `field` by test id.
pub fn read_policy_form(
    checked: &dyn Fn(&str) -> bool,
    field: &dyn Fn(&str) -> String,
) -> Result<Policy, String> {
    let value_above_milli = if checked("policy-value") {
        Some(tandem_confirm::parse_milli(&field("policy-value-input")).map_err(|e| e.to_string())?)
    } else {
        None
    };
    let timeout_secs: u32 = field("policy-timeout-input")
        .trim()
        .parse()
        .map_err(|_| "the wait is a number of seconds, like 120".to_owned())?;
    let p = Policy {
        connect: checked("policy-connect"),
        value_above_milli,
        approvals: checked("policy-approvals"),
        add_network: checked("policy-add-network"),
        timeout_secs,
    };
    p.check().map_err(|e| e.to_string())?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_confirm::{Chain, Row};

    fn request() -> Request {
        Request {
            id: "ab".repeat(16),
            to: "0a".repeat(16),
            created_at: 1_000,
            expires_at: 1_120,
            rule: Rule::Value,
            site: "https://app.example".into(),
            action: "Send a transaction".into(),
            chain: Some(Chain {
                id: 31337,
                name: "Localhost".into(),
                symbol: "ETH".into(),
            }),
            account: Some("0xf39F".into()),
            recipient: Some("0x7099".into()),
            amount: Some("1 ETH".into()),
            token: None,
            spender: None,
            details: vec![Row {
                label: "RPC URL".into(),
                value: "http://x".into(),
            }],
            warnings: vec!["this transaction deploys a new contract".into()],
            sign: None,
        }
    }

    #[test]
    fn the_waiting_panel_says_why_what_and_how_long() {
        let (sent, _) = tandem_confirm::Sent::new(request());
        let w = PhoneWait {
            rule: Rule::Value,
            sent,
            action: "Send a transaction".into(),
            timeout_secs: 90,
        };
        let v = waiting(&w, 1_030_000.0);
        assert_eq!(
            v.find("approval-phone-reason").map(El::text_content),
            Some(Rule::Value.reason().to_owned())
        );
        assert!(v
            .find("approval-phone-left")
            .is_some_and(|e| e.text_content().contains("after 90 s")));
        assert_eq!(
            v.find("confirm-row-amount")
                .map(El::text_content)
                .as_deref(),
            Some("1 ETH")
        );
        assert_eq!(
            v.find("confirm-row-network")
                .map(El::text_content)
                .as_deref(),
            Some("Localhost (chain 31337)")
        );
        assert!(v.find("confirm-row-rpc-url").is_some());
        assert!(v.find("confirm-warnings").is_some());
        assert_eq!(
            v.find("approval-phone-cancel")
                .and_then(|b| b.get("data-action")),
            Some("reject")
        );
        assert_eq!(seconds_left(1_120, 1_200_000.0), 0);
    }

    fn approval(kind: &str, request: serde_json::Value, display: serde_json::Value) -> Approval {
        Approval::example(kind, "https://dapp.example", request, display)
    }

    fn state() -> WalletState {
        serde_json::from_value(serde_json::json!({
            "selected": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
            "network": {"chainId": 31337, "name": "Anvil", "rpcUrl": "http://127.0.0.1:8545", "symbol": "ETH"},
            "networks": [{"chainId": 1, "name": "Ethereum", "rpcUrl": "https://x", "symbol": "ETH"}],
        }))
        .unwrap_or_default()
    }

    // The approvals below have the shapes the worker sends (tandem-wallet's
    // `transaction_display`, the typed-data and add-network displays).
    #[test]
    fn the_summary_names_recipient_amount_token_and_spender_as_the_page_showed_them() {
        let tx = |value: &str, data: &str, call: serde_json::Value| {
            approval(
                "transaction",
                serde_json::json!({"method": "eth_sendTransaction", "address": "0xf39F",
                    "transaction": {"to": "0x7099", "value": value, "data": data, "nonce": "0x7"}}),
                serde_json::json!({"chain": {"chainId": 31337, "name": "Anvil", "rpcUrl": "http://127.0.0.1:8545", "symbol": "ETH", "known": true}, "call": call, "warnings": ["w"]}),
            )
        };
        let st = state();
        let q = summary(
            &tx("0xde0b6b3a7640000", "0x", serde_json::Value::Null),
            &st,
            Rule::Value,
            &serde_json::Value::Null,
            &[],
        );
        assert_eq!(q.action, "Send a transaction");
        assert_eq!(q.amount.as_deref(), Some("1 ETH"));
        assert_eq!(q.recipient.as_deref(), Some("0x7099"));
        assert_eq!(q.account.as_deref(), Some("0xf39F"));
        assert_eq!(
            q.chain.as_ref().map(|c| (c.id, c.name.as_str())),
            Some((31337, "Anvil"))
        );
        assert_eq!(q.warnings, ["w"]);
        assert!(q
            .details
            .iter()
            .any(|r| r.label == "Nonce" && r.value == "7"));

        let data = format!(
            "0x095ea7b3{:0>64}{}",
            "a0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
            "f".repeat(64)
        );
        // The worker's own decoding (`call`) is not read: the spender comes
        // from the calldata, by the decoder the approval window uses.
        let call = serde_json::json!({"function": "approve", "spender": "0xa0b8", "amount": "115792089237316195423570985008687907853269984665640564039457584007913129639935"});
        let q = summary(
            &tx("0x0", &data, call),
            &st,
            Rule::Approval,
            &serde_json::Value::Null,
            &[],
        );
        assert_eq!(
            (
                q.token.as_deref(),
                q.spender.as_deref(),
                q.amount.as_deref()
            ),
            (
                Some("0x7099"),
                Some("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"),
                Some("unlimited")
            )
        );
        // A token transfer: in the token's units where its contract said
        // them (the window's `token.info`), raw otherwise.
        let send = format!(
            "0xa9059cbb{:0>64}{:0>64x}",
            "1111111111111111111111111111111111111111", 1_500_000u64
        );
        let facts = [TokenFacts {
            chain_id: 31337,
            address: "0x7099".into(),
            known: Some(("TUSD".into(), 6)),
        }];
        let sent = |tokens: &[TokenFacts]| {
            summary(
                &tx("0x0", &send, serde_json::Value::Null),
                &st,
                Rule::Value,
                &serde_json::Value::Null,
                tokens,
            )
            .amount
        };
        assert_eq!(sent(&facts).as_deref(), Some("1.5 TUSD"));
        assert_eq!(sent(&[]).as_deref(), Some("1500000 (token units)"));
        // setApprovalForAll: the operator, from the same decoder.
        let all = format!(
            "0xa22cb465{:0>64}{:0>64}",
            "1111111111111111111111111111111111111111", "1"
        );
        let q = summary(
            &tx("0x0", &all, serde_json::Value::Null),
            &st,
            Rule::Approval,
            &serde_json::Value::Null,
            &[],
        );
        assert_eq!(
            q.spender.as_deref(),
            Some("0x1111111111111111111111111111111111111111")
        );

        let typed = |t: serde_json::Value| {
            approval(
                "typed_data",
                serde_json::json!({"method": "eth_signTypedData_v4", "address": "0xf39F", "typedData": t.to_string()}),
                t,
            )
        };
        let permit = typed(
            serde_json::json!({"primaryType": "Permit", "domain": {"name": "USD Coin", "chainId": 1, "verifyingContract": "0xA0b8"},
                "message": {"spender": "0x1111", "value": "1461501637330902918203684832716283019655932542975", "deadline": 1900000000u64}}),
        );
        let q = summary(&permit, &st, Rule::Permit, &serde_json::Value::Null, &[]);
        assert_eq!(
            q.amount.as_deref(),
            Some("unlimited"),
            "2^160 - 1 is Permit2's unlimited"
        );
        // The window calls 2^150 unlimited: so does the phone (it said
        // "1427247692705959881058285969449495136382746624 (token units)").
        let big = typed(
            serde_json::json!({"primaryType": "Permit", "domain": {"name": "USD Coin", "chainId": 1, "verifyingContract": "0xA0b8"},
                "message": {"spender": "0x1111", "value": "1427247692705959881058285969449495136382746624", "deadline": 1900000000u64}}),
        );
        let amount = |a: &Approval, tokens: &[TokenFacts]| {
            summary(a, &st, Rule::Permit, &serde_json::Value::Null, tokens).amount
        };
        assert_eq!(amount(&big, &[]).as_deref(), Some("unlimited"));
        // With the token's facts: its symbol, as the window says it.
        let usdc = [TokenFacts {
            chain_id: 1,
            address: "0xa0b8".into(),
            known: Some(("USDC".into(), 6)),
        }];
        assert_eq!(
            amount(&big, &usdc).as_deref(),
            Some("an unlimited amount of USDC")
        );
        let small = typed(
            serde_json::json!({"primaryType": "Permit", "domain": {"name": "USD Coin", "chainId": 1, "verifyingContract": "0xA0b8"},
                "message": {"spender": "0x1111", "value": "2500000", "deadline": 1900000000u64}}),
        );
        assert_eq!(amount(&small, &usdc).as_deref(), Some("2.5 USDC"));
        assert_eq!(
            amount(&small, &[]).as_deref(),
            Some("2500000 (token units)")
        );
        assert_eq!(q.token.as_deref(), Some("0xA0b8 (USD Coin)"));
        assert_eq!(q.chain.as_ref().map(|c| c.name.as_str()), Some("Ethereum"));
        assert!(q.details.iter().any(|r| r.label == "Signature valid until"
            && r.value == "2030-03-17 17:46:40 UTC (1900000000)"));
        // Permit2: the token and amount are in the message's details, and
        // the domain's contract (Permit2 itself) is not the token.
        let permit2 = typed(
            serde_json::json!({"primaryType": "PermitSingle", "domain": {"name": "Permit2", "chainId": 1, "verifyingContract": "0x000000000022D473030F116dDEE9F6B43aC78BA3"},
                "message": {"details": {"token": "0xA0b8", "amount": "5000000", "expiration": 2000000000u64, "nonce": 0},
                    "spender": "0x2222", "sigDeadline": 1900000000u64}}),
        );
        let q = summary(&permit2, &st, Rule::Permit, &serde_json::Value::Null, &[]);
        assert_eq!(
            (
                q.token.as_deref(),
                q.spender.as_deref(),
                q.amount.as_deref()
            ),
            (
                Some("0xA0b8"),
                Some("0x2222"),
                Some("5000000 (token units)")
            )
        );
        // Both of Permit2's times, as dates (issue 13, item 3): the
        // signature's `sigDeadline` and the allowance's `expiration`.
        let rows: Vec<(&str, &str)> = q
            .details
            .iter()
            .map(|r| (r.label.as_str(), r.value.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                (
                    "Signature valid until",
                    "2030-03-17 17:46:40 UTC (1900000000)"
                ),
                ("Allowance expires", "2033-05-18 03:33:20 UTC (2000000000)")
            ]
        );

        let add = approval(
            "add_chain",
            serde_json::json!({"method": "wallet_addEthereumChain"}),
            serde_json::json!({"network": {"chainId": 100, "name": "Gnosis", "rpcUrl": "https://rpc.gnosis", "symbol": "XDAI"}}),
        );
        let q = summary(&add, &st, Rule::AddNetwork, &serde_json::Value::Null, &[]);
        assert_eq!(q.chain.as_ref().map(|c| c.id), Some(100));
        assert_eq!(q.details[0].value, "https://rpc.gnosis");

        let connect = approval(
            "connect",
            serde_json::json!({"method": "eth_requestAccounts"}),
            serde_json::json!({}),
        );
        let q = summary(
            &connect,
            &st,
            Rule::Connect,
            &serde_json::json!({"accounts": ["0xaa", "0xbb"]}),
            &[],
        );
        assert_eq!(q.account.as_deref(), Some("0xaa, 0xbb"));
        let q = summary(&connect, &st, Rule::Connect, &serde_json::Value::Null, &[]);
        assert_eq!(
            q.account.as_deref(),
            Some("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        );
    }

    #[test]
    fn the_policy_form_reads_back_what_it_shows_and_refuses_bad_values() {
        let p = Policy {
            value_above_milli: Some(2_500),
            add_network: false,
            timeout_secs: 90,
            ..Policy::default()
        };
        let form = policy_form(&p);
        let checked = |name: &str| form.find(name).is_some_and(|e| e.get("checked").is_some());
        let field = |id: &str| {
            form.find(id)
                .and_then(|e| e.get("value"))
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(read_policy_form(&checked, &field), Ok(p));
        let bad_amount = |id: &str| {
            if id == "policy-value-input" {
                "1,5".into()
            } else {
                field(id)
            }
        };
        assert!(read_policy_form(&checked, &bad_amount)
            .unwrap_err()
            .contains("not an amount"));
        let bad_wait = |id: &str| {
            if id == "policy-timeout-input" {
                "5".into()
            } else {
                field(id)
            }
        };
        assert!(read_policy_form(&checked, &bad_wait)
            .unwrap_err()
            .contains("between 30 and 600"));
    }

    #[test]
    fn for_an_account_on_the_phone_the_summary_shows_the_message_or_the_typed_fields() {
        let st = state();
        let personal = approval(
            "personal_sign",
            serde_json::json!({"method": "personal_sign", "address": "0xf39F", "message": "0x6869"}),
            serde_json::json!({"text": "hi", "hex": "0x6869"}),
        );
        let q = summary(
            &personal,
            &st,
            Rule::KeyOnPhone,
            &serde_json::Value::Null,
            &[],
        );
        assert_eq!(q.action, "Sign a message");
        assert_eq!(q.details[0].value, "hi");
        let typed = approval(
            "typed_data",
            serde_json::json!({"method": "eth_signTypedData_v4", "address": "0xf39F"}),
            serde_json::json!({"primaryType": "Mail", "domain": {"name": "Mail app", "chainId": 31337},
                "message": {"to": "0x7099", "contents": "x".repeat(900)}}),
        );
        let q = summary(&typed, &st, Rule::KeyOnPhone, &serde_json::Value::Null, &[]);
        assert_eq!(q.action, "Sign typed data (Mail)");
        let rows: Vec<&str> = q.details.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(rows, ["contents", "to"]);
        assert_eq!(
            q.details[0].value.chars().count(),
            401,
            "long values are cut"
        );
        assert_eq!(q.account.as_deref(), Some("0xf39F"));
    }
}
