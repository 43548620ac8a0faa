//! The UI model the views read: which page and screen, and what the worker
//! last said.

use crate::model::{ActivityItem, Approval, Network, Portfolio, RelaySetting, WalletState};
use crate::pairing::Flow;

/// Which page the UI runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// `popup.html` (360x600).
    Popup,
    /// `onboarding.html` (a full tab).
    Onboarding,
    /// `approval.html?id=`.
    Approval,
}

/// The screen shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Waiting for the first state.
    Loading,
    /// No wallet yet: create or import.
    Welcome,
    /// Create, step 1: the words.
    CreateWords,
    /// Create, step 2: type some words back.
    CreateConfirm,
    /// Create, step 3: the password.
    CreatePassword,
    /// Import a phrase or key.
    Import,
    /// Locked.
    Unlock,
    /// The popup home.
    Home,
    /// Account list.
    Accounts,
    /// Network list.
    Networks,
    /// Add or edit a network.
    NetworkForm,
    /// Settings.
    Settings,
    /// Settings -> Change password.
    ChangePassword,
    /// Watch an ERC-20 by its address.
    AddToken,
    /// The approval window's request.
    Approval,
    /// The approval was answered.
    ApprovalDone,
    /// The wallet group's devices.
    Devices,
    /// Pair a phone: this browser shows a QR code.
    Pair,
    /// Approve another device from its pairing link.
    AddDevice,
    /// Settings → Sync (`crate::sync`).
    Sync,
    /// Settings → Activity log (`crate::audit`).
    Audit,
    /// Settings → Help (`crate::help`).
    Help,
    /// Settings → Show recovery phrase (`crate::secrets`).
    RevealPhrase,
    /// Settings → Export private key (`crate::secrets`).
    ExportKey,
    /// Settings → Import account (`crate::secrets`).
    ImportAccount,
    /// Accounts → Remove (`crate::secrets`).
    RemoveAccount,
    /// Send the native coin or a token (`crate::send`).
    Send,
    /// The address as text and QR (`crate::receive`).
    Receive,
}

impl Screen {
    /// Part of onboarding (kept while the state says "not initialized").
    pub fn is_onboarding(self) -> bool {
        matches!(
            self,
            Screen::Welcome
                | Screen::CreateWords
                | Screen::CreateConfirm
                | Screen::CreatePassword
                | Screen::Import
        )
    }
    /// Stable name, set as `data-screen` on the root.
    pub fn name(self) -> &'static str {
        match self {
            Screen::Loading => "loading",
            Screen::Welcome => "welcome",
            Screen::CreateWords => "create-words",
            Screen::CreateConfirm => "create-confirm",
            Screen::CreatePassword => "create-password",
            Screen::Import => "import",
            Screen::Unlock => "unlock",
            Screen::Home => "home",
            Screen::Accounts => "accounts",
            Screen::Networks => "networks",
            Screen::NetworkForm => "network-form",
            Screen::Settings => "settings",
            Screen::ChangePassword => "change-password",
            Screen::AddToken => "token-form",
            Screen::Approval => "approval",
            Screen::ApprovalDone => "approval-done",
            Screen::Devices => "devices",
            Screen::Pair => "pair",
            Screen::AddDevice => "add-device",
            Screen::Sync => "sync",
            Screen::Audit => "audit",
            Screen::Help => "help",
            Screen::RevealPhrase => "reveal-phrase",
            Screen::ExportKey => "export-key",
            Screen::ImportAccount => "import-account",
            Screen::RemoveAccount => "remove-account",
            Screen::Send => "send",
            Screen::Receive => "receive",
        }
    }
}

/// Tabs on the home screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Native and token balances.
    Tokens,
    /// Own transactions.
    Activity,
    /// Connected sites.
    Sites,
}

/// The recovery phrase during onboarding: never printed by `Debug`, zeroized
/// on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretPhrase(String);

impl SecretPhrase {
    /// Wraps a phrase.
    pub fn new(s: String) -> Self {
        SecretPhrase(s)
    }
    /// The phrase.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Its words.
    pub fn words(&self) -> Vec<&str> {
        self.0.split_whitespace().collect()
    }
}

impl core::fmt::Debug for SecretPhrase {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SecretPhrase(<redacted>)")
    }
}

