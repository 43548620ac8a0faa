#![doc = include_str!("../README.md")]

pub mod account;
pub mod backup;
pub mod bip32;
pub mod bip39;
mod error;
pub mod keyring;

pub use account::PrivateKey;
pub use alloy_primitives::Address;
pub use bip39::{Mnemonic, Seed, WordCount};
pub use error::{Error, Result};
pub use keyring::{AccountInfo, AccountOrigin, Keyring, SourceId};
