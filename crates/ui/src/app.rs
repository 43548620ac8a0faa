//! The running UI: talks to the service worker with the `tandem/ui` messages
//! of extension/API.md, listens for `tandem/event`, and re-renders.

use crate::model::NetworkExt as _;
use crate::model::{chain_id_of, ActivityItem, Approval, Cache, Portfolio, WalletState};
use crate::tx::FeeForm;
use crate::validate::{self, ImportSecret};
use crate::view::{self, Action, Page, Screen, SecretPhrase, Tab, Ui};
use crate::{dom, Error, Result};
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{Document, Element, Event};
use zeroize::{Zeroize, Zeroizing};

mod audit;
mod devices;
mod secrets;
mod send;
mod sync;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = sendMessage, catch)]
    fn send_message(msg: &JsValue) -> std::result::Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "runtime", "onMessage"], js_name = addListener)]
    fn on_message(cb: &js_sys::Function);
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "local"], js_name = set, catch)]
    fn storage_set(items: &JsValue) -> std::result::Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = getURL)]
    fn runtime_url(path: &str) -> String;
    #[wasm_bindgen(js_namespace = ["chrome", "tabs"], js_name = create, catch)]
    fn tabs_create(props: &JsValue) -> std::result::Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["navigator", "clipboard"], js_name = writeText, catch)]
    fn clipboard_write(text: &str) -> std::result::Result<js_sys::Promise, JsValue>;
}

/// Key of the UI's own cache in `chrome.storage.local` (no secrets: state,
/// balances, activity). `extension/ui/boot.js` reads it under the same name.
const CACHE_KEY: &str = "tandem.ui.cache";

thread_local! {
    static UI: RefCell<Option<Ui>> = const { RefCell::new(None) };
    static NEXT_ID: Cell<u64> = const { Cell::new(1) };
}

fn with_ui<R>(f: impl FnOnce(&mut Ui) -> R) -> Option<R> {
    UI.with(|u| u.borrow_mut().as_mut().map(f))
}

fn doc() -> Option<Document> {
    web_sys::window()?.document()
}

fn root() -> Option<Element> {
    doc()?.get_element_by_id("app")
}

thread_local! {
    static LAST_ACTIVE: core::cell::Cell<f64> = const { core::cell::Cell::new(0.0) };
}

/// The user clicked or typed here: tells the worker (at most every 10 s),
/// which puts off auto-lock. The reads a page makes when it opens or when
/// an event arrives do not (a site's requests cause those).
fn user_active() {
    let now = now_ms();
    if now - LAST_ACTIVE.with(core::cell::Cell::get) < 10_000.0 {
        return;
    }
    LAST_ACTIVE.with(|t| t.set(now));
    spawn_local(async {
        let _ = call("ui.active", Value::Null).await;
    });
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Re-renders; `keep_typed` carries typed text over (same screen only).
fn render() {
    let (Some(doc), Some(root)) = (doc(), root()) else {
        return;
    };
    if dom::held(&root, render) {
        return;
    }
    let prev = root
        .first_element_child()
        .and_then(|e| e.get_attribute("data-screen"));
    let pw = dom::field(&root, "password-input")
        + &dom::field(&root, "import-password")
        + &dom::field(&root, crate::password::NEW_IDS.0);
    let Some(node) = with_ui(|ui| {
        ui.now_ms = now_ms();
        view::view(ui, &pw)
    }) else {
        return;
    };
    let same = prev.as_deref() == node.get("data-screen");
    dom::render(&doc, &root, &node, same);
}

fn to_js(v: &Value) -> JsValue {
    let mut s = v.to_string();
    let js = js_sys::JSON::parse(&s).unwrap_or(JsValue::NULL);
    s.zeroize();
    js
}

/// Overwrites every string in `v`: requests carry passwords and phrases, and
/// wasm memory is not cleared when a `String` is freed.
fn scrub(v: &mut Value) {
    match v {
        Value::String(s) => s.zeroize(),
        Value::Array(a) => a.iter_mut().for_each(scrub),
        Value::Object(o) => o.values_mut().for_each(scrub),
        _ => {}
    }
}

fn from_js(v: &JsValue) -> Value {
    if v.is_undefined() {
        return Value::Null;
    }
    js_sys::JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null)
}

fn js_err(e: JsValue) -> Error {
    let msg = js_sys::Reflect::get(&e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into());
    Error::Browser(msg)
}

async fn sleep(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(p).await;
}

