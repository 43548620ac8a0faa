//! secp256k1 ECDSA over a 32-byte hash: sign, recover, verify.

use alloy_primitives::{Address, B256};
use k256::{
    ecdsa::VerifyingKey,
    elliptic_curve::{ops::LinearCombination, ops::Reduce, point::DecompressPoint, subtle::Choice},
    AffinePoint, ProjectivePoint, Scalar, U256,
};
use tandem_keys::PrivateKey;

use crate::{Error, Result};

pub use alloy_primitives::Signature;

/// Signs a 32-byte hash: RFC 6979 nonce, low-s, with recovery id.
pub fn sign_hash(key: &PrivateKey, hash: &B256) -> Signature {
    let (sig, recid) = key
        .signing_key()
        .sign_prehash_recoverable(hash.as_slice())
        .expect("signing a 32-byte prehash with a valid key cannot fail");
    Signature::from_signature_and_parity(sig, recid.is_y_odd())
}

/// Recovers the public key that made `sig` over `hash`.
///
/// This is the textbook `Q = r⁻¹(sR − zG)` on k256's own point arithmetic.
/// `ecdsa`'s `VerifyingKey::recover_from_prehash` computes the same `Q` and then
/// verifies the signature against it as a second, redundant check, which doubles
/// the cost; a test asserts both agree on random and malformed inputs.
pub fn recover_key(hash: &B256, sig: &Signature) -> Result<VerifyingKey> {
    let invalid = |what: &str| Error::Signature(what.to_owned());
    let ks = sig
        .to_k256()
        .map_err(|_| invalid("r or s is zero or out of range"))?;
    let (r, s) = ks.split_scalars();
    let z = <Scalar as Reduce<U256>>::reduce_bytes(hash.as_slice().into());
    // An x coordinate ≥ n (probability ~2^-128) cannot be expressed by a 27/28 v
    // and is not supported, as in every Ethereum client.
    let big_r = Option::<AffinePoint>::from(AffinePoint::decompress(
        &r.to_bytes(),
        Choice::from(u8::from(sig.v())),
    ))
    .ok_or_else(|| invalid("r is not the x coordinate of a curve point"))?;
    let r_inv = Option::<Scalar>::from(r.invert()).ok_or_else(|| invalid("r is zero"))?;
    let u1 = -(r_inv * z);
    let u2 = r_inv * *s;
    let q = ProjectivePoint::lincomb(
        &ProjectivePoint::GENERATOR,
        &u1,
        &ProjectivePoint::from(big_r),
        &u2,
    );
    VerifyingKey::from_affine(q.to_affine())
        .map_err(|_| invalid("recovers to the point at infinity"))
}

/// The address whose key made `sig` over `hash`.
pub fn recover(hash: &B256, sig: &Signature) -> Result<Address> {
    Ok(Address::from_public_key(&recover_key(hash, sig)?))
}

/// Whether `sig` over `hash` was made by `address`. High-s signatures are
/// rejected (Ethereum has required low s since Homestead).
pub fn verify(address: Address, hash: &B256, sig: &Signature) -> bool {
    sig.normalize_s().is_none() && recover(hash, sig).is_ok_and(|a| a == address)
}

/// Parses a 65-byte `r || s || v` signature (v = 27/28 or 0/1).
pub fn parse_rsv(bytes: &[u8]) -> Result<Signature> {
    Signature::try_from(bytes).map_err(|e| Error::Signature(e.to_string()))
}
