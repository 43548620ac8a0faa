// A revoked browser reads nothing new, for real: two extension profiles and
// a command-line device in one wallet group through the real relay, with
// the address book syncing. The first browser revokes the second from its
// Devices screen (one tap, reason, confirm); the second says it was
// removed; an entry the first adds afterwards reaches the CLI (the barrier:
// the relay has taken and delivered it) but not the second, also after the
// second's worker restarts and reconnects; the encrypted backup moves to
// its next generation with the group key (the removed browser holds only
// the old one's); and the second's own edit made after its removal
// reaches nobody. The first browser's Audit log screen shows the removal
// with its reason. Afterwards nothing secret of any device (keys, seeds,
// group keys, session keys, backup keys) is in the relay's database, in
// either browser's storage or in the CLI's home, in any encoding.
// Run: node --test tests/e2e/sync-revoke.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openPopup, until, ANVIL_MNEMONIC, PASSWORD } from './lib/index.mjs';
import { browserLeaks, browserSecrets, cliHomeLeaks, cliSecrets, findSecrets, phraseSecrets, relayFiles } from './lib/secrets.mjs';
import { sessionKey } from './lib/sealed.mjs';
import { cliRecords, names, addEntry, twoBrowsersAndCli } from './lib/sync.mjs';
import { backupKeys, backupSecrets, openBackup, relayBackup } from './lib/backup.mjs';

const screen = (page, name) => page.locator(`#app > .app[data-screen="${name}"]`).waitFor({ timeout: 20_000 });
const hex = (b) => `0x${b.repeat(20)}`;

