//! Restoring on a new phone from the recovery phrase (issue 12): the
//! backup the group's computers keep on the relay, encrypted under keys
//! from the phrase (docs/protocol.md, "Backup under the recovery phrase"),
//! brings back the address book, the category switches, the rest of the
//! synced records (for the computers paired later) and the devices' Activity
//! log.
//!
//! Two steps, because the plain module links no sync code:
//! 1. After a phrase is imported, the plain module asks the relay that
//!    serves the app whether it holds a backup under the phrase's backup
//!    id ([`Effect::BackupLook`]: the id only, nothing opened). If it
//!    does, Home offers to restore it, which turns the Activity log and
//!    sync on ([`Effect::RestoreOn`]: the flag and a marker naming nothing
//!    secret, then one reload).
//! 2. The sync module, once unlocked and its device open, hands the
//!    backup secret to its sync engine (kept there sealed, as the
//!    extension's worker keeps it), reads and opens the backup
//!    ([`Effect::BackupFind`]), says what it holds (the extension's offer,
//!    with its counts) and restores it on the user's word
//!    ([`Effect::BackupRestore`]); the engine records this phone's signed
//!    `restored` entry. A backup that does not open is refused with the
//!    reason, and nothing is restored.

use crate::model::{Effect, Phone, Screen};
use tandem_sync::backup::FoundView;

/// `localStorage` key of the marker "restore the backup once the sync
/// module is open" (value `"1"`; nothing secret).
pub const MARKER_KEY: &str = "tandem.phone.restore";

/// Where a restore stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Restore {
    /// The relay was asked whether it holds a backup.
    Looking,
    /// It holds one (plain module: not opened yet).
    Exists,
    /// The sync module reads it once its device is open.
    Pending,
    /// Read and opened: what it holds, for the offer.
    Found(FoundView),
}

impl Phone {
    /// A phrase was imported and sealed here: the relay is asked for its
    /// backup (the sync module reads it at once, once its device is open).
    pub(crate) fn look_for_backup(&mut self) -> Option<Effect> {
        if self.activity {
            self.restore = Some(Restore::Pending);
            return None;
        }
        let path = self.wallet.as_ref()?.backup_path()?;
        self.restore = Some(Restore::Looking);
        Some(Effect::BackupLook(path))
    }

    /// The relay's answer to [`Effect::BackupLook`] (`status` 0: it could
    /// not be asked). A backup deleted on the relay (`data` null) is none.
    pub fn on_backup_looked(&mut self, status: u16, body: &str) {
        if self.restore != Some(Restore::Looking) {
            return;
        }
        let held = status == 200
            && serde_json::from_str::<serde_json::Value>(body)
                .is_ok_and(|v| v.get("data").is_some_and(|d| !d.is_null()));
        self.restore = held.then_some(Restore::Exists);
    }

    /// The sync module started with the marker set.
    pub fn restore_pending(&mut self, marked: bool) {
        if marked && self.activity {
            self.restore = Some(Restore::Pending);
        }
    }

    /// On the device's opening (sync module, wallet open): read the backup.
    pub(crate) fn restore_on_ready(&mut self) -> Option<Effect> {
        (self.restore == Some(Restore::Pending) && self.wallet.is_some() && self.activity).then(
            || {
                self.restore = Some(Restore::Looking);
                Effect::BackupFind
            },
        )
    }

    /// The backup read and opened by the sync engine: `Ok(None)` when the
    /// relay holds none, `Err` with the reason when it does not open.
    pub fn on_backup_found(&mut self, found: Result<Option<FoundView>, String>) -> Vec<Effect> {
        match found {
            Ok(Some(f)) => {
                self.restore = Some(Restore::Found(f));
                return Vec::new();
            }
            Ok(None) => {
                self.notice = Some(
                    "No backup of this recovery phrase is on the relay: nothing to restore.".into(),
                );
            }
            Err(e) => {
                self.error = Some(format!(
                    "The backup was not restored: {}. Nothing was restored.",
                    e.trim_end_matches('.')
                ));
            }
        }
        self.restore = None;
        vec![Effect::RestoreForget]
    }

    /// The backup was merged (`Ok`), or why not.
    pub fn on_backup_restored(&mut self, done: Result<(), String>) -> Vec<Effect> {
        self.busy = false;
        let what = match self.restore.take() {
            Some(Restore::Found(f)) => Some(f),
            _ => None,
        };
        match done {
            Ok(()) => {
                self.error = None;
                self.notice = Some(restored_text(what.as_ref()));
                vec![Effect::RestoreForget]
            }
            Err(e) => {
                self.error = Some(format!(
                    "The backup was not restored: {}. Nothing was restored.",
                    e.trim_end_matches('.')
                ));
                vec![Effect::RestoreForget]
            }
        }
    }

