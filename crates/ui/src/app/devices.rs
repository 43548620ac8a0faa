//! The popup's side of the device engine: the `devices.*` calls of
//! extension/API.md, the `devices` events, Home's cached pairing line and
//! the pairing countdown. What the screens show is decided in
//! `crate::devices` and `crate::pairing`; this file only moves data.

use super::{busy, call, clipboard_write, from_js, go, now_ms, render, root, with_ui};
use crate::model::RelaySetting;
use crate::pairing::{check_link, countdown, DeviceEvent, Flow, Role};
use crate::view::{Action, Screen};
use crate::{dom, form_err, Error, Result};
use serde_json::{json, Value};
use std::cell::Cell;
use tandem_device::{DevicesView, PairingPhase};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::Element;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "local"], js_name = get, catch)]
    fn storage_get(keys: &str) -> std::result::Result<js_sys::Promise, JsValue>;
}

/// The worker's copy of the last `DevicesView`, as a JSON string
/// (extension/devices.js writes it; no secrets). Home reads it instead of
/// asking the worker, which would load the device module on every popup.
const DEVICES_CACHE_KEY: &str = "tandem.cache.devices";

/// Seconds a pairing code stays valid.
const OFFER_SECS: u64 = 120;

thread_local! {
    /// A `devices.view` request is under way.
    static FETCHING: Cell<bool> = const { Cell::new(false) };
    /// Something changed while it was: ask again when it answers.
    static AGAIN: Cell<bool> = const { Cell::new(false) };
    /// The worker answered at least once (its view beats the cache).
    static FRESH: Cell<bool> = const { Cell::new(false) };
    /// Seconds since the last poll during a pairing.
    static SINCE_POLL: Cell<u32> = const { Cell::new(0) };
}

/// While a pairing runs, the view is fetched this often (seconds) even
/// without events: Chrome may stop the worker, and only a message wakes it
/// to report that the pairing died with it.
const POLL_SECS: u32 = 2;

fn read_view(v: Value) -> Result<DevicesView> {
    serde_json::from_value(v).map_err(|e| {
        Error::Browser(format!(
            "the wallet sent a device list this page cannot read: {e}"
        ))
    })
}

/// Takes a view from the worker into the model; `true` if anything shown
/// changed.
fn apply_view(v: DevicesView) -> bool {
    FRESH.with(|f| f.set(true));
    with_ui(|ui| {
        let before = (ui.flow.clone(), ui.revoking.clone());
        let same_view = ui.devices.as_ref() == Some(&v);
        if let Some(f) = ui.flow.as_mut() {
            f.on_view(&v);
        }
        let still_there =
            |id: &String| v.devices.iter().any(|d| &d.id == id && d.removed.is_none());
        if ui.revoking.as_ref().is_some_and(|id| !still_there(id)) {
            ui.revoking = None;
        }
        ui.devices = Some(v);
        ui.devices_loaded = true;
        !same_view || before != (ui.flow.clone(), ui.revoking.clone())
    })
    .unwrap_or(false)
}

/// One engine command; the answer is the new view.
async fn command(cmd: Value) -> Result<()> {
    let v = call("devices.command", cmd).await?;
    apply_view(read_view(v)?);
    Ok(())
}

/// Fetches `devices.view`, one request at a time (answers arrive in order,
/// so an older view never replaces a newer one).
pub(super) async fn refresh() {
    if FETCHING.with(|f| f.replace(true)) {
        AGAIN.with(|a| a.set(true));
        return;
    }
    loop {
        AGAIN.with(|a| a.set(false));
        // Polls and chatty events mostly bring nothing new: re-render (and
        // move the keyboard focus) only for a change.
        let changed = match call("devices.view", Value::Null).await.and_then(read_view) {
            Ok(v) => apply_view(v),
            Err(e) => with_ui(|ui| {
                let shown = matches!(ui.screen, Screen::Devices);
                if shown {
                    ui.error = Some(e.to_string());
                }
                shown
            })
            .unwrap_or(false),
        };
        if changed {
            render();
        }
        if !AGAIN.with(|a| a.get()) {
            break;
        }
    }
    FETCHING.with(|f| f.set(false));
}

