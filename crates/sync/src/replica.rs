//! One device's copy of the group's metadata: a last-writer-wins map of
//! fields, with the ops waiting to be sent and those waiting for the clock.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tandem_pair::DeviceId;

use crate::{invalid, Category, Clock, Error, Field, Result, Stamp, Value, MAX_AHEAD_MS};

/// Most records a category holds on one device (edits beyond it are refused).
pub const MAX_RECORDS: usize = 10_000;
/// Most ops waiting for the clock; a device sending more is misbehaving.
const MAX_PARKED: usize = 1_000;

/// A change to one field: what every device sends and merges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Op {
    /// What it changes.
    pub field: Field,
    /// The new value; `None` removes the record (a tombstone, kept so a
    /// late copy of an older op cannot bring it back).
    pub value: Option<Value>,
    /// When and where it was made.
    pub stamp: Stamp,
}

impl Op {
    /// Whether this op replaces `other` (for the same field): the later
    /// stamp wins; equal stamps (only a misbehaving device makes two) are
    /// ordered by their encoded values, so every device keeps the same one.
    fn wins_over(&self, other: &Self) -> bool {
        match self.stamp.cmp(&other.stamp) {
            core::cmp::Ordering::Greater => true,
            core::cmp::Ordering::Less => false,
            core::cmp::Ordering::Equal => encoded(&self.value) > encoded(&other.value),
        }
    }
}

fn encoded(v: &Option<Value>) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// What became of a received op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// It is now the field's value (with a notice if the user should be told).
    Applied(Option<Notice>),
    /// The field already holds a later change (or this very one).
    Older,
    /// Stamped too far ahead of this device's clock: kept, and applied once
    /// the clock catches up ([`Replica::tick`]).
    Parked,
}

/// A change made on another device that the user is told about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// The field.
    pub field: Field,
    /// The device it came from.
    pub from: DeviceId,
    /// What happened to the record.
    pub change: Change,
}

/// What happened to a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// It did not exist here.
    Added,
    /// Its value changed.
    Changed,
    /// It was removed.
    Removed,
}

/// What the user sees about sync ("3 changes waiting").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Status {
    /// Changes made here, not yet taken by the relay.
    pub to_send: usize,
    /// Changes from a device whose clock is ahead, not yet applied.
    pub held: usize,
}

/// Every field of one category, for the relay's blob store: what a device
/// that was offline for a month, or restores from its recovery phrase, starts
/// from.
///
/// Stored packed (the category and each device id written once, an op as
/// `[record id or null for the switch, value or null, ms, n, device
/// index]`): half the size of the ops' own form, so more records fit the
/// relay's blob limit. Ops of another category are not written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Packed", try_from = "Packed")]
pub struct Snapshot {
    /// The category.
    pub category: Category,
    /// The winning op of every field of the category, tombstones and the
    /// category's switch included.
    pub ops: Vec<Op>,
}

/// The snapshot format's version.
const PACKED_FORMAT: u8 = 1;

/// A packed op: record id (`None`: the switch), value, ms, n, device index.
type PackedOp = (Option<String>, Option<Value>, u64, u32, u32);

/// A snapshot as stored.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Packed {
    v: u8,
    category: Category,
    devices: Vec<DeviceId>,
    ops: Vec<PackedOp>,
}

impl From<Snapshot> for Packed {
    fn from(s: Snapshot) -> Self {
        let mut devices: Vec<DeviceId> = Vec::new();
        let mut ops = Vec::with_capacity(s.ops.len());
        for op in s.ops {
            let id = match op.field {
                Field::Record { category, id } if category == s.category => Some(id),
                Field::Enabled { category } if category == s.category => None,
                _ => continue,
            };
            let d = match devices.iter().position(|d| *d == op.stamp.device) {
                Some(i) => i,
                None => {
                    devices.push(op.stamp.device);
                    devices.len() - 1
                }
            };
            ops.push((id, op.value, op.stamp.ms, op.stamp.n, d as u32));
        }
        Self {
            v: PACKED_FORMAT,
            category: s.category,
            devices,
            ops,
        }
    }
}

