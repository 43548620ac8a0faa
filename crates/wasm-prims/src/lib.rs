//! Stateless primitives for the benchmarks (`scripts/bench-core.mjs`) and the
//! Node differential tests (`tests/node/`). They operate only on what the
//! caller passes in. This is a module of its own, built next to the core
//! (`scripts/build`, into `tests/node/wasm/`) and never shipped: the
//! extension's core exports only what the extension calls, and these exports
//! took raw private keys (10.8 KB of the core module, gzipped, measured).
//! The code they run is the core's own (`tandem-eth`, `tandem-keys`, the
//! same RustCrypto crates), built with the same profile.
#![allow(unreachable_pub)]

use alloy_primitives::{keccak256, B256};
use chacha20poly1305::{
    aead::{Aead, KeyInit},
    XChaCha20Poly1305, XNonce,
};
use k256::ecdsa::{Signature, SigningKey, VerifyingKey};
use tandem_keys::{bip32::ExtendedKey, Mnemonic};
use wasm_bindgen::prelude::wasm_bindgen;
use zeroize::Zeroizing;

use wasm_bindgen::JsValue;

/// An error as the core reports them: a JS `Error` whose `name` is the kind.
#[derive(Debug)]
pub struct Error {
    /// Stable kind, e.g. `InvalidInput` (the JS error's `name`).
    pub kind: &'static str,
    /// What was wrong.
    pub message: String,
}

impl Error {
    fn invalid(message: impl Into<String>) -> Self {
        Self {
            kind: "InvalidInput",
            message: message.into(),
        }
    }
}

/// A core crate's error, with its stable kind.
trait Kind: core::fmt::Display {
    fn kind(&self) -> &'static str;
}

impl Kind for tandem_keys::Error {
    fn kind(&self) -> &'static str {
        tandem_keys::Error::kind(self)
    }
}

impl Kind for tandem_eth::Error {
    fn kind(&self) -> &'static str {
        tandem_eth::Error::kind(self)
    }
}

