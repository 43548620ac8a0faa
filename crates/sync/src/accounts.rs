//! The order of the account list across devices: what a reorder here
//! records, and where another device's order puts this wallet's accounts.
//!
//! A record holds an account's place (`Account::order`) as the device that
//! wrote it last saw its list. Devices need not hold the same accounts (one
//! may have added an account the other never derived, or hold a phone's),
//! so places order, they do not position: the accounts with a record take
//! the places such accounts hold here, in the order of their recorded
//! places; an account without one stays where it is. A reorder records
//! every account of the list that moved or had no record, so a device
//! holding the same accounts ends in the same order. A record written for a
//! name alone keeps the place the account had, and so moves nothing.

use crate::Account;

/// The accounts `current` (this wallet's order) rearranged by the synced
/// places `place_of` gives (`None`: no record).
pub fn synced_order<T: Clone>(current: &[T], place_of: impl Fn(&T) -> Option<u32>) -> Vec<T> {
    let mut recorded: Vec<(u32, usize)> = current
        .iter()
        .enumerate()
        .filter_map(|(i, a)| place_of(a).map(|p| (p, i)))
        .collect();
    // The places they hold here (ascending), then who goes where.
    let slots: Vec<usize> = recorded.iter().map(|&(_, i)| i).collect();
    recorded.sort_unstable();
    let mut out = current.to_vec();
    for (slot, (_, i)) in slots.into_iter().zip(recorded) {
        out[slot] = current[i].clone();
    }
    out
}

/// After the user reordered the list here (`accounts`: `(id, name)` in the
/// new order), the records to write: each account whose synced place
/// differs from its place now (a new record takes its name from here; an
/// existing one keeps its name and whether it is hidden).
pub fn reordered<T>(
    accounts: &[(T, String)],
    record_of: impl Fn(&T) -> Option<Account>,
) -> Vec<(&T, Account)> {
    accounts
        .iter()
        .enumerate()
        .filter_map(|(i, (id, name))| {
            let order = u32::try_from(i).unwrap_or(u32::MAX);
            match record_of(id) {
                Some(r) if r.order == order => None,
                Some(r) => Some((id, Account { order, ..r })),
                None => Some((
                    id,
                    Account {
                        name: name.clone(),
                        order,
                        hidden: false,
                    },
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn places<'a>(list: &'a [(&'static str, u32)]) -> impl Fn(&&'static str) -> Option<u32> + 'a {
        move |a| list.iter().find(|(x, _)| x == a).map(|(_, p)| *p)
    }

    #[test]
    fn another_devices_order_applies_and_a_name_only_record_moves_nothing() {
        let here = ["a0", "a1", "a2"];
        // Renamed on another device, never moved: its place when renamed.
        assert_eq!(synced_order(&here, places(&[("a2", 2)])), here);
        // Moved to the top there (a reorder records every account).
        assert_eq!(
            synced_order(&here, places(&[("a2", 0), ("a0", 1), ("a1", 2)])),
            ["a2", "a0", "a1"]
        );
        // The other device holds an account this one does not: the order
        // of the ones both hold is followed, nothing else moves.
        assert_eq!(
            synced_order(&here[..2], places(&[("a2", 0), ("a1", 1), ("a0", 2)])),
            ["a1", "a0"]
        );
        // This one holds an account the other does not (no record): it
        // stays where it is; the recorded ones take their order around it.
        assert_eq!(
            synced_order(&here, places(&[("a2", 0), ("a0", 1)])),
            ["a2", "a1", "a0"]
        );
        // Two records of one place: this wallet's order between them.
        assert_eq!(synced_order(&here, places(&[("a1", 0), ("a2", 0)])), here);
        assert!(synced_order::<&str>(&[], |_| Some(0)).is_empty());
    }

    #[test]
    fn a_reorder_records_only_the_places_that_changed() {
        let rec = |name: &str, order| Account {
            name: name.into(),
            order,
            hidden: true,
        };
        let list = vec![("a1", "Account 2".to_owned()), ("a0", "Savings".to_owned())];
        let records = [("a0", rec("Savings", 0)), ("a1", rec("Spending", 1))];
        let writes = reordered(&list, |id| {
            records
                .iter()
                .find(|(x, _)| x == id)
                .map(|(_, r)| r.clone())
        });
        assert_eq!(
            writes,
            vec![(&"a1", rec("Spending", 0)), (&"a0", rec("Savings", 1))]
        );
        let fresh = reordered(&list[..1], |_| None);
        assert_eq!(
            fresh,
            vec![(
                &"a1",
                Account {
                    name: "Account 2".into(),
                    order: 0,
                    hidden: false
                }
            )]
        );
        // Written, then read back on the other device: the same order.
        let here = ["a0", "a1"];
        let synced = synced_order(&here, |a| {
            writes.iter().find(|(x, _)| *x == a).map(|(_, r)| r.order)
        });
        assert_eq!(synced, ["a1", "a0"]);
    }

    proptest! {
        /// Whatever the records say, every account is placed exactly once,
        /// and a full set of distinct places is followed exactly.
        #[test]
        fn every_account_is_placed_once(
            n in 0usize..12,
            wishes in proptest::collection::vec(proptest::option::of(0u32..16), 12),
            perm_seed in any::<u64>(),
        ) {
            let here: Vec<usize> = (0..n).collect();
            let out = synced_order(&here, |a| wishes[*a]);
            let mut sorted = out.clone();
            sorted.sort_unstable();
            prop_assert_eq!(sorted, here.clone());
            // A permutation written by another device is taken as is.
            let mut perm = here.clone();
            let mut x = perm_seed | 1;
            for i in (1..n).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                perm.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let place = |a: &usize| perm.iter().position(|p| p == a).map(|p| p as u32);
            prop_assert_eq!(synced_order(&here, place), perm);
        }
    }
}
