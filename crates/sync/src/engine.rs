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
//! - **Snapshots**: each category that syncs has its fields' winning ops
//!   on the relay, spread over [`PAGES`] blobs `sync/<category>/<page>` by
//!   a hash of the record id (the switch in page 0). After a change, and when
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

/// How many blobs (pages) a category's snapshot is spread over: a record
/// lives in page `SHA-256(id)[0] mod PAGES`, the category's switch in page
/// 0. At about 100 bytes a record (packed), 16 pages of the relay's 128 KiB
/// hold some 20,000 records.
pub const PAGES: u8 = 16;

/// The blob page `page` of a category's snapshot lives in.
pub fn blob_name(category: Category, page: u8) -> String {
    let key = serde_json::to_value(category)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    format!("sync/{key}/{page}")
}

/// The page a field is kept in.
pub fn page_of(field: &Field) -> u8 {
    match field {
        Field::Enabled { .. } => 0,
        Field::Record { id, .. } => {
            use sha2::Digest;
            sha2::Sha256::digest(id.as_bytes())[0] % PAGES
        }
    }
}

fn part_of(name: &str) -> Option<(Category, u8)> {
    let (_, page) = name.rsplit_once('/')?;
    let page: u8 = page.parse().ok().filter(|p| *p < PAGES)?;
    Category::ALL
        .into_iter()
        .find(|c| blob_name(*c, page) == name)
        .map(|c| (c, page))
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

/// Entries of its own a device keeps after compacting its audit log.
pub const OWN_KEPT: usize = 4_000;
/// Entries written past [`OWN_KEPT`] before the log compacts again (so
/// compaction runs once per this many entries, not at every one).
pub const OWN_SLACK: usize = 1_000;

/// One device's sync state (serde: what the shell stores).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Syncer {
    replica: Replica,
    /// Pages (blob names) that may lack what this device holds.
    unsaved: BTreeSet<String>,
    /// The last version of each page this device read or wrote.
    versions: BTreeMap<String, u64>,
    /// Pages asked for and not answered yet (not stored).
    #[serde(skip)]
    reading: BTreeSet<String>,
    /// Pages to write again even if they hold what this device holds,
    /// until stored: after a key rotation, so that each is sealed under the
    /// group's new epoch ([`Syncer::key_rotated`]).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    rewrite: BTreeSet<String>,
    /// Categories turned on here whose pages are not all stored yet: the
    /// changes waiting (the switch among them) are held until they are
    /// ([`Syncer::edit`]).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    opening: BTreeSet<Category>,
    synced_at: Option<u64>,
    /// The audit log of every device (it travels with the sync).
    #[serde(default)]
    audit: crate::audit::Log,
    /// The encrypted backup under the recovery phrase's keys.
    #[serde(default)]
    backup: crate::backup::Backup,
    /// Which page each record is in, per category (not stored: built
    /// again as pages are made). Walking every record for each page, with
    /// a SHA-256 of its id, cost 0.3 s of the 2.3 s a browser took to
    /// store 10,000 records (scripts/bench-snapshot).
    #[serde(skip)]
    pages: BTreeMap<Category, PageIndex>,
    /// How many ops the last page read ([`Syncer::blob`]) changed here.
    #[serde(skip)]
    page_applied: usize,
}

/// A category's records by page. A replica's fields only grow (a removed
/// record stays as its tombstone), so one that holds as many records as
/// the index has them all.
#[derive(Debug, Clone, Default)]
struct PageIndex {
    /// Every record id indexed.
    known: BTreeSet<String>,
    /// The ids in each page, in order.
    ids: Vec<BTreeSet<String>>,
}

impl PageIndex {
    /// Brought up to date with `replica`'s records of `category`.
    fn update(&mut self, replica: &Replica, category: Category) {
        let records = replica.category_ops(category).count()
            - usize::from(replica.holds(&Field::Enabled { category }));
        if self.ids.is_empty() || records < self.known.len() {
            // New, or not this index's replica: start again.
            *self = Self {
                known: BTreeSet::new(),
                ids: vec![BTreeSet::new(); usize::from(PAGES)],
            };
        }
        if records == self.known.len() {
            return;
        }
        for op in replica.category_ops(category) {
            if let Field::Record { id, .. } = &op.field {
                if self.known.insert(id.clone()) {
                    self.ids[usize::from(page_of(&op.field))].insert(id.clone());
                }
            }
        }
    }
}

