//! The encrypted backup of the synced metadata on the relay, under keys
//! from the recovery phrase (`tandem_pair::backup`): what a new browser
//! restores when every device is lost.
//!
//! The [`Syncer`](crate::Syncer) decides; a shell carries out its
//! [`Request`]s over HTTP (`GET`/`PUT`/`DELETE /v1/backup/<id>` on the
//! group's relay) and hands back each answer:
//!
//! - **Writing** after changes (the shell debounces): read the backup,
//!   merge what it holds (another browser with the same phrase may have
//!   written it) with this device's records field by field (the later
//!   change wins, as in sync), seal, and write at a counter above the
//!   relay's. A write refused as stale (someone wrote meanwhile) reads and
//!   merges again.
//! - **Restoring**: read, open and summarise (what the onboarding shows
//!   before it restores); on the user's word, the records are merged into
//!   this device's copy, and sync carries them on (to the wallet, to the
//!   group's snapshots).
//! - **Deleting**: a signed delete; the backup stays off on this device
//!   until the user turns it on again.
//!
//! - **Moving on** (cutting off the devices outside this group): a
//!   browser that restored the wallet holds the same backup key as the
//!   devices lost before the restore, which keep it in their sealed sync
//!   state. On the user's word it moves the backup to the next
//!   *generation* (a secret only the recovery phrase gives:
//!   `tandem_keys::backup`): it writes everything there, then leaves a
//!   sealed marker in the old generation ([`Retired`]) that names its
//!   group. A device of that group that reads the marker follows at its
//!   next unlock; any other device is cut off, stops writing, and says so
//!   on its Sync screen (someone restored the phrase elsewhere: if not the
//!   user, the phrase is known to someone else). A restore follows the
//!   markers to the newest generation.
//!
//! What is backed up: every category that syncs, with its records and
//! switch (the same packed [`Snapshot`]s as the relay's sync blobs), and
//! the audit log: every device's chain as this device holds it, entries
//! with their signatures, and each device's identity key, so a restored
//! browser checks them exactly as synced entries are checked
//! ([`crate::audit::Log::backed_up`] says what is left out to stay within
//! the relay's size limit).

use core::fmt;

use serde::{Deserialize, Serialize};
use tandem_pair::backup::{BackupKeys, BackupRefusal, StoredBackup};
use zeroize::Zeroizing;

use crate::audit::{Chain, Log};
use crate::{invalid, Category, Replica, Result, Snapshot, MAX_AHEAD_MS};

/// The format of the backup's plaintext (3: a retired generation's
/// marker; 2: with the audit log; 1, without it; all are read).
const FORMAT: u8 = 3;

/// How many generations a restore follows at most (each one is a cut-off
/// the user asked for).
pub const MAX_GENERATION: u32 = 64;

/// What a retired generation holds instead of records: the backup moved
/// on to the next generation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retired {
    /// When it moved (ms, on the mover's clock).
    pub at: u64,
    /// The group of the browser that moved it (hex): its devices follow,
    /// any other device is cut off.
    pub group: String,
}

/// What a backup holds once opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contents {
    v: u8,
    /// Every category that synced, with its records and switch.
    pub snapshots: Vec<Snapshot>,
    /// Every device's audit log chain.
    #[serde(default)]
    pub audit: Vec<Chain>,
    /// Set in a retired generation (which then holds nothing else).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired: Option<Retired>,
}

impl Contents {
    /// Contents holding `snapshots` and the audit log's `audit` chains.
    pub fn new(snapshots: Vec<Snapshot>, audit: Vec<Chain>) -> Self {
        Self {
            v: FORMAT,
            snapshots,
            audit,
            retired: None,
        }
    }

    /// The marker of a generation left for the next one.
    pub fn retired(at: u64, group: &str) -> Self {
        Self {
            retired: Some(Retired {
                at,
                group: group.to_owned(),
            }),
            ..Self::new(Vec::new(), Vec::new())
        }
    }

    /// Reads a backup's plaintext.
    pub fn parse(plain: &[u8]) -> Result<Self> {
        let c: Self = serde_json::from_slice(plain)
            .map_err(|e| invalid(format!("the backup cannot be read: {e}")))?;
        if !(1..=FORMAT).contains(&c.v) {
            return Err(invalid(format!(
                "the backup is in format {} and this Tandem reads format {FORMAT}; update Tandem",
                c.v
            )));
        }
        Ok(c)
    }

