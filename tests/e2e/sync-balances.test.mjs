// Last known balances sync (issue 12): a balance read on one browser shows
// on another, with the time it was read there, before (and without) the
// other's own read. Real parts: the built extension in two headless
// Chromium profiles of one wallet, the real relay and the `tandem` CLI in
// one group (tests/e2e/lib/sync.mjs), and two anvil nodes of chain 31337:
// the first browser's network reads node A, the second's reads node B,
// which is stopped (having said 10,000 ETH at most), so the balance node A
// says (2.75 ETH) can reach the second browser only through the group.
// Run: node --test tests/e2e/sync-balances.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openPopup, startAnvil, until, jsonRpc, ANVIL_ACCOUNT_0 as A0 } from './lib/index.mjs';
import { cliRecords, turnOnInPopup, twoBrowsersAndCli } from './lib/sync.mjs';

const MILLI = 10n ** 15n;
const hex = (n) => '0x' + BigInt(n).toString(16);
const rowId = (chainId, a) => `${chainId}-${a.toLowerCase()}`;
const recordOf = (p, chainId, a) => p?.all?.find((r) => r.chainId === chainId && r.address.toLowerCase() === a.toLowerCase());

describe('last known balances sync between two browsers', { timeout: 300_000 }, () => {
  let group, nodeA, nodeB;
  before(async () => {
    [group, nodeA, nodeB] = await Promise.all([twoBrowsersAndCli(), startAnvil(), startAnvil()]);
    const { first, second } = group;
    await first.ui('networks.upsert', { chainId: 31337, name: 'Anvil', rpcUrl: nodeA.url, symbol: 'ETH' });
    await first.ui('networks.select', { chainId: 31337 });
    await second.ui('networks.upsert', { chainId: 31337, name: 'Anvil', rpcUrl: nodeB.url, symbol: 'ETH' });
    await second.ui('networks.select', { chainId: 31337 });
    // The second browser's node goes before it is asked for a balance: the
    // second browser can learn one only from the group.
    await nodeB.stop();
    nodeB = null;
    await jsonRpc(nodeA.url, 'anvil_setBalance', [A0, hex(2750n * MILLI)]);
  });
  after(async () => {
    await group?.close();
    await Promise.all([nodeA?.stop(), nodeB?.stop()]);
  });

  it('turned on in the popup, a balance read on the first browser shows on the second with its time', async () => {
    const { first, second, cli } = group;
    // The second browser may have read node B (10,000 ETH) before it went,
    // never node A's 2.75 ETH; it can read nothing now.
    await assert.rejects(second.ui('portfolio.refresh'));
    assert.notEqual(recordOf(await second.ui('portfolio'), 31337, A0)?.native.balance, hex(2750n * MILLI));

    // The user turns "Last known balances" on in the first browser's popup.
    await turnOnInPopup(first, 'balances');
    // The first browser reads node A (the popup does so when it opens).
    const before = Date.now();
    await first.ui('portfolio.refresh');
    const mine = recordOf(await first.ui('portfolio'), 31337, A0);
    assert.equal(mine.native.balance, hex(2750n * MILLI));
    assert.ok(mine.updatedAt >= before, 'read now');

    // The second browser's popup shows it, as of the first browser's read.
    const popup = await openPopup(second);
    await until(
      async () => (await popup.getByTestId('native-balance').textContent().catch(() => '')) === '2.75 ETH',
      'the first browser\'s balance on the second',
      30_000,
    );
    assert.match(await popup.getByTestId(`everywhere-asof-${rowId(31337, A0)}`).textContent(), /^as of /);
    const theirs = recordOf(await second.ui('portfolio'), 31337, A0);
    assert.equal(theirs.updatedAt, mine.updatedAt, 'the time it was read on the first browser');
    assert.deepEqual(popup.errors, []);
    await popup.close();

    // The CLI holds the record (decimal wei, the read's time).
    const records = await cliRecords(cli);
    const rec = records.find((r) => r.category === 'balances' && r.id === `31337:${A0.toLowerCase()}:native`);
    assert.ok(rec, JSON.stringify(records.filter((r) => r.category === 'balances')));
    assert.match(JSON.stringify(rec.value), new RegExp(`"${(2750n * MILLI).toString()}"`));
  });

  it('a newer read on the first browser replaces it; the second browser never stores it as its own', async () => {
    const { first, second } = group;
    await jsonRpc(nodeA.url, 'anvil_setBalance', [A0, hex(1250n * MILLI)]);
    await first.ui('portfolio.refresh');
    await until(
      async () => recordOf(await second.ui('portfolio'), 31337, A0)?.native.balance === hex(1250n * MILLI),
      'the newer balance on the second browser',
      30_000,
    );
    // The second browser's own stored reads hold none of the first's
    // balances (at most what node B said before it went).
    const stored = await second.ext.evaluate(() => chrome.storage.local.get('tandem.cache.portfolio'));
    const own = stored['tandem.cache.portfolio'] ?? [];
    const fromFirst = [hex(2750n * MILLI), hex(1250n * MILLI)];
    assert.equal(own.filter((r) => fromFirst.includes(r.native.balance)).length, 0, JSON.stringify(own));
  });
});
