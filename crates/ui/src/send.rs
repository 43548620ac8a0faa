//! Send from the popup: the native coin or a watched ERC-20, to an address
//! typed (EIP-55 checked) or picked from the address book, an amount in the
//! asset's decimals (with Max). The popup only builds the transaction: the
//! worker queues it as the same `eth_sendTransaction` approval a site gets
//! (origin: the wallet itself), so the approval window shows, and the user
//! approves, exactly what is signed.

use crate::format::{checksum_address, decimal_to_hex, format_units, parse_units, to_decimal};
use crate::model::{Network, Portfolio};
use crate::view::{back_bar, el, error_box, form, notice_box, primary, Action, El, Screen, Ui};
use crate::{form_err, Result};
use serde_json::{json, Value};

/// The asset value of the native coin in the asset `<select>`.
pub const NATIVE: &str = "native";

/// Gas of a plain native transfer (yellow paper: G_transaction).
pub const NATIVE_TRANSFER_GAS: u128 = 21_000;

/// What the Send screen keeps between renders (typed fields survive
/// re-renders by themselves; `<select>`s do not).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendState {
    /// `NATIVE` or a token's lower-case address.
    pub asset: String,
    /// Saved addresses `(name, address)`, from the address book.
    pub contacts: Vec<(String, String)>,
}

/// The origin the worker gives the wallet's own Send (`WALLET_ORIGIN` of
/// `tandem-wallet`), shown as the wallet, never as a site.
pub fn origin_label(origin: &str) -> String {
    if origin == tandem_wallet::provider::WALLET_ORIGIN {
        "Tandem (sent from this wallet)".into()
    } else {
        origin.to_owned()
    }
}

/// A recipient as typed: `0x` and 40 hex digits. All-lower or all-upper
/// case carries no checksum and is accepted; mixed case is an EIP-55
/// checksum, and one that does not match is refused (a typo, or an address
/// altered by hand).
pub fn recipient(input: &str) -> Result<String> {
    let s = input.trim();
    let Some(hex) = s.strip_prefix("0x") else {
        return Err(form_err(
            "the recipient is an address: 0x followed by 40 hex characters",
        ));
    };
    if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(form_err(
            "the recipient is an address: 0x followed by 40 hex characters",
        ));
    }
    let mixed =
        hex.chars().any(|c| c.is_ascii_uppercase()) && hex.chars().any(|c| c.is_ascii_lowercase());
    let checked = checksum_address(s);
    if mixed && checked != s {
        return Err(form_err(format!(
            "this address's capital letters (its EIP-55 checksum) are wrong, so it may \
             have a typo; check it with the recipient. With the right checksum it reads {}",
            crate::format::shorten_address(&checked)
        )));
    }
    Ok(checked)
}

/// The asset being sent, as the form needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// `None` for the native coin, else the token contract.
    pub token: Option<String>,
    /// Symbol shown.
    pub symbol: String,
    /// Decimals of amounts.
    pub decimals: u8,
    /// Balance in base units (decimal), if known.
    pub balance: Option<String>,
}

/// The assets that can be sent: the native coin, then the watched tokens.
pub fn assets(p: Option<&Portfolio>, net: &Network) -> Vec<Asset> {
    let balance = |b: &str| (!b.is_empty()).then(|| to_decimal(b).ok()).flatten();
    let mut out = vec![Asset {
        token: None,
        symbol: net.symbol.clone(),
        decimals: 18,
        balance: p.and_then(|p| balance(&p.native.balance)),
    }];
    for t in p.map(|p| p.tokens.as_slice()).unwrap_or_default() {
        out.push(Asset {
            token: Some(t.address.to_ascii_lowercase()),
            symbol: t.symbol.clone(),
            decimals: t.decimals,
            balance: balance(&t.balance),
        });
    }
    out
}

/// The asset chosen in the form (the native coin by default).
pub fn chosen<'a>(all: &'a [Asset], st: &SendState) -> Option<&'a Asset> {
    all.iter()
        .find(|a| a.token.as_deref().unwrap_or(NATIVE) == st.asset)
        .or_else(|| all.first())
}

/// The `eth_sendTransaction` the form asks for: a native transfer, or an
/// ERC-20 `transfer` call to the token contract with no value.
pub fn transaction(from: &str, to: &str, amount: &str, asset: &Asset) -> Result<Value> {
    let to = recipient(to)?;
    let units = parse_units(amount, asset.decimals)?;
    if units == "0" {
        return Err(form_err("enter an amount above zero"));
    }
    if let Some(b) = &asset.balance {
        if crate::format::cmp_decimal(&units, b) == std::cmp::Ordering::Greater {
            return Err(form_err(format!(
                "that is more than the {} {} this account holds",
                format_units(b, asset.decimals, usize::from(asset.decimals))?,
                asset.symbol
            )));
        }
    }
    Ok(match &asset.token {
        None => json!({ "from": from, "to": to, "value": decimal_to_hex(&units)? }),
        Some(token) => json!({
            "from": from,
            "to": checksum_address(token),
            "value": "0x0",
            "data": crate::token::transfer_data(&to, &units)?,
        }),
    })
}

