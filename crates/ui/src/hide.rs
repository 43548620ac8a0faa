//! Hide a watched token from Home's token list without forgetting it (its
//! balance is still read, and it can be shown again). Which tokens are
//! hidden is a preference of this browser's pages, kept under
//! [`HIDDEN_KEY`] in `chrome.storage.local` (no secret).

use crate::format::format_units;
use crate::model::NetworkExt as _;
use crate::model::{Network, TokenBalance};
use crate::view::{el, Action, El};
use serde_json::{json, Value};

/// Where the hidden tokens are stored (`extension/ui/boot.js` reads it too).
pub const HIDDEN_KEY: &str = "tandem.ui.hidden";

/// The hidden tokens, and whether Home lists them now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hidden {
    /// `chainId:address` (lower case), sorted.
    pub tokens: Vec<String>,
    /// The hidden tokens are listed (to un-hide one).
    pub show: bool,
}

fn key(chain_id: u64, address: &str) -> String {
    format!("{chain_id}:{}", address.to_ascii_lowercase())
}

impl Hidden {
    /// From the stored list (anything unreadable is ignored).
    pub fn from_stored(v: Option<&Value>) -> Self {
        let mut tokens: Vec<String> = v
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .filter(|s| s.len() < 80)
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default();
        tokens.sort();
        tokens.dedup();
        Hidden {
            tokens,
            show: false,
        }
    }

    /// What is stored.
    pub fn to_stored(&self) -> Value {
        json!(self.tokens)
    }

    /// Whether the token is hidden on that chain.
    pub fn is_hidden(&self, chain_id: u64, address: &str) -> bool {
        self.tokens.binary_search(&key(chain_id, address)).is_ok()
    }

    /// Hides (`true`) or shows again (`false`).
    pub fn set(&mut self, chain_id: u64, address: &str, hidden: bool) {
        let k = key(chain_id, address);
        match (self.tokens.binary_search(&k), hidden) {
            (Err(i), true) => self.tokens.insert(i, k),
            (Ok(i), false) => {
                self.tokens.remove(i);
            }
            _ => {}
        }
    }
}

/// A visible token row's Hide button.
pub fn hide_button(t: &TokenBalance) -> El {
    el("button")
        .attr("type", "button")
        .class("btn small")
        .tid(format!("token-hide-{}", t.address.to_lowercase()))
        .on(Action::HideToken(t.address.to_lowercase()))
        .attr("aria-label", format!("Hide {}", t.symbol))
        .text("Hide")
}

/// Below the list: "Show hidden tokens (n)", and when shown, each hidden
/// token with an Unhide button.
pub fn hidden_section(tokens: &[TokenBalance], net: &Network, h: &Hidden) -> Option<El> {
    let hidden: Vec<&TokenBalance> = tokens
        .iter()
        .filter(|t| h.is_hidden(net.id(), &t.address))
        .collect();
    if hidden.is_empty() {
        return None;
    }
    let toggle = el("button")
        .attr("type", "button")
        .class("btn small")
        .tid("token-hidden-toggle")
        .on(Action::ToggleHidden)
        .attr("aria-expanded", if h.show { "true" } else { "false" })
        .text(if h.show {
            format!("Collapse hidden tokens ({})", hidden.len())
        } else {
            format!("Show hidden tokens ({})", hidden.len())
        });
    let mut out = el("li").class("stack").tid("token-hidden").child(toggle);
    if h.show {
        for t in hidden {
            out = out.child(
                el("div")
                    .class("row muted")
                    .tid(format!("token-hidden-row-{}", t.address.to_lowercase()))
                    .child(el("span").class("sym grow").text(t.symbol.clone()))
                    .child(el("span").class("amt").text(
                        format_units(&t.balance, t.decimals, 6).unwrap_or_else(|_| "?".into()),
                    ))
                    .child(
                        el("button")
                            .attr("type", "button")
                            .class("btn small")
                            .tid(format!("token-unhide-{}", t.address.to_lowercase()))
                            .on(Action::UnhideToken(t.address.to_lowercase()))
                            .attr("aria-label", format!("Show {} again", t.symbol))
                            .text("Unhide"),
                    ),
            );
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const T: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

    #[test]
    fn hiding_is_per_chain_and_undone_by_unhide() {
        let mut h = Hidden::default();
        h.set(31337, T, true);
        h.set(31337, T, true);
        assert!(h.is_hidden(31337, &T.to_lowercase()));
        assert!(!h.is_hidden(1, T));
        assert_eq!(
            h.to_stored(),
            json!(["31337:0x5fbdb2315678afecb367f032d93f642f64180aa3"])
        );
        assert_eq!(Hidden::from_stored(Some(&h.to_stored())), h);
        h.set(31337, T, false);
        assert!(!h.is_hidden(31337, T));
        assert_eq!(Hidden::from_stored(Some(&json!("junk"))), Hidden::default());
    }

    #[test]
    fn hidden_tokens_are_listed_on_demand_with_unhide() {
        let net: Network = serde_json::from_value(json!({"chainId": 31337, "name": "L", "rpcUrl": "http://127.0.0.1:8545", "symbol": "ETH"})).unwrap();
        let t: TokenBalance = serde_json::from_value(
            json!({"address": T, "symbol": "TUSD", "decimals": 6, "balance": "0x16e360"}),
        )
        .unwrap();
        let mut h = Hidden::default();
        assert!(hidden_section(std::slice::from_ref(&t), &net, &h).is_none());
        h.set(31337, T, true);
        let s = hidden_section(std::slice::from_ref(&t), &net, &h).unwrap();
        assert_eq!(
            s.find("token-hidden-toggle").unwrap().text_content(),
            "Show hidden tokens (1)"
        );
        assert!(s
            .find(&format!("token-unhide-{}", T.to_lowercase()))
            .is_none());
        h.show = true;
        let s = hidden_section(&[t], &net, &h).unwrap();
        assert_eq!(
            s.find(&format!("token-unhide-{}", T.to_lowercase()))
                .unwrap()
                .text_content(),
            "Unhide"
        );
    }
}
