//! The device engine (`tandem-device`) in the extension's service worker.
//!
//! A second wasm module, loaded only when the user opens Devices, a pairing
//! runs, or group messages are waiting, so the core module stays small. It is
//! the engine's browser shell: it owns the WebSockets (web-sys), the clock,
//! the randomness (`crypto.getRandomValues`) and the sealing of the state,
//! and carries out the engine's outputs strictly in order (a message is
//! acknowledged only after the state it changed was stored).
//!
//! The worker's JavaScript supplies three things: a non-extractable AES-GCM
//! `CryptoKey` (kept in IndexedDB) that seals the state, a `persist(sealed)`
//! function that stores the sealed text and resolves when it is written,
//! and an `emit(eventJson, notificationJson)` function that forwards events
//! to the popup (`notificationJson`, `{"title","message"}` or `null`, is the
//! browser notification the event calls for: nothing about devices happens
//! silently).
//! Everything else (what a frame means, what to answer, what to show) is here.
#![allow(unreachable_pub)] // wasm-bindgen exports are pub by necessity

#[cfg(feature = "sync")]
mod audit;
#[cfg(feature = "sync")]
mod backup;
#[cfg(feature = "sync")]
mod balances;
mod commands;
mod events;
mod seal;
#[cfg(feature = "sync")]
mod sites;
#[cfg(feature = "sync")]
mod sync;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use rand_core::OsRng;
use tandem_device::{Device, Input, LinkId, Output, State};
use tandem_pair::IdentityKey;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

// Talc instead of the default dlmalloc: the same job in fewer bytes, which
// this module's size budget needs (a worker is single-threaded, hence no
// atomics).
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// Longest wait between reconnection attempts (seconds).
const MAX_BACKOFF_SECS: u32 = 60;
/// While the group link should be up, the engine pings the relay this often:
/// a dead link is noticed within a request timeout, and Chrome keeps a
/// service worker whose socket has traffic at least every 30 s running.
const KEEPALIVE_MS: i32 = 20_000;

// The global timers, the same in a service worker and in a page (the phone
// app hosts this engine in its window).

/// How a message of the metadata sync starts (`tandem_sync`'s wire form,
/// `{"type":"sync_ops",…}`; this module does not link tandem-sync).
const SYNC_MESSAGE: &[u8] = br#"{"type":"sync_ops""#;
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(f: &js_sys::Function, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = setInterval)]
    fn set_interval(f: &js_sys::Function, ms: i32) -> JsValue;
}

fn now() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

struct Sock {
    generation: u32,
    ws: web_sys::WebSocket,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_close: Closure<dyn FnMut(web_sys::CloseEvent)>,
}

struct Host {
    dev: RefCell<Device>,
    key: web_sys::CryptoKey,
    persist: js_sys::Function,
    emit: js_sys::Function,
    queue: RefCell<VecDeque<Output>>,
    running: Cell<bool>,
    sockets: RefCell<tandem_pair::map::VecMap<LinkId, Sock>>,
    generation: Cell<u32>,
    /// The user wants the group link up (reconnect after drops).
    want_online: Cell<bool>,
    backoff: Cell<u32>,
    reconnect_pending: Cell<bool>,
    /// The last pairing step, for a popup that opens in the middle.
    pairing: RefCell<Option<tandem_device::PairingPhase>>,
    keepalive: RefCell<Option<Closure<dyn FnMut()>>>,
    #[cfg(feature = "sync")]
    sync: sync::Slot,
}

/// The engine with its sockets. Create with [`DeviceHost::open`].
#[wasm_bindgen]
pub struct DeviceHost {
    host: Rc<Host>,
}

