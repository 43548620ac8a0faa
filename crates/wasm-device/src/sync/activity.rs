//! The Activity category (issue 12): the wallet's own transactions become
//! records of [`tandem_sync::Category::Activity`], and the ones the group's other devices
//! sent are merged into this wallet's list, to be shown only: nothing here
//! sends a transaction again.

use serde_json::Value as Json;
use tandem_pair::DeviceId;
use tandem_sync::view::ShownActivity;
use tandem_sync::{Activity, ActivityStatus, Category, Field, Replica, Value};

/// At most this many transactions of other devices are shown (the wallet
/// keeps 200 of its own; a group of phones and browsers may hold 10,000).
pub(crate) const MAX_SHOWN: usize = 200;

/// The record id of a transaction: `<chain>:<hash>`, the hash lowercase
/// without `0x`.
fn id_of(chain_id: u64, hash: &str) -> String {
    let h = hash.strip_prefix("0x").unwrap_or(hash);
    format!("{chain_id}:{}", h.to_ascii_lowercase())
}

/// A text field of a JSON object.
fn text<'a>(a: &'a Json, key: &str) -> Option<&'a str> {
    a.get(key)?.as_str()
}

/// The record of one of the wallet's transactions (its entry as the
/// wallet holds it, `tandem_wallet::Activity`'s form, read as JSON: a
/// second copy of that type here would cost the module more); `None` for
/// an entry not of that form. `networks`: the wallet's, for the currency.
fn record_of(a: &Json, networks: &[Json]) -> Option<(String, Activity)> {
    let chain_id = a.get("chainId")?.as_u64()?;
    let status = match text(a, "status")? {
        "pending" => ActivityStatus::Pending,
        "confirmed" => ActivityStatus::Confirmed,
        "failed" => ActivityStatus::Failed,
        _ => return None,
    };
    let value = decimal(text(a, "value")?)?;
    let symbol = networks
        .iter()
        .find(|n| n.get("chainId").and_then(Json::as_u64) == Some(chain_id))
        .and_then(|n| text(n, "symbol"));
    let to = text(a, "to").map(str::to_ascii_lowercase);
    let summary = summary(to.as_deref(), &value, symbol);
    Some((
        id_of(chain_id, text(a, "hash")?),
        Activity {
            from: text(a, "from")?.to_ascii_lowercase(),
            to,
            value,
            summary,
            status,
            at: a.get("submittedAt")?.as_u64()?,
        },
    ))
}

/// A JSON array the worker passed (`what`: its name in the error).
pub(crate) fn list(json: &str, what: &str) -> Result<Vec<Json>, String> {
    match serde_json::from_str(json) {
        Ok(Json::Array(a)) => Ok(a),
        Ok(_) => Err(format!("bad {what} list: not an array")),
        Err(e) => Err(format!("bad {what} list: {e}")),
    }
}

/// The edits that make the synced records hold this wallet's list (`own`,
/// and `networks` for the currency; `me`: this device): each transaction
/// sent or changed here is written, and the records this device wrote that
/// the wallet no longer keeps are removed (it drops the oldest past 200:
/// the category stays far below its 10,000 records). Another device's
/// records are never written: this device only shows them. None while the
/// category does not sync (switched on, the wallet's list goes then).
pub(crate) fn changes(
    replica: &Replica,
    me: DeviceId,
    own: &[Json],
    networks: &[Json],
) -> Vec<(Field, Option<Value>)> {
    if !replica.enabled(Category::Activity) {
        return Vec::new();
    }
    let wanted: Vec<(String, Activity)> =
        own.iter().filter_map(|a| record_of(a, networks)).collect();
    let mut out: Vec<(Field, Option<Value>)> = replica
        .records(Category::Activity)
        .filter(|(id, _, by)| *by == me && !wanted.iter().any(|(w, _)| w == id))
        .map(|(id, _, _)| (Field::record(Category::Activity, id.to_owned()), None))
        .collect();
    for (id, a) in wanted {
        let field = Field::record(Category::Activity, id);
        let value = Value::Activity(a);
        if replica.get(&field) != Some(&value) && field.check(Some(&value)).is_ok() {
            out.push((field, Some(value)));
        }
    }
    out
}