impl Syncer {
    /// Sync for `device`, every category off.
    pub fn new(device: DeviceId) -> Self {
        Self {
            replica: Replica::new(device),
            unsaved: BTreeSet::new(),
            versions: BTreeMap::new(),
            reading: BTreeSet::new(),
            rewrite: BTreeSet::new(),
            opening: BTreeSet::new(),
            synced_at: None,
            audit: crate::audit::Log::default(),
            backup: crate::backup::Backup::default(),
            pages: BTreeMap::new(),
            page_applied: 0,
        }
    }

    /// Ask the group for the audit chains they keep with the next send (a
    /// sync state that starts here, while the others already wrote).
    pub fn ask_logs(&mut self) {
        self.audit.ask();
    }

    /// A device joined the group (this one approved it, or saw it
    /// approved): this device's chain, and the old chains it holds from a
    /// restore with their vouches, go to the group again with the next
    /// send, so the new device has them even if its own request for the
    /// chains (`audit_want`) went out before it was a member and was
    /// dropped.
    pub fn member_joined(&mut self) {
        self.audit.resend_own(self.replica.device());
        self.audit.resend_restored();
    }

    /// A sync state that starts here for a device that may have written
    /// its chain before (its copy deleted): the group is asked where the
    /// chain ends, and this device's entries follow that end
    /// ([`crate::audit::Log::resume`], [`Syncer::rebase_log`]).
    pub fn resume_log(&mut self, now_ms: u64) {
        self.audit.resume(now_ms);
    }

    /// After group messages arrived: once the group said where this
    /// device's chain ends (or never did within
    /// [`crate::audit::RESUME_WAIT_MS`]; [`Syncer::record`] checks that
    /// too), the entries written meanwhile are signed after that end and
    /// go out with the next send.
    pub fn rebase_log(&mut self, me: &tandem_pair::IdentityKey, now_ms: u64) -> Vec<Out> {
        if self.audit.rebase(me, now_ms) {
            vec![Out::Persist]
        } else {
            Vec::new()
        }
    }

    /// The backup's state.
    pub fn backup(&self) -> &crate::backup::Backup {
        &self.backup
    }

    /// The backup's state, to change it (its secret, on, delete).
    pub fn backup_mut(&mut self) -> &mut crate::backup::Backup {
        &mut self.backup
    }

    /// Whether a backup request is due: a delete, or a write after changes
    /// while some category syncs (a device where nothing syncs has nothing
    /// to back up, and must not write an empty backup over its phrase's).
    pub fn backup_due(&self) -> bool {
        self.backup.due()
            && (self.backup.deleting()
                || self.backup.leaving()
                || Category::ALL.iter().any(|c| self.replica.enabled(*c)))
    }

    /// The next backup request, if one is due ([`Syncer::backup_due`]);
    /// `relay` is the group's relay (WebSocket URL).
    pub fn backup_next(&mut self, relay: &str) -> Result<Option<crate::backup::Request>> {
        if !self.backup_due() {
            return Ok(None);
        }
        self.backup.next(relay)
    }

    /// The answer to a backup request ([`crate::backup::Request`]):
    /// `status` 0 when it could not be sent, `relay` the group's relay,
    /// `known` the identity keys of the group's devices (their audit log
    /// chains go into the backup with them), `nonce` 24 fresh random
    /// bytes. Returns the next request, if any.
    #[allow(clippy::too_many_arguments)]
    pub fn backup_answer(
        &mut self,
        purpose: crate::backup::Purpose,
        relay: &str,
        status: u16,
        body: &str,
        known: &[tandem_pair::IdentityPublic],
        now_ms: u64,
        nonce: [u8; 24],
    ) -> Result<Option<crate::backup::Request>> {
        let mine = crate::backup::Mine {
            replica: &self.replica,
            audit: &self.audit,
            known,
        };
        self.backup
            .answer(purpose, relay, (status, body), mine, now_ms, nonce)
    }

