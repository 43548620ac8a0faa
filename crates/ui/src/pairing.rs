//! The two pairing flows of the popup: **Pair a phone** (this browser is the
//! new device and shows a QR code) and **Add a device from a link** (this
//! browser approves another device from its pasted link).
//!
//! The device engine in the worker reports every pairing step as a
//! `devices` event and keeps only the last one in its `DevicesView`. A
//! [`Flow`] follows the steps of the pairing the user started here and
//! ignores what an earlier pairing left in the view, so a new flow never
//! shows the old one's "Paired" or "Failed".

use crate::format::clock;
use crate::qr;
use crate::view::{back_bar, el, error_box, form, notice_box, primary, Action, El, Ui};
use tandem_device::{DevicesView, PairingPhase};

/// Which side of a pairing this browser is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The new device: shows a QR code for the phone to scan.
    ShowQr,
    /// The trusted device: approves another device from its link.
    FromLink,
}

/// A pairing followed by this popup.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// This browser's side.
    pub role: Role,
    /// The current step; `None` until the engine reported the first one.
    pub step: Option<PairingPhase>,
    /// The last warning (it does not end the pairing).
    pub warning: Option<String>,
    /// An expired code was already replaced automatically.
    pub renewed: bool,
    /// Expiry of the last offer while it is shown or just failed.
    offer_expires: Option<u64>,
    /// The step the view held before this flow started: not this flow's.
    stale: Option<PairingPhase>,
}

/// A step after which nothing more happens.
pub fn is_final(p: &PairingPhase) -> bool {
    matches!(p, PairingPhase::Paired { .. } | PairingPhase::Failed { .. })
}

impl Flow {
    /// A flow the user starts now; `before` is the last view seen.
    pub fn start(role: Role, before: Option<&DevicesView>) -> Flow {
        Flow {
            role,
            step: None,
            warning: None,
            renewed: false,
            offer_expires: None,
            stale: before.and_then(|v| v.pairing.clone()),
        }
    }

    /// The pairing that runs in the worker, found by a popup opened in the
    /// middle of it (`None` if none runs).
    pub fn resume(v: &DevicesView) -> Option<Flow> {
        if !v.pairing_active {
            return None;
        }
        let role = match &v.pairing {
            Some(PairingPhase::Offer { .. } | PairingPhase::ConfirmCode { .. }) => Role::ShowQr,
            Some(
                PairingPhase::OtherRelay { .. }
                | PairingPhase::CompareCode { .. }
                | PairingPhase::TypeCode { .. },
            ) => Role::FromLink,
            // Only a browser without other devices can be the new one.
            _ if v.paired => Role::FromLink,
            _ => Role::ShowQr,
        };
        let mut f = Flow {
            role,
            step: None,
            warning: None,
            renewed: false,
            offer_expires: None,
            stale: None,
        };
        if let Some(p) = &v.pairing {
            f.apply(p.clone());
        }
        Some(f)
    }

    /// A fresh code after this one expired (or the user asked for one).
    pub fn renew(&self, automatic: bool) -> Flow {
        Flow {
            role: Role::ShowQr,
            step: None,
            warning: None,
            renewed: self.renewed || automatic,
            offer_expires: None,
            stale: self.step.clone().or_else(|| self.stale.clone()),
        }
    }

    /// Whether `p` can be this flow's first step.
    fn first_step(&self, p: &PairingPhase) -> bool {
        if self.stale.as_ref() == Some(p) {
            return false;
        }
        match self.role {
            // `show_offer` always starts with its offer (anything else is
            // the end of the pairing that was cancelled to make room).
            Role::ShowQr => matches!(p, PairingPhase::Offer { .. }),
            Role::FromLink => true,
        }
    }

    fn apply(&mut self, p: PairingPhase) {
        match p {
            PairingPhase::Warning { message } => self.warning = Some(message),
            p => {
                self.offer_expires = match (&p, self.offer_expires) {
                    (PairingPhase::Offer { expires_at, .. }, _) => Some(*expires_at),
                    (PairingPhase::Failed { .. }, e) => e,
                    _ => None,
                };
                self.step = Some(p);
            }
        }
    }

