//! The approval window, the core's approval warnings and the phone's policy
//! read the same request alike (issue 13: one decoder,
//! `tandem_wallet::decode`, and `tandem_eth::eip191::message_text`). Each
//! request goes through the wallet as a dapp sends it; the approval the core
//! queues is then rendered by the window, checked by the phone's policy and
//! summed up for the phone's screen.
//!
//! Before, they disagreed: an unlimited `approve` with a byte appended or an
//! upper-case selector passed the phone's policy while the window warned; a
//! dirty address word left it unnamed in the window while the policy
//! covered it; a permit type outside the policy's list (`TokenPermit`) was
//! warned about and signed without the phone; a message with a control
//! character sent as a string read as text in the window and as bytes in
//! the core's display.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use serde_json::{json, Value};
use tandem_confirm::Rule;
use tandem_ui::model::Approval as UiApproval;
use tandem_ui::view::{view, El, Page, Ui};
use tandem_wallet::{Edits, Fill, Outcome, Wallet};

const ORIGIN: &str = "https://dapp.example";
const TOKEN: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const A0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
/// The spender of every case, as the window and the core spell it (EIP-55).
const SPENDER: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

/// A wallet connected to [`ORIGIN`] whose phone set its default policy
/// (unlimited approvals, whole collections and permits go to the phone).
fn wallet() -> Wallet {
    let mut w = Wallet::default();
    w.state.sync_accounts(&[(
        A0.parse().unwrap(),
        json!({"kind": "derived", "source": 0, "index": 0}),
    )]);
    w.state.select_network(31337).unwrap();
    w.state.grant(ORIGIN, vec![A0.parse().unwrap()], 0);
    w.state.phone = Some(json!({
        "policy": {"connect": true, "value_above_milli": 100, "approvals": true,
                   "add_network": true, "timeout_secs": 120},
        "owner": "0a".repeat(16), "setAt": 1,
    }));
    assert!(w.phone_policy().is_some(), "the stored policy reads");
    w
}

/// The approval the core queues for `method(params)` from [`ORIGIN`].
fn ask(w: &mut Wallet, method: &str, params: Value) -> u64 {
    match w.request(
        ORIGIN,
        &json!({"method": method, "params": params}),
        true,
        json!({"tabId": 1}),
        1,
    ) {
        Outcome::Approval { id, .. } => id,
        o => panic!("{method}: {o:?}"),
    }
}

/// What each reader makes of one request.
#[derive(Debug)]
struct Readings {
    /// The warnings in the core's display (the window and the phone show
    /// them).
    core: Vec<String>,
    /// The warnings the window shows (`<prefix>-warning-<n>`).
    window: Vec<String>,
    /// The window's one-line reading of the call or message.
    title: String,
    /// The rule of the phone's policy that covers it.
    phone: Option<Rule>,
    /// The phone's screen: its lines, as the window sums the request up.
    phone_lines: Vec<(String, String)>,
}

impl Readings {
    /// Whether the phone's screen names [`SPENDER`] as the spender.
    fn names_spender(&self) -> bool {
        self.phone_lines
            .iter()
            .any(|(l, v)| l == "Spender" && v.eq_ignore_ascii_case(SPENDER))
    }
}

fn texts(v: &El, prefix: &str) -> Vec<String> {
    (0..)
        .map_while(|i| v.find(&format!("{prefix}-warning-{i}")))
        .map(El::text_content)
        .collect()
}

/// Reads approval `id`, then rejects it (a site may keep only a few
/// waiting).
fn read(w: &mut Wallet, id: u64, title_id: &str, warning_prefix: &str) -> Readings {
    let r = readings(w, id, title_id, warning_prefix);
    w.resolve(id, false, &Edits::default(), true, 1, "", [0; 16])
        .unwrap();
    r
}