    /// Merges the backup found for restoring ([`crate::backup::Backup::found`])
    /// into this device's copy: its categories sync from now on, and their
    /// records go to the group's snapshots. Changes from the backup are not
    /// announced one by one: the user asked for all of them; those dated
    /// in the future (its writer's clock was ahead) are taken as made now
    /// ([`Replica::restore`]), not held. The old
    /// devices' audit log chains join this device's log (checked when
    /// read, as synced ones are), and this device's own chain records the
    /// restore (signed by `me`) with how many entries came back.
    pub fn restore(&mut self, me: &tandem_pair::IdentityKey, now_ms: u64) -> Result<Vec<Out>> {
        let contents = self
            .backup
            .take_found()
            .ok_or_else(|| invalid("no backup was found to restore; look for it again"))?;
        let (entries, devices) = self.audit.import(contents.audit);
        // Signed for the devices that join this group later: they are
        // sent the old chains too, and check them with these keys.
        self.audit.vouch(me);
        self.record(
            me,
            crate::audit::Happened::Restored {
                entries: Some(entries),
                devices: Some(devices),
            },
            now_ms,
        );
        for snap in contents.snapshots {
            let category = snap.category;
            self.replica.restore(snap, now_ms)?;
            for p in 0..PAGES {
                self.unsaved.insert(blob_name(category, p));
            }
        }
        self.backup.changed();
        Ok(vec![Out::Persist])
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
        // A resume the group never answered ends here.
        self.audit.rebase(me, now_ms);
        self.audit.append(me, happened, now_ms);
        // The log's size stays bounded: past OWN_KEPT + OWN_SLACK entries,
        // this device's oldest go behind a signed checkpoint.
        if self.audit.own_len(me.device_id()) > OWN_KEPT + OWN_SLACK {
            self.audit.compact(me, OWN_KEPT, now_ms);
        }
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
        let page = page_of(&field);
        self.replica.edit(field, value, now_ms)?;
        self.backup.changed();
        if switch {
            // On: every page gets what this device holds; off: every page
            // is emptied.
            for p in 0..PAGES {
                self.unsaved.insert(blob_name(category, p));
            }
            let on = self.replica.enabled(category);
            if on && !was_on {
                // Turned on here: the records this device holds travel in
                // the pages (one sealed blob per ~600 records), not again
                // as messages (10,000 records were 72 group messages, each
                // sealed, signed, stored by the relay and fanned out, before
                // the first page was read: scripts/bench-snapshot). The
                // switch waits until the pages are stored; a device that
                // gets it reads them then ([`Syncer::message`]).
                self.replica.unqueue_records(category);
                self.opening.insert(category);
            } else if !on {
                self.opening.remove(&category);
            }
        } else if was_on {
            self.unsaved.insert(blob_name(category, page));
        }
        Ok(vec![Out::Persist])
    }

    /// Online (the device engine caught up): hand over the changes waiting,
    /// and read page 0 of every category (a device back after a month, or
    /// new, learns there which categories sync), every page of the ones
    /// that sync, and every page waiting to be saved. After a key rotation
    /// and a restore too; after a local change or a message, [`Self::save`].
    pub fn flush(&mut self) -> Vec<Out> {
        let mut out = self.send_outbox();
        let mut names: BTreeSet<String> = self.unsaved.clone();
        for c in Category::ALL {
            let pages = if self.replica.enabled(c) { PAGES } else { 1 };
            names.extend((0..pages).map(|p| blob_name(c, p)));
        }
        out.extend(self.read(names));
        out
    }

    /// While online, after a local change or the group's messages: hand
    /// over the changes waiting and save only the pages that may lack what
    /// this device holds (read, merge, write with compare and swap). The
    /// rest was read when the device came online ([`Self::flush`]) and
    /// every change since reached it as a message, so one edit costs a
    /// page or two, not every page of every category (some 55 reads with
    /// three categories on, each answered by the relay).
    pub fn save(&mut self) -> Vec<Out> {
        let mut out = self.send_outbox();
        let names = self.unsaved.clone();
        out.extend(self.read(names));
        out
    }

