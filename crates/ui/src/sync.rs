//! Settings → Sync: which categories sync (each with a plain sentence of
//! what it carries), the status line, the notices of safety-relevant
//! changes made on another device (naming it), and the address book that
//! syncs. Data: the worker's `tandem_sync::view::SyncView`.

use crate::devices::Here;
use crate::format::relative_time;
use crate::view::{
    back_bar, el, error_box, form, input, notice_box, primary, Action, El, Screen, Ui,
};
use crate::{form_err, Result};
use serde_json::{json, Value};
use tandem_sync::view::{NoticeView, SyncView};
use tandem_sync::{Category, Value as Record};

/// What the user can do on the Sync screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncAction {
    /// Turn a category on or off (its wire name).
    Toggle(String),
    /// Save the address book form.
    AddContact,
    /// Remove an address book entry (its address).
    RemoveContact(String),
    /// Clear the notices.
    Dismiss,
    /// Something about the backup (`crate::backup`).
    Backup(crate::backup::BackupAction),
}

/// Reads a Sync screen `data-action`.
pub fn parse(action: &str, arg: &str) -> Option<SyncAction> {
    Some(match action {
        "sync-toggle" => SyncAction::Toggle(arg.to_owned()),
        "sync-contact-add" => SyncAction::AddContact,
        "sync-contact-remove" => SyncAction::RemoveContact(arg.to_owned()),
        "sync-dismiss" => SyncAction::Dismiss,
        _ => return crate::backup::parse(action).map(SyncAction::Backup),
    })
}

/// The `data-action`/`data-arg` that [`parse`] reads back as `a`.
pub fn encode(a: &SyncAction) -> (&'static str, Option<String>) {
    match a {
        SyncAction::Toggle(c) => ("sync-toggle", Some(c.clone())),
        SyncAction::AddContact => ("sync-contact-add", None),
        SyncAction::RemoveContact(x) => ("sync-contact-remove", Some(x.clone())),
        SyncAction::Dismiss => ("sync-dismiss", None),
        SyncAction::Backup(b) => (crate::backup::encode(*b), None),
    }
}

/// A category's wire name (`address_book`), as its test ids use it.
pub fn key(c: Category) -> String {
    serde_json::to_value(c)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// What a category carries, in one plain sentence.
pub fn about(c: Category) -> &'static str {
    match c {
        Category::Accounts => "The names you give your accounts and their order.",
        Category::Tokens => "The tokens you added or hid, per network.",
        Category::Balances => "The last balances read, with the time they were read.",
        Category::Activity => "Your own transactions: hash, network, status and summary.",
        Category::AddressBook => "The addresses you saved, with their names and notes.",
        Category::Networks => "The networks you added, with their RPC addresses.",
        Category::Sites => {
            "Which sites you connected on which device (a site gets no permission on another device until you connect it there)."
        }
    }
}

/// The line under the title: `Synced 2 min ago`, `3 changes waiting`,
/// `Offline`.
pub fn status_line(v: &SyncView, now_ms: f64) -> String {
    let waiting = v.to_send + v.held;
    let changes = |n: usize| {
        if n == 1 {
            "1 change waiting".to_owned()
        } else {
            format!("{n} changes waiting")
        }
    };
    if v.categories.iter().all(|c| !c.on) {
        return "Sync is off: nothing leaves this browser.".into();
    }
    if !v.online {
        return if waiting > 0 {
            format!("Offline: {}", changes(waiting))
        } else {
            "Offline".into()
        };
    }
    if waiting > 0 {
        return changes(waiting);
    }
    if v.unsaved > 0 {
        return "Saving to the relay…".into();
    }
    match v.synced_at {
        Some(t) => format!("Synced {}", relative_time(t as f64, now_ms)),
        None => "Not synced yet".into(),
    }
}

