// The worker's glue for the device engine (crates/wasm-device): the second
// wasm module, loaded only when the user opens Devices, a pairing runs, or
// this browser is paired (messages may be waiting for it). The module owns
// the relay connection, the protocol and every decision; this file supplies
// storage, the device key, notifications and the popup's messages.
//
// Storage (see extension/API.md):
//   IndexedDB tandem/keys "device"   non-extractable AES-GCM key that seals the state
//   local     tandem.device          sealed device state (identity key, group keys)
//   local     tandem.cache.devices   device list for the popup's home line (no secrets)
//   local     tandem.relay           relay URL setting (default: extension/config.js, from scripts/build)
//   local     tandem.sync            sealed sync state (crates/wasm-device, feature `sync`); once it
//                                    exists, the worker loads the sync module instead of the plain one;
//                                    it holds the backup secret too (see the backup section below)
//
// Sync: the same engine built with the synced wallet metadata
// (tandem_wasm_device_sync) replaces the plain module once the user opens
// Settings, Sync; both read and write the same device state.

import initDevice, { DeviceHost, checkRelay } from './wasm/tandem_wasm_device.js';
import initSync, { DeviceHost as SyncHost, BackupProbe } from './wasm/tandem_wasm_device_sync.js';
import { DEFAULT_RELAY } from './config.js';
import { withKeys } from './keys-db.js';

const EVENT = 'tandem/event';
const K = {
  device: 'tandem.device',
  cache: 'tandem.cache.devices',
  relay: 'tandem.relay',
  pairing: 'tandem.pairing', // session: a pairing is running (survives a worker restart)
  sync: 'tandem.sync',
};

/** @type {Promise<DeviceHost> | null} */ let loading = null;
/** Whether `loading` is the sync module. */
let loadingSync = false;
/** Which host may store the device state (a replaced one may not). */
let generation = 0;
/** Set by the worker: records synced from another device changed. */
let syncReader = null;

/** The worker's hook for synced changes: `fn(host)` mirrors what it keeps
 *  itself (account names) from `host.syncAccountRenames`. */
export function onSyncChange(fn) {
  syncReader = fn;
}
/** Set by the audit glue: the sync module is attached (`fn(host)`). */
let syncAttached = null;
/** The sync module's host once attached, else null (nothing is loaded for it). */
let attachedSync = null;

/** The audit glue's hook: the sync module was attached (entries that
 *  waited for it can be signed). */
export function onSyncAttached(fn) {
  syncAttached = fn;
}

/** Set by the audit glue: an event heard by the plain module (`fn(json, e)`). */
let plainEvent = null;

/** The audit glue's hook for events the plain module hears (the sync
 *  module records its own): a browser's first pairing happens there. */
export function onPlainEvent(fn) {
  plainEvent = fn;
}

/** Loads the sync module once (two loads at a time would instantiate it
 *  twice, and objects of the first would meet the second's memory). */
let syncLoaded = null;
function loadSync() {
  syncLoaded ??= initSync({ module_or_path: new URL('./wasm/tandem_wasm_device_sync_bg.wasm', import.meta.url) });
  syncLoaded.catch(() => {
    syncLoaded = null;
  });
  return syncLoaded;
}

/** Onboarding with a recovery phrase is about to make the vault (Argon2id,
 *  the worker busy for a while): the sync module, which looks for the
 *  backup next, is fetched and compiled meanwhile (compiling happens off
 *  this thread). */
export function warmSync() {
  loadSync().catch((e) => console.warn('tandem: the sync module did not load:', e?.message));
}

/** The sync module's host if it is loaded and attached, without loading it. */
export function loadedSyncHost() {
  return attachedSync;
}
/** Set by the worker: the core's backup secret of a generation while the
 *  wallet is unlocked (a Uint8Array the caller may wipe), else null. */
let backupSecret = null;

