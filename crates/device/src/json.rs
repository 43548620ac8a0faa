//! JSON objects written by hand, keys in sorted order: byte for byte what
//! `serde_json::Value` writes (its maps are sorted), without linking `Value`
//! and its map into the browser shells (~16 KB of wasm).

use core::fmt::Write;

/// A JSON object under construction. Keys must be added in increasing
/// order (checked in debug builds), which is the order `Value` writes.
pub struct Object {
    text: String,
    #[cfg(debug_assertions)]
    last: String,
}

impl Default for Object {
    fn default() -> Self {
        Self::new()
    }
}

/// Appends `s` as a JSON string, escaped as serde_json escapes it.
pub fn push_str(out: &mut String, s: &str) {
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

impl Object {
    /// `{`.
    pub fn new() -> Self {
        Self {
            text: String::from("{"),
            #[cfg(debug_assertions)]
            last: String::new(),
        }
    }

    fn key(&mut self, k: &str) -> &mut String {
        #[cfg(debug_assertions)]
        {
            debug_assert!(self.text.len() == 1 || self.last.as_str() < k, "{k}");
            self.last = k.to_owned();
        }
        if self.text.len() > 1 {
            self.text.push(',');
        }
        push_str(&mut self.text, k);
        self.text.push(':');
        &mut self.text
    }

    /// A string field.
    pub fn str(mut self, k: &str, v: &str) -> Self {
        push_str(self.key(k), v);
        self
    }

    /// An optional string field (`null` when absent).
    pub fn opt_str(self, k: &str, v: Option<&str>) -> Self {
        match v {
            Some(v) => self.str(k, v),
            None => self.raw(k, "null"),
        }
    }

    /// A number field.
    pub fn num(mut self, k: &str, v: u64) -> Self {
        let _ = write!(self.key(k), "{v}");
        self
    }

    /// An optional number field (`null` when absent).
    pub fn opt_num(self, k: &str, v: Option<u64>) -> Self {
        match v {
            Some(v) => self.num(k, v),
            None => self.raw(k, "null"),
        }
    }

    /// A boolean field.
    pub fn bool(self, k: &str, v: bool) -> Self {
        self.raw(k, if v { "true" } else { "false" })
    }

    /// A field whose value is already JSON text.
    pub fn raw(mut self, k: &str, json: &str) -> Self {
        self.key(k).push_str(json);
        self
    }

    /// An array of strings.
    pub fn strs<'a>(mut self, k: &str, v: impl IntoIterator<Item = &'a str>) -> Self {
        let out = self.key(k);
        out.push('[');
        for (i, s) in v.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_str(out, s);
        }
        out.push(']');
        self
    }

    /// `}`: the text.
    pub fn end(mut self) -> String {
        self.text.push('}');
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_value_writes() {
        let text = Object::new()
            .num("a", 7)
            .bool("b", true)
            .opt_num("c", None)
            .opt_str("d", Some("x\"\\\n\u{1}é/\u{7f}"))
            .strs("e", ["p", "q"])
            .strs("f", [])
            .raw("g", &Object::new().end())
            .end();
        let value = serde_json::json!({
            "g": {}, "f": [], "e": ["p", "q"], "d": "x\"\\\n\u{1}é/\u{7f}",
            "c": null, "b": true, "a": 7,
        });
        assert_eq!(text, value.to_string());
    }
}
