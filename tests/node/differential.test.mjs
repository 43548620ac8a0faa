// Differential test: the wasm core (the module the extension runs) and viem
// (and ethers, for a subset) sign the same inputs; the bytes must be identical.
// RFC 6979 makes ECDSA deterministic, so any difference is a bug on one side.
// Inputs come from a fixed seed (TestBytes): a failure names its case index.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { privateKeyToAccount } from 'viem/accounts';
import { recoverMessageAddress, recoverTypedDataAddress, recoverTransactionAddress, parseTransaction, keccak256 } from 'viem';
import { Wallet, Transaction } from 'ethers';
import { loadWasm, TestBytes } from './wasm.mjs';

const N = 500;
let core;
before(async () => { core = await loadWasm(); });

function randomKey(r) {
  // Reject the (astronomically unlikely) out-of-range scalars like the core does.
  for (;;) {
    const k = r.hex(32);
    const v = BigInt(k);
    if (v > 0n && v < 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n) return k;
  }
}

function keyring(pk) {
  const ring = core.Keyring.fromPrivateKey(pk);
  const address = JSON.parse(ring.accounts())[0].address;
  return { ring, address };
}

test(`personal_sign: ${N} random messages, wasm == viem (and ethers for 100)`, async () => {
  const r = new TestBytes('tandem/differential/personal_sign');
  for (let i = 0; i < N; i++) {
    const pk = randomKey(r);
    const { ring, address } = keyring(pk);
    const account = privateKeyToAccount(pk);
    assert.equal(address, account.address, `case ${i}: address`);
    const len = r.int(300);
    let ours, theirs;
    if (r.bool()) {
      const raw = r.bytes(len);
      ours = ring.signPersonal(address, '0x' + Buffer.from(raw).toString('hex'));
      theirs = await account.signMessage({ message: { raw } });
      if (i % 5 === 0) assert.equal(ours, await new Wallet(pk).signMessage(raw), `case ${i}: ethers raw`);
    } else {
      // Text that is not 0x-hex (that would be read as bytes, as MetaMask does).
      const alphabet = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ0123456789.,;:!?\n€é漢字🙂';
      const chars = [...alphabet];
      let text = 'm';
      for (let j = 0; j < len; j++) text += chars[r.int(chars.length)];
      ours = ring.signPersonal(address, text);
      theirs = await account.signMessage({ message: text });
      if (i % 5 === 0) assert.equal(ours, await new Wallet(pk).signMessage(text), `case ${i}: ethers text`);
      assert.equal(await recoverMessageAddress({ message: text, signature: ours }), address);
    }
    assert.equal(ours, theirs, `case ${i}`);
    ring.free();
  }
});

// ---- EIP-712 ---------------------------------------------------------------

const ATOMS = ['address', 'bool', 'string', 'bytes', 'bytes1', 'bytes4', 'bytes20', 'bytes32',
  'uint8', 'uint16', 'uint64', 'uint128', 'uint256', 'int8', 'int32', 'int128', 'int256'];

function atomValue(r, type) {
  if (type === 'address') return r.hex(20);
  if (type === 'bool') return r.bool();
  if (type === 'string') return 'txt-' + r.hex(r.int(12)).slice(2);
  if (type === 'bytes') return r.hex(r.int(70));
  if (type.startsWith('bytes')) return r.hex(Number(type.slice(5)));
  const bits = Number(type.replace(/^u?int/, ''));
  if (type.startsWith('uint')) return r.bigint(r.bool() ? bits : Math.min(bits, 8 + r.int(bits)));
  const half = 1n << BigInt(bits - 1);
  return r.bigint(bits) - half; // [-2^(bits-1), 2^(bits-1))
}

/** A random schema of up to 3 struct types (nested, with arrays) and a message. */
function randomTypedData(r, i) {
  const names = ['Mail', 'Person', 'Asset'].map((n) => `${n}${i}`);
  const depth = 1 + r.int(3);
  const types = {};
  for (let d = depth - 1; d >= 0; d--) {
    const fields = [];
    const nf = 1 + r.int(5);
    for (let f = 0; f < nf; f++) {
      let t = r.pick(ATOMS);
      if (d + 1 < depth && r.int(3) === 0) t = names[d + 1];
      const arr = r.int(4);
      if (arr === 1) t += '[]';
      else if (arr === 2) t += `[${1 + r.int(3)}]`;
      fields.push({ name: `f${f}`, type: t });
    }
    // Every type must be reachable from the primary type (ethers insists).
    if (d + 1 < depth && !fields.some((f) => f.type.startsWith(names[d + 1]))) {
      fields.push({ name: 'child', type: names[d + 1] + (r.bool() ? '[]' : '') });
    }
    types[names[d]] = fields;
  }
  const valueOf = (type) => {
    const m = type.match(/^(.*)\[(\d*)\]$/);
    if (m) {
      const n = m[2] === '' ? r.int(4) : Number(m[2]);
      return Array.from({ length: n }, () => valueOf(m[1]));
    }
    if (types[type]) return Object.fromEntries(types[type].map((f) => [f.name, valueOf(f.type)]));
    return atomValue(r, type);
  };
  const domain = {};
  if (r.bool()) domain.name = 'Dapp ' + r.int(1000);
  if (r.bool()) domain.version = String(1 + r.int(9));
  if (r.bool()) domain.chainId = 1 + r.int(100000);
  if (r.bool()) domain.verifyingContract = r.hex(20);
  if (r.int(4) === 0) domain.salt = r.hex(32);
  return { domain, types, primaryType: names[0], message: valueOf(names[0]) };
}