impl TryFrom<Packed> for Snapshot {
    type Error = String;
    fn try_from(p: Packed) -> core::result::Result<Self, String> {
        if p.v != PACKED_FORMAT {
            return Err(format!(
                "a snapshot in format {} (this version reads {PACKED_FORMAT})",
                p.v
            ));
        }
        let category = p.category;
        let ops = p
            .ops
            .into_iter()
            .map(|(id, value, ms, n, d)| {
                let device = *p
                    .devices
                    .get(d as usize)
                    .ok_or_else(|| format!("an op names device {d} of {}", p.devices.len()))?;
                Ok(Op {
                    field: match id {
                        Some(id) => Field::Record { category, id },
                        None => Field::Enabled { category },
                    },
                    value,
                    stamp: Stamp { ms, n, device },
                })
            })
            .collect::<core::result::Result<Vec<Op>, String>>()?;
        Ok(Self { category, ops })
    }
}

/// One device's copy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Saved", into = "Saved")]
pub struct Replica {
    clock: Clock,
    fields: BTreeMap<Field, Op>,
    parked: Vec<Op>,
    outbox: Vec<Op>,
}

/// How a replica is stored.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Saved {
    device: DeviceId,
    clock: (u64, u32),
    fields: Vec<Op>,
    parked: Vec<Op>,
    outbox: Vec<Op>,
}

impl From<Replica> for Saved {
    fn from(r: Replica) -> Self {
        let last = r.clock.last();
        Self {
            device: r.clock.device(),
            clock: last,
            fields: r.fields.into_values().collect(),
            parked: r.parked,
            outbox: r.outbox,
        }
    }
}

impl From<Saved> for Replica {
    fn from(s: Saved) -> Self {
        let mut clock = Clock::new(s.device);
        clock.witness(&Stamp {
            ms: s.clock.0,
            n: s.clock.1,
            device: s.device,
        });
        Self {
            clock,
            fields: s
                .fields
                .into_iter()
                .map(|op| (op.field.clone(), op))
                .collect(),
            parked: s.parked,
            outbox: s.outbox,
        }
    }
}

impl Replica {
    /// An empty copy for `device` (every category off).
    pub fn new(device: DeviceId) -> Self {
        Self {
            clock: Clock::new(device),
            fields: BTreeMap::new(),
            parked: Vec::new(),
            outbox: Vec::new(),
        }
    }

    /// The device this copy belongs to.
    pub fn device(&self) -> DeviceId {
        self.clock.device()
    }

    /// Whether `category` syncs.
    pub fn enabled(&self, category: Category) -> bool {
        matches!(
            self.fields
                .get(&Field::Enabled { category })
                .and_then(|op| op.value.as_ref()),
            Some(Value::Enabled(true))
        )
    }

    /// A field's value, if it has one.
    pub fn get(&self, field: &Field) -> Option<&Value> {
        self.fields.get(field).and_then(|op| op.value.as_ref())
    }

    /// The live records of a category: id, value, and the device that last
    /// changed it.
    pub fn records(&self, category: Category) -> impl Iterator<Item = (&str, &Value, DeviceId)> {
        // Not a walk over every category's fields: 10,000 address-book
        // entries made each look-up of the networks cost ~1.5 ms in wasm.
        self.category_ops(category)
            .filter_map(|op| match (&op.field, &op.value) {
                (Field::Record { id, .. }, Some(v)) => Some((id.as_str(), v, op.stamp.device)),
                _ => None,
            })
    }

    /// Changes a field here (the user edited something): returns the op,
    /// which is also queued to be sent if its category syncs. Turning a
    /// category on queues every record of it, so the others get what this
    /// device had.
    pub fn edit(&mut self, field: Field, value: Option<Value>, now_ms: u64) -> Result<Op> {
        field.check(value.as_ref())?;
        if let Field::Record { category, .. } = &field {
            let new = value.is_some() && self.get(&field).is_none();
            if new && self.records(*category).count() >= MAX_RECORDS {
                return Err(Error::Full(*category));
            }
        }
        let op = Op {
            field,
            value,
            stamp: self.clock.stamp(now_ms),
        };
        self.install(op.clone());
        Ok(op)
    }