/// One request to the service worker. Retries while the worker is (re)starting
/// and has no listener yet; bounded to ~3 s.
async fn call(method: &str, params: Value) -> Result<Value> {
    let id = NEXT_ID.with(|n| {
        let v = n.get();
        n.set(v + 1);
        v
    });
    let mut request = json!({"channel": "tandem/ui", "id": format!("ui-{id}"), "method": method, "params": params});
    let msg = to_js(&request);
    scrub(&mut request);
    let mut attempt = 0;
    let answer = loop {
        let res = match send_message(&msg) {
            Ok(p) => JsFuture::from(p).await,
            Err(e) => Err(e),
        };
        match res {
            Ok(v) if !v.is_undefined() => break from_js(&v),
            Ok(_) | Err(_) if attempt < 30 => {
                attempt += 1;
                sleep(100).await;
            }
            Ok(_) => {
                return Err(Error::Browser(
                    "the wallet's background did not answer".into(),
                ))
            }
            Err(e) => return Err(js_err(e)),
        }
    };
    if answer.get("ok").and_then(Value::as_bool) == Some(true) {
        Ok(answer.get("result").cloned().unwrap_or(Value::Null))
    } else {
        let err = answer.get("error").cloned().unwrap_or(Value::Null);
        Err(Error::Worker {
            kind: err
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("Error")
                .to_owned(),
            message: err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("the wallet could not do that")
                .to_owned(),
        })
    }
}

fn parse<T: serde::de::DeserializeOwned + Default>(v: Value) -> T {
    serde_json::from_value(v).unwrap_or_default()
}

async fn save_cache() {
    let Some(cache) = with_ui(|ui| Cache {
        state: ui.state.clone(),
        portfolio: ui.portfolio.clone(),
        activity: ui.activity.clone(),
    }) else {
        return;
    };
    let Ok(v) = serde_json::to_value(&cache) else {
        return;
    };
    if let Ok(p) = storage_set(&to_js(&json!({ CACHE_KEY: v }))) {
        let _ = JsFuture::from(p).await;
    }
}

fn apply_state(v: Value) {
    let st: WalletState = parse(v);
    with_ui(|ui| {
        ui.state = Some(st);
        ui.route();
    });
}

async fn refresh_state() -> Result<()> {
    let v = call("state", Value::Null).await?;
    apply_state(v);
    Ok(())
}

fn unlocked() -> bool {
    with_ui(|ui| ui.state.as_ref().is_some_and(|s| s.unlocked)).unwrap_or(false)
}

/// Cached portfolio and activity from the worker, then fresh balances.
async fn refresh_data(fresh: bool) {
    if !unlocked() {
        return;
    }
    if let Ok(v) = call("portfolio", Value::Null).await {
        let p: Portfolio = parse(v);
        with_ui(|ui| ui.portfolio = Some(p));
    }
    if let Ok(Value::Array(items)) = call("activity", Value::Null).await {
        // An item the worker sent in another shape is left out, and said
        // (never shown as an empty row).
        let list: Vec<ActivityItem> = items
            .into_iter()
            .filter_map(|v| {
                serde_json::from_value(v)
                    .map_err(|e| {
                        web_sys::console::warn_1(
                            &format!("tandem: an activity item was not read: {e}").into(),
                        );
                    })
                    .ok()
            })
            .collect();
        with_ui(|ui| ui.activity = list);
    }
    render();
    sync::status().await;
    if fresh {
        match call("portfolio.refresh", Value::Null).await {
            Ok(v) => {
                let p: Portfolio = parse(v);
                with_ui(|ui| {
                    ui.portfolio = Some(p);
                    ui.stale = false;
                });
            }
            Err(e) => {
                with_ui(|ui| {
                    ui.stale = false;
                    if ui.screen == Screen::Home {
                        ui.notice = Some(format!("Balances may be out of date: {e}"));
                    }
                });
            }
        }
        render();
    } else {
        with_ui(|ui| ui.stale = false);
    }
    save_cache().await;
}

thread_local! {
    static ARM_TIMER: core::cell::Cell<i32> = const { core::cell::Cell::new(0) };
}

/// Approve is disabled, and enabled again once the window has been visible
/// and focused for `queue::ARM_DELAY_MS` (from now if it is, else from when
/// it becomes so: the focus and visibility listeners call this again).
fn disarm() {
    with_ui(|ui| ui.approve_armed = false);
    let Some(w) = web_sys::window() else {
        return;
    };
    w.clear_timeout_with_handle(ARM_TIMER.with(core::cell::Cell::get));
    let Some(doc) = w.document() else {
        return;
    };
    let shown = doc.visibility_state() == web_sys::VisibilityState::Visible
        && doc.has_focus().unwrap_or(false);
    if shown {
        let arm = Closure::once_into_js(|| {
            with_ui(|ui| ui.approve_armed = true);
            render();
        });
        if let Ok(id) = w.set_timeout_with_callback_and_timeout_and_arguments_0(
            arm.unchecked_ref(),
            crate::queue::ARM_DELAY_MS,
        ) {
            ARM_TIMER.with(|t| t.set(id));
        }
    }
}

/// The approval window's focus and visibility: any change starts the delay
/// again (a window that lost focus, or is covered, cannot be clicked safely
/// the moment it comes back).
fn watch_focus() {
    let Some(w) = web_sys::window() else {
        return;
    };
    let again = Closure::<dyn FnMut(Event)>::new(|_: Event| {
        disarm();
        render();
    });
    let f = again.as_ref().unchecked_ref();
    let _ = w.add_event_listener_with_callback("focus", f);
    let _ = w.add_event_listener_with_callback("blur", f);
    if let Some(doc) = w.document() {
        let _ = doc.add_event_listener_with_callback("visibilitychange", f);
    }
    again.forget();
}

