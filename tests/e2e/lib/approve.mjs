// Answers approval requests the way a user does: by clicking Approve/Reject
// in the approval window the worker opened (extension/approval.html, built by
// the UI side from crates/ui). `viaUi: false` (or edits) sends the same
// decision through the documented `approvals.resolve` message instead.
import { clickClosing, launch, openDapp, pendingApproval, until, ANVIL_MNEMONIC, ANVIL_ACCOUNT_0, PASSWORD } from './index.mjs';
import { onboardImport } from './onboard.mjs';

/** Finds the open approval window for approval `id`. */
async function approvalPage(browser, id) {
  return until(
    () => browser.context.pages().find((p) => p.url().endsWith(`approval.html?id=${id}`)),
    `the approval window for #${id}`,
  );
}

/**
 * Waits for a pending approval of `kind`, answers it, returns the approval.
 * `edits` (connect accounts, tx fees) go through the message API only.
 */
export async function answer(browser, kind, approve = true, { edits, viaUi = true } = {}) {
  const a = await pendingApproval(browser, kind);
  if (viaUi && !edits) {
    const page = await approvalPage(browser, a.id);
    const button = page.getByTestId(approve ? 'approval-approve' : 'approval-reject');
    await button.waitFor({ state: 'visible', timeout: 15_000 });
    await until(async () => !(await button.isDisabled()), 'the approve button to be enabled');
    await clickClosing(button);
  } else {
    await browser.ui('approvals.resolve', { id: a.id, approve, edits });
  }
  await until(
    async () => !(await browser.ui('approvals.list')).some((x) => x.id === a.id),
    `approval #${a.id} to be answered`,
  );
  return a;
}

/**
 * A wallet (anvil's phrase) on a fresh browser, set to `anvil`, with the
 * test dapp open and connected to account 0 through the approval window.
 * Resolves to `{ browser, page }`.
 */
export async function connectedWallet(anvil, dapp) {
  const browser = await launch();
  await onboardImport(browser, ANVIL_MNEMONIC, PASSWORD);
  await browser.ui('networks.upsert', { chainId: 31337, name: 'Anvil', rpcUrl: anvil.url, symbol: 'ETH' });
  await browser.ui('networks.select', { chainId: 31337 });
  const { page } = await openDapp(browser, dapp.url);
  const pending = page.evaluate(() => window.dapp.connect());
  await answer(browser, 'connect', true);
  const accounts = (await pending).result;
  if (accounts?.[0] !== ANVIL_ACCOUNT_0) throw new Error(`connect gave ${JSON.stringify(accounts)}`);
  // The connect window closes itself once answered; a test that counts
  // approval windows must not meet it on its way out.
  await until(() => !browser.context.pages().some((p) => p.url().includes('approval.html')), 'the connect window to close');
  return { browser, page };
}

/** Rejects every pending request (a test's clean start), then selects the
 *  network of `chainId`. */
export async function freshStart(browser, chainId) {
  for (const a of await browser.ui('approvals.list')) {
    await browser.ui('approvals.resolve', { id: a.id, approve: false }).catch(() => {});
  }
  await browser.ui('networks.select', { chainId });
}
