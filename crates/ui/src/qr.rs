//! A pairing link as a QR code in SVG, drawn from `qrcode`'s module matrix
//! (no SVG renderer from the crate: one `<path>` of row runs is smaller and
//! faster to build than a `<rect>` per module).
//!
//! Dark modules on white, a 4-module quiet zone (ISO/IEC 18004 §6.3.8), and
//! a whole number of CSS pixels per module when that keeps the code between
//! about 270 and 320 px: a phone reads it at arm's length, and a screenshot
//! of the popup at its real size still decodes.

use crate::view::{el, El};
use qrcode::{Color, QrCode};

/// Light modules around the code, on every side.
pub const QUIET_ZONE: usize = 4;

/// The widest the code is drawn, in CSS pixels (the popup is 360 px wide).
pub const MAX_PX: usize = 320;

/// Below this, integer scaling is given up for a 300 px code.
const MIN_PX: usize = 270;

/// The drawn size in CSS pixels for a code `modules` wide (quiet zone
/// included).
pub fn size_px(modules: usize) -> usize {
    let per_module = MAX_PX / modules.max(1);
    if per_module * modules >= MIN_PX {
        per_module * modules
    } else {
        300
    }
}

/// The SVG path (`d`) of the dark modules: one `M x y h n v 1 h -n z`
/// rectangle per horizontal run, in module units, quiet zone included.
pub fn dark_path(code: &QrCode) -> String {
    let w = code.width();
    let colors = code.to_colors();
    let mut d = String::new();
    for (y, row) in colors.chunks(w.max(1)).enumerate() {
        let mut x = 0;
        while x < row.len() {
            if row[x] != Color::Dark {
                x += 1;
                continue;
            }
            let start = x;
            while x < row.len() && row[x] == Color::Dark {
                x += 1;
            }
            let n = x - start;
            d.push_str(&format!(
                "M{} {}h{n}v1h-{n}z",
                start + QUIET_ZONE,
                y + QUIET_ZONE
            ));
        }
    }
    d
}

/// The QR code of `text` as an `<svg>` with `role="img"` and `label` as its
/// accessible name, or `None` when `text` does not fit in a QR code.
pub fn svg(text: &str, label: &str) -> Option<El> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let modules = code.width() + 2 * QUIET_ZONE;
    let px = size_px(modules).to_string();
    Some(
        el("svg")
            .attr("xmlns", "http://www.w3.org/2000/svg")
            .attr("viewBox", format!("0 0 {modules} {modules}"))
            .attr("width", px.clone())
            .attr("height", px)
            .attr("role", "img")
            .attr("aria-label", label)
            .attr("shape-rendering", "crispEdges")
            .attr("data-modules", modules.to_string())
            .class("qr")
            .child(
                el("rect")
                    .attr("width", modules.to_string())
                    .attr("height", modules.to_string())
                    .attr("fill", "#fff"),
            )
            .child(el("path").attr("fill", "#000").attr("d", dark_path(&code))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_stay_in_the_popup() {
        for v in 1..=40usize {
            let modules = 17 + 4 * v + 2 * QUIET_ZONE;
            let px = size_px(modules);
            assert!((270..=MAX_PX).contains(&px), "version {v}: {px} px");
        }
        // A version-11 link (what a pairing link usually needs): 4 px a module.
        assert_eq!(size_px(61 + 8), 276);
    }

    #[test]
    fn too_long_text_has_no_code() {
        assert!(svg(&"x".repeat(5000), "QR").is_none());
        assert!(svg("tandem:pair?v=2", "QR").is_some());
    }
}