/// Points this window at approval `next` (its URL names the approval it shows).
fn show_next(next: &Value) {
    if let Some(h) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(&format!("?id={next}")));
    }
}

fn approval_id() -> Value {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    let id = search
        .trim_start_matches('?')
        .split('&')
        .find_map(|kv| kv.strip_prefix("id="))
        .unwrap_or("")
        .to_owned();
    match id.parse::<u64>() {
        Ok(n) => json!(n),
        Err(_) => json!(id),
    }
}

async fn load_approval() {
    // Answered here already, or locked: nothing to load.
    if !unlocked() || with_ui(|ui| ui.screen == Screen::ApprovalDone).unwrap_or(true) {
        return;
    }
    let id = approval_id();
    let answer = call("approvals.get", json!({ "id": id })).await;
    // The window moved on to the site's next request meanwhile: this answer
    // is about the one before (the next one's own load shows it).
    if approval_id() != id {
        return;
    }
    match answer {
        Ok(v) => {
            let a: Approval = match serde_json::from_value(v) {
                Ok(a) => a,
                Err(e) => {
                    // Never shown as an empty request that could be approved.
                    with_ui(|ui| {
                        ui.error = Some(format!("This request cannot be read: {e}"));
                    });
                    render();
                    return;
                }
            };
            let new =
                with_ui(|ui| ui.approval.as_ref().map(|x| x.id) != Some(a.id)).unwrap_or(true);
            with_ui(|ui| {
                ui.approval = Some(a);
                // A reload of the same request (an "approvals" event) keeps
                // what the window says, e.g. that the one before failed.
                if new {
                    ui.error = None;
                }
            });
            if new {
                // Another request under the cursor: the delay starts again.
                disarm();
            }
            render();
            // Token amounts in the units their contracts state.
            send::load_token_facts().await;
        }
        Err(e) => {
            with_ui(|ui| {
                // This window's own answer is under way: its reply says what
                // comes next (the site's next request, or done); a reload
                // for the "approvals" event it caused may arrive first.
                if ui.busy {
                    return;
                }
                // Gone: answered in another window, or expired.
                if ui.approval.is_some() {
                    ui.screen = Screen::ApprovalDone;
                    ui.notice = Some("This request was already answered.".into());
                } else {
                    ui.error = Some(e.to_string());
                }
            });
        }
    }
    render();
}

pub(crate) fn start(page: &str, cached: &JsValue) {
    let page = match page {
        "approval" => Page::Approval,
        "onboarding" => Page::Onboarding,
        _ => Page::Popup,
    };
    UI.with(|u| *u.borrow_mut() = Some(Ui::new(page)));
    with_ui(|ui| {
        // getTimezoneOffset is UTC minus local time, in minutes.
        ui.utc_offset_min = -(js_sys::Date::new_0().get_timezone_offset() as i32);
    });
    install_listeners();
    if let Some(d) = doc() {
        dom::hold_renders_during_presses(&d);
    }
    // Paint the last known state at once, synchronously: the worker may be
    // waking up, and the loader already read the cache while wasm compiled.
    let cache = (page != Page::Approval)
        .then(|| from_js(cached).get(CACHE_KEY).cloned())
        .flatten()
        .and_then(|v| serde_json::from_value::<Cache>(v).ok());
    let from_cache = cache.is_some();
    let hidden = from_js(cached);
    with_ui(|ui| ui.hidden = crate::hide::Hidden::from_stored(hidden.get(crate::hide::HIDDEN_KEY)));
    if let Some(c) = cache {
        with_ui(|ui| {
            ui.state = c.state;
            ui.portfolio = c.portfolio;
            ui.activity = c.activity;
            ui.stale = true;
            ui.route();
        });
    }
    render();
    if from_cache {
        mark("tandem-ui:cached-render");
    }
    if page != Page::Approval {
        // Home's pairing line: the worker's cache, read while the worker
        // wakes up; the countdown of a pairing code.
        spawn_local(devices::load_cached());
        devices::start_ticker();
    }
    spawn_local(async move {
        match refresh_state().await {
            Ok(()) => {}
            Err(e) => {
                with_ui(|ui| ui.error = Some(e.to_string()));
            }
        }
        render();
        mark("tandem-ui:fresh-render");
        if page == Page::Approval {
            watch_focus();
            load_approval().await;
        } else {
            refresh_data(true).await;
        }
    });
}

/// A performance mark the benchmark reads.
fn mark(name: &str) {
    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
        let _ = p.mark(name);
    }
}

