// Send, Receive, hidden tokens, explorer links and token facts read from the
// contract (issue 13, items 3 and 15), with the real extension in headless
// Chromium and real anvil. The ERC-20 is a hand-assembled contract with
// storage (lib/erc20.mjs). Run: node --test tests/e2e/send.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { clickClosing, startAnvil, startDapp, openPopup, jsonRpc, until, EXTENSION_ID, ANVIL_ACCOUNT_0, ANVIL_ACCOUNT_1 } from './lib/index.mjs';
import { connectedWallet } from './lib/approve.mjs';
import { decodeQr } from './lib/devices.mjs';
import { deployErc20, balanceOf } from './lib/erc20.mjs';
import { PERMIT_TYPES } from './lib/permit.mjs';
import { formatEther } from 'viem';

const TOKEN = '0x3000000000000000000000000000000000000003';
const EXPLORER = 'https://explorer.example';
const SPENDER = '0x000000000000000000000000000000000000dEaD';

const waitScreen = (page, name) => page.locator(`#app > .app[data-screen="${name}"]`).waitFor({ timeout: 20_000 });

/** Account 1 with one letter's case flipped: a broken EIP-55 checksum. */
function badChecksum(address) {
  const i = [...address].findIndex((c, k) => k > 1 && /[a-fA-F]/.test(c));
  const c = address[i];
  return address.slice(0, i) + (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()) + address.slice(i + 1);
}

