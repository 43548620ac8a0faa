// Unlock with fingerprint or face on the phone app: WebAuthn's PRF
// extension in real headless Chromium, with CDP virtual authenticators
// standing in for the phone's (`WebAuthn.addVirtualAuthenticator`, ctap2,
// internal transport, user verification, with and without `hasPrf`).
// Turn it on after the password, lock, unlock with it (also after a
// reload); the record opens independently in Node (@noble) with the PRF
// output the browser returned, and no PRF output, wrapping key or vault
// key is in the phone's storage or profile files; a tampered record and a
// removed credential fail with a clear message and the password still
// works; turning it off erases the record; an authenticator without PRF
// keeps the password and says why.
// Run: node --test tests/e2e/phone-biometric.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { mnemonicToSeedSync } from '@scure/bip39';
import { ROOT, ANVIL_MNEMONIC, ANVIL_ACCOUNT_0, until } from './lib/index.mjs';
import { startRelay } from './lib/devices.mjs';
import { launchPhone, setUpPhone, unlockPhone, PHONE_PASSWORD } from './lib/phone.mjs';
import { dataKey, filesUnder, findSecrets, openPrfRecord, openVaultWithKey, vaultKey } from './lib/secrets.mjs';

const RECORD = 'tandem.phone.biometric';
const NO_PRF =
  "This phone's authenticator cannot make a key for Tandem (no PRF support), so unlock stays with your password.";

/** Keeps a copy of every PRF output the browser hands the page (before the app wipes its copy). */
function watchPrf() {
  const seen = (window.__tandemPrf = []);
  const grab = (c) => {
    const first = c?.getClientExtensionResults?.()?.prf?.results?.first;
    if (first) seen.push(Array.from(new Uint8Array(first)));
    return c;
  };
  const { create, get } = navigator.credentials;
  navigator.credentials.create = (o) => create.call(navigator.credentials, o).then(grab);
  navigator.credentials.get = (o) => get.call(navigator.credentials, o).then(grab);
}

const authenticator = (hasPrf) => ({
  options: {
    protocol: 'ctap2',
    transport: 'internal',
    hasResidentKey: true,
    hasUserVerification: true,
    isUserVerified: true,
    hasPrf,
  },
});

