// The secrets scan: after the end-to-end runs, no private key, seed, group
// key or session key may sit in the relay's database (with its WAL), in a
// browser's storage (chrome.storage, localStorage, IndexedDB, the profile's
// files) or in a command-line device's home, in any encoding: raw bytes, hex
// (both cases), base64 and base64url (padded or not).
//
// The command-line device's vault is opened here with @noble (Argon2id,
// HKDF-SHA256, XChaCha20-Poly1305, per crates/vault/README.md), independently
// of the Rust code, to learn the group's keys and its identity seed; a
// browser's are learnt from its sealed device state (lib/sealed.mjs).
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import assert from 'node:assert/strict';
import { argon2id } from '@noble/hashes/argon2.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { mnemonicToAccount } from 'viem/accounts';
import { mnemonicToSeedSync } from '@scure/bip39';
import { sealedDevice, sessionKey } from './sealed.mjs';

const enc = new TextEncoder();
const u32 = (n) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
};
const concat = (...parts) => Uint8Array.from(parts.flatMap((p) => [...p]));

/** A `tandem-vault` envelope's password key (Argon2id of the password), as crates/vault derives it. */
export function vaultKey(json, password) {
  const v = JSON.parse(json);
  return argon2id(enc.encode(password), Buffer.from(v.kdf.salt, 'base64'), {
    t: v.kdf.iterations,
    m: v.kdf.memory_kib,
    p: v.kdf.parallelism,
    dkLen: 32,
  });
}

/** Format, version and the KDF's name, cost and salt, as crates/vault binds them. */
function header(v) {
  return concat(
    enc.encode('tandem-vault'),
    u32(v.version),
    enc.encode('argon2id'),
    u32(0x13),
    u32(v.kdf.memory_kib),
    u32(v.kdf.iterations),
    u32(v.kdf.parallelism),
    Buffer.from(v.kdf.salt, 'base64'),
  );
}

const encryptionKey = (master) => hkdf(sha256, master, undefined, enc.encode('tandem/vault/v1/encrypt'), 32);

/** The key that opens a `tandem-vault` envelope without the password: the
 *  data key sealed under the password's key (version 2), or that key itself
 *  (version 1). */
export function dataKey(json, password) {
  return dataKeyOf(JSON.parse(json), vaultKey(json, password));
}

function dataKeyOf(v, master) {
  if (v.version === 1) return master;
  const b = (s) => Buffer.from(s, 'base64');
  const aad = concat(enc.encode('tandem/vault/data-key'), header(v), b(v.check));
  return xchacha20poly1305(encryptionKey(master), b(v.data_key.nonce), aad).decrypt(b(v.data_key.wrapped));
}

/** Opens a `tandem-vault` JSON envelope with its data key (`dataKey`);
 *  returns the plaintext. */
export function openVaultWithKey(json, key) {
  const v = JSON.parse(json);
  const b = (s) => Buffer.from(s, 'base64');
  const nonce = b(v.cipher.nonce);
  const aad = concat(
    header(v),
    enc.encode('xchacha20-poly1305'),
    nonce,
    b(v.check),
    ...(v.version === 1 ? [] : [b(v.data_key.nonce), b(v.data_key.wrapped)]),
  );
  const content = v.version === 1 ? encryptionKey(key) : key;
  return xchacha20poly1305(content, nonce, aad).decrypt(b(v.ciphertext));
}

/** Opens a `tandem-vault` JSON envelope with its password; returns the plaintext. */
export function openVault(json, password) {
  return openVaultWithKey(json, dataKey(json, password));
}

/**
 * Opens the phone's fingerprint-unlock record (crates/phone/src/prf.rs)
 * with the authenticator's PRF output, independently of the Rust code:
 * HKDF-SHA256 (salt: the PRF input) then XChaCha20-Poly1305. Returns the
 * wrapping key and the vault key it seals.
 */
export function openPrfRecord(json, vaultJson, prf) {
  const r = JSON.parse(json);
  const b = (f) => Buffer.from(r[f], 'base64');
  const [credential, salt, vault, nonce] = ['credential', 'salt', 'vault', 'nonce'].map(b);
  assert.deepEqual(vault, Buffer.from(sha256(enc.encode(vaultJson))), 'the record names the stored vault');
  const wrapKey = hkdf(sha256, prf, salt, enc.encode('tandem/phone/prf-unlock/v1/wrap'), 32);
  const aad = concat(enc.encode('tandem-prf-unlock'), u32(r.v), u32(credential.length), credential, salt, vault, nonce);
  return { wrapKey, vaultKey: xchacha20poly1305(wrapKey, nonce, aad).decrypt(b('wrapped')) };
}

/** A vault's keys (the same for the extension's, the phone's and the
 *  CLI's): the password's key (Argon2id) and the data key (what an unlocked
 *  wallet keeps: the extension's session key). */
