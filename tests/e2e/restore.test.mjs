// Restore from the recovery phrase when every device is lost, for real:
// the built extension in two fresh headless Chromium profiles and the real
// relay binary, on 127.0.0.1. Profile A turns sync on, names an account,
// adds an address-book entry, a network (a real anvil of chain 31338) and a
// token on it; its sync module writes the encrypted
// backup (Settings, Sync says "Backup: saved …"). The backup is found on
// the relay under the id this test derives from the phrase itself with
// @noble (independently of the Rust code), and opens with the key @noble
// derives too. Profile B, a new browser that never saw A, imports the same
// phrase: onboarding finds the backup, says what it will restore, and
// restores it; B shows the name, the entry, the network and the token, and its audit log screen
// shows A's entries (as the backup carried them, signatures included),
// each checked and in order, and its own signed "restored" entry with the
// count. A relay whose answers flip one byte of the backup (an attacker
// holding it, here a proxy in front of the real relay) gets the restore
// refused ("it was damaged"), nothing restored. A backup whose changes are
// all dated three days ahead (written on a clock that ran ahead) is counted
// as such before restoring and restored at once, nothing held for the
// clock (issue 12). The relay's database holds
// neither name, nor the seed or any backup key, in any encoding. "Delete
// backup" on B leaves nothing on the relay to restore. A command-line
// device that joins B's new group afterwards receives A's old chain with B's
// vouch for A's key, and checks every entry. At the end neither browser's
// storage, the relay's database nor that device's home holds the phrase,
// seed, an account key, a backup key of any generation, a group key, an
// identity seed or a session key, in any encoding.
// Run: node --test tests/e2e/restore.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { clickTo, launch, openPopup, startAnvil, until, ANVIL_ACCOUNT_0, ANVIL_MNEMONIC, PASSWORD } from './lib/index.mjs';
import { startPhone, walletOnRelay } from './lib/devices.mjs';
import { joinGroupOf } from './lib/sync.mjs';
import { entryVerifies, exportKeys } from './lib/audit-export.mjs';
import { browserLeaks, browserSecrets, cliHomeLeaks, cliSecrets, findSecrets, phraseSecrets, relayFiles } from './lib/secrets.mjs';
import { backupKeys, backupSecrets, openBackup, passWebSockets, relayBackup, sealBackup } from './lib/backup.mjs';

const ALICE = `0x${'ab'.repeat(20)}`;
const TOKEN = `0x${'cd'.repeat(20)}`;
const NAME = 'Savings Tandem';
const CONTACT = 'Alice Restored';
const screen = (page, name) => page.locator(`#app > .app[data-screen="${name}"]`).waitFor({ timeout: 20_000 });

/** The relay as an attacker who holds it serves it: every backup read
 * answers with one byte of the sealed contents flipped (`at`: where, from
 * the end); everything else, WebSocket included, passes through. */
function tamperingRelay(relay, at) {
  return rewritingRelay(relay, (stored) => {
    const data = Buffer.from(stored.data, 'base64url');
    data[data.length - at] ^= 1;
    return { ...stored, data: data.toString('base64url') };
  });
}

/** A proxy in front of `relay` whose backup reads answer `rewrite(stored)`;
 * everything else, WebSocket included, passes through. */
async function rewritingRelay(relay, rewrite) {
  const up = new URL(relay.url.replace(/^ws/, 'http'));
  const server = http.createServer(async (req, res) => {
    const body = await new Promise((r) => {
      const parts = [];
      req.on('data', (c) => parts.push(c)).on('end', () => r(Buffer.concat(parts)));
    });
    const answer = await fetch(`http://${up.host}${req.url}`, {
      method: req.method,
      headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
      body: body.length ? body : undefined,
    });
    let text = await answer.text();
    if (req.method === 'GET' && req.url.startsWith('/v1/backup/') && answer.status === 200) {
      text = JSON.stringify(rewrite(JSON.parse(text)));
    }
    res.writeHead(answer.status, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
    res.end(text);
  });
  const sockets = passWebSockets(server, () => up);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `ws://127.0.0.1:${server.address().port}/v1/ws`,
    // Upgraded (WebSocket) sockets hold the server open: they go too.
    close: () =>
      new Promise((r) => {
        server.close(r);
        for (const sock of sockets) sock.destroy();
      }),
  };
}

