//! Pure views: the UI model in, a small virtual DOM out. `dom` turns a
//! [`Node`] into real elements; tests inspect it directly.
//!
//! Interaction is declarative: an element carries `data-action` (and
//! `data-arg`), forms carry `data-action` on submit, and `<select>`s carry
//! `data-change`. The app dispatches on those strings (see [`Action`]).

use crate::format::{format_native, format_units, relative_time, shorten_address};
use crate::model::{
    personal_sign_text, Account, ActivityItem, Approval, Network, Portfolio, RelaySetting,
    SignText, WalletState,
};
use crate::pairing::Flow;
use crate::tx::{decode_call, describe, FeeForm, KnownCall};
use crate::typed_data::{self, Field, FieldValue, Severity};
use crate::validate::{password_strength, Strength};
use crate::{devices, pairing};
use serde_json::Value;

/// A virtual DOM node.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// An element.
    El(El),
    /// A text node (always set as text, never parsed as HTML).
    Text(String),
}

/// A virtual element.
#[derive(Debug, Clone, PartialEq)]
pub struct El {
    /// Tag name.
    pub tag: &'static str,
    /// Attributes in order.
    pub attrs: Vec<(&'static str, String)>,
    /// Children.
    pub children: Vec<Node>,
}

/// Starts an element.
pub fn el(tag: &'static str) -> El {
    El {
        tag,
        attrs: Vec::new(),
        children: Vec::new(),
    }
}

impl El {
    /// Adds an attribute.
    pub fn attr(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.attrs.push((k, v.into()));
        self
    }
    /// Sets `class`.
    pub fn class(self, c: &str) -> Self {
        self.attr("class", c)
    }
    /// Sets the stable test id.
    pub fn tid(self, id: impl Into<String>) -> Self {
        self.attr("data-testid", id)
    }
    /// Click (or submit, on a form) dispatches `action`.
    pub fn action(self, action: &str) -> Self {
        self.attr("data-action", action)
    }
    /// Click dispatches `action` with `arg`.
    pub fn action_arg(self, action: &str, arg: impl Into<String>) -> Self {
        self.attr("data-action", action).attr("data-arg", arg)
    }
    /// Adds a text child.
    pub fn text(mut self, t: impl Into<String>) -> Self {
        self.children.push(Node::Text(t.into()));
        self
    }
    /// Adds a child element.
    pub fn child(mut self, c: El) -> Self {
        self.children.push(Node::El(c));
        self
    }
    /// Adds an optional child element.
    pub fn maybe(self, c: Option<El>) -> Self {
        match c {
            Some(c) => self.child(c),
            None => self,
        }
    }
    /// Adds child elements.
    pub fn children(mut self, cs: impl IntoIterator<Item = El>) -> Self {
        self.children.extend(cs.into_iter().map(Node::El));
        self
    }
    /// Reads an attribute.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(a, _)| *a == k)
            .map(|(_, v)| v.as_str())
    }
    /// Finds a descendant (or self) by test id.
    pub fn find(&self, testid: &str) -> Option<&El> {
        if self.get("data-testid") == Some(testid) {
            return Some(self);
        }
        self.children.iter().find_map(|c| match c {
            Node::El(e) => e.find(testid),
            Node::Text(_) => None,
        })
    }
    /// All text below this element, concatenated.
    pub fn text_content(&self) -> String {
        let mut s = String::new();
        for c in &self.children {
            match c {
                Node::Text(t) => s.push_str(t),
                Node::El(e) => s.push_str(&e.text_content()),
            }
        }
        s
    }
    /// Every test id below this element, in document order.
    pub fn testids(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(t) = self.get("data-testid") {
            v.push(t.to_owned());
        }
        for c in &self.children {
            if let Node::El(e) = c {
                v.extend(e.testids());
            }
        }
        v
    }
}

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

/// Everything a click or submit can ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Welcome: create a new wallet.
    StartCreate,
    /// Welcome: import.
    StartImport,
    /// Back to the previous main screen.
    Back,
    /// Words written down.
    WordsWritten,
    /// Submit the confirmation words.
    ConfirmWords,
    /// Submit the new password (create).
    CreateWallet,
    /// Submit the import form.
    Import,
    /// Submit the unlock form.
    Unlock,
    /// Lock now.
    Lock,
    /// Show a home tab.
    Tab(Tab),
    /// Open a screen.
    Open(Screen),
    /// Select an account.
    SelectAccount(String),
    /// Start renaming an account.
    RenameAccount(String),
    /// Save the new name.
    SaveAccountName(String),
    /// Derive another account.
    AddAccount,
    /// Switch network (the `<select>` or a list row).
    SelectNetwork(String),
    /// Edit a network.
    EditNetwork(String),
    /// Add a network.
    NewNetwork,
    /// Save the network form.
    SaveNetwork,
    /// Remove a custom network.
    RemoveNetwork(String),
    /// Disconnect a site.
    Disconnect(String),
    /// Save settings.
    SaveSettings,
    /// Settings -> Change password: submit.
    ChangePassword,
    /// Approval window: reject this and every request waiting from the site.
    RejectSite,
    /// Save the add-token form.
    SaveToken,
    /// Stop watching a token.
    RemoveToken(String),
    /// Approve the shown request.
    Approve,
    /// Reject it.
    Reject,
    /// Refresh balances.
    Refresh,
    /// Copy the address.
    CopyAddress,
    /// Open a pending approval.
    OpenApproval(String),
    /// Re-evaluate the password strength hint.
    PasswordTyped,
    /// Continue onboarding in `onboarding.html` (a tab).
    OpenOnboardingTab,
    /// Send: the asset `<select>` changed (its value).
    SendAsset(String),
    /// Send: an address book entry was picked (its address).
    SendPick(String),
    /// Hide a token from Home's list (its address).
    HideToken(String),
    /// Show a hidden token again (its address).
    UnhideToken(String),
    /// List the hidden tokens, or stop listing them.
    ToggleHidden,
    /// Send: fill in the largest amount.
    SendMax,
    /// Send: build the transaction and open the approval window.
    SendReview,
    /// Devices: pair a phone (show a QR code).
    StartPair,
    /// Devices: this browser's pairing is over (expired or removed): start
    /// over as a new device and show a QR code.
    PairAgain,
    /// Pairing: replace the code with a new one.
    NewPairingCode,
    /// Devices: add a device from its pairing link.
    StartAddDevice,
    /// Submit the pairing link.
    AcceptLink,
    /// Go on although the link names another relay.
    AllowOtherRelay,
    /// The user compared the codes (`true`: they match).
    CodesMatch(bool),
    /// Stop the pairing in progress.
    CancelPairing,
    /// Back to the pairing that runs in the background.
    ResumePairing,
    /// Copy the pairing link (for a phone without a camera).
    CopyPairLink,
    /// Open the confirm step to revoke this device (hex id).
    Revoke(String),
    /// Close the confirm step.
    RevokeCancel,
    /// Revoke this device (hex id) now.
    RevokeConfirm(String),
    /// On the Sync screen.
    Sync(crate::sync::SyncAction),
    /// On the activity log screen.
    Audit(crate::audit::AuditAction),
    /// Reveal, import or remove keys (`crate::secrets`).
    Secrets(crate::secrets::SecretsAction),
}

impl Action {
    /// Reads `data-action`/`data-arg`.
    pub fn parse(action: &str, arg: &str) -> Option<Action> {
        let a = arg.to_owned();
        Some(match action {
            "start-create" => Action::StartCreate,
            "start-import" => Action::StartImport,
            "back" => Action::Back,
            "words-written" => Action::WordsWritten,
            "confirm-words" => Action::ConfirmWords,
            "create-wallet" => Action::CreateWallet,
            "import" => Action::Import,
            "unlock" => Action::Unlock,
            "lock" => Action::Lock,
            "tab" => Action::Tab(match arg {
                "activity" => Tab::Activity,
                "sites" => Tab::Sites,
                _ => Tab::Tokens,
            }),
            "open" => Action::Open(match arg {
                "accounts" => Screen::Accounts,
                "networks" => Screen::Networks,
                "settings" => Screen::Settings,
                "change-password" => Screen::ChangePassword,
                "token" => Screen::AddToken,
                "devices" => Screen::Devices,
                "sync" => Screen::Sync,
                "audit" => Screen::Audit,
                "send" => Screen::Send,
                "receive" => Screen::Receive,
                other => crate::secrets::screen(other).unwrap_or(Screen::Home),
            }),
            "select-account" => Action::SelectAccount(a),
            "rename-account" => Action::RenameAccount(a),
            "save-account-name" => Action::SaveAccountName(a),
            "add-account" => Action::AddAccount,
            "select-network" => Action::SelectNetwork(a),
            "edit-network" => Action::EditNetwork(a),
            "new-network" => Action::NewNetwork,
            "save-network" => Action::SaveNetwork,
            "remove-network" => Action::RemoveNetwork(a),
            "disconnect" => Action::Disconnect(a),
            "save-settings" => Action::SaveSettings,
            "change-password" => Action::ChangePassword,
            "reject-site" => Action::RejectSite,
            "save-token" => Action::SaveToken,
            "remove-token" => Action::RemoveToken(a),
            "approve" => Action::Approve,
            "reject" => Action::Reject,
            "refresh" => Action::Refresh,
            "copy-address" => Action::CopyAddress,
            "open-approval" => Action::OpenApproval(a),
            "password-typed" => Action::PasswordTyped,
            "open-onboarding-tab" => Action::OpenOnboardingTab,
            "send-asset" => Action::SendAsset(a),
            "send-pick" => Action::SendPick(a),
            "send-max" => Action::SendMax,
            "hide-token" => Action::HideToken(a),
            "unhide-token" => Action::UnhideToken(a),
            "toggle-hidden" => Action::ToggleHidden,
            "send-review" => Action::SendReview,
            "pair-start" => Action::StartPair,
            "pair-again" => Action::PairAgain,
            "pair-new-code" => Action::NewPairingCode,
            "add-device-start" => Action::StartAddDevice,
            "accept-link" => Action::AcceptLink,
            "allow-other-relay" => Action::AllowOtherRelay,
            "codes-match" => Action::CodesMatch(arg == "yes"),
            "cancel-pairing" => Action::CancelPairing,
            "resume-pairing" => Action::ResumePairing,
            "copy-pair-link" => Action::CopyPairLink,
            "revoke" => Action::Revoke(a),
            "revoke-cancel" => Action::RevokeCancel,
            "revoke-confirm" => Action::RevokeConfirm(a),
            _ => {
                return crate::sync::parse(action, arg)
                    .map(Action::Sync)
                    .or_else(|| crate::audit::parse(action, arg).map(Action::Audit))
                    .or_else(|| crate::secrets::parse(action, arg).map(Action::Secrets))
            }
        })
    }
}

