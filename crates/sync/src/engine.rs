//! One device's sync loop, I/O-free: what to send to the group, which of
//! the group's blobs to read and write, and when to store the state. A
//! shell (the command-line device, the extension's worker, the phone app)
//! feeds it what its device engine reports and carries out its [`Out`]s
//! through that engine (`tandem_device::Command::Send`, `PutBlob`,
//! `GetBlob`), which seals everything under the group key.
//!
//! - **Live changes** go out as group messages ([`Out::Send`], a JSON
//!   object `{"type":"sync_ops","ops":[…]}`), handed over as soon as the
//!   device is online; the device engine keeps them until the relay stored
//!   them.
//! - **Snapshots**: each category that syncs has one blob on the relay,
//!   `sync/<category>`, every field's winning op. After a change, and when
//!   the device comes online, the engine reads the blob, merges it, and
//!   writes back what it holds that the blob lacks, with compare and swap
//!   at the version it read: a lost race ([`Syncer::blob_conflict`]) reads,
//!   merges and writes again, so no device's write is lost. A blob this
//!   device cannot read (under a key epoch it never held, or from a revoked
//!   writer) is replaced at its version by what this device holds. After a
//!   key rotation every snapshot is written again under the new key, so a
//!   revoked device reads nothing written after it left.
//! - A category turned off keeps only its switch in its blob: its remote
//!   copy is gone.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tandem_pair::DeviceId;

use crate::{invalid, Category, Field, Notice, Op, Replica, Result, Snapshot, Value};

/// The blob a category's snapshot lives in.
pub fn blob_name(category: Category) -> String {
    let key = serde_json::to_value(category)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    format!("sync/{key}")
}

fn category_of(name: &str) -> Option<Category> {
    Category::ALL.into_iter().find(|c| blob_name(*c) == name)
}

/// The most bytes of JSON one sync message carries: a group message's
/// payload is at most 64 KiB once sealed, and its data travels in base64.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;

/// `ops` in order, cut into batches whose message stays within
/// [`MAX_MESSAGE_BYTES`] (an op is at most a few KiB: every text is bounded).
fn batches(ops: Vec<Op>) -> Vec<Vec<Op>> {
    let mut out: Vec<Vec<Op>> = Vec::new();
    let mut size = 0;
    for op in ops {
        let len = serde_json::to_vec(&op).map_or(0, |v| v.len()) + 1;
        match out.last_mut() {
            Some(b) if size + len <= MAX_MESSAGE_BYTES - 64 => {
                size += len;
                b.push(op);
            }
            _ => {
                size = len;
                out.push(vec![op]);
            }
        }
    }
    out
}

/// A group message of the sync (the audit log's are its own).
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Wire {
    SyncOps { ops: Vec<Op> },
}

/// What the shell must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// Send this to every other device of the group.
    Send(Vec<u8>),
    /// Write the group's blob `name` (compare and swap at `expected`).
    PutBlob {
        /// Blob name.
        name: String,
        /// Contents (the device engine seals them).
        data: Vec<u8>,
        /// The version it was read at (0: none).
        expected: u64,
    },
    /// Read the group's blob `name`.
    GetBlob {
        /// Blob name.
        name: String,
    },
    /// Store [`Syncer`] (as JSON) now.
    Persist,
    /// Tell the user: a change from another device that affects safety.
    Notice(Notice),
}

/// What the user sees about sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    /// Categories that sync.
    pub enabled: Vec<Category>,
    /// Changes made here that the group has not been handed yet.
    pub to_send: usize,
    /// Changes from a device whose clock is ahead, not applied yet.
    pub held: usize,
    /// Categories whose snapshot on the relay is not known to be current.
    pub unsaved: usize,
    /// When every snapshot was last known current (ms), if ever.
    pub synced_at: Option<u64>,
}

/// One device's sync state (serde: what the shell stores).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Syncer {
    replica: Replica,
    /// Categories whose blob may lack what this device holds.
    unsaved: BTreeSet<Category>,
    /// The last version of each blob this device read or wrote.
    versions: BTreeMap<Category, u64>,
    synced_at: Option<u64>,
    /// The audit log of every device (it travels with the sync).
    #[serde(default)]
    audit: crate::audit::Log,
}

