//! What a click or submit asks for, read back from the element's
//! `data-action`/`data-arg`.

use super::{Screen, Tab};

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
}
