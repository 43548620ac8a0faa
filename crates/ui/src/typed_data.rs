//! `eth_signTypedData_v4` payloads (EIP-712) decoded into a tree people can read,
//! with warnings for the patterns drainers use.
//!
//! The hash that gets signed is computed by the wasm core; this module only
//! explains the payload, so it is lenient about value formats but strict about
//! structure (unknown types, missing fields, runaway nesting are errors).

use crate::format::{is_unlimited, to_decimal};
use crate::{Error, Result};
use serde_json::{Map, Value};

/// Deepest struct nesting shown; deeper payloads are rejected, not truncated.
pub const MAX_DEPTH: usize = 12;
/// Most leaf values rendered, to bound work on hostile payloads.
pub const MAX_VALUES: usize = 2_000;

/// One decoded field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Field name from the type definition.
    pub name: String,
    /// EIP-712 type (`address`, `uint256`, `Person`, `Person[]`, ...).
    pub ty: String,
    /// Its value.
    pub value: FieldValue,
}

/// A decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// An atomic value rendered as text (numbers in decimal).
    Text(String),
    /// A nested struct.
    Struct(Vec<Field>),
    /// An array of values.
    List(Vec<FieldValue>),
}

/// How loud a warning is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Worth knowing.
    Caution,
    /// Can move funds without another confirmation.
    Danger,
}

/// A warning shown above the decoded payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Loudness.
    pub severity: Severity,
    /// Text for the user.
    pub message: String,
}

/// The decoded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedDataView {
    /// `EIP712Domain` fields (name, version, chainId, verifyingContract, salt).
    pub domain: Vec<Field>,
    /// The primary type's name.
    pub primary_type: String,
    /// The message, decoded against `primaryType`.
    pub message: Vec<Field>,
    /// Warnings, most severe first.
    pub warnings: Vec<Warning>,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::TypedData(msg.into())
}

/// Accepts the payload as given to `eth_signTypedData_v4` (a JSON string or an
/// object). `current_chain` is the wallet's selected chain, for the mismatch
/// warning.
pub fn decode(payload: &Value, current_chain: Option<u64>) -> Result<TypedDataView> {
    let parsed;
    let obj = match payload {
        Value::String(s) => {
            parsed =
                serde_json::from_str::<Value>(s).map_err(|e| bad(format!("not JSON ({e})")))?;
            &parsed
        }
        v => v,
    };
    let obj = obj.as_object().ok_or_else(|| bad("expected an object"))?;
    let types = obj
        .get("types")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("`types` is missing"))?;
    let primary = obj
        .get("primaryType")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("`primaryType` is missing"))?;
    if !types.contains_key(primary) {
        return Err(bad(format!("type `{primary}` is not defined")));
    }
    let mut budget = MAX_VALUES;
    let empty = Map::new();
    let domain_obj = obj
        .get("domain")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let domain = if types.contains_key("EIP712Domain") {
        decode_struct(types, "EIP712Domain", domain_obj, 0, &mut budget)?
    } else {
        // Some dapps omit EIP712Domain from `types`; show what they sent.
        domain_obj
            .iter()
            .map(|(k, v)| Field {
                name: k.clone(),
                ty: String::new(),
                value: FieldValue::Text(plain(v)),
            })
            .collect()
    };
    let message_obj = obj
        .get("message")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("`message` is missing"))?;
    let message = decode_struct(types, primary, message_obj, 0, &mut budget)?;
    let mut view = TypedDataView {
        domain,
        primary_type: primary.to_owned(),
        message,
        warnings: Vec::new(),
    };
    view.warnings = warnings(&view, current_chain);
    Ok(view)
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn decode_struct(
    types: &Map<String, Value>,
    ty: &str,
    value: &Map<String, Value>,
    depth: usize,
    budget: &mut usize,
) -> Result<Vec<Field>> {
    if depth > MAX_DEPTH {
        return Err(bad(format!("nested more than {MAX_DEPTH} levels")));
    }
    let defs = types
        .get(ty)
        .and_then(Value::as_array)
        .ok_or_else(|| bad(format!("type `{ty}` is not defined")))?;
    let mut out = Vec::with_capacity(defs.len());
    for def in defs {
        let name = def
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("a field of `{ty}` has no name")))?;
        let fty = def
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("`{ty}.{name}` has no type")))?;
        let v = value
            .get(name)
            .ok_or_else(|| bad(format!("`{ty}.{name}` is missing from the message")))?;
        out.push(Field {
            name: name.to_owned(),
            ty: fty.to_owned(),
            value: decode_value(types, fty, v, depth + 1, budget)?,
        });
    }
    Ok(out)
}

