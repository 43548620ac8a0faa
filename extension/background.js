// Tandem's service worker: thin glue around the wasm core.
//
// The wallet logic (what a request means, what needs approval, permissions,
// networks, activity, auto-lock) is Rust (crates/wallet via crates/wasm; the
// portfolio, fee batch and activity records via the extra module, extra.js). This
// file does the I/O: chrome.storage, fetch to the network's JSON-RPC, approval
// windows, and broadcasting changes. Listeners are registered synchronously at
// the top level; every handler awaits `ready`, so a request that wakes the
// worker is queued until the wasm module is loaded, never dropped.
//
// Storage (see extension/API.md):
//   local   tandem.vault        encrypted keyring (Argon2id + XChaCha20-Poly1305)
//   local   tandem.state        controller state (no secrets)
//   local   tandem.cache.view   what `state` returns, for the popup's first paint
//   local   tandem.cache.portfolio  balances of every account on every network (crates/wallet/src/portfolio.rs)
//   session tandem.session      pending approvals + auto-lock clock
//   session tandem.bundles      EIP-5792 bundles approved in this browser session (calls.js)
//   session tandem.sessionKey   this unlock's vault data key (never the password's key) sealed under a per-unlock non-extractable key (session-key.js)
//   session tandem.windows      approval window id -> approval id
//   session tandem.tabs         tabs with a request waiting (read without the wasm core)
//   session tandem.answers      answered approvals not yet delivered (answers.js)

import init, {
  WalletController,
  Keyring,
  Vault,
  generateMnemonic,
  validateMnemonic,
  checksumAddress,
  rpcAnswer,
  answerStep,
} from './wasm/tandem_wasm.js';
import { forgetSessionKey, openSessionKey, sealSessionKey } from './session-key.js';
import { audit, auditItem, auditUi, auditWrite } from './audit.js';
import { gasPrice, tokenInfo } from './tokens.js';
import { answers } from './answers.js';
import { calls } from './calls.js';
import { extra } from './extra.js';
import {
  backupUnlocked,
  devices,
  deviceTick,
  deviceUi,
  loadedSyncHost,
  notification,
  onBackupSecret,
  onDeviceGone,
  onGroupInbox,
  onSyncChange,
  onWalletErase,
  sendToGroup,
  warmSync,
  whenSyncing,
} from './devices.js';

const UI = 'tandem/ui';
const PROVIDER = 'tandem/provider';
const EVENT = 'tandem/event';
const EXT_PREFIX = chrome.runtime.getURL('');
const MAX_REQUEST_BYTES = 512 * 1024;
const RPC_TIMEOUT_MS = 20_000;
/** The origin of the wallet's own Send (tandem-wallet's WALLET_ORIGIN). */
const WALLET_ORIGIN = 'tandem:wallet';

const K = {
  vault: 'tandem.vault',
  state: 'tandem.state',
  view: 'tandem.cache.view',
  session: 'tandem.session',
  sessionKey: 'tandem.sessionKey',
  windows: 'tandem.windows',
  tabs: 'tandem.tabs',
  answers: 'tandem.answers',
  bundles: 'tandem.bundles',
  erased: 'tandem.erased',
  portfolio: 'tandem.cache.portfolio',
};

// ---- state held in memory while the worker lives ----------------------------
/** @type {WalletController} */ let wallet;
/** @type {Keyring | null} */ let keyring = null;
/** @type {string | null} */ let vaultJson = null;
/** @type {Uint8Array | null} */ let sessionKey = null;
let rpcSeq = 0;
/** Answered approvals not yet delivered: [{ id, then }] (answers.js). */
let answered = [];
/** EIP-5792 bundles under way or finished, as the extra module keeps them (calls.js). */
let bundles = [];
/** Who had the wallet erased (another device, revoking this one as lost). */
let erased = null;
let bootMs = 0;

// ---- listeners: synchronous, top level ---------------------------------------
chrome.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  if (!msg || typeof msg !== 'object' || sender.id !== chrome.runtime.id) return false;
  if (msg.channel === UI) {
    if (!isExtensionPage(sender)) return false;
    handleUi(msg).then(sendResponse, (e) => sendResponse({ ok: false, error: errorOf(e) }));
    return true;
  }
  if (msg.channel === PROVIDER && msg.type === 'page-settings') {
    // What a content script needs of the settings (it cannot read storage:
    // see boot). Read from the cached view, without loading wasm.
    if (isExtensionPage(sender) || !sender.tab) return false;
    chrome.storage.local.get(K.view).then(
      (v) => sendResponse({ ownWindowEthereum: v?.[K.view]?.settings?.ownWindowEthereum === true }),
      () => sendResponse({ ownWindowEthereum: false }),
    );
    return true;
  }
  if (msg.channel === PROVIDER && (msg.type === 'request' || msg.type === 'status')) {
    if (isExtensionPage(sender) || !sender.tab) return false;
    const handler = msg.type === 'request' ? handleProvider : handleStatus;
    handler(msg, sender).then(sendResponse, (e) =>
      sendResponse({ id: msg.id, error: { code: -32603, message: String(e?.message ?? e) } }),
    );
    return true;
  }
  return false;
});

chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === 'tandem-tick') tick().catch(() => {});
});

chrome.windows.onRemoved.addListener((windowId) => {
  windowClosed(windowId).catch(() => {});
});

chrome.tabs.onRemoved.addListener((tabId) => {
  tabClosed(tabId).catch(() => {});
});

chrome.runtime.onInstalled.addListener(({ reason }) => {
  ensureAlarm();
  // A fresh install opens onboarding in a tab, as users expect; an update or a
  // reinstall over an existing vault does not.
  if (reason === 'install') {
    chrome.storage.local.get(K.vault).then((v) => {
      if (!v[K.vault]) chrome.tabs.create({ url: chrome.runtime.getURL('extension/onboarding.html') });
    }).catch(() => {});
  }
});
chrome.runtime.onStartup.addListener(() => ensureAlarm());

// A page with a request waiting holds a port: when the worker stops, the
// port closes and the page asks after its request (content/relay.js).
chrome.runtime.onConnect.addListener((port) => {
  if (port.name !== 'tandem/waiting' || port.sender?.id !== chrome.runtime.id) port.disconnect();
});

// Content scripts run in web pages' processes: they get no access to the
// wallet's storage at all. The session key's area is restricted by Chrome's
// default (set explicitly so a default change cannot expose it); the local
// area (vault, state, device state) is open to content scripts by default,
// so it is restricted here, on every wake-up. The stored state is checked
// when it is read anyway (State::from_json), never trusted.
chrome.storage.session.setAccessLevel?.({ accessLevel: 'TRUSTED_CONTEXTS' }).catch(() => {});
chrome.storage.local.setAccessLevel?.({ accessLevel: 'TRUSTED_CONTEXTS' }).catch((e) =>
  console.error('tandem: cannot restrict local storage to the extension:', e?.message),
);

// The wasm core loads on the first event that needs it, not on every
// wake-up: closing a tab or a window that has nothing waiting wakes the
// worker but loads nothing. `await ready` starts it.
let booting = null;
/** What boot found to finish (see resume): a page asking after its request
 *  is told "unknown" only once that is done, never before its answer. */
let resumed = null;
const ready = { then: (ok, fail) => (booting ??= boot()).then(ok, fail) };