    /// A `pairing` event from the engine (events arrive in order).
    pub fn on_event(&mut self, p: PairingPhase) {
        if matches!(p, PairingPhase::Warning { .. }) || self.step.is_some() || self.first_step(&p) {
            self.apply(p);
        }
    }

    /// A fresh `DevicesView`. Steps come from events; the view starts a flow
    /// whose first event was missed and ends one whose pairing stopped.
    pub fn on_view(&mut self, v: &DevicesView) {
        let running = self.step.as_ref().is_some_and(|s| !is_final(s));
        match &v.pairing {
            Some(p)
                if self.step.is_none()
                    && v.pairing_active
                    && (matches!(p, PairingPhase::Warning { .. }) || self.first_step(p)) =>
            {
                self.apply(p.clone())
            }
            Some(p) if running && !v.pairing_active && is_final(p) => self.apply(p.clone()),
            // The engine forgot the pairing: the worker was restarted.
            None if running && !v.pairing_active => self.apply(PairingPhase::Failed {
                error: "The extension restarted during the pairing, so it stopped; nothing was \
                        installed. Start the pairing again."
                    .into(),
            }),
            _ => {}
        }
    }

    /// The engine refused to start this flow (a `failed` event about
    /// pairing before any step): show it as the flow's end.
    pub fn on_failure(&mut self, error: &str) {
        if self.step.is_none() {
            self.apply(PairingPhase::Failed {
                error: error.to_owned(),
            });
        }
    }

    /// Paired or failed.
    pub fn is_over(&self) -> bool {
        self.step.as_ref().is_some_and(is_final)
    }

    /// The link of the offer shown now.
    pub fn offer_link(&self) -> Option<&str> {
        match &self.step {
            Some(PairingPhase::Offer { link, .. }) => Some(link),
            _ => None,
        }
    }

    /// The shown code ran out and has not been replaced automatically yet.
    pub fn needs_renewal(&self, now_ms: f64) -> bool {
        self.role == Role::ShowQr
            && !self.renewed
            && matches!(
                self.step,
                Some(PairingPhase::Offer { .. } | PairingPhase::Failed { .. })
            )
            && self
                .offer_expires
                .is_some_and(|e| now_ms >= e as f64 * 1000.0)
    }
}

/// A `devices` event's `detail` as the worker sends it (shaped by
/// `crates/wasm-device/src/events.rs`): only what the popup reacts to at
/// once; everything else arrives with the `devices.view` fetched after it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct DeviceEvent {
    /// `pairing`, `failed`, `online`, `device_added`, …
    pub kind: String,
    /// The step, for `pairing`.
    #[serde(default)]
    pub pairing: Option<PairingPhase>,
    /// What failed, for `failed` (`pairing`, `revoking`, `connecting`, …).
    #[serde(default)]
    pub what: String,
    /// Why, for `failed`, in plain language.
    #[serde(default)]
    pub error: String,
}

impl DeviceEvent {
    /// Applies the event to the model; `true` if the page should re-render.
    pub fn apply(self, ui: &mut Ui) -> bool {
        use crate::view::Screen;
        let on_devices = matches!(
            ui.screen,
            Screen::Devices | Screen::Pair | Screen::AddDevice
        );
        match (self.kind.as_str(), self.pairing) {
            ("pairing", Some(p)) => match ui.flow.as_mut() {
                Some(f) => {
                    f.on_event(p);
                    on_devices
                }
                None => false,
            },
            ("failed", _) if on_devices && !self.error.is_empty() => {
                match ui.flow.as_mut() {
                    Some(f) if self.what == "pairing" && f.step.is_none() => {
                        f.on_failure(&self.error);
                    }
                    _ => ui.error = Some(self.error),
                }
                true
            }
            _ => false,
        }
    }
}

