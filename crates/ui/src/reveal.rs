//! What an approval window shows in words first and raw on demand: a
//! transaction's calldata as hex, a Unix timestamp (a permit's deadline) as
//! a date with its number behind it. `<details>` opens with a click or the
//! keyboard, and its `<summary>` is the visible label.

use crate::view::{el, El};

/// The calldata in hex, behind "Show raw data".
pub fn raw_data(data: &str) -> El {
    el("details")
        .class("raw")
        .tid("tx-data-raw")
        .child(el("summary").text("Show raw data"))
        .child(el("code").class("mono wrap").tid("tx-data-hex").text(data))
}

/// Typed-data field names that hold a Unix time in seconds.
const TIME_NAMES: [&str; 9] = [
    "deadline",
    "expiration",
    "expiry",
    "sigdeadline",
    "validto",
    "validafter",
    "validbefore",
    "endtime",
    "starttime",
];

/// Whether a typed-data field `name` of type `ty` holds a Unix time.
pub fn is_time(name: &str, ty: &str) -> bool {
    ty.starts_with("uint") && TIME_NAMES.iter().any(|t| name.eq_ignore_ascii_case(t))
}

/// `seconds` since 1970 as `YYYY-MM-DD HH:MM:SS UTC`, for years up to 9999
/// (later ones are not dates anyone means: `None`).
pub fn utc(seconds: &str) -> Option<String> {
    let s: u64 = seconds.parse().ok()?;
    if s > 253_402_300_799 {
        return None;
    }
    let (y, m, d, min) = crate::format::civil(s, 0);
    Some(format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        min / 60,
        min % 60,
        s % 60
    ))
}

/// A timestamp field's value: the date, and the raw number on demand.
pub fn time_value(seconds: &str, path: &str) -> Option<El> {
    let date = utc(seconds)?;
    Some(
        el("details")
            .class("raw")
            .child(el("summary").tid(format!("typed-date-{path}")).text(date))
            .child(
                el("span")
                    .class("mono")
                    .tid(format!("typed-field-{path}"))
                    .text(seconds.to_owned()),
            ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_times_as_utc_dates() {
        // Expected values from Python's datetime.utcfromtimestamp.
        assert_eq!(utc("0").unwrap(), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc("951782400").unwrap(), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc("1900000000").unwrap(), "2030-03-17 17:46:40 UTC");
        assert_eq!(utc("253402300799").unwrap(), "9999-12-31 23:59:59 UTC");
        assert_eq!(utc("253402300800"), None);
        assert_eq!(utc("-1"), None);
        assert_eq!(utc("0x10"), None);
        assert!(is_time("deadline", "uint256") && is_time("sigDeadline", "uint48"));
        assert!(!is_time("deadline", "string") && !is_time("value", "uint256"));
    }

    /// Issue 13, item 3: a permit's deadline reads as a date, its number on demand.
    #[test]
    fn a_permit_deadline_shows_as_a_date() {
        use crate::view::{view, Page, Ui};
        use serde_json::json;
        let td = json!({
            "types": {"EIP712Domain": [{"name": "chainId", "type": "uint256"}],
                      "Permit": [{"name": "value", "type": "uint256"}, {"name": "deadline", "type": "uint256"}]},
            "primaryType": "Permit", "domain": {"chainId": 31337},
            "message": {"value": "5", "deadline": "1900000000"}
        });
        let mut ui = Ui::new(Page::Approval);
        let net = json!({"chainId": 31337, "name": "Anvil", "rpcUrl": "http://127.0.0.1:8545", "symbol": "ETH"});
        ui.state = Some(
            serde_json::from_value(json!({
                "initialized": true, "unlocked": true, "accounts": [], "network": net, "networks": [net]
            }))
            .unwrap(),
        );
        ui.approval = Some(crate::model::Approval::example(
            "typed_data",
            "http://127.0.0.1:5173",
            json!({"typedData": td.to_string()}),
            serde_json::Value::Null,
        ));
        ui.route();
        let v = view(&ui, "");
        let text = |id: &str| {
            v.find(id)
                .unwrap_or_else(|| panic!("{id}: {:?}", v.testids()))
                .text_content()
        };
        assert_eq!(
            text("typed-date-message.deadline"),
            "2030-03-17 17:46:40 UTC"
        );
        assert_eq!(text("typed-field-message.deadline"), "1900000000");
        assert_eq!(text("typed-field-message.value"), "5");
        assert!(v.find("typed-date-message.value").is_none());
    }
}
