// Thin loader: the pages themselves are Rust (crates/ui, built to ../wasm/).
// Which page this is comes from <body data-page>, set in the HTML file.
// The UI's cache (non-secret: last state, balances, activity) is read while
// the module compiles, so the first paint needs no further round trip.
import init, { start } from '../wasm/tandem_ui.js';

performance.mark('tandem-ui:boot');
const CACHE_KEY = 'tandem.ui.cache';
const HIDDEN_KEY = 'tandem.ui.hidden'; // tokens hidden from Home (crates/ui/src/hide.rs)
const cached = chrome.storage.local.get([CACHE_KEY, HIDDEN_KEY]).catch(() => undefined);
await init();
performance.mark('tandem-ui:wasm-ready');
start(document.body.dataset.page || 'popup', await cached);
