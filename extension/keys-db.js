// IndexedDB `tandem` / `keys`: where the worker keeps its non-extractable
// CryptoKeys ("device": seals the device state, devices.js; "session": seals
// the vault key while unlocked, session-key.js). One place opens it.

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open('tandem', 1);
    req.onupgradeneeded = () => req.result.createObjectStore('keys');
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Runs `fn(store)` in one transaction on `keys`; resolves with the
 *  request's result (null if none) once the transaction completes. */
export async function withKeys(mode, fn) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction('keys', mode);
      const req = fn(tx.objectStore('keys'));
      tx.oncomplete = () => resolve(req.result ?? null);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}
