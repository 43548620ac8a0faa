//! The worker's third wasm module: wallet features the core module has no
//! room for under its size budget (350 KB gzipped, docs/benchmarks.md).
//!
//! The core (`tandem-wasm`) keeps what every request needs: keys, the vault,
//! the approval queue and signing. What runs here is decided from data the
//! worker hands over (the core's state view, the nodes' answers) and handed
//! back as data; this module holds no key and signs nothing. The worker
//! initialises it the first time a feature needs it (extension/extra.js), so a
//! worker that never uses one never compiles it. Built at opt-level "z" and
//! "lean" like the device module: nothing here is hot.
#![allow(unreachable_pub)] // wasm-bindgen exports are pub by necessity

use wasm_bindgen::prelude::*;

mod calls;
pub mod fees;
pub mod portfolio;
pub mod token;

// Talc instead of the default dlmalloc: the same job in fewer bytes (a worker
// is single-threaded, hence no atomics).
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The version this module was built as (the worker logs it when it loads
/// the module).
#[wasm_bindgen(js_name = extraVersion)]
pub fn extra_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
