//! The encrypted backup under the recovery phrase's keys, in the worker's
//! sync module (feature `sync`). `tandem_sync::backup` decides; the worker
//! makes its HTTP requests (`fetch`, extension/devices.js) and hands each
//! answer back here.
//!
//! The backup secret comes from the core module (`Keyring.backupSecret`,
//! HKDF over the seed) while the wallet is unlocked and is kept in the
//! sync state, sealed under the device key like the group keys, so a
//! change that arrives while the wallet is locked is backed up too.

use rand_core::{OsRng, RngCore};
use tandem_sync::audit::Happened;
use tandem_sync::backup::{News, Purpose, Request};
use wasm_bindgen::prelude::*;

use crate::sync::{now_ms, spawn_store, with_attached};
use crate::DeviceHost;

fn request_json(r: Option<Request>) -> Option<String> {
    r.map(|r| serde_json::to_string(&r).expect("a request serializes"))
}

fn secret_of(secret: &[u8]) -> Result<&[u8; 32], JsError> {
    secret
        .try_into()
        .map_err(|_| JsError::new("a backup secret is 32 bytes"))
}

/// Onboarding: finds the newest generation of the backup
/// (`tandem_sync::backup::Probe`). The worker reads `generation()` with
/// the core's secret of it (`request`), hands the relay's answer to
/// `answer` while it returns `true`, then restores `chosen()`.
#[wasm_bindgen]
pub struct BackupProbe(tandem_sync::backup::Probe);

#[wasm_bindgen]
impl BackupProbe {
    /// A probe from generation 0.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self(tandem_sync::backup::Probe::new())
    }

    /// The generation to read next, or `undefined` once done.
    pub fn generation(&self) -> Option<u32> {
        self.0.generation()
    }

    /// The read of that generation (`secret`: its secret) on `relay`, as
    /// JSON `{purpose, method, url}`.
    pub fn request(&self, secret: &[u8], relay: &str) -> Result<String, JsError> {
        let r = self
            .0
            .request(secret_of(secret)?, relay)
            .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(serde_json::to_string(&r).expect("a request serializes"))
    }

    /// The relay's answer; returns whether to read the next generation.
    /// Throws with the reason when the relay refused or a backup does not
    /// open.
    pub fn answer(&mut self, secret: &[u8], status: u16, body: &str) -> Result<bool, JsError> {
        self.0
            .answer(secret_of(secret)?, status, body)
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// The generation to restore, once done (`undefined`: nothing to
    /// restore).
    #[wasm_bindgen(js_name = chosenGeneration)]
    pub fn chosen_generation(&self) -> Option<u32> {
        self.0.chosen().map(|(g, _)| g)
    }

    /// Its summary as JSON (`tandem_sync::backup::FoundView`).
    pub fn found(&self) -> Option<String> {
        self.0
            .chosen()
            .map(|(_, f)| serde_json::to_string(&f).expect("a summary serializes"))
    }
}

#[wasm_bindgen]
impl DeviceHost {
    /// Takes the backup secret of `generation` (32 bytes from the core:
    /// `Keyring.backupSecret(backupGeneration())`; default generation 0).
    /// A new one turns the backup on (or moves it on, when this module
    /// asked for the next generation); returns whether it was taken.
    #[wasm_bindgen(js_name = backupKey)]
    pub fn backup_key(&self, secret: &[u8], generation: Option<u32>) -> Result<bool, JsError> {
        let secret = secret_of(secret)?;
        let group = self.group();
        let taken = with_attached(&self.host, |s| {
            let b = s.backup_mut();
            b.set_group(&group);
            b.set_secret(secret, generation.unwrap_or(0))
        })?;
        spawn_store(&self.host);
        Ok(taken)
    }

    /// The generation whose secret to hand over (`backupKey`) when the
    /// wallet is unlocked: the one held, or the next one while cutting off
    /// the devices outside this group or following this group's move.
    #[wasm_bindgen(js_name = backupGeneration)]
    pub fn backup_generation(&self) -> u32 {
        with_attached(&self.host, |s| s.backup().generation_wanted()).unwrap_or(0)
    }

    /// Whether a move of the backup waits for a generation's secret (hand
    /// it over with `backupKey` when the wallet is unlocked).
    #[wasm_bindgen(js_name = backupWantsKey)]
    pub fn backup_wants_key(&self) -> bool {
        with_attached(&self.host, |s| s.backup().wants_key()).unwrap_or(false)
    }