    /// Merges an op from another device (or a copy of one of this device's
    /// own, which changes nothing).
    pub fn receive(&mut self, op: Op, now_ms: u64) -> Result<Received> {
        op.field.check(op.value.as_ref())?;
        if op.stamp.ms > now_ms.saturating_add(MAX_AHEAD_MS) {
            if self.parked.contains(&op) {
                return Ok(Received::Parked);
            }
            if self.parked.len() >= MAX_PARKED {
                return Err(invalid(
                    "too many changes from a device whose clock is far ahead; check the clock of your other devices",
                ));
            }
            self.parked.push(op);
            return Ok(Received::Parked);
        }
        self.clock.witness(&op.stamp);
        Ok(match self.install(op) {
            Some(notice) => Received::Applied(notice),
            None => Received::Older,
        })
    }

    /// Applies the parked ops whose time has come; returns their notices.
    pub fn tick(&mut self, now_ms: u64) -> Vec<Notice> {
        let limit = now_ms.saturating_add(MAX_AHEAD_MS);
        let (due, later): (Vec<Op>, Vec<Op>) = core::mem::take(&mut self.parked)
            .into_iter()
            .partition(|op| op.stamp.ms <= limit);
        self.parked = later;
        let mut notices = Vec::new();
        for op in due {
            self.clock.witness(&op.stamp);
            if let Some(Some(n)) = self.install(op) {
                notices.push(n);
            }
        }
        notices
    }

    /// Stores `op` if it wins over the field's current op. `None`: it did
    /// not; `Some(notice)`: it did, with a notice for an announced change
    /// from another device.
    fn install(&mut self, op: Op) -> Option<Option<Notice>> {
        let before = self.fields.get(&op.field);
        if before.is_some_and(|b| !op.wins_over(b)) {
            return None;
        }
        let change = match (before.and_then(|b| b.value.as_ref()), &op.value) {
            (None, Some(_)) => Some(Change::Added),
            (Some(a), Some(b)) if a != b => Some(Change::Changed),
            (Some(_), None) => Some(Change::Removed),
            _ => None,
        };
        let category = op.field.category();
        let was_on = self.enabled(category);
        let notice = match (&op.field, change) {
            (Field::Record { .. }, Some(change))
                if category.announced() && op.stamp.device != self.device() =>
            {
                Some(Notice {
                    field: op.field.clone(),
                    from: op.stamp.device,
                    change,
                })
            }
            _ => None,
        };
        let mine = op.stamp.device == self.device();
        let is_switch = matches!(op.field, Field::Enabled { .. });
        // Only this device's own ops are kept twice (the field and the
        // outbox); one merged from elsewhere moves into the map.
        let now_on = if is_switch {
            matches!(op.value, Some(Value::Enabled(true)))
        } else {
            was_on
        };
        if mine && (is_switch || now_on) {
            self.outbox.push(op.clone());
        }
        self.fields.insert(op.field.clone(), op);
        if now_on && !was_on {
            // Whatever this device kept while the category was off goes out:
            // all of it when the switch is its own; when the switch came
            // from another device (a message, or page 0 of a snapshot, where
            // records precede the switch), only this device's own records:
            // the others' are the group's already, and sending them back
            // would only repeat them.
            let me = self.device();
            let records: Vec<Op> = self
                .fields
                .values()
                .filter(|o| matches!(o.field, Field::Record { category: c, .. } if c == category))
                .filter(|o| mine || o.stamp.device == me)
                .cloned()
                .collect();
            self.outbox.extend(records);
        } else if was_on && !now_on {
            self.outbox.retain(|o| {
                o.field.category() != category || matches!(o.field, Field::Enabled { .. })
            });
        }
        Some(notice)
    }

    /// Takes `category`'s records out of the ops waiting to be sent (its
    /// switch stays): they go by another way (the snapshot's pages).
    pub fn unqueue_records(&mut self, category: Category) {
        self.outbox
            .retain(|o| o.field.category() != category || matches!(o.field, Field::Enabled { .. }));
    }

