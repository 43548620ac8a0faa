// Thin loader: the pages themselves are Rust (crates/ui, built to ../wasm/).
// Which page this is comes from <body data-page>, set in the HTML file.
import init, { start } from '../wasm/tandem_ui.js';

await init();
start(document.body.dataset.page || 'popup');