/// The transactions the group's other devices sent, in the form of the
/// wallet's list, each naming its device (`name`); none while the category
/// does not sync.
pub(crate) fn elsewhere(
    replica: &Replica,
    me: DeviceId,
    name: impl Fn(&DeviceId) -> String,
) -> Vec<Json> {
    if !replica.enabled(Category::Activity) {
        return Vec::new();
    }
    replica
        .records(Category::Activity)
        .filter(|(_, _, by)| *by != me)
        .filter_map(|(id, v, by)| match v {
            Value::Activity(a) => shown(id, a, name(&by)),
            _ => None,
        })
        .collect()
}

/// A record of another device in the form of the wallet's list (what the
/// popup's Activity tab reads: [`tandem_sync::view::ShownActivity`]), with
/// the device that sent it (`sentFrom`); `None` for an id not of the form
/// `<chain>:<hash>` (the replica holds only checked ids).
fn shown(id: &str, a: &Activity, sent_from: String) -> Option<Json> {
    let (chain, hash) = id.split_once(':')?;
    let item = ShownActivity {
        hash: format!("0x{hash}"),
        chain_id: chain.parse().ok()?,
        from: a.from.clone(),
        to: a.to.clone(),
        // Wei, decimal (the popup reads either form).
        value: a.value.clone(),
        status: a.status,
        submitted_at: a.at,
        block_number: None,
        warning: None,
        origin: None,
        sent_from: Some(sent_from),
    };
    serde_json::to_value(item).ok()
}

fn at(a: &Json) -> u64 {
    a.get("submittedAt").and_then(Json::as_u64).unwrap_or(0)
}

/// Into `list`, newest first, before the entries of its time (a plain
/// insertion: a few hundred entries, and no sort's code in the module).
fn insert(list: &mut Vec<Json>, a: Json) {
    let i = list
        .iter()
        .position(|x| at(x) <= at(&a))
        .unwrap_or(list.len());
    list.insert(i, a);
}

/// The wallet's list (oldest first, as it keeps it) with the other
/// devices' transactions it does not hold, newest first; of those, the
/// newest [`MAX_SHOWN`].
pub(crate) fn merged(own: Vec<Json>, others: Vec<Json>) -> Vec<Json> {
    let hash = |a: &Json| text(a, "hash").map(str::to_ascii_lowercase);
    let held: Vec<Option<String>> = own.iter().map(hash).collect();
    let mut list = Vec::new();
    for s in others {
        if !held.contains(&hash(&s)) {
            insert(&mut list, s);
        }
    }
    list.truncate(MAX_SHOWN);
    for a in own {
        insert(&mut list, a);
    }
    list
}

/// "Sent 0.1 ETH to 0x1234…5678", from a decimal amount of wei in the
/// chain's currency (the wallet's networks all count in 18 decimals; a
/// chain the wallet no longer knows is counted in wei).
fn summary(to: Option<&str>, wei: &str, symbol: Option<&str>) -> String {
    let Some(to) = to else {
        return "Deployed a contract".into();
    };
    let to = short(to);
    if wei == "0" {
        return format!("Sent a transaction to {to}");
    }
    match symbol {
        Some(s) => format!("Sent {} {s} to {to}", ether(wei)),
        None => format!("Sent {wei} wei to {to}"),
    }
}

/// `0x1234…5678`.
fn short(address: &str) -> String {
    match (
        address.get(..6),
        address.get(address.len().saturating_sub(4)..),
    ) {
        (Some(head), Some(tail)) if address.len() > 13 => format!("{head}…{tail}"),
        _ => address.to_owned(),
    }
}

/// Decimal wei in 18 decimals, at most 4 of them shown.
fn ether(wei: &str) -> String {
    let padded = format!("{wei:0>19}");
    let (int, frac) = padded.split_at(padded.len() - 18);
    let frac = frac[..4].trim_end_matches('0');
    match frac {
        "" if int == "0" => "<0.0001".into(),
        "" => int.to_owned(),
        f => format!("{int}.{f}"),
    }
}