describe('a device revoked from the extension reads nothing new', () => {
  const gen0 = backupKeys(ANVIL_MNEMONIC);
  const gen1 = backupKeys(ANVIL_MNEMONIC, 1);
  let group;
  let relay;
  let first;
  let second;
  let cli;
  before(async () => {
    group = await twoBrowsersAndCli();
    ({ relay, first, second, cli } = group);
  });
  after(async () => {
    await group?.close();
  });

  it('revoked in the Devices screen, the second browser gets no entry made after, and its own edits reach nobody', async () => {
    await first.ui('sync.edit', { field: { enabled: { category: 'address_book' } }, value: { enabled: true } });
    await addEntry(first, hex('11'), 'Alice');
    await until(async () => names(await second.ui('sync.view')).includes('Alice'), 'the second browser to get Alice', 30_000, 250);
    await until(async () => (await cliRecords(cli)).some((r) => r.id === hex('11')), 'the CLI to get Alice', 30_000, 500);

    // One tap on the second's row in the first's Devices screen, a reason, confirm.
    const victim = (await second.ui('devices.view')).me;
    const page = await openPopup(first);
    await page.getByTestId('open-devices').click();
    await screen(page, 'devices');
    const row = page.locator(`[data-testid="device-row"][data-device="${victim}"]`);
    await row.getByTestId('device-revoke').click();
    await page.getByTestId('revoke-reason-lost').check();
    await page.getByTestId('revoke-confirm').click();
    await row.getByTestId('device-removed').waitFor({ timeout: 20_000 });
    await until(async () => (await second.ui('devices.view')).removed, 'the second browser to learn it was removed', 30_000, 250);

    // An entry made after the revocation: the CLI gets it through the relay...
    await addEntry(first, hex('22'), 'Frank');
    await until(async () => (await cliRecords(cli)).some((r) => r.id === hex('22')), 'the CLI to get Frank', 30_000, 500);
    // The backup moved on with the group key: generation 1 (whose secret
    // only the phrase gives, which the removed browser's sealed state does
    // not hold) has Frank; generation 0 holds only the marker; the removed
    // browser writes the backup no more.
    await until(
      async () => {
        const s = await relayBackup(relay.url, gen1.id);
        return s?.data && JSON.stringify(openBackup(gen1, s.data)).includes('Frank');
      },
      'the backup moved to generation 1, with Frank',
      30_000,
      250,
    );
    // The move writes generation 1 first and retires generation 0 after it
    // (a crash between the two leaves both, never neither): the marker may
    // land a moment after Frank.
    await until(
      async () => openBackup(gen0, (await relayBackup(relay.url, gen0.id)).data).retired,
      'generation 0 to become a marker',
      30_000,
      250,
    );
    const removedBackup = (await second.ui('sync.view')).backup;
    assert.equal(removedBackup.on, false, JSON.stringify(removedBackup));
    assert.equal(removedBackup.generation, 0);
    // ... and the second does not, not even after its worker restarts and
    // goes to the relay again (the relay refuses it: removed stays set).
    assert.ok(!names(await second.ui('sync.view')).includes('Frank'));
    await second.killWorker();
    const again = await until(async () => {
      const v = await second.ui('devices.view');
      return v.removed && v;
    }, 'the second browser, restarted, still removed', 30_000, 250);
    assert.ok(again.removed);
    assert.deepEqual(names(await second.ui('sync.view')).filter((n) => n === 'Frank'), []);

    // What the removed browser writes reaches nobody: the first makes one
    // more entry after it (the barrier), the CLI gets that one only.
    await addEntry(second, hex('33'), 'Mallory').catch(() => {});
    const held = await until(async () => {
      const v = await second.ui('sync.view');
      return !v.online && v.to_send + v.held + v.unsaved > 0 && v;
    }, 'the removed browser to hold its entry, offline', 30_000, 250);
    assert.ok(names(held).includes('Mallory'), 'kept on the removed browser itself');
    await addEntry(first, hex('44'), 'Grace');
    const records = await until(async () => {
      const r = await cliRecords(cli);
      return r.some((x) => x.id === hex('44')) && r;
    }, 'the CLI to get Grace', 30_000, 500);
    assert.ok(!records.some((x) => x.id === hex('33')), 'the removed browser\'s entry reached the CLI');
    await until(async () => names(await first.ui('sync.view')).includes('Grace'), 'the first browser to hold Grace', 10_000, 250);
    assert.ok(!names(await first.ui('sync.view')).includes('Mallory'), 'the removed browser\'s entry reached the first');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('the first browser\'s Audit log screen shows the second\'s removal with its reason', async () => {
    const victim = (await second.ui('devices.view')).me;
    const name = (await first.ui('devices.view')).devices.find((d) => d.id === victim)?.name;
    assert.ok(name, 'the first browser still names the removed device');
    // The entry as the worker has it: written by the first, about the second.
    const entry = await until(async () => {
      const log = await first.ui('audit.view');
      return log.entries.find((e) => e.happened.kind === 'revoked' && e.happened.device === victim);
    }, 'the revocation in the first browser\'s log', 20_000, 250);
    assert.equal(entry.device, (await first.ui('devices.view')).me);
    assert.equal(entry.happened.reason, 'lost');
    assert.equal(entry.verdict.status, 'ok');
    // As the user sees it: Settings, Audit log, the entry's line.
    const page = await openPopup(first);
    await screen(page, 'home');
    await page.getByTestId('settings-button').click();
    await screen(page, 'settings');
    await page.getByTestId('open-audit').click();
    await screen(page, 'audit');
    const id = `audit-entry-${entry.device}-${entry.seq}`;
    const line = page.locator(`[data-testid="audit-list"] > li[data-testid="${id}"] > span:first-child`);
    await line.waitFor({ state: 'visible', timeout: 20_000 });
    const text = await line.textContent();
    assert.equal(text, `Removed ${name} from the wallet (reason: lost)`);
    assert.equal(await page.getByTestId(`${id}-problem`).count(), 0, 'shown without a problem');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('leaves no key, seed, group key or session key in the relay database, either browser\'s storage or the CLI\'s home', async () => {
    // What each device holds, learnt from it (lib/secrets.mjs): the CLI's
    // vault opened with its password (identity seed, group keys, its own
    // wallet's phrase and keys, its vault's keys); each browser's sealed
    // device state opened with its device key (identity seed, the group
    // keys it holds), its vault's keys and its session key; and the
    // wallet's phrase, seed and account keys, the backup's keys of both
    // generations.
    const secrets = [...(await cliSecrets(cli.home, 'correct horse')), ...phraseSecrets(ANVIL_MNEMONIC)];
    for (const [g, keys] of [[0, gen0], [1, gen1]]) {
      secrets.push(...backupSecrets(keys).map((s) => ({ ...s, name: `${s.name} (generation ${g})` })));
    }
    secrets.push(...(await browserSecrets(first, 'first browser', PASSWORD)), ...(await browserSecrets(second, 'second browser', PASSWORD)));
    assert.ok(secrets.some((s) => s.name === 'first browser vault data key') && (await sessionKey(first)), 'the first browser is unlocked');
    // The revocation rotated the group key: both epochs are looked for.
    const groupKeys = new Set(secrets.filter((s) => s.name.startsWith('group key')).map((s) => s.bytes.toString('hex')));
    assert.ok(groupKeys.size >= 2, 'group keys before and after the rotation');
    assert.ok(secrets.some((s) => s.name === 'second browser identity seed'), 'the removed browser\'s own secrets');

    assert.deepEqual(findSecrets(await relayFiles(relay.dir), secrets), [], 'in the relay database');
    // Each browser's chrome.storage (local, session), localStorage,
    // IndexedDB and profile files: none, its own included (sealed there).
    assert.deepEqual(await browserLeaks(first, secrets), [], 'in the first browser\'s storage');
    assert.deepEqual(await browserLeaks(second, secrets), [], 'in the second browser\'s storage');
    // The CLI's home: none readable in its files; in its vault, opened,
    // only its own and the group's keys (lib/secrets.mjs, cliHomeLeaks).
    assert.deepEqual(await cliHomeLeaks(cli.home, 'correct horse', secrets), [], 'in the CLI\'s home');
  });
});
