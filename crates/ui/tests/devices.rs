//! The Devices, pairing, Home and Settings views rendered from real
//! `tandem_device::DevicesView` values.

// Helpers outside #[test] fns unwrap too: a failed lookup is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use qrcode::{Color, QrCode};
use tandem_device::PairingPhase;
use tandem_ui::model::RelaySetting;
use tandem_ui::pairing::{DeviceEvent, Flow, Role};
use tandem_ui::qr::QUIET_ZONE;
use tandem_ui::view::{view, Action, El, Screen};

fn row<'a>(v: &'a El, id: &str) -> &'a El {
    all(v, "device-row")
        .into_iter()
        .find(|r| r.get("data-device") == Some(id))
        .unwrap_or_else(|| panic!("no row for {id}"))
}

fn text(e: &El, testid: &str) -> String {
    e.find(testid)
        .unwrap_or_else(|| panic!("no {testid}"))
        .text_content()
}

#[test]
fn the_list_shows_every_device() {
    let ui = ui_on(Screen::Devices, Some(group()));
    assert_eq!(
        ui.screen,
        Screen::Devices,
        "an unlocked wallet keeps Devices"
    );
    let v = view(&ui, "");
    assert_eq!(v.get("data-screen"), Some("devices"));
    assert!(v.find("devices-screen").is_some());
    assert_eq!(all(&v, "device-row").len(), 4);

    let me = row(&v, ME);
    assert_eq!(text(me, "device-name"), "Chrome on Linux");
    assert_eq!(text(me, "device-this"), "This browser");
    assert_eq!(text(me, "device-paired"), "Paired on 1 Mar 2025");

    let phone = row(&v, PHONE);
    assert_eq!(text(phone, "device-name"), "Pixel 8");
    assert!(phone.find("device-this").is_none());
    assert_eq!(text(phone, "device-paired"), "Started this wallet");
    let seen = phone.find("device-last-seen").unwrap();
    assert_eq!(seen.text_content(), "Last seen 2 min ago");
    assert_eq!(
        seen.get("title"),
        Some("14 Mar 2025, 09:24"),
        "absolute time on hover"
    );

    let tablet = row(&v, TABLET);
    assert_eq!(text(tablet, "device-name"), "Unnamed device");
    assert_eq!(text(tablet, "device-last-seen"), "Not seen yet");

    let old = row(&v, OLD);
    assert_eq!(text(old, "device-removed"), "Revoked by Pixel 8 · lost");
    assert!(
        old.find("device-revoke").is_none(),
        "no revoke on a revoked device"
    );
    assert!(old.find("device-last-seen").is_none());

    // One revoke control per active device; this browser's one leaves.
    assert_eq!(all(&v, "device-revoke").len(), 3);
    let b = phone.find("device-revoke").unwrap();
    assert_eq!(b.tag, "button");
    assert_eq!(b.text_content(), "Revoke");
    assert_eq!(b.get("aria-label"), Some("Revoke Pixel 8"));
    assert_eq!(b.get("data-action"), Some("revoke"));
    assert_eq!(b.get("data-arg"), Some(PHONE));
    assert_eq!(text(me, "device-revoke"), "Leave group");

    assert_eq!(text(&v, "devices-status"), "Online");
    assert_eq!(text(&v, "pair-start"), "Pair a phone");
    assert_eq!(text(&v, "add-device-start"), "Add a device from a link");
    assert!(v.find("removed-notice").is_none());
    assert!(v.find("pair-resume").is_none());
}

#[test]
fn connection_state_and_a_lone_browser() {
    let mut g = solo();
    g.online = false;
    g.waiting.outbox = 2;
    let v = view(&ui_on(Screen::Devices, Some(g.clone())), "");
    assert_eq!(
        text(&v, "devices-status"),
        "Offline, retrying · 2 changes waiting"
    );
    assert!(
        v.find("device-revoke").is_none(),
        "nothing to leave without other devices"
    );
    assert_eq!(text(&v, "device-paired"), "Started this wallet");
    g.online = true;
    g.waiting.outbox = 0;
    g.waiting.revocations = 1;
    let v = view(&ui_on(Screen::Devices, Some(g)), "");
    assert_eq!(text(&v, "devices-status"), "Online · 1 change waiting");
    // Before the first answer.
    let v = view(&ui_on(Screen::Devices, None), "");
    assert!(v.find("devices-loading").is_some());
}

