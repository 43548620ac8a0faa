// End to end: EIP-5792 (version 2.0.0) with real viem actions in a real page
// (getCapabilities, sendCalls, getCallsStatus, waitForCallsStatus), the
// built extension in headless Chromium, and anvil behind a proxy on
// 127.0.0.1 (lib/lying-rpc.mjs) that can hold a transaction or lie about a
// gas estimate. Tandem sends a bundle's calls one after another, each after
// the one before is mined, all under one approval that lists them.
//
// Run: node --test --test-concurrency=1 tests/e2e/calls.test.mjs
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  startAnvil,
  startDapp,
  openDapp,
  until,
  jsonRpc,
  pendingApproval,
  ANVIL_ACCOUNT_0 as A0,
  ANVIL_ACCOUNT_1 as A1,
  watchWorker,
} from './lib/index.mjs';
import { answer, connectedWallet } from './lib/approve.mjs';
import { balanceOf, deployErc20 } from './lib/erc20.mjs';
import { startLyingRpc } from './lib/lying-rpc.mjs';

const TOKEN = '0x000000000000000000000000000000000000c0de';
const CHAIN = 31337;
const ONE_ETH = '1000000000000000000';
const transfer = (to, amount) =>
  '0xa9059cbb' + to.toLowerCase().slice(2).padStart(64, '0') + BigInt(amount).toString(16).padStart(64, '0');

