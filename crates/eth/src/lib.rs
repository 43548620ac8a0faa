#![doc = include_str!("../README.md")]

pub mod eip191;
pub mod eip712;
mod error;
pub mod signature;
pub mod transaction;

pub use alloy_primitives::{Address, Bytes, B256, U256};
pub use error::{Error, Result};
pub use signature::Signature;
pub use transaction::{SignedTransaction, TransactionRequest};
