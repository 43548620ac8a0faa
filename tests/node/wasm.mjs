// Loads the built wasm core (extension/wasm, made by scripts/build) into Node,
// the same module the extension's service worker runs.
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { webcrypto } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';

// Node 18 has Web Crypto only as `crypto.webcrypto` (global from Node 19);
// the wasm modules draw their randomness from globalThis.crypto, as in a
// browser. Tests run on Node 18 through 24.
globalThis.crypto ??= webcrypto;

// TANDEM_WASM_DIR points the loader at another build (profile experiments).
export const dir = process.env.TANDEM_WASM_DIR
  ? process.env.TANDEM_WASM_DIR.replace(/\/?$/, '/')
  : fileURLToPath(new URL('../../extension/wasm/', import.meta.url));

async function load(folder, name) {
  if (!existsSync(`${folder}${name}_bg.wasm`)) {
    throw new Error(`${folder}${name}_bg.wasm is missing: run scripts/build first`);
  }
  const module = await import(`${folder}${name}.js`);
  module.initSync({ module: readFileSync(`${folder}${name}_bg.wasm`) });
  return module;
}

export const loadWasm = () => load(dir, 'tandem_wasm');

// The stateless primitives (crates/wasm-prims): the core's own signer,
// hashes and KDFs, built with the core's profile but never shipped.
export const primsDir = fileURLToPath(new URL('./wasm/', import.meta.url));

export const loadPrims = () => load(primsDir, 'tandem_wasm_prims');

/**
 * Deterministic bytes for test *inputs* only (SHA-256 in counter mode over a
 * fixed seed), so a failing case can be reproduced. Never used for keys the
 * product makes: those come from crypto.getRandomValues inside wasm.
 */
export class TestBytes {
  constructor(seed) {
    this.seed = new TextEncoder().encode(seed);
    this.counter = 0;
    this.buf = new Uint8Array(0);
  }
  bytes(n) {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      if (this.buf.length === 0) {
        const c = new Uint8Array(this.seed.length + 4);
        c.set(this.seed);
        new DataView(c.buffer).setUint32(this.seed.length, this.counter++);
        this.buf = sha256(c);
      }
      const take = Math.min(n - off, this.buf.length);
      out.set(this.buf.subarray(0, take), off);
      this.buf = this.buf.subarray(take);
      off += take;
    }
    return out;
  }
  int(max) { // uniform enough for test shapes: 0..max-1
    const v = new DataView(this.bytes(4).buffer).getUint32(0);
    return v % max;
  }
  bool() { return this.int(2) === 1; }
  pick(arr) { return arr[this.int(arr.length)]; }
  bigint(bits) {
    const n = Math.ceil(bits / 8);
    let v = 0n;
    for (const b of this.bytes(n)) v = (v << 8n) | BigInt(b);
    return v & ((1n << BigInt(bits)) - 1n);
  }
  hex(n) { return '0x' + Buffer.from(this.bytes(n)).toString('hex'); }
}