/// Home's sync line, where something syncs: the status line, with the
/// changes from another device that are waiting to be read (`Synced 2 min
/// ago · 1 change from another device to read`); it opens Settings → Sync.
/// Nothing while nothing syncs or the state is not read yet.
pub fn home_line(ui: &Ui) -> Option<El> {
    let v = ui
        .sync
        .as_ref()
        .filter(|v| v.categories.iter().any(|c| c.on))?;
    let mut text = status_line(v, ui.now_ms);
    match v.notices.len() {
        0 => {}
        1 => text.push_str(" · 1 change from another device to read"),
        n => text.push_str(&format!(" · {n} changes from other devices to read")),
    }
    Some(
        el("button")
            .attr("type", "button")
            .class(if v.notices.is_empty() {
                "pair-line sync-line"
            } else {
                "pair-line sync-line warn"
            })
            .tid("home-sync-line")
            .on(Action::Open(Screen::Sync))
            .child(el("span").class("grow").text(text)),
    )
}

/// A notice as one sentence, naming the device.
pub fn notice_text(n: &NoticeView) -> String {
    n.sentence()
}

/// Address-book rows listed at first, and added by each "Show more": the
/// audit log's page size (one size to learn). A restore can bring back
/// thousands of entries; drawing them all made the popup wait about 1 s per
/// 1,000 rows after every sync update (docs/benchmarks.md, restore), while
/// 100 rows draw in about a tenth of that and fill some ten screens.
pub const PAGE: usize = 100;

/// The address book as the Sync screen lists it: how many entries there
/// are, and the first `shown` of them (the pages asked for).
#[derive(Debug)]
pub struct Contacts<'a> {
    /// Every entry (the worker's order: by address).
    pub total: usize,
    /// The entries listed.
    pub rows: Vec<(&'a tandem_sync::view::RecordView, &'a tandem_sync::Contact)>,
}

/// The address book's entries listed with `more` pages asked for after the
/// first (`None`: all of them).
pub fn contacts(v: &SyncView, more: Option<usize>) -> Contacts<'_> {
    let all = v
        .records
        .iter()
        .filter(|r| r.category == Category::AddressBook)
        .filter_map(|r| match &r.value {
            Record::Contact(c) => Some((r, c)),
            _ => None,
        });
    let limit = more.map_or(usize::MAX, shown);
    let mut listed = 0;
    let mut rows = Vec::new();
    for row in all {
        listed += 1;
        if rows.len() < limit {
            rows.push(row);
        }
    }
    // The worker sends the first pages only, and the count of all.
    let total = v
        .totals
        .get(&Category::AddressBook)
        .copied()
        .unwrap_or(0)
        .max(listed);
    Contacts { total, rows }
}

/// The records the Sync screen asks the worker for with `more` pages asked
/// for after the first (`sync.view`'s `limit`).
pub fn shown(more: usize) -> usize {
    PAGE.saturating_mul(more.saturating_add(1))
}

/// The line above the list: how many entries, and how many are listed.
pub fn contacts_count(c: &Contacts<'_>) -> String {
    let n = match c.total {
        0 => return "No addresses saved yet.".into(),
        1 => "1 address".to_owned(),
        n => format!("{n} addresses"),
    };
    if c.rows.is_empty() {
        // Drawn from Home's counts-only view until the screen's own answer.
        format!("{n}; loading the list…")
    } else if c.rows.len() < c.total {
        format!("{n}; the first {} listed.", c.rows.len())
    } else {
        format!("{n}.")
    }
}

fn contact_row(r: &tandem_sync::view::RecordView, c: &tandem_sync::Contact) -> El {
    let from = if r.mine {
        String::new()
    } else {
        format!(" (from {})", r.from)
    };
    el("li")
        .class("row")
        .tid(format!("sync-contact-{}", r.id))
        .child(
            el("span")
                .class("grow")
                .text(format!("{}: {}{from}", c.name, r.id)),
        )
        .child(
            el("button")
                .attr("type", "button")
                .class("btn")
                .tid(format!("sync-contact-remove-{}", r.id))
                .on(Action::Sync(SyncAction::RemoveContact(r.id.clone())))
                .text("Remove"),
        )
}

/// The address book: its count, the rows listed and, while some are not,
/// "Show N more". Paged in the extension (`more`: the pages asked for);
/// the phone app lists every entry (`None`: its taps are its own, and it
/// has no "Show more" yet).
fn address_book(v: &SyncView, more: Option<usize>) -> Vec<El> {
    let c = contacts(v, more);
    let left = c.total - c.rows.len();
    let more = (left > 0).then(|| {
        el("button")
            .attr("type", "button")
            .class("btn")
            .tid("sync-contacts-more")
            .on(Action::SyncMore)
            .text(format!("Show {} more", left.min(PAGE)))
    });
    let mut out = vec![
        el("h2").text("Address book"),
        el("p")
            .class("hint")
            .tid("sync-contacts-count")
            .text(contacts_count(&c)),
        el("ul")
            .class("list")
            .tid("sync-contacts")
            .children(c.rows.iter().map(|(r, contact)| contact_row(r, contact))),
    ];
    out.extend(more);
    out
}

