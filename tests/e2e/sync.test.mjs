// Sync between the extension and a command-line device, for real: the
// built extension in headless Chromium (its sync module,
// tandem_wasm_device_sync), the real relay binary and the real `tandem`
// CLI, all on 127.0.0.1, in one wallet group. The popup turns sync on in
// Settings, Sync; an address-book entry and an account name set on the CLI
// and a network set on the CLI show in the popup (the entry and the network
// with a notice naming the CLI device); an entry added, an account renamed
// and a network added in the popup show in the CLI's `sync show --json`; an
// account order set on the CLI applies in the wallet and Move up in the
// popup's Accounts reaches the CLI. Then two extension profiles and a CLI in one group:
// with the relay stopped each adds an entry (the popup says "Offline: 1
// change waiting"), and after it restarts on the same port and database
// all three hold every entry and the popup says "Synced".
// Run: node --test tests/e2e/sync.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { openPopup, startAnvil, until, ANVIL_ACCOUNT_0 } from './lib/index.mjs';
import { getAddress } from 'viem';
import { startPhone, approveFromLink, walletOnRelay } from './lib/devices.mjs';
import { cliRecords, names, contact, addEntry, twoBrowsersAndCli } from './lib/sync.mjs';

const screen = (page, name) => page.locator(`#app > .app[data-screen="${name}"]`).waitFor({ timeout: 20_000 });

const ALICE = `0x${'ab'.repeat(20)}`;
const BOB = `0x${'cd'.repeat(20)}`;

