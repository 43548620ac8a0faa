// End to end: Tandem does not take a JSON-RPC node's word (issue 13, items 4
// and 5), and a transaction's approval shows its nonce and calldata (item 3). Real headless Chromium with the built extension, two real anvil
// nodes (chains 31337 and 1338), a viem dapp, and for chain 31337 a small
// lying proxy in front of anvil (tests/e2e/lib/lying-rpc.mjs) that rewrites
// the answers each test names.
// Run: node --test --test-concurrency=1 tests/e2e/rpc-truth.test.mjs
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { keccak256 } from 'viem';
import {
  launch,
  startAnvil,
  startDapp,
  openDapp,
  until,
  jsonRpc,
  pendingApproval,
  ANVIL_MNEMONIC,
  ANVIL_ACCOUNT_0 as A0,
  ANVIL_ACCOUNT_1 as A1,
  PASSWORD,
} from './lib/index.mjs';
import { answer, freshStart } from './lib/approve.mjs';
import { onboardImport } from './lib/onboard.mjs';
import { startLyingRpc } from './lib/lying-rpc.mjs';

const GWEI = 1_000_000_000n;
const hex = (n) => '0x' + BigInt(n).toString(16);

describe('Tandem checks what the network RPC answers', { timeout: 300_000 }, () => {
  let browser, anvil, anvil2, proxy, dapp, page;
  const d = (fn, ...args) => page.evaluate(fn, ...args);
  const send = () =>
    d(([from, to]) => window.dapp.raw({ method: 'eth_sendTransaction', params: [{ from, to, value: '0x1' }] }), [A0, A1]);
  const nonceOf = (url) => jsonRpc(url, 'eth_getTransactionCount', [A0, 'latest']).then(Number);
  const networks = async () => (await browser.ui('state')).networks.map((n) => n.chainId).sort((a, b) => a - b);
  const windowOf = (id) =>
    until(() => browser.context.pages().find((p) => p.url().endsWith(`approval.html?id=${id}`)), `the window of #${id}`);

  before(async () => {
    [anvil, anvil2, dapp] = await Promise.all([startAnvil(), startAnvil({ chainId: 1338 }), startDapp()]);
    proxy = await startLyingRpc(anvil.url);
    browser = await launch();
    await onboardImport(browser, ANVIL_MNEMONIC, PASSWORD);
    await browser.ui('networks.upsert', { chainId: 31337, name: 'Anvil', rpcUrl: proxy.url, symbol: 'ETH' });
    await browser.ui('networks.select', { chainId: 31337 });
    ({ page } = await openDapp(browser, dapp.url));
    const connected = d(() => window.dapp.connect());
    await answer(browser, 'connect', true);
    assert.deepEqual((await connected).result, [A0]);
  });

  // Each test starts honest, on chain 31337, with nothing pending.
  beforeEach(async () => {
    if (!browser) return;
    proxy.honest();
    await freshStart(browser, 31337);
  });

  after(async () => {
    await browser?.close();
    await Promise.all([proxy?.close(), anvil?.stop(), anvil2?.stop(), dapp?.close()]);
  });

  it('a site adding chain 1337 with an RPC that serves chain 1338 is refused, naming both, and nothing is saved', { timeout: 60_000 }, async () => {
    await browser.ui('networks.remove', { chainId: 1338 }).catch(() => {});
    const before = await networks();
    const add = (id, rpc) =>
      d(
        ([id, rpc]) =>
          window.dapp.raw({
            method: 'wallet_addEthereumChain',
            params: [{ chainId: id, chainName: 'Liar', rpcUrls: [rpc], nativeCurrency: { name: 'E', symbol: 'ETH', decimals: 18 } }],
          }),
        [id, rpc],
      );
    const lied = await add('0x539', anvil2.url);
    assert.equal(lied.error?.code, -32602, JSON.stringify(lied));
    assert.match(lied.error.message, /serves chain 1338 \(0x53a\), not chain 1337 \(0x539\)/);
    assert.ok(!lied.error.message.includes(String(anvil2.port)), 'never the RPC URL');
    assert.deepEqual(await networks(), before, 'nothing saved');
    assert.deepEqual(await browser.ui('approvals.list'), []);
    // An RPC that does not answer: refused too.
    const silent = await add('0x539', 'http://127.0.0.1:9/');
    assert.match(silent.error?.message ?? '', /did not answer eth_chainId/);
    assert.deepEqual(await networks(), before);

    // The popup's own form: the same check.
    await assert.rejects(
      browser.ui('networks.upsert', { chainId: 1337, name: 'Liar', rpcUrl: anvil2.url, symbol: 'ETH' }),
      (e) => e.kind === 'InvalidInput' && /serves chain 1338 \(0x53a\), not chain 1337/.test(e.message),
    );
    assert.deepEqual(await networks(), before);

    // The honest one: the window shows it once the RPC said 1338; approving saves it.
    const honest = add('0x53a', anvil2.url);
    await answer(browser, 'add_chain', true);
    assert.equal((await honest).error, undefined);
    assert.deepEqual(await networks(), [...before, 1338].sort((a, b) => a - b));
    await browser.ui('networks.select', { chainId: 31337 });
  });

  it('an answer carrying another request id is refused', { timeout: 60_000 }, async () => {
    proxy.lie('eth_blockNumber', (req, res) => ({ ...res, id: req.id + 1 }));
    const r = await d(() => window.dapp.raw({ method: 'eth_blockNumber' }));
    assert.match(r.error?.message ?? JSON.stringify(r), /answered another request \(id \d+, not \d+\)/);
    proxy.honest();
    assert.ok((await d(() => window.dapp.raw({ method: 'eth_blockNumber' }))).result);
  });

  it('an absurd base fee from the node is refused and nothing is signed', { timeout: 60_000 }, async () => {
    const nonce = await nonceOf(anvil.url);
    proxy.lie('eth_getBlockByNumber', (_, res) => ({ ...res, result: { ...res.result, baseFeePerGas: hex(1_000_000n * GWEI) } }));
    const r = await send();
    assert.match(r.error?.message ?? JSON.stringify(r), /base fee of 1000000 gwei per gas, above Tandem's limit of 50000 gwei/);
    assert.deepEqual(await browser.ui('approvals.list'), []);
    assert.equal(await nonceOf(anvil.url), nonce, 'nothing sent');
  });

  it('an unusually high fee is warned about on the approval', { timeout: 60_000 }, async () => {
    proxy.lie('eth_maxPriorityFeePerGas', (_, res) => ({ ...res, result: hex(2_000n * GWEI) }));
    const sent = send();
    const a = await pendingApproval(browser, 'transaction');
    const win = await windowOf(a.id);
    const warning = win.getByTestId('tx-warning-0');
    await warning.waitFor({ state: 'attached', timeout: 15_000 });
    assert.match(await warning.textContent(), /unusually high network fee: up to 2\d{3} gwei per gas/);
    await answer(browser, 'transaction', false);
    assert.equal((await sent).error.code, 4001);
  });

  it('the dapp gets the hash of the transaction Tandem signed, and a node that answers another is reported', { timeout: 60_000 }, async () => {
    const fake = '0x' + 'ee'.repeat(32);
    proxy.lie('eth_sendRawTransaction', (_, res) => ({ ...res, result: fake }));
    const sent = send();
    await answer(browser, 'transaction', true);
    const r = await sent;
    const [raw] = proxy.asked('eth_sendRawTransaction').at(-1).params;
    const signed = keccak256(raw);
    assert.equal(r.result, signed, 'the hash of what was signed, not the node\'s');
    assert.ok(await jsonRpc(anvil.url, 'eth_getTransactionByHash', [signed]), 'anvil has it under that hash');
    const rec = (await browser.ui('activity')).find((x) => x.hash === signed);
    assert.match(rec.warning, new RegExp(`answered ${fake} instead of ${signed}`));
  });

  it('a site-chosen nonce already used is shown and flagged as a replacement (item 3)', { timeout: 60_000 }, async () => {
    // Anvil mines at once, so the account's next nonce is its mined count.
    if ((await nonceOf(anvil.url)) === 0) {
      const first = send();
      await answer(browser, 'transaction', true);
      assert.ok((await first).result);
    }
    const next = await nonceOf(anvil.url);
    const sent = d(
      ([from, to]) => window.dapp.raw({ method: 'eth_sendTransaction', params: [{ from, to, value: '0x1', nonce: '0x0' }] }),
      [A0, A1],
    );
    const a = await pendingApproval(browser, 'transaction');
    const win = await windowOf(a.id);
    const shown = async (id) => {
      const el = win.getByTestId(id);
      await el.waitFor({ state: 'attached', timeout: 15_000 });
      return (await el.textContent()).trim();
    };
    assert.equal(await shown('tx-nonce'), '0');
    assert.equal(
      await shown('tx-warning-0'),
      `replaces a pending transaction: the site chose nonce 0, already used by this account (its next is ${next}); if that transaction was mined, this one fails`,
    );
    assert.equal(await win.getByTestId('tx-warning-1').count(), 0);
    await answer(browser, 'transaction', false);
    assert.equal((await sent).error.code, 4001);
  });

  it('an unlimited token approval warns once, and its calldata is there on demand (item 3)', { timeout: 60_000 }, async () => {
    const spender = '70997970c51812dc3a010c7d01b50e0d17dc79c8';
    const data = `0x095ea7b3${spender.padStart(64, '0')}${'f'.repeat(64)}`;
    const token = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
    const sent = d(([from, to, data]) => window.dapp.raw({ method: 'eth_sendTransaction', params: [{ from, to, data }] }), [A0, token, data]);
    const a = await pendingApproval(browser, 'transaction');
    const win = await windowOf(a.id);
    const first = win.getByTestId('tx-warning-0');
    await first.waitFor({ state: 'attached', timeout: 15_000 });
    assert.match(await first.textContent(), /^unlimited token approval: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 could move/);
    assert.equal(await win.getByTestId('tx-warning-1').count(), 0, 'once, not once per address spelling');
    const hex = win.getByTestId('tx-data-hex');
    assert.equal(await hex.isVisible(), false, 'raw calldata only on demand');
    await win.getByTestId('tx-data-raw').locator('summary').click();
    assert.equal(await hex.textContent(), data);
    await answer(browser, 'transaction', false);
    assert.equal((await sent).error.code, 4001);
  });

  it('receipts are polled on the chain the transaction was sent on, after a switch', { timeout: 60_000 }, async () => {
    // The node withholds the receipt until the wallet has switched to chain 1338.
    await browser.ui('networks.upsert', { chainId: 1338, name: 'Second anvil', rpcUrl: anvil2.url, symbol: 'ETH' });
    let hold = true;
    proxy.lie('eth_getTransactionReceipt', (_, res) => (hold ? { ...res, result: null } : res));
    const asked = proxy.asked('eth_getTransactionReceipt').length;
    const sent = send();
    await answer(browser, 'transaction', true);
    const hash = (await sent).result;
    assert.match(hash, /^0x[0-9a-f]{64}$/);
    await until(() => proxy.asked('eth_getTransactionReceipt').length > asked, 'the wallet to ask for the receipt');
    await browser.ui('networks.select', { chainId: 1338 });
    hold = false;
    const status = () => browser.ui('activity').then((l) => l.find((x) => x.hash === hash)?.status);
    await until(async () => (await status()) === 'confirmed', 'the receipt from chain 31337', 20_000, 200);
  });
});
