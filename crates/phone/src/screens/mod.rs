//! What each screen shows: the model in, a virtual DOM out (a module per
//! screen). Pure, so tests read the views directly.

#[cfg(any(feature = "sync", test))]
mod activity;
mod approve;
mod biometric;
mod help;
mod home;
mod import;
mod pair;
mod password;
mod policy;
mod reveal;
mod scan;
mod setup;
#[cfg(any(feature = "sync", test))]
mod sync;
mod unlock;
#[cfg(any(feature = "sync", test))]
mod wallet_view;
mod welcome;
mod words;

use crate::model::{Phone, Screen};
use tandem_ui::view::{el, El};

/// The whole page for the model's screen.
pub fn view(p: &Phone) -> El {
    let body = match p.screen {
        Screen::Welcome => welcome::view(p),
        Screen::Words => words::view(p),
        Screen::Confirm => words::confirm_view(p),
        Screen::Import => import::view(p),
        Screen::Password => password::view(p),
        Screen::Unlock => unlock::view(p),
        Screen::Reveal => reveal::view(p),
        Screen::Setup => setup::view(p),
        Screen::Home => home::view(p),
        Screen::Scan => scan::view(p),
        Screen::Paste => scan::paste_view(p),
        Screen::Pair => pair::view(p),
        Screen::Help => help::view(),
        Screen::Approve => approve::view(p),
        Screen::Policy => policy::view(p),
        Screen::Biometric => biometric::view(p),
        // Only the sync module reaches it: the plain one links none of it.
        #[cfg(any(feature = "sync", test))]
        Screen::Activity => activity::view(p),
        #[cfg(any(feature = "sync", test))]
        Screen::Sync => sync::view(p),
        #[cfg(any(feature = "sync", test))]
        Screen::Wallet => wallet_view::view(p),
        #[cfg(not(any(feature = "sync", test)))]
        Screen::Activity | Screen::Sync | Screen::Wallet => home::view(p),
    };
    let update = p.update.as_ref().map(|u| {
        el("p")
            .class(if u.contains("refused") {
                "warn danger"
            } else {
                "notice"
            })
            .attr("role", "status")
            .tid("update-note")
            .text(u.clone())
    });
    el("div")
        .class("phone")
        .attr("aria-busy", if p.busy { "true" } else { "false" })
        .maybe(update)
        .child(body)
}

/// A button that dispatches `action`.
pub(crate) use tandem_ui::pairing::btn as button;

/// A form's submit button: `busy_label` and disabled while `busy`.
pub(crate) fn submit(testid: &str, label: &str, busy_label: &str, busy: bool) -> El {
    let b = el("button")
        .attr("type", "submit")
        .class("btn primary")
        .tid(testid)
        .text(if busy { busy_label } else { label });
    if busy {
        b.attr("disabled", "")
    } else {
        b
    }
}

/// The title bar with a way back to Home.
pub(crate) fn back_bar(title: &str) -> El {
    el("header")
        .class("bar")
        .child(button("‹ Back", "back", "home", "btn link"))
        .child(el("h1").text(title))
}

/// The title bar of an onboarding step, with a way back (`back` is the
/// action: the previous step).
pub(crate) fn onboarding_bar(title: &str, back: &str) -> El {
    el("header")
        .class("bar")
        .child(button("‹ Back", "back", back, "btn link"))
        .child(el("h1").text(title))
}

/// A labelled password field.
pub(crate) fn password_field(testid: &str, label: &str) -> El {
    el("label")
        .class("field")
        .child(el("span").class("label").text(label))
        .child(
            el("input")
                .attr("type", "password")
                .attr("autocomplete", "off")
                .attr("spellcheck", "false")
                .tid(testid),
        )
}

