//! Unlock with fingerprint or face, the model's side: turning it on (after
//! the password), the Unlock screen's button, what each answer of the
//! phone's authenticator means, and turning it off. The crypto is in
//! `prf`; the page only runs `navigator.credentials` (`webauthn.rs`).
//!
//! What it protects: the vault key is stored only sealed under a key the
//! phone's authenticator makes after a fingerprint or face; the password
//! keeps working, and is still asked before the recovery phrase is shown.
//! What it does not: whoever can pass the phone's own fingerprint or face
//! check (or holds the phone unlocked) opens Tandem too.

use crate::model::{Effect, Phone, Screen};
use crate::prf::{PrfOutput, Record, PRF_LEN};
use crate::wallet::{self, Secret};
use core::fmt;
use rand_core::CryptoRngCore;
use tandem_vault::VaultKey;

/// What the app says when the authenticator cannot make a PRF key.
pub const NO_PRF: &str = "This phone's authenticator cannot make a key for Tandem (no PRF \
     support), so unlock stays with your password.";

/// A WebAuthn call this model waits for.
pub(crate) enum PrfWait {
    /// Turning it on: the vault key (the password just opened it) and the
    /// PRF input, until the authenticator answers; then the credential.
    Enroll {
        key: VaultKey,
        salt: [u8; PRF_LEN],
        credential: Option<Vec<u8>>,
    },
    /// The Unlock screen's button.
    Unlock,
}

impl fmt::Debug for PrfWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PrfWait::Enroll { .. } => "Enroll(<vault key>)",
            PrfWait::Unlock => "Unlock",
        })
    }
}

/// A new credential, as the page read it from `navigator.credentials.create`.
pub struct Created {
    /// Its `rawId`.
    pub credential_id: Vec<u8>,
    /// `getClientExtensionResults().prf.enabled` (`None`: no `prf` at all).
    pub prf_enabled: Option<bool>,
    /// `prf.results.first`, when the authenticator evaluated it at creation.
    pub first: Option<PrfOutput>,
}

impl fmt::Debug for Created {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Created")
            .field("prf_enabled", &self.prf_enabled)
            .field("first", &self.first.is_some())
            .finish_non_exhaustive()
    }
}

/// A failed WebAuthn call: the DOMException's name and message.
pub type WebAuthnError = (String, String);

fn random<const N: usize>(rng: &mut impl CryptoRngCore) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill_bytes(&mut b);
    b
}

/// What a failed call means, in the user's words.
fn explain(name: &str, message: &str, unlocking: bool) -> String {
    match name {
        "NotAllowedError" if unlocking => "Fingerprint or face unlock did not work: it was \
             cancelled, or this phone no longer has the key Tandem made for it (removed, or \
             another authenticator). Unlock with your password; Home → “Unlock with fingerprint \
             or face” sets it up again."
            .into(),
        "NotAllowedError" => "Setting up fingerprint or face unlock was cancelled or timed out, \
             so unlock stays with your password."
            .into(),
        "SecurityError" => "This browser offers fingerprint or face unlock only when the app is \
             opened at a name (https://…), not at an IP address, so unlock stays with your \
             password."
            .into(),
        "NotSupportedError" => "This phone has no fingerprint or face unlock that this browser \
             can use, so unlock stays with your password."
            .into(),
        _ => format!(
            "Fingerprint or face unlock failed ({}), so unlock stays with your password.",
            message.trim_end_matches('.')
        ),
    }
}

impl Phone {
    /// Reads the record stored by an earlier run. One that is unreadable,
    /// or was made for another vault (a new wallet, a new password), is
    /// erased: it could never open this wallet.
    pub fn load_biometric(&mut self, json: Option<&str>) -> Vec<Effect> {
        let Some(json) = json else { return Vec::new() };
        match (Record::from_json(json), self.vault.as_deref()) {
            (Ok(r), Some(vault)) if r.belongs_to(vault) => {
                self.biometric = Some(r);
                Vec::new()
            }
            _ => vec![Effect::SaveBiometric(None)],
        }
    }

