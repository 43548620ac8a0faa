// The Activity sync category (issue 12), for real: two extension profiles
// (their sync module, tandem_wasm_device_sync) and a CLI device in one
// group through the real relay binary, and a real anvil node. A
// transaction sent from the first browser's popup before Activity syncs
// reaches the second browser once the category is turned on in the first
// browser's Settings, Sync. A transaction sent then (with mining paused)
// shows in the second browser's Activity tab as pending, naming the device
// that sent it, then confirmed once mined and seen confirmed by the
// sender; the CLI holds the records, written by the first. The second
// browser never sends them again (the account's nonce counts the first's
// transactions only). Then the other way: a transaction sent from the
// second browser shows in the first's Activity tab next to its own.
// Run: node --test tests/e2e/sync-activity.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { clickClosing, openPopup, startAnvil, jsonRpc, until, ANVIL_ACCOUNT_0, ANVIL_ACCOUNT_1 } from './lib/index.mjs';
import { cliRecords, onAnvil, turnOnInPopup, twoBrowsersAndCli } from './lib/sync.mjs';

const screen = (page, name) => page.locator(`#app > .app[data-screen="${name}"]`).waitFor({ timeout: 20_000 });

/** Sends `amount` ETH to account 1 from the popup `page` of `browser`,
 *  approved in the approval window; returns the activity entry. */
async function sendFromPopup(browser, page, amount) {
  await page.getByTestId('home-send').click();
  await screen(page, 'send');
  await page.getByTestId('send-to').fill(ANVIL_ACCOUNT_1);
  await page.getByTestId('send-amount').fill(amount);
  const opened = browser.nextApproval();
  await page.getByTestId('send-submit').click();
  const win = await opened;
  await win.getByTestId('approval-screen').waitFor({ timeout: 20_000 });
  const approve = win.getByTestId('approval-approve');
  await until(async () => !(await approve.isDisabled()), 'Approve to be enabled', 20_000);
  const before = new Set((await browser.ui('activity')).map((a) => a.hash));
  await clickClosing(approve);
  return until(
    async () => (await browser.ui('activity')).find((a) => !before.has(a.hash) && !a.sentFrom),
    'the send in its own activity',
    20_000,
  );
}