/// `123 456`: a comparison code in groups of three digits.
pub fn group_code(code: &str) -> String {
    let digits: Vec<char> = code.chars().filter(|c| !c.is_whitespace()).collect();
    digits
        .chunks(3)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `Expires in 1:42` (seconds rounded up), or `Expired`.
pub fn countdown(expires_at: u64, now_ms: f64) -> String {
    let left_ms = expires_at as f64 * 1000.0 - now_ms;
    if left_ms <= 0.0 {
        "Expired".into()
    } else {
        format!("Expires in {}", clock((left_ms / 1000.0).ceil() as u64))
    }
}

/// A labelled button that dispatches `action` (also the phone app's).
pub fn btn(label: &str, testid: &str, action: &str, class: &str) -> El {
    el("button")
        .attr("type", "button")
        .class(class)
        .tid(testid)
        .action(action)
        .text(label)
}

fn status(text: impl Into<String>, class: &str) -> El {
    el("p")
        .class(class)
        .attr("role", "status")
        .tid("pair-status")
        .text(text)
}

fn big_code(code: &str) -> El {
    el("p")
        .class("pair-code")
        .tid("pair-code")
        .text(group_code(code))
}

fn code_buttons(disabled: bool) -> El {
    let mut differ = btn(
        "They differ",
        "pair-codes-differ",
        "codes-match",
        "btn danger",
    )
    .attr("data-arg", "no");
    let mut same = btn(
        "Codes match",
        "pair-codes-match",
        "codes-match",
        "btn primary",
    )
    .attr("data-arg", "yes");
    if disabled {
        differ = differ.attr("disabled", "");
        same = same.attr("disabled", "");
    }
    el("div").class("pair-actions").child(differ).child(same)
}

fn cancel_button() -> El {
    btn("Cancel", "pair-cancel", "cancel-pairing", "btn")
}

fn back_button() -> El {
    btn("Back to devices", "pair-back", "open", "btn primary").attr("data-arg", "devices")
}

fn offer_view(now_ms: f64, link: &str, expires_at: u64) -> Vec<El> {
    let qr = qr::svg(link, "Pairing QR code")
        .map(|s| s.tid("pair-qr"))
        .unwrap_or_else(|| {
            el("p")
                .class("warn")
                .text("This link is too long for a QR code: copy it instead.")
        });
    vec![
        el("p")
            .class("muted center-text")
            .text("On your phone, open Tandem, choose “Add a device” and scan this code."),
        el("div").class("qr-box").child(qr),
        el("p")
            .class("countdown center-text")
            .tid("pair-countdown")
            .text(countdown(expires_at, now_ms)),
        el("div")
            .class("pair-actions")
            .child(btn("Copy link", "pair-copy-link", "copy-pair-link", "btn"))
            .child(btn("New code", "pair-new-code", "pair-new-code", "btn")),
        el("p").class("muted small center-text").text(
            "No camera? Copy the link and paste it on your phone under “Add a device from a link”.",
        ),
    ]
}

/// The body of the current step (also the phone app's, as the approver):
/// `busy` disables the code buttons while a command runs.
pub fn step_view(busy: bool, now_ms: f64, f: &Flow) -> Vec<El> {
    let other = match f.role {
        Role::ShowQr => "your phone",
        Role::FromLink => "the other device",
    };
    let mut out = Vec::new();
    let mut cancel = true;
    match &f.step {
        None => out.push(status(
            match f.role {
                Role::ShowQr => "Preparing a pairing code…",
                Role::FromLink => "Connecting to the new device…",
            },
            "muted center-text",
        )),
        Some(PairingPhase::Offer { link, expires_at }) => {
            out.extend(offer_view(now_ms, link, *expires_at));
        }
        Some(PairingPhase::ConfirmCode { code }) => {
            out.push(
                el("p")
                    .class("center-text")
                    .text("Does your phone show the same code?"),
            );
            out.push(big_code(code));
            out.push(code_buttons(busy));
            out.push(el("p").class("muted small center-text").text(
                "Only say they match if both screens show exactly these digits. \
                 If they differ, someone else may be trying to join.",
            ));
        }
        Some(PairingPhase::OtherRelay {
            offer_relay,
            group_relay,
        }) => {
            cancel = false;
            out.push(
                el("div")
                    .class("warn danger")
                    .attr("role", "alert")
                    .tid("other-relay-warning")
                    .child(el("p").text("This link uses another relay than your wallet:"))
                    .child(el("p").class("mono").text(format!("Link: {offer_relay}")))
                    .child(
                        el("p")
                            .class("mono")
                            .text(format!("Your wallet: {group_relay}")),
                    )
                    .child(
                        el("p").text(
                            "Only go on if you set up the new device with that relay yourself.",
                        ),
                    ),
            );
            out.push(
                el("div")
                    .class("pair-actions")
                    .child(btn(
                        "Cancel",
                        "other-relay-cancel",
                        "cancel-pairing",
                        "btn primary",
                    ))
                    .child(btn(
                        "Use it anyway",
                        "other-relay-continue",
                        "allow-other-relay",
                        "btn",
                    )),
            );
        }
        Some(PairingPhase::CompareCode { code, name }) => {
            out.push(el("p").class("center-text").text(format!(
                "Does {} show the same code?",
                if name.trim().is_empty() {
                    "the new device"
                } else {
                    name
                }
            )));
            out.push(big_code(code));
            out.push(code_buttons(busy));
            out.push(
                el("p")
                    .class("muted small center-text")
                    .text("It joins your wallet only if the codes match on both screens."),
            );
        }
        Some(PairingPhase::TypeCode { name }) => out.push(status(
            format!(
                "{} expects its code to be typed here, which this browser does not offer. \
                 Cancel and start again from the link.",
                if name.trim().is_empty() {
                    "The new device"
                } else {
                    name
                }
            ),
            "muted",
        )),
        Some(PairingPhase::WaitingForOtherDevice) => {
            out.push(status(format!("Waiting for {other}…"), "muted center-text"));
        }
        Some(PairingPhase::Paired { name, .. }) => {
            cancel = false;
            let name = if name.trim().is_empty() {
                "an unnamed device"
            } else {
                name
            };
            out.push(
                el("div")
                    .class("stack")
                    .tid("pair-done")
                    .child(status(format!("Paired with {name}"), "notice center-text"))
                    .child(back_button()),
            );
        }
        Some(PairingPhase::Failed { error }) => {
            cancel = false;
            out.push(
                el("p")
                    .class("error")
                    .attr("role", "alert")
                    .tid("pair-status")
                    .text(error.clone()),
            );
            let again = match f.role {
                Role::ShowQr => btn("New code", "pair-new-code", "pair-new-code", "btn"),
                Role::FromLink => btn("Try again", "add-device-retry", "add-device-start", "btn"),
            };
            out.push(
                el("div")
                    .class("pair-actions")
                    .child(again)
                    .child(back_button()),
            );
        }
        Some(_) => out.push(status("Pairing…", "muted center-text")),
    }
    if cancel {
        out.push(el("div").class("pair-actions").child(cancel_button()));
    }
    out
}

fn warning_box(f: &Flow) -> Option<El> {
    f.warning.as_ref().map(|w| {
        el("p")
            .class("warn")
            .attr("role", "status")
            .tid("pair-warning")
            .text(w.clone())
    })
}

/// **Pair a phone**: QR code, countdown, code comparison, result.
pub fn pair_screen(ui: &Ui) -> El {
    let body: Vec<El> = match &ui.flow {
        Some(f) => step_view(ui.busy, ui.now_ms, f),
        None => vec![
            status("No pairing is running.", "muted center-text"),
            back_button(),
        ],
    };
    el("div")
        .class("stack screen pair")
        .tid("pair-screen")
        .child(back_bar("Pair a phone"))
        .maybe(ui.flow.as_ref().and_then(warning_box))
        .maybe(notice_box(ui))
        .maybe(error_box(ui))
        .children(body)
}

/// **Add a device from a link**: the link form, then the same steps.
pub fn add_device_screen(ui: &Ui) -> El {
    let screen = el("div")
        .class("stack screen pair")
        .tid("add-device-screen")
        .child(back_bar("Add a device"));
    let Some(f) = &ui.flow else {
        return screen.child(
            form(Action::AcceptLink, "add-device-form")
                .child(el("p").class("muted").text(
                    "On the new device, choose to pair with an existing wallet and copy its \
                     pairing link. Paste it here; both screens then show a code to compare.",
                ))
                .child(
                    el("label")
                        .class("field")
                        .child(el("span").class("label").text("Pairing link"))
                        .child(
                            el("textarea")
                                .attr("rows", "4")
                                .attr("autocomplete", "off")
                                .attr("spellcheck", "false")
                                .attr("placeholder", "tandem:pair?v=2&…")
                                .tid("add-device-link")
                                .text(ui.link_draft.clone()),
                        ),
                )
                .maybe(error_box(ui))
                .child(primary(
                    if ui.busy {
                        "Connecting…"
                    } else {
                        "Compare codes"
                    },
                    "add-device-submit",
                )),
        );
    };
    screen
        .maybe(warning_box(f))
        .maybe(notice_box(ui))
        .maybe(error_box(ui))
        .children(step_view(ui.busy, ui.now_ms, f))
}

/// Checks a pasted pairing link before it goes to the worker.
pub fn check_link(text: &str) -> crate::Result<String> {
    let link: String = text.split_whitespace().collect();
    if link.is_empty() {
        return Err(crate::form_err(
            "paste the pairing link the new device shows",
        ));
    }
    // Either form: `tandem:pair?…`, or the app link a phone's camera opens
    // (`https://<relay>/app/#tandem:pair?…`); the engine checks the rest.
    let app_link = (link.starts_with("https://") || link.starts_with("http://"))
        && link.contains("/app/#tandem:pair?");
    if !link.starts_with("tandem:pair?") && !app_link {
        return Err(crate::form_err(
            "this is not a Tandem pairing link; it starts with tandem:pair? or is an https://…/app/#tandem:pair? link",
        ));
    }
    Ok(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(pairing: Option<PairingPhase>, active: bool) -> DevicesView {
        DevicesView {
            me: "aa".into(),
            name: "Chrome".into(),
            group: "bb".into(),
            relay: "ws://127.0.0.1:8787/v1/ws".into(),
            epoch: 0,
            online: true,
            paired: false,
            pairing_active: active,
            pairing,
            devices: Vec::new(),
            removed: None,
            waiting: Default::default(),
        }
    }

    fn offer(link: &str, exp: u64) -> PairingPhase {
        PairingPhase::Offer {
            link: link.into(),
            expires_at: exp,
        }
    }

    #[test]
    fn a_new_flow_ignores_the_last_pairing() {
        let old = PairingPhase::Failed {
            error: "cancelled on this device".into(),
        };
        let mut f = Flow::start(Role::ShowQr, Some(&view(Some(old.clone()), false)));
        // The command's answer: the pairing runs, the view still has the old step.
        f.on_view(&view(Some(old.clone()), true));
        assert_eq!(f.step, None);
        // A leftover event of the cancelled pairing.
        f.on_event(old);
        assert_eq!(f.step, None);
        f.on_event(offer("tandem:pair?a", 100));
        assert_eq!(f.offer_link(), Some("tandem:pair?a"));
        f.on_event(PairingPhase::Warning {
            message: "a second device answered".into(),
        });
        assert_eq!(
            f.offer_link(),
            Some("tandem:pair?a"),
            "a warning keeps the step"
        );
        assert_eq!(f.warning.as_deref(), Some("a second device answered"));
        f.on_event(PairingPhase::ConfirmCode {
            code: "123456".into(),
        });
        f.on_event(PairingPhase::WaitingForOtherDevice);
        // The view may lag behind the events; steps only move forward.
        f.on_view(&view(Some(offer("tandem:pair?a", 100)), true));
        assert_eq!(f.step, Some(PairingPhase::WaitingForOtherDevice));
        f.on_view(&view(
            Some(PairingPhase::Paired {
                name: "Pixel".into(),
                device: "cc".into(),
            }),
            false,
        ));
        assert!(f.is_over());
    }

    #[test]
    fn a_missed_first_event_comes_from_the_view() {
        let mut f = Flow::start(Role::FromLink, None);
        f.on_view(&view(
            Some(PairingPhase::CompareCode {
                code: "000111".into(),
                name: "Phone".into(),
            }),
            true,
        ));
        assert!(matches!(f.step, Some(PairingPhase::CompareCode { .. })));
        // The worker restarted: the engine forgot the pairing.
        f.on_view(&view(None, false));
        assert!(matches!(f.step, Some(PairingPhase::Failed { .. })));
    }

    #[test]
    fn an_expired_code_is_renewed_once() {
        let mut f = Flow::start(Role::ShowQr, None);
        f.on_event(offer("tandem:pair?a", 100));
        assert!(!f.needs_renewal(99_000.0));
        assert!(f.needs_renewal(100_000.0));
        let mut g = f.renew(true);
        assert!(g.renewed && g.step.is_none());
        // The old offer (still in a lagging view) is not the new one.
        g.on_view(&view(Some(offer("tandem:pair?a", 100)), true));
        assert_eq!(g.step, None);
        g.on_event(offer("tandem:pair?b", 220));
        g.on_event(PairingPhase::Failed {
            error: "this pairing code expired".into(),
        });
        assert!(!g.needs_renewal(221_000.0), "only once");
        // Asking by hand keeps the once-only rule.
        assert!(g.renew(false).renewed);
        // A failure that is not an expiry does not renew.
        let mut h = Flow::start(Role::ShowQr, None);
        h.on_event(offer("tandem:pair?c", 500));
        h.on_event(PairingPhase::ConfirmCode { code: "1".into() });
        h.on_event(PairingPhase::Failed { error: "x".into() });
        assert!(!h.needs_renewal(600_000.0));
    }

    #[test]
    fn resuming_guesses_the_side_from_the_step() {
        assert_eq!(Flow::resume(&view(None, false)), None);
        let f = Flow::resume(&view(Some(offer("tandem:pair?a", 1)), true)).unwrap();
        assert_eq!(f.role, Role::ShowQr);
        let f = Flow::resume(&view(
            Some(PairingPhase::OtherRelay {
                offer_relay: "a".into(),
                group_relay: "b".into(),
            }),
            true,
        ))
        .unwrap();
        assert_eq!(f.role, Role::FromLink);
    }

    #[test]
    fn codes_links_and_countdowns() {
        assert_eq!(group_code("123456"), "123 456");
        assert_eq!(group_code("12 34 56"), "123 456");
        assert_eq!(countdown(1_000, 1_000_000.0 - 102_000.0), "Expires in 1:42");
        assert_eq!(countdown(1_000, 1_000_000.0 - 101_500.0), "Expires in 1:42");
        assert_eq!(countdown(1_000, 1_000_000.0), "Expired");
        assert_eq!(
            check_link(" tandem:pair?v=2&relay=x\n&topic=y ").unwrap(),
            "tandem:pair?v=2&relay=x&topic=y"
        );
        assert_eq!(
            check_link("https://relay.example/app/#tandem:pair?v=2&relay=x").unwrap(),
            "https://relay.example/app/#tandem:pair?v=2&relay=x"
        );
        assert!(check_link("https://evil.example/#tandem:pair").is_err());
        assert_eq!(check_link("tandem:pair?v=2").unwrap(), "tandem:pair?v=2");
        assert!(check_link("").is_err());
        assert!(check_link("https://evil.example").is_err());
    }
}