// ---------- building blocks ----------

fn button(label: &str, testid: &str, action: &str) -> El {
    el("button")
        .attr("type", "button")
        .class("btn")
        .tid(testid)
        .action(action)
        .text(label)
}

pub(crate) fn primary(label: &str, testid: &str) -> El {
    el("button")
        .attr("type", "submit")
        .class("btn primary")
        .tid(testid)
        .text(label)
}

pub(crate) fn input(testid: &str, kind: &str, label: &str) -> El {
    el("label")
        .class("field")
        .child(el("span").class("label").text(label))
        .child(
            el("input")
                .attr("type", kind)
                .attr("autocomplete", "off")
                .attr("spellcheck", "false")
                .tid(testid),
        )
}

/// The "Recovery phrase or private key" box of the import forms.
pub(crate) fn secret_field(testid: &str) -> El {
    el("label")
        .class("field")
        .child(
            el("span")
                .class("label")
                .text("Recovery phrase or private key"),
        )
        .child(
            el("textarea")
                .attr("rows", "3")
                .attr("autocomplete", "off")
                .attr("spellcheck", "false")
                .tid(testid),
        )
}

pub(crate) fn error_box(ui: &Ui) -> Option<El> {
    ui.error.as_ref().map(|e| {
        el("p")
            .class("error")
            .attr("role", "alert")
            .tid("form-error")
            .text(e.clone())
    })
}

pub(crate) fn notice_box(ui: &Ui) -> Option<El> {
    ui.notice.as_ref().map(|n| {
        el("p")
            .class("notice")
            .attr("role", "status")
            .tid("notice")
            .text(n.clone())
    })
}

pub(crate) fn form(action: &str, testid: &str) -> El {
    el("form")
        .class("stack")
        .action(action)
        .tid(testid)
        .attr("novalidate", "")
}

fn title(t: &str) -> El {
    el("h1").class("title").text(t)
}

pub(crate) fn back_bar(label: &str) -> El {
    el("header")
        .class("bar")
        .child(
            el("button")
                .attr("type", "button")
                .class("icon-btn")
                .tid("back-button")
                .action("back")
                .attr("aria-label", "Back")
                .child(el("span").class("i i-back").attr("aria-hidden", "true")),
        )
        .child(el("h1").class("bar-title").text(label))
}

/// The strength hint for a password.
pub fn strength_hint(pw: &str) -> El {
    let s = password_strength(pw);
    let cls = match s {
        Strength::Weak => "strength weak",
        Strength::Fair => "strength fair",
        Strength::Strong => "strength strong",
    };
    el("p")
        .class(cls)
        .tid("password-strength")
        .attr("aria-live", "polite")
        .text(if pw.is_empty() {
            "Use at least 8 characters".into()
        } else {
            s.label().to_owned()
        })
}

pub(crate) fn password_fields(pw: &str, ids: (&str, &str)) -> Vec<El> {
    vec![
        input(ids.0, "password", "New password"),
        strength_hint(pw),
        input(ids.1, "password", "Confirm password"),
    ]
}

/// Test ids of the password pair on the create screen.
pub const CREATE_PASSWORD_IDS: (&str, &str) = ("password-input", "password-confirm-input");
/// Test ids of the password pair on the import screen.
pub const IMPORT_PASSWORD_IDS: (&str, &str) = ("import-password", "import-password-confirm");

// ---------- screens ----------

/// The whole page for the model; `pw` is the password field's current value
/// (for the strength hint).
pub fn view(ui: &Ui, pw: &str) -> El {
    let body = match ui.screen {
        Screen::Loading => el("div")
            .class("center muted")
            .tid("loading")
            .text("Loading…"),
        Screen::Welcome => welcome(ui.page).maybe(
            ui.state
                .as_ref()
                .and_then(|s| s.erased.as_ref())
                .map(|e| erased_notice(ui, e)),
        ),
        Screen::CreateWords => create_words(ui),
        Screen::CreateConfirm => create_confirm(ui),
        Screen::CreatePassword => create_password(ui, pw),
        Screen::Import => import(ui, pw),
        Screen::Unlock => unlock(ui),
        Screen::Home => home(ui),
        Screen::Accounts => accounts(ui),
        Screen::Networks => networks(ui),
        Screen::NetworkForm => network_form(ui),
        Screen::Settings => settings(ui),
        Screen::ChangePassword => crate::password::change_password(ui, pw),
        Screen::AddToken => token_form(ui),
        Screen::Approval => approval(ui),
        Screen::ApprovalDone => el("div")
            .class("center")
            .tid("approval-done")
            .child(el("p").text(ui.notice.clone().unwrap_or_else(|| "Done.".into()))),
        Screen::Devices => devices::devices_screen(ui),
        Screen::Pair => pairing::pair_screen(ui),
        Screen::AddDevice => pairing::add_device_screen(ui),
        Screen::Sync => crate::sync::sync_screen(ui),
        Screen::Audit => crate::audit::audit_screen(ui),
        Screen::RevealPhrase => crate::secrets::reveal_screen(ui, true),
        Screen::ExportKey => crate::secrets::reveal_screen(ui, false),
        Screen::ImportAccount => crate::secrets::import_screen(ui),
        Screen::RemoveAccount => crate::secrets::remove_screen(ui),
        Screen::Send => crate::send::send_screen(ui),
        Screen::Receive => crate::receive::receive_screen(ui),
    };
    let page = match ui.page {
        Page::Popup => "popup",
        Page::Onboarding => "onboarding",
        Page::Approval => "approval",
    };
    el("div")
        .class(&format!("app page-{page}"))
        .attr("data-screen", ui.screen.name())
        .attr("aria-busy", if ui.busy { "true" } else { "false" })
        .child(body)
}

/// Onboarding after another device had this wallet erased: says who, when
/// and why, and points at restoring from the recovery phrase.
fn erased_notice(ui: &Ui, e: &crate::model::Erased) -> El {
    el("p")
        .class("error")
        .attr("role", "alert")
        .tid("erased-notice")
        .text(format!(
            "Your wallet was erased from this browser by {} on {} (reported {}). Your funds \
             are safe: restore the wallet with \"I already have a wallet\" and your recovery \
             phrase.",
            e.by,
            crate::format::date_time(e.at, ui.utc_offset_min),
            crate::devices::reason_text(&e.reason)
        ))
}

fn welcome(page: Page) -> El {
    el("div")
        .class("welcome stack")
        .tid("welcome")
        .child(
            el("div")
                .class("logo")
                .attr("aria-hidden", "true")
                .text("T"),
        )
        .child(title("Welcome to Tandem"))
        .child(el("p").class("muted center-text").text(
            "One wallet on your phone and your computer. Your keys never leave either device.",
        ))
        .child(button("Create a new wallet", "onboard-create", "start-create").class("btn primary"))
        .child(button(
            "I already have a wallet",
            "onboard-import",
            "start-import",
        ))
        // A popup closes when focus leaves it: writing the words down is
        // calmer in a tab that stays open.
        .maybe((page == Page::Popup).then(|| {
            el("button")
                .attr("type", "button")
                .class("link")
                .tid("onboard-open-tab")
                .action("open-onboarding-tab")
                .text("Set up in a full tab instead")
        }))
}

fn create_words(ui: &Ui) -> El {
    let words = ui.phrase.as_ref().map(|p| p.words()).unwrap_or_default();
    el("div")
        .class("stack")
        .tid("create-words")
        .child(back_bar("Your recovery phrase"))
        .child(el("p").class("muted").text("Write these words down, in order, and keep them offline. Anyone with them owns this wallet."))
        .child(el("ol").class("words").children(words.iter().enumerate().map(|(i, w)| {
            el("li").child(el("span").class("n").text(format!("{}", i + 1))).child(el("span").class("w").tid(format!("seed-word-{i}")).text(*w))
        })))
        .child(button("I wrote them down", "seed-words-continue", "words-written").class("btn primary"))
}

fn create_confirm(ui: &Ui) -> El {
    el("div")
        .class("stack")
        .tid("create-confirm")
        .child(back_bar("Confirm your phrase"))
        .child(
            form("confirm-words", "confirm-form")
                .child(
                    el("p")
                        .class("muted")
                        .text("Type these words from your phrase."),
                )
                .children(ui.confirm_positions.iter().map(|p| {
                    el("label")
                        .class("field")
                        .child(el("span").class("label").text(format!("Word #{}", p + 1)))
                        .child(
                            el("input")
                                .attr("type", "text")
                                .attr("autocomplete", "off")
                                .attr("spellcheck", "false")
                                .tid(format!("confirm-word-{p}"))
                                .attr("data-index", p.to_string()),
                        )
                }))
                .maybe(error_box(ui))
                .child(primary("Confirm", "confirm-words-submit")),
        )
}

