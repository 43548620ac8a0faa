//! The Devices screen (every device of the wallet group, revoke with one
//! confirm step), the pairing line and removal notice on Home, and the relay
//! field in Settings. Data: the worker's `tandem_device::DevicesView`.

use crate::format::{date, date_time, relative_time};
use crate::view::{back_bar, el, error_box, notice_box, Action, El, Screen, Ui};
use tandem_device::{DeviceView, DevicesView, RemovedView};

/// The reasons offered when revoking another device: (wire word, label).
pub const REVOKE_REASONS: [(&str, &str); 3] = [
    ("lost", "Lost"),
    ("compromised", "Compromised: someone else may have it"),
    ("retired", "No longer used"),
];

/// A revocation reason as people say it.
pub fn reason_text(reason: &str) -> &str {
    match reason {
        "lost" => "lost",
        "compromised" => "compromised",
        "retired" => "no longer used",
        _ => "no reason given",
    }
}

/// A device's name, or `Unnamed device`.
pub fn device_name(d: &DeviceView) -> String {
    let n = d.name.trim();
    if n.is_empty() {
        "Unnamed device".into()
    } else {
        n.to_owned()
    }
}

fn remover(r: &RemovedView) -> String {
    match r.by_name.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() => n.to_owned(),
        _ => format!("device {}", r.by.get(..8).unwrap_or(&r.by)),
    }
}

/// Where the list is shown: the extension says "this browser", the phone
/// app "this phone".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Here {
    /// The extension's popup.
    Browser,
    /// The phone app.
    Phone,
}

impl Here {
    fn label(self) -> &'static str {
        match self {
            Here::Browser => "This browser",
            Here::Phone => "This phone",
        }
    }

    /// How a list names the device it is shown on, after its name.
    pub(crate) fn own(self) -> &'static str {
        match self {
            Here::Browser => " (this browser)",
            Here::Phone => " (this phone)",
        }
    }
}

/// What a device list needs besides the devices: the clock, the user's
/// time zone, the row being revoked and whether a command is running.
#[derive(Debug, Clone, Copy)]
pub struct ListCtx<'a> {
    /// Where it is shown.
    pub here: Here,
    /// Now, in ms since the epoch.
    pub now_ms: f64,
    /// Minutes east of UTC.
    pub utc_offset_min: i32,
    /// The device whose revoke confirmation is open.
    pub revoking: Option<&'a str>,
    /// A command is running (confirm buttons are disabled).
    pub busy: bool,
}

impl<'a> ListCtx<'a> {
    /// The popup's context.
    pub fn popup(ui: &'a Ui) -> Self {
        ListCtx {
            here: Here::Browser,
            now_ms: ui.now_ms,
            utc_offset_min: ui.utc_offset_min,
            revoking: ui.revoking.as_deref(),
            busy: ui.busy,
        }
    }
}

fn ms(secs: u64) -> f64 {
    secs as f64 * 1000.0
}

/// Active devices other than this browser.
fn others(v: &DevicesView) -> Vec<&DeviceView> {
    if v.removed.is_some() {
        return Vec::new();
    }
    v.devices
        .iter()
        .filter(|d| !d.this_device && d.removed.is_none())
        .collect()
}

/// "Removed from your wallet by …": shown on Home and on Devices.
pub fn removed_notice(ctx: &ListCtx<'_>, r: &RemovedView) -> El {
    el("p")
        .class("error removed")
        .attr("role", "alert")
        .tid("removed-notice")
        .text(format!(
            "Removed from your wallet by {} at {} ({}). {} no longer syncs with your other devices.",
            remover(r),
            date_time(r.at, ctx.utc_offset_min),
            reason_text(&r.reason),
            ctx.here.label()
        ))
}

