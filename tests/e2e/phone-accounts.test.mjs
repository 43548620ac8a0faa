// Accounts that live only on the phone, used from the desktop, for real:
// the extension in one Chromium (its own phrase: anvil's), the phone app
// (served by the relay binary at /app/) in another with another phrase,
// paired through the relay on 127.0.0.1, anvil as the chain and the viem
// test dapp. The phone shares its account; the extension lists it "on your
// phone"; the dapp connects it; typed data and a transaction are signed on
// the phone (each shown there decoded, approved there) and the dapp gets
// an ordinary EIP-1193 answer: viem verifies the typed-data signature for
// the phone's address and anvil mines the transaction from it. A reject on
// the phone is 4001. The phone's key is never in the extension's storage
// or the relay's. Revoking the phone takes its account off the desktop.
// Run: node --test tests/e2e/phone-accounts.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { getAddress, verifyTypedData, verifyMessage } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
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
  ANVIL_ACCOUNT_1 as A1,
  PASSWORD,
} from './lib/index.mjs';
import { onboardImport } from './lib/onboard.mjs';
import { startRelay } from './lib/devices.mjs';
import { pairPhone, approveOnDesktop as desktopApproves, onPhone as phoneAnswers } from './lib/confirm.mjs';
import { findSecrets, relayFiles } from './lib/secrets.mjs';

// The BIP-39 test phrase (Trezor's vectors): only the phone holds it.
const PHONE_PHRASE = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
const PHONE_ACCOUNT = mnemonicToAccount(PHONE_PHRASE).address;

