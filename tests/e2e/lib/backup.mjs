// The encrypted backup under the recovery phrase, as docs/protocol.md
// describes it (section "Backup under the recovery phrase"), derived and
// opened here with @noble, independently of the Rust code; and a relay
// that serves a tampered backup to a phone app it also serves.
import { pbkdf2Sync } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { startRelay } from './devices.mjs';
import { until } from './index.mjs';

const enc = new TextEncoder();

/** The backup's keys and id from the phrase (empty passphrase), of
 *  `generation` (0 until a restored browser cut off the devices outside
 *  its group: each later one is HKDF of the seed under
 *  "tandem/backup/v1/gen/" and the generation as 4 big-endian bytes). */
export function backupKeys(phrase, generation = 0) {
  const seed = pbkdf2Sync(phrase, 'mnemonic', 2048, 64, 'sha512');
  const info = generation === 0
    ? enc.encode('tandem/backup/v1')
    : Uint8Array.from([...enc.encode('tandem/backup/v1/gen/'), ...u32be(generation)]);
  const secret = hkdf(sha256, seed, undefined, info, 32);
  const encrypt = hkdf(sha256, secret, undefined, enc.encode('tandem/backup/v1/encrypt'), 32);
  const sign = hkdf(sha256, secret, undefined, enc.encode('tandem/backup/v1/sign'), 32);
  const pub = ed25519.getPublicKey(sign);
  const domain = enc.encode('tandem/backup/v1/id');
  const id = sha256(Uint8Array.from([0, domain.length, ...domain, ...pub]));
  return { seed, secret, encrypt, sign, id: Buffer.from(id).toString('hex') };
}

/** The relay's HTTP base from its WebSocket URL. */
function httpBase(relayUrl) {
  return relayUrl.replace(/^ws/, 'http').replace(/\/v1\/ws$/, '');
}

function u32be(n) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function u64be(n) {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}

/** Writes `data` (sealed: `sealBackup`) as the backup of `keys` on the
 *  relay (WebSocket URL `relayUrl`) at `counter`, signed as the phrase's
 *  holder signs (docs/protocol.md: over var("tandem/backup/v1/put") ‖ id ‖
 *  u64 counter ‖ SHA-256(data)); returns the relay's answer. */
