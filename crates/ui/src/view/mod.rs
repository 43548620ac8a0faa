//! Pure views: the UI model in, a small virtual DOM out. `dom` turns a
//! [`Node`] into real elements; tests inspect it directly.
//!
//! Interaction is declarative: an element carries `data-action` (and
//! `data-arg`), forms carry `data-action` on submit, and `<select>`s carry
//! `data-change`. The app dispatches on those strings (see [`Action`]).
//!
//! One module per screen; [`view`] picks the screen's. The approval window's
//! kinds are in `approval`, one module each. Screens that live at the
//! crate's root (devices, pairing, sync, send, ...) use the same parts.

mod accounts;
mod action;
#[cfg(test)]
mod fixtures;
mod home;
mod networks;
mod onboarding;
mod parts;
mod settings;
mod ui;
mod vdom;

pub use action::Action;
pub use parts::{strength_hint, CREATE_PASSWORD_IDS, IMPORT_PASSWORD_IDS};
pub use ui::{Page, Screen, SecretPhrase, Tab, Ui};
pub use vdom::{el, El, Node};

pub(crate) use parts::{
    back_bar, error_box, form, input, kv, notice_box, password_fields, primary, secret_field,
};

use crate::format::{format_native, format_units, shorten_address};
use crate::model::{personal_sign_text, Approval, Network, SignText, WalletState};
use crate::tx::{decode_call, describe, FeeForm, KnownCall};
use crate::typed_data::{self, Field, FieldValue, Severity};
use crate::{devices, pairing};
use accounts::accounts;
use home::{home, token_form};
use networks::{network_form, networks};
use onboarding::{
    create_confirm, create_password, create_words, erased_notice, import, unlock, welcome,
};
use parts::{button, on_phone_tag, prefilled, title};
use serde_json::Value;
use settings::settings;

/// The whole page for the model; `pw` is the password field's current value
/// (for the strength hint).
pub fn view(ui: &Ui, pw: &str) -> El {
    let body = match ui.screen {
        Screen::Loading => el("div")
            .class("center muted")
            .tid("loading")
            .text("Loading…"),
        Screen::Welcome => welcome(ui.page).maybe(
            ui.state
                .as_ref()
                .and_then(|s| s.erased.as_ref())
                .map(|e| erased_notice(ui, e)),
        ),
        Screen::CreateWords => create_words(ui),
        Screen::CreateConfirm => create_confirm(ui),
        Screen::CreatePassword => create_password(ui, pw),
        Screen::Import => import(ui, pw),
        Screen::Unlock => unlock(ui),
        Screen::Home => home(ui),
        Screen::Accounts => accounts(ui),
        Screen::Networks => networks(ui),
        Screen::NetworkForm => network_form(ui),
        Screen::Settings => settings(ui),
        Screen::ChangePassword => crate::password::change_password(ui, pw),
        Screen::AddToken => token_form(ui),
        Screen::Approval => approval(ui),
        Screen::ApprovalDone => el("div")
            .class("center")
            .tid("approval-done")
            .child(el("p").text(ui.notice.clone().unwrap_or_else(|| "Done.".into()))),
        Screen::Devices => devices::devices_screen(ui),
        Screen::Pair => pairing::pair_screen(ui),
        Screen::AddDevice => pairing::add_device_screen(ui),
        Screen::Sync => crate::sync::sync_screen(ui),
        Screen::Audit => crate::audit::audit_screen(ui),
        Screen::RevealPhrase => crate::secrets::reveal_screen(ui, true),
        Screen::ExportKey => crate::secrets::reveal_screen(ui, false),
        Screen::ImportAccount => crate::secrets::import_screen(ui),
        Screen::RemoveAccount => crate::secrets::remove_screen(ui),
        Screen::Send => crate::send::send_screen(ui),
        Screen::Receive => crate::receive::receive_screen(ui),
    };
    let page = match ui.page {
        Page::Popup => "popup",
        Page::Onboarding => "onboarding",
        Page::Approval => "approval",
    };
    el("div")
        .class(&format!("app page-{page}"))
        .attr("data-screen", ui.screen.name())
        .attr("aria-busy", if ui.busy { "true" } else { "false" })
        .child(body)
}

