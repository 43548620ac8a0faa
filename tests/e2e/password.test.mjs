// Changing the password, end to end, and the session key (issue 13, item 11).
// The popup's Settings -> Change password asks for the current password,
// seals the vault again under the new one, and keeps the wallet unlocked; the
// old password and the keys from before open nothing afterwards. The key a
// restarted worker reopens the vault with is not the key derived from the
// password but a data key each unlock replaces, and it is never stored as it
// is: chrome.storage.session holds it sealed under a per-unlock,
// non-extractable key in IndexedDB that locking deletes. The keys are derived
// here independently of the Rust code (@noble, from crates/vault/README.md's
// layout) from the vault the extension stored, and tried on it with the wasm
// core in Node (tests/node/wasm.mjs).
// Run: node --test tests/e2e/password.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPopup, ANVIL_MNEMONIC, ANVIL_ACCOUNT_0 as A0, PASSWORD } from './lib/index.mjs';
import { onboardImport } from './lib/onboard.mjs';
import { loadWasm } from '../node/wasm.mjs';
import { dataKey, vaultKey } from './lib/secrets.mjs';

const NEW_PASSWORD = 'a different horse, 2026!';
const waitScreen = (page, name) => page.locator(`#app > .app[data-screen="${name}"]`).waitFor({ timeout: 20_000 });
const hex = (bytes) => Buffer.from(bytes).toString('hex');

/** A stored vault's keys, opened here with @noble (lib/secrets.mjs): the
 *  key derived from the password (Argon2id) and the data key it unseals. */
function vaultKeys(json, password) {
  assert.equal(JSON.parse(json).version, 2, 'a version 2 vault');
  return { master: vaultKey(json, password), data: dataKey(json, password) };
}

