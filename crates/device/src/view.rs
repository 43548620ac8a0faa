//! The device list as the user sees it (same on every shell).

use serde::{Deserialize, Serialize};
use tandem_pair::{DeviceId, Group};

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
