//! Home's activity tab: this wallet's own transactions.

use crate::format::{format_native, relative_time, shorten_address};
use crate::model::{ActivityItem, Network};
use crate::view::{el, El, Ui};

pub(super) fn activity_panel(ui: &Ui, net: &Network) -> El {
    let items: Vec<&ActivityItem> = ui
        .activity
        .iter()
        .filter(|a| crate::model::chain_id_of(&a.chain_id).is_none_or(|c| c == net.id()))
        .collect();
    if items.is_empty() {
        return el("ul")
            .class("list")
            .tid("activity-list")
            .child(el("li").class("empty muted").text("No transactions yet."));
    }
    el("ul")
        .class("list")
        .tid("activity-list")
        .children(items.into_iter().map(|a| {
            let status_cls = match a.status.as_str() {
                "confirmed" => "pill ok",
                "failed" => "pill bad",
                _ => "pill wait",
            };
            el("li")
                .class("row tx")
                .tid(format!("activity-row-{}", a.hash))
                .child(
                    el("div")
                        .class("col")
                        .child(el("span").text(match &a.to {
                            Some(to) => format!("To {}", shorten_address(to)),
                            None => "Contract deployment".into(),
                        }))
                        .child(el("span").class("muted small").text(format!(
                            "{} · {}",
                            shorten_address(&a.hash),
                            relative_time(a.submitted_at, ui.now_ms)
                        )))
                        .maybe(a.warning.as_ref().map(|w| {
                            el("span")
                                .class("warn small")
                                .tid(format!("activity-warning-{}", a.hash))
                                .text(w.clone())
                        }))
                        .maybe(crate::explorer::tx_link(net, &a.hash)),
                )
                .child(
                    el("div")
                        .class("col end")
                        .child(el("span").class("amt").text(format_native(
                            &a.value,
                            net.decimals(),
                            &net.symbol,
                        )))
                        .child(
                            el("span")
                                .class(status_cls)
                                .tid(format!("activity-status-{}", a.hash))
                                .text(a.status.clone()),
                        ),
                )
        }))
}
