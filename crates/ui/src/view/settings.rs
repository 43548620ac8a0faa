//! Settings, and the buttons to the screens below it.

use super::{
    back_bar, button, el, error_box, form, notice_box, prefilled, primary, Action, El, Screen, Ui,
};
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
            form(Action::SaveSettings, "settings-form")
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
        .child(button(
            "Networks",
            "open-networks",
            Action::Open(Screen::Networks),
        ))
        .child(button(
            "Change password",
            "open-change-password",
            Action::Open(Screen::ChangePassword),
        ))
        .child(button("Sync", "open-sync", Action::Open(Screen::Sync)))
        .child(button(
            "Activity log",
            "open-audit",
            Action::Open(Screen::Audit),
        ))
        .children(crate::secrets::settings_buttons())
        .child(button("Help", "open-help", Action::Open(Screen::Help)))
}
