// The group's wallet on the phone (issue 12), for real: the built extension
// in headless Chromium, the phone app (served by the relay binary at
// /app/) in another with mobile emulation, paired through the relay on
// 127.0.0.1, anvil as the chain. The phone runs its sync build (the
// Activity log and sync turned on, one reload). Before sync of balances
// and account names is on, its Wallet screen says so and where to turn it
// on; once the browser turns them on, names its account and reads anvil,
// the phone's Wallet screen shows the account's name and the balance anvil
// holds, "as of" the browser's read and read on the browser (its device
// name, as the phone's device list says it), from the phone's own sync
// replica: the phone reads no node.
// Run: node --test tests/e2e/phone-wallet.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launch, startAnvil, jsonRpc, until, ROOT, ANVIL_MNEMONIC, ANVIL_ACCOUNT_0 as A0, PASSWORD } from './lib/index.mjs';
import { onboardImport } from './lib/onboard.mjs';
import { startRelay } from './lib/devices.mjs';
import { unlockPhone } from './lib/phone.mjs';
import { pairPhone } from './lib/confirm.mjs';

const MILLI = 10n ** 15n;
const hex = (n) => '0x' + BigInt(n).toString(16);
const NAME = 'Everyday spending';
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('the group\'s wallet on the phone', { timeout: 300_000 }, () => {
  let relay, anvil, browser, phone, phonePage;

  before(async () => {
    [relay, anvil] = await Promise.all([startRelay({ appDir: path.join(ROOT, 'phone') }), startAnvil()]);
    browser = await launch();
    await onboardImport(browser, ANVIL_MNEMONIC, PASSWORD);
    await browser.ui('networks.upsert', { chainId: 31337, name: 'Anvil', rpcUrl: anvil.url, symbol: 'ETH' });
    await browser.ui('networks.select', { chainId: 31337 });
    await browser.ui('devices.relay.set', { relay: relay.url });
    ({ phone, phonePage } = await pairPhone(browser, relay));
    // The extension's sync module runs from now on.
    await until(async () => (await browser.ui('sync.view')).online, 'the extension\'s sync to be online', 30_000);
    // The phone's sync build: one reload, unlocked again.
    await phonePage.getByTestId('home-screen').waitFor();
    await Promise.all([phonePage.waitForEvent('load'), phonePage.getByTestId('activity-on').click()]);
    await phonePage.getByTestId('unlock-screen').waitFor({ timeout: 20_000 });
    await unlockPhone(phonePage);
    await phonePage.getByTestId('wallet-open').waitFor({ timeout: 20_000 });
  });

  after(async () => {
    await phone?.close();
    await browser?.close();
    await Promise.all([relay?.stop(), anvil?.stop()]);
  });

  it('before balances and names sync, the Wallet screen says so and where to turn them on', async () => {
    await phonePage.getByTestId('wallet-open').click();
    const off = phonePage.getByTestId('wallet-off');
    await off.waitFor({ timeout: 20_000 });
    assert.match(await off.textContent(), /Sync of balances and account names is off/);
    assert.match(await off.textContent(), /Last known balances/);
    await phonePage.getByTestId('wallet-sync-open').click();
    await phonePage.getByTestId('sync-screen').waitFor();
    await phonePage.getByTestId('back-button').click();
    await phonePage.getByTestId('home-screen').waitFor();
    assert.deepEqual(phonePage.errors, []);
  });

  it('the browser\'s account name and the balance anvil holds show on the phone, as of its read, read on the browser', async () => {
    const amount = 1234n * 10n ** 18n + 500n * MILLI;
    await jsonRpc(anvil.url, 'anvil_setBalance', [A0, hex(amount)]);
    for (const category of ['accounts', 'balances']) {
      await browser.ui('sync.edit', { field: { enabled: { category } }, value: { enabled: true } });
    }
    await browser.ui('accounts.rename', { address: A0, name: NAME });
    // The browser reads anvil (as its popup does when it opens): the
    // balance goes to the group.
    const before = Date.now();
    await browser.ui('portfolio.refresh');
    const desk = (await browser.ui('devices.view')).name;
    assert.ok(desk, 'the browser has a device name');

    await phonePage.getByTestId('wallet-open').click();
    await phonePage.getByTestId('wallet-screen').waitFor();
    const account = phonePage.getByTestId(`wallet-account-${A0.toLowerCase()}`);
    const row = account.getByTestId(`wallet-balance-31337:${A0.toLowerCase()}:native`);
    await until(
      async () => (await row.getByTestId('wallet-balance-amount').textContent({ timeout: 500 }).catch(() => '')) === '1,234.5 ETH',
      'the browser\'s balance on the phone\'s Wallet screen',
      30_000,
    );
    await until(
      async () => (await account.getByTestId('wallet-account-name').textContent({ timeout: 500 }).catch(() => '')) === NAME,
      'the browser\'s account name on the phone',
      30_000,
    );
    assert.equal(await account.getByTestId('wallet-account-address').textContent(), A0);
    const asOf = await row.getByTestId('wallet-balance-asof').textContent();
    assert.match(asOf, new RegExp(`^as of (just now|1 min ago) · read on ${escape(desk)}$`));
    assert.ok(Date.now() - before < 120_000);
    // The phone read no node: the balance is the group's record.
    assert.equal(await phonePage.getByTestId('wallet-off').count(), 0);
    assert.equal(await phonePage.getByTestId('wallet-empty').count(), 0);
    assert.deepEqual(phonePage.errors, []);
  });
});