#[test]
fn revoking_takes_one_confirm_step_that_says_what_happens() {
    let mut ui = ui_on(Screen::Devices, Some(group()));
    assert_eq!(
        Action::parse("revoke", PHONE),
        Some(Action::Revoke(PHONE.into()))
    );
    ui.revoking = Some(PHONE.into());
    let v = view(&ui, "");
    let phone = row(&v, PHONE);
    assert!(
        phone.find("device-revoke").is_none(),
        "replaced by the step"
    );
    assert_eq!(
        text(phone, "revoke-warning"),
        "Pixel 8 will be signed out of your wallet at once and get no new messages; the \
         wallet's group key is rotated. This cannot be undone; pair it again to use it."
    );
    for reason in ["lost", "compromised", "retired"] {
        let r = phone.find(&format!("revoke-reason-{reason}")).unwrap();
        assert_eq!((r.tag, r.get("type")), ("input", Some("radio")));
        assert_eq!(r.get("value"), Some(reason));
    }
    let labels = phone.find("revoke-step").unwrap().text_content();
    assert!(
        labels.contains("Lost")
            && labels.contains("Compromised")
            && labels.contains("No longer used")
    );
    let confirm = phone.find("revoke-confirm").unwrap();
    assert_eq!(confirm.text_content(), "Revoke Pixel 8");
    assert_eq!(confirm.get("data-action"), Some("revoke-confirm"));
    assert_eq!(confirm.get("data-arg"), Some(PHONE));
    assert_eq!(text(phone, "revoke-cancel"), "Cancel");
    assert_eq!(all(&v, "revoke-step").len(), 1, "only the chosen device");

    // This browser: leave the group, in its own words, no reason asked.
    ui.revoking = Some(ME.into());
    let v = view(&ui, "");
    let me = row(&v, ME);
    let warning = text(me, "revoke-warning");
    assert!(warning.starts_with("This browser will leave your wallet group at once"));
    assert!(warning.contains("cannot be undone"));
    assert_eq!(text(me, "revoke-confirm"), "Leave this wallet group");
    assert!(me.find("revoke-reason-lost").is_none());

    // A revoked device cannot be revoked again, even if asked.
    ui.revoking = Some(OLD.into());
    assert!(view(&ui, "").find("revoke-step").is_none());
}

/// Reads the SVG's dark modules back into a matrix.
fn decode_svg(svg: &El) -> Vec<Vec<bool>> {
    let n: usize = svg.get("data-modules").unwrap().parse().unwrap();
    let vb = svg.get("viewBox").unwrap();
    assert_eq!(vb, format!("0 0 {n} {n}"));
    let paths = elements(svg)
        .into_iter()
        .filter(|e| e.tag == "path")
        .collect::<Vec<_>>();
    assert_eq!(paths.len(), 1);
    assert_eq!(paths[0].get("fill"), Some("#000"));
    let bg = elements(svg).into_iter().find(|e| e.tag == "rect").unwrap();
    assert_eq!(bg.get("fill"), Some("#fff"));
    let mut m = vec![vec![false; n]; n];
    for run in paths[0]
        .get("d")
        .unwrap()
        .split('z')
        .filter(|s| !s.is_empty())
    {
        // M{x} {y}h{len}v1h-{len}
        let rest = run.strip_prefix('M').unwrap();
        let (x, rest) = rest.split_once(' ').unwrap();
        let (y, rest) = rest.split_once('h').unwrap();
        let (len, back) = rest.split_once("v1h-").unwrap();
        assert_eq!(len, back);
        let (x, y, len): (usize, usize, usize) =
            (x.parse().unwrap(), y.parse().unwrap(), len.parse().unwrap());
        for cell in &mut m[y][x..x + len] {
            assert!(!*cell, "runs overlap");
            *cell = true;
        }
    }
    m
}

