//! Token lists (`Category::Tokens`) between the wallet's watched tokens and
//! the synced records: which records a change made here writes, and what
//! the wallet must watch or drop to hold what the records say. No I/O: the
//! worker's calls are in the parent module.
//!
//! A token removed here is written as `hidden: true`, not as a removed
//! record: a removed record reads the same as "never synced", so another
//! device still watching the token could not tell "drop it" from "not
//! written yet", and nothing would make it go. A hidden record says it, and
//! stays hidden until some device adds the token again (a later record).

use serde::{Deserialize, Serialize};
use tandem_sync::{Category, Field, Token, Value};

/// A token as the wallet holds it (`tandem_wallet::Asset`'s JSON form).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WalletToken {
    pub(crate) chain_id: u64,
    pub(crate) address: String,
    pub(crate) symbol: String,
    pub(crate) decimals: u8,
}

impl WalletToken {
    /// Its record (`<chain>:<lowercase address>`).
    fn field(&self) -> Field {
        Field::record(
            Category::Tokens,
            format!("{}:{}", self.chain_id, self.address.to_ascii_lowercase()),
        )
    }

    fn is(&self, other: &Self) -> bool {
        self.chain_id == other.chain_id && self.address.eq_ignore_ascii_case(&other.address)
    }

    /// As it syncs: the wallet keeps no token name, so the name is the one
    /// already synced for this symbol, else the symbol.
    fn synced(&self, was: Option<&Token>, hidden: bool) -> Token {
        let name = match was {
            Some(t) if t.symbol == self.symbol && !t.name.is_empty() => t.name.clone(),
            _ => self.symbol.clone(),
        };
        Token {
            symbol: self.symbol.clone(),
            name,
            decimals: self.decimals,
            hidden,
        }
    }
}

/// What the wallet changes to hold the synced token lists (`unwatch` runs
/// first: a token whose symbol or decimals changed elsewhere is in both).
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Changes {
    pub(crate) unwatch: Vec<WalletToken>,
    pub(crate) watch: Vec<WalletToken>,
}

fn token(v: Option<&Value>) -> Option<&Token> {
    match v {
        Some(Value::Token(t)) => Some(t),
        _ => None,
    }
}

/// The records the wallet's tokens going from `before` to `after` write: a
/// token added is shown, one removed is hidden; left out where the synced
/// record (`synced` reads it) already says so, so a token taken from sync
/// is not written back.
pub(crate) fn edits<'a>(
    before: &[WalletToken],
    after: &[WalletToken],
    synced: impl Fn(&Field) -> Option<&'a Value>,
) -> Vec<(Field, Value)> {
    let mut out = Vec::new();
    // (list, the other list, whether a token only in this one is hidden)
    for (list, other, hidden) in [(after, before, false), (before, after, true)] {
        for t in list.iter().filter(|t| !other.iter().any(|o| o.is(t))) {
            let field = t.field();
            let was = token(synced(&field));
            let same = was.is_some_and(|w| {
                w.hidden == hidden && (hidden || (w.symbol == t.symbol && w.decimals == t.decimals))
            });
            if !same {
                let value = Value::Token(t.synced(was, hidden));
                out.push((field, value));
            }
        }
    }
    out
}

/// What the wallet holding `have` changes to match the synced `records`
/// (id, value): a shown token it lacks is watched, a hidden one it has is
/// dropped, one with another symbol or decimals is replaced, unless the
/// wallet would refuse the synced symbol (then it keeps its own).
pub(crate) fn changes<'a>(
    have: &[WalletToken],
    records: impl Iterator<Item = (&'a str, &'a Value)>,
) -> Changes {
    let mut out = Changes::default();
    for (id, v) in records {
        let (Value::Token(t), Some((chain, address))) = (v, id.split_once(':')) else {
            continue;
        };
        let Ok(chain_id) = chain.parse::<u64>() else {
            continue;
        };
        let synced = WalletToken {
            chain_id,
            address: address.to_owned(),
            symbol: t.symbol.clone(),
            decimals: t.decimals,
        };
        let held = have.iter().find(|h| h.is(&synced));
        match held {
            Some(h) if t.hidden => out.unwatch.push(h.clone()),
            None if !t.hidden && wallet_symbol(&t.symbol) => out.watch.push(synced),
            Some(h)
                if (h.symbol != t.symbol || h.decimals != t.decimals)
                    && wallet_symbol(&t.symbol) =>
            {
                out.unwatch.push(h.clone());
                out.watch.push(synced);
            }
            _ => {}
        }
    }
    out
}