/// Home's pairing line from the worker's cache, without waking the device
/// module.
pub(super) async fn load_cached() {
    let got = match storage_get(DEVICES_CACHE_KEY) {
        Ok(p) => JsFuture::from(p).await.unwrap_or(JsValue::UNDEFINED),
        Err(_) => JsValue::UNDEFINED,
    };
    // Through `Value`, the one path the worker's answers take too (a
    // second deserializer for the same types costs ~40 KB of wasm).
    let cached = from_js(&got)
        .get(DEVICES_CACHE_KEY)
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .and_then(|v| serde_json::from_value::<DevicesView>(v).ok());
    if !FRESH.with(|f| f.get()) {
        with_ui(|ui| {
            ui.devices = cached;
            ui.devices_loaded = true;
        });
        render();
    }
}

/// A `tandem/event` `devices` message: the step at once (events come in
/// order), then the whole view.
pub(super) fn on_event(detail: &Value) {
    let changed = serde_json::from_value::<DeviceEvent>(detail.clone())
        .ok()
        .and_then(|e| with_ui(|ui| e.apply(ui)))
        .unwrap_or(false);
    if changed {
        render();
    }
    spawn_local(refresh());
}

/// Opens Devices: the list at once (cached), then fresh last-seen times.
pub(super) async fn open() -> Result<()> {
    with_ui(|ui| {
        ui.revoking = None;
        if ui.flow.as_ref().is_some_and(Flow::is_over) {
            ui.flow = None;
        }
    });
    go(Screen::Devices);
    refresh().await;
    // Last-seen times come from the relay; its answer arrives as an event.
    if command(json!({"kind": "list_devices"})).await.is_ok() {
        render();
    }
    Ok(())
}

/// Settings: the relay setting.
pub(super) async fn load_relay() {
    match call("devices.relay.get", Value::Null).await {
        Ok(v) => {
            let r: RelaySetting = serde_json::from_value(v).unwrap_or_default();
            with_ui(|ui| ui.relay = Some(r));
        }
        Err(e) => {
            with_ui(|ui| ui.error = Some(format!("The relay setting could not be read: {e}")));
        }
    }
    render();
}

/// Settings: saves the relay if the field changed. Errors are for the form.
pub(super) async fn save_relay(root: &Element) -> Result<()> {
    let Some(loaded) = with_ui(|ui| ui.relay.clone()).flatten() else {
        return Ok(());
    };
    let shown = if loaded.relay == loaded.default {
        ""
    } else {
        loaded.relay.as_str()
    };
    let typed = dom::field(root, "settings-relay-input").trim().to_owned();
    if typed == shown {
        return Ok(());
    }
    if !typed.is_empty() && !typed.starts_with("wss://") && !typed.starts_with("ws://") {
        return Err(form_err(
            "a relay address starts with wss:// (or ws:// on this computer); leave it empty for the default",
        ));
    }
    let v = call("devices.relay.set", json!({ "relay": typed })).await?;
    let r: RelaySetting = serde_json::from_value(v).unwrap_or_default();
    with_ui(|ui| ui.relay = Some(r));
    Ok(())
}

fn set_flow(f: Option<Flow>) {
    with_ui(|ui| {
        ui.flow = f;
        ui.error = None;
        ui.notice = None;
    });
}

/// A command that starts a flow failed: show it as the flow's end.
fn flow_failed(e: &Error) {
    with_ui(|ui| {
        if let Some(f) = ui.flow.as_mut() {
            f.on_failure(&e.to_string());
        }
    });
    render();
}

