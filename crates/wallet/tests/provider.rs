//! The controller's behaviour as a dapp and the approval page see it.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use serde_json::{json, Value};
use tandem_wallet::display::{self, AddChainView, SwitchChainView};
use tandem_wallet::{
    ApprovalKind, Edits, Fill, Network, Outcome, Resolution, Session, State, TxStatus, Wallet,
};

mod common;
use common::{rpc_agrees, wallet, A0, A1, NOW, ORIGIN};

const OTHER: &str = "https://other.example";

fn req(w: &mut Wallet, method: &str, params: Value) -> Outcome {
    w.request(
        ORIGIN,
        &json!({"method": method, "params": params}),
        true,
        json!({"tab": 1}),
        NOW,
    )
}

fn result(o: Outcome) -> Value {
    match o {
        Outcome::Result { result, .. } => result,
        other => panic!("expected a result, got {other:?}"),
    }
}

fn code(o: &Outcome) -> i64 {
    match o {
        Outcome::Error { error } => error["code"].as_i64().unwrap(),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn approval(o: Outcome) -> (u64, ApprovalKind) {
    match o {
        Outcome::Approval { id, kind, .. } => (id, kind),
        other => panic!("expected an approval, got {other:?}"),
    }
}

fn connect(w: &mut Wallet) {
    let (id, kind) = approval(req(w, "eth_requestAccounts", json!([])));
    assert_eq!(kind, ApprovalKind::Connect);
    w.resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap();
}

#[test]
fn chain_id_and_net_version_follow_the_selected_network() {
    let mut w = wallet();
    assert_eq!(result(req(&mut w, "eth_chainId", json!([]))), json!("0x1"));
    w.state.select_network(31337).unwrap();
    assert_eq!(
        result(req(&mut w, "eth_chainId", json!([]))),
        json!("0x7a69")
    );
    assert_eq!(
        result(req(&mut w, "net_version", Value::Null)),
        json!("31337")
    );
}

#[test]
fn default_networks_are_the_ones_the_issue_lists() {
    let ids: Vec<u64> = State::default()
        .networks
        .iter()
        .map(|n| n.chain_id)
        .collect();
    assert_eq!(ids, [1, 11_155_111, 8453, 10, 42161, 137, 31337]);
}

#[test]
fn malformed_requests_get_specific_codes() {
    let mut w = wallet();
    let bad = |w: &mut Wallet, r: Value| code(&w.request(ORIGIN, &r, true, Value::Null, NOW));
    assert_eq!(bad(&mut w, json!("eth_chainId")), -32600);
    assert_eq!(bad(&mut w, json!({"params": []})), -32600);
    assert_eq!(bad(&mut w, json!({"method": 7})), -32600);
    assert_eq!(bad(&mut w, json!({"method": "eth_chainId\u{0}"})), -32600);
    assert_eq!(bad(&mut w, json!({"method": "x".repeat(65)})), -32600);
    assert_eq!(
        bad(&mut w, json!({"method": "eth_chainId", "params": "x"})),
        -32602
    );
    assert_eq!(
        bad(&mut w, json!({"method": "personal_sign", "params": [1]})),
        -32602
    );
    assert_eq!(
        bad(
            &mut w,
            json!({"method": "wallet_switchEthereumChain", "params": [{"chainId": "1"}]})
        ),
        -32602
    );
    assert_eq!(
        bad(
            &mut w,
            json!({"method": "wallet_switchEthereumChain", "params": [{"chainId": "0x01"}]})
        ),
        -32602
    );
    assert_eq!(bad(&mut w, json!({"method": "eth_mine"})), 4200);
    assert_eq!(
        bad(
            &mut w,
            json!({"method": "eth_sign", "params": [A0, "0x00"]})
        ),
        4200
    );
}

#[test]
fn only_http_origins_from_the_browser_are_served() {
    let mut w = wallet();
    for origin in [
        "",
        "null",
        "chrome-extension://abc",
        "file://",
        "https://a.example/path",
        "javascript:alert(1)",
    ] {
        let o = w.request(
            origin,
            &json!({"method": "eth_chainId"}),
            true,
            Value::Null,
            NOW,
        );
        assert_eq!(code(&o), 4100, "{origin}");
    }
    // A sandboxed frame is told why.
    let o = w.request(
        "null",
        &json!({"method": "eth_accounts"}),
        true,
        Value::Null,
        NOW,
    );
    assert!(format!("{o:?}").contains("sandboxed frame"), "{o:?}");
}

#[test]
fn read_only_methods_go_to_the_current_rpc() {
    let mut w = wallet();
    w.state.select_network(31337).unwrap();
    match req(&mut w, "eth_getBalance", json!([A0, "latest"])) {
        Outcome::Rpc {
            url,
            method,
            params,
        } => {
            assert_eq!(url, "http://127.0.0.1:8545");
            assert_eq!(method, "eth_getBalance");
            assert_eq!(params, json!([A0, "latest"]));
        }
        o => panic!("{o:?}"),
    }
}

#[test]
fn connect_needs_approval_then_accounts_are_visible_to_that_origin_only() {
    let mut w = wallet();
    assert_eq!(result(req(&mut w, "eth_accounts", json!([]))), json!([]));
    let (id, _) = approval(req(&mut w, "eth_requestAccounts", json!([])));
    // A second request while the first waits is refused, as MetaMask does.
    assert_eq!(code(&req(&mut w, "eth_requestAccounts", json!([]))), -32002);
    match w
        .resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap()
    {
        Resolution::Reply {
            result,
            reply_to,
            changed,
        } => {
            assert_eq!(result, json!([A0.to_lowercase()]));
            assert_eq!(reply_to, json!({"tab": 1}));
            assert!(changed);
        }
        r => panic!("{r:?}"),
    }
    assert_eq!(
        result(req(&mut w, "eth_accounts", json!([]))),
        json!([A0.to_lowercase()])
    );
    // Already connected: answered at once.
    assert_eq!(
        result(req(&mut w, "eth_requestAccounts", json!([]))),
        json!([A0.to_lowercase()])
    );
    let other = w.request(
        OTHER,
        &json!({"method": "eth_accounts"}),
        true,
        Value::Null,
        NOW,
    );
    assert_eq!(result(other), json!([]));
    // Locked: no accounts are revealed.
    let locked = w.request(
        ORIGIN,
        &json!({"method": "eth_accounts"}),
        false,
        Value::Null,
        NOW,
    );
    assert_eq!(result(locked), json!([]));
}

#[test]
fn the_user_may_share_chosen_accounts_and_the_active_one_comes_first() {
    let mut w = wallet();
    let (id, _) = approval(req(&mut w, "eth_requestAccounts", json!([])));
    let edits: Edits = serde_json::from_value(json!({"accounts": [A0, A1]})).unwrap();
    w.resolve(id, true, &edits, true, NOW, "", [0; 16]).unwrap();
    w.state.select(A1.parse().unwrap()).unwrap();
    assert_eq!(
        result(req(&mut w, "eth_accounts", json!([]))),
        json!([A1.to_lowercase(), A0.to_lowercase()])
    );
    let unknown: Edits =
        serde_json::from_value(json!({"accounts": ["0x0000000000000000000000000000000000000001"]}))
            .unwrap();
    let (id, _) = approval(req(
        &mut w,
        "wallet_requestPermissions",
        json!([{"eth_accounts": {}}]),
    ));
    assert!(w
        .resolve(id, true, &unknown, true, NOW, "", [0; 16])
        .is_err());
    assert!(
        w.session.approval(id).is_ok(),
        "a bad edit leaves the approval pending"
    );
}

#[test]
fn rejection_answers_4001() {
    let mut w = wallet();
    let (id, _) = approval(req(&mut w, "eth_requestAccounts", json!([])));
    match w
        .resolve(id, false, &Edits::default(), false, NOW, "", [0; 16])
        .unwrap()
    {
        Resolution::Error { error, .. } => assert_eq!(error["code"], 4001),
        r => panic!("{r:?}"),
    }
    assert!(w.session.approvals.is_empty());
    assert!(
        w.resolve(id, false, &Edits::default(), true, NOW, "", [0; 16])
            .is_err(),
        "answered once only"
    );
}

#[test]
fn eip2255_get_request_and_revoke() {
    let mut w = wallet();
    assert_eq!(
        result(req(&mut w, "wallet_getPermissions", json!([]))),
        json!([])
    );
    assert_eq!(
        code(&req(
            &mut w,
            "wallet_requestPermissions",
            json!([{"eth_sign": {}}])
        )),
        -32602
    );
    let (id, _) = approval(req(
        &mut w,
        "wallet_requestPermissions",
        json!([{"eth_accounts": {}}]),
    ));
    let r = w
        .resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap();
    let Resolution::Reply { result: perms, .. } = r else {
        panic!()
    };
    assert_eq!(perms[0]["parentCapability"], "eth_accounts");
    assert_eq!(perms[0]["invoker"], ORIGIN);
    assert_eq!(perms[0]["caveats"][0]["value"], json!([A0.to_lowercase()]));
    assert_eq!(
        result(req(&mut w, "wallet_getPermissions", json!([])))[0]["parentCapability"],
        "eth_accounts"
    );
    match req(
        &mut w,
        "wallet_revokePermissions",
        json!([{"eth_accounts": {}}]),
    ) {
        Outcome::Result { result, changed } => {
            assert_eq!(result, Value::Null);
            assert!(changed);
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(result(req(&mut w, "eth_accounts", json!([]))), json!([]));
    assert_eq!(
        code(&req(&mut w, "personal_sign", json!(["0x68656c6c6f", A0]))),
        4100
    );
}

#[test]
fn personal_sign_needs_a_connected_account_and_shows_the_text() {
    let mut w = wallet();
    assert_eq!(
        code(&req(&mut w, "personal_sign", json!(["0x68656c6c6f", A0]))),
        4100
    );
    connect(&mut w);
    assert_eq!(
        code(&req(&mut w, "personal_sign", json!(["0x68656c6c6f", A1]))),
        4100
    );
    let (id, kind) = approval(req(&mut w, "personal_sign", json!(["0x68656c6c6f", A0])));
    assert_eq!(kind, ApprovalKind::PersonalSign);
    let a = w.session.approval(id).unwrap();
    assert_eq!(a.display["text"], "hello");
    assert_eq!(a.display["hex"], "0x68656c6c6f");
    // Approving needs the keyring open.
    assert!(w
        .resolve(id, true, &Edits::default(), false, NOW, "", [0; 16])
        .is_err());
    match w
        .resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap()
    {
        Resolution::SignPersonal {
            address, message, ..
        } => {
            assert_eq!(address.to_checksum(None), A0);
            assert_eq!(message, "0x68656c6c6f");
        }
        r => panic!("{r:?}"),
    }
}

#[test]
fn permissions_name_no_address_while_locked() {
    let mut w = wallet();
    connect(&mut w);
    let ask = |w: &mut Wallet, unlocked: bool| {
        let o = w.request(
            ORIGIN,
            &json!({"method": "wallet_getPermissions", "params": []}),
            unlocked,
            json!({"tab": 1}),
            NOW,
        );
        result(o)
    };
    let open = ask(&mut w, true);
    assert_eq!(open[0]["parentCapability"], "eth_accounts");
    assert_eq!(open[0]["caveats"][0]["value"], json!([A0.to_lowercase()]));
    let locked = ask(&mut w, false);
    assert_eq!(locked[0]["parentCapability"], "eth_accounts");
    assert_eq!(locked[0]["caveats"][0]["value"], json!([]));
    assert!(!locked
        .to_string()
        .to_lowercase()
        .contains(&A0[2..].to_lowercase()));
}

#[test]
fn personal_sign_takes_the_address_first_too() {
    // Many dapps send [address, message]; MetaMask accepts it.
    let mut w = wallet();
    connect(&mut w);
    let (id, kind) = approval(req(&mut w, "personal_sign", json!([A0, "0x68656c6c6f"])));
    assert_eq!(kind, ApprovalKind::PersonalSign);
    let a = w.session.approval(id).unwrap();
    assert_eq!(a.display["text"], "hello");
    assert_eq!(a.display["address"], json!(A0.to_lowercase()));
    // Text works in either order too.
    let (id, _) = approval(req(&mut w, "personal_sign", json!([A0, "Sign in"])));
    assert_eq!(w.session.approval(id).unwrap().display["text"], "Sign in");
    // Two addresses: the standard order, [message, address].
    let (id, _) = approval(req(&mut w, "personal_sign", json!([A1, A0])));
    let a = w.session.approval(id).unwrap();
    assert_eq!(a.display["address"], json!(A0.to_lowercase()));
    assert_eq!(a.display["hex"], json!(A1.to_lowercase()));
    // Not connected to the address, whichever place it is in.
    assert_eq!(
        code(&req(&mut w, "personal_sign", json!([A1, "0x68656c6c6f"]))),
        4100
    );
}

#[test]
fn typed_data_v3_is_signed_like_v4_and_v1_is_refused_with_the_reason() {
    let mut w = wallet();
    connect(&mut w);
    let (id, kind) = approval(req(
        &mut w,
        "eth_signTypedData_v3",
        json!([A0, mail(1).to_string()]),
    ));
    assert_eq!(kind, ApprovalKind::TypedData);
    // The EIP-712 example has no arrays: version 3 and 4 hash it alike (the
    // hash MetaMask's eth-sig-util gives for it under both versions).
    assert_eq!(
        w.session.approval(id).unwrap().display["hash"],
        "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"
    );
    // What version 3 cannot express is refused, not hashed as version 4.
    let mut arrays = mail(1);
    arrays["types"]["Mail"][1] = json!({"name": "to", "type": "Person[]"});
    arrays["message"]["to"] = json!([arrays["message"]["to"].clone()]);
    let o = req(&mut w, "eth_signTypedData_v3", json!([A0, arrays]));
    assert_eq!(code(&o), -32602);
    let Outcome::Error { error } = &o else {
        unreachable!()
    };
    assert_eq!(
        error["message"],
        "invalid params: the field `to` of `Mail` is an array (Person[]), which \
         eth_signTypedData_v3 cannot sign; the site should use eth_signTypedData_v4"
    );
    let mut nulls = mail(1);
    nulls["message"]["contents"] = Value::Null;
    assert_eq!(
        code(&req(&mut w, "eth_signTypedData_v3", json!([A0, nulls]))),
        -32602
    );
    for method in ["eth_signTypedData", "eth_signTypedData_v1"] {
        let o = req(
            &mut w,
            method,
            json!([[{"type": "string", "name": "m", "value": "hi"}], A0]),
        );
        assert_eq!(code(&o), 4200);
        let Outcome::Error { error } = &o else {
            unreachable!()
        };
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .ends_with("the site should use eth_signTypedData_v4"),
            "{error}"
        );
    }
    let o = req(
        &mut w,
        "eth_sign",
        json!([A0, format!("0x{}", "11".repeat(32))]),
    );
    assert_eq!(code(&o), 4200);
    let Outcome::Error { error } = &o else {
        unreachable!()
    };
    assert!(
        error["message"].as_str().unwrap().contains("bare hash"),
        "{error}"
    );
}

fn mail(chain: u64) -> Value {
    // The EIP-712 specification's example message (eips.ethereum.org/EIPS/eip-712).
    json!({
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}
            ],
            "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}],
            "Mail": [{"name": "from", "type": "Person"}, {"name": "to", "type": "Person"}, {"name": "contents", "type": "string"}]
        },
        "primaryType": "Mail",
        "domain": {"name": "Ether Mail", "version": "1", "chainId": chain, "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},
        "message": {
            "from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
            "to": {"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},
            "contents": "Hello, Bob!"
        }
    })
}

#[test]
fn typed_data_is_decoded_for_display_and_checked_against_the_chain() {
    let mut w = wallet();
    connect(&mut w);
    let (id, _) = approval(req(
        &mut w,
        "eth_signTypedData_v4",
        json!([A0, mail(1).to_string()]),
    ));
    let d = &w.session.approval(id).unwrap().display;
    assert_eq!(d["primaryType"], "Mail");
    assert_eq!(d["message"]["contents"], "Hello, Bob!");
    assert_eq!(d["domain"]["name"], "Ether Mail");
    // The signing hash the EIP's reference implementation gives for this message.
    assert_eq!(
        d["hash"],
        "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"
    );
    assert_eq!(
        code(&req(&mut w, "eth_signTypedData_v4", json!([A0, mail(5)]))),
        -32602
    );
    assert_eq!(
        code(&req(
            &mut w,
            "eth_signTypedData_v4",
            json!([A0, "{not json"])
        )),
        -32602
    );
    assert_eq!(
        code(&req(&mut w, "eth_signTypedData_v4", json!([A1, mail(1)]))),
        4100
    );
    match w
        .resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap()
    {
        Resolution::SignTypedData { typed_data, .. } => {
            assert_eq!(serde_json::from_str::<Value>(&typed_data).unwrap(), mail(1));
        }
        r => panic!("{r:?}"),
    }
}

fn anvil(w: &mut Wallet) {
    w.state.select_network(31337).unwrap();
}

#[test]
fn transactions_are_filled_from_the_node_editable_and_complete() {
    let mut w = wallet();
    anvil(&mut w);
    connect(&mut w);
    let tx = json!({"from": A0, "to": A1, "value": "0xde0b6b3a7640000", "someWalletExtension": 1});
    let o = req(&mut w, "eth_sendTransaction", json!([tx]));
    let Outcome::Approval {
        id,
        kind,
        fill: Some(fill),
    } = o
    else {
        panic!("{o:?}")
    };
    assert_eq!(kind, ApprovalKind::Transaction);
    assert_eq!(fill["needNonce"], true);
    assert_eq!(fill["needFees"], true);
    assert_eq!(fill["url"], "http://127.0.0.1:8545");
    // Cannot be approved before the fees are known.
    assert!(w
        .resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
        .is_err());
    let f: Fill = serde_json::from_value(json!({
        "nonce": "0x3", "gasEstimate": "0x5208", "baseFee": "0x3b9aca00", "priorityFee": "0x1"
    }))
    .unwrap();
    // The user switches networks while the approval waits: it still shows,
    // and is signed for, the chain the dapp asked on.
    w.state.select_network(1).unwrap();
    w.fill_transaction(id, &f).unwrap();
    let d = &w.session.approval(id).unwrap().display;
    assert_eq!(d["gas"], "0x5208");
    assert_eq!(d["maxFeePerGas"], "0x77359401"); // 2 * 1 gwei + 1 wei
    assert_eq!(d["nonce"], "0x3");
    assert_eq!(d["chain"]["name"], "Localhost 8545");
    let edits: Edits =
        serde_json::from_value(json!({"maxPriorityFeePerGas": "0x2", "gas": "0x6000"})).unwrap();
    match w.resolve(id, true, &edits, true, NOW, "", [0; 16]).unwrap() {
        Resolution::SendTransaction {
            transaction,
            address,
            origin,
            ..
        } => {
            assert_eq!(address.to_checksum(None), A0);
            assert_eq!(origin, ORIGIN);
            assert_eq!(transaction["chainId"], "0x7a69");
            assert_eq!(transaction["maxPriorityFeePerGas"], "0x2");
            assert_eq!(transaction["gas"], "0x6000");
            assert!(transaction.get("someWalletExtension").is_none());
            let parsed: tandem_eth::TransactionRequest =
                serde_json::from_value(transaction).unwrap();
            assert!(parsed.build().is_ok());
        }
        r => panic!("{r:?}"),
    }
}

#[test]
fn transaction_checks() {
    let mut w = wallet();
    anvil(&mut w);
    assert_eq!(
        code(&req(
            &mut w,
            "eth_sendTransaction",
            json!([{"from": A0, "to": A1}])
        )),
        4100
    );
    connect(&mut w);
    assert_eq!(
        code(&req(
            &mut w,
            "eth_sendTransaction",
            json!([{"from": A1, "to": A0}])
        )),
        4100
    );
    assert_eq!(
        code(&req(
            &mut w,
            "eth_sendTransaction",
            json!([{"from": A0, "to": "0x12"}])
        )),
        -32602
    );
    assert_eq!(
        code(&req(
            &mut w,
            "eth_sendTransaction",
            json!([{"from": A0, "to": A1, "value": "lots"}])
        )),
        -32602
    );
    assert_eq!(
        code(&req(
            &mut w,
            "eth_sendTransaction",
            json!([{"from": A0, "to": A1, "chainId": "0x1"}])
        )),
        -32602
    );
    assert_eq!(
        code(&req(
            &mut w,
            "eth_sendTransaction",
            json!([{"from": A0, "to": A1, "type": "0x4"}])
        )),
        -32602
    );
    assert_eq!(code(&req(&mut w, "eth_sendTransaction", json!([]))), -32602);
    // Unlimited ERC-20 approval is flagged.
    let data = format!(
        "0x095ea7b3{:0>64}{}",
        &A1[2..].to_lowercase(),
        "f".repeat(64)
    );
    let (id, _) = approval(req(
        &mut w,
        "eth_sendTransaction",
        json!([{"from": A0, "to": A1, "data": data}]),
    ));
    let d = &w.session.approval(id).unwrap().display;
    assert_eq!(d["call"]["function"], "approve");
    assert!(d["warnings"][0].as_str().unwrap().contains("unlimited"));
}

#[test]
fn switch_and_add_chain() {
    let mut w = wallet();
    connect(&mut w);
    assert_eq!(
        code(&req(
            &mut w,
            "wallet_switchEthereumChain",
            json!([{"chainId": "0x539"}])
        )),
        4902
    );
    assert_eq!(
        result(req(
            &mut w,
            "wallet_switchEthereumChain",
            json!([{"chainId": "0x1"}])
        )),
        Value::Null
    );
    let (id, kind) = approval(req(
        &mut w,
        "wallet_switchEthereumChain",
        json!([{"chainId": "0x7a69"}]),
    ));
    assert_eq!(kind, ApprovalKind::SwitchChain);
    w.resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap();
    assert_eq!(w.state.chain_id, 31337);

    let add = |rpc: &str, decimals: u64| {
        json!([{
            "chainId": "0x539", "chainName": "Dev", "rpcUrls": [rpc],
            "nativeCurrency": {"name": "Ether", "symbol": "ETH", "decimals": decimals},
            "blockExplorerUrls": null
        }])
    };
    assert_eq!(
        code(&req(
            &mut w,
            "wallet_addEthereumChain",
            add("http://evil.example/rpc", 18)
        )),
        -32602
    );
    assert_eq!(
        code(&req(
            &mut w,
            "wallet_addEthereumChain",
            add("https://rpc.example", 37)
        )),
        -32602,
        "EIP-20 decimals beyond 36 are refused"
    );
    assert_eq!(
        code(&req(
            &mut w,
            "wallet_addEthereumChain",
            add("https://user:pw@rpc.example", 18)
        )),
        -32602
    );
    let (id, _) = approval(req(
        &mut w,
        "wallet_addEthereumChain",
        add("http://127.0.0.1:9545", 6),
    ));
    rpc_agrees(&mut w, id);
    // EIP-3085 allows any non-negative integer: the approval and the
    // stored network carry the site's 6 (was: refused unless 18).
    let shown: Network =
        serde_json::from_value(w.session.approval(id).unwrap().display["network"].clone()).unwrap();
    assert_eq!(shown.decimals, 6);
    w.resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap();
    assert_eq!(w.state.chain_id, 1337);
    assert_eq!(w.state.network().decimals, 6);
    let stored = w.state.to_json();
    assert!(stored.contains(r#""decimals":6"#), "{stored}");
    assert_eq!(w.state.network().rpc_url, "http://127.0.0.1:9545");
    assert!(!w.state.network().builtin);
    assert!(w.state.remove_network(1).is_err(), "built-ins stay");
    w.state.remove_network(1337).unwrap();
    assert_eq!(w.state.chain_id, 1);
}

/// The chain an approval names, read with the type the approval page uses.
fn chain_of(w: &Wallet, id: u64) -> Network {
    serde_json::from_value(w.session.approval(id).unwrap().display["chain"].clone()).unwrap()
}

#[test]
fn every_signing_approval_names_the_chain_it_was_asked_on() {
    let mut w = wallet();
    anvil(&mut w);
    connect(&mut w);
    let (sign, _) = approval(req(&mut w, "personal_sign", json!(["0x48656c6c6f", A0])));
    let typed = json!({
        "types": {"EIP712Domain": [{"name": "chainId", "type": "uint256"}], "M": [{"name": "x", "type": "uint256"}]},
        "primaryType": "M", "domain": {"chainId": 31337}, "message": {"x": 1}
    });
    let (typed, _) = approval(req(&mut w, "eth_signTypedData_v4", json!([A0, typed])));
    let (tx, _) = approval(req(
        &mut w,
        "eth_sendTransaction",
        json!([{"from": A0, "to": A1, "value": "0x64"}]),
    ));
    // The site then moves the wallet to Polygon (POL): every window still
    // names the local chain and its ETH, and says it differs.
    w.state.select_network(137).unwrap();
    let f: Fill =
        serde_json::from_value(json!({"nonce": "0x0", "gasEstimate": "0x5208", "baseFee": "0x1"}))
            .unwrap();
    w.fill_transaction(tx, &f).unwrap();
    for id in [sign, typed, tx] {
        let c = chain_of(&w, id);
        assert_eq!((c.chain_id, c.symbol.as_str()), (31337, "ETH"), "{id}");
        assert_eq!(c.name, "Localhost 8545");
        assert!(display::known(&c));
        assert!(display::mismatch(&c, 137).unwrap().contains("chain 31337"));
        assert_eq!(display::mismatch(&c, 31337), None);
    }
    // A network removed meanwhile is named by its id, never by the selected one.
    w.state
        .upsert_network(Network {
            chain_id: 1337,
            name: "Dev".into(),
            rpc_url: "http://127.0.0.1:9545".into(),
            symbol: "DEV".into(),
            decimals: 18,
            explorer: None,
            builtin: false,
        })
        .unwrap();
    w.state.select_network(1337).unwrap();
    let (tx, _) = approval(req(
        &mut w,
        "eth_sendTransaction",
        json!([{"from": A0, "to": A1}]),
    ));
    w.state.remove_network(1337).unwrap();
    w.fill_transaction(tx, &f).unwrap();
    let c = chain_of(&w, tx);
    assert_eq!(
        (c.chain_id, display::label(&c), c.symbol.as_str()),
        (1337, "chain 1337".into(), "")
    );
    assert!(!display::known(&c));
}

#[test]
fn switch_chain_display_is_the_shape_the_page_reads() {
    let mut w = wallet();
    connect(&mut w);
    let (id, _) = approval(req(
        &mut w,
        "wallet_switchEthereumChain",
        json!([{"chainId": "0x89"}]),
    ));
    let d: SwitchChainView =
        serde_json::from_value(w.session.approval(id).unwrap().display.clone()).unwrap();
    assert_eq!((d.from.chain_id, d.from.name.as_str()), (1, "Ethereum"));
    assert_eq!(
        (d.to.chain_id, d.to.name.as_str(), d.to.symbol.as_str()),
        (137, "Polygon", "POL")
    );
}

#[test]
fn adding_a_known_chain_says_what_changes_and_does_it() {
    let mut w = wallet();
    connect(&mut w);
    let add = |name: &str, rpc: &str| {
        json!([{
            "chainId": "0x7a69", "chainName": name, "rpcUrls": [rpc],
            "nativeCurrency": {"name": "Ether", "symbol": "ETH", "decimals": 18}
        }])
    };
    let view = |w: &Wallet, id: u64| -> AddChainView {
        serde_json::from_value(w.session.approval(id).unwrap().display.clone()).unwrap()
    };
    // The same entry: nothing changes, approving only switches.
    let (id, _) = approval(req(
        &mut w,
        "wallet_addEthereumChain",
        add("Localhost 8545", "http://127.0.0.1:8545"),
    ));
    rpc_agrees(&mut w, id);
    let v = view(&w, id);
    assert!(v.already_known.is_some());
    assert!(v.changes().is_empty(), "{:?}", v.changes());
    let before = w.state.networks.clone();
    w.resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap();
    assert_eq!(w.state.networks, before);
    assert_eq!(w.state.chain_id, 31337);

    // Another name and RPC: the window lists old and new, approving stores them.
    w.state.select_network(1).unwrap();
    let (id, _) = approval(req(
        &mut w,
        "wallet_addEthereumChain",
        add("Dev node", "http://127.0.0.1:9999"),
    ));
    rpc_agrees(&mut w, id);
    let v = view(&w, id);
    let changes = v.changes();
    let changed: Vec<_> = changes
        .iter()
        .map(|c| (c.field, c.old.as_str(), c.new.as_str()))
        .collect();
    assert_eq!(
        changed,
        [
            ("name", "Localhost 8545", "Dev node"),
            ("rpcUrl", "http://127.0.0.1:8545", "http://127.0.0.1:9999"),
        ]
    );
    assert_eq!(v.already_known.as_ref().unwrap().name, "Localhost 8545");
    assert_eq!(v.network.name, "Dev node");
    w.resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap();
    let n = w.state.network();
    assert_eq!(
        (n.chain_id, n.name.as_str(), n.rpc_url.as_str(), n.builtin),
        (31337, "Dev node", "http://127.0.0.1:9999", true)
    );

    // The entry changes after the window showed it: approving is refused,
    // nothing is stored, and the request still waits for an answer.
    w.state.select_network(1).unwrap();
    let (id, _) = approval(req(
        &mut w,
        "wallet_addEthereumChain",
        add("Other", "http://127.0.0.1:7777"),
    ));
    rpc_agrees(&mut w, id);
    let mut edited = w
        .state
        .networks
        .iter()
        .find(|n| n.chain_id == 31337)
        .unwrap()
        .clone();
    edited.name = "Edited by hand".into();
    w.state.upsert_network(edited).unwrap();
    let err = w
        .resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap_err();
    assert!(err.to_string().contains("changed in Tandem"), "{err}");
    assert_eq!(w.state.chain_id, 1);
    assert!(w.session.approval(id).is_ok());
}

#[test]
fn watch_asset() {
    let mut w = wallet();
    let p = json!({"type": "ERC20", "options": {"address": A1, "symbol": "TKN", "decimals": 18}});
    let (id, _) = approval(req(&mut w, "wallet_watchAsset", p));
    let r = w
        .resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap();
    assert!(matches!(
        r,
        Resolution::Reply {
            result: Value::Bool(true),
            ..
        }
    ));
    assert_eq!(w.state.assets.len(), 1);
    let bad =
        json!({"type": "ERC20", "options": {"address": A1, "symbol": "<script>", "decimals": 18}});
    assert_eq!(code(&req(&mut w, "wallet_watchAsset", bad)), -32602);
    assert_eq!(
        code(&req(&mut w, "wallet_watchAsset", json!({"type": "ERC721"}))),
        -32602
    );
    // The same checks when the user adds a token by hand.
    let mut asset = w.state.assets[0].clone();
    asset.address = A0.parse().unwrap();
    asset.symbol = "ЕТН".into(); // Cyrillic look-alikes
    assert!(w.state.watch(asset.clone()).is_err());
    asset.symbol = "ETH2".into();
    w.state.watch(asset).unwrap();
    assert!(w.state.unwatch(1, A0.parse().unwrap()));
    assert!(!w.state.unwatch(1, A0.parse().unwrap()));
    assert_eq!(w.state.assets.len(), 1);
}

#[test]
fn approvals_survive_a_round_trip_through_session_storage() {
    let mut w = wallet();
    connect(&mut w);
    let (id, _) = approval(req(&mut w, "personal_sign", json!(["hi", A0])));
    // The worker dies: only the stored JSON remains.
    let (state, session) = (w.state.to_json(), w.session.to_json());
    drop(w);
    let mut w = Wallet::load(&state, &session).unwrap();
    assert_eq!(w.session.approvals.len(), 1);
    let r = w
        .resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap();
    match r {
        Resolution::SignPersonal {
            reply_to, message, ..
        } => {
            assert_eq!(reply_to, json!({"tab": 1}));
            assert_eq!(message, "hi");
        }
        r => panic!("{r:?}"),
    }
    // Ids keep increasing across the restart, so a stale window cannot answer a new request.
    let (id2, _) = approval(req(&mut w, "personal_sign", json!(["again", A0])));
    assert!(id2 > id);
}

#[test]
fn stored_json_errors_are_specific() {
    assert!(State::from_json("").is_ok());
    assert!(Session::from_json("").is_ok());
    assert_eq!(State::from_json("{").unwrap_err().kind(), "Corrupt");
    let mut s: Value = serde_json::from_str(&State::default().to_json()).unwrap();
    s["version"] = json!(99);
    assert_eq!(
        State::from_json(&s.to_string()).unwrap_err().kind(),
        "Corrupt"
    );
}

#[test]
fn auto_lock_window() {
    let mut w = wallet();
    w.state.set_settings(Some(5), None).unwrap();
    w.session.lock.touch(NOW);
    assert!(!w.lock_expired(NOW + 4 * 60_000));
    assert!(w.lock_expired(NOW + 5 * 60_000));
    assert!(
        w.lock_expired(NOW - 6 * 60_000),
        "a clock far in the past locks"
    );
    assert!(w.state.set_settings(Some(0), None).is_err());
    assert!(w.state.set_settings(Some(100_000), None).is_err());
}

#[test]
fn too_many_pending_requests_are_refused() {
    let mut w = wallet();
    connect(&mut w);
    let mut codes = Vec::new();
    for i in 0..7 {
        codes.push(
            match req(&mut w, "personal_sign", json!([format!("m{i}"), A0])) {
                Outcome::Approval { .. } => 0,
                o => code(&o),
            },
        );
    }
    assert_eq!(codes, [0, 0, 0, 0, 0, -32005, -32005]);
    let rs = w.session.reject_origin(ORIGIN);
    assert_eq!(rs.len(), 5);
    assert!(w.session.approvals.is_empty());
}

#[test]
fn activity_records_and_status() {
    let mut w = wallet();
    anvil(&mut w);
    let a = tandem_wallet::Activity {
        hash: "0xab".into(),
        chain_id: 31337,
        from: A0.parse().unwrap(),
        to: Some(A1.parse().unwrap()),
        value: alloy_primitives_u256(5),
        status: TxStatus::Pending,
        origin: Some(ORIGIN.into()),
        submitted_at: NOW,
        block_number: None,
        warning: None,
    };
    w.state.record(a.clone());
    w.state.record(a);
    assert_eq!(w.state.activity.len(), 1);
    assert_eq!(w.state.pending_hashes(), [("0xab".to_owned(), 31337)]);
    assert!(w.state.update_status("0xab", TxStatus::Confirmed, Some(7)));
    assert!(!w.state.update_status("0xab", TxStatus::Confirmed, Some(7)));
    assert!(w.state.pending_hashes().is_empty());
}

fn alloy_primitives_u256(v: u64) -> tandem_eth::U256 {
    tandem_eth::U256::from(v)
}

#[test]
fn accounts_sync_keeps_names_and_prunes_sites() {
    let mut w = wallet();
    w.state.rename(A1.parse().unwrap(), "Savings").unwrap();
    assert!(w.state.rename(A1.parse().unwrap(), "").is_err());
    connect(&mut w);
    w.state.sync_accounts(&[(A1.parse().unwrap(), Value::Null)]);
    assert_eq!(w.state.accounts[0].name, "Savings");
    assert_eq!(w.state.selected.unwrap().to_checksum(None), A1);
    assert!(
        w.state.sites.is_empty(),
        "A0 is gone, so is the site's only grant"
    );
}

/// After a removal, a new account is not given a kept account's name.
#[test]
fn a_new_account_after_a_removal_gets_a_free_name() {
    let mut w = wallet();
    let a2: alloy_primitives::Address = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
        .parse()
        .unwrap();
    let origin = |i: u32| json!({"kind": "derived", "source": 0, "index": i});
    // Account 1 (A0) removed, then a third account added.
    w.state
        .sync_accounts(&[(A1.parse().unwrap(), origin(1)), (a2, origin(2))]);
    let names: Vec<&str> = w.state.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Account 2", "Account 3"]);
    w.state.sync_accounts(&[
        (A1.parse().unwrap(), origin(1)),
        (a2, origin(2)),
        (A0.parse().unwrap(), origin(0)),
    ]);
    let names: Vec<&str> = w.state.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Account 2", "Account 3", "Account 4"]);
}

/// The user's order (Accounts, Move up/down, or synced from another
/// device) holds: the keyring's list, read again, keeps it; a new account
/// comes last; addresses of no account here are passed over.
#[test]
fn the_users_account_order_survives_the_keyring_and_new_accounts_come_last() {
    let mut w = wallet();
    let (a0, a1): (alloy_primitives::Address, alloy_primitives::Address) =
        (A0.parse().unwrap(), A1.parse().unwrap());
    let a2: alloy_primitives::Address = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
        .parse()
        .unwrap();
    let stranger: alloy_primitives::Address = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
        .parse()
        .unwrap();
    let origin = |i: u32| json!({"kind": "derived", "source": 0, "index": i});
    let order = |w: &Wallet| -> Vec<alloy_primitives::Address> {
        w.state.accounts.iter().map(|a| a.address).collect()
    };
    assert_eq!(order(&w)[..2], [a0, a1]);
    assert!(w.state.order_accounts(&[stranger, a1]));
    assert_eq!(order(&w)[..2], [a1, a0]);
    assert!(!w.state.order_accounts(&[a1, a0]), "nothing moved");
    w.state
        .sync_accounts(&[(a0, origin(0)), (a1, origin(1)), (a2, origin(2))]);
    assert_eq!(order(&w), [a1, a0, a2]);
    let names: Vec<&str> = w.state.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Account 2", "Account 1", "Account 3"]);
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-z0-9x]{0,12}".prop_map(Value::String),
            Just(json!(A0)),
            Just(json!("0x7a69")),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    const METHODS: &[&str] = &[
        "eth_requestAccounts",
        "eth_accounts",
        "personal_sign",
        "eth_signTypedData_v4",
        "eth_sendTransaction",
        "wallet_switchEthereumChain",
        "wallet_addEthereumChain",
        "wallet_watchAsset",
        "wallet_requestPermissions",
        "wallet_revokePermissions",
        "eth_call",
    ];

    proptest! {
        /// No input crashes the controller, and every answer is one of the four outcomes.
        #[test]
        fn no_request_panics(m in 0..METHODS.len(), params in arb_json(), unlocked: bool) {
            let mut w = wallet();
            connect(&mut w);
            let r = json!({"method": METHODS[m], "params": params});
            let _ = w.request(ORIGIN, &r, unlocked, Value::Null, NOW);
            let _ = w.request(ORIGIN, &params, unlocked, Value::Null, NOW);
        }
    }
}

#[test]
fn only_the_users_answer_puts_off_auto_lock_and_locking_rejects_what_waits() {
    let mut w = wallet();
    connect(&mut w);
    let before = w.session.lock.last_active;
    // A page asks (asking is not activity) and the window is closed unanswered.
    let Outcome::Approval { id, .. } = req(&mut w, "personal_sign", json!(["0x01", A0])) else {
        panic!("an approval")
    };
    let r = w.withdraw(id).unwrap();
    assert!(
        matches!(&r, Resolution::Error { error, .. } if error["code"] == 4001),
        "{r:?}"
    );
    assert_eq!(
        w.session.lock.last_active, before,
        "a withdrawn request is not activity"
    );
    assert!(
        matches!(w.withdraw(id), Err(tandem_wallet::Error::NoSuchApproval(_))),
        "answered once"
    );
    // The user's own rejection is activity.
    let Outcome::Approval { id, .. } = req(&mut w, "personal_sign", json!(["0x02", A0])) else {
        panic!("an approval")
    };
    let later = NOW + 60_000;
    w.resolve(id, false, &Edits::default(), true, later, "", [0; 16])
        .unwrap();
    assert_eq!(w.session.lock.last_active, later);
    // Locking rejects everything pending, saying why.
    for m in ["0x03", "0x04"] {
        req(&mut w, "personal_sign", json!([m, A0]));
    }
    let rs = w.session.reject_all();
    assert_eq!(rs.len(), 2);
    for r in &rs {
        let Resolution::Error { error, .. } = &r.then else {
            panic!("{r:?}")
        };
        assert_eq!(error["code"], 4001);
        assert!(
            error["message"].as_str().unwrap().contains("locked"),
            "{error}"
        );
    }
    assert!(w.session.approvals.is_empty());
}

/// Issue 13, item 4: a site names chain 1337 with an RPC that really serves
/// chain 31337 (or that does not answer). The request is refused naming
/// both ids, the approval is gone and no network is saved; approving before
/// the answer is refused.
#[test]
fn an_added_networks_rpc_must_serve_the_chain_the_site_named() {
    let mut w = wallet();
    connect(&mut w);
    let before = w.state.networks.clone();
    let add = || {
        json!([{
            "chainId": "0x539", "chainName": "Dev", "rpcUrls": ["http://127.0.0.1:9545/key-123"],
            "nativeCurrency": {"name": "Ether", "symbol": "ETH", "decimals": 18}
        }])
    };
    for answer in [json!("0x7a69"), Value::Null, json!("not hex"), json!(1337)] {
        let (id, fill) = match req(&mut w, "wallet_addEthereumChain", add()) {
            Outcome::Approval { id, fill, .. } => (id, fill),
            o => panic!("{o:?}"),
        };
        assert_eq!(
            fill,
            Some(json!({"chainIdOf": "http://127.0.0.1:9545/key-123"}))
        );
        assert!(w.session.approval(id).unwrap().needs_fill);
        let early = w
            .resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
            .unwrap_err();
        assert!(
            early.to_string().contains("which chain it serves"),
            "{early}"
        );
        let Some(Resolution::Error { reply_to, error }) = w.chain_checked(id, &answer).unwrap()
        else {
            panic!("{answer}: not refused");
        };
        assert_eq!(reply_to, json!({"tab": 1}));
        assert_eq!(error["code"], -32602);
        let msg = error["message"].as_str().unwrap();
        assert!(msg.contains("chain 1337 (0x539)"), "{msg}");
        if answer == json!("0x7a69") {
            assert!(msg.contains("serves chain 31337 (0x7a69)"), "{msg}");
        } else {
            assert!(msg.contains("did not answer eth_chainId"), "{msg}");
        }
        assert!(!msg.contains("key-123"), "never the URL: {msg}");
        assert!(w.session.approval(id).is_err(), "the approval is gone");
        assert_eq!(w.state.networks, before, "nothing saved");
        assert_eq!(w.state.chain_id, 1);
    }
    // The right answer: approvable, then saved.
    let (id, _) = approval(req(&mut w, "wallet_addEthereumChain", add()));
    assert_eq!(w.chain_checked(id, &json!("0x539")).unwrap(), None);
    assert!(
        w.chain_checked(id, &json!("0x539")).is_err(),
        "answered once"
    );
    w.resolve(id, true, &Edits::default(), true, NOW, "", [0; 16])
        .unwrap();
    assert_eq!(w.state.chain_id, 1337);
    // Only an add waits for a chain id.
    let (tx, _) = approval(req(
        &mut w,
        "eth_sendTransaction",
        json!([{"from": A0, "to": A1, "value": "0x1"}]),
    ));
    assert!(w.chain_checked(tx, &json!("0x539")).is_err());
}

fn own(w: &mut Wallet, method: &str, params: Value) -> Outcome {
    w.request(
        tandem_wallet::provider::WALLET_ORIGIN,
        &json!({"method": method, "params": params}),
        true,
        Value::Null,
        NOW,
    )
}

#[test]
fn the_wallets_own_send_is_an_approval_like_a_sites_and_nothing_more() {
    let mut w = wallet();
    anvil(&mut w);
    // Any of the wallet's accounts, without a site's connection; queued as
    // the same transaction approval a site gets, for the selected chain.
    let tx = json!({"from": A1, "to": A0, "value": "0x1"});
    let (id, kind) = approval(own(&mut w, "eth_sendTransaction", json!([tx])));
    assert_eq!(kind, ApprovalKind::Transaction);
    let a = w.session.approval(id).unwrap();
    assert_eq!(a.origin, tandem_wallet::provider::WALLET_ORIGIN);
    assert_eq!(a.request["transaction"]["chainId"], "0x7a69");
    // Not an account of this wallet: refused as for a site.
    let stranger = json!([{"from": "0x000000000000000000000000000000000000dEaD", "to": A0}]);
    assert_eq!(code(&own(&mut w, "eth_sendTransaction", stranger)), 4100);
    // The Send screen's origin serves nothing else (no accounts, no signing).
    for m in [
        "eth_requestAccounts",
        "eth_accounts",
        "personal_sign",
        "eth_chainId",
    ] {
        assert_eq!(code(&own(&mut w, m, json!([]))), 4200, "{m}");
    }
    // It grants a site nothing: the site is still not connected.
    let site = req(
        &mut w,
        "eth_sendTransaction",
        json!([{"from": A0, "to": A1}]),
    );
    assert_eq!(code(&site), 4100);
}