// ---- boot ---------------------------------------------------------------------
async function boot() {
  const bootStarted = performance.now();
  // For the e2e test that closing an unrelated tab loads no wasm (mv3-restart).
  globalThis.tandemCoreLoads = (globalThis.tandemCoreLoads ?? 0) + 1;
  const [, local, session] = await Promise.all([
    init({ module_or_path: new URL('./wasm/tandem_wasm_bg.wasm', import.meta.url) }),
    chrome.storage.local.get([K.state, K.vault, K.erased]),
    chrome.storage.session.get([K.session, K.sessionKey, K.answers, K.bundles]),
  ]);
  answered = Array.isArray(session[K.answers]) ? session[K.answers] : [];
  bundles = Array.isArray(session[K.bundles]) ? session[K.bundles] : [];
  vaultJson = local[K.vault] ?? null;
  erased = local[K.erased] ?? null;
  // No wallet yet: an import will look for its backup with the sync
  // module, compiled while the user types the phrase.
  if (vaultJson === null) warmSync();
  // Unreadable stored state must not brick the wallet: fall back half by half
  // (the vault is separate and untouched; names and networks reset, keys do not).
  const attempts = [
    [local[K.state] ?? '', session[K.session] ?? ''],
    ['', session[K.session] ?? ''],
    [local[K.state] ?? '', ''],
    ['', ''],
  ];
  for (const [st, se] of attempts) {
    try {
      wallet = new WalletController(st, se);
      break;
    } catch (e) {
      console.error('tandem: stored state unreadable, falling back:', e?.message);
    }
  }
  const key = session[K.sessionKey];
  if (key && vaultJson) {
    if (wallet.lockExpired(Date.now())) {
      await lockNow(); // auto-lock passed while the worker slept
    } else {
      try {
        sessionKey = await openSessionKey(key);
        if (!sessionKey) throw new Error('no session key');
        keyring = Vault.open(vaultJson, sessionKey);
        wallet.syncAccounts(keyring.accounts());
      } catch {
        await dropSessionKey();
      }
    }
  } else {
    // Locked, or the browser restarted (the session area is empty): a
    // wrapping key left in IndexedDB opens nothing; delete it.
    forgetSessionKey().catch(() => {});
  }
  bootMs = performance.now() - bootStarted;
  // Requests that wait for the phone keep their deadline across a restart.
  phoneWork().catch((e) => console.error('tandem: confirm on phone:', e?.message));
  // A paired browser reconnects to its relay (revocations must reach it).
  deviceTick().catch((e) => console.error('tandem: devices:', e?.message));
  // Transactions whose fees were being fetched when the worker died.
  for (const a of JSON.parse(wallet.approvals())) {
    if (a.needsFill && a.kind === 'add_chain') checkChain(a.id, a.request.network.rpcUrl).catch(() => {});
    else if (a.needsFill) fillTransaction(a.id).catch(() => {});
  }
  // Answers recorded before the worker stopped go on; what expired or lost
  // its window while it slept is rejected.
  resumed = resume().catch((e) => console.error('tandem: resuming answers:', e?.message));
}

async function ensureAlarm() {
  if (!(await chrome.alarms.get('tandem-tick'))) {
    await chrome.alarms.create('tandem-tick', { periodInMinutes: 0.5 });
  }
}

// ---- helpers --------------------------------------------------------------------
function isExtensionPage(sender) {
  return typeof sender.url === 'string' && sender.url.startsWith(EXT_PREFIX);
}

function senderOrigin(sender) {
  // A sandboxed frame's origin is opaque ("null"): passed on as such (the
  // wallet refuses it), never replaced by its URL's origin, which would
  // hand it the embedding site's connection.
  if (typeof sender.origin === 'string') return sender.origin;
  try {
    return new URL(sender.url).origin;
  } catch {
    return '';
  }
}

function errorOf(e) {
  return { kind: e?.name && e.name !== 'Error' ? e.name : 'Error', message: String(e?.message ?? e) };
}

function uiError(kind, message) {
  const e = new Error(message);
  e.name = kind;
  return e;
}

async function dropSessionKey() {
  if (keyring) keyring.free();
  keyring = null;
  if (sessionKey) sessionKey.fill(0);
  sessionKey = null;
  await Promise.all([chrome.storage.session.remove(K.sessionKey), forgetSessionKey()]);
}

function unlocked() {
  return keyring !== null;
}

/** Locks if the auto-lock window has passed. */
async function checkLock() {
  if (keyring && wallet.lockExpired(Date.now())) await lockNow();
}

/**
 * Locks: forgets the vault key and rejects every pending request, so none is
 * approved later, out of the context it was asked in: each page gets 4001
 * saying Tandem locked, a phone asked to confirm drops it, the approval
 * windows close. (A request that arrives while locked waits for an unlock as
 * before: its window asks for the password.)
 */
async function lockNow() {
  const pending = JSON.parse(wallet.approvals());
  const ids = new Set(pending.map((a) => a.id));
  const rejected = record(JSON.parse(wallet.rejectAll()), pending, false);
  // The key leaves memory at once (dropSessionKey's first, synchronous
  // part), then the rejections are stored with the emptied queue.
  await Promise.all([dropSessionKey(), persist()]);
  notify('state');
  if (rejected) notify('approvals');
  broadcastToTabs();
  // Not awaited: a send under way (answers go one at a time) must not
  // hold up the lock.
  drive().catch(() => {});
  await closeApprovalWindows(ids);
  // The phone's cancellations (queued by rejectAll) go out now.
  if (rejected) phoneWork().catch((e) => console.error('tandem: confirm on phone:', e?.message));
}

/** The sites connected on the group's other devices (the sync module's
 *  `syncSitesElsewhere`, read whenever synced records change): the Sites
 *  tab lists them, with no permission here. */
let sitesElsewhere = [];

/** The popup's `state` answer: the core's state as it is, with what only
 *  the worker knows (a vault, the unlock, other devices' sites, an
 *  erasure). Addresses in EIP-55 form (the core's `checksumAddress`); the
 *  network is the core's lookup; `assets` is every network's watched
 *  tokens (the popup shows the selected network's from the portfolio). */
function view() {
  const s = JSON.parse(wallet.stateJson());
  const cs = (a) => {
    try {
      return checksumAddress(a);
    } catch {
      return a;
    }
  };
  const network = currentNetwork();
  return {
    initialized: vaultJson !== null,
    unlocked: unlocked(),
    accounts: s.accounts.map((a) => ({ address: cs(a.address), name: a.name, origin: a.origin })),
    selected: s.selected ? cs(s.selected) : null,
    network,
    networks: s.networks,
    sites: s.sites.map((x) => ({ ...x, accounts: x.accounts.map(cs) })),
    sitesElsewhere,
    settings: s.settings,
    assets: s.assets,
    pendingApprovals: JSON.parse(wallet.approvals()).length,
    phone: JSON.parse(wallet.phonePolicy()),
    lockAt: unlocked() ? wallet.lockDeadline() : null,
    erased: vaultJson === null ? erased : null,
  };
}

/** Another device revoked this browser as lost or compromised and asked for
 *  its wallet to be erased: the vault, the wallet state and every cache go;
 *  onboarding then says who did it and offers restoring from the phrase. */
async function eraseWallet(info) {
  await ready;
  await dropSessionKey();
  vaultJson = null;
  wallet = new WalletController('', '');
  const all = await chrome.storage.local.get(null);
  const gone = Object.keys(all).filter(
    (k) => [K.vault, K.state, K.view, K.portfolio, 'tandem.ui.cache', 'tandem.ui.hidden'].includes(k) || k.startsWith('tandem.cache.portfolio.'),
  );
  await chrome.storage.local.remove(gone);
  answered = [];
  bundles = [];
  await chrome.storage.session.remove([K.session, K.windows, K.tabs, K.answers, K.bundles]);
  erased = info;
  await chrome.storage.local.set({ [K.erased]: info });
  notify('state');
  // Connected pages learn it: no accounts any more (EIP-1193
  // `accountsChanged` with []; `disconnect` is for a provider that can reach
  // no chain at all, which is not the case: reads still work).
  broadcastToTabs();
}
onWalletErase(eraseWallet);

/** Writes both halves of the controller state, and the popup's cache. The
 *  session half, the recorded answers and the call bundles go in one write:
 *  an approval never leaves the stored queue without its answer (and an
 *  approved bundle) being stored. */
async function persist() {
  const v = view();
  const tabs = [...new Set(JSON.parse(wallet.approvals()).map((a) => a.replyTo?.tabId))];
  await Promise.all([
    chrome.storage.local.set({ [K.state]: wallet.stateJson(), [K.view]: v }),
    chrome.storage.session.set({
      [K.session]: wallet.sessionJson(),
      [K.tabs]: tabs,
      [K.answers]: answered,
      [K.bundles]: bundles,
    }),
  ]);
  syncSites().catch((e) => console.warn('tandem: the connected sites were not recorded for sync:', e?.message));
  return v;
}

function notify(event) {
  chrome.runtime.sendMessage({ channel: EVENT, event }).catch(() => {});
}

/** Tells every page's content script to re-read chainId/accounts (it emits the events). */
async function broadcastToTabs() {
  const tabs = await chrome.tabs.query({}).catch(() => []);
  for (const t of tabs) {
    if (t.id !== undefined && t.id >= 0) {
      chrome.tabs.sendMessage(t.id, { channel: PROVIDER, type: 'refresh' }).catch(() => {});
    }
  }
}

