//! The engine's events and the device list as JSON for the popup. Raw data
//! (ids, Unix times, reasons as words); the popup formats them.

use tandem_device::json::Object;
use tandem_device::{Device, Event, PairingPhase};
use tandem_pair::{RevocationRecord, RevocationTarget};

// Every object below is written with its keys in sorted order: the bytes
// `serde_json::json!(...).to_string()` wrote before (`Value` sorts its maps),
// without linking `Value` into the module. The tests compare the two.

fn record(r: &RevocationRecord) -> String {
    let target = match r.target() {
        RevocationTarget::Device(d) => Object::new().str("device", &d.to_hex()),
        RevocationTarget::Token(t) => Object::new().str("token", &t.to_hex()),
    }
    .end();
    Object::new()
        .num("at", r.issued_at())
        .str("by", &r.issuer_device().to_hex())
        .bool("erase", r.erase())
        .str("reason", r.reason().as_str())
        .num("seq", u64::from(r.seq()))
        .raw("target", &target)
        .end()
}

fn kind(k: &str) -> String {
    Object::new().str("kind", k).end()
}

/// One event.
pub(crate) fn to_json(e: &Event) -> String {
    let o = Object::new();
    match e {
        Event::Online => kind("online"),
        Event::Offline { reason } => o.str("kind", "offline").str("reason", reason).end(),
        Event::Message { id, from, data } => o
            .str("from", &from.to_hex())
            .num("id", *id)
            .str("kind", "message")
            .num("len", data.len() as u64)
            .end(),
        Event::Request { id, from, data } => o
            .str("from", &from.to_hex())
            .num("id", *id)
            .str("kind", "request")
            .num("len", data.len() as u64)
            .end(),
        Event::Sent { what, full } => {
            let full: Vec<String> = full.iter().map(|d| d.to_hex()).collect();
            o.strs("full", full.iter().map(String::as_str))
                .str("kind", "sent")
                .str("what", what)
                .end()
        }
        Event::DeviceAdded { device, name, by } => o
            .str("by", &by.to_hex())
            .str("device", &device.to_hex())
            .str("kind", "device_added")
            .str("name", name)
            .end(),
        Event::DeviceNamed { device, name } => o
            .str("device", &device.to_hex())
            .str("kind", "device_named")
            .str("name", name)
            .end(),
        Event::TokenRefreshed { device, expires_at } => o
            .str("device", &device.to_hex())
            .num("expires_at", *expires_at)
            .str("kind", "token_refreshed")
            .end(),
        Event::DeviceRevoked { record: r } => o
            .str("kind", "device_revoked")
            .raw("record", &record(r))
            .end(),
        Event::RemovedFromGroup { record: r } => {
            o.str("kind", "removed").raw("record", &record(r)).end()
        }
        Event::KeyRotated { epoch } => o
            .num("epoch", u64::from(*epoch))
            .str("kind", "key_rotated")
            .end(),
        Event::Rejected { from, error } => o
            .str("error", error)
            .str("from", &from.to_hex())
            .str("kind", "rejected")
            .end(),
        Event::Deferred { from, reason } => o
            .str("from", &from.to_hex())
            .str("kind", "deferred")
            .str("reason", reason)
            .end(),
        Event::ChainConflict { detail } => {
            o.str("detail", detail).str("kind", "chain_conflict").end()
        }
        Event::Devices => kind("devices"),
        Event::Pairing(p) => o
            .str("kind", "pairing")
            .raw("pairing", &p.sorted_json())
            .end(),
        Event::RevokeDone {
            record: r,
            key_updates,
        } => o
            .num("key_updates", *key_updates as u64)
            .str("kind", "revoke_done")
            .raw("record", &record(r))
            .end(),
        Event::TokenExpiring { expires_at } => o
            .num("expires_at", *expires_at)
            .str("kind", "token_expiring")
            .end(),
        Event::TokenExpired { expires_at } => o
            .num("expires_at", *expires_at)
            .str("kind", "token_expired")
            .end(),
        Event::StartedOver => kind("started_over"),
        Event::Failed { what, error } => failure(what, error),
        _ => kind("unknown"),
    }
}

/// A failure, shaped like the engine's.
pub(crate) fn failure(what: &str, error: &str) -> String {
    Object::new()
        .str("error", error)
        .str("kind", "failed")
        .str("what", what)
        .end()
}

/// The Devices screen's data.
pub(crate) fn view(dev: &Device, pairing: Option<&PairingPhase>) -> String {
    dev.view(pairing.cloned()).sorted_json()
}

