//! The phone app in the page: renders the model, turns taps into
//! [`Phone::act`], hosts the device engine (`tandem-wasm-device`, the
//! extension worker's shell, here in a window) and the camera. Every
//! decision is in `model`; this file carries out its effects in order.
//!
//! Storage: `localStorage["tandem.phone.vault"]` holds the wallet's vault
//! (Argon2id + XChaCha20-Poly1305 under the user's password, the
//! extension's format); `localStorage["tandem.phone.device"]` holds the
//! sealed device state (AES-GCM under a non-extractable key that
//! `phone/boot.js` keeps in IndexedDB); `localStorage["tandem.phone.biometric"]`
//! holds the fingerprint-unlock record while it is on (`prf.rs`: the vault
//! key sealed under a WebAuthn PRF-derived key); besides these, only
//! settings and markers with nothing secret (`activity`, `restore`,
//! `confirm`: the Activity flag, the restore marker, the events waiting for
//! the log, the policy and shared accounts). Passwords
//! and phrases pass through here only as field values handed to the model.

use crate::model::{Effect, Phone, Screen};
use crate::scan::scan_frame;
use crate::screens;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use tandem_device::DevicesView;
use tandem_ui::dom;
use tandem_ui::pairing::DeviceEvent;
use tandem_wasm_device::DeviceHost;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{
    CanvasRenderingContext2d, Document, Element, HtmlCanvasElement, HtmlVideoElement, MediaStream,
};

/// Where the sealed device state is kept.
const STATE_KEY: &str = "tandem.phone.device";
/// Where the wallet's vault is kept (already encrypted).
const VAULT_KEY: &str = "tandem.phone.vault";
/// How long the busy page shows before slow work blocks the thread (ms).
const PAINT_MS: i32 = 30;
/// How often a camera frame is read (ms).
const FRAME_MS: i32 = 150;
/// Frames are scaled down to at most this width before decoding.
const FRAME_MAX_W: u32 = 800;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setInterval)]
    fn set_interval(f: &js_sys::Function, ms: i32) -> i32;
    #[wasm_bindgen(js_name = clearInterval)]
    fn clear_interval(id: i32);
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(f: &js_sys::Function, ms: i32) -> i32;
}

pub(crate) struct App {
    pub(crate) phone: RefCell<Phone>,
    pub(crate) host: RefCell<Option<Rc<DeviceHost>>>,
    key: web_sys::CryptoKey,
    pub(crate) doc: Document,
    pub(crate) root: Element,
    video: HtmlVideoElement,
    canvas: HtmlCanvasElement,
    stream: RefCell<Option<MediaStream>>,
    frames: Cell<Option<i32>>,
    /// A frame of this camera session was read (for the first-frame mark).
    frame_seen: Cell<bool>,
    /// Events from the engine, handled after the call that raised them.
    events: RefCell<Vec<String>>,
    /// The browser's `BarcodeDetector` for QR codes, where it has one.
    detector: RefCell<Option<JsValue>>,
    /// A `detect()` call runs (frames wait for it).
    detecting: Cell<bool>,
    /// The Activity log (the sync module).
    #[cfg(feature = "sync")]
    pub(crate) sync: crate::app_sync::Slot,
}

thread_local! {
    static APP: RefCell<Option<Rc<App>>> = const { RefCell::new(None) };
}

fn app() -> Option<Rc<App>> {
    APP.with(|a| a.borrow().clone())
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// A performance mark (scripts/bench-phone reads them).
fn mark(name: &str) {
    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
        let _ = p.mark(name);
    }
}

pub(crate) fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

pub(crate) fn js_message(v: &JsValue) -> String {
    v.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| v.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

/// The relay that serves this app: the same host, `wss://` under https.
pub(crate) fn own_relay(loc: &web_sys::Location) -> String {
    let scheme = if loc.protocol().ok().as_deref() == Some("https:") {
        "wss"
    } else {
        "ws"
    };
    format!("{scheme}://{}/v1/ws", loc.host().unwrap_or_default())
}

/// The pairing link this app was opened with (`/app/#tandem:pair?…`).
fn link_in_address(loc: &web_sys::Location) -> Option<String> {
    let hash = loc.hash().ok()?;
    let frag = hash.strip_prefix('#')?;
    let frag = js_sys::decode_uri_component(frag)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| frag.to_owned());
    frag.starts_with("tandem:pair?").then_some(frag)
}