/** Delivers a deferred provider answer to the frame that asked; resolves
 *  to whether it reached it (a page that navigated away gets nothing). */
function deliver(replyTo, payload) {
  if (!replyTo || typeof replyTo.tabId !== 'number') return Promise.resolve(false);
  const options = replyTo.documentId ? { documentId: replyTo.documentId } : { frameId: replyTo.frameId ?? 0 };
  return chrome.tabs
    .sendMessage(replyTo.tabId, { channel: PROVIDER, type: 'response', id: replyTo.id, ...payload }, options)
    .then(() => true, () => false);
}

class RpcError extends Error {
  constructor(code, message, data) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

async function rpc(url, method, params) {
  let res;
  const id = ++rpcSeq;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
      signal: AbortSignal.timeout(RPC_TIMEOUT_MS),
      credentials: 'omit',
    });
  } catch (e) {
    // Never the URL: it often carries an API key, and this message reaches pages.
    throw new RpcError(4901, `could not reach the network's RPC: ${e?.message ?? e}`);
  }
  if (!res.ok) throw new RpcError(-32603, `the network's RPC answered HTTP ${res.status}`);
  let text;
  try {
    text = await res.text();
  } catch (e) {
    throw new RpcError(4901, `could not read the network's RPC answer: ${e?.message ?? e}`);
  }
  // The core checks it is the answer to this request (its id), and takes
  // the URL out of a node's error (it may quote it, API key included).
  const out = JSON.parse(rpcAnswer(id, text, url));
  if (out.error) throw new RpcError(out.error.code, out.error.message, out.error.data);
  return out.result;
}

function rpcErrorObject(e) {
  const o = { code: Number.isInteger(e?.code) ? e.code : -32603, message: String(e?.message ?? e) };
  if (e?.data !== undefined) o.data = e.data;
  return o;
}

/**
 * Sends calls the extra module `x` planned (`{ url, requests }`) as one
 * JSON-RPC batch (a JSON array of the requests); a node that refuses
 * batches gets one request per call. The module checks the answers (each
 * id, as the core does for single calls): resolves to one `{ result }` or
 * `{ error }` per call, in order.
 */
async function viaBatch(x, plan) {
  const post = (body) =>
    fetch(plan.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(RPC_TIMEOUT_MS),
      credentials: 'omit',
    })
      .then((r) => r.text())
      .catch(() => null);
  const read = (answers) => x.rpcBatch(plan.url, plan.requests.length, JSON.stringify(answers));
  const batch = `[${plan.requests.join(',')}]`;
  return JSON.parse(read(await post(batch)) ?? read(await Promise.all(plan.requests.map(post))));
}

/** The selected network (the core decides which, and the fallback). */
function currentNetwork() {
  return JSON.parse(wallet.network());
}

// ---- provider requests ----------------------------------------------------------
async function handleProvider(msg, sender) {
  await ready;
  const id = msg.id;
  let requestJson;
  try {
    requestJson = JSON.stringify(msg.request);
  } catch {
    requestJson = '';
  }
  if (!requestJson || requestJson.length > MAX_REQUEST_BYTES) {
    return { id, error: { code: -32600, message: 'the request is not JSON or is larger than 512 KiB' } };
  }
  await checkLock();
  // The origin comes from the browser, never from the page.
  const origin = senderOrigin(sender);
  if (origin === WALLET_ORIGIN) return { id, error: { code: 4100, message: 'Tandem does not serve this page' } };
  // documentId pins the answer to the document that asked: if the tab has
  // navigated elsewhere meanwhile, a signature is not handed to the new page.
  const replyTo = { tabId: sender.tab.id, frameId: sender.frameId ?? 0, documentId: sender.documentId, id };
  let out = JSON.parse(
    wallet.request(origin, requestJson, unlocked(), JSON.stringify(replyTo), Date.now()),
  );
  if (out.type === 'extra') out = await extraRequest(origin, requestJson, replyTo);
  switch (out.type) {
    case 'result':
      if (out.changed) {
        await persist();
        notify('state');
        broadcastToTabs();
      }
      return { id, result: out.result };
    case 'error':
      return { id, error: out.error };
    case 'rpc':
      try {
        return { id, result: await rpc(out.url, out.method, out.params) };
      } catch (e) {
        return { id, error: rpcErrorObject(e) };
      }
    case 'approval': {
      await persist();
      notify('approvals');
      if (out.fill?.chainIdOf) checkChain(out.id, out.fill.chainIdOf).catch(() => {});
      else if (out.fill) fillTransaction(out.id).catch(() => {});
      await openApprovalWindow(out.id);
      return { id, pending: true };
    }
    default:
      return { id, error: { code: -32603, message: 'internal error' } };
  }
}

/** EIP-5792's methods, answered by the extra module from the core's state.
 *  A checked bundle comes back queued in the core's session half, which the
 *  core is loaded from (as at boot). Nothing runs between reading the
 *  state and loading it (no await), so no change is lost and two bundles
 *  with one id cannot both pass. Resolves to an outcome as the core's. */
async function extraRequest(origin, requestJson, replyTo) {
  let x;
  try {
    x = await extra();
  } catch (e) {
    return { type: 'error', error: { code: -32603, message: `Tandem could not load its extra module: ${e?.message ?? e}` } };
  }
  const state = wallet.stateJson();
  const out = JSON.parse(
    x.callsRequest(state, wallet.sessionJson(), JSON.stringify(bundles), origin, requestJson, JSON.stringify(replyTo), Date.now()),
  );
  if (out.session !== undefined) {
    // Nothing holds the old controller across an await (every use reads
    // `wallet` afresh): its wasm memory goes now, not at some later GC.
    const old = wallet;
    wallet = new WalletController(state, out.session);
    old.free();
  }
  return out;
}

/**
 * The relay asks after a request whose answer was lost because the worker
 * stopped mid-request: if it became an approval, it is still pending (the
 * answer will be delivered later) and its window is reopened if it never opened.
 */
async function handleStatus(msg, sender) {
  await ready;
  await resumed;
  const asked = (r) => r?.tabId === sender.tab.id && r?.frameId === (sender.frameId ?? 0) && r?.id === msg.id;
  // Answered, not yet delivered (the worker stopped on the way): it goes on.
  if (answered.some((x) => asked(x.then.reply_to))) {
    drive().catch(() => {});
    return { id: msg.id, pending: true };
  }
  const a = JSON.parse(wallet.approvals()).find((x) => asked(x.replyTo));
  if (!a) return { id: msg.id, unknown: true };
  const { [K.windows]: map = {} } = await chrome.storage.session.get(K.windows);
  if (!Object.values(map).includes(a.id)) await openApprovalWindow(a.id);
  return { id: msg.id, pending: true };
}

/**
 * The popup's Send: the transaction it built goes through the core as an
 * `eth_sendTransaction` from the wallet itself (WALLET_ORIGIN), so it gets
 * the approval window, fee fill, signing and activity record a site's does.
 */
async function ownSend(tx) {
  if (!tx || typeof tx !== 'object') throw uiError('InvalidInput', 'send.start takes { transaction }');
  const request = JSON.stringify({ method: 'eth_sendTransaction', params: [tx] });
  const out = JSON.parse(wallet.request(WALLET_ORIGIN, request, unlocked(), 'null', Date.now()));
  if (out.type === 'error') throw uiError('Refused', out.error.message);
  if (out.type !== 'approval') throw uiError('Refused', 'the wallet did not queue the transaction');
  await persist();
  notify('approvals');
  fillTransaction(out.id).catch(() => {});
  await openApprovalWindow(out.id);
  return { approval: out.id };
}

/** Fetches nonce, gas and fees into a transaction approval: the extra
 *  module names the calls (one batch to the node of the transaction's
 *  chain) and reads the answers into the fill the core takes. */
