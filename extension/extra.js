// The worker's third wasm module (crates/wasm-extra): wallet features the core
// module has no room for. MV3 workers cannot import() at run time, so the glue
// is imported statically and the module itself is compiled on first use: a
// worker that never needs it never compiles it.
import initExtra, * as extraModule from './wasm/tandem_wasm_extra.js';

let ready = null;

/** The module's exports, compiled and instantiated once per worker. */
export function extra() {
  ready ??= initExtra({ module_or_path: new URL('./wasm/tandem_wasm_extra_bg.wasm', import.meta.url) }).then(
    () => {
      console.info(`tandem: extra module ${extraModule.extraVersion()} loaded`);
      return extraModule;
    },
    (e) => {
      ready = null; // the next use tries again
      throw e;
    },
  );
  return ready;
}
