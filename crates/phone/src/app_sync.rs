//! The sync module's half of the page (cargo feature `sync`, artifact
//! `tandem_phone_sync`): attaches sync to this phone's device engine (its
//! sealed state in `localStorage["tandem.phone.sync"]`, sealed like the
//! device state under the key `phone/boot.js` keeps), records this phone's
//! audit entries, reads the checked log and the sync status for the model,
//! and saves an export as a download. What to record and show is decided
//! in `activity`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use tandem_sync::audit::Happened;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};

use crate::activity::{FLAG_KEY, QUEUE_KEY, STATE_KEY};
use crate::app::{render, storage, App};
use tandem_ui::dom;

/// Entries made before the log was open (an unlock comes before the
/// device engine opens), and whether it is open.
#[derive(Default)]
pub(crate) struct Slot {
    attached: Cell<bool>,
    waiting: RefCell<Vec<Happened>>,
    /// When to write the backup of this phone's phrase.
    backup: RefCell<crate::backup::Schedule>,
}

/// Attaches sync to the opened device engine, then records what waited.
pub(crate) async fn attach(a: &Rc<App>) {
    let Some(host) = a.host.borrow().clone() else {
        return;
    };
    let sealed = storage().and_then(|s| s.get_item(STATE_KEY).ok().flatten());
    let persist = crate::app::persist_to(STATE_KEY);
    if let Err(e) = JsFuture::from(host.attach_sync(sealed, persist)).await {
        a.phone.borrow_mut().error = Some(format!(
            "The Activity log could not be opened: {}",
            crate::app::js_message(&e)
        ));
        render(a, true);
        return;
    }
    a.sync.attached.set(true);
    // What the plain module heard for the log (a pairing made while it
    // ran), oldest first; then what waited in this page.
    let stored = storage().and_then(|s| s.get_item(QUEUE_KEY).ok().flatten());
    for w in crate::activity::waiting(stored.as_deref()) {
        let recorded = match host.audit_event(&w.event, w.at_ms) {
            Ok(p) => JsFuture::from(p).await.map(|_| ()),
            Err(e) => Err(JsValue::from(e)),
        };
        if let Err(e) = recorded {
            // Unreadable (it can never be written): it goes, said so.
            web_sys::console::warn_1(
                &format!(
                    "tandem: a waiting Activity log entry was dropped: {}",
                    crate::app::js_message(&e)
                )
                .into(),
            );
        }
    }
    if stored.is_some() {
        if let Some(s) = storage() {
            let _ = s.remove_item(QUEUE_KEY);
        }
    }
    let waiting = std::mem::take(&mut *a.sync.waiting.borrow_mut());
    for h in waiting {
        record(a, h);
    }
    // The backup of this phone's phrase: its key if unlocked, and a write
    // cut short before (the next tick starts it when due).
    if a.phone.borrow().backup_key_wanted() {
        backup_unlocked(a);
    }
}

/// Records `h` in this phone's chain (signed and stored by the engine),
/// or keeps it until the log is open.
pub(crate) fn record(a: &Rc<App>, h: Happened) {
    let host = a.host.borrow().clone();
    let Some(host) = host.filter(|_| a.sync.attached.get()) else {
        a.sync.waiting.borrow_mut().push(h);
        return;
    };
    let json = serde_json::to_string(&h).unwrap_or_default();
    let stored = host.audit_record(&json, js_sys::Date::now());
    let a = Rc::clone(a);
    spawn_local(async move {
        let result = match stored {
            Ok(p) => JsFuture::from(p).await.map(|_| ()),
            Err(e) => Err(JsValue::from(e)),
        };
        match result {
            Ok(()) => refresh(&a),
            Err(e) => {
                a.phone.borrow_mut().error = Some(format!(
                    "This phone could not record it in the Activity log: {}",
                    crate::app::js_message(&e)
                ));
            }
        }
        render(&a, true);
    });
}

/// Reads the checked log and the sync status into the model.
pub(crate) fn refresh(a: &App) {
    if !a.sync.attached.get() {
        return;
    }
    let Some(host) = a.host.borrow().clone() else {
        return;
    };
    if let Some(v) = host
        .audit_view()
        .ok()
        .and_then(|j| serde_json::from_str(&j).ok())
    {
        a.phone.borrow_mut().on_audit(v);
    }
    if let Some(v) = host
        .sync_view(None)
        .ok()
        .and_then(|j| serde_json::from_str(&j).ok())
    {
        a.phone.borrow_mut().on_sync(v);
    }
    if let Ok(records) = host.sync_records(&crate::wallet_view::CATEGORIES) {
        a.phone.borrow_mut().on_wallet_records(records);
    }
}

