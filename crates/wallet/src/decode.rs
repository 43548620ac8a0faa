//! The one reading of what a request asks for, shared by everything that
//! decides on it: the core's approval display and warnings
//! ([`crate::approval`]), the phone's policy ([`crate::confirm`]) and the
//! approval window and phone screens (`tandem_ui::tx`, `tandem_ui::typed_data`).
//! Two readings would let a request look harmless to one of them (an
//! unlimited approval with a byte appended passed the phone's policy while
//! the window warned), so there is one, and it only decodes: each caller
//! words and formats the result its own way (the core module's size budget
//! has no room for the window's formatting).
//!
//! A permit's fields (token, spender, amount, deadline) are read by
//! [`permit_of`] (feature "permit": the pages and the extra module; the
//! core warns about permits by type, [`is_permit`]).
//!
//! `personal_sign` text is decoded next to its bytes, in
//! `tandem_eth::eip191::message_text`.

/// ERC-20 `transfer(address,uint256)`.
const TRANSFER: u32 = 0xa905_9cbb;
/// ERC-20 `approve(address,uint256)`.
const APPROVE: u32 = 0x095e_a7b3;
/// ERC-721/1155 `setApprovalForAll(address,bool)`.
const SET_APPROVAL_FOR_ALL: u32 = 0xa22c_b465;
/// ERC-20 `transferFrom(address,address,uint256)`.
const TRANSFER_FROM: u32 = 0x23b8_72dd;

/// A token call named from its calldata. Addresses are their 40 hex digits
/// and amounts their 64 (no `0x`), as the calldata spells them (either case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenCall<'a> {
    /// ERC-20 `transfer`.
    Transfer {
        /// Recipient.
        to: &'a str,
        /// Raw token amount.
        amount: &'a str,
    },
    /// ERC-20 `approve`.
    Approve {
        /// Who may spend.
        spender: &'a str,
        /// Raw allowance.
        amount: &'a str,
    },
    /// ERC-721/1155 `setApprovalForAll`.
    SetApprovalForAll {
        /// Who gets control.
        operator: &'a str,
        /// Granting (true) or revoking.
        approved: bool,
    },
    /// ERC-20 `transferFrom`.
    TransferFrom {
        /// Source.
        from: &'a str,
        /// Destination.
        to: &'a str,
        /// Raw amount.
        amount: &'a str,
    },
}

impl TokenCall<'_> {
    /// Whether the call hands a spender everything: an unlimited approval
    /// or control over a whole collection (the calls the phone's policy
    /// covers and the window warns about).
    pub fn grants_all(&self) -> bool {
        match self {
            Self::Approve { amount, .. } => is_unlimited_word(amount),
            Self::SetApprovalForAll { approved, .. } => *approved,
            _ => false,
        }
    }
}

/// The token call in `data` (`0x` hex calldata, as the validated request
/// holds it), if it is one of [`TokenCall`]'s. Read as a token contract reads it: bytes after the
/// arguments are ignored (Solidity does not check calldata's length, so
/// `approve` with a byte appended still approves), an address word's upper
/// 12 bytes are dropped and a bool is true when not zero (the ABI decoder
/// of Solidity before 0.8, which many deployed tokens use; newer ones
/// revert on such words, so reading them this way never hides a call that
/// runs).
#[inline(never)] // one copy for the display and the policy (core size)
pub fn token_call(data: &str) -> Option<TokenCall<'_>> {
    let d = data.strip_prefix("0x").unwrap_or(data);
    // Hex only, so that every slice below is on a character boundary.
    if !d.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let word = |i: usize| d.get(8 + i * 64..8 + (i + 1) * 64);
    let address = |i: usize| word(i).map(|w| &w[24..]);
    // As a number, so that either case of hex names the same call (the
    // digits are hex, checked above).
    let selector = d
        .get(..8)?
        .chars()
        .fold(0u32, |n, c| n << 4 | c.to_digit(16).unwrap_or_default());
    Some(match selector {
        TRANSFER => TokenCall::Transfer {
            to: address(0)?,
            amount: word(1)?,
        },
        APPROVE => TokenCall::Approve {
            spender: address(0)?,
            amount: word(1)?,
        },
        SET_APPROVAL_FOR_ALL => TokenCall::SetApprovalForAll {
            operator: address(0)?,
            approved: word(1)?.bytes().any(|b| b != b'0'),
        },
        TRANSFER_FROM => TokenCall::TransferFrom {
            from: address(0)?,
            to: address(1)?,
            amount: word(2)?,
        },
        _ => return None,
    })
}

/// Whether a 64-digit amount word is unlimited in practice: at least
/// [`crate::approval::UNLIMITED_FROM`] (2^128), i.e. one of its upper 32
/// digits is not zero. The one threshold for allowances and permits.
pub fn is_unlimited_word(word: &str) -> bool {
    word.len() == 64 && word.bytes().take(32).any(|b| b != b'0')
}

