//! The audit log: what happened on every device of the wallet, as entries
//! each device signs with its identity key and chains by hash (per device).
//!
//! Reading checks every entry and every link and says what is wrong
//! instead of hiding it ([`Verdict`]): an altered entry fails its
//! signature, a removed one leaves a gap in the sequence numbers or a
//! broken link, a reordered one comes before its predecessor. The newest
//! entries of a device cut off the end of its chain cannot be told from
//! entries that have not arrived yet; the device itself knows its own
//! last sequence number ([`Log::verify`] checks its own chain against it).
//!
//! A device compacts its own chain with a signed checkpoint that names the
//! last entry it replaces and that entry's hash.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tandem_pair::{DeviceId, IdentityKey, IdentityPublic, Signature};

use crate::Category;

/// The signature domain of audit entries.
pub const AUDIT_DOMAIN: &str = "tandem/audit/v1";

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Happened {
    /// A device joined the wallet.
    Paired {
        /// Its id (hex).
        device: String,
        /// Its name.
        name: String,
    },
    /// A device was revoked.
    Revoked {
        /// Its id (hex).
        device: String,
        /// lost, compromised, retired or unspecified.
        reason: String,
    },
    /// A session token was issued, refreshed or expired.
    Token {
        /// The device (hex).
        device: String,
        /// issued, refreshed or expired.
        action: String,
        /// When it expires (Unix seconds).
        expires_at: u64,
    },
    /// A site asked to sign or send.
    Sign {
        /// The site's origin.
        site: String,
        /// The method.
        method: String,
        /// The chain id.
        chain: u64,
        /// What it was, decoded.
        summary: String,
        /// Approved.
        approved: bool,
        /// Where it was answered (a device id, hex): the device that
        /// approved it, or the phone that rejected it; none for a
        /// rejection on the device that writes the entry, or a request
        /// withdrawn (its window or tab closed, the wallet locked).
        approved_on: Option<String>,
    },
    /// The wallet was unlocked, or an unlock failed.
    Unlock {
        /// Whether the password was right.
        ok: bool,
    },
    /// A sync category was turned on or off.
    SyncCategory {
        /// The category.
        category: Category,
        /// On or off.
        on: bool,
    },
    /// The wallet was restored from its recovery phrase. After a backup
    /// was restored: how many entries of the old devices' logs came back,
    /// from how many devices (absent for a wallet imported with nothing
    /// restored, and in entries written before backups held the log: their
    /// signed bytes stay as they were).
    Restored {
        /// Entries restored.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entries: Option<u64>,
        /// Devices they came from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        devices: Option<u64>,
    },
    /// The encrypted backup moved on to a new generation, whose key comes
    /// from the recovery phrase alone (`tandem_sync::backup`). `here`:
    /// this device moved it, cutting off the devices outside its group;
    /// otherwise a browser outside this device's group moved it past
    /// `generation`, and this device was cut off.
    BackupMoved {
        /// here: the new generation; otherwise the one this device held.
        generation: u32,
        /// Whether this device moved it.
        here: bool,
    },
    /// Entries before this one were compacted away; `hash` is the last
    /// one's.
    Checkpoint {
        /// The last entry replaced.
        upto: u64,
        /// Its hash (hex).
        hash: String,
    },
}

impl Happened {
    /// Cuts every text to [`crate::MAX_TEXT`] characters (marked with `…`).
    fn bound(&mut self) {
        let cut = |s: &mut String| {
            if s.chars().count() > crate::MAX_TEXT {
                *s = s.chars().take(crate::MAX_TEXT - 1).collect::<String>() + "…";
            }
        };
        match self {
            Self::Paired { device, name } => [device, name].into_iter().for_each(cut),
            Self::Revoked { device, reason } => [device, reason].into_iter().for_each(cut),
            Self::Token { device, action, .. } => [device, action].into_iter().for_each(cut),
            Self::Sign {
                site,
                method,
                summary,
                approved_on,
                ..
            } => {
                [site, method, summary].into_iter().for_each(cut);
                if let Some(a) = approved_on {
                    cut(a);
                }
            }
            Self::Checkpoint { hash, .. } => cut(hash),
            Self::Unlock { .. }
            | Self::SyncCategory { .. }
            | Self::Restored { .. }
            | Self::BackupMoved { .. } => {}
        }
    }
}

/// One signed entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The device that wrote and signed it.
    pub device: DeviceId,
    /// Its place in that device's chain (from 1).
    pub seq: u64,
    /// The hash of the device's entry before it (hex; zeros for the first).
    pub prev: String,
    /// When (milliseconds since the Unix epoch, the device's clock).
    pub at_ms: u64,
    /// What happened.
    pub happened: Happened,
    /// The device's signature over all of the above.
    pub sig: Signature,
}

