// The phone app's service worker: it keeps the installed version of the app
// and takes a new one only when it is signed by the release key it pinned.
//
// - First install: fetch wasm/build.json (every file with its SHA-256, and
//   the release public key) and wasm/build.sig (Ed25519 over build.json's
//   bytes); check the signature with the key it names and pin that key
//   (trust on first use: the origin that serves the first install is
//   trusted for it, see docs/threat-model.md); fetch every file, check its
//   hash, keep them. The app is then served from that copy, also offline.
// - Later, when the app is opened: fetch build.json again; a new build is
//   taken only if build.sig verifies under the pinned key and every file
//   matches its hash. Otherwise the installed version keeps running and the
//   pages are told why ({kind: "update-refused", reason}).
// This file itself never changes between builds (nothing in it is written
// by scripts/build): a browser installs any new service worker script an
// origin serves, so the verifier must not be part of what updates.

const META = 'tandem-phone-meta';
const PREFIX = 'tandem-phone-build-';
const SCOPE = new URL('./', self.location).pathname;
const meta = (name) => new Request(`${SCOPE}__tandem/${name}`);

const b64url = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

async function getMeta(name) {
  const r = await (await caches.open(META)).match(meta(name));
  return r ? r.text() : null;
}
async function setMeta(name, value) {
  await (await caches.open(META)).put(meta(name), new Response(value));
}

async function tell(message) {
  for (const c of await self.clients.matchAll({ includeUncontrolled: true })) c.postMessage(message);
}

/** Fetches, checks and stores a build; returns its id, or throws with the reason. */
async function takeBuild() {
  const [bytes, sig] = await Promise.all([
    fetch('wasm/build.json', { cache: 'no-store' }).then((r) => {
      if (!r.ok) throw new Error(`build.json: HTTP ${r.status}`);
      return r.arrayBuffer();
    }),
    fetch('wasm/build.sig', { cache: 'no-store' }).then((r) => (r.ok ? r.text() : '')),
  ]);
  const build = JSON.parse(new TextDecoder().decode(bytes));
  const current = await getMeta('current');
  if (build.id === current) return current;
  const pinned = await getMeta('release-key');
  if (pinned && build.release_key !== pinned) throw new Error('it names another release key than the installed app');
  const key = await crypto.subtle.importKey('raw', b64url(pinned || build.release_key), { name: 'Ed25519' }, false, ['verify']);
  let ok = false;
  try {
    ok = sig !== '' && (await crypto.subtle.verify({ name: 'Ed25519' }, key, b64url(sig.trim()), bytes));
  } catch {
    ok = false;
  }
  if (!ok) throw new Error(sig ? 'its signature does not verify under the release key' : 'it is not signed');
  const name = PREFIX + build.id;
  await caches.delete(name);
  const cache = await caches.open(name);
  for (const f of build.files) {
    const res = await fetch(f.path, { cache: 'no-store' });
    if (!res.ok) throw new Error(`${f.path}: HTTP ${res.status}`);
    const body = await res.clone().arrayBuffer();
    if (hex(await crypto.subtle.digest('SHA-256', body)) !== f.sha256) throw new Error(`${f.path} does not match its hash`);
    await cache.put(f.path, res);
  }
  if (!pinned) await setMeta('release-key', build.release_key);
  await setMeta('current', build.id);
  for (const k of await caches.keys()) if (k.startsWith(PREFIX) && k !== name) await caches.delete(k);
  return build.id;
}

let checking = null;
/** Looks for a new build once at a time; says what happened. */
function checkForUpdate() {
  checking ??= (async () => {
    const before = await getMeta('current');
    try {
      const id = await takeBuild();
      if (id !== before) await tell({ kind: 'update-ready', id });
    } catch (e) {
      await tell({ kind: 'update-refused', reason: e.message, running: before });
    } finally {
      checking = null;
    }
  })();
  return checking;
}

self.addEventListener('install', (event) => {
  event.waitUntil(takeBuild().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('message', (event) => {
  if (event.data?.kind === 'check-update') event.waitUntil(checkForUpdate());
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  // Only the app's own files; the relay's WebSocket and anything else pass.
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || !url.pathname.startsWith(SCOPE)) return;
  const rel = url.pathname.slice(SCOPE.length) || 'index.html';
  if (event.request.mode === 'navigate') event.waitUntil(checkForUpdate());
  event.respondWith(
    (async () => {
      const current = await getMeta('current');
      const hit = current && (await (await caches.open(PREFIX + current)).match(rel));
      return hit || fetch(event.request);
    })(),
  );
});