    /// How many live records each category holds.
    pub fn summary(&self) -> Vec<(Category, usize)> {
        self.snapshots
            .iter()
            .map(|s| {
                let live = s
                    .ops
                    .iter()
                    .filter(|op| {
                        matches!(op.field, crate::Field::Record { .. }) && op.value.is_some()
                    })
                    .count();
                (s.category, live)
            })
            .collect()
    }

    /// What the onboarding says before restoring (`saved_at`: when the
    /// relay stored it, in its seconds).
    pub fn view(&self, saved_at: u64) -> FoundView {
        // Changes dated after the relay stored the backup (beyond the
        // clock tolerance) were made on a clock that was ahead.
        let saved_ms = saved_at.saturating_mul(1000);
        let limit = saved_ms.saturating_add(MAX_AHEAD_MS);
        let ahead = self
            .snapshots
            .iter()
            .flat_map(|s| &s.ops)
            .filter(|op| op.stamp.ms > limit);
        FoundView {
            moved: self.retired.is_some(),
            saved_at: saved_ms,
            categories: self.summary(),
            entries: self.audit.iter().map(|c| c.entries.len()).sum(),
            devices: self.audit.len(),
            ahead: ahead.clone().count(),
            ahead_ms: ahead.map(|op| op.stamp.ms - saved_ms).max().unwrap_or(0),
        }
    }
}

/// What a request is for (the shell hands it back with the answer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Read before a write (to merge and to learn the counter).
    Read,
    /// The write.
    Write,
    /// The delete.
    Delete,
    /// Read to restore.
    Find,
    /// Read the generation this device left (to learn its counter).
    Leave,
    /// Write the marker there ([`Retired`]).
    Retire,
}

/// An HTTP request for the shell to make.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Request {
    /// What it is for.
    pub purpose: Purpose,
    /// `GET`, `PUT` or `DELETE`.
    pub method: &'static str,
    /// The full URL.
    pub url: String,
    /// The JSON body, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// The backup's URL on the relay whose WebSocket URL is `relay`
/// (`ws://host/v1/ws` gives `http://host/v1/backup/<id>`, `wss://` https).
pub fn url(relay: &str, id: &tandem_pair::backup::BackupId) -> Result<String> {
    let (scheme, rest) = if let Some(r) = relay.strip_prefix("wss://") {
        ("https", r)
    } else if let Some(r) = relay.strip_prefix("ws://") {
        ("http", r)
    } else {
        return Err(invalid(format!(
            "the relay URL {relay} is not ws:// or wss://"
        )));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err(invalid(format!("the relay URL {relay} names no host")));
    }
    Ok(format!("{scheme}://{host}/v1/backup/{id}"))
}

/// The summary of a backup found for restoring, for the onboarding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoundView {
    /// This generation moved on: the backup is in the next one (a restore
    /// looks there; nothing else is set).
    #[serde(default)]
    pub moved: bool,
    /// When it was written (ms).
    pub saved_at: u64,
    /// Live records per category.
    pub categories: Vec<(Category, usize)>,
    /// Audit log entries held.
    #[serde(default)]
    pub entries: usize,
    /// Devices they are from.
    #[serde(default)]
    pub devices: usize,
    /// Changes dated in the future (more than [`MAX_AHEAD_MS`] after the
    /// relay stored the backup: the writer's clock was ahead). Restoring
    /// takes them as made now instead of holding them.
    #[serde(default)]
    pub ahead: usize,
    /// How far ahead the latest of them is dated (ms; 0 when none).
    #[serde(default)]
    pub ahead_ms: u64,
}

/// What the Sync screen shows about the backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupView {
    /// This device knows the backup's keys (its wallet has a recovery
    /// phrase and was unlocked since sync started).
    pub ready: bool,
    /// Written after changes.
    pub on: bool,
    /// When this device last wrote it (ms).
    pub saved_at: Option<u64>,
    /// Changes not in it yet.
    pub pending: bool,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// A backup found for restoring (after "Import a recovery phrase").
    #[serde(default)]
    pub found: Option<FoundView>,
    /// Its generation (0 until the devices outside a group were cut off).
    #[serde(default)]
    pub generation: u32,
    /// The wallet must be unlocked once to go on: the backup's next key
    /// comes from the recovery phrase (cutting off, or following).
    #[serde(default)]
    pub needs_unlock: bool,
    /// The user asked to cut off the devices outside this group and it is
    /// not done yet.
    #[serde(default)]
    pub cutting: bool,
    /// When this device cut off the devices outside its group (ms).
    #[serde(default)]
    pub moved_at: Option<u64>,
    /// When a browser outside this group moved the backup on, cutting
    /// this device off (ms, its clock); the backup is off here.
    #[serde(default)]
    pub cut_off: Option<u64>,
}

