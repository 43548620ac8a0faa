// Helpers of the sync end-to-end tests: a browser joining a CLI device's
// group, the CLI's synced records, address-book entries.
import assert from 'node:assert/strict';
import { launch, openPopup, until, ANVIL_MNEMONIC, PASSWORD } from './index.mjs';
import { onboardImport } from './onboard.mjs';
import { startPhone, walletOnRelay } from './devices.mjs';

/** The CLI's synced records (it goes online, applies what waits, answers). */
export async function cliRecords(cli) {
  const out = await cli.run(['sync', 'show', '--json']);
  return JSON.parse(out.trim().split('\n').pop()).records;
}

/** The browser joins the CLI's group: it shows an offer, the CLI accepts
 *  it, both compare the code. */
export async function joinGroupOf(browser, cli) {
  await browser.ui('devices.command', { kind: 'show_offer' });
  const offer = await until(async () => {
    const v = await browser.ui('devices.view');
    return v.pairing?.step === 'offer' && v.pairing;
  }, 'an offer');
  const accept = cli.spawn(['pair', 'accept', offer.link, '--compare', '--timeout', '60']);
  // A pairing that stalls says where each side was (failed once in a
  // local loop, the CLI silent for 30 s).
  const code = await accept.wait('code: ').catch(async (e) => {
    const view = await browser.ui('devices.view').catch((x) => `no view: ${x.message}`);
    e.message += `\nthe browser's devices view: ${JSON.stringify(view)}\nthe worker said: ${JSON.stringify(browser.workerLog)}`;
    throw e;
  });
  const shown = await until(async () => {
    const v = await browser.ui('devices.view');
    return v.pairing?.step === 'confirm_code' && v.pairing.code;
  }, 'the code on the browser', 20_000);
  assert.equal(shown.replace(/\s/g, ''), code.replace(/\s/g, ''));
  await browser.ui('devices.command', { kind: 'confirm_code', matches: true });
  accept.answer('y');
  await accept.wait('approved: ', 30_000);
  assert.equal(await accept.exit, 0, accept.stderr);
  await until(async () => {
    const v = await browser.ui('devices.view');
    return v.paired && v.online;
  }, 'the browser paired and online', 30_000);
}

/** The address-book names in a `sync.view`, sorted. */
export const names = (view) =>
  view.records
    .filter((r) => r.category === 'address_book')
    .map((r) => r.value.contact.name)
    .sort();
export const contact = (name) => ({ contact: { name, note: '' } });
/** Adds an address-book entry through the worker, as the Sync screen does. */
export const addEntry = (browser, id, name) =>
  browser.ui('sync.edit', { field: { record: { category: 'address_book', id } }, value: contact(name) });

/** The real relay, two extension profiles with the anvil wallet and a CLI
 *  device `desk`, the browsers joined to the CLI's group. `close()` stops
 *  them all. */
export async function twoBrowsersAndCli() {
  const { relay, browser: first } = await walletOnRelay();
  const second = await launch();
  await onboardImport(second, ANVIL_MNEMONIC, PASSWORD);
  await second.ui('devices.relay.set', { relay: relay.url });
  const cli = await startPhone(relay.url, 'desk');
  await joinGroupOf(first, cli);
  await joinGroupOf(second, cli);
  return {
    relay,
    first,
    second,
    cli,
    async close() {
      await first.close();
      await second.close();
      await cli.close();
      await relay.stop();
    },
  };
}

/** The browsers show chain 31337, read from the anvil node at `url` (set up
 *  on each: the Networks category stays off). */
export async function onAnvil(browsers, url) {
  for (const b of browsers) {
    await b.ui('networks.upsert', { chainId: 31337, name: 'Anvil', rpcUrl: url, symbol: 'ETH' });
    await b.ui('networks.select', { chainId: 31337 });
  }
}

/** The user turns sync category `category` on (for the whole group) in the
 *  browser's popup: Settings, Sync, its switch. */
export async function turnOnInPopup(browser, category) {
  const page = await openPopup(browser);
  await page.getByTestId('settings-button').click();
  await page.getByTestId('open-sync').click();
  await page.getByTestId(`sync-toggle-${category}`).click();
  await page.getByTestId(`sync-toggle-${category}`).filter({ hasText: 'On' }).waitFor({ timeout: 20_000 });
  assert.deepEqual(page.errors, []);
  await page.close();
}