impl Drop for SecretPhrase {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// Everything the views read.
#[derive(Debug, Clone)]
pub struct Ui {
    /// Page.
    pub page: Page,
    /// Screen.
    pub screen: Screen,
    /// Home tab.
    pub tab: Tab,
    /// Last worker state.
    pub state: Option<WalletState>,
    /// Last portfolio.
    pub portfolio: Option<Portfolio>,
    /// Last activity list.
    pub activity: Vec<ActivityItem>,
    /// The approval shown (approval page).
    pub approval: Option<Approval>,
    /// Onboarding: the generated phrase.
    pub phrase: Option<SecretPhrase>,
    /// Onboarding: positions (0-based) the user must type back.
    pub confirm_positions: Vec<usize>,
    /// Address being renamed.
    pub renaming: Option<String>,
    /// Network being edited (`None` with `Screen::NetworkForm` = new).
    pub editing_network: Option<Network>,
    /// Error to show in the current form.
    pub error: Option<String>,
    /// Non-error notice.
    pub notice: Option<String>,
    /// The shown data came from the cache and fresh data is on its way.
    pub stale: bool,
    /// A request is in flight (buttons disabled).
    pub busy: bool,
    /// Wall clock, ms, for relative times.
    pub now_ms: f64,
    /// The page's time zone, minutes east of UTC, for dates.
    pub utc_offset_min: i32,
    /// Last device list (from the worker, or its cache for Home).
    pub devices: Option<tandem_device::DevicesView>,
    /// `devices` was read (it stays `None` if this browser has no device
    /// yet); Home's pairing line is blank until then.
    pub devices_loaded: bool,
    /// The pairing followed on the pairing screens.
    pub flow: Option<Flow>,
    /// Device (hex id) whose revoke confirm step is open.
    pub revoking: Option<String>,
    /// The relay setting, once loaded (Settings).
    pub relay: Option<RelaySetting>,
    /// The pairing link last submitted (shown again if it was refused).
    pub link_draft: String,
    /// The approval window has been visible and focused long enough for
    /// Approve to work (see `queue`).
    pub approve_armed: bool,
    /// The sync screen's data, once loaded.
    pub sync: Option<tandem_sync::view::SyncView>,
    /// Pages of the Sync screen's address book asked for ("Show more")
    /// after the first [`crate::sync::PAGE`] rows.
    pub sync_more: usize,
    /// The activity log screen's data, once loaded.
    pub audit: Option<crate::audit::AuditScreen>,
    /// A revealed secret, the account being removed (`crate::secrets`).
    pub secrets: crate::secrets::Secrets,
    /// The Send screen's choices (`crate::send`).
    pub send: crate::send::SendState,
    /// Token facts read from contracts for the approval shown (`crate::token`).
    pub tokens: Vec<crate::token::TokenFacts>,
    /// Tokens hidden from Home's list (`crate::hide`).
    pub hidden: crate::hide::Hidden,
}

impl Ui {
    /// A fresh model for `page`.
    pub fn new(page: Page) -> Self {
        Ui {
            page,
            screen: Screen::Loading,
            tab: Tab::Tokens,
            state: None,
            portfolio: None,
            activity: Vec::new(),
            approval: None,
            phrase: None,
            confirm_positions: Vec::new(),
            renaming: None,
            editing_network: None,
            error: None,
            notice: None,
            stale: false,
            busy: false,
            now_ms: 0.0,
            utc_offset_min: 0,
            devices: None,
            devices_loaded: false,
            flow: None,
            revoking: None,
            relay: None,
            link_draft: String::new(),
            approve_armed: false,
            sync: None,
            sync_more: 0,
            audit: None,
            secrets: crate::secrets::Secrets::default(),
            send: Default::default(),
            tokens: Vec::new(),
            hidden: Default::default(),
        }
    }

    /// Picks the screen the state allows, keeping the current one when it
    /// still makes sense (an open form is not yanked away by a refresh).
    pub fn route(&mut self) {
        let Some(st) = &self.state else {
            self.screen = Screen::Loading;
            return;
        };
        self.screen = if !st.initialized {
            if self.screen.is_onboarding() {
                self.screen
            } else {
                Screen::Welcome
            }
        } else if !st.unlocked {
            Screen::Unlock
        } else {
            match (self.page, self.screen) {
                (_, Screen::ApprovalDone) => Screen::ApprovalDone,
                (Page::Approval, _) => Screen::Approval,
                (_, s)
                    if s.is_onboarding()
                        || matches!(s, Screen::Loading | Screen::Unlock | Screen::Approval) =>
                {
                    Screen::Home
                }
                (_, s) => s,
            }
        };
        if self.screen != Screen::CreateWords
            && self.screen != Screen::CreateConfirm
            && self.screen != Screen::CreatePassword
        {
            self.phrase = None;
            self.confirm_positions.clear();
        }
        crate::secrets::left_screen(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::fixtures::state;

    #[test]
    fn routing_follows_the_state() {
        let mut ui = Ui::new(Page::Popup);
        ui.route();
        assert_eq!(ui.screen, Screen::Loading);
        ui.state = Some(WalletState::default());
        ui.route();
        assert_eq!(ui.screen, Screen::Welcome);
        ui.screen = Screen::Import;
        ui.route();
        assert_eq!(ui.screen, Screen::Import, "an open onboarding form stays");
        ui.state = Some(WalletState {
            initialized: true,
            ..Default::default()
        });
        ui.route();
        assert_eq!(ui.screen, Screen::Unlock);
        ui.state = Some(state());
        ui.route();
        assert_eq!(ui.screen, Screen::Home);
        ui.screen = Screen::Accounts;
        ui.route();
        assert_eq!(
            ui.screen,
            Screen::Accounts,
            "a refresh keeps the accounts screen"
        );
        let mut ap = Ui::new(Page::Approval);
        ap.state = Some(state());
        ap.route();
        assert_eq!(ap.screen, Screen::Approval);
    }
}