/// A new pairing code instead of the shown one.
async fn renew(automatic: bool) -> Result<()> {
    let running = with_ui(|ui| {
        let f = match &ui.flow {
            Some(f) => f.renew(automatic),
            None => Flow::start(Role::ShowQr, ui.devices.as_ref()),
        };
        let running = ui.devices.as_ref().is_some_and(|v| v.pairing_active)
            || ui.flow.as_ref().is_some_and(|f| !f.is_over());
        ui.flow = Some(f);
        ui.error = None;
        ui.notice = None;
        running
    })
    .unwrap_or(false);
    render();
    if running {
        // Frees the engine for the new offer (it allows one pairing).
        let _ = command(json!({"kind": "cancel_pairing"})).await;
    }
    if let Err(e) = command(json!({"kind": "show_offer", "lifetime": OFFER_SECS})).await {
        flow_failed(&e);
    }
    render();
    Ok(())
}

/// Back (or Cancel) on a pairing screen: stop a pairing that still runs.
pub(super) async fn leave_pairing() -> Result<()> {
    let running = with_ui(|ui| ui.flow.as_ref().is_some_and(|f| !f.is_over())).unwrap_or(false);
    set_flow(None);
    if running {
        let _ = command(json!({"kind": "cancel_pairing"})).await;
    }
    open().await
}

/// The devices and pairing actions.
pub(super) async fn run(action: Action, root: &Element) -> Result<()> {
    match action {
        Action::PairAgain => {
            command(json!({"kind": "start_over"})).await?;
            Box::pin(run(Action::StartPair, root)).await?;
        }
        Action::StartPair => {
            let before = with_ui(|ui| ui.devices.clone()).flatten();
            set_flow(Some(Flow::start(Role::ShowQr, before.as_ref())));
            go(Screen::Pair);
            if let Err(e) = command(json!({"kind": "show_offer", "lifetime": OFFER_SECS})).await {
                flow_failed(&e);
            }
            render();
        }
        Action::NewPairingCode => renew(false).await?,
        Action::StartAddDevice => {
            set_flow(None);
            go(Screen::AddDevice);
        }
        Action::AcceptLink => {
            let link = check_link(&dom::field(root, "add-device-link"))?;
            let before = with_ui(|ui| {
                ui.link_draft = link.clone();
                ui.devices.clone()
            })
            .flatten();
            // The flow exists before the command, so no step event is lost.
            set_flow(Some(Flow::start(Role::FromLink, before.as_ref())));
            let r = busy(command(json!({
                "kind": "accept_offer", "link": link, "typing": false, "allow_other_relay": false
            })))
            .await;
            if let Err(e) = r {
                // Refused before it started (not a link, a relay not
                // allowed): back to the form, the link still in it.
                set_flow(None);
                return Err(e);
            }
            with_ui(|ui| ui.link_draft.clear());
            render();
        }
        Action::AllowOtherRelay => {
            busy(command(json!({"kind": "allow_other_relay"}))).await?;
            render();
        }
        Action::CodesMatch(matches) => {
            // The new device confirms its code; the approver checks the
            // new device's.
            let approver = with_ui(|ui| {
                matches!(
                    ui.flow.as_ref().and_then(|f| f.step.as_ref()),
                    Some(PairingPhase::CompareCode { .. })
                )
            })
            .unwrap_or(false);
            let kind = if approver {
                "check_code"
            } else {
                "confirm_code"
            };
            busy(command(json!({"kind": kind, "matches": matches}))).await?;
            render();
        }
        Action::CancelPairing => leave_pairing().await?,
        Action::ResumePairing => {
            let f = with_ui(|ui| ui.devices.as_ref().and_then(Flow::resume)).flatten();
            let screen = match f.as_ref().map(|f| f.role) {
                Some(Role::FromLink) => Screen::AddDevice,
                _ => Screen::Pair,
            };
            set_flow(f);
            go(screen);
        }
        Action::CopyPairLink => {
            let link = with_ui(|ui| {
                ui.flow
                    .as_ref()
                    .and_then(|f| f.offer_link().map(str::to_owned))
            })
            .flatten()
            .unwrap_or_default();
            if link.is_empty() {
                return Ok(());
            }
            if let Ok(p) = clipboard_write(&link) {
                JsFuture::from(p)
                    .await
                    .map_err(|_| Error::Browser("the clipboard refused the link".into()))?;
            }
            with_ui(|ui| {
                ui.notice = Some(
                    "Link copied. Paste it on your phone under “Add a device from a link”.".into(),
                )
            });
            render();
        }
        Action::Revoke(id) => {
            with_ui(|ui| {
                ui.revoking = Some(id);
                ui.error = None;
                ui.notice = None;
            });
            render();
        }
        Action::RevokeCancel => {
            with_ui(|ui| ui.revoking = None);
            render();
        }
        Action::RevokeConfirm(id) => {
            let me = with_ui(|ui| ui.devices.as_ref().is_some_and(|v| v.me == id)).unwrap_or(false);
            let reason = if me {
                "retired".to_owned()
            } else {
                dom::checked_radio(root, "revoke-reason").unwrap_or_else(|| "unspecified".into())
            };
            let name = with_ui(|ui| {
                ui.devices
                    .as_ref()
                    .and_then(|v| v.devices.iter().find(|d| d.id == id))
                    .map(crate::devices::device_name)
            })
            .flatten()
            .unwrap_or_else(|| "The device".into());
            // The erase request only goes with a lost or compromised device.
            let erase = !me
                && matches!(reason.as_str(), "lost" | "compromised")
                && dom::checkbox(root, "revoke-erase");
            busy(command(
                json!({"kind": "revoke", "device": id, "reason": reason, "erase": erase}),
            ))
            .await?;
            with_ui(|ui| {
                ui.revoking = None;
                ui.notice = Some(if me {
                    "This browser is leaving the wallet group.".into()
                } else {
                    format!("{name} is being revoked; the group key rotates.")
                });
            });
            render();
        }
        _ => {}
    }
    Ok(())
}