    /// The offer's taps; `None` when `action` is none of them.
    pub(crate) fn restore_act(&mut self, action: &str) -> Option<Vec<Effect>> {
        match (action, self.restore.as_ref()) {
            ("restore-continue", Some(Restore::Exists)) if !self.activity => {
                self.notice = Some(
                    "Turning on the Activity log and sync: the app reloads once; unlock it \
                     again to see what the backup holds."
                        .into(),
                );
                Some(vec![Effect::RestoreOn])
            }
            ("restore-skip", Some(Restore::Exists)) => {
                self.restore = None;
                Some(Vec::new())
            }
            ("backup-restore", Some(Restore::Found(_))) if self.activity => {
                // The offer stays (busy) until the engine answers.
                self.busy = true;
                self.error = None;
                self.go(Screen::Home);
                Some(vec![Effect::BackupRestore])
            }
            ("backup-skip", Some(Restore::Found(_))) if self.activity => {
                self.restore = None;
                self.notice = Some(
                    "The backup was not restored. It stays on the relay: your computers \
                     keep it."
                        .into(),
                );
                Some(vec![Effect::BackupSkip, Effect::RestoreForget])
            }
            _ => None,
        }
    }
}

/// What the notice says once restored.
fn restored_text(what: Option<&FoundView>) -> String {
    #[cfg(any(feature = "sync", test))]
    if let Some(f) = what {
        return format!(
            "Restored from the backup: {}. Your address book is on the Sync screen, the \
             history in the Activity log; computers you pair receive the rest.",
            tandem_ui::backup::what_returns(f)
        );
    }
    let _ = what;
    "Restored from the backup.".into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::testing;
    use tandem_sync::Category;

    fn found() -> FoundView {
        FoundView {
            moved: false,
            saved_at: 1_000,
            categories: vec![(Category::AddressBook, 1), (Category::Networks, 0)],
            entries: 5,
            devices: 1,
            ahead: 0,
            ahead_ms: 0,
        }
    }

    fn at_home(p: &mut Phone) {
        p.screen = Screen::Home;
        p.devices = Some(testing::view("aa", &[]));
    }

    #[test]
    fn an_imported_phrase_asks_the_relay_for_its_backup_by_id_only() {
        let (mut p, out) = testing::imported(None, 0.0, true);
        let Some(Effect::BackupLook(path)) = out.last().cloned() else {
            panic!("no look: {out:?}")
        };
        at_home(&mut p);
        assert!(path.starts_with("/v1/backup/"), "{path}");
        assert_eq!(path.len(), "/v1/backup/".len() + 64);
        // A deleted backup, or none, is nothing to offer.
        p.on_backup_looked(200, r#"{"data":null,"counter":3}"#);
        assert_eq!(p.restore, None);
        p.restore = Some(Restore::Looking);
        p.on_backup_looked(404, "");
        assert_eq!(p.restore, None);
        p.restore = Some(Restore::Looking);
        p.on_backup_looked(200, r#"{"data":"AAAA","counter":3,"updated_at":1}"#);
        assert_eq!(p.restore, Some(Restore::Exists));
        let page = crate::screens::view(&p);
        let offer = page.find("restore-offer").unwrap().text_content();
        assert!(
            offer.contains("turns on the Activity log and sync"),
            "{offer}"
        );
        assert_eq!(
            p.restore_act("restore-continue"),
            Some(vec![Effect::RestoreOn])
        );
        assert_eq!(p.restore_act("restore-skip"), Some(vec![]));
        assert_eq!(p.restore, None);
        assert!(crate::screens::view(&p).find("restore-offer").is_none());
    }

    #[test]
    fn the_sync_module_reads_it_says_what_it_holds_and_restores_on_the_users_word() {
        let (mut p, _) = testing::imported(None, 0.0, true);
        p.activity = true;
        p.restore_pending(true);
        assert_eq!(p.restore_on_ready(), Some(Effect::BackupFind));
        assert_eq!(p.restore_on_ready(), None);
        assert!(p.on_backup_found(Ok(Some(found()))).is_empty());
        at_home(&mut p);
        let page = crate::screens::view(&p);
        let what = page.find("backup-offer-what").unwrap().text_content();
        assert!(
            what.contains("1 address book entry, the history (audit log) of 1 device: 5 entries"),
            "{what}"
        );
        assert_eq!(
            p.restore_act("backup-restore"),
            Some(vec![Effect::BackupRestore])
        );
        assert_eq!(p.on_backup_restored(Ok(())), vec![Effect::RestoreForget]);
        assert!(p
            .notice
            .as_deref()
            .unwrap()
            .contains("1 address book entry"));
        assert_eq!(p.restore, None);
    }

    #[test]
    fn a_backup_that_does_not_open_is_refused_with_its_reason_and_nothing_restored() {
        let (mut p, _) = testing::imported(None, 0.0, true);
        p.activity = true;
        p.restore = Some(Restore::Looking);
        let out = p.on_backup_found(Err(
            "the backup on the relay does not open with this recovery phrase's key: it was damaged"
                .into(),
        ));
        assert_eq!(out, vec![Effect::RestoreForget]);
        assert_eq!(
            p.error.as_deref(),
            Some(
                "The backup was not restored: the backup on the relay does not open with this \
                 recovery phrase's key: it was damaged. Nothing was restored."
            )
        );
        assert_eq!(p.restore, None);
        assert_eq!(p.restore_act("backup-restore"), None);
    }
}