#[wasm_bindgen]
impl DeviceHost {
    /// Opens the stored device (`sealed`, as last passed to `persist`), or,
    /// when there is none, makes a new one: a fresh identity key and a
    /// group of one on `relay`, named `name`. Resolves once the state is
    /// unsealed (or the new one stored).
    pub async fn open(
        sealed: Option<String>,
        key: web_sys::CryptoKey,
        name: String,
        relay: String,
        persist: js_sys::Function,
        emit: js_sys::Function,
    ) -> Result<DeviceHost, JsError> {
        let (identity, state, fresh) = match sealed {
            Some(s) => {
                let (identity, state) = seal::open(&seal::decrypt::<false>(&key, &s).await?)?;
                (identity, state, false)
            }
            None => {
                commands::check_relay(&relay).map_err(|e| JsError::new(&e))?;
                let identity = IdentityKey::generate(&mut OsRng);
                let state = State::found(&identity, &name, &relay, now(), &mut OsRng)
                    .map_err(|e| JsError::new(&e.to_string()))?;
                (identity, state, true)
            }
        };
        let host = Rc::new(Host {
            dev: RefCell::new(Device::new(identity, state)),
            key,
            persist,
            emit,
            queue: RefCell::new(VecDeque::new()),
            running: Cell::new(false),
            sockets: RefCell::new(tandem_pair::map::VecMap::new()),
            generation: Cell::new(0),
            want_online: Cell::new(false),
            backoff: Cell::new(1),
            reconnect_pending: Cell::new(false),
            pairing: RefCell::new(None),
            keepalive: RefCell::new(None),
            #[cfg(feature = "sync")]
            sync: sync::Slot::default(),
        });
        if fresh {
            host.queue.borrow_mut().push_back(Output::Persist);
            run(Rc::clone(&host)).await;
        }
        Ok(DeviceHost { host })
    }

    /// A user command, as JSON (see `commands.rs`): `{"kind":"show_offer"}`,
    /// `{"kind":"confirm_code","matches":true}`, `{"kind":"revoke",...}`, …
    pub fn command(&self, json: &str) -> Result<(), JsError> {
        let c = commands::parse(json).map_err(|e| JsError::new(&e))?;
        if matches!(c, tandem_device::Command::Connect) {
            self.host.want_online.set(true);
            start_keepalive(&self.host);
        }
        if matches!(c, tandem_device::Command::Disconnect) {
            self.host.want_online.set(false);
        }
        input(&self.host, Input::Command(c));
        Ok(())
    }

    /// Time passed (the worker's alarm, and a 1 s timer while pairing).
    /// Reconnects when the group link should be up and is not.
    pub fn tick(&self) {
        input(&self.host, Input::Tick);
        #[cfg(feature = "sync")]
        sync::tick(&self.host);
        let online = self.host.dev.borrow().is_online();
        if self.host.want_online.get()
            && !online
            && !self.host.sockets.borrow().contains_key(&LinkId::Main)
            && !self.host.reconnect_pending.get()
        {
            input(&self.host, Input::Command(tandem_device::Command::Connect));
        }
    }

    /// The worker restarted while a pairing ran (Chrome stopped it): the
    /// pairing's keys lived only in memory, so it cannot resume. Reports it
    /// as failed, with what happened; nothing was installed (a new device
    /// installs a welcome in one step, or not at all).
    pub fn interrupted(&self) {
        if self.host.dev.borrow().is_pairing() {
            return;
        }
        let phase = tandem_device::PairingPhase::Failed {
            error: "The extension restarted during the pairing, so it stopped; nothing was \
                    installed. Start the pairing again."
                .into(),
        };
        let e = tandem_device::Event::Pairing(phase.clone());
        *self.host.pairing.borrow_mut() = Some(phase);
        emit(&self.host, &events::to_json(&e));
    }

    /// Whether a pairing runs (the worker ticks every second meanwhile).
    pub fn pairing(&self) -> bool {
        self.host.dev.borrow().is_pairing()
    }

    /// What the Devices screen shows, as JSON: this device, the group, every
    /// device with paired/last-seen times, the connection and pairing state.
    pub fn view(&self) -> String {
        let dev = self.host.dev.borrow();
        events::view(&dev, self.host.pairing.borrow().as_ref())
    }

    /// Messages and requests from the other devices not yet cleared
    /// (`{"kind":"clear_inbox","upto":id}`), as JSON
    /// `[{"id","from","request","sync","text"}]` (`text` is `null` when the
    /// data is not UTF-8; `sync`: a message of the metadata sync, which only
    /// the sync module reads, applying what waits here when it attaches).
    /// The shell hands each to whatever reads it (confirm on phone), then
    /// clears up to the last one it handled.
    pub fn inbox(&self) -> String {
        let dev = self.host.dev.borrow();
        let items: Vec<String> = dev
            .state()
            .inbox()
            .iter()
            .map(|m| {
                tandem_device::json::Object::new()
                    .str("from", &m.from.to_hex())
                    .num("id", m.id)
                    .bool("request", m.request)
                    .bool("sync", m.data.0.starts_with(SYNC_MESSAGE))
                    .opt_str("text", core::str::from_utf8(&m.data.0).ok())
                    .end()
            })
            .collect();
        format!("[{}]", items.join(","))
    }

