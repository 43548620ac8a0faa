//! The Wallet screen on the phone (issue 12): the group's wallet as its
//! devices synced it, read-only: every account the group knows (its name
//! from the account-name records, else a short address), its last known
//! balances per network ("as of" when they were read, and on which
//! device), the tokens and the networks the group's devices added. The
//! phone keeps a copy of these records in its sync replica (the sync
//! module only), so what a computer last read shows here before any
//! refresh, and what a restore brought back shows too.
//!
//! Decoded exactly as the extension writes them: balance records
//! `<chain>:<account>:<token address or "native">` hold the amount in the
//! smallest unit and the time it was read (`tandem_sync::balances`); the
//! symbol and decimals are the token's record (`<chain>:<token>`), or for
//! the native coin the network's record, else the wallet's built-in
//! network. Nothing here is read from a node: the phone shows what the
//! group said, never more current than that.

use crate::model::{Effect, Phone, Screen};
use tandem_sync::view::{RecordView, SyncView};
use tandem_sync::{Category, Value};
use tandem_ui::format::{checksum_address, format_units, relative_time, shorten_address};

/// The categories the screen reads from the phone's sync replica.
pub const CATEGORIES: [Category; 4] = [
    Category::Accounts,
    Category::Tokens,
    Category::Balances,
    Category::Networks,
];

/// Everything the screen shows, decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// Whether the sync state was read yet.
    pub loaded: bool,
    /// Whether account names sync.
    pub names_on: bool,
    /// Whether last known balances sync.
    pub balances_on: bool,
    /// Every account the group knows, in the wallet's order.
    pub accounts: Vec<AccountRow>,
    /// The tokens the group's devices added, by network.
    pub tokens: Vec<TokenRow>,
    /// The networks the group's devices added.
    pub networks: Vec<NetworkRow>,
}

/// One account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// Its address, checksummed.
    pub address: String,
    /// Its name, or its short address when the group has none.
    pub name: String,
    /// Whether `name` is the synced name.
    pub named: bool,
    /// Its last known balances, by network, the native coin first.
    pub balances: Vec<BalanceRow>,
}

/// One last known balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceRow {
    /// The record's id (`<chain>:<account>:<token or native>`).
    pub id: String,
    /// The network's name (`Chain <id>` when no device knows it).
    pub network: String,
    /// The amount with its symbol.
    pub amount: String,
    /// "as of 2 min ago · read on Laptop".
    pub as_of: String,
}

/// A token the group's devices watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// The network's name.
    pub network: String,
    /// The token contract, checksummed.
    pub address: String,
    /// "USDC · USD Coin" (the symbol alone when the name is the symbol).
    pub label: String,
}

/// A network a device of the group added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRow {
    /// Its chain id.
    pub chain_id: u64,
    /// "Anvil · chain 31337 · ETH".
    pub label: String,
    /// Its RPC URL (what every request of the wallet goes to).
    pub rpc: String,
}

/// A network as this screen names and counts it.
struct Net {
    name: String,
    symbol: String,
    decimals: u8,
}

