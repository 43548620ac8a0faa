//! The encrypted backup under the recovery phrase's keys, on the Sync
//! screen: the line "Backup: saved 2 min ago" with "Delete backup" (or
//! "Turn backup on"), and, after "Import a recovery phrase" found a backup,
//! the offer that says what will be restored before it restores it; "Cut
//! off other devices" (after a restore, the devices lost before it still
//! hold the backup's key), and what a device that was cut off says.
//! Data: the `backup` part of the worker's `tandem_sync::view::SyncView`.

use crate::devices::Here;
use crate::format::relative_time;
use crate::view::{el, Action, El};
use tandem_sync::backup::{BackupView, FoundView};
use tandem_sync::Category;

/// What the user can do about the backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupAction {
    /// Delete the backup on the relay (and stop writing it).
    Delete,
    /// Write it again after changes.
    TurnOn,
    /// Restore the backup found.
    Restore,
    /// Do not restore it.
    Skip,
    /// Cut off the devices outside this group (the backup moves on).
    CutOff,
}

/// Reads a backup `data-action`.
pub fn parse(action: &str) -> Option<BackupAction> {
    Some(match action {
        "backup-delete" => BackupAction::Delete,
        "backup-on" => BackupAction::TurnOn,
        "backup-restore" => BackupAction::Restore,
        "backup-skip" => BackupAction::Skip,
        "backup-cut-off" => BackupAction::CutOff,
        _ => return None,
    })
}

/// The `data-action` that [`parse`] reads back as `a`.
pub fn encode(a: BackupAction) -> &'static str {
    match a {
        BackupAction::Delete => "backup-delete",
        BackupAction::TurnOn => "backup-on",
        BackupAction::Restore => "backup-restore",
        BackupAction::Skip => "backup-skip",
        BackupAction::CutOff => "backup-cut-off",
    }
}

/// The worker method an action calls.
pub fn method(a: BackupAction) -> &'static str {
    match a {
        BackupAction::Delete => "backup.delete",
        BackupAction::TurnOn => "backup.on",
        BackupAction::Restore => "backup.restore",
        BackupAction::Skip => "backup.skip",
        BackupAction::CutOff => "backup.cutoff",
    }
}

/// "this browser" or "this phone": the device that shows the section.
fn this(here: Here) -> &'static str {
    match here {
        Here::Browser => "this browser",
        Here::Phone => "this phone",
    }
}

/// The backup's status line (in the extension).
pub fn status_line(b: &BackupView, now_ms: f64) -> String {
    status_line_at(b, now_ms, Here::Browser)
}

/// The backup's status line where it is shown (each device writes the
/// backup of its own wallet's phrase).
pub fn status_line_at(b: &BackupView, now_ms: f64, here: Here) -> String {
    if !b.ready {
        return "Backup: waiting for your wallet to be unlocked once (its key comes from your recovery phrase)".into();
    }
    if let Some(t) = b.cut_off {
        return format!(
            "Backup: {} was cut off {} by a device that restored this wallet",
            this(here),
            relative_time(t as f64, now_ms)
        );
    }
    if b.cutting && b.needs_unlock {
        return "Backup: unlock the wallet to cut off the other devices (the new key comes from your recovery phrase)".into();
    }
    if b.needs_unlock {
        return "Backup: it moved to a new key; unlock the wallet once to follow it".into();
    }
    if !b.on {
        return "Backup: off (nothing is kept on the relay)".into();
    }
    if b.cutting {
        return "Backup: cutting off the other devices…".into();
    }
    match (b.saved_at, b.pending) {
        (_, true) if b.error.is_none() => "Backup: saving…".into(),
        (Some(t), _) => format!("Backup: saved {}", relative_time(t as f64, now_ms)),
        (None, _) => "Backup: not saved yet".into(),
    }
}

/// The backup part of the extension's Sync screen.
pub fn section(b: &BackupView, now_ms: f64) -> El {
    section_at(b, now_ms, Here::Browser)
}

