// Cutting off the devices lost before a restore, for real: the built
// extension in headless Chromium profiles and the real relay binary on
// 127.0.0.1 (issue 12, "old devices can be revoked from it").
//
// Browser LOST syncs its address book and writes the encrypted backup
// (generation 0). A new browser, HOME, imports the same phrase, restores
// the backup and, on its Sync screen, cuts off the other devices: the
// backup moves to generation 1, whose keys this test derives from the
// phrase itself with @noble (HKDF info "tandem/backup/v1/gen/" and the
// generation, 4 bytes big-endian), and generation 0 holds only a sealed
// marker naming HOME's group. LOST, still holding generation 0's key,
// writes after a change, reads the marker, stops, and says it was cut off
// (screen and signed audit entry); nothing of it reaches generation 1.
// An attacker with generation 0's key (what a stolen LOST holds without
// its password) writes records of its own over the marker: generation 1
// does not open with that key, and a third browser that restores the
// phrase gets HOME's records from generation 1, not the attacker's. LOST's
// owner, unlocked, turns the backup on again and follows it to
// generation 1.
// Run: node --test tests/e2e/cut-off.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPopup, until, ANVIL_MNEMONIC, PASSWORD } from './lib/index.mjs';
import { walletOnRelay } from './lib/devices.mjs';
import { backupKeys, openBackup, putBackup, relayBackup, sealBackup } from './lib/backup.mjs';

const ALICE = `0x${'ab'.repeat(20)}`;
const BOB = `0x${'cd'.repeat(20)}`;
const THIEF = `0x${'ef'.repeat(20)}`;
const screen = (page, name) => page.locator(`#app > .app[data-screen="${name}"]`).waitFor({ timeout: 20_000 });

async function openSync(page) {
  await page.getByTestId('settings-button').click();
  await page.getByTestId('open-sync').click();
  await screen(page, 'sync');
}

async function addContact(page, address, name) {
  await page.getByTestId('sync-contact-address').fill(address);
  await page.getByTestId('sync-contact-name').fill(name);
  await page.getByTestId('sync-contact-add').click();
  await page.getByTestId(`sync-contact-${address}`).waitFor({ timeout: 20_000 });
}

/** The address-book names a backup's contents hold. */
function contactNames(plain) {
  const book = plain.snapshots.find((s) => s.category === 'address_book');
  return JSON.stringify(book ?? {});
}

