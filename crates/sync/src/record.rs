//! What syncs: the categories, how their records are named, and the values
//! they hold, each checked before it is stored or sent.

use serde::{Deserialize, Serialize};

use crate::{invalid, Result};

/// Longest text in a value (names, symbols, summaries); URLs may be 2,048.
pub const MAX_TEXT: usize = 256;
const MAX_URL: usize = 2_048;
/// Most accounts one connected site may be given.
const MAX_SITE_ACCOUNTS: usize = 64;

/// A kind of metadata the user turns sync on or off for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Account names, order and hidden flags. Record id: the address.
    Accounts,
    /// Tokens the user added or hid. Record id: `<chain>:<token address>`.
    Tokens,
    /// Last known balances. Record id: `<chain>:<account>:<token address or
    /// "native">`.
    Balances,
    /// The wallet's own transactions. Record id: `<chain>:<transaction hash>`.
    Activity,
    /// Saved addresses. Record id: the address.
    AddressBook,
    /// Networks the user added. Record id: the chain id in decimal.
    Networks,
    /// Sites connected on some device. Record id: `<device id>/<origin>`: a
    /// site connected on one device has no permission on another.
    Sites,
}

impl Category {
    /// Every category, in the order the settings show them.
    pub const ALL: [Self; 7] = [
        Self::Accounts,
        Self::Tokens,
        Self::Balances,
        Self::Activity,
        Self::AddressBook,
        Self::Networks,
        Self::Sites,
    ];

    /// What the settings call it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Accounts => "Account names and order",
            Self::Tokens => "Token lists",
            Self::Balances => "Last known balances",
            Self::Activity => "Activity",
            Self::AddressBook => "Address book",
            Self::Networks => "Networks",
            Self::Sites => "Connected sites",
        }
    }

    /// Whether a change made on another device is announced: a network's
    /// RPC sees every request the wallet makes, and an address book entry
    /// is where money goes.
    pub fn announced(self) -> bool {
        matches!(self, Self::Networks | Self::AddressBook)
    }

    /// Checks a record id of this category.
    pub fn check_id(self, id: &str) -> Result<()> {
        // At most three parts are ever valid: a fourth makes it no match.
        let mut it = id.split(':');
        let mut parts: [&str; 4] = [""; 4];
        let mut n = 0;
        for p in it.by_ref().take(4) {
            parts[n] = p;
            n += 1;
        }
        let ok = match (self, &parts[..n]) {
            (Self::Accounts | Self::AddressBook, [a]) => is_address(a),
            (Self::Tokens, [c, t]) => is_chain(c) && is_address(t),
            (Self::Balances, [c, a, t]) => {
                is_chain(c) && is_address(a) && (*t == "native" || is_address(t))
            }
            (Self::Activity, [c, h]) => is_chain(c) && is_hex(h, 64),
            (Self::Networks, [c]) => is_chain(c),
            (Self::Sites, _) => match id.split_once('/') {
                Some((device, origin)) => is_hex(device, 32) && is_origin(origin),
                None => false,
            },
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(invalid(format!(
                "`{}` is not a record id of {} ({})",
                shown(id),
                self.label(),
                self.id_form()
            )))
        }
    }

    fn id_form(self) -> &'static str {
        match self {
            Self::Accounts | Self::AddressBook => "expected a lowercase 0x address",
            Self::Tokens => "expected <chain id>:<token address>",
            Self::Balances => "expected <chain id>:<account>:<token address or native>",
            Self::Activity => "expected <chain id>:<transaction hash>",
            Self::Networks => "expected a chain id",
            Self::Sites => "expected <device id>/<https origin>",
        }
    }
}

/// What an op changes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Field {
    /// One record of a category.
    Record {
        /// Its category.
        category: Category,
        /// Its id (see [`Category`] for each form).
        id: String,
    },
    /// Whether a category syncs (value: [`Value::Enabled`]).
    Enabled {
        /// The category.
        category: Category,
    },
}

impl Field {
    /// A record's field.
    pub fn record(category: Category, id: impl Into<String>) -> Self {
        Self::Record {
            category,
            id: id.into(),
        }
    }

    /// The category the field belongs to.
    pub fn category(&self) -> Category {
        match self {
            Self::Record { category, .. } | Self::Enabled { category } => *category,
        }
    }

    /// Checks the field, and that `value` (`None`: removed) may be stored in it.
    pub fn check(&self, value: Option<&Value>) -> Result<()> {
        match self {
            Self::Record { category, id } => {
                category.check_id(id)?;
                match value {
                    None => Ok(()),
                    Some(v) if v.category() == Some(*category) => v.check(),
                    Some(v) => Err(invalid(format!(
                        "{} data cannot be stored in {}",
                        v.kind(),
                        category.label()
                    ))),
                }
            }
            Self::Enabled { category } => match value {
                Some(Value::Enabled(_)) => Ok(()),
                _ => Err(invalid(format!(
                    "the switch for {} holds only on or off",
                    category.label()
                ))),
            },
        }
    }
}