    /// The user cuts off the devices outside this group from the backup:
    /// it moves to the next generation once its secret is handed over
    /// (`backupGeneration`, with the wallet unlocked). Throws with the
    /// reason it cannot (no key yet, backup off).
    #[wasm_bindgen(js_name = backupCutOff)]
    pub fn backup_cut_off(&self) -> Result<(), JsError> {
        let group = self.group();
        with_attached(&self.host, |s| {
            let b = s.backup_mut();
            b.set_group(&group);
            b.cut_off_others()
        })?
        .map_err(|e| JsError::new(&e.to_string()))?;
        spawn_store(&self.host);
        crate::emit(&self.host, r#"{"kind":"sync_status"}"#);
        Ok(())
    }

    /// Whether a backup request is due (the worker then waits a moment, so
    /// a burst of changes makes one write, and calls `backupNext`).
    #[wasm_bindgen(js_name = backupDue)]
    pub fn backup_due(&self) -> bool {
        with_attached(&self.host, |s| s.backup_due()).unwrap_or(false)
    }

    /// The next backup request as JSON `{purpose, method, url, body?}`, or
    /// `undefined` when none is due.
    #[wasm_bindgen(js_name = backupNext)]
    pub fn backup_next(&self) -> Result<Option<String>, JsError> {
        let relay = self.relay();
        let r = with_attached(&self.host, |s| s.backup_next(&relay))?
            .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(request_json(r))
    }

    /// Takes the backup `probe` found (done, and of the generation whose
    /// secret this module holds: `backupKey` first) as the one to restore,
    /// without reading it again; returns whether it did (else `backupFind`).
    #[wasm_bindgen(js_name = backupFoundBy)]
    pub fn backup_found_by(&self, probe: &mut BackupProbe) -> bool {
        with_attached(&self.host, |s| s.backup_mut().found_by(&mut probe.0)).unwrap_or(false)
    }

    /// A read of the backup for restoring (onboarding), or `undefined`
    /// without the backup secret.
    #[wasm_bindgen(js_name = backupFind)]
    pub fn backup_find(&self) -> Result<Option<String>, JsError> {
        let relay = self.relay();
        let r = with_attached(&self.host, |s| s.backup_mut().find(&relay))?
            .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(request_json(r))
    }

    /// The relay's answer to a backup request (`status` 0: it could not be
    /// sent): returns the next request, if any. Throws with the reason the
    /// relay gave, which the Sync screen shows too.
    #[wasm_bindgen(js_name = backupAnswer)]
    pub fn backup_answer(
        &self,
        purpose: &str,
        status: u16,
        body: &str,
    ) -> Result<Option<String>, JsError> {
        let purpose: Purpose = serde_json::from_value(serde_json::Value::String(purpose.into()))
            .map_err(|_| JsError::new("unknown backup request purpose"))?;
        let relay = self.relay();
        let mut nonce = [0u8; 24];
        OsRng.fill_bytes(&mut nonce);
        let known: Vec<_> = crate::audit::known(&self.host.dev.borrow())
            .map(|(_, k)| k)
            .collect();
        let group = self.group();
        let now = now_ms();
        let (r, news) = with_attached(&self.host, |s| {
            s.backup_mut().set_group(&group);
            let r = s.backup_answer(purpose, &relay, status, body, &known, now, nonce);
            (r, s.backup_mut().take_news())
        })?;
        if let Some(news) = news {
            // The move, or the cut-off, goes into the signed log.
            let h = match news {
                News::Moved { generation } => Happened::BackupMoved {
                    generation,
                    here: true,
                },
                News::CutOff { generation } => {
                    // Said at once, not only on the Sync screen: it may
                    // mean someone else has the recovery phrase.
                    let note = crate::events::note(
                        "This browser was cut off from your backup",
                        "A browser that restored this wallet from its recovery phrase cut off the \
                         other devices. If that was not you, someone has your recovery phrase: \
                         move your funds to a new wallet now. Settings, Sync says more.",
                    );
                    let _ = self.host.emit.call2(
                        &JsValue::NULL,
                        &JsValue::from_str(r#"{"kind":"backup_cut_off"}"#),
                        &JsValue::from_str(&note),
                    );
                    Happened::BackupMoved {
                        generation,
                        here: false,
                    }
                }
            };
            crate::sync::record(&self.host, h, now);
        }
        spawn_store(&self.host);
        crate::emit(&self.host, r#"{"kind":"sync_status"}"#);
        Ok(request_json(r.map_err(|e| JsError::new(&e.to_string()))?))
    }

    /// The backup found by `backupFind`, summarised as JSON
    /// (`tandem_sync::backup::FoundView`), or `undefined`.
    #[wasm_bindgen(js_name = backupFound)]
    pub fn backup_found(&self) -> Option<String> {
        with_attached(&self.host, |s| s.backup().found())
            .ok()
            .flatten()
            .map(|f| serde_json::to_string(&f).expect("a summary serializes"))
    }

    /// Merges the backup found into this browser's synced data and its
    /// audit log (the worker then mirrors names and networks into the
    /// wallet on the `sync` event).
    #[wasm_bindgen(js_name = backupRestore)]
    pub fn backup_restore(&self) -> Result<(), JsError> {
        let outs = {
            let dev = self.host.dev.borrow();
            with_attached(&self.host, |s| s.restore(dev.identity(), now_ms()))?
        }
        .map_err(|e| JsError::new(&e.to_string()))?;
        crate::sync::after_restore(&self.host, outs);
        Ok(())
    }

    /// The user chose not to restore the backup found.
    #[wasm_bindgen(js_name = backupSkip)]
    pub fn backup_skip(&self) -> Result<(), JsError> {
        with_attached(&self.host, |s| s.backup_mut().forget_found())
    }

    /// Deletes the backup (a signed delete is due next) and stops writing it.
    #[wasm_bindgen(js_name = backupDelete)]
    pub fn backup_delete(&self) -> Result<(), JsError> {
        with_attached(&self.host, |s| s.backup_mut().delete())?;
        spawn_store(&self.host);
        Ok(())
    }

    /// Turns the backup on again (a write is due next).
    #[wasm_bindgen(js_name = backupOn)]
    pub fn backup_on(&self) -> Result<(), JsError> {
        with_attached(&self.host, |s| s.backup_mut().turn_on())?;
        spawn_store(&self.host);
        Ok(())
    }
}

impl DeviceHost {
    /// The group's id (hex): a retired backup generation's marker names it.
    fn group(&self) -> String {
        self.host.dev.borrow().state().group.id().to_string()
    }

    /// The group's relay (WebSocket URL): the backup lives there too.
    fn relay(&self) -> String {
        self.host.dev.borrow().state().group.relay().to_owned()
    }
}
