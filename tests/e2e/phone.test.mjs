// The phone app, for real: the relay binary serves it at /app/ on 127.0.0.1,
// it runs in its own headless Chromium with mobile emulation and a fake
// camera that shows a y4m made from a screenshot of the extension popup's
// QR, and it pairs with the built extension in another Chromium: both
// screens show the same code, both confirm, both list each other, the
// phone revokes the browser and the popup says so.
// Run: node --test tests/e2e/phone.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, readFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync } from '@scure/bip39';
import { launch, openPopup as open, until, ROOT, ANVIL_MNEMONIC, ANVIL_ACCOUNT_0, PASSWORD } from './lib/index.mjs';
import { onboardImport } from './lib/onboard.mjs';
import { startRelay, startPhone as startCli, readPairingQr, pngToY4m } from './lib/devices.mjs';
import { launchPhone, setUpPhone, unlockPhone, PHONE_PASSWORD } from './lib/phone.mjs';
import { cliSecrets, findSecrets, relayFiles } from './lib/secrets.mjs';

const openPopup = (browser) => open(browser, 380);
const screen = (page, name) => page.locator(`#app > .app[data-screen="${name}"]`).waitFor({ timeout: 20_000 });
const digits = async (loc) => (await loc.textContent()).replace(/\s/g, '');

