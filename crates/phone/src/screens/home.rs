//! Home: the connection, the way to add a device, and every device of the
//! wallet group with one-tap revoke (the extension's list, "this phone").

use super::{button, messages};
use crate::model::Phone;
use crate::restore::Restore;
use tandem_ui::devices::{device_list, removed_notice, status_line, Here, ListCtx};
use tandem_ui::view::{el, El};

/// What works without the relay, and what waits for it.
pub(crate) const OFFLINE: &str = "Without the relay this phone still unlocks, shows your devices \
     as last seen and your recovery phrase (Help). Pairing, revoking a device and answering \
     your computer's requests need the relay: they go out when it is back.";

pub(super) fn view(p: &Phone) -> El {
    let ctx = ListCtx {
        here: Here::Phone,
        now_ms: p.now_ms,
        utc_offset_min: p.utc_offset_min,
        revoking: p.revoking.as_deref(),
        busy: p.busy,
    };
    let screen = el("main")
        .class("stack screen home")
        .tid("home-screen")
        .child(
            el("header")
                .class("bar")
                .child(el("h1").text("Tandem"))
                .child(button("Help", "help-open", "help", "btn link"))
                .child(button("Lock", "lock", "lock", "btn link")),
        )
        .maybe(p.wallet.as_ref().map(|w| {
            el("section")
                .class("account stack")
                .tid("account")
                .child(el("h2").text("Account 1"))
                .child(
                    el("p")
                        .class("mono")
                        .tid("account-address")
                        .text(w.address.clone()),
                )
                .child(share(p, &w.address))
        }));
    let Some(v) = &p.devices else {
        return screen.children(messages(p)).child(
            el("p")
                .class("muted center-text")
                .tid("devices-loading")
                .text("Opening this phone's device…"),
        );
    };
    let removed = v.removed.as_ref();
    let waiting = (!p.confirms.is_empty()).then(|| {
        button(
            &match p.confirms.len() {
                1 => "1 request from your computer waits: review it".to_owned(),
                n => format!("{n} requests from your computers wait: review them"),
            },
            "confirm-waiting",
            "confirm-open",
            "banner",
        )
    });
    // Offline: say what still works and what waits for the relay.
    let offline = (!v.online && removed.is_none()).then(|| {
        el("p")
            .class("muted small")
            .tid("offline-note")
            .text(OFFLINE)
    });
    screen
        .maybe(removed.map(|r| removed_notice(&ctx, r)))
        .child(status_line(v))
        .maybe(p.sync_status().map(|s| {
            el("p")
                .class("muted small")
                .attr("role", "status")
                .tid("sync-status")
                .text(s)
        }))
        .maybe(offline)
        .maybe(waiting)
        .children(messages(p))
        .maybe(restore_offer(p))
        .maybe(p.storage_warning().map(|w| {
            el("p")
                .class("warn small")
                .attr("role", "note")
                .tid("storage-warning")
                .text(w)
        }))
        .maybe(removed.is_none().then(|| {
            el("div")
                .class("stack")
                .child(button(
                    "Scan the code on your computer",
                    "scan-start",
                    "scan",
                    "btn primary big",
                ))
                .child(button(
                    "Paste a link instead",
                    "paste-start",
                    "paste",
                    "btn",
                ))
        }))
        .child(el("h2").text("Your devices"))
        .child(device_list(&ctx, v))
        .maybe(removed.is_none().then(|| {
            button(
                "Confirm on phone: what your computer must ask",
                "policy-open",
                "policy-open",
                "btn link",
            )
        }))
        .child(button(
            "Unlock with fingerprint or face",
            "biometric-open",
            "biometric-open",
            "btn link",
        ))
        // The screen is the sync module's: the plain one links no label.
        .maybe((crate::activity::LOG && p.activity).then(|| {
            button(
                "Balances: your accounts on every device",
                "wallet-open",
                "wallet-open",
                "btn link",
            )
        }))
        .maybe(p.activity.then(|| {
            button(
                "Sync: what your devices share",
                "sync-open",
                "sync-open",
                "btn link",
            )
        }))
        .child(if p.activity {
            button(
                "Activity log: what every device signed",
                "activity-open",
                "activity-open",
                "btn link",
            )
        } else {
            button(
                "Turn on the Activity log and sync",
                "activity-on",
                "activity-on",
                "btn link",
            )
        })
}

/// "Use this account on my computers": its address goes to the group; what
/// they sign with it comes here (`accounts-share`, `accounts-unshare`).
fn share(p: &Phone, address: &str) -> El {
    if p.shared.iter().any(|a| a.eq_ignore_ascii_case(address)) {
        el("div")
            .class("stack")
            .child(el("p").class("muted small").tid("account-shared").text(
                "Your computers list this account, marked “on your phone”: they ask this \
                 phone to sign for it, and the key never leaves it.",
            ))
            .child(button(
                "Stop using it on my computers",
                "accounts-unshare",
                "accounts-unshare",
                "btn",
            ))
    } else {
        button(
            "Use this account on my computers",
            "accounts-share",
            "accounts-share",
            "btn",
        )
    }
}

/// The backup of the imported phrase, offered (`crate::restore`): in the
/// plain module, that it exists and what restoring turns on; in the sync
/// module, what it holds (the extension's offer, with its counts).
fn restore_offer(p: &Phone) -> Option<El> {
    match p.restore.as_ref()? {
        Restore::Exists => Some(
            el("div")
                .class("stack notice")
                .tid("restore-offer")
                .child(el("h2").text("A backup of your wallet group is on the relay"))
                .child(el("p").tid("restore-offer-what").text(
                    "Your devices keep a backup under this recovery phrase, encrypted: the \
                     address book, what your devices sync, and their Activity log. Restoring \
                     it turns on the Activity log and sync on this phone: the app reloads \
                     once, you unlock it again, and it says what the backup holds before \
                     anything is restored.",
                ))
                .child(button(
                    "Restore your address book and Activity log (turns on the Activity log and sync)",
                    "restore-continue",
                    "restore-continue",
                    "btn primary",
                ))
                .child(button("Skip", "restore-skip", "restore-skip", "btn")),
        ),
        #[cfg(any(feature = "sync", test))]
        Restore::Found(f) => Some(tandem_ui::backup::offer(f, p.now_ms)),
        _ => None,
    }
}
