// Confirm on phone, for real: the extension in one Chromium, the phone app
// (served by the relay binary at /app/) in another with mobile emulation,
// paired through the relay on 127.0.0.1, anvil as the chain and the viem
// test dapp. For each rule of the phone's default policy (a new site's
// connection, a transaction above 0.1 ETH, an unlimited token approval, a
// signed permit, adding a network) the desktop's Approve does not sign: the
// approval window says "Confirm on your phone", the phone shows the request
// decoded, and only the phone's Approve lets the signature or transaction
// through; its Reject, the desktop's Cancel and the timeout give the dapp
// 4001. Run: node --test tests/e2e/confirm.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { getAddress, verifyTypedData } from 'viem';
import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync } from '@scure/bip39';
import {
  launch,
  openPopup,
  openDapp,
  startAnvil,
  startDapp,
  jsonRpc,
  until,
  ROOT,
  ANVIL_MNEMONIC,
  ANVIL_ACCOUNT_0 as A0,
  ANVIL_ACCOUNT_1 as A1,
  PASSWORD,
} from './lib/index.mjs';
import { onboardImport } from './lib/onboard.mjs';
import { answer } from './lib/approve.mjs';
import { startRelay } from './lib/devices.mjs';
import { pairPhone, approveOnDesktop as desktopApproves, onPhone as phoneAnswers } from './lib/confirm.mjs';
import { findSecrets, relayFiles } from './lib/secrets.mjs';
import { PERMIT_TYPES } from './lib/permit.mjs';

const SPENDER = '0x1111111111111111111111111111111111111111';
const MAX = 'f'.repeat(64);
const approveCall = (spender, amountHex) =>
  `0x095ea7b3${spender.slice(2).toLowerCase().padStart(64, '0')}${amountHex.padStart(64, '0')}`;

