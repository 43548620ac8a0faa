//! The device list as the user sees it (same on every shell).

use serde::{Deserialize, Serialize};
use tandem_pair::{DeviceId, Group};

use crate::json::Object;
use crate::pairing::PairingPhase;

/// Everything the Devices screen shows, as every shell's UI receives it (the
/// extension's popup and the phone app deserialize this very type).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicesView {
    /// This device's id (hex).
    pub me: String,
    /// This device's name.
    pub name: String,
    /// Group id (hex).
    pub group: String,
    /// The group's relay.
    pub relay: String,
    /// Current key epoch.
    pub epoch: u32,
    /// Connected and caught up.
    pub online: bool,
    /// Another active device is in the group.
    pub paired: bool,
    /// A pairing runs now.
    pub pairing_active: bool,
    /// The last pairing step (kept after it ended, to show how it ended).
    pub pairing: Option<PairingPhase>,
    /// Every device, this one first.
    pub devices: Vec<DeviceView>,
    /// Set when this device was removed from its group.
    pub removed: Option<RemovedView>,
    /// Work waiting for the relay.
    pub waiting: Waiting,
}

/// Work a device has not finished with the relay.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    /// Messages to publish.
    pub outbox: usize,
    /// Revocations not yet accepted.
    pub revocations: usize,
    /// Messages waiting for a key or record.
    pub deferred: usize,
}

/// One row of the device list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceView {
    /// Device id (hex).
    pub id: String,
    /// Name it gave itself.
    pub name: String,
    /// This device.
    pub this_device: bool,
    /// It founded the group.
    pub founder: bool,
    /// When it was paired (Unix seconds; none for the founder).
    pub paired_at: Option<u64>,
    /// When it was last seen (Unix seconds).
    pub last_seen: Option<u64>,
    /// When its session token expires (Unix seconds; none for the founder).
    pub token_expires: Option<u64>,
    /// Set once revoked.
    pub removed: Option<RemovedView>,
}

/// Who removed a device, when and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedView {
    /// Revoking device (hex).
    pub by: String,
    /// Its name, if known.
    pub by_name: Option<String>,
    /// When, by the revoking device's clock (Unix seconds).
    pub at: u64,
    /// Why: lost, compromised, retired or unspecified.
    pub reason: String,
    /// The revoking device asked this one to erase its wallet too.
    #[serde(default)]
    pub erase: bool,
}

fn removed_of(g: &Group, device: &DeviceId) -> Option<RemovedView> {
    let rec = g.member(device)?.revoked.as_ref()?;
    let by = rec.issuer_device();
    Some(RemovedView {
        by: by.to_hex(),
        by_name: g.member(&by).map(|m| m.name.clone()),
        at: rec.issued_at(),
        reason: rec.reason().as_str().to_owned(),
        erase: rec.erase(),
    })
}

pub(crate) fn devices(g: &Group, me: DeviceId) -> Vec<DeviceView> {
    let mut v: Vec<DeviceView> = g
        .members()
        .map(|m| {
            let id = m.device();
            DeviceView {
                id: id.to_hex(),
                name: m.name.clone(),
                this_device: id == me,
                founder: m.founder,
                paired_at: m.paired_at(),
                last_seen: m.last_seen,
                token_expires: m.token.as_ref().map(|t| t.expires_at()),
                removed: removed_of(g, &id),
            }
        })
        .collect();
    // This device first, then active ones, then by name.
    v.sort_by(|a, b| {
        (!a.this_device, a.removed.is_some(), &a.name).cmp(&(
            !b.this_device,
            b.removed.is_some(),
            &b.name,
        ))
    });
    v
}

pub(crate) fn removed(g: &Group, me: DeviceId) -> Option<RemovedView> {
    removed_of(g, &me)
}

