//! The network list and the add/edit network form.

use super::{back_bar, button, el, error_box, form, prefilled, primary, Action, El, Ui};
use crate::model::Network;
use crate::model::NetworkExt as _;

pub(super) fn networks(ui: &Ui) -> El {
    let Some(st) = &ui.state else {
        return el("div");
    };
    let cur = st.network.as_ref().map(Network::id).unwrap_or(0);
    let rows = st.networks.iter().map(|n| {
        let id = n.id().to_string();
        el("li")
            .class(if n.id() == cur {
                "row selectable selected"
            } else {
                "row selectable"
            })
            .tid(format!("network-row-{id}"))
            .child(
                el("button")
                    .attr("type", "button")
                    .class("row-main")
                    .tid(format!("network-use-{id}"))
                    .on(Action::SelectNetwork(id.clone()))
                    .child(
                        el("span")
                            .class("col")
                            .child(el("span").text(n.name.clone()))
                            .child(
                                el("span")
                                    .class("muted small")
                                    .text(format!("Chain {id} · {}", n.symbol)),
                            ),
                    ),
            )
            .child(
                button(
                    "Edit",
                    &format!("network-edit-{id}"),
                    Action::EditNetwork(id.clone()),
                )
                .class("btn small"),
            )
            .maybe((!n.builtin).then(|| {
                button(
                    "Remove",
                    &format!("network-remove-{id}"),
                    Action::RemoveNetwork(id.clone()),
                )
                .class("btn small danger")
            }))
    });
    el("div")
        .class("stack screen")
        .tid("networks-screen")
        .child(back_bar("Networks"))
        .maybe(error_box(ui))
        .child(el("ul").class("list").children(rows))
        .child(button("Add network", "network-add", Action::NewNetwork).class("btn primary"))
}

pub(super) fn network_form(ui: &Ui) -> El {
    let n = ui.editing_network.clone();
    let editing = n.is_some();
    let n = n.unwrap_or_else(crate::model::unknown_network);
    let id = if editing {
        n.id().to_string()
    } else {
        String::new()
    };
    el("div")
        .class("stack screen")
        .tid("network-form-screen")
        .child(back_bar(if editing {
            "Edit network"
        } else {
            "Add network"
        }))
        .child(
            form(Action::SaveNetwork, "network-form")
                .child(prefilled("network-form-chainid", "Chain ID", &id, editing))
                .child(prefilled("network-form-name", "Name", &n.name, false))
                .child(prefilled("network-form-rpc", "RPC URL", &n.rpc_url, false))
                .child(prefilled(
                    "network-form-symbol",
                    "Currency symbol",
                    &n.symbol,
                    false,
                ))
                .child(prefilled(
                    "network-form-explorer",
                    "Block explorer (optional)",
                    n.explorer.as_deref().unwrap_or(""),
                    false,
                ))
                .maybe(error_box(ui))
                .child(primary("Save", "network-form-save")),
        )
}

#[cfg(test)]
mod tests {
    use crate::view::fixtures::home_ui;
    use crate::view::{view, Screen};

    #[test]
    fn networks_screen() {
        let mut ui = home_ui();
        ui.screen = Screen::Networks;
        let v = view(&ui, "");
        assert!(v.find("network-remove-999").is_some());
        assert!(
            v.find("network-remove-1").is_none(),
            "built-in networks cannot be removed"
        );
        assert!(v
            .find("network-row-31337")
            .unwrap()
            .get("class")
            .unwrap()
            .contains("selected"));
    }
}