fn create_password(ui: &Ui, pw: &str) -> El {
    el("div").class("stack").tid("create-password").child(back_bar("Set a password")).child(
        form("create-wallet", "password-form")
            .child(el("p").class("muted").text("The password unlocks Tandem on this computer. It cannot recover your wallet; the phrase can."))
            .children(password_fields(pw, CREATE_PASSWORD_IDS))
            .maybe(error_box(ui))
            .child(primary(if ui.busy { "Creating…" } else { "Create wallet" }, "password-submit")),
    )
}

fn import(ui: &Ui, pw: &str) -> El {
    el("div")
        .class("stack")
        .tid("import")
        .child(back_bar("Import a wallet"))
        .child(
            form("import", "import-form")
                .child(secret_field("import-secret-input"))
                .child(input(
                    "import-passphrase-input",
                    "password",
                    "BIP-39 passphrase (optional)",
                ))
                .children(password_fields(pw, IMPORT_PASSWORD_IDS))
                .maybe(error_box(ui))
                .child(primary(
                    if ui.busy { "Importing…" } else { "Import" },
                    "import-submit",
                )),
        )
}

fn unlock(ui: &Ui) -> El {
    el("div")
        .class("welcome stack")
        .tid("unlock")
        .child(
            el("div")
                .class("logo")
                .attr("aria-hidden", "true")
                .text("T"),
        )
        .child(title("Welcome back"))
        .child(
            form("unlock", "unlock-form")
                .child(input("unlock-password-input", "password", "Password"))
                .maybe(error_box(ui))
                .child(primary(
                    if ui.busy { "Unlocking…" } else { "Unlock" },
                    "unlock-submit",
                )),
        )
}

fn network_select(st: &WalletState) -> El {
    let cur = st.network.as_ref().map(Network::id).unwrap_or(0);
    el("select")
        .class("net-select")
        .tid("network-select")
        .attr("aria-label", "Network")
        .attr("data-change", "select-network")
        .children(st.networks.iter().map(|n| {
            let o = el("option")
                .attr("value", n.id().to_string())
                .text(n.name.clone());
            if n.id() == cur {
                o.attr("selected", "")
            } else {
                o
            }
        }))
}

fn home(ui: &Ui) -> El {
    let Some(st) = &ui.state else {
        return el("div");
    };
    let acct = st.current_account().cloned().unwrap_or_default();
    let net = st.network.clone().unwrap_or_default();
    let header = el("header")
        .class("bar")
        .child(network_select(st))
        .child(el("span").class("spacer"))
        .child(
            el("button")
                .attr("type", "button")
                .class("icon-btn")
                .tid("settings-button")
                .action_arg("open", "settings")
                .attr("aria-label", "Settings")
                .child(el("span").class("i i-settings").attr("aria-hidden", "true")),
        )
        .child(
            el("button")
                .attr("type", "button")
                .class("icon-btn")
                .tid("lock-button")
                .action("lock")
                .attr("aria-label", "Lock")
                .child(el("span").class("i i-lock").attr("aria-hidden", "true")),
        );
    let account = el("section")
        .class("account")
        .child(
            el("button")
                .attr("type", "button")
                .class("account-btn")
                .tid("account-button")
                .action_arg("open", "accounts")
                .child(
                    el("span").class("avatar").attr("aria-hidden", "true").text(
                        acct.name
                            .chars()
                            .next()
                            .map(String::from)
                            .unwrap_or_default(),
                    ),
                )
                .child(
                    el("span")
                        .class("account-name")
                        .tid("account-name")
                        .text(acct.name.clone()),
                )
                .maybe(on_phone_tag(&acct, "account-on-phone".into()))
                .child(el("span").class("chev").text("▾")),
        )
        .child(
            el("button")
                .attr("type", "button")
                .class("address")
                .tid("copy-address")
                .action("copy-address")
                .attr("title", acct.address.clone())
                .child(
                    el("span")
                        .tid("account-address")
                        .text(shorten_address(&acct.address)),
                )
                .child(
                    el("span")
                        .class("i i-copy small")
                        .attr("aria-hidden", "true"),
                ),
        );
    let portfolio_matches = ui.portfolio.as_ref().filter(|p| {
        p.address.eq_ignore_ascii_case(&acct.address)
            && crate::model::chain_id_of(&p.chain_id) == Some(net.id())
    });
    let native = match portfolio_matches {
        Some(p) => format_native(
            &p.native.balance,
            net.decimals(),
            if p.native.symbol.is_empty() {
                &net.symbol
            } else {
                &p.native.symbol
            },
        ),
        None => format!("— {}", net.symbol),
    };
    let balance = el("section")
        .class("balance")
        .child(el("div").class("big").tid("native-balance").text(native))
        .child(
            el("div")
                .class("muted small")
                .tid("balance-status")
                .text(if ui.stale {
                    "Updating…".to_owned()
                } else {
                    match portfolio_matches {
                        Some(p) if p.updated_at > 0.0 => {
                            format!("Updated {}", relative_time(p.updated_at, ui.now_ms))
                        }
                        _ => String::new(),
                    }
                }),
        );
    let pending = (st.pending_count() > 0).then(|| {
        el("button")
            .attr("type", "button")
            .class("banner")
            .tid("pending-approvals")
            .action("open-approval")
            .text(format!(
                "{} request{} waiting for you",
                st.pending_count(),
                if st.pending_count() == 1 { "" } else { "s" }
            ))
    });
    let tab_btn = |t: Tab, label: &str, id: &str| {
        let b = el("button")
            .attr("type", "button")
            .attr("role", "tab")
            .class("tab")
            .tid(format!("tab-{id}"))
            .action_arg("tab", id)
            .text(label);
        if ui.tab == t {
            b.attr("aria-selected", "true").class("tab active")
        } else {
            b.attr("aria-selected", "false")
        }
    };
    let tabs = el("nav")
        .class("tabs")
        .attr("role", "tablist")
        .child(tab_btn(Tab::Tokens, "Tokens", "tokens"))
        .child(tab_btn(Tab::Activity, "Activity", "activity"))
        .child(tab_btn(Tab::Sites, "Sites", "sites"));
    let panel = match ui.tab {
        Tab::Tokens => tokens_panel(portfolio_matches, &net, &ui.hidden),
        Tab::Activity => activity_panel(ui, &net),
        Tab::Sites => sites_panel(st),
    };
    el("div").class("home").tid("home").child(header).child(
        el("main")
            .class("scroll")
            .child(account)
            .child(balance)
            .child(crate::send::home_actions())
            .child(devices::home_section(ui))
            .maybe(pending)
            .maybe(notice_box(ui))
            .maybe(error_box(ui))
            .child(tabs)
            .child(panel)
            .maybe(crate::portfolio::everywhere(ui)),
    )
}

fn tokens_panel(p: Option<&Portfolio>, net: &Network, hidden: &crate::hide::Hidden) -> El {
    let mut list = el("ul").class("list").tid("token-list");
    let Some(p) = p else {
        return list.child(
            el("li")
                .class("empty muted")
                .text("Balances load when the network answers."),
        );
    };
    list = list.child(
        el("li")
            .class("row")
            .tid("token-row-native")
            .child(el("span").class("sym grow").text(net.symbol.clone()))
            .child(
                el("span")
                    .class("amt")
                    .text(format_units(&p.native.balance, 18, 6).unwrap_or_else(|_| "?".into())),
            )
            // Keeps the amounts aligned with the token rows' remove buttons.
            .child(el("span").class("x-slot").attr("aria-hidden", "true")),
    );
    for t in p
        .tokens
        .iter()
        .filter(|t| !hidden.is_hidden(net.id(), &t.address))
    {
        list = list.child(
            el("li")
                .class("row")
                .tid(format!("token-row-{}", t.address.to_lowercase()))
                .child(el("span").class("sym grow").text(t.symbol.clone()))
                .child(
                    el("span")
                        .class("amt")
                        .tid(format!("token-balance-{}", t.symbol))
                        .text(
                            format_units(&t.balance, t.decimals, 6).unwrap_or_else(|_| "?".into()),
                        ),
                )
                .child(crate::hide::hide_button(t))
                .child(
                    el("button")
                        .attr("type", "button")
                        .class("icon-btn small-x")
                        .tid(format!("token-remove-{}", t.address.to_lowercase()))
                        .action_arg("remove-token", t.address.clone())
                        .attr("aria-label", format!("Stop showing {}", t.symbol))
                        .attr("title", "Stop showing this token")
                        .text("×"),
                ),
        );
    }
    list.maybe(crate::hide::hidden_section(&p.tokens, net, hidden))
        .child(
            el("li")
                .class("row-actions")
                .child(
                    button("Add token", "token-add", "open")
                        .attr("data-arg", "token")
                        .class("btn small"),
                )
                .child(button("Refresh", "portfolio-refresh", "refresh").class("btn small")),
        )
}

fn token_form(ui: &Ui) -> El {
    let net = ui
        .state
        .as_ref()
        .and_then(|s| s.network.clone())
        .unwrap_or_default();
    el("div")
        .class("stack screen")
        .tid("token-form-screen")
        .child(back_bar("Add a token"))
        .child(
            form("save-token", "token-form")
                .child(el("p").class("muted").text(format!(
                    "On {}. Leave symbol and decimals empty to read them from the token contract.",
                    net.name
                )))
                .child(prefilled(
                    "token-form-address",
                    "Token contract address",
                    "",
                    false,
                ))
                .child(prefilled(
                    "token-form-symbol",
                    "Symbol (optional)",
                    "",
                    false,
                ))
                .child(prefilled(
                    "token-form-decimals",
                    "Decimals (optional)",
                    "",
                    false,
                ))
                .maybe(error_box(ui))
                .child(primary("Add token", "token-form-save")),
        )
}