#[test]
fn the_pair_screen_shows_the_link_as_a_qr_code() {
    let ui = pair_ui(PairingPhase::Offer {
        link: LINK.into(),
        expires_at: NOW + 102,
    });
    let v = view(&ui, "");
    assert_eq!(v.get("data-screen"), Some("pair"));
    assert!(v.find("pair-screen").is_some());
    let svg = v.find("pair-qr").unwrap();
    assert_eq!(svg.tag, "svg");
    assert_eq!(svg.get("aria-label"), Some("Pairing QR code"));
    assert_eq!(svg.get("role"), Some("img"));

    let code = QrCode::new(LINK.as_bytes()).unwrap();
    let w = code.width();
    let m = decode_svg(svg);
    assert_eq!(m.len(), w + 2 * QUIET_ZONE);
    let colors = code.to_colors();
    for (y, row) in m.iter().enumerate() {
        for (x, &dark) in row.iter().enumerate() {
            let inside = (QUIET_ZONE..QUIET_ZONE + w).contains(&x)
                && (QUIET_ZONE..QUIET_ZONE + w).contains(&y);
            let want = inside && colors[(y - QUIET_ZONE) * w + (x - QUIET_ZONE)] == Color::Dark;
            assert_eq!(dark, want, "module ({x}, {y})");
        }
    }
    // Big enough for a phone at arm's length, small enough for the popup,
    // and a whole number of pixels per module.
    let px: usize = svg.get("width").unwrap().parse().unwrap();
    assert_eq!(svg.get("height"), svg.get("width"));
    assert!((270..=320).contains(&px), "{px} px");
    assert_eq!(px % m.len(), 0, "{px} px for {} modules", m.len());

    assert_eq!(text(&v, "pair-countdown"), "Expires in 1:42");
    assert_eq!(text(&v, "pair-copy-link"), "Copy link");
    assert_eq!(text(&v, "pair-new-code"), "New code");
    assert_eq!(text(&v, "pair-cancel"), "Cancel");
    assert!(v.find("pair-code").is_none());
}

#[test]
fn the_pair_screen_walks_through_the_steps() {
    // The phone scanned: compare the codes.
    let v = view(
        &pair_ui(PairingPhase::ConfirmCode {
            code: "123456".into(),
        }),
        "",
    );
    assert!(v.find("pair-qr").is_none());
    assert_eq!(text(&v, "pair-code"), "123 456");
    let yes = v.find("pair-codes-match").unwrap();
    assert_eq!(
        (yes.text_content().as_str(), yes.get("data-arg")),
        ("Codes match", Some("yes"))
    );
    let no = v.find("pair-codes-differ").unwrap();
    assert_eq!(
        (no.text_content().as_str(), no.get("data-arg")),
        ("They differ", Some("no"))
    );
    assert_eq!(
        Action::parse("codes-match", "no"),
        Some(Action::CodesMatch(false))
    );

    let v = view(&pair_ui(PairingPhase::WaitingForOtherDevice), "");
    assert_eq!(text(&v, "pair-status"), "Waiting for your phone…");

    let v = view(
        &pair_ui(PairingPhase::Paired {
            name: "Pixel 8".into(),
            device: PHONE.into(),
        }),
        "",
    );
    assert_eq!(text(&v, "pair-status"), "Paired with Pixel 8");
    let done = v.find("pair-done").unwrap();
    assert!(done.text_content().contains("Paired with Pixel 8"));
    let done = done.find("pair-back").unwrap();
    assert_eq!(
        (done.get("data-action"), done.get("data-arg")),
        (Some("open"), Some("devices"))
    );
    assert!(v.find("pair-cancel").is_none());

    let v = view(
        &pair_ui(PairingPhase::Failed {
            error: "the codes differ: nothing was installed".into(),
        }),
        "",
    );
    assert_eq!(
        text(&v, "pair-status"),
        "the codes differ: nothing was installed"
    );
    assert!(v.find("pair-new-code").is_some() && v.find("pair-back").is_some());
    assert!(v.find("pair-done").is_none());

    // A warning is shown and the pairing goes on.
    let mut ui = pair_ui(PairingPhase::ConfirmCode {
        code: "123456".into(),
    });
    if let Some(f) = ui.flow.as_mut() {
        f.on_event(PairingPhase::Warning {
            message: "a second device answered this pairing code; it was ignored".into(),
        });
    }
    let v = view(&ui, "");
    assert!(text(&v, "pair-warning").contains("second device"));
    assert_eq!(text(&v, "pair-code"), "123 456");
}