#[derive(Serialize)]
struct Unsigned<'a> {
    device: &'a DeviceId,
    seq: u64,
    prev: &'a str,
    at_ms: u64,
    happened: &'a Happened,
}

impl Entry {
    fn signed_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&Unsigned {
            device: &self.device,
            seq: self.seq,
            prev: &self.prev,
            at_ms: self.at_ms,
            happened: &self.happened,
        })
        .expect("an entry serializes")
    }

    /// Whether `key` signed it.
    fn signed_by(&self, key: &IdentityPublic) -> bool {
        key.verify_app(AUDIT_DOMAIN, &self.signed_bytes(), &self.sig)
            .is_ok()
    }

    /// Its hash (hex): what the next entry's `prev` names.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.signed_bytes());
        h.update(self.sig.0);
        hex::encode(h.finalize())
    }
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What reading found about one entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verdict {
    /// Signed by its device and linked to the entry before it.
    Ok,
    /// The signature does not match: the entry was altered (or forged).
    Altered,
    /// Written by a device this wallet does not know.
    UnknownDevice,
    /// Entries before this one are missing (removed): `missing` of them.
    Gap {
        /// How many.
        missing: u64,
    },
    /// It names another entry as its predecessor than the one before it:
    /// that one was changed or replaced.
    BrokenLink,
    /// It comes after an entry with a later place in the chain: moved.
    OutOfOrder,
}

/// An entry with what reading found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Checked<'a> {
    /// The entry.
    pub entry: &'a Entry,
    /// The finding.
    pub verdict: Verdict,
}

/// Most entries kept per device (a device sending more is misbehaving;
/// a device's own chain is compacted well before).
pub const MAX_ENTRIES: usize = 10_000;

/// Every device's chain as this device holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    chains: BTreeMap<DeviceId, Vec<Entry>>,
    /// This device's last sequence number (so a cut tail shows).
    #[serde(default)]
    last_own: u64,
    /// This device's entries not yet handed to the group.
    #[serde(default)]
    outbox: Vec<Entry>,
    /// The identity keys of devices known only from a restored backup
    /// (the old devices of a wallet restored from its phrase): their
    /// entries are checked with these, and go into this device's backups.
    #[serde(default)]
    keys: BTreeMap<DeviceId, IdentityPublic>,
    /// The old devices' keys that group members restored, each list signed
    /// by the member (a vouch, kept as the group message it travels in):
    /// how a device that joins after a restore checks the old chains it is
    /// sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    vouches: Vec<String>,
    /// The vouches go to the group with the next send (asked for).
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    send_vouches: bool,
    /// Ask the group for their chains with the next send ([`Log::ask`]).
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    ask: bool,
    /// Another device asked for this one's chain (answered by the engine:
    /// [`Log::resend_own`]).
    #[serde(skip)]
    asked: bool,
    /// A fresh log of a device that may have written before (a phone that
    /// deleted its copy and turned the log on again): since when it waits
    /// to learn from the group where its chain ends ([`Log::resume`]). Its
    /// entries meanwhile are signed at the seq its copy knows, shown here,
    /// and held back in the outbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resuming: Option<u64>,
    /// The entries answers named as the end of a chain while resuming
    /// (read by [`Log::rebase`] right after the message, as the engine's
    /// answers are sent right after it: neither is stored).
    #[serde(skip)]
    answers: Vec<Entry>,
    /// The devices that were answered that no entry of theirs is held.
    #[serde(skip)]
    none_held: Vec<DeviceId>,
    /// Ask the group again where this device's chain ends.
    #[serde(skip)]
    ask_own: bool,
    /// The devices whose chain end goes out with the next send, after
    /// their entries (asked by them: [`Log::resume`]).
    #[serde(skip)]
    ends: Vec<DeviceId>,
}

/// A request about one device's chain, or its answer, as the group message
/// it travels in, `[kind, device, [entry]]` (an array, as a vouch: its
/// decoder is the smallest):
/// - `["audit_resume", d, []]`: a fresh log of `d` asks where its chain
///   ends ([`Log::resume`]);
/// - `["audit_end", d, [last]]`: the answer, after the chain itself: the
///   newest entry of `d` the answering device holds (`[]`: none). Only an
///   entry `d`'s own key verifies counts where it is read.
#[derive(Serialize, Deserialize)]
struct Ask(String, DeviceId, Vec<Entry>);

impl Ask {
    const RESUME: &str = "audit_resume";
    const END: &str = "audit_end";