/// Starts the app in `#app`. `key` seals the device state (made once by
/// `phone/boot.js`, never extractable).
#[wasm_bindgen]
pub async fn start(key: web_sys::CryptoKey) -> Result<(), JsError> {
    let window = web_sys::window().ok_or_else(|| JsError::new("no window"))?;
    let doc = window
        .document()
        .ok_or_else(|| JsError::new("no document"))?;
    let root = doc
        .get_element_by_id("app")
        .ok_or_else(|| JsError::new("the page has no #app"))?;
    let loc = window.location();
    let sealed = storage().and_then(|s| s.get_item(STATE_KEY).ok().flatten());
    let vault = storage().and_then(|s| s.get_item(VAULT_KEY).ok().flatten());
    // The device engine waits for the unlock (Effect::OpenDevice).
    let mut phone = Phone::new(
        vault,
        sealed.is_some(),
        link_in_address(&loc),
        now_ms(),
        window.is_secure_context(),
    );
    phone.utc_offset_min = -(js_sys::Date::new_0().get_timezone_offset() as i32);
    phone.load_policy(
        storage()
            .and_then(|s| s.get_item(crate::confirm::POLICY_KEY).ok().flatten())
            .as_deref(),
    );
    phone.load_shared(
        storage()
            .and_then(|s| s.get_item(crate::confirm::SHARED_KEY).ok().flatten())
            .as_deref(),
    );
    phone.webauthn = crate::webauthn::available();
    phone.activity = cfg!(feature = "sync");
    phone.restore_pending(
        storage()
            .and_then(|s| s.get_item(crate::restore::MARKER_KEY).ok().flatten())
            .is_some(),
    );
    let stale = phone.load_biometric(
        storage()
            .and_then(|s| s.get_item(crate::prf::RECORD_KEY).ok().flatten())
            .as_deref(),
    );
    let video: HtmlVideoElement = doc
        .create_element("video")
        .map_err(|_| JsError::new("no video element"))?
        .unchecked_into();
    video.set_muted(true);
    let _ = video.set_attribute("playsinline", "");
    let _ = video.set_attribute("aria-label", "Camera");
    let _ = video.set_attribute("data-testid", "scan-video");
    let canvas: HtmlCanvasElement = doc
        .create_element("canvas")
        .map_err(|_| JsError::new("no canvas element"))?
        .unchecked_into();
    let a = Rc::new(App {
        phone: RefCell::new(phone),
        host: RefCell::new(None),
        key,
        doc,
        root,
        video,
        canvas,
        stream: RefCell::new(None),
        frames: Cell::new(None),
        frame_seen: Cell::new(false),
        events: RefCell::new(Vec::new()),
        detector: RefCell::new(None),
        detecting: Cell::new(false),
        #[cfg(feature = "sync")]
        sync: crate::app_sync::Slot::default(),
    });
    APP.with(|s| *s.borrow_mut() = Some(Rc::clone(&a)));
    listen(&a);
    render(&a, false);
    run(&a, stale);
    spawn_local(async move {
        if let Some(a) = app() {
            *a.detector.borrow_mut() = native_detector().await;
        }
    });
    ask_persistent_storage();
    let tick = Closure::<dyn FnMut()>::new(on_tick);
    set_interval(tick.as_ref().unchecked_ref(), 1000);
    tick.forget();
    Ok(())
}

/// Asks the browser to keep this app's data under storage pressure; the
/// model tells the user when it would not.
fn ask_persistent_storage() {
    let Some(promise) = web_sys::window().and_then(|w| w.navigator().storage().persist().ok())
    else {
        return;
    };
    spawn_local(async move {
        let persisted = JsFuture::from(promise)
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if let Some(a) = app() {
            a.phone.borrow_mut().on_storage(persisted);
            render(&a, true);
        }
    });
}

