//! MV3 restarts: an answered approval is recorded in the same step that
//! removes it, and a worker that restarts (the session JSON stored and loaded
//! again) at any step continues from that step: nothing lost, no transaction
//! signed into a second send.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ask, wallet, A0, A1, NOW};
use serde_json::{json, Value};
use tandem_wallet::{answer_step, Answered, Edits, Fill, Resolution, Wallet, STALE_MS};

/// What the worker stores: both halves of the wallet and the record of
/// answers, `[{ id, then }]`, written together (one storage write).
#[derive(Clone)]
struct Stored {
    state: String,
    session: String,
    answers: Value,
}

/// The worker as it runs: the wallet and its record of answers.
struct Worker {
    w: Wallet,
    answers: Vec<(u64, Value)>,
}

impl Worker {
    fn persist(&self) -> Stored {
        Stored {
            state: self.w.state.to_json(),
            session: self.w.session.to_json(),
            answers: json!(self
                .answers
                .iter()
                .map(|(id, then)| json!({"id": id, "then": then}))
                .collect::<Vec<_>>()),
        }
    }

    /// The worker stops and starts again: only what was stored is left.
    fn restart(s: &Stored) -> Self {
        let answers = s.answers.as_array().unwrap().iter();
        Self {
            w: Wallet::load(&s.state, &s.session).unwrap(),
            answers: answers
                .map(|a| (a["id"].as_u64().unwrap(), a["then"].clone()))
                .collect(),
        }
    }

    /// The user answers approval `id`: the resolution is recorded before
    /// the stored write that also removes the approval.
    fn answer(&mut self, id: u64, approve: bool) -> Stored {
        let r = self
            .w
            .resolve(id, approve, &Edits::default(), true, NOW, "", [0; 16])
            .unwrap();
        self.answers.push((id, serde_json::to_value(&r).unwrap()));
        self.persist()
    }

    /// Answers the wallet reached without the window (a lock, the phone,
    /// a timeout): recorded as handed back, in the write that stores the
    /// queue they left.
    fn record(&mut self, list: Vec<Answered>) -> Stored {
        for a in list {
            // The record's stored form is the core's own serialization.
            let v = serde_json::to_value(&a).unwrap();
            self.answers
                .push((v["id"].as_u64().unwrap(), v["then"].clone()));
        }
        self.persist()
    }

    fn step(&mut self, id: u64, step: Value) -> Stored {
        let then = &mut self.answers.iter_mut().find(|(x, _)| *x == id).unwrap().1;
        *then = answer_step(then, &step).unwrap();
        self.persist()
    }

    fn then(&self, id: u64) -> Resolution {
        let then = &self.answers.iter().find(|(x, _)| *x == id).unwrap().1;
        serde_json::from_value(then.clone()).unwrap()
    }
}