/// A record's value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Value {
    /// [`Category::Accounts`].
    Account(Account),
    /// [`Category::Tokens`].
    Token(Token),
    /// [`Category::Balances`].
    Balance(Balance),
    /// [`Category::Activity`].
    Activity(Activity),
    /// [`Category::AddressBook`].
    Contact(Contact),
    /// [`Category::Networks`].
    Network(Network),
    /// [`Category::Sites`].
    Site(Site),
    /// A category's switch.
    Enabled(bool),
}

impl Value {
    fn category(&self) -> Option<Category> {
        Some(match self {
            Self::Account(_) => Category::Accounts,
            Self::Token(_) => Category::Tokens,
            Self::Balance(_) => Category::Balances,
            Self::Activity(_) => Category::Activity,
            Self::Contact(_) => Category::AddressBook,
            Self::Network(_) => Category::Networks,
            Self::Site(_) => Category::Sites,
            Self::Enabled(_) => return None,
        })
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Account(_) => "account",
            Self::Token(_) => "token",
            Self::Balance(_) => "balance",
            Self::Activity(_) => "activity",
            Self::Contact(_) => "address book",
            Self::Network(_) => "network",
            Self::Site(_) => "site",
            Self::Enabled(_) => "on/off",
        }
    }

    fn check(&self) -> Result<()> {
        match self {
            Self::Account(a) => text("account name", &a.name),
            Self::Token(t) => {
                text("token symbol", &t.symbol)?;
                text("token name", &t.name)?;
                decimals(t.decimals)
            }
            Self::Balance(b) => amount("balance", &b.amount),
            Self::Activity(a) => {
                address("sender", &a.from)?;
                if let Some(to) = &a.to {
                    address("recipient", to)?;
                }
                amount("value", &a.value)?;
                text("summary", &a.summary)
            }
            Self::Contact(c) => {
                text("name", &c.name)?;
                text("note", &c.note)
            }
            Self::Network(n) => {
                text("network name", &n.name)?;
                text("currency symbol", &n.currency)?;
                decimals(n.decimals)?;
                url("RPC URL", &n.rpc)?;
                match &n.explorer {
                    Some(e) => url("explorer URL", e),
                    None => Ok(()),
                }
            }
            Self::Site(s) => {
                if s.accounts.len() > MAX_SITE_ACCOUNTS {
                    return Err(invalid(format!(
                        "a site may be given at most {MAX_SITE_ACCOUNTS} accounts"
                    )));
                }
                s.accounts.iter().try_for_each(|a| address("account", a))
            }
            Self::Enabled(_) => Ok(()),
        }
    }
}

/// An account's name and place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// What the user calls it.
    pub name: String,
    /// Its place in the list (smallest first).
    pub order: u32,
    /// Hidden from the account list.
    pub hidden: bool,
}

/// A token the user added (or hid).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    /// Its symbol, as the contract says.
    pub symbol: String,
    /// Its name.
    pub name: String,
    /// Its decimals.
    pub decimals: u8,
    /// Hidden from the portfolio.
    pub hidden: bool,
}

/// A balance as some device last read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Balance {
    /// In the token's smallest unit, decimal.
    pub amount: String,
    /// When it was read (milliseconds since the Unix epoch).
    pub as_of: u64,
}

/// Where a transaction of the wallet stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityStatus {
    /// Sent, not yet in a block.
    Pending,
    /// In a block, succeeded.
    Confirmed,
    /// In a block, reverted.
    Failed,
    /// Replaced by another transaction with the same nonce.
    Replaced,
}

/// A transaction the wallet sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    /// The sending account.
    pub from: String,
    /// The recipient (`None`: a contract creation).
    pub to: Option<String>,
    /// Value in wei, decimal.
    pub value: String,
    /// What it did, in words ("Sent 0.1 ETH to 0x12…34").
    pub summary: String,
    /// Where it stands.
    pub status: ActivityStatus,
    /// When it was sent (milliseconds since the Unix epoch).
    pub at: u64,
}

/// A saved address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Its name.
    pub name: String,
    /// A note.
    pub note: String,
}

/// A network the user added.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Its name.
    pub name: String,
    /// The RPC URL (it sees every request the wallet makes on it).
    pub rpc: String,
    /// The currency's symbol.
    pub currency: String,
    /// The currency's decimals.
    pub decimals: u8,
    /// A block explorer.
    pub explorer: Option<String>,
}

/// A site connected on one device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// The accounts it was given there.
    pub accounts: Vec<String>,
    /// When (milliseconds since the Unix epoch).
    pub connected_at: u64,
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn is_address(s: &str) -> bool {
    s.strip_prefix("0x").is_some_and(|h| is_hex(h, 40))
}