    fn to_vec(kind: &str, device: DeviceId, entry: Option<&Entry>) -> Vec<u8> {
        let mut entries = Vec::new();
        if let Some(e) = entry {
            entries.push(e.clone());
        }
        serde_json::to_vec(&Self(kind.into(), device, entries)).expect("a request serializes")
    }
}

/// Most answers heard before they are read.
const MAX_ANSWERS: usize = 16;

/// How long a fresh log waits for the group to say where its chain ends
/// before it sends its entries as a new chain (no device of the group
/// that keeps the log came online meanwhile): a day.
pub const RESUME_WAIT_MS: u64 = 24 * 60 * 60 * 1000;

/// One device's chain in a backup, with the key its entries are checked
/// with (none for a device the writer did not know: its entries then show
/// as from an unknown device).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chain {
    /// The device.
    pub device: DeviceId,
    /// Its identity key.
    pub identity: Option<IdentityPublic>,
    /// Its entries, oldest first.
    pub entries: Vec<Entry>,
}

/// The signature domain of a vouch (the old devices' keys a member
/// restored).
pub const VOUCH_DOMAIN: &str = "tandem/audit/v1/restored-keys";

/// The identity keys of the old devices whose chains a group member
/// restored from a backup, signed by that member, as the group message it
/// travels in, `["audit_keys", by, [key…], sig]` (an array: its decoder is
/// the smallest): a device that joins the group later checks the old
/// chains with them. A key counts only for the device id it derives, and
/// only when `by` is a device of the group whose key verifies `sig` (over
/// `["audit_keys", by, [key…]]` as JSON, [`VOUCH_DOMAIN`]): a relay cannot
/// send one, and another member cannot put keys in a restoring member's
/// name.
#[derive(Serialize, Deserialize)]
struct Vouch(String, DeviceId, Vec<IdentityPublic>, Signature);

impl Vouch {
    const KIND: &str = "audit_keys";

    /// A vouch kept or received: `None` if it cannot be read.
    fn read(text: &str) -> Option<Self> {
        // From bytes, as backups are read: the same decoders serve both.
        serde_json::from_slice::<Self>(text.as_bytes())
            .ok()
            .filter(|v| v.0 == Self::KIND)
    }

    fn signed_bytes(by: &DeviceId, keys: &[IdentityPublic]) -> Vec<u8> {
        serde_json::to_vec(&(Self::KIND, by, keys)).expect("keys serialize")
    }

    /// Whether `by`'s key (from `identity`) signed it.
    fn valid(&self, identity: &dyn Fn(&DeviceId) -> Option<IdentityPublic>) -> bool {
        let Self(_, by, keys, sig) = self;
        identity(by).is_some_and(|k| {
            k.device_id() == *by
                && k.verify_app(VOUCH_DOMAIN, &Self::signed_bytes(by, keys), sig)
                    .is_ok()
        })
    }
}

/// Most vouches a log keeps (each a member's restore; only members send
/// them, and they are checked when read).
const MAX_VOUCHES: usize = 32;

/// Most keys one vouch names (a group has at most 64 devices over its
/// lifetime; a few restores in a row add theirs up).
const MAX_VOUCHED_KEYS: usize = 256;

/// Most bytes of one vouch's message (256 keys and the rest fit).
const MAX_VOUCH_BYTES: usize = 24 * 1024;

/// Most entries of one device a backup keeps: what the device's own log
/// keeps at most before it compacts again (kept + slack + its checkpoint).
pub const BACKUP_PER_DEVICE: usize = crate::OWN_KEPT + crate::OWN_SLACK + 1;

/// Entries per group message: every text of an entry is cut to
/// [`crate::MAX_TEXT`] characters, so 16 stay inside a message.
const ENTRIES_PER_MESSAGE: usize = 16;

fn encode(entries: Vec<Entry>) -> Vec<u8> {
    serde_json::to_vec(&Wire::Entries { entries }).expect("entries serialize")
}

/// A group message carrying audit entries, or asking for them.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Wire {
    #[serde(rename = "audit_entries")]
    Entries { entries: Vec<Entry> },
    /// A device that starts its log (a phone that just turned it on, a
    /// device paired after the others wrote theirs) asks every device for
    /// the chain it keeps: entries sent before it listened would otherwise
    /// show it a gap where nothing was removed.
    #[serde(rename = "audit_want")]
    Want {},
}

