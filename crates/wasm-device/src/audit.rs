//! The audit log in the extension's worker (feature `sync`: the log lives
//! in the sync state and travels with it): what the worker records (an
//! unlock, a site's request answered, a restore), what this module records
//! itself from the engine's events (a pairing, its token refreshed, a
//! revocation this device made),
//! and the checked log for the popup's log screen and its exports.
//!
//! Entries are signed with this device's identity key when recorded and
//! stored sealed with the sync state; [`DeviceHost::audit_record`] and
//! [`DeviceHost::audit_answered`] resolve once that write is done.

use std::rc::Rc;

use serde::Serialize;
use tandem_device::{Device, Event};
use tandem_pair::{DeviceId, IdentityPublic};
use tandem_sync::audit::{export_csv, Checked, Happened};
use wasm_bindgen::prelude::*;

use crate::sync::{now_ms, record, store};
use crate::{events, DeviceHost, Host};

/// One entry as the log screen shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Shown<'a> {
    device: String,
    /// The device's name as this one knows it.
    device_name: String,
    seq: u64,
    at_ms: u64,
    happened: &'a Happened,
    verdict: &'a tandem_sync::audit::Verdict,
}

/// A device whose entries an export holds, for checking it elsewhere.
#[derive(Serialize)]
struct Known {
    device: String,
    name: String,
    identity: IdentityPublic,
    /// Where its key comes from: `"group"` (a device of this group, or
    /// this one), `"restored"` (a backup restored here carried it) or
    /// `"vouched"` (a member that restored a backup signed it).
    source: &'static str,
}

/// The JSON export.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Export<'a> {
    format: &'static str,
    signature_domain: &'static str,
    devices: Vec<Known>,
    entries: &'a [Checked<'a>],
}

#[wasm_bindgen]
impl DeviceHost {
    /// Records what happened here (`happened`: a `tandem_sync::audit::Happened`
    /// as JSON, e.g. `{"kind":"unlock","ok":false}`) at `at_ms`; resolves once
    /// the signed entry is stored.
    #[wasm_bindgen(js_name = auditRecord)]
    pub fn audit_record(&self, happened: &str, at_ms: f64) -> Result<js_sys::Promise, JsError> {
        let h: Happened = serde_json::from_str(happened)
            .map_err(|e| JsError::new(&format!("bad audit entry: {e}")))?;
        Ok(self.recorded(vec![h], at_ms as u64))
    }

    /// Records a site's request answered here: `approval` as the wallet
    /// queued it (JSON), `approved`, the device that answered it when it
    /// was a phone (hex id; else, for an approval, this one), and when it
    /// was answered. A request that signs nothing records nothing.
    /// Resolves once stored.
    #[wasm_bindgen(js_name = auditAnswered)]
    pub fn audit_answered(
        &self,
        approval: &str,
        approved: bool,
        approved_on: Option<String>,
        at_ms: f64,
    ) -> Result<js_sys::Promise, JsError> {
        let a: serde_json::Value = serde_json::from_str(approval)
            .map_err(|e| JsError::new(&format!("bad approval: {e}")))?;
        let approved_on =
            approved_on.or_else(|| approved.then(|| self.host.dev.borrow().id().to_hex()));
        Ok(
            match tandem_sync::answered::sign_entry(&a, approved, approved_on) {
                Some(h) => self.recorded(vec![h], at_ms as u64),
                None => js_sys::Promise::resolve(&JsValue::UNDEFINED),
            },
        )
    }

    /// Records what an engine event (JSON, as the worker heard it from the
    /// plain module, at `at_ms`) makes this device record, if anything: a
    /// pairing (and the token it issued for it), its own token refreshed or
    /// expired, a revocation it issued. Resolves once stored.
    #[wasm_bindgen(js_name = auditEvent)]
    pub fn audit_event(&self, event: &str, at_ms: f64) -> Result<js_sys::Promise, JsError> {
        let e: serde_json::Value =
            serde_json::from_str(event).map_err(|e| JsError::new(&format!("bad event: {e}")))?;
        let entries = happened(&self.host.dev.borrow(), &e);
        Ok(self.recorded(entries, at_ms as u64))
    }

