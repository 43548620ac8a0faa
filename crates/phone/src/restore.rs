//! Restoring on a new phone from the recovery phrase (issue 12): the
//! backup the devices of this phrase keep on the relay (computers, and
//! phones with sync on: `crate::backup`), encrypted under keys from the
//! phrase (docs/protocol.md, "Backup under the recovery phrase"),
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
//! 2. The sync module, once unlocked and its device open, finds the
//!    newest generation of the backup ([`newest`]: a browser that restored
//!    the phrase may have moved it on, cutting off the devices before it),
//!    hands that generation's secret to its sync engine (kept there
//!    sealed, as the extension's worker keeps it), reads and opens the backup
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
        // Generation 0 only: a backup moved on to a later generation
        // leaves a sealed marker in generation 0 (it is never deleted
        // there: the move writes the next generation first, then the
        // marker over the old records), so "it exists" holds for a moved
        // backup too, and the sync module then finds the newest one
        // ([`newest`]). Generation 0 deleted still counts (a cut-off device
        // holds its key and may delete the marker; the search reads past a
        // deleted generation), so a backup the user deleted is offered too,
        // and the sync module then says there is nothing to restore.
        let path = self.wallet.as_ref()?.backup_path()?;
        self.restore = Some(Restore::Looking);
        Some(Effect::BackupLook(path))
    }

    /// The relay's answer to [`Effect::BackupLook`] (`status` 0: it could
    /// not be asked). Any backup ever written under the phrase counts,
    /// deleted or not (`data` null: a later generation may hold one).
    pub fn on_backup_looked(&mut self, status: u16, body: &str) {
        if self.restore != Some(Restore::Looking) {
            return;
        }
        let held = status == 200
            && serde_json::from_str::<serde_json::Value>(body)
                .is_ok_and(|v| v.get("counter").is_some());
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

/// Finds the newest generation of the backup on `relay` (the app's relay,
/// WebSocket URL) that holds records (`tandem_sync::backup::Probe`): each
/// generation is read in turn with its secret (`secret_of`: from the
/// unlocked wallet) through `get` (a `GET` of the URL: the status, 0 when
/// not sent, and the body) until one is not there. Its generation and
/// secret, or `None` when no generation holds records; `Err` with the
/// reason when the relay refused or a backup does not open.
#[cfg(any(feature = "sync", test))]
pub(crate) async fn newest<G, F>(
    relay: &str,
    mut secret_of: impl FnMut(u32) -> Result<zeroize::Zeroizing<[u8; 32]>, String>,
    mut get: G,
) -> Result<Option<(u32, zeroize::Zeroizing<[u8; 32]>)>, String>
where
    G: FnMut(String) -> F,
    F: core::future::Future<Output = (u16, String)>,
{
    let mut probe = tandem_sync::backup::Probe::new();
    while let Some(generation) = probe.generation() {
        let secret = secret_of(generation)?;
        let req = probe.request(&secret, relay).map_err(|e| e.to_string())?;
        let (status, body) = get(req.url).await;
        probe
            .answer(&secret, status, &body)
            .map_err(|e| e.to_string())?;
    }
    match probe.chosen() {
        Some((generation, _)) => Ok(Some((generation, secret_of(generation)?))),
        None => Ok(None),
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
    use tandem_pair::backup::{BackupKeys, StoredBackup};
    use tandem_sync::backup::Contents;
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
        // None, or an answer that is not the relay's, is nothing to offer.
        p.on_backup_looked(200, "<html>");
        assert_eq!(p.restore, None);
        p.restore = Some(Restore::Looking);
        p.on_backup_looked(404, "");
        assert_eq!(p.restore, None);
        // A deleted generation 0 may have a later one after it.
        p.restore = Some(Restore::Looking);
        p.on_backup_looked(200, r#"{"data":null,"counter":3,"updated_at":1}"#);
        assert_eq!(p.restore, Some(Restore::Exists));
        p.restore = Some(Restore::Looking);
        p.on_backup_looked(500, "");
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

    /// A relay holding backups by URL, as the app's relay answers a `GET`
    /// of one (404: never written), with the URLs read in order.
    #[derive(Default)]
    struct Relay {
        held: std::collections::HashMap<String, String>,
        read: Vec<String>,
    }

    const RELAY: &str = "ws://relay.test/v1/ws";

    impl Relay {
        fn url(secret: &[u8; 32]) -> String {
            tandem_sync::backup::url(RELAY, &BackupKeys::derive(secret).id()).unwrap()
        }

        /// `contents` sealed under `secret`, written at `at` (relay seconds).
        fn put(&mut self, secret: &[u8; 32], contents: &Contents, at: u64) {
            let keys = BackupKeys::derive(secret);
            let plain = serde_json::to_vec(contents).unwrap();
            self.put_sealed(secret, keys.seal(&plain, [7; 24]), at);
        }

        fn put_sealed(&mut self, secret: &[u8; 32], sealed: Vec<u8>, at: u64) {
            let stored = StoredBackup {
                counter: at,
                data: Some(tandem_pair::Bytes(sealed)),
                updated_at: at,
            };
            self.held
                .insert(Self::url(secret), serde_json::to_string(&stored).unwrap());
        }

        fn get(&mut self, url: String) -> core::future::Ready<(u16, String)> {
            let answer = match self.held.get(&url) {
                Some(body) => (200, body.clone()),
                None => (404, r#"{"error":"not_found","message":"no backup"}"#.into()),
            };
            self.read.push(url);
            core::future::ready(answer)
        }
    }

    /// Runs `f` to its end (nothing in it waits: the relay answers at once).
    fn run<T>(f: impl core::future::Future<Output = T>) -> T {
        let mut f = core::pin::pin!(f);
        let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
        loop {
            if let core::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    fn wallet() -> crate::wallet::Unlocked {
        testing::imported(None, 0.0, true).0.wallet.unwrap()
    }

    /// The search for the newest generation on `relay`, with the wallet's
    /// secrets: the generation chosen (its secret checked against the
    /// wallet's) and the generations read.
    fn newest_of(
        w: &crate::wallet::Unlocked,
        relay: &mut Relay,
    ) -> (Result<Option<u32>, String>, Vec<u32>) {
        relay.read.clear();
        let found = run(newest(
            RELAY,
            |g| w.backup_secret_of(g).ok_or_else(|| "no phrase".to_owned()),
            |url| relay.get(url),
        ));
        let read = relay
            .read
            .iter()
            .map(|u| {
                (0..8)
                    .find(|g| Relay::url(&w.backup_secret_of(*g).unwrap()) == *u)
                    .expect("a generation of this wallet")
            })
            .collect();
        let found = found.map(|f| {
            f.map(|(g, secret)| {
                assert_eq!(*secret, *w.backup_secret_of(g).unwrap());
                g
            })
        });
        (found, read)
    }

    fn records() -> Contents {
        Contents::new(Vec::new(), Vec::new())
    }

    #[test]
    fn the_newest_generation_is_found_past_the_markers_of_the_ones_moved_on() {
        let w = wallet();
        let of = |g| w.backup_secret_of(g).unwrap();
        let mut relay = Relay::default();
        // No backup at all: one read, nothing to restore.
        assert_eq!(newest_of(&w, &mut relay), (Ok(None), vec![0]));
        // Generation 0 only.
        relay.put(&of(0), &records(), 100);
        assert_eq!(newest_of(&w, &mut relay), (Ok(Some(0)), vec![0, 1]));
        // Moved on twice: the markers are followed to generation 2.
        relay.put(&of(1), &records(), 200);
        relay.put(&of(0), &Contents::retired(200_000, "aa"), 201);
        relay.put(&of(2), &records(), 300);
        relay.put(&of(1), &Contents::retired(300_000, "bb"), 301);
        assert_eq!(newest_of(&w, &mut relay), (Ok(Some(2)), vec![0, 1, 2, 3]));
        // A device cut off at generation 0 writes records of its own over
        // the marker with the old key: the search reads on past them.
        relay.put(&of(0), &records(), 400);
        assert_eq!(newest_of(&w, &mut relay), (Ok(Some(2)), vec![0, 1, 2, 3]));
    }

    #[test]
    fn a_marker_with_nothing_after_it_is_nothing_to_restore() {
        let w = wallet();
        let mut relay = Relay::default();
        relay.put(
            &w.backup_secret_of(0).unwrap(),
            &Contents::retired(1_000, "aa"),
            1,
        );
        assert_eq!(newest_of(&w, &mut relay), (Ok(None), vec![0, 1]));
        // ... and the model says so, as for no backup at all.
        let (mut p, _) = testing::imported(None, 0.0, true);
        p.activity = true;
        p.restore = Some(Restore::Looking);
        assert_eq!(p.on_backup_found(Ok(None)), vec![Effect::RestoreForget]);
        assert!(p.notice.as_deref().unwrap().starts_with("No backup"));
    }

    #[test]
    fn a_generation_that_does_not_open_or_a_refusal_stops_the_search_with_the_reason() {
        let w = wallet();
        let of = |g| w.backup_secret_of(g).unwrap();
        let mut relay = Relay::default();
        relay.put(&of(1), &records(), 200);
        relay.put(&of(0), &Contents::retired(200_000, "aa"), 201);
        // Generation 1 sealed under another key (damaged, or not this
        // phrase's): refused, nothing chosen.
        relay.put_sealed(
            &of(1),
            BackupKeys::derive(&[9; 32]).seal(b"{}", [1; 24]),
            202,
        );
        let (found, read) = newest_of(&w, &mut relay);
        assert!(found.unwrap_err().contains("it was damaged"));
        assert_eq!(read, vec![0, 1]);
        // The relay could not be reached.
        let e = run(newest(
            RELAY,
            |g| w.backup_secret_of(g).ok_or_else(|| "no phrase".to_owned()),
            |_| core::future::ready((0, String::new())),
        ))
        .unwrap_err();
        assert_eq!(e, "the relay could not be reached");
        // No secret (the wallet locked meanwhile): the reason, no read.
        let e = run(newest(
            RELAY,
            |_| Err("the wallet is locked".to_owned()),
            |_| -> core::future::Ready<(u16, String)> { unreachable!("nothing is read") },
        ))
        .unwrap_err();
        assert_eq!(e, "the wallet is locked");
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