    fn read(&mut self, names: impl IntoIterator<Item = String>) -> Vec<Out> {
        names
            .into_iter()
            .filter(|n| self.reading.insert(n.clone()))
            .map(|name| Out::GetBlob { name })
            .collect()
    }

    /// The device went offline: the reads it asked for will not be
    /// answered (the next [`Syncer::flush`] asks again).
    pub fn offline(&mut self) {
        self.reading.clear();
    }

    /// Pages on their way: asked for and not answered, or waiting to be
    /// written (read, merged and put, not confirmed yet). A shell that
    /// stores its state after each page read or stored can store it once
    /// when this turns false instead (what a page changed is on the relay:
    /// the next [`Syncer::flush`] reads it again if the shell stopped
    /// first).
    pub fn pages_pending(&self) -> bool {
        !self.reading.is_empty() || !self.unsaved.is_empty()
    }

    /// Only the waiting changes (when the snapshots are known current).
    pub fn send_outbox(&mut self) -> Vec<Out> {
        // The device engine stores each message durably before anything
        // else happens (its outbox): what it took may leave this one.
        let mut out = Vec::new();
        // Asked with the chains: computed before they are taken.
        let resume = self.audit.resume_ask(self.replica.device());
        out.extend(self.audit.take_outbox().into_iter().map(Out::Send));
        if let Some(m) = resume {
            out.push(Out::Send(m));
        }
        // Held while a category turned on here is not in its pages yet.
        let ops = if self.opening.is_empty() {
            self.replica.outbox().to_vec()
        } else {
            Vec::new()
        };
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
            return Some(r.map(|_| {
                if self.audit.take_asked() {
                    self.audit.resend_own(self.replica.device());
                    self.audit.resend_restored();
                }
                if self.audit.sending() {
                    // Online (a message arrived): the answer goes out now.
                    let mut out = self.send_outbox();
                    out.push(Out::Persist);
                    return out;
                }
                vec![Out::Persist]
            }));
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
        let was_on = Category::ALL.map(|c| self.replica.enabled(c));
        // Categories another device says it turned on: it sends the switch
        // once its pages hold its records ([`Syncer::edit`]).
        let me = self.replica.device();
        let mut opened = BTreeSet::new();
        for op in ops {
            if matches!(op.field, Field::Enabled { .. })
                && op.value == Some(Value::Enabled(true))
                && op.stamp.device != me
            {
                opened.insert(op.field.category());
            }
            let page = blob_name(op.field.category(), page_of(&op.field));
            match self.replica.receive(op, now_ms) {
                Ok(crate::Received::Applied(notice)) => {
                    out.extend(notice.map(Out::Notice));
                    self.unsaved.insert(page);
                    self.backup.changed();
                }
                Ok(_) => {}
                Err(e) => return Some(Err(e)),
            }
        }
        // A category another device turned on: its records are only in its
        // pages, which [`Self::save`] reads now. Also when it was on here
        // already (both turned it on apart; the other's switch may even
        // lose to this device's): neither sent its records as messages.
        for (c, was) in Category::ALL.into_iter().zip(was_on) {
            if self.replica.enabled(c) && (!was || opened.contains(&c)) {
                self.unsaved.extend((0..PAGES).map(|p| blob_name(c, p)));
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
        let Some((category, page)) = part_of(name) else {
            return Ok(Vec::new());
        };
        self.reading.remove(name);
        let was_on = self.replica.enabled(category);
        self.page_applied = 0;
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
                let (notices, applied) = self.replica.absorb_counted(snap.clone(), now_ms)?;
                out.extend(notices.into_iter().map(Out::Notice));
                self.page_applied = applied;
                if applied > 0 {
                    // What the backup holds changed.
                    self.backup.changed();
                }
                Some(snap)
            }
            None => None,
        };
        self.versions.insert(name.to_owned(), version);
        let mine = self.snapshot(category, page);
        let current = match &remote {
            Some(r) => *r == mine && !self.rewrite.contains(name),
            None => mine.ops.is_empty(),
        };
        if current {
            if self.saved(name, now_ms) {
                out.extend(self.send_outbox());
            }
        } else {
            out.push(self.put(category, page, mine, version));
        }
        if !was_on && self.replica.enabled(category) {
            // Page 0 said the category syncs: its other pages too, and what
            // this device kept while it did not goes out now (online: the
            // relay just answered), not at the next change.
            out.extend(self.read((1..PAGES).map(|p| blob_name(category, p))));
            out.extend(self.send_outbox());
        }
        Ok(out)
    }