/// A generation this device left for the next one: its marker is written
/// after the next generation's first write.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Leaving {
    secret: Zeroizing<String>,
    generation: u32,
    counter: u64,
}

/// What the audit log must record about the backup (the shell signs it:
/// [`Backup::take_news`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum News {
    /// This device moved the backup on to `generation`.
    Moved {
        /// The new generation.
        generation: u32,
    },
    /// A browser outside this group moved the backup on past `generation`:
    /// this device is cut off.
    CutOff {
        /// The generation this device held.
        generation: u32,
    },
}

/// The backup's state in the sync state (stored sealed with it).
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backup {
    /// The backup secret (hex): the shell gets it from the core while the
    /// wallet is unlocked, so writes can happen later while it is locked.
    #[serde(default)]
    secret: Option<Zeroizing<String>>,
    #[serde(default)]
    on: bool,
    /// Changes since the last write.
    #[serde(default)]
    dirty: bool,
    /// A delete waits to be sent.
    #[serde(default)]
    deleting: bool,
    /// The last counter the relay was known to hold.
    #[serde(default)]
    counter: u64,
    #[serde(default)]
    saved_at: Option<u64>,
    #[serde(default)]
    error: Option<String>,
    /// The request under way (not stored: after a restart it is made again).
    #[serde(skip)]
    busy: bool,
    /// A backup read for restoring (not stored).
    #[serde(skip)]
    found: Option<(u64, Contents)>,
    /// The generation of `secret`.
    #[serde(default)]
    generation: u32,
    /// This device's group (hex), set by the shell: a retired generation's
    /// marker from it is followed, any other cuts this device off.
    #[serde(default)]
    group: Option<String>,
    /// The generation whose secret the shell is to hand over next (at the
    /// next unlock): cutting off, or following a move.
    #[serde(default)]
    want: Option<u32>,
    /// The user asked to cut off the devices outside this group.
    #[serde(default)]
    cutting: bool,
    /// The generation left behind, until its marker is written.
    #[serde(default)]
    leaving: Vec<Leaving>,
    #[serde(default)]
    moved_at: Option<u64>,
    #[serde(default)]
    cut_off: Option<u64>,
    /// For the audit log (not stored: recorded as soon as it is taken).
    #[serde(skip)]
    news: Option<News>,
}

impl fmt::Debug for Backup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backup")
            .field("ready", &self.secret.is_some())
            .field("on", &self.on)
            .field("dirty", &self.dirty)
            .field("counter", &self.counter)
            .field("generation", &self.generation)
            .field("want", &self.want)
            .field(
                "leaving",
                &self
                    .leaving
                    .iter()
                    .map(|l| l.generation)
                    .collect::<Vec<_>>(),
            )
            .field("cut_off", &self.cut_off)
            .finish_non_exhaustive()
    }
}

fn refusal(status: u16, body: &str) -> String {
    match serde_json::from_str::<BackupRefusal>(body) {
        Ok(r) => format!("the relay refused the backup: {}", r.message),
        Err(_) if status == 0 => "the relay could not be reached".into(),
        Err(_) => format!("the relay answered the backup with HTTP {status}"),
    }
}

fn keys_of(text: &Zeroizing<String>) -> Option<BackupKeys> {
    let mut s = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.as_bytes(), &mut *s).ok()?;
    Some(BackupKeys::derive(&s))
}

impl Backup {
    fn keys(&self) -> Option<BackupKeys> {
        keys_of(self.secret.as_ref()?)
    }

    /// The generation whose secret the shell hands over
    /// ([`Backup::set_secret`]) when the wallet is unlocked: the one it
    /// holds, or the next one when cutting off or following a move.
    pub fn generation_wanted(&self) -> u32 {
        self.want.unwrap_or(self.generation)
    }

    /// This device's group (hex), which a retired generation's marker is
    /// checked against and which the marker it writes names.
    pub fn set_group(&mut self, group: &str) {
        if self.group.as_deref() != Some(group) {
            self.group = Some(group.to_owned());
        }
    }

