//! `eth_signTypedData_v4`: the EIP-712 domain and message as trees, what the
//! signature is valid for, and the decoder's warnings.

use super::{signer_line, warning_list};
use crate::model::NetworkExt as _;
use crate::model::{Approval, Network, WalletState};
use crate::typed_data::{self, Field, FieldValue, Severity};
use crate::view::{el, kv, El};
use serde_json::Value;

pub(super) fn typed_body(a: &Approval, st: &WalletState) -> El {
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

#[cfg(test)]
mod tests {
    use crate::view::fixtures::approval_ui;
    use crate::view::view;
    use serde_json::{json, Value};

    #[test]
    fn typed_data_shows_its_trees_and_warnings() {
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
}