    /// The ops waiting to be sent, oldest first.
    pub fn outbox(&self) -> &[Op] {
        &self.outbox
    }

    /// The first `n` ops of the outbox were stored by the relay.
    pub fn sent(&mut self, n: usize) {
        self.outbox.drain(..n.min(self.outbox.len()));
    }

    /// What the user sees.
    pub fn status(&self) -> Status {
        Status {
            to_send: self.outbox.len(),
            held: self.parked.len(),
        }
    }

    /// Every field of `category`, for the blob store.
    pub fn snapshot(&self, category: Category) -> Snapshot {
        Snapshot {
            category,
            ops: self
                .fields
                .values()
                .filter(|op| op.field.category() == category)
                .cloned()
                .collect(),
        }
    }

    /// Merges a snapshot (from the blob store, or a device's own earlier
    /// one); returns the notices of what changed.
    pub fn absorb(&mut self, snapshot: Snapshot, now_ms: u64) -> Result<Vec<Notice>> {
        self.absorb_counted(snapshot, now_ms)
            .map(|(notices, _)| notices)
    }

    /// [`Replica::absorb`], and how many of the snapshot's ops changed
    /// this copy (0: it held all of them already).
    pub fn absorb_counted(
        &mut self,
        snapshot: Snapshot,
        now_ms: u64,
    ) -> Result<(Vec<Notice>, usize)> {
        if let Some(op) = snapshot
            .ops
            .iter()
            .find(|op| op.field.category() != snapshot.category)
        {
            return Err(invalid(format!(
                "a snapshot of {} holds a change to {}",
                snapshot.category.label(),
                op.field.category().label()
            )));
        }
        let mut notices = Vec::new();
        let mut applied = 0;
        for op in snapshot.ops {
            if let Received::Applied(n) = self.receive(op, now_ms)? {
                applied += 1;
                notices.extend(n);
            }
        }
        Ok((notices, applied))
    }

    /// Merges a snapshot from a backup the user restores (opened with the
    /// recovery phrase, so written by a holder of it). Unlike
    /// [`Replica::absorb`], nothing waits for the clock: an op dated more
    /// than [`MAX_AHEAD_MS`] ahead of `now_ms` (the writer's clock was
    /// ahead) is taken as this device's change now, with its value, so the
    /// records show at once, this device's clock stays on its own time,
    /// and its group's devices apply them without waiting either. Returns
    /// how many ops were dated again.
    pub fn restore(&mut self, snapshot: Snapshot, now_ms: u64) -> Result<usize> {
        let mut redated = 0;
        let ops = snapshot
            .ops
            .into_iter()
            .map(|op| {
                if op.stamp.ms <= now_ms.saturating_add(MAX_AHEAD_MS) {
                    return op;
                }
                redated += 1;
                Op {
                    stamp: self.clock.stamp(now_ms),
                    ..op
                }
            })
            .collect();
        self.absorb(
            Snapshot {
                category: snapshot.category,
                ops,
            },
            now_ms,
        )?;
        Ok(redated)
    }

    /// Whether a field has an op here (a value or a tombstone).
    pub(crate) fn holds(&self, field: &Field) -> bool {
        self.fields.contains_key(field)
    }

    /// The winning op of `field` (a value or a tombstone).
    pub fn op(&self, field: &Field) -> Option<&Op> {
        self.fields.get(field)
    }

    /// Every field's winning op, in field order (what two devices that saw
    /// the same ops agree on).
    pub fn ops(&self) -> impl Iterator<Item = &Op> {
        self.fields.values()
    }

    /// The ops of `category` in field order (its records by id, then its
    /// switch): [`Replica::ops`] filtered to it, without walking the other
    /// categories' fields.
    pub fn category_ops(&self, category: Category) -> impl Iterator<Item = &Op> {
        // Records sort before switches, and by category, then id.
        let first = Field::Record {
            category,
            id: String::new(),
        };
        self.fields
            .range(first..)
            .map_while(move |(f, op)| {
                matches!(f, Field::Record { category: c, .. } if *c == category).then_some(op)
            })
            .chain(self.fields.get(&Field::Enabled { category }))
    }
}