fn activity_panel(ui: &Ui, net: &Network) -> El {
    let items: Vec<&ActivityItem> = ui
        .activity
        .iter()
        .filter(|a| crate::model::chain_id_of(&a.chain_id).is_none_or(|c| c == net.id()))
        .collect();
    if items.is_empty() {
        return el("ul")
            .class("list")
            .tid("activity-list")
            .child(el("li").class("empty muted").text("No transactions yet."));
    }
    el("ul")
        .class("list")
        .tid("activity-list")
        .children(items.into_iter().map(|a| {
            let status_cls = match a.status.as_str() {
                "confirmed" => "pill ok",
                "failed" => "pill bad",
                _ => "pill wait",
            };
            el("li")
                .class("row tx")
                .tid(format!("activity-row-{}", a.hash))
                .child(
                    el("div")
                        .class("col")
                        .child(el("span").text(match &a.to {
                            Some(to) => format!("To {}", shorten_address(to)),
                            None => "Contract deployment".into(),
                        }))
                        .child(el("span").class("muted small").text(format!(
                            "{} · {}",
                            shorten_address(&a.hash),
                            relative_time(a.submitted_at, ui.now_ms)
                        )))
                        .maybe(a.warning.as_ref().map(|w| {
                            el("span")
                                .class("warn small")
                                .tid(format!("activity-warning-{}", a.hash))
                                .text(w.clone())
                        }))
                        .maybe(crate::explorer::tx_link(net, &a.hash)),
                )
                .child(
                    el("div")
                        .class("col end")
                        .child(el("span").class("amt").text(format_native(
                            &a.value,
                            net.decimals(),
                            &net.symbol,
                        )))
                        .child(
                            el("span")
                                .class(status_cls)
                                .tid(format!("activity-status-{}", a.hash))
                                .text(a.status.clone()),
                        ),
                )
        }))
}

fn sites_panel(st: &WalletState) -> El {
    if st.sites.is_empty() {
        return el("ul")
            .class("list")
            .tid("site-list")
            .child(el("li").class("empty muted").text("No connected sites."));
    }
    el("ul")
        .class("list")
        .tid("site-list")
        .children(st.sites.iter().map(|s| {
            el("li")
                .class("row")
                .tid(format!("site-row-{}", s.origin))
                .child(
                    el("div")
                        .class("col")
                        .child(el("span").class("origin").text(s.origin.clone()))
                        .child(el("span").class("muted small").text(format!(
                            "{} account{}",
                            s.accounts.len(),
                            if s.accounts.len() == 1 { "" } else { "s" }
                        ))),
                )
                .child(
                    button(
                        "Disconnect",
                        &format!("site-disconnect-{}", s.origin),
                        "disconnect",
                    )
                    .attr("data-arg", s.origin.clone())
                    .class("btn small danger"),
                )
        }))
}

/// "on your phone": the tag of an account whose key is on the phone.
fn on_phone_tag(a: &Account, tid: String) -> Option<El> {
    a.on_phone()
        .then(|| el("span").class("tag").tid(tid).text("on your phone"))
}

