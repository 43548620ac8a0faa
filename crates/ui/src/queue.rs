//! The approval window against clickjacking and request floods (issue 13,
//! item 7). A site gets one approval window: its further requests wait in it
//! (answering one shows the next), the window says how many wait and offers
//! "Reject all from this site". Approve is enabled only once the window has
//! been visible and focused for [`ARM_DELAY_MS`], and again after every new
//! request is shown, so a click aimed at something else (a page that opens
//! the window under the cursor, a double click that would land on the next
//! request) approves nothing.

use crate::view::{el, Action, El, Ui};

/// How long the window must be visible and focused before Approve works.
pub const ARM_DELAY_MS: i32 = 700;

/// "N more requests from this site are waiting" and its Reject-all button.
pub fn waiting(ui: &Ui) -> Option<El> {
    let a = ui.approval.as_ref()?;
    if a.queued == 0 {
        return None;
    }
    let text = if a.queued == 1 {
        "1 more request from this site is waiting.".to_owned()
    } else {
        format!("{} more requests from this site are waiting.", a.queued)
    };
    Some(
        el("div")
            .class("notice")
            .tid("approval-queued")
            .child(el("p").text(text))
            .child(
                el("button")
                    .attr("type", "button")
                    .class("btn danger")
                    .tid("approval-reject-site")
                    .on(Action::RejectSite)
                    .text("Reject all from this site"),
            ),
    )
}

/// Whether Approve may be clicked now.
pub fn armed(ui: &Ui) -> bool {
    ui.approve_armed
}

#[cfg(test)]
mod tests {
    use crate::model::{Approval, WalletState};
    use crate::view::{view, Page, Ui};
    use serde_json::json;

    fn ui(queued: u32, armed: bool) -> Ui {
        let mut ui = Ui::new(Page::Approval);
        ui.state = Some(WalletState {
            initialized: true,
            unlocked: true,
            ..Default::default()
        });
        ui.approval = Some(Approval {
            queued,
            ..Approval::example(
                "personal_sign",
                "https://dapp.example",
                json!({"message": "0x00"}),
                serde_json::Value::Null,
            )
        });
        ui.route();
        ui.approve_armed = armed;
        ui
    }

    #[test]
    fn approve_waits_until_the_window_is_armed() {
        let v = view(&ui(0, false), "");
        assert!(v
            .find("approval-approve")
            .unwrap()
            .get("disabled")
            .is_some());
        assert!(
            v.find("approval-reject").unwrap().get("disabled").is_none(),
            "rejecting needs no delay"
        );
        let v = view(&ui(0, true), "");
        assert!(v
            .find("approval-approve")
            .unwrap()
            .get("disabled")
            .is_none());
    }

    #[test]
    fn waiting_requests_are_counted_with_a_reject_all() {
        assert!(view(&ui(0, true), "").find("approval-queued").is_none());
        let v = view(&ui(1, true), "");
        assert_eq!(
            v.find("approval-queued").unwrap().text_content(),
            "1 more request from this site is waiting.Reject all from this site"
        );
        let v = view(&ui(3, true), "");
        assert!(v
            .find("approval-queued")
            .unwrap()
            .text_content()
            .starts_with("3 more requests"));
        assert!(v.find("approval-reject-site").is_some());
    }
}
