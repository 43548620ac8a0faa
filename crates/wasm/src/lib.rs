#![doc = include_str!("../README.md")]
// wasm-bindgen exports are `pub` by necessity; the lint cannot see they are used from JS.
#![allow(unreachable_pub)]

mod error;
mod keyring;
mod primitives;
mod vault;
mod wallet;

pub use error::Error;
pub use keyring::{
    decode_transaction, generate_mnemonic, recover_personal, typed_data_hash, validate_mnemonic,
    Keyring,
};
pub use primitives::*;
pub use vault::{SealedKeyring, UnlockedKeyring, Vault};
pub use wallet::{checksum_address, WalletController};

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
