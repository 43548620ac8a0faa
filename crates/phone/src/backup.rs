//! The phone writes the backup of its own wallet's phrase (issue 12), as
//! the extension's worker does: the sync engine (`tandem_sync::backup`,
//! through `tandem-wasm-device`) decides what to send; this module decides
//! when the page hands it the backup secret and when it writes, and
//! `app_sync` carries out the HTTP.
//!
//! - The secret of the generation the engine wants is handed over whenever
//!   the wallet is unlocked (the engine keeps it sealed and writes while
//!   locked too), except while a restore is on the way: finding the backup
//!   hands over the generation it restores.
//! - After changes the write waits [`DEBOUNCE_MS`], so a burst makes one;
//!   a write that failed (relay away) is tried again every [`RETRY_MS`]
//!   while the engine says one is due.

use crate::model::{Effect, Phone};
#[cfg(any(feature = "sync", test))]
use tandem_ui::backup::BackupAction;

/// How long a write waits after the last change (ms), as the extension's.
#[cfg(any(feature = "sync", test))]
pub(crate) const DEBOUNCE_MS: f64 = 2_000.0;
/// How often a due write that failed is tried again (ms).
#[cfg(any(feature = "sync", test))]
pub(crate) const RETRY_MS: f64 = 30_000.0;
/// Requests one write may chain (read, merge, write, a stale retry, the
/// marker of a move), as the extension's.
#[cfg(feature = "sync")]
pub(crate) const MAX_STEPS: usize = 6;

/// When to write the backup.
#[cfg(any(feature = "sync", test))]
#[derive(Debug, Default)]
pub(crate) struct Schedule {
    /// A write asked for, not before this time.
    at: Option<f64>,
    /// A write runs (requests on the way).
    running: bool,
    /// When the last write started.
    last: Option<f64>,
}

#[cfg(any(feature = "sync", test))]
impl Schedule {
    /// Changes to back up at `now`: the write waits [`DEBOUNCE_MS`] after
    /// the last of them.
    pub(crate) fn changed(&mut self, now: f64) {
        self.at = Some(now + DEBOUNCE_MS);
    }

    /// A write now (a key handed over, the user's tap).
    pub(crate) fn now(&mut self, now: f64) {
        self.at = Some(now);
    }

    /// Whether to start writing at `now`, `due` being whether the engine
    /// says a request is due: the time asked for came, or a due write
    /// that failed waited [`RETRY_MS`]; never two at once.
    pub(crate) fn start(&mut self, now: f64, due: bool) -> bool {
        if !due {
            self.at = None;
            return false;
        }
        if self.running {
            return false;
        }
        let time = match (self.at, self.last) {
            (Some(t), _) => now >= t,
            (None, Some(last)) => now - last >= RETRY_MS,
            (None, None) => true,
        };
        if time {
            self.at = None;
            self.running = true;
            self.last = Some(now);
        }
        time
    }

    /// The write ended (written, refused or cut short).
    pub(crate) fn done(&mut self) {
        self.running = false;
    }
}

impl Phone {
    /// Whether this phone hands its sync engine the backup secret now: the
    /// sync module, the wallet unlocked, and no restore on the way (it
    /// hands over the generation it restores).
    pub(crate) fn backup_key_wanted(&self) -> bool {
        self.activity && self.wallet.is_some() && self.restore.is_none()
    }

    /// [`Effect::BackupKey`] when [`Phone::backup_key_wanted`].
    pub(crate) fn backup_key(&self) -> Option<Effect> {
        self.backup_key_wanted().then_some(Effect::BackupKey)
    }

    /// Whether the Sync screen shows the backup: a phone with a wallet
    /// (its phrase is the backup's) in the sync module.
    #[cfg(any(feature = "sync", test))]
    pub(crate) fn shows_backup(&self) -> bool {
        self.activity && self.vault.is_some()
    }

