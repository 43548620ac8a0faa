//! Scan: the camera looks for the desktop's pairing QR; Paste: the link,
//! for a phone without a camera.

use super::{back_bar, button, messages};
use crate::model::{Camera, Phone};
use tandem_ui::view::{el, El};

fn status(text: impl Into<String>, class: &str) -> El {
    el("p")
        .class(class)
        .attr("role", "status")
        .tid("scan-status")
        .text(text)
}

pub(super) fn view(p: &Phone) -> El {
    let (slot, line) = match &p.camera {
        Camera::Off | Camera::Starting => {
            (false, status("Opening the camera…", "muted center-text"))
        }
        Camera::Scanning => (
            true,
            status(
                "Point the camera at the QR code Tandem shows on your computer \
                 (Devices → Pair a phone).",
                "muted center-text",
            ),
        ),
        Camera::Denied => (
            false,
            status(
                "The camera is blocked for this app. To allow it, tap the lock or camera icon \
                 next to the address, allow the camera, and scan again. Or paste the link instead.",
                "error",
            ),
        ),
        Camera::Missing => (
            false,
            status(
                "No camera found on this device. On your computer choose “Copy link”, \
                 and paste it here instead.",
                "error",
            ),
        ),
        Camera::Insecure => (
            false,
            status(
                "The browser gives the camera only to apps opened over https. Open this app \
                 at its https address, or paste the link instead.",
                "error",
            ),
        ),
        Camera::Failed(m) => (
            false,
            status(
                format!("The camera did not start: {m}. Paste the link instead."),
                "error",
            ),
        ),
    };
    el("main")
        .class("stack screen scan")
        .tid("scan-screen")
        .child(back_bar("Scan the code"))
        .children(messages(p))
        // The page moves its one <video> into this slot after each render.
        .maybe(slot.then(|| el("div").class("camera").tid("scan-video-slot")))
        .child(line)
        .maybe(p.scan_note.as_ref().map(|n| {
            el("p")
                .class("warn")
                .attr("role", "alert")
                .tid("scan-note")
                .text(n.clone())
        }))
        .child(button(
            "Paste a link instead",
            "paste-start",
            "paste",
            "btn",
        ))
}

pub(super) fn paste_view(p: &Phone) -> El {
    el("main")
        .class("stack screen paste")
        .tid("paste-screen")
        .child(back_bar("Paste a link"))
        .child(el("p").text(
            "On your computer, open Tandem → Devices → Pair a phone and choose “Copy link”. \
             Paste it here.",
        ))
        .children(messages(p))
        .child(
            el("form")
                .class("stack")
                .action("paste-submit")
                .child(
                    el("label")
                        .attr("for", "paste-link")
                        .class("label")
                        .text("Pairing link"),
                )
                .child(
                    el("textarea")
                        .attr("id", "paste-link")
                        .attr("rows", "4")
                        .attr("autocomplete", "off")
                        .attr("spellcheck", "false")
                        .tid("paste-link"),
                )
                .child(
                    el("button")
                        .attr("type", "submit")
                        .class("btn primary")
                        .tid("paste-submit")
                        .text("Add this device"),
                ),
        )
}