export function vaultSecrets(json, password, who) {
  const master = vaultKey(json, password);
  return [
    { name: `${who} vault password key`, bytes: Buffer.from(master) },
    { name: `${who} vault data key`, bytes: Buffer.from(dataKeyOf(JSON.parse(json), master)) },
  ];
}

/** The command-line device's vault (`home`/vault.json, the only file that
 *  holds its secrets, crates/cli/src/state.rs), opened: its plaintext. */
export async function openCliVault(home, password) {
  return Buffer.from(openVault(await readFile(path.join(home, 'vault.json'), 'utf8'), password));
}

/** The command-line device's secrets: identity seed (and the X25519 key
 *  made from it), every group key it holds, its own wallet's phrase, seed
 *  and first account keys, and its vault's keys. */
export async function cliSecrets(home, password) {
  const plain = JSON.parse((await openCliVault(home, password)).toString('utf8'));
  const seed = Buffer.from(plain.identity_seed, 'hex');
  const out = [{ name: 'cli identity seed', bytes: seed }, { name: 'cli X25519 key', bytes: x25519Secret(seed) }];
  for (const [epoch, k] of Object.entries(plain.device.group.keys)) {
    out.push({ name: `group key epoch ${epoch}`, bytes: Buffer.from(k.key, 'base64url') });
  }
  for (const source of JSON.parse(plain.keyring).sources) {
    if (source.kind === 'mnemonic') out.push(...phraseSecrets(source.phrase).map((s) => ({ ...s, name: `cli ${s.name}` })));
  }
  out.push(...vaultSecrets(await readFile(path.join(home, 'vault.json'), 'utf8'), password, 'cli'));
  return out;
}

/** A device's X25519 secret, made from its identity seed (docs/protocol.md §1). */
const x25519Secret = (seed) => Buffer.from(hkdf(sha256, seed, undefined, enc.encode('tandem/device-x25519/v1'), 32));

/** The secrets of a browser's or the phone's device state as
 *  lib/sealed.mjs's `sealedDevice` opens it: identity seed (and its X25519
 *  key) and every group key it holds, named after `who`. */
export function deviceSecrets(opened, who) {
  const seed = Buffer.from(opened.identity, 'base64url');
  assert.equal(seed.length, 32, `${who}'s identity seed`);
  const out = [
    { name: `${who} identity seed`, bytes: seed },
    { name: `${who} X25519 key`, bytes: x25519Secret(seed) },
  ];
  for (const [epoch, k] of Object.entries(opened.state.group.keys)) {
    out.push({ name: `group key epoch ${epoch} (${who})`, bytes: Buffer.from(k.key, 'base64url') });
  }
  return out;
}

/** The secrets a recovery phrase stands for: the phrase, its BIP-39 seed
 *  and the private keys of its first `accounts` accounts (computed with
 *  @scure/bip39 and viem, independently of the wallet's code). */
export function phraseSecrets(mnemonic, accounts = 3) {
  const out = [
    { name: 'recovery phrase', bytes: Buffer.from(mnemonic) },
    { name: 'BIP-39 seed', bytes: Buffer.from(mnemonicToSeedSync(mnemonic)) },
  ];
  for (let i = 0; i < accounts; i++) {
    const key = mnemonicToAccount(mnemonic, { addressIndex: i }).getHdKey().privateKey;
    out.push({ name: `private key ${i}`, bytes: Buffer.from(key) });
  }
  return out;
}

/** Every way a secret might be written down. */
export function encodings(bytes) {
  const b = Buffer.from(bytes);
  const b64 = b.toString('base64');
  const url = b.toString('base64url');
  return [
    b,
    Buffer.from(b.toString('hex')),
    Buffer.from(b.toString('hex').toUpperCase()),
    Buffer.from(b64),
    Buffer.from(b64.replace(/=+$/, '')),
    Buffer.from(url),
  ];
}

/** Names of the secrets found in any of `haystacks` (Buffers), in any encoding. */
export function findSecrets(haystacks, secrets) {
  const found = [];
  for (const s of secrets) {
    for (const needle of encodings(s.bytes)) {
      if (haystacks.some((h) => h.includes(needle))) {
        found.push(s.name);
        break;
      }
    }
  }
  return found;
}

/** The relay's database files (SQLite with its WAL and shared memory). */
export async function relayFiles(dir) {
  const names = await readdir(dir);
  return Promise.all(names.map((n) => readFile(path.join(dir, n))));
}

/**
 * What a page's origin stores, as text to scan: its localStorage and
 * sessionStorage, every IndexedDB database's every store (keys and values;
 * bytes as base64, a CryptoKey as its description: its bytes are not
 * readable), and in an extension page chrome.storage.local and .session.
 * (On disk these are in the profile's files too: `filesUnder`.)
 */
