// The activity log in the extension (issue 12, audit log): what a user does
// (a phrase imported at onboarding, a wrong password, an unlock, a site's signature request approved and one
// rejected, a transaction sent on anvil) is recorded on this browser as
// entries signed with its device's identity key and chained by hash; the
// popup's Settings -> Activity log shows them with filters; the JSON export
// verifies here, independently of the wallet's code (Ed25519 with
// @noble/curves, SHA-256 with node:crypto, the signed bytes as
// docs/protocol.md defines them), and the CSV export parses with a CSV
// library (csv-parse). Then the stored log is tampered with (an entry
// altered, one removed, in the sealed sync state) and the Activity log names
// both problems in red. A long log (150 entries more) lists its newest 100
// and older ones on request, still says the two problems now far down the
// log at the top and lists them alone on request, filters over all of it,
// and exports all of it.
// Run: node --test tests/e2e/audit.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ed25519 } from '@noble/curves/ed25519.js';
import { appMessage, exportKeys, sha256, signedEntry } from './lib/audit-export.mjs';
import { parse as parseCsv } from 'csv-parse/sync';
import { openPopup, startAnvil, startDapp, until, jsonRpc, ANVIL_ACCOUNT_0 as A0, ANVIL_ACCOUNT_1 as A1, PASSWORD } from './lib/index.mjs';
import { answer, connectedWallet } from './lib/approve.mjs';
import { sealedSync } from './lib/sealed.mjs';

const waitScreen = (page, name) => page.locator(`#app > .app[data-screen="${name}"]`).waitFor({ timeout: 20_000 });