/// The backup part of the Sync screen where it is shown: the extension's,
/// or the phone's (which writes the backup of its own wallet's phrase).
pub fn section_at(b: &BackupView, now_ms: f64, here: Here) -> El {
    let button = if b.on {
        el("button")
            .attr("type", "button")
            .class("btn")
            .tid("backup-delete")
            .on(Action::Sync(crate::sync::SyncAction::Backup(
                BackupAction::Delete,
            )))
            .text("Delete backup")
    } else {
        el("button")
            .attr("type", "button")
            .class("btn")
            .tid("backup-on")
            .on(Action::Sync(crate::sync::SyncAction::Backup(
                BackupAction::TurnOn,
            )))
            .text("Turn backup on")
    };
    el("div")
        .class("stack")
        .tid("backup")
        .child(el("h2").text("Backup"))
        .child(
            el("p")
                .attr("role", "status")
                .tid("backup-status")
                .text(status_line_at(b, now_ms, here)),
        )
        .child(el("p").class("hint").text(format!(
            "What syncs is also kept on the relay, encrypted under a key from your recovery \
             phrase: with the phrase alone, a new {} brings it back. The relay cannot read it.",
            match here {
                Here::Browser => "browser or phone",
                Here::Phone => "phone or computer",
            }
        )))
        .maybe(
            b.error
                .as_ref()
                .map(|e| el("p").class("error").tid("backup-error").text(e.clone())),
        )
        .maybe(b.ready.then_some(button))
        .maybe(b.cut_off.map(|_| cut_off_notice(here)))
        .maybe((b.ready && b.on && b.cut_off.is_none()).then(|| cut_off_others(b, now_ms, here)))
}

/// What a device that was cut off says: who can have done it, and what
/// to do either way.
fn cut_off_notice(here: Here) -> El {
    el("p")
        .class("error")
        .tid("backup-cut-off-notice")
        .text(format!(
        "A device that restored this wallet from its recovery phrase moved the backup to a new \
         key, which cut off the devices outside its group, this one among them. If that was you, \
         turn the backup on again with the wallet unlocked: {} follows it. If it was \
         not you, someone else has your recovery phrase: move your funds to a new wallet now.",
        this(here)
    ))
}

/// "Cut off other devices": offered while the backup is on.
fn cut_off_others(b: &BackupView, now_ms: f64, here: Here) -> El {
    let done = b.moved_at.map(|t| {
        el("p").tid("backup-moved").text(format!(
            "Devices outside this group were cut off {}.",
            relative_time(t as f64, now_ms)
        ))
    });
    let mut button = el("button")
        .attr("type", "button")
        .class("btn")
        .tid("backup-cut-off-button")
        .on(Action::Sync(crate::sync::SyncAction::Backup(
            BackupAction::CutOff,
        )))
        .text("Cut off other devices");
    if b.cutting {
        button = button.attr("disabled", "");
    }
    el("div")
        .class("stack")
        .tid("backup-cut-off")
        .maybe(done)
        .child(el("p").class("hint").text(format!(
            "A device you lost still holds this backup's key: without your password it cannot \
             open your wallet, but it can read what the backup holds. Cutting off moves the backup \
             to a new key that only your recovery phrase gives; the devices paired with {} \
             follow it, the others are cut off and say so.",
            this(here)
        )))
        .child(button)
}

/// "2 account names, 1 address book entry".
pub fn what_returns(f: &FoundView) -> String {
    let noun = |c: Category, n: usize| {
        let (one, many) = match c {
            Category::Accounts => ("account name", "account names"),
            Category::Tokens => ("token", "tokens"),
            Category::Balances => ("balance", "balances"),
            Category::Activity => ("transaction", "transactions"),
            Category::AddressBook => ("address book entry", "address book entries"),
            Category::Networks => ("network", "networks"),
            Category::Sites => ("connected site", "connected sites"),
        };
        format!("{n} {}", if n == 1 { one } else { many })
    };
    let mut parts: Vec<String> = f
        .categories
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(c, n)| noun(*c, *n))
        .collect();
    if f.entries > 0 {
        parts.push(format!(
            "the history (audit log) of {} {}: {} {}",
            f.devices,
            if f.devices == 1 { "device" } else { "devices" },
            f.entries,
            if f.entries == 1 { "entry" } else { "entries" },
        ));
    }
    let what = if parts.is_empty() {
        "which categories synced (no records)".into()
    } else {
        parts.join(", ")
    };
    if f.ahead == 0 {
        return what;
    }
    // The clock of the browser that saved them ran ahead: said, since the
    // restore dates them now (crates/sync `Replica::restore`).
    let h = f.ahead_ms / 3_600_000;
    let span = match h {
        0 => "less than an hour".to_owned(),
        1..=47 => format!("{h} hours"),
        48..=17_519 => format!("{} days", h / 24),
        _ => format!("{} years", h / 8_760),
    };
    format!(
        "{what}. {} {} dated up to {span} in the future (the clock of the browser that saved {} was ahead): restored as made now",
        f.ahead,
        if f.ahead == 1 { "change is" } else { "changes are" },
        if f.ahead == 1 { "it" } else { "them" },
    )
}