    /// Takes the backup secret of `generation`. A new one (first time,
    /// another phrase, or the generation this device wanted: cutting off
    /// or following) turns the backup on and schedules a write; one of an
    /// older generation than the one held is ignored. Returns whether it
    /// was taken.
    pub fn set_secret(&mut self, secret: &[u8; 32], generation: u32) -> bool {
        let text = Zeroizing::new(hex::encode(secret));
        if self.secret.is_some() && generation < self.generation {
            return false;
        }
        if generation == self.generation && self.secret.as_deref() == Some(&*text) {
            return false;
        }
        let group = self.group.take();
        if self.want == Some(generation) && self.secret.is_some() {
            // Moving on: this device's generation is left behind (cutting
            // off: its marker follows the first write of the new one).
            // (A move asked for before an earlier one's marker was
            // written keeps both markers due.)
            let mut leaving = core::mem::take(&mut self.leaving);
            if let (true, Some(old)) = (self.cutting, self.secret.take()) {
                leaving.push(Leaving {
                    secret: old,
                    generation: self.generation,
                    counter: self.counter,
                });
            }
            *self = Self {
                secret: Some(text),
                generation,
                on: true,
                dirty: true,
                group,
                leaving,
                moved_at: self.moved_at,
                ..Self::default()
            };
            return true;
        }
        *self = Self {
            secret: Some(text),
            generation,
            on: true,
            dirty: true,
            group,
            ..Self::default()
        };
        true
    }

    /// The user cuts off the devices outside this group: the backup moves
    /// to the next generation once the shell hands over its secret (the
    /// wallet unlocked: [`Backup::generation_wanted`]).
    pub fn cut_off_others(&mut self) -> Result<()> {
        if self.secret.is_none() {
            return Err(invalid(
                "the backup's key is not known here yet: unlock the wallet once",
            ));
        }
        if !self.on {
            return Err(invalid("the backup is off: turn it on first"));
        }
        if self.group.is_none() {
            return Err(invalid("this browser is not in a group yet"));
        }
        self.cutting = true;
        self.want = Some(self.generation + 1);
        Ok(())
    }

    /// The group key rotated (a device was revoked): the backup moves on
    /// as for [`Backup::cut_off_others`], so the revoked device, which
    /// keeps this generation's secret, reads nothing written after; done
    /// when the wallet is next unlocked here (or on another device of the
    /// group, which this one then follows). Nothing to do without the key,
    /// with the backup off, or while a move is already asked for.
    pub fn rotated(&mut self) {
        if self.secret.is_some() && self.on && self.group.is_some() && self.want.is_none() {
            self.cutting = true;
            self.want = Some(self.generation + 1);
        }
    }

    /// This device was removed from its group: it writes the backup no
    /// more and follows no move of it (the group's devices carry it on).
    pub fn stop(&mut self) {
        self.on = false;
        self.dirty = false;
        self.want = None;
        self.cutting = false;
        self.leaving.clear();
    }

    /// Whether the shell is to hand over a generation's secret when the
    /// wallet is unlocked ([`Backup::generation_wanted`]): a move waits.
    pub fn wants_key(&self) -> bool {
        self.want.is_some()
    }

    /// What the audit log must record, taken once.
    pub fn take_news(&mut self) -> Option<News> {
        self.news.take()
    }

    /// Something that is backed up changed.
    pub fn changed(&mut self) {
        if self.on {
            self.dirty = true;
        }
    }

    /// Whether a delete waits to be sent.
    pub fn deleting(&self) -> bool {
        self.deleting
    }

    /// Whether a generation left behind still waits for its marker.
    pub fn leaving(&self) -> bool {
        !self.leaving.is_empty()
    }

    /// Whether a request is due (the shell's debounce then calls
    /// [`Backup::next`]). See also [`crate::Syncer::backup_due`].
    pub fn due(&self) -> bool {
        // A move this group made waits for the next generation's secret.
        let following = self.want.is_some() && !self.cutting;
        self.secret.is_some()
            && !self.busy
            && (self.deleting
                || (self.on && self.dirty && !following)
                || (!self.leaving.is_empty() && !self.dirty))
    }