thread_local! {
    /// Whether the renders held back by a press all kept what was typed.
    static HELD_KEEP: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

/// A render held back by a press (`dom::held`), done once it ended.
fn render_held() {
    let keep = HELD_KEEP.with(|k| k.replace(true));
    if let Some(a) = app() {
        render(&a, keep);
    }
}

pub(crate) fn render(a: &App, keep_typed: bool) {
    if dom::held(&a.root, render_held) {
        HELD_KEEP.with(|k| k.set(k.get() && keep_typed));
        return;
    }
    let node = screens::view(&a.phone.borrow());
    dom::render(&a.doc, &a.root, &node, keep_typed);
    // The one <video> lives across renders: it moves into the Scan
    // screen's slot (a moved video pauses, so it plays again).
    if let Ok(Some(slot)) = a.root.query_selector("[data-testid=\"scan-video-slot\"]") {
        let _ = slot.append_child(&a.video);
        let _ = a.video.play();
    }
}

fn listen(a: &Rc<App>) {
    let on_click = Closure::<dyn FnMut(web_sys::Event)>::new(|e: web_sys::Event| {
        let Some(t) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        let Ok(Some(el)) = t.closest("[data-action]") else {
            return;
        };
        if el.tag_name().eq_ignore_ascii_case("form") {
            return; // forms act on submit
        }
        let action = el.get_attribute("data-action").unwrap_or_default();
        let arg = el.get_attribute("data-arg").unwrap_or_default();
        act(&action, &arg);
    });
    let on_submit = Closure::<dyn FnMut(web_sys::Event)>::new(|e: web_sys::Event| {
        e.prevent_default();
        let Some(form) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        let action = form.get_attribute("data-action").unwrap_or_default();
        act(&action, "");
    });
    // A filter of the Activity screen changed (`data-change`: the
    // extension's views).
    #[cfg(feature = "sync")]
    {
        let on_change = Closure::<dyn FnMut(web_sys::Event)>::new(|e: web_sys::Event| {
            let Some(t) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
                return;
            };
            let (Some(action), Some(a)) = (t.get_attribute("data-change"), app()) else {
                return;
            };
            let value = t
                .get_attribute("data-testid")
                .map(|id| dom::field(&a.root, &id))
                .unwrap_or_default();
            act(&action, &value);
        });
        let _ = a
            .root
            .add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
        on_change.forget();
    }
    // Typing counts as use (taps go through `act`): the idle lock waits.
    let on_key = Closure::<dyn FnMut(web_sys::Event)>::new(|_: web_sys::Event| {
        if let Some(a) = app() {
            a.phone.borrow_mut().touch(now_ms());
        }
    });
    // What the service worker says about updates (phone/sw.js).
    let on_sw = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(|e: web_sys::MessageEvent| {
        let data = e.data();
        let field = |k: &str| {
            js_sys::Reflect::get(&data, &k.into())
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default()
        };
        if let Some(a) = app() {
            a.phone
                .borrow_mut()
                .on_update(&field("kind"), &field("reason"));
            render(&a, true);
        }
    });
    if let Some(w) = web_sys::window() {
        let _ = w
            .navigator()
            .service_worker()
            .add_event_listener_with_callback("message", on_sw.as_ref().unchecked_ref());
    }
    on_sw.forget();
    let _ = a
        .root
        .add_event_listener_with_callback("keydown", on_key.as_ref().unchecked_ref());
    on_key.forget();
    let _ = a
        .root
        .add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
    let _ = a
        .root
        .add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref());
    on_click.forget();
    on_submit.forget();
    dom::hold_renders_during_presses(&a.doc);
}

/// A tap: the model decides, then its effects run in order.
fn act(action: &str, arg: &str) {
    let Some(a) = app() else { return };
    let root = a.root.clone();
    a.phone.borrow_mut().now_ms = now_ms();
    let before = a.phone.borrow().screen;
    let effects = a.phone.borrow_mut().act(
        action,
        arg,
        &|id| dom::field(&root, id),
        &|name| dom::checked_radio(&root, name),
        &|name| dom::checkbox(&root, name),
    );
    // A refused phrase or word stays in its field, to be corrected.
    let corrected =
        a.phone.borrow().screen == before && matches!(action, "confirm-words" | "import-submit");
    let same_screen = corrected
        || matches!(action, "revoke" | "revoke-cancel")
        || action.starts_with("audit-")
        || action.starts_with("sync-") && action != "sync-open";
    render(&a, same_screen);
    run(&a, effects);
}