impl Syncer {
    /// Sync for `device`, every category off.
    pub fn new(device: DeviceId) -> Self {
        Self {
            replica: Replica::new(device),
            unsaved: BTreeSet::new(),
            versions: BTreeMap::new(),
            synced_at: None,
            audit: crate::audit::Log::default(),
        }
    }

    /// The audit log of every device.
    pub fn audit(&self) -> &crate::audit::Log {
        &self.audit
    }

    /// Records what happened on this device in the audit log (signed by
    /// `me`); it goes to the other devices with the next [`Syncer::flush`].
    pub fn record(
        &mut self,
        me: &tandem_pair::IdentityKey,
        happened: crate::audit::Happened,
        now_ms: u64,
    ) -> Vec<Out> {
        self.audit.append(me, happened, now_ms);
        vec![Out::Persist]
    }

    /// The replicated data.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// What the user sees.
    pub fn status(&self) -> SyncStatus {
        let s = self.replica.status();
        SyncStatus {
            enabled: Category::ALL
                .into_iter()
                .filter(|c| self.replica.enabled(*c))
                .collect(),
            to_send: s.to_send,
            held: s.held,
            unsaved: self.unsaved.len(),
            synced_at: self.synced_at,
        }
    }

    /// The user changed something here (a record, or a category's switch).
    /// Sent when [`Syncer::flush`] next runs online.
    pub fn edit(&mut self, field: Field, value: Option<Value>, now_ms: u64) -> Result<Vec<Out>> {
        let category = field.category();
        let switch = matches!(field, Field::Enabled { .. });
        let was_on = self.replica.enabled(category);
        self.replica.edit(field, value, now_ms)?;
        if was_on || switch {
            self.unsaved.insert(category);
        }
        Ok(vec![Out::Persist])
    }

    /// Online (the device engine caught up): hand over the changes waiting,
    /// and read every category's snapshot (a device back after a month, or
    /// new, learns there which categories sync). Call after each local
    /// change too.
    pub fn flush(&mut self) -> Vec<Out> {
        let mut out = self.send_outbox();
        out.extend(
            Category::ALL
                .into_iter()
                .map(|c| Out::GetBlob { name: blob_name(c) }),
        );
        out
    }

    /// Only the waiting changes (when the snapshots are known current).
    pub fn send_outbox(&mut self) -> Vec<Out> {
        // The device engine stores each message durably before anything
        // else happens (its outbox): what it took may leave this one.
        let mut out = Vec::new();
        out.extend(self.audit.take_outbox().into_iter().map(Out::Send));
        let ops = self.replica.outbox().to_vec();
        let n = ops.len();
        for batch in batches(ops) {
            out.push(Out::Send(
                serde_json::to_vec(&Wire::SyncOps { ops: batch }).expect("ops serialize"),
            ));
        }
        self.replica.sent(n);
        if !out.is_empty() {
            out.push(Out::Persist);
        }
        out
    }

    /// A group message from another device. `None`: not a sync message
    /// (someone else's to handle).
    pub fn message(&mut self, data: &[u8], now_ms: u64) -> Option<Result<Vec<Out>>> {
        if let Some(r) = self.audit.message(data) {
            return Some(r.map(|_| vec![Out::Persist]));
        }
        let text = core::str::from_utf8(data).ok()?;
        if !text.trim_start().starts_with('{') || !text.contains("\"sync_ops\"") {
            return None;
        }
        let Wire::SyncOps { ops } = match serde_json::from_str(text) {
            Ok(w) => w,
            Err(e) => {
                return Some(Err(invalid(format!(
                    "a sync message that cannot be read: {e}"
                ))))
            }
        };
        let mut out = Vec::new();
        for op in ops {
            let category = op.field.category();
            match self.replica.receive(op, now_ms) {
                Ok(crate::Received::Applied(notice)) => {
                    out.extend(notice.map(Out::Notice));
                    self.unsaved.insert(category);
                }
                Ok(_) => {}
                Err(e) => return Some(Err(e)),
            }
        }
        out.insert(0, Out::Persist);
        Some(Ok(out))
    }