    /// The next request, if one is due.
    pub fn next(&mut self, relay: &str) -> Result<Option<Request>> {
        if !self.due() {
            return Ok(None);
        }
        let keys = self
            .keys()
            .ok_or_else(|| invalid("the backup key is unreadable"))?;
        let url = url(relay, &keys.id())?;
        self.busy = true;
        if self.deleting {
            let del = keys.delete(self.counter + 1);
            return Ok(Some(Request {
                purpose: Purpose::Delete,
                method: "DELETE",
                url,
                body: Some(serde_json::to_string(&del).expect("a delete serializes")),
            }));
        }
        if !(self.on && self.dirty) {
            // What is left of a move: the old generation's marker.
            let Some(old) = self.leaving.first().and_then(|l| keys_of(&l.secret)) else {
                self.leaving.clear();
                self.busy = false;
                return Ok(None);
            };
            return Ok(Some(Request {
                purpose: Purpose::Leave,
                method: "GET",
                url: self::url(relay, &old.id())?,
                body: None,
            }));
        }
        // Changes made from here on need another write.
        self.dirty = false;
        Ok(Some(Request {
            purpose: Purpose::Read,
            method: "GET",
            url,
            body: None,
        }))
    }

    /// A read for restoring (onboarding): `None` without the key.
    pub fn find(&mut self, relay: &str) -> Result<Option<Request>> {
        let Some(keys) = self.keys() else {
            return Ok(None);
        };
        find_request(&keys, relay).map(Some)
    }

    /// The user deletes the backup: a signed delete goes next; nothing is
    /// written until the backup is turned on again.
    pub fn delete(&mut self) {
        self.on = false;
        self.dirty = false;
        self.deleting = true;
    }

    /// The user turns the backup on again (a write follows). Cut off, it
    /// follows the backup to its next generation (at the next unlock).
    pub fn turn_on(&mut self) {
        self.on = true;
        self.dirty = true;
        self.deleting = false;
        if self.cut_off.take().is_some() {
            self.want = Some(self.generation + 1);
            self.cutting = false;
        }
    }

    /// What the Sync screen shows.
    pub fn view(&self) -> BackupView {
        BackupView {
            ready: self.secret.is_some(),
            on: self.on,
            saved_at: self.saved_at,
            pending: self.dirty || self.busy,
            error: self.error.clone(),
            found: self.found(),
            generation: self.generation,
            needs_unlock: self.want.is_some(),
            cutting: self.cutting,
            moved_at: self.moved_at,
            cut_off: self.cut_off,
        }
    }

    /// The backup found for restoring, summarised.
    pub fn found(&self) -> Option<FoundView> {
        self.found.as_ref().map(|(at, c)| c.view(*at))
    }

    /// The user chose not to restore the backup found.
    pub fn forget_found(&mut self) {
        self.found = None;
    }

    /// Takes the backup found for restoring.
    pub(crate) fn take_found(&mut self) -> Option<Contents> {
        self.found.take().map(|(_, c)| c)
    }

