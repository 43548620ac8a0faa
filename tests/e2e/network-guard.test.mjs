// The network guard of every test browser (lib/guard.mjs) works: a request
// to a host outside 127.0.0.1 fails at once (no DNS lookup, no timeout) and
// is recorded, so closing the browser would fail the test file; and a wallet
// set up on a local network contacts nothing outside 127.0.0.1 but the
// built-in networks' RPCs while the popup shows its home screen.
// Run: node --test tests/e2e/network-guard.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPopup, startAnvil, until, ANVIL_MNEMONIC, PASSWORD } from './lib/index.mjs';
import { onboardImport } from './lib/onboard.mjs';

describe('no test reaches the public internet', { timeout: 120_000 }, () => {
  let browser, anvil;

  before(async () => {
    [anvil, browser] = await Promise.all([startAnvil(), launch()]);
  });
  after(async () => {
    await browser?.close();
    await anvil?.stop();
  });

  it('refuses and records a request from an extension page to an outside host', async () => {
    const started = Date.now();
    const outcome = await browser.ext.evaluate(() =>
      fetch('https://tracker.example/pixel').then(
        (r) => `status ${r.status}`,
        (e) => `refused: ${e.name}`,
      ),
    );
    assert.match(outcome, /^refused/, 'the guard lets nothing through');
    const leaks = browser.guard.leaks().map((l) => l.host);
    assert.deepEqual(leaks, ['tracker.example:443'], 'the attempt is recorded as a leak');
    console.log(`guard: refused in ${Date.now() - started} ms`);
    // Forget it, so that closing this browser does not fail the file.
    browser.guard.attempts.length = 0;
  });

  it('a wallet on a local network tries nothing outside 127.0.0.1 but built-in RPCs', async () => {
    await onboardImport(browser, ANVIL_MNEMONIC, PASSWORD);
    await browser.ui('networks.upsert', { chainId: 31337, name: 'Anvil', rpcUrl: anvil.url, symbol: 'ETH' });
    await browser.ui('networks.select', { chainId: 31337 });
    const popup = await openPopup(browser);
    await until(
      async () => (await popup.getByTestId('native-balance').textContent()) === '10,000 ETH',
      'the anvil balance',
      20_000,
    );
    assert.deepEqual(browser.guard.leaks(), []);
    const tried = browser.guard.attempts.map((a) => a.host);
    console.log(`outside 127.0.0.1 (all refused): ${JSON.stringify([...new Set(tried)])}`);
    await popup.close();
  });
});