    /// The log, every entry checked, as the log screen shows it:
    /// `{"me","entries":[{device,deviceName,seq,atMs,happened,verdict}],
    /// "devices":[{device,name}]}` (every device this one knows, for the
    /// names of devices that answered requests without writing entries).
    #[wasm_bindgen(js_name = auditView)]
    pub fn audit_view(&self) -> Result<String, JsError> {
        self.checked(|dev, _, checked| {
            let entries: Vec<Shown<'_>> = checked
                .iter()
                .map(|c| Shown {
                    device: c.entry.device.to_hex(),
                    device_name: events::name_of(dev, &c.entry.device),
                    seq: c.entry.seq,
                    at_ms: c.entry.at_ms,
                    happened: &c.entry.happened,
                    verdict: &c.verdict,
                })
                .collect();
            let devices: Vec<serde_json::Value> = known(dev)
                .map(|(d, _)| {
                    serde_json::json!({ "device": d.to_hex(), "name": events::name_of(dev, &d) })
                })
                .collect();
            serde_json::json!({ "me": dev.id().to_hex(), "entries": entries, "devices": devices })
                .to_string()
        })
    }

    /// The log as a file: `"json"` (each entry whole with its signature and
    /// what reading found, and every device's public key, so anyone can
    /// check it again) or `"csv"`.
    #[wasm_bindgen(js_name = auditExport)]
    pub fn audit_export(&self, format: &str) -> Result<String, JsError> {
        match format {
            "csv" => self.checked(|_, _, c| export_csv(c)),
            "json" => self.checked(|dev, log, c| {
                let keys: Vec<(DeviceId, IdentityPublic)> = known(dev).collect();
                let group = |d: &DeviceId| keys.iter().find(|(id, _)| id == d).map(|(_, k)| *k);
                let outside = log.outside_keys(&group);
                let devices: Vec<Known> = keys
                    .iter()
                    .map(|(d, k)| (*d, *k, "group"))
                    .chain(outside)
                    .map(|(device, identity, source)| Known {
                        device: device.to_hex(),
                        name: events::name_of(dev, &device),
                        identity,
                        source,
                    })
                    .collect();
                // Serialized straight from the entries: their fields keep the
                // order they were signed in (a round trip through a JSON
                // value would sort them, and the bytes would not verify).
                serde_json::to_string_pretty(&Export {
                    format: "tandem-audit/v1",
                    signature_domain: tandem_sync::audit::AUDIT_DOMAIN,
                    devices,
                    entries: c,
                })
                .unwrap_or_default()
            }),
            other => Err(JsError::new(&format!(
                "unknown export format {other:?} (json or csv)"
            ))),
        }
    }

    fn recorded(&self, entries: Vec<Happened>, at_ms: u64) -> js_sys::Promise {
        let host = Rc::clone(&self.host);
        wasm_bindgen_futures::future_to_promise(async move {
            if entries.is_empty() {
                return Ok(JsValue::UNDEFINED);
            }
            for h in entries {
                if !record(&host, h, at_ms) {
                    return Err(JsError::new("sync is not open").into());
                }
            }
            store(&host).await;
            Ok(JsValue::UNDEFINED)
        })
    }