    /// The answer to a request (`status` 0: it could not be sent);
    /// `mine`: what this device would write (its records, its audit log and
    /// the keys of the group's devices), `relay`: the group's relay
    /// (WebSocket URL), `nonce`: 24 fresh random bytes.
    pub(crate) fn answer(
        &mut self,
        purpose: Purpose,
        relay: &str,
        (status, body): (u16, &str),
        mine: Mine<'_>,
        now_ms: u64,
        nonce: [u8; 24],
    ) -> Result<Option<Request>> {
        let keys = self
            .keys()
            .ok_or_else(|| invalid("the backup key is unreadable"))?;
        let stored = || {
            serde_json::from_str::<StoredBackup>(body)
                .map_err(|e| invalid(format!("the relay's backup answer cannot be read: {e}")))
        };
        match (purpose, status) {
            (Purpose::Find, 200 | 404) => {
                self.found = opened(&keys, status, body)?;
                if self
                    .found
                    .as_ref()
                    .is_some_and(|(_, c)| c.retired.is_some())
                {
                    // Moved on: the shell hands over the next generation's
                    // secret and looks again.
                    self.found = None;
                    self.want = Some(self.generation + 1);
                }
                Ok(None)
            }
            (Purpose::Read, 200 | 404) => {
                let remote = if status == 200 {
                    let s = stored()?;
                    self.counter = self.counter.max(s.counter);
                    // A backup that does not open (damaged) is replaced.
                    s.data
                        .and_then(|d| keys.open(&d.0).ok())
                        .and_then(|p| Contents::parse(&p).ok())
                } else {
                    None
                };
                if let Some(r) = remote.as_ref().and_then(|c| c.retired.as_ref()) {
                    self.busy = false;
                    if self.group.as_deref() == Some(r.group.as_str()) {
                        // This group moved it on: follow (next unlock).
                        self.want = Some(self.generation + 1);
                        self.cutting = false;
                        self.dirty = true;
                    } else {
                        // Someone else restored the phrase and cut the
                        // devices before it off, this one among them.
                        self.cut_off = Some(r.at);
                        self.on = false;
                        self.dirty = false;
                        self.want = None;
                        self.cutting = false;
                        self.news = Some(News::CutOff {
                            generation: self.generation,
                        });
                    }
                    return Ok(None);
                }
                let contents = merged(mine, remote, now_ms)?;
                let plain = Zeroizing::new(serde_json::to_vec(&contents).expect("serializes"));
                if plain.len() + SEAL_OVERHEAD > tandem_pair::backup::MAX_BACKUP_BYTES {
                    // The relay would refuse it (413) after the upload:
                    // said here instead, nothing sent. No retry until the
                    // next change (which may shrink it).
                    self.busy = false;
                    let why = too_large(&contents.snapshots, plain.len() + SEAL_OVERHEAD);
                    self.error = Some(why.clone());
                    return Err(invalid(why));
                }
                let counter = (self.counter + 1).max(now_ms);
                let put = keys.put(counter, keys.seal(&plain, nonce));
                Ok(Some(Request {
                    purpose: Purpose::Write,
                    method: "PUT",
                    url: url(relay, &keys.id())?,
                    body: Some(serde_json::to_string(&put).expect("a write serializes")),
                }))
            }
            (Purpose::Write | Purpose::Delete, 200) => {
                let s = stored()?;
                self.counter = self.counter.max(s.counter);
                self.busy = false;
                self.error = None;
                if purpose == Purpose::Write {
                    self.saved_at = Some(now_ms);
                } else {
                    self.deleting = false;
                    self.saved_at = None;
                }
                if purpose == Purpose::Write && !self.dirty {
                    if let Some(l) = self.leaving.first() {
                        // Everything is in the new generation: the old one
                        // gets its marker.
                        self.busy = true;
                        let old = keys_of(&l.secret)
                            .ok_or_else(|| invalid("the old backup key is unreadable"))?;
                        return Ok(Some(Request {
                            purpose: Purpose::Leave,
                            method: "GET",
                            url: url(relay, &old.id())?,
                            body: None,
                        }));
                    }
                }
                Ok(None)
            }
            (Purpose::Leave, 200 | 404) => {
                let (Some(l), Some(group)) = (self.leaving.first_mut(), self.group.as_deref())
                else {
                    self.busy = false;
                    return Ok(None);
                };
                let old = keys_of(&l.secret)
                    .ok_or_else(|| invalid("the old backup key is unreadable"))?;
                if status == 200 {
                    l.counter = l.counter.max(stored()?.counter);
                }
                let plain = Zeroizing::new(
                    serde_json::to_vec(&Contents::retired(now_ms, group)).expect("serializes"),
                );
                let put = old.put((l.counter + 1).max(now_ms), old.seal(&plain, nonce));
                Ok(Some(Request {
                    purpose: Purpose::Retire,
                    method: "PUT",
                    url: url(relay, &old.id())?,
                    body: Some(serde_json::to_string(&put).expect("a write serializes")),
                }))
            }
            (Purpose::Retire, 200) => {
                self.busy = false;
                self.error = None;
                if !self.leaving.is_empty() {
                    self.leaving.remove(0);
                }
                if self.leaving.is_empty() {
                    self.moved_at = Some(now_ms);
                    self.news = Some(News::Moved {
                        generation: self.generation,
                    });
                }
                Ok(None)
            }
            (Purpose::Retire, 409) => {
                // Another write meanwhile (a cut-off device): again, above it.
                if let (
                    Ok(BackupRefusal {
                        counter: Some(c), ..
                    }),
                    Some(l),
                ) = (serde_json::from_str(body), self.leaving.first_mut())
                {
                    l.counter = l.counter.max(c);
                }
                self.busy = false;
                Ok(None)
            }
            (Purpose::Delete, 404) => {
                self.busy = false;
                self.deleting = false;
                self.saved_at = None;
                Ok(None)
            }
            (Purpose::Write | Purpose::Delete, 409) => {
                // Someone wrote meanwhile: start again above its counter.
                if let Ok(BackupRefusal {
                    counter: Some(c), ..
                }) = serde_json::from_str(body)
                {
                    self.counter = self.counter.max(c);
                }
                self.busy = false;
                if purpose == Purpose::Write {
                    self.dirty = true;
                }
                Ok(None)
            }
            (_, status) => {
                self.busy = false;
                if purpose == Purpose::Read || purpose == Purpose::Write {
                    self.dirty = true;
                }
                let why = refusal(status, body);
                self.error = Some(why.clone());
                Err(invalid(why))
            }
        }
    }
}