pub(crate) fn run(a: &Rc<App>, effects: Vec<Effect>) {
    for e in effects {
        match e {
            Effect::Setup { name } => {
                let a = Rc::clone(a);
                spawn_local(async move { open_host(&a, None, name).await });
            }
            Effect::Command(c) => command(a, &c),
            Effect::StartCamera => {
                let a = Rc::clone(a);
                spawn_local(async move { start_camera(&a).await });
            }
            Effect::StopCamera => stop_camera(a),
            Effect::Work => {
                // Argon2id blocks the thread for a while: let the busy page
                // paint first.
                let a = Rc::clone(a);
                let later = Closure::once_into_js(move || {
                    let effects = a.phone.borrow_mut().work(&mut rand_core::OsRng);
                    render(&a, false);
                    run(&a, effects);
                });
                set_timeout(later.unchecked_ref(), PAINT_MS);
            }
            Effect::SaveVault(json) => {
                if storage()
                    .map(|s| s.set_item(VAULT_KEY, &json))
                    .and_then(Result::ok)
                    .is_none()
                {
                    a.phone.borrow_mut().error = Some(
                        "This browser did not store the wallet: it will be gone after a \
                         reload. Free some space or leave private browsing, then set it up again."
                            .into(),
                    );
                    render(a, true);
                }
            }
            Effect::OpenDevice => {
                let sealed = storage().and_then(|s| s.get_item(STATE_KEY).ok().flatten());
                let a = Rc::clone(a);
                spawn_local(async move { open_host(&a, sealed, String::new()).await });
            }
            Effect::CreateCredential {
                user_id,
                challenge,
                salt,
            } => {
                let a = Rc::clone(a);
                spawn_local(async move {
                    let r = crate::webauthn::create(&user_id, &challenge, &salt).await;
                    let effects = a.phone.borrow_mut().on_created(&mut rand_core::OsRng, r);
                    render(&a, false);
                    run(&a, effects);
                });
            }
            Effect::GetPrf {
                credential_id,
                challenge,
                salt,
            } => {
                let a = Rc::clone(a);
                spawn_local(async move {
                    let r = crate::webauthn::prf(&credential_id, &challenge, &salt).await;
                    let effects = a.phone.borrow_mut().on_prf(&mut rand_core::OsRng, r);
                    render(&a, false);
                    run(&a, effects);
                });
            }
            Effect::SaveBiometric(record) => {
                let saved = storage().and_then(|s| match &record {
                    Some(json) => s.set_item(crate::prf::RECORD_KEY, json).ok(),
                    None => s.remove_item(crate::prf::RECORD_KEY).ok(),
                });
                if saved.is_none() {
                    a.phone.borrow_mut().error = Some(
                        "This browser did not store the fingerprint or face unlock setting; \
                         unlock stays with your password."
                            .into(),
                    );
                    render(a, true);
                }
            }
            Effect::SavePolicy(json) => {
                if let Some(s) = storage() {
                    let _ = s.set_item(crate::confirm::POLICY_KEY, &json);
                }
            }
            Effect::SaveShared(json) => {
                if let Some(s) = storage() {
                    let _ = s.set_item(crate::confirm::SHARED_KEY, &json);
                }
            }
            Effect::Audit(h) => {
                #[cfg(feature = "sync")]
                crate::app_sync::record(a, h);
                #[cfg(not(feature = "sync"))]
                drop(h);
            }
            Effect::AuditExport(format) => {
                #[cfg(feature = "sync")]
                crate::app_sync::export(a, &format);
                #[cfg(not(feature = "sync"))]
                drop(format);
                render(a, true);
            }
            Effect::BackupLook(path) => {
                let a = Rc::clone(a);
                spawn_local(async move {
                    let (status, body) = http_get(&path).await;
                    a.phone.borrow_mut().on_backup_looked(status, &body);
                    render(&a, true);
                });
            }
            Effect::RestoreForget => {
                if let Some(s) = storage() {
                    let _ = s.remove_item(crate::restore::MARKER_KEY);
                }
            }
            Effect::BackupFind => {
                #[cfg(feature = "sync")]
                crate::app_sync::find_backup(a);
            }
            Effect::BackupRestore => {
                #[cfg(feature = "sync")]
                crate::app_sync::restore_backup(a);
            }
            Effect::BackupSkip => {
                #[cfg(feature = "sync")]
                crate::app_sync::skip_backup(a);
            }
            Effect::BackupKey => {
                #[cfg(feature = "sync")]
                crate::app_sync::backup_unlocked(a);
            }
            Effect::BackupSoon => {
                #[cfg(feature = "sync")]
                crate::app_sync::backup_soon(a);
            }
            Effect::Backup(action) => {
                #[cfg(feature = "sync")]
                crate::app_sync::backup_act(a, action);
                #[cfg(not(feature = "sync"))]
                let _ = action;
            }
            Effect::ActivityOn | Effect::RestoreOn => {
                // Restoring: the marker first, so the sync module reads the
                // backup once it is open (nothing secret in it).
                let marked = !matches!(e, Effect::RestoreOn)
                    || storage()
                        .map(|s| s.set_item(crate::restore::MARKER_KEY, "1"))
                        .and_then(Result::ok)
                        .is_some();
                let stored = storage()
                    .filter(|_| marked)
                    .map(|s| s.set_item(crate::activity::FLAG_KEY, "on"))
                    .and_then(Result::ok);
                match (stored, web_sys::window()) {
                    (Some(()), Some(w)) => {
                        let _ = w.location().reload();
                    }
                    _ => {
                        a.phone.borrow_mut().error = Some(
                            "This browser did not store the setting: the Activity log stays off."
                                .into(),
                        );
                        render(a, true);
                    }
                }
            }
            Effect::SyncEdit { edit, clear } => {
                #[cfg(feature = "sync")]
                crate::app_sync::edit(a, &edit, clear);
                #[cfg(not(feature = "sync"))]
                let _ = (edit, clear);
            }
            Effect::SyncDismiss => {
                #[cfg(feature = "sync")]
                crate::app_sync::dismiss(a);
            }
            Effect::ActivityOff { delete } => {
                #[cfg(feature = "sync")]
                crate::app_sync::turn_off(a, delete);
                #[cfg(not(feature = "sync"))]
                let _ = delete;
            }
            Effect::ClearLink => {
                if let Some(w) = web_sys::window() {
                    if let Ok(h) = w.history() {
                        let path = w.location().pathname().unwrap_or_default();
                        let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(&path));
                    }
                }
            }
        }
    }
}

