// The worker's glue for the audit log. The log itself (entries signed with
// this device's identity key, chained by hash, checked on every read) lives
// in the sync module's state (crates/wasm-device/src/audit.rs), sealed under
// the device key. An entry made while that module is not loaded (a wallet
// never paired and without sync) waits here, with its time, until the module
// loads next: Settings, Activity log loads it and signs what waited first.
// Entries do not wait unsigned for long: once DRAIN_AT wait, or the oldest
// has waited DRAIN_AFTER_MS, the worker loads the module to sign them (so a
// wallet whose log is never opened keeps every entry, chained).
//
// Storage (see extension/API.md):
//   local  tandem.audit.queue   entries not signed yet: [{happened}|{approval, approved, approvedOn}|{event}, atMs];
//                               nothing secret (what the log itself will say)

import { devices, loadedSyncHost, onPlainEvent, onSyncAttached } from './devices.js';

const QUEUE = 'tandem.audit.queue';
/** Entries kept waiting at most (the oldest go first; reached only when
 *  the module cannot load, said in the worker's console). */
const MAX_QUEUED = 500;
/** This many waiting, or the oldest waiting this long: they are signed now. */
const DRAIN_AT = 32;
const DRAIN_AFTER_MS = 24 * 3600 * 1000;
/** An approval longer than this waits as its site, kind and method only. */
const MAX_APPROVAL_BYTES = 8 * 1024;

/** One write at a time, in order (the log is a chain). A failed write is
 *  reported in the worker's console and does not stop what the user is
 *  doing (an unlock, an answer). */
let order = Promise.resolve();
function inOrder(fn) {
  const next = order.then(fn);
  order = next.catch((e) => console.warn('tandem: the audit log was not written:', e?.message));
  return next;
}

async function write(host, item) {
  if (item.happened) await host.auditRecord(JSON.stringify(item.happened), item.atMs);
  else if (item.event) await host.auditEvent(item.event, item.atMs);
  else await host.auditAnswered(item.approval, item.approved, item.approvedOn ?? undefined, item.atMs);
}

/** Signs what waited, oldest first; each leaves the queue once stored. */
async function drain(host) {
  const { [QUEUE]: queue = [] } = await chrome.storage.local.get(QUEUE);
  while (queue.length) {
    try {
      await write(host, queue[0]);
    } catch (e) {
      // The module refused it (it can never be written): it goes, said so.
      console.warn('tandem: a waiting audit entry was unreadable and dropped:', e?.message);
    }
    queue.shift();
    await chrome.storage.local.set({ [QUEUE]: queue });
  }
  await chrome.storage.local.remove(QUEUE);
}
onSyncAttached((host) => inOrder(() => drain(host)));

function add(item) {
  return inOrder(async () => {
    const host = loadedSyncHost();
    if (host) {
      await drain(host); // what waited goes first: the chain keeps time order
      return write(host, item);
    }
    const { [QUEUE]: queue = [] } = await chrome.storage.local.get(QUEUE);
    queue.push(item);
    if (queue.length > MAX_QUEUED) console.warn(`tandem: ${queue.length - MAX_QUEUED} unsigned audit entries dropped (the log's module did not load)`);
    await chrome.storage.local.set({ [QUEUE]: queue.slice(-MAX_QUEUED) });
    // Loading attaches the module, which drains the queue (onSyncAttached,
    // in this order after this write; not awaited here: it runs after it).
    if (queue.length >= DRAIN_AT || item.atMs - (queue[0]?.atMs ?? item.atMs) >= DRAIN_AFTER_MS) {
      devices({ sync: true }).catch((e) => console.warn('tandem: the audit log could not load to sign what waits:', e?.message));
    }
  }).catch(() => {}); // reported by inOrder
}

/** Events of the plain module that may make an entry (the sync module
 *  decides, auditEvent: a pairing this device took part in, its own token
 *  refreshed or expired, a revocation it issued). The sync module records its own;
 *  these wait, as heard, until it loads. Of a pairing only its end: the
 *  steps before it never make one. */
const EVENTS = ['token_refreshed', 'token_expired', 'device_revoked'];
onPlainEvent((json, e) => {
  if (EVENTS.includes(e.kind) || e.pairing?.step === 'paired') add({ event: json, atMs: Date.now() });
});

/** Records what happened here (`happened`: a tandem_sync::audit::Happened). */
export function audit(happened) {
  return add({ happened, atMs: Date.now() });
}

/** The entry for an answer to a site's request (`a`: as `wallet.approvals()`
 *  lists it), `approved` or not, on `approvedOn` (the phone's hex id when
 *  the phone answered), made now: the answer's record carries it until its
 *  page has the answer (answers.js), then it is written (auditWrite). The
 *  module records the ones that sign or send. */
export function auditItem(a, approved, approvedOn) {
  let approval = JSON.stringify(a);
  if (approval.length > MAX_APPROVAL_BYTES) {
    approval = JSON.stringify({ origin: a.origin, kind: a.kind, request: { method: a.request?.method } });
  }
  return { approval, approved, approvedOn: approvedOn ?? null, atMs: Date.now() };
}

/** Writes an entry made by auditItem. */
export function auditWrite(item) {
  return add(item);
}

/** The popup's `audit.*` requests: the log loads the sync module (and signs
 *  what waited) before it is read. */
export async function auditUi(method, p) {
  switch (method) {
    case 'audit.view': {
      const h = await devices({ sync: true });
      await inOrder(() => drain(h));
      return JSON.parse(h.auditView());
    }
    case 'audit.export': {
      const h = await devices({ sync: true });
      await inOrder(() => drain(h));
      return { text: h.auditExport(String(p?.format ?? 'json')) };
    }
    default:
      return undefined;
  }
}