/// The read that finds the backup of `keys` on `relay`.
fn find_request(keys: &BackupKeys, relay: &str) -> Result<Request> {
    Ok(Request {
        purpose: Purpose::Find,
        method: "GET",
        url: url(relay, &keys.id())?,
        body: None,
    })
}

/// The backup in the relay's answer to a find, opened: when it was
/// written (relay seconds) and what it holds; `None` when there is none.
fn opened(keys: &BackupKeys, status: u16, body: &str) -> Result<Option<(u64, Contents)>> {
    match status {
        404 => Ok(None),
        200 => {
            let s: StoredBackup = serde_json::from_str(body)
                .map_err(|e| invalid(format!("the relay's backup answer cannot be read: {e}")))?;
            let Some(d) = s.data else { return Ok(None) };
            let plain = keys.open(&d.0).map_err(|_| {
                invalid("the backup on the relay does not open with this recovery phrase's key: it was damaged")
            })?;
            Ok(Some((s.updated_at, Contents::parse(&plain)?)))
        }
        status => Err(invalid(refusal(status, body))),
    }
}

/// Before this browser syncs (onboarding, no device yet): the read that
/// finds the backup of `secret` on `relay`.
pub fn peek_request(secret: &[u8; 32], relay: &str) -> Result<Request> {
    find_request(&BackupKeys::derive(secret), relay)
}

/// The relay's answer to [`peek_request`], summarised (`None`: no backup).
/// Restoring reads it again through the syncer ([`Backup::find`]).
pub fn peek(secret: &[u8; 32], status: u16, body: &str) -> Result<Option<FoundView>> {
    Ok(opened(&BackupKeys::derive(secret), status, body)?.map(|(at, c)| c.view(at)))
}

/// Onboarding, before this browser syncs: finds the newest generation of
/// the backup. Each generation is read in turn (the shell hands over its
/// secret from the core, [`Probe::generation`], and the relay's answer)
/// until one was never written (404; a deleted one is read past); the
/// last one that holds records is the one to restore. Reading on past a generation that holds records (not only
/// past a marker) is what keeps a cut-off device, which still holds an
/// old generation's key and may write over its marker, from passing its
/// own records off as the newest.
#[derive(Debug, Default)]
pub struct Probe {
    generation: u32,
    /// The newest generation read that holds records: its number, when
    /// the relay stored it (s) and what it holds.
    chosen: Option<(u32, u64, Contents)>,
    done: bool,
}

impl Probe {
    /// A probe from generation 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// The generation to read next, `None` once done.
    pub fn generation(&self) -> Option<u32> {
        (!self.done).then_some(self.generation)
    }

    /// The read of the current generation (`secret`: its secret).
    pub fn request(&self, secret: &[u8; 32], relay: &str) -> Result<Request> {
        peek_request(secret, relay)
    }

    /// The relay's answer for the current generation; returns whether to
    /// read the next one. A backup that does not open is refused (as
    /// [`peek`]).
    pub fn answer(&mut self, secret: &[u8; 32], status: u16, body: &str) -> Result<bool> {
        if self.done {
            return Ok(false);
        }
        match opened(&BackupKeys::derive(secret), status, body)? {
            Some((at, c)) => {
                if c.retired.is_none() {
                    self.chosen = Some((self.generation, at, c));
                }
                if self.generation >= MAX_GENERATION {
                    self.done = true;
                } else {
                    self.generation += 1;
                }
            }
            // Deleted (the relay keeps its key and counter): read on. A
            // cut-off device holds an old generation's key and may delete
            // its marker; only a generation never written ends the probe.
            None if status == 200 && self.generation < MAX_GENERATION => self.generation += 1,
            None => self.done = true,
        }
        Ok(!self.done)
    }

