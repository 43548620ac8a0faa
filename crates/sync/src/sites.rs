//! Connected sites (category [`Category::Sites`]): each device's own
//! connections, as records `<device id>/<origin>`, so every device can say
//! where a site is connected ("connected on Pixel 8") while a site
//! connected on one device gets no permission on another until the user
//! connects it there: nothing here grants anything; a device only ever
//! writes the records of its own id.

use tandem_pair::DeviceId;

use crate::{Category, Field, Replica, Site, Value};

/// The edits that make the group's records of `me` say what `here` holds
/// (origin and connection, this device's sites as its wallet keeps them):
/// a site connected or changed is recorded, one no longer connected is
/// removed. None while the category does not sync; an origin that is not
/// one (or a connection that breaks the category's rules) is skipped.
pub fn edits(
    replica: &Replica,
    me: DeviceId,
    here: &[(String, Site)],
) -> Vec<(Field, Option<Value>)> {
    if !replica.enabled(Category::Sites) {
        return Vec::new();
    }
    let prefix = format!("{}/", me.to_hex());
    let mut out: Vec<(Field, Option<Value>)> = here
        .iter()
        .map(|(origin, site)| {
            (
                Field::record(Category::Sites, format!("{prefix}{origin}")),
                site,
            )
        })
        .filter(|(field, site)| {
            let value = Value::Site((*site).clone());
            field.check(Some(&value)).is_ok() && replica.get(field) != Some(&value)
        })
        .map(|(field, site)| (field, Some(Value::Site(site.clone()))))
        .collect();
    out.extend(
        replica
            .records(Category::Sites)
            .filter_map(|(id, _, _)| id.strip_prefix(&prefix))
            .filter(|origin| !here.iter().any(|(o, _)| o == origin))
            .map(|origin| {
                (
                    Field::record(Category::Sites, format!("{prefix}{origin}")),
                    None,
                )
            }),
    );
    out
}

/// The sites connected on the group's other devices: device, origin and
/// connection, in record order. None while the category does not sync.
pub fn elsewhere(replica: &Replica, me: DeviceId) -> Vec<(DeviceId, &str, &Site)> {
    if !replica.enabled(Category::Sites) {
        return Vec::new();
    }
    replica
        .records(Category::Sites)
        .filter_map(|(id, v, _)| {
            let (device, origin) = id.split_once('/')?;
            let device = DeviceId::from_hex(device).ok()?;
            match v {
                Value::Site(s) if device != me => Some((device, origin, s)),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";

    fn site(at: u64) -> Site {
        Site {
            accounts: vec![A.into()],
            connected_at: at,
        }
    }

    fn apply(r: &mut Replica, edits: Vec<(Field, Option<Value>)>, now: u64) {
        for (f, v) in edits {
            r.edit(f, v, now).unwrap();
        }
    }

    #[test]
    fn a_device_records_its_own_sites_and_sees_the_others_without_permission() {
        let (me, other) = (DeviceId([1; 16]), DeviceId([2; 16]));
        let mut r = Replica::new(me);
        let here = vec![("https://app.example".to_owned(), site(5))];
        assert!(edits(&r, me, &here).is_empty(), "sync is off");
        let on = Field::Enabled {
            category: Category::Sites,
        };
        r.edit(on, Some(Value::Enabled(true)), 1).unwrap();
        // Connected here: recorded once; again, nothing; a bad origin skipped.
        let mut with_bad = here.clone();
        with_bad.push(("javascript:alert(1)".into(), site(6)));
        let first = edits(&r, me, &with_bad);
        assert_eq!(first.len(), 1);
        apply(&mut r, first, 10);
        assert!(edits(&r, me, &here).is_empty());
        // Another device's record (as a message would bring it).
        let theirs = Field::record(
            Category::Sites,
            format!("{}/https://other.example", other.to_hex()),
        );
        r.edit(theirs, Some(Value::Site(site(7))), 11).unwrap();
        let seen = elsewhere(&r, me);
        assert_eq!(seen.len(), 1);
        assert_eq!((seen[0].0, seen[0].1), (other, "https://other.example"));
        // Disconnected here: this device's record goes, the other's stays.
        let gone = edits(&r, me, &[]);
        assert_eq!(gone.len(), 1);
        assert!(gone[0].1.is_none());
        apply(&mut r, gone, 12);
        assert_eq!(r.records(Category::Sites).count(), 1);
        assert_eq!(elsewhere(&r, me).len(), 1);
    }
}
