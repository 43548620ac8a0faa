// The phone app (phone/, crates/phone) in its own headless Chromium with
// mobile emulation and Chromium's fake camera, served by the real relay.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ANVIL_MNEMONIC, CHROMIUM_ARGS } from './index.mjs';
import { assertNoLeaks, startGuard } from './guard.mjs';

const PIXEL_8 =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36';

/**
 * A phone browser. `video`: a y4m file the fake camera shows (the camera is
 * allowed); without it the camera permission is refused, as when the user
 * taps "Block".
 */
export async function launchPhone({ video } = {}) {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'tandem-phone-browser-'));
  const guard = await startGuard();
  const args = [...CHROMIUM_ARGS, guard.arg, '--use-fake-device-for-media-stream'];
  if (video) args.push('--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${video}`);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args,
    viewport: { width: 412, height: 915 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    userAgent: PIXEL_8,
  });
  return {
    context,
    profile,
    /** What the phone tried to reach outside 127.0.0.1 (lib/guard.mjs). */
    guard,
    /** Opens `url` in a new tab; `page.errors` collects page errors. */
    async open(url) {
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(url);
      page.errors = errors;
      return page;
    },
    /** Closes the browser; fails the test file when the phone app tried to reach
     *  anything outside 127.0.0.1 (it has no built-in RPC to allow). */
    async close() {
      await context.close().catch(() => {});
      await Promise.all([rm(profile, { recursive: true, force: true }), guard.close()]);
      assertNoLeaks(guard, 'the phone app');
    },
  };
}

/** The password of the phone's wallet in these tests. */
export const PHONE_PASSWORD = 'phone password 1234';

/**
 * First start: imports a wallet (the anvil phrase unless `phrase` is given),
 * sets its password, then names the phone (its device engine starts).
 */
export async function setUpPhone(page, name, { phrase = ANVIL_MNEMONIC, password = PHONE_PASSWORD } = {}) {
  await page.getByTestId('wallet-import').click();
  await page.getByTestId('import-phrase').fill(phrase);
  await page.getByTestId('import-submit').click();
  await page.getByTestId('password-input').fill(password);
  await page.getByTestId('password-confirm-input').fill(password);
  await page.getByTestId('password-submit').click();
  // Argon2id (64 MiB) runs before the name step shows.
  await page.getByTestId('setup-name').waitFor({ timeout: 30_000 });
  await page.getByTestId('setup-name').fill(name);
  await page.getByTestId('setup-start').click();
}

/** A returning start: the Unlock screen, then Home. */
export async function unlockPhone(page, password = PHONE_PASSWORD) {
  await page.getByTestId('unlock-password-input').fill(password);
  await page.getByTestId('unlock-submit').click();
  await page.getByTestId('unlock-screen').waitFor({ state: 'detached', timeout: 30_000 });
}

/** The entries the Activity (log) screen lists: `{ id, device, text, problem }`. */
export async function auditEntries(page) {
  await page.getByTestId('audit-list').waitFor({ timeout: 20_000 });
  return page.locator('[data-testid="audit-list"] > li').evaluateAll((lis) =>
    lis.map((li) => {
      const id = li.getAttribute('data-testid');
      return {
        id,
        device: id.split('-')[2],
        text: li.querySelector('span').textContent,
        problem: li.querySelector(`[data-testid="${id}-problem"]`)?.textContent ?? null,
      };
    }),
  );
}