// ---------- approval window ----------

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn warning_list(ws: impl IntoIterator<Item = (bool, String)>, prefix: &str) -> Option<El> {
    // The same warning never twice, whatever the spelling of its addresses.
    let mut seen: Vec<String> = Vec::new();
    let items: Vec<El> = ws
        .into_iter()
        .filter(|(_, m)| {
            let key = m.to_ascii_lowercase();
            let new = !seen.contains(&key);
            seen.push(key);
            new
        })
        .enumerate()
        .map(|(i, (danger, m))| {
            el("li")
                .class(if danger { "warn danger" } else { "warn" })
                .tid(format!("{prefix}-warning-{i}"))
                .text(m)
        })
        .collect();
    (!items.is_empty()).then(|| {
        el("ul")
            .class("warnings")
            .attr("role", "alert")
            .children(items)
    })
}

/// Renders a decoded typed-data field tree.
pub fn typed_tree(fields: &[Field], path: &str) -> El {
    el("dl").class("tree").children(fields.iter().map(|f| {
        let p = if path.is_empty() {
            f.name.clone()
        } else {
            format!("{path}.{}", f.name)
        };
        field_value(&f.name, &f.ty, &f.value, &p)
    }))
}

fn field_value(name: &str, ty: &str, v: &FieldValue, path: &str) -> El {
    let head = el("dt")
        .child(el("span").text(name.to_owned()))
        .child(el("span").class("ty").text(ty.to_owned()));
    let body = match v {
        FieldValue::Text(t) => {
            let huge = ty.starts_with("uint") && crate::format::is_unlimited(t);
            let date = crate::reveal::is_time(name, ty)
                .then(|| crate::reveal::time_value(t, path))
                .flatten();
            el("dd")
                .class("mono")
                .child(date.unwrap_or_else(|| {
                    // Hidden characters as visible escapes, never rendered.
                    el("span")
                        .tid(format!("typed-field-{path}"))
                        .text(crate::hidden::reveal(t).0)
                }))
                .maybe(huge.then(|| {
                    el("span")
                        .class("pill bad")
                        .tid(format!("typed-unlimited-{path}"))
                        .text("unlimited")
                }))
        }
        FieldValue::Struct(inner) => el("dd").child(typed_tree(inner, path)),
        FieldValue::List(items) => el("dd").child(el("ol").class("tree-list").children(
            items.iter().enumerate().map(|(i, it)| {
                el("li").child(field_value(
                    &format!("[{i}]"),
                    "",
                    it,
                    &format!("{path}[{i}]"),
                ))
            }),
        )),
    };
    el("div").class("tree-row").child(head).child(body)
}

fn approval(ui: &Ui) -> El {
    let Some(a) = &ui.approval else {
        return el("div")
            .class("center muted")
            .tid("approval-missing")
            .text(
                ui.error
                    .clone()
                    .unwrap_or_else(|| "Loading request…".into()),
            );
    };
    if let Some(w) = &a.phone {
        return crate::confirm::waiting(w, ui.now_ms).maybe(error_box(ui));
    }
    let st = ui.state.clone().unwrap_or_default();
    // Signatures and transactions name the network they are for.
    let signed = |body: El| {
        el("div")
            .class("stack")
            .child(crate::chain::signing_chain(a, &st))
            .child(body)
    };
    let (heading, body) = match a.kind.as_str() {
        "connect" => ("Connect to this site?", connect_body(&st)),
        "personal_sign" => ("Signature request", signed(personal_body(a, ui.now_ms))),
        "typed_data" => (
            "Signature request",
            signed(typed_body(a, &st).maybe(crate::token::permit_line(a, &ui.tokens))),
        ),
        "transaction" => ("Transaction", signed(tx_body(a, &ui.tokens))),
        "add_chain" => (crate::chain::add_heading(a), crate::chain::add_body(a)),
        "switch_chain" => ("Switch network?", crate::chain::switch_body(a)),
        "watch_asset" => ("Add a token?", asset_body(a)),
        _ => (
            "Unknown request",
            el("p").text(format!("Tandem cannot show a `{}` request.", a.kind)),
        ),
    };
    let approve_label = match a.kind.as_str() {
        "connect" => "Connect",
        "personal_sign" | "typed_data" => "Sign",
        "transaction" => "Confirm",
        "add_chain" => crate::chain::add_label(a),
        "switch_chain" => "Switch",
        "watch_asset" => "Add token",
        _ => "Approve",
    };
    let mut approve_btn = el("button")
        .attr("type", "button")
        .class("btn primary")
        .tid("approval-approve")
        .action("approve")
        .text(approve_label);
    if ui.busy
        || !crate::queue::armed(ui)
        || a.needs_fill
        || ![
            "connect",
            "personal_sign",
            "typed_data",
            "transaction",
            "add_chain",
            "switch_chain",
            "watch_asset",
        ]
        .contains(&a.kind.as_str())
    {
        approve_btn = approve_btn.attr("disabled", "");
    }
    el("div")
        .class("approval stack")
        .tid("approval-screen")
        .attr("data-kind", a.kind.clone())
        .child(
            el("header")
                .class("approval-head")
                .child(el("h1").class("title").tid("approval-kind").text(heading))
                .child(
                    el("p")
                        .class("origin")
                        .tid("approval-origin")
                        .text(crate::send::origin_label(&a.origin)),
                ),
        )
        .child(
            el("main")
                .class("scroll stack")
                .child(body)
                .maybe(a.needs_phone.map(|r| {
                    el("p")
                        .class("notice")
                        .tid("approval-needs-phone")
                        .text(format!(
                            "{} After you approve here, approve on your phone too.",
                            r.reason()
                        ))
                }))
                .maybe(crate::queue::waiting(ui))
                .maybe(error_box(ui)),
        )
        .child(
            el("footer")
                .class("actions")
                .child(
                    el("button")
                        .attr("type", "button")
                        .class("btn")
                        .tid("approval-reject")
                        .action("reject")
                        .text("Reject"),
                )
                .child(approve_btn),
        )
}

