//! Transactions as the approval window shows them: who, what, how much, and
//! the EIP-1559 fees the user may edit.

use crate::format::{clip, format_units, parse_units, to_decimal, to_u128};
use crate::{form_err, Result};
use serde_json::Value;

/// A call the window can explain in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KnownCall {
    /// No calldata: a plain transfer of the native coin.
    NativeTransfer,
    /// `to` is empty: deploys a contract.
    ContractCreation,
    /// ERC-20 `transfer(address,uint256)`.
    Transfer {
        /// Recipient.
        to: String,
        /// Raw token amount (decimal).
        amount: String,
    },
    /// ERC-20 `approve(address,uint256)`.
    Approve {
        /// Who may spend.
        spender: String,
        /// Raw allowance (decimal).
        amount: String,
        /// At least 2^128.
        unlimited: bool,
    },
    /// ERC-721/1155 `setApprovalForAll(address,bool)`.
    SetApprovalForAll {
        /// Who gets control.
        operator: String,
        /// Granting (true) or revoking.
        approved: bool,
    },
    /// ERC-20 `transferFrom(address,address,uint256)`.
    TransferFrom {
        /// Source.
        from: String,
        /// Destination.
        to: String,
        /// Raw amount (decimal).
        amount: String,
    },
    /// Calldata we cannot name; the 4-byte selector.
    Unknown {
        /// `0x` + 8 hex digits, or the whole data if shorter.
        selector: String,
    },
}

/// Names the call made by `to`/`data`, as the core's warnings and the
/// phone's policy read it (`tandem_wallet::decode`): one decoder, so the
/// window never calls harmless what the policy sends to the phone.
pub fn decode_call(to: Option<&str>, data: &str) -> KnownCall {
    use tandem_wallet::decode::{is_unlimited_word, token_call, TokenCall};
    let d = data.trim().trim_start_matches("0x");
    if to.is_none_or(str::is_empty) {
        return KnownCall::ContractCreation;
    }
    if d.is_empty() {
        return KnownCall::NativeTransfer;
    }
    let address = |hex: &str| crate::format::checksum_address(&format!("0x{hex}"));
    let amount = |hex: &str| to_decimal(&format!("0x{hex}")).unwrap_or_default();
    match token_call(d) {
        Some(TokenCall::Transfer { to, amount: a }) => KnownCall::Transfer {
            to: address(to),
            amount: amount(a),
        },
        Some(TokenCall::Approve { spender, amount: a }) => KnownCall::Approve {
            spender: address(spender),
            amount: amount(a),
            unlimited: is_unlimited_word(a),
        },
        Some(TokenCall::SetApprovalForAll { operator, approved }) => KnownCall::SetApprovalForAll {
            operator: address(operator),
            approved,
        },
        Some(TokenCall::TransferFrom {
            from,
            to,
            amount: a,
        }) => KnownCall::TransferFrom {
            from: address(from),
            to: address(to),
            amount: amount(a),
        },
        _ => {
            let d = d.to_ascii_lowercase();
            KnownCall::Unknown {
                selector: format!("0x{}", d.get(..8).unwrap_or(&d)),
            }
        }
    }
}

/// One line describing the call, for the window title area.
pub fn describe(call: &KnownCall) -> String {
    match call {
        KnownCall::NativeTransfer => "Send".into(),
        KnownCall::ContractCreation => "Deploy a contract".into(),
        KnownCall::Transfer { .. } => "Token transfer".into(),
        KnownCall::Approve {
            unlimited: true, ..
        } => "Unlimited token approval".into(),
        KnownCall::Approve { .. } => "Token approval".into(),
        KnownCall::SetApprovalForAll { approved: true, .. } => "Approve all items".into(),
        KnownCall::SetApprovalForAll { .. } => "Revoke approval for all items".into(),
        KnownCall::TransferFrom { .. } => "Token transferFrom".into(),
        KnownCall::Unknown { selector } => format!("Contract call {selector}"),
    }
}

/// Fee fields of a transaction, as the user edits them: gas as a whole
/// number, fees in gwei.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeForm {
    /// Gas limit.
    pub gas: String,
    /// maxFeePerGas in gwei.
    pub max_fee_gwei: String,
    /// maxPriorityFeePerGas in gwei.
    pub priority_gwei: String,
    /// A legacy (type 0) transaction: one `gasPrice` (in `max_fee_gwei`),
    /// no priority fee. Chains and nodes without EIP-1559 take only these.
    pub legacy: bool,
}

/// Fees after validation, in wei.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fees {
    /// Gas limit.
    pub gas: u128,
    /// maxFeePerGas, wei.
    pub max_fee: u128,
    /// maxPriorityFeePerGas, wei.
    pub priority: u128,
    /// `max_fee` is a legacy `gasPrice`.
    pub legacy: bool,
}

