//! The wallet home screen in Tandem's current UI layer: the virtual nodes of
//! `crates/ui/src/view.rs` (`El`, `el()`), the whole-page rebuild of
//! `crates/ui/src/dom.rs` (`render`, with what the user typed carried over)
//! and the event dispatch of `crates/ui/src/app.rs` (one listener on the root,
//! `data-action`/`data-arg` strings parsed into an `Action`). Copied, reduced
//! to what this screen uses, rather than depending on tandem-ui by path: that
//! crate links the wallet, device and sync crates, whose size would hide the
//! UI layer's own.

use bench_screen::{amount, initial_balance, next_balance, symbol};
use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlInputElement, HtmlTextAreaElement};

// ---- crates/ui/src/view.rs: virtual nodes ----

enum Node {
    El(El),
    Text(String),
}

struct El {
    tag: &'static str,
    attrs: Vec<(&'static str, String)>,
    children: Vec<Node>,
}

fn el(tag: &'static str) -> El {
    El {
        tag,
        attrs: Vec::new(),
        children: Vec::new(),
    }
}

impl El {
    fn attr(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.attrs.push((k, v.into()));
        self
    }
    fn class(self, c: &str) -> Self {
        self.attr("class", c)
    }
    fn tid(self, id: impl Into<String>) -> Self {
        self.attr("data-testid", id)
    }
    fn action(self, action: &str) -> Self {
        self.attr("data-action", action)
    }
    fn action_arg(self, action: &str, arg: impl Into<String>) -> Self {
        self.attr("data-action", action).attr("data-arg", arg)
    }
    fn text(mut self, t: impl Into<String>) -> Self {
        self.children.push(Node::Text(t.into()));
        self
    }
    fn child(mut self, c: El) -> Self {
        self.children.push(Node::El(c));
        self
    }
    fn children(mut self, cs: impl IntoIterator<Item = El>) -> Self {
        self.children.extend(cs.into_iter().map(Node::El));
        self
    }
}

// ---- crates/ui/src/dom.rs: the whole page rebuilt, typed text kept ----

fn build(doc: &Document, node: &El) -> Result<Element, JsValue> {
    let e = doc.create_element(node.tag)?;
    for (k, v) in &node.attrs {
        e.set_attribute(k, v)?;
    }
    for c in &node.children {
        match c {
            Node::El(child) => {
                let c = build(doc, child)?;
                e.append_child(&c)?;
            }
            Node::Text(t) => {
                e.append_child(&doc.create_text_node(t))?;
            }
        }
    }
    Ok(e)
}

struct Typed {
    values: HashMap<String, String>,
    focus: Option<String>,
    focus_arg: Option<String>,
}

fn capture(root: &Element, doc: &Document) -> Typed {
    let mut t = Typed {
        values: HashMap::new(),
        focus: None,
        focus_arg: None,
    };
    if let Ok(list) = root.query_selector_all("input[data-testid], textarea[data-testid]") {
        for i in 0..list.length() {
            let Some(n) = list.item(i) else { continue };
            if let Some(inp) = n.dyn_ref::<HtmlInputElement>() {
                let id = inp.get_attribute("data-testid").unwrap_or_default();
                t.values.insert(id, inp.value());
            } else if let Some(ta) = n.dyn_ref::<HtmlTextAreaElement>() {
                let id = ta.get_attribute("data-testid").unwrap_or_default();
                t.values.insert(id, ta.value());
            }
        }
    }
    let active = doc.active_element();
    t.focus = active.as_ref().and_then(|e| e.get_attribute("data-testid"));
    t.focus_arg = active.and_then(|e| e.get_attribute("data-arg"));
    t
}

fn restore(root: &Element, typed: &Typed) {
    if let Some(id) = &typed.focus {
        let sel = match &typed.focus_arg {
            Some(a) => format!("[data-testid=\"{id}\"][data-arg=\"{a}\"]"),
            None => format!("[data-testid=\"{id}\"]"),
        };
        if let Ok(Some(e)) = root.query_selector(&sel) {
            if let Some(h) = e.dyn_ref::<web_sys::HtmlElement>() {
                let _ = h.focus();
            }
        }
    }
    let Ok(list) = root.query_selector_all("input[data-testid], textarea[data-testid]") else {
        return;
    };
    for i in 0..list.length() {
        let Some(n) = list.item(i) else { continue };
        if let Some(inp) = n.dyn_ref::<HtmlInputElement>() {
            let id = inp.get_attribute("data-testid").unwrap_or_default();
            if let Some(v) = typed.values.get(&id) {
                inp.set_value(v);
            }
        }
    }
}

fn render(doc: &Document, root: &Element, node: &El, keep_typed: bool) {
    let typed = keep_typed.then(|| capture(root, doc));
    match build(doc, node) {
        Ok(new) => {
            root.replace_children_with_node_1(&new);
            if let Some(t) = typed {
                restore(root, &t);
            }
        }
        Err(e) => web_sys::console::error_2(&"render failed".into(), &e),
    }
}

// ---- the screen: state, view, actions (as crates/ui/src/view.rs and app.rs) ----

struct Token {
    symbol: String,
    balance: u64,
}

struct State {
    tokens: Vec<Token>,
    selected: Option<String>,
}

enum Action {
    Refresh,
    Send(usize),
}

impl Action {
    fn parse(action: &str, arg: &str) -> Option<Action> {
        Some(match action {
            "refresh" => Action::Refresh,
            "send" => Action::Send(arg.parse().ok()?),
            _ => return None,
        })
    }
}

fn view(s: &State) -> El {
    el("main")
        .tid("wallet-home")
        .child(
            el("header")
                .class("account")
                .tid("account-header")
                .child(el("h1").tid("account-name").text("Account 1"))
                .child(
                    el("p")
                        .tid("account-address")
                        .text("0x52908400098527886E0F7030069857D2E4169EE7"),
                )
                .child(
                    el("p")
                        .tid("selected-token")
                        .text(s.selected.as_deref().unwrap_or("none")),
                ),
        )
        .child(el("ul").class("tokens").tid("token-list").children(
            s.tokens.iter().enumerate().map(|(i, t)| {
                el("li")
                    .class("token")
                    .tid("token-row")
                    .child(el("span").class("symbol").text(t.symbol.clone()))
                    .child(el("span").class("balance").text(amount(t.balance)))
                    .child(
                        el("button")
                            .tid("token-send")
                            .action_arg("send", i.to_string())
                            .text("Send"),
                    )
            }),
        ))
        .child(
            el("button")
                .tid("refresh")
                .action("refresh")
                .text("Refresh"),
        )
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

fn root() -> (Document, Element) {
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .expect_throw("no document");
    let root = doc.get_element_by_id("app").expect_throw("no #app");
    (doc, root)
}

fn redraw(keep_typed: bool) {
    let (doc, root) = root();
    STATE.with_borrow(|s| {
        if let Some(s) = s {
            render(&doc, &root, &view(s), keep_typed);
        }
    });
}

fn dispatch(a: Action) {
    STATE.with_borrow_mut(|s| {
        let Some(s) = s else { return };
        match a {
            Action::Refresh => {
                for t in &mut s.tokens {
                    t.balance = next_balance(t.balance);
                }
                let i = s.tokens.len();
                s.tokens.push(Token {
                    symbol: symbol(i),
                    balance: initial_balance(i),
                });
            }
            Action::Send(i) => s.selected = s.tokens.get(i).map(|t| t.symbol.clone()),
        }
    });
    redraw(true);
}

/// Renders the screen with `n` token rows into `#app`.
#[wasm_bindgen]
pub fn start(n: u32) {
    let tokens = (0..n as usize)
        .map(|i| Token {
            symbol: symbol(i),
            balance: initial_balance(i),
        })
        .collect();
    STATE.set(Some(State {
        tokens,
        selected: None,
    }));
    let (_, root) = root();
    let click = Closure::<dyn Fn(web_sys::Event)>::new(|ev: web_sys::Event| {
        let Some(t) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        let Ok(Some(el)) = t.closest("button[data-action]") else {
            return;
        };
        let action = el.get_attribute("data-action").unwrap_or_default();
        let arg = el.get_attribute("data-arg").unwrap_or_default();
        if let Some(a) = Action::parse(&action, &arg) {
            dispatch(a);
        }
    });
    let _ = root.add_event_listener_with_callback("click", click.as_ref().unchecked_ref());
    click.forget();
    redraw(false);
}
