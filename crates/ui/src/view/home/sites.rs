//! Home's sites tab: connected sites, each with a disconnect button.

use crate::model::WalletState;
use crate::view::{button, el, Action, El};

pub(super) fn sites_panel(st: &WalletState) -> El {
    if st.sites.is_empty() {
        return el("ul")
            .class("list")
            .tid("site-list")
            .child(el("li").class("empty muted").text("No connected sites."));
    }
    el("ul")
        .class("list")
        .tid("site-list")
        .children(st.sites.iter().map(|s| {
            el("li")
                .class("row")
                .tid(format!("site-row-{}", s.origin))
                .child(
                    el("div")
                        .class("col")
                        .child(el("span").class("origin").text(s.origin.clone()))
                        .child(el("span").class("muted small").text(format!(
                            "{} account{}",
                            s.accounts.len(),
                            if s.accounts.len() == 1 { "" } else { "s" }
                        ))),
                )
                .child(
                    button(
                        "Disconnect",
                        &format!("site-disconnect-{}", s.origin),
                        Action::Disconnect(s.origin.clone()),
                    )
                    .class("btn small danger"),
                )
        }))
}
