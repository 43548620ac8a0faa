// An audit log export checked without the wallet's code: Ed25519 with
// @noble/curves, SHA-256 with node:crypto, the signed bytes as
// docs/protocol.md defines them. Shared by audit.test.mjs and
// restore.test.mjs.
import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';

export const sha256 = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const u16 = (n) => Buffer.from([n >> 8, n & 0xff]);
/** What a device signs for an app signature (crates/pair/src/identity.rs
 *  app_message: var(domain) of the app-signature domain, var(the caller's
 *  domain), then the message; var = u16 big-endian length, then the bytes). */
export const appMessage = (domain, msg) => {
  const d0 = Buffer.from('tandem/app-signature/v1');
  const d1 = Buffer.from(domain);
  return Buffer.concat([u16(d0.length), d0, u16(d1.length), d1, msg]);
};
/** A device id: the first 16 bytes of SHA-256(len-prefixed domain, len-prefixed key), as u64 BE lengths. */
export const deviceId = (pub) => {
  const len = (b) => {
    const x = Buffer.alloc(8);
    x.writeBigUInt64BE(BigInt(b.length));
    return x;
  };
  const d = Buffer.from('tandem/device-id/v1');
  return sha256(len(d), d, len(pub), pub).subarray(0, 16).toString('hex');
};
/** The export's device keys by device id, each checked to be its id's key. */
export function exportKeys(doc) {
  const keys = new Map(doc.devices.map((d) => [d.device, Buffer.from(d.identity, 'base64')]));
  for (const [id, pub] of keys) {
    if (deviceId(pub) !== id) throw new Error(`the key listed for ${id} is another device's`);
  }
  return keys;
}
/** The bytes entry `entry` was signed over, and its signature. */
export function signedEntry({ device, seq, prev, at_ms, happened, sig }) {
  return { signed: Buffer.from(JSON.stringify({ device, seq, prev, at_ms, happened })), sig: Buffer.from(sig, 'base64') };
}
/** Whether `entry` of export `doc` verifies with `key`. */
export const entryVerifies = (doc, entry, key) => {
  const { signed, sig } = signedEntry(entry);
  return ed25519.verify(sig, appMessage(doc.signatureDomain, signed), key);
};