/// A week before this browser's session token expires, say so (the engine
/// asked the group for a new one); once expired, or once removed, offer to
/// pair again from scratch.
pub fn pairing_expiry(ui: &Ui, v: &DevicesView) -> Option<El> {
    let again = || {
        el("button")
            .attr("type", "button")
            .class("btn primary")
            .tid("pair-again")
            .on(Action::PairAgain)
            .text("Pair again")
    };
    if v.removed.is_some() {
        return Some(el("div").class("stack").child(again()));
    }
    let expires = v.devices.iter().find(|d| d.this_device)?.token_expires?;
    let now = (ui.now_ms / 1000.0) as u64;
    if now >= expires {
        return Some(
            el("div")
                .class("stack")
                .child(
                    el("p")
                        .class("error")
                        .attr("role", "alert")
                        .tid("token-expired")
                        .text(format!(
                            "This browser's pairing expired on {}: your other devices no longer \
                             accept it. Pair it again.",
                            date_time(expires, ui.utc_offset_min)
                        )),
                )
                .child(again()),
        );
    }
    (expires <= now + 7 * 86_400).then(|| {
        el("p")
            .class("notice")
            .attr("role", "status")
            .tid("token-expiring")
            .text(format!(
                "This browser's pairing expires on {}. Tandem asked your other devices to \
                 renew it; that happens as soon as one of them is online.",
                date_time(expires, ui.utc_offset_min)
            ))
    })
}

/// The text of Home's pairing line.
pub fn pairing_line(v: Option<&DevicesView>, now_ms: f64) -> String {
    let others = v.map(others).unwrap_or_default();
    match others.as_slice() {
        [] => "Not paired: pair your phone".into(),
        [d] => match d.last_seen {
            Some(t) => format!(
                "Paired with {} · seen {}",
                device_name(d),
                relative_time(ms(t), now_ms)
            ),
            None => format!("Paired with {}", device_name(d)),
        },
        many => format!("Paired with {} devices", many.len()),
    }
}

/// Home: the removal notice (if any) and the one-line pairing state with
/// the way to Devices.
pub fn home_section(ui: &Ui) -> El {
    let v = ui.devices.as_ref();
    let paired = v.is_some_and(|v| !others(v).is_empty());
    el("section")
        .class("pairing")
        .maybe(
            v.and_then(|v| v.removed.as_ref())
                .map(|r| removed_notice(&ListCtx::popup(ui), r)),
        )
        .child(
            el("div")
                .class("pairing-row")
                .child(
                    el("button")
                        .attr("type", "button")
                        .class(if paired {
                            "pair-line paired"
                        } else {
                            "pair-line"
                        })
                        .tid("home-pairing-line")
                        .attr(
                            "aria-busy",
                            if ui.devices_loaded { "false" } else { "true" },
                        )
                        .on(Action::Open(Screen::Devices))
                        .child(el("span").class("dot").attr("aria-hidden", "true"))
                        .child(el("span").class("grow").text(if ui.devices_loaded {
                            pairing_line(v, ui.now_ms)
                        } else {
                            // Keeps the row's place until the cache is read.
                            String::new()
                        })),
                )
                .child(
                    el("button")
                        .attr("type", "button")
                        .class("btn small")
                        .tid("open-devices")
                        .on(Action::Open(Screen::Devices))
                        .text("Devices"),
                ),
        )
}

/// `Online`, `Offline, retrying`, with `· 2 changes waiting`.
pub fn status_text(v: &DevicesView) -> String {
    let mut s = if v.removed.is_some() {
        "Offline".to_owned()
    } else if v.online {
        "Online".to_owned()
    } else {
        "Offline, retrying".to_owned()
    };
    let n = v.waiting.outbox + v.waiting.revocations;
    if n > 0 {
        s.push_str(&format!(
            " · {n} change{} waiting",
            if n == 1 { "" } else { "s" }
        ));
    }
    s
}

