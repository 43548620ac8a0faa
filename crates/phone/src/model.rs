//! The phone app's state and every decision it makes: what a tap does,
//! what an engine event changes, what the camera found, when the wallet
//! locks. Pure (the clock is a field, randomness a parameter, effects are
//! returned), so it is tested natively; `app.rs` carries the effects out.

use crate::scan::Scanned;
use crate::wallet::{self, Draft, Secret, Unlocked, AUTO_LOCK_MS};
use core::fmt;
use rand_core::CryptoRngCore;
use serde_json::json;
use tandem_device::{DevicesView, PairingPhase};
use tandem_ui::pairing::{DeviceEvent, Flow, Role};
use tandem_vault::KdfParams;

/// The screens of the phone app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// First start: create a wallet or import a recovery phrase.
    Welcome,
    /// A new phrase, shown once to be written down.
    Words,
    /// Three of its words typed back.
    Confirm,
    /// Paste a recovery phrase.
    Import,
    /// The password that seals the new vault.
    Password,
    /// A returning start, or after a lock: the password opens the vault.
    Unlock,
    /// The recovery phrase again, after the password.
    Reveal,
    /// After the wallet, on first start: name this phone.
    Setup,
    /// The device list, with Scan and Paste.
    Home,
    /// The camera looks for the desktop's QR code.
    Scan,
    /// No camera: paste the link the desktop copied.
    Paste,
    /// A pairing runs (code, confirmation, result).
    Pair,
    /// What to do if a device is lost or someone phishes you.
    Help,
    /// A desktop's request waits for Approve or Reject (confirm on phone).
    Approve,
    /// What this phone confirms before a desktop signs.
    Policy,
    /// Unlock with fingerprint or face: turn it on (after the password) or off.
    Biometric,
    /// The group's Activity log (the sync module only).
    Activity,
    /// What the group syncs, switched for every device, and the address
    /// book (the sync module only).
    Sync,
    /// The group's accounts, last known balances, tokens and networks as
    /// its devices synced them, read-only (the sync module only).
    Wallet,
}

/// The camera, as the Scan screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Camera {
    /// Not asked for.
    Off,
    /// Waiting for the browser (and the user's permission).
    Starting,
    /// Frames are being read.
    Scanning,
    /// The user or the browser refused the camera.
    Denied,
    /// This device has no camera (or none the browser offers).
    Missing,
    /// The page is not a secure context (plain http to another machine).
    Insecure,
    /// Another failure, in the browser's words.
    Failed(String),
}

/// What the page must do after a change of state.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Make this phone's device (a group of one) with this name.
    Setup {
        /// The name the other devices will see.
        name: String,
    },
    /// A command for the device engine (`tandem-wasm-device` JSON).
    Command(serde_json::Value),
    /// Open the rear camera and read frames.
    StartCamera,
    /// Close the camera.
    StopCamera,
    /// Forget the link in the address bar (it is one-time).
    ClearLink,
    /// Ask the relay that serves the app for this path (the backup of the
    /// imported phrase, by its id: [`Phone::on_backup_looked`]).
    BackupLook(String),
    /// Restore the backup found: store the Activity flag and the restore
    /// marker, then reload once into the sync module.
    RestoreOn,
    /// Remove the restore marker (restored, skipped or refused).
    RestoreForget,
    /// The sync module: hand the backup secret to the sync engine, read
    /// and open the backup ([`Phone::on_backup_found`]).
    BackupFind,
    /// The sync module: merge the backup found ([`Phone::on_backup_restored`]).
    BackupRestore,
    /// The sync module: forget the backup found.
    BackupSkip,
    /// The sync module: hand its engine the backup secret of the
    /// generation it wants (the wallet is unlocked), and write at once what
    /// that makes due (a first write, a move).
    BackupKey,
    /// The sync module: changes to back up; written after a short wait, so
    /// a burst of changes makes one write.
    BackupSoon,
    /// The sync module: the user deletes the backup, turns it on again or
    /// cuts off the other devices (Sync screen).
    Backup(tandem_ui::backup::BackupAction),
    /// Slow or random work waits ([`Phone::work`]): show the busy page
    /// first, then call it with the browser's CSPRNG.
    Work,
    /// Store this vault JSON (it is encrypted).
    SaveVault(String),
    /// Open this phone's stored device (the first unlock of a page).
    OpenDevice,
    /// Store this policy JSON (confirm on phone; no secret in it).
    SavePolicy(String),
    /// Ask the phone's platform authenticator (fingerprint or face) for a
    /// new credential with the PRF extension evaluated at `salt`
    /// ([`Phone::on_created`]). Nothing here is secret.
    CreateCredential {
        /// The WebAuthn user handle (random: it names nobody).
        user_id: [u8; 16],
        /// A random challenge (nothing verifies the signature: the key is the PRF output).
        challenge: [u8; 32],
        /// The PRF input (`eval.first`).
        salt: [u8; 32],
    },
    /// Ask the authenticator for the PRF output of this credential at
    /// `salt` ([`Phone::on_prf`]).
    GetPrf {
        /// The credential's `rawId`.
        credential_id: Vec<u8>,
        /// A random challenge.
        challenge: [u8; 32],
        /// The PRF input (`eval.first`).
        salt: [u8; 32],
    },
    /// Store (`Some`: the record's JSON, no secret in clear) or erase
    /// (`None`) the fingerprint or face unlock record.
    SaveBiometric(Option<String>),
    /// Store the addresses this phone shares with its computers (JSON list).
    SaveShared(String),
    /// Record this in the group's signed audit log (the sync module; the
    /// plain one keeps no log). Waits until the log is open.
    Audit(tandem_sync::audit::Happened),
    /// Turn the Activity log and sync on: store the flag `phone/boot.js`
    /// reads, then reload once into the sync module.
    ActivityOn,
    /// Turn them off (the sync module): the flag back to off, this
    /// phone's copy of the log deleted when `delete` (else kept sealed for
    /// the next time), then reload once into the plain module.
    ActivityOff {
        /// Delete this phone's copy (`activity::STATE_KEY`).
        delete: bool,
    },
    /// Save the Activity log as a file (`json` or `csv`).
    AuditExport(String),
    /// A change made on the Sync screen (`tandem_ui::sync`'s edit JSON)
    /// for this phone's device engine, which sends it to the group; the
    /// address form clears once it is stored when `clear`.
    SyncEdit {
        /// `{"field": …, "value": …}`.
        edit: serde_json::Value,
        /// Empty the address book form after.
        clear: bool,
    },
    /// Clear the Sync screen's notices of changes made elsewhere.
    SyncDismiss,
}

