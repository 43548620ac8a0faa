// The Activity log on the phone (issue 12): the extension in one Chromium,
// the phone app (served by the relay binary at /app/) in another with
// mobile emulation, paired through the relay on 127.0.0.1, anvil as the
// chain and the viem test dapp. The phone turns the Activity log on (its
// sync build, tandem_phone_sync, loads after one reload); what the desktop
// signs shows on the phone, from the desktop's device and verified (its
// whole chain, entries written before the phone listened included: the
// phone asks for the chains when its log starts); the phone's answer to a
// confirm-on-phone request shows on the desktop as "Approved on Pixel 8"
// and in the phone's own chain; the home screen says how sync stands; the
// export downloads and its entries carry signatures; an entry of the
// desktop altered in the phone's stored log is shown in red there. The
// phone's Sync screen switches a category for every device and edits the
// address book both ways; a network changed on the desktop is announced on
// the phone with the desktop's name. The pairing made while the phone's
// plain build ran waits in its storage and is recorded in its own chain
// once the log opens. Afterwards the phone's storage (localStorage,
// IndexedDB, its profile's files) holds no phrase, seed, account key, group
// key, identity seed, vault or session key of either device, in any
// encoding, its sealed states opened included (only its device state holds
// its identity and the group's keys); the desktop's storage and the relay's
// database neither.
// Run: node --test tests/e2e/phone-audit.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import {
  launch,
  openPopup,
  openDapp,
  startAnvil,
  startDapp,
  jsonRpc,
  until,
  ROOT,
  ANVIL_MNEMONIC,
  ANVIL_ACCOUNT_0 as A0,
  ANVIL_ACCOUNT_1 as A1,
  PASSWORD,
} from './lib/index.mjs';
import { onboardImport } from './lib/onboard.mjs';
import { answer } from './lib/approve.mjs';
import { startRelay } from './lib/devices.mjs';
import { auditEntries as entries, unlockPhone, PHONE_PASSWORD } from './lib/phone.mjs';
import { pairPhone, approveOnDesktop, onPhone } from './lib/confirm.mjs';
import { sealedDevice, sealedSync } from './lib/sealed.mjs';
import {
  browserLeaks,
  browserSecrets,
  deviceSecrets,
  filesUnder,
  findSecrets,
  originStorage,
  phraseSecrets,
  relayFiles,
  vaultSecrets,
} from './lib/secrets.mjs';
import { backupKeys, backupSecrets } from './lib/backup.mjs';

