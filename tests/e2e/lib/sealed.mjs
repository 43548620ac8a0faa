// The sealed sync state (the audit log with it) and device state (identity
// seed, group keys) as someone who can read and write a profile's storage
// and use its device key sees them: AES-GCM under the non-extractable key in
// IndexedDB ('tandem' / 'keys' / 'device'), associated data
// 'tandem/sync-state/v1' or 'tandem/device-state/v1', stored as
// base64url(iv ‖ ciphertext) (crates/wasm-device/src/seal.rs). For tamper
// tests and secrets scans; `page` must be of the wallet's origin and run
// none of its scripts.

/**
 * Reads the sync state (`state` omitted) or seals and stores `state`.
 * `where`: `{ chrome: key }` (the extension's chrome.storage.local) or
 * `{ local: key }` (the phone app's localStorage).
 */
export function sealedSync(page, where, state) {
  return sealed(page, where, 'tandem/sync-state/v1', state);
}

/**
 * The device state, opened: `{ identity, state }` (the identity seed,
 * base64url, and the engine's state with `group.keys`). `where` as for
 * `sealedSync`: `{ chrome: 'tandem.device' }` or `{ local: 'tandem.phone.device' }`.
 */
export function sealedDevice(page, where) {
  return sealed(page, where, 'tandem/device-state/v1');
}

async function sealed(page, where, aad, state) {
  const text = await page.evaluate(
    async ([where, aad, text]) => {
      const AAD = new TextEncoder().encode(aad);
      const fromB64u = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4)), (c) => c.charCodeAt(0));
      const toB64u = (b) => btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      const key = await new Promise((resolve, reject) => {
        const req = indexedDB.open('tandem', 1);
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const get = req.result.transaction('keys').objectStore('keys').get('device');
          get.onsuccess = () => resolve(get.result);
          get.onerror = () => reject(get.error);
        };
      });
      if (text === null) {
        const sealed = where.chrome ? (await chrome.storage.local.get(where.chrome))[where.chrome] : localStorage.getItem(where.local);
        const raw = fromB64u(sealed);
        const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: raw.slice(0, 12), additionalData: AAD }, key, raw.slice(12));
        return new TextDecoder().decode(plain);
      }
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: AAD }, key, new TextEncoder().encode(text)));
      const out = new Uint8Array(12 + ct.length);
      out.set(iv);
      out.set(ct, 12);
      if (where.chrome) await chrome.storage.local.set({ [where.chrome]: toB64u(out) });
      else localStorage.setItem(where.local, toB64u(out));
      return null;
    },
    [where, aad, state === undefined ? null : JSON.stringify(state)],
  );
  return text === null ? undefined : JSON.parse(text);
}

/**
 * The extension's vault key while unlocked (its "session key"), opened from
 * chrome.storage.session's `tandem.sessionKey` ("iv.ciphertext", base64)
 * with the per-unlock non-extractable key in IndexedDB ('tandem' / 'keys' /
 * 'session'), AAD 'tandem/session-key/v1' (extension/session-key.js);
 * null when locked. `browser`: lib/index.mjs's `launch`.
 */
export async function sessionKey(browser) {
  const bytes = await browser.ext.evaluate(async () => {
    const stored = (await chrome.storage.session.get('tandem.sessionKey'))['tandem.sessionKey'];
    if (!stored) return null;
    const key = await new Promise((resolve, reject) => {
      const req = indexedDB.open('tandem', 1);
      req.onerror = () => reject(req.error);
      req.onsuccess = () => {
        const get = req.result.transaction('keys').objectStore('keys').get('session');
        get.onsuccess = () => resolve(get.result);
        get.onerror = () => reject(get.error);
      };
    });
    const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
    const [iv, ct] = stored.split('.');
    const AAD = new TextEncoder().encode('tandem/session-key/v1');
    return [...new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: unb64(iv), additionalData: AAD }, key, unb64(ct)))];
  });
  return bytes && Buffer.from(bytes);
}
