// Connected sites sync (issue 12): a site connected in one browser shows in
// the other browser's Sites tab as "connected on <device>", and gets no
// permission there (its eth_accounts stays empty) until the user connects
// it in that browser too; disconnected in the first, it leaves the second's
// list. Real parts: the built extension in two headless Chromium profiles of
// one wallet, the real relay and the `tandem` CLI in one group
// (tests/e2e/lib/sync.mjs), the test dapp (viem) on 127.0.0.1.
// Run: node --test tests/e2e/sync-sites.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openDapp, openPopup, startDapp, ANVIL_ACCOUNT_0 as A0 } from './lib/index.mjs';
import { answer } from './lib/approve.mjs';
import { cliRecords, turnOnInPopup, twoBrowsersAndCli } from './lib/sync.mjs';

describe('connected sites sync between two browsers, without permission', { timeout: 300_000 }, () => {
  let group, dapp;
  before(async () => {
    [group, dapp] = await Promise.all([twoBrowsersAndCli(), startDapp()]);
  });
  after(async () => {
    await group?.close();
    await dapp?.close();
  });

  it('a site connected in the first browser is listed on the second as connected there, and sees no account on the second', async () => {
    const { first, second, cli } = group;
    const origin = new URL(dapp.url).origin;
    // The user turns "Connected sites" on in the first browser's popup.
    await turnOnInPopup(first, 'sites');

    // The first browser connects the dapp.
    const { page: onFirst } = await openDapp(first, dapp.url);
    const pending = onFirst.evaluate(() => window.dapp.connect());
    await answer(first, 'connect', true);
    assert.deepEqual((await pending).result, [A0]);
    const firstName = (await first.ui('devices.view')).me?.name ?? (await first.ui('devices.view')).name;

    // The second browser's Sites tab lists it as connected on the first.
    const popup = await openPopup(second);
    await popup.getByTestId('tab-sites').click();
    const row = popup.getByTestId(`site-elsewhere-${origin}`);
    await row.waitFor({ timeout: 30_000 });
    const text = await row.textContent();
    assert.match(text, /connected on .+, 1 account$/);
    if (firstName) assert.ok(text.includes(`connected on ${firstName}`), text);
    assert.match(await popup.getByTestId('sites-elsewhere').textContent(), /cannot see your accounts in this browser/);
    assert.match(await popup.getByTestId('site-list').textContent(), /No connected sites/);
    assert.deepEqual(popup.errors, []);

    // The site has no permission in the second browser.
    const { page: onSecond } = await openDapp(second, dapp.url);
    assert.deepEqual((await onSecond.evaluate(() => window.dapp.addresses())).result, []);
    assert.equal((await second.ui('approvals.list')).length, 0, 'nothing asked, nothing granted');

    // The CLI holds the record under the first browser's device id.
    const records = await cliRecords(cli);
    assert.ok(
      records.some((r) => r.category === 'sites' && r.id.endsWith(`/${origin}`)),
      JSON.stringify(records.filter((r) => r.category === 'sites')),
    );

    // Disconnected in the first browser: it leaves the second's list.
    await first.ui('sites.disconnect', { origin });
    await row.waitFor({ state: 'detached', timeout: 30_000 });
    assert.equal(await popup.getByTestId('sites-elsewhere').count(), 0);
    await popup.close();
  });
});