async function fillTransaction(id) {
  try {
    const x = await extra();
    const approval = wallet.approval(id);
    const plan = JSON.parse(x.feePlan(approval, wallet.stateJson()));
    // No plan (the transaction's network was removed), or the node refused
    // (e.g. the call reverts): the request is refused with that error.
    const out = plan.error ? plan : JSON.parse(x.feeFill(approval, JSON.stringify(await viaBatch(x, plan))));
    if (out.error) throw new RpcError(out.error.code, out.error.message, out.error.data);
    wallet.fillTransaction(id, JSON.stringify(out.fill));
  } catch (e) {
    // The node refused (e.g. the call reverts): the dapp gets the node's
    // error instead of an unsignable transaction in a window. Recorded as
    // every answer is, with the approval's removal: a worker stopped after
    // this still delivers it, and the log has it.
    const a = JSON.parse(wallet.approvals()).find((x) => x.id === id);
    let then;
    try {
      then = JSON.parse(wallet.withdraw(id));
    } catch {
      return; // answered meanwhile
    }
    answered.push({ id, then: { ...then, error: rpcErrorObject(e) }, audit: a ? auditItem(a, false) : undefined });
    await persist();
    notify('approvals');
    await closeApprovalWindows(new Set([id]));
    await drive();
    return;
  }
  await persist();
  notify('approvals');
}

/** Asks the RPC of a network a site wants added which chain it serves; the
 *  core refuses the request if it is not the chain the site named. */
async function checkChain(id, url) {
  const answer = await rpc(url, 'eth_chainId', []).catch(() => null);
  const a = JSON.parse(wallet.approvals()).find((x) => x.id === id);
  const res = JSON.parse(wallet.chainChecked(id, JSON.stringify(answer)));
  // Refused (another chain, or no answer): recorded with the approval's
  // removal, as every answer is, then carried to the page.
  if (res) answered.push({ id, then: res, audit: a ? auditItem(a, false) : undefined });
  await persist();
  notify('approvals');
  if (res) {
    await closeApprovalWindows(new Set([id]));
    await drive();
  }
}

/** Window openings run one at a time: requests arrive together, and each
 *  must see the window the one before it opened. */
let windowQueue = Promise.resolve();
function inWindowQueue(fn) {
  const run = windowQueue.then(fn);
  windowQueue = run.catch(() => {});
  return run;
}
function openApprovalWindow(approvalId) {
  return inWindowQueue(() => openWindowNow(approvalId)).catch(() => {});
}

async function openWindowNow(approvalId) {
  const pending = JSON.parse(wallet.approvals());
  const origin = pending.find((a) => a.id === approvalId)?.origin;
  const { [K.windows]: shown = {} } = await chrome.storage.session.get(K.windows);
  // One window per site: a site's further requests wait in its window (which
  // shows how many, and answering one shows the next), so a site that floods
  // requests cannot bury the screen in windows.
  if (Object.values(shown).some((id) => pending.find((a) => a.id === id)?.origin === origin)) return;
  const url = chrome.runtime.getURL(`extension/approval.html?id=${approvalId}`);
  try {
    const w = await chrome.windows.create({ url, type: 'popup', width: 380, height: 640, focused: true });
    const { [K.windows]: map = {} } = await chrome.storage.session.get(K.windows);
    map[w.id] = approvalId;
    await chrome.storage.session.set({ [K.windows]: map });
    // Answered while the window was opening (e.g. the node refused the
    // transaction): nothing left to show.
    if (!JSON.parse(wallet.approvals()).some((a) => a.id === approvalId)) {
      chrome.windows.remove(w.id).catch(() => {});
    }
  } catch (e) {
    console.warn('tandem: could not open the approval window:', e?.message);
  }
}

/** The oldest request of `origin` that waits without a window of its own. */
function nextQueued(origin, map) {
  const shown = new Set(Object.values(map));
  return JSON.parse(wallet.approvals()).find((a) => a.origin === origin && !shown.has(a.id)) ?? null;
}

/** How many requests of `origin` wait behind approval `id`. */
function queuedBehind(id) {
  const pending = JSON.parse(wallet.approvals());
  const origin = pending.find((a) => a.id === id)?.origin;
  return pending.filter((a) => a.origin === origin && a.id !== id).length;
}

/**
 * Approval `answeredId` was answered in its window: the window shows its
 * site's next waiting request (its id is returned for the window to load),
 * or forgets the window, which closes itself.
 */
async function advanceWindow(answeredId, origin) {
  const { [K.windows]: map = {} } = await chrome.storage.session.get(K.windows);
  const entry = Object.entries(map).find(([, id]) => id === answeredId);
  if (!entry) return null;
  const next = nextQueued(origin, map);
  if (next) map[entry[0]] = next.id;
  else delete map[entry[0]];
  await chrome.storage.session.set({ [K.windows]: map });
  return next?.id ?? null;
}

/** Every site with requests waiting and no window gets one (after the
 *  worker closed a window whose site has more waiting). */
async function ensureWindows() {
  const { [K.windows]: map = {} } = await chrome.storage.session.get(K.windows);
  const pending = JSON.parse(wallet.approvals());
  const shown = new Set(Object.values(map));
  const covered = new Set(pending.filter((a) => shown.has(a.id)).map((a) => a.origin));
  for (const a of pending) {
    if (covered.has(a.origin)) continue;
    covered.add(a.origin);
    await openApprovalWindow(a.id);
  }
}

/** An approval window closed: if its approval is still pending, that is a rejection. */
async function windowClosed(windowId) {
  const { [K.windows]: map = {} } = await chrome.storage.session.get(K.windows);
  const approvalId = map[windowId];
  if (approvalId === undefined) return; // not an approval window: no wasm loaded
  await ready;
  delete map[windowId];
  await chrome.storage.session.set({ [K.windows]: map });
  // The window's request and the ones of its site waiting in it (they have
  // no window of their own): nobody answered them, so they are rejected
  // without putting off auto-lock.
  const origin = JSON.parse(wallet.approvals()).find((a) => a.id === approvalId)?.origin;
  if (origin === undefined) return; // already answered
  const shown = new Set(Object.values(map));
  for (const a of JSON.parse(wallet.approvals())) {
    if (a.id !== approvalId && (a.origin !== origin || shown.has(a.id))) continue;
    withdraw(a);
  }
  await persist();
  notify('approvals');
  await drive();
  await phoneWork();
}

/** Rejects approval `a` without anyone answering it (not the user's
 *  answer: auto-lock is not put off) and records the 4001 for its page. */
function withdraw(a) {
  try {
    answered.push({ id: a.id, then: JSON.parse(wallet.withdraw(a.id)), audit: auditItem(a, false) });
    return true;
  } catch {
    return false; // answered meanwhile
  }
}

/** The dapp's tab closed: its pending requests are rejected and their windows closed. */
async function tabClosed(tabId) {
  const { [K.tabs]: tabs = [] } = await chrome.storage.session.get(K.tabs);
  if (!tabs.includes(tabId)) return; // nothing waits for it: no wasm loaded
  await ready;
  const pending = JSON.parse(wallet.approvals()).filter((a) => a.replyTo?.tabId === tabId);
  if (pending.length === 0) return;
  const ids = new Set(pending.map((a) => a.id));
  // Recorded as every answer is: the tab is gone, but its audit entry and
  // the phone's cancellation must not be lost to a restart.
  for (const a of pending) withdraw(a);
  await persist();
  notify('approvals');
  await drive();
  await phoneWork();
  await closeApprovalWindows(ids);
}

/** Closes the windows of approvals the worker answered itself; a site with
 *  more requests waiting gets a window for the next. */
async function closeApprovalWindows(ids) {
  const { [K.windows]: map = {} } = await chrome.storage.session.get(K.windows);
  for (const [windowId, approvalId] of Object.entries(map)) {
    if (!ids.has(approvalId)) continue;
    delete map[windowId]; // forgotten first: ensureWindows must not count it
    chrome.windows.remove(Number(windowId)).catch(() => {});
  }
  await chrome.storage.session.set({ [K.windows]: map });
  await ensureWindows();
}

async function tick() {
  await ready;
  await checkLock();
  await phoneWork();
  await pollReceipts();
  runCalls().catch((e) => console.warn('tandem: call bundles:', e?.message));
  await deviceTick();
}

// ---- approvals resolved by the UI ---------------------------------------------
const { drive } = answers({
  list: () => answered,
  setList: (l) => {
    answered = l;
  },
  answerStep,
  keyring: () => keyring,
  persist,
  deliver,
  broadcast,
  errorObject: rpcErrorObject,
  changed: () => {
    notify('state');
    broadcastToTabs();
  },
  audit: auditWrite,
});