/** The worker's hook for the backup secret (`Keyring.backupSecret(generation)`). */
export function onBackupSecret(fn) {
  backupSecret = fn;
}

/** Hands the sync module the backup secret of the generation it wants (the
 *  one it holds, or the next one while cutting off or following a move),
 *  if the wallet is unlocked and has a recovery phrase; the copy in the
 *  worker is wiped. Returns whether the module took a new one. */
function giveBackupSecret(h) {
  const generation = h.backupGeneration();
  const s = backupSecret?.(generation);
  if (!s) return false;
  try {
    return h.backupKey(s, generation);
  } finally {
    s.fill(0);
  }
}

// ---- the encrypted backup under the recovery phrase's keys ------------------
// The sync module decides what to send (crates/sync/src/backup.rs); this is
// only the HTTP: one request, its answer back, the next request.
const BACKUP_DEBOUNCE_MS = 2000;
const BACKUP_MAX_STEPS = 6;
let backupTimer = null;
let backupRunning = null;

async function backupFetch(req) {
  try {
    const res = await fetch(req.url, {
      method: req.method,
      body: req.body,
      headers: req.body ? { 'content-type': 'application/json' } : {},
      cache: 'no-store',
    });
    return [res.status, await res.text()];
  } catch {
    return [0, ''];
  }
}

/** Carries out `first` and whatever the module asks for after it. */
async function backupSteps(h, first) {
  let req = first;
  for (let i = 0; req && i < BACKUP_MAX_STEPS; i++) {
    const [status, text] = await backupFetch(req);
    const next = h.backupAnswer(req.purpose, status, text);
    req = next ? JSON.parse(next) : null;
  }
}

/** The wallet was unlocked: the sync module gets the backup secret it
 *  wants, and what that makes due (a first write, a move) starts now. */
export function backupUnlocked(h) {
  if (giveBackupSecret(h)) scheduleBackup(h, 0);
}

/** Writes (or deletes) the backup if the module says one is due, after a
 *  short wait so a burst of changes makes one write. */
function scheduleBackup(h, ms = BACKUP_DEBOUNCE_MS) {
  // A move waits for the next generation's key: handed over if unlocked.
  if (h.backupWantsKey?.()) giveBackupSecret(h);
  if (!h.backupDue?.()) return;
  clearTimeout(backupTimer);
  backupTimer = setTimeout(() => {
    backupTimer = null;
    backupRunning ??= (async () => {
      try {
        // A move of this group's read on the way makes the module want the
        // next generation's secret: handed over here when unlocked.
        while (h.backupDue() || (h.backupWantsKey() && giveBackupSecret(h))) {
          const next = h.backupNext();
          if (!next) break;
          await backupSteps(h, JSON.parse(next));
        }
      } catch (e) {
        console.warn('tandem: the backup was not written:', e?.message);
      } finally {
        backupRunning = null;
      }
    })();
  }, ms);
}

/** Set by the worker: erases the wallet when another device asks (see onWalletErase). */
let eraseWallet = null;

/** The worker's hook for a revocation that asks this browser to erase its wallet. */
export function onWalletErase(fn) {
  eraseWallet = fn;
}
/** Set by the worker: reads the group's messages (confirm on phone). */
let inboxReader = null;
/** Set by the worker: a device left the group (its phone policy may go). */
let goneHandler = null;

/** The worker's hook for messages from the other devices; `fn(host)` reads
 *  `host.inbox()` and clears what it handled. */
export function onGroupInbox(fn) {
  inboxReader = fn;
}
/** The worker's hook for a device revoked from the group: `fn(deviceHex)`. */
export function onDeviceGone(fn) {
  goneHandler = fn;
}
/** @type {DeviceHost | null} */ let host = null;
let pairingTimer = null;

/** The device key: made once, never extractable, kept in IndexedDB. */
async function deviceKey() {
  let key = await withKeys('readonly', (s) => s.get('device'));
  if (!key) {
    key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    await withKeys('readwrite', (s) => s.put(key, 'device'));
  }
  return key;
}