/// What the screen says under its status: what a switch does, and what
/// never syncs. A phone keeps no wallet records of its own (its computers
/// do), so there a switch is said to act for the whole group.
fn intro(here: Here) -> &'static str {
    match here {
        Here::Browser => {
            "What you turn on here is shared with your other devices, end-to-end encrypted: \
             the relay sees only ciphertext. Keys, recovery phrases, passwords and session \
             keys never sync."
        }
        Here::Phone => {
            "A switch here turns that category on or off on all your devices: your \
             computers share it, end-to-end encrypted (the relay sees only ciphertext), and \
             this phone shows the address book. Keys, recovery phrases, passwords and session \
             keys never sync."
        }
    }
}

/// The Sync screen of the extension (Settings → Sync).
pub fn sync_screen(ui: &Ui) -> El {
    let status = ui.sync.as_ref().map(|v| status_line(v, ui.now_ms));
    sync_screen_at(ui, Here::Browser, status)
}

/// The Sync screen where it is shown, with its status line (the phone's
/// counts its Activity log too).
pub fn sync_screen_at(ui: &Ui, here: Here, status: Option<String>) -> El {
    let screen = el("div")
        .class("stack screen")
        .tid("sync-screen")
        .child(back_bar("Sync"));
    let Some(v) = &ui.sync else {
        return screen
            .child(el("p").tid("sync-status").text("Loading…"))
            .maybe(error_box(ui));
    };
    let categories = v.categories.iter().map(|c| {
        let k = key(c.category);
        el("div")
            .class("stack")
            .tid(format!("sync-category-{k}"))
            .child(
                el("div")
                    .class("row")
                    .child(
                        el("span")
                            .class("grow")
                            .attr("id", format!("sync-label-{k}"))
                            .text(c.category.label()),
                    )
                    .child(
                        el("button")
                            .attr("type", "button")
                            .class(if c.on { "btn primary" } else { "btn" })
                            .attr("role", "switch")
                            .attr("aria-checked", if c.on { "true" } else { "false" })
                            .attr("aria-describedby", format!("sync-label-{k}"))
                            .tid(format!("sync-toggle-{k}"))
                            .on(Action::Sync(SyncAction::Toggle(k.clone())))
                            .text(if c.on { "On" } else { "Off" }),
                    ),
            )
            .child(
                el("p")
                    .class("hint")
                    .tid(format!("sync-about-{k}"))
                    .text(about(c.category)),
            )
    });
    let notices: Vec<El> = v
        .notices
        .iter()
        .enumerate()
        .map(|(i, n)| {
            el("li")
                .class("warn")
                .tid(format!("sync-notice-{i}"))
                .text(notice_text(n))
        })
        .collect();
    let notices = (!notices.is_empty()).then(|| {
        el("div")
            .class("stack")
            .tid("sync-notices")
            .child(el("h2").text("Changed on another device"))
            .child(el("ul").children(notices))
            .child(
                el("button")
                    .attr("type", "button")
                    .class("btn")
                    .tid("sync-dismiss")
                    .on(Action::Sync(SyncAction::Dismiss))
                    .text("Dismiss"),
            )
    });
    let backup = v.backup.as_ref();
    screen
        .maybe(
            backup
                .and_then(|b| b.found.as_ref())
                .map(|f| crate::backup::offer(f, ui.now_ms)),
        )
        .child(
            el("p")
                .attr("role", "status")
                .tid("sync-status")
                .text(status.unwrap_or_else(|| status_line(v, ui.now_ms))),
        )
        .child(el("p").class("hint").tid("sync-never").text(intro(here)))
        .maybe(notices)
        .maybe(error_box(ui))
        .maybe(notice_box(ui))
        .children(categories)
        .maybe(backup.map(|b| crate::backup::section(b, ui.now_ms)))
        .children(address_book(
            v,
            (here == Here::Browser).then_some(ui.sync_more),
        ))
        .child(
            form(Action::Sync(SyncAction::AddContact), "sync-contact-form")
                .child(input("sync-contact-address", "text", "Address"))
                .child(input("sync-contact-name", "text", "Name"))
                .child(primary("Save address", "sync-contact-add")),
        )
}

