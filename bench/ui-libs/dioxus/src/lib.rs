//! The wallet home screen in Dioxus (web renderer): `use_signal`, a memoised
//! row component keyed by token id. The same DOM as `bench-vdom`.

use bench_screen::{amount, initial_balance, next_balance, symbol};
use dioxus::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use wasm_bindgen::prelude::*;

/// Rows on first render (`launch` takes a plain `fn`, so `start` leaves `n` here).
static ROWS: AtomicUsize = AtomicUsize::new(0);

#[derive(Clone, PartialEq)]
struct Token {
    id: usize,
    symbol: String,
    balance: u64,
}

fn token(i: usize) -> Token {
    Token {
        id: i,
        symbol: symbol(i),
        balance: initial_balance(i),
    }
}

#[component]
fn TokenRow(symbol: String, balance: u64, onsend: EventHandler<String>) -> Element {
    rsx! {
        li { class: "token", "data-testid": "token-row",
            span { class: "symbol", "{symbol}" }
            span { class: "balance", {amount(balance)} }
            button {
                "data-testid": "token-send",
                onclick: move |_| onsend.call(symbol.clone()),
                "Send"
            }
        }
    }
}

#[component]
fn Home() -> Element {
    let mut tokens = use_signal(|| {
        (0..ROWS.load(Ordering::Relaxed))
            .map(token)
            .collect::<Vec<_>>()
    });
    let mut selected = use_signal(|| None::<String>);
    rsx! {
        main { "data-testid": "wallet-home",
            header { class: "account", "data-testid": "account-header",
                h1 { "data-testid": "account-name", "Account 1" }
                p { "data-testid": "account-address", "0x52908400098527886E0F7030069857D2E4169EE7" }
                p { "data-testid": "selected-token", {selected().unwrap_or_else(|| "none".to_owned())} }
            }
            ul { class: "tokens", "data-testid": "token-list",
                for t in tokens.read().iter() {
                    TokenRow {
                        key: "{t.id}",
                        symbol: t.symbol.clone(),
                        balance: t.balance,
                        onsend: move |s| selected.set(Some(s)),
                    }
                }
            }
            button {
                "data-testid": "refresh",
                onclick: move |_| {
                    tokens.with_mut(|ts| {
                        for t in ts.iter_mut() {
                            t.balance = next_balance(t.balance);
                        }
                        ts.push(token(ts.len()));
                    })
                },
                "Refresh"
            }
        }
    }
}

/// Renders the screen with `n` token rows into `#app`.
#[wasm_bindgen]
pub fn start(n: u32) {
    ROWS.store(n as usize, Ordering::Relaxed);
    dioxus::LaunchBuilder::new()
        .with_cfg(dioxus::web::Config::new().rootname("app"))
        .launch(Home);
}
