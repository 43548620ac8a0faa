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
    /// The records of accounts, the address book and networks: of each
    /// category the first `limit` asked for ([`Syncer::view`]), in the
    /// replica's order (by id).
    pub records: Vec<RecordView>,
    /// How many records each of those categories holds, listed or not
    /// (the address book can hold thousands: a screen lists a page).
    #[serde(default)]
    pub totals: std::collections::BTreeMap<Category, usize>,
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
    /// Every record of `category`, in the replica's order (by id), each
    /// naming the device that last changed it (`name`), as [`Self::view`]
    /// lists them: for the categories it does not list (the phone's Wallet
    /// screen reads balances and tokens). Whether the category syncs is
    /// the caller's to check.
    pub fn records_view(
        &self,
        category: Category,
        name: impl Fn(&tandem_pair::DeviceId) -> String,
    ) -> Vec<RecordView> {
        let me = self.replica().device();
        self.replica()
            .records(category)
            .map(|(id, value, from)| RecordView {
                category,
                id: id.to_owned(),
                value: value.clone(),
                from: name(&from),
                mine: from == me,
            })
            .collect()
    }

    /// What the UI shows: `name` gives a device's name, `notices` are the
    /// shell's kept notices (newest first), `limit` the most records of
    /// each category listed (`None`: all; `Some(0)`: a status line's view,
    /// counts only). Only the records listed are copied and named: a
    /// status line under a 10,000-entry address book costs a count, not
    /// 10,000 rows of JSON.
    pub fn view(
        &self,
        online: bool,
        name: impl Fn(&tandem_pair::DeviceId) -> String,
        notices: &[NoticeView],
        limit: Option<usize>,
    ) -> SyncView {
        let status = self.status();
        let me = self.replica().device();
        let mut records = Vec::new();
        let mut totals = std::collections::BTreeMap::new();
        for category in [
            Category::Accounts,
            Category::AddressBook,
            Category::Networks,
        ] {
            let mut total = 0;
            for (id, value, from) in self.replica().records(category) {
                if limit.is_none_or(|l| total < l) {
                    records.push(RecordView {
                        category,
                        id: id.to_owned(),
                        value: value.clone(),
                        from: name(&from),
                        mine: from == me,
                    });
                }
                total += 1;
            }
            totals.insert(category, total);
        }
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
            totals,
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
        // b turned the category on: its changes go once its pages are
        // stored (here: none on the relay yet, each written at version 1).
        let mut sent: Vec<Vec<u8>> = Vec::new();
        let mut todo: std::collections::VecDeque<crate::Out> = b.flush().into();
        while let Some(o) = todo.pop_front() {
            match o {
                crate::Out::Send(d) => sent.push(d),
                crate::Out::GetBlob { name } => todo.extend(b.blob(&name, 0, None, 2_500).unwrap()),
                crate::Out::PutBlob { name, .. } => todo.extend(b.blob_stored(&name, 1, 2_500)),
                _ => {}
            }
        }
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
        let v = a.view(true, name, &notices, None);
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

    #[test]
    fn records_view_lists_a_category_the_view_leaves_out_naming_each_device() {
        let me = DeviceId([1; 16]);
        let mut a = Syncer::new(me);
        let on = Field::Enabled {
            category: Category::Balances,
        };
        a.edit(on, Some(Value::Enabled(true)), 1_000).unwrap();
        let id = format!("31337:0x{}:native", "ab".repeat(20));
        let balance = Value::Balance(crate::Balance {
            amount: "5".into(),
            as_of: 1_500,
        });
        a.edit(
            Field::record(Category::Balances, id.clone()),
            Some(balance.clone()),
            2_000,
        )
        .unwrap();
        assert!(a
            .view(true, |_| "here".into(), &[], None)
            .records
            .is_empty());
        let listed = a.records_view(Category::Balances, |d| {
            assert_eq!(*d, me);
            "here".into()
        });
        assert_eq!(
            listed,
            [RecordView {
                category: Category::Balances,
                id,
                value: balance,
                from: "here".into(),
                mine: true,
            }]
        );
        assert!(a
            .records_view(Category::Tokens, |_| "here".into())
            .is_empty());
    }

    #[test]
    fn a_limited_view_lists_the_first_records_and_counts_them_all() {
        let me = DeviceId([1; 16]);
        let mut a = Syncer::new(me);
        let on = Field::Enabled {
            category: Category::AddressBook,
        };
        a.edit(on, Some(Value::Enabled(true)), 1_000).unwrap();
        for i in (0..5u8).rev() {
            a.edit(
                Field::record(Category::AddressBook, format!("0x{:040x}", i)),
                Some(Value::Contact(Contact {
                    name: format!("n{i}"),
                    note: String::new(),
                })),
                2_000,
            )
            .unwrap();
        }
        let name = |_: &DeviceId| "here".to_owned();
        let all = a.view(true, name, &[], None);
        assert_eq!(all.records.len(), 5);
        assert_eq!(all.totals.get(&Category::AddressBook), Some(&5));
        let two = a.view(true, name, &[], Some(2));
        assert_eq!(two.totals, all.totals);
        // The first two of the full view, in its order (by id).
        assert_eq!(two.records[..], all.records[..2]);
        assert_eq!(two.records[0].id, format!("0x{:040x}", 0));
        let none = a.view(true, name, &[], Some(0));
        assert!(none.records.is_empty());
        assert_eq!(none.totals.get(&Category::AddressBook), Some(&5));
        assert_eq!(none.totals.get(&Category::Networks), Some(&0));
        assert_eq!(
            SyncView {
                records: all.records.clone(),
                ..none.clone()
            },
            all,
            "only the records differ"
        );
    }
}
