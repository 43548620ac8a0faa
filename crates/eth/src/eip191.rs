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
            alloy_primitives::hex::decode(h).unwrap_or_else(|_| message.as_bytes().to_vec())
        }
        _ => message.as_bytes().to_vec(),
    }
}

/// The text a `personal_sign` message reads as, decided on the bytes that
/// are signed ([`message_bytes`]): UTF-8 without control characters other
/// than line breaks and tabs, else `None` (shown as hex). One decision for
/// the approval window, the phone and the audit log, so that the same bytes
/// sent as hex or as text read the same everywhere.
pub fn message_text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok().filter(|t| {
        !t.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    })
}

/// `keccak256("\x19Ethereum Signed Message:\n" || len || message)`.
pub fn hash(message: &[u8]) -> B256 {
    eip191_hash_message(message)
}

/// Signs a message as `personal_sign` does.
pub fn sign(key: &PrivateKey, message: &[u8]) -> Signature {
    sign_hash(key, &hash(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_decided_on_the_signed_bytes() {
        // Hex of readable UTF-8 reads as text; the same words sent as text
        // read the same.
        let hello = message_bytes("0x48656c6c6f0a54616e64656d");
        assert_eq!(message_text(&hello), Some("Hello\nTandem"));
        assert_eq!(message_bytes("Hello\nTandem"), hello);
        // A control character makes it hex, whichever way it was sent.
        for m in ["hi\u{7}", "0x686907"] {
            assert_eq!(message_text(&message_bytes(m)), None, "{m:?}");
        }
        assert_eq!(message_text(&message_bytes("0xdeadbeef")), None);
        // Odd-length or non-hex `0x` strings are text as sent.
        assert_eq!(message_text(&message_bytes("0xabc")), Some("0xabc"));
        assert_eq!(message_text(&message_bytes("0xzz")), Some("0xzz"));
    }
}
