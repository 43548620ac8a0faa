// End to end: real headless Chromium with the built extension, real anvil, and
// a viem dapp that finds Tandem by EIP-6963. Run: node --test tests/e2e/provider.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { verifyMessage, verifyTypedData, getAddress } from 'viem';
import { verifyMessage as ethersVerify } from 'ethers';
import {
  clickClosing,
  launch,
  startAnvil,
  startDapp,
  openDapp,
  jsonRpc,
  until,
  pendingApproval,
  ANVIL_MNEMONIC,
  ANVIL_ACCOUNT_0 as A0,
  ANVIL_ACCOUNT_1 as A1,
  PASSWORD,
  RDNS,
} from './lib/index.mjs';
import { answer } from './lib/approve.mjs';
import { onboardImport } from './lib/onboard.mjs';
import { startLyingRpc } from './lib/lying-rpc.mjs';

// The EIP-712 specification's example (eips.ethereum.org/EIPS/eip-712), on anvil's chain.
const MAIL = {
  domain: { name: 'Ether Mail', version: '1', chainId: 31337, verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' },
  types: {
    Person: [
      { name: 'name', type: 'string' },
      { name: 'wallet', type: 'address' },
    ],
    Mail: [
      { name: 'from', type: 'Person' },
      { name: 'to', type: 'Person' },
      { name: 'contents', type: 'string' },
    ],
  },
  primaryType: 'Mail',
  message: {
    from: { name: 'Cow', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' },
    to: { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' },
    contents: 'Hello, Bob!',
  },
};

describe('Tandem extension with a viem dapp on anvil', { timeout: 300_000 }, () => {
  let browser, anvil, anvil2, dapp, page;
  const d = (fn, ...args) => page.evaluate(fn, ...args);
  /** How many requests for `method` the activity log has as not approved. */
  const refusals = async (method) =>
    (await browser.ui('audit.view')).entries.filter((e) => e.happened.kind === 'sign' && e.happened.method === method && e.happened.approved === false).length;

  before(async () => {
    [anvil, anvil2, dapp] = await Promise.all([startAnvil(), startAnvil({ chainId: 1338 }), startDapp()]);
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await Promise.all([anvil?.stop(), anvil2?.stop(), dapp?.close()]);
  });

  it('announces itself by EIP-6963 and sets window.ethereum when free', async () => {
    ({ page } = await openDapp(browser, dapp.url));
    const announced = await d(() => window.dapp.announced());
    const t = announced.find((x) => x.rdns === RDNS);
    assert.ok(t, 'Tandem announced');
    assert.equal(t.name, 'Tandem');
    assert.match(t.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.match(t.icon, /^data:image\/svg\+xml;base64,/);
    assert.equal(await d(() => window.ethereum?.isTandem), true);
    // Before onboarding, asking for accounts says the wallet is not set up (4900).
    assert.equal((await d(() => window.dapp.connect())).error.code, 4900);
  });

  it('leaves window.ethereum to another wallet unless the setting says to take it', async () => {
    const other = await browser.context.newPage();
    await other.addInitScript(() => {
      Object.defineProperty(window, 'ethereum', { value: { isOther: true }, configurable: true, writable: true });
    });
    await other.goto(`${dapp.url}/index.html`);
    await other.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
    assert.equal(await other.evaluate(() => window.ethereum.isOther === true && window.tandem.isTandem), true);
    assert.ok((await other.evaluate(() => window.dapp.announced())).some((x) => x.rdns === RDNS), 'still found by EIP-6963');
    await browser.ui('settings.set', { ownWindowEthereum: true });
    await other.reload();
    await until(() => other.evaluate(() => window.ethereum?.isTandem === true), 'Tandem to take window.ethereum');
    await browser.ui('settings.set', { ownWindowEthereum: false });
    await other.close();
  });

  it('onboards by importing a recovery phrase and uses the local anvil', async () => {
    const state = await onboardImport(browser, ANVIL_MNEMONIC, PASSWORD);
    assert.equal(state.initialized, true);
    assert.equal(state.unlocked, true);
    assert.equal(state.accounts[0].address, A0);
    await browser.ui('networks.upsert', { chainId: 31337, name: 'Anvil', rpcUrl: anvil.url, symbol: 'ETH' });
    const s = await browser.ui('networks.select', { chainId: 31337 });
    assert.equal(s.network.rpcUrl, anvil.url);
    await until(async () => (await d(() => window.dapp.chainId())).result === 31337, 'dapp sees chain 31337');
    // Nothing secret at rest in local storage (which content scripts can read):
    // not the password, not the phrase, not the session key; the vault is there.
    const local = JSON.stringify(await browser.ext.evaluate(() => chrome.storage.local.get(null)));
    const { 'tandem.sessionKey': sessionKey } = await browser.ext.evaluate(() => chrome.storage.session.get('tandem.sessionKey'));
    assert.ok(sessionKey && sessionKey.length >= 40, 'the session key lives in session storage');
    assert.ok(!local.includes(PASSWORD), 'no password');
    assert.ok(!local.includes('test test test'), 'no recovery phrase');
    assert.ok(!local.includes(sessionKey), 'no session key');
    assert.match(local, /tandem-vault/);
  });

  it('connects after the user approves, and only then reveals the account', async () => {
    assert.deepEqual((await d(() => window.dapp.addresses())).result, []);
    const pending = d(() => window.dapp.connect());
    const a = await answer(browser, 'connect', true);
    assert.equal(a.origin, new URL(dapp.url).origin, 'origin from the browser');
    const r = await pending;
    assert.deepEqual(r.result, [A0]);
    await until(
      async () => (await d(() => window.dapp.events())).some((e) => e.ev === 'accountsChanged' && e.arg[0]?.toLowerCase() === A0.toLowerCase()),
      'accountsChanged event',
    );
    const perms = (await d(() => window.dapp.permissions())).result;
    assert.equal(perms[0].parentCapability, 'eth_accounts');
  });

  it('a rejected signature request fails with 4001', async () => {
    const pending = d((a) => window.dapp.signMessage(a, 'please reject me'), A0);
    await answer(browser, 'personal_sign', false);
    assert.equal((await pending).error.code, 4001);
  });

  it('personal_sign returns a signature viem verifies', async () => {
    const message = 'Sign in to the test dapp, nonce 8412';
    const pending = d(([a, m]) => window.dapp.signMessage(a, m), [A0, message]);
    const a = await answer(browser, 'personal_sign', true);
    assert.equal(a.display.text, message);
    const { result: signature } = await pending;
    assert.match(signature, /^0x[0-9a-f]{130}$/);
    assert.equal(await verifyMessage({ address: A0, message, signature }), true);
    assert.equal(await verifyMessage({ address: A1, message, signature }), false);
  });

  it('ethers v6 (BrowserProvider) signs through the same provider', async () => {
    const message = 'hello from ethers';
    const pending = d((m) => window.dapp.ethersSign(m), message);
    await answer(browser, 'personal_sign', true);
    const { result } = await pending;
    assert.equal(result.address, A0);
    assert.equal(ethersVerify(message, result.signature), A0);
  });

  it('eth_signTypedData_v4 is shown decoded and verifies with viem', async () => {
    const pending = d(([a, t]) => window.dapp.signTypedData(a, t), [A0, MAIL]);
    const a = await answer(browser, 'typed_data', true);
    assert.equal(a.display.primaryType, 'Mail');
    assert.equal(a.display.message.contents, 'Hello, Bob!');
    const { result: signature } = await pending;
    assert.equal(await verifyTypedData({ address: A0, ...MAIL, signature }), true);
  });

  it('personal_sign in the [address, message] order many dapps send, and eth_signTypedData_v3, verify with viem', async () => {
    const message = 'address first, as some dapps send it';
    const hex = `0x${Buffer.from(message).toString('hex')}`;
    const pending = d(([a, h]) => window.dapp.raw({ method: 'personal_sign', params: [a, h] }), [A0, hex]);
    const a = await answer(browser, 'personal_sign', true);
    assert.equal(a.display.text, message);
    const { result: signature } = await pending;
    assert.equal(await verifyMessage({ address: A0, message, signature }), true);
    // Version 3 of the same EIP-712 example (no arrays: it hashes as version 4 does).
    const v3 = {
      ...MAIL,
      types: {
        EIP712Domain: [
          { name: 'name', type: 'string' },
          { name: 'version', type: 'string' },
          { name: 'chainId', type: 'uint256' },
          { name: 'verifyingContract', type: 'address' },
        ],
        ...MAIL.types,
      },
    };
    const typed = d(([a, t]) => window.dapp.raw({ method: 'eth_signTypedData_v3', params: [a, t] }), [A0, JSON.stringify(v3)]);
    await answer(browser, 'typed_data', true);
    const { result: sig3 } = await typed;
    assert.equal(await verifyTypedData({ address: A0, ...MAIL, signature: sig3 }), true);
    // Version 1 is refused with 4200 and the reason.
    const v1 = await d((a) => window.dapp.raw({ method: 'eth_signTypedData_v1', params: [[{ type: 'string', name: 'm', value: 'hi' }], a] }), A0);
    assert.equal(v1.error.code, 4200);
    assert.match(v1.error.message, /the site should use eth_signTypedData_v4/);
  });

  it('a dapp writing the legacy autoRefreshOnNetworkChange setting does not throw (strict mode)', async () => {
    const r = await d(() => {
      'use strict';
      window.tandem.autoRefreshOnNetworkChange = false;
      return window.tandem.autoRefreshOnNetworkChange;
    });
    assert.equal(r, false);
  });

  it('a transfer is filled from the node, signed in wasm, mined on anvil, and tracked', async () => {
    const before0 = BigInt(await jsonRpc(anvil.url, 'eth_getBalance', [A0, 'latest']));
    const before1 = BigInt(await jsonRpc(anvil.url, 'eth_getBalance', [A1, 'latest']));
    const value = 10n ** 18n;
    const pending = d(([a, to, v]) => window.dapp.sendTransaction(a, 31337, to, v), [A0, A1, value.toString()]);
    const a = await answer(browser, 'transaction', true);
    assert.equal(a.display.gas, '0x5208');
    assert.ok(a.display.maxFeePerGas, 'EIP-1559 fees filled');
    const r = await pending;
    assert.ok(r.result, JSON.stringify(r.error));
    const receipt = await until(() => jsonRpc(anvil.url, 'eth_getTransactionReceipt', [r.result]), 'receipt');
    assert.equal(receipt.status, '0x1');
    assert.equal(getAddress(receipt.from), A0);
    assert.equal(BigInt(await jsonRpc(anvil.url, 'eth_getBalance', [A1, 'latest'])), before1 + value);
    const activity = await until(async () => {
      const list = await browser.ui('activity');
      return list.find((x) => x.hash === r.result && x.status === 'confirmed') && list;
    }, 'activity to show the transaction confirmed');
    assert.equal(activity[0].hash, r.result);
    const p = await browser.ui('portfolio.refresh');
    const spent = before0 - BigInt(p.native.balance);
    assert.ok(spent > value && spent < value + 10n ** 16n, `balance fell by the value plus gas (${spent})`);
    assert.equal((await browser.ui('portfolio')).native.balance, p.native.balance, 'cached for the popup');
    {
      // The popup shows the new balance and the transaction as confirmed.
      const popup = await browser.context.newPage();
      await popup.goto(browser.url('extension/popup.html'));
      const expected = Number(BigInt(p.native.balance) / 10n ** 12n) / 1e6;
      await until(async () => {
        const t = (await popup.getByTestId('native-balance').textContent()) ?? '';
        const shown = Number(t.replace(/[^0-9.]/g, ''));
        return Math.abs(shown - expected) < 0.001;
      }, `the popup to show about ${expected} ETH`);
      await popup.getByTestId('tab-activity').click();
      const status = popup.getByTestId(`activity-status-${r.result}`);
      await until(async () => /confirm/i.test((await status.textContent()) ?? ''), 'the popup activity row to say confirmed');
      await popup.close();
    }
  });

  it('closing the approval window rejects the request with 4001', async () => {
    const pending = d((a) => window.dapp.signMessage(a, 'window will close'), A0);
    const a = await pendingApproval(browser, 'personal_sign');
    const win = await until(() => browser.context.pages().find((p) => p.url().endsWith(`approval.html?id=${a.id}`)), 'approval window');
    await win.close();
    assert.equal((await pending).error.code, 4001);
  });

  it('fees edited in the approval window are the ones signed and mined', async () => {
    const pending = d(([a, to]) => window.dapp.sendTransaction(a, 31337, to, '1000'), [A0, A1]);
    const a = await pendingApproval(browser, 'transaction');
    const win = await until(() => browser.context.pages().find((p) => p.url().endsWith(`approval.html?id=${a.id}`)), 'approval window');
    await win.getByTestId('tx-gas-input').waitFor({ state: 'visible', timeout: 15_000 });
    await win.getByTestId('tx-gas-input').fill('30000');
    await win.getByTestId('tx-priority-input').fill('2');
    await clickClosing(win.getByTestId('approval-approve'));
    const r = await pending;
    assert.ok(r.result, JSON.stringify(r.error));
    const tx = await until(() => jsonRpc(anvil.url, 'eth_getTransactionByHash', [r.result]), 'the transaction on anvil');
    assert.equal(BigInt(tx.gas), 30000n);
    assert.equal(BigInt(tx.maxPriorityFeePerGas), 2n * 10n ** 9n);
    assert.equal(tx.type, '0x2');
  });

  it("closing the dapp's tab withdraws its pending request and closes the approval window", async () => {
    const { page: tab } = await openDapp(browser, dapp.url);
    tab.evaluate((a) => window.dapp.signMessage(a, 'tab will close'), A0).catch(() => {});
    const a = await pendingApproval(browser, 'personal_sign');
    await until(() => browser.context.pages().find((p) => p.url().endsWith(`approval.html?id=${a.id}`)), 'approval window');
    await tab.close();
    await until(async () => !(await browser.ui('approvals.list')).some((x) => x.id === a.id), 'the approval to be withdrawn');
    await until(() => !browser.context.pages().some((p) => p.url().endsWith(`approval.html?id=${a.id}`)), 'the approval window to close');
  });

  it('wallet_watchAsset adds an ERC-20 whose balance the popup shows', async () => {
    // A minimal contract whose every call returns 1234.5e18: enough for balanceOf.
    const token = '0x1000000000000000000000000000000000000001';
    const amount = 12345n * 10n ** 17n;
    const code = '0x7f' + amount.toString(16).padStart(64, '0') + '60005260206000f3';
    await jsonRpc(anvil.url, 'anvil_setCode', [token, code]);
    const pending = d((addr) => window.dapp.raw({ method: 'wallet_watchAsset', params: { type: 'ERC20', options: { address: addr, symbol: 'TKN', decimals: 18 } } }), token);
    // The window names the network the token is added on.
    const asked = await pendingApproval(browser, 'watch_asset');
    const win = await until(() => browser.context.pages().find((p) => p.url().endsWith(`approval.html?id=${asked.id}`)), 'the approval window');
    await win.getByTestId('approval-chain').waitFor({ timeout: 15_000 });
    assert.match(await win.getByTestId('approval-chain').textContent(), / · chain 31337 · ETH$/);
    await answer(browser, 'watch_asset', true);
    assert.equal((await pending).result, true);
    const state = await browser.ui('state');
    assert.ok(state.assets.some((x) => x.address.toLowerCase() === token && x.symbol === 'TKN'));
    const p = await browser.ui('portfolio.refresh');
    assert.equal(BigInt(p.tokens.find((x) => x.symbol === 'TKN').balance), amount);
    {
      const popup = await browser.context.newPage();
      await popup.goto(browser.url('extension/popup.html'));
      await until(async () => /1,?234\.5/.test((await popup.getByTestId('token-balance-TKN').textContent()) ?? ''), 'the popup to show 1234.5 TKN');
      await popup.close();
    }
  });

  it("token.info reads a token's symbol() and decimals() from the chain; assets.add keeps what the page decoded", async () => {
    // Hand-assembled ERC-20 stand-in: decimals() -> 6, symbol() -> "USDX",
    // anything else (balanceOf) -> 2500.25 USDX.
    const amount = 2_500_250_000n;
    const word = (hex) => hex.padStart(64, '0');
    const head = ['600035', '60e01c', '80', '63313ce567', '14', '60__dec', '57', '80', '6395d89b41', '14', '60__sym', '57',
      '7f' + word(amount.toString(16)), '600052', '60206000f3'];
    const dec = ['5b', '6006600052', '60206000f3'];
    const sym = ['5b', '6020600052', '6004602052', '7f' + Buffer.from('USDX').toString('hex').padEnd(64, '0'), '604052', '60606000f3'];
    const len = (xs) => xs.join('').replace(/__(dec|sym)/g, 'xx').length / 2;
    const hx = (n) => n.toString(16).padStart(2, '0');
    const code = '0x' + [...head, ...dec, ...sym].join('')
      .replace('__dec', hx(len(head)))
      .replace('__sym', hx(len(head) + len(dec)));
    const token = '0x2000000000000000000000000000000000000002';
    await jsonRpc(anvil.url, 'anvil_setCode', [token, code]);
    // Decoded by the extra module (crates/wallet/src/token.rs), not by the page.
    const info = await browser.ui('token.info', { chainId: 31337, address: token });
    assert.deepEqual(info, { chainId: 31337, address: token, symbol: 'USDX', decimals: 6 });
    // An address without code: nothing readable, said as null.
    const none = await browser.ui('token.info', { chainId: 31337, address: '0x2000000000000000000000000000000000000003' });
    assert.deepEqual({ symbol: none.symbol, decimals: none.decimals }, { symbol: null, decimals: null });
    await assert.rejects(browser.ui('token.info', { chainId: 31337, address: '0x2000' }), /40 hex/);
    await assert.rejects(browser.ui('token.info', { chainId: 5, address: token }), /no network 5/);
    await assert.rejects(browser.ui('assets.add', { address: token }), /symbol must be a string/);
    const state = await browser.ui('assets.add', { address: token, symbol: 'USDX', decimals: 6 });
    const added = state.assets.find((x) => x.address.toLowerCase() === token);
    assert.deepEqual({ symbol: added.symbol, decimals: added.decimals }, { symbol: 'USDX', decimals: 6 });
    const p = await browser.ui('portfolio.refresh');
    assert.equal(BigInt(p.tokens.find((x) => x.symbol === 'USDX').balance), amount);
    const after = await browser.ui('assets.remove', { address: token });
    assert.ok(!after.assets.some((x) => x.address.toLowerCase() === token));
  });

  it('a transaction the node refuses to estimate is answered with the node error, not shown for signing', async () => {
    const reverter = '0x4000000000000000000000000000000000000004';
    await jsonRpc(anvil.url, 'anvil_setCode', [reverter, '0x60006000fd']); // REVERT(0, 0)
    const logged = await refusals('eth_sendTransaction');
    const r = await d(([a, to]) => window.dapp.raw({ method: 'eth_sendTransaction', params: [{ from: a, to, data: '0x12345678' }] }), [A0, reverter]);
    assert.ok(r.error, JSON.stringify(r));
    assert.match(r.error.message, /revert/i);
    // Recorded as every answer is: the activity log has the refusal.
    await until(async () => (await refusals('eth_sendTransaction')) === logged + 1, 'the refusal in the activity log', 20_000);
    assert.deepEqual((await browser.ui('approvals.list')).filter((x) => x.kind === 'transaction'), []);
    await until(() => !browser.context.pages().some((p) => p.url().includes('approval.html')), 'the approval window to close');
  });

  it('switches chain after approval and emits chainChanged', async () => {
    const pending = d(() => window.dapp.switchChain(1));
    await answer(browser, 'switch_chain', true);
    assert.equal((await pending).error, undefined);
    assert.equal((await d(() => window.dapp.raw({ method: 'eth_chainId' }))).result, '0x1');
    await until(async () => (await d(() => window.dapp.events())).some((e) => e.ev === 'chainChanged' && e.arg === '0x1'), 'chainChanged 0x1');
    // An unknown chain is 4902, as EIP-3326 wallets answer.
    assert.equal((await d(() => window.dapp.raw({ method: 'wallet_switchEthereumChain', params: [{ chainId: '0x12345' }] }))).error.code, 4902);
    const back = d(() => window.dapp.switchChain(31337));
    await answer(browser, 'switch_chain', true);
    assert.equal((await back).error, undefined);
  });

  it('adds a chain after approval and proxies reads to its RPC', async () => {
    const pending = d(([u]) => window.dapp.addChain(1338, 'Second anvil', u), [anvil2.url]);
    const a = await answer(browser, 'add_chain', true);
    assert.equal(a.display.network.rpcUrl, anvil2.url);
    assert.equal((await pending).error, undefined);
    assert.equal((await d(() => window.dapp.raw({ method: 'eth_chainId' }))).result, '0x53a');
    const block = await d(() => window.dapp.raw({ method: 'eth_blockNumber' }));
    assert.equal(block.result, await jsonRpc(anvil2.url, 'eth_blockNumber'));
    const state = await browser.ui('state');
    assert.ok(state.networks.some((n) => n.chainId === 1338 && !n.builtin));
    await browser.ui('networks.select', { chainId: 31337 });
    await until(async () => (await d(() => window.dapp.raw({ method: 'eth_chainId' }))).result === '0x7a69', 'back on anvil');
  });

  it("an unreachable RPC's URL, API key included, never reaches the page", async () => {
    const key = '/v3/SECRETAPIKEY0123456789';
    const add = (u) =>
      d(
        ([u]) =>
          window.dapp.raw({
            method: 'wallet_addEthereumChain',
            params: [{ chainId: '0x53b', chainName: 'Keyed RPC', rpcUrls: [u], nativeCurrency: { name: 'E', symbol: 'ETH', decimals: 18 } }],
          }),
        [u],
      );
    // Unreachable when added (port 1 on loopback: refused at once): the
    // request is refused without the URL.
    const refused = await add(`http://127.0.0.1:1${key}`);
    assert.match(refused.error.message, /did not answer eth_chainId/);
    assert.ok(!refused.error.message.includes('SECRETAPIKEY'), refused.error.message);
    // Reachable when added (a keyed URL in front of a real chain 1339), gone later.
    const node = await startAnvil({ chainId: 1339 });
    const keyed = await startLyingRpc(node.url);
    const pending = add(keyed.url + key);
    await answer(browser, 'add_chain', true);
    assert.equal((await pending).error, undefined);
    await until(async () => (await d(() => window.dapp.raw({ method: 'eth_chainId' }))).result === '0x53b', 'on the keyed RPC');
    await keyed.close();
    await node.stop();
    const r = await d(() => window.dapp.raw({ method: 'eth_blockNumber' }));
    assert.equal(r.error.code, 4901);
    assert.match(r.error.message, /could not reach the network's RPC/);
    assert.ok(!r.error.message.includes('SECRETAPIKEY') && !r.error.message.includes(keyed.url), r.error.message);
    await browser.ui('networks.select', { chainId: 31337 });
    await until(async () => (await d(() => window.dapp.raw({ method: 'eth_chainId' }))).result === '0x7a69', 'back on anvil');
  });

  it('answers malformed requests with specific errors and keeps working', async () => {
    const raw = (args) => d((a) => window.dapp.raw(a), args);
    assert.equal((await d(() => window.dapp.raw('eth_chainId'))).error.code, -32600);
    assert.equal((await raw({})).error.code, -32600);
    assert.equal((await raw({ method: 42 })).error.code, -32600);
    assert.equal((await raw({ method: 'eth_chainId', params: 'x' })).error.code, -32602);
    assert.equal((await raw({ method: 'no_suchMethod' })).error.code, 4200);
    // What was wrong is named, from the built core module (which formats
    // no `Debug`: scripts/build): the method, the field, the two types.
    assert.match((await raw({ method: 'no_suchMethod' })).error.message, /`no_suchMethod`/);
    const unknownField = await raw({ method: 'wallet_addEthereumChain', params: [{ chainId: '0x99', chainName: 'x', rpcUrls: ['https://rpc.example'], nativeCurrency: { name: 'x', symbol: 'X', decimals: 18 }, colour: 'red' }] });
    assert.equal(unknownField.error.code, -32602);
    assert.match(unknownField.error.message, /unknown field `colour`/);
    const mistyped = JSON.stringify({ types: { EIP712Domain: [{ name: 'name', type: 'string' }], M: [{ name: 'x', type: 'uint256' }] }, primaryType: 'M', domain: { name: 'd' }, message: { x: [1] } });
    const typeError = await raw({ method: 'eth_signTypedData_v4', params: [A0, mistyped] });
    assert.equal(typeError.error.code, -32602);
    assert.match(typeError.error.message, /expected type `uint256`/);
    assert.equal((await raw({ method: 'eth_sign', params: [A0, '0xdead'] })).error.code, 4200);
    assert.equal((await raw({ method: 'personal_sign', params: [] })).error.code, -32602);
    assert.equal((await raw({ method: 'eth_sendTransaction', params: [{ from: A0, to: '0x1234' }] })).error.code, -32602);
    assert.equal((await raw({ method: 'eth_signTypedData_v4', params: [A0, '{"types":'] })).error.code, -32602);
    assert.equal((await raw({ method: 'wallet_addEthereumChain', params: [{ chainId: '0x99', chainName: 'x', rpcUrls: ['http://evil.example'], nativeCurrency: { name: 'x', symbol: 'X', decimals: 18 } }] })).error.code, -32602);
    const big = await d(() => window.dapp.raw({ method: 'eth_call', params: ['x'.repeat(600 * 1024)] }));
    assert.equal(big.error.code, -32600);
    const deep = await d(() => {
      let p = [];
      for (let i = 0; i < 5000; i++) p = [p];
      return window.dapp.raw({ method: 'personal_sign', params: p });
    });
    assert.ok(deep.error, 'deeply nested params are refused');
    // A page cannot choose its origin: a spoofed field is ignored.
    // Legacy sendAsync (web3.js 1.x) reaches the same provider.
    const legacy = await d(() => new Promise((resolve) => window.tandem.sendAsync({ id: 9, jsonrpc: '2.0', method: 'eth_chainId' }, (e, r) => resolve({ e: e?.code ?? null, r }))));
    assert.deepEqual(legacy, { e: null, r: { id: 9, jsonrpc: '2.0', result: '0x7a69' } });
    const spoof = await raw({ method: 'eth_accounts', origin: 'https://other.example' });
    assert.deepEqual(spoof.result, [A0.toLowerCase()]);
    // Bad input from a UI page gets a specific error kind, never a dead worker.
    const uiBad = [
      ['no.such.method', {}, 'UnknownMethod'],
      ['unlock', { password: 42 }, 'InvalidInput'],
      ['accounts.rename', { address: 'nope', name: 'x' }, 'InvalidInput'],
      ['accounts.rename', { address: A0, name: '' }, 'InvalidInput'],
      ['networks.upsert', { chainId: 5, name: 'x', rpcUrl: 'http://evil.example', symbol: 'X' }, 'InvalidInput'],
      ['networks.remove', { chainId: 1 }, 'InvalidInput'],
      ['networks.select', { chainId: 'abc' }, 'UnknownChain'],
      ['settings.set', { autoLockMinutes: 'soon' }, 'InvalidInput'],
      ['settings.set', { autoLockMinutes: 0 }, 'InvalidInput'],
      ['approvals.resolve', { id: 999999, approve: true }, 'NoSuchApproval'],
      ['onboard.import', { phrase: ANVIL_MNEMONIC, password: 'x' }, 'AlreadyInitialized'],
    ];
    for (const [method, params, kind] of uiBad) {
      await assert.rejects(browser.ui(method, params), (e) => e.kind === kind, `${method} ${JSON.stringify(params)} -> ${kind}`);
    }
    assert.equal((await raw({ method: 'eth_chainId' })).result, '0x7a69', 'the worker survived');
    // A network is saved only when its RPC answers its chain id. This node's
    // port is held by a socket that drops every connection (held, so no other
    // process can take it while the test runs).
    const dead = net.createServer((socket) => socket.destroy());
    await new Promise((resolve) => dead.listen(0, '127.0.0.1', resolve));
    await assert.rejects(
      browser.ui('networks.upsert', { chainId: 31337, name: 'Anvil', rpcUrl: `http://127.0.0.1:${dead.address().port}`, symbol: 'ETH' }),
      (e) => e.kind === 'InvalidInput' && /did not answer eth_chainId/.test(e.message),
    );
    await new Promise((resolve) => dead.close(resolve));
    // A node that goes away later is 4901 (chain disconnected), not a crash.
    const gone = await startAnvil();
    await browser.ui('networks.upsert', { chainId: 31337, name: 'Anvil', rpcUrl: gone.url, symbol: 'ETH' });
    await gone.stop();
    assert.equal((await raw({ method: 'eth_blockNumber' })).error.code, 4901);
    await browser.ui('networks.upsert', { chainId: 31337, name: 'Anvil', rpcUrl: anvil.url, symbol: 'ETH' });
    assert.ok((await raw({ method: 'eth_blockNumber' })).result);
  });

  it('after the worker is killed, the next request is answered without unlocking, and a pending approval survives', async () => {
    await browser.killWorker();
    // A burst of requests that wakes the worker: all are queued until the wasm
    // core is loaded, none is dropped, and no password is asked for.
    const burst = await d(() =>
      Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          window.dapp.raw({ method: i % 2 ? 'eth_accounts' : 'eth_chainId' }),
        ),
      ),
    );
    burst.forEach((r, i) => assert.deepEqual(r.result, i % 2 ? [A0.toLowerCase()] : '0x7a69', `request ${i}`));
    assert.equal((await browser.ui('state')).unlocked, true);
    // Kill it again while a signature request waits for the user.
    const message = 'signed across a worker restart';
    const pending = d(([a, m]) => window.dapp.signMessage(a, m), [A0, message]);
    await pendingApproval(browser, 'personal_sign');
    await browser.killWorker();
    await answer(browser, 'personal_sign', true);
    const res = await pending;
    assert.ok(res.result, `signature after restart: ${JSON.stringify(res.error)}`);
    const signature = res.result;
    assert.equal(await verifyMessage({ address: A0, message, signature }), true);
  });

  /** Stores a session whose last activity was at `t`, with the worker
   *  stopped (a running one could store its own over it), from an extension
   *  page that runs none of the wallet's scripts. Something may start the
   *  worker between the kill and the write (its 30 s alarm): it is stopped
   *  again after the write, and the whole is done again until the planted
   *  session is what is stored. */
  async function plantLastActive(t) {
    const page = await browser.context.newPage();
    await page.goto(browser.url('extension/icons/icon-16.png'));
    await until(async () => {
      await browser.killWorker();
      await page.evaluate(async (at) => {
        const { 'tandem.session': json } = await chrome.storage.session.get('tandem.session');
        const session = JSON.parse(json);
        session.lock.lastActive = at;
        await chrome.storage.session.set({ 'tandem.session': JSON.stringify(session) });
      }, t);
      await browser.killWorker();
      const { 'tandem.session': json } = await page.evaluate(() => chrome.storage.session.get('tandem.session'));
      return JSON.parse(json).lock.lastActive === t;
    }, 'the planted session stored with the worker stopped', 30_000, 0);
    await page.close();
  }

  it('auto-lock applies across a worker restart', async () => {
    // Pretend the last activity was 20 minutes ago (the default window is
    // 15), written with the worker stopped (a running worker could store
    // its own session over it) from an extension page that runs none of the
    // wallet's scripts. Something may start the worker between the kill and
    // the write (its 30 s alarm): it is stopped again after the write, and
    // the whole is done again until the planted session is what is stored.
    await plantLastActive(Date.now() - 20 * 60_000);
    assert.deepEqual((await d(() => window.dapp.raw({ method: 'eth_accounts' }))).result, []);
    const state = await browser.ui('state');
    assert.equal(state.unlocked, false);
    const key = await browser.ext.evaluate(() => chrome.storage.session.get('tandem.sessionKey'));
    assert.deepEqual(key, {}, 'the session key is gone');
    await browser.ui('unlock', { password: PASSWORD });
  });

  it('locking hides the accounts; unlocking with the password restores them', async () => {
    await browser.ui('lock');
    assert.deepEqual((await d(() => window.dapp.raw({ method: 'eth_accounts' }))).result, []);
    await until(async () => (await d(() => window.dapp.events())).some((e) => e.ev === 'accountsChanged' && e.arg.length === 0), 'accountsChanged []');
    await assert.rejects(browser.ui('unlock', { password: 'wrong password' }), (e) => e.kind === 'WrongPassword');
    // The dapp asks for accounts while locked: the approval window unlocks first.
    const pending = d(() => window.dapp.connect());
    const a = await pendingApproval(browser, 'connect');
    const win = await until(() => browser.context.pages().find((p) => p.url().endsWith(`approval.html?id=${a.id}`)), 'approval window');
    await win.getByTestId('unlock-password-input').fill(PASSWORD);
    await win.getByTestId('unlock-submit').click();
    await clickClosing(win.getByTestId('approval-approve'));
    assert.deepEqual((await pending).result, [A0]);
    assert.equal((await browser.ui('state')).unlocked, true);
    assert.deepEqual((await d(() => window.dapp.raw({ method: 'eth_accounts' }))).result, [A0.toLowerCase()]);
  });

  it('locking rejects what waits: the page gets 4001 saying so, and its window closes', async () => {
    // Raw EIP-1193, so the wallet's own error message reaches the test.
    const pending = d((a) => window.dapp.raw({ method: 'personal_sign', params: ['0x6c6f636b', a] }), A0);
    const a = await pendingApproval(browser, 'personal_sign');
    const open = () => browser.context.pages().some((p) => p.url().endsWith(`approval.html?id=${a.id}`));
    await until(open, 'the approval window');
    await browser.ui('lock');
    const res = await pending;
    assert.equal(res.error?.code, 4001, JSON.stringify(res));
    assert.match(res.error.message, /locked/);
    await until(() => !open(), 'the approval window to close');
    assert.deepEqual(await browser.ui('approvals.list'), []);
    await browser.ui('unlock', { password: PASSWORD });
  });

  it('an approval window closed unanswered does not put off auto-lock (nor does its loading)', async () => {
    // 10 of the 15 minutes have passed; nothing below is the user's activity.
    const planted = Date.now() - 10 * 60_000;
    await plantLastActive(planted);
    const next = browser.nextApproval();
    const pending = d(([a, m]) => window.dapp.signMessage(a, m), [A0, 'closed unanswered']);
    const win = await next;
    await win.getByTestId('approval-approve').waitFor(); // loaded: its calls are made
    await win.close();
    assert.equal((await pending).error?.code, 4001);
    const lastActive = await browser.ext.evaluate(async () => {
      const { 'tandem.session': json } = await chrome.storage.session.get('tandem.session');
      return JSON.parse(json).lock.lastActive;
    });
    assert.equal(lastActive, planted, 'the auto-lock clock did not move');
  });

  it('revoking permissions disconnects the site', async () => {
    assert.equal((await d(() => window.dapp.revoke())).error, undefined);
    assert.deepEqual((await d(() => window.dapp.addresses())).result, []);
    assert.deepEqual((await d(() => window.dapp.permissions())).result, []);
    assert.equal((await d((a) => window.dapp.raw({ method: 'personal_sign', params: ['0x00', a] }), A0)).error.code, 4100);
    assert.equal((await browser.ui('state')).sites.length, 0);
  });

  it('unreadable stored state does not brick the wallet: it falls back to defaults, keys untouched', async () => {
    await browser.ext.evaluate(() => chrome.storage.local.set({ 'tandem.state': '{"version": 1, "accounts": [' }));
    await browser.killWorker();
    const state = await browser.ui('state');
    assert.equal(state.initialized, true);
    assert.equal(state.unlocked, true, 'the session key still opens the vault');
    assert.equal(state.accounts[0].address, A0, 'accounts come back from the keyring');
    assert.equal(state.network.chainId, 1, 'networks reset to the defaults');
  });

  it('when the extension is reloaded, the orphaned page provider emits disconnect and answers 4900', async () => {
    await browser.ext.evaluate(() => chrome.runtime.reload()).catch(() => {});
    const r = await until(async () => {
      const x = await d(() => window.dapp.raw({ method: 'eth_chainId' }));
      return x.error?.code === 4900 && x;
    }, 'a 4900 answer from the orphaned provider');
    assert.equal(r.error.code, 4900);
    assert.ok((await d(() => window.dapp.events())).some((e) => e.ev === 'disconnect' && e.arg.code === 4900));
  });
});
