//! Home's tokens tab, and the add-token form.

use crate::format::format_units;
use crate::model::NetworkExt as _;
use crate::model::{Network, Portfolio};
use crate::view::{
    back_bar, button, el, error_box, form, prefilled, primary, Action, El, Screen, Ui,
};

pub(super) fn tokens_panel(
    p: Option<&Portfolio>,
    net: &Network,
    hidden: &crate::hide::Hidden,
) -> El {
    let mut list = el("ul").class("list").tid("token-list");
    let Some(p) = p else {
        return list.child(
            el("li")
                .class("empty muted")
                .text("Balances load when the network answers."),
        );
    };
    list = list.child(
        el("li")
            .class("row")
            .tid("token-row-native")
            .child(el("span").class("sym grow").text(net.symbol.clone()))
            .child(
                el("span")
                    .class("amt")
                    .text(format_units(&p.native.balance, 18, 6).unwrap_or_else(|_| "?".into())),
            )
            // Keeps the amounts aligned with the token rows' remove buttons.
            .child(el("span").class("x-slot").attr("aria-hidden", "true")),
    );
    for t in p
        .tokens
        .iter()
        .filter(|t| !hidden.is_hidden(net.id(), &t.address))
    {
        list = list.child(
            el("li")
                .class("row")
                .tid(format!("token-row-{}", t.address.to_lowercase()))
                .child(el("span").class("sym grow").text(t.symbol.clone()))
                .child(
                    el("span")
                        .class("amt")
                        .tid(format!("token-balance-{}", t.symbol))
                        .text(
                            format_units(&t.balance, t.decimals, 6).unwrap_or_else(|_| "?".into()),
                        ),
                )
                .child(crate::hide::hide_button(t))
                .child(
                    el("button")
                        .attr("type", "button")
                        .class("icon-btn small-x")
                        .tid(format!("token-remove-{}", t.address.to_lowercase()))
                        .on(Action::RemoveToken(t.address.clone()))
                        .attr("aria-label", format!("Stop showing {}", t.symbol))
                        .attr("title", "Stop showing this token")
                        .text("×"),
                ),
        );
    }
    list.maybe(crate::hide::hidden_section(&p.tokens, net, hidden))
        .child(
            el("li")
                .class("row-actions")
                .child(
                    button("Add token", "token-add", Action::Open(Screen::AddToken))
                        .class("btn small"),
                )
                .child(button("Refresh", "portfolio-refresh", Action::Refresh).class("btn small")),
        )
}

pub(crate) fn token_form(ui: &Ui) -> El {
    let net = ui
        .state
        .as_ref()
        .and_then(|s| s.network.clone())
        .unwrap_or_else(crate::model::unknown_network);
    el("div")
        .class("stack screen")
        .tid("token-form-screen")
        .child(back_bar("Add a token"))
        .child(
            form(Action::SaveToken, "token-form")
                .child(el("p").class("muted").text(format!(
                    "On {}. Leave symbol and decimals empty to read them from the token contract.",
                    net.name
                )))
                .child(prefilled(
                    "token-form-address",
                    "Token contract address",
                    "",
                    false,
                ))
                .child(prefilled(
                    "token-form-symbol",
                    "Symbol (optional)",
                    "",
                    false,
                ))
                .child(prefilled(
                    "token-form-decimals",
                    "Decimals (optional)",
                    "",
                    false,
                ))
                .maybe(error_box(ui))
                .child(primary("Add token", "token-form-save")),
        )
}

#[cfg(test)]
mod tests {
    use crate::view::fixtures::home_ui;
    use crate::view::{view, Action, Screen};

    #[test]
    fn token_rows_and_form() {
        let mut ui = home_ui();
        let v = view(&ui, "");
        let rm = v
            .find("token-remove-0x5fbdb2315678afecb367f032d93f642f64180aa3")
            .unwrap();
        assert_eq!(rm.get("data-action"), Some("remove-token"));
        assert_eq!(v.find("token-add").unwrap().get("data-arg"), Some("token"));
        ui.screen = Screen::AddToken;
        let v = view(&ui, "");
        assert_eq!(v.get("data-screen"), Some("token-form"));
        assert_eq!(
            v.find("token-form").unwrap().get("data-action"),
            Some("save-token")
        );
        assert!(v.find("token-form-decimals").is_some());
        assert_eq!(
            Action::parse("open", "token"),
            Some(Action::Open(Screen::AddToken))
        );
    }
}
