#![doc = include_str!("../README.md")]

pub mod audit;
pub mod backup;
pub mod chain;
pub mod confirm;
pub mod devices;
pub mod explorer;
pub mod format;
pub mod help;
pub mod hidden;
pub mod hide;
pub mod model;
pub mod pairing;
pub mod password;
pub mod qr;
pub mod queue;
pub mod receive;
pub mod reveal;
pub mod secrets;
pub mod send;
pub mod siwe;
pub mod sync;
pub mod token;
pub mod tx;
pub mod typed_data;
pub mod validate;
pub mod view;

// The browser parts compile natively too (web-sys is plain bindings), so
// clippy and rustc check them on every build; they only run in a page.
// Without the `pages` feature (the phone app reuses views and `dom`), the
// extension's pages and their wasm export are left out of the module.
#[cfg(feature = "pages")]
mod app;
pub mod dom;

/// Everything that can go wrong in the UI. Messages are shown to the user as-is,
/// so they say what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A form field holds something the wallet cannot use.
    #[error("{0}")]
    Form(String),
    /// A number (amount, fee, quantity) could not be read.
    #[error("{0}")]
    Amount(String),
    /// A typed-data payload that does not follow EIP-712.
    #[error("this signature request is malformed: {0}")]
    TypedData(String),
    /// The service worker answered with an error.
    #[error("{message}")]
    Worker {
        /// Stable error kind from the worker (`WrongPassword`, ...).
        kind: String,
        /// Human-readable message from the worker.
        message: String,
    },
    /// The browser refused something (no window, storage failure, ...).
    #[error("the browser refused: {0}")]
    Browser(String),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn form_err(msg: impl Into<String>) -> Error {
    Error::Form(msg.into())
}

/// Starts the UI in the current page. `page` is `"popup"`, `"onboarding"` or
/// `"approval"`; `cached` is what `chrome.storage.local.get(CACHE_KEY)` gave
/// (the loader reads it while the module compiles) or `undefined`. Called once
/// by the loader script in `extension/ui/`.
#[cfg(feature = "pages")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn start(page: &str, cached: wasm_bindgen::JsValue) {
    console_error_panic_hook::set_once();
    app::start(page, &cached);
}