describe('unlock with fingerprint or face (WebAuthn PRF)', () => {
  let relay;
  let proxy;
  let url;
  before(async () => {
    // WebAuthn refuses an IP address as relying party id: the app is opened
    // at a name, as on a real phone (https://<relay host>/app/). Here the
    // name is localhost, through a TCP proxy on a port of its own (taken
    // first, so the relay's public URL can name it): devices sign the
    // relay's URL as they reach it.
    let relayPort;
    proxy = net.createServer((client) => {
      const upstream = net.connect(relayPort, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = proxy.address().port;
    relay = await startRelay({ appDir: path.join(ROOT, 'phone'), publicUrl: `ws://localhost:${port}/v1/ws` });
    relayPort = Number(new URL(relay.url).port);
    url = `http://localhost:${port}/app/`;
  });
  after(async () => {
    proxy?.close();
    await relay?.stop();
  });

  it('turns on after the password, unlocks with the authenticator, leaves no key in clear, fails clearly when the key is gone or changed, and turns off', async () => {
    const phone = await launchPhone();
    try {
      await phone.context.addInitScript(watchPrf);
      const page = await phone.open(url);
      const cdp = await phone.context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', authenticator(true));
      await setUpPhone(page, 'Fingerprint phone');
      await page.getByTestId('devices-status').waitFor({ timeout: 20_000 });

      // Turn it on: a wrong password first.
      await page.getByTestId('biometric-open').click();
      assert.match(await page.getByTestId('biometric-status').textContent(), /^Off/);
      await page.getByTestId('biometric-password-input').fill('not the password');
      await page.getByTestId('biometric-enable').click();
      await page.getByTestId('error').filter({ hasText: 'Wrong password' }).waitFor({ timeout: 30_000 });
      assert.equal((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials.length, 0);
      await page.getByTestId('biometric-password-input').fill(PHONE_PASSWORD);
      await page.getByTestId('biometric-enable').click();
      await page.getByTestId('biometric-status').filter({ hasText: /^On/ }).waitFor({ timeout: 30_000 });
      assert.match(await page.getByTestId('notice').textContent(), /is on/);
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      assert.equal(credentials.length, 1, 'one platform credential made');
      const record = await page.evaluate((k) => localStorage.getItem(k), RECORD);
      const vault = await page.evaluate(() => localStorage.getItem('tandem.phone.vault'));
      // (Node's base64 decoder reads CDP's and the record's alphabet alike)
      assert.deepEqual(Buffer.from(JSON.parse(record).credential, 'base64'), Buffer.from(credentials[0].credentialId, 'base64'), 'the record names that credential');

      // Lock, then unlock with the authenticator.
      await page.getByTestId('back').click();
      await page.getByTestId('lock').click();
      await page.getByTestId('unlock-screen').waitFor();
      await page.getByTestId('unlock-biometric').click();
      await page.getByTestId('unlock-screen').waitFor({ state: 'detached', timeout: 20_000 });
      assert.equal(await page.getByTestId('account-address').textContent(), ANVIL_ACCOUNT_0);
      // After a reload too (the record is read back), and the wallet works:
      // its device opens and the phrase shows after the password.
      await page.reload();
      await page.getByTestId('unlock-biometric').click();
      await page.getByTestId('devices-status').waitFor({ timeout: 20_000 });
      assert.equal(await page.getByTestId('account-address').textContent(), ANVIL_ACCOUNT_0);
      await page.getByTestId('help-open').click();
      await page.getByTestId('reveal-open').click();
      await page.getByTestId('reveal-password-input').fill(PHONE_PASSWORD);
      await page.getByTestId('reveal-submit').click();
      await page.getByTestId('reveal-words').waitFor({ timeout: 30_000 });
      assert.equal(await page.getByTestId('reveal-word-11').textContent(), 'junk');
      await page.getByTestId('reveal-hide').click(); // back to Home

      // The record opens in Node with the browser's PRF output (the same at
      // creation and at each unlock), and seals exactly the vault's key.
      const outputs = await page.evaluate(() => window.__tandemPrf);
      assert.ok(outputs.length >= 1, 'the browser returned a PRF output');
      assert.ok(outputs.every((o) => o.length === 32 && Buffer.from(o).equals(Buffer.from(outputs[0]))));
      const prf = Uint8Array.from(outputs[0]);
      const { wrapKey, vaultKey: unwrapped } = openPrfRecord(record, vault, prf);
      assert.deepEqual(Buffer.from(unwrapped), Buffer.from(dataKey(vault, PHONE_PASSWORD)), "the stored vault's data key");
      assert.notDeepEqual(Buffer.from(unwrapped), Buffer.from(vaultKey(vault, PHONE_PASSWORD)), "not the password's key");
      assert.match(new TextDecoder().decode(openVaultWithKey(vault, unwrapped)), /./);

      // Secrets scan: the phone's storage and its profile files.
      const seed = mnemonicToSeedSync(ANVIL_MNEMONIC);
      const secrets = [
        { name: 'PRF output', bytes: Buffer.from(prf) },
        { name: 'PRF-derived wrapping key', bytes: Buffer.from(wrapKey) },
        { name: 'vault key', bytes: Buffer.from(unwrapped) },
        { name: 'phone recovery phrase', bytes: Buffer.from(ANVIL_MNEMONIC) },
        { name: 'phone BIP-39 seed', bytes: Buffer.from(seed) },
      ];
      const store = await page.evaluate(() => JSON.stringify({ ...localStorage }));
      assert.match(store, /tandem\.phone\.biometric/);
      const haystacks = [Buffer.from(store), ...(await filesUnder(phone.profile))];
      assert.deepEqual(findSecrets(haystacks, secrets), []);
      // (the scan can fail: the same secrets are found where they are written)
      assert.deepEqual(findSecrets([Buffer.from(Buffer.from(wrapKey).toString('base64url'))], secrets), ['PRF-derived wrapping key']);

      // The credential is gone from the authenticator: a clear message, and
      // the password still works.
      await cdp.send('WebAuthn.clearCredentials', { authenticatorId });
      await page.getByTestId('lock').click();
      await page.getByTestId('unlock-biometric').click();
      const gone = page.getByTestId('error');
      await gone.waitFor({ timeout: 70_000 });
      assert.match(await gone.textContent(), /no longer has the key Tandem made for it/);
      assert.ok(await page.getByTestId('unlock-screen').isVisible());
      await unlockPhone(page);
      assert.equal(await page.getByTestId('account-address').textContent(), ANVIL_ACCOUNT_0);

      // Turn it off: the record is erased and the Unlock screen no longer offers it.
      await page.getByTestId('biometric-open').click();
      await page.getByTestId('biometric-disable').click();
      await page.getByTestId('biometric-status').filter({ hasText: /^Off/ }).waitFor();
      assert.equal(await page.evaluate((k) => localStorage.getItem(k), RECORD), null);
      await page.getByTestId('back').click();
      await page.getByTestId('lock').click();
      await page.getByTestId('unlock-screen').waitFor();
      assert.equal(await page.getByTestId('unlock-biometric').count(), 0);

      // On again with a new credential; then one byte of the stored record
      // changes: a clear message, and the password still works.
      await unlockPhone(page);
      await page.getByTestId('biometric-open').click();
      await page.getByTestId('biometric-password-input').fill(PHONE_PASSWORD);
      await page.getByTestId('biometric-enable').click();
      await page.getByTestId('biometric-status').filter({ hasText: /^On/ }).waitFor({ timeout: 30_000 });
      await page.evaluate((k) => {
        const r = JSON.parse(localStorage.getItem(k));
        const b = Uint8Array.from(atob(r.wrapped), (c) => c.charCodeAt(0));
        b[5] ^= 1;
        r.wrapped = btoa(String.fromCharCode(...b));
        localStorage.setItem(k, JSON.stringify(r));
      }, RECORD);
      await page.reload();
      await page.getByTestId('unlock-biometric').click();
      const changed = page.getByTestId('error');
      await changed.waitFor({ timeout: 20_000 });
      assert.match(await changed.textContent(), /did not open this wallet \(the stored key was changed or damaged\)/);
      await unlockPhone(page);
      assert.equal(await page.getByTestId('account-address').textContent(), ANVIL_ACCOUNT_0);
      assert.deepEqual(page.errors, []);
    } catch (e) {
      const page = phone.context.pages().at(-1);
      console.error('the phone showed:', await page?.locator('#app').innerText().catch(() => ''), page?.errors);
      throw e;
    } finally {
      await phone.close();
    }
  });

  it('an authenticator without PRF: the app says why and unlock stays with the password', async () => {
    const phone = await launchPhone();
    try {
      const page = await phone.open(url);
      const cdp = await phone.context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', authenticator(false));
      await setUpPhone(page, 'Older phone');
      await page.getByTestId('devices-status').waitFor({ timeout: 20_000 });
      await page.getByTestId('biometric-open').click();
      await page.getByTestId('biometric-password-input').fill(PHONE_PASSWORD);
      await page.getByTestId('biometric-enable').click();
      const why = page.getByTestId('error');
      await why.waitFor({ timeout: 30_000 });
      assert.equal(await why.textContent(), NO_PRF);
      assert.match(await page.getByTestId('biometric-status').textContent(), /^Off/);
      // The authenticator did make a credential: only the PRF was missing.
      assert.equal((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials.length, 1);
      assert.equal(await page.evaluate((k) => localStorage.getItem(k), RECORD), null, 'nothing stored');
      await page.getByTestId('back').click();
      await page.getByTestId('lock').click();
      await page.getByTestId('unlock-screen').waitFor();
      assert.equal(await page.getByTestId('unlock-biometric').count(), 0, 'the password only');
      await unlockPhone(page);
      assert.equal(await page.getByTestId('account-address').textContent(), ANVIL_ACCOUNT_0);
      assert.deepEqual(page.errors, []);
    } finally {
      await phone.close();
    }
  });
});
