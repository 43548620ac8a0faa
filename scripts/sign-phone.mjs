#!/usr/bin/env node
// Lists the phone app's files with their SHA-256 in <dir>/wasm/build.json and
// signs that file's bytes with the release key (Ed25519) into
// <dir>/wasm/build.sig. The app's service worker pins the key of the first
// build it installs and takes a later build only when its build.json is
// signed by that key and every file matches its hash (phone/sw.js).
//
// Usage: scripts/sign-phone.mjs <phone dir> [key.pem]
// The key: the argument, else $TANDEM_RELEASE_KEY, else a development key
// made once at ~/.config/tandem/release-key.pem (releases use the project's
// key; a phone that installed a development build accepts only builds
// signed by that same development key).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Files the service worker does not take from the manifest. */
const SKIP = new Set(['sw.js', 'README.md', 'wasm/build.json', 'wasm/build.sig', 'wasm/build.js']);

async function walk(root, dir = '') {
  const out = [];
  const entries = (await readdir(path.join(root, dir), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walk(root, rel)));
    else if (!SKIP.has(rel)) out.push(rel);
  }
  return out;
}

/** The release key (PKCS#8 PEM), made if it is the development default and missing. */
export async function releaseKey(file = process.env.TANDEM_RELEASE_KEY) {
  if (file) return createPrivateKey(await readFile(file));
  const dev = path.join(os.homedir(), '.config/tandem/release-key.pem');
  if (!existsSync(dev)) {
    await mkdir(path.dirname(dev), { recursive: true });
    const { privateKey } = generateKeyPairSync('ed25519');
    await writeFile(dev, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    console.error(`made a development release key: ${dev} (phones that install this build accept only builds signed by it)`);
  }
  return createPrivateKey(await readFile(dev));
}

/** Writes and signs <dir>/wasm/build.json; returns the manifest. */
export async function signPhone(dir, key) {
  const files = [];
  for (const rel of await walk(dir)) {
    files.push({ path: rel, sha256: createHash('sha256').update(await readFile(path.join(dir, rel))).digest('hex') });
  }
  const raw = createPublicKey(key).export({ format: 'jwk' }).x; // base64url of the 32-byte public key
  const id = createHash('sha256').update(JSON.stringify(files)).digest('hex').slice(0, 16);
  const manifest = { id, release_key: raw, files };
  const bytes = Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`);
  await writeFile(path.join(dir, 'wasm/build.json'), bytes);
  await writeFile(path.join(dir, 'wasm/build.sig'), sign(null, bytes, key).toString('base64url'));
  return manifest;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [dir, keyFile] = process.argv.slice(2);
  if (!dir) {
    console.error('usage: scripts/sign-phone.mjs <phone dir> [key.pem]');
    process.exit(2);
  }
  const m = await signPhone(dir, await releaseKey(keyFile));
  console.log(`phone build ${m.id}: ${m.files.length} files signed by release key ${m.release_key}`);
}