/// Whether the wallet takes `s` as a token symbol (its rule,
/// `tandem_wallet::Asset::validate`, in the core module this one does not
/// link): sync allows any short text, and dropping a token for one the
/// wallet then refuses would lose it here.
fn wallet_symbol(s: &str) -> bool {
    (1..=11).contains(&s.chars().count())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const USDX: &str = "0x2000000000000000000000000000000000000002";

    fn wt(chain_id: u64, address: &str, symbol: &str, decimals: u8) -> WalletToken {
        WalletToken {
            chain_id,
            address: address.into(),
            symbol: symbol.into(),
            decimals,
        }
    }

    fn rec(symbol: &str, name: &str, decimals: u8, hidden: bool) -> Value {
        Value::Token(Token {
            symbol: symbol.into(),
            name: name.into(),
            decimals,
            hidden,
        })
    }

    fn field(id: &str) -> Field {
        Field::record(Category::Tokens, id)
    }

    /// The records as a map, and `edits` against it.
    fn edits_on(
        synced: &BTreeMap<Field, Value>,
        before: &[WalletToken],
        after: &[WalletToken],
    ) -> Vec<(Field, Value)> {
        edits(before, after, |f| synced.get(f))
    }

    #[test]
    fn a_token_added_here_is_written_shown_under_its_lowercase_id() {
        let checksummed = "0x2000000000000000000000000000000000000ABC";
        let e = edits_on(&BTreeMap::new(), &[], &[wt(31337, checksummed, "USDX", 6)]);
        let id = "31337:0x2000000000000000000000000000000000000abc";
        assert_eq!(e, vec![(field(id), rec("USDX", "USDX", 6, false))]);
        // The id and value are ones sync accepts.
        assert_eq!(e[0].0.check(Some(&e[0].1)), Ok(()));
    }

    #[test]
    fn a_token_removed_here_is_written_hidden_keeping_the_synced_name() {
        let id = format!("1:{USDX}");
        let synced = BTreeMap::from([(field(&id), rec("USDX", "USD Example", 6, false))]);
        let e = edits_on(&synced, &[wt(1, USDX, "USDX", 6)], &[]);
        assert_eq!(e, vec![(field(&id), rec("USDX", "USD Example", 6, true))]);
        // Never synced: hidden too, named by its symbol.
        let e = edits_on(&BTreeMap::new(), &[wt(1, USDX, "USDX", 6)], &[]);
        assert_eq!(e, vec![(field(&id), rec("USDX", "USDX", 6, true))]);
    }

    #[test]
    fn what_the_records_already_say_is_not_written_again() {
        let id = format!("1:{USDX}");
        let shown = BTreeMap::from([(field(&id), rec("USDX", "USD Example", 6, false))]);
        assert_eq!(edits_on(&shown, &[], &[wt(1, USDX, "USDX", 6)]), vec![]);
        let hidden = BTreeMap::from([(field(&id), rec("USDX", "USDX", 6, true))]);
        assert_eq!(edits_on(&hidden, &[wt(1, USDX, "USDX", 6)], &[]), vec![]);
        // Unchanged lists write nothing.
        let both = [wt(1, USDX, "USDX", 6)];
        assert_eq!(edits_on(&BTreeMap::new(), &both, &both), vec![]);
        // Added again after being hidden: shown again.
        let e = edits_on(&hidden, &[], &[wt(1, USDX, "USDX", 6)]);
        assert_eq!(e, vec![(field(&id), rec("USDX", "USDX", 6, false))]);
        // Another symbol than the synced one: written, with its own name.
        let e = edits_on(&shown, &[], &[wt(1, USDX, "USDY", 6)]);
        assert_eq!(e, vec![(field(&id), rec("USDY", "USDY", 6, false))]);
    }

    #[test]
    fn the_wallet_watches_shown_tokens_and_drops_hidden_ones() {
        let other = "0x3000000000000000000000000000000000000003";
        let records = [
            (format!("1:{USDX}"), rec("USDX", "USD Example", 6, false)),
            (format!("1:{other}"), rec("OLD", "OLD", 18, true)),
            (format!("10:{USDX}"), rec("USDX", "USDX", 6, true)),
        ];
        let have = [wt(1, &other.to_uppercase().replace("0X", "0x"), "OLD", 18)];
        let c = changes(&have, records.iter().map(|(i, v)| (i.as_str(), v)));
        assert_eq!(
            c,
            Changes {
                unwatch: vec![have[0].clone()],
                watch: vec![wt(1, USDX, "USDX", 6)],
            }
        );
        // Once applied, nothing more: a hidden token does not come back.
        let now = [wt(1, USDX, "USDX", 6)];
        let c = changes(&now, records.iter().map(|(i, v)| (i.as_str(), v)));
        assert_eq!(c, Changes::default());
    }

    #[test]
    fn a_token_changed_elsewhere_is_replaced_unless_the_wallet_refuses_its_symbol() {
        let id = format!("1:{USDX}");
        let have = [wt(1, USDX, "USDX", 18)];
        let fixed = [(id.clone(), rec("USDX", "USDX", 6, false))];
        let c = changes(&have, fixed.iter().map(|(i, v)| (i.as_str(), v)));
        assert_eq!(c.unwatch, have.to_vec());
        assert_eq!(c.watch, vec![wt(1, USDX, "USDX", 6)]);
        // A symbol with a space is fine for sync, not for the wallet.
        let spaced = [(id, rec("USD X", "USD X", 6, false))];
        let c = changes(&have, spaced.iter().map(|(i, v)| (i.as_str(), v)));
        assert_eq!(c, Changes::default());
        let c = changes(&[], spaced.iter().map(|(i, v)| (i.as_str(), v)));
        assert_eq!(c, Changes::default());
    }

    #[test]
    fn a_change_here_then_applied_elsewhere_round_trips() {
        // Device A adds then removes; device B follows each step.
        let mut synced = BTreeMap::new();
        let token = wt(31337, USDX, "USDX", 6);
        let mut b: Vec<WalletToken> = Vec::new();
        for (before, after) in [(vec![], vec![token.clone()]), (vec![token.clone()], vec![])] {
            for (f, v) in edits_on(&synced, &before, &after) {
                synced.insert(f, v);
            }
            let records: Vec<(String, Value)> = synced
                .iter()
                .map(|(f, v)| match f {
                    Field::Record { id, .. } => (id.clone(), v.clone()),
                    Field::Enabled { .. } => unreachable!(),
                })
                .collect();
            let c = changes(&b, records.iter().map(|(i, v)| (i.as_str(), v)));
            b.retain(|t| !c.unwatch.contains(t));
            b.extend(c.watch);
            assert_eq!(b, after);
            // B taking the synced tokens writes nothing back.
            assert_eq!(edits_on(&synced, &[], &b), vec![]);
        }
    }
}
