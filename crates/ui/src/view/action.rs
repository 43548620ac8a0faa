//! What a click or submit asks for, read back from the element's
//! `data-action`/`data-arg`.

use super::{El, Screen, Tab};

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
    /// Move an account one place up the list.
    MoveAccountUp(String),
    /// Move an account one place down the list.
    MoveAccountDown(String),
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
    /// The Sync screen: list one more page of the address book (the page's
    /// own: no worker call; not a [`crate::sync::SyncAction`], which the
    /// phone app decides on, and which lists the whole book).
    SyncMore,
    /// On the activity log screen.
    Audit(crate::audit::AuditAction),
    /// Reveal, import or remove keys (`crate::secrets`).
    Secrets(crate::secrets::SecretsAction),
}

impl Action {
    /// The `data-action` and `data-arg` that [`Action::parse`] reads back as
    /// this action: the one place the views' actions are spelled for the
    /// DOM (views attach them with [`El::on`]).
    pub fn encode(&self) -> (&'static str, Option<String>) {
        let arg = |s: &String| Some(s.clone());
        match self {
            Action::StartCreate => ("start-create", None),
            Action::StartImport => ("start-import", None),
            Action::Back => ("back", None),
            Action::WordsWritten => ("words-written", None),
            Action::ConfirmWords => ("confirm-words", None),
            Action::CreateWallet => ("create-wallet", None),
            Action::Import => ("import", None),
            Action::Unlock => ("unlock", None),
            Action::Lock => ("lock", None),
            Action::Tab(t) => (
                "tab",
                Some(
                    match t {
                        Tab::Tokens => "tokens",
                        Tab::Activity => "activity",
                        Tab::Sites => "sites",
                    }
                    .into(),
                ),
            ),
            Action::Open(s) => (
                "open",
                Some(
                    match s {
                        Screen::AddToken => "token",
                        s => s.name(),
                    }
                    .into(),
                ),
            ),
            Action::SelectAccount(a) => ("select-account", arg(a)),
            Action::RenameAccount(a) => ("rename-account", arg(a)),
            Action::SaveAccountName(a) => ("save-account-name", arg(a)),
            Action::MoveAccountUp(a) => ("move-account-up", arg(a)),
            Action::MoveAccountDown(a) => ("move-account-down", arg(a)),
            Action::AddAccount => ("add-account", None),
            Action::SelectNetwork(a) => ("select-network", arg(a)),
            Action::EditNetwork(a) => ("edit-network", arg(a)),
            Action::NewNetwork => ("new-network", None),
            Action::SaveNetwork => ("save-network", None),
            Action::RemoveNetwork(a) => ("remove-network", arg(a)),
            Action::Disconnect(a) => ("disconnect", arg(a)),
            Action::SaveSettings => ("save-settings", None),
            Action::ChangePassword => ("change-password", None),
            Action::RejectSite => ("reject-site", None),
            Action::SaveToken => ("save-token", None),
            Action::RemoveToken(a) => ("remove-token", arg(a)),
            Action::Approve => ("approve", None),
            Action::Reject => ("reject", None),
            Action::Refresh => ("refresh", None),
            Action::CopyAddress => ("copy-address", None),
            Action::OpenApproval(a) => ("open-approval", arg(a)),
            Action::PasswordTyped => ("password-typed", None),
            Action::OpenOnboardingTab => ("open-onboarding-tab", None),
            Action::SendAsset(a) => ("send-asset", arg(a)),
            Action::SendPick(a) => ("send-pick", arg(a)),
            Action::HideToken(a) => ("hide-token", arg(a)),
            Action::UnhideToken(a) => ("unhide-token", arg(a)),
            Action::ToggleHidden => ("toggle-hidden", None),
            Action::SendMax => ("send-max", None),
            Action::SendReview => ("send-review", None),
            Action::StartPair => ("pair-start", None),
            Action::PairAgain => ("pair-again", None),
            Action::NewPairingCode => ("pair-new-code", None),
            Action::StartAddDevice => ("add-device-start", None),
            Action::AcceptLink => ("accept-link", None),
            Action::AllowOtherRelay => ("allow-other-relay", None),
            Action::CodesMatch(yes) => {
                ("codes-match", Some(if *yes { "yes" } else { "no" }.into()))
            }
            Action::CancelPairing => ("cancel-pairing", None),
            Action::ResumePairing => ("resume-pairing", None),
            Action::CopyPairLink => ("copy-pair-link", None),
            Action::Revoke(a) => ("revoke", arg(a)),
            Action::RevokeCancel => ("revoke-cancel", None),
            Action::RevokeConfirm(a) => ("revoke-confirm", arg(a)),
            Action::Sync(a) => crate::sync::encode(a),
            Action::SyncMore => ("sync-contacts-more", None),
            Action::Audit(a) => crate::audit::encode(a),
            Action::Secrets(a) => crate::secrets::encode(a),
        }
    }

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
                "help" => Screen::Help,
                "send" => Screen::Send,
                "receive" => Screen::Receive,
                other => crate::secrets::screen(other).unwrap_or(Screen::Home),
            }),
            "select-account" => Action::SelectAccount(a),
            "rename-account" => Action::RenameAccount(a),
            "save-account-name" => Action::SaveAccountName(a),
            "move-account-up" => Action::MoveAccountUp(a),
            "move-account-down" => Action::MoveAccountDown(a),
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
            "sync-contacts-more" => Action::SyncMore,
            _ => {
                return crate::sync::parse(action, arg)
                    .map(Action::Sync)
                    .or_else(|| crate::audit::parse(action, arg).map(Action::Audit))
                    .or_else(|| crate::secrets::parse(action, arg).map(Action::Secrets))
            }
        })
    }
}