fn command(a: &Rc<App>, c: &serde_json::Value) {
    let host = a.host.borrow().clone();
    let Some(host) = host else {
        a.phone
            .borrow_mut()
            .on_refused("This phone's device is not open yet.".into());
        render(a, true);
        return;
    };
    if let Err(e) = host.command(&c.to_string()) {
        a.phone
            .borrow_mut()
            .on_refused(js_message(&JsValue::from(e)));
        render(a, true);
    }
    drain(a);
}

/// The engine's `persist(sealed)`: stores the sealed text under `key`,
/// resolving once written.
pub(crate) fn persist_to(key: &'static str) -> js_sys::Function {
    Closure::<dyn FnMut(String) -> js_sys::Promise>::new(move |sealed: String| {
        match storage().map(|s| s.set_item(key, &sealed)) {
            Some(Ok(())) => js_sys::Promise::resolve(&JsValue::UNDEFINED),
            Some(Err(e)) => js_sys::Promise::reject(&e),
            None => js_sys::Promise::reject(&"this browser keeps no local storage".into()),
        }
    })
    .into_js_value()
    .unchecked_into::<js_sys::Function>()
}

/// `GET path` on the relay that serves the app, never from a cache: the
/// status (0: not sent) and the body.
pub(crate) async fn http_get(path: &str) -> (u16, String) {
    http("GET", path, None).await
}