const DOMAIN_FIELDS = [['name', 'string'], ['version', 'string'], ['chainId', 'uint256'],
  ['verifyingContract', 'address'], ['salt', 'bytes32']];

/** The eth_signTypedData_v4 JSON a dapp sends (viem adds EIP712Domain; bigints as strings). */
function asRpcJson({ domain, types, primaryType, message }) {
  const EIP712Domain = DOMAIN_FIELDS.filter(([n]) => n in domain).map(([name, type]) => ({ name, type }));
  return JSON.stringify({ domain, types: { EIP712Domain, ...types }, primaryType, message },
    (_, v) => (typeof v === 'bigint' ? v.toString() : v));
}

test(`eth_signTypedData_v4: ${N} random nested schemas, wasm == viem (and ethers for 100)`, async () => {
  const r = new TestBytes('tandem/differential/typed_data');
  for (let i = 0; i < N; i++) {
    const pk = randomKey(r);
    const { ring, address } = keyring(pk);
    const td = randomTypedData(r, i);
    const ours = ring.signTypedData(address, asRpcJson(td));
    const theirs = await privateKeyToAccount(pk).signTypedData(td);
    assert.equal(ours, theirs, `case ${i}: ${asRpcJson(td)}`);
    if (i % 5 === 0) {
      const ethersSig = await new Wallet(pk).signTypedData(td.domain, td.types, td.message);
      assert.equal(ours, ethersSig, `case ${i}: ethers`);
    }
    assert.equal(await recoverTypedDataAddress({ ...td, signature: ours }), address);
    ring.free();
  }
});

// ---- Transactions ----------------------------------------------------------

const q = (v) => '0x' + BigInt(v).toString(16);

function randomTx(r) {
  const kind = r.pick(['legacy', 'eip2930', 'eip1559']);
  const to = r.int(8) === 0 ? undefined : r.hex(20);
  const tx = {
    chainId: 1 + r.int(1_000_000),
    nonce: r.int(2 ** 31),
    gas: 21000n + r.bigint(24),
    value: r.bigint(r.pick([0, 8, 64, 128])),
    data: r.int(3) === 0 ? undefined : r.hex(r.int(200)),
    to,
  };
  if (kind === 'legacy' || kind === 'eip2930') tx.gasPrice = 1n + r.bigint(40);
  if (kind === 'eip1559') {
    tx.maxFeePerGas = 1n + r.bigint(40);
    tx.maxPriorityFeePerGas = r.bigint(40) % (tx.maxFeePerGas + 1n);
  }
  if (kind !== 'legacy' && r.bool()) {
    tx.accessList = Array.from({ length: 1 + r.int(3) }, () => ({
      address: r.hex(20),
      storageKeys: Array.from({ length: r.int(3) }, () => r.hex(32)),
    }));
  }
  return { kind, tx };
}

function asRpcRequest({ kind, tx }) {
  const req = { chainId: q(tx.chainId), nonce: q(tx.nonce), gas: q(tx.gas), value: q(tx.value),
    type: q({ legacy: 0, eip2930: 1, eip1559: 2 }[kind]) };
  if (tx.to) req.to = tx.to;
  if (tx.data) req.data = tx.data;
  if (tx.gasPrice !== undefined) req.gasPrice = q(tx.gasPrice);
  if (tx.maxFeePerGas !== undefined) {
    req.maxFeePerGas = q(tx.maxFeePerGas);
    req.maxPriorityFeePerGas = q(tx.maxPriorityFeePerGas);
  }
  if (tx.accessList) req.accessList = tx.accessList;
  return JSON.stringify(req);
}

test(`transactions: ${N} random legacy/EIP-2930/EIP-1559, wasm == viem (and ethers for 100)`, async () => {
  const r = new TestBytes('tandem/differential/transactions');
  for (let i = 0; i < N; i++) {
    const pk = randomKey(r);
    const { ring, address } = keyring(pk);
    const t = randomTx(r);
    const signed = JSON.parse(ring.signTransaction(address, asRpcRequest(t)));
    const theirs = await privateKeyToAccount(pk).signTransaction({ type: t.kind, ...t.tx });
    assert.equal(signed.raw, theirs, `case ${i}: ${asRpcRequest(t)}`);
    assert.equal(signed.hash, keccak256(theirs), `case ${i}: hash`);
    if (i % 5 === 0) {
      const e = Transaction.from({ ...t.tx, type: { legacy: 0, eip2930: 1, eip1559: 2 }[t.kind],
        to: t.tx.to ?? null, data: t.tx.data ?? '0x', gasLimit: t.tx.gas });
      assert.equal(signed.raw, await new Wallet(pk).signTransaction(e), `case ${i}: ethers`);
    }
    // viem decodes our bytes and recovers the signer: an independent check.
    assert.equal(await recoverTransactionAddress({ serializedTransaction: signed.raw }), address, `case ${i}: sender`);
    assert.equal(parseTransaction(signed.raw).nonce, t.tx.nonce);
    ring.free();
  }
});
