// End to end: MV3 restarts (issue 13, item 13). Real headless Chromium with
// the built extension, real anvil behind a proxy on 127.0.0.1 that can hold
// eth_sendRawTransaction (lib/lying-rpc.mjs `hold`), and the viem test dapp. The service
// worker is killed at each point between a request and its answer, the way
// Chrome stops it:
//
//   How the worker is killed: a CDP session of an extension page,
//   `ServiceWorker.enable` then `ServiceWorker.stopAllWorkers` (lib's
//   killWorker). In this Chromium (Debian 156, headless) that stops the
//   extension's worker at once: its in-flight fetches are cancelled, its
//   globals are gone, ports to it close, and the next event starts it again.
//   `ServiceWorker.workerVersionUpdated` reports `runningStatus`, which the
//   tests read to know the worker stopped (and, for closing a tab, that it
//   started again).
//
// Run: node --test --test-concurrency=1 tests/e2e/mv3-restart.test.mjs
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  startAnvil,
  startDapp,
  until,
  jsonRpc,
  pendingApproval,
  ANVIL_ACCOUNT_0 as A0,
  ANVIL_ACCOUNT_1 as A1,
  watchWorker,
} from './lib/index.mjs';
import { answer, connectedWallet } from './lib/approve.mjs';
import { startLyingRpc } from './lib/lying-rpc.mjs';