pub(crate) fn name_of(dev: &Device, d: &tandem_pair::DeviceId) -> String {
    dev.state()
        .group
        .member(d)
        .map(|m| m.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("device {}", &d.to_hex()[..8]))
}

pub(crate) fn note(title: &str, message: &str) -> String {
    Object::new()
        .str("message", message)
        .str("title", title)
        .end()
}

/// The browser notification an event calls for, as JSON `{"title",
/// "message"}`: a device joined, a device was revoked, this browser was
/// removed, its pairing expires soon. Made from the event itself when it is
/// emitted (the shell passes it to `emit` beside the event), with the names
/// the device knows then.
pub(crate) fn notification(dev: &Device, e: &Event) -> Option<String> {
    let target = |r: &RevocationRecord| match r.target() {
        RevocationTarget::Device(d) => name_of(dev, &d),
        RevocationTarget::Token(t) => format!("token {}", &t.to_hex()[..8]),
    };
    Some(match e {
        Event::DeviceAdded { device, by, .. } => note(
            "A device joined your wallet",
            &format!(
                "{} was approved by {}. If this was not you, revoke it in Devices.",
                name_of(dev, device),
                name_of(dev, by)
            ),
        ),
        Event::DeviceRevoked { record } => note(
            "A device was removed from your wallet",
            &format!(
                "{} was revoked by {} ({}).",
                target(record),
                name_of(dev, &record.issuer_device()),
                record.reason().as_str()
            ),
        ),
        Event::RemovedFromGroup { record } => note(
            "This browser was removed from your wallet",
            &format!(
                "Removed by {} ({}). Group keys on this browser are wiped; syncing stopped.",
                name_of(dev, &record.issuer_device()),
                record.reason().as_str()
            ),
        ),
        Event::TokenExpiring { .. } => note(
            "This browser's pairing expires soon",
            "Tandem asked your other devices to renew it. Open one of them (it renews \
             the pairing when it is online), or pair again from Devices.",
        ),
        Event::TokenExpired { .. } => note(
            "This browser's pairing expired",
            "Your other devices did not renew it in time, so the relay no longer lets this \
             browser in: nothing syncs and no request reaches your phone. Open Devices and tap \
             Pair again.",
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;
    use serde_json::{json, Value};
    use tandem_device::State;
    use tandem_pair::{
        DeviceId, IdentityKey, RevocationId, RevocationReason, RevocationRequest, TokenId,
    };

    // What these functions were before: `Value`s, written with `to_string`.
    fn old_record(r: &RevocationRecord) -> Value {
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

    fn old_to_json(e: &Event) -> Value {
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
                json!({"kind": "device_revoked", "record": old_record(r)})
            }
            Event::RemovedFromGroup { record: r } => {
                json!({"kind": "removed", "record": old_record(r)})
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
            } => {
                json!({"kind": "revoke_done", "record": old_record(r), "key_updates": key_updates})
            }
            Event::TokenExpiring { expires_at } => {
                json!({"kind": "token_expiring", "expires_at": expires_at})
            }
            Event::TokenExpired { expires_at } => {
                json!({"kind": "token_expired", "expires_at": expires_at})
            }
            Event::StartedOver => json!({"kind": "started_over"}),
            Event::Failed { what, error } => {
                json!({"kind": "failed", "what": what, "error": error})
            }
            _ => json!({"kind": "unknown"}),
        }
    }

    fn records() -> (IdentityKey, Vec<RevocationRecord>) {
        let k = IdentityKey::generate(&mut OsRng);
        let group = tandem_pair::GroupId::founded(&k.public(), &[1; 16]);
        let req = |target, reason, erase, seq| RevocationRequest {
            group,
            target,
            rotator: Some(k.device_id()),
            seq,
            prev: RevocationId::NONE,
            reason,
            erase,
        };
        let recs = vec![
            RevocationRecord::issue(
                &k,
                &req(
                    RevocationTarget::Device(DeviceId([7; 16])),
                    RevocationReason::Lost,
                    true,
                    1,
                ),
                1_700_000_000,
            ),
            RevocationRecord::issue(
                &k,
                &req(
                    RevocationTarget::Token(TokenId([9; 16])),
                    RevocationReason::Retired,
                    false,
                    2,
                ),
                5,
            ),
        ];
        (k, recs)
    }

    #[test]
    fn events_are_the_bytes_value_wrote() {
        let (_, recs) = records();
        let d = DeviceId([0xab; 16]);
        let s = |t: &str| t.to_owned();
        let mut events = vec![
            Event::Online,
            Event::Offline {
                reason: s("gone \"away\"\n"),
            },
            Event::Message {
                id: 3,
                from: d,
                data: vec![1, 2],
            },
            Event::Request {
                id: u64::MAX,
                from: d,
                data: vec![],
            },
            Event::Sent {
                what: s("a message"),
                full: vec![],
            },
            Event::Sent {
                what: s("x"),
                full: vec![d, DeviceId([1; 16])],
            },
            Event::DeviceAdded {
                device: d,
                name: s("phone é"),
                by: DeviceId([2; 16]),
            },
            Event::DeviceNamed {
                device: d,
                name: s(""),
            },
            Event::TokenRefreshed {
                device: d,
                expires_at: 0,
            },
            Event::KeyRotated { epoch: u32::MAX },
            Event::Rejected {
                from: d,
                error: s("bad"),
            },
            Event::Deferred {
                from: d,
                reason: s("later"),
            },
            Event::ChainConflict {
                detail: s("conflict"),
            },
            Event::Devices,
            Event::Pairing(PairingPhase::WaitingForOtherDevice),
            Event::Pairing(PairingPhase::Paired {
                name: s("n"),
                device: s("d"),
            }),
            Event::Pairing(PairingPhase::Offer {
                link: s("l"),
                expires_at: 4,
            }),
            Event::TokenExpiring { expires_at: 8 },
            Event::TokenExpired { expires_at: 9 },
            Event::StartedOver,
            Event::Failed {
                what: s("w"),
                error: s("e\t"),
            },
        ];
        for r in recs {
            events.push(Event::DeviceRevoked { record: r.clone() });
            events.push(Event::RemovedFromGroup { record: r.clone() });
            events.push(Event::RevokeDone {
                record: r,
                key_updates: 2,
            });
        }
        for e in &events {
            assert_eq!(to_json(e), old_to_json(e).to_string(), "{e:?}");
        }
        assert_eq!(
            failure("storing", "quota"),
            json!({"kind": "failed", "what": "storing", "error": "quota"}).to_string()
        );
    }

    #[test]
    fn view_and_notifications() {
        let (k, recs) = records();
        let state =
            State::found(&k, "laptop", "ws://127.0.0.1:8787/v1/ws", 10, &mut OsRng).unwrap();
        let dev = Device::new(k, state);
        for p in [None, Some(PairingPhase::TypeCode { name: "x".into() })] {
            assert_eq!(
                view(&dev, p.as_ref()),
                serde_json::to_value(dev.view(p.clone()))
                    .unwrap()
                    .to_string()
            );
        }
        let me = dev.identity().device_id();
        let other = tandem_pair::DeviceId([0x00, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        for (event, want) in [
            (
                Event::DeviceAdded {
                    device: me,
                    name: "laptop".into(),
                    by: other,
                },
                Some(
                    r#"{"message":"laptop was approved by device 00110000. If this was not you, revoke it in Devices.","title":"A device joined your wallet"}"#,
                ),
            ),
            (
                Event::DeviceRevoked {
                    record: recs[0].clone(),
                },
                // The record's issuer is this device.
                Some(
                    r#"{"message":"device 07070707 was revoked by laptop (lost).","title":"A device was removed from your wallet"}"#,
                ),
            ),
            (
                Event::RemovedFromGroup {
                    record: recs[0].clone(),
                },
                Some(
                    r#"{"message":"Removed by laptop (lost). Group keys on this browser are wiped; syncing stopped.","title":"This browser was removed from your wallet"}"#,
                ),
            ),
            (
                Event::TokenExpiring { expires_at: 1 },
                Some(
                    r#"{"message":"Tandem asked your other devices to renew it. Open one of them (it renews the pairing when it is online), or pair again from Devices.","title":"This browser's pairing expires soon"}"#,
                ),
            ),
            (
                Event::TokenExpired { expires_at: 1 },
                Some(
                    r#"{"message":"Your other devices did not renew it in time, so the relay no longer lets this browser in: nothing syncs and no request reaches your phone. Open Devices and tap Pair again.","title":"This browser's pairing expired"}"#,
                ),
            ),
            (Event::Online, None),
            (Event::Devices, None),
        ] {
            assert_eq!(notification(&dev, &event).as_deref(), want, "{event:?}");
        }
    }
}