fn decode_value(
    types: &Map<String, Value>,
    ty: &str,
    v: &Value,
    depth: usize,
    budget: &mut usize,
) -> Result<FieldValue> {
    if *budget == 0 {
        return Err(bad(format!("more than {MAX_VALUES} values")));
    }
    *budget -= 1;
    if let Some(inner) = ty.strip_suffix(']') {
        let (elem, len) = inner
            .rsplit_once('[')
            .ok_or_else(|| bad(format!("bad array type `{ty}`")))?;
        let items = v
            .as_array()
            .ok_or_else(|| bad(format!("`{ty}` value is not an array")))?;
        if !len.is_empty() && len.parse::<usize>().ok() != Some(items.len()) {
            return Err(bad(format!(
                "`{ty}` needs {len} items, got {}",
                items.len()
            )));
        }
        if depth > MAX_DEPTH {
            return Err(bad(format!("nested more than {MAX_DEPTH} levels")));
        }
        return items
            .iter()
            .map(|item| decode_value(types, elem, item, depth + 1, budget))
            .collect::<Result<Vec<_>>>()
            .map(FieldValue::List);
    }
    if types.contains_key(ty) {
        let obj = v
            .as_object()
            .ok_or_else(|| bad(format!("`{ty}` value is not an object")))?;
        return decode_struct(types, ty, obj, depth, budget).map(FieldValue::Struct);
    }
    let text = match ty {
        "address" => {
            let s = v
                .as_str()
                .ok_or_else(|| bad("an address must be a string"))?;
            let h = s.strip_prefix("0x").unwrap_or("");
            if h.len() != 40 || !h.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(bad(format!(
                    "`{}` is not an address",
                    crate::format::clip(s)
                )));
            }
            crate::format::checksum_address(s)
        }
        "bool" => match v {
            Value::Bool(b) => b.to_string(),
            Value::String(s) if s == "true" || s == "false" => s.clone(),
            _ => return Err(bad("a bool must be true or false")),
        },
        "string" => v
            .as_str()
            .ok_or_else(|| bad("a string field holds a non-string"))?
            .to_owned(),
        t if t.starts_with("uint") || t.starts_with("int") => {
            let bits = t.trim_start_matches("uint").trim_start_matches("int");
            if !bits.is_empty()
                && bits
                    .parse::<u16>()
                    .map_or(true, |b| b == 0 || b > 256 || b % 8 != 0)
            {
                return Err(bad(format!("unknown type `{t}`")));
            }
            match v {
                Value::Number(n) => n.to_string(),
                Value::String(s) => match s.strip_prefix('-') {
                    Some(neg) if t.starts_with("int") => format!("-{}", to_decimal(neg)?),
                    _ => to_decimal(s)?,
                },
                _ => return Err(bad(format!("`{t}` value is not a number"))),
            }
        }
        t if t.starts_with("bytes") => {
            let s = v.as_str().ok_or_else(|| bad("bytes must be a 0x string"))?;
            if !s.starts_with("0x") || !s[2..].chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(bad("bytes must be a 0x hex string"));
            }
            s.to_owned()
        }
        t => return Err(bad(format!("unknown type `{t}`"))),
    };
    Ok(FieldValue::Text(text))
}

/// Finds a top-level or nested text field by name.
impl TypedDataView {
    /// A top-level `EIP712Domain` field's value (`verifyingContract`, `chainId`).
    pub fn domain_field(&self, name: &str) -> Option<&str> {
        self.domain.iter().find_map(|f| match &f.value {
            FieldValue::Text(t) if f.name == name => Some(t.as_str()),
            _ => None,
        })
    }
}

fn find<'a>(fields: &'a [Field], name: &str) -> Option<&'a str> {
    for f in fields {
        match &f.value {
            FieldValue::Text(t) if f.name.eq_ignore_ascii_case(name) => return Some(t),
            FieldValue::Struct(inner) => {
                if let Some(t) = find(inner, name) {
                    return Some(t);
                }
            }
            _ => {}
        }
    }
    None
}

