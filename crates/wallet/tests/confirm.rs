//! Confirm on phone, the desktop's side: each rule of the phone's policy,
//! the phone's answers, the timeout, and the attacks (another member
//! answering or changing the policy, an answer to other contents, a replay,
//! the desktop approving on the phone's behalf). The phone's side is played
//! with `tandem-confirm`, as the phone app does.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use serde_json::json;
use tandem_confirm::{digest, Answer, Message, Policy, Request, Rule, VERSION};
use tandem_wallet::{Answered, ApprovalKind, Edits, Fill, Outcome, Resolution, Wallet};

mod common;
use common::{ask, rpc_agrees, to_phone, A0, A1, NOW, ORIGIN};

const PHONE: &str = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a";
const LAPTOP: &str = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";
const NONCE: [u8; 16] = [7; 16];

fn policy(p: Policy, set_at: u64) -> String {
    Message::Policy {
        v: VERSION,
        policy: p,
        set_at,
    }
    .encode()
    .try_into()
    .unwrap()
}

/// A wallet with two accounts, connected to ORIGIN, whose phone set `p`.
fn wallet(p: Policy) -> Wallet {
    let mut w = common::wallet();
    w.state.grant(ORIGIN, vec![A0.parse().unwrap()], NOW);
    let out = w.phone_message(PHONE, &policy(p, 1), NOW).unwrap();
    assert!(out
        .notice
        .unwrap()
        .starts_with("Your phone set what it must confirm"));
    w
}

fn send(w: &mut Wallet, value: &str, data: Option<&str>) -> u64 {
    let mut tx = json!({"from": A0, "to": A1, "value": value, "gas": "0x5208",
        "maxFeePerGas": "0x3b9aca00", "maxPriorityFeePerGas": "0x1", "nonce": "0x0"});
    if let Some(d) = data {
        tx["data"] = json!(d);
        tx["gas"] = json!("0x20000");
    }
    let id = ask(w, "eth_sendTransaction", json!([tx]));
    let fill: Fill =
        serde_json::from_value(json!({"nonce": "0x0", "gasEstimate": "0x5208"})).unwrap();
    w.fill_transaction(id, &fill).unwrap();
    id
}

fn answer(bytes: &[u8], r: &Request, approve: bool) -> String {
    Message::Answer {
        v: VERSION,
        answer: Answer {
            id: r.id.clone(),
            digest: digest(bytes),
            approve,
            signature: None,
        },
    }
    .encode()
    .try_into()
    .unwrap()
}

fn awaits(r: Resolution) -> Rule {
    match r {
        Resolution::AwaitPhone { rule, .. } => rule,
        r => panic!("expected the phone to be asked, got {r:?}"),
    }
}

/// What the approval window sends along (`tandem_ui::confirm::summary`
/// builds it from what it showed; its own tests check that part).
const SUMMARY: &str = r#"{"action":"Send a transaction","amount":"1 ETH","recipient":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}"#;

fn approve_here(w: &mut Wallet, id: u64) -> Resolution {
    w.resolve(id, true, &Edits::default(), true, NOW, SUMMARY, NONCE)
        .unwrap()
}

const UNLIMITED: &str = "0x095ea7b3000000000000000000000000a0b86991c6218b36c1d19d4a2e9eb0ce3606eb48ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
const SMALL_APPROVAL: &str = "0x095ea7b3000000000000000000000000a0b86991c6218b36c1d19d4a2e9eb0ce3606eb4800000000000000000000000000000000000000000000000000000000000003e8";