fn account_origin(a: &Account) -> String {
    match &a.origin {
        Value::Object(o) if o.contains_key("index") => format!(
            "Derived #{}",
            o.get("index").map(|v| v.to_string()).unwrap_or_default()
        ),
        Value::Object(o) if o.get("kind").and_then(Value::as_str) == Some("imported") => {
            "Imported key".into()
        }
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

fn accounts(ui: &Ui) -> El {
    let Some(st) = &ui.state else {
        return el("div");
    };
    let sel = st
        .current_account()
        .map(|a| a.address.to_lowercase())
        .unwrap_or_default();
    let rows = st.accounts.iter().enumerate().map(|(i, a)| {
        let selected = a.address.to_lowercase() == sel;
        if ui
            .renaming
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case(&a.address))
        {
            return el("li").class("row").tid(format!("account-row-{i}")).child(
                form("save-account-name", "rename-form")
                    .attr("data-arg", a.address.clone())
                    .class("inline")
                    .child(
                        el("input")
                            .attr("type", "text")
                            .attr("value", a.name.clone())
                            .attr("aria-label", "Account name")
                            .tid("account-name-input"),
                    )
                    .child(primary("Save", "account-name-save")),
            );
        }
        el("li")
            .class(if selected {
                "row selectable selected"
            } else {
                "row selectable"
            })
            .tid(format!("account-row-{i}"))
            .attr("aria-current", if selected { "true" } else { "false" })
            .child(
                el("button")
                    .attr("type", "button")
                    .class("row-main")
                    .tid(format!("account-select-{i}"))
                    .action_arg("select-account", a.address.clone())
                    .child(
                        el("span")
                            .class("avatar")
                            .text(a.name.chars().next().map(String::from).unwrap_or_default()),
                    )
                    .child(
                        el("span")
                            .class("col")
                            .child(
                                el("span")
                                    .tid(format!("account-label-{i}"))
                                    .text(a.name.clone()),
                            )
                            .child(el("span").class("muted small").text(format!(
                                "{} {}",
                                shorten_address(&a.address),
                                account_origin(a)
                            )))
                            .maybe(on_phone_tag(a, format!("account-on-phone-{i}"))),
                    ),
            )
            .child(
                button("Rename", &format!("account-rename-{i}"), "rename-account")
                    .attr("data-arg", a.address.clone())
                    .class("btn small"),
            )
            .maybe(crate::secrets::remove_button(st, a, i))
    });
    el("div")
        .class("stack screen")
        .tid("accounts-screen")
        .child(back_bar("Accounts"))
        .maybe(error_box(ui))
        .child(el("ul").class("list").children(rows))
        .child(button("Add account", "account-add", "add-account").class("btn primary"))
}

fn networks(ui: &Ui) -> El {
    let Some(st) = &ui.state else {
        return el("div");
    };
    let cur = st.network.as_ref().map(Network::id).unwrap_or(0);
    let rows = st.networks.iter().map(|n| {
        let id = n.id().to_string();
        el("li")
            .class(if n.id() == cur {
                "row selectable selected"
            } else {
                "row selectable"
            })
            .tid(format!("network-row-{id}"))
            .child(
                el("button")
                    .attr("type", "button")
                    .class("row-main")
                    .tid(format!("network-use-{id}"))
                    .action_arg("select-network", id.clone())
                    .child(
                        el("span")
                            .class("col")
                            .child(el("span").text(n.name.clone()))
                            .child(
                                el("span")
                                    .class("muted small")
                                    .text(format!("Chain {id} · {}", n.symbol)),
                            ),
                    ),
            )
            .child(
                button("Edit", &format!("network-edit-{id}"), "edit-network")
                    .attr("data-arg", id.clone())
                    .class("btn small"),
            )
            .maybe((!n.builtin).then(|| {
                button("Remove", &format!("network-remove-{id}"), "remove-network")
                    .attr("data-arg", id.clone())
                    .class("btn small danger")
            }))
    });
    el("div")
        .class("stack screen")
        .tid("networks-screen")
        .child(back_bar("Networks"))
        .maybe(error_box(ui))
        .child(el("ul").class("list").children(rows))
        .child(button("Add network", "network-add", "new-network").class("btn primary"))
}

fn prefilled(testid: &str, label: &str, value: &str, readonly: bool) -> El {
    let mut i = el("input")
        .attr("type", "text")
        .attr("autocomplete", "off")
        .attr("spellcheck", "false")
        .tid(testid)
        .attr("value", value);
    if readonly {
        i = i.attr("readonly", "");
    }
    el("label")
        .class("field")
        .child(el("span").class("label").text(label))
        .child(i)
}

fn network_form(ui: &Ui) -> El {
    let n = ui.editing_network.clone();
    let editing = n.is_some();
    let n = n.unwrap_or_default();
    let id = if editing {
        n.id().to_string()
    } else {
        String::new()
    };
    el("div")
        .class("stack screen")
        .tid("network-form-screen")
        .child(back_bar(if editing {
            "Edit network"
        } else {
            "Add network"
        }))
        .child(
            form("save-network", "network-form")
                .child(prefilled("network-form-chainid", "Chain ID", &id, editing))
                .child(prefilled("network-form-name", "Name", &n.name, false))
                .child(prefilled("network-form-rpc", "RPC URL", &n.rpc_url, false))
                .child(prefilled(
                    "network-form-symbol",
                    "Currency symbol",
                    &n.symbol,
                    false,
                ))
                .child(prefilled(
                    "network-form-explorer",
                    "Block explorer (optional)",
                    n.explorer.as_deref().unwrap_or(""),
                    false,
                ))
                .maybe(error_box(ui))
                .child(primary("Save", "network-form-save")),
        )
}

fn settings(ui: &Ui) -> El {
    let Some(st) = &ui.state else {
        return el("div");
    };
    let mut own = el("input")
        .attr("type", "checkbox")
        .tid("settings-own-ethereum");
    if st.settings.own_window_ethereum {
        own = own.attr("checked", "");
    }
    el("div")
        .class("stack screen")
        .tid("settings-screen")
        .child(back_bar("Settings"))
        .child(
            form("save-settings", "settings-form")
                .child(
                    prefilled(
                        "settings-autolock-input",
                        "Auto-lock after (minutes)",
                        &st.settings.auto_lock_minutes.to_string(),
                        false,
                    )
                    .attr("inputmode", "numeric"),
                )
                .child(
                    el("label").class("check").child(own).child(
                        el("span").text("Use window.ethereum even if another wallet set it"),
                    ),
                )
                .child(devices::relay_field(ui))
                .maybe(error_box(ui))
                .maybe(notice_box(ui))
                .child(primary("Save", "settings-save")),
        )
        .child(button("Networks", "open-networks", "open").attr("data-arg", "networks"))
        .child(
            button("Change password", "open-change-password", "open")
                .attr("data-arg", "change-password"),
        )
        .child(button("Sync", "open-sync", "open").attr("data-arg", "sync"))
        .child(button("Activity log", "open-audit", "open").attr("data-arg", "audit"))
        .children(crate::secrets::settings_buttons())
}

// ---------- approval window ----------

pub(crate) fn kv(label: &str, value: impl Into<String>, testid: &str) -> El {
    el("div")
        .class("kv")
        .child(el("span").class("k").text(label))
        .child(el("span").class("v mono").tid(testid).text(value))
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn warning_list(ws: impl IntoIterator<Item = (bool, String)>, prefix: &str) -> Option<El> {
    // The same warning never twice, whatever the spelling of its addresses.
    let mut seen: Vec<String> = Vec::new();
    let items: Vec<El> = ws
        .into_iter()
        .filter(|(_, m)| {
            let key = m.to_ascii_lowercase();
            let new = !seen.contains(&key);
            seen.push(key);
            new
        })
        .enumerate()
        .map(|(i, (danger, m))| {
            el("li")
                .class(if danger { "warn danger" } else { "warn" })
                .tid(format!("{prefix}-warning-{i}"))
                .text(m)
        })
        .collect();
    (!items.is_empty()).then(|| {
        el("ul")
            .class("warnings")
            .attr("role", "alert")
            .children(items)
    })
}

/// Renders a decoded typed-data field tree.
pub fn typed_tree(fields: &[Field], path: &str) -> El {
    el("dl").class("tree").children(fields.iter().map(|f| {
        let p = if path.is_empty() {
            f.name.clone()
        } else {
            format!("{path}.{}", f.name)
        };
        field_value(&f.name, &f.ty, &f.value, &p)
    }))
}

fn field_value(name: &str, ty: &str, v: &FieldValue, path: &str) -> El {
    let head = el("dt")
        .child(el("span").text(name.to_owned()))
        .child(el("span").class("ty").text(ty.to_owned()));
    let body = match v {
        FieldValue::Text(t) => {
            let huge = ty.starts_with("uint") && crate::format::is_unlimited(t);
            let date = crate::reveal::is_time(name, ty)
                .then(|| crate::reveal::time_value(t, path))
                .flatten();
            el("dd")
                .class("mono")
                .child(date.unwrap_or_else(|| {
                    // Hidden characters as visible escapes, never rendered.
                    el("span")
                        .tid(format!("typed-field-{path}"))
                        .text(crate::hidden::reveal(t).0)
                }))
                .maybe(huge.then(|| {
                    el("span")
                        .class("pill bad")
                        .tid(format!("typed-unlimited-{path}"))
                        .text("unlimited")
                }))
        }
        FieldValue::Struct(inner) => el("dd").child(typed_tree(inner, path)),
        FieldValue::List(items) => el("dd").child(el("ol").class("tree-list").children(
            items.iter().enumerate().map(|(i, it)| {
                el("li").child(field_value(
                    &format!("[{i}]"),
                    "",
                    it,
                    &format!("{path}[{i}]"),
                ))
            }),
        )),
    };
    el("div").class("tree-row").child(head).child(body)
}

fn approval(ui: &Ui) -> El {
    let Some(a) = &ui.approval else {
        return el("div")
            .class("center muted")
            .tid("approval-missing")
            .text(
                ui.error
                    .clone()
                    .unwrap_or_else(|| "Loading request…".into()),
            );
    };
    if let Some(w) = &a.phone {
        return crate::confirm::waiting(w, ui.now_ms).maybe(error_box(ui));
    }
    let st = ui.state.clone().unwrap_or_default();
    // Signatures and transactions name the network they are for.
    let signed = |body: El| {
        el("div")
            .class("stack")
            .child(crate::chain::signing_chain(a, &st))
            .child(body)
    };
    let (heading, body) = match a.kind.as_str() {
        "connect" => ("Connect to this site?", connect_body(&st)),
        "personal_sign" => ("Signature request", signed(personal_body(a, ui.now_ms))),
        "typed_data" => (
            "Signature request",
            signed(typed_body(a, &st).maybe(crate::token::permit_line(a, &ui.tokens))),
        ),
        "transaction" => ("Transaction", signed(tx_body(a, &ui.tokens))),
        "add_chain" => (crate::chain::add_heading(a), crate::chain::add_body(a)),
        "switch_chain" => ("Switch network?", crate::chain::switch_body(a)),
        "watch_asset" => ("Add a token?", asset_body(a)),
        _ => (
            "Unknown request",
            el("p").text(format!("Tandem cannot show a `{}` request.", a.kind)),
        ),
    };
    let approve_label = match a.kind.as_str() {
        "connect" => "Connect",
        "personal_sign" | "typed_data" => "Sign",
        "transaction" => "Confirm",
        "add_chain" => crate::chain::add_label(a),
        "switch_chain" => "Switch",
        "watch_asset" => "Add token",
        _ => "Approve",
    };
    let mut approve_btn = el("button")
        .attr("type", "button")
        .class("btn primary")
        .tid("approval-approve")
        .action("approve")
        .text(approve_label);
    if ui.busy
        || !crate::queue::armed(ui)
        || a.needs_fill
        || ![
            "connect",
            "personal_sign",
            "typed_data",
            "transaction",
            "add_chain",
            "switch_chain",
            "watch_asset",
        ]
        .contains(&a.kind.as_str())
    {
        approve_btn = approve_btn.attr("disabled", "");
    }
    el("div")
        .class("approval stack")
        .tid("approval-screen")
        .attr("data-kind", a.kind.clone())
        .child(
            el("header")
                .class("approval-head")
                .child(el("h1").class("title").tid("approval-kind").text(heading))
                .child(
                    el("p")
                        .class("origin")
                        .tid("approval-origin")
                        .text(crate::send::origin_label(&a.origin)),
                ),
        )
        .child(
            el("main")
                .class("scroll stack")
                .child(body)
                .maybe(a.needs_phone.map(|r| {
                    el("p")
                        .class("notice")
                        .tid("approval-needs-phone")
                        .text(format!(
                            "{} After you approve here, approve on your phone too.",
                            r.reason()
                        ))
                }))
                .maybe(crate::queue::waiting(ui))
                .maybe(error_box(ui)),
        )
        .child(
            el("footer")
                .class("actions")
                .child(
                    el("button")
                        .attr("type", "button")
                        .class("btn")
                        .tid("approval-reject")
                        .action("reject")
                        .text("Reject"),
                )
                .child(approve_btn),
        )
}

fn connect_body(st: &WalletState) -> El {
    let sel = st
        .current_account()
        .map(|x| x.address.to_lowercase())
        .unwrap_or_default();
    el("div")
        .class("stack")
        .child(el("p").class("muted").text("The site will see the addresses you choose and can ask for signatures and transactions. It cannot move funds without your approval."))
        .child(el("ul").class("list").tid("approval-accounts").children(st.accounts.iter().enumerate().map(|(i, acc)| {
            let mut cb = el("input").attr("type", "checkbox").tid(format!("approval-account-{i}")).attr("data-address", acc.address.clone());
            if acc.address.to_lowercase() == sel {
                cb = cb.attr("checked", "");
            }
            el("li").class("row").child(
                el("label")
                    .class("check")
                    .child(cb)
                    .child(el("span").class("col").child(el("span").text(acc.name.clone())).child(el("span").class("muted small mono").text(shorten_address(&acc.address))).maybe(on_phone_tag(acc, format!("approval-account-on-phone-{i}")))),
            )
        })))
}

fn signer_line(a: &Approval) -> Option<El> {
    let addr = s(&a.request, "address");
    (!addr.is_empty()).then(|| kv("Account", shorten_address(addr), "approval-signer"))
}

fn personal_body(a: &Approval, now_ms: f64) -> El {
    let msg = a
        .request
        .get("message")
        .and_then(Value::as_str)
        .or_else(|| a.display.get("message").and_then(Value::as_str))
        .unwrap_or("");
    let (label, text, cls) = match personal_sign_text(msg) {
        SignText::Text(t) => ("Message", t, "message"),
        SignText::Hex(h) => ("Message (raw bytes)", h, "message mono"),
    };
    // A sign-in (EIP-4361) is checked against the origin the browser
    // reported; hidden characters are shown, never rendered.
    let signer = s(&a.request, "address");
    let chain = a.chain().map(|c| c.chain_id);
    let findings = crate::siwe::findings(&text, &a.origin, signer, chain, (now_ms / 1000.0) as i64);
    let siwe = crate::siwe::parse(&text).ok();
    let (shown, hidden) = crate::hidden::reveal(&text);
    el("div")
        .class("stack")
        .maybe(crate::siwe::warnings(&findings))
        .maybe(crate::hidden::warning(&text, hidden).map(|w| {
            el("p")
                .class("warn danger")
                .attr("role", "alert")
                .tid("sign-hidden-warning")
                .text(w)
        }))
        .maybe(signer_line(a))
        .maybe(siwe.as_ref().map(crate::siwe::card))
        .child(el("span").class("label").text(label))
        .child(el("pre").class(cls).tid("sign-message").text(shown))
}

fn typed_body(a: &Approval, st: &WalletState) -> El {
    let payload = a.request.get("typedData").cloned().unwrap_or(Value::Null);
    // Checked against the chain it was asked on; a later switch of network
    // is warned about once, by the chain row.
    let current = a
        .chain()
        .map(|c| c.chain_id)
        .or_else(|| st.network.as_ref().map(Network::id));
    match typed_data::decode(&payload, current) {
        Ok(v) => el("div")
            .class("stack")
            .maybe(signer_line(a))
            .maybe(warning_list(
                v.warnings
                    .iter()
                    .map(|w| (w.severity == Severity::Danger, w.message.clone())),
                "typed",
            ))
            .child(typed_signed_for(&v, current, st))
            .child(
                el("section")
                    .class("card")
                    .tid("typed-domain")
                    .child(el("h2").text("Domain"))
                    .child(typed_tree(&v.domain, "domain")),
            )
            .child(
                el("section")
                    .class("card")
                    .tid("typed-message")
                    .child(
                        el("h2").child(el("span").text("Message · ")).child(
                            el("span")
                                .class("mono")
                                .tid("typed-primary-type")
                                .text(v.primary_type.clone()),
                        ),
                    )
                    .child(typed_tree(&v.message, "message")),
            ),
        Err(e) => el("div").class("stack").child(
            el("p")
                .class("error")
                .tid("typed-error")
                .text(e.to_string()),
        ),
    }
}

/// The contract and chain a typed-data signature is valid for, as rows of
/// their own (the domain tree below repeats them among the other fields).
fn typed_signed_for(v: &typed_data::TypedDataView, signing: Option<u64>, st: &WalletState) -> El {
    let contract = v.domain_field("verifyingContract");
    let chain = v
        .domain_field("chainId")
        .and_then(|c| crate::format::to_decimal(c).ok());
    let chain_text = chain.as_ref().map_or_else(
        || "any chain (the domain names none)".to_owned(),
        |c| {
            let name = st
                .networks
                .iter()
                .find(|n| n.id().to_string() == *c)
                .map(|n| format!("{} · ", n.name))
                .unwrap_or_default();
            let other = signing.is_some_and(|s| s.to_string() != *c);
            format!(
                "{name}chain {c}{}",
                if other {
                    " (not the chain Tandem signs on)"
                } else {
                    ""
                }
            )
        },
    );
    el("section")
        .class("card")
        .tid("typed-signed-for")
        .child(kv(
            "Contract",
            contract.map_or_else(
                || "none named (any contract can use this signature)".to_owned(),
                crate::format::checksum_address,
            ),
            "typed-verifying-contract",
        ))
        .child(kv("Domain chain", chain_text, "typed-domain-chain"))
}

fn tx_body(a: &Approval, tokens: &[crate::token::TokenFacts]) -> El {
    let tx = a.request.get("transaction").cloned().unwrap_or(Value::Null);
    let d = &a.display;
    let pick = |k: &str| -> String {
        let v = s(&tx, k);
        if v.is_empty() {
            s(d, k).to_owned()
        } else {
            v.to_owned()
        }
    };
    let to = pick("to");
    let data = pick("data");
    let value = pick("value");
    let value = if value.is_empty() {
        "0x0".to_owned()
    } else {
        value
    };
    // The currency of the chain the transaction is signed for, never the
    // selected network's: the user may have switched since.
    let (symbol, decimals) = a.chain().map_or((String::new(), 18), |c| {
        (c.symbol, u8::try_from(c.decimals).unwrap_or(18))
    });
    let call = decode_call((!to.is_empty()).then_some(to.as_str()), &data);
    let mut warnings: Vec<(bool, String)> = d
        .get("warnings")
        .and_then(Value::as_array)
        .map(|ws| {
            ws.iter()
                .filter_map(Value::as_str)
                .map(|w| (true, w.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    if let KnownCall::SetApprovalForAll {
        approved: true,
        operator,
    } = &call
    {
        warnings.push((
            true,
            format!("{operator} gets control over all your items in this collection"),
        ));
    }
    // An unlimited ERC-20 approval's warning is the wallet's (in `warnings`).
    // Token amounts in the units the token contract states, on the chain
    // the transaction is for (read by `token.info`; never the dapp's word).
    let facts = crate::token::chain_of(a).and_then(|c| crate::token::find(tokens, c, &to));
    let amount_text = |raw: &str| match facts {
        Some(f) => f.amount(raw),
        None => format!("{raw} raw units (reading the token contract…)"),
    };
    let call_detail = match &call {
        KnownCall::Transfer { to, amount } => Some(format!(
            "Send {} to {}",
            amount_text(amount),
            shorten_address(to)
        )),
        KnownCall::Approve {
            spender,
            amount,
            unlimited,
        } => Some(if *unlimited {
            format!(
                "Allow {} to spend {}",
                shorten_address(spender),
                facts.map_or_else(|| "an unlimited amount".into(), |f| f.allowance(amount))
            )
        } else {
            format!(
                "Allow {} to spend {}",
                shorten_address(spender),
                amount_text(amount)
            )
        }),
        KnownCall::TransferFrom { from, to, amount } => Some(format!(
            "Move {} from {} to {}",
            amount_text(amount),
            shorten_address(from),
            shorten_address(to)
        )),
        _ => None,
    };
    let fees = FeeForm::from_tx(&tx);
    let fee_field = |testid: &str, label: &str, value: &str| {
        el("label")
            .class("field compact")
            .child(el("span").class("label").text(label))
            .child(
                el("input")
                    .attr("type", "text")
                    .attr("inputmode", "decimal")
                    .tid(testid)
                    .attr("value", value)
                    .attr("data-change", "fees-typed"),
            )
    };
    let max_cost = fees
        .validate()
        .ok()
        .and_then(|f| f.max_cost(crate::format::to_u128(&value).unwrap_or(0)).ok())
        .map(|c| max_total(c, decimals, &symbol))
        .unwrap_or_else(|| "—".into());
    el("div")
        .class("stack")
        .maybe(warning_list(warnings, "tx"))
        .child(
            el("p")
                .class("call-title")
                .tid("tx-call")
                .text(describe(&call)),
        )
        .maybe(call_detail.map(|c| el("p").class("muted").tid("tx-call-detail").text(c)))
        .child(
            el("section")
                .class("card")
                .maybe(signer_line(a))
                .child(kv(
                    "To",
                    if to.is_empty() {
                        "New contract".into()
                    } else {
                        crate::format::checksum_address(&to)
                    },
                    "tx-to",
                ))
                .child(kv(
                    "Amount",
                    format_native(&value, decimals, &symbol),
                    "tx-value",
                ))
                .maybe(
                    crate::format::to_u128(&pick("nonce"))
                        .ok()
                        .map(|n| kv("Nonce", n.to_string(), "tx-nonce")),
                )
                .maybe((!data.is_empty() && data != "0x").then(|| {
                    kv(
                        "Data",
                        format!("{} bytes", (data.len().saturating_sub(2)) / 2),
                        "tx-data",
                    )
                })),
        )
        .maybe((!data.is_empty() && data != "0x").then(|| crate::reveal::raw_data(&data)))
        .child(if a.needs_fill {
            el("p")
                .class("muted")
                .tid("tx-fees-loading")
                .text("Fetching fees from the network…")
        } else {
            el("section")
                .class("card fees")
                .tid("tx-fees")
                .child(el("h2").text("Network fee"))
                .child(if fees.legacy {
                    // A type-0 transaction (no EIP-1559 on its chain, or the
                    // site set gasPrice): one price per gas.
                    el("div")
                        .class("fee-grid")
                        .child(fee_field("tx-gas-input", "Gas limit", &fees.gas))
                        .child(fee_field(
                            "tx-gasprice-input",
                            "Gas price (gwei)",
                            &fees.max_fee_gwei,
                        ))
                } else {
                    el("div")
                        .class("fee-grid")
                        .child(fee_field("tx-gas-input", "Gas limit", &fees.gas))
                        .child(fee_field(
                            "tx-maxfee-input",
                            "Max fee (gwei)",
                            &fees.max_fee_gwei,
                        ))
                        .child(fee_field(
                            "tx-priority-input",
                            "Priority fee (gwei)",
                            &fees.priority_gwei,
                        ))
                })
                .child(kv("Max total", max_cost, "tx-max-cost"))
        })
}

/// The fee-inclusive maximum with enough digits that the fee shows.
pub fn max_total(wei: u128, decimals: u8, symbol: &str) -> String {
    match format_units(&wei.to_string(), decimals, 6) {
        Ok(v) => format!("{v} {symbol}"),
        Err(_) => format!("? {symbol}"),
    }
}

fn asset_body(a: &Approval) -> El {
    let t = a
        .request
        .get("asset")
        .cloned()
        .unwrap_or_else(|| a.display.clone());
    let dec = t.get("decimals").map(|d| d.to_string()).unwrap_or_default();
    el("section")
        .class("card")
        .child(kv("Symbol", s(&t, "symbol"), "asset-symbol"))
        .child(kv("Contract", s(&t, "address"), "asset-address"))
        .child(kv("Decimals", dec, "asset-decimals"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state() -> WalletState {
        serde_json::from_value(json!({
            "initialized": true, "unlocked": true,
            "accounts": [
                {"address": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "name": "Account 1", "origin": {"index": 0}},
                {"address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "name": "Savings", "origin": {"index": 1}}
            ],
            "selected": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
            "network": {"chainId": 31337, "name": "Localhost", "rpcUrl": "http://127.0.0.1:8545", "symbol": "ETH", "builtin": true},
            "networks": [
                {"chainId": 1, "name": "Ethereum", "rpcUrl": "https://x", "symbol": "ETH", "builtin": true},
                {"chainId": 31337, "name": "Localhost", "rpcUrl": "http://127.0.0.1:8545", "symbol": "ETH", "builtin": true},
                {"chainId": 999, "name": "Mine", "rpcUrl": "https://y", "symbol": "MYC"}
            ],
            "sites": [{"origin": "http://127.0.0.1:5173", "accounts": ["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"], "connectedAt": 0}],
            "settings": {"autoLockMinutes": 15, "ownWindowEthereum": false},
            "pendingApprovals": 1
        }))
        .unwrap()
    }

    fn home_ui() -> Ui {
        let mut ui = Ui::new(Page::Popup);
        ui.state = Some(state());
        ui.route();
        ui.portfolio = Some(serde_json::from_value(json!({
            "address": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", "chainId": 31337,
            "native": {"symbol": "ETH", "balance": "0x21e19e0c9bab2400000"},
            "tokens": [{"address": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "symbol": "TND", "decimals": 6, "balance": "0x3b9aca00"}],
            "updatedAt": 1000
        })).unwrap());
        ui.activity = vec![serde_json::from_value(json!({
            "hash": "0xabc1230000000000000000000000000000000000000000000000000000000001", "chainId": 31337,
            "from": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
            "value": "0xde0b6b3a7640000", "status": "confirmed", "submittedAt": 0
        })).unwrap()];
        ui.now_ms = 61_000.0;
        ui
    }

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

    #[test]
    fn home_shows_balances_activity_and_sites() {
        let mut ui = home_ui();
        let v = view(&ui, "");
        assert_eq!(v.get("data-screen"), Some("home"));
        assert_eq!(
            v.find("native-balance").unwrap().text_content(),
            "10,000 ETH"
        );
        assert_eq!(v.find("account-name").unwrap().text_content(), "Account 1");
        assert_eq!(
            v.find("account-address").unwrap().text_content(),
            "0xf39F…2266"
        );
        assert_eq!(v.find("token-balance-TND").unwrap().text_content(), "1,000");
        assert!(v
            .find("pending-approvals")
            .unwrap()
            .text_content()
            .starts_with("1 request "));
        let sel = v.find("network-select").unwrap();
        assert_eq!(sel.find("network-select").unwrap().children.len(), 3);
        ui.tab = Tab::Activity;
        let v = view(&ui, "");
        let h = "0xabc1230000000000000000000000000000000000000000000000000000000001";
        assert_eq!(
            v.find(&format!("activity-status-{h}"))
                .unwrap()
                .text_content(),
            "confirmed"
        );
        assert!(v
            .find(&format!("activity-row-{h}"))
            .unwrap()
            .text_content()
            .contains("1 ETH"));
        ui.tab = Tab::Sites;
        let v = view(&ui, "");
        let b = v.find("site-disconnect-http://127.0.0.1:5173").unwrap();
        assert_eq!(b.get("data-action"), Some("disconnect"));
        assert_eq!(b.get("data-arg"), Some("http://127.0.0.1:5173"));
    }

    #[test]
    fn balance_of_another_account_is_not_shown() {
        let mut ui = home_ui();
        if let Some(st) = ui.state.as_mut() {
            st.selected = Some("0x70997970C51812dc3A010C7d01b50e0d17dc79C8".into());
        }
        let v = view(&ui, "");
        assert_eq!(v.find("native-balance").unwrap().text_content(), "— ETH");
    }

    #[test]
    fn accounts_and_networks_screens() {
        let mut ui = home_ui();
        ui.screen = Screen::Accounts;
        let v = view(&ui, "");
        assert_eq!(
            v.find("account-row-0").unwrap().get("aria-current"),
            Some("true")
        );
        assert_eq!(
            v.find("account-select-1").unwrap().get("data-arg"),
            Some("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
        );
        assert!(v.find("account-add").is_some());
        ui.renaming = Some("0x70997970c51812dc3a010c7d01b50e0d17dc79c8".into());
        let v = view(&ui, "");
        assert_eq!(
            v.find("account-name-input").unwrap().get("value"),
            Some("Savings")
        );
        ui.screen = Screen::Networks;
        let v = view(&ui, "");
        assert!(v.find("network-remove-999").is_some());
        assert!(
            v.find("network-remove-1").is_none(),
            "built-in networks cannot be removed"
        );
        assert!(v
            .find("network-row-31337")
            .unwrap()
            .get("class")
            .unwrap()
            .contains("selected"));
    }

    #[test]
    fn onboarding_screens_carry_their_testids() {
        let mut ui = Ui::new(Page::Popup);
        ui.state = Some(WalletState::default());
        ui.route();
        let v = view(&ui, "");
        assert!(v.find("onboard-create").is_some() && v.find("onboard-import").is_some());
        assert!(v.find("onboard-open-tab").is_some());
        let mut tab = ui.clone();
        tab.page = Page::Onboarding;
        assert!(
            view(&tab, "").find("onboard-open-tab").is_none(),
            "no tab link inside the tab"
        );
        ui.screen = Screen::CreateWords;
        ui.phrase = Some(SecretPhrase::new("a b c d e f g h i j k l".into()));
        let v = view(&ui, "");
        assert_eq!(v.find("seed-word-11").unwrap().text_content(), "l");
        ui.screen = Screen::CreateConfirm;
        ui.confirm_positions = vec![1, 5, 9];
        let v = view(&ui, "");
        assert_eq!(v.find("confirm-word-5").unwrap().get("type"), Some("text"));
        assert_eq!(
            v.find("confirm-word-5").unwrap().get("data-index"),
            Some("5")
        );
        assert_eq!(
            v.find("confirm-form").unwrap().get("data-action"),
            Some("confirm-words")
        );
        ui.screen = Screen::CreatePassword;
        let v = view(&ui, "short");
        assert!(v
            .find("password-strength")
            .unwrap()
            .text_content()
            .starts_with("Weak"));
        assert!(format!("{ui:?}").contains("<redacted>"));
        assert!(
            !format!("{ui:?}").contains("a b c d"),
            "Debug leaks the phrase"
        );
        // Leaving onboarding drops the phrase.
        ui.state = Some(state());
        ui.route();
        assert!(ui.phrase.is_none());
    }

    fn approval_ui(kind: &str, request: Value, display: Value) -> Ui {
        let mut ui = Ui::new(Page::Approval);
        ui.state = Some(state());
        ui.approval = Some(Approval {
            id: json!(1),
            origin: "http://127.0.0.1:5173".into(),
            kind: kind.into(),
            request,
            display,
            ..Default::default()
        });
        ui.route();
        // Visible and focused long enough (crate::queue).
        ui.approve_armed = true;
        ui
    }

    #[test]
    fn approval_views() {
        let ui = approval_ui(
            "connect",
            json!({"method": "eth_requestAccounts"}),
            Value::Null,
        );
        let v = view(&ui, "");
        assert_eq!(
            v.find("approval-origin").unwrap().text_content(),
            "http://127.0.0.1:5173"
        );
        assert!(v
            .find("approval-account-0")
            .unwrap()
            .get("checked")
            .is_some());
        assert!(v
            .find("approval-account-1")
            .unwrap()
            .get("checked")
            .is_none());

        let ui = approval_ui(
            "personal_sign",
            json!({"address": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "message": "0x48656c6c6f"}),
            Value::Null,
        );
        assert_eq!(
            view(&ui, "").find("sign-message").unwrap().text_content(),
            "Hello"
        );

        let td = json!({
            "types": {"EIP712Domain": [{"name": "chainId", "type": "uint256"}], "Permit": [{"name": "spender", "type": "address"}, {"name": "value", "type": "uint256"}]},
            "primaryType": "Permit", "domain": {"chainId": 31337},
            "message": {"spender": "0x000000000000000000000000000000000000dEaD", "value": format!("0x{}", "f".repeat(64))}
        });
        let ui = approval_ui(
            "typed_data",
            json!({"typedData": td.to_string()}),
            Value::Null,
        );
        let v = view(&ui, "");
        assert_eq!(
            v.find("typed-primary-type").unwrap().text_content(),
            "Permit"
        );
        assert_eq!(
            v.find("typed-field-message.spender")
                .unwrap()
                .text_content(),
            "0x000000000000000000000000000000000000dEaD"
        );
        assert_eq!(
            v.find("typed-field-domain.chainId").unwrap().text_content(),
            "31337"
        );
        assert!(v
            .find("typed-warning-0")
            .unwrap()
            .text_content()
            .contains("permit"));
        assert!(v.find("typed-unlimited-message.value").is_some());
        assert!(v.find("typed-unlimited-domain.chainId").is_none());
        assert!(v
            .find("typed-warning-1")
            .unwrap()
            .text_content()
            .contains("unlimited"));

        let bad = approval_ui("typed_data", json!({"typedData": "{"}), Value::Null);
        assert!(view(&bad, "").find("typed-error").is_some());
    }

    #[test]
    fn transaction_approval_has_editable_fees() {
        let tx = json!({"from": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                        "value": "0xde0b6b3a7640000", "gas": "0x5208", "maxFeePerGas": "0x77359400", "maxPriorityFeePerGas": "0x3b9aca00"});
        let ui = approval_ui(
            "transaction",
            json!({"transaction": tx}),
            json!({"warnings": [], "chain": {"chainId": 31337, "name": "Localhost", "rpcUrl": "http://127.0.0.1:8545", "symbol": "ETH", "known": true}}),
        );
        let v = view(&ui, "");
        assert_eq!(v.find("tx-call").unwrap().text_content(), "Send");
        assert_eq!(v.find("tx-value").unwrap().text_content(), "1 ETH");
        assert_eq!(v.find("tx-gas-input").unwrap().get("value"), Some("21000"));
        assert_eq!(v.find("tx-maxfee-input").unwrap().get("value"), Some("2"));
        assert_eq!(
            v.find("tx-max-cost").unwrap().text_content(),
            "1.000042 ETH" // 1 ETH + 21000 gas * 2 gwei
        );
        assert!(v
            .find("approval-approve")
            .unwrap()
            .get("disabled")
            .is_none());
        let mut waiting = ui.clone();
        if let Some(a) = waiting.approval.as_mut() {
            a.needs_fill = true;
        }
        let v = view(&waiting, "");
        assert!(v.find("tx-fees-loading").is_some());
        assert!(v
            .find("approval-approve")
            .unwrap()
            .get("disabled")
            .is_some());
    }

    #[test]
    fn a_legacy_transaction_has_one_gas_price_field() {
        let tx = json!({"to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "value": "0x1",
                        "gas": "0x5208", "gasPrice": "0x4a817c800", "chainId": "0x7a69"});
        let v = view(
            &approval_ui("transaction", json!({"transaction": tx}), Value::Null),
            "",
        );
        let price = v.find("tx-gasprice-input").unwrap();
        assert_eq!(price.get("value"), Some("20"));
        assert!(v.find("tx-priority-input").is_none() && v.find("tx-maxfee-input").is_none());
    }

    #[test]
    fn chain_asset_and_raw_message_approvals() {
        // Add and switch network: crate::chain's tests, from the worker's own approvals.
        let asset = json!({"chainId": 31337, "address": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "symbol": "TND", "decimals": 6});
        let v = view(
            &approval_ui("watch_asset", json!({"asset": asset}), Value::Null),
            "",
        );
        assert_eq!(v.find("asset-symbol").unwrap().text_content(), "TND");
        assert_eq!(v.find("asset-decimals").unwrap().text_content(), "6");
        let v = view(
            &approval_ui("personal_sign", json!({"message": "0x00ff"}), Value::Null),
            "",
        );
        assert_eq!(v.find("sign-message").unwrap().text_content(), "0x00ff");
        assert!(v
            .find("sign-message")
            .unwrap()
            .get("class")
            .unwrap()
            .contains("mono"));
        let v = view(&approval_ui("something_new", json!({}), Value::Null), "");
        assert!(
            v.find("approval-approve")
                .unwrap()
                .get("disabled")
                .is_some(),
            "unknown kinds cannot be approved"
        );
    }

    #[test]
    fn token_amounts_use_known_decimals() {
        let data = format!(
            "0xa9059cbb{:0>64}{:0>64}",
            "70997970c51812dc3a010c7d01b50e0d17dc79c8",
            "16e360" // 1.5 * 10^6
        );
        let token = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
        let tx = json!({"to": token.to_lowercase(), "data": data, "chainId": "0x7a69", "gas": "0xea60", "maxFeePerGas": "0x1", "maxPriorityFeePerGas": "0x1"});
        let mut ui = approval_ui("transaction", json!({"transaction": tx}), Value::Null);
        let v = view(&ui, "");
        assert_eq!(
            v.find("tx-call-detail").unwrap().text_content(),
            "Send 1500000 raw units (reading the token contract…) to 0x7099…79C8"
        );
        assert_eq!(
            v.find("tx-to").unwrap().text_content(),
            token,
            "shown with its EIP-55 checksum"
        );
        // A watched-token list that says otherwise is not asked: the
        // contract's own answers are (issue 13, item 3).
        ui.portfolio = Some(serde_json::from_value(json!({"tokens": [{"address": token, "symbol": "TND", "decimals": 18, "balance": "0x0"}]})).unwrap());
        let sym = "0x0000000000000000000000000000000000000000000000000000000000000020\
                   0000000000000000000000000000000000000000000000000000000000000004\
                   5553445800000000000000000000000000000000000000000000000000000000";
        let dec = format!("0x{:064x}", 6);
        ui.tokens = vec![crate::token::TokenFacts::from_reply(
            31337,
            token,
            &json!({"symbol": sym, "decimals": dec}),
        )];
        let v = view(&ui, "");
        assert_eq!(
            v.find("tx-call-detail").unwrap().text_content(),
            "Send 1.5 USDX to 0x7099…79C8"
        );
        // A token whose calls failed: raw units, said to be unknown, by address.
        ui.tokens = vec![crate::token::TokenFacts::from_reply(
            31337,
            token,
            &json!({"symbol": null, "decimals": null}),
        )];
        let v = view(&ui, "");
        assert_eq!(
            v.find("tx-call-detail").unwrap().text_content(),
            format!("Send 1500000 raw units of an unknown token ({token}) to 0x7099…79C8")
        );
    }

    /// Issue 13, item 3: the approval the worker really queues for an
    /// unlimited ERC-20 approval warns once (it showed two copies, one per
    /// spelling of the spender's address).
    #[test]
    fn unlimited_approve_calldata_warns_once() {
        use tandem_wallet::{Edits, Fill, Outcome, Wallet};
        const A0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
        let mut w = Wallet::default();
        w.state.sync_accounts(&[(
            A0.parse().unwrap(),
            json!({"kind": "derived", "source": 0, "index": 0}),
        )]);
        w.state.select_network(31337).unwrap();
        let ask = |w: &mut Wallet, method: &str, params: Value| match w.request(
            "http://127.0.0.1:5173",
            &json!({"method": method, "params": params}),
            true,
            json!({"tabId": 1}),
            1,
        ) {
            Outcome::Approval { id, .. } => id,
            o => panic!("{o:?}"),
        };
        let id = ask(&mut w, "eth_requestAccounts", json!([]));
        w.resolve(id, true, &Edits::default(), true, 1, "", [0; 16])
            .unwrap();
        let spender = "70997970c51812dc3a010c7d01b50e0d17dc79c8";
        let data = format!("0x095ea7b3{spender:0>64}{}", "f".repeat(64));
        let to = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
        let id = ask(
            &mut w,
            "eth_sendTransaction",
            json!([{"from": A0, "to": to, "data": data}]),
        );
        let fill: Fill = serde_json::from_value(
            json!({"nonce": "0x0", "gasEstimate": "0xea60", "baseFee": "0x1", "priorityFee": "0x1"}),
        )
        .unwrap();
        w.fill_transaction(id, &fill).unwrap();
        let mut ui = Ui::new(Page::Approval);
        ui.state = Some(state());
        ui.approval = Some(serde_json::from_value(json!(w.session.approval(id).unwrap())).unwrap());
        ui.route();
        let v = view(&ui, "");
        assert_eq!(
            v.find("tx-call").unwrap().text_content(),
            "Unlimited token approval"
        );
        let warning = v.find("tx-warning-0").unwrap().text_content();
        assert!(
            warning
                .contains("unlimited token approval: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
            "{warning}"
        );
        assert!(v.find("tx-warning-1").is_none(), "one warning, not two");
        assert_eq!(v.find("tx-data").unwrap().text_content(), "68 bytes");
        // The nonce, and the calldata itself on demand.
        assert_eq!(v.find("tx-nonce").unwrap().text_content(), "0");
        assert_eq!(v.find("tx-data-hex").unwrap().text_content(), data);
    }

    #[test]
    fn token_rows_and_form() {
        let mut ui = home_ui();
        let v = view(&ui, "");
        let rm = v
            .find("token-remove-0x5fbdb2315678afecb367f032d93f642f64180aa3")
            .unwrap();
        assert_eq!(rm.get("data-action"), Some("remove-token"));
        assert_eq!(v.find("token-add").unwrap().get("data-arg"), Some("token"));
        ui.screen = Screen::AddToken;
        let v = view(&ui, "");
        assert_eq!(v.get("data-screen"), Some("token-form"));
        assert_eq!(
            v.find("token-form").unwrap().get("data-action"),
            Some("save-token")
        );
        assert!(v.find("token-form-decimals").is_some());
        assert_eq!(
            Action::parse("open", "token"),
            Some(Action::Open(Screen::AddToken))
        );
    }

    #[test]
    fn actions_parse() {
        assert_eq!(
            Action::parse("select-network", "10"),
            Some(Action::SelectNetwork("10".into()))
        );
        assert_eq!(Action::parse("tab", "sites"), Some(Action::Tab(Tab::Sites)));
        assert_eq!(
            Action::parse("open", "accounts"),
            Some(Action::Open(Screen::Accounts))
        );
        assert_eq!(Action::parse("nope", ""), None);
    }

    #[test]
    fn every_interactive_element_has_a_testid() {
        fn check(e: &El) {
            let interactive = matches!(e.tag, "button" | "input" | "select" | "textarea" | "form");
            assert!(
                !interactive || e.get("data-testid").is_some(),
                "<{}> without data-testid: {:?}",
                e.tag,
                e.attrs
            );
            for c in &e.children {
                if let Node::El(x) = c {
                    check(x);
                }
            }
        }
        let mut ui = home_ui();
        for screen in [
            Screen::AddToken,
            Screen::Home,
            Screen::Accounts,
            Screen::Networks,
            Screen::NetworkForm,
            Screen::Settings,
            Screen::ChangePassword,
            Screen::Unlock,
            Screen::Welcome,
            Screen::Import,
            Screen::CreatePassword,
        ] {
            ui.screen = screen;
            for tab in [Tab::Tokens, Tab::Activity, Tab::Sites] {
                ui.tab = tab;
                check(&view(&ui, ""));
            }
        }
        let tx = json!({"to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "gas": "0x5208", "maxFeePerGas": "0x1", "maxPriorityFeePerGas": "0x1"});
        check(&view(
            &approval_ui("transaction", json!({"transaction": tx}), Value::Null),
            "",
        ));
        check(&view(&approval_ui("connect", json!({}), Value::Null), ""));
    }
}