describe('accounts on the phone, used from the desktop', { timeout: 600_000 }, () => {
  let relay, anvil, dapp, browser, phone, phonePage, page;
  const d = (fn, ...args) => page.evaluate(fn, ...args);

  before(async () => {
    [relay, anvil, dapp] = await Promise.all([
      startRelay({ appDir: path.join(ROOT, 'phone') }),
      startAnvil(),
      startDapp(),
    ]);
    // The phone's account has ether on anvil (it never had a transaction).
    await jsonRpc(anvil.url, 'anvil_setBalance', [PHONE_ACCOUNT, '0x8ac7230489e80000']);
    browser = await launch();
    await onboardImport(browser, ANVIL_MNEMONIC, PASSWORD);
    await browser.ui('networks.upsert', { chainId: 31337, name: 'Anvil', rpcUrl: anvil.url, symbol: 'ETH' });
    await browser.ui('networks.select', { chainId: 31337 });
    await browser.ui('devices.relay.set', { relay: relay.url });

    ({ phone, phonePage } = await pairPhone(browser, relay, { phrase: PHONE_PHRASE }));
    ({ page } = await openDapp(browser, dapp.url));
  });

  after(async () => {
    await phone?.close();
    await browser?.close();
    await Promise.all([relay?.stop(), anvil?.stop(), dapp?.close()]);
  });

  const approveOnDesktop = (kind) => desktopApproves(browser, kind);
  const onPhone = (approve) => phoneAnswers(phonePage, approve);

  it('the phone shares its account; the extension lists it "on your phone" and a dapp connects it', async () => {
    assert.ok(!(await browser.ui('state')).accounts.some((a) => a.address === PHONE_ACCOUNT));
    await phonePage.getByTestId('accounts-share').click();
    await phonePage.getByTestId('account-shared').waitFor({ timeout: 10_000 });
    const st = await until(
      async () => {
        const s = await browser.ui('state');
        return s.accounts.some((a) => a.address === PHONE_ACCOUNT) && s;
      },
      'the extension to list the phone\'s account',
      20_000,
    );
    const i = st.accounts.findIndex((a) => a.address === PHONE_ACCOUNT);
    assert.equal(st.accounts[i].origin.kind, 'phone');
    await browser.ui('accounts.select', { address: PHONE_ACCOUNT });

    const popup = await openPopup(browser, 380);
    assert.equal(await popup.getByTestId('account-on-phone').textContent(), 'on your phone');
    await popup.getByTestId('account-button').click();
    assert.equal(await popup.getByTestId(`account-on-phone-${i}`).textContent(), 'on your phone');
    assert.equal(await popup.getByTestId('account-on-phone-0').count(), 0, 'local accounts are not marked');
    assert.deepEqual(popup.errors, []);
    await popup.close();

    // The phone's default policy asks it about new site connections too.
    const pending = d(() => window.dapp.connect());
    const { win } = await approveOnDesktop('connect');
    assert.match(await win.getByTestId('approval-phone-reason').textContent(), /New site connections/);
    await onPhone(true);
    const r = await pending;
    assert.deepEqual(r.result, [PHONE_ACCOUNT], JSON.stringify(r.error));
  });

  it('eth_signTypedData_v4: the phone shows it, signs it, and viem verifies it for the phone\'s address', async () => {
    const typed = {
      domain: { name: 'Tandem mail', version: '1', chainId: 31337, verifyingContract: A1 },
      types: {
        Mail: [
          { name: 'to', type: 'address' },
          { name: 'contents', type: 'string' },
        ],
      },
      primaryType: 'Mail',
      message: { to: A1, contents: 'Signed on the phone' },
    };
    const pending = d(([a, t]) => window.dapp.signTypedData(a, t), [PHONE_ACCOUNT, typed]);
    const { win } = await approveOnDesktop('typed_data');
    assert.match(await win.getByTestId('approval-phone-reason').textContent(), /key is on your phone/);
    const rows = await onPhone(true);
    assert.equal(getAddress(rows.account), PHONE_ACCOUNT);
    // Shown decoded: the type and each field of the message.
    assert.equal(rows.action, 'Sign typed data (Mail)');
    assert.equal(rows.contents, 'Signed on the phone');
    assert.equal(getAddress(rows.to), A1);
    const r = await pending;
    assert.ok(r.result, JSON.stringify(r.error));
    assert.ok(await verifyTypedData({ address: PHONE_ACCOUNT, ...typed, signature: r.result }));
    assert.ok(!(await verifyTypedData({ address: A1, ...typed, signature: r.result })), 'the check can fail');
  });

  it('eth_sendTransaction: signed on the phone, broadcast by the extension, mined from the phone\'s address', async () => {
    const value = 10n ** 15n;
    const before1 = BigInt(await jsonRpc(anvil.url, 'eth_getBalance', [A1, 'latest']));
    const pending = d(([a, to, v]) => window.dapp.sendTransaction(a, 31337, to, v), [PHONE_ACCOUNT, A1, value.toString()]);
    await approveOnDesktop('transaction');
    const rows = await onPhone(true);
    assert.equal(getAddress(rows.recipient), A1);
    const r = await pending;
    assert.ok(r.result, JSON.stringify(r.error));
    const receipt = await until(() => jsonRpc(anvil.url, 'eth_getTransactionReceipt', [r.result]), 'the receipt');
    assert.equal(receipt.status, '0x1');
    assert.equal(getAddress(receipt.from), PHONE_ACCOUNT);
    assert.equal(BigInt(await jsonRpc(anvil.url, 'eth_getBalance', [A1, 'latest'])), before1 + value);
  });

  it('a reject on the phone is 4001 to the dapp, and nothing is signed', async () => {
    const pending = d(([a]) => window.dapp.raw({ method: 'personal_sign', params: ['0x68656c6c6f', a] }), [PHONE_ACCOUNT]);
    const { a } = await approveOnDesktop('personal_sign');
    await onPhone(false);
    const r = await pending;
    assert.equal(r.error?.code, 4001, JSON.stringify(r));
    await until(async () => !(await browser.ui('approvals.list')).some((x) => x.id === a.id), 'the approval to go');
    // And an approve signs what viem checks as the phone's personal_sign.
    const ok = d(([a]) => window.dapp.signMessage(a, 'hello from the phone'), [PHONE_ACCOUNT]);
    await approveOnDesktop('personal_sign');
    assert.equal((await onPhone(true)).message, 'hello from the phone');
    const s = await ok;
    assert.ok(await verifyMessage({ address: PHONE_ACCOUNT, message: 'hello from the phone', signature: s.result }), JSON.stringify(s));
  });

  it('the phone\'s phrase, seed and key are in neither the extension\'s storage nor the relay\'s', async () => {
    const seed = mnemonicToSeedSync(PHONE_PHRASE);
    const key0 = HDKey.fromMasterSeed(seed).derive("m/44'/60'/0'/0/0").privateKey;
    const secrets = [
      { name: 'phone recovery phrase', bytes: Buffer.from(PHONE_PHRASE) },
      { name: 'phone BIP-39 seed', bytes: Buffer.from(seed) },
      { name: 'phone account 0 private key', bytes: Buffer.from(key0) },
    ];
    const local = await browser.ext.evaluate(() => chrome.storage.local.get(null));
    const session = await browser.ext.evaluate(() => chrome.storage.session.get(null));
    assert.match(JSON.stringify(local), new RegExp(PHONE_ACCOUNT.slice(2), 'i'), 'the extension keeps the address');
    const haystacks = [Buffer.from(JSON.stringify(local)), Buffer.from(JSON.stringify(session)), ...(await relayFiles(relay.dir))];
    assert.deepEqual(findSecrets(haystacks, secrets), []);
  });

  it('revoking the phone takes its account off the extension and the site', async () => {
    const view = await browser.ui('devices.view');
    const other = view.devices.find((x) => x.id !== view.me);
    await browser.ui('devices.command', { kind: 'revoke', device: other.id, reason: 'lost' });
    await until(
      async () => !(await browser.ui('state')).accounts.some((a) => a.address === PHONE_ACCOUNT),
      'the phone\'s account to leave the extension',
      20_000,
    );
    const r = await d(() => window.dapp.raw({ method: 'eth_accounts' }));
    assert.deepEqual(r.result, []);
  });
});