impl Log {
    /// Appends what happened on this device, signed; returns the entry
    /// (to send to the other devices).
    pub fn append(&mut self, me: &IdentityKey, mut happened: Happened, now_ms: u64) -> Entry {
        happened.bound();
        let device = me.device_id();
        let chain = self.chains.entry(device).or_default();
        let (seq, prev) = chain
            .last()
            .map_or((1, GENESIS.to_owned()), |e| (e.seq + 1, e.hash()));
        let seq = seq.max(self.last_own + 1);
        let mut entry = Entry {
            device,
            seq,
            prev,
            at_ms: now_ms,
            happened,
            sig: Signature([0; 64]),
        };
        entry.sig = me.sign_app(AUDIT_DOMAIN, &entry.signed_bytes());
        chain.push(entry.clone());
        self.last_own = seq;
        // A device without a group sends nothing: what would wait longest
        // goes first (the other devices see a gap, not a silent loss).
        if self.outbox.len() >= MAX_ENTRIES {
            self.outbox.remove(0);
        }
        self.outbox.push(entry.clone());
        entry
    }

    /// Ask the other devices for their chains with the next send (a log
    /// that starts here while they already wrote theirs).
    pub fn ask(&mut self) {
        self.ask = true;
    }

    /// Starts the log of a device that may have written before, with no
    /// copy of its own chain: a phone that deleted its copy and turned the
    /// log on again. With the chains, the group is asked where its chain
    /// ends ([`Log::resume_ask`]); entries written meanwhile show here but
    /// wait, and follow that end once it is known ([`Log::rebase`]), so
    /// the other devices see one chain, not one that restarts at 1.
    pub fn resume(&mut self, now_ms: u64) {
        self.resuming = Some(now_ms);
        self.ask = true;
    }

    /// Whether this log still waits to learn where its own chain ends.
    pub fn resuming(&self) -> bool {
        self.resuming.is_some()
    }

    /// The request where `me`'s chain ends, when it is to go with the next
    /// send (with the request for the chains, or when another log starts).
    pub fn resume_ask(&mut self, me: DeviceId) -> Option<Vec<u8>> {
        let again = core::mem::take(&mut self.ask_own) | self.ask;
        (again && self.resuming.is_some()).then(|| Ask::to_vec(Ask::RESUME, me, None))
    }

    /// Once a device answered where this one's chain ends, or none did
    /// within [`RESUME_WAIT_MS`]: signs the entries written meanwhile
    /// again after the newest entry of its chain held, and lets them go to
    /// the group. An answer counts only if it says no entry is held or
    /// names one `me`'s key verifies: a relay cannot send one, and a
    /// member cannot say where this chain ends with an entry it did not
    /// sign (ignored: the log waits on). Entries of its id that `me`'s key
    /// does not verify are dropped first: they are not its own, whoever
    /// sent them, and its chain does not follow them. Whether it did.
    pub fn rebase(&mut self, me: &IdentityKey, now_ms: u64) -> bool {
        let Some(since) = self.resuming else {
            return false;
        };
        let (id, key) = (me.device_id(), me.public());
        let ok = |e: &Entry| e.device == id && e.signed_by(&key);
        let mut answered = core::mem::take(&mut self.none_held).contains(&id);
        for e in core::mem::take(&mut self.answers) {
            if ok(&e) {
                self.receive(e);
                answered = true;
            }
        }
        if !answered && now_ms < since.saturating_add(RESUME_WAIT_MS) {
            return false;
        }
        self.resuming = None;
        let mut held = Vec::new();
        for e in core::mem::take(&mut self.outbox) {
            if e.device == id {
                held.push(e);
            } else {
                self.outbox.push(e);
            }
        }
        let chain = self.chains.entry(id).or_default();
        chain.retain(|e| !held.contains(e) && ok(e));
        self.last_own = chain.last().map_or(0, |e| e.seq);
        for e in held {
            // A checkpoint names entries of the old numbering.
            if !matches!(e.happened, Happened::Checkpoint { .. }) {
                self.append(me, e.happened, e.at_ms);
            }
        }
        true
    }

    /// Whether another device asked for this one's chain since the last
    /// call.
    pub fn take_asked(&mut self) -> bool {
        core::mem::take(&mut self.asked)
    }

    /// Queues every entry `me` keeps of its own chain to go to the group
    /// again (a copy already held changes nothing where it arrives).
    pub fn resend_own(&mut self, me: DeviceId) {
        self.resend(&[me]);
    }

    /// Queues the chains of `devices` to go again, before what waits.
    fn resend(&mut self, devices: &[DeviceId]) {
        let waiting = core::mem::take(&mut self.outbox);
        let mut again: Vec<Entry> = devices
            .iter()
            .filter_map(|d| self.chains.get(d))
            .flatten()
            .filter(|e| !waiting.contains(e))
            .cloned()
            .collect();
        again.extend(waiting);
        self.outbox = again;
    }