describe('the activity log: recorded, shown, filtered, exported and verifiable', { timeout: 240_000 }, () => {
  let anvil, dapp, browser, page, popup;

  before(async () => {
    [anvil, dapp] = await Promise.all([startAnvil(), startDapp()]);
    ({ browser, page } = await connectedWallet(anvil, dapp));
    // A wrong password, then the right one.
    await browser.ui('lock');
    await assert.rejects(browser.ui('unlock', { password: 'not the password' }));
    await browser.ui('unlock', { password: PASSWORD });
    // A message approved in the approval window, one rejected, a send approved.
    const d = (fn, arg) => page.evaluate(fn, arg);
    const signed = d((a) => window.dapp.signMessage(a, 'Log me in\nNonce: 7'), A0);
    await answer(browser, 'personal_sign', true);
    assert.ok((await signed).result?.startsWith('0x'));
    const refused = d((a) => window.dapp.signMessage(a, 'please reject me'), A0);
    await answer(browser, 'personal_sign', false);
    assert.equal((await refused).error?.code, 4001);
    const sent = d(([a, to]) => window.dapp.sendTransaction(a, 31337, to, '10000000000000000'), [A0, A1]);
    await answer(browser, 'transaction', true);
    const hash = (await sent).result;
    const receipt = await until(() => jsonRpc(anvil.url, 'eth_getTransactionReceipt', [hash]), 'the receipt');
    assert.equal(receipt.status, '0x1');
    popup = await openPopup(browser);
    await waitScreen(popup, 'home');
    await popup.getByTestId('settings-button').click();
    await waitScreen(popup, 'settings');
    await popup.getByTestId('open-audit').click();
    await waitScreen(popup, 'audit');
  });
  after(async () => {
    await browser?.close();
    await Promise.all([anvil?.stop(), dapp?.close()]);
  });

  const texts = async () => {
    await popup.getByTestId('audit-list').waitFor();
    return popup.locator('[data-testid="audit-list"] > li > span:first-child').allTextContents();
  };

  it('shows what happened, newest first, each entry signed and in order', async () => {
    const t = await texts();
    const origin = new URL(dapp.url).origin;
    const expected = [
      `Approved on`, // the send
      `Rejected: ${origin} asked for personal_sign`,
      `Approved on`, // the message
      'Unlocked',
      'Failed unlock: wrong password',
      'Restored from the recovery phrase', // onboarding imported the phrase
    ];
    assert.equal(t.length, 6, JSON.stringify(t));
    t.forEach((line, i) => assert.ok(line.startsWith(expected[i]), `${i}: ${line}`));
    assert.match(t[0], new RegExp(`${origin} asked for eth_sendTransaction on chain 31337: send 0\\.01 ETH to ${A1}`, 'i'));
    assert.match(t[2], /personal_sign on chain 31337: message: Log me in$/);
    assert.equal(await popup.getByTestId('audit-summary').textContent(), '6 entries, all signed and in order.');
    assert.equal(await popup.locator('[data-testid$="-problem"]').count(), 0);
  });

  it('filters by kind and by site', async () => {
    await popup.getByTestId('audit-filter-kind').selectOption('unlock');
    await until(async () => (await texts()).length === 2, 'two unlock entries');
    assert.deepEqual(await texts(), ['Unlocked', 'Failed unlock: wrong password']);
    await popup.getByTestId('audit-filter-kind').selectOption('');
    await popup.getByTestId('audit-filter-site').fill('no-such-site.example');
    await popup.getByTestId('audit-filter-site').press('Enter');
    await popup.getByTestId('audit-none').waitFor();
    await popup.getByTestId('audit-filter-site').fill('127.0.0.1');
    await popup.getByTestId('audit-filter-site').press('Tab');
    await until(async () => (await texts()).length === 3, 'the three requests of the dapp');
    await popup.getByTestId('audit-filter-site').fill('');
    await popup.getByTestId('audit-filter-site').press('Tab');
    await until(async () => (await texts()).length === 6, 'every entry again');
  });

  it('exports JSON that verifies without the wallet, and CSV that parses', async () => {
    const [download] = await Promise.all([popup.waitForEvent('download'), popup.getByTestId('audit-export-json').click()]);
    const doc = JSON.parse(await readFile(await download.path(), 'utf8'));
    assert.equal(doc.format, 'tandem-audit/v1');
    const keys = exportKeys(doc); // a device id is its key's hash
    let prev = '0'.repeat(64);
    assert.equal(doc.entries.length, 6);
    for (const { entry, verdict } of doc.entries) {
      assert.deepEqual(verdict, { status: 'ok' });
      const { device, seq, prev: p, at_ms, happened } = entry;
      const { signed, sig: s } = signedEntry(entry);
      assert.ok(ed25519.verify(s, appMessage(doc.signatureDomain, signed), keys.get(device)), `entry ${seq} verifies: ${signed}`);
      assert.equal(p, prev, `entry ${seq} links to the one before`);
      prev = sha256(signed, s).toString('hex');
      // A changed entry does not verify (the check above can fail).
      const forged = Buffer.from(JSON.stringify({ device, seq, prev: p, at_ms: at_ms + 1, happened }));
      assert.equal(ed25519.verify(s, appMessage(doc.signatureDomain, forged), keys.get(device)), false);
    }
    const [csvFile] = await Promise.all([popup.waitForEvent('download'), popup.getByTestId('audit-export-csv').click()]);
    const rows = parseCsv(await readFile(await csvFile.path(), 'utf8'), { columns: true });
    assert.equal(rows.length, 6);
    assert.deepEqual(Object.keys(rows[0]), ['device', 'seq', 'at_ms', 'kind', 'details', 'finding']);
    const sign = rows.filter((r) => r.kind === 'sign').map((r) => JSON.parse(r.details));
    assert.deepEqual(sign.map((s) => s.approved).sort(), [false, true, true]);
    assert.ok(rows.every((r) => r.finding === 'ok'));
    assert.deepEqual(popup.errors, []);
  });

  it('an entry altered and one removed in the stored log are shown as such, in red, and exported with their findings', async () => {
    // Someone who can write this profile's storage and use its device key
    // (the sealed sync state holds the log) changes the failed unlock's
    // time and removes the unlock after it, with the worker stopped.
    await popup.close();
    const tamper = await browser.context.newPage();
    // An extension page that runs none of the wallet's scripts.
    await tamper.goto(browser.url('extension/icons/icon-16.png'));
    // With the worker stopped. Something (the dapp's page) may start it
    // again while this page rewrites the log, and that worker holds the
    // log as it was, which it can write back when the popup opens (the
    // likely cause of this test's failures under load: the summary never
    // named the two problems, in 1 run of 3 beside two other runs of this
    // file and a busy loop). So: stop it once more after the write, and
    // check the stored log is the tampered one (tamper again if not).
    let altered, removed, alteredAt;
    const chainOf = (state) => {
      const chains = Object.values(state.syncer.audit.chains);
      assert.equal(chains.length, 1, 'one chain');
      return chains[0];
    };
    for (let attempt = 1; ; attempt++) {
      await browser.killWorker();
      const state = await sealedSync(tamper, { chrome: 'tandem.sync' });
      const chain = chainOf(state);
      const failed = chain.find((e) => e.happened.kind === 'unlock' && e.happened.ok === false);
      const unlocked = chain.find((e) => e.happened.kind === 'unlock' && e.happened.ok === true);
      assert.ok(failed && unlocked, JSON.stringify(chain.map((e) => e.happened)));
      failed.at_ms += 60_000;
      chain.splice(chain.indexOf(unlocked), 1);
      await sealedSync(tamper, { chrome: 'tandem.sync' }, state);
      [altered, removed, alteredAt] = [failed.seq, unlocked.seq, failed.at_ms];
      await browser.killWorker();
      const stored = chainOf(await sealedSync(tamper, { chrome: 'tandem.sync' }));
      const kept = !stored.some((e) => e.seq === removed) && stored.find((e) => e.seq === altered)?.at_ms === alteredAt;
      if (kept) break;
      assert.ok(attempt < 3, 'a running worker wrote the log back over the tampered one three times');
    }
    await tamper.close();

    popup = await openPopup(browser);
    await waitScreen(popup, 'home');
    await popup.getByTestId('settings-button').click();
    await waitScreen(popup, 'settings');
    await popup.getByTestId('open-audit').click();
    await waitScreen(popup, 'audit');
    await popup.getByTestId('audit-summary').filter({ hasText: '5 entries; 2 have a problem (shown in red).' }).waitFor({ timeout: 20_000 });
    const me = (await browser.ui('devices.view')).me;
    const problem = (seq) => popup.getByTestId(`audit-entry-${me}-${seq}-problem`).textContent();
    assert.equal(await problem(altered), 'Altered: its signature does not match what it says');
    assert.equal(await problem(removed + 1), '1 entry before this one is missing');
    assert.equal(await popup.locator('[data-testid$="-problem"]').count(), 2);
    // The export says the same, entry by entry.
    const [download] = await Promise.all([popup.waitForEvent('download'), popup.getByTestId('audit-export-json').click()]);
    const doc = JSON.parse(await readFile(await download.path(), 'utf8'));
    const findings = Object.fromEntries(doc.entries.map(({ entry, verdict }) => [entry.seq, verdict]));
    assert.deepEqual(findings[altered], { status: 'altered' });
    assert.deepEqual(findings[removed + 1], { status: 'gap', missing: 1 });
    assert.equal(findings[removed], undefined);
    assert.deepEqual(popup.errors, []);
  });

  it('a long log lists its newest 100 entries, older ones on request; filters, problems and exports cover all of it', async () => {
    // 150 unlocks, newer than everything above, put where entries wait for
    // the log's module (extension/audit.js's queue): opening the log signs
    // them into this browser's chain, in order (fast, and the real module
    // signs them). The two problems above are then 150 entries down the log.
    const added = 150;
    // Two minutes ahead: newer than the altered entry, moved a minute on.
    const t0 = Date.now() + 120_000;
    await browser.ext.evaluate(
      ([n, t0]) =>
        chrome.storage.local.set({
          'tandem.audit.queue': Array.from({ length: n }, (_, i) => ({ happened: { kind: 'unlock', ok: true }, atMs: t0 + i })),
        }),
      [added, t0],
    );
    const total = 5 + added;
    await popup.goto(browser.url('extension/popup.html'));
    await waitScreen(popup, 'home');
    await popup.getByTestId('settings-button').click();
    await waitScreen(popup, 'settings');
    await popup.getByTestId('open-audit').click();
    const summary = popup.getByTestId('audit-summary');
    await summary.filter({ hasText: `${total} entries` }).waitFor({ timeout: 60_000 });
    // Problems that are not listed are still said, first.
    assert.equal(await summary.textContent(), `${total} entries; 2 have a problem (none of them in the list below).`);
    assert.equal((await texts()).length, 100);
    assert.equal(await popup.locator('[data-testid$="-problem"]').count(), 0);
    assert.equal(await popup.getByTestId('audit-paging').textContent(), `Listed: the newest 100 of ${total} entries; ${total - 100} older not listed yet, 0 held back by the filters.`);
    await popup.getByTestId('audit-older').filter({ hasText: `Show ${total - 100} older entries` }).click();
    await until(async () => (await texts()).length === total, 'every entry listed');
    assert.equal(await popup.getByTestId('audit-older').count(), 0);
    assert.equal(await popup.locator('[data-testid$="-problem"]').count(), 2);
    assert.equal(await summary.textContent(), `${total} entries; 2 have a problem (shown in red).`);
    // A filter finds what matches in the whole log, from the newest page.
    await popup.getByTestId('audit-filter-kind').selectOption('sign');
    await until(async () => (await texts()).length === 3, 'the three signature entries, 150 entries down');
    assert.equal(await popup.getByTestId('audit-paging').textContent(), `Listed: the newest 3 of ${total} entries; 0 older not listed yet, ${total - 3} held back by the filters.`);
    await popup.getByTestId('audit-filter-kind').selectOption('');
    await until(async () => (await texts()).length === 100, 'the newest page again');
    // The problems, listed alone.
    await popup.getByTestId('audit-filter-problems').filter({ hasText: 'Show only the entries with a problem' }).click();
    await until(async () => (await texts()).length === 2, 'the two entries with a problem');
    assert.equal(await popup.locator('[data-testid$="-problem"]').count(), 2);
    // The export holds every entry, whatever is listed.
    const [download] = await Promise.all([popup.waitForEvent('download'), popup.getByTestId('audit-export-json').click()]);
    const doc = JSON.parse(await readFile(await download.path(), 'utf8'));
    assert.equal(doc.entries.length, total);
    assert.equal(doc.entries.filter(({ verdict }) => verdict.status !== 'ok').length, 2);
    const [csvFile] = await Promise.all([popup.waitForEvent('download'), popup.getByTestId('audit-export-csv').click()]);
    assert.equal(parseCsv(await readFile(await csvFile.path(), 'utf8'), { columns: true }).length, total);
    assert.deepEqual(popup.errors, []);
  });
});