describe('change password, and the session key is not the vault key', { timeout: 180_000 }, () => {
  let browser, core, popup;

  const stored = (area, key) => browser.ext.evaluate(([a, k]) => chrome.storage[a].get(k).then((v) => v[k]), [area, key]);
  /** The stored vault's keys under `password`. */
  const keys = async (password) => vaultKeys(await stored('local', 'tandem.vault'), password);
  const sessionWrapKeyExists = () =>
    browser.ext.evaluate(
      () =>
        new Promise((resolve, reject) => {
          const req = indexedDB.open('tandem', 1);
          req.onupgradeneeded = () => req.result.createObjectStore('keys');
          req.onerror = () => reject(req.error);
          req.onsuccess = () => {
            const get = req.result.transaction('keys').objectStore('keys').get('session');
            get.onsuccess = () => resolve(get.result !== undefined);
            get.onerror = () => reject(get.error);
          };
        }),
    );

  before(async () => {
    [core, browser] = await Promise.all([loadWasm(), launch()]);
    await onboardImport(browser, ANVIL_MNEMONIC, PASSWORD);
  });
  after(async () => {
    await browser?.close();
  });

  it("keeps this unlock's data key, not the password's key, and only sealed under a non-extractable per-unlock key", async () => {
    const { master, data } = await keys(PASSWORD);
    // The key derived here opens the stored vault through the core.
    const opened = core.Vault.open(await stored('local', 'tandem.vault'), data);
    assert.equal(JSON.parse(opened.accounts())[0].address, A0);
    opened.free();
    const session = await stored('session', 'tandem.sessionKey');
    assert.equal(typeof session, 'string');
    const all = JSON.stringify(await browser.ext.evaluate(() => chrome.storage.session.get(null)));
    for (const [what, key] of [['data key', data], ["password's key", master]]) {
      for (const enc of [hex(key), Buffer.from(key).toString('base64'), Buffer.from(key).toString('base64url')]) {
        assert.ok(!all.includes(enc), `the ${what} is not in chrome.storage.session in any encoding`);
      }
    }
    assert.equal(await sessionWrapKeyExists(), true);
    // The wrapping key cannot be read out (extractable: false).
    const exported = await browser.ext.evaluate(
      () =>
        new Promise((resolve) => {
          const req = indexedDB.open('tandem', 1);
          req.onsuccess = () => {
            const get = req.result.transaction('keys').objectStore('keys').get('session');
            get.onsuccess = () =>
              crypto.subtle.exportKey('raw', get.result).then(
                () => 'exported',
                (e) => e.name,
              ).then(resolve);
          };
        }),
    );
    assert.equal(exported, 'InvalidAccessError');
    // A restarted worker still opens the vault with it (no password).
    await browser.killWorker();
    assert.equal((await browser.ui('state')).unlocked, true);
  });

  it("each unlock replaces the data key: the previous session's opens nothing stored after it", async () => {
    const before = (await keys(PASSWORD)).data;
    await browser.ui('lock');
    assert.equal((await browser.ui('unlock', { password: PASSWORD })).unlocked, true);
    const vault = await stored('local', 'tandem.vault');
    const after = vaultKeys(vault, PASSWORD).data;
    assert.notEqual(hex(after), hex(before), 'a new data key');
    assert.throws(() => core.Vault.open(vault, before), /no longer opens/, "the previous session's key opens nothing");
    core.Vault.open(vault, after).free();
    // The worker reopens the new vault with the new key after a restart.
    await browser.killWorker();
    assert.equal((await browser.ui('state')).unlocked, true);
  });

  it('a wrong current password changes nothing', async () => {
    popup = await openPopup(browser);
    await waitScreen(popup, 'home');
    await popup.getByTestId('settings-button').click();
    await popup.getByTestId('open-change-password').click();
    await waitScreen(popup, 'change-password');
    const before = await stored('local', 'tandem.vault');
    await popup.getByTestId('password-current-input').fill('not the password');
    await popup.getByTestId('password-new-input').fill(NEW_PASSWORD);
    await popup.getByTestId('password-new-confirm').fill(NEW_PASSWORD);
    await popup.getByTestId('password-change-submit').click();
    await popup.getByTestId('form-error').waitFor();
    assert.match(await popup.getByTestId('form-error').textContent(), /password/i);
    assert.equal(await stored('local', 'tandem.vault'), before, 'the vault is unchanged');
  });

  it('changes the password: the old one and its vault key open nothing, the new one does', async () => {
    const oldKey = (await keys(PASSWORD)).data;
    const oldSession = await stored('session', 'tandem.sessionKey');
    await popup.getByTestId('password-current-input').fill(PASSWORD);
    await popup.getByTestId('password-change-submit').click();
    await waitScreen(popup, 'settings');
    assert.match(await popup.getByTestId('notice').textContent(), /Password changed/);
    assert.equal((await browser.ui('state')).unlocked, true, 'still unlocked');
    const vault = await stored('local', 'tandem.vault');
    assert.throws(() => core.Vault.unlock(vault, PASSWORD), /password/i, 'the old password opens nothing');
    assert.throws(() => core.Vault.open(vault, oldKey), /no longer opens/, 'the old data key opens nothing');
    assert.notEqual(await stored('session', 'tandem.sessionKey'), oldSession, 'a new sealed session key');
    const newKey = (await keys(NEW_PASSWORD)).data;
    assert.notEqual(hex(newKey), hex(oldKey));
    // Lock: the session key and its wrapping key are gone.
    await browser.ui('lock');
    assert.equal(await stored('session', 'tandem.sessionKey'), undefined);
    assert.equal(await sessionWrapKeyExists(), false);
    await assert.rejects(browser.ui('unlock', { password: PASSWORD }), (e) => e.kind === 'WrongPassword');
    const state = await browser.ui('unlock', { password: NEW_PASSWORD });
    assert.equal(state.unlocked, true);
    assert.equal(state.accounts[0].address, A0, 'the same wallet');
    await popup.close();
  });
});
