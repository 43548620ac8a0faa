// The wasm core's keys against @scure/bip39 + @scure/bip32 (what viem uses),
// and anvil's published default accounts as a known-answer vector.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mnemonicToSeedSync, entropyToMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { HDKey } from '@scure/bip32';
import { mnemonicToAccount } from 'viem/accounts';
import { loadWasm, loadPrims, TestBytes } from './wasm.mjs';

let core, prims;
before(async () => { core = await loadWasm(); prims = await loadPrims(); });

// Source: anvil's startup banner / Foundry book, mnemonic
// "test test test test test test test test test test test junk", m/44'/60'/0'/0/i.
const ANVIL = 'test test test test test test test test test test test junk';
const ANVIL_ADDRESSES = [
  '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC', '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
  '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65', '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc',
  '0x976EA74026E726554dB657fA54763abd0C3a0aa9', '0x14dC79964da2C08b23698B3D3cc7Ca32193d9955',
  '0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f', '0xa0Ee7A142d267C1f36714E4a8F75612F20a79720',
];

test('anvil default mnemonic derives its 10 published addresses in wasm', () => {
  const ring = core.Keyring.fromMnemonic(ANVIL, '');
  for (let i = 1; i < 10; i++) ring.deriveNext(0);
  assert.deepEqual(JSON.parse(ring.accounts()).map((a) => a.address), ANVIL_ADDRESSES);
  ring.free();
});

test('200 random phrases (with Unicode passphrases): seed == @scure/bip39, accounts == viem', () => {
  const r = new TestBytes('tandem/differential/bip39');
  const passphrases = ['', 'TREZOR', 'café', 'cafe\u0301', 'パスワード', 'Ⅻ ligature ﬁ'];
  for (let i = 0; i < 200; i++) {
    const phrase = entropyToMnemonic(r.bytes(r.bool() ? 16 : 32), wordlist);
    const pass = r.pick(passphrases);
    const seed = prims.primMnemonicToSeed(phrase, pass);
    assert.deepEqual(Buffer.from(seed), Buffer.from(mnemonicToSeedSync(phrase, pass)), `case ${i}`);
    const index = r.int(20);
    const hd = HDKey.fromMasterSeed(seed).derive(`m/44'/60'/0'/0/${index}`);
    assert.deepEqual(Buffer.from(prims.primBip32DerivePublic(seed, `m/44'/60'/0'/0/${index}`)),
      Buffer.from(hd.publicKey), `case ${i}: bip32`);
    if (i % 10 === 0) {
      const ring = core.Keyring.fromMnemonic(phrase, pass);
      const viem = mnemonicToAccount(phrase, { passphrase: pass.normalize('NFKD') });
      assert.equal(JSON.parse(ring.accounts())[0].address, viem.address, `case ${i}: address`);
      ring.free();
    }
  }
});

test('import errors are specific and carry no secret', () => {
  const err = (f) => { try { f(); } catch (e) { return e; } assert.fail('expected an error'); };
  let e = err(() => core.validateMnemonic(ANVIL.replace('junk', 'junkk')));
  assert.equal(e.name, 'UnknownWord');
  assert.match(e.message, /word 12/);
  assert.doesNotMatch(e.message, /junkk/);
  e = err(() => core.validateMnemonic(ANVIL.replace('junk', 'test')));
  assert.equal(e.name, 'Checksum');
  e = err(() => core.validateMnemonic('test test test'));
  assert.equal(e.name, 'WordCount');
  e = err(() => core.Keyring.fromPrivateKey('0xzz' + 'ab'.repeat(31)));
  assert.equal(e.name, 'PrivateKeyNotHex');
  assert.doesNotMatch(e.message, /abab/);
});

test('vault: seal, unlock, wrong password and tampering are distinct; default KDF is >= 64 MiB', () => {
  const ring = core.Keyring.fromMnemonic(ANVIL, '');
  const fast = JSON.stringify({ memory_kib: 8, iterations: 1, parallelism: 1 });
  const sealed = core.Vault.seal(ring, 'correct horse', fast);
  const vault = sealed.vault;
  assert.doesNotMatch(vault, /test test|junk/);
  const err = (f) => { try { f(); } catch (e) { return e; } assert.fail('expected an error'); };
  assert.equal(err(() => core.Vault.unlock(vault, 'wrong')).name, 'WrongPassword');
  const v = JSON.parse(vault);
  const ct = Buffer.from(v.ciphertext, 'base64');
  ct[3] ^= 1;
  v.ciphertext = ct.toString('base64');
  assert.equal(err(() => core.Vault.unlock(JSON.stringify(v), 'correct horse')).name, 'Tampered');
  const u = core.Vault.unlock(vault, 'correct horse');
  assert.equal(u.takeKeyring().accounts(), ring.accounts());
  // The default parameters, as sealed by the module itself.
  const dflt = JSON.parse(core.Vault.seal(ring, 'pw', undefined).vault);
  assert.ok(dflt.kdf.memory_kib >= 64 * 1024, JSON.stringify(dflt.kdf));
  assert.equal(dflt.kdf.algorithm, 'argon2id');
  ring.free();
});
