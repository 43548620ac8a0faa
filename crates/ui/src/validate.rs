//! Form validation. Each function returns the value the worker needs or an
//! error message fit to show under the field.

use crate::{form_err, Result};

/// How hard a password would be to guess, as a hint while typing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strength {
    /// Too short or a single character class.
    Weak,
    /// Acceptable.
    Fair,
    /// Long and varied.
    Strong,
}

impl Strength {
    /// A short label for the hint under the password field.
    pub fn label(self) -> &'static str {
        match self {
            Strength::Weak => "Weak: use 12+ characters, mixing words, digits and symbols",
            Strength::Fair => "Fair: longer is stronger",
            Strength::Strong => "Strong",
        }
    }
}

/// Minimum password length accepted.
pub const MIN_PASSWORD_LEN: usize = 8;

/// A rough strength estimate: length plus character classes. The vault's
/// Argon2id makes each guess expensive; this hint only nudges the user.
pub fn password_strength(password: &str) -> Strength {
    let len = password.chars().count();
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ]
    .iter()
    .filter(|&&b| b)
    .count();
    let distinct = {
        let mut v: Vec<char> = password.chars().collect();
        v.sort_unstable();
        v.dedup();
        v.len()
    };
    if len < MIN_PASSWORD_LEN || distinct < 5 {
        Strength::Weak
    } else if len >= 16 || (len >= 12 && classes >= 3) {
        Strength::Strong
    } else if classes >= 2 || len >= 12 {
        Strength::Fair
    } else {
        Strength::Weak
    }
}

/// Checks a new password and its confirmation.
pub fn new_password(password: &str, confirm: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(form_err(format!(
            "use at least {MIN_PASSWORD_LEN} characters for the password"
        )));
    }
    if password != confirm {
        return Err(form_err(
            "the two passwords differ; type the same password twice",
        ));
    }
    Ok(())
}

/// Word counts BIP-39 allows.
pub const PHRASE_LENGTHS: [usize; 5] = [12, 15, 18, 21, 24];

/// Normalises a typed recovery phrase: lower case, single spaces. The word list
/// check happens in the wasm core; this catches the common slips early.
pub fn recovery_phrase(input: &str) -> Result<String> {
    let words: Vec<String> = input.split_whitespace().map(str::to_lowercase).collect();
    if words.is_empty() {
        return Err(form_err("enter your recovery phrase"));
    }
    if !PHRASE_LENGTHS.contains(&words.len()) {
        return Err(form_err(format!(
            "a recovery phrase has 12, 15, 18, 21 or 24 words; this one has {}",
            words.len()
        )));
    }
    if let Some(w) = words.iter().find(|w| !w.chars().all(|c| c.is_alphabetic())) {
        return Err(form_err(format!(
            "word {} contains something other than letters",
            words.iter().position(|x| x == w).map_or(0, |i| i + 1)
        )));
    }
    Ok(words.join(" "))
}

/// Checks a hex private key (32 bytes, optional `0x`) and returns it with `0x`.
pub fn private_key(input: &str) -> Result<String> {
    let s = input.trim();
    let hex = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if hex.len() != 64 {
        return Err(form_err(format!(
            "a private key is 64 hex characters; this one has {}",
            hex.len()
        )));
    }
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(form_err("a private key contains only 0-9 and a-f"));
    }
    if hex.chars().all(|c| c == '0') {
        return Err(form_err(
            "this private key is zero, which is not a valid key",
        ));
    }
    Ok(format!("0x{}", hex.to_lowercase()))
}

/// What the user pasted into the import field.
#[derive(Clone, PartialEq, Eq)]
pub enum ImportSecret {
    /// A normalised BIP-39 phrase.
    Phrase(String),
    /// A `0x` hex private key.
    PrivateKey(String),
}

impl core::fmt::Debug for ImportSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ImportSecret::Phrase(_) => f.write_str("ImportSecret::Phrase(<redacted>)"),
            ImportSecret::PrivateKey(_) => f.write_str("ImportSecret::PrivateKey(<redacted>)"),
        }
    }
}

impl Drop for ImportSecret {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        match self {
            ImportSecret::Phrase(s) | ImportSecret::PrivateKey(s) => s.zeroize(),
        }
    }
}

/// Tells a phrase from a private key by its shape.
pub fn import_secret(input: &str) -> Result<ImportSecret> {
    let t = input.trim();
    if t.split_whitespace().count() == 1 {
        let hexish = t.trim_start_matches("0x").trim_start_matches("0X");
        if hexish.len() >= 32 && hexish.chars().all(|c| c.is_ascii_hexdigit()) {
            return private_key(t).map(ImportSecret::PrivateKey);
        }
    }
    recovery_phrase(t).map(ImportSecret::Phrase)
}

