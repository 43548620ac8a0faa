//! Stored JSON read back after a worker restart (or tampered with): loading
//! either half never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_wallet::Wallet;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = Wallet::load(text, "");
    let _ = Wallet::load("", text);
    let mut mid = text.len() / 2;
    while !text.is_char_boundary(mid) {
        mid -= 1;
    }
    let (a, b) = text.split_at(mid);
    let _ = Wallet::load(a, b);
});