fn connect_body(st: &WalletState) -> El {
    let sel = st
        .current_account()
        .map(|x| x.address.to_lowercase())
        .unwrap_or_default();
    el("div")
        .class("stack")
        .child(el("p").class("muted").text("The site will see the addresses you choose and can ask for signatures and transactions. It cannot move funds without your approval."))
        .child(el("ul").class("list").tid("approval-accounts").children(st.accounts.iter().enumerate().map(|(i, acc)| {
            let mut cb = el("input").attr("type", "checkbox").tid(format!("approval-account-{i}")).attr("data-address", acc.address.clone());
            if acc.address.to_lowercase() == sel {
                cb = cb.attr("checked", "");
            }
            el("li").class("row").child(
                el("label")
                    .class("check")
                    .child(cb)
                    .child(el("span").class("col").child(el("span").text(acc.name.clone())).child(el("span").class("muted small mono").text(shorten_address(&acc.address))).maybe(on_phone_tag(acc, format!("approval-account-on-phone-{i}")))),
            )
        })))
}

fn signer_line(a: &Approval) -> Option<El> {
    let addr = s(&a.request, "address");
    (!addr.is_empty()).then(|| kv("Account", shorten_address(addr), "approval-signer"))
}

fn personal_body(a: &Approval, now_ms: f64) -> El {
    let msg = a
        .request
        .get("message")
        .and_then(Value::as_str)
        .or_else(|| a.display.get("message").and_then(Value::as_str))
        .unwrap_or("");
    let (label, text, cls) = match personal_sign_text(msg) {
        SignText::Text(t) => ("Message", t, "message"),
        SignText::Hex(h) => ("Message (raw bytes)", h, "message mono"),
    };
    // A sign-in (EIP-4361) is checked against the origin the browser
    // reported; hidden characters are shown, never rendered.
    let signer = s(&a.request, "address");
    let chain = a.chain().map(|c| c.chain_id);
    let findings = crate::siwe::findings(&text, &a.origin, signer, chain, (now_ms / 1000.0) as i64);
    let siwe = crate::siwe::parse(&text).ok();
    let (shown, hidden) = crate::hidden::reveal(&text);
    el("div")
        .class("stack")
        .maybe(crate::siwe::warnings(&findings))
        .maybe(crate::hidden::warning(&text, hidden).map(|w| {
            el("p")
                .class("warn danger")
                .attr("role", "alert")
                .tid("sign-hidden-warning")
                .text(w)
        }))
        .maybe(signer_line(a))
        .maybe(siwe.as_ref().map(crate::siwe::card))
        .child(el("span").class("label").text(label))
        .child(el("pre").class(cls).tid("sign-message").text(shown))
}