function deviceName() {
  const platform = navigator.userAgentData?.platform || 'desktop';
  return `Chrome on ${platform}`;
}

async function relayUrl() {
  const { [K.relay]: url } = await chrome.storage.local.get(K.relay);
  return typeof url === 'string' && url ? url : DEFAULT_RELAY;
}

function persistFor(gen) {
  return async (sealed) => {
    if (gen !== generation) return; // a replaced module's late write
    await chrome.storage.local.set({ [K.device]: sealed });
    if (host) await chrome.storage.local.set({ [K.cache]: host.view() });
  };
}

async function persistSync(sealed) {
  await chrome.storage.local.set({ [K.sync]: sealed });
}

export function notification(id, title, message) {
  // The icon URL must be absolute: relative ones resolve against this
  // worker's folder, and Chrome then refuses the notification.
  const iconUrl = chrome.runtime.getURL('extension/icons/icon-128.png');
  chrome.notifications
    ?.create(id, { type: 'basic', iconUrl, title, message })
    .catch?.((e) => console.warn('tandem: notification refused:', e?.message));
}

function onEvent(json, noteJson) {
  const e = JSON.parse(json);
  if (e.kind === 'backup') {
    // The sync module has changes to back up: the worker's own business.
    if (host && attachedSync === host) scheduleBackup(host);
    return;
  }
  chrome.runtime.sendMessage({ channel: EVENT, event: 'devices', detail: e }).catch(() => {});
  if (plainEvent && attachedSync === null) plainEvent(json, e);
  const note = noteJson ? JSON.parse(noteJson) : null;
  if (note) notification(`tandem-${e.kind}-${Date.now()}`, note.title, note.message);
  if (e.kind === 'removed' && e.record?.erase && eraseWallet) {
    // Another device revoked this browser as lost or compromised and asked
    // for its wallet to be erased: the vault goes, the device list stays
    // (it says who removed it).
    const removed = host ? JSON.parse(host.view()).removed : null;
    eraseWallet({ by: removed?.by_name || e.record.by, at: e.record.at, reason: e.record.reason }).catch((err) =>
      console.error('tandem: erasing the wallet failed:', err?.message),
    );
  }
  if ((e.kind === 'message' || e.kind === 'request') && host && inboxReader) {
    inboxReader(host).catch((err) => console.error('tandem: reading group messages failed:', err?.message));
  }
  if (e.kind === 'device_revoked' && e.record?.target?.device && goneHandler) {
    goneHandler(e.record.target.device).catch((err) => console.error('tandem:', err?.message));
  }
  if (e.kind === 'sync' || e.kind === 'sync_notice' || e.kind === 'sync_status') {
    chrome.runtime.sendMessage({ channel: EVENT, event: 'sync' }).catch(() => {});
    if (e.kind === 'sync' && host && syncReader) {
      syncReader(host).catch((err) => console.error('tandem: applying synced changes failed:', err?.message));
    }
  }
  if (e.kind === 'pairing') {
    watchPairing();
    const over = ['paired', 'failed'].includes(e.pairing?.step);
    (over ? chrome.storage.session.remove(K.pairing) : chrome.storage.session.set({ [K.pairing]: e.pairing.step })).catch(
      () => {},
    );
  }
}

/** While a pairing runs, the engine ticks every second (offer expiry, codes). */
function watchPairing() {
  if (pairingTimer || !host) return;
  pairingTimer = setInterval(() => {
    if (!host || !host.pairing()) {
      clearInterval(pairingTimer);
      pairingTimer = null;
      return;
    }
    host.tick();
  }, 1000);
}

/** Loads the module and opens (or creates) this browser's device: the sync
 *  module when `sync` is asked for or sync was set up, else the plain one. */
