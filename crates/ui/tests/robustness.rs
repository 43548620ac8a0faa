//! Property tests: everything the UI parses comes from a dapp or the network,
//! so no input may panic, and the number conversions agree with u128 math.

use proptest::prelude::*;
use serde_json::Value;
use tandem_ui::format::{decimal_to_hex, format_units, parse_units, shorten_address, to_decimal};
use tandem_ui::{model, tx, typed_data, validate};

fn json_tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z0-9_\\[\\]]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("address"),
            Just("uint256"),
            Just("string"),
            Just("bytes32"),
            Just("bool"),
            Just("Mail"),
            Just("Person[]"),
            Just("uint8[2]"),
            Just("int256"),
            Just("bytes")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("types".to_owned()),
                    Just("primaryType".to_owned()),
                    Just("domain".to_owned()),
                    Just("message".to_owned()),
                    Just("name".to_owned()),
                    Just("type".to_owned()),
                    Just("Mail".to_owned()),
                    Just("EIP712Domain".to_owned()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn typed_data_never_panics(v in json_tree(), chain in proptest::option::of(any::<u64>())) {
        let _ = typed_data::decode(&v, chain);
        let _ = typed_data::decode(&Value::String(v.to_string()), chain);
        let _ = tx::FeeForm::from_tx(&v);
    }

    #[test]
    fn text_parsers_never_panic(s in "\\PC{0,90}") {
        let _ = to_decimal(&s);
        let _ = format_units(&s, 18, 4);
        let _ = parse_units(&s, 9);
        let _ = shorten_address(&s);
        let _ = model::personal_sign_text(&s);
        let _ = tx::decode_call(Some("0x5FbDB2315678afecb367f032d93F642f64180aa3"), &s);
        let _ = validate::import_secret(&s);
        let _ = validate::rpc_url(&s);
        let _ = validate::chain_id(&s);
        let _ = validate::display_name(&s);
        let _ = validate::password_strength(&s);
        for legacy in [false, true] {
            let _ = tx::FeeForm { gas: s.clone(), max_fee_gwei: s.clone(), priority_gwei: s.clone(), legacy }.validate();
        }
        let _ = tandem_ui::siwe::parse(&s);
        let _ = tandem_ui::siwe::findings(&s, "https://a.example", "0x00", Some(1), 0);
        let _ = tandem_ui::siwe::same_site(&s, &s);
        let (shown, n) = tandem_ui::hidden::reveal(&s);
        // Nothing hidden is left but the carriage return of a line end.
        prop_assert!(!shown.replace("\r\n", "\n").chars().any(tandem_ui::hidden::is_hidden));
        prop_assert_eq!(n, s.replace("\r\n", "\n").chars().filter(|c| tandem_ui::hidden::is_hidden(*c)).count());
    }

    #[test]
    fn sign_in_messages_with_any_fields_never_panic(
        domain in "\\PC{0,30}", stmt in "\\PC{0,40}", uri in "\\PC{0,30}", nonce in "[a-zA-Z0-9]{0,12}",
        issued in "[0-9T:Zz+.-]{0,30}", extra in "\\PC{0,30}",
    ) {
        let text = format!(
            "{domain} wants you to sign in with your Ethereum account:\n0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\n\n{stmt}\n\nURI: {uri}\nVersion: 1\nChain ID: 1\nNonce: {nonce}\nIssued At: {issued}{extra}"
        );
        let _ = tandem_ui::siwe::parse(&text);
        let _ = tandem_ui::siwe::findings(&text, "https://a.example", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", Some(1), 0);
    }

    #[test]
    fn hex_calldata_never_panics(data in "0x[0-9a-f]{0,200}") {
        let _ = tx::decode_call(Some("0x5FbDB2315678afecb367f032d93F642f64180aa3"), &data);
        let _ = model::personal_sign_text(&data);
    }

    #[test]
    fn conversions_agree_with_u128(n in any::<u128>()) {
        prop_assert_eq!(to_decimal(&format!("{n:#x}")).unwrap(), n.to_string());
        prop_assert_eq!(decimal_to_hex(&n.to_string()).unwrap(), format!("{n:#x}"));
        let whole = format_units(&n.to_string(), 18, 18).unwrap().replace(',', "");
        prop_assert_eq!(parse_units(&whole, 18).unwrap(), n.to_string());
    }

    #[test]
    fn picked_positions_are_distinct(bytes in prop::collection::vec(any::<u8>(), 6)) {
        let p = validate::pick_positions(12, 3, &bytes);
        prop_assert_eq!(p.len(), 3);
        prop_assert!(p.windows(2).all(|w| w[0] < w[1]) && p.iter().all(|&i| i < 12));
    }
}

/// The pages call an allowance unlimited from the very amount the worker's
/// warning and the phone's policy do (`tandem_wallet::approval`).
#[test]
fn the_pages_unlimited_threshold_is_the_wallets() {
    use tandem_ui::format::is_unlimited;
    let from = tandem_wallet::approval::UNLIMITED_FROM;
    assert!(is_unlimited(&format!("{from:#x}")));
    assert!(is_unlimited(&from.to_string()));
    assert!(!is_unlimited(
        &(from - alloy_primitives::U256::from(1)).to_string()
    ));
}
