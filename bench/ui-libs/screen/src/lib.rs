//! The data every version of the bench screen shows (bench/ui-libs/web/harness.js
//! computes the same balances to know when a screen is drawn).

/// The balance of row `i` before the first refresh, in thousandths.
pub fn initial_balance(i: usize) -> u64 {
    (i as u64 * 7919 + 13) % 1_000_000
}

/// A balance after one refresh.
pub fn next_balance(b: u64) -> u64 {
    (b * 3 + 1) % 1_000_000
}

/// A balance as the screen shows it ("12.345").
pub fn amount(b: u64) -> String {
    format!("{}.{:03}", b / 1000, b % 1000)
}

/// Row `i`'s token symbol.
pub fn symbol(i: usize) -> String {
    format!("TK{i}")
}