describe('confirm on phone', { timeout: 600_000 }, () => {
  let relay, anvil, anvil2, dapp, browser, phone, phonePage, page;
  const d = (fn, ...args) => page.evaluate(fn, ...args);

  before(async () => {
    [relay, anvil, anvil2, dapp] = await Promise.all([
      startRelay({ appDir: path.join(ROOT, 'phone') }),
      startAnvil(),
      startAnvil({ chainId: 1338 }),
      startDapp(),
    ]);
    browser = await launch();
    await onboardImport(browser, ANVIL_MNEMONIC, PASSWORD);
    await browser.ui('networks.upsert', { chainId: 31337, name: 'Anvil', rpcUrl: anvil.url, symbol: 'ETH' });
    await browser.ui('networks.select', { chainId: 31337 });
    await browser.ui('devices.relay.set', { relay: relay.url });

    ({ phone, phonePage } = await pairPhone(browser, relay));
    // The phone told the new device its (default) policy.
    await until(async () => (await browser.ui('state')).phone?.policy?.add_network === true, 'the browser to learn the phone\'s policy', 20_000);
    ({ page } = await openDapp(browser, dapp.url));
  });

  after(async () => {
    await phone?.close();
    await browser?.close();
    await Promise.all([relay?.stop(), anvil?.stop(), anvil2?.stop(), dapp?.close()]);
  });

  const approveOnDesktop = (kind, opts) => desktopApproves(browser, kind, opts);
  const onPhone = (approve) => phoneAnswers(phonePage, approve);

  async function gone(id) {
    await until(async () => !(await browser.ui('approvals.list')).some((x) => x.id === id), `approval #${id} to be answered`, 20_000);
  }

  it('a new site connection waits for the phone; its approval connects the site', async () => {
    const pending = d(() => window.dapp.connect());
    const { a, win } = await approveOnDesktop('connect');
    assert.match(await win.getByTestId('approval-phone-reason').textContent(), /New site connections need your phone/);
    const rows = await onPhone(true);
    assert.equal(rows.site, new URL(dapp.url).origin);
    assert.equal(rows.account, A0);
    const r = await pending;
    assert.deepEqual(r.result, [A0]);
    await gone(a.id);
    await until(() => win.isClosed(), 'the approval window to close');
    // The popup's Devices screen says what the phone confirms.
    const popup = await openPopup(browser, 380);
    await popup.getByTestId('open-devices').click();
    const policy = popup.getByTestId('devices-phone-policy');
    await policy.waitFor({ timeout: 10_000 });
    assert.match(await policy.textContent(), /Pixel 8 must confirm.*Sending more than 0\.1/s);
    assert.deepEqual(popup.errors, []);
    await popup.close();
  });

  it('a transaction above 0.1 ETH: the phone rejects (4001, nothing sent), then approves (mined on anvil)', async () => {
    const value = (10n ** 18n).toString();
    const nonce = await jsonRpc(anvil.url, 'eth_getTransactionCount', [A0, 'latest']);
    let pending = d(([a, to, v]) => window.dapp.sendTransaction(a, 31337, to, v), [A0, A1, value]);
    let { a } = await approveOnDesktop('transaction');
    const rows = await onPhone(false);
    assert.equal(rows.amount, '1 ETH');
    assert.equal(getAddress(rows.recipient), A1);
    assert.match(rows.network, /chain 31337/);
    const rejected = await pending;
    assert.equal(rejected.error.code, 4001);
    await gone(a.id);
    assert.equal(await jsonRpc(anvil.url, 'eth_getTransactionCount', [A0, 'latest']), nonce, 'nothing was sent');

    const before1 = BigInt(await jsonRpc(anvil.url, 'eth_getBalance', [A1, 'latest']));
    pending = d(([a, to, v]) => window.dapp.sendTransaction(a, 31337, to, v), [A0, A1, value]);
    ({ a } = await approveOnDesktop('transaction'));
    await onPhone(true);
    const r = await pending;
    assert.ok(r.result, JSON.stringify(r.error));
    const receipt = await until(() => jsonRpc(anvil.url, 'eth_getTransactionReceipt', [r.result]), 'the receipt');
    assert.equal(receipt.status, '0x1');
    assert.equal(BigInt(await jsonRpc(anvil.url, 'eth_getBalance', [A1, 'latest'])), before1 + 10n ** 18n);
  });

  it('a transaction at or below 0.1 ETH signs without the phone', async () => {
    const pending = d(([a, to]) => window.dapp.sendTransaction(a, 31337, to, (10n ** 17n).toString()), [A0, A1]);
    await answer(browser, 'transaction', true);
    const r = await pending;
    assert.ok(r.result, JSON.stringify(r.error));
  });

  it('an unlimited token approval waits for the phone, which names the spender; a limited one does not', async () => {
    const pending = d(
      ([from, to, data]) => window.dapp.raw({ method: 'eth_sendTransaction', params: [{ from, to, data }] }),
      [A0, A1, approveCall(SPENDER, MAX)],
    );
    await approveOnDesktop('transaction');
    const rows = await onPhone(true);
    assert.equal(rows.amount, 'unlimited');
    assert.equal(rows.spender.toLowerCase(), SPENDER);
    assert.equal(getAddress(rows.token), A1);
    const r = await pending;
    assert.ok(r.result, JSON.stringify(r.error));
    assert.equal((await until(() => jsonRpc(anvil.url, 'eth_getTransactionReceipt', [r.result]), 'the receipt')).status, '0x1');

    const limited = d(
      ([from, to, data]) => window.dapp.raw({ method: 'eth_sendTransaction', params: [{ from, to, data }] }),
      [A0, A1, approveCall(SPENDER, '3e8')],
    );
    await answer(browser, 'transaction', true);
    assert.ok((await limited).result);
  });

  it('approvals read as the token reads them (a byte appended, upper-case hex, a bool word of 2) wait for the phone, which shows the window\'s warning', async () => {
    // Once, the phone's policy let the first two through while the window
    // warned: each reader had its own decoder (tandem_wallet::decode now).
    const word = (hex) => hex.padStart(64, '0');
    const cases = [
      [`${approveCall(SPENDER, MAX)}00`, /^unlimited token approval: /],
      [approveCall(SPENDER, MAX.toUpperCase()).replace('095ea7b3', '095EA7B3'), /^unlimited token approval: /],
      [`0xa22cb465${word(SPENDER.slice(2))}${word('2')}`, /gets control over all your items in this collection$/],
    ];
    for (const [data, warning] of cases) {
      const pending = d(
        ([from, to, data]) => window.dapp.raw({ method: 'eth_sendTransaction', params: [{ from, to, data }] }),
        [A0, A1, data],
      );
      let shown;
      await approveOnDesktop('transaction', {
        ready: async (win) => {
          const w = win.getByTestId('tx-warning-0');
          await w.waitFor({ timeout: 15_000 });
          shown = await w.textContent();
        },
      });
      assert.match(shown, warning, data);
      assert.ok(shown.toLowerCase().includes(SPENDER), shown);
      await phonePage.getByTestId('approve-screen').waitFor({ timeout: 20_000 });
      assert.ok((await phonePage.getByTestId('confirm-warnings').textContent()).includes(shown), 'the phone shows the window\'s warning');
      const rows = await onPhone(true);
      assert.equal(rows.spender.toLowerCase(), SPENDER);
      const r = await pending;
      assert.ok(r.result, JSON.stringify(r.error));
    }
  });

  it('a signed permit waits for the phone; the signature it lets through verifies with viem', async () => {
    const typed = {
      domain: { name: 'USD Coin', version: '2', chainId: 31337, verifyingContract: A1 },
      types: PERMIT_TYPES,
      primaryType: 'Permit',
      message: { owner: A0, spender: SPENDER, value: '5000000', nonce: '0', deadline: '1900000000' },
    };
    const pending = d(([a, t]) => window.dapp.signTypedData(a, t), [A0, typed]);
    // Once the window read the "token" (an account: its calls fail), the
    // phone is told what the window says: an unknown token, in raw units.
    await approveOnDesktop('typed_data', {
      ready: (win) => win.getByTestId('permit-amount').filter({ hasText: 'unknown token' }).waitFor({ timeout: 15_000 }),
    });
    const rows = await onPhone(true);
    assert.equal(rows.spender.toLowerCase(), SPENDER);
    assert.equal(rows.amount, `5000000 raw units of an unknown token (${A1})`);
    assert.match(rows.token, /USD Coin/);
    const r = await pending;
    assert.ok(r.result, JSON.stringify(r.error));
    assert.ok(
      await verifyTypedData({
        address: A0,
        ...typed,
        message: { ...typed.message, value: 5000000n, nonce: 0n, deadline: 1900000000n },
        signature: r.result,
      }),
    );
  });

  it('adding a network waits for the phone, which shows its RPC', async () => {
    const pending = d(([u]) => window.dapp.addChain(1338, 'Second anvil', u), [anvil2.url]);
    await approveOnDesktop('add_chain');
    const rows = await onPhone(true);
    assert.equal(rows['rpc-url'], anvil2.url);
    assert.match(rows.network, /Second anvil \(chain 1338\)/);
    const r = await pending;
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.ok((await browser.ui('state')).networks.some((n) => n.chainId === 1338));
    await browser.ui('networks.select', { chainId: 31337 });
  });

  it('Cancel on the desktop gives the dapp 4001 and takes the request off the phone', async () => {
    const pending = d(([a, to]) => window.dapp.sendTransaction(a, 31337, to, (2n * 10n ** 18n).toString()), [A0, A1]);
    const { win } = await approveOnDesktop('transaction');
    await phonePage.getByTestId('approve-screen').waitFor({ timeout: 20_000 });
    await win.getByTestId('approval-phone-cancel').click();
    assert.equal((await pending).error.code, 4001);
    await phonePage.getByTestId('home-screen').waitFor({ timeout: 20_000 });
    assert.match(await phonePage.getByTestId('notice').textContent(), /withdrew/);
  });

  it('the phone sets a shorter wait; unanswered, the request times out with 4001 and nothing is signed', async () => {
    await phonePage.getByTestId('policy-open').click();
    await phonePage.getByTestId('policy-timeout-input').fill('30');
    await phonePage.getByTestId('policy-save').click();
    await phonePage.getByTestId('notice').filter({ hasText: 'Saved' }).waitFor({ timeout: 10_000 });
    await until(async () => (await browser.ui('state')).phone?.policy?.timeout_secs === 30, 'the browser to learn the new wait', 20_000);
    await phonePage.getByTestId('back').click();
    const nonce = await jsonRpc(anvil.url, 'eth_getTransactionCount', [A0, 'latest']);
    // Raw EIP-1193, so the dapp sees the wallet's own message (viem's
    // wrapper replaces it with its generic "User rejected the request.").
    const pending = d(
      ([from, to]) => window.dapp.raw({ method: 'eth_sendTransaction', params: [{ from, to, value: '0x29a2241af62c0000' }] }),
      [A0, A1],
    );
    const { a } = await approveOnDesktop('transaction');
    await phonePage.getByTestId('approve-screen').waitFor({ timeout: 20_000 });
    const r = await pending; // the worker's timer fires after 30 s
    assert.equal(r.error.code, 4001);
    assert.match(r.error.message, /did not confirm within 30 seconds/);
    await gone(a.id);
    assert.equal(await jsonRpc(anvil.url, 'eth_getTransactionCount', [A0, 'latest']), nonce, 'nothing was sent');
    await until(async () => (await phonePage.getByTestId('approve-screen').count()) === 0, 'the phone to drop the expired request', 20_000);
    assert.deepEqual(phonePage.errors, []);
  });

  it('after all of it, no phrase, seed or private key is in the phone\'s storage, the extension\'s or the relay\'s', async () => {
    const seed = mnemonicToSeedSync(ANVIL_MNEMONIC);
    const key0 = HDKey.fromMasterSeed(seed).derive("m/44'/60'/0'/0/0").privateKey;
    const secrets = [
      { name: 'recovery phrase', bytes: Buffer.from(ANVIL_MNEMONIC) },
      { name: 'BIP-39 seed', bytes: Buffer.from(seed) },
      { name: 'account 0 private key', bytes: Buffer.from(key0) },
    ];
    const phoneStore = await phonePage.evaluate(() => JSON.stringify({ ...localStorage }));
    assert.match(phoneStore, /tandem\.phone\.policy/, 'the phone kept its policy');
    const local = await browser.ext.evaluate(() => chrome.storage.local.get(null));
    const session = await browser.ext.evaluate(() => chrome.storage.session.get(null));
    const haystacks = [
      Buffer.from(phoneStore),
      Buffer.from(JSON.stringify(local)),
      Buffer.from(JSON.stringify(session)),
      ...(await relayFiles(relay.dir)),
    ];
    assert.deepEqual(findSecrets(haystacks, secrets), []);
  });
});