/// Turns the log off: the flag `phone/boot.js` reads back to off (the
/// plain module loads after the reload), this phone's copy deleted when
/// `delete`, then one reload.
pub(crate) fn turn_off(a: &App, delete: bool) {
    // The copy first: if the flag then stays, the log is still on (and
    // new), never off with a copy the user asked to delete.
    let done = storage().and_then(|s| {
        if delete {
            s.remove_item(STATE_KEY).ok()?;
        }
        s.remove_item(FLAG_KEY).ok()
    });
    match (done, web_sys::window()) {
        (Some(()), Some(w)) => {
            let _ = w.location().reload();
        }
        _ => {
            let mut p = a.phone.borrow_mut();
            p.notice = None;
            p.error =
                Some("This browser did not store the setting: the Activity log stays on.".into());
            drop(p);
            render(a, true);
        }
    }
}

/// Saves the log as `tandem-activity.<format>` (a download of a data URL:
/// the file never leaves the phone).
pub(crate) fn export(a: &App, format: &str) {
    let Some(host) = a.host.borrow().clone() else {
        return;
    };
    let text = match host.audit_export(format) {
        Ok(t) => t,
        Err(e) => {
            a.phone.borrow_mut().error = Some(crate::app::js_message(&JsValue::from(e)));
            return;
        }
    };
    let mime = if format == "csv" {
        "text/csv"
    } else {
        "application/json"
    };
    let href = format!(
        "data:{mime};charset=utf-8,{}",
        String::from(js_sys::encode_uri_component(&text))
    );
    let Ok(link) = a.doc.create_element("a") else {
        return;
    };
    let _ = link.set_attribute("href", &href);
    let _ = link.set_attribute("download", &format!("tandem-activity.{format}"));
    if let Some(link) = link.dyn_ref::<web_sys::HtmlElement>() {
        link.click();
    }
}

/// A change made on the Sync screen: this phone's device engine checks
/// and stores it, and sends it to the group (or keeps it until online).
pub(crate) fn edit(a: &App, edit: &serde_json::Value, clear: bool) {
    let Some(host) = a.host.borrow().clone() else {
        return;
    };
    match host.sync_edit(&edit.to_string()) {
        Ok(()) => {
            if clear {
                dom::clear(&a.root, "sync-contact-address");
                dom::clear(&a.root, "sync-contact-name");
            }
            refresh(a);
        }
        Err(e) => {
            a.phone.borrow_mut().error = Some(crate::wallet::sentence(&crate::app::js_message(
                &JsValue::from(e),
            )));
        }
    }
    render(a, true);
}

/// The notices of changes made on another device were read.
pub(crate) fn dismiss(a: &App) {
    if let Some(host) = a.host.borrow().clone() {
        host.sync_dismiss();
        refresh(a);
        render(a, true);
    }
}

/// Restoring (`crate::restore`): finds the newest generation of the
/// backup, hands its secret to the sync engine (it keeps it sealed, as the
/// extension's worker does), reads and opens the backup, and tells the
/// model what it holds.
pub(crate) fn find_backup(a: &Rc<App>) {
    let a = Rc::clone(a);
    spawn_local(async move {
        let found = find(&a).await;
        let effects = a.phone.borrow_mut().on_backup_found(found);
        render(&a, false);
        crate::app::run(&a, effects);
    });
}

async fn find(a: &App) -> Result<Option<tandem_sync::backup::FoundView>, String> {
    let host = a
        .host
        .borrow()
        .clone()
        .ok_or("this phone's device is not open")?;
    let js = |e: JsError| crate::app::js_message(&JsValue::from(e));
    let relay = web_sys::window()
        .map(|w| crate::app::own_relay(&w.location()))
        .ok_or("this page has no window")?;
    // Each generation's secret from the wallet, as the search asks (the
    // borrow is not held across a read).
    let secret_of = |generation: u32| {
        let phone = a.phone.borrow();
        let wallet = phone.wallet.as_ref().ok_or("the wallet is locked")?;
        wallet
            .backup_secret_of(generation)
            .ok_or_else(|| "this wallet has no recovery phrase".to_owned())
    };
    let Some((generation, secret)) = crate::restore::newest(&relay, secret_of, |url| async move {
        crate::app::http_get(&url).await
    })
    .await?
    else {
        // No generation holds records: nothing to restore.
        return Ok(None);
    };
    host.backup_key(&secret[..], Some(generation)).map_err(js)?;
    drop(secret);
    if let Some(req) = host.backup_find().map_err(js)? {
        let req: serde_json::Value = serde_json::from_str(&req).map_err(|e| e.to_string())?;
        let (status, body) = crate::app::http_get(req["url"].as_str().unwrap_or_default()).await;
        let purpose = req["purpose"].as_str().unwrap_or_default();
        host.backup_answer(purpose, status, &body).map_err(js)?;
    }
    Ok(host
        .backup_found()
        .and_then(|j| serde_json::from_str(&j).ok()))
}

/// Merges the backup found (read again if this page did not read it);
/// the engine records this phone's signed `restored` entry.
pub(crate) fn restore_backup(a: &Rc<App>) {
    let a = Rc::clone(a);
    spawn_local(async move {
        let done = async {
            let host = a
                .host
                .borrow()
                .clone()
                .ok_or("this phone's device is not open")?;
            if host.backup_found().is_none() {
                find(&a).await?;
            }
            host.backup_restore()
                .map_err(|e| crate::app::js_message(&JsValue::from(e)))
        }
        .await;
        let effects = a.phone.borrow_mut().on_backup_restored(done);
        refresh(&a);
        render(&a, false);
        crate::app::run(&a, effects);
    });
}

