//! The Sync screen on the phone (issue 12): which categories the group
//! syncs, switched from here for every device, the changes made on another
//! device that affect safety, and the address book. The screen and the
//! edits are the extension's (`tandem_ui::sync`); what a tap does on the
//! phone is decided here, and `app_sync` hands the edit to this phone's
//! device engine, which sends it to the group.
//!
//! A phone writes no wallet records of its own (no names, tokens or
//! networks: its computers do); its sync replica holds the group's copy,
//! which the Wallet screen shows read-only (`crate::wallet_view`). A
//! category switch is a synced record itself: turned on here, every
//! device of the group starts sharing it.
//! The backup section is the extension's too: the phone writes the backup
//! of its own wallet's phrase (`crate::backup`).

use crate::model::{Effect, Phone, Screen};
use tandem_ui::sync::{contact_edit, contact_removal, toggle_edit, SyncAction};

impl Phone {
    /// The Sync screen's taps (the sync module; the plain one has no
    /// screen); `None` when `action` is none of them.
    pub(crate) fn sync_act(
        &mut self,
        action: &str,
        arg: &str,
        field: &dyn Fn(&str) -> String,
    ) -> Option<Vec<Effect>> {
        if !self.activity {
            return None;
        }
        match action {
            "sync-open" => {
                self.go(Screen::Sync);
                return Some(Vec::new());
            }
            "back" if self.screen == Screen::Sync => {
                self.go(Screen::Home);
                return Some(Vec::new());
            }
            _ => {}
        }
        if self.screen != Screen::Sync {
            return None;
        }
        let edit = match tandem_ui::sync::parse(action, arg)? {
            SyncAction::Toggle(k) => match &self.sync {
                Some(v) => toggle_edit(v, &k).map(|e| (e, false)),
                None => Err(tandem_ui::Error::Form(
                    "the sync settings are still loading".into(),
                )),
            },
            SyncAction::AddContact => {
                contact_edit(&field("sync-contact-address"), &field("sync-contact-name"))
                    .map(|e| (e, true))
            }
            SyncAction::RemoveContact(address) => Ok((contact_removal(&address), false)),
            SyncAction::Dismiss => return Some(vec![Effect::SyncDismiss]),
            // The backup of this phone's phrase (`crate::backup`).
            SyncAction::Backup(b) => {
                self.notice = None;
                return Some(self.backup_act(b));
            }
        };
        self.notice = None;
        Some(match edit {
            Ok((edit, clear)) => {
                self.error = None;
                vec![Effect::SyncEdit { edit, clear }]
            }
            Err(e) => {
                self.error = Some(crate::wallet::sentence(&e.to_string()));
                Vec::new()
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::testing;
    use serde_json::json;
    use tandem_ui::backup::BackupAction;

    fn view() -> tandem_sync::view::SyncView {
        serde_json::from_value(json!({
            "online": true,
            "categories": [
                {"category": "accounts", "on": false},
                {"category": "address_book", "on": true},
            ],
            "to_send": 0, "held": 0, "unsaved": 0, "synced_at": null,
            "log_waiting": 0, "records": [], "notices": [],
        }))
        .unwrap()
    }

    fn none(_: &str) -> String {
        String::new()
    }

    fn backup(ready: bool, on: bool) -> tandem_sync::backup::BackupView {
        serde_json::from_value(json!({
            "ready": ready, "on": on, "saved_at": 1_000, "pending": false, "error": null,
        }))
        .unwrap()
    }

    #[test]
    fn the_phones_screen_acts_for_the_group_and_shows_its_own_backup() {
        let (mut p, _) = testing::imported(None, 0.0, true);
        p.activity = true;
        p.sync_act("sync-open", "", &none);
        p.now_ms = 61_000.0;
        let mut v = view();
        v.backup = Some(backup(true, true));
        p.on_sync(v);
        let page = crate::screens::view(&p);
        assert!(page.find("sync-screen").is_some());
        // The extension's section, said for a phone.
        let section = page.find("backup").unwrap();
        assert_eq!(
            section.find("backup-status").unwrap().text_content(),
            "Backup: saved 1 min ago"
        );
        assert!(section.find("backup-delete").is_some());
        assert!(section
            .find("backup-cut-off")
            .unwrap()
            .text_content()
            .contains("the devices paired with this phone follow it"));
        let text = page.text_content();
        assert!(!text.contains("browser"), "{text}");
        assert!(page
            .find("sync-never")
            .unwrap()
            .text_content()
            .contains("on all your devices"));
        assert_eq!(
            page.find("sync-toggle-address_book")
                .unwrap()
                .get("aria-checked"),
            Some("true")
        );
        // Its taps go to the engine.
        assert_eq!(
            p.sync_act("backup-cut-off", "", &none),
            Some(vec![Effect::Backup(BackupAction::CutOff)])
        );
        assert_eq!(
            p.sync_act("backup-delete", "", &none),
            Some(vec![Effect::Backup(BackupAction::Delete)])
        );
    }

    #[test]
    fn the_backup_says_what_it_waits_for_and_a_cut_off_phone_says_so() {
        let (mut p, _) = testing::imported(None, 0.0, true);
        p.activity = true;
        p.sync_act("sync-open", "", &none);
        p.now_ms = 61_000.0;
        let mut v = view();
        v.backup = Some(backup(false, false));
        p.on_sync(v.clone());
        let page = crate::screens::view(&p);
        assert!(page
            .find("backup-status")
            .unwrap()
            .text_content()
            .contains("waiting for your wallet to be unlocked once"));
        assert!(page.find("backup-on").is_none());
        let mut cut = backup(true, false);
        cut.cut_off = Some(1_000);
        v.backup = Some(cut);
        p.on_sync(v.clone());
        let page = crate::screens::view(&p);
        assert_eq!(
            page.find("backup-status").unwrap().text_content(),
            "Backup: this phone was cut off 1 min ago by a device that restored this wallet"
        );
        assert!(page
            .find("backup-cut-off-notice")
            .unwrap()
            .text_content()
            .contains("this phone follows it"));
        assert!(page.find("backup-on").is_some());
        assert!(!page.text_content().contains("browser"));
        // A phone without a wallet has no phrase to back up under.
        p.vault = None;
        assert!(crate::screens::view(&p).find("backup").is_none());
        assert_eq!(p.sync_act("backup-on", "", &none), Some(vec![]));
    }

    #[test]
    fn only_the_sync_module_opens_the_screen_and_back_goes_home() {
        let (mut p, _) = testing::imported(None, 0.0, true);
        p.screen = Screen::Home;
        assert_eq!(p.sync_act("sync-open", "", &none), None);
        assert_eq!(p.screen, Screen::Home);
        p.activity = true;
        assert_eq!(p.sync_act("sync-open", "", &none), Some(vec![]));
        assert_eq!(p.screen, Screen::Sync);
        assert_eq!(p.sync_act("back", "", &none), Some(vec![]));
        assert_eq!(p.screen, Screen::Home);
        // Its taps mean nothing elsewhere.
        assert_eq!(p.sync_act("sync-toggle", "accounts", &none), None);
    }

    #[test]
    fn a_switch_sends_the_groups_edit_and_waits_for_the_settings() {
        let (mut p, _) = testing::imported(None, 0.0, true);
        p.activity = true;
        p.sync_act("sync-open", "", &none);
        // Before the engine's first view there is nothing to switch.
        assert_eq!(p.sync_act("sync-toggle", "accounts", &none), Some(vec![]));
        assert!(p.error.as_deref().unwrap().contains("still loading"));
        p.on_sync(view());
        let out = p.sync_act("sync-toggle", "accounts", &none).unwrap();
        assert_eq!(
            out,
            vec![Effect::SyncEdit {
                edit: json!({"field": {"enabled": {"category": "accounts"}}, "value": {"enabled": true}}),
                clear: false,
            }]
        );
        assert_eq!(p.error, None);
        let off = p.sync_act("sync-toggle", "address_book", &none).unwrap();
        assert!(
            matches!(&off[0], Effect::SyncEdit { edit, .. } if edit["value"]["enabled"] == json!(false))
        );
        assert_eq!(p.sync_act("sync-toggle", "keys", &none), Some(vec![]));
        assert!(p.error.as_deref().unwrap().contains("not a sync category"));
    }

    #[test]
    fn an_address_is_checked_here_and_the_form_clears_once_it_is_saved() {
        let (mut p, _) = testing::imported(None, 0.0, true);
        p.activity = true;
        p.sync_act("sync-open", "", &none);
        p.on_sync(view());
        let bad = |id: &str| {
            if id == "sync-contact-address" {
                "0x12".into()
            } else {
                "Bob".into()
            }
        };
        assert_eq!(p.sync_act("sync-contact-add", "", &bad), Some(vec![]));
        assert!(p.error.is_some());
        let address = format!("0x{}", "AB".repeat(20));
        let good = |id: &str| {
            if id == "sync-contact-address" {
                address.clone()
            } else {
                " Bob ".into()
            }
        };
        let out = p.sync_act("sync-contact-add", "", &good).unwrap();
        let Effect::SyncEdit { edit, clear } = &out[0] else {
            panic!("{out:?}")
        };
        assert!(clear);
        assert_eq!(edit["field"]["record"]["id"], json!(address.to_lowercase()));
        assert_eq!(edit["value"]["contact"]["name"], json!("Bob"));
        assert_eq!(p.error, None);
        let out = p
            .sync_act("sync-contact-remove", &address.to_lowercase(), &none)
            .unwrap();
        assert!(
            matches!(&out[0], Effect::SyncEdit { edit, clear: false } if edit["value"].is_null())
        );
        assert_eq!(
            p.sync_act("sync-dismiss", "", &none),
            Some(vec![Effect::SyncDismiss])
        );
    }
}
