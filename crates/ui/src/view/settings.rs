//! Settings, and the buttons to the screens below it.

use super::{back_bar, button, el, error_box, form, notice_box, prefilled, primary, El, Ui};
use crate::devices;

pub(super) fn settings(ui: &Ui) -> El {
    let Some(st) = &ui.state else {
        return el("div");
    };
    let mut own = el("input")
        .attr("type", "checkbox")
        .tid("settings-own-ethereum");
    if st.settings.own_window_ethereum {
        own = own.attr("checked", "");
    }
    el("div")
        .class("stack screen")
        .tid("settings-screen")
        .child(back_bar("Settings"))
        .child(
            form("save-settings", "settings-form")
                .child(
                    prefilled(
                        "settings-autolock-input",
                        "Auto-lock after (minutes)",
                        &st.settings.auto_lock_minutes.to_string(),
                        false,
                    )
                    .attr("inputmode", "numeric"),
                )
                .child(
                    el("label").class("check").child(own).child(
                        el("span").text("Use window.ethereum even if another wallet set it"),
                    ),
                )
                .child(devices::relay_field(ui))
                .maybe(error_box(ui))
                .maybe(notice_box(ui))
                .child(primary("Save", "settings-save")),
        )
        .child(button("Networks", "open-networks", "open").attr("data-arg", "networks"))
        .child(
            button("Change password", "open-change-password", "open")
                .attr("data-arg", "change-password"),
        )
        .child(button("Sync", "open-sync", "open").attr("data-arg", "sync"))
        .child(button("Activity log", "open-audit", "open").attr("data-arg", "audit"))
        .children(crate::secrets::settings_buttons())
}
