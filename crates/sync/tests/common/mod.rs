//! Helpers the audit log's tests share.
#![allow(dead_code, unreachable_pub)]

pub mod backup;

use tandem_pair::{DeviceId, IdentityKey, IdentityPublic};
use tandem_sync::Out;

/// A device's identity key among `keys`, as the group gives it.
pub fn lookup(keys: &[IdentityKey]) -> impl Fn(&DeviceId) -> Option<IdentityPublic> + '_ {
    move |d| {
        keys.iter()
            .find(|k| k.device_id() == *d)
            .map(|k| k.public())
    }
}

/// The group messages among a syncer's outputs.
pub fn sends(outs: Vec<Out>) -> Vec<Vec<u8>> {
    outs.into_iter()
        .filter_map(|o| match o {
            Out::Send(m) => Some(m),
            _ => None,
        })
        .collect()
}
