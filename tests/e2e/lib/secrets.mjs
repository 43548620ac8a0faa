// The secrets scan: after the end-to-end runs, no private key, seed, group
// key or session key may sit in the relay's database (with its WAL) or in
// chrome.storage.local, in any encoding: raw bytes, hex (both cases),
// base64 and base64url (padded or not).
//
// The command-line device's vault is opened here with @noble (Argon2id,
// HKDF-SHA256, XChaCha20-Poly1305, per crates/vault/README.md), independently
// of the Rust code, to learn the group's keys and its identity seed.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import assert from 'node:assert/strict';
import { argon2id } from '@noble/hashes/argon2.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { mnemonicToAccount } from 'viem/accounts';
import { mnemonicToSeedSync } from '@scure/bip39';

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
  const v = JSON.parse(json);
  const master = vaultKey(json, password);
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

/** The command-line device's secrets: identity seed and every group key it holds. */
export async function cliSecrets(home, password) {
  const plain = JSON.parse(new TextDecoder().decode(openVault(await readFile(path.join(home, 'vault.json'), 'utf8'), password)));
  const out = [{ name: 'cli identity seed', bytes: Buffer.from(plain.identity_seed, 'hex') }];
  for (const [epoch, k] of Object.entries(plain.device.group.keys)) {
    out.push({ name: `group key epoch ${epoch}`, bytes: Buffer.from(k.key, 'base64url') });
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

/** Every file under `dir` (a browser profile: Local Storage, IndexedDB, …). */
export async function filesUnder(dir) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath ?? e.path, e.name);
    out.push(await readFile(file).catch(() => Buffer.alloc(0)));
  }
  return out;
}