fn is_chain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 20
        && !s.starts_with('0')
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.parse::<u64>().is_ok()
}

fn is_origin(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|host| {
        !host.is_empty()
            && s.len() <= MAX_TEXT
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    })
}

/// At most 60 characters of `s`, for an error message.
fn shown(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

fn text(what: &str, s: &str) -> Result<()> {
    if s.chars().count() > MAX_TEXT {
        return Err(invalid(format!(
            "the {what} is longer than {MAX_TEXT} characters"
        )));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid(format!("the {what} contains control characters")));
    }
    // Zero-width and direction-changing characters make a name read as
    // another ("Alice" whose text runs backwards after a mark).
    if s.chars().any(|c| {
        matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    }) {
        return Err(invalid(format!(
            "the {what} contains invisible or direction-changing characters"
        )));
    }
    Ok(())
}

fn decimals(d: u8) -> Result<()> {
    if d > 36 {
        return Err(invalid(format!("{d} decimals is more than 36")));
    }
    Ok(())
}

fn amount(what: &str, s: &str) -> Result<()> {
    if s.is_empty() || s.len() > 78 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!(
            "the {what} `{}` is not a whole number of at most 78 digits",
            shown(s)
        )));
    }
    Ok(())
}

fn address(what: &str, s: &str) -> Result<()> {
    if !is_address(s) {
        return Err(invalid(format!(
            "the {what} `{}` is not a lowercase 0x address",
            shown(s)
        )));
    }
    Ok(())
}

fn url(what: &str, s: &str) -> Result<()> {
    let ok = s.len() <= MAX_URL
        && (s.starts_with("https://") || s.starts_with("http://"))
        && !s.chars().any(|c| c.is_control() || c.is_whitespace());
    if !ok {
        return Err(invalid(format!(
            "the {what} `{}` is not an http(s) URL of at most {MAX_URL} characters",
            shown(s)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDR: &str = "0x00000000000000000000000000000000000000aa";

    #[test]
    fn record_ids_follow_their_category() {
        let ok = [
            (Category::Accounts, ADDR.to_owned()),
            (Category::Tokens, format!("1:{ADDR}")),
            (Category::Balances, format!("137:{ADDR}:native")),
            (Category::Balances, format!("137:{ADDR}:{ADDR}")),
            (Category::Activity, format!("1:{}", "ab".repeat(32))),
            (Category::Networks, "31337".to_owned()),
            (
                Category::Sites,
                format!("{}/https://app.example", "0f".repeat(16)),
            ),
        ];
        for (c, id) in &ok {
            assert_eq!(c.check_id(id), Ok(()), "{c:?} {id}");
        }
        let bad = [
            (Category::Accounts, "0xAA".to_owned()),
            (Category::Accounts, ADDR.to_uppercase()),
            (Category::Tokens, ADDR.to_owned()),
            (Category::Tokens, format!("01:{ADDR}")),
            (Category::Balances, format!("1:{ADDR}:eth")),
            (Category::Activity, "1:0x12".to_owned()),
            (Category::Networks, "-1".to_owned()),
            (Category::Networks, "99999999999999999999".to_owned()),
            (Category::Sites, "https://app.example".to_owned()),
            (Category::Sites, format!("{}/javascript:x", "0f".repeat(16))),
        ];
        for (c, id) in &bad {
            let e = c.check_id(id).unwrap_err().to_string();
            assert!(e.contains("is not a record id of"), "{e}");
        }
    }

    #[test]
    fn values_are_checked_with_clear_errors() {
        let field = Field::record(Category::Networks, "10");
        let mut n = Network {
            name: "Optimism".into(),
            rpc: "https://rpc.example/key".into(),
            currency: "ETH".into(),
            decimals: 18,
            explorer: None,
        };
        assert_eq!(field.check(Some(&Value::Network(n.clone()))), Ok(()));
        n.rpc = "javascript:alert(1)".into();
        let e = field.check(Some(&Value::Network(n))).unwrap_err();
        assert!(e
            .to_string()
            .contains("RPC URL `javascript:alert(1)` is not an http(s) URL"));
        let e = field
            .check(Some(&Value::Contact(Contact {
                name: "a".into(),
                note: String::new(),
            })))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "address book data cannot be stored in Networks"
        );
        let e = Field::record(Category::Accounts, ADDR)
            .check(Some(&Value::Account(Account {
                name: "a\nb".into(),
                order: 0,
                hidden: false,
            })))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the account name contains control characters"
        );
        let e = Field::record(Category::AddressBook, ADDR)
            .check(Some(&Value::Contact(Contact {
                name: "Alice\u{202e}".into(),
                note: String::new(),
            })))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the name contains invisible or direction-changing characters"
        );
        let e = Field::Enabled {
            category: Category::Tokens,
        }
        .check(None)
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the switch for Token lists holds only on or off"
        );
    }
}