async function openSync(page) {
  await clickTo(page, 'settings-button', 'settings');
  await clickTo(page, 'open-sync', 'sync');
}

describe('restore from the recovery phrase in a new browser', () => {
  const keys = backupKeys(ANVIL_MNEMONIC);
  let relay;
  let a;
  let b;
  let laptop;
  // The network A adds: a real node, since a network (restored ones too)
  // is saved only if its RPC serves the chain it names.
  let devnet;
  before(async () => {
    [{ relay, browser: a }, devnet] = await Promise.all([walletOnRelay(), startAnvil({ chainId: 31338 })]);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await laptop?.close();
    await relay?.stop();
    await devnet?.stop();
  });

  it('profile A with sync on writes the encrypted backup after its changes', async () => {
    const page = await openPopup(a);
    await openSync(page);
    for (const k of ['accounts', 'tokens', 'address_book', 'networks']) {
      await page.getByTestId(`sync-toggle-${k}`).click();
      await page.getByTestId(`sync-toggle-${k}`).filter({ hasText: 'On' }).waitFor();
    }
    await a.ui('accounts.rename', { address: ANVIL_ACCOUNT_0, name: NAME });
    await a.ui('networks.upsert', { chainId: 31338, name: 'Devnet', rpcUrl: devnet.url, symbol: 'DEV' });
    await a.ui('networks.select', { chainId: 31338 });
    await a.ui('assets.add', { address: TOKEN, symbol: 'TKN', decimals: 6 });
    await page.getByTestId('sync-contact-address').fill(ALICE);
    await page.getByTestId('sync-contact-name').fill(CONTACT);
    await page.getByTestId('sync-contact-add').click();
    await page.getByTestId(`sync-contact-${ALICE}`).waitFor({ timeout: 20_000 });
    // Saved after the changes: the relay's copy opens with the phrase's
    // key (derived here, not by Tandem) and holds both.
    const plain = await until(
      async () => {
        const stored = await relayBackup(relay.url, keys.id);
        if (!stored?.data) return false;
        const p = openBackup(keys, stored.data);
        const text = JSON.stringify(p);
        return text.includes(NAME) && text.includes(CONTACT) && text.includes('Devnet') && text.includes('TKN') && p;
      },
      'the backup on the relay with the name, the entry, the network and the token',
      30_000,
      250,
    );
    assert.equal(plain.v, 3);
    assert.deepEqual(plain.snapshots.map((s) => s.category).sort(), ['accounts', 'address_book', 'networks', 'tokens']);
    // A's audit log rides along: its chain, its key, signed entries.
    const me = (await a.ui('audit.view')).me;
    const chain = plain.audit.find((c) => c.device === me);
    assert.ok(chain?.identity && chain.entries.length > 0, JSON.stringify(plain.audit));
    assert.ok(chain.entries.every((e) => e.device === me && typeof e.sig === 'string'));
    await page
      .getByTestId('backup-status')
      .filter({ hasText: /Backup: saved (just now|1 min ago)/ })
      .waitFor({ timeout: 20_000 });
    assert.ok(await page.getByTestId('backup-delete').isVisible());
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('the relay database holds no name, seed or backup key in clear', async () => {
    const files = await relayFiles(relay.dir);
    assert.ok(files.some((f) => f.includes(Buffer.from(keys.id, 'hex'))), 'the scan reads the backup row');
    // (Sync's blob names, such as sync/address_book/0, are not secret: the
    // relay routes by them, docs/protocol.md.)
    for (const name of [NAME, CONTACT]) {
      assert.ok(!files.some((f) => f.includes(Buffer.from(name))), `${name} in the relay database`);
    }
    const found = findSecrets(files, [
      { name: 'seed', bytes: keys.seed },
      { name: 'backup secret', bytes: keys.secret },
      { name: 'backup encryption key', bytes: keys.encrypt },
      { name: 'backup signing key', bytes: keys.sign },
    ]);
    assert.deepEqual(found, []);
  });

  it('profile B imports the same phrase, is told what the backup holds, restores it and shows it', async () => {
    // What the backup holds now (A may have written again since).
    const held = openBackup(keys, (await relayBackup(relay.url, keys.id)).data);
    const aId = (await a.ui('audit.view')).me;
    const aSeqs = held.audit.find((c) => c.device === aId).entries.map((e) => e.seq);
    const total = held.audit.reduce((n, c) => n + c.entries.length, 0);
    b = await launch();
    // The relay is set before the wallet exists (a fresh install's setting).
    await b.ui('devices.relay.set', { relay: relay.url });
    const page = await openPopup(b);
    await page.getByTestId('onboard-import').click();
    await page.getByTestId('import-secret-input').fill(ANVIL_MNEMONIC);
    await page.getByTestId('import-password').fill(PASSWORD);
    await page.getByTestId('import-password-confirm').fill(PASSWORD);
    await page.getByTestId('import-submit').click();
    const offer = page.getByTestId('backup-offer-what');
    await offer.waitFor({ timeout: 30_000 });
    const text = await offer.textContent();
    assert.match(text, /Restore your synced data \(names, networks, address book/);
    assert.match(text, /1 account name, 1 token, 1 address book entry, 1 network/);
    assert.match(text, /history/);
    assert.match(text, new RegExp(`the history \\(audit log\\) of ${held.audit.length} devices?: ${total} entr`));
    // Nothing is restored before the user says so.
    assert.notEqual((await b.ui('state')).accounts.find((x) => x.address === ANVIL_ACCOUNT_0)?.name, NAME);
    await page.getByTestId('backup-restore').click();
    await page.getByTestId('backup-offer').waitFor({ state: 'detached', timeout: 20_000 });
    const row = page.getByTestId(`sync-contact-${ALICE}`);
    await row.waitFor({ timeout: 20_000 });
    assert.match(await row.textContent(), new RegExp(CONTACT));
    assert.equal(await page.getByTestId('sync-contacts-count').textContent(), '1 address.');
    // The snapshot: every page of the 4 restored categories (64) read, the
    // ones holding records written, then "Synced". (That the state is
    // stored once per burst of pages, not after each, is
    // crates/sync/tests/engine.rs's: a count of writes here depends on
    // what else the worker does meanwhile, the backup's write among them.)
    await page.getByTestId('sync-status').filter({ hasText: /^Synced/ }).waitFor({ timeout: 30_000 });
    await until(
      async () => (await b.ui('state')).accounts.find((x) => x.address === ANVIL_ACCOUNT_0)?.name === NAME,
      'the restored account name in the wallet',
      20_000,
      200,
    );
    await page.goto(b.url('extension/popup.html'));
    await page.getByText(NAME).first().waitFor({ timeout: 20_000 });
    // B syncs what it restored from now on.
    const v = await b.ui('sync.view');
    assert.deepEqual(
      v.categories.filter((c) => c.on).map((c) => c.category),
      ['accounts', 'tokens', 'address_book', 'networks'],
    );
    // The network (its RPC asked for its chain id first, as for one added
    // here) and the token on it.
    await until(
      async () => {
        const st = await b.ui('state');
        return st.networks.some((n) => n.chainId === 31338 && n.name === 'Devnet' && n.rpcUrl === devnet.url);
      },
      'the restored network in the wallet',
      20_000,
      200,
    );
    await b.ui('networks.select', { chainId: 31338 });
    await until(
      async () => (await b.ui('state')).assets.some((t) => t.address.toLowerCase() === TOKEN && t.symbol === 'TKN' && t.decimals === 6),
      'the restored token on it',
      20_000,
      200,
    );
    // The audit view: A's entries, each signed and in order (checked with
    // the key the backup carried: B's new group does not hold A), and B's
    // own entry saying what came back.
    const log = await b.ui('audit.view');
    const fromA = log.entries.filter((e) => e.device === aId);
    assert.deepEqual(fromA.map((e) => e.seq).sort((x, y) => x - y), aSeqs);
    assert.ok(fromA.every((e) => e.verdict.status === 'ok'), JSON.stringify(fromA.map((e) => e.verdict)));
    const mine = log.entries.filter((e) => e.device === log.me);
    assert.ok(
      mine.some((e) => e.happened.kind === 'restored' && e.happened.entries === total && e.happened.devices === held.audit.length),
      JSON.stringify(mine),
    );
    assert.ok(log.entries.every((e) => e.verdict.status === 'ok'));
    // The JSON export lists A's key (from the backup: A is not in B's
    // group), so A's entries verify outside Tandem too.
    const doc = JSON.parse((await b.ui('audit.export', { format: 'json' })).text);
    const exportedKeys = exportKeys(doc);
    assert.equal(doc.devices.find((x) => x.device === aId)?.source, 'restored');
    const exportedA = doc.entries.filter((x) => x.entry.device === aId);
    assert.equal(exportedA.length, aSeqs.length);
    for (const { entry } of exportedA) assert.ok(entryVerifies(doc, entry, exportedKeys.get(aId)), `A's entry ${entry.seq} verifies`);
    await page.getByTestId('settings-button').click();
    await page.getByTestId('open-audit').click();
    await screen(page, 'audit');
    await page
      .getByTestId('audit-summary')
      .filter({ hasText: `${log.entries.length} entries, all signed and in order.` })
      .waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('[data-testid$="-problem"]').count(), 0);
    const lines = await page.locator('[data-testid="audit-list"] > li > span:first-child').allTextContents();
    assert.ok(
      lines.some((l) => l.startsWith(`Restored from the recovery phrase: ${total} entries from ${held.audit.length} device`)),
      JSON.stringify(lines),
    );
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a device that joins the restored browser\'s new group later gets the old chains with its vouch, and checks them', async () => {
    // A is not in B's group: only B's signed word ("these keys were the
    // old devices'", a vouch) lets a later member check A's entries.
    const aId = (await a.ui('audit.view')).me;
    const aSeqs = (await b.ui('audit.view')).entries
      .filter((e) => e.device === aId)
      .map((e) => e.seq)
      .sort((x, y) => x - y);
    assert.ok(aSeqs.length > 0);
    laptop = await startPhone(relay.url, 'laptop');
    await joinGroupOf(b, laptop);
    const fromA = await until(
      async () => {
        // Every entry the CLI holds, checked: [{ entry, verdict }].
        const checked = JSON.parse(await laptop.run(['audit', '--json']));
        const got = checked.filter((x) => x.entry.device === aId);
        return got.length === aSeqs.length && got;
      },
      'A\'s old chain on the device that joined later',
      30_000,
      500,
    );
    assert.deepEqual(fromA.map((x) => x.entry.seq).sort((x, y) => x - y), aSeqs);
    assert.deepEqual(
      fromA.filter((x) => x.verdict.status !== 'ok'),
      [],
      'every entry of A checked with the vouched key',
    );
  });

  it('a relay that flips a byte of the backup (its tag, its contents) gets the restore refused: nothing is restored', async () => {
    const aId = (await a.ui('audit.view')).me;
    for (const at of [1, 200]) {
      const evil = await tamperingRelay(relay, at);
      const c = await launch();
      try {
        await c.ui('devices.relay.set', { relay: evil.url });
        await c.ui('onboard.import', { phrase: ANVIL_MNEMONIC, password: PASSWORD });
        await assert.rejects(c.ui('backup.find'), /it was damaged/);
        await assert.rejects(c.ui('backup.restore'), /it was damaged|no backup was found/);
        assert.equal((await c.ui('state')).accounts.find((x) => x.address === ANVIL_ACCOUNT_0)?.name === NAME, false);
        const log = await c.ui('audit.view');
        assert.deepEqual(log.entries.filter((e) => e.device === aId), [], 'none of A\'s entries');
      } finally {
        await c.close();
        await evil.close();
      }
    }
  });

  it('a backup written on a clock three days ahead is restored at once, and the summary says how far ahead (issue 12)', async () => {
    // As a holder of the phrase whose clock ran ahead would have written it
    // (every change dated three days later), served to a new browser.
    const DAYS3 = 3 * 24 * 3600 * 1000;
    const evil = await rewritingRelay(relay, (stored) => {
      const plain = openBackup(keys, stored.data);
      for (const s of plain.snapshots) for (const op of s.ops) op[2] += DAYS3;
      return { ...stored, data: sealBackup(keys, plain) };
    });
    const held = openBackup(keys, (await relayBackup(relay.url, keys.id)).data);
    const ops = held.snapshots.reduce((n, s) => n + s.ops.length, 0);
    const c = await launch();
    try {
      await c.ui('devices.relay.set', { relay: evil.url });
      await c.ui('onboard.import', { phrase: ANVIL_MNEMONIC, password: PASSWORD });
      const { found } = await c.ui('backup.find');
      assert.equal(found.ahead, ops, JSON.stringify(found));
      assert.ok(found.ahead_ms > DAYS3 - 3_600_000 && found.ahead_ms <= DAYS3 + 3_600_000, JSON.stringify(found));
      await c.ui('backup.restore');
      await until(
        async () => (await c.ui('state')).accounts.find((x) => x.address === ANVIL_ACCOUNT_0)?.name === NAME,
        'the restored account name in the wallet, not held for three days',
        20_000,
        200,
      );
      assert.equal((await c.ui('sync.view')).held, 0);
    } finally {
      await c.close();
      await evil.close();
    }
  });

  it('"Delete backup" removes it from the relay: nothing is left to restore', async () => {
    const page = await openPopup(b);
    await openSync(page);
    await page.getByTestId('backup-delete').click();
    await page.getByTestId('backup-status').filter({ hasText: 'Backup: off' }).waitFor({ timeout: 20_000 });
    await until(async () => (await relayBackup(relay.url, keys.id))?.data === null, 'the backup deleted on the relay', 20_000, 200);
    // A third browser finds nothing to offer.
    const c = await launch();
    try {
      await c.ui('devices.relay.set', { relay: relay.url });
      await c.ui('onboard.import', { phrase: ANVIL_MNEMONIC, password: PASSWORD });
      assert.deepEqual(await c.ui('backup.find'), { found: null });
    } finally {
      await c.close();
    }
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('leaves no phrase, seed, backup key, group key, identity seed or session key in either browser\'s storage, the relay\'s database or the later device\'s home', async () => {
    // Learnt from the devices (lib/secrets.mjs): each browser's identity
    // seed and group keys (its sealed device state opened with its device
    // key), vault keys and session key; the CLI's vault, opened; the
    // backup's keys of every generation either browser reached (derived
    // from the phrase), and the phrase's seed and account keys.
    const generations = [];
    for (const x of [a, b]) generations.push((await x.ui('sync.view')).backup?.generation ?? 0);
    const secrets = phraseSecrets(ANVIL_MNEMONIC);
    for (let g = 0; g <= Math.max(...generations); g++) {
      secrets.push(...backupSecrets(backupKeys(ANVIL_MNEMONIC, g)).map((s) => ({ ...s, name: `${s.name} (generation ${g})` })));
    }
    secrets.push(
      ...(await browserSecrets(a, 'browser A', PASSWORD)),
      ...(await browserSecrets(b, 'browser B', PASSWORD)),
      ...(await cliSecrets(laptop.home, 'correct horse')),
    );
    for (const who of ['browser A', 'browser B']) {
      assert.ok(secrets.some((s) => s.name === `${who} identity seed`), `${who}'s device state was opened`);
      assert.ok(secrets.some((s) => s.name === `${who} vault data key`), `${who}'s vault keys`);
    }
    // A's group (A alone) and B's new group (with the CLI): two keys at least.
    const groupKeys = new Set(secrets.filter((s) => s.name.startsWith('group key')).map((s) => s.bytes.toString('hex')));
    assert.ok(groupKeys.size >= 2, 'the group keys of both groups');

    // chrome.storage (local, session), localStorage, IndexedDB and every
    // file of each profile: none, a browser's own included (sealed there).
    assert.deepEqual(await browserLeaks(a, secrets), [], 'in browser A\'s storage');
    assert.deepEqual(await browserLeaks(b, secrets), [], 'in browser B\'s storage');
    assert.deepEqual(findSecrets(await relayFiles(relay.dir), secrets), [], 'in the relay database');
    assert.deepEqual(await cliHomeLeaks(laptop.home, 'correct horse', secrets), [], 'in the CLI\'s home');
  });
});