/**
 * Records answers the core handed back as `[{ id, then }]` (the phone's,
 * timeouts, a lock), each with its audit entry: `approved` or not, on
 * `on` (the phone's hex id when it answered); `pending` is the queue as it
 * was before (the approvals they answer). Call it right after the core call
 * that took them from the queue, before any await, so that every persist
 * stores both together. Returns how many; drive() carries them out.
 */
function record(list, pending, approved, on) {
  for (const { id, then } of list) {
    const a = pending.find((x) => x.id === id);
    answered.push({ id, then, audit: a ? auditItem(a, approved, on) : undefined });
  }
  return list.length;
}

// EIP-5792 bundles the user approved, sent call by call (calls.js).
const { run: runCalls } = calls({
  extra,
  wallet: () => wallet,
  bundles: () => bundles,
  setBundles: (b) => {
    bundles = b;
  },
  keyring: () => keyring,
  persist,
  rpc,
  viaBatch,
  broadcast,
});

/** After a restart: requests that waited too long are rejected, approval
 *  windows closed while the worker was stopped reject their requests, the
 *  windows of answered ones close, and recorded answers are carried to
 *  their pages. */
async function resume() {
  await ready;
  await phoneWork(); // rejects what waited too long
  const { [K.windows]: map = {} } = await chrome.storage.session.get(K.windows);
  const open = new Set((await chrome.windows.getAll()).map((w) => w.id));
  for (const w of Object.keys(map).map(Number)) if (!open.has(w)) await windowClosed(w);
  // Windows of requests answered before the worker stopped close.
  await closeAnsweredWindows();
  await drive();
  runCalls().catch((e) => console.warn('tandem: call bundles:', e?.message));
}

async function resolveApproval({ id, approve, edits, phone }) {
  if (!Number.isSafeInteger(id)) throw uiError('InvalidInput', 'id must be an approval id');
  // An approved bundle starts in the extra module, loaded first so that
  // nothing runs between the core's answer and the bundle's start.
  const x = approve === true && JSON.parse(wallet.approvals()).some((a) => a.id === id && a.kind === 'calls') ? await extra() : null;
  const approval = JSON.parse(wallet.approvals()).find((a) => a.id === id);
  // The phone's policy may have tightened since the site asked (the extra
  // module decides; a refusal leaves the bundle pending).
  if (x) {
    try {
      x.callsApprovable(wallet.stateJson(), wallet.sessionJson(), id);
    } catch (e) {
      throw uiError('Unsupported', e?.message ?? String(e));
    }
  }
  const origin = approval?.origin;
  // A site's token the user approves goes to the synced token lists.
  const tokensBefore = approval?.kind === 'watch_asset' ? watchedTokens() : null;
  const res = JSON.parse(
    wallet.resolve(
      id,
      approve === true,
      edits ? JSON.stringify(edits) : '',
      unlocked(),
      Date.now(),
      typeof phone === 'string' ? phone : undefined,
    ),
  );
  // Recorded now (with its audit entry, written once the page has the
  // answer), stored by the persist below with the queue it left.
  if (tokensBefore !== null) syncTokens(tokensBefore).catch(syncWarn);
  if (res.type !== 'await_phone') {
    answered.push({ id, then: res, audit: approval ? auditItem(approval, approve === true) : undefined });
  }
  // What this window shows next is settled now, in the window queue, before
  // the page has its answer: a request the site sent before waits in this
  // window, one it sends on getting the answer gets a window of its own
  // (never both, never neither).
  const next = res.type === 'await_phone' ? null : inWindowQueue(() => advanceWindow(id, origin)).catch(() => null);
  if (x && approval?.kind === 'calls' && res.type === 'reply') {
    bundles = JSON.parse(x.callsStart(JSON.stringify(bundles), JSON.stringify(approval), Date.now()));
  }
  await persist();
  notify('approvals');
  // A request that waited for the phone and was cancelled here: tell the phone.
  await phoneWork();
  if (res.type === 'await_phone') return { done: false, phone: true };
  // Recorded with the approval's removal (persisted above); carried out
  // step by step (answers.js), the error shown in the window if one failed.
  // A request sent on to the phone is recorded when the phone answers
  // (readGroupInbox) or the wait ends.
  const nextId = await next;
  const failed = await drive();
  if (failed.has(id)) {
    // Carrying the answer out failed (e.g. the node refused the
    // transaction; the page has that error): the window says so, and shows
    // the site's next request if one waits.
    if (nextId === null) throw failed.get(id);
    return { done: true, next: nextId, failed: String(failed.get(id)?.message ?? failed.get(id)) };
  }
  // An approved bundle's calls start (the page already has its id).
  runCalls().catch((e) => console.warn('tandem: call bundles:', e?.message));
  // The site's next waiting request is shown in the same window.
  return { done: true, next: nextId };
}

/** "Reject all from this site" in an approval window: the user's answer to
 *  every request the site has waiting. */
async function rejectSite(id) {
  const origin = JSON.parse(wallet.approvals()).find((a) => a.id === id)?.origin;
  if (origin === undefined) throw uiError('NoSuchApproval', `approval ${id} is not pending`);
  const { [K.windows]: map = {} } = await chrome.storage.session.get(K.windows);
  for (const [windowId, approvalId] of Object.entries(map)) {
    if (approvalId === id) delete map[windowId]; // the window closes itself
  }
  await chrome.storage.session.set({ [K.windows]: map });
  const site = JSON.parse(wallet.approvals()).filter((a) => a.origin === origin);
  const rejected = site.filter(withdraw).length;
  await persist();
  notify('approvals');
  await drive();
  await phoneWork();
  return { done: true, rejected };
}

// ---- confirm on phone ------------------------------------------------------------
// The decisions are the wallet's (crates/wallet/src/confirm.rs); this moves
// text between it and the device engine, and keeps the timeout's timer.
onGroupInbox(readGroupInbox);
onSyncChange(applySynced);

// ---- sync glue: account names (the decisions are the sync module's) --------
/** An account renamed here goes to the synced names (with its place in the list). */
async function syncRenamed(address) {
  const accounts = JSON.parse(wallet.stateJson()).accounts;
  const i = accounts.findIndex((a) => a.address.toLowerCase() === address.toLowerCase());
  if (i >= 0) await whenSyncing((h) => h.syncAccountNamed(accounts[i].address, accounts[i].name, i));
}

/** The account list reordered here goes to the synced places. */
async function syncOrdered() {
  const accounts = JSON.parse(wallet.stateJson()).accounts.map((a) => ({ address: a.address, name: a.name }));
  await whenSyncing((h) => h.syncAccountsOrdered(JSON.stringify(accounts)));
}

/** A network added, changed or removed here goes to the synced networks. */
async function syncNetwork(chainId) {
  const n = wallet.network(chainId);
  await whenSyncing((h) => (n ? h.syncNetworkSaved(n) : h.syncNetworkRemoved(chainId)));
}

const syncWarn = (e) => console.warn('tandem: the change was not recorded for sync:', e?.message);

// ---- sync glue: activity (the decisions are the sync module's) -------------
/** This wallet's transactions as the sync module takes them (read when it
 *  runs: a status seen while the module loaded is not overwritten by an
 *  older list). */
const ownActivity = () => {
  const s = JSON.parse(wallet.stateJson());
  return [JSON.stringify(s.activity), JSON.stringify(s.networks)];
};

/** This wallet's transactions, after one was sent or changed status, go to
 *  the synced activity. */
async function syncActivity() {
  await whenSyncing((h) => h.syncActivitySaved(...ownActivity()));
}

/** The Activity tab's list, newest first: with the transactions the
 *  group's other devices sent, where Activity syncs (shown only: this
 *  wallet never sends them). */
async function activityList() {
  let list = null;
  await whenSyncing((h) => (list = h.syncActivityShown(ownActivity()[0]))).catch((e) =>
    console.warn("tandem: the other devices' activity was not read:", e?.message),
  );
  return list ? JSON.parse(list) : JSON.parse(wallet.stateJson()).activity.reverse();
}

/** The list last shown with the other devices' transactions (to tell the
 *  popup only when a synced change touched it). */
let activityShown = null;

/** This wallet's transactions go to the synced records (the category may
 *  just have been switched on); the popup re-reads the Activity tab when
 *  another device's transactions changed. */
function activitySynced(host) {
  const [own, networks] = ownActivity();
  try {
    host.syncActivitySaved(own, networks);
  } catch (e) {
    syncWarn(e);
  }
  const shown = host.syncActivityShown(own);
  if (shown !== activityShown) {
    activityShown = shown;
    notify('activity');
  }
}