export async function originStorage(page) {
  const text = await page.evaluate(async () => {
    const idb = {};
    for (const { name, version } of await indexedDB.databases()) {
      const db = await new Promise((resolve, reject) => {
        const req = indexedDB.open(name, version);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      idb[name] = {};
      for (const store of db.objectStoreNames) {
        const all = (m) =>
          new Promise((resolve, reject) => {
            const req = db.transaction(store).objectStore(store)[m]();
            req.onsuccess = () => resolve(req.result);
            req.onerror = () => reject(req.error);
          });
        idb[name][store] = { keys: await all('getAllKeys'), values: await all('getAll') };
      }
      db.close();
    }
    const b64 = (b) => btoa(String.fromCharCode(...new Uint8Array(b.buffer ?? b, b.byteOffset ?? 0, b.byteLength)));
    const replacer = (_, v) => {
      if (v instanceof CryptoKey) return { CryptoKey: { type: v.type, extractable: v.extractable, algorithm: v.algorithm, usages: v.usages } };
      if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return { bytes: b64(v) };
      return v;
    };
    const ext = globalThis.chrome?.storage;
    return JSON.stringify(
      {
        localStorage: { ...localStorage },
        sessionStorage: { ...sessionStorage },
        indexedDB: idb,
        chromeLocal: ext ? await ext.local.get(null) : null,
        chromeSession: ext ? await ext.session.get(null) : null,
      },
      replacer,
    );
  });
  return Buffer.from(text);
}

/** Every file under `dir` (a browser profile: Local Storage, IndexedDB, …),
 *  but those whose path relative to `dir` matches `skip` (a RegExp). */
export async function filesUnder(dir, skip = null) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath ?? e.path, e.name);
    if (skip?.test(path.relative(dir, file))) continue;
    out.push(await readFile(file).catch(() => Buffer.alloc(0)));
  }
  return out;
}

/**
 * What an extension profile (lib/index.mjs's `launch`) holds, learnt from
 * it: its identity seed and group keys (its sealed device state opened with
 * its device key), its vault's keys (Argon2id of `password`, then the data
 * key) and, while unlocked, its session key (opened with its per-unlock
 * key; checked to be the vault's data key). Named after `who`.
 */
export async function browserSecrets(browser, who, password) {
  const local = await browser.ext.evaluate(() => chrome.storage.local.get(['tandem.vault', 'tandem.device']));
  assert.ok(local['tandem.vault'], `${who} has a wallet`);
  const out = local['tandem.device'] ? deviceSecrets(await sealedDevice(browser.ext, { chrome: 'tandem.device' }), who) : [];
  const keys = vaultSecrets(local['tandem.vault'], password, who);
  const session = await sessionKey(browser);
  if (session) assert.deepEqual(session, keys[1].bytes, `${who}'s session key is its vault's data key`);
  return [...out, ...keys];
}

/** The names of `secrets` an extension profile's storage holds, in any
 *  encoding: `originStorage` of its extension pages and every file of the
 *  profile but Chromium's HTTP cache of web pages (the test dapp's
 *  node_modules quote Foundry's test phrase in a doc comment; the
 *  extension's own files are not cached there). Everything secret is sealed
 *  there, its own secrets included. */
export async function browserLeaks(browser, secrets) {
  const store = await originStorage(browser.ext);
  assert.ok(store.includes('tandem.vault'), 'there is a wallet to scan');
  // Its CryptoKeys seal the rest: no script may read their bytes.
  assert.ok(store.includes('"CryptoKey"') && !store.includes('"extractable":true'), 'only non-extractable CryptoKeys in IndexedDB');
  return findSecrets([store, ...(await filesUnder(browser.profile, /^Default\/Cache\//))], secrets);
}

/**
 * The names of `secrets` a command-line device's home holds. By design
 * (crates/cli/src/state.rs) every secret of the CLI is in `vault.json`,
 * sealed under its password; `config.json` holds its name. So no secret at
 * all, the CLI's own included (`cliSecrets`, added here), may be readable in
 * any of its files as stored (said "stored"); and its vault, opened, holds
 * its own secrets and the keys of its group, which it is made to hold, but
 * nothing else of `secrets` (another device's seed or keys, another wallet's
 * phrase: said "in its vault").
 */
export async function cliHomeLeaks(home, password, secrets) {
  const own = await cliSecrets(home, password);
  const files = await filesUnder(home);
  assert.ok(files.length >= 2, "the CLI's vault and config");
  const opened = await openCliVault(home, password);
  assert.ok(findSecrets([opened], own).includes('cli identity seed'), 'the scan reads the opened vault');
  const others = secrets.filter((s) => !own.some((c) => c.bytes.equals(s.bytes)));
  return [
    ...findSecrets(files, [...own, ...secrets]).map((n) => `${n} (stored)`),
    ...findSecrets([opened], others).map((n) => `${n} (in its vault)`),
  ];
}