impl Fees {
    /// The `edits` object for `approvals.resolve` (hex quantities).
    pub fn to_edits(self) -> Value {
        if self.legacy {
            return serde_json::json!({
                "gas": format!("{:#x}", self.gas),
                "gasPrice": format!("{:#x}", self.max_fee),
            });
        }
        serde_json::json!({
            "gas": format!("{:#x}", self.gas),
            "maxFeePerGas": format!("{:#x}", self.max_fee),
            "maxPriorityFeePerGas": format!("{:#x}", self.priority),
        })
    }

    /// The most this transaction can cost: gas * maxFee + value (wei).
    pub fn max_cost(self, value_wei: u128) -> Result<u128> {
        self.gas
            .checked_mul(self.max_fee)
            .and_then(|f| f.checked_add(value_wei))
            .ok_or_else(|| form_err("these fees overflow; lower the gas limit or the fee"))
    }
}

/// Gas every transaction needs at least (the intrinsic cost of a transfer).
pub const MIN_GAS: u128 = 21_000;
/// Ethereum's block gas limit order of magnitude; more is surely a typo.
pub const MAX_GAS: u128 = 60_000_000;

fn gwei_to_wei(s: &str, what: &str) -> Result<u128> {
    let wei = parse_units(s, 9).map_err(|e| form_err(format!("{what}: {e}")))?;
    to_u128(&wei).map_err(|e| form_err(format!("{what}: {e}")))
}

impl FeeForm {
    /// Fills the form from the transaction's hex fields.
    pub fn from_tx(tx: &Value) -> FeeForm {
        let gwei = |k: &str| {
            tx.get(k)
                .and_then(Value::as_str)
                .and_then(|v| format_units(v, 9, 9).ok())
                .map(|s| s.replace(',', ""))
                .unwrap_or_default()
        };
        let gas = tx
            .get("gas")
            .or_else(|| tx.get("gasLimit"))
            .and_then(Value::as_str)
            .and_then(|v| to_decimal(v).ok())
            .unwrap_or_default();
        let max_fee = gwei("maxFeePerGas");
        let legacy = max_fee.is_empty() && tx.get("gasPrice").is_some_and(Value::is_string);
        FeeForm {
            gas,
            max_fee_gwei: if legacy { gwei("gasPrice") } else { max_fee },
            priority_gwei: gwei("maxPriorityFeePerGas"),
            legacy,
        }
    }

