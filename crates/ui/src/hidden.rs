//! Characters a page can put in a message to make it read as something
//! else: bidirectional-text controls (an RLO, U+202E, shows "gpj.exe" as
//! "exe.jpg"), zero-width and other invisible format characters, and
//! non-printing controls. The approval window never renders them: each is
//! shown as a visible `⟨U+202E⟩` escape, and the message gets a warning.

/// Whether `c` is drawn as nothing or changes how the text around it is
/// drawn. The bidi controls and format characters are Unicode's general
/// category Cf (listed here by range: the crate has no Unicode tables),
/// plus the invisible fillers and separators that are not Cf.
pub fn is_hidden(c: char) -> bool {
    matches!(c,
        // C0 controls but tab and line feed, DEL, C1 controls.
        '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        // Soft hyphen, combining grapheme joiner, Arabic number marks,
        // Arabic letter mark (bidi), Syriac and Mongolian format marks.
        | '\u{ad}' | '\u{34f}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}'
        | '\u{890}'..='\u{891}' | '\u{8e2}' | '\u{180e}'
        // Hangul fillers (drawn as blank).
        | '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}'
        // Zero-width space/joiners, LRM/RLM (bidi), line and paragraph
        // separators, LRE/RLE/PDF/LRO/RLO (bidi), word joiner and invisible
        // operators, LRI/RLI/FSI/PDI (bidi), deprecated format controls.
        | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206f}'
        // Byte order mark / zero-width no-break space, interlinear annotation.
        | '\u{feff}' | '\u{fff9}'..='\u{fffb}'
        // Format characters outside the basic plane, and the tag block
        // (invisible ASCII look-alikes).
        | '\u{110bd}' | '\u{110cd}' | '\u{13430}'..='\u{1343f}' | '\u{1bca0}'..='\u{1bca3}'
        | '\u{1d173}'..='\u{1d17a}' | '\u{e0001}' | '\u{e0020}'..='\u{e007f}'
    )
}

/// Whether `c` is one of the bidirectional-text controls (U+202A–U+202E,
/// U+2066–U+2069, U+200E/F, U+061C), which reorder what is drawn.
pub fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
}

/// `text` with every hidden character as a visible escape, and how many
/// there were. A carriage return that ends a line (`\r\n`) is kept.
pub fn reveal(text: &str) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let mut n = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && chars.peek() == Some(&'\n') {
            out.push(c);
        } else if is_hidden(c) {
            n += 1;
            out.push_str(&format!("⟨U+{:04X}⟩", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    (out, n)
}

/// The warning for a message with `count` hidden characters, naming the
/// bidirectional ones apart (they can make a message read backwards).
pub fn warning(text: &str, count: usize) -> Option<String> {
    if count == 0 {
        return None;
    }
    let bidi = text.chars().any(is_bidi);
    Some(if bidi {
        format!(
            "This message holds {count} hidden character{} that can reorder or hide text \
             (bidirectional controls); they are shown as ⟨U+…⟩. Read it as shown here, not as \
             the site displays it.",
            if count == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "This message holds {count} invisible character{}; they are shown as ⟨U+…⟩.",
            if count == 1 { "" } else { "s" }
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_and_invisible_characters_are_escaped() {
        // The RLO trick (Unicode Technical Report #36, "Bidirectional Text
        // Spoofing"): "pay \u{202e}exe.jpg" is drawn as "pay gpj.exe".
        let (shown, n) = reveal("pay \u{202e}gpj.exe");
        assert_eq!(shown, "pay ⟨U+202E⟩gpj.exe");
        assert_eq!(n, 1);
        assert!(warning("pay \u{202e}gpj.exe", n)
            .unwrap()
            .contains("bidirectional"));
        for c in [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{61c}',
        ] {
            assert!(is_bidi(c) && is_hidden(c), "{:04X}", u32::from(c));
        }
        let (shown, n) = reveal("a\u{200b}b\u{feff}c\u{7}d\u{e0041}\u{2060}");
        assert_eq!(shown, "a⟨U+200B⟩b⟨U+FEFF⟩c⟨U+0007⟩d⟨U+E0041⟩⟨U+2060⟩");
        assert_eq!(n, 5);
        assert!(!warning("x", n).unwrap().contains("bidirectional"));
    }

    #[test]
    fn ordinary_text_is_untouched() {
        let text = "Hello, Bob!\nLine two\twith a tab\r\nCRLF ok; ünïcødé 中文 emoji 🦀 ❤\u{fe0f}";
        assert_eq!(reveal(text), (text.to_owned(), 0));
        assert_eq!(warning(text, 0), None);
        // A lone carriage return (it can overwrite a line in some renderers) is not.
        assert_eq!(reveal("a\rb").0, "a⟨U+000D⟩b");
    }
}