    /// Queues, for a device that asked for the chains, every vouch held
    /// (this device's own restore, or another member's passed on) and the
    /// chains of the old devices they name: a device that joins after a
    /// restore gets them, not only the chains of the group's devices.
    pub fn resend_restored(&mut self) {
        if self.vouches.is_empty() {
            return;
        }
        self.send_vouches = true;
        let named: Vec<DeviceId> = self
            .vouches
            .iter()
            .filter_map(|t| Vouch::read(t))
            .flat_map(|v| v.2.into_iter().map(|k| k.device_id()))
            .collect();
        self.resend(&named);
    }

    /// Signs, as `me`, the keys of the old devices this log holds from a
    /// restored backup (a vouch), for the devices that join later.
    pub fn vouch(&mut self, me: &IdentityKey) {
        let by = me.device_id();
        let keys: Vec<IdentityPublic> =
            self.keys.values().copied().take(MAX_VOUCHED_KEYS).collect();
        if keys.is_empty() {
            return;
        }
        let sig = me.sign_app(VOUCH_DOMAIN, &Vouch::signed_bytes(&by, &keys));
        self.vouches
            .retain(|t| Vouch::read(t).is_none_or(|v| v.1 != by));
        let v = Vouch(Vouch::KIND.into(), by, keys, sig);
        let text = serde_json::to_vec(&v).expect("keys serialize");
        self.vouches
            .push(String::from_utf8(text).expect("JSON is UTF-8"));
    }