    /// The taps of this feature (`None`: not one of them).
    pub(crate) fn biometric_act(
        &mut self,
        action: &str,
        field: &dyn Fn(&str) -> String,
    ) -> Option<Vec<Effect>> {
        let mut out = Vec::new();
        match action {
            "biometric-open" => self.go(Screen::Biometric),
            "biometric-enable" if self.biometric.is_none() && self.webauthn => {
                let password = Secret::new(field("biometric-password-input"));
                if password.expose().is_empty() {
                    self.error = Some("Enter your password.".into());
                } else {
                    self.error = None;
                    self.notice = None;
                    self.queue(crate::model::Job::Enroll(password));
                    out.push(Effect::Work);
                }
            }
            "biometric-disable" => {
                self.biometric = None;
                self.prf_wait = None;
                self.error = None;
                self.notice = Some(
                    "Fingerprint or face unlock is off, and the key it kept is erased. Unlock \
                     with your password."
                        .into(),
                );
                out.push(Effect::SaveBiometric(None));
            }
            "unlock-biometric" if self.biometric.is_some() && self.wallet.is_none() => {
                self.error = None;
                self.notice = None;
                self.queue(crate::model::Job::AskPrf);
                out.push(Effect::Work);
            }
            _ => return None,
        }
        Some(out)
    }

    /// After the password opened the vault: ask the authenticator for a
    /// credential that can make a key (PRF).
    pub(crate) fn enroll(
        &mut self,
        rng: &mut impl CryptoRngCore,
        password: &Secret,
    ) -> Vec<Effect> {
        let Some(vault) = self.vault.as_deref() else {
            return Vec::new();
        };
        match wallet::vault_key(vault, password) {
            Ok(key) => {
                let salt = random(rng);
                self.prf_wait = Some(PrfWait::Enroll {
                    key,
                    salt,
                    credential: None,
                });
                self.busy = true;
                vec![Effect::CreateCredential {
                    user_id: random(rng),
                    challenge: random(rng),
                    salt,
                }]
            }
            Err(e) => {
                self.error = Some(e);
                Vec::new()
            }
        }
    }

    /// The Unlock screen's button: ask the authenticator for the key.
    pub(crate) fn ask_prf(&mut self, rng: &mut impl CryptoRngCore) -> Vec<Effect> {
        let Some(r) = self.biometric.as_ref() else {
            return Vec::new();
        };
        self.prf_wait = Some(PrfWait::Unlock);
        self.busy = true;
        vec![Effect::GetPrf {
            credential_id: r.credential_id.clone(),
            challenge: random(rng),
            salt: r.salt,
        }]
    }

    /// `navigator.credentials.create` answered.
    pub fn on_created(
        &mut self,
        rng: &mut impl CryptoRngCore,
        result: Result<Created, WebAuthnError>,
    ) -> Vec<Effect> {
        let Some(PrfWait::Enroll { key, salt, .. }) = self.prf_wait.take() else {
            self.busy = false;
            return Vec::new(); // locked or turned off meanwhile
        };
        match result {
            Err((name, message)) => self.failed(&name, &message, false),
            Ok(c) => match (c.prf_enabled, c.first) {
                (_, Some(first)) => self.finish_enroll(rng, c.credential_id, salt, &first, &key),
                // Enabled, but not evaluated at creation: ask once more.
                (Some(true), None) => {
                    let credential_id = c.credential_id;
                    self.prf_wait = Some(PrfWait::Enroll {
                        key,
                        salt,
                        credential: Some(credential_id.clone()),
                    });
                    vec![Effect::GetPrf {
                        credential_id,
                        challenge: random(rng),
                        salt,
                    }]
                }
                _ => {
                    self.busy = false;
                    self.error = Some(NO_PRF.into());
                    Vec::new()
                }
            },
        }
    }

