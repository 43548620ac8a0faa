// Confirm on phone, driven from both sides: pairing the extension with the
// phone app, approving on the desktop (the window then waits for the
// phone), and answering on the phone. Shared by confirm.test.mjs and
// phone-accounts.test.mjs.
import assert from 'node:assert/strict';
import { openPopup, pendingApproval, until } from './index.mjs';
import { readPairingQr } from './devices.mjs';
import { launchPhone, setUpPhone } from './phone.mjs';

/**
 * Pairs `browser` with a new phone app served by `relay`: the popup's QR
 * link pasted on the phone (the camera path has its own test in
 * phone.test.mjs), both screens confirm the code. `phrase`: the phone's
 * recovery phrase (setUpPhone's default otherwise).
 */
export async function pairPhone(browser, relay, { name = 'Pixel 8', phrase } = {}) {
  const popup = await openPopup(browser, 380);
  await popup.getByTestId('open-devices').click();
  await popup.getByTestId('pair-start').click();
  const { link } = await readPairingQr(popup);
  const phone = await launchPhone();
  const phonePage = await phone.open(relay.appUrl);
  await setUpPhone(phonePage, name, phrase ? { phrase } : {});
  await phonePage.getByTestId('devices-status').waitFor({ timeout: 20_000 });
  await phonePage.getByTestId('paste-start').click();
  await phonePage.getByTestId('paste-link').fill(link);
  await phonePage.getByTestId('paste-submit').click();
  await phonePage.getByTestId('pair-code').waitFor({ timeout: 30_000 });
  await popup.getByTestId('pair-code').waitFor({ timeout: 20_000 });
  await popup.getByTestId('pair-codes-match').click();
  await phonePage.getByTestId('pair-codes-match').click();
  await phonePage.getByTestId('pair-done').waitFor({ timeout: 20_000 });
  await popup.getByTestId('pair-done').waitFor({ timeout: 20_000 });
  await phonePage.getByTestId('pair-back').click();
  await popup.close();
  return { phone, phonePage };
}

/** Approves `kind` in its approval window; the window then waits for the phone. */
export async function approveOnDesktop(browser, kind, { ready } = {}) {
  const a = await pendingApproval(browser, kind);
  const win = await until(
    () => browser.context.pages().find((p) => p.url().endsWith(`approval.html?id=${a.id}`)),
    `the approval window for #${a.id}`,
  );
  // What the window must show before Approve (e.g. the token's facts).
  await ready?.(win);
  const button = win.getByTestId('approval-approve');
  await button.waitFor({ timeout: 15_000 });
  await until(async () => !(await button.isDisabled()), 'the approve button to be enabled');
  await button.click();
  await win.getByTestId('approval-phone-wait').waitFor({ timeout: 10_000 });
  // Nothing is signed yet: the approval is still pending.
  assert.ok((await browser.ui('approvals.list')).some((x) => x.id === a.id));
  return { a, win };
}

/** What the phone shows for the request (label → value), then its answer. */
export async function onPhone(phonePage, approve) {
  await phonePage.getByTestId('approve-screen').waitFor({ timeout: 20_000 });
  const rows = {};
  for (const dd of await phonePage.locator('[data-testid^="confirm-row-"]').all()) {
    rows[(await dd.getAttribute('data-testid')).slice('confirm-row-'.length)] = await dd.textContent();
  }
  await phonePage.getByTestId(approve ? 'confirm-approve' : 'confirm-reject').click();
  await phonePage.getByTestId('home-screen').waitFor({ timeout: 10_000 });
  return rows;
}
