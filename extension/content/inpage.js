// Tandem's EIP-1193 provider, injected into the page's MAIN world at
// document_start. It holds no secrets and makes no decisions: every request
// goes to the ISOLATED content script (relay.js) over window.postMessage on a
// named channel, and from there to the service worker, which learns the
// page's origin from the browser, never from this script.
(() => {
  'use strict';
  if (window.tandem && window.tandem.isTandem) return;

  const TO_RELAY = 'tandem:relay';
  const TO_PAGE = 'tandem:inpage';
  const postTarget = location.origin === 'null' ? '*' : location.origin;
  const ICON =
    'data:image/svg+xml;base64,' +
    btoa(
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 128 128"><rect width="128" height="128" rx="28" fill="#3b4cca"/>' +
        '<g fill="none" stroke="#fff" stroke-width="10"><circle cx="50" cy="64" r="24"/><circle cx="78" cy="64" r="24"/></g></svg>',
    );

  class ProviderRpcError extends Error {
    constructor(code, message, data) {
      super(message);
      this.code = code;
      if (data !== undefined) this.data = data;
    }
  }

  const listeners = new Map();
  const pending = new Map();
  let seq = 0;
  let chainId = null;
  let accounts = [];
  let connected = false;
  let disconnected = false;

  function emit(event, ...args) {
    for (const fn of [...(listeners.get(event) ?? [])]) {
      try {
        fn(...args);
      } catch (e) {
        setTimeout(() => {
          throw e;
        });
      }
    }
  }

  function request(args) {
    if (!args || typeof args !== 'object' || Array.isArray(args)) {
      return Promise.reject(new ProviderRpcError(-32600, 'request() takes an object { method, params }'));
    }
    const { method, params } = args;
    if (typeof method !== 'string' || method.length === 0) {
      return Promise.reject(new ProviderRpcError(-32600, 'method must be a non-empty string'));
    }
    if (params !== undefined && params !== null && typeof params !== 'object') {
      return Promise.reject(new ProviderRpcError(-32602, 'params must be an array or an object'));
    }
    if (disconnected) {
      return Promise.reject(new ProviderRpcError(4900, 'Tandem was reloaded or removed; reload this page'));
    }
    if (window.origin === 'null') {
      // A sandboxed frame (its own origin is opaque, whatever its URL's):
      // the wallet refuses it (crates/wallet check_origin, same words), so
      // say so at once instead of posting where nothing answers.
      return Promise.reject(
        new ProviderRpcError(4100, 'a sandboxed frame has no origin of its own; Tandem does not serve it'),
      );
    }
    let copy;
    try {
      // Only plain JSON crosses to the wallet (no functions, no getters run later).
      copy = params === undefined ? undefined : JSON.parse(JSON.stringify(params));
    } catch {
      return Promise.reject(new ProviderRpcError(-32602, 'params must be JSON'));
    }
    const id = `${Date.now().toString(36)}-${++seq}`;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      window.postMessage({ target: TO_RELAY, id, request: { method, params: copy } }, postTarget);
    });
  }

  const provider = {
    isTandem: true,
    request,
    isConnected: () => connected,
    on(event, fn) {
      if (typeof fn !== 'function') return provider;
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event).add(fn);
      return provider;
    },
    once(event, fn) {
      const w = (...a) => {
        provider.removeListener(event, w);
        fn(...a);
      };
      return provider.on(event, w);
    },
    removeListener(event, fn) {
      listeners.get(event)?.delete(fn);
      return provider;
    },
    off(event, fn) {
      return provider.removeListener(event, fn);
    },
    removeAllListeners(event) {
      if (event === undefined) listeners.clear();
      else listeners.delete(event);
      return provider;
    },
    // Legacy entry points some dapps still call (web3.js 1.x, ethers v5).
    enable: () => request({ method: 'eth_requestAccounts' }),
    sendAsync(payload, callback) {
      if (typeof callback !== 'function') return;
      const p = payload && typeof payload === 'object' ? payload : {};
      request({ method: p.method, params: p.params }).then(
        (result) => callback(null, { id: p.id, jsonrpc: '2.0', result }),
        (error) => callback(error, { id: p.id, jsonrpc: '2.0', error: { code: error.code, message: error.message } }),
      );
    },
    send(methodOrPayload, paramsOrCallback) {
      if (typeof methodOrPayload === 'string') return request({ method: methodOrPayload, params: paramsOrCallback });
      if (typeof paramsOrCallback === 'function') return provider.sendAsync(methodOrPayload, paramsOrCallback);
      return Promise.reject(new ProviderRpcError(4200, 'synchronous send() is not supported; use request()'));
    },
    get chainId() {
      return chainId;
    },
    get selectedAddress() {
      return accounts[0] ?? null;
    },
    // A MetaMask setting removed in 2021 that dapps still write: accepted and
    // ignored (the provider is frozen, so a plain property would throw in
    // strict-mode code). Tandem never reloads a page on a network change.
    get autoRefreshOnNetworkChange() {
      return false;
    },
    set autoRefreshOnNetworkChange(_) {},
  };
  Object.freeze(provider);

  window.addEventListener('message', (event) => {
    if (event.source !== window) return;
    const d = event.data;
    if (!d || typeof d !== 'object' || d.target !== TO_PAGE) return;
    if (d.type === 'response') {
      const p = pending.get(d.id);
      if (!p) return;
      pending.delete(d.id);
      if (d.error) p.reject(new ProviderRpcError(d.error.code ?? -32603, d.error.message ?? 'error', d.error.data));
      else p.resolve(d.result);
    } else if (d.type === 'state') {
      if (typeof d.chainId === 'string' && d.chainId !== chainId) {
        const first = chainId === null;
        chainId = d.chainId;
        if (first) {
          connected = true;
          emit('connect', { chainId });
        } else {
          emit('chainChanged', chainId);
        }
      }
      if (Array.isArray(d.accounts)) {
        const same = d.accounts.length === accounts.length && d.accounts.every((a, i) => a === accounts[i]);
        if (!same) {
          accounts = d.accounts;
          emit('accountsChanged', accounts);
        }
      }
    } else if (d.type === 'disconnected') {
      if (!disconnected) {
        disconnected = true;
        connected = false;
        const err = new ProviderRpcError(4900, 'Tandem was reloaded or removed; reload this page');
        for (const [, p] of pending) p.reject(err);
        pending.clear();
        emit('disconnect', err);
      }
    } else if (d.type === 'settings') {
      if (d.ownWindowEthereum === true && window.ethereum !== provider) setWindowEthereum(true);
    }
  });

  function setWindowEthereum(force) {
    if (!force && window.ethereum !== undefined) return;
    try {
      // Configurable and writable: a wallet the user prefers can still replace it.
      Object.defineProperty(window, 'ethereum', { value: provider, configurable: true, writable: true });
    } catch {
      /* another wallet made it non-configurable */
    }
  }
  setWindowEthereum(false);
  Object.defineProperty(window, 'tandem', { value: provider, configurable: false, writable: false });

  // EIP-6963: announce now and whenever a dapp asks.
  const info = Object.freeze({ uuid: crypto.randomUUID(), name: 'Tandem', icon: ICON, rdns: 'app.tandem.wallet' });
  const announce = () =>
    window.dispatchEvent(
      new CustomEvent('eip6963:announceProvider', { detail: Object.freeze({ info, provider }) }),
    );
  window.addEventListener('eip6963:requestProvider', announce);
  announce();
})();
