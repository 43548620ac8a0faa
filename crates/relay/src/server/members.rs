//! Which devices a group has, cached per group for the publish path.
//!
//! Every group or device publish needs the group's devices (who receives,
//! whether the addressed device exists or was revoked). Reading them from
//! the store for every publish was one database read per message; the
//! devices of a group change only when one is admitted, a founder first
//! connects, or one is revoked, so the relay keeps them here and drops a
//! group's entry whenever one of those happens (and reads it again at
//! once, [`super::AppState::members_changed`], so that the first publish
//! after the change does not wait for the database):
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
//! Generations are per stripe of groups (the group id's first bytes), not
//! one for all: with one, any group's change anywhere threw away every
//! load in flight, so while many groups were admitting devices (a relay's
//! first minutes) the cache stayed nearly empty.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
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

/// Stripes of groups with a generation each (a power of two).
const STRIPES: usize = 1024;

struct Inner {
    /// Bumped by [`MemberCache::clear`]: every load in flight is stale.
    epoch: u64,
    /// Bumped by [`MemberCache::invalidate`] of a group in the stripe.
    generations: Box<[u64; STRIPES]>,
    groups: HashMap<GroupId, Arc<Members>>,
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            epoch: 0,
            generations: Box::new([0; STRIPES]),
            groups: HashMap::new(),
        }
    }
}

fn stripe(group: GroupId) -> usize {
    usize::from(u16::from_le_bytes([group.0[0], group.0[1]])) % STRIPES
}

/// What a load saw before it read the store (see [`MemberCache::keep`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ticket {
    group: GroupId,
    epoch: u64,
    generation: u64,
}

/// The cache (see the module docs).
#[derive(Default)]
pub(super) struct MemberCache {
    inner: Mutex<Inner>,
}

impl MemberCache {
    /// The devices of `group`, from the cache or else from `store`.
    /// `loads` counts the reads.
    pub(super) async fn get(
        &self,
        store: &dyn Store,
        group: GroupId,
        loads: &AtomicU64,
    ) -> crate::Result<Arc<Members>> {
        let ticket = match self.cached(group) {
            Ok(m) => return Ok(m),
            Err(t) => t,
        };
        loads.fetch_add(1, Ordering::Relaxed);
        let records = store.group_devices(group.0.to_vec()).await?;
        let members = Arc::new(Members::from_records(&records));
        self.keep(ticket, &members);
        Ok(members)
    }

    /// The cached devices of `group`, or the ticket to load them with.
    fn cached(&self, group: GroupId) -> Result<Arc<Members>, Ticket> {
        let inner = self.lock();
        match inner.groups.get(&group) {
            Some(m) => Ok(Arc::clone(m)),
            None => Err(Ticket {
                group,
                epoch: inner.epoch,
                generation: inner.generations[stripe(group)],
            }),
        }
    }

    /// Caches what a load read, unless the group (or its stripe) changed
    /// or everything was cleared since its ticket: then what it read may
    /// be older than the change.
    fn keep(&self, ticket: Ticket, members: &Arc<Members>) {
        let mut inner = self.lock();
        if inner.epoch != ticket.epoch
            || inner.generations[stripe(ticket.group)] != ticket.generation
        {
            return;
        }
        if inner.groups.len() >= MAX_GROUPS {
            inner.groups.clear();
        }
        inner.groups.insert(ticket.group, Arc::clone(members));
    }

    /// Forgets `group`'s devices (call after a change is committed);
    /// true when they were cached, i.e. the group is in use here.
    pub(super) fn invalidate(&self, group: GroupId) -> bool {
        let mut inner = self.lock();
        inner.generations[stripe(group)] += 1;
        inner.groups.remove(&group).is_some()
    }

    /// Forgets every group.
    pub(super) fn clear(&self) {
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.groups.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The data stays consistent whatever panicked while holding it.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(n: u8) -> Arc<Members> {
        Arc::new(Members {
            devices: (0..n).map(|i| ([i; 16], false)).collect(),
        })
    }

    /// Two group ids in different stripes, and one sharing the first's.
    fn groups() -> (GroupId, GroupId, GroupId) {
        let a = GroupId([1; 16]);
        let mut b = [1; 16];
        b[0] = 2;
        let mut c = [9; 16];
        c[..2].copy_from_slice(&a.0[..2]);
        (a, GroupId(b), GroupId(c))
    }

    fn is_cached(cache: &MemberCache, g: GroupId) -> bool {
        cache.cached(g).is_ok()
    }

    #[test]
    fn a_load_is_kept_when_only_another_stripes_group_changed_while_it_read() {
        let cache = MemberCache::default();
        let (a, b, _) = groups();
        assert_ne!(stripe(a), stripe(b));
        let t = cache.cached(a).unwrap_err();
        cache.invalidate(b);
        cache.keep(t, &members(3));
        assert!(
            is_cached(&cache, a),
            "a change of another group threw the load away"
        );
    }

    #[test]
    fn a_load_is_dropped_when_its_group_changed_while_it_read() {
        let cache = MemberCache::default();
        let (a, _, same_stripe) = groups();
        let t = cache.cached(a).unwrap_err();
        cache.invalidate(a);
        cache.keep(t, &members(3));
        assert!(
            !is_cached(&cache, a),
            "a view older than the change was kept"
        );

        // A group sharing the stripe counts as a change (safe side).
        assert_eq!(stripe(a), stripe(same_stripe));
        let t = cache.cached(a).unwrap_err();
        cache.invalidate(same_stripe);
        cache.keep(t, &members(3));
        assert!(!is_cached(&cache, a));

        // Cleared while it read: dropped too.
        let t = cache.cached(a).unwrap_err();
        cache.clear();
        cache.keep(t, &members(3));
        assert!(!is_cached(&cache, a));

        // Nothing changed: kept, and an invalidation after it forgets it.
        let t = cache.cached(a).unwrap_err();
        cache.keep(t, &members(4));
        assert_eq!(cache.cached(a).unwrap().devices.len(), 4);
        cache.invalidate(a);
        assert!(!is_cached(&cache, a));
    }
}