/// A `0x` hex number of at most 256 bits in decimal.
fn decimal(hex: &str) -> Option<String> {
    let h = hex.strip_prefix("0x")?;
    if h.is_empty() || h.len() > 64 {
        return None;
    }
    // Base-10 digits, least significant first.
    let mut digits: Vec<u8> = vec![0];
    for c in h.chars() {
        let mut carry = c.to_digit(16)?;
        for d in &mut digits {
            let v = u32::from(*d) * 16 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    Some(digits.iter().rev().map(|d| char::from(b'0' + d)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_sync::Category;

    const HASH: &str = "0xAB00000000000000000000000000000000000000000000000000000000000001";
    const FROM: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    const TO: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    fn sent(hash: &str, value: &str, status: &str, at: u64) -> Json {
        serde_json::json!({
            "hash": hash, "chainId": 31337, "from": FROM, "to": TO, "value": value,
            "status": status, "origin": null, "submittedAt": at, "blockNumber": null,
        })
    }

    fn eth() -> Vec<Json> {
        vec![serde_json::json!({ "chainId": 31337, "name": "Anvil", "symbol": "ETH" })]
    }

    #[test]
    fn a_send_becomes_a_record_with_a_plain_summary() {
        // 20 ETH.
        let a = sent(HASH, "0x1158e460913d00000", "pending", 7);
        let (id, r) = record_of(&a, &eth()).unwrap();
        assert_eq!(id, format!("31337:ab{}01", "0".repeat(60)));
        Category::Activity.check_id(&id).unwrap();
        assert_eq!(r.value, "20000000000000000000");
        assert_eq!(r.summary, "Sent 20 ETH to 0x7099…79c8");
        assert_eq!(r.from, FROM.to_ascii_lowercase());
        assert_eq!(r.status, ActivityStatus::Pending);
        assert_eq!(r.at, 7);
        // The record passes the category's checks.
        tandem_sync::Field::record(Category::Activity, id)
            .check(Some(&Value::Activity(r)))
            .unwrap();
    }

    #[test]
    fn an_entry_not_of_the_wallets_form_is_left_out() {
        assert!(record_of(&sent(HASH, "0x1", "replaced", 1), &eth()).is_none());
        assert!(record_of(&sent(HASH, "12", "pending", 1), &eth()).is_none());
        let mut no_hash = sent(HASH, "0x1", "pending", 1);
        no_hash["hash"] = Json::Null;
        assert!(record_of(&no_hash, &eth()).is_none());
    }

    #[test]
    fn summaries_say_what_was_sent_in_words() {
        let to = Some("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
        let eth = Some("ETH");
        assert_eq!(
            summary(to, "100000000000000000", eth),
            "Sent 0.1 ETH to 0x7099…79c8"
        );
        assert_eq!(
            summary(to, "1250000000000000000", eth),
            "Sent 1.25 ETH to 0x7099…79c8"
        );
        assert_eq!(summary(to, "12", eth), "Sent <0.0001 ETH to 0x7099…79c8");
        assert_eq!(summary(to, "0", eth), "Sent a transaction to 0x7099…79c8");
        assert_eq!(summary(to, "12", None), "Sent 12 wei to 0x7099…79c8");
        assert_eq!(summary(None, "0", eth), "Deployed a contract");
    }

    #[test]
    fn hex_wei_reads_as_decimal_up_to_256_bits() {
        assert_eq!(decimal("0x0").as_deref(), Some("0"));
        assert_eq!(decimal("0x00ff").as_deref(), Some("255"));
        assert_eq!(
            decimal(&format!("0x{}", "f".repeat(64))).as_deref(),
            Some("115792089237316195423570985008687907853269984665640564039457584007913129639935")
        );
        assert_eq!(decimal("ff"), None);
        assert_eq!(decimal("0x"), None);
        assert_eq!(decimal("0xg1"), None);
        assert_eq!(decimal(&format!("0x1{}", "0".repeat(64))), None);
    }

    const ME: DeviceId = DeviceId([1; 16]);
    const PHONE: DeviceId = DeviceId([2; 16]);

    /// A replica of `device` with Activity switched on.
    fn on(device: DeviceId) -> Replica {
        let mut r = Replica::new(device);
        let on = Field::Enabled {
            category: Category::Activity,
        };
        r.edit(on, Some(Value::Enabled(true)), 1).unwrap();
        r
    }

    fn apply(r: &mut Replica, edits: Vec<(Field, Option<Value>)>, now: u64) {
        for (f, v) in edits {
            r.edit(f, v, now).unwrap();
        }
    }

    fn status_of(edit: &(Field, Option<Value>)) -> Option<ActivityStatus> {
        match &edit.1 {
            Some(Value::Activity(a)) => Some(a.status),
            _ => None,
        }
    }

    #[test]
    fn a_new_transaction_is_written_once_then_again_only_when_its_status_changes() {
        let mut r = on(ME);
        let pending = sent(HASH, "0x1", "pending", 1);
        let (id, _) = record_of(&pending, &eth()).unwrap();
        let new = changes(&r, ME, std::slice::from_ref(&pending), &eth());
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].0, Field::record(Category::Activity, id.clone()));
        assert_eq!(status_of(&new[0]), Some(ActivityStatus::Pending));
        apply(&mut r, new, 2);
        // Already synced as it is: nothing is sent again.
        assert!(changes(&r, ME, std::slice::from_ref(&pending), &eth()).is_empty());
        // Confirmed since: that record alone is written, confirmed; a
        // second transaction still pending beside it is new.
        let other = "0xcd00000000000000000000000000000000000000000000000000000000000002";
        let now = [
            sent(HASH, "0x1", "confirmed", 1),
            sent(other, "0x2", "pending", 3),
        ];
        let c = changes(&r, ME, &now, &eth());
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].0, Field::record(Category::Activity, id));
        assert_eq!(status_of(&c[0]), Some(ActivityStatus::Confirmed));
        assert_eq!(status_of(&c[1]), Some(ActivityStatus::Pending));
        apply(&mut r, c, 4);
        assert!(changes(&r, ME, &now, &eth()).is_empty());
        assert_eq!(r.records(Category::Activity).count(), 2);
    }

    #[test]
    fn nothing_is_written_while_activity_does_not_sync() {
        let r = Replica::new(ME);
        let own = [sent(HASH, "0x1", "pending", 1)];
        assert!(changes(&r, ME, &own, &eth()).is_empty());
        assert!(elsewhere(&r, ME, |_| "phone".into()).is_empty());
    }

    #[test]
    fn what_the_wallet_dropped_is_removed_if_this_device_wrote_it() {
        let mut r = on(ME);
        let own = [sent(HASH, "0x1", "pending", 1)];
        let new = changes(&r, ME, &own, &eth());
        apply(&mut r, new, 2);
        let gone = changes(&r, ME, &[], &eth());
        assert_eq!(gone.len(), 1);
        assert!(gone[0].1.is_none());
        apply(&mut r, gone, 3);
        assert_eq!(r.records(Category::Activity).count(), 0);
        assert!(changes(&r, ME, &[], &eth()).is_empty());
    }

    #[test]
    fn another_devices_transactions_are_shown_here_never_written_again_nor_removed() {
        // The phone sent one (its record reaches this device as a message).
        let mut phone = on(PHONE);
        let theirs = sent(
            "0xee00000000000000000000000000000000000000000000000000000000000003",
            "0x16345785d8a0000",
            "pending",
            5,
        );
        let mut r = on(ME);
        for (f, v) in changes(&phone, PHONE, std::slice::from_ref(&theirs), &eth()) {
            let op = phone.edit(f, v, 6).unwrap();
            r.receive(op, 7).unwrap();
        }
        assert_eq!(r.records(Category::Activity).count(), 1);
        // This wallet holds none of it: nothing written, nothing removed;
        // with a send of its own, only that one is written.
        assert!(changes(&r, ME, &[], &eth()).is_empty());
        let mine = [sent(HASH, "0x1", "pending", 8)];
        let c = changes(&r, ME, &mine, &eth());
        assert_eq!(c.len(), 1);
        assert_eq!(
            c[0].0,
            Field::record(Category::Activity, record_of(&mine[0], &eth()).unwrap().0)
        );
        apply(&mut r, c, 9);
        // Shown: the phone's, naming it; this device's own is not among them.
        let shown = elsewhere(&r, ME, |d| {
            assert_eq!(*d, PHONE);
            "Pixel 8".into()
        });
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0]["hash"], theirs["hash"]);
        assert_eq!(shown[0]["sentFrom"], "Pixel 8");
        assert_eq!(shown[0]["status"], "pending");
        assert_eq!(shown[0]["value"], "100000000000000000");
        assert_eq!(shown[0]["submittedAt"], 5);
        // In the one type the popup reads (tandem_sync::view::ShownActivity).
        let typed: ShownActivity = serde_json::from_value(shown[0].clone()).unwrap();
        assert_eq!(
            (typed.sent_from.as_deref(), typed.status, typed.chain_id),
            (Some("Pixel 8"), ActivityStatus::Pending, 31337)
        );
        // Confirmed on the phone: the change shows here, still not written.
        let confirmed = {
            let mut t = theirs.clone();
            t["status"] = "confirmed".into();
            t
        };
        for (f, v) in changes(&phone, PHONE, &[confirmed], &eth()) {
            r.receive(phone.edit(f, v, 10).unwrap(), 11).unwrap();
        }
        assert_eq!(
            elsewhere(&r, ME, |_| "Pixel 8".into())[0]["status"],
            "confirmed"
        );
        assert!(changes(&r, ME, &mine, &eth()).is_empty());
    }

    #[test]
    fn a_list_the_worker_passed_must_be_a_json_array() {
        assert_eq!(list("[]", "activity").unwrap(), Vec::<Json>::new());
        assert_eq!(list(r#"[{"a":1}]"#, "activity").unwrap().len(), 1);
        assert_eq!(
            list("{}", "activity").unwrap_err(),
            "bad activity list: not an array"
        );
        assert!(list("[", "network")
            .unwrap_err()
            .starts_with("bad network list: "));
        assert!(list("", "activity").is_err());
    }

    fn other(hash: &str, at: u64) -> Json {
        let a = Activity {
            from: FROM.to_ascii_lowercase(),
            to: None,
            value: "5".into(),
            summary: "Deployed a contract".into(),
            status: ActivityStatus::Confirmed,
            at,
        };
        shown(&format!("1:{hash}"), &a, "phone".into()).unwrap()
    }

    #[test]
    fn other_devices_transactions_merge_newest_first_without_doubles() {
        let mine = |hash: &str, at: u64| serde_json::json!({ "hash": hash, "submittedAt": at, "origin": null });
        let (a, b, c) = ("a".repeat(64), "b".repeat(64), "c".repeat(64));
        let own = vec![mine(&format!("0x{a}"), 10), mine(&format!("0x{b}"), 30)];
        let list = merged(own, vec![other(&c, 20), other(&a, 10)]);
        let hashes: Vec<&str> = list.iter().map(|x| x["hash"].as_str().unwrap()).collect();
        assert_eq!(
            hashes,
            [format!("0x{b}"), format!("0x{c}"), format!("0x{a}")]
        );
        // The other device's entry says where it came from; the wallet's
        // own keep their fields.
        assert_eq!(list[1]["sentFrom"], "phone");
        assert_eq!(list[1]["chainId"], 1);
        assert_eq!(list[1]["value"], "5");
        assert_eq!(list[1]["status"], "confirmed");
        assert!(list[0].get("origin").is_some() && list[0].get("sentFrom").is_none());
    }

    #[test]
    fn the_wallets_own_list_reads_newest_first_as_it_did_before_sync() {
        let own: Vec<Json> = (0..4)
            .map(|i| serde_json::json!({ "hash": format!("0x{i}"), "submittedAt": if i < 2 { 5 } else { 9 } }))
            .collect();
        let list = merged(own, Vec::new());
        let hashes: Vec<&str> = list.iter().map(|x| x["hash"].as_str().unwrap()).collect();
        assert_eq!(hashes, ["0x3", "0x2", "0x1", "0x0"]);
    }

    #[test]
    fn at_most_the_newest_200_of_other_devices_are_shown() {
        let many = (0..250u64)
            .map(|i| other(&format!("{i:064x}"), i))
            .collect();
        let list = merged(Vec::new(), many);
        assert_eq!(list.len(), MAX_SHOWN);
        assert_eq!(list[0]["submittedAt"], 249);
        assert_eq!(list[MAX_SHOWN - 1]["submittedAt"], 50);
    }

    #[test]
    fn a_record_id_not_of_the_activity_form_is_not_shown() {
        let a = Activity {
            from: FROM.to_ascii_lowercase(),
            to: None,
            value: "0".into(),
            summary: String::new(),
            status: ActivityStatus::Pending,
            at: 0,
        };
        assert!(shown(&"a".repeat(64), &a, String::new()).is_none());
        assert!(shown(&format!("x:{}", "a".repeat(64)), &a, String::new()).is_none());
    }
}
