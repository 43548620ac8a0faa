//! The popup's side of sync: the `sync.*` calls of extension/API.md and the
//! `sync` event. What the screen shows and what an edit is are decided in
//! `crate::sync`; this file only moves data.

use super::{call, go, render, with_ui};
use crate::sync::{contact_edit, contact_removal, toggle_edit, SyncAction};
use crate::view::Screen;
use crate::{dom, form_err, Error, Result};
use serde_json::{json, Value};
use std::cell::Cell;
use tandem_sync::view::SyncView;
use web_sys::Element;

fn read_view(v: Value) -> Result<SyncView> {
    serde_json::from_value(v).map_err(|e| {
        Error::Browser(format!(
            "the wallet sent a sync view this page cannot read: {e}"
        ))
    })
}

fn apply(v: Value) -> Result<()> {
    let v = read_view(v)?;
    with_ui(|ui| ui.sync = Some(v));
    render();
    Ok(())
}

/// `{"limit": …}`: the records the Sync screen lists (its pages asked
/// for), sent with every call that answers with the view.
fn limit() -> Value {
    json!({ "limit": crate::sync::shown(with_ui(|ui| ui.sync_more).unwrap_or(0)) })
}

/// Opens Settings → Sync (the worker loads its sync module if needed).
pub(super) async fn open() -> Result<()> {
    // The address book's first page again.
    with_ui(|ui| ui.sync_more = 0);
    go(Screen::Sync);
    apply(call("sync.view", limit()).await?)
}

/// "Show 100 more": the next page from the worker.
pub(super) async fn more() -> Result<()> {
    with_ui(|ui| ui.sync_more = ui.sync_more.saturating_add(1));
    apply(call("sync.view", limit()).await?)
}

thread_local! {
    /// A `sync.view` request is under way.
    static FETCHING: Cell<bool> = const { Cell::new(false) };
    /// Something changed while it was: ask again when it answers.
    static AGAIN: Cell<bool> = const { Cell::new(false) };
}

/// After "Import a recovery phrase": a backup under this phrase's keys on
/// the relay is offered on the Sync screen, saying what it brings back.
/// Without one (or without a relay to ask) onboarding ends as before.
pub(super) async fn after_import() {
    match call("backup.find", Value::Null).await {
        Ok(v) if v.get("found").is_some_and(|f| !f.is_null()) => {
            if let Err(e) = open().await {
                with_ui(|ui| ui.error = Some(e.to_string()));
                render();
            }
        }
        Ok(_) => {}
        Err(e) => web_sys::console::warn_1(&format!("tandem: no backup looked up: {e}").into()),
    }
}

/// Home's sync line: the worker answers `sync.status` with the view only
/// where sync was set up (it loads nothing for it otherwise), else null.
pub(super) async fn status() {
    match call("sync.status", Value::Null).await {
        Ok(Value::Null) => {}
        // Counts only, no records: if the Sync screen opened meanwhile, its
        // own answer lists them, and this one, come later, would empty its
        // list ("1 address; loading the list…" under a restored contact:
        // restore.test).
        Ok(_) if with_ui(|ui| ui.screen) == Some(Screen::Sync) => {}
        Ok(v) => {
            if let Err(e) = apply(v) {
                web_sys::console::warn_1(&format!("tandem: {e}").into());
            }
        }
        Err(e) => web_sys::console::warn_1(&format!("tandem: no sync status: {e}").into()),
    }
}

/// Something synced: the open Sync screen shows it, and Home its line. One
/// request at a time (answers may come back out of order; an older view
/// must not replace a newer one), again if more happened meanwhile.
pub(super) async fn refresh() {
    let screen = with_ui(|ui| ui.screen);
    if screen == Some(Screen::Home) {
        return status().await;
    }
    if screen != Some(Screen::Sync) {
        return;
    }
    if FETCHING.with(|f| f.replace(true)) {
        AGAIN.with(|a| a.set(true));
        return;
    }
    loop {
        AGAIN.with(|a| a.set(false));
        if let Err(e) = call("sync.view", limit()).await.and_then(apply) {
            with_ui(|ui| ui.error = Some(e.to_string()));
            render();
        }
        if !AGAIN.with(|a| a.get()) {
            break;
        }
    }
    FETCHING.with(|f| f.set(false));
}

/// A Sync screen action.
pub(super) async fn run(a: SyncAction, root: &Element) -> Result<()> {
    let edit = match a {
        SyncAction::Toggle(k) => {
            let v = with_ui(|ui| ui.sync.clone())
                .flatten()
                .ok_or_else(|| form_err("the sync settings are still loading"))?;
            toggle_edit(&v, &k)?
        }
        SyncAction::AddContact => contact_edit(
            &dom::field(root, "sync-contact-address"),
            &dom::field(root, "sync-contact-name"),
        )?,
        SyncAction::RemoveContact(address) => contact_removal(&address),
        SyncAction::Dismiss => return apply(call("sync.dismiss", limit()).await?),
        SyncAction::Backup(b) => return apply(call(crate::backup::method(b), limit()).await?),
    };
    let mut params = limit();
    if let (Value::Object(p), Value::Object(e)) = (&mut params, edit) {
        p.extend(e);
    }
    apply(call("sync.edit", params).await?)?;
    dom::clear(root, "sync-contact-address");
    dom::clear(root, "sync-contact-name");
    Ok(())
}