describe('MV3 restarts: a killed worker loses no answer and sends nothing twice', { timeout: 300_000 }, () => {
  let browser, anvil, gate, dapp, page, worker;
  const d = (fn, ...args) => page.evaluate(fn, ...args);
  const send = () =>
    d(([from, to]) => window.dapp.raw({ method: 'eth_sendTransaction', params: [{ from, to, value: '0x1' }] }), [A0, A1]);
  const sign = (m) => d(([a, m]) => window.dapp.raw({ method: 'personal_sign', params: [m, a] }), [A0, m]);
  // 'pending' counts what the node took but has not mined yet: anvil answers
  // eth_sendRawTransaction before its automine block exists, so 'latest' can
  // lag a send the wallet already finished (seen under load in CI).
  const nonce = () => jsonRpc(anvil.url, 'eth_getTransactionCount', [A0, 'pending']).then(Number);
  const windowOf = (id) =>
    until(() => browser.context.pages().find((p) => p.url().endsWith(`approval.html?id=${id}`)), `the window of #${id}`);
  const windowOpen = (id) => browser.context.pages().some((p) => p.url().endsWith(`approval.html?id=${id}`));

  /** Rewrites the stored approvals while the worker runs (it reads them
   *  again once killed). */
  async function editApprovals(edit) {
    const key = 'tandem.session';
    const session = JSON.parse(await browser.ext.evaluate(async (k) => (await chrome.storage.session.get(k))[k], key));
    session.approvals = edit(session.approvals);
    await browser.ext.evaluate(([k, v]) => chrome.storage.session.set({ [k]: v }), [key, JSON.stringify(session)]);
  }

  const kill = () => worker.kill();

  /** The raw transactions sent since the `from`-th are all the same bytes: one transaction. */
  function oneSetOfBytes(from) {
    const raws = new Set(gate.asked('eth_sendRawTransaction').slice(from).map((r) => r.params[0]));
    assert.equal(raws.size, 1, `sent as ${raws.size} different transactions`);
  }

  before(async () => {
    [anvil, dapp] = await Promise.all([startAnvil(), startDapp()]);
    gate = await startLyingRpc(anvil.url);
    ({ browser, page } = await connectedWallet(anvil, dapp));
    await browser.ui('networks.upsert', { chainId: 31337, name: 'Anvil', rpcUrl: gate.url, symbol: 'ETH' });
    browser.guard.allow([gate.url]);
    worker = await watchWorker(browser);
  });

  after(async () => {
    await worker?.detach();
    await browser?.close();
    await Promise.all([gate?.close(), anvil?.stop(), dapp?.close()]);
  });

  beforeEach(async () => {
    if (!browser) return;
    for (const a of await browser.ui('approvals.list')) {
      await browser.ui('approvals.resolve', { id: a.id, approve: false }).catch(() => {});
    }
  });

  it('(a) killed while a transaction waits in its window: approving after the restart sends it, the dapp gets the hash', async () => {
    const before = await nonce();
    const sent = send();
    const a = await pendingApproval(browser, 'transaction');
    await windowOf(a.id);
    await kill();
    await answer(browser, 'transaction', true);
    const res = await sent;
    assert.match(res.result ?? '', /^0x[0-9a-f]{64}$/, JSON.stringify(res));
    assert.equal(await nonce(), before + 1);
    const tx = await jsonRpc(anvil.url, 'eth_getTransactionByHash', [res.result]);
    assert.equal(Number(tx.nonce), before);
  });

  it('(b) killed after Approve, before the node saw the transaction: sent once after the restart, the dapp gets the hash', async () => {
    const before = await nonce();
    const sends = gate.asked('eth_sendRawTransaction').length;
    const sent = send();
    const held = gate.hold('eth_sendRawTransaction', { forward: false });
    await answer(browser, 'transaction', true);
    await held; // signed and recorded; the node has not seen it
    assert.equal(await nonce(), before);
    await kill();
    // Nobody touches the wallet: the page's provider notices the worker
    // stopped, asks after its request, and that starts the worker again.
    const res = await sent;
    assert.match(res.result ?? '', /^0x[0-9a-f]{64}$/, JSON.stringify(res));
    assert.equal(await nonce(), before + 1, 'exactly one transaction');
    const tx = await jsonRpc(anvil.url, 'eth_getTransactionByHash', [res.result]);
    assert.equal(Number(tx.nonce), before);
    assert.equal(gate.asked('eth_sendRawTransaction').length, sends + 2, 'held once, sent once');
    oneSetOfBytes(sends);
    const activity = await browser.ui('activity');
    assert.equal(activity.filter((x) => x.hash === res.result).length, 1);
  });

  it('(c) killed after the node took the transaction, before the worker heard: no second transaction, the dapp gets the hash', async () => {
    const before = await nonce();
    const sends = gate.asked('eth_sendRawTransaction').length;
    const sent = send();
    const held = gate.hold('eth_sendRawTransaction', { forward: true });
    await answer(browser, 'transaction', true);
    await held; // the node has it (mined: automine); the worker never heard
    assert.equal(await nonce(), before + 1);
    await kill();
    const res = await sent;
    assert.match(res.result ?? '', /^0x[0-9a-f]{64}$/, JSON.stringify(res));
    const tx = await jsonRpc(anvil.url, 'eth_getTransactionByHash', [res.result]);
    assert.equal(Number(tx.nonce), before, 'the hash is the transaction the node took');
    assert.equal(await nonce(), before + 1, 'no second transaction');
    oneSetOfBytes(sends);
    const activity = await browser.ui('activity');
    assert.equal(activity.filter((x) => x.hash === res.result).length, 1);
  });

  it('(d) an approval window closed while the worker was stopped rejects its request with 4001', async () => {
    const signed = sign('0x6f727068616e');
    const a = await pendingApproval(browser, 'personal_sign');
    const win = await windowOf(a.id);
    await kill();
    await win.close();
    const res = await signed;
    assert.equal(res.error?.code, 4001, JSON.stringify(res));
    assert.deepEqual(await browser.ui('approvals.list'), []);
  });

  it('(e) a request that waited 30 minutes expires with a clear 4001 and its window closes', async () => {
    const signed = sign('0x7374616c65');
    const a = await pendingApproval(browser, 'personal_sign');
    await windowOf(a.id);
    // It was asked 31 minutes ago (as the worker stored it).
    await editApprovals((list) => list.map((x) => (x.id === a.id ? { ...x, createdAt: Date.now() - 31 * 60_000 } : x)));
    await kill();
    const res = await signed;
    assert.equal(res.error?.code, 4001, JSON.stringify(res));
    assert.match(res.error.message, /waited 30 minutes .* expired; ask again/);
    await until(() => !windowOpen(a.id), 'the window to close');
    assert.deepEqual(await browser.ui('approvals.list'), []);
  });

  it('a request the restarted worker no longer has settles at once with a clear error, never hangs', async () => {
    const signed = sign('0x6c6f7374');
    const a = await pendingApproval(browser, 'personal_sign');
    await windowOf(a.id);
    // The stored session loses it (as a browser whose session storage was
    // cleared would): the page must not wait forever.
    await editApprovals((list) => list.filter((x) => x.id !== a.id));
    await kill();
    const res = await signed;
    assert.equal(res.error?.code, -32603, JSON.stringify(res));
    assert.match(res.error.message, /restarted and no longer has this request; ask again/);
  });

  it('(f) closing an unrelated tab wakes the worker but loads no wasm; the tab of a waiting request still withdraws it', async () => {
    // The periodic alarm would load the core by itself: off for this test.
    await browser.ext.evaluate(() => chrome.alarms.clear('tandem-tick'));
    try {
      /** Does `action` with the worker stopped; returns how often the core
       *  loaded in the worker that the action started (0: never). */
      async function withWorkerStopped(action) {
        await kill();
        const starts = worker.seen.running;
        await action();
        await until(() => worker.seen.running > starts, 'the worker to start again');
        // Playwright keeps one handle for the extension's worker across restarts.
        const [sw] = browser.context.serviceWorkers();
        // Barrier: the worker's tabs.onRemoved handler reads session storage
        // first; reads issued after it resolve after it, by which time the
        // handler has decided (and would have started the core).
        return sw.evaluate(async () => {
          await chrome.storage.session.get('tandem.tabs');
          await chrome.storage.session.get('tandem.tabs');
          return globalThis.tandemCoreLoads ?? 0;
        });
      }
      const unrelated = await browser.context.newPage();
      await unrelated.goto('about:blank');
      assert.equal(await withWorkerStopped(() => unrelated.close()), 0, 'the wasm core did not load');
      // The control: an event that needs the core is counted by the same
      // measure (so the 0 above can fail).
      assert.equal(await withWorkerStopped(() => browser.ui('state')), 1, 'a wallet call loads the core');

      // The tab of a request that waits still withdraws it when it closes.
      const other = await browser.context.newPage();
      await other.goto(`${dapp.url}/index.html`);
      await other.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
      await other.evaluate((rdns) => window.dapp.use(rdns), 'app.tandem.wallet');
      other.evaluate((a) => window.dapp.raw({ method: 'personal_sign', params: ['0x6279', a] }), A0).catch(() => {});
      const a = await pendingApproval(browser, 'personal_sign');
      await windowOf(a.id);
      await other.close();
      await until(async () => (await browser.ui('approvals.list')).length === 0, 'the request withdrawn');
      await until(() => !windowOpen(a.id), 'its window to close');
    } finally {
      await browser.ext.evaluate(() => chrome.alarms.create('tandem-tick', { periodInMinutes: 0.5 }));
    }
  });
});
