#![doc = include_str!("../README.md")]
// wasm-bindgen exports are `pub` by necessity; the lint cannot see they are used from JS.
#![allow(unreachable_pub)]

mod error;
mod keyring;
mod vault;
mod wallet;

pub use error::Error;
// Only what the extension calls is exported: decoding a raw transaction,
// recovering a personal_sign signer and hashing typed data are tested natively
// (tandem-eth) and, in Node, checked with viem, without shipping in the module.
pub use keyring::{generate_mnemonic, validate_mnemonic, Keyring};
pub use vault::{SealedKeyring, UnlockedKeyring, Vault};
pub use wallet::{checksum_address, rpc_batch, WalletController};

use wasm_bindgen::prelude::wasm_bindgen;

/// Installs the panic hook once, when the module is instantiated.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// The version of the core, for diagnostics.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