    /// Whether the last page read ([`Syncer::blob`]) changed anything here
    /// (false: it held nothing new, e.g. the pages a device wrote itself):
    /// a shell that mirrors synced data elsewhere looks again only then.
    pub fn page_changed(&self) -> bool {
        self.page_applied > 0
    }

    /// Blob `name` is at `version` but cannot be read here: replace it.
    pub fn blob_unreadable(&mut self, name: &str, version: u64) -> Vec<Out> {
        let Some((category, page)) = part_of(name) else {
            return Vec::new();
        };
        self.reading.remove(name);
        self.versions.insert(name.to_owned(), version);
        let mine = self.snapshot(category, page);
        vec![self.put(category, page, mine, version)]
    }

    /// A write of blob `name` was stored at `version`.
    pub fn blob_stored(&mut self, name: &str, version: u64, now_ms: u64) -> Vec<Out> {
        if part_of(name).is_none() {
            return Vec::new();
        }
        self.versions.insert(name.to_owned(), version);
        self.rewrite.remove(name);
        let mut out = vec![Out::Persist];
        if self.saved(name, now_ms) {
            out.extend(self.send_outbox());
        }
        out
    }

    /// A write of blob `name` lost a race: read it again (then merge and
    /// write at the new version).
    pub fn blob_conflict(&mut self, name: &str) -> Vec<Out> {
        if part_of(name).is_none() {
            return Vec::new();
        }
        self.reading.remove(name);
        self.read([name.to_owned()])
    }

    /// The group key moved to a new epoch: every snapshot is written again
    /// under it (read, merge, write), and the backup moves to its next
    /// generation ([`crate::backup::Backup::rotated`]).
    pub fn key_rotated(&mut self) -> Vec<Out> {
        self.backup.rotated();
        for c in Category::ALL {
            for p in 0..PAGES {
                let name = blob_name(c, p);
                if self.replica.enabled(c) || self.versions.get(&name).is_some_and(|v| *v > 0) {
                    self.unsaved.insert(name.clone());
                    self.rewrite.insert(name);
                }
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

    /// What this device's page `page` of `category` holds: its fields, or
    /// only the switch (page 0) of a category that is off (its remote copy
    /// is deleted).
    fn snapshot(&mut self, category: Category, page: u8) -> Snapshot {
        let mut ops = Vec::new();
        if self.replica.enabled(category) {
            let index = self.pages.entry(category).or_default();
            index.update(&self.replica, category);
            // Only this page's ops are cloned (a flush builds every page).
            ops.extend(index.ids[usize::from(page)].iter().filter_map(|id| {
                self.replica
                    .op(&Field::Record {
                        category,
                        id: id.clone(),
                    })
                    .cloned()
            }));
        }
        if page == 0 {
            ops.extend(self.replica.op(&Field::Enabled { category }).cloned());
        }
        Snapshot { category, ops }
    }

    fn put(&mut self, category: Category, page: u8, snap: Snapshot, expected: u64) -> Out {
        let name = blob_name(category, page);
        self.unsaved.insert(name.clone());
        Out::PutBlob {
            name,
            data: serde_json::to_vec(&snap).expect("snapshot serializes"),
            expected,
        }
    }

    /// Page `name` holds what this device holds. True: that released the
    /// changes held for a category turned on here (send them now).
    fn saved(&mut self, name: &str, now_ms: u64) -> bool {
        self.unsaved.remove(name);
        if self.unsaved.is_empty() {
            self.synced_at = Some(now_ms);
        }
        let held = !self.opening.is_empty();
        let unsaved = &self.unsaved;
        self.opening
            .retain(|c| (0..PAGES).any(|p| unsaved.contains(&blob_name(*c, p))));
        held && self.opening.is_empty()
    }
}
