// Restore on a new phone from the recovery phrase (issue 12), for real: the
// built extension in headless Chromium and the real relay binary, which
// also serves the phone app (/app/) to a second headless Chromium with
// mobile emulation, all on 127.0.0.1. The extension (the anvil phrase)
// syncs its address book, account names, tokens and networks (an account
// renamed, a token and a network added, the network's RPC a second anvil
// of chain 31338: a network is saved only if its RPC serves the chain);
// its sync module writes the encrypted backup,
// found on the relay under the id this test derives from the phrase with
// @noble (lib/backup.mjs) and opened with the key @noble derives. A fresh
// phone imports the same phrase: its plain build finds that a backup
// exists and offers to restore it (turning on the Activity log and sync);
// after one reload and the unlock, the sync build says what the backup
// holds (the counts the test reads in the backup itself) and restores it
// on "Restore": the entry is on its Sync screen with the switch on, the
// account's name, the token and the network on its Wallet screen, the
// extension's entries on its Activity screen, each checked, and the
// phone's own signed "restored" entry with the count. A proxy in front of
// the relay that flips one byte of the backup (an attacker holding it)
// gets the restore refused with the reason, nothing restored. The phone
// keeps the backup secret only sealed: its storage holds it in no
// encoding. A backup moved on to generation 1 (a browser that restored
// the phrase cut off the devices before it: written here with @noble, the
// records in generation 1 and a sealed marker left in generation 0) is
// found by a fresh phone, which restores generation 1's records.
// Run: node --test tests/e2e/phone-restore.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launch, startAnvil, until, ROOT, ANVIL_MNEMONIC, ANVIL_ACCOUNT_0 as A0, PASSWORD } from './lib/index.mjs';
import { onboardImport } from './lib/onboard.mjs';
import { startRelay } from './lib/devices.mjs';
import { auditEntries as entries, launchPhone, setUpPhone, unlockPhone } from './lib/phone.mjs';
import { backupKeys, openBackup, putBackup, relayBackup, sealBackup, tamperingAppRelay } from './lib/backup.mjs';
import { findSecrets, phraseSecrets } from './lib/secrets.mjs';

const BOB = `0x${'b0'.repeat(20)}`;
const CONTACT = 'Bob Restored';
const MOVED = 'Bob Moved On';
const NAME = 'Savings Restored';
const TOKEN = `0x${'7e'.repeat(20)}`;

/** A fresh phone on `appUrl` imports the anvil phrase and is offered the
 *  backup; "Restore" reloads it into the sync build, unlocked again. */
async function importAndContinue(appUrl) {
  const phone = await launchPhone();
  const page = await phone.open(appUrl);
  await setUpPhone(page, 'Pixel 8');
  await page.getByTestId('home-screen').waitFor({ timeout: 30_000 });
  const offer = page.getByTestId('restore-offer');
  await offer.waitFor({ timeout: 20_000 });
  assert.match(await offer.textContent(), /turns on the Activity log and sync/);
  assert.equal(await page.getByTestId('activity-open').count(), 0, 'the plain build runs');
  await Promise.all([page.waitForEvent('load'), page.getByTestId('restore-continue').click()]);
  await page.getByTestId('unlock-screen').waitFor({ timeout: 20_000 });
  await unlockPhone(page);
  return { phone, page };
}