/** Names, the account order and networks synced from another device, into
 *  this wallet. */
async function applySynced(host) {
  await ready;
  const accounts = JSON.parse(wallet.stateJson()).accounts.map((a) => ({ address: a.address, name: a.name }));
  const renames = JSON.parse(host.syncAccountRenames(JSON.stringify(accounts)));
  for (const r of renames) {
    try {
      wallet.rename(r.address, r.name);
    } catch (e) {
      console.warn('tandem: a synced account name was not used:', e?.message);
    }
  }
  // The order another device gave the accounts (null: already in it).
  const order = host.syncAccountOrder(JSON.stringify(accounts));
  let moved = false;
  if (typeof order === 'string') {
    try {
      wallet.setSettings(JSON.stringify({ accountOrder: JSON.parse(order) }));
      moved = true;
    } catch (e) {
      console.warn('tandem: the synced account order was not used:', e?.message);
    }
  }
  // Networks added or changed on another device (each announced with the
  // device's name); one removed there stays here until removed here.
  const upserts = JSON.parse(host.syncNetworkUpserts(JSON.stringify(JSON.parse(wallet.stateJson()).networks)));
  for (const n of upserts) {
    try {
      // As for a network added here: saved only if its RPC serves the chain.
      const net = JSON.stringify(n);
      const answer = await rpc(wallet.upsertNetwork(net), 'eth_chainId', []).catch(() => null);
      wallet.upsertNetwork(net, JSON.stringify(answer));
    } catch (e) {
      console.warn('tandem: a synced network was not used:', e?.message);
    }
  }
  if (renames.length || upserts.length || moved) {
    await persist();
    notify('state');
  }
  await applySyncedTokens(host);
  activitySynced(host);
  // Another device's balances may be newer than this one's: the popup
  // reads the portfolio again (cachedPortfolio merges them).
  notify('portfolio');
  // This browser's connected sites (the category may just have been
  // switched on), and the other devices' for the Sites tab.
  host.syncSitesHere(JSON.stringify(JSON.parse(wallet.stateJson()).sites));
  const elsewhere = JSON.parse(host.syncSitesElsewhere());
  if (JSON.stringify(elsewhere) !== JSON.stringify(sitesElsewhere)) {
    sitesElsewhere = elsewhere;
    notify('state');
  }
}

/** This browser's connected sites go to the group's records of this device
 *  (the sync module decides what changed; nothing while sites do not sync). */
function syncSites() {
  const sites = JSON.stringify(JSON.parse(wallet.stateJson()).sites);
  return whenSyncing((h) => h.syncSitesHere(sites));
}

// ---- sync glue: token lists (the decisions are the sync module's) ---------
const watchedTokens = () => JSON.stringify(JSON.parse(wallet.stateJson()).assets);

/** Tokens added or removed here (`before`: the list before the change) go
 *  to the synced token lists. */
async function syncTokens(before) {
  const after = watchedTokens();
  await whenSyncing((h) => h.syncTokensChanged(before, after));
}

/** Tokens added or hidden on another device, into this wallet. */
async function applySyncedTokens(host) {
  const { unwatch, watch } = JSON.parse(host.syncTokenChanges(watchedTokens()));
  for (const t of unwatch) wallet.unwatchAsset(t.chainId, t.address);
  for (const t of watch) {
    try {
      wallet.watchAsset(JSON.stringify(t));
    } catch (e) {
      console.warn('tandem: a synced token was not used:', e?.message);
    }
  }
  if (unwatch.length || watch.length) {
    await persist();
    notify('state');
  }
}
onDeviceGone(deviceGone);
let phoneTimer = null;

/** After any change and at the deadline: what timed out is rejected (4001),
 *  the messages for the phone go to the device engine, the next timer is set.
 *  Requests that waited 30 minutes for the user expire (4001 saying so). */
async function phoneWork() {
  await ready;
  const pending = JSON.parse(wallet.approvals());
  const w = JSON.parse(wallet.phoneWork(Date.now()));
  // Rejections, recorded before anything is awaited (see record).
  const timedOut = record(w.resolutions, pending, false);
  const expired = record(w.expired, pending, false);
  for (const m of w.outbox) await sendToGroup(m.request, m.text);
  if (w.outbox.length || timedOut || expired) await persist();
  clearTimeout(phoneTimer);
  if (w.deadline) phoneTimer = setTimeout(() => phoneWork().catch(() => {}), Math.max(0, w.deadline - Date.now()));
  if (!timedOut && !expired) return;
  notify('approvals');
  if (timedOut) {
    notification(
      `tandem-phone-timeout-${Date.now()}`,
      'Not confirmed on your phone',
      'Your phone did not answer in time; the request was cancelled and nothing was signed.',
    );
  }
  await drive();
  await closeAnsweredWindows();
}

/** After answers the worker recorded itself (`n` of them): stored, then
 *  carried to their pages; their windows close. */
async function finish(n) {
  if (n) {
    await persist();
    notify('approvals');
  }
  await phoneWork();
  if (!n) return;
  await drive();
  await closeAnsweredWindows();
}

/** The group's messages for this browser: the phone's policy and answers.
 *  Each is applied and stored before the engine may forget it. */
async function readGroupInbox(host) {
  await ready;
  const items = JSON.parse(host.inbox());
  if (items.length === 0) return;
  if (items.some((m) => m.sync) && loadedSyncHost() !== host) {
    // Another device syncs metadata with this one: the sync module loads
    // (for good: its state is stored from now on) and applies what waits
    // here as it attaches; this inbox is read again there. Without it, a
    // browser would sync only once its user opened Settings, Sync.
    devices({ sync: true }).catch((e) => console.warn('tandem: the sync module did not load:', e?.message));
    return;
  }
  let answers = 0;
  for (const m of items) {
    // Requests are for phones; a browser does not confirm for others. Sync
    // messages are the sync module's (applied from the inbox already).
    if (m.request || m.text === null || m.sync) continue;
    try {
      const pending = JSON.parse(wallet.approvals());
      const out = JSON.parse(wallet.phoneMessage(m.from, m.text, Date.now()));
      // The phone's answer, recorded as the window's are (and in the
      // activity log as answered on that phone).
      answers += record(out.resolutions, pending, out.approved === true, m.from);
      if (out.notice) notification(`tandem-phone-${m.id}`, 'Tandem: your phone', out.notice);
    } catch (e) {
      console.warn('tandem: a message from', m.from, 'was not used:', e?.message);
    }
  }
  // Stored before the engine may forget the messages: a worker killed in
  // between reads them again and finds nothing waiting for them.
  await persist();
  host.command(JSON.stringify({ kind: 'clear_inbox', upto: Math.max(...items.map((m) => m.id)) }));
  notify('state');
  // The phone's accounts may have come or gone: pages re-read theirs.
  broadcastToTabs();
  await finish(answers);
}

async function deviceGone(device) {
  await ready;
  // Requests waiting for it are rejected; its accounts leave the list.
  const pending = JSON.parse(wallet.approvals());
  await finish(record(JSON.parse(wallet.phoneGone(device)), pending, false));
  await persist();
  notify('state');
  broadcastToTabs();
}

/** Closes approval windows whose approval is gone (answered on the phone,
 *  or timed out); their sites' next waiting requests get windows. */
async function closeAnsweredWindows() {
  const open = new Set(JSON.parse(wallet.approvals()).map((a) => a.id));
  const { [K.windows]: map = {} } = await chrome.storage.session.get(K.windows);
  const gone = new Set(Object.values(map).filter((id) => !open.has(id)));
  if (gone.size) await closeApprovalWindows(gone);
}

/** The network of `chainId` (a transaction's, a receipt's, a token's): the
 *  extra module looks it up in the wallet's state. */
async function networkOf(chainId) {
  const net = (await extra()).network(wallet.stateJson(), chainId);
  if (!net) throw new RpcError(4901, `network ${chainId} was removed; the transaction was not sent`);
  return JSON.parse(net);
}

