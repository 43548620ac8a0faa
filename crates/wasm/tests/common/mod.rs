//! Helpers shared by the boundary's test files (natively and in the browser).

/// The `personal_sign` signer of `sig`, checksummed (over tandem-eth: the
/// module does not export recovery).
#[allow(clippy::unwrap_used, dead_code)] // a test helper: a panic is the failure report
pub(crate) fn recover_personal(message: &str, sig: &str) -> String {
    use tandem_eth::{eip191, signature};
    let sig = signature::parse_rsv(&hex::decode(sig.trim_start_matches("0x")).unwrap()).unwrap();
    signature::recover(&eip191::hash(&eip191::message_bytes(message)), &sig)
        .unwrap()
        .to_checksum(None)
}
