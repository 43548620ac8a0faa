//! The device state at rest: `{"identity": seed, "state": …}` sealed with
//! AES-256-GCM under a non-extractable `CryptoKey` the worker keeps in
//! IndexedDB. The key's bytes are never visible to JavaScript or to this
//! module: SubtleCrypto uses it. Sealed text = base64url(iv ‖ ciphertext).

use serde::{Deserialize, Serialize};
use tandem_device::State;
use tandem_pair::IdentityKey;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use zeroize::Zeroizing;

const AAD: &[u8] = b"tandem/device-state/v1";

#[derive(Serialize, Deserialize)]
struct Stored {
    identity: Zeroizing<String>,
    state: State,
}

fn subtle() -> Result<web_sys::SubtleCrypto, String> {
    let crypto = js_sys::Reflect::get(&js_sys::global(), &"crypto".into())
        .map_err(|_| "no WebCrypto here".to_owned())?;
    Ok(crypto.unchecked_into::<web_sys::Crypto>().subtle())
}

/// The associated data: what the sealed text is (the device state, or with
/// `SYNC` the sync state), so the two cannot be swapped for each other.
/// A constant per instance: the plain module seals only the device state.
const fn aad<const SYNC: bool>() -> &'static [u8] {
    if SYNC {
        b"tandem/sync-state/v1"
    } else {
        AAD
    }
}

fn params(iv: &[u8], aad: &[u8]) -> js_sys::Object {
    let p = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&p, &"name".into(), &"AES-GCM".into());
    let _ = js_sys::Reflect::set(&p, &"iv".into(), &js_sys::Uint8Array::from(iv));
    let _ = js_sys::Reflect::set(&p, &"additionalData".into(), &js_sys::Uint8Array::from(aad));
    p
}

/// The plaintext to seal (taken synchronously from the engine).
pub(crate) fn plaintext(identity: &IdentityKey, state: &State) -> Zeroizing<Vec<u8>> {
    let stored = Stored {
        identity: Zeroizing::new(tandem_pair::wire::b64_encode(identity.to_seed().as_slice())),
        state: state.clone(),
    };
    Zeroizing::new(serde_json::to_vec(&stored).expect("state serializes"))
}

/// Seals `plain` under `key` (see [`aad`]).
pub(crate) async fn encrypt<const SYNC: bool>(
    key: &web_sys::CryptoKey,
    plain: Zeroizing<Vec<u8>>,
) -> Result<String, String> {
    let aad = aad::<SYNC>();
    let mut iv = [0u8; 12];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut iv);
    let mut data = plain.to_vec();
    let promise = subtle()?
        .encrypt_with_object_and_u8_array(&params(&iv, aad), key, &data)
        .map_err(|e| format!("sealing the device state: {}", crate::js_error_text(&e)))?;
    zeroize::Zeroize::zeroize(&mut data);
    let ct = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|e| format!("sealing the device state: {}", crate::js_error_text(&e)))?;
    let ct = js_sys::Uint8Array::new(&ct).to_vec();
    let mut out = iv.to_vec();
    out.extend_from_slice(&ct);
    Ok(tandem_pair::wire::b64_encode(&out))
}

/// Opens what [`encrypt`] sealed.
pub(crate) async fn decrypt<const SYNC: bool>(
    key: &web_sys::CryptoKey,
    sealed: &str,
) -> Result<Zeroizing<Vec<u8>>, JsError> {
    let aad = aad::<SYNC>();
    let bytes = tandem_pair::wire::b64_decode("sealed device state", sealed)
        .map_err(|e| JsError::new(&e.to_string()))?;
    if bytes.len() < 12 + 16 {
        return Err(JsError::new(
            "the stored device state is damaged (too short)",
        ));
    }
    let (iv, ct) = bytes.split_at(12);
    let promise = subtle()
        .map_err(|e| JsError::new(&e))?
        .decrypt_with_object_and_u8_array(&params(iv, aad), key, ct)
        .map_err(|_| JsError::new("opening the device state failed"))?;
    let plain = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|_| {
            JsError::new("the stored device state cannot be opened with this browser's device key (damaged or from another profile)")
        })?;
    Ok(Zeroizing::new(js_sys::Uint8Array::new(&plain).to_vec()))
}

/// The device state in what [`decrypt`] opened.
pub(crate) fn open(plain: &[u8]) -> Result<(IdentityKey, State), JsError> {
    let stored: Stored = tandem_pair::wire::json_from_bytes(plain)
        .map_err(|e| JsError::new(&format!("the stored device state is unreadable: {e}")))?;
    let seed = tandem_pair::wire::b64_decode("identity", &stored.identity)
        .map_err(|e| JsError::new(&e.to_string()))?;
    let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
        seed.as_slice()
            .try_into()
            .map_err(|_| JsError::new("the stored identity key is damaged"))?,
    );
    Ok((IdentityKey::from_seed(&seed), stored.state))
}
