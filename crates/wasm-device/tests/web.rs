//! The device module in a real browser service worker (headless Chromium via
//! wasm-bindgen-test-runner): the handshake's known-answer vector byte for
//! byte, and the state sealed under a non-extractable WebCrypto key.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use tandem_wasm_device::DeviceHost;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_service_worker);

/// `crates/pair/tests/vectors/handshake.json`, recomputed by the wasm build.
#[wasm_bindgen_test]
fn handshake_vector_matches_byte_for_byte() {
    let v: tandem_pair::kat::Vector =
        serde_json::from_str(include_str!("../../pair/tests/vectors/handshake.json")).unwrap();
    assert_eq!(tandem_pair::kat::run(&v.inputs), v.outputs);
}

async fn device_key() -> web_sys::CryptoKey {
    let crypto: web_sys::Crypto = js_sys::Reflect::get(&js_sys::global(), &"crypto".into())
        .unwrap()
        .unchecked_into();
    let alg = js_sys::Object::new();
    js_sys::Reflect::set(&alg, &"name".into(), &"AES-GCM".into()).unwrap();
    js_sys::Reflect::set(&alg, &"length".into(), &256.into()).unwrap();
    let usages = js_sys::Array::of2(&"encrypt".into(), &"decrypt".into());
    let p = crypto
        .subtle()
        .generate_key_with_object(&alg, false, &usages)
        .unwrap();
    wasm_bindgen_futures::JsFuture::from(p)
        .await
        .unwrap()
        .unchecked_into()
}

/// Opens a device host with the test's relay (nothing listens there).
async fn open(
    sealed: Option<String>,
    key: web_sys::CryptoKey,
    name: &str,
    persist: &Closure<dyn FnMut(String) -> js_sys::Promise>,
    emit: &Closure<dyn FnMut(String)>,
) -> Result<DeviceHost, JsValue> {
    DeviceHost::open(
        sealed,
        key,
        name.into(),
        "ws://127.0.0.1:9/v1/ws".into(),
        persist.as_ref().clone().unchecked_into(),
        emit.as_ref().clone().unchecked_into(),
    )
    .await
    .map_err(JsValue::from)
}

/// A new device is stored sealed: the sealed text names no secret, and the
/// same key opens it again to the same device; another key cannot.
#[wasm_bindgen_test]
async fn state_is_sealed_and_reopens() {
    let key = device_key().await;
    let stored = std::rc::Rc::new(std::cell::RefCell::new(None::<String>));
    let s2 = stored.clone();
    let persist = Closure::<dyn FnMut(String) -> js_sys::Promise>::new(move |sealed: String| {
        *s2.borrow_mut() = Some(sealed);
        js_sys::Promise::resolve(&JsValue::UNDEFINED)
    });
    let emit = Closure::<dyn FnMut(String)>::new(|_e: String| {});
    let host = open(None, key.clone(), "Chrome", &persist, &emit)
        .await
        .unwrap();
    let view: serde_json::Value = serde_json::from_str(&host.view()).unwrap();
    let sealed = stored
        .borrow()
        .clone()
        .expect("a new device is stored at once");
    let bytes = tandem_pair::wire::b64_decode("sealed", &sealed).unwrap();
    for word in [&b"identity"[..], b"group", b"members"] {
        assert!(
            !bytes.windows(word.len()).any(|w| w == word),
            "the sealed state is ciphertext"
        );
    }
    let again = open(Some(sealed.clone()), key, "ignored", &persist, &emit)
        .await
        .unwrap();
    let view2: serde_json::Value = serde_json::from_str(&again.view()).unwrap();
    assert_eq!(view["me"], view2["me"]);
    assert_eq!(view2["name"], "Chrome");
    let other = device_key().await;
    let err = open(Some(sealed), other, "x", &persist, &emit).await;
    assert!(err.is_err(), "another profile's key cannot open it");
}

/// A storage failure is reported with what the browser said (the name and
/// message of its `Error`, not a Debug dump: release modules format none).
#[wasm_bindgen_test]
async fn a_failed_write_is_reported_with_the_browsers_words() {
    let key = device_key().await;
    let persist = Closure::<dyn FnMut(String) -> js_sys::Promise>::new(|_sealed: String| {
        let e = js_sys::Error::new("the disk is full");
        e.set_name("QuotaExceededError");
        js_sys::Promise::reject(&e)
    });
    let events = std::rc::Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
    let e2 = events.clone();
    let emit = Closure::<dyn FnMut(String)>::new(move |e: String| e2.borrow_mut().push(e));
    open(None, key, "Chrome", &persist, &emit).await.unwrap();
    let failed: Vec<serde_json::Value> = events
        .borrow()
        .iter()
        .map(|e| serde_json::from_str::<serde_json::Value>(e).unwrap())
        .filter(|e| e["kind"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{:?}", events.borrow());
    assert_eq!(failed[0]["what"], "storing the device state");
    assert_eq!(failed[0]["error"], "QuotaExceededError: the disk is full");
}