/// Once a second: the countdown's text, a new code when it ran out, and a
/// poll of the view while a pairing runs.
fn tick() {
    let Some((text, renew_now, poll)) = with_ui(|ui| {
        if !matches!(ui.screen, Screen::Pair | Screen::AddDevice) {
            return None;
        }
        ui.now_ms = now_ms();
        let f = ui.flow.as_mut()?;
        let mut poll = false;
        if !f.is_over() {
            let n = SINCE_POLL.with(|s| s.get()) + 1;
            poll = n >= POLL_SECS;
            SINCE_POLL.with(|s| s.set(n % POLL_SECS));
        }
        let renew_now = f.needs_renewal(ui.now_ms);
        if renew_now {
            // Marked at once, so the next tick does not ask again.
            f.renewed = true;
        }
        let text = match &f.step {
            Some(PairingPhase::Offer { expires_at, .. }) => Some(countdown(*expires_at, ui.now_ms)),
            _ => None,
        };
        Some((text, renew_now, poll))
    })
    .flatten() else {
        return;
    };
    if renew_now {
        spawn_local(async {
            let _ = renew(true).await;
        });
        return;
    }
    if let (Some(t), Some(root)) = (text, root()) {
        dom::set_text(&root, "pair-countdown", &t);
    }
    if poll {
        spawn_local(refresh());
    }
}

/// Starts the one-second timer (for the life of the page).
pub(super) fn start_ticker() {
    let cb = Closure::<dyn FnMut()>::new(tick);
    if let Some(w) = web_sys::window() {
        let _ = w.set_interval_with_callback_and_timeout_and_arguments_0(
            cb.as_ref().unchecked_ref(),
            1000,
        );
    }
    cb.forget();
}