    /// The keys of devices outside the group this log checks entries with,
    /// for an export that others check: each with where it comes from,
    /// `"restored"` (a backup this device restored carried it) or
    /// `"vouched"` (a member's vouch names it, and the vouch verifies with
    /// that member's key, `identity`). A device the group knows is left
    /// out (its key is the group's).
    pub fn outside_keys(
        &self,
        identity: &dyn Fn(&DeviceId) -> Option<IdentityPublic>,
    ) -> Vec<(DeviceId, IdentityPublic, &'static str)> {
        let mut out: Vec<(DeviceId, IdentityPublic, &'static str)> = self
            .keys
            .iter()
            .map(|(d, k)| (*d, *k, "restored"))
            .collect();
        for v in self.vouches.iter().filter_map(|t| Vouch::read(t)) {
            if !v.valid(identity) {
                continue;
            }
            for k in &v.2 {
                let d = k.device_id();
                if !out.iter().any(|(x, ..)| *x == d) {
                    out.push((d, *k, "vouched"));
                }
            }
        }
        out.retain(|(d, ..)| identity(d).is_none());
        out
    }

    /// The key `device`'s entries are checked with: the group's
    /// (`identity`), one a restored backup carried, or one a member of the
    /// group vouched for.
    fn key_of(
        &self,
        device: &DeviceId,
        identity: &dyn Fn(&DeviceId) -> Option<IdentityPublic>,
    ) -> Option<IdentityPublic> {
        identity(device)
            .or_else(|| self.keys.get(device).copied())
            .or_else(|| {
                self.vouches.iter().find_map(|t| {
                    let v = Vouch::read(t)?;
                    let k = v.2.iter().find(|k| k.device_id() == *device)?;
                    v.valid(identity).then_some(*k)
                })
            })
    }

    /// How many of this device's entries wait to go to the other devices
    /// (written offline, or before this device had a group).
    pub fn waiting(&self) -> usize {
        self.outbox.len()
    }

    /// The entries waiting to go to the other devices, as group messages
    /// (and the outbox emptied: the device engine keeps each message until
    /// the relay stored it).
    pub fn take_outbox(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let want = core::mem::take(&mut self.ask);
        if want {
            out.push(serde_json::to_vec(&Wire::Want {}).expect("a request serializes"));
        }
        if core::mem::take(&mut self.send_vouches) {
            out.extend(self.vouches.iter().map(|t| t.as_bytes().to_vec()));
        }
        // While it resumes, the entries stay (its own among them).
        let entries = match self.resuming {
            Some(_) => Vec::new(),
            None => core::mem::take(&mut self.outbox),
        };
        let mut batch: Vec<Entry> = Vec::new();
        for e in entries {
            batch.push(e);
            if batch.len() == ENTRIES_PER_MESSAGE {
                out.push(encode(core::mem::take(&mut batch)));
            }
        }
        if !batch.is_empty() {
            out.push(encode(batch));
        }
        // After the chains they end.
        for device in core::mem::take(&mut self.ends) {
            let last = self.chains.get(&device).and_then(|c| c.last());
            out.push(Ask::to_vec(Ask::END, device, last));
        }
        out
    }

    /// A group message: `None` if it is not the audit log's; else how many
    /// entries it carried, stored to be checked when read.
    pub fn message(&mut self, data: &[u8]) -> Option<crate::Result<usize>> {
        let text = core::str::from_utf8(data).ok()?;
        if !text.trim_start().starts_with(['{', '['])
            || !(text.contains("\"audit_entries\"")
                || text.contains("\"audit_want\"")
                || text.contains("\"audit_keys\"")
                || text.contains("\"audit_resume\"")
                || text.contains("\"audit_end\""))
        {
            return None;
        }
        if text.trim_start().starts_with('[') {
            if let Ok(Ask(kind, device, mut entries)) = serde_json::from_slice(text.as_bytes()) {
                let last = entries.pop();
                match kind.as_str() {
                    Ask::RESUME => {
                        self.resend(&[device]);
                        if !self.ends.contains(&device) {
                            self.ends.push(device);
                        }
                    }
                    Ask::END if self.resuming.is_some() && self.answers.len() < MAX_ANSWERS => {
                        match last {
                            Some(e) => self.answers.push(e),
                            None => self.none_held.push(device),
                        }
                    }
                    _ => {}
                }
                return Some(Ok(0));
            }
            // Kept as sent (checked when read, as entries are).
            if text.len() <= MAX_VOUCH_BYTES
                && self.vouches.len() < MAX_VOUCHES
                && !self.vouches.iter().any(|t| t == text)
            {
                match Vouch::read(text) {
                    Some(v) if v.2.len() <= MAX_VOUCHED_KEYS => self.vouches.push(text.into()),
                    Some(_) => {}
                    None => {
                        return Some(Err(crate::invalid(
                            "restored devices' keys that cannot be read",
                        )))
                    }
                }
            }
            return Some(Ok(0));
        }
        Some(match serde_json::from_str(text) {
            Ok(Wire::Want {}) => {
                self.asked = true;
                // A log that starts answers where this one's chain ends
                // too (one that kept none of it: this device's chain then
                // starts at 1, as it had none before it reached them).
                self.ask_own |= self.resuming.is_some();
                Ok(0)
            }
            Ok(Wire::Entries { entries }) => {
                let n = entries.len();
                for e in entries {
                    // Past a gap: this log missed entries while it was away
                    // (its copy kept while it was off): it asks for them.
                    let top = self
                        .chains
                        .get(&e.device)
                        .filter(|c| c.len() < MAX_ENTRIES)
                        .and_then(|c| c.last());
                    if self.resuming.is_none() && top.is_some_and(|t| e.seq > t.seq + 1) {
                        // Every device sends its chain again (a copy
                        // changes nothing): the gap fills.
                        self.ask = true;
                    }
                    self.receive(e);
                }
                Ok(n)
            }
            Err(e) => Err(crate::invalid(format!(
                "audit entries that cannot be read: {e}"
            ))),
        })
    }

    /// Whether entries or answers wait to go to the group.
    pub fn sending(&self) -> bool {
        !self.ends.is_empty()
            || self.ask_own
            || self.ask
            || self.resuming.is_none() && !self.outbox.is_empty()
    }

    /// Stores an entry from another device (a copy already held changes
    /// nothing). It is checked when read, not here: a bad one is shown as
    /// bad, not dropped. Returns whether it was stored.
    pub fn receive(&mut self, entry: Entry) -> bool {
        let chain = self.chains.entry(entry.device).or_default();
        if chain.len() >= MAX_ENTRIES || chain.iter().any(|e| e == &entry) {
            return false;
        }
        let at = chain.partition_point(|e| e.seq < entry.seq);
        chain.insert(at, entry);
        true
    }

    /// How many entries of `device` are held.
    pub fn own_len(&self, device: DeviceId) -> usize {
        self.chains.get(&device).map_or(0, Vec::len)
    }

    /// Every entry, each device's chain in the order stored, devices in id
    /// order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.chains.values().flatten()
    }