/// Max: a token's whole balance; for the native coin, the balance less a
/// plain transfer's fee at twice the current gas price (room for the base
/// fee to rise before the transaction is mined). Decimal text in the
/// asset's units, for the amount field.
pub fn max_amount(asset: &Asset, gas_price_wei: Option<u128>) -> Result<String> {
    let Some(balance) = &asset.balance else {
        return Err(form_err(
            "the balance is not loaded yet; try again in a moment",
        ));
    };
    let units = if asset.token.is_some() {
        balance.clone()
    } else {
        let price = gas_price_wei
            .ok_or_else(|| form_err("the network did not give a gas price; enter an amount"))?;
        let fee = NATIVE_TRANSFER_GAS.saturating_mul(price).saturating_mul(2);
        let b = crate::format::to_u128(balance)?;
        if b <= fee {
            return Err(form_err(format!(
                "the balance does not cover the network fee ({} {})",
                format_units(&fee.to_string(), 18, 8)?,
                asset.symbol
            )));
        }
        (b - fee).to_string()
    };
    Ok(format_units(&units, asset.decimals, usize::from(asset.decimals))?.replace(',', ""))
}

/// The address book's entries `(name, address)`, from the sync view.
pub fn contacts_of(v: &tandem_sync::view::SyncView) -> Vec<(String, String)> {
    use tandem_sync::{Category, Value as Record};
    v.records
        .iter()
        .filter(|r| r.category == Category::AddressBook)
        .filter_map(|r| match &r.value {
            Record::Contact(c) => Some((c.name.clone(), r.id.clone())),
            _ => None,
        })
        .collect()
}

/// Home's Send and Receive buttons.
pub fn home_actions() -> El {
    el("div")
        .class("row actions")
        .child(
            el("button")
                .attr("type", "button")
                .class("btn")
                .tid("home-send")
                .on(Action::Open(Screen::Send))
                .text("Send"),
        )
        .child(
            el("button")
                .attr("type", "button")
                .class("btn")
                .tid("home-receive")
                .on(Action::Open(Screen::Receive))
                .text("Receive"),
        )
}