/// `method url` (with a JSON `body`) on the relay that serves the app,
/// never from a cache: the status (0: not sent) and the body.
pub(crate) async fn http(method: &str, url: &str, body: Option<&str>) -> (u16, String) {
    let Some(w) = web_sys::window() else {
        return (0, String::new());
    };
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_cache(web_sys::RequestCache::NoStore);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(body));
        let headers = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&headers, &"content-type".into(), &"application/json".into());
        init.set_headers(&headers);
    }
    let Ok(res) = JsFuture::from(w.fetch_with_str_and_init(url, &init)).await else {
        return (0, String::new());
    };
    let res: web_sys::Response = res.unchecked_into();
    let text = match res.text() {
        Ok(p) => JsFuture::from(p)
            .await
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    (res.status(), text)
}

/// Opens this phone's device (or makes it, named `name`, on the relay that
/// serves the app), then lets the model go on.
async fn open_host(a: &Rc<App>, sealed: Option<String>, name: String) {
    let relay = web_sys::window()
        .map(|w| own_relay(&w.location()))
        .unwrap_or_default();
    let persist = persist_to(STATE_KEY);
    let emit = Closure::<dyn FnMut(String)>::new(|json: String| {
        if let Some(a) = app() {
            a.events.borrow_mut().push(json);
            // Handled after the engine call that raised it returns.
            spawn_local(async move { drain(&a) });
        }
    })
    .into_js_value()
    .unchecked_into::<js_sys::Function>();
    match DeviceHost::open(sealed, a.key.clone(), name, relay, persist, emit).await {
        Ok(host) => {
            *a.host.borrow_mut() = Some(Rc::new(host));
            #[cfg(feature = "sync")]
            crate::app_sync::attach(a).await;
            refresh_view(a);
            let mut effects = a.phone.borrow_mut().on_ready();
            // Requests that arrived before this page opened.
            effects.extend(read_inbox(a));
            render(a, false);
            run(a, effects);
        }
        Err(e) => {
            let msg = js_message(&JsValue::from(e));
            let mut p = a.phone.borrow_mut();
            p.busy = false;
            p.error = Some(format!("This phone's device could not be opened: {msg}"));
            drop(p);
            render(a, true);
        }
    }
}

fn refresh_view(a: &App) {
    let host = a.host.borrow().clone();
    if let Some(h) = host {
        if let Ok(v) = serde_json::from_str::<DevicesView>(&h.view()) {
            a.phone.borrow_mut().on_view(v);
        }
    }
    #[cfg(feature = "sync")]
    crate::app_sync::refresh(a);
}

/// Handles the engine's queued events, then shows the new device list.
fn drain(a: &Rc<App>) {
    let events: Vec<String> = std::mem::take(&mut *a.events.borrow_mut());
    if events.is_empty() {
        return;
    }
    let mut inbox = false;
    // The plain module keeps what belongs in the log for the sync module
    // (`activity::QUEUE_KEY`), which records it when it attaches.
    #[cfg(not(feature = "sync"))]
    if let Some(s) = storage() {
        for json in &events {
            let stored = s.get_item(crate::activity::QUEUE_KEY).ok().flatten();
            if let Some(q) = crate::activity::queued(stored.as_deref(), json, now_ms()) {
                let _ = s.set_item(crate::activity::QUEUE_KEY, &q);
            }
        }
    }
    for json in events {
        if let Ok(e) = serde_json::from_str::<DeviceEvent>(&json) {
            inbox |= e.kind == "message" || e.kind == "request";
            a.phone.borrow_mut().on_event(e);
        }
    }
    refresh_view(a);
    let mut effects = a.phone.borrow_mut().take_queued();
    if inbox {
        effects.extend(read_inbox(a));
    }
    let typing = matches!(
        a.phone.borrow().screen,
        Screen::Paste
            | Screen::Setup
            | Screen::Unlock
            | Screen::Reveal
            | Screen::Import
            | Screen::Confirm
            | Screen::Password
            | Screen::Policy
            | Screen::Biometric
            | Screen::Activity
            | Screen::Sync
    );
    render(a, typing || a.phone.borrow().revoking.is_some());
    run(a, effects);
}