    fn checked(
        &self,
        f: impl FnOnce(&Device, &tandem_sync::audit::Log, &[Checked<'_>]) -> String,
    ) -> Result<String, JsError> {
        let stored = self.host.sync.stored.borrow();
        let s = stored
            .as_ref()
            .ok_or_else(|| JsError::new("sync is not open"))?;
        let dev = self.host.dev.borrow();
        let keys: Vec<(DeviceId, IdentityPublic)> = known(&dev).collect();
        let me = dev.id();
        let checked = s
            .syncer
            .audit()
            .verify(me, |d| keys.iter().find(|(id, _)| id == d).map(|(_, k)| *k));
        Ok(f(&dev, s.syncer.audit(), &checked))
    }
}

/// Every device this one knows (revoked ones too: their old entries stay
/// theirs), itself included before it has a group.
pub(crate) fn known(dev: &Device) -> impl Iterator<Item = (DeviceId, IdentityPublic)> + '_ {
    let me = (dev.id(), dev.identity().public());
    let others = dev
        .state()
        .group
        .members()
        .map(|m| (m.identity.device_id(), m.identity))
        .filter(move |(id, _)| *id != me.0);
    std::iter::once(me).chain(others)
}

/// What this device records itself from an engine event: a pairing it
/// took part in (and the token it issued for it), its session token
/// refreshed or expired, a revocation it issued.
pub(crate) fn from_event(host: &Rc<Host>, e: &Event) -> bool {
    let Ok(json) = serde_json::from_str(&events::to_json(e)) else {
        return false;
    };
    let entries = happened(&host.dev.borrow(), &json);
    let at = now_ms();
    // Every entry is recorded (no short circuit).
    let mut any = false;
    for h in entries {
        any |= record(host, h, at);
    }
    any
}

/// The entry an engine event makes, read from the event as the worker
/// hears it (`events::to_json`): the same words whether the event comes
/// straight from this module or waited in the worker's queue, heard by the
/// plain module before this one loaded (a browser's first pairing). A
/// pairing this device approved makes two: the pairing, and the session
/// token it issued for the new device (read from the group, which keeps it).
fn happened(dev: &Device, e: &serde_json::Value) -> Vec<Happened> {
    let paired = e["kind"] == "pairing" && e["pairing"]["step"] == "paired";
    let issued = paired
        .then(|| issued_here(dev, e["pairing"]["device"].as_str()?))
        .flatten();
    entry(dev.id(), e).into_iter().chain(issued).collect()
}

/// The token this device issued to `device` (hex), as an entry.
fn issued_here(dev: &Device, device: &str) -> Option<Happened> {
    let id = DeviceId::from_hex(device).ok()?;
    let token = dev.state().group.member(&id)?.token.as_ref()?;
    (token.issuer_device() == dev.id()).then(|| Happened::Token {
        device: device.to_owned(),
        action: "issued".into(),
        expires_at: token.expires_at(),
    })
}

fn entry(me: DeviceId, e: &serde_json::Value) -> Option<Happened> {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let mine = |v: &serde_json::Value| v.as_str() == Some(me.to_hex().as_str());
    match e["kind"].as_str()? {
        "pairing" if e["pairing"]["step"] == "paired" => Some(Happened::Paired {
            device: text(&e["pairing"]["device"])?,
            name: text(&e["pairing"]["name"])?,
        }),
        // Only this device's own token: every device hears of every refresh.
        "token_refreshed" if mine(&e["device"]) => Some(Happened::Token {
            device: text(&e["device"])?,
            action: "refreshed".into(),
            expires_at: e["expires_at"].as_u64()?,
        }),
        // Said by the engine of this device's own token only.
        "token_expired" => Some(Happened::Token {
            device: me.to_hex(),
            action: "expired".into(),
            expires_at: e["expires_at"].as_u64()?,
        }),
        "device_revoked" if mine(&e["record"]["by"]) => Some(Happened::Revoked {
            device: text(&e["record"]["target"]["device"])?,
            reason: text(&e["record"]["reason"])?,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;
    use serde_json::json;
    use tandem_pair::{
        Capabilities, IdentityKey, RevocationId, RevocationReason, RevocationRecord,
        RevocationRequest, RevocationTarget, SessionToken, TokenRequest,
    };

    /// A device that approved `new` into its group (the token it issued is
    /// in the group, as after a real pairing), and that token.
    fn approver_of(new: &IdentityKey) -> (Device, SessionToken) {
        let me = IdentityKey::generate(&mut OsRng);
        let mut state = tandem_device::State::found(
            &me,
            "laptop",
            "ws://127.0.0.1:8787/v1/ws",
            1_700_000_000,
            &mut OsRng,
        )
        .unwrap();
        let token = SessionToken::issue(
            &me,
            &TokenRequest {
                group: state.group.id(),
                subject: new.public(),
                subject_encryption: new.encryption_public(),
                capabilities: Capabilities::ALL,
                lifetime_secs: 30 * 86_400,
            },
            1_700_000_000,
            &mut OsRng,
        );
        state.group.learn_admitted(token.clone()).unwrap();
        (Device::new(me, state), token)
    }

    fn paired(device: &str) -> serde_json::Value {
        json!({"kind": "pairing", "pairing": {"step": "paired", "device": device, "name": "phone"}})
    }

    #[test]
    fn a_pairing_this_device_approved_records_the_token_it_issued() {
        let phone = IdentityKey::generate(&mut OsRng);
        let (dev, token) = approver_of(&phone);
        let hex = phone.device_id().to_hex();
        assert_eq!(
            happened(&dev, &paired(&hex)),
            vec![
                Happened::Paired {
                    device: hex.clone(),
                    name: "phone".into()
                },
                Happened::Token {
                    device: hex,
                    action: "issued".into(),
                    expires_at: token.expires_at(),
                },
            ]
        );
        // The new device's side: the token in its group was issued by the
        // other one, so the pairing alone.
        let (joiner, _) = approver_of(&IdentityKey::generate(&mut OsRng));
        let approver = dev.id().to_hex();
        assert_eq!(
            happened(&joiner, &paired(&approver)),
            vec![Happened::Paired {
                device: approver,
                name: "phone".into()
            }]
        );
    }

    #[test]
    fn an_expired_token_is_recorded_as_this_devices_own() {
        let (dev, _) = approver_of(&IdentityKey::generate(&mut OsRng));
        let e: serde_json::Value =
            serde_json::from_str(&events::to_json(&Event::TokenExpired { expires_at: 77 }))
                .unwrap();
        assert_eq!(
            happened(&dev, &e),
            vec![Happened::Token {
                device: dev.id().to_hex(),
                action: "expired".into(),
                expires_at: 77,
            }]
        );
        // Another device's refresh is that device's to record.
        let other = json!({"kind": "token_refreshed", "device": "00".repeat(16), "expires_at": 5});
        assert_eq!(happened(&dev, &other), vec![]);
    }

    /// An engine event as the worker hears it (`events::to_json`).
    fn heard(e: &Event) -> serde_json::Value {
        serde_json::from_str(&events::to_json(e)).unwrap()
    }

    #[test]
    fn this_devices_token_refreshed_is_recorded_with_its_new_expiry() {
        let (dev, _) = approver_of(&IdentityKey::generate(&mut OsRng));
        let e = heard(&Event::TokenRefreshed {
            device: dev.id(),
            expires_at: 1_702_592_000,
        });
        assert_eq!(
            happened(&dev, &e),
            vec![Happened::Token {
                device: dev.id().to_hex(),
                action: "refreshed".into(),
                expires_at: 1_702_592_000,
            }]
        );
    }

    #[test]
    fn a_revocation_this_device_issued_is_recorded_with_the_device_and_the_reason() {
        let phone = IdentityKey::generate(&mut OsRng);
        let (dev, _) = approver_of(&phone);
        let revoke = |by: &IdentityKey, target| {
            let request = RevocationRequest {
                group: dev.state().group.id(),
                target,
                rotator: Some(by.device_id()),
                seq: 1,
                prev: RevocationId::NONE,
                reason: RevocationReason::Compromised,
                erase: true,
            };
            heard(&Event::DeviceRevoked {
                record: RevocationRecord::issue(by, &request, 1_700_000_500),
            })
        };
        assert_eq!(
            happened(
                &dev,
                &revoke(dev.identity(), RevocationTarget::Device(phone.device_id()))
            ),
            vec![Happened::Revoked {
                device: phone.device_id().to_hex(),
                reason: "compromised".into(),
            }]
        );
        // One another device issued is that device's to record.
        let other = IdentityKey::generate(&mut OsRng);
        assert_eq!(
            happened(
                &dev,
                &revoke(&other, RevocationTarget::Device(phone.device_id()))
            ),
            vec![]
        );
    }
}
