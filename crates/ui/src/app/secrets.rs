//! The popup's side of `crate::secrets`: the `secrets.export`,
//! `accounts.import` and `accounts.remove` calls of extension/API.md. What
//! the screens show is decided in `crate::secrets`; this file moves data.

use super::{busy, call, go, render, save_cache, state_call, with_ui};
use crate::secrets::{SecretsAction, PASSWORD_ID};
use crate::validate::{self, ImportSecret};
use crate::view::{Screen, SecretPhrase};
use crate::{dom, form_err, Error, Result};
use serde_json::{json, Value};
use web_sys::Element;
use zeroize::{Zeroize, Zeroizing};

/// A Reveal, Import or Remove action.
pub(super) async fn run(a: SecretsAction, root: &Element) -> Result<()> {
    match a {
        SecretsAction::Reveal(phrase) => {
            let password = Zeroizing::new(dom::field(root, PASSWORD_ID));
            dom::clear(root, PASSWORD_ID);
            if password.is_empty() {
                return Err(form_err("Enter your password"));
            }
            let address = with_ui(|ui| {
                ui.state
                    .as_ref()
                    .and_then(|s| s.current_account())
                    .map(|a| a.address.clone())
            })
            .flatten()
            .ok_or_else(|| form_err("Select an account first"))?;
            let what = if phrase { "phrase" } else { "key" };
            let answer = busy(call(
                "secrets.export",
                json!({"password": password, "address": address, "what": what}),
            ))
            .await;
            let mut v = match answer {
                Ok(v) => v,
                Err(Error::Worker { kind, .. }) if kind == "WrongPassword" => {
                    return Err(form_err("Wrong password. Nothing was shown."))
                }
                Err(e) => return Err(e),
            };
            let secret = v
                .get("secret")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_default();
            if let Some(Value::String(s)) = v.get_mut("secret") {
                s.zeroize();
            }
            if secret.is_empty() {
                return Err(Error::Browser("the wallet returned nothing".into()));
            }
            with_ui(|ui| ui.secrets.shown = Some(SecretPhrase::new(secret)));
            render();
        }
        SecretsAction::Import => {
            let secret = validate::import_secret(&dom::field(root, "account-import-secret"))?;
            let passphrase = Zeroizing::new(dom::field(root, "account-import-passphrase"));
            let params = match &secret {
                ImportSecret::Phrase(p) => json!({"phrase": p, "passphrase": passphrase}),
                ImportSecret::PrivateKey(k) => json!({"privateKey": k}),
            };
            state_call("accounts.import", params).await?;
            dom::clear(root, "account-import-secret");
            dom::clear(root, "account-import-passphrase");
            save_cache().await;
            go(Screen::Accounts);
            with_ui(|ui| ui.notice = Some("Account imported.".into()));
            render();
        }
        SecretsAction::AskRemove(address) => {
            with_ui(|ui| ui.secrets.removing = Some(address));
            go(Screen::RemoveAccount);
        }
        SecretsAction::Remove(address) => {
            state_call("accounts.remove", json!({ "address": address })).await?;
            save_cache().await;
            go(Screen::Accounts);
        }
    }
    Ok(())
}
