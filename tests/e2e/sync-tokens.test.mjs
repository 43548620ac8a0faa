// The "Token lists" sync category between two extension profiles and a
// command-line device, for real: the built extension in headless Chromium
// (two profiles), the real relay binary, the real `tandem` CLI and a real
// anvil with an ERC-20. The first browser turns Token lists on in Settings,
// Sync and adds a token in its popup; it shows in the second browser's
// popup and in the CLI's records. The second removes it in its popup: it
// goes from the first browser, the record says hidden, and it does not
// come back when later changes sync. A token a site adds with
// wallet_watchAsset, approved in the first browser's approval window,
// reaches the second browser too.
// Run: node --test tests/e2e/sync-tokens.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openDapp, openPopup, startAnvil, startDapp, until, ANVIL_ACCOUNT_0 } from './lib/index.mjs';
import { answer } from './lib/approve.mjs';
import { deployErc20 } from './lib/erc20.mjs';
import { cliRecords, onAnvil, twoBrowsersAndCli } from './lib/sync.mjs';

const screen = (page, name) => page.locator(`#app > .app[data-screen="${name}"]`).waitFor({ timeout: 20_000 });

const TUSD = '0x2000000000000000000000000000000000000002';
const TWO = '0x2000000000000000000000000000000000000003';
const SITE = '0x2000000000000000000000000000000000000004';
const watched = async (browser, address) =>
  (await browser.ui('state')).assets.some((a) => a.address.toLowerCase() === address);
const tokenRecord = async (cli, address) => (await cliRecords(cli)).find((r) => r.category === 'tokens' && r.id === `31337:${address}`);

/** In the popup, adds the token at `address` (symbol and decimals read from
 *  the contract), as a user does. */
async function addToken(page, address) {
  await page.getByTestId('tab-tokens').click();
  await page.getByTestId('token-add').click();
  await screen(page, 'token-form');
  await page.getByTestId('token-form-address').fill(address);
  await page.getByTestId('token-form-save').click();
  await screen(page, 'home');
}

describe('token lists sync between two browsers and the CLI', () => {
  let group;
  let anvil;
  let dapp;
  before(async () => {
    anvil = await startAnvil();
    dapp = await startDapp();
    await deployErc20(anvil.url, TUSD, { symbol: 'TUSD', decimals: 6, holder: ANVIL_ACCOUNT_0, balance: 5_000_000_000n });
    await deployErc20(anvil.url, TWO, { symbol: 'TWO', decimals: 18, holder: ANVIL_ACCOUNT_0, balance: 10n ** 18n });
    await deployErc20(anvil.url, SITE, { symbol: 'SITE', decimals: 18, holder: ANVIL_ACCOUNT_0, balance: 10n ** 18n });
    group = await twoBrowsersAndCli();
    await onAnvil([group.first, group.second], anvil.url);
  });
  after(async () => {
    await group?.close();
    await anvil?.stop();
    await dapp?.close();
  });

  it('a token added in one popup shows in the other popup and on the CLI; removed in the other, it goes and stays gone', async () => {
    const { first, second, cli } = group;
    const page = await openPopup(first);
    await page.getByTestId('settings-button').click();
    await page.getByTestId('open-sync').click();
    await screen(page, 'sync');
    await page.getByTestId('sync-toggle-tokens').click();
    await page.getByTestId('sync-toggle-tokens').filter({ hasText: 'On' }).waitFor({ timeout: 20_000 });
    // The second browser's user opened Sync too (its sync module runs) and
    // learns the category is on.
    await until(
      async () => (await second.ui('sync.view')).categories.some((c) => c.category === 'tokens' && c.on),
      'the second browser to learn that token lists sync',
      30_000,
      250,
    );

    await page.goto(first.url('extension/popup.html'));
    await screen(page, 'home');
    await addToken(page, TUSD);
    await page.getByTestId(`token-row-${TUSD}`).waitFor({ timeout: 20_000 });

    // In the second browser's wallet and popup, with the contract's facts.
    await until(() => watched(second, TUSD), 'the token in the second wallet', 30_000, 250);
    const other = await openPopup(second);
    await other.getByTestId('tab-tokens').click();
    await until(
      async () => (await other.getByTestId('token-balance-TUSD').textContent().catch(() => '')) === '5,000',
      'the second popup to show 5,000 TUSD',
      20_000,
    );
    // The CLI holds the record: shown, named by its symbol.
    const rec = await until(() => tokenRecord(cli, TUSD), 'the token record on the CLI', 30_000, 500);
    assert.deepEqual(rec.value, { token: { symbol: 'TUSD', name: 'TUSD', decimals: 6, hidden: false } });

    // Removed in the second popup: gone from the first, hidden on the CLI.
    await other.getByTestId(`token-remove-${TUSD}`).click();
    await other.getByTestId(`token-row-${TUSD}`).waitFor({ state: 'detached', timeout: 20_000 });
    await until(async () => !(await watched(first, TUSD)), 'the token to go from the first wallet', 30_000, 250);
    await until(async () => (await tokenRecord(cli, TUSD))?.value.token.hidden === true, 'the record hidden on the CLI', 30_000, 500);
    await page.goto(first.url('extension/popup.html'));
    await screen(page, 'home');
    await page.getByTestId('tab-tokens').click();
    await page.getByTestId('portfolio-refresh').click();
    await page.getByTestId(`token-row-${TUSD}`).waitFor({ state: 'detached', timeout: 20_000 });

    // A later change syncs (another token, added in the first popup); once
    // it is in the second wallet, the hidden one is still gone from both.
    await addToken(page, TWO);
    await until(() => watched(second, TWO), 'the second token in the second wallet', 30_000, 250);
    assert.equal(await watched(second, TUSD), false);
    assert.equal(await watched(first, TUSD), false);
    assert.equal((await tokenRecord(cli, TUSD)).value.token.hidden, true);

    assert.deepEqual(page.errors, []);
    assert.deepEqual(other.errors, []);
    await page.close();
    await other.close();
  });

  it("a token a site adds with wallet_watchAsset, approved in the first browser, reaches the second", async () => {
    const { first, second, cli } = group;
    const { page } = await openDapp(first, dapp.url);
    const connected = page.evaluate(() => window.dapp.connect());
    await answer(first, 'connect', true);
    assert.equal((await connected).result?.[0], ANVIL_ACCOUNT_0);
    const added = page.evaluate(
      (address) => window.dapp.raw({ method: 'wallet_watchAsset', params: { type: 'ERC20', options: { address, symbol: 'SITE', decimals: 18 } } }),
      SITE,
    );
    await answer(first, 'watch_asset', true);
    assert.equal((await added).result, true);
    await until(() => watched(second, SITE), 'the site\'s token in the second wallet', 30_000, 250);
    const rec = await until(() => tokenRecord(cli, SITE), 'the site\'s token record on the CLI', 30_000, 500);
    assert.deepEqual(rec.value, { token: { symbol: 'SITE', name: 'SITE', decimals: 18, hidden: false } });
    await page.close();
  });
});
