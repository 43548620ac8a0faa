// Key management after setup (issue 13, item 15): Settings -> Show recovery
// phrase and Export private key (a warning, the password again, then the
// secret), Import account (another phrase or a private key) and the account
// list's Remove, through the real popup, with a real anvil and the test
// dapp (viem) connected. The attacker tests ask the worker for the phrase or
// a key from a web page and from Tandem's content-script world (found with
// CDP, as in storage.test.mjs) and get nothing.
// Run: node --test tests/e2e/keys.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { privateKeyToAccount, generatePrivateKey, mnemonicToAccount, generateMnemonic, english } from 'viem/accounts';
import { getAddress } from 'viem';
import {
  startAnvil,
  startDapp,
  clickTo,
  openPopup,
  jsonRpc,
  until,
  inContentScript,
  ANVIL_MNEMONIC,
  ANVIL_ACCOUNT_0 as A0,
  ANVIL_ACCOUNT_1 as A1,
  PASSWORD,
} from './lib/index.mjs';
import { connectedWallet, answer } from './lib/approve.mjs';

const waitScreen = (page, name) => page.locator(`#app > .app[data-screen="${name}"]`).waitFor({ timeout: 20_000 });
const PHRASE_WORDS = ANVIL_MNEMONIC.split(' ');