    /// `navigator.credentials.get` answered: `Ok(None)` when it gave no
    /// PRF result.
    pub fn on_prf(
        &mut self,
        rng: &mut impl CryptoRngCore,
        result: Result<Option<PrfOutput>, WebAuthnError>,
    ) -> Vec<Effect> {
        let Some(wait) = self.prf_wait.take() else {
            self.busy = false;
            return Vec::new();
        };
        let unlocking = matches!(wait, PrfWait::Unlock);
        let out = match result {
            Err((name, message)) => return self.failed(&name, &message, unlocking),
            Ok(None) => {
                self.busy = false;
                self.error = Some(NO_PRF.into());
                return Vec::new();
            }
            Ok(Some(out)) => out,
        };
        match wait {
            PrfWait::Enroll {
                key,
                salt,
                credential: Some(credential_id),
            } => self.finish_enroll(rng, credential_id, salt, &out, &key),
            PrfWait::Enroll { .. } => {
                self.busy = false;
                Vec::new()
            }
            PrfWait::Unlock => self.unlock_with(&out),
        }
    }

    fn failed(&mut self, name: &str, message: &str, unlocking: bool) -> Vec<Effect> {
        self.busy = false;
        self.error = Some(explain(name, message, unlocking));
        Vec::new()
    }

    fn finish_enroll(
        &mut self,
        rng: &mut impl CryptoRngCore,
        credential_id: Vec<u8>,
        salt: [u8; PRF_LEN],
        prf: &PrfOutput,
        key: &VaultKey,
    ) -> Vec<Effect> {
        self.busy = false;
        let Some(vault) = self.vault.as_deref() else {
            return Vec::new();
        };
        let r = Record::wrap(rng, credential_id, salt, prf, vault, key);
        let json = r.to_json();
        self.biometric = Some(r);
        self.error = None;
        self.notice = Some(
            "Fingerprint or face unlock is on. Your password still works, and is still asked \
             before your recovery phrase is shown."
                .into(),
        );
        vec![Effect::SaveBiometric(Some(json))]
    }