fn typed_body(a: &Approval, st: &WalletState) -> El {
    let payload = a.request.get("typedData").cloned().unwrap_or(Value::Null);
    // Checked against the chain it was asked on; a later switch of network
    // is warned about once, by the chain row.
    let current = a
        .chain()
        .map(|c| c.chain_id)
        .or_else(|| st.network.as_ref().map(Network::id));
    match typed_data::decode(&payload, current) {
        Ok(v) => el("div")
            .class("stack")
            .maybe(signer_line(a))
            .maybe(warning_list(
                v.warnings
                    .iter()
                    .map(|w| (w.severity == Severity::Danger, w.message.clone())),
                "typed",
            ))
            .child(typed_signed_for(&v, current, st))
            .child(
                el("section")
                    .class("card")
                    .tid("typed-domain")
                    .child(el("h2").text("Domain"))
                    .child(typed_tree(&v.domain, "domain")),
            )
            .child(
                el("section")
                    .class("card")
                    .tid("typed-message")
                    .child(
                        el("h2").child(el("span").text("Message · ")).child(
                            el("span")
                                .class("mono")
                                .tid("typed-primary-type")
                                .text(v.primary_type.clone()),
                        ),
                    )
                    .child(typed_tree(&v.message, "message")),
            ),
        Err(e) => el("div").class("stack").child(
            el("p")
                .class("error")
                .tid("typed-error")
                .text(e.to_string()),
        ),
    }
}

/// The contract and chain a typed-data signature is valid for, as rows of
/// their own (the domain tree below repeats them among the other fields).
fn typed_signed_for(v: &typed_data::TypedDataView, signing: Option<u64>, st: &WalletState) -> El {
    let contract = v.domain_field("verifyingContract");
    let chain = v
        .domain_field("chainId")
        .and_then(|c| crate::format::to_decimal(c).ok());
    let chain_text = chain.as_ref().map_or_else(
        || "any chain (the domain names none)".to_owned(),
        |c| {
            let name = st
                .networks
                .iter()
                .find(|n| n.id().to_string() == *c)
                .map(|n| format!("{} · ", n.name))
                .unwrap_or_default();
            let other = signing.is_some_and(|s| s.to_string() != *c);
            format!(
                "{name}chain {c}{}",
                if other {
                    " (not the chain Tandem signs on)"
                } else {
                    ""
                }
            )
        },
    );
    el("section")
        .class("card")
        .tid("typed-signed-for")
        .child(kv(
            "Contract",
            contract.map_or_else(
                || "none named (any contract can use this signature)".to_owned(),
                crate::format::checksum_address,
            ),
            "typed-verifying-contract",
        ))
        .child(kv("Domain chain", chain_text, "typed-domain-chain"))
}

