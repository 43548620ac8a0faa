use wasm_bindgen::JsValue;

/// The one error type crossing the boundary: a stable `kind` (becomes the JS
/// error's `name`) and a user-facing message. Never holds secret input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Stable kind, e.g. `WrongPassword`.
    pub kind: &'static str,
    /// What happened and what to do.
    pub message: String,
}

impl Error {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self {
            kind: "InvalidInput",
            message: message.into(),
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message)
    }
}

macro_rules! from_crate_error {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Self { kind: e.kind(), message: e.to_string() }
            }
        }
    )*};
}
from_crate_error!(tandem_keys::Error, tandem_vault::Error, tandem_eth::Error);

impl From<Error> for JsValue {
    fn from(e: Error) -> Self {
        let js = js_sys::Error::new(&e.message);
        js.set_name(e.kind);
        js.into()
    }
}

pub(crate) type Result<T, E = Error> = core::result::Result<T, E>;

/// Parses `0x`-prefixed (or bare) hex of an exact length.
pub(crate) fn hex_array<const N: usize>(s: &str, what: &str) -> Result<[u8; N]> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    let mut out = [0u8; N];
    alloy_primitives::hex::decode_to_slice(h, &mut out)
        .map_err(|_| Error::invalid(format!("{what} must be {N} bytes of hex")))?;
    Ok(out)
}

/// Parses an address, accepting any case (checksums are for display).
pub(crate) fn address(s: &str) -> Result<alloy_primitives::Address> {
    let a: [u8; 20] = hex_array(s.trim(), "an address")?;
    Ok(a.into())
}

/// NFKD form of a BIP-39 passphrase. In wasm the browser's
/// `String.prototype.normalize` does it (the core is built without Unicode
/// tables to save ~60 KB); natively the core's own normalization applies.
pub(crate) fn nfkd(s: &str) -> zeroize::Zeroizing<String> {
    #[cfg(target_arch = "wasm32")]
    {
        zeroize::Zeroizing::new(js_sys::JsString::from(s).normalize("NFKD").into())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        zeroize::Zeroizing::new(s.to_owned())
    }
}