    /// Closes every socket (the worker is going away or the wallet was reset).
    /// The sockets go at once, not after the queued outputs: the worker
    /// replaces this module by the sync one while a persist may be under
    /// way, and a message heard after that would be stored by nobody (the
    /// replaced module's writes are dropped) yet acknowledged to the relay.
    /// Unacknowledged, it waits there for the module that replaces this one.
    pub fn close(&self) {
        close_all(&self.host);
        self.host.want_online.set(false);
        input(
            &self.host,
            Input::Command(tandem_device::Command::Disconnect),
        );
    }
}

/// Checks a relay URL for the settings: `wss://`, or `ws://` only to this
/// machine.
#[wasm_bindgen(js_name = checkRelay)]
pub fn check_relay(url: &str) -> Result<(), JsError> {
    commands::check_relay(url).map_err(|e| JsError::new(&e))
}

/// Feeds the engine and makes sure the output queue is being worked off.
fn input(host: &Rc<Host>, i: Input) {
    let outs = host.dev.borrow_mut().handle(i, now(), &mut OsRng);
    host.queue.borrow_mut().extend(outs);
    #[cfg(feature = "sync")]
    sync::after_input(host);
    if !host.running.get() {
        wasm_bindgen_futures::spawn_local(run(Rc::clone(host)));
    }
}

/// Carries out the queued outputs one at a time, in order, waiting for each
/// persist to complete before the next output.
async fn run(host: Rc<Host>) {
    if host.running.replace(true) {
        return;
    }
    loop {
        let next = host.queue.borrow_mut().pop_front();
        let Some(o) = next else { break };
        match o {
            Output::Persist => {
                // The state written is the engine's state now, which holds
                // every change whose Persist is still queued (the engine
                // emits Persist after the change, and the queue only grows
                // after handle() returned): those are done by this write
                // too, and nothing behind them goes out before it completes.
                // Without this, a burst of 16 sync messages (each held in
                // the state's outbox until the relay has it) wrote the whole
                // state, outbox included, 16 times: 10,000 records turned
                // on wrote some 20 MB (scripts/bench-snapshot, profile).
                // No await between this and persist()'s snapshot.
                host.queue
                    .borrow_mut()
                    .retain(|o| !matches!(o, Output::Persist));
                if let Err(e) = persist(&host).await {
                    // Nothing after this may go out (it could acknowledge
                    // what was not stored): drop it and start over.
                    host.queue.borrow_mut().clear();
                    close_all(&host);
                    emit(&host, &events::failure("storing the device state", &e));
                }
            }
            Output::Event(e) => {
                #[cfg(feature = "sync")]
                sync::on_event(&host, &e).await;
                let json = events::to_json(&e);
                let note = events::notification(&host.dev.borrow(), &e);
                if let tandem_device::Event::Pairing(p) = &e {
                    *host.pairing.borrow_mut() = Some(p.clone());
                }
                if let tandem_device::Event::Online = e {
                    host.backoff.set(1);
                }
                if let tandem_device::Event::Offline { .. } = e {
                    schedule_reconnect(&host);
                }
                let note = note.map_or(JsValue::NULL, |n| JsValue::from_str(&n));
                let _ = host
                    .emit
                    .call2(&JsValue::NULL, &JsValue::from_str(&json), &note);
            }
            Output::Connect { link, url } => connect(&host, link, &url),
            Output::Send { link, text } => {
                let sent = host
                    .sockets
                    .borrow()
                    .get(&link)
                    .map(|s| s.ws.send_with_str(&text).is_ok());
                if sent == Some(false) {
                    drop_socket(&host, link);
                    let outs = host.dev.borrow_mut().handle(
                        Input::Closed(link, "the connection broke".into()),
                        now(),
                        &mut OsRng,
                    );
                    host.queue.borrow_mut().extend(outs);
                }
            }
            Output::Close { link } => drop_socket(&host, link),
        }
    }
    host.running.set(false);
}

async fn persist(host: &Rc<Host>) -> Result<(), String> {
    // Snapshot first: no borrow of the engine may live across an await (a
    // socket callback may feed it meanwhile; its outputs wait in the queue).
    let plain = {
        let dev = host.dev.borrow();
        seal::plaintext(dev.identity(), dev.state())
    };
    let sealed = seal::encrypt::<false>(&host.key, plain).await?;
    let p = host
        .persist
        .call1(&JsValue::NULL, &JsValue::from_str(&sealed))
        .map_err(|e| js_error_text(&e))?;
    if let Ok(p) = p.dyn_into::<js_sys::Promise>() {
        wasm_bindgen_futures::JsFuture::from(p)
            .await
            .map_err(|e| js_error_text(&e))?;
    }
    Ok(())
}