/// Whether EIP-712 data of primary type `primary` is a token permit
/// (EIP-2612 `Permit`, DAI's, Uniswap Permit2's `PermitSingle`,
/// `PermitBatch`, `PermitTransferFrom`, `PermitWitnessTransferFrom`, ...):
/// signing it lets a spender move tokens. Any primary type naming a permit
/// counts, so that the window's warning and the phone's policy cover the
/// same requests, including permit types not listed here.
pub fn is_permit(primary: &str) -> bool {
    primary
        .as_bytes()
        .windows(6)
        .any(|w| w.eq_ignore_ascii_case(b"permit"))
}

/// A token allowance signed off-chain, as the typed data states it:
/// EIP-2612 `Permit` (the token is the domain's verifying contract) or
/// Uniswap Permit2 `PermitSingle` (the token is in `details`, the domain's
/// contract is Permit2 itself). Addresses and numbers as the dapp spelled
/// them (a JSON number is written in decimal).
#[cfg(feature = "permit")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permit {
    /// Token contract.
    pub token: String,
    /// Who may spend.
    pub spender: String,
    /// Raw allowance (decimal or `0x` hex): unlimited from
    /// [`crate::approval::UNLIMITED_FROM`] ([`is_unlimited_word`] of its
    /// 64 hex digits), as an `approve`'s.
    pub amount: String,
    /// Until when the signature can be used: EIP-2612's `deadline`,
    /// Permit2's `sigDeadline`.
    pub deadline: Option<String>,
}