/** The popup's Activity tab, from Home. */
async function openActivity(page) {
  await page.goto(page.url().replace(/#.*$/, ''));
  await screen(page, 'home');
  await page.getByTestId('tab-activity').click();
}

describe('Activity syncs: a transaction sent in one browser shows in the other with its status', { timeout: 300_000 }, () => {
  let group;
  let anvil;
  before(async () => {
    anvil = await startAnvil();
    group = await twoBrowsersAndCli();
    await onAnvil([group.first, group.second], anvil.url);
  });
  after(async () => {
    await group?.close();
    await anvil?.stop();
  });

  it('turned on in the first browser, its sends show in the second as from it, pending then confirmed; the CLI holds them; the second sends nothing', async () => {
    const { first, second, cli } = group;
    // Sent before Activity syncs (mined at once): it goes when the switch
    // is turned on.
    const a = await openPopup(first);
    await screen(a, 'home');
    const early = await sendFromPopup(first, a, '0.05');
    await until(
      async () => (await first.ui('activity')).find((x) => x.hash === early.hash)?.status === 'confirmed',
      'the early send confirmed in the first browser',
      30_000,
      250,
    );
    await a.close();
    // The second browser's sync module runs (as once its user opened
    // Settings, Sync) before the switch is turned on in the first; it
    // shows only its own (none) while Activity does not sync.
    assert.equal((await second.ui('sync.view')).categories.find((c) => c.category === 'activity').on, false);
    assert.deepEqual(await second.ui('activity'), []);
    await turnOnInPopup(first, 'activity');
    await until(
      async () => (await second.ui('sync.view')).categories?.some((c) => c.category === 'activity' && c.on),
      'the second browser to learn that Activity syncs',
      30_000,
      250,
    );
    const me = await first.ui('devices.view');
    await until(
      async () => (await second.ui('activity')).find((x) => x.hash === early.hash)?.sentFrom === me.name,
      'the send from before the switch in the second browser',
      30_000,
      250,
    );

    // Mining paused: the next transaction stays pending until the test mines it.
    await jsonRpc(anvil.url, 'evm_setAutomine', [false]);
    const a2 = await openPopup(first);
    await screen(a2, 'home');
    const sent = await sendFromPopup(first, a2, '0.1');
    assert.equal(sent.status, 'pending');
    const id = `31337:${sent.hash.slice(2).toLowerCase()}`;

    // The CLI holds the record, written by the first browser, in words.
    const rec = await until(
      async () => (await cliRecords(cli)).find((r) => r.category === 'activity' && r.id === id),
      'the CLI to hold the activity record',
      30_000,
      500,
    );
    assert.equal(rec.from, me.me);
    assert.deepEqual(
      { ...rec.value.activity, at: 0 },
      {
        from: ANVIL_ACCOUNT_0.toLowerCase(),
        to: ANVIL_ACCOUNT_1.toLowerCase(),
        value: '100000000000000000',
        summary: `Sent 0.1 ETH to ${ANVIL_ACCOUNT_1.slice(0, 6).toLowerCase()}…${ANVIL_ACCOUNT_1.slice(-4).toLowerCase()}`,
        status: 'pending',
        at: 0,
      },
    );

    // The second browser shows it, pending, from the first.
    const b = await openPopup(second);
    await screen(b, 'home');
    await b.getByTestId('tab-activity').click();
    await b.getByTestId(`activity-row-${sent.hash}`).waitFor({ timeout: 30_000 });
    assert.equal(await b.getByTestId(`activity-status-${sent.hash}`).textContent(), 'pending');
    assert.equal(await b.getByTestId(`activity-from-${sent.hash}`).textContent(), `Sent from ${me.name}`);
    assert.match(await b.getByTestId(`activity-row-${sent.hash}`).textContent(), /0\.1 ETH/);

    // Mined: the first browser's receipt poll sees it confirmed, and the
    // second's open popup follows.
    await jsonRpc(anvil.url, 'evm_mine', []);
    await b.getByTestId(`activity-status-${sent.hash}`).filter({ hasText: 'confirmed' }).waitFor({ timeout: 60_000 });
    await until(
      async () => (await cliRecords(cli)).find((r) => r.id === id)?.value.activity.status === 'confirmed',
      'the CLI to hold it confirmed',
      30_000,
      500,
    );
    // Shown only: the second browser sent nothing (the account's two
    // transactions on the chain are the first's), its wallet does not
    // hold them (each entry names the first), and it wrote no record.
    await jsonRpc(anvil.url, 'evm_setAutomine', [true]);
    assert.equal(BigInt(await jsonRpc(anvil.url, 'eth_getTransactionCount', [ANVIL_ACCOUNT_0, 'pending'])), 2n);
    assert.deepEqual(
      (await second.ui('activity')).map((x) => [x.hash, x.sentFrom, x.status]),
      [
        [sent.hash, me.name, 'confirmed'],
        [early.hash, me.name, 'confirmed'],
      ],
    );
    const records = (await cliRecords(cli)).filter((r) => r.category === 'activity');
    assert.deepEqual(records.map((r) => r.from), [me.me, me.me]);
    assert.deepEqual(a2.errors, []);
    assert.deepEqual(b.errors, []);
    await a2.close();
    await b.close();
  });

  it('the other way: a send from the second browser shows in the first next to its own', async () => {
    const { first, second } = group;
    const b = await openPopup(second);
    await screen(b, 'home');
    const sent = await sendFromPopup(second, b, '0.2');
    const bName = (await second.ui('devices.view')).name;

    const a = await openPopup(first);
    await openActivity(a);
    await a.getByTestId(`activity-row-${sent.hash}`).waitFor({ timeout: 30_000 });
    await a.getByTestId(`activity-status-${sent.hash}`).filter({ hasText: 'confirmed' }).waitFor({ timeout: 60_000 });
    assert.equal(await a.getByTestId(`activity-from-${sent.hash}`).textContent(), `Sent from ${bName}`);
    // Newest first: the second browser's send, then the first's own two.
    const list = await first.ui('activity');
    assert.deepEqual(
      list.map((x) => x.sentFrom),
      [bName, undefined, undefined],
    );
    assert.equal(list[0].hash, sent.hash);
    assert.equal(BigInt(await jsonRpc(anvil.url, 'eth_getTransactionCount', [ANVIL_ACCOUNT_0, 'latest'])), 3n);
    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors, []);
    await a.close();
    await b.close();
  });
});