fn tx_body(a: &Approval, tokens: &[crate::token::TokenFacts]) -> El {
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
    let mut warnings: Vec<(bool, String)> = d
        .get("warnings")
        .and_then(Value::as_array)
        .map(|ws| {
            ws.iter()
                .filter_map(Value::as_str)
                .map(|w| (true, w.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    if let KnownCall::SetApprovalForAll {
        approved: true,
        operator,
    } = &call
    {
        warnings.push((
            true,
            format!("{operator} gets control over all your items in this collection"),
        ));
    }
    // An unlimited ERC-20 approval's warning is the wallet's (in `warnings`).
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

fn asset_body(a: &Approval) -> El {
    let t = a
        .request
        .get("asset")
        .cloned()
        .unwrap_or_else(|| a.display.clone());
    let dec = t.get("decimals").map(|d| d.to_string()).unwrap_or_default();
    el("section")
        .class("card")
        .child(kv("Symbol", s(&t, "symbol"), "asset-symbol"))
        .child(kv("Contract", s(&t, "address"), "asset-address"))
        .child(kv("Decimals", dec, "asset-decimals"))
}

#[cfg(test)]
mod tests {
    use super::fixtures::{approval_ui, home_ui, state};
    use super::*;
    use serde_json::json;

    #[test]
    fn approval_views() {
        let ui = approval_ui(
            "connect",
            json!({"method": "eth_requestAccounts"}),
            Value::Null,
        );
        let v = view(&ui, "");
        assert_eq!(
            v.find("approval-origin").unwrap().text_content(),
            "http://127.0.0.1:5173"
        );
        assert!(v
            .find("approval-account-0")
            .unwrap()
            .get("checked")
            .is_some());
        assert!(v
            .find("approval-account-1")
            .unwrap()
            .get("checked")
            .is_none());

        let ui = approval_ui(
            "personal_sign",
            json!({"address": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "message": "0x48656c6c6f"}),
            Value::Null,
        );
        assert_eq!(
            view(&ui, "").find("sign-message").unwrap().text_content(),
            "Hello"
        );

        let td = json!({
            "types": {"EIP712Domain": [{"name": "chainId", "type": "uint256"}], "Permit": [{"name": "spender", "type": "address"}, {"name": "value", "type": "uint256"}]},
            "primaryType": "Permit", "domain": {"chainId": 31337},
            "message": {"spender": "0x000000000000000000000000000000000000dEaD", "value": format!("0x{}", "f".repeat(64))}
        });
        let ui = approval_ui(
            "typed_data",
            json!({"typedData": td.to_string()}),
            Value::Null,
        );
        let v = view(&ui, "");
        assert_eq!(
            v.find("typed-primary-type").unwrap().text_content(),
            "Permit"
        );
        assert_eq!(
            v.find("typed-field-message.spender")
                .unwrap()
                .text_content(),
            "0x000000000000000000000000000000000000dEaD"
        );
        assert_eq!(
            v.find("typed-field-domain.chainId").unwrap().text_content(),
            "31337"
        );
        assert!(v
            .find("typed-warning-0")
            .unwrap()
            .text_content()
            .contains("permit"));
        assert!(v.find("typed-unlimited-message.value").is_some());
        assert!(v.find("typed-unlimited-domain.chainId").is_none());
        assert!(v
            .find("typed-warning-1")
            .unwrap()
            .text_content()
            .contains("unlimited"));

        let bad = approval_ui("typed_data", json!({"typedData": "{"}), Value::Null);
        assert!(view(&bad, "").find("typed-error").is_some());
    }

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
            a.needs_fill = true;
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
    fn chain_asset_and_raw_message_approvals() {
        // Add and switch network: crate::chain's tests, from the worker's own approvals.
        let asset = json!({"chainId": 31337, "address": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "symbol": "TND", "decimals": 6});
        let v = view(
            &approval_ui("watch_asset", json!({"asset": asset}), Value::Null),
            "",
        );
        assert_eq!(v.find("asset-symbol").unwrap().text_content(), "TND");
        assert_eq!(v.find("asset-decimals").unwrap().text_content(), "6");
        let v = view(
            &approval_ui("personal_sign", json!({"message": "0x00ff"}), Value::Null),
            "",
        );
        assert_eq!(v.find("sign-message").unwrap().text_content(), "0x00ff");
        assert!(v
            .find("sign-message")
            .unwrap()
            .get("class")
            .unwrap()
            .contains("mono"));
        let v = view(&approval_ui("something_new", json!({}), Value::Null), "");
        assert!(
            v.find("approval-approve")
                .unwrap()
                .get("disabled")
                .is_some(),
            "unknown kinds cannot be approved"
        );
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
        let sym = "0x0000000000000000000000000000000000000000000000000000000000000020\
                   0000000000000000000000000000000000000000000000000000000000000004\
                   5553445800000000000000000000000000000000000000000000000000000000";
        let dec = format!("0x{:064x}", 6);
        ui.tokens = vec![crate::token::TokenFacts::from_reply(
            31337,
            token,
            &json!({"symbol": sym, "decimals": dec}),
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

    #[test]
    fn every_interactive_element_has_a_testid() {
        fn check(e: &El) {
            let interactive = matches!(e.tag, "button" | "input" | "select" | "textarea" | "form");
            assert!(
                !interactive || e.get("data-testid").is_some(),
                "<{}> without data-testid: {:?}",
                e.tag,
                e.attrs
            );
            for c in &e.children {
                if let Node::El(x) = c {
                    check(x);
                }
            }
        }
        let mut ui = home_ui();
        for screen in [
            Screen::AddToken,
            Screen::Home,
            Screen::Accounts,
            Screen::Networks,
            Screen::NetworkForm,
            Screen::Settings,
            Screen::ChangePassword,
            Screen::Unlock,
            Screen::Welcome,
            Screen::Import,
            Screen::CreatePassword,
        ] {
            ui.screen = screen;
            for tab in [Tab::Tokens, Tab::Activity, Tab::Sites] {
                ui.tab = tab;
                check(&view(&ui, ""));
            }
        }
        let tx = json!({"to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "gas": "0x5208", "maxFeePerGas": "0x1", "maxPriorityFeePerGas": "0x1"});
        check(&view(
            &approval_ui("transaction", json!({"transaction": tx}), Value::Null),
            "",
        ));
        check(&view(&approval_ui("connect", json!({}), Value::Null), ""));
    }
}
