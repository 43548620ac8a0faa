// End to end: the approval window names the network a request is for (issue
// 13, items 1 and 2). Real headless Chromium with the built extension, two
// real anvil nodes (chains 31337 and 1338, the second with its own currency
// symbol), a viem dapp; what is asserted is what the approval window shows.
// Run: node --test --test-concurrency=1 tests/e2e/approval-chain.test.mjs
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  launch,
  startAnvil,
  startDapp,
  openDapp,
  until,
  pendingApproval,
  ANVIL_MNEMONIC,
  ANVIL_ACCOUNT_0 as A0,
  ANVIL_ACCOUNT_1 as A1,
  PASSWORD,
} from './lib/index.mjs';
import { answer } from './lib/approve.mjs';
import { onboardImport } from './lib/onboard.mjs';

describe('the approval window names the network it signs for', { timeout: 240_000 }, () => {
  let browser, anvil, anvil2, dapp, page;
  const d = (fn, ...args) => page.evaluate(fn, ...args);

  /** The approval window the worker opened for approval `id`. */
  const windowOf = (id) =>
    until(
      () => browser.context.pages().find((p) => p.url().endsWith(`approval.html?id=${id}`)),
      `the approval window for #${id}`,
    );
  const shown = async (win, testid) => {
    const el = win.getByTestId(testid);
    await el.waitFor({ state: 'attached', timeout: 15_000 });
    return (await el.textContent()).trim();
  };

  before(async () => {
    [anvil, anvil2, dapp] = await Promise.all([startAnvil(), startAnvil({ chainId: 1338 }), startDapp()]);
    browser = await launch();
    await onboardImport(browser, ANVIL_MNEMONIC, PASSWORD);
    await browser.ui('networks.upsert', { chainId: 31337, name: 'Anvil', rpcUrl: anvil.url, symbol: 'ETH' });
    // The second chain's currency is not ETH: a window showing the selected
    // network's currency instead of the request's would say TST.
    await browser.ui('networks.upsert', { chainId: 1338, name: 'Second anvil', rpcUrl: anvil2.url, symbol: 'TST' });
    await browser.ui('networks.select', { chainId: 31337 });
    ({ page } = await openDapp(browser, dapp.url));
    const connected = d(() => window.dapp.connect());
    await answer(browser, 'connect', true);
    assert.deepEqual((await connected).result, [A0]);
  });

  // Each test starts on chain 31337 with nothing pending, whatever the one
  // before it left (the tests do not depend on their order).
  beforeEach(async () => {
    if (!browser) return;
    for (const a of await browser.ui('approvals.list')) {
      await browser.ui('approvals.resolve', { id: a.id, approve: false }).catch(() => {});
    }
    await browser.ui('networks.select', { chainId: 31337 });
  });

  after(async () => {
    await browser?.close();
    await Promise.all([anvil?.stop(), anvil2?.stop(), dapp?.close()]);
  });

  it('a send queued on chain 31337 still says chain 31337 and ETH after the dapp switches the wallet to another chain', async () => {
    // 100 ETH on chain 31337.
    const sent = d(
      ([from, to]) => window.dapp.raw({ method: 'eth_sendTransaction', params: [{ from, to, value: '0x56bc75e2d63100000' }] }),
      [A0, A1],
    );
    const tx = await pendingApproval(browser, 'transaction');
    const txWin = await windowOf(tx.id);
    assert.equal(await shown(txWin, 'tx-value'), '100 ETH');

    // The dapp switches the wallet to chain 1338 (currency TST); the user approves
    // (through the worker's message: the request waits behind the transaction
    // in the site's one approval window, which stays on the transaction).
    const switched = d(() => window.dapp.raw({ method: 'wallet_switchEthereumChain', params: [{ chainId: '0x53a' }] }));
    await answer(browser, 'switch_chain', true, { viaUi: false });
    assert.equal((await switched).error, undefined);
    assert.equal((await browser.ui('state')).network.chainId, 1338);

    // The transaction's window re-renders for the new network: it still shows
    // the amount in chain 31337's ETH, names that chain, and warns that the
    // selected network differs.
    const warning = await shown(txWin, 'approval-chain-mismatch');
    assert.equal(await shown(txWin, 'tx-value'), '100 ETH');
    assert.match(await shown(txWin, 'tx-max-cost'), / ETH$/);
    assert.match(warning, /Anvil \(chain 31337\)/);
    assert.equal(await shown(txWin, 'approval-chain'), 'Anvil · chain 31337 · ETH');
    assert.ok(!(await txWin.getByTestId('approval-screen').textContent()).includes('TST'), "never the new network's symbol");

    // Back on chain 31337 the warning goes.
    await browser.ui('networks.select', { chainId: 31337 });
    await until(async () => (await txWin.getByTestId('approval-chain-mismatch').count()) === 0, 'the warning to go');
    assert.equal(await shown(txWin, 'approval-chain'), 'Anvil · chain 31337 · ETH');

    await answer(browser, 'transaction', false);
    assert.equal((await sent).error.code, 4001);
  });

  it('wallet_switchEthereumChain names the network it switches to', async () => {
    const switched = d(() => window.dapp.raw({ method: 'wallet_switchEthereumChain', params: [{ chainId: '0x53a' }] }));
    const sw = await pendingApproval(browser, 'switch_chain');
    const win = await windowOf(sw.id);
    assert.equal(await shown(win, 'chain-name'), 'Second anvil');
    assert.equal(await shown(win, 'chain-id'), '1338');
    assert.equal(await shown(win, 'chain-symbol'), 'TST');
    assert.equal(await shown(win, 'chain-from'), 'Anvil · chain 31337 · ETH');
    await answer(browser, 'switch_chain', false);
    assert.equal((await switched).error.code, 4001);
    assert.equal((await browser.ui('state')).network.chainId, 31337);
  });

  it('a signature request names the chain it was asked on', async () => {
    const signed = d(([a]) => window.dapp.raw({ method: 'personal_sign', params: ['0x48656c6c6f', a] }), [A0]);
    const a = await pendingApproval(browser, 'personal_sign');
    const win = await windowOf(a.id);
    assert.equal(await shown(win, 'approval-chain'), 'Anvil · chain 31337 · ETH');
    await browser.ui('networks.select', { chainId: 1338 });
    assert.match(await shown(win, 'approval-chain-mismatch'), /chain 31337/);
    await answer(browser, 'personal_sign', false);
    assert.equal((await signed).error.code, 4001);
    await browser.ui('networks.select', { chainId: 31337 });
  });

  it('wallet_addEthereumChain for a known chain shows old and new values and stores the new ones', async () => {
    const params = (name, rpc) => [
      { chainId: '0x53a', chainName: name, rpcUrls: [rpc], nativeCurrency: { name: 'Test', symbol: 'TST', decimals: 18 } },
    ];
    // Exactly as Tandem has it: nothing changes, approving switches.
    const same = d((p) => window.dapp.raw({ method: 'wallet_addEthereumChain', params: p }), params('Second anvil', anvil2.url));
    let a = await pendingApproval(browser, 'add_chain');
    let win = await windowOf(a.id);
    assert.match(await shown(win, 'chain-unchanged'), /nothing changes/);
    assert.equal(await shown(win, 'approval-approve'), 'Switch');
    await answer(browser, 'add_chain', true);
    assert.equal((await same).error, undefined);
    let net = (await browser.ui('state')).network;
    assert.deepEqual([net.chainId, net.name, net.rpcUrl], [1338, 'Second anvil', anvil2.url]);
    await browser.ui('networks.select', { chainId: 31337 });

    // Another name (same node, another spelling of its URL): old -> new shown, then stored.
    const rpc2 = anvil2.url.replace('127.0.0.1', 'localhost');
    const changed = d((p) => window.dapp.raw({ method: 'wallet_addEthereumChain', params: p }), params('Renamed anvil', rpc2));
    a = await pendingApproval(browser, 'add_chain');
    win = await windowOf(a.id);
    assert.equal(await shown(win, 'chain-change-name'), 'Second anvil → Renamed anvil');
    assert.equal(await shown(win, 'chain-change-rpcUrl'), `${anvil2.url} → ${rpc2}`);
    assert.equal(await win.getByTestId('chain-change-symbol').count(), 0);
    assert.equal(await shown(win, 'approval-approve'), 'Update network');
    assert.equal(await shown(win, 'approval-kind'), 'Change a network?');
    await answer(browser, 'add_chain', true);
    assert.equal((await changed).error, undefined);
    net = (await browser.ui('state')).network;
    assert.deepEqual([net.chainId, net.name, net.rpcUrl], [1338, 'Renamed anvil', rpc2]);
    // The dapp reads through the RPC it was shown.
    assert.equal((await d(() => window.dapp.raw({ method: 'eth_chainId' }))).result, '0x53a');
  });
});