/// What a JavaScript exception says: an `Error`'s name and message, a
/// thrown string itself. (Not `Debug`: release modules format no `Debug`.)
pub(crate) fn js_error_text(e: &JsValue) -> String {
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return format!(
            "{}: {}",
            String::from(err.name()),
            String::from(err.message())
        );
    }
    e.as_string()
        .unwrap_or_else(|| "an error that is not an Error or a string".into())
}

fn emit(host: &Host, json: &str) {
    let _ = host.emit.call1(&JsValue::NULL, &JsValue::from_str(json));
}

fn connect(host: &Rc<Host>, link: LinkId, url: &str) {
    drop_socket(host, link);
    let generation = host.generation.get().wrapping_add(1);
    host.generation.set(generation);
    let ws = match web_sys::WebSocket::new(url) {
        Ok(ws) => ws,
        Err(_) => {
            let h = Rc::clone(host);
            let reason = format!("cannot open a connection to {url}");
            wasm_bindgen_futures::spawn_local(async move {
                input(&h, Input::Closed(link, reason));
            });
            return;
        }
    };
    let weak = Rc::downgrade(host);
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let Some(h) = weak.upgrade() else { return };
            if !current(&h, link, generation) {
                return;
            }
            if let Some(text) = e.data().as_string() {
                input(&h, Input::Text(link, text));
            }
        });
    let weak = Rc::downgrade(host);
    let on_close = Closure::<dyn FnMut(web_sys::CloseEvent)>::new(move |e: web_sys::CloseEvent| {
        let Some(h) = weak.upgrade() else { return };
        if !current(&h, link, generation) {
            return;
        }
        h.sockets.borrow_mut().remove(&link);
        let reason = if e.reason().is_empty() {
            format!("connection closed (code {})", e.code())
        } else {
            e.reason()
        };
        input(&h, Input::Closed(link, reason));
    });
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    host.sockets.borrow_mut().insert(
        link,
        Sock {
            generation,
            ws,
            _on_message: on_message,
            _on_close: on_close,
        },
    );
}

fn current(host: &Host, link: LinkId, generation: u32) -> bool {
    host.sockets
        .borrow()
        .get(&link)
        .is_some_and(|s| s.generation == generation)
}

fn drop_socket(host: &Host, link: LinkId) {
    if let Some(s) = host.sockets.borrow_mut().remove(&link) {
        s.ws.set_onmessage(None);
        s.ws.set_onclose(None);
        let _ = s.ws.close();
    }
}

fn close_all(host: &Host) {
    for link in [LinkId::Main, LinkId::Pairing] {
        drop_socket(host, link);
    }
}

fn start_keepalive(host: &Rc<Host>) {
    if host.keepalive.borrow().is_some() {
        return;
    }
    let weak = Rc::downgrade(host);
    let cb = Closure::<dyn FnMut()>::new(move || {
        let Some(h) = weak.upgrade() else { return };
        if h.want_online.get() {
            input(&h, Input::Command(tandem_device::Command::KeepAlive));
            input(&h, Input::Tick);
        }
    });
    set_interval(cb.as_ref().unchecked_ref(), KEEPALIVE_MS);
    *host.keepalive.borrow_mut() = Some(cb);
}

/// After a drop: try again after 1, 2, 4 … 60 s while the user wants the
/// group link (the worker's 30 s alarm also retries, after a restart).
fn schedule_reconnect(host: &Rc<Host>) {
    if !host.want_online.get() || host.reconnect_pending.replace(true) {
        return;
    }
    let delay = host.backoff.get();
    host.backoff.set((delay * 2).min(MAX_BACKOFF_SECS));
    let weak = Rc::downgrade(host);
    let cb = Closure::once_into_js(move || {
        let Some(h) = weak.upgrade() else { return };
        h.reconnect_pending.set(false);
        if h.want_online.get() && !h.dev.borrow().is_online() {
            input(&h, Input::Command(tandem_device::Command::Connect));
        }
    });
    set_timeout(cb.unchecked_ref(), (delay * 1000) as i32);
}