fn confirm_step(ui: &ListCtx<'_>, d: &DeviceView) -> El {
    let name = device_name(d);
    let (text, button) = if d.this_device {
        (
            format!(
                "{} will leave your wallet group at once: it stops syncing with \
                 your other devices and gets no new messages, and the others rotate the \
                 group's key. This cannot be undone; pair it again to use it with them.",
                ui.here.label()
            ),
            "Leave this wallet group".to_owned(),
        )
    } else {
        (
            format!(
                "{name} will be signed out of your wallet at once and get no new messages; \
                 the wallet's group key is rotated. This cannot be undone; pair it again to use it."
            ),
            format!("Revoke {name}"),
        )
    };
    let mut confirm = el("button")
        .attr("type", "button")
        .class("btn primary danger-fill")
        .tid("revoke-confirm")
        .on(Action::RevokeConfirm(d.id.clone()))
        .text(button);
    if ui.busy {
        confirm = confirm.attr("disabled", "");
    }
    let reasons = (!d.this_device).then(|| {
        el("fieldset")
            .class("reasons")
            .child(
                el("legend")
                    .class("label")
                    .text("Why? (kept in the record)"),
            )
            .children(REVOKE_REASONS.iter().map(|(value, label)| {
                el("label")
                    .class("check")
                    .child(
                        el("input")
                            .attr("type", "radio")
                            .attr("name", "revoke-reason")
                            .attr("value", *value)
                            .tid(format!("revoke-reason-{value}")),
                    )
                    .child(el("span").text(*label))
            }))
    });
    let erase = (!d.this_device).then(|| {
        el("label")
            .class("check")
            .child(
                el("input")
                    .attr("type", "checkbox")
                    .attr("name", "revoke-erase")
                    .tid("revoke-erase"),
            )
            .child(el("span").text(
                "Also erase the wallet on that device (only if lost or compromised; \
                 it can be restored from the recovery phrase)",
            ))
    });
    el("div")
        .class("revoke-step stack")
        .attr("role", "group")
        .attr(
            "aria-label",
            if d.this_device {
                "Leave the wallet group"
            } else {
                "Revoke device"
            },
        )
        .tid("revoke-step")
        .child(
            el("p")
                .class("warn danger")
                .tid("revoke-warning")
                .text(text),
        )
        .maybe(reasons)
        .maybe(erase)
        .child(
            el("div")
                .class("pair-actions")
                .child(
                    el("button")
                        .attr("type", "button")
                        .class("btn")
                        .tid("revoke-cancel")
                        .on(Action::RevokeCancel)
                        .text("Cancel"),
                )
                .child(confirm),
        )
}

fn device_row(ui: &ListCtx<'_>, v: &DevicesView, d: &DeviceView) -> El {
    let active = d.removed.is_none() && v.removed.is_none();
    // Leaving makes sense only when there is a group to leave.
    let can_revoke = active && (!d.this_device || !others(v).is_empty());
    let confirming = can_revoke && ui.revoking == Some(d.id.as_str());
    let name = device_name(d);
    let mut info = el("div").class("col grow").child(
        el("span")
            .class("device-title")
            .child(
                el("span")
                    .class("device-name")
                    .tid("device-name")
                    .text(name.clone()),
            )
            .maybe(d.this_device.then(|| {
                el("span")
                    .class("pill ok")
                    .tid("device-this")
                    .text(ui.here.label())
            })),
    );
    let paired = if d.founder {
        Some("Started this wallet".to_owned())
    } else {
        d.paired_at
            .map(|t| format!("Paired on {}", date(t, ui.utc_offset_min)))
    };
    if let Some(p) = paired {
        info = info.child(el("span").class("muted small").tid("device-paired").text(p));
    }
    if !d.this_device && active {
        info = info.child(match d.last_seen {
            Some(t) => el("span")
                .class("muted small")
                .tid("device-last-seen")
                .attr("title", date_time(t, ui.utc_offset_min))
                .text(format!("Last seen {}", relative_time(ms(t), ui.now_ms))),
            None => el("span")
                .class("muted small")
                .tid("device-last-seen")
                .text("Not seen yet"),
        });
    }
    if let Some(r) = &d.removed {
        info = info.child(
            el("span")
                .class("small removed-line")
                .tid("device-removed")
                .attr("title", date_time(r.at, ui.utc_offset_min))
                .text(format!(
                    "Revoked by {} · {}",
                    remover(r),
                    reason_text(&r.reason)
                )),
        );
    }
    let revoke = (can_revoke && !confirming).then(|| {
        let b = el("button")
            .attr("type", "button")
            .class("btn small danger")
            .tid("device-revoke")
            .on(Action::Revoke(d.id.clone()));
        if d.this_device {
            b.text("Leave group")
        } else {
            // Visible "Revoke"; the name tells the buttons apart for
            // screen readers.
            b.attr("aria-label", format!("Revoke {name}"))
                .text("Revoke")
        }
    });
    el("li")
        .class(if active { "device" } else { "device revoked" })
        .tid("device-row")
        .attr("data-device", d.id.clone())
        .child(el("div").class("row").child(info).maybe(revoke))
        .maybe(confirming.then(|| confirm_step(ui, d)))
}

/// The connection line above the list: a dot and [`status_text`].
pub fn status_line(v: &DevicesView) -> El {
    el("p")
        .class(if v.online { "status online" } else { "status" })
        .attr("role", "status")
        .tid("devices-status")
        .child(el("span").class("dot").attr("aria-hidden", "true"))
        .child(el("span").text(status_text(v)))
}

