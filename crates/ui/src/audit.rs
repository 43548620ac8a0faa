//! Settings → Activity log: the signed, hash-chained audit log of every
//! device of the wallet, newest first, each entry with what reading it
//! found (an altered, removed, moved or forged entry is shown as such, in
//! red, never hidden), filters by device, kind, site, date and problem, and
//! the exports (JSON with the signatures and every device's public key; CSV).
//! A log of months holds thousands of entries: the list shows the newest
//! [`PAGE`] the filters let through and more on request, while the filters,
//! the counts and the problems summary always cover the whole log (drawing
//! every row made the screen take seconds to show at 1,200 entries).
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
    /// Only the entries in which reading found a problem.
    pub problems: bool,
    /// Pages of older entries asked for under the newest [`PAGE`].
    pub older: usize,
}

/// Entries listed at first, and added by each "Show older".
pub const PAGE: usize = 100;

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
    /// A filter changed: which one and its new value (`older`: one more
    /// page of older entries; the phone app applies these as they come, so
    /// paging travels as a filter too).
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
        "audit-filter-problems" => filter("problems"),
        "audit-older" => filter("older"),
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
                "problems" => "audit-filter-problems",
                "older" => "audit-older",
                _ => "audit-filter-since",
            },
            Some(v.clone()),
        ),
        AuditAction::Export(f) => ("audit-export", Some(f.clone())),
    }
}

impl AuditFilter {
    /// Sets the filter `which` to `value`; `older` lists one more page.
    /// Any other change lists the newest page again (what matches changed,
    /// so the older pages asked for before mean nothing).
    pub fn set(&mut self, which: &str, value: String) {
        if which == "older" {
            self.older = self.older.saturating_add(1);
            return;
        }
        self.older = 0;
        match which {
            "device" => self.device = value,
            "kind" => self.kind = value,
            "site" => self.site = value.trim().to_owned(),
            "problems" => self.problems = value == "on",
            _ => self.since = value,
        }
    }

    /// How many entries the list holds at most.
    pub fn limit(&self) -> usize {
        PAGE.saturating_mul(self.older.saturating_add(1))
    }
}

/// The filter kinds, with their labels.
pub const KINDS: [(&str, &str); 9] = [
    ("sign", "Signatures and transactions"),
    ("unlock", "Unlocks"),
    ("paired", "Pairings"),
    ("revoked", "Removed devices"),
    ("token", "Session tokens"),
    ("sync_category", "Sync settings"),
    ("restored", "Restores"),
    ("backup_moved", "Backup cut-offs"),
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
        Happened::BackupMoved { .. } => "backup_moved",
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
        .filter(|e| !f.problems || e.verdict != Verdict::Ok)
        .collect();
    out.sort_by(|a, b| b.at_ms.cmp(&a.at_ms).then(b.seq.cmp(&a.seq)));
    out
}

/// What the list shows: the newest entries of those the filters let
/// through, as many pages as asked for, and what it leaves out.
#[derive(Debug)]
pub struct Listed<'a> {
    /// The entries listed, newest first.
    pub rows: Vec<&'a AuditEntry>,
    /// How many the filters let through (listed or not).
    pub matching: usize,
    /// How many of those are on an older page.
    pub older: usize,
    /// How many the filters hold back.
    pub filtered_out: usize,
}

