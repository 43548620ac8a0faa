//! Settings → Activity log: the signed, hash-chained audit log of every
//! device of the wallet, newest first, each entry with what reading it
//! found (an altered, removed, moved or forged entry is shown as such, in
//! red, never hidden), filters by device, kind, site and date, and the
//! exports (JSON with the signatures and every device's public key; CSV).
//! Data: the worker's `audit.view` (crates/wasm-device/src/audit.rs).

use serde::Deserialize;
use tandem_sync::audit::{Happened, Verdict};

use crate::devices::Here;
use crate::format::{date_time, shorten_address};
use crate::view::{back_bar, el, error_box, notice_box, Action, El, Ui};

/// One entry as the worker sends it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// The device that wrote it (hex id).
    pub device: String,
    /// Its name as this device knows it.
    pub device_name: String,
    /// Its place in that device's chain.
    pub seq: u64,
    /// When (ms since the epoch, the writing device's clock).
    pub at_ms: u64,
    /// What happened.
    pub happened: Happened,
    /// What reading found.
    pub verdict: Verdict,
}

/// A device of the group and its name, as this device knows them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NamedDevice {
    /// Its id (hex).
    pub device: String,
    /// Its name.
    pub name: String,
}

/// The log as the worker sends it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AuditView {
    /// This device (hex id).
    pub me: String,
    /// Every entry, each device's chain in order.
    pub entries: Vec<AuditEntry>,
    /// The devices this one knows (a phone that approved a request may
    /// have written no entry of its own).
    #[serde(default)]
    pub devices: Vec<NamedDevice>,
}

/// Which entries the screen shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this device's (hex id; empty: all).
    pub device: String,
    /// Only this kind (`sign`, `unlock`, …; empty: all).
    pub kind: String,
    /// Only entries whose site contains this (case-insensitive).
    pub site: String,
    /// Only entries on or after this day (`YYYY-MM-DD`, the page's time
    /// zone; empty: all).
    pub since: String,
}

/// The screen's data: the log and the filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditScreen {
    /// The log.
    pub view: AuditView,
    /// The filter.
    pub filter: AuditFilter,
}

/// What the user can do on the log screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditAction {
    /// A filter changed: which one and its new value.
    Filter(&'static str, String),
    /// Save the log as a file (`json` or `csv`).
    Export(String),
}

/// Reads a log screen `data-action` / `data-change`.
pub fn parse(action: &str, arg: &str) -> Option<AuditAction> {
    let filter = |f| Some(AuditAction::Filter(f, arg.to_owned()));
    match action {
        "audit-filter-device" => filter("device"),
        "audit-filter-kind" => filter("kind"),
        "audit-filter-site" => filter("site"),
        "audit-filter-since" => filter("since"),
        "audit-export" if matches!(arg, "json" | "csv") => Some(AuditAction::Export(arg.into())),
        _ => None,
    }
}

/// The `data-action` (or `data-change`) and `data-arg` that [`parse`]
/// reads back as `a`.
pub fn encode(a: &AuditAction) -> (&'static str, Option<String>) {
    match a {
        AuditAction::Filter(which, v) => (
            match *which {
                "device" => "audit-filter-device",
                "kind" => "audit-filter-kind",
                "site" => "audit-filter-site",
                _ => "audit-filter-since",
            },
            Some(v.clone()),
        ),
        AuditAction::Export(f) => ("audit-export", Some(f.clone())),
    }
}

impl AuditFilter {
    /// Sets the filter `which` to `value`.
    pub fn set(&mut self, which: &str, value: String) {
        match which {
            "device" => self.device = value,
            "kind" => self.kind = value,
            "site" => self.site = value.trim().to_owned(),
            _ => self.since = value,
        }
    }
}

/// The filter kinds, with their labels.
pub const KINDS: [(&str, &str); 8] = [
    ("sign", "Signatures and transactions"),
    ("unlock", "Unlocks"),
    ("paired", "Pairings"),
    ("revoked", "Removed devices"),
    ("token", "Session tokens"),
    ("sync_category", "Sync settings"),
    ("restored", "Restores"),
    ("checkpoint", "Compactions"),
];

/// The kind of an entry, as the filter names it.
pub fn kind(h: &Happened) -> &'static str {
    match h {
        Happened::Sign { .. } => "sign",
        Happened::Unlock { .. } => "unlock",
        Happened::Paired { .. } => "paired",
        Happened::Revoked { .. } => "revoked",
        Happened::Token { .. } => "token",
        Happened::SyncCategory { .. } => "sync_category",
        Happened::Restored { .. } => "restored",
        Happened::Checkpoint { .. } => "checkpoint",
    }
}