    /// A tap in the backup section of the Sync screen. Turning it on and
    /// cutting off need the next generation's secret: the wallet unlocked.
    #[cfg(any(feature = "sync", test))]
    pub(crate) fn backup_act(&mut self, action: BackupAction) -> Vec<Effect> {
        match action {
            // The offer is on Home (`crate::restore`), not here.
            BackupAction::Restore | BackupAction::Skip => Vec::new(),
            _ if !self.shows_backup() => Vec::new(),
            BackupAction::TurnOn | BackupAction::CutOff if self.wallet.is_none() => {
                self.error = Some(
                    "Unlock the wallet first: the backup's key comes from your recovery phrase."
                        .into(),
                );
                Vec::new()
            }
            a => {
                self.error = None;
                vec![Effect::Backup(a)]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::testing;

    #[test]
    fn a_burst_of_changes_makes_one_write_after_the_last() {
        let mut s = Schedule::default();
        s.changed(0.0);
        s.changed(1_500.0);
        assert!(!s.start(2_000.0, true));
        assert!(!s.start(3_400.0, true));
        assert!(s.start(3_500.0, true));
        // One at a time: a change while it runs waits for it.
        s.changed(3_600.0);
        assert!(!s.start(9_000.0, true));
        s.done();
        assert!(s.start(9_000.0, true));
        s.done();
        // Nothing due: nothing starts, and the request is dropped.
        s.changed(10_000.0);
        assert!(!s.start(20_000.0, false));
        assert!(!s.start(20_000.0, false));
    }

    #[test]
    fn a_write_asked_for_now_starts_at_once_and_a_failed_one_is_retried_later() {
        let mut s = Schedule::default();
        // A page opened with a write due (cut short before): at once.
        assert!(s.start(100.0, true));
        s.done();
        // Still due (the relay was away): not before RETRY_MS.
        assert!(!s.start(100.0 + RETRY_MS - 1.0, true));
        assert!(s.start(100.0 + RETRY_MS, true));
        s.done();
        s.now(40_000.0);
        assert!(s.start(40_000.0, true));
    }

    #[test]
    fn the_key_goes_to_the_engine_when_unlocked_unless_a_restore_is_on_the_way() {
        let (mut p, _) = testing::imported(None, 0.0, true);
        p.restore = None;
        assert_eq!(p.backup_key(), None, "the plain module has no backup");
        p.activity = true;
        assert_eq!(p.backup_key(), Some(Effect::BackupKey));
        p.restore = Some(crate::restore::Restore::Pending);
        assert_eq!(p.backup_key(), None);
        p.restore = None;
        p.wallet = None;
        assert_eq!(p.backup_key(), None);
    }

    #[test]
    fn an_unlock_of_a_running_device_hands_the_key_over() {
        let (mut p, _) = testing::imported(None, 0.0, true);
        p.activity = true;
        p.device_set_up = true;
        p.device_opened = true;
        p.restore = None;
        assert!(p.on_unlocked().contains(&Effect::BackupKey));
    }

    #[test]
    fn the_engines_backup_event_asks_for_a_write_in_a_moment() {
        let (mut p, _) = testing::imported(None, 0.0, true);
        let event: tandem_ui::pairing::DeviceEvent =
            serde_json::from_str(r#"{"kind":"backup"}"#).unwrap();
        p.on_event(event.clone());
        assert_eq!(p.take_queued(), vec![]);
        p.activity = true;
        p.on_event(event);
        assert_eq!(p.take_queued(), vec![Effect::BackupSoon]);
    }

    #[test]
    fn the_sections_taps_need_the_wallet_unlocked_to_move_the_key() {
        let (mut p, _) = testing::imported(None, 0.0, true);
        p.activity = true;
        assert_eq!(
            p.backup_act(BackupAction::CutOff),
            vec![Effect::Backup(BackupAction::CutOff)]
        );
        assert_eq!(
            p.backup_act(BackupAction::Delete),
            vec![Effect::Backup(BackupAction::Delete)]
        );
        assert_eq!(p.backup_act(BackupAction::Restore), vec![]);
        p.wallet = None;
        assert_eq!(p.backup_act(BackupAction::TurnOn), vec![]);
        assert!(p.error.as_deref().unwrap().contains("Unlock the wallet"));
        // Deleting needs no key: the engine signs with the one it keeps.
        assert_eq!(
            p.backup_act(BackupAction::Delete),
            vec![Effect::Backup(BackupAction::Delete)]
        );
    }
}
