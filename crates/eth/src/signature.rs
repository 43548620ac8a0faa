//! secp256k1 ECDSA over a 32-byte hash: sign, recover, verify.

use alloy_primitives::{Address, B256};
use k256::{
    ecdsa::{hazmat::SignPrimitive, RecoveryId, VerifyingKey},
    elliptic_curve::{
        ops::{Invert, LinearCombination, Reduce},
        point::DecompressPoint,
        scalar::BlindedScalar,
        subtle::Choice,
        Curve, FieldBytesEncoding, PrimeField,
    },
    AffinePoint, NonZeroScalar, ProjectivePoint, Scalar, Secp256k1, U256,
};
use rand_core::{CryptoRng, OsRng, RngCore};
use tandem_keys::PrivateKey;
use zeroize::{Zeroize, Zeroizing};

use crate::{Error, Result};

pub use alloy_primitives::Signature;

/// Signs a 32-byte hash: RFC 6979 nonce, low-s, with recovery id.
pub fn sign_hash(key: &PrivateKey, hash: &B256) -> Signature {
    let (sig, recid) = sign_prehash(key.signing_key().as_nonzero_scalar(), hash);
    Signature::from_signature_and_parity(sig, recid.is_y_odd())
}

/// ECDSA over a 32-byte hash with the secret scalar `d`: the RFC 6979 nonce,
/// low-s, and the recovery id of the low-s signature.
///
/// Byte-identical to `SigningKey::sign_prehash_recoverable` (a test compares
/// them); two differences in how the work is done:
/// - it starts from the scalar, where a `SigningKey` is built with its public
///   key, a scalar multiplication a signer does not need;
/// - the nonce is inverted by the `elliptic-curve` crate's [`BlindedScalar`]:
///   `(k·m)⁻¹·m` for a fresh random mask `m` from the OS (in the browser,
///   `crypto.getRandomValues`, drawn through [`MaskRng`]), with a fast
///   variable-time inversion. Its timing
///   depends on `k·m`, which is uniformly random and independent of `k`, so it
///   leaks nothing about the nonce; the constant-time addition chain it
///   replaces was 40% of a signature in wasm. The mask cancels out, so the
///   signature stays deterministic.
pub fn sign_prehash(d: &NonZeroScalar, hash: &B256) -> (k256::ecdsa::Signature, RecoveryId) {
    let k = Zeroizing::new(rfc6979::generate_k::<sha2::Sha256, _>(
        &d.to_repr(),
        &Secp256k1::ORDER.encode_field_bytes(),
        hash.as_slice().into(),
        &[],
    ));
    // generate_k returns a value in [1, n), so from_repr cannot fail.
    let k = Option::<Scalar>::from(Scalar::from_repr(*k)).expect("RFC 6979 nonce is a scalar");
    let (sig, recid) = d
        .as_ref()
        .try_sign_prehashed(
            BlindedScalar::<Secp256k1>::new(k, &mut MaskRng),
            hash.as_slice().into(),
        )
        .expect("a nonzero RFC 6979 nonce and a nonzero key always sign");
    (sig, recid.expect("k256 always returns the recovery id"))
}

/// OS randomness for the blinding masks, fetched 512 bytes at a time: one
/// `crypto.getRandomValues` call (a JS round trip from wasm, ~3 µs in Node) per
/// 16 signatures instead of one per signature. Every byte comes from the OS
/// CSPRNG, is handed out once and is zeroized as it is handed out; each thread
/// has its own pool.
struct MaskRng;

const MASK_POOL: usize = 512;

struct MaskPool {
    bytes: Zeroizing<[u8; MASK_POOL]>,
    next: usize,
}

std::thread_local! {
    static MASKS: std::cell::RefCell<MaskPool> = std::cell::RefCell::new(MaskPool {
        bytes: Zeroizing::new([0; MASK_POOL]),
        next: MASK_POOL,
    });
}

impl RngCore for MaskRng {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }

    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        MASKS.with(|pool| {
            let mut pool = pool.borrow_mut();
            for chunk in dest.chunks_mut(MASK_POOL) {
                if pool.next + chunk.len() > MASK_POOL {
                    OsRng.fill_bytes(&mut pool.bytes[..]);
                    pool.next = 0;
                }
                let (from, to) = (pool.next, pool.next + chunk.len());
                chunk.copy_from_slice(&pool.bytes[from..to]);
                pool.bytes[from..to].zeroize();
                pool.next = to;
            }
        });
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> std::result::Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for MaskRng {}

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
    // r is public (it is in the signature): the variable-time inversion is safe.
    let r_inv: Scalar = *r.invert_vartime();
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn mask_bytes_are_handed_out_once_and_wiped_from_the_pool() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        MaskRng.fill_bytes(&mut a);
        MaskRng.fill_bytes(&mut b);
        assert_ne!(a, b, "two masks are two different draws");
        assert_ne!(a, [0; 32]);
        MASKS.with(|p| {
            let p = p.borrow();
            assert!(
                p.bytes[..p.next].iter().all(|&x| x == 0),
                "used bytes stay in the pool"
            );
        });
        // Longer than the pool, and across refills: still filled, never repeating the pool.
        let mut long = vec![0u8; 3 * MASK_POOL + 17];
        MaskRng.fill_bytes(&mut long);
        assert!(long.chunks(MASK_POOL).all(|c| c.iter().any(|&x| x != 0)));
        assert_ne!(long[..MASK_POOL], long[MASK_POOL..2 * MASK_POOL]);
    }
}