/// The offer to restore a backup found after importing the phrase.
pub fn offer(f: &FoundView, now_ms: f64) -> El {
    el("div")
        .class("stack notice")
        .tid("backup-offer")
        .child(el("h2").text("A backup of your synced data was found"))
        .child(el("p").tid("backup-offer-what").text(format!(
            "Restore your synced data (names, networks, address book, …) and your devices' history from the backup saved {}: {}.",
            relative_time(f.saved_at as f64, now_ms),
            what_returns(f)
        )))
        .child(
            el("div")
                .class("row")
                .child(
                    el("button")
                        .attr("type", "button")
                        .class("btn primary")
                        .tid("backup-restore")
                        .on(Action::Sync(crate::sync::SyncAction::Backup(BackupAction::Restore)))
                        .text("Restore"),
                )
                .child(
                    el("button")
                        .attr("type", "button")
                        .class("btn")
                        .tid("backup-skip")
                        .on(Action::Sync(crate::sync::SyncAction::Backup(BackupAction::Skip)))
                        .text("Not now"),
                ),
        )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn view() -> BackupView {
        BackupView {
            ready: true,
            on: true,
            saved_at: Some(1_000),
            pending: false,
            error: None,
            found: None,
            generation: 0,
            needs_unlock: false,
            cutting: false,
            moved_at: None,
            cut_off: None,
        }
    }

    #[test]
    fn the_line_says_saved_saving_off_or_waiting() {
        let mut b = view();
        assert_eq!(status_line(&b, 61_000.0), "Backup: saved 1 min ago");
        assert!(section(&b, 61_000.0).find("backup-delete").is_some());
        b.pending = true;
        assert_eq!(status_line(&b, 61_000.0), "Backup: saving…");
        b.on = false;
        assert!(status_line(&b, 0.0).starts_with("Backup: off"));
        assert!(section(&b, 0.0).find("backup-on").is_some());
        b.ready = false;
        assert!(section(&b, 0.0).find("backup-on").is_none());
        assert_eq!(parse("backup-delete"), Some(BackupAction::Delete));
        assert_eq!(parse("nope"), None);
    }

    #[test]
    fn the_offer_says_what_comes_back() {
        let f = FoundView {
            moved: false,
            saved_at: 1_000,
            categories: vec![
                (Category::Accounts, 1),
                (Category::AddressBook, 2),
                (Category::Networks, 0),
            ],
            entries: 12,
            devices: 2,
            ahead: 0,
            ahead_ms: 0,
        };
        let o = offer(&f, 121_000.0);
        let text = o.find("backup-offer-what").unwrap().text_content();
        assert!(text.contains("Restore your synced data"), "{text}");
        assert!(
            text.contains(
                "1 account name, 2 address book entries, the history (audit log) of 2 devices: 12 entries"
            ),
            "{text}"
        );
        assert!(o.find("backup-restore").is_some());
        let ahead = FoundView {
            ahead: 2,
            ahead_ms: 3 * 86_400_000 + 1,
            ..f
        };
        assert_eq!(
            what_returns(&ahead),
            "1 account name, 2 address book entries, the history (audit log) of 2 devices: 12 \
             entries. 2 changes are dated up to 3 days in the future (the clock of the browser \
             that saved them was ahead): restored as made now"
        );
    }
}
