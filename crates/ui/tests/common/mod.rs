//! Fixtures shared by the view tests: a wallet state and a device group
//! built from the worker's own types.

#![allow(dead_code, unreachable_pub)]

use serde_json::json;
use tandem_device::{DeviceView, DevicesView, PairingPhase, RemovedView, Waiting};
use tandem_ui::model::WalletState;
use tandem_ui::pairing::{Flow, Role};
use tandem_ui::view::{El, Node, Page, Screen, Ui};

/// 2025-03-14T09:26:53Z.
pub const NOW: u64 = 1_741_944_413;

pub const ME: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
pub const PHONE: &str = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";
pub const TABLET: &str = "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3";
pub const OLD: &str = "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4";

/// A realistic pairing link (the shape of `tandem_pair::PairingOffer::to_uri`).
pub const LINK: &str = "tandem:pair?v=2&relay=wss://relay.tandem.example/v1/ws\
&topic=q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng&key=3q2-7wAAAAAREiIzRFVmd4iZqrvM3e7_ESIzRFVmd4g\
&commit=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8&exp=1741944533";

pub fn device(id: &str, name: &str) -> DeviceView {
    DeviceView {
        id: id.into(),
        name: name.into(),
        this_device: false,
        founder: false,
        paired_at: None,
        last_seen: None,
        token_expires: None,
        removed: None,
    }
}

/// This browser (paired on 1 Mar 2025), the phone that founded the group
/// (seen 2 minutes ago), an unnamed tablet never seen, and a laptop the
/// phone revoked as lost.
pub fn group() -> DevicesView {
    DevicesView {
        me: ME.into(),
        name: "Chrome on Linux".into(),
        group: "e5".repeat(32),
        relay: "wss://relay.tandem.example/v1/ws".into(),
        epoch: 3,
        online: true,
        paired: true,
        pairing_active: false,
        pairing: None,
        devices: vec![
            DeviceView {
                this_device: true,
                paired_at: Some(1_740_787_200), // 2025-03-01T00:00:00Z
                last_seen: Some(NOW),
                token_expires: Some(NOW + 30 * 86_400),
                ..device(ME, "Chrome on Linux")
            },
            DeviceView {
                founder: true,
                last_seen: Some(NOW - 120),
                ..device(PHONE, "Pixel 8")
            },
            DeviceView {
                paired_at: Some(1_741_000_000),
                ..device(TABLET, "  ")
            },
            DeviceView {
                paired_at: Some(1_735_689_600),
                removed: Some(RemovedView {
                    by: PHONE.into(),
                    by_name: Some("Pixel 8".into()),
                    at: 1_741_900_000,
                    reason: "lost".into(),
                    erase: false,
                }),
                ..device(OLD, "Old laptop")
            },
        ],
        removed: None,
        waiting: Waiting::default(),
    }
}

/// A group of this browser alone.
pub fn solo() -> DevicesView {
    let mut v = group();
    v.paired = false;
    v.devices.truncate(1);
    v.devices[0].founder = true;
    v.devices[0].paired_at = None;
    v
}

pub fn with_pairing(mut v: DevicesView, p: PairingPhase) -> DevicesView {
    v.pairing_active = true;
    v.pairing = Some(p);
    v
}

pub fn state() -> WalletState {
    serde_json::from_value(json!({
        "initialized": true, "unlocked": true,
        "accounts": [{"address": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "name": "Account 1", "origin": {"index": 0}}],
        "selected": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "network": {"chainId": 31337, "name": "Localhost", "rpcUrl": "http://127.0.0.1:8545", "symbol": "ETH", "builtin": true},
        "networks": [{"chainId": 31337, "name": "Localhost", "rpcUrl": "http://127.0.0.1:8545", "symbol": "ETH", "builtin": true}],
        "settings": {"autoLockMinutes": 15, "ownWindowEthereum": false},
        "pendingApprovals": 0
    }))
    .expect("a valid state")
}

/// The unlocked popup on `screen`, at [`NOW`], in UTC.
pub fn ui_on(screen: Screen, devices: Option<DevicesView>) -> Ui {
    let mut ui = Ui::new(Page::Popup);
    ui.state = Some(state());
    ui.route();
    ui.screen = screen;
    ui.route();
    ui.devices = devices;
    ui.devices_loaded = true;
    ui.now_ms = NOW as f64 * 1000.0;
    ui
}

/// The Pair a phone screen: the offer was shown (expiring in 102 s), then
/// `step` came.
pub fn pair_ui(step: PairingPhase) -> Ui {
    let mut ui = ui_on(Screen::Pair, Some(with_pairing(solo(), step.clone())));
    let mut f = Flow::start(Role::ShowQr, None);
    f.on_event(PairingPhase::Offer {
        link: LINK.into(),
        expires_at: NOW + 102,
    });
    f.on_event(step);
    ui.flow = Some(f);
    ui
}

/// Every element below `e` (and `e`) with this test id, in document order.
pub fn all<'a>(e: &'a El, testid: &str) -> Vec<&'a El> {
    let mut out = Vec::new();
    if e.get("data-testid") == Some(testid) {
        out.push(e);
    }
    for c in &e.children {
        if let Node::El(x) = c {
            out.extend(all(x, testid));
        }
    }
    out
}

/// Every element below `e` (and `e`).
pub fn elements(e: &El) -> Vec<&El> {
    let mut out = vec![e];
    for c in &e.children {
        if let Node::El(x) = c {
            out.extend(elements(x));
        }
    }
    out
}