/// The Send screen.
pub fn send_screen(ui: &Ui) -> El {
    let st = ui.state.clone().unwrap_or_default();
    let net = st.current_network();
    let all = assets(ui.portfolio.as_ref(), &net);
    let asset = chosen(&all, &ui.send).cloned();
    let asset_select = el("label")
        .class("field")
        .child(el("span").class("label").text("Asset"))
        .child(
            el("select")
                .tid("send-asset")
                .on_change(Action::SendAsset)
                .children(all.iter().map(|a| {
                    let v = a.token.clone().unwrap_or_else(|| NATIVE.into());
                    let o = el("option").attr("value", v.clone()).text(a.symbol.clone());
                    if Some(a) == asset.as_ref() {
                        o.attr("selected", "")
                    } else {
                        o
                    }
                })),
        );
    let contacts = if ui.send.contacts.is_empty() {
        el("p")
            .class("muted small")
            .tid("send-contacts-empty")
            .text("No saved addresses (Settings → Sync → Address book).")
    } else {
        el("label")
            .class("field")
            .child(el("span").class("label").text("Or pick a saved address"))
            .child(
                el("select")
                    .tid("send-contact")
                    .on_change(Action::SendPick)
                    .child(el("option").attr("value", "").text("Address book…"))
                    .children(ui.send.contacts.iter().map(|(name, a)| {
                        el("option")
                            .attr("value", checksum_address(a))
                            .text(format!("{name} ({})", crate::format::shorten_address(a)))
                    })),
            )
    };
    let available = asset.as_ref().map(|a| {
        let text = match &a.balance {
            Some(b) => format!(
                "Available: {} {}",
                format_units(b, a.decimals, 6).unwrap_or_else(|_| "?".into()),
                a.symbol
            ),
            None => format!("Available: — {}", a.symbol),
        };
        el("p")
            .class("muted small")
            .tid("send-available")
            .text(text)
    });
    el("div")
        .class("stack screen")
        .tid("send-screen")
        .child(back_bar("Send"))
        .child(
            form(Action::SendReview, "send-form")
                .child(el("p").class("muted").text(format!(
                    "From {} on {}. You review and confirm it in Tandem's approval window.",
                    st.current_account()
                        .map(|a| a.name.clone())
                        .unwrap_or_default(),
                    net.name
                )))
                .child(asset_select)
                .child(crate::view::input("send-to", "text", "Recipient address"))
                .child(contacts)
                .child(
                    el("div")
                        .class("row")
                        .child(
                            crate::view::input("send-amount", "text", "Amount").class("field grow"),
                        )
                        .child(
                            el("button")
                                .attr("type", "button")
                                .class("btn small")
                                .tid("send-max")
                                .on(Action::SendMax)
                                .text("Max"),
                        ),
                )
                .maybe(available)
                .maybe(error_box(ui))
                .maybe(notice_box(ui))
                .child(primary("Review", "send-submit")),
        )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    // EIP-55's own test vectors (eips.ethereum.org/EIPS/eip-55).
    const EIP55: [&str; 4] = [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ];

    #[test]
    fn recipients_with_a_right_checksum_or_none_are_accepted() {
        for a in EIP55 {
            assert_eq!(recipient(a).unwrap(), a);
            assert_eq!(recipient(&a.to_ascii_lowercase()).unwrap(), a);
            assert_eq!(
                recipient(&format!("0x{}", a[2..].to_ascii_uppercase())).unwrap(),
                a
            );
        }
    }

    #[test]
    fn a_wrong_checksum_is_refused_with_what_to_do() {
        // One letter's case flipped in each vector.
        for a in EIP55 {
            let i = a[2..].find(|c: char| c.is_ascii_alphabetic()).unwrap() + 2;
            let mut s = a.to_owned();
            let c = s.as_bytes()[i] as char;
            let flipped = if c.is_ascii_uppercase() {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            };
            s.replace_range(i..=i, &flipped.to_string());
            let e = recipient(&s).unwrap_err().to_string();
            assert!(e.contains("checksum"), "{e}");
        }
        assert!(recipient("0x1234")
            .unwrap_err()
            .to_string()
            .contains("40 hex"));
        assert!(recipient("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed").is_err());
    }

    fn native(balance: &str) -> Asset {
        Asset {
            token: None,
            symbol: "ETH".into(),
            decimals: 18,
            balance: Some(balance.into()),
        }
    }

    fn usdx() -> Asset {
        Asset {
            token: Some("0x5fbdb2315678afecb367f032d93f642f64180aa3".into()),
            symbol: "USDX".into(),
            decimals: 6,
            balance: Some("2500250000".into()),
        }
    }

    #[test]
    fn native_and_token_sends_build_the_right_transaction() {
        let from = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
        let to = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
        let tx = transaction(from, to, "1.5", &native("10000000000000000000")).unwrap();
        assert_eq!(tx["value"], "0x14d1120d7b160000"); // 1.5e18
        assert_eq!(tx["to"], "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
        assert!(tx.get("data").is_none());
        let tx = transaction(from, to, "12.5", &usdx()).unwrap();
        assert_eq!(tx["to"], "0x5FbDB2315678afecb367f032d93F642f64180aa3");
        assert_eq!(tx["value"], "0x0");
        assert_eq!(
            crate::tx::decode_call(
                Some("0x5FbDB2315678afecb367f032d93F642f64180aa3"),
                tx["data"].as_str().unwrap()
            ),
            crate::tx::KnownCall::Transfer {
                to: checksum_address(to),
                amount: "12500000".into()
            }
        );
        // More decimals than the token has, more than the balance, zero.
        assert!(transaction(from, to, "0.0000001", &usdx())
            .unwrap_err()
            .to_string()
            .contains("at most 6"));
        assert!(transaction(from, to, "2500.250001", &usdx())
            .unwrap_err()
            .to_string()
            .contains("more than"));
        assert!(transaction(from, to, "0", &usdx()).is_err());
    }

    #[test]
    fn max_keeps_a_native_fee_and_takes_a_whole_token_balance() {
        assert_eq!(max_amount(&usdx(), None).unwrap(), "2500.25");
        // 1 ETH at 1 gwei: 1e18 - 2 * 21000 * 1e9.
        assert_eq!(
            max_amount(&native("1000000000000000000"), Some(1_000_000_000)).unwrap(),
            "0.999958"
        );
        assert!(max_amount(&native("1000"), Some(1_000_000_000)).is_err());
        assert!(max_amount(&native("1000"), None).is_err());
    }

    #[test]
    fn every_control_is_labelled_and_has_a_test_id() {
        let mut ui = Ui::new(crate::view::Page::Popup);
        ui.send.contacts = vec![(
            "Bob".into(),
            "0x70997970c51812dc3a010c7d01b50e0d17dc79c8".into(),
        )];
        let v = send_screen(&ui);
        for id in [
            "send-asset",
            "send-to",
            "send-contact",
            "send-amount",
            "send-max",
            "send-submit",
        ] {
            assert!(v.find(id).is_some(), "{id}");
        }
        assert!(v
            .find("send-contact")
            .unwrap()
            .text_content()
            .contains("Bob (0x7099…79C8)"));
    }
}