    /// The generation to restore and its summary, once done (`None`: no
    /// backup holds records).
    pub fn chosen(&self) -> Option<(u32, FoundView)> {
        self.chosen
            .as_ref()
            .filter(|_| self.done)
            .map(|(g, at, c)| (*g, c.view(*at)))
    }
}

impl Backup {
    /// Takes what `probe` found as the backup to restore, without reading
    /// it again, if it is of the generation whose secret this device holds
    /// (the shell hands that secret over first); returns whether it did.
    pub fn found_by(&mut self, probe: &mut Probe) -> bool {
        if !probe.done || self.secret.is_none() {
            return false;
        }
        match probe.chosen.take() {
            Some((g, at, c)) if g == self.generation => {
                self.found = Some((at, c));
                true
            }
            other => {
                probe.chosen = other;
                false
            }
        }
    }
}

/// What this device backs up: its records, its audit log, and the identity
/// keys of its group's devices (to send their chains with their keys).
#[derive(Clone, Copy)]
pub(crate) struct Mine<'a> {
    pub(crate) replica: &'a Replica,
    pub(crate) audit: &'a Log,
    pub(crate) known: &'a [tandem_pair::IdentityPublic],
}

/// What sealing adds to the plaintext: the nonce and the tag.
const SEAL_OVERHEAD: usize = 24 + 16;

/// Why a backup of `size` sealed bytes is not written: what the user can
/// do about it, naming the category that takes the most room.
fn too_large(records: &[Snapshot], size: usize) -> String {
    let kib = |b: usize| b.div_ceil(1024);
    let largest = records
        .iter()
        .map(|s| (serde_json::to_vec(s).map_or(0, |b| b.len()), s.category))
        .max_by_key(|(len, _)| *len);
    let part = largest.map_or_else(String::new, |(len, category)| {
        format!(
            " The largest part is {} ({} KiB): remove entries from it, or stop syncing it, and the backup is written again.",
            category.label().to_lowercase(),
            kib(len)
        )
    });
    format!(
        "Not backed up: your synced data takes {} KiB, more than the {} KiB a backup can hold.{part}",
        kib(size),
        kib(tandem_pair::backup::MAX_BACKUP_BYTES)
    )
}

/// Room for the audit log in a backup's plaintext: the relay's limit less
/// the seal's nonce and tag, the records and a margin for the JSON around.
fn audit_budget(records: &[Snapshot]) -> usize {
    let records = serde_json::to_vec(records).map_or(0, |b| b.len());
    tandem_pair::backup::MAX_BACKUP_BYTES.saturating_sub(records + SEAL_OVERHEAD + 1024)
}

/// This device's categories that sync, merged field by field with what the
/// relay's backup holds (the later change wins, as in sync; a category
/// switched off later than the backup was written is left out), and both
/// sides' audit logs, joined.
fn merged(mine: Mine<'_>, remote: Option<Contents>, now_ms: u64) -> Result<Contents> {
    let mut all = Replica::new(mine.replica.device());
    // No clock limit: both sides' stamps are taken as they are, except
    // the backup's changes dated in the future to fields this device
    // holds. Sync would hold those back until the clock catches up (and
    // a restore took them as made then): this device's copy, restored or
    // edited since, wins, so an edit made here is not lost in the backup
    // to an older change from a clock that ran ahead.
    let far = u64::MAX / 4;
    for c in Category::ALL {
        all.absorb(mine.replica.snapshot(c), far)?;
    }
    let limit = now_ms.saturating_add(MAX_AHEAD_MS);
    let mut log = mine.audit.clone();
    if let Some(remote) = remote {
        for mut s in remote.snapshots {
            s.ops
                .retain(|op| op.stamp.ms <= limit || !mine.replica.holds(&op.field));
            all.absorb(s, far)?;
        }
        log.import(remote.audit);
    }
    let snapshots: Vec<Snapshot> = Category::ALL
        .into_iter()
        .filter(|c| all.enabled(*c))
        .map(|c| all.snapshot(c))
        .collect();
    let chains = log.backed_up(
        |d| mine.known.iter().find(|k| k.device_id() == *d).copied(),
        audit_budget(&snapshots),
    );
    Ok(Contents::new(snapshots, chains))
}