/// Checks the words typed at the confirmation step against the phrase.
/// `answers` holds (0-based position, typed word).
pub fn confirm_words(phrase: &str, answers: &[(usize, String)]) -> Result<()> {
    let words: Vec<&str> = phrase.split_whitespace().collect();
    for (pos, typed) in answers {
        match words.get(*pos) {
            Some(w) if *w == typed.trim().to_lowercase() => {}
            Some(_) => {
                return Err(form_err(format!(
                    "word #{} does not match; check what you wrote down",
                    pos + 1
                )))
            }
            None => return Err(form_err(format!("there is no word #{}", pos + 1))),
        }
    }
    Ok(())
}

/// Picks `k` distinct positions out of `n` from random bytes (the caller
/// passes bytes from `crypto.getRandomValues`), sorted ascending.
pub fn pick_positions(n: usize, k: usize, random: &[u8]) -> Vec<usize> {
    let mut pool: Vec<usize> = (0..n).collect();
    let mut out = Vec::with_capacity(k);
    for (i, r) in random.chunks(2).take(k.min(n)).enumerate() {
        let v = r.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        let j = v % (n - i);
        out.push(pool.swap_remove(j));
    }
    out.sort_unstable();
    out
}

/// Checks an RPC URL: https anywhere, plain http only to this machine.
pub fn rpc_url(input: &str) -> Result<String> {
    let s = input.trim();
    let rest = if let Some(r) = s.strip_prefix("https://") {
        r
    } else if let Some(r) = s.strip_prefix("http://") {
        let host = r.split(['/', '?']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(h, p)| {
            if p.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        });
        if !matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
            return Err(form_err(
                "use https:// for a remote RPC endpoint (http:// is allowed only for localhost)",
            ));
        }
        r
    } else {
        return Err(form_err("an RPC URL starts with https://"));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) || host.contains('@') {
        return Err(form_err("this RPC URL has no valid host name"));
    }
    Ok(s.to_owned())
}

/// Largest chain id wallets accept (EIP-2294 bound, and safe as a JS number).
pub const MAX_CHAIN_ID: u64 = 4_503_599_627_370_476;

/// Parses a chain id typed as decimal or `0x` hex.
pub fn chain_id(input: &str) -> Result<u64> {
    let s = input.trim();
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse::<u64>().ok(),
    };
    match parsed {
        Some(id) if id > 0 && id <= MAX_CHAIN_ID => Ok(id),
        Some(_) => Err(form_err(format!(
            "a chain id is between 1 and {MAX_CHAIN_ID}"
        ))),
        None => Err(form_err("a chain id is a number, like 1 or 0x1")),
    }
}

/// A contract address: `0x` and 40 hex digits (shown back with its checksum).
pub fn address(input: &str) -> Result<String> {
    let s = input.trim();
    let hex = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or("");
    if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(form_err("an address is 0x followed by 40 hex characters"));
    }
    Ok(crate::format::checksum_address(s))
}

/// Token decimals, as EIP-747 bounds them (0 to 36).
pub fn decimals(input: &str) -> Result<u8> {
    match input.trim().parse::<u8>() {
        Ok(d) if d <= 36 => Ok(d),
        _ => Err(form_err("decimals is a whole number from 0 to 36")),
    }
}

/// Minutes of inactivity before the wallet locks itself.
pub fn auto_lock_minutes(input: &str) -> Result<u32> {
    match input.trim().parse::<u32>() {
        Ok(m) if (1..=1440).contains(&m) => Ok(m),
        _ => Err(form_err(
            "auto-lock takes a whole number of minutes from 1 to 1440",
        )),
    }
}

/// Account and network names: trimmed, 1 to 32 characters, printable.
pub fn display_name(input: &str) -> Result<String> {
    let s = input.trim();
    if s.is_empty() {
        return Err(form_err("the name cannot be empty"));
    }
    if s.chars().count() > 32 {
        return Err(form_err("use at most 32 characters"));
    }
    if s.chars().any(char::is_control) {
        return Err(form_err("the name contains control characters"));
    }
    Ok(s.to_owned())
}