/// Work that [`Phone::work`] does (held between the tap and the work).
pub(crate) enum Job {
    /// A new recovery phrase.
    Generate,
    /// Seal the draft phrase under this password.
    Seal(Secret),
    /// Open the stored vault.
    Unlock(Secret),
    /// Check the password again, then show the phrase.
    Reveal(Secret),
    /// Check the password, then turn on fingerprint or face unlock.
    Enroll(Secret),
    /// Ask the authenticator for the key (a fresh challenge).
    AskPrf,
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Job::Generate => "Generate",
            Job::Seal(_) => "Seal(<password>)",
            Job::Unlock(_) => "Unlock(<password>)",
            Job::Reveal(_) => "Reveal(<password>)",
            Job::Enroll(_) => "Enroll(<password>)",
            Job::AskPrf => "AskPrf",
        })
    }
}

/// Taps that work before the wallet is open.
const BEFORE_UNLOCK: [&str; 10] = [
    "wallet-create",
    "wallet-import",
    "welcome",
    "words",
    "words-written",
    "confirm-words",
    "import-submit",
    "password-submit",
    "unlock",
    "unlock-biometric",
];

/// Everything the phone app shows. `Debug` prints no secret (every field
/// holding one has its own redacting `Debug`).
#[derive(Debug)]
pub struct Phone {
    /// The screen shown.
    pub screen: Screen,
    /// The stored vault (encrypted JSON), once there is a wallet.
    pub vault: Option<String>,
    /// The open wallet (`None` while locked).
    pub wallet: Option<Unlocked>,
    /// A phrase being created or imported, until its vault is sealed.
    pub draft: Option<Draft>,
    /// The phrase shown on the Reveal screen.
    pub revealed: Option<Secret>,
    /// Work waiting for [`Phone::work`].
    pending: Option<Job>,
    /// Argon2id cost of a new vault (tests use cheap parameters).
    pub kdf: KdfParams,
    /// The last tap or key press while unlocked (ms since the epoch).
    pub last_active_ms: f64,
    /// This phone has its device state (it was named).
    pub device_set_up: bool,
    /// The device engine was opened in this page.
    pub device_opened: bool,
    /// The engine's last device list (`None` before this phone is set up).
    pub devices: Option<DevicesView>,
    /// The pairing this phone approves.
    pub flow: Option<Flow>,
    /// The camera.
    pub camera: Camera,
    /// What the camera saw that was not usable ("not a Tandem code", …).
    pub scan_note: Option<String>,
    /// The last error, in plain language.
    pub error: Option<String>,
    /// The last notice.
    pub notice: Option<String>,
    /// The device whose revoke confirmation is open.
    pub revoking: Option<String>,
    /// A command runs.
    pub busy: bool,
    /// A pairing link this app was opened with (`/app/#tandem:pair?…`).
    pub pending_link: Option<String>,
    /// Now, in ms since the epoch.
    pub now_ms: f64,
    /// Minutes east of UTC.
    pub utc_offset_min: i32,
    /// Whether the page is a secure context (the camera needs one).
    pub secure: bool,
    /// What the app's service worker said about an update (shown on every
    /// screen until the app is opened again).
    pub update: Option<String>,
    /// Whether the browser promised to keep this app's data
    /// (`navigator.storage.persist()`); `None` until it answered.
    pub storage_persisted: Option<bool>,
    /// What this phone confirms before a desktop of its group signs.
    pub policy: tandem_confirm::Policy,
    /// The accounts of this phone its computers may use (they ask it to sign).
    pub shared: Vec<String>,
    /// Desktop requests waiting for an answer, oldest first.
    pub confirms: Vec<crate::confirm::Incoming>,
    /// Requests answered, withdrawn or expired (never asked twice).
    pub(crate) answered: Vec<String>,
    /// Highest engine inbox id read, and the highest cleared.
    pub(crate) inbox_max: u64,
    pub(crate) inbox_cleared: u64,
    /// Effects decided while handling engine events ([`Phone::take_queued`]).
    pub(crate) queued: Vec<Effect>,
    /// Fingerprint or face unlock, when it is on (the stored record).
    pub biometric: Option<crate::prf::Record>,
    /// Whether this browser has WebAuthn (`PublicKeyCredential`).
    pub webauthn: bool,
    /// The WebAuthn call answered next ([`Phone::on_created`], [`Phone::on_prf`]).
    pub(crate) prf_wait: Option<crate::biometric::PrfWait>,
    /// The Activity log and sync are on (this is the sync module).
    pub activity: bool,
    /// A backup of the imported phrase on the relay, while it is offered
    /// or restored (`restore`).
    pub restore: Option<crate::restore::Restore>,
    /// The Activity log as last read, with the screen's filter (the sync
    /// module; the plain one links none of the log's code).
    #[cfg(any(feature = "sync", test))]
    pub audit: Option<tandem_ui::audit::AuditScreen>,
    /// The sync state as last read.
    #[cfg(any(feature = "sync", test))]
    pub sync: Option<tandem_sync::view::SyncView>,
    /// When the relay last said it stored a message this phone sent (ms).
    #[cfg(any(feature = "sync", test))]
    pub sent_at: Option<f64>,
    /// The Activity screen says what turning the log off does, and asks
    /// which way.
    #[cfg(any(feature = "sync", test))]
    pub turning_off: bool,
    /// The group's wallet records as this phone's sync replica holds them
    /// (`crate::wallet_view::CATEGORIES`), for the Wallet screen.
    #[cfg(any(feature = "sync", test))]
    pub group_records: Vec<tandem_sync::view::RecordView>,
}

impl Phone {
    /// The app as it starts: `vault` is the stored vault, if any; `set_up`
    /// when this phone already has its device state; `link` when it was
    /// opened from a pairing QR. Nothing opens before the wallet does.
    pub fn new(
        vault: Option<String>,
        set_up: bool,
        link: Option<String>,
        now_ms: f64,
        secure: bool,
    ) -> Phone {
        Phone {
            screen: if vault.is_some() {
                Screen::Unlock
            } else {
                Screen::Welcome
            },
            vault,
            wallet: None,
            draft: None,
            revealed: None,
            pending: None,
            kdf: KdfParams::default(),
            last_active_ms: now_ms,
            device_set_up: set_up,
            device_opened: false,
            devices: None,
            flow: None,
            camera: Camera::Off,
            scan_note: None,
            error: None,
            notice: None,
            revoking: None,
            busy: false,
            pending_link: link,
            now_ms,
            utc_offset_min: 0,
            secure,
            update: None,
            storage_persisted: None,
            policy: tandem_confirm::Policy::default(),
            shared: Vec::new(),
            confirms: Vec::new(),
            answered: Vec::new(),
            inbox_max: 0,
            inbox_cleared: 0,
            queued: Vec::new(),
            biometric: None,
            webauthn: false,
            prf_wait: None,
            activity: false,
            restore: None,
            #[cfg(any(feature = "sync", test))]
            audit: None,
            #[cfg(any(feature = "sync", test))]
            sync: None,
            #[cfg(any(feature = "sync", test))]
            sent_at: None,
            #[cfg(any(feature = "sync", test))]
            turning_off: false,
            #[cfg(any(feature = "sync", test))]
            group_records: Vec::new(),
        }
    }

    /// Effects the engine's events called for (e.g. telling a new device
    /// this phone's policy).
    pub fn take_queued(&mut self) -> Vec<Effect> {
        core::mem::take(&mut self.queued)
    }