impl El {
    /// Click (or submit, on a form) dispatches `action`.
    pub fn on(self, action: Action) -> Self {
        let (name, arg) = action.encode();
        let e = self.attr("data-action", name);
        match arg {
            Some(a) => e.attr("data-arg", a),
            None => e,
        }
    }

    /// A change of this field's value `v` dispatches `make(v)` (a
    /// `<select>`, or a field read when it changes).
    pub fn on_change(self, make: fn(String) -> Action) -> Self {
        self.attr("data-change", make(String::new()).encode().0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Every action a view attaches reads back as itself: `encode` and
    /// `parse` spell the same strings.
    #[test]
    fn every_action_reads_back_as_itself() {
        use crate::audit::AuditAction;
        use crate::secrets::SecretsAction;
        use crate::sync::SyncAction;
        let x = || "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".to_owned();
        let mut all = vec![
            Action::StartCreate,
            Action::StartImport,
            Action::Back,
            Action::WordsWritten,
            Action::ConfirmWords,
            Action::CreateWallet,
            Action::Import,
            Action::Unlock,
            Action::Lock,
            Action::SelectAccount(x()),
            Action::RenameAccount(x()),
            Action::SaveAccountName(x()),
            Action::MoveAccountUp(x()),
            Action::MoveAccountDown(x()),
            Action::AddAccount,
            Action::SelectNetwork("10".into()),
            Action::EditNetwork("10".into()),
            Action::NewNetwork,
            Action::SaveNetwork,
            Action::RemoveNetwork("10".into()),
            Action::Disconnect("https://a.example".into()),
            Action::SaveSettings,
            Action::ChangePassword,
            Action::RejectSite,
            Action::SaveToken,
            Action::RemoveToken(x()),
            Action::Approve,
            Action::Reject,
            Action::Refresh,
            Action::CopyAddress,
            Action::OpenApproval(String::new()),
            Action::PasswordTyped,
            Action::OpenOnboardingTab,
            Action::SendAsset(x()),
            Action::SendPick(x()),
            Action::HideToken(x()),
            Action::UnhideToken(x()),
            Action::ToggleHidden,
            Action::SendMax,
            Action::SendReview,
            Action::StartPair,
            Action::PairAgain,
            Action::NewPairingCode,
            Action::StartAddDevice,
            Action::AcceptLink,
            Action::AllowOtherRelay,
            Action::CodesMatch(true),
            Action::CodesMatch(false),
            Action::CancelPairing,
            Action::ResumePairing,
            Action::CopyPairLink,
            Action::Revoke("ab".repeat(32)),
            Action::RevokeCancel,
            Action::RevokeConfirm("ab".repeat(32)),
            Action::Sync(SyncAction::Toggle("address_book".into())),
            Action::Sync(SyncAction::AddContact),
            Action::Sync(SyncAction::RemoveContact(x())),
            Action::Sync(SyncAction::Dismiss),
            Action::SyncMore,
            Action::Sync(SyncAction::Backup(crate::backup::BackupAction::Delete)),
            Action::Sync(SyncAction::Backup(crate::backup::BackupAction::TurnOn)),
            Action::Sync(SyncAction::Backup(crate::backup::BackupAction::Restore)),
            Action::Sync(SyncAction::Backup(crate::backup::BackupAction::Skip)),
            Action::Sync(SyncAction::Backup(crate::backup::BackupAction::CutOff)),
            Action::Audit(AuditAction::Export("json".into())),
            Action::Audit(AuditAction::Export("csv".into())),
            Action::Secrets(SecretsAction::Reveal(true)),
            Action::Secrets(SecretsAction::Reveal(false)),
            Action::Secrets(SecretsAction::Import),
            Action::Secrets(SecretsAction::AskRemove(x())),
            Action::Secrets(SecretsAction::Remove(x())),
        ];
        all.extend([Tab::Tokens, Tab::Activity, Tab::Sites].map(Action::Tab));
        all.extend(
            [
                Screen::Home,
                Screen::Accounts,
                Screen::Networks,
                Screen::Settings,
                Screen::ChangePassword,
                Screen::AddToken,
                Screen::Devices,
                Screen::Sync,
                Screen::Audit,
                Screen::Help,
                Screen::Send,
                Screen::Receive,
                Screen::RevealPhrase,
                Screen::ExportKey,
                Screen::ImportAccount,
            ]
            .map(Action::Open),
        );
        all.extend(
            ["device", "kind", "site", "since", "problems", "older"]
                .map(|f| Action::Audit(AuditAction::Filter(f, "x".into()))),
        );
        for a in all {
            let (name, arg) = a.encode();
            assert_eq!(
                Action::parse(name, arg.as_deref().unwrap_or("")),
                Some(a.clone()),
                "{name} {arg:?}"
            );
        }
    }
}
