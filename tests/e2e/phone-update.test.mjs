// Code integrity of the phone app: its service worker pins the release key
// of the build it first installed and takes a later build only when that key
// signed it and every file matches its hash. A relay (the real binary)
// serves a copy of the built app, which the test then tampers with, as a
// compromised server would. Run: node --test tests/e2e/phone-update.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { generateKeyPairSync } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { ROOT, until } from './lib/index.mjs';
import { startRelay } from './lib/devices.mjs';
import { launchPhone } from './lib/phone.mjs';
import { releaseKey, signPhone } from '../../scripts/sign-phone.mjs';

/** Asks the app's service worker to look for an update; resolves with what it says. */
const check = (page) =>
  page.evaluate(
    () =>
      new Promise((resolve) => {
        navigator.serviceWorker.addEventListener('message', (e) => resolve(e.data), { once: true });
        navigator.serviceWorker.controller.postMessage({ kind: 'check-update' });
      }),
  );
/** The boot.js the page runs now (as the service worker served it). */
const runningBoot = (page) => page.evaluate(() => fetch('boot.js').then((r) => r.text()));

describe('phone app updates', () => {
  let relay;
  let dir;
  let app;
  let phone;
  let page;
  let key;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-phone-update-'));
    app = path.join(dir, 'app');
    await cp(path.join(ROOT, 'phone'), app, { recursive: true });
    key = await releaseKey();
    await signPhone(app, key);
    relay = await startRelay({ appDir: app });
    phone = await launchPhone();
    page = await phone.open(relay.appUrl);
    await page.getByTestId('wallet-create').waitFor({ timeout: 20_000 });
    await page.evaluate(() => navigator.serviceWorker.ready);
    await until(() => page.evaluate(() => !!navigator.serviceWorker.controller), 'the service worker to control the page', 10_000);
  });
  after(async () => {
    await phone?.close();
    await relay?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('an unsigned build is refused and the installed version keeps running', async () => {
    const installed = await runningBoot(page);
    await appendFile(path.join(app, 'boot.js'), "\nperformance.mark('unsigned build');\n");
    await signPhone(app, key);
    await rm(path.join(app, 'wasm/build.sig'));
    const said = await check(page);
    assert.equal(said.kind, 'update-refused');
    assert.match(said.reason, /not signed/);
    // The app says so, on the screen it is on.
    const note = page.getByTestId('update-note');
    await note.waitFor({ timeout: 10_000 });
    assert.match(await note.textContent(), /update of this app was refused: it is not signed.*keep the version/s);
    await page.reload();
    await page.getByTestId('wallet-create').waitFor({ timeout: 20_000 });
    assert.equal(await runningBoot(page), installed, 'still the installed boot.js');
  });

  it('a build whose files were changed after signing is refused', async () => {
    const installed = await runningBoot(page);
    await signPhone(app, key); // a genuine build.json and build.sig...
    const manifest = JSON.parse(await readFile(path.join(app, 'wasm/build.json'), 'utf8'));
    await appendFile(path.join(app, 'boot.js'), "\nperformance.mark('changed after signing');\n");
    // ...whose listed hash is then changed to the new file's: the signature no longer covers it.
    const sum = (await import('node:crypto')).createHash('sha256').update(await readFile(path.join(app, 'boot.js'))).digest('hex');
    manifest.files.find((f) => f.path === 'boot.js').sha256 = sum;
    await writeFile(path.join(app, 'wasm/build.json'), `${JSON.stringify(manifest, null, 1)}\n`);
    const said = await check(page);
    assert.equal(said.kind, 'update-refused');
    assert.match(said.reason, /signature does not verify/);
    assert.equal(await runningBoot(page), installed);
  });

  it('a build signed by another key is refused', async () => {
    const installed = await runningBoot(page);
    const { privateKey } = generateKeyPairSync('ed25519');
    await signPhone(app, privateKey);
    const said = await check(page);
    assert.equal(said.kind, 'update-refused');
    assert.match(said.reason, /another release key/);
    assert.equal(await runningBoot(page), installed);
  });

  it('a build signed by the release key is taken', async () => {
    await appendFile(path.join(app, 'boot.js'), "\nperformance.mark('release 2');\n");
    const m = await signPhone(app, key);
    const said = await check(page);
    assert.deepEqual(said, { kind: 'update-ready', id: m.id });
    await page.reload();
    await page.getByTestId('wallet-create').waitFor({ timeout: 20_000 });
    assert.match(await runningBoot(page), /release 2/);
    assert.ok(await page.evaluate(() => performance.getEntriesByName('release 2').length === 1), 'the new boot.js ran');
    assert.deepEqual(page.errors, []);
  });
});
