// Content scripts cannot read or write the wallet's stored state (issue 13,
// item 10). A content script runs in the web page's renderer process, so a
// compromised renderer gets whatever the content script can reach: here it
// is the attacker, running code in the content script's own isolated world
// (found with CDP) on a dapp page. chrome.storage.local holds the sealed
// vault, the wallet state (networks, connected sites) and the device state;
// before this change a content script could read all of it and plant a
// connection or an RPC URL. The worker now restricts the area to the
// extension's own pages on boot; what the page side needs (the
// ownWindowEthereum setting) comes in a message
// (provider.test.mjs "leaves window.ethereum to another wallet ...").
// Run: node --test tests/e2e/storage.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startDapp, openDapp, inContentScript, ANVIL_MNEMONIC, PASSWORD } from './lib/index.mjs';
import { onboardImport } from './lib/onboard.mjs';

describe('a content script cannot reach the wallet\'s storage', { timeout: 120_000 }, () => {
  let browser, dapp, page;

  before(async () => {
    [dapp, browser] = await Promise.all([startDapp(), launch()]);
    await onboardImport(browser, ANVIL_MNEMONIC, PASSWORD);
    ({ page } = await openDapp(browser, dapp.url));
  });
  after(async () => {
    await browser?.close();
    await dapp?.close();
  });

  it('reading chrome.storage.local from the content script fails and reveals nothing', async () => {
    // The extension's own page reads it (the area is not simply broken).
    const own = await browser.ext.evaluate(() => chrome.storage.local.get(null).then((v) => Object.keys(v)));
    assert.ok(own.includes('tandem.vault') && own.includes('tandem.state'), JSON.stringify(own));
    const read = await inContentScript(
      browser,
      page,
      `chrome.storage.local.get(null).then((v) => JSON.stringify(v))`,
    );
    assert.equal(read.value, undefined, `the content script read: ${String(read.value).slice(0, 200)}`);
    assert.match(read.threw, /not allowed|access|context/i);
  });

  it('writing a planted site connection from the content script fails and changes nothing', async () => {
    const before = await browser.ext.evaluate(() => chrome.storage.local.get('tandem.state'));
    const write = await inContentScript(
      browser,
      page,
      `chrome.storage.local.set({ 'tandem.state': '{"planted":true}', 'tandem.relay': 'ws://attacker.example/v1/ws' }).then(() => 'written')`,
    );
    assert.notEqual(write.value, 'written');
    assert.match(write.threw, /not allowed|access|context/i);
    const afterWrite = await browser.ext.evaluate(() => chrome.storage.local.get(['tandem.state', 'tandem.relay']));
    assert.deepEqual(afterWrite['tandem.state'], before['tandem.state']);
    assert.equal(afterWrite['tandem.relay'], undefined);
  });

  it('the page side still gets its settings (through the worker)', async () => {
    // The content script still runs: the provider answers eth_chainId.
    const chain = await page.evaluate(() => window.dapp.raw({ method: 'eth_chainId' }));
    assert.equal(chain.result, '0x1');
  });
});