/// The permit in EIP-712 typed data (the object, or its JSON text), if it
/// is one whose fields are known: the one reading of a permit's token,
/// spender, amount and deadline. Other permit types ([`is_permit`]) are
/// warned about by type but not read here.
#[cfg(feature = "permit")]
pub fn permit_of(typed: &serde_json::Value) -> Option<Permit> {
    use serde_json::Value;
    let parsed;
    let t = match typed {
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).ok()?;
            &parsed
        }
        v => v,
    };
    let m = t.get("message")?;
    let text = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    match t.get("primaryType")?.as_str()? {
        "Permit" => Some(Permit {
            token: text(t.get("domain")?.get("verifyingContract"))?,
            spender: text(m.get("spender"))?,
            amount: text(m.get("value"))?,
            deadline: text(m.get("deadline")),
        }),
        "PermitSingle" => Some(Permit {
            token: text(m.get("details")?.get("token"))?,
            spender: text(m.get("spender"))?,
            amount: text(m.get("details")?.get("amount"))?,
            deadline: text(m.get("sigDeadline")),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::UNLIMITED_FROM;
    use alloy_primitives::U256;

    fn word(n: U256) -> String {
        format!("{n:064x}")
    }

    #[test]
    fn decodes_the_four_calls() {
        let a = "70997970c51812dc3a010c7d01b50e0d17dc79c8";
        let b = "3c44cdddb6a900fa2b585dd299e03d12fa4293bc";
        let one = word(U256::from(1));
        let to = format!("{a:0>64}");
        assert_eq!(
            token_call(&format!("0xa9059cbb{to}{one}")),
            Some(TokenCall::Transfer {
                to: a,
                amount: &one
            })
        );
        assert_eq!(
            token_call(&format!("0x095EA7B3{to}{one}")),
            Some(TokenCall::Approve {
                spender: a,
                amount: &one
            })
        );
        assert_eq!(
            token_call(&format!("0xa22cb465{to}{one}")),
            Some(TokenCall::SetApprovalForAll {
                operator: a,
                approved: true
            })
        );
        assert_eq!(
            token_call(&format!("0x23b872dd{to}{b:0>64}{one}")),
            Some(TokenCall::TransferFrom {
                from: a,
                to: b,
                amount: &one
            })
        );
    }

    #[test]
    fn reads_calldata_as_a_token_contract_does() {
        let spender = format!("{:0>64}", "dead");
        let max = "f".repeat(64);
        // Bytes after the arguments: the contract ignores them, so do we.
        let padded = format!("0x095ea7b3{spender}{max}00");
        assert!(token_call(&padded).is_some_and(|c| c.grants_all()));
        // An address word with dirty upper bytes: the older ABI decoder
        // keeps the lower 20.
        let dirty = format!("0x095ea7b3{}{max}", "1".repeat(64));
        assert_eq!(
            token_call(&dirty),
            Some(TokenCall::Approve {
                spender: &"1".repeat(40),
                amount: &max
            })
        );
        // A bool word other than 0 or 1 is true to the older decoder.
        let two = format!("0xa22cb465{spender}{:0>64}", "2");
        assert!(token_call(&two).is_some_and(|c| c.grants_all()));
        let revoke = format!("0xa22cb465{spender}{:0>64}", "0");
        assert!(!token_call(&revoke).is_some_and(|c| c.grants_all()));
        // Too short, unknown, not hex: nothing named, nothing panics.
        for d in [
            "0x",
            "0xa9059cbb",
            "0x12",
            "0xzz",
            "0xa9059cbb€€",
            "",
            "0x12345678",
        ] {
            assert_eq!(token_call(d), None, "{d}");
        }
        let cut = format!("0xa9059cbb{spender}{}", &max[..63]);
        assert_eq!(token_call(&cut), None);
    }

    #[test]
    fn unlimited_is_the_approval_threshold() {
        // The word test and the wallet's U256 threshold agree at its edge;
        // Permit2's 2^160 - 1 is above it.
        let one = U256::from(1);
        for (n, unlimited) in [
            (UNLIMITED_FROM, true),
            (UNLIMITED_FROM - one, false),
            (U256::MAX, true),
            ((one << 160) - one, true),
            (U256::ZERO, false),
        ] {
            assert_eq!(is_unlimited_word(&word(n)), unlimited, "{n}");
        }
        assert!(!is_unlimited_word("ff"));
    }

    #[test]
    fn permits_by_primary_type() {
        // EIP-2612, then Uniswap Permit2's types; any name with "permit".
        let permits = "Permit PermitSingle PermitBatch PermitTransferFrom \
                       PermitBatchTransferFrom PermitWitnessTransferFrom permit TokenPermit";
        assert!(permits.split(' ').all(is_permit));
        assert!(!["Mail", "Order", "Permi", ""].into_iter().any(is_permit));
    }

    #[cfg(feature = "permit")]
    #[test]
    fn permits_are_read_from_eip2612_and_permit2_typed_data() {
        use serde_json::json;
        // EIP-2612: the token is the domain's verifying contract.
        let eip2612 = json!({
            "domain": {"name": "USD Coin", "chainId": 1,
                       "verifyingContract": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"},
            "types": {}, "primaryType": "Permit",
            "message": {"owner": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                        "spender": "0x000000000000000000000000000000000000dEaD",
                        "value": "2500000", "nonce": 0, "deadline": 1900000000u64}});
        let p = permit_of(&eip2612).unwrap();
        assert_eq!(
            p,
            Permit {
                token: "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48".into(),
                spender: "0x000000000000000000000000000000000000dEaD".into(),
                amount: "2500000".into(),
                deadline: Some("1900000000".into()),
            }
        );
        // The same as JSON text (how eth_signTypedData_v4 carries it).
        assert_eq!(permit_of(&json!(eip2612.to_string())), Some(p));
        // Permit2 PermitSingle (github.com/Uniswap/permit2,
        // IAllowanceTransfer.sol): token and amount in `details`; the
        // domain's contract is Permit2, not the token.
        let max160: U256 = (U256::from(1) << 160) - U256::from(1);
        let permit2 = json!({
            "domain": {"name": "Permit2", "chainId": 1,
                       "verifyingContract": "0x000000000022D473030F116dDEE9F6B43aC78BA3"},
            "primaryType": "PermitSingle",
            "message": {"spender": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
                        "sigDeadline": 1_900_000_000u64,
                        "details": {"amount": max160.to_string(), "nonce": 0, "expiration": 1,
                                    "token": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"}}});
        let p = permit_of(&permit2).unwrap();
        assert_eq!(p.token, "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
        assert_eq!(p.spender, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
        assert_eq!(p.deadline.as_deref(), Some("1900000000"));
        assert!(unlimited(&p), "2^160 - 1 is Permit2's unlimited");
        // Not a permit, a permit whose fields are not all there, another
        // permit type: not read (the last is still warned about by type).
        let mut mail = eip2612.clone();
        mail["primaryType"] = json!("Mail");
        assert_eq!(permit_of(&mail), None);
        let mut partial = eip2612.clone();
        partial["message"]
            .as_object_mut()
            .unwrap()
            .remove("spender");
        assert_eq!(permit_of(&partial), None);
        let mut batch = permit2.clone();
        batch["primaryType"] = json!("PermitBatch");
        assert_eq!(permit_of(&batch), None);
        assert!(is_permit("PermitBatch"));
        assert_eq!(permit_of(&json!("not json")), None);
    }

    /// A permit's amount by the one rule: its 64 hex digits, [`is_unlimited_word`].
    #[cfg(feature = "permit")]
    fn unlimited(p: &Permit) -> bool {
        is_unlimited_word(&word(p.amount.parse::<U256>().unwrap()))
    }

    #[cfg(feature = "permit")]
    #[test]
    fn a_permits_unlimited_threshold_is_the_approvals() {
        use serde_json::json;
        let one = U256::from(1);
        for (n, expected) in [
            (U256::ZERO, false),
            (UNLIMITED_FROM - one, false),
            (UNLIMITED_FROM, true),
            ((one << 160) - one, true),
            (U256::MAX, true),
        ] {
            // Decimal text, hex text and a JSON number read alike.
            for amount in [json!(n.to_string()), json!(format!("{n:#x}"))] {
                let p = permit_of(&json!({"primaryType": "Permit",
                    "domain": {"verifyingContract": "0xA0b8"},
                    "message": {"spender": "0x1111", "value": amount}}))
                .unwrap();
                assert_eq!(unlimited(&p), expected, "{amount}");
            }
        }
        let p = permit_of(
            &json!({"primaryType": "Permit", "domain": {"verifyingContract": "0xA0b8"},
            "message": {"spender": "0x1111", "value": 2_500_000u64}}),
        )
        .unwrap();
        assert_eq!((p.amount.as_str(), unlimited(&p)), ("2500000", false));
    }
}