fn install_listeners() {
    let Some(root_el) = root() else { return };
    let click = Closure::<dyn FnMut(Event)>::new(|ev: Event| {
        user_active();
        let Some(t) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        let Ok(Some(el)) = t.closest("button[data-action], a[data-action]") else {
            return;
        };
        if el.get_attribute("type").as_deref() == Some("submit") {
            return; // the form's submit event handles it
        }
        ev.prevent_default();
        let action = el.get_attribute("data-action").unwrap_or_default();
        let arg = el.get_attribute("data-arg").unwrap_or_default();
        if let Some(a) = Action::parse(&action, &arg) {
            spawn_local(dispatch(a));
        }
    });
    let submit = Closure::<dyn FnMut(Event)>::new(|ev: Event| {
        ev.prevent_default();
        let Some(f) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        let action = f.get_attribute("data-action").unwrap_or_default();
        let arg = f.get_attribute("data-arg").unwrap_or_default();
        if let Some(a) = Action::parse(&action, &arg) {
            spawn_local(dispatch(a));
        }
    });
    let change = Closure::<dyn FnMut(Event)>::new(|ev: Event| {
        let Some(t) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        if let Some(action) = t.get_attribute("data-change") {
            let value = t
                .get_attribute("data-testid")
                .map(|id| root().map(|r| dom::field(&r, &id)).unwrap_or_default())
                .unwrap_or_default();
            if let Some(a) = Action::parse(&action, &value) {
                spawn_local(dispatch(a));
            }
        }
    });
    let input = Closure::<dyn FnMut(Event)>::new(|ev: Event| {
        user_active();
        let Some(t) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        // Typing again answers the last error: take it away.
        if with_ui(|ui| ui.error.take()).flatten().is_some() {
            if let Some(Ok(Some(e))) =
                root().map(|r| r.query_selector("[data-testid=\"form-error\"]"))
            {
                e.remove();
            }
        }
        match t.get_attribute("data-testid").as_deref() {
            Some("password-input" | "import-password" | "password-new-input") => update_strength(),
            Some("tx-gas-input" | "tx-maxfee-input" | "tx-priority-input") => update_max_cost(),
            _ => {}
        }
    });
    let _ = root_el.add_event_listener_with_callback("click", click.as_ref().unchecked_ref());
    let _ = root_el.add_event_listener_with_callback("submit", submit.as_ref().unchecked_ref());
    let _ = root_el.add_event_listener_with_callback("change", change.as_ref().unchecked_ref());
    let _ = root_el.add_event_listener_with_callback("input", input.as_ref().unchecked_ref());
    // The listeners live as long as the page.
    click.forget();
    submit.forget();
    change.forget();
    input.forget();

    let events = Closure::<dyn FnMut(JsValue)>::new(|msg: JsValue| {
        let m = from_js(&msg);
        if m.get("channel").and_then(Value::as_str) != Some("tandem/event") {
            return;
        }
        let event = m
            .get("event")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if event == "devices" {
            if with_ui(|ui| ui.page != Page::Approval).unwrap_or(false) {
                devices::on_event(m.get("detail").unwrap_or(&Value::Null));
            }
            return;
        }
        spawn_local(on_event(event));
    });
    // The listener returns undefined: it never answers, so the worker's own
    // sendMessage callers are not confused by a page reply.
    on_message(events.as_ref().unchecked_ref());
    events.forget();
}

async fn on_event(event: String) {
    let page = with_ui(|ui| ui.page).unwrap_or(Page::Popup);
    match event.as_str() {
        "state" | "approvals" => {
            let before = with_ui(|ui| {
                ui.state.as_ref().map(|s| {
                    (
                        s.selected.clone(),
                        s.network.as_ref().map(|n| n.id()),
                        s.unlocked,
                    )
                })
            });
            if refresh_state().await.is_ok() {
                render();
                let after = with_ui(|ui| {
                    ui.state.as_ref().map(|s| {
                        (
                            s.selected.clone(),
                            s.network.as_ref().map(|n| n.id()),
                            s.unlocked,
                        )
                    })
                });
                if page == Page::Approval {
                    load_approval().await;
                } else if before != after {
                    refresh_data(true).await;
                }
            }
        }
        "portfolio" | "activity" if page != Page::Approval => refresh_data(false).await,
        "sync" if page != Page::Approval => sync::refresh().await,
        _ => {}
    }
}

fn update_strength() {
    let (Some(doc), Some(root)) = (doc(), root()) else {
        return;
    };
    let pw = dom::field(&root, "password-input") + &dom::field(&root, "import-password");
    let hint = view::strength_hint(&pw);
    if let Ok(Some(old)) = root.query_selector("[data-testid=\"password-strength\"]") {
        old.set_class_name(hint.get("class").unwrap_or(""));
        old.set_text_content(Some(&hint.text_content()));
    }
    let _ = doc;
}

fn fee_form(root: &Element) -> FeeForm {
    // A legacy transaction's form has one price field (crate::view::approval::transaction, `tx_body`).
    let price = dom::field(root, "tx-gasprice-input");
    let legacy = root
        .query_selector("[data-testid=\"tx-gasprice-input\"]")
        .ok()
        .flatten()
        .is_some();
    if legacy {
        return FeeForm {
            gas: dom::field(root, "tx-gas-input"),
            max_fee_gwei: price,
            priority_gwei: String::new(),
            legacy,
        };
    }
    FeeForm {
        gas: dom::field(root, "tx-gas-input"),
        max_fee_gwei: dom::field(root, "tx-maxfee-input"),
        priority_gwei: dom::field(root, "tx-priority-input"),
        legacy: false,
    }
}