/** Sends a signed transaction ({ raw, hash }), records it, watches its receipt. */
async function broadcast(address, tx, origin, signed) {
  // The chain the dapp asked on, even if the user switched networks since.
  const net = await networkOf(parseInt(tx.chainId, 16));
  // Sent again after a restart: a node that already has these bytes may
  // refuse them ("already known", "nonce too low"); it was sent once.
  const answer = await rpc(net.rpcUrl, 'eth_sendRawTransaction', [signed.raw]).catch(async (e) => {
    const known = await rpc(net.rpcUrl, 'eth_getTransactionByHash', [signed.hash]).catch(() => null);
    if (known?.hash !== signed.hash) throw e;
    return known.hash;
  });
  // The site gets the hash of what was signed; the core compares the node's.
  const record = (await extra()).sentActivity(address, JSON.stringify(tx), origin, signed.hash, Date.now());
  const warning = wallet.recordSent(record, JSON.stringify(answer));
  await persist();
  notify('activity');
  syncActivity().catch(syncWarn);
  if (warning) {
    console.warn('tandem:', warning);
    notification(`tandem-hash-${signed.hash}`, "Tandem: the network's RPC misreported a transaction", warning);
  }
  watchReceipt(signed.hash, net.chainId);
  return signed.hash;
}

/** Polls one receipt for about a minute; the alarm picks up what is left. */
async function watchReceipt(hash, chainId) {
  for (let i = 0; i < 60; i++) {
    await new Promise((r) => setTimeout(r, i < 10 ? 300 : 1000));
    if (await checkReceipt(hash, chainId)) return;
  }
}

/** Asks the node of the chain the transaction was sent on, whichever is selected. */
async function checkReceipt(hash, chainId) {
  let receipt;
  try {
    receipt = await rpc((await networkOf(chainId)).rpcUrl, 'eth_getTransactionReceipt', [hash]);
  } catch {
    return false;
  }
  const read = (await extra()).receiptStatus(JSON.stringify(receipt));
  if (!read) return false;
  const { status, block } = JSON.parse(read);
  if (wallet.updateStatus(hash, status, block ?? undefined)) {
    await persist();
    notify('activity');
    syncActivity().catch(syncWarn);
    refreshPortfolio().catch(() => {});
  }
  return true;
}

async function pollReceipts() {
  for (const [h, chainId] of JSON.parse(wallet.pendingHashes())) await checkReceipt(h, chainId);
}

// ---- portfolio ----------------------------------------------------------------
// Balances of every account on every network: one batch per network, planned
// and read by the extra module (crates/wallet/src/portfolio.rs) from the
// core's state JSON, kept with the time they were read; the popup shows the
// stored ones at once.
async function storedPortfolio() {
  const { [K.portfolio]: stored = [] } = await chrome.storage.local.get(K.portfolio);
  return JSON.stringify(stored);
}

/** The group's last known balances (`[]` without sync): the extra module
 *  shows another device's where newer than this one's read. */
async function syncedBalances() {
  let synced = '[]';
  await whenSyncing((h) => {
    synced = h.syncBalances();
  });
  return synced;
}

async function cachedPortfolio() {
  const x = await extra();
  return JSON.parse(x.portfolio(wallet.stateJson(), await storedPortfolio(), await syncedBalances()));
}

async function refreshPortfolio() {
  const x = await extra();
  const state = wallet.stateJson();
  const plans = JSON.parse(x.portfolioPlan(state));
  const answers = await Promise.all(plans.map((p) => viaBatch(x, p)));
  const out = JSON.parse(
    x.portfolioRead(wallet.stateJson(), JSON.stringify(plans), JSON.stringify(answers), await storedPortfolio(), Date.now()),
  );
  await chrome.storage.local.set({ [K.portfolio]: out.stored });
  // What was read here goes to the group (the sync module decides which).
  const reads = x.portfolioReads(JSON.stringify(out.stored));
  whenSyncing((h) => h.syncBalancesRead(reads)).catch(syncWarn);
  notify('portfolio');
  if (out.error) throw new RpcError(-32603, out.error);
  return cachedPortfolio();
}

// ---- UI requests ----------------------------------------------------------------
let lastTouchSaved = 0;
/** Opening or using a wallet page counts as activity for auto-lock. */
async function markActive() {
  if (!keyring) return;
  const now = Date.now();
  wallet.touch(now);
  if (now - lastTouchSaved > 10_000) {
    lastTouchSaved = now;
    await chrome.storage.session.set({ [K.session]: wallet.sessionJson() });
  }
}

/** Reads: wallet pages make them when they open and whenever an event says
 *  something changed, and a page's request makes events (and opens an
 *  approval window), so reads must not put off auto-lock, or a site could
 *  keep the wallet unlocked by asking. The user's activity is every other
 *  method (an action) and `ui.active`, which pages send (at most every 10 s)
 *  while the user clicks or types in them. */
const READS = new Set([
  'state',
  'portfolio',
  'portfolio.refresh',
  'activity',
  'approvals.list',
  'approvals.get',
  'debug.bootMs',
  'devices.view',
  'sync.view',
  'sync.status',
  'audit.view',
  'token.info',
  'send.gasPrice',
]);

async function handleUi(msg) {
  await ready;
  await checkLock();
  const params = msg.params && typeof msg.params === 'object' ? msg.params : {};
  const method = typeof msg.method === 'string' ? msg.method : '';
  if (!READS.has(method)) await markActive();
  // Devices work whether or not the wallet is unlocked (the device module
  // holds its own sealed state; see extension/API.md).
  if (method.startsWith('audit.')) {
    requireUnlocked(); // what was signed where, on which site: the owner's to read
    const result = await auditUi(method, params);
    if (result === undefined) throw uiError('UnknownMethod', `unknown method ${method.slice(0, 80)}`);
    return { ok: true, result };
  }
  if (method.startsWith('backup.')) requireUnlocked(); // the backup's key comes from the phrase
  if (method.startsWith('devices.') || method.startsWith('sync.') || method.startsWith('backup.')) {
    const result = await deviceUi(method, params);
    if (result === undefined) throw uiError('UnknownMethod', `unknown method ${method.slice(0, 80)}`);
    return { ok: true, result };
  }
  const result = await uiMethod(method, params);
  return { ok: true, result };
}

function requireUnlocked() {
  if (!keyring) throw uiError('Locked', 'Tandem is locked; unlock it first');
}

function str(v, what) {
  if (typeof v !== 'string') throw uiError('InvalidInput', `${what} must be a string`);
  return v;
}

// The backup secret (HKDF over the seed, crates/keys/src/backup.rs) for the
// sync module, while the wallet is unlocked; never the seed or the phrase.
onBackupSecret((generation) => keyring?.backupSecret(generation) ?? null);

async function startSession(kr, sealedOrUnlocked) {
  if (keyring) keyring.free();
  keyring = kr;
  sessionKey = sealedOrUnlocked.sessionKey;
  wallet.touch(Date.now());
  // Stored sealed under a per-unlock, non-extractable key (session-key.js).
  await chrome.storage.session.set({ [K.sessionKey]: await sealSessionKey(sessionKey) });
  await ensureAlarm();
  // Where sync is set up, its module learns the backup secret (a wallet
  // unlocked for the first time since sync started, or another phrase).
  whenSyncing(backupUnlocked).catch(syncWarn);
}

async function onboard(kr, password) {
  if (vaultJson !== null) {
    kr.free();
    throw uiError('AlreadyInitialized', 'a wallet already exists on this device');
  }
  const sealed = Vault.seal(kr, str(password, 'password'), undefined);
  vaultJson = sealed.vault;
  await chrome.storage.local.set({ [K.vault]: vaultJson });
  erased = null;
  await chrome.storage.local.remove(K.erased);
  wallet.syncAccounts(kr.accounts());
  await startSession(kr, sealed);
  sealed.free();
  const v = await persist();
  notify('state');
  return v;
}

/** The keyring gained or lost an account: the vault is sealed again (same
 *  password, new nonce) and stored, then the account list follows it (a
 *  removed account also leaves every site it was connected to). */
async function keyringChanged() {
  vaultJson = Vault.reseal(vaultJson, sessionKey, keyring);
  await chrome.storage.local.set({ [K.vault]: vaultJson });
  wallet.syncAccounts(keyring.accounts());
}