describe('the extension and a command-line device sync their metadata through the relay', () => {
  let relay;
  let browser;
  let laptop;
  // Real nodes for the synced networks: a network is saved only if its RPC
  // serves the chain it names, also when it comes from another device.
  let devnetNode;
  let testnetNode;
  before(async () => {
    [devnetNode, testnetNode] = await Promise.all([startAnvil({ chainId: 31338 }), startAnvil({ chainId: 31339 })]);
    ({ relay, browser } = await walletOnRelay());
    // The browser approves the CLI device into its group (pasted link,
    // codes compared on both sides).
    laptop = await startPhone(relay.url, 'laptop');
    const page = await openPopup(browser);
    await approveFromLink(page, laptop);
    await until(async () => {
      const v = await browser.ui('devices.view');
      return v.online && v.devices.some((d) => d.name === 'laptop');
    }, 'the laptop in the group');
    await page.close();
  });
  after(async () => {
    await browser?.close();
    await laptop?.close();
    await relay?.stop();
    await Promise.all([devnetNode?.stop(), testnetNode?.stop()]);
  });

  it('Settings, Sync lists every category with what it carries, and turns three on', async () => {
    const page = await openPopup(browser);
    await page.getByTestId('settings-button').click();
    await page.getByTestId('open-sync').click();
    await screen(page, 'sync');
    await page.getByTestId('sync-toggle-accounts').waitFor({ timeout: 20_000 });
    assert.match(await page.getByTestId('sync-status').textContent(), /Sync is off/);
    assert.match(await page.getByTestId('sync-never').textContent(), /Keys, recovery phrases, passwords and session keys never sync/);
    for (const k of ['accounts', 'tokens', 'balances', 'activity', 'address_book', 'networks', 'sites']) {
      assert.ok((await page.getByTestId(`sync-about-${k}`).textContent()).length > 10, k);
      assert.equal(await page.getByTestId(`sync-toggle-${k}`).textContent(), 'Off', k);
    }
    await page.getByTestId('sync-toggle-accounts').click();
    await page.getByTestId('sync-toggle-accounts').filter({ hasText: 'On' }).waitFor();
    await page.getByTestId('sync-toggle-address_book').click();
    await page.getByTestId('sync-toggle-address_book').filter({ hasText: 'On' }).waitFor();
    await page.getByTestId('sync-toggle-networks').click();
    await page.getByTestId('sync-toggle-networks').filter({ hasText: 'On' }).waitFor();
    await page.getByTestId('sync-status').filter({ hasText: /Synced|Saving|waiting/ }).waitFor({ timeout: 20_000 });
    // Home shows the status too, from now on.
    await page.goto(browser.url('extension/popup.html'));
    await page.getByTestId('home-sync-line').filter({ hasText: /^(Synced|Saving|\d+ changes? waiting)/ }).waitFor({ timeout: 20_000 });
    // The sync state is stored sealed: no record or category name in clear.
    const stored = await browser.ext.evaluate(() => chrome.storage.local.get('tandem.sync'));
    assert.ok(stored['tandem.sync'], 'the sync state is stored');
    assert.doesNotMatch(stored['tandem.sync'], /address_book|enabled/);
    assert.deepEqual(page.errors, []);
    await page.close();
    // The CLI learns which categories sync.
    await until(async () => {
      const out = await laptop.run(['sync', 'show']);
      return /syncing: .*Account names.*Address book, Networks/.test(out);
    }, 'the CLI to learn that accounts, the address book and networks sync', 30_000, 500);
  });

  it('the log holds the pairing this browser approved and the session token it issued, signed (recorded once sync loaded)', async () => {
    const laptopId = (await browser.ui('devices.view')).devices.find((d) => d.name === 'laptop').id;
    const log = await until(async () => {
      const v = await browser.ui('audit.view');
      return v.entries.some((e) => e.happened.kind === 'token') && v;
    }, 'the token entry in the log', 20_000, 200);
    const mine = log.entries.filter((e) => e.device === log.me);
    const paired = mine.filter((e) => e.happened.kind === 'paired' && e.happened.device === laptopId);
    const issued = mine.filter((e) => e.happened.kind === 'token' && e.happened.device === laptopId);
    assert.equal(paired.length, 1, JSON.stringify(log.entries));
    assert.equal(issued.length, 1, JSON.stringify(log.entries));
    assert.equal(issued[0].happened.action, 'issued');
    // A 30-day token, issued at the pairing.
    const days = (issued[0].happened.expires_at * 1000 - issued[0].atMs) / 86_400_000;
    assert.ok(days > 29.9 && days < 30.1, `${days} days`);
    assert.deepEqual([...paired, ...issued].map((e) => e.verdict.status), ['ok', 'ok']);
  });

  it('an entry, an account name and a network set on the CLI show in the popup, the entry and the network with a notice naming the CLI', async () => {
    const page = await openPopup(browser);
    await page.getByTestId('settings-button').click();
    await page.getByTestId('open-sync').click();
    await screen(page, 'sync');
    await laptop.run(['sync', 'set', 'address_book', ALICE, '{"contact":{"name":"Alice","note":""}}']);
    const row = page.getByTestId(`sync-contact-${ALICE}`);
    await row.waitFor({ timeout: 20_000 });
    assert.match(await row.textContent(), /Alice.*from laptop/);
    const notice = page.getByTestId('sync-notice-0');
    await notice.waitFor({ timeout: 20_000 });
    assert.match(await notice.textContent(), new RegExp(`Address book entry ${ALICE} was added on laptop`));

    await laptop.run(['sync', 'set', 'accounts', ANVIL_ACCOUNT_0.toLowerCase(), '{"account":{"name":"Savings","order":0,"hidden":false}}']);
    await until(async () => {
      const s = await browser.ui('state');
      return s.accounts.find((a) => a.address === ANVIL_ACCOUNT_0)?.name === 'Savings';
    }, 'the account name from the CLI in the wallet', 20_000, 200);
    await page.goto(browser.url('extension/popup.html'));
    await page.getByText('Savings').first().waitFor({ timeout: 20_000 });

    // A network added on the CLI: in the wallet's list, announced with the
    // device it came from.
    const devnet = { name: 'Devnet', rpc: devnetNode.url, currency: 'DEV', decimals: 18, explorer: null };
    await laptop.run(['sync', 'set', 'networks', '31338', JSON.stringify({ network: devnet })]);
    await until(async () => {
      const s = await browser.ui('state');
      return s.networks.some((n) => n.chainId === 31338 && n.name === 'Devnet' && n.rpcUrl === devnet.rpc);
    }, 'the network from the CLI in the wallet', 20_000, 200);
    // Home says so too (its line follows the sync events while it is
    // open), and the line opens Settings, Sync.
    const line = page.getByTestId('home-sync-line');
    await line.filter({ hasText: / · 2 changes from other devices to read$/ }).waitFor({ timeout: 20_000 });
    await line.click();
    await screen(page, 'sync');
    await page.getByTestId('sync-notice-0').filter({ hasText: 'Networks entry 31338 was added on laptop.' }).waitFor({ timeout: 20_000 });
    assert.match(await page.getByTestId('sync-notice-1').textContent(), /Address book entry .* was added on laptop/);
    await page.getByTestId('sync-dismiss').click();
    await page.getByTestId('sync-notices').waitFor({ state: 'detached' });
    // Read: Home's line has nothing left to read.
    await page.goto(browser.url('extension/popup.html'));
    await line.filter({ hasText: /^(Synced|Saving)/ }).waitFor({ timeout: 20_000 });
    assert.doesNotMatch(await line.textContent(), /to read/);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('three address-book entries imported at once on the CLI are one notification, each listed in Settings, Sync', async () => {
    // Every notification the worker creates from here on, by id, recorded
    // in the worker itself: Chrome closes shown ones after a while, so
    // `getAll()` misses the import's once the machine is slow (seen: none
    // left 20 s later). The record lives as long as the worker: a restart
    // in between fails the test with its own message, not a wrong count.
    const worker = browser.context.serviceWorkers().find((w) => w.url().includes(browser.extId));
    await worker.evaluate(() => {
      self.tandemNotes = [];
      const create = chrome.notifications.create.bind(chrome.notifications);
      chrome.notifications.create = (id, options) => {
        self.tandemNotes.push(id);
        return create(id, options);
      };
    });
    const notes = async () => {
      const ids = await worker.evaluate(() => self.tandemNotes ?? null);
      assert.ok(ids, 'the worker kept running (its record of notifications is there)');
      return ids.filter((id) => id.startsWith('tandem-sync_notice-'));
    };
    const before = await notes();
    const addr = (n) => `0x${n.repeat(20)}`;
    const items = [
      ['11', 'Carol'],
      ['22', 'Dave'],
      ['33', 'Erin'],
    ].map(([n, name]) => ({ category: 'address_book', id: addr(n), value: contact(name) }));
    const file = path.join(laptop.home, 'import.json');
    await writeFile(file, JSON.stringify(items));
    assert.match(await laptop.run(['sync', 'set-many', file]), /3 records saved/);
    await until(async () => (await notes()).length > before.length, 'the import announced');
    // Barrier: one more change after the import, announced on its own; once
    // its notification is there, anything the import caused has arrived.
    await laptop.run(['sync', 'set', 'address_book', addr('44'), JSON.stringify(contact('Frank'))]);
    await until(async () => (await notes()).length >= before.length + 2, 'the single change announced');
    assert.equal((await notes()).length, before.length + 2, 'the import is one notification, the change after it another');
    // The worker lists what the screen asks for, and counts the rest.
    const all = await browser.ui('sync.view');
    const book = all.records.filter((r) => r.category === 'address_book');
    assert.ok(book.length >= 4, JSON.stringify(book));
    assert.equal(all.totals.address_book, book.length);
    const two = await browser.ui('sync.view', { limit: 2 });
    assert.deepEqual(
      two.records.filter((r) => r.category === 'address_book'),
      book.slice(0, 2),
    );
    assert.deepEqual(two.totals, all.totals);
    const counts = await browser.ui('sync.status');
    assert.deepEqual([counts.records, counts.totals], [[], all.totals], "Home's line: counts only");
    await assert.rejects(browser.ui('sync.view', { limit: -1 }), /bad sync view limit/);
    await assert.rejects(browser.ui('sync.view', { limit: '10' }), /bad sync view limit/);
    // Nothing is hidden by the coalescing: Settings, Sync names each one.
    const page = await openPopup(browser);
    await page.getByTestId('settings-button').click();
    await page.getByTestId('open-sync').click();
    await screen(page, 'sync');
    const listed = await page.getByTestId('sync-notices').textContent();
    for (const [n] of [['11'], ['22'], ['33'], ['44']]) assert.ok(listed.includes(getAddress(addr(n))) || listed.includes(addr(n)), `${addr(n)} in ${listed}`);
    await page.getByTestId('sync-dismiss').click();
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('an entry added, an account renamed and a network added in the popup show on the CLI', async () => {
    const page = await openPopup(browser);
    await page.getByTestId('settings-button').click();
    await page.getByTestId('open-sync').click();
    await screen(page, 'sync');
    await page.getByTestId('sync-contact-address').fill(BOB.toUpperCase().replace('0X', '0x'));
    await page.getByTestId('sync-contact-name').fill('Bob');
    await page.getByTestId('sync-contact-add').click();
    await page.getByTestId(`sync-contact-${BOB}`).waitFor({ timeout: 20_000 });
    // A bad address is refused with its reason, and nothing is sent.
    await page.getByTestId('sync-contact-address').fill('0x1234');
    await page.getByTestId('sync-contact-name').fill('Mallory');
    await page.getByTestId('sync-contact-add').click();
    assert.match(await page.getByTestId('form-error').textContent(), /0x followed by 40 hex/);
    await browser.ui('accounts.rename', { address: ANVIL_ACCOUNT_0, name: 'Main' });
    await browser.ui('networks.upsert', { chainId: 31339, name: 'Testnet B', rpcUrl: testnetNode.url, symbol: 'TB' });
    const records = await until(async () => {
      const r = await cliRecords(laptop);
      const bob = r.find((x) => x.category === 'address_book' && x.id === BOB);
      const acct = r.find((x) => x.category === 'accounts' && x.id === ANVIL_ACCOUNT_0.toLowerCase());
      const net = r.find((x) => x.category === 'networks' && x.id === '31339');
      return bob && acct?.value.account.name === 'Main' && net?.value.network.rpc === testnetNode.url && r;
    }, 'the popup\'s entry, name and network on the CLI', 30_000, 500);
    const bob = records.find((x) => x.id === BOB);
    assert.equal(bob.value.contact.name, 'Bob');
    const me = (await browser.ui('devices.view')).me;
    assert.equal(bob.from, me, 'written by the browser');
    assert.ok(!records.some((x) => JSON.stringify(x).includes('Mallory')));
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('an account order set on the CLI applies in the wallet; Move up in Accounts puts it back, and the CLI gets the places', async () => {
    await browser.ui('accounts.add');
    const before = (await browser.ui('state')).accounts;
    assert.deepEqual(before.map((a) => a.name), ['Main', 'Account 2']);
    const [main, second] = before.map((a) => a.address);
    // The CLI puts the second account first (each record keeps its name).
    const rec = (name, order) => JSON.stringify({ account: { name, order, hidden: false } });
    await laptop.run(['sync', 'set', 'accounts', second.toLowerCase(), rec('Account 2', 0)]);
    await laptop.run(['sync', 'set', 'accounts', main.toLowerCase(), rec('Main', 1)]);
    await until(
      async () => (await browser.ui('state')).accounts.map((a) => a.address).join() === [second, main].join(),
      'the order from the CLI in the wallet',
      20_000,
      200,
    );
    // The Accounts screen shows it; one tap moves Main up again.
    const page = await openPopup(browser);
    await page.getByTestId('account-button').click();
    await screen(page, 'accounts');
    assert.equal(await page.getByTestId('account-label-0').textContent(), 'Account 2');
    assert.equal(await page.getByTestId('account-up-0').count(), 0, 'the first has no Move up');
    await page.getByTestId('account-up-1').click();
    await page.getByTestId('account-label-0').filter({ hasText: 'Main' }).waitFor({ timeout: 20_000 });
    assert.deepEqual((await browser.ui('state')).accounts.map((a) => a.address), [main, second]);
    const places = (r, a) => r.find((x) => x.category === 'accounts' && x.id === a.toLowerCase())?.value.account.order;
    await until(async () => {
      const r = await cliRecords(laptop);
      return places(r, main) === 0 && places(r, second) === 1;
    }, 'the places from the popup on the CLI', 30_000, 500);
    // A reload keeps the order (the keyring's list does not reset it).
    await page.goto(browser.url('extension/popup.html'));
    await page.getByTestId('account-button').click();
    await screen(page, 'accounts');
    assert.equal(await page.getByTestId('account-label-0').textContent(), 'Main');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('Send offers the address book: picking an entry fills the recipient with its checksummed address', async () => {
    const page = await openPopup(browser);
    await page.getByTestId('home-send').click();
    await screen(page, 'send');
    const pick = page.getByTestId('send-contact');
    await pick.waitFor({ timeout: 20_000 });
    const options = await pick.locator('option').allTextContents();
    const bob = options.find((o) => o.startsWith('Bob ('));
    assert.ok(bob, JSON.stringify(options));
    await pick.selectOption({ label: bob });
    await until(async () => (await page.getByTestId('send-to').inputValue()) === getAddress(BOB), 'the recipient filled from the pick');
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});

describe('two extension profiles and a CLI converge after a relay outage', () => {
  let group;
  let relay;
  let first;
  let second;
  let cli;
  before(async () => {
    group = await twoBrowsersAndCli();
    ({ relay, first, second, cli } = group);
  });
  after(async () => {
    await group?.close();
  });

  it('edits made on all three while the relay is down arrive everywhere once it is back', async () => {
    // Sync on in the first browser; the second (its user opened Sync) and
    // the CLI learn it.
    await first.ui('sync.edit', { field: { enabled: { category: 'address_book' } }, value: { enabled: true } });
    await addEntry(first, ALICE, 'Alice');
    await until(async () => {
      const v = await second.ui('sync.view');
      return names(v).includes('Alice');
    }, 'the second browser to get Alice', 30_000, 250);
    await until(async () => (await cliRecords(cli)).some((r) => r.id === ALICE), 'the CLI to get Alice', 30_000, 500);

    await relay.halt();
    await until(async () => !(await first.ui('sync.view')).online, 'the first browser to notice', 30_000, 250);
    await until(async () => !(await second.ui('sync.view')).online, 'the second browser to notice', 30_000, 250);
    const carol = `0x${'01'.repeat(20)}`;
    const dave = `0x${'02'.repeat(20)}`;
    const erin = `0x${'03'.repeat(20)}`;
    await addEntry(first, carol, 'Carol');
    await addEntry(second, dave, 'Dave');
    const out = await cli.run(['sync', 'set', 'address_book', erin, JSON.stringify(contact('Erin'))]);
    assert.match(out, /saved on this device/);
    // The popup says what waits.
    const page = await openPopup(first);
    await page.getByTestId('settings-button').click();
    await page.getByTestId('open-sync').click();
    await screen(page, 'sync');
    assert.match(await page.getByTestId('sync-status').textContent(), /^Offline: 1 change waiting$/);

    await relay.restart();
    // The browsers reconnect by themselves; the CLI when it runs.
    const all = ['Alice', 'Carol', 'Dave', 'Erin'];
    await until(async () => {
      const c = await cliRecords(cli);
      return all.every((n) => c.some((r) => r.value?.contact?.name === n));
    }, 'the CLI to hold all four', 90_000, 1000);
    for (const [who, b] of [
      ['first', first],
      ['second', second],
    ]) {
      let v;
      await until(
        async () => {
          v = await b.ui('sync.view');
          return JSON.stringify(names(v)) === JSON.stringify(all);
        },
        `the ${who} browser to hold all four`,
        90_000,
        500,
      ).catch((e) => {
        e.message += ` ${JSON.stringify({ ...v, records: names(v) })}`;
        throw e;
      });
    }
    // Without being asked: the worker's events bring the popup up to date.
    await page.getByTestId('sync-status').filter({ hasText: /^Synced/ }).waitFor({ timeout: 60_000 });
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
