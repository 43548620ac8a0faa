//! MV3 restarts: an answered approval is recorded in the same step that
//! removes it, and a worker that restarts (the session JSON stored and loaded
//! again) at any step continues from that step: nothing lost, no transaction
//! signed into a second send.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ask, wallet, A0, A1, NOW};
use serde_json::{json, Value};
use tandem_wallet::{Edits, Fill, Resolution, Wallet, STALE_MS};

/// The worker stops and starts again: only what was persisted is left.
fn restart(w: &Wallet) -> Wallet {
    Wallet::load(&w.state.to_json(), &w.session.to_json()).unwrap()
}

/// Approve, as the worker calls it: recorded in the same step.
fn approve(w: &mut Wallet, id: u64) -> Resolution {
    let text = w
        .resolve_recorded(id, true, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn connected() -> Wallet {
    let mut w = wallet();
    w.state.select_network(31337).unwrap();
    let id = ask(&mut w, "eth_requestAccounts", json!([]));
    approve(&mut w, id);
    w.session.delivered(id);
    w
}

/// A filled transaction approval from A0 to A1 (nonce 7).
fn transaction(w: &mut Wallet) -> u64 {
    let id = ask(
        w,
        "eth_sendTransaction",
        json!([{"from": A0, "to": A1, "value": "0x1"}]),
    );
    let f: Fill = serde_json::from_value(
        json!({"nonce": "0x7", "gasEstimate": "0x5208", "baseFee": "0x3b9aca00", "priorityFee": "0x1"}),
    )
    .unwrap();
    w.fill_transaction(id, &f).unwrap();
    id
}

/// The key of anvil's account 0 (Foundry's documented test key).
fn key0() -> tandem_keys::PrivateKey {
    tandem_keys::PrivateKey::from_hex(
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    )
    .unwrap()
}

/// What the worker does at the `send_transaction` step: sign with the keyring.
fn sign(r: &Resolution) -> (String, String) {
    let Resolution::SendTransaction { transaction, .. } = r else {
        panic!("{r:?}")
    };
    let req: tandem_eth::TransactionRequest = serde_json::from_value(transaction.clone()).unwrap();
    let s = tandem_eth::transaction::sign(&key0(), &req).unwrap();
    (s.raw.to_string(), s.hash.to_string())
}

/// The step answer `id` is at, read as the worker reads it.
fn step(w: &Wallet, id: u64) -> Resolution {
    let (_, then) = w
        .session
        .answered()
        .into_iter()
        .find(|(x, _)| *x == id)
        .unwrap();
    serde_json::from_value(then.clone()).unwrap()
}

#[test]
fn a_transaction_survives_a_restart_at_every_step_and_is_sent_as_one_set_of_bytes() {
    let mut w = connected();
    let id = transaction(&mut w);
    let before = restart(&w);

    // Approve: the approval goes and its answer is recorded in the same
    // session JSON (the worker persists both together).
    let r = approve(&mut w, id);
    assert!(w.session.approvals.is_empty());
    let mut w = restart(&w);
    assert_eq!(
        step(&w, id),
        r,
        "the answer survives a restart before signing"
    );
    assert!(w.session.approval(id).is_err(), "and is not asked again");

    // Killed before the signature was recorded: signing again after the
    // restart gives the same bytes (nonce fixed at approval, RFC 6979).
    let (raw, hash) = sign(&step(&w, id));
    let (raw2, hash2) = sign(&step(&restart(&w), id));
    assert_eq!((raw.clone(), hash.clone()), (raw2, hash2));
    // As the worker reports it (one call for every step).
    w.session
        .step(id, &json!({"signed": {"raw": raw, "hash": hash}}))
        .unwrap();
    let mut w = restart(&w);
    match step(&w, id) {
        Resolution::SendSigned {
            raw: r2, hash: h2, ..
        } => assert_eq!((r2, h2), (raw.clone(), hash.clone())),
        r => panic!("{r:?}"),
    }
    // Once signed, it is never signed again (that is how a second send
    // with another nonce or fee would start).
    assert!(w.session.signed(id, "0x00".into(), "0x00".into()).is_err());

    // Sent (the node's answer and the activity record), killed before the
    // reply was recorded: the same raw is what is left to send.
    let mut w2 = restart(&w);
    assert!(matches!(step(&w2, id), Resolution::SendSigned { .. }));
    w2.session.step(id, &json!({ "result": hash })).unwrap();
    let w2 = restart(&w2);
    assert_eq!(
        step(&w2, id),
        Resolution::Reply {
            reply_to: json!({"tab": 1}),
            result: json!(hash),
            changed: false
        }
    );
    // Delivered: forgotten, also after a restart.
    let mut w3 = w2;
    w3.session.step(id, &json!({ "delivered": true })).unwrap();
    assert!(restart(&w3).session.answered().is_empty());

    // The same flow from the stored approval (a restart before Approve).
    let mut b = before;
    assert_eq!(approve(&mut b, id), r);
    w.session.delivered(id);
}

#[test]
fn signatures_and_rejections_are_recorded_until_delivered() {
    let mut w = connected();
    let id = ask(&mut w, "personal_sign", json!(["0x68656c6c6f", A0]));
    assert!(matches!(
        approve(&mut w, id),
        Resolution::SignPersonal { .. }
    ));
    let mut w = restart(&w);
    w.session
        .settled(id, &json!({ "result": "0xsig" }))
        .unwrap();
    let w = restart(&w);
    assert!(matches!(step(&w, id), Resolution::Reply { ref result, .. } if result == "0xsig"));

    // A rejection by the user is recorded too: its 4001 reaches the page
    // after a restart.
    let mut w = w;
    let id2 = ask(&mut w, "personal_sign", json!(["0x00", A0]));
    w.resolve_recorded(id2, false, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap();
    match step(&restart(&w), id2) {
        Resolution::Error { error, .. } => assert_eq!(error["code"], 4001),
        r => panic!("{r:?}"),
    }
    // A signing step that fails (locked before signing) settles with the error.
    let id3 = ask(&mut w, "personal_sign", json!(["0x01", A0]));
    approve(&mut w, id3);
    w.session
        .settled(id3, &json!({"error": {"code": 4100, "message": "locked"}}))
        .unwrap();
    assert!(matches!(step(&w, id3), Resolution::Error { .. }));
}

#[test]
fn bad_steps_are_refused_and_change_nothing() {
    let mut w = connected();
    let id = ask(&mut w, "personal_sign", json!(["0x00", A0]));
    approve(&mut w, id);
    let before = w.session.clone();
    // Not a transaction: nothing to sign.
    assert!(w.session.signed(id, "0x".into(), "0x".into()).is_err());
    // A reply is { result } or { error }.
    assert!(w.session.settled(id, &json!({})).is_err());
    assert!(w
        .session
        .settled(id, &json!({"result": 1, "error": {}}))
        .is_err());
    // No such answer; a signed step without its bytes.
    assert!(w.session.settled(99, &json!({"result": 1})).is_err());
    assert!(w
        .session
        .step(id, &json!({"signed": {"raw": "0x"}}))
        .is_err());
    assert_eq!(w.session, before);
    // Delivering twice (after a restart) is harmless.
    w.session.delivered(id);
    w.session.delivered(id);
    assert!(w.session.answered().is_empty());
}

#[test]
fn a_session_stored_before_answers_were_recorded_still_loads() {
    let mut w = connected();
    transaction(&mut w);
    let mut json: Value = serde_json::from_str(&w.session.to_json()).unwrap();
    json.as_object_mut().unwrap().remove("answered");
    let s = tandem_wallet::Session::from_json(&json.to_string()).unwrap();
    assert!(s.answered().is_empty());
    assert_eq!(s.approvals.len(), 1);
}

#[test]
fn stale_requests_expire_with_a_clear_4001_and_fresh_ones_stay() {
    let mut w = connected();
    let old = ask(&mut w, "personal_sign", json!(["0x00", A0]));
    assert!(w.session.expire(NOW + STALE_MS - 1).is_empty());
    assert_eq!(w.session.approvals.len(), 1);
    let gone = w.session.expire(NOW + STALE_MS);
    assert_eq!(gone.len(), 1);
    match &gone[0] {
        Resolution::Error { error, reply_to } => {
            assert_eq!(error["code"], 4001);
            assert!(error["message"].as_str().unwrap().contains("expired"));
            assert_eq!(reply_to, &json!({"tab": 1}));
        }
        r => panic!("{r:?}"),
    }
    assert!(w.session.approval(old).is_err());
    assert!(w.session.expire(NOW + 10 * STALE_MS).is_empty());
    // The worker's periodic call is what expires them.
    ask(&mut w, "personal_sign", json!(["0x01", A0]));
    assert!(w.phone_work(NOW + STALE_MS - 1).expired.is_empty());
    assert_eq!(w.phone_work(NOW + STALE_MS).expired.len(), 1);
    assert!(w.session.approvals.is_empty());
}