/// A currency symbol: 1 to 11 characters (EIP-747's limit), no spaces.
pub fn symbol(input: &str) -> Result<String> {
    let s = input.trim();
    if s.is_empty() || s.chars().count() > 11 || s.contains(char::is_whitespace) {
        return Err(form_err("a symbol has 1 to 11 characters and no spaces"));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules() {
        assert!(new_password("short", "short").is_err());
        assert!(new_password("long enough pw", "long enough pW").is_err());
        assert!(new_password("long enough pw", "long enough pw").is_ok());
        assert_eq!(password_strength("aaaaaaaaaaaa"), Strength::Weak);
        assert_eq!(password_strength("abc"), Strength::Weak);
        assert_eq!(password_strength("hunter2x!"), Strength::Fair);
        assert_eq!(password_strength("Correct-Horse-42"), Strength::Strong);
        assert!(Strength::Strong > Strength::Weak);
    }

    #[test]
    fn phrases() {
        let p = "  Test test test test test test test test test test test JUNK ";
        assert_eq!(
            recovery_phrase(p).unwrap(),
            "test test test test test test test test test test test junk"
        );
        let e = recovery_phrase("one two three").unwrap_err().to_string();
        assert!(e.contains("this one has 3"), "{e}");
        assert!(recovery_phrase("").is_err());
        let e = recovery_phrase("a b c d e f g h i j k l1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("word 12"), "{e}");
    }

    #[test]
    fn private_keys() {
        // anvil's account 0 key (anvil docs / `anvil` startup banner).
        let k = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        assert_eq!(private_key(k).unwrap(), k);
        assert_eq!(private_key(&k[2..].to_uppercase()).unwrap(), k);
        assert!(private_key("0x1234").is_err());
        assert!(private_key(&format!("0x{}", "g".repeat(64))).is_err());
        assert!(private_key(&"0".repeat(64)).is_err());
        assert!(matches!(import_secret(k), Ok(ImportSecret::PrivateKey(_))));
        assert!(matches!(
            import_secret("test test test test test test test test test test test junk"),
            Ok(ImportSecret::Phrase(_))
        ));
        assert!(import_secret("0x12345").is_err());
        let dbg = format!("{:?}", import_secret(k).unwrap());
        assert!(!dbg.contains("ac09"), "Debug leaks the key: {dbg}");
    }

    #[test]
    fn word_confirmation() {
        let p = "alpha beta gamma delta";
        assert!(confirm_words(p, &[(0, "alpha".into()), (3, " Delta ".into())]).is_ok());
        let e = confirm_words(p, &[(1, "gamma".into())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("#2"), "{e}");
        assert!(confirm_words(p, &[(9, "x".into())]).is_err());
    }

    #[test]
    fn positions_are_distinct_and_in_range() {
        for seed in 0u8..=255 {
            let bytes: Vec<u8> = (0u8..6)
                .map(|i| seed.wrapping_mul(31).wrapping_add(i.wrapping_mul(77)))
                .collect();
            let p = pick_positions(12, 3, &bytes);
            assert_eq!(p.len(), 3);
            assert!(p.windows(2).all(|w| w[0] < w[1]), "{p:?}");
            assert!(p.iter().all(|&i| i < 12));
        }
        assert_eq!(pick_positions(2, 3, &[1, 2, 3, 4, 5, 6]).len(), 2);
    }

    #[test]
    fn urls_and_ids() {
        assert!(rpc_url("https://eth.llamarpc.com").is_ok());
        assert!(rpc_url("http://127.0.0.1:8545").is_ok());
        assert!(rpc_url("http://localhost:8545/rpc").is_ok());
        assert!(rpc_url("http://evil.example:8545").is_err());
        assert!(rpc_url("ftp://x").is_err());
        assert!(rpc_url("https://").is_err());
        assert!(rpc_url("https://user@host").is_err());
        assert_eq!(chain_id("0x1").unwrap(), 1);
        assert_eq!(chain_id("31337").unwrap(), 31337);
        assert!(chain_id("0").is_err());
        assert!(chain_id("abc").is_err());
        assert!(chain_id("99999999999999999999").is_err());
    }

    #[test]
    fn token_fields() {
        assert_eq!(
            address(" 0x5fbdb2315678afecb367f032d93f642f64180aa3 ").unwrap(),
            "0x5FbDB2315678afecb367f032d93F642f64180aa3"
        );
        assert!(address("0x5fbdb2315678afecb367f032d93f642f64180aa").is_err());
        assert!(address("5fbdb2315678afecb367f032d93f642f64180aa3").is_err());
        assert_eq!(decimals("6").unwrap(), 6);
        assert!(decimals("37").is_err());
        assert!(decimals("-1").is_err());
    }

    #[test]
    fn small_fields() {
        assert_eq!(auto_lock_minutes(" 15 ").unwrap(), 15);
        assert!(auto_lock_minutes("0").is_err());
        assert!(auto_lock_minutes("1441").is_err());
        assert!(auto_lock_minutes("5.5").is_err());
        assert_eq!(display_name("  Savings ").unwrap(), "Savings");
        assert!(display_name("   ").is_err());
        assert!(display_name(&"x".repeat(33)).is_err());
        assert!(display_name("a\u{0007}b").is_err());
        assert!(symbol("ETH").is_ok());
        assert!(symbol("E TH").is_err());
        assert!(symbol("TOOLONGSYMBOL").is_err());
    }
}