fn connected() -> Wallet {
    let mut w = wallet();
    w.state.select_network(31337).unwrap();
    let id = ask(&mut w, "eth_requestAccounts", json!([]));
    w.resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap();
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

#[test]
fn a_transaction_survives_a_restart_at_every_step_and_is_sent_as_one_set_of_bytes() {
    let mut w = connected();
    let id = transaction(&mut w);
    let mut k = Worker { w, answers: vec![] };

    // Approve: the approval leaves the stored session in the write that
    // stores its answer.
    let stored = k.answer(id, true);
    let mut k = Worker::restart(&stored);
    assert!(k.w.session.approval(id).is_err(), "not asked again");
    let r = k.then(id);
    assert!(matches!(r, Resolution::SendTransaction { .. }), "{r:?}");

    // Killed before the signature was stored: signing again after the
    // restart gives the same bytes (nonce fixed at approval, RFC 6979).
    let (raw, hash) = sign(&r);
    assert_eq!(
        sign(&Worker::restart(&stored).then(id)),
        (raw.clone(), hash.clone())
    );
    let stored = k.step(id, json!({"signed": {"raw": raw, "hash": hash}}));
    let mut k = Worker::restart(&stored);
    match k.then(id) {
        Resolution::SendSigned {
            raw: r2, hash: h2, ..
        } => assert_eq!((r2, h2), (raw.clone(), hash.clone())),
        r => panic!("{r:?}"),
    }
    // Once signed, never signed again (how a second send with another
    // nonce or fee would start).
    let signed = &k.answers[0].1;
    assert!(answer_step(signed, &json!({"signed": {"raw": "0x00", "hash": "0x00"}})).is_err());

    // Sent, killed before the reply was stored: what is left is sending
    // the same bytes (the record above, after any number of restarts).
    assert!(matches!(
        Worker::restart(&stored).then(id),
        Resolution::SendSigned { .. }
    ));
    let stored = k.step(id, json!({ "result": hash }));
    let k = Worker::restart(&stored);
    assert_eq!(
        k.then(id),
        Resolution::Reply {
            reply_to: json!({"tab": 1}),
            result: json!(hash),
            changed: false
        }
    );
}

#[test]
fn signatures_and_rejections_are_recorded_until_delivered() {
    let mut k = Worker {
        w: connected(),
        answers: vec![],
    };
    let id = ask(&mut k.w, "personal_sign", json!(["0x68656c6c6f", A0]));
    let stored = k.answer(id, true);
    let mut k = Worker::restart(&stored);
    assert!(matches!(k.then(id), Resolution::SignPersonal { .. }));
    let stored = k.step(id, json!({ "result": "0xsig" }));
    let mut k = Worker::restart(&stored);
    assert!(matches!(k.then(id), Resolution::Reply { ref result, .. } if result == "0xsig"));

    // A rejection by the user is recorded too: its 4001 reaches the page
    // after a restart.
    let id2 = ask(&mut k.w, "personal_sign", json!(["0x00", A0]));
    let stored = k.answer(id2, false);
    match Worker::restart(&stored).then(id2) {
        Resolution::Error { error, reply_to } => {
            assert_eq!(error["code"], 4001);
            assert_eq!(reply_to, json!({"tab": 1}));
        }
        r => panic!("{r:?}"),
    }
    // A signing step that fails (locked before signing) settles with the error.
    let id3 = ask(&mut k.w, "personal_sign", json!(["0x01", A0]));
    k.answer(id3, true);
    k.step(id3, json!({"error": {"code": 4100, "message": "locked"}}));
    assert!(matches!(k.then(id3), Resolution::Error { .. }));
}

#[test]
fn a_lock_and_an_expiry_are_recorded_with_the_queue_they_empty() {
    let mut k = Worker {
        w: connected(),
        answers: vec![],
    };
    let sign = ask(&mut k.w, "personal_sign", json!(["0x68656c6c6f", A0]));
    let send = transaction(&mut k.w);
    let rejected = k.w.session.reject_all();
    let stored = k.record(rejected);
    // Killed before either page heard: both 4001s are still to deliver,
    // and neither request can be approved any more.
    let k = Worker::restart(&stored);
    assert!(k.w.session.approvals.is_empty());
    for id in [sign, send] {
        match k.then(id) {
            Resolution::Error { error, reply_to } => {
                assert_eq!(error["code"], 4001);
                assert!(error["message"].as_str().unwrap().contains("locked"));
                assert_eq!(reply_to, json!({"tab": 1}));
            }
            r => panic!("{r:?}"),
        }
    }
    // A request that waited too long: the same.
    let mut k = k;
    let old = ask(&mut k.w, "personal_sign", json!(["0x00", A0]));
    let work = k.w.phone_work(NOW + STALE_MS);
    let stored = k.record(work.expired);
    assert!(matches!(
        Worker::restart(&stored).then(old),
        Resolution::Error { .. }
    ));
}

#[test]
fn bad_steps_are_refused() {
    let then =
        json!({"type": "sign_personal", "reply_to": {"tab": 1}, "address": A0, "message": "0x00"});
    for step in [
        json!({"signed": {"raw": "0x", "hash": "0x"}}), // not a transaction
        json!({"signed": {"raw": "0x"}}),               // no hash
        json!({}),
        json!({"result": 1, "error": {}}),
        json!({"signed": {"raw": "0x", "hash": "0x"}, "result": 1}),
    ] {
        assert!(answer_step(&then, &step).is_err(), "{step}");
    }
    // The reply goes where the request came from, whatever the step says.
    let next = answer_step(&then, &json!({"result": "0x1", "reply_to": {"tab": 9}})).unwrap();
    assert_eq!(next["reply_to"], json!({"tab": 1}));
}

#[test]
fn stale_requests_expire_with_a_clear_4001_and_fresh_ones_stay() {
    let mut w = connected();
    let old = ask(&mut w, "personal_sign", json!(["0x00", A0]));
    assert!(w.session.expire(NOW + STALE_MS - 1).is_empty());
    assert_eq!(w.session.approvals.len(), 1);
    let gone = w.session.expire(NOW + STALE_MS);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].id, old, "the record names the approval");
    match &gone[0].then {
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
