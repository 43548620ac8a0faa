// Onboarding as a user does it: through the popup (extension/popup.html).
import { until } from './index.mjs';

/** In the popup `page` of a fresh install: imports a recovery phrase and
 *  sets the password (what follows, such as a backup's offer, is the
 *  caller's). */
export async function importInPopup(page, phrase, password) {
  await page.getByTestId('onboard-import').click();
  await page.getByTestId('import-secret-input').fill(phrase);
  // Test ids from extension/ui/TESTIDS.md.
  await page.getByTestId('import-password').fill(password);
  await page.getByTestId('import-password-confirm').fill(password);
  await page.getByTestId('import-submit').click();
}

/** Imports a recovery phrase and sets the password; returns the `state`. */
export async function onboardImport(browser, phrase, password) {
  const page = await browser.context.newPage();
  await page.goto(browser.url('extension/popup.html'));
  await importInPopup(page, phrase, password);
  const state = await until(async () => {
    const s = await browser.ui('state');
    return s.initialized && s.unlocked && s;
  }, 'onboarding to finish', 30_000);
  await page.close();
  return state;
}