describe('a restored browser cuts off the devices from before the restore', () => {
  const gen0 = backupKeys(ANVIL_MNEMONIC);
  const gen1 = backupKeys(ANVIL_MNEMONIC, 1);
  let relay;
  let lost;
  let home;
  before(async () => {
    ({ relay, browser: lost } = await walletOnRelay());
  });
  after(async () => {
    await lost?.close();
    await home?.close();
    await relay?.stop();
  });

  it('the lost browser backs up its address book (generation 0)', async () => {
    const page = await openPopup(lost);
    await openSync(page);
    await page.getByTestId('sync-toggle-address_book').click();
    await page.getByTestId('sync-toggle-address_book').filter({ hasText: 'On' }).waitFor();
    await addContact(page, ALICE, 'Alice Before');
    await until(
      async () => {
        const stored = await relayBackup(relay.url, gen0.id);
        return stored?.data && contactNames(openBackup(gen0, stored.data)).includes('Alice Before');
      },
      'generation 0 of the backup with the entry',
      30_000,
      250,
    );
    assert.equal(await relayBackup(relay.url, gen1.id), null, 'nothing in generation 1 yet');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a new browser restores, cuts off the other devices, and the backup moves to generation 1', async () => {
    home = await launch();
    await home.ui('devices.relay.set', { relay: relay.url });
    await home.ui('onboard.import', { phrase: ANVIL_MNEMONIC, password: PASSWORD });
    const { found } = await home.ui('backup.find');
    assert.ok(found && !found.moved, JSON.stringify(found));
    await home.ui('backup.restore');
    const page = await openPopup(home);
    await openSync(page);
    await page.getByTestId(`sync-contact-${ALICE}`).waitFor({ timeout: 20_000 });
    await page.getByTestId('backup-status').filter({ hasText: /Backup: saved/ }).waitFor({ timeout: 30_000 });
    // Offered while the backup is on, with what it does said first.
    const offer = page.getByTestId('backup-cut-off');
    assert.match(await offer.textContent(), /A device you lost still holds this backup's key/);
    await page.getByTestId('backup-cut-off-button').click();
    await page
      .getByTestId('backup-moved')
      .filter({ hasText: /Devices outside this group were cut off (just now|1 min ago)/ })
      .waitFor({ timeout: 30_000 });
    // Generation 1 holds the records; generation 0 only the marker, which
    // names the restored browser's group.
    const now = await relayBackup(relay.url, gen1.id);
    assert.ok(now?.data, 'generation 1 written');
    const plain = openBackup(gen1, now.data);
    assert.equal(plain.v, 3);
    assert.match(contactNames(plain), /Alice Before/);
    const marker = openBackup(gen0, (await relayBackup(relay.url, gen0.id)).data);
    assert.deepEqual(marker.snapshots, []);
    assert.deepEqual(marker.audit, []);
    assert.match(marker.retired.group, /^[0-9a-f]+$/);
    assert.ok(Math.abs(marker.retired.at - Date.now()) < 120_000, JSON.stringify(marker.retired));
    // Recorded in the signed log.
    const log = await home.ui('audit.view');
    assert.ok(
      log.entries.some((e) => e.device === log.me && e.happened.kind === 'backup_moved' && e.happened.here === true && e.happened.generation === 1),
      JSON.stringify(log.entries.map((e) => e.happened)),
    );
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('the lost browser reads the marker at its next write, stops and says it was cut off', async () => {
    const page = await openPopup(lost);
    await openSync(page);
    await addContact(page, BOB, 'Bob After');
    await page.getByTestId('backup-cut-off-notice').waitFor({ timeout: 30_000 });
    assert.match(await page.getByTestId('backup-cut-off-notice').textContent(), /If it was not you, someone else has your recovery phrase/);
    assert.match(await page.getByTestId('backup-status').textContent(), /this browser was cut off/);
    assert.ok(await page.getByTestId('backup-on').isVisible(), 'it can follow, once its owner says so');
    // Said at once too, not only on this screen: a browser notification.
    await until(async () => {
      const all = await lost.ext.evaluate(() => chrome.notifications.getAll());
      return Object.keys(all).some((id) => id.startsWith('tandem-backup_cut_off-'));
    }, 'a "cut off" browser notification');
    const log = await lost.ui('audit.view');
    assert.ok(
      log.entries.some((e) => e.device === log.me && e.happened.kind === 'backup_moved' && e.happened.here === false),
      JSON.stringify(log.entries.map((e) => e.happened)),
    );
    // Nothing of it went anywhere: the marker stays, generation 1 lacks Bob.
    assert.ok(openBackup(gen0, (await relayBackup(relay.url, gen0.id)).data).retired);
    assert.doesNotMatch(contactNames(openBackup(gen1, (await relayBackup(relay.url, gen1.id)).data)), /Bob After/);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('an attacker with generation 0\'s key reads nothing new and cannot pass its records off to a restore', async () => {
    // What HOME writes now is in generation 1, which that key does not open.
    const g1 = await relayBackup(relay.url, gen1.id);
    assert.throws(() => openBackup({ ...gen0, id: gen1.id }, g1.data));
    // The attacker writes records of its own over the marker (the relay
    // takes it: the key is generation 0's own).
    const stored = await relayBackup(relay.url, gen0.id);
    const fake = openBackup(gen1, g1.data);
    fake.retired = undefined;
    fake.snapshots = JSON.parse(JSON.stringify(fake.snapshots).replaceAll(ALICE, THIEF).replaceAll('Alice Before', 'Pay Me'));
    await putBackup(relay.url, gen0, stored.counter + 1, sealBackup(gen0, fake));
    // A third browser restoring the phrase reads on past it.
    const c = await launch();
    try {
      await c.ui('devices.relay.set', { relay: relay.url });
      await c.ui('onboard.import', { phrase: ANVIL_MNEMONIC, password: PASSWORD });
      const { found } = await c.ui('backup.find');
      assert.ok(found, 'a backup is found');
      await c.ui('backup.restore');
      const names = await until(
        async () => {
          const v = await c.ui('sync.view');
          const text = JSON.stringify(v.records);
          return text.includes('Alice Before') && text;
        },
        'the restored entry from generation 1',
        20_000,
        200,
      );
      assert.doesNotMatch(names, /Pay Me/);
    } finally {
      await c.close();
    }
  });

  it('the lost browser\'s owner turns the backup on again and it follows to generation 1', async () => {
    const page = await openPopup(lost);
    await openSync(page);
    await page.getByTestId('backup-on').click();
    await until(
      async () => contactNames(openBackup(gen1, (await relayBackup(relay.url, gen1.id)).data)).includes('Bob After'),
      'the lost browser\'s entry in generation 1',
      30_000,
      250,
    );
    await page.getByTestId('backup-cut-off-notice').waitFor({ state: 'detached', timeout: 20_000 });
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