/// `YYYY-MM-DD` as days since the epoch (`None` when it is not a date).
fn day_number(s: &str) -> Option<i64> {
    let mut it = s.splitn(3, '-').map(str::parse::<i64>);
    let (y, m, d) = (it.next()?.ok()?, it.next()?.ok()?, it.next()?.ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (H. Hinnant's algorithm, as format::civil inverts).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The entries the filter lets through, newest first (a device's own order
/// breaks ties, so a moved entry still shows where it was found).
pub fn shown(s: &AuditScreen, utc_offset_min: i32) -> Vec<&AuditEntry> {
    let f = &s.filter;
    let since_ms = day_number(&f.since)
        .map(|d| (d * 86_400_000 - i64::from(utc_offset_min) * 60_000).max(0) as u64);
    let site = f.site.to_lowercase();
    let mut out: Vec<&AuditEntry> = s
        .view
        .entries
        .iter()
        .filter(|e| f.device.is_empty() || e.device == f.device)
        .filter(|e| f.kind.is_empty() || kind(&e.happened) == f.kind)
        .filter(|e| {
            site.is_empty()
                || matches!(&e.happened, Happened::Sign { site: s, .. } if s.to_lowercase().contains(&site))
        })
        .filter(|e| since_ms.is_none_or(|t| e.at_ms >= t))
        .collect();
    out.sort_by(|a, b| b.at_ms.cmp(&a.at_ms).then(b.seq.cmp(&a.seq)));
    out
}

/// A device's name for an id in an entry (the group's name for it, else
/// the name the log's entries give it, else its short id).
fn device_name(v: &AuditView, hex: &str) -> String {
    let named = v.devices.iter().find(|d| d.device == hex).map(|d| &d.name);
    named
        .or_else(|| {
            v.entries
                .iter()
                .find(|e| e.device == hex)
                .map(|e| &e.device_name)
        })
        .map_or_else(|| shorten_address(hex), Clone::clone)
}

/// What entry `e` says happened, in one plain sentence.
pub fn sentence(v: &AuditView, e: &AuditEntry, utc_offset_min: i32) -> String {
    match &e.happened {
        // The wallet's own Send is no site: it is said as the send it was,
        // from the device that wrote the entry.
        Happened::Sign {
            site,
            chain,
            summary,
            approved,
            approved_on,
            ..
        } if site == tandem_wallet::provider::WALLET_ORIGIN => format!(
            "{}: your own send from Tandem on {}, on chain {chain}: {summary}",
            answer(v, *approved, approved_on.as_deref()),
            e.device_name
        ),
        h => happened(v, h, utc_offset_min),
    }
}

/// "Approved" or "Rejected", and on which device when one is named.
fn answer(v: &AuditView, approved: bool, on: Option<&str>) -> String {
    let answer = if approved { "Approved" } else { "Rejected" };
    match on {
        Some(d) => format!("{answer} on {}", device_name(v, d)),
        None => answer.into(),
    }
}

fn happened(v: &AuditView, h: &Happened, utc_offset_min: i32) -> String {
    match h {
        Happened::Paired { device, name } => {
            format!("Paired {name} ({})", shorten_address(device))
        }
        Happened::Revoked { device, reason } => format!(
            "Removed {} from the wallet (reason: {reason})",
            device_name(v, device)
        ),
        Happened::Token {
            device,
            action,
            expires_at,
        } => format!(
            "Session token of {} {action}; it expires {}",
            device_name(v, device),
            date_time(*expires_at, utc_offset_min)
        ),
        Happened::Sign {
            site,
            method,
            chain,
            summary,
            approved,
            approved_on,
        } => format!(
            "{}: {site} asked for {method} on chain {chain}: {summary}",
            answer(v, *approved, approved_on.as_deref())
        ),
        Happened::Unlock { ok: true } => "Unlocked".into(),
        Happened::Unlock { ok: false } => "Failed unlock: wrong password".into(),
        Happened::SyncCategory { category, on } => format!(
            "Sync of {} turned {}",
            category.label(),
            if *on { "on" } else { "off" }
        ),
        Happened::Restored {
            entries: Some(n),
            devices: Some(d),
        } => format!(
            "Restored from the recovery phrase: {n} {} from {d} {}",
            if *n == 1 { "entry" } else { "entries" },
            if *d == 1 { "device" } else { "devices" }
        ),
        Happened::Restored { .. } => "Restored from the recovery phrase".into(),
        Happened::Checkpoint { upto, .. } => {
            format!("Entries up to #{upto} were compacted (signed checkpoint)")
        }
    }
}

/// What reading found, when it is not fine.
pub fn finding(v: &Verdict) -> Option<String> {
    Some(match v {
        Verdict::Ok => return None,
        Verdict::Altered => "Altered: its signature does not match what it says".into(),
        Verdict::UnknownDevice => "From a device this wallet does not know".into(),
        Verdict::Gap { missing: 1 } => "1 entry before this one is missing".into(),
        Verdict::Gap { missing } => format!("{missing} entries before this one are missing"),
        Verdict::BrokenLink => "The entry before this one was changed or replaced".into(),
        Verdict::OutOfOrder => "Out of order: this entry was moved".into(),
    })
}

/// The line under the title: how many entries, how many with a problem.
pub fn summary(v: &AuditView) -> String {
    let bad = v
        .entries
        .iter()
        .filter(|e| e.verdict != Verdict::Ok)
        .count();
    let n = v.entries.len();
    match (n, bad) {
        (0, _) => "Nothing recorded yet.".into(),
        (n, 0) => format!("{n} entries, all signed and in order."),
        (n, 1) => format!("{n} entries; 1 has a problem (shown in red)."),
        (n, b) => format!("{n} entries; {b} have a problem (shown in red)."),
    }
}

fn select(
    testid: &str,
    change: fn(String) -> Action,
    label: &str,
    options: Vec<(String, String)>,
    cur: &str,
) -> El {
    el("label")
        .class("field")
        .child(el("span").class("label").text(label))
        .child(
            el("select")
                .tid(testid)
                .on_change(change)
                .children(options.into_iter().map(|(value, text)| {
                    let o = el("option").attr("value", value.clone()).text(text);
                    if value == cur {
                        o.attr("selected", "")
                    } else {
                        o
                    }
                })),
        )
}

fn filters(s: &AuditScreen, here: Here) -> El {
    let mut devices: Vec<(String, String)> = vec![(String::new(), "All devices".into())];
    for e in &s.view.entries {
        if !devices.iter().any(|(d, _)| *d == e.device) {
            let mine = if e.device == s.view.me {
                here.own()
            } else {
                ""
            };
            devices.push((e.device.clone(), format!("{}{mine}", e.device_name)));
        }
    }
    let kinds = std::iter::once((String::new(), "Everything".to_owned()))
        .chain(
            KINDS
                .iter()
                .map(|(k, l)| ((*k).to_owned(), (*l).to_owned())),
        )
        .collect();
    let f = &s.filter;
    el("div")
        .class("stack")
        .tid("audit-filters")
        .child(select(
            "audit-filter-device",
            |v| Action::Audit(AuditAction::Filter("device", v)),
            "Device",
            devices,
            &f.device,
        ))
        .child(select(
            "audit-filter-kind",
            |v| Action::Audit(AuditAction::Filter("kind", v)),
            "Kind",
            kinds,
            &f.kind,
        ))
        .child(
            el("label")
                .class("field")
                .child(el("span").class("label").text("Site contains"))
                .child(
                    el("input")
                        .attr("type", "text")
                        .attr("autocomplete", "off")
                        .attr("value", f.site.clone())
                        .on_change(|v| Action::Audit(AuditAction::Filter("site", v)))
                        .tid("audit-filter-site"),
                ),
        )
        .child(
            el("label")
                .class("field")
                .child(el("span").class("label").text("Since"))
                .child(
                    el("input")
                        .attr("type", "date")
                        .attr("value", f.since.clone())
                        .on_change(|v| Action::Audit(AuditAction::Filter("since", v)))
                        .tid("audit-filter-since"),
                ),
        )
}

/// What the log is, said where it is shown: the extension's popup, or the
/// phone app (where the log arrives only while its Activity log is on).
fn about(here: Here) -> &'static str {
    match here {
        Here::Browser => {
            "Every device of this wallet signs what happens on it and links each entry \
             to the one before, so an entry changed, removed or moved shows here in red. \
             The log goes to your other devices with sync, end-to-end encrypted."
        }
        Here::Phone => {
            "Every device of this wallet signs what happens on it and links each entry \
             to the one before, so an entry changed, removed or moved shows here in red. \
             Your computers' entries reach this phone through the relay, end-to-end \
             encrypted, and this phone's go to them the same way."
        }
    }
}

/// The log screen, shown `here`.
pub fn audit_screen(ui: &Ui, here: Here) -> El {
    let screen = el("div")
        .class("stack screen")
        .tid("audit-screen")
        .child(back_bar("Activity log"));
    let Some(s) = &ui.audit else {
        return screen
            .child(el("p").tid("audit-summary").text("Loading…"))
            .maybe(error_box(ui));
    };
    let rows: Vec<El> = shown(s, ui.utc_offset_min)
        .into_iter()
        .map(|e| {
            let problem = finding(&e.verdict);
            let id = format!("audit-entry-{}-{}", e.device, e.seq);
            el("li")
                .class(if problem.is_some() {
                    "stack warn"
                } else {
                    "stack"
                })
                .tid(id.clone())
                .attr("data-kind", kind(&e.happened))
                .child(el("span").tid(format!("{id}-text")).text(sentence(
                    &s.view,
                    e,
                    ui.utc_offset_min,
                )))
                .child(el("span").class("hint").text(format!(
                    "{} · {} · #{}",
                    date_time(e.at_ms / 1000, ui.utc_offset_min),
                    e.device_name,
                    e.seq
                )))
                .maybe(problem.map(|p| {
                    el("strong")
                        .class("error")
                        .attr("role", "alert")
                        .tid(format!("{id}-problem"))
                        .text(p)
                }))
        })
        .collect();
    let empty = rows.is_empty();
    screen
        .child(
            el("p")
                .attr("role", "status")
                .tid("audit-summary")
                .text(summary(&s.view)),
        )
        .child(el("p").class("hint").tid("audit-about").text(about(here)))
        .maybe(error_box(ui))
        .maybe(notice_box(ui))
        .child(filters(s, here))
        .child(
            el("div")
                .class("row")
                .child(
                    el("button")
                        .attr("type", "button")
                        .class("btn")
                        .tid("audit-export-json")
                        .on(Action::Audit(AuditAction::Export("json".into())))
                        .text("Export JSON (signed)"),
                )
                .child(
                    el("button")
                        .attr("type", "button")
                        .class("btn")
                        .tid("audit-export-csv")
                        .on(Action::Audit(AuditAction::Export("csv".into())))
                        .text("Export CSV"),
                ),
        )
        .child(el("ul").class("list").tid("audit-list").children(rows))
        .maybe(empty.then(|| {
            el("p")
                .class("hint")
                .tid("audit-none")
                .text("No entries match these filters.")
        }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    /// A view in the worker's form (crates/wasm-device/src/audit.rs
    /// `auditView`), read through the same types the page uses.
    fn view() -> AuditView {
        serde_json::from_value(json!({
            "me": "aa",
            "entries": [
                {"device": "aa", "deviceName": "Chrome on Linux", "seq": 1, "atMs": 1_700_000_000_000u64,
                 "happened": {"kind": "unlock", "ok": false}, "verdict": {"status": "ok"}},
                {"device": "aa", "deviceName": "Chrome on Linux", "seq": 2, "atMs": 1_700_000_100_000u64,
                 "happened": {"kind": "sign", "site": "https://app.example", "method": "personal_sign",
                              "chain": 1, "summary": "message: hi", "approved": true, "approved_on": "bb"},
                 "verdict": {"status": "ok"}},
                {"device": "bb", "deviceName": "Phone", "seq": 4, "atMs": 1_700_090_000_000u64,
                 "happened": {"kind": "sign", "site": "https://evil.example", "method": "eth_sendTransaction",
                              "chain": 137, "summary": "send 1 POL to 0x1", "approved": false, "approved_on": null},
                 "verdict": {"status": "gap", "missing": 3}},
            ],
        }))
        .unwrap()
    }

    fn screen(filter: AuditFilter) -> AuditScreen {
        AuditScreen {
            view: view(),
            filter,
        }
    }

    #[test]
    fn entries_show_newest_first_with_their_problems_named() {
        let s = screen(AuditFilter::default());
        let seqs: Vec<u64> = shown(&s, 0).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [4, 2, 1]);
        assert_eq!(
            summary(&s.view),
            "3 entries; 1 has a problem (shown in red)."
        );
        let mut ui = Ui::new(crate::view::Page::Popup);
        ui.audit = Some(s);
        let page = audit_screen(&ui, Here::Browser);
        assert_eq!(
            page.find("audit-entry-bb-4-problem")
                .unwrap()
                .text_content(),
            "3 entries before this one are missing"
        );
        assert!(page.find("audit-entry-aa-2-problem").is_none());
        assert_eq!(
            page.find("audit-entry-aa-2-text").unwrap().text_content(),
            "Approved on Phone: https://app.example asked for personal_sign on chain 1: message: hi"
        );
        assert_eq!(
            page.find("audit-entry-aa-1-text").unwrap().text_content(),
            "Failed unlock: wrong password"
        );
    }

    #[test]
    fn the_screen_names_its_own_device_and_says_where_the_log_comes_from() {
        let mut ui = Ui::new(crate::view::Page::Popup);
        ui.audit = Some(screen(AuditFilter::default()));
        let options = |page: &El| -> Vec<String> {
            page.find("audit-filter-device")
                .unwrap()
                .children
                .iter()
                .filter_map(|n| match n {
                    crate::view::Node::El(e) => Some(e.text_content()),
                    crate::view::Node::Text(_) => None,
                })
                .collect()
        };
        let browser = audit_screen(&ui, Here::Browser);
        assert_eq!(
            options(&browser),
            ["All devices", "Chrome on Linux (this browser)", "Phone"]
        );
        assert!(browser
            .find("audit-about")
            .unwrap()
            .text_content()
            .contains("with sync"));
        let phone = audit_screen(&ui, Here::Phone);
        assert_eq!(
            options(&phone),
            ["All devices", "Chrome on Linux (this phone)", "Phone"]
        );
        let about = phone.find("audit-about").unwrap().text_content();
        assert!(about.contains("reach this phone"), "{about}");
        assert!(!phone.text_content().contains("browser"));
    }

    #[test]
    fn the_wallets_own_send_and_a_phones_answer_are_said_in_plain_words() {
        // The phone ("cc") wrote no entry: its name comes from the group.
        let v: AuditView = serde_json::from_value(json!({
            "me": "aa",
            "devices": [{"device": "aa", "name": "Chrome on Linux"}, {"device": "cc", "name": "Pixel 8"}],
            "entries": [
                {"device": "aa", "deviceName": "Chrome on Linux", "seq": 1, "atMs": 1_700_000_000_000u64,
                 "happened": {"kind": "sign", "site": "tandem:wallet", "method": "eth_sendTransaction",
                              "chain": 31337, "summary": "send 1 ETH to 0x1", "approved": true, "approved_on": "cc"},
                 "verdict": {"status": "ok"}},
                {"device": "aa", "deviceName": "Chrome on Linux", "seq": 2, "atMs": 1_700_000_100_000u64,
                 "happened": {"kind": "sign", "site": "https://app.example", "method": "personal_sign",
                              "chain": 1, "summary": "message: hi", "approved": false, "approved_on": "cc"},
                 "verdict": {"status": "ok"}},
            ],
        }))
        .unwrap();
        let said: Vec<String> = v.entries.iter().map(|e| sentence(&v, e, 0)).collect();
        assert_eq!(
            said,
            [
                "Approved on Pixel 8: your own send from Tandem on Chrome on Linux, on chain 31337: \
                 send 1 ETH to 0x1",
                "Rejected on Pixel 8: https://app.example asked for personal_sign on chain 1: message: hi",
            ]
        );
        assert!(!said[0].contains("tandem:wallet"));
    }

    #[test]
    fn filters_narrow_by_device_kind_site_and_day() {
        let f = |which: &'static str, v: &str| {
            let mut f = AuditFilter::default();
            f.set(which, v.into());
            shown(&screen(f), 0)
                .iter()
                .map(|e| e.seq)
                .collect::<Vec<_>>()
        };
        assert_eq!(f("device", "bb"), [4]);
        assert_eq!(f("kind", "unlock"), [1]);
        assert_eq!(f("site", " EVIL "), [4]);
        // 1_700_000_000 s is 2023-11-14 22:13 UTC; 1_700_090_000 is 2023-11-15.
        assert_eq!(f("since", "2023-11-15"), [4]);
        assert_eq!(f("since", "2023-11-14"), [4, 2, 1]);
        assert_eq!(f("since", "not a date"), [4, 2, 1]);
        // At UTC+2 the first two were on the 15th already.
        let mut since = AuditFilter::default();
        since.set("since", "2023-11-15".into());
        assert_eq!(shown(&screen(since), 120).len(), 3);
        assert_eq!(day_number("1970-01-01"), Some(0));
        assert_eq!(day_number("2000-03-01"), Some(11_017));
    }

    #[test]
    fn actions_parse_and_unknown_exports_are_refused() {
        assert_eq!(
            parse("audit-filter-kind", "sign"),
            Some(AuditAction::Filter("kind", "sign".into()))
        );
        assert_eq!(
            parse("audit-export", "csv"),
            Some(AuditAction::Export("csv".into()))
        );
        assert_eq!(parse("audit-export", "xml"), None);
        assert_eq!(parse("nope", ""), None);
    }
}