    /// Validates the edited fields.
    pub fn validate(&self) -> Result<Fees> {
        let gas = to_u128(self.gas.trim()).map_err(|_| {
            form_err(format!(
                "gas limit `{}` is not a whole number",
                clip(&self.gas)
            ))
        })?;
        if !(MIN_GAS..=MAX_GAS).contains(&gas) {
            return Err(form_err(format!(
                "the gas limit must be between {MIN_GAS} and {MAX_GAS}"
            )));
        }
        let what = if self.legacy { "gas price" } else { "max fee" };
        let max_fee = gwei_to_wei(&self.max_fee_gwei, what)?;
        let priority = if self.legacy {
            0
        } else {
            gwei_to_wei(&self.priority_gwei, "priority fee")?
        };
        if max_fee == 0 {
            return Err(form_err(format!("the {what} must be above 0 gwei")));
        }
        if priority > max_fee {
            return Err(form_err("the priority fee cannot exceed the max fee"));
        }
        let fees = Fees {
            gas,
            max_fee,
            priority,
            legacy: self.legacy,
        };
        fees.max_cost(0)?;
        Ok(fees)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TOKEN: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

    #[test]
    fn decodes_erc20_calls() {
        // transfer(0x70997970C51812dc3A010C7d01b50e0d17dc79C8, 1e18), encoded by hand per the ABI spec.
        let data = format!(
            "0xa9059cbb{:0>64}{:0>64}",
            "70997970c51812dc3a010c7d01b50e0d17dc79c8", "de0b6b3a7640000"
        );
        assert_eq!(
            decode_call(Some(TOKEN), &data),
            KnownCall::Transfer {
                to: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".into(),
                amount: "1000000000000000000".into()
            }
        );
        let approve = format!("0x095ea7b3{:0>64}{}", "dead", "f".repeat(64));
        let call = decode_call(Some(TOKEN), &approve);
        assert!(
            matches!(
                call,
                KnownCall::Approve {
                    unlimited: true,
                    ..
                }
            ),
            "{call:?}"
        );
        assert_eq!(describe(&call), "Unlimited token approval");
        let all = format!("0xa22cb465{:0>64}{:0>64}", "dead", "1");
        assert!(matches!(
            decode_call(Some(TOKEN), &all),
            KnownCall::SetApprovalForAll { approved: true, .. }
        ));
    }

    #[test]
    fn odd_calldata_is_unknown_not_a_crash() {
        assert_eq!(decode_call(Some(TOKEN), "0x"), KnownCall::NativeTransfer);
        assert_eq!(decode_call(None, "0x6080"), KnownCall::ContractCreation);
        assert_eq!(
            decode_call(Some(TOKEN), "0xa9059cbb"),
            KnownCall::Unknown {
                selector: "0xa9059cbb".into()
            }
        );
        assert_eq!(
            decode_call(Some(TOKEN), "0x12"),
            KnownCall::Unknown {
                selector: "0x12".into()
            }
        );
        assert!(matches!(
            decode_call(Some(TOKEN), "0xzz"),
            KnownCall::Unknown { .. }
        ));
        // An address word with dirty upper bytes is read as a token
        // compiled with Solidity's older ABI decoder reads it (its lower 20
        // bytes): called unknown, an unlimited approval went unnamed here
        // while the phone's policy covered it (`tandem_wallet::decode`).
        let dirty = format!("0x095ea7b3{}{}", "1".repeat(64), "f".repeat(64));
        assert!(matches!(
            decode_call(Some(TOKEN), &dirty),
            KnownCall::Approve { unlimited: true, ref spender, .. }
                if spender.eq_ignore_ascii_case(&format!("0x{}", "1".repeat(40)))
        ));
        assert!(matches!(
            decode_call(Some(TOKEN), "0xa9059cbb€€"),
            KnownCall::Unknown { .. }
        ));
    }

    #[test]
    fn fee_form_round_trip() {
        let tx = json!({"gas": "0x5208", "maxFeePerGas": "0x77359400", "maxPriorityFeePerGas": "0x3b9aca00"});
        let form = FeeForm::from_tx(&tx);
        assert_eq!(
            form,
            FeeForm {
                gas: "21000".into(),
                max_fee_gwei: "2".into(),
                priority_gwei: "1".into(),
                legacy: false,
            }
        );
        let fees = form.validate().unwrap();
        assert_eq!(
            fees.to_edits(),
            json!({"gas": "0x5208", "maxFeePerGas": "0x77359400", "maxPriorityFeePerGas": "0x3b9aca00"})
        );
        assert_eq!(fees.max_cost(1).unwrap(), 21_000 * 2_000_000_000 + 1);
        let legacy = FeeForm::from_tx(&json!({"gasLimit": "0x5208", "gasPrice": "0x3b9aca00"}));
        assert_eq!(legacy.max_fee_gwei, "1");
    }

    #[test]
    fn a_legacy_transaction_keeps_one_gas_price() {
        // A chain without EIP-1559 (the node fills gasPrice) or a dapp that
        // sent gasPrice: the edits stay a type-0 transaction's. Before, the
        // form asked for a priority fee it did not have and turned the
        // transaction into an EIP-1559 one.
        let mut form = FeeForm::from_tx(&json!({"gas": "0x5208", "gasPrice": "0x4a817c800"}));
        assert!(form.legacy);
        assert_eq!(
            (form.max_fee_gwei.as_str(), form.priority_gwei.as_str()),
            ("20", "")
        );
        form.max_fee_gwei = "25".into();
        let fees = form.validate().unwrap();
        assert_eq!(
            fees.to_edits(),
            json!({"gas": "0x5208", "gasPrice": "0x5d21dba00"})
        );
        assert_eq!(fees.max_cost(0).unwrap(), 21_000 * 25_000_000_000);
        form.max_fee_gwei = "0".into();
        assert!(form
            .validate()
            .unwrap_err()
            .to_string()
            .contains("gas price"));
    }

    #[test]
    fn fee_form_rejects_nonsense() {
        let f = |g: &str, m: &str, p: &str| {
            FeeForm {
                gas: g.into(),
                max_fee_gwei: m.into(),
                priority_gwei: p.into(),
                legacy: false,
            }
            .validate()
        };
        assert!(f("21000", "1.5", "0.1").is_ok());
        assert!(f("20999", "1", "1")
            .unwrap_err()
            .to_string()
            .contains("between"));
        assert!(f("abc", "1", "1")
            .unwrap_err()
            .to_string()
            .contains("whole number"));
        assert!(f("21000", "1", "2")
            .unwrap_err()
            .to_string()
            .contains("exceed"));
        assert!(f("21000", "0", "0")
            .unwrap_err()
            .to_string()
            .contains("above 0"));
        assert!(f("21000", "x", "0")
            .unwrap_err()
            .to_string()
            .contains("max fee"));
        assert!(f("21000", "1.0000000001", "0").is_err());
        assert!(f("21000", &"9".repeat(40), "0").is_err());
    }
}