impl<K: Kind> From<K> for Error {
    fn from(e: K) -> Self {
        Self {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

impl From<Error> for JsValue {
    fn from(e: Error) -> Self {
        let js = js_sys::Error::new(&e.message);
        js.set_name(e.kind);
        js.into()
    }
}

/// What the primitives return.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// NFKD, as the core applies it to passphrases (the browser's, in wasm).
fn nfkd(s: &str) -> Zeroizing<String> {
    #[cfg(target_arch = "wasm32")]
    {
        Zeroizing::new(js_sys::JsString::from(s).normalize("NFKD").into())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        Zeroizing::new(s.to_owned())
    }
}

fn signing_key(sk: &[u8]) -> Result<SigningKey> {
    SigningKey::from_slice(sk).map_err(|_| Error::invalid("a private key is 32 bytes in range"))
}

fn hash32(h: &[u8]) -> Result<B256> {
    B256::try_from(h).map_err(|_| Error::invalid("a hash is 32 bytes"))
}

/// keccak-256.
#[wasm_bindgen(js_name = primKeccak256)]
pub fn prim_keccak256(data: &[u8]) -> Vec<u8> {
    keccak256(data).to_vec()
}

/// Compressed (33-byte) public key of a private key.
#[wasm_bindgen(js_name = primGetPublicKey)]
pub fn prim_get_public_key(sk: &[u8]) -> Result<Vec<u8>> {
    Ok(signing_key(sk)?
        .verifying_key()
        .to_encoded_point(true)
        .as_bytes()
        .to_vec())
}

/// RFC 6979 low-s signature over a 32-byte hash: `r || s || recid` (65 bytes).
///
/// The same signer the keyring uses ([`tandem_eth::signature::sign_prehash`]),
/// given the raw scalar.
#[wasm_bindgen(js_name = primSign)]
pub fn prim_sign(sk: &[u8], hash: &[u8]) -> Result<Vec<u8>> {
    let scalar = Zeroizing::new(
        k256::NonZeroScalar::try_from(sk)
            .map_err(|_| Error::invalid("a private key is 32 bytes in range"))?,
    );
    let (sig, recid) = tandem_eth::signature::sign_prehash(&scalar, &hash32(hash)?);
    let mut out = sig.to_bytes().to_vec();
    out.push(recid.to_byte());
    Ok(out)
}

/// Verifies a 64-byte `r || s` signature against a compressed or uncompressed key.
#[wasm_bindgen(js_name = primVerify)]
pub fn prim_verify(sig: &[u8], hash: &[u8], public_key: &[u8]) -> Result<bool> {
    use k256::ecdsa::signature::hazmat::PrehashVerifier;
    let vk = VerifyingKey::from_sec1_bytes(public_key)
        .map_err(|_| Error::invalid("not a secp256k1 public key"))?;
    let sig = Signature::from_slice(sig.get(..64).unwrap_or(sig))
        .map_err(|_| Error::invalid("a signature is 64 bytes r || s"))?;
    Ok(vk.verify_prehash(hash32(hash)?.as_slice(), &sig).is_ok())
}

/// Recovers the compressed public key from `r || s || recid` over a hash.
#[wasm_bindgen(js_name = primRecover)]
pub fn prim_recover(sig: &[u8], hash: &[u8]) -> Result<Vec<u8>> {
    if sig.len() != 65 {
        return Err(Error::invalid("a recoverable signature is 65 bytes"));
    }
    let s = tandem_eth::signature::parse_rsv(sig)?;
    let vk = tandem_eth::signature::recover_key(&hash32(hash)?, &s)?;
    Ok(vk.to_encoded_point(true).as_bytes().to_vec())
}

/// BIP-39 phrase to 64-byte seed.
#[wasm_bindgen(js_name = primMnemonicToSeed)]
pub fn prim_mnemonic_to_seed(phrase: &str, passphrase: &str) -> Result<Vec<u8>> {
    Ok(Mnemonic::parse(phrase)?
        .to_seed(&nfkd(passphrase))
        .as_bytes()
        .to_vec())
}

/// BIP-32: derives `path` from a seed; returns the compressed public key there.
#[wasm_bindgen(js_name = primBip32DerivePublic)]
pub fn prim_bip32_derive_public(seed: &[u8], path: &str) -> Result<Vec<u8>> {
    let key = ExtendedKey::master(seed)?.derive_path(path)?.private_key();
    Ok(key
        .verifying_key()
        .to_encoded_point(true)
        .as_bytes()
        .to_vec())
}

/// XChaCha20-Poly1305 seal: 32-byte key, 24-byte nonce; returns ciphertext || tag.
#[wasm_bindgen(js_name = primXChaChaSeal)]
pub fn prim_xchacha_seal(key: &[u8], nonce: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    cipher(key)?
        .encrypt(&xnonce(nonce)?, plaintext)
        .map_err(|_| Error::invalid("cannot encrypt"))
}

/// XChaCha20-Poly1305 open; throws on a wrong key or modified data.
#[wasm_bindgen(js_name = primXChaChaOpen)]
pub fn prim_xchacha_open(key: &[u8], nonce: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>> {
    cipher(key)?
        .decrypt(&xnonce(nonce)?, ciphertext)
        .map_err(|_| Error {
            kind: "Tampered",
            message: "authentication failed".into(),
        })
}

fn cipher(key: &[u8]) -> Result<XChaCha20Poly1305> {
    let k =
        Zeroizing::new(<[u8; 32]>::try_from(key).map_err(|_| Error::invalid("a key is 32 bytes"))?);
    Ok(XChaCha20Poly1305::new(&(*k).into()))
}

fn xnonce(nonce: &[u8]) -> Result<XNonce> {
    let n = <[u8; 24]>::try_from(nonce).map_err(|_| Error::invalid("a nonce is 24 bytes"))?;
    Ok(XNonce::from(n))
}

/// A snapshot (the blob's plaintext, JSON) of the address book with `n`
/// records, written on one device: what another device merges.
#[wasm_bindgen(js_name = primSyncSnapshot)]
pub fn prim_sync_snapshot(n: u32) -> Result<Vec<u8>> {
    use tandem_sync::{Category, Contact, Field, Replica, Value};
    let mut r = Replica::new(tandem_pair::DeviceId([1; 16]));
    let bad = |e: tandem_sync::Error| Error::invalid(e.to_string());
    r.edit(
        Field::Enabled {
            category: Category::AddressBook,
        },
        Some(Value::Enabled(true)),
        1,
    )
    .map_err(bad)?;
    for i in 0..n {
        let id = format!("0x{:040x}", u64::from(i) + 1);
        let v = Value::Contact(Contact {
            name: format!("Contact {i}"),
            note: String::new(),
        });
        r.edit(
            Field::record(Category::AddressBook, id),
            Some(v),
            2 + u64::from(i),
        )
        .map_err(bad)?;
    }
    serde_json::to_vec(&r.snapshot(Category::AddressBook))
        .map_err(|e| Error::invalid(e.to_string()))
}

/// The largest page (bytes of JSON) of a snapshot of `n` records spread
/// over the relay's blobs as the sync spreads them.
#[wasm_bindgen(js_name = primSyncLargestPage)]
pub fn prim_sync_largest_page(n: u32) -> Result<u32> {
    let full: tandem_sync::Snapshot = serde_json::from_slice(&prim_sync_snapshot(n)?)
        .map_err(|e| Error::invalid(e.to_string()))?;
    let mut largest = 0;
    for p in 0..tandem_sync::PAGES {
        let page = tandem_sync::Snapshot {
            category: full.category,
            ops: full
                .ops
                .iter()
                .filter(|op| tandem_sync::page_of(&op.field) == p)
                .cloned()
                .collect(),
        };
        let len = serde_json::to_vec(&page)
            .map_err(|e| Error::invalid(e.to_string()))?
            .len();
        largest = largest.max(len as u32);
    }
    Ok(largest)
}

/// Merges a snapshot into a new device's copy (parse, check, merge);
/// returns how many records it then holds.
#[wasm_bindgen(js_name = primSyncAbsorb)]
pub fn prim_sync_absorb(snapshot: &[u8]) -> Result<u32> {
    use tandem_sync::{Category, Replica, Snapshot};
    let snap: Snapshot =
        serde_json::from_slice(snapshot).map_err(|e| Error::invalid(e.to_string()))?;
    let mut r = Replica::new(tandem_pair::DeviceId([2; 16]));
    r.absorb(snap, u64::MAX / 2)
        .map_err(|e| Error::invalid(e.to_string()))?;
    Ok(r.records(Category::AddressBook).count() as u32)
}

/// Seals `plaintext` as a group blob (XChaCha20-Poly1305 under the group
/// key, signed by the writer) for a group of one made here; returns the
/// sealed length.
#[wasm_bindgen(js_name = primSyncSeal)]
pub fn prim_sync_seal(plaintext: &[u8]) -> Result<u32> {
    let mut rng = rand_core::OsRng;
    let me = tandem_pair::IdentityKey::generate(&mut rng);
    let group = tandem_pair::Group::found(&me, "bench", "ws://127.0.0.1:1/v1/ws", 1, &mut rng)
        .map_err(|e| Error::invalid(e.to_string()))?;
    group
        .seal_blob(&me, "sync/address_book", plaintext, &mut rng)
        .map(|b| b.len() as u32)
        .map_err(|e| Error::invalid(e.to_string()))
}
