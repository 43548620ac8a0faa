// Pairing the extension with a phone, for real: the built extension in
// headless Chromium, the real relay binary, and the real command-line device
// (`tandem`) as the phone, all on 127.0.0.1. The phone reads the QR from a
// screenshot of the popup (decoded from pixels, as a camera would), both
// screens confirm the code, both list each other, the phone revokes the
// browser and the popup says so. Run: node --test tests/e2e/devices.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openPopup as open, until, startDapp, openDapp, ANVIL_MNEMONIC } from './lib/index.mjs';
import { answer } from './lib/approve.mjs';
import { startPhone, decodeQr, approveFromLink, walletOnRelay } from './lib/devices.mjs';
import { cliSecrets, findSecrets, phraseSecrets, relayFiles } from './lib/secrets.mjs';
import { sessionKey } from './lib/sealed.mjs';

// The popup as Chrome shows it, slightly wider than the minimum.
const openPopup = (browser) => open(browser, 380);

const screen = (page, name) => page.locator(`#app > .app[data-screen="${name}"]`).waitFor({ timeout: 20_000 });

/** Opens Devices from Home and shows a pairing QR; returns the link read from pixels. */
async function showQr(page) {
  await page.getByTestId('open-devices').click();
  await screen(page, 'devices');
  await page.getByTestId('pair-start').click();
  await page.getByTestId('pair-qr').waitFor({ timeout: 20_000 });
  const shot = await page.screenshot();
  const link = decodeQr(shot);
  // The link a phone's own camera app opens: the relay's /app/ with the offer in the fragment.
  assert.match(link ?? '', /^http:\/\/127\.0\.0\.1:\d+\/app\/#tandem:pair\?v=2&relay=ws:/, `the QR in the screenshot decodes to a pairing link: ${link}`);
  return link;
}

describe('the extension pairs with a phone through the relay', () => {
  let relay;
  let browser;
  let phone;
  /** Secrets of command-line devices that took part, for the final scan. */
  const known = [];
  /** The device the browser approved (it erases the browser's wallet last). */
  let laptop;
  let dapp;
  before(async () => {
    ({ relay, browser } = await walletOnRelay());
    phone = await startPhone(relay.url);
  });
  after(async () => {
    await browser?.close();
    await phone?.close();
    await laptop?.close();
    await relay?.stop();
    await dapp?.close();
  });

  it('a wrong code on either side pairs nothing, and says so', async () => {
    // The browser's user says the codes differ.
    let page = await openPopup(browser);
    let link = await showQr(page);
    let accept = phone.spawn(['pair', 'accept', link, '--compare', '--timeout', '60']);
    const phoneCode = await accept.wait('code: ');
    await page.getByTestId('pair-code').waitFor();
    assert.equal((await page.getByTestId('pair-code').textContent()).replace(/\s/g, ''), phoneCode);
    accept.answer('y');
    await page.getByTestId('pair-codes-differ').click();
    await page.getByTestId('pair-status').filter({ hasText: 'do not match' }).waitFor({ timeout: 20_000 });
    assert.notEqual(await accept.exit, 0);
    assert.match(accept.stderr, /reports that the 6-digit codes do not match/);
    // The phone's user says they differ.
    await page.close();
    page = await openPopup(browser);
    link = await showQr(page);
    accept = phone.spawn(['pair', 'accept', link, '--compare', '--timeout', '60']);
    await accept.wait('code: ');
    await page.getByTestId('pair-code').waitFor();
    await page.getByTestId('pair-codes-match').click();
    accept.answer('n');
    await page.getByTestId('pair-status').filter({ hasText: 'declined' }).waitFor({ timeout: 20_000 });
    assert.notEqual(await accept.exit, 0);
    const view = await browser.ui('devices.view');
    assert.equal(view.paired, false, 'nothing was installed');
    assert.equal(view.devices.length, 1);
    assert.doesNotMatch(await phone.run(['devices', '--offline']), new RegExp(view.me));
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('an expired QR is refused with its message', async () => {
    const page = await openPopup(browser);
    await page.getByTestId('open-devices').click();
    await screen(page, 'devices');
    const view = await browser.ui('devices.command', { kind: 'show_offer', lifetime: 30 });
    const offer = await until(async () => {
      const v = await browser.ui('devices.view');
      return v.pairing?.step === 'offer' && v.pairing;
    }, 'an offer');
    assert.ok(view);
    // Wait (by the clock in the link) until the offer has expired.
    await until(() => Date.now() / 1000 >= offer.expires_at, 'the offer to expire', 40_000, 200);
    const err = await phone.run(['pair', 'accept', offer.link, '--code', '123456']).catch((e) => e.message);
    assert.match(err, /expired/);
    await browser.ui('devices.command', { kind: 'cancel_pairing' });
    await page.close();
  });

  it('a worker killed in the middle of a pairing fails it cleanly, with a message', async () => {
    const page = await openPopup(browser);
    const link = await showQr(page);
    const accept = phone.spawn(['pair', 'accept', link, '--compare', '--timeout', '30']);
    await accept.wait('code: ');
    await page.getByTestId('pair-code').waitFor();
    await browser.killWorker();
    await page.getByTestId('pair-status').filter({ hasText: 'restarted during the pairing' }).waitFor({ timeout: 20_000 });
    const view = await browser.ui('devices.view');
    assert.equal(view.paired, false, 'never half-installed');
    accept.answer('y');
    assert.notEqual(await accept.exit, 0, 'the phone does not complete it either');
    await page.close();
  });

  it('pairs: QR from pixels, codes confirmed on both screens, both list each other, the phone revokes the browser', async () => {
    const page = await openPopup(browser);
    const link = await showQr(page);
    const accept = phone.spawn(['pair', 'accept', link, '--compare', '--timeout', '60']);
    const phoneCode = await accept.wait('code: ');
    await page.getByTestId('pair-code').waitFor();
    assert.equal((await page.getByTestId('pair-code').textContent()).replace(/\s/g, ''), phoneCode, 'the same code on both screens');
    await page.getByTestId('pair-codes-match').click();
    accept.answer('y');
    await accept.wait('approved: ');
    assert.equal(await accept.exit, 0, accept.stderr);
    await page.getByTestId('pair-done').waitFor({ timeout: 20_000 });
    assert.match(await page.getByTestId('pair-done').textContent(), /phone/);

    // Both list each other, with last-seen times.
    const view = await until(async () => {
      const v = await browser.ui('devices.view');
      return v.paired && v.online && v;
    }, 'the browser to be paired and online');
    assert.ok(view.devices.some((d) => d.id === phone.id && d.name === 'phone'));
    const list = await phone.run(['devices']);
    assert.match(list, new RegExp(`${view.me}\\s+Chrome on`));
    await page.getByTestId('back-button').click().catch(() => {});
    await page.goto(browser.url('extension/popup.html'));
    await page.getByTestId('home-pairing-line').filter({ hasText: 'Paired with phone' }).waitFor({ timeout: 20_000 });
    // Sync was never set up here: Home's question about it gets nothing
    // (the worker loads no sync module for it), and Home has no sync line.
    assert.equal(await browser.ui('sync.status'), null);
    assert.equal(await page.getByTestId('home-sync-line').count(), 0);

    // The phone revokes the browser; the open popup says so.
    await page.getByTestId('open-devices').click();
    await screen(page, 'devices');
    await phone.run(['revoke', view.me, '--reason', 'lost']);
    const notice = page.getByTestId('removed-notice');
    await notice.waitFor({ timeout: 10_000 });
    assert.match(await notice.textContent(), /Removed from your wallet by phone.*lost/s);
    const after = await browser.ui('devices.view');
    assert.ok(after.removed, 'the browser knows it was removed');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('removed, it starts over and approves a new device from a pasted link, both screens comparing', async () => {
    const removed = await browser.ui('devices.view');
    assert.ok(removed.removed, 'removed by the previous test');
    await browser.ui('devices.command', { kind: 'start_over' });
    const fresh = await browser.ui('devices.view');
    assert.notEqual(fresh.me, removed.me, 'a new device');
    assert.equal(fresh.removed, null);
    laptop = await startPhone(relay.url, 'laptop');
    const page = await openPopup(browser);
    await approveFromLink(page, laptop);
    const view = await until(async () => {
      const v = await browser.ui('devices.view');
      return v.devices.some((d) => d.name === 'laptop') && v;
    }, 'the laptop in the list');
    assert.equal(view.group, fresh.group, "the browser's own group");
    assert.match(await laptop.run(['devices']), new RegExp(`${fresh.me}\\s+Chrome on`));
    assert.deepEqual(page.errors, []);
    await page.close();
    known.push(...(await cliSecrets(laptop.home, 'correct horse')));
  });

  it('leaves no key, seed or session key in the relay database or chrome.storage (local, session)', async () => {
    known.push(...(await cliSecrets(phone.home, 'correct horse')));
    assert.ok(known.filter((s) => s.name.startsWith('group key')).length >= 2, 'group keys of both groups');
    const secrets = [...known];
    secrets.push(...phraseSecrets(ANVIL_MNEMONIC));
    // The session key itself (the vault's data key), opened with the
    // per-unlock key; what chrome.storage.session holds is it sealed, so
    // the session area is scanned too.
    const key = await sessionKey(browser);
    assert.ok(key, 'the wallet is unlocked, so a session key exists');
    secrets.push({ name: 'vault session key', bytes: key });
    const local = await browser.ext.evaluate(() => chrome.storage.local.get(null));
    const session = await browser.ext.evaluate(() => chrome.storage.session.get(null));
    const haystacks = [...(await relayFiles(relay.dir)), Buffer.from(JSON.stringify(local)), Buffer.from(JSON.stringify(session))];
    assert.ok(haystacks[0].length > 0 && local['tandem.device'], 'there is something to scan');
    assert.deepEqual(findSecrets(haystacks, secrets), []);
    // The scan finds what it looks for (the phone's vault plaintext would).
    assert.deepEqual(findSecrets([Buffer.from(JSON.stringify(secrets.map((s) => s.bytes.toString('hex'))))], secrets.slice(0, 1)), [
      secrets[0].name,
    ]);
  });

  it('revoked as lost with "erase", the browser erases its wallet and onboarding says who did it', async () => {
    const me = (await browser.ui('devices.view')).me;
    // A site connected before: it must learn that the accounts are gone.
    dapp = await startDapp();
    const { page: site } = await openDapp(browser, dapp.url);
    const connected = site.evaluate(() => window.dapp.connect());
    await answer(browser, 'connect', true);
    assert.equal((await connected).result?.length, 1);
    const page = await openPopup(browser);
    await laptop.run(['revoke', me, '--reason', 'lost', '--erase']);
    await page.getByTestId('erased-notice').waitFor({ timeout: 20_000 });
    assert.match(await page.getByTestId('erased-notice').textContent(), /erased from this browser by laptop.*lost/s);
    const state = await browser.ui('state');
    assert.equal(state.initialized, false, 'the vault is gone');
    const local = await browser.ext.evaluate(() => chrome.storage.local.get(null));
    assert.equal(local['tandem.vault'], undefined);
    assert.equal((await browser.ext.evaluate(() => chrome.storage.session.get('tandem.sessionKey')))['tandem.sessionKey'], undefined);
    // The device list still says who removed it.
    assert.equal((await browser.ui('devices.view')).removed.erase, true);
    // EIP-1193: the page gets accountsChanged with no accounts (not
    // `disconnect`: the provider still answers, e.g. eth_chainId).
    await until(
      async () => (await site.evaluate(() => window.dapp.events())).some((e) => e.ev === 'accountsChanged' && e.arg.length === 0),
      'accountsChanged([]) on the connected page',
    );
    assert.deepEqual((await site.evaluate(() => window.dapp.addresses())).result, []);
    assert.ok(!(await site.evaluate(() => window.dapp.events())).some((e) => e.ev === 'disconnect'));
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