/// Hands the engine's inbox (desktop requests, cancellations) to the model.
fn read_inbox(a: &Rc<App>) -> Vec<Effect> {
    let host = a.host.borrow().clone();
    let Some(h) = host else { return Vec::new() };
    match serde_json::from_str::<Vec<crate::confirm::InboxItem>>(&h.inbox()) {
        Ok(items) if !items.is_empty() => a.phone.borrow_mut().on_inbox(items),
        _ => Vec::new(),
    }
}

fn on_tick() {
    let Some(a) = app() else { return };
    let now = now_ms();
    let was_open = a.phone.borrow().wallet.is_some();
    let waiting = a.phone.borrow().confirms.len();
    let effects = a.phone.borrow_mut().on_tick(now);
    let locked = was_open && a.phone.borrow().wallet.is_none();
    if locked || a.phone.borrow().confirms.len() != waiting {
        // Locked at the idle deadline (the page forgets what it showed), or
        // a request expired.
        render(&a, false);
    }
    run(&a, effects);
    let host = a.host.borrow().clone();
    if let Some(h) = host {
        h.tick();
    }
    // A backup write whose time came, or one that failed, again.
    #[cfg(feature = "sync")]
    crate::app_sync::backup_tick(&a);
    drain(&a);
    let screen = a.phone.borrow().screen;
    let every_30s = (now / 1000.0) as u64 % 30 == 0;
    if screen == Screen::Pair || screen == Screen::Approve || (screen == Screen::Home && every_30s)
    {
        render(&a, true);
    }
}

pub(crate) fn dom_error(e: &JsValue) -> (String, String) {
    match e.dyn_ref::<web_sys::DomException>() {
        Some(d) => (d.name(), d.message()),
        None => ("Error".into(), js_message(e)),
    }
}

async fn start_camera(a: &Rc<App>) {
    let result = open_camera(a).await;
    let ok = result.is_ok();
    let effects = a.phone.borrow_mut().on_camera(result);
    render(a, false);
    run(a, effects);
    if ok && a.phone.borrow().screen == Screen::Scan {
        a.frame_seen.set(false);
        let frame = Closure::<dyn FnMut()>::new(read_frame).into_js_value();
        a.frames
            .set(Some(set_interval(frame.unchecked_ref(), FRAME_MS)));
    } else {
        stop_camera(a);
    }
}

async fn open_camera(a: &App) -> Result<(), (String, String)> {
    let devices = web_sys::window()
        .and_then(|w| w.navigator().media_devices().ok())
        .ok_or_else(|| ("NotFoundError".to_owned(), "no media devices".to_owned()))?;
    let video = js_sys::Object::new();
    let facing = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&facing, &"ideal".into(), &"environment".into());
    let _ = js_sys::Reflect::set(&video, &"facingMode".into(), &facing);
    let c = web_sys::MediaStreamConstraints::new();
    c.set_video(&video);
    c.set_audio(&JsValue::FALSE);
    let p = devices
        .get_user_media_with_constraints(&c)
        .map_err(|e| dom_error(&e))?;
    let stream: MediaStream = JsFuture::from(p)
        .await
        .map_err(|e| dom_error(&e))?
        .unchecked_into();
    a.video.set_src_object(Some(&stream));
    *a.stream.borrow_mut() = Some(stream);
    Ok(())
}

fn stop_camera(a: &App) {
    if let Some(id) = a.frames.take() {
        clear_interval(id);
    }
    if let Some(s) = a.stream.borrow_mut().take() {
        for t in s.get_tracks().iter() {
            if let Ok(t) = t.dyn_into::<web_sys::MediaStreamTrack>() {
                t.stop();
            }
        }
    }
    a.video.set_src_object(None);
}

