// Onboarding as a user does it: through the UI pages when they exist
// (extension/popup.html or onboarding.html), else via the documented messages.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT, until } from './index.mjs';

export const HAVE_POPUP_UI = existsSync(path.join(ROOT, 'extension/popup.html'));

/** Imports a recovery phrase and sets the password; returns the `state`. */
export async function onboardImport(browser, phrase, password) {
  if (!HAVE_POPUP_UI) return browser.ui('onboard.import', { phrase, password });
  const page = await browser.context.newPage();
  await page.goto(browser.url('extension/popup.html'));
  await page.getByTestId('onboard-import').click();
  await page.getByTestId('import-secret-input').fill(phrase);
  // Test ids from extension/ui/TESTIDS.md (the import form's password pair).
  const either = (a, b) => page.locator(`[data-testid="${a}"], [data-testid="${b}"]`).first();
  await either('import-password', 'password-input').fill(password);
  await either('import-password-confirm', 'password-confirm-input').fill(password);
  await page.getByTestId('import-submit').click();
  const state = await until(async () => {
    const s = await browser.ui('state');
    return s.initialized && s.unlocked && s;
  }, 'onboarding to finish', 30_000);
  await page.close();
  return state;
}