    fn unlock_with(&mut self, prf: &PrfOutput) -> Vec<Effect> {
        self.busy = false;
        if self.wallet.is_some() {
            return Vec::new(); // the password was faster
        }
        let (Some(r), Some(vault)) = (self.biometric.as_ref(), self.vault.as_deref()) else {
            return Vec::new();
        };
        let opened = r
            .unwrap(prf, vault)
            .map_err(|e| wallet::sentence(&e.to_string()))
            .and_then(|key| wallet::unlock_with_key(vault, &key));
        self.opened(opened)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{imported, PASSWORD};
    use rand_core::OsRng;

    fn none(_: &str) -> String {
        String::new()
    }
    fn password(_: &str) -> String {
        PASSWORD.into()
    }
    fn prf(b: u8) -> PrfOutput {
        PrfOutput::from_slice(&[b; 32]).expect("32 bytes")
    }
    fn created(first: Option<PrfOutput>, enabled: Option<bool>) -> Created {
        Created {
            credential_id: vec![5; 16],
            prf_enabled: enabled,
            first,
        }
    }

    /// An open phone with fingerprint unlock turned on (the authenticator
    /// answered `prf(1)`), and the record's JSON.
    fn enrolled() -> (Phone, String) {
        let (mut p, _) = imported(None, 0.0, true);
        p.webauthn = true;
        p.act("biometric-open", "", &none, &|_| None, &|_| false);
        assert_eq!(p.screen, Screen::Biometric);
        assert_eq!(
            p.act("biometric-enable", "", &password, &|_| None, &|_| false),
            vec![Effect::Work]
        );
        let out = p.work(&mut OsRng);
        assert!(
            matches!(&out[..], [Effect::CreateCredential { .. }]),
            "{out:?}"
        );
        assert!(p.busy, "busy while the authenticator asks");
        assert!(
            !format!("{p:?}").contains(&format!("{:?}", [1u8; 32])),
            "no secret in Debug"
        );
        let out = p.on_created(&mut OsRng, Ok(created(Some(prf(1)), Some(true))));
        let [Effect::SaveBiometric(Some(json))] = &out[..] else {
            panic!("{out:?}")
        };
        assert!(p.biometric.is_some() && !p.busy);
        assert!(p.notice.as_deref().unwrap_or("").contains("is on"));
        (p, json.clone())
    }

    #[test]
    fn turned_on_after_the_password_it_unlocks_with_the_authenticators_key() {
        let (mut p, json) = enrolled();
        let address = p.wallet.as_ref().map(|w| w.address.clone());
        p.act("lock", "", &none, &|_| None, &|_| false);
        assert!(p.wallet.is_none());
        // A new page: the record is read back.
        let vault = p.vault.clone();
        let mut p = Phone::new(vault, true, None, 0.0, true);
        assert!(p.load_biometric(Some(&json)).is_empty());
        assert_eq!(
            p.act("unlock-biometric", "", &none, &|_| None, &|_| false),
            vec![Effect::Work]
        );
        let out = p.work(&mut OsRng);
        let [Effect::GetPrf { credential_id, .. }] = &out[..] else {
            panic!("{out:?}")
        };
        assert_eq!(credential_id, &vec![5u8; 16]);
        assert_eq!(
            p.on_prf(&mut OsRng, Ok(Some(prf(1)))),
            vec![
                Effect::Audit(tandem_sync::audit::Happened::Unlock { ok: true }),
                Effect::OpenDevice
            ]
        );
        assert_eq!(p.wallet.as_ref().map(|w| w.address.clone()), address);
        assert_eq!(p.screen, Screen::Home);
    }

    #[test]
    fn a_wrong_password_turns_nothing_on() {
        let (mut p, _) = imported(None, 0.0, true);
        p.webauthn = true;
        p.act("biometric-open", "", &none, &|_| None, &|_| false);
        assert!(p
            .act("biometric-enable", "", &none, &|_| None, &|_| false)
            .is_empty());
        assert_eq!(p.error.as_deref(), Some("Enter your password."));
        p.act(
            "biometric-enable",
            "",
            &|_| "nope".into(),
            &|_| None,
            &|_| false,
        );
        assert!(p.work(&mut OsRng).is_empty());
        assert_eq!(p.error.as_deref(), Some("Wrong password. Try again."));
        assert!(p.prf_wait.is_none() && p.biometric.is_none());
    }

    #[test]
    fn an_authenticator_without_prf_keeps_the_password_and_says_why() {
        for answer in [created(None, Some(false)), created(None, None)] {
            let (mut p, _) = imported(None, 0.0, true);
            p.webauthn = true;
            p.act("biometric-enable", "", &password, &|_| None, &|_| false);
            p.work(&mut OsRng);
            assert!(p.on_created(&mut OsRng, Ok(answer)).is_empty());
            assert_eq!(p.error.as_deref(), Some(NO_PRF));
            assert!(p.biometric.is_none() && p.prf_wait.is_none() && !p.busy);
        }
    }

    #[test]
    fn prf_enabled_without_a_result_at_creation_asks_the_authenticator_once_more() {
        let (mut p, _) = imported(None, 0.0, true);
        p.webauthn = true;
        p.act("biometric-enable", "", &password, &|_| None, &|_| false);
        p.work(&mut OsRng);
        let out = p.on_created(&mut OsRng, Ok(created(None, Some(true))));
        assert!(matches!(&out[..], [Effect::GetPrf { .. }]), "{out:?}");
        let out = p.on_prf(&mut OsRng, Ok(Some(prf(3))));
        assert!(matches!(&out[..], [Effect::SaveBiometric(Some(_))]));
        assert!(p.biometric.is_some());
    }

    #[test]
    fn a_removed_credential_or_another_key_fails_clearly_and_the_password_still_works() {
        let (mut p, json) = enrolled();
        let vault = p.vault.clone();
        p.act("lock", "", &none, &|_| None, &|_| false);
        // The authenticator no longer has the credential: NotAllowedError.
        p.act("unlock-biometric", "", &none, &|_| None, &|_| false);
        p.work(&mut OsRng);
        let e = (
            "NotAllowedError".to_owned(),
            "timed out or not allowed".to_owned(),
        );
        assert!(p.on_prf(&mut OsRng, Err(e)).is_empty());
        let msg = p.error.clone().unwrap_or_default();
        assert!(
            msg.contains("no longer has the key") && msg.contains("password"),
            "{msg}"
        );
        assert!(p.wallet.is_none() && !p.busy);
        // Another credential's key.
        p.act("unlock-biometric", "", &none, &|_| None, &|_| false);
        p.work(&mut OsRng);
        // A failed unlock, for the Activity log.
        assert_eq!(
            p.on_prf(&mut OsRng, Ok(Some(prf(2)))),
            vec![Effect::Audit(tandem_sync::audit::Happened::Unlock {
                ok: false
            })]
        );
        assert!(p
            .error
            .as_deref()
            .unwrap_or("")
            .contains("did not open this wallet"));
        assert!(p.wallet.is_none());
        // No PRF result at all.
        p.act("unlock-biometric", "", &none, &|_| None, &|_| false);
        p.work(&mut OsRng);
        p.on_prf(&mut OsRng, Ok(None));
        assert_eq!(p.error.as_deref(), Some(NO_PRF));
        // The password still works, and the record is kept.
        p.act("unlock", "", &password, &|_| None, &|_| false);
        p.work(&mut OsRng);
        assert!(p.wallet.is_some());
        assert!(p.biometric.is_some());
        assert_eq!(p.vault, vault);
        let _ = json;
    }

    #[test]
    fn turning_it_off_erases_the_record() {
        let (mut p, _) = enrolled();
        assert_eq!(
            p.act("biometric-disable", "", &none, &|_| None, &|_| false),
            vec![Effect::SaveBiometric(None)]
        );
        assert!(p.biometric.is_none());
        p.act("lock", "", &none, &|_| None, &|_| false);
        assert!(p
            .act("unlock-biometric", "", &none, &|_| None, &|_| false)
            .is_empty());
    }

    #[test]
    fn a_record_of_another_wallet_or_a_damaged_one_is_erased_at_start() {
        let (p, json) = enrolled();
        // The same phone after a new wallet was made (another vault).
        let (other, _) = imported(None, 0.0, true);
        let mut fresh = Phone::new(other.vault.clone(), true, None, 0.0, true);
        assert_eq!(
            fresh.load_biometric(Some(&json)),
            vec![Effect::SaveBiometric(None)]
        );
        assert!(fresh.biometric.is_none());
        let mut same = Phone::new(p.vault.clone(), true, None, 0.0, true);
        assert_eq!(
            same.load_biometric(Some("{\"v\":1}")),
            vec![Effect::SaveBiometric(None)]
        );
        assert!(same.load_biometric(None).is_empty());
    }

    #[test]
    fn a_cancelled_setup_and_an_ip_address_origin_are_explained() {
        for (name, expect) in [
            ("NotAllowedError", "cancelled or timed out"),
            ("SecurityError", "not at an IP address"),
            ("NotSupportedError", "no fingerprint or face unlock"),
            ("UnknownError", "failed (the reason)"),
        ] {
            let (mut p, _) = imported(None, 0.0, true);
            p.webauthn = true;
            p.act("biometric-enable", "", &password, &|_| None, &|_| false);
            p.work(&mut OsRng);
            p.on_created(&mut OsRng, Err((name.into(), "the reason.".into())));
            let e = p.error.clone().unwrap_or_default();
            assert!(
                e.contains(expect) && e.ends_with("password."),
                "{name}: {e}"
            );
            assert!(p.prf_wait.is_none() && p.biometric.is_none());
        }
    }

    #[test]
    fn locking_while_the_authenticator_asks_drops_the_vault_key_and_ignores_the_answer() {
        let (mut p, _) = imported(None, 0.0, true);
        p.webauthn = true;
        p.act("biometric-enable", "", &password, &|_| None, &|_| false);
        p.work(&mut OsRng);
        p.act("lock", "", &none, &|_| None, &|_| false);
        assert!(p.prf_wait.is_none());
        assert!(p
            .on_created(&mut OsRng, Ok(created(Some(prf(1)), Some(true))))
            .is_empty());
        assert!(p.biometric.is_none());
    }
}