fn update_max_cost() {
    let Some(root) = root() else { return };
    let text = match fee_form(&root).validate() {
        Ok(f) => {
            let (value, symbol) = with_ui(|ui| {
                let tx = ui
                    .approval
                    .as_ref()
                    .and_then(|a| a.request.get("transaction").cloned())
                    .unwrap_or(Value::Null);
                let v = tx
                    .get("value")
                    .and_then(Value::as_str)
                    .unwrap_or("0x0")
                    .to_owned();
                // The currency of the chain the transaction is for.
                let chain = ui.approval.as_ref().and_then(crate::model::Approval::chain);
                let sym = chain.map_or((String::new(), 18), |c| {
                    (c.symbol, u8::try_from(c.decimals).unwrap_or(18))
                });
                (v, sym)
            })
            .unwrap_or_default();
            f.max_cost(crate::format::to_u128(&value).unwrap_or(0))
                .map(|c| view::max_total(c, symbol.1, &symbol.0))
                .unwrap_or_else(|e| e.to_string())
        }
        Err(e) => e.to_string(),
    };
    if let Ok(Some(el)) = root.query_selector("[data-testid=\"tx-max-cost\"]") {
        el.set_text_content(Some(&text));
    }
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    if let Some(c) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = c.get_random_values_with_u8_array(&mut buf);
    }
    buf
}

fn set_error(e: impl ToString) {
    with_ui(|ui| {
        ui.error = Some(e.to_string());
        ui.busy = false;
    });
    render();
}

fn go(screen: Screen) {
    with_ui(|ui| {
        ui.screen = screen;
        ui.error = None;
        ui.notice = None;
        crate::secrets::left_screen(ui);
    });
    render();
}

async fn busy<T>(fut: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    with_ui(|ui| {
        ui.busy = true;
        ui.error = None;
    });
    render();
    let r = fut.await;
    with_ui(|ui| ui.busy = false);
    r
}

/// Runs a state-returning method and shows the result.
async fn state_call(method: &str, params: Value) -> Result<()> {
    let v = busy(call(method, params)).await?;
    apply_state(v);
    render();
    Ok(())
}

/// Move up / Move down in Accounts: the whole list, in its new order, to
/// the worker (which records it for sync).
async fn move_account(addr: &str, up: bool) -> Result<()> {
    let order = with_ui(|ui| {
        ui.state
            .as_ref()
            .map(|st| crate::view::accounts::moved(&st.accounts, addr, up))
    })
    .flatten()
    .unwrap_or_default();
    state_call("accounts.order", json!({ "addresses": order })).await?;
    save_cache().await;
    Ok(())
}

async fn dispatch(action: Action) {
    if let Err(e) = run(action).await {
        set_error(e);
    }
}

fn chain_param(id: &str) -> Value {
    chain_id_of(&json!(id)).map_or(json!(id), |n| json!(n))
}