export function devices({ sync = false } = {}) {
  if (loading && sync && !loadingSync) {
    // Replace the plain module: close its sockets, then open the same
    // stored state in the sync module.
    const old = loading;
    loading = null;
    generation++;
    return old
      .catch(() => null)
      .then((h) => {
        h?.close();
        host = null;
        return devices({ sync: true });
      });
  }
  if (!loading) {
    loadingSync = sync;
    const gen = ++generation;
    loading = (async () => {
      const [key, stored, relay] = await Promise.all([
        deviceKey(),
        chrome.storage.local.get([K.device, K.sync]),
        relayUrl(),
      ]);
      const withSync = sync || stored[K.sync] != null;
      loadingSync = withSync;
      const Host = withSync ? SyncHost : DeviceHost;
      await (withSync
        ? loadSync()
        : initDevice({ module_or_path: new URL('./wasm/tandem_wasm_device_bg.wasm', import.meta.url) }));
      host = await Host.open(stored[K.device] ?? null, key, deviceName(), relay, persistFor(gen), onEvent);
      if (withSync) {
        await host.attachSync(stored[K.sync] ?? null, persistSync);
        attachedSync = host;
        giveBackupSecret(host);
        scheduleBackup(host);
        if (syncAttached) syncAttached(host);
        if (syncReader) syncReader(host).catch((err) => console.error('tandem:', err?.message));
      }
      const { [K.pairing]: running } = await chrome.storage.session.get(K.pairing);
      if (running) {
        await chrome.storage.session.remove(K.pairing);
        host.interrupted();
      }
      await chrome.storage.local.set({ [K.cache]: host.view() });
      host.command(JSON.stringify({ kind: 'connect' }));
      // Messages stored before the worker stopped, not yet handled.
      if (inboxReader) inboxReader(host).catch((err) => console.error('tandem:', err?.message));
      return host;
    })();
    loading.catch(() => {
      loading = null;
    });
  }
  return loading;
}

/** At boot and on the alarm: a paired browser stays connected (revocations
 *  must reach it even while the wallet is locked). */
export async function deviceTick() {
  if (host) {
    host.tick();
    // A backup that failed (relay away) or was cut short by a restart.
    if (attachedSync === host) scheduleBackup(host, 0);
    return;
  }
  const { [K.cache]: cache } = await chrome.storage.local.get(K.cache);
  if (cache && JSON.parse(cache).paired) await devices();
}

/** Runs `fn(host)` on the sync module, only where sync was set up (a
 *  change made here is recorded for sync). */
export async function whenSyncing(fn) {
  if (!loading) {
    const { [K.sync]: s } = await chrome.storage.local.get(K.sync);
    if (s == null) return;
  }
  const h = await devices();
  if (loadingSync) fn(h);
}

/** Sends confirm-on-phone text to the group (`request`: as a group request). */
export async function sendToGroup(request, text) {
  const h = await devices();
  h.command(JSON.stringify({ kind: request ? 'ask' : 'send', text }));
}