describe('send and receive from the popup, through the approval window', { timeout: 240_000 }, () => {
  let browser, anvil, dapp, dappPage, popup;

  before(async () => {
    anvil = await startAnvil();
    dapp = await startDapp();
    ({ browser, page: dappPage } = await connectedWallet(anvil, dapp));
    // The same network with a block explorer (checked as https when saved).
    await browser.ui('networks.upsert', { chainId: 31337, name: 'Anvil', rpcUrl: anvil.url, symbol: 'ETH', explorer: EXPLORER });
    await deployErc20(anvil.url, TOKEN, { symbol: 'TUSD', decimals: 6, holder: ANVIL_ACCOUNT_0, balance: 5_000_000_000n });
    popup = await openPopup(browser);
    await waitScreen(popup, 'home');
  });
  after(async () => {
    assert.deepEqual(popup?.errors ?? [], [], 'no uncaught errors in the popup');
    await browser?.close();
    await dapp?.close?.();
    await anvil?.stop();
  });

  async function openSend() {
    await popup.getByTestId('home-send').click();
    await waitScreen(popup, 'send');
  }

  it('Receive shows the address, and its QR code decodes to it from pixels', async () => {
    await popup.getByTestId('home-receive').click();
    await waitScreen(popup, 'receive');
    assert.equal(await popup.getByTestId('receive-address').textContent(), ANVIL_ACCOUNT_0);
    const png = await popup.getByTestId('receive-qr').screenshot();
    assert.equal(decodeQr(png), ANVIL_ACCOUNT_0);
    await popup.getByTestId('receive-copy').click();
    await popup.getByTestId('notice').waitFor();
    await popup.getByTestId('back-button').click();
    await waitScreen(popup, 'home');
  });

  it('a recipient with a wrong EIP-55 checksum is refused and nothing is queued', async () => {
    await openSend();
    await popup.getByTestId('send-to').fill(badChecksum(ANVIL_ACCOUNT_1));
    await popup.getByTestId('send-amount').fill('1');
    await popup.getByTestId('send-submit').click();
    await popup.getByTestId('form-error').waitFor();
    assert.match(await popup.getByTestId('form-error').textContent(), /checksum/);
    assert.deepEqual(await browser.ui('approvals.list'), []);
  });

  it('a native send goes through the approval window, is mined with its value, and shows in activity with an explorer link', async () => {
    const before = BigInt(await jsonRpc(anvil.url, 'eth_getBalance', [ANVIL_ACCOUNT_1, 'latest']));
    // All lower case: no checksum to check, accepted.
    await popup.getByTestId('send-to').fill(ANVIL_ACCOUNT_1.toLowerCase());
    // Max keeps a plain transfer's fee at twice the node's gas price.
    const [balance, gasPrice] = await Promise.all([
      jsonRpc(anvil.url, 'eth_getBalance', [ANVIL_ACCOUNT_0, 'latest']),
      jsonRpc(anvil.url, 'eth_gasPrice'),
    ]);
    await popup.getByTestId('send-max').click();
    const max = formatEther(BigInt(balance) - 2n * 21_000n * BigInt(gasPrice));
    await until(async () => (await popup.getByTestId('send-amount').inputValue()) === max, `Max to fill ${max}`);
    await popup.getByTestId('send-amount').fill('1.25');
    const opened = browser.nextApproval();
    await popup.getByTestId('send-submit').click();
    const win = await opened;
    await win.getByTestId('approval-screen').waitFor({ timeout: 20_000 });
    assert.equal(await win.getByTestId('approval-origin').textContent(), 'Tandem (sent from this wallet)');
    assert.equal(await win.getByTestId('tx-to').textContent(), ANVIL_ACCOUNT_1);
    assert.equal(await win.getByTestId('tx-value').textContent(), '1.25 ETH');
    const approve = win.getByTestId('approval-approve');
    await until(async () => !(await approve.isDisabled()), 'Approve to be enabled', 20_000);
    await clickClosing(approve);
    const item = await until(
      async () => (await browser.ui('activity')).find((a) => a.to?.toLowerCase() === ANVIL_ACCOUNT_1.toLowerCase()),
      'the send in activity',
      20_000,
    );
    const tx = await jsonRpc(anvil.url, 'eth_getTransactionByHash', [item.hash]);
    assert.equal(BigInt(tx.value), 1_250_000_000_000_000_000n);
    assert.equal(tx.from.toLowerCase(), ANVIL_ACCOUNT_0.toLowerCase());
    const receipt = await until(() => jsonRpc(anvil.url, 'eth_getTransactionReceipt', [item.hash]), 'the receipt');
    assert.equal(receipt.status, '0x1');
    assert.equal(BigInt(await jsonRpc(anvil.url, 'eth_getBalance', [ANVIL_ACCOUNT_1, 'latest'])) - before, 1_250_000_000_000_000_000n);
    // Activity links to the network's explorer.
    await popup.getByTestId('back-button').click();
    await waitScreen(popup, 'home');
    await popup.getByTestId('tab-activity').click();
    const link = popup.getByTestId(`activity-explorer-${item.hash}`);
    await link.waitFor({ timeout: 20_000 });
    assert.equal(await link.getAttribute('href'), `${EXPLORER}/tx/${item.hash}`);
  });

  it('an ERC-20 added by address (facts from the contract) is sent in its decimals, Max offers the whole balance, and it can be hidden and shown again', async () => {
    await popup.getByTestId('tab-tokens').click();
    await popup.getByTestId('token-add').click();
    await waitScreen(popup, 'token-form');
    // An address without code answers neither call: the form says so.
    await popup.getByTestId('token-form-address').fill('0x4000000000000000000000000000000000000004');
    await popup.getByTestId('token-form-save').click();
    await popup.getByTestId('form-error').filter({ hasText: /does not answer symbol\(\) and decimals\(\); enter them by hand/ }).waitFor();
    await popup.getByTestId('token-form-address').fill(TOKEN);
    await popup.getByTestId('token-form-save').click();
    await waitScreen(popup, 'home');
    await until(
      async () => (await popup.getByTestId('token-balance-TUSD').textContent().catch(() => '')) === '5,000',
      'the TUSD balance read from the chain',
      20_000,
    );
    // Hide, then un-hide.
    await popup.getByTestId(`token-hide-${TOKEN}`).click();
    await popup.getByTestId(`token-row-${TOKEN}`).waitFor({ state: 'detached' });
    await popup.getByTestId('token-hidden-toggle').click();
    await popup.getByTestId(`token-unhide-${TOKEN}`).click();
    await popup.getByTestId(`token-row-${TOKEN}`).waitFor();

    await openSend();
    await popup.getByTestId('send-asset').selectOption(TOKEN);
    await popup.getByTestId('send-max').click();
    await until(async () => (await popup.getByTestId('send-amount').inputValue()) === '5000', 'Max to fill 5000');
    await popup.getByTestId('send-amount').fill('12.5');
    await popup.getByTestId('send-to').fill(ANVIL_ACCOUNT_1);
    const opened = browser.nextApproval();
    await popup.getByTestId('send-submit').click();
    const win = await opened;
    await win.getByTestId('approval-screen').waitFor({ timeout: 20_000 });
    await until(
      async () => (await win.getByTestId('tx-call-detail').textContent()) === 'Send 12.5 TUSD to 0x7099…79C8',
      'the transfer in the token units the contract states',
      20_000,
    );
    const approve = win.getByTestId('approval-approve');
    await until(async () => !(await approve.isDisabled()), 'Approve to be enabled', 20_000);
    await clickClosing(approve);
    await until(async () => (await balanceOf(anvil.url, TOKEN, ANVIL_ACCOUNT_1)) === 12_500_000n, 'the tokens to arrive', 20_000);
    assert.equal(await balanceOf(anvil.url, TOKEN, ANVIL_ACCOUNT_0), 5_000_000_000n - 12_500_000n);
  });

  it("a dapp's permit shows the contract's symbol and decimals, not the domain name it claims; a token without answers is unknown", async () => {
    const permit = (verifyingContract, value) => ({
      domain: { name: 'USD Coin', version: '2', chainId: 31337, verifyingContract },
      types: PERMIT_TYPES,
      primaryType: 'Permit',
      message: { owner: ANVIL_ACCOUNT_0, spender: SPENDER, value, nonce: '0', deadline: '1900000000' },
    });
    const ask = (t) =>
      dappPage.evaluate(
        ([account, t]) => {
          const message = { ...t.message, value: BigInt(t.message.value), nonce: 0n, deadline: BigInt(t.message.deadline) };
          return window.dapp.signTypedData(account, { ...t, message });
        },
        [ANVIL_ACCOUNT_0, t],
      );
    for (const [contract, amount, token] of [
      [TOKEN, '0x0000…dEaD to spend 2.5 TUSD', /^TUSD \(6 decimals, as the contract 0x3000000000000000000000000000000000000003 states\)$/],
      // An address without code answers nothing: raw units, unknown token.
      ['0x4000000000000000000000000000000000000004', '0x0000…dEaD to spend 2500000 raw units of an unknown token (0x4000000000000000000000000000000000000004)', /^unknown token 0x4000/],
    ]) {
      const opened = browser.nextApproval();
      const result = ask(permit(contract, '2500000'));
      const win = await opened;
      await win.getByTestId('permit-summary').waitFor({ timeout: 20_000 });
      await until(async () => (await win.getByTestId('permit-amount').textContent()) === amount, `the permit amount (${amount})`, 20_000);
      assert.match(await win.getByTestId('permit-token').textContent(), token);
      assert.ok(!(await win.getByTestId('permit-summary').textContent()).includes('USD Coin'));
      await clickClosing(win.getByTestId('approval-reject'));
      assert.equal((await result).error?.code, 4001);
    }
  });

  it('attacker: a page cannot start a Send or reach the wallet pages\' channel; its own transaction still needs the approval window', async () => {
    const nonce = await jsonRpc(anvil.url, 'eth_getTransactionCount', [ANVIL_ACCOUNT_0, 'latest']);
    const tries = await dappPage.evaluate(async (extId) => {
      const out = {};
      // 1. The wallet pages' method through the provider.
      out.viaProvider = await window.dapp.raw({ method: 'send.start', params: [{ transaction: { to: '0x000000000000000000000000000000000000dEaD', value: '0x1' } }] });
      // 2. Straight to the extension: a web page has no channel to it.
      try {
        out.direct = await chrome.runtime.sendMessage(extId, { channel: 'tandem/ui', method: 'send.start', params: {} });
      } catch (e) {
        out.direct = { thrown: String(e?.message ?? e) };
      }
      // 3. Sending from an account the site was not given.
      out.otherAccount = await window.dapp.raw({
        method: 'eth_sendTransaction',
        params: [{ from: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', to: '0x000000000000000000000000000000000000dEaD', value: '0x1' }],
      });
      return out;
    }, EXTENSION_ID);
    // Not a provider method (the core refuses a method name it does not serve).
    assert.ok(tries.viaProvider.error && tries.viaProvider.result === undefined, JSON.stringify(tries.viaProvider));
    assert.ok([-32600, 4200].includes(tries.viaProvider.error.code), JSON.stringify(tries.viaProvider));
    assert.ok(tries.direct?.thrown, `a page reached the extension: ${JSON.stringify(tries.direct)}`);
    assert.equal(tries.otherAccount.error?.code, 4100);
    // Barrier: the page's own transaction, asked after all of the above,
    // is the only request waiting, from the site's origin, in a window.
    const opened = browser.nextApproval();
    const sent = dappPage.evaluate(
      ([from]) => window.dapp.raw({ method: 'eth_sendTransaction', params: [{ from, to: '0x000000000000000000000000000000000000dEaD', value: '0x1' }] }),
      [ANVIL_ACCOUNT_0],
    );
    const win = await opened;
    await win.getByTestId('approval-screen').waitFor({ timeout: 20_000 });
    const list = await browser.ui('approvals.list');
    assert.deepEqual(list.map((a) => a.origin), [dapp.url]);
    await clickClosing(win.getByTestId('approval-reject'));
    assert.equal((await sent).error?.code, 4001);
    assert.equal(await jsonRpc(anvil.url, 'eth_getTransactionCount', [ANVIL_ACCOUNT_0, 'latest']), nonce);
  });
});
