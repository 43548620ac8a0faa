//! EIP-191 version 0x45: `personal_sign`.

use alloy_primitives::{eip191_hash_message, B256};
use tandem_keys::PrivateKey;

use crate::signature::{sign_hash, Signature};

/// The bytes a dapp means by a `personal_sign` message: `0x`-prefixed even-length
/// hex is raw bytes (what viem's `{ raw }` and ethers' `Uint8Array` send);
/// anything else is UTF-8 text, as MetaMask does.
pub fn message_bytes(message: &str) -> Vec<u8> {
    match message.strip_prefix("0x") {
        Some(h) if h.len() % 2 == 0 => {
            hex::decode(h).unwrap_or_else(|_| message.as_bytes().to_vec())
        }
        _ => message.as_bytes().to_vec(),
    }
}

/// `keccak256("\x19Ethereum Signed Message:\n" || len || message)`.
pub fn hash(message: &[u8]) -> B256 {
    eip191_hash_message(message)
}

/// Signs a message as `personal_sign` does.
pub fn sign(key: &PrivateKey, message: &[u8]) -> Signature {
    sign_hash(key, &hash(message))
}