#[test]
fn each_rule_of_the_policy_sends_its_request_to_the_phone_and_nothing_else_does() {
    let mut w = wallet(Policy::default());
    // Transactions: above 0.1 ETH, and unlimited approvals whatever the value.
    let big = send(&mut w, "0x16345785d8a0001", None); // 0.1 ETH + 1 wei
    assert_eq!(awaits(approve_here(&mut w, big)), Rule::Value);
    let (_, r) = to_phone(&mut w);
    assert_eq!(r.to, PHONE);
    assert_eq!(r.site, ORIGIN);
    assert_eq!(r.rule, Rule::Value);
    assert_eq!(r.id, "07".repeat(16));
    assert_eq!(r.amount.as_deref(), Some("1 ETH"), "the window's summary");
    assert_eq!(r.expires_at - r.created_at, 120);
    assert_eq!(r.created_at, NOW / 1000);
    let edge = send(&mut w, "0x16345785d8a0000", None); // exactly 0.1 ETH
    assert!(matches!(
        approve_here(&mut w, edge),
        Resolution::SendTransaction { .. }
    ));
    done(&mut w, big);
    let unlimited = send(&mut w, "0x0", Some(UNLIMITED));
    assert_eq!(awaits(approve_here(&mut w, unlimited)), Rule::Approval);
    done(&mut w, unlimited);
    // Unlimited in practice counts too: MAX minus a little, and down to
    // 2^128, what the window calls unlimited (2^254 once passed as limited).
    let almost = UNLIMITED.replace("ffffffff", "fffffff0");
    let prefix = &UNLIMITED[..74]; // 0x, the selector, the spender
    let with = |amount: String| format!("{prefix}{amount:0>64}");
    let two_254 = with(format!("4{}", "0".repeat(63)));
    let two_128 = with(format!("1{}", "0".repeat(32)));
    let warned = |w: &Wallet, id: u64| {
        w.session.approval(id).unwrap().display["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x.as_str().unwrap().starts_with("unlimited token approval"))
    };
    // Read as the token reads it (`tandem_wallet::decode`): a byte
    // appended or an upper-case selector once passed as no approval at all.
    let padded = format!("{UNLIMITED}00");
    let upper = UNLIMITED.replace("095ea7b3", "095EA7B3");
    for amount in [&almost, &two_254, &two_128, &padded, &upper] {
        let id = send(&mut w, "0x0", Some(amount));
        // The window warns of what the phone's policy catches.
        assert!(warned(&w, id), "{amount}");
        assert_eq!(awaits(approve_here(&mut w, id)), Rule::Approval, "{amount}");
        done(&mut w, id);
    }
    // One below 2^128 is a limit.
    let below = with("f".repeat(32));
    let id = send(&mut w, "0x0", Some(&below));
    assert!(!warned(&w, id));
    assert!(
        matches!(approve_here(&mut w, id), Resolution::SendTransaction { .. }),
        "{below}"
    );
    let small = send(&mut w, "0x0", Some(SMALL_APPROVAL));
    assert!(matches!(
        approve_here(&mut w, small),
        Resolution::SendTransaction { .. }
    ));
    let all = "0xa22cb465000000000000000000000000a0b86991c6218b36c1d19d4a2e9eb0ce3606eb480000000000000000000000000000000000000000000000000000000000000001";
    let id = send(&mut w, "0x0", Some(all));
    // Warned of here too, as the phone is shown it.
    let warnings = &w.session.approval(id).unwrap().display["warnings"];
    assert_eq!(
        warnings[0],
        "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48 gets control over all your items in this collection"
    );
    assert_eq!(
        awaits(approve_here(&mut w, id)),
        Rule::Approval,
        "setApprovalForAll(operator, true)"
    );
    done(&mut w, id);

    // A permit, as typed data.
    let permit = json!({
        "types": {"EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
                  "Permit": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"}, {"name": "value", "type": "uint256"}, {"name": "nonce", "type": "uint256"}, {"name": "deadline", "type": "uint256"}]},
        "primaryType": "Permit",
        "domain": {"name": "USD Coin", "chainId": 1, "verifyingContract": A1},
        "message": {"owner": A0, "spender": "0x1111111111111111111111111111111111111111", "value": "1000000", "nonce": 0, "deadline": 1900000000u64}
    });
    let id = ask(
        &mut w,
        "eth_signTypedData_v4",
        json!([A0, permit.to_string()]),
    );
    assert_eq!(awaits(approve_here(&mut w, id)), Rule::Permit);
    done(&mut w, id);

    // Adding a network the wallet does not know.
    let id = ask(
        &mut w,
        "wallet_addEthereumChain",
        json!([{"chainId": "0x64", "chainName": "Gnosis", "rpcUrls": ["https://gnosis.example/rpc"],
                "nativeCurrency": {"name": "xDAI", "symbol": "XDAI", "decimals": 18}}]),
    );
    rpc_agrees(&mut w, id);
    assert_eq!(awaits(approve_here(&mut w, id)), Rule::AddNetwork);
    done(&mut w, id);
    // A known network whose RPC a site would replace is covered too; the
    // same entry again (approving only switches to it) is not.
    let add_local = |rpc: &str| {
        json!([{"chainId": "0x7a69", "chainName": "Localhost 8545", "rpcUrls": [rpc],
                "nativeCurrency": {"name": "Ether", "symbol": "ETH", "decimals": 18}}])
    };
    let id = ask(
        &mut w,
        "wallet_addEthereumChain",
        add_local("https://evil.example/rpc"),
    );
    rpc_agrees(&mut w, id);
    assert_eq!(awaits(approve_here(&mut w, id)), Rule::AddNetwork);
    done(&mut w, id);
    let id = ask(
        &mut w,
        "wallet_addEthereumChain",
        add_local("http://127.0.0.1:8545"),
    );
    rpc_agrees(&mut w, id);
    assert!(matches!(approve_here(&mut w, id), Resolution::Reply { .. }));
    assert!(w.take_phone_outbox().is_empty());

    // A new site's connection (a connected site's is not new).
    let id = match w.request(
        "https://new.example",
        &json!({"method": "eth_requestAccounts", "params": []}),
        true,
        json!({"tab": 2}),
        NOW,
    ) {
        Outcome::Approval { id, kind, .. } => {
            assert_eq!(kind, ApprovalKind::Connect);
            id
        }
        o => panic!("{o:?}"),
    };
    assert_eq!(awaits(approve_here(&mut w, id)), Rule::Connect);
    let (_, r) = to_phone(&mut w);
    assert_eq!(r.site, "https://new.example");

    // A plain signature is not covered.
    let id = ask(&mut w, "personal_sign", json!(["0x68656c6c6f", A0]));
    assert!(matches!(
        approve_here(&mut w, id),
        Resolution::SignPersonal { .. }
    ));
    assert!(w.take_phone_outbox().is_empty());
}

#[test]
fn without_the_windows_summary_nothing_is_sent_or_signed() {
    let mut w = wallet(Policy::default());
    let id = send(&mut w, "0xde0b6b3a7640000", None);
    // The message API without the approval window (a script, a bug).
    let err = w
        .resolve(id, true, &Edits::default(), true, NOW, "", NONCE)
        .unwrap_err();
    assert!(err.to_string().contains("approval window"), "{err}");
    assert!(w.take_phone_outbox().is_empty());
    let a = w.session.approval(id).unwrap();
    assert!(a.phone.is_none(), "still waits for the desktop's answer");
    // A summary cannot set where the request goes or for which site.
    let forged = r#"{"action":"x","to":"0b0b","site":"https://elsewhere.example","id":"00"}"#;
    approve_with(&mut w, id, forged);
    let (_, r) = to_phone(&mut w);
    assert_eq!((r.to.as_str(), r.site.as_str()), (PHONE, ORIGIN));
    assert_eq!(r.id, "07".repeat(16));
}

/// The phone was asked: cancel here (the dapp's limit of waiting requests).
fn done(w: &mut Wallet, id: u64) {
    for m in w.take_phone_outbox() {
        // What the phone receives passes its strict reader.
        assert!(matches!(
            Message::decode(m.text.as_bytes()),
            Ok(Message::Request { .. })
        ));
    }
    w.resolve(id, false, &Edits::default(), true, NOW, "", NONCE)
        .unwrap();
    w.take_phone_outbox();
}

fn approve_with(w: &mut Wallet, id: u64, summary: &str) -> Resolution {
    w.resolve(id, true, &Edits::default(), true, NOW, summary, NONCE)
        .unwrap()
}

#[test]
fn the_phones_messages_are_read_strictly() {
    let mut w = wallet(Policy::default());
    for (bad, why) in [
        ("{}", "not a confirmation message"),
        ("[1]", "not a confirmation message"),
        (
            r#"{"answer":{"v":2,"answer":{"id":"a","digest":"b","approve":true}}}"#,
            "version 2",
        ),
        (
            r#"{"answer":{"v":1,"answer":{"id":"a","digest":"b"}}}"#,
            "neither yes nor no",
        ),
        (
            r#"{"policy":{"v":1,"policy":{"connect":true},"set_at":1}}"#,
            "no `approvals`",
        ),
        (r#"{"request":{"v":1,"request":{}}}"#, "not for a desktop"),
    ] {
        let err = w.phone_message(PHONE, bad, NOW).unwrap_err().to_string();
        assert!(err.contains(why), "{bad}: {err}");
    }
    let long = format!(
        "{{\"answer\":\"{}\"}}",
        "x".repeat(tandem_confirm::MAX_MESSAGE_LEN)
    );
    assert!(w.phone_message(PHONE, &long, NOW).is_err());
    assert_eq!(
        w.phone_policy().unwrap().policy,
        Policy::default(),
        "unchanged"
    );
}

#[test]
fn rules_the_phone_turned_off_sign_at_once() {
    let mut w = wallet(Policy {
        connect: false,
        value_above_milli: Some(5_000),
        approvals: false,
        add_network: false,
        ..Policy::default()
    });
    let id = send(&mut w, "0xde0b6b3a7640000", None); // 1 ETH < 5
    assert!(matches!(
        approve_here(&mut w, id),
        Resolution::SendTransaction { .. }
    ));
    let id = send(&mut w, "0x0", Some(UNLIMITED));
    assert!(matches!(
        approve_here(&mut w, id),
        Resolution::SendTransaction { .. }
    ));
    let id = send(&mut w, "0x4563918244f40001", None); // 5 ETH + 1 wei
    assert_eq!(awaits(approve_here(&mut w, id)), Rule::Value);
}

#[test]
fn the_phones_approval_signs_exactly_what_the_desktop_approved_with_its_edits() {
    let mut w = wallet(Policy::default());
    let id = send(&mut w, "0xde0b6b3a7640000", None);
    let edits: Edits = serde_json::from_value(json!({"gas": "0x5300"})).unwrap();
    let r = w
        .resolve(id, true, &edits, true, NOW, SUMMARY, NONCE)
        .unwrap();
    assert_eq!(awaits(r), Rule::Value);
    let (bytes, req) = to_phone(&mut w);
    assert_eq!(req.id, "07".repeat(16));
    // Still pending, and the desktop cannot approve it on the phone's behalf.
    let wait = Wallet::phone_wait(w.session.approval(id).unwrap()).unwrap();
    assert_eq!(wait.sent.text.as_bytes(), &bytes[..]);
    assert_eq!(wait.action, "Send a transaction");
    // The stored form (what the approval window reads, as this very type):
    // the names the worker has always stored, read back whole.
    let stored = w.session.approval(id).unwrap().phone.clone().unwrap();
    let mut keys: Vec<&str> = stored
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["action", "rule", "sent", "timeoutSecs"]);
    assert_eq!(stored["rule"], "value");
    assert_eq!(stored["sent"]["expiresAt"], json!(wait.sent.expires_at));
    let read: tandem_wallet::PhoneWait = serde_json::from_value(stored).unwrap();
    assert_eq!(read, wait);
    assert_eq!(read.request().map(|r| r.id), Some(req.id.clone()));
    let err = w
        .resolve(id, true, &Edits::default(), true, NOW, SUMMARY, NONCE)
        .unwrap_err();
    assert!(err.to_string().contains("waits for your phone"), "{err}");

    let out = w
        .phone_message(PHONE, &answer(&bytes, &req, true), NOW + 5_000)
        .unwrap();
    assert_eq!(out.approved, Some(true));
    match &out.resolutions[..] {
        [Answered {
            id: answered,
            then:
                Resolution::SendTransaction {
                    transaction,
                    address,
                    reply_to,
                    ..
                },
        }] => {
            assert_eq!(*answered, id, "the record names the approval");
            assert_eq!(transaction["gas"], "0x5300");
            assert_eq!(transaction["value"], "0xde0b6b3a7640000");
            assert_eq!(address.to_checksum(None), A0);
            assert_eq!(reply_to, &json!({"tab": 1}));
        }
        r => panic!("{r:?}"),
    }
    // The worker stores it as handed back (`{ id, then }`, answers.js) and
    // carries it on like an answer given in the window.
    let record = serde_json::to_value(&out.resolutions[0]).unwrap();
    assert_eq!(record["id"], id);
    assert_eq!(record["then"]["type"], "send_transaction");
    let signed = tandem_wallet::answer_step(
        &record["then"],
        &json!({"signed": {"raw": "0x02", "hash": "0xab"}}),
    )
    .unwrap();
    assert_eq!(signed["type"], "send_signed");
    assert!(w.session.approvals.is_empty());
    // The same answer again (a duplicate delivery) changes nothing.
    let again = w
        .phone_message(PHONE, &answer(&bytes, &req, true), NOW + 6_000)
        .unwrap();
    assert!(again.resolutions.is_empty());
}

fn rejected_with(r: &Resolution) -> (i64, String) {
    match r {
        Resolution::Error { error, .. } => (
            error["code"].as_i64().unwrap(),
            error["message"].as_str().unwrap().to_owned(),
        ),
        r => panic!("expected a rejection, got {r:?}"),
    }
}

#[test]
fn a_rejection_on_the_phone_is_4001_to_the_dapp_and_said_on_the_desktop() {
    let mut w = wallet(Policy::default());
    let id = send(&mut w, "0xde0b6b3a7640000", None);
    approve_here(&mut w, id);
    let (bytes, req) = to_phone(&mut w);
    let out = w
        .phone_message(PHONE, &answer(&bytes, &req, false), NOW + 1_000)
        .unwrap();
    assert_eq!(
        rejected_with(&out.resolutions[0].then),
        (4001, "Rejected on your phone".into())
    );
    assert_eq!(out.approved, Some(false), "the phone's own answer");
    assert!(out.notice.unwrap().contains(ORIGIN));
    assert!(w.session.approvals.is_empty());
}

#[test]
fn no_answer_in_time_is_a_4001_timeout_and_the_phone_is_told_to_drop_it() {
    let mut w = wallet(Policy {
        timeout_secs: 30,
        ..Policy::default()
    });
    let id = send(&mut w, "0xde0b6b3a7640000", None);
    approve_here(&mut w, id);
    let (bytes, req) = to_phone(&mut w);
    assert!(w.expire_phone(NOW + 30_000).is_empty(), "not yet");
    let gone = w.expire_phone(NOW + 31_000);
    assert_eq!(gone[0].id, id);
    let (code, message) = rejected_with(&gone[0].then);
    assert_eq!(code, 4001);
    assert!(message.contains("within 30 seconds"), "{message}");
    let out = w.take_phone_outbox();
    assert!(!out[0].request);
    assert!(matches!(
        Message::decode(out[0].text.as_bytes()).unwrap(),
        Message::Cancel { id, .. } if id == req.id
    ));
    // The phone's approval arriving late signs nothing.
    let late = w
        .phone_message(PHONE, &answer(&bytes, &req, true), NOW + 32_000)
        .unwrap();
    assert!(late.resolutions.is_empty());
}

#[test]
fn cancelling_on_the_desktop_rejects_and_clears_the_phones_screen() {
    let mut w = wallet(Policy::default());
    let id = send(&mut w, "0xde0b6b3a7640000", None);
    approve_here(&mut w, id);
    let (_, req) = to_phone(&mut w);
    let r = w
        .resolve(id, false, &Edits::default(), true, NOW, "", NONCE)
        .unwrap();
    assert_eq!(rejected_with(&r).0, 4001);
    let out = w.take_phone_outbox();
    assert!(matches!(
        Message::decode(out[0].text.as_bytes()).unwrap(),
        Message::Cancel { id, .. } if id == req.id
    ));
}

#[test]
fn another_member_cannot_answer_for_the_phone_or_change_its_policy() {
    let mut w = wallet(Policy::default());
    let id = send(&mut w, "0xde0b6b3a7640000", None);
    approve_here(&mut w, id);
    let (bytes, req) = to_phone(&mut w);
    // A compromised laptop of the same group sees the request and approves.
    let err = w
        .phone_message(LAPTOP, &answer(&bytes, &req, true), NOW)
        .unwrap_err();
    assert!(err.to_string().contains("not sent to"), "{err}");
    // It tries to switch the phone's protection off instead.
    let off = Policy {
        connect: false,
        value_above_milli: None,
        approvals: false,
        add_network: false,
        ..Policy::default()
    };
    let err = w.phone_message(LAPTOP, &policy(off, 99), NOW).unwrap_err();
    assert!(err.to_string().contains("only the phone"), "{err}");
    assert_eq!(w.phone_policy().unwrap().owner, PHONE);
    // The request still waits for the phone.
    assert!(w.session.approval(id).unwrap().phone.is_some());
}

#[test]
fn an_answer_to_other_contents_or_an_earlier_request_signs_nothing() {
    let mut w = wallet(Policy::default());
    let id = send(&mut w, "0xde0b6b3a7640000", None);
    approve_here(&mut w, id);
    let (bytes, req) = to_phone(&mut w);
    // The phone was shown something else than what was sent (a relay or a
    // member that rewrote the request could not re-sign it, but the digest
    // is checked too).
    let mut shown = bytes.clone();
    let at = shown.len() - 2;
    shown.insert(at, b' ');
    let err = w
        .phone_message(PHONE, &answer(&shown, &req, true), NOW)
        .unwrap_err();
    assert!(err.to_string().contains("other contents"), "{err}");
    // The phone's approval of an earlier request, replayed.
    let other = Request {
        id: "01".repeat(16),
        ..req.clone()
    };
    let replay = answer(&bytes, &other, true);
    let out = w.phone_message(PHONE, &replay, NOW).unwrap();
    assert!(out.resolutions.is_empty());
    assert!(w.session.approval(id).unwrap().phone.is_some());
}

#[test]
fn when_the_phone_leaves_the_group_its_policy_goes_and_waiting_requests_are_rejected() {
    let mut w = wallet(Policy::default());
    let id = send(&mut w, "0xde0b6b3a7640000", None);
    approve_here(&mut w, id);
    assert!(w.phone_gone(LAPTOP).is_empty(), "not the phone");
    let gone = w.phone_gone(PHONE);
    assert_eq!(gone[0].id, id);
    assert_eq!(rejected_with(&gone[0].then).0, 4001);
    assert!(w.phone_policy().is_none());
    let id = send(&mut w, "0xde0b6b3a7640000", None);
    assert!(matches!(
        approve_here(&mut w, id),
        Resolution::SendTransaction { .. }
    ));
    // A new phone may now set a policy.
    w.phone_message(LAPTOP, &policy(Policy::default(), 5), NOW)
        .unwrap();
    assert_eq!(w.phone_policy().unwrap().owner, LAPTOP);
}

#[test]
fn the_policy_survives_a_restart_and_the_waiting_request_too() {
    let mut w = wallet(Policy::default());
    let id = send(&mut w, "0xde0b6b3a7640000", None);
    approve_here(&mut w, id);
    let (bytes, req) = to_phone(&mut w);
    let mut back = Wallet::load(&w.state.to_json(), &w.session.to_json()).unwrap();
    assert_eq!(back.phone_policy(), w.phone_policy());
    let out = back
        .phone_message(PHONE, &answer(&bytes, &req, true), NOW)
        .unwrap();
    assert!(matches!(
        out.resolutions[0].then,
        Resolution::SendTransaction { .. }
    ));
}

/// The wallet does not auto-lock under a request the user approved here and
/// the phone has yet to answer (the phone's Approve could not sign), but it
/// locks as usual once the wait is over, and a wait never extends past its
/// own timeout.
#[test]
fn auto_lock_waits_for_the_phone_no_longer_than_the_phones_timeout() {
    let mut w = wallet(Policy {
        timeout_secs: 600,
        ..Policy::default()
    });
    w.state.set_settings(Some(1), None).unwrap();
    w.session.lock.touch(NOW);
    let minute = 60_000;
    assert!(w.lock_expired(NOW + minute), "idle for the window: locks");
    let id = send(&mut w, "0xde0b6b3a7640000", None);
    awaits(approve_here(&mut w, id));
    let (bytes, req) = to_phone(&mut w);
    assert!(!w.lock_expired(NOW + 5 * minute), "waiting for the phone");
    assert!(!w.lock_expired(NOW + 10 * minute), "the wait's last moment");
    assert!(
        w.lock_expired(NOW + 10 * minute + 1_000),
        "past the phone's timeout"
    );
    // The phone answers: the wait is over and the usual window applies.
    let out = w
        .phone_message(PHONE, &answer(&bytes, &req, true), NOW + 2 * minute)
        .unwrap();
    assert_eq!(out.resolutions.len(), 1);
    assert!(w.lock_expired(NOW + 2 * minute));
}
