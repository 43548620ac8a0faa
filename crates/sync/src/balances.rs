//! Last known balances (category [`Category::Balances`]): which of this
//! device's reads become the group's records. Every read would make an op
//! for every account on every network each time a popup opens; a balance
//! goes to the group when it is new there or changed, or when the group's
//! copy is [`REFRESH_MS`] old (so "as of" stays recent elsewhere without a
//! write per read), and never when the group's is newer.

use crate::{Balance, Category, Field, Replica, Value};

/// A read of an unchanged balance is recorded again once the group's copy
/// is this old (milliseconds).
pub const REFRESH_MS: u64 = 3_600_000;

/// The edits that bring the group's last known balances up to `reads`
/// (record id and balance, as this device read them). None while the
/// category does not sync; ids that are not balance ids are skipped.
pub fn edits(
    replica: &Replica,
    reads: impl IntoIterator<Item = (String, Balance)>,
) -> Vec<(Field, Value)> {
    if !replica.enabled(Category::Balances) {
        return Vec::new();
    }
    reads
        .into_iter()
        .filter(|(id, _)| Category::Balances.check_id(id).is_ok())
        .filter_map(|(id, read)| {
            let field = Field::record(Category::Balances, id);
            let write = match replica.get(&field) {
                Some(Value::Balance(b)) => {
                    read.as_of > b.as_of
                        && (read.amount != b.amount || read.as_of - b.as_of >= REFRESH_MS)
                }
                _ => true,
            };
            write.then_some((field, Value::Balance(read)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_pair::DeviceId;

    const ID: &str = "1:0x70997970c51812dc3a010c7d01b50e0d17dc79c8:native";

    fn read(amount: &str, as_of: u64) -> (String, Balance) {
        (
            ID.into(),
            Balance {
                amount: amount.into(),
                as_of,
            },
        )
    }

    #[test]
    fn a_balance_goes_to_the_group_when_new_changed_or_an_hour_old() {
        let mut r = Replica::new(DeviceId([1; 16]));
        assert!(edits(&r, [read("5", 1_000)]).is_empty(), "sync is off");
        r.edit(
            Field::Enabled {
                category: Category::Balances,
            },
            Some(Value::Enabled(true)),
            1,
        )
        .unwrap();
        let first = edits(
            &r,
            [read("5", 1_000), ("1:nope:native".into(), read("5", 1).1)],
        );
        assert_eq!(first.len(), 1, "a bad id is skipped");
        let (field, value) = first.into_iter().next().unwrap();
        r.edit(field, Some(value), 1_000).unwrap();
        // The same balance a minute later: nothing; changed: recorded.
        assert!(edits(&r, [read("5", 61_000)]).is_empty());
        assert_eq!(edits(&r, [read("6", 61_000)]).len(), 1);
        // Unchanged for an hour: recorded again (a recent "as of").
        assert_eq!(edits(&r, [read("5", 1_000 + REFRESH_MS)]).len(), 1);
        // Older than the group's copy: never.
        assert!(edits(&r, [read("9", 999)]).is_empty());
    }
}