#[test]
fn the_countdown_runs_out_and_asks_for_a_new_code_once() {
    let mut ui = pair_ui(PairingPhase::Offer {
        link: LINK.into(),
        expires_at: NOW + 102,
    });
    ui.now_ms += 101_000.0;
    assert_eq!(text(&view(&ui, ""), "pair-countdown"), "Expires in 0:01");
    let f = ui.flow.clone().unwrap();
    assert!(!f.needs_renewal(ui.now_ms));
    ui.now_ms += 1_000.0;
    assert_eq!(text(&view(&ui, ""), "pair-countdown"), "Expired");
    assert!(f.needs_renewal(ui.now_ms));
    assert!(!f.renew(true).needs_renewal(ui.now_ms + 500_000.0));
}

#[test]
fn adding_a_device_from_a_link() {
    let mut ui = ui_on(Screen::AddDevice, Some(group()));
    let v = view(&ui, "");
    assert_eq!(v.get("data-screen"), Some("add-device"));
    let link = v.find("add-device-link").unwrap();
    assert_eq!(link.tag, "textarea");
    assert_eq!(text(&v, "add-device-submit"), "Compare codes");
    assert_eq!(
        v.find("add-device-form").unwrap().get("data-action"),
        Some("accept-link")
    );

    // The link names another relay.
    let mut f = Flow::start(Role::FromLink, ui.devices.as_ref());
    f.on_event(PairingPhase::OtherRelay {
        offer_relay: "wss://other.example/ws".into(),
        group_relay: "wss://relay.tandem.example/v1/ws".into(),
    });
    ui.flow = Some(f.clone());
    let v = view(&ui, "");
    let w = text(&v, "other-relay-warning");
    assert!(w.contains("wss://other.example/ws"), "{w}");
    assert!(w.contains("wss://relay.tandem.example/v1/ws"), "{w}");
    let go_on = v.find("other-relay-continue").unwrap();
    assert_eq!(
        (go_on.text_content().as_str(), go_on.get("data-action")),
        ("Use it anyway", Some("allow-other-relay"))
    );
    assert_eq!(
        v.find("other-relay-cancel").unwrap().get("data-action"),
        Some("cancel-pairing")
    );
    assert!(v.find("add-device-link").is_none());

    // Compare the codes.
    f.on_event(PairingPhase::CompareCode {
        code: "042917".into(),
        name: "Pixel 9".into(),
    });
    ui.flow = Some(f.clone());
    let v = view(&ui, "");
    assert_eq!(text(&v, "pair-code"), "042 917");
    assert!(v
        .text_content()
        .contains("Does Pixel 9 show the same code?"));
    assert!(v.find("pair-codes-match").is_some() && v.find("pair-codes-differ").is_some());

    f.on_event(PairingPhase::WaitingForOtherDevice);
    ui.flow = Some(f.clone());
    assert_eq!(
        text(&view(&ui, ""), "pair-status"),
        "Waiting for the other device…"
    );
    f.on_event(PairingPhase::Paired {
        name: "Pixel 9".into(),
        device: TABLET.into(),
    });
    ui.flow = Some(f);
    let v = view(&ui, "");
    assert_eq!(text(&v, "pair-status"), "Paired with Pixel 9");
    assert!(v.find("pair-done").is_some());
}

#[test]
fn events_from_the_worker_move_the_flow() {
    let mut ui = ui_on(Screen::Pair, Some(solo()));
    ui.flow = Some(Flow::start(Role::ShowQr, ui.devices.as_ref()));
    // As extension/devices.js forwards them (crates/wasm-device/src/events.rs).
    let offer: DeviceEvent = serde_json::from_value(serde_json::json!({
        "kind": "pairing",
        "pairing": {"step": "offer", "link": LINK, "expires_at": NOW + 120}
    }))
    .unwrap();
    assert!(offer.apply(&mut ui));
    assert_eq!(ui.flow.as_ref().unwrap().offer_link(), Some(LINK));
    let code: DeviceEvent = serde_json::from_value(serde_json::json!({
        "kind": "pairing", "pairing": {"step": "confirm_code", "code": "987654"}
    }))
    .unwrap();
    code.apply(&mut ui);
    assert_eq!(text(&view(&ui, ""), "pair-code"), "987 654");
    let failed: DeviceEvent = serde_json::from_value(serde_json::json!({
        "kind": "failed", "what": "revoking", "error": "the relay refused the revocation"
    }))
    .unwrap();
    failed.apply(&mut ui);
    assert_eq!(
        text(&view(&ui, ""), "form-error"),
        "the relay refused the revocation"
    );
    // Off the devices screens, failures are not shown.
    let mut home = ui_on(Screen::Home, Some(group()));
    let failed: DeviceEvent = serde_json::from_value(serde_json::json!({
        "kind": "failed", "what": "connecting", "error": "offline"
    }))
    .unwrap();
    assert!(!failed.apply(&mut home));
    assert_eq!(home.error, None);
}

