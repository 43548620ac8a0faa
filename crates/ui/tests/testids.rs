//! Every test id the pages render is listed in `extension/ui/TESTIDS.md`
//! (the end-to-end tests select by them), and every control is a real,
//! labelled element with one.

// Helpers outside #[test] fns unwrap too: a failed lookup is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{json, Value};
use tandem_device::PairingPhase;
use tandem_ui::model::{Approval, RelaySetting};
use tandem_ui::pairing::{Flow, Role};
use tandem_ui::view::{view, El, Page, Screen, SecretPhrase, Tab, Ui};

const TESTIDS_MD: &str = include_str!("../../../extension/ui/TESTIDS.md");

/// A table row's first cell (a `|` inside backticks does not end it:
/// `typed-unlimited-{domain|message}.{path}`).
fn first_cell(row: &str) -> &str {
    let body = &row[1..];
    let mut in_code = false;
    for (i, c) in body.char_indices() {
        match c {
            '`' => in_code = !in_code,
            '|' if !in_code => return &body[..i],
            _ => {}
        }
    }
    body
}

/// The backticked ids in the first column of TESTIDS.md's tables.
fn documented() -> Vec<String> {
    TESTIDS_MD
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---"))
        .map(first_cell)
        .flat_map(|cell| {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|id| id != "id")
        .collect()
}

/// `token-row-{address}` matches `token-row-0xabc…`: each `{…}` stands for
/// one or more characters.
fn matches(pattern: &str, id: &str) -> bool {
    match pattern.find('{') {
        None => pattern == id,
        Some(open) => {
            let Some(close) = pattern[open..].find('}').map(|c| open + c) else {
                return pattern == id;
            };
            let (lit, rest) = (&pattern[..open], &pattern[close + 1..]);
            let Some(tail) = id.strip_prefix(lit) else {
                return false;
            };
            (1..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| matches(rest, &tail[i..]))
        }
    }
}

fn ui(screen: Screen) -> Ui {
    ui_on(screen, Some(group()))
}

fn flow(role: Role, steps: &[PairingPhase]) -> Option<Flow> {
    let mut f = Flow::start(role, None);
    for s in steps {
        f.on_event(s.clone());
    }
    Some(f)
}

/// Every page state the tests know, rendered.
fn pages() -> Vec<El> {
    let mut out = Vec::new();
    // The wallet's screens.
    let mut home = ui(Screen::Home);
    home.portfolio = Some(
        serde_json::from_value(json!({
            "address": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", "chainId": 31337,
            "native": {"symbol": "ETH", "balance": "0x0"},
            "tokens": [{"address": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "symbol": "TND", "decimals": 6, "balance": "0x1"}],
            "updatedAt": 1000
        }))
        .unwrap(),
    );
    if let Some(st) = home.state.as_mut() {
        st.pending_approvals = json!(1);
        st.sites = serde_json::from_value(
            json!([{"origin": "http://127.0.0.1:5173", "accounts": [], "connectedAt": 0}]),
        )
        .unwrap();
    }
    // A transaction as the core sends it (its own type, serialized).
    home.activity = vec![serde_json::from_value(
        serde_json::to_value(tandem_wallet::Activity {
            hash: "0xabc".into(),
            chain_id: 31337,
            from: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
                .parse()
                .unwrap(),
            to: None,
            value: "0x0".parse().unwrap(),
            status: tandem_wallet::TxStatus::Pending,
            origin: None,
            submitted_at: 0,
            block_number: None,
            warning: None,
        })
        .unwrap(),
    )
    .unwrap()];
    home.notice = Some("Address copied".into());
    home.error = Some("offline".into());
    for tab in [Tab::Tokens, Tab::Activity, Tab::Sites] {
        home.tab = tab;
        out.push(view(&home, ""));
    }
    for s in [
        Screen::Accounts,
        Screen::Networks,
        Screen::NetworkForm,
        Screen::AddToken,
        Screen::Settings,
        Screen::Help,
    ] {
        out.push(view(&ui(s), ""));
    }
    let mut renaming = ui(Screen::Accounts);
    renaming.renaming = Some("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".into());
    out.push(view(&renaming, ""));
    // Key management (crate::secrets): two keys of this browser, so Remove shows.
    let mut keys = ui(Screen::Accounts);
    keys.state = Some(
        serde_json::from_value(json!({
            "initialized": true, "unlocked": true,
            "accounts": [
                {"address": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "name": "Account 1", "origin": {"kind": "derived", "source": 0, "index": 0}},
                {"address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "name": "Account 2", "origin": {"kind": "imported", "source": 1}}
            ],
            "selected": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
            "sites": [{"origin": "https://dapp.example", "accounts": ["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"], "connectedAt": 0}]
        }))
        .unwrap(),
    );
    out.push(view(&keys, ""));
    for s in [
        Screen::RevealPhrase,
        Screen::ExportKey,
        Screen::ImportAccount,
    ] {
        keys.screen = s;
        keys.error = Some("Wrong password. Nothing was shown.".into());
        out.push(view(&keys, ""));
        keys.secrets.shown = Some(SecretPhrase::new("test test junk".into()));
        out.push(view(&keys, ""));
        keys.secrets.shown = None;
    }
    keys.screen = Screen::RemoveAccount;
    keys.secrets.removing = Some("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".into());
    out.push(view(&keys, ""));
    let mut last = ui(Screen::RemoveAccount);
    last.secrets.removing = Some("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".into());
    out.push(view(&last, ""));
    let mut settings = ui(Screen::Settings);
    settings.relay = Some(RelaySetting {
        relay: "wss://r.example/ws".into(),
        default: "ws://127.0.0.1:8787/v1/ws".into(),
    });
    out.push(view(&settings, ""));
    // Onboarding and unlock.
    let mut onboarding = Ui::new(Page::Popup);
    onboarding.state = Some(Default::default());
    onboarding.route();
    out.push(view(&onboarding, ""));
    onboarding.phrase = Some(SecretPhrase::new("a b c d e f g h i j k l".into()));
    onboarding.confirm_positions = vec![0, 4, 8];
    for s in [
        Screen::CreateWords,
        Screen::CreateConfirm,
        Screen::CreatePassword,
        Screen::Import,
    ] {
        onboarding.screen = s;
        out.push(view(&onboarding, "pw"));
    }
    let mut locked = ui(Screen::Home);
    if let Some(st) = locked.state.as_mut() {
        st.unlocked = false;
    }
    locked.route();
    out.push(view(&locked, ""));
    out.push(view(&Ui::new(Page::Popup), ""));
    // The approval window.
    let tx = json!({"to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "value": "0x1", "data": "0x", "gas": "0x5208", "maxFeePerGas": "0x1", "maxPriorityFeePerGas": "0x1"});
    let td = json!({"types": {"EIP712Domain": [{"name": "chainId", "type": "uint256"}], "M": [{"name": "v", "type": "uint256"}]},
                    "primaryType": "M", "domain": {"chainId": 1}, "message": {"v": format!("0x{}", "f".repeat(64))}});
    for (kind, request) in [
        ("connect", json!({})),
        (
            "personal_sign",
            json!({"address": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "message": "0x48"}),
        ),
        ("typed_data", json!({"typedData": td.to_string()})),
        ("typed_data", json!({"typedData": "{"})),
        ("transaction", json!({"transaction": tx})),
        (
            "add_chain",
            json!({"network": {"chainId": 5, "name": "x", "rpcUrl": "https://x", "symbol": "X"}}),
        ),
        (
            "watch_asset",
            json!({"asset": {"address": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "symbol": "T", "decimals": 6}}),
        ),
    ] {
        let mut a = Ui::new(Page::Approval);
        a.state = Some(state());
        a.approval = Some(Approval::example(
            kind,
            "http://127.0.0.1:5173",
            request,
            Value::Null,
        ));
        a.route();
        out.push(view(&a, ""));
        a.approval = None;
        out.push(view(&a, ""));
        a.screen = Screen::ApprovalDone;
        out.push(view(&a, ""));
    }

    // Devices.
    out.push(view(&ui_on(Screen::Devices, None), ""));
    let mut d = ui(Screen::Devices);
    d.notice = Some("revoked".into());
    d.error = Some("offline".into());
    out.push(view(&d, ""));
    for id in [PHONE, ME] {
        d.revoking = Some(id.into());
        out.push(view(&d, ""));
    }
    let mut removed = group();
    removed.removed = removed.devices[3].removed.clone();
    removed.pairing_active = true;
    out.push(view(&ui_on(Screen::Devices, Some(removed.clone())), ""));
    out.push(view(&ui_on(Screen::Home, Some(removed)), ""));

    // Both pairing flows, every step.
    let offer = PairingPhase::Offer {
        link: LINK.into(),
        expires_at: NOW + 60,
    };
    let ends = [
        PairingPhase::WaitingForOtherDevice,
        PairingPhase::Paired {
            name: "Pixel".into(),
            device: PHONE.into(),
        },
        PairingPhase::Failed { error: "x".into() },
        PairingPhase::Warning {
            message: "w".into(),
        },
    ];
    let mut p = ui(Screen::Pair);
    p.error = Some("e".into());
    p.notice = Some("Link copied".into());
    p.flow = None;
    out.push(view(&p, ""));
    p.flow = flow(Role::ShowQr, &[]);
    out.push(view(&p, ""));
    let mut steps = vec![
        offer.clone(),
        PairingPhase::ConfirmCode {
            code: "123456".into(),
        },
    ];
    steps.extend(ends.iter().cloned());
    for i in 1..=steps.len() {
        p.flow = flow(Role::ShowQr, &steps[..i]);
        out.push(view(&p, ""));
    }
    let mut a = ui(Screen::AddDevice);
    a.error = Some("not a link".into());
    out.push(view(&a, ""));
    let mut steps = vec![
        PairingPhase::OtherRelay {
            offer_relay: "wss://a".into(),
            group_relay: "wss://b".into(),
        },
        PairingPhase::CompareCode {
            code: "123456".into(),
            name: "Pixel".into(),
        },
        PairingPhase::TypeCode {
            name: "Pixel".into(),
        },
    ];
    steps.extend(ends.iter().cloned());
    a.flow = flow(Role::FromLink, &[]);
    out.push(view(&a, ""));
    for s in &steps {
        a.flow = flow(Role::FromLink, std::slice::from_ref(s));
        out.push(view(&a, ""));
    }
    out
}

#[test]
fn every_rendered_testid_is_in_testids_md() {
    let docs = documented();
    assert!(docs.len() > 100, "TESTIDS.md parsed: {} ids", docs.len());
    for id in [
        "open-devices",
        "devices-screen",
        "device-row",
        "pair-qr",
        "revoke-reason-{reason}",
    ] {
        assert!(docs.iter().any(|d| d == id), "{id} missing from the table");
    }
    let mut missing = Vec::new();
    for page in pages() {
        for id in page.testids() {
            if !docs.iter().any(|d| matches(d, &id)) && !missing.contains(&id) {
                missing.push(id);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not in extension/ui/TESTIDS.md: {missing:?}"
    );
}

#[test]
fn the_matcher_reads_placeholders() {
    assert!(matches("token-row-{address}", "token-row-0xabc"));
    assert!(!matches("token-row-{address}", "token-row-"));
    assert!(matches(
        "typed-unlimited-{domain|message}.{path}",
        "typed-unlimited-message.value"
    ));
    assert!(!matches("device-row", "device-rows"));
}

#[test]
fn every_control_is_a_labelled_element_with_a_testid() {
    for page in pages() {
        let screen = page.get("data-screen").unwrap_or("?").to_owned();
        for e in elements(&page) {
            let interactive = matches!(e.tag, "button" | "input" | "select" | "textarea" | "form")
                || e.get("data-action").is_some();
            if !interactive {
                continue;
            }
            assert!(
                e.get("data-testid").is_some(),
                "{screen}: <{}> without data-testid: {:?}",
                e.tag,
                e.attrs
            );
            assert!(
                e.tag != "div" && e.tag != "span" && e.tag != "li",
                "{screen}: a clickable <{}> is not reachable by keyboard",
                e.tag
            );
            if e.tag == "button" {
                let name = e.text_content();
                assert!(
                    !name.trim().is_empty() || e.get("aria-label").is_some(),
                    "{screen}: button {:?} has no name",
                    e.get("data-testid")
                );
            }
        }
    }
}

#[test]
fn device_controls_have_visible_labels() {
    // On the new screens a control's name is text people can see, and an
    // input sits in a <label>.
    fn walk(e: &El, in_label: bool, screen: &str) {
        let id = e.get("data-testid").unwrap_or("");
        if e.tag == "button" {
            assert!(
                !e.text_content().trim().is_empty(),
                "{screen}: {id} has no visible text"
            );
            if let Some(l) = e.get("aria-label") {
                assert!(
                    l.contains(e.text_content().trim()),
                    "{screen}: {id}: the accessible name {l:?} must contain the visible text"
                );
            }
        }
        if matches!(e.tag, "input" | "textarea") {
            assert!(
                in_label || e.get("aria-label").is_some(),
                "{screen}: {id} has no label"
            );
        }
        for c in &e.children {
            if let tandem_ui::view::Node::El(x) = c {
                walk(x, in_label || e.tag == "label", screen);
            }
        }
    }
    for page in pages() {
        let screen = page.get("data-screen").unwrap_or("?").to_owned();
        if ["devices", "pair", "add-device"].contains(&screen.as_str()) {
            // The back arrow is the one icon button, named "Back".
            for e in elements(&page) {
                if e.get("data-testid") == Some("back-button") {
                    assert_eq!(e.get("aria-label"), Some("Back"));
                }
            }
            for c in &page.children {
                if let tandem_ui::view::Node::El(body) = c {
                    for part in &body.children {
                        if let tandem_ui::view::Node::El(x) = part {
                            if x.tag != "header" {
                                walk(x, false, &screen);
                            }
                        }
                    }
                }
            }
        }
    }
    let home = view(&ui(Screen::Home), "");
    walk(home.find("home-pairing-line").unwrap(), false, "home");
    walk(home.find("open-devices").unwrap(), false, "home");
}