describe('the Activity log on the phone', { timeout: 600_000 }, () => {
  let relay, anvil, dapp, browser, phone, phonePage, page;
  const d = (fn, ...args) => page.evaluate(fn, ...args);

  before(async () => {
    [relay, anvil, dapp] = await Promise.all([startRelay({ appDir: path.join(ROOT, 'phone') }), startAnvil(), startDapp()]);
    browser = await launch();
    await onboardImport(browser, ANVIL_MNEMONIC, PASSWORD);
    await browser.ui('networks.upsert', { chainId: 31337, name: 'Anvil', rpcUrl: anvil.url, symbol: 'ETH' });
    await browser.ui('networks.select', { chainId: 31337 });
    await browser.ui('devices.relay.set', { relay: relay.url });
    ({ phone, phonePage } = await pairPhone(browser, relay));
    // Sync on in the extension: its worker runs the sync module from now on
    // (what it signs goes to the group as it is signed).
    await browser.ui('sync.view');
    await until(async () => (await browser.ui('sync.view')).online, 'the extension\'s sync to be online', 30_000);
    ({ page } = await openDapp(browser, dapp.url));
    // The site's connection needs the phone (its default policy).
    const connected = d(() => window.dapp.connect());
    await approveOnDesktop(browser, 'connect');
    await onPhone(phonePage, true);
    assert.deepEqual((await connected).result, [A0]);
  });

  after(async () => {
    await phone?.close();
    await browser?.close();
    await Promise.all([relay?.stop(), anvil?.stop(), dapp?.close()]);
  });

  it('the plain app offers the log; turning it on reloads once into the sync build', async () => {
    await phonePage.getByTestId('home-screen').waitFor();
    assert.equal(await phonePage.getByTestId('activity-open').count(), 0);
    assert.equal(await phonePage.getByTestId('sync-status').count(), 0);
    // The pairing made while the plain build ran waits for the log,
    // as heard (nothing secret in it).
    const queued = JSON.parse(await phonePage.evaluate(() => localStorage.getItem('tandem.phone.audit.queue')));
    assert.deepEqual(
      queued.map((w) => JSON.parse(w.event).pairing?.step),
      ['paired'],
    );
    await Promise.all([phonePage.waitForEvent('load'), phonePage.getByTestId('activity-on').click()]);
    await phonePage.getByTestId('unlock-screen').waitFor({ timeout: 20_000 });
    // The sync build runs now (the plain one would not have it).
    assert.equal(
      await phonePage.evaluate(() => performance.getEntriesByType('resource').some((r) => r.name.endsWith('/tandem_phone_sync_bg.wasm'))),
      true,
    );
    await unlockPhone(phonePage);
    await phonePage.getByTestId('activity-open').waitFor({ timeout: 20_000 });
    // Recorded in the phone's own chain once the log opened (once), before
    // its unlock; the queue is gone.
    await phonePage.getByTestId('activity-open').click();
    let own;
    await until(async () => {
      const all = await entries(phonePage);
      const me = all.find((e) => e.text === 'Unlocked')?.device;
      own = me && all.filter((e) => e.device === me);
      return own?.some((e) => /^Paired /.test(e.text)) && own;
    }, 'the pairing in the phone\'s own chain', 20_000);
    const paired = own.filter((e) => /^Paired /.test(e.text));
    assert.equal(paired.length, 1, JSON.stringify(own));
    assert.equal(paired[0].problem, null);
    const seqOf = (e) => Number(e.id.split('-')[3]);
    assert.ok(seqOf(paired[0]) < seqOf(own.find((e) => e.text === 'Unlocked')), JSON.stringify(own));
    assert.equal(await phonePage.evaluate(() => localStorage.getItem('tandem.phone.audit.queue')), null);
    await phonePage.getByTestId('back-button').click();
    await phonePage.getByTestId('home-screen').waitFor();
    const status = phonePage.getByTestId('sync-status');
    // Timed by the relay's word that it stored what the phone sent (its
    // unlock, recorded in the log).
    await until(
      async () => /^Synced (just now|\d+ (min|h|d) ago)$/.test((await status.textContent().catch(() => '')) ?? ''),
      'the phone to say when it synced',
      30_000,
    );
    assert.deepEqual(phonePage.errors, []);
  });

  it('the phone turns address-book sync on for every device: its entry reaches the extension, announced as from Pixel 8; the extension\'s shows on the phone', async () => {
    const BOB = `0x${'b0'.repeat(20)}`;
    const CAROL = `0x${'c0'.repeat(20)}`;
    const onInExtension = async () => (await browser.ui('sync.view')).categories.find((c) => c.category === 'address_book').on;
    assert.equal(await onInExtension(), false);
    await phonePage.getByTestId('sync-open').click();
    await phonePage.getByTestId('sync-screen').waitFor();
    const toggle = phonePage.getByTestId('sync-toggle-address_book');
    await toggle.waitFor({ timeout: 20_000 });
    assert.equal(await toggle.getAttribute('aria-checked'), 'false');
    // Said for a phone: a switch acts for every device.
    assert.match(await phonePage.getByTestId('sync-never').textContent(), /on all your devices/);
    assert.doesNotMatch(await phonePage.getByTestId('sync-screen').textContent(), /browser/);
    await toggle.click();
    await phonePage.getByTestId('sync-toggle-address_book').filter({ hasText: 'On' }).waitFor();
    await until(onInExtension, 'the extension to sync the address book', 30_000);

    // A bad address is refused on the phone, with its reason; nothing goes.
    await phonePage.getByTestId('sync-contact-address').fill('0x1234');
    await phonePage.getByTestId('sync-contact-name').fill('Mallory');
    await phonePage.getByTestId('sync-contact-add').click();
    assert.match(await phonePage.getByTestId('form-error').textContent(), /0x followed by 40 hex/);
    assert.equal(await phonePage.getByTestId('sync-contact-name').inputValue(), 'Mallory', 'the typed name stays to be corrected');
    await phonePage.getByTestId('sync-contact-address').fill(BOB);
    await phonePage.getByTestId('sync-contact-name').fill('Bob');
    await phonePage.getByTestId('sync-contact-add').click();
    await phonePage.getByTestId(`sync-contact-${BOB}`).waitFor({ timeout: 20_000 });
    assert.equal(await phonePage.getByTestId('sync-contact-address').inputValue(), '', 'the form clears once saved');
    const seen = await until(async () => {
      const v = await browser.ui('sync.view');
      const bob = v.records.find((r) => r.category === 'address_book' && r.id === BOB);
      return bob && v.notices.some((n) => n.id === BOB && n.from === 'Pixel 8') && { v, bob };
    }, 'the phone\'s entry in the extension, announced', 30_000);
    assert.equal(seen.bob.value.contact.name, 'Bob');
    assert.equal(seen.bob.from, 'Pixel 8');
    assert.ok(!JSON.stringify(seen.v).includes('Mallory'));

    // The extension's entry shows on the phone, naming where it was made.
    await browser.ui('sync.edit', { field: { record: { category: 'address_book', id: CAROL } }, value: { contact: { name: 'Carol', note: '' } } });
    const carol = phonePage.getByTestId(`sync-contact-${CAROL}`);
    await carol.waitFor({ timeout: 30_000 });
    assert.match(await carol.locator('span').first().textContent(), new RegExp(`^Carol: ${CAROL} \\(from .+\\)$`));
    // And off again from the phone, for every device.
    await phonePage.getByTestId('sync-toggle-address_book').click();
    await phonePage.getByTestId('sync-toggle-address_book').filter({ hasText: 'Off' }).waitFor();
    await until(async () => !(await onInExtension()), 'the extension to stop syncing the address book', 30_000);
    await phonePage.getByTestId('back-button').click();
    await phonePage.getByTestId('home-screen').waitFor();
    assert.deepEqual(phonePage.errors, []);
  });

  it('a network changed on the desktop is announced on the phone, naming the desktop', async () => {
    const onInExtension = async () => (await browser.ui('sync.view')).categories.find((c) => c.category === 'networks').on;
    await phonePage.getByTestId('sync-open').click();
    await phonePage.getByTestId('sync-screen').waitFor();
    await phonePage.getByTestId('sync-toggle-networks').click();
    await phonePage.getByTestId('sync-toggle-networks').filter({ hasText: 'On' }).waitFor({ timeout: 20_000 });
    await until(onInExtension, 'the extension to sync networks', 30_000);
    // The chain the desktop uses, changed there (renamed; an RPC URL
    // changed is the same record): every other device hears of it.
    await browser.ui('networks.upsert', { chainId: 31337, name: 'Anvil (renamed)', rpcUrl: anvil.url, symbol: 'ETH' });
    const notice = phonePage.getByTestId('sync-notices').getByText(/Networks entry 31337 was (added|changed) on Chrome on /);
    await notice.first().waitFor({ timeout: 30_000 });
    await phonePage.getByTestId('sync-toggle-networks').click();
    await phonePage.getByTestId('sync-toggle-networks').filter({ hasText: 'Off' }).waitFor();
    await until(async () => !(await onInExtension()), 'the extension to stop syncing networks', 30_000);
    await phonePage.getByTestId('back-button').click();
    await phonePage.getByTestId('home-screen').waitFor();
    assert.deepEqual(phonePage.errors, []);
  });

  it('what the desktop signs shows on the phone, from the desktop, verified with its whole chain', async () => {
    const signed = d((a) => window.dapp.signMessage(a, 'Seen on the phone\nNonce: 9'), A0);
    await answer(browser, 'personal_sign', true);
    assert.ok((await signed).result?.startsWith('0x'));
    await phonePage.getByTestId('activity-open').click();
    await phonePage.getByTestId('audit-screen').waitFor({ timeout: 10_000 });
    const mine = async () => (await entries(phonePage)).find((e) => e.text === 'Unlocked')?.device;
    let seen;
    await until(async () => {
      seen = (await entries(phonePage)).find((e) => /personal_sign on chain 31337: message: Seen on the phone$/.test(e.text));
      return seen;
    }, 'the desktop\'s signature on the phone', 30_000);
    const me = await mine();
    assert.ok(me, 'the phone\'s own unlock is in its chain');
    assert.notEqual(seen.device, me, 'the entry is the desktop\'s');
    // Said for a phone: its own device, and where the log comes from.
    const own = phonePage.getByTestId('audit-filter-device').locator('option', { hasText: '(this phone)' });
    assert.equal(await own.getAttribute('value'), me);
    assert.match(await phonePage.getByTestId('audit-about').textContent(), /reach this phone/);
    assert.doesNotMatch(await phonePage.getByTestId('audit-screen').textContent(), /browser/);
    assert.match(seen.text, /^Approved on /);
    // The desktop's entries from before the phone's log started (its
    // restore at onboarding) arrived too, so its chain has no gap.
    const desk = (await entries(phonePage)).filter((e) => e.device === seen.device);
    assert.ok(desk.some((e) => e.text === 'Restored from the recovery phrase'), JSON.stringify(desk));
    assert.deepEqual(
      desk.filter((e) => e.problem),
      [],
    );
    assert.match(await phonePage.getByTestId('audit-summary').textContent(), /all signed and in order/);
    // Filters: the desktop's device, then its signatures only.
    await phonePage.getByTestId('audit-filter-device').selectOption(seen.device);
    await until(async () => (await entries(phonePage)).every((e) => e.device === seen.device), 'only the desktop\'s entries');
    await phonePage.getByTestId('audit-filter-kind').selectOption('sign');
    await until(async () => (await entries(phonePage)).every((e) => /asked for/.test(e.text)), 'only signatures');
    await phonePage.getByTestId('audit-filter-kind').selectOption('');
    await phonePage.getByTestId('audit-filter-device').selectOption('');
    // The export downloads, each entry with its signature and what reading found.
    const [download] = await Promise.all([phonePage.waitForEvent('download'), phonePage.getByTestId('audit-export-json').click()]);
    const doc = JSON.parse(await readFile(await download.path(), 'utf8'));
    assert.equal(doc.format, 'tandem-audit/v1');
    assert.ok(doc.devices.some((x) => x.device === seen.device && x.identity));
    const exported = doc.entries.find((x) => x.entry.device === seen.device && x.entry.happened.kind === 'sign');
    assert.ok(exported.entry.sig);
    assert.deepEqual(exported.verdict, { status: 'ok' });
    await phonePage.getByTestId('back-button').click();
    await phonePage.getByTestId('home-screen').waitFor();
    assert.deepEqual(phonePage.errors, []);
  });

  it('the phone\'s answer shows on the desktop as "Approved on Pixel 8" and in the phone\'s own chain', async () => {
    const value = (10n ** 18n).toString();
    const pending = d(([a, to, v]) => window.dapp.sendTransaction(a, 31337, to, v), [A0, A1, value]);
    await approveOnDesktop(browser, 'transaction');
    await onPhone(phonePage, true);
    const r = await pending;
    assert.ok(r.result, JSON.stringify(r.error));
    const receipt = await until(() => jsonRpc(anvil.url, 'eth_getTransactionReceipt', [r.result]), 'the receipt');
    assert.equal(receipt.status, '0x1');

    // The desktop's log.
    const popup = await openPopup(browser, 380);
    await popup.locator('#app > .app[data-screen="home"]').waitFor({ timeout: 20_000 });
    await popup.getByTestId('settings-button').click();
    await popup.getByTestId('open-audit').click();
    let onDesk;
    await until(async () => {
      onDesk = (await entries(popup)).find((e) => /eth_sendTransaction on chain 31337/.test(e.text));
      return onDesk;
    }, 'the send in the desktop\'s log');
    assert.match(onDesk.text, /^Approved on Pixel 8: /);
    assert.equal(onDesk.problem, null);
    // The phone's entries reached the desktop, verified there too.
    const fromPhone = (await entries(popup)).filter((e) => e.device !== onDesk.device);
    assert.ok(fromPhone.some((e) => e.text === 'Unlocked'), JSON.stringify(fromPhone));
    assert.deepEqual(fromPhone.filter((e) => e.problem), []);
    // Its pairing with the phone is in its own chain, signed: made while
    // only the plain module was loaded (no log yet), it waited in the
    // worker until the log's module loaded.
    const paired = (await entries(popup)).filter((e) => e.device === onDesk.device && /^Paired Pixel 8 \(/.test(e.text));
    assert.equal(paired.length, 1, JSON.stringify(await entries(popup)));
    assert.equal(paired[0].problem, null);
    await popup.close();

    // The phone's own chain.
    await phonePage.getByTestId('activity-open').click();
    let own;
    await until(async () => {
      own = (await entries(phonePage)).find((e) => /^Approved on Pixel 8: .* asked for .* on chain 31337: 1 ETH to /i.test(e.text));
      return own;
    }, 'the phone\'s answer in its own chain');
    const unlocked = (await entries(phonePage)).find((e) => e.text === 'Unlocked');
    assert.equal(own.device, unlocked.device, 'written by the phone');
    assert.equal(own.problem, null);
    assert.ok(own.text.toLowerCase().includes(A1.toLowerCase()), own.text);
    assert.deepEqual(phonePage.errors, []);
  });
  it('an entry of the desktop altered in the phone\'s stored log is shown in red on the phone', async () => {
    // Someone who can write the phone browser's storage and use its device
    // key (the sealed sync state holds the log) changes what the desktop's
    // signature said, with the app closed: a page of the app's origin that
    // runs none of its scripts.
    await phonePage.goto(new URL('manifest.webmanifest', relay.appUrl).href);
    const state = await sealedSync(phonePage, { local: 'tandem.phone.sync' });
    const entry = Object.values(state.syncer.audit.chains)
      .flat()
      .find((e) => e.happened.kind === 'sign' && e.happened.method === 'personal_sign');
    assert.ok(entry, 'the desktop\'s signature is in the stored log');
    entry.happened.summary = 'message: something harmless';
    await sealedSync(phonePage, { local: 'tandem.phone.sync' }, state);
    await phonePage.goto(relay.appUrl);
    await unlockPhone(phonePage);
    await phonePage.getByTestId('activity-open').click();
    let altered;
    await until(async () => {
      altered = (await entries(phonePage)).find((e) => /message: something harmless$/.test(e.text));
      return altered;
    }, 'the altered entry on the phone');
    assert.equal(altered.problem, 'Altered: its signature does not match what it says');
    // The desktop's next entry no longer links to it (its hash changed).
    const seq = Number(altered.id.split('-')[3]);
    const problems = (await entries(phonePage)).filter((e) => e.problem).map((e) => [e.id, e.problem]);
    assert.deepEqual(problems.sort(), [
      [altered.id, 'Altered: its signature does not match what it says'],
      [`audit-entry-${altered.device}-${seq + 1}`, 'The entry before this one was changed or replaced'],
    ].sort());
    assert.match(await phonePage.getByTestId('audit-summary').textContent(), /2 have a problem \(shown in red\)/);
    assert.equal(
      await phonePage.locator(`[data-testid="${altered.id}"]`).getAttribute('class'),
      'stack warn',
    );
  });

  it('turning the log off says what happens, then the plain app loads; kept, the copy shows again and catches up; deleted, it comes back from the desktop and the chain goes on', async () => {
    const loaded = (name) =>
      phonePage.evaluate((n) => performance.getEntriesByType('resource').some((r) => r.name.endsWith(`/${n}_bg.wasm`)), name);
    const turnOff = async (choice) => {
      await phonePage.getByTestId('activity-open').click();
      await phonePage.getByTestId('audit-screen').waitFor();
      await phonePage.getByTestId('activity-off-ask').click();
      const asked = await phonePage.getByTestId('activity-off').textContent();
      assert.match(asked, /stops receiving your devices' Activity log/);
      assert.match(asked, /reloads once into its smaller version/);
      await Promise.all([phonePage.waitForEvent('load'), phonePage.getByTestId(`activity-off-${choice}`).click()]);
      await phonePage.getByTestId('unlock-screen').waitFor({ timeout: 20_000 });
      assert.equal(await loaded('tandem_phone'), true);
      assert.equal(await loaded('tandem_phone_sync'), false);
      await unlockPhone(phonePage);
      await phonePage.getByTestId('activity-on').waitFor({ timeout: 20_000 });
      assert.equal(await phonePage.getByTestId('activity-open').count(), 0);
      assert.equal(await phonePage.getByTestId('sync-status').count(), 0);
    };
    const turnOn = async () => {
      await Promise.all([phonePage.waitForEvent('load'), phonePage.getByTestId('activity-on').click()]);
      await phonePage.getByTestId('unlock-screen').waitFor({ timeout: 20_000 });
      assert.equal(await loaded('tandem_phone_sync'), true);
      await unlockPhone(phonePage);
      await phonePage.getByTestId('activity-open').click();
    };
    const signOnDesk = async (text) => {
      const signed = d(([a, m]) => window.dapp.signMessage(a, m), [A0, text]);
      await answer(browser, 'personal_sign', true);
      assert.ok((await signed).result?.startsWith('0x'));
    };
    // The desktop's log as its log screen gets it: its own device, and each
    // entry with what reading found.
    const onDesktop = () => browser.ui('audit.view');
    // From the log screen the last test left open.
    await phonePage.getByTestId('back-button').click();
    await phonePage.getByTestId('home-screen').waitFor();

    // Kept: on again, this phone's copy shows again (the altered entry with
    // it); what the desktop signed while it was off arrives once the
    // desktop's next entry shows the gap, and nothing shows as missing.
    await turnOff('keep');
    assert.notEqual(await phonePage.evaluate(() => localStorage.getItem('tandem.phone.sync')), null);
    await signOnDesk('Signed while the phone was off');
    await turnOn();
    await until(
      async () => (await entries(phonePage)).some((e) => /message: something harmless$/.test(e.text)),
      'the kept copy on the phone',
    );
    await signOnDesk('Signed once the phone was on again');
    let caught;
    await until(async () => {
      const all = await entries(phonePage);
      caught = ['Signed while the phone was off', 'Signed once the phone was on again'].map((m) =>
        all.find((e) => e.text.endsWith(`message: ${m}`)),
      );
      return caught.every(Boolean);
    }, 'both of the desktop\'s signatures on the phone', 30_000);
    assert.deepEqual(caught.map((e) => e.problem), [null, null]);
    // Every unlock of the phone so far reached the desktop.
    const phoneId = await phonePage
      .getByTestId('audit-filter-device')
      .locator('option', { hasText: '(this phone)' })
      .getAttribute('value');
    const unlocks = (v) => v.entries.filter((e) => e.device === phoneId && e.happened.kind === 'unlock').length;
    const mine = (await entries(phonePage)).filter((e) => e.device === phoneId && e.text === 'Unlocked').length;
    let before;
    await until(async () => {
      before = await onDesktop();
      return unlocks(before) === mine;
    }, 'the phone\'s unlocks on the desktop', 30_000);
    await phonePage.getByTestId('back-button').click();
    await phonePage.getByTestId('home-screen').waitFor();

    // Deleted: the sealed copy is gone from this phone.
    await turnOff('delete');
    assert.equal(await phonePage.evaluate(() => localStorage.getItem('tandem.phone.sync')), null);
    assert.equal(await phonePage.evaluate(() => localStorage.getItem('tandem.phone.activity')), null);
    // On again: the phone's chain comes back from the desktop, and its
    // unlock follows it; the desktop shows one chain, nothing in red.
    await turnOn();
    let after;
    await until(async () => {
      after = await onDesktop();
      return unlocks(after) === unlocks(before) + 1;
    }, 'the phone\'s new unlock on the desktop', 30_000);
    const phoneChain = after.entries.filter((e) => e.device === phoneId);
    assert.deepEqual(phoneChain.filter((e) => e.verdict.status !== 'ok'), []);
    assert.deepEqual(phoneChain.map((e) => e.seq), phoneChain.map((_, i) => i + 1), 'one chain, from 1');
    await until(
      async () => (await entries(phonePage)).filter((e) => e.device === phoneId && e.text === 'Unlocked').length === unlocks(after),
      'the phone\'s chain back on the phone',
      30_000,
    );
    assert.deepEqual((await entries(phonePage)).filter((e) => e.problem), []);
    assert.match(await phonePage.getByTestId('audit-summary').textContent(), /all signed and in order/);
    assert.deepEqual(phonePage.errors, []);
  });

  it('leaves no recovery phrase, seed, account key, group key, identity seed or session key in the phone\'s storage, sealed or opened', async () => {
    // After everything above (sync and log on, entries from both sides),
    // from a page of the app's origin that runs none of its scripts.
    await phonePage.goto(new URL('manifest.webmanifest', relay.appUrl).href);
    // What each device holds, learnt from it (lib/secrets.mjs): the phone's
    // identity seed and group keys (its sealed device state opened with its
    // device key) and its vault's keys (Argon2id of its password, then the
    // data key its unlocked app keeps); the desktop's likewise, and its
    // session key; the wallet's phrase, seed and account keys, and the
    // backup's keys of every generation the desktop reached.
    const phoneDevice = await sealedDevice(phonePage, { local: 'tandem.phone.device' });
    const vault = await phonePage.evaluate(() => localStorage.getItem('tandem.phone.vault'));
    const phoneOwn = [...deviceSecrets(phoneDevice, 'phone'), ...vaultSecrets(vault, PHONE_PASSWORD, 'phone')];
    const desktop = await browserSecrets(browser, 'desktop', PASSWORD);
    const secrets = [...phraseSecrets(ANVIL_MNEMONIC), ...phoneOwn, ...desktop];
    for (let g = 0; g <= ((await browser.ui('sync.view')).backup?.generation ?? 0); g++) {
      secrets.push(...backupSecrets(backupKeys(ANVIL_MNEMONIC, g)).map((s) => ({ ...s, name: `${s.name} (generation ${g})` })));
    }
    const phoneGroupKeys = phoneOwn.filter((s) => s.name.startsWith('group key'));
    assert.ok(phoneGroupKeys.length > 0, 'the phone holds the group key');
    assert.ok(
      phoneGroupKeys.every((k) => desktop.some((s) => s.name.startsWith('group key') && s.bytes.equals(k.bytes))),
      'the same group keys on both devices',
    );
    assert.ok(desktop.some((s) => s.name === 'desktop identity seed'));

    // The phone's storage as stored: localStorage, sessionStorage,
    // IndexedDB (its non-extractable device key only) and every file of its
    // profile. Nothing secret may be readable there, its own identity seed
    // included: that is only in the sealed device state.
    const raw = await originStorage(phonePage);
    assert.ok(raw.includes('tandem.phone.device') && raw.includes('tandem.phone.sync'), 'there is a device and a sync state to scan');
    assert.ok(raw.includes('"CryptoKey"') && !raw.includes('"extractable":true'), 'its device key in IndexedDB, not extractable');
    assert.deepEqual(findSecrets([raw, ...(await filesUnder(phone.profile))], secrets), [], 'in the phone\'s storage');
    // Its sync state, opened: the log and the records, and the backup
    // secret, which the sync module keeps there to write the backup
    // (docs/protocol.md, "Backup under the recovery phrase": Writing); no
    // other key of any kind.
    const opened = await sealedSync(phonePage, { local: 'tandem.phone.sync' });
    assert.ok(opened?.syncer?.audit, 'there is a sync state with a log to scan');
    assert.deepEqual(
      findSecrets([Buffer.from(JSON.stringify(opened))], secrets.filter((s) => !s.name.startsWith('backup secret'))),
      [],
      'in the phone\'s opened sync state',
    );
    // Its device state, opened: its own identity and the group's keys, by
    // design; nothing of the desktop's or of the wallet.
    const others = secrets.filter((s) => !phoneOwn.some((o) => o.bytes.equals(s.bytes)));
    assert.ok(findSecrets([Buffer.from(JSON.stringify(phoneDevice))], phoneOwn).includes('phone identity seed'), 'the scan reads the opened device state');
    assert.deepEqual(findSecrets([Buffer.from(JSON.stringify(phoneDevice))], others), [], 'in the phone\'s opened device state');
    // The desktop's storage and the relay's database: none either.
    assert.deepEqual(await browserLeaks(browser, secrets), [], 'in the desktop\'s storage');
    assert.deepEqual(findSecrets(await relayFiles(relay.dir), secrets), [], 'in the relay database');
  });
});
