//! The wallet home screen in Leptos (client-side rendering): signals, a
//! component, `<For>` keyed by token id, one signal per balance so a refresh
//! updates text nodes in place. The same DOM as `bench-vdom`.

use bench_screen::{amount, initial_balance, next_balance, symbol};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[derive(Clone)]
struct Token {
    id: usize,
    symbol: String,
    balance: RwSignal<u64>,
}

fn token(i: usize) -> Token {
    Token {
        id: i,
        symbol: symbol(i),
        balance: RwSignal::new(initial_balance(i)),
    }
}

#[component]
fn Home(n: usize) -> impl IntoView {
    let tokens = RwSignal::new((0..n).map(token).collect::<Vec<_>>());
    let selected = RwSignal::new(None::<String>);
    let refresh = move |_| {
        let balances: Vec<_> = tokens.with_untracked(|ts| ts.iter().map(|t| t.balance).collect());
        for b in balances {
            b.update(|b| *b = next_balance(*b));
        }
        // A new row's signal is made outside the list's update.
        let row = token(tokens.with_untracked(Vec::len));
        tokens.update(|ts| ts.push(row));
    };
    view! {
        <main data-testid="wallet-home">
            <header class="account" data-testid="account-header">
                <h1 data-testid="account-name">"Account 1"</h1>
                <p data-testid="account-address">"0x52908400098527886E0F7030069857D2E4169EE7"</p>
                <p data-testid="selected-token">
                    {move || selected.get().unwrap_or_else(|| "none".to_owned())}
                </p>
            </header>
            <ul class="tokens" data-testid="token-list">
                <For
                    each=move || tokens.get()
                    key=|t| t.id
                    children=move |t: Token| {
                        let symbol = t.symbol.clone();
                        view! {
                            <li class="token" data-testid="token-row">
                                <span class="symbol">{t.symbol}</span>
                                <span class="balance">{move || amount(t.balance.get())}</span>
                                <button
                                    data-testid="token-send"
                                    on:click=move |_| selected.set(Some(symbol.clone()))
                                >
                                    "Send"
                                </button>
                            </li>
                        }
                    }
                />
            </ul>
            <button data-testid="refresh" on:click=refresh>
                "Refresh"
            </button>
        </main>
    }
}

/// Renders the screen with `n` token rows into `#app`.
#[wasm_bindgen]
pub fn start(n: u32) {
    let root = document()
        .get_element_by_id("app")
        .expect_throw("no #app")
        .unchecked_into::<leptos::web_sys::HtmlElement>();
    let n = n as usize;
    leptos::mount::mount_to(root, move || view! { <Home n=n /> }).forget();
}
