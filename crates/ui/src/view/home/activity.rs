//! Home's activity tab: this wallet's own transactions, and the ones the
//! group's other devices sent (synced, shown only).

use crate::format::{format_native, relative_time, shorten_address};
use crate::model::NetworkExt as _;
use crate::model::{ActivityItem, Network};
use crate::view::{el, El, Ui};
use tandem_sync::ActivityStatus;

pub(super) fn activity_panel(ui: &Ui, net: &Network) -> El {
    let items: Vec<&ActivityItem> = ui
        .activity
        .iter()
        .filter(|a| a.chain_id == net.id())
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
            let (status_cls, status) = match a.status {
                ActivityStatus::Confirmed => ("pill ok", "confirmed"),
                ActivityStatus::Failed => ("pill bad", "failed"),
                ActivityStatus::Replaced => ("pill wait", "replaced"),
                ActivityStatus::Pending => ("pill wait", "pending"),
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
                            relative_time(a.submitted_at as f64, ui.now_ms)
                        )))
                        .maybe(a.sent_from.as_ref().map(|d| {
                            el("span")
                                .class("muted small")
                                .tid(format!("activity-from-{}", a.hash))
                                .text(format!("Sent from {d}"))
                        }))
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
                                .text(status),
                        ),
                )
        }))
}

#[cfg(test)]
mod tests {
    use crate::view::fixtures::home_ui;
    use crate::view::{view, Tab};

    #[test]
    fn another_devices_transaction_says_which_device_sent_it() {
        let mut ui = home_ui();
        let mine = ui.activity[0].hash.clone();
        // As the worker lists it: the synced one first (newer), with its
        // value in decimal wei.
        let theirs = "0xee00000000000000000000000000000000000000000000000000000000000003";
        ui.activity.insert(
            0,
            serde_json::from_value(serde_json::json!({
                "hash": theirs, "chainId": 31337,
                "from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
                "to": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
                "value": "100000000000000000", "status": "pending", "submittedAt": 30_000,
                "sentFrom": "Pixel 8"
            }))
            .unwrap(),
        );
        ui.tab = Tab::Activity;
        let v = view(&ui, "");
        assert_eq!(
            v.find(&format!("activity-from-{theirs}"))
                .unwrap()
                .text_content(),
            "Sent from Pixel 8"
        );
        let row = v.find(&format!("activity-row-{theirs}")).unwrap();
        assert!(
            row.text_content().contains("0.1 ETH"),
            "{}",
            row.text_content()
        );
        assert_eq!(
            v.find(&format!("activity-status-{theirs}"))
                .unwrap()
                .text_content(),
            "pending"
        );
        // The wallet's own transaction names no device.
        assert!(v.find(&format!("activity-row-{mine}")).is_some());
        assert!(v.find(&format!("activity-from-{mine}")).is_none());
    }
}
