// Thin loader: the phone app is Rust (crates/phone, built to ./wasm/ by
// scripts/build). This file supplies what Rust cannot make by itself here:
// the non-extractable AES-GCM key that seals the device state, kept in
// IndexedDB (a CryptoKey is stored as an object; its bytes are never
// visible), and the service worker registration for offline use. Which of
// the two builds runs: the sync one (the group's Activity log and sync,
// crates/phone feature `sync`) once the app's own setting turned it on
// (`tandem.phone.activity`, written by the Rust app, which reloads once).
const { default: init, start } = await import(
  localStorage.getItem('tandem.phone.activity') === 'on' ? './wasm/tandem_phone_sync.js' : './wasm/tandem_phone.js'
);

performance.mark('tandem-phone:boot');

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open('tandem', 1);
    req.onupgradeneeded = () => req.result.createObjectStore('keys');
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** The device key: made once, never extractable, kept in IndexedDB. */
async function deviceKey() {
  const db = await openDb();
  const stored = await new Promise((resolve, reject) => {
    const r = db.transaction('keys').objectStore('keys').get('device');
    r.onsuccess = () => resolve(r.result ?? null);
    r.onerror = () => reject(r.error);
  });
  if (stored) return stored;
  const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  await new Promise((resolve, reject) => {
    const tx = db.transaction('keys', 'readwrite');
    tx.objectStore('keys').put(key, 'device');
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  return key;
}

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('./sw.js').catch((e) => console.warn('tandem: offline cache unavailable:', e?.message));
}

const [, key] = await Promise.all([init(), deviceKey()]);
performance.mark('tandem-phone:wasm-ready');
await start(key);
performance.mark('tandem-phone:interactive');
