//! Virtual nodes to real DOM (the extension's pages and the phone app). The whole page is rebuilt on every change (the
//! pages are small); what the user typed survives a rebuild of the same screen, and no rebuild
//! happens while a button is pressed ([`held`]).

use crate::view::{El, Node};
use std::cell::Cell;
use std::collections::HashMap;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlInputElement, HtmlTextAreaElement};

const SVG_NS: &str = "http://www.w3.org/2000/svg";

fn build(doc: &Document, node: &El, in_svg: bool) -> Result<Element, wasm_bindgen::JsValue> {
    // An <svg> and everything in it live in the SVG namespace, or the
    // browser treats them as unknown HTML elements and draws nothing.
    let svg = in_svg || node.tag == "svg";
    let e = if svg {
        doc.create_element_ns(Some(SVG_NS), node.tag)?
    } else {
        doc.create_element(node.tag)?
    };
    for (k, v) in &node.attrs {
        e.set_attribute(k, v)?;
    }
    for c in &node.children {
        match c {
            Node::El(child) => {
                let c = build(doc, child, svg)?;
                e.append_child(&c)?;
            }
            Node::Text(t) => {
                e.append_child(&doc.create_text_node(t))?;
            }
        }
    }
    Ok(e)
}

/// Typed values of text fields (by test id) and the focused element (test
/// id, and `data-arg` to tell apart the rows' buttons that share one).
struct Typed {
    values: HashMap<String, String>,
    checked: HashMap<String, bool>,
    focus: Option<String>,
    focus_arg: Option<String>,
    /// The focused text field's selection (or caret), kept across the
    /// rebuild: a render while someone types (an event reloaded the page's
    /// data) would otherwise put the caret at the end, and what they type
    /// next (or text replacing a selection) would land in the wrong place.
    selection: Option<(u32, u32)>,
}

fn capture(root: &Element, doc: &Document) -> Typed {
    let mut t = Typed {
        values: HashMap::new(),
        checked: HashMap::new(),
        focus: None,
        focus_arg: None,
        selection: None,
    };
    if let Ok(list) = root.query_selector_all("input[data-testid], textarea[data-testid]") {
        for i in 0..list.length() {
            let Some(n) = list.item(i) else { continue };
            if let Some(inp) = n.dyn_ref::<HtmlInputElement>() {
                let id = inp.get_attribute("data-testid").unwrap_or_default();
                if matches!(inp.type_().as_str(), "checkbox" | "radio") {
                    t.checked.insert(id, inp.checked());
                } else {
                    t.values.insert(id, inp.value());
                }
            } else if let Some(ta) = n.dyn_ref::<HtmlTextAreaElement>() {
                t.values.insert(
                    ta.get_attribute("data-testid").unwrap_or_default(),
                    ta.value(),
                );
            }
        }
    }
    let active = doc.active_element();
    t.selection = active.as_ref().and_then(|e| {
        // (Fields without a selection, e.g. number inputs, answer Err.)
        if let Some(i) = e.dyn_ref::<HtmlInputElement>() {
            Some((i.selection_start().ok()??, i.selection_end().ok()??))
        } else if let Some(a) = e.dyn_ref::<HtmlTextAreaElement>() {
            Some((a.selection_start().ok()??, a.selection_end().ok()??))
        } else {
            None
        }
    });
    t.focus = active.as_ref().and_then(|e| e.get_attribute("data-testid"));
    t.focus_arg = active.and_then(|e| e.get_attribute("data-arg"));
    t
}

fn restore(root: &Element, typed: &Typed) {
    // A focused button keeps the focus across a rebuild (keyboard users
    // would otherwise be sent back to the top of the page).
    if let Some(id) = &typed.focus {
        let quoted = |s: &str| !s.contains(['"', '\\']);
        let sel = match &typed.focus_arg {
            Some(a) if quoted(a) => format!("[data-testid=\"{id}\"][data-arg=\"{a}\"]"),
            _ => format!("[data-testid=\"{id}\"]"),
        };
        if quoted(id) {
            if let Ok(Some(e)) = root.query_selector(&sel) {
                if let Some(h) = e.dyn_ref::<web_sys::HtmlElement>() {
                    let _ = h.focus();
                }
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
            if matches!(inp.type_().as_str(), "checkbox" | "radio") {
                if let Some(c) = typed.checked.get(&id) {
                    inp.set_checked(*c);
                }
            } else if let Some(v) = typed.values.get(&id) {
                inp.set_value(v);
            }
            if typed.focus.as_deref() == Some(id.as_str()) {
                let _ = inp.focus();
                if let Some((start, end)) = typed.selection {
                    let _ = inp.set_selection_range(start, end);
                }
            }
        } else if let Some(ta) = n.dyn_ref::<HtmlTextAreaElement>() {
            let id = ta.get_attribute("data-testid").unwrap_or_default();
            if let Some(v) = typed.values.get(&id) {
                ta.set_value(v);
            }
            if typed.focus.as_deref() == Some(id.as_str()) {
                let _ = ta.focus();
                if let Some((start, end)) = typed.selection {
                    let _ = ta.set_selection_range(start, end);
                }
            }
        }
    }
}

/// Longest a press (pointer down) holds renders back: one that ends outside
/// the window may never say so.
pub const PRESS_HOLD_MS: f64 = 1_000.0;

thread_local! {
    /// When the press under way started (ms), if one is.
    static PRESS: Cell<Option<f64>> = const { Cell::new(None) };
    /// A render held back by the press: how to do it when the press ends.
    static HELD: Cell<Option<fn()>> = const { Cell::new(None) };
}

/// Whether a render asked for now must wait for the press under way to
/// end; then `again` runs once it has (after its click), or at
/// [`PRESS_HOLD_MS`]. Every render replaces the page's nodes: one between a
/// button's pointerdown and pointerup left the click no element to land on
/// (the pressed button was gone), so the click did nothing. Background
/// renders come often (balances, sync status, the worker's events): a
/// person's click of ~100 ms was lost now and then, and Playwright's under
/// load (CI: Settings not opened).
pub fn held(root: &Element, again: fn()) -> bool {
    let Some(at) = PRESS.with(Cell::get) else {
        return false;
    };
    let now = js_sys::Date::now();
    if now - at >= PRESS_HOLD_MS {
        return false;
    }
    if HELD.with(|h| h.replace(Some(again))).is_none() {
        // For this press only: a press that ends within the second, and
        // another that starts, must not be let go by the first one's timer.
        later((PRESS_HOLD_MS - (now - at)).ceil() as i32, move || {
            let press = PRESS.with(Cell::get);
            if press.is_none() || press == Some(at) {
                release();
            }
        });
    }
    // For tests: how many renders a press held (a barrier, not a timing).
    let n = root
        .get_attribute("data-held-renders")
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    let _ = root.set_attribute("data-held-renders", &(n + 1).to_string());
    true
}

fn release() {
    PRESS.with(|p| p.set(None));
    if let Some(again) = HELD.with(Cell::take) {
        again();
    }
}

fn later(ms: i32, f: impl FnOnce() + 'static) {
    let cb = wasm_bindgen::closure::Closure::once_into_js(f);
    if let Some(w) = web_sys::window() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), ms);
    }
}