async fn run(action: Action) -> Result<()> {
    let Some(root) = root() else { return Ok(()) };
    match action {
        Action::StartCreate => {
            let v = busy(call("onboard.generate", json!({"words": 12}))).await?;
            let phrase = v
                .get("phrase")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            if phrase.split_whitespace().count() < 12 {
                return Err(Error::Browser(
                    "the wallet returned no recovery phrase".into(),
                ));
            }
            with_ui(|ui| ui.phrase = Some(SecretPhrase::new(phrase)));
            go(Screen::CreateWords);
        }
        Action::StartImport => go(Screen::Import),
        Action::Back
            if with_ui(|ui| matches!(ui.screen, Screen::Pair | Screen::AddDevice))
                .unwrap_or(false) =>
        {
            devices::leave_pairing().await?;
        }
        Action::Back => {
            let target = with_ui(|ui| match ui.screen {
                Screen::CreateConfirm => Screen::CreateWords,
                s if s.is_onboarding() => {
                    ui.phrase = None;
                    Screen::Welcome
                }
                Screen::NetworkForm => Screen::Networks,
                Screen::Networks
                | Screen::ChangePassword
                | Screen::Sync
                | Screen::Audit
                | Screen::Help => Screen::Settings,
                s => crate::secrets::back(s).unwrap_or(Screen::Home),
            })
            .unwrap_or(Screen::Home);
            with_ui(|ui| ui.renaming = None);
            go(target);
        }
        Action::WordsWritten => {
            let n =
                with_ui(|ui| ui.phrase.as_ref().map(|p| p.words().len()).unwrap_or(0)).unwrap_or(0);
            let pos = validate::pick_positions(n, 3, &random_bytes(6));
            with_ui(|ui| ui.confirm_positions = pos);
            go(Screen::CreateConfirm);
        }
        Action::ConfirmWords => {
            let positions = with_ui(|ui| ui.confirm_positions.clone()).unwrap_or_default();
            let answers: Vec<(usize, String)> = positions
                .iter()
                .map(|p| (*p, dom::field(&root, &format!("confirm-word-{p}"))))
                .collect();
            let ok = with_ui(|ui| {
                validate::confirm_words(
                    ui.phrase.as_ref().map(SecretPhrase::expose).unwrap_or(""),
                    &answers,
                )
            });
            ok.unwrap_or(Ok(()))?;
            go(Screen::CreatePassword);
        }
        Action::CreateWallet => {
            let pw = Zeroizing::new(dom::field(&root, "password-input"));
            validate::new_password(&pw, &dom::field(&root, "password-confirm-input"))?;
            let phrase = Zeroizing::new(
                with_ui(|ui| ui.phrase.as_ref().map(|p| p.expose().to_owned()))
                    .flatten()
                    .unwrap_or_default(),
            );
            state_call("onboard.create", json!({"phrase": phrase, "password": pw})).await?;
            with_ui(|ui| ui.phrase = None);
            after_unlock().await;
        }
        Action::Import => {
            let pw = Zeroizing::new(dom::field(&root, "import-password"));
            let secret = validate::import_secret(&dom::field(&root, "import-secret-input"))?;
            validate::new_password(&pw, &dom::field(&root, "import-password-confirm"))?;
            let passphrase = Zeroizing::new(dom::field(&root, "import-passphrase-input"));
            let params = match &secret {
                ImportSecret::Phrase(p) if passphrase.is_empty() => {
                    json!({"phrase": p, "password": pw})
                }
                ImportSecret::Phrase(p) => {
                    json!({"phrase": p, "passphrase": passphrase, "password": pw})
                }
                ImportSecret::PrivateKey(k) => json!({"privateKey": k, "password": pw}),
            };
            let phrase = matches!(secret, ImportSecret::Phrase(_));
            drop(secret);
            state_call("onboard.import", params).await?;
            after_unlock().await;
            if phrase {
                sync::after_import().await;
            }
        }
        Action::Unlock => {
            let pw = Zeroizing::new(dom::field(&root, "unlock-password-input"));
            if pw.is_empty() {
                return Err(crate::form_err("enter your password"));
            }
            let r = state_call("unlock", json!({"password": pw})).await;
            if let Err(e) = r {
                dom::clear(&root, "unlock-password-input");
                return Err(match e {
                    Error::Worker { kind, .. } if kind == "WrongPassword" => {
                        crate::form_err("Wrong password. Try again.")
                    }
                    e => e,
                });
            }
            after_unlock().await;
        }
        Action::Lock => {
            state_call("lock", Value::Null).await?;
            save_cache().await;
        }
        Action::Tab(t) => {
            with_ui(|ui| ui.tab = t);
            render();
            if t == Tab::Activity {
                refresh_data(false).await;
            }
        }
        Action::Open(Screen::Devices) => devices::open().await?,
        Action::Open(Screen::Sync) => sync::open().await?,
        Action::Open(Screen::Audit) => audit::open().await?,
        Action::Open(Screen::Send) => send::open().await,
        Action::Open(Screen::Settings) => {
            go(Screen::Settings);
            devices::load_relay().await;
        }
        Action::Open(s) => {
            go(s);
        }
        Action::SelectAccount(addr) => {
            state_call("accounts.select", json!({"address": addr})).await?;
            go(Screen::Home);
            refresh_data(true).await;
        }
        Action::RenameAccount(addr) => {
            with_ui(|ui| ui.renaming = Some(addr));
            render();
        }
        Action::SaveAccountName(addr) => {
            let name = validate::display_name(&dom::field(&root, "account-name-input"))?;
            state_call("accounts.rename", json!({"address": addr, "name": name})).await?;
            with_ui(|ui| ui.renaming = None);
            render();
            save_cache().await;
        }
        Action::MoveAccountUp(addr) => move_account(&addr, true).await?,
        Action::MoveAccountDown(addr) => move_account(&addr, false).await?,
        Action::AddAccount => {
            state_call("accounts.add", Value::Null).await?;
            save_cache().await;
        }
        Action::SelectNetwork(id) => {
            state_call("networks.select", json!({"chainId": chain_param(&id)})).await?;
            go(Screen::Home);
            refresh_data(true).await;
        }
        Action::EditNetwork(id) => {
            let n = with_ui(|ui| {
                ui.state.as_ref().and_then(|s| {
                    s.networks
                        .iter()
                        .find(|n| n.id().to_string() == id)
                        .cloned()
                })
            })
            .flatten();
            with_ui(|ui| ui.editing_network = n);
            go(Screen::NetworkForm);
        }
        Action::NewNetwork => {
            with_ui(|ui| ui.editing_network = None);
            go(Screen::NetworkForm);
        }
        Action::SaveNetwork => {
            let id = validate::chain_id(&dom::field(&root, "network-form-chainid"))?;
            let name = validate::display_name(&dom::field(&root, "network-form-name"))?;
            let rpc = validate::rpc_url(&dom::field(&root, "network-form-rpc"))?;
            let symbol = validate::symbol(&dom::field(&root, "network-form-symbol"))?;
            let explorer = dom::field(&root, "network-form-explorer").trim().to_owned();
            if !explorer.is_empty() && !explorer.starts_with("https://") {
                return Err(crate::form_err("a block explorer URL starts with https://"));
            }
            let mut params = json!({"chainId": id, "name": name, "rpcUrl": rpc, "symbol": symbol});
            if !explorer.is_empty() {
                params["explorer"] = json!(explorer);
            }
            state_call("networks.upsert", params).await?;
            go(Screen::Networks);
        }
        Action::RemoveNetwork(id) => {
            state_call("networks.remove", json!({"chainId": chain_param(&id)})).await?;
        }
        Action::Disconnect(origin) => {
            state_call("sites.disconnect", json!({"origin": origin})).await?;
            save_cache().await;
        }
        Action::SaveToken => {
            let address = validate::address(&dom::field(&root, "token-form-address"))?;
            let mut params = json!({ "address": address });
            let symbol = dom::field(&root, "token-form-symbol");
            if !symbol.trim().is_empty() {
                params["symbol"] = json!(validate::symbol(&symbol)?);
            }
            let decimals = dom::field(&root, "token-form-decimals");
            if !decimals.trim().is_empty() {
                params["decimals"] = json!(validate::decimals(&decimals)?);
            }
            if symbol.trim().is_empty() || decimals.trim().is_empty() {
                // Left empty: the token contract's own answers.
                let net = with_ui(|ui| ui.state.as_ref().and_then(|s| s.network.clone()))
                    .flatten()
                    .unwrap_or_else(crate::model::unknown_network);
                let Some((sym, dec)) =
                    busy(async { Ok(send::token_facts(net.id(), &address).await) }).await?
                else {
                    return Err(crate::form_err(format!(
                        "{address} on {} does not answer symbol() and decimals(); enter them by hand",
                        net.name
                    )));
                };
                if symbol.trim().is_empty() {
                    params["symbol"] = json!(sym);
                }
                if decimals.trim().is_empty() {
                    params["decimals"] = json!(dec);
                }
            }
            state_call("assets.add", params).await?;
            with_ui(|ui| ui.tab = Tab::Tokens);
            go(Screen::Home);
            refresh_data(true).await;
        }
        Action::RemoveToken(address) => {
            state_call("assets.remove", json!({ "address": address })).await?;
            refresh_data(true).await;
        }
        Action::ChangePassword => {
            use crate::password::{CURRENT_ID, NEW_IDS};
            let current = Zeroizing::new(dom::field(&root, CURRENT_ID));
            let next = Zeroizing::new(dom::field(&root, NEW_IDS.0));
            if current.is_empty() {
                return Err(crate::form_err("Enter your current password"));
            }
            validate::new_password(&next, &dom::field(&root, NEW_IDS.1))?;
            busy(state_call(
                "password.change",
                json!({"current": current, "next": next}),
            ))
            .await?;
            // Back to Settings: the fields (and what was typed) go.
            go(Screen::Settings);
            devices::load_relay().await;
            with_ui(|ui| ui.notice = Some("Password changed. Use the new one from now on.".into()));
            render();
        }
        Action::SaveSettings => {
            let minutes =
                validate::auto_lock_minutes(&dom::field(&root, "settings-autolock-input"))?;
            let own = dom::checked(&root, "settings-own-ethereum");
            busy(devices::save_relay(&root)).await?;
            state_call(
                "settings.set",
                json!({"autoLockMinutes": minutes, "ownWindowEthereum": own}),
            )
            .await?;
            with_ui(|ui| ui.notice = Some("Settings saved".into()));
            render();
        }
        Action::Approve | Action::Reject => {
            let approve = action == Action::Approve;
            let Some((id, kind)) =
                with_ui(|ui| ui.approval.as_ref().map(|a| (a.id, a.kind_name()))).flatten()
            else {
                return Ok(());
            };
            let mut params = json!({"id": id, "approve": approve});
            if approve {
                match kind {
                    "connect" => {
                        let accounts: Vec<String> = root
                            .query_selector_all("input[data-address]")
                            .ok()
                            .map(|l| {
                                (0..l.length())
                                    .filter_map(|i| l.item(i))
                                    .filter_map(|n| n.dyn_into::<web_sys::HtmlInputElement>().ok())
                                    .filter(|i| i.checked())
                                    .filter_map(|i| i.get_attribute("data-address"))
                                    .collect()
                            })
                            .unwrap_or_default();
                        if accounts.is_empty() {
                            return Err(crate::form_err("choose at least one account to share"));
                        }
                        params["edits"] = json!({"accounts": accounts});
                    }
                    "transaction" => params["edits"] = fee_form(&root).validate()?.to_edits(),
                    _ => {}
                }
                // The phone's policy covers it: the phone is shown what this
                // page showed.
                let phone = with_ui(|ui| {
                    let a = ui.approval.as_ref()?;
                    let rule = a.needs_phone?;
                    let st = ui.state.clone().unwrap_or_default();
                    let edits = params.get("edits").cloned().unwrap_or(Value::Null);
                    serde_json::to_string(&crate::confirm::summary(
                        a, &st, rule, &edits, &ui.tokens,
                    ))
                    .ok()
                })
                .flatten();
                if let Some(p) = phone {
                    params["phone"] = json!(p);
                }
            }
            let answer = busy(call("approvals.resolve", params)).await?;
            if approve && answer.get("phone").and_then(Value::as_bool) == Some(true) {
                // The phone's policy covers it: this window shows "Confirm on
                // your phone" until the phone answers (the worker closes it).
                load_approval().await;
                return Ok(());
            }
            if let Some(next) = answer.get("next").filter(|n| !n.is_null()) {
                // The site's next request waits in this window; an answer
                // that could not be carried out (the site has that error)
                // is said above it.
                show_next(next);
                load_approval().await;
                if let Some(failed) = answer.get("failed").and_then(Value::as_str) {
                    set_error(format!("The previous request failed: {failed}"));
                }
                return Ok(());
            }
            with_ui(|ui| {
                ui.screen = Screen::ApprovalDone;
                ui.notice = Some(
                    if approve {
                        "Approved. You can close this window."
                    } else {
                        "Rejected. You can close this window."
                    }
                    .into(),
                );
            });
            render();
            if let Some(w) = web_sys::window() {
                let _ = w.close();
            }
        }
        Action::RejectSite => {
            let Some(id) = with_ui(|ui| ui.approval.as_ref().map(|a| a.id)).flatten() else {
                return Ok(());
            };
            busy(call("approvals.rejectSite", json!({ "id": id }))).await?;
            with_ui(|ui| {
                ui.screen = Screen::ApprovalDone;
                ui.notice = Some("Rejected every request from this site.".into());
            });
            render();
            if let Some(w) = web_sys::window() {
                let _ = w.close();
            }
        }
        Action::Refresh => {
            with_ui(|ui| ui.stale = true);
            render();
            refresh_data(true).await;
        }
        Action::CopyAddress => {
            let addr = with_ui(|ui| {
                ui.state
                    .as_ref()
                    .and_then(|s| s.current_account())
                    .map(|a| a.address.clone())
            })
            .flatten()
            .unwrap_or_default();
            if let Ok(p) = clipboard_write(&addr) {
                let _ = JsFuture::from(p).await;
            }
            with_ui(|ui| ui.notice = Some("Address copied".into()));
            render();
        }
        Action::OpenApproval(_) => {
            if let Ok(Value::Array(list)) = call("approvals.list", Value::Null).await {
                if let Some(id) = list.first().and_then(|a| a.get("id")) {
                    let id = match id {
                        Value::String(s) => s.clone(),
                        v => v.to_string(),
                    };
                    if let Some(w) = web_sys::window() {
                        let _ = w.open_with_url_and_target_and_features(
                            &format!("approval.html?id={id}"),
                            "_blank",
                            "popup,width=400,height=640",
                        );
                    }
                }
            }
        }
        Action::PasswordTyped => update_strength(),
        a @ (Action::StartPair
        | Action::PairAgain
        | Action::NewPairingCode
        | Action::StartAddDevice
        | Action::AcceptLink
        | Action::AllowOtherRelay
        | Action::CodesMatch(_)
        | Action::CancelPairing
        | Action::ResumePairing
        | Action::CopyPairLink
        | Action::Revoke(_)
        | Action::RevokeCancel
        | Action::RevokeConfirm(_)) => devices::run(a, &root).await?,
        Action::Sync(a) => sync::run(a, &root).await?,
        Action::SyncMore => sync::more().await?,
        Action::Audit(a) => audit::run(a).await?,
        Action::Secrets(a) => secrets::run(a, &root).await?,
        a @ (Action::SendAsset(_) | Action::SendPick(_) | Action::SendMax | Action::SendReview) => {
            send::run(a, &root).await?
        }
        a @ (Action::HideToken(_) | Action::UnhideToken(_) | Action::ToggleHidden) => {
            send::hide(a).await
        }
        Action::OpenOnboardingTab => {
            // The popup closes by itself when the new tab takes the focus.
            let props = to_js(&json!({ "url": runtime_url("extension/onboarding.html") }));
            if let Ok(p) = tabs_create(&props) {
                JsFuture::from(p).await.map_err(js_err)?;
            }
        }
    }
    Ok(())
}

async fn after_unlock() {
    let page = with_ui(|ui| ui.page).unwrap_or(Page::Popup);
    if page == Page::Approval {
        load_approval().await;
    } else {
        with_ui(|ui| ui.stale = true);
        render();
        refresh_data(true).await;
    }
}