/// The entries the list shows (see [`Listed`]).
pub fn listed(s: &AuditScreen, utc_offset_min: i32) -> Listed<'_> {
    let mut rows = shown(s, utc_offset_min);
    let matching = rows.len();
    rows.truncate(s.filter.limit());
    Listed {
        older: matching - rows.len(),
        filtered_out: s.view.entries.len() - matching,
        matching,
        rows,
    }
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
        } if action == "expired" => format!(
            "Session token of {} expired on {}: it must pair again",
            device_name(v, device),
            date_time(*expires_at, utc_offset_min)
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
        Happened::BackupMoved { here: true, .. } => {
            "Cut off the devices outside this group from the backup (it moved to a new key)".into()
        }
        Happened::BackupMoved { here: false, .. } => {
            "Cut off from the backup by a browser outside this group that restored the wallet"
                .into()
        }
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

/// How many entries of the whole log have a problem.
pub fn problems(v: &AuditView) -> usize {
    v.entries
        .iter()
        .filter(|e| e.verdict != Verdict::Ok)
        .count()
}

/// The line under the title: how many entries in the whole log, how many
/// with a problem, and whether the list below shows all of those (`listed`:
/// how many entries with a problem it shows). A problem on an older page or
/// held back by a filter is still said here.
pub fn summary(v: &AuditView, listed: usize) -> String {
    let (n, bad) = (v.entries.len(), problems(v));
    if n == 0 {
        return "Nothing recorded yet.".into();
    }
    if bad == 0 {
        return format!("{n} entries, all signed and in order.");
    }
    let has = if bad == 1 { "has" } else { "have" };
    let place = match bad.saturating_sub(listed) {
        0 => "shown in red".into(),
        1 if bad == 1 => "not in the list below".into(),
        u if u == bad => "none of them in the list below".into(),
        u => format!("shown in red; {u} of them not in the list below"),
    };
    format!("{n} entries; {bad} {has} a problem ({place}).")
}

/// The button that lists only the entries with a problem, or everything
/// again (none when the log has no problem and the filter is off).
fn problems_button(s: &AuditScreen) -> Option<El> {
    let (value, text) = match (s.filter.problems, problems(&s.view)) {
        (true, _) => ("", "List the entries without a problem too"),
        (false, 0) => return None,
        (false, _) => ("on", "Show only the entries with a problem"),
    };
    Some(
        el("button")
            .attr("type", "button")
            .class("btn link")
            .tid("audit-filter-problems")
            .on(Action::Audit(AuditAction::Filter("problems", value.into())))
            .text(text),
    )
}

/// Under the list: what paging and the filters leave out, and the button
/// that lists older entries.
fn paging(l: &Listed<'_>) -> Vec<El> {
    if l.older == 0 && l.filtered_out == 0 {
        return Vec::new();
    }
    let said = format!(
        "Listed: the newest {} of {} entries; {} older not listed yet, {} held back by the filters.",
        l.rows.len(),
        l.matching + l.filtered_out,
        l.older,
        l.filtered_out
    );
    let more = l.older.min(PAGE);
    let mut out = vec![el("p").class("hint").tid("audit-paging").text(said)];
    if more > 0 {
        out.push(
            el("button")
                .attr("type", "button")
                .class("btn")
                .tid("audit-older")
                .on(Action::Audit(AuditAction::Filter("older", String::new())))
                .text(format!(
                    "Show {more} older {}",
                    if more == 1 { "entry" } else { "entries" }
                )),
        );
    }
    out
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
    let list = listed(s, ui.utc_offset_min);
    let bad_listed = list
        .rows
        .iter()
        .filter(|e| e.verdict != Verdict::Ok)
        .count();
    let rows: Vec<El> = list
        .rows
        .iter()
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
                .text(summary(&s.view, bad_listed)),
        )
        .maybe(problems_button(s))
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
        .children(paging(&list))
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
            summary(&s.view, 1),
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
    fn session_tokens_say_issued_refreshed_or_expired_in_words() {
        let v = view();
        let token = |action: &str| Happened::Token {
            device: "bb".into(),
            action: action.into(),
            expires_at: 1_700_000_000,
        };
        assert_eq!(
            happened(&v, &token("issued"), 0),
            "Session token of Phone issued; it expires 14 Nov 2023, 22:13"
        );
        assert_eq!(
            happened(&v, &token("expired"), 0),
            "Session token of Phone expired on 14 Nov 2023, 22:13: it must pair again"
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

    /// A log of `n` entries of one device, a minute apart (`seq` 1 the
    /// oldest): unlocks, except every tenth a signature for `app{seq}`;
    /// the entries `bad` have a gap before them.
    fn long_screen(n: u64, bad: &[u64]) -> AuditScreen {
        let entries = (1..=n)
            .map(|seq| AuditEntry {
                device: "aa".into(),
                device_name: "Chrome on Linux".into(),
                seq,
                at_ms: 1_700_000_000_000 + seq * 60_000,
                happened: if seq % 10 == 0 {
                    Happened::Sign {
                        site: format!("https://app{seq}.example"),
                        method: "personal_sign".into(),
                        chain: 1,
                        summary: "message: hi".into(),
                        approved: true,
                        approved_on: None,
                    }
                } else {
                    Happened::Unlock { ok: true }
                },
                verdict: if bad.contains(&seq) {
                    Verdict::Gap { missing: 1 }
                } else {
                    Verdict::Ok
                },
            })
            .collect();
        AuditScreen {
            view: AuditView {
                me: "aa".into(),
                entries,
                devices: Vec::new(),
            },
            filter: AuditFilter::default(),
        }
    }

    fn page(s: &AuditScreen) -> El {
        let mut ui = Ui::new(crate::view::Page::Popup);
        ui.audit = Some(s.clone());
        audit_screen(&ui, Here::Browser)
    }

    fn listed_seqs(page: &El) -> Vec<u64> {
        page.find("audit-list")
            .unwrap()
            .children
            .iter()
            .filter_map(|n| match n {
                crate::view::Node::El(e) => e.get("data-testid")?.rsplit('-').next()?.parse().ok(),
                crate::view::Node::Text(_) => None,
            })
            .collect()
    }

    /// Presses a button of the page as the page's glue does: its
    /// `data-action` and `data-arg` parsed back into the action it applies.
    fn press(s: &mut AuditScreen, page: &El, testid: &str) {
        let b = page.find(testid).unwrap();
        let action = b.get("data-action").unwrap();
        match parse(action, b.get("data-arg").unwrap_or("")).unwrap() {
            AuditAction::Filter(which, v) => s.filter.set(which, v),
            AuditAction::Export(_) => panic!("{testid} exports"),
        }
    }

    /// Asserts what the element `testid` of `page` says.
    #[track_caller]
    fn says(page: &El, testid: &str, text: &str) {
        assert_eq!(page.find(testid).unwrap().text_content(), text, "{testid}");
    }

    #[test]
    fn a_long_log_lists_the_newest_page_and_older_ones_on_request() {
        let mut s = long_screen(250, &[]);
        let p = page(&s);
        let seqs = listed_seqs(&p);
        assert_eq!(seqs, (151..=250).rev().collect::<Vec<_>>());
        says(&p, "audit-summary", "250 entries, all signed and in order.");
        says(&p, "audit-paging", "Listed: the newest 100 of 250 entries; 150 older not listed yet, 0 held back by the filters.");
        says(&p, "audit-older", "Show 100 older entries");
        press(&mut s, &p, "audit-older");
        let p = page(&s);
        assert_eq!(listed_seqs(&p), (51..=250).rev().collect::<Vec<_>>());
        says(&p, "audit-older", "Show 50 older entries");
        press(&mut s, &p, "audit-older");
        let p = page(&s);
        assert_eq!(listed_seqs(&p).len(), 250);
        assert!(p.find("audit-older").is_none());
        assert!(p.find("audit-paging").is_none());
        // A short log has no paging at all.
        assert!(page(&long_screen(100, &[])).find("audit-older").is_none());
    }

    #[test]
    fn filters_find_matches_in_the_whole_log_and_say_what_they_hold_back() {
        let mut s = long_screen(1_200, &[]);
        // The oldest signature (seq 10) is 1,190 entries down the log.
        s.filter.set("site", "app10.".into());
        let p = page(&s);
        assert_eq!(listed_seqs(&p), [10]);
        says(&p, "audit-paging", "Listed: the newest 1 of 1200 entries; 0 older not listed yet, 1199 held back by the filters.");
        s.filter.set("site", String::new());
        s.filter.set("kind", "sign".into());
        let p = page(&s);
        assert_eq!(
            listed_seqs(&p),
            (21..=120).rev().map(|i| i * 10).collect::<Vec<_>>()
        );
        says(
            &p,
            "audit-paging",
            "Listed: the newest 100 of 1200 entries; 20 older not listed yet, \
             1080 held back by the filters.",
        );
        press(&mut s, &p, "audit-older");
        assert_eq!(listed_seqs(&page(&s)).len(), 120);
        // Another filter lists the newest page again.
        s.filter.set("device", "aa".into());
        assert_eq!(s.filter.older, 0);
        assert_eq!(listed_seqs(&page(&s)).len(), 100);
    }

    #[test]
    fn problems_on_older_pages_are_said_at_the_top_and_can_be_listed_alone() {
        // Two problems: one in the newest page, one far down the log.
        let mut s = long_screen(1_200, &[7, 1_150]);
        let p = page(&s);
        says(
            &p,
            "audit-summary",
            "1200 entries; 2 have a problem (shown in red; 1 of them not in the list below).",
        );
        assert!(p.find("audit-entry-aa-1150-problem").is_some());
        assert!(p.find("audit-entry-aa-7").is_none());
        says(
            &p,
            "audit-filter-problems",
            "Show only the entries with a problem",
        );
        press(&mut s, &p, "audit-filter-problems");
        let p = page(&s);
        assert_eq!(listed_seqs(&p), [1_150, 7]);
        says(
            &p,
            "audit-summary",
            "1200 entries; 2 have a problem (shown in red).",
        );
        assert_eq!(
            p.find("audit-entry-aa-7-problem").unwrap().text_content(),
            "1 entry before this one is missing"
        );
        press(&mut s, &p, "audit-filter-problems");
        assert!(!s.filter.problems);
        assert_eq!(listed_seqs(&page(&s)).len(), 100);
        // Only old problems: the summary says none of them is listed.
        let p = page(&long_screen(1_200, &[3]));
        says(
            &p,
            "audit-summary",
            "1200 entries; 1 has a problem (not in the list below).",
        );
        says(
            &p,
            "audit-filter-problems",
            "Show only the entries with a problem",
        );
        // A filter that hides them is no place to hide them either.
        let mut s = long_screen(50, &[3, 4]);
        s.filter.set("kind", "sign".into());
        says(
            &page(&s),
            "audit-summary",
            "50 entries; 2 have a problem (none of them in the list below).",
        );
        // Nothing matches: the list is empty and says so, and why.
        s.filter.set("site", "nowhere".into());
        let p = page(&s);
        assert!(p.find("audit-none").is_some());
        says(&p, "audit-paging", "Listed: the newest 0 of 50 entries; 0 older not listed yet, 50 held back by the filters.");
        // No problem, no button.
        assert!(page(&long_screen(50, &[]))
            .find("audit-filter-problems")
            .is_none());
    }

    #[test]
    fn an_entry_moved_in_its_chain_is_shown_out_of_order_in_red() {
        use tandem_pair::IdentityKey;
        use tandem_sync::audit::Log;
        let desk = IdentityKey::from_seed(&[1; 32]);
        let phone = IdentityKey::from_seed(&[2; 32]);
        let mut written = Log::default();
        for i in 0..3 {
            written.append(
                &desk,
                Happened::Unlock { ok: i != 1 },
                1_700_000_000_000 + i * 60_000,
            );
        }
        // The phone's copy, its second and third entries swapped where it
        // is stored (what someone with the storage could do).
        let mut stored = serde_json::to_value(&written).unwrap();
        stored["chains"][desk.device_id().to_hex()]
            .as_array_mut()
            .unwrap()
            .swap(1, 2);
        let held: Log = serde_json::from_value(stored).unwrap();
        let keys = [&desk, &phone];
        let checked = held.verify(phone.device_id(), |d| {
            keys.iter()
                .find(|k| k.device_id() == *d)
                .map(|k| k.public())
        });
        // As the worker's `auditView` sends it.
        let view = AuditView {
            me: phone.device_id().to_hex(),
            entries: checked
                .iter()
                .map(|c| AuditEntry {
                    device: c.entry.device.to_hex(),
                    device_name: "Chrome on Linux".into(),
                    seq: c.entry.seq,
                    at_ms: c.entry.at_ms,
                    happened: c.entry.happened.clone(),
                    verdict: c.verdict.clone(),
                })
                .collect(),
            devices: Vec::new(),
        };
        let p = page(&AuditScreen {
            view,
            filter: AuditFilter::default(),
        });
        let id = |seq: u64| format!("audit-entry-{}-{seq}", desk.device_id().to_hex());
        says(
            &p,
            &format!("{}-problem", id(2)),
            "Out of order: this entry was moved",
        );
        assert_eq!(p.find(&id(2)).unwrap().get("class"), Some("stack warn"));
        says(
            &p,
            &format!("{}-problem", id(3)),
            "1 entry before this one is missing",
        );
        assert!(p.find(&format!("{}-problem", id(1))).is_none());
        says(
            &p,
            "audit-summary",
            "3 entries; 2 have a problem (shown in red).",
        );
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