describe('EIP-5792: call bundles, sent one by one under one approval', { timeout: 300_000 }, () => {
  let browser, anvil, gate, dapp, other, page, worker;
  const d = (fn, ...args) => page.evaluate(fn, ...args);
  // 'pending' counts what the node took but has not mined yet: anvil answers
  // eth_sendRawTransaction before its automine block exists, so 'latest' can
  // lag a send the wallet already finished (seen under load in CI).
  const nonce = () => jsonRpc(anvil.url, 'eth_getTransactionCount', [A0, 'pending']).then(Number);
  const eth = (a) => jsonRpc(anvil.url, 'eth_getBalance', [a, 'latest']).then(BigInt);
  const sendCalls = (calls, options) =>
    d(([a, c, calls, o]) => window.dapp.sendCalls(a, c, calls, o), [A0, CHAIN, calls, options ?? {}]);
  const waitFor = (id) => d((id) => window.dapp.waitForCalls(id), id);
  const windowOf = (id) =>
    until(() => browser.context.pages().find((p) => p.url().endsWith(`approval.html?id=${id}`)), `the window of #${id}`);

  const kill = () => worker.kill();

  /** Each transaction of `receipts` as the node has it. */
  const txs = (receipts) => Promise.all(receipts.map((r) => jsonRpc(anvil.url, 'eth_getTransactionByHash', [r.transactionHash])));

  before(async () => {
    [anvil, dapp, other] = await Promise.all([startAnvil(), startDapp(), startDapp()]);
    gate = await startLyingRpc(anvil.url);
    ({ browser, page } = await connectedWallet(anvil, dapp));
    await browser.ui('networks.upsert', { chainId: CHAIN, name: 'Anvil', rpcUrl: gate.url, symbol: 'ETH' });
    browser.guard.allow([gate.url]);
    await deployErc20(anvil.url, TOKEN, { symbol: 'TUSD', decimals: 6, holder: A0, balance: 1_000_000_000n });
    worker = await watchWorker(browser);
  });

  after(async () => {
    await worker?.detach();
    await browser?.close();
    await Promise.all([gate?.close(), anvil?.stop(), dapp?.close(), other?.close()]);
  });

  beforeEach(async () => {
    if (!browser) return;
    gate.honest();
    for (const a of await browser.ui('approvals.list')) {
      await browser.ui('approvals.resolve', { id: a.id, approve: false }).catch(() => {});
    }
  });

  it('getCapabilities: atomic "unsupported" on each network, and only for a connected account (4100)', async () => {
    const all = await d((a) => window.dapp.capabilities(a), A0);
    assert.deepEqual(all.result?.[CHAIN], { atomic: { status: 'unsupported' } }, JSON.stringify(all));
    const networks = (await browser.ui('state')).networks;
    assert.equal(Object.keys(all.result).length, networks.length);
    const one = await d(([a, c]) => window.dapp.capabilities(a, c), [A0, CHAIN]);
    assert.deepEqual(one.result, { atomic: { status: 'unsupported' } });
    const stranger = await d((a) => window.dapp.capabilities(a), A1);
    assert.equal(stranger.error?.code, 4100, JSON.stringify(stranger));
  });

  it('a native and a token transfer: one window lists both, they are mined in order, status 200 with both receipts', async () => {
    const [n0, eth1, tok1] = await Promise.all([nonce(), eth(A1), balanceOf(anvil.url, TOKEN, A1)]);
    const sent = sendCalls([
      { to: A1, value: ONE_ETH },
      { to: TOKEN, data: transfer(A1, 1_500_000) },
    ]);
    const a = await pendingApproval(browser, 'calls');
    const w = await windowOf(a.id);
    const text = (tid) => w.getByTestId(tid).textContent();
    await until(async () => (await text('calls-kind-1')) === '2. Token transfer', 'the window to list the calls');
    assert.equal(await text('calls-kind-0'), '1. Send');
    assert.equal(await text('calls-value-0'), '1 ETH');
    assert.equal(await text('calls-total'), '1 ETH');
    assert.match(await text('approval-chain'), /chain 31337/);
    // The token's own symbol and decimals, read from the contract.
    await until(async () => (await text('calls-detail-1')) === 'Send 1.5 TUSD to 0x7099…79C8', 'the token amount');
    assert.equal(await nonce(), n0, 'nothing is sent before the approval');
    await answer(browser, 'calls', true);
    const id = (await sent).result;
    assert.match(id ?? '', /^0x[0-9a-f]{64}$/, JSON.stringify(await sent));
    const s = (await waitFor(id)).result;
    assert.equal(s?.statusCode, 200, JSON.stringify(s));
    assert.equal(s.status, 'success');
    assert.equal(s.atomic, false);
    assert.equal(s.receipts.length, 2);
    assert.ok(s.receipts.every((r) => r.status === 'success'));
    // In order, one after the other: consecutive nonces, the second in a later block.
    const [t0, t1] = await txs(s.receipts);
    assert.deepEqual([Number(t0.nonce), Number(t1.nonce)], [n0, n0 + 1]);
    assert.equal(t0.to.toLowerCase(), A1.toLowerCase());
    assert.equal(t1.to.toLowerCase(), TOKEN);
    assert.ok(BigInt(s.receipts[1].blockNumber) > BigInt(s.receipts[0].blockNumber));
    assert.equal(await eth(A1), eth1 + BigInt(ONE_ETH));
    assert.equal(await balanceOf(anvil.url, TOKEN, A1), tok1 + 1_500_000n);
    // Both are in the wallet's activity, for this site.
    const activity = await browser.ui('activity');
    for (const r of s.receipts) assert.ok(activity.some((x) => x.hash === r.transactionHash && x.origin === dapp.url));
  });

  it('rejecting the bundle gives 4001 and sends nothing', async () => {
    const n0 = await nonce();
    const sent = sendCalls([{ to: A1, value: '1' }, { to: A1, value: '2' }]);
    await answer(browser, 'calls', false);
    const res = await sent;
    assert.equal(res.error?.code, 4001, JSON.stringify(res));
    assert.equal(await nonce(), n0);
  });

  it('atomicRequired (viem forceAtomic) is refused with 5760, and no window opens', async () => {
    const res = await sendCalls([{ to: A1, value: '1' }, { to: A1, value: '2' }], { forceAtomic: true });
    assert.equal(res.error?.code, 5760, JSON.stringify(res));
    assert.match(res.error.message, /atomic/i);
    assert.equal((await browser.ui('approvals.list')).length, 0);
  });

  it('another site cannot read the bundle status (5730), whatever it knows of the id', async () => {
    const sent = sendCalls([{ to: A1, value: '1' }]);
    await answer(browser, 'calls', true);
    const id = (await sent).result;
    assert.equal((await waitFor(id)).result?.statusCode, 200);
    const { page: stranger } = await openDapp(browser, other.url);
    assert.notEqual(new URL(other.url).origin, new URL(dapp.url).origin);
    const res = await stranger.evaluate((id) => window.dapp.raw({ method: 'wallet_getCallsStatus', params: [id] }), id);
    assert.equal(res.error?.code, 5730, JSON.stringify(res));
    const viaViem = await stranger.evaluate((id) => window.dapp.callsStatus(id), id);
    assert.equal(viaViem.error?.code, 5730, JSON.stringify(viaViem));
    // Its owner still reads it.
    assert.equal((await d((id) => window.dapp.callsStatus(id), id)).result?.statusCode, 200);
    await stranger.close();
  });

  it('a call that reverts on chain stops the rest: status 500, the next call never sent', async () => {
    const [n0, eth1] = await Promise.all([nonce(), eth(A1)]);
    // The proxy gives the doomed transfer a gas estimate, as a node could
    // before a state change: it is mined, and reverts.
    gate.lie('eth_estimateGas', (req, ans) => (ans.error ? { jsonrpc: '2.0', id: req.id, result: '0x30000' } : ans));
    const sent = sendCalls([
      { to: TOKEN, data: transfer(A1, 10n ** 15n) },
      { to: A1, value: '7' },
    ]);
    await answer(browser, 'calls', true);
    const s = (await waitFor((await sent).result)).result;
    assert.equal(s?.statusCode, 500, JSON.stringify(s));
    assert.equal(s.status, 'failure');
    assert.equal(s.receipts.length, 1);
    assert.equal(s.receipts[0].status, 'reverted');
    assert.equal(await nonce(), n0 + 1, 'only the first call was sent');
    assert.equal(await eth(A1), eth1, 'the native transfer after it never went');
  });

  it('a call the node refuses after one that took effect: status 600, the rest never sent', async () => {
    const [n0, eth1, tok1] = await Promise.all([nonce(), eth(A1), balanceOf(anvil.url, TOKEN, A1)]);
    const sent = sendCalls([
      { to: TOKEN, data: transfer(A1, 1_000_000) },
      { to: TOKEN, data: transfer(A1, 10n ** 15n) }, // more than the balance: its estimate fails
      { to: A1, value: '9' },
    ]);
    await answer(browser, 'calls', true);
    const s = (await waitFor((await sent).result)).result;
    assert.equal(s?.statusCode, 600, JSON.stringify(s));
    assert.equal(s.receipts.length, 1);
    assert.equal(s.receipts[0].status, 'success');
    assert.equal(await nonce(), n0 + 1);
    assert.equal(await balanceOf(anvil.url, TOKEN, A1), tok1 + 1_000_000n);
    assert.equal(await eth(A1), eth1);
  });

  it('the worker killed after approval, a call signed but not yet sent: each call goes once, the status still answers', async () => {
    const n0 = await nonce();
    const sends = gate.asked('eth_sendRawTransaction').length;
    const sent = sendCalls([{ to: A1, value: '11' }, { to: A1, value: '12' }]);
    const held = gate.hold('eth_sendRawTransaction', { forward: false });
    await answer(browser, 'calls', true);
    const id = (await sent).result;
    assert.match(id ?? '', /^0x[0-9a-f]{64}$/);
    await held; // the first call is signed and stored; the node has not seen it
    await kill();
    // The page asks after its bundle: that starts the worker, which carries on.
    const s = (await waitFor(id)).result;
    assert.equal(s?.statusCode, 200, JSON.stringify(s));
    assert.equal(s.receipts.length, 2);
    assert.equal(await nonce(), n0 + 2, 'two transactions, no more');
    const raws = gate.asked('eth_sendRawTransaction').slice(sends).map((r) => r.params[0]);
    assert.equal(raws.length, 3, 'held, sent again, and the second call');
    assert.equal(raws[0], raws[1], 'the first call was sent again as the same bytes');
    assert.equal(new Set(raws).size, 2);
    const [t0, t1] = await txs(s.receipts);
    assert.deepEqual([Number(t0.value), Number(t1.value)], [11, 12]);
  });

  it('the worker killed after the node took a call, before it heard: no second transaction, the status still answers', async () => {
    const n0 = await nonce();
    const sends = gate.asked('eth_sendRawTransaction').length;
    const sent = sendCalls([{ to: A1, value: '21' }, { to: A1, value: '22' }]);
    const held = gate.hold('eth_sendRawTransaction', { forward: true });
    await answer(browser, 'calls', true);
    const id = (await sent).result;
    await held; // mined (automine); the worker never heard
    assert.equal(await nonce(), n0 + 1);
    await kill();
    const s = (await waitFor(id)).result;
    assert.equal(s?.statusCode, 200, JSON.stringify(s));
    assert.equal(await nonce(), n0 + 2, 'two transactions, no more');
    const raws = gate.asked('eth_sendRawTransaction').slice(sends).map((r) => r.params[0]);
    assert.equal(new Set(raws).size, 2, 'the first call only ever as its one set of bytes');
    const [t0, t1] = await txs(s.receipts);
    assert.deepEqual([Number(t0.value), Number(t1.value)], [21, 22]);
  });
});