impl DevicesView {
    /// The view as JSON with every object's keys in sorted order: exactly
    /// what `serde_json::to_value(view)?.to_string()` writes, without
    /// `serde_json::Value` (the browser shells' form).
    pub fn sorted_json(&self) -> String {
        let Self {
            me,
            name,
            group,
            relay,
            epoch,
            online,
            paired,
            pairing_active,
            pairing,
            devices,
            removed,
            waiting,
        } = self;
        let mut list = String::from("[");
        for (i, d) in devices.iter().enumerate() {
            if i > 0 {
                list.push(',');
            }
            list.push_str(&d.sorted_json());
        }
        list.push(']');
        let Waiting {
            outbox,
            revocations,
            deferred,
        } = waiting;
        let waiting = Object::new()
            .num("deferred", *deferred as u64)
            .num("outbox", *outbox as u64)
            .num("revocations", *revocations as u64)
            .end();
        Object::new()
            .raw("devices", &list)
            .num("epoch", u64::from(*epoch))
            .str("group", group)
            .str("me", me)
            .str("name", name)
            .bool("online", *online)
            .bool("paired", *paired)
            .raw(
                "pairing",
                &pairing
                    .as_ref()
                    .map_or_else(|| "null".to_owned(), PairingPhase::sorted_json),
            )
            .bool("pairing_active", *pairing_active)
            .str("relay", relay)
            .raw("removed", &RemovedView::sorted_json_opt(removed.as_ref()))
            .raw("waiting", &waiting)
            .end()
    }
}

impl DeviceView {
    fn sorted_json(&self) -> String {
        let Self {
            id,
            name,
            this_device,
            founder,
            paired_at,
            last_seen,
            token_expires,
            removed,
        } = self;
        Object::new()
            .bool("founder", *founder)
            .str("id", id)
            .opt_num("last_seen", *last_seen)
            .str("name", name)
            .opt_num("paired_at", *paired_at)
            .raw("removed", &RemovedView::sorted_json_opt(removed.as_ref()))
            .bool("this_device", *this_device)
            .opt_num("token_expires", *token_expires)
            .end()
    }
}

impl RemovedView {
    fn sorted_json_opt(r: Option<&Self>) -> String {
        let Some(Self {
            by,
            by_name,
            at,
            reason,
            erase,
        }) = r
        else {
            return "null".to_owned();
        };
        Object::new()
            .num("at", *at)
            .str("by", by)
            .opt_str("by_name", by_name.as_deref())
            .bool("erase", *erase)
            .str("reason", reason)
            .end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removed(by_name: Option<&str>, erase: bool) -> RemovedView {
        RemovedView {
            by: "ab".repeat(16),
            by_name: by_name.map(str::to_owned),
            at: 1_700_000_000,
            reason: "lost".into(),
            erase,
        }
    }

    #[test]
    fn sorted_json_is_what_value_writes() {
        let device = |this_device, some: bool| DeviceView {
            id: "cd".repeat(16),
            name: "desk \"top\" é".into(),
            this_device,
            founder: !some,
            paired_at: some.then_some(5),
            last_seen: some.then_some(u64::MAX),
            token_expires: some.then_some(0),
            removed: some.then(|| removed(Some("phone"), true)),
        };
        let phases = [
            None,
            Some(PairingPhase::WaitingForOtherDevice),
            Some(PairingPhase::Offer {
                link: "tandem:pair?v=2".into(),
                expires_at: 9,
            }),
        ];
        for pairing in phases {
            for (devices, gone) in [
                (vec![], None),
                (vec![device(true, false)], Some(removed(None, false))),
                (vec![device(true, false), device(false, true)], None),
            ] {
                let v = DevicesView {
                    me: "ef".repeat(16),
                    name: "laptop\n".into(),
                    group: "01".repeat(32),
                    relay: "wss://relay.example/v1/ws".into(),
                    epoch: 3,
                    online: true,
                    paired: false,
                    pairing_active: pairing.is_some(),
                    pairing: pairing.clone(),
                    devices,
                    removed: gone,
                    waiting: Waiting {
                        outbox: 1,
                        revocations: 2,
                        deferred: 3,
                    },
                };
                let want = serde_json::to_value(&v).unwrap().to_string();
                assert_eq!(v.sorted_json(), want);
            }
        }
    }
}