describe('reveal, export, import and remove keys after setup', { timeout: 300_000 }, () => {
  let anvil, dapp, browser, page, popup;
  const imported = generatePrivateKey();
  const importedAddress = privateKeyToAccount(imported).address;
  const d = (fn, arg) => page.evaluate(fn, arg);

  before(async () => {
    [anvil, dapp] = await Promise.all([startAnvil(), startDapp()]);
    ({ browser, page } = await connectedWallet(anvil, dapp));
    console.log(`# imported key's address for this run: ${importedAddress}`);
  });
  after(async () => {
    await browser?.close();
    await Promise.all([anvil?.stop(), dapp?.close()]);
  });

  const openSettings = async (button, screen) => {
    popup = await openPopup(browser);
    await waitScreen(popup, 'home');
    await clickTo(popup, 'settings-button', 'settings');
    await clickTo(popup, button, screen);
  };

  it('a wrong password reveals nothing; the right one shows the phrase onboarded, gone once the screen is left', async () => {
    await openSettings('open-reveal-phrase', 'reveal-phrase');
    const warning = await popup.getByTestId('secrets-warning').textContent();
    assert.match(warning, /Anyone with this recovery phrase/);
    assert.match(warning, /Never type it into a website/);
    await popup.getByTestId('secrets-password-input').fill('not the password');
    await popup.getByTestId('secrets-submit').click();
    await popup.getByTestId('form-error').waitFor();
    assert.match(await popup.getByTestId('form-error').textContent(), /Wrong password/);
    assert.equal(await popup.getByTestId('secrets-value').count(), 0);
    const html = await popup.content();
    assert.ok(!html.includes(PHRASE_WORDS.slice(0, 3).join(' ')), 'no part of the phrase is on the page');
    assert.equal(await popup.getByTestId('secrets-password-input').inputValue(), '', 'the typed password is cleared');

    await popup.getByTestId('secrets-password-input').fill(PASSWORD);
    await popup.getByTestId('secrets-submit').click();
    await popup.getByTestId('secrets-value').waitFor();
    assert.equal((await popup.getByTestId('secrets-value').textContent()).trim(), ANVIL_MNEMONIC);
    // Keyboard: "Done, hide it" is reachable with Tab and works with Enter.
    await popup.getByTestId('secrets-done').focus();
    await popup.keyboard.press('Enter');
    await waitScreen(popup, 'settings');
    assert.ok(!(await popup.content()).includes(PHRASE_WORDS.slice(0, 3).join(' ')), 'the phrase left the page');
    await popup.close();
  });

  it("the exported private key derives the selected account's address", async () => {
    await openSettings('open-export-key', 'export-key');
    assert.match(await popup.getByTestId('secrets-account').textContent(), new RegExp(A0));
    await popup.getByTestId('secrets-password-input').fill(PASSWORD);
    await popup.getByTestId('secrets-submit').click();
    await popup.getByTestId('secrets-value').waitFor();
    const exportedKey = (await popup.getByTestId('secrets-value').textContent()).trim();
    assert.match(exportedKey, /^0x[0-9a-f]{64}$/);
    assert.equal(privateKeyToAccount(exportedKey).address, A0);
    await popup.getByTestId('back-button').click();
    await waitScreen(popup, 'settings');
    assert.ok(!(await popup.content()).includes(exportedKey.slice(2, 20)), 'the key left the page');
    await popup.close();
  });

  it('a web page and the content-script world asking the worker for the phrase or a key get nothing', async () => {
    const asks = [
      { method: 'secrets.export', params: { password: PASSWORD, address: A0, what: 'phrase' } },
      { method: 'secrets.export', params: { password: PASSWORD, address: A0, what: 'key' } },
      { method: 'state', params: {} },
    ];
    // The same request from an extension page works (the barrier: the
    // refusals below are not a broken method), and gives the key to look for.
    const own = await browser.ui('secrets.export', asks[1].params);
    assert.equal(privateKeyToAccount(own.secret).address, A0);
    await assert.rejects(
      browser.ui('secrets.export', { ...asks[1].params, what: 'seed' }),
      (e) => e.kind === 'InvalidInput',
      'an unknown kind of secret is refused, not answered with the key',
    );
    const secretsIn = (s) => {
      const text = JSON.stringify(s ?? null);
      return text.includes(PHRASE_WORDS.slice(0, 3).join(' ')) || text.includes(own.secret.slice(2, 34));
    };
    // 1. The page itself: the provider has no such method, and the raw
    //    channel names are not methods either.
    for (const method of ['secrets.export', 'tandem_revealSecret', 'eth_private_key', 'wallet_exportKey']) {
      const r = await d((m) => window.dapp.raw({ method: m, params: [{ password: 'correct horse battery staple 42', what: 'phrase' }] }), method);
      assert.ok(r.error, `${method} answered ${JSON.stringify(r).slice(0, 200)}`);
      assert.ok(!secretsIn(r), `${method} leaked a secret`);
    }
    // The page posting a UI-channel message to the content script.
    await d((asks) => {
      for (const a of asks) window.postMessage({ channel: 'tandem/ui', id: 9, ...a }, '*');
      window.postMessage({ target: 'tandem-content', channel: 'tandem/ui', id: 10, ...asks[0] }, '*');
    }, asks);
    // 2. The content script's own world (a compromised renderer): the UI
    //    channel answers extension pages only.
    for (const a of asks) {
      const r = await inContentScript(
        browser,
        page,
        `Promise.race([
          chrome.runtime.sendMessage(${JSON.stringify({ channel: 'tandem/ui', id: 1, ...a })}).then((v) => ({ answered: v ?? null }), (e) => ({ error: String(e?.message ?? e) })),
          new Promise((r) => setTimeout(() => r({ timeout: true }), 5000)),
        ])`,
      );
      const v = r.value ?? {};
      assert.ok(!secretsIn(r), `${a.method} from the content script leaked a secret`);
      assert.ok(v.answered === undefined || v.answered === null, `${a.method} was answered: ${JSON.stringify(v).slice(0, 200)}`);
    }
    // The provider channel with a UI method name from the content script.
    const viaProvider = await inContentScript(
      browser,
      page,
      `chrome.runtime.sendMessage({ channel: 'tandem/provider', type: 'request', id: 'x', request: { method: 'secrets.export', params: [${JSON.stringify(asks[0].params)}] } }).then((v) => v ?? null, (e) => ({ error: String(e?.message ?? e) }))`,
    );
    assert.ok(!secretsIn(viaProvider), 'the provider channel leaked a secret');
  });

  it('an account imported from a private key shows in the list and signs a transaction mined on anvil', async () => {
    await jsonRpc(anvil.url, 'anvil_setBalance', [importedAddress, '0x56BC75E2D63100000']); // 100 ETH
    await openSettings('open-import-account', 'import-account');
    await popup.getByTestId('account-import-secret').fill(imported);
    await popup.getByTestId('account-import-submit').click();
    await waitScreen(popup, 'accounts');
    const rows = popup.locator('[data-testid^="account-row-"]');
    await until(async () => (await rows.count()) === 2, 'two accounts listed');
    assert.match(await popup.getByTestId('accounts-screen').textContent(), new RegExp(importedAddress.slice(2, 6), 'i'));
    const state = await browser.ui('state');
    assert.deepEqual(state.accounts.map((a) => a.address), [A0, importedAddress]);
    // A vault reopened from storage holds it (it was sealed again).
    await browser.ui('lock');
    await browser.ui('unlock', { password: PASSWORD });
    assert.ok((await browser.ui('state')).accounts.some((a) => a.address === importedAddress));
    // The dapp asks for permissions again; the user shares both accounts.
    const perm = d(() => window.dapp.raw({ method: 'wallet_requestPermissions', params: [{ eth_accounts: {} }] }));
    await answer(browser, 'connect', true, { edits: { accounts: [A0, importedAddress] } });
    assert.ok((await perm).result, JSON.stringify(await perm));
    const value = 12345n;
    const before1 = BigInt(await jsonRpc(anvil.url, 'eth_getBalance', [A1, 'latest']));
    const pending = d(([a, to, v]) => window.dapp.sendTransaction(a, 31337, to, v), [importedAddress, A1, value.toString()]);
    await answer(browser, 'transaction', true);
    const r = await pending;
    assert.ok(r.result, JSON.stringify(r.error));
    const receipt = await until(() => jsonRpc(anvil.url, 'eth_getTransactionReceipt', [r.result]), 'receipt');
    assert.equal(receipt.status, '0x1');
    assert.equal(getAddress(receipt.from), importedAddress);
    assert.equal(BigInt(await jsonRpc(anvil.url, 'eth_getBalance', [A1, 'latest'])), before1 + value);
    await popup.close();
  });

  it('another recovery phrase imported in the popup adds its first account, and its own phrase is the one revealed for it', async () => {
    const phrase = generateMnemonic(english);
    const expected = mnemonicToAccount(phrase).address; // m/44'/60'/0'/0/0, derived by viem
    console.log(`# imported phrase's first account for this run: ${expected}`);
    await openSettings('open-import-account', 'import-account');
    await popup.getByTestId('account-import-secret').fill(phrase);
    await popup.getByTestId('account-import-submit').click();
    await waitScreen(popup, 'accounts');
    const state = await until(async () => {
      const s = await browser.ui('state');
      return s.accounts.some((a) => a.address === expected) && s;
    }, 'the phrase account listed');
    assert.equal(state.accounts.length, 3);
    // The same phrase again is refused by name and adds nothing.
    await assert.rejects(browser.ui('accounts.import', { phrase }), (e) => e.kind === 'DuplicateSource');
    // Revealed for that account: its own phrase, not the onboarded one.
    await browser.ui('accounts.select', { address: expected });
    const own = await browser.ui('secrets.export', { password: PASSWORD, address: expected, what: 'phrase' });
    assert.equal(own.secret, phrase);
    // An imported key has no phrase: a clear error, not another account's phrase.
    await assert.rejects(
      browser.ui('secrets.export', { password: PASSWORD, address: importedAddress, what: 'phrase' }),
      (e) => e.kind === 'NoPhrase',
    );
    // Removed again through the worker (the popup's Remove is tested next).
    await browser.ui('accounts.remove', { address: expected });
    await browser.ui('accounts.select', { address: A0 });
    assert.equal((await browser.ui('state')).accounts.length, 2);
    await popup.close();
  });

  it('a removed account leaves the connected page (accountsChanged, eth_accounts); the last one cannot be removed', async () => {
    assert.deepEqual(
      ((await d(() => window.dapp.raw({ method: 'eth_accounts' }))).result ?? []).map((a) => a.toLowerCase()),
      [A0, importedAddress].map((a) => a.toLowerCase()),
    );
    popup = await openPopup(browser);
    await waitScreen(popup, 'home');
    await popup.getByTestId('account-button').click();
    await waitScreen(popup, 'accounts');
    await popup.getByTestId('account-remove-1').click();
    await waitScreen(popup, 'remove-account');
    assert.match(await popup.getByTestId('remove-account-name').textContent(), new RegExp(importedAddress));
    assert.match(await popup.getByTestId('remove-account-sites').textContent(), /1 connected site/);
    await popup.getByTestId('remove-account-confirm').click();
    await waitScreen(popup, 'accounts');
    await until(async () => (await popup.locator('[data-testid^="account-row-"]').count()) === 1, 'one account listed');
    await until(
      async () => {
        const r = (await d(() => window.dapp.raw({ method: 'eth_accounts' }))).result ?? [];
        return r.length === 1 && r[0].toLowerCase() === A0.toLowerCase();
      },
      'eth_accounts without the removed account',
    );
    await until(
      async () =>
        (await d(() => window.dapp.events())).some(
          (e) => e.ev === 'accountsChanged' && e.arg.length === 1 && e.arg[0].toLowerCase() === A0.toLowerCase(),
        ),
      'accountsChanged without the removed account',
    );
    const state = await browser.ui('state');
    assert.ok(!state.accounts.some((a) => a.address === importedAddress));
    assert.ok(!JSON.stringify(state.sites).toLowerCase().includes(importedAddress.slice(2).toLowerCase()));
    // The only account: no Remove button, and the worker refuses it by name.
    assert.equal(await popup.getByTestId('account-remove-0').count(), 0);
    await assert.rejects(browser.ui('accounts.remove', { address: A0 }), (e) => e.kind === 'LastAccount');
    assert.equal((await browser.ui('state')).accounts.length, 1);
    // Its key is gone from the vault: nothing exports it any more.
    await assert.rejects(
      browser.ui('secrets.export', { password: PASSWORD, address: importedAddress, what: 'key' }),
      (e) => e.kind === 'UnknownAccount',
    );
    await popup.close();
  });
});