/// The browser's `BarcodeDetector` if it reads QR codes
/// (`getSupportedFormats()` lists `qr_code`), else `None`: the wasm
/// decoder reads the frames.
///
/// Untested here: the Debian Chromium these tests run has no
/// `BarcodeDetector` on Linux (`typeof BarcodeDetector` is "undefined"), so
/// the fake-camera tests exercise the wasm path only; no fake detector
/// stands in for the browser's.
async fn native_detector() -> Option<JsValue> {
    let window = web_sys::window()?;
    let ctor: js_sys::Function = js_sys::Reflect::get(&window, &"BarcodeDetector".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let formats = js_sys::Reflect::get(&ctor, &"getSupportedFormats".into())
        .ok()?
        .dyn_into::<js_sys::Function>()
        .ok()?
        .call0(&ctor)
        .ok()?;
    let formats = JsFuture::from(formats.dyn_into::<js_sys::Promise>().ok()?)
        .await
        .ok()?;
    let formats: Vec<String> = js_sys::Array::from(&formats)
        .iter()
        .filter_map(|f| f.as_string())
        .collect();
    if !crate::scan::native_reads_qr(&formats) {
        return None;
    }
    let options = js_sys::Object::new();
    let qr = js_sys::Array::of1(&"qr_code".into());
    js_sys::Reflect::set(&options, &"formats".into(), &qr).ok()?;
    js_sys::Reflect::construct(&ctor, &js_sys::Array::of1(&options)).ok()
}

/// The texts the browser's detector read in the video's current frame.
async fn detect_native(
    detector: &JsValue,
    video: &HtmlVideoElement,
) -> Result<Vec<String>, JsValue> {
    let promise: js_sys::Promise = js_sys::Reflect::get(detector, &"detect".into())?
        .dyn_into::<js_sys::Function>()?
        .call1(detector, video)?
        .dyn_into()?;
    let found = JsFuture::from(promise).await?;
    Ok(js_sys::Array::from(&found)
        .iter()
        .filter_map(|b| {
            js_sys::Reflect::get(&b, &"rawValue".into())
                .ok()?
                .as_string()
        })
        .collect())
}

fn read_frame() {
    let Some(a) = app() else { return };
    // HAVE_CURRENT_DATA: a frame is there to read.
    if a.video.ready_state() < 2 || a.video.video_width() == 0 {
        return;
    }
    if !a.frame_seen.replace(true) {
        mark("tandem-phone:first-frame");
    }
    let native = a.detector.borrow().clone();
    if let Some(detector) = native {
        if a.detecting.replace(true) {
            return; // the last frame is still being read
        }
        spawn_local(async move {
            let texts = detect_native(&detector, &a.video).await;
            a.detecting.set(false);
            match texts {
                Ok(texts) => found(&a, crate::scan::pick(&texts, (now_ms() / 1000.0) as u64)),
                // The browser's detector failed: the wasm decoder from now on.
                Err(_) => *a.detector.borrow_mut() = None,
            }
        });
        return;
    }
    let (vw, vh) = (a.video.video_width(), a.video.video_height());
    let scale = (FRAME_MAX_W as f64 / vw as f64).min(1.0);
    let (w, h) = (
        ((vw as f64 * scale) as u32).max(1),
        ((vh as f64 * scale) as u32).max(1),
    );
    if a.canvas.width() != w || a.canvas.height() != h {
        a.canvas.set_width(w);
        a.canvas.set_height(h);
    }
    let Some(ctx) = a
        .canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    if ctx
        .draw_image_with_html_video_element_and_dw_and_dh(&a.video, 0.0, 0.0, w as f64, h as f64)
        .is_err()
    {
        return;
    }
    let Ok(img) = ctx.get_image_data(0.0, 0.0, w as f64, h as f64) else {
        return;
    };
    let data = img.data();
    found(
        &a,
        scan_frame(w as usize, h as usize, &data, (now_ms() / 1000.0) as u64),
    );
}

/// What a decoder found in a frame, for the model.
fn found(a: &Rc<App>, found: Option<crate::scan::Scanned>) {
    let Some(found) = found else {
        return;
    };
    let before = a.phone.borrow().scan_note.clone();
    let effects = a.phone.borrow_mut().on_scan(found);
    let changed = before != a.phone.borrow().scan_note || !effects.is_empty();
    if changed {
        render(a, false);
    }
    run(a, effects);
}
