//! Tandem's phone app: a web app on the same Rust core as the extension.
//! It holds the wallet (the extension's keyring in the extension's vault,
//! behind a password, locked after 5 idle minutes) and is the trusted device
//! of a pair: it scans the desktop's pairing QR, shows the comparison code,
//! approves the new device once both screens agree, lists every device of
//! the wallet group and revokes them.
//!
//! `model` decides, `wallet` keeps the keys (pure), `wallet_view` shows
//! the group's synced wallet (the sync module), `screens` draws, `scan`
//! reads QR codes from camera frames; `biometric` (decisions) and `prf`
//! (crypto) unlock with fingerprint or face through WebAuthn's PRF
//! extension; `app` and `webauthn` (browser only) carry out what `model`
//! returns.
#![allow(unreachable_pub)] // wasm-bindgen exports are pub by necessity

pub mod activity;
mod backup;
pub mod biometric;
pub mod confirm;
pub mod model;
pub mod prf;
pub mod restore;
pub mod scan;
pub mod screens;
#[cfg(any(feature = "sync", test))]
mod sync;
pub mod wallet;
#[cfg(any(feature = "sync", test))]
pub mod wallet_view;

// Browser only at run time; compiles natively so clippy checks it.
mod app;
#[cfg(feature = "sync")]
mod app_sync;
mod webauthn;
