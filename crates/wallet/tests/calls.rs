//! EIP-5792 (version 2.0.0) as a dapp, the approval window and the worker
//! see it: `wallet_getCapabilities`, `wallet_sendCalls` (validation, one
//! approval listing every call), the calls' steps (sequential, stopped by a
//! failure, never sent twice) and `wallet_getCallsStatus` (codes, receipts,
//! only for the origin that sent the bundle).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::ops::{Deref, DerefMut};

use serde_json::{json, Value};
use tandem_wallet::calls::{self, next_index, status_code, Answer, Bundles, MAX_CALLS};
use tandem_wallet::{ApprovalKind, Edits, Outcome, Resolution, Wallet};

mod common;
use common::{wallet, A0, A1, NOW, ORIGIN};

const OTHER: &str = "https://other.example";
const TOKEN: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const ENTROPY: [u8; 32] = [7; 32];

/// The wallet as the worker has it: the core's state and session, and the
/// bundles the extra module keeps (stored by the worker).
#[derive(Clone)]
struct Worker {
    w: Wallet,
    bundles: Bundles,
}

impl Deref for Worker {
    type Target = Wallet;
    fn deref(&self) -> &Wallet {
        &self.w
    }
}

impl DerefMut for Worker {
    fn deref_mut(&mut self) -> &mut Wallet {
        &mut self.w
    }
}

impl Worker {
    /// A request as background.js carries it: to the core, then (EIP-5792)
    /// to the extra module with the core's state as stored JSON, and a
    /// checked bundle back to the core's queue.
    fn request_with(
        &mut self,
        origin: &str,
        request: &Value,
        unlocked: bool,
        reply_to: Value,
        now: u64,
        entropy: Option<[u8; 32]>,
    ) -> Outcome {
        match self
            .w
            .request(origin, request, unlocked, reply_to.clone(), now)
        {
            Outcome::Extra => {}
            other => return other,
        }
        let mut stored = Wallet::load(&self.w.state.to_json(), &self.w.session.to_json()).unwrap();
        let bundles = Bundles::from_json(&self.bundles.to_json()).unwrap();
        match calls::request(&stored, &bundles, origin, request, entropy) {
            Answer::Result { result } => Outcome::Result {
                result,
                changed: false,
            },
            Answer::Error { error } => Outcome::Error { error },
            Answer::Queue { request, display } => {
                // Queued by the extra module; the core is loaded from the
                // session half it hands back.
                let o = stored.queue_calls(origin, request, display, reply_to, now);
                if matches!(o, Outcome::Approval { .. }) {
                    self.w =
                        Wallet::load(&self.w.state.to_json(), &stored.session.to_json()).unwrap();
                }
                o
            }
        }
    }

    /// The user's answer, as background.js carries it: a bundle is checked
    /// against the phone's policy by the extra module first, and an approved
    /// one starts there.
    #[allow(clippy::too_many_arguments)] // the core's `resolve`, as it is
    fn resolve(
        &mut self,
        id: u64,
        approve: bool,
        edits: &Edits,
        unlocked: bool,
        now: u64,
        phone: &str,
        nonce: [u8; 16],
    ) -> tandem_wallet::Result<Resolution> {
        if approve {
            let stored = Wallet::load(&self.w.state.to_json(), &self.w.session.to_json()).unwrap();
            calls::check_approval(&stored, id)?;
        }
        let a = self.w.session.approval(id).cloned();
        let r = self
            .w
            .resolve(id, approve, edits, unlocked, now, phone, nonce)?;
        if let (Ok(a), Resolution::Reply { .. }) = (a, &r) {
            if a.kind == ApprovalKind::Calls {
                self.bundles.start(&a, now)?;
            }
        }
        Ok(r)
    }

    fn calls_step(
        &mut self,
        origin: &str,
        id: &str,
        index: usize,
        s: &Value,
    ) -> tandem_wallet::Result<Value> {
        self.bundles.step(origin, id, index, s)
    }

    fn calls_work(&mut self, unlocked: bool) -> Value {
        self.bundles.work(&self.w.state, unlocked)
    }
}

fn req_from(w: &mut Worker, origin: &str, method: &str, params: Value) -> Outcome {
    w.request_with(
        origin,
        &json!({"method": method, "params": params}),
        true,
        json!({"tab": 1}),
        NOW,
        Some(ENTROPY),
    )
}