    /// The chains to back up, within `budget` bytes of JSON. Per device:
    /// the entries after its newest checkpoint that `identity` (or a key
    /// from a restored backup) verifies (what the device itself already
    /// compacted away), at most [`BACKUP_PER_DEVICE`] of them. Past
    /// `budget`, the oldest entries (by time, across devices) are left
    /// out: a restored log shows "n entries missing" before the first one
    /// kept of each device cut, rather than hiding the cut.
    pub fn backed_up(
        &self,
        identity: impl Fn(&DeviceId) -> Option<IdentityPublic>,
        budget: usize,
    ) -> Vec<Chain> {
        let mut chains: Vec<Chain> = self
            .chains
            .iter()
            .map(|(device, chain)| {
                let key = self.key_of(device, &identity);
                let after = key.map_or(0, |k| {
                    chain
                        .iter()
                        .filter_map(|e| match e.happened {
                            Happened::Checkpoint { upto, .. } => Some((e, upto)),
                            _ => None,
                        })
                        .filter(|(e, _)| e.signed_by(&k))
                        .map(|(_, upto)| upto)
                        .max()
                        .unwrap_or(0)
                });
                let kept: Vec<&Entry> = chain.iter().filter(|e| e.seq > after).collect();
                let from = kept.len().saturating_sub(BACKUP_PER_DEVICE);
                Chain {
                    device: *device,
                    identity: key,
                    entries: kept[from..].iter().map(|e| (*e).clone()).collect(),
                }
            })
            .collect();
        // Newest first across devices until the budget is spent: each
        // chain keeps a tail (`start[i]` onwards).
        let mut left = budget.saturating_sub(
            chains
                .iter()
                .map(|c| json_len(&(c.device, c.identity)) + 48)
                .sum::<usize>(),
        );
        let mut start: Vec<usize> = chains.iter().map(|c| c.entries.len()).collect();
        loop {
            let next = (0..chains.len())
                .filter(|&i| start[i] > 0)
                .max_by_key(|&i| chains[i].entries[start[i] - 1].at_ms);
            let Some(i) = next else { break };
            let n = json_len(&chains[i].entries[start[i] - 1]) + 1;
            if n > left {
                break;
            }
            left -= n;
            start[i] -= 1;
        }
        for (c, s) in chains.iter_mut().zip(start) {
            c.entries.drain(..s);
        }
        chains.retain(|c| !c.entries.is_empty());
        chains
    }

    /// Takes the chains of a backup (restoring, or merging another
    /// browser's backup before writing): every entry is stored as one from
    /// another device (checked when read, a bad one shown as bad), and a
    /// device's key is kept when it is the key of that device's id.
    /// Returns how many entries were new, from how many devices.
    pub fn import(&mut self, chains: Vec<Chain>) -> (u64, u64) {
        let (mut entries, mut devices) = (0, 0);
        for c in chains {
            if let Some(k) = c.identity.filter(|k| k.device_id() == c.device) {
                self.keys.entry(c.device).or_insert(k);
            }
            let mut new = 0;
            for e in c.entries {
                new += u64::from(self.receive(e));
            }
            entries += new;
            devices += u64::from(new > 0);
        }
        (entries, devices)
    }

