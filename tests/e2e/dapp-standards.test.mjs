// End to end: the dapp standards of issue 13 items 6, 9 and 14 with the real
// extension, real anvil nodes (one before EIP-1559: `--hardfork berlin`), a
// lying JSON-RPC proxy (tests/e2e/lib/lying-rpc.mjs) and viem as the dapp and
// as the independent checker (its own SIWE message builder and parser,
// signature verification, receipts).
// Run: node --test --test-concurrency=1 tests/e2e/dapp-standards.test.mjs
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { verifyMessage } from 'viem';
import { createSiweMessage, parseSiweMessage } from 'viem/siwe';
import {
  clickClosing,
  startAnvil,
  startDapp,
  until,
  jsonRpc,
  pendingApproval,
  ANVIL_ACCOUNT_0 as A0,
  ANVIL_ACCOUNT_1 as A1,
} from './lib/index.mjs';
import { answer, connectedWallet, freshStart } from './lib/approve.mjs';
import { startLyingRpc } from './lib/lying-rpc.mjs';

/** An API key as RPC providers put it in their URLs' paths. */
const KEY = 'k3yP7xQ9mZ2vW8rT5nL4';

describe('dapp standards: SIWE, hidden text, typed-data rows, legacy fees, RPC URLs', { timeout: 300_000 }, () => {
  let browser, anvil, berlin, proxy, dapp, page, site;
  const d = (fn, ...args) => page.evaluate(fn, ...args);
  const windowOf = (id) =>
    until(() => browser.context.pages().find((p) => p.url().endsWith(`approval.html?id=${id}`)), `the window of #${id}`);
  /** Waits for the pending approval of `kind` and its window, showing `testid`. */
  async function shown(kind, testid) {
    const a = await pendingApproval(browser, kind);
    const win = await windowOf(a.id);
    await win.getByTestId(testid).waitFor({ timeout: 15_000 });
    return { a, win, text: async (id) => (await win.getByTestId(id).textContent()) ?? '' };
  }
  const personalSign = (message) => d(([a, m]) => window.dapp.signMessage(a, m), [A0, message]);

  before(async () => {
    [anvil, berlin, dapp] = await Promise.all([startAnvil(), startAnvil({ chainId: 1339, hardfork: 'berlin' }), startDapp()]);
    proxy = await startLyingRpc(anvil.url);
    // Chain 31337's RPC URL carries an API key in its path, as hosted RPCs' do.
    ({ browser, page } = await connectedWallet({ url: `${proxy.url}/v3/${KEY}` }, dapp));
    await browser.ui('networks.upsert', { chainId: 1339, name: 'Berlin', rpcUrl: berlin.url, symbol: 'ETH' });
    site = new URL(dapp.url);
  });

  beforeEach(async () => {
    if (!browser) return;
    proxy.honest();
    await freshStart(browser, 31337);
  });

  after(async () => {
    await browser?.close();
    await Promise.all([proxy?.close(), anvil?.stop(), berlin?.stop(), dapp?.close()]);
  });

  it('a sign-in for this site (made by viem) is shown as a sign-in and signs', async () => {
    const message = createSiweMessage({
      domain: site.host,
      address: A0,
      statement: 'Sign in to the Tandem test dapp.',
      uri: `${site.origin}/login`,
      version: '1',
      chainId: 31337,
      nonce: 'n0nce12345678',
      issuedAt: new Date('2026-11-30T20:00:00Z'),
      expirationTime: new Date('2099-01-01T00:00:00Z'),
      resources: ['https://docs.example/terms'],
    });
    const pending = personalSign(message);
    const { win, text } = await shown('personal_sign', 'siwe-card');
    assert.equal(await text('siwe-domain'), site.host);
    assert.equal(await text('siwe-address'), A0);
    assert.equal(await text('siwe-statement'), 'Sign in to the Tandem test dapp.');
    assert.equal(await text('siwe-uri'), `${site.origin}/login`);
    assert.equal(await text('siwe-chain'), '31337');
    assert.equal(await text('siwe-nonce'), 'n0nce12345678');
    assert.equal(await text('siwe-issued'), '2026-11-30 20:00:00 UTC');
    assert.equal(await text('siwe-expires'), '2099-01-01 00:00:00 UTC');
    assert.equal(await win.getByTestId('siwe-domain-mismatch').count(), 0);
    assert.equal(await win.getByTestId('siwe-malformed').count(), 0);
    await answer(browser, 'personal_sign', true);
    const sig = (await pending).result;
    assert.equal(await verifyMessage({ address: A0, message, signature: sig }), true);
    assert.equal(parseSiweMessage(message).domain, site.host);
  });

  it('a phishing page asking to sign in to another site gets a loud warning naming both', async () => {
    const message = createSiweMessage({
      domain: 'app.uniswap.org',
      address: A1, // not even the account that signs
      uri: 'https://app.uniswap.org/login',
      version: '1',
      chainId: 1,
      nonce: 'abcdefgh12345',
      issuedAt: new Date('2026-11-30T20:00:00Z'),
    });
    const pending = personalSign(message);
    const { win, text } = await shown('personal_sign', 'siwe-domain-mismatch');
    const warn = await text('siwe-domain-mismatch');
    assert.match(warn, /signs you in to app\.uniswap\.org/);
    assert.ok(warn.includes(site.origin), `the real origin is named: ${warn}`);
    assert.equal(await win.getByTestId('siwe-domain-mismatch').getAttribute('class'), 'warn danger');
    assert.match(await text('siwe-uri-mismatch'), /app\.uniswap\.org\/login/);
    assert.match(await text('siwe-address-mismatch'), new RegExp(A1));
    await answer(browser, 'personal_sign', false);
    assert.equal((await pending).error?.code, 4001);
  });

  it('a sign-in message bent out of the format still has its domain checked', async () => {
    // A percent sign is not allowed in a statement: the message does not
    // parse as EIP-4361, which must not silence the phishing warning.
    const message = createSiweMessage({
      domain: 'app.uniswap.org',
      address: A0,
      statement: 'Claim 100% of your airdrop',
      uri: 'https://app.uniswap.org',
      version: '1',
      chainId: 1,
      nonce: 'abcdefgh12345',
      issuedAt: new Date('2026-11-30T20:00:00Z'),
    });
    const pending = personalSign(message);
    const { text } = await shown('personal_sign', 'siwe-malformed');
    assert.match(await text('siwe-malformed'), /does not follow the Sign-In with Ethereum format/);
    assert.match(await text('siwe-domain-mismatch'), /app\.uniswap\.org/);
    await answer(browser, 'personal_sign', false);
    assert.equal((await pending).error?.code, 4001);
  });

  it('right-to-left override and zero-width characters are shown as escapes with a warning', async () => {
    // Drawn by a browser, "\u202E" reverses what follows: the page shows the
    // user one text and the wallet must show what is really signed.
    const message = 'I approve sending 1 ETH to \u202Efdb2\u200B';
    const pending = personalSign(message);
    const { win, text } = await shown('personal_sign', 'sign-hidden-warning');
    assert.equal(await text('sign-message'), 'I approve sending 1 ETH to ⟨U+202E⟩fdb2⟨U+200B⟩');
    assert.match(await text('sign-hidden-warning'), /2 hidden characters .*bidirectional/);
    // The pixels agree: the DOM holds no control character at all.
    const raw = await win.getByTestId('sign-message').evaluate((e) => e.textContent);
    assert.ok(!/[\u202a-\u202e\u200b]/.test(raw));
    await answer(browser, 'personal_sign', true);
    assert.equal(await verifyMessage({ address: A0, message, signature: (await pending).result }), true, 'the real text is signed');
  });

  it('typed data shows its verifying contract and domain chain as rows of their own', async () => {
    const typed = {
      domain: { name: 'Ether Mail', version: '1', chainId: 31337, verifyingContract: '0xcccccccccccccccccccccccccccccccccccccccc' },
      types: { Mail: [{ name: 'contents', type: 'string' }] },
      primaryType: 'Mail',
      message: { contents: 'Hello, Bob!' },
    };
    const pending = d(([a, t]) => window.dapp.signTypedData(a, t), [A0, typed]);
    const { text } = await shown('typed_data', 'typed-signed-for');
    assert.equal(await text('typed-verifying-contract'), '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC');
    assert.equal(await text('typed-domain-chain'), 'Anvil · chain 31337');
    await answer(browser, 'typed_data', false);
    assert.equal((await pending).error?.code, 4001);
    // A domain for another chain is refused before any window (as MetaMask does).
    const domainTypes = [
      { name: 'name', type: 'string' },
      { name: 'version', type: 'string' },
      { name: 'chainId', type: 'uint256' },
      { name: 'verifyingContract', type: 'address' },
    ];
    const elsewhere = { ...typed, types: { EIP712Domain: domainTypes, ...typed.types }, domain: { ...typed.domain, chainId: 1 } };
    const other = await d(([a, t]) => window.dapp.raw({ method: 'eth_signTypedData_v4', params: [a, JSON.stringify(t)] }), [A0, elsewhere]);
    assert.match(other.error?.message ?? '', /chain 1 but Tandem is on chain 31337/);
  });

  it('a chain without EIP-1559 gets a type-0 transaction, its gas price edited in the window', async () => {
    await browser.ui('networks.select', { chainId: 1339 });
    await until(async () => (await d(() => window.dapp.chainId())).result === 1339, 'the dapp on chain 1339');
    const block = await jsonRpc(berlin.url, 'eth_getBlockByNumber', ['latest', false]);
    assert.equal(block.baseFeePerGas, undefined, 'anvil --hardfork berlin has no base fee');
    const pending = d(([from, to]) => window.dapp.raw({ method: 'eth_sendTransaction', params: [{ from, to, value: '0x2a' }] }), [A0, A1]);
    const { win } = await shown('transaction', 'tx-gasprice-input');
    assert.equal(await win.getByTestId('tx-priority-input').count(), 0);
    assert.equal(await win.getByTestId('tx-maxfee-input').count(), 0);
    const price = win.getByTestId('tx-gasprice-input');
    await price.fill('3.5');
    const approve = win.getByTestId('approval-approve');
    await until(async () => !(await approve.isDisabled()), 'Approve to be enabled');
    await clickClosing(approve);
    const hash = (await pending).result;
    assert.match(hash ?? '', /^0x[0-9a-f]{64}$/, JSON.stringify(await pending));
    const tx = await until(() => jsonRpc(berlin.url, 'eth_getTransactionByHash', [hash]), 'the transaction on the node');
    assert.equal(tx.type, '0x0');
    assert.equal(BigInt(tx.gasPrice), 3_500_000_000n, 'the gas price typed in the window');
    assert.equal(tx.value, '0x2a');
  });

  it('a dapp that passes gasPrice on an EIP-1559 chain gets the type-0 transaction it asked for', async () => {
    const pending = d(
      ([from, to]) => window.dapp.raw({ method: 'eth_sendTransaction', params: [{ from, to, value: '0x7', gasPrice: '0x77359400' }] }),
      [A0, A1],
    );
    const { win, text } = await shown('transaction', 'tx-gasprice-input');
    assert.equal(await win.getByTestId('tx-gasprice-input').inputValue(), '2');
    assert.equal(await win.getByTestId('tx-priority-input').count(), 0);
    assert.match(await text('tx-max-cost'), /ETH/);
    await answer(browser, 'transaction', true);
    const hash = (await pending).result;
    const tx = await until(() => jsonRpc(anvil.url, 'eth_getTransactionByHash', [hash]), 'the transaction on the node');
    assert.equal(tx.type, '0x0');
    assert.equal(BigInt(tx.gasPrice), 2_000_000_000n);
  });

  it('a chain whose native currency has 6 decimals (EIP-3085 allows it) is added with them', async () => {
    // The Berlin node again, described by a site with a 6-decimal currency.
    const add = d(
      (rpc) =>
        window.dapp.raw({
          method: 'wallet_addEthereumChain',
          params: [{ chainId: '0x53b', chainName: 'Six', rpcUrls: [rpc], nativeCurrency: { name: 'Six', symbol: 'SIX', decimals: 6 } }],
        }),
      berlin.url,
    );
    const { text } = await shown('add_chain', 'chain-decimals');
    assert.equal(await text('chain-decimals'), '6');
    assert.match(await text('chain-change-decimals'), /18.*6/);
    await answer(browser, 'add_chain', true);
    assert.equal((await add).error, undefined, JSON.stringify(await add));
    const six = (await browser.ui('state')).networks.find((n) => n.chainId === 1339);
    assert.equal(six.decimals, 6);
    assert.equal(six.symbol, 'SIX');
  });

  it("a node error that quotes the RPC URL reaches the page without the URL or its key", async () => {
    // Hosted RPCs answer rate-limit and auth errors naming the endpoint.
    const endpoint = `${proxy.url}/v3/${KEY}`;
    proxy.lie('eth_blockNumber', (req) => ({
      jsonrpc: '2.0',
      id: req.id,
      error: { code: -32005, message: `daily request limit reached for ${endpoint}`, data: { endpoint, key: KEY } },
    }));
    const r = await d(() => window.dapp.raw({ method: 'eth_blockNumber' }));
    assert.equal(r.error?.code, -32005, JSON.stringify(r));
    assert.match(r.error.message, /daily request limit reached for <rpc url>/);
    const all = JSON.stringify(r);
    assert.ok(!all.includes(KEY), `no API key: ${all}`);
    assert.ok(!all.includes(String(new URL(proxy.url).port)), `no URL: ${all}`);
    // The same error on the way to a transaction (the fee fill) is cut too.
    proxy.lie('eth_estimateGas', (req) => ({ jsonrpc: '2.0', id: req.id, error: { code: -32000, message: `rejected by ${endpoint}` } }));
    const tx = await d(([from, to]) => window.dapp.raw({ method: 'eth_sendTransaction', params: [{ from, to, value: '0x1' }] }), [A0, A1]);
    assert.match(tx.error?.message ?? JSON.stringify(tx), /rejected by <rpc url>/);
    assert.ok(!JSON.stringify(tx).includes(KEY));
  });
});