/// Every device of the group, each with its revoke button.
pub fn device_list(ctx: &ListCtx<'_>, v: &DevicesView) -> El {
    el("ul")
        .class("list device-list")
        .tid("device-list")
        .children(v.devices.iter().map(|d| device_row(ctx, v, d)))
}

/// The Devices screen.
pub fn devices_screen(ui: &Ui) -> El {
    let screen = el("div")
        .class("stack screen devices")
        .tid("devices-screen")
        .child(back_bar("Devices"));
    let Some(v) = &ui.devices else {
        return screen.maybe(error_box(ui)).child(
            el("p")
                .class("muted center-text")
                .tid("devices-loading")
                .text("Loading devices…"),
        );
    };
    let paired = !others(v).is_empty();
    let resume = (v.pairing_active && v.removed.is_none()).then(|| {
        el("button")
            .attr("type", "button")
            .class("banner")
            .tid("pair-resume")
            .on(Action::ResumePairing)
            .text("A pairing is in progress: continue it")
    });
    screen
        .maybe(
            v.removed
                .as_ref()
                .map(|r| removed_notice(&ListCtx::popup(ui), r)),
        )
        .maybe(pairing_expiry(ui, v))
        .child(status_line(v))
        .maybe(notice_box(ui))
        .maybe(error_box(ui))
        .maybe(resume)
        .child(device_list(&ListCtx::popup(ui), v))
        .maybe(phone_policy(ui, v))
        .child(
            el("div")
                .class("stack")
                .child(
                    el("button")
                        .attr("type", "button")
                        .class("btn primary")
                        .tid("pair-start")
                        .on(Action::StartPair)
                        .text("Pair a phone"),
                )
                .child(
                    el("button")
                        .attr("type", "button")
                        .class("btn")
                        .tid("add-device-start")
                        .on(Action::StartAddDevice)
                        .text("Add a device from a link"),
                )
                .maybe(paired.then(|| {
                    el("p").class("muted small").text(
                        "This browser is already in a wallet group: add another phone from \
                         the link it shows.",
                    )
                })),
        )
}

/// What the phone confirms before this browser signs (set on the phone
/// only; the popup cannot loosen it).
fn phone_policy(ui: &Ui, v: &DevicesView) -> Option<El> {
    let p = ui.state.as_ref()?.phone.as_ref()?;
    let phone = v
        .devices
        .iter()
        .find(|d| d.id.eq_ignore_ascii_case(&p.owner))
        .map(device_name)
        .unwrap_or_else(|| "Your phone".into());
    let rules = p.policy.describe();
    let body = if rules.is_empty() {
        el("p").text(format!("{phone} confirms nothing this browser signs."))
    } else {
        el("div")
            .child(el("p").text(format!(
                "{phone} must confirm these before this browser signs (it waits {} s):",
                p.policy.timeout_secs
            )))
            .child(el("ul").children(rules.into_iter().map(|r| el("li").text(r))))
    };
    Some(
        el("section")
            .class("card stack")
            .tid("devices-phone-policy")
            .child(el("h2").class("small").text("Confirm on phone"))
            .child(body)
            .child(el("p").class("muted small").text(
                "Only the phone changes these rules (Tandem on the phone → Confirm on phone).",
            )),
    )
}

/// Settings: the relay field (shown once `devices.relay.get` answered).
pub fn relay_field(ui: &Ui) -> El {
    let Some(r) = &ui.relay else {
        return el("p")
            .class("muted small")
            .tid("settings-relay-loading")
            .text("Relay: loading…");
    };
    let value = if r.relay == r.default {
        ""
    } else {
        r.relay.as_str()
    };
    el("label")
        .class("field")
        .child(el("span").class("label").text("Relay"))
        .child(
            el("input")
                .attr("type", "url")
                .attr("autocomplete", "off")
                .attr("spellcheck", "false")
                .attr("placeholder", r.default.clone())
                .attr("value", value)
                .attr("aria-describedby", "relay-hint")
                .tid("settings-relay-input"),
        )
        .child(
            el("span")
                .class("muted small")
                .attr("id", "relay-hint")
                .tid("settings-relay-default")
                .text(format!(
                    "Default: {}. Used when this browser's device group is first created; \
                     leave empty for the default.",
                    r.default
                )),
        )
}
