//! Reading the desktop's pairing QR from a camera frame, and deciding what
//! the text in it means. Pure: RGBA pixels in, a [`Scanned`] out; the page
//! only grabs frames (see `app.rs`).
//!
//! Where the browser has a `BarcodeDetector` that reads QR codes (Chrome
//! on Android, Safari), the page asks it per frame instead and hands the
//! texts to [`pick`]; this decoder (`quircs`, in wasm) is the fallback, and
//! takes over for good if the browser's detector fails once.

use tandem_pair::PairingOffer;

/// What a QR code in front of the camera turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scanned {
    /// A Tandem pairing link that has not expired: start the pairing.
    Pairing(String),
    /// A Tandem pairing link whose two minutes are over.
    Expired,
    /// A QR code, but not a Tandem pairing code.
    NotTandem,
}

/// The luma of an RGBA pixel (ITU-R BT.601 weights, integer).
fn luma(px: &[u8]) -> u8 {
    ((u32::from(px[0]) * 299 + u32::from(px[1]) * 587 + u32::from(px[2]) * 114) / 1000) as u8
}

/// Every QR code's text in an RGBA frame (`width` × `height` × 4 bytes).
/// A frame of the wrong size decodes nothing.
pub fn decode_rgba(width: usize, height: usize, rgba: &[u8]) -> Vec<String> {
    if width == 0 || height == 0 || rgba.len() != width * height * 4 {
        return Vec::new();
    }
    let grey: Vec<u8> = rgba.chunks_exact(4).map(luma).collect();
    let mut decoder = quircs::Quirc::default();
    decoder
        .identify(width, height, &grey)
        .filter_map(|code| code.ok()?.decode().ok())
        .filter_map(|data| String::from_utf8(data.payload).ok())
        .collect()
}

/// What a scanned text means at `now` (Unix seconds). Both link forms are
/// pairing links: the one the phone's camera app opens
/// (`https://<relay>/app/#tandem:pair?…`) and `tandem:pair?…`.
pub fn classify(text: &str, now: u64) -> Scanned {
    match PairingOffer::parse(text) {
        Ok(offer) if offer.check(now).is_ok() => Scanned::Pairing(text.trim().to_owned()),
        Ok(_) => Scanned::Expired,
        Err(_) => Scanned::NotTandem,
    }
}

/// The first Tandem code in a frame, else what else was seen.
pub fn scan_frame(width: usize, height: usize, rgba: &[u8], now: u64) -> Option<Scanned> {
    pick(&decode_rgba(width, height, rgba), now)
}

/// Whether the browser's `BarcodeDetector.getSupportedFormats()` lists QR
/// codes (then it decodes the frames; else the wasm decoder does).
pub fn native_reads_qr(formats: &[String]) -> bool {
    formats.iter().any(|f| f == "qr_code")
}