    /// Reads every chain and says what each entry is. `identity` gives a
    /// device's public key (revoked devices included: their old entries
    /// stay valid); `me` is this device, whose own chain must reach its last
    /// sequence number.
    ///
    /// Every entry's hash and link are computed, but not every signature:
    /// in a run of entries each linked by hash to the one before it, the
    /// newest entry's signature covers them all (it signs the hash of the
    /// one before it, which holds that entry's text, signature and the
    /// hash before it, and so on), as a signed Git commit covers its
    /// history. Only when that signature fails is each entry of the run
    /// checked on its own, to say which one was altered. Anyone without
    /// the device's key who changes, adds or removes an entry breaks a link
    /// or a signature either way; the entry a device itself linked to with
    /// a bad signature of its own is the one case read as signed (by its
    /// later entry) where checking each would say "altered". Opening a log
    /// of 1,200 entries thus costs a hash each and a signature per device.
    pub fn verify(
        &self,
        me: DeviceId,
        identity: impl Fn(&DeviceId) -> Option<IdentityPublic>,
    ) -> Vec<Checked<'_>> {
        let mut out = Vec::new();
        for (device, chain) in &self.chains {
            let Some(key) = self.key_of(device, &identity) else {
                out.extend(chain.iter().map(|entry| Checked {
                    entry,
                    verdict: Verdict::UnknownDevice,
                }));
                continue;
            };
            // The newest checkpoint signed by the device: where its kept
            // entries start.
            // (Checkpoints first: a signature check costs more than a match.)
            let start = chain
                .iter()
                .filter_map(|e| match &e.happened {
                    Happened::Checkpoint { upto, hash } => Some((e, *upto, hash.as_str())),
                    _ => None,
                })
                .filter(|(e, ..)| e.signed_by(&key))
                .map(|(_, upto, hash)| (upto, hash))
                .max_by_key(|(upto, _)| *upto);
            let from = out.len();
            // Links first; `linked[i]`: entry i names entry i - 1's hash.
            let mut linked = Vec::with_capacity(chain.len());
            let mut before: Option<(usize, String)> = None;
            for (i, e) in chain.iter().enumerate() {
                let verdict = if e.device == *device {
                    link(
                        before.as_ref().map(|(b, h)| (&chain[*b], h.as_str())),
                        start,
                        e,
                    )
                } else {
                    Verdict::Altered
                };
                linked.push(
                    verdict == Verdict::Ok && before.as_ref().is_some_and(|(b, _)| *b + 1 == i),
                );
                out.push(Checked { entry: e, verdict });
                if before.as_ref().is_none_or(|(b, _)| e.seq > chain[*b].seq) {
                    before = Some((i, e.hash()));
                }
            }
            // Then a signature per run of linked entries: its newest.
            let mut end = chain.len();
            while end > 0 {
                let mut first = end - 1;
                while first > 0 && linked[first] {
                    first -= 1;
                }
                let run = &mut out[from + first..from + end];
                let tip = run.last().expect("a run holds an entry");
                if tip.verdict == Verdict::Altered || !tip.entry.signed_by(&key) {
                    for c in run.iter_mut() {
                        if c.verdict != Verdict::Altered && !c.entry.signed_by(&key) {
                            c.verdict = Verdict::Altered;
                        }
                    }
                }
                end = first;
            }
        }
        let own = self
            .chains
            .get(&me)
            .and_then(|c| c.last())
            .map_or(0, |e| e.seq);
        if own < self.last_own {
            if let Some(last) = out.iter_mut().rev().find(|c| c.entry.device == me) {
                last.verdict = Verdict::Gap {
                    missing: self.last_own - own,
                };
            }
        }
        out
    }

    /// Drops this device's entries older than its newest `keep` (at least
    /// one), and appends a signed checkpoint naming the last one dropped and
    /// its hash, so the oldest entry kept still links to something signed.
    pub fn compact(&mut self, me: &IdentityKey, keep: usize, now_ms: u64) {
        let keep = keep.max(1);
        let Some(chain) = self.chains.get_mut(&me.device_id()) else {
            return;
        };
        if chain.len() <= keep {
            return;
        }
        let cut = chain.len() - keep;
        let last = &chain[cut - 1];
        let mark = Happened::Checkpoint {
            upto: last.seq,
            hash: last.hash(),
        };
        chain.drain(..cut);
        self.append(me, mark, now_ms);
    }
}

/// How long `v` is as JSON.
fn json_len(v: &impl Serialize) -> usize {
    serde_json::to_vec(v).map_or(0, |b| b.len())
}

/// The checked entries as JSON: each entry whole (its signature included,
/// so anyone with the devices' public keys can check it again) with what
/// reading found.
pub fn export_json(checked: &[Checked<'_>]) -> String {
    serde_json::to_string_pretty(checked).expect("entries serialize")
}

/// The checked entries as CSV (RFC 4180): device, seq, time, kind, details
/// (JSON), finding. A cell a spreadsheet would run as a formula (a site's
/// text starting with `=`, `+`, `-`, `@`) is prefixed with `'`.
pub fn export_csv(checked: &[Checked<'_>]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["device", "seq", "at_ms", "kind", "details", "finding"]);
    for c in checked {
        let details = serde_json::to_value(&c.entry.happened).unwrap_or_default();
        let kind = details
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or_default()
            .to_owned();
        let finding = serde_json::to_value(&c.verdict)
            .ok()
            .and_then(|v| v.get("status").and_then(|s| s.as_str()).map(str::to_owned))
            .unwrap_or_default();
        let row = [
            c.entry.device.to_hex(),
            c.entry.seq.to_string(),
            c.entry.at_ms.to_string(),
            kind,
            details.to_string(),
            finding,
        ];
        let _ = w.write_record(row.iter().map(|cell| defused(cell)));
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn defused(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// The link check of `e` after `before` (the greatest entry so far),
/// where the chain starts after `start` (a checkpoint's entry and hash).
fn link(before: Option<(&Entry, &str)>, start: Option<(u64, &str)>, e: &Entry) -> Verdict {
    match before {
        None => {
            let (first, prev) = match start {
                Some((upto, hash)) if e.seq > upto => (upto + 1, hash),
                _ => (1, GENESIS),
            };
            if e.seq != first {
                Verdict::Gap {
                    missing: e.seq - first,
                }
            } else if e.prev != prev {
                Verdict::BrokenLink
            } else {
                Verdict::Ok
            }
        }
        Some((b, _)) if e.seq <= b.seq => Verdict::OutOfOrder,
        Some((b, _)) if e.seq > b.seq + 1 => Verdict::Gap {
            missing: e.seq - b.seq - 1,
        },
        Some((_, hash)) if e.prev != hash => Verdict::BrokenLink,
        Some(_) => Verdict::Ok,
    }
}