fn readings(w: &Wallet, id: u64, title_id: &str, warning_prefix: &str) -> Readings {
    let queued = w.session.approval(id).unwrap();
    let a: UiApproval = serde_json::from_value(json!(queued)).unwrap();
    let core = a.display["warnings"]
        .as_array()
        .map(|l| l.iter().map(|x| x.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    let mut ui = Ui::new(Page::Approval);
    ui.state = Some(common::state());
    ui.approval = Some(a.clone());
    ui.route();
    let v = view(&ui, "");
    let phone = w.needs_phone(queued);
    let summary = tandem_ui::confirm::summary(
        &a,
        ui.state.as_ref().unwrap(),
        phone.unwrap_or(Rule::Value),
        &Value::Null,
        &[],
    );
    Readings {
        core,
        window: texts(&v, warning_prefix),
        title: v.find(title_id).map(El::text_content).unwrap_or_default(),
        phone,
        phone_lines: summary
            .rows()
            .into_iter()
            .map(|(l, v)| (l.to_owned(), v))
            .collect(),
    }
}

/// A transaction to [`TOKEN`] with `data`, as the core queues it.
fn transaction(w: &mut Wallet, data: &str) -> Readings {
    let id = ask(
        w,
        "eth_sendTransaction",
        json!([{"from": A0, "to": TOKEN, "value": "0x0", "data": data}]),
    );
    let fill: Fill = serde_json::from_value(
        json!({"nonce": "0x0", "gasEstimate": "0xea60", "baseFee": "0x1", "priorityFee": "0x1"}),
    )
    .unwrap();
    w.fill_transaction(id, &fill).unwrap();
    read(w, id, "tx-call", "tx")
}

#[test]
fn the_window_the_core_and_the_phone_read_calldata_alike() {
    let mut w = wallet();
    let spender = format!("{:0>64}", &SPENDER[2..]);
    let dirty = format!("{:1>64}", &SPENDER[2..]); // upper 12 bytes not zero
    let max = "f".repeat(64);
    let word = |n: &str| format!("{n:0>64}");
    let unlimited = "Unlimited token approval";
    let all = "Approve all items";
    // (calldata, the window's title, whether every reader calls it a grant
    // of everything).
    let cases = [
        (format!("0x095ea7b3{spender}{max}"), unlimited, true),
        // A byte appended: the token ignores it, so do all three.
        (format!("0x095ea7b3{spender}{max}00"), unlimited, true),
        // Upper-case hex, selector and amount.
        (
            format!("0x095EA7B3{spender}{}", max.to_ascii_uppercase()),
            unlimited,
            true,
        ),
        // A dirty address word: the older ABI decoder keeps the lower 20
        // bytes, the spender above.
        (format!("0x095ea7b3{dirty}{max}"), unlimited, true),
        // 2^128, the threshold; one below it is a limit.
        (
            format!(
                "0x095ea7b3{spender}{}",
                word(&format!("1{}", "0".repeat(32)))
            ),
            unlimited,
            true,
        ),
        (
            format!("0x095ea7b3{spender}{}", word(&"f".repeat(32))),
            "Token approval",
            false,
        ),
        (format!("0xa22cb465{spender}{}", word("1")), all, true),
        // A bool word of 2 is true to the older decoder.
        (format!("0xa22cb465{spender}{}", word("2")), all, true),
        (
            format!("0xa22cb465{spender}{}", word("0")),
            "Revoke approval for all items",
            false,
        ),
        (format!("0xa9059cbb{spender}{max}"), "Token transfer", false),
        (
            format!("0x23b872dd{spender}{spender}{max}"),
            "Token transferFrom",
            false,
        ),
        // Cut short, and a selector alone: no call named, nothing covered.
        (
            format!("0x095ea7b3{spender}{}", &max[..62]),
            "Contract call 0x095ea7b3",
            false,
        ),
        ("0x095ea7b3".to_owned(), "Contract call 0x095ea7b3", false),
    ];
    for (data, title, covered) in cases {
        let r = transaction(&mut w, &data);
        assert_eq!(r.title, title, "window's title: {data}");
        // The window shows the core's warnings, each once; a grant of
        // everything is one of them, naming the spender.
        assert_eq!(r.window, r.core, "window's warnings: {data}");
        let named = r.core.iter().any(|x| x.contains(SPENDER));
        assert_eq!(named, covered, "core's warning: {data}\n{r:#?}");
        assert_eq!(
            r.phone,
            covered.then_some(Rule::Approval),
            "phone's policy: {data}"
        );
        // The phone's screen names the same spender.
        assert!(
            !covered || r.names_spender(),
            "phone's screen: {data}\n{r:#?}"
        );
    }
}

#[test]
fn the_window_the_core_and_the_phone_read_permits_alike() {
    let mut w = wallet();
    for (primary, permit) in [
        ("Permit", true),
        ("PermitSingle", true),
        ("PermitWitnessTransferFrom", true),
        ("TokenPermit", true),
        ("permit", true),
        ("Mail", false),
        ("Permi", false),
    ] {
        let data = json!({
            "types": {"EIP712Domain": [{"name": "chainId", "type": "uint256"}],
                      primary: [{"name": "spender", "type": "address"}, {"name": "value", "type": "uint256"}]},
            "primaryType": primary, "domain": {"chainId": 31337},
            "message": {"spender": SPENDER, "value": "1"},
        });
        let id = ask(
            &mut w,
            "eth_signTypedData_v4",
            json!([A0, data.to_string()]),
        );
        let r = read(&mut w, id, "typed-primary-type", "typed");
        assert_eq!(r.title, primary);
        let core = r.core.iter().any(|x| x.contains("token permit"));
        assert_eq!(core, permit, "core's warning: {primary}\n{r:#?}");
        let window = r
            .window
            .iter()
            .any(|x| x.starts_with("This is a token permit"));
        assert_eq!(window, permit, "window: {primary}\n{r:#?}");
        assert_eq!(
            r.phone,
            permit.then_some(Rule::Permit),
            "phone's policy: {primary}"
        );
        assert!(
            !permit || r.names_spender(),
            "phone's screen: {primary}\n{r:#?}"
        );
    }
}

#[test]
fn the_window_the_core_and_the_phone_read_messages_alike() {
    let mut w = wallet();
    for (message, text) in [
        ("0x48656c6c6f0a54616e64656d", Some("Hello\nTandem")),
        ("Hello\nTandem", Some("Hello\nTandem")),
        ("0x48656C6C6F", Some("Hello")), // upper-case hex
        ("hi\u{7}", None),               // a control character, sent as text
        ("0x686907", None),              // the same bytes, sent as hex
        ("0xDEADBEEF", None),
        ("0xabc", Some("0xabc")), // odd length: text as sent
    ] {
        let id = ask(&mut w, "personal_sign", json!([message, A0]));
        let queued = w.session.approval(id).unwrap();
        let d = &queued.display;
        // The core's display (and so the audit log).
        assert_eq!(d["text"].as_str(), text, "core: {message:?}");
        let shown = text.map_or_else(|| d["hex"].as_str().unwrap().to_owned(), str::to_owned);
        // The window shows what the core calls it, text or bytes.
        let r = read(&mut w, id, "sign-message", "sign");
        assert_eq!(r.title, shown, "window: {message:?}");
        // So is the phone's screen.
        assert!(
            r.phone_lines
                .iter()
                .any(|(l, v)| l == "Message" && *v == shown),
            "phone's screen: {message:?}\n{r:#?}"
        );
        // No rule of the policy covers a message, whichever way it reads.
        assert_eq!(r.phone, None);
    }
}