    /// The browser's answer to `navigator.storage.persist()`.
    pub fn on_storage(&mut self, persisted: bool) {
        self.storage_persisted = Some(persisted);
    }

    /// What to tell the user when the browser may evict this app's data
    /// (e.g. Safari outside a home-screen install, Chromium under storage
    /// pressure): what would be lost, and what brings it back.
    pub fn storage_warning(&self) -> Option<&'static str> {
        (self.storage_persisted == Some(false)).then_some(
            "This browser may clear Tandem's data on this phone when it runs low on space \
             (installing the app on your Home screen usually prevents it). Nothing is lost \
             for good: your recovery phrase restores the wallet, and you can pair this \
             phone again. Keep the phrase written down.",
        )
    }

    /// The app's service worker checked for a new version (`phone/sw.js`):
    /// `update-ready`, or `update-refused` with the reason.
    pub fn on_update(&mut self, kind: &str, reason: &str) {
        self.update = match kind {
            "update-refused" => Some(format!(
                "An update of this app was refused: {reason}. You keep the version you \
                 installed; nothing on this phone changed. If this repeats, the server that \
                 serves Tandem may be compromised: keep using this version."
            )),
            "update-ready" => Some(
                "A new version of Tandem, signed by its release key, is installed: it starts \
                 the next time you open the app."
                    .into(),
            ),
            _ => return,
        };
    }

    pub(crate) fn now_secs(&self) -> u64 {
        (self.now_ms / 1000.0) as u64
    }

    /// The device engine is ready (opened or just made): connect, and
    /// start the pairing this app was opened with, if any.
    pub fn on_ready(&mut self) -> Vec<Effect> {
        self.device_set_up = true;
        self.busy = false;
        let mut out = vec![Effect::Command(json!({"kind": "connect"}))];
        if self.wallet.is_none() {
            return out; // locked meanwhile: the link waits for the unlock
        }
        self.screen = Screen::Home;
        out.extend(self.restore_on_ready());
        out.extend(self.take_link());
        out
    }

    /// The pairing link this app was opened with, now that it can act on it.
    fn take_link(&mut self) -> Vec<Effect> {
        let mut out = Vec::new();
        if let Some(link) = self.pending_link.take() {
            out.push(Effect::ClearLink);
            out.extend(self.accept(link));
        }
        out
    }

    /// The wallet just opened (made, imported or unlocked): name the phone
    /// on first start, else open its device (once per page) and go Home.
    pub(crate) fn on_unlocked(&mut self) -> Vec<Effect> {
        self.last_active_ms = self.now_ms;
        self.error = None;
        self.notice = None;
        if !self.device_set_up {
            self.screen = Screen::Setup;
            return Vec::new();
        }
        self.screen = if self.confirms.is_empty() {
            Screen::Home
        } else {
            Screen::Approve
        };
        if !self.device_opened {
            self.device_opened = true;
            return vec![Effect::OpenDevice];
        }
        // The engine kept running while the wallet was locked.
        let mut out = self.take_link();
        out.extend(self.backup_key());
        out
    }

    /// Does the waiting work: Argon2id, a new phrase. `rng` is the CSPRNG.
    pub fn work(&mut self, rng: &mut impl CryptoRngCore) -> Vec<Effect> {
        self.busy = false;
        let Some(job) = self.pending.take() else {
            return Vec::new();
        };
        match job {
            Job::Generate => {
                self.draft = Some(wallet::generate(rng));
                self.go(Screen::Words);
                Vec::new()
            }
            Job::Seal(password) => {
                let Some(draft) = self.draft.as_ref() else {
                    return Vec::new();
                };
                let imported = !draft.created();
                match wallet::seal(rng, draft, &password, self.kdf) {
                    Ok((vault, open)) => {
                        self.draft = None;
                        self.vault = Some(vault.clone());
                        self.wallet = Some(open);
                        let mut out = vec![Effect::SaveVault(vault)];
                        // A new wallet: a fingerprint key made for another vault goes.
                        if self.biometric.take().is_some() {
                            out.push(Effect::SaveBiometric(None));
                        }
                        out.extend(self.on_unlocked());
                        // A phrase brought here: is its backup on the relay?
                        if imported {
                            out.extend(self.look_for_backup());
                        }
                        out
                    }
                    Err(e) => {
                        self.error = Some(e);
                        Vec::new()
                    }
                }
            }
            Job::Unlock(password) => {
                let Some(vault) = self.vault.as_deref() else {
                    return Vec::new();
                };
                let opened = wallet::unlock(vault, &password);
                self.opened(opened)
            }
            Job::Reveal(password) => {
                if let (Some(vault), Some(open)) = (self.vault.as_deref(), self.wallet.as_ref()) {
                    match wallet::reveal(vault, &password, open) {
                        Ok(phrase) => {
                            self.revealed = Some(phrase);
                            self.error = None;
                        }
                        Err(e) => self.error = Some(e),
                    }
                }
                Vec::new()
            }
            Job::Enroll(password) => self.enroll(rng, &password),
            Job::AskPrf => self.ask_prf(rng),
        }
    }

    /// The stored vault opened (by password or fingerprint), or why not.
    pub(crate) fn opened(&mut self, opened: Result<Unlocked, String>) -> Vec<Effect> {
        let ok = opened.is_ok();
        let mut out = match opened {
            Ok(open) => {
                self.wallet = Some(open);
                self.on_unlocked()
            }
            Err(e) => {
                self.error = Some(e);
                Vec::new()
            }
        };
        if crate::activity::LOG {
            out.insert(
                0,
                Effect::Audit(tandem_sync::audit::Happened::Unlock { ok }),
            );
        }
        out
    }

    /// Holds `job` for [`Phone::work`] (the busy page shows first).
    pub(crate) fn queue(&mut self, job: Job) {
        self.pending = Some(job);
        self.busy = true;
    }

    /// Closes the wallet: the keys and any shown phrase are dropped
    /// (zeroized), a running pairing is cancelled, the camera closes.
    /// `auto`: the idle deadline passed (the Unlock screen says so).
    pub fn lock(&mut self, auto: bool) -> Vec<Effect> {
        let mut out = Vec::new();
        if self.wallet.is_none() {
            return out;
        }
        if self.camera != Camera::Off {
            self.camera = Camera::Off;
            out.push(Effect::StopCamera);
        }
        if self.flow.take().is_some() && self.devices.as_ref().is_some_and(|v| v.pairing_active) {
            out.push(Effect::Command(json!({"kind": "cancel_pairing"})));
        }
        self.wallet = None;
        self.revealed = None;
        self.draft = None;
        self.pending = None;
        self.prf_wait = None;
        self.revoking = None;
        self.scan_note = None;
        self.busy = false;
        self.screen = Screen::Unlock;
        self.error = None;
        self.notice = auto.then(|| "Tandem locked after 5 minutes without use.".into());
        out
    }

    /// Whether the idle deadline has passed at `now_ms`.
    fn idle(&self, now_ms: f64) -> bool {
        now_ms - self.last_active_ms >= AUTO_LOCK_MS
    }

    /// The clock ticked: locks an open wallet at its idle deadline.
    pub fn on_tick(&mut self, now_ms: f64) -> Vec<Effect> {
        self.now_ms = now_ms;
        let mut out = self.expire_confirms();
        if self.wallet.is_some() && self.idle(now_ms) {
            out.extend(self.lock(true));
        }
        out
    }

    /// A key press or touch (not every one is a tap on an action): the
    /// idle deadline moves, unless it has passed already.
    pub fn touch(&mut self, now_ms: f64) {
        if self.wallet.is_some() && !self.idle(now_ms) {
            self.last_active_ms = now_ms;
        }
    }

    /// Starts approving the device whose link this is.
    fn accept(&mut self, link: String) -> Vec<Effect> {
        self.error = None;
        self.notice = None;
        self.scan_note = None;
        match crate::scan::classify(&link, self.now_secs()) {
            Scanned::Pairing(link) => {
                self.flow = Some(Flow::start(Role::FromLink, self.devices.as_ref()));
                self.screen = Screen::Pair;
                vec![Effect::Command(json!({
                    "kind": "accept_offer", "link": link, "typing": false, "allow_other_relay": false
                }))]
            }
            Scanned::Expired => {
                self.error = Some(
                    "This pairing code has expired (they last two minutes). Show a new code \
                     on your computer and scan it again."
                        .into(),
                );
                Vec::new()
            }
            Scanned::NotTandem => {
                self.error = Some(
                    "That is not a Tandem pairing link. On your computer, open Tandem → \
                     Devices → Pair a phone, then scan its code or copy its link."
                        .into(),
                );
                Vec::new()
            }
        }
    }

    /// A tap on an element with `data-action` (and `data-arg`). `field`
    /// reads a text field of the page by test id, `choice` a radio group's
    /// value, `checked` a checkbox by name.
    pub fn act(
        &mut self,
        action: &str,
        arg: &str,
        field: &dyn Fn(&str) -> String,
        choice: &dyn Fn(&str) -> Option<String>,
        checked: &dyn Fn(&str) -> bool,
    ) -> Vec<Effect> {
        if self.wallet.is_some() {
            // The page's timers may have slept: a tap after the deadline
            // only locks.
            if self.idle(self.now_ms) {
                return self.lock(true);
            }
            self.last_active_ms = self.now_ms;
        } else if !BEFORE_UNLOCK.contains(&action) {
            return Vec::new();
        }
        let leaving_scan = self.screen == Screen::Scan && action != "scan";
        let mut out = Vec::new();
        if leaving_scan && self.camera != Camera::Off {
            self.camera = Camera::Off;
            out.push(Effect::StopCamera);
        }
        if let Some(more) = self.biometric_act(action, field) {
            out.extend(more);
            return out;
        }
        if let Some(more) = self.restore_act(action) {
            out.extend(more);
            return out;
        }
        if let Some(more) = self.activity_act(action, arg) {
            out.extend(more);
            return out;
        }
        #[cfg(any(feature = "sync", test))]
        if let Some(more) = self.sync_act(action, arg, field) {
            out.extend(more);
            return out;
        }
        #[cfg(any(feature = "sync", test))]
        if let Some(more) = self.wallet_view_act(action) {
            out.extend(more);
            return out;
        }
        match action {
            "wallet-create" if self.vault.is_none() => {
                self.pending = Some(Job::Generate);
                self.busy = true;
                out.push(Effect::Work);
            }
            "wallet-import" if self.vault.is_none() => self.go(Screen::Import),
            "welcome" if self.vault.is_none() => {
                self.draft = None;
                self.go(Screen::Welcome);
            }
            "words" if self.draft.as_ref().is_some_and(Draft::created) => self.go(Screen::Words),
            "words-written" if self.draft.as_ref().is_some_and(Draft::created) => {
                self.go(Screen::Confirm);
            }
            "confirm-words" => {
                if let Some(d) = self.draft.as_ref() {
                    let answers: Vec<(usize, Secret)> = d
                        .positions
                        .iter()
                        .map(|&p| (p, Secret::new(field(&format!("confirm-word-{p}")))))
                        .collect();
                    match wallet::confirm(d, &answers) {
                        Ok(()) => self.go(Screen::Password),
                        Err(e) => self.error = Some(e),
                    }
                }
            }
            "import-submit" if self.vault.is_none() => {
                match wallet::import(&Secret::new(field("import-phrase"))) {
                    Ok(d) => {
                        self.draft = Some(d);
                        self.go(Screen::Password);
                    }
                    Err(e) => self.error = Some(e),
                }
            }
            "password-submit" if self.vault.is_none() && self.draft.is_some() => {
                let password = Secret::new(field("password-input"));
                let again = Secret::new(field("password-confirm-input"));
                match tandem_ui::validate::new_password(password.expose(), again.expose()) {
                    Ok(()) => {
                        self.error = None;
                        self.pending = Some(Job::Seal(password));
                        self.busy = true;
                        out.push(Effect::Work);
                    }
                    Err(e) => self.error = Some(wallet::sentence(&e.to_string())),
                }
            }
            "unlock" if self.vault.is_some() => {
                let password = Secret::new(field("unlock-password-input"));
                if password.expose().is_empty() {
                    self.error = Some("Enter your password.".into());
                } else {
                    self.error = None;
                    self.notice = None;
                    self.pending = Some(Job::Unlock(password));
                    self.busy = true;
                    out.push(Effect::Work);
                }
            }
            "lock" => out.extend(self.lock(false)),
            "reveal-open" => self.go(Screen::Reveal),
            "reveal-submit" => {
                let password = Secret::new(field("reveal-password-input"));
                if password.expose().is_empty() {
                    self.error = Some("Enter your password.".into());
                } else {
                    self.error = None;
                    self.pending = Some(Job::Reveal(password));
                    self.busy = true;
                    out.push(Effect::Work);
                }
            }
            "setup" => {
                let name = field("setup-name");
                let name = name.trim();
                if name.is_empty() {
                    self.error = Some("Give this phone a name, like “Ana’s Pixel”.".into());
                } else if name.chars().count() > 40 {
                    self.error = Some("Keep the name under 40 characters.".into());
                } else {
                    self.error = None;
                    self.busy = true;
                    self.device_opened = true;
                    out.push(Effect::Setup {
                        name: name.to_owned(),
                    });
                }
            }
            "home" | "open" => self.go(Screen::Home),
            "confirm-open" if !self.confirms.is_empty() => self.go(Screen::Approve),
            "confirm-approve" => out.extend(self.answer(arg, true)),
            "confirm-reject" => out.extend(self.answer(arg, false)),
            "policy-open" => self.go(Screen::Policy),
            "policy-save" => out.extend(self.save_policy(checked, &|id| field(id))),
            "accounts-share" => out.extend(self.share_accounts(true)),
            "accounts-unshare" => out.extend(self.share_accounts(false)),
            "help" => self.go(Screen::Help),
            "scan" | "add-device-start" => {
                if self.devices.as_ref().is_some_and(|v| v.removed.is_some()) {
                    self.error = Some(
                        "This phone was removed from its wallet group; it cannot add devices."
                            .into(),
                    );
                    return out;
                }
                self.go(Screen::Scan);
                self.scan_note = None;
                self.camera = if self.secure {
                    out.push(Effect::StartCamera);
                    Camera::Starting
                } else {
                    Camera::Insecure
                };
            }
            "paste" => self.go(Screen::Paste),
            "paste-submit" => {
                let link = field("paste-link");
                out.extend(self.accept(link));
            }
            "codes-match" => {
                let matches = arg == "yes";
                let approving = matches!(
                    self.flow.as_ref().and_then(|f| f.step.as_ref()),
                    Some(PairingPhase::CompareCode { .. })
                );
                if approving {
                    out.push(Effect::Command(
                        json!({"kind": "check_code", "matches": matches}),
                    ));
                }
            }
            "allow-other-relay" => {
                out.push(Effect::Command(json!({"kind": "allow_other_relay"})));
            }
            "cancel-pairing" => {
                out.push(Effect::Command(json!({"kind": "cancel_pairing"})));
                self.flow = None;
                self.go(Screen::Home);
            }
            "revoke" => {
                self.revoking = Some(arg.to_owned());
                self.error = None;
                self.notice = None;
            }
            "revoke-cancel" => self.revoking = None,
            "revoke-confirm" => {
                let me = self.devices.as_ref().is_some_and(|v| v.me == arg);
                let reason = if me {
                    "retired".to_owned()
                } else {
                    choice("revoke-reason").unwrap_or_else(|| "unspecified".into())
                };
                // The erase request only goes with a lost or compromised device.
                let erase = !me
                    && matches!(reason.as_str(), "lost" | "compromised")
                    && checked("revoke-erase");
                let name = self
                    .devices
                    .as_ref()
                    .and_then(|v| v.devices.iter().find(|d| d.id == arg))
                    .map(tandem_ui::devices::device_name)
                    .unwrap_or_else(|| "The device".into());
                self.revoking = None;
                self.notice = Some(if me {
                    "This phone is leaving the wallet group.".into()
                } else {
                    format!("{name} is being revoked; the group key rotates.")
                });
                out.push(Effect::Command(json!({
                    "kind": "revoke", "device": arg, "reason": reason, "erase": erase
                })));
            }
            _ => {}
        }
        out
    }

    pub(crate) fn go(&mut self, s: Screen) {
        if s != Screen::Reveal {
            self.revealed = None;
        }
        if self.screen != s {
            self.error = None;
            self.notice = None;
        }
        self.screen = s;
    }

    /// The camera opened, or failed (`error` is the DOMException's name
    /// and message).
    pub fn on_camera(&mut self, result: Result<(), (String, String)>) -> Vec<Effect> {
        if self.screen != Screen::Scan {
            return vec![Effect::StopCamera];
        }
        self.camera = match result {
            Ok(()) => Camera::Scanning,
            Err((name, _)) if name == "NotAllowedError" || name == "SecurityError" => {
                Camera::Denied
            }
            Err((name, _)) if name == "NotFoundError" || name == "OverconstrainedError" => {
                Camera::Missing
            }
            Err((_, message)) => Camera::Failed(message),
        };
        Vec::new()
    }

    /// What the camera read in a frame.
    pub fn on_scan(&mut self, s: Scanned) -> Vec<Effect> {
        if self.screen != Screen::Scan {
            return Vec::new();
        }
        match s {
            Scanned::Pairing(link) => {
                self.camera = Camera::Off;
                let mut out = vec![Effect::StopCamera];
                out.extend(self.accept(link));
                out
            }
            Scanned::Expired => {
                self.scan_note =
                    Some("This code has expired. On your computer, choose “New code”.".into());
                Vec::new()
            }
            Scanned::NotTandem => {
                self.scan_note = Some("That QR code is not a Tandem pairing code.".into());
                Vec::new()
            }
        }
    }

    /// An event from the device engine. `true` if the page changes.
    pub fn on_event(&mut self, e: DeviceEvent) -> bool {
        if let ("pairing", Some(PairingPhase::Paired { .. })) = (e.kind.as_str(), &e.pairing) {
            // The device this phone just approved learns its policy and
            // the accounts it may use.
            let announce = self.announce_policy();
            self.queued.push(announce);
            let accounts = self.announce_accounts();
            self.queued.extend(accounts);
        }
        match (e.kind.as_str(), e.pairing) {
            ("pairing", Some(p)) => match self.flow.as_mut() {
                Some(f) => {
                    f.on_event(p);
                    self.busy = false;
                    true
                }
                None => false,
            },
            // The Unlock screen shows only its own errors (the engine runs
            // on while the wallet is locked).
            ("failed", _) if self.wallet.is_none() && self.vault.is_some() => false,
            ("failed", _) if !e.error.is_empty() => {
                match self.flow.as_mut() {
                    Some(f) if e.what == "pairing" && f.step.is_none() => f.on_failure(&e.error),
                    _ => self.error = Some(e.error),
                }
                self.busy = false;
                true
            }
            // The sync engine has changes to back up (the sync module).
            ("backup", _) => {
                if self.activity {
                    self.queued.push(Effect::BackupSoon);
                }
                false
            }
            ("removed", _) => {
                self.revoking = None;
                true
            }
            // The relay stored what this phone sent: when the status line
            // says it synced.
            ("sent", _) => {
                #[cfg(any(feature = "sync", test))]
                {
                    self.sent_at = Some(self.now_ms);
                }
                false
            }
            // A device joined: it learns this phone's policy (the ones
            // already in the group have it).
            ("device_added", _) => {
                let announce = self.announce_policy();
                self.queued.push(announce);
                let accounts = self.announce_accounts();
                self.queued.extend(accounts);
                true
            }
            _ => false,
        }
    }

    /// The engine's device list changed.
    pub fn on_view(&mut self, v: DevicesView) {
        if let Some(f) = self.flow.as_mut() {
            f.on_view(&v);
        }
        if self.screen == Screen::Setup {
            self.screen = Screen::Home;
        }
        self.busy = false;
        self.devices = Some(v);
    }

    /// A command was refused at once (bad input, nothing started).
    pub fn on_refused(&mut self, error: String) {
        if self.wallet.is_none() && self.vault.is_some() {
            return; // locked: see `on_event`
        }
        self.busy = false;
        if self.screen == Screen::Pair && self.flow.as_ref().is_some_and(|f| f.step.is_none()) {
            if let Some(f) = self.flow.as_mut() {
                f.on_failure(&error);
            }
        } else {
            self.error = Some(error);
        }
    }
}

