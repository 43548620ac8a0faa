//! The engine's events and the device list as JSON for the popup. Raw data
//! (ids, Unix times, reasons as words); the popup formats them.

use serde_json::{json, Value};
use tandem_device::{Device, Event, PairingPhase};
use tandem_pair::{RevocationRecord, RevocationTarget};

fn record(r: &RevocationRecord) -> Value {
    let target = match r.target() {
        RevocationTarget::Device(d) => json!({"device": d.to_hex()}),
        RevocationTarget::Token(t) => json!({"token": t.to_hex()}),
    };
    json!({
        "by": r.issuer_device().to_hex(),
        "target": target,
        "at": r.issued_at(),
        "reason": r.reason().as_str(),
        "erase": r.erase(),
        "seq": r.seq(),
    })
}

/// One event.
pub(crate) fn to_json(e: &Event) -> Value {
    match e {
        Event::Online => json!({"kind": "online"}),
        Event::Offline { reason } => json!({"kind": "offline", "reason": reason}),
        Event::Message { id, from, data } => json!({
            "kind": "message", "id": id, "from": from.to_hex(), "len": data.len()
        }),
        Event::Request { id, from, data } => json!({
            "kind": "request", "id": id, "from": from.to_hex(), "len": data.len()
        }),
        Event::Sent { what, full } => json!({
            "kind": "sent", "what": what,
            "full": full.iter().map(|d| d.to_hex()).collect::<Vec<_>>()
        }),
        Event::DeviceAdded { device, name, by } => json!({
            "kind": "device_added", "device": device.to_hex(), "name": name, "by": by.to_hex()
        }),
        Event::DeviceNamed { device, name } => json!({
            "kind": "device_named", "device": device.to_hex(), "name": name
        }),
        Event::TokenRefreshed { device, expires_at } => json!({
            "kind": "token_refreshed", "device": device.to_hex(), "expires_at": expires_at
        }),
        Event::DeviceRevoked { record: r } => {
            json!({"kind": "device_revoked", "record": record(r)})
        }
        Event::RemovedFromGroup { record: r } => {
            json!({"kind": "removed", "record": record(r)})
        }
        Event::KeyRotated { epoch } => json!({"kind": "key_rotated", "epoch": epoch}),
        Event::Rejected { from, error } => json!({
            "kind": "rejected", "from": from.to_hex(), "error": error
        }),
        Event::Deferred { from, reason } => json!({
            "kind": "deferred", "from": from.to_hex(), "reason": reason
        }),
        Event::ChainConflict { detail } => json!({"kind": "chain_conflict", "detail": detail}),
        Event::Devices => json!({"kind": "devices"}),
        Event::Pairing(p) => json!({"kind": "pairing", "pairing": p}),
        Event::RevokeDone {
            record: r,
            key_updates,
        } => json!({"kind": "revoke_done", "record": record(r), "key_updates": key_updates}),
        Event::TokenExpiring { expires_at } => {
            json!({"kind": "token_expiring", "expires_at": expires_at})
        }
        Event::StartedOver => json!({"kind": "started_over"}),
        Event::Failed { what, error } => failure(what, error),
        _ => json!({"kind": "unknown"}),
    }
}

/// A failure, shaped like the engine's.
pub(crate) fn failure(what: &str, error: &str) -> Value {
    json!({"kind": "failed", "what": what, "error": error})
}

/// The Devices screen's data.
pub(crate) fn view(dev: &Device, pairing: Option<&PairingPhase>) -> Value {
    serde_json::to_value(dev.view(pairing.cloned())).unwrap_or(Value::Null)
}

fn name_of(dev: &Device, hex: &str) -> String {
    tandem_pair::DeviceId::from_hex(hex)
        .ok()
        .and_then(|d| dev.state().group.member(&d).map(|m| m.name.clone()))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("device {}", &hex[..hex.len().min(8)]))
}

/// The browser notification for an event (see `DeviceHost::notification`).
pub(crate) fn notification(dev: &Device, event_json: &str) -> Value {
    let Ok(e) = serde_json::from_str::<Value>(event_json) else {
        return Value::Null;
    };
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    match e["kind"].as_str() {
        Some("device_added") => json!({
            "title": "A device joined your wallet",
            "message": format!(
                "{} was approved by {}. If this was not you, revoke it in Devices.",
                name_of(dev, &s(&e["device"])),
                name_of(dev, &s(&e["by"]))
            ),
        }),
        Some("device_revoked") => {
            let target = s(&e["record"]["target"]["device"]);
            json!({
                "title": "A device was removed from your wallet",
                "message": format!(
                    "{} was revoked by {} ({}).",
                    name_of(dev, &target),
                    name_of(dev, &s(&e["record"]["by"])),
                    s(&e["record"]["reason"])
                ),
            })
        }
        Some("removed") => json!({
            "title": "This browser was removed from your wallet",
            "message": format!(
                "Removed by {} ({}). Group keys on this browser are wiped; syncing stopped.",
                name_of(dev, &s(&e["record"]["by"])),
                s(&e["record"]["reason"])
            ),
        }),
        Some("token_expiring") => json!({
            "title": "This browser's pairing expires soon",
            "message": "Tandem asked your other devices to renew it. Open one of them (it renews \
                        the pairing when it is online), or pair again from Devices.",
        }),
        _ => Value::Null,
    }
}
