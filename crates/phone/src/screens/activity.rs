//! Activity: the group's signed audit log, the extension's own view (its
//! filters, the findings of the signature and chain checks in red, the
//! JSON and CSV exports, said for a phone), fed from this phone's device
//! engine; under it, turning the log off, which says first what it does.

use super::button;
use crate::activity::{turn_off_text, TURN_OFF};
use crate::model::Phone;
use tandem_ui::view::{el, El, Node, Page, Ui};

pub(crate) fn view(p: &Phone) -> El {
    let mut ui = Ui::new(Page::Popup);
    ui.audit = p.audit.clone();
    ui.utc_offset_min = p.utc_offset_min;
    ui.error = p.error.clone();
    ui.notice = p.notice.clone();
    let mut screen = tandem_ui::audit::audit_screen(&ui, tandem_ui::devices::Here::Phone);
    // Under the intro, above the list: reached without scrolling a long log.
    let at = screen
        .children
        .iter()
        .position(|c| matches!(c, Node::El(e) if e.get("data-testid") == Some("audit-about")))
        .map_or(screen.children.len(), |i| i + 1);
    screen.children.insert(at, Node::El(turn_off(p)));
    screen
}

fn turn_off(p: &Phone) -> El {
    if !p.turning_off {
        return button(
            "Turn off the Activity log on this phone",
            "activity-off-ask",
            "activity-off-ask",
            "btn link",
        );
    }
    let waiting = p.sync.as_ref().map_or(0, |v| v.log_waiting);
    el("div")
        .class("stack")
        .attr("role", "group")
        .tid("activity-off")
        .child(el("h2").text("Turn off the Activity log?"))
        .children(
            turn_off_text(waiting)
                .into_iter()
                .map(|t| el("p").class("small").text(t)),
        )
        .children(TURN_OFF.iter().map(|(arg, label, means)| {
            el("div")
                .class("stack")
                .child(el("p").class("muted small").text(*means))
                .child(
                    el("button")
                        .attr("type", "button")
                        .class(if *arg == "delete" {
                            "btn danger"
                        } else {
                            "btn"
                        })
                        .tid(format!("activity-off-{arg}"))
                        .action_arg("activity-off", *arg)
                        .text(*label),
                )
        }))
        .child(button(
            "Keep it on",
            "activity-off-cancel",
            "activity-off-cancel",
            "btn link",
        ))
}