    /// Blob `name` as the relay holds it (`data` `None`: there is none).
    pub fn blob(
        &mut self,
        name: &str,
        version: u64,
        data: Option<&[u8]>,
        now_ms: u64,
    ) -> Result<Vec<Out>> {
        let Some(category) = category_of(name) else {
            return Ok(Vec::new());
        };
        let mut out = vec![Out::Persist];
        let remote = match data {
            Some(d) => {
                let snap: Snapshot = serde_json::from_slice(d)
                    .map_err(|e| invalid(format!("a sync snapshot that cannot be read: {e}")))?;
                if snap.category != category {
                    return Err(invalid(format!(
                        "the blob of {} holds {}",
                        category.label(),
                        snap.category.label()
                    )));
                }
                out.extend(
                    self.replica
                        .absorb(snap.clone(), now_ms)?
                        .into_iter()
                        .map(Out::Notice),
                );
                Some(snap)
            }
            None => None,
        };
        self.versions.insert(category, version);
        let mine = self.snapshot(category);
        let current = match &remote {
            Some(r) => *r == mine,
            None => mine.ops.is_empty(),
        };
        if current {
            self.saved(category, now_ms);
        } else {
            out.push(self.put(category, mine, version));
        }
        Ok(out)
    }

    /// Blob `name` is at `version` but cannot be read here: replace it.
    pub fn blob_unreadable(&mut self, name: &str, version: u64) -> Vec<Out> {
        let Some(category) = category_of(name) else {
            return Vec::new();
        };
        self.versions.insert(category, version);
        let mine = self.snapshot(category);
        vec![self.put(category, mine, version)]
    }

    /// A write of blob `name` was stored at `version`.
    pub fn blob_stored(&mut self, name: &str, version: u64, now_ms: u64) -> Vec<Out> {
        let Some(category) = category_of(name) else {
            return Vec::new();
        };
        self.versions.insert(category, version);
        self.saved(category, now_ms);
        vec![Out::Persist]
    }

    /// A write of blob `name` lost a race: read it again (then merge and
    /// write at the new version).
    pub fn blob_conflict(&mut self, name: &str) -> Vec<Out> {
        if category_of(name).is_none() {
            return Vec::new();
        }
        vec![Out::GetBlob {
            name: name.to_owned(),
        }]
    }

    /// The group key moved to a new epoch: every snapshot is written again
    /// under it (read, merge, write).
    pub fn key_rotated(&mut self) -> Vec<Out> {
        for c in Category::ALL {
            if self.replica.enabled(c) || self.versions.get(&c).is_some_and(|v| *v > 0) {
                self.unsaved.insert(c);
            }
        }
        let mut out = vec![Out::Persist];
        out.extend(self.flush());
        out
    }

    /// Parked changes whose time came.
    pub fn tick(&mut self, now_ms: u64) -> Vec<Out> {
        let notices = self.replica.tick(now_ms);
        if notices.is_empty() {
            return Vec::new();
        }
        let mut out = vec![Out::Persist];
        out.extend(notices.into_iter().map(Out::Notice));
        out
    }

    /// What this device's blob of `category` holds: every field, or only
    /// the switch of a category that is off (its remote copy is deleted).
    fn snapshot(&self, category: Category) -> Snapshot {
        let mut s = self.replica.snapshot(category);
        if !self.replica.enabled(category) {
            s.ops.retain(|op| matches!(op.field, Field::Enabled { .. }));
        }
        s
    }

    fn put(&mut self, category: Category, snap: Snapshot, expected: u64) -> Out {
        self.unsaved.insert(category);
        Out::PutBlob {
            name: blob_name(category),
            data: serde_json::to_vec(&snap).expect("snapshot serializes"),
            expected,
        }
    }

    fn saved(&mut self, category: Category, now_ms: u64) {
        self.unsaved.remove(&category);
        if self.unsaved.is_empty() {
            self.synced_at = Some(now_ms);
        }
    }
}