/// The last error and notice of the model.
pub(crate) fn messages(p: &Phone) -> Vec<El> {
    let mut out = Vec::new();
    if let Some(e) = &p.error {
        out.push(
            el("p")
                .class("error")
                .attr("role", "alert")
                .tid("error")
                .text(e.clone()),
        );
    }
    if let Some(n) = &p.notice {
        out.push(
            el("p")
                .class("notice")
                .attr("role", "status")
                .tid("notice")
                .text(n.clone()),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Camera;
    use tandem_device::PairingPhase;
    use tandem_ui::pairing::DeviceEvent;

    fn link() -> String {
        format!(
            "tandem:pair?v=2&relay=ws://127.0.0.1:8787/v1/ws&topic={a}&key={a}&commit={a}&exp=4000000000",
            a = "A".repeat(43)
        )
    }

    #[test]
    fn offline_home_says_what_needs_the_relay() {
        let (mut p, _) = crate::model::testing::imported(None, 0.0, true);
        let view_json = |online: bool| {
            serde_json::from_value(serde_json::json!({
                "me": "aa", "name": "Phone", "group": "g", "relay": "ws://127.0.0.1:1/v1/ws",
                "epoch": 0, "online": online, "paired": false, "pairing_active": false,
                "pairing": null, "removed": null,
                "waiting": {"outbox": 0, "revocations": 0, "deferred": 0},
                "devices": []
            }))
            .unwrap_or_else(|e| panic!("{e}"))
        };
        p.on_view(view_json(false));
        p.screen = crate::model::Screen::Home;
        let note = view(&p).find("offline-note").map(El::text_content);
        assert_eq!(note.as_deref(), Some(home::OFFLINE));
        p.on_view(view_json(true));
        assert!(view(&p).find("offline-note").is_none());
    }

    #[test]
    fn every_screen_has_its_controls_with_labels() {
        let (mut p, _) = crate::model::testing::imported(None, 0.0, true);
        let v = view(&p);
        assert!(v.find("setup-name").is_some());
        assert_eq!(
            v.find("setup-start").map(El::text_content).as_deref(),
            Some("Start")
        );
        p.on_view(
            serde_json::from_value(serde_json::json!({
                "me": "aa", "name": "Phone", "group": "g", "relay": "ws://127.0.0.1:1/v1/ws",
                "epoch": 0, "online": true, "paired": false, "pairing_active": false,
                "pairing": null, "removed": null,
                "waiting": {"outbox": 0, "revocations": 0, "deferred": 0},
                "devices": [{"id": "aa", "name": "Phone", "this_device": true, "founder": true,
                  "paired_at": null, "last_seen": null, "token_expires": null, "removed": null}]
            }))
            .expect("a DevicesView"),
        );
        let v = view(&p);
        assert_eq!(
            v.find("device-this").map(El::text_content).as_deref(),
            Some("This phone")
        );
        for id in ["scan-start", "paste-start", "help-open"] {
            let b = v.find(id).unwrap_or_else(|| panic!("{id} missing"));
            assert!(!b.text_content().trim().is_empty(), "{id} has no label");
        }
        assert_eq!(
            v.find("account-address").map(El::text_content).as_deref(),
            Some("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        );
        assert!(v.find("lock").is_some());
        assert!(v.find("storage-warning").is_none());
        p.on_storage(false);
        let warned = view(&p).find("storage-warning").map(El::text_content);
        assert!(warned.unwrap_or_default().contains("may clear"));
        p.screen = Screen::Help;
        let help = view(&p);
        assert!(help.text_content().contains("lose"));
        assert!(help.find("reveal-open").is_some());
    }

    #[test]
    fn the_wallet_screens_have_their_fields_and_never_show_a_phrase_unasked() {
        let mut p = Phone::new(None, false, None, 0.0, true);
        let v = view(&p);
        assert!(v.find("wallet-create").is_some() && v.find("wallet-import").is_some());
        p.screen = Screen::Import;
        assert!(view(&p).find("import-phrase").is_some());
        p.screen = Screen::Password;
        let v = view(&p);
        assert!(v.find("password-input").is_some() && v.find("password-confirm-input").is_some());
        let mut p = Phone::new(Some("{}".into()), true, None, 0.0, true);
        let v = view(&p);
        assert!(v.find("unlock-password-input").is_some() && v.find("unlock-submit").is_some());
        p.error = Some("Wrong password. Try again.".into());
        assert_eq!(
            view(&p).find("error").map(El::text_content).as_deref(),
            Some("Wrong password. Try again.")
        );
        let mut p = crate::model::testing::open_phone(0.0, true);
        p.screen = Screen::Reveal;
        let v = view(&p);
        assert!(v.find("reveal-password-input").is_some());
        assert!(
            !v.text_content().contains("junk"),
            "no phrase before the password"
        );
        p.revealed = Some(crate::wallet::Secret::new(
            crate::model::testing::ANVIL.into(),
        ));
        let v = view(&p);
        assert_eq!(
            v.find("reveal-word-11").map(El::text_content).as_deref(),
            Some("junk")
        );
    }

    #[test]
    fn the_scan_screen_says_why_the_camera_cannot_be_used() {
        let mut p = crate::model::testing::open_phone(0.0, true);
        p.screen = Screen::Scan;
        for (cam, words) in [
            (Camera::Denied, "allow"),
            (Camera::Missing, "No camera"),
            (Camera::Insecure, "https"),
            (Camera::Failed("boom".into()), "boom"),
        ] {
            p.camera = cam;
            let v = view(&p);
            let t = v
                .find("scan-status")
                .map(El::text_content)
                .unwrap_or_default();
            assert!(t.contains(words), "{t:?} lacks {words:?}");
            assert!(
                v.find("paste-start").is_some(),
                "a way to paste the link instead"
            );
        }
        p.camera = Camera::Scanning;
        assert!(view(&p).find("scan-video-slot").is_some());
    }

    #[test]
    fn the_pair_screen_shows_the_code_large_and_both_answers() {
        let mut p = crate::model::testing::open_phone(0.0, true);
        p.act("paste-submit", "", &|_| link(), &|_| None, &|_| false);
        p.on_event(DeviceEvent {
            kind: "pairing".into(),
            pairing: Some(PairingPhase::CompareCode {
                code: "123456".into(),
                name: "Chrome on Linux".into(),
            }),
            what: String::new(),
            error: String::new(),
        });
        let v = view(&p);
        assert_eq!(
            v.find("pair-code").map(El::text_content).as_deref(),
            Some("123 456")
        );
        assert!(v.find("pair-codes-match").is_some() && v.find("pair-codes-differ").is_some());
        assert!(v.text_content().contains("Chrome on Linux"));
    }
}