/// Renders wait while a pointer is pressed ([`held`]): call once per page.
pub fn hold_renders_during_presses(doc: &Document) {
    let down = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(|| {
        PRESS.with(|p| p.set(Some(js_sys::Date::now())));
    });
    // The click follows pointerup in the same task: the held render runs
    // after it, in a task of its own.
    let up = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(|| {
        PRESS.with(|p| p.set(None));
        if HELD.with(Cell::get).is_some() {
            later(0, release);
        }
    });
    for (kind, f) in [
        ("pointerdown", &down),
        ("pointerup", &up),
        ("pointercancel", &up),
    ] {
        let _ =
            doc.add_event_listener_with_callback_and_bool(kind, f.as_ref().unchecked_ref(), true);
    }
    down.forget();
    up.forget();
}

/// Replaces the content of `root` with `node`. With `keep_typed`, text typed
/// into fields of the same test id is carried over.
/// Callers ask [`held`] first.
pub fn render(doc: &Document, root: &Element, node: &El, keep_typed: bool) {
    let typed = keep_typed.then(|| capture(root, doc));
    match build(doc, node, false) {
        Ok(new) => {
            root.replace_children_with_node_1(&new);
            if let Some(t) = typed {
                restore(root, &t);
            } else if let Ok(Some(first)) = root.query_selector(
                "input:not([type=checkbox]):not([type=radio]):not([readonly]), textarea",
            ) {
                // A new screen: put the cursor in its first field.
                if let Some(h) = first.dyn_ref::<web_sys::HtmlElement>() {
                    let _ = h.focus();
                }
            }
        }
        Err(e) => web_sys::console::error_2(&"tandem-ui: render failed".into(), &e),
    }
}

/// The value of the field with this test id ("" if absent).
pub fn field(root: &Element, testid: &str) -> String {
    let Ok(Some(e)) = root.query_selector(&format!("[data-testid=\"{testid}\"]")) else {
        return String::new();
    };
    if let Some(i) = e.dyn_ref::<HtmlInputElement>() {
        i.value()
    } else if let Some(t) = e.dyn_ref::<HtmlTextAreaElement>() {
        t.value()
    } else if let Some(s) = e.dyn_ref::<web_sys::HtmlSelectElement>() {
        s.value()
    } else {
        String::new()
    }
}

/// Whether the checkbox with this test id is checked.
pub fn checked(root: &Element, testid: &str) -> bool {
    root.query_selector(&format!("[data-testid=\"{testid}\"]"))
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
        .is_some_and(|i| i.checked())
}

/// Sets a text field's value (a pick from a list, Max).
pub fn set_field(root: &Element, testid: &str, value: &str) {
    if let Ok(Some(e)) = root.query_selector(&format!("[data-testid=\"{testid}\"]")) {
        if let Some(i) = e.dyn_ref::<HtmlInputElement>() {
            i.set_value(value);
        }
    }
}

/// Clears a field (used for passwords after they were sent).
pub fn clear(root: &Element, testid: &str) {
    if let Ok(Some(e)) = root.query_selector(&format!("[data-testid=\"{testid}\"]")) {
        if let Some(i) = e.dyn_ref::<HtmlInputElement>() {
            i.set_value("");
        }
    }
}

/// The `value` of the checked radio button of group `name`, if any.
pub fn checked_radio(root: &Element, name: &str) -> Option<String> {
    root.query_selector(&format!("input[type=radio][name=\"{name}\"]:checked"))
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
        .map(|i| i.value())
}

/// Whether the checkbox with this name is checked.
pub fn checkbox(root: &Element, name: &str) -> bool {
    root.query_selector(&format!("input[type=checkbox][name=\"{name}\"]"))
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
        .is_some_and(|i| i.checked())
}

/// Sets the text of the element with this test id, if it is on the page
/// (a countdown ticking without rebuilding the page).
pub fn set_text(root: &Element, testid: &str, text: &str) {
    if let Ok(Some(e)) = root.query_selector(&format!("[data-testid=\"{testid}\"]")) {
        if e.text_content().as_deref() != Some(text) {
            e.set_text_content(Some(text));
        }
    }
}
