//! Settings → Help names buttons and choices in quotes (“Lost”, “They
//! differ”, “Cut off other devices”, …): each of them is on a screen the
//! popup really renders, so the help cannot point at a button that was
//! renamed or never existed.

// Helpers outside #[test] fns unwrap too: a failed lookup is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{json, Value};
use tandem_device::PairingPhase;
use tandem_sync::backup::{BackupView, FoundView};
use tandem_sync::Category;
use tandem_ui::help::TOPICS;
use tandem_ui::model::Approval;
use tandem_ui::view::{view, El, Page, Screen, Ui};

/// The screens the help sends the user to, rendered as the popup shows them.
fn screens() -> Vec<El> {
    let mut out = vec![
        view(&ui_on(Screen::Home, Some(group())), ""),
        view(&ui_on(Screen::Settings, Some(group())), ""),
    ];
    // Devices, revoking the phone: the reasons and "also erase".
    let mut d = ui_on(Screen::Devices, Some(group()));
    d.revoking = Some(PHONE.into());
    out.push(view(&d, ""));
    // Pair a phone, at the code comparison.
    out.push(view(
        &pair_ui(PairingPhase::ConfirmCode {
            code: "123456".into(),
        }),
        "",
    ));
    // A new browser: the welcome screen.
    let mut w = Ui::new(Page::Popup);
    w.state = Some(Default::default());
    w.route();
    out.push(view(&w, ""));
    // Settings → Sync's backup: on, cut off, and the offer after an import.
    let on: BackupView = serde_json::from_value(json!({
        "ready": true, "on": true, "saved_at": 1_000, "pending": false, "error": null
    }))
    .unwrap();
    let cut = BackupView {
        on: false,
        cut_off: Some(1_000),
        ..on.clone()
    };
    out.push(tandem_ui::backup::section(&on, 61_000.0));
    out.push(tandem_ui::backup::section(&cut, 61_000.0));
    let found = FoundView {
        moved: false,
        saved_at: 1_000,
        categories: vec![(Category::AddressBook, 1)],
        entries: 3,
        devices: 1,
        ahead: 0,
        ahead_ms: 0,
    };
    out.push(tandem_ui::backup::offer(&found, 61_000.0));
    // The approval window.
    let mut a = Ui::new(Page::Approval);
    a.state = Some(state());
    a.approval = Some(Approval::example(
        "connect",
        "http://127.0.0.1:5173",
        json!({}),
        Value::Null,
    ));
    a.route();
    out.push(view(&a, ""));
    out
}

/// Every element's text below `e` (and `e`'s).
fn texts(e: &El, out: &mut Vec<String>) {
    out.push(e.text_content().trim().to_owned());
    for c in &e.children {
        if let tandem_ui::view::Node::El(x) = c {
            texts(x, out);
        }
    }
}

/// The names the help puts in quotes.
fn quoted(s: &str) -> Vec<&str> {
    s.split('“')
        .skip(1)
        .map(|q| q.split_once('”').unwrap().0)
        .collect()
}

#[test]
fn every_name_in_quotes_is_a_label_the_popup_shows() {
    let mut shown = Vec::new();
    for s in screens() {
        texts(&s, &mut shown);
    }
    let mut names = 0;
    for (q, a) in TOPICS {
        for name in quoted(q).into_iter().chain(quoted(a)) {
            names += 1;
            // The label itself, or how it begins ("Compromised: someone
            // else may have it", "Backup: this browser was cut off 1 min
            // ago by …").
            assert!(
                shown.iter().any(|t| t.starts_with(name)),
                "{q:?} names “{name}”, which no screen shows"
            );
        }
    }
    assert!(names >= 15, "{names} names in quotes");
    // A name that is on no screen is caught.
    assert!(!shown.iter().any(|t| t.starts_with("Erase everything")));
}

#[test]
fn the_help_screen_is_reached_from_settings_and_back() {
    let settings = view(&ui_on(Screen::Settings, None), "");
    let b = settings.find("open-help").unwrap();
    assert_eq!(
        (b.get("data-action"), b.get("data-arg")),
        (Some("open"), Some("help"))
    );
    let help = view(&ui_on(Screen::Help, None), "");
    assert_eq!(help.get("data-screen"), Some("help"));
    assert_eq!(all(&help, "help-topic").len(), TOPICS.len());
    assert!(help.find("back-button").is_some());
}