/// Phones in a known state, for the tests of this crate.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use rand_core::OsRng;

    fn none(_: &str) -> String {
        String::new()
    }
    fn no_choice(_: &str) -> Option<String> {
        None
    }
    fn unchecked(_: &str) -> bool {
        false
    }

    pub(crate) const ANVIL: &str = "test test test test test test test test test test test junk";
    pub(crate) const PASSWORD: &str = "correct horse battery";

    /// A phone whose wallet was just imported (cheap KDF), not named yet.
    pub(crate) fn imported(link: Option<String>, now: f64, secure: bool) -> (Phone, Vec<Effect>) {
        let mut p = Phone::new(None, false, link, now, secure);
        p.kdf = KdfParams::INSECURE_TEST;
        assert_eq!(p.screen, Screen::Welcome);
        p.act("wallet-import", "", &none, &no_choice, &unchecked);
        assert_eq!(p.screen, Screen::Import);
        p.act(
            "import-submit",
            "",
            &|_| ANVIL.into(),
            &no_choice,
            &unchecked,
        );
        assert_eq!(p.screen, Screen::Password, "{:?}", p.error);
        let out = p.act(
            "password-submit",
            "",
            &|_| PASSWORD.into(),
            &no_choice,
            &unchecked,
        );
        assert_eq!(out, vec![Effect::Work]);
        let out = p.work(&mut OsRng);
        (p, out)
    }

    /// A device list: this phone `me` (the founder) and the `others`,
    /// named "dev <id>".
    pub(crate) fn view(me: &str, others: &[&str]) -> DevicesView {
        let dev = |id: &str, this: bool| tandem_device::DeviceView {
            id: id.into(),
            name: format!("dev {id}"),
            this_device: this,
            founder: this,
            paired_at: None,
            last_seen: None,
            token_expires: None,
            removed: None,
        };
        DevicesView {
            me: me.into(),
            name: "Phone".into(),
            group: "g".into(),
            relay: "ws://127.0.0.1:8787/v1/ws".into(),
            epoch: 0,
            online: true,
            paired: !others.is_empty(),
            pairing_active: false,
            pairing: None,
            devices: std::iter::once(dev(me, true))
                .chain(others.iter().map(|o| dev(o, false)))
                .collect(),
            removed: None,
            waiting: Default::default(),
        }
    }

    /// A phone with an open wallet and its device, on Home.
    pub(crate) fn open_phone(now: f64, secure: bool) -> Phone {
        let (mut p, _) = imported(None, now, secure);
        p.device_set_up = true;
        p.device_opened = true;
        p.screen = Screen::Home;
        p
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use rand_core::OsRng;

    fn link(exp: u64) -> String {
        format!(
            "tandem:pair?v=2&relay=ws://127.0.0.1:8787/v1/ws&topic={}&key={}&commit={}&exp={exp}",
            "A".repeat(43),
            "A".repeat(43),
            "A".repeat(43)
        )
    }

    fn none(_: &str) -> String {
        String::new()
    }
    fn no_choice(_: &str) -> Option<String> {
        None
    }
    fn unchecked(_: &str) -> bool {
        false
    }

    #[test]
    fn opened_from_a_qr_link_it_sets_up_then_approves_that_link() {
        let (mut p, out) = imported(Some(link(2_000)), 1_000_000.0, true);
        // An imported phrase: the relay is asked for its backup, by id.
        assert!(
            matches!(&out[..], [Effect::SaveVault(v), Effect::BackupLook(path)] if v.contains("tandem-vault") && path.starts_with("/v1/backup/"))
        );
        assert_eq!(p.screen, Screen::Setup);
        let out = p.act(
            "setup",
            "",
            &|_| "Ana's Pixel".into(),
            &no_choice,
            &unchecked,
        );
        assert_eq!(
            out,
            vec![Effect::Setup {
                name: "Ana's Pixel".into()
            }]
        );
        let out = p.on_ready();
        assert_eq!(out[0], Effect::Command(json!({"kind": "connect"})));
        assert_eq!(out[1], Effect::ClearLink);
        assert!(
            matches!(&out[2], Effect::Command(c) if c["kind"] == "accept_offer" && c["link"] == link(2_000))
        );
        assert_eq!(p.screen, Screen::Pair);
        assert!(p.pending_link.is_none());
    }

    #[test]
    fn setup_needs_a_name() {
        let (mut p, _) = imported(None, 0.0, true);
        assert!(p
            .act("setup", "", &|_| "  ".into(), &no_choice, &unchecked)
            .is_empty());
        assert!(p.error.as_deref().unwrap_or("").contains("name"));
        let long = "x".repeat(41);
        assert!(p
            .act("setup", "", &|_| long.clone(), &no_choice, &unchecked)
            .is_empty());
    }

    #[test]
    fn the_camera_opens_on_scan_closes_on_leaving_and_says_why_it_cannot() {
        let mut p = open_phone(0.0, true);
        assert_eq!(
            p.act("scan", "", &none, &no_choice, &unchecked),
            vec![Effect::StartCamera]
        );
        assert_eq!(p.camera, Camera::Starting);
        p.on_camera(Err(("NotAllowedError".into(), "Permission denied".into())));
        assert_eq!(p.camera, Camera::Denied);
        assert_eq!(
            p.act("home", "", &none, &no_choice, &unchecked),
            vec![Effect::StopCamera]
        );
        p.act("scan", "", &none, &no_choice, &unchecked);
        p.on_camera(Err(("NotFoundError".into(), "none".into())));
        assert_eq!(p.camera, Camera::Missing);
        let mut insecure = open_phone(0.0, false);
        assert!(insecure
            .act("scan", "", &none, &no_choice, &unchecked)
            .is_empty());
        assert_eq!(insecure.camera, Camera::Insecure);
    }

    #[test]
    fn a_scanned_code_starts_the_pairing_and_bad_codes_are_explained() {
        let mut p = open_phone(1_000_000.0, true);
        p.act("scan", "", &none, &no_choice, &unchecked);
        p.on_camera(Ok(()));
        assert!(p.on_scan(Scanned::NotTandem).is_empty());
        assert!(p
            .scan_note
            .as_deref()
            .unwrap_or("")
            .contains("not a Tandem"));
        assert!(p.on_scan(Scanned::Expired).is_empty());
        assert!(p.scan_note.as_deref().unwrap_or("").contains("expired"));
        let out = p.on_scan(Scanned::Pairing(link(2_000)));
        assert_eq!(out[0], Effect::StopCamera);
        assert!(matches!(&out[1], Effect::Command(c) if c["kind"] == "accept_offer"));
        assert_eq!(p.screen, Screen::Pair);
    }

    #[test]
    fn a_pasted_expired_or_foreign_link_is_refused_with_its_reason() {
        let mut p = open_phone(5_000_000.0, true);
        p.act("paste", "", &none, &no_choice, &unchecked);
        assert!(p
            .act("paste-submit", "", &|_| link(2_000), &no_choice, &unchecked)
            .is_empty());
        assert!(p.error.as_deref().unwrap_or("").contains("expired"));
        assert!(p
            .act(
                "paste-submit",
                "",
                &|_| "hello".into(),
                &no_choice,
                &unchecked
            )
            .is_empty());
        assert!(p.error.as_deref().unwrap_or("").contains("not a Tandem"));
        assert_eq!(p.screen, Screen::Paste);
    }

    #[test]
    fn codes_are_checked_only_at_the_compare_step() {
        let mut p = open_phone(1_000_000.0, true);
        p.act("paste-submit", "", &|_| link(2_000), &no_choice, &unchecked);
        assert!(p
            .act("codes-match", "yes", &none, &no_choice, &unchecked)
            .is_empty());
        let e = DeviceEvent {
            kind: "pairing".into(),
            pairing: Some(PairingPhase::CompareCode {
                code: "123456".into(),
                name: "Chrome".into(),
            }),
            what: String::new(),
            error: String::new(),
        };
        assert!(p.on_event(e));
        assert_eq!(
            p.act("codes-match", "no", &none, &no_choice, &unchecked),
            vec![Effect::Command(
                json!({"kind": "check_code", "matches": false})
            )]
        );
    }

    #[test]
    fn revoking_asks_for_erase_only_for_lost_or_compromised_devices() {
        let mut p = open_phone(0.0, true);
        p.on_view(view("aa", &["bb"]));
        p.act("revoke", "bb", &none, &no_choice, &unchecked);
        assert_eq!(p.revoking.as_deref(), Some("bb"));
        // (target, reason chosen, erase ticked) -> the command sent
        for (target, chosen, sent_reason, erase) in [
            ("bb", "retired", "retired", false),
            ("bb", "lost", "lost", true),
            ("aa", "lost", "retired", false),
        ] {
            let out = p.act(
                "revoke-confirm",
                target,
                &none,
                &|_| Some(chosen.into()),
                &|_| true,
            );
            assert_eq!(
                out,
                vec![Effect::Command(
                    json!({"kind": "revoke", "device": target, "reason": sent_reason, "erase": erase})
                )]
            );
        }
        assert!(p.notice.as_deref().unwrap_or("").contains("leaving"));
    }

    #[test]
    fn create_shows_the_words_refuses_a_wrong_confirmation_then_seals_and_names_the_phone() {
        let mut p = Phone::new(None, false, None, 0.0, true);
        p.kdf = KdfParams::INSECURE_TEST;
        assert_eq!(
            p.act("wallet-create", "", &none, &no_choice, &unchecked),
            vec![Effect::Work]
        );
        assert!(p.busy);
        assert!(p.work(&mut OsRng).is_empty());
        assert_eq!(p.screen, Screen::Words);
        let words: Vec<String> = p
            .draft
            .as_ref()
            .map(|d| d.words().iter().map(|w| w.to_string()).collect())
            .unwrap_or_default();
        assert_eq!(words.len(), 12);
        // The phrase is never in Debug (the whole model, while it is shown).
        let debug = format!("{p:?}");
        assert!(!debug.contains(&words.join(" ")), "phrase in Debug");
        assert!(
            words
                .iter()
                .filter(|w| debug.contains(&format!("\"{w}\"")))
                .count()
                == 0,
            "a word in Debug: {debug}"
        );
        p.act("words-written", "", &none, &no_choice, &unchecked);
        assert_eq!(p.screen, Screen::Confirm);
        let positions = p
            .draft
            .as_ref()
            .map(|d| d.positions.clone())
            .unwrap_or_default();
        assert_eq!(positions.len(), 3);
        // One wrong word: refused, by its position, and nothing sealed.
        let wrong = positions[2];
        let answer = |id: &str| -> String {
            let i: usize = id
                .strip_prefix("confirm-word-")
                .and_then(|n| n.parse().ok())
                .unwrap_or(99);
            if i == wrong {
                "zzzz".into()
            } else {
                words[i].clone()
            }
        };
        assert!(p
            .act("confirm-words", "", &answer, &no_choice, &unchecked)
            .is_empty());
        assert_eq!(p.screen, Screen::Confirm);
        let e = p.error.clone().unwrap_or_default();
        assert!(e.contains(&format!("#{}", wrong + 1)), "{e}");
        // The error does not give the word away: it is the very error a
        // wrong word at that position of another phrase gets (BIP-39's
        // all-zero vector). A substring check flaked: the message's own
        // words ("match", and "own" in "down") are BIP-39 words too.
        let elsewhere = tandem_ui::validate::confirm_words(
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
            &[(wrong, "zzzz".into())],
        )
        .map_err(|e| wallet::sentence(&e.to_string()))
        .unwrap_err();
        assert_eq!(e, elsewhere, "the error depends on the phrase");
        let right = |id: &str| -> String {
            let i: usize = id
                .strip_prefix("confirm-word-")
                .and_then(|n| n.parse().ok())
                .unwrap_or(99);
            words[i].clone()
        };
        p.act("confirm-words", "", &right, &no_choice, &unchecked);
        assert_eq!(p.screen, Screen::Password);
        // The extension's password rules.
        p.act(
            "password-submit",
            "",
            &|_| "short".into(),
            &no_choice,
            &unchecked,
        );
        assert!(p.error.as_deref().unwrap_or("").contains("8 characters"));
        let differ = |id: &str| -> String {
            if id == "password-input" {
                PASSWORD.into()
            } else {
                "something else".into()
            }
        };
        p.act("password-submit", "", &differ, &no_choice, &unchecked);
        assert!(p.error.as_deref().unwrap_or("").contains("differ"));
        assert!(p.vault.is_none());
        p.act(
            "password-submit",
            "",
            &|_| PASSWORD.into(),
            &no_choice,
            &unchecked,
        );
        let out = p.work(&mut OsRng);
        assert!(matches!(&out[..], [Effect::SaveVault(_)]), "{out:?}");
        assert_eq!(p.screen, Screen::Setup);
        assert!(p.draft.is_none(), "the draft phrase is dropped once sealed");
        let vault = p.vault.clone().unwrap_or_default();
        assert!(
            !vault.contains(&words.join(" ")),
            "the vault holds no phrase in clear"
        );
        // The name step, as before.
        let out = p.act(
            "setup",
            "",
            &|_| "Ana's Pixel".into(),
            &no_choice,
            &unchecked,
        );
        assert_eq!(
            out,
            vec![Effect::Setup {
                name: "Ana's Pixel".into()
            }]
        );
    }

    #[test]
    fn import_names_the_bad_word() {
        let mut p = Phone::new(None, false, None, 0.0, true);
        p.act("wallet-import", "", &none, &no_choice, &unchecked);
        let bad =
            |_: &str| "test test test test test tets test test test test test junk".to_owned();
        assert!(p
            .act("import-submit", "", &bad, &no_choice, &unchecked)
            .is_empty());
        assert_eq!(p.screen, Screen::Import);
        let e = p.error.clone().unwrap_or_default();
        assert!(e.contains("Word 6") && e.contains("“tets”"), "{e}");
    }

    #[test]
    fn a_returning_start_asks_for_the_password_first_and_a_wrong_one_loses_nothing() {
        let (p, _) = imported(None, 0.0, true);
        let vault = p.vault.clone().expect("a vault");
        let mut p = Phone::new(
            Some(vault.clone()),
            true,
            Some(link(2_000)),
            1_000_000.0,
            true,
        );
        p.kdf = KdfParams::INSECURE_TEST;
        assert_eq!(p.screen, Screen::Unlock);
        // Nothing else answers before the unlock.
        for action in [
            "scan",
            "paste",
            "help",
            "reveal-open",
            "setup",
            "wallet-create",
        ] {
            assert!(p.act(action, "", &none, &no_choice, &unchecked).is_empty());
            assert_eq!(p.screen, Screen::Unlock, "{action}");
        }
        assert!(p
            .act("unlock", "", &none, &no_choice, &unchecked)
            .is_empty());
        assert!(p
            .error
            .as_deref()
            .unwrap_or("")
            .contains("Enter your password"));
        let out = p.act(
            "unlock",
            "",
            &|_| "wrong password".into(),
            &no_choice,
            &unchecked,
        );
        assert_eq!(out, vec![Effect::Work]);
        // The failed unlock goes to the Activity log.
        assert_eq!(
            p.work(&mut OsRng),
            vec![Effect::Audit(tandem_sync::audit::Happened::Unlock {
                ok: false
            })]
        );
        assert_eq!(p.error.as_deref(), Some("Wrong password. Try again."));
        assert_eq!(p.screen, Screen::Unlock);
        assert!(p.wallet.is_none());
        assert_eq!(p.vault.as_deref(), Some(vault.as_str()), "nothing lost");
        p.act("unlock", "", &|_| PASSWORD.into(), &no_choice, &unchecked);
        // The device engine opens only now; the link waits for it.
        assert_eq!(
            p.work(&mut OsRng),
            vec![
                Effect::Audit(tandem_sync::audit::Happened::Unlock { ok: true }),
                Effect::OpenDevice
            ]
        );
        assert_eq!(p.screen, Screen::Home);
        assert!(p.error.is_none());
        assert_eq!(
            p.wallet.as_ref().map(|w| w.address.as_str()),
            Some("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        );
        let out = p.on_ready();
        assert!(matches!(&out[2], Effect::Command(c) if c["kind"] == "accept_offer"));
    }

    #[test]
    fn it_locks_at_the_idle_deadline_and_a_late_tap_only_locks() {
        let t0 = 1_000_000.0;
        let mut p = open_phone(t0, true);
        p.last_active_ms = t0;
        assert!(p.on_tick(t0 + AUTO_LOCK_MS - 1.0).is_empty());
        assert!(p.wallet.is_some());
        // A tap moves the deadline.
        p.act("help", "", &none, &no_choice, &unchecked);
        assert_eq!(p.last_active_ms, t0 + AUTO_LOCK_MS - 1.0);
        assert!(p.on_tick(t0 + 2.0 * AUTO_LOCK_MS - 2.0).is_empty());
        p.on_tick(t0 + 2.0 * AUTO_LOCK_MS - 1.0);
        assert!(p.wallet.is_none(), "locked at the deadline");
        assert_eq!(p.screen, Screen::Unlock);
        assert!(p.notice.as_deref().unwrap_or("").contains("5 minutes"));

        // The page slept: the first tap after the deadline locks, and does
        // nothing else (the camera does not open).
        let mut p = open_phone(t0, true);
        p.now_ms = t0 + AUTO_LOCK_MS;
        assert!(p.act("scan", "", &none, &no_choice, &unchecked).is_empty());
        assert_eq!(p.screen, Screen::Unlock);
        assert!(p.wallet.is_none());
        // Unlocking again does not reopen the device (it kept running).
        p.act("unlock", "", &|_| PASSWORD.into(), &no_choice, &unchecked);
        assert_eq!(
            p.work(&mut OsRng),
            vec![Effect::Audit(tandem_sync::audit::Happened::Unlock {
                ok: true
            })]
        );
        assert_eq!(p.screen, Screen::Home);
        assert!(p.wallet.is_some());
    }

    #[test]
    fn the_lock_button_closes_the_camera_and_forgets_the_keys() {
        let mut p = open_phone(0.0, true);
        p.act("scan", "", &none, &no_choice, &unchecked);
        assert_eq!(
            p.act("lock", "", &none, &no_choice, &unchecked),
            vec![Effect::StopCamera]
        );
        assert!(p.wallet.is_none() && p.revealed.is_none());
        assert_eq!(p.screen, Screen::Unlock);
        assert!(p.notice.is_none());
        // The engine runs on; its failures stay off the Unlock screen.
        let failed = DeviceEvent {
            kind: "failed".into(),
            pairing: None,
            what: "connect".into(),
            error: "the relay is unreachable".into(),
        };
        assert!(!p.on_event(failed));
        p.on_refused("no pairing runs".into());
        assert!(p.error.is_none());
    }

    #[test]
    fn the_phrase_is_shown_again_only_after_the_password() {
        let mut p = open_phone(0.0, true);
        p.act("help", "", &none, &no_choice, &unchecked);
        p.act("reveal-open", "", &none, &no_choice, &unchecked);
        assert_eq!(p.screen, Screen::Reveal);
        p.act(
            "reveal-submit",
            "",
            &|_| "not it".into(),
            &no_choice,
            &unchecked,
        );
        p.work(&mut OsRng);
        assert!(p.revealed.is_none());
        assert_eq!(p.error.as_deref(), Some("Wrong password. Try again."));
        p.act(
            "reveal-submit",
            "",
            &|_| PASSWORD.into(),
            &no_choice,
            &unchecked,
        );
        p.work(&mut OsRng);
        assert_eq!(p.revealed.as_ref().map(Secret::expose), Some(ANVIL));
        assert!(
            !format!("{p:?}").contains("junk"),
            "the phrase is never in Debug"
        );
        // Leaving the screen forgets it.
        p.act("home", "", &none, &no_choice, &unchecked);
        assert!(p.revealed.is_none());
    }

    #[test]
    fn an_update_refusal_is_told_with_its_reason() {
        let mut p = Phone::new(None, false, None, 0.0, true);
        p.on_update("something-else", "x");
        assert!(p.update.is_none());
        p.on_update("update-refused", "it is not signed");
        let t = p.update.clone().unwrap_or_default();
        assert!(
            t.contains("refused: it is not signed") && t.contains("keep the version"),
            "{t}"
        );
        p.on_update("update-ready", "");
        assert!(p
            .update
            .as_deref()
            .unwrap_or("")
            .contains("signed by its release key"));
    }

    #[test]
    fn the_user_is_told_when_the_browser_may_clear_the_app() {
        let mut p = Phone::new(None, false, None, 0.0, true);
        assert!(
            p.storage_warning().is_none(),
            "nothing before the browser answered"
        );
        p.on_storage(true);
        assert!(p.storage_warning().is_none());
        p.on_storage(false);
        assert!(p
            .storage_warning()
            .unwrap_or("")
            .contains("recovery phrase"));
    }
}