/** The popup's `devices.*` requests. */
export async function deviceUi(method, p) {
  switch (method) {
    case 'devices.view':
      return JSON.parse((await devices()).view());
    case 'devices.command': {
      const h = await devices();
      h.command(JSON.stringify(p ?? {}));
      return JSON.parse(h.view());
    }
    case 'sync.view':
      return JSON.parse((await devices({ sync: true })).syncView(p?.limit));
    case 'sync.status': {
      // Home's line: only where sync was set up (nothing is loaded for it
      // otherwise). Counts, no records.
      let view = null;
      await whenSyncing((h) => (view = JSON.parse(h.syncView(0))));
      return view;
    }
    case 'sync.edit': {
      const h = await devices({ sync: true });
      const { limit, ...edit } = p ?? {};
      h.syncEdit(JSON.stringify(edit));
      // A category switched on here: what the worker keeps itself (this
      // browser's connected sites) goes to it now, as after another
      // device's change.
      if (edit.field?.enabled && syncReader) await syncReader(h).catch((err) => console.error('tandem:', err?.message));
      return JSON.parse(h.syncView(limit));
    }
    case 'backup.find': {
      // Onboarding, after "Import a recovery phrase": is there a backup to
      // restore? Asked without a device (nothing is made, stored or
      // connected for a wallet that never synced); only when there is one
      // does this browser get its device and the sync module read it, so
      // the Sync screen can say what it holds.
      // Each generation is read in turn until one is not there (the
      // module decides which to restore: crates/sync/src/backup.rs Probe).
      await loadSync();
      const probe = new BackupProbe();
      const relay = await relayUrl();
      let h;
      try {
        for (let g = probe.generation(); g !== undefined; g = probe.generation()) {
          const secret = backupSecret?.(g);
          if (!secret) return { found: null };
          try {
            const [status, text] = await backupFetch(JSON.parse(probe.request(secret, relay)));
            probe.answer(secret, status, text);
          } finally {
            secret.fill(0);
          }
        }
        const chosen = probe.chosenGeneration();
        if (chosen === undefined) return { found: null };
        h = await devices({ sync: true });
        const secret = backupSecret?.(chosen);
        if (!secret) return { found: null };
        try {
          h.backupKey(secret, chosen);
        } finally {
          secret.fill(0);
        }
        // What the probe read and opened is what will be restored.
        if (!h.backupFoundBy(probe)) {
          const req = h.backupFind();
          if (req) await backupSteps(h, JSON.parse(req));
        }
      } finally {
        probe.free();
      }
      const found = h.backupFound();
      return { found: found ? JSON.parse(found) : null };
    }
    case 'backup.restore': {
      const h = await devices({ sync: true });
      if (!h.backupFound()) {
        // The worker restarted since the backup was found: read it again.
        giveBackupSecret(h);
        const req = h.backupFind();
        if (req) await backupSteps(h, JSON.parse(req));
      }
      h.backupRestore();
      return JSON.parse(h.syncView(p?.limit));
    }
    case 'backup.skip': {
      const h = await devices({ sync: true });
      h.backupSkip();
      return JSON.parse(h.syncView(p?.limit));
    }
    case 'backup.delete': {
      const h = await devices({ sync: true });
      h.backupDelete();
      scheduleBackup(h, 0);
      return JSON.parse(h.syncView(p?.limit));
    }
    case 'backup.cutoff': {
      // The wallet is unlocked (every backup method asks for it): the
      // next generation's secret goes to the module at once.
      const h = await devices({ sync: true });
      h.backupCutOff();
      giveBackupSecret(h);
      scheduleBackup(h, 0);
      return JSON.parse(h.syncView(p?.limit));
    }
    case 'backup.on': {
      const h = await devices({ sync: true });
      giveBackupSecret(h);
      h.backupOn();
      // Cut off before: turned on, it follows the backup's next generation.
      giveBackupSecret(h);
      scheduleBackup(h, 0);
      return JSON.parse(h.syncView(p?.limit));
    }
    case 'sync.dismiss': {
      const h = await devices({ sync: true });
      h.syncDismiss();
      return JSON.parse(h.syncView(p?.limit));
    }
    case 'devices.relay.get':
      return { relay: await relayUrl(), default: DEFAULT_RELAY };
    case 'devices.relay.set': {
      const url = typeof p?.relay === 'string' ? p.relay.trim() : '';
      if (url) {
        await initDevice({ module_or_path: new URL('./wasm/tandem_wasm_device_bg.wasm', import.meta.url) });
        checkRelay(url);
        await chrome.storage.local.set({ [K.relay]: url });
      } else {
        await chrome.storage.local.remove(K.relay);
      }
      return { relay: await relayUrl(), default: DEFAULT_RELAY };
    }
    default:
      return undefined;
  }
}