fn walk<'a>(fields: &'a [Field], out: &mut Vec<(&'a str, &'a str)>) {
    for f in fields {
        match &f.value {
            FieldValue::Text(t) => out.push((&f.name, t)),
            FieldValue::Struct(inner) => walk(inner, out),
            FieldValue::List(items) => {
                for it in items {
                    if let FieldValue::Struct(inner) = it {
                        walk(inner, out);
                    } else if let FieldValue::Text(t) = it {
                        out.push((&f.name, t));
                    }
                }
            }
        }
    }
}

fn warnings(view: &TypedDataView, current_chain: Option<u64>) -> Vec<Warning> {
    let mut w = Vec::new();
    let pt = view.primary_type.to_ascii_lowercase();
    let mut leaves = Vec::new();
    walk(&view.message, &mut leaves);
    if tandem_wallet::decode::is_permit(&view.primary_type) {
        let spender = find(&view.message, "spender").unwrap_or("an address");
        w.push(Warning {
            severity: Severity::Danger,
            message: format!(
                "This is a token permit: signing lets {spender} move your tokens without asking again."
            ),
        });
    }
    if pt.contains("approvalforall")
        || leaves
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("approved") && *v == "true")
    {
        w.push(Warning {
            severity: Severity::Danger,
            message: "This grants control over all your items in a collection.".into(),
        });
    }
    let amount_names = ["value", "amount", "allowance", "wad"];
    if leaves
        .iter()
        .any(|(n, v)| amount_names.iter().any(|a| n.eq_ignore_ascii_case(a)) && is_unlimited(v))
    {
        w.push(Warning {
            severity: Severity::Danger,
            message: "The amount is unlimited: everything you hold of this token can be taken."
                .into(),
        });
    }
    let time_names = [
        "deadline",
        "expiration",
        "expiry",
        "sigdeadline",
        "validto",
        "endtime",
    ];
    if leaves.iter().any(|(n, v)| {
        time_names.iter().any(|a| n.eq_ignore_ascii_case(a))
            && to_decimal(v).is_ok_and(|d| d.len() >= 12) // > year 5138 in seconds
    }) {
        w.push(Warning {
            severity: Severity::Caution,
            message: "This signature never expires in practice.".into(),
        });
    }
    if let (Some(cur), Some(dc)) = (current_chain, find(&view.domain, "chainId")) {
        if let Ok(d) = to_decimal(dc) {
            if d != cur.to_string() {
                w.push(Warning {
                    severity: Severity::Danger,
                    message: format!(
                        "This request is for chain {d}, but the wallet is on chain {cur}."
                    ),
                });
            }
        }
    }
    let mut strings = Vec::new();
    walk(&view.domain, &mut strings);
    let hidden: usize = leaves
        .iter()
        .chain(&strings)
        .map(|(_, v)| crate::hidden::reveal(v).1)
        .sum();
    let all: String = leaves.iter().chain(&strings).map(|(_, v)| *v).collect();
    if let Some(message) = crate::hidden::warning(&all, hidden) {
        w.push(Warning {
            severity: Severity::Danger,
            message,
        });
    }
    w.sort_by_key(|x| match x.severity {
        Severity::Danger => 0,
        Severity::Caution => 1,
    });
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The "Mail" example from EIP-712's specification (eips.ethereum.org/EIPS/eip-712).
    fn mail() -> Value {
        json!({
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}
                ],
                "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}],
                "Mail": [
                    {"name": "from", "type": "Person"}, {"name": "to", "type": "Person"},
                    {"name": "contents", "type": "string"}
                ]
            },
            "primaryType": "Mail",
            "domain": {"name": "Ether Mail", "version": "1", "chainId": 1,
                       "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},
            "message": {
                "from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
                "to": {"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},
                "contents": "Hello, Bob!"
            }
        })
    }

    #[test]
    fn decodes_the_eip712_mail_example() {
        let v = decode(&mail(), Some(1)).unwrap();
        assert_eq!(v.primary_type, "Mail");
        assert_eq!(v.domain[0].value, FieldValue::Text("Ether Mail".into()));
        assert_eq!(v.domain[2].value, FieldValue::Text("1".into()));
        let FieldValue::Struct(from) = &v.message[0].value else {
            panic!("from is a struct")
        };
        assert_eq!(from[0].value, FieldValue::Text("Cow".into()));
        assert_eq!(v.message[2].value, FieldValue::Text("Hello, Bob!".into()));
        assert!(v.warnings.is_empty(), "{:?}", v.warnings);
        // Also as the JSON string dapps actually send.
        let s = Value::String(mail().to_string());
        assert_eq!(decode(&s, Some(1)).unwrap(), v);
    }

    #[test]
    fn warns_about_chain_mismatch() {
        let v = decode(&mail(), Some(31337)).unwrap();
        assert_eq!(v.warnings.len(), 1);
        assert!(v.warnings[0].message.contains("chain 1"));
    }

    #[test]
    fn warns_about_unlimited_never_expiring_permits() {
        // Shape of an EIP-2612 permit (eips.ethereum.org/EIPS/eip-2612).
        let p = json!({
            "types": {
                "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
                "Permit": [
                    {"name": "owner", "type": "address"}, {"name": "spender", "type": "address"},
                    {"name": "value", "type": "uint256"}, {"name": "nonce", "type": "uint256"},
                    {"name": "deadline", "type": "uint256"}
                ]
            },
            "primaryType": "Permit",
            "domain": {"name": "USD Coin", "chainId": "0x7a69"},
            "message": {
                "owner": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                "spender": "0x000000000000000000000000000000000000dEaD",
                "value": format!("0x{}", "f".repeat(64)),
                "nonce": 0,
                "deadline": "115792089237316195423570985008687907853269984665640564039457584007913129639935"
            }
        });
        let v = decode(&p, Some(31337)).unwrap();
        let msgs: Vec<&str> = v.warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(v.warnings.len(), 3, "{msgs:?}");
        assert!(msgs[0].contains("0x000000000000000000000000000000000000dEaD"));
        assert!(msgs.iter().any(|m| m.contains("unlimited")));
        assert!(msgs.iter().any(|m| m.contains("never expires")));
        assert_eq!(v.warnings[2].severity, Severity::Caution);
    }

    #[test]
    fn arrays_and_nested_structs() {
        let p = json!({
            "types": {
                "EIP712Domain": [],
                "Item": [{"name": "id", "type": "uint8"}],
                "Order": [{"name": "items", "type": "Item[2]"}, {"name": "tags", "type": "bytes32[]"}]
            },
            "primaryType": "Order",
            "domain": {},
            "message": {"items": [{"id": 1}, {"id": "0x02"}], "tags": []}
        });
        let v = decode(&p, None).unwrap();
        let FieldValue::List(items) = &v.message[0].value else {
            panic!("list")
        };
        assert_eq!(
            items[1],
            FieldValue::Struct(vec![Field {
                name: "id".into(),
                ty: "uint8".into(),
                value: FieldValue::Text("2".into())
            }])
        );
    }

    #[test]
    fn malformed_payloads_get_specific_errors() {
        let cases: Vec<(Value, &str)> = vec![
            (json!("not json"), "not JSON"),
            (json!([]), "expected an object"),
            (json!({"primaryType": "X"}), "`types` is missing"),
            (
                json!({"types": {}, "primaryType": "X", "message": {}}),
                "`X` is not defined",
            ),
            (
                json!({"types": {"X": [{"name": "a", "type": "Y"}]}, "primaryType": "X", "message": {"a": 1}}),
                "unknown type `Y`",
            ),
            (
                json!({"types": {"X": [{"name": "a", "type": "uint7"}]}, "primaryType": "X", "message": {"a": 1}}),
                "unknown type `uint7`",
            ),
            (
                json!({"types": {"X": [{"name": "a", "type": "address"}]}, "primaryType": "X", "message": {}}),
                "`X.a` is missing",
            ),
            (
                json!({"types": {"X": [{"name": "a", "type": "address"}]}, "primaryType": "X", "message": {"a": "0x12"}}),
                "not an address",
            ),
            (
                json!({"types": {"X": [{"name": "a", "type": "uint256[2]"}]}, "primaryType": "X", "message": {"a": [1]}}),
                "needs 2 items",
            ),
        ];
        for (payload, want) in cases {
            let e = decode(&payload, None).unwrap_err().to_string();
            assert!(e.contains(want), "{payload}: got `{e}`, want `{want}`");
        }
    }

    #[test]
    fn self_referencing_types_stop() {
        let mut msg = json!({"n": 0, "next": []});
        for _ in 0..40 {
            msg = json!({"n": 0, "next": [msg]});
        }
        let p = json!({
            "types": {"Node": [{"name": "n", "type": "uint8"}, {"name": "next", "type": "Node[]"}]},
            "primaryType": "Node",
            "message": msg
        });
        let e = decode(&p, None).unwrap_err().to_string();
        assert!(e.contains("nested"), "{e}");
    }
}