async function uiMethod(method, p) {
  const touched = () => wallet.touch(Date.now());
  switch (method) {
    case 'ui.active': // the user clicked or typed in a wallet page (markActive ran)
      return null;
    case 'state':
      return view();
    case 'onboard.generate': {
      const words = p.words === 24 ? 24 : 12;
      return { phrase: generateMnemonic(words) };
    }
    case 'onboard.create': {
      validateMnemonic(str(p.phrase, 'phrase'));
      return onboard(Keyring.fromMnemonic(p.phrase, ''), p.password);
    }
    case 'onboard.import': {
      let kr;
      if (typeof p.privateKey === 'string' && p.privateKey.length > 0) {
        kr = Keyring.fromPrivateKey(p.privateKey.trim());
      } else {
        kr = Keyring.fromMnemonic(str(p.phrase, 'phrase').trim(), typeof p.passphrase === 'string' ? p.passphrase : '');
        // Onboarding looks for the phrase's backup next (devices.js).
        warmSync();
      }
      const v = await onboard(kr, p.password);
      // A wallet brought back from its phrase (or a key), not made here.
      await audit({ kind: 'restored' });
      return v;
    }
    case 'unlock': {
      if (vaultJson === null) throw uiError('NotInitialized', 'create or import a wallet first');
      let u;
      try {
        u = Vault.unlock(vaultJson, str(p.password, 'password'));
      } catch (e) {
        await audit({ kind: 'unlock', ok: false });
        throw e;
      }
      await audit({ kind: 'unlock', ok: true });
      // The vault, sealed again under this unlock's data key, is stored
      // before the session keeps that key: an earlier session's key opens
      // nothing from here on (docs/threat-model.md, row 40).
      vaultJson = u.vault;
      await chrome.storage.local.set({ [K.vault]: vaultJson });
      const kr = u.takeKeyring();
      await startSession(kr, u);
      u.free();
      wallet.syncAccounts(kr.accounts());
      const v = await persist();
      notify('state');
      broadcastToTabs();
      return v;
    }
    case 'lock': {
      await lockNow();
      return view();
    }
    case 'password.change': {
      // The current password is asked again (an unlocked wallet left open
      // must not be enough). The vault is sealed again under the new one with
      // a new salt: the old password and the old vault key open nothing.
      requireUnlocked();
      const sealed = Vault.changePassword(vaultJson, str(p.current, 'current password'), str(p.next, 'new password'), undefined);
      vaultJson = sealed.vault;
      await chrome.storage.local.set({ [K.vault]: vaultJson });
      if (sessionKey) sessionKey.fill(0);
      sessionKey = sealed.sessionKey;
      sealed.free();
      // A new per-unlock wrapping key too: the old sealed copy opens nothing.
      await chrome.storage.session.set({ [K.sessionKey]: await sealSessionKey(sessionKey) });
      touched();
      return view();
    }
    case 'accounts.add': {
      requireUnlocked();
      const sources = keyring.mnemonicSources();
      if (sources.length === 0) {
        throw uiError('NoMnemonic', 'this wallet holds only an imported key; import a recovery phrase to derive accounts');
      }
      keyring.deriveNext(sources[0]);
      await keyringChanged();
      touched();
      break;
    }
    // Key management after setup (crates/ui/src/secrets.rs). The secret is
    // read from the stored vault with the password typed again; only
    // extension pages reach uiMethod (see the onMessage listener).
    case 'secrets.export':
      requireUnlocked();
      if (p.what !== 'phrase' && p.what !== 'key') throw uiError('InvalidInput', 'what must be "phrase" or "key"');
      touched();
      return { secret: Vault.export(vaultJson, str(p.password, 'password'), str(p.address, 'address'), p.what === 'phrase') };
    case 'accounts.import':
      requireUnlocked();
      if (typeof p.privateKey === 'string' && p.privateKey.length > 0) keyring.importPrivateKey(p.privateKey.trim());
      else keyring.addMnemonic(str(p.phrase, 'phrase').trim(), typeof p.passphrase === 'string' ? p.passphrase : '');
      await keyringChanged();
      touched();
      break;
    case 'accounts.remove':
      requireUnlocked();
      keyring.removeAccount(str(p.address, 'address'));
      await keyringChanged();
      touched();
      await persist();
      broadcastToTabs(); // pages connected with it get accountsChanged
      break;
    case 'accounts.rename':
      wallet.rename(str(p.address, 'address'), str(p.name, 'name'));
      touched();
      syncRenamed(p.address).catch(syncWarn);
      break;
    case 'accounts.order': {
      // Move up / Move down in Accounts: the whole list in its new order.
      if (!Array.isArray(p?.addresses)) {
        throw uiError('InvalidInput', 'accounts.order takes { addresses }: every account, in the new order');
      }
      wallet.setSettings(JSON.stringify({ accountOrder: p.addresses }));
      syncOrdered().catch(syncWarn);
      touched();
      break;
    }
    case 'accounts.select':
      wallet.selectAccount(str(p.address, 'address'));
      touched();
      await persist();
      broadcastToTabs();
      break;
    case 'networks.select':
      wallet.selectNetwork(Number(p.chainId));
      touched();
      await persist();
      broadcastToTabs();
      break;
    case 'networks.upsert': {
      const net = JSON.stringify({
        chainId: Number(p.chainId),
        name: p.name,
        rpcUrl: p.rpcUrl,
        symbol: p.symbol,
        explorer: p.explorer || undefined,
      });
      // Saved only if its RPC serves that chain (the core compares).
      const answer = await rpc(wallet.upsertNetwork(net), 'eth_chainId', []).catch(() => null);
      wallet.upsertNetwork(net, JSON.stringify(answer));
      touched();
      syncNetwork(Number(p.chainId)).catch(syncWarn);
      break;
    }
    case 'networks.remove':
      wallet.removeNetwork(Number(p.chainId));
      touched();
      syncNetwork(Number(p.chainId)).catch(syncWarn);
      await persist();
      broadcastToTabs();
      break;
    case 'portfolio':
      return cachedPortfolio();
    case 'portfolio.refresh':
      await pollReceipts();
      return refreshPortfolio();
    case 'activity':
      return activityList();
    case 'sites.disconnect':
      wallet.disconnect(str(p.origin, 'origin'));
      touched();
      await persist();
      broadcastToTabs();
      break;
    case 'settings.set':
      if (p.autoLockMinutes !== undefined && !Number.isInteger(p.autoLockMinutes)) {
        throw uiError('InvalidInput', 'autoLockMinutes must be a whole number of minutes');
      }
      wallet.setSettings(
        JSON.stringify({
          ...(p.autoLockMinutes !== undefined ? { autoLockMinutes: Number(p.autoLockMinutes) } : {}),
          ...(p.ownWindowEthereum !== undefined ? { ownWindowEthereum: p.ownWindowEthereum === true } : {}),
        }),
      );
      touched();
      break;
    case 'assets.add': {
      // Symbol and decimals come from the page: typed by the user, or the
      // contract's answers to token.info, decoded by the extra module.
      const net = currentNetwork();
      const address = str(p.address, 'address').trim();
      const symbol = str(p.symbol, 'symbol');
      if (!Number.isInteger(p.decimals)) throw uiError('InvalidInput', 'decimals must be a whole number');
      const before = watchedTokens();
      wallet.watchAsset(JSON.stringify({ chainId: net.chainId, address, symbol, decimals: p.decimals }));
      touched();
      syncTokens(before).catch(syncWarn);
      break;
    }
    case 'assets.remove': {
      const before = watchedTokens();
      wallet.unwatchAsset(currentNetwork().chainId, str(p.address, 'address'));
      touched();
      syncTokens(before).catch(syncWarn);
      break;
    }
    case 'token.info':
      return tokenInfo(p, await extra(), wallet.stateJson(), viaBatch);
    case 'send.gasPrice':
      return gasPrice(p, await extra(), wallet.stateJson(), viaBatch, RpcError);
    case 'send.start':
      requireUnlocked();
      touched();
      return ownSend(p.transaction);
    case 'approvals.list':
      return JSON.parse(wallet.approvals());
    case 'approvals.get':
      return { ...JSON.parse(wallet.approval(Number(p.id))), queued: queuedBehind(Number(p.id)) };
    case 'approvals.rejectSite':
      touched();
      return rejectSite(Number(p.id));
    case 'approvals.resolve':
      touched();
      return resolveApproval({ id: Number(p.id), approve: p.approve, edits: p.edits, phone: p.phone });
    case 'debug.bootMs':
      return { bootMs };
    default:
      throw uiError('UnknownMethod', `unknown method ${JSON.stringify(method).slice(0, 80)}`);
  }
  const v = await persist();
  notify('state');
  return v;
}
