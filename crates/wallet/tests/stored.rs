//! Stored state is checked on every boot, not trusted (issue 13, item 10):
//! whoever could write `chrome.storage.local` (a content script, before the
//! worker restricted the area to the extension's own pages; another program
//! with the profile) must not be able to plant a network that sends over
//! plain http, a connection for a site, or settings the UI would refuse.
#![allow(clippy::unwrap_used)]

mod common;

use common::{wallet, A0, ORIGIN};
use serde_json::{json, Value};
use tandem_wallet::State;

/// A real stored state: anvil's accounts, a connected site, a custom network.
fn stored() -> Value {
    let mut w = wallet();
    w.state.sites.push(tandem_wallet::Site {
        origin: ORIGIN.into(),
        accounts: vec![A0.parse().unwrap()],
        connected_at: common::NOW,
    });
    serde_json::from_str(&w.state.to_json()).unwrap()
}

fn refused(v: &Value) -> String {
    match State::from_json(&v.to_string()) {
        Err(e) => {
            assert_eq!(e.kind(), "Corrupt", "{e}");
            e.to_string()
        }
        Ok(_) => panic!("accepted: {v}"),
    }
}

#[test]
fn a_stored_state_as_the_wallet_writes_it_is_accepted() {
    let v = stored();
    let s = State::from_json(&v.to_string()).unwrap();
    assert_eq!(s.sites.len(), 1);
    let back: Value = serde_json::from_str(&s.to_json()).unwrap();
    assert_eq!(back, v, "reads back exactly");
}

/// What a case plants in the stored JSON.
type Plant = Box<dyn Fn(&mut Value)>;

#[test]
fn planted_stored_state_is_refused_with_the_reason() {
    let cases: Vec<(&str, Plant, &str)> = vec![
        (
            "plain-http RPC for mainnet",
            Box::new(|v| v["networks"][0]["rpcUrl"] = json!("http://rpc.attacker.example")),
            "https",
        ),
        (
            "a network twice",
            Box::new(|v| {
                let first = v["networks"][0].clone();
                v["networks"].as_array_mut().unwrap().push(first);
            }),
            "twice",
        ),
        (
            "selected network missing",
            Box::new(|v| v["chainId"] = json!(999)),
            "selected network",
        ),
        (
            "a site with a javascript: origin",
            Box::new(|v| v["sites"][0]["origin"] = json!("javascript:alert(1)")),
            "http(s)",
        ),
        (
            "a sandboxed frame's opaque origin",
            Box::new(|v| v["sites"][0]["origin"] = json!("null")),
            "sandboxed",
        ),
        (
            "a site connected to an account this wallet does not have",
            Box::new(|v| {
                v["sites"][0]["accounts"] = json!(["0x000000000000000000000000000000000000dEaD"])
            }),
            "unknown account",
        ),
        (
            "an unknown selected account",
            Box::new(|v| v["selected"] = json!("0x000000000000000000000000000000000000dEaD")),
            "selected account",
        ),
        (
            "auto-lock off (0 minutes)",
            Box::new(|v| v["settings"]["autoLockMinutes"] = json!(0)),
            "auto-lock",
        ),
        (
            "a token symbol with a space",
            Box::new(|v| {
                v["assets"] = json!([{
                    "chainId": 1,
                    "address": "0x000000000000000000000000000000000000dEaD",
                    "symbol": "US DC",
                    "decimals": 6
                }])
            }),
            "symbol",
        ),
    ];
    for (what, plant, reason) in cases {
        let mut v = stored();
        plant(&mut v);
        let e = refused(&v);
        assert!(e.contains("stored state refused"), "{what}: {e}");
        assert!(e.contains(reason), "{what}: {e}");
    }
}