/// The worker request for a category switch.
pub fn toggle_edit(v: &SyncView, category: &str) -> Result<Value> {
    let c = v
        .categories
        .iter()
        .find(|c| key(c.category) == category)
        .ok_or_else(|| form_err(format!("{category} is not a sync category")))?;
    Ok(json!({
        "field": { "enabled": { "category": c.category } },
        "value": { "enabled": !c.on },
    }))
}

/// The worker request for a new address book entry, from the form.
pub fn contact_edit(address: &str, name: &str) -> Result<Value> {
    let address = crate::validate::address(address)?.to_ascii_lowercase();
    let name = name.trim();
    if name.is_empty() {
        return Err(form_err("give the address a name"));
    }
    if name.chars().count() > tandem_sync::MAX_TEXT {
        return Err(form_err(format!(
            "a name is at most {} characters",
            tandem_sync::MAX_TEXT
        )));
    }
    Ok(json!({
        "field": { "record": { "category": "address_book", "id": address } },
        "value": { "contact": { "name": name, "note": "" } },
    }))
}

/// The worker request that removes an address book entry.
pub fn contact_removal(address: &str) -> Value {
    json!({
        "field": { "record": { "category": "address_book", "id": address } },
        "value": null,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tandem_sync::view::{CategoryView, RecordView};
    use tandem_sync::Contact;

    fn view(on: bool) -> SyncView {
        SyncView {
            online: true,
            categories: Category::ALL
                .into_iter()
                .map(|category| CategoryView {
                    category,
                    on: on && category == Category::AddressBook,
                })
                .collect(),
            to_send: 0,
            held: 0,
            unsaved: 0,
            synced_at: Some(1_000),
            log_waiting: 0,
            records: vec![RecordView {
                category: Category::AddressBook,
                id: format!("0x{}", "ab".repeat(20)),
                value: Record::Contact(Contact {
                    name: "Alice".into(),
                    note: String::new(),
                }),
                from: "CLI laptop".into(),
                mine: false,
            }],
            notices: vec![NoticeView {
                category: Category::AddressBook,
                id: format!("0x{}", "ab".repeat(20)),
                change: "added".into(),
                from: "CLI laptop".into(),
                at: 1_000,
            }],
            totals: [(Category::AddressBook, 1)].into_iter().collect(),
            backup: None,
        }
    }

    #[test]
    fn the_status_line_says_synced_waiting_or_offline() {
        let mut v = view(true);
        assert_eq!(status_line(&v, 61_000.0), "Synced 1 min ago");
        v.to_send = 3;
        assert_eq!(status_line(&v, 61_000.0), "3 changes waiting");
        v.online = false;
        assert_eq!(status_line(&v, 61_000.0), "Offline: 3 changes waiting");
        v.to_send = 0;
        assert_eq!(status_line(&v, 61_000.0), "Offline");
        v.online = true;
        v.unsaved = 2;
        assert_eq!(status_line(&v, 61_000.0), "Saving to the relay…");
        assert!(status_line(&view(false), 0.0).starts_with("Sync is off"));
    }

    #[test]
    fn home_shows_the_status_and_the_changes_to_read_only_where_something_syncs() {
        let mut ui = Ui::new(crate::view::Page::Popup);
        ui.now_ms = 61_000.0;
        assert!(home_line(&ui).is_none(), "not read yet");
        ui.sync = Some(view(false));
        assert!(home_line(&ui).is_none(), "nothing syncs");
        ui.sync = Some(view(true));
        let line = home_line(&ui).unwrap();
        assert_eq!(
            line.text_content(),
            "Synced 1 min ago · 1 change from another device to read"
        );
        assert!(line.get("class").unwrap().contains("warn"));
        let mut v = view(true);
        v.notices.clear();
        v.online = false;
        v.to_send = 2;
        ui.sync = Some(v);
        let line = home_line(&ui).unwrap();
        assert_eq!(line.text_content(), "Offline: 2 changes waiting");
        assert!(!line.get("class").unwrap().contains("warn"));
    }

    #[test]
    fn the_screen_names_each_category_the_device_and_what_never_syncs() {
        let mut ui = Ui::new(crate::view::Page::Popup);
        ui.sync = Some(view(true));
        let s = sync_screen(&ui);
        for c in Category::ALL {
            let k = key(c);
            assert!(s.find(&format!("sync-toggle-{k}")).is_some(), "{k}");
            assert_eq!(
                s.find(&format!("sync-about-{k}")).unwrap().text_content(),
                about(c)
            );
        }
        assert_eq!(
            s.find("sync-toggle-address_book").unwrap().text_content(),
            "On"
        );
        // On a phone: the switches act for the group, and its own status.
        let phone = sync_screen_at(&ui, Here::Phone, Some("Synced just now".into()));
        let said = phone.find("sync-never").unwrap().text_content();
        assert!(said.contains("on all your devices"), "{said}");
        assert!(!phone.text_content().contains("browser"));
        assert_eq!(
            phone.find("sync-status").unwrap().text_content(),
            "Synced just now"
        );
        assert!(phone.find("sync-toggle-networks").is_some());
        assert!(s
            .find("sync-never")
            .unwrap()
            .text_content()
            .contains("Keys, recovery phrases, passwords and session keys never sync"));
        let n = s.find("sync-notice-0").unwrap().text_content();
        assert!(n.contains("added on CLI laptop"), "{n}");
        let row = format!("sync-contact-0x{}", "ab".repeat(20));
        assert!(s.find(&row).unwrap().text_content().contains("Alice"));
        assert!(s
            .find(&row)
            .unwrap()
            .text_content()
            .contains("from CLI laptop"));
    }

    /// `n` address book entries from the CLI device, and one account name.
    fn book(n: usize) -> SyncView {
        let mut v = view(true);
        v.records = (0..n)
            .map(|i| RecordView {
                category: Category::AddressBook,
                id: format!("0x{i:040x}"),
                value: Record::Contact(Contact {
                    name: format!("Contact {i}"),
                    note: String::new(),
                }),
                from: "CLI laptop".into(),
                mine: false,
            })
            .collect();
        v.records.insert(
            0,
            RecordView {
                category: Category::Accounts,
                id: format!("0x{}", "cd".repeat(20)),
                value: Record::Account(tandem_sync::Account {
                    name: "Main".into(),
                    order: 0,
                    hidden: false,
                }),
                from: "this device".into(),
                mine: true,
            },
        );
        v.totals = [(Category::AddressBook, n), (Category::Accounts, 1)]
            .into_iter()
            .collect();
        v
    }

    /// The worker's answer to `sync.view` with `limit`: the first `limit`
    /// records of `book(n)`'s address book, and the count of all.
    fn book_sent(n: usize, limit: usize) -> SyncView {
        let mut v = book(n);
        let mut kept = 0;
        v.records.retain(|r| {
            r.category != Category::AddressBook || {
                kept += 1;
                kept <= limit
            }
        });
        v
    }

    fn rows(s: &El) -> Vec<String> {
        s.find("sync-contacts")
            .unwrap()
            .children
            .iter()
            .filter_map(|c| match c {
                crate::view::Node::El(e) => e.get("data-testid").map(str::to_owned),
                crate::view::Node::Text(_) => None,
            })
            .collect()
    }

    #[test]
    fn the_count_is_the_workers_when_it_sent_the_first_pages_only() {
        let mut ui = Ui::new(crate::view::Page::Popup);
        ui.sync = Some(book_sent(1000, shown(0)));
        let s = sync_screen(&ui);
        assert_eq!(rows(&s).len(), PAGE);
        assert_eq!(
            s.find("sync-contacts-count").unwrap().text_content(),
            "1000 addresses; the first 100 listed."
        );
        assert_eq!(
            s.find("sync-contacts-more").unwrap().text_content(),
            "Show 100 more"
        );
        // "Show 100 more" asked for; the worker's answer has the next page.
        ui.sync_more = 1;
        ui.sync = Some(book_sent(1000, shown(1)));
        let s = sync_screen(&ui);
        assert_eq!(rows(&s).len(), 200);
        assert_eq!(
            rows(&s)[199],
            format!("sync-contact-0x{:040x}", 199),
            "the 200th address, in the worker's order"
        );
        assert_eq!(
            s.find("sync-contacts-count").unwrap().text_content(),
            "1000 addresses; the first 200 listed."
        );
        // Home's line asks for counts only (limit 0): a Sync screen drawn
        // from it before its own answer says the count and lists nothing.
        ui.sync_more = 0;
        ui.sync = Some(book_sent(1000, 0));
        let s = sync_screen(&ui);
        assert!(rows(&s).is_empty());
        assert_eq!(
            s.find("sync-contacts-count").unwrap().text_content(),
            "1000 addresses; loading the list…"
        );
    }

    #[test]
    fn a_long_address_book_lists_its_first_page_and_more_on_request() {
        let mut ui = Ui::new(crate::view::Page::Popup);
        ui.sync = Some(book(250));
        let s = sync_screen(&ui);
        let listed = rows(&s);
        assert_eq!(listed.len(), PAGE);
        assert_eq!(listed[0], format!("sync-contact-0x{:040x}", 0));
        assert_eq!(listed[99], format!("sync-contact-0x{:040x}", 99));
        assert_eq!(
            s.find("sync-contacts-count").unwrap().text_content(),
            "250 addresses; the first 100 listed."
        );
        let more = s.find("sync-contacts-more").unwrap();
        assert_eq!(more.text_content(), "Show 100 more");
        assert_eq!(
            Action::parse(more.get("data-action").unwrap(), ""),
            Some(Action::SyncMore)
        );
        ui.sync_more = 1;
        let s = sync_screen(&ui);
        assert_eq!(rows(&s).len(), 200);
        assert_eq!(
            s.find("sync-contacts-count").unwrap().text_content(),
            "250 addresses; the first 200 listed."
        );
        assert_eq!(
            s.find("sync-contacts-more").unwrap().text_content(),
            "Show 50 more"
        );
        ui.sync_more = 2;
        let s = sync_screen(&ui);
        assert_eq!(rows(&s).len(), 250);
        assert_eq!(
            s.find("sync-contacts-count").unwrap().text_content(),
            "250 addresses."
        );
        assert!(s.find("sync-contacts-more").is_none());
        // Pages asked for past the end change nothing.
        ui.sync_more = usize::MAX;
        assert_eq!(rows(&sync_screen(&ui)).len(), 250);
        // A book of exactly one page has no button; the phone lists all.
        ui.sync_more = 0;
        ui.sync = Some(book(PAGE));
        assert!(sync_screen(&ui).find("sync-contacts-more").is_none());
        ui.sync = Some(book(250));
        let phone = sync_screen_at(&ui, Here::Phone, None);
        assert_eq!(rows(&phone).len(), 250);
        assert!(phone.find("sync-contacts-more").is_none());
        ui.sync = Some(book(0));
        assert_eq!(
            sync_screen(&ui)
                .find("sync-contacts-count")
                .unwrap()
                .text_content(),
            "No addresses saved yet."
        );
        ui.sync = Some(book(1));
        assert_eq!(
            sync_screen(&ui)
                .find("sync-contacts-count")
                .unwrap()
                .text_content(),
            "1 address."
        );
    }

    #[test]
    fn edits_are_checked_before_they_reach_the_worker() {
        let v = view(true);
        assert_eq!(
            toggle_edit(&v, "address_book").unwrap()["value"]["enabled"],
            json!(false)
        );
        assert_eq!(
            toggle_edit(&v, "accounts").unwrap()["value"]["enabled"],
            json!(true)
        );
        assert!(toggle_edit(&v, "keys").is_err());
        let ok = contact_edit(&format!("0x{}", "AB".repeat(20)), " Bob ").unwrap();
        assert_eq!(
            ok["field"]["record"]["id"],
            json!(format!("0x{}", "ab".repeat(20)))
        );
        assert_eq!(ok["value"]["contact"]["name"], json!("Bob"));
        assert!(contact_edit("0x12", "Bob").is_err());
        assert!(contact_edit(&format!("0x{}", "ab".repeat(20)), "  ").is_err());
        assert_eq!(
            parse("sync-toggle", "networks"),
            Some(SyncAction::Toggle("networks".into()))
        );
        assert_eq!(parse("nope", ""), None);
    }
}
