// Origins, for real: a site connected to Tandem embeds frames. A frame of
// the same origin shares the site's connection (it is the same origin); a
// sandboxed frame (opaque origin "null", although its URL is the site's)
// gets nothing: not the accounts, not a connection prompt, and an answer
// at once (4100) instead of a request that never returns (its messages to
// the content script were posted to the URL's origin, which is not its own). Should a request from one reach the worker,
// it passes the origin on as "null" (not the frame URL's origin, which is
// the site's), and the wallet refuses it: crates/wallet/tests/provider.rs
// only_http_origins_from_the_browser_are_served.
// Run: node --test tests/e2e/origins.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAnvil, startDapp, until, ANVIL_ACCOUNT_0 as A0 } from './lib/index.mjs';
import { connectedWallet } from './lib/approve.mjs';

describe('a sandboxed frame does not inherit the embedding site\'s connection', { timeout: 180_000 }, () => {
  let browser, anvil, dapp, page;

  before(async () => {
    [anvil, dapp] = await Promise.all([startAnvil(), startDapp()]);
    ({ browser, page } = await connectedWallet(anvil, dapp));
  });

  after(async () => {
    await browser?.close();
    await Promise.all([anvil?.stop(), dapp?.close()]);
  });

  /** Adds a frame of /blank.html (sandboxed with `sandbox`, if given) and returns it once its provider is there. */
  async function frame(sandbox) {
    const name = `f${Math.random().toString(36).slice(2)}`;
    await page.evaluate(
      ([name, sandbox]) => {
        const f = document.createElement('iframe');
        f.name = name;
        if (sandbox !== null) f.setAttribute('sandbox', sandbox);
        f.src = '/blank.html';
        document.body.append(f);
      },
      [name, sandbox],
    );
    let fr;
    await until(async () => {
      fr = page.frames().find((f) => f.name() === name);
      return fr && (await fr.evaluate(() => typeof window.ethereum?.request === 'function').catch(() => false));
    }, `frame ${name} with the provider`);
    return fr;
  }

  const ask = (fr, method) =>
    fr.evaluate(
      (method) =>
        window.ethereum.request({ method }).then(
          (result) => ({ result }),
          (e) => ({ code: e.code, message: e.message }),
        ),
      method,
    );

  it('a frame of the same origin shares the connection', async () => {
    const fr = await frame(null);
    assert.equal(await fr.evaluate(() => window.origin), new URL(dapp.url).origin);
    assert.deepEqual((await ask(fr, 'eth_accounts')).result.map((a) => a.toLowerCase()), [A0.toLowerCase()]);
  });

  it('a sandboxed frame at the same URL gets no account and no prompt', async () => {
    const fr = await frame('allow-scripts');
    assert.equal(await fr.evaluate(() => window.origin), 'null');
    const accounts = await ask(fr, 'eth_accounts');
    assert.equal(accounts.code, 4100, JSON.stringify(accounts));
    assert.match(accounts.message, /sandboxed frame/);
    const connect = await ask(fr, 'eth_requestAccounts');
    assert.equal(connect.code, 4100, JSON.stringify(connect));
    // Nothing waits for the user.
    assert.deepEqual(await browser.ui('approvals.list'), []);
  });
});
