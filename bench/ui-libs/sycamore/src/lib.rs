//! The wallet home screen in Sycamore: signals, a component, `Keyed` by
//! token id, one signal per balance so a refresh updates text nodes in place.
//! The same DOM as `bench-vdom`.

use bench_screen::{amount, initial_balance, next_balance, symbol};
use sycamore::prelude::*;
use wasm_bindgen::prelude::*;

#[derive(Clone, PartialEq)]
struct Token {
    id: usize,
    symbol: String,
    balance: Signal<u64>,
}

fn token(i: usize) -> Token {
    Token {
        id: i,
        symbol: symbol(i),
        balance: create_signal(initial_balance(i)),
    }
}

#[component(inline_props)]
fn Home(n: usize) -> View {
    let tokens = create_signal((0..n).map(token).collect::<Vec<_>>());
    let selected = create_signal(None::<String>);
    let refresh = move |_| {
        // One batch: effects run once, after every balance and the new row.
        batch(move || {
            let balances: Vec<_> =
                tokens.with_untracked(|ts| ts.iter().map(|t| t.balance).collect());
            for b in balances {
                b.update(|b| *b = next_balance(*b));
            }
            // A new row's signal is made outside the list's update.
            let row = token(tokens.with_untracked(Vec::len));
            tokens.update(|ts| ts.push(row));
        });
    };
    view! {
        main(data-testid="wallet-home") {
            header(class="account", data-testid="account-header") {
                h1(data-testid="account-name") { "Account 1" }
                p(data-testid="account-address") { "0x52908400098527886E0F7030069857D2E4169EE7" }
                p(data-testid="selected-token") {
                    (selected.with(|s| s.clone().unwrap_or_else(|| "none".to_owned())))
                }
            }
            ul(class="tokens", data-testid="token-list") {
                Keyed(
                    list=tokens,
                    view=move |t| {
                        let symbol = t.symbol.clone();
                        view! {
                            li(class="token", data-testid="token-row") {
                                span(class="symbol") { (t.symbol.clone()) }
                                span(class="balance") { (amount(t.balance.get())) }
                                button(
                                    data-testid="token-send",
                                    on:click=move |_| selected.set(Some(symbol.clone())),
                                ) { "Send" }
                            }
                        }
                    },
                    key=|t| t.id,
                )
            }
            button(data-testid="refresh", on:click=refresh) { "Refresh" }
        }
    }
}

/// Renders the screen with `n` token rows into `#app`.
#[wasm_bindgen]
pub fn start(n: u32) {
    let root = document().get_element_by_id("app").expect_throw("no #app");
    let n = n as usize;
    sycamore::render_to(move || view! { Home(n=n) }, &root);
}