/// What the screen shows of `records` (the phone's replica, of
/// [`CATEGORIES`]) under the sync state `sync`, at `now_ms`. Records of a
/// category that does not sync are not shown (they may be stale copies
/// from before it was turned off).
pub fn shown(sync: Option<&SyncView>, records: &[RecordView], now_ms: f64) -> Shown {
    let on =
        |c: Category| sync.is_some_and(|v| v.categories.iter().any(|x| x.category == c && x.on));
    let (names_on, balances_on) = (on(Category::Accounts), on(Category::Balances));
    let of = |c: Category| records.iter().filter(move |r| r.category == c && on(c));

    // Networks: the group's, then the wallet's built-in ones (the first
    // of a chain counts). Lists, not maps: a handful of entries, and each
    // map type would cost the module its own copy of the tree's code.
    let mut nets: Vec<(u64, Net)> = Vec::new();
    let mut networks = Vec::new();
    for r in of(Category::Networks) {
        let (Ok(chain_id), Value::Network(n)) = (r.id.parse::<u64>(), &r.value) else {
            continue;
        };
        networks.push(NetworkRow {
            chain_id,
            label: format!("{} · chain {chain_id} · {}", n.name, n.currency),
            rpc: n.rpc.clone(),
        });
        nets.push((
            chain_id,
            Net {
                name: n.name.clone(),
                symbol: n.currency.clone(),
                decimals: n.decimals,
            },
        ));
    }
    nets.extend(tandem_wallet::network::defaults().into_iter().map(|n| {
        let net = Net {
            name: n.name,
            symbol: n.symbol,
            decimals: u8::try_from(n.decimals).unwrap_or(18),
        };
        (n.chain_id, net)
    }));
    let net = |chain: u64| nets.iter().find(|(c, _)| *c == chain).map(|(_, n)| n);
    let net_name =
        |chain: u64| net(chain).map_or_else(|| format!("Chain {chain}"), |n| n.name.clone());

    // Tokens: `<chain>:<token>`; hidden ones are neither listed nor counted.
    // (in the records' order: by id)
    let mut tokens_of: Vec<((u64, String), &tandem_sync::Token)> = Vec::new();
    let mut hidden = Vec::new();
    for r in of(Category::Tokens) {
        let Value::Token(t) = &r.value else { continue };
        let Some((chain, address)) = r.id.split_once(':') else {
            continue;
        };
        let Ok(chain) = chain.parse::<u64>() else {
            continue;
        };
        let key = (chain, address.to_ascii_lowercase());
        if t.hidden {
            hidden.push(key);
        } else {
            tokens_of.push((key, t));
        }
    }
    let tokens = tokens_of
        .iter()
        .map(|((chain, address), t)| TokenRow {
            network: net_name(*chain),
            address: checksum_address(address),
            label: if t.name.is_empty() || t.name == t.symbol {
                t.symbol.clone()
            } else {
                format!("{} · {}", t.symbol, t.name)
            },
        })
        .collect();

    // Accounts: named ones in the wallet's order, then any other the
    // balances name, by address.
    let mut named: Vec<(u32, String, String)> = Vec::new();
    let mut left_out = Vec::new();
    for r in of(Category::Accounts) {
        let Value::Account(a) = &r.value else {
            continue;
        };
        let address = r.id.to_ascii_lowercase();
        if a.hidden {
            left_out.push(address);
        } else {
            named.push((a.order, address, a.name.clone()));
        }
    }
    named.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let mut accounts: Vec<AccountRow> = named
        .into_iter()
        .map(|(_, address, name)| AccountRow {
            address: checksum_address(&address),
            name,
            named: true,
            balances: Vec::new(),
        })
        .collect();

    // Balances: `<chain>:<account>:<token or native>`.
    let mut rows: Vec<(String, (u64, bool, String), BalanceRow)> = Vec::new();
    for r in of(Category::Balances) {
        let Value::Balance(b) = &r.value else {
            continue;
        };
        let mut parts = r.id.split(':');
        let (Some(chain), Some(account), Some(token), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let Ok(chain) = chain.parse::<u64>() else {
            continue;
        };
        let (account, token) = (account.to_ascii_lowercase(), token.to_ascii_lowercase());
        if left_out.contains(&account) || hidden.contains(&(chain, token.clone())) {
            continue;
        }
        let (amount, symbol) = if token == "native" {
            match net(chain) {
                Some(n) => (amount(&b.amount, n.decimals, &n.symbol), n.symbol.clone()),
                // Every EVM chain's coin counts in 18 decimals, and so do
                // the networks the wallet adds (`decimals: 18` in their
                // records): said without a symbol no device gave.
                None => (amount(&b.amount, 18, "(native coin)"), String::new()),
            }
        } else {
            match tokens_of.iter().find(|(k, _)| k.0 == chain && k.1 == token) {
                Some((_, t)) => (amount(&b.amount, t.decimals, &t.symbol), t.symbol.clone()),
                // No record says its decimals: the count as written.
                None => (
                    format!("{} units of token {}", b.amount, shorten_address(&token)),
                    token.clone(),
                ),
            }
        };
        let row = BalanceRow {
            id: r.id.clone(),
            network: net_name(chain),
            amount,
            as_of: format!(
                "as of {} · read on {}",
                relative_time(b.as_of as f64, now_ms),
                r.from
            ),
        };
        rows.push((account, (chain, token != "native", symbol), row));
    }
    rows.sort_unstable_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    for (account, _, row) in rows {
        let at = match accounts
            .iter()
            .position(|a| a.address.eq_ignore_ascii_case(&account))
        {
            Some(i) => i,
            None => {
                accounts.push(AccountRow {
                    address: checksum_address(&account),
                    name: shorten_address(&account),
                    named: false,
                    balances: Vec::new(),
                });
                accounts.len() - 1
            }
        };
        accounts[at].balances.push(row);
    }

    Shown {
        loaded: sync.is_some(),
        names_on,
        balances_on,
        accounts,
        tokens,
        networks,
    }
}

/// `1.5 ETH`, as the extension's portfolio says it (4 fraction digits).
fn amount(smallest: &str, decimals: u8, symbol: &str) -> String {
    match format_units(smallest, decimals, 4) {
        Ok(v) => format!("{v} {symbol}"),
        Err(_) => format!("? {symbol}"),
    }
}

impl Phone {
    /// The Wallet screen's taps (the sync module; the plain one has no
    /// screen); `None` when `action` is none of them.
    pub(crate) fn wallet_view_act(&mut self, action: &str) -> Option<Vec<Effect>> {
        if !self.activity {
            return None;
        }
        // Its way back is the title bar's, to Home, as every screen's.
        (action == "wallet-open").then(|| {
            self.go(Screen::Wallet);
            Vec::new()
        })
    }

    /// The group's wallet records as this phone's sync replica holds them
    /// (of [`CATEGORIES`]).
    pub fn on_wallet_records(&mut self, records: Vec<RecordView>) {
        self.group_records = records;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::testing;
    use serde_json::json;

    const A: &str = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
    const B: &str = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
    const USDC: &str = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
    const NOW: f64 = 10_000_000.0;

    fn sync(on: &[&str]) -> SyncView {
        let categories: Vec<_> = Category::ALL
            .iter()
            .map(|c| {
                let name = serde_json::to_value(c).unwrap();
                json!({"category": name, "on": on.contains(&name.as_str().unwrap())})
            })
            .collect();
        serde_json::from_value(json!({
            "online": true, "categories": categories,
            "to_send": 0, "held": 0, "unsaved": 0, "synced_at": null,
            "records": [], "notices": [],
        }))
        .unwrap()
    }

    fn rec(category: &str, id: &str, value: serde_json::Value, from: &str) -> RecordView {
        serde_json::from_value(json!({
            "category": category, "id": id, "value": value, "from": from, "mine": false,
        }))
        .unwrap()
    }

    fn balance(id: &str, amount: &str, as_of: f64, from: &str) -> RecordView {
        rec(
            "balances",
            id,
            json!({"balance": {"amount": amount, "as_of": as_of as u64}}),
            from,
        )
    }

    fn name(address: &str, name: &str, order: u32) -> RecordView {
        rec(
            "accounts",
            address,
            json!({"account": {"name": name, "order": order, "hidden": false}}),
            "Laptop",
        )
    }

    fn all_on() -> SyncView {
        sync(&["accounts", "tokens", "balances", "networks"])
    }

    #[test]
    fn each_account_shows_its_name_and_balances_with_as_of_and_the_device_that_read_them() {
        let records = [
            name(A, "Savings", 1),
            name(B, "Main", 0),
            rec(
                "tokens",
                &format!("31337:{USDC}"),
                json!({"token": {"symbol": "USDC", "name": "USD Coin", "decimals": 6, "hidden": false}}),
                "Laptop",
            ),
            balance(
                &format!("31337:{B}:native"),
                "10000000000000000000000",
                NOW - 120_000.0,
                "Chrome on Linux",
            ),
            balance(
                &format!("31337:{B}:{USDC}"),
                "2500000",
                NOW - 5_000.0,
                "Laptop",
            ),
            balance(
                &format!("1:{B}:native"),
                "1500000000000000000",
                NOW - 7_200_000.0,
                "Laptop",
            ),
            balance(
                &format!("137:{A}:native"),
                "2000000000000000000",
                NOW,
                "Chrome on Linux",
            ),
        ];
        let s = shown(Some(&all_on()), &records, NOW);
        assert!(s.loaded && s.names_on && s.balances_on);
        let names: Vec<_> = s.accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["Main", "Savings"], "the wallet's order");
        let main = &s.accounts[0];
        assert_eq!(main.address, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        let rows: Vec<_> = main
            .balances
            .iter()
            .map(|b| (b.network.as_str(), b.amount.as_str(), b.as_of.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                ("Ethereum", "1.5 ETH", "as of 2 h ago · read on Laptop"),
                (
                    "Localhost 8545",
                    "10,000 ETH",
                    "as of 2 min ago · read on Chrome on Linux"
                ),
                (
                    "Localhost 8545",
                    "2.5 USDC",
                    "as of just now · read on Laptop"
                ),
            ]
        );
        assert_eq!(s.accounts[1].balances[0].amount, "2 POL");
        assert_eq!(s.tokens.len(), 1);
        assert_eq!(s.tokens[0].label, "USDC · USD Coin");
        assert_eq!(s.tokens[0].network, "Localhost 8545");
    }

    #[test]
    fn an_account_without_a_name_shows_its_short_address_and_names_need_their_switch() {
        let records = [
            name(B, "Main", 0),
            balance(
                &format!("31337:{A}:native"),
                "1000000000000000000",
                NOW,
                "Laptop",
            ),
        ];
        let s = shown(Some(&sync(&["balances"])), &records, NOW);
        assert!(!s.names_on);
        assert_eq!(
            s.accounts.len(),
            1,
            "a name of a category that is off is not shown"
        );
        assert_eq!(s.accounts[0].name, "0x7099…79C8");
        assert!(!s.accounts[0].named);
        assert_eq!(s.accounts[0].balances[0].amount, "1 ETH");
        // Names on, balances off: the accounts, no balances.
        let s = shown(Some(&sync(&["accounts"])), &records, NOW);
        assert_eq!(s.accounts.len(), 1);
        assert_eq!(s.accounts[0].name, "Main");
        assert!(s.accounts[0].balances.is_empty());
    }

    #[test]
    fn an_unknown_network_or_token_is_said_as_such_and_a_synced_network_names_its_coin() {
        let records = [
            balance(
                &format!("999:{A}:native"),
                "3000000000000000000",
                NOW,
                "Laptop",
            ),
            balance(&format!("999:{A}:{USDC}"), "42", NOW, "Laptop"),
            balance(
                &format!("5000:{A}:native"),
                "4000000000000000000",
                NOW,
                "Laptop",
            ),
            rec(
                "networks",
                "5000",
                json!({"network": {"name": "Mantle", "rpc": "https://rpc.mantle.xyz",
                    "currency": "MNT", "decimals": 18, "explorer": null}}),
                "Laptop",
            ),
        ];
        let s = shown(Some(&all_on()), &records, NOW);
        let rows: Vec<_> = s.accounts[0]
            .balances
            .iter()
            .map(|b| (b.network.as_str(), b.amount.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                ("Chain 999", "3 (native coin)"),
                ("Chain 999", "42 units of token 0x5FbD…0aa3"),
                ("Mantle", "4 MNT"),
            ]
        );
        assert_eq!(s.networks.len(), 1);
        assert_eq!(s.networks[0].label, "Mantle · chain 5000 · MNT");
        assert_eq!(s.networks[0].rpc, "https://rpc.mantle.xyz");
    }

    #[test]
    fn hidden_accounts_and_tokens_and_unreadable_records_are_left_out() {
        let records = [
            rec(
                "accounts",
                A,
                json!({"account": {"name": "Old", "order": 0, "hidden": true}}),
                "Laptop",
            ),
            balance(&format!("1:{A}:native"), "1", NOW, "Laptop"),
            rec(
                "tokens",
                &format!("1:{USDC}"),
                json!({"token": {"symbol": "USDC", "name": "USD Coin", "decimals": 6, "hidden": true}}),
                "Laptop",
            ),
            balance(&format!("1:{B}:{USDC}"), "1", NOW, "Laptop"),
            balance(&format!("1:{B}:native"), "not a number", NOW, "Laptop"),
        ];
        let s = shown(Some(&all_on()), &records, NOW);
        assert_eq!(s.accounts.len(), 1);
        assert_eq!(s.accounts[0].balances.len(), 1);
        assert_eq!(s.accounts[0].balances[0].amount, "? ETH");
        assert!(s.tokens.is_empty());
    }

    #[test]
    fn the_screen_opens_from_home_in_the_sync_module_and_says_how_to_turn_sync_on() {
        let (mut p, _) = testing::imported(None, 0.0, true);
        p.screen = Screen::Home;
        assert_eq!(p.wallet_view_act("wallet-open"), None, "the plain module");
        p.on_view(testing::view("aa", &[]));
        assert!(crate::screens::view(&p).find("wallet-open").is_none());
        p.activity = true;
        assert!(crate::screens::view(&p).find("wallet-open").is_some());
        assert_eq!(p.wallet_view_act("wallet-open"), Some(vec![]));
        assert_eq!(p.screen, Screen::Wallet);
        // Before the sync state is read.
        let page = crate::screens::view(&p);
        assert!(page.find("wallet-screen").is_some());
        assert!(page.find("wallet-loading").is_some());
        // Both switches off: what to turn on, and where.
        p.on_sync(sync(&["address_book"]));
        let page = crate::screens::view(&p);
        let off = page.find("wallet-off").unwrap().text_content();
        assert!(off.contains("Last known balances"), "{off}");
        assert!(off.contains("Account names and order"), "{off}");
        assert_eq!(
            page.find("wallet-sync-open").unwrap().get("data-action"),
            Some("sync-open")
        );
        assert!(page.find("wallet-accounts").is_none());
        // On, nothing synced yet.
        p.on_sync(all_on());
        let page = crate::screens::view(&p);
        assert!(page.find("wallet-off").is_none());
        assert!(page
            .find("wallet-empty")
            .unwrap()
            .text_content()
            .contains("Nothing synced yet"));
        // Back goes Home.
        p.act("home", "", &|_| String::new(), &|_| None, &|_| false);
        assert_eq!(p.screen, Screen::Home);
    }

    #[test]
    fn the_screen_lists_the_accounts_balances_tokens_and_networks() {
        let (mut p, _) = testing::imported(None, 0.0, true);
        p.activity = true;
        p.now_ms = NOW;
        p.wallet_view_act("wallet-open");
        p.on_sync(sync(&["accounts", "balances", "tokens", "networks"]));
        p.on_wallet_records(vec![
            name(B, "Main", 0),
            balance(&format!("31337:{B}:native"), "10000000000000000000000", NOW - 60_000.0, "Chrome on Linux"),
            rec(
                "tokens",
                &format!("31337:{USDC}"),
                json!({"token": {"symbol": "USDC", "name": "USDC", "decimals": 6, "hidden": false}}),
                "Laptop",
            ),
            rec(
                "networks",
                "5000",
                json!({"network": {"name": "Mantle", "rpc": "https://rpc.mantle.xyz",
                    "currency": "MNT", "decimals": 18, "explorer": null}}),
                "Laptop",
            ),
        ]);
        let page = crate::screens::view(&p);
        assert!(page.find("wallet-empty").is_none());
        let account = page.find(&format!("wallet-account-{B}")).unwrap();
        assert_eq!(
            account.find("wallet-account-name").unwrap().text_content(),
            "Main"
        );
        assert_eq!(
            account
                .find("wallet-account-address")
                .unwrap()
                .text_content(),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        let row = account
            .find(&format!("wallet-balance-31337:{B}:native"))
            .unwrap();
        let text = row.text_content();
        assert!(text.contains("Localhost 8545"), "{text}");
        assert!(text.contains("10,000 ETH"), "{text}");
        assert!(
            text.contains("as of 1 min ago · read on Chrome on Linux"),
            "{text}"
        );
        let tokens = page.find("wallet-tokens").unwrap().text_content();
        assert!(tokens.contains("USDC"), "{tokens}");
        assert!(tokens.contains("Localhost 8545"), "{tokens}");
        let nets = page.find("wallet-networks").unwrap().text_content();
        assert!(nets.contains("Mantle · chain 5000 · MNT"), "{nets}");
        // Read-only: nothing to tap but the way back.
        fn actions(e: &tandem_ui::view::El, out: &mut Vec<String>) {
            out.extend(e.get("data-action").map(str::to_owned));
            for c in &e.children {
                if let tandem_ui::view::Node::El(c) = c {
                    actions(c, out);
                }
            }
        }
        let mut all = Vec::new();
        actions(&page, &mut all);
        assert_eq!(all, ["home"]);
    }
}
