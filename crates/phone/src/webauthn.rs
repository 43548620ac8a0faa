//! The page's side of fingerprint or face unlock: `navigator.credentials`
//! with the PRF extension, and nothing else. Bytes in, bytes out; what
//! they mean is decided in `biometric` and `prf`.
//!
//! The options are plain objects (the WebAuthn dictionaries of web-sys
//! have no `prf` member yet). The PRF output is copied into zeroizing
//! memory and the browser's copy is overwritten with zeros at once.

use crate::biometric::{Created, WebAuthnError};
use crate::prf::{PrfOutput, PRF_LEN};
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

/// How long the browser waits for the fingerprint or face (ms).
const TIMEOUT_MS: u32 = 60_000;

fn obj(fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in fields {
        let _ = Reflect::set(&o, &(*k).into(), v);
    }
    o.into()
}

fn bytes(b: &[u8]) -> JsValue {
    Uint8Array::from(b).into()
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// `{prf: {eval: {first: salt}}}`
fn prf_eval(salt: &[u8; PRF_LEN]) -> JsValue {
    obj(&[("prf", obj(&[("eval", obj(&[("first", bytes(salt))]))]))])
}

fn container() -> Result<web_sys::CredentialsContainer, WebAuthnError> {
    web_sys::window()
        .map(|w| w.navigator().credentials())
        .ok_or_else(|| ("NotSupportedError".into(), "no window".into()))
}

fn failed(e: JsValue) -> WebAuthnError {
    crate::app::dom_error(&e)
}

/// The credential's `getClientExtensionResults().prf` (undefined if none).
fn prf_results(credential: &JsValue) -> JsValue {
    let results = Reflect::get(credential, &"getClientExtensionResults".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call0(credential).ok())
        .unwrap_or(JsValue::UNDEFINED);
    get(&results, "prf")
}

/// `prf.results.first`, copied out and wiped in the page.
fn first(prf: &JsValue) -> Result<Option<PrfOutput>, WebAuthnError> {
    let first = get(&get(prf, "results"), "first");
    if first.is_undefined() || first.is_null() {
        return Ok(None);
    }
    let view = Uint8Array::new(&first);
    let len = view.length() as usize;
    if len != PRF_LEN {
        view.fill(0, 0, view.length());
        return Err((
            "DataError".into(),
            crate::prf::Error::PrfLength(len).to_string(),
        ));
    }
    let mut out = Zeroizing::new([0u8; PRF_LEN]);
    view.copy_to(out.as_mut_slice());
    view.fill(0, 0, view.length());
    Ok(Some(PrfOutput::new(out)))
}

/// `navigator.credentials.create` for a platform credential that needs
/// user verification, with the PRF extension evaluated at `salt`.
pub(crate) async fn create(
    user_id: &[u8; 16],
    challenge: &[u8; 32],
    salt: &[u8; PRF_LEN],
) -> Result<Created, WebAuthnError> {
    let params = Array::of2(
        &obj(&[("type", "public-key".into()), ("alg", (-7).into())]),
        &obj(&[("type", "public-key".into()), ("alg", (-257).into())]),
    );
    let public_key = obj(&[
        ("rp", obj(&[("name", "Tandem".into())])),
        (
            "user",
            obj(&[
                ("id", bytes(user_id)),
                ("name", "Tandem wallet".into()),
                ("displayName", "Tandem wallet on this phone".into()),
            ]),
        ),
        ("challenge", bytes(challenge)),
        ("pubKeyCredParams", params.into()),
        (
            "authenticatorSelection",
            obj(&[
                ("authenticatorAttachment", "platform".into()),
                ("userVerification", "required".into()),
                ("residentKey", "discouraged".into()),
            ]),
        ),
        ("timeout", TIMEOUT_MS.into()),
        ("attestation", "none".into()),
        ("extensions", prf_eval(salt)),
    ]);
    let options: web_sys::CredentialCreationOptions =
        obj(&[("publicKey", public_key)]).unchecked_into();
    let promise = container()?.create_with_options(&options).map_err(failed)?;
    let credential = JsFuture::from(promise).await.map_err(failed)?;
    let raw = get(&credential, "rawId");
    if raw.is_undefined() {
        return Err(("NotSupportedError".into(), "no credential was made".into()));
    }
    let prf = prf_results(&credential);
    Ok(Created {
        credential_id: Uint8Array::new(&raw).to_vec(),
        prf_enabled: get(&prf, "enabled").as_bool(),
        first: first(&prf)?,
    })
}

/// `navigator.credentials.get` for `credential_id` with user
/// verification and the PRF extension at `salt`: the PRF output, or `None`
/// when the authenticator gave none.
pub(crate) async fn prf(
    credential_id: &[u8],
    challenge: &[u8; 32],
    salt: &[u8; PRF_LEN],
) -> Result<Option<PrfOutput>, WebAuthnError> {
    let allow = Array::of1(&obj(&[
        ("type", "public-key".into()),
        ("id", bytes(credential_id)),
    ]));
    let public_key = obj(&[
        ("challenge", bytes(challenge)),
        ("allowCredentials", allow.into()),
        ("userVerification", "required".into()),
        ("timeout", TIMEOUT_MS.into()),
        ("extensions", prf_eval(salt)),
    ]);
    let options: web_sys::CredentialRequestOptions =
        obj(&[("publicKey", public_key)]).unchecked_into();
    let promise = container()?.get_with_options(&options).map_err(failed)?;
    let credential = JsFuture::from(promise).await.map_err(failed)?;
    if credential.is_null() || credential.is_undefined() {
        return Err(("NotAllowedError".into(), "no credential".into()));
    }
    first(&prf_results(&credential))
}

/// Whether this browser has WebAuthn at all.
pub(crate) fn available() -> bool {
    web_sys::window()
        .map(|w| Reflect::has(&w, &"PublicKeyCredential".into()).unwrap_or(false))
        .unwrap_or(false)
}
