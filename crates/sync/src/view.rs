//! What a device's UI shows about sync, as one serializable value: the
//! switches, the status, the records people look at, and the recent
//! notices. Built by the shell from its [`crate::Syncer`] (with the names of
//! the group's devices), read by the UI (`tandem-ui`'s sync screen).

use serde::{Deserialize, Serialize};

use crate::{Category, Change, Field, Notice, Syncer, Value};

/// How many notices a device keeps to show (the newest).
pub const MAX_NOTICES: usize = 20;

/// One transaction as the worker's `activity` answer lists it and the
/// popup's Activity tab reads it: this wallet's own (the core's
/// `tandem_wallet::state::Activity` as it serializes; `tandem-ui`'s tests
/// parse one) and, once activity syncs, the group's other devices' (built
/// from their records by the device's sync module, with `sentFrom`). The
/// one type both producers are checked against and the UI reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShownActivity {
    /// Transaction hash (`0x` hex).
    pub hash: String,
    /// Chain it was sent on.
    pub chain_id: u64,
    /// Sender.
    pub from: String,
    /// Recipient (`None`: a contract creation).
    #[serde(default)]
    pub to: Option<String>,
    /// Wei: `0x` hex (this wallet's own, as the core keeps it) or decimal
    /// (another device's record).
    pub value: String,
    /// Where it stands.
    pub status: crate::ActivityStatus,
    /// When it was sent (ms since the Unix epoch).
    pub submitted_at: u64,
    /// Block it was mined in (this wallet's own, once known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_number: Option<u64>,
    /// What was wrong with the node's answer when it was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// The site that asked for it (this wallet's own; `None`: the wallet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The group's device that sent it (another device's; `None`: here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_from: Option<String>,
}

/// The sync screen's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncView {
    /// Whether the device is connected to the relay.
    pub online: bool,
    /// Every category, in the settings' order, with its switch.
    pub categories: Vec<CategoryView>,
    /// Changes made here that the group has not been handed yet.
    pub to_send: usize,
    /// Changes from a device whose clock is ahead, not applied yet.
    pub held: usize,
    /// Snapshots on the relay not known to be current.
    pub unsaved: usize,
    /// When everything was last known saved on the relay (ms).
    pub synced_at: Option<u64>,
    /// This device's audit log entries not handed to the group yet (they
    /// sync whether or not a category does).
    #[serde(default)]
    pub log_waiting: usize,
    /// The records of accounts, the address book and networks.
    pub records: Vec<RecordView>,
    /// Safety-relevant changes from other devices, newest first.
    pub notices: Vec<NoticeView>,
    /// The encrypted backup under the recovery phrase's keys.
    #[serde(default)]
    pub backup: Option<crate::backup::BackupView>,
}

/// A category and its switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryView {
    /// The category.
    pub category: Category,
    /// Whether it syncs.
    pub on: bool,
}

/// One record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordView {
    /// Its category.
    pub category: Category,
    /// Its id.
    pub id: String,
    /// Its value.
    pub value: Value,
    /// The name of the device that last changed it.
    pub from: String,
    /// Whether that device is this one.
    pub mine: bool,
}

/// A change from another device the user is told about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeView {
    /// The category.
    pub category: Category,
    /// The record id (empty: the category's switch).
    pub id: String,
    /// `added`, `changed` or `removed`.
    pub change: String,
    /// The name of the device it came from.
    pub from: String,
    /// When it arrived here (ms).
    pub at: u64,
}

impl NoticeView {
    /// A notice as shown, with the name of its device.
    pub fn new(n: &Notice, from: String, at: u64) -> Self {
        let (category, id) = match &n.field {
            Field::Record { category, id } => (*category, id.clone()),
            Field::Enabled { category } => (*category, String::new()),
        };
        let change = match n.change {
            Change::Added => "added",
            Change::Changed => "changed",
            Change::Removed => "removed",
        };
        Self {
            category,
            id,
            change: change.into(),
            from,
            at,
        }
    }

    /// One sentence naming the device, for a browser notification.
    pub fn sentence(&self) -> String {
        let what = if self.id.is_empty() {
            format!("Sync of {}", self.category.label().to_lowercase())
        } else {
            format!("{} entry {}", self.category.label(), self.id)
        };
        format!("{what} was {} on {}.", self.change, self.from)
    }
}

impl Syncer {
    /// What the UI shows: `name` gives a device's name, `notices` are the
    /// shell's kept notices (newest first).
    pub fn view(
        &self,
        online: bool,
        name: impl Fn(&tandem_pair::DeviceId) -> String,
        notices: &[NoticeView],
    ) -> SyncView {
        let status = self.status();
        let me = self.replica().device();
        let records = [
            Category::Accounts,
            Category::AddressBook,
            Category::Networks,
        ]
        .into_iter()
        .flat_map(|c| {
            self.replica()
                .records(c)
                .map(move |(id, value, from)| (c, id, value, from))
        })
        .map(|(category, id, value, from)| RecordView {
            category,
            id: id.to_owned(),
            value: value.clone(),
            from: name(&from),
            mine: from == me,
        })
        .collect();
        SyncView {
            online,
            categories: Category::ALL
                .into_iter()
                .map(|category| CategoryView {
                    category,
                    on: status.enabled.contains(&category),
                })
                .collect(),
            to_send: status.to_send,
            held: status.held,
            unsaved: status.unsaved,
            synced_at: status.synced_at,
            log_waiting: self.audit().waiting(),
            records,
            notices: notices.to_vec(),
            backup: Some({
                // Nothing syncs: nothing waits to be backed up.
                let mut b = self.backup().view();
                b.pending &= !status.enabled.is_empty() || self.backup().deleting();
                b
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Contact;
    use tandem_pair::DeviceId;

    #[test]
    fn the_view_names_the_device_of_each_record_and_round_trips() {
        let me = DeviceId([1; 16]);
        let other = DeviceId([2; 16]);
        let mut a = Syncer::new(me);
        let mut b = Syncer::new(other);
        let addr = format!("0x{}", "ab".repeat(20));
        let on = Field::Enabled {
            category: Category::AddressBook,
        };
        a.edit(on.clone(), Some(Value::Enabled(true)), 1_000)
            .unwrap();
        b.edit(on, Some(Value::Enabled(true)), 1_000).unwrap();
        b.edit(
            Field::record(Category::AddressBook, addr.clone()),
            Some(Value::Contact(Contact {
                name: "Alice".into(),
                note: String::new(),
            })),
            2_000,
        )
        .unwrap();
        let sent: Vec<Vec<u8>> = b
            .flush()
            .into_iter()
            .filter_map(|o| match o {
                crate::Out::Send(d) => Some(d),
                _ => None,
            })
            .collect();
        let mut notices = Vec::new();
        for m in &sent {
            for o in a.message(m, 3_000).unwrap().unwrap() {
                if let crate::Out::Notice(n) = o {
                    notices.push(NoticeView::new(&n, "Laptop".into(), 3_000));
                }
            }
        }
        assert_eq!(notices.len(), 1, "one address book entry added elsewhere");
        assert_eq!(
            notices[0].sentence(),
            format!("Address book entry {addr} was added on Laptop.")
        );
        let name = |d: &DeviceId| {
            if *d == other {
                "Laptop".into()
            } else {
                "here".into()
            }
        };
        let v = a.view(true, name, &notices);
        assert_eq!(v.records.len(), 1);
        assert_eq!(v.records[0].from, "Laptop");
        assert!(!v.records[0].mine);
        assert!(v
            .categories
            .iter()
            .any(|c| c.category == Category::AddressBook && c.on));
        let back: SyncView = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(back, v);
    }
}
