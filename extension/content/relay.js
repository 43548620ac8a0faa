// ISOLATED-world relay between the page's provider (inpage.js) and the service
// worker. It accepts only messages from this same window on the named channel;
// it adds nothing the worker trusts: the worker takes the origin from the
// browser's message sender.
(() => {
  'use strict';
  const FROM_PAGE = 'tandem:relay';
  const TO_PAGE = 'tandem:inpage';
  const CHANNEL = 'tandem/provider';
  const postTarget = location.origin === 'null' ? '*' : location.origin;
  let dead = false;
  const LOST = 'Tandem restarted and no longer has this request; ask again';

  function toPage(msg) {
    window.postMessage({ target: TO_PAGE, ...msg }, postTarget);
  }

  function contextGone() {
    // The extension was reloaded or removed: this script is orphaned.
    if (!dead) {
      dead = true;
      toPage({ type: 'disconnected' });
    }
  }

  async function send(id, request) {
    if (dead || !chrome.runtime?.id) return contextGone();
    let res;
    try {
      res = await chrome.runtime.sendMessage({ channel: CHANNEL, type: 'request', id, request });
    } catch (e) {
      if (!chrome.runtime?.id) return contextGone();
      // The worker stopped before answering. If the request had become an
      // approval it survived in session storage and will be answered later.
      let status;
      try {
        status = await chrome.runtime.sendMessage({ channel: CHANNEL, type: 'status', id });
      } catch {}
      if (status?.pending) return status;
      res = { id, error: { code: -32603, message: `Tandem stopped before answering; try again (${e?.message ?? e})` } };
    }
    return res;
  }

  // Requests that became approvals: answered later by a 'response'. While
  // any waits, a port to the worker says when it stops (Chrome stops idle
  // workers; a crash or a kill does too): each is then asked after, which
  // starts the worker again (it carries on what it recorded). One it no
  // longer knows settles at once with an error instead of hanging.
  const waiting = new Set();
  let port = null;

  function watch() {
    if (port || dead || waiting.size === 0) return;
    try {
      port = chrome.runtime.connect({ name: 'tandem/waiting' });
    } catch {
      return contextGone();
    }
    port.onDisconnect.addListener(() => {
      port = null;
      recheck();
    });
  }

  async function recheck() {
    for (const id of [...waiting]) {
      let status;
      try {
        status = await chrome.runtime.sendMessage({ channel: CHANNEL, type: 'status', id });
      } catch {
        if (!chrome.runtime?.id) return contextGone();
      }
      if (!waiting.has(id) || status?.pending) continue; // answered meanwhile, or still waits
      waiting.delete(id);
      toPage({ type: 'response', id, error: { code: -32603, message: LOST } });
    }
    watch();
  }

  window.addEventListener('message', async (event) => {
    if (event.source !== window) return;
    const d = event.data;
    if (!d || typeof d !== 'object' || d.target !== FROM_PAGE) return;
    const id = d.id;
    if (typeof id !== 'string' || id.length > 64) return;
    const res = await send(id, d.request);
    if (res?.pending) {
      waiting.add(id); // answered later by a 'response' message
      return watch();
    }
    if (!res) return;
    toPage({ type: 'response', id, result: res.result, error: res.error });
  });

  async function refresh() {
    const [c, a] = await Promise.all([
      send('refresh-chain', { method: 'eth_chainId' }),
      send('refresh-accounts', { method: 'eth_accounts' }),
    ]);
    if (dead) return;
    toPage({ type: 'state', chainId: c?.result, accounts: a?.result });
  }

  chrome.runtime.onMessage.addListener((msg, sender) => {
    if (sender.id !== chrome.runtime.id || !msg || msg.channel !== CHANNEL) return;
    if (msg.type === 'response' && typeof msg.id === 'string') {
      waiting.delete(msg.id);
      toPage({ type: 'response', id: msg.id, result: msg.result, error: msg.error });
    } else if (msg.type === 'refresh') {
      refresh();
    }
  });

  // The worker says which settings the page side needs (this script cannot
  // read the extension's storage: the worker restricts it to its own pages).
  chrome.runtime
    .sendMessage({ channel: CHANNEL, type: 'page-settings' })
    .then((s) => {
      if (!dead && s?.ownWindowEthereum === true) toPage({ type: 'settings', ownWindowEthereum: true });
    })
    .catch(() => {});
  refresh();
})();