export async function putBackup(relayUrl, keys, counter, data) {
  const domain = enc.encode('tandem/backup/v1/put');
  const bytes = Buffer.from(data, 'base64url');
  const message = Uint8Array.from([
    0, domain.length, ...domain, ...Buffer.from(keys.id, 'hex'), ...u64be(counter), ...sha256(bytes),
  ]);
  const b64 = (b) => Buffer.from(b).toString('base64url');
  const res = await fetch(`${httpBase(relayUrl)}/v1/backup/${keys.id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      key: b64(ed25519.getPublicKey(keys.sign)),
      counter,
      data,
      signature: b64(ed25519.sign(message, keys.sign)),
    }),
  });
  const answer = await res.json();
  if (res.status !== 200) throw new Error(`the relay refused the backup write (${res.status}): ${JSON.stringify(answer)}`);
  return answer;
}

/** The backup as the relay (WebSocket URL `relayUrl`) serves it to anyone
 *  (`null`: none). */
export async function relayBackup(relayUrl, id) {
  const res = await fetch(`${httpBase(relayUrl)}/v1/backup/${id}`, { cache: 'no-store' });
  if (res.status === 404) return null;
  if (res.status !== 200) throw new Error(`the relay answered ${res.status} for the backup`);
  return res.json();
}

/** The secrets of `keys` for `findSecrets` (lib/secrets.mjs): the seed
 *  and every backup key. */
export function backupSecrets(keys) {
  return [
    { name: 'seed', bytes: keys.seed },
    { name: 'backup secret', bytes: keys.secret },
    { name: 'backup encryption key', bytes: keys.encrypt },
    { name: 'backup signing key', bytes: keys.sign },
  ];
}

/** Waits (up to 30 s) until the backup of `keys` on the relay (WebSocket
 *  URL `relayUrl`) opens to contents that hold `text`; returns them. */
export async function backupHolding(relayUrl, keys, text) {
  return until(
    async () => {
      const stored = await relayBackup(relayUrl, keys.id);
      if (!stored?.data) return false;
      const p = openBackup(keys, stored.data);
      return JSON.stringify(p).includes(text) && p;
    },
    `the backup on the relay with ${text}`,
    30_000,
    250,
  );
}

/** The associated data a backup is sealed with: its domain and the id. */
function dataAad(keys) {
  const domain = enc.encode('tandem/backup/v1/data');
  return Uint8Array.from([0, domain.length, ...domain, ...Buffer.from(keys.id, 'hex')]);
}

/** Opens a backup's data with the phrase's key (nonce first, the id as AAD). */
export function openBackup(keys, data) {
  const bytes = Buffer.from(data, 'base64url');
  const plain = xchacha20poly1305(keys.encrypt, bytes.subarray(0, 24), dataAad(keys)).decrypt(bytes.subarray(24));
  return JSON.parse(new TextDecoder().decode(plain));
}

/** Seals backup contents as the phrase's holder does (a fresh nonce, the id as AAD). */
export function sealBackup(keys, contents) {
  const nonce = crypto.getRandomValues(new Uint8Array(24));
  const sealed = xchacha20poly1305(keys.encrypt, nonce, dataAad(keys)).encrypt(enc.encode(JSON.stringify(contents)));
  return Buffer.concat([nonce, sealed]).toString('base64url');
}

/** Passes `server`'s WebSocket upgrades through to the relay at `up()`
 * (an http URL, read when an upgrade arrives), byte for byte; returns the
 * open sockets (upgraded ones hold a server open: destroy them on close). */
export function passWebSockets(server, up) {
  const sockets = new Set();
  server.on('connection', (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  server.on('upgrade', (req, socket, head) => {
    const to = up();
    const relaySide = net.connect(Number(to.port), to.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      relaySide.write(`${lines.join('\r\n')}\r\n\r\n`);
      relaySide.write(head);
      socket.pipe(relaySide).pipe(socket);
    });
    sockets.add(relaySide);
    relaySide.on('close', () => sockets.delete(relaySide));
    relaySide.on('error', () => socket.destroy());
    socket.on('error', () => relaySide.destroy());
  });
  return sockets;
}

/**
 * A relay run by an attacker who holds the backup of `source` (a relay of
 * `startRelay`): a real relay binary serving the phone app from `appDir`
 * behind a proxy, whose public URL is the proxy's; every backup read is
 * answered with the backup `source` holds, byte `at` (from the end) of its
 * sealed contents flipped. Everything else (the app's files byte for byte,
 * the WebSocket) passes through to its own relay. Returns `{ url, appUrl,
 * close }`.
 */
export async function tamperingAppRelay(source, appDir, at) {
  const from = new URL(source.url.replace(/^ws/, 'http'));
  let up;
  const server = http.createServer(async (req, res) => {
    const parts = [];
    for await (const c of req) parts.push(c);
    const body = Buffer.concat(parts);
    const backup = req.url.startsWith('/v1/backup/');
    const answer = await fetch(`http://${backup ? from.host : up.host}${req.url}`, {
      method: req.method,
      headers: req.headers['content-type'] ? { 'content-type': req.headers['content-type'] } : {},
      body: body.length ? body : undefined,
    });
    let bytes = Buffer.from(await answer.arrayBuffer());
    if (req.method === 'GET' && backup && answer.status === 200) {
      const stored = JSON.parse(bytes.toString('utf8'));
      if (stored.data) {
        const data = Buffer.from(stored.data, 'base64url');
        data[data.length - at] ^= 1;
        stored.data = data.toString('base64url');
      }
      bytes = Buffer.from(JSON.stringify(stored));
    }
    const headers = {};
    for (const [k, v] of answer.headers) {
      if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k)) headers[k] = v;
    }
    res.writeHead(answer.status, headers);
    res.end(bytes);
  });
  const sockets = passWebSockets(server, () => up);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  const url = `ws://127.0.0.1:${port}/v1/ws`;
  // Its relay signs its challenges for the address devices use: the proxy's.
  const own = await startRelay({ appDir, publicUrl: url });
  up = new URL(own.url.replace(/^ws/, 'http'));
  return {
    url,
    appUrl: new URL(new URL(own.appUrl).pathname, `http://127.0.0.1:${port}`).href,
    close: async () => {
      await new Promise((r) => {
        server.close(r);
        for (const sock of sockets) sock.destroy();
      });
      await own.stop();
    },
  };
}