#[test]
fn home_shows_the_pairing_state_in_one_line() {
    let v = view(&ui_on(Screen::Home, Some(solo())), "");
    let line = v.find("home-pairing-line").unwrap();
    assert_eq!(line.tag, "button");
    assert_eq!(line.text_content(), "Not paired: pair your phone");
    assert_eq!(
        (line.get("data-action"), line.get("data-arg")),
        (Some("open"), Some("devices"))
    );
    let open = v.find("open-devices").unwrap();
    assert_eq!(open.text_content(), "Devices");
    assert_eq!(
        Action::parse("open", "devices"),
        Some(Action::Open(Screen::Devices))
    );
    // No device yet (no cache): the same invitation.
    let v = view(&ui_on(Screen::Home, None), "");
    assert_eq!(text(&v, "home-pairing-line"), "Not paired: pair your phone");
    // Before the cache was read: the line keeps its place, empty.
    let mut first_paint = ui_on(Screen::Home, None);
    first_paint.devices_loaded = false;
    let v = view(&first_paint, "");
    let line = v.find("home-pairing-line").unwrap();
    assert_eq!(line.text_content(), "");
    assert_eq!(line.get("aria-busy"), Some("true"));

    // Two other active devices (the revoked laptop does not count).
    let v = view(&ui_on(Screen::Home, Some(group())), "");
    assert_eq!(text(&v, "home-pairing-line"), "Paired with 2 devices");
    // One.
    let mut g = group();
    g.devices.retain(|d| d.id != TABLET);
    let v = view(&ui_on(Screen::Home, Some(g.clone())), "");
    assert_eq!(
        text(&v, "home-pairing-line"),
        "Paired with Pixel 8 · seen 2 min ago"
    );
    assert!(v.find("removed-notice").is_none());

    // Removed from the wallet: a prominent notice, here and on Devices.
    g.removed = Some(tandem_device::RemovedView {
        by: PHONE.into(),
        by_name: Some("Pixel 8".into()),
        at: NOW - 3600,
        reason: "compromised".into(),
        erase: false,
    });
    let v = view(&ui_on(Screen::Home, Some(g.clone())), "");
    let n = v.find("removed-notice").unwrap();
    assert_eq!(n.get("role"), Some("alert"));
    assert!(n
        .text_content()
        .starts_with("Removed from your wallet by Pixel 8 at 14 Mar 2025, 08:26 (compromised)"));
    assert_eq!(text(&v, "home-pairing-line"), "Not paired: pair your phone");
    let v = view(&ui_on(Screen::Devices, Some(g)), "");
    assert!(v.find("removed-notice").is_some());
    assert!(v.find("device-revoke").is_none());
}

#[test]
fn settings_has_the_relay_field() {
    let mut ui = ui_on(Screen::Settings, None);
    assert!(view(&ui, "").find("settings-relay-input").is_none());
    ui.relay = Some(RelaySetting {
        relay: "ws://127.0.0.1:8787/v1/ws".into(),
        default: "ws://127.0.0.1:8787/v1/ws".into(),
    });
    let v = view(&ui, "");
    let input = v.find("settings-relay-input").unwrap();
    assert_eq!(input.get("value"), Some(""), "the default shows as empty");
    assert_eq!(input.get("placeholder"), Some("ws://127.0.0.1:8787/v1/ws"));
    assert!(text(&v, "settings-relay-default").contains("Default: ws://127.0.0.1:8787/v1/ws"));
    ui.relay = Some(RelaySetting {
        relay: "wss://relay.example/ws".into(),
        default: "ws://127.0.0.1:8787/v1/ws".into(),
    });
    ui.error = Some("ws:// is only allowed to this machine".into());
    let v = view(&ui, "");
    assert_eq!(
        v.find("settings-relay-input").unwrap().get("value"),
        Some("wss://relay.example/ws")
    );
    let form = v.find("settings-form").unwrap();
    assert!(form.find("form-error").is_some(), "errors show in the form");
}