/// The user chose not to restore the backup found.
pub(crate) fn skip_backup(a: &App) {
    if let Some(host) = a.host.borrow().clone() {
        let _ = host.backup_skip();
    }
}

// ---- the backup of this phone's phrase (`crate::backup`) ----------------
// The engine decides what to send (`tandem_sync::backup`), `crate::backup`
// when; this is the HTTP: one request, its answer back, the next request.

/// Hands the engine the backup secret of the generation it wants (the one
/// it holds, or the next while cutting off or following a move), if the
/// wallet is unlocked and has a recovery phrase; whether it took a new one.
fn give_backup_secret(a: &App) -> bool {
    let Some(host) = a.host.borrow().clone().filter(|_| a.sync.attached.get()) else {
        return false;
    };
    let generation = host.backup_generation();
    let secret = a
        .phone
        .borrow()
        .wallet
        .as_ref()
        .and_then(|w| w.backup_secret_of(generation));
    secret.is_some_and(|s| host.backup_key(&s[..], Some(generation)).unwrap_or(false))
}

/// The wallet was unlocked: the engine gets the secret it wants, and what
/// that makes due (a first write, a move) starts now.
pub(crate) fn backup_unlocked(a: &Rc<App>) {
    if give_backup_secret(a) {
        a.sync.backup.borrow_mut().now(js_sys::Date::now());
        backup_tick(a);
    }
}

/// The engine has changes to back up: written after a short wait.
pub(crate) fn backup_soon(a: &Rc<App>) {
    a.sync.backup.borrow_mut().changed(js_sys::Date::now());
}

/// Every second: starts a write when [`crate::backup::Schedule`] says so.
pub(crate) fn backup_tick(a: &Rc<App>) {
    let Some(host) = a.host.borrow().clone().filter(|_| a.sync.attached.get()) else {
        return;
    };
    // A move waits for the next generation's key: handed over if unlocked.
    if host.backup_wants_key() {
        give_backup_secret(a);
    }
    let due = host.backup_due();
    if a.sync.backup.borrow_mut().start(js_sys::Date::now(), due) {
        let a = Rc::clone(a);
        spawn_local(async move {
            if let Err(e) = backup_write(&a, &host).await {
                web_sys::console::warn_1(
                    &format!("tandem: the backup was not written: {e}").into(),
                );
            }
            a.sync.backup.borrow_mut().done();
            refresh(&a);
            render(&a, true);
        });
    }
}

/// Writes (or deletes, or moves) the backup while the engine says one is due.
async fn backup_write(a: &App, host: &tandem_wasm_device::DeviceHost) -> Result<(), String> {
    let js = |e: JsError| crate::app::js_message(&JsValue::from(e));
    for _ in 0..crate::backup::MAX_STEPS {
        // A move of this group's read on the way makes the engine want the
        // next generation's secret: handed over here when unlocked.
        if !(host.backup_due() || (host.backup_wants_key() && give_backup_secret(a))) {
            break;
        }
        let Some(mut next) = host.backup_next().map_err(js)? else {
            break;
        };
        for _ in 0..crate::backup::MAX_STEPS {
            let req: serde_json::Value = serde_json::from_str(&next).map_err(|e| e.to_string())?;
            let field = |k: &str| req[k].as_str().unwrap_or_default().to_owned();
            let (status, body) =
                crate::app::http(&field("method"), &field("url"), req["body"].as_str()).await;
            match host
                .backup_answer(&field("purpose"), status, &body)
                .map_err(js)?
            {
                Some(n) => next = n,
                None => break,
            }
        }
    }
    Ok(())
}

/// A tap in the backup section: delete it, turn it on again (following a
/// move if it was cut off), or cut off the devices outside this group.
pub(crate) fn backup_act(a: &Rc<App>, action: tandem_ui::backup::BackupAction) {
    use tandem_ui::backup::BackupAction;
    let Some(host) = a.host.borrow().clone().filter(|_| a.sync.attached.get()) else {
        return;
    };
    let done = match action {
        BackupAction::Delete => host.backup_delete(),
        BackupAction::TurnOn => {
            give_backup_secret(a);
            let on = host.backup_on();
            // Cut off before: turned on, it follows the next generation.
            give_backup_secret(a);
            on
        }
        BackupAction::CutOff => {
            let cut = host.backup_cut_off();
            give_backup_secret(a);
            cut
        }
        BackupAction::Restore | BackupAction::Skip => Ok(()),
    };
    match done {
        Ok(()) => {
            a.sync.backup.borrow_mut().now(js_sys::Date::now());
            backup_tick(a);
        }
        Err(e) => {
            a.phone.borrow_mut().error = Some(crate::wallet::sentence(&crate::app::js_message(
                &JsValue::from(e),
            )));
        }
    }
    refresh(a);
    render(a, true);
}