/// Among the texts of every code a decoder read in a frame: the first
/// Tandem code, else what else was seen.
pub fn pick(texts: &[String], now: u64) -> Option<Scanned> {
    let found: Vec<Scanned> = texts.iter().map(|t| classify(t, now)).collect();
    found
        .iter()
        .find(|s| matches!(s, Scanned::Pairing(_)))
        .or_else(|| found.first())
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use qrcode::{Color, QrCode};

    /// Draws `text` as a QR code into an RGBA frame, `scale` pixels per
    /// module, dark modules as (r, g, b) = `ink`, on a grey-ish background
    /// with a 4-module quiet zone, offset inside a larger frame.
    fn frame(text: &str, scale: usize, ink: [u8; 3]) -> (usize, usize, Vec<u8>) {
        let code = QrCode::new(text.as_bytes()).expect("fits a QR code");
        let w = code.width();
        let colors = code.to_colors();
        let (fw, fh) = ((w + 8) * scale + 37, (w + 8) * scale + 23);
        let mut px = vec![0u8; fw * fh * 4];
        for (i, p) in px.chunks_mut(4).enumerate() {
            let (x, y) = (i % fw, i / fw);
            let (mx, my) = ((x.wrapping_sub(20)) / scale, (y.wrapping_sub(10)) / scale);
            let dark = (4..w + 4).contains(&mx)
                && (4..w + 4).contains(&my)
                && colors[(my - 4) * w + (mx - 4)] == Color::Dark;
            let c = if dark { ink } else { [230, 228, 225] };
            p.copy_from_slice(&[c[0], c[1], c[2], 255]);
        }
        (fw, fh, px)
    }

    fn link(exp: u64) -> String {
        format!(
            "http://127.0.0.1:8787/app/#tandem:pair?v=2&relay=ws://127.0.0.1:8787/v1/ws&topic={}&key={}&commit={}&exp={exp}",
            "A".repeat(43),
            "A".repeat(43),
            "A".repeat(43)
        )
    }

    #[test]
    fn reads_a_pairing_link_from_pixels() {
        let l = link(2_000);
        let (w, h, px) = frame(&l, 3, [20, 24, 30]);
        assert_eq!(decode_rgba(w, h, &px), vec![l.clone()]);
        assert_eq!(scan_frame(w, h, &px, 1_000), Some(Scanned::Pairing(l)));
    }

    #[test]
    fn an_expired_link_and_a_foreign_code_are_told_apart() {
        let (w, h, px) = frame(&link(2_000), 2, [0, 0, 0]);
        assert_eq!(scan_frame(w, h, &px, 2_000), Some(Scanned::Expired));
        let (w, h, px) = frame("https://example.com/menu", 4, [0, 0, 0]);
        assert_eq!(scan_frame(w, h, &px, 0), Some(Scanned::NotTandem));
        assert_eq!(classify("tandem:pair?v=2", 0), Scanned::NotTandem);
    }

    #[test]
    fn the_browsers_detector_is_used_only_if_it_reads_qr_codes_and_its_texts_are_picked_alike() {
        assert!(native_reads_qr(&["ean_13".into(), "qr_code".into()]));
        assert!(!native_reads_qr(&["ean_13".into(), "aztec".into()]));
        assert!(!native_reads_qr(&[]));
        let texts = ["https://example.com/menu".to_owned(), link(2_000)];
        assert_eq!(pick(&texts, 1_000), Some(Scanned::Pairing(link(2_000))));
        assert_eq!(pick(&texts[..1], 1_000), Some(Scanned::NotTandem));
        assert_eq!(pick(&[], 1_000), None);
    }

    #[test]
    fn frames_without_a_code_or_of_the_wrong_size_give_nothing() {
        let (w, h, mut px) = frame(&link(2_000), 3, [0, 0, 0]);
        assert!(decode_rgba(w, h - 1, &px).is_empty());
        assert!(decode_rgba(0, 0, &[]).is_empty());
        px.iter_mut().for_each(|b| *b = 200);
        assert_eq!(scan_frame(w, h, &px, 0), None);
    }

    /// The decoder reads whatever any camera sees, so damaged codes and
    /// noise must decode to nothing or to text, never panic (a panic aborts
    /// the whole app in a release build). Deterministic xorshift noise,
    /// its seed printed; `TANDEM_SEED` replays one.
    #[test]
    fn damaged_codes_and_noise_never_panic() {
        let seed = std::env::var("TANDEM_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
                    | 1
            });
        println!("TANDEM_SEED={seed}");
        let mut x = seed;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (w, h, clean) = frame(&link(2_000), 3, [0, 0, 0]);
        let mut read = 0;
        for round in 0..300 {
            let mut px = clean.clone();
            // From a few flipped pixels (still readable) to a ruined code.
            for _ in 0..(round * 40) {
                let i = (next() as usize % (w * h)) * 4;
                let v = if px[i] > 128 { 0 } else { 255 };
                px[i..i + 3].copy_from_slice(&[v, v, v]);
            }
            if round % 10 == 9 {
                px.iter_mut().for_each(|b| *b = next() as u8);
            }
            if decode_rgba(w, h, &px) == vec![link(2_000)] {
                read += 1;
            }
        }
        // Reed-Solomon repairs lightly damaged frames.
        assert!(read > 0, "no damaged frame was read");
        println!("{read} of 300 damaged frames read");
    }
}
