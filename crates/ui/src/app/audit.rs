//! The popup's side of the activity log: the `audit.*` calls of
//! extension/API.md, the filters (applied in `crate::audit`) and the export
//! saved as a file. What is shown and how is decided in `crate::audit`.

use super::{call, go, render, with_ui};
use crate::audit::{AuditAction, AuditScreen, AuditView};
use crate::view::Screen;
use crate::{Error, Result};
use serde_json::{json, Value};
use wasm_bindgen::JsCast;

fn read_view(v: Value) -> Result<AuditView> {
    serde_json::from_value(v).map_err(|e| {
        Error::Browser(format!(
            "the wallet sent an activity log this page cannot read: {e}"
        ))
    })
}

/// Opens Settings → Activity log (the worker loads the log's module and
/// signs what waited for it first).
pub(super) async fn open() -> Result<()> {
    go(Screen::Audit);
    let view = read_view(call("audit.view", Value::Null).await?)?;
    with_ui(|ui| {
        let filter = ui.audit.take().map(|s| s.filter).unwrap_or_default();
        ui.audit = Some(AuditScreen { view, filter });
    });
    render();
    Ok(())
}

/// A log screen action.
pub(super) async fn run(a: AuditAction) -> Result<()> {
    match a {
        AuditAction::Filter(which, value) => {
            with_ui(|ui| {
                if let Some(s) = ui.audit.as_mut() {
                    s.filter.set(which, value);
                }
            });
            render();
        }
        AuditAction::Export(format) => {
            let out = call("audit.export", json!({ "format": format })).await?;
            let text = out.get("text").and_then(Value::as_str).unwrap_or_default();
            let (mime, ext) = if format == "csv" {
                ("text/csv", "csv")
            } else {
                ("application/json", "json")
            };
            save(text, mime, &format!("tandem-activity-log.{ext}"))?;
            with_ui(|ui| ui.notice = Some(format!("Saved tandem-activity-log.{ext}")));
            render();
        }
    }
    Ok(())
}

/// Offers `text` as a download named `name`.
fn save(text: &str, mime: &str, name: &str) -> Result<()> {
    let fail = |what: &str| Error::Browser(format!("could not save the file: {what}"));
    let parts = js_sys::Array::of1(&text.into());
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts)
        .map_err(|_| fail("no blob"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| fail("no URL"))?;
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| fail("no document"))?;
    let a = doc
        .create_element("a")
        .map_err(|_| fail("no link"))?
        .dyn_into::<web_sys::HtmlAnchorElement>()
        .map_err(|_| fail("no link"))?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}