describe('the phone app', () => {
  let relay;
  let tmp;
  before(async () => {
    relay = await startRelay({ appDir: path.join(ROOT, 'phone') });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'tandem-phone-e2e-'));
  });
  after(async () => {
    await relay?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('is installable: its manifest parses, its icons have the sizes it names, it opens offline', async () => {
    const manifest = await (await fetch(new URL('manifest.webmanifest', relay.appUrl))).json();
    assert.equal(manifest.display, 'standalone');
    assert.equal(manifest.start_url, './');
    assert.ok(manifest.icons.length >= 2);
    for (const icon of manifest.icons) {
      const res = await fetch(new URL(icon.src, relay.appUrl));
      assert.equal(res.status, 200, icon.src);
      const png = PNG.sync.read(Buffer.from(await res.arrayBuffer()));
      assert.equal(`${png.width}x${png.height}`, icon.sizes, `${icon.src} is ${icon.sizes}`);
    }
    const phone = await launchPhone();
    try {
      const page = await phone.open(relay.appUrl);
      await page.getByTestId('wallet-create').waitFor({ timeout: 20_000 });
      // The service worker has cached the files (it controls the page once ready).
      await page.evaluate(() => navigator.serviceWorker.ready);
      await page.reload();
      await until(() => page.evaluate(() => !!navigator.serviceWorker.controller), 'the service worker to control the page');
      await phone.context.setOffline(true);
      await page.reload();
      await page.getByTestId('wallet-create').waitFor({ timeout: 20_000 });
      assert.deepEqual(page.errors, []);
    } finally {
      await phone.close();
    }
  });

  it('imports a wallet: Home shows account 0; after a reload it asks for the password, refuses a wrong one, shows the phrase only after the password, and locks', async () => {
    const phone = await launchPhone();
    try {
      const page = await phone.open(relay.appUrl);
      // A misspelt word is named.
      await page.getByTestId('wallet-import').click();
      await page.getByTestId('import-phrase').fill(ANVIL_MNEMONIC.replace('test test test test', 'test test test tset'));
      await page.getByTestId('import-submit').click();
      const bad = page.getByTestId('error');
      await bad.waitFor({ timeout: 10_000 });
      assert.match(await bad.textContent(), /Word 4, “tset”, is not in the BIP-39 English word list/);
      await page.getByTestId('back').click();
      await setUpPhone(page, 'Wallet phone');
      await page.getByTestId('devices-status').waitFor({ timeout: 20_000 });
      assert.equal(await page.getByTestId('account-address').textContent(), ANVIL_ACCOUNT_0);
      const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('tandem.phone.vault')));
      assert.equal(stored.format, 'tandem-vault');
      assert.ok(stored.kdf.memory_kib >= 64 * 1024, 'the extension\'s Argon2id cost');

      // A returning start: the password before anything else.
      await page.reload();
      await page.getByTestId('unlock-screen').waitFor({ timeout: 20_000 });
      assert.equal(await page.getByTestId('devices-status').count(), 0, 'nothing shows before the unlock');
      await page.getByTestId('unlock-password-input').fill('not the password');
      await page.getByTestId('unlock-submit').click();
      const wrong = page.getByTestId('error').filter({ hasText: 'Wrong password' });
      await wrong.waitFor({ timeout: 30_000 });
      assert.ok(await page.getByTestId('unlock-screen').isVisible());
      await unlockPhone(page);
      await page.getByTestId('devices-status').waitFor({ timeout: 20_000 });
      assert.equal(await page.getByTestId('account-address').textContent(), ANVIL_ACCOUNT_0);

      // The phrase again, only after the password.
      await page.getByTestId('help-open').click();
      await page.getByTestId('reveal-open').click();
      assert.equal(await page.getByTestId('reveal-words').count(), 0);
      await page.getByTestId('reveal-password-input').fill(PHONE_PASSWORD);
      await page.getByTestId('reveal-submit').click();
      await page.getByTestId('reveal-words').waitFor({ timeout: 30_000 });
      assert.equal(await page.getByTestId('reveal-word-11').textContent(), 'junk');
      await page.getByTestId('reveal-hide').click();
      assert.equal(await page.getByTestId('reveal-words').count(), 0);

      // Lock: back to the password, the address gone from the page.
      await page.getByTestId('lock').click();
      await page.getByTestId('unlock-screen').waitFor({ timeout: 10_000 });
      assert.ok(!(await page.content()).includes(ANVIL_ACCOUNT_0));
      assert.deepEqual(page.errors, []);
    } finally {
      await phone.close();
    }
  });

  it('creates a wallet: 12 words shown once, a wrong word refused by its position, then the password and the name', async () => {
    const phone = await launchPhone();
    try {
      const page = await phone.open(relay.appUrl);
      await page.getByTestId('wallet-create').click();
      await page.getByTestId('phrase-word-11').waitFor({ timeout: 20_000 });
      const words = [];
      for (let i = 0; i < 12; i++) words.push(await page.getByTestId(`phrase-word-${i}`).textContent());
      assert.equal(new Set(words).size > 1, true);
      await page.getByTestId('words-written').click();
      const inputs = page.locator('[data-testid^="confirm-word-"]');
      await inputs.first().waitFor({ timeout: 10_000 });
      const positions = (await inputs.evaluateAll((els) => els.map((e) => e.dataset.testid))).map((id) => Number(id.split('-').pop()));
      assert.equal(positions.length, 3);
      for (const [k, i] of positions.entries()) {
        await page.getByTestId(`confirm-word-${i}`).fill(k === 1 ? 'zzzz' : words[i]);
      }
      await page.getByTestId('confirm-submit').click();
      const err = page.getByTestId('error');
      await err.waitFor({ timeout: 10_000 });
      assert.match(await err.textContent(), new RegExp(`Word #${positions[1] + 1} does not match`));
      await page.getByTestId(`confirm-word-${positions[1]}`).fill(words[positions[1]]);
      await page.getByTestId('confirm-submit').click();
      await page.getByTestId('password-input').fill('short');
      await page.getByTestId('password-confirm-input').fill('short');
      await page.getByTestId('password-submit').click();
      await page.getByTestId('error').filter({ hasText: '8 characters' }).waitFor({ timeout: 10_000 });
      await page.getByTestId('password-input').fill(PHONE_PASSWORD);
      await page.getByTestId('password-confirm-input').fill(PHONE_PASSWORD);
      await page.getByTestId('password-submit').click();
      await page.getByTestId('setup-name').fill('New phone');
      await page.getByTestId('setup-start').click();
      await page.getByTestId('devices-status').waitFor({ timeout: 30_000 });
      assert.match(await page.getByTestId('account-address').textContent(), /^0x[0-9a-fA-F]{40}$/);
      const store = await page.evaluate(() => JSON.stringify({ ...localStorage }));
      assert.ok(!store.includes(words.join(' ')), 'the phrase is stored only encrypted');
      assert.deepEqual(page.errors, []);
    } finally {
      await phone.close();
    }
  });

  it('locks itself after 5 minutes without use, and a tap just before does not', async () => {
    const phone = await launchPhone();
    try {
      await phone.context.clock.install();
      const page = await phone.open(relay.appUrl);
      await setUpPhone(page, 'Idle phone');
      await page.getByTestId('devices-status').waitFor({ timeout: 20_000 });
      await page.clock.fastForward('04:50');
      await page.getByTestId('help-open').click();
      await page.clock.fastForward('04:50');
      assert.ok(await page.getByTestId('help-screen').isVisible(), 'a tap moved the deadline');
      await page.clock.fastForward('00:15');
      await page.getByTestId('unlock-screen').waitFor({ timeout: 10_000 });
      assert.match(await page.getByTestId('notice').textContent(), /5 minutes/);
      await unlockPhone(page);
      await page.getByTestId('account-address').waitFor({ timeout: 10_000 });
      assert.deepEqual(page.errors, []);
    } finally {
      await phone.close();
    }
  });

  it('camera refused: it says how to allow it and offers the link instead', async () => {
    const phone = await launchPhone();
    try {
      const page = await phone.open(relay.appUrl);
      await setUpPhone(page, 'Blocked phone');
      await page.getByTestId('scan-start').click();
      const status = page.getByTestId('scan-status').filter({ hasText: 'blocked' });
      await status.waitFor({ timeout: 20_000 });
      assert.match(await status.textContent(), /allow the camera/);
      assert.ok(await page.getByTestId('paste-start').isVisible());
      assert.deepEqual(page.errors, []);
    } finally {
      await phone.close();
    }
  });

  describe('with the extension', () => {
    let browser;
    let phone;
    let page;
    let popup;
    let link;
    before(async () => {
      browser = await launch();
      await onboardImport(browser, ANVIL_MNEMONIC, PASSWORD);
      await browser.ui('devices.relay.set', { relay: relay.url });
      // The popup shows its QR; the phone's camera will see that screenshot.
      popup = await openPopup(browser);
      await popup.getByTestId('open-devices').click();
      await screen(popup, 'devices');
      await popup.getByTestId('pair-start').click();
      let shot;
      ({ shot, link } = await readPairingQr(popup));
      assert.ok(link?.startsWith(relay.appUrl + '#tandem:pair?'), `the QR opens the phone app: ${link}`);
      const video = path.join(tmp, 'qr.y4m');
      await writeFile(video, pngToY4m(shot));
      phone = await launchPhone({ video });
    });
    after(async () => {
      await phone?.close();
      await browser?.close();
    });

    it('scans the QR, both screens confirm the same code, both list each other, the phone revokes the browser', async () => {
      page = await phone.open(relay.appUrl);
      await setUpPhone(page, 'Pixel 8');
      await page.getByTestId('devices-status').waitFor({ timeout: 20_000 });
      await page.getByTestId('scan-start').click();
      // The fake camera shows the popup's QR: the app reads it from frames.
      const phoneCode = page.getByTestId('pair-code');
      await phoneCode.waitFor({ timeout: 30_000 });
      await popup.getByTestId('pair-code').waitFor({ timeout: 20_000 });
      assert.equal(await digits(phoneCode), await digits(popup.getByTestId('pair-code')), 'the same code on both screens');
      assert.match(await page.getByTestId('pair-screen').textContent(), /Chrome on/);
      await popup.getByTestId('pair-codes-match').click();
      await page.getByTestId('pair-codes-match').click();
      await page.getByTestId('pair-done').waitFor({ timeout: 20_000 });
      await popup.getByTestId('pair-done').waitFor({ timeout: 20_000 });
      assert.match(await popup.getByTestId('pair-done').textContent(), /Pixel 8/);

      // Both list each other.
      const view = await until(async () => {
        const v = await browser.ui('devices.view');
        return v.paired && v.online && v;
      }, 'the browser to be paired and online', 20_000);
      assert.ok(view.devices.some((d) => d.name === 'Pixel 8' && !d.this_device));
      await page.getByTestId('pair-back').click();
      const row = page.locator(`[data-testid="device-row"][data-device="${view.me}"]`);
      await row.waitFor({ timeout: 20_000 });
      assert.match(await row.textContent(), /Chrome on/);
      assert.match(await page.locator('[data-testid="device-row"]', { has: page.getByTestId('device-this') }).textContent(), /Pixel 8.*This phone/s);

      // The phone revokes the browser (lost, and erase it); the popup says so.
      await page.goto('about:blank'); // the app reopens from its stored state
      page = await phone.open(relay.appUrl);
      await unlockPhone(page);
      await popup.goto(browser.url('extension/popup.html'));
      await popup.getByTestId('open-devices').click();
      await screen(popup, 'devices');
      const row2 = page.locator(`[data-testid="device-row"][data-device="${view.me}"]`);
      await row2.getByTestId('device-revoke').click();
      await page.getByTestId('revoke-reason-lost').check();
      await page.getByTestId('revoke-confirm').click();
      const notice = popup.getByTestId('removed-notice');
      await notice.waitFor({ timeout: 10_000 });
      assert.match(await notice.textContent(), /Removed from your wallet by Pixel 8.*lost/s);
      await row2.getByTestId('device-removed').waitFor({ timeout: 10_000 });
      // Nothing about devices happens silently: the browser notified its user.
      const shown = await until(async () => {
        const all = await browser.ext.evaluate(() => chrome.notifications.getAll());
        return Object.keys(all).find((id) => id.startsWith('tandem-removed-'));
      }, 'a "removed" browser notification');
      assert.ok(shown);
      assert.deepEqual(page.errors, []);
      assert.deepEqual(popup.errors, []);
    });

    it('an expired or already used link is refused with its reason', async () => {
      const expired = link.replace(/exp=\d+/, `exp=${Math.floor(Date.now() / 1000) - 5}`);
      await page.getByTestId('paste-start').click();
      await page.getByTestId('paste-link').fill(expired);
      await page.getByTestId('paste-submit').click();
      await page.getByTestId('error').filter({ hasText: 'expired' }).waitFor({ timeout: 10_000 });
      // The link the phone used a moment ago: the pairing it named is over.
      await page.getByTestId('paste-link').fill(link);
      await page.getByTestId('paste-submit').click();
      const failed = page.locator('[data-testid="pair-status"][role="alert"]');
      await failed.waitFor({ timeout: 30_000 });
      assert.match(await failed.textContent(), /already used/);
      const names = await page.getByTestId('device-name').allTextContents().catch(() => []);
      assert.ok(!names.includes('Chrome on'), 'nothing new was added');
    });

    it("the link the phone's own camera app opens goes straight to the code (the removed browser pairs again)", async () => {
      await popup.getByTestId('pair-again').click();
      const { link: again } = await readPairingQr(popup);
      assert.ok(again?.startsWith(relay.appUrl + '#tandem:pair?'), again);
      // What the phone's camera app does with the QR: open the link.
      await page.close();
      page = await phone.open(again);
      // The password first; then the link goes on to the code.
      await unlockPhone(page);
      const code = page.getByTestId('pair-code');
      await code.waitFor({ timeout: 30_000 });
      assert.ok(!page.url().includes('#tandem'), 'the one-time link left the address bar');
      await popup.getByTestId('pair-code').waitFor({ timeout: 20_000 });
      assert.equal(await digits(code), await digits(popup.getByTestId('pair-code')));
      await page.getByTestId('pair-codes-match').click();
      await popup.getByTestId('pair-codes-match').click();
      await page.getByTestId('pair-done').waitFor({ timeout: 20_000 });
      await popup.getByTestId('pair-done').waitFor({ timeout: 20_000 });
      const v = await until(async () => {
        const v = await browser.ui('devices.view');
        return v.paired && !v.removed && v;
      }, 'the browser paired again');
      assert.ok(v.devices.some((d) => d.name === 'Pixel 8'));
      assert.deepEqual(page.errors, []);
    });

    it('a device the phone adds from a pasted link is announced on the browser', async () => {
      // A laptop (the command-line device) shows its link; the phone approves it.
      const laptop = await startCli(relay.url, 'laptop');
      try {
        const show = laptop.spawn(['pair', 'show', '--no-qr', '--timeout', '60']);
        const pasted = await show.wait('link: ');
        await page.getByTestId('back').click();
        await page.getByTestId('paste-start').click();
        await page.getByTestId('paste-link').fill(pasted);
        await page.getByTestId('paste-submit').click();
        const code = page.getByTestId('pair-code');
        await code.waitFor({ timeout: 20_000 });
        assert.equal(await digits(code), await show.wait('code: '));
        show.answer('y');
        await page.getByTestId('pair-codes-match').click();
        await show.wait('paired: group ', 30_000);
        assert.equal(await show.exit, 0, show.stderr);
        await page.getByTestId('pair-done').waitFor({ timeout: 20_000 });
        // The browser learns it from the relay, lists it, and tells its user.
        await until(async () => (await browser.ui('devices.view')).devices.some((d) => d.name === 'laptop'), 'the laptop on the browser');
        await until(async () => {
          const all = await browser.ext.evaluate(() => chrome.notifications.getAll());
          return Object.keys(all).some((id) => id.startsWith('tandem-device_added-'));
        }, 'a "device joined" browser notification');
        assert.deepEqual(page.errors, []);

        // Secrets scan: the group key the phone holds (the laptop holds the
        // same one), the laptop's identity and the phone wallet's phrase,
        // BIP-39 seed and account-0 key are nowhere in the phone's storage,
        // the extension's storage or the relay's database.
        const seed = mnemonicToSeedSync(ANVIL_MNEMONIC);
        const key0 = HDKey.fromMasterSeed(seed).derive("m/44'/60'/0'/0/0").privateKey;
        assert.equal(Buffer.from(key0).toString('hex'), 'ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
        const secrets = [
          ...(await cliSecrets(laptop.home, 'correct horse')),
          { name: 'phone recovery phrase', bytes: Buffer.from(ANVIL_MNEMONIC) },
          { name: 'phone BIP-39 seed', bytes: Buffer.from(seed) },
          { name: 'phone account 0 private key', bytes: Buffer.from(key0) },
        ];
        assert.ok(secrets.some((x) => x.name.startsWith('group key')), 'the shared group key is known');
        const phoneStore = await page.evaluate(() => JSON.stringify({ ...localStorage }));
        assert.match(phoneStore, /tandem\.phone\.device/, 'the phone stored its (sealed) device state');
        assert.match(phoneStore, /tandem\.phone\.vault/, 'the phone stored its (encrypted) wallet');
        const local = await browser.ext.evaluate(() => chrome.storage.local.get(null));
        const haystacks = [Buffer.from(phoneStore), Buffer.from(JSON.stringify(local)), ...(await relayFiles(relay.dir))];
        assert.deepEqual(findSecrets(haystacks, secrets), []);

        // The phone revokes the laptop: the browser shows it revoked and
        // tells its user.
        await page.getByTestId('pair-back').click();
        const laptopRow = page.locator(`[data-testid="device-row"][data-device="${laptop.id}"]`);
        await laptopRow.getByTestId('device-revoke').click();
        await page.getByTestId('revoke-reason-retired').check();
        await page.getByTestId('revoke-confirm').click();
        await until(async () => {
          const d = (await browser.ui('devices.view')).devices.find((x) => x.id === laptop.id);
          return d?.removed?.reason === 'retired';
        }, 'the laptop revoked on the browser');
        await until(async () => {
          const all = await browser.ext.evaluate(() => chrome.notifications.getAll());
          return Object.keys(all).some((id) => id.startsWith('tandem-device_revoked-'));
        }, 'a "device removed" browser notification');
        assert.deepEqual(page.errors, []);
      } finally {
        await laptop.close();
      }
    });
  });
});
