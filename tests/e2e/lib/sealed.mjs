// The sealed sync state (the audit log with it) as someone who can read and
// write a profile's storage and use its device key sees it: AES-GCM under
// the non-extractable key in IndexedDB ('tandem' / 'keys' / 'device'),
// associated data 'tandem/sync-state/v1', stored as base64url(iv ‖ ciphertext)
// (crates/wasm-device/src/seal.rs). For tamper tests; `page` must be of the
// wallet's origin and run none of its scripts.

/**
 * Reads the sync state (`state` omitted) or seals and stores `state`.
 * `where`: `{ chrome: key }` (the extension's chrome.storage.local) or
 * `{ local: key }` (the phone app's localStorage).
 */
export async function sealedSync(page, where, state) {
  const text = await page.evaluate(
    async ([where, text]) => {
      const AAD = new TextEncoder().encode('tandem/sync-state/v1');
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
    [where, state === undefined ? null : JSON.stringify(state)],
  );
  return text === null ? undefined : JSON.parse(text);
}