describe('restore on a new phone from the recovery phrase', { timeout: 300_000 }, () => {
  const keys = backupKeys(ANVIL_MNEMONIC);
  let relay, browser, phone, devnet;

  before(async () => {
    [relay, devnet] = await Promise.all([startRelay({ appDir: path.join(ROOT, 'phone') }), startAnvil({ chainId: 31338 })]);
    browser = await launch();
    await onboardImport(browser, ANVIL_MNEMONIC, PASSWORD);
    await browser.ui('devices.relay.set', { relay: relay.url });
  });

  after(async () => {
    await phone?.close();
    await browser?.close();
    await relay?.stop();
    await devnet?.stop();
  });

  it('the extension writes the backup with an address-book entry, an account name, a token, a network and its audit log', async () => {
    for (const category of ['address_book', 'accounts', 'tokens', 'networks']) {
      await browser.ui('sync.edit', { field: { enabled: { category } }, value: { enabled: true } });
    }
    await browser.ui('sync.edit', {
      field: { record: { category: 'address_book', id: BOB } },
      value: { contact: { name: CONTACT, note: '' } },
    });
    await browser.ui('accounts.rename', { address: A0, name: NAME });
    await browser.ui('networks.upsert', { chainId: 31338, name: 'Devnet', rpcUrl: devnet.url, symbol: 'DEV' });
    await browser.ui('networks.select', { chainId: 31338 });
    await browser.ui('assets.add', { address: TOKEN, symbol: 'TKN', decimals: 6 });
    const plain = await until(
      async () => {
        const stored = await relayBackup(relay.url, keys.id);
        if (!stored?.data) return false;
        const p = openBackup(keys, stored.data);
        const text = JSON.stringify(p);
        return ['address_book', 'accounts', 'tokens', 'networks'].every((c) => p.snapshots.some((s) => s.category === c)) &&
          [CONTACT, NAME, 'Devnet', 'TKN'].every((t) => text.includes(t)) && p;
      },
      'the backup on the relay with the entry, the name, the network and the token',
      30_000,
      250,
    );
    const me = (await browser.ui('audit.view')).me;
    assert.ok(plain.audit.find((c) => c.device === me)?.entries.length > 0, 'the extension\'s chain is in it');
  });

  it('a fresh phone imports the phrase, is told what the backup holds, restores it and shows it', async () => {
    const held = openBackup(keys, (await relayBackup(relay.url, keys.id)).data);
    const total = held.audit.reduce((n, c) => n + c.entries.length, 0);
    const desk = (await browser.ui('audit.view')).me;
    const deskSeqs = held.audit.find((c) => c.device === desk).entries.map((e) => e.seq);
    let page;
    ({ phone, page } = await importAndContinue(relay.appUrl));
    // The sync build runs now, and says what the backup holds before
    // anything is restored.
    assert.equal(
      await page.evaluate(() => performance.getEntriesByType('resource').some((r) => r.name.endsWith('/tandem_phone_sync_bg.wasm'))),
      true,
    );
    const what = page.getByTestId('backup-offer-what');
    await what.waitFor({ timeout: 30_000 });
    const text = await what.textContent();
    assert.match(text, /1 address book entry/);
    // The extension's names, tokens and networks (the counts its records
    // hold: every account of the wallet has a name record).
    assert.match(text, /\b\d+ account names?\b/);
    assert.match(text, /\b1 token\b/);
    assert.match(text, /\b1 network\b/);
    assert.match(text, new RegExp(`the history \\(audit log\\) of ${held.audit.length} devices?: ${total} entr`));
    await page.getByTestId('sync-open').click();
    await page.getByTestId('sync-screen').waitFor();
    assert.equal(await page.getByTestId(`sync-contact-${BOB}`).count(), 0, 'nothing restored before "Restore"');
    await page.getByTestId('back-button').click();
    await page.getByTestId('backup-restore').click();
    await page.getByTestId('backup-offer').waitFor({ state: 'detached', timeout: 20_000 });
    assert.match(await page.getByTestId('notice').textContent(), /Restored from the backup: .*1 address book entry/);
    assert.equal(await page.evaluate(() => localStorage.getItem('tandem.phone.restore')), null, 'the marker is gone');

    // The Wallet screen: the account's name, the token and the network
    // came back (no balance: the backup holds none).
    await page.getByTestId('wallet-open').click();
    const account = page.getByTestId(`wallet-account-${A0.toLowerCase()}`);
    await until(
      async () => (await account.getByTestId('wallet-account-name').textContent({ timeout: 500 }).catch(() => '')) === NAME,
      'the restored account name on the Wallet screen',
      20_000,
    );
    assert.equal(await account.getByTestId('wallet-account-address').textContent(), A0);
    const token = page.getByTestId(`wallet-token-${TOKEN}`);
    assert.match(await token.textContent(), /TKN/);
    assert.match(await token.textContent(), /Devnet/);
    assert.match(await page.getByTestId('wallet-network-31338').textContent(), /Devnet · chain 31338 · DEV/);
    await page.getByTestId('back').click();
    await page.getByTestId('home-screen').waitFor();

    // The Sync screen: the entry, and the switch on for the group.
    await page.getByTestId('sync-open').click();
    const row = page.getByTestId(`sync-contact-${BOB}`);
    await row.waitFor({ timeout: 20_000 });
    assert.match(await row.textContent(), new RegExp(CONTACT));
    assert.equal(await page.getByTestId('sync-toggle-address_book').getAttribute('aria-checked'), 'true');
    await page.getByTestId('back-button').click();

    // The Activity screen: the extension's entries, checked, and the
    // phone's own signed entry saying what came back.
    await page.getByTestId('activity-open').click();
    await page.getByTestId('audit-screen').waitFor({ timeout: 10_000 });
    let all;
    await until(async () => {
      all = await entries(page);
      return all.some((e) => e.text.startsWith('Restored from the recovery phrase: '));
    }, 'the phone\'s restored entry', 20_000);
    const fromDesk = all.filter((e) => e.device === desk);
    assert.equal(fromDesk.length, deskSeqs.length, JSON.stringify(all));
    assert.deepEqual(fromDesk.filter((e) => e.problem), []);
    const own = all.find((e) => e.text.startsWith('Restored from the recovery phrase: '));
    assert.notEqual(own.device, desk);
    assert.match(own.text, new RegExp(`^Restored from the recovery phrase: ${total} entries from ${held.audit.length} device`));
    assert.deepEqual(all.filter((e) => e.problem), []);
    assert.match(await page.getByTestId('audit-summary').textContent(), /all signed and in order/);

    // The backup secret is in the phone's storage only sealed.
    const raw = await page.evaluate(() => JSON.stringify(Object.entries(localStorage)));
    assert.deepEqual(
      findSecrets([Buffer.from(raw)], [...phraseSecrets(ANVIL_MNEMONIC), { name: 'backup secret', bytes: keys.secret }]),
      [],
    );
    assert.deepEqual(page.errors, []);
  });

  it('a relay that flips a byte of the backup gets the restore refused on the phone: nothing is restored', async () => {
    const evil = await tamperingAppRelay(relay, path.join(ROOT, 'phone'), 1);
    let p;
    try {
      const { phone: ph, page } = await importAndContinue(evil.appUrl);
      p = ph;
      const error = page.getByTestId('error');
      await error.waitFor({ timeout: 30_000 });
      assert.match(
        await error.textContent(),
        /^The backup was not restored: .*it was damaged\. Nothing was restored\.$/,
      );
      assert.equal(await page.getByTestId('backup-offer').count(), 0);
      assert.equal(await page.evaluate(() => localStorage.getItem('tandem.phone.restore')), null);
      await page.getByTestId('sync-open').click();
      await page.getByTestId('sync-screen').waitFor();
      await page.getByTestId('sync-toggle-address_book').waitFor({ timeout: 20_000 });
      assert.equal(await page.getByTestId(`sync-contact-${BOB}`).count(), 0);
      assert.equal(await page.getByTestId('sync-toggle-address_book').getAttribute('aria-checked'), 'false');
      await page.getByTestId('back-button').click();
      await page.getByTestId('activity-open').click();
      const desk = (await browser.ui('audit.view')).me;
      const all = await entries(page);
      assert.deepEqual(all.filter((e) => e.device === desk), [], 'none of the extension\'s entries');
      assert.ok(!all.some((e) => e.text.startsWith('Restored from the recovery phrase: ')), JSON.stringify(all));
    } finally {
      await p?.close();
      await evil.close();
    }
  });

  it('a backup moved on to generation 1: a fresh phone follows the marker and restores generation 1', async () => {
    const held = openBackup(keys, (await relayBackup(relay.url, keys.id)).data);
    const keys1 = backupKeys(ANVIL_MNEMONIC, 1);
    assert.notEqual(keys1.id, keys.id);
    // Generation 1's records differ from generation 0's (the entry's name),
    // so the phone shows which one it restored.
    const records = JSON.parse(JSON.stringify(held.snapshots).replaceAll(CONTACT, MOVED));
    // As a browser that moved it does: generation 1 first, then the marker.
    const now = Date.now();
    await putBackup(relay.url, keys1, now, sealBackup(keys1, { ...held, snapshots: records }));
    const old = await relayBackup(relay.url, keys.id);
    const marker = { v: 3, snapshots: [], audit: [], retired: { at: now, group: 'ab'.repeat(16) } };
    await putBackup(relay.url, keys, Math.max(old.counter + 1, now), sealBackup(keys, marker));
    assert.deepEqual(openBackup(keys, (await relayBackup(relay.url, keys.id)).data), marker);

    let p;
    try {
      // The plain build sees that generation 0 holds something (the marker).
      const { phone: ph, page } = await importAndContinue(relay.appUrl);
      p = ph;
      const what = page.getByTestId('backup-offer-what');
      await what.waitFor({ timeout: 30_000 });
      assert.match(await what.textContent(), /1 address book entry/);
      await page.getByTestId('backup-restore').click();
      await page.getByTestId('backup-offer').waitFor({ state: 'detached', timeout: 20_000 });
      assert.match(await page.getByTestId('notice').textContent(), /Restored from the backup: .*1 address book entry/);
      await page.getByTestId('sync-open').click();
      const row = page.getByTestId(`sync-contact-${BOB}`);
      await row.waitFor({ timeout: 20_000 });
      const text = await row.textContent();
      assert.match(text, new RegExp(MOVED));
      assert.doesNotMatch(text, new RegExp(CONTACT));
      // Neither generation's secret is in its storage in any encoding.
      const raw = await page.evaluate(() => JSON.stringify(Object.entries(localStorage)));
      assert.deepEqual(
        findSecrets([Buffer.from(raw)], [
          ...phraseSecrets(ANVIL_MNEMONIC),
          { name: 'backup secret', bytes: keys.secret },
          { name: 'backup secret of generation 1', bytes: keys1.secret },
        ]),
        [],
      );
      assert.deepEqual(page.errors, []);
    } finally {
      await p?.close();
    }
  });
});