#[test]
fn a_pairing_left_running_can_be_resumed() {
    let g = with_pairing(
        solo(),
        PairingPhase::ConfirmCode {
            code: "111222".into(),
        },
    );
    let v = view(&ui_on(Screen::Devices, Some(g.clone())), "");
    assert_eq!(
        v.find("pair-resume").unwrap().get("data-action"),
        Some("resume-pairing")
    );
    let mut ui = ui_on(Screen::Pair, Some(g.clone()));
    ui.flow = Flow::resume(&g);
    assert_eq!(text(&view(&ui, ""), "pair-code"), "111 222");
}

/// A week before this browser's pairing expires the Devices screen says so;
/// once it expired (or this browser was removed) it offers to pair again.
#[test]
fn an_expiring_or_expired_pairing_is_said_and_can_be_redone() {
    let mut v = group();
    // 30 days away: nothing to say.
    let page = view(&ui_on(Screen::Devices, Some(v.clone())), "");
    assert!(page.find("token-expiring").is_none() && page.find("pair-again").is_none());
    v.devices[0].token_expires = Some(NOW + 3 * 86_400);
    let page = view(&ui_on(Screen::Devices, Some(v.clone())), "");
    let note = page.find("token-expiring").unwrap().text_content();
    assert!(
        note.contains("17 Mar 2025") && note.contains("renew"),
        "{note}"
    );
    assert!(page.find("pair-again").is_none());
    v.devices[0].token_expires = Some(NOW - 60);
    let page = view(&ui_on(Screen::Devices, Some(v.clone())), "");
    assert!(page
        .find("token-expired")
        .unwrap()
        .text_content()
        .contains("expired"));
    let again = page.find("pair-again").unwrap();
    assert_eq!(
        (again.tag, again.text_content().as_str()),
        ("button", "Pair again")
    );
    let mut removed = group();
    removed.removed = Some(tandem_device::RemovedView {
        by: PHONE.into(),
        by_name: Some("Pixel 8".into()),
        at: NOW - 10,
        reason: "lost".into(),
        erase: false,
    });
    let page = view(&ui_on(Screen::Devices, Some(removed)), "");
    assert!(page.find("removed-notice").is_some() && page.find("pair-again").is_some());
}

/// Revoking another device offers to erase its wallet too (for a lost or
/// compromised one); leaving does not. A browser whose wallet another device
/// erased says so on the welcome screen and points at the recovery phrase.
#[test]
fn erase_on_revoke_is_offered_and_an_erased_wallet_says_who_did_it() {
    let mut ui = ui_on(Screen::Devices, Some(group()));
    ui.revoking = Some(PHONE.into());
    let v = view(&ui, "");
    let erase = row(&v, PHONE).find("revoke-erase").unwrap();
    assert_eq!((erase.tag, erase.get("type")), ("input", Some("checkbox")));
    ui.revoking = Some(ME.into());
    assert!(
        view(&ui, "").find("revoke-erase").is_none(),
        "not when leaving"
    );

    let mut ui = tandem_ui::view::Ui::new(tandem_ui::view::Page::Popup);
    let mut st = state();
    st.initialized = false;
    st.unlocked = false;
    st.erased = Some(tandem_ui::model::Erased {
        by: "Pixel 8".into(),
        at: NOW,
        reason: "lost".into(),
    });
    ui.state = Some(st);
    ui.route();
    assert_eq!(ui.screen, Screen::Welcome);
    let v = view(&ui, "");
    let note = v.find("erased-notice").unwrap().text_content();
    assert!(
        note.contains("erased from this browser by Pixel 8")
            && note.contains("lost")
            && note.contains("recovery phrase"),
        "{note}"
    );
    assert!(
        v.find("onboard-import").is_some(),
        "restoring is one click away"
    );
}
