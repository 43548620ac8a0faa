// The vault key while the wallet is unlocked, kept so a restarted worker
// reopens the vault without the password (issue 13, item 11).
//
// The key kept is not the key derived from the password (Argon2id), which
// would open the vault for as long as the password stays the same: each
// unlock seals the vault again under a new random data key and keeps that
// (crates/vault), so a leaked one opens nothing stored after the next unlock.
// Nor is it stored as it is: each unlock makes
// a fresh AES-256-GCM CryptoKey with `extractable: false` (no JavaScript can
// read its bytes), keeps it in IndexedDB (`tandem` / `keys` / "session"), and
// stores in chrome.storage.session only the vault key sealed under it. Locking
// deletes both; a browser restart clears the session area, and the stale
// wrapping key is deleted at the next boot. A copy of the session area alone
// (or of an earlier session's) opens nothing.

import { withKeys } from './keys-db.js';

const ENTRY = 'session';
const AAD = new TextEncoder().encode('tandem/session-key/v1');

const b64 = (bytes) => btoa(String.fromCharCode(...bytes));
const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

/** Seals `vaultKey` under a new per-unlock key; returns what to store in
 *  chrome.storage.session ("iv.ciphertext", base64). */
export async function sealSessionKey(vaultKey) {
  const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  await withKeys('readwrite', (s) => s.put(key, ENTRY));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: AAD }, key, vaultKey));
  return `${b64(iv)}.${b64(ct)}`;
}

/** The vault key from what `sealSessionKey` stored, or null when it cannot be
 *  opened (no wrapping key: locked, or another session's). */
export async function openSessionKey(stored) {
  const key = await withKeys('readonly', (s) => s.get(ENTRY));
  const [iv, ct] = typeof stored === 'string' ? stored.split('.') : [];
  if (!key || !iv || !ct) return null;
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt({ name: 'AES-GCM', iv: unb64(iv), additionalData: AAD }, key, unb64(ct)),
    );
  } catch {
    return null;
  }
}

/** Deletes the wrapping key (lock, or no session to open). */
export async function forgetSessionKey() {
  await withKeys('readwrite', (s) => s.delete(ENTRY));
}
