//! Which devices a group has, cached per group for the publish path.
//!
//! Every group or device publish needs the group's devices (who receives,
//! whether the addressed device exists or was revoked). Reading them from
//! the store for every publish was one database read per message; the
//! devices of a group change only when one is admitted, a founder first
//! connects, or one is revoked, so the relay keeps them here and drops a
//! group's entry whenever one of those happens:
//! - in this process, right after the change is committed (admit, founder,
//!   revoke), before the change is acknowledged to anyone;
//! - on other nodes sharing a PostgreSQL database, when its notification
//!   arrives ([`crate::store::Event::Members`], [`crate::store::Event::Revoked`]),
//!   which PostgreSQL delivers before anything committed after the change,
//!   so a device there that learns of the change (the `admitted` or
//!   `revoked` notice) publishes with the new view;
//! - everything, when notifications may have been missed
//!   ([`crate::store::Event::Resync`]).
//!
//! A load that read the store before an invalidation must not put the old
//! view back after it: every invalidation bumps a generation, and a load
//! only keeps its result when no invalidation happened while it read.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tandem_pair::{DeviceId, GroupId};

use super::mailbox_key;
use crate::store::{DeviceRecord, Store};

/// Most groups kept; past it the cache starts over (a relay with more
/// groups than this publishing at once reads the store more often, and its
/// memory stays bounded: about 100 bytes a device).
const MAX_GROUPS: usize = 65_536;

/// A group's devices: id and whether it was revoked.
#[derive(Debug)]
pub(super) struct Members {
    devices: Vec<([u8; 16], bool)>,
}

impl Members {
    fn from_records(records: &[DeviceRecord]) -> Self {
        Self {
            devices: records
                .iter()
                .filter_map(|r| {
                    let d = <[u8; 16]>::try_from(r.device.as_slice()).ok()?;
                    Some((d, r.revoked.is_some()))
                })
                .collect(),
        }
    }

    /// `Some(revoked)` for a device of the group, `None` for a stranger.
    pub(super) fn revoked(&self, device: DeviceId) -> Option<bool> {
        self.devices
            .iter()
            .find(|(d, _)| *d == device.0)
            .map(|(_, r)| *r)
    }

    /// Mailboxes of the active devices other than `sender`.
    pub(super) fn active_others(&self, group: GroupId, sender: DeviceId) -> Vec<Vec<u8>> {
        self.devices
            .iter()
            .filter(|(d, revoked)| !revoked && *d != sender.0)
            .map(|(d, _)| mailbox_key(Some(group), DeviceId(*d)))
            .collect()
    }
}

#[derive(Default)]
struct Inner {
    generation: u64,
    groups: HashMap<GroupId, Arc<Members>>,
}

/// The cache (see the module docs).
#[derive(Default)]
pub(super) struct MemberCache {
    inner: Mutex<Inner>,
}

impl MemberCache {
    /// The devices of `group`, from the cache or else from `store`.
    pub(super) async fn get(
        &self,
        store: &dyn Store,
        group: GroupId,
    ) -> crate::Result<Arc<Members>> {
        let generation = {
            let inner = self.lock();
            if let Some(m) = inner.groups.get(&group) {
                return Ok(Arc::clone(m));
            }
            inner.generation
        };
        let records = store.group_devices(group.0.to_vec()).await?;
        let members = Arc::new(Members::from_records(&records));
        let mut inner = self.lock();
        // Changed while we read: what we read may be older than the change.
        if inner.generation == generation {
            if inner.groups.len() >= MAX_GROUPS {
                inner.groups.clear();
            }
            inner.groups.insert(group, Arc::clone(&members));
        }
        Ok(members)
    }

    /// Forgets `group`'s devices (call after a change is committed).
    pub(super) fn invalidate(&self, group: GroupId) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.groups.remove(&group);
    }

    /// Forgets every group.
    pub(super) fn clear(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.groups.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The data stays consistent whatever panicked while holding it.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