fn req(w: &mut Worker, method: &str, params: Value) -> Outcome {
    req_from(w, ORIGIN, method, params)
}

fn error(o: &Outcome) -> (i64, String) {
    match o {
        Outcome::Error { error } => (
            error["code"].as_i64().unwrap(),
            error["message"].as_str().unwrap().to_owned(),
        ),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn result(o: Outcome) -> Value {
    match o {
        Outcome::Result { result, .. } => result,
        other => panic!("expected a result, got {other:?}"),
    }
}

/// A wallet on anvil's chain with ORIGIN connected to account 0.
fn connected() -> Worker {
    let mut w = Worker {
        w: wallet(),
        bundles: Bundles::default(),
    };
    w.state.select_network(31337).unwrap();
    let id = match req(&mut w, "eth_requestAccounts", json!([])) {
        Outcome::Approval { id, .. } => id,
        o => panic!("{o:?}"),
    };
    w.resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap();
    w
}

fn transfer_data(to: &str, amount: u64) -> String {
    format!(
        "0xa9059cbb{:0>64}{:064x}",
        to.trim_start_matches("0x").to_lowercase(),
        amount
    )
}

/// A bundle of a native transfer and a token transfer, as viem sends it.
fn bundle(extra: Value) -> Value {
    let mut p = json!({
        "version": "2.0.0",
        "chainId": "0x7a69",
        "from": A0,
        "atomicRequired": false,
        "calls": [
            {"to": A1, "value": "0xde0b6b3a7640000"},
            {"to": TOKEN, "data": transfer_data(A1, 1_000_000)},
        ],
    });
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    json!([p])
}

/// Sends `params` and approves the bundle; returns its id.
fn approved(w: &mut Worker, params: Value) -> String {
    let id = match req(w, "wallet_sendCalls", params) {
        Outcome::Approval { id, kind, fill } => {
            assert_eq!(kind, ApprovalKind::Calls);
            assert_eq!(fill, None, "nothing is fetched before the window shows");
            id
        }
        o => panic!("{o:?}"),
    };
    match w
        .resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap()
    {
        Resolution::Reply { result, .. } => result["id"].as_str().unwrap().to_owned(),
        r => panic!("{r:?}"),
    }
}

fn status(w: &mut Worker, id: &str) -> Value {
    result(req(w, "wallet_getCallsStatus", json!([id])))
}

fn step(w: &mut Worker, id: &str, index: usize, s: Value) -> tandem_wallet::Result<Value> {
    w.calls_step(ORIGIN, id, index, &s)
}

fn work(w: &mut Worker, unlocked: bool) -> Vec<Value> {
    w.calls_work(unlocked)["work"].as_array().unwrap().clone()
}

fn fill() -> Value {
    json!({"nonce": "0x5", "gasEstimate": "0x5208", "baseFee": "0x3b9aca00", "priorityFee": "0x3b9aca00"})
}

fn receipt(hash: &str, ok: bool) -> Value {
    json!({
        "transactionHash": hash, "status": if ok { "0x1" } else { "0x0" },
        "blockHash": "0xbb", "blockNumber": "0x10", "gasUsed": "0x5208",
        "logs": [{"address": TOKEN, "data": "0x01", "topics": ["0xdd"], "logIndex": "0x0"}],
        "cumulativeGasUsed": "0x5208", "from": A0,
    })
}

/// Carries call `index` through fill, sign, send and (if `ok` is given) its receipt.
fn run_call(w: &mut Worker, id: &str, index: usize, ok: Option<bool>) -> String {
    let tx = step(w, id, index, json!({ "filled": fill() })).unwrap();
    assert_eq!(tx["nonce"], "0x5");
    let hash = format!("0x{:064x}", index + 1);
    step(
        w,
        id,
        index,
        json!({"signed": {"raw": format!("0x02{index}"), "hash": hash}}),
    )
    .unwrap();
    step(w, id, index, json!({"sent": true})).unwrap();
    if let Some(ok) = ok {
        step(w, id, index, json!({ "receipt": receipt(&hash, ok) })).unwrap();
    }
    hash
}

#[test]
fn capabilities_say_atomic_unsupported_on_each_network_and_only_to_a_connected_site() {
    let mut w = connected();
    let all = result(req(&mut w, "wallet_getCapabilities", json!([A0])));
    let chains: Vec<&String> = all.as_object().unwrap().keys().collect();
    assert_eq!(chains.len(), w.state.networks.len());
    for caps in all.as_object().unwrap().values() {
        assert_eq!(caps, &json!({"atomic": {"status": "unsupported"}}));
    }
    // Asked for some chains: those Tandem has, an unknown one left out.
    let some = result(req(
        &mut w,
        "wallet_getCapabilities",
        json!([A0, ["0x7a69", "0x2105", "0x99999"]]),
    ));
    assert_eq!(
        some,
        json!({"0x7a69": {"atomic": {"status": "unsupported"}}, "0x2105": {"atomic": {"status": "unsupported"}}})
    );
    // An account the site is not connected to, or a site not connected at all: 4100.
    assert_eq!(
        error(&req(&mut w, "wallet_getCapabilities", json!([A1]))).0,
        4100
    );
    assert_eq!(
        error(&req_from(
            &mut w,
            OTHER,
            "wallet_getCapabilities",
            json!([A0])
        ))
        .0,
        4100
    );
    assert_eq!(
        error(&req(&mut w, "wallet_getCapabilities", json!([]))).0,
        -32602
    );
    assert_eq!(
        error(&req(&mut w, "wallet_getCapabilities", json!([A0, "0x1"]))).0,
        -32602
    );
    assert_eq!(
        error(&req(
            &mut w,
            "wallet_getCapabilities",
            json!([A0, ["0x01"]])
        ))
        .0,
        -32602
    );
}

#[test]
fn send_calls_is_checked_strictly_with_the_codes_of_eip_5792() {
    let mut w = connected();
    let cases: Vec<(Value, i64, &str)> = vec![
        (json!([]), -32602, "wallet_sendCalls takes"),
        (
            bundle(json!({"version": "1.0"})),
            -32602,
            "version must be \"2.0.0\"",
        ),
        (
            bundle(json!({"chainId": "0x07a69"})),
            -32602,
            "leading zeros",
        ),
        (
            bundle(json!({"chainId": "0x5"})),
            5710,
            "no network with chain id 0x5",
        ),
        (bundle(json!({"from": A1})), 4100, "not connected to"),
        (
            bundle(json!({"atomicRequired": true})),
            5760,
            "atomic execution not supported",
        ),
        (
            bundle(json!({"atomicRequired": "no"})),
            -32602,
            "atomicRequired must be",
        ),
        (
            bundle(json!({"capabilities": {"paymasterService": {"url": "https://pm"}}})),
            5700,
            "capability `paymasterService`",
        ),
        (
            bundle(json!({"capabilities": {"paymasterService": {"optional": false}}})),
            5700,
            "paymasterService",
        ),
        (bundle(json!({"calls": []})), -32602, "at least one call"),
        (
            bundle(json!({"calls": vec![json!({"to": A1}); MAX_CALLS + 1]})),
            5740,
            "at most 10 calls; this one has 11",
        ),
        (
            bundle(json!({"calls": [{"to": A1}, 5]})),
            -32602,
            "call 2: a call is an object",
        ),
        (
            bundle(json!({"calls": [{"to": "0x12"}]})),
            -32602,
            "call 1: to must be 20 bytes",
        ),
        (
            bundle(json!({"calls": [{"to": A1, "value": 5}]})),
            -32602,
            "call 1: value must be",
        ),
        (
            bundle(json!({"calls": [{"to": A1, "value": "0xzz"}]})),
            -32602,
            "call 1:",
        ),
        (
            bundle(json!({"calls": [{"to": A1, "data": "0x1"}]})),
            -32602,
            "call 1:",
        ),
        (
            bundle(json!({"calls": [{"to": A1, "gas": "0x5208"}]})),
            -32602,
            "call 1: a call has no field `gas`",
        ),
        (
            bundle(json!({"calls": [{"value": "0x1"}]})),
            -32602,
            "needs `to` or `data`",
        ),
        (
            bundle(json!({"calls": [{"to": A1, "capabilities": {"x": {}}}]})),
            5700,
            "call 1: Tandem does not support the capability `x`",
        ),
        (
            bundle(json!({"gasless": true})),
            -32602,
            "no field `gasless`",
        ),
        (
            bundle(json!({"id": "bundle-1"})),
            -32602,
            "id must be 0x-prefixed hex",
        ),
        (
            bundle(json!({"id": format!("0x{}", "ab".repeat(4097))})),
            -32602,
            "at most 4096 bytes",
        ),
    ];
    for (params, want, text) in cases {
        let (code, message) = error(&req(&mut w, "wallet_sendCalls", params.clone()));
        assert_eq!(code, want, "{params}: {message}");
        assert!(
            message.contains(text),
            "{params}: {message:?} lacks {text:?}"
        );
    }
    // Not one of them queued anything.
    assert!(w.session.approvals.is_empty());
    // A site that is not connected gets 4100.
    assert_eq!(
        error(&req_from(
            &mut w,
            OTHER,
            "wallet_sendCalls",
            bundle(json!({}))
        ))
        .0,
        4100
    );
    // Optional capabilities are gone without; `from` left out is the site's account.
    let mut p =
        bundle(json!({"capabilities": {"paymasterService": {"url": "x", "optional": true}}}));
    p[0].as_object_mut().unwrap().remove("from");
    assert!(matches!(
        req(&mut w, "wallet_sendCalls", p),
        Outcome::Approval { .. }
    ));
}

#[test]
fn one_approval_lists_every_call_with_its_chain_and_total() {
    let mut w = connected();
    let id = match req(&mut w, "wallet_sendCalls", bundle(json!({}))) {
        Outcome::Approval { id, .. } => id,
        o => panic!("{o:?}"),
    };
    let a = w.session.approval(id).unwrap();
    assert_eq!(a.kind, ApprovalKind::Calls);
    let d = &a.display;
    assert_eq!(d["chain"]["chainId"], 31337);
    assert_eq!(d["total"], "0xde0b6b3a7640000");
    let calls = d["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["value"], "0xde0b6b3a7640000");
    assert_eq!(calls[1]["call"]["function"], "transfer");
    assert_eq!(calls[1]["to"], TOKEN);
    // Every call is from the approved account, on the bundle's chain.
    for tx in a.request["calls"].as_array().unwrap() {
        assert_eq!(tx["chainId"], "0x7a69");
        assert_eq!(
            tx["from"].as_str().unwrap().to_lowercase(),
            A0.to_lowercase()
        );
    }
    // Warnings are the transaction decoder's: an unlimited approval is named.
    let approve = format!(
        "0x095ea7b3{:0>64}{}",
        &A1[2..].to_lowercase(),
        "f".repeat(64)
    );
    let p = bundle(json!({"id": "0x02", "calls": [{"to": TOKEN, "data": approve}]}));
    let id = match req(&mut w, "wallet_sendCalls", p) {
        Outcome::Approval { id, .. } => id,
        o => panic!("{o:?}"),
    };
    let d = &w.session.approval(id).unwrap().display;
    assert!(d["calls"][0]["warnings"][0]
        .as_str()
        .unwrap()
        .starts_with("unlimited token approval"));
}

#[test]
fn rejecting_the_bundle_sends_nothing_and_gives_4001() {
    let mut w = connected();
    let id = match req(&mut w, "wallet_sendCalls", bundle(json!({}))) {
        Outcome::Approval { id, .. } => id,
        o => panic!("{o:?}"),
    };
    match w
        .resolve(id, false, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap()
    {
        Resolution::Error { error, .. } => assert_eq!(error["code"], 4001),
        r => panic!("{r:?}"),
    }
    assert!(w.bundles.0.is_empty());
    assert!(work(&mut w, true).is_empty());
}

#[test]
fn ids_are_random_or_the_sites_and_never_reused_by_one_site() {
    let mut w = connected();
    let id = approved(&mut w, bundle(json!({})));
    assert_eq!(id, format!("0x{}", "07".repeat(32)));
    // The same id again from this site: 5720 (it was generated or chosen).
    let again = error(&req(
        &mut w,
        "wallet_sendCalls",
        bundle(json!({ "id": id })),
    ));
    assert_eq!(again.0, 5720, "{again:?}");
    let mine = approved(&mut w, bundle(json!({"id": "0xabcd"})));
    assert_eq!(mine, "0xabcd");
    // Waiting for approval counts too.
    assert!(matches!(
        req(&mut w, "wallet_sendCalls", bundle(json!({"id": "0xbeef"}))),
        Outcome::Approval { .. }
    ));
    assert_eq!(
        error(&req(
            &mut w,
            "wallet_sendCalls",
            bundle(json!({"id": "0xbeef"}))
        ))
        .0,
        5720
    );
    // Without randomness and without an id of its own, no bundle is named.
    let o = w.request_with(
        ORIGIN,
        &json!({"method": "wallet_sendCalls", "params": bundle(json!({}))}),
        true,
        json!({"tab": 1}),
        NOW,
        None,
    );
    assert_eq!(error(&o).0, -32602);
}

#[test]
fn calls_go_one_at_a_time_and_the_status_follows_them() {
    let mut w = connected();
    let id = approved(&mut w, bundle(json!({})));
    let s = status(&mut w, &id);
    assert_eq!(s["version"], "2.0.0");
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["chainId"], "0x7a69");
    assert_eq!(s["atomic"], false);
    assert_eq!(s["status"], 100);
    assert_eq!(s["receipts"], json!([]));

    // The first call is filled (from the node), nothing of the second yet.
    let w0 = work(&mut w, true);
    assert_eq!(w0.len(), 1);
    assert_eq!(w0[0]["type"], "fill");
    assert_eq!(w0[0]["index"], 0);
    assert_eq!(w0[0]["origin"], ORIGIN);
    // The second call cannot move before the first is mined.
    let early = step(&mut w, &id, 1, json!({ "filled": fill() }));
    assert!(early
        .unwrap_err()
        .to_string()
        .contains("not the one under way"));

    let h0 = run_call(&mut w, &id, 0, None);
    let w1 = work(&mut w, true);
    assert_eq!(w1[0]["type"], "receipt");
    assert_eq!(w1[0]["hash"], h0.as_str());
    assert_eq!(status(&mut w, &id)["status"], 100);
    // A receipt for another transaction is refused.
    let wrong = step(&mut w, &id, 0, json!({ "receipt": receipt("0x99", true) }));
    assert!(wrong.is_err());
    step(&mut w, &id, 0, json!({ "receipt": receipt(&h0, true) })).unwrap();
    let s = status(&mut w, &id);
    assert_eq!(s["status"], 100);
    assert_eq!(s["receipts"].as_array().unwrap().len(), 1);

    assert_eq!(work(&mut w, true)[0]["index"], 1);
    let h1 = run_call(&mut w, &id, 1, Some(true));
    let s = status(&mut w, &id);
    assert_eq!(s["status"], 200);
    let receipts = s["receipts"].as_array().unwrap();
    assert_eq!(receipts.len(), 2);
    assert_eq!(receipts[0]["transactionHash"], h0.as_str());
    assert_eq!(receipts[1]["transactionHash"], h1.as_str());
    // Only the fields EIP-5792 lists.
    assert_eq!(
        receipts[1],
        json!({
            "logs": [{"address": TOKEN, "data": "0x01", "topics": ["0xdd"]}],
            "status": "0x1", "blockHash": "0xbb", "blockNumber": "0x10", "gasUsed": "0x5208",
            "transactionHash": h1,
        })
    );
    assert!(work(&mut w, true).is_empty(), "finished");
}

#[test]
fn a_signed_call_is_only_sent_again_as_the_same_bytes() {
    let mut w = connected();
    let id = approved(&mut w, bundle(json!({})));
    step(&mut w, &id, 0, json!({ "filled": fill() })).unwrap();
    step(
        &mut w,
        &id,
        0,
        json!({"signed": {"raw": "0x02aa", "hash": "0x01"}}),
    )
    .unwrap();
    // The worker restarts here: what it stored is all it has.
    let mut w = Worker {
        w: Wallet::load(&w.state.to_json(), &w.session.to_json()).unwrap(),
        bundles: Bundles::from_json(&w.bundles.to_json()).unwrap(),
    };
    let again = work(&mut w, true);
    assert_eq!(again[0]["type"], "send");
    assert_eq!(again[0]["raw"], "0x02aa");
    assert_eq!(again[0]["transaction"]["nonce"], "0x5");
    // Never filled (given a nonce) or signed a second time.
    assert!(step(&mut w, &id, 0, json!({ "filled": fill() })).is_err());
    let resign = step(
        &mut w,
        &id,
        0,
        json!({"signed": {"raw": "0x02bb", "hash": "0x02"}}),
    );
    assert!(resign.is_err());
    // Even locked, a signed call is sent; once sent, only its receipt decides.
    assert_eq!(work(&mut w, false)[0]["type"], "send");
    step(&mut w, &id, 0, json!({"sent": true})).unwrap();
    assert!(step(&mut w, &id, 0, json!({"error": "late"})).is_err());
    assert_eq!(work(&mut w, false)[0]["type"], "receipt");
}

#[test]
fn a_failure_stops_the_rest_with_the_status_of_eip_5792() {
    // The first call reverts: 500, the second is never sent.
    let mut w = connected();
    let id = approved(&mut w, bundle(json!({})));
    run_call(&mut w, &id, 0, Some(false));
    assert!(work(&mut w, true).is_empty());
    let s = status(&mut w, &id);
    assert_eq!(s["status"], 500);
    assert_eq!(s["receipts"].as_array().unwrap().len(), 1);
    assert!(step(&mut w, &id, 1, json!({ "filled": fill() })).is_err());

    // The second call reverts after the first took effect: 600.
    let id = approved(&mut w, bundle(json!({"id": "0x02"})));
    run_call(&mut w, &id, 0, Some(true));
    run_call(&mut w, &id, 1, Some(false));
    assert_eq!(status(&mut w, &id)["status"], 600);

    // The node refuses the first call (it would revert): 400, nothing sent.
    let id = approved(&mut w, bundle(json!({"id": "0x03"})));
    step(&mut w, &id, 0, json!({"error": "execution reverted"})).unwrap();
    let s = status(&mut w, &id);
    assert_eq!(s["status"], 400);
    assert_eq!(s["receipts"], json!([]));

    // Locked before the second call was signed: it fails unsent, 600.
    let id = approved(&mut w, bundle(json!({"id": "0x04"})));
    run_call(&mut w, &id, 0, Some(true));
    let out = w.calls_work(false);
    assert_eq!(out["changed"], true);
    assert_eq!(out["work"], json!([]));
    assert_eq!(status(&mut w, &id)["status"], 600);

    // Its network removed before the first was sent: 400.
    let id = approved(&mut w, bundle(json!({"id": "0x05"})));
    w.state.select_network(1).unwrap();
    w.state.networks.retain(|n| n.chain_id != 31337);
    w.calls_work(true);
    assert_eq!(status(&mut w, &id)["status"], 400);
}

#[test]
fn status_codes_map_every_case() {
    let ok = json!({"receipt": {"status": "0x1"}});
    let bad = json!({"receipt": {"status": "0x0"}});
    let off = json!({"error": "refused"});
    let todo = json!({"tx": {}});
    let cases = [
        (vec![todo.clone(), todo.clone()], 100, Some(0)),
        (vec![ok.clone(), todo.clone()], 100, Some(1)),
        (vec![ok.clone(), ok.clone()], 200, None),
        (vec![off.clone(), todo.clone()], 400, None),
        (vec![bad.clone(), todo.clone()], 500, None),
        (vec![ok.clone(), bad.clone()], 600, None),
        (vec![ok.clone(), off.clone(), todo.clone()], 600, None),
    ];
    for (calls, code, next) in cases {
        assert_eq!(status_code(&calls), code, "{calls:?}");
        assert_eq!(next_index(&calls), next, "{calls:?}");
    }
}

#[test]
fn another_site_cannot_read_a_bundle_status_or_move_its_calls() {
    let mut w = connected();
    let id = approved(&mut w, bundle(json!({})));
    // Connected or not, another origin is told the bundle does not exist.
    let (code, message) = error(&req_from(
        &mut w,
        OTHER,
        "wallet_getCallsStatus",
        json!([id]),
    ));
    assert_eq!(code, 5730);
    assert!(message.contains("no call bundle with this id"));
    assert_eq!(
        error(&req(&mut w, "wallet_getCallsStatus", json!(["0x1234"]))).0,
        5730
    );
    assert_eq!(
        error(&req(&mut w, "wallet_getCallsStatus", json!([]))).0,
        -32602
    );
    assert!(w
        .calls_step(OTHER, &id, 0, &json!({ "filled": fill() }))
        .is_err());
    // Another site choosing the same id gets its own bundle.
    let mut w2 = w.clone();
    w2.state.grant(OTHER, vec![A0.parse().unwrap()], NOW);
    assert!(matches!(
        req_from(
            &mut w2,
            OTHER,
            "wallet_sendCalls",
            bundle(json!({ "id": id }))
        ),
        Outcome::Approval { .. }
    ));
}

#[test]
fn a_bundle_the_phone_must_confirm_is_refused_with_4200() {
    let mut w = connected();
    // The phone confirms more than 0.1 ETH; the bundle sends 1 ETH.
    w.state.phone = Some(json!({
        "policy": {"connect": false, "value_above_milli": 100, "approvals": true,
                   "add_network": false, "timeout_secs": 120},
        "owner": "aa", "setAt": 1
    }));
    let (code, message) = error(&req(&mut w, "wallet_sendCalls", bundle(json!({}))));
    assert_eq!(code, 4200);
    assert!(message.contains("your phone confirms one of these calls"));
    assert!(w.session.approvals.is_empty());
    // Small calls are not the phone's: the bundle waits for the user.
    let small = bundle(json!({"calls": [{"to": A1, "value": "0x1"}]}));
    let id = match req(&mut w, "wallet_sendCalls", small) {
        Outcome::Approval { id, .. } => id,
        o => panic!("{o:?}"),
    };
    // The policy tightened while it waited: approving is refused, the approval stays.
    w.state.phone.as_mut().unwrap()["policy"]["value_above_milli"] = json!(0);
    let err = w
        .resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap_err();
    assert_eq!(err.code(), 4200);
    assert!(w.session.approval(id).is_ok());
}

#[test]
fn finished_bundles_are_kept_a_day_and_bounded() {
    let mut w = connected();
    let first = approved(&mut w, bundle(json!({"id": "0x01"})));
    step(&mut w, &first, 0, json!({"error": "refused"})).unwrap();
    // A day later, a new bundle: the finished one is gone.
    let mut w2 = w.clone();
    let id = match w2.request_with(
        ORIGIN,
        &json!({"method": "wallet_sendCalls", "params": bundle(json!({}))}),
        true,
        json!({"tab": 1}),
        NOW + tandem_wallet::calls::KEEP_MS,
        Some(ENTROPY),
    ) {
        Outcome::Approval { id, .. } => id,
        o => panic!("{o:?}"),
    };
    w2.resolve(
        id,
        true,
        &Edits::default(),
        true,
        NOW + tandem_wallet::calls::KEEP_MS,
        "",
        [0; 16],
    )
    .unwrap();
    assert_eq!(w2.bundles.0.len(), 1);
    assert_eq!(
        error(&req(&mut w2, "wallet_getCallsStatus", json!([first]))).0,
        5730
    );
    // Within the day it answers.
    assert_eq!(status(&mut w, &first)["status"], 400);
    // At most MAX_BUNDLES finished ones are kept.
    for i in 0..tandem_wallet::calls::MAX_BUNDLES + 5 {
        let id = approved(&mut w, bundle(json!({ "id": format!("0x1{i:03}") })));
        step(&mut w, &id, 0, json!({"error": "refused"})).unwrap();
    }
    assert_eq!(w.bundles.0.len(), tandem_wallet::calls::MAX_BUNDLES);
}

/// `rpcBatch`'s shape (`[{ result } | { error }]`) of checked answers.
fn as_answers(checked: Vec<Result<Value, Value>>) -> Value {
    checked
        .into_iter()
        .map(|r| match r {
            Ok(result) => json!({ "result": result }),
            Err(error) => json!({ "error": error }),
        })
        .collect()
}

#[test]
fn a_call_is_filled_from_one_batch_to_its_networks_node_and_a_refusal_stops_the_bundle() {
    let mut w = connected();
    let id = approved(&mut w, bundle(json!({})));
    let item = work(&mut w, true).remove(0);
    assert_eq!(item["type"], "fill");
    // One batch to the node of the bundle's chain (31337): the calls the
    // approval window's fill asks, the gas estimated for the call itself.
    let url = item["url"].as_str().unwrap().to_owned();
    assert_eq!(item["batch"]["url"], url.as_str());
    let requests: Vec<Value> = item["batch"]["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str(r.as_str().unwrap()).unwrap())
        .collect();
    let methods: Vec<_> = requests
        .iter()
        .map(|r| r["method"].as_str().unwrap())
        .collect();
    assert_eq!(
        methods,
        [
            "eth_getTransactionCount",
            "eth_getBlockByNumber",
            "eth_maxPriorityFeePerGas",
            "eth_gasPrice",
            "eth_estimateGas"
        ]
    );
    assert_eq!(requests[0]["params"][1], "pending");
    assert!(requests[0]["params"][0]
        .as_str()
        .unwrap()
        .eq_ignore_ascii_case(A0));
    assert!(requests[4]["params"][0]["to"]
        .as_str()
        .unwrap()
        .eq_ignore_ascii_case(A1));
    assert_eq!(requests[4]["params"][0]["value"], "0xde0b6b3a7640000");

    // The node could not be reached: nothing changes, the call is filled later.
    let unreached = as_answers(tandem_wallet::rpc::batch_answers(5, &Value::Null, &url).unwrap());
    assert_eq!(
        step(&mut w, &id, 0, json!({ "answers": unreached })).unwrap(),
        false
    );
    assert_eq!(work(&mut w, true)[0]["type"], "fill");
    assert_eq!(status(&mut w, &id)["status"], 100);

    // The node's answers (one body, in any order) fill the call.
    let body = json!([
        {"jsonrpc": "2.0", "id": 2, "result": {"number": "0x10", "baseFeePerGas": "0x3b9aca00"}},
        {"jsonrpc": "2.0", "id": 1, "result": "0x7"},
        {"jsonrpc": "2.0", "id": 4, "result": "0x77359400"},
        {"jsonrpc": "2.0", "id": 3, "result": "0x3b9aca00"},
        {"jsonrpc": "2.0", "id": 5, "result": "0x5208"},
    ]);
    let answers = as_answers(
        tandem_wallet::rpc::batch_answers(5, &Value::String(body.to_string()), &url).unwrap(),
    );
    let tx = step(&mut w, &id, 0, json!({ "answers": answers })).unwrap();
    assert_eq!(tx["nonce"], "0x7");
    assert_eq!(tx["chainId"], "0x7a69");
    assert!(tx["gas"].is_string(), "{tx}");
    // Filled once: the same answers again are refused once it is signed.
    step(
        &mut w,
        &id,
        0,
        json!({"signed": {"raw": "0x02aa", "hash": format!("0x{:064x}", 1)}}),
    )
    .unwrap();
    let again = step(&mut w, &id, 0, json!({ "answers": answers }));
    assert!(again
        .unwrap_err()
        .to_string()
        .contains("only those bytes are sent"));
    step(&mut w, &id, 0, json!({"sent": true})).unwrap();
    step(
        &mut w,
        &id,
        0,
        json!({ "receipt": receipt(&format!("0x{:064x}", 1), true) }),
    )
    .unwrap();

    // The second call would revert: the node refuses its gas estimate. The
    // call fails unsent with the node's words, and the bundle stops (600:
    // the first took effect).
    let item = work(&mut w, true).remove(0);
    assert_eq!(
        (item["type"].as_str(), item["index"].as_u64()),
        (Some("fill"), Some(1))
    );
    let body = json!([
        {"jsonrpc": "2.0", "id": 1, "result": "0x8"},
        {"jsonrpc": "2.0", "id": 2, "result": {"baseFeePerGas": "0x3b9aca00"}},
        {"jsonrpc": "2.0", "id": 3, "result": "0x3b9aca00"},
        {"jsonrpc": "2.0", "id": 4, "result": "0x77359400"},
        {"jsonrpc": "2.0", "id": 5, "error": {"code": 3, "message": "execution reverted: ERC20: transfer amount exceeds balance", "data": "0x08c379a0"}},
    ]);
    let answers = as_answers(
        tandem_wallet::rpc::batch_answers(5, &Value::String(body.to_string()), &url).unwrap(),
    );
    assert_eq!(
        step(&mut w, &id, 1, json!({ "answers": answers })).unwrap(),
        Value::Null
    );
    assert!(work(&mut w, true).is_empty());
    let s = status(&mut w, &id);
    assert_eq!(s["status"], 600);
    assert_eq!(s["receipts"].as_array().unwrap().len(), 1);
}
